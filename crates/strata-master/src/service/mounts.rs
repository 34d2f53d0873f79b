//! Mounting under storage: `Mount` checks that the storage answers before the mount is
//! journaled, `Unmount` drops what Strata holds beneath the mount point (the storage keeps its
//! data), `ListMounts` hides credentials, and `SyncMetadata` lists a path there again.

use super::MasterState;
use super::client::{ClientService, path};
use super::metadata_sync;
use super::persist::{self, Persisted};
use crate::namespace::{InodeKind, Mount, Outcome, WRITE_TYPES};
use std::collections::BTreeMap;
use strata_core::{Error, Result, StrataPath, now_millis};
use strata_proto::journal::{self, entry::Op};
use strata_proto::rpc::{
    Empty, FreeRequest, FreeResponse, ListMountsResponse, MountInfo, MountRequest, PersistRequest,
    PersistResponse, SetPinnedRequest, SyncMetadataRequest, SyncMetadataResponse, UnmountRequest,
};
use strata_ufs::UnderStorage;

/// The write type of a mount made without one.
pub const DEFAULT_WRITE_TYPE: &str = "CACHE_THROUGH";

/// Option names whose values `ListMounts` shows masked.
const SECRET_MARKERS: [&str; 4] = ["secret", "token", "password", "credential"];

impl ClientService {
    pub(super) async fn mount(&self, req: MountRequest) -> Result<Empty> {
        let p = path(&req.path)?;
        self.state.check_writable()?;
        let write_type = if req.write_type.is_empty() {
            DEFAULT_WRITE_TYPE.to_string()
        } else {
            req.write_type.to_ascii_uppercase()
        };
        if !WRITE_TYPES.contains(&write_type.as_str()) {
            return Err(Error::InvalidArgument(format!(
                "write type {:?} is not one of {}",
                req.write_type,
                WRITE_TYPES.join(", ")
            )));
        }
        let options: BTreeMap<String, String> = req.options.into_iter().collect();
        let storage = UnderStorage::open(&req.uri, &options)?;
        storage.check().await?;
        let op = Op::AddMount(journal::AddMount {
            path: p.to_string(),
            uri: storage.uri().to_string(),
            options: options.into_iter().collect(),
            sync_interval_ms: req.sync_interval_ms,
            write_type,
            owner: req.user,
            group: String::new(),
            time: now_millis(),
        });
        self.state.submit(op).await?;
        tracing::info!(path = %p, uri = %req.uri, "mounted");
        Ok(Empty {})
    }

    pub(super) async fn unmount(&self, req: UnmountRequest) -> Result<Empty> {
        let p = path(&req.path)?;
        self.state.check_writable()?;
        let op = Op::RemoveMount(journal::RemoveMount {
            path: p.to_string(),
            time: now_millis(),
        });
        let Outcome::Deleted {
            blocks, open_files, ..
        } = self.state.submit(op).await?
        else {
            return Err(Error::Internal("unmount produced nothing".to_string()));
        };
        self.state.cluster.lock().invalidate(&blocks);
        let mut leases = self.state.leases.lock();
        for file in open_files {
            leases.remove_file(file);
        }
        self.state.under_storage.forget(&p);
        tracing::info!(path = %p, "unmounted");
        Ok(Empty {})
    }

    pub(super) fn list_mounts(&self) -> ListMountsResponse {
        let mounts = self.state.namespace.read().mounts();
        ListMountsResponse {
            mounts: mounts.iter().map(|m| mount_info(m, true)).collect(),
        }
    }

    pub(super) async fn persist(&self, req: PersistRequest) -> Result<PersistResponse> {
        let p = path(&req.path)?;
        self.state.check_writable()?;
        metadata_sync::refresh(&self.state, &p, metadata_sync::Use::Entry).await?;
        let files = self.state.namespace.read().files_beneath(&p)?;
        let mut done = PersistResponse::default();
        for file in files {
            match persist::persist_file(&self.state, file).await? {
                Persisted::Copied(bytes) => {
                    done.persisted += 1;
                    done.bytes += bytes;
                }
                Persisted::Already => done.already += 1,
            }
        }
        Ok(done)
    }

