//! `ClientProtocol`: the namespace and block allocation, as clients see them.

use super::metadata_sync::{Use, refresh};
use super::{
    MasterState, locate, locate_being_written, locate_group, read_through_worker, reply, ufs_block,
    ufs_rename, unexpected,
};
use crate::audit::AuditEntry;
use crate::blocks::cached_share;
use crate::cluster::Cluster;
use crate::namespace::{Namespace, Outcome};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;
use strata_core::checksum::DEFAULT_CHUNK_SIZE;
use strata_core::{BlockId, Error, Result, StrataPath, now_millis};
use strata_ec::EcPolicy;
use strata_ec::policy::REPLICATION;
use strata_proto::journal::{self, entry::Op};
use strata_proto::rpc::client_protocol_server::ClientProtocol;
use strata_proto::rpc::*;
use tonic::{Request, Response, Status};

/// The `ClientProtocol` service.
#[derive(Debug, Clone)]
pub struct ClientService {
    pub(super) state: Arc<MasterState>,
}

impl ClientService {
    /// A service over the shared master state.
    pub fn new(state: Arc<MasterState>) -> ClientService {
        ClientService { state }
    }
}

type RpcResult<T> = std::result::Result<Response<T>, Status>;

impl ClientService {
    /// Writes a request's audit line, logs a failure (as a warning when the master itself
    /// failed) and turns the result into the reply.
    fn answer<T>(&self, entry: AuditEntry, result: Result<T>) -> RpcResult<T> {
        if let Err(e) = &result {
            let (cmd, path) = (entry.command(), entry.source());
            match e {
                Error::Internal(_) | Error::Io(_) => {
                    tracing::warn!(cmd, path, error = %e, "request failed")
                }
                _ => tracing::debug!(cmd, path, error = %e, "request refused"),
            }
        }
        self.state.audit.record(entry, &result);
        reply(result)
    }
}

pub(super) fn path(text: &str) -> Result<StrataPath> {
    StrataPath::parse(text)
}

/// Deletes `p` (first in under storage when it is under a mount), drops its blocks from the
/// workers and its write leases; whether it existed.
pub(super) async fn delete_path(
    state: &MasterState,
    p: &StrataPath,
    recursive: bool,
) -> Result<bool> {
    state.check_writable()?;
    super::mounts::delete_in_under_storage(state, p, recursive).await?;
    let op = Op::Delete(journal::Delete {
        path: p.to_string(),
        recursive,
        time: now_millis(),
    });
    let Outcome::Deleted {
        existed,
        blocks,
        open_files,
    } = state.submit(op).await?
    else {
        return Err(Error::Internal("delete produced nothing".to_string()));
    };
    state.cluster.lock().invalidate(&blocks);
    let mut leases = state.leases.lock();
    for file in open_files {
        leases.remove_file(file);
    }
    Ok(existed)
}

impl ClientService {
    async fn get_block_locations(
        &self,
        req: GetBlockLocationsRequest,
        client_ip: Option<IpAddr>,
    ) -> Result<GetBlockLocationsResponse> {
        let p = path(&req.path)?;
        refresh(&self.state, &p, Use::Entry).await?;
        let (response, stale_atime) = {
            let ns = self.state.namespace.read();
            let found = ns.file_blocks(&p, req.offset, req.length)?;
            let cluster = self.state.cluster.lock();
            let being_written = (found.being_written.as_ref())
                .filter(|_| req.with_block_being_written && found.policy.is_none())
                .map(|b| locate_being_written(&cluster, &b.record, b.offset, client_ip));
            let blocks = found
                .blocks
                .iter()
                .map(|b| match &found.policy {
                    Some(policy) => locate_group(&cluster, &b.record, policy, b.offset),
                    None => {
                        let mut located =
                            locate(&cluster, &b.record, found.replication, b.offset, client_ip);
                        if let Some(source) = &found.ufs {
                            located.ufs = Some(ufs_block(source, b));
                            if located.locations.is_empty() {
                                located.locations.extend(read_through_worker(
                                    &cluster,
                                    b.record.id,
                                    client_ip,
                                ));
                            }
                        }
                        located
                    }
                })
                .chain(being_written)
                .collect();
            let precision = self.state.config.atime_precision.as_millis() as i64;
            let stale = now_millis() - found.status.access_time > precision;
            (
                GetBlockLocationsResponse {
                    status: Some(found.status),
                    blocks,
                },
                stale && !cluster.safe_mode.is_on(),
            )
        };
        if stale_atime {
            let state = self.state.clone();
            let op = Op::SetTimes(journal::SetTimes {
                path: p.to_string(),
                modification_time: -1,
                access_time: now_millis(),
            });
            tokio::spawn(async move {
                let _ = state.submit(op).await;
            });
        }
        Ok(response)
    }

