//! What the S3 face keeps beside an object's bytes: one extended attribute, `user.s3.object`,
//! holding the object's ETag, content headers and user metadata as JSON. On a directory the
//! same attribute marks a folder object (a key ending in `/` that was put), which outlives
//! the deletion of the keys beneath it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use strata_client::FileStatus;

/// The extended attribute holding an object's [`ObjectMeta`].
pub const OBJECT_XATTR: &str = "user.s3.object";

/// The MD5 of no bytes: the ETag of an empty object or a folder.
pub const EMPTY_MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";

/// An object's ETag and headers, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectMeta {
    /// The ETag without quotes: the MD5 of the bytes in hex, or for a multipart upload the
    /// MD5 of the parts' MD5s followed by `-` and the number of parts.
    pub etag: String,
    /// The object's length when the ETag was taken: a file changed since by another face
    /// (an append) no longer matches, and gets a derived ETag instead.
    pub length: u64,
    /// The standard content headers given at upload (`Content-Type`, ...).
    #[serde(default, skip_serializing_if = "ContentHeaders::is_empty")]
    pub headers: ContentHeaders,
    /// User metadata (`x-amz-meta-*`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// The content headers S3 stores with an object and returns on GET and HEAD.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentHeaders {
    /// `Content-Type`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// `Content-Encoding`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    /// `Content-Disposition`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<String>,
    /// `Content-Language`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    /// `Cache-Control`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
}

/// The [`ContentHeaders`] of a PutObject, CopyObject or CreateMultipartUpload input.
macro_rules! content_headers {
    ($input:expr) => {
        $crate::s3::object_meta::ContentHeaders {
            content_type: $input.content_type,
            content_encoding: $input.content_encoding,
            content_disposition: $input.content_disposition,
            content_language: $input.content_language,
            cache_control: $input.cache_control,
        }
    };
}

pub(super) use content_headers;

impl ContentHeaders {
    fn is_empty(&self) -> bool {
        *self == ContentHeaders::default()
    }
}

impl ObjectMeta {
    /// The stored metadata of the file or folder `status` (listed or stat'ed with
    /// [`OBJECT_XATTR`]), if it has any that still describes it.
    pub fn of(status: &FileStatus) -> Option<ObjectMeta> {
        let meta: ObjectMeta = serde_json::from_slice(status.xattrs.get(OBJECT_XATTR)?).ok()?;
        (meta.length == status.length).then_some(meta)
    }

    /// The attribute's value.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The ETag of `status` without quotes: the stored one, else (for a file written by another
/// face) one derived from its inode and modification time, with a `-` so that no client takes
/// it for an MD5 of the bytes.
pub fn etag_of(status: &FileStatus) -> String {
    match ObjectMeta::of(status) {
        Some(meta) => meta.etag,
        None if status.length == 0 => EMPTY_MD5.to_string(),
        None => format!(
            "{:016x}{:016x}-1",
            status.inode_id, status.modification_time
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_meta(length: u64, meta: &ObjectMeta) -> FileStatus {
        FileStatus {
            length,
            inode_id: 7,
            modification_time: 99,
            xattrs: [(OBJECT_XATTR.to_string(), meta.encode())].into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_stored_etag_holds_until_the_length_changes() {
        let meta = ObjectMeta {
            etag: "0123456789abcdef0123456789abcdef".to_string(),
            length: 10,
            headers: ContentHeaders {
                content_type: Some("text/plain".to_string()),
                ..Default::default()
            },
            metadata: [("colour".to_string(), "blue".to_string())].into(),
        };
        assert_eq!(ObjectMeta::of(&with_meta(10, &meta)), Some(meta.clone()));
        assert_eq!(etag_of(&with_meta(10, &meta)), meta.etag);
        let appended = with_meta(11, &meta);
        assert_eq!(ObjectMeta::of(&appended), None);
        assert_eq!(etag_of(&appended), "00000000000000070000000000000063-1");
    }

    #[test]
    fn files_without_metadata_get_a_derived_etag_and_empty_ones_the_empty_md5() {
        let plain = FileStatus {
            length: 5,
            inode_id: 1,
            modification_time: 2,
            ..Default::default()
        };
        assert!(etag_of(&plain).ends_with("-1"));
        let empty = FileStatus::default();
        assert_eq!(etag_of(&empty), EMPTY_MD5);
        let garbage = FileStatus {
            xattrs: [(OBJECT_XATTR.to_string(), b"{not json".to_vec())].into(),
            ..plain.clone()
        };
        assert_eq!(etag_of(&garbage), etag_of(&plain));
    }
}
