//! Commands that look at the namespace: ls, stat, du, count.

use crate::output::{permissions, print_json, size, status_json, time};
use anyhow::Context;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::ExitCode;
use strata_client::{FileStatus, FileSystem, is_directory};

/// Options of `strata fs ls`.
#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub struct LsArgs {
    /// List subdirectories recursively.
    #[arg(short = 'R')]
    recursive: bool,
    #[command(flatten)]
    units: Units,
    /// List directories as plain entries, not their contents.
    #[arg(short = 'd')]
    directory: bool,
    /// Print JSON (one array of entries).
    #[arg(long)]
    json: bool,
    /// Paths to list [default: /].
    paths: Vec<String>,
}

/// `-h` for human sizes (which takes the place of the usual `-h` for help; `--help` stays).
#[derive(Debug, clap::Args)]
struct Units {
    /// Sizes in human units.
    #[arg(short = 'h', long = "human")]
    human: bool,
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    help: Option<bool>,
}

/// Every entry beneath `path` (depth first), read page by page.
pub async fn walk(fs: &FileSystem, path: &str) -> strata_core::Result<Vec<FileStatus>> {
    let mut out = Vec::new();
    let mut stack = vec![path.to_string()];
    while let Some(dir) = stack.pop() {
        let mut lister = fs.list(&dir);
        let mut children = Vec::new();
        while let Some(page) = lister.next_page().await? {
            children.extend(page);
        }
        for child in children.iter().rev() {
            if is_directory(child) {
                stack.push(child.path.clone());
            }
        }
        out.extend(children);
    }
    Ok(out)
}

fn line(status: &FileStatus, human: bool, width: usize) -> String {
    let replication = if is_directory(status) {
        "-".to_string()
    } else if !status.ec_policy.is_empty() {
        "EC".to_string()
    } else {
        status.replication.to_string()
    };
    format!(
        "{} {:>3} {} {} {:>width$} {} {}",
        permissions(status),
        replication,
        status.owner,
        status.group,
        size(status.length, human),
        time(status.modification_time),
        status.path
    )
}

/// `strata fs ls`.
pub async fn ls(fs: &FileSystem, args: LsArgs) -> anyhow::Result<ExitCode> {
    let paths = if args.paths.is_empty() {
        vec!["/".to_string()]
    } else {
        args.paths.clone()
    };
    let mut json_entries = Vec::new();
    for path in &paths {
        let status = fs.stat(path).await.context("ls")?;
        if args.directory || !is_directory(&status) {
            if args.json {
                json_entries.push(status_json(&status));
            } else {
                outln!("{}", line(&status, args.units.human, 10));
            }
            continue;
        }
        if args.recursive {
            let all = walk(fs, path).await.context("ls")?;
            if args.json {
                json_entries.extend(all.iter().map(status_json));
            } else {
                for s in &all {
                    outln!("{}", line(s, args.units.human, 10));
                }
            }
            continue;
        }
        let mut lister = fs.list(path);
        let mut first = true;
        while let Some(page) = lister.next_page().await.context("ls")? {
            if args.json {
                json_entries.extend(page.iter().map(status_json));
                continue;
            }
            if first && !args.recursive {
                outln!("Found {} items", status.children);
                first = false;
            }
            for s in &page {
                outln!("{}", line(s, args.units.human, 10));
            }
        }
    }
    if args.json {
        print_json(&Value::Array(json_entries));
    }
    Ok(ExitCode::SUCCESS)
}

/// Options of `strata fs stat`.
#[derive(Debug, clap::Args)]
pub struct StatArgs {
    /// Print with a format like `hdfs dfs -stat`: %b length, %F type, %g group, %n name,
    /// %o block size, %r replication, %u owner, %y/%Y modification time, %x/%X access time,
    /// %a octal permission, %A rwx permission.
    #[arg(long, short = 'c', value_name = "FORMAT")]
    format: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[arg(required = true)]
    paths: Vec<String>,
}

