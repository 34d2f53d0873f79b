//! Times to live: `SetTtl`, and the checker that frees or deletes what has outlived its TTL.

use super::MasterState;
use super::client::{ClientService, delete_path, path};
use super::metadata_sync;
use super::mounts::free_path;
use crate::namespace::Expired;
use std::sync::Arc;
use std::time::Duration;
use strata_core::ttl::TtlAction;
use strata_core::{Error, Result, now_millis};
use strata_proto::journal::{self, entry::Op};
use strata_proto::rpc::{Empty, SetTtlRequest};
use tokio::sync::watch;

impl ClientService {
    pub(super) async fn set_ttl(&self, req: SetTtlRequest) -> Result<Empty> {
        let p = path(&req.path)?;
        self.state.check_writable()?;
        metadata_sync::refresh(&self.state, &p, metadata_sync::Use::Entry).await?;
        let action = if req.ttl_ms == 0 {
            String::new()
        } else {
            let action: TtlAction = req.action.parse()?;
            if action == TtlAction::Free && self.state.namespace.read().mount_of(&p).is_none() {
                return Err(Error::InvalidOperation {
                    path: p.to_string(),
                    reason: "only files under a mount can be freed (their bytes stay in under \
                             storage); use --action delete"
                        .to_string(),
                });
            }
            action.to_string()
        };
        let op = Op::SetTtl(journal::SetTtl {
            path: p.to_string(),
            ttl_ms: req.ttl_ms,
            action,
        });
        self.state.submit(op).await?;
        Ok(Empty {})
    }
}

/// Runs until `stopped`: every TTL check interval, deletes or frees each file and directory
/// whose TTL has run out. A failure is logged and tried again at the next check.
pub async fn run_checker(state: Arc<MasterState>, mut stopped: watch::Receiver<bool>) {
    let period = state
        .config
        .ttl_check_interval
        .max(Duration::from_millis(10));
    let mut tick = tokio::time::interval(period);
    while super::next_tick(&mut tick, &mut stopped).await {
        if state.cluster.lock().safe_mode.is_on() {
            continue;
        }
        let expired = state.namespace.read().expired(now_millis());
        for inode in expired {
            if let Err(e) = expire(&state, &inode).await {
                tracing::warn!(path = %inode.path, action = %inode.action, error = %e,
                    "acting on an expired TTL failed; will try again");
            }
        }
    }
}

/// Deletes or frees one expired inode (when it is still where it was found). A freed inode
/// loses its TTL once nothing beneath is left unpersisted.
async fn expire(state: &MasterState, inode: &Expired) -> Result<()> {
    if state.namespace.read().lookup(&inode.path)? != Some(inode.id) {
        return Ok(());
    }
    match inode.action {
        TtlAction::Delete => {
            delete_path(state, &inode.path, true).await?;
            tracing::info!(path = %inode.path, "TTL ran out: deleted");
        }
        TtlAction::Free => {
            let done = free_path(state, &inode.path)?;
            if done.not_persisted > 0 {
                return Ok(());
            }
            let op = Op::SetTtl(journal::SetTtl {
                path: inode.path.to_string(),
                ttl_ms: 0,
                action: String::new(),
            });
            state.submit(op).await?;
            tracing::info!(path = %inode.path, files = done.freed_files,
                blocks = done.freed_blocks, "TTL ran out: freed");
        }
    }
    Ok(())
}
