//! Where a block group's bytes live.
//!
//! A block group holds `data` data internal blocks and `parity` parity internal blocks. Its
//! bytes are cut into cells laid round-robin over the data blocks: stripe `s` is cells
//! `s * data .. (s + 1) * data`, and cell `j` of a stripe goes to data block `j`. Each stripe's
//! parity cells are computed from its data cells (zero-padded when the last stripe is short)
//! and are as long as its first data cell.

use crate::policy::EcPolicy;

/// The cell layout of a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StripeGeometry {
    /// Data units per stripe.
    pub data: usize,
    /// Parity units per stripe.
    pub parity: usize,
    /// Bytes per cell.
    pub cell: u64,
}

/// Where one byte of a block group is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellPosition {
    /// The stripe.
    pub stripe: u64,
    /// The data unit (internal block index).
    pub unit: usize,
    /// The offset inside the cell.
    pub offset_in_cell: u64,
    /// The offset inside the internal block.
    pub internal_offset: u64,
}

/// A run of a block group's bytes that lies in one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellPiece {
    /// The data unit holding it.
    pub unit: usize,
    /// Where it starts in that internal block.
    pub internal_offset: u64,
    /// Where it starts in the group.
    pub group_offset: u64,
    /// Its length.
    pub len: u64,
}

impl StripeGeometry {
    /// The layout of `policy`.
    pub fn new(policy: &EcPolicy) -> StripeGeometry {
        StripeGeometry {
            data: policy.data,
            parity: policy.parity,
            cell: policy.cell as u64,
        }
    }

    /// Data bytes in a full stripe.
    pub fn stripe_size(&self) -> u64 {
        self.cell * self.data as u64
    }

    /// Data units plus parity units.
    pub fn units(&self) -> usize {
        self.data + self.parity
    }

    /// Stripes holding a group's `group_len` bytes (the last may be partial).
    pub fn stripes(&self, group_len: u64) -> u64 {
        group_len.div_ceil(self.stripe_size())
    }

    /// The length of cell `unit` of stripe `stripe` in a group of `group_len` bytes (parity
    /// cells are as long as the stripe's first data cell).
    pub fn cell_length(&self, group_len: u64, stripe: u64, unit: usize) -> u64 {
        let start = stripe * self.stripe_size();
        if start >= group_len {
            return 0;
        }
        let in_stripe = (group_len - start).min(self.stripe_size());
        let index = if unit < self.data { unit as u64 } else { 0 };
        in_stripe.saturating_sub(index * self.cell).min(self.cell)
    }

    /// The length of internal block `unit` in a group of `group_len` bytes.
    pub fn internal_length(&self, group_len: u64, unit: usize) -> u64 {
        let full = group_len / self.stripe_size();
        let mut length = full * self.cell;
        if !group_len.is_multiple_of(self.stripe_size()) {
            length += self.cell_length(group_len, full, unit);
        }
        length
    }

    /// Bytes a group of `group_len` file bytes takes on workers: every data and parity
    /// internal block.
    pub fn stored_length(&self, group_len: u64) -> u64 {
        (0..self.units())
            .map(|unit| self.internal_length(group_len, unit))
            .sum()
    }

    /// Where group offset `offset` is.
    pub fn locate(&self, offset: u64) -> CellPosition {
        let stripe = offset / self.stripe_size();
        let within = offset % self.stripe_size();
        let unit = (within / self.cell) as usize;
        let offset_in_cell = within % self.cell;
        CellPosition {
            stripe,
            unit,
            offset_in_cell,
            internal_offset: stripe * self.cell + offset_in_cell,
        }
    }

    /// The group offset of byte `internal_offset` of data block `unit`.
    pub fn group_offset(&self, unit: usize, internal_offset: u64) -> u64 {
        let stripe = internal_offset / self.cell;
        stripe * self.stripe_size() + unit as u64 * self.cell + internal_offset % self.cell
    }

