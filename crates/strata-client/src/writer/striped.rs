//! Writing an erasure-coded file. Data fills the cells of one stripe at a time; when a stripe
//! is full (or the file ends) its parity cells are computed and every cell is handed to the
//! stream of its internal block. Each internal block streams to its own worker in parallel, so
//! nothing but the current stripe is buffered. A stream that fails is given up: a block group
//! survives as long as its data-unit count of internal blocks is written, and the master
//! reconstructs the rest.

use crate::call;
use crate::filesystem::FsInner;
use crate::lease::LeaseGuard;
use bytes::{Bytes, BytesMut};
use std::sync::Arc;
use strata_core::{Error, ExtendedBlock, Result};
use strata_ec::{Coder, EcPolicy, StripeGeometry};
use strata_proto::block_io::BlockSink;
use strata_proto::data::WriteStage;
use strata_proto::rpc::{AddBlockRequest, WorkerAddress};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Cells queued per internal block stream.
const QUEUED_CELLS: usize = 4;

/// One internal block being written by its own task.
struct UnitStream {
    cells: mpsc::Sender<Bytes>,
    task: JoinHandle<Result<u64>>,
}

impl UnitStream {
    fn start(fs: &FsInner, block: ExtendedBlock, worker: WorkerAddress) -> UnitStream {
        let (tx, mut rx) = mpsc::channel::<Bytes>(QUEUED_CELLS);
        let client = fs.client_name.clone();
        let chunk = fs.chunk_size;
        let timeout = fs.config.socket_timeout;
        let task = tokio::spawn(async move {
            let mut sink = BlockSink::open(
                block,
                std::slice::from_ref(&worker),
                WriteStage::Create,
                &client,
                chunk,
                timeout,
            )
            .await?;
            while let Some(cell) = rx.recv().await {
                sink.send(&cell).await?;
            }
            sink.finish().await
        });
        UnitStream { cells: tx, task }
    }
}

/// The block group being written.
struct OpenGroup {
    block: ExtendedBlock,
    units: Vec<Option<UnitStream>>,
    /// Data bytes of the group in stripes already sent.
    sent: u64,
}

/// An erasure-coded file open for writing.
pub(crate) struct StripedWriter {
    fs: Arc<FsInner>,
    path: String,
    inode: u64,
    policy: EcPolicy,
    geometry: StripeGeometry,
    coder: Arc<Coder>,
    /// Data bytes per block group.
    capacity: u64,
    cells: Vec<BytesMut>,
    filled: u64,
    group: Option<OpenGroup>,
    previous: Option<ExtendedBlock>,
    written: u64,
    _lease: LeaseGuard,
}

impl StripedWriter {
    pub(crate) fn new(
        fs: Arc<FsInner>,
        path: String,
        inode: u64,
        policy: EcPolicy,
        block_size: u64,
        length: u64,
        lease: LeaseGuard,
    ) -> StripedWriter {
        let geometry = StripeGeometry::new(&policy);
        let capacity = block_size * policy.data as u64;
        StripedWriter {
            coder: Arc::new(Coder::new(policy)),
            cells: (0..policy.data)
                .map(|_| BytesMut::with_capacity(policy.cell as usize))
                .collect(),
            fs,
            path,
            inode,
            policy,
            geometry,
            capacity,
            filled: 0,
            group: None,
            previous: None,
            written: length,
            _lease: lease,
        }
    }

    pub(crate) fn bytes_written(&self) -> u64 {
        self.written
    }

    pub(crate) async fn write(&mut self, mut data: &[u8]) -> Result<()> {
        let cell = self.geometry.cell;
        while !data.is_empty() {
            if self.group.is_none() {
                self.start_group().await?;
            }
            let sent = self.group.as_ref().map_or(0, |g| g.sent);
            let index = (self.filled / cell) as usize;
            let room_in_cell = cell - self.filled % cell;
            let room_in_group = self.capacity - sent - self.filled;
            let n = (data.len() as u64).min(room_in_cell).min(room_in_group) as usize;
            self.cells[index].extend_from_slice(&data[..n]);
            data = &data[n..];
            self.filled += n as u64;
            self.written += n as u64;
            if self.filled == self.geometry.stripe_size() || sent + self.filled == self.capacity {
                self.flush_stripe().await?;
            }
            if self.group.as_ref().is_some_and(|g| g.sent == self.capacity) {
                self.finish_group().await?;
            }
        }
        Ok(())
    }

