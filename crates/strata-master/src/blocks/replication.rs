//! The replication monitor: finds blocks with too few, too many or damaged replicas and
//! schedules copies and deletions, fewest live replicas first, throttled per source worker.

use super::health::{BlockStatus, classify};
use super::map::Replica;
use crate::cluster::Cluster;
use crate::namespace::Namespace;
use crate::placement::{Placed, choose_targets};
use crate::workers::{AdminState, WorkerIdx, WorkerRegistry};
use rand::Rng;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
use strata_core::{BlockId, ExtendedBlock};
use strata_proto::rpc::{TransferCommand, WorkerCommand, worker_command};

/// Most blocks examined in one pass (the rest wait for the next).
const MAX_BLOCKS_PER_PASS: usize = 20_000;
/// How often every block of the namespace is looked at, as a safety net.
const FULL_SCAN_INTERVAL: Duration = Duration::from_secs(60);

/// A copy scheduled but not yet confirmed by the targets' reports.
#[derive(Debug, Clone)]
struct PendingTransfer {
    source: WorkerIdx,
    targets: Vec<WorkerIdx>,
    deadline: Instant,
}

/// Blocks waiting to be examined and copies in flight.
#[derive(Debug, Default)]
pub struct ReplicationQueue {
    needs_check: HashSet<BlockId>,
    pending: HashMap<BlockId, Vec<PendingTransfer>>,
    /// Damaged replicas whose deletion was ordered and not yet confirmed; their workers stay
    /// out of placement for the block until then.
    invalidating: HashSet<(BlockId, WorkerIdx)>,
    last_full_scan: Option<Instant>,
    /// Copies scheduled since start.
    pub scheduled_transfers: u64,
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

    /// Copies in flight.
    pub fn pending_transfers(&self) -> usize {
        self.pending.values().map(Vec::len).sum()
    }

