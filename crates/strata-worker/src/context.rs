//! What every part of a running worker shares: identity, store, link to the master, settings.

use crate::master_link::MasterLink;
use crate::metrics::WorkerMetrics;
use crate::read_through::MountedStorages;
use crate::store::BlockStore;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use strata_core::config::WorkerConfig;

/// Shared worker state.
#[derive(Debug)]
pub struct WorkerContext {
    /// This worker's persistent id.
    pub id: String,
    /// The replicas.
    pub store: BlockStore,
    /// The master.
    pub master: MasterLink,
    /// Settings.
    pub config: WorkerConfig,
    /// The under storage of mounts, for read-through.
    pub mounted: MountedStorages,
    /// Counters for the worker's `/metrics`.
    pub metrics: WorkerMetrics,
    /// Data-plane operations in progress (reported as load).
    active: AtomicU32,
    /// When the master last answered a registration or heartbeat.
    last_heartbeat: Mutex<Option<Instant>>,
}

impl WorkerContext {
    /// Shared state of a worker.
    pub fn new(
        id: String,
        store: BlockStore,
        master: MasterLink,
        config: WorkerConfig,
    ) -> WorkerContext {
        WorkerContext {
            id,
            store,
            master,
            config,
            mounted: MountedStorages::default(),
            metrics: WorkerMetrics::default(),
            active: AtomicU32::new(0),
            last_heartbeat: Mutex::new(None),
        }
    }

    /// Counts one operation in progress until the guard is dropped.
    pub fn begin_operation(&self) -> OperationGuard<'_> {
        self.active.fetch_add(1, Ordering::Relaxed);
        OperationGuard {
            counter: &self.active,
        }
    }

    /// The master answered a registration or heartbeat now.
    pub fn heartbeat_answered(&self) {
        *self.last_heartbeat.lock() = Some(Instant::now());
    }

    /// Time since the master last answered; `None` before it ever did.
    pub fn heartbeat_age(&self) -> Option<Duration> {
        self.last_heartbeat.lock().map(|t| t.elapsed())
    }

    /// Operations in progress.
    pub fn active_operations(&self) -> u32 {
        self.active.load(Ordering::Relaxed)
    }
}

/// Decrements the operation count when dropped.
#[derive(Debug)]
pub struct OperationGuard<'a> {
    counter: &'a AtomicU32,
}

impl Drop for OperationGuard<'_> {
    fn drop(&mut self) {
        self.counter.fetch_sub(1, Ordering::Relaxed);
    }
}
