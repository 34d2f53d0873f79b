//! The write path of `ClientProtocol`: creating and appending to files, allocating blocks and
//! placing their replicas, rebuilding failed pipelines, and closing files once their blocks
//! have enough finished replicas.

use super::client::{ClientService, path};
use super::{locate, unexpected};
use crate::blocks::{Replica, ReplicaState};
use crate::namespace::Outcome;
use crate::placement::{choose_spread, choose_targets};
use crate::workers::WorkerIdx;
use std::net::IpAddr;
use std::time::Instant;
use strata_core::{BlockId, Error, ExtendedBlock, InodeId, Result, StrataPath, now_millis};
use strata_proto::journal::{self, entry::Op};
use strata_proto::rpc::*;

fn client_name(name: &str) -> Result<&str> {
    if name.is_empty() || name.len() > 1024 {
        return Err(Error::InvalidArgument(
            "a client name of 1 to 1024 bytes is required".to_string(),
        ));
    }
    Ok(name)
}

impl ClientService {
    /// Fails when another client's lease on the file at `path` has expired: recovery starts and
    /// the caller is told to come back.
    fn check_takeover(&self, path: &StrataPath) -> Result<()> {
        let open = {
            let ns = self.state.namespace.read();
            match ns.lookup(path)? {
                Some(id) => ns
                    .inode(id)?
                    .file()
                    .and_then(|f| f.writer.clone())
                    .map(|_| id),
                None => None,
            }
        };
        let Some(inode) = open else { return Ok(()) };
        let leases = self.state.leases.lock();
        if leases.is_recovering(inode) {
            return Err(Error::RecoveryInProgress {
                path: path.to_string(),
            });
        }
        if leases.is_expired(inode, self.state.config.lease_timeout, Instant::now()) {
            drop(leases);
            let state = self.state.clone();
            tokio::spawn(async move { super::recovery::recover_file(&state, inode).await });
            return Err(Error::RecoveryInProgress {
                path: path.to_string(),
            });
        }
        Ok(())
    }

    /// HDFS's recoverLease: a file open for writing is recovered now, whoever holds its lease
    /// (its writer is fenced off: recovery bumps the last block's generation stamp). Answers
    /// whether the file is closed; a recovery that stalled longer than the lease timeout is
    /// started again.
    pub(super) async fn recover_lease(
        &self,
        req: RecoverLeaseRequest,
    ) -> Result<RecoverLeaseResponse> {
        let p = path(&req.path)?;
        self.state.check_writable()?;
        let inode = {
            let ns = self.state.namespace.read();
            let id = ns.resolve(&p)?;
            let file = ns.inode(id)?.file().ok_or_else(|| Error::IsADirectory {
                path: p.to_string(),
            })?;
            if file.writer.is_none() {
                return Ok(RecoverLeaseResponse { closed: true });
            }
            id
        };
        let timeout = self.state.config.lease_timeout;
        let idle = !self
            .state
            .leases
            .lock()
            .is_recovering_since(inode, timeout, Instant::now());
        if idle {
            tracing::info!(path = %p, "lease recovery asked for");
            super::recovery::recover_file(&self.state, inode).await;
        }
        let ns = self.state.namespace.read();
        let closed =
            (ns.inode(inode).ok().and_then(|i| i.file())).is_none_or(|f| f.writer.is_none());
        Ok(RecoverLeaseResponse { closed })
    }

    fn check_not_recovering(&self, inode: InodeId, path: &str) -> Result<()> {
        if self.state.leases.lock().is_recovering(inode) {
            return Err(Error::RecoveryInProgress {
                path: path.to_string(),
            });
        }
        Ok(())
    }

    fn inode_path(&self, inode: u64, path_text: &str) -> Result<(InodeId, String)> {
        if inode != 0 {
            return Ok((InodeId(inode), path_text.to_string()));
        }
        let p = path(path_text)?;
        let id = self.state.namespace.read().resolve(&p)?;
        Ok((id, p.to_string()))
    }

