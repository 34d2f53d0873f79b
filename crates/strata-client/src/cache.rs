//! The cache face of [`FileSystem`]: mounting under storage (a local directory, an S3 bucket)
//! on a Strata directory, listing mounts, listing a mounted path there again, and moving files
//! into, out of and through the cache (persist, pin, free, time to live).

use crate::call;
use crate::filesystem::FileSystem;
use std::collections::BTreeMap;
use std::time::Duration;
use strata_core::ttl::TtlAction;
use strata_core::{Error, Result, StrataPath};
use strata_proto::rpc::{
    Empty, FreeRequest, FreeResponse, MountInfo, MountRequest, PersistRequest, PersistResponse,
    SetPinnedRequest, SetTtlRequest, SyncMetadataRequest, SyncMetadataResponse, UnmountRequest,
};

/// How a mount behaves.
#[derive(Debug, Clone)]
pub struct MountOptions {
    /// Options of the under storage (`endpoint`, `region`, `access_key_id`, ...).
    pub options: BTreeMap<String, String>,
    /// How long listed metadata is trusted before the under storage is listed again; `None`:
    /// listed once, then only by `sync`.
    pub sync_interval: Option<Duration>,
    /// MUST_CACHE, CACHE_THROUGH, THROUGH or ASYNC_THROUGH (empty: CACHE_THROUGH).
    pub write_type: String,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            options: BTreeMap::new(),
            sync_interval: Some(Duration::from_secs(60)),
            write_type: String::new(),
        }
    }
}

impl FileSystem {
    /// Mounts the under storage at `uri` (`file:///abs/dir`, `s3://bucket/prefix`) on `path`,
    /// a directory the mount creates.
    pub async fn mount(&self, path: &str, uri: &str, options: MountOptions) -> Result<()> {
        let request = MountRequest {
            path: StrataPath::parse(path)?.to_string(),
            uri: uri.to_string(),
            options: options.options.into_iter().collect(),
            sync_interval_ms: options
                .sync_interval
                .map_or(-1, |d| d.as_millis().min(i64::MAX as u128) as i64),
            write_type: options.write_type,
            user: self.user().to_string(),
        };
        call!(self.inner().master, client, mount(request)).map(|_| ())
    }

    /// Removes the mount at `path` and everything Strata holds beneath it (the under storage
    /// keeps its data).
    pub async fn unmount(&self, path: &str) -> Result<()> {
        let request = UnmountRequest {
            path: StrataPath::parse(path)?.to_string(),
        };
        call!(self.inner().master, client, unmount(request)).map(|_| ())
    }

    /// Every mount (secret option values masked).
    pub async fn mounts(&self) -> Result<Vec<MountInfo>> {
        call!(self.inner().master, client, list_mounts(Empty {})).map(|r| r.mounts)
    }

    /// Copies the files at or beneath `path` (under a mount) into the under storage now.
    pub async fn persist(&self, path: &str) -> Result<PersistResponse> {
        let request = PersistRequest {
            path: StrataPath::parse(path)?.to_string(),
        };
        call!(self.inner().master, client, persist(request))
    }

    /// Pins (or unpins) a file or directory: cached blocks of pinned files are never dropped
    /// to make room.
    pub async fn set_pinned(&self, path: &str, pinned: bool) -> Result<()> {
        let request = SetPinnedRequest {
            path: StrataPath::parse(path)?.to_string(),
            pinned,
        };
        call!(self.inner().master, client, set_pinned(request)).map(|_| ())
    }

    /// Drops the cached copies of persisted, unpinned files at or beneath `path`.
    pub async fn free(&self, path: &str) -> Result<FreeResponse> {
        let request = FreeRequest {
            path: StrataPath::parse(path)?.to_string(),
        };
        call!(self.inner().master, client, free(request))
    }

    /// Gives a file or directory a time to live, counted from its creation: once it is older,
    /// the master frees or deletes it. `None` removes the TTL.
    pub async fn set_ttl(&self, path: &str, ttl: Option<(Duration, TtlAction)>) -> Result<()> {
        let (ttl_ms, action) = match ttl {
            Some((duration, action)) => {
                let ms = i64::try_from(duration.as_millis())
                    .ok()
                    .filter(|&ms| ms > 0)
                    .ok_or_else(|| {
                        Error::InvalidArgument(format!(
                            "a time to live of {duration:?} is not between 1 ms and i64::MAX ms"
                        ))
                    })?;
                (ms, action.to_string())
            }
            None => (0, String::new()),
        };
        let request = SetTtlRequest {
            path: StrataPath::parse(path)?.to_string(),
            ttl_ms,
            action,
        };
        call!(self.inner().master, client, set_ttl(request)).map(|_| ())
    }

    /// Lists `path` in its under storage again (a directory with every loaded directory
    /// beneath it, or a file), whatever the sync interval says.
    pub async fn sync_metadata(&self, path: &str) -> Result<SyncMetadataResponse> {
        let request = SyncMetadataRequest {
            path: StrataPath::parse(path)?.to_string(),
        };
        call!(self.inner().master, client, sync_metadata(request))
    }
}
