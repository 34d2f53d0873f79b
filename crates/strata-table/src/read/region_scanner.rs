//! Rows of a region, as HBase's `RegionScannerImpl` reads them: for each row in range, the
//! filter's row-key test, then each family's cells through its matcher (family by family, in
//! name order), then the filter's row tests; rows come whole or cut into batches of cells,
//! forward or reversed, up to a limit of rows.

use super::matcher::{MatchCode, MatchSettings, RowMatcher};
use super::store_scanner::StoreScanner;
use crate::cell::{Cell, CellKey};
use crate::error::Result;
use crate::filter::Filter;
use bytes::Bytes;
use std::collections::VecDeque;

/// One family as a read sees it.
#[derive(Debug)]
pub struct FamilyRead {
    /// The family's name.
    pub name: Bytes,
    /// What its matcher applies.
    pub settings: MatchSettings,
    /// Its merged cells.
    pub store: StoreScanner,
}

/// How a region scanner walks and cuts.
#[derive(Debug, Clone, Default)]
pub struct ScanBounds {
    /// The first row (reversed: the highest), inclusive; empty: no bound.
    pub start_row: Bytes,
    /// The end (reversed: the lower end), exclusive; empty: no bound.
    pub stop_row: Bytes,
    /// Rows in descending order.
    pub reversed: bool,
    /// Cells per result; 0: whole rows.
    pub batch: usize,
    /// Rows in all; 0: no limit.
    pub limit: usize,
    /// The region's first row (inclusive; empty: none): no row below it is read.
    pub region_start: Bytes,
    /// The region's end (exclusive; empty: none): no row at or above it is read.
    pub region_end: Bytes,
}

/// Reads rows of one region.
#[derive(Debug)]
pub struct RegionScanner {
    families: Vec<FamilyRead>,
    filter: Option<Filter>,
    bounds: ScanBounds,
    /// Forward: positioned yet. Reversed: the row below which the next row is looked for.
    started: bool,
    below: Option<Bytes>,
    rows: usize,
    done: bool,
    pending: VecDeque<Vec<Cell>>,
}

impl RegionScanner {
    /// A scanner over `families` (in name order).
    pub fn new(families: Vec<FamilyRead>, filter: Option<Filter>, bounds: ScanBounds) -> Self {
        RegionScanner {
            families,
            filter,
            bounds,
            started: false,
            below: None,
            rows: 0,
            done: false,
            pending: VecDeque::new(),
        }
    }

    /// The next result (a row, or a batch of its cells); `None` when the scan is over.
    pub async fn next(&mut self) -> Result<Option<Vec<Cell>>> {
        loop {
            if let Some(result) = self.pending.pop_front() {
                return Ok(Some(result));
            }
            if self.done
                || (self.bounds.limit > 0 && self.rows >= self.bounds.limit)
                || self
                    .filter
                    .as_ref()
                    .is_some_and(Filter::filter_all_remaining)
            {
                self.done = true;
                return Ok(None);
            }
            let Some(row) = self.next_row_key().await? else {
                self.done = true;
                return Ok(None);
            };
            if let Some(f) = self.filter.as_mut() {
                f.reset();
                if f.filter_row_key(&row, self.bounds.reversed) {
                    self.pass_row(&row).await?;
                    continue;
                }
            }
            let mut cells = Vec::new();
            for i in 0..self.families.len() {
                self.read_family_row(i, &row, &mut cells).await?;
            }
            if let Some(f) = self.filter.as_mut() {
                f.filter_row_cells(&mut cells);
                if !cells.is_empty() && f.filter_row() {
                    continue;
                }
            }
            if cells.is_empty() {
                continue;
            }
            self.rows += 1;
            match self.bounds.batch {
                0 => return Ok(Some(cells)),
                n => {
                    let mut cells = cells.into_iter().peekable();
                    while cells.peek().is_some() {
                        self.pending.push_back(cells.by_ref().take(n).collect());
                    }
                }
            }
        }
    }

