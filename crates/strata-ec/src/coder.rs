//! Encoding parity and reconstructing lost units for one policy with one engine.

use crate::EcError;
use crate::engine::{Engine, Prepared, default_engine};
use crate::matrix::Matrix;
use crate::policy::EcPolicy;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;

/// Decode matrices are cached per (sources, wanted) pattern.
type Pattern = (Vec<usize>, Vec<usize>);

/// The encoder and decoders of a policy.
pub struct Coder {
    policy: EcPolicy,
    generator: Matrix,
    engine: Arc<dyn Engine>,
    encoder: Box<dyn Prepared>,
    decoders: Mutex<HashMap<Pattern, Arc<dyn Prepared>>>,
}

impl std::fmt::Debug for Coder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coder")
            .field("policy", &self.policy.name())
            .field("engine", &self.engine.name())
            .finish()
    }
}

impl Coder {
    /// A coder for `policy` using the fastest engine compiled in.
    pub fn new(policy: EcPolicy) -> Coder {
        Coder::with_engine(policy, default_engine())
    }

    /// A coder for `policy` using `engine`.
    pub fn with_engine(policy: EcPolicy, engine: Arc<dyn Engine>) -> Coder {
        let generator = Matrix::generator(&policy);
        let parity_rows: Vec<usize> = (policy.data..policy.units()).collect();
        let encoder = engine.prepare(&generator.select_rows(&parity_rows));
        Coder {
            policy,
            generator,
            engine,
            encoder,
            decoders: Mutex::new(HashMap::new()),
        }
    }

    /// The policy.
    pub fn policy(&self) -> &EcPolicy {
        &self.policy
    }

    /// The engine's name.
    pub fn engine_name(&self) -> &'static str {
        self.engine.name()
    }

    /// Computes the parity units of one stripe from its data units (all the same length).
    pub fn encode(&self, data: &[&[u8]], parity: &mut [&mut [u8]]) -> Result<(), EcError> {
        if data.len() != self.policy.data || parity.len() != self.policy.parity {
            return Err(EcError::InvalidArguments(format!(
                "{} needs {} data and {} parity slices, got {} and {}",
                self.policy,
                self.policy.data,
                self.policy.parity,
                data.len(),
                parity.len()
            )));
        }
        check_lengths(
            data.iter()
                .map(|d| d.len())
                .chain(parity.iter().map(|p| p.len())),
        )?;
        self.encoder.apply(data, parity);
        Ok(())
    }

    /// Computes the units listed in `wanted` from the units present in `units` (one entry
    /// per unit, data units first; at least `data` of them present, all the same length).
    pub fn reconstruct(
        &self,
        units: &[Option<&[u8]>],
        wanted: &[usize],
        outputs: &mut [&mut [u8]],
    ) -> Result<(), EcError> {
        let k = self.policy.data;
        if units.len() != self.policy.units() || wanted.len() != outputs.len() {
            return Err(EcError::InvalidArguments(format!(
                "{} has {} units; got {} units and {} outputs for {} wanted",
                self.policy,
                self.policy.units(),
                units.len(),
                outputs.len(),
                wanted.len()
            )));
        }
        if let Some(bad) = wanted.iter().find(|w| **w >= units.len()) {
            return Err(EcError::InvalidArguments(format!("no unit {bad}")));
        }
        let sources: Vec<usize> = (0..units.len())
            .filter(|i| units[*i].is_some())
            .take(k)
            .collect();
        if sources.len() < k {
            return Err(EcError::TooManyErasures {
                available: sources.len(),
                needed: k,
            });
        }
        let inputs: Vec<&[u8]> = sources.iter().filter_map(|i| units[*i]).collect();
        check_lengths(
            inputs
                .iter()
                .map(|d| d.len())
                .chain(outputs.iter().map(|o| o.len())),
        )?;
        let decoder = self.decoder(&sources, wanted)?;
        decoder.apply(&inputs, outputs);
        Ok(())
    }

    fn decoder(&self, sources: &[usize], wanted: &[usize]) -> Result<Arc<dyn Prepared>, EcError> {
        let key = (sources.to_vec(), wanted.to_vec());
        if let Some(d) = self.decoders.lock().get(&key) {
            return Ok(d.clone());
        }
        let inverse = self
            .generator
            .select_rows(sources)
            .invert()
            .ok_or_else(|| {
                EcError::InvalidArguments(format!("units {sources:?} do not determine the stripe"))
            })?;
        let rows = self.generator.select_rows(wanted).multiply(&inverse);
        let prepared: Arc<dyn Prepared> = Arc::from(self.engine.prepare(&rows));
        self.decoders.lock().insert(key, prepared.clone());
        Ok(prepared)
    }
}