    pub(super) async fn create(&self, req: CreateRequest) -> Result<CreateResponse> {
        let p = path(&req.path)?;
        let client = client_name(&req.client_name)?.to_string();
        self.state.check_writable()?;
        self.check_takeover(&p)?;
        let policy = self.state.namespace.read().layout_for(&p, &req.ec_policy)?;
        if let Some(policy) = &policy {
            super::check_enough_workers(&self.state.cluster.lock(), policy)?;
        }
        let config = &self.state.config;
        let mut block_size = if req.block_size == 0 {
            config.default_block_size.bytes()
        } else {
            req.block_size
        };
        if let Some(policy) = &policy {
            // Internal blocks hold whole cells.
            let cell = policy.cell as u64;
            block_size = (block_size / cell).max(1) * cell;
        }
        let op = Op::CreateFile(journal::CreateFile {
            path: p.to_string(),
            owner: req.user,
            group: String::new(),
            mode: if req.mode == 0 { 0o644 } else { req.mode },
            time: now_millis(),
            replication: if req.replication == 0 {
                config.default_replication
            } else {
                req.replication
            },
            block_size,
            client_name: client.clone(),
            overwrite: req.overwrite,
            create_parents: req.create_parents,
            ec_policy: req.ec_policy,
            write_type: req.write_type,
        });
        match self.state.submit(op).await? {
            Outcome::Created { status, replaced } => {
                self.state
                    .leases
                    .lock()
                    .add(&client, InodeId(status.inode_id), Instant::now());
                self.state.cluster.lock().invalidate(&replaced);
                Ok(CreateResponse {
                    status: Some(status),
                })
            }
            other => Err(unexpected(other)),
        }
    }

    pub(super) async fn append(
        &self,
        req: AppendRequest,
        client_ip: Option<IpAddr>,
    ) -> Result<AppendResponse> {
        let p = path(&req.path)?;
        let client = client_name(&req.client_name)?.to_string();
        self.state.check_writable()?;
        self.check_takeover(&p)?;
        {
            let ns = self.state.namespace.read();
            let id = ns.resolve(&p)?;
            let inode = ns.inode(id)?;
            let file = inode.file().ok_or_else(|| Error::IsADirectory {
                path: p.to_string(),
            })?;
            if let Some(last) = file.blocks.last()
                && last.length < file.block_size
            {
                let cluster = self.state.cluster.lock();
                let located = locate(&cluster, last, file.replication, 0, client_ip);
                if located.locations.is_empty() {
                    return Err(Error::BlockUnavailable {
                        path: p.to_string(),
                        block: last.id.to_string(),
                        reason: "no live replica of the last block to append to".to_string(),
                    });
                }
            }
        }
        let op = Op::AppendFile(journal::AppendFile {
            path: p.to_string(),
            client_name: client.clone(),
            time: now_millis(),
        });
        let Outcome::Appending { status, last_block } = self.state.submit(op).await? else {
            return Err(Error::Internal("append produced no file".to_string()));
        };
        let inode = InodeId(status.inode_id);
        self.state.leases.lock().add(&client, inode, Instant::now());
        let last_block = last_block.map(|(block, offset)| {
            let cluster = self.state.cluster.lock();
            let mut record = crate::namespace::BlockRecord {
                id: block.id,
                generation: block.generation,
                length: block.length,
                complete: true,
            };
            // Replicas still carry the generation before the append.
            let holders: Vec<WorkerAddress> = cluster
                .blocks
                .replicas(block.id)
                .iter()
                .filter(|r| {
                    !r.corrupt
                        && r.state == ReplicaState::Finalized
                        && r.length == block.length
                        && cluster.workers.is_alive(r.worker)
                })
                .filter_map(|r| cluster.workers.get(r.worker).map(|w| w.address.clone()))
                .collect();
            record.complete = false;
            LocatedBlock {
                block: Some(record.extended().into()),
                offset,
                locations: holders,
                complete: false,
                ufs: None,
                indices: Vec::new(),
            }
        });
        Ok(AppendResponse {
            status: Some(status),
            last_block,
        })
    }