    /// The cell pieces of the group range `[start, end)`, in group order.
    pub fn pieces(&self, start: u64, end: u64) -> Vec<CellPiece> {
        let mut out = Vec::new();
        let mut at = start;
        while at < end {
            let pos = self.locate(at);
            let len = (self.cell - pos.offset_in_cell).min(end - at);
            out.push(CellPiece {
                unit: pos.unit,
                internal_offset: pos.internal_offset,
                group_offset: at,
                len,
            });
            at += len;
        }
        out
    }

    /// The range of data block `unit` that the group range `[start, end)` touches, as
    /// `(internal start, internal end)`; empty when it touches none of that block.
    pub fn internal_range(&self, unit: usize, start: u64, end: u64) -> (u64, u64) {
        let pieces: Vec<CellPiece> = self
            .pieces(start, end)
            .into_iter()
            .filter(|p| p.unit == unit)
            .collect();
        match (pieces.first(), pieces.last()) {
            (Some(first), Some(last)) => (first.internal_offset, last.internal_offset + last.len),
            _ => (0, 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn geometry(data: usize, parity: usize, cell: u64) -> StripeGeometry {
        StripeGeometry { data, parity, cell }
    }

    #[test]
    fn partial_last_stripe() {
        let g = geometry(3, 2, 10);
        // 2 full stripes (60 bytes) + 15 bytes: cells of 10 and 5.
        let len = 75;
        assert_eq!(g.internal_length(len, 0), 30);
        assert_eq!(g.internal_length(len, 1), 25);
        assert_eq!(g.internal_length(len, 2), 20);
        assert_eq!(g.internal_length(len, 3), 30);
        assert_eq!(g.internal_length(len, 4), 30);
        assert_eq!(g.stripes(len), 3);
        assert_eq!(g.internal_length(0, 3), 0);
        assert_eq!(g.stored_length(len), 30 + 25 + 20 + 30 + 30);
    }

    fn arb_geometry() -> impl Strategy<Value = StripeGeometry> {
        (1usize..11, 1usize..5, 1u64..64).prop_map(|(d, p, c)| geometry(d, p, c))
    }

    proptest! {
        #[test]
        fn offsets_map_both_ways(g in arb_geometry(), offset in 0u64..100_000) {
            let pos = g.locate(offset);
            prop_assert!(pos.unit < g.data);
            prop_assert!(pos.offset_in_cell < g.cell);
            prop_assert_eq!(g.group_offset(pos.unit, pos.internal_offset), offset);
        }

        #[test]
        fn data_blocks_hold_exactly_the_group(g in arb_geometry(), len in 0u64..100_000) {
            let total: u64 = (0..g.data).map(|u| g.internal_length(len, u)).sum();
            prop_assert_eq!(total, len);
            for p in g.data..g.units() {
                prop_assert_eq!(g.internal_length(len, p), g.internal_length(len, 0));
            }
            let by_stripes: u64 = (0..g.stripes(len))
                .map(|s| (0..g.data).map(|u| g.cell_length(len, s, u)).sum::<u64>())
                .sum();
            prop_assert_eq!(by_stripes, len);
        }

        #[test]
        fn pieces_tile_a_range_in_order(g in arb_geometry(), start in 0u64..10_000, len in 0u64..10_000) {
            let pieces = g.pieces(start, start + len);
            let mut at = start;
            for p in &pieces {
                prop_assert_eq!(p.group_offset, at);
                prop_assert!(p.len > 0 && p.len <= g.cell);
                prop_assert_eq!(g.locate(at).internal_offset, p.internal_offset);
                at += p.len;
            }
            prop_assert_eq!(at, start + len);
            for unit in 0..g.data {
                let (a, b) = g.internal_range(unit, start, start + len);
                let covered: u64 = pieces.iter().filter(|p| p.unit == unit).map(|p| p.len).sum();
                prop_assert!(b - a >= covered);
            }
        }
    }
}
