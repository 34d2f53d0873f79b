//! Starting and stopping a worker.

use crate::context::WorkerContext;
use crate::master_link::MasterLink;
use crate::memory_dirs::{self, ClaimedDir, Unmarked};
use crate::store::BlockStore;
use crate::{data_server, heartbeat, scanner, tier_keeper, tier_layout};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use strata_core::checksum::DEFAULT_CHUNK_SIZE;
use strata_core::config::WorkerConfig;
use strata_core::metrics::MetricsRegistry;
use strata_core::tier::Medium;
use strata_core::{Error, Result};
use strata_proto::rpc::WorkerAddress;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running worker.
#[derive(Debug)]
pub struct Worker {
    ctx: Arc<WorkerContext>,
    address: WorkerAddress,
    bound: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Worker {
    /// Loads the store from the configured tiers (the default layout when none), binds the
    /// data port and joins the master.
    pub async fn start(config: WorkerConfig) -> Result<Worker> {
        Self::launch(config, None).await
    }

    /// Like [`Worker::start`], registering `http` (an HTTP port its host process serves the
    /// WebHDFS data face on) as this worker's HTTP address, on the worker's advertised host.
    pub async fn start_with_http(config: WorkerConfig, http: SocketAddr) -> Result<Worker> {
        Self::launch(config, Some(http.port())).await
    }

    async fn launch(config: WorkerConfig, http_port: Option<u16>) -> Result<Worker> {
        let data_dir = config.data_dir.clone();
        std::fs::create_dir_all(&data_dir)
            .map_err(|e| Error::io(format!("creating {}", data_dir.display()), e))?;
        let id = load_or_create_id(&data_dir)?;
        let tiers = tier_layout::storage_tiers(&config, &id);
        for swept in memory_dirs::sweep(&config.memory_dir, Unmarked::Keep) {
            tracing::info!(dir = %swept.dir.display(), bytes = swept.bytes,
                "removed the MEM tier of a worker whose data directory is gone");
        }
        let mut claimed = Vec::new();
        for tier in &tiers {
            for dir in &tier.dirs {
                tracing::info!(medium = %tier.medium, dir = %dir.path.display(),
                    capacity = dir.capacity.bytes(), "storage tier directory");
                if tier.medium == Medium::Mem {
                    claimed.push(ClaimedDir::claim(&dir.path, &data_dir)?);
                }
            }
        }
        let sync = config.sync_on_close;
        let store =
            tokio::task::spawn_blocking(move || BlockStore::open(&tiers, DEFAULT_CHUNK_SIZE, sync))
                .await
                .map_err(|e| Error::Internal(format!("loading the block store panicked: {e}")))??;
        let listener = tokio::net::TcpListener::bind(&config.listen)
            .await
            .map_err(|e| Error::io(format!("binding the data port {}", config.listen), e))?;
        let bound = listener
            .local_addr()
            .map_err(|e| Error::io("reading the bound address", e))?;
        let host = match &config.advertise_host {
            Some(h) => h.clone(),
            None if bound.ip().is_unspecified() => rustix::system::uname()
                .nodename()
                .to_string_lossy()
                .into_owned(),
            None => bound.ip().to_string(),
        };
        let address = WorkerAddress {
            id: id.clone(),
            data_address: format!("{host}:{}", bound.port()),
            http_address: http_port.map_or_else(String::new, |port| format!("{host}:{port}")),
            host,
            rack: config.rack.clone(),
        };
        let master = MasterLink::new(&config.master, &data_dir)?;
        let blocks = store.len();
        let ctx = Arc::new(WorkerContext::new(
            id.clone(),
            store,
            master,
            config.clone(),
            claimed,
        ));
        let (stop, stopped) = watch::channel(false);
        let tasks = vec![
            tokio::spawn(data_server::serve(ctx.clone(), listener, stopped.clone())),
            tokio::spawn(heartbeat::run(
                ctx.clone(),
                address.clone(),
                stopped.clone(),
            )),
            tokio::spawn(scanner::run(ctx.clone(), stopped.clone())),
            tokio::spawn(tier_keeper::run(ctx.clone(), stopped)),
        ];
        tracing::info!(worker = %id, data_address = %address.data_address, rack = %config.rack,
            master = %config.master, data_dir = %data_dir.display(), blocks, "worker started");
        tracing::info!(?config, "worker configuration");
        Ok(Worker {
            ctx,
            address,
            bound,
            stop,
            tasks,
        })
    }

    /// This worker's identity and addresses, as registered.
    pub fn address(&self) -> &WorkerAddress {
        &self.address
    }

    /// The bound data-port address.
    pub fn bound(&self) -> SocketAddr {
        self.bound
    }

    /// The worker's metrics, for its `/metrics` page.
    pub fn metrics(&self) -> MetricsRegistry {
        self.ctx.metrics.registry(&self.ctx)
    }

    /// The shared state (for tests).
    pub fn context(&self) -> &Arc<WorkerContext> {
        &self.ctx
    }

    /// Stops serving and heartbeating.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        self.ctx.release_memory_dirs();
        tracing::info!(worker = %self.address.id, "worker stopped");
    }
}

fn load_or_create_id(dir: &Path) -> Result<String> {
    let path = dir.join("worker_id");
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => Ok(id.trim().to_string()),
        _ => {
            let id = format!("worker-{:016x}", rand::random::<u64>());
            std::fs::write(&path, &id)
                .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
            Ok(id)
        }
    }
}
