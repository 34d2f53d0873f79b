//! The master's side of its mounts' under storage: one open handle per mount, and when each
//! mounted directory was last listed there (soft state: after a restart every directory is
//! listed again on first use).

use crate::namespace::Mount;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use strata_core::{Result, StrataPath};
use strata_ufs::UnderStorage;

/// Open under storages and listing times.
#[derive(Debug, Default)]
pub struct UnderStorages {
    handles: Mutex<HashMap<String, (String, Arc<UnderStorage>)>>,
    listed: Mutex<HashMap<String, Instant>>,
}

impl UnderStorages {
    /// The under storage of `mount`, opened on first use.
    pub fn handle(&self, mount: &Mount) -> Result<Arc<UnderStorage>> {
        let mut handles = self.handles.lock();
        if let Some((uri, handle)) = handles.get(&mount.path)
            && *uri == mount.uri
        {
            return Ok(handle.clone());
        }
        let handle = Arc::new(UnderStorage::open(&mount.uri, &mount.options)?);
        handles.insert(mount.path.clone(), (mount.uri.clone(), handle.clone()));
        Ok(handle)
    }

    /// Whether directory `dir` of `mount` was listed less than its sync interval ago (a
    /// negative interval: listed at all).
    pub fn is_fresh(&self, mount: &Mount, dir: &StrataPath) -> bool {
        let listed = self.listed.lock();
        let Some(at) = listed.get(dir.as_str()) else {
            return false;
        };
        mount.sync_interval_ms < 0
            || at.elapsed() < Duration::from_millis(mount.sync_interval_ms as u64)
    }

    /// Records that `dir` was listed as of `at`.
    pub fn listed(&self, dir: &StrataPath, at: Instant) {
        self.listed.lock().insert(dir.to_string(), at);
    }

    /// Forgets everything about `mount_point` and beneath it (after an unmount).
    pub fn forget(&self, mount_point: &StrataPath) {
        self.handles.lock().remove(mount_point.as_str());
        self.listed.lock().retain(|dir, _| {
            StrataPath::parse(dir).is_ok_and(|d| &d != mount_point && !d.is_within(mount_point))
        });
    }
}