fn check_lengths(mut lengths: impl Iterator<Item = usize>) -> Result<(), EcError> {
    let Some(first) = lengths.next() else {
        return Ok(());
    };
    if lengths.any(|l| l != first) {
        return Err(EcError::InvalidArguments(
            "slices of different lengths".to_string(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::engines;
    use proptest::prelude::*;

    fn random_units(policy: &EcPolicy, len: usize, seed: u64) -> Vec<Vec<u8>> {
        let mut s = seed | 1;
        (0..policy.data)
            .map(|_| {
                (0..len)
                    .map(|_| {
                        s ^= s << 13;
                        s ^= s >> 7;
                        s ^= s << 17;
                        s as u8
                    })
                    .collect()
            })
            .collect()
    }

    fn encode_with(coder: &Coder, data: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let len = data[0].len();
        let mut parity = vec![vec![0u8; len]; coder.policy().parity];
        let inputs: Vec<&[u8]> = data.iter().map(|d| d.as_slice()).collect();
        let mut outputs: Vec<&mut [u8]> = parity.iter_mut().map(|p| p.as_mut_slice()).collect();
        coder.encode(&inputs, &mut outputs).unwrap();
        parity
    }

    #[test]
    fn xor_parity_is_the_xor_of_the_data() {
        let policy = EcPolicy::parse("XOR-2-1-1024k").unwrap();
        let data = vec![vec![0b1010u8; 8], vec![0b0110u8; 8]];
        for engine in engines() {
            assert_eq!(
                encode_with(&Coder::with_engine(policy, engine), &data),
                vec![vec![0b1100u8; 8]]
            );
        }
    }

    #[test]
    fn rs_parity_of_known_input() {
        // Parity of RS-3-2 over data units [1], [2], [3]: row i is Σ_j 1/(i^j) · d_j.
        let policy = EcPolicy::parse("RS-3-2-1024k").unwrap();
        let data = vec![vec![1u8], vec![2u8], vec![3u8]];
        use reed_solomon_erasure::galois_8::{div, mul};
        let expect = |i: u8| mul(div(1, i), 1) ^ mul(div(1, i ^ 1), 2) ^ mul(div(1, i ^ 2), 3);
        for engine in engines() {
            let parity = encode_with(&Coder::with_engine(policy, engine), &data);
            assert_eq!(parity, vec![vec![expect(3)], vec![expect(4)]]);
        }
    }

    proptest! {
        #[test]
        fn every_engine_agrees_and_any_allowed_loss_is_recovered(
            policy in prop::sample::select(vec!["RS-3-2-64k", "RS-6-3-1024k", "RS-10-4-1024k", "XOR-2-1-64k"]),
            len in 1usize..3000,
            seed in any::<u64>(),
            erasure_seed in any::<u64>(),
        ) {
            let policy = EcPolicy::parse(policy).unwrap();
            let data = random_units(&policy, len, seed);
            let coders: Vec<Coder> = engines().into_iter().map(|e| Coder::with_engine(policy, e)).collect();
            let parity = encode_with(&coders[0], &data);
            for other in &coders[1..] {
                prop_assert_eq!(&encode_with(other, &data), &parity, "{} and {} differ", coders[0].engine_name(), other.engine_name());
            }
            let all: Vec<Vec<u8>> = data.iter().chain(parity.iter()).cloned().collect();
            // Erase up to `parity` units chosen by the seed.
            let mut order: Vec<usize> = (0..policy.units()).collect();
            let mut s = erasure_seed | 1;
            for i in (1..order.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
                order.swap(i, (s >> 33) as usize % (i + 1));
            }
            let lost: Vec<usize> = order[..1 + (erasure_seed as usize % policy.parity)].to_vec();
            for coder in &coders {
                let units: Vec<Option<&[u8]>> = (0..policy.units())
                    .map(|i| (!lost.contains(&i)).then(|| all[i].as_slice()))
                    .collect();
                let mut rebuilt = vec![vec![0u8; len]; lost.len()];
                let mut outputs: Vec<&mut [u8]> = rebuilt.iter_mut().map(|r| r.as_mut_slice()).collect();
                coder.reconstruct(&units, &lost, &mut outputs).unwrap();
                for (r, i) in rebuilt.iter().zip(&lost) {
                    prop_assert_eq!(r, &all[*i]);
                }
            }
        }
    }

    #[test]
    fn too_many_losses_are_refused() {
        let policy = EcPolicy::parse("RS-3-2-64k").unwrap();
        let coder = Coder::new(policy);
        let unit = vec![0u8; 4];
        let units = [
            Some(unit.as_slice()),
            None,
            None,
            None,
            Some(unit.as_slice()),
        ];
        let mut out = vec![0u8; 4];
        assert!(matches!(
            coder.reconstruct(&units, &[1], &mut [out.as_mut_slice()]),
            Err(EcError::TooManyErasures {
                available: 2,
                needed: 3
            })
        ));
    }
}
