//! `strata bench`: throughput and metadata speed against a running cluster, erasure coding
//! speed, and the machine's own limits (memcpy, loopback TCP, disk) to compare them with.

mod cache;
mod dfsio;
mod ec;
mod limits;
mod meta;
mod ycsb;

use crate::settings::Settings;
use clap::Subcommand;
use std::process::ExitCode;
use std::sync::Arc;

/// Options of `strata bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Write or read N files of size S with T threads (like Hadoop's TestDFSIO).
    Dfsio(dfsio::DfsioArgs),
    /// Metadata operations per second (create, stat, list, rename, delete).
    Meta(meta::MetaArgs),
    /// This machine's raw limits: memcpy, loopback TCP, disk.
    Limits(limits::LimitsArgs),
    /// Erasure coding speed on one core: encode, decode with 1 and m units lost.
    Ec(ec::EcBenchArgs),
    /// Reads through the cache: cold from under storage, warm from the workers' tiers, and
    /// the same bytes read from tmpfs.
    Cache(cache::CacheBenchArgs),
    /// YCSB's core workloads (load, a to f) on the table store through the Rust client.
    Ycsb(ycsb::YcsbArgs),
}

/// Runs a benchmark.
pub async fn run(settings: Settings, args: BenchArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        BenchCommand::Dfsio(a) => dfsio::run(settings, a).await,
        BenchCommand::Meta(a) => meta::run(settings, a).await,
        BenchCommand::Limits(a) => limits::run(a).await,
        BenchCommand::Ec(a) => ec::run(a).await,
        BenchCommand::Cache(a) => cache::run(settings, a).await,
        BenchCommand::Ycsb(a) => ycsb::run(settings, a).await,
    }
}

/// 8 MiB of benchmark bytes (not all alike, so nothing along the way can shortcut them).
pub fn payload() -> Arc<Vec<u8>> {
    Arc::new(
        (0..(8 << 20))
            .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect(),
    )
}

/// Writes `size` bytes of [`payload`] to a new file at `path`, counting them on `bar`.
pub async fn write_whole(
    fs: &strata_client::FileSystem,
    path: &str,
    options: strata_client::CreateOptions,
    size: u64,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<()> {
    let payload = payload();
    let mut w = fs.create(path, options).await?;
    let mut left = size;
    while left > 0 {
        let n = left.min(payload.len() as u64) as usize;
        w.write(&payload[..n]).await?;
        bar.inc(n as u64);
        left -= n as u64;
    }
    w.close().await?;
    Ok(())
}

/// Reads the file at `path` whole, counting the bytes on `bar`; fails if fewer arrive than
/// its length.
pub async fn read_whole(
    fs: &strata_client::FileSystem,
    path: &str,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<u64> {
    let mut r = fs.open(path).await?;
    let mut got = 0;
    while let Some(chunk) = r.next_chunk().await? {
        got += chunk.len() as u64;
        bar.inc(chunk.len() as u64);
    }
    anyhow::ensure!(
        got == r.length(),
        "{path}: read {got} of {} bytes",
        r.length()
    );
    Ok(got)
}

/// Mebibytes per second.
pub fn mib_per_sec(bytes: u64, seconds: f64) -> f64 {
    if seconds <= 0.0 {
        0.0
    } else {
        bytes as f64 / (1 << 20) as f64 / seconds
    }
}

/// The value at quantile `q` (0..=1) of sorted samples.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}
