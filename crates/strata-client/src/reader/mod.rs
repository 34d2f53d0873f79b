//! Reading a file: a replicated file from the nearest replica of each block, an erasure-coded
//! file stripe by stripe from the data internal blocks, decoding on the fly when some are lost.

mod positional;
mod replicated;
mod striped;

use crate::call;
use crate::filesystem::FsInner;
use bytes::Bytes;
pub use positional::PositionalReader;
use replicated::ReplicatedReader;
use std::sync::Arc;
use strata_core::{BlockId, Error, ExtendedBlock, Result};
use strata_ec::EcPolicy;
use strata_proto::block_io::ask;
use strata_proto::data::{VisibleLength, request};
use strata_proto::rpc::{
    BadReplica, GetBlockLocationsRequest, LocatedBlock, ReportBadBlocksRequest,
    SyncMetadataRequest, WorkerAddress,
};
use striped::StripedReader;

enum Layout {
    Replicated(ReplicatedReader),
    Striped(StripedReader),
}

/// A file open for reading.
pub struct FileReader {
    path: String,
    length: u64,
    position: u64,
    /// Bytes received but not yet handed out (a `read` into a small buffer).
    pending: Bytes,
    layout: Layout,
}

impl std::fmt::Debug for FileReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileReader")
            .field("path", &self.path)
            .field("position", &self.position)
            .finish()
    }
}

impl FileReader {
    pub(crate) async fn open(fs: Arc<FsInner>, path: String) -> Result<FileReader> {
        let (length, policy, blocks) = locate(&fs, &path).await?;
        let layout = match policy {
            Some(policy) => {
                Layout::Striped(StripedReader::new(fs, path.clone(), length, policy, blocks))
            }
            None => Layout::Replicated(ReplicatedReader::new(fs, path.clone(), length, blocks)),
        };
        Ok(FileReader {
            path,
            length,
            position: 0,
            pending: Bytes::new(),
            layout,
        })
    }

    /// The file's length when it was opened.
    pub fn length(&self) -> u64 {
        self.length
    }

    /// The current position.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The worker the current block is being read from (replicated files), if one is open.
    pub fn current_worker(&self) -> Option<&WorkerAddress> {
        match &self.layout {
            Layout::Replicated(r) => r.current_worker(),
            Layout::Striped(_) => None,
        }
    }

    /// Moves to `position`; beyond the end is an error.
    pub fn seek(&mut self, position: u64) -> Result<()> {
        if position > self.length {
            return Err(Error::PastEndOfFile {
                path: self.path.clone(),
                offset: position,
                length: self.length,
            });
        }
        if position != self.position {
            self.position = position;
            self.pending = Bytes::new();
            match &mut self.layout {
                Layout::Replicated(r) => r.seek(position),
                Layout::Striped(r) => r.seek(position),
            }
        }
        Ok(())
    }

    /// The next run of bytes from the current position; `None` at the end of the file.
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>> {
        let chunk = if self.pending.is_empty() {
            match &mut self.layout {
                Layout::Replicated(r) => r.next_chunk().await?,
                Layout::Striped(r) => r.next_chunk().await?,
            }
        } else {
            Some(std::mem::take(&mut self.pending))
        };
        if let Some(c) = &chunk {
            self.position += c.len() as u64;
        }
        Ok(chunk)
    }

    /// Reads up to `buf.len()` bytes; 0 at the end of the file.
    pub async fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let Some(mut chunk) = self.next_chunk().await? else {
            return Ok(0);
        };
        let n = chunk.len().min(buf.len());
        buf[..n].copy_from_slice(&chunk[..n]);
        if n < chunk.len() {
            let rest = chunk.split_off(n);
            self.position -= rest.len() as u64;
            self.pending = rest;
        }
        Ok(n)
    }

    /// Reads everything from the current position to the end.
    pub async fn read_to_end(&mut self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity((self.length - self.position) as usize);
        while let Some(chunk) = self.next_chunk().await? {
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }
}

/// The block of a located block (a placeholder when the master sent none).
fn block_of(located: &LocatedBlock) -> ExtendedBlock {
    located
        .block
        .as_ref()
        .map(ExtendedBlock::from)
        .unwrap_or(ExtendedBlock {
            id: BlockId(0),
            generation: 0,
            length: 0,
        })
}

/// The file's length, erasure coding policy and every block with its locations. A file being
/// written counts its last block's bytes that readers may see (everything hflushed).
async fn locate(fs: &FsInner, path: &str) -> Result<(u64, Option<EcPolicy>, Vec<LocatedBlock>)> {
    let request = GetBlockLocationsRequest {
        path: path.to_string(),
        offset: 0,
        length: u64::MAX,
        with_block_being_written: true,
    };
    let mut response = call!(fs.master, client, get_block_locations(request))?;
    let status = response.status.unwrap_or_default();
    let policy = if status.ec_policy.is_empty() {
        None
    } else {
        Some(EcPolicy::parse(&status.ec_policy).map_err(|e| Error::Protocol(e.to_string()))?)
    };
    let mut length = status.length;
    if let Some(last) = response.blocks.last_mut()
        && !last.complete
    {
        let visible = visible_length(fs, path, last).await?;
        if let Some(block) = last.block.as_mut() {
            block.length = visible;
        }
        length = last.offset + visible;
    }
    Ok((length, policy, response.blocks))
}

/// How much of a block being written its nearest answering worker lets readers see: 0 when
/// none of them holds a replica yet (the writer has not sent a byte of it).
async fn visible_length(fs: &FsInner, path: &str, located: &LocatedBlock) -> Result<u64> {
    let block = block_of(located);
    let mut last_error = None;
    for worker in &located.locations {
        let op = request::Op::VisibleLength(VisibleLength {
            block: Some(block.into()),
        });
        match ask(&worker.data_address, op, fs.config.socket_timeout).await {
            Ok(response) => return Ok(response.length),
            Err(Error::ReplicaNotFound { .. }) => {}
            Err(e) => last_error = Some(e),
        }
    }
    match last_error {
        None => Ok(0),
        Some(e) => Err(Error::BlockUnavailable {
            path: path.to_string(),
            block: block.id.to_string(),
            reason: format!("no worker of the block being written tells its length: {e}"),
        }),
    }
}

/// Asks the master to list a mounted file in its under storage again (best effort: a failure
/// shows in the read that follows).
async fn sync_metadata(fs: &FsInner, path: &str) {
    let request = SyncMetadataRequest {
        path: path.to_string(),
    };
    if let Err(e) = call!(fs.master, client, sync_metadata(request)) {
        tracing::warn!(error = %e, path, "could not list the file in under storage again");
    }
}

/// Tells the master a replica failed its checksums.
async fn report_bad(fs: &FsInner, block: ExtendedBlock, worker: &WorkerAddress) {
    let request = ReportBadBlocksRequest {
        replicas: vec![BadReplica {
            block: Some(block.into()),
            worker_id: worker.id.clone(),
        }],
    };
    if let Err(e) = call!(fs.master, client, report_bad_blocks(request)) {
        tracing::warn!(error = %e, "could not report a damaged replica");
    }
}
