//! The replication monitor: finds blocks with too few, too many or damaged replicas (and block
//! groups with lost internal blocks) and schedules copies, reconstructions and deletions,
//! least redundant first, throttled per worker.

use super::health::classify;
use super::map::Replica;
use super::queue::PendingTransfer;
use super::striped::examine_group;
use crate::cluster::Cluster;
use crate::namespace::Namespace;
use crate::placement::{Placed, choose_spread, choose_targets};
use crate::workers::{AdminState, WorkerIdx, WorkerRegistry};
use rand::Rng;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use strata_core::{BlockId, ExtendedBlock};
use strata_ec::EcPolicy;
use strata_proto::rpc::{ReconstructCommand, TransferCommand, WorkerCommand, worker_command};

pub use super::queue::{RepairCounts, RepairKind, ReplicationQueue};

/// Most blocks examined in one pass (the rest wait for the next).
const MAX_BLOCKS_PER_PASS: usize = 20_000;
/// How often every block of the namespace is looked at, as a safety net.
const FULL_SCAN_INTERVAL: Duration = Duration::from_secs(60);

/// Settings of one monitor pass.
#[derive(Debug, Clone, Copy)]
pub struct PassSettings {
    /// Copies one worker may be sending (or reconstructions running) at once.
    pub max_streams: u32,
    /// How long a scheduled copy may take before it is scheduled again.
    pub pending_timeout: Duration,
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassReport {
    /// Copies scheduled.
    pub transfers: usize,
    /// Reconstructions scheduled.
    pub reconstructions: usize,
    /// Replica deletions scheduled.
    pub deletions: usize,
    /// Workers whose decommission finished.
    pub decommissioned: usize,
}

/// Copy a block (or one internal block) from a good replica to `missing` more workers.
#[derive(Debug)]
pub(super) struct CopyWork {
    pub(super) block: ExtendedBlock,
    /// Holders to copy from, in order of preference.
    pub(super) sources: Vec<WorkerIdx>,
    /// Good replicas already placed (the rack rule continues from them).
    pub(super) placed: Vec<Placed>,
    /// Workers that must not get the copy.
    pub(super) excluded: Vec<WorkerIdx>,
    pub(super) missing: usize,
    /// Spread over racks like a block group's internal blocks instead of the replica rule.
    pub(super) spread: bool,
}

/// Rebuild lost internal blocks of a block group from others.
#[derive(Debug)]
pub(super) struct ReconstructWork {
    pub(super) group: ExtendedBlock,
    pub(super) policy: EcPolicy,
    /// `data` good internal blocks: (index, holder).
    pub(super) sources: Vec<(usize, WorkerIdx)>,
    pub(super) missing: Vec<usize>,
    /// Workers holding any internal block of the group.
    pub(super) excluded: Vec<WorkerIdx>,
}

/// What a block needs, with how many more losses it can survive (smallest first).
#[derive(Debug)]
pub(super) enum Work {
    Copy(CopyWork, usize),
    Reconstruct(ReconstructWork, usize),
}

impl Work {
    fn margin(&self) -> usize {
        match self {
            Work::Copy(_, m) | Work::Reconstruct(_, m) => *m,
        }
    }
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
    for block in &batch {
        cluster.replication.needs_check.remove(block);
    }
    // Internal blocks stand for their group, examined once.
    let blocks: BTreeSet<BlockId> = batch.into_iter().map(BlockId::group).collect();
    let mut work = Vec::new();
    for block in blocks {
        if block.is_striped() {
            examine_group(ns, cluster, block, &mut report, &mut work);
        } else if let Some(w) = examine(ns, cluster, block, &mut report) {
            work.push(w);
        }
    }
    work.sort_by_key(Work::margin);
    schedule(cluster, work, settings, now, rng, &mut report);
    report.decommissioned = finish_decommissions(ns, cluster);
    cluster.replication.copies.scheduled += report.transfers as u64;
    cluster.replication.reconstructions.scheduled += report.reconstructions as u64;
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
        tracing::warn!(%block, "copy or reconstruction timed out; scheduling it again");
    }
    let replication = &mut cluster.replication;
    replication.cancel(&mut cluster.workers, |p| p.deadline <= now);
}

