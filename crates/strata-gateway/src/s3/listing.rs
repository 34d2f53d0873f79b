//! ListObjectsV2 (and V1) over the directory tree. Keys come out in S3's order, byte order of
//! the whole key, which is not the order of names within one directory (`a-b` sorts before
//! `a/c`), so each directory's entries are sorted by the key they give (a directory's key ends
//! in `/`) and the walk goes depth-first through them. A delimiter folds every key of a
//! subtree into one common prefix without walking it; subtrees wholly before the
//! continuation point are skipped. Empty directories and folder objects list as `dir/`.

use super::errors::s3_error;
use super::object_meta::{OBJECT_XATTR, etag_of};
use super::{S3Gateway, timestamp};
use crate::s3_names::{self, ObjectName};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use s3s::S3Result;
use s3s::dto::*;
use std::collections::VecDeque;
use strata_client::{FileStatus, is_directory};
use strata_core::{Error, StrataPath};

/// The most keys one page returns (S3's limit).
const MAX_KEYS: i32 = 1000;

/// What `encoding-type=url` leaves as it is: unreserved characters and `/`.
const KEY_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// One line of a listing.
enum Listed {
    Object(Box<Object>),
    Prefix(String),
}

impl Listed {
    fn key(&self) -> &str {
        match self {
            Listed::Object(o) => o.key.as_deref().unwrap_or_default(),
            Listed::Prefix(p) => p,
        }
    }
}

/// What a listing asks for.
struct Query<'a> {
    bucket: &'a str,
    prefix: &'a str,
    delimiter: Option<&'a str>,
    after: &'a str,
    limit: usize,
}

/// A page: its lines in key order and whether more follow.
struct Page {
    lines: Vec<Listed>,
    truncated: bool,
}

/// A directory's entries, sorted by key, not yet visited.
type Frame = VecDeque<(String, FileStatus)>;

impl S3Gateway {
    pub(super) async fn list_v2(&self, input: ListObjectsV2Input) -> S3Result<ListObjectsV2Output> {
        let max_keys = input.max_keys.unwrap_or(MAX_KEYS).clamp(0, MAX_KEYS);
        let after = match (&input.continuation_token, &input.start_after) {
            (Some(token), _) => token.as_str(),
            (None, Some(start)) => start.as_str(),
            (None, None) => "",
        };
        let page = self
            .list(Query {
                bucket: &input.bucket,
                prefix: input.prefix.as_deref().unwrap_or_default(),
                delimiter: input.delimiter.as_deref().filter(|d| !d.is_empty()),
                after,
                limit: max_keys as usize,
            })
            .await?;
        let next = page
            .truncated
            .then(|| page.lines.last().map(|l| l.key().to_string()))
            .flatten();
        let encode = Encoder::of(input.encoding_type.as_ref());
        let key_count = page.lines.len() as i32;
        let (contents, common_prefixes) = encode.split(page.lines);
        Ok(ListObjectsV2Output {
            name: Some(input.bucket),
            prefix: input.prefix.map(|p| encode.apply(p)),
            delimiter: input.delimiter.map(|d| encode.apply(d)),
            start_after: input.start_after.map(|s| encode.apply(s)),
            continuation_token: input.continuation_token,
            next_continuation_token: next,
            max_keys: Some(max_keys),
            key_count: Some(key_count),
            is_truncated: Some(page.truncated),
            contents,
            common_prefixes,
            encoding_type: input.encoding_type,
            ..Default::default()
        })
    }

    pub(super) async fn list_v1(&self, input: ListObjectsInput) -> S3Result<ListObjectsOutput> {
        let max_keys = input.max_keys.unwrap_or(MAX_KEYS).clamp(0, MAX_KEYS);
        let page = self
            .list(Query {
                bucket: &input.bucket,
                prefix: input.prefix.as_deref().unwrap_or_default(),
                delimiter: input.delimiter.as_deref().filter(|d| !d.is_empty()),
                after: input.marker.as_deref().unwrap_or_default(),
                limit: max_keys as usize,
            })
            .await?;
        let encode = Encoder::of(input.encoding_type.as_ref());
        let next = page
            .truncated
            .then(|| page.lines.last().map(|l| encode.apply(l.key().to_string())))
            .flatten();
        let (contents, common_prefixes) = encode.split(page.lines);
        Ok(ListObjectsOutput {
            name: Some(input.bucket),
            prefix: input.prefix.map(|p| encode.apply(p)),
            delimiter: input.delimiter.map(|d| encode.apply(d)),
            marker: input.marker.map(|m| encode.apply(m)),
            next_marker: next,
            max_keys: Some(max_keys),
            is_truncated: Some(page.truncated),
            contents,
            common_prefixes,
            encoding_type: input.encoding_type,
            ..Default::default()
        })
    }

