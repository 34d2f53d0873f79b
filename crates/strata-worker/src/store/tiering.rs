//! Moving finished replicas between tiers: down to the next tier when a tier passes its high
//! watermark (until it is back under the low one, least recently or least frequently used
//! first), and up when a replica in a lower tier has been read often. The slowest tier can only
//! offer replicas to drop ([`BlockStore::eviction_candidates`]).
//!
//! A move copies the files into the new directory under temporary names while readers and the
//! replica go on as before, then, under the replica's lock and only if the replica has not
//! changed meanwhile, renames them into place, points the replica at its new volume and
//! removes the old files. A reader that opened the old files keeps reading them. A crash
//! leaves either a temporary file (removed at start-up as a stray) or two complete copies (the
//! second is removed at start-up).

use super::layout::ReplicaState;
use super::{BlockStore, ReplicaInfo, remove_replica_files};
use std::path::{Path, PathBuf};
use strata_core::tier::{Eviction, Medium, TieringConfig};
use strata_core::{Error, Result};
use strata_proto::rpc::ReportedBlock;

/// What one pass of [`BlockStore::rebalance_tiers`] moved.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TierMoves {
    /// Replicas moved to a slower tier.
    pub demoted: usize,
    /// Replicas moved to a faster tier.
    pub promoted: usize,
    /// Every moved replica as it is now (the master learns its new tier from these).
    pub moved: Vec<ReportedBlock>,
}

/// Capacity and use of one tier (all its directories).
struct TierUse {
    medium: Medium,
    capacity: u64,
    used: u64,
}

impl BlockStore {
    /// One pass of tier maintenance: demotes from every tier past its high watermark, then
    /// promotes replicas read at least `promote_after_reads` times.
    pub fn rebalance_tiers(&self, settings: &TieringConfig) -> TierMoves {
        let mut moves = TierMoves::default();
        let tiers = self.tier_use();
        for (position, tier) in tiers.iter().enumerate() {
            let Some(slower) = tiers.get(position + 1) else {
                break;
            };
            let high = (tier.capacity as f64 * settings.high_watermark) as u64;
            // Demotions into this tier from a faster one count too.
            let mut used = self.tier_use()[position].used;
            if tier.capacity == 0 || used <= high {
                continue;
            }
            let low = (tier.capacity as f64 * settings.low_watermark) as u64;
            for info in self.eviction_order(tier.medium, settings.eviction) {
                if used <= low {
                    break;
                }
                match self.move_to_tier(&info, slower.medium) {
                    Ok(Some(report)) => {
                        used = used.saturating_sub(info.length);
                        moves.demoted += 1;
                        moves.moved.push(report);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(block = %info.id, error = %e, "could not demote a replica");
                    }
                }
            }
        }
        if settings.promote_after_reads > 0 {
            let promoted = self.promote(settings);
            moves.promoted = promoted.len();
            moves.moved.extend(promoted);
        }
        moves
    }

    /// When the slowest tier is past its high watermark: its replicas, least wanted first (at
    /// most `limit`), and how many bytes must go to bring it under the low watermark. The
    /// caller drops, in this order, only replicas whose bytes are durable elsewhere.
    pub fn eviction_candidates(
        &self,
        settings: &TieringConfig,
        limit: usize,
    ) -> (Vec<ReplicaInfo>, u64) {
        let Some(slowest) = self.tier_use().pop() else {
            return (Vec::new(), 0);
        };
        let high = (slowest.capacity as f64 * settings.high_watermark) as u64;
        if slowest.capacity == 0 || slowest.used <= high {
            return (Vec::new(), 0);
        }
        let low = (slowest.capacity as f64 * settings.low_watermark) as u64;
        let mut candidates = self.eviction_order(slowest.medium, settings.eviction);
        candidates.truncate(limit);
        (candidates, slowest.used - low)
    }

    /// The slowest tier's replicas, least wanted first (at most `limit`), whatever its use:
    /// those to drop to make room for a new replica at once.
    pub fn slowest_tier_order(&self, eviction: Eviction, limit: usize) -> Vec<ReplicaInfo> {
        let Some(slowest) = self.tier_use().pop() else {
            return Vec::new();
        };
        let mut candidates = self.eviction_order(slowest.medium, eviction);
        candidates.truncate(limit);
        candidates
    }

