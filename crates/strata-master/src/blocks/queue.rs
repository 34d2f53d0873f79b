//! The replication queue: blocks waiting to be examined, copies and reconstructions in flight,
//! and damaged replicas whose deletion was ordered.

use crate::workers::{WorkerIdx, WorkerRegistry};
use std::collections::{HashMap, HashSet};
use std::time::Instant;
use strata_core::BlockId;

/// A copy scheduled but not yet confirmed by the targets' reports.
#[derive(Debug, Clone)]
pub(super) struct PendingTransfer {
    pub(super) source: WorkerIdx,
    pub(super) targets: Vec<WorkerIdx>,
    pub(super) deadline: Instant,
    /// What the copy is for.
    pub(super) kind: RepairKind,
}

/// How a missing replica is made again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepairKind {
    /// Copied from a good replica.
    Copy,
    /// Decoded from the other internal blocks of its group.
    Reconstruction,
}

impl RepairKind {
    /// The name metrics and logs use.
    pub fn name(self) -> &'static str {
        match self {
            RepairKind::Copy => "copy",
            RepairKind::Reconstruction => "reconstruction",
        }
    }
}

/// Counters of one kind of repair since start.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RepairCounts {
    /// Scheduled (a reconstruction of several internal blocks counts once).
    pub scheduled: u64,
    /// Replicas that arrived where they were sent.
    pub completed: u64,
    /// Scheduled but not done within the pending timeout, or lost with a worker.
    pub abandoned: u64,
}

/// Blocks waiting to be examined and copies in flight.
#[derive(Debug, Default)]
pub struct ReplicationQueue {
    pub(super) needs_check: HashSet<BlockId>,
    pub(super) pending: HashMap<BlockId, Vec<PendingTransfer>>,
    /// Damaged replicas whose deletion was ordered and not yet confirmed; their workers stay
    /// out of placement for the block until then.
    pub(super) invalidating: HashSet<(BlockId, WorkerIdx)>,
    pub(super) last_full_scan: Option<Instant>,
    /// Copies since start.
    pub copies: RepairCounts,
    /// Reconstructions since start.
    pub reconstructions: RepairCounts,
    /// Replica deletions scheduled since start (excess and corrupt).
    pub scheduled_deletions: u64,
}

impl ReplicationQueue {
    /// Queues a block for examination.
    pub fn mark(&mut self, block: BlockId) {
        self.needs_check.insert(block);
    }

    /// Queues many blocks for examination.
    pub fn mark_all(&mut self, blocks: impl IntoIterator<Item = BlockId>) {
        self.needs_check.extend(blocks);
    }

    /// Copies and reconstructions in flight.
    pub fn pending_transfers(&self) -> usize {
        self.pending.values().map(Vec::len).sum()
    }

    /// Replicas on their way, by how they are being made.
    pub fn pending_of(&self, kind: RepairKind) -> usize {
        self.pending
            .values()
            .flatten()
            .filter(|p| p.kind == kind)
            .map(|p| p.targets.len())
            .sum()
    }

    fn counts_mut(&mut self, kind: RepairKind) -> &mut RepairCounts {
        match kind {
            RepairKind::Copy => &mut self.copies,
            RepairKind::Reconstruction => &mut self.reconstructions,
        }
    }

    /// Workers a copy of `block` is on its way to.
    pub(super) fn pending_targets(&self, block: BlockId) -> impl Iterator<Item = WorkerIdx> + '_ {
        self.pending
            .get(&block)
            .into_iter()
            .flatten()
            .flat_map(|p| p.targets.iter().copied())
    }

    /// Blocks waiting to be examined.
    pub fn queued(&self) -> usize {
        self.needs_check.len()
    }

    /// A replica of `block` arrived on `worker`: a copy to it is done.
    pub fn replica_arrived(
        &mut self,
        block: BlockId,
        worker: WorkerIdx,
        workers: &mut WorkerRegistry,
    ) {
        let Some(list) = self.pending.get_mut(&block) else {
            return;
        };
        let mut arrived = Vec::new();
        for pending in list.iter_mut() {
            let before = pending.targets.len();
            pending.targets.retain(|t| *t != worker);
            if pending.targets.len() < before {
                arrived.push(pending.kind);
            }
            if pending.targets.is_empty() {
                release(workers, pending.source);
            }
        }
        list.retain(|p| !p.targets.is_empty());
        if list.is_empty() {
            self.pending.remove(&block);
        }
        for kind in arrived {
            self.counts_mut(kind).completed += 1;
        }
    }

    /// A worker confirmed it deleted its replica of `block`, or reported a good one in its
    /// place: an ordered deletion is settled.
    pub fn invalidation_settled(&mut self, block: BlockId, worker: WorkerIdx) {
        self.invalidating.remove(&(block, worker));
    }

    /// A block no longer exists: drop any copy of it in flight.
    pub fn forget(&mut self, block: BlockId, workers: &mut WorkerRegistry) {
        self.needs_check.remove(&block);
        for p in self.pending.remove(&block).unwrap_or_default() {
            release(workers, p.source);
        }
    }

    /// A worker is gone: copies from or to it will not finish.
    pub fn worker_lost(&mut self, idx: WorkerIdx, workers: &mut WorkerRegistry) {
        self.invalidating.retain(|(_, w)| *w != idx);
        self.cancel(workers, |p| p.source == idx || p.targets.contains(&idx));
    }

    /// A source found its own replica of `block` damaged: its copy will not finish.
    pub fn source_failed(
        &mut self,
        block: BlockId,
        source: WorkerIdx,
        workers: &mut WorkerRegistry,
    ) {
        if let Some(list) = self.pending.get_mut(&block) {
            list.retain(|p| {
                let failed = p.source == source;
                if failed {
                    release(workers, p.source);
                }
                !failed
            });
            if list.is_empty() {
                self.pending.remove(&block);
            }
        }
        self.needs_check.insert(block);
    }

    /// Drops the copies matching `doomed` and queues their blocks for another look.
    pub(super) fn cancel(
        &mut self,
        workers: &mut WorkerRegistry,
        doomed: impl Fn(&PendingTransfer) -> bool,
    ) {
        let mut affected = Vec::new();
        let mut abandoned = Vec::new();
        for (block, list) in self.pending.iter_mut() {
            list.retain(|p| {
                if doomed(p) {
                    release(workers, p.source);
                    affected.push(*block);
                    abandoned.push(p.kind);
                    false
                } else {
                    true
                }
            });
        }
        self.pending.retain(|_, list| !list.is_empty());
        self.needs_check.extend(affected);
        for kind in abandoned {
            self.counts_mut(kind).abandoned += 1;
        }
    }
}

pub(super) fn release(workers: &mut WorkerRegistry, source: WorkerIdx) {
    if let Some(w) = workers.get_mut(source) {
        w.transfers_in_flight = w.transfers_in_flight.saturating_sub(1);
    }
}
