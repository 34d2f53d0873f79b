//! Namespace snapshots: `snapshot_<txid>.img`, a header record then one record per inode, each
//! framed like journal records with its own CRC32C, then an end marker. Written to a temporary
//! file, synced and renamed, so a snapshot on disk is either whole or absent.

use super::files::{list_numbered, sync_dir};
use crate::namespace::Namespace;
use prost::Message;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use strata_core::checksum::crc32c;
use strata_core::{Error, Result};
use strata_proto::journal::{InodeRecord, SnapshotHeader};

const MAGIC: &[u8; 8] = b"STRSNAP1";
const END: &[u8; 8] = b"SNAPEND1";

/// The file name of the snapshot taken after entry `txid`.
pub fn snapshot_name(txid: u64) -> String {
    format!("snapshot_{txid:020}.img")
}

/// Snapshots in `dir` as `(txid, path)`, oldest first.
pub fn list_snapshots(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    list_numbered(dir, "snapshot_", ".img")
}

fn write_record(out: &mut impl Write, payload: &[u8]) -> std::io::Result<()> {
    out.write_all(&(payload.len() as u32).to_le_bytes())?;
    out.write_all(&crc32c(payload).to_le_bytes())?;
    out.write_all(payload)
}

/// Writes a snapshot of `ns` into `dir` and returns its path.
pub fn write_snapshot(dir: &Path, ns: &Namespace) -> Result<PathBuf> {
    let txid = ns.last_txid();
    let path = dir.join(snapshot_name(txid));
    let tmp = dir.join(format!("{}.tmp", snapshot_name(txid)));
    let write = || -> std::io::Result<()> {
        let file = File::create(&tmp)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.write_all(MAGIC)?;
        write_record(&mut out, &ns.image_header().encode_to_vec())?;
        let mut buf = Vec::new();
        for record in ns.image_records() {
            buf.clear();
            // Encoding into a Vec cannot fail.
            let _ = record.encode(&mut buf);
            write_record(&mut out, &buf)?;
        }
        out.write_all(END)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)
    };
    write().map_err(|e| Error::io(format!("writing snapshot {}", path.display()), e))?;
    sync_dir(dir)?;
    Ok(path)
}

/// Reads a snapshot back into a namespace, checking every record.
pub fn read_snapshot(path: &Path) -> Result<Namespace> {
    let bytes =
        std::fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let corrupt =
        |what: String| Error::Io(format!("snapshot {} is damaged: {what}", path.display()));
    if bytes.len() < MAGIC.len() + END.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(corrupt("bad magic".to_string()));
    }
    if &bytes[bytes.len() - END.len()..] != END {
        return Err(corrupt("no end marker".to_string()));
    }
    let body = &bytes[MAGIC.len()..bytes.len() - END.len()];
    let mut records = RecordIter { body, at: 0 };
    let header_bytes = records
        .next()
        .ok_or_else(|| corrupt("no header".to_string()))?
        .map_err(corrupt)?;
    let header = SnapshotHeader::decode(header_bytes).map_err(|e| corrupt(e.to_string()))?;
    let mut inodes = Vec::with_capacity(header.inode_count.min(1 << 24) as usize);
    for record in records {
        let record = record.map_err(corrupt)?;
        inodes.push(InodeRecord::decode(record).map_err(|e| corrupt(e.to_string()))?);
    }
    Namespace::from_image(&header, inodes).map_err(corrupt)
}

struct RecordIter<'a> {
    body: &'a [u8],
    at: usize,
}

impl<'a> Iterator for RecordIter<'a> {
    type Item = std::result::Result<&'a [u8], String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.at == self.body.len() {
            return None;
        }
        let Some(head) = self.body.get(self.at..self.at + 8) else {
            self.at = self.body.len();
            return Some(Err("truncated record header".to_string()));
        };
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        let Some(payload) = self.body.get(self.at + 8..self.at + 8 + len) else {
            self.at = self.body.len();
            return Some(Err("truncated record".to_string()));
        };
        if crc32c(payload) != crc {
            self.at = self.body.len();
            return Some(Err(format!("checksum mismatch at byte {}", self.at)));
        }
        self.at += 8 + len;
        Some(Ok(payload))
    }
}
