//! Journal segment files: a header, then records `[u32 length][u32 CRC32C][Entry]`.
//!
//! A crash can leave a torn record at the end of the newest segment; reading stops there and
//! reports how many bytes are valid, so start-up can cut the tail off. A damaged record
//! anywhere else is an error: acknowledged changes would be lost.

use super::files::{list_numbered, sync_dir};
use prost::Message;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use strata_core::checksum::crc32c;
use strata_core::{Error, Result};
use strata_proto::journal::Entry;

const MAGIC: &[u8; 4] = b"STRJ";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 16;
/// Largest record accepted when reading (a guard against a corrupt length field).
const MAX_RECORD: usize = 16 << 20;

/// The file name of the segment whose first entry is `first_txid`.
pub fn segment_name(first_txid: u64) -> String {
    format!("edits_{first_txid:020}.log")
}

/// Segments in `dir` as `(first txid, path)`, oldest first.
pub fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    list_numbered(dir, "edits_", ".log")
}

/// Appends one entry as a record to `out`.
pub fn encode_record(entry: &Entry, out: &mut Vec<u8>) {
    let payload = entry.encode_to_vec();
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32c(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
}

/// What a segment holds.
#[derive(Debug)]
pub struct SegmentContents {
    /// The entries of every intact record.
    pub entries: Vec<Entry>,
    /// Bytes up to the end of the last intact record.
    pub valid_len: u64,
    /// Whether bytes follow the last intact record (a torn or damaged tail).
    pub damaged_tail: bool,
}

/// Reads every intact record of a segment.
pub fn read_segment(path: &Path) -> Result<SegmentContents> {
    let bytes =
        std::fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    if bytes.len() < HEADER_LEN || &bytes[..4] != MAGIC {
        return Ok(SegmentContents {
            entries: Vec::new(),
            valid_len: 0,
            damaged_tail: !bytes.is_empty(),
        });
    }
    let mut entries = Vec::new();
    let mut at = HEADER_LEN;
    loop {
        if at == bytes.len() {
            break;
        }
        let Some(head) = bytes.get(at..at + 8) else {
            break;
        };
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        if len > MAX_RECORD {
            break;
        }
        let Some(payload) = bytes.get(at + 8..at + 8 + len) else {
            break;
        };
        if crc32c(payload) != crc {
            break;
        }
        let Ok(entry) = Entry::decode(payload) else {
            break;
        };
        entries.push(entry);
        at += 8 + len;
    }
    Ok(SegmentContents {
        entries,
        valid_len: at as u64,
        damaged_tail: at != bytes.len(),
    })
}

/// The segment being written.
#[derive(Debug)]
pub struct SegmentWriter {
    file: File,
    path: PathBuf,
}

impl SegmentWriter {
    /// Creates (or replaces) the segment starting at `first_txid` and makes it durable.
    pub fn create(dir: &Path, first_txid: u64) -> Result<SegmentWriter> {
        let path = dir.join(segment_name(first_txid));
        let mut file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&VERSION.to_le_bytes());
        header.extend_from_slice(&first_txid.to_le_bytes());
        file.write_all(&header)
            .and_then(|_| file.sync_all())
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        sync_dir(dir)?;
        Ok(SegmentWriter { file, path })
    }

    /// Appends encoded records and waits until they are on stable storage.
    pub fn append_durably(&mut self, records: &[u8]) -> Result<()> {
        self.file
            .write_all(records)
            .and_then(|_| self.file.sync_data())
            .map_err(|e| Error::io(format!("appending to {}", self.path.display()), e))
    }
}

/// Cuts a damaged tail off a segment.
pub fn truncate_segment(path: &Path, valid_len: u64) -> Result<()> {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    file.set_len(valid_len)
        .and_then(|_| file.sync_all())
        .map_err(|e| Error::io(format!("truncating {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_proto::journal::{Mkdir, entry::Op};

    fn entry(txid: u64) -> Entry {
        Entry {
            txid,
            op: Some(Op::Mkdir(Mkdir {
                path: format!("/d{txid}"),
                ..Default::default()
            })),
        }
    }

    #[test]
    fn torn_tail_is_detected_and_cut() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = SegmentWriter::create(dir.path(), 1).unwrap();
        let mut buf = Vec::new();
        for txid in 1..=3 {
            encode_record(&entry(txid), &mut buf);
        }
        writer.append_durably(&buf).unwrap();
        writer.append_durably(&[9, 0, 0, 0, 1, 2]).unwrap();
        let path = dir.path().join(segment_name(1));
        let got = read_segment(&path).unwrap();
        assert_eq!(got.entries.len(), 3);
        assert!(got.damaged_tail);
        truncate_segment(&path, got.valid_len).unwrap();
        let again = read_segment(&path).unwrap();
        assert_eq!(again.entries.len(), 3);
        assert!(!again.damaged_tail);
    }

    #[test]
    fn flipped_byte_stops_reading() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = SegmentWriter::create(dir.path(), 1).unwrap();
        let mut buf = Vec::new();
        for txid in 1..=3 {
            encode_record(&entry(txid), &mut buf);
        }
        writer.append_durably(&buf).unwrap();
        let path = dir.path().join(segment_name(1));
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 2;
        bytes[last] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let got = read_segment(&path).unwrap();
        assert_eq!(got.entries.len(), 2);
        assert!(got.damaged_tail);
    }
}
