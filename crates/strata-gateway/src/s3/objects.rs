//! Single objects: PUT (streamed into a staging file, published whole), GET with ranges and
//! conditions (streamed out), HEAD, DELETE of one or many keys, and server-side COPY.

use super::body::{hex, incoming_body, object_stream, stored_output};
use super::conditions::{Conditions, copy_source_conditions, request_conditions};
use super::errors::{body_error, name_error, s3_error};
use super::object_meta::{
    ContentHeaders, EMPTY_MD5, OBJECT_XATTR, ObjectMeta, content_headers, etag_of,
};
use super::{S3Gateway, timestamp};
use crate::s3_names::{self, ObjectName};
use s3s::crypto::{Checksum as _, Md5};
use s3s::dto::*;
use s3s::{S3Result, TrailingHeaders, s3_error};
use strata_client::{FileStatus, FileWriter, XAttrSetFlag, is_directory};
use strata_core::Error;
use tokio_stream::StreamExt;

impl S3Gateway {
    pub(super) async fn put(
        &self,
        input: PutObjectInput,
        trailers: Option<TrailingHeaders>,
    ) -> S3Result<PutObjectOutput> {
        self.existing_bucket(&input.bucket).await?;
        let name = s3_names::object_name(&input.bucket, &input.key).map_err(name_error)?;
        if input.if_match.is_some() || input.if_none_match.is_some() {
            let current = self.object_status(&input.bucket, &input.key).await.ok();
            let etag = current.as_ref().map(|(_, s)| etag_of(s));
            let exists_as = |c: &ETagCondition| match (c, &etag) {
                (ETagCondition::Any, Some(_)) => true,
                (ETagCondition::ETag(tag), Some(e)) => tag.strong_cmp(&ETag::Strong(e.clone())),
                (_, None) => false,
            };
            if input.if_none_match.as_ref().is_some_and(exists_as)
                || input.if_match.as_ref().is_some_and(|c| !exists_as(c))
            {
                return Err(s3_error!(PreconditionFailed));
            }
        }
        let headers = content_headers!(input);
        let metadata = input.metadata.unwrap_or_default().into_iter().collect();
        let path = match name {
            ObjectName::Directory(path) => {
                // Read the body even so: an empty one may still come as a chunked stream with
                // checksum trailers, and unread bytes would spoil the connection.
                let mut length = 0;
                if let Some(mut body) = input.body {
                    while let Some(chunk) = body.next().await {
                        length += chunk.map_err(body_error)?.len();
                    }
                }
                if length > 0 {
                    return Err(s3_error!(
                        UnexpectedContent,
                        "a key ending in '/' names a folder and cannot hold bytes"
                    ));
                }
                self.put_folder(&path, headers, metadata).await?;
                return Ok(PutObjectOutput {
                    e_tag: Some(ETag::Strong(EMPTY_MD5.to_string())),
                    ..Default::default()
                });
            }
            ObjectName::File(path) => path,
        };
        let (etag, sums) = self
            .store(incoming_body!(input, trailers), &path, headers, metadata)
            .await?;
        Ok(stored_output!(PutObjectOutput, etag, sums))
    }

    /// A key ending in `/`: the directory, marked as a folder object.
    async fn put_folder(
        &self,
        path: &strata_core::StrataPath,
        headers: ContentHeaders,
        metadata: std::collections::BTreeMap<String, String>,
    ) -> S3Result<()> {
        self.make_parents(path).await?;
        match self.fs.mkdirs(path.as_str(), false).await {
            Ok(()) | Err(Error::AlreadyExists { .. }) => {}
            Err(e) => return Err(s3_error(e)),
        }
        let status = self.fs.stat(path.as_str()).await.map_err(s3_error)?;
        if !is_directory(&status) {
            return Err(super::errors::key_conflict(format!(
                "{path} is an object, so it cannot also be a folder"
            )));
        }
        let meta = ObjectMeta {
            etag: EMPTY_MD5.to_string(),
            length: status.length,
            headers,
            metadata,
        };
        (self.fs)
            .set_xattr(
                path.as_str(),
                OBJECT_XATTR,
                &meta.encode(),
                XAttrSetFlag::CreateOrReplace,
            )
            .await
            .map_err(s3_error)
    }

