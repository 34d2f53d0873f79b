//! Loading the replicas found on disk at start-up, repairing what a crash can leave behind.
//!
//! A finalized replica whose data and meta files disagree is damaged and removed (the master
//! re-replicates it). A replica being written keeps the longest prefix whose checksums hold:
//! data is written before its checksums, so a crash can leave data the meta file does not
//! cover, or a last chunk whose stored checksum describes a shorter prefix.

use super::layout::{Layout, ReplicaState, chunks_for, meta_len, parse_name, read_meta_header};
use super::{ReplicaInfo, truncate_files};
use std::collections::HashMap;
use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use strata_core::checksum::crc32c;
use strata_core::tier::Medium;
use strata_core::{BlockId, Error, Result};

/// Every usable replica under `layout` (the layout of volume number `volume`, of tier
/// `medium`).
pub fn load_replicas(
    layout: &Layout,
    volume: usize,
    medium: Medium,
    chunk_size: u32,
) -> Result<Vec<ReplicaInfo>> {
    let mut out = Vec::new();
    let found = Found {
        volume,
        medium,
        chunk_size,
    };
    load_dir(
        &layout.rbw_dir(),
        ReplicaState::BeingWritten,
        &found,
        &mut out,
    )?;
    let root = layout.finalized_root();
    let subdirs = std::fs::read_dir(&root)
        .map_err(|e| Error::io(format!("listing {}", root.display()), e))?;
    for sub in subdirs.flatten() {
        if sub.path().is_dir() {
            load_dir(&sub.path(), ReplicaState::Finalized, &found, &mut out)?;
        }
    }
    // The same block in both places (crash while finalizing): keep the finalized one.
    let mut by_id: HashMap<BlockId, ReplicaInfo> = HashMap::new();
    for info in out {
        match by_id.get(&info.id) {
            Some(existing) if existing.state == ReplicaState::Finalized => {
                remove(&layout.data_path(info.id, info.state));
                remove(&layout.meta_path(info.id, info.generation, info.state));
            }
            _ => {
                by_id.insert(info.id, info);
            }
        }
    }
    Ok(by_id.into_values().collect())
}

/// Where the replicas being loaded are.
struct Found {
    volume: usize,
    medium: Medium,
    chunk_size: u32,
}

fn load_dir(
    dir: &Path,
    state: ReplicaState,
    found: &Found,
    out: &mut Vec<ReplicaInfo>,
) -> Result<()> {
    let chunk_size = found.chunk_size;
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
    let mut data: HashMap<BlockId, PathBuf> = HashMap::new();
    let mut metas: HashMap<BlockId, Vec<(u64, PathBuf)>> = HashMap::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        match name.to_str().and_then(parse_name) {
            Some((id, None)) => {
                data.insert(id, entry.path());
            }
            Some((id, Some(generation))) => metas
                .entry(id)
                .or_default()
                .push((generation, entry.path())),
            None => {
                tracing::warn!(path = %entry.path().display(), "removing a stray file from the block store");
                remove(&entry.path());
            }
        }
    }
    for (id, mut candidates) in metas {
        candidates.sort();
        let Some((generation, meta_path)) = candidates.pop() else {
            continue;
        };
        for (_, stale) in candidates {
            remove(&stale);
        }
        let Some(data_path) = data.remove(&id) else {
            tracing::warn!(block = %id, "meta file without data; removing it");
            remove(&meta_path);
            continue;
        };
        match check_replica(&data_path, &meta_path, state, chunk_size) {
            Ok(length) => out.push(ReplicaInfo {
                id,
                generation,
                length,
                acknowledged: length,
                state,
                writer_active: false,
                volume: found.volume,
                medium: found.medium,
                last_access: 0,
                reads: 0,
            }),
            Err(e) => {
                tracing::warn!(block = %id, error = %e, "removing a damaged replica");
                remove(&data_path);
                remove(&meta_path);
            }
        }
    }
    for (id, path) in data {
        tracing::warn!(block = %id, "data file without checksums; removing it");
        remove(&path);
    }
    Ok(())
}

/// Checks a replica's files and returns its usable length.
fn check_replica(
    data_path: &Path,
    meta_path: &Path,
    state: ReplicaState,
    chunk_size: u32,
) -> Result<u64> {
    let io =
        |what: &str, e: std::io::Error| Error::io(format!("{what} {}", data_path.display()), e);
    let data = OpenOptions::new()
        .read(true)
        .write(true)
        .open(data_path)
        .map_err(|e| io("opening", e))?;
    let mut meta = OpenOptions::new()
        .read(true)
        .write(true)
        .open(meta_path)
        .map_err(|e| io("opening", e))?;
    let chunk = read_meta_header(&mut meta, meta_path)?;
    if chunk != chunk_size {
        return Err(Error::Io(format!(
            "chunk size {chunk} differs from the store's {chunk_size}"
        )));
    }
    let data_len = data.metadata().map_err(|e| io("reading", e))?.len();
    let meta_file_len = meta.metadata().map_err(|e| io("reading", e))?.len();
    let covered_chunks = meta_file_len.saturating_sub(8) / 4;
    if state == ReplicaState::Finalized {
        if meta_file_len != meta_len(data_len, chunk) {
            return Err(Error::Io(format!(
                "{data_len} data bytes but {covered_chunks} checksums"
            )));
        }
        return Ok(data_len);
    }
    let mut length = data_len.min(covered_chunks * chunk as u64);
    if length > 0 {
        let last = chunks_for(length, chunk) - 1;
        let start = last * chunk as u64;
        let mut buf = vec![0u8; (length - start) as usize];
        data.read_exact_at(&mut buf, start)
            .map_err(|e| io("reading", e))?;
        let mut stored = [0u8; 4];
        meta.read_exact_at(&mut stored, 8 + 4 * last)
            .map_err(|e| io("reading", e))?;
        if crc32c(&buf) != u32::from_le_bytes(stored) {
            length = start;
        }
    }
    truncate_files(&data, &meta, length, chunk).map_err(|e| io("truncating", e))?;
    Ok(length)
}

fn remove(path: &Path) {
    if let Err(e) = std::fs::remove_file(path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), error = %e, "could not remove file");
    }
}
