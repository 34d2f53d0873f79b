//! The table store's servers: region servers holding regions, and the table master keeping
//! the catalog and assigning regions (one active, chosen through a Strata lease).

mod assignment;
mod catalog;
pub mod election;
mod master;
mod master_service;
mod region_change;
mod region_server;
mod scanners;

pub use master::{TableMaster, TableMasterConfig};
pub use region_server::{RegionServer, RegionServerConfig};

use crate::error::{Error, Result};
use crate::proto::rpc::Empty;
use crate::proto::rpc::region_server_client::RegionServerClient;
use crate::proto::rpc::table_master_client::TableMasterClient;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::service::Routes;
use tonic::transport::Channel;

/// What an RPC handler returns.
pub(crate) type Answer<T> = std::result::Result<tonic::Response<T>, tonic::Status>;

/// A handler's result as its gRPC answer (errors as a status carrying their `ErrorInfo`).
pub(crate) fn answer<T>(result: Result<T>) -> Answer<T> {
    result
        .map(tonic::Response::new)
        .map_err(|e| crate::wire::status(&e))
}

/// Binds a server's RPC port: the listener, the bound address, and the address to register
/// (on `advertise_host` when given, else the bound IP).
pub(crate) async fn bind(
    listen: &str,
    advertise_host: Option<&str>,
) -> Result<(TcpListener, SocketAddr, String)> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| Error::Internal(format!("binding {listen}: {e}")))?;
    let bound = listener
        .local_addr()
        .map_err(|e| Error::Internal(format!("reading the bound address: {e}")))?;
    let host = advertise_host.map_or_else(|| bound.ip().to_string(), str::to_string);
    Ok((listener, bound, format!("{host}:{}", bound.port())))
}

/// Serves `routes` on `listener` until `stopped` turns true; `what` names the server in logs.
pub(crate) fn serve(
    listener: TcpListener,
    routes: Routes,
    mut stopped: watch::Receiver<bool>,
    what: &'static str,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        // Small answers go out at once (Nagle's algorithm would hold a get's reply for the
        // client's delayed acknowledgement, 40 ms).
        let incoming =
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        let result = tonic::transport::Server::builder()
            .add_routes(routes)
            .serve_with_incoming_shutdown(incoming, async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "the {what}'s RPC port failed");
        }
    })
}

/// A client of the region server at `address`, connected on first use; calls give up after
/// `timeout`.
pub(crate) fn region_server_client(
    address: &str,
    timeout: Duration,
) -> Result<RegionServerClient<Channel>> {
    let channel = Channel::from_shared(format!("http://{address}"))
        .map_err(|e| Error::InvalidRequest(format!("region server address {address}: {e}")))?
        .connect_timeout(Duration::from_secs(3))
        .timeout(timeout)
        .connect_lazy();
    Ok(RegionServerClient::new(channel)
        .max_decoding_message_size(64 << 20)
        .max_encoding_message_size(64 << 20))
}

/// Waits for a task told to stop, aborting it after `grace`: a gRPC server stopping
/// gracefully would otherwise wait for every client to hang up.
pub(crate) async fn finish(mut task: tokio::task::JoinHandle<()>, grace: Duration) {
    if tokio::time::timeout(grace, &mut task).await.is_err() {
        task.abort();
        let _ = task.await;
    }
}

/// A client of the table master at `address`.
pub async fn connect_master(address: &str) -> Result<TableMasterClient<Channel>> {
    let channel = Channel::from_shared(format!("http://{address}"))
        .map_err(|e| Error::InvalidRequest(format!("table master address {address}: {e}")))?
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(120))
        .connect()
        .await
        .map_err(|e| Error::Unavailable {
            address: address.to_string(),
            reason: e.to_string(),
        })?;
    Ok(TableMasterClient::new(channel)
        .max_decoding_message_size(64 << 20)
        .max_encoding_message_size(64 << 20))
}

/// Whether a table master answers at `address` (a standby asks this of the active one).
pub async fn master_answers(address: &str) -> bool {
    let Ok(mut client) = connect_master(address).await else {
        return false;
    };
    let status = tokio::time::timeout(Duration::from_secs(3), client.status(Empty {})).await;
    matches!(status, Ok(Ok(s)) if s.get_ref().active)
}