    /// Moves replicas read often from a lower tier into the fastest tier that stays under its
    /// high watermark with them; returns them as they are now.
    fn promote(&self, settings: &TieringConfig) -> Vec<ReportedBlock> {
        let mut hot = self.movable_replicas(|r| r.reads >= settings.promote_after_reads);
        hot.sort_by(|a, b| {
            b.reads
                .cmp(&a.reads)
                .then(b.last_access.cmp(&a.last_access))
        });
        let mut promoted = Vec::new();
        for info in hot {
            let current = self.inner.volumes[info.volume].medium;
            let tiers = self.tier_use();
            let target = tiers.iter().find(|t| {
                t.medium < current
                    && t.used + info.length <= (t.capacity as f64 * settings.high_watermark) as u64
            });
            let Some(target) = target else {
                continue;
            };
            match self.move_to_tier(&info, target.medium) {
                Ok(Some(report)) => promoted.push(report),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(block = %info.id, error = %e, "could not promote a replica")
                }
            }
        }
        promoted
    }

    /// Capacity and use per tier, fastest first.
    fn tier_use(&self) -> Vec<TierUse> {
        let mut tiers: Vec<TierUse> = Vec::new();
        for volume in &self.inner.volumes {
            let (capacity, _) = volume.space();
            match tiers.last_mut() {
                Some(t) if t.medium == volume.medium => {
                    t.capacity += capacity;
                    t.used += volume.used();
                }
                _ => tiers.push(TierUse {
                    medium: volume.medium,
                    capacity,
                    used: volume.used(),
                }),
            }
        }
        tiers
    }

    /// The finished replicas of tier `medium`, the first to leave first.
    fn eviction_order(&self, medium: Medium, eviction: Eviction) -> Vec<ReplicaInfo> {
        let mut candidates =
            self.movable_replicas(|r| self.inner.volumes[r.volume].medium == medium);
        match eviction {
            Eviction::Lru => candidates.sort_by_key(|r| r.last_access),
            Eviction::Lfu => candidates.sort_by_key(|r| (r.reads, r.last_access)),
        }
        candidates
    }

    /// Finished replicas no pipeline writes that match `wanted`; only those are copied out,
    /// since a pass runs every `tiering.interval` over the whole store.
    fn movable_replicas(&self, wanted: impl Fn(&ReplicaInfo) -> bool) -> Vec<ReplicaInfo> {
        self.inner
            .replicas
            .lock()
            .values()
            .filter_map(|h| {
                let info = h.lock();
                (info.state == ReplicaState::Finalized && !info.writer_active && wanted(&info))
                    .then(|| info.clone())
            })
            .collect()
    }

    /// Moves a finished replica, as `seen`, into the directory of tier `medium` with the most
    /// room; the replica as it is now, or `None` when no directory there has room or the
    /// replica changed meanwhile.
    fn move_to_tier(&self, seen: &ReplicaInfo, medium: Medium) -> Result<Option<ReportedBlock>> {
        let volumes = &self.inner.volumes;
        let target = (0..volumes.len())
            .filter(|i| volumes[*i].medium == medium)
            .map(|i| (i, volumes[i].space().1))
            .filter(|(_, room)| *room >= seen.length)
            .max_by_key(|(_, room)| *room)
            .map(|(i, _)| i);
        let Some(target) = target else {
            return Ok(None);
        };
        let (id, generation, state) = (seen.id, seen.generation, ReplicaState::Finalized);
        let from = &volumes[seen.volume].layout;
        let to = &volumes[target].layout;
        to.ensure_dir(id, state)?;
        let files = [
            (from.data_path(id, state), to.data_path(id, state)),
            (
                from.meta_path(id, generation, state),
                to.meta_path(id, generation, state),
            ),
        ];
        let copied = files
            .iter()
            .map(|(source, destination)| {
                let temporary = moving_name(destination);
                std::fs::copy(source, &temporary)
                    .map(|_| temporary)
                    .map_err(|e| Error::io(format!("copying {}", source.display()), e))
            })
            .collect::<Result<Vec<PathBuf>>>();
        let temporaries = match copied {
            Ok(t) => t,
            Err(e) => {
                remove_temporaries(&files);
                return Err(e);
            }
        };
        let Ok(handle) = self.handle(id) else {
            // Deleted while it was being copied.
            remove_temporaries(&files);
            return Ok(None);
        };
        let mut info = handle.lock();
        let unchanged = info.generation == generation
            && info.state == state
            && info.length == seen.length
            && info.volume == seen.volume
            && !info.writer_active;
        if !unchanged {
            drop(info);
            remove_temporaries(&files);
            return Ok(None);
        }
        for ((_, destination), temporary) in files.iter().zip(&temporaries) {
            if let Err(e) = std::fs::rename(temporary, destination) {
                drop(info);
                remove_temporaries(&files);
                for (_, destination) in &files {
                    let _ = std::fs::remove_file(destination);
                }
                return Err(Error::io(format!("moving {}", destination.display()), e));
            }
        }
        let old = info.clone();
        info.volume = target;
        info.medium = medium;
        info.reads = 0;
        volumes[old.volume].sub_used(old.length);
        volumes[target].add_used(old.length);
        remove_replica_files(from, &old);
        tracing::debug!(block = %id, from = %volumes[old.volume].medium, to = %medium, "replica moved");
        Ok(Some(info.reported()))
    }
}

/// The temporary name a file is copied under before it is renamed into place.
fn moving_name(destination: &Path) -> PathBuf {
    let mut name = destination.as_os_str().to_owned();
    name.push(".moving");
    PathBuf::from(name)
}

fn remove_temporaries(files: &[(PathBuf, PathBuf)]) {
    for (_, destination) in files {
        let _ = std::fs::remove_file(moving_name(destination));
    }
}
