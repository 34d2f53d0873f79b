//! Files under mounts and their copies in under storage: the write type a file is created
//! with, the queue of files to persist in the background (ASYNC_THROUGH), recording a finished
//! copy, and the operations a persisted file refuses (its bytes would no longer match the
//! object).

use super::{Fingerprint, InodeKind, Namespace, Outcome, UfsCopy, WRITE_TYPES};
use strata_core::{BlockId, Error, InodeId, Result, StrataPath};
use strata_proto::journal;

/// Files are persisted in the background after they are closed.
pub const ASYNC_THROUGH: &str = "ASYNC_THROUGH";
/// Files are persisted before their close is acknowledged, and stay cached.
pub const CACHE_THROUGH: &str = "CACHE_THROUGH";
/// Files are persisted before their close is acknowledged, and not kept in the cache.
pub const THROUGH: &str = "THROUGH";

impl Namespace {
    /// The write type of a file created at `path` with `requested` (empty: the mount's);
    /// `None` outside mounts.
    pub(super) fn write_type_for(
        &self,
        path: &StrataPath,
        requested: &str,
    ) -> Result<Option<String>> {
        let Some(mount) = self.mount_of(path) else {
            return Ok(None);
        };
        if requested.is_empty() {
            return Ok(Some(mount.write_type.clone()));
        }
        let upper = requested.to_ascii_uppercase();
        if !WRITE_TYPES.contains(&upper.as_str()) {
            return Err(Error::InvalidArgument(format!(
                "{path}: write type {requested:?} is not one of {}",
                WRITE_TYPES.join(", ")
            )));
        }
        Ok(Some(upper))
    }

    /// Files waiting to be persisted in the background, oldest id first.
    pub fn pending_persists(&self) -> Vec<InodeId> {
        self.pending_persist.iter().copied().collect()
    }

    /// Queues file `id` for background persisting when its write type asks for it.
    pub(super) fn queue_persist_if_async(&mut self, id: InodeId) {
        let queued = self
            .inodes
            .get(&id)
            .and_then(|i| i.file())
            .is_some_and(|f| {
                f.writer.is_none()
                    && f.persisted.is_none()
                    && f.write_type.as_deref() == Some(ASYNC_THROUGH)
            });
        if queued {
            self.pending_persist.insert(id);
        }
    }

    pub(super) fn set_persisted(&mut self, op: &journal::SetPersisted) -> Result<Outcome> {
        let id = InodeId(op.inode_id);
        let changed = |reason: &str| Error::InvalidOperation {
            path: format!("inode {}", op.inode_id),
            reason: format!("{reason} while it was persisted"),
        };
        let inode = self
            .inodes
            .get(&id)
            .ok_or_else(|| changed("the file was deleted"))?;
        let Some(file) = inode.file() else {
            return Err(changed("the file was replaced"));
        };
        if file.writer.is_some()
            || file.length() != op.length
            || inode.mtime != op.modification_time
        {
            return Err(changed("the file changed"));
        }
        let fingerprint = op
            .fingerprint
            .as_ref()
            .map(Fingerprint::from_record)
            .unwrap_or_default();
        self.file_mut(id)?.persisted = Some(UfsCopy {
            fingerprint,
            since: op.time,
        });
        self.pending_persist.remove(&id);
        Ok(Outcome::Done)
    }

    pub(super) fn set_pinned(&mut self, op: &journal::SetPinned) -> Result<Outcome> {
        let path = StrataPath::parse(&op.path)?;
        let id = self.resolve(&path)?;
        self.inode_mut(id)?.pinned = op.pinned;
        Ok(Outcome::Done)
    }

    /// Whether a worker may drop its replica of `block` to make room: the block is of a file
    /// whose bytes are in under storage and that is not pinned (block groups are never
    /// persisted, so never dropped).
    pub fn is_droppable(&self, block: BlockId) -> bool {
        !block.is_striped()
            && self
                .block_record(block)
                .is_some_and(|(owner, file, _)| file.persisted.is_some() && !self.is_pinned(owner))
    }

    /// Whether `id` or a directory above it is pinned.
    pub fn is_pinned(&self, id: InodeId) -> bool {
        let mut current = id;
        for _ in 0..=strata_core::path::MAX_DEPTH {
            let Ok(inode) = self.inode(current) else {
                return false;
            };
            if inode.pinned {
                return true;
            }
            if current == InodeId::ROOT {
                return false;
            }
            current = inode.parent;
        }
        false
    }

    /// Whether `id` is, or holds, a file persisted in under storage.
    pub fn holds_persisted(&self, id: InodeId) -> Result<bool> {
        let mut stack = vec![id];
        while let Some(next) = stack.pop() {
            match &self.inode(next)?.kind {
                InodeKind::File(f) if f.persisted.is_some() => return Ok(true),
                InodeKind::File(_) => {}
                InodeKind::Directory(d) => stack.extend(d.children.values().copied()),
            }
        }
        Ok(false)
    }
}
