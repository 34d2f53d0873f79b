//! Storage tiers of a worker: media in order of speed (MEM, SSD, HDD), each a list of
//! directories with the space blocks may take there.
//!
//! ```toml
//! [[worker.tiers]]
//! medium = "MEM"
//! dirs = [{ path = "/dev/shm/strata/worker", capacity = "4GiB" }]
//!
//! [[worker.tiers]]
//! medium = "HDD"
//! dirs = [{ path = "/data1/strata" }, { path = "/data2/strata", capacity = "2TiB" }]
//! ```
//!
//! Without `tiers`, a worker has a MEM tier in a directory of its own under `memory_dir`
//! (`/dev/shm`; a quarter of it unless `memory` says otherwise, `memory = "0"` for none) in
//! front of one HDD tier: its `data_dir` with its `capacity`.

use crate::size::ByteSize;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// A storage medium, fastest first: the order new blocks try them in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Medium {
    /// Memory (a tmpfs directory).
    Mem,
    /// Solid-state disks.
    Ssd,
    /// Spinning disks, or any disk when nothing else is said.
    Hdd,
}

impl Medium {
    /// The medium's name as written in configuration and reports.
    pub fn name(self) -> &'static str {
        match self {
            Medium::Mem => "MEM",
            Medium::Ssd => "SSD",
            Medium::Hdd => "HDD",
        }
    }

    /// The medium named `name` (`MEM`, `SSD`, `HDD`; any case).
    pub fn parse(name: &str) -> Option<Medium> {
        match name.to_ascii_uppercase().as_str() {
            "MEM" => Some(Medium::Mem),
            "SSD" => Some(Medium::Ssd),
            "HDD" => Some(Medium::Hdd),
            _ => None,
        }
    }
}

impl fmt::Display for Medium {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which replicas leave a full tier first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Eviction {
    /// Least recently used: the replica read or written longest ago.
    #[default]
    Lru,
    /// Least frequently used: the replica read the fewest times (then the oldest).
    Lfu,
}

/// When replicas move between tiers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TieringConfig {
    /// Share of a tier's capacity past which it moves replicas down to the next tier.
    pub high_watermark: f64,
    /// Share of a tier's capacity it moves replicas down to once past the high watermark.
    pub low_watermark: f64,
    /// Which replicas move down first.
    pub eviction: Eviction,
    /// Reads of a replica in a lower tier after which it moves up to a faster tier with room
    /// below that tier's high watermark (0: never).
    pub promote_after_reads: u32,
    /// How often a worker checks its tiers.
    #[serde(with = "crate::config::duration_text")]
    pub interval: Duration,
}

impl Default for TieringConfig {
    fn default() -> Self {
        TieringConfig {
            high_watermark: 0.95,
            low_watermark: 0.7,
            eviction: Eviction::Lru,
            promote_after_reads: 3,
            interval: Duration::from_secs(1),
        }
    }
}

impl TieringConfig {
    /// Checks that 0 < low <= high <= 1.
    pub fn validate(&self) -> Result<(), String> {
        let (low, high) = (self.low_watermark, self.high_watermark);
        if !(low > 0.0 && low <= high && high <= 1.0) {
            return Err(format!(
                "watermarks must satisfy 0 < low ({low}) <= high ({high}) <= 1"
            ));
        }
        Ok(())
    }
}

/// One tier: a medium and its directories.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierConfig {
    /// What the directories are on.
    pub medium: Medium,
    /// Where blocks of this tier live.
    pub dirs: Vec<TierDir>,
}

/// One directory of a tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierDir {
    /// The directory (created when missing).
    pub path: PathBuf,
    /// Space blocks may take here; 0 means the free space of its file system.
    #[serde(default)]
    pub capacity: ByteSize,
}

/// Parses a tier directory given on the command line as `MEDIUM:DIR[:SIZE]`, e.g.
/// `MEM:/dev/shm/strata:4GiB` or `HDD:/data1/strata` (no size: the file system's free space).
pub fn parse_dir_spec(text: &str) -> Result<(Medium, TierDir), String> {
    let usage = || format!("{text:?}: expected MEDIUM:DIR[:SIZE] with MEDIUM one of MEM, SSD, HDD");
    let (medium, rest) = text.split_once(':').ok_or_else(usage)?;
    let medium = Medium::parse(medium).ok_or_else(usage)?;
    let (path, capacity) = match rest.rsplit_once(':') {
        Some((path, size)) => match ByteSize::parse(size) {
            Ok(capacity) => (path, capacity),
            Err(_) => (rest, ByteSize(0)),
        },
        None => (rest, ByteSize(0)),
    };
    if path.is_empty() {
        return Err(usage());
    }
    Ok((
        medium,
        TierDir {
            path: PathBuf::from(path),
            capacity,
        },
    ))
}

