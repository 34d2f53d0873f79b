//! Identifiers of inodes and blocks.

use std::fmt;

/// The id of a block, unique for the life of a namespace. Shown as `blk_<n>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockId(pub u64);

impl BlockId {
    /// Block groups of erasure-coded files have ids from here up, in steps of
    /// [`BlockId::GROUP_STRIDE`]; internal block `i` of group `g` has id `g + i`.
    pub const STRIPED_BASE: u64 = 1 << 62;
    /// Ids reserved per block group (the most internal blocks a group may have).
    pub const GROUP_STRIDE: u64 = 16;

    /// Whether this is a block group or one of its internal blocks.
    pub fn is_striped(self) -> bool {
        self.0 >= Self::STRIPED_BASE
    }

    /// The block group an internal block belongs to (itself when not striped).
    pub fn group(self) -> BlockId {
        if self.is_striped() {
            BlockId(self.0 & !(Self::GROUP_STRIDE - 1))
        } else {
            self
        }
    }

    /// The index of an internal block in its group (0 when not striped).
    pub fn unit(self) -> usize {
        if self.is_striped() {
            (self.0 & (Self::GROUP_STRIDE - 1)) as usize
        } else {
            0
        }
    }

    /// Internal block `index` of this block group.
    pub fn internal(self, index: usize) -> BlockId {
        BlockId(self.group().0 + index as u64)
    }
}

impl fmt::Display for BlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "blk_{}", self.0)
    }
}

/// The id of an inode (file or directory), unique for the life of a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InodeId(pub u64);

impl InodeId {
    /// The root directory's id.
    pub const ROOT: InodeId = InodeId(1);
}

impl fmt::Display for InodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "inode_{}", self.0)
    }
}

/// A block together with its generation stamp and length: one version of one block.
///
/// The generation stamp changes whenever a block's replicas may have diverged (pipeline
/// recovery, lease recovery, append), so a stale replica is recognised by its older stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExtendedBlock {
    /// Which block.
    pub id: BlockId,
    /// Its generation stamp.
    pub generation: u64,
    /// Its length in bytes.
    pub length: u64,
}

impl fmt::Display for ExtendedBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.id, self.generation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_blocks_of_a_group() {
        let group = BlockId(BlockId::STRIPED_BASE + 32);
        let unit = group.internal(7);
        assert!(unit.is_striped());
        assert_eq!((unit.group(), unit.unit()), (group, 7));
        let plain = BlockId(1 << 30);
        assert!(!plain.is_striped());
        assert_eq!((plain.group(), plain.unit()), (plain, 0));
    }
}
