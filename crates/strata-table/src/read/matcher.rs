//! Which cells of one family's row a read returns, decided cell by cell in key order as
//! HBase 2's `UserScanQueryMatcher` decides: delete markers are remembered (`ScanDeleteTracker`:
//! family markers for the row, one column marker at a time) and mask what they cover; the time
//! range, the TTL (unless among a column's `MIN_VERSIONS` newest) and the selected columns come
//! next; then versions are counted (duplicates of a timestamp skipped), and last the filter
//! has its say, its answer merged as `mergeFilterResponse` merges it.

use crate::cell::{Cell, CellKey, CellKind};
use crate::filter::{Filter, ReturnCode};
use crate::schema::FamilyDescriptor;
use bytes::Bytes;
use std::collections::BTreeSet;

/// What to do with a cell (HBase's `ScanQueryMatcher.MatchCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchCode {
    /// Return it.
    Include,
    /// Return it and skip the rest of its column.
    IncludeAndSeekNextCol,
    /// Return it and skip the rest of the row in this family.
    IncludeAndSeekNextRow,
    /// Pass over it.
    Skip,
    /// Pass over the rest of its column.
    SeekNextCol,
    /// Pass over the rest of the row in this family.
    SeekNextRow,
}

impl MatchCode {
    /// Whether the cell is returned.
    pub fn includes(self) -> bool {
        matches!(
            self,
            MatchCode::Include
                | MatchCode::IncludeAndSeekNextCol
                | MatchCode::IncludeAndSeekNextRow
        )
    }
}

/// The settings a family's matcher works with.
#[derive(Debug, Clone)]
pub struct MatchSettings {
    /// Timestamps read: `[min, max)`.
    pub time_range: (i64, i64),
    /// Versions per column: the read's, at most the family's.
    pub max_versions: u32,
    /// The family's `MIN_VERSIONS`.
    pub min_versions: u32,
    /// Cells older than this are expired (`now - TTL`; `i64::MIN` without a TTL).
    pub oldest_unexpired: i64,
    /// The qualifiers read, or all.
    pub qualifiers: Option<BTreeSet<Bytes>>,
}

impl MatchSettings {
    /// The settings for `family` under a read of `max_versions` in `time_range` at `now_ms`.
    pub fn new(
        family: &FamilyDescriptor,
        time_range: (i64, i64),
        max_versions: u32,
        qualifiers: Option<BTreeSet<Bytes>>,
        now_ms: i64,
    ) -> MatchSettings {
        let oldest_unexpired = match family.ttl {
            Some(ttl) => now_ms.saturating_sub(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)),
            None => i64::MIN,
        };
        MatchSettings {
            time_range,
            max_versions: max_versions.clamp(1, family.max_versions),
            min_versions: family.min_versions,
            oldest_unexpired,
            qualifiers,
        }
    }
}

/// The matcher of one family's cells within one row.
#[derive(Debug)]
pub struct RowMatcher<'a> {
    settings: &'a MatchSettings,
    family_stamp: Option<i64>,
    family_versions: BTreeSet<i64>,
    /// The column delete marker in force: qualifier, timestamp, kind.
    column_delete: Option<(Bytes, i64, CellKind)>,
    column: Option<Bytes>,
    versions: u32,
    last_included: Option<(i64, CellKind)>,
}

