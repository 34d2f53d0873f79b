//! One-answer questions to a worker about one replica: its checksum, how much of it readers
//! may see.

use crate::data::{Request, Response, Status, request};
use crate::frame::{read_header, write_frame};
use crate::net::{connect, within};
use std::time::Duration;
use strata_core::{Error, Result};

/// Sends `op` to the worker at `address` and returns its answer; a refusal comes back as
/// `ReplicaNotFound` when the worker holds no such replica, else as `Unavailable`.
pub async fn ask(address: &str, op: request::Op, timeout: Duration) -> Result<Response> {
    let mut stream = connect(address, timeout).await?;
    write_frame(&mut stream, &Request { op: Some(op) }, &[]).await?;
    let response: Response = within(timeout, address, read_header(&mut stream)).await??;
    if response.status == Status::ReplicaNotFound as i32 {
        return Err(Error::ReplicaNotFound {
            block: format!("on {address}"),
            reason: response.message,
        });
    }
    if response.status != Status::Ok as i32 {
        return Err(Error::Unavailable {
            address: address.to_string(),
            reason: response.message,
        });
    }
    Ok(response)
}
