//! Matrices over GF(2^8) (polynomial 0x11d, the field of ISA-L, Hadoop and
//! `reed-solomon-erasure`): the generator matrix of a policy and the decode matrices derived
//! from it. Only small k×k matrices are inverted here; bulk data goes through an
//! [`crate::engine::Engine`].

use crate::policy::{CodecKind, EcPolicy};
use reed_solomon_erasure::galois_8 as gf;

/// A row-major matrix over GF(2^8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    cells: Vec<u8>,
}

impl Matrix {
    /// A matrix from its rows, concatenated.
    pub fn from_rows(rows: usize, cols: usize, cells: Vec<u8>) -> Matrix {
        debug_assert_eq!(cells.len(), rows * cols);
        Matrix { rows, cols, cells }
    }

    /// The `n`×`n` identity.
    pub fn identity(n: usize) -> Matrix {
        let mut cells = vec![0u8; n * n];
        for i in 0..n {
            cells[i * n + i] = 1;
        }
        Matrix::from_rows(n, n, cells)
    }

    /// The generator matrix of `policy`: `data` identity rows (data units are stored as they
    /// are) over `parity` parity rows. RS uses the Cauchy rows of ISA-L's
    /// `gf_gen_cauchy1_matrix` (row `i`, column `j` is `1 / (i ^ j)`), exactly as Hadoop's
    /// `RSUtil.genCauchyMatrix`; XOR's one parity row is all ones.
    pub fn generator(policy: &EcPolicy) -> Matrix {
        let (k, m) = (policy.data, policy.parity);
        let mut cells = Matrix::identity(k).cells;
        for i in k..k + m {
            for j in 0..k {
                cells.push(match policy.codec {
                    CodecKind::Rs => gf::div(1, (i ^ j) as u8),
                    CodecKind::Xor => 1,
                });
            }
        }
        Matrix::from_rows(k + m, k, cells)
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row `r`.
    pub fn row(&self, r: usize) -> &[u8] {
        &self.cells[r * self.cols..(r + 1) * self.cols]
    }

    /// All cells, row after row.
    pub fn as_slice(&self) -> &[u8] {
        &self.cells
    }

    /// The matrix of the given rows, in that order.
    pub fn select_rows(&self, rows: &[usize]) -> Matrix {
        let mut cells = Vec::with_capacity(rows.len() * self.cols);
        for &r in rows {
            cells.extend_from_slice(self.row(r));
        }
        Matrix::from_rows(rows.len(), self.cols, cells)
    }

    /// `self × other`.
    pub fn multiply(&self, other: &Matrix) -> Matrix {
        debug_assert_eq!(self.cols, other.rows);
        let mut cells = vec![0u8; self.rows * other.cols];
        for r in 0..self.rows {
            for c in 0..other.cols {
                let mut sum = 0u8;
                for i in 0..self.cols {
                    sum ^= gf::mul(
                        self.cells[r * self.cols + i],
                        other.cells[i * other.cols + c],
                    );
                }
                cells[r * other.cols + c] = sum;
            }
        }
        Matrix::from_rows(self.rows, other.cols, cells)
    }

    /// The inverse of a square matrix (Gauss-Jordan elimination); `None` when singular.
    pub fn invert(&self) -> Option<Matrix> {
        let n = self.rows;
        if n != self.cols {
            return None;
        }
        let mut work = self.cells.clone();
        let mut inverse = Matrix::identity(n).cells;
        for col in 0..n {
            let pivot = (col..n).find(|&r| work[r * n + col] != 0)?;
            if pivot != col {
                for c in 0..n {
                    work.swap(pivot * n + c, col * n + c);
                    inverse.swap(pivot * n + c, col * n + c);
                }
            }
            let scale = gf::div(1, work[col * n + col]);
            for c in 0..n {
                work[col * n + c] = gf::mul(work[col * n + c], scale);
                inverse[col * n + c] = gf::mul(inverse[col * n + c], scale);
            }
            for r in 0..n {
                let factor = work[r * n + col];
                if r == col || factor == 0 {
                    continue;
                }
                for c in 0..n {
                    work[r * n + c] ^= gf::mul(factor, work[col * n + c]);
                    inverse[r * n + c] ^= gf::mul(factor, inverse[col * n + c]);
                }
            }
        }
        Some(Matrix::from_rows(n, n, inverse))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cauchy_rows_are_inverses_of_xor_of_indices() {
        let g = Matrix::generator(&EcPolicy::parse("RS-6-3-1024k").unwrap());
        assert_eq!((g.rows(), g.cols()), (9, 6));
        // 1/6, 1/7, 1/4, 1/5, 1/2, 1/3 in GF(2^8) with polynomial 0x11d.
        assert_eq!(g.row(6), &[122, 186, 71, 167, 142, 244]);
        assert_eq!(g.row(0), &[1, 0, 0, 0, 0, 0]);
        let x = Matrix::generator(&EcPolicy::parse("XOR-2-1-1024k").unwrap());
        assert_eq!(x.row(2), &[1, 1]);
    }

    /// The matrix and the field are ISA-L's own, so parity matches HDFS byte for byte.
    #[cfg(feature = "isal")]
    #[test]
    fn generator_and_field_match_isa_l() {
        for name in ["RS-3-2-1024k", "RS-6-3-1024k", "RS-10-4-1024k"] {
            let policy = EcPolicy::parse(name).unwrap();
            let mut isal = vec![0u8; policy.units() * policy.data];
            erasure_isa_l::gf::gen_cauchy1_matrix(
                &mut isal,
                policy.units() as i32,
                policy.data as i32,
            );
            assert_eq!(
                Matrix::generator(&policy).as_slice(),
                isal.as_slice(),
                "{name}"
            );
        }
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(gf::mul(a, b), erasure_isa_l::gf::mul(a, b));
            }
        }
    }

    proptest! {
        #[test]
        fn any_data_rows_of_a_generator_invert(
            policy in prop::sample::select(vec!["RS-3-2-1024k", "RS-6-3-1024k", "RS-10-4-1024k", "XOR-2-1-1024k"]),
            seed in any::<u64>(),
        ) {
            let policy = EcPolicy::parse(policy).unwrap();
            let g = Matrix::generator(&policy);
            let mut rows: Vec<usize> = (0..policy.units()).collect();
            let mut s = seed;
            for i in (1..rows.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                rows.swap(i, (s >> 33) as usize % (i + 1));
            }
            rows.truncate(policy.data);
            let sub = g.select_rows(&rows);
            let inverse = sub.invert().expect("every choice of data-many rows is invertible");
            prop_assert_eq!(sub.multiply(&inverse), Matrix::identity(policy.data));
        }
    }
}
