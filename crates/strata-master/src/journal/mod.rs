//! The journal: every namespace change is appended and fsync'd before it is applied and
//! answered.
//!
//! One writer thread takes every pending request at once (group commit: one fsync covers all
//! of them), assigns txids, appends, syncs, then applies them in order to the namespace under
//! its write lock. Readers take the read lock and never wait for an fsync. Every
//! `checkpoint_entries` entries the namespace is snapshotted and a new segment begins; start-up
//! loads the newest snapshot and replays the segments after it.

mod files;
pub mod log;
pub mod snapshot;

use crate::namespace::{Namespace, Outcome};
use log::{SegmentWriter, list_segments, read_segment, truncate_segment};
use parking_lot::RwLock;
use prometheus_client::metrics::histogram::Histogram;
use snapshot::{list_snapshots, read_snapshot, write_snapshot};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use strata_core::metrics::{count_buckets, latency_buckets};
use strata_core::{Error, Result};
use strata_proto::journal::{Entry, entry::Op};
use tokio::sync::{mpsc, oneshot};

/// The namespace shared between the journal's writer (the only one who changes it) and readers.
pub type SharedNamespace = Arc<RwLock<Namespace>>;

/// Most entries written under one fsync.
const MAX_BATCH: usize = 4096;

enum Request {
    Append(Op, oneshot::Sender<Result<Outcome>>),
    Checkpoint(oneshot::Sender<Result<u64>>),
    Shutdown(oneshot::Sender<()>),
}

/// Counters of the journal's work.
#[derive(Debug)]
pub struct JournalStats {
    /// Entries made durable.
    pub entries: AtomicU64,
    /// fsyncs issued (each covers one batch).
    pub syncs: AtomicU64,
    /// Total time spent in fsync'd appends, in microseconds.
    pub sync_micros: AtomicU64,
    /// Seconds each fsync'd append took.
    pub sync_seconds: Histogram,
    /// Entries each fsync covered (the group commit's batch size).
    pub batch_entries: Histogram,
}

impl Default for JournalStats {
    fn default() -> JournalStats {
        JournalStats {
            entries: AtomicU64::new(0),
            syncs: AtomicU64::new(0),
            sync_micros: AtomicU64::new(0),
            sync_seconds: Histogram::new(latency_buckets()),
            batch_entries: Histogram::new(count_buckets()),
        }
    }
}

/// Handle to the journal writer.
#[derive(Debug)]
pub struct Journal {
    requests: mpsc::UnboundedSender<Request>,
    stats: Arc<JournalStats>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Request::Append(..) => "Append",
            Request::Checkpoint(_) => "Checkpoint",
            Request::Shutdown(_) => "Shutdown",
        })
    }
}

impl Journal {
    /// Loads the newest snapshot in `dir`, replays the journal after it, and starts the writer.
    pub fn open(dir: &Path, checkpoint_entries: u64) -> Result<(Journal, SharedNamespace)> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let mut ns = load_snapshot(dir)?;
        let snapshot_txid = ns.last_txid();
        replay(dir, &mut ns)?;
        tracing::info!(
            snapshot_txid,
            last_txid = ns.last_txid(),
            files = ns.file_count(),
            directories = ns.directory_count(),
            blocks = ns.block_count(),
            "namespace loaded"
        );
        let segment = SegmentWriter::create(dir, ns.last_txid() + 1)?;
        let shared = Arc::new(RwLock::new(ns));
        let (tx, rx) = mpsc::unbounded_channel();
        let stats = Arc::new(JournalStats::default());
        let writer = Writer {
            dir: dir.to_path_buf(),
            namespace: shared.clone(),
            segment,
            checkpoint_entries: checkpoint_entries.max(1),
            snapshot_txid,
            failed: None,
            stats: stats.clone(),
        };
        std::thread::Builder::new()
            .name("journal-writer".to_string())
            .spawn(move || writer.run(rx))
            .map_err(|e| Error::io("starting the journal writer", e))?;
        Ok((
            Journal {
                requests: tx,
                stats,
            },
            shared,
        ))
    }

    /// Journals `op`, waits until it is durable, applies it and returns what it produced.
    pub async fn submit(&self, op: Op) -> Result<Outcome> {
        let (tx, rx) = oneshot::channel();
        self.requests
            .send(Request::Append(op, tx))
            .map_err(|_| Error::Internal("the journal writer has stopped".to_string()))?;
        rx.await
            .map_err(|_| Error::Internal("the journal writer has stopped".to_string()))?
    }

    /// Writes a snapshot now and returns the txid it covers.
    pub async fn checkpoint(&self) -> Result<u64> {
        let (tx, rx) = oneshot::channel();
        self.requests
            .send(Request::Checkpoint(tx))
            .map_err(|_| Error::Internal("the journal writer has stopped".to_string()))?;
        rx.await
            .map_err(|_| Error::Internal("the journal writer has stopped".to_string()))?
    }

    /// Finishes pending entries, writes a final snapshot and stops the writer.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.requests.send(Request::Shutdown(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// The journal's counters.
    pub fn stats(&self) -> &JournalStats {
        &self.stats
    }
}

fn load_snapshot(dir: &Path) -> Result<Namespace> {
    for (txid, path) in list_snapshots(dir)?.into_iter().rev() {
        match read_snapshot(&path) {
            Ok(ns) => {
                tracing::info!(txid, path = %path.display(), "loaded snapshot");
                return Ok(ns);
            }
            Err(e) => tracing::warn!(txid, error = %e, "skipping unreadable snapshot"),
        }
    }
    Ok(Namespace::new())
}

