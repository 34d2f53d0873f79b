//! Data-plane connections (client to worker, worker to worker): TCP with no Nagle delay and keep-alive (so a peer that
//! vanished without closing is noticed), and timeouts on every wait for a peer.

use std::future::Future;
use std::time::Duration;
use strata_core::{Error, Result};
use tokio::net::TcpStream;

/// Tunes a data-plane socket.
pub fn tune(stream: &TcpStream) {
    let _ = stream.set_nodelay(true);
    let sock = socket2::SockRef::from(stream);
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(Duration::from_secs(30))
        .with_interval(Duration::from_secs(10));
    let _ = sock.set_tcp_keepalive(&keepalive);
}

/// Connects to a peer's data port.
pub async fn connect(address: &str, timeout: Duration) -> Result<TcpStream> {
    let stream = within(timeout, address, TcpStream::connect(address))
        .await?
        .map_err(|e| Error::Unavailable {
            address: address.to_string(),
            reason: e.to_string(),
        })?;
    tune(&stream);
    Ok(stream)
}

/// Runs `fut`, failing with a timeout error naming `what` after `timeout`.
pub async fn within<T>(timeout: Duration, what: &str, fut: impl Future<Output = T>) -> Result<T> {
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| Error::Timeout(format!("{what}: no answer within {timeout:?}")))
}
