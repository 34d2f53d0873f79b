//! The write path of a region. Under the rows' locks, each row mutation is checked, its
//! timestamps filled in, and it takes a sequence id; its cells enter the memstores and its log
//! entry the write-ahead log while the region's update lock is held shared (so a flush never
//! splits a mutation from its log entry). Once the log has them as durable as asked, the
//! mutations complete and become visible together; the writer returns once it can read them.

use super::Region;
use crate::cell::{Cell, CellKey, CellKind};
use crate::error::{Error, Result};
use crate::mutation::{Change, CheckAndMutate, Durability, Edit, Mutation, ReadModifyWrite};
use crate::proto::storage::{WalCell, WalEntry};
use crate::read::Scan;
use crate::schema::MAX_ROW_LENGTH;
use bytes::Bytes;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How long a write waits for a flush to make room before the region is called busy.
const ROOM_WAIT: Duration = Duration::from_secs(30);

impl Region {
    /// Applies one row mutation atomically.
    pub async fn mutate(self: &Arc<Self>, mutation: Mutation) -> Result<()> {
        self.mutate_rows(vec![mutation])
            .await
            .pop()
            .unwrap_or(Ok(()))
    }

    /// Applies several row mutations (each atomic on its own row), answering each.
    pub async fn mutate_rows(self: &Arc<Self>, mutations: Vec<Mutation>) -> Vec<Result<()>> {
        let mut answers: Vec<Option<Result<()>>> = vec![None; mutations.len()];
        let mut valid = Vec::new();
        for (i, m) in mutations.into_iter().enumerate() {
            match self.check_mutation(&m) {
                Ok(()) => valid.push((i, m)),
                Err(e) => answers[i] = Some(Err(e)),
            }
        }
        let _locks = self.rows.lock(valid.iter().map(|(_, m)| &m.row[..])).await;
        let mut prepared = Vec::with_capacity(valid.len());
        for (i, m) in valid {
            match self.resolve(m).await {
                Ok(m) => prepared.push((i, m)),
                Err(e) => answers[i] = Some(Err(e)),
            }
        }
        let indices: Vec<usize> = prepared.iter().map(|(i, _)| *i).collect();
        let result = self
            .apply(prepared.into_iter().map(|(_, m)| m).collect())
            .await;
        for i in indices {
            answers[i] = Some(result.clone());
        }
        answers.into_iter().map(|a| a.unwrap_or(Ok(()))).collect()
    }

    /// Applies `check.mutation` if the column's newest value passes the check; whether it did.
    pub async fn check_and_mutate(self: &Arc<Self>, check: CheckAndMutate) -> Result<bool> {
        self.check_mutation(&check.mutation)?;
        self.descriptor.family(&check.family)?;
        let row = check.mutation.row.clone();
        let _lock = self.rows.lock([&row[..]]).await;
        let current = self.newest(&row, &check.family, &check.qualifier).await?;
        if !check.passes(current.as_ref().map(|c| &c.value[..])) {
            return Ok(false);
        }
        let mutation = self.resolve(check.mutation).await?;
        self.apply(vec![mutation]).await?;
        Ok(true)
    }

    /// Increments counters or appends to values under the row's lock; returns the new cells.
    pub async fn read_modify_write(self: &Arc<Self>, change: ReadModifyWrite) -> Result<Vec<Cell>> {
        let probe = Mutation::new(change.row.clone());
        self.check_mutation(&probe)?;
        let _lock = self.rows.lock([&change.row[..]]).await;
        if let Some(answer) = change.nonce.and_then(|n| self.nonces.answer(&n)) {
            return Ok(answer);
        }
        let now = strata_core::now_millis();
        let mut mutation = Mutation::new(change.row.clone()).with_durability(change.durability);
        mutation.nonce = change.nonce;
        let mut results = Vec::new();
        for (family, qualifier, how) in &change.columns {
            self.descriptor.family(family)?;
            let current = self.newest(&change.row, family, qualifier).await?;
            let timestamp = current
                .as_ref()
                .map_or(now, |c| now.max(c.timestamp.saturating_add(1)));
            let value = match how {
                Change::Increment(delta) => {
                    let old = match &current {
                        None => 0,
                        Some(c) => counter(&c.value).ok_or_else(|| {
                            Error::InvalidRequest(format!(
                                "{}:{} holds {} bytes, not an 8-byte counter",
                                String::from_utf8_lossy(family),
                                String::from_utf8_lossy(qualifier),
                                c.value.len()
                            ))
                        })?,
                    };
                    let new = old.checked_add(*delta).ok_or_else(|| {
                        Error::InvalidRequest("the counter would overflow".to_string())
                    })?;
                    Bytes::copy_from_slice(&new.to_be_bytes())
                }
                Change::Append(tail) => {
                    let mut v = current
                        .as_ref()
                        .map(|c| c.value.to_vec())
                        .unwrap_or_default();
                    v.extend_from_slice(tail);
                    Bytes::from(v)
                }
            };
            results.push(Cell::put(
                change.row.clone(),
                family.clone(),
                qualifier.clone(),
                timestamp,
                value.clone(),
            ));
            mutation = mutation.put(family.clone(), qualifier.clone(), Some(timestamp), value);
        }
        self.check_mutation(&mutation)?;
        self.apply(vec![mutation]).await?;
        if let Some(nonce) = change.nonce {
            self.nonces.applied(nonce, results.clone());
        }
        Ok(results)
    }

