//! Reading an erasure-coded file. Each block group is read stripe by stripe; every internal
//! block being read has its own task streaming its cells, so they arrive in parallel. A healthy
//! read touches the data internal blocks only. When one is missing or fails (an error or a
//! checksum mismatch, which is reported), the read carries on from the same stripe with any
//! `data` available internal blocks and decodes the missing cells on the fly.

use super::{block_of, report_bad};
use crate::filesystem::FsInner;
use bytes::Bytes;
use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::Arc;
use strata_core::{Error, ExtendedBlock, Result};
use strata_ec::{Coder, EcPolicy, StripeGeometry};
use strata_proto::block_io::BlockReader;
use strata_proto::rpc::{LocatedBlock, WorkerAddress};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Cells an internal block's task may read ahead.
const READ_AHEAD_CELLS: usize = 2;

/// One internal block streaming its cells, one per stripe (empty where it has none).
struct UnitFeed {
    cells: mpsc::Receiver<Result<Bytes>>,
    task: JoinHandle<()>,
}

impl Drop for UnitFeed {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A unit that could not deliver a cell.
struct UnitFailure {
    unit: usize,
    error: Error,
}

/// The block group being read.
struct GroupRead {
    index: usize,
    block: ExtendedBlock,
    /// The next stripe to read.
    stripe: u64,
    /// Bytes to drop from the front of the next stripe (after a seek into its middle).
    skip: u64,
    /// Units that failed during this read.
    failed: Vec<usize>,
    /// Units being read, with their feeds.
    feeds: Vec<(usize, UnitFeed)>,
    /// Cells of the last stripe read, still to hand out.
    output: VecDeque<Bytes>,
}

/// An erasure-coded file open for reading.
pub(crate) struct StripedReader {
    fs: Arc<FsInner>,
    path: String,
    length: u64,
    policy: EcPolicy,
    geometry: StripeGeometry,
    coder: Arc<Coder>,
    groups: Vec<LocatedBlock>,
    position: u64,
    current: Option<GroupRead>,
}

impl StripedReader {
    pub(crate) fn new(
        fs: Arc<FsInner>,
        path: String,
        length: u64,
        policy: EcPolicy,
        groups: Vec<LocatedBlock>,
    ) -> StripedReader {
        StripedReader {
            fs,
            path,
            length,
            geometry: StripeGeometry::new(&policy),
            coder: Arc::new(Coder::new(policy)),
            policy,
            groups,
            position: 0,
            current: None,
        }
    }

    pub(crate) fn seek(&mut self, position: u64) {
        if position != self.position {
            self.position = position;
            self.current = None;
        }
    }

    pub(crate) async fn next_chunk(&mut self) -> Result<Option<Bytes>> {
        loop {
            if self.position >= self.length {
                return Ok(None);
            }
            if self.current.is_none() {
                self.current = Some(self.open_group()?);
            }
            let Some(group) = self.current.as_mut() else {
                continue;
            };
            if let Some(cell) = group.output.pop_front() {
                self.position += cell.len() as u64;
                return Ok(Some(cell));
            }
            if group.stripe >= self.geometry.stripes(group.block.length) {
                self.current = None;
                continue;
            }
            self.read_stripe().await?;
        }
    }

    fn open_group(&self) -> Result<GroupRead> {
        let Some(index) = self.groups.iter().position(|g| {
            g.offset <= self.position && self.position < g.offset + block_of(g).length
        }) else {
            return Err(Error::Internal(format!(
                "{}: no block group covers offset {}",
                self.path, self.position
            )));
        };
        let block = block_of(&self.groups[index]);
        let within = self.position - self.groups[index].offset;
        Ok(GroupRead {
            index,
            block,
            stripe: within / self.geometry.stripe_size(),
            skip: within % self.geometry.stripe_size(),
            failed: Vec::new(),
            feeds: Vec::new(),
            output: VecDeque::new(),
        })
    }

    /// The units to read from now: the data units when all are available, else any `data`
    /// available units, data units first.
    fn sources(&self, group: &GroupRead) -> Result<Vec<(usize, WorkerAddress)>> {
        let located = &self.groups[group.index];
        let mut available: Vec<(usize, WorkerAddress)> = located
            .indices
            .iter()
            .zip(&located.locations)
            .map(|(i, w)| (*i as usize, w.clone()))
            .filter(|(i, _)| *i < self.policy.units() && !group.failed.contains(i))
            .collect();
        available.sort_by_key(|(i, _)| *i);
        available.dedup_by_key(|(i, _)| *i);
        if available.len() < self.policy.data {
            return Err(Error::BlockUnavailable {
                path: self.path.clone(),
                block: group.block.id.to_string(),
                reason: format!(
                    "only {} of the {} internal blocks of a {} group can be read; {} are needed",
                    available.len(),
                    self.policy.units(),
                    self.policy,
                    self.policy.data
                ),
            });
        }
        available.truncate(self.policy.data);
        Ok(available)
    }

    fn start_feeds(&self, group: &mut GroupRead) -> Result<()> {
        group.feeds.clear();
        for (unit, worker) in self.sources(group)? {
            group
                .feeds
                .push((unit, self.feed(group.block, unit, worker, group.stripe)));
        }
        Ok(())
    }

