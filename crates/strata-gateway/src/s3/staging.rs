//! Objects come into being whole: bytes are received into a staging file under
//! [`SYSTEM_DIR`](super::SYSTEM_DIR), its metadata set, then renamed over the key's path in
//! one step (creating the key's directories as needed). Deleting the last key beneath a
//! directory removes the directory too, unless it is a folder object of its own, so the tree
//! looks as S3's flat key space would.

use super::S3Gateway;
use super::body::{IncomingBody, hex, verify_checksums, verify_content_md5, write_body};
use super::errors::{key_conflict, s3_error};
use super::object_meta::{ContentHeaders, OBJECT_XATTR, ObjectMeta};
use s3s::dto::Checksum;
use s3s::{S3Result, s3_error};
use std::collections::BTreeMap;
use strata_client::{CreateOptions, FileWriter, XAttrSetFlag, is_directory};
use strata_core::{Error, StrataPath};

/// Where staging files live.
const STAGING_DIR: &str = "/.strata-s3/staging";

/// Attempts at renaming a staged object into place when a concurrent delete removes a
/// directory it needs in between.
const PUBLISH_ATTEMPTS: usize = 3;

/// An object being written under a staging name.
pub struct Staged {
    /// The staging file's path.
    pub path: String,
    /// Its writer.
    pub writer: FileWriter,
}

impl S3Gateway {
    /// A new, empty staging file.
    pub(super) async fn stage(&self) -> S3Result<Staged> {
        let path = format!("{STAGING_DIR}/{:032x}", rand::random::<u128>());
        let options = CreateOptions {
            create_parents: true,
            ..Default::default()
        };
        let writer = self.fs.create(&path, options).await.map_err(s3_error)?;
        Ok(Staged { path, writer })
    }

    /// Receives a request body into a new staging file, checks it against the `Content-MD5`
    /// and the checksums the client sent (in headers or trailers), and publishes it at
    /// `target` with its MD5 as ETag; nothing is left behind when the body is cut short or
    /// does not match. The ETag and the checksums computed.
    pub(super) async fn store(
        &self,
        incoming: IncomingBody,
        target: &StrataPath,
        headers: ContentHeaders,
        metadata: BTreeMap<String, String>,
    ) -> S3Result<(String, Checksum)> {
        let IncomingBody {
            body,
            expected,
            content_md5,
            trailers,
        } = incoming;
        let Some(body) = body else {
            return Err(s3_error!(IncompleteBody));
        };
        let mut staged = self.stage().await?;
        let written = async {
            let written = write_body(body, &mut staged.writer, &expected).await?;
            verify_content_md5(content_md5.as_deref(), &written.md5)?;
            let trailers = trailers.and_then(|t| t.take());
            verify_checksums(&written.checksums, &expected.sent, trailers.as_ref())?;
            Ok(written)
        }
        .await;
        let written = match written {
            Ok(written) => written,
            Err(e) => {
                self.discard(staged).await;
                return Err(e);
            }
        };
        let meta = ObjectMeta {
            etag: hex(&written.md5),
            length: written.length,
            headers,
            metadata,
        };
        self.publish(staged, target, &meta).await?;
        Ok((meta.etag, written.checksums))
    }

    /// Drops a staged object that will not be published.
    pub(super) async fn discard(&self, staged: Staged) {
        drop(staged.writer);
        if let Err(e) = self.fs.delete(&staged.path, false).await {
            tracing::warn!(path = %staged.path, error = %e, "could not remove a staging file");
        }
    }

    /// Closes `staged`, stores `meta` with it and renames it over `target`.
    pub(super) async fn publish(
        &self,
        staged: Staged,
        target: &StrataPath,
        meta: &ObjectMeta,
    ) -> S3Result<()> {
        let Staged { path, writer } = staged;
        let result = async {
            writer.close().await.map_err(s3_error)?;
            self.install(&path, target, meta).await
        }
        .await;
        if result.is_err() {
            let _ = self.fs.delete(&path, false).await;
        }
        result
    }

    /// Stores `meta` with the closed file `path` and renames it over `target`.
    pub(super) async fn install(
        &self,
        path: &str,
        target: &StrataPath,
        meta: &ObjectMeta,
    ) -> S3Result<()> {
        (self.fs)
            .set_xattr(
                path,
                OBJECT_XATTR,
                &meta.encode(),
                XAttrSetFlag::CreateOrReplace,
            )
            .await
            .map_err(s3_error)?;
        self.rename_into_place(path, target).await
    }

    async fn rename_into_place(&self, staged: &str, target: &StrataPath) -> S3Result<()> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.fs.replace(staged, target.as_str(), None).await {
                Ok(()) => return Ok(()),
                Err(Error::NotFound { .. }) if attempt < PUBLISH_ATTEMPTS => {
                    self.make_parents(target).await?;
                }
                Err(Error::NotADirectory { path }) => {
                    return Err(key_conflict(format!(
                        "{target} cannot be stored: {path} is an object, not a directory"
                    )));
                }
                Err(Error::IsADirectory { .. }) => {
                    return Err(key_conflict(format!(
                        "{target} is a directory: keys beneath it exist, so it cannot hold an object"
                    )));
                }
                Err(e) => return Err(s3_error(e)),
            }
        }
    }

    /// Creates the directories above `target`.
    pub(super) async fn make_parents(&self, target: &StrataPath) -> S3Result<()> {
        let Some(parent) = target.parent() else {
            return Ok(());
        };
        match self.fs.mkdirs(parent.as_str(), true).await {
            Ok(()) => Ok(()),
            Err(Error::NotADirectory { .. } | Error::AlreadyExists { .. }) => {
                Err(key_conflict(format!(
                    "{target} cannot be stored: a level above it is an object, not a directory"
                )))
            }
            Err(e) => Err(s3_error(e)),
        }
    }

    /// Removes the now empty directories above `path` up to (not including) the bucket, stopping
    /// at the first that holds anything or is a folder object.
    pub(super) async fn prune_empty_parents(&self, path: &StrataPath) {
        let mut current = path.parent();
        while let Some(dir) = current {
            if dir.parent().is_none_or(|p| p.is_root()) {
                return;
            }
            let status = (self.fs)
                .try_stat_with_xattrs(dir.as_str(), &[OBJECT_XATTR.to_string()])
                .await;
            let empty_implicit = matches!(&status, Ok(Some(s))
                if is_directory(s) && s.children == 0 && !s.xattrs.contains_key(OBJECT_XATTR));
            if !empty_implicit || self.fs.delete(dir.as_str(), false).await.is_err() {
                return;
            }
            current = dir.parent();
        }
    }
}
