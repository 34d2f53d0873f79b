//! How healthy one block is: its replicas sorted into live, decommissioning and corrupt; for a
//! block group, the same for each internal block, and how many are missing.

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

/// Classifies a block of a file with `replication` replicas; a block whose bytes are also in
/// under storage (`in_under_storage`) is healthy with any number of cached replicas.
pub fn classify(
    block: BlockId,
    record: &BlockRecord,
    replication: u32,
    in_under_storage: bool,
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
    } else if in_under_storage {
        BlockHealth::Healthy
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

/// The replicas of one internal block of a block group.
#[derive(Debug, Clone, Default)]
pub struct UnitStatus {
    /// Good replicas on live workers in service.
    pub live: Vec<Replica>,
    /// Good replicas on workers being (or already) decommissioned.
    pub decommissioning: Vec<Replica>,
    /// Damaged or stale replicas.
    pub corrupt: Vec<Replica>,
}

impl UnitStatus {
    /// Whether a good replica exists anywhere.
    pub fn readable(&self) -> bool {
        !self.live.is_empty() || !self.decommissioning.is_empty()
    }

    /// The good replica to read: one in service if there is one.
    pub fn best(&self) -> Option<&Replica> {
        self.live.first().or(self.decommissioning.first())
    }
}

/// A block group's internal blocks and the verdict.
#[derive(Debug, Clone)]
pub struct GroupStatus {
    /// One entry per internal block (data units first).
    pub units: Vec<UnitStatus>,
    /// Internal blocks with no good replica.
    pub missing: Vec<usize>,
    /// The verdict: healthy, degraded, unrecoverable or under construction.
    pub health: BlockHealth,
}

impl GroupStatus {
    /// Internal blocks with a good replica.
    pub fn readable_units(&self) -> usize {
        self.units.len() - self.missing.len()
    }
}

/// Classifies a block group of `policy` whose record is `group`.
pub fn classify_group(
    group: &BlockRecord,
    policy: &strata_ec::EcPolicy,
    blocks: &BlockMap,
    workers: &WorkerRegistry,
) -> GroupStatus {
    let geometry = strata_ec::StripeGeometry::new(policy);
    let mut units = Vec::with_capacity(policy.units());
    for index in 0..policy.units() {
        let record = BlockRecord {
            id: group.id.internal(index),
            length: geometry.internal_length(group.length, index),
            ..*group
        };
        let status = classify(record.id, &record, 1, false, blocks, workers);
        units.push(UnitStatus {
            live: status.live,
            decommissioning: status.decommissioning,
            corrupt: status.corrupt,
        });
    }
    let missing: Vec<usize> = (0..units.len()).filter(|i| !units[*i].readable()).collect();
    let health = if !group.complete {
        BlockHealth::UnderConstruction
    } else if missing.is_empty() {
        BlockHealth::Healthy
    } else if missing.len() <= policy.parity {
        BlockHealth::Degraded
    } else {
        BlockHealth::Unrecoverable
    };
    GroupStatus {
        units,
        missing,
        health,
    }
}
