//! Metadata of mounted directories loaded from under storage: applying a listing of one
//! directory there to the namespace. Files that appear get block records (nothing cached yet:
//! workers read the bytes through on first use), files whose object changed get new blocks (the
//! old ones, and their cached copies, are dropped), and what was loaded earlier and is gone is
//! removed. Files written through Strata and not yet persisted are never touched.

use super::{
    BlockRecord, Directory, Fingerprint, InodeKind, Namespace, Outcome, UfsCopy, new_inode_attrs,
    parse_path,
};
use crate::namespace::FileInode;
use std::collections::BTreeMap;
use strata_core::{BlockId, Error, ExtendedBlock, InodeId, Result, StrataPath};
use strata_proto::journal;

/// Mode of files loaded from under storage.
const LOADED_FILE_MODE: u32 = 0o644;
/// Mode of directories loaded from under storage.
const LOADED_DIRECTORY_MODE: u32 = 0o755;

/// What applying one listing changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncChanges {
    /// Files and directories that appeared.
    pub added: u64,
    /// Files whose object changed.
    pub changed: u64,
    /// Files and directories that vanished.
    pub removed: u64,
    /// Blocks that no longer belong to any file (their cached copies must go).
    pub dropped: Vec<ExtendedBlock>,
}

impl Fingerprint {
    /// The fingerprint as a journal record.
    pub fn record(&self) -> journal::UfsFingerprint {
        journal::UfsFingerprint {
            length: self.length,
            etag: self.etag.clone(),
            modified_ms: self.modified_ms,
        }
    }

    /// The fingerprint of a journal record.
    pub fn from_record(record: &journal::UfsFingerprint) -> Fingerprint {
        Fingerprint {
            length: record.length,
            etag: record.etag.clone(),
            modified_ms: record.modified_ms,
        }
    }

    /// The fingerprint of an object as the under storage lists it.
    pub fn of_object(object: &strata_ufs::UfsObject) -> Fingerprint {
        Fingerprint {
            length: object.length,
            etag: object.etag.clone().unwrap_or_default(),
            modified_ms: object.modified_ms.unwrap_or_default(),
        }
    }

    /// The fingerprint as the wire carries it back.
    pub fn from_wire(wire: &strata_proto::rpc::UfsFingerprint) -> Fingerprint {
        Fingerprint {
            length: wire.length,
            etag: wire.etag.clone(),
            modified_ms: wire.modified_ms,
        }
    }

    /// The fingerprint as a version of the object.
    pub fn version(&self) -> strata_ufs::ObjectVersion<'_> {
        strata_ufs::ObjectVersion {
            length: self.length,
            etag: &self.etag,
            modified_ms: self.modified_ms,
        }
    }

    /// The fingerprint as the wire carries it.
    pub fn wire(&self) -> strata_proto::rpc::UfsFingerprint {
        strata_proto::rpc::UfsFingerprint {
            length: self.length,
            etag: self.etag.clone(),
            modified_ms: self.modified_ms,
        }
    }
}

