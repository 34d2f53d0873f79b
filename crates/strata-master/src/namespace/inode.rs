//! Inodes: directories with sorted children, files with their block lists.

use std::collections::BTreeMap;
use strata_core::ttl::TtlAction;
use strata_core::{BlockId, ExtendedBlock, InodeId};

/// One block of a file as the namespace records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRecord {
    /// The block id.
    pub id: BlockId,
    /// Its current generation stamp.
    pub generation: u64,
    /// Its length; final once `complete`.
    pub length: u64,
    /// False while the block is being written (its length is not yet known).
    pub complete: bool,
}

impl BlockRecord {
    /// The block as an [`ExtendedBlock`].
    pub fn extended(&self) -> ExtendedBlock {
        ExtendedBlock {
            id: self.id,
            generation: self.generation,
            length: self.length,
        }
    }
}

/// An under-storage object as it was listed or written: a change to the object shows in one of
/// these.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fingerprint {
    /// Its length.
    pub length: u64,
    /// Its ETag (empty when the storage keeps none).
    pub etag: String,
    /// Its modification time, ms since the epoch (0 when unknown).
    pub modified_ms: i64,
}

/// The copy of a file's bytes in the under storage of its mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UfsCopy {
    /// The object as it was listed or written.
    pub fingerprint: Fingerprint,
    /// When the copy was known to exist (listed or written), ms since the epoch.
    pub since: i64,
}

/// A time to live: once an inode is older than this, the master frees or deletes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ttl {
    /// How long after its creation, in ms.
    pub ms: i64,
    /// What happens then.
    pub action: TtlAction,
}

/// A file's own fields.
#[derive(Debug, Clone, PartialEq)]
pub struct FileInode {
    /// Target number of replicas of each block.
    pub replication: u32,
    /// Size of each block but the last.
    pub block_size: u64,
    /// The blocks, in file order.
    pub blocks: Vec<BlockRecord>,
    /// The client writing the file, while it is open for writing.
    pub writer: Option<String>,
    /// The erasure coding policy of a striped file (its blocks are block groups); `None` for a
    /// replicated file.
    pub ec_policy: Option<String>,
    /// For a file under a mount, its copy in under storage (`None`: not persisted yet).
    pub persisted: Option<UfsCopy>,
    /// For a file under a mount, how it reaches the under storage.
    pub write_type: Option<String>,
}

impl FileInode {
    /// Length of the file: the sum of its complete blocks (data still in flight is not counted).
    pub fn length(&self) -> u64 {
        self.blocks
            .iter()
            .filter(|b| b.complete)
            .map(|b| b.length)
            .sum()
    }
}

/// A directory's children, sorted by name so listings page in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Directory {
    /// Child name to inode.
    pub children: BTreeMap<String, InodeId>,
    /// The erasure coding policy set here (a policy name, or `REPLICATION`), inherited by
    /// files created beneath.
    pub ec: Option<String>,
    /// Listed from under storage (removed again when it vanishes there).
    pub from_ufs: bool,
}

/// What an inode is.
#[derive(Debug, Clone, PartialEq)]
pub enum InodeKind {
    /// A directory.
    Directory(Directory),
    /// A file.
    File(FileInode),
}

/// A file or directory with its attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Inode {
    /// Its id.
    pub id: InodeId,
    /// Its parent directory (the root is its own parent).
    pub parent: InodeId,
    /// Its name in the parent ("" for the root).
    pub name: String,
    /// Owning user.
    pub owner: String,
    /// Owning group.
    pub group: String,
    /// Permission bits.
    pub mode: u32,
    /// Last modification, ms since the epoch.
    pub mtime: i64,
    /// Last access, ms since the epoch.
    pub atime: i64,
    /// Creation, ms since the epoch (0: unknown, for inodes recorded before creation times
    /// were kept).
    pub ctime: i64,
    /// Its time to live, if it has one.
    pub ttl: Option<Ttl>,
    /// Pinned: cached blocks of this file (or of files beneath this directory) are never
    /// dropped to make room.
    pub pinned: bool,
    /// Extended attributes, by name (with its namespace prefix, e.g. `user.s3.etag`).
    pub xattrs: BTreeMap<String, Vec<u8>>,
    /// Directory or file.
    pub kind: InodeKind,
}

impl Inode {
    /// The file part, if this is a file.
    pub fn file(&self) -> Option<&FileInode> {
        match &self.kind {
            InodeKind::File(f) => Some(f),
            InodeKind::Directory(_) => None,
        }
    }

    /// The directory part, if this is a directory.
    pub fn directory(&self) -> Option<&Directory> {
        match &self.kind {
            InodeKind::Directory(d) => Some(d),
            InodeKind::File(_) => None,
        }
    }

    /// Whether this is a directory.
    pub fn is_directory(&self) -> bool {
        matches!(self.kind, InodeKind::Directory(_))
    }
}
