//! HBase's filters, as its `Filter` contract defines them: per row `reset`, `filter_row_key`,
//! per cell `filter_cell` (a [`ReturnCode`]) and `transform_cell`, then `filter_row_cells` and
//! `filter_row`, and `filter_all_remaining` to end a scan early. Each filter's answers are
//! those of its HBase 2 class; lists combine them as `FilterListWithAND` and
//! `FilterListWithOR` do. Filters come from HBase's filter language (`parse`).

mod compare;
mod parse;

pub use compare::{Comparator, CompareOp};
pub use parse::parse;

use crate::cell::Cell;
use bytes::Bytes;
use std::collections::BTreeSet;

/// What a filter says of a cell (HBase's `Filter.ReturnCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnCode {
    /// Keep the cell.
    Include,
    /// Keep it and skip the column's other versions.
    IncludeAndNextCol,
    /// Keep it and skip the rest of the row (in this family).
    IncludeAndSeekNextRow,
    /// Drop the cell.
    Skip,
    /// Drop it and the column's other versions.
    NextCol,
    /// Drop the rest of the row (in this family).
    NextRow,
    /// Drop it; the filter knows a later cell to go to (treated as `Skip` here, which reads
    /// more but returns the same).
    SeekNextUsingHint,
}

impl ReturnCode {
    /// Whether the cell is kept.
    pub fn includes(self) -> bool {
        matches!(
            self,
            ReturnCode::Include | ReturnCode::IncludeAndNextCol | ReturnCode::IncludeAndSeekNextRow
        )
    }
}

/// `SingleColumnValueFilter` and its excluding variant.
#[derive(Debug, Clone)]
pub struct ColumnValue {
    /// The tested column's family.
    pub family: Bytes,
    /// The tested column's qualifier.
    pub qualifier: Bytes,
    /// The test.
    pub op: CompareOp,
    /// Its operand.
    pub comparator: Comparator,
    /// Drop rows without the column (default false: they pass).
    pub filter_if_missing: bool,
    /// Test only the newest version (default true).
    pub latest_version_only: bool,
    /// `SingleColumnValueExcludeFilter`: the tested column is left out of the results.
    pub exclude: bool,
    found: bool,
    matched: bool,
}

/// A filter, with the state it keeps within a row and across a scan.
#[derive(Debug, Clone)]
pub enum Filter {
    /// `PrefixFilter`: rows starting with the prefix.
    Prefix {
        /// The prefix.
        prefix: Bytes,
        /// The row failed.
        row_out: bool,
        /// The scan has gone past every row with the prefix.
        passed: bool,
    },
    /// `ColumnPrefixFilter`.
    ColumnPrefix(Bytes),
    /// `MultipleColumnPrefixFilter` (prefixes sorted).
    MultipleColumnPrefix(BTreeSet<Bytes>),
    /// `RowFilter`.
    Row {
        /// The test.
        op: CompareOp,
        /// Its operand.
        comparator: Comparator,
        /// The row failed.
        row_out: bool,
    },
    /// `FamilyFilter`.
    Family(CompareOp, Comparator),
    /// `QualifierFilter`.
    Qualifier(CompareOp, Comparator),
    /// `ValueFilter`.
    Value(CompareOp, Comparator),
    /// `SingleColumnValueFilter` / `SingleColumnValueExcludeFilter`.
    ColumnValue(Box<ColumnValue>),
    /// `KeyOnlyFilter`: values dropped (or replaced by their length, 4 bytes big-endian).
    KeyOnly {
        /// Put the value's length in its place.
        length_as_value: bool,
    },
    /// `FirstKeyOnlyFilter`: the first cell of each row.
    FirstKeyOnly {
        /// This row's first cell was seen.
        found: bool,
    },
    /// `PageFilter`: at most `size` rows.
    Page {
        /// Rows per page.
        size: i64,
        /// Rows accepted so far.
        accepted: i64,
    },
    /// `ColumnCountGetFilter`: the first `limit` columns (of a get).
    ColumnCountGet {
        /// Columns to return.
        limit: i64,
        /// Columns seen in this row.
        count: i64,
    },
    /// `ColumnPaginationFilter`: `limit` columns of each row from the `offset`th.
    ColumnPagination {
        /// Columns per row.
        limit: i64,
        /// Columns skipped first.
        offset: i64,
        /// Columns seen in this row.
        count: i64,
    },
    /// `InclusiveStopFilter`: rows up to and including the stop row.
    InclusiveStop {
        /// The last row returned.
        stop: Bytes,
        /// The scan has passed it.
        done: bool,
    },
    /// `TimestampsFilter`: cells with one of these timestamps.
    Timestamps(BTreeSet<i64>),
    /// `ColumnRangeFilter`: qualifiers between two bounds.
    ColumnRange {
        /// The lower bound (none: from the first).
        min: Option<Bytes>,
        /// Whether the lower bound is included.
        min_inclusive: bool,
        /// The upper bound (none: to the last).
        max: Option<Bytes>,
        /// Whether the upper bound is included.
        max_inclusive: bool,
    },
    /// `WhileMatchFilter`: the scan ends at the first cell or row the inner filter drops.
    WhileMatch {
        /// The wrapped filter.
        inner: Box<Filter>,
        /// The inner filter has dropped something.
        ended: bool,
    },
    /// `SkipFilter`: a row is dropped whole when the inner filter drops any of its cells.
    Skip {
        /// The wrapped filter.
        inner: Box<Filter>,
        /// This row had a cell dropped.
        row_out: bool,
    },
    /// `FilterList`: every filter must pass (AND) or any one (OR).
    List(Box<FilterList>),
}

