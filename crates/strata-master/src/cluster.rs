//! The cluster's soft state under one lock: workers, block locations, the replication queue
//! and safe mode. Everything here is rebuilt from registrations and block reports after a
//! restart; nothing is journaled.

use crate::blocks::replication::ReplicationQueue;
use crate::blocks::{BlockMap, Replica, ReplicaState};
use crate::namespace::Namespace;
use crate::placement::Candidate;
use crate::safemode::SafeMode;
use crate::workers::{WorkerIdx, WorkerRegistry};
use std::time::{Duration, Instant};
use strata_core::tier::Medium;
use strata_core::{BlockId, ExtendedBlock};
use strata_proto::rpc::{self, DeleteCommand, ReportedBlock, WorkerCommand, worker_command};

/// Most blocks in one delete command.
const DELETE_BATCH: usize = 1000;

/// Workers, blocks, replication work and safe mode.
#[derive(Debug)]
pub struct Cluster {
    /// This cluster's id, handed to workers so they never join another cluster's master.
    pub cluster_id: String,
    /// The registered workers.
    pub workers: WorkerRegistry,
    /// Where replicas are.
    pub blocks: BlockMap,
    /// Blocks to look at and copies in flight.
    pub replication: ReplicationQueue,
    /// Safe mode.
    pub safe_mode: SafeMode,
}

/// What the master makes of a reported replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A replica of a block the namespace knows.
    Accept,
    /// A replica that is damaged or stale (older generation, wrong length).
    Corrupt,
    /// A replica of a block no file owns: the worker should delete it.
    Orphan,
    /// Older news than what the worker already confirmed (reports can arrive out of order).
    Outdated,
}

impl Cluster {
    /// A fresh cluster state for a master that just started.
    pub fn new(cluster_id: String) -> Cluster {
        Cluster {
            cluster_id,
            workers: WorkerRegistry::default(),
            blocks: BlockMap::default(),
            replication: ReplicationQueue::default(),
            safe_mode: SafeMode::at_startup(),
        }
    }

    /// Records a replica a worker reported, judging it against the namespace.
    pub fn record_replica(
        &mut self,
        ns: &Namespace,
        worker: WorkerIdx,
        reported: &ReportedBlock,
    ) -> Verdict {
        let block = BlockId(reported.id);
        let state = if reported.state == rpc::ReplicaState::BeingWritten as i32 {
            ReplicaState::BeingWritten
        } else {
            ReplicaState::Finalized
        };
        let Some(record) = ns.expected_replica(block) else {
            self.enqueue_delete(
                worker,
                ExtendedBlock {
                    id: block,
                    generation: reported.generation,
                    length: reported.length,
                },
            );
            self.blocks.remove(block, worker);
            return Verdict::Orphan;
        };
        // A block of under storage being cached by a read-through: reported when finished.
        let filling = state == ReplicaState::BeingWritten
            && reported.generation == record.generation
            && ns
                .block_record(block)
                .is_some_and(|(_, file, _)| file.persisted.is_some());
        if filling {
            return Verdict::Outdated;
        }
        let confirmed_newer = self.blocks.replicas(block).iter().any(|r| {
            r.worker == worker
                && r.state == ReplicaState::Finalized
                && !r.corrupt
                && r.generation > reported.generation
        });
        if confirmed_newer {
            return Verdict::Outdated;
        }
        let stale = reported.generation < record.generation
            || (record.complete
                && (state == ReplicaState::BeingWritten
                    || (reported.generation == record.generation
                        && reported.length != record.length)));
        self.blocks.add(
            block,
            Replica {
                worker,
                generation: reported.generation,
                length: reported.length,
                state,
                corrupt: stale,
                medium: reported.medium().tier(),
            },
        );
        self.replication
            .replica_arrived(block, worker, &mut self.workers);
        if !stale {
            self.replication.invalidation_settled(block, worker);
        }
        self.replication.mark(block);
        if stale {
            Verdict::Corrupt
        } else {
            Verdict::Accept
        }
    }

