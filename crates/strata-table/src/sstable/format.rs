//! The layout of an SSTable file:
//!
//! ```text
//! [data block]* [bloom block] [index block] [info block] [trailer: 52 bytes]
//! ```
//!
//! Every block is framed and checksummed (`block.rs`). The index is a block of one entry per
//! data block, encoded like a data block's cell whose key is the block's first key and whose
//! value is the block's handle (`[u64 offset][u32 stored length]`). The info block is an
//! `SsTableInfo` message. The trailer (magic, version, the handles of the bloom, index and
//! info blocks, its own CRC32C) is read first.

use crate::error::{Error, Result};
use strata_core::checksum::crc32c;

/// The trailer's first bytes.
pub const MAGIC: &[u8; 8] = b"STSSTBL1";
/// The format version written.
pub const VERSION: u32 = 1;
/// Bytes of the trailer.
pub const TRAILER_LEN: usize = 8 + 4 + 3 * 12 + 4;

/// Where a stored block is in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockHandle {
    /// Offset of its first byte.
    pub offset: u64,
    /// Bytes stored, framing included.
    pub length: u32,
}

impl BlockHandle {
    /// The handle's 12 stored bytes.
    pub fn encode(&self) -> [u8; 12] {
        let mut out = [0u8; 12];
        out[..8].copy_from_slice(&self.offset.to_le_bytes());
        out[8..].copy_from_slice(&self.length.to_le_bytes());
        out
    }

    /// A handle from its stored bytes.
    pub fn decode(stored: &[u8]) -> Option<BlockHandle> {
        Some(BlockHandle {
            offset: u64::from_le_bytes(stored.get(..8)?.try_into().ok()?),
            length: u32::from_le_bytes(stored.get(8..12)?.try_into().ok()?),
        })
    }
}

/// The fixed-size end of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Trailer {
    /// The bloom filter block (length 0: none).
    pub bloom: BlockHandle,
    /// The index block.
    pub index: BlockHandle,
    /// The info block.
    pub info: BlockHandle,
}

impl Trailer {
    /// Its stored bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(TRAILER_LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        for handle in [self.bloom, self.index, self.info] {
            out.extend_from_slice(&handle.encode());
        }
        let crc = crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Reads a trailer, checking its magic, version and checksum.
    pub fn decode(stored: &[u8], path: &str) -> Result<Trailer> {
        if stored.len() != TRAILER_LEN || &stored[..8] != MAGIC {
            return Err(Error::corrupt(
                path,
                "SSTable",
                "no SSTable trailer at its end",
            ));
        }
        let (body, crc) = stored.split_at(TRAILER_LEN - 4);
        if crc32c(body).to_le_bytes() != crc {
            return Err(Error::corrupt(path, "SSTable trailer", "checksum mismatch"));
        }
        let version = u32::from_le_bytes([body[8], body[9], body[10], body[11]]);
        if version != VERSION {
            return Err(Error::corrupt(
                path,
                "SSTable",
                format!("format version {version} is not {VERSION}"),
            ));
        }
        let handle = |i: usize| BlockHandle::decode(&body[12 + 12 * i..24 + 12 * i]);
        match (handle(0), handle(1), handle(2)) {
            (Some(bloom), Some(index), Some(info)) => Ok(Trailer { bloom, index, info }),
            _ => Err(Error::corrupt(path, "SSTable trailer", "short handle")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trailer_round_trips_and_damage_is_refused() {
        let t = Trailer {
            bloom: BlockHandle {
                offset: 10,
                length: 20,
            },
            index: BlockHandle {
                offset: 30,
                length: 40,
            },
            info: BlockHandle {
                offset: 70,
                length: 5,
            },
        };
        let mut stored = t.encode();
        assert_eq!(stored.len(), TRAILER_LEN);
        assert_eq!(Trailer::decode(&stored, "f").unwrap(), t);
        stored[20] ^= 4;
        assert!(Trailer::decode(&stored, "f").is_err());
        assert!(Trailer::decode(&stored[1..], "f").is_err());
    }
}
