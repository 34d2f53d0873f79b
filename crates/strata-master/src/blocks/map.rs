//! The block map: for every block, the replicas workers reported, and for every worker, the
//! blocks it holds. Soft state: rebuilt from block reports after a restart.

use crate::workers::WorkerIdx;
use std::collections::{HashMap, HashSet};
use strata_core::BlockId;
use strata_core::tier::Medium;

/// Whether a replica is finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    /// Finished and immutable (until an append reopens it).
    Finalized,
    /// Still being written, or expected in a write pipeline.
    BeingWritten,
}

/// One replica of a block on one worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replica {
    /// The worker holding it.
    pub worker: WorkerIdx,
    /// Its generation stamp.
    pub generation: u64,
    /// Its length.
    pub length: u64,
    /// Finished or not.
    pub state: ReplicaState,
    /// Known to be damaged or stale: never read, deleted once a good copy exists.
    pub corrupt: bool,
    /// The tier holding it, as the worker last reported (`None`: not reported yet).
    pub medium: Option<Medium>,
}

/// Replica locations of every block.
#[derive(Debug, Default)]
pub struct BlockMap {
    blocks: HashMap<BlockId, Vec<Replica>>,
    by_worker: HashMap<WorkerIdx, HashSet<BlockId>>,
}

impl BlockMap {
    /// The replicas of a block (empty when none is known).
    pub fn replicas(&self, block: BlockId) -> &[Replica] {
        self.blocks.get(&block).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Records a replica, replacing what was known of the same block on the same worker (its
    /// tier stays known when the new record does not name one).
    pub fn add(&mut self, block: BlockId, replica: Replica) {
        let list = self.blocks.entry(block).or_default();
        match list.iter_mut().find(|r| r.worker == replica.worker) {
            Some(existing) => {
                *existing = Replica {
                    medium: replica.medium.or(existing.medium),
                    ..replica
                }
            }
            None => list.push(replica),
        }
        self.by_worker
            .entry(replica.worker)
            .or_default()
            .insert(block);
    }

    /// Forgets the replica of `block` on `worker`; returns whether there was one.
    pub fn remove(&mut self, block: BlockId, worker: WorkerIdx) -> bool {
        let mut removed = false;
        if let Some(list) = self.blocks.get_mut(&block) {
            let before = list.len();
            list.retain(|r| r.worker != worker);
            removed = list.len() != before;
            if list.is_empty() {
                self.blocks.remove(&block);
            }
        }
        if let Some(set) = self.by_worker.get_mut(&worker) {
            set.remove(&block);
        }
        removed
    }

    /// Marks the replica of `block` on `worker` corrupt; returns whether it was known.
    pub fn mark_corrupt(&mut self, block: BlockId, worker: WorkerIdx) -> bool {
        match self
            .blocks
            .get_mut(&block)
            .and_then(|list| list.iter_mut().find(|r| r.worker == worker))
        {
            Some(replica) => {
                replica.corrupt = true;
                true
            }
            None => false,
        }
    }

    /// Forgets a block entirely, returning its replicas.
    pub fn remove_block(&mut self, block: BlockId) -> Vec<Replica> {
        let replicas = self.blocks.remove(&block).unwrap_or_default();
        for r in &replicas {
            if let Some(set) = self.by_worker.get_mut(&r.worker) {
                set.remove(&block);
            }
        }
        replicas
    }

    /// Forgets every replica on a worker (it died), returning the blocks it held.
    pub fn remove_worker(&mut self, worker: WorkerIdx) -> Vec<BlockId> {
        let blocks: Vec<BlockId> = self
            .by_worker
            .remove(&worker)
            .map(|s| s.into_iter().collect())
            .unwrap_or_default();
        for block in &blocks {
            if let Some(list) = self.blocks.get_mut(block) {
                list.retain(|r| r.worker != worker);
                if list.is_empty() {
                    self.blocks.remove(block);
                }
            }
        }
        blocks
    }

    /// The blocks on a worker.
    pub fn blocks_on(&self, worker: WorkerIdx) -> impl Iterator<Item = BlockId> + '_ {
        self.by_worker
            .get(&worker)
            .into_iter()
            .flat_map(|s| s.iter().copied())
    }

    /// How many blocks a worker holds.
    pub fn count_on(&self, worker: WorkerIdx) -> usize {
        self.by_worker.get(&worker).map_or(0, HashSet::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replica(w: u32) -> Replica {
        Replica {
            worker: WorkerIdx(w),
            generation: 1,
            length: 10,
            state: ReplicaState::Finalized,
            corrupt: false,
            medium: None,
        }
    }

    #[test]
    fn both_indexes_stay_consistent() {
        let mut map = BlockMap::default();
        map.add(BlockId(1), replica(0));
        map.add(BlockId(1), replica(1));
        map.add(BlockId(2), replica(0));
        map.add(BlockId(1), replica(0));
        assert_eq!(map.replicas(BlockId(1)).len(), 2);
        assert_eq!(map.count_on(WorkerIdx(0)), 2);
        let mut lost = map.remove_worker(WorkerIdx(0));
        lost.sort();
        assert_eq!(lost, vec![BlockId(1), BlockId(2)]);
        assert_eq!(map.replicas(BlockId(1)).len(), 1);
        assert!(map.replicas(BlockId(2)).is_empty());
        assert!(map.mark_corrupt(BlockId(1), WorkerIdx(1)));
        assert!(map.replicas(BlockId(1))[0].corrupt);
        assert_eq!(map.remove_block(BlockId(1)).len(), 1);
        assert_eq!(map.count_on(WorkerIdx(1)), 0);
    }
}