    async fn delete(&self, req: DeleteRequest) -> Result<DeleteResponse> {
        let p = path(&req.path)?;
        let deleted = delete_path(&self.state, &p, req.recursive).await?;
        Ok(DeleteResponse { deleted })
    }

    async fn simple_change(&self, op: Op) -> Result<Empty> {
        self.state.check_writable()?;
        match self.state.submit(op).await? {
            Outcome::ReplicationChanged(blocks) => {
                self.state.cluster.lock().replication.mark_all(blocks);
            }
            Outcome::Renamed { replaced } => {
                self.state.cluster.lock().invalidate(&replaced);
            }
            Outcome::Truncated { dropped, moved } => {
                let mut cluster = self.state.cluster.lock();
                cluster.invalidate(&dropped);
                cluster.replication.mark_all(moved);
            }
            Outcome::Done => {}
            other => return Err(unexpected(other)),
        }
        Ok(Empty {})
    }

    fn ec_policies(&self) -> ListEcPoliciesResponse {
        let ns = self.state.namespace.read();
        ListEcPoliciesResponse {
            policies: ns
                .ec_policies()
                .into_iter()
                .map(|(p, built_in)| policy_info(&p, built_in))
                .collect(),
        }
    }

    async fn add_ec_policy(&self, req: AddEcPolicyRequest) -> Result<EcPolicyInfo> {
        self.state.check_writable()?;
        let policy =
            EcPolicy::parse(&req.name).map_err(|e| Error::InvalidArgument(e.to_string()))?;
        let op = Op::AddEcPolicy(journal::AddEcPolicy {
            name: policy.name(),
        });
        self.state.submit(op).await?;
        let built_in = EcPolicy::built_in().contains(&policy);
        Ok(policy_info(&policy, built_in))
    }

    async fn set_ec_policy(&self, req: SetEcPolicyRequest) -> Result<Empty> {
        let p = path(&req.path)?;
        self.state.check_writable()?;
        if !req.policy.is_empty() && req.policy != REPLICATION {
            let policy = self
                .state
                .namespace
                .read()
                .ec_policy(&req.policy)
                .ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "unknown erasure coding policy {:?} (see `strata ec list`)",
                        req.policy
                    ))
                })?;
            super::check_enough_workers(&self.state.cluster.lock(), &policy)?;
        }
        let op = Op::SetEcPolicy(journal::SetEcPolicy {
            path: p.to_string(),
            policy: req.policy,
        });
        self.simple_change(op).await
    }

    fn get_ec_policy(&self, req: GetEcPolicyRequest) -> Result<GetEcPolicyResponse> {
        let p = path(&req.path)?;
        let ns = self.state.namespace.read();
        let id = ns.resolve(&p)?;
        if let Some(file) = ns.inode(id)?.file() {
            return Ok(GetEcPolicyResponse {
                policy: file
                    .ec_policy
                    .clone()
                    .unwrap_or_else(|| REPLICATION.to_string()),
                set_on: p.to_string(),
            });
        }
        Ok(match ns.inherited_ec(id)? {
            Some((policy, dir)) => GetEcPolicyResponse {
                policy,
                set_on: ns.path_of(dir)?,
            },
            None => GetEcPolicyResponse {
                policy: REPLICATION.to_string(),
                set_on: String::new(),
            },
        })
    }

    fn report_bad_blocks(&self, req: ReportBadBlocksRequest) -> Result<Empty> {
        report_bad_replicas(&self.state, &req.replicas);
        Ok(Empty {})
    }
}

