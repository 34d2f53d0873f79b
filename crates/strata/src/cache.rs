//! `strata cache`: mounting under storage (S3 buckets, local directories) on Strata
//! directories, listing mounts, and listing mounted paths there again.

use crate::output::{print_json, table};
use crate::settings::Settings;
use anyhow::{Context, bail};
use clap::Subcommand;
use serde_json::json;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;
use strata_client::{FileSystem, MountOptions};

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
    /// Keep a file's (or every file beneath a directory's) cached blocks however full the
    /// cache gets.
    Pin { path: String },
    /// Undo `pin`.
    Unpin { path: String },
    /// Drop the cached copies of persisted files (they stay in under storage).
    Free { path: String },
    /// List a mounted path in its under storage again (a directory with every directory
    /// loaded beneath it), whatever the sync interval says.
    Sync { path: String },
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
                "Freed {} files ({} cached blocks); {} skipped (not persisted or pinned)",
                done.freed_files,
                done.freed_blocks,
                done.skipped
            );
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

fn parse_options(options: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
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