/// A `FilterList`.
#[derive(Debug, Clone)]
pub struct FilterList {
    /// `MUST_PASS_ALL` (AND) or `MUST_PASS_ONE` (OR).
    pub all: bool,
    /// The filters, in order.
    pub filters: Vec<Filter>,
    /// OR lists: each filter's last answer and the cell it was for, so a filter that said
    /// "next column" or "next row" is not asked again within that column or row.
    previous: Vec<Option<(ReturnCode, Cell)>>,
    /// The cell as the including filters transformed it.
    transformed: Option<Cell>,
}

impl FilterList {
    /// A list of `filters`, AND when `all`.
    pub fn new(all: bool, filters: Vec<Filter>) -> FilterList {
        let previous = vec![None; filters.len()];
        FilterList {
            all,
            filters,
            previous,
            transformed: None,
        }
    }
}

impl Filter {
    /// A `PrefixFilter`.
    pub fn prefix(prefix: impl Into<Bytes>) -> Filter {
        Filter::Prefix {
            prefix: prefix.into(),
            row_out: true,
            passed: false,
        }
    }

    /// A `SingleColumnValueFilter` (or, with `exclude`, `SingleColumnValueExcludeFilter`).
    pub fn column_value(
        family: Bytes,
        qualifier: Bytes,
        op: CompareOp,
        comparator: Comparator,
        filter_if_missing: bool,
        latest_version_only: bool,
        exclude: bool,
    ) -> Filter {
        Filter::ColumnValue(Box::new(ColumnValue {
            family,
            qualifier,
            op,
            comparator,
            filter_if_missing,
            latest_version_only,
            exclude,
            found: false,
            matched: false,
        }))
    }

    /// Starts a new row.
    pub fn reset(&mut self) {
        match self {
            Filter::Prefix { row_out, .. } => *row_out = true,
            Filter::Row { row_out, .. } => *row_out = false,
            Filter::ColumnValue(cv) => {
                cv.found = false;
                cv.matched = false;
            }
            Filter::FirstKeyOnly { found } => *found = false,
            Filter::ColumnCountGet { count, .. } | Filter::ColumnPagination { count, .. } => {
                *count = 0
            }
            Filter::WhileMatch { inner, .. } => inner.reset(),
            Filter::Skip { inner, row_out } => {
                inner.reset();
                *row_out = false;
            }
            Filter::List(list) => {
                for f in &mut list.filters {
                    f.reset();
                }
                list.previous.iter_mut().for_each(|p| *p = None);
            }
            _ => {}
        }
    }

    /// True when no later row can pass: the scan ends.
    pub fn filter_all_remaining(&self) -> bool {
        match self {
            Filter::Prefix { passed, .. } => *passed,
            Filter::Page { size, accepted } => accepted >= size,
            Filter::ColumnCountGet { limit, count } => count > limit,
            Filter::InclusiveStop { done, .. } => *done,
            Filter::WhileMatch { inner, ended } => *ended || inner.filter_all_remaining(),
            Filter::List(list) if list.all => list.filters.iter().any(Filter::filter_all_remaining),
            Filter::List(list) => {
                !list.filters.is_empty() && list.filters.iter().all(Filter::filter_all_remaining)
            }
            _ => false,
        }
    }