fn formatted(status: &FileStatus, format: &str) -> String {
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => out.push_str(&status.length.to_string()),
            Some('F') => out.push_str(if is_directory(status) {
                "directory"
            } else {
                "regular file"
            }),
            Some('g') => out.push_str(&status.group),
            Some('n') => out.push_str(status.path.rsplit('/').next().unwrap_or_default()),
            Some('o') => out.push_str(&status.block_size.to_string()),
            Some('r') => out.push_str(&status.replication.to_string()),
            Some('u') => out.push_str(&status.owner),
            Some('y') => out.push_str(&time(status.modification_time)),
            Some('Y') => out.push_str(&status.modification_time.to_string()),
            Some('x') => out.push_str(&time(status.access_time)),
            Some('X') => out.push_str(&status.access_time.to_string()),
            Some('a') => out.push_str(&format!("{:o}", status.mode)),
            Some('A') => out.push_str(&permissions(status)),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

/// `strata fs stat`.
pub async fn stat(fs: &FileSystem, args: StatArgs) -> anyhow::Result<ExitCode> {
    let mut statuses = Vec::new();
    for p in &args.paths {
        statuses.push(fs.stat(p).await.context("stat")?);
    }
    if args.json {
        let list: Vec<Value> = statuses
            .iter()
            .map(|s| {
                let mut value = status_json(s);
                if !is_directory(s) {
                    let tiers: BTreeMap<_, _> = s.tier_bytes.iter().collect();
                    value["cached_bytes"] = s.cached_bytes.into();
                    value["tier_bytes"] = json!(tiers);
                }
                value
            })
            .collect();
        print_json(&if list.len() == 1 {
            list[0].clone()
        } else {
            Value::Array(list)
        });
        return Ok(ExitCode::SUCCESS);
    }
    for s in &statuses {
        if let Some(format) = &args.format {
            outln!("{}", formatted(s, format));
            continue;
        }
        outln!("  Path: {}", s.path);
        outln!(
            "  Type: {}",
            if is_directory(s) { "directory" } else { "file" }
        );
        if is_directory(s) {
            outln!("  Entries: {}", s.children);
        } else {
            outln!(
                "  Size: {} ({})",
                s.length,
                strata_core::size::human(s.length)
            );
            outln!(
                "  Blocks: {} of {}",
                s.block_count,
                strata_core::size::human(s.block_size)
            );
            if s.ec_policy.is_empty() {
                outln!("  Replication: {}", s.replication);
            } else {
                outln!("  Erasure coding: {}", s.ec_policy);
            }
            if s.under_construction {
                outln!("  Open for writing: yes");
            }
            outln!("  Cached: {}", cached(s));
        }
        if !s.ufs_uri.is_empty() {
            outln!("  Under storage: {}", s.ufs_uri);
            outln!("  Persistence: {}", s.persistence);
        }
        if s.pinned {
            outln!("  Pinned: yes");
        }
        if s.ttl_ms > 0 {
            let ttl = std::time::Duration::from_millis(s.ttl_ms as u64);
            outln!(
                "  TTL: {}, then {} (at {} UTC)",
                humantime::format_duration(ttl),
                s.ttl_action.to_ascii_lowercase(),
                time(s.creation_time.saturating_add(s.ttl_ms))
            );
        }
        outln!("  Permission: {} ({:o})", permissions(s), s.mode);
        outln!("  Owner: {}  Group: {}", s.owner, s.group);
        if s.creation_time > 0 {
            outln!("  Created: {} UTC", time(s.creation_time));
        }
        outln!("  Modified: {} UTC", time(s.modification_time));
        outln!("  Accessed: {} UTC", time(s.access_time));
    }
    Ok(ExitCode::SUCCESS)
}

/// The share of a file the workers hold and their replicas' bytes per tier, fastest first:
/// `100% (2.0 MiB); MEM 4.0 MiB, HDD 2.0 MiB`.
fn cached(s: &FileStatus) -> String {
    let percent = (s.cached_bytes.min(s.length) * 100)
        .checked_div(s.length)
        .unwrap_or(100);
    let mut text = format!("{percent}% ({})", strata_core::size::human(s.cached_bytes));
    let tiers: Vec<String> = ["MEM", "SSD", "HDD"]
        .iter()
        .filter_map(|m| {
            let bytes = s.tier_bytes.get(*m)?;
            Some(format!("{m} {}", strata_core::size::human(*bytes)))
        })
        .collect();
    if !tiers.is_empty() {
        text.push_str("; ");
        text.push_str(&tiers.join(", "));
    }
    text
}

/// Options of `strata fs du`.
#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub struct DuArgs {
    /// One total per path instead of one line per entry.
    #[arg(short = 's')]
    summary: bool,
    #[command(flatten)]
    units: Units,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[arg(required = true)]
    paths: Vec<String>,
}

/// `strata fs du`: bytes and bytes stored (every replica, or every data and parity internal
/// block) per entry.
pub async fn du(fs: &FileSystem, args: DuArgs) -> anyhow::Result<ExitCode> {
    let mut rows = Vec::new();
    for p in &args.paths {
        let status = fs.stat(p).await.context("du")?;
        if args.summary || !is_directory(&status) {
            let s = fs.content_summary(p).await.context("du")?;
            rows.push((s.length, s.space_consumed, status.path.clone()));
            continue;
        }
        for child in fs.list(p).collect().await.context("du")? {
            let s = fs.content_summary(&child.path).await.context("du")?;
            rows.push((s.length, s.space_consumed, child.path));
        }
    }
    if args.json {
        let list = rows
            .iter()
            .map(|(l, c, p)| json!({"path": p, "length": l, "space_consumed": c}))
            .collect();
        print_json(&Value::Array(list));
        return Ok(ExitCode::SUCCESS);
    }
    for (length, consumed, path) in rows {
        outln!(
            "{:<12} {:<12} {path}",
            size(length, args.units.human),
            size(consumed, args.units.human)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Options of `strata fs count`.
#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub struct CountArgs {
    #[command(flatten)]
    units: Units,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[arg(required = true)]
    paths: Vec<String>,
}

/// `strata fs count`: DIR_COUNT FILE_COUNT CONTENT_SIZE PATHNAME.
pub async fn count(fs: &FileSystem, args: CountArgs) -> anyhow::Result<ExitCode> {
    let mut list = Vec::new();
    for p in &args.paths {
        let s = fs.content_summary(p).await.context("count")?;
        if args.json {
            list.push(
                json!({"path": p, "directories": s.directory_count, "files": s.file_count,
                "length": s.length, "space_consumed": s.space_consumed}),
            );
        } else {
            outln!(
                "{:>12} {:>12} {:>18} {p}",
                s.directory_count,
                s.file_count,
                size(s.length, args.units.human)
            );
        }
    }
    if args.json {
        print_json(&Value::Array(list));
    }
    Ok(ExitCode::SUCCESS)
}
