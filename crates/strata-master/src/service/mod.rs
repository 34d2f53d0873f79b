//! The master's gRPC services and the state they share.

mod admin;
mod client;
mod metadata_sync;
mod mounts;
mod persist;
mod recovery;
mod ttl;
mod ufs_rename;
mod worker;
mod writing;

pub use admin::AdminService;
pub(crate) use admin::report as cluster_report;
pub use client::ClientService;
pub use persist::{PersistQueue, run_queue as run_persist_queue};
pub use recovery::recover_expired_leases;
pub use ttl::run_checker as run_ttl_checker;
pub use worker::WorkerService;

use crate::audit::AuditLog;
use crate::blocks::Replica;
use crate::cluster::Cluster;
use crate::journal::{Journal, SharedNamespace};
use crate::leases::LeaseTable;
use crate::namespace::{BlockRange, BlockRecord, Outcome};
use crate::under_storage::UnderStorages;
use crate::workers::{WorkerEntry, WorkerIdx};
use parking_lot::Mutex;
use rand::seq::SliceRandom;
use std::collections::HashMap;
use std::net::IpAddr;
use strata_core::config::MasterConfig;
use strata_core::{Error, Result};
use strata_proto::journal::entry::Op;
use strata_proto::rpc::{LocatedBlock, ReportedBlock, UfsBlock, WorkerAddress};

/// Everything the services share.
#[derive(Debug)]
pub struct MasterState {
    /// The master's settings.
    pub config: MasterConfig,
    /// The namespace (changed only by the journal writer).
    pub namespace: SharedNamespace,
    /// The journal that every change goes through.
    pub journal: Journal,
    /// Workers, block locations, replication, safe mode.
    pub cluster: Mutex<Cluster>,
    /// Write leases.
    pub leases: Mutex<LeaseTable>,
    /// Block reports arriving in chunks, per worker: (report id, blocks so far).
    pub partial_reports: Mutex<HashMap<WorkerIdx, (u64, Vec<ReportedBlock>)>>,
    /// The under storage of mounts.
    pub under_storage: UnderStorages,
    /// Background persists in flight and waiting to be retried.
    pub persist_queue: PersistQueue,
    /// One line per namespace operation.
    pub audit: AuditLog,
}

impl MasterState {
    /// Refuses namespace changes while in safe mode.
    pub fn check_writable(&self) -> Result<()> {
        let cluster = self.cluster.lock();
        if cluster.safe_mode.is_on() {
            return Err(Error::SafeMode {
                reason: cluster.safe_mode.status(),
            });
        }
        Ok(())
    }

    /// Journals an operation and returns its outcome.
    pub async fn submit(&self, op: Op) -> Result<Outcome> {
        self.journal.submit(op).await
    }
}

/// Waits for the next tick of a background task's `tick`; false once the master is stopping.
pub(crate) async fn next_tick(
    tick: &mut tokio::time::Interval,
    stopped: &mut tokio::sync::watch::Receiver<bool>,
) -> bool {
    tokio::select! {
        _ = tick.tick() => true,
        _ = stopped.wait_for(|s| *s) => false,
    }
}

/// Converts a result into a gRPC reply.
pub(crate) fn reply<T>(
    result: Result<T>,
) -> std::result::Result<tonic::Response<T>, tonic::Status> {
    result
        .map(tonic::Response::new)
        .map_err(|e| strata_proto::status::to_status(&e))
}

/// The outcome was not the kind the operation produces: a bug.
pub(crate) fn unexpected(outcome: Outcome) -> Error {
    Error::Internal(format!("unexpected journal outcome {outcome:?}"))
}

/// How close a worker is to a client: 0 same host, 1 same rack, 2 elsewhere.
fn distance(worker: &WorkerEntry, client_ip: Option<IpAddr>, client_rack: Option<&str>) -> u8 {
    if client_ip.is_some_and(|ip| worker.host() == ip.to_string()) {
        0
    } else if client_rack.is_some_and(|r| r == worker.address.rack) {
        1
    } else {
        2
    }
}

/// A block with its readable replicas, nearest to the client first (ties in random order so
/// that readers spread over replicas), replicas on decommissioning workers last. When every
/// replica is known to be damaged, the damaged ones are returned so the client can try.
pub(crate) fn locate(
    cluster: &Cluster,
    record: &BlockRecord,
    replication: u32,
    offset: u64,
    client_ip: Option<IpAddr>,
) -> LocatedBlock {
    let status = crate::blocks::classify(
        record.id,
        record,
        replication,
        false,
        &cluster.blocks,
        &cluster.workers,
    );
    let mut locations = nearest_first(cluster, &status.live, client_ip);
    locations.extend(
        status
            .decommissioning
            .iter()
            .filter_map(|r| cluster.workers.get(r.worker))
            .map(|w| w.address.clone()),
    );
    if locations.is_empty() {
        locations.extend(
            status
                .corrupt
                .iter()
                .filter_map(|r| cluster.workers.get(r.worker))
                .map(|w| w.address.clone()),
        );
    }
    LocatedBlock {
        block: Some(record.extended().into()),
        offset,
        locations,
        complete: record.complete,
        ufs: None,
        indices: Vec::new(),
    }
}

