//! Erasure coding policies: a codec, data and parity unit counts, and a cell size, named like
//! Hadoop's (`RS-6-3-1024k`).

use crate::EcError;
use std::fmt;

/// The most units (data + parity) a block group may have: an internal block's index lives in
/// the low 4 bits of its id.
pub const MAX_UNITS: usize = 16;
/// The smallest cell size.
pub const MIN_CELL: u32 = 64 << 10;
/// The largest cell size.
pub const MAX_CELL: u32 = 4 << 20;
/// Cells are multiples of this (the checksum chunk), so cell boundaries are chunk boundaries.
pub const CELL_MULTIPLE: u32 = 4096;
/// The name that forces replication beneath an erasure-coded directory.
pub const REPLICATION: &str = "REPLICATION";

/// How parity is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodecKind {
    /// Reed-Solomon with the Cauchy generator matrix: survives any `parity` losses.
    Rs,
    /// One parity unit, the XOR of the data units: survives one loss.
    Xor,
}

/// An erasure coding policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EcPolicy {
    /// The codec.
    pub codec: CodecKind,
    /// Data units per stripe.
    pub data: usize,
    /// Parity units per stripe.
    pub parity: usize,
    /// Bytes per cell.
    pub cell: u32,
}

impl EcPolicy {
    /// The policies every cluster has.
    pub fn built_in() -> Vec<EcPolicy> {
        [
            "RS-3-2-1024k",
            "RS-6-3-1024k",
            "RS-10-4-1024k",
            "XOR-2-1-1024k",
        ]
        .iter()
        .filter_map(|n| EcPolicy::parse(n).ok())
        .collect()
    }

    /// Parses `RS-<data>-<parity>-<cell>k` or `XOR-<data>-1-<cell>k` (case-insensitive).
    pub fn parse(name: &str) -> Result<EcPolicy, EcError> {
        let invalid = |reason: &str| EcError::InvalidPolicy {
            name: name.to_string(),
            reason: reason.to_string(),
        };
        let parts: Vec<&str> = name.split('-').collect();
        let [codec, data, parity, cell] = parts.as_slice() else {
            return Err(invalid(
                "expected CODEC-DATA-PARITY-CELL, e.g. RS-6-3-1024k",
            ));
        };
        let codec = match codec.to_ascii_uppercase().as_str() {
            "RS" => CodecKind::Rs,
            "XOR" => CodecKind::Xor,
            _ => return Err(invalid("the codec must be RS or XOR")),
        };
        let data: usize = data.parse().map_err(|_| invalid("bad data unit count"))?;
        let parity: usize = parity
            .parse()
            .map_err(|_| invalid("bad parity unit count"))?;
        let cell_kib: u32 = cell
            .to_ascii_lowercase()
            .strip_suffix('k')
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| invalid("the cell size is written in KiB, e.g. 1024k"))?;
        let policy = EcPolicy {
            codec,
            data,
            parity,
            cell: cell_kib.saturating_mul(1024),
        };
        policy.validate().map_err(|reason| invalid(&reason))?;
        Ok(policy)
    }

    fn validate(&self) -> Result<(), String> {
        if self.data == 0 || self.parity == 0 {
            return Err("data and parity unit counts must be at least 1".to_string());
        }
        if self.data + self.parity > MAX_UNITS {
            return Err(format!("at most {MAX_UNITS} units in all"));
        }
        if self.codec == CodecKind::Xor && self.parity != 1 {
            return Err("XOR has exactly one parity unit".to_string());
        }
        if !(MIN_CELL..=MAX_CELL).contains(&self.cell) || !self.cell.is_multiple_of(CELL_MULTIPLE) {
            return Err(format!(
                "the cell size must be a multiple of {} KiB from {} KiB to {} KiB",
                CELL_MULTIPLE / 1024,
                MIN_CELL / 1024,
                MAX_CELL / 1024
            ));
        }
        Ok(())
    }

    /// Data plus parity units: the workers a block group needs.
    pub fn units(&self) -> usize {
        self.data + self.parity
    }

    /// The policy's name.
    pub fn name(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for EcPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let codec = match self.codec {
            CodecKind::Rs => "RS",
            CodecKind::Xor => "XOR",
        };
        write!(
            f,
            "{codec}-{}-{}-{}k",
            self.data,
            self.parity,
            self.cell / 1024
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bad_ones_are_refused() {
        let names: Vec<String> = EcPolicy::built_in().iter().map(|p| p.name()).collect();
        assert_eq!(
            names,
            [
                "RS-3-2-1024k",
                "RS-6-3-1024k",
                "RS-10-4-1024k",
                "XOR-2-1-1024k"
            ]
        );
        let p = EcPolicy::parse("rs-6-3-256k").unwrap();
        assert_eq!((p.data, p.parity, p.cell), (6, 3, 256 << 10));
        assert_eq!(p.name(), "RS-6-3-256k");
        for bad in [
            "RS-6-3",
            "LRC-6-3-1024k",
            "XOR-2-2-1024k",
            "RS-12-6-1024k",
            "RS-6-3-32k",
            "RS-6-3-8192k",
            "RS-0-3-1024k",
            "RS-6-3-102k",
        ] {
            assert!(EcPolicy::parse(bad).is_err(), "{bad}");
        }
    }
}