    /// The newest visible cell of a column.
    async fn newest(&self, row: &Bytes, family: &Bytes, qualifier: &Bytes) -> Result<Option<Cell>> {
        let mut scan = Scan::get(row.clone());
        scan.add_column(family.clone(), qualifier.clone());
        Ok(self.get(scan).await?.into_iter().next())
    }

    /// Checks a mutation against the data model's limits and this region's rows.
    fn check_mutation(&self, m: &Mutation) -> Result<()> {
        self.check_open()?;
        if m.row.is_empty() {
            return Err(Error::InvalidRequest(
                "a row key cannot be empty".to_string(),
            ));
        }
        if m.row.len() > MAX_ROW_LENGTH {
            return Err(Error::InvalidRequest(format!(
                "a row key of {} bytes is longer than {MAX_ROW_LENGTH}",
                m.row.len()
            )));
        }
        if !self.info.contains(&m.row) {
            return Err(self.not_serving("the row is outside the region"));
        }
        for edit in &m.edits {
            let whole_row = edit.kind == CellKind::DeleteFamily && edit.family.is_empty();
            if !whole_row {
                self.descriptor.family(&edit.family)?;
            }
            if edit.value.len() > self.settings.max_value_size {
                return Err(Error::InvalidRequest(format!(
                    "a value of {} bytes is larger than the maximum of {}",
                    edit.value.len(),
                    self.settings.max_value_size
                )));
            }
            if edit.timestamp.is_some_and(|t| t < 0) {
                return Err(Error::InvalidRequest(
                    "timestamps cannot be negative".to_string(),
                ));
            }
            if edit.kind.is_family_delete() && !edit.qualifier.is_empty() {
                return Err(Error::InvalidRequest(
                    "a family delete marker has no qualifier".to_string(),
                ));
            }
        }
        Ok(())
    }

    /// Fills in timestamps as HBase does: the server's clock for puts and column or family
    /// markers, the newest version's for a version delete; a whole-row delete becomes a
    /// family marker per family.
    async fn resolve(&self, mut m: Mutation) -> Result<Mutation> {
        let now = strata_core::now_millis();
        let mut edits = Vec::with_capacity(m.edits.len());
        for edit in std::mem::take(&mut m.edits) {
            if edit.kind == CellKind::DeleteFamily && edit.family.is_empty() {
                for store in &self.stores {
                    edits.push(Edit {
                        family: store.family.name.clone(),
                        timestamp: Some(edit.timestamp.unwrap_or(now)),
                        ..edit.clone()
                    });
                }
                continue;
            }
            let timestamp = match (edit.timestamp, edit.kind) {
                (Some(t), _) => t,
                (None, CellKind::Delete) => self
                    .newest(&m.row, &edit.family, &edit.qualifier)
                    .await?
                    .map_or(now, |c| c.timestamp),
                (None, _) => now,
            };
            edits.push(Edit {
                timestamp: Some(timestamp),
                ..edit
            });
        }
        m.edits = edits;
        Ok(m)
    }