    pub(super) async fn add_block(
        &self,
        req: AddBlockRequest,
        client_ip: Option<IpAddr>,
    ) -> Result<AddBlockResponse> {
        let client = client_name(&req.client_name)?.to_string();
        self.state.check_writable()?;
        let (inode, path_text) = self.inode_path(req.inode_id, &req.path)?;
        self.check_not_recovering(inode, &path_text)?;
        let (replication, block_size, policy) = {
            let ns = self.state.namespace.read();
            let file =
                ns.inode(inode)
                    .ok()
                    .and_then(|i| i.file())
                    .ok_or_else(|| Error::NotFound {
                        path: path_text.clone(),
                    })?;
            (file.replication, file.block_size, ns.file_policy(file))
        };
        let targets = {
            let ns = self.state.namespace.read();
            let cluster = self.state.cluster.lock();
            let excluded: Vec<WorkerIdx> = req
                .excluded_workers
                .iter()
                .filter_map(|id| cluster.workers.by_id(id))
                .collect();
            let mut candidates = cluster.placement_candidates();
            cluster.count_droppable(&ns, &mut candidates, block_size);
            if let Some(policy) = &policy {
                let targets = choose_spread(
                    &candidates,
                    policy.units(),
                    &excluded,
                    &[],
                    block_size,
                    &mut rand::rng(),
                );
                if targets.len() < policy.units() {
                    return Err(Error::NotEnoughWorkers {
                        reason: format!(
                            "{path_text}: {policy} needs {} workers with {block_size} bytes free, {} are available",
                            policy.units(),
                            targets.len()
                        ),
                    });
                }
                targets
            } else {
                let writer = client_ip.and_then(|ip| {
                    let ip = ip.to_string();
                    let local: Vec<WorkerIdx> = candidates
                        .iter()
                        .filter(|c| {
                            !excluded.contains(&c.idx)
                                && c.remaining >= block_size
                                && cluster.workers.get(c.idx).is_some_and(|w| w.host() == ip)
                        })
                        .map(|c| c.idx)
                        .collect();
                    use rand::seq::IndexedRandom;
                    local.choose(&mut rand::rng()).copied()
                });
                let targets = choose_targets(
                    &candidates,
                    replication as usize,
                    writer,
                    &[],
                    &excluded,
                    block_size,
                    &mut rand::rng(),
                );
                pipeline_order(&cluster, targets)
            }
        };
        if targets.is_empty() {
            return Err(Error::NotEnoughWorkers {
                reason: format!(
                    "{path_text}: no live worker with {block_size} bytes free can take a new block"
                ),
            });
        }
        let previous = req.previous.as_ref().map(|b| journal::BlockRecord {
            id: b.id,
            generation: b.generation,
            length: b.length,
            complete: true,
        });
        let op = Op::AddBlock(journal::AddBlock {
            inode_id: inode.0,
            client_name: client.clone(),
            previous,
        });
        let Outcome::BlockAdded { block, offset, .. } = self.state.submit(op).await? else {
            return Err(Error::Internal("add block allocated nothing".to_string()));
        };
        let striped = policy.is_some();
        let mut cluster = self.state.cluster.lock();
        for (index, t) in targets.iter().enumerate() {
            let id = if striped {
                block.id.internal(index)
            } else {
                block.id
            };
            cluster.blocks.add(
                id,
                Replica {
                    worker: *t,
                    generation: block.generation,
                    length: 0,
                    state: ReplicaState::BeingWritten,
                    corrupt: false,
                    medium: None,
                },
            );
        }
        if let Some(prev) = previous {
            cluster.replication.mark(BlockId(prev.id));
        }
        let locations = targets
            .iter()
            .filter_map(|t| cluster.workers.get(*t).map(|w| w.address.clone()))
            .collect();
        drop(cluster);
        self.state.leases.lock().renew(&client, Instant::now());
        Ok(AddBlockResponse {
            block: Some(LocatedBlock {
                block: Some(block.into()),
                offset,
                locations,
                complete: false,
                ufs: None,
                indices: if striped {
                    (0..targets.len() as u32).collect()
                } else {
                    Vec::new()
                },
            }),
        })
    }

    pub(super) async fn abandon_block(&self, req: AbandonBlockRequest) -> Result<Empty> {
        let client = client_name(&req.client_name)?.to_string();
        let (inode, _) = self.inode_path(req.inode_id, &req.path)?;
        let block = req
            .block
            .as_ref()
            .ok_or_else(|| Error::InvalidArgument("abandon needs a block".to_string()))?;
        let op = Op::AbandonBlock(journal::AbandonBlock {
            inode_id: inode.0,
            client_name: client,
            block_id: block.id,
        });
        if let Outcome::BlockAbandoned(b) = self.state.submit(op).await? {
            self.state.cluster.lock().invalidate(&[b]);
        }
        Ok(Empty {})
    }

    pub(super) async fn recover_pipeline(
        &self,
        req: RecoverPipelineRequest,
    ) -> Result<RecoverPipelineResponse> {
        let client = client_name(&req.client_name)?.to_string();
        let (inode, path_text) = self.inode_path(req.inode_id, &req.path)?;
        self.check_not_recovering(inode, &path_text)?;
        let block =
            req.block.as_ref().map(ExtendedBlock::from).ok_or_else(|| {
                Error::InvalidArgument("pipeline recovery needs a block".to_string())
            })?;
        let op = Op::BumpGeneration(journal::BumpGeneration {
            inode_id: inode.0,
            client_name: client.clone(),
            block_id: block.id.0,
        });
        let Outcome::NewGeneration(bumped) = self.state.submit(op).await? else {
            return Err(Error::Internal(
                "generation bump produced nothing".to_string(),
            ));
        };
        let mut cluster = self.state.cluster.lock();
        let survivors: Vec<WorkerIdx> = req
            .survivors
            .iter()
            .filter_map(|id| cluster.workers.by_id(id))
            .collect();
        let stale: Vec<WorkerIdx> = cluster
            .blocks
            .replicas(block.id)
            .iter()
            .map(|r| r.worker)
            .filter(|w| !survivors.contains(w))
            .collect();
        for w in stale {
            cluster.blocks.remove(block.id, w);
        }
        for w in &survivors {
            cluster.blocks.add(
                block.id,
                Replica {
                    worker: *w,
                    generation: bumped.generation,
                    length: block.length,
                    state: ReplicaState::BeingWritten,
                    corrupt: false,
                    medium: None,
                },
            );
        }
        let locations = survivors
            .iter()
            .filter_map(|w| cluster.workers.get(*w).map(|e| e.address.clone()))
            .collect();
        drop(cluster);
        self.state.leases.lock().renew(&client, Instant::now());
        Ok(RecoverPipelineResponse {
            block: Some(LocatedBlock {
                block: Some(
                    ExtendedBlock {
                        generation: bumped.generation,
                        ..block
                    }
                    .into(),
                ),
                offset: 0,
                locations,
                complete: false,
                ufs: None,
                indices: Vec::new(),
            }),
        })
    }