    async fn start_group(&mut self) -> Result<()> {
        let request = AddBlockRequest {
            path: self.path.clone(),
            inode_id: self.inode,
            client_name: self.fs.client_name.clone(),
            previous: self.previous.map(Into::into),
            excluded_workers: Vec::new(),
        };
        let located = call!(self.fs.master, client, add_block(request))?
            .block
            .ok_or_else(|| Error::Protocol("add block returned no block group".to_string()))?;
        let block = located
            .block
            .as_ref()
            .map(ExtendedBlock::from)
            .ok_or_else(|| Error::Protocol("located block group without a block".to_string()))?;
        let mut units: Vec<Option<UnitStream>> = (0..self.policy.units()).map(|_| None).collect();
        for (worker, index) in located.locations.iter().zip(&located.indices) {
            let index = *index as usize;
            if index < units.len() {
                let unit = ExtendedBlock {
                    id: block.id.internal(index),
                    length: self.capacity / self.policy.data as u64,
                    ..block
                };
                units[index] = Some(UnitStream::start(&self.fs, unit, worker.clone()));
            }
        }
        self.group = Some(OpenGroup {
            block,
            units,
            sent: 0,
        });
        Ok(())
    }

    /// Encodes the stripe being filled and hands every cell to its stream.
    async fn flush_stripe(&mut self) -> Result<()> {
        if self.filled == 0 {
            return Ok(());
        }
        let width = self.cells[0].len();
        let data: Vec<Bytes> = self.cells.iter_mut().map(|c| c.split().freeze()).collect();
        for cell in &mut self.cells {
            cell.reserve(self.geometry.cell as usize);
        }
        // The last stripe's short cells count as zero-padded for the parity.
        let padded: Option<Vec<Vec<u8>>> = data.iter().any(|d| d.len() < width).then(|| {
            data.iter()
                .map(|d| {
                    let mut p = d.to_vec();
                    p.resize(width, 0);
                    p
                })
                .collect()
        });
        let inputs: Vec<&[u8]> = match &padded {
            Some(p) => p.iter().map(Vec::as_slice).collect(),
            None => data.iter().map(|d| d.as_ref()).collect(),
        };
        let mut parity = vec![vec![0u8; width]; self.policy.parity];
        let mut outputs: Vec<&mut [u8]> = parity.iter_mut().map(|p| p.as_mut_slice()).collect();
        self.coder
            .encode(&inputs, &mut outputs)
            .map_err(|e| Error::Internal(format!("{}: encoding: {e}", self.path)))?;
        let cells = data.into_iter().chain(parity.into_iter().map(Bytes::from));
        let Some(group) = self.group.as_mut() else {
            return Err(Error::Internal(
                "a stripe without a block group".to_string(),
            ));
        };
        for (index, cell) in cells.enumerate() {
            if cell.is_empty() {
                continue;
            }
            let Some(unit) = group.units[index].as_ref() else {
                continue;
            };
            if unit.cells.send(cell).await.is_err() {
                group.units[index] = None;
            }
        }
        let alive = group.units.iter().filter(|u| u.is_some()).count();
        if alive < self.policy.data {
            return Err(Error::BlockUnavailable {
                path: self.path.clone(),
                block: group.block.id.to_string(),
                reason: format!(
                    "only {alive} of the {} internal block streams are still going; {} are needed",
                    self.policy.units(),
                    self.policy.data
                ),
            });
        }
        group.sent += self.filled;
        self.filled = 0;
        Ok(())
    }

    async fn finish_group(&mut self) -> Result<()> {
        self.flush_stripe().await?;
        let Some(group) = self.group.take() else {
            return Ok(());
        };
        let mut written = 0;
        let mut failures = Vec::new();
        for (index, unit) in group.units.into_iter().enumerate() {
            let Some(unit) = unit else {
                failures.push(format!("internal block {index}: its stream failed"));
                continue;
            };
            drop(unit.cells);
            match unit.task.await {
                Ok(Ok(_)) => written += 1,
                Ok(Err(e)) => failures.push(format!("internal block {index}: {e}")),
                Err(e) => failures.push(format!("internal block {index}: {e}")),
            }
        }
        if written < self.policy.data {
            return Err(Error::BlockUnavailable {
                path: self.path.clone(),
                block: group.block.id.to_string(),
                reason: failures.join("; "),
            });
        }
        if !failures.is_empty() {
            tracing::warn!(path = %self.path, group = %group.block.id, failures = ?failures,
                "some internal blocks were not written; the master will reconstruct them");
        }
        self.previous = Some(ExtendedBlock {
            length: group.sent,
            ..group.block
        });
        Ok(())
    }

    /// Sends what is buffered and finishes the last block group; returns it for closing.
    pub(crate) async fn finish(mut self) -> Result<Option<ExtendedBlock>> {
        if self.group.is_some() {
            self.finish_group().await?;
        }
        Ok(self.previous)
    }
}