impl Namespace {
    pub(super) fn sync_directory(&mut self, op: &journal::SyncDirectory) -> Result<Outcome> {
        let path = parse_path(&op.path)?;
        if self.mount_of(&path).is_none() {
            return Err(Error::InvalidOperation {
                path: path.to_string(),
                reason: "not under a mount".to_string(),
            });
        }
        if op.block_size == 0 {
            return Err(Error::InvalidArgument(format!(
                "{path}: a listing needs a block size"
            )));
        }
        let dir_id = self.resolve(&path)?;
        let dir_inode = self.inode(dir_id)?;
        let Some(dir) = dir_inode.directory() else {
            return Err(Error::NotADirectory {
                path: path.to_string(),
            });
        };
        let (owner, group) = (dir_inode.owner.clone(), dir_inode.group.clone());
        let listed: BTreeMap<&str, &journal::UfsEntry> = op
            .entries
            .iter()
            .filter(|e| valid_name(&path, &e.name))
            .map(|e| (e.name.as_str(), e))
            .collect();
        let existing: Vec<(String, InodeId)> = dir
            .children
            .iter()
            .map(|(n, id)| (n.clone(), *id))
            .collect();
        let mut changes = SyncChanges::default();
        for (name, child) in &existing {
            let gone = match listed.get(name.as_str()) {
                None => true,
                Some(entry) => entry.directory != self.inode(*child)?.is_directory(),
            };
            if gone && self.vanished(*child, op.time)? {
                let (blocks, _) = self.remove_subtree(*child, op.time)?;
                changes.dropped.extend(blocks);
                changes.removed += 1;
            }
        }
        for (name, entry) in listed {
            let fingerprint = entry
                .fingerprint
                .as_ref()
                .map(Fingerprint::from_record)
                .unwrap_or_default();
            let current = self.dir_children(dir_id)?.get(name).copied();
            match current {
                None if entry.directory => {
                    self.insert_child(
                        dir_id,
                        name,
                        new_inode_attrs(&owner, &group, LOADED_DIRECTORY_MODE, op.time),
                        InodeKind::Directory(Directory {
                            from_ufs: true,
                            ..Default::default()
                        }),
                    )?;
                    changes.added += 1;
                }
                None => {
                    let time = if fingerprint.modified_ms > 0 {
                        fingerprint.modified_ms
                    } else {
                        op.time
                    };
                    let id = self.insert_child(
                        dir_id,
                        name,
                        new_inode_attrs(&owner, &group, LOADED_FILE_MODE, time),
                        InodeKind::File(FileInode {
                            replication: 1,
                            block_size: op.block_size,
                            blocks: Vec::new(),
                            writer: None,
                            ec_policy: None,
                            persisted: None,
                            write_type: None,
                        }),
                    )?;
                    self.mirror_object(id, fingerprint, op.time, op.block_size)?;
                    changes.added += 1;
                }
                Some(id) => {
                    let stale = self.inode(id)?.file().is_some_and(|f| {
                        f.writer.is_none()
                            && f.persisted.as_ref().is_some_and(|c| {
                                !c.fingerprint.version().matches(&fingerprint.version())
                                    && c.since < op.time
                            })
                    });
                    if stale {
                        changes.dropped.extend(self.mirror_object(
                            id,
                            fingerprint,
                            op.time,
                            op.block_size,
                        )?);
                        changes.changed += 1;
                    }
                }
            }
        }
        Ok(Outcome::Synced(changes))
    }

    /// Makes file `id` mirror an object with `fingerprint`: fresh complete blocks covering its
    /// length (none cached), the old blocks returned.
    fn mirror_object(
        &mut self,
        id: InodeId,
        fingerprint: Fingerprint,
        time: i64,
        block_size: u64,
    ) -> Result<Vec<ExtendedBlock>> {
        let mut blocks = Vec::new();
        let mut offset = 0;
        while offset < fingerprint.length {
            let length = block_size.min(fingerprint.length - offset);
            blocks.push(BlockRecord {
                id: BlockId(self.next_block),
                generation: self.next_generation,
                length,
                complete: true,
            });
            self.next_block += 1;
            offset += length;
        }
        self.next_generation += 1;
        for block in &blocks {
            self.block_owner.insert(block.id, id);
        }
        let modified = fingerprint.modified_ms;
        let file = self.file_mut(id)?;
        file.block_size = block_size;
        file.persisted = Some(UfsCopy {
            fingerprint,
            since: time,
        });
        let old = std::mem::replace(&mut file.blocks, blocks);
        let inode = self.inode_mut(id)?;
        if modified > 0 {
            inode.mtime = modified;
        }
        let old: Vec<ExtendedBlock> = old.iter().map(BlockRecord::extended).collect();
        for block in &old {
            self.block_owner.remove(&block.id);
        }
        Ok(old)
    }

    /// Whether `id`, absent from a listing that began at `time`, is to be removed: a file
    /// known to be in under storage before then, or a directory listed from there whose every
    /// file is such a file.
    fn vanished(&self, id: InodeId, time: i64) -> Result<bool> {
        let mut stack = vec![id];
        while let Some(next) = stack.pop() {
            match &self.inode(next)?.kind {
                InodeKind::File(f) => {
                    let listed_before =
                        f.writer.is_none() && f.persisted.as_ref().is_some_and(|c| c.since < time);
                    if !listed_before {
                        return Ok(false);
                    }
                }
                InodeKind::Directory(d) => {
                    if !d.from_ufs {
                        return Ok(false);
                    }
                    stack.extend(d.children.values().copied());
                }
            }
        }
        Ok(true)
    }

    fn dir_children(&self, id: InodeId) -> Result<&BTreeMap<String, InodeId>> {
        self.inode(id)?
            .directory()
            .map(|d| &d.children)
            .ok_or_else(|| Error::Internal(format!("{id} is not a directory")))
    }
}

/// Whether an under-storage name can be a child of `dir` in the namespace (object keys may
/// hold names no path can).
fn valid_name(dir: &StrataPath, name: &str) -> bool {
    dir.join(name).is_ok()
}
