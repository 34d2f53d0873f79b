//! The memstore of one column family: recent cells in a concurrent skiplist
//! (`crossbeam-skiplist`), readable while writers insert. A full memstore is frozen and
//! flushed to an SSTable while a fresh one takes new writes.

use crate::cell::CellKey;
use bytes::Bytes;
use crossbeam_skiplist::SkipMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

/// Bytes of bookkeeping counted per cell on top of its key and value.
const CELL_OVERHEAD: usize = 48;

/// Recent cells of one family, sorted by [`CellKey`].
#[derive(Debug)]
pub struct MemStore {
    cells: SkipMap<CellKey, Bytes>,
    bytes: AtomicUsize,
    min_sequence: AtomicU64,
    max_sequence: AtomicU64,
    min_timestamp: AtomicI64,
    max_timestamp: AtomicI64,
    created: Instant,
}

impl Default for MemStore {
    fn default() -> Self {
        MemStore::new()
    }
}

impl MemStore {
    /// An empty memstore.
    pub fn new() -> MemStore {
        MemStore {
            cells: SkipMap::new(),
            bytes: AtomicUsize::new(0),
            min_sequence: AtomicU64::new(u64::MAX),
            max_sequence: AtomicU64::new(0),
            min_timestamp: AtomicI64::new(i64::MAX),
            max_timestamp: AtomicI64::new(i64::MIN),
            created: Instant::now(),
        }
    }

    /// Adds a cell.
    pub fn insert(&self, key: CellKey, value: Bytes) {
        self.bytes.fetch_add(
            key.weight() + value.len() + CELL_OVERHEAD,
            Ordering::Relaxed,
        );
        self.max_sequence.fetch_max(key.sequence, Ordering::Relaxed);
        self.min_sequence.fetch_min(key.sequence, Ordering::Relaxed);
        self.min_timestamp
            .fetch_min(key.timestamp, Ordering::Relaxed);
        self.max_timestamp
            .fetch_max(key.timestamp, Ordering::Relaxed);
        self.cells.insert(key, value);
    }

    /// Bytes the cells take (what flushes are sized by).
    pub fn size(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Whether it holds no cell.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// The highest sequence id inserted.
    pub fn max_sequence(&self) -> u64 {
        self.max_sequence.load(Ordering::Relaxed)
    }

    /// The lowest sequence id inserted (`u64::MAX` when empty): log entries before it are
    /// not needed for this memstore.
    pub fn min_sequence(&self) -> u64 {
        self.min_sequence.load(Ordering::Relaxed)
    }

    /// The oldest and newest timestamps inserted, if any cell was.
    pub fn timestamp_range(&self) -> Option<(i64, i64)> {
        let (min, max) = (
            self.min_timestamp.load(Ordering::Relaxed),
            self.max_timestamp.load(Ordering::Relaxed),
        );
        (min <= max).then_some((min, max))
    }

    /// When it was created (flushes also go by age).
    pub fn created(&self) -> Instant {
        self.created
    }

    /// Up to `limit` cells from `from` on (inclusive or not), in key order.
    pub fn batch_from(&self, from: Bound<&CellKey>, limit: usize) -> Vec<(CellKey, Bytes)> {
        self.cells
            .range((from, Bound::Unbounded))
            .take(limit)
            .map(|e| (e.key().clone(), e.value().clone()))
            .collect()
    }

    /// Up to `limit` cells before `before` (exclusive), nearest first: what a reversed scan
    /// walks.
    pub fn batch_before(&self, before: Bound<&CellKey>, limit: usize) -> Vec<(CellKey, Bytes)> {
        self.cells
            .range((Bound::Unbounded, before))
            .rev()
            .take(limit)
            .map(|e| (e.key().clone(), e.value().clone()))
            .collect()
    }

    /// Every cell in key order (for flushing a frozen memstore).
    pub fn iter(&self) -> impl Iterator<Item = (CellKey, Bytes)> + '_ {
        self.cells
            .iter()
            .map(|e| (e.key().clone(), e.value().clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::CellKind;

    fn key(row: &'static str, ts: i64, seq: u64) -> CellKey {
        CellKey {
            row: Bytes::from_static(row.as_bytes()),
            qualifier: Bytes::from_static(b"q"),
            timestamp: ts,
            kind: CellKind::Put,
            sequence: seq,
        }
    }

    #[test]
    fn cells_come_back_in_key_order_from_any_point() {
        let m = MemStore::new();
        assert!(m.timestamp_range().is_none());
        for (row, ts, seq) in [("b", 1, 1), ("a", 5, 2), ("a", 9, 3), ("c", 2, 4)] {
            m.insert(key(row, ts, seq), Bytes::from_static(b"v"));
        }
        let all: Vec<(String, i64)> = m
            .iter()
            .map(|(k, _)| (String::from_utf8_lossy(&k.row).into_owned(), k.timestamp))
            .collect();
        assert_eq!(
            all,
            vec![
                ("a".into(), 9),
                ("a".into(), 5),
                ("b".into(), 1),
                ("c".into(), 2)
            ]
        );
        let from_b = m.batch_from(Bound::Included(&key("b", i64::MAX, u64::MAX)), 10);
        assert_eq!(from_b.len(), 2);
        let after_b = m.batch_from(Bound::Excluded(&from_b[0].0), 1);
        assert_eq!(after_b[0].0.row, "c");
        let before_b = m.batch_before(Bound::Excluded(&from_b[0].0), 10);
        assert_eq!(
            before_b
                .iter()
                .map(|(k, _)| k.timestamp)
                .collect::<Vec<_>>(),
            vec![5, 9]
        );
        assert_eq!((m.min_sequence(), m.max_sequence()), (1, 4));
        assert_eq!(m.timestamp_range(), Some((1, 9)));
        assert!(m.size() > 4 * CELL_OVERHEAD);
    }
}
