//! MEM-tier directories belong to a data directory. A MEM tier lives on a tmpfs, outside the
//! worker's data directory, so nothing removes it when that data directory goes: every worker
//! started on a fresh data directory would leave RAM taken for good. Each MEM-tier directory
//! therefore holds an owner marker naming its worker's data directory (and saying when the
//! worker was decommissioned), locked while the worker runs. A sweep of a tmpfs removes the
//! `strata-*` directories that nobody holds and whose owner is gone: its data directory no
//! longer exists or no longer holds that worker, or the worker was decommissioned.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use strata_core::{Error, Result};

/// The marker's name inside a MEM-tier directory.
pub const OWNER_MARKER: &str = "strata-owner";
/// The prefix of the default layout's MEM-tier directories (`strata-<worker id>`).
pub const DIR_PREFIX: &str = "strata-";
/// The second line of a marker whose worker was decommissioned.
const DECOMMISSIONED: &str = "decommissioned";

/// A MEM-tier directory claimed by a running worker: the marker stays locked until dropped.
#[derive(Debug)]
pub struct ClaimedDir {
    dir: PathBuf,
    data_dir: PathBuf,
    marker: File,
}

impl ClaimedDir {
    /// Creates `dir` if needed and marks it as the MEM tier of the worker in `data_dir`
    /// (absolute), locking the marker for as long as the claim lives.
    pub fn claim(dir: &Path, data_dir: &Path) -> Result<ClaimedDir> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let data_dir = std::path::absolute(data_dir)
            .map_err(|e| Error::io(format!("resolving {}", data_dir.display()), e))?;
        let path = dir.join(OWNER_MARKER);
        let marker = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        rustix::fs::flock(
            &marker,
            rustix::fs::FlockOperation::NonBlockingLockExclusive,
        )
        .map_err(|e| {
            Error::io(
                format!("{} is in use by another running worker", dir.display()),
                e.into(),
            )
        })?;
        let claimed = ClaimedDir {
            dir: dir.to_path_buf(),
            data_dir,
            marker,
        };
        claimed.write_marker(false)?;
        Ok(claimed)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Records whether the worker is decommissioned, so a sweep after it stops (even by
    /// kill -9) removes the directory.
    pub fn set_decommissioned(&self, decommissioned: bool) -> Result<()> {
        self.write_marker(decommissioned)
    }

    /// Removes the directory with everything in it (a decommissioned worker stopping).
    pub fn remove(self) -> Result<()> {
        std::fs::remove_dir_all(&self.dir)
            .map_err(|e| Error::io(format!("removing {}", self.dir.display()), e))
    }

    fn write_marker(&self, decommissioned: bool) -> Result<()> {
        let mut text = self.data_dir.as_os_str().as_bytes().to_vec();
        text.push(b'\n');
        if decommissioned {
            text.extend_from_slice(DECOMMISSIONED.as_bytes());
            text.push(b'\n');
        }
        let mut file = &self.marker;
        file.set_len(0)
            .and_then(|()| std::os::unix::fs::FileExt::write_all_at(file, &text, 0))
            .and_then(|()| file.flush())
            .map_err(|e| {
                Error::io(
                    format!("writing the owner marker in {}", self.dir.display()),
                    e,
                )
            })
    }
}

/// A directory a sweep removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Swept {
    /// The directory.
    pub dir: PathBuf,
    /// The bytes its files took.
    pub bytes: u64,
}

/// Which unheld directories without a marker a sweep removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unmarked {
    /// Keep them (they may be MEM tiers of workers that ran before markers existed).
    Keep,
    /// Remove them too: `strata local` cleaning what its earlier runs left.
    Remove,
}

/// Removes the `strata-*` directories in `memory_dir` that no running worker holds and whose
/// owner is gone; returns what it removed. Failures to remove one are logged and skipped.
pub fn sweep(memory_dir: &Path, unmarked: Unmarked) -> Vec<Swept> {
    let Ok(entries) = std::fs::read_dir(memory_dir) else {
        return Vec::new();
    };
    let mut swept = Vec::new();
    for entry in entries.flatten() {
        let dir = entry.path();
        let named = entry
            .file_name()
            .as_bytes()
            .starts_with(DIR_PREFIX.as_bytes());
        if !named || !entry.file_type().is_ok_and(|t| t.is_dir()) || !orphaned(&dir, unmarked) {
            continue;
        }
        let bytes = bytes_beneath(&dir);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => swept.push(Swept { dir, bytes }),
            Err(e) => tracing::warn!(dir = %dir.display(), error = %e,
                "could not remove a MEM-tier directory left by a worker that is gone"),
        }
    }
    swept
}

