//! Helpers shared by the end-to-end tests.

use std::path::{Path, PathBuf};
use std::time::Duration;
use strata_client::{CreateOptions, FileSystem, FsckFile};
use strata_core::config::Config;
use strata_testkit::{ProcessCluster, ProcessClusterOptions, fast_config, wait_until};

/// The `strata` binary under test.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_strata"))
}

/// A process cluster with the fast test configuration, one worker per rack entry.
pub async fn cluster(racks: &[&str], tweak: impl FnOnce(&mut Config)) -> ProcessCluster {
    let mut config = fast_config();
    tweak(&mut config);
    ProcessCluster::start(&binary(), ProcessClusterOptions::new(config, racks)).await
}

/// Writes `data` to `path` with the given replication and block size.
pub async fn write(fs: &FileSystem, path: &str, data: &[u8], replication: u32, block_size: u64) {
    let options = CreateOptions {
        replication,
        block_size,
        create_parents: true,
        ..Default::default()
    };
    let mut w = fs
        .create(path, options)
        .await
        .unwrap_or_else(|e| panic!("create {path}: {e}"));
    for piece in data.chunks(300_000) {
        w.write(piece)
            .await
            .unwrap_or_else(|e| panic!("write {path}: {e}"));
    }
    w.close()
        .await
        .unwrap_or_else(|e| panic!("close {path}: {e}"));
}

/// Reads a whole file.
pub async fn read(fs: &FileSystem, path: &str) -> Vec<u8> {
    let mut r = fs
        .open(path)
        .await
        .unwrap_or_else(|e| panic!("open {path}: {e}"));
    r.read_to_end()
        .await
        .unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// Waits until fsck of `path` satisfies `check` for every file.
pub async fn wait_for_fsck(
    fs: &FileSystem,
    path: &str,
    what: &str,
    timeout: Duration,
    check: impl Fn(&FsckFile) -> bool,
) {
    wait_until(what, timeout, || {
        let fs = fs.clone();
        let check = &check;
        async move {
            match fs.fsck(path).await {
                Ok((files, _)) => !files.is_empty() && files.iter().all(check),
                Err(_) => false,
            }
        }
    })
    .await;
}

/// Whether every block of the file has exactly `replicas` live replicas, none of them on
/// `excluded` (a worker id) and none damaged.
pub fn fully_replicated(file: &FsckFile, replicas: usize, excluded: Option<&str>) -> bool {
    file.blocks.iter().all(|b| {
        b.live.len() == replicas
            && b.corrupt.is_empty()
            && excluded.is_none_or(|id| b.live.iter().all(|l| l.id != id))
    })
}

/// The block files (data, not meta) of block `id` under a worker's data directory.
pub fn block_files(worker_dir: &Path, id: u64) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![worker_dir.join("current")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if entry.file_name().to_str() == Some(&format!("blk_{id}")) {
                out.push(path);
            }
        }
    }
    out
}

/// Runs the CLI against a master and returns (exit code, stdout, stderr).
pub fn cli(master: &str, args: &[&str]) -> (i32, String, String) {
    let output = std::process::Command::new(binary())
        .arg("--master")
        .arg(master)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run strata {args:?}: {e}"));
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
