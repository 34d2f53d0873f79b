//! What a read asks for, as HBase's `Scan` and `Get` say it: a row range (forward or
//! reversed), the columns, a time range, how many versions, a filter, and how results are cut
//! (cells per result, rows in all).

use crate::filter::Filter;
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet};

/// A read over a range of rows.
#[derive(Debug, Clone)]
pub struct Scan {
    /// The first row (inclusive; for a reversed scan the highest row). Empty: from the start
    /// (the end).
    pub start_row: Bytes,
    /// Where it stops (exclusive; for a reversed scan the lower bound). Empty: no bound.
    pub stop_row: Bytes,
    /// Rows in descending order.
    pub reversed: bool,
    /// Families read, each whole (`None`) or some of its qualifiers; empty: every family.
    pub columns: BTreeMap<Bytes, Option<BTreeSet<Bytes>>>,
    /// Timestamps read: `[min, max)`.
    pub time_range: (i64, i64),
    /// Versions per column (at most the family's).
    pub max_versions: u32,
    /// A filter over rows and cells, with the filter string it was parsed from.
    pub filter: Option<ScanFilter>,
    /// At most this many cells per result (a row may then come in parts); 0: whole rows.
    pub batch: usize,
    /// At most this many rows in all; 0: no limit.
    pub limit: usize,
}

impl Default for Scan {
    fn default() -> Self {
        Scan {
            start_row: Bytes::new(),
            stop_row: Bytes::new(),
            reversed: false,
            columns: BTreeMap::new(),
            time_range: (0, i64::MAX),
            max_versions: 1,
            filter: None,
            batch: 0,
            limit: 0,
        }
    }
}

impl Scan {
    /// A read of the one row `row` (HBase's `Get`).
    pub fn get(row: impl Into<Bytes>) -> Scan {
        let row = row.into();
        let mut stop = row.to_vec();
        stop.push(0);
        Scan {
            start_row: row,
            stop_row: stop.into(),
            ..Scan::default()
        }
    }

    /// A scan of the rows starting with `prefix` (HBase's `setRowPrefixFilter`).
    pub fn prefix(prefix: &[u8]) -> Scan {
        Scan {
            start_row: Bytes::copy_from_slice(prefix),
            stop_row: Bytes::from(row_after_prefix(prefix)),
            ..Scan::default()
        }
    }

    /// Reads `family` whole.
    pub fn add_family(&mut self, family: impl Into<Bytes>) -> &mut Scan {
        self.columns.insert(family.into(), None);
        self
    }

    /// Reads `family:qualifier` (a family already read whole stays whole).
    pub fn add_column(
        &mut self,
        family: impl Into<Bytes>,
        qualifier: impl Into<Bytes>,
    ) -> &mut Scan {
        let entry = self
            .columns
            .entry(family.into())
            .or_insert_with(|| Some(BTreeSet::new()));
        if let Some(qualifiers) = entry {
            qualifiers.insert(qualifier.into());
        }
        self
    }

    /// Whether this reads exactly one row (so bloom filters can skip files).
    pub fn single_row(&self) -> Option<&Bytes> {
        let is_get = !self.reversed
            && self.stop_row.len() == self.start_row.len() + 1
            && self.stop_row.starts_with(&self.start_row)
            && self.stop_row.last() == Some(&0);
        is_get.then_some(&self.start_row)
    }
}

/// A scan's filter: its HBase filter string (what travels) and the filter parsed from it.
#[derive(Debug, Clone)]
pub struct ScanFilter {
    /// The filter string.
    pub text: Bytes,
    /// The parsed filter.
    pub filter: Filter,
}

impl Scan {
    /// Filters the scan by `text`, a filter in HBase's filter language (checked here, so a
    /// malformed one fails before anything is sent).
    pub fn set_filter(&mut self, text: impl Into<Bytes>) -> crate::error::Result<&mut Scan> {
        let text = text.into();
        let filter = crate::filter::parse(&text)?;
        self.filter = Some(ScanFilter { text, filter });
        Ok(self)
    }
}

/// The first row after every row starting with `prefix` (empty when there is none: a prefix
/// of 0xff bytes runs to the end).
pub fn row_after_prefix(prefix: &[u8]) -> Vec<u8> {
    let mut stop = prefix.to_vec();
    while let Some(last) = stop.pop() {
        if last < 0xff {
            stop.push(last + 1);
            return stop;
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gets_prefixes_and_columns() {
        let get = Scan::get(&b"row"[..]);
        assert_eq!(get.single_row().map(|r| &r[..]), Some(&b"row"[..]));
        assert!(Scan::prefix(b"row").single_row().is_none());
        assert_eq!(row_after_prefix(b"ab"), b"ac");
        assert_eq!(row_after_prefix(b"a\xff"), b"b");
        assert_eq!(row_after_prefix(b"\xff\xff"), b"");
        let mut scan = Scan::default();
        scan.add_column(&b"cf"[..], &b"a"[..])
            .add_family(&b"other"[..]);
        scan.add_column(&b"other"[..], &b"x"[..]);
        assert_eq!(scan.columns[&b"cf"[..]].as_ref().map(|q| q.len()), Some(1));
        assert!(
            scan.columns[&b"other"[..]].is_none(),
            "a whole family stays whole"
        );
    }
}
