//! The block scanner: slowly re-reads every finalized replica and checks it against its
//! checksums, so disk rot is found and repaired before a reader meets it. One pass takes about
//! `scan_period`; a damaged replica is reported to the master, which replaces it.

use crate::context::WorkerContext;
use std::sync::Arc;
use std::time::Duration;
use strata_core::{Error, ExtendedBlock};
use tokio::sync::watch;

/// Bytes verified per read.
const SCAN_READ: usize = 1 << 20;

/// Runs passes until `stopped` turns true.
pub async fn run(ctx: Arc<WorkerContext>, mut stopped: watch::Receiver<bool>) {
    let period = ctx.config.scan_period;
    if period.is_zero() {
        return;
    }
    loop {
        let replicas = ctx.store.finalized();
        let replicas_empty = replicas.is_empty();
        let pause = period / (replicas.len().max(1) as u32);
        for (id, generation) in replicas {
            tokio::select! {
                _ = tokio::time::sleep(pause.max(Duration::from_millis(1))) => {}
                _ = stopped.wait_for(|s| *s) => return,
            }
            let store = ctx.store.clone();
            let verdict = tokio::task::spawn_blocking(move || -> Result<Option<ExtendedBlock>, Error> {
                let reader = store.open_reader(id, generation)?;
                let length = reader.info().length;
                let mut buf = Vec::new();
                let mut pos = 0;
                while pos < length {
                    let n = (length - pos).min(SCAN_READ as u64) as usize;
                    if let Err(e) = reader.read_verified(pos, n, &mut buf) {
                        tracing::warn!(block = %id, error = %e, "scanner found a damaged replica");
                        return Ok(Some(ExtendedBlock { id, generation, length }));
                    }
                    pos += n as u64;
                }
                Ok(None)
            })
            .await;
            if let Ok(Ok(Some(bad))) = verdict {
                ctx.master.report_bad(&ctx.id, bad).await;
            }
        }
        // No finished replica to check (none stored, or only replicas being written): wait
        // rather than loop, which would hold the runtime thread and starve those writes.
        if replicas_empty {
            tokio::select! {
                _ = tokio::time::sleep(period.min(Duration::from_secs(10))) => {}
                _ = stopped.wait_for(|s| *s) => return,
            }
        }
    }
}
