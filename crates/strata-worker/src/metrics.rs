//! A worker's Prometheus metrics: data-plane operations by kind with their latency, bytes read
//! and written, copies and reconstructions carried out for the master (with their bytes, for
//! throughput), and figures read off the store at each scrape (capacity and use per tier,
//! replicas held, operations in progress, age of the last heartbeat the master answered).

use crate::context::WorkerContext;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::{Arc, Weak};
use std::time::Duration;
use strata_core::metrics::{Labels, MetricsRegistry, Samples, latency_buckets};

type LatencyFamily = Family<Labels, Histogram, fn() -> Histogram>;

/// The counters a worker's tasks feed.
#[derive(Debug, Clone)]
pub struct WorkerMetrics {
    operations: Family<Labels, Counter>,
    latency: LatencyFamily,
    bytes_read: Counter,
    bytes_written: Counter,
    repairs: Family<Labels, Counter>,
    repair_bytes: Family<Labels, Counter>,
}

impl Default for WorkerMetrics {
    fn default() -> WorkerMetrics {
        WorkerMetrics {
            operations: Family::default(),
            latency: Family::new_with_constructor(|| Histogram::new(latency_buckets())),
            bytes_read: Counter::default(),
            bytes_written: Counter::default(),
            repairs: Family::default(),
            repair_bytes: Family::default(),
        }
    }
}

impl WorkerMetrics {
    /// One data-plane operation of kind `op` ended after `took`.
    pub fn operation_done(&self, op: &'static str, ok: bool, took: Duration) {
        let result = if ok { "ok" } else { "error" };
        self.operations
            .get_or_create(&vec![
                ("op", op.to_string()),
                ("result", result.to_string()),
            ])
            .inc();
        self.latency
            .get_or_create(&vec![("op", op.to_string())])
            .observe(took.as_secs_f64());
    }

    /// Block bytes sent to a reader.
    pub fn read(&self, bytes: u64) {
        self.bytes_read.inc_by(bytes);
    }

    /// Block bytes stored from a writer (a client's pipeline or another worker's copy).
    pub fn written(&self, bytes: u64) {
        self.bytes_written.inc_by(bytes);
    }

    /// Block bytes sent to readers since start.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read.get()
    }

    /// A copy or reconstruction (`kind`) the master ordered ended, having sent `sent` bytes
    /// (`None`: it failed).
    pub fn repair_done(&self, kind: &'static str, sent: Option<u64>) {
        let outcome = if sent.is_some() { "ok" } else { "error" };
        self.repairs
            .get_or_create(&vec![
                ("kind", kind.to_string()),
                ("result", outcome.to_string()),
            ])
            .inc();
        if let Some(bytes) = sent {
            self.repair_bytes
                .get_or_create(&vec![("kind", kind.to_string())])
                .inc_by(bytes);
        }
    }

    /// A registry of these counters and of the figures read off `ctx` at each scrape.
    pub fn registry(&self, ctx: &Arc<WorkerContext>) -> MetricsRegistry {
        let mut registry = Registry::default();
        registry.register(
            "strata_worker_operations",
            "Data-plane operations handled, by kind and result",
            self.operations.clone(),
        );
        registry.register(
            "strata_worker_operation_latency_seconds",
            "Time a data-plane operation took, from its request to its last byte, by kind",
            self.latency.clone(),
        );
        registry.register(
            "strata_worker_read_bytes",
            "Block bytes sent to readers",
            self.bytes_read.clone(),
        );
        registry.register(
            "strata_worker_written_bytes",
            "Block bytes received and stored",
            self.bytes_written.clone(),
        );
        registry.register(
            "strata_worker_repairs",
            "Copies and reconstructions carried out for the master, by kind and result",
            self.repairs.clone(),
        );
        registry.register(
            "strata_worker_repair_bytes",
            "Bytes sent by copies and reconstructions, by kind",
            self.repair_bytes.clone(),
        );
        registry.register_collector(Box::new(StoreCollector {
            ctx: Arc::downgrade(ctx),
        }));
        MetricsRegistry::new(registry)
    }
}

/// Reads the store and the link to the master at each scrape. It holds the context weakly:
/// a registry kept by an HTTP server must not keep a stopped worker's store alive.
#[derive(Debug)]
struct StoreCollector {
    ctx: Weak<WorkerContext>,
}

impl Collector for StoreCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let Some(ctx) = self.ctx.upgrade() else {
            return Ok(());
        };
        let mut out = Samples::new(&mut encoder);
        let storage = ctx.store.storage();
        let tier = |medium: &String| vec![("tier", medium.clone())];
        out.gauges(
            "strata_worker_capacity_bytes",
            "Capacity of each storage tier",
            storage
                .tiers
                .iter()
                .map(|t| (tier(&t.medium), t.capacity as f64)),
        )?;
        out.gauges(
            "strata_worker_used_bytes",
            "Bytes used in each storage tier",
            storage
                .tiers
                .iter()
                .map(|t| (tier(&t.medium), t.used as f64)),
        )?;
        out.gauge(
            "strata_worker_blocks",
            "Replicas this worker holds",
            ctx.store.len() as f64,
        )?;
        out.gauge(
            "strata_worker_active_operations",
            "Data-plane operations and commands in progress",
            f64::from(ctx.active_operations()),
        )?;
        if let Some(age) = ctx.heartbeat_age() {
            out.gauge(
                "strata_worker_heartbeat_age_seconds",
                "Seconds since the master last answered this worker (registration or heartbeat)",
                age.as_secs_f64(),
            )?;
        }
        Ok(())
    }
}
