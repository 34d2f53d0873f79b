//! Writing a replicated file: data is cut into packets and blocks; each block gets its workers
//! from the master and goes down its own pipeline, rebuilt around failed workers.

use super::pipeline::{BlockPipeline, PipelineRecovery, PipelineSettings};
use crate::call;
use crate::filesystem::FsInner;
use crate::lease::LeaseGuard;
use bytes::{Bytes, BytesMut};
use std::sync::Arc;
use strata_core::{Error, ExtendedBlock, Result};
use strata_proto::data::WriteStage;
use strata_proto::rpc::{
    AbandonBlockRequest, AddBlockRequest, LocatedBlock, RecoverPipelineRequest, WorkerAddress,
};

/// Attempts to find a working pipeline for a new block.
const MAX_BLOCK_ATTEMPTS: usize = 5;

/// A replicated file open for writing.
#[derive(Debug)]
pub(crate) struct ReplicatedWriter {
    fs: Arc<FsInner>,
    path: String,
    inode: u64,
    block_size: u64,
    packet_size: usize,
    buffer: BytesMut,
    pipeline: Option<BlockPipeline>,
    previous: Option<ExtendedBlock>,
    excluded: Vec<String>,
    written: u64,
    _lease: LeaseGuard,
}

/// Asks the master for a new generation stamp when a pipeline fails.
struct MasterRecovery<'a> {
    fs: &'a FsInner,
    path: &'a str,
    inode: u64,
}

impl PipelineRecovery for MasterRecovery<'_> {
    async fn recover(
        &self,
        block: ExtendedBlock,
        survivors: &[WorkerAddress],
    ) -> Result<LocatedBlock> {
        let request = RecoverPipelineRequest {
            path: self.path.to_string(),
            inode_id: self.inode,
            client_name: self.fs.client_name.clone(),
            block: Some(block.into()),
            survivors: survivors.iter().map(|s| s.id.clone()).collect(),
        };
        let response = call!(self.fs.master, client, recover_pipeline(request))?;
        response
            .block
            .ok_or_else(|| Error::Protocol("pipeline recovery returned no block".to_string()))
    }
}

impl ReplicatedWriter {
    pub(crate) fn new(
        fs: Arc<FsInner>,
        path: String,
        inode: u64,
        block_size: u64,
        lease: LeaseGuard,
    ) -> ReplicatedWriter {
        let packet_size = (fs.config.packet_size.bytes() as usize).clamp(4096, 8 << 20);
        ReplicatedWriter {
            fs,
            path,
            inode,
            block_size,
            packet_size,
            buffer: BytesMut::with_capacity(packet_size),
            pipeline: None,
            previous: None,
            excluded: Vec::new(),
            written: 0,
            _lease: lease,
        }
    }

    /// Counts the bytes already in the file (append), so `bytes_written` is the file length.
    pub(crate) fn start_at(&mut self, length: u64) {
        self.written = length;
    }

    /// A writer that continues the partial last block of a file reopened for append.
    pub(crate) async fn resume(mut self, last: Option<LocatedBlock>) -> Result<ReplicatedWriter> {
        let Some(located) = last else {
            return Ok(self);
        };
        let block = located
            .block
            .as_ref()
            .map(ExtendedBlock::from)
            .ok_or_else(|| {
                Error::Protocol("append returned a located block without a block".to_string())
            })?;
        let pipeline =
            BlockPipeline::open(self.settings(), &located, WriteStage::Append, block.length)
                .await
                .map_err(|e| e.error)?;
        self.pipeline = Some(pipeline);
        Ok(self)
    }

    fn settings(&self) -> PipelineSettings {
        PipelineSettings {
            client_name: self.fs.client_name.clone(),
            chunk_size: self.fs.chunk_size,
            window: (self.fs.config.write_window.bytes() as usize).max(self.packet_size),
            timeout: self.fs.config.socket_timeout,
            block_size: self.block_size,
        }
    }

    /// The file length so far: what it held when opened plus everything written.
    pub(crate) fn bytes_written(&self) -> u64 {
        self.written
    }

