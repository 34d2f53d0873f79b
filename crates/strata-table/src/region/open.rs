//! Opening a region on a server: its families' SSTables are opened; each of its logs is
//! recovered (lease recovery fences a server that died holding it) and replayed past what
//! the files of each family already hold; the replayed edits are flushed at once, the logs
//! they came from deleted, and a new log begun.

use super::flush::first_sequence;
use super::mvcc::{Mvcc, RowLocks};
use super::nonces::Nonces;
use super::store::Store;
use super::wal::{Wal, recover_log};
use super::{Region, RegionDir, RegionInfo, RegionSettings, Shared, layout, reference};
use crate::cell::{CellKey, CellKind};
use crate::error::{Error, Result};
use crate::schema::TableDescriptor;
use crate::sstable::{Source, SsTable};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};
use strata_client::FileSystem;
use strata_core::Error as FsError;

/// Everything a region is opened with.
#[derive(Debug, Clone)]
pub struct OpenRegion {
    /// Which region.
    pub info: RegionInfo,
    /// Its table's families.
    pub descriptor: TableDescriptor,
    /// The table store's root directory in Strata.
    pub root: String,
    /// How it behaves.
    pub settings: RegionSettings,
}

impl Region {
    /// Opens a region: files, replayed logs, a new log.
    pub async fn open(fs: FileSystem, open: OpenRegion, shared: Shared) -> Result<Arc<Region>> {
        let cache = shared.cache.clone();
        let OpenRegion {
            info,
            descriptor,
            root,
            settings,
        } = open;
        let dir = RegionDir::new(&layout::table_dir(&root, &info.table), &info.name);
        let mut stores = Vec::new();
        let mut last = 0u64;
        for family in &descriptor.families {
            let family_dir = dir.family(&family.name);
            fs.mkdirs(&family_dir, true).await?;
            let mut files = Vec::new();
            for status in fs.list(&family_dir).collect().await? {
                let (path, through) = if reference::is_reference(&status.path) {
                    (
                        reference::read(&fs, &status.path).await?,
                        Some(&status.path),
                    )
                } else if status.path.ends_with(".sst") {
                    (status.path.clone(), None)
                } else {
                    continue;
                };
                let source = Source::Strata(fs.open_positional(&path).await?);
                let mut table =
                    SsTable::open(&path, source, cache.clone(), family.in_memory).await?;
                if let Some(through) = through {
                    table = table.through_reference(through);
                }
                last = last.max(table.info().max_sequence);
                files.push(Arc::new(table));
            }
            stores.push(Store::new(family.clone(), files));
        }
        let logs = list_logs(&fs, &dir).await?;
        let nonces = Nonces::default();
        let mut replayed = 0usize;
        for log in &logs {
            for entry in recover_log(&fs, log).await? {
                last = last.max(entry.sequence);
                nonces.replayed(&entry);
                for cell in entry.cells {
                    let Some(store) = stores.iter().find(|s| s.family.name == cell.family) else {
                        continue;
                    };
                    if entry.sequence <= store.flushed_sequence() {
                        continue;
                    }
                    let kind = u8::try_from(cell.kind)
                        .ok()
                        .and_then(CellKind::from_code)
                        .ok_or_else(|| {
                            Error::corrupt(log, "write-ahead log", "unknown cell kind")
                        })?;
                    store.active().insert(
                        CellKey {
                            row: entry.row.clone(),
                            qualifier: cell.qualifier,
                            timestamp: cell.timestamp,
                            kind,
                            sequence: entry.sequence,
                        },
                        cell.value,
                    );
                    replayed += 1;
                }
            }
        }
        if let Some(next) = logs.last().and_then(|l| first_sequence(l)) {
            last = last.max(next);
        }
        // With edits to flush, the flush begins the new log.
        let wal = match replayed {
            0 => Some(Wal::create(&fs, &dir.wal(last + 1), settings.replication).await?),
            _ => None,
        };
        let region = Arc::new(Region {
            info,
            descriptor,
            dir,
            fs,
            settings,
            cache,
            io_budget: shared.io_budget,
            stores,
            mvcc: Mvcc::new(last),
            rows: RowLocks::default(),
            updates: tokio::sync::RwLock::new(wal),
            flushing: tokio::sync::Mutex::new(()),
            compacting: tokio::sync::Mutex::new(()),
            room: tokio::sync::Notify::new(),
            flush_pending: AtomicBool::new(false),
            compaction_pending: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            requests: AtomicU64::new(0),
            nonces,
        });
        if replayed > 0 {
            tracing::info!(region = %region.info.name, cells = replayed, logs = logs.len(),
                "replayed write-ahead logs");
            region.flush().await?;
        } else {
            region.delete_flushed_logs().await;
        }
        match region.fs.delete(&region.dir.tmp_dir(), true).await {
            Ok(_) | Err(FsError::NotFound { .. }) => {}
            Err(e) => tracing::warn!(error = %e, "cannot clear the region's temporary files"),
        }
        // A child of a split or merge rewrites its parents' files into its own at once.
        region.request_compaction();
        Ok(region)
    }

    /// Flushes what is in memory, closes the log, waits for a compaction under way to stop
    /// and stops serving (a region moving to another server, or the server stopping).
    pub async fn close(&self) -> Result<()> {
        self.flush().await?;
        let wal = self.updates.write().await.take();
        self.closed
            .store(true, std::sync::atomic::Ordering::Relaxed);
        // A compaction under way stops (it sees the region closed); its files stay as they
        // are, so whoever opens the region next finds them settled.
        let compacting = self.compacting.lock().await;
        self.delete_unheld_retired().await;
        drop(compacting);
        if let Some(wal) = wal {
            wal.close().await?;
        }
        self.delete_flushed_logs_after_close().await;
        Ok(())
    }

    /// After a clean close every log is flushed: all of them go.
    async fn delete_flushed_logs_after_close(&self) {
        let oldest = (self.stores.iter())
            .map(|s| s.oldest_unflushed())
            .min()
            .unwrap_or(u64::MAX);
        if oldest != u64::MAX {
            return;
        }
        if let Ok(logs) = list_logs(&self.fs, &self.dir).await {
            for log in logs {
                if let Err(e) = self.fs.delete(&log, false).await {
                    tracing::warn!(log = %log, error = %e, "cannot delete a flushed log");
                }
            }
        }
    }
}

/// The region's logs, oldest first (none when the directory does not exist yet).
async fn list_logs(fs: &FileSystem, dir: &RegionDir) -> Result<Vec<String>> {
    match fs.list(&dir.wal_dir()).collect().await {
        Ok(statuses) => {
            let mut logs: Vec<String> = (statuses.into_iter())
                .map(|s| s.path)
                .filter(|p| p.ends_with(".log"))
                .collect();
            logs.sort();
            Ok(logs)
        }
        Err(FsError::NotFound { .. }) => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}
