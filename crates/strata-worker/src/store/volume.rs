//! One directory of a storage tier: where its replica files live, the space it may take and
//! the bytes its replicas take now.

use super::layout::Layout;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use strata_core::Result;
use strata_core::tier::Medium;

/// A directory of a tier.
#[derive(Debug)]
pub struct Volume {
    /// The tier's medium.
    pub medium: Medium,
    /// The directory.
    pub dir: PathBuf,
    /// Where its replica files live.
    pub layout: Layout,
    /// Configured space; 0 means the free space of its file system.
    capacity: u64,
    used: AtomicU64,
}

impl Volume {
    /// Opens (creating its directories) a volume of `medium` at `dir`.
    pub fn open(medium: Medium, dir: &Path, capacity: u64) -> Result<Volume> {
        Ok(Volume {
            medium,
            dir: dir.to_path_buf(),
            layout: Layout::create(dir)?,
            capacity,
            used: AtomicU64::new(0),
        })
    }

    /// Bytes its replicas take.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// Counts `bytes` more.
    pub fn add_used(&self, bytes: u64) {
        self.used.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Counts `bytes` fewer.
    pub fn sub_used(&self, bytes: u64) {
        let _ = self
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                Some(u.saturating_sub(bytes))
            });
    }

    /// Its capacity (the configured one, else the size of its file system) and the bytes
    /// still free for blocks (never more than the file system has free).
    pub fn space(&self) -> (u64, u64) {
        let (disk_total, disk_free) = disk_space(&self.dir);
        let capacity = if self.capacity > 0 {
            self.capacity
        } else {
            disk_total
        };
        (
            capacity,
            capacity.saturating_sub(self.used()).min(disk_free),
        )
    }
}

/// The size and the free space of the file system holding `dir` (zeros when it cannot be
/// read, e.g. `dir` is missing).
pub fn disk_space(dir: &Path) -> (u64, u64) {
    match rustix::fs::statvfs(dir) {
        Ok(s) => (s.f_blocks * s.f_frsize, s.f_bavail * s.f_frsize),
        Err(_) => (0, 0),
    }
}
