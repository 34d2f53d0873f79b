//! A region: the rows `[start, end)` of a table, one [`Store`] per column family, a
//! write-ahead log, sequence ids and row locks. Writes go to the log and the memstores
//! (`write.rs`), reads merge memstores and files (`crate::read`), full memstores are flushed
//! to SSTables (`flush.rs`), and opening a region replays what its logs hold past its files
//! (`open.rs`). Everything it keeps is in Strata files, so another server can open it.

mod compact;
mod flush;
mod io_budget;
pub mod layout;
mod mvcc;
mod nonces;
mod open;
pub mod reference;
mod store;
pub mod wal;
mod write;

pub use io_budget::IoBudget;
pub use layout::RegionDir;
pub use open::OpenRegion;
pub use store::{Store, StoreView};

use crate::cell::Cell;
use crate::error::{Error, Result};
use crate::read::{FamilyRead, MatchSettings, RegionScanner, Scan, ScanBounds, StoreScanner};
use crate::schema::{TableDescriptor, TableName};
use crate::sstable::BlockCache;
use bytes::Bytes;
use mvcc::{Mvcc, RowLocks};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use strata_client::FileSystem;
use wal::Wal;

/// Which region: its table, name and row range.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegionInfo {
    /// The table.
    pub table: TableName,
    /// The region's name (its directory).
    pub name: String,
    /// First row (inclusive; empty: the table's start).
    pub start: Bytes,
    /// End row (exclusive; empty: the table's end).
    pub end: Bytes,
}

impl RegionInfo {
    /// Whether `row` belongs to the region.
    pub fn contains(&self, row: &[u8]) -> bool {
        row >= &self.start[..] && (self.end.is_empty() || row < &self.end[..])
    }
}

/// How a region behaves.
#[derive(Debug, Clone)]
pub struct RegionSettings {
    /// Memstore bytes (all families) that start a flush.
    pub flush_size: usize,
    /// Writes wait while the memstores hold this many times the flush size.
    pub blocking_factor: usize,
    /// The largest value accepted.
    pub max_value_size: usize,
    /// Replicas of the region's files (0: the file system's default).
    pub replication: u32,
    /// Writes wait while a family has more files than this (compactions are behind).
    pub blocking_files: usize,
}

impl Default for RegionSettings {
    fn default() -> Self {
        RegionSettings {
            flush_size: 128 << 20,
            blocking_factor: 4,
            max_value_size: 10 << 20,
            replication: 0,
            blocking_files: 16,
        }
    }
}

/// What every region of a server shares.
#[derive(Debug, Clone)]
pub struct Shared {
    /// The block cache.
    pub cache: Arc<BlockCache>,
    /// The compactions' I/O budget.
    pub io_budget: Arc<IoBudget>,
}

/// An open region.
#[derive(Debug)]
pub struct Region {
    info: RegionInfo,
    descriptor: TableDescriptor,
    dir: RegionDir,
    fs: FileSystem,
    settings: RegionSettings,
    cache: Arc<BlockCache>,
    io_budget: Arc<IoBudget>,
    stores: Vec<Store>,
    mvcc: Mvcc,
    rows: RowLocks,
    /// Mutations hold it shared while they enter memstores and the log; a flush holds it
    /// alone while it freezes memstores and starts a new log.
    updates: tokio::sync::RwLock<Option<Wal>>,
    flushing: tokio::sync::Mutex<()>,
    compacting: tokio::sync::Mutex<()>,
    /// Flushes and compactions wake writers waiting for room.
    room: tokio::sync::Notify,
    /// A background flush is asked for or running.
    flush_pending: AtomicBool,
    /// A background compaction is asked for or running.
    compaction_pending: AtomicBool,
    closed: AtomicBool,
    /// Requests served (reads and writes), for the master's balancing by load.
    requests: AtomicU64,
    /// Increments and appends applied lately.
    nonces: nonces::Nonces,
}

impl Region {
    /// The region's identity.
    pub fn info(&self) -> &RegionInfo {
        &self.info
    }

    /// The table's descriptor the region was opened with.
    pub fn descriptor(&self) -> &TableDescriptor {
        &self.descriptor
    }

    /// The region's directory.
    pub fn dir(&self) -> &RegionDir {
        &self.dir
    }

    /// Bytes in every family's memstores.
    pub fn memstore_size(&self) -> usize {
        self.stores.iter().map(Store::memstore_size).sum()
    }

    /// Bytes of every family's files.
    pub fn file_size(&self) -> u64 {
        self.stores.iter().map(Store::file_size).sum()
    }

    /// The region's stores, in family name order.
    pub fn stores(&self) -> &[Store] {
        &self.stores
    }

    /// Counts a request served.
    pub fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests served since it opened.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Files read through references to a parent region's files.
    pub fn references(&self) -> usize {
        self.stores.iter().map(Store::reference_count).sum()
    }

    /// Whether the region is closed (or broken and waiting to be reopened).
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    fn not_serving(&self, reason: &str) -> Error {
        Error::NotServingRegion {
            region: self.info.name.clone(),
            reason: reason.to_string(),
        }
    }

    fn check_open(&self) -> Result<()> {
        if self.is_closed() {
            return Err(self.not_serving("the region is closed"));
        }
        Ok(())
    }

    /// A scanner over the region for `scan` (whose rows are clipped to the region).
    pub fn scanner(&self, scan: Scan) -> Result<RegionScanner> {
        self.check_open()?;
        let read_point = self.mvcc.read_point();
        let now = strata_core::now_millis();
        let single_row = scan.single_row().cloned();
        let mut families = Vec::new();
        for store in &self.stores {
            let qualifiers = if scan.columns.is_empty() {
                None
            } else {
                match scan.columns.get(&store.family.name) {
                    None => continue,
                    Some(q) => q.clone(),
                }
            };
            let only = qualifiers
                .as_ref()
                .filter(|q| q.len() == 1)
                .and_then(|q| q.first().cloned());
            let view = store.view();
            families.push(FamilyRead {
                name: store.family.name.clone(),
                settings: MatchSettings::new(
                    &store.family,
                    scan.time_range,
                    scan.max_versions,
                    qualifiers,
                    now,
                ),
                store: StoreScanner::new(
                    &view.memstores,
                    &view.files,
                    read_point,
                    single_row.as_ref(),
                    only.as_ref(),
                ),
            });
        }
        for family in scan.columns.keys() {
            self.descriptor.family(family)?;
        }
        let bounds = ScanBounds {
            start_row: scan.start_row,
            stop_row: scan.stop_row,
            reversed: scan.reversed,
            batch: scan.batch,
            limit: scan.limit,
            region_start: self.info.start.clone(),
            region_end: self.info.end.clone(),
        };
        Ok(RegionScanner::new(
            families,
            scan.filter.map(|f| f.filter),
            bounds,
        ))
    }

    /// The cells of the one row `scan` reads (HBase's `Get`), whole.
    pub async fn get(&self, mut scan: Scan) -> Result<Vec<Cell>> {
        scan.batch = 0;
        scan.limit = 1;
        let row = scan.start_row.clone();
        if !self.info.contains(&row) {
            return Err(self.not_serving("the row is outside the region"));
        }
        let mut scanner = self.scanner(scan)?;
        Ok(scanner
            .next()
            .await?
            .filter(|cells| cells.first().is_some_and(|c| c.row == row))
            .unwrap_or_default())
    }
}
