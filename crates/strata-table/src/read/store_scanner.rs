//! One family's cells in key order, merged from its memstores and SSTables, showing only
//! cells of mutations that had completed when the read began (the read point).

use super::source::CellSource;
use crate::cell::CellKey;
use crate::error::Result;
use crate::memstore::MemStore;
use crate::sstable::SsTable;
use bytes::Bytes;
use std::sync::Arc;

/// A merged cursor over a family's memstores and files.
#[derive(Debug)]
pub struct StoreScanner {
    sources: Vec<CellSource>,
    read_point: u64,
}

impl StoreScanner {
    /// A scanner over `memstores` and `files` showing sequence ids up to `read_point`. A read
    /// of the one row `single_row` leaves out files whose bloom filter rules the row out (or,
    /// with `only_qualifier`, that row and column).
    pub fn new(
        memstores: &[Arc<MemStore>],
        files: &[Arc<SsTable>],
        read_point: u64,
        single_row: Option<&Bytes>,
        only_qualifier: Option<&Bytes>,
    ) -> StoreScanner {
        let mut sources: Vec<CellSource> = memstores
            .iter()
            .filter(|m| !m.is_empty())
            .map(|m| CellSource::memstore(m.clone()))
            .collect();
        sources.extend(
            files
                .iter()
                .filter(|f| match (single_row, only_qualifier) {
                    (Some(row), Some(q)) => f.may_contain_column(row, q),
                    (Some(row), None) => f.may_contain_row(row),
                    _ => true,
                })
                .map(|f| CellSource::file(f.clone())),
        );
        StoreScanner {
            sources,
            read_point,
        }
    }

    /// Positions every source at the first visible cell at or after `key`.
    pub async fn seek(&mut self, key: &CellKey) -> Result<()> {
        for i in 0..self.sources.len() {
            self.sources[i].seek(key).await?;
            self.skip_invisible(i).await?;
        }
        Ok(())
    }

    async fn skip_invisible(&mut self, i: usize) -> Result<()> {
        let source = &mut self.sources[i];
        while source
            .peek()
            .is_some_and(|(k, _)| k.sequence > self.read_point)
        {
            source.advance().await?;
        }
        Ok(())
    }

    fn current(&self) -> Option<usize> {
        let mut best: Option<(usize, &CellKey)> = None;
        for (i, source) in self.sources.iter().enumerate() {
            if let Some((key, _)) = source.peek()
                && best.is_none_or(|(_, b)| key < b)
            {
                best = Some((i, key));
            }
        }
        best.map(|(i, _)| i)
    }

    /// The current cell.
    pub fn peek(&self) -> Option<(&CellKey, &Bytes)> {
        self.current().and_then(|i| self.sources[i].peek())
    }

    /// Moves past the current cell.
    pub async fn advance(&mut self) -> Result<()> {
        if let Some(i) = self.current() {
            self.sources[i].advance().await?;
            self.skip_invisible(i).await?;
        }
        Ok(())
    }

    /// The highest row any source holds below `bound` (below nothing: the last row).
    pub async fn last_row_before(&self, bound: Option<&Bytes>) -> Result<Option<Bytes>> {
        let mut best: Option<Bytes> = None;
        for source in &self.sources {
            if let Some(row) = source.last_row_before(bound).await?
                && best.as_ref().is_none_or(|b| row > *b)
            {
                best = Some(row);
            }
        }
        Ok(best)
    }
}
