//! Buckets: the top-level directories whose names follow S3's bucket rules.

use super::errors::{name_error, s3_error};
use super::multipart::uploads_dir;
use super::{S3Gateway, timestamp};
use crate::s3_names;
use s3s::dto::*;
use s3s::{S3Result, s3_error};
use strata_client::is_directory;
use strata_core::Error;

impl S3Gateway {
    pub(super) async fn list_all_buckets(&self) -> S3Result<ListBucketsOutput> {
        let entries = self.fs.list("/").collect().await.map_err(s3_error)?;
        let buckets = entries
            .iter()
            .filter(|status| is_directory(status))
            .filter_map(|status| {
                let name = status.path.trim_start_matches('/');
                s3_names::bucket_path(name).ok()?;
                Some(Bucket {
                    name: Some(name.to_string()),
                    creation_date: Some(timestamp(status.creation_time)),
                    bucket_region: None,
                })
            })
            .collect();
        Ok(ListBucketsOutput {
            buckets: Some(buckets),
            ..Default::default()
        })
    }

    pub(super) async fn create_bucket_dir(&self, bucket: &str) -> S3Result<CreateBucketOutput> {
        let path = s3_names::bucket_path(bucket).map_err(name_error)?;
        match self.fs.mkdirs(path.as_str(), false).await {
            Ok(()) => Ok(CreateBucketOutput {
                location: Some(path.to_string()),
            }),
            Err(Error::AlreadyExists { .. }) => Err(s3_error!(
                BucketAlreadyOwnedByYou,
                "bucket {bucket} exists already"
            )),
            Err(e) => Err(s3_error(e)),
        }
    }

    /// Deletes an empty bucket, aborting the multipart uploads still open in it.
    pub(super) async fn delete_bucket_dir(&self, bucket: &str) -> S3Result<DeleteBucketOutput> {
        let path = self.existing_bucket(bucket).await?;
        let (entries, _) = (self.fs.list_page(path.as_str(), "", 1).await).map_err(s3_error)?;
        if !entries.is_empty() {
            return Err(s3_error!(BucketNotEmpty, "bucket {bucket} holds objects"));
        }
        (self.fs.delete(&uploads_dir(bucket), true).await).map_err(s3_error)?;
        match self.fs.delete(path.as_str(), false).await {
            Ok(_) => Ok(DeleteBucketOutput {}),
            Err(Error::DirectoryNotEmpty { .. }) => {
                Err(s3_error!(BucketNotEmpty, "bucket {bucket} holds objects"))
            }
            Err(e) => Err(s3_error(e)),
        }
    }
}
