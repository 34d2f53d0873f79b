//! A scan across a table's regions: region by region in row order (reversed: from the last),
//! `caching` results per request; when a region moves or its server dies mid-scan, the scan
//! is opened again where the region now is, after the last row returned.

use super::{Connection, Located, spec};
use crate::cell::Cell;
use crate::error::Result;
use crate::proto::rpc::{
    CloseScannerRequest, NextResultsRequest, OpenScannerRequest, ScanResponse,
};
use crate::read::Scan;
use crate::schema::TableName;
use crate::wire;
use bytes::Bytes;
use std::collections::VecDeque;
use std::time::Duration;

/// How long a scan keeps retrying a region that moved.
const RETRY_FOR: Duration = Duration::from_secs(60);

/// An open scan of a table.
#[derive(Debug)]
pub struct TableScanner {
    connection: Connection,
    table: TableName,
    scan: Scan,
    caching: u32,
    regions: Vec<Located>,
    /// Index of the region being read.
    at: usize,
    /// The open scanner on the region's server.
    open: Option<(u64, String)>,
    buffered: VecDeque<Vec<Cell>>,
    last_row: Option<Bytes>,
    rows: usize,
    done: bool,
}

impl TableScanner {
    pub(crate) async fn open(
        connection: Connection,
        table: TableName,
        scan: Scan,
        caching: u32,
    ) -> Result<TableScanner> {
        let mut regions = connection.regions(&table).await?;
        if scan.reversed {
            regions.reverse();
        }
        let mut scanner = TableScanner {
            connection,
            table,
            scan,
            caching: caching.max(1),
            regions,
            at: 0,
            open: None,
            buffered: VecDeque::new(),
            last_row: None,
            rows: 0,
            done: false,
        };
        scanner.skip_regions_outside();
        Ok(scanner)
    }

    /// Moves `at` past regions entirely before the scan's start (forward or reversed).
    fn skip_regions_outside(&mut self) {
        let start = &self.scan.start_row;
        while let Some(r) = self.regions.get(self.at) {
            let outside = if self.scan.reversed {
                !start.is_empty() && !r.region.start.is_empty() && r.region.start > *start
            } else {
                !start.is_empty() && !r.region.end.is_empty() && r.region.end <= *start
            };
            if !outside {
                break;
            }
            self.at += 1;
        }
    }

    /// The next result; `None` when the scan is over.
    pub async fn next(&mut self) -> Result<Option<Vec<Cell>>> {
        loop {
            if let Some(result) = self.buffered.pop_front() {
                let row = result.first().map(|c| c.row.clone());
                if row != self.last_row {
                    self.rows += 1;
                }
                self.last_row = row;
                return Ok(Some(result));
            }
            if self.done || (self.scan.limit > 0 && self.rows >= self.scan.limit) {
                self.close().await;
                return Ok(None);
            }
            self.fetch().await?;
        }
    }

