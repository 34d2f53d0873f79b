//! `AdminProtocol`: the cluster report, fsck, decommission, safe mode and checkpoints.

use super::{MasterState, reply};
use crate::blocks::{classify, classify_group};
use crate::cluster::Cluster;
use crate::namespace::{BlockRecord, FileInode, InodeKind, Namespace};
use crate::workers::{AdminState, WorkerEntry};
use std::collections::HashSet;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;
use strata_core::{Error, InodeId, Result, StrataPath};
use strata_proto::rpc::admin_protocol_server::AdminProtocol;
use strata_proto::rpc::*;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

/// Files per fsck message.
const FSCK_BATCH: usize = 500;

/// The `AdminProtocol` service.
#[derive(Debug, Clone)]
pub struct AdminService {
    state: Arc<MasterState>,
}

impl AdminService {
    /// A service over the shared master state.
    pub fn new(state: Arc<MasterState>) -> AdminService {
        AdminService { state }
    }
}

/// A worker as the report shows it.
pub(crate) fn worker_report(cluster: &Cluster, w: &WorkerEntry, now: Instant) -> WorkerReport {
    WorkerReport {
        address: Some(w.address.clone()),
        state: w.state() as i32,
        storage: Some(w.storage.clone()),
        block_count: cluster.blocks.count_on(w.idx) as u64,
        last_heartbeat_ms_ago: now.duration_since(w.last_heartbeat).as_millis() as u64,
        active_operations: w.active_operations,
    }
}

/// Blocks listed when a request names no limit.
const DEFAULT_UNHEALTHY_LIMIT: usize = 1000;

/// How bad an unhealthy block is: what an operator should look at first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Trouble {
    Missing,
    Corrupt,
    UnderReplicated,
}

impl Trouble {
    /// Adds one to the count of this kind of trouble.
    fn count_in(self, counts: &mut ListUnhealthyBlocksResponse) {
        match self {
            Trouble::Missing => counts.missing += 1,
            Trouble::Corrupt => counts.corrupt += 1,
            Trouble::UnderReplicated => counts.under_replicated += 1,
        }
    }
}

fn trouble(block: &FsckBlock) -> Option<Trouble> {
    match BlockHealth::try_from(block.health) {
        Ok(BlockHealth::UnderReplicated | BlockHealth::Degraded) => Some(Trouble::UnderReplicated),
        Ok(BlockHealth::Missing | BlockHealth::Unrecoverable) => Some(Trouble::Missing),
        Ok(BlockHealth::Corrupt) => Some(Trouble::Corrupt),
        _ => None,
    }
}

/// Every under-replicated, missing or corrupt block of the namespace, with its file's inode.
fn unhealthy_blocks<'a>(
    ns: &'a Namespace,
    cluster: &'a Cluster,
) -> impl Iterator<Item = (Trouble, InodeId, FsckBlock)> + 'a {
    ns.blocks().filter_map(|(block, _)| {
        let (inode, file, record) = ns.block_record(block)?;
        let status = fsck_block(ns, cluster, file, &record);
        Some((trouble(&status)?, inode, status))
    })
}

fn list_unhealthy(state: &MasterState, limit: u32) -> ListUnhealthyBlocksResponse {
    let limit = match limit {
        0 => DEFAULT_UNHEALTHY_LIMIT,
        n => n as usize,
    };
    let ns = state.namespace.read();
    let cluster = state.cluster.lock();
    let mut response = ListUnhealthyBlocksResponse::default();
    let mut found = Vec::new();
    for (trouble, inode, block) in unhealthy_blocks(&ns, &cluster) {
        trouble.count_in(&mut response);
        found.push((trouble, inode, block));
    }
    found.sort_by_key(|(trouble, _, block)| (*trouble, block.block.as_ref().map(|b| b.id)));
    response.blocks = found
        .into_iter()
        .take(limit)
        .map(|(_, inode, block)| UnhealthyBlock {
            path: ns.path_of(inode).unwrap_or_default(),
            block: Some(block),
        })
        .collect();
    response
}

/// What fsck says of one block or block group.
fn fsck_block(
    ns: &Namespace,
    cluster: &Cluster,
    file: &FileInode,
    record: &BlockRecord,
) -> FsckBlock {
    let address =
        |r: &crate::blocks::Replica| cluster.workers.get(r.worker).map(|w| w.address.clone());
    if let Some(policy) = ns.file_policy(file) {
        let status = classify_group(record, &policy, &cluster.blocks, &cluster.workers);
        let mut block = FsckBlock {
            block: Some(record.extended().into()),
            health: status.health as i32,
            expected_replicas: policy.units() as u32,
            ec_policy: policy.name(),
            missing_units: status.missing.len() as u32,
            ..Default::default()
        };
        for (index, unit) in status.units.iter().enumerate() {
            for r in &unit.live {
                block.live.extend(address(r));
                block.live_indices.push(index as u32);
            }
            block
                .decommissioning
                .extend(unit.decommissioning.iter().filter_map(address));
            block
                .corrupt
                .extend(unit.corrupt.iter().filter_map(address));
        }
        return block;
    }
    let status = classify(
        record.id,
        record,
        file.replication,
        file.persisted.is_some(),
        &cluster.blocks,
        &cluster.workers,
    );
    FsckBlock {
        block: Some(record.extended().into()),
        health: status.health as i32,
        expected_replicas: file.replication,
        live: status.live.iter().filter_map(address).collect(),
        decommissioning: status.decommissioning.iter().filter_map(address).collect(),
        corrupt: status.corrupt.iter().filter_map(address).collect(),
        ..Default::default()
    }
}

