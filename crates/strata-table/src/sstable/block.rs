//! Blocks of an SSTable. A data block is a run of cells in key order, each
//! `[u32 row length][row][u32 qualifier length][qualifier][i64 timestamp][u8 kind]
//! [u64 sequence][u32 value length][value]` (little-endian). Every block is stored framed as
//! `[u8 codec][u32 uncompressed length][payload][u32 CRC32C of everything before it]`, so a
//! damaged block is detected before it is decompressed or decoded.

use crate::cell::{CellKey, CellKind};
use crate::error::{Error, Result};
use crate::schema::Compression;
use bytes::{BufMut, Bytes, BytesMut};
use strata_core::checksum::crc32c;

/// Bytes of framing around a stored block.
pub const FRAME_OVERHEAD: usize = 1 + 4 + 4;
/// The zstd level data blocks are compressed at.
const ZSTD_LEVEL: i32 = 3;

/// Appends one cell to a raw data block.
pub fn encode_cell(out: &mut BytesMut, key: &CellKey, value: &[u8]) {
    out.reserve(encoded_len(key, value));
    out.put_u32_le(key.row.len() as u32);
    out.put_slice(&key.row);
    out.put_u32_le(key.qualifier.len() as u32);
    out.put_slice(&key.qualifier);
    out.put_i64_le(key.timestamp);
    out.put_u8(key.kind as u8);
    out.put_u64_le(key.sequence);
    out.put_u32_le(value.len() as u32);
    out.put_slice(value);
}

/// Bytes one cell takes in a raw data block.
pub fn encoded_len(key: &CellKey, value: &[u8]) -> usize {
    4 + key.row.len() + 4 + key.qualifier.len() + 8 + 1 + 8 + 4 + value.len()
}

/// Frames a raw block for storage: compressed with `codec`, checksummed.
pub fn frame(raw: &[u8], codec: Compression) -> Result<Vec<u8>> {
    let payload: std::borrow::Cow<'_, [u8]> = match codec {
        Compression::None => raw.into(),
        Compression::Lz4 => lz4_flex::block::compress(raw).into(),
        Compression::Zstd => zstd::bulk::compress(raw, ZSTD_LEVEL)
            .map_err(|e| Error::Internal(format!("zstd compression failed: {e}")))?
            .into(),
    };
    let mut out = Vec::with_capacity(payload.len() + FRAME_OVERHEAD);
    out.push(codec.code() as u8);
    out.extend_from_slice(&(raw.len() as u32).to_le_bytes());
    out.extend_from_slice(&payload);
    let crc = crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// Checks a stored block's checksum and returns its raw bytes; `path` names the file in
/// errors.
pub fn unframe(stored: &[u8], path: &str) -> Result<Bytes> {
    if stored.len() < FRAME_OVERHEAD {
        return Err(Error::corrupt(path, "block", "shorter than its framing"));
    }
    let (body, crc) = stored.split_at(stored.len() - 4);
    let expected = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    if crc32c(body) != expected {
        return Err(Error::corrupt(path, "block", "checksum mismatch"));
    }
    let codec = Compression::from_code(u32::from(body[0]))
        .ok_or_else(|| Error::corrupt(path, "block", format!("unknown codec {}", body[0])))?;
    let raw_len = u32::from_le_bytes([body[1], body[2], body[3], body[4]]) as usize;
    let payload = &body[5..];
    let raw = match codec {
        Compression::None => Bytes::copy_from_slice(payload),
        Compression::Lz4 => lz4_flex::block::decompress(payload, raw_len)
            .map_err(|e| Error::corrupt(path, "lz4 block", e.to_string()))?
            .into(),
        Compression::Zstd => zstd::bulk::decompress(payload, raw_len)
            .map_err(|e| Error::corrupt(path, "zstd block", e.to_string()))?
            .into(),
    };
    if raw.len() != raw_len {
        return Err(Error::corrupt(
            path,
            "block",
            format!("{} bytes decompressed, {raw_len} expected", raw.len()),
        ));
    }
    Ok(raw)
}

/// A decoded data block: its bytes and where each cell starts.
#[derive(Debug)]
pub struct DataBlock {
    data: Bytes,
    starts: Vec<u32>,
}

