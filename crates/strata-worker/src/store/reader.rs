//! Reading a replica: chunk-aligned runs of data with their stored checksums.

use super::ReplicaInfo;
use super::layout::META_HEADER_LEN;
use std::fs::File;
use std::os::unix::fs::FileExt;
use strata_core::checksum::{combine_chunks, decode_checksums, verify_chunks};
use strata_core::{Error, Result};

/// An open replica, as it was when opened.
#[derive(Debug)]
pub struct ReplicaReader {
    info: ReplicaInfo,
    data: File,
    meta: File,
    chunk_size: u32,
    /// The index and checksum of a last chunk whose visible part is shorter than what its
    /// stored checksum covers (a replica still being written).
    tail: Option<(u64, u32)>,
}

impl ReplicaReader {
    pub(super) fn new(info: ReplicaInfo, data: File, meta: File, chunk_size: u32) -> ReplicaReader {
        ReplicaReader {
            info,
            data,
            meta,
            chunk_size,
            tail: None,
        }
    }

    /// Uses `tail` (chunk index, checksum) in place of that chunk's stored checksum.
    pub(super) fn with_tail(self, tail: Option<(u64, u32)>) -> ReplicaReader {
        ReplicaReader { tail, ..self }
    }

    /// Decodes stored checksums beginning at chunk `first`, with the tail's in its place.
    fn checksums_from(&self, first: u64, raw: &[u8]) -> Result<Vec<u32>> {
        let mut crcs = decode_checksums(raw)
            .ok_or_else(|| Error::Internal("checksum buffer size".to_string()))?;
        if let Some((slot, crc)) = self.tail
            && let Some(at) = slot.checked_sub(first)
            && let Some(stored) = crcs.get_mut(at as usize)
        {
            *stored = crc;
        }
        Ok(crcs)
    }

    /// The replica's state when opened.
    pub fn info(&self) -> &ReplicaInfo {
        &self.info
    }

    /// Bytes per checksum.
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Reads `[offset, offset + len)`, where `offset` is a chunk boundary, into `buf`, and
    /// returns the stored checksums of the chunks it covers.
    pub fn read_chunks(&self, offset: u64, len: usize, buf: &mut Vec<u8>) -> Result<Vec<u32>> {
        let chunk = self.chunk_size as u64;
        if !offset.is_multiple_of(chunk) || offset + len as u64 > self.info.length {
            return Err(Error::InvalidArgument(format!(
                "{}: read of {len} bytes at {offset} is not within the replica",
                self.info.id
            )));
        }
        buf.resize(len, 0);
        self.data
            .read_exact_at(buf, offset)
            .map_err(|e| Error::io(format!("reading replica {}", self.info.id), e))?;
        let first = offset / chunk;
        let count = (len as u64).div_ceil(chunk);
        let mut raw = vec![0u8; (count * 4) as usize];
        self.meta
            .read_exact_at(&mut raw, META_HEADER_LEN + first * 4)
            .map_err(|e| Error::io(format!("reading checksums of {}", self.info.id), e))?;
        self.checksums_from(first, &raw)
    }

    /// Reads a run and checks it against its checksums (scanner, transfers).
    pub fn read_verified(&self, offset: u64, len: usize, buf: &mut Vec<u8>) -> Result<Vec<u32>> {
        let crcs = self.read_chunks(offset, len, buf)?;
        verify_chunks(offset, buf, &crcs, self.chunk_size).map_err(|bad| {
            Error::ChecksumMismatch {
                block: self.info.id.to_string(),
                offset: bad,
            }
        })?;
        Ok(crcs)
    }

    /// The CRC32C of the whole replica, from its stored chunk checksums.
    pub fn block_crc(&self) -> Result<u32> {
        let crcs = self.all_chunk_crcs()?;
        Ok(combine_chunks(&crcs, self.info.length, self.chunk_size))
    }

    /// The MD5 of the replica's chunk CRC32Cs, each big-endian: the block's part of HDFS's
    /// MD5-of-MD5-of-CRC32C file checksum.
    pub fn chunk_crcs_md5(&self) -> Result<[u8; 16]> {
        use md5::Digest;
        let mut md5 = md5::Md5::new();
        for crc in self.all_chunk_crcs()? {
            md5.update(crc.to_be_bytes());
        }
        Ok(md5.finalize().into())
    }

    /// Every stored chunk checksum of the replica.
    fn all_chunk_crcs(&self) -> Result<Vec<u32>> {
        let count = (self.info.length).div_ceil(self.chunk_size as u64);
        let mut raw = vec![0u8; (count * 4) as usize];
        self.meta
            .read_exact_at(&mut raw, META_HEADER_LEN)
            .map_err(|e| Error::io(format!("reading checksums of {}", self.info.id), e))?;
        self.checksums_from(0, &raw)
    }
}
