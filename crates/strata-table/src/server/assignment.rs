//! Where regions are served: the live region servers (known by their reports) and the
//! server each region is assigned to. This is soft state, rebuilt from the servers' reports
//! after a master takes over. The active master's assignment pass opens every region of an
//! enabled table that no live server holds on the live server with the fewest regions,
//! preferring one on a host holding the region's file blocks, and closes regions of disabled
//! tables.

use crate::proto::rpc::RegionLoad;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A live region server.
#[derive(Debug, Clone)]
pub struct ServerEntry {
    /// Its host.
    pub host: String,
    /// When it last reported.
    pub last_report: Instant,
    /// The regions it said it serves, with their load, by name.
    pub loads: HashMap<String, RegionLoad>,
    /// Requests per second each of its regions served between its last two reports.
    pub rates: HashMap<String, f64>,
}

impl ServerEntry {
    /// Requests per second over all its regions.
    pub fn rate(&self) -> f64 {
        self.rates.values().sum()
    }
}

/// A region's place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// Being opened on a server.
    Opening(String),
    /// Open on a server.
    Open(String),
    /// Being closed on a server.
    Closing(String),
    /// Kept offline (closed) by a split or merge under way.
    Held,
}

impl Placement {
    /// The server involved (none for a held region).
    pub fn server(&self) -> &str {
        match self {
            Placement::Opening(s) | Placement::Open(s) | Placement::Closing(s) => s,
            Placement::Held => "",
        }
    }
}

/// Live servers and placements.
#[derive(Debug, Default)]
pub struct Assignments {
    /// Live servers by address.
    pub servers: HashMap<String, ServerEntry>,
    /// Regions by name.
    pub placements: HashMap<String, Placement>,
}

impl Assignments {
    /// Records a report; returns the regions the server serves that are not its to serve.
    pub fn report(
        &mut self,
        address: &str,
        host: &str,
        loads: &[RegionLoad],
        known: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        let now = Instant::now();
        let entry = self
            .servers
            .entry(address.to_string())
            .or_insert_with(|| ServerEntry {
                host: host.to_string(),
                last_report: now,
                loads: HashMap::new(),
                rates: HashMap::new(),
            });
        let elapsed = now.duration_since(entry.last_report).as_secs_f64();
        let mut fresh = HashMap::new();
        let mut rates = HashMap::new();
        for load in loads {
            let Some(name) = load.region.as_ref().map(|r| r.region.clone()) else {
                continue;
            };
            if let Some(before) = entry.loads.get(&name)
                && elapsed > 0.0
            {
                let served = load.requests.saturating_sub(before.requests);
                rates.insert(name.clone(), served as f64 / elapsed);
            }
            fresh.insert(name, load.clone());
        }
        entry.last_report = now;
        entry.loads = fresh;
        entry.rates = rates;
        let regions: Vec<String> = entry.loads.keys().cloned().collect();
        let mut foreign = Vec::new();
        for region in &regions {
            if !known(region) {
                foreign.push(region.clone());
                continue;
            }
            match self.placements.get(region) {
                None => {
                    self.placements
                        .insert(region.clone(), Placement::Open(address.to_string()));
                }
                Some(Placement::Opening(s)) if s == address => {
                    self.placements
                        .insert(region.clone(), Placement::Open(address.to_string()));
                }
                Some(p) if p.server() != address => foreign.push(region.clone()),
                Some(_) => {}
            }
        }
        foreign
    }

    /// Forgets servers silent for longer than `timeout` and the placements on them; returns
    /// the servers declared dead.
    pub fn expire(&mut self, timeout: Duration) -> Vec<String> {
        let dead: Vec<String> = (self.servers.iter())
            .filter(|(_, s)| s.last_report.elapsed() > timeout)
            .map(|(a, _)| a.clone())
            .collect();
        for address in &dead {
            self.servers.remove(address);
        }
        self.placements
            .retain(|_, p| !dead.iter().any(|d| d == p.server()));
        dead
    }