impl<'a> RowMatcher<'a> {
    /// A matcher for a new row.
    pub fn new(settings: &'a MatchSettings) -> RowMatcher<'a> {
        RowMatcher {
            settings,
            family_stamp: None,
            family_versions: BTreeSet::new(),
            column_delete: None,
            column: None,
            versions: 0,
            last_included: None,
        }
    }

    /// Decides on `key` (the next cell of the row in key order), consulting `filter` for
    /// cells that would be returned; `cell` builds the cell it sees.
    pub fn decide(
        &mut self,
        key: &CellKey,
        filter: Option<&mut Filter>,
        cell: impl FnOnce() -> Cell,
    ) -> MatchCode {
        let s = self.settings;
        let ts = key.timestamp;
        if key.kind.is_delete() {
            if ts >= s.time_range.0 {
                self.add_delete(key);
            }
            return MatchCode::Skip;
        }
        if let Some(code) = self.deleted(key) {
            return code;
        }
        if ts >= s.time_range.1 {
            return MatchCode::Skip;
        }
        if ts < s.time_range.0 {
            return MatchCode::SeekNextCol;
        }
        let expired = ts < s.oldest_unexpired;
        if expired && s.min_versions == 0 {
            return MatchCode::SeekNextCol;
        }
        if let Some(qualifiers) = &s.qualifiers
            && !qualifiers.contains(&key.qualifier)
        {
            return MatchCode::SeekNextCol;
        }
        let code = self.check_versions(key, expired);
        if !code.includes() {
            return code;
        }
        match filter {
            None => code,
            Some(f) => merge_filter_response(code, f.filter_cell(&cell())),
        }
    }

    fn add_delete(&mut self, key: &CellKey) {
        let ts = key.timestamp;
        if self.family_stamp.is_some_and(|stamp| ts <= stamp) {
            return;
        }
        match key.kind {
            CellKind::DeleteFamily => self.family_stamp = Some(ts),
            CellKind::DeleteFamilyVersion => {
                self.family_versions.insert(ts);
            }
            kind => {
                // A less general marker of the same column changes nothing.
                let weaker = self
                    .column_delete
                    .as_ref()
                    .is_some_and(|(q, _, k)| kind < *k && *q == key.qualifier);
                if !weaker {
                    self.column_delete = Some((key.qualifier.clone(), ts, kind));
                }
            }
        }
    }

    /// `ScanDeleteTracker.isDeleted`, and what a deleted cell means for the scan.
    fn deleted(&mut self, key: &CellKey) -> Option<MatchCode> {
        let ts = key.timestamp;
        if self.family_stamp.is_some_and(|stamp| ts <= stamp) {
            return Some(MatchCode::SeekNextCol);
        }
        if self.family_versions.contains(&ts) {
            return Some(MatchCode::Skip);
        }
        if let Some((qualifier, stamp, kind)) = &self.column_delete {
            if *qualifier != key.qualifier {
                self.column_delete = None;
            } else if *kind == CellKind::DeleteColumn {
                if ts <= *stamp {
                    return Some(MatchCode::SeekNextCol);
                }
            } else if ts == *stamp {
                return Some(MatchCode::Skip);
            } else if ts < *stamp {
                self.column_delete = None;
            }
        }
        None
    }

    /// `ScanWildcardColumnTracker.checkVersions`.
    fn check_versions(&mut self, key: &CellKey, expired: bool) -> MatchCode {
        if self.column.as_ref() != Some(&key.qualifier) {
            self.column = Some(key.qualifier.clone());
            self.versions = 0;
            self.last_included = None;
        } else if self.last_included == Some((key.timestamp, key.kind)) {
            return MatchCode::Skip;
        }
        self.versions += 1;
        if self.versions > self.settings.max_versions {
            return MatchCode::SeekNextCol;
        }
        if self.versions <= self.settings.min_versions || !expired {
            self.last_included = Some((key.timestamp, key.kind));
            MatchCode::Include
        } else {
            MatchCode::SeekNextCol
        }
    }
}

/// `UserScanQueryMatcher.mergeFilterResponse`.
fn merge_filter_response(code: MatchCode, filter: ReturnCode) -> MatchCode {
    match filter {
        ReturnCode::Skip => match code {
            MatchCode::Include => MatchCode::Skip,
            MatchCode::IncludeAndSeekNextCol => MatchCode::SeekNextCol,
            MatchCode::IncludeAndSeekNextRow => MatchCode::SeekNextRow,
            other => other,
        },
        ReturnCode::NextCol => match code {
            MatchCode::Include | MatchCode::IncludeAndSeekNextCol => MatchCode::SeekNextCol,
            MatchCode::IncludeAndSeekNextRow => MatchCode::SeekNextRow,
            other => other,
        },
        ReturnCode::NextRow => MatchCode::SeekNextRow,
        ReturnCode::SeekNextUsingHint => MatchCode::Skip,
        ReturnCode::Include => code,
        ReturnCode::IncludeAndNextCol => match code {
            MatchCode::Include => MatchCode::IncludeAndSeekNextCol,
            other => other,
        },
        ReturnCode::IncludeAndSeekNextRow => MatchCode::IncludeAndSeekNextRow,
    }
}
