//! The bulk operation under every encode and decode: multiply a small coefficient matrix over
//! GF(2^8) by equally long data slices. Two engines compute the same bytes: [`Portable`]
//! (`reed-solomon-erasure`'s SIMD slice operations, always built) and `Isal` (Intel ISA-L,
//! with the `isal` feature).

use crate::matrix::Matrix;
use reed_solomon_erasure::galois_8 as gf;
use std::sync::Arc;

/// Computes `outputs[r] = Σ_j c[r][j] · inputs[j]` for a prepared matrix.
pub trait Prepared: Send + Sync {
    /// Every input and output must have the same length.
    fn apply(&self, inputs: &[&[u8]], outputs: &mut [&mut [u8]]);
}

/// A way to multiply matrices by slices.
pub trait Engine: Send + Sync + std::fmt::Debug {
    /// Short name for reports (`portable`, `isa-l`).
    fn name(&self) -> &'static str;
    /// Prepares `coefficients` (outputs × inputs) for repeated use.
    fn prepare(&self, coefficients: &Matrix) -> Box<dyn Prepared>;
}

/// Every engine compiled in, the fastest first.
pub fn engines() -> Vec<Arc<dyn Engine>> {
    vec![
        #[cfg(feature = "isal")]
        Arc::new(Isal),
        Arc::new(Portable),
    ]
}

/// The fastest engine compiled in.
pub fn default_engine() -> Arc<dyn Engine> {
    #[cfg(feature = "isal")]
    return Arc::new(Isal);
    #[cfg(not(feature = "isal"))]
    Arc::new(Portable)
}

/// `reed-solomon-erasure`'s GF(2^8) slice operations (SIMD where the CPU has it).
#[derive(Debug, Clone, Copy, Default)]
pub struct Portable;

struct PortableMatrix(Matrix);

fn xor_into(out: &mut [u8], input: &[u8]) {
    for (o, i) in out.iter_mut().zip(input) {
        *o ^= *i;
    }
}

impl Prepared for PortableMatrix {
    fn apply(&self, inputs: &[&[u8]], outputs: &mut [&mut [u8]]) {
        for (r, out) in outputs.iter_mut().enumerate() {
            let row = self.0.row(r);
            for (j, (input, &c)) in inputs.iter().zip(row).enumerate() {
                match (j, c) {
                    (0, 0) => out.fill(0),
                    (0, 1) => out.copy_from_slice(input),
                    (0, c) => gf::mul_slice(c, input, out),
                    (_, 0) => {}
                    (_, 1) => xor_into(out, input),
                    (_, c) => gf::mul_slice_xor(c, input, out),
                }
            }
        }
    }
}

impl Engine for Portable {
    fn name(&self) -> &'static str {
        "portable"
    }

    fn prepare(&self, coefficients: &Matrix) -> Box<dyn Prepared> {
        Box::new(PortableMatrix(coefficients.clone()))
    }
}

/// Intel ISA-L's `ec_encode_data` with tables from `ec_init_tables`.
#[cfg(feature = "isal")]
#[derive(Debug, Clone, Copy, Default)]
pub struct Isal;

#[cfg(feature = "isal")]
struct IsalMatrix {
    inputs: usize,
    outputs: usize,
    tables: Vec<u8>,
}

#[cfg(feature = "isal")]
impl Prepared for IsalMatrix {
    fn apply(&self, inputs: &[&[u8]], outputs: &mut [&mut [u8]]) {
        let Some(len) = inputs.first().map(|i| i.len()) else {
            return;
        };
        if len == 0 || inputs.len() != self.inputs || outputs.len() != self.outputs {
            return;
        }
        // ISA-L takes lengths as i32: split longer slices.
        let step = 1usize << 30;
        let mut start = 0;
        while start < len {
            let end = (start + step).min(len);
            let sources: Vec<*const u8> = inputs.iter().map(|s| s[start..end].as_ptr()).collect();
            let mut targets: Vec<*mut u8> = outputs
                .iter_mut()
                .map(|s| s[start..end].as_mut_ptr())
                .collect();
            erasure_isa_l::ec::encode_data(
                (end - start) as i32,
                self.inputs as i32,
                self.outputs as i32,
                &self.tables,
                &sources,
                &mut targets,
            );
            start = end;
        }
    }
}

#[cfg(feature = "isal")]
impl Engine for Isal {
    fn name(&self) -> &'static str {
        "isa-l"
    }

    fn prepare(&self, coefficients: &Matrix) -> Box<dyn Prepared> {
        let (rows, cols) = (coefficients.rows(), coefficients.cols());
        let mut tables = vec![0u8; 32 * rows * cols];
        erasure_isa_l::ec::init_tables(
            cols as i32,
            rows as i32,
            coefficients.as_slice(),
            &mut tables,
        );
        Box::new(IsalMatrix {
            inputs: cols,
            outputs: rows,
            tables,
        })
    }
}
