//! Write leases: one writer per file. A client renews its lease while it writes; when it stops
//! renewing, its files are recovered (last block agreed among the replicas) and closed.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
use strata_core::InodeId;

/// The lease of one client over the files it writes.
#[derive(Debug, Clone)]
struct Lease {
    renewed: Instant,
    files: HashSet<InodeId>,
}

/// A lease recovery in progress.
#[derive(Debug, Clone, Copy)]
pub struct Recovery {
    /// When it started (it is retried when it takes longer than the lease timeout).
    pub started: Instant,
    /// The generation stamp the last block's replicas had when the first attempt began:
    /// every attempt bumps the stamp, and an attempt whose primary died never moved any
    /// replica past it, so every retry agrees among replicas of this generation or newer.
    pub replica_generation: Option<u64>,
}

/// Every client's lease, and the files being recovered.
#[derive(Debug, Default)]
pub struct LeaseTable {
    leases: HashMap<String, Lease>,
    holder_of: HashMap<InodeId, String>,
    recovering: HashMap<InodeId, Recovery>,
}

impl LeaseTable {
    /// `client` now writes `file`.
    pub fn add(&mut self, client: &str, file: InodeId, now: Instant) {
        let lease = self.leases.entry(client.to_string()).or_insert(Lease {
            renewed: now,
            files: HashSet::new(),
        });
        lease.renewed = now;
        lease.files.insert(file);
        self.holder_of.insert(file, client.to_string());
    }

    /// `file` is closed or gone.
    pub fn remove_file(&mut self, file: InodeId) {
        self.recovering.remove(&file);
        if let Some(client) = self.holder_of.remove(&file)
            && let Some(lease) = self.leases.get_mut(&client)
        {
            lease.files.remove(&file);
            if lease.files.is_empty() {
                self.leases.remove(&client);
            }
        }
    }

    /// Renews every lease of `client`; false when it holds none.
    pub fn renew(&mut self, client: &str, now: Instant) -> bool {
        match self.leases.get_mut(client) {
            Some(lease) => {
                lease.renewed = now;
                true
            }
            None => false,
        }
    }

    /// Whether the lease on `file` has run out.
    pub fn is_expired(&self, file: InodeId, timeout: Duration, now: Instant) -> bool {
        self.holder_of
            .get(&file)
            .and_then(|c| self.leases.get(c))
            .is_none_or(|l| now.duration_since(l.renewed) > timeout)
    }

    /// Files whose lease has run out and that are not being recovered already (or whose
    /// recovery has taken longer than `timeout` and should be tried again).
    pub fn due_for_recovery(&self, timeout: Duration, now: Instant) -> Vec<InodeId> {
        let mut due = Vec::new();
        for lease in self.leases.values() {
            if now.duration_since(lease.renewed) <= timeout {
                continue;
            }
            for file in &lease.files {
                match self.recovering.get(file) {
                    Some(r) if now.duration_since(r.started) <= timeout => {}
                    _ => due.push(*file),
                }
            }
        }
        due
    }

    /// Notes that recovery of `file` has started (or started again: the replicas'
    /// generation noted by the first attempt is kept).
    pub fn start_recovery(&mut self, file: InodeId, now: Instant) {
        let replica_generation = self
            .recovering
            .get(&file)
            .and_then(|r| r.replica_generation);
        self.recovering.insert(
            file,
            Recovery {
                started: now,
                replica_generation,
            },
        );
    }

    /// The generation the last block's replicas had when the recovery of `file` first
    /// began, noting `current` as that generation on the first attempt.
    pub fn replica_generation(&mut self, file: InodeId, current: u64) -> u64 {
        match self.recovering.get_mut(&file) {
            Some(r) => *r.replica_generation.get_or_insert(current),
            None => current,
        }
    }

    /// Whether `file` is being recovered.
    pub fn is_recovering(&self, file: InodeId) -> bool {
        self.recovering.contains_key(&file)
    }

    /// Whether a recovery of `file` began within the last `timeout` (so is not stalled).
    pub fn is_recovering_since(&self, file: InodeId, timeout: Duration, now: Instant) -> bool {
        self.recovering
            .get(&file)
            .is_some_and(|r| now.duration_since(r.started) <= timeout)
    }

    /// Number of clients holding leases.
    pub fn len(&self) -> usize {
        self.leases.len()
    }

    /// Whether no client holds a lease.
    pub fn is_empty(&self) -> bool {
        self.leases.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_and_recovery_bookkeeping() {
        let mut t = LeaseTable::default();
        let t0 = Instant::now();
        let timeout = Duration::from_secs(10);
        t.add("c1", InodeId(5), t0);
        t.add("c1", InodeId(6), t0);
        assert!(
            t.due_for_recovery(timeout, t0 + Duration::from_secs(5))
                .is_empty()
        );
        assert!(t.renew("c1", t0 + Duration::from_secs(5)));
        let later = t0 + Duration::from_secs(16);
        let mut due = t.due_for_recovery(timeout, later);
        due.sort();
        assert_eq!(due, vec![InodeId(5), InodeId(6)]);
        t.start_recovery(InodeId(5), later);
        assert_eq!(t.due_for_recovery(timeout, later), vec![InodeId(6)]);
        assert!(t.is_recovering(InodeId(5)));
        assert!(t.is_recovering_since(InodeId(5), timeout, later + Duration::from_secs(10)));
        assert!(!t.is_recovering_since(InodeId(5), timeout, later + Duration::from_secs(11)));
        assert!(!t.is_recovering_since(InodeId(6), timeout, later));
        assert_eq!(
            t.replica_generation(InodeId(5), 7),
            7,
            "noted by the first attempt"
        );
        t.start_recovery(InodeId(5), later);
        assert_eq!(t.replica_generation(InodeId(5), 9), 7, "kept by a retry");
        t.remove_file(InodeId(5));
        t.remove_file(InodeId(6));
        assert!(t.is_empty());
        assert!(!t.renew("c1", later));
    }
}
