//! Concatenation, as HDFS's `concat`: the blocks of source files move, in order, to the end of
//! a target file and the sources disappear, so a file assembled from parts (an S3 multipart
//! upload) costs no copy. Only closed, replicated files outside mounts take part; blocks
//! before the last may then be shorter than the file's block size, which readers handle since
//! every block carries its own length and offset.

use super::{Namespace, Outcome, parse_path};
use strata_core::{Error, InodeId, Result, StrataPath};
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
        self.check_concatenable(target, &target_path)?;
        let mut sources: Vec<InodeId> = Vec::with_capacity(op.sources.len());
        for source in &op.sources {
            let path = parse_path(source)?;
            let id = self.resolve(&path)?;
            if id == target || sources.contains(&id) {
                return Err(Error::InvalidArgument(format!(
                    "{path} is named twice in a concat onto {target_path}"
                )));
            }
            self.check_concatenable(id, &path)?;
            sources.push(id);
        }
        let mut moved = Vec::new();
        for id in sources {
            let blocks = std::mem::take(&mut self.file_mut(id)?.blocks);
            self.remove_subtree(id, op.time)?;
            for block in &blocks {
                self.block_owner.insert(block.id, target);
                moved.push(block.id);
            }
            self.file_mut(target)?.blocks.extend(blocks);
        }
        self.inode_mut(target)?.mtime = op.time;
        // The moved blocks now want the target's replication.
        Ok(Outcome::ReplicationChanged(moved))
    }

    fn check_concatenable(&self, id: InodeId, path: &StrataPath) -> Result<()> {
        let refuse = |reason: &str| {
            Err(Error::InvalidOperation {
                path: path.to_string(),
                reason: reason.to_string(),
            })
        };
        let file = self.closed_file(id, path)?;
        if file.ec_policy.is_some() {
            return refuse("erasure-coded files cannot be concatenated");
        }
        if self.mount_of(path).is_some() {
            return refuse("files beneath a mount cannot be concatenated");
        }
        Ok(())
    }
}