    /// True when the row `row` is dropped before any of its cells is read. `reversed` scans
    /// go down the rows.
    pub fn filter_row_key(&mut self, row: &[u8], reversed: bool) -> bool {
        match self {
            Filter::Prefix {
                prefix,
                row_out,
                passed,
            } => {
                if *passed {
                    return true;
                }
                if row.len() < prefix.len() {
                    let ordering = row.cmp(&prefix[..row.len()]);
                    // A shorter row sorts before the prefix's rows when it is a prefix of it.
                    let ordering = ordering.then(std::cmp::Ordering::Less);
                    *passed = if reversed {
                        ordering.is_lt()
                    } else {
                        ordering.is_gt()
                    };
                    return true;
                }
                let ordering = row[..prefix.len()].cmp(prefix);
                *passed = if reversed {
                    ordering.is_lt()
                } else {
                    ordering.is_gt()
                };
                *row_out = ordering.is_ne();
                *row_out
            }
            Filter::Row {
                op,
                comparator,
                row_out,
            } => {
                if !comparator.passes(*op, row) {
                    *row_out = true;
                }
                *row_out
            }
            Filter::InclusiveStop { stop, done } => {
                if *done {
                    return true;
                }
                let ordering = row.cmp(stop);
                *done = if reversed {
                    ordering.is_lt()
                } else {
                    ordering.is_gt()
                };
                *done
            }
            Filter::WhileMatch { inner, ended } => {
                if *ended || inner.filter_all_remaining() {
                    return true;
                }
                let out = inner.filter_row_key(row, reversed);
                *ended |= out;
                out
            }
            Filter::List(list) if list.all => {
                let mut out = false;
                for f in &mut list.filters {
                    if f.filter_all_remaining() || f.filter_row_key(row, reversed) {
                        out = true;
                    }
                }
                out
            }
            Filter::List(list) => {
                let mut out = true;
                for f in &mut list.filters {
                    if !f.filter_all_remaining() && !f.filter_row_key(row, reversed) {
                        out = false;
                    }
                }
                out
            }
            _ => false,
        }
    }

    /// What to do with `cell`.
    pub fn filter_cell(&mut self, cell: &Cell) -> ReturnCode {
        use ReturnCode::*;
        match self {
            Filter::Prefix { row_out, .. } | Filter::Row { row_out, .. } => {
                if *row_out {
                    NextRow
                } else {
                    Include
                }
            }
            Filter::ColumnPrefix(prefix) => column_prefix(&cell.qualifier, prefix),
            Filter::MultipleColumnPrefix(prefixes) => {
                let q = &cell.qualifier;
                match prefixes.range(..=q.clone()).next_back() {
                    Some(largest) if q.starts_with(largest) => Include,
                    Some(largest) if prefixes.range(largest.clone()..).nth(1).is_none() => NextRow,
                    _ => SeekNextUsingHint,
                }
            }
            Filter::Family(op, comparator) => {
                if comparator.passes(*op, &cell.family) {
                    Include
                } else {
                    NextRow
                }
            }
            Filter::Qualifier(op, comparator) => {
                if comparator.passes(*op, &cell.qualifier) {
                    Include
                } else {
                    Skip
                }
            }
            Filter::Value(op, comparator) => {
                if comparator.passes(*op, &cell.value) {
                    Include
                } else {
                    Skip
                }
            }
            Filter::ColumnValue(cv) => {
                if cv.matched {
                    return Include;
                }
                if cv.latest_version_only && cv.found {
                    return NextRow;
                }
                if cell.family != cv.family || cell.qualifier != cv.qualifier {
                    return Include;
                }
                cv.found = true;
                if !cv.comparator.passes(cv.op, &cell.value) {
                    return if cv.latest_version_only {
                        NextRow
                    } else {
                        Include
                    };
                }
                cv.matched = true;
                Include
            }
            Filter::KeyOnly { .. } | Filter::Page { .. } => Include,
            Filter::FirstKeyOnly { found } => {
                if *found {
                    NextRow
                } else {
                    *found = true;
                    Include
                }
            }
            Filter::ColumnCountGet { limit, count } => {
                *count += 1;
                if *count > *limit {
                    NextCol
                } else {
                    IncludeAndNextCol
                }
            }
            Filter::ColumnPagination {
                limit,
                offset,
                count,
            } => {
                if *count >= *offset + *limit {
                    return NextRow;
                }
                let code = if *count < *offset {
                    NextCol
                } else {
                    IncludeAndNextCol
                };
                *count += 1;
                code
            }
            Filter::InclusiveStop { done, .. } => {
                if *done {
                    NextRow
                } else {
                    Include
                }
            }
            Filter::Timestamps(stamps) => {
                if stamps.contains(&cell.timestamp) {
                    Include
                } else if stamps.first().is_some_and(|min| cell.timestamp < *min) {
                    NextCol
                } else {
                    Skip
                }
            }
            Filter::ColumnRange {
                min,
                min_inclusive,
                max,
                max_inclusive,
            } => {
                let q = &cell.qualifier[..];
                if let Some(min) = min {
                    match q.cmp(min) {
                        std::cmp::Ordering::Less => return SeekNextUsingHint,
                        std::cmp::Ordering::Equal if !*min_inclusive => return NextCol,
                        _ => {}
                    }
                }
                match max {
                    None => Include,
                    Some(max) => {
                        let ordering = q.cmp(max);
                        if ordering.is_lt() || (*max_inclusive && ordering.is_eq()) {
                            Include
                        } else {
                            NextRow
                        }
                    }
                }
            }
            Filter::WhileMatch { inner, ended } => {
                let code = inner.filter_cell(cell);
                *ended |= code != Include;
                code
            }
            Filter::Skip { inner, row_out } => {
                let code = inner.filter_cell(cell);
                *row_out |= code != Include;
                code
            }
            Filter::List(list) => list.filter_cell(cell),
        }
    }

