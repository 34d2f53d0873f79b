//! Reading a file: block by block from the nearest replica, failing over to the next replica
//! on any error or checksum mismatch (and reporting a damaged replica to the master).

use crate::block_stream::BlockStream;
use crate::call;
use crate::filesystem::FsInner;
use bytes::Bytes;
use std::collections::HashSet;
use std::sync::Arc;
use strata_core::{Error, ExtendedBlock, Result};
use strata_proto::rpc::{
    BadReplica, GetBlockLocationsRequest, LocatedBlock, ReportBadBlocksRequest,
};

/// A file open for reading.
#[derive(Debug)]
pub struct FileReader {
    fs: Arc<FsInner>,
    path: String,
    length: u64,
    blocks: Vec<LocatedBlock>,
    position: u64,
    pending: Bytes,
    current: Option<(usize, BlockStream)>,
    failed: HashSet<(u64, String)>,
    refreshed: bool,
}

impl FileReader {
    pub(crate) async fn open(fs: Arc<FsInner>, path: String) -> Result<FileReader> {
        let (length, blocks) = locate(&fs, &path).await?;
        Ok(FileReader {
            fs,
            path,
            length,
            blocks,
            position: 0,
            pending: Bytes::new(),
            current: None,
            failed: HashSet::new(),
            refreshed: false,
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

    /// The worker the current block is being read from, if a block is open.
    pub fn current_worker(&self) -> Option<&strata_proto::rpc::WorkerAddress> {
        self.current.as_ref().map(|(_, stream)| stream.worker())
    }

    /// Moves to `position`; reading from beyond the end is an error.
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
            self.current = None;
        }
        Ok(())
    }

    /// The next run of bytes from the current position; `None` at the end of the file.
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>> {
        if !self.pending.is_empty() {
            let bytes = std::mem::take(&mut self.pending);
            self.position += bytes.len() as u64;
            return Ok(Some(bytes));
        }
        loop {
            if self.position >= self.length {
                return Ok(None);
            }
            if self.current.is_none() {
                self.open_block().await?;
            }
            let Some((index, stream)) = self.current.as_mut() else {
                continue;
            };
            let index = *index;
            match stream.next().await {
                Ok(Some(bytes)) => {
                    self.position += bytes.len() as u64;
                    return Ok(Some(bytes));
                }
                Ok(None) => self.current = None,
                Err(e) => {
                    let worker = stream.worker().clone();
                    self.current = None;
                    self.replica_failed(index, &worker, &e).await;
                }
            }
        }
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

    async fn open_block(&mut self) -> Result<()> {
        let Some(index) = self.blocks.iter().position(|b| {
            b.offset <= self.position && self.position < b.offset + block_of(b).length
        }) else {
            return Err(Error::Internal(format!(
                "{}: no block covers offset {}",
                self.path, self.position
            )));
        };
        let located = &self.blocks[index];
        let block = block_of(located);
        let start = self.position - located.offset;
        let mut last_error = None;
        for worker in &located.locations {
            if self.failed.contains(&(block.id.0, worker.id.clone())) {
                continue;
            }
            match BlockStream::open(
                block,
                worker,
                start,
                block.length,
                &self.fs.client_name,
                self.fs.config.socket_timeout,
            )
            .await
            {
                Ok(stream) => {
                    self.current = Some((index, stream));
                    return Ok(());
                }
                Err(e) => {
                    tracing::info!(block = %block.id, worker = %worker.data_address, error = %e,
                        "replica unavailable; trying the next one");
                    self.failed.insert((block.id.0, worker.id.clone()));
                    last_error = Some(e);
                }
            }
        }
        if !self.refreshed {
            self.refreshed = true;
            let (_, blocks) = locate(&self.fs, &self.path).await?;
            self.blocks = blocks;
            self.failed.clear();
            return Box::pin(self.open_block()).await;
        }
        Err(Error::BlockUnavailable {
            path: self.path.clone(),
            block: block.id.to_string(),
            reason: last_error.map_or_else(|| "no replica is known".to_string(), |e| e.to_string()),
        })
    }

    async fn replica_failed(
        &mut self,
        index: usize,
        worker: &strata_proto::rpc::WorkerAddress,
        error: &Error,
    ) {
        let block = block_of(&self.blocks[index]);
        tracing::warn!(block = %block.id, worker = %worker.data_address, %error,
            "read from replica failed; failing over");
        self.failed.insert((block.id.0, worker.id.clone()));
        if matches!(error, Error::ChecksumMismatch { .. }) {
            let request = ReportBadBlocksRequest {
                replicas: vec![BadReplica {
                    block: Some(block.into()),
                    worker_id: worker.id.clone(),
                }],
            };
            if let Err(e) = call!(self.fs.master, client, report_bad_blocks(request)) {
                tracing::warn!(error = %e, "could not report a damaged replica");
            }
        }
    }
}

fn block_of(located: &LocatedBlock) -> ExtendedBlock {
    located
        .block
        .as_ref()
        .map(ExtendedBlock::from)
        .unwrap_or(ExtendedBlock {
            id: strata_core::BlockId(0),
            generation: 0,
            length: 0,
        })
}

async fn locate(fs: &FsInner, path: &str) -> Result<(u64, Vec<LocatedBlock>)> {
    let request = GetBlockLocationsRequest {
        path: path.to_string(),
        offset: 0,
        length: u64::MAX,
    };
    let response = call!(fs.master, client, get_block_locations(request))?;
    let length = response.status.map_or(0, |s| s.length);
    Ok((length, response.blocks))
}