    /// The number of regions placed on the server at `address`.
    fn count(&self, address: &str) -> usize {
        (self.placements.values())
            .filter(|p| p.server() == address)
            .count()
    }

    /// The live server to open a region on: one on a preferred host if any, else the one
    /// with the fewest regions (ties by load, then address, so the choice is stable).
    pub fn choose(&self, preferred_hosts: &[String]) -> Option<String> {
        let count = |a: &str| self.count(a);
        let mut servers: Vec<(&String, &ServerEntry)> = self.servers.iter().collect();
        servers.sort_by_key(|(a, s)| (count(a), s.rate() as u64, (*a).clone()));
        let fewest = servers
            .first()
            .map(|(_, _)| count(servers[0].0))
            .unwrap_or(0);
        servers
            .iter()
            .find(|(a, s)| preferred_hosts.contains(&s.host) && count(a) <= fewest + 1)
            .or(servers.first())
            .map(|(a, _)| (*a).clone())
    }

    /// The moves that even the live servers out, if any (none while a region is being
    /// opened, closed or held). By count first: a server with two regions more than another
    /// gives its least requested one to the emptiest server. Then by load: the busiest server
    /// gives its hottest region to the least loaded one when that leaves both below
    /// `LOAD_GAIN` of what it carried, taking back the other's coldest region when their
    /// counts are equal, so counts stay even.
    pub fn balancing_moves(&self) -> Vec<Move> {
        let settled = (self.placements.values()).all(|p| matches!(p, Placement::Open(_)));
        if !settled || self.servers.len() < 2 {
            return Vec::new();
        }
        let open_on = |address: &str| -> Vec<(String, f64)> {
            let rates = self.servers.get(address).map(|s| &s.rates);
            let mut regions: Vec<(String, f64)> = (self.placements.iter())
                .filter(|(_, p)| p.server() == address)
                .map(|(name, _)| {
                    let rate = rates.and_then(|r| r.get(name)).copied().unwrap_or(0.0);
                    (name.clone(), rate)
                })
                .collect();
            regions.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
            regions
        };
        let mut by_count: Vec<(&String, usize, f64)> = (self.servers.iter())
            .map(|(a, s)| (a, self.count(a), s.rate()))
            .collect();
        by_count.sort_by(|x, y| {
            (x.1.cmp(&y.1))
                .then_with(|| x.2.total_cmp(&y.2))
                .then_with(|| x.0.cmp(y.0))
        });
        let (emptiest, fullest) = (by_count[0], by_count[by_count.len() - 1]);
        if fullest.1 > emptiest.1 + 1 {
            let coldest = open_on(fullest.0).into_iter().next();
            return coldest
                .map(|(region, _)| Move {
                    region,
                    from: fullest.0.clone(),
                    to: emptiest.0.clone(),
                })
                .into_iter()
                .collect();
        }
        let mut by_load = by_count.clone();
        by_load.sort_by(|x, y| x.2.total_cmp(&y.2).then_with(|| x.0.cmp(y.0)));
        let (lightest, busiest) = (by_load[0], by_load[by_load.len() - 1]);
        let (busy, light) = (busiest.2, lightest.2);
        if busy < MIN_BALANCED_RATE || busiest.0 == lightest.0 {
            return Vec::new();
        }
        let back = if busiest.1 > lightest.1 {
            None
        } else {
            open_on(lightest.0).into_iter().next()
        };
        let returned = back.as_ref().map_or(0.0, |(_, r)| *r);
        let hottest = open_on(busiest.0).into_iter().rev().find(|(_, rate)| {
            *rate > returned
                && (busy - rate + returned).max(light + rate - returned) < busy * LOAD_GAIN
        });
        let Some((region, _)) = hottest else {
            return Vec::new();
        };
        let mut moves = vec![Move {
            region,
            from: busiest.0.clone(),
            to: lightest.0.clone(),
        }];
        moves.extend(back.map(|(region, _)| Move {
            region,
            from: lightest.0.clone(),
            to: busiest.0.clone(),
        }));
        moves
    }
}

