//! `WorkerProtocol`: registration, heartbeats carrying commands back, block reports, and the
//! end of lease recovery.

use super::{MasterState, reply};
use crate::blocks::{Replica, ReplicaState};
use crate::cluster::Verdict;
use crate::namespace::Outcome;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;
use strata_core::{BlockId, Error, Result, now_millis};
use strata_proto::journal::{self, entry::Op};
use strata_proto::rpc::worker_protocol_server::WorkerProtocol;
use strata_proto::rpc::*;
use tonic::{Request, Response, Status};

/// The `WorkerProtocol` service.
#[derive(Debug, Clone)]
pub struct WorkerService {
    state: Arc<MasterState>,
}

impl WorkerService {
    /// A service over the shared master state.
    pub fn new(state: Arc<MasterState>) -> WorkerService {
        WorkerService { state }
    }

    fn register(&self, req: RegisterRequest) -> Result<RegisterResponse> {
        let address = req
            .worker
            .ok_or_else(|| Error::InvalidArgument("registration without an address".to_string()))?;
        if address.id.is_empty() || address.id.len() > 256 {
            return Err(Error::InvalidArgument(
                "a worker id of 1 to 256 bytes is required".into(),
            ));
        }
        if address
            .data_address
            .parse::<std::net::SocketAddr>()
            .is_err()
            && !address.data_address.contains(':')
        {
            return Err(Error::InvalidArgument(format!(
                "worker {}: data address {:?} is not HOST:PORT",
                address.id, address.data_address
            )));
        }
        let mut cluster = self.state.cluster.lock();
        if !req.cluster_id.is_empty() && req.cluster_id != cluster.cluster_id {
            return Err(Error::InvalidArgument(format!(
                "worker {} belongs to cluster {} but this master serves cluster {}",
                address.id, req.cluster_id, cluster.cluster_id
            )));
        }
        if let Some(idx) = cluster.workers.by_id(&address.id) {
            cluster.worker_restarted(idx);
        }
        let storage = req.storage.unwrap_or_default();
        let id = address.id.clone();
        let data_address = address.data_address.clone();
        let rack = address.rack.clone();
        let (idx, new) = cluster.workers.register(address, storage, Instant::now());
        tracing::info!(worker = %id, %data_address, %rack, new, "worker registered");
        self.state.partial_reports.lock().remove(&idx);
        Ok(RegisterResponse {
            cluster_id: cluster.cluster_id.clone(),
            heartbeat_interval_ms: self.state.config.heartbeat_interval.as_millis() as u64,
            block_report_interval_ms: self.state.config.block_report_interval.as_millis() as u64,
        })
    }

    fn heartbeat(&self, req: HeartbeatRequest) -> HeartbeatResponse {
        let mut cluster = self.state.cluster.lock();
        let Some(idx) = cluster.workers.by_id(&req.worker_id) else {
            return HeartbeatResponse {
                reregister: true,
                ..Default::default()
            };
        };
        let Some(entry) = cluster.workers.get_mut(idx) else {
            return HeartbeatResponse {
                reregister: true,
                ..Default::default()
            };
        };
        if !entry.alive {
            return HeartbeatResponse {
                reregister: true,
                ..Default::default()
            };
        }
        entry.last_heartbeat = Instant::now();
        if let Some(storage) = req.storage {
            entry.storage = storage;
        }
        entry.active_operations = req.active_operations;
        HeartbeatResponse {
            commands: entry.commands.drain(..).collect(),
            reregister: false,
            decommissioned: entry.admin == crate::workers::AdminState::Decommissioned,
        }
    }

    fn block_report(&self, req: BlockReportRequest) -> Result<Empty> {
        let idx = self
            .state
            .cluster
            .lock()
            .workers
            .by_id(&req.worker_id)
            .ok_or_else(|| Error::InvalidArgument(format!("unknown worker {}", req.worker_id)))?;
        let complete = {
            let mut partial = self.state.partial_reports.lock();
            let entry = partial
                .entry(idx)
                .or_insert_with(|| (req.report_id, Vec::new()));
            if entry.0 != req.report_id || req.chunk_index == 0 {
                *entry = (req.report_id, Vec::new());
            }
            entry.1.extend(req.blocks);
            if req.last_chunk {
                partial.remove(&idx).map(|(_, blocks)| blocks)
            } else {
                None
            }
        };
        let Some(blocks) = complete else {
            return Ok(Empty {});
        };
        let ns = self.state.namespace.read();
        let mut cluster = self.state.cluster.lock();
        let mut previously: HashSet<BlockId> = cluster.blocks.blocks_on(idx).collect();
        let (mut orphans, mut corrupt) = (0, 0);
        for reported in &blocks {
            previously.remove(&BlockId(reported.id));
            match cluster.record_replica(&ns, idx, reported) {
                Verdict::Orphan => orphans += 1,
                Verdict::Corrupt => corrupt += 1,
                Verdict::Accept | Verdict::Outdated => {}
            }
        }
        for gone in previously {
            cluster.blocks.remove(gone, idx);
            cluster.replication.mark(gone);
        }
        tracing::info!(worker = %req.worker_id, blocks = blocks.len(), orphans, corrupt,
            "full block report processed");
        Ok(Empty {})
    }

