//! Starting and stopping a master: load the namespace, open the gRPC port, run the monitors.

use crate::audit::{AuditLog, AuditSettings};
use crate::blocks::replication::{PassSettings, run_pass};
use crate::cluster::Cluster;
use crate::journal::Journal;
use crate::leases::LeaseTable;
use crate::metrics::{RpcMetricsLayer, master_metrics};
use crate::service::{
    AdminService, ClientService, MasterState, WorkerService, recover_expired_leases,
};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use strata_core::config::MasterConfig;
use strata_core::metrics::MetricsRegistry;
use strata_core::{Error, Result};
use strata_proto::MAX_RPC_MESSAGE;
use strata_proto::rpc::admin_protocol_server::AdminProtocolServer;
use strata_proto::rpc::client_protocol_server::ClientProtocolServer;
use strata_proto::rpc::worker_protocol_server::WorkerProtocolServer;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running master.
#[derive(Debug)]
pub struct Master {
    state: Arc<MasterState>,
    address: SocketAddr,
    metrics: MetricsRegistry,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Master {
    /// Loads the namespace from `config.data_dir`, binds `config.listen` and starts serving.
    pub async fn start(config: MasterConfig) -> Result<Master> {
        let cluster_id = load_or_create_cluster_id(&config.data_dir)?;
        let journal_dir = config.data_dir.join("journal");
        let checkpoint_entries = config.checkpoint_entries;
        let (journal, namespace) =
            tokio::task::spawn_blocking(move || Journal::open(&journal_dir, checkpoint_entries))
                .await
                .map_err(|e| Error::Internal(format!("namespace loading panicked: {e}")))??;
        let mut leases = LeaseTable::default();
        let now = Instant::now();
        for (inode, client) in namespace.read().open_files() {
            leases.add(&client, inode, now);
        }
        let state = Arc::new(MasterState {
            config: config.clone(),
            namespace,
            journal,
            cluster: Mutex::new(Cluster::new(cluster_id.clone())),
            leases: Mutex::new(leases),
            partial_reports: Mutex::new(HashMap::new()),
            under_storage: Default::default(),
            persist_queue: Default::default(),
            audit: open_audit_log(&config)?,
        });
        let listener = tokio::net::TcpListener::bind(&config.listen)
            .await
            .map_err(|e| Error::io(format!("binding the master RPC port {}", config.listen), e))?;
        let address = listener
            .local_addr()
            .map_err(|e| Error::io("reading the bound address", e))?;
        let (metrics, rpc_metrics) = master_metrics(&state);
        let (stop, stopped) = watch::channel(false);
        let tasks = vec![
            tokio::spawn(serve(
                state.clone(),
                listener,
                RpcMetricsLayer(rpc_metrics),
                stopped.clone(),
            )),
            tokio::spawn(monitor(state.clone(), stopped.clone())),
            tokio::spawn(lease_monitor(state.clone(), stopped.clone())),
            tokio::spawn(crate::service::run_persist_queue(
                state.clone(),
                stopped.clone(),
            )),
            tokio::spawn(crate::service::run_ttl_checker(state.clone(), stopped)),
        ];
        tracing::info!(%address, %cluster_id, data_dir = %config.data_dir.display(),
            replication = config.default_replication, block_size = %config.default_block_size,
            heartbeat = ?config.heartbeat_interval, dead_timeout = ?config.worker_dead_timeout,
            "master started");
        tracing::info!(?config, "master configuration");
        tracing::info!(
            threshold = config.safemode_threshold,
            blocks = state.namespace.read().block_count(),
            "safe mode is on until enough blocks are reported"
        );
        Ok(Master {
            state,
            address,
            metrics,
            stop,
            tasks,
        })
    }

    /// The bound RPC address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The master's metrics, for its `/metrics` page.
    pub fn metrics(&self) -> MetricsRegistry {
        self.metrics.clone()
    }

    /// The shared state (for tests and the embedded cluster).
    pub fn state(&self) -> &Arc<MasterState> {
        &self.state
    }

    /// Stops serving, finishes the journal and writes a final snapshot.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        self.state.journal.shutdown().await;
        let state = self.state.clone();
        let _ = tokio::task::spawn_blocking(move || state.audit.flush()).await;
        tracing::info!("master stopped");
    }
}

