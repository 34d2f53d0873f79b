//! Extended attributes of files and directories, as in HDFS: a name with a namespace prefix
//! (`user.` for applications, `trusted.` for the superuser's tools) and a value of bytes, with
//! HDFS's limits on their number and size per inode.

use super::{Namespace, Outcome};
use std::collections::BTreeMap;
use strata_core::{Error, Result, StrataPath};
use strata_proto::journal;

/// The namespaces an attribute name may start with.
const XATTR_NAMESPACES: [&str; 2] = ["user.", "trusted."];
/// Most attributes one inode may have (HDFS's `max-xattrs-per-inode`).
const MAX_XATTRS_PER_INODE: usize = 32;
/// Largest name plus value, in bytes (HDFS's `max-xattr-size`).
const MAX_XATTR_SIZE: usize = 16 * 1024;

impl Namespace {
    pub(super) fn set_xattr(&mut self, op: &journal::SetXAttr) -> Result<Outcome> {
        let path = StrataPath::parse(&op.path)?;
        check_name(&path, &op.name)?;
        let id = self.resolve(&path)?;
        let xattrs = &self.inode(id)?.xattrs;
        let exists = xattrs.contains_key(&op.name);
        let named = || format!("{path} (attribute {})", op.name);
        if op.remove {
            if !exists {
                return Err(Error::NotFound { path: named() });
            }
            self.inode_mut(id)?.xattrs.remove(&op.name);
            return Ok(Outcome::Done);
        }
        if op.create && exists {
            return Err(Error::AlreadyExists { path: named() });
        }
        if op.replace && !exists {
            return Err(Error::NotFound { path: named() });
        }
        if op.name.len() + op.value.len() > MAX_XATTR_SIZE {
            return Err(Error::InvalidArgument(format!(
                "{}: name and value take {} bytes, more than {MAX_XATTR_SIZE}",
                named(),
                op.name.len() + op.value.len()
            )));
        }
        if !exists && xattrs.len() >= MAX_XATTRS_PER_INODE {
            return Err(Error::InvalidOperation {
                path: path.to_string(),
                reason: format!("it has {MAX_XATTRS_PER_INODE} attributes, the most allowed"),
            });
        }
        (self.inode_mut(id)?.xattrs).insert(op.name.clone(), op.value.clone());
        Ok(Outcome::Done)
    }

    /// The extended attributes of `path`.
    pub fn xattrs(&self, path: &StrataPath) -> Result<BTreeMap<String, Vec<u8>>> {
        Ok(self.inode(self.resolve(path)?)?.xattrs.clone())
    }
}

fn check_name(path: &StrataPath, name: &str) -> Result<()> {
    let valid = XATTR_NAMESPACES
        .iter()
        .any(|prefix| name.len() > prefix.len() && name.starts_with(prefix));
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "{path}: attribute name {name:?} must start with one of {} and go on",
            XATTR_NAMESPACES.join(", ")
        )))
    }
}
