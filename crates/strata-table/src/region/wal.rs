//! A region's write-ahead log: a Strata file of records `[u32 length][u32 CRC32C][WalEntry]`.
//! One task owns the file and commits in groups: it takes every record waiting, writes them,
//! hflushes (hsyncs when any asked for FSYNC_WAL) and then answers all their writers. A failed
//! write breaks the log for good: the region must be reopened from what is durable.
//!
//! After a region server dies, its logs are recovered (lease recovery fences the old writer
//! and closes each file at the length every replica holds) and read back: a record cut short
//! at the very end is a write that was never acknowledged and is dropped; damage anywhere else
//! is an error, never silently skipped.

use crate::error::{Error, Result};
use crate::mutation::Durability;
use crate::proto::storage::WalEntry;
use prost::Message;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use strata_client::{CreateOptions, FileSystem, FileWriter};
use strata_core::checksum::crc32c;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Records waiting for the log task before writers wait for room.
const QUEUE: usize = 4096;
/// Bytes written before an hflush even if more records are waiting.
const GROUP_BYTES: usize = 4 << 20;
/// The largest record accepted when reading a log.
const MAX_RECORD: usize = 256 << 20;

/// How hard the log task flushes a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Flush {
    Hflush,
    Hsync,
}

enum Request {
    Append {
        record: Vec<u8>,
        flush: Flush,
        done: Option<oneshot::Sender<Result<()>>>,
    },
    Close(oneshot::Sender<Result<()>>),
}