/// The audit log the configuration asks for.
fn open_audit_log(config: &MasterConfig) -> Result<AuditLog> {
    if !config.audit_log {
        return Ok(AuditLog::disabled());
    }
    let dir = if config.audit_dir.as_os_str().is_empty() {
        config.data_dir.join("audit")
    } else {
        config.audit_dir.clone()
    };
    tracing::info!(dir = %dir.display(), "audit log");
    AuditLog::open(AuditSettings {
        dir,
        max_file_bytes: config.audit_max_file_size.bytes().max(1),
        max_files: config.audit_max_files,
    })
}

fn load_or_create_cluster_id(dir: &Path) -> Result<String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let path = dir.join("cluster_id");
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => Ok(id.trim().to_string()),
        _ => {
            let id = format!("strata-{:016x}", rand::random::<u64>());
            std::fs::write(&path, &id)
                .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
            Ok(id)
        }
    }
}

async fn serve(
    state: Arc<MasterState>,
    listener: tokio::net::TcpListener,
    metrics: RpcMetricsLayer,
    mut stopped: watch::Receiver<bool>,
) {
    // Small replies must not wait for delayed ACKs (Nagle), so no-delay on every connection.
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let result = tonic::transport::Server::builder()
        .layer(metrics)
        .add_service(
            ClientProtocolServer::new(ClientService::new(state.clone()))
                .max_decoding_message_size(MAX_RPC_MESSAGE)
                .max_encoding_message_size(MAX_RPC_MESSAGE),
        )
        .add_service(
            WorkerProtocolServer::new(WorkerService::new(state.clone()))
                .max_decoding_message_size(MAX_RPC_MESSAGE)
                .max_encoding_message_size(MAX_RPC_MESSAGE),
        )
        .add_service(
            AdminProtocolServer::new(AdminService::new(state))
                .max_decoding_message_size(MAX_RPC_MESSAGE)
                .max_encoding_message_size(MAX_RPC_MESSAGE),
        )
        .serve_with_incoming_shutdown(incoming, async move {
            let _ = stopped.wait_for(|s| *s).await;
        })
        .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "master RPC server failed");
    }
}

/// Dead-worker detection, safe mode and the replication monitor, every replication interval.
async fn monitor(state: Arc<MasterState>, mut stopped: watch::Receiver<bool>) {
    let config = state.config.clone();
    let settings = PassSettings {
        max_streams: config.replication_max_streams.max(1),
        pending_timeout: config.replication_pending_timeout,
    };
    let mut tick =
        tokio::time::interval(config.replication_interval.max(Duration::from_millis(10)));
    while crate::service::next_tick(&mut tick, &mut stopped).await {
        let now = Instant::now();
        let ns = state.namespace.read();
        let mut cluster = state.cluster.lock();
        for idx in cluster.detect_dead_workers(config.worker_dead_timeout, now) {
            if let Some(w) = cluster.workers.get(idx) {
                tracing::warn!(worker = %w.address.id, address = %w.address.data_address,
                    "worker declared dead; re-replicating its blocks");
            }
        }
        if cluster.safe_mode.is_on() {
            let (reported, total) = cluster.reported_blocks(&ns);
            if cluster.safe_mode.update(
                reported,
                total,
                config.safemode_threshold,
                config.safemode_extension,
                now,
            ) {
                tracing::info!(reported, total, "leaving safe mode");
            }
        }
        if !cluster.safe_mode.is_on() {
            let report = run_pass(&ns, &mut cluster, settings, now, &mut rand::rng());
            if report.transfers + report.deletions > 0 {
                tracing::debug!(?report, "replication monitor pass");
            }
        }
    }
}

async fn lease_monitor(state: Arc<MasterState>, mut stopped: watch::Receiver<bool>) {
    let period =
        (state.config.lease_timeout / 4).clamp(Duration::from_millis(100), Duration::from_secs(5));
    let mut tick = tokio::time::interval(period);
    while crate::service::next_tick(&mut tick, &mut stopped).await {
        recover_expired_leases(&state).await;
    }
}