impl DataBlock {
    /// Decodes a raw data block, checking every length against the block's size.
    pub fn decode(data: Bytes, path: &str) -> Result<DataBlock> {
        let mut starts = Vec::new();
        let mut at = 0usize;
        while at < data.len() {
            starts.push(at as u32);
            at = cell_end(&data, at).ok_or_else(|| {
                Error::corrupt(
                    path,
                    "data block",
                    format!("a cell at {at} runs past the block"),
                )
            })?;
            if CellKind::from_code(data[kind_offset(&data, starts[starts.len() - 1] as usize)])
                .is_none()
            {
                return Err(Error::corrupt(path, "data block", "unknown cell kind"));
            }
        }
        Ok(DataBlock { data, starts })
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// Whether it holds no cell.
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// Bytes it takes in memory (for the block cache).
    pub fn weight(&self) -> usize {
        self.data.len() + self.starts.len() * 4
    }

    /// Cell `i` (`i < len()`).
    pub fn cell(&self, i: usize) -> (CellKey, Bytes) {
        let d = &self.data;
        let mut at = self.starts[i] as usize;
        let row_len = read_u32(d, at) as usize;
        let row = d.slice(at + 4..at + 4 + row_len);
        at += 4 + row_len;
        let qualifier_len = read_u32(d, at) as usize;
        let qualifier = d.slice(at + 4..at + 4 + qualifier_len);
        at += 4 + qualifier_len;
        let timestamp = i64::from_le_bytes(array8(d, at));
        let kind = CellKind::from_code(d[at + 8]).unwrap_or(CellKind::Put);
        let sequence = u64::from_le_bytes(array8(d, at + 9));
        at += 17;
        let value_len = read_u32(d, at) as usize;
        let value = d.slice(at + 4..at + 4 + value_len);
        (
            CellKey {
                row,
                qualifier,
                timestamp,
                kind,
                sequence,
            },
            value,
        )
    }

    /// The index of the first cell at or after `key` (`len()` when none is).
    pub fn seek(&self, key: &CellKey) -> usize {
        let (mut lo, mut hi) = (0, self.starts.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.cell(mid).0 < *key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

fn read_u32(d: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]])
}

fn array8(d: &[u8], at: usize) -> [u8; 8] {
    let mut a = [0u8; 8];
    a.copy_from_slice(&d[at..at + 8]);
    a
}

/// Where the cell starting at `at` ends, if it fits in `d`.
fn cell_end(d: &[u8], at: usize) -> Option<usize> {
    let field = |at: usize| -> Option<usize> {
        let len = d.get(at..at + 4)?;
        Some(at + 4 + u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize)
    };
    let after_row = field(at)?;
    let after_qualifier = field(after_row)?;
    let after_fixed = after_qualifier.checked_add(17)?;
    let end = field(after_fixed)?;
    (end <= d.len()).then_some(end)
}

/// Where the kind byte of the (length-checked) cell at `at` is.
fn kind_offset(d: &[u8], at: usize) -> usize {
    let row_len = read_u32(d, at) as usize;
    let q = at + 4 + row_len;
    q + 4 + read_u32(d, q) as usize + 8
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(row: &[u8], qualifier: &[u8], timestamp: i64, sequence: u64) -> CellKey {
        CellKey {
            row: Bytes::copy_from_slice(row),
            qualifier: Bytes::copy_from_slice(qualifier),
            timestamp,
            kind: CellKind::Put,
            sequence,
        }
    }

    proptest! {
        #[test]
        fn cells_round_trip_through_every_codec(
            cells in proptest::collection::btree_map(
                (proptest::collection::vec(any::<u8>(), 0..20),
                 proptest::collection::vec(any::<u8>(), 0..8), any::<i64>()),
                proptest::collection::vec(any::<u8>(), 0..300), 0..40),
        ) {
            let mut keys: Vec<(CellKey, Vec<u8>)> = cells
                .into_iter()
                .map(|((r, q, t), v)| (key(&r, &q, t, 1), v))
                .collect();
            keys.sort_by(|a, b| a.0.cmp(&b.0));
            let mut raw = BytesMut::new();
            for (k, v) in &keys {
                encode_cell(&mut raw, k, v);
            }
            for codec in [Compression::None, Compression::Lz4, Compression::Zstd] {
                let stored = frame(&raw, codec).unwrap();
                let block = DataBlock::decode(unframe(&stored, "t").unwrap(), "t").unwrap();
                prop_assert_eq!(block.len(), keys.len());
                for (i, (k, v)) in keys.iter().enumerate() {
                    let (bk, bv) = block.cell(i);
                    prop_assert_eq!(&bk, k);
                    prop_assert_eq!(&bv[..], &v[..]);
                    prop_assert_eq!(block.seek(k), i);
                }
            }
        }
    }

    #[test]
    fn damage_is_detected_before_decoding() {
        let mut raw = BytesMut::new();
        encode_cell(&mut raw, &key(b"row", b"q", 5, 1), b"value");
        let mut stored = frame(&raw, Compression::Lz4).unwrap();
        let middle = stored.len() / 2;
        stored[middle] ^= 1;
        assert!(matches!(unframe(&stored, "f"), Err(Error::Corrupt { .. })));
        assert!(matches!(unframe(&[1, 2], "f"), Err(Error::Corrupt { .. })));
        let truncated = raw.clone().freeze().slice(..raw.len() - 1);
        assert!(matches!(
            DataBlock::decode(truncated, "f"),
            Err(Error::Corrupt { .. })
        ));
        let mut bad_kind = raw.to_vec();
        let kind_at = kind_offset(&bad_kind, 0);
        bad_kind[kind_at] = 99;
        assert!(DataBlock::decode(Bytes::from(bad_kind), "f").is_err());
    }
}
