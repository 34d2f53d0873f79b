//! Reading a replicated file: block by block from the nearest replica, failing over to the
//! next replica on any error or checksum mismatch (and reporting a damaged replica).

use super::{block_of, locate, report_bad, sync_metadata};
use crate::filesystem::FsInner;
use bytes::Bytes;
use std::collections::HashSet;
use std::sync::Arc;
use strata_core::{Error, Result};
use strata_proto::block_io::BlockReader;
use strata_proto::rpc::LocatedBlock;

/// A replicated file open for reading.
#[derive(Debug)]
pub(crate) struct ReplicatedReader {
    fs: Arc<FsInner>,
    path: String,
    length: u64,
    blocks: Vec<LocatedBlock>,
    position: u64,
    current: Option<(usize, BlockReader)>,
    failed: HashSet<(u64, String)>,
    refreshed: bool,
}

impl ReplicatedReader {
    pub(crate) fn new(
        fs: Arc<FsInner>,
        path: String,
        length: u64,
        blocks: Vec<LocatedBlock>,
    ) -> ReplicatedReader {
        ReplicatedReader {
            fs,
            path,
            length,
            blocks,
            position: 0,
            current: None,
            failed: HashSet::new(),
            refreshed: false,
        }
    }

    /// The worker the current block is being read from, if a block is open.
    pub(crate) fn current_worker(&self) -> Option<&strata_proto::rpc::WorkerAddress> {
        self.current.as_ref().map(|(_, stream)| stream.worker())
    }

    /// Moves to `position` (within the file).
    pub(crate) fn seek(&mut self, position: u64) {
        if position != self.position {
            self.position = position;
            self.current = None;
        }
    }

    /// The next run of bytes from the current position; `None` at the end of the file.
    pub(crate) async fn next_chunk(&mut self) -> Result<Option<Bytes>> {
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
            match BlockReader::open_or_read_through(
                block,
                worker,
                start,
                block.length,
                &self.fs.client_name,
                self.fs.config.socket_timeout,
                located.ufs.clone(),
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
            let mirrored = located.ufs.as_ref().and_then(|u| u.fingerprint.clone());
            if mirrored.is_some() {
                // The object may have changed behind the cache: have it listed again.
                sync_metadata(&self.fs, &self.path).await;
            }
            let (_, _, blocks) = locate(&self.fs, &self.path).await?;
            let now = blocks
                .get(index)
                .and_then(|b| b.ufs.as_ref())
                .and_then(|u| u.fingerprint.clone());
            if mirrored.is_some() && now != mirrored {
                return Err(Error::InvalidOperation {
                    path: self.path.clone(),
                    reason: "the file changed in under storage while it was read; read it again"
                        .to_string(),
                });
            }
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
            report_bad(&self.fs, block, worker).await;
        }
    }
}
