//! hflush and hsync with real processes: a writer process flushes, readers of the file still
//! being written see every flushed byte, the writer is killed with SIGKILL, and after lease
//! recovery the file holds every byte it flushed.
//!
//! The writer is this test binary run again with `HFLUSH_WRITER` set, so that the process
//! killed is a real client of the cluster with its own pipelines and lease.

use crate::harness::{cluster, read};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use strata_client::{CreateOptions, FileSystem};
use strata_core::config::ClientConfig;
use strata_testkit::{pattern, wait_until};

const MIB: usize = 1 << 20;
/// What the writer writes: 2.6 blocks of 1 MiB.
const TOTAL: usize = 2 * MIB + 600_000;
/// The writer's environment variable: `MASTER PATH`.
const WRITER_ENV: &str = "HFLUSH_WRITER";

/// The writer's part: writes `TOTAL` bytes in uneven pieces, hflushing or hsyncing after
/// each and printing `flushed N`; then writes a tail it never flushes, prints `tail`, and
/// waits to be killed.
async fn run_writer(spec: &str) {
    let (master, path) = spec
        .split_once(' ')
        .expect("HFLUSH_WRITER is 'MASTER PATH'");
    let fs = FileSystem::connect(ClientConfig {
        master: master.to_string(),
        ..ClientConfig::default()
    })
    .await
    .unwrap();
    let options = CreateOptions {
        replication: 3,
        block_size: MIB as u64,
        create_parents: true,
        ..Default::default()
    };
    let data = pattern(21, TOTAL + 50_000);
    let mut w = fs.create(path, options).await.unwrap();
    let mut at = 0;
    let mut step = 0;
    while at < TOTAL {
        let n = [1, 4095, 70_000, 333_333, 5][step % 5].min(TOTAL - at);
        w.write(&data[at..at + n]).await.unwrap();
        at += n;
        if step % 2 == 0 {
            w.hflush().await.unwrap();
        } else {
            w.hsync().await.unwrap();
        }
        println!("flushed {at}");
        std::io::stdout().flush().unwrap();
        step += 1;
    }
    w.write(&data[TOTAL..]).await.unwrap();
    println!("tail");
    std::io::stdout().flush().unwrap();
    tokio::time::sleep(Duration::from_secs(600)).await;
}

/// A child process killed with SIGKILL when dropped (also when the test fails).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_killed_after_hflush_loses_nothing_it_flushed() {
    if let Ok(spec) = std::env::var(WRITER_ENV) {
        return run_writer(&spec).await;
    }
    let c = cluster(&["/r1", "/r2", "/r1"], |_| {}).await;
    let fs = c.client().await;
    let mut writer = Killed(
        Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "hflush::a_writer_killed_after_hflush_loses_nothing_it_flushed",
                "--nocapture",
            ])
            .env(WRITER_ENV, format!("{} /wal/log-1", c.master_address()))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let lines = BufReader::new(writer.0.stdout.take().unwrap()).lines();
    let data = pattern(21, TOTAL + 50_000);
    let mut flushed = 0;
    let mut checked = 0;
    for line in lines {
        let line = line.unwrap();
        if line == "tail" {
            break;
        }
        let Some(n) = line.strip_prefix("flushed ") else {
            continue;
        };
        flushed = n.parse::<usize>().unwrap();
        // A reader that opens the file now sees at least every flushed byte, and only
        // bytes that were written.
        if flushed >= checked + 300_000 || flushed == TOTAL {
            let seen = read(&fs, "/wal/log-1").await;
            assert!(seen.len() >= flushed, "{} < {flushed}", seen.len());
            assert!(seen == data[..seen.len()], "a reader sees what was written");
            checked = flushed;
        }
    }
    assert_eq!(
        flushed, TOTAL,
        "the writer flushed everything before its tail"
    );
    drop(writer);

    let status = fs.stat("/wal/log-1").await.unwrap();
    assert!(status.under_construction, "nobody closed the file");
    wait_until(
        "recoverLease closes the file",
        Duration::from_secs(60),
        || {
            let fs = fs.clone();
            async move { fs.recover_lease("/wal/log-1").await.unwrap() }
        },
    )
    .await;
    let status = fs.stat("/wal/log-1").await.unwrap();
    assert!(!status.under_construction);
    let back = read(&fs, "/wal/log-1").await;
    assert_eq!(back.len() as u64, status.length);
    assert!(
        back.len() >= TOTAL,
        "every hflushed byte survives: {} < {TOTAL}",
        back.len()
    );
    assert!(back == data[..back.len()], "and nothing else is made up");
    assert!(
        fs.recover_lease("/wal/log-1").await.unwrap(),
        "closed stays closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_whose_lease_was_recovered_cannot_write_on() {
    let c = cluster(&["/r1", "/r2"], |_| {}).await;
    let fs = c.client().await;
    let options = CreateOptions {
        replication: 2,
        block_size: MIB as u64,
        ..Default::default()
    };
    let mut w = fs.create("/fenced", options).await.unwrap();
    w.write(b"before the takeover").await.unwrap();
    w.hflush().await.unwrap();
    let other = c.client().await;
    wait_until(
        "another client's recoverLease closes the file",
        Duration::from_secs(60),
        || {
            let other = other.clone();
            async move { other.recover_lease("/fenced").await.unwrap() }
        },
    )
    .await;
    let after = async {
        w.write(b" and after").await?;
        w.hflush().await?;
        w.close().await
    };
    assert!(after.await.is_err(), "the fenced writer's next flush fails");
    assert_eq!(read(&fs, "/fenced").await, b"before the takeover");
    let mut appender = other.append("/fenced").await.unwrap();
    appender.write(b", then appended").await.unwrap();
    appender.hflush().await.unwrap();
    assert_eq!(
        read(&fs, "/fenced").await,
        b"before the takeover, then appended",
        "an append being written is visible once hflushed"
    );
    appender.close().await.unwrap();
}