/// The cluster report: summary and every worker.
pub(crate) fn report(state: &MasterState) -> ReportResponse {
    let ns = state.namespace.read();
    let cluster = state.cluster.lock();
    let now = Instant::now();
    let mut counts = ListUnhealthyBlocksResponse::default();
    for (trouble, _, _) in unhealthy_blocks(&ns, &cluster) {
        trouble.count_in(&mut counts);
    }
    let mut summary = ClusterSummary {
        cluster_id: cluster.cluster_id.clone(),
        files: ns.file_count(),
        directories: ns.directory_count(),
        blocks: ns.block_count(),
        under_replicated: counts.under_replicated,
        missing: counts.missing,
        corrupt: counts.corrupt,
        pending_deletion: cluster.pending_deletions(),
        safe_mode: cluster.safe_mode.is_on(),
        safe_mode_status: cluster.safe_mode.status(),
        file_bytes: ns
            .content_summary(&StrataPath::root())
            .map(|s| s.length)
            .unwrap_or_default(),
        ..Default::default()
    };
    let mut workers = Vec::new();
    for w in cluster.workers.iter() {
        match w.state() {
            WorkerState::Live => summary.live_workers += 1,
            WorkerState::Dead => summary.dead_workers += 1,
            WorkerState::Decommissioning => summary.decommissioning_workers += 1,
            WorkerState::Decommissioned => summary.decommissioned_workers += 1,
        }
        if w.alive {
            summary.capacity += w.storage.capacity;
            summary.used += w.storage.used;
            summary.remaining += w.storage.remaining;
        }
        workers.push(worker_report(&cluster, w, now));
    }
    ReportResponse {
        summary: Some(summary),
        workers,
    }
}

fn fsck_file(ns: &Namespace, cluster: &Cluster, inode: InodeId, path: String) -> Option<FsckFile> {
    let InodeKind::File(file) = &ns.inode(inode).ok()?.kind else {
        return None;
    };
    let blocks = file
        .blocks
        .iter()
        .map(|record| fsck_block(ns, cluster, file, record))
        .collect();
    Some(FsckFile {
        path,
        length: file.length(),
        replication: file.replication,
        under_construction: file.writer.is_some(),
        blocks,
        ec_policy: file.ec_policy.clone().unwrap_or_default(),
    })
}

fn add_to_summary(summary: &mut FsckSummary, file: &FsckFile) {
    summary.files += 1;
    summary.total_size += file.length;
    for b in &file.blocks {
        summary.blocks += 1;
        match BlockHealth::try_from(b.health).unwrap_or(BlockHealth::Healthy) {
            BlockHealth::Healthy => summary.healthy_blocks += 1,
            BlockHealth::UnderReplicated => summary.under_replicated_blocks += 1,
            BlockHealth::Missing => summary.missing_blocks += 1,
            BlockHealth::Corrupt => summary.corrupt_blocks += 1,
            BlockHealth::UnderConstruction => summary.under_construction_blocks += 1,
            BlockHealth::Degraded => summary.degraded_groups += 1,
            BlockHealth::Unrecoverable => summary.unrecoverable_groups += 1,
        }
    }
}

fn start_fsck(
    state: Arc<MasterState>,
    path: StrataPath,
) -> Result<tokio::sync::mpsc::Receiver<std::result::Result<FsckResponse, Status>>> {
    let walk = state.namespace.read().walk(&path)?;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        let mut summary = FsckSummary::default();
        for chunk in walk.chunks(FSCK_BATCH) {
            let files: Vec<FsckFile> = {
                let ns = state.namespace.read();
                let cluster = state.cluster.lock();
                chunk
                    .iter()
                    .filter_map(|(inode, path)| {
                        if ns.inode(*inode).is_ok_and(|i| i.is_directory()) {
                            summary.directories += 1;
                            return None;
                        }
                        fsck_file(&ns, &cluster, *inode, path.clone())
                    })
                    .collect()
            };
            for f in &files {
                add_to_summary(&mut summary, f);
            }
            if !files.is_empty()
                && tx
                    .send(Ok(FsckResponse {
                        files,
                        summary: None,
                    }))
                    .await
                    .is_err()
            {
                return;
            }
        }
        {
            let cluster = state.cluster.lock();
            summary.live_workers = cluster.workers.live_count() as u32;
            summary.racks = cluster
                .workers
                .iter()
                .filter(|w| w.alive)
                .map(|w| w.address.rack.clone())
                .collect::<HashSet<_>>()
                .len() as u32;
        }
        let _ = tx
            .send(Ok(FsckResponse {
                files: Vec::new(),
                summary: Some(summary),
            }))
            .await;
    });
    Ok(rx)
}

