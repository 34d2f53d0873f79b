//! The write pipeline on one worker: receive packets from upstream, verify every chunk's CRC32C,
//! forward to the next worker, store, and send acknowledgements back once this worker and
//! everything downstream hold the packet. The last (empty) packet finalizes the replica and
//! tells the master before it is acknowledged, so a client holding the final ack can close the
//! file at once.

use crate::context::WorkerContext;
use crate::store::{AckMarker, OpenMode, ReplicaWriter};
use std::sync::Arc;
use strata_core::checksum::{decode_checksums, pieces, verify_chunks};
use strata_core::{BlockId, Error, Result};
use strata_proto::data::{Ack, Packet, Request, Response, Status, WriteBlock, WriteStage, request};
use strata_proto::frame::{FrameError, read_header, read_payload, write_frame};
use strata_proto::net::{connect, within};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;

/// Most workers a pipeline may still have downstream.
const MAX_DOWNSTREAM: usize = 16;
/// Packets received but not yet acknowledged, per pipeline.
const ACK_QUEUE: usize = 512;

/// The data-plane status for an error.
pub fn status_of(err: &Error) -> Status {
    match err {
        Error::NoSpace { .. } => Status::NoSpace,
        Error::ChecksumMismatch { .. } => Status::ChecksumMismatch,
        Error::ReplicaNotFound { .. } => Status::ReplicaNotFound,
        Error::InvalidArgument(_) | Error::Protocol(_) | Error::InvalidOperation { .. } => {
            Status::InvalidRequest
        }
        _ => Status::Error,
    }
}

/// A failure response.
pub fn failure(err: &Error, failed_index: u32) -> Response {
    Response {
        status: status_of(err) as i32,
        message: err.to_string(),
        failed_index,
        ..Default::default()
    }
}

/// Handles a `WriteBlock` request on `stream`.
pub async fn handle(ctx: Arc<WorkerContext>, stream: TcpStream, req: WriteBlock) -> Result<()> {
    let (mut up_read, mut up_write) = stream.into_split();
    let mut opened = open_replica(&ctx, &req);
    if let Err(Error::NoSpace { .. }) = &opened {
        let wanted = req.expected_length;
        if crate::tier_keeper::make_room(&ctx, wanted).await > 0 {
            opened = open_replica(&ctx, &req);
        }
    }
    let writer = match opened {
        Ok(w) => w,
        Err(e) => {
            let _ = write_frame(&mut up_write, &failure(&e, 0), &[]).await;
            return Err(e);
        }
    };
    let downstream = match connect_downstream(&ctx, &req).await {
        Ok(d) => d,
        Err((index, e)) => {
            let mut response = failure(&e, index);
            response.status = Status::DownstreamFailed as i32;
            let _ = write_frame(&mut up_write, &response, &[]).await;
            return Err(e);
        }
    };
    let ok = Response {
        status: Status::Ok as i32,
        chunk_size: ctx.store.chunk_size(),
        ..Default::default()
    };
    write_frame(&mut up_write, &ok, &[]).await?;
    let (down_read, down_write) = match downstream {
        Some(s) => {
            let (r, w) = s.into_split();
            (Some(r), Some(w))
        }
        None => (None, None),
    };
    let (acks, pending) = mpsc::channel(ACK_QUEUE);
    let responder = tokio::spawn(respond(
        pending,
        down_read,
        up_write,
        writer.ack_marker(),
        ctx.config.socket_timeout,
    ));
    let block = req.block.unwrap_or_default();
    let result = receive(&ctx, &mut up_read, down_write, writer, &acks).await;
    drop(acks);
    let _ = responder.await;
    if let Err(e) = &result {
        tracing::debug!(block = %BlockId(block.id), error = %e, "write pipeline ended early");
        // A half-received copy is worthless (the master schedules another); a client's
        // unfinished replica is kept for pipeline or lease recovery.
        if req.stage == WriteStage::Transfer as i32 {
            ctx.store
                .discard_unfinished(BlockId(block.id), block.generation);
        }
    }
    result
}

fn open_replica(ctx: &WorkerContext, req: &WriteBlock) -> Result<ReplicaWriter> {
    let block = req
        .block
        .as_ref()
        .ok_or_else(|| Error::Protocol("WriteBlock without a block".to_string()))?;
    if req.downstream.len() > MAX_DOWNSTREAM {
        return Err(Error::Protocol(format!(
            "a pipeline of {} workers is longer than {MAX_DOWNSTREAM}",
            req.downstream.len()
        )));
    }
    if req.chunk_size != ctx.store.chunk_size() {
        return Err(Error::Protocol(format!(
            "chunk size {} differs from this worker's {}",
            req.chunk_size,
            ctx.store.chunk_size()
        )));
    }
    let stage = WriteStage::try_from(req.stage)
        .map_err(|_| Error::Protocol(format!("unknown write stage {}", req.stage)))?;
    let mode = match stage {
        WriteStage::Create | WriteStage::Transfer => OpenMode::Create,
        WriteStage::Append => OpenMode::Append,
        WriteStage::PipelineRecovery => OpenMode::Recover,
    };
    ctx.store.open_writer(
        BlockId(block.id),
        block.generation,
        mode,
        req.start_offset,
        req.expected_length,
    )
}

