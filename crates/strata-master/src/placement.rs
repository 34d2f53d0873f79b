//! Where replicas go (DESIGN §5): the first on the writer's own worker (or a random worker with
//! room and low load), the second on another rack, the third on the first one's rack on another
//! worker, further ones anywhere; never two on one worker; as close as the cluster allows when
//! there are fewer racks or workers.

use crate::workers::WorkerIdx;
use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};

/// A worker that could take a replica.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The worker.
    pub idx: WorkerIdx,
    /// Its rack.
    pub rack: String,
    /// Free bytes.
    pub remaining: u64,
    /// Data-plane operations in progress.
    pub load: u32,
}

/// A replica that already exists (for re-replication) with its rack.
#[derive(Debug, Clone)]
pub struct Placed {
    /// The worker holding it.
    pub idx: WorkerIdx,
    /// Its rack.
    pub rack: String,
}

/// Chooses up to `count` new workers for a block of `block_size` bytes.
///
/// `existing` are replicas already placed (in placement order); `excluded` workers never get
/// one (they hold a replica in some form, or the client could not reach them).
pub fn choose_targets(
    candidates: &[Candidate],
    count: usize,
    writer: Option<WorkerIdx>,
    existing: &[Placed],
    excluded: &[WorkerIdx],
    block_size: u64,
    rng: &mut impl Rng,
) -> Vec<WorkerIdx> {
    let mut chosen: Vec<Placed> = existing.to_vec();
    let mut result = Vec::with_capacity(count);
    for _ in 0..count {
        let eligible: Vec<&Candidate> = candidates
            .iter()
            .filter(|c| c.remaining >= block_size)
            .filter(|c| !excluded.contains(&c.idx))
            .filter(|c| !chosen.iter().any(|p| p.idx == c.idx))
            .collect();
        if eligible.is_empty() {
            break;
        }
        let pick = match chosen.len() {
            0 => writer
                .and_then(|w| eligible.iter().copied().find(|c| c.idx == w))
                .or_else(|| pick_low_load(&eligible, |_| true, rng)),
            1 => {
                let first = chosen[0].rack.clone();
                pick_low_load(&eligible, |c| c.rack != first, rng)
            }
            2 => {
                let (first, second) = (chosen[0].rack.clone(), chosen[1].rack.clone());
                if first != second {
                    pick_low_load(&eligible, |c| c.rack == first, rng)
                } else {
                    pick_low_load(&eligible, |c| c.rack != first, rng)
                }
            }
            _ => {
                let fewest = eligible
                    .iter()
                    .map(|c| chosen.iter().filter(|p| p.rack == c.rack).count())
                    .min()
                    .unwrap_or(0);
                pick_low_load(
                    &eligible,
                    |c| chosen.iter().filter(|p| p.rack == c.rack).count() == fewest,
                    rng,
                )
            }
        }
        .or_else(|| pick_low_load(&eligible, |_| true, rng));
        let Some(pick) = pick else { break };
        result.push(pick.idx);
        chosen.push(Placed {
            idx: pick.idx,
            rack: pick.rack.clone(),
        });
    }
    result
}

/// Chooses `count` workers for the internal blocks of a block group: all different, spread
/// over racks as evenly as the racks allow (each pick from the rack holding the fewest so far,
/// counting the racks of `occupied`, the workers that already hold internal blocks of the
/// group), lightly loaded ones first within a rack.
pub fn choose_spread(
    candidates: &[Candidate],
    count: usize,
    excluded: &[WorkerIdx],
    occupied: &[WorkerIdx],
    block_size: u64,
    rng: &mut impl Rng,
) -> Vec<WorkerIdx> {
    let mut eligible: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| c.remaining >= block_size && !excluded.contains(&c.idx))
        .collect();
    eligible.shuffle(rng);
    eligible.sort_by_key(|c| c.load);
    let mut per_rack: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for holder in candidates.iter().filter(|c| occupied.contains(&c.idx)) {
        *per_rack.entry(holder.rack.as_str()).or_default() += 1;
    }
    let mut chosen = Vec::with_capacity(count);
    while chosen.len() < count {
        let Some(pos) = (0..eligible.len())
            .filter(|&i| !chosen.contains(&eligible[i].idx))
            .min_by_key(|&i| {
                per_rack
                    .get(eligible[i].rack.as_str())
                    .copied()
                    .unwrap_or(0)
            })
        else {
            break;
        };
        let pick = eligible[pos];
        *per_rack.entry(pick.rack.as_str()).or_default() += 1;
        chosen.push(pick.idx);
    }
    chosen
}