/// A busiest server carrying fewer requests per second than this is left as it is.
const MIN_BALANCED_RATE: f64 = 20.0;
/// A move for load must leave both servers below this share of what the busiest carried.
const LOAD_GAIN: f64 = 0.9;

/// A region to move from one server to another.
#[derive(Debug, Clone, PartialEq)]
pub struct Move {
    /// The region's name.
    pub region: String,
    /// The server holding it.
    pub from: String,
    /// The server to open it on.
    pub to: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::proto::rpc::RegionSpec;

    fn load(region: &str, requests: u64) -> RegionLoad {
        RegionLoad {
            region: Some(RegionSpec {
                table: "t".into(),
                region: region.into(),
            }),
            requests,
            ..Default::default()
        }
    }

    fn loads(regions: &[&str]) -> Vec<RegionLoad> {
        regions.iter().map(|r| load(r, 0)).collect()
    }

    #[test]
    fn reports_place_regions_and_silence_frees_them() {
        let mut a = Assignments::default();
        let foreign = a.report("s1:1", "h1", &loads(&["r1", "gone"]), |r| r != "gone");
        assert_eq!(foreign, vec!["gone".to_string()]);
        assert_eq!(a.placements["r1"], Placement::Open("s1:1".into()));
        a.report("s2:1", "h2", &[], |_| true);
        assert_eq!(a.choose(&[]), Some("s2:1".into()), "the emptier server");
        a.placements
            .insert("r2".into(), Placement::Opening("s2:1".into()));
        a.placements
            .insert("r3".into(), Placement::Open("s2:1".into()));
        assert_eq!(
            a.choose(&["h2".into()]),
            Some("s2:1".into()),
            "locality within one region"
        );
        assert_eq!(a.choose(&[]), Some("s1:1".into()));
        let twice = a.report("s1:1", "h1", &loads(&["r3"]), |_| true);
        assert_eq!(twice, vec!["r3".to_string()], "r3 is s2's");
        a.servers.get_mut("s2:1").unwrap().last_report = Instant::now() - Duration::from_secs(60);
        assert_eq!(a.expire(Duration::from_secs(10)), vec!["s2:1".to_string()]);
        assert!(!a.placements.contains_key("r2") && !a.placements.contains_key("r3"));
    }

    #[test]
    fn balancing_evens_counts_then_moves_hot_regions() {
        let mut a = Assignments::default();
        a.report("s1:1", "h1", &loads(&["r1", "r2", "r3", "r4"]), |_| true);
        a.report("s2:1", "h2", &[], |_| true);
        let moves = a.balancing_moves();
        assert_eq!(moves.len(), 1);
        assert_eq!(
            (moves[0].from.as_str(), moves[0].to.as_str()),
            ("s1:1", "s2:1")
        );
        a.placements
            .insert("r1".into(), Placement::Opening("s2:1".into()));
        assert!(a.balancing_moves().is_empty(), "nothing moves while one is");
        a.placements
            .insert("r1".into(), Placement::Open("s2:1".into()));
        a.placements
            .insert("r2".into(), Placement::Open("s2:1".into()));
        assert!(a.balancing_moves().is_empty(), "two and two, no load");
        // r3 and r4 are hot, r1 and r2 cold: r3 goes to s2 and the coldest comes back.
        for s in a.servers.values_mut() {
            s.last_report -= Duration::from_secs(1);
        }
        a.report("s1:1", "h1", &[load("r3", 600), load("r4", 400)], |_| true);
        a.report("s2:1", "h2", &[load("r1", 0), load("r2", 5)], |_| true);
        let moves = a.balancing_moves();
        assert_eq!(moves.len(), 2, "{moves:?}");
        assert_eq!(moves[0].region, "r3");
        assert_eq!(moves[1].region, "r1", "the coldest comes back");
    }
}
