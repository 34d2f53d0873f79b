//! The worker registry: who is registered, alive, decommissioning; their storage, load and the
//! commands waiting for their next heartbeat.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;
use strata_proto::rpc::{StorageReport, WorkerAddress, WorkerCommand, WorkerState};

/// Index of a worker in the registry (stable for the life of the master process).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkerIdx(pub u32);

/// What an operator has asked of a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminState {
    /// In service.
    Normal,
    /// Being drained: its replicas are copied elsewhere, no new blocks go to it.
    Decommissioning,
    /// Drained: every block it held has its full replica count elsewhere.
    Decommissioned,
}

/// One registered worker.
#[derive(Debug, Clone)]
pub struct WorkerEntry {
    /// Its index.
    pub idx: WorkerIdx,
    /// Its identity and addresses.
    pub address: WorkerAddress,
    /// Whether heartbeats arrive in time.
    pub alive: bool,
    /// Decommission state.
    pub admin: AdminState,
    /// When the last heartbeat (or registration) arrived.
    pub last_heartbeat: Instant,
    /// Storage as last reported.
    pub storage: StorageReport,
    /// Data-plane operations in progress, as last reported.
    pub active_operations: u32,
    /// Commands to send with the next heartbeat reply.
    pub commands: VecDeque<WorkerCommand>,
    /// Re-replication copies this worker is sending.
    pub transfers_in_flight: u32,
}

impl WorkerEntry {
    /// The state shown to operators.
    pub fn state(&self) -> WorkerState {
        if !self.alive {
            return WorkerState::Dead;
        }
        match self.admin {
            AdminState::Normal => WorkerState::Live,
            AdminState::Decommissioning => WorkerState::Decommissioning,
            AdminState::Decommissioned => WorkerState::Decommissioned,
        }
    }

    /// Whether new blocks may be placed here.
    pub fn accepts_new_blocks(&self) -> bool {
        self.alive && self.admin == AdminState::Normal
    }

    /// The host part of the data address.
    pub fn host(&self) -> &str {
        &self.address.host
    }
}

/// Every worker the master has heard from since it started.
#[derive(Debug, Default)]
pub struct WorkerRegistry {
    entries: Vec<WorkerEntry>,
    by_id: HashMap<String, WorkerIdx>,
}

impl WorkerRegistry {
    /// Registers a worker (or a known worker again, maybe at a new address). Returns its index
    /// and whether it was new.
    pub fn register(
        &mut self,
        address: WorkerAddress,
        storage: StorageReport,
        now: Instant,
    ) -> (WorkerIdx, bool) {
        if let Some(idx) = self.by_id.get(&address.id).copied() {
            let entry = &mut self.entries[idx.0 as usize];
            entry.address = address;
            entry.storage = storage;
            entry.alive = true;
            entry.last_heartbeat = now;
            entry.commands.clear();
            entry.transfers_in_flight = 0;
            return (idx, false);
        }
        let idx = WorkerIdx(self.entries.len() as u32);
        self.by_id.insert(address.id.clone(), idx);
        self.entries.push(WorkerEntry {
            idx,
            address,
            alive: true,
            admin: AdminState::Normal,
            last_heartbeat: now,
            storage,
            active_operations: 0,
            commands: VecDeque::new(),
            transfers_in_flight: 0,
        });
        (idx, true)
    }

    /// The worker with this index.
    pub fn get(&self, idx: WorkerIdx) -> Option<&WorkerEntry> {
        self.entries.get(idx.0 as usize)
    }

    /// The worker with this index, to change.
    pub fn get_mut(&mut self, idx: WorkerIdx) -> Option<&mut WorkerEntry> {
        self.entries.get_mut(idx.0 as usize)
    }

    /// The index of the worker with this persistent id.
    pub fn by_id(&self, id: &str) -> Option<WorkerIdx> {
        self.by_id.get(id).copied()
    }

    /// Finds a worker by id, data address, or host (when exactly one worker is on it).
    pub fn find(&self, spec: &str) -> Option<WorkerIdx> {
        if let Some(idx) = self.by_id(spec) {
            return Some(idx);
        }
        if let Some(e) = self.entries.iter().find(|e| e.address.data_address == spec) {
            return Some(e.idx);
        }
        let mut on_host = self.entries.iter().filter(|e| e.address.host == spec);
        match (on_host.next(), on_host.next()) {
            (Some(e), None) => Some(e.idx),
            _ => None,
        }
    }

    /// Every worker.
    pub fn iter(&self) -> impl Iterator<Item = &WorkerEntry> {
        self.entries.iter()
    }

    /// Every worker, to change.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut WorkerEntry> {
        self.entries.iter_mut()
    }

    /// Whether the worker is alive (unknown indices are not).
    pub fn is_alive(&self, idx: WorkerIdx) -> bool {
        self.get(idx).is_some_and(|e| e.alive)
    }

    /// Number of live workers.
    pub fn live_count(&self) -> usize {
        self.entries.iter().filter(|e| e.alive).count()
    }
}
