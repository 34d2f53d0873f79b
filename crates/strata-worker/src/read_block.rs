//! Serving reads: chunk-aligned packets with their stored checksums (the client verifies), and
//! whole-replica checksums.

use crate::context::WorkerContext;
use crate::store::ReplicaReader;
use crate::write_block::failure;
use strata_core::checksum::encode_checksums;
use strata_core::{BlockId, Error, Result};
use strata_proto::data::{BlockChecksum, Packet, ReadBlock, Response, Status, VisibleLength};
use strata_proto::frame::write_frame;
use tokio::io::AsyncWrite;

/// Data bytes per read packet (a multiple of every supported chunk size).
pub const READ_PACKET: u64 = 256 << 10;

/// Handles a `ReadBlock` request.
pub async fn handle<W: AsyncWrite + Unpin>(
    ctx: &WorkerContext,
    out: &mut W,
    mut req: ReadBlock,
) -> Result<()> {
    if let Some(source) = req.ufs.take() {
        let cached = req
            .block
            .as_ref()
            .and_then(|b| ctx.store.info(BlockId(b.id)));
        if !cached.is_some_and(|r| r.state == crate::store::ReplicaState::Finalized) {
            return crate::read_through::handle(ctx, out, req, source).await;
        }
    }
    let prepared = (|| {
        let block = req
            .block
            .as_ref()
            .ok_or_else(|| Error::Protocol("ReadBlock without a block".to_string()))?;
        let reader = ctx.store.open_reader(BlockId(block.id), block.generation)?;
        ctx.store.note_read(BlockId(block.id));
        let length = reader.info().length;
        if req.offset > length {
            return Err(Error::InvalidArgument(format!(
                "{}: offset {} is past the replica's {length} bytes",
                BlockId(block.id),
                req.offset
            )));
        }
        Ok(reader)
    })();
    let reader = match prepared {
        Ok(r) => r,
        Err(e) => {
            let _ = write_frame(out, &failure(&e, 0), &[]).await;
            return Err(e);
        }
    };
    let info = reader.info().clone();
    let chunk = reader.chunk_size() as u64;
    let start = req.offset - req.offset % chunk;
    let wanted_end = req.offset.saturating_add(req.length).min(info.length);
    let end = wanted_end
        .div_ceil(chunk)
        .saturating_mul(chunk)
        .min(info.length);
    let response = Response {
        status: Status::Ok as i32,
        chunk_size: reader.chunk_size(),
        start_offset: start,
        length: info.length,
        generation: info.generation,
        finalized: info.state == crate::store::ReplicaState::Finalized,
        ..Default::default()
    };
    write_frame(out, &response, &[]).await?;
    send_packets(ctx, &reader, start, end, out).await
}

/// Sends `[start, end)` of a replica (`start` on a chunk boundary) as packets numbered from 0
/// with their stored checksums (the reader verifies them), then the empty last packet.
async fn send_packets<W: AsyncWrite + Unpin>(
    ctx: &WorkerContext,
    reader: &ReplicaReader,
    start: u64,
    end: u64,
    out: &mut W,
) -> Result<()> {
    let mut buf = Vec::with_capacity(READ_PACKET as usize);
    let mut pos = start;
    let mut seqno = 0;
    while pos < end {
        let n = (end - pos).min(READ_PACKET) as usize;
        let crcs = reader.read_chunks(pos, n, &mut buf)?;
        send_packet(ctx, out, seqno, pos, &buf, &crcs).await?;
        pos += n as u64;
        seqno += 1;
    }
    send_last(out, seqno, pos).await
}

/// Sends one packet of block data at `offset` with one checksum per chunk piece.
pub(crate) async fn send_packet<W: AsyncWrite + Unpin>(
    ctx: &WorkerContext,
    out: &mut W,
    seqno: u64,
    offset: u64,
    data: &[u8],
    checksums: &[u32],
) -> Result<()> {
    let packet = Packet {
        seqno,
        offset,
        last: false,
        checksums: encode_checksums(checksums),
        data_length: data.len() as u32,
        sync: false,
    };
    write_frame(out, &packet, data).await?;
    ctx.metrics.read(data.len() as u64);
    Ok(())
}

/// Sends the empty packet that ends a read at `offset`.
pub(crate) async fn send_last<W: AsyncWrite + Unpin>(
    out: &mut W,
    seqno: u64,
    offset: u64,
) -> Result<()> {
    let last = Packet {
        seqno,
        offset,
        last: true,
        ..Default::default()
    };
    write_frame(out, &last, &[]).await?;
    Ok(())
}

/// Handles a `BlockChecksum` request: the CRC32C of the whole replica.
pub async fn checksum<W: AsyncWrite + Unpin>(
    ctx: &WorkerContext,
    out: &mut W,
    req: BlockChecksum,
) -> Result<()> {
    let result = (|| {
        let block = req
            .block
            .as_ref()
            .ok_or_else(|| Error::Protocol("BlockChecksum without a block".to_string()))?;
        let reader = ctx.store.open_reader(BlockId(block.id), block.generation)?;
        Ok(Response {
            status: Status::Ok as i32,
            length: reader.info().length,
            generation: reader.info().generation,
            crc32c: reader.block_crc()?,
            chunk_size: reader.chunk_size(),
            chunk_crcs_md5: if req.chunk_crcs_md5 {
                reader.chunk_crcs_md5()?.to_vec()
            } else {
                Vec::new()
            },
            ..Default::default()
        })
    })();
    match result {
        Ok(response) => Ok(write_frame(out, &response, &[]).await?),
        Err(e) => {
            let _ = write_frame(out, &failure(&e, 0), &[]).await;
            Err(e)
        }
    }
}

/// Handles a `VisibleLength` request: how much of the replica readers may see.
pub async fn visible_length<W: AsyncWrite + Unpin>(
    ctx: &WorkerContext,
    out: &mut W,
    req: VisibleLength,
) -> Result<()> {
    let result = (|| {
        let block = req
            .block
            .as_ref()
            .ok_or_else(|| Error::Protocol("VisibleLength without a block".to_string()))?;
        let info = ctx
            .store
            .info(BlockId(block.id))
            .ok_or_else(|| Error::ReplicaNotFound {
                block: BlockId(block.id).to_string(),
                reason: "this worker holds no replica of it".to_string(),
            })?;
        if info.generation < block.generation {
            return Err(Error::ReplicaNotFound {
                block: BlockId(block.id).to_string(),
                reason: format!(
                    "this worker holds generation {}, older than the requested {}",
                    info.generation, block.generation
                ),
            });
        }
        let finalized = info.state == crate::store::ReplicaState::Finalized;
        Ok(Response {
            status: Status::Ok as i32,
            length: if finalized {
                info.length
            } else {
                info.acknowledged
            },
            generation: info.generation,
            finalized,
            ..Default::default()
        })
    })();
    match result {
        Ok(response) => Ok(write_frame(out, &response, &[]).await?),
        Err(e) => {
            let _ = write_frame(out, &failure(&e, 0), &[]).await;
            Err(e)
        }
    }
}
