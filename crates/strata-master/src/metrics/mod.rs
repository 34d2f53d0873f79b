//! The master's Prometheus metrics: gRPC requests and latency (counted by a layer around the
//! server), the journal's fsync latency and batch size, and figures read off the live state at
//! each scrape (namespace size, blocks by health, workers by state and their heartbeats,
//! capacity and use per tier, the replication queue and its throughput, audit entries dropped).

mod rpc;

pub use rpc::{RpcMetrics, RpcMetricsLayer};

use crate::blocks::replication::{RepairCounts, RepairKind};
use crate::service::{MasterState, cluster_report};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::registry::Registry;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use strata_core::metrics::{Labels, MetricsRegistry, Samples};
use strata_proto::rpc::{ReportResponse, WorkerState};

/// Every metric of a master: the registry to render and the RPC counters the server's layer
/// feeds.
pub fn master_metrics(state: &Arc<MasterState>) -> (MetricsRegistry, RpcMetrics) {
    let mut registry = Registry::default();
    let rpc = RpcMetrics::new(&mut registry);
    let journal = state.journal.stats();
    registry.register(
        "strata_master_journal_fsync_seconds",
        "Time each group commit took to append and fsync the journal",
        journal.sync_seconds.clone(),
    );
    registry.register(
        "strata_master_journal_batch_entries",
        "Journal entries made durable by each fsync (group commit batch size)",
        journal.batch_entries.clone(),
    );
    registry.register_collector(Box::new(StateCollector {
        state: state.clone(),
    }));
    (MetricsRegistry::new(registry), rpc)
}

/// Reads the figures of the live state at each scrape.
#[derive(Debug)]
struct StateCollector {
    state: Arc<MasterState>,
}

impl Collector for StateCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let mut out = Samples::new(&mut encoder);
        let report = cluster_report(&self.state);
        namespace_and_blocks(&mut out, &report)?;
        workers(&mut out, &report)?;
        self.replication(&mut out)?;
        let stats = self.state.journal.stats();
        out.counter(
            "strata_master_journal_entries",
            "Journal entries made durable",
            stats.entries.load(Ordering::Relaxed),
        )?;
        out.gauge(
            "strata_master_journal_last_txid",
            "The id of the last applied journal entry",
            self.state.namespace.read().last_txid() as f64,
        )?;
        out.counter(
            "strata_master_audit_dropped",
            "Audit log entries dropped because its writer could not keep up",
            self.state.audit.dropped(),
        )
    }
}

impl StateCollector {
    fn replication(&self, out: &mut Samples) -> std::fmt::Result {
        let (queued, pending, copies, reconstructions, deletions) = {
            let cluster = self.state.cluster.lock();
            let q = &cluster.replication;
            let pending: Vec<(Labels, f64)> = [RepairKind::Copy, RepairKind::Reconstruction]
                .into_iter()
                .map(|kind| (kind_label(kind), q.pending_of(kind) as f64))
                .collect();
            (
                q.queued(),
                pending,
                q.copies,
                q.reconstructions,
                q.scheduled_deletions,
            )
        };
        out.gauge(
            "strata_master_replication_queue_blocks",
            "Blocks waiting for the replication monitor to examine them",
            queued as f64,
        )?;
        out.gauges(
            "strata_master_repairs_pending",
            "Replicas being copied or reconstructed, not yet reported by their target",
            pending,
        )?;
        let by_kind = |pick: fn(&RepairCounts) -> u64| {
            [
                (kind_label(RepairKind::Copy), pick(&copies)),
                (
                    kind_label(RepairKind::Reconstruction),
                    pick(&reconstructions),
                ),
            ]
        };
        out.counters(
            "strata_master_repairs_scheduled",
            "Copies and reconstructions ordered by the replication monitor",
            by_kind(|c| c.scheduled),
        )?;
        out.counters(
            "strata_master_repairs_completed",
            "Replicas copied or reconstructed and reported by their target",
            by_kind(|c| c.completed),
        )?;
        out.counters(
            "strata_master_repairs_abandoned",
            "Copies and reconstructions that timed out or lost a worker (scheduled again)",
            by_kind(|c| c.abandoned),
        )?;
        out.counter(
            "strata_master_replica_deletions_scheduled",
            "Excess and corrupt replicas whose deletion was ordered",
            deletions,
        )
    }
}