    pub(super) async fn set_pinned(&self, req: SetPinnedRequest) -> Result<Empty> {
        let p = path(&req.path)?;
        self.state.check_writable()?;
        metadata_sync::refresh(&self.state, &p, metadata_sync::Use::Entry).await?;
        let op = Op::SetPinned(journal::SetPinned {
            path: p.to_string(),
            pinned: req.pinned,
        });
        self.state.submit(op).await?;
        Ok(Empty {})
    }

    pub(super) async fn free(&self, req: FreeRequest) -> Result<FreeResponse> {
        let p = path(&req.path)?;
        metadata_sync::refresh(&self.state, &p, metadata_sync::Use::Entry).await?;
        free_path(&self.state, &p)
    }

    pub(super) async fn sync_metadata(
        &self,
        req: SyncMetadataRequest,
    ) -> Result<SyncMetadataResponse> {
        let p = path(&req.path)?;
        let (directories, changes) = metadata_sync::force(&self.state, &p).await?;
        Ok(SyncMetadataResponse {
            directories,
            added: changes.added,
            changed: changes.changed,
            removed: changes.removed,
        })
    }
}

/// Drops the cached replicas of the persisted, unpinned files at or beneath `p`.
pub(super) fn free_path(state: &MasterState, p: &StrataPath) -> Result<FreeResponse> {
    let ns = state.namespace.read();
    let mut done = FreeResponse::default();
    let mut blocks = Vec::new();
    for id in ns.files_beneath(p)? {
        let Some(file) = ns.inode(id)?.file() else {
            continue;
        };
        if file.persisted.is_none() {
            done.not_persisted += 1;
        } else if ns.is_pinned(id) {
            done.pinned += 1;
        } else {
            done.freed_files += 1;
            blocks.extend(file.blocks.iter().map(|b| b.extended()));
        }
    }
    drop(ns);
    let mut cluster = state.cluster.lock();
    done.freed_blocks = blocks
        .iter()
        .filter(|b| !cluster.blocks.replicas(b.id).is_empty())
        .count() as u64;
    cluster.invalidate(&blocks);
    Ok(done)
}

/// Deletes what `path` (under a mount, not the mount point) holds in under storage, before
/// the namespace deletes it: a directory with everything beneath it (when the namespace will
/// allow the delete), a persisted file's object.
pub(crate) async fn delete_in_under_storage(
    state: &MasterState,
    p: &StrataPath,
    recursive: bool,
) -> Result<()> {
    let (mount, target) = {
        let ns = state.namespace.read();
        let Some(mount) = ns.mount_of(p).cloned() else {
            return Ok(());
        };
        let Some(id) = ns.lookup(p)? else {
            return Ok(());
        };
        let target = match &ns.inode(id)?.kind {
            InodeKind::Directory(d) if recursive || d.children.is_empty() => Some(true),
            InodeKind::Directory(_) => None,
            InodeKind::File(f) => f.persisted.is_some().then_some(false),
        };
        (mount, target)
    };
    let key = mount.key_of(p);
    let Some(directory) = target else {
        return Ok(());
    };
    if key.is_empty() {
        return Ok(());
    }
    let storage = state.under_storage.handle(&mount)?;
    let deleted = if directory {
        storage.delete_all(&key).await
    } else {
        storage.delete(&key).await
    };
    match deleted {
        Ok(()) | Err(Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// A mount as the wire carries it; `masked` hides the values of secret options.
pub(crate) fn mount_info(mount: &Mount, masked: bool) -> MountInfo {
    MountInfo {
        path: mount.path.clone(),
        uri: mount.uri.clone(),
        options: mount
            .options
            .iter()
            .map(|(k, v)| {
                let secret = SECRET_MARKERS
                    .iter()
                    .any(|m| k.to_ascii_lowercase().contains(m));
                let shown = if masked && secret {
                    "******".to_string()
                } else {
                    v.clone()
                };
                (k.clone(), shown)
            })
            .collect(),
        sync_interval_ms: mount.sync_interval_ms,
        write_type: mount.write_type.clone(),
    }
}
