//! Truncation of [`FileSystem`] files, as HDFS's: the blocks past the new end are dropped, and
//! when the new end falls inside a block, that block's kept bytes are first copied into a tail
//! file, which the master swaps in for the block in the same journaled step that drops the
//! rest (HDFS's copy-on-truncate), so a crash never leaves the file without its kept bytes.

use crate::call;
use crate::filesystem::{CreateOptions, FileSystem};
use strata_core::{Error, Result, StrataPath};
use strata_ec::policy::REPLICATION;
use strata_proto::rpc::{FileStatus, FileVersion, TruncateRequest};

/// The directory tails are written in before they are swapped into their file.
pub const TRUNCATE_TAILS: &str = "/.strata-tmp/truncate";

impl FileSystem {
    /// Shortens the closed replicated file `path` to `new_length` bytes; refused if that is
    /// longer than the file, and if the file changes meanwhile.
    pub async fn truncate(&self, path: &str, new_length: u64) -> Result<()> {
        let path = StrataPath::parse(path)?;
        let located = self.block_locations(path.as_str(), 0, u64::MAX).await?;
        let status = (located.status)
            .ok_or_else(|| Error::Protocol(format!("{path}: located without a status")))?;
        if new_length > status.length {
            return Err(Error::InvalidArgument(format!(
                "{path}: cannot truncate to a larger file size (current size: {}, truncate \
                 size: {new_length})",
                status.length
            )));
        }
        let cut = (located.blocks.iter()).find(|b| {
            let length = b.block.as_ref().map_or(0, |b| b.length);
            b.offset < new_length && new_length < b.offset + length
        });
        let tail = match cut {
            Some(block) => {
                let tail = format!("{TRUNCATE_TAILS}/{:016x}", rand::random::<u64>());
                let kept = new_length - block.offset;
                if let Err(e) = self
                    .write_tail(&path, &tail, block.offset, kept, &status)
                    .await
                {
                    let _ = self.delete(&tail, false).await;
                    return Err(e);
                }
                tail
            }
            None => String::new(),
        };
        let request = TruncateRequest {
            path: path.to_string(),
            new_length,
            tail: tail.clone(),
            if_version: Some(FileVersion {
                modification_time: status.modification_time,
                length: status.length,
            }),
        };
        let truncated = call!(self.inner().master, client, truncate(request)).map(|_| ());
        if truncated.is_err() && !tail.is_empty() {
            let _ = self.delete(&tail, false).await;
        }
        truncated
    }

    /// Copies `length` bytes of `path` from `offset` into a new replicated file `tail`, with
    /// the file's replication and block size.
    async fn write_tail(
        &self,
        path: &StrataPath,
        tail: &str,
        offset: u64,
        length: u64,
        status: &FileStatus,
    ) -> Result<()> {
        let mut reader = self.open(path.as_str()).await?;
        reader.seek(offset)?;
        let options = CreateOptions {
            create_parents: true,
            replication: status.replication,
            block_size: status.block_size,
            ec_policy: REPLICATION.to_string(),
            ..CreateOptions::default()
        };
        let mut writer = self.create(tail, options).await?;
        let mut remaining = length;
        while remaining > 0 {
            let chunk = reader.next_chunk().await?.ok_or_else(|| {
                Error::Io(format!("{path} ended {remaining} bytes before its cut"))
            })?;
            let take = usize::try_from(remaining)
                .unwrap_or(usize::MAX)
                .min(chunk.len());
            writer.write(&chunk[..take]).await?;
            remaining -= take as u64;
        }
        writer.close().await
    }
}