/// Decides what a replicated block needs: deletions happen at once, copies are returned.
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
        file.persisted.is_some(),
        &cluster.blocks,
        &cluster.workers,
    );
    let extended = record.extended();
    if status.readable() > 0 || file.persisted.is_some() {
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
            tracing::info!(%block, worker = worker.0, "deleting an excess replica");
            cluster.blocks.remove(block, worker);
            cluster.enqueue_delete(worker, extended);
            report.deletions += 1;
        }
    }
    let missing = expected.saturating_sub(status.live.len() + in_flight);
    // Cached copies of bytes in under storage are made by reads, not by the monitor.
    if missing == 0 || status.readable() == 0 || file.persisted.is_some() {
        return None;
    }
    let good = || status.decommissioning.iter().chain(status.live.iter());
    let placed = good()
        .filter_map(|r| {
            Some(Placed {
                idx: r.worker,
                rack: cluster.workers.get(r.worker)?.address.rack.clone(),
            })
        })
        .collect();
    let excluded = cluster
        .blocks
        .replicas(block)
        .iter()
        .map(|r| r.worker)
        .chain(cluster.replication.pending_targets(block))
        .collect();
    Some(Work::Copy(
        CopyWork {
            block: extended,
            sources: good().map(|r| r.worker).collect(),
            placed,
            excluded,
            missing,
            spread: false,
        },
        status.readable().saturating_sub(1),
    ))
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

/// A source among `holders` that may start another stream, the least busy (decommissioning
/// workers first, they have nothing else to do).
fn pick_source(
    cluster: &Cluster,
    holders: &[WorkerIdx],
    settings: PassSettings,
) -> Option<WorkerIdx> {
    holders
        .iter()
        .filter_map(|w| cluster.workers.get(*w))
        .filter(|e| e.alive && e.transfers_in_flight < settings.max_streams)
        .min_by_key(|e| (e.transfers_in_flight, e.admin == AdminState::Normal))
        .map(|e| e.idx)
}

fn schedule(
    cluster: &mut Cluster,
    work: Vec<Work>,
    settings: PassSettings,
    now: Instant,
    rng: &mut impl Rng,
    report: &mut PassReport,
) {
    let mut candidates = cluster.placement_candidates();
    let deadline = now + settings.pending_timeout;
    for item in work {
        match item {
            Work::Copy(w, _) => {
                let Some(source) = pick_source(cluster, &w.sources, settings) else {
                    cluster.replication.needs_check.insert(w.block.id);
                    continue;
                };
                let targets = if w.spread {
                    choose_spread(
                        &candidates,
                        w.missing,
                        &w.excluded,
                        &w.excluded,
                        w.block.length,
                        rng,
                    )
                } else {
                    choose_targets(
                        &candidates,
                        w.missing,
                        None,
                        &w.placed,
                        &w.excluded,
                        w.block.length,
                        rng,
                    )
                };
                if targets.is_empty() {
                    cluster.replication.needs_check.insert(w.block.id);
                    continue;
                }
                let addresses = addresses(cluster, &targets);
                for c in candidates.iter_mut().filter(|c| targets.contains(&c.idx)) {
                    c.load += 1;
                }
                tracing::info!(block = %w.block.id, source = source.0, targets = ?targets, "scheduling a copy");
                push_command(
                    cluster,
                    source,
                    worker_command::Command::Transfer(TransferCommand {
                        block: Some(w.block.into()),
                        targets: addresses,
                    }),
                );
                cluster
                    .replication
                    .pending
                    .entry(w.block.id)
                    .or_default()
                    .push(PendingTransfer {
                        source,
                        targets,
                        deadline,
                        kind: RepairKind::Copy,
                    });
                report.transfers += 1;
            }
            Work::Reconstruct(w, _) => {
                let geometry = strata_ec::StripeGeometry::new(&w.policy);
                let length = geometry.internal_length(w.group.length, 0);
                let targets = choose_spread(
                    &candidates,
                    w.missing.len(),
                    &w.excluded,
                    &w.excluded,
                    length,
                    rng,
                );
                let Some(&executor) = targets.first() else {
                    cluster.replication.needs_check.insert(w.group.id);
                    continue;
                };
                if cluster
                    .workers
                    .get(executor)
                    .is_none_or(|e| e.transfers_in_flight >= settings.max_streams)
                {
                    cluster.replication.needs_check.insert(w.group.id);
                    continue;
                }
                let rebuilt = &w.missing[..targets.len()];
                for c in candidates.iter_mut().filter(|c| targets.contains(&c.idx)) {
                    c.load += 1;
                }
                tracing::info!(group = %w.group.id, policy = %w.policy, missing = ?rebuilt,
                    executor = executor.0, "scheduling a reconstruction");
                let sources: Vec<WorkerIdx> = w.sources.iter().map(|(_, s)| *s).collect();
                push_command(
                    cluster,
                    executor,
                    worker_command::Command::Reconstruct(ReconstructCommand {
                        group: Some(w.group.into()),
                        policy: w.policy.name(),
                        source_indices: w.sources.iter().map(|(i, _)| *i as u32).collect(),
                        sources: addresses(cluster, &sources),
                        target_indices: rebuilt.iter().map(|i| *i as u32).collect(),
                        targets: addresses(cluster, &targets),
                    }),
                );
                for (index, target) in rebuilt.iter().zip(&targets) {
                    if let Some(e) = cluster.workers.get_mut(executor) {
                        e.transfers_in_flight += 1;
                    }
                    cluster
                        .replication
                        .pending
                        .entry(w.group.id.internal(*index))
                        .or_default()
                        .push(PendingTransfer {
                            source: executor,
                            targets: vec![*target],
                            deadline,
                            kind: RepairKind::Reconstruction,
                        });
                }
                report.reconstructions += 1;
            }
        }
    }
}

