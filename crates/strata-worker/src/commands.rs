//! Carrying out the master's commands: copy a replica, delete replicas, lead a recovery.

use crate::context::WorkerContext;
use crate::{reconstruct, recovery, transfer};
use std::sync::Arc;
use strata_core::ExtendedBlock;
use strata_proto::rpc::{ReportedBlock, WorkerCommand, worker_command::Command};

/// Starts a command in the background.
pub fn execute(ctx: Arc<WorkerContext>, command: WorkerCommand) {
    let Some(command) = command.command else {
        return;
    };
    tokio::spawn(async move {
        let _op = ctx.begin_operation();
        match command {
            Command::Transfer(t) => {
                let Some(block) = t.block.as_ref().map(ExtendedBlock::from) else {
                    return;
                };
                let targets: Vec<&str> =
                    t.targets.iter().map(|a| a.data_address.as_str()).collect();
                let result = transfer::send(&ctx, block, &t.targets).await;
                match &result {
                    Ok(bytes) => tracing::info!(%block, ?targets, bytes, "replica copied"),
                    Err(e) => tracing::warn!(%block, ?targets, error = %e, "replica copy failed"),
                }
                ctx.metrics.repair_done("copy", result.ok());
            }
            Command::Delete(d) => {
                let store = ctx.store.clone();
                let blocks = d.blocks;
                let outcome = tokio::task::spawn_blocking(move || {
                    let (mut deleted, mut kept) = (Vec::new(), Vec::new());
                    for b in &blocks {
                        let id = strata_core::BlockId(b.id);
                        match (store.delete(id, b.generation), store.info(id)) {
                            (Some(gone), _) => deleted.push(gone),
                            // A replica that is already gone counts as deleted too.
                            (None, None) => deleted.push(ReportedBlock {
                                id: b.id,
                                generation: b.generation,
                                length: b.length,
                                ..Default::default()
                            }),
                            // A newer replica than the master thought: tell it what is here.
                            (None, Some(newer)) => kept.push(newer.reported()),
                        }
                    }
                    (deleted, kept)
                })
                .await;
                let Ok((deleted, kept)) = outcome else { return };
                tracing::debug!(
                    deleted = deleted.len(),
                    kept = kept.len(),
                    "delete command done"
                );
                for block in deleted {
                    ctx.master.block_deleted(block);
                }
                for block in kept {
                    ctx.master.block_received(&ctx.id, block).await;
                }
            }
            Command::Reconstruct(r) => {
                let group = r.group.as_ref().map(|b| b.id).unwrap_or_default();
                let result = reconstruct::run(&ctx, r).await;
                match &result {
                    Ok(bytes) => tracing::info!(group, bytes, "reconstruction finished"),
                    Err(e) => tracing::warn!(group, error = %e, "reconstruction failed"),
                }
                ctx.metrics.repair_done("reconstruction", result.ok());
            }
            Command::Recover(r) => {
                let block = r.block.as_ref().map(|b| b.id).unwrap_or_default();
                if let Err(e) = recovery::run_primary(&ctx, r).await {
                    tracing::warn!(block, error = %e, "lease recovery failed");
                }
            }
        }
    });
}
