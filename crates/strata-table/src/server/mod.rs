//! The table store's servers: region servers holding regions, and the table master keeping
//! the catalog and assigning regions (one active, chosen through a Strata lease).

mod assignment;
mod catalog;
pub mod election;
mod master;
mod master_service;
mod region_server;
mod scanners;

pub use master::{TableMaster, TableMasterConfig};
pub use region_server::{RegionServer, RegionServerConfig};

use crate::error::{Error, Result};
use crate::proto::rpc::Empty;
use crate::proto::rpc::table_master_client::TableMasterClient;
use std::time::Duration;
use tonic::transport::Channel;

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
