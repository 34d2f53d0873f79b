//! Real Strata clusters for tests, on loopback ports with temporary directories:
//! [`MiniCluster`] runs master and workers inside the test process (fast), [`ProcessCluster`]
//! runs them as child processes of the `strata` binary (so a test can `kill -9` one).
//! [`S3Server`] is a real S3 server (s3s-fs) on loopback, to mount as under storage.
//!
//! Tests wait for conditions with [`wait_until`], polling with a deadline, never a bare sleep.

mod mini;
mod process;
mod s3;

pub use mini::MiniCluster;
pub use process::{ProcessCluster, ProcessClusterOptions};
pub use s3::S3Server;

use std::future::Future;
use std::time::Duration;
use strata_core::config::Config;

/// A configuration with short intervals so that failures are noticed within seconds.
pub fn fast_config() -> Config {
    let mut config = Config::default();
    config.master.listen = "127.0.0.1:0".to_string();
    config.master.heartbeat_interval = Duration::from_millis(200);
    config.master.worker_dead_timeout = Duration::from_secs(2);
    config.master.replication_interval = Duration::from_millis(100);
    config.master.replication_pending_timeout = Duration::from_secs(10);
    config.master.lease_timeout = Duration::from_secs(3);
    config.master.safemode_extension = Duration::ZERO;
    config.master.default_block_size = strata_core::ByteSize(1 << 20);
    config.worker.socket_timeout = Duration::from_secs(10);
    // Tests must not fill the machine's /dev/shm; those that want a MEM tier configure one.
    config.worker.memory = Some(strata_core::ByteSize(0));
    config.client.socket_timeout = Duration::from_secs(10);
    config
}

/// Polls `check` every 50 ms until it returns true; panics with `what` after `timeout`.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting until {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Deterministic pseudo-random bytes (so a test can regenerate what it wrote).
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}