    pub(super) async fn get(&self, input: GetObjectInput) -> S3Result<GetObjectOutput> {
        let (name, status) = self.object_status(&input.bucket, &input.key).await?;
        let etag = etag_of(&status);
        request_conditions!(input).check(&etag, status.modification_time)?;
        let length = status.length;
        let (range, content_range) = match &input.range {
            None => (0..length, None),
            Some(range) => {
                let r = range.check(length).map_err(|_| {
                    s3_error!(
                        InvalidRange,
                        "the range asked for lies outside the object's {length} bytes"
                    )
                })?;
                let header = format!("bytes {}-{}/{length}", r.start, r.end - 1);
                (r, Some(header))
            }
        };
        let body = if range.is_empty() {
            None
        } else {
            let path = name.path().to_string();
            let mut reader = self.fs.open(&path).await.map_err(s3_error)?;
            reader.seek(range.start).map_err(s3_error)?;
            Some(object_stream(path, reader, range.end - range.start))
        };
        let meta = ObjectMeta::of(&status).unwrap_or_default();
        let headers = meta.headers;
        Ok(GetObjectOutput {
            body,
            content_length: Some(i64::try_from(range.end - range.start).unwrap_or(i64::MAX)),
            content_range,
            accept_ranges: Some("bytes".to_string()),
            last_modified: Some(timestamp(status.modification_time)),
            e_tag: Some(ETag::Strong(etag)),
            content_type: input.response_content_type.or(headers.content_type),
            content_encoding: input.response_content_encoding.or(headers.content_encoding),
            content_disposition: (input.response_content_disposition)
                .or(headers.content_disposition),
            content_language: input.response_content_language.or(headers.content_language),
            cache_control: input.response_cache_control.or(headers.cache_control),
            metadata: (!meta.metadata.is_empty()).then(|| meta.metadata.into_iter().collect()),
            ..Default::default()
        })
    }

    pub(super) async fn head(&self, input: HeadObjectInput) -> S3Result<HeadObjectOutput> {
        let (_, status) = self.object_status(&input.bucket, &input.key).await?;
        let etag = etag_of(&status);
        request_conditions!(input).check(&etag, status.modification_time)?;
        let meta = ObjectMeta::of(&status).unwrap_or_default();
        let headers = meta.headers;
        Ok(HeadObjectOutput {
            content_length: Some(i64::try_from(status.length).unwrap_or(i64::MAX)),
            accept_ranges: Some("bytes".to_string()),
            last_modified: Some(timestamp(status.modification_time)),
            e_tag: Some(ETag::Strong(etag)),
            content_type: headers.content_type,
            content_encoding: headers.content_encoding,
            content_disposition: headers.content_disposition,
            content_language: headers.content_language,
            cache_control: headers.cache_control,
            metadata: (!meta.metadata.is_empty()).then(|| meta.metadata.into_iter().collect()),
            ..Default::default()
        })
    }

    /// Deletes one key; a key that is not there is no error (as in S3).
    pub(super) async fn delete_key(&self, bucket: &str, key: &str) -> S3Result<()> {
        let (name, status) = match self.object_status(bucket, key).await {
            Ok(found) => found,
            Err(e) if *e.code() == s3s::S3ErrorCode::NoSuchKey => return Ok(()),
            Err(e) => return Err(e),
        };
        let path = name.path();
        match name {
            ObjectName::File(_) => {
                self.fs
                    .delete(path.as_str(), false)
                    .await
                    .map_err(s3_error)?;
            }
            ObjectName::Directory(_) if status.children == 0 => {
                match self.fs.delete(path.as_str(), false).await {
                    Ok(_) | Err(Error::DirectoryNotEmpty { .. }) => {}
                    Err(e) => return Err(s3_error(e)),
                }
            }
            ObjectName::Directory(_) => {
                // Keys beneath remain: the folder object goes, the directory stays for them.
                if status.xattrs.contains_key(OBJECT_XATTR) {
                    self.fs
                        .remove_xattr(path.as_str(), OBJECT_XATTR)
                        .await
                        .map_err(s3_error)?;
                }
                return Ok(());
            }
        }
        self.prune_empty_parents(path).await;
        Ok(())
    }

