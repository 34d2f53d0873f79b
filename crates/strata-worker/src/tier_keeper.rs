//! The worker's tier maintenance: every `tiering.interval`, a pass that moves replicas down
//! from tiers past their high watermark and up when read often (see `store::tiering`).

use crate::context::WorkerContext;
use std::sync::Arc;
use tokio::sync::watch;

/// Runs passes until `stopped` turns true; a worker with one tier has nothing to do.
pub async fn run(ctx: Arc<WorkerContext>, mut stopped: watch::Receiver<bool>) {
    if ctx.config.storage_tiers().len() < 2 {
        return;
    }
    let settings = ctx.config.tiering.clone();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(settings.interval) => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
        let store = ctx.store.clone();
        let pass = settings.clone();
        match tokio::task::spawn_blocking(move || store.rebalance_tiers(&pass)).await {
            Ok(moves) if moves.demoted + moves.promoted > 0 => {
                tracing::info!(
                    demoted = moves.demoted,
                    promoted = moves.promoted,
                    "replicas moved between tiers"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "a tier maintenance pass failed"),
        }
    }
}