    pub(super) async fn complete(&self, req: CompleteRequest) -> Result<CompleteResponse> {
        let client = client_name(&req.client_name)?.to_string();
        self.state.check_writable()?;
        let (inode, path_text) = self.inode_path(req.inode_id, &req.path)?;
        self.check_not_recovering(inode, &path_text)?;
        let last = req.last.as_ref().map(ExtendedBlock::from);
        if !self.min_replicas_reported(inode, last)? {
            return Ok(CompleteResponse { completed: false });
        }
        let op = Op::CompleteFile(journal::CompleteFile {
            inode_id: inode.0,
            client_name: client,
            last: last.map(|b| journal::BlockRecord {
                id: b.id.0,
                generation: b.generation,
                length: b.length,
                complete: true,
            }),
            time: now_millis(),
        });
        self.state.submit(op).await?;
        self.state.leases.lock().remove_file(inode);
        let blocks: Vec<BlockId> = {
            let ns = self.state.namespace.read();
            ns.inode(inode)
                .ok()
                .and_then(|i| i.file())
                .map(|f| f.blocks.iter().map(|b| b.id).collect())
                .unwrap_or_default()
        };
        self.state.cluster.lock().replication.mark_all(blocks);
        super::persist::persist_on_close(&self.state, inode).await?;
        Ok(CompleteResponse { completed: true })
    }

    /// Whether every block of the file (with `last` as its final state) has enough finished
    /// replicas reported: `min_replication` of a replicated block, the data-unit count of
    /// internal blocks of a block group.
    fn min_replicas_reported(&self, inode: InodeId, last: Option<ExtendedBlock>) -> Result<bool> {
        let ns = self.state.namespace.read();
        let file = ns.inode(inode)?.file().ok_or_else(|| Error::IsADirectory {
            path: ns.path_of(inode).unwrap_or_default(),
        })?;
        let policy = ns.file_policy(file);
        let cluster = self.state.cluster.lock();
        let finished = |id: BlockId, generation: u64, length: u64| {
            cluster
                .blocks
                .replicas(id)
                .iter()
                .filter(|r| {
                    !r.corrupt
                        && r.state == ReplicaState::Finalized
                        && r.generation == generation
                        && r.length == length
                        && cluster.workers.is_alive(r.worker)
                })
                .count()
        };
        for record in &file.blocks {
            let (generation, length) = match last {
                Some(l) if l.id == record.id => (l.generation, l.length),
                _ => (record.generation, record.length),
            };
            let enough = match &policy {
                Some(policy) => {
                    let geometry = strata_ec::StripeGeometry::new(policy);
                    let units = (0..policy.units())
                        .filter(|i| {
                            let unit_length = geometry.internal_length(length, *i);
                            finished(record.id.internal(*i), generation, unit_length) > 0
                        })
                        .count();
                    units >= policy.data
                }
                None => {
                    let needed = self
                        .state
                        .config
                        .min_replication
                        .min(file.replication)
                        .max(1);
                    finished(record.id, generation, length) >= needed as usize
                }
            };
            if !enough {
                tracing::debug!(block = %record.id, generation, length,
                    "cannot close yet: too few finished replicas reported");
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// Orders targets into a short pipeline: the first, then those on its rack, then the rest.
fn pipeline_order(cluster: &crate::cluster::Cluster, targets: Vec<WorkerIdx>) -> Vec<WorkerIdx> {
    let Some(first) = targets.first().copied() else {
        return targets;
    };
    let rack = |w: WorkerIdx| {
        cluster
            .workers
            .get(w)
            .map(|e| e.address.rack.clone())
            .unwrap_or_default()
    };
    let first_rack = rack(first);
    let mut rest: Vec<WorkerIdx> = targets[1..].to_vec();
    rest.sort_by_key(|w| rack(*w) != first_rack);
    std::iter::once(first).chain(rest).collect()
}