    /// Forgets the blocks (of deleted or overwritten files) and asks their holders to delete
    /// them.
    pub fn invalidate(&mut self, blocks: &[ExtendedBlock]) {
        // A block group stands for all its internal blocks.
        let expanded: Vec<ExtendedBlock> = blocks
            .iter()
            .flat_map(|b| {
                let units = if b.id.is_striped() {
                    BlockId::GROUP_STRIDE as usize
                } else {
                    1
                };
                (0..units).map(move |i| ExtendedBlock {
                    id: b.id.internal(i),
                    ..*b
                })
            })
            .collect();
        for block in &expanded {
            for replica in self.blocks.remove_block(block.id) {
                self.enqueue_delete(
                    replica.worker,
                    ExtendedBlock {
                        generation: replica.generation,
                        ..*block
                    },
                );
            }
            self.replication.forget(block.id, &mut self.workers);
        }
    }

    /// Queues the deletion of one replica for the worker's next heartbeat.
    pub fn enqueue_delete(&mut self, worker: WorkerIdx, block: ExtendedBlock) {
        let Some(entry) = self.workers.get_mut(worker) else {
            return;
        };
        if let Some(WorkerCommand {
            command: Some(worker_command::Command::Delete(delete)),
        }) = entry.commands.back_mut()
            && delete.blocks.len() < DELETE_BATCH
        {
            delete.blocks.push(block.into());
            return;
        }
        entry.commands.push_back(WorkerCommand {
            command: Some(worker_command::Command::Delete(DeleteCommand {
                blocks: vec![block.into()],
            })),
        });
    }

    /// Blocks waiting to be deleted on workers.
    pub fn pending_deletions(&self) -> u64 {
        self.workers
            .iter()
            .flat_map(|w| w.commands.iter())
            .map(|c| match &c.command {
                Some(worker_command::Command::Delete(d)) => d.blocks.len() as u64,
                _ => 0,
            })
            .sum()
    }

    /// Declares dead every live worker silent for longer than `timeout`; their replicas are
    /// forgotten and their blocks queued for checking. Returns the workers that died.
    pub fn detect_dead_workers(&mut self, timeout: Duration, now: Instant) -> Vec<WorkerIdx> {
        let dead: Vec<WorkerIdx> = self
            .workers
            .iter()
            .filter(|w| w.alive && now.duration_since(w.last_heartbeat) > timeout)
            .map(|w| w.idx)
            .collect();
        for idx in &dead {
            self.worker_lost(*idx);
        }
        dead
    }

    /// A worker is gone (dead, or re-registering with a fresh report): forget its replicas.
    pub fn worker_lost(&mut self, idx: WorkerIdx) {
        if let Some(entry) = self.workers.get_mut(idx) {
            entry.alive = false;
            entry.commands.clear();
            entry.transfers_in_flight = 0;
        }
        let lost = self.blocks.remove_worker(idx);
        self.replication.worker_lost(idx, &mut self.workers);
        self.replication.mark_all(lost);
    }

    /// A known worker registers again (it restarted, or the master asked it to): the commands
    /// and copies it had in hand are lost. Its replicas stay until its full report says which
    /// of them are gone.
    pub fn worker_restarted(&mut self, idx: WorkerIdx) {
        self.replication.worker_lost(idx, &mut self.workers);
    }

    /// Live, in-service workers as placement candidates.
    pub fn placement_candidates(&self) -> Vec<Candidate> {
        self.workers
            .iter()
            .filter(|w| w.accepts_new_blocks())
            .map(|w| Candidate {
                idx: w.idx,
                rack: w.address.rack.clone(),
                remaining: w.storage.remaining,
                load: w.active_operations,
            })
            .collect()
    }

