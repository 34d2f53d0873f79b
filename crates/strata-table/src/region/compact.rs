//! Compactions merge a family's SSTables into one. A minor compaction takes a run of files
//! chosen as HBase's ratio policy chooses them (each no larger than 1.2 times the others
//! together, at least 3, at most 10) and keeps every cell; a major one takes every file and
//! keeps only what a read would see: no delete markers, no masked, expired (beyond the
//! minimum versions) or surplus versions. Output is written through the server's I/O budget,
//! renamed into place, and swapped for its inputs in one step; the inputs are deleted once
//! no read holds them. Only the region's own rows are written: a family that reads a parent
//! region's files through references is compacted whole, and its references go with it.

use super::Region;
use crate::cell::CellKey;
use crate::error::Result;
use crate::read::{MatchCode, MatchSettings, RowMatcher, StoreScanner};
use crate::sstable::{SsTable, SsTableWriter};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use strata_client::CreateOptions;

/// Files a store needs before a minor compaction is worth it.
pub const MIN_FILES: usize = 3;
/// Most files one minor compaction merges.
const MAX_FILES: usize = 10;
/// A file joins a minor compaction when it is at most this many times the others' size.
const RATIO: f64 = 1.2;

impl Region {
    /// Asks for a compaction in the background when a store has enough files.
    pub fn request_compaction(self: &Arc<Self>) {
        let due =
            (self.stores.iter()).any(|s| s.file_count() >= MIN_FILES || s.reference_count() > 0);
        if !due || self.compaction_pending.swap(true, Ordering::AcqRel) {
            return;
        }
        let region = self.clone();
        tokio::spawn(async move {
            let result = region.compact(false).await;
            region.compaction_pending.store(false, Ordering::Release);
            if let Err(e) = result {
                tracing::warn!(region = %region.info.name, error = %e, "compaction failed");
            }
        });
    }

    /// Compacts every family (major: all its files into one; a family reading a parent's
    /// files through references always has a major one); whether anything was merged.
    pub async fn compact(&self, major: bool) -> Result<bool> {
        let _one = self.compacting.lock().await;
        let mut merged = false;
        for i in 0..self.stores.len() {
            let files = self.stores[i].view().files;
            let major = major || files.iter().any(|f| f.is_reference());
            let files = select(&files, major);
            if files.is_empty() {
                continue;
            }
            self.compact_store(i, files, major).await?;
            merged = true;
        }
        self.room.notify_waiters();
        self.delete_retired().await;
        Ok(merged)
    }

    async fn compact_store(&self, i: usize, inputs: Vec<Arc<SsTable>>, major: bool) -> Result<()> {
        self.check_open()?;
        let store = &self.stores[i];
        let family = &store.family;
        let tmp = self.dir.tmp_file();
        let options = CreateOptions {
            replication: self.settings.replication,
            create_parents: true,
            ..Default::default()
        };
        let mut writer = SsTableWriter::new(family, self.fs.create(&tmp, options).await?);
        writer.set_major(major);
        let mut cells = StoreScanner::new(&[], &inputs, u64::MAX, None, None);
        cells
            .seek(&CellKey::first_on_row(self.info.start.clone()))
            .await?;
        let settings = MatchSettings::new(
            family,
            (0, i64::MAX),
            family.max_versions,
            None,
            strata_core::now_millis(),
        );
        let mut written_before = 0;
        // Files read through references hold the other child's rows too: they end here.
        while let Some((key, value)) = cells.peek()
            && self.info.contains(&key.row)
        {
            if !major {
                let (key, value) = (key.clone(), value.clone());
                writer.add(&key, &value).await?;
                cells.advance().await?;
            } else {
                let row = key.row.clone();
                let mut matcher = RowMatcher::new(&settings);
                while let Some((key, value)) = cells.peek() {
                    if key.row != row {
                        break;
                    }
                    let (key, value) = (key.clone(), value.clone());
                    let code = matcher.decide(&key, None, || {
                        crate::cell::Cell::from_key(&family.name, &key, value.clone())
                    });
                    if code.includes() {
                        writer.add(&key, &value).await?;
                    }
                    match code {
                        MatchCode::SeekNextCol | MatchCode::IncludeAndSeekNextCol => {
                            while cells
                                .peek()
                                .is_some_and(|(k, _)| k.row == row && k.qualifier == key.qualifier)
                            {
                                cells.advance().await?;
                            }
                        }
                        _ => cells.advance().await?,
                    }
                }
            }
            let written = writer.written();
            self.io_budget.spend(written - written_before).await;
            written_before = written;
            if self.is_closed() {
                drop(writer);
                let _ = self.fs.delete(&tmp, false).await;
                return Err(self.not_serving("closed during a compaction"));
            }
        }
        let (file, info) = writer.finish().await?;
        file.close().await?;
        self.check_open()?;
        let path = self.dir.sstable(&family.name, info.max_sequence);
        self.fs.rename(&tmp, &path).await?;
        let output = Arc::new(self.open_sstable(family, &path).await?);
        tracing::info!(region = %self.info.name, family = %family.name_text(), major,
            files = inputs.len(), cells = info.cells, bytes = output.length(), "compacted");
        store.replace(&inputs, output);
        Ok(())
    }

    /// Deletes files compacted away that no read holds any more (those still held go on a
    /// later call: the region server calls it with every report). Once the region is closed
    /// its files are another server's to manage, and this does nothing.
    pub async fn delete_retired(&self) {
        if !self.is_closed() {
            self.delete_unheld_retired().await;
        }
    }

    pub(super) async fn delete_unheld_retired(&self) {
        for store in &self.stores {
            for path in store.take_unheld_retired() {
                if let Err(e) = self.fs.delete(&path, false).await {
                    tracing::warn!(file = %path, error = %e, "cannot delete a compacted file");
                }
            }
        }
    }
}

/// The files to merge: all of them for a major compaction (when there are two or more, or one
/// still holding delete markers, written by a flush or read through a reference), else HBase's ratio selection over the
/// files from oldest to newest.
fn select(files: &[Arc<SsTable>], major: bool) -> Vec<Arc<SsTable>> {
    let mut files: Vec<Arc<SsTable>> = files.to_vec();
    files.sort_by_key(|f| f.info().max_sequence);
    if major {
        let needed = files.len() > 1
            || files.first().is_some_and(|f| {
                !f.info().major || f.info().delete_markers > 0 || f.is_reference()
            });
        return if needed { files } else { Vec::new() };
    }
    if files.len() < MIN_FILES {
        return Vec::new();
    }
    for start in 0..files.len() {
        let window = &files[start..files.len().min(start + MAX_FILES)];
        if window.len() < MIN_FILES {
            break;
        }
        let total: u64 = window.iter().map(|f| f.length()).sum();
        let fits = window
            .iter()
            .all(|f| f.length() as f64 <= RATIO * (total - f.length()) as f64);
        if fits {
            return window.to_vec();
        }
    }
    Vec::new()
}
