//! Multipart uploads. Upload `id` of bucket `b` is the directory
//! `/.strata-s3/uploads/b/<id>`, its key and headers in an extended attribute; each part is a
//! file in it named by its number, published whole like an object (so a part sent again
//! replaces the earlier one). Completing concatenates the chosen parts, in order, into the
//! first (their blocks move; no byte is copied) and renames it over the key; its ETag is S3's:
//! the MD5 of the parts' MD5s, `-`, the count.

use super::body::{hex, incoming_body, stored_output};
use super::conditions::copy_source_conditions;
use super::errors::{name_error, s3_error};
use super::object_meta::{ContentHeaders, OBJECT_XATTR, ObjectMeta, content_headers};
use super::{S3Gateway, SYSTEM_DIR, timestamp};
use crate::s3_names::{self, ObjectName};
use s3s::crypto::{Checksum as _, Md5};
use s3s::dto::*;
use s3s::{S3Result, TrailingHeaders, s3_error};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use strata_client::{FileStatus, XAttrSetFlag};
use strata_core::{Error, StrataPath, now_millis};

/// The extended attribute of an upload's directory holding its [`UploadRecord`].
const UPLOAD_XATTR: &str = "user.s3.upload";

/// The smallest part S3 accepts, except the last.
const MIN_PART_SIZE: u64 = 5 << 20;

/// The highest part number.
const MAX_PART_NUMBER: i32 = 10_000;

/// The most uploads or parts one listing returns.
const MAX_LISTED: i32 = 1000;

/// What an upload's directory remembers.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct UploadRecord {
    key: String,
    initiated: i64,
    #[serde(default)]
    headers: ContentHeaders,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
}

/// The directory of the uploads in progress in `bucket`.
pub(super) fn uploads_dir(bucket: &str) -> String {
    format!("{SYSTEM_DIR}/uploads/{bucket}")
}

fn part_name(number: i32) -> String {
    format!("{number:05}")
}

fn bytes_from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

