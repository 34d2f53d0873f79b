//! `strata bench cache`: read throughput through the cache. Files are written to a mounted
//! under storage with THROUGH (nothing stays cached), read cold (workers read them through from
//! the under storage and cache them), read warm (from the tier the workers cached them in),
//! and the same bytes are read from tmpfs, the ceiling a warm read is compared with.

use super::{mib_per_sec, payload, read_whole, write_whole};
use crate::cache::parse_options;
use crate::output::{print_json, progress, table};
use crate::settings::Settings;
use anyhow::{Context, bail};
use serde_json::json;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use strata_client::{CreateOptions, FileSystem, MountOptions};
use strata_core::ByteSize;

/// Options of `strata bench cache`.
#[derive(Debug, clap::Args)]
pub struct CacheBenchArgs {
    /// The under storage to mount for the benchmark: file:///abs/dir or s3://bucket/prefix.
    #[arg(long)]
    ufs: String,
    /// An option of the under storage as KEY=VALUE (repeatable).
    #[arg(long = "option", value_name = "KEY=VALUE")]
    options: Vec<String>,
    /// Number of files.
    #[arg(long, default_value_t = 4)]
    files: usize,
    /// Size of each file.
    #[arg(long, default_value = "256MiB")]
    size: ByteSize,
    /// Concurrent readers [default: one per file].
    #[arg(long)]
    threads: Option<usize>,
    /// Where to mount the under storage (must not exist).
    #[arg(long, default_value = "/benchmarks/cache")]
    dir: String,
    /// A tmpfs directory for the plain read of the same bytes.
    #[arg(long, default_value = "/dev/shm")]
    tmpfs: PathBuf,
    /// Empty the kernel's page cache before each read (needs root): cold reads then come from
    /// the under storage's disk, warm reads from an HDD tier from the disk.
    #[arg(long)]
    drop_caches: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// One measured phase.
struct Phase {
    name: &'static str,
    seconds: f64,
    mib_per_sec: f64,
}

/// Runs the benchmark, then deletes its files (in the under storage too) and unmounts.
pub async fn run(settings: Settings, args: CacheBenchArgs) -> anyhow::Result<ExitCode> {
    let fs = FileSystem::connect(settings.config.client.clone())
        .await
        .context("bench cache")?;
    let mount = MountOptions {
        options: parse_options(&args.options)?,
        sync_interval: None,
        write_type: "THROUGH".to_string(),
    };
    let dir = strata_core::StrataPath::parse(&args.dir)?;
    if let Some(parent) = dir.parent() {
        fs.mkdirs(parent.as_str(), true)
            .await
            .with_context(|| format!("creating {parent}"))?;
    }
    fs.mount(&args.dir, &args.ufs, mount)
        .await
        .with_context(|| format!("mounting {} on {}", args.ufs, args.dir))?;
    let measured = measure(&fs, &args).await;
    let mut removed = Ok(());
    for i in 0..args.files {
        let path = file_path(&args.dir, i);
        if let Err(e) = fs.delete(&path, false).await {
            removed = Err(e).with_context(|| format!("deleting {path}"));
        }
    }
    let unmounted = fs.unmount(&args.dir).await;
    let (phases, tiers) = measured?;
    removed?;
    unmounted.context("unmounting")?;
    let tmpfs = phases.last().map_or(0.0, |p| p.mib_per_sec);
    let ratio = |p: &Phase| {
        if tmpfs > 0.0 {
            p.mib_per_sec / tmpfs
        } else {
            0.0
        }
    };
    let size = args.size.bytes();
    if args.json {
        let list: Vec<_> = phases
            .iter()
            .map(|p| {
                json!({"phase": p.name, "seconds": p.seconds,
                "mib_per_sec": p.mib_per_sec, "of_tmpfs": ratio(p)})
            })
            .collect();
        print_json(&json!({"files": args.files, "file_size": size,
            "threads": threads(&args), "warm_tier_bytes": tiers, "phases": list}));
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = table(&["PHASE", "SECONDS", "MiB/s", "OF TMPFS"]);
    for p in &phases {
        t.add_row(vec![
            p.name.to_string(),
            format!("{:.2}", p.seconds),
            format!("{:.1}", p.mib_per_sec),
            format!("{:.0} %", ratio(p) * 100.0),
        ]);
    }
    outln!(
        "{} files of {}, {} readers; warm replicas on {}",
        args.files,
        strata_core::size::human(size),
        threads(&args),
        tiers
            .iter()
            .map(|(m, b)| format!("{m} {}", strata_core::size::human(*b)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    outln!("{t}");
    Ok(ExitCode::SUCCESS)
}

/// Benchmark file `i` beneath the mount point.
fn file_path(dir: &str, i: usize) -> String {
    format!("{dir}/file_{i:05}")
}

fn threads(args: &CacheBenchArgs) -> usize {
    args.threads.unwrap_or(args.files).max(1)
}

/// Writes, frees, reads cold, reads warm and reads tmpfs; the phases and the warm replicas'
/// bytes per tier.
async fn measure(
    fs: &FileSystem,
    args: &CacheBenchArgs,
) -> anyhow::Result<(Vec<Phase>, BTreeMap<String, u64>)> {
    let size = args.size.bytes();
    let total = size * args.files as u64;
    let paths: Vec<String> = (0..args.files).map(|i| file_path(&args.dir, i)).collect();
    let mut phases = Vec::new();
    let (used_before, _) = workers_use(fs).await?;

    let bar = progress(Some(total), "writing through");
    let started = Instant::now();
    for path in &paths {
        let options = CreateOptions {
            overwrite: true,
            ..Default::default()
        };
        write_whole(fs, path, options, size, &bar).await?;
    }
    phases.push(phase("write THROUGH", total, started));
    bar.finish_and_clear();

    fs.free(&args.dir)
        .await
        .context("freeing the written files")?;
    wait_cached(fs, &args.dir, false).await?;
    wait_workers_emptied(fs, used_before).await?;
    phases.push(read_phase(fs, args, &paths, "read cold (under storage)").await?);
    wait_cached(fs, &args.dir, true).await?;
    let mut tiers = BTreeMap::new();
    for path in &paths {
        for (medium, bytes) in fs.stat(path).await?.tier_bytes {
            *tiers.entry(medium).or_default() += bytes;
        }
    }
    phases.push(read_phase(fs, args, &paths, "read warm (cache)").await?);
    phases.push(tmpfs_phase(args).await?);
    Ok((phases, tiers))
}

fn phase(name: &'static str, bytes: u64, started: Instant) -> Phase {
    let seconds = started.elapsed().as_secs_f64();
    Phase {
        name,
        seconds,
        mib_per_sec: mib_per_sec(bytes, seconds),
    }
}

/// Waits until every block beneath `dir` has a cached replica (`cached`) or none has.
async fn wait_cached(fs: &FileSystem, dir: &str, cached: bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (files, _) = fs.fsck(dir).await?;
        let settled = files
            .iter()
            .flat_map(|f| &f.blocks)
            .all(|b| b.live.is_empty() != cached);
        if settled {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "the workers did not {} the files within 2 minutes",
                if cached { "cache" } else { "drop" }
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Bytes the workers store, from their last heartbeats, and deletions not yet sent to them.
async fn workers_use(fs: &FileSystem) -> anyhow::Result<(u64, u64)> {
    let report = fs.report().await.context("asking for the cluster report")?;
    let used = report
        .workers
        .iter()
        .filter_map(|w| w.storage.as_ref())
        .map(|s| s.used)
        .sum();
    Ok((used, report.summary.map_or(0, |s| s.pending_deletion)))
}

/// Waits until the workers have deleted the written replicas (the master forgets them at
/// once; workers delete them with their next heartbeat), so that cold reads start cold.
async fn wait_workers_emptied(fs: &FileSystem, used_before: u64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (used, pending) = workers_use(fs).await?;
        if pending == 0 && used <= used_before {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the workers did not delete the written replicas within 2 minutes");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Reads every file whole, `threads` at a time.
async fn read_phase(
    fs: &FileSystem,
    args: &CacheBenchArgs,
    paths: &[String],
    name: &'static str,
) -> anyhow::Result<Phase> {
    if args.drop_caches {
        drop_page_cache()?;
    }
    let total = args.size.bytes() * paths.len() as u64;
    let bar = progress(Some(total), name);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..threads(args) {
        let (fs, bar, next, paths) = (fs.clone(), bar.clone(), next.clone(), paths.to_vec());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(path) = paths.get(i) else {
                    return Ok::<_, anyhow::Error>(());
                };
                read_whole(&fs, path, &bar).await?;
            }
        }));
    }
    for t in tasks {
        t.await.context("reader task")??;
    }
    bar.finish_and_clear();
    Ok(phase(name, total, started))
}

/// Writes the same number of bytes into files in tmpfs and reads them back, 1 MiB at a time,
/// with as many threads as the cache reads.
async fn tmpfs_phase(args: &CacheBenchArgs) -> anyhow::Result<Phase> {
    let dir = args
        .tmpfs
        .join(format!("strata-bench-cache-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let (files, size, threads) = (args.files, args.size.bytes(), threads(args));
    let payload = payload();
    let measured = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || -> anyhow::Result<Phase> {
            let paths: Vec<PathBuf> = (0..files)
                .map(|i| dir.join(format!("file_{i:05}")))
                .collect();
            for path in &paths {
                write_plain(path, size, &payload)?;
            }
            let next = std::sync::atomic::AtomicUsize::new(0);
            let started = Instant::now();
            std::thread::scope(|scope| {
                let readers: Vec<_> = (0..threads)
                    .map(|_| scope.spawn(|| read_plain(&paths, &next)))
                    .collect();
                readers
                    .into_iter()
                    .try_for_each(|r| r.join().map_err(|_| anyhow::anyhow!("a reader panicked"))?)
            })?;
            Ok(phase(
                "read tmpfs (same bytes)",
                size * files as u64,
                started,
            ))
        }
    })
    .await
    .context("tmpfs reader")?;
    let _ = std::fs::remove_dir_all(&dir);
    measured
}

fn write_plain(path: &Path, size: u64, payload: &[u8]) -> anyhow::Result<()> {
    let mut file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut left = size;
    while left > 0 {
        let n = left.min(payload.len() as u64) as usize;
        file.write_all(&payload[..n])
            .with_context(|| format!("writing {}", path.display()))?;
        left -= n as u64;
    }
    Ok(())
}

fn read_plain(paths: &[PathBuf], next: &std::sync::atomic::AtomicUsize) -> anyhow::Result<()> {
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let Some(path) = paths.get(i) else {
            return Ok(());
        };
        let mut file =
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        while file
            .read(&mut buffer)
            .with_context(|| format!("reading {}", path.display()))?
            > 0
        {}
    }
}

/// Empties the kernel's page cache (Linux, root).
fn drop_page_cache() -> anyhow::Result<()> {
    // Dirty pages cannot be dropped: write them out first.
    std::process::Command::new("sync")
        .status()
        .context("running sync")?;
    std::fs::write("/proc/sys/vm/drop_caches", "3")
        .context("writing /proc/sys/vm/drop_caches (--drop-caches needs root on Linux)")
}