/// The last block of a file being written, on the live workers known to hold it (nearest
/// first). Their generation is not checked here: after an append the map still carries the
/// generation before it until the block is finished, and a worker asked for the block's
/// visible length refuses a replica older than the block.
pub(crate) fn locate_being_written(
    cluster: &Cluster,
    record: &BlockRecord,
    offset: u64,
    client_ip: Option<IpAddr>,
) -> LocatedBlock {
    let replicas: Vec<Replica> = (cluster.blocks.replicas(record.id).iter())
        .filter(|r| !r.corrupt)
        .filter(|r| cluster.workers.get(r.worker).is_some_and(|w| w.alive))
        .copied()
        .collect();
    LocatedBlock {
        block: Some(record.extended().into()),
        offset,
        locations: nearest_first(cluster, &replicas, client_ip),
        complete: false,
        ufs: None,
        indices: Vec::new(),
    }
}

/// The workers holding `replicas`: on the client's host first, then its rack, then the rest
/// (shuffled among equals).
fn nearest_first(
    cluster: &Cluster,
    replicas: &[Replica],
    client_ip: Option<IpAddr>,
) -> Vec<WorkerAddress> {
    let client_rack = client_ip.and_then(|ip| {
        let ip = ip.to_string();
        cluster
            .workers
            .iter()
            .find(|w| w.alive && w.host() == ip)
            .map(|w| w.address.rack.clone())
    });
    let mut near: Vec<(u8, WorkerAddress)> = replicas
        .iter()
        .filter_map(|r| cluster.workers.get(r.worker))
        .map(|w| {
            (
                distance(w, client_ip, client_rack.as_deref()),
                w.address.clone(),
            )
        })
        .collect();
    near.shuffle(&mut rand::rng());
    near.sort_by_key(|(d, _)| *d);
    near.into_iter().map(|(_, a)| a).collect()
}

/// The worker to read an uncached block of under storage through: one on the client's host
/// if there is one, else one chosen by the block id (so that concurrent readers of a block
/// meet on the worker caching it).
pub(crate) fn read_through_worker(
    cluster: &Cluster,
    block: strata_core::BlockId,
    client_ip: Option<IpAddr>,
) -> Option<WorkerAddress> {
    let mut candidates: Vec<&WorkerEntry> = cluster
        .workers
        .iter()
        .filter(|w| w.accepts_new_blocks())
        .collect();
    if candidates.is_empty() {
        return None;
    }
    candidates.sort_by(|a, b| a.address.id.cmp(&b.address.id));
    if let Some(local) = candidates
        .iter()
        .find(|w| client_ip.is_some_and(|ip| w.host() == ip.to_string()))
    {
        return Some(local.address.clone());
    }
    let index = (block.0 % candidates.len() as u64) as usize;
    Some(candidates[index].address.clone())
}

/// Where block `offset` of a file mirroring `source` is in under storage.
pub(crate) fn ufs_block(source: &crate::namespace::UfsSource, range: &BlockRange) -> UfsBlock {
    UfsBlock {
        mount: source.mount.clone(),
        key: source.key.clone(),
        object_offset: range.offset,
        fingerprint: Some(source.fingerprint.wire()),
        length: range.record.length,
    }
}

/// A block group with one readable location per internal block that has one (in service
/// first), each tagged with its index.
pub(crate) fn locate_group(
    cluster: &Cluster,
    record: &BlockRecord,
    policy: &strata_ec::EcPolicy,
    offset: u64,
) -> LocatedBlock {
    let status = crate::blocks::classify_group(record, policy, &cluster.blocks, &cluster.workers);
    let mut located = LocatedBlock {
        block: Some(record.extended().into()),
        offset,
        complete: record.complete,
        ufs: None,
        ..Default::default()
    };
    for (index, unit) in status.units.iter().enumerate() {
        if let Some(w) = unit.best().and_then(|r| cluster.workers.get(r.worker)) {
            located.locations.push(w.address.clone());
            located.indices.push(index as u32);
        }
    }
    located
}

/// Refuses a policy that needs more workers than are in service.
pub(crate) fn check_enough_workers(cluster: &Cluster, policy: &strata_ec::EcPolicy) -> Result<()> {
    let available = cluster
        .workers
        .iter()
        .filter(|w| w.accepts_new_blocks())
        .count();
    if available < policy.units() {
        return Err(Error::NotEnoughWorkers {
            reason: format!(
                "{policy} needs {} workers ({} data + {} parity) but {available} are in service",
                policy.units(),
                policy.data,
                policy.parity
            ),
        });
    }
    Ok(())
}
