//! The client's gRPC connection to the master (`ClientProtocol` and `AdminProtocol`), turning
//! every failure into a typed [`strata_core::Error`].

use std::time::Duration;
use strata_core::{Error, Result};
use strata_proto::MAX_RPC_MESSAGE;
use strata_proto::rpc::admin_protocol_client::AdminProtocolClient;
use strata_proto::rpc::client_protocol_client::ClientProtocolClient;
use strata_proto::status::from_status;
use tonic::transport::{Channel, Endpoint};

/// gRPC stubs for the master's client and admin services.
#[derive(Debug, Clone)]
pub struct MasterClient {
    address: String,
    client: ClientProtocolClient<Channel>,
    admin: AdminProtocolClient<Channel>,
}

impl MasterClient {
    /// Stubs for the master at `address` (`HOST:PORT`); the connection is made on first use.
    pub fn new(address: &str) -> Result<MasterClient> {
        let endpoint = Endpoint::from_shared(format!("http://{address}"))
            .map_err(|e| Error::InvalidArgument(format!("master address {address:?}: {e}")))?
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true);
        let channel = endpoint.connect_lazy();
        Ok(MasterClient {
            address: address.to_string(),
            client: ClientProtocolClient::new(channel.clone())
                .max_decoding_message_size(MAX_RPC_MESSAGE)
                .max_encoding_message_size(MAX_RPC_MESSAGE),
            admin: AdminProtocolClient::new(channel)
                .max_decoding_message_size(MAX_RPC_MESSAGE)
                .max_encoding_message_size(MAX_RPC_MESSAGE),
        })
    }

    /// The master's address.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// A `ClientProtocol` stub.
    pub fn client(&self) -> ClientProtocolClient<Channel> {
        self.client.clone()
    }

    /// An `AdminProtocol` stub.
    pub fn admin(&self) -> AdminProtocolClient<Channel> {
        self.admin.clone()
    }

    /// Converts a failed call into an error.
    pub fn error(&self, status: tonic::Status) -> Error {
        from_status(&status, &self.address)
    }
}

/// Calls a stub method and converts its outcome: `call!(master, client, mkdirs(request))`.
#[macro_export]
macro_rules! call {
    ($master:expr, $stub:ident, $method:ident($request:expr)) => {{
        let m = &$master;
        m.$stub()
            .$method($request)
            .await
            .map(|r| r.into_inner())
            .map_err(|s| m.error(s))
    }};
}