    /// The cell as returned (a `KeyOnlyFilter` drops its value).
    pub fn transform_cell(&self, cell: Cell) -> Cell {
        match self {
            Filter::KeyOnly { length_as_value } => {
                let value = if *length_as_value {
                    Bytes::copy_from_slice(&(cell.value.len() as u32).to_be_bytes())
                } else {
                    Bytes::new()
                };
                Cell { value, ..cell }
            }
            Filter::WhileMatch { inner, .. } | Filter::Skip { inner, .. } => {
                inner.transform_cell(cell)
            }
            Filter::List(list) => match &list.transformed {
                Some(t) if t.row == cell.row && t.qualifier == cell.qualifier => t.clone(),
                _ => cell,
            },
            _ => cell,
        }
    }

    /// Edits a row's cells before it is returned (the excluding column value filter drops
    /// the tested column).
    pub fn filter_row_cells(&mut self, cells: &mut Vec<Cell>) {
        match self {
            Filter::ColumnValue(cv) if cv.exclude => {
                cells.retain(|c| c.family != cv.family || c.qualifier != cv.qualifier)
            }
            Filter::WhileMatch { inner, .. } | Filter::Skip { inner, .. } => {
                inner.filter_row_cells(cells)
            }
            Filter::List(list) => {
                for f in &mut list.filters {
                    f.filter_row_cells(cells);
                }
            }
            _ => {}
        }
    }

    /// True when the row just read (with some cells) is dropped.
    pub fn filter_row(&mut self) -> bool {
        match self {
            Filter::Prefix { row_out, .. }
            | Filter::Row { row_out, .. }
            | Filter::Skip { row_out, .. } => *row_out,
            Filter::ColumnValue(cv) => {
                if cv.found {
                    !cv.matched
                } else {
                    cv.filter_if_missing
                }
            }
            Filter::Page { size, accepted } => {
                *accepted += 1;
                *accepted > *size
            }
            Filter::WhileMatch { inner, ended } => {
                let out = inner.filter_row();
                *ended |= out;
                out
            }
            Filter::List(list) if list.all => {
                let mut out = false;
                for f in &mut list.filters {
                    out |= f.filter_row();
                }
                out
            }
            Filter::List(list) => {
                let mut out = !list.filters.is_empty();
                for f in &mut list.filters {
                    out &= f.filter_row();
                }
                out
            }
            _ => false,
        }
    }
}

impl FilterList {
    fn filter_cell(&mut self, cell: &Cell) -> ReturnCode {
        if self.filters.is_empty() {
            return ReturnCode::Include;
        }
        let mut transformed = cell.clone();
        if self.all {
            let mut rc = ReturnCode::Include;
            let mut hinted = false;
            for f in &mut self.filters {
                if f.filter_all_remaining() {
                    return ReturnCode::NextRow;
                }
                let local = f.filter_cell(cell);
                hinted |= local == ReturnCode::SeekNextUsingHint;
                rc = merge_and(rc, local);
                if rc.includes() {
                    transformed = f.transform_cell(transformed);
                }
            }
            self.transformed = Some(transformed);
            return if hinted {
                ReturnCode::SeekNextUsingHint
            } else {
                rc
            };
        }
        let mut rc: Option<ReturnCode> = None;
        let mut every_hint = true;
        for (i, f) in self.filters.iter_mut().enumerate() {
            if f.filter_all_remaining() || still_skipping(self.previous[i].as_ref(), cell) {
                every_hint = false;
                continue;
            }
            let local = f.filter_cell(cell);
            self.previous[i] = Some((local, cell.clone()));
            every_hint &= local == ReturnCode::SeekNextUsingHint;
            rc = Some(match rc {
                None => local,
                Some(rc) => merge_or(rc, local),
            });
            if local.includes() {
                transformed = f.transform_cell(transformed);
            }
        }
        self.transformed = Some(transformed);
        if every_hint {
            ReturnCode::SeekNextUsingHint
        } else {
            rc.unwrap_or(ReturnCode::Skip)
        }
    }
}

