//! Keeping mounted directories in step with their under storage: a directory is listed there
//! when it is used and its last listing is older than the mount's sync interval (or when a
//! sync is forced), and the listing is journaled like any other change.

use super::{MasterState, unexpected};
use crate::namespace::{Fingerprint, Mount, Outcome, SyncChanges};
use std::time::Instant;
use strata_core::{Error, Result, StrataPath, now_millis};
use strata_proto::journal::{self, entry::Op};

/// What is about to be done with a path under a mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    /// Looking at the entry itself (stat, open): its parent directories must be fresh.
    Entry,
    /// Listing it: the directory itself must be fresh too.
    Listing,
}

/// Lists, where their listing is stale, the directories from `path`'s mount point down to
/// `path`'s parent (and `path` itself for a listing). Nothing happens outside mounts.
pub(crate) async fn refresh(state: &MasterState, path: &StrataPath, usage: Use) -> Result<()> {
    let Some(mount) = state.namespace.read().mount_of(path).cloned() else {
        return Ok(());
    };
    for dir in chain(&mount, path, usage) {
        if state.under_storage.is_fresh(&mount, &dir) {
            continue;
        }
        if !is_directory(state, &dir)? {
            break;
        }
        list_one(state, &mount, &dir).await?;
    }
    Ok(())
}

/// Lists `path` again whatever the interval: a directory and every directory loaded beneath
/// it, or a file's parent. Returns what changed, summed.
pub(crate) async fn force(state: &MasterState, path: &StrataPath) -> Result<(u64, SyncChanges)> {
    let Some(mount) = state.namespace.read().mount_of(path).cloned() else {
        return Err(Error::InvalidOperation {
            path: path.to_string(),
            reason: "not under a mount (see `strata cache mounts`)".to_string(),
        });
    };
    refresh(state, path, Use::Entry).await?;
    let start = if is_directory(state, path)? {
        path.clone()
    } else {
        path.parent().unwrap_or_else(StrataPath::root)
    };
    let mut total = SyncChanges::default();
    let mut listed = 0;
    let mut queue = vec![start];
    while let Some(dir) = queue.pop() {
        if !is_directory(state, &dir)? {
            continue;
        }
        let changes = list_one(state, &mount, &dir).await?;
        listed += 1;
        total.added += changes.added;
        total.changed += changes.changed;
        total.removed += changes.removed;
        queue.extend(subdirectories(state, &dir)?);
    }
    Ok((listed, total))
}

/// The directories to have fresh for `usage` of `path`, from the mount point down.
fn chain(mount: &Mount, path: &StrataPath, usage: Use) -> Vec<StrataPath> {
    let mut dirs = Vec::new();
    let mut current = match usage {
        Use::Listing => Some(path.clone()),
        Use::Entry => path.parent(),
    };
    while let Some(dir) = current {
        if dir.as_str().len() < mount.path.len() {
            break;
        }
        current = dir.parent();
        dirs.push(dir);
    }
    dirs.reverse();
    dirs
}

fn is_directory(state: &MasterState, path: &StrataPath) -> Result<bool> {
    let ns = state.namespace.read();
    Ok(match ns.lookup(path)? {
        Some(id) => ns.inode(id)?.is_directory(),
        None => false,
    })
}

fn subdirectories(state: &MasterState, dir: &StrataPath) -> Result<Vec<StrataPath>> {
    let ns = state.namespace.read();
    let id = ns.resolve(dir)?;
    let Some(directory) = ns.inode(id)?.directory() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (name, child) in &directory.children {
        if ns.inode(*child)?.is_directory() {
            out.push(dir.join(name)?);
        }
    }
    Ok(out)
}

/// Lists one directory in under storage and journals what was found.
async fn list_one(state: &MasterState, mount: &Mount, dir: &StrataPath) -> Result<SyncChanges> {
    let storage = state.under_storage.handle(mount)?;
    let began = Instant::now();
    let time = now_millis();
    let objects = match storage.list(&mount.key_of(dir)).await {
        Ok(objects) => objects,
        Err(Error::NotFound { .. }) => Vec::new(),
        Err(e) => return Err(e),
    };
    let entries = objects
        .into_iter()
        .map(|o| journal::UfsEntry {
            name: o.path.rsplit('/').next().unwrap_or_default().to_string(),
            directory: o.is_dir,
            fingerprint: Some(Fingerprint::of_object(&o).record()),
        })
        .collect();
    let op = Op::SyncDirectory(journal::SyncDirectory {
        path: dir.to_string(),
        entries,
        time,
        block_size: state.config.default_block_size.bytes(),
    });
    let changes = match state.submit(op).await? {
        Outcome::Synced(changes) => changes,
        other => return Err(unexpected(other)),
    };
    state.cluster.lock().invalidate(&changes.dropped);
    state.under_storage.listed(dir, began);
    if changes.added + changes.changed + changes.removed > 0 {
        tracing::info!(dir = %dir, added = changes.added, changed = changes.changed,
            removed = changes.removed, "under storage listed");
    }
    Ok(changes)
}
