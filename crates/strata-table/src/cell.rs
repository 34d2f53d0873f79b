//! Cells, HBase's unit of data: a value at (row, family:qualifier, timestamp), or a delete
//! marker. Inside one column family's store a cell is keyed by [`CellKey`], ordered as HBase
//! orders KeyValues: row and qualifier ascending (unsigned bytes), then the newest timestamp
//! first, delete markers before puts of the same timestamp, and the latest write first.

use bytes::Bytes;
use std::cmp::Ordering;

/// What a cell is: a value, or a delete marker of some scope. The codes are HBase's
/// `KeyValue.Type` codes (ordering by code descending puts markers before puts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum CellKind {
    /// A value.
    Put = 4,
    /// Deletes the one version of its column with its timestamp.
    Delete = 8,
    /// Deletes the versions of every column of its family with exactly its timestamp.
    DeleteFamilyVersion = 10,
    /// Deletes every version of its column up to its timestamp.
    DeleteColumn = 12,
    /// Deletes every version of every column of its family up to its timestamp.
    DeleteFamily = 14,
}

impl CellKind {
    /// The kind with HBase's code `code`.
    pub fn from_code(code: u8) -> Option<CellKind> {
        Some(match code {
            4 => CellKind::Put,
            8 => CellKind::Delete,
            10 => CellKind::DeleteFamilyVersion,
            12 => CellKind::DeleteColumn,
            14 => CellKind::DeleteFamily,
            _ => return None,
        })
    }

    /// Whether this is a delete marker.
    pub fn is_delete(self) -> bool {
        self != CellKind::Put
    }

    /// Whether the marker applies to a whole family (it carries an empty qualifier).
    pub fn is_family_delete(self) -> bool {
        matches!(self, CellKind::DeleteFamily | CellKind::DeleteFamilyVersion)
    }
}

/// The key of a cell within one column family's store.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CellKey {
    /// The row.
    pub row: Bytes,
    /// The column qualifier (empty for family delete markers).
    pub qualifier: Bytes,
    /// Milliseconds since the epoch, as the writer gave it or the server's clock.
    pub timestamp: i64,
    /// Value or marker.
    pub kind: CellKind,
    /// The region's sequence id of the mutation that wrote it: later writes sort first.
    pub sequence: u64,
}

impl Ord for CellKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.row
            .cmp(&other.row)
            .then_with(|| self.qualifier.cmp(&other.qualifier))
            .then_with(|| other.timestamp.cmp(&self.timestamp))
            .then_with(|| other.kind.cmp(&self.kind))
            .then_with(|| other.sequence.cmp(&self.sequence))
    }
}

impl PartialOrd for CellKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl CellKey {
    /// The first key of `row` in any store: nothing sorts before it within the row.
    pub fn first_on_row(row: Bytes) -> CellKey {
        CellKey {
            row,
            qualifier: Bytes::new(),
            timestamp: i64::MAX,
            kind: CellKind::DeleteFamily,
            sequence: u64::MAX,
        }
    }

    /// The first key of column `qualifier` of `row`.
    pub fn first_on_column(row: Bytes, qualifier: Bytes) -> CellKey {
        CellKey {
            row,
            qualifier,
            timestamp: i64::MAX,
            kind: CellKind::DeleteFamily,
            sequence: u64::MAX,
        }
    }

    /// The last possible key of column `qualifier` of `row`: the next column starts after it.
    pub fn last_on_column(row: Bytes, qualifier: Bytes) -> CellKey {
        CellKey {
            row,
            qualifier,
            timestamp: i64::MIN,
            kind: CellKind::Put,
            sequence: 0,
        }
    }

    /// Bytes this key takes in memory and in files (for sizing memstores and blocks).
    pub fn weight(&self) -> usize {
        self.row.len() + self.qualifier.len() + 8 + 1 + 8
    }
}

