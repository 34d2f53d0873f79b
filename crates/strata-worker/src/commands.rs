//! Carrying out the master's commands: copy a replica, delete replicas, lead a recovery.

use crate::context::WorkerContext;
use crate::{recovery, transfer};
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
                match transfer::send(&ctx, block, &t.targets).await {
                    Ok(()) => tracing::info!(%block, ?targets, "replica copied"),
                    Err(e) => tracing::warn!(%block, ?targets, error = %e, "replica copy failed"),
                }
            }
            Command::Delete(d) => {
                let store = ctx.store.clone();
                let blocks = d.blocks;
                let deleted = tokio::task::spawn_blocking(move || {
                    blocks
                        .iter()
                        .filter_map(|b| {
                            let id = strata_core::BlockId(b.id);
                            // A replica that is already gone counts as deleted too.
                            store.delete(id, b.generation).or_else(|| {
                                store.info(id).is_none().then_some(ReportedBlock {
                                    id: b.id,
                                    generation: b.generation,
                                    length: b.length,
                                    state: 0,
                                })
                            })
                        })
                        .collect::<Vec<_>>()
                })
                .await
                .unwrap_or_default();
                tracing::debug!(count = deleted.len(), "replicas deleted");
                for block in deleted {
                    ctx.master.block_deleted(block);
                }
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