    pub(super) async fn delete_many(
        &self,
        input: DeleteObjectsInput,
    ) -> S3Result<DeleteObjectsOutput> {
        self.existing_bucket(&input.bucket).await?;
        let quiet = input.delete.quiet.unwrap_or(false);
        let mut deleted = Vec::new();
        let mut errors = Vec::new();
        for object in input.delete.objects {
            match self.delete_key(&input.bucket, &object.key).await {
                Ok(()) if quiet => {}
                Ok(()) => deleted.push(DeletedObject {
                    key: Some(object.key),
                    ..Default::default()
                }),
                Err(e) => errors.push(s3s::dto::Error {
                    code: Some(e.code().as_str().to_string()),
                    message: e.message().map(str::to_string),
                    key: Some(object.key),
                    version_id: None,
                }),
            }
        }
        Ok(DeleteObjectsOutput {
            deleted: Some(deleted),
            errors: (!errors.is_empty()).then_some(errors),
            ..Default::default()
        })
    }

    /// The object a copy reads: its status, after the copy-source conditions.
    pub(super) async fn copy_source(
        &self,
        source: &CopySource,
        conditions: Conditions<'_>,
    ) -> S3Result<(String, FileStatus)> {
        let CopySource::Bucket { bucket, key, .. } = source else {
            return Err(s3_error!(NotImplemented, "copy sources must be bucket/key"));
        };
        let (name, status) = self.object_status(bucket, key).await?;
        if is_directory(&status) {
            return Err(s3_error!(InvalidRequest, "a folder cannot be copied"));
        }
        // A failed copy-source condition is a 412, never a 304.
        conditions
            .check(&etag_of(&status), status.modification_time)
            .map_err(|mut e| {
                e.set_code(s3s::S3ErrorCode::PreconditionFailed);
                e.set_status_code(hyper::StatusCode::PRECONDITION_FAILED);
                e
            })?;
        Ok((name.path().to_string(), status))
    }

    pub(super) async fn copy(&self, input: CopyObjectInput) -> S3Result<CopyObjectOutput> {
        let (source, status) = self
            .copy_source(&input.copy_source, copy_source_conditions!(input))
            .await?;
        self.existing_bucket(&input.bucket).await?;
        let ObjectName::File(target) =
            s3_names::object_name(&input.bucket, &input.key).map_err(name_error)?
        else {
            return Err(s3_error!(InvalidRequest, "cannot copy onto a folder key"));
        };
        let stored = ObjectMeta::of(&status);
        let replace = input
            .metadata_directive
            .as_ref()
            .is_some_and(|d| d.as_str() == MetadataDirective::REPLACE);
        let (headers, metadata) = if replace {
            let headers = content_headers!(input);
            (
                headers,
                input.metadata.unwrap_or_default().into_iter().collect(),
            )
        } else {
            let meta = stored.clone().unwrap_or_default();
            (meta.headers, meta.metadata)
        };
        let mut staged = self.stage().await?;
        let md5 = match self
            .copy_bytes(&source, 0..status.length, &mut staged.writer)
            .await
        {
            Ok(md5) => md5,
            Err(e) => {
                self.discard(staged).await;
                return Err(e);
            }
        };
        let meta = ObjectMeta {
            etag: stored.map_or_else(|| hex(&md5), |m| m.etag),
            length: status.length,
            headers,
            metadata,
        };
        self.publish(staged, &target, &meta).await?;
        Ok(CopyObjectOutput {
            copy_object_result: Some(CopyObjectResult {
                e_tag: Some(ETag::Strong(meta.etag)),
                last_modified: Some(timestamp(strata_core::now_millis())),
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    /// Copies `range` of the file `source` into `writer`; the MD5 of the bytes.
    pub(super) async fn copy_bytes(
        &self,
        source: &str,
        range: std::ops::Range<u64>,
        writer: &mut FileWriter,
    ) -> S3Result<[u8; 16]> {
        let mut md5 = Md5::new();
        let mut reader = self.fs.open(source).await.map_err(s3_error)?;
        reader.seek(range.start).map_err(s3_error)?;
        let mut remaining = range.end - range.start;
        while remaining > 0 {
            let Some(mut chunk) = reader.next_chunk().await.map_err(s3_error)? else {
                return Err(s3_error(Error::Io(format!(
                    "{source} ended {remaining} bytes early"
                ))));
            };
            chunk.truncate(usize::try_from(remaining).unwrap_or(usize::MAX));
            remaining -= chunk.len() as u64;
            md5.update(&chunk);
            writer.write(&chunk).await.map_err(s3_error)?;
        }
        Ok(md5.finalize())
    }
}