/// An open write-ahead log.
#[derive(Debug)]
pub struct Wal {
    path: String,
    requests: mpsc::Sender<Request>,
    broken: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl Wal {
    /// Creates the log file at `path` (never over an existing one).
    pub async fn create(fs: &FileSystem, path: &str, replication: u32) -> Result<Wal> {
        let options = CreateOptions {
            replication,
            create_parents: true,
            ..Default::default()
        };
        let writer = fs.create(path, options).await?;
        let (requests, received) = mpsc::channel(QUEUE);
        let broken = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(run(writer, received, broken.clone(), path.to_string()));
        Ok(Wal {
            path: path.to_string(),
            requests,
            broken,
            task,
        })
    }

    /// The log file's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether a write to the log failed (the region must close).
    pub fn is_broken(&self) -> bool {
        self.broken.load(Ordering::Relaxed)
    }

    /// Queues `entries`; the ticket is answered as `durability` says: for SYNC_WAL once
    /// they are on every replica of the log, for FSYNC_WAL once on their disks, for
    /// ASYNC_WAL at once.
    pub async fn submit(&self, entries: &[WalEntry], durability: Durability) -> Result<WalTicket> {
        if self.is_broken() {
            return Err(self.broken_error());
        }
        let mut record = Vec::new();
        for entry in entries {
            encode_record(&mut record, entry);
        }
        let flush = match durability.effective() {
            Durability::FsyncWal => Flush::Hsync,
            _ => Flush::Hflush,
        };
        let wait = matches!(
            durability.effective(),
            Durability::SyncWal | Durability::FsyncWal
        );
        let (done, answer) = if wait {
            let (tx, rx) = oneshot::channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        self.requests
            .send(Request::Append {
                record,
                flush,
                done,
            })
            .await
            .map_err(|_| self.broken_error())?;
        Ok(WalTicket {
            answer,
            path: self.path.clone(),
        })
    }

    /// Flushes what is queued and closes the file.
    pub async fn close(self) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        if self.requests.send(Request::Close(tx)).await.is_err() {
            return Err(self.broken_error());
        }
        let result = rx.await.map_err(|_| self.broken_error())?;
        let _ = self.task.await;
        result
    }

    fn broken_error(&self) -> Error {
        Error::Internal(format!(
            "the write-ahead log {} failed; the region must be reopened",
            self.path
        ))
    }
}

/// The answer to a queued log write.
#[derive(Debug)]
pub struct WalTicket {
    answer: Option<oneshot::Receiver<Result<()>>>,
    path: String,
}

impl WalTicket {
    /// Waits until the entries are as durable as asked.
    pub async fn wait(self) -> Result<()> {
        match self.answer {
            Some(rx) => rx.await.map_err(|_| {
                Error::Internal(format!(
                    "the write-ahead log {} failed; the region must be reopened",
                    self.path
                ))
            })?,
            None => Ok(()),
        }
    }
}

async fn run(
    mut writer: FileWriter,
    mut requests: mpsc::Receiver<Request>,
    broken: Arc<AtomicBool>,
    path: String,
) {
    while let Some(first) = requests.recv().await {
        let mut group = vec![first];
        let mut bytes = 0;
        while bytes < GROUP_BYTES {
            match requests.try_recv() {
                Ok(next) => {
                    if let Request::Append { record, .. } = &next {
                        bytes += record.len();
                    }
                    let close = matches!(next, Request::Close(_));
                    group.push(next);
                    if close {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        let mut result: Result<()> = Ok(());
        let mut flush = None;
        let mut waiting = Vec::new();
        let mut close = None;
        for request in group {
            match request {
                Request::Append {
                    record,
                    flush: wanted,
                    done,
                } => {
                    if result.is_ok() {
                        result = writer.write(&record).await.map_err(Error::from);
                    }
                    flush = flush.max(Some(wanted));
                    waiting.extend(done);
                }
                Request::Close(done) => close = Some(done),
            }
        }
        if result.is_ok() {
            result = match flush {
                Some(Flush::Hsync) => writer.hsync().await.map_err(Error::from),
                Some(Flush::Hflush) => writer.hflush().await.map_err(Error::from),
                None => Ok(()),
            };
        }
        if let Err(e) = &result {
            tracing::error!(wal = %path, error = %e, "write-ahead log write failed");
            broken.store(true, Ordering::Relaxed);
        }
        for done in waiting {
            let _ = done.send(result.clone());
        }
        if let Some(done) = close {
            let closed = match result {
                Ok(()) => writer.close().await.map_err(Error::from),
                Err(e) => Err(e),
            };
            let _ = done.send(closed);
            return;
        }
        if broken.load(Ordering::Relaxed) {
            break;
        }
    }
    // Broken or dropped: answer whoever still waits.
    while let Ok(request) = requests.try_recv() {
        match request {
            Request::Append { done: Some(d), .. } => {
                let _ = d.send(Err(Error::Internal(format!(
                    "the write-ahead log {path} failed"
                ))));
            }
            Request::Close(d) => {
                let _ = d.send(Err(Error::Internal(format!(
                    "the write-ahead log {path} failed"
                ))));
            }
            Request::Append { done: None, .. } => {}
        }
    }
}

fn encode_record(out: &mut Vec<u8>, entry: &WalEntry) {
    let payload = entry.encode_to_vec();
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32c(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
}

/// Reads every entry of a closed log; `path` names it in errors.
pub fn decode_log(bytes: &[u8], path: &str) -> Result<Vec<WalEntry>> {
    let mut entries = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let Some(header) = bytes.get(at..at + 8) else {
            tracing::warn!(wal = %path, at, "dropping a record cut short at the end of the log");
            break;
        };
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        if len > MAX_RECORD {
            return Err(Error::corrupt(
                path,
                "write-ahead log",
                format!("a record of {len} bytes at {at}"),
            ));
        }
        let end = at + 8 + len;
        let Some(payload) = bytes.get(at + 8..end) else {
            tracing::warn!(wal = %path, at, "dropping a record cut short at the end of the log");
            break;
        };
        if crc32c(payload) != crc {
            if end == bytes.len() {
                tracing::warn!(wal = %path, at, "dropping a damaged last record of the log");
                break;
            }
            return Err(Error::corrupt(
                path,
                "write-ahead log",
                format!("checksum mismatch in the record at {at}"),
            ));
        }
        let entry = WalEntry::decode(payload)
            .map_err(|e| Error::corrupt(path, "write-ahead log", format!("record at {at}: {e}")))?;
        entries.push(entry);
        at = end;
    }
    Ok(entries)
}

/// Fences the log's old writer and waits until the file is closed at the length every
/// replica holds (lease recovery), then reads it.
pub async fn recover_log(fs: &FileSystem, path: &str) -> Result<Vec<WalEntry>> {
    let mut delay = Duration::from_millis(50);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while !fs.recover_lease(path).await? {
        if tokio::time::Instant::now() > deadline {
            return Err(Error::Internal(format!(
                "{path}: lease recovery did not finish in 120 s"
            )));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(1));
    }
    let bytes = fs.open(path).await?.read_to_end().await?;
    decode_log(&bytes, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::storage::WalCell;

    fn entry(sequence: u64) -> WalEntry {
        WalEntry {
            sequence,
            row: format!("row{sequence}").into(),
            cells: vec![WalCell {
                family: "f".into(),
                qualifier: "q".into(),
                timestamp: 7,
                kind: 4,
                value: vec![1u8; sequence as usize].into(),
            }],
            written_ms: 0,
            ..Default::default()
        }
    }

    #[test]
    fn a_torn_tail_is_dropped_and_damage_before_it_refused() {
        let mut log = Vec::new();
        for s in 1..=3 {
            encode_record(&mut log, &entry(s));
        }
        assert_eq!(
            decode_log(&log, "l").unwrap(),
            vec![entry(1), entry(2), entry(3)]
        );
        let cut = &log[..log.len() - 2];
        assert_eq!(
            decode_log(cut, "l").unwrap().len(),
            2,
            "the cut last record is dropped"
        );
        assert_eq!(decode_log(&log[..log.len() - 25], "l").unwrap().len(), 2);
        let mut last_damaged = log.clone();
        let n = last_damaged.len();
        last_damaged[n - 1] ^= 1;
        assert_eq!(decode_log(&last_damaged, "l").unwrap().len(), 2);
        let mut middle_damaged = log.clone();
        middle_damaged[12] ^= 1;
        assert!(matches!(
            decode_log(&middle_damaged, "l"),
            Err(Error::Corrupt { .. })
        ));
        let mut huge = log.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode_log(&huge, "l").is_err());
    }
}
