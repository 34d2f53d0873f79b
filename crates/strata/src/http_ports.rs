//! The HTTP ports of the master and the workers, serving the WebHDFS faces: the master's
//! answers metadata and redirects reads and writes to a worker's, which moves the bytes.

use strata_client::FileSystem;
use strata_core::config::{ClientConfig, WorkerConfig};
use strata_gateway::HttpEndpoint;
use strata_gateway::webhdfs::{datanode_router, namenode_router};
use strata_worker::Worker;
use tokio::task::JoinHandle;

/// Serves the master's WebHDFS face on `listen` (none when empty) through a client of the
/// master `client` names.
pub async fn start_master_http(
    listen: &str,
    client: ClientConfig,
) -> anyhow::Result<Option<HttpEndpoint>> {
    if listen.is_empty() {
        return Ok(None);
    }
    let fs = FileSystem::connect(client).await?;
    Ok(Some(
        HttpEndpoint::start(listen, "master's HTTP port", namenode_router(fs)).await?,
    ))
}

/// A worker and the task serving its HTTP port.
pub struct ServedWorker {
    /// The worker.
    pub worker: Worker,
    http: Option<JoinHandle<()>>,
}

impl ServedWorker {
    /// Starts a worker with its HTTP port (unless `config.http_listen` is empty) bound and
    /// registered; the data face is served there once the master answers.
    pub async fn start(config: WorkerConfig, client: ClientConfig) -> anyhow::Result<Self> {
        if config.http_listen.is_empty() {
            let worker = Worker::start(config).await?;
            return Ok(ServedWorker { worker, http: None });
        }
        let port = std::net::TcpListener::bind(&config.http_listen).map_err(|e| {
            anyhow::anyhow!("binding the worker's HTTP port {}: {e}", config.http_listen)
        })?;
        let address = port.local_addr()?;
        let worker = Worker::start_with_http(config, address).await?;
        let http = tokio::spawn(serve_data_face(port, client));
        Ok(ServedWorker {
            worker,
            http: Some(http),
        })
    }

    /// Stops serving HTTP, then the worker.
    pub async fn shutdown(self) {
        if let Some(http) = self.http {
            http.abort();
            let _ = http.await;
        }
        self.worker.shutdown().await;
    }
}

/// Serves the WebHDFS data face on `port` from when the master first answers (a worker may
/// start before it) until aborted.
async fn serve_data_face(port: std::net::TcpListener, client: ClientConfig) {
    let fs = loop {
        match FileSystem::connect(client.clone()).await {
            Ok(fs) => break fs,
            Err(e) => {
                tracing::debug!(error = %e, "the WebHDFS data face waits for the master");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    };
    match HttpEndpoint::serve_bound(port, "worker's HTTP port", datanode_router(fs)) {
        Ok(_endpoint) => std::future::pending::<()>().await,
        Err(e) => tracing::warn!(error = %e, "the WebHDFS data face cannot be served"),
    }
}