/// Groups directories into tiers, fastest first (the order the directories of one medium
/// were given in is kept).
pub fn group(dirs: Vec<(Medium, TierDir)>) -> Vec<TierConfig> {
    let mut tiers: Vec<TierConfig> = Vec::new();
    for (medium, dir) in dirs {
        match tiers.iter_mut().find(|t| t.medium == medium) {
            Some(tier) => tier.dirs.push(dir),
            None => tiers.push(TierConfig {
                medium,
                dirs: vec![dir],
            }),
        }
    }
    tiers.sort_by_key(|t| t.medium);
    tiers
}

/// Checks a worker's tiers: each medium at most once, fastest first, each with at least one
/// directory, no directory twice.
pub fn validate(tiers: &[TierConfig]) -> Result<(), String> {
    for pair in tiers.windows(2) {
        if pair[0].medium >= pair[1].medium {
            return Err(format!(
                "tiers must be listed fastest first, each medium once (MEM, SSD, HDD): {} before {}",
                pair[0].medium, pair[1].medium
            ));
        }
    }
    let mut seen = std::collections::HashSet::new();
    for tier in tiers {
        if tier.dirs.is_empty() {
            return Err(format!("the {} tier has no directory", tier.medium));
        }
        for dir in &tier.dirs {
            if !seen.insert(&dir.path) {
                return Err(format!(
                    "{} is listed twice among the tiers' directories",
                    dir.path.display()
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tier(medium: Medium, paths: &[&str]) -> TierConfig {
        TierConfig {
            medium,
            dirs: paths
                .iter()
                .map(|p| TierDir {
                    path: PathBuf::from(p),
                    capacity: ByteSize(0),
                })
                .collect(),
        }
    }

    #[test]
    fn tiers_are_ordered_distinct_and_not_empty() {
        assert!(validate(&[]).is_ok());
        assert!(
            validate(&[
                tier(Medium::Mem, &["/m"]),
                tier(Medium::Hdd, &["/h1", "/h2"])
            ])
            .is_ok()
        );
        assert!(validate(&[tier(Medium::Hdd, &["/h"]), tier(Medium::Mem, &["/m"])]).is_err());
        assert!(validate(&[tier(Medium::Ssd, &["/a"]), tier(Medium::Ssd, &["/b"])]).is_err());
        assert!(validate(&[tier(Medium::Mem, &[])]).is_err());
        assert!(validate(&[tier(Medium::Mem, &["/x"]), tier(Medium::Hdd, &["/x"])]).is_err());
        assert_eq!(Medium::parse("ssd"), Some(Medium::Ssd));
        assert_eq!(Medium::parse("tape"), None);
    }

    #[test]
    fn tier_directories_parse_from_the_command_line() {
        let (medium, dir) = parse_dir_spec("mem:/dev/shm/s:64MiB").unwrap();
        assert_eq!(medium, Medium::Mem);
        assert_eq!(dir.path, PathBuf::from("/dev/shm/s"));
        assert_eq!(dir.capacity, ByteSize(64 << 20));
        let (_, dir) = parse_dir_spec("HDD:/data/a:b").unwrap();
        assert_eq!(dir.path, PathBuf::from("/data/a:b"));
        assert_eq!(dir.capacity, ByteSize(0));
        assert!(parse_dir_spec("TAPE:/x").is_err());
        assert!(parse_dir_spec("/x").is_err());
        assert!(parse_dir_spec("SSD:").is_err());
        let tiers = group(vec![
            parse_dir_spec("HDD:/h1").unwrap(),
            parse_dir_spec("MEM:/m").unwrap(),
            parse_dir_spec("HDD:/h2").unwrap(),
        ]);
        assert_eq!(tiers.len(), 2);
        assert_eq!(tiers[0].medium, Medium::Mem);
        assert_eq!(tiers[1].dirs[1].path, PathBuf::from("/h2"));
        assert!(validate(&tiers).is_ok());
    }

    #[test]
    fn tiers_read_from_toml() {
        let text = r#"
            medium = "MEM"
            dirs = [{ path = "/dev/shm/s", capacity = "1GiB" }, { path = "/dev/shm/t" }]
        "#;
        let t: TierConfig = toml::from_str(text).unwrap();
        assert_eq!(t.medium, Medium::Mem);
        assert_eq!(t.dirs[0].capacity, ByteSize(1 << 30));
        assert_eq!(t.dirs[1].capacity, ByteSize(0));
    }
}
