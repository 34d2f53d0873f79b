//! The namespace: the master's deterministic state machine.
//!
//! It holds the inode tree, the block lists of files and the id counters. It changes only by
//! [`Namespace::apply`] of a journal entry, and apply depends on nothing but the entry and the
//! current state (times and ids come from the entry or the state), so replaying the journal
//! always rebuilds the same tree. That is also what a Raft log will need later.

mod concat;
mod image;
mod inode;
mod mounts;
mod mutate;
mod persistence;
mod query;
mod rename;
mod ttl;
mod ufs_sync;
mod xattrs;

pub use inode::{BlockRecord, Directory, FileInode, Fingerprint, Inode, InodeKind, Ttl, UfsCopy};
pub use mounts::{Mount, WRITE_TYPES};
use mutate::new_inode_attrs;
pub use persistence::{ASYNC_THROUGH, CACHE_THROUGH, THROUGH};
pub use query::{BlockRange, ContentSummary, FileBlocks, UfsSource};
pub use rename::RenamePlan;
pub use ttl::Expired;
pub use ufs_sync::SyncChanges;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use strata_core::{BlockId, Error, ExtendedBlock, InodeId, Result, StrataPath};
use strata_ec::EcPolicy;
use strata_proto::journal::{Entry, entry::Op};
use strata_proto::rpc::{FileStatus, FileType};

/// Owner of the root directory.
pub const ROOT_OWNER: &str = "root";
/// Group of the root directory and default group of new inodes.
pub const SUPERGROUP: &str = "supergroup";
/// Most replicas a file may ask for.
pub const MAX_REPLICATION: u32 = 512;
/// Persistence of a file under a mount whose bytes are in under storage.
pub const PERSISTED: &str = "PERSISTED";
/// Persistence of a file under a mount whose bytes are only in Strata.
pub const NOT_PERSISTED: &str = "NOT_PERSISTED";
/// Smallest block size a file may ask for.
pub const MIN_BLOCK_SIZE: u64 = 4096;

/// What applying an entry produced, for the service to answer with and act on.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Nothing to report.
    Done,
    /// A directory was created (or already existed with `-p`).
    Directory(FileStatus),
    /// A file was created; `replaced` holds the blocks of a file it overwrote.
    Created {
        /// The new file.
        status: FileStatus,
        /// Blocks of the overwritten file, to delete from workers.
        replaced: Vec<ExtendedBlock>,
    },
    /// A block was allocated at the end of a file.
    BlockAdded {
        /// The new block (length 0).
        block: ExtendedBlock,
        /// Its offset in the file.
        offset: u64,
        /// The file's replication.
        replication: u32,
    },
    /// The last, unfinished block was dropped.
    BlockAbandoned(ExtendedBlock),
    /// A block got a new generation stamp.
    NewGeneration(ExtendedBlock),
    /// A file was closed.
    Completed,
    /// A file was reopened for append; `last_block` is its partial last block, if any, under a
    /// new generation stamp, with its offset in the file.
    Appending {
        /// The file.
        status: FileStatus,
        /// The partial last block and its offset.
        last_block: Option<(ExtendedBlock, u64)>,
    },
    /// A delete ran.
    Deleted {
        /// False when nothing existed at the path.
        existed: bool,
        /// Blocks that no longer belong to any file.
        blocks: Vec<ExtendedBlock>,
        /// Files that were open for writing.
        open_files: Vec<InodeId>,
    },
    /// A file's replication changed; its blocks need checking.
    ReplicationChanged(Vec<BlockId>),
    /// A file was truncated.
    Truncated {
        /// Blocks no longer part of any file, to delete from workers.
        dropped: Vec<ExtendedBlock>,
        /// Blocks moved from the tail file, which now want the file's replication.
        moved: Vec<BlockId>,
    },
    /// A rename ran; `replaced` holds the blocks of a file it replaced.
    Renamed {
        /// Blocks of the replaced destination file, to delete from workers.
        replaced: Vec<ExtendedBlock>,
    },
    /// A listing of under storage was applied to a mounted directory.
    Synced(SyncChanges),
}

/// The inode tree and block lists.
#[derive(Debug, Clone, PartialEq)]
pub struct Namespace {
    inodes: HashMap<InodeId, Inode>,
    block_owner: HashMap<BlockId, InodeId>,
    next_inode: u64,
    next_block: u64,
    next_generation: u64,
    next_group: u64,
    last_txid: u64,
    files: u64,
    directories: u64,
    ec_policies: BTreeMap<String, EcPolicy>,
    mounts: BTreeMap<String, Mount>,
    pending_persist: BTreeSet<InodeId>,
    with_ttl: BTreeSet<InodeId>,
}

impl Default for Namespace {
    fn default() -> Self {
        Namespace::new()
    }
}

