//! Serving an axum router on a TCP port: the master's and workers' HTTP ports and the
//! gateway's WebHDFS endpoint.

use axum::Router;
use axum::serve::ListenerExt;
use std::net::SocketAddr;
use strata_core::{Error, Result};
use tokio::task::JoinHandle;

/// A running HTTP endpoint; it stops accepting connections when dropped.
#[derive(Debug)]
pub struct HttpEndpoint {
    address: SocketAddr,
    task: JoinHandle<()>,
}

impl HttpEndpoint {
    /// Serves `router` on `listen` (`HOST:PORT`, port 0 picks a free one); `what` names the
    /// endpoint in errors and logs. Handlers may extract the peer's `ConnectInfo<SocketAddr>`.
    pub async fn start(listen: &str, what: &'static str, router: Router) -> Result<HttpEndpoint> {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| Error::io(format!("binding the {what} to {listen}"), e))?;
        Self::serve(listener, what, router)
    }

    /// Serves `router` on a port bound earlier (a process that registers the address before
    /// it serves, as a worker does).
    pub fn serve_bound(
        listener: std::net::TcpListener,
        what: &'static str,
        router: Router,
    ) -> Result<HttpEndpoint> {
        let listener = listener
            .set_nonblocking(true)
            .and_then(|()| tokio::net::TcpListener::from_std(listener))
            .map_err(|e| Error::io(format!("serving the {what}"), e))?;
        Self::serve(listener, what, router)
    }

    fn serve(
        listener: tokio::net::TcpListener,
        what: &'static str,
        router: Router,
    ) -> Result<HttpEndpoint> {
        let address = listener
            .local_addr()
            .map_err(|e| Error::io(format!("reading the {what}'s address"), e))?;
        let listener = listener.tap_io(|socket| {
            let _ = socket.set_nodelay(true);
        });
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, service).await {
                tracing::warn!(error = %e, what, "an HTTP endpoint stopped");
            }
        });
        tracing::info!(%address, what, "HTTP endpoint up");
        Ok(HttpEndpoint { address, task })
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Its URL, e.g. `http://127.0.0.1:9870`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }
}

impl Drop for HttpEndpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}
