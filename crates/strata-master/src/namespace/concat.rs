//! Concatenation and truncation, which both move whole blocks between files. Concat, as
//! HDFS's: the blocks of source files move, in order, to the end of a target file and the
//! sources disappear, so a file assembled from parts (an S3 multipart upload) costs no copy.
//! Truncate drops the blocks past the new length, and the block the new length falls inside
//! is replaced by a tail file's blocks holding its kept bytes (HDFS's copy-on-truncate). Only
//! closed, replicated files outside mounts take part; blocks before the last may then be
//! shorter than the file's block size, which readers handle since every block carries its own
//! length and offset.

use super::{Namespace, Outcome, parse_path};
use strata_core::{BlockId, Error, InodeId, Result, StrataPath};
use strata_proto::journal;

impl Namespace {
    pub(super) fn concat(&mut self, op: &journal::Concat) -> Result<Outcome> {
        let target_path = parse_path(&op.target)?;
        if op.sources.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "{target_path}: concat needs at least one source"
            )));
        }
        let target = self.resolve(&target_path)?;
        self.check_movable(target, &target_path, "concatenated")?;
        let mut sources: Vec<InodeId> = Vec::with_capacity(op.sources.len());
        for source in &op.sources {
            let path = parse_path(source)?;
            let id = self.resolve(&path)?;
            if id == target || sources.contains(&id) {
                return Err(Error::InvalidArgument(format!(
                    "{path} is named twice in a concat onto {target_path}"
                )));
            }
            self.check_movable(id, &path, "concatenated")?;
            sources.push(id);
        }
        let mut moved = Vec::new();
        for id in sources {
            moved.extend(self.move_blocks(id, target, op.time)?);
        }
        self.inode_mut(target)?.mtime = op.time;
        // The moved blocks now want the target's replication.
        Ok(Outcome::ReplicationChanged(moved))
    }

    pub(super) fn truncate(&mut self, op: &journal::Truncate) -> Result<Outcome> {
        let path = parse_path(&op.path)?;
        let id = self.resolve(&path)?;
        self.check_movable(id, &path, "truncated")?;
        let mtime = self.inode(id)?.mtime;
        let file = self.file_mut(id)?;
        let length = file.length();
        if let Some(expected) = &op.if_version
            && (expected.modification_time != mtime || expected.length != length)
        {
            return Err(Error::InvalidOperation {
                path: path.to_string(),
                reason: "the file changed since it was read".to_string(),
            });
        }
        if op.new_length > length {
            return Err(Error::InvalidArgument(format!(
                "{path}: cannot truncate to a larger file size (current size: {length}, \
                 truncate size: {})",
                op.new_length
            )));
        }
        let (mut keep, mut kept) = (0, 0u64);
        for block in &file.blocks {
            if kept + block.length > op.new_length {
                break;
            }
            keep += 1;
            kept += block.length;
        }
        let tail_length = op.new_length - kept;
        let tail = if op.tail.is_empty() {
            None
        } else {
            let tail_path = parse_path(&op.tail)?;
            let tail = self.resolve(&tail_path)?;
            if tail == id {
                return Err(Error::InvalidArgument(format!(
                    "{path} cannot be its own truncation tail"
                )));
            }
            self.check_movable(tail, &tail_path, "used as a truncation tail")?;
            Some((tail, self.file_mut(tail)?.length()))
        };
        match tail {
            None if tail_length > 0 => {
                return Err(Error::InvalidArgument(format!(
                    "{path}: {} falls inside a block; its first {tail_length} bytes must come \
                     as a tail file",
                    op.new_length
                )));
            }
            Some((_, have)) if have != tail_length => {
                return Err(Error::InvalidArgument(format!(
                    "{path}: the truncation tail holds {have} bytes, not the {tail_length} kept \
                     of the cut block"
                )));
            }
            _ => {}
        }
        let file = self.file_mut(id)?;
        let dropped_records = file.blocks.split_off(keep);
        let mut dropped = Vec::with_capacity(dropped_records.len());
        for block in dropped_records {
            self.block_owner.remove(&block.id);
            dropped.push(block.extended());
        }
        let moved = match tail {
            Some((tail, _)) => self.move_blocks(tail, id, op.time)?,
            None => Vec::new(),
        };
        self.inode_mut(id)?.mtime = op.time;
        Ok(Outcome::Truncated { dropped, moved })
    }

    /// Moves the blocks of file `source` to the end of file `target` and removes `source`.
    fn move_blocks(&mut self, source: InodeId, target: InodeId, time: i64) -> Result<Vec<BlockId>> {
        let blocks = std::mem::take(&mut self.file_mut(source)?.blocks);
        self.remove_subtree(source, time)?;
        let mut moved = Vec::with_capacity(blocks.len());
        for block in &blocks {
            self.block_owner.insert(block.id, target);
            moved.push(block.id);
        }
        self.file_mut(target)?.blocks.extend(blocks);
        Ok(moved)
    }

    /// Refuses files whose blocks cannot move: open, erasure-coded or beneath a mount.
    fn check_movable(&self, id: InodeId, path: &StrataPath, action: &str) -> Result<()> {
        let refuse = |reason: &str| {
            Err(Error::InvalidOperation {
                path: path.to_string(),
                reason: reason.to_string(),
            })
        };
        let file = self.closed_file(id, path)?;
        if file.ec_policy.is_some() {
            return refuse(&format!("erasure-coded files cannot be {action}"));
        }
        if self.mount_of(path).is_some() {
            return refuse(&format!("files beneath a mount cannot be {action}"));
        }
        Ok(())
    }
}
