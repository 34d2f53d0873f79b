//! An open under storage: what is there (stat, list), reading a byte range, writing and
//! deleting objects, over an OpenDAL operator. Paths are relative to the mount's root, `/`
//! separated, without a leading `/` (`""` is the root itself).

use crate::uri::UfsUri;
use bytes::Bytes;
use opendal::{EntryMode, ErrorKind, Metadata, Operator, Scheme};
use std::collections::BTreeMap;
use strata_core::{Error, Result};

/// An object (or directory) of an under storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UfsObject {
    /// Its path relative to the root (directories without a trailing `/`).
    pub path: String,
    /// Whether it is a directory (a common prefix, for S3).
    pub is_dir: bool,
    /// Its length in bytes (0 for a directory).
    pub length: u64,
    /// Its ETag, when the storage keeps one.
    pub etag: Option<String>,
    /// Its modification time in milliseconds since the epoch, when known.
    pub modified_ms: Option<i64>,
}

/// An under storage, ready for requests.
#[derive(Debug, Clone)]
pub struct UnderStorage {
    uri: UfsUri,
    operator: Operator,
}

impl UnderStorage {
    /// Opens the storage at `uri` with `options` (those of [`UfsUri::accepted_options`]). A
    /// local directory must exist; a remote store is not contacted yet ([`UnderStorage::check`]
    /// does).
    pub fn open(uri: &str, options: &BTreeMap<String, String>) -> Result<UnderStorage> {
        let parsed = UfsUri::parse(uri).map_err(Error::InvalidArgument)?;
        let accepted = parsed.accepted_options();
        if let Some(unknown) = options.keys().find(|k| !accepted.contains(&k.as_str())) {
            return Err(Error::InvalidArgument(format!(
                "{parsed}: unknown option {unknown:?} (accepted: {})",
                if accepted.is_empty() {
                    "none".to_string()
                } else {
                    accepted.join(", ")
                }
            )));
        }
        let built = match &parsed {
            // OpenDAL would create a missing root: a mistyped path must not appear.
            UfsUri::Local { root } if !root.is_dir() => {
                return Err(Error::UnderStorage {
                    uri: parsed.to_string(),
                    reason: "no such directory".to_string(),
                });
            }
            UfsUri::Local { root } => Operator::via_iter(
                Scheme::Fs,
                [("root".to_string(), root.display().to_string())],
            ),
            UfsUri::S3 { bucket, prefix } => {
                let mut settings: Vec<(String, String)> = options
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                settings.push(("bucket".to_string(), bucket.clone()));
                settings.push(("root".to_string(), format!("/{prefix}")));
                if !options.contains_key("region") {
                    settings.push(("region".to_string(), "us-east-1".to_string()));
                }
                Operator::via_iter(Scheme::S3, settings)
            }
        };
        let operator = built.map_err(|e| Error::UnderStorage {
            uri: parsed.to_string(),
            reason: e.to_string(),
        })?;
        Ok(UnderStorage {
            uri: parsed,
            operator,
        })
    }

    /// Where it is.
    pub fn uri(&self) -> &UfsUri {
        &self.uri
    }

    /// Lists the root once, to tell a mount that cannot work (no such bucket or directory,
    /// no access, nobody listening) before it is made.
    pub async fn check(&self) -> Result<()> {
        self.operator
            .list("/")
            .await
            .map(|_| ())
            .map_err(|e| self.error("", e))
    }

