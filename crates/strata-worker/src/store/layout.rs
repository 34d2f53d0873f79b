//! Where replica files live and the format of their checksum (meta) files.
//!
//! ```text
//! <data>/current/rbw/blk_<id>                      replicas being written
//! <data>/current/rbw/blk_<id>_<gen>.meta
//! <data>/current/finalized/<id % 256>/blk_<id>      finished replicas
//! <data>/current/finalized/<id % 256>/blk_<id>_<gen>.meta
//! ```
//!
//! A meta file is an 8-byte header (`SMT1`, chunk size as u32 LE) and one CRC32C (u32 LE) per
//! chunk of the data file; the last one covers a partial chunk when the length is not a
//! multiple of the chunk size.

use std::io::Read;
use std::path::{Path, PathBuf};
use strata_core::{BlockId, Error, Result};

/// Bytes before the first checksum in a meta file.
pub const META_HEADER_LEN: u64 = 8;
const META_MAGIC: &[u8; 4] = b"SMT1";

/// Whether a replica is finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    /// Finished and immutable (until reopened for append).
    Finalized,
    /// Being written (or left unfinished by a writer that went away).
    BeingWritten,
}

/// The directory layout of one worker's storage.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// The layout under `data_dir`, creating its directories.
    pub fn create(data_dir: &Path) -> Result<Layout> {
        let layout = Layout {
            root: data_dir.join("current"),
        };
        for dir in [layout.rbw_dir(), layout.finalized_root()] {
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        }
        Ok(layout)
    }

    /// Where replicas being written live.
    pub fn rbw_dir(&self) -> PathBuf {
        self.root.join("rbw")
    }

    /// The parent of the finalized sub-directories.
    pub fn finalized_root(&self) -> PathBuf {
        self.root.join("finalized")
    }

    fn dir_for(&self, id: BlockId, state: ReplicaState) -> PathBuf {
        match state {
            ReplicaState::BeingWritten => self.rbw_dir(),
            ReplicaState::Finalized => self.finalized_root().join(format!("{:02x}", id.0 % 256)),
        }
    }

    /// The data file of a replica.
    pub fn data_path(&self, id: BlockId, state: ReplicaState) -> PathBuf {
        self.dir_for(id, state).join(format!("blk_{}", id.0))
    }

    /// The meta file of a replica.
    pub fn meta_path(&self, id: BlockId, generation: u64, state: ReplicaState) -> PathBuf {
        self.dir_for(id, state)
            .join(format!("blk_{}_{}.meta", id.0, generation))
    }

    /// Makes sure the directory of a finalized replica exists.
    pub fn ensure_dir(&self, id: BlockId, state: ReplicaState) -> Result<()> {
        let dir = self.dir_for(id, state);
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))
    }
}

/// Parses `blk_<id>` (data) or `blk_<id>_<gen>.meta` (meta) file names.
pub fn parse_name(name: &str) -> Option<(BlockId, Option<u64>)> {
    let rest = name.strip_prefix("blk_")?;
    if let Some(meta) = rest.strip_suffix(".meta") {
        let (id, generation) = meta.split_once('_')?;
        return Some((BlockId(id.parse().ok()?), Some(generation.parse().ok()?)));
    }
    Some((BlockId(rest.parse().ok()?), None))
}

/// The meta file header for `chunk_size`.
pub fn meta_header(chunk_size: u32) -> [u8; 8] {
    let mut header = [0u8; 8];
    header[..4].copy_from_slice(META_MAGIC);
    header[4..].copy_from_slice(&chunk_size.to_le_bytes());
    header
}

/// Reads a meta file's header and returns its chunk size.
pub fn read_meta_header(file: &mut std::fs::File, path: &Path) -> Result<u32> {
    let mut header = [0u8; 8];
    file.read_exact(&mut header)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    if &header[..4] != META_MAGIC {
        return Err(Error::Io(format!("{} is not a meta file", path.display())));
    }
    let chunk = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if chunk == 0 || chunk > (1 << 24) {
        return Err(Error::Io(format!(
            "{} has a bad chunk size {chunk}",
            path.display()
        )));
    }
    Ok(chunk)
}

/// Number of checksums covering `length` bytes.
pub fn chunks_for(length: u64, chunk_size: u32) -> u64 {
    length.div_ceil(chunk_size as u64)
}

/// Size of the meta file of a replica of `length` bytes.
pub fn meta_len(length: u64, chunk_size: u32) -> u64 {
    META_HEADER_LEN + 4 * chunks_for(length, chunk_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(parse_name("blk_42"), Some((BlockId(42), None)));
        assert_eq!(parse_name("blk_42_7.meta"), Some((BlockId(42), Some(7))));
        assert_eq!(parse_name("blk_x"), None);
        assert_eq!(parse_name("other"), None);
        assert_eq!(meta_len(0, 4096), 8);
        assert_eq!(meta_len(4097, 4096), 16);
    }
}
