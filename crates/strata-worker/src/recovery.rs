//! Lease recovery on the worker side. As primary, a worker asks every replica holder what it
//! has, agrees on the shortest length (every holder has at least that much, checksummed),
//! finalizes all of them at that length under the new generation stamp, and reports the result
//! to the master. As a holder, it answers queries and finalizes on request.

use crate::context::WorkerContext;
use crate::write_block::failure;
use strata_core::{BlockId, Error, ExtendedBlock, Result};
use strata_ec::{EcPolicy, StripeGeometry};
use strata_proto::block_io::ask;
use strata_proto::data::{RecoveryFinalize, RecoveryQuery, Response, Status, request};
use strata_proto::frame::write_frame;
use strata_proto::rpc::{RecoverCommand, WorkerAddress};
use tokio::io::AsyncWrite;

/// Answers what this worker holds of a block.
pub async fn handle_query<W: AsyncWrite + Unpin>(
    ctx: &WorkerContext,
    out: &mut W,
    req: RecoveryQuery,
) -> Result<()> {
    let response = match ctx.store.info(BlockId(req.block_id)) {
        Some(info) => Response {
            status: Status::Ok as i32,
            length: info.length,
            generation: info.generation,
            finalized: info.state == crate::store::ReplicaState::Finalized,
            ..Default::default()
        },
        None => failure(
            &Error::ReplicaNotFound {
                block: BlockId(req.block_id).to_string(),
                reason: format!("not on worker {}", ctx.id),
            },
            0,
        ),
    };
    Ok(write_frame(out, &response, &[]).await?)
}

/// Truncates and finalizes a replica at the agreed length.
pub async fn handle_finalize<W: AsyncWrite + Unpin>(
    ctx: &WorkerContext,
    out: &mut W,
    req: RecoveryFinalize,
) -> Result<()> {
    let result = ctx
        .store
        .recover_to(BlockId(req.block_id), req.new_generation, req.length);
    let response = match &result {
        Ok(reported) => {
            ctx.master.block_received(&ctx.id, *reported).await;
            Response {
                status: Status::Ok as i32,
                length: reported.length,
                generation: reported.generation,
                ..Default::default()
            }
        }
        Err(e) => failure(e, 0),
    };
    write_frame(out, &response, &[]).await?;
    result.map(|_| ())
}

/// One holder of a replica taking part in a recovery.
struct Holder {
    peer: WorkerAddress,
    /// The replica it holds (an internal block for a block group).
    block: BlockId,
    /// The internal block's index in its group (0 for a replicated block).
    index: usize,
    length: u64,
}

/// The block's agreed length: for a replicated block the shortest replica; for a block group
/// the whole stripes that at least `data` internal blocks hold.
fn agree(holders: &[Holder], geometry: Option<&StripeGeometry>) -> u64 {
    match geometry {
        None => holders.iter().map(|h| h.length).min().unwrap_or(0),
        Some(g) => {
            let mut stripes: Vec<u64> = holders.iter().map(|h| h.length / g.cell).collect();
            stripes.sort_unstable_by(|a, b| b.cmp(a));
            stripes.get(g.data - 1).copied().unwrap_or(0) * g.stripe_size()
        }
    }
}

/// Runs a recovery as primary.
pub async fn run_primary(ctx: &WorkerContext, command: RecoverCommand) -> Result<()> {
    let block = command
        .block
        .as_ref()
        .map(ExtendedBlock::from)
        .ok_or_else(|| Error::Protocol("recover command without a block".to_string()))?;
    let policy = if command.policy.is_empty() {
        None
    } else {
        Some(EcPolicy::parse(&command.policy).map_err(|e| Error::InvalidArgument(e.to_string()))?)
    };
    let mut holders = Vec::new();
    for (i, peer) in command.replicas.iter().enumerate() {
        let index = command.indices.get(i).copied().unwrap_or(0) as usize;
        let id = if policy.is_some() {
            block.id.internal(index)
        } else {
            block.id
        };
        let answer = if peer.id == ctx.id {
            ctx.store.info(id).map(|i| (i.length, i.generation))
        } else {
            ask(
                &peer.data_address,
                request::Op::RecoveryQuery(RecoveryQuery { block_id: id.0 }),
                ctx.config.socket_timeout,
            )
            .await
            .ok()
            .map(|r| (r.length, r.generation))
        };
        match answer {
            Some((length, generation))
                if generation >= block.generation && generation < command.new_generation =>
            {
                holders.push(Holder {
                    peer: peer.clone(),
                    block: id,
                    index,
                    length,
                });
            }
            _ => {
                tracing::info!(block = %id, peer = %peer.id, "replica holder left out of recovery")
            }
        }
    }
    if holders.is_empty() || policy.is_some_and(|p| holders.len() < p.data) {
        return Err(Error::BlockUnavailable {
            path: String::new(),
            block: block.id.to_string(),
            reason: "too few replica holders answered the recovery".to_string(),
        });
    }
    let geometry = policy.as_ref().map(StripeGeometry::new);
    let length = agree(&holders, geometry.as_ref());
    let mut finalized = Vec::new();
    for holder in &holders {
        let target = geometry.map_or(length, |g| g.internal_length(length, holder.index));
        if holder.length < target {
            continue;
        }
        let done = if holder.peer.id == ctx.id {
            match ctx
                .store
                .recover_to(holder.block, command.new_generation, target)
            {
                Ok(reported) => {
                    ctx.master.block_received(&ctx.id, reported).await;
                    true
                }
                Err(e) => {
                    tracing::warn!(block = %holder.block, error = %e, "local recovery failed");
                    false
                }
            }
        } else {
            let op = request::Op::RecoveryFinalize(RecoveryFinalize {
                block_id: holder.block.0,
                new_generation: command.new_generation,
                length: target,
            });
            ask(&holder.peer.data_address, op, ctx.config.socket_timeout)
                .await
                .is_ok()
        };
        if done {
            finalized.push(holder.peer.id.clone());
        }
    }
    if finalized.is_empty() {
        return Err(Error::BlockUnavailable {
            path: String::new(),
            block: block.id.to_string(),
            reason: "no replica could be finalized".to_string(),
        });
    }
    let recovered = ExtendedBlock {
        id: block.id,
        generation: command.new_generation,
        length,
    };
    tracing::info!(block = %block.id, length, holders = finalized.len(), "block recovered");
    ctx.master.commit_recovery(recovered, finalized).await
}
