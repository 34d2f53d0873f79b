//! Where regions are served: the live region servers (known by their reports) and the
//! server each region is assigned to. This is soft state, rebuilt from the servers' reports
//! after a master takes over. The active master's assignment pass opens every region of an
//! enabled table that no live server holds on the live server with the fewest regions,
//! preferring one on a host holding the region's file blocks, and closes regions of disabled
//! tables.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// A live region server.
#[derive(Debug, Clone)]
pub struct ServerEntry {
    /// Its host.
    pub host: String,
    /// When it last reported.
    pub last_report: Instant,
    /// The regions it said it serves.
    pub reported: HashSet<String>,
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
}

impl Placement {
    /// The server involved.
    pub fn server(&self) -> &str {
        match self {
            Placement::Opening(s) | Placement::Open(s) | Placement::Closing(s) => s,
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
        regions: &[String],
        known: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        let entry = self
            .servers
            .entry(address.to_string())
            .or_insert_with(|| ServerEntry {
                host: host.to_string(),
                last_report: Instant::now(),
                reported: HashSet::new(),
            });
        entry.last_report = Instant::now();
        entry.reported = regions.iter().cloned().collect();
        let mut foreign = Vec::new();
        for region in regions {
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

    /// The live server to open a region on: one on a preferred host if any, else the one
    /// with the fewest regions (ties by address, so the choice is stable).
    pub fn choose(&self, preferred_hosts: &[String]) -> Option<String> {
        let count = |a: &str| self.placements.values().filter(|p| p.server() == a).count();
        let mut servers: Vec<(&String, &ServerEntry)> = self.servers.iter().collect();
        servers.sort_by_key(|(a, _)| (count(a), (*a).clone()));
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_place_regions_and_silence_frees_them() {
        let mut a = Assignments::default();
        let foreign = a.report("s1:1", "h1", &["r1".into(), "gone".into()], |r| r != "gone");
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
        let twice = a.report("s1:1", "h1", &["r3".into()], |_| true);
        assert_eq!(twice, vec!["r3".to_string()], "r3 is s2's");
        a.servers.get_mut("s2:1").unwrap().last_report = Instant::now() - Duration::from_secs(60);
        assert_eq!(a.expire(Duration::from_secs(10)), vec!["s2:1".to_string()]);
        assert!(!a.placements.contains_key("r2") && !a.placements.contains_key("r3"));
    }
}