/// A cell as clients see it: with its family, without the store-internal sequence id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cell {
    /// The row.
    pub row: Bytes,
    /// The column family.
    pub family: Bytes,
    /// The column qualifier.
    pub qualifier: Bytes,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    /// Value or marker (reads return values only, raw scans markers too).
    pub kind: CellKind,
    /// The value (empty for markers).
    pub value: Bytes,
}

impl Cell {
    /// A value cell.
    pub fn put(
        row: impl Into<Bytes>,
        family: impl Into<Bytes>,
        qualifier: impl Into<Bytes>,
        timestamp: i64,
        value: impl Into<Bytes>,
    ) -> Cell {
        Cell {
            row: row.into(),
            family: family.into(),
            qualifier: qualifier.into(),
            timestamp,
            kind: CellKind::Put,
            value: value.into(),
        }
    }

    /// The cell of a store's `key` and `value` in `family`.
    pub fn from_key(family: &Bytes, key: &CellKey, value: Bytes) -> Cell {
        Cell {
            row: key.row.clone(),
            family: family.clone(),
            qualifier: key.qualifier.clone(),
            timestamp: key.timestamp,
            kind: key.kind,
            value,
        }
    }

    /// `family:qualifier`, as HBase's shell and Thrift name a column.
    pub fn column(&self) -> Vec<u8> {
        let mut column = Vec::with_capacity(self.family.len() + 1 + self.qualifier.len());
        column.extend_from_slice(&self.family);
        column.push(b':');
        column.extend_from_slice(&self.qualifier);
        column
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(row: &str, qualifier: &str, timestamp: i64, kind: CellKind, sequence: u64) -> CellKey {
        CellKey {
            row: Bytes::copy_from_slice(row.as_bytes()),
            qualifier: Bytes::copy_from_slice(qualifier.as_bytes()),
            timestamp,
            kind,
            sequence,
        }
    }

    #[test]
    fn keys_sort_as_hbase_sorts_key_values() {
        let mut keys = [
            key("r2", "", 1, CellKind::Put, 1),
            key("r1", "b", 5, CellKind::Put, 1),
            key("r1", "a", 3, CellKind::Put, 9),
            key("r1", "a", 5, CellKind::Put, 1),
            key("r1", "a", 5, CellKind::Delete, 1),
            key("r1", "a", 5, CellKind::Put, 2),
            key("r1", "", 7, CellKind::DeleteFamily, 1),
            key("r1", "a", 5, CellKind::DeleteColumn, 1),
        ];
        keys.sort();
        let expected = [
            key("r1", "", 7, CellKind::DeleteFamily, 1),
            key("r1", "a", 5, CellKind::DeleteColumn, 1),
            key("r1", "a", 5, CellKind::Delete, 1),
            key("r1", "a", 5, CellKind::Put, 2),
            key("r1", "a", 5, CellKind::Put, 1),
            key("r1", "a", 3, CellKind::Put, 9),
            key("r1", "b", 5, CellKind::Put, 1),
            key("r2", "", 1, CellKind::Put, 1),
        ];
        assert_eq!(keys, expected);
    }

    #[test]
    fn bounds_of_rows_and_columns_enclose_their_cells() {
        let cell = key("r", "q", 0, CellKind::Put, 3);
        let first = CellKey::first_on_row(Bytes::from_static(b"r"));
        let col_first = CellKey::first_on_column(cell.row.clone(), cell.qualifier.clone());
        let col_last = CellKey::last_on_column(cell.row.clone(), cell.qualifier.clone());
        assert!(first < cell && col_first < cell && cell < col_last);
        assert!(col_last < key("r", "q\0", i64::MAX, CellKind::DeleteFamily, u64::MAX));
        for code in [4u8, 8, 10, 12, 14] {
            assert_eq!(CellKind::from_code(code).map(|k| k as u8), Some(code));
        }
        assert_eq!(CellKind::from_code(5), None);
    }
}
