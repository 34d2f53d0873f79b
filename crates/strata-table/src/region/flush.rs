//! Flushing a region: with writes held off for a moment, every family's memstore is frozen
//! and a new write-ahead log begins; the frozen memstores are then written as SSTables
//! (to `.tmp`, closed, renamed into the family's directory, opened) while writes go on. A log
//! is deleted once every entry in it is in a file.

use super::Region;
use super::wal::Wal;
use crate::error::Result;
use crate::memstore::MemStore;
use crate::schema::FamilyDescriptor;
use crate::sstable::{Source, SsTable, SsTableWriter};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use strata_client::CreateOptions;

impl Region {
    /// Asks for a flush in the background (one at a time).
    pub fn request_flush(self: &Arc<Self>) {
        if self.flush_pending.swap(true, Ordering::AcqRel) {
            return;
        }
        let region = self.clone();
        tokio::spawn(async move {
            let result = region.flush().await;
            region.flush_pending.store(false, Ordering::Release);
            match result {
                Ok(_) => region.request_compaction(),
                Err(e) => {
                    tracing::warn!(region = %region.info.name, error = %e, "flush failed; will retry")
                }
            }
        });
    }

    /// Whether some family's memstore holds edits and is older than `age` (a region that is
    /// seldom written is still flushed now and then, so its logs do not pile up).
    pub fn memstore_older_than(&self, age: std::time::Duration) -> bool {
        self.stores.iter().any(|s| {
            let active = s.active();
            !active.is_empty() && active.created().elapsed() >= age
        })
    }

    /// Writes every family's memstore to a new SSTable; false when there was nothing to
    /// flush.
    pub async fn flush(&self) -> Result<bool> {
        let _one = self.flushing.lock().await;
        let (frozen, old_wal) = {
            let mut wal = self.updates.write().await;
            self.check_open()?;
            let frozen: Vec<(usize, Arc<MemStore>)> = (self.stores.iter().enumerate())
                .filter_map(|(i, s)| s.freeze().map(|m| (i, m)))
                .collect();
            if frozen.is_empty() {
                return Ok(false);
            }
            let next = self.mvcc.last() + 1;
            let fresh =
                Wal::create(&self.fs, &self.dir.wal(next), self.settings.replication).await?;
            (frozen, wal.replace(fresh))
        };
        if let Some(old) = old_wal
            && let Err(e) = old.close().await
        {
            // Its entries are in the frozen memstores, about to be in files.
            tracing::warn!(region = %self.info.name, error = %e, "closing the old log failed");
        }
        for (i, memstore) in frozen {
            let store = &self.stores[i];
            let file = self.write_sstable(&store.family, &memstore).await?;
            tracing::info!(region = %self.info.name, family = %store.family.name_text(),
                cells = memstore.len(), bytes = file.length(), "flushed a memstore");
            store.flushed(Arc::new(file));
        }
        self.room.notify_waiters();
        self.delete_flushed_logs().await;
        Ok(true)
    }

    /// Writes `memstore` as an SSTable of `family` and opens it.
    pub(super) async fn write_sstable(
        &self,
        family: &FamilyDescriptor,
        memstore: &MemStore,
    ) -> Result<SsTable> {
        let tmp = self.dir.tmp_file();
        let options = CreateOptions {
            replication: self.settings.replication,
            create_parents: true,
            ..Default::default()
        };
        let file = self.fs.create(&tmp, options).await?;
        let mut writer = SsTableWriter::new(family, file);
        for (key, value) in memstore.iter() {
            writer.add(&key, &value).await?;
        }
        let (file, info) = writer.finish().await?;
        file.close().await?;
        let path = self.dir.sstable(&family.name, info.max_sequence);
        self.fs.rename(&tmp, &path).await?;
        self.open_sstable(family, &path).await
    }

    /// Opens the SSTable at `path` through the block cache.
    pub(super) async fn open_sstable(
        &self,
        family: &FamilyDescriptor,
        path: &str,
    ) -> Result<SsTable> {
        let source = Source::Strata(self.fs.open_positional(path).await?);
        SsTable::open(path, source, self.cache.clone(), family.in_memory).await
    }

    /// Deletes the logs all of whose entries are in files (every log but the current one,
    /// when nothing older than it waits in a memstore).
    pub(super) async fn delete_flushed_logs(&self) {
        let current = match self.updates.read().await.as_ref() {
            Some(wal) => wal.path().to_string(),
            None => return,
        };
        let oldest = (self.stores.iter())
            .map(|s| s.oldest_unflushed())
            .min()
            .unwrap_or(u64::MAX);
        let logs = match self.fs.list(&self.dir.wal_dir()).collect().await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(region = %self.info.name, error = %e, "cannot list the logs");
                return;
            }
        };
        let mut paths: Vec<String> = logs.into_iter().map(|s| s.path).collect();
        paths.sort();
        // A log's entries all come before the next log's first sequence id (the current
        // log's, after the last).
        let current_first = first_sequence(&current);
        for (i, log) in paths.iter().enumerate() {
            if *log == current {
                continue;
            }
            let next = match paths.get(i + 1) {
                Some(next) => first_sequence(next),
                None => current_first,
            };
            if next.is_none_or(|first| first > oldest) {
                break;
            }
            if let Err(e) = self.fs.delete(log, false).await {
                tracing::warn!(log = %log, error = %e, "cannot delete a flushed log");
            }
        }
    }
}

/// The first sequence id of the log at `path` (its name's number).
pub(super) fn first_sequence(path: &str) -> Option<u64> {
    let name = path.rsplit('/').next()?;
    name.split('-').next()?.parse().ok()
}
