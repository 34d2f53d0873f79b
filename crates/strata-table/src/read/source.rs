//! Cursors over the two places a family's cells live: a memstore and an SSTable. Each one is
//! positioned with `seek`, shows its current cell with `peek` and moves with `advance`; for
//! reversed scans each can name the highest row it holds below a bound.

use crate::cell::CellKey;
use crate::error::Result;
use crate::memstore::MemStore;
use crate::sstable::{DataBlock, SsTable};
use bytes::Bytes;
use std::collections::VecDeque;
use std::ops::Bound;
use std::sync::Arc;

/// Cells taken from a memstore by a seek: a get's row fits, and little is copied for nothing.
const FIRST_MEM_BATCH: usize = 16;
/// The most cells taken from a memstore at a time (each refill of a long scan takes four
/// times the last, up to this).
const MAX_MEM_BATCH: usize = 512;

/// A cursor over one memstore or one file.
#[derive(Debug)]
pub enum CellSource {
    /// A memstore.
    Mem(MemCursor),
    /// An SSTable.
    File(FileCursor),
}

impl CellSource {
    /// A cursor over a memstore (positioned by the first `seek`).
    pub fn memstore(store: Arc<MemStore>) -> CellSource {
        CellSource::Mem(MemCursor {
            store,
            buffered: VecDeque::new(),
            last: None,
            exhausted: true,
            batch: FIRST_MEM_BATCH,
        })
    }

    /// A cursor over a file (positioned by the first `seek`).
    pub fn file(table: Arc<SsTable>) -> CellSource {
        CellSource::File(FileCursor {
            table,
            block: None,
            index: 0,
            at: 0,
            current: None,
        })
    }

    /// Positions the cursor at the first cell at or after `key`.
    pub async fn seek(&mut self, key: &CellKey) -> Result<()> {
        match self {
            CellSource::Mem(m) => {
                m.batch = FIRST_MEM_BATCH;
                m.buffered = m.store.batch_from(Bound::Included(key), m.batch).into();
                m.exhausted = m.buffered.len() < m.batch;
                m.last = None;
                Ok(())
            }
            CellSource::File(f) => f.seek(key).await,
        }
    }

    /// The current cell.
    pub fn peek(&self) -> Option<(&CellKey, &Bytes)> {
        match self {
            CellSource::Mem(m) => m.buffered.front().map(|(k, v)| (k, v)),
            CellSource::File(f) => f.current.as_ref().map(|(k, v)| (k, v)),
        }
    }

    /// Moves to the next cell.
    pub async fn advance(&mut self) -> Result<()> {
        match self {
            CellSource::Mem(m) => {
                if let Some(taken) = m.buffered.pop_front() {
                    m.last = Some(taken.0);
                }
                if m.buffered.is_empty()
                    && !m.exhausted
                    && let Some(last) = &m.last
                {
                    m.batch = (m.batch * 4).min(MAX_MEM_BATCH);
                    m.buffered = m.store.batch_from(Bound::Excluded(last), m.batch).into();
                    m.exhausted = m.buffered.len() < m.batch;
                }
                Ok(())
            }
            CellSource::File(f) => f.advance().await,
        }
    }

    /// The highest row this source holds below `bound` (below nothing: its last row).
    pub async fn last_row_before(&self, bound: Option<&Bytes>) -> Result<Option<Bytes>> {
        match self {
            CellSource::Mem(m) => {
                let key = bound.map(|b| CellKey::first_on_row(b.clone()));
                let before = match &key {
                    Some(k) => Bound::Excluded(k),
                    None => Bound::Unbounded,
                };
                Ok(m.store.batch_before(before, 1).pop().map(|(k, _)| k.row))
            }
            CellSource::File(f) => f.last_row_before(bound).await,
        }
    }
}

/// A cursor over a memstore: a batch of cells copied out at a time.
#[derive(Debug)]
pub struct MemCursor {
    store: Arc<MemStore>,
    buffered: VecDeque<(CellKey, Bytes)>,
    last: Option<CellKey>,
    exhausted: bool,
    /// Cells the next refill takes.
    batch: usize,
}

/// A cursor over an SSTable: the current block and the position in it.
#[derive(Debug)]
pub struct FileCursor {
    table: Arc<SsTable>,
    block: Option<Arc<DataBlock>>,
    index: usize,
    at: usize,
    /// The cell at `at`, decoded.
    current: Option<(CellKey, Bytes)>,
}

impl FileCursor {
    async fn seek(&mut self, key: &CellKey) -> Result<()> {
        self.block = None;
        self.current = None;
        if self.table.blocks() == 0 {
            return Ok(());
        }
        self.index = self.table.block_for(key);
        let block = self.table.block(self.index).await?;
        self.at = block.seek(key);
        self.block = Some(block);
        self.settle().await
    }

    /// Moves past the end of a block into the next one (or off the end).
    async fn settle(&mut self) -> Result<()> {
        self.current = None;
        while let Some(block) = &self.block {
            if self.at < block.len() {
                self.current = Some(block.cell(self.at));
                return Ok(());
            }
            self.index += 1;
            self.at = 0;
            self.block = if self.index < self.table.blocks() {
                Some(self.table.block(self.index).await?)
            } else {
                None
            };
        }
        Ok(())
    }

    async fn advance(&mut self) -> Result<()> {
        if self.block.is_some() {
            self.at += 1;
            self.settle().await?;
        }
        Ok(())
    }

    async fn last_row_before(&self, bound: Option<&Bytes>) -> Result<Option<Bytes>> {
        let blocks = self.table.blocks();
        if blocks == 0 {
            return Ok(None);
        }
        let (index, at) = match bound {
            None => {
                let block = self.table.block(blocks - 1).await?;
                (blocks - 1, block.len())
            }
            Some(row) => {
                let key = CellKey::first_on_row(row.clone());
                let index = self.table.block_for(&key);
                (index, self.table.block(index).await?.seek(&key))
            }
        };
        if at > 0 {
            return Ok(Some(self.table.block(index).await?.cell(at - 1).0.row));
        }
        if index == 0 {
            return Ok(None);
        }
        let previous = self.table.block(index - 1).await?;
        Ok(previous
            .len()
            .checked_sub(1)
            .map(|last| previous.cell(last).0.row))
    }
}
