//! Persisting files under mounts into their under storage. A worker holding the file's first
//! block is asked, over its data port, to stream the file's blocks into one object; when it
//! answers with the object's fingerprint the copy is journaled (only if the file is still the
//! version that was copied). CACHE_THROUGH and THROUGH files are persisted before their close
//! is acknowledged; ASYNC_THROUGH files wait in the journaled queue, which a background task
//! drains with retries, so they reach the under storage after any crash of workers or master.

use super::{MasterState, locate};
use crate::namespace::{ASYNC_THROUGH, CACHE_THROUGH, Fingerprint, Outcome, THROUGH};
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use strata_core::{Error, ExtendedBlock, InodeId, Result, StrataPath, now_millis};
use strata_proto::data::{PersistFile, Request, Response, Status, request};
use strata_proto::frame::{read_header, write_frame};
use strata_proto::journal::{self, entry::Op};
use strata_proto::net::{connect, within};
use tokio::sync::watch;

/// Persists running at once from the background queue.
const PARALLEL_PERSISTS: usize = 4;
/// The longest wait before a failed persist is tried again.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Slowest copy speed assumed when waiting for a worker's answer (bytes per second).
const SLOWEST_COPY: u64 = 4 << 20;

/// What persisting one file did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Persisted {
    /// The file was copied now (this many bytes).
    Copied(u64),
    /// The file was in under storage already.
    Already,
}

/// Background persists in flight and failed ones waiting to be retried (soft state: the
/// queue itself is in the namespace).
#[derive(Debug, Default)]
pub struct PersistQueue {
    in_flight: Mutex<HashSet<InodeId>>,
    retry: Mutex<HashMap<InodeId, (u32, Instant)>>,
}

/// Persists a just-closed file whose write type asks for it before the close is acknowledged:
/// CACHE_THROUGH keeps the cached blocks, THROUGH drops them (the bytes are then only in
/// under storage).
pub(crate) async fn persist_on_close(state: &MasterState, id: InodeId) -> Result<()> {
    let write_type = {
        let ns = state.namespace.read();
        ns.inode(id)?.file().and_then(|f| f.write_type.clone())
    };
    match write_type.as_deref() {
        Some(CACHE_THROUGH) => {
            persist_file(state, id).await?;
        }
        Some(THROUGH) => {
            persist_file(state, id).await?;
            let blocks: Vec<ExtendedBlock> = {
                let ns = state.namespace.read();
                ns.inode(id)?
                    .file()
                    .map(|f| f.blocks.iter().map(|b| b.extended()).collect())
                    .unwrap_or_default()
            };
            state.cluster.lock().invalidate(&blocks);
        }
        _ => {}
    }
    Ok(())
}

/// Copies file `id` into its mount's under storage now.
pub(crate) async fn persist_file(state: &MasterState, id: InodeId) -> Result<Persisted> {
    let (request, worker, version, path) = {
        let ns = state.namespace.read();
        let path = ns.path_of(id)?;
        let p = StrataPath::parse(&path)?;
        let mount = ns
            .mount_of(&p)
            .cloned()
            .ok_or_else(|| Error::InvalidOperation {
                path: path.clone(),
                reason: "not under a mount".to_string(),
            })?;
        let inode = ns.inode(id)?;
        let file = inode
            .file()
            .ok_or_else(|| Error::IsADirectory { path: path.clone() })?;
        if file.persisted.is_some() {
            return Ok(Persisted::Already);
        }
        if file.writer.is_some() {
            return Err(Error::InvalidOperation {
                path,
                reason: "the file is still being written".to_string(),
            });
        }
        if file.ec_policy.is_some() {
            return Err(Error::InvalidOperation {
                path,
                reason: "persisting erasure-coded files is not supported yet".to_string(),
            });
        }
        let cluster = state.cluster.lock();
        let mut blocks = Vec::with_capacity(file.blocks.len());
        let mut offset = 0;
        for record in &file.blocks {
            let located = locate(&cluster, record, file.replication, offset, None);
            if located.locations.is_empty() {
                return Err(Error::BlockUnavailable {
                    path,
                    block: record.id.to_string(),
                    reason: "no live replica to copy from".to_string(),
                });
            }
            offset += record.length;
            blocks.push(located);
        }
        let worker = match blocks.first().and_then(|b| b.locations.first()) {
            Some(w) => w.clone(),
            None => cluster
                .workers
                .iter()
                .find(|w| w.accepts_new_blocks())
                .map(|w| w.address.clone())
                .ok_or_else(|| Error::NotEnoughWorkers {
                    reason: "no worker is alive to persist through".to_string(),
                })?,
        };
        let length = file.length();
        let request = PersistFile {
            mount: mount.path.clone(),
            key: mount.key_of(&p),
            blocks,
            length,
        };
        (request, worker, (length, inode.mtime), path)
    };
    let length = request.length;
    let response = ask_worker(state, &worker.data_address, request).await?;
    let fingerprint = response
        .fingerprint
        .as_ref()
        .map(Fingerprint::from_wire)
        .unwrap_or_default();
    let op = Op::SetPersisted(journal::SetPersisted {
        inode_id: id.0,
        length: version.0,
        modification_time: version.1,
        fingerprint: Some(fingerprint.record()),
        time: now_millis(),
    });
    match state.submit(op).await? {
        Outcome::Done => {}
        other => return Err(super::unexpected(other)),
    }
    tracing::info!(%path, bytes = length, worker = %worker.id, "persisted to under storage");
    Ok(Persisted::Copied(length))
}

