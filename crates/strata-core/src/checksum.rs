//! CRC32C (Castagnoli) checksums over fixed-size chunks of a block.
//!
//! A block is checksummed in chunks of `chunk_size` bytes aligned to block offsets: chunk `i`
//! covers `[i * chunk_size, (i + 1) * chunk_size)`, the last chunk may be shorter. Data in
//! flight is cut the same way, so a packet that starts mid-chunk (after an append) carries a
//! checksum for the piece up to the next boundary, and the store combines it with the stored
//! partial chunk's checksum.

use crc_fast::CrcAlgorithm;

/// The default number of bytes covered by one checksum.
pub const DEFAULT_CHUNK_SIZE: u32 = 4096;

/// CRC32C of `data`.
pub fn crc32c(data: &[u8]) -> u32 {
    crc_fast::crc32_iscsi(data)
}

/// The CRC32C of `a ++ b`, given the CRC32C of `a`, the CRC32C of `b` and the length of `b`.
pub fn crc32c_combine(crc_a: u32, crc_b: u32, len_b: u64) -> u32 {
    crc_fast::checksum_combine(CrcAlgorithm::Crc32Iscsi, crc_a as u64, crc_b as u64, len_b) as u32
}

/// The pieces `(offset_in_data, length)` that `len` bytes starting at `block_offset` fall into
/// when cut at chunk boundaries.
pub fn pieces(
    block_offset: u64,
    len: usize,
    chunk_size: u32,
) -> impl Iterator<Item = (usize, usize)> {
    let chunk = chunk_size.max(1) as u64;
    let mut at = 0usize;
    std::iter::from_fn(move || {
        if at >= len {
            return None;
        }
        let absolute = block_offset + at as u64;
        let to_boundary = (chunk - absolute % chunk) as usize;
        let piece = to_boundary.min(len - at);
        let start = at;
        at += piece;
        Some((start, piece))
    })
}

/// The checksum of every chunk piece of `data`, which starts at `block_offset` in its block.
pub fn chunk_checksums(block_offset: u64, data: &[u8], chunk_size: u32) -> Vec<u32> {
    pieces(block_offset, data.len(), chunk_size)
        .map(|(start, len)| crc32c(&data[start..start + len]))
        .collect()
}

/// Checks `data` (starting at `block_offset`) against one checksum per chunk piece.
/// On a mismatch returns the block offset of the first bad piece.
pub fn verify_chunks(
    block_offset: u64,
    data: &[u8],
    checksums: &[u32],
    chunk_size: u32,
) -> Result<(), u64> {
    let mut expected = checksums.iter();
    for (start, len) in pieces(block_offset, data.len(), chunk_size) {
        let offset = block_offset + start as u64;
        match expected.next() {
            Some(&crc) if crc == crc32c(&data[start..start + len]) => {}
            _ => return Err(offset),
        }
    }
    if expected.next().is_some() {
        return Err(block_offset + data.len() as u64);
    }
    Ok(())
}

/// Encodes checksums as little-endian `u32`s, the form they take on disk and on the wire.
pub fn encode_checksums(checksums: &[u32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(checksums.len() * 4);
    for crc in checksums {
        out.extend_from_slice(&crc.to_le_bytes());
    }
    out
}

/// Decodes little-endian `u32` checksums; `None` if the length is not a multiple of 4.
pub fn decode_checksums(bytes: &[u8]) -> Option<Vec<u32>> {
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

/// The CRC32C of a whole block of `length` bytes from its chunk checksums, without its data.
pub fn combine_chunks(checksums: &[u32], length: u64, chunk_size: u32) -> u32 {
    let chunk = chunk_size as u64;
    let mut total = 0u32;
    let mut remaining = length;
    for (i, crc) in checksums.iter().enumerate() {
        let len = remaining.min(chunk);
        total = if i == 0 {
            *crc
        } else {
            crc32c_combine(total, *crc, len)
        };
        remaining -= len;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_vector() {
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
    }

    #[test]
    fn pieces_align_to_boundaries() {
        let got: Vec<_> = pieces(4000, 10_000, 4096).collect();
        assert_eq!(got, vec![(0, 96), (96, 4096), (4192, 4096), (8288, 1712)]);
        assert_eq!(pieces(0, 0, 4096).count(), 0);
    }

    proptest! {
        #[test]
        fn verify_accepts_own_checksums_and_catches_flips(
            offset in 0u64..20_000,
            data in proptest::collection::vec(any::<u8>(), 1..20_000),
            flip in any::<prop::sample::Index>(),
        ) {
            let crcs = chunk_checksums(offset, &data, 4096);
            prop_assert!(verify_chunks(offset, &data, &crcs, 4096).is_ok());
            let mut bad = data.clone();
            let i = flip.index(bad.len());
            bad[i] ^= 0x40;
            prop_assert!(verify_chunks(offset, &bad, &crcs, 4096).is_err());
        }

        #[test]
        fn combined_chunks_equal_whole_crc(data in proptest::collection::vec(any::<u8>(), 1..30_000)) {
            let crcs = chunk_checksums(0, &data, 4096);
            prop_assert_eq!(combine_chunks(&crcs, data.len() as u64, 4096), crc32c(&data));
        }

        #[test]
        fn encode_round_trips(crcs in proptest::collection::vec(any::<u32>(), 0..100)) {
            prop_assert_eq!(decode_checksums(&encode_checksums(&crcs)), Some(crcs));
        }
    }
}
