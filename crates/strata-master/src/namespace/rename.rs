//! Renames: the checks a rename must pass (shared with the master's service, which runs them
//! before it moves anything in under storage) and the move itself.

use super::{BlockRecord, Namespace, Outcome, parse_path};
use strata_core::{Error, ExtendedBlock, InodeId, Result, StrataPath};
use strata_proto::journal;

/// A rename, checked: what moves where and the file it replaces.
#[derive(Debug)]
pub struct RenamePlan {
    /// The inode that moves.
    pub id: InodeId,
    /// Its new path.
    pub destination: StrataPath,
    /// The directory it moves into.
    pub dest_parent: InodeId,
    /// The file it replaces, with that file's blocks.
    pub replaced: Option<(InodeId, Vec<ExtendedBlock>)>,
}

impl Namespace {
    pub(super) fn rename(&mut self, op: &journal::Rename) -> Result<Outcome> {
        let Some(plan) = self.check_rename(op)? else {
            return Ok(Outcome::Done);
        };
        let mut replaced = Vec::new();
        if let Some((target, blocks)) = plan.replaced {
            self.remove_subtree(target, op.time)?;
            replaced = blocks;
        }
        let id = plan.id;
        let old_parent = self.inode(id)?.parent;
        let old_name = self.inode(id)?.name.clone();
        self.dir_mut(old_parent)?.children.remove(&old_name);
        self.dir_mut(plan.dest_parent)?
            .children
            .insert(plan.destination.name().to_string(), id);
        let inode = self.inode_mut(id)?;
        inode.parent = plan.dest_parent;
        inode.name = plan.destination.name().to_string();
        self.inode_mut(old_parent)?.mtime = op.time;
        self.inode_mut(plan.dest_parent)?.mtime = op.time;
        Ok(Outcome::Renamed { replaced })
    }

    /// Checks rename `op` without changing anything: what it will move and replace, or
    /// `None` when source and destination are the same path.
    pub fn check_rename(&self, op: &journal::Rename) -> Result<Option<RenamePlan>> {
        let source = parse_path(&op.source)?;
        let destination = parse_path(&op.destination)?;
        if source.is_root() {
            return Err(Error::InvalidOperation {
                path: source.to_string(),
                reason: "the root directory cannot be renamed".to_string(),
            });
        }
        let id = self.resolve(&source)?;
        if source == destination {
            return Ok(None);
        }
        self.check_no_mount_point_within(&source)?;
        let mount_path = |p: &StrataPath| self.mount_of(p).map(|m| m.path.clone());
        if mount_path(&source) != mount_path(&destination) && self.holds_persisted(id)? {
            return Err(Error::InvalidOperation {
                path: source.to_string(),
                reason: format!(
                    "{destination} is outside the mount of this file persisted in under storage"
                ),
            });
        }
        if destination.is_within(&source) {
            return Err(Error::InvalidOperation {
                path: destination.to_string(),
                reason: format!("cannot move {source} into its own subtree"),
            });
        }
        let existing = self.lookup(&destination)?;
        let replaced = match existing {
            Some(target) if op.overwrite => {
                let file = self.closed_file(target, &destination)?;
                if let Some(expected) = &op.if_destination {
                    let mtime = self.inode(target)?.mtime;
                    if mtime != expected.modification_time || file.length() != expected.length {
                        return Err(Error::InvalidOperation {
                            path: destination.to_string(),
                            reason: "the file changed since it was read".to_string(),
                        });
                    }
                }
                if self.inode(id)?.is_directory() {
                    return Err(Error::IsADirectory {
                        path: source.to_string(),
                    });
                }
                Some((
                    target,
                    file.blocks.iter().map(BlockRecord::extended).collect(),
                ))
            }
            Some(_) => {
                return Err(Error::AlreadyExists {
                    path: destination.to_string(),
                });
            }
            None => None,
        };
        let Some(dest_parent_path) = destination.parent() else {
            return Err(Error::AlreadyExists {
                path: destination.to_string(),
            });
        };
        let dest_parent = self.resolve(&dest_parent_path)?;
        if !self.inode(dest_parent)?.is_directory() {
            return Err(Error::NotADirectory {
                path: dest_parent_path.to_string(),
            });
        }
        Ok(Some(RenamePlan {
            id,
            destination,
            dest_parent,
            replaced,
        }))
    }
}
