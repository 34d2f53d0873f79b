//! Identifiers of inodes and blocks.

use std::fmt;

/// The id of a block, unique for the life of a namespace. Shown as `blk_<n>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockId(pub u64);

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