fn addresses(cluster: &Cluster, workers: &[WorkerIdx]) -> Vec<strata_proto::rpc::WorkerAddress> {
    workers
        .iter()
        .filter_map(|w| cluster.workers.get(*w).map(|e| e.address.clone()))
        .collect()
}

fn push_command(cluster: &mut Cluster, worker: WorkerIdx, command: worker_command::Command) {
    if let Some(entry) = cluster.workers.get_mut(worker) {
        if matches!(command, worker_command::Command::Transfer(_)) {
            entry.transfers_in_flight += 1;
        }
        entry.commands.push_back(WorkerCommand {
            command: Some(command),
        });
    }
}

/// Marks decommissioning workers whose every block (and internal block) is fully held
/// elsewhere as done.
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
        let drained = cluster
            .blocks
            .blocks_on(idx)
            .all(|block| elsewhere(ns, cluster, block, in_service));
        if drained && let Some(entry) = cluster.workers.get_mut(idx) {
            entry.admin = AdminState::Decommissioned;
            tracing::info!(worker = %entry.address.id, "decommission finished");
            done += 1;
        }
    }
    done
}

/// Whether `block` is held well enough without the decommissioning workers.
fn elsewhere(ns: &Namespace, cluster: &Cluster, block: BlockId, in_service: usize) -> bool {
    let Some((_, file, record)) = ns.block_record(block) else {
        return true;
    };
    if !record.complete {
        return false;
    }
    if let Some(policy) = ns.file_policy(file) {
        let status = super::classify_group(&record, &policy, &cluster.blocks, &cluster.workers);
        return status
            .units
            .get(block.unit())
            .is_some_and(|u| !u.live.is_empty());
    }
    if file.persisted.is_some() {
        return true;
    }
    // A cluster smaller than the replication target holds one replica per worker.
    let wanted = (file.replication as usize).min(in_service);
    classify(
        block,
        &record,
        file.replication,
        false,
        &cluster.blocks,
        &cluster.workers,
    )
    .live
    .len()
        >= wanted
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
                    ..Default::default()
                },
                StorageReport {
                    capacity: 1 << 30,
                    used: 0,
                    remaining: 1 << 30,
                    tiers: Vec::new(),
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
            medium: None,
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
