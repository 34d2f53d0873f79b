//! `strata cache`: mounting under storage (S3 buckets, local directories) on Strata
//! directories, listing mounts and listing mounted paths there again, and moving files into
//! (load, pin), out of (free) and through (persist) the cache.

use crate::output::{print_json, progress, table};
use crate::settings::Settings;
use anyhow::{Context, bail};
use clap::Subcommand;
use serde_json::json;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use strata_client::{FileSystem, MountOptions};
use strata_core::ttl::TtlAction;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Options of `strata cache`.
#[derive(Debug, clap::Args)]
pub struct CacheArgs {
    #[command(subcommand)]
    command: CacheCommand,
}

#[derive(Debug, Subcommand)]
enum CacheCommand {
    /// Mount under storage on a new directory: `s3://bucket/prefix` (options endpoint, region,
    /// access_key_id, secret_access_key, ...) or `file:///absolute/dir`.
    Mount {
        /// The directory to create, e.g. /lake.
        path: String,
        /// The under storage, e.g. s3://bucket/prefix or file:///data/lake.
        uri: String,
        /// An option of the under storage as KEY=VALUE (repeatable).
        #[arg(long = "option", value_name = "KEY=VALUE")]
        options: Vec<String>,
        /// How long listed metadata is trusted before it is listed again (e.g. 30s, 5m), or
        /// `never` (only `strata cache sync` lists again).
        #[arg(long, default_value = "1m")]
        sync_interval: String,
        /// How writes beneath reach the under storage: MUST_CACHE, CACHE_THROUGH, THROUGH or
        /// ASYNC_THROUGH.
        #[arg(long, default_value = "CACHE_THROUGH")]
        write_type: String,
    },
    /// Remove a mount and what Strata holds beneath it (the under storage keeps its data).
    Unmount { path: String },
    /// List the mounts (secret option values masked).
    Mounts {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Copy files under a mount (a file, or every file beneath a directory) into the under
    /// storage now.
    Persist { path: String },
    /// Read files into the cache: a file, the files of a directory, or with -R every file
    /// beneath it; blocks are loaded in parallel, with a progress bar.
    Load {
        path: String,
        /// Every file beneath a directory, not only its own.
        #[arg(short = 'R', long)]
        recursive: bool,
        /// Blocks loaded at once.
        #[arg(long, default_value_t = 4)]
        parallel: usize,
    },
    /// Keep a file's (or every file beneath a directory's) cached blocks however full the
    /// cache gets.
    Pin { path: String },
    /// Undo `pin`.
    Unpin { path: String },
    /// Drop the cached copies of persisted files (they stay in under storage).
    Free { path: String },
    /// Give a file or directory a time to live, or take it away.
    Ttl {
        #[command(subcommand)]
        command: TtlCommand,
    },
    /// List a mounted path in its under storage again (a directory with every directory
    /// loaded beneath it), whatever the sync interval says.
    Sync { path: String },
}

#[derive(Debug, Subcommand)]
enum TtlCommand {
    /// Once PATH is older than DURATION (counted from its creation), free or delete it.
    Set {
        path: String,
        /// How long it lives, e.g. 30s, 12h, 7d.
        duration: String,
        /// free: drop its cached copies (they stay in under storage); delete: remove it,
        /// from under storage too when it is under a mount.
        #[arg(long, default_value = "delete")]
        action: String,
    },
    /// Remove PATH's time to live.
    Unset { path: String },
}

/// Runs a `cache` command.
pub async fn run(settings: Settings, args: CacheArgs) -> anyhow::Result<ExitCode> {
    let master = settings.config.client.master.clone();
    let fs = FileSystem::connect(settings.config.client.clone())
        .await
        .with_context(|| format!("cannot reach the master at {master}"))?;
    match args.command {
        CacheCommand::Mount {
            path,
            uri,
            options,
            sync_interval,
            write_type,
        } => {
            let options = MountOptions {
                options: parse_options(&options)?,
                sync_interval: parse_interval(&sync_interval)?,
                write_type,
            };
            fs.mount(&path, &uri, options)
                .await
                .with_context(|| format!("mounting {uri} on {path}"))?;
            outln!("Mounted {uri} on {path}");
        }
        CacheCommand::Unmount { path } => {
            fs.unmount(&path)
                .await
                .with_context(|| format!("unmounting {path}"))?;
            outln!("Unmounted {path}");
        }
        CacheCommand::Mounts { json } => {
            let mounts = fs.mounts().await.context("listing mounts")?;
            if json {
                let list = mounts
                    .iter()
                    .map(|m| {
                        let options: BTreeMap<_, _> = m.options.iter().collect();
                        json!({"path": m.path, "uri": m.uri, "options": options,
                            "sync_interval_ms": m.sync_interval_ms, "write_type": m.write_type})
                    })
                    .collect();
                print_json(&serde_json::Value::Array(list));
                return Ok(ExitCode::SUCCESS);
            }
            let mut t = table(&["PATH", "UNDER STORAGE", "WRITE TYPE", "SYNC", "OPTIONS"]);
            for m in &mounts {
                let options: BTreeMap<_, _> = m.options.iter().collect();
                t.add_row(vec![
                    m.path.clone(),
                    m.uri.clone(),
                    m.write_type.clone(),
                    show_interval(m.sync_interval_ms),
                    options
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(" "),
                ]);
            }
            outln!("{t}");
        }
        CacheCommand::Persist { path } => {
            let done = fs
                .persist(&path)
                .await
                .with_context(|| format!("persisting {path}"))?;
            outln!(
                "Persisted {} files ({}), {} were persisted already",
                done.persisted,
                strata_core::size::human(done.bytes),
                done.already
            );
        }
        CacheCommand::Load {
            path,
            recursive,
            parallel,
        } => load(&fs, &path, recursive, parallel.max(1)).await?,
        CacheCommand::Pin { path } => {
            fs.set_pinned(&path, true)
                .await
                .with_context(|| format!("pinning {path}"))?;
            outln!("Pinned {path}");
        }
        CacheCommand::Unpin { path } => {
            fs.set_pinned(&path, false)
                .await
                .with_context(|| format!("unpinning {path}"))?;
            outln!("Unpinned {path}");
        }
        CacheCommand::Free { path } => {
            let done = fs
                .free(&path)
                .await
                .with_context(|| format!("freeing {path}"))?;
            outln!(
                "Freed {} files ({} cached blocks); kept {} not yet persisted and {} pinned",
                done.freed_files,
                done.freed_blocks,
                done.not_persisted,
                done.pinned
            );
        }
        CacheCommand::Ttl {
            command:
                TtlCommand::Set {
                    path,
                    duration,
                    action,
                },
        } => {
            let ttl = humantime::parse_duration(&duration)
                .with_context(|| format!("{duration:?} is not a duration (e.g. 30s, 12h, 7d)"))?;
            let action: TtlAction = action.parse()?;
            fs.set_ttl(&path, Some((ttl, action)))
                .await
                .with_context(|| format!("setting the TTL of {path}"))?;
            outln!(
                "{path} will be {} {} after its creation",
                match action {
                    TtlAction::Free => "freed",
                    TtlAction::Delete => "deleted",
                },
                humantime::format_duration(ttl)
            );
        }
        CacheCommand::Ttl {
            command: TtlCommand::Unset { path },
        } => {
            fs.set_ttl(&path, None)
                .await
                .with_context(|| format!("removing the TTL of {path}"))?;
            outln!("{path} has no TTL");
        }
        CacheCommand::Sync { path } => {
            let done = fs
                .sync_metadata(&path)
                .await
                .with_context(|| format!("syncing {path}"))?;
            outln!(
                "Listed {} directories: {} added, {} changed, {} removed",
                done.directories,
                done.added,
                done.changed,
                done.removed
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads every block of the chosen files once (a worker reads each uncached block through from
/// under storage and keeps it), `parallel` blocks at a time.
async fn load(fs: &FileSystem, path: &str, recursive: bool, parallel: usize) -> anyhow::Result<()> {
    let files: Vec<_> = if recursive {
        crate::fs::files_beneath(fs, path)
            .await
            .with_context(|| format!("load {path}"))?
    } else {
        let status = fs
            .stat(path)
            .await
            .with_context(|| format!("load {path}"))?;
        if strata_client::is_directory(&status) {
            fs.list(path)
                .collect()
                .await
                .with_context(|| format!("load {path}"))?
                .into_iter()
                .filter(|s| !strata_client::is_directory(s))
                .collect()
        } else {
            vec![status]
        }
    };
    let mut blocks = Vec::new();
    for file in &files {
        let step = file.block_size.max(1);
        let mut offset = 0;
        while offset < file.length {
            let length = step.min(file.length - offset);
            blocks.push((file.path.clone(), offset, length));
            offset += length;
        }
    }
    let total: u64 = files.iter().map(|f| f.length).sum();
    let bar = progress(Some(total), "load");
    let gate = Arc::new(Semaphore::new(parallel));
    let mut tasks = JoinSet::new();
    for (file, offset, length) in blocks {
        let (fs, bar, gate) = (fs.clone(), bar.clone(), gate.clone());
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await;
            let mut reader = fs.open(&file).await?;
            reader.seek(offset)?;
            let mut left = length;
            while left > 0 {
                let Some(chunk) = reader.next_chunk().await? else {
                    break;
                };
                let n = (chunk.len() as u64).min(left);
                left -= n;
                bar.inc(n);
            }
            Ok::<_, strata_core::Error>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.context("load")?.context("load")?;
    }
    bar.finish_and_clear();
    outln!(
        "Loaded {} files ({}) into the cache",
        files.len(),
        strata_core::size::human(total)
    );
    Ok(())
}

/// `KEY=VALUE` options of an under storage, as a map.
pub(crate) fn parse_options(options: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut parsed = BTreeMap::new();
    for option in options {
        let Some((key, value)) = option.split_once('=') else {
            bail!("--option {option:?} is not KEY=VALUE");
        };
        parsed.insert(key.trim().to_string(), value.to_string());
    }
    Ok(parsed)
}

fn parse_interval(text: &str) -> anyhow::Result<Option<Duration>> {
    if text == "never" {
        return Ok(None);
    }
    humantime::parse_duration(text)
        .map(Some)
        .with_context(|| format!("--sync-interval {text:?} is not a duration (e.g. 30s) or never"))
}

fn show_interval(ms: i64) -> String {
    if ms < 0 {
        "never".to_string()
    } else {
        humantime::format_duration(Duration::from_millis(ms as u64)).to_string()
    }
}
