//! YCSB's key choosers: record keys (`user` and the FNV-1a hash of the record number, as
//! YCSB's hashed insert order names them), its zipfian generator (Gray et al.'s method, as
//! YCSB's `ZipfianGenerator`), the scrambled zipfian that spreads the popular records over
//! the key space, and the skewed-latest chooser of workload D.

use rand::Rng;

/// YCSB's zipfian constant.
pub const ZIPFIAN_CONSTANT: f64 = 0.99;

/// YCSB's `Utils.fnvhash64`: FNV-1a over the value's 8 bytes, made non-negative.
pub fn fnv_hash(value: u64) -> u64 {
    const OFFSET_BASIS: u64 = 0xCBF2_9CE4_8422_2325;
    const PRIME: u64 = 1_099_511_628_211;
    let mut hash = OFFSET_BASIS;
    let mut rest = value;
    for _ in 0..8 {
        hash ^= rest & 0xff;
        hash = hash.wrapping_mul(PRIME);
        rest >>= 8;
    }
    (hash as i64).unsigned_abs()
}

/// The key of record `n`.
pub fn record_key(n: u64) -> String {
    format!("user{}", fnv_hash(n))
}

/// Zipfian over `0..items`: 0 the most popular.
#[derive(Debug, Clone)]
pub struct Zipfian {
    items: u64,
    zeta_n: f64,
    alpha: f64,
    eta: f64,
    half_pow_theta: f64,
}

fn zeta(n: u64, theta: f64) -> f64 {
    (1..=n).map(|i| 1.0 / (i as f64).powf(theta)).sum()
}

impl Zipfian {
    /// Zipfian over `items` items with YCSB's constant.
    pub fn new(items: u64) -> Zipfian {
        let theta = ZIPFIAN_CONSTANT;
        let items = items.max(1);
        let zeta_n = zeta(items, theta);
        let zeta_2 = zeta(2, theta);
        Zipfian {
            items,
            zeta_n,
            alpha: 1.0 / (1.0 - theta),
            eta: (1.0 - (2.0 / items as f64).powf(1.0 - theta)) / (1.0 - zeta_2 / zeta_n),
            half_pow_theta: 0.5f64.powf(theta),
        }
    }

    /// The next item.
    pub fn next(&self, rng: &mut impl Rng) -> u64 {
        let u: f64 = rng.random();
        let uz = u * self.zeta_n;
        if uz < 1.0 {
            return 0;
        }
        if uz < 1.0 + self.half_pow_theta {
            return 1.min(self.items - 1);
        }
        let item = (self.items as f64 * (self.eta * u - self.eta + 1.0).powf(self.alpha)) as u64;
        item.min(self.items - 1)
    }

    /// The next item with the popular ones scattered over `0..items` (YCSB's
    /// `ScrambledZipfianGenerator`).
    pub fn next_scrambled(&self, rng: &mut impl Rng) -> u64 {
        fnv_hash(self.next(rng)) % self.items
    }

    /// The next item counted back from `latest` (YCSB's `SkewedLatestGenerator`): the
    /// newest records are the most popular.
    pub fn next_latest(&self, rng: &mut impl Rng, latest: u64) -> u64 {
        latest.saturating_sub(self.next(rng))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_ycsbs_and_popularity_is_zipfian() {
        // YCSB's first record in hashed order.
        assert_eq!(record_key(0), "user6284781860667377211");
        let zipf = Zipfian::new(1000);
        let mut rng = rand::rng();
        let mut counts = vec![0u32; 1000];
        for _ in 0..100_000 {
            counts[zipf.next(&mut rng) as usize] += 1;
        }
        assert!(counts[0] > counts[1] && counts[1] > counts[10] && counts[10] > counts[500]);
        let share = f64::from(counts[0]) / 100_000.0;
        assert!((0.10..0.16).contains(&share), "item 0 drew {share}");
        assert!((0..1000).all(|_| zipf.next_scrambled(&mut rng) < 1000));
        assert!(zipf.next_latest(&mut rng, 5000) <= 5000);
    }
}