impl S3Gateway {
    pub(super) async fn create_upload(
        &self,
        input: CreateMultipartUploadInput,
    ) -> S3Result<CreateMultipartUploadOutput> {
        self.existing_bucket(&input.bucket).await?;
        let name = s3_names::object_name(&input.bucket, &input.key).map_err(name_error)?;
        if matches!(name, ObjectName::Directory(_)) {
            return Err(s3_error!(
                InvalidArgument,
                "a key ending in '/' names a folder and cannot hold bytes"
            ));
        }
        let id = format!("{:032x}", rand::random::<u128>());
        let dir = format!("{}/{id}", uploads_dir(&input.bucket));
        let record = UploadRecord {
            key: input.key.clone(),
            initiated: now_millis(),
            headers: content_headers!(input),
            metadata: input.metadata.unwrap_or_default().into_iter().collect(),
        };
        let value = serde_json::to_vec(&record).map_err(|e| s3_error!(InternalError, "{e}"))?;
        self.fs.mkdirs(&dir, true).await.map_err(s3_error)?;
        (self.fs)
            .set_xattr(&dir, UPLOAD_XATTR, &value, XAttrSetFlag::Create)
            .await
            .map_err(s3_error)?;
        Ok(CreateMultipartUploadOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(id),
            ..Default::default()
        })
    }

    /// The directory and record of upload `id` of `key` in `bucket`; `NoSuchUpload` if there
    /// is none.
    async fn upload(&self, bucket: &str, key: &str, id: &str) -> S3Result<(String, UploadRecord)> {
        let missing = || {
            s3_error!(
                NoSuchUpload,
                "no upload {id} of key {key} in bucket {bucket}"
            )
        };
        s3_names::bucket_path(bucket).map_err(name_error)?;
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(missing());
        }
        let dir = format!("{}/{id}", uploads_dir(bucket));
        let status = (self.fs)
            .try_stat_with_xattrs(&dir, &[UPLOAD_XATTR.to_string()])
            .await
            .map_err(s3_error)?
            .ok_or_else(missing)?;
        let record: UploadRecord = status
            .xattrs
            .get(UPLOAD_XATTR)
            .and_then(|v| serde_json::from_slice(v).ok())
            .ok_or_else(missing)?;
        if record.key != key {
            return Err(missing());
        }
        Ok((dir, record))
    }

    /// The parts stored so far, by number.
    async fn stored_parts(&self, dir: &str) -> S3Result<BTreeMap<i32, FileStatus>> {
        let entries = self
            .fs
            .list_with_xattrs(dir, &[OBJECT_XATTR.to_string()])
            .collect()
            .await
            .map_err(s3_error)?;
        Ok(entries
            .into_iter()
            .filter_map(|status| {
                let name = status.path.rsplit('/').next()?;
                Some((name.parse::<i32>().ok()?, status))
            })
            .collect())
    }

    fn check_part_number(number: i32) -> S3Result<()> {
        if (1..=MAX_PART_NUMBER).contains(&number) {
            Ok(())
        } else {
            Err(s3_error!(
                InvalidArgument,
                "part numbers go from 1 to {MAX_PART_NUMBER}, not {number}"
            ))
        }
    }

    pub(super) async fn put_part(
        &self,
        input: UploadPartInput,
        trailers: Option<TrailingHeaders>,
    ) -> S3Result<UploadPartOutput> {
        Self::check_part_number(input.part_number)?;
        let (dir, _) = self
            .upload(&input.bucket, &input.key, &input.upload_id)
            .await?;
        let target = self.part_path(&dir, input.part_number)?;
        let (etag, sums) = self
            .store(
                incoming_body!(input, trailers),
                &target,
                ContentHeaders::default(),
                BTreeMap::new(),
            )
            .await?;
        Ok(stored_output!(UploadPartOutput, etag, sums))
    }

    fn part_path(&self, dir: &str, number: i32) -> S3Result<StrataPath> {
        StrataPath::parse(&format!("{dir}/{}", part_name(number))).map_err(s3_error)
    }

    pub(super) async fn copy_part(
        &self,
        input: UploadPartCopyInput,
    ) -> S3Result<UploadPartCopyOutput> {
        Self::check_part_number(input.part_number)?;
        let (dir, _) = self
            .upload(&input.bucket, &input.key, &input.upload_id)
            .await?;
        let (source, status) = self
            .copy_source(&input.copy_source, copy_source_conditions!(input))
            .await?;
        let range = match &input.copy_source_range {
            None => 0..status.length,
            Some(text) => copy_range(text, status.length)?,
        };
        let mut staged = self.stage().await?;
        let md5 = match self
            .copy_bytes(&source, range.clone(), &mut staged.writer)
            .await
        {
            Ok(md5) => md5,
            Err(e) => {
                self.discard(staged).await;
                return Err(e);
            }
        };
        let meta = ObjectMeta {
            etag: hex(&md5),
            length: range.end - range.start,
            ..Default::default()
        };
        let target = self.part_path(&dir, input.part_number)?;
        self.publish(staged, &target, &meta).await?;
        Ok(UploadPartCopyOutput {
            copy_part_result: Some(CopyPartResult {
                e_tag: Some(ETag::Strong(meta.etag)),
                last_modified: Some(timestamp(now_millis())),
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    pub(super) async fn parts_of(&self, input: ListPartsInput) -> S3Result<ListPartsOutput> {
        let (dir, _) = self
            .upload(&input.bucket, &input.key, &input.upload_id)
            .await?;
        let max_parts = input.max_parts.unwrap_or(MAX_LISTED).clamp(0, MAX_LISTED);
        let marker = input.part_number_marker.unwrap_or(0);
        let stored = self.stored_parts(&dir).await?;
        let mut after = stored.range(marker.saturating_add(1)..);
        let parts: Vec<Part> = (&mut after)
            .take(max_parts as usize)
            .map(|(number, status)| Part {
                part_number: Some(*number),
                size: Some(i64::try_from(status.length).unwrap_or(i64::MAX)),
                e_tag: ObjectMeta::of(status).map(|m| ETag::Strong(m.etag)),
                last_modified: Some(timestamp(status.modification_time)),
                ..Default::default()
            })
            .collect();
        let truncated = after.next().is_some();
        let next = parts
            .last()
            .and_then(|p| p.part_number)
            .filter(|_| truncated);
        Ok(ListPartsOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(input.upload_id),
            max_parts: Some(max_parts),
            part_number_marker: input.part_number_marker,
            next_part_number_marker: next,
            is_truncated: Some(truncated),
            parts: Some(parts),
            ..Default::default()
        })
    }

    pub(super) async fn complete_upload(
        &self,
        input: CompleteMultipartUploadInput,
    ) -> S3Result<CompleteMultipartUploadOutput> {
        let (dir, record) = self
            .upload(&input.bucket, &input.key, &input.upload_id)
            .await?;
        let ObjectName::File(target) =
            s3_names::object_name(&input.bucket, &input.key).map_err(name_error)?
        else {
            return Err(s3_error!(InvalidArgument, "a folder key cannot hold bytes"));
        };
        let chosen = input
            .multipart_upload
            .and_then(|m| m.parts)
            .unwrap_or_default();
        if chosen.is_empty() {
            return Err(s3_error!(InvalidRequest, "name at least one part"));
        }
        let numbers: Vec<i32> = chosen.iter().map(|p| p.part_number.unwrap_or(0)).collect();
        if numbers.windows(2).any(|w| w[0] >= w[1]) {
            return Err(s3_error!(
                InvalidPartOrder,
                "parts must be listed in ascending order of number"
            ));
        }
        let stored = self.stored_parts(&dir).await?;
        let mut plan: Vec<(String, u64, Vec<u8>)> = Vec::with_capacity(chosen.len());
        for (i, (part, number)) in chosen.iter().zip(numbers).enumerate() {
            let status = stored
                .get(&number)
                .ok_or_else(|| s3_error!(InvalidPart, "part {number} was not uploaded"))?;
            let etag = ObjectMeta::of(status)
                .map(|m| m.etag)
                .ok_or_else(|| s3_error!(InvalidPart, "part {number} has no ETag"))?;
            if let Some(given) = &part.e_tag
                && given.value().trim_matches('"') != etag
            {
                return Err(s3_error!(
                    InvalidPart,
                    "part {number} has ETag {etag}, not {}",
                    given.value()
                ));
            }
            let last = i + 1 == chosen.len();
            if !last && status.length < MIN_PART_SIZE {
                return Err(s3_error!(
                    EntityTooSmall,
                    "part {number} is {} bytes; all parts but the last need at least {MIN_PART_SIZE}",
                    status.length
                ));
            }
            let md5 = bytes_from_hex(&etag)
                .ok_or_else(|| s3_error!(InvalidPart, "part {number} has no MD5 ETag"))?;
            plan.push((status.path.clone(), status.length, md5));
        }
        let mut etag_md5 = Md5::new();
        for (_, _, md5) in &plan {
            etag_md5.update(md5);
        }
        let meta = ObjectMeta {
            etag: format!("{}-{}", hex(&etag_md5.finalize()), plan.len()),
            length: plan.iter().map(|(_, length, _)| length).sum(),
            headers: record.headers,
            metadata: record.metadata,
        };
        // The parts become one file without a byte copied: their blocks move onto the first.
        let first = &plan[0].0;
        let rest: Vec<&str> = plan[1..].iter().map(|(path, _, _)| path.as_str()).collect();
        if !rest.is_empty() {
            self.fs.concat(first, &rest).await.map_err(s3_error)?;
        }
        self.install(first, &target, &meta).await?;
        if let Err(e) = self.fs.delete(&dir, true).await {
            tracing::warn!(upload = %dir, error = %e, "could not remove a completed upload");
        }
        Ok(CompleteMultipartUploadOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            e_tag: Some(ETag::Strong(meta.etag)),
            location: Some(target.to_string()),
            ..Default::default()
        })
    }

    pub(super) async fn abort_upload(
        &self,
        input: AbortMultipartUploadInput,
    ) -> S3Result<AbortMultipartUploadOutput> {
        let (dir, _) = self
            .upload(&input.bucket, &input.key, &input.upload_id)
            .await?;
        self.fs.delete(&dir, true).await.map_err(s3_error)?;
        Ok(AbortMultipartUploadOutput::default())
    }

    pub(super) async fn uploads_of(
        &self,
        input: ListMultipartUploadsInput,
    ) -> S3Result<ListMultipartUploadsOutput> {
        self.existing_bucket(&input.bucket).await?;
        let listed = self
            .fs
            .list_with_xattrs(&uploads_dir(&input.bucket), &[UPLOAD_XATTR.to_string()])
            .collect()
            .await;
        let entries = match listed {
            Ok(entries) => entries,
            Err(Error::NotFound { .. }) => Vec::new(),
            Err(e) => return Err(s3_error(e)),
        };
        let prefix = input.prefix.as_deref().unwrap_or_default();
        let mut uploads: Vec<(UploadRecord, String)> = entries
            .iter()
            .filter_map(|status| {
                let record: UploadRecord =
                    serde_json::from_slice(status.xattrs.get(UPLOAD_XATTR)?).ok()?;
                let id = status.path.rsplit('/').next()?.to_string();
                record.key.starts_with(prefix).then_some((record, id))
            })
            .collect();
        uploads
            .sort_by(|a, b| (&a.0.key, a.0.initiated, &a.1).cmp(&(&b.0.key, b.0.initiated, &b.1)));
        let key_marker = input.key_marker.as_deref().unwrap_or_default();
        let id_marker = input.upload_id_marker.as_deref();
        uploads.retain(|(record, id)| match id_marker {
            Some(marker) if record.key == key_marker => id.as_str() > marker,
            _ => record.key.as_str() > key_marker,
        });
        let max_uploads = input.max_uploads.unwrap_or(MAX_LISTED).clamp(0, MAX_LISTED);
        let truncated = uploads.len() > max_uploads as usize;
        uploads.truncate(max_uploads as usize);
        let next = uploads.last().filter(|_| truncated).cloned();
        let listed: Vec<MultipartUpload> = uploads
            .into_iter()
            .map(|(record, id)| MultipartUpload {
                key: Some(record.key),
                upload_id: Some(id),
                initiated: Some(timestamp(record.initiated)),
                ..Default::default()
            })
            .collect();
        Ok(ListMultipartUploadsOutput {
            bucket: Some(input.bucket),
            prefix: input.prefix,
            key_marker: input.key_marker,
            upload_id_marker: input.upload_id_marker,
            next_key_marker: next.as_ref().map(|(r, _)| r.key.clone()),
            next_upload_id_marker: next.map(|(_, id)| id),
            max_uploads: Some(max_uploads),
            is_truncated: Some(truncated),
            uploads: Some(listed),
            ..Default::default()
        })
    }
}

/// The range of an `x-amz-copy-source-range: bytes=first-last` header within `length` bytes.
fn copy_range(text: &str, length: u64) -> S3Result<std::ops::Range<u64>> {
    let invalid = || {
        s3_error!(
            InvalidArgument,
            "copy source range {text:?} is not bytes=first-last"
        )
    };
    let (first, last) = text
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .ok_or_else(invalid)?;
    let first: u64 = first.trim().parse().map_err(|_| invalid())?;
    let last: u64 = last.trim().parse().map_err(|_| invalid())?;
    if first > last || last >= length {
        return Err(s3_error!(
            InvalidRange,
            "copy source range {text:?} lies outside the object's {length} bytes"
        ));
    }
    Ok(first..last + 1)
}