    fn feed(
        &self,
        group: ExtendedBlock,
        unit: usize,
        worker: WorkerAddress,
        first_stripe: u64,
    ) -> UnitFeed {
        let (tx, rx) = mpsc::channel(READ_AHEAD_CELLS);
        let geometry = self.geometry;
        let fs = self.fs.clone();
        let task = tokio::spawn(async move {
            let length = geometry.internal_length(group.length, unit);
            let block = ExtendedBlock {
                id: group.id.internal(unit),
                length,
                ..group
            };
            let start = (first_stripe * geometry.cell).min(length);
            let mut reader = None;
            if start < length {
                match BlockReader::open(
                    block,
                    &worker,
                    start,
                    length,
                    &fs.client_name,
                    fs.config.socket_timeout,
                )
                .await
                {
                    Ok(r) => reader = Some(r),
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                }
            }
            for stripe in first_stripe..geometry.stripes(group.length) {
                let len = geometry.cell_length(group.length, stripe, unit) as usize;
                let cell = match reader.as_mut() {
                    Some(r) if len > 0 => match r.read_exact(len).await {
                        Ok(c) if c.len() == len => Ok(c),
                        Ok(_) => Err(Error::Protocol(format!("{} ended early", block.id))),
                        Err(e) => {
                            if matches!(e, Error::ChecksumMismatch { .. }) {
                                report_bad(&fs, block, &worker).await;
                            }
                            Err(e)
                        }
                    },
                    _ => Ok(Bytes::new()),
                };
                let failed = cell.is_err();
                if tx.send(cell).await.is_err() || failed {
                    return;
                }
            }
        });
        UnitFeed { cells: rx, task }
    }

    /// Reads the next stripe of the current group into its output, switching to decoding when
    /// a unit fails.
    async fn read_stripe(&mut self) -> Result<()> {
        let Some(mut group) = self.current.take() else {
            return Ok(());
        };
        loop {
            if group.feeds.is_empty() {
                self.start_feeds(&mut group)?;
            }
            match self.stripe_cells(&mut group).await {
                Ok(cells) => {
                    let mut skip = std::mem::take(&mut group.skip) as usize;
                    for mut cell in cells {
                        if skip >= cell.len() {
                            skip -= cell.len();
                            continue;
                        }
                        if skip > 0 {
                            cell = cell.slice(skip..);
                            skip = 0;
                        }
                        group.output.push_back(cell);
                    }
                    group.stripe += 1;
                    self.current = Some(group);
                    return Ok(());
                }
                Err(failure) => {
                    tracing::warn!(path = %self.path, group = %group.block.id, unit = failure.unit,
                        error = %failure.error, "internal block unreadable; decoding from the others");
                    group.failed.push(failure.unit);
                    group.feeds.clear();
                }
            }
        }
    }

    /// The data cells of the current stripe, decoded where a data unit is not being read.
    async fn stripe_cells(
        &self,
        group: &mut GroupRead,
    ) -> std::result::Result<Vec<Bytes>, UnitFailure> {
        let stripe = group.stripe;
        let length = group.block.length;
        let mut cells: Vec<Option<Bytes>> = vec![None; self.policy.units()];
        for (unit, feed) in group.feeds.iter_mut() {
            let received = feed.cells.recv().await.unwrap_or_else(|| {
                Err(Error::Internal(
                    "an internal block's reader stopped".to_string(),
                ))
            });
            match received {
                Ok(cell) => cells[*unit] = Some(cell),
                Err(error) => return Err(UnitFailure { unit: *unit, error }),
            }
        }
        let data = self.policy.data;
        let lost: Vec<usize> = (0..data).filter(|u| cells[*u].is_none()).collect();
        if !lost.is_empty() {
            let width = self.geometry.cell_length(length, stripe, 0) as usize;
            // Only the cells of a short last stripe need zero padding (and so a copy).
            let padded: Vec<Option<Cow<[u8]>>> = cells
                .iter()
                .map(|c| {
                    c.as_ref().map(|c| {
                        if c.len() == width {
                            Cow::Borrowed(&c[..])
                        } else {
                            let mut p = c.to_vec();
                            p.resize(width, 0);
                            Cow::Owned(p)
                        }
                    })
                })
                .collect();
            let inputs: Vec<Option<&[u8]>> = padded.iter().map(|p| p.as_deref()).collect();
            let mut rebuilt = vec![vec![0u8; width]; lost.len()];
            let mut outputs: Vec<&mut [u8]> =
                rebuilt.iter_mut().map(|r| r.as_mut_slice()).collect();
            self.coder
                .reconstruct(&inputs, &lost, &mut outputs)
                .map_err(|e| UnitFailure {
                    unit: lost[0],
                    error: Error::Internal(format!("decoding {}: {e}", group.block.id)),
                })?;
            drop(padded);
            for (unit, cell) in lost.iter().zip(rebuilt) {
                let mut cell = Bytes::from(cell);
                cell.truncate(self.geometry.cell_length(length, stripe, *unit) as usize);
                cells[*unit] = Some(cell);
            }
        }
        Ok(cells
            .into_iter()
            .take(data)
            .map(Option::unwrap_or_default)
            .collect())
    }
}
