//! Read-only questions about the namespace: stat, listing pages, block ranges, summaries.

use super::{BlockRecord, Fingerprint, InodeKind, Namespace};
use strata_core::{Error, InodeId, Result, StrataPath};
use strata_ec::geometry::StripeGeometry;
use strata_proto::rpc::FileStatus;

/// The blocks of a file that overlap a byte range, with the file's status.
#[derive(Debug, Clone)]
pub struct FileBlocks {
    /// The file.
    pub status: FileStatus,
    /// The overlapping blocks in order.
    pub blocks: Vec<BlockRange>,
    /// The last block while it is being written (not among `blocks`: its length is not known
    /// to the master).
    pub being_written: Option<BlockRange>,
    /// The file's replication.
    pub replication: u32,
    /// The file's erasure coding policy (its blocks are block groups), if striped.
    pub policy: Option<strata_ec::EcPolicy>,
    /// Where the file's bytes are in under storage, for a persisted file under a mount.
    pub ufs: Option<UfsSource>,
}

/// The under-storage object a persisted file under a mount mirrors.
#[derive(Debug, Clone)]
pub struct UfsSource {
    /// The mount point.
    pub mount: String,
    /// The object's path relative to the mount's root.
    pub key: String,
    /// The object as it was listed or written.
    pub fingerprint: Fingerprint,
}

/// One block of a file with where it starts in the file.
#[derive(Debug, Clone, Copy)]
pub struct BlockRange {
    /// The block.
    pub record: BlockRecord,
    /// Its offset in the file.
    pub offset: u64,
}

/// Totals beneath a path, as `du` and `count` show them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContentSummary {
    /// Bytes in files.
    pub length: u64,
    /// Number of files.
    pub files: u64,
    /// Number of directories (the path itself included when it is one).
    pub directories: u64,
    /// Bytes stored, counting every replica.
    pub space_consumed: u64,
}

impl Namespace {
    /// The status of whatever is at `path`, or `None`.
    pub fn file_info(&self, path: &StrataPath) -> Result<Option<FileStatus>> {
        let Some(id) = self.lookup(path)? else {
            return Ok(None);
        };
        Ok(Some(self.status_of(self.inode(id)?, path.to_string())))
    }

    /// One page of a directory listing: up to `limit` entries whose names sort after
    /// `start_after`, and how many entries follow them. Listing a file gives the file itself.
    pub fn list(
        &self,
        path: &StrataPath,
        start_after: &str,
        limit: usize,
    ) -> Result<(Vec<FileStatus>, u64)> {
        let id = self.resolve(path)?;
        let inode = self.inode(id)?;
        let dir = match &inode.kind {
            InodeKind::File(_) => {
                return Ok((vec![self.status_of(inode, path.to_string())], 0));
            }
            InodeKind::Directory(d) => d,
        };
        let mut range = dir.children.range::<str, _>((
            std::ops::Bound::Excluded(start_after),
            std::ops::Bound::Unbounded,
        ));
        let mut entries = Vec::with_capacity(limit.min(dir.children.len()));
        let mut remaining = 0;
        for (name, child) in range.by_ref() {
            if entries.len() == limit {
                remaining = 1 + range.count() as u64;
                break;
            }
            let child_path = if path.is_root() {
                format!("/{name}")
            } else {
                format!("{path}/{name}")
            };
            entries.push(self.status_of(self.inode(*child)?, child_path));
        }
        Ok((entries, remaining))
    }

    /// The finished blocks of the file at `path` overlapping `[offset, offset + length)`.
    /// A reader of a file being written sees the blocks finished so far.
    pub fn file_blocks(&self, path: &StrataPath, offset: u64, length: u64) -> Result<FileBlocks> {
        let id = self.resolve(path)?;
        let inode = self.inode(id)?;
        let file = inode.file().ok_or_else(|| Error::IsADirectory {
            path: path.to_string(),
        })?;
        let status = self.status_of(inode, path.to_string());
        if offset > status.length {
            return Err(Error::PastEndOfFile {
                path: path.to_string(),
                offset,
                length: status.length,
            });
        }
        let end = offset.saturating_add(length);
        let mut blocks = Vec::new();
        let mut being_written = None;
        let mut at = 0u64;
        for record in &file.blocks {
            let start = at;
            at += record.length;
            if !record.complete {
                being_written = Some(BlockRange {
                    record: *record,
                    offset: start,
                });
                break;
            }
            if at > offset && start < end {
                blocks.push(BlockRange {
                    record: *record,
                    offset: start,
                });
            }
        }
        let ufs = match (&file.persisted, self.mount_of(path)) {
            (Some(copy), Some(mount)) => Some(UfsSource {
                mount: mount.path.clone(),
                key: mount.key_of(path),
                fingerprint: copy.fingerprint.clone(),
            }),
            _ => None,
        };
        Ok(FileBlocks {
            status,
            blocks,
            being_written,
            replication: file.replication,
            policy: self.file_policy(file),
            ufs,
        })
    }

    /// Every file at or beneath `path`.
    pub fn files_beneath(&self, path: &StrataPath) -> Result<Vec<InodeId>> {
        let mut files = Vec::new();
        let mut stack = vec![self.resolve(path)?];
        while let Some(next) = stack.pop() {
            match &self.inode(next)?.kind {
                InodeKind::Directory(dir) => stack.extend(dir.children.values().copied()),
                InodeKind::File(_) => files.push(next),
            }
        }
        Ok(files)
    }

    /// Totals beneath `path`.
    pub fn content_summary(&self, path: &StrataPath) -> Result<ContentSummary> {
        let id = self.resolve(path)?;
        let mut summary = ContentSummary::default();
        let mut stack = vec![id];
        while let Some(next) = stack.pop() {
            match &self.inode(next)?.kind {
                InodeKind::Directory(dir) => {
                    summary.directories += 1;
                    stack.extend(dir.children.values().copied());
                }
                InodeKind::File(file) => {
                    let len = file.length();
                    summary.files += 1;
                    summary.length += len;
                    summary.space_consumed += match self.file_policy(file) {
                        None => len * file.replication as u64,
                        Some(policy) => {
                            let geometry = StripeGeometry::new(&policy);
                            file.blocks
                                .iter()
                                .map(|group| geometry.stored_length(group.length))
                                .sum()
                        }
                    };
                }
            }
        }
        Ok(summary)
    }

    /// Every inode at or beneath `path` in depth-first order, for fsck and recursive walks.
    pub fn walk(&self, path: &StrataPath) -> Result<Vec<(InodeId, String)>> {
        let id = self.resolve(path)?;
        let mut out = Vec::new();
        let mut stack = vec![(id, path.to_string())];
        while let Some((next, next_path)) = stack.pop() {
            if let InodeKind::Directory(dir) = &self.inode(next)?.kind {
                for (name, child) in dir.children.iter().rev() {
                    let child_path = if next_path == "/" {
                        format!("/{name}")
                    } else {
                        format!("{next_path}/{name}")
                    };
                    stack.push((*child, child_path));
                }
            }
            out.push((next, next_path));
        }
        Ok(out)
    }
}
