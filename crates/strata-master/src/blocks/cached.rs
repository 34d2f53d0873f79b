//! How much of a file the workers hold: the bytes with a readable cached copy, and the bytes
//! of readable replicas on each tier (what `strata fs stat` shows of a file under a mount).

use super::health::{classify, classify_group};
use super::map::{BlockMap, Replica};
use crate::namespace::BlockRecord;
use crate::workers::WorkerRegistry;
use std::collections::BTreeMap;
use strata_core::tier::Medium;
use strata_ec::EcPolicy;

/// What the workers hold of one file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CachedShare {
    /// Bytes of the file that can be read from workers without the under storage: whole
    /// blocks with a good replica, whole block groups with enough good internal blocks.
    pub cached_bytes: u64,
    /// Bytes of good replicas per tier (a block with three replicas counts three times).
    pub tier_bytes: BTreeMap<Medium, u64>,
}

impl CachedShare {
    fn add_replicas<'a>(&mut self, replicas: impl IntoIterator<Item = &'a Replica>) {
        for replica in replicas {
            if let Some(medium) = replica.medium {
                *self.tier_bytes.entry(medium).or_default() += replica.length;
            }
        }
    }
}

/// What the workers hold of the complete blocks `records` of a file with `replication`
/// replicas, or striped by `policy`.
pub fn cached_share(
    records: &[BlockRecord],
    replication: u32,
    policy: Option<&EcPolicy>,
    blocks: &BlockMap,
    workers: &WorkerRegistry,
) -> CachedShare {
    let mut share = CachedShare::default();
    for record in records.iter().filter(|r| r.complete) {
        match policy {
            Some(policy) => {
                let status = classify_group(record, policy, blocks, workers);
                if status.readable_units() >= policy.data {
                    share.cached_bytes += record.length;
                }
                for unit in &status.units {
                    share.add_replicas(unit.live.iter().chain(&unit.decommissioning));
                }
            }
            None => {
                let status = classify(record.id, record, replication, false, blocks, workers);
                if status.readable() > 0 {
                    share.cached_bytes += record.length;
                }
                share.add_replicas(status.live.iter().chain(&status.decommissioning));
            }
        }
    }
    share
}