/// Marks replicas that a reader or scanner found damaged; the monitor replaces them.
pub(crate) fn report_bad_replicas(state: &MasterState, replicas: &[BadReplica]) {
    let mut cluster = state.cluster.lock();
    for bad in replicas {
        let Some(block) = &bad.block else { continue };
        let Some(worker) = cluster.workers.by_id(&bad.worker_id) else {
            continue;
        };
        let id = BlockId(block.id);
        if cluster.blocks.mark_corrupt(id, worker) {
            tracing::warn!(block = %id, worker = %bad.worker_id, "replica reported corrupt");
            let Cluster {
                replication,
                workers,
                ..
            } = &mut *cluster;
            replication.source_failed(id, worker, workers);
        }
    }
}

fn policy_info(policy: &EcPolicy, built_in: bool) -> EcPolicyInfo {
    EcPolicyInfo {
        name: policy.name(),
        data_units: policy.data as u32,
        parity_units: policy.parity as u32,
        cell_size: policy.cell,
        built_in,
    }
}

fn list_page(
    ns: &Namespace,
    p: &StrataPath,
    req: &ListStatusRequest,
    limit: usize,
) -> Result<ListStatusResponse> {
    let (mut entries, remaining) = ns.list(p, &req.start_after, limit)?;
    for entry in &mut entries {
        attach_xattrs(ns, entry, &req.xattrs)?;
    }
    Ok(ListStatusResponse {
        entries,
        has_more: remaining > 0,
        remaining,
    })
}

/// Copies the named extended attributes of `status`'s inode, those it has, into `status`.
fn attach_xattrs(ns: &Namespace, status: &mut FileStatus, names: &[String]) -> Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    let xattrs = &ns.inode(strata_core::InodeId(status.inode_id))?.xattrs;
    status.xattrs = names
        .iter()
        .filter_map(|name| Some((name.clone(), xattrs.get(name)?.clone())))
        .collect();
    Ok(())
}

#[tonic::async_trait]
impl ClientProtocol for ClientService {
    async fn get_server_defaults(&self, _: Request<Empty>) -> RpcResult<ServerDefaults> {
        let c = &self.state.config;
        reply(Ok(ServerDefaults {
            block_size: c.default_block_size.bytes(),
            replication: c.default_replication,
            chunk_size: DEFAULT_CHUNK_SIZE,
            lease_timeout_ms: c.lease_timeout.as_millis() as u64,
        }))
    }

    async fn mkdirs(&self, request: Request<MkdirsRequest>) -> RpcResult<Empty> {
        let entry = AuditEntry::of(&request, "mkdirs", &request.get_ref().path, None);
        let req = request.into_inner();
        let result = async {
            let p = path(&req.path)?;
            self.state.check_writable()?;
            let op = Op::Mkdir(journal::Mkdir {
                path: p.to_string(),
                owner: req.user,
                group: String::new(),
                mode: if req.mode == 0 { 0o755 } else { req.mode },
                time: now_millis(),
                create_parents: req.create_parents,
            });
            self.state.submit(op).await.map(|_| Empty {})
        }
        .await;
        self.answer(entry, result)
    }

    async fn create(&self, request: Request<CreateRequest>) -> RpcResult<CreateResponse> {
        let entry = AuditEntry::of(&request, "create", &request.get_ref().path, None);
        self.answer(entry, self.create(request.into_inner()).await)
    }

    async fn append(&self, request: Request<AppendRequest>) -> RpcResult<AppendResponse> {
        let ip = request.remote_addr().map(|a| a.ip());
        let entry = AuditEntry::of(&request, "append", &request.get_ref().path, None);
        self.answer(entry, self.append(request.into_inner(), ip).await)
    }

    async fn add_block(&self, request: Request<AddBlockRequest>) -> RpcResult<AddBlockResponse> {
        let ip = request.remote_addr().map(|a| a.ip());
        reply(self.add_block(request.into_inner(), ip).await)
    }

    async fn abandon_block(&self, request: Request<AbandonBlockRequest>) -> RpcResult<Empty> {
        reply(self.abandon_block(request.into_inner()).await)
    }

    async fn recover_pipeline(
        &self,
        request: Request<RecoverPipelineRequest>,
    ) -> RpcResult<RecoverPipelineResponse> {
        reply(self.recover_pipeline(request.into_inner()).await)
    }

    async fn complete(&self, request: Request<CompleteRequest>) -> RpcResult<CompleteResponse> {
        reply(self.complete(request.into_inner()).await)
    }

