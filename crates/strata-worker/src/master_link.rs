//! The worker's side of `WorkerProtocol`: registration, heartbeats, block reports (full and
//! incremental), bad-replica reports and recovery commits. Incremental reports that cannot be
//! sent at once are kept and sent with the next heartbeat.
//!
//! The master must apply the reports of one block in the order they happened: a replica
//! deleted and then made again (a block invalidated, then cached anew by a read-through) must
//! end up known. So reports are sent one at a time, and a report of a block replaces any
//! report of that block still waiting.

use parking_lot::Mutex;
use std::path::PathBuf;
use std::time::Duration;
use strata_core::{Error, ExtendedBlock, Result};
use strata_proto::MAX_RPC_MESSAGE;
use strata_proto::rpc::worker_protocol_client::WorkerProtocolClient;
use strata_proto::rpc::*;
use strata_proto::status::from_status;
use tonic::transport::{Channel, Endpoint};

/// Blocks per chunk of a full block report.
const REPORT_CHUNK: usize = 50_000;
/// How long an incremental report may take before it is left for the next heartbeat.
const REPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection to the master.
#[derive(Debug)]
pub struct MasterLink {
    client: WorkerProtocolClient<Channel>,
    address: String,
    cluster_id_file: PathBuf,
    received: Mutex<Vec<ReportedBlock>>,
    deleted: Mutex<Vec<ReportedBlock>>,
    /// Held while an incremental report is on its way.
    sending: tokio::sync::Mutex<()>,
}

