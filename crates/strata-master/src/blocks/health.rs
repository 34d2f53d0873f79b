//! How healthy one block is: its replicas sorted into live, decommissioning and corrupt.

use super::map::{BlockMap, Replica, ReplicaState};
use crate::namespace::BlockRecord;
use crate::workers::{AdminState, WorkerRegistry};
use strata_core::BlockId;
use strata_proto::rpc::BlockHealth;

/// A block's replicas, sorted by what they are worth.
#[derive(Debug, Clone, Default)]
pub struct BlockStatus {
    /// Finalized, current, undamaged replicas on live workers in service.
    pub live: Vec<Replica>,
    /// Good replicas on workers being (or already) decommissioned.
    pub decommissioning: Vec<Replica>,
    /// Damaged or stale replicas.
    pub corrupt: Vec<Replica>,
    /// The target number of replicas.
    pub expected: u32,
    /// The verdict.
    pub health: BlockHealth,
}

impl BlockStatus {
    /// Good replicas anywhere (live plus decommissioning).
    pub fn readable(&self) -> usize {
        self.live.len() + self.decommissioning.len()
    }
}

/// Classifies a block of a file with `replication` replicas.
pub fn classify(
    block: BlockId,
    record: &BlockRecord,
    replication: u32,
    blocks: &BlockMap,
    workers: &WorkerRegistry,
) -> BlockStatus {
    let mut status = BlockStatus {
        expected: replication,
        ..Default::default()
    };
    for replica in blocks.replicas(block) {
        let Some(worker) = workers.get(replica.worker) else {
            continue;
        };
        if !worker.alive {
            continue;
        }
        let stale = replica.generation < record.generation
            || (record.complete
                && replica.state == ReplicaState::Finalized
                && replica.length != record.length);
        if replica.corrupt || stale {
            status.corrupt.push(*replica);
        } else if replica.state != ReplicaState::Finalized {
            continue;
        } else if worker.admin == AdminState::Normal {
            status.live.push(*replica);
        } else {
            status.decommissioning.push(*replica);
        }
    }
    status.health = if !record.complete {
        BlockHealth::UnderConstruction
    } else if status.readable() == 0 {
        if status.corrupt.is_empty() {
            BlockHealth::Missing
        } else {
            BlockHealth::Corrupt
        }
    } else if (status.live.len() as u32) < replication {
        BlockHealth::UnderReplicated
    } else {
        BlockHealth::Healthy
    };
    status
}