    /// Writes `data` (buffered into packets; returns once it is sent or queued).
    pub(crate) async fn write(&mut self, mut data: &[u8]) -> Result<()> {
        while !data.is_empty() {
            if self.pipeline.is_none() {
                self.start_block().await?;
            }
            let block_sent = self.pipeline.as_ref().map_or(0, |p| p.sent());
            let room_in_block = (self.block_size - block_sent) as usize - self.buffer.len();
            let room_in_packet = self.packet_size - self.buffer.len();
            let n = data.len().min(room_in_block).min(room_in_packet);
            self.buffer.extend_from_slice(&data[..n]);
            data = &data[n..];
            self.written += n as u64;
            if self.buffer.len() == self.packet_size || n == room_in_block {
                self.flush_packet().await?;
            }
            if self
                .pipeline
                .as_ref()
                .is_some_and(|p| p.sent() == self.block_size)
            {
                self.finish_block().await?;
            }
        }
        Ok(())
    }

    async fn flush_packet(&mut self) -> Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let data: Bytes = self.buffer.split().freeze();
        self.buffer.reserve(self.packet_size);
        let recovery = MasterRecovery {
            fs: &self.fs,
            path: &self.path,
            inode: self.inode,
        };
        let Some(pipeline) = self.pipeline.as_mut() else {
            return Err(Error::Internal("packet without a block".to_string()));
        };
        pipeline
            .send(data, &recovery)
            .await
            .map_err(|e| self.named(e))
    }

    /// Sends what is buffered and waits until every worker of the current block's pipeline
    /// holds everything written (hflush), synced to disk when `sync` (hsync). Earlier blocks
    /// are finished, so already on every replica.
    pub(crate) async fn flush(&mut self, sync: bool) -> Result<()> {
        let data: Bytes = self.buffer.split().freeze();
        self.buffer.reserve(self.packet_size);
        let recovery = MasterRecovery {
            fs: &self.fs,
            path: &self.path,
            inode: self.inode,
        };
        let Some(pipeline) = self.pipeline.as_mut() else {
            return Ok(());
        };
        pipeline
            .flush(data, sync, &recovery)
            .await
            .map_err(|e| self.named(e))
    }

    async fn finish_block(&mut self) -> Result<()> {
        let Some(pipeline) = self.pipeline.take() else {
            return Ok(());
        };
        let recovery = MasterRecovery {
            fs: &self.fs,
            path: &self.path,
            inode: self.inode,
        };
        let (block, failed) = pipeline
            .finish(&recovery)
            .await
            .map_err(|e| self.named(e))?;
        self.excluded.extend(failed);
        self.previous = Some(block);
        Ok(())
    }

    async fn start_block(&mut self) -> Result<()> {
        let mut last_error = None;
        for _ in 0..MAX_BLOCK_ATTEMPTS {
            let request = AddBlockRequest {
                path: self.path.clone(),
                inode_id: self.inode,
                client_name: self.fs.client_name.clone(),
                previous: self.previous.map(Into::into),
                excluded_workers: self.excluded.clone(),
            };
            let located = call!(self.fs.master, client, add_block(request))?
                .block
                .ok_or_else(|| Error::Protocol("add block returned no block".to_string()))?;
            match BlockPipeline::open(self.settings(), &located, WriteStage::Create, 0).await {
                Ok(pipeline) => {
                    self.pipeline = Some(pipeline);
                    return Ok(());
                }
                Err(setup) => {
                    if let Some(bad) = located.locations.get(setup.failed_index) {
                        tracing::warn!(worker = %bad.data_address, error = %setup.error,
                            "could not set up a write pipeline; excluding the worker");
                        self.excluded.push(bad.id.clone());
                    }
                    let abandon = AbandonBlockRequest {
                        path: self.path.clone(),
                        inode_id: self.inode,
                        client_name: self.fs.client_name.clone(),
                        block: located.block,
                    };
                    call!(self.fs.master, client, abandon_block(abandon))?;
                    last_error = Some(setup.error);
                }
            }
        }
        Err(
            self.named(last_error.unwrap_or_else(|| Error::NotEnoughWorkers {
                reason: "no write pipeline could be set up".to_string(),
            })),
        )
    }

    fn named(&self, err: Error) -> Error {
        match err {
            Error::BlockUnavailable { block, reason, .. } => Error::BlockUnavailable {
                path: self.path.clone(),
                block,
                reason,
            },
            other => other,
        }
    }

    /// Sends what is buffered and finishes the last block; returns it for closing the file.
    pub(crate) async fn finish(mut self) -> Result<Option<ExtendedBlock>> {
        self.flush_packet().await?;
        self.finish_block().await?;
        Ok(self.previous)
    }
}
