//! The client's gRPC connection to the master (`ClientProtocol` and `AdminProtocol`), turning
//! every failure into a typed [`strata_core::Error`].

use std::time::Duration;
use strata_core::{Error, Result};
use strata_proto::MAX_RPC_MESSAGE;
use strata_proto::USER_METADATA;
use strata_proto::rpc::admin_protocol_client::AdminProtocolClient;
use strata_proto::rpc::client_protocol_client::ClientProtocolClient;
use strata_proto::status::from_status;
use tonic::metadata::BinaryMetadataValue;
use tonic::transport::{Channel, Endpoint};

/// gRPC stubs for the master's client and admin services.
#[derive(Debug, Clone)]
pub struct MasterClient {
    address: String,
    client: ClientProtocolClient<Channel>,
    admin: AdminProtocolClient<Channel>,
    /// The user every request names (for the master's audit log).
    user: Option<BinaryMetadataValue>,
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
            user: None,
        })
    }

    /// The same stubs naming `user` in every request.
    pub fn as_user(&self, user: &str) -> MasterClient {
        MasterClient {
            user: Some(BinaryMetadataValue::from_bytes(user.as_bytes())),
            ..self.clone()
        }
    }

    /// A request carrying `message` and the user.
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        if let Some(user) = &self.user {
            request
                .metadata_mut()
                .insert_bin(USER_METADATA, user.clone());
        }
        request
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
            .$method(m.request($request))
            .await
            .map(|r| r.into_inner())
            .map_err(|s| m.error(s))
    }};
}
