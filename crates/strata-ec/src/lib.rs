//! Erasure coding for Strata, as pure functions without I/O.
//!
//! - [`policy`]: the policies (`RS-6-3-1024k`, `XOR-2-1-1024k`, ...) and their names.
//! - [`geometry`]: how a block group's bytes are laid out in cells across internal blocks.
//! - [`matrix`]: generator matrices over GF(2^8) (the Cauchy matrix of ISA-L's
//!   `gf_gen_cauchy1_matrix`, as Hadoop uses) and the decode matrices derived from them.
//! - [`engine`]: the bulk multiply of a coefficient matrix by data slices, portable
//!   (`reed-solomon-erasure`'s SIMD GF(2^8) slice operations) or ISA-L (feature `isal`).
//! - [`coder`]: encode parity and reconstruct lost units for a policy.
//!
//! The parity bytes depend only on the policy, never on which engine computes them.

pub mod coder;
pub mod engine;
pub mod geometry;
pub mod matrix;
pub mod policy;

pub use coder::Coder;
pub use geometry::StripeGeometry;
pub use policy::{CodecKind, EcPolicy};

/// What can go wrong in erasure coding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EcError {
    /// A policy name or parameter that is not allowed.
    #[error("invalid erasure coding policy {name:?}: {reason}")]
    InvalidPolicy {
        /// The name as given.
        name: String,
        /// Why it is refused.
        reason: String,
    },
    /// Fewer than the data-unit count of units survive.
    #[error("cannot decode: {available} units available, {needed} needed")]
    TooManyErasures {
        /// Units present.
        available: usize,
        /// Units needed (the number of data units).
        needed: usize,
    },
    /// Slices of different lengths, a wrong unit count, an index out of range.
    #[error("invalid coding arguments: {0}")]
    InvalidArguments(String),
}
