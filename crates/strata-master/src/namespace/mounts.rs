//! The mount table: directories of the namespace whose files live in under storage (a local
//! directory or an S3 bucket). A mount point is a directory the mount creates and its unmount
//! removes; mounts do not nest, and a mount point is never renamed or deleted as a whole.

use super::{Directory, InodeKind, Namespace, Outcome, new_inode_attrs, parse_path};
use std::collections::BTreeMap;
use strata_core::{Error, Result, StrataPath};
use strata_proto::journal;

/// How writes beneath a mount reach its under storage.
pub const WRITE_TYPES: [&str; 4] = ["MUST_CACHE", "CACHE_THROUGH", "THROUGH", "ASYNC_THROUGH"];

/// One mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The mount point.
    pub path: String,
    /// The under storage, e.g. `s3://bucket/prefix`.
    pub uri: String,
    /// Options of the under storage (endpoint, region, keys, ...).
    pub options: BTreeMap<String, String>,
    /// How long listed metadata is trusted.
    pub sync_interval_ms: i64,
    /// The default write type beneath it.
    pub write_type: String,
}

impl Mount {
    /// Whether `path` (a normalized path) is the mount point or beneath it; a string
    /// comparison, cheap enough for every entry of a listing.
    pub fn holds(&self, path: &str) -> bool {
        path.strip_prefix(self.path.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }

    /// The path of `path` (at or beneath the mount point) inside the under storage: `""` for
    /// the mount point itself.
    pub fn key_of(&self, path: &StrataPath) -> String {
        path.as_str()
            .strip_prefix(self.path.as_str())
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string()
    }

    /// The under-storage address of `path` (no credentials).
    pub fn uri_of(&self, path: &StrataPath) -> String {
        let key = self.key_of(path);
        if key.is_empty() {
            self.uri.clone()
        } else {
            format!("{}/{key}", self.uri.trim_end_matches('/'))
        }
    }

    fn from_record(op: &journal::AddMount) -> Mount {
        Mount {
            path: op.path.clone(),
            uri: op.uri.clone(),
            options: op
                .options
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            sync_interval_ms: op.sync_interval_ms,
            write_type: op.write_type.clone(),
        }
    }

    /// The mount as its journal (and snapshot) record.
    pub fn record(&self) -> journal::AddMount {
        journal::AddMount {
            path: self.path.clone(),
            uri: self.uri.clone(),
            options: self
                .options
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            sync_interval_ms: self.sync_interval_ms,
            write_type: self.write_type.clone(),
            ..Default::default()
        }
    }
}

impl Namespace {
    /// Every mount, by mount point.
    pub fn mounts(&self) -> Vec<Mount> {
        self.mounts.values().cloned().collect()
    }

    /// The mount `path` is at or beneath, if any.
    pub fn mount_of(&self, path: &StrataPath) -> Option<&Mount> {
        self.mounts.values().find(|m| m.holds(path.as_str()))
    }

    /// Refuses to rename or delete `path` as a whole when it is or holds a mount point.
    pub(super) fn check_no_mount_point_within(&self, path: &StrataPath) -> Result<()> {
        let holds = self.mounts.keys().find(|m| {
            StrataPath::parse(m).is_ok_and(|point| &point == path || point.is_within(path))
        });
        match holds {
            Some(point) => Err(Error::InvalidOperation {
                path: path.to_string(),
                reason: format!("{point} is a mount point: unmount it first"),
            }),
            None => Ok(()),
        }
    }

    pub(super) fn add_mount(&mut self, op: &journal::AddMount) -> Result<Outcome> {
        let path = parse_path(&op.path)?;
        let refuse = |reason: String| Error::InvalidOperation {
            path: path.to_string(),
            reason,
        };
        if path.is_root() {
            return Err(refuse(
                "the root directory cannot be a mount point".to_string(),
            ));
        }
        if !WRITE_TYPES.contains(&op.write_type.as_str()) {
            return Err(Error::InvalidArgument(format!(
                "{path}: write type {:?} is not one of {}",
                op.write_type,
                WRITE_TYPES.join(", ")
            )));
        }
        if let Some(outer) = self.mount_of(&path) {
            return Err(refuse(format!("it is inside the mount {}", outer.path)));
        }
        if self.lookup(&path)?.is_some() {
            return Err(Error::AlreadyExists {
                path: path.to_string(),
            });
        }
        let parent_path = path.parent().unwrap_or_else(StrataPath::root);
        let parent = self.resolve(&parent_path)?;
        if !self.inode(parent)?.is_directory() {
            return Err(Error::NotADirectory {
                path: parent_path.to_string(),
            });
        }
        self.insert_child(
            parent,
            path.name(),
            new_inode_attrs(&op.owner, &op.group, 0o755, op.time),
            InodeKind::Directory(Directory::default()),
        )?;
        self.mounts.insert(path.to_string(), Mount::from_record(op));
        Ok(Outcome::Done)
    }

    pub(super) fn remove_mount(&mut self, op: &journal::RemoveMount) -> Result<Outcome> {
        let path = parse_path(&op.path)?;
        if !self.mounts.contains_key(path.as_str()) {
            return Err(Error::InvalidOperation {
                path: path.to_string(),
                reason: "not a mount point".to_string(),
            });
        }
        let id = self.resolve(&path)?;
        let (blocks, open_files) = self.remove_subtree(id, op.time)?;
        self.mounts.remove(path.as_str());
        Ok(Outcome::Deleted {
            existed: true,
            blocks,
            open_files,
        })
    }

    pub(super) fn restore_mounts(&mut self, records: &[journal::AddMount]) {
        for record in records {
            self.mounts
                .insert(record.path.clone(), Mount::from_record(record));
        }
    }
}