fn kind_label(kind: RepairKind) -> Labels {
    vec![("kind", kind.name().to_string())]
}

fn namespace_and_blocks(out: &mut Samples, report: &ReportResponse) -> std::fmt::Result {
    let s = report.summary.clone().unwrap_or_default();
    out.gauge(
        "strata_master_files",
        "Files in the namespace",
        s.files as f64,
    )?;
    out.gauge(
        "strata_master_directories",
        "Directories in the namespace",
        s.directories as f64,
    )?;
    out.gauge(
        "strata_master_file_bytes",
        "Bytes in files (before replication)",
        s.file_bytes as f64,
    )?;
    out.gauge(
        "strata_master_blocks",
        "Blocks and block groups in the namespace",
        s.blocks as f64,
    )?;
    out.gauges(
        "strata_master_blocks_by_state",
        "Blocks needing attention, by state",
        [
            ("under_replicated", s.under_replicated),
            ("missing", s.missing),
            ("corrupt", s.corrupt),
            ("pending_deletion", s.pending_deletion),
        ]
        .map(|(state, n)| (vec![("state", state.to_string())], n as f64)),
    )?;
    out.gauge(
        "strata_master_safe_mode",
        "1 while the master is in safe mode",
        if s.safe_mode { 1.0 } else { 0.0 },
    )
}

fn workers(out: &mut Samples, report: &ReportResponse) -> std::fmt::Result {
    let mut by_state: BTreeMap<String, f64> = [
        WorkerState::Live,
        WorkerState::Dead,
        WorkerState::Decommissioning,
        WorkerState::Decommissioned,
    ]
    .into_iter()
    .map(|s| (state_label(s), 0.0))
    .collect();
    let mut heartbeat_age = Vec::new();
    let mut blocks = Vec::new();
    let mut capacity = Vec::new();
    let mut used = Vec::new();
    let mut cluster_tiers: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for w in &report.workers {
        let state = WorkerState::try_from(w.state).unwrap_or(WorkerState::Dead);
        *by_state.entry(state_label(state)).or_default() += 1.0;
        let address = w.address.clone().unwrap_or_default();
        let worker = vec![
            ("worker", address.id.clone()),
            ("address", address.data_address.clone()),
        ];
        heartbeat_age.push((worker.clone(), w.last_heartbeat_ms_ago as f64 / 1000.0));
        blocks.push((worker.clone(), w.block_count as f64));
        for tier in w.storage.iter().flat_map(|s| &s.tiers) {
            let mut labels = worker.clone();
            labels.push(("tier", tier.medium.clone()));
            capacity.push((labels.clone(), tier.capacity as f64));
            used.push((labels, tier.used as f64));
            if state != WorkerState::Dead {
                let total = cluster_tiers.entry(tier.medium.clone()).or_default();
                total.0 += tier.capacity;
                total.1 += tier.used;
            }
        }
    }
    out.gauges(
        "strata_master_workers",
        "Workers by state",
        by_state
            .into_iter()
            .map(|(state, n)| (vec![("state", state)], n)),
    )?;
    out.gauges(
        "strata_master_worker_heartbeat_age_seconds",
        "Seconds since each worker's last heartbeat",
        heartbeat_age,
    )?;
    out.gauges(
        "strata_master_worker_blocks",
        "Replicas each worker holds",
        blocks,
    )?;
    out.gauges(
        "strata_master_worker_capacity_bytes",
        "Capacity of each worker's tier",
        capacity,
    )?;
    out.gauges(
        "strata_master_worker_used_bytes",
        "Bytes used in each worker's tier",
        used,
    )?;
    let tier = |t: &String| vec![("tier", t.clone())];
    out.gauges(
        "strata_master_capacity_bytes",
        "Capacity of the workers in service, per tier",
        cluster_tiers.iter().map(|(t, (c, _))| (tier(t), *c as f64)),
    )?;
    out.gauges(
        "strata_master_used_bytes",
        "Bytes used on the workers in service, per tier",
        cluster_tiers.iter().map(|(t, (_, u))| (tier(t), *u as f64)),
    )
}

/// A worker state as a label value: `live`, `dead`, `decommissioning`, `decommissioned`.
fn state_label(state: WorkerState) -> String {
    state.as_str_name().to_ascii_lowercase()
}
