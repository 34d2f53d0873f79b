//! The extended-attribute face of [`FileSystem`], as in HDFS: named byte values on files and
//! directories, names prefixed `user.` or `trusted.` (the S3 gateway keeps an object's ETag
//! and content type in them).

use crate::call;
use crate::filesystem::FileSystem;
use std::collections::BTreeMap;
use strata_core::{Result, StrataPath};
use strata_proto::rpc::{GetXAttrsRequest, SetXAttrRequest};

/// Whether setting an attribute may create it, replace it, or both (HDFS's `XAttrSetFlag`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum XAttrSetFlag {
    /// Create it or replace its value.
    #[default]
    CreateOrReplace,
    /// Only create it: an error if it exists.
    Create,
    /// Only replace it: an error if it does not exist.
    Replace,
}

impl FileSystem {
    /// Sets attribute `name` of `path` to `value`.
    pub async fn set_xattr(
        &self,
        path: &str,
        name: &str,
        value: &[u8],
        flag: XAttrSetFlag,
    ) -> Result<()> {
        let request = SetXAttrRequest {
            path: StrataPath::parse(path)?.to_string(),
            name: name.to_string(),
            value: value.to_vec(),
            create: flag == XAttrSetFlag::Create,
            replace: flag == XAttrSetFlag::Replace,
            remove: false,
        };
        call!(self.inner().master, client, set_x_attr(request)).map(|_| ())
    }

    /// Removes attribute `name` of `path` (an error if it has none of that name).
    pub async fn remove_xattr(&self, path: &str, name: &str) -> Result<()> {
        let request = SetXAttrRequest {
            path: StrataPath::parse(path)?.to_string(),
            name: name.to_string(),
            remove: true,
            ..Default::default()
        };
        call!(self.inner().master, client, set_x_attr(request)).map(|_| ())
    }

    /// Every attribute of `path`, by name.
    pub async fn xattrs(&self, path: &str) -> Result<BTreeMap<String, Vec<u8>>> {
        let request = GetXAttrsRequest {
            path: StrataPath::parse(path)?.to_string(),
        };
        call!(self.inner().master, client, get_x_attrs(request))
            .map(|r| r.xattrs.into_iter().collect())
    }
}