    /// Gets the next results from the current region, moving on to the next region when it
    /// has no more.
    async fn fetch(&mut self) -> Result<()> {
        let deadline = tokio::time::Instant::now() + RETRY_FOR;
        loop {
            let Some(region) = self.regions.get(self.at).cloned() else {
                self.done = true;
                return Ok(());
            };
            if self.past_stop(&region) {
                self.done = true;
                return Ok(());
            }
            let attempt = match &self.open {
                Some((id, server)) => self.next_results(*id, server.clone()).await,
                None => self.open_on(&region).await,
            };
            match attempt {
                Ok(response) => {
                    self.open = response
                        .more
                        .then(|| (response.scanner, self.server_of(&region)));
                    for result in response.results {
                        let cells: Result<Vec<Cell>> =
                            result.cells.into_iter().map(wire::cell_from_wire).collect();
                        self.buffered.push_back(cells?);
                    }
                    if !response.more {
                        let finished = self.regions[self.at].clone();
                        self.move_past(&finished).await?;
                    }
                    return Ok(());
                }
                Err(e) if e.is_retriable() && tokio::time::Instant::now() < deadline => {
                    tracing::debug!(region = %region.region.name, error = %e, "scan retries on the region's new place");
                    self.open = None;
                    self.connection.forget(&self.table, &region.region.name);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    self.refresh().await?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Moves on to the region after `finished` (before it, reversed): the next one in the
    /// list when it adjoins, else the one the master says adjoins now (regions split or
    /// merged since the list was read), so no row between them is skipped.
    async fn move_past(&mut self, finished: &Located) -> Result<()> {
        let reversed = self.scan.reversed;
        let edge = if reversed {
            finished.region.start.clone()
        } else {
            finished.region.end.clone()
        };
        if edge.is_empty() {
            self.done = true;
            return Ok(());
        }
        let adjoins = |l: &Located| {
            if reversed {
                l.region.end == edge
            } else {
                l.region.start == edge
            }
        };
        if self.regions.get(self.at + 1).is_some_and(adjoins) {
            self.at += 1;
            return Ok(());
        }
        let mut regions = self.connection.regions(&self.table).await?;
        if reversed {
            regions.reverse();
        }
        self.at = regions.iter().position(adjoins).unwrap_or(regions.len());
        self.regions = regions;
        Ok(())
    }

    fn server_of(&self, region: &Located) -> String {
        self.open
            .as_ref()
            .map(|(_, s)| s.clone())
            .unwrap_or_else(|| region.server.clone())
    }

    /// Whether `region` lies wholly past the scan's stop row.
    fn past_stop(&self, region: &Located) -> bool {
        let stop = &self.scan.stop_row;
        if stop.is_empty() {
            return false;
        }
        if self.scan.reversed {
            !region.region.end.is_empty() && region.region.end <= *stop
        } else {
            region.region.start >= *stop
        }
    }

    /// Learns the regions again (they moved, split or merged), keeping the place.
    async fn refresh(&mut self) -> Result<()> {
        let mut regions = self.connection.regions(&self.table).await?;
        if self.scan.reversed {
            regions.reverse();
        }
        self.regions = regions;
        self.at = 0;
        let saved = self.scan.start_row.clone();
        if let Some(last) = &self.last_row {
            self.scan.start_row = last.clone();
        }
        self.skip_regions_outside();
        self.scan.start_row = saved;
        Ok(())
    }

    async fn open_on(&mut self, region: &Located) -> Result<ScanResponse> {
        let located = self
            .connection
            .locate(&self.table, &probe_row(region))
            .await?;
        let mut scan = self.scan.clone();
        if let Some(last) = &self.last_row {
            if scan.reversed {
                // Rows below the last one: a start just under it.
                scan.start_row = before(last);
            } else {
                let mut after = last.to_vec();
                after.push(0);
                scan.start_row = Bytes::from(after);
            }
        }
        if scan.limit > 0 {
            scan.limit -= self.rows.min(scan.limit);
        }
        let request = OpenScannerRequest {
            region: Some(spec(&located)),
            scan: Some(wire::scan_to_wire(&scan, false)),
            results: self.caching,
        };
        let mut client = self.connection.server(&located.server)?;
        let response = match client.open_scanner(request).await {
            Ok(response) => response.into_inner(),
            Err(status) => {
                self.connection.forget(&self.table, &located.region.name);
                return Err(wire::from_status(status, &located.server));
            }
        };
        self.regions[self.at] = located.clone();
        self.open = Some((response.scanner, located.server));
        Ok(response)
    }

    async fn next_results(&mut self, id: u64, server: String) -> Result<ScanResponse> {
        let mut client = self.connection.server(&server)?;
        Ok(client
            .next_results(NextResultsRequest {
                scanner: id,
                results: self.caching,
            })
            .await
            .map_err(|s| wire::from_status(s, &server))?
            .into_inner())
    }

    /// Closes the scanner on its server (it would expire anyway).
    pub async fn close(&mut self) {
        if let Some((id, server)) = self.open.take()
            && let Ok(mut client) = self.connection.server(&server)
        {
            let _ = client
                .close_scanner(CloseScannerRequest { scanner: id })
                .await;
        }
    }

    /// Every remaining result.
    pub async fn collect(mut self) -> Result<Vec<Vec<Cell>>> {
        let mut out = Vec::new();
        while let Some(r) = self.next().await? {
            out.push(r);
        }
        Ok(out)
    }
}

/// A row inside `region`, to locate it by.
fn probe_row(region: &Located) -> Bytes {
    region.region.start.clone()
}

/// The highest row bound below `row` for a reversed scan's start (inclusive): the row without
/// its last byte when that is 0, else the row with its last byte lowered and 0xff after it.
fn before(row: &Bytes) -> Bytes {
    let mut v = row.to_vec();
    match v.pop() {
        None => Bytes::new(),
        Some(0) => Bytes::from(v),
        Some(last) => {
            v.push(last - 1);
            v.resize(crate::schema::MAX_ROW_LENGTH, 0xff);
            Bytes::from(v)
        }
    }
}
