//! Persisting a file for the master: its blocks, each read (checksums verified) from the
//! first replica that answers, streamed into one object of the mount's under storage. The
//! answer carries the object's fingerprint as the storage then holds it.

use crate::context::WorkerContext;
use crate::write_block::failure;
use strata_core::{Error, ExtendedBlock, Result};
use strata_proto::block_io::BlockReader;
use strata_proto::data::{PersistFile, Response, Status};
use strata_proto::frame::write_frame;
use strata_proto::rpc::{LocatedBlock, UfsFingerprint};
use strata_ufs::UfsWriter;
use tokio::io::AsyncWrite;

/// Handles a `PersistFile` request.
pub async fn handle<W: AsyncWrite + Unpin>(
    ctx: &WorkerContext,
    out: &mut W,
    req: PersistFile,
) -> Result<()> {
    match copy(ctx, &req).await {
        Ok(fingerprint) => {
            let response = Response {
                status: Status::Ok as i32,
                length: req.length,
                fingerprint: Some(fingerprint),
                ..Default::default()
            };
            Ok(write_frame(out, &response, &[]).await?)
        }
        Err(e) => {
            tracing::warn!(key = %req.key, mount = %req.mount, error = %e, "persisting failed");
            let _ = write_frame(out, &failure(&e, 0), &[]).await;
            Err(e)
        }
    }
}

async fn copy(ctx: &WorkerContext, req: &PersistFile) -> Result<UfsFingerprint> {
    let storage = ctx.mounted.get(ctx, &req.mount).await?;
    let mut writer = storage.writer(&req.key).await?;
    let mut written = 0;
    for located in &req.blocks {
        match copy_block(ctx, located, &mut writer).await {
            Ok(n) => written += n,
            Err(e) => {
                writer.abort().await;
                return Err(e);
            }
        }
    }
    if written != req.length {
        writer.abort().await;
        return Err(Error::Protocol(format!(
            "{}: the blocks hold {written} bytes, the file {}",
            req.key, req.length
        )));
    }
    let object = writer.close().await?;
    Ok(UfsFingerprint {
        length: object.length,
        etag: object.etag.unwrap_or_default(),
        modified_ms: object.modified_ms.unwrap_or_default(),
    })
}

/// Appends one block to `writer` from the first of its locations that serves it whole.
async fn copy_block(
    ctx: &WorkerContext,
    located: &LocatedBlock,
    writer: &mut UfsWriter,
) -> Result<u64> {
    let block = located
        .block
        .as_ref()
        .map(ExtendedBlock::from)
        .ok_or_else(|| Error::Protocol("a block to persist without its id".to_string()))?;
    let client = format!("persist-{}", ctx.id);
    let mut last_error = None;
    for worker in &located.locations {
        let opened = BlockReader::open(
            block,
            worker,
            0,
            block.length,
            &client,
            ctx.config.socket_timeout,
        )
        .await;
        let mut reader = match opened {
            Ok(r) => r,
            Err(e) => {
                last_error = Some(e);
                continue;
            }
        };
        // Nothing of this block has been written yet: another replica may still serve it.
        let first = match reader.next().await {
            Ok(first) => first,
            Err(e) => {
                last_error = Some(e);
                continue;
            }
        };
        let mut copied = 0;
        let mut next = first;
        while let Some(bytes) = next {
            copied += bytes.len() as u64;
            writer.write(bytes).await?;
            next = reader.next().await?;
        }
        return Ok(copied);
    }
    Err(Error::BlockUnavailable {
        path: String::new(),
        block: block.id.to_string(),
        reason: last_error.map_or_else(|| "no replica is known".to_string(), |e| e.to_string()),
    })
}
