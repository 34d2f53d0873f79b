//! Writing packets into a replica: data at its offset, one checksum per chunk in the meta file.

use super::layout::META_HEADER_LEN;
use super::{BlockStore, Handle, ReplicaState};
use std::fs::File;
use std::os::unix::fs::FileExt;
use strata_core::checksum::{crc32c_combine, pieces};
use strata_core::{Error, Result};

/// An open replica being written by one pipeline.
#[derive(Debug)]
pub struct ReplicaWriter {
    store: BlockStore,
    handle: Handle,
    data: Option<File>,
    meta: Option<File>,
    generation: u64,
    /// Checksum of the partial chunk at the end of the replica, if it ends mid-chunk.
    partial_crc: Option<u32>,
}

impl ReplicaWriter {
    pub(super) fn new(
        store: BlockStore,
        handle: Handle,
        data: File,
        meta: File,
        generation: u64,
        partial_crc: Option<u32>,
    ) -> ReplicaWriter {
        ReplicaWriter {
            store,
            handle,
            data: Some(data),
            meta: Some(meta),
            generation,
            partial_crc,
        }
    }

    /// Bytes written so far.
    pub fn length(&self) -> u64 {
        self.handle.lock().length
    }

    /// What the pipeline's responder uses to record acknowledged bytes.
    pub fn ack_marker(&self) -> AckMarker {
        AckMarker {
            handle: self.handle.clone(),
            generation: self.generation,
        }
    }

    /// What makes everything written so far durable (hsync), to run off the async threads.
    pub fn durability(&self) -> Result<ReplicaSync> {
        let (Some(data), Some(meta)) = (&self.data, &self.meta) else {
            return Err(Error::Internal(
                "replica writer already finished".to_string(),
            ));
        };
        let id = self.handle.lock().id;
        let cloned = data
            .try_clone()
            .and_then(|d| Ok((d, meta.try_clone()?)))
            .map_err(|e| Error::io(format!("opening replica {id} for a sync"), e))?;
        Ok(ReplicaSync {
            id,
            data: cloned.0,
            meta: cloned.1,
        })
    }

    /// Appends `data` at `offset` (which must be the current length) with one verified
    /// checksum per chunk piece.
    pub fn write_packet(&mut self, offset: u64, data: &[u8], checksums: &[u32]) -> Result<()> {
        let mut info = self.handle.lock();
        if info.generation != self.generation || info.state != ReplicaState::BeingWritten {
            return Err(Error::InvalidOperation {
                path: info.id.to_string(),
                reason: "the replica was taken over by a newer pipeline or recovery".to_string(),
            });
        }
        if offset != info.length {
            return Err(Error::Protocol(format!(
                "{}: packet at offset {offset} but the replica holds {} bytes",
                info.id, info.length
            )));
        }
        let (Some(data_file), Some(meta_file)) = (&self.data, &self.meta) else {
            return Err(Error::Internal(
                "replica writer already finished".to_string(),
            ));
        };
        let chunk = self.store.chunk_size() as u64;
        let mut crcs = Vec::with_capacity(checksums.len() * 4);
        let mut first_slot = None;
        for ((start, len), crc) in pieces(offset, data.len(), chunk as u32).zip(checksums) {
            let at = offset + start as u64;
            let slot = at / chunk;
            let stored = if !at.is_multiple_of(chunk) {
                let previous = self.partial_crc.ok_or_else(|| {
                    Error::Internal(format!("{}: no checksum for the partial chunk", info.id))
                })?;
                crc32c_combine(previous, *crc, len as u64)
            } else {
                *crc
            };
            first_slot.get_or_insert(slot);
            crcs.extend_from_slice(&stored.to_le_bytes());
            self.partial_crc = (!(at + len as u64).is_multiple_of(chunk)).then_some(stored);
        }
        let id = info.id;
        data_file
            .write_all_at(data, offset)
            .map_err(|e| Error::io(format!("writing replica {id}"), e))?;
        if let Some(slot) = first_slot {
            meta_file
                .write_all_at(&crcs, META_HEADER_LEN + 4 * slot)
                .map_err(|e| Error::io(format!("writing checksums of {id}"), e))?;
        }
        info.length = offset + data.len() as u64;
        let volume = info.volume;
        drop(info);
        self.store.add_used(volume, data.len() as u64);
        Ok(())
    }

    pub(super) fn into_parts(mut self) -> Result<(Handle, File, File, u64)> {
        match (self.data.take(), self.meta.take()) {
            (Some(d), Some(m)) => Ok((self.handle.clone(), d, m, self.generation)),
            _ => Err(Error::Internal(
                "replica writer already finished".to_string(),
            )),
        }
    }
}

/// The files of a replica being written, to be synced.
#[derive(Debug)]
pub struct ReplicaSync {
    id: strata_core::BlockId,
    data: File,
    meta: File,
}

impl ReplicaSync {
    /// Syncs the data, then the checksums (a blocking call).
    pub fn sync(self) -> Result<()> {
        self.data
            .sync_data()
            .and_then(|()| self.meta.sync_data())
            .map_err(|e| Error::io(format!("syncing replica {}", self.id), e))
    }
}

/// Records, for readers, how much of a replica being written every worker downstream holds.
#[derive(Debug, Clone)]
pub struct AckMarker {
    handle: Handle,
    generation: u64,
}

impl AckMarker {
    /// Every worker downstream acknowledged the replica's bytes up to `end`.
    pub fn acknowledged(&self, end: u64) {
        let mut info = self.handle.lock();
        if info.generation == self.generation && info.state == ReplicaState::BeingWritten {
            info.acknowledged = info.acknowledged.max(end.min(info.length));
        }
    }
}

impl Drop for ReplicaWriter {
    fn drop(&mut self) {
        if self.data.is_some() {
            let mut info = self.handle.lock();
            if info.generation == self.generation {
                info.writer_active = false;
            }
        }
    }
}
