//! Keeps the write leases of a client alive while it has files open for writing.

use crate::master::MasterClient;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use strata_proto::rpc::RenewLeaseRequest;

/// Counts open writers and renews the client's lease while any is open (clones share the
/// count).
#[derive(Debug, Clone)]
pub struct LeaseRenewer {
    open: Arc<AtomicUsize>,
}

impl LeaseRenewer {
    /// Starts renewing every `interval` on behalf of `client_name`. The task ends when the
    /// renewer is dropped.
    pub fn start(master: MasterClient, client_name: String, interval: Duration) -> LeaseRenewer {
        let open = Arc::new(AtomicUsize::new(0));
        let weak = Arc::downgrade(&open);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                let Some(open) = weak.upgrade() else { return };
                if open.load(Ordering::Relaxed) == 0 {
                    continue;
                }
                drop(open);
                let request = RenewLeaseRequest {
                    client_name: client_name.clone(),
                };
                if let Err(status) = master.client().renew_lease(request).await {
                    tracing::warn!(error = %master.error(status), "lease renewal failed");
                }
            }
        });
        LeaseRenewer { open }
    }

    /// Marks a writer open until the guard is dropped.
    pub fn hold(&self) -> LeaseGuard {
        self.open.fetch_add(1, Ordering::Relaxed);
        LeaseGuard {
            open: self.open.clone(),
        }
    }
}

/// One open writer.
#[derive(Debug)]
pub struct LeaseGuard {
    open: Arc<AtomicUsize>,
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }
}
