//! `strata admin`: report, fsck, decommission, safe mode, checkpoint.

use crate::output::{print_json, size, table};
use crate::settings::Settings;
use anyhow::Context;
use clap::Subcommand;
use serde_json::{Value, json};
use std::process::ExitCode;
use std::time::Duration;
use strata_client::{FileSystem, FsckFile, FsckSummary, SafeModeAction, WorkerReport};
use strata_proto::rpc::{BlockHealth, WorkerAddress, WorkerState};

/// Options of `strata admin`.
#[derive(Debug, clap::Args)]
pub struct AdminArgs {
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Cluster capacity, block health and every worker.
    Report {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check the health of every block beneath a path (exit 1 when not healthy).
    Fsck {
        #[arg(default_value = "/")]
        path: String,
        /// List every file checked.
        #[arg(long)]
        files: bool,
        /// List every block (implies --files).
        #[arg(long)]
        blocks: bool,
        /// Show where each block's replicas are (implies --blocks).
        #[arg(long)]
        locations: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Drain a worker (by id, data address or host) without dropping any block below target.
    Decommission {
        worker: String,
        /// Wait until the drain has finished.
        #[arg(long)]
        wait: bool,
    },
    /// Return a decommissioned worker to service.
    Recommission { worker: String },
    /// Safe mode: the master refuses changes while it is on.
    Safemode {
        #[arg(value_enum)]
        action: SafeModeVerb,
    },
    /// Write a namespace snapshot now.
    Checkpoint,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SafeModeVerb {
    Get,
    Enter,
    Leave,
    /// Wait until safe mode is off.
    Wait,
}

/// Runs an `admin` command.
pub async fn run(settings: Settings, args: AdminArgs) -> anyhow::Result<ExitCode> {
    let master = settings.config.client.master.clone();
    let fs = FileSystem::connect(settings.config.client.clone())
        .await
        .with_context(|| format!("cannot reach the master at {master}"))?;
    match args.command {
        AdminCommand::Report { json } => report(&fs, json).await,
        AdminCommand::Fsck {
            path,
            files,
            blocks,
            locations,
            json,
        } => {
            fsck(
                &fs,
                &path,
                files || blocks || locations,
                blocks || locations,
                locations,
                json,
            )
            .await
        }
        AdminCommand::Decommission { worker, wait } => {
            let report = fs.decommission(&worker).await.context("decommission")?;
            outln!("{}: {}", worker_name(&report), state_name(report.state));
            if wait {
                let id = report
                    .address
                    .as_ref()
                    .map(|a| a.id.clone())
                    .unwrap_or_default();
                loop {
                    let all = fs.report().await.context("decommission")?;
                    let state = all
                        .workers
                        .iter()
                        .find(|w| w.address.as_ref().is_some_and(|a| a.id == id))
                        .map(|w| w.state);
                    if state == Some(WorkerState::Decommissioned as i32) {
                        outln!("{worker}: DECOMMISSIONED");
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::Recommission { worker } => {
            let report = fs.recommission(&worker).await.context("recommission")?;
            outln!("{}: {}", worker_name(&report), state_name(report.state));
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::Safemode { action } => safemode(&fs, action).await,
        AdminCommand::Checkpoint => {
            let txid = fs.checkpoint().await.context("checkpoint")?;
            outln!("Namespace snapshot written at transaction {txid}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn state_name(state: i32) -> &'static str {
    WorkerState::try_from(state).map_or("UNKNOWN", |s| s.as_str_name())
}

fn worker_name(report: &WorkerReport) -> String {
    report
        .address
        .as_ref()
        .map(|a| format!("{} ({})", a.id, a.data_address))
        .unwrap_or_default()
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

async fn report(fs: &FileSystem, as_json: bool) -> anyhow::Result<ExitCode> {
    let report = fs.report().await.context("report")?;
    let s = report.summary.unwrap_or_default();
    if as_json {
        let workers: Vec<Value> = report
            .workers
            .iter()
            .map(|w| {
                let a = w.address.clone().unwrap_or_default();
                let st = w.storage.clone().unwrap_or_default();
                let tiers: Vec<Value> = st
                    .tiers
                    .iter()
                    .map(|t| json!({"medium": t.medium, "dirs": t.dirs, "capacity": t.capacity,
                        "used": t.used, "remaining": t.remaining}))
                    .collect();
                json!({"id": a.id, "address": a.data_address, "host": a.host, "rack": a.rack,
                    "state": state_name(w.state), "capacity": st.capacity, "used": st.used,
                    "remaining": st.remaining, "tiers": tiers, "blocks": w.block_count,
                    "last_heartbeat_ms_ago": w.last_heartbeat_ms_ago, "active_operations": w.active_operations})
            })
            .collect();
        print_json(&json!({
            "cluster_id": s.cluster_id, "safe_mode": s.safe_mode, "safe_mode_status": s.safe_mode_status,
            "capacity": s.capacity, "used": s.used, "remaining": s.remaining,
            "files": s.files, "directories": s.directories, "blocks": s.blocks,
            "under_replicated_blocks": s.under_replicated, "missing_blocks": s.missing,
            "corrupt_blocks": s.corrupt, "pending_deletion_blocks": s.pending_deletion,
            "file_bytes": s.file_bytes,
            "live_workers": s.live_workers, "dead_workers": s.dead_workers,
            "decommissioning_workers": s.decommissioning_workers,
            "decommissioned_workers": s.decommissioned_workers, "workers": workers,
        }));
        return Ok(ExitCode::SUCCESS);
    }
    outln!("Cluster {}: {}", s.cluster_id, s.safe_mode_status);
    outln!(
        "Capacity {}   Used {} ({:.1}%)   Remaining {}",
        size(s.capacity, true),
        size(s.used, true),
        percent(s.used, s.capacity),
        size(s.remaining, true)
    );
    outln!(
        "Files {}   Directories {}   Blocks {}",
        s.files,
        s.directories,
        s.blocks
    );
    outln!(
        "Stored {} for {} of file data ({:.2} bytes stored per byte)",
        size(s.used, true),
        size(s.file_bytes, true),
        if s.file_bytes == 0 {
            0.0
        } else {
            s.used as f64 / s.file_bytes as f64
        }
    );
    outln!(
        "Under-replicated blocks {}   Missing blocks {}   Corrupt blocks {}   Pending deletion {}",
        s.under_replicated,
        s.missing,
        s.corrupt,
        s.pending_deletion
    );
    outln!(
        "Workers: {} live, {} dead, {} decommissioning, {} decommissioned",
        s.live_workers,
        s.dead_workers,
        s.decommissioning_workers,
        s.decommissioned_workers
    );
    let mut t = table(&[
        "WORKER",
        "ADDRESS",
        "RACK",
        "STATE",
        "CAPACITY",
        "USED",
        "REMAINING",
        "BLOCKS",
        "HEARTBEAT",
    ]);
    let mut tiers = table(&["WORKER", "TIER", "DIRS", "CAPACITY", "USED", "REMAINING"]);
    for w in &report.workers {
        let a = w.address.clone().unwrap_or_default();
        let st = w.storage.clone().unwrap_or_default();
        for tier in &st.tiers {
            tiers.add_row(vec![
                a.id.clone(),
                tier.medium.clone(),
                tier.dirs.to_string(),
                size(tier.capacity, true),
                format!(
                    "{} ({:.1}%)",
                    size(tier.used, true),
                    percent(tier.used, tier.capacity)
                ),
                size(tier.remaining, true),
            ]);
        }
        t.add_row(vec![
            a.id,
            a.data_address,
            a.rack,
            state_name(w.state).to_string(),
            size(st.capacity, true),
            size(st.used, true),
            size(st.remaining, true),
            w.block_count.to_string(),
            format!("{:.1}s ago", w.last_heartbeat_ms_ago as f64 / 1000.0),
        ]);
    }
    outln!("{t}");
    outln!("Storage tiers:");
    outln!("{tiers}");
    Ok(ExitCode::SUCCESS)
}

fn health_name(health: i32) -> &'static str {
    match BlockHealth::try_from(health) {
        Ok(BlockHealth::Healthy) => "OK",
        Ok(BlockHealth::UnderReplicated) => "UNDER-REPLICATED",
        Ok(BlockHealth::Missing) => "MISSING",
        Ok(BlockHealth::Corrupt) => "CORRUPT",
        Ok(BlockHealth::UnderConstruction) => "UNDER-CONSTRUCTION",
        Ok(BlockHealth::Degraded) => "DEGRADED",
        Ok(BlockHealth::Unrecoverable) => "UNRECOVERABLE",
        Err(_) => "UNKNOWN",
    }
}

fn addresses(list: &[WorkerAddress]) -> Vec<String> {
    list.iter()
        .map(|a| format!("{}{}", a.data_address, a.rack))
        .collect()
}

fn verdict(summary: &FsckSummary) -> &'static str {
    if summary.missing_blocks > 0 || summary.corrupt_blocks > 0 || summary.unrecoverable_groups > 0
    {
        "CORRUPT"
    } else if summary.degraded_groups > 0 {
        "DEGRADED"
    } else if summary.under_replicated_blocks > 0 {
        "UNDER-REPLICATED"
    } else {
        "HEALTHY"
    }
}

fn file_json(f: &FsckFile) -> Value {
    let blocks: Vec<Value> = f
        .blocks
        .iter()
        .map(|b| {
            let block = b.block.unwrap_or_default();
            json!({"block": format!("blk_{}_{}", block.id, block.generation), "length": block.length,
                "health": health_name(b.health), "expected_replicas": b.expected_replicas,
                "live": addresses(&b.live), "decommissioning": addresses(&b.decommissioning),
                "corrupt": addresses(&b.corrupt), "ec_policy": b.ec_policy,
                "live_indices": b.live_indices, "missing_units": b.missing_units})
        })
        .collect();
    json!({"path": f.path, "length": f.length, "replication": f.replication,
        "ec_policy": f.ec_policy,
        "under_construction": f.under_construction, "blocks": blocks})
}

async fn fsck(
    fs: &FileSystem,
    path: &str,
    show_files: bool,
    show_blocks: bool,
    show_locations: bool,
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    let (files, summary) = fs.fsck(path).await.context("fsck")?;
    let verdict = verdict(&summary);
    let code = if verdict == "HEALTHY" {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    };
    if as_json {
        print_json(&json!({
            "path": path, "status": verdict,
            "files": files.iter().map(file_json).collect::<Vec<_>>(),
            "summary": {"files": summary.files, "directories": summary.directories,
                "total_size": summary.total_size, "blocks": summary.blocks,
                "healthy_blocks": summary.healthy_blocks,
                "under_replicated_blocks": summary.under_replicated_blocks,
                "missing_blocks": summary.missing_blocks, "corrupt_blocks": summary.corrupt_blocks,
                "under_construction_blocks": summary.under_construction_blocks,
                "degraded_groups": summary.degraded_groups,
                "unrecoverable_groups": summary.unrecoverable_groups,
                "live_workers": summary.live_workers, "racks": summary.racks},
        }));
        return Ok(code);
    }
    outln!("FSCK of {path} on {}", fs.master().address());
    for f in &files {
        let troubled = f.blocks.iter().any(|b| {
            b.health != BlockHealth::Healthy as i32
                && b.health != BlockHealth::UnderConstruction as i32
        });
        if !show_files && !troubled {
            continue;
        }
        let status = if troubled { "PROBLEM" } else { "OK" };
        let layout = if f.ec_policy.is_empty() {
            format!("replication {}, {} block(s)", f.replication, f.blocks.len())
        } else {
            format!("{}, {} block group(s)", f.ec_policy, f.blocks.len())
        };
        outln!(
            "{} {} bytes, {layout}{}: {status}",
            f.path,
            f.length,
            if f.under_construction {
                ", open for writing"
            } else {
                ""
            }
        );
        for (i, b) in f.blocks.iter().enumerate() {
            let healthy = b.health == BlockHealth::Healthy as i32;
            if !show_blocks && healthy {
                continue;
            }
            let block = b.block.unwrap_or_default();
            let mut line = if b.ec_policy.is_empty() {
                format!(
                    " {i}. blk_{}_{} len={} live={}/{} {}",
                    block.id,
                    block.generation,
                    block.length,
                    b.live.len(),
                    b.expected_replicas,
                    health_name(b.health)
                )
            } else {
                format!(
                    " {i}. group blk_{}_{} {} len={} units={}/{} {}{}",
                    block.id,
                    block.generation,
                    b.ec_policy,
                    block.length,
                    b.expected_replicas - b.missing_units,
                    b.expected_replicas,
                    health_name(b.health),
                    if b.missing_units > 0 {
                        format!(" ({} missing)", b.missing_units)
                    } else {
                        String::new()
                    }
                )
            };
            if !b.decommissioning.is_empty() {
                line.push_str(&format!(" decommissioning={}", b.decommissioning.len()));
            }
            if !b.corrupt.is_empty() {
                line.push_str(&format!(" corrupt={}", b.corrupt.len()));
            }
            if show_locations && !b.ec_policy.is_empty() {
                let units: Vec<String> = b
                    .live_indices
                    .iter()
                    .zip(addresses(&b.live))
                    .map(|(i, a)| format!("#{i} {a}"))
                    .collect();
                line.push_str(&format!(" [{}]", units.join(", ")));
            } else if show_locations {
                line.push_str(&format!(" [{}]", addresses(&b.live).join(", ")));
                if !b.corrupt.is_empty() {
                    line.push_str(&format!(" corrupt:[{}]", addresses(&b.corrupt).join(", ")));
                }
            }
            outln!("{line}");
        }
    }
    outln!();
    outln!("Status: {verdict}");
    outln!(" Total size:                {} B", summary.total_size);
    outln!(" Total directories:         {}", summary.directories);
    outln!(" Total files:               {}", summary.files);
    outln!(" Total blocks:              {}", summary.blocks);
    outln!(" Healthy blocks:            {}", summary.healthy_blocks);
    outln!(
        " Under-replicated blocks:   {}",
        summary.under_replicated_blocks
    );
    outln!(" Missing blocks:            {}", summary.missing_blocks);
    outln!(" Corrupt blocks:            {}", summary.corrupt_blocks);
    outln!(
        " Blocks being written:      {}",
        summary.under_construction_blocks
    );
    outln!(" Degraded block groups:     {}", summary.degraded_groups);
    outln!(
        " Unrecoverable groups:      {}",
        summary.unrecoverable_groups
    );
    outln!(" Live workers:              {}", summary.live_workers);
    outln!(" Racks:                     {}", summary.racks);
    outln!();
    outln!("The filesystem under path '{path}' is {verdict}");
    Ok(code)
}

async fn safemode(fs: &FileSystem, verb: SafeModeVerb) -> anyhow::Result<ExitCode> {
    let action = match verb {
        SafeModeVerb::Get | SafeModeVerb::Wait => SafeModeAction::Get,
        SafeModeVerb::Enter => SafeModeAction::Enter,
        SafeModeVerb::Leave => SafeModeAction::Leave,
    };
    let mut state = fs.safe_mode(action).await.context("safemode")?;
    if matches!(verb, SafeModeVerb::Wait) {
        while state.on {
            tokio::time::sleep(Duration::from_millis(500)).await;
            state = fs
                .safe_mode(SafeModeAction::Get)
                .await
                .context("safemode")?;
        }
    }
    outln!("Safe mode is {}", if state.on { "ON" } else { "OFF" });
    if state.on {
        outln!("{}", state.status);
    }
    Ok(ExitCode::SUCCESS)
}
