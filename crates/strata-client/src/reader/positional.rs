//! Positional reads of a closed file: many concurrent `read_at` calls on one handle, each
//! fetching exactly its range from a replica of the blocks it covers (nearest first, failing
//! over to the next, with every chunk verified). The table store reads its SSTables' blocks
//! this way. An erasure-coded file is read through one sequential reader in turn.

use super::{FileReader, block_of, locate, report_bad};
use crate::filesystem::FsInner;
use bytes::{Bytes, BytesMut};
use parking_lot::RwLock;
use std::sync::Arc;
use strata_core::{Error, Result};
use strata_proto::block_io::BlockReader;
use strata_proto::rpc::LocatedBlock;
use tokio::sync::Mutex;

/// A closed file open for positional reads (`&self`, from many tasks at once).
#[derive(Debug)]
pub struct PositionalReader {
    fs: Arc<FsInner>,
    path: String,
    length: u64,
    layout: Positional,
}

#[derive(Debug)]
enum Positional {
    Replicated(RwLock<Vec<LocatedBlock>>),
    Striped(Box<Mutex<FileReader>>),
}

impl PositionalReader {
    pub(crate) async fn open(fs: Arc<FsInner>, path: String) -> Result<PositionalReader> {
        let (length, policy, blocks) = locate(&fs, &path).await?;
        let layout = match policy {
            None => Positional::Replicated(RwLock::new(blocks)),
            Some(_) => Positional::Striped(Box::new(Mutex::new(
                FileReader::open(fs.clone(), path.clone()).await?,
            ))),
        };
        Ok(PositionalReader {
            fs,
            path,
            length,
            layout,
        })
    }

    /// The file's length when it was opened.
    pub fn length(&self) -> u64 {
        self.length
    }

    /// The path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Exactly `[offset, offset + len)` of the file; a range past its end is an error.
    pub async fn read_at(&self, offset: u64, len: usize) -> Result<Bytes> {
        let end = offset.saturating_add(len as u64);
        if end > self.length {
            return Err(Error::PastEndOfFile {
                path: self.path.clone(),
                offset: end,
                length: self.length,
            });
        }
        match &self.layout {
            Positional::Striped(reader) => {
                let mut reader = reader.lock().await;
                reader.seek(offset)?;
                let mut out = BytesMut::with_capacity(len);
                while out.len() < len {
                    let Some(chunk) = reader.next_chunk().await? else {
                        break;
                    };
                    let take = chunk.len().min(len - out.len());
                    out.extend_from_slice(&chunk[..take]);
                }
                Ok(out.freeze())
            }
            Positional::Replicated(blocks) => {
                let mut out = BytesMut::with_capacity(len);
                let mut at = offset;
                while at < end {
                    let piece = self.read_in_block(blocks, at, end).await?;
                    at += piece.len() as u64;
                    out.extend_from_slice(&piece);
                }
                Ok(out.freeze())
            }
        }
    }

    /// The part of `[at, end)` inside the block holding `at`, from the first replica that
    /// delivers it; the locations are fetched again once when every replica failed.
    async fn read_in_block(
        &self,
        blocks: &RwLock<Vec<LocatedBlock>>,
        at: u64,
        end: u64,
    ) -> Result<Bytes> {
        let mut refreshed = false;
        loop {
            let located = {
                let blocks = blocks.read();
                blocks
                    .iter()
                    .find(|b| b.offset <= at && at < b.offset + block_of(b).length)
                    .cloned()
            };
            let Some(located) = located else {
                return Err(Error::Internal(format!(
                    "{}: no block covers offset {at}",
                    self.path
                )));
            };
            let block = block_of(&located);
            let start = at - located.offset;
            let stop = (end - located.offset).min(block.length);
            let mut last_error = None;
            for worker in &located.locations {
                let attempt = async {
                    let mut stream = BlockReader::open(
                        block,
                        worker,
                        start,
                        stop,
                        &self.fs.client_name,
                        self.fs.config.socket_timeout,
                    )
                    .await?;
                    stream.read_exact((stop - start) as usize).await
                };
                match attempt.await {
                    Ok(bytes) if bytes.len() as u64 == stop - start => return Ok(bytes),
                    Ok(bytes) => {
                        last_error = Some(Error::Unavailable {
                            address: worker.data_address.clone(),
                            reason: format!("sent {} of {} bytes", bytes.len(), stop - start),
                        })
                    }
                    Err(e) => {
                        tracing::info!(block = %block.id, worker = %worker.data_address, error = %e,
                            "positional read failed; trying the next replica");
                        if matches!(e, Error::ChecksumMismatch { .. }) {
                            report_bad(&self.fs, block, worker).await;
                        }
                        last_error = Some(e);
                    }
                }
            }
            if refreshed {
                return Err(Error::BlockUnavailable {
                    path: self.path.clone(),
                    block: block.id.to_string(),
                    reason: last_error
                        .map_or_else(|| "no replica is known".to_string(), |e| e.to_string()),
                });
            }
            refreshed = true;
            let (_, _, fresh) = locate(&self.fs, &self.path).await?;
            *blocks.write() = fresh;
        }
    }
}