/// Whether `dir` is a MEM tier nobody holds whose worker is gone.
fn orphaned(dir: &Path, unmarked: Unmarked) -> bool {
    let path = dir.join(OWNER_MARKER);
    let Ok(marker) = File::open(&path) else {
        return unmarked == Unmarked::Remove;
    };
    if rustix::fs::flock(&marker, rustix::fs::FlockOperation::NonBlockingLockShared).is_err() {
        return false;
    }
    let Ok(text) = std::fs::read(&path) else {
        return false;
    };
    let mut lines = text.split(|b| *b == b'\n');
    let data_dir = Path::new(std::ffi::OsStr::from_bytes(
        lines.next().unwrap_or_default(),
    ));
    if lines.next() == Some(DECOMMISSIONED.as_bytes()) {
        return true;
    }
    let worker_id = dir
        .file_name()
        .map(|n| n.as_bytes())
        .and_then(|n| n.strip_prefix(DIR_PREFIX.as_bytes()))
        .unwrap_or_default();
    match std::fs::read(data_dir.join("worker_id")) {
        Ok(id) => id.trim_ascii() != worker_id,
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

/// The bytes of the regular files beneath `dir`.
fn bytes_beneath(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => bytes_beneath(&e.path()),
            Ok(_) => e.metadata().map_or(0, |m| m.len()),
            Err(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A data directory holding a worker with `id`, and the tmpfs stand-in.
    fn worker(root: &Path, name: &str, id: &str) -> (PathBuf, PathBuf) {
        let data = root.join(name);
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("worker_id"), id).unwrap();
        (data, root.join("shm").join(format!("{DIR_PREFIX}{id}")))
    }

    #[test]
    fn a_held_directory_stays_and_a_gone_data_directory_frees_it() {
        let root = tempfile::tempdir().unwrap();
        let shm = root.path().join("shm");
        let (data, mem) = worker(root.path(), "w1", "worker-1");
        let claim = ClaimedDir::claim(&mem, &data).unwrap();
        std::fs::write(mem.join("blk"), vec![0u8; 4096]).unwrap();
        std::fs::remove_dir_all(&data).unwrap();
        assert!(
            sweep(&shm, Unmarked::Remove).is_empty(),
            "held while running"
        );
        drop(claim);
        let swept = sweep(&shm, Unmarked::Keep);
        assert_eq!(swept.len(), 1);
        assert_eq!(swept[0].dir, mem);
        assert!(swept[0].bytes >= 4096);
        assert!(!mem.exists());
    }

    #[test]
    fn a_stopped_worker_keeps_its_memory_until_its_data_directory_is_reused() {
        let root = tempfile::tempdir().unwrap();
        let shm = root.path().join("shm");
        let (data, mem) = worker(root.path(), "w1", "worker-1");
        drop(ClaimedDir::claim(&mem, &data).unwrap());
        assert!(
            sweep(&shm, Unmarked::Remove).is_empty(),
            "its worker may start again"
        );
        std::fs::write(data.join("worker_id"), "worker-2").unwrap();
        assert_eq!(
            sweep(&shm, Unmarked::Keep).len(),
            1,
            "another worker lives there now"
        );
    }

    #[test]
    fn a_decommissioned_worker_is_swept_and_unmarked_directories_only_when_asked() {
        let root = tempfile::tempdir().unwrap();
        let shm = root.path().join("shm");
        let (data, mem) = worker(root.path(), "w1", "worker-1");
        let claim = ClaimedDir::claim(&mem, &data).unwrap();
        claim.set_decommissioned(true).unwrap();
        drop(claim);
        let legacy = shm.join("strata-worker-legacy");
        std::fs::create_dir_all(legacy.join("current")).unwrap();
        let unrelated = shm.join("other-program");
        std::fs::create_dir_all(&unrelated).unwrap();
        let kept: Vec<PathBuf> = sweep(&shm, Unmarked::Keep)
            .into_iter()
            .map(|s| s.dir)
            .collect();
        assert_eq!(kept, vec![mem]);
        assert!(legacy.exists());
        let removed: Vec<PathBuf> = sweep(&shm, Unmarked::Remove)
            .into_iter()
            .map(|s| s.dir)
            .collect();
        assert_eq!(removed, vec![legacy]);
        assert!(unrelated.exists(), "only strata-* directories are swept");
    }

    #[test]
    fn a_second_claim_of_a_held_directory_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let (data, mem) = worker(root.path(), "w1", "worker-1");
        let _held = ClaimedDir::claim(&mem, &data).unwrap();
        assert!(ClaimedDir::claim(&mem, &data).is_err());
    }
}
