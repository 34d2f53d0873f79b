//! Re-replication: this worker sends a finalized replica down a pipeline of target workers,
//! like a client writing it, with the replica's own checksums. Every run is verified as it is
//! read, so a damaged local replica is reported instead of copied.

use crate::context::WorkerContext;
use crate::read_block::READ_PACKET;
use strata_core::{Error, ExtendedBlock, Result};
use strata_proto::block_io::BlockSink;
use strata_proto::data::WriteStage;
use strata_proto::rpc::WorkerAddress;

/// Copies `block` to `targets`; the bytes sent.
pub async fn send(
    ctx: &WorkerContext,
    block: ExtendedBlock,
    targets: &[WorkerAddress],
) -> Result<u64> {
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
    let client = format!("transfer-from-{}", ctx.id);
    let mut sink = BlockSink::open(
        block,
        targets,
        WriteStage::Transfer,
        &client,
        reader.chunk_size(),
        ctx.config.socket_timeout,
    )
    .await?;
    let mut buf = Vec::with_capacity(READ_PACKET as usize);
    let mut pos = 0;
    while pos < length {
        let n = (length - pos).min(READ_PACKET) as usize;
        let crcs = match reader.read_verified(pos, n, &mut buf) {
            Ok(crcs) => crcs,
            Err(e) => {
                if matches!(e, Error::ChecksumMismatch { .. }) {
                    ctx.master.report_bad(&ctx.id, block).await;
                }
                return Err(e);
            }
        };
        sink.send_checked(&buf, &crcs).await?;
        pos += n as u64;
    }
    sink.finish().await.map(|_| length)
}
