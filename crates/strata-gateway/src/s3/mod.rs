//! The S3 face: [`S3Gateway`] answers the S3 REST API (through the `s3s` crate) on a Strata
//! cluster. Buckets are top-level directories and keys are paths beneath them (see
//! [`crate::s3_names`]); an object is written under a staging name and renamed into place when
//! whole, so readers see the old bytes or the new, never a part. ETags and content headers
//! live in an extended attribute of the file ([`object_meta`]).

mod body;
mod buckets;
mod conditions;
mod errors;
mod listing;
mod multipart;
pub mod object_meta;
mod objects;
mod staging;

use crate::s3_names::{self, ObjectName};
use errors::{name_error, s3_error};
use object_meta::OBJECT_XATTR;
use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};
use std::time::{Duration, SystemTime};
use strata_client::{FileStatus, FileSystem, is_directory};
use strata_core::{Error, StrataPath};

pub use errors::KEY_CONFLICT;

/// Where the S3 face keeps objects being written and multipart uploads: a top-level directory
/// whose name is no valid bucket name, so it never lists as a bucket.
pub const SYSTEM_DIR: &str = "/.strata-s3";

/// The S3 API over one connection to a cluster; every request acts as that connection's user.
#[derive(Debug, Clone)]
pub struct S3Gateway {
    fs: FileSystem,
}

impl S3Gateway {
    /// A gateway over `fs`.
    pub fn new(fs: FileSystem) -> S3Gateway {
        S3Gateway { fs }
    }

    /// The directory of `bucket`, which must exist.
    async fn existing_bucket(&self, bucket: &str) -> S3Result<StrataPath> {
        let path = s3_names::bucket_path(bucket).map_err(name_error)?;
        match self.fs.try_stat(path.as_str()).await.map_err(s3_error)? {
            Some(status) if is_directory(&status) => Ok(path),
            _ => Err(s3_error!(NoSuchBucket, "no bucket {bucket}")),
        }
    }

    /// The status (with its S3 metadata) of the object `key` of `bucket`: a file, or for a
    /// key ending in `/` a directory. `NoSuchKey` or `NoSuchBucket` when it is not there.
    async fn object_status(&self, bucket: &str, key: &str) -> S3Result<(ObjectName, FileStatus)> {
        let name = s3_names::object_name(bucket, key).map_err(name_error)?;
        let found = self
            .fs
            .try_stat_with_xattrs(name.path().as_str(), &[OBJECT_XATTR.to_string()])
            .await;
        let status = match found {
            Ok(status) => status,
            Err(Error::NotADirectory { .. } | Error::NotFound { .. }) => None,
            Err(e) => return Err(s3_error(e)),
        };
        match status {
            Some(status) if is_directory(&status) == matches!(name, ObjectName::Directory(_)) => {
                Ok((name, status))
            }
            _ => {
                self.existing_bucket(bucket).await?;
                Err(s3_error!(NoSuchKey, "no key {key} in bucket {bucket}"))
            }
        }
    }
}

/// A time in ms since the epoch as an S3 timestamp.
fn timestamp(millis: i64) -> Timestamp {
    let since_epoch = Duration::from_millis(u64::try_from(millis).unwrap_or(0));
    Timestamp::from(SystemTime::UNIX_EPOCH + since_epoch)
}

/// A time in ms since the epoch from an S3 timestamp.
fn millis(time: &Timestamp) -> i64 {
    let mut text = Vec::new();
    let seconds = time
        .format(TimestampFormat::EpochSeconds, &mut text)
        .ok()
        .and_then(|()| String::from_utf8(text).ok())
        .and_then(|t| t.parse::<f64>().ok())
        .unwrap_or(0.0);
    (seconds * 1000.0) as i64
}

#[async_trait::async_trait]
impl S3 for S3Gateway {
    async fn list_buckets(
        &self,
        _req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        self.list_all_buckets().await.map(S3Response::new)
    }

    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        self.create_bucket_dir(&req.input.bucket)
            .await
            .map(S3Response::new)
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.existing_bucket(&req.input.bucket).await?;
        Ok(S3Response::new(HeadBucketOutput::default()))
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.existing_bucket(&req.input.bucket).await?;
        Ok(S3Response::new(GetBucketLocationOutput::default()))
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.delete_bucket_dir(&req.input.bucket)
            .await
            .map(S3Response::new)
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let trailers = req.trailing_headers.clone();
        self.put(req.input, trailers).await.map(S3Response::new)
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        self.get(req.input).await.map(S3Response::new)
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        self.head(req.input).await.map(S3Response::new)
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let input = req.input;
        self.existing_bucket(&input.bucket).await?;
        self.delete_key(&input.bucket, &input.key).await?;
        Ok(S3Response::new(DeleteObjectOutput::default()))
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        self.delete_many(req.input).await.map(S3Response::new)
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        self.copy(req.input).await.map(S3Response::new)
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        self.list_v2(req.input).await.map(S3Response::new)
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        self.list_v1(req.input).await.map(S3Response::new)
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.create_upload(req.input).await.map(S3Response::new)
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        let trailers = req.trailing_headers.clone();
        self.put_part(req.input, trailers)
            .await
            .map(S3Response::new)
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        self.copy_part(req.input).await.map(S3Response::new)
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        self.parts_of(req.input).await.map(S3Response::new)
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        self.complete_upload(req.input).await.map(S3Response::new)
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.abort_upload(req.input).await.map(S3Response::new)
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        self.uploads_of(req.input).await.map(S3Response::new)
    }
}
