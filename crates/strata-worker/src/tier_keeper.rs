//! The worker's tier maintenance: every `tiering.interval`, a pass that moves replicas down
//! from tiers past their high watermark and up when read often (see `store::tiering`), then,
//! when the slowest tier is past its high watermark, drops the replicas the master releases
//! (those whose bytes are durable in under storage; nothing else is ever dropped). Moved
//! replicas are reported with the next heartbeat, so the master knows each replica's tier.
//! A new replica that finds no room anywhere asks for room at once ([`make_room`]) instead of
//! waiting for the next pass.

use crate::context::WorkerContext;
use std::sync::Arc;
use strata_core::BlockId;
use tokio::sync::watch;

/// Runs passes until `stopped` turns true.
pub async fn run(ctx: Arc<WorkerContext>, mut stopped: watch::Receiver<bool>) {
    let settings = ctx.config.tiering.clone();
    let several_tiers = ctx.store.has_several_tiers();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(settings.interval) => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
        if several_tiers {
            let store = ctx.store.clone();
            let pass = settings.clone();
            match tokio::task::spawn_blocking(move || store.rebalance_tiers(&pass)).await {
                Ok(moves) if !moves.moved.is_empty() => {
                    tracing::info!(
                        demoted = moves.demoted,
                        promoted = moves.promoted,
                        "replicas moved between tiers"
                    );
                    ctx.master.blocks_moved(moves.moved);
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "a tier maintenance pass failed"),
            }
        }
        evict(&ctx, &settings).await;
    }
}

/// Most replicas offered to the master in one eviction pass.
const EVICTION_BATCH: usize = 1000;

/// Drops, least wanted first, replicas of the slowest tier whose bytes the master says are
/// durable elsewhere, until the tier is under its low watermark. A reader the master sends
/// here before it hears of a drop finds no replica and is read through instead.
async fn evict(ctx: &WorkerContext, settings: &strata_core::tier::TieringConfig) {
    let (candidates, excess) = ctx.store.eviction_candidates(settings, EVICTION_BATCH);
    let dropped = drop_released(ctx, &candidates, excess).await;
    if dropped > 0 {
        tracing::info!(
            dropped,
            "replicas of under storage dropped from the slowest tier"
        );
    }
}

/// Makes room at once for a new replica of `bytes` when no tier has any: drops, least wanted
/// first, replicas of the slowest tier the master says are durable elsewhere. Returns how many
/// were dropped.
pub async fn make_room(ctx: &WorkerContext, bytes: u64) -> usize {
    let candidates = ctx
        .store
        .slowest_tier_order(ctx.config.tiering.eviction, EVICTION_BATCH);
    let dropped = drop_released(ctx, &candidates, bytes.max(1)).await;
    if dropped > 0 {
        tracing::info!(
            dropped,
            bytes,
            "replicas of under storage dropped to make room"
        );
    }
    dropped
}

/// Drops, in the order given, the `candidates` the master releases until `excess` bytes are
/// gone; returns how many were dropped.
async fn drop_released(
    ctx: &WorkerContext,
    candidates: &[crate::store::ReplicaInfo],
    mut excess: u64,
) -> usize {
    if candidates.is_empty() || excess == 0 {
        return 0;
    }
    let released = match ctx.master.release_replicas(&ctx.id, candidates).await {
        Ok(released) => released,
        Err(e) => {
            tracing::warn!(error = %e, "could not ask the master which replicas to drop");
            return 0;
        }
    };
    let mut dropped = 0;
    for info in candidates.iter().filter(|c| released.contains(&c.id.0)) {
        if excess == 0 {
            break;
        }
        if let Some(report) = ctx.store.delete(BlockId(info.id.0), info.generation) {
            ctx.master.block_deleted(report);
            excess = excess.saturating_sub(info.length);
            dropped += 1;
        }
    }
    dropped
}