    /// Up to `limit` lines after `after`, walking only the subtrees that can hold them.
    async fn list(&self, query: Query<'_>) -> S3Result<Page> {
        let bucket = self.existing_bucket(query.bucket).await?;
        let base = match query.prefix.rfind('/') {
            Some(end) => &query.prefix[..=end],
            None => "",
        };
        let start = if base.is_empty() {
            bucket
        } else {
            match s3_names::object_name(query.bucket, base) {
                Ok(ObjectName::Directory(path)) => path,
                // A prefix no key can begin with (such as `a//`) matches nothing.
                Ok(ObjectName::File(_)) | Err(_) => return Ok(empty_page()),
            }
        };
        let mut lines: Vec<Listed> = Vec::new();
        let Some(first) = self.frame(&start, base).await? else {
            return Ok(empty_page());
        };
        let mut stack = vec![first];
        let wanted = query.limit + 1;
        while lines.len() < wanted {
            let Some(frame) = stack.last_mut() else { break };
            let Some((key, status)) = frame.pop_front() else {
                stack.pop();
                continue;
            };
            let directory = is_directory(&status);
            let relevant = key.starts_with(query.prefix)
                || (directory && query.prefix.starts_with(key.as_str()));
            // A subtree whose keys all sort at or before `after` is passed over whole.
            let before = query.after >= key.as_str()
                && !(directory && query.after.starts_with(key.as_str()));
            if !relevant || before {
                continue;
            }
            if let Some(common) = common_prefix(&key, &query) {
                if common.as_str() > query.after && lines.last().is_none_or(|l| l.key() != common) {
                    lines.push(Listed::Prefix(common));
                }
                continue;
            }
            let is_object =
                !directory || status.children == 0 || status.xattrs.contains_key(OBJECT_XATTR);
            if is_object && key.starts_with(query.prefix) && key.as_str() > query.after {
                lines.push(Listed::Object(Box::new(object_line(&key, &status))));
            }
            if directory && status.children > 0 {
                let path = StrataPath::parse(&status.path).map_err(s3_error)?;
                if let Some(frame) = self.frame(&path, &key).await? {
                    stack.push(frame);
                }
            }
        }
        let truncated = lines.len() > query.limit;
        lines.truncate(query.limit);
        Ok(Page { lines, truncated })
    }

    /// The entries of directory `path` (whose keys begin with `key_prefix`) in key order;
    /// `None` if it is gone or not a directory.
    async fn frame(&self, path: &StrataPath, key_prefix: &str) -> S3Result<Option<Frame>> {
        let listed = self
            .fs
            .list_with_xattrs(path.as_str(), &[OBJECT_XATTR.to_string()])
            .collect()
            .await;
        let entries = match listed {
            Ok(entries) => entries,
            Err(Error::NotFound { .. } | Error::NotADirectory { .. }) => return Ok(None),
            Err(e) => return Err(s3_error(e)),
        };
        if entries.len() == 1 && entries[0].path == path.as_str() {
            return Ok(None);
        }
        let mut keyed: Vec<(String, FileStatus)> = entries
            .into_iter()
            .map(|status| {
                let name = status.path.rsplit('/').next().unwrap_or_default();
                let slash = if is_directory(&status) { "/" } else { "" };
                (format!("{key_prefix}{name}{slash}"), status)
            })
            .collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Some(keyed.into()))
    }
}

/// The common prefix `key` folds into under the query's delimiter, if it does. A directory
/// folds when the delimiter occurs in its key past the prefix; then so does every key below.
fn common_prefix(key: &str, query: &Query<'_>) -> Option<String> {
    let delimiter = query.delimiter?;
    let rest = key.strip_prefix(query.prefix)?;
    let at = rest.find(delimiter)?;
    Some(key[..query.prefix.len() + at + delimiter.len()].to_string())
}

fn object_line(key: &str, status: &FileStatus) -> Object {
    Object {
        key: Some(key.to_string()),
        size: Some(i64::try_from(status.length).unwrap_or(i64::MAX)),
        last_modified: Some(timestamp(status.modification_time)),
        e_tag: Some(ETag::Strong(etag_of(status))),
        storage_class: Some(ObjectStorageClass::from_static(
            ObjectStorageClass::STANDARD,
        )),
        ..Default::default()
    }
}

fn empty_page() -> Page {
    Page {
        lines: Vec::new(),
        truncated: false,
    }
}

/// `encoding-type=url`: keys and prefixes percent-encoded in the response.
struct Encoder(bool);

impl Encoder {
    fn of(encoding: Option<&EncodingType>) -> Encoder {
        Encoder(encoding.is_some_and(|e| e.as_str() == EncodingType::URL))
    }

    fn apply(&self, text: String) -> String {
        if self.0 {
            utf8_percent_encode(&text, KEY_ENCODE).to_string()
        } else {
            text
        }
    }

    /// The lines as S3's `Contents` and `CommonPrefixes`, each absent when empty.
    fn split(&self, lines: Vec<Listed>) -> (Option<Vec<Object>>, Option<Vec<CommonPrefix>>) {
        let mut objects = Vec::new();
        let mut prefixes = Vec::new();
        for line in lines {
            match line {
                Listed::Object(mut object) => {
                    object.key = object.key.map(|k| self.apply(k));
                    objects.push(*object);
                }
                Listed::Prefix(prefix) => prefixes.push(CommonPrefix {
                    prefix: Some(self.apply(prefix)),
                }),
            }
        }
        (
            (!objects.is_empty()).then_some(objects),
            (!prefixes.is_empty()).then_some(prefixes),
        )
    }
}