    async fn renew_lease(&self, request: Request<RenewLeaseRequest>) -> RpcResult<Empty> {
        let req = request.into_inner();
        self.state
            .leases
            .lock()
            .renew(&req.client_name, Instant::now());
        reply(Ok(Empty {}))
    }

    async fn get_block_locations(
        &self,
        request: Request<GetBlockLocationsRequest>,
    ) -> RpcResult<GetBlockLocationsResponse> {
        let ip = request.remote_addr().map(|a| a.ip());
        let entry = AuditEntry::of(&request, "open", &request.get_ref().path, None);
        self.answer(
            entry,
            self.get_block_locations(request.into_inner(), ip).await,
        )
    }

    async fn get_file_info(
        &self,
        request: Request<GetFileInfoRequest>,
    ) -> RpcResult<GetFileInfoResponse> {
        let entry = AuditEntry::of(&request, "getfileinfo", &request.get_ref().path, None);
        let req = request.into_inner();
        let result = async {
            let p = path(&req.path)?;
            refresh(&self.state, &p, Use::Entry).await?;
            let ns = self.state.namespace.read();
            let mut status = ns.file_info(&p)?;
            if let Some(status) = status.as_mut() {
                attach_xattrs(&ns, status, &req.xattrs)?;
                let inode = ns.inode(strata_core::InodeId(status.inode_id))?;
                if let Some(file) = inode.file() {
                    let cluster = self.state.cluster.lock();
                    let share = cached_share(
                        &file.blocks,
                        file.replication,
                        ns.file_policy(file).as_ref(),
                        &cluster.blocks,
                        &cluster.workers,
                    );
                    status.cached_bytes = share.cached_bytes;
                    status.tier_bytes = share
                        .tier_bytes
                        .into_iter()
                        .map(|(medium, bytes)| (medium.name().to_string(), bytes))
                        .collect();
                }
            }
            Ok(GetFileInfoResponse { status })
        }
        .await;
        self.answer(entry, result)
    }

    async fn list_status(
        &self,
        request: Request<ListStatusRequest>,
    ) -> RpcResult<ListStatusResponse> {
        let entry = AuditEntry::of(&request, "listStatus", &request.get_ref().path, None);
        let req = request.into_inner();
        let max = self.state.config.list_page_size.max(1) as usize;
        let limit = if req.limit == 0 {
            max
        } else {
            (req.limit as usize).min(max)
        };
        let result = async {
            let p = path(&req.path)?;
            if req.start_after.is_empty() {
                refresh(&self.state, &p, Use::Listing).await?;
            }
            let ns = self.state.namespace.read();
            list_page(&ns, &p, &req, limit)
        }
        .await;
        self.answer(entry, result)
    }

    async fn rename(&self, request: Request<RenameRequest>) -> RpcResult<Empty> {
        let entry = AuditEntry::of(
            &request,
            "rename",
            &request.get_ref().source,
            Some(&request.get_ref().destination),
        );
        let req = request.into_inner();
        let result = async {
            let source = path(&req.source)?;
            let destination = path(&req.destination)?;
            let op = journal::Rename {
                source: source.to_string(),
                destination: destination.to_string(),
                time: now_millis(),
                overwrite: req.overwrite,
                if_destination: req.if_destination.map(|v| journal::FileVersion {
                    modification_time: v.modification_time,
                    length: v.length,
                }),
            };
            self.state.check_writable()?;
            let moved = ufs_rename::rename_in_under_storage(&self.state, &op).await?;
            let renamed = self.simple_change(Op::Rename(op)).await?;
            if let Some(moved) = moved {
                ufs_rename::refresh_fingerprints(&self.state, moved).await;
            }
            Ok(renamed)
        }
        .await;
        self.answer(entry, result)
    }

    async fn delete(&self, request: Request<DeleteRequest>) -> RpcResult<DeleteResponse> {
        let entry = AuditEntry::of(&request, "delete", &request.get_ref().path, None);
        self.answer(entry, self.delete(request.into_inner()).await)
    }

    async fn set_replication(&self, request: Request<SetReplicationRequest>) -> RpcResult<Empty> {
        let entry = AuditEntry::of(&request, "setReplication", &request.get_ref().path, None);
        let req = request.into_inner();
        let result = async {
            let p = path(&req.path)?;
            self.simple_change(Op::SetReplication(journal::SetReplication {
                path: p.to_string(),
                replication: req.replication,
            }))
            .await
        }
        .await;
        self.answer(entry, result)
    }

