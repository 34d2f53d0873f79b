//! Lease recovery: when a writer stops renewing its lease, its files are closed at the length
//! every surviving replica agrees on. The master bumps the last block's generation stamp and
//! asks one replica holder (the primary) to agree the length with the others; the primary
//! reports the result with `CommitBlockRecovery`.

use super::MasterState;
use crate::namespace::Outcome;
use std::time::Instant;
use strata_core::{InodeId, Result, now_millis};
use strata_proto::journal::{self, entry::Op};
use strata_proto::rpc::{Block, RecoverCommand, WorkerCommand, worker_command};

/// Starts recovery of every file whose lease has run out.
pub async fn recover_expired_leases(state: &MasterState) {
    if state.cluster.lock().safe_mode.is_on() {
        return;
    }
    let due = state
        .leases
        .lock()
        .due_for_recovery(state.config.lease_timeout, Instant::now());
    for inode in due {
        recover_file(state, inode).await;
    }
}

/// Recovers one file (logging, not returning, failures: the next round tries again).
pub async fn recover_file(state: &MasterState, inode: InodeId) {
    if let Err(e) = try_recover(state, inode).await {
        tracing::warn!(%inode, error = %e, "lease recovery failed; will retry");
    }
}

enum Plan {
    Forget,
    Close,
    DropLast(u64),
    /// The last block (or block group) with its holders (and the internal block each holds).
    Agree(Block, Vec<(crate::workers::WorkerIdx, u32)>, String),
}

async fn try_recover(state: &MasterState, inode: InodeId) -> Result<()> {
    let (path, plan) = {
        let ns = state.namespace.read();
        let Some(file) = ns.inode(inode).ok().and_then(|i| i.file()) else {
            state.leases.lock().remove_file(inode);
            return Ok(());
        };
        let path = ns.path_of(inode)?;
        let plan = match (&file.writer, file.blocks.last()) {
            (None, _) => Plan::Forget,
            (Some(_), None) => Plan::Close,
            (Some(_), Some(last)) if last.complete => Plan::Close,
            (Some(_), Some(last)) => {
                let cluster = state.cluster.lock();
                let policy = ns.file_policy(file);
                let units = policy.map_or(1, |p| p.units());
                let mut holders = Vec::new();
                for index in 0..units {
                    let id = if policy.is_some() {
                        last.id.internal(index)
                    } else {
                        last.id
                    };
                    holders.extend(
                        cluster
                            .blocks
                            .replicas(id)
                            .iter()
                            .filter(|r| !r.corrupt && cluster.workers.is_alive(r.worker))
                            .map(|r| (r.worker, index as u32)),
                    );
                }
                if holders.is_empty() {
                    Plan::DropLast(last.id.0)
                } else {
                    let policy = policy.map(|p| p.name()).unwrap_or_default();
                    Plan::Agree(last.extended().into(), holders, policy)
                }
            }
        };
        (path, plan)
    };
    if matches!(plan, Plan::Forget) {
        state.leases.lock().remove_file(inode);
        return Ok(());
    }
    state.leases.lock().start_recovery(inode, Instant::now());
    tracing::info!(%path, "lease expired; recovering the file");
    match plan {
        Plan::Forget => {}
        Plan::Close | Plan::DropLast(_) => {
            let block_id = match plan {
                Plan::DropLast(id) => id,
                _ => 0,
            };
            let op = Op::CommitBlockRecovery(journal::CommitBlockRecovery {
                inode_id: inode.0,
                block_id,
                drop_last_block: block_id != 0,
                time: now_millis(),
                ..Default::default()
            });
            if let Outcome::Completed = state.submit(op).await? {
                state.leases.lock().remove_file(inode);
                tracing::info!(%path, "file closed by lease recovery");
            }
        }
        Plan::Agree(mut block, holders, policy) => {
            // A retry asks for the replicas' generation before the first attempt's bump.
            block.generation = state
                .leases
                .lock()
                .replica_generation(inode, block.generation);
            let op = Op::BumpGeneration(journal::BumpGeneration {
                inode_id: inode.0,
                client_name: String::new(),
                block_id: block.id,
            });
            let Outcome::NewGeneration(bumped) = state.submit(op).await? else {
                return Ok(());
            };
            let mut cluster = state.cluster.lock();
            let replicas: Vec<_> = holders
                .iter()
                .filter_map(|(w, _)| cluster.workers.get(*w).map(|e| e.address.clone()))
                .collect();
            let indices = if policy.is_empty() {
                Vec::new()
            } else {
                holders.iter().map(|(_, i)| *i).collect()
            };
            if let Some(primary) = holders
                .first()
                .and_then(|(w, _)| cluster.workers.get_mut(*w))
            {
                tracing::info!(%path, block = block.id, primary = %primary.address.id,
                    "asking the primary replica to agree the last block's length");
                primary.commands.push_back(WorkerCommand {
                    command: Some(worker_command::Command::Recover(RecoverCommand {
                        block: Some(block),
                        new_generation: bumped.generation,
                        replicas,
                        policy,
                        indices,
                    })),
                });
            }
        }
    }
    Ok(())
}