impl Namespace {
    /// An empty namespace holding only `/`.
    pub fn new() -> Namespace {
        let root = Inode {
            id: InodeId::ROOT,
            parent: InodeId::ROOT,
            name: String::new(),
            owner: ROOT_OWNER.to_string(),
            group: SUPERGROUP.to_string(),
            mode: 0o755,
            mtime: 0,
            atime: 0,
            ctime: 0,
            ttl: None,
            pinned: false,
            xattrs: BTreeMap::new(),
            kind: InodeKind::Directory(Directory::default()),
        };
        Namespace {
            inodes: HashMap::from([(InodeId::ROOT, root)]),
            block_owner: HashMap::new(),
            next_inode: InodeId::ROOT.0 + 1,
            next_block: 1 << 30,
            next_generation: 1000,
            next_group: BlockId::STRIPED_BASE,
            last_txid: 0,
            files: 0,
            directories: 1,
            ec_policies: BTreeMap::new(),
            mounts: BTreeMap::new(),
            pending_persist: BTreeSet::new(),
            with_ttl: BTreeSet::new(),
        }
    }

    /// Applies one journal entry. The entry's txid becomes the last applied one whether the
    /// operation succeeds or not: a failed operation fails the same way on every replay.
    pub fn apply(&mut self, entry: &Entry) -> Result<Outcome> {
        self.last_txid = entry.txid;
        let Some(op) = &entry.op else {
            return Err(Error::Internal(format!(
                "journal entry {} has no operation",
                entry.txid
            )));
        };
        match op {
            Op::Mkdir(m) => self.mkdir(m),
            Op::CreateFile(c) => self.create_file(c),
            Op::AddBlock(a) => self.add_block(a),
            Op::AbandonBlock(a) => self.abandon_block(a),
            Op::BumpGeneration(b) => self.bump_generation(b),
            Op::CompleteFile(c) => self.complete_file(c),
            Op::AppendFile(a) => self.append_file(a),
            Op::Rename(r) => self.rename(r),
            Op::Delete(d) => self.delete(d),
            Op::SetReplication(s) => self.set_replication(s),
            Op::SetPermission(s) => self.set_permission(s),
            Op::SetOwner(s) => self.set_owner(s),
            Op::SetTimes(s) => self.set_times(s),
            Op::CommitBlockRecovery(c) => self.commit_block_recovery(c),
            Op::SetEcPolicy(s) => self.set_ec_policy(s),
            Op::AddEcPolicy(a) => self.add_ec_policy(a),
            Op::AddMount(a) => self.add_mount(a),
            Op::RemoveMount(r) => self.remove_mount(r),
            Op::SyncDirectory(s) => self.sync_directory(s),
            Op::SetPersisted(s) => self.set_persisted(s),
            Op::SetPinned(s) => self.set_pinned(s),
            Op::SetTtl(s) => self.set_ttl(s),
            Op::SetXAttr(s) => self.set_xattr(s),
            Op::Concat(c) => self.concat(c),
            Op::Truncate(t) => self.truncate(t),
        }
    }

    /// The txid of the last applied entry.
    pub fn last_txid(&self) -> u64 {
        self.last_txid
    }

    /// Number of files.
    pub fn file_count(&self) -> u64 {
        self.files
    }

    /// Number of directories, the root included.
    pub fn directory_count(&self) -> u64 {
        self.directories
    }

    /// Number of blocks belonging to files.
    pub fn block_count(&self) -> u64 {
        self.block_owner.len() as u64
    }

    /// The inode with this id.
    pub fn inode(&self, id: InodeId) -> Result<&Inode> {
        self.inodes
            .get(&id)
            .ok_or_else(|| Error::Internal(format!("{id} is missing from the namespace")))
    }

    pub(super) fn inode_mut(&mut self, id: InodeId) -> Result<&mut Inode> {
        self.inodes
            .get_mut(&id)
            .ok_or_else(|| Error::Internal(format!("{id} is missing from the namespace")))
    }

    /// The inode id at `path`.
    pub fn resolve(&self, path: &StrataPath) -> Result<InodeId> {
        let mut current = InodeId::ROOT;
        let mut walked = String::new();
        for name in path.components() {
            let inode = self.inode(current)?;
            match &inode.kind {
                InodeKind::Directory(dir) => match dir.children.get(name) {
                    Some(child) => current = *child,
                    None => {
                        return Err(Error::NotFound {
                            path: path.to_string(),
                        });
                    }
                },
                InodeKind::File(_) => return Err(Error::NotADirectory { path: walked }),
            }
            walked.push('/');
            walked.push_str(name);
        }
        Ok(current)
    }