    /// Workers a copy of `block` is on its way to.
    fn pending_targets(&self, block: BlockId) -> impl Iterator<Item = WorkerIdx> + '_ {
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
        for pending in list.iter_mut() {
            pending.targets.retain(|t| *t != worker);
            if pending.targets.is_empty() {
                release(workers, pending.source);
            }
        }
        list.retain(|p| !p.targets.is_empty());
        if list.is_empty() {
            self.pending.remove(&block);
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
    fn cancel(&mut self, workers: &mut WorkerRegistry, doomed: impl Fn(&PendingTransfer) -> bool) {
        let mut affected = Vec::new();
        for (block, list) in self.pending.iter_mut() {
            list.retain(|p| {
                if doomed(p) {
                    release(workers, p.source);
                    affected.push(*block);
                    false
                } else {
                    true
                }
            });
        }
        self.pending.retain(|_, list| !list.is_empty());
        self.needs_check.extend(affected);
    }
}

fn release(workers: &mut WorkerRegistry, source: WorkerIdx) {
    if let Some(w) = workers.get_mut(source) {
        w.transfers_in_flight = w.transfers_in_flight.saturating_sub(1);
    }
}

/// Settings of one monitor pass.
#[derive(Debug, Clone, Copy)]
pub struct PassSettings {
    /// Copies one worker may be sending at once.
    pub max_streams: u32,
    /// How long a scheduled copy may take before it is scheduled again.
    pub pending_timeout: Duration,
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassReport {
    /// Copies scheduled.
    pub transfers: usize,
    /// Replica deletions scheduled.
    pub deletions: usize,
    /// Workers whose decommission finished.
    pub decommissioned: usize,
}

struct Work {
    block: BlockId,
    extended: ExtendedBlock,
    status: BlockStatus,
    missing: usize,
}

/// One pass of the monitor over the blocks queued for examination.
pub fn run_pass(
    ns: &Namespace,
    cluster: &mut Cluster,
    settings: PassSettings,
    now: Instant,
    rng: &mut impl Rng,
) -> PassReport {
    let mut report = PassReport::default();
    expire_pending(cluster, now);
    let scan_due = cluster
        .replication
        .last_full_scan
        .is_none_or(|t| now.duration_since(t) >= FULL_SCAN_INTERVAL);
    if scan_due {
        cluster.replication.last_full_scan = Some(now);
        cluster
            .replication
            .needs_check
            .extend(ns.blocks().map(|(b, _)| b));
    }
    let batch: Vec<BlockId> = cluster
        .replication
        .needs_check
        .iter()
        .take(MAX_BLOCKS_PER_PASS)
        .copied()
        .collect();
    let mut work = Vec::new();
    for block in batch {
        cluster.replication.needs_check.remove(&block);
        if let Some(w) = examine(ns, cluster, block, &mut report) {
            work.push(w);
        }
    }
    work.sort_by_key(|w| w.status.live.len());
    schedule_copies(cluster, work, settings, now, rng, &mut report);
    report.decommissioned = finish_decommissions(ns, cluster);
    cluster.replication.scheduled_transfers += report.transfers as u64;
    cluster.replication.scheduled_deletions += report.deletions as u64;
    report
}

fn expire_pending(cluster: &mut Cluster, now: Instant) {
    let expired: Vec<BlockId> = cluster
        .replication
        .pending
        .iter()
        .filter(|(_, list)| list.iter().any(|p| p.deadline <= now))
        .map(|(b, _)| *b)
        .collect();
    for block in &expired {
        tracing::warn!(%block, "re-replication timed out; scheduling it again");
    }
    let replication = &mut cluster.replication;
    replication.cancel(&mut cluster.workers, |p| p.deadline <= now);
}

/// Decides what a block needs: deletions happen at once, copies are returned as work.
fn examine(
    ns: &Namespace,
    cluster: &mut Cluster,
    block: BlockId,
    report: &mut PassReport,
) -> Option<Work> {
    let Some((_, file, record)) = ns.block_record(block) else {
        for replica in cluster.blocks.remove_block(block) {
            cluster.enqueue_delete(
                replica.worker,
                ExtendedBlock {
                    id: block,
                    generation: replica.generation,
                    length: replica.length,
                },
            );
            report.deletions += 1;
        }
        return None;
    };
    if !record.complete {
        return None;
    }
    let status = classify(
        block,
        &record,
        file.replication,
        &cluster.blocks,
        &cluster.workers,
    );
    let extended = record.extended();
    if status.readable() > 0 {
        for bad in &status.corrupt {
            if !cluster.replication.invalidating.insert((block, bad.worker)) {
                continue;
            }
            tracing::info!(%block, worker = bad.worker.0, "deleting a corrupt replica");
            cluster.enqueue_delete(
                bad.worker,
                ExtendedBlock {
                    generation: bad.generation,
                    ..extended
                },
            );
            report.deletions += 1;
        }
    }
    let expected = status.expected as usize;
    let in_flight = cluster.replication.pending_targets(block).count();
    if status.live.len() > expected && in_flight == 0 {
        for worker in choose_excess(&status.live, expected, &cluster.workers) {
            tracing::debug!(%block, worker = worker.0, "deleting an excess replica");
            cluster.blocks.remove(block, worker);
            cluster.enqueue_delete(worker, extended);
            report.deletions += 1;
        }
    }
    let missing = expected.saturating_sub(status.live.len() + in_flight);
    if missing > 0 && status.readable() > 0 {
        return Some(Work {
            block,
            extended,
            status,
            missing,
        });
    }
    None
}

/// Which live replicas to delete so that `keep` remain: first from racks holding more than
/// one replica (so rack spread is kept), among those the worker with the least free space.
fn choose_excess(live: &[Replica], keep: usize, workers: &WorkerRegistry) -> Vec<WorkerIdx> {
    let mut remaining: Vec<(WorkerIdx, String, u64)> = live
        .iter()
        .filter_map(|r| {
            let w = workers.get(r.worker)?;
            Some((r.worker, w.address.rack.clone(), w.storage.remaining))
        })
        .collect();
    let mut out = Vec::new();
    while remaining.len() > keep {
        let crowded: Vec<usize> = (0..remaining.len())
            .filter(|&i| {
                remaining
                    .iter()
                    .filter(|(_, rack, _)| *rack == remaining[i].1)
                    .count()
                    > 1
            })
            .collect();
        let pool: Vec<usize> = if crowded.is_empty() {
            (0..remaining.len()).collect()
        } else {
            crowded
        };
        let Some(&victim) = pool.iter().min_by_key(|&&i| remaining[i].2) else {
            break;
        };
        out.push(remaining.remove(victim).0);
    }
    out
}

fn schedule_copies(
    cluster: &mut Cluster,
    work: Vec<Work>,
    settings: PassSettings,
    now: Instant,
    rng: &mut impl Rng,
    report: &mut PassReport,
) {
    let mut candidates = cluster.placement_candidates();
    for w in work {
        let source = w
            .status
            .decommissioning
            .iter()
            .chain(w.status.live.iter())
            .filter_map(|r| cluster.workers.get(r.worker))
            .filter(|e| e.transfers_in_flight < settings.max_streams)
            .min_by_key(|e| (e.transfers_in_flight, e.admin == AdminState::Normal))
            .map(|e| e.idx);
        let Some(source) = source else {
            cluster.replication.needs_check.insert(w.block);
            continue;
        };
        let existing: Vec<Placed> = w
            .status
            .live
            .iter()
            .chain(w.status.decommissioning.iter())
            .filter_map(|r| {
                Some(Placed {
                    idx: r.worker,
                    rack: cluster.workers.get(r.worker)?.address.rack.clone(),
                })
            })
            .collect();
        let excluded: Vec<WorkerIdx> = cluster
            .blocks
            .replicas(w.block)
            .iter()
            .map(|r| r.worker)
            .chain(cluster.replication.pending_targets(w.block))
            .collect();
        let targets = choose_targets(
            &candidates,
            w.missing,
            None,
            &existing,
            &excluded,
            w.extended.length,
            rng,
        );
        if targets.is_empty() {
            cluster.replication.needs_check.insert(w.block);
            continue;
        }
        let addresses = targets
            .iter()
            .filter_map(|t| cluster.workers.get(*t).map(|e| e.address.clone()))
            .collect();
        for c in candidates.iter_mut().filter(|c| targets.contains(&c.idx)) {
            c.load += 1;
        }
        tracing::info!(block = %w.block, source = source.0, targets = ?targets,
            live = w.status.live.len(), "scheduling re-replication");
        if let Some(entry) = cluster.workers.get_mut(source) {
            entry.transfers_in_flight += 1;
            entry.commands.push_back(WorkerCommand {
                command: Some(worker_command::Command::Transfer(TransferCommand {
                    block: Some(w.extended.into()),
                    targets: addresses,
                })),
            });
        }
        cluster
            .replication
            .pending
            .entry(w.block)
            .or_default()
            .push(PendingTransfer {
                source,
                targets,
                deadline: now + settings.pending_timeout,
            });
        report.transfers += 1;
    }
}

/// Marks decommissioning workers whose every block is fully replicated elsewhere as done.
fn finish_decommissions(ns: &Namespace, cluster: &mut Cluster) -> usize {
    let draining: Vec<WorkerIdx> = cluster
        .workers
        .iter()
        .filter(|w| w.admin == AdminState::Decommissioning)
        .map(|w| w.idx)
        .collect();
    let in_service = cluster
        .workers
        .iter()
        .filter(|w| w.accepts_new_blocks())
        .count();
    if in_service == 0 {
        return 0;
    }
    let mut done = 0;
    for idx in draining {
        let drained = cluster.blocks.blocks_on(idx).all(|block| {
            let Some((_, file, record)) = ns.block_record(block) else {
                return true;
            };
            // A cluster smaller than the replication target holds one replica per worker.
            let wanted = (file.replication as usize).min(in_service);
            record.complete
                && classify(
                    block,
                    &record,
                    file.replication,
                    &cluster.blocks,
                    &cluster.workers,
                )
                .live
                .len()
                    >= wanted
        });
        if drained && let Some(entry) = cluster.workers.get_mut(idx) {
            entry.admin = AdminState::Decommissioned;
            tracing::info!(worker = %entry.address.id, "decommission finished");
            done += 1;
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::{Replica, ReplicaState};
    use rand::SeedableRng;
    use strata_proto::journal::{self, Entry, entry::Op};
    use strata_proto::rpc::{StorageReport, WorkerAddress};

    /// Adds a finished single-block file of replication 3 (inode `inode`, journal entries from
    /// `txid` on) and returns its block.
    fn add_file(ns: &mut Namespace, path: &str, inode: u64, txid: u64) -> ExtendedBlock {
        let create = Op::CreateFile(journal::CreateFile {
            path: path.into(),
            replication: 3,
            block_size: 1 << 20,
            client_name: "c".into(),
            ..Default::default()
        });
        ns.apply(&Entry {
            txid,
            op: Some(create),
        })
        .unwrap();
        let add = Op::AddBlock(journal::AddBlock {
            inode_id: inode,
            client_name: "c".into(),
            previous: None,
        });
        let Ok(crate::namespace::Outcome::BlockAdded { block, .. }) = ns.apply(&Entry {
            txid: txid + 1,
            op: Some(add),
        }) else {
            panic!("no block added");
        };
        let block = ExtendedBlock {
            length: 100,
            ..block
        };
        let complete = Op::CompleteFile(journal::CompleteFile {
            inode_id: inode,
            client_name: "c".into(),
            last: Some(journal::BlockRecord {
                id: block.id.0,
                generation: block.generation,
                length: 100,
                complete: true,
            }),
            time: 1,
        });
        ns.apply(&Entry {
            txid: txid + 2,
            op: Some(complete),
        })
        .unwrap();
        block
    }

    /// A namespace with one finished single-block file of replication 3, and its block.
    fn one_block_file() -> (Namespace, ExtendedBlock) {
        let mut ns = Namespace::new();
        let block = add_file(&mut ns, "/f", 2, 1);
        (ns, block)
    }

    fn cluster_of(workers: usize) -> Cluster {
        let mut cluster = Cluster::new("test".into());
        cluster.safe_mode.leave();
        for i in 0..workers {
            cluster.workers.register(
                WorkerAddress {
                    id: format!("w{i}"),
                    data_address: format!("127.0.0.1:{}", 1000 + i),
                    host: "127.0.0.1".into(),
                    rack: format!("/r{}", i % 2),
                },
                StorageReport {
                    capacity: 1 << 30,
                    used: 0,
                    remaining: 1 << 30,
                },
                Instant::now(),
            );
        }
        cluster
    }

    fn replica(worker: u32, block: ExtendedBlock) -> Replica {
        Replica {
            worker: WorkerIdx(worker),
            generation: block.generation,
            length: block.length,
            state: ReplicaState::Finalized,
            corrupt: false,
        }
    }

    fn transfer_targets(cluster: &Cluster) -> Vec<Vec<String>> {
        cluster
            .workers
            .iter()
            .flat_map(|w| w.commands.iter())
            .filter_map(|c| match &c.command {
                Some(worker_command::Command::Transfer(t)) => {
                    Some(t.targets.iter().map(|a| a.id.clone()).collect())
                }
                _ => None,
            })
            .collect()
    }

    const SETTINGS: PassSettings = PassSettings {
        max_streams: 2,
        pending_timeout: Duration::from_secs(60),
    };

    #[test]
    fn a_copy_in_flight_is_neither_repeated_nor_targeted_twice() {
        let (ns, block) = one_block_file();
        let mut cluster = cluster_of(3);
        cluster.blocks.add(block.id, replica(0, block));
        cluster.blocks.add(block.id, replica(1, block));
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let now = Instant::now();
        cluster.replication.mark(block.id);
        let first = run_pass(&ns, &mut cluster, SETTINGS, now, &mut rng);
        assert_eq!(first.transfers, 1);
        assert_eq!(transfer_targets(&cluster), vec![vec!["w2".to_string()]]);
        // One of the two sources turns out to be damaged while the copy is in flight.
        cluster.blocks.mark_corrupt(block.id, WorkerIdx(1));
        cluster.replication.mark(block.id);
        let second = run_pass(&ns, &mut cluster, SETTINGS, now, &mut rng);
        assert_eq!(second.transfers, 0, "w2 already has a copy on its way");
        assert_eq!(cluster.replication.pending_transfers(), 1);
    }

    #[test]
    fn one_copy_pipeline_fills_every_missing_replica_and_frees_its_source() {
        let in_flight = |c: &Cluster| c.workers.get(WorkerIdx(0)).unwrap().transfers_in_flight;
        let (ns, block) = one_block_file();
        let mut cluster = cluster_of(4);
        cluster.blocks.add(block.id, replica(0, block));
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        cluster.replication.mark(block.id);
        let report = run_pass(&ns, &mut cluster, SETTINGS, Instant::now(), &mut rng);
        assert_eq!(report.transfers, 1);
        let targets = transfer_targets(&cluster);
        assert_eq!(
            targets[0].len(),
            2,
            "both missing replicas in one copy pipeline"
        );
        assert!(!targets[0].contains(&"w0".to_string()));
        assert_eq!(in_flight(&cluster), 1);
        let target = |i: usize| cluster.workers.by_id(&targets[0][i]).unwrap();
        let (first, second) = (target(0), target(1));
        cluster
            .replication
            .replica_arrived(block.id, first, &mut cluster.workers);
        assert_eq!(in_flight(&cluster), 1);
        cluster
            .replication
            .replica_arrived(block.id, second, &mut cluster.workers);
        assert_eq!(in_flight(&cluster), 0);
        assert_eq!(cluster.replication.pending_transfers(), 0);
    }

    #[test]
    fn the_block_with_fewest_live_replicas_gets_the_scarce_source_first() {
        let (mut ns, block_b) = one_block_file();
        // A second file whose only replica shares its source with the first file's block.
        let block_a = add_file(&mut ns, "/g", 3, 10);
        let settings = PassSettings {
            max_streams: 1,
            ..SETTINGS
        };
        for seed in 0..20 {
            let mut cluster = cluster_of(5);
            cluster.blocks.add(block_a.id, replica(0, block_a));
            cluster.blocks.add(block_b.id, replica(0, block_b));
            cluster.blocks.add(block_b.id, replica(1, block_b));
            cluster.replication.mark(block_b.id);
            cluster.replication.mark(block_a.id);
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let report = run_pass(&ns, &mut cluster, settings, Instant::now(), &mut rng);
            assert_eq!(
                report.transfers, 2,
                "each block gets a copy from its own source"
            );
            let a_from_w0 = cluster
                .workers
                .get(WorkerIdx(0))
                .unwrap()
                .commands
                .iter()
                .any(|cmd| {
                    matches!(&cmd.command, Some(worker_command::Command::Transfer(t))
                    if t.block.as_ref().is_some_and(|b| b.id == block_a.id.0))
                });
            assert!(
                a_from_w0,
                "the one-replica block is copied from its only holder"
            );
        }
    }

    #[test]
    fn extra_replicas_are_trimmed_keeping_both_racks() {
        let (ns, block) = one_block_file();
        let mut cluster = cluster_of(4);
        for w in 0..4 {
            cluster.blocks.add(block.id, replica(w, block));
        }
        cluster.replication.mark(block.id);
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let report = run_pass(&ns, &mut cluster, SETTINGS, Instant::now(), &mut rng);
        assert_eq!(report.deletions, 1);
        let racks: std::collections::HashSet<String> = cluster
            .blocks
            .replicas(block.id)
            .iter()
            .map(|r| cluster.workers.get(r.worker).unwrap().address.rack.clone())
            .collect();
        assert_eq!(cluster.blocks.replicas(block.id).len(), 3);
        assert_eq!(racks.len(), 2);
    }
}