    /// The next row in the scan's direction, with every family positioned at its start.
    async fn next_row_key(&mut self) -> Result<Option<Bytes>> {
        if self.bounds.reversed {
            return self.previous_row_key().await;
        }
        if !self.started {
            self.started = true;
            let start = (&self.bounds.start_row)
                .max(&self.bounds.region_start)
                .clone();
            let first = CellKey::first_on_row(start);
            for family in &mut self.families {
                family.store.seek(&first).await?;
            }
        }
        let row = self
            .families
            .iter()
            .filter_map(|f| f.store.peek().map(|(k, _)| &k.row))
            .min()
            .cloned();
        let below = |bound: &Bytes, r: &Bytes| bound.is_empty() || r < bound;
        Ok(row.filter(|r| below(&self.bounds.stop_row, r) && below(&self.bounds.region_end, r)))
    }

    async fn previous_row_key(&mut self) -> Result<Option<Bytes>> {
        let bound = if self.started {
            self.below.clone()
        } else {
            self.started = true;
            let from_start = (!self.bounds.start_row.is_empty()).then(|| {
                let mut after = self.bounds.start_row.to_vec();
                after.push(0);
                Bytes::from(after)
            });
            let end = Some(self.bounds.region_end.clone()).filter(|e| !e.is_empty());
            match (from_start, end) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        };
        let mut row: Option<Bytes> = None;
        for family in &self.families {
            if let Some(r) = family.store.last_row_before(bound.as_ref()).await?
                && row.as_ref().is_none_or(|best| r > *best)
            {
                row = Some(r);
            }
        }
        let Some(row) = row else {
            return Ok(None);
        };
        if (!self.bounds.stop_row.is_empty() && row <= self.bounds.stop_row)
            || row < self.bounds.region_start
        {
            return Ok(None);
        }
        let first = CellKey::first_on_row(row.clone());
        for family in &mut self.families {
            family.store.seek(&first).await?;
        }
        self.below = Some(row.clone());
        Ok(Some(row))
    }

    /// Reads family `i`'s cells of `row` through its matcher into `cells`, leaving its store
    /// past the row.
    async fn read_family_row(
        &mut self,
        i: usize,
        row: &Bytes,
        cells: &mut Vec<Cell>,
    ) -> Result<()> {
        let family = &mut self.families[i];
        let mut matcher = RowMatcher::new(&family.settings);
        while let Some((key, value)) = family.store.peek() {
            if key.row != *row {
                break;
            }
            let (key, value) = (key.clone(), value.clone());
            let name = &family.name;
            let code = matcher.decide(&key, self.filter.as_mut(), || {
                Cell::from_key(name, &key, value.clone())
            });
            if code.includes() {
                let cell = Cell::from_key(name, &key, value);
                cells.push(match &self.filter {
                    Some(f) => f.transform_cell(cell),
                    None => cell,
                });
            }
            match code {
                MatchCode::Include | MatchCode::Skip => family.store.advance().await?,
                MatchCode::IncludeAndSeekNextCol | MatchCode::SeekNextCol => {
                    while family
                        .store
                        .peek()
                        .is_some_and(|(k, _)| k.row == *row && k.qualifier == key.qualifier)
                    {
                        family.store.advance().await?;
                    }
                }
                MatchCode::IncludeAndSeekNextRow | MatchCode::SeekNextRow => break,
            }
        }
        pass_row(&mut family.store, row).await
    }

    /// Moves every family past `row`.
    async fn pass_row(&mut self, row: &Bytes) -> Result<()> {
        for family in &mut self.families {
            pass_row(&mut family.store, row).await?;
        }
        Ok(())
    }
}

/// Moves `store` past `row` if it is still in it.
async fn pass_row(store: &mut StoreScanner, row: &Bytes) -> Result<()> {
    if store.peek().is_some_and(|(k, _)| k.row == *row) {
        let mut next = row.to_vec();
        next.push(0);
        store
            .seek(&CellKey::first_on_row(Bytes::from(next)))
            .await?;
    }
    Ok(())
}