    /// The inode id at `path`, or `None` when nothing is there.
    pub fn lookup(&self, path: &StrataPath) -> Result<Option<InodeId>> {
        match self.resolve(path) {
            Ok(id) => Ok(Some(id)),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The full path of an inode.
    pub fn path_of(&self, id: InodeId) -> Result<String> {
        let mut names = Vec::new();
        let mut current = id;
        while current != InodeId::ROOT {
            let inode = self.inode(current)?;
            names.push(inode.name.as_str());
            current = inode.parent;
            if names.len() > strata_core::path::MAX_DEPTH + 1 {
                return Err(Error::Internal(format!("{id} has a parent cycle")));
            }
        }
        if names.is_empty() {
            return Ok("/".to_string());
        }
        names.reverse();
        Ok(format!("/{}", names.join("/")))
    }

    /// The file whose block list holds `block` (or, for an internal block, its group).
    pub fn owner_of(&self, block: BlockId) -> Option<InodeId> {
        self.block_owner.get(&block.group()).copied()
    }

    /// The namespace's record of a block (for an internal block: of its group), with the file
    /// it belongs to.
    pub fn block_record(&self, block: BlockId) -> Option<(InodeId, &FileInode, BlockRecord)> {
        let group = block.group();
        let owner = self.owner_of(group)?;
        let file = self.inodes.get(&owner)?.file()?;
        let record = file.blocks.iter().find(|b| b.id == group)?;
        Some((owner, file, *record))
    }

    /// What the namespace expects of a replica of `id` (a replicated block, or an internal
    /// block of a group, whose length follows from the group's): the record as it applies to
    /// that one block.
    pub fn expected_replica(&self, id: BlockId) -> Option<BlockRecord> {
        let (_, file, record) = self.block_record(id)?;
        if !id.is_striped() {
            return Some(record);
        }
        let geometry = strata_ec::StripeGeometry::new(&self.file_policy(file)?);
        Some(BlockRecord {
            id,
            length: geometry.internal_length(record.length, id.unit()),
            ..record
        })
    }

    /// The erasure coding policy with this name (in any case), built in or added.
    pub fn ec_policy(&self, name: &str) -> Option<EcPolicy> {
        let name = EcPolicy::parse(name).ok()?.name();
        EcPolicy::built_in()
            .into_iter()
            .find(|p| p.name() == name)
            .or_else(|| self.ec_policies.get(&name).copied())
    }

    /// Every policy, with whether it is built in.
    pub fn ec_policies(&self) -> Vec<(EcPolicy, bool)> {
        let mut all: Vec<(EcPolicy, bool)> = EcPolicy::built_in()
            .into_iter()
            .map(|p| (p, true))
            .collect();
        all.extend(self.ec_policies.values().map(|p| (*p, false)));
        all
    }

    /// The policy of a striped file (`None` for a replicated one).
    pub fn file_policy(&self, file: &FileInode) -> Option<EcPolicy> {
        file.ec_policy.as_deref().and_then(|n| self.ec_policy(n))
    }

    /// The nearest policy setting at or above inode `id`, with the directory it is set on.
    pub fn inherited_ec(&self, id: InodeId) -> Result<Option<(String, InodeId)>> {
        let mut current = id;
        for _ in 0..=strata_core::path::MAX_DEPTH {
            let inode = self.inode(current)?;
            if let Some(setting) = inode.directory().and_then(|d| d.ec.clone()) {
                return Ok(Some((setting, current)));
            }
            if current == InodeId::ROOT {
                return Ok(None);
            }
            current = inode.parent;
        }
        Err(Error::Internal(format!("{id} has a parent cycle")))
    }

    /// Files open for writing, with their writers (used to rebuild leases at start-up).
    pub fn open_files(&self) -> Vec<(InodeId, String)> {
        self.inodes
            .values()
            .filter_map(|inode| {
                let writer = inode.file()?.writer.clone()?;
                Some((inode.id, writer))
            })
            .collect()
    }

    /// Every block id with its file, for safe-mode accounting and full scans.
    pub fn blocks(&self) -> impl Iterator<Item = (BlockId, InodeId)> + '_ {
        self.block_owner.iter().map(|(b, i)| (*b, *i))
    }

    /// What `stat` shows of an inode at `path`.
    pub fn status_of(&self, inode: &Inode, path: String) -> FileStatus {
        let mount = self
            .mounts
            .values()
            .find(|m| m.holds(&path))
            .and_then(|m| Some((m, StrataPath::parse(&path).ok()?)));
        let mut status = FileStatus {
            path,
            owner: inode.owner.clone(),
            group: inode.group.clone(),
            mode: inode.mode,
            modification_time: inode.mtime,
            access_time: inode.atime,
            inode_id: inode.id.0,
            ufs_uri: mount.as_ref().map(|(m, p)| m.uri_of(p)).unwrap_or_default(),
            pinned: self.is_pinned(inode.id),
            creation_time: inode.ctime,
            ttl_ms: inode.ttl.map_or(0, |t| t.ms),
            ttl_action: inode.ttl.map(|t| t.action.to_string()).unwrap_or_default(),
            ..Default::default()
        };
        let persisted = match &inode.kind {
            InodeKind::Directory(dir) => {
                status.file_type = FileType::Directory as i32;
                status.children = dir.children.len() as u64;
                dir.from_ufs
            }
            InodeKind::File(file) => {
                status.file_type = FileType::File as i32;
                status.length = file.length();
                status.replication = file.replication;
                status.block_size = file.block_size;
                status.under_construction = file.writer.is_some();
                status.block_count = file.blocks.len() as u64;
                status.ec_policy = file.ec_policy.clone().unwrap_or_default();
                file.persisted.is_some()
            }
        };
        if mount.is_some() {
            status.persistence = if persisted { PERSISTED } else { NOT_PERSISTED }.to_string();
        }
        status
    }
}

fn parse_path(text: &str) -> Result<StrataPath> {
    StrataPath::parse(text)
}

#[cfg(test)]
mod tests;