    fn incremental_report(&self, req: IncrementalBlockReport) -> Result<Empty> {
        let ns = self.state.namespace.read();
        let mut cluster = self.state.cluster.lock();
        let idx = cluster
            .workers
            .by_id(&req.worker_id)
            .ok_or_else(|| Error::InvalidArgument(format!("unknown worker {}", req.worker_id)))?;
        for received in &req.received {
            cluster.record_replica(&ns, idx, received);
        }
        for deleted in &req.deleted {
            let block = BlockId(deleted.id);
            let matches = cluster
                .blocks
                .replicas(block)
                .iter()
                .any(|r| r.worker == idx && r.generation <= deleted.generation);
            if matches {
                cluster.blocks.remove(block, idx);
                cluster.replication.mark(block);
            }
            cluster.replication.invalidation_settled(block, idx);
        }
        Ok(Empty {})
    }

    /// Which replicas a worker may drop from its full slowest tier: only blocks of files
    /// persisted in under storage and not pinned.
    fn release_replicas(&self, req: ReleaseReplicasRequest) -> ReleaseReplicasResponse {
        let ns = self.state.namespace.read();
        let released = (req.blocks.iter())
            .filter(|block| ns.is_droppable(BlockId(block.id)))
            .map(|block| block.id)
            .collect();
        ReleaseReplicasResponse { released }
    }

    async fn commit_block_recovery(&self, req: CommitBlockRecoveryRequest) -> Result<Empty> {
        let block = req
            .block
            .ok_or_else(|| Error::InvalidArgument("recovery commit without a block".to_string()))?;
        let id = BlockId(block.id);
        let inode = self
            .state
            .namespace
            .read()
            .owner_of(id)
            .ok_or_else(|| Error::NotFound {
                path: format!("<file of {id}>"),
            })?;
        let op = Op::CommitBlockRecovery(journal::CommitBlockRecovery {
            inode_id: inode.0,
            block_id: block.id,
            new_generation: block.generation,
            length: block.length,
            drop_last_block: false,
            time: now_millis(),
        });
        match self.state.submit(op).await? {
            Outcome::Completed => {}
            other => return Err(super::unexpected(other)),
        }
        // Internal blocks of a group arrive through the holders' own reports.
        if !id.is_striped() {
            let mut cluster = self.state.cluster.lock();
            for worker_id in &req.worker_ids {
                if let Some(w) = cluster.workers.by_id(worker_id) {
                    cluster.blocks.add(
                        id,
                        Replica {
                            worker: w,
                            generation: block.generation,
                            length: block.length,
                            state: ReplicaState::Finalized,
                            corrupt: false,
                            medium: None,
                        },
                    );
                }
            }
        }
        self.state.cluster.lock().replication.mark(id);
        self.state.leases.lock().remove_file(inode);
        tracing::info!(block = %id, length = block.length, generation = block.generation,
            "lease recovery committed; file closed");
        Ok(Empty {})
    }
}

#[tonic::async_trait]
impl WorkerProtocol for WorkerService {
    async fn register(
        &self,
        request: Request<RegisterRequest>,
    ) -> std::result::Result<Response<RegisterResponse>, Status> {
        reply(self.register(request.into_inner()))
    }

    async fn heartbeat(
        &self,
        request: Request<HeartbeatRequest>,
    ) -> std::result::Result<Response<HeartbeatResponse>, Status> {
        reply(Ok(self.heartbeat(request.into_inner())))
    }

    async fn block_report(
        &self,
        request: Request<BlockReportRequest>,
    ) -> std::result::Result<Response<Empty>, Status> {
        reply(self.block_report(request.into_inner()))
    }

    async fn block_received_and_deleted(
        &self,
        request: Request<IncrementalBlockReport>,
    ) -> std::result::Result<Response<Empty>, Status> {
        reply(self.incremental_report(request.into_inner()))
    }

    async fn commit_block_recovery(
        &self,
        request: Request<CommitBlockRecoveryRequest>,
    ) -> std::result::Result<Response<Empty>, Status> {
        reply(self.commit_block_recovery(request.into_inner()).await)
    }

    async fn report_bad_blocks(
        &self,
        request: Request<ReportBadBlocksRequest>,
    ) -> std::result::Result<Response<Empty>, Status> {
        super::client::report_bad_replicas(&self.state, &request.into_inner().replicas);
        reply(Ok(Empty {}))
    }

    async fn release_replicas(
        &self,
        request: Request<ReleaseReplicasRequest>,
    ) -> std::result::Result<Response<ReleaseReplicasResponse>, Status> {
        reply(Ok(self.release_replicas(request.into_inner())))
    }

    async fn get_mount(
        &self,
        request: Request<GetMountRequest>,
    ) -> std::result::Result<Response<MountInfo>, Status> {
        let wanted = request.into_inner().path;
        let ns = self.state.namespace.read();
        let found = ns.mounts().into_iter().find(|m| m.path == wanted);
        reply(
            found
                .map(|m| super::mounts::mount_info(&m, false))
                .ok_or_else(|| Error::InvalidOperation {
                    path: wanted,
                    reason: "not a mount point".to_string(),
                }),
        )
    }
}