fn set_admin_state(
    state: &MasterState,
    spec: &str,
    target: AdminState,
) -> Result<DecommissionResponse> {
    let mut cluster = state.cluster.lock();
    let idx = cluster.workers.find(spec).ok_or_else(|| {
        Error::InvalidArgument(format!(
            "no worker matches {spec:?} (give its id, data address or host; see `strata admin report`)"
        ))
    })?;
    let blocks: Vec<_> = cluster.blocks.blocks_on(idx).collect();
    let entry = cluster
        .workers
        .get_mut(idx)
        .ok_or_else(|| Error::Internal(format!("worker index {} vanished", idx.0)))?;
    let changed = matches!(
        (entry.admin, target),
        (AdminState::Normal, AdminState::Decommissioning)
            | (
                AdminState::Decommissioning | AdminState::Decommissioned,
                AdminState::Normal
            )
    );
    if changed {
        entry.admin = target;
        tracing::info!(worker = %entry.address.id, state = ?target, "worker admin state changed");
    }
    cluster.replication.mark_all(blocks);
    let entry = cluster
        .workers
        .get(idx)
        .ok_or_else(|| Error::Internal(format!("worker index {} vanished", idx.0)))?;
    Ok(DecommissionResponse {
        worker: Some(worker_report(&cluster, entry, Instant::now())),
    })
}

#[tonic::async_trait]
impl AdminProtocol for AdminService {
    async fn report(
        &self,
        _: Request<Empty>,
    ) -> std::result::Result<Response<ReportResponse>, Status> {
        reply(Ok(report(&self.state)))
    }

    type FsckStream = Pin<Box<dyn Stream<Item = std::result::Result<FsckResponse, Status>> + Send>>;

    async fn fsck(
        &self,
        request: Request<FsckRequest>,
    ) -> std::result::Result<Response<Self::FsckStream>, Status> {
        let req = request.into_inner();
        let rx = StrataPath::parse(&req.path).and_then(|p| start_fsck(self.state.clone(), p));
        reply(rx.map(|rx| {
            Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)) as Self::FsckStream
        }))
    }

    async fn decommission(
        &self,
        request: Request<DecommissionRequest>,
    ) -> std::result::Result<Response<DecommissionResponse>, Status> {
        reply(set_admin_state(
            &self.state,
            &request.into_inner().worker,
            AdminState::Decommissioning,
        ))
    }

    async fn recommission(
        &self,
        request: Request<DecommissionRequest>,
    ) -> std::result::Result<Response<DecommissionResponse>, Status> {
        reply(set_admin_state(
            &self.state,
            &request.into_inner().worker,
            AdminState::Normal,
        ))
    }

    async fn safe_mode(
        &self,
        request: Request<SafeModeRequest>,
    ) -> std::result::Result<Response<SafeModeResponse>, Status> {
        let action = request.into_inner().action;
        let mut cluster = self.state.cluster.lock();
        match SafeModeAction::try_from(action) {
            Ok(SafeModeAction::Enter) => {
                cluster.safe_mode.enter();
                tracing::warn!("safe mode entered by an operator");
            }
            Ok(SafeModeAction::Leave) => {
                cluster.safe_mode.leave();
                tracing::warn!("safe mode left by an operator");
            }
            Ok(SafeModeAction::Get) => {}
            Err(_) => {
                return reply(Err(Error::InvalidArgument(format!(
                    "unknown safe mode action {action}"
                ))));
            }
        }
        reply(Ok(SafeModeResponse {
            on: cluster.safe_mode.is_on(),
            status: cluster.safe_mode.status(),
        }))
    }

    async fn list_unhealthy_blocks(
        &self,
        request: Request<ListUnhealthyBlocksRequest>,
    ) -> std::result::Result<Response<ListUnhealthyBlocksResponse>, Status> {
        reply(Ok(list_unhealthy(&self.state, request.into_inner().limit)))
    }

    async fn checkpoint(
        &self,
        _: Request<Empty>,
    ) -> std::result::Result<Response<CheckpointResponse>, Status> {
        reply(
            self.state
                .journal
                .checkpoint()
                .await
                .map(|txid| CheckpointResponse { txid }),
        )
    }
}
