//! What a block group needs: damaged or duplicate internal blocks are deleted at once; internal
//! blocks held only by decommissioning workers are copied away; lost ones are rebuilt from the
//! survivors (reconstruction) while at least the data-unit count of them is left.

use super::health::classify_group;
use super::replication::{CopyWork, PassReport, ReconstructWork, Work};
use crate::cluster::Cluster;
use crate::namespace::Namespace;
use crate::workers::WorkerIdx;
use strata_core::{BlockId, ExtendedBlock};
use strata_ec::StripeGeometry;

/// Examines block group `group`, deleting what must go and adding work for what is missing.
pub(super) fn examine_group(
    ns: &Namespace,
    cluster: &mut Cluster,
    group: BlockId,
    report: &mut PassReport,
    work: &mut Vec<Work>,
) {
    let found = ns
        .block_record(group)
        .and_then(|(_, file, record)| Some((record, ns.file_policy(file)?)));
    let Some((record, policy)) = found else {
        // The group's file is gone: every internal block goes.
        for index in 0..BlockId::GROUP_STRIDE as usize {
            let unit = group.internal(index);
            for replica in cluster.blocks.remove_block(unit) {
                cluster.enqueue_delete(
                    replica.worker,
                    ExtendedBlock {
                        id: unit,
                        generation: replica.generation,
                        length: replica.length,
                    },
                );
                report.deletions += 1;
            }
        }
        return;
    };
    if !record.complete {
        return;
    }
    let geometry = StripeGeometry::new(&policy);
    let unit_block = |index: usize| ExtendedBlock {
        id: group.internal(index),
        generation: record.generation,
        length: geometry.internal_length(record.length, index),
    };
    let status = classify_group(&record, &policy, &cluster.blocks, &cluster.workers);
    let recoverable = status.readable_units() >= policy.data;
    for (index, unit) in status.units.iter().enumerate() {
        let id = group.internal(index);
        // A damaged internal block goes once the group can be decoded without it.
        if recoverable {
            for bad in &unit.corrupt {
                if cluster.replication.invalidating.insert((id, bad.worker)) {
                    tracing::info!(block = %id, worker = bad.worker.0, "deleting a damaged internal block");
                    cluster.enqueue_delete(
                        bad.worker,
                        ExtendedBlock {
                            generation: bad.generation,
                            ..unit_block(index)
                        },
                    );
                    report.deletions += 1;
                }
            }
        }
        let in_flight = cluster.replication.pending_targets(id).count();
        if unit.live.len() > 1 && in_flight == 0 {
            for extra in &unit.live[1..] {
                cluster.blocks.remove(id, extra.worker);
                cluster.enqueue_delete(extra.worker, unit_block(index));
                report.deletions += 1;
            }
        }
    }
    let holders: Vec<WorkerIdx> = (0..policy.units())
        .flat_map(|i| {
            let id = group.internal(i);
            cluster
                .blocks
                .replicas(id)
                .iter()
                .map(|r| r.worker)
                .chain(cluster.replication.pending_targets(id))
                .collect::<Vec<_>>()
        })
        .collect();
    let margin = status.readable_units().saturating_sub(policy.data);
    for (index, unit) in status.units.iter().enumerate() {
        let id = group.internal(index);
        if unit.live.is_empty()
            && !unit.decommissioning.is_empty()
            && cluster.replication.pending_targets(id).count() == 0
        {
            work.push(Work::Copy(
                CopyWork {
                    block: unit_block(index),
                    sources: unit.decommissioning.iter().map(|r| r.worker).collect(),
                    placed: Vec::new(),
                    excluded: holders.clone(),
                    missing: 1,
                    spread: true,
                },
                margin,
            ));
        }
    }
    let missing: Vec<usize> = status
        .missing
        .iter()
        .copied()
        .filter(|i| {
            cluster
                .replication
                .pending_targets(group.internal(*i))
                .count()
                == 0
        })
        .collect();
    if missing.is_empty() || !recoverable {
        return;
    }
    let sources = status
        .units
        .iter()
        .enumerate()
        .filter_map(|(i, u)| u.best().map(|r| (i, r.worker)))
        .take(policy.data)
        .collect();
    work.push(Work::Reconstruct(
        ReconstructWork {
            group: record.extended(),
            policy,
            sources,
            missing,
            excluded: holders,
        },
        margin,
    ));
}
