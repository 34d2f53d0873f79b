//! The worker's life with the master: register, send a full block report, then heartbeat;
//! run the commands that come back; register again whenever the master asks (it restarted or
//! had declared this worker dead).

use crate::commands;
use crate::context::WorkerContext;
use std::sync::Arc;
use std::time::{Duration, Instant};
use strata_proto::rpc::{HeartbeatRequest, WorkerAddress};
use tokio::sync::watch;

/// Runs until `stopped` turns true.
pub async fn run(
    ctx: Arc<WorkerContext>,
    address: WorkerAddress,
    mut stopped: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let registration = ctx
            .master
            .register(address.clone(), ctx.store.storage())
            .await;
        let settings = match registration {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "registration with the master failed; retrying");
                if sleep_or_stop(&mut stopped, backoff).await {
                    return;
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        ctx.heartbeat_answered();
        backoff = Duration::from_millis(100);
        let interval = Duration::from_millis(settings.heartbeat_interval_ms.max(10));
        let report_interval = Duration::from_millis(settings.block_report_interval_ms.max(1000));
        tracing::info!(worker = %ctx.id, cluster = %settings.cluster_id, "registered with the master");
        if let Err(e) = ctx.master.full_report(&ctx.id, ctx.store.report()).await {
            tracing::warn!(error = %e, "full block report failed; registering again");
            if sleep_or_stop(&mut stopped, interval).await {
                return;
            }
            continue;
        }
        let mut last_report = Instant::now();
        loop {
            if sleep_or_stop(&mut stopped, interval).await {
                return;
            }
            let _ = ctx.master.flush_incremental(&ctx.id).await;
            let request = HeartbeatRequest {
                worker_id: ctx.id.clone(),
                storage: Some(ctx.store.storage()),
                active_operations: ctx.active_operations(),
                block_count: ctx.store.len() as u64,
            };
            match ctx.master.heartbeat(request).await {
                Ok(response) if response.reregister => {
                    ctx.heartbeat_answered();
                    tracing::info!("the master asks this worker to register again");
                    break;
                }
                Ok(response) => {
                    ctx.heartbeat_answered();
                    ctx.set_decommissioned(response.decommissioned);
                    for command in response.commands {
                        commands::execute(ctx.clone(), command);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
            }
            if last_report.elapsed() >= report_interval {
                match ctx.master.full_report(&ctx.id, ctx.store.report()).await {
                    Ok(()) => last_report = Instant::now(),
                    Err(e) => tracing::warn!(error = %e, "periodic block report failed"),
                }
            }
        }
    }
}

/// Sleeps; returns true if the worker is stopping.
async fn sleep_or_stop(stopped: &mut watch::Receiver<bool>, duration: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(duration) => {}
        _ = stopped.wait_for(|s| *s) => return true,
    }
    *stopped.borrow()
}