    async fn concat(&self, request: Request<ConcatRequest>) -> RpcResult<Empty> {
        let entry = AuditEntry::of(
            &request,
            "concat",
            &request.get_ref().sources.join(","),
            Some(&request.get_ref().target),
        );
        let req = request.into_inner();
        let result = async {
            let target = path(&req.target)?;
            let sources = (req.sources.iter())
                .map(|s| path(s).map(|p| p.to_string()))
                .collect::<Result<Vec<String>>>()?;
            self.simple_change(Op::Concat(journal::Concat {
                target: target.to_string(),
                sources,
                time: now_millis(),
            }))
            .await
        }
        .await;
        self.answer(entry, result)
    }

    async fn recover_lease(
        &self,
        request: Request<RecoverLeaseRequest>,
    ) -> RpcResult<RecoverLeaseResponse> {
        let entry = AuditEntry::of(&request, "recoverLease", &request.get_ref().path, None);
        let result = self.recover_lease(request.into_inner()).await;
        self.answer(entry, result)
    }

    async fn truncate(&self, request: Request<TruncateRequest>) -> RpcResult<Empty> {
        let entry = AuditEntry::of(&request, "truncate", &request.get_ref().path, None);
        let req = request.into_inner();
        let result = async {
            let tail = if req.tail.is_empty() {
                String::new()
            } else {
                path(&req.tail)?.to_string()
            };
            self.simple_change(Op::Truncate(journal::Truncate {
                path: path(&req.path)?.to_string(),
                new_length: req.new_length,
                tail,
                time: now_millis(),
                if_version: req.if_version.map(|v| journal::FileVersion {
                    modification_time: v.modification_time,
                    length: v.length,
                }),
            }))
            .await
        }
        .await;
        self.answer(entry, result)
    }

    async fn set_permission(&self, request: Request<SetPermissionRequest>) -> RpcResult<Empty> {
        let entry = AuditEntry::of(&request, "setPermission", &request.get_ref().path, None);
        let req = request.into_inner();
        let result = async {
            let p = path(&req.path)?;
            self.simple_change(Op::SetPermission(journal::SetPermission {
                path: p.to_string(),
                mode: req.mode,
            }))
            .await
        }
        .await;
        self.answer(entry, result)
    }

    async fn set_owner(&self, request: Request<SetOwnerRequest>) -> RpcResult<Empty> {
        let entry = AuditEntry::of(&request, "setOwner", &request.get_ref().path, None);
        let req = request.into_inner();
        let result = async {
            let p = path(&req.path)?;
            self.simple_change(Op::SetOwner(journal::SetOwner {
                path: p.to_string(),
                owner: req.owner,
                group: req.group,
            }))
            .await
        }
        .await;
        self.answer(entry, result)
    }

    async fn set_times(&self, request: Request<SetTimesRequest>) -> RpcResult<Empty> {
        let entry = AuditEntry::of(&request, "setTimes", &request.get_ref().path, None);
        let req = request.into_inner();
        let result = async {
            let p = path(&req.path)?;
            self.simple_change(Op::SetTimes(journal::SetTimes {
                path: p.to_string(),
                modification_time: req.modification_time,
                access_time: req.access_time,
            }))
            .await
        }
        .await;
        self.answer(entry, result)
    }

    async fn get_content_summary(
        &self,
        request: Request<GetContentSummaryRequest>,
    ) -> RpcResult<ContentSummary> {
        let entry = AuditEntry::of(&request, "contentSummary", &request.get_ref().path, None);
        let req = request.into_inner();
        let result = path(&req.path).and_then(|p| {
            let s = self.state.namespace.read().content_summary(&p)?;
            Ok(ContentSummary {
                length: s.length,
                file_count: s.files,
                directory_count: s.directories,
                space_consumed: s.space_consumed,
            })
        });
        self.answer(entry, result)
    }

    async fn report_bad_blocks(
        &self,
        request: Request<ReportBadBlocksRequest>,
    ) -> RpcResult<Empty> {
        reply(self.report_bad_blocks(request.into_inner()))
    }

    async fn list_ec_policies(&self, _: Request<Empty>) -> RpcResult<ListEcPoliciesResponse> {
        reply(Ok(self.ec_policies()))
    }

