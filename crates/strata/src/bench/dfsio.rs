//! `strata bench dfsio`: N files of size S written or read by T concurrent tasks.

use super::{mib_per_sec, read_whole, write_whole};
use crate::output::{print_json, progress, table};
use crate::settings::Settings;
use anyhow::Context;
use serde_json::json;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;
use strata_client::{CreateOptions, FileSystem};
use strata_core::ByteSize;

/// Options of `strata bench dfsio`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("mode").required(true).multiple(false)))]
pub struct DfsioArgs {
    /// Write the files.
    #[arg(long, group = "mode")]
    write: bool,
    /// Read the files written by an earlier --write.
    #[arg(long, group = "mode")]
    read: bool,
    /// Number of files.
    #[arg(long, default_value_t = 4)]
    files: usize,
    /// Size of each file.
    #[arg(long, default_value = "1GiB")]
    size: ByteSize,
    /// Concurrent tasks [default: one per file].
    #[arg(long)]
    threads: Option<usize>,
    /// Replicas per block (written files) [default: the cluster's].
    #[arg(long)]
    replication: Option<u32>,
    /// Block size of written files [default: the cluster's].
    #[arg(long)]
    block_size: Option<ByteSize>,
    /// Layout of written files: an erasure coding policy or REPLICATION [default: the
    /// directory's].
    #[arg(long, value_name = "POLICY")]
    ec_policy: Option<String>,
    /// Directory of the benchmark files.
    #[arg(long, default_value = "/benchmarks/dfsio")]
    dir: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs the benchmark.
pub async fn run(settings: Settings, args: DfsioArgs) -> anyhow::Result<ExitCode> {
    let fs = FileSystem::connect(settings.config.client.clone())
        .await
        .context("dfsio")?;
    let threads = args.threads.unwrap_or(args.files).max(1);
    let size = args.size.bytes();
    if args.write {
        fs.mkdirs(&args.dir, true).await.context("dfsio")?;
    }
    let total = size * args.files as u64;
    let bar = progress(Some(total), if args.write { "writing" } else { "reading" });
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..threads {
        let fs = fs.clone();
        let next = next.clone();
        let bar = bar.clone();
        let dir = args.dir.clone();
        let options = CreateOptions {
            overwrite: true,
            replication: args.replication.unwrap_or(0),
            block_size: args.block_size.map_or(0, |b| b.bytes()),
            ec_policy: args.ec_policy.clone().unwrap_or_default(),
            ..Default::default()
        };
        let (write, files) = (args.write, args.files);
        tasks.push(tokio::spawn(async move {
            let mut seconds = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= files {
                    return Ok::<_, anyhow::Error>(seconds);
                }
                let path = format!("{dir}/file_{i:05}");
                let t0 = Instant::now();
                if write {
                    write_whole(&fs, &path, options.clone(), size, &bar).await?;
                } else {
                    let got = read_whole(&fs, &path, &bar).await?;
                    anyhow::ensure!(
                        got == size,
                        "{path}: {got} bytes, not the {size} of --size (written with other options?)"
                    );
                }
                seconds.push(t0.elapsed().as_secs_f64());
            }
        }));
    }
    let mut per_file = Vec::new();
    for t in tasks {
        per_file.extend(t.await.context("dfsio task")??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let aggregate = mib_per_sec(total, elapsed);
    let mean_file =
        per_file.iter().map(|s| mib_per_sec(size, *s)).sum::<f64>() / per_file.len().max(1) as f64;
    let op = if args.write { "write" } else { "read" };
    let replication = match args.replication {
        Some(r) => r.to_string(),
        None => "default".to_string(),
    };
    let layout = match &args.ec_policy {
        _ if !args.write => "as written".to_string(),
        Some(policy) => policy.clone(),
        None => format!("replication {replication}"),
    };
    if args.json {
        print_json(
            &json!({"operation": op, "files": args.files, "file_size": size, "total_bytes": total,
            "threads": threads, "replication": replication, "ec_policy": args.ec_policy, "seconds": elapsed,
            "aggregate_mib_per_sec": aggregate, "mean_file_mib_per_sec": mean_file}),
        );
    } else {
        let mut t = table(&[
            "OPERATION",
            "FILES",
            "FILE SIZE",
            "THREADS",
            "LAYOUT",
            "SECONDS",
            "AGGREGATE MiB/s",
            "PER FILE MiB/s",
        ]);
        t.add_row(vec![
            op.to_string(),
            args.files.to_string(),
            strata_core::size::human(size),
            threads.to_string(),
            layout,
            format!("{elapsed:.2}"),
            format!("{aggregate:.1}"),
            format!("{mean_file:.1}"),
        ]);
        outln!("{t}");
    }
    Ok(ExitCode::SUCCESS)
}