async fn ask_worker(state: &MasterState, address: &str, request: PersistFile) -> Result<Response> {
    let timeout = state.config.heartbeat_interval.max(Duration::from_secs(10));
    let patience = Duration::from_secs(60 + request.length / SLOWEST_COPY);
    let mut stream = connect(address, timeout).await?;
    let request = Request {
        op: Some(request::Op::PersistFile(request)),
    };
    write_frame(&mut stream, &request, &[]).await?;
    let response: Response = within(patience, address, read_header(&mut stream)).await??;
    if response.status != Status::Ok as i32 {
        return Err(Error::UnderStorage {
            uri: address.to_string(),
            reason: response.message,
        });
    }
    Ok(response)
}

/// Runs the background queue until `stopped`: every pending ASYNC_THROUGH file older than the
/// initial wait is persisted, a few at a time; failures are retried with growing pauses.
pub async fn run_queue(state: Arc<MasterState>, mut stopped: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    while super::next_tick(&mut tick, &mut stopped).await {
        if state.cluster.lock().safe_mode.is_on() {
            continue;
        }
        for id in due(&state) {
            state.persist_queue.in_flight.lock().insert(id);
            let state = state.clone();
            tokio::spawn(async move {
                let result = persist_file(&state, id).await;
                state.persist_queue.in_flight.lock().remove(&id);
                let mut retry = state.persist_queue.retry.lock();
                match result {
                    Ok(_) => {
                        retry.remove(&id);
                    }
                    Err(e) => {
                        let attempts = retry.get(&id).map_or(1, |(n, _)| n + 1);
                        let pause = (Duration::from_secs(1) * 2u32.saturating_pow(attempts.min(6)))
                            .min(MAX_BACKOFF);
                        tracing::warn!(inode = %id, attempts, error = %e, ?pause,
                            "persisting failed; will try again");
                        retry.insert(id, (attempts, Instant::now() + pause));
                    }
                }
            });
        }
    }
}

/// The queued files to start persisting now.
fn due(state: &MasterState) -> Vec<InodeId> {
    let wait = state.config.persist_initial_wait.as_millis() as i64;
    let now = now_millis();
    let ns = state.namespace.read();
    let in_flight = state.persist_queue.in_flight.lock();
    let retry = state.persist_queue.retry.lock();
    let free = PARALLEL_PERSISTS.saturating_sub(in_flight.len());
    ns.pending_persists()
        .into_iter()
        .filter(|id| !in_flight.contains(id))
        .filter(|id| retry.get(id).is_none_or(|(_, at)| *at <= Instant::now()))
        .filter(|id| {
            ns.inode(*id).is_ok_and(|i| {
                i.mtime + wait <= now
                    && i.file()
                        .is_some_and(|f| f.write_type.as_deref() == Some(ASYNC_THROUGH))
            })
        })
        .take(free)
        .collect()
}