fn replay(dir: &Path, ns: &mut Namespace) -> Result<()> {
    let segments = list_segments(dir)?;
    let count = segments.len();
    for (i, (_, path)) in segments.iter().enumerate() {
        let contents = read_segment(path)?;
        if contents.damaged_tail {
            if i + 1 != count {
                return Err(Error::Io(format!(
                    "journal segment {} is damaged at byte {} and later segments exist; \
                     refusing to start rather than lose acknowledged changes",
                    path.display(),
                    contents.valid_len
                )));
            }
            tracing::warn!(path = %path.display(), valid_bytes = contents.valid_len,
                "cutting a torn record off the end of the journal");
            truncate_segment(path, contents.valid_len)?;
        }
        for entry in contents.entries {
            if entry.txid <= ns.last_txid() {
                continue;
            }
            if entry.txid != ns.last_txid() + 1 {
                return Err(Error::Io(format!(
                    "journal gap: expected entry {} but {} holds {} next",
                    ns.last_txid() + 1,
                    path.display(),
                    entry.txid
                )));
            }
            // A failed operation failed the same way when it was first applied.
            let _ = ns.apply(&entry);
        }
    }
    Ok(())
}

struct Writer {
    dir: PathBuf,
    namespace: SharedNamespace,
    segment: SegmentWriter,
    checkpoint_entries: u64,
    snapshot_txid: u64,
    failed: Option<Error>,
    stats: Arc<JournalStats>,
}

impl Writer {
    fn run(mut self, mut rx: mpsc::UnboundedReceiver<Request>) {
        let mut buf = Vec::new();
        while let Some(first) = rx.blocking_recv() {
            let mut appends = Vec::new();
            let mut checkpoints = Vec::new();
            let mut shutdown = None;
            let mut next = Some(first);
            while let Some(request) = next.take() {
                match request {
                    Request::Append(op, reply) => appends.push((op, reply)),
                    Request::Checkpoint(reply) => checkpoints.push(reply),
                    Request::Shutdown(reply) => shutdown = Some(reply),
                }
                if appends.len() < MAX_BATCH && shutdown.is_none() {
                    next = rx.try_recv().ok();
                }
            }
            if !appends.is_empty() {
                self.append_batch(appends, &mut buf);
            }
            let due =
                self.namespace.read().last_txid() - self.snapshot_txid >= self.checkpoint_entries;
            if !checkpoints.is_empty() || due || shutdown.is_some() {
                let result = self.checkpoint();
                if let Err(e) = &result {
                    tracing::error!(error = %e, "checkpoint failed");
                }
                for reply in checkpoints {
                    let _ = reply.send(result.clone());
                }
            }
            if let Some(reply) = shutdown {
                let _ = reply.send(());
                return;
            }
        }
    }

    fn append_batch(
        &mut self,
        appends: Vec<(Op, oneshot::Sender<Result<Outcome>>)>,
        buf: &mut Vec<u8>,
    ) {
        if let Some(err) = &self.failed {
            for (_, reply) in appends {
                let _ = reply.send(Err(err.clone()));
            }
            return;
        }
        let first_txid = self.namespace.read().last_txid() + 1;
        buf.clear();
        let mut entries = Vec::with_capacity(appends.len());
        let mut replies = Vec::with_capacity(appends.len());
        for (i, (op, reply)) in appends.into_iter().enumerate() {
            let entry = Entry {
                txid: first_txid + i as u64,
                op: Some(op),
            };
            log::encode_record(&entry, buf);
            entries.push(entry);
            replies.push(reply);
        }
        let started = std::time::Instant::now();
        if let Err(e) = self.segment.append_durably(buf) {
            tracing::error!(error = %e, "journal write failed; refusing further changes");
            let err = Error::Io(format!("the journal cannot be written: {e}"));
            self.failed = Some(err.clone());
            for reply in replies {
                let _ = reply.send(Err(err.clone()));
            }
            return;
        }
        self.stats.syncs.fetch_add(1, Ordering::Relaxed);
        self.stats
            .entries
            .fetch_add(entries.len() as u64, Ordering::Relaxed);
        let took = started.elapsed();
        self.stats
            .sync_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
        self.stats.sync_seconds.observe(took.as_secs_f64());
        self.stats.batch_entries.observe(entries.len() as f64);
        let mut ns = self.namespace.write();
        for (entry, reply) in entries.iter().zip(replies) {
            let _ = reply.send(ns.apply(entry));
        }
    }

    fn checkpoint(&mut self) -> Result<u64> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let txid = {
            let ns = self.namespace.read();
            if ns.last_txid() == self.snapshot_txid {
                return Ok(self.snapshot_txid);
            }
            write_snapshot(&self.dir, &ns)?;
            ns.last_txid()
        };
        self.segment = SegmentWriter::create(&self.dir, txid + 1)?;
        let previous = self.snapshot_txid;
        self.snapshot_txid = txid;
        self.prune(previous)?;
        tracing::info!(txid, "namespace snapshot written");
        Ok(txid)
    }

    /// Keeps the two newest snapshots and the segments needed to replay from the older one.
    fn prune(&self, keep_from: u64) -> Result<()> {
        for (txid, path) in list_snapshots(&self.dir)? {
            if txid < keep_from {
                remove(&path);
            }
        }
        let segments = list_segments(&self.dir)?;
        for pair in segments.windows(2) {
            let (_, path) = &pair[0];
            let (next_first, _) = pair[1];
            if next_first <= keep_from + 1 {
                remove(path);
            }
        }
        Ok(())
    }
}

fn remove(path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        tracing::warn!(path = %path.display(), error = %e, "could not remove old journal file");
    }
}

#[cfg(test)]
mod tests;