/// Connects to the next worker and forwards the request; on failure returns the position of
/// the failed worker counted from this one.
async fn connect_downstream(
    ctx: &WorkerContext,
    req: &WriteBlock,
) -> std::result::Result<Option<TcpStream>, (u32, Error)> {
    let Some(next) = req.downstream.first() else {
        return Ok(None);
    };
    let timeout = ctx.config.socket_timeout;
    let mut stream = connect(&next.address, timeout).await.map_err(|e| (1, e))?;
    let forwarded = WriteBlock {
        downstream: req.downstream[1..].to_vec(),
        ..req.clone()
    };
    let request = Request {
        op: Some(request::Op::WriteBlock(forwarded)),
    };
    write_frame(&mut stream, &request, &[])
        .await
        .map_err(|e| (1, Error::from(e)))?;
    let response: Response = within(timeout, &next.address, read_header(&mut stream))
        .await
        .map_err(|e| (1, e))?
        .map_err(|e| (1, Error::from(e)))?;
    if response.status != Status::Ok as i32 {
        return Err((
            1 + response.failed_index,
            Error::Unavailable {
                address: next.address.clone(),
                reason: response.message,
            },
        ));
    }
    Ok(Some(stream))
}

/// A packet this worker has handled, waiting for the downstream ack.
struct Handled {
    seqno: u64,
    /// Where the packet's data ends in the block.
    end: u64,
    last: bool,
    error: Option<Error>,
}

async fn receive(
    ctx: &WorkerContext,
    up: &mut OwnedReadHalf,
    mut down: Option<OwnedWriteHalf>,
    writer: ReplicaWriter,
    acks: &mpsc::Sender<Handled>,
) -> Result<()> {
    let chunk = ctx.store.chunk_size();
    let mut writer = Some(writer);
    loop {
        let packet: Packet = match read_header(up).await {
            Ok(p) => p,
            Err(FrameError::Closed) => {
                return Err(Error::Protocol(
                    "upstream closed before the last packet".into(),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let payload = read_payload(up, packet.data_length as usize).await?;
        let handled = store_packet(ctx, &packet, &payload, chunk, &mut down, &mut writer).await;
        let failed = handled.is_err();
        let error = handled.err();
        let _ = acks
            .send(Handled {
                seqno: packet.seqno,
                end: packet.offset + payload.len() as u64,
                last: packet.last,
                error: error.clone(),
            })
            .await;
        if let Some(e) = error {
            return Err(e);
        }
        if packet.last || failed {
            return Ok(());
        }
    }
}

async fn store_packet(
    ctx: &WorkerContext,
    packet: &Packet,
    payload: &[u8],
    chunk: u32,
    down: &mut Option<OwnedWriteHalf>,
    writer: &mut Option<ReplicaWriter>,
) -> Result<()> {
    let checksums = decode_checksums(&packet.checksums)
        .ok_or_else(|| Error::Protocol("checksum field is not a multiple of 4 bytes".into()))?;
    if packet.last && !payload.is_empty() {
        return Err(Error::Protocol("the last packet must be empty".into()));
    }
    if checksums.len() != pieces(packet.offset, payload.len(), chunk).count() {
        return Err(Error::Protocol(format!(
            "packet at {} carries {} checksums for {} bytes",
            packet.offset,
            checksums.len(),
            payload.len()
        )));
    }
    let Some(w) = writer.as_mut() else {
        return Err(Error::Protocol("packet after the last packet".into()));
    };
    verify_chunks(packet.offset, payload, &checksums, chunk).map_err(|offset| {
        Error::ChecksumMismatch {
            block: format!("replica being written on {}", ctx.id),
            offset,
        }
    })?;
    if let Some(d) = down.as_mut()
        && write_frame(d, packet, payload).await.is_err()
    {
        // The responder notices the broken downstream when it reads its ack.
        *down = None;
    }
    if !packet.last {
        w.write_packet(packet.offset, payload, &checksums)?;
        ctx.metrics.written(payload.len() as u64);
        if packet.sync {
            let files = w.durability()?;
            tokio::task::spawn_blocking(move || files.sync())
                .await
                .map_err(|e| Error::Internal(format!("a replica sync panicked: {e}")))??;
        }
        return Ok(());
    }
    let Some(w) = writer.take() else {
        return Err(Error::Internal("writer vanished".into()));
    };
    let reported = ctx.store.finalize(w)?;
    ctx.master.block_received(&ctx.id, reported).await;
    Ok(())
}

async fn respond(
    mut handled: mpsc::Receiver<Handled>,
    mut down: Option<OwnedReadHalf>,
    mut up: OwnedWriteHalf,
    acknowledged: AckMarker,
    timeout: std::time::Duration,
) {
    while let Some(h) = handled.recv().await {
        let mut ack = Ack {
            seqno: h.seqno,
            status: Status::Ok as i32,
            ..Default::default()
        };
        if let Some(e) = &h.error {
            ack.status = status_of(e) as i32;
            ack.message = e.to_string();
        } else if let Some(d) = down.as_mut() {
            match within(timeout, "downstream ack", read_header::<_, Ack>(d)).await {
                Ok(Ok(down_ack)) if down_ack.seqno == h.seqno => {
                    if down_ack.status != Status::Ok as i32 {
                        ack.status = down_ack.status;
                        ack.failed_index = down_ack.failed_index + 1;
                        ack.message = down_ack.message;
                    }
                }
                Ok(Ok(other)) => {
                    ack.status = Status::DownstreamFailed as i32;
                    ack.failed_index = 1;
                    ack.message =
                        format!("downstream acked {} instead of {}", other.seqno, h.seqno);
                }
                Ok(Err(e)) => {
                    ack.status = Status::DownstreamFailed as i32;
                    ack.failed_index = 1;
                    ack.message = e.to_string();
                }
                Err(e) => {
                    ack.status = Status::DownstreamFailed as i32;
                    ack.failed_index = 1;
                    ack.message = e.to_string();
                }
            }
        }
        let failed = ack.status != Status::Ok as i32;
        if !failed {
            acknowledged.acknowledged(h.end);
        }
        if write_frame(&mut up, &ack, &[]).await.is_err() || failed || h.last {
            return;
        }
    }
}
