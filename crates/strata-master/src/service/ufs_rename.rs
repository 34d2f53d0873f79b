//! Renaming beneath a mount: in under storage first (a persisted file, or a directory, which
//! may also hold objects not listed yet), then in the journal, then the moved files'
//! fingerprints, since a copy in S3 is a new object with a new time. A crash between the
//! steps leaves objects at their new keys while the namespace still has the old names, until
//! the next sync of those directories lists what is really there: no byte is lost and none is
//! served stale (a changed fingerprint only costs the cached copies).

use super::MasterState;
use crate::namespace::{Fingerprint, InodeKind, Mount, Namespace};
use strata_core::{Error, InodeId, Result, StrataPath, now_millis};
use strata_proto::journal::{self, entry::Op};

/// What a rename moved in under storage.
#[derive(Debug)]
pub(super) struct UfsRename {
    mount: Mount,
    files: Vec<MovedFile>,
}

/// A persisted file that moved, at its new key.
#[derive(Debug)]
struct MovedFile {
    inode: InodeId,
    key: String,
    length: u64,
    modification_time: i64,
}

/// Renames `op.source` in under storage when it lies beneath a mount and has something there,
/// after checking that the namespace will accept the rename.
pub(super) async fn rename_in_under_storage(
    state: &MasterState,
    op: &journal::Rename,
) -> Result<Option<UfsRename>> {
    let (mount, from, to, is_dir, replaces, files) = {
        let ns = state.namespace.read();
        let Some(plan) = ns.check_rename(op)? else {
            return Ok(None);
        };
        let source = StrataPath::parse(&op.source)?;
        let Some(mount) = ns.mount_of(&source).cloned() else {
            return Ok(None);
        };
        // Out of its mount only what is not in under storage may go (`check_rename`).
        if ns.mount_of(&plan.destination).map(|m| &m.path) != Some(&mount.path) {
            return Ok(None);
        }
        let to = mount.key_of(&plan.destination);
        let files = persisted_files(&ns, plan.id, &to)?;
        let is_dir = ns.inode(plan.id)?.is_directory();
        if !is_dir && files.is_empty() {
            return Ok(None);
        }
        let (from, replaces) = (mount.key_of(&source), plan.replaced.is_some());
        (mount, from, to, is_dir, replaces, files)
    };
    let storage = state.under_storage.handle(&mount)?;
    if is_dir && storage.stat(&from).await?.is_none() {
        return Ok(None);
    }
    if !replaces && storage.stat(&to).await?.is_some() {
        return Err(Error::AlreadyExists {
            path: format!("{} (in under storage, not listed yet)", op.destination),
        });
    }
    storage.rename(&from, &to).await?;
    Ok(Some(UfsRename { mount, files }))
}

/// Records each moved file's fingerprint as the under storage now has it. A failure is only
/// logged: the next sync sees a changed object and drops its cached copies.
pub(super) async fn refresh_fingerprints(state: &MasterState, moved: UfsRename) {
    let storage = match state.under_storage.handle(&moved.mount) {
        Ok(storage) => storage,
        Err(e) => {
            tracing::warn!(mount = %moved.mount.path, error = %e, "no under storage after a rename");
            return;
        }
    };
    for file in moved.files {
        let object = match storage.stat(&file.key).await {
            Ok(Some(object)) => object,
            Ok(None) => {
                tracing::warn!(key = %file.key, "a renamed object is not there");
                continue;
            }
            Err(e) => {
                tracing::warn!(key = %file.key, error = %e, "reading a renamed object failed");
                continue;
            }
        };
        let op = Op::SetPersisted(journal::SetPersisted {
            inode_id: file.inode.0,
            length: file.length,
            modification_time: file.modification_time,
            fingerprint: Some(Fingerprint::of_object(&object).record()),
            time: now_millis(),
        });
        if let Err(e) = state.submit(op).await {
            tracing::warn!(key = %file.key, error = %e, "recording a renamed object failed");
        }
    }
}

/// The persisted files at or beneath `id`, with their keys once `id` is at key `to`.
fn persisted_files(ns: &Namespace, id: InodeId, to: &str) -> Result<Vec<MovedFile>> {
    let mut files = Vec::new();
    let mut stack = vec![(id, to.to_string())];
    while let Some((next, key)) = stack.pop() {
        let inode = ns.inode(next)?;
        match &inode.kind {
            InodeKind::File(file) if file.persisted.is_some() => files.push(MovedFile {
                inode: next,
                key,
                length: file.length(),
                modification_time: inode.mtime,
            }),
            InodeKind::File(_) => {}
            InodeKind::Directory(dir) => stack.extend(
                (dir.children.iter()).map(|(name, child)| (*child, format!("{key}/{name}"))),
            ),
        }
    }
    Ok(files)
}
