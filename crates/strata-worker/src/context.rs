//! What every part of a running worker shares: identity, store, link to the master, settings.

use crate::master_link::MasterLink;
use crate::memory_dirs::ClaimedDir;
use crate::metrics::WorkerMetrics;
use crate::read_through::MountedStorages;
use crate::store::BlockStore;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
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
    /// The MEM-tier directories this worker holds (released when it stops).
    memory_dirs: Mutex<Vec<ClaimedDir>>,
    /// Whether the master last said this worker is decommissioned.
    decommissioned: AtomicBool,
}

impl WorkerContext {
    /// Shared state of a worker.
    pub fn new(
        id: String,
        store: BlockStore,
        master: MasterLink,
        config: WorkerConfig,
        memory_dirs: Vec<ClaimedDir>,
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
            memory_dirs: Mutex::new(memory_dirs),
            decommissioned: AtomicBool::new(false),
        }
    }

    /// Records what the master says of this worker's decommissioning, in the owner marker of
    /// each MEM-tier directory too.
    pub fn set_decommissioned(&self, decommissioned: bool) {
        if self.decommissioned.swap(decommissioned, Ordering::Relaxed) == decommissioned {
            return;
        }
        tracing::info!(worker = %self.id, decommissioned, "decommission state changed");
        for dir in self.memory_dirs.lock().iter() {
            if let Err(e) = dir.set_decommissioned(decommissioned) {
                tracing::warn!(error = %e, "could not update a MEM-tier owner marker");
            }
        }
    }

    /// Lets go of the MEM-tier directories as the worker stops: a decommissioned worker's
    /// are removed (every block it held has its replicas elsewhere), others stay for its
    /// next start.
    pub fn release_memory_dirs(&self) {
        let dirs = std::mem::take(&mut *self.memory_dirs.lock());
        if !self.decommissioned.load(Ordering::Relaxed) {
            return;
        }
        for dir in dirs {
            let path = dir.dir().to_path_buf();
            match dir.remove() {
                Ok(()) => tracing::info!(dir = %path.display(),
                    "removed the MEM tier of a decommissioned worker"),
                Err(e) => tracing::warn!(error = %e, "could not remove a MEM tier"),
            }
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