/// `ColumnPrefixFilter`'s answer for `qualifier`.
fn column_prefix(qualifier: &[u8], prefix: &[u8]) -> ReturnCode {
    if qualifier.len() < prefix.len() {
        return if qualifier <= &prefix[..qualifier.len()] {
            ReturnCode::SeekNextUsingHint
        } else {
            ReturnCode::NextRow
        };
    }
    match qualifier[..prefix.len()].cmp(prefix) {
        std::cmp::Ordering::Less => ReturnCode::SeekNextUsingHint,
        std::cmp::Ordering::Greater => ReturnCode::NextRow,
        std::cmp::Ordering::Equal => ReturnCode::Include,
    }
}

/// Whether an OR list skips asking a filter about `cell`: it said "next column" for this
/// column or "next row" for this row.
fn still_skipping(previous: Option<&(ReturnCode, Cell)>, cell: &Cell) -> bool {
    let Some((code, before)) = previous else {
        return false;
    };
    match code {
        ReturnCode::NextCol | ReturnCode::IncludeAndNextCol => {
            before.row == cell.row
                && before.family == cell.family
                && before.qualifier == cell.qualifier
        }
        ReturnCode::NextRow | ReturnCode::IncludeAndSeekNextRow => {
            before.row == cell.row && before.family == cell.family
        }
        _ => false,
    }
}

/// `FilterListWithAND.mergeReturnCode`.
fn merge_and(rc: ReturnCode, local: ReturnCode) -> ReturnCode {
    use ReturnCode::*;
    if rc == SeekNextUsingHint {
        return SeekNextUsingHint;
    }
    match local {
        SeekNextUsingHint => SeekNextUsingHint,
        Include => rc,
        IncludeAndNextCol => match rc {
            Include | IncludeAndNextCol => IncludeAndNextCol,
            IncludeAndSeekNextRow => IncludeAndSeekNextRow,
            Skip | NextCol => NextCol,
            _ => NextRow,
        },
        IncludeAndSeekNextRow => match rc {
            Include | IncludeAndNextCol | IncludeAndSeekNextRow => IncludeAndSeekNextRow,
            _ => NextRow,
        },
        Skip => match rc {
            Include | Skip => Skip,
            IncludeAndNextCol | NextCol => NextCol,
            _ => NextRow,
        },
        NextCol => match rc {
            Include | IncludeAndNextCol | Skip | NextCol => NextCol,
            _ => NextRow,
        },
        NextRow => NextRow,
    }
}

/// `FilterListWithOR.mergeReturnCode`.
fn merge_or(rc: ReturnCode, local: ReturnCode) -> ReturnCode {
    use ReturnCode::*;
    match local {
        Include => Include,
        IncludeAndNextCol => match rc {
            Include | Skip | SeekNextUsingHint => Include,
            _ => IncludeAndNextCol,
        },
        IncludeAndSeekNextRow => match rc {
            Include | Skip | SeekNextUsingHint => Include,
            IncludeAndNextCol | NextCol => IncludeAndNextCol,
            _ => IncludeAndSeekNextRow,
        },
        Skip => match rc {
            Include | IncludeAndNextCol | IncludeAndSeekNextRow => Include,
            _ => Skip,
        },
        NextCol => match rc {
            Include => Include,
            NextCol | NextRow => NextCol,
            IncludeAndNextCol | IncludeAndSeekNextRow => IncludeAndNextCol,
            _ => Skip,
        },
        NextRow => match rc {
            Skip | SeekNextUsingHint => Skip,
            other => other,
        },
        SeekNextUsingHint => match rc {
            Include | IncludeAndNextCol | IncludeAndSeekNextRow => Include,
            Skip | NextCol | NextRow => Skip,
            SeekNextUsingHint => SeekNextUsingHint,
        },
    }
}

#[cfg(test)]
mod tests;