/// A random candidate matching `wanted`, preferring those whose load is at most twice the
/// average (so a busy worker is passed over while others are idle).
fn pick_low_load<'a>(
    eligible: &[&'a Candidate],
    wanted: impl Fn(&Candidate) -> bool,
    rng: &mut impl Rng,
) -> Option<&'a Candidate> {
    let matching: Vec<&'a Candidate> = eligible.iter().copied().filter(|c| wanted(c)).collect();
    if matching.is_empty() {
        return None;
    }
    let average = eligible.iter().map(|c| c.load as f64).sum::<f64>() / eligible.len() as f64;
    let limit = (2.0 * average).max(2.0);
    let light: Vec<&'a Candidate> = matching
        .iter()
        .copied()
        .filter(|c| c.load as f64 <= limit)
        .collect();
    if light.is_empty() {
        matching.choose(rng).copied()
    } else {
        light.choose(rng).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn cluster(racks: &[usize]) -> Vec<Candidate> {
        let mut out = Vec::new();
        for (r, &n) in racks.iter().enumerate() {
            for _ in 0..n {
                out.push(Candidate {
                    idx: WorkerIdx(out.len() as u32),
                    rack: format!("/rack{r}"),
                    remaining: 1 << 30,
                    load: 0,
                });
            }
        }
        out
    }

    fn rack_of(c: &[Candidate], w: WorkerIdx) -> &str {
        &c[w.0 as usize].rack
    }

    #[test]
    fn follows_the_rule_on_two_racks() {
        let c = cluster(&[3, 3]);
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..100 {
            let t = choose_targets(&c, 3, Some(WorkerIdx(4)), &[], &[], 1024, &mut rng);
            assert_eq!(t.len(), 3);
            assert_eq!(t[0], WorkerIdx(4));
            assert_ne!(rack_of(&c, t[1]), rack_of(&c, t[0]));
            assert_eq!(rack_of(&c, t[2]), rack_of(&c, t[0]));
        }
    }

    #[test]
    fn workers_without_room_are_skipped() {
        let mut c = cluster(&[2, 1]);
        c[2].remaining = 10;
        let mut rng = StdRng::seed_from_u64(2);
        let t = choose_targets(&c, 3, None, &[], &[], 1024, &mut rng);
        assert_eq!(t.len(), 2);
        assert!(!t.contains(&WorkerIdx(2)));
    }

    #[test]
    fn re_replication_goes_off_rack_when_replicas_share_one() {
        let c = cluster(&[2, 2]);
        let existing = vec![
            Placed {
                idx: WorkerIdx(0),
                rack: "/rack0".into(),
            },
            Placed {
                idx: WorkerIdx(1),
                rack: "/rack0".into(),
            },
        ];
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..50 {
            let t = choose_targets(&c, 1, None, &existing, &[], 1, &mut rng);
            assert_eq!(rack_of(&c, t[0]), "/rack1");
        }
    }

    proptest! {
        #[test]
        fn block_groups_spread_evenly_over_racks(
            racks in proptest::collection::vec(1usize..6, 1..5),
            count in 1usize..15,
            seed in any::<u64>(),
        ) {
            let c = cluster(&racks);
            let mut rng = StdRng::seed_from_u64(seed);
            let t = choose_spread(&c, count, &[], &[], 1, &mut rng);
            prop_assert_eq!(t.len(), count.min(c.len()));
            let mut unique = t.clone();
            unique.sort();
            unique.dedup();
            prop_assert_eq!(unique.len(), t.len());
            // No rack gets a second worker while another rack with room has none more.
            let per_rack = |r: usize| t.iter().filter(|w| rack_of(&c, **w) == format!("/rack{r}")).count();
            for (a, size_a) in racks.iter().enumerate() {
                for b in 0..racks.len() {
                    if per_rack(a) < *size_a {
                        prop_assert!(per_rack(b) <= per_rack(a) + 1, "racks {:?} got {:?}", racks, t);
                    }
                }
            }
        }

        #[test]
        fn rebuilt_internal_blocks_go_to_the_racks_holding_the_fewest(seed in any::<u64>()) {
            // Three racks of four; the group's other units hold 3, 3 and 2 per rack.
            let c = cluster(&[4, 4, 4]);
            let holders: Vec<WorkerIdx> = [0, 1, 2, 4, 5, 6, 8, 9].map(WorkerIdx).to_vec();
            let mut rng = StdRng::seed_from_u64(seed);
            let t = choose_spread(&c, 1, &holders, &holders, 1, &mut rng);
            prop_assert_eq!(t.len(), 1);
            prop_assert_eq!(rack_of(&c, t[0]), "/rack2");
        }

        #[test]
        fn never_two_on_one_worker_and_graceful(
            racks in proptest::collection::vec(1usize..4, 1..4),
            count in 1usize..6,
            writer in proptest::option::of(0u32..12),
            seed in any::<u64>(),
        ) {
            let c = cluster(&racks);
            let mut rng = StdRng::seed_from_u64(seed);
            let writer = writer.map(WorkerIdx).filter(|w| (w.0 as usize) < c.len());
            let t = choose_targets(&c, count, writer, &[], &[], 1, &mut rng);
            let mut unique = t.clone();
            unique.sort();
            unique.dedup();
            prop_assert_eq!(unique.len(), t.len());
            prop_assert_eq!(t.len(), count.min(c.len()));
            if let Some(w) = writer {
                prop_assert_eq!(t[0], w);
            }
            if t.len() >= 2 && racks.len() >= 2 {
                prop_assert_ne!(rack_of(&c, t[0]), rack_of(&c, t[1]));
            }
            if t.len() >= 3 && racks.len() >= 2 {
                let first_rack_size = c.iter().filter(|x| x.rack == rack_of(&c, t[0])).count();
                if first_rack_size >= 2 {
                    prop_assert_eq!(rack_of(&c, t[2]), rack_of(&c, t[0]));
                }
            }
        }
    }
}
