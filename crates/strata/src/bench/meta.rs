//! `strata bench meta`: metadata operations per second with T concurrent clients' tasks.

use super::quantile;
use crate::output::{print_json, progress, table};
use crate::settings::Settings;
use anyhow::Context;
use serde_json::{Value, json};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;
use strata_client::{CreateOptions, FileSystem};

/// Which operation to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MetaOp {
    /// Create and close empty files (two journaled changes each).
    Create,
    /// Stat the files.
    Stat,
    /// List the directories (ops are entries listed).
    List,
    /// Rename every file in place.
    Rename,
    /// Delete the files.
    Delete,
    /// Create, stat, list, rename and delete in turn.
    All,
}

/// Options of `strata bench meta`.
#[derive(Debug, clap::Args)]
pub struct MetaArgs {
    /// The operation.
    #[arg(long, value_enum, default_value = "all")]
    op: MetaOp,
    /// Number of files.
    #[arg(long, default_value_t = 10_000)]
    files: usize,
    /// Concurrent tasks.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Directory of the benchmark files.
    #[arg(long, default_value = "/benchmarks/meta")]
    dir: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

struct Measured {
    op: &'static str,
    ops: usize,
    seconds: f64,
    latencies_ms: Vec<f64>,
}

fn file_name(dir: &str, thread: usize, i: usize, renamed: bool) -> String {
    format!("{dir}/t{thread}/{}{i:08}", if renamed { "r" } else { "f" })
}

async fn measure(fs: &FileSystem, op: MetaOp, args: &MetaArgs) -> anyhow::Result<Measured> {
    let threads = args.threads.max(1);
    let per_thread = args.files.div_ceil(threads);
    if op == MetaOp::Create {
        for t in 0..threads {
            fs.mkdirs(&format!("{}/t{t}", args.dir), true).await?;
        }
    }
    let name = match op {
        MetaOp::Create => "create",
        MetaOp::Stat => "stat",
        MetaOp::List => "list",
        MetaOp::Rename => "rename",
        MetaOp::Delete => "delete",
        MetaOp::All => "all",
    };
    let bar = progress(Some(args.files as u64), name);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {per_sec}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..threads {
        let fs = fs.clone();
        let dir = args.dir.clone();
        let bar = bar.clone();
        let count = per_thread.min(args.files.saturating_sub(t * per_thread));
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(count);
            if op == MetaOp::List {
                let t0 = Instant::now();
                let mut lister = fs.list(&format!("{dir}/t{t}"));
                let mut entries = 0;
                while let Some(page) = lister.next_page().await? {
                    entries += page.len();
                    bar.inc(page.len() as u64);
                }
                latencies.push(t0.elapsed().as_secs_f64() * 1000.0);
                return Ok::<_, anyhow::Error>((entries, latencies));
            }
            for i in 0..count {
                let t0 = Instant::now();
                match op {
                    MetaOp::Create => {
                        let w = fs
                            .create(&file_name(&dir, t, i, false), CreateOptions::default())
                            .await?;
                        w.close().await?;
                    }
                    MetaOp::Stat => {
                        fs.stat(&file_name(&dir, t, i, false)).await?;
                    }
                    MetaOp::Rename => {
                        fs.rename(&file_name(&dir, t, i, false), &file_name(&dir, t, i, true))
                            .await?;
                    }
                    MetaOp::Delete => {
                        if !fs.delete(&file_name(&dir, t, i, true), false).await? {
                            fs.delete(&file_name(&dir, t, i, false), false).await?;
                        }
                    }
                    MetaOp::List | MetaOp::All => {}
                }
                latencies.push(t0.elapsed().as_secs_f64() * 1000.0);
                bar.inc(1);
            }
            Ok((count, latencies))
        }));
    }
    let mut ops = 0;
    let mut latencies_ms = Vec::new();
    for task in tasks {
        let (n, l) = task.await.context("meta task")??;
        ops += n;
        latencies_ms.extend(l);
    }
    let seconds = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    latencies_ms.sort_by(|a, b| a.total_cmp(b));
    Ok(Measured {
        op: name,
        ops,
        seconds,
        latencies_ms,
    })
}

/// Runs the benchmark.
pub async fn run(settings: Settings, args: MetaArgs) -> anyhow::Result<ExitCode> {
    let fs = FileSystem::connect(settings.config.client.clone())
        .await
        .context("meta")?;
    let ops = if args.op == MetaOp::All {
        vec![
            MetaOp::Create,
            MetaOp::Stat,
            MetaOp::List,
            MetaOp::Rename,
            MetaOp::Delete,
        ]
    } else {
        vec![args.op]
    };
    let fs = Arc::new(fs);
    let mut results = Vec::new();
    for op in ops {
        results.push(
            measure(&fs, op, &args)
                .await
                .with_context(|| format!("meta {op:?}"))?,
        );
    }
    if args.json {
        let rows: Vec<Value> = results
            .iter()
            .map(|m| json!({"operation": m.op, "ops": m.ops, "threads": args.threads, "seconds": m.seconds,
                "ops_per_sec": m.ops as f64 / m.seconds,
                "p50_ms": quantile(&m.latencies_ms, 0.5), "p99_ms": quantile(&m.latencies_ms, 0.99)}))
            .collect();
        print_json(&Value::Array(rows));
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = table(&[
        "OPERATION",
        "OPS",
        "THREADS",
        "SECONDS",
        "OPS/S",
        "P50 ms",
        "P99 ms",
    ]);
    for m in &results {
        t.add_row(vec![
            m.op.to_string(),
            m.ops.to_string(),
            args.threads.to_string(),
            format!("{:.2}", m.seconds),
            format!("{:.0}", m.ops as f64 / m.seconds),
            format!("{:.2}", quantile(&m.latencies_ms, 0.5)),
            format!("{:.2}", quantile(&m.latencies_ms, 0.99)),
        ]);
    }
    outln!("{t}");
    Ok(ExitCode::SUCCESS)
}
