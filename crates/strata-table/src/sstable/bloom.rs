//! An SSTable's bloom filter: which rows (or row+column pairs) the file may hold, so a get
//! skips files that cannot have its row. About 10 bits per key and 7 probes (under 1% false
//! positives), positions from two halves of an xxh3 hash (Kirsch–Mitzenmacher).

use xxhash_rust::xxh3::xxh3_128;

/// Bits per key.
const BITS_PER_KEY: usize = 10;
/// Probes per key.
const PROBES: u32 = 7;

/// Collects keys while a file is written.
#[derive(Debug, Default)]
pub struct BloomBuilder {
    hashes: Vec<u128>,
}

impl BloomBuilder {
    /// Adds a key (repeats are harmless).
    pub fn add(&mut self, key: &[u8]) {
        let hash = xxh3_128(key);
        if self.hashes.last() != Some(&hash) {
            self.hashes.push(hash);
        }
    }

    /// Adds the key of a row and column (ROWCOL blooms).
    pub fn add_row_column(&mut self, row: &[u8], qualifier: &[u8]) {
        self.add(&row_column_key(row, qualifier));
    }

    /// The filter's stored form: `[u32 probes][bits...]`.
    pub fn finish(self) -> Vec<u8> {
        let bits = (self.hashes.len() * BITS_PER_KEY)
            .max(64)
            .next_multiple_of(8);
        let mut out = vec![0u8; 4 + bits / 8];
        out[..4].copy_from_slice(&PROBES.to_le_bytes());
        for hash in self.hashes {
            for bit in positions(hash, bits as u64, PROBES) {
                out[4 + (bit / 8) as usize] |= 1 << (bit % 8);
            }
        }
        out
    }
}

/// A stored bloom filter.
#[derive(Debug, Clone)]
pub struct Bloom {
    probes: u32,
    bits: Vec<u8>,
}

impl Bloom {
    /// Reads a stored filter; `None` when it is malformed.
    pub fn decode(stored: &[u8]) -> Option<Bloom> {
        let probes = u32::from_le_bytes(stored.get(..4)?.try_into().ok()?);
        let bits = stored.get(4..)?.to_vec();
        (probes > 0 && probes <= 32 && !bits.is_empty()).then_some(Bloom { probes, bits })
    }

    /// False when the file certainly holds no `key`.
    pub fn may_contain(&self, key: &[u8]) -> bool {
        let n = self.bits.len() as u64 * 8;
        positions(xxh3_128(key), n, self.probes)
            .all(|bit| self.bits[(bit / 8) as usize] & (1 << (bit % 8)) != 0)
    }

    /// False when the file certainly holds no cell of `row` in column `qualifier`.
    pub fn may_contain_row_column(&self, row: &[u8], qualifier: &[u8]) -> bool {
        self.may_contain(&row_column_key(row, qualifier))
    }
}

/// The bloom key of a row and column: the row's length first, so no two pairs collide.
fn row_column_key(row: &[u8], qualifier: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(4 + row.len() + qualifier.len());
    key.extend_from_slice(&(row.len() as u32).to_le_bytes());
    key.extend_from_slice(row);
    key.extend_from_slice(qualifier);
    key
}

fn positions(hash: u128, bits: u64, probes: u32) -> impl Iterator<Item = u64> {
    let h1 = hash as u64;
    let h2 = (hash >> 64) as u64 | 1;
    (0..u64::from(probes)).map(move |i| h1.wrapping_add(i.wrapping_mul(h2)) % bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_added_key_is_found_and_few_others_are() {
        let mut builder = BloomBuilder::default();
        for i in 0..10_000u32 {
            builder.add(format!("row-{i}").as_bytes());
            builder.add_row_column(b"r", format!("q{i}").as_bytes());
        }
        let bloom = Bloom::decode(&builder.finish()).unwrap();
        for i in 0..10_000u32 {
            assert!(bloom.may_contain(format!("row-{i}").as_bytes()));
            assert!(bloom.may_contain_row_column(b"r", format!("q{i}").as_bytes()));
        }
        let false_positives = (0..10_000u32)
            .filter(|i| bloom.may_contain(format!("other-{i}").as_bytes()))
            .count();
        assert!(
            false_positives < 300,
            "{false_positives} false positives in 10,000"
        );
        assert!(Bloom::decode(&[0, 0, 0, 0, 1]).is_none());
        assert!(Bloom::decode(&[7, 0]).is_none());
    }
}
