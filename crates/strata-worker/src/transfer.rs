//! Re-replication: this worker streams a finalized replica down a pipeline of target workers,
//! exactly like a client writing it, with the replica's own checksums. The data is verified
//! while it is read, so a damaged local replica is reported instead of copied.

use crate::context::WorkerContext;
use crate::read_block::{READ_PACKET, send_packets};
use strata_core::{Error, ExtendedBlock, Result};
use strata_proto::data::{Ack, Request, Response, Status, Target, WriteBlock, WriteStage, request};
use strata_proto::frame::{read_header, write_frame};
use strata_proto::net::{connect, within};
use strata_proto::rpc::WorkerAddress;

/// Copies `block` to `targets`.
pub async fn send(
    ctx: &WorkerContext,
    block: ExtendedBlock,
    targets: &[WorkerAddress],
) -> Result<()> {
    let Some(first) = targets.first() else {
        return Ok(());
    };
    let reader = ctx.store.open_reader(block.id, block.generation)?;
    let length = reader.info().length;
    if length != block.length {
        return Err(Error::InvalidOperation {
            path: block.id.to_string(),
            reason: format!(
                "local replica has {length} bytes, the master expects {}",
                block.length
            ),
        });
    }
    let timeout = ctx.config.socket_timeout;
    let mut stream = connect(&first.data_address, timeout).await?;
    let request = Request {
        op: Some(request::Op::WriteBlock(WriteBlock {
            block: Some(block.into()),
            stage: WriteStage::Transfer as i32,
            downstream: targets[1..]
                .iter()
                .map(|t| Target {
                    worker_id: t.id.clone(),
                    address: t.data_address.clone(),
                })
                .collect(),
            client_name: format!("transfer-from-{}", ctx.id),
            start_offset: 0,
            old_generation: 0,
            chunk_size: reader.chunk_size(),
        })),
    };
    write_frame(&mut stream, &request, &[]).await?;
    let response: Response =
        within(timeout, &first.data_address, read_header(&mut stream)).await??;
    if response.status != Status::Ok as i32 {
        return Err(Error::Unavailable {
            address: first.data_address.clone(),
            reason: response.message,
        });
    }
    let (mut acks, mut out) = stream.into_split();
    let last_seqno = length.div_ceil(READ_PACKET);
    let ack_reader = tokio::spawn(async move {
        loop {
            let ack: Ack = match within(timeout, "transfer ack", read_header(&mut acks)).await {
                Ok(Ok(a)) => a,
                Ok(Err(e)) => return Err(Error::from(e)),
                Err(e) => return Err(e),
            };
            if ack.status != Status::Ok as i32 {
                return Err(Error::Unavailable {
                    address: format!("pipeline position {}", ack.failed_index),
                    reason: ack.message,
                });
            }
            if ack.seqno == last_seqno {
                return Ok(());
            }
        }
    });
    match send_packets(&reader, 0, length, &mut out, true).await {
        Ok(()) => {}
        Err(e) => {
            ack_reader.abort();
            if matches!(e, Error::ChecksumMismatch { .. }) {
                ctx.master.report_bad(&ctx.id, block).await;
            }
            return Err(e);
        }
    }
    ack_reader
        .await
        .map_err(|e| Error::Internal(format!("transfer ack reader: {e}")))?
}