    /// Counts, for each of `candidates` short of `block_size` free bytes, the bytes of the
    /// replicas in its slowest tier that it may drop (`Namespace::is_droppable`) as free: a
    /// worker full of cached copies of under storage makes room for a new block as it comes.
    pub fn count_droppable(&self, ns: &Namespace, candidates: &mut [Candidate], block_size: u64) {
        for candidate in candidates.iter_mut().filter(|c| c.remaining < block_size) {
            let Some(worker) = self.workers.get(candidate.idx) else {
                continue;
            };
            let slowest = (worker.storage.tiers.last()).and_then(|t| Medium::parse(&t.medium));
            let droppable: u64 = (self.blocks.blocks_on(candidate.idx))
                .filter(|block| ns.is_droppable(*block))
                .flat_map(|block| self.blocks.replicas(block))
                .filter(|r| {
                    r.worker == candidate.idx && (r.medium.is_none() || r.medium == slowest)
                })
                .map(|r| r.length)
                .sum();
            candidate.remaining += droppable;
        }
    }

    /// Counts finished blocks and those readable from reported replicas (a block group needs
    /// its data-unit count of internal blocks), for safe mode.
    pub fn reported_blocks(&self, ns: &Namespace) -> (u64, u64) {
        let mut reported = 0;
        let mut total = 0;
        for (block, _) in ns.blocks() {
            let Some((_, file, record)) = ns.block_record(block) else {
                continue;
            };
            // Bytes in under storage need no replica to be readable.
            if !record.complete || file.persisted.is_some() {
                continue;
            }
            total += 1;
            let good = |id: BlockId| {
                self.blocks.replicas(id).iter().any(|r| {
                    !r.corrupt
                        && r.state == ReplicaState::Finalized
                        && r.generation >= record.generation
                        && self.workers.is_alive(r.worker)
                })
            };
            let readable = match ns.file_policy(file) {
                Some(policy) => {
                    (0..policy.units())
                        .filter(|i| good(block.internal(*i)))
                        .count()
                        >= policy.data
                }
                None => good(block),
            };
            if readable {
                reported += 1;
            }
        }
        (reported, total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_proto::journal::{self, Entry, entry::Op};
    use strata_proto::rpc::{StorageReport, WorkerAddress};

    #[test]
    fn a_late_report_of_an_older_generation_does_not_undo_a_newer_one() {
        let mut ns = Namespace::new();
        let create = Op::CreateFile(journal::CreateFile {
            path: "/f".into(),
            replication: 3,
            block_size: 4096,
            client_name: "c".into(),
            ..Default::default()
        });
        ns.apply(&Entry {
            txid: 1,
            op: Some(create),
        })
        .unwrap();
        let add = Op::AddBlock(journal::AddBlock {
            inode_id: 2,
            client_name: "c".into(),
            previous: None,
        });
        let Ok(crate::namespace::Outcome::BlockAdded { block, .. }) = ns.apply(&Entry {
            txid: 2,
            op: Some(add),
        }) else {
            panic!("no block")
        };
        let bump = Op::BumpGeneration(journal::BumpGeneration {
            inode_id: 2,
            client_name: "c".into(),
            block_id: block.id.0,
        });
        ns.apply(&Entry {
            txid: 3,
            op: Some(bump),
        })
        .unwrap();
        let mut cluster = Cluster::new("t".into());
        let (worker, _) = cluster.workers.register(
            WorkerAddress {
                id: "w".into(),
                ..Default::default()
            },
            StorageReport::default(),
            Instant::now(),
        );
        let report = |generation| ReportedBlock {
            id: block.id.0,
            generation,
            length: 10,
            ..Default::default()
        };
        assert_eq!(
            cluster.record_replica(&ns, worker, &report(block.generation + 1)),
            Verdict::Accept
        );
        assert_eq!(
            cluster.record_replica(&ns, worker, &report(block.generation)),
            Verdict::Outdated
        );
        let replica = cluster.blocks.replicas(block.id)[0];
        assert_eq!(replica.generation, block.generation + 1);
        assert!(!replica.corrupt);
    }
}