    async fn add_ec_policy(&self, request: Request<AddEcPolicyRequest>) -> RpcResult<EcPolicyInfo> {
        reply(self.add_ec_policy(request.into_inner()).await)
    }

    async fn set_ec_policy(&self, request: Request<SetEcPolicyRequest>) -> RpcResult<Empty> {
        let entry = AuditEntry::of(
            &request,
            "setErasureCodingPolicy",
            &request.get_ref().path,
            None,
        );
        self.answer(entry, self.set_ec_policy(request.into_inner()).await)
    }

    async fn get_ec_policy(
        &self,
        request: Request<GetEcPolicyRequest>,
    ) -> RpcResult<GetEcPolicyResponse> {
        let entry = AuditEntry::of(
            &request,
            "getErasureCodingPolicy",
            &request.get_ref().path,
            None,
        );
        self.answer(entry, self.get_ec_policy(request.into_inner()))
    }

    async fn mount(&self, request: Request<MountRequest>) -> RpcResult<Empty> {
        let req = request.get_ref();
        let entry = AuditEntry::of(&request, "mount", &req.path, Some(&req.uri));
        self.answer(entry, self.mount(request.into_inner()).await)
    }

    async fn unmount(&self, request: Request<UnmountRequest>) -> RpcResult<Empty> {
        let entry = AuditEntry::of(&request, "unmount", &request.get_ref().path, None);
        self.answer(entry, self.unmount(request.into_inner()).await)
    }

    async fn list_mounts(&self, _: Request<Empty>) -> RpcResult<ListMountsResponse> {
        reply(Ok(self.list_mounts()))
    }

    async fn sync_metadata(
        &self,
        request: Request<SyncMetadataRequest>,
    ) -> RpcResult<SyncMetadataResponse> {
        let entry = AuditEntry::of(&request, "syncMetadata", &request.get_ref().path, None);
        self.answer(entry, self.sync_metadata(request.into_inner()).await)
    }

    async fn persist(&self, request: Request<PersistRequest>) -> RpcResult<PersistResponse> {
        let entry = AuditEntry::of(&request, "persist", &request.get_ref().path, None);
        self.answer(entry, self.persist(request.into_inner()).await)
    }

    async fn set_pinned(&self, request: Request<SetPinnedRequest>) -> RpcResult<Empty> {
        let entry = AuditEntry::of(&request, "setPinned", &request.get_ref().path, None);
        self.answer(entry, self.set_pinned(request.into_inner()).await)
    }

    async fn free(&self, request: Request<FreeRequest>) -> RpcResult<FreeResponse> {
        let entry = AuditEntry::of(&request, "free", &request.get_ref().path, None);
        self.answer(entry, self.free(request.into_inner()).await)
    }

    async fn set_ttl(&self, request: Request<SetTtlRequest>) -> RpcResult<Empty> {
        let entry = AuditEntry::of(&request, "setTtl", &request.get_ref().path, None);
        self.answer(entry, self.set_ttl(request.into_inner()).await)
    }

    async fn set_x_attr(&self, request: Request<SetXAttrRequest>) -> RpcResult<Empty> {
        let entry = AuditEntry::of(&request, "setXAttr", &request.get_ref().path, None);
        let req = request.into_inner();
        let result = async {
            let p = path(&req.path)?;
            self.simple_change(Op::SetXAttr(journal::SetXAttr {
                path: p.to_string(),
                name: req.name,
                value: req.value,
                remove: req.remove,
                create: req.create,
                replace: req.replace,
            }))
            .await
        }
        .await;
        self.answer(entry, result)
    }

    async fn get_x_attrs(
        &self,
        request: Request<GetXAttrsRequest>,
    ) -> RpcResult<GetXAttrsResponse> {
        let entry = AuditEntry::of(&request, "getXAttrs", &request.get_ref().path, None);
        let req = request.into_inner();
        let result = async {
            let p = path(&req.path)?;
            refresh(&self.state, &p, Use::Entry).await?;
            let xattrs = self.state.namespace.read().xattrs(&p)?;
            Ok(GetXAttrsResponse {
                xattrs: xattrs.into_iter().collect(),
            })
        }
        .await;
        self.answer(entry, result)
    }
}
