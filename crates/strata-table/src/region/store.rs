//! One column family of a region: the memstore taking writes, the frozen one being flushed,
//! and the family's SSTables.

use crate::memstore::MemStore;
use crate::schema::FamilyDescriptor;
use crate::sstable::SsTable;
use parking_lot::RwLock;
use std::sync::Arc;

/// A family's memstores and files.
#[derive(Debug)]
pub struct Store {
    /// The family.
    pub family: FamilyDescriptor,
    state: RwLock<StoreState>,
}

#[derive(Debug)]
struct StoreState {
    active: Arc<MemStore>,
    frozen: Option<Arc<MemStore>>,
    files: Vec<Arc<SsTable>>,
    /// Files compacted away, deleted once no read holds them.
    retired: Vec<Arc<SsTable>>,
}

/// What a read of the family sees, fixed when the read begins.
#[derive(Debug, Clone)]
pub struct StoreView {
    /// The memstores (the active one, and a frozen one being flushed).
    pub memstores: Vec<Arc<MemStore>>,
    /// The files.
    pub files: Vec<Arc<SsTable>>,
}

impl Store {
    /// A store of `family` over `files`.
    pub fn new(family: FamilyDescriptor, files: Vec<Arc<SsTable>>) -> Store {
        Store {
            family,
            state: RwLock::new(StoreState {
                active: Arc::new(MemStore::new()),
                frozen: None,
                files,
                retired: Vec::new(),
            }),
        }
    }

    /// The memstore taking writes.
    pub fn active(&self) -> Arc<MemStore> {
        self.state.read().active.clone()
    }

    /// What a read sees now.
    pub fn view(&self) -> StoreView {
        let s = self.state.read();
        let mut memstores = vec![s.active.clone()];
        memstores.extend(s.frozen.clone());
        StoreView {
            memstores,
            files: s.files.clone(),
        }
    }

    /// Freezes the active memstore for a flush (unless it is empty or one is frozen already)
    /// and returns the frozen one.
    pub fn freeze(&self) -> Option<Arc<MemStore>> {
        let mut s = self.state.write();
        if s.frozen.is_none() && !s.active.is_empty() {
            let full = std::mem::replace(&mut s.active, Arc::new(MemStore::new()));
            s.frozen = Some(full);
        }
        s.frozen.clone()
    }

    /// The frozen memstore is in `file` now.
    pub fn flushed(&self, file: Arc<SsTable>) {
        let mut s = self.state.write();
        s.frozen = None;
        s.files.push(file);
    }

    /// A compaction merged `inputs` into `output`.
    pub fn replace(&self, inputs: &[Arc<SsTable>], output: Arc<SsTable>) {
        let mut s = self.state.write();
        let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut s.files)
            .into_iter()
            .partition(|f| inputs.iter().any(|i| Arc::ptr_eq(i, f)));
        s.files = kept;
        s.files.push(output);
        s.retired.extend(gone);
    }

    /// The paths of retired files no read holds any more (they leave the store).
    pub fn take_unheld_retired(&self) -> Vec<String> {
        // Asked with every report: reads are not held off when there is nothing to free.
        if self.state.read().retired.is_empty() {
            return Vec::new();
        }
        let mut s = self.state.write();
        let (free, held): (Vec<_>, Vec<_>) = std::mem::take(&mut s.retired)
            .into_iter()
            .partition(|f| Arc::strong_count(f) == 1);
        s.retired = held;
        free.iter().map(|f| f.store_path().to_string()).collect()
    }

    /// Bytes in memstores.
    pub fn memstore_size(&self) -> usize {
        let s = self.state.read();
        s.active.size() + s.frozen.as_ref().map_or(0, |f| f.size())
    }

    /// Bytes in files.
    pub fn file_size(&self) -> u64 {
        self.state.read().files.iter().map(|f| f.length()).sum()
    }

    /// The highest sequence id its files hold.
    pub fn flushed_sequence(&self) -> u64 {
        (self.state.read().files.iter())
            .map(|f| f.info().max_sequence)
            .max()
            .unwrap_or(0)
    }

    /// The lowest sequence id still only in memstores (`u64::MAX`: none).
    pub fn oldest_unflushed(&self) -> u64 {
        let s = self.state.read();
        let frozen = s.frozen.as_ref().map_or(u64::MAX, |f| f.min_sequence());
        s.active.min_sequence().min(frozen)
    }

    /// The number of files.
    pub fn file_count(&self) -> usize {
        self.state.read().files.len()
    }

    /// The number of files read through references to a parent region's files.
    pub fn reference_count(&self) -> usize {
        (self.state.read().files.iter())
            .filter(|f| f.is_reference())
            .count()
    }
}
