//! Whole-cluster behaviour on in-process clusters: data round trips, namespace rules and
//! errors, durability across master restarts, replication convergence, erasure coding and
//! storage tiers.

mod cache;
mod cache_pressure;
mod erasure;
mod healing;
mod namespace;
mod roundtrip;
mod tiers;

/// HDFS's MD5-of-MD5-of-CRC32C of `data` computed here, independently of the client: each
/// `block`-byte run's MD5 of its 4 KiB chunks' CRC32Cs (big-endian), then the MD5 of those.
fn expected_md5_md5_crc32c(data: &[u8], block: u64) -> [u8; 16] {
    use md5::{Digest, Md5};
    let mut file = Md5::new();
    for run in data.chunks(block as usize) {
        let mut run_md5 = Md5::new();
        for chunk in run.chunks(4096) {
            run_md5.update(strata_core::checksum::crc32c(chunk).to_be_bytes());
        }
        file.update(run_md5.finalize());
    }
    file.finalize().into()
}
