//! The HTTP ports of the master and the workers. The master's serves the status page, its
//! `/metrics` and WebHDFS (metadata, and redirects of reads and writes to a worker's port);
//! a worker's serves its `/metrics` and the WebHDFS data face, which moves the bytes.

use axum::Router;
use axum::response::IntoResponse;
use strata_client::FileSystem;
use strata_core::config::{ClientConfig, WorkerConfig};
use strata_core::metrics::MetricsRegistry;
use strata_gateway::HttpEndpoint;
use strata_gateway::webhdfs::{datanode_router, namenode_router};
use strata_web::{metrics_router, status_router};
use strata_worker::Worker;
use tokio::task::JoinHandle;

/// Serves the master's HTTP port on `listen` (none when empty): the status page, `metrics`
/// and WebHDFS, through a client of the master `client` names.
pub async fn start_master_http(
    listen: &str,
    client: ClientConfig,
    metrics: MetricsRegistry,
) -> anyhow::Result<Option<HttpEndpoint>> {
    if listen.is_empty() {
        return Ok(None);
    }
    let fs = FileSystem::connect(client).await?;
    let router = namenode_router(fs.clone())
        .merge(status_router(fs))
        .merge(metrics_router(metrics));
    Ok(Some(
        HttpEndpoint::start(listen, "master's HTTP port", router).await?,
    ))
}

/// Serves WebHDFS alone on `listen` (none when empty), as the gateway does (HttpFS's role).
pub async fn start_webhdfs_gateway(
    listen: &str,
    client: ClientConfig,
) -> anyhow::Result<Option<HttpEndpoint>> {
    if listen.is_empty() {
        return Ok(None);
    }
    let fs = FileSystem::connect(client).await?;
    Ok(Some(
        HttpEndpoint::start(listen, "WebHDFS gateway", namenode_router(fs)).await?,
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
        let http = tokio::spawn(serve_worker_http(port, worker.metrics(), client));
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

/// Serves a worker's HTTP port until aborted: `/metrics` at once, the WebHDFS data face from
/// when the master first answers (a worker may start before it; until then its requests get
/// 503).
async fn serve_worker_http(
    port: std::net::TcpListener,
    metrics: MetricsRegistry,
    client: ClientConfig,
) {
    let data_face = std::sync::Arc::new(tokio::sync::OnceCell::new());
    let router = metrics_router(metrics).fallback({
        let data_face = data_face.clone();
        move |request: axum::extract::Request| {
            let data_face = data_face.clone();
            async move {
                match data_face.get() {
                    Some(face) => {
                        let mut face: Router = Router::clone(face);
                        match tower::Service::call(&mut face, request).await {
                            Ok(response) => response,
                            Err(never) => match never {},
                        }
                    }
                    None => (
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        "the worker has not reached the master yet",
                    )
                        .into_response(),
                }
            }
        }
    });
    let _endpoint = match HttpEndpoint::serve_bound(port, "worker's HTTP port", router) {
        Ok(endpoint) => endpoint,
        Err(e) => {
            tracing::warn!(error = %e, "the worker's HTTP port cannot be served");
            return;
        }
    };
    let fs = loop {
        match FileSystem::connect(client.clone()).await {
            Ok(fs) => break fs,
            Err(e) => {
                tracing::debug!(error = %e, "the WebHDFS data face waits for the master");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    };
    let _ = data_face.set(datanode_router(fs));
    std::future::pending::<()>().await
}