impl MasterLink {
    /// A link to the master at `address` (connected on first use); the cluster id the worker
    /// belongs to is kept in `data_dir`.
    pub fn new(address: &str, data_dir: &std::path::Path) -> Result<MasterLink> {
        let endpoint = Endpoint::from_shared(format!("http://{address}"))
            .map_err(|e| Error::InvalidArgument(format!("master address {address:?}: {e}")))?
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60));
        let client = WorkerProtocolClient::new(endpoint.connect_lazy())
            .max_decoding_message_size(MAX_RPC_MESSAGE)
            .max_encoding_message_size(MAX_RPC_MESSAGE);
        Ok(MasterLink {
            client,
            address: address.to_string(),
            cluster_id_file: data_dir.join("cluster_id"),
            received: Mutex::new(Vec::new()),
            deleted: Mutex::new(Vec::new()),
            sending: tokio::sync::Mutex::new(()),
        })
    }

    fn err(&self, status: tonic::Status) -> Error {
        from_status(&status, &self.address)
    }

    /// Registers; the first successful registration fixes the cluster this worker belongs to.
    pub async fn register(
        &self,
        worker: WorkerAddress,
        storage: StorageReport,
    ) -> Result<RegisterResponse> {
        let cluster_id = std::fs::read_to_string(&self.cluster_id_file)
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        let response = self
            .client
            .clone()
            .register(RegisterRequest {
                worker: Some(worker),
                storage: Some(storage),
                cluster_id: cluster_id.clone(),
            })
            .await
            .map_err(|s| self.err(s))?
            .into_inner();
        if cluster_id.is_empty() {
            std::fs::write(&self.cluster_id_file, &response.cluster_id)
                .map_err(|e| Error::io(format!("writing {}", self.cluster_id_file.display()), e))?;
        }
        Ok(response)
    }

    /// Sends a heartbeat.
    pub async fn heartbeat(&self, request: HeartbeatRequest) -> Result<HeartbeatResponse> {
        self.client
            .clone()
            .heartbeat(request)
            .await
            .map(|r| r.into_inner())
            .map_err(|s| self.err(s))
    }

    /// Sends a full block report in chunks.
    pub async fn full_report(&self, worker_id: &str, blocks: Vec<ReportedBlock>) -> Result<()> {
        let report_id = rand::random::<u64>();
        let chunks: Vec<&[ReportedBlock]> = if blocks.is_empty() {
            vec![&[]]
        } else {
            blocks.chunks(REPORT_CHUNK).collect()
        };
        let count = chunks.len();
        for (i, chunk) in chunks.into_iter().enumerate() {
            self.client
                .clone()
                .block_report(BlockReportRequest {
                    worker_id: worker_id.to_string(),
                    report_id,
                    chunk_index: i as u32,
                    last_chunk: i + 1 == count,
                    blocks: chunk.to_vec(),
                })
                .await
                .map_err(|s| self.err(s))?;
        }
        Ok(())
    }

    /// Tells the master a replica is finished (now, or with the next heartbeat if that fails).
    pub async fn block_received(&self, worker_id: &str, block: ReportedBlock) {
        let _in_order = self.sending.lock().await;
        self.deleted.lock().retain(|d| d.id != block.id);
        self.received.lock().retain(|r| r.id != block.id);
        let request = IncrementalBlockReport {
            worker_id: worker_id.to_string(),
            received: vec![block],
            deleted: Vec::new(),
        };
        let sent = tokio::time::timeout(
            REPORT_TIMEOUT,
            self.client.clone().block_received_and_deleted(request),
        )
        .await;
        if !matches!(sent, Ok(Ok(_))) {
            tracing::warn!(block = block.id, outcome = ?sent.map(|r| r.map(|_| ())),
                "could not report a finished replica; will retry with the next heartbeat");
            self.received.lock().push(block);
        }
    }

    /// The under storage of the mount at `path`, with its credentials.
    pub async fn get_mount(&self, path: &str) -> Result<MountInfo> {
        let request = GetMountRequest {
            path: path.to_string(),
        };
        self.client
            .clone()
            .get_mount(request)
            .await
            .map(|r| r.into_inner())
            .map_err(|s| self.err(s))
    }

    /// Asks which of `replicas` may be dropped (their bytes are durable elsewhere).
    pub async fn release_replicas(
        &self,
        worker_id: &str,
        replicas: &[crate::store::ReplicaInfo],
    ) -> Result<Vec<u64>> {
        let request = ReleaseReplicasRequest {
            worker_id: worker_id.to_string(),
            blocks: replicas
                .iter()
                .map(|r| Block {
                    id: r.id.0,
                    generation: r.generation,
                    length: r.length,
                })
                .collect(),
        };
        self.client
            .clone()
            .release_replicas(request)
            .await
            .map(|r| r.into_inner().released)
            .map_err(|s| self.err(s))
    }

    /// Notes replicas moved to another tier, to report with the next heartbeat.
    pub fn blocks_moved(&self, blocks: Vec<ReportedBlock>) {
        let mut received = self.received.lock();
        received.retain(|r| !blocks.iter().any(|b| b.id == r.id));
        received.extend(blocks);
    }

    /// Notes a deleted replica for the next heartbeat.
    pub fn block_deleted(&self, block: ReportedBlock) {
        self.received.lock().retain(|r| r.id != block.id);
        let mut deleted = self.deleted.lock();
        deleted.retain(|d| d.id != block.id);
        deleted.push(block);
    }

    /// Sends the incremental reports that are waiting.
    pub async fn flush_incremental(&self, worker_id: &str) -> Result<()> {
        let _in_order = self.sending.lock().await;
        let received = std::mem::take(&mut *self.received.lock());
        let deleted = std::mem::take(&mut *self.deleted.lock());
        if received.is_empty() && deleted.is_empty() {
            return Ok(());
        }
        let request = IncrementalBlockReport {
            worker_id: worker_id.to_string(),
            received: received.clone(),
            deleted: deleted.clone(),
        };
        if let Err(status) = self
            .client
            .clone()
            .block_received_and_deleted(request)
            .await
        {
            self.received.lock().extend(received);
            self.deleted.lock().extend(deleted);
            return Err(self.err(status));
        }
        Ok(())
    }

    /// Reports a damaged local replica.
    pub async fn report_bad(&self, worker_id: &str, block: ExtendedBlock) {
        let request = ReportBadBlocksRequest {
            replicas: vec![BadReplica {
                block: Some(block.into()),
                worker_id: worker_id.to_string(),
            }],
        };
        if let Err(status) = self.client.clone().report_bad_blocks(request).await {
            tracing::warn!(block = %block.id, error = %self.err(status), "could not report a damaged replica");
        }
    }

    /// Reports the outcome of a lease recovery this worker led.
    pub async fn commit_recovery(
        &self,
        block: ExtendedBlock,
        worker_ids: Vec<String>,
    ) -> Result<()> {
        self.client
            .clone()
            .commit_block_recovery(CommitBlockRecoveryRequest {
                block: Some(block.into()),
                worker_ids,
            })
            .await
            .map(|_| ())
            .map_err(|s| self.err(s))
    }
}