    /// The object or directory at `path`; `None` when there is none.
    pub async fn stat(&self, path: &str) -> Result<Option<UfsObject>> {
        let path = clean(path)?;
        if path.is_empty() {
            return Ok(Some(directory(String::new())));
        }
        // S3 has no directories, only common prefixes: look for one first.
        if matches!(self.uri, UfsUri::S3 { .. }) {
            match self.operator.list(&format!("{path}/")).await {
                Ok(entries) if !entries.is_empty() => return Ok(Some(directory(path))),
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(self.error(&path, e)),
            }
        }
        match self.operator.stat(&path).await {
            Ok(meta) => Ok(Some(object(path, &meta))),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.error(&path, e)),
        }
    }

    /// The objects and directories directly inside directory `path`, sorted by path.
    pub async fn list(&self, path: &str) -> Result<Vec<UfsObject>> {
        let path = clean(path)?;
        let listed = if path.is_empty() {
            "/".to_string()
        } else {
            format!("{path}/")
        };
        let entries = self
            .operator
            .list(&listed)
            .await
            .map_err(|e| self.error(&path, e))?;
        let mut out = Vec::with_capacity(entries.len());
        for entry in entries {
            let name = entry.path().trim_end_matches('/').to_string();
            if name.is_empty() || name == path {
                continue;
            }
            let meta = entry.metadata();
            if meta.mode() == EntryMode::DIR {
                out.push(directory(name));
            } else if matches!(self.uri, UfsUri::Local { .. }) {
                // A local listing carries no lengths or times: ask for them.
                let full = self
                    .operator
                    .stat(&name)
                    .await
                    .map_err(|e| self.error(&name, e))?;
                out.push(object(name, &full));
            } else {
                out.push(object(name, meta));
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// Exactly `length` bytes of object `path` from `offset`; an error when the object ends
    /// sooner (it changed since it was listed).
    pub async fn read(&self, path: &str, offset: u64, length: u64) -> Result<Bytes> {
        let path = clean(path)?;
        if length == 0 {
            return Ok(Bytes::new());
        }
        let end = offset.checked_add(length).ok_or_else(|| {
            Error::InvalidArgument(format!("{path}: range {offset}+{length} overflows"))
        })?;
        self.operator
            .read_with(&path)
            .range(offset..end)
            .await
            .map(|buffer| buffer.to_bytes())
            .map_err(|e| self.error(&path, e))
    }

    /// Writes object `path` whole and returns what the storage then holds.
    pub async fn write(&self, path: &str, data: Bytes) -> Result<UfsObject> {
        let path = clean(path)?;
        if path.is_empty() {
            return Err(Error::InvalidArgument(
                "the root of an under storage is not an object".to_string(),
            ));
        }
        self.operator
            .write(&path, data)
            .await
            .map_err(|e| self.error(&path, e))?;
        let meta = self
            .operator
            .stat(&path)
            .await
            .map_err(|e| self.error(&path, e))?;
        Ok(object(path, &meta))
    }

    /// Starts writing object `path` piece by piece; it appears whole when the writer is
    /// closed (an S3 multipart upload completes then).
    pub async fn writer(&self, path: &str) -> Result<UfsWriter> {
        let path = clean(path)?;
        if path.is_empty() {
            return Err(Error::InvalidArgument(
                "the root of an under storage is not an object".to_string(),
            ));
        }
        let writer = self
            .operator
            .writer(&path)
            .await
            .map_err(|e| self.error(&path, e))?;
        Ok(UfsWriter {
            storage: self.clone(),
            path,
            writer,
        })
    }

    /// Deletes directory `path` and everything beneath it (nothing there is not an error).
    pub async fn delete_all(&self, path: &str) -> Result<()> {
        let path = clean(path)?;
        if path.is_empty() {
            return Err(Error::InvalidArgument(
                "refusing to delete the whole under storage".to_string(),
            ));
        }
        self.operator
            .remove_all(&format!("{path}/"))
            .await
            .map_err(|e| self.error(&path, e))
    }

    /// Moves object or directory `from` to `to`, replacing an object there: one rename on a
    /// local directory; on S3, which cannot rename, a copy of every object, then the
    /// deletion of the originals once all are copied.
    pub async fn rename(&self, from: &str, to: &str) -> Result<()> {
        let (from, to) = (clean(from)?, clean(to)?);
        if from.is_empty() || to.is_empty() {
            return Err(Error::InvalidArgument(
                "the root of an under storage cannot be renamed".to_string(),
            ));
        }
        match &self.uri {
            UfsUri::Local { root } => {
                let (source, target) = (root.join(&from), root.join(&to));
                let failed = |e: std::io::Error| match e.kind() {
                    std::io::ErrorKind::NotFound => Error::NotFound {
                        path: format!("{}/{from}", self.uri),
                    },
                    _ => Error::UnderStorage {
                        uri: self.uri.to_string(),
                        reason: format!("renaming {from} to {to}: {e}"),
                    },
                };
                if let Some(parent) = target.parent() {
                    tokio::fs::create_dir_all(parent).await.map_err(failed)?;
                }
                tokio::fs::rename(&source, &target).await.map_err(failed)
            }
            UfsUri::S3 { .. } => {
                let Some(found) = self.stat(&from).await? else {
                    return Err(Error::NotFound {
                        path: format!("{}/{from}", self.uri),
                    });
                };
                if !found.is_dir {
                    self.copy(&from, &to).await?;
                    return self.delete(&from).await;
                }
                let prefix = format!("{from}/");
                let entries = self
                    .operator
                    .list_with(&prefix)
                    .recursive(true)
                    .await
                    .map_err(|e| self.error(&from, e))?;
                for entry in entries
                    .iter()
                    .filter(|e| e.metadata().mode() == EntryMode::FILE)
                {
                    let inside = entry.path().strip_prefix(&prefix).unwrap_or(entry.path());
                    self.copy(entry.path(), &format!("{to}/{inside}")).await?;
                }
                self.delete_all(&from).await
            }
        }
    }

    async fn copy(&self, from: &str, to: &str) -> Result<()> {
        self.operator
            .copy(from, to)
            .await
            .map_err(|e| self.error(from, e))
    }

    /// Deletes object `path` (nothing there is not an error).
    pub async fn delete(&self, path: &str) -> Result<()> {
        let path = clean(path)?;
        self.operator
            .delete(&path)
            .await
            .map_err(|e| self.error(&path, e))
    }

    fn error(&self, path: &str, e: opendal::Error) -> Error {
        if e.kind() == ErrorKind::NotFound {
            return Error::NotFound {
                path: format!("{}/{path}", self.uri),
            };
        }
        Error::UnderStorage {
            uri: self.uri.to_string(),
            reason: format!("{path}: {e}"),
        }
    }
}

/// `path` without leading or trailing `/`, refusing empty, `.` and `..` parts.
fn clean(path: &str) -> Result<String> {
    let trimmed = path.trim_matches('/');
    if !trimmed.is_empty()
        && trimmed
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err(Error::InvalidPath {
            path: path.to_string(),
            reason: "an under storage path has an empty, `.` or `..` part".to_string(),
        });
    }
    Ok(trimmed.to_string())
}

fn directory(path: String) -> UfsObject {
    UfsObject {
        path,
        is_dir: true,
        length: 0,
        etag: None,
        modified_ms: None,
    }
}

/// An object being written piece by piece.
pub struct UfsWriter {
    storage: UnderStorage,
    path: String,
    writer: opendal::Writer,
}

impl std::fmt::Debug for UfsWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UfsWriter")
            .field("path", &self.path)
            .finish()
    }
}

impl UfsWriter {
    /// Appends `data`.
    pub async fn write(&mut self, data: Bytes) -> Result<()> {
        self.writer
            .write(data)
            .await
            .map_err(|e| self.storage.error(&self.path, e))
    }

    /// Finishes the object and returns what the storage then holds.
    pub async fn close(mut self) -> Result<UfsObject> {
        self.writer
            .close()
            .await
            .map_err(|e| self.storage.error(&self.path, e))?;
        let meta = self
            .storage
            .operator
            .stat(&self.path)
            .await
            .map_err(|e| self.storage.error(&self.path, e))?;
        Ok(object(self.path.clone(), &meta))
    }

    /// Gives up: nothing appears.
    pub async fn abort(mut self) {
        let _ = self.writer.abort().await;
    }
}

fn object(path: String, meta: &Metadata) -> UfsObject {
    if meta.mode() == EntryMode::DIR {
        return directory(path);
    }
    UfsObject {
        path,
        is_dir: false,
        length: meta.content_length(),
        etag: meta.etag().map(|e| e.trim_matches('"').to_string()),
        modified_ms: meta.last_modified().map(|t| t.timestamp_millis()),
    }
}