    /// Writes resolved mutations: sequence ids, memstores and log under the shared update
    /// lock, then the log's answer, then visibility.
    async fn apply(self: &Arc<Self>, mutations: Vec<Mutation>) -> Result<()> {
        if mutations.is_empty() {
            return Ok(());
        }
        self.wait_for_room().await?;
        let mut sequences = Vec::with_capacity(mutations.len());
        let ticket = {
            let wal = self.updates.read().await;
            let Some(wal) = wal.as_ref().filter(|_| !self.is_closed()) else {
                return Err(self.not_serving("the region is closed"));
            };
            let mut entries = Vec::new();
            let mut durability = Durability::SkipWal;
            for m in &mutations {
                let sequence = self.mvcc.begin();
                sequences.push(sequence);
                let mut entry = WalEntry {
                    sequence,
                    row: m.row.clone(),
                    cells: Vec::with_capacity(m.edits.len()),
                    written_ms: strata_core::now_millis(),
                    nonce_group: m.nonce.map_or(0, |n| n.group),
                    nonce: m.nonce.map_or(0, |n| n.value),
                };
                for edit in &m.edits {
                    let timestamp = edit.timestamp.unwrap_or(entry.written_ms);
                    self.insert(&m.row, edit, timestamp, sequence);
                    entry.cells.push(WalCell {
                        family: edit.family.clone(),
                        qualifier: edit.qualifier.clone(),
                        timestamp,
                        kind: edit.kind as u32,
                        value: edit.value.clone(),
                    });
                }
                let wanted = m.durability.effective();
                if wanted != Durability::SkipWal {
                    entries.push(entry);
                    durability = strongest(durability, wanted);
                }
            }
            match entries.is_empty() {
                true => None,
                false => Some(wal.submit(&entries, durability).await),
            }
        };
        if let Some(ticket) = ticket {
            let logged = match ticket {
                Ok(t) => t.wait().await,
                Err(e) => Err(e),
            };
            if let Err(e) = logged {
                // What is in the memstores is not durable: nobody may see it. The region
                // stops; reopening it replays what the log holds.
                self.closed.store(true, Ordering::Relaxed);
                tracing::error!(region = %self.info.name, error = %e,
                    "write-ahead log failed; closing the region");
                return Err(self.not_serving(&format!("its write-ahead log failed: {e}")));
            }
        }
        let last = sequences.iter().copied().max().unwrap_or(0);
        for sequence in sequences {
            self.mvcc.complete(sequence);
        }
        self.mvcc.wait_visible(last).await;
        if self.memstore_size() >= self.settings.flush_size {
            self.request_flush();
        }
        Ok(())
    }

    /// Puts one edit's cell into its family's active memstore.
    pub(super) fn insert(&self, row: &Bytes, edit: &Edit, timestamp: i64, sequence: u64) {
        if let Some(store) = self.stores.iter().find(|s| s.family.name == edit.family) {
            store.active().insert(
                CellKey {
                    row: row.clone(),
                    qualifier: edit.qualifier.clone(),
                    timestamp,
                    kind: edit.kind,
                    sequence,
                },
                edit.value.clone(),
            );
        }
    }

    /// Waits while the memstores are over their blocking size (asking for flushes) or a
    /// family has more files than its blocking count (asking for compactions).
    async fn wait_for_room(self: &Arc<Self>) -> Result<()> {
        let limit = self
            .settings
            .flush_size
            .saturating_mul(self.settings.blocking_factor.max(1));
        let deadline = tokio::time::Instant::now() + ROOM_WAIT;
        loop {
            let woken = self.room.notified();
            let memstores = self.memstore_size();
            let files = self
                .stores
                .iter()
                .map(|s| s.file_count())
                .max()
                .unwrap_or(0);
            let reason = if memstores >= limit {
                self.request_flush();
                format!("its memstores hold {memstores} bytes and flushes are behind")
            } else if files > self.settings.blocking_files {
                self.request_compaction();
                format!("a family has {files} files and compactions are behind")
            } else {
                return Ok(());
            };
            if tokio::time::timeout_at(deadline, woken).await.is_err() {
                return Err(Error::RegionBusy {
                    region: self.info.name.clone(),
                    reason,
                });
            }
        }
    }
}

/// The stronger of two durabilities.
fn strongest(a: Durability, b: Durability) -> Durability {
    let rank = |d: Durability| match d {
        Durability::SkipWal => 0,
        Durability::AsyncWal => 1,
        Durability::UseDefault | Durability::SyncWal => 2,
        Durability::FsyncWal => 3,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// An 8-byte big-endian counter.
fn counter(value: &[u8]) -> Option<i64> {
    <[u8; 8]>::try_from(value).ok().map(i64::from_be_bytes)
}
