//! What every part of a running worker shares: identity, store, link to the master, settings.

use crate::master_link::MasterLink;
use crate::read_through::MountedStorages;
use crate::store::BlockStore;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
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
    /// Data-plane operations in progress (reported as load).
    active: AtomicU32,
    /// Block bytes sent to readers since start.
    served: AtomicU64,
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
            active: AtomicU32::new(0),
            served: AtomicU64::new(0),
        }
    }

    /// Counts one operation in progress until the guard is dropped.
    pub fn begin_operation(&self) -> OperationGuard<'_> {
        self.active.fetch_add(1, Ordering::Relaxed);
        OperationGuard {
            counter: &self.active,
        }
    }

    /// Adds `bytes` sent to a reader.
    pub fn count_served(&self, bytes: u64) {
        self.served.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Block bytes sent to readers since the worker started.
    pub fn bytes_served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
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
