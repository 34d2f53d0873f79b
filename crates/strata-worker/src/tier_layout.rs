//! The tiers a worker keeps blocks in: the configured `[[worker.tiers]]`, or the default
//! layout, a MEM tier in a directory of its own under `memory_dir` (a tmpfs, `/dev/shm` by
//! default) in front of one HDD tier of `data_dir`.

use crate::store::disk_space;
use std::path::Path;
use strata_core::ByteSize;
use strata_core::config::WorkerConfig;
use strata_core::tier::{Medium, TierConfig, TierDir};

/// The smallest MEM tier the default layout bothers with: two blocks of the default size.
const SMALLEST_DEFAULT_MEMORY: u64 = 256 << 20;

/// The default size of the MEM tier: a quarter of the file system holding `memory_dir`, or
/// 0 (no MEM tier) when that is missing or too small to hold a couple of blocks.
pub fn default_memory_size(memory_dir: &Path) -> u64 {
    let (total, _) = disk_space(memory_dir);
    let quarter = total / 4;
    if quarter < SMALLEST_DEFAULT_MEMORY {
        0
    } else {
        quarter
    }
}

/// The tiers, fastest first, of the worker `worker_id` configured by `config`.
pub fn storage_tiers(config: &WorkerConfig, worker_id: &str) -> Vec<TierConfig> {
    if !config.tiers.is_empty() {
        return config.tiers.clone();
    }
    let memory = match config.memory {
        Some(size) => size.bytes(),
        None => default_memory_size(&config.memory_dir),
    };
    let mut tiers = Vec::new();
    if memory > 0 {
        tiers.push(TierConfig {
            medium: Medium::Mem,
            dirs: vec![TierDir {
                path: config.memory_dir.join(format!("strata-{worker_id}")),
                capacity: ByteSize(memory),
            }],
        });
    }
    tiers.push(TierConfig {
        medium: Medium::Hdd,
        dirs: vec![TierDir {
            path: config.data_dir.clone(),
            capacity: config.capacity,
        }],
    });
    tiers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(memory_dir: &Path, memory: Option<u64>) -> WorkerConfig {
        WorkerConfig {
            data_dir: "/data/w1".into(),
            memory_dir: memory_dir.to_path_buf(),
            memory: memory.map(ByteSize),
            ..WorkerConfig::default()
        }
    }

    #[test]
    fn the_default_layout_puts_a_quarter_of_the_memory_dir_before_the_data_dir() {
        let shm = tempfile::tempdir().unwrap();
        let (total, _) = disk_space(shm.path());
        let tiers = storage_tiers(&config(shm.path(), None), "w-7");
        assert_eq!(tiers.len(), 2);
        assert_eq!(tiers[0].medium, Medium::Mem);
        assert_eq!(tiers[0].dirs[0].path, shm.path().join("strata-w-7"));
        assert_eq!(tiers[0].dirs[0].capacity, ByteSize(total / 4));
        assert_eq!(tiers[1].medium, Medium::Hdd);
        assert_eq!(tiers[1].dirs[0].path, Path::new("/data/w1"));
    }

    #[test]
    fn a_configured_size_is_kept_and_zero_turns_the_memory_tier_off() {
        let shm = tempfile::tempdir().unwrap();
        let sized = storage_tiers(&config(shm.path(), Some(64 << 20)), "w");
        assert_eq!(sized[0].dirs[0].capacity, ByteSize(64 << 20));
        let off = storage_tiers(&config(shm.path(), Some(0)), "w");
        assert_eq!(off.len(), 1);
        assert_eq!(off[0].medium, Medium::Hdd);
    }

    #[test]
    fn a_missing_memory_dir_leaves_only_the_disk_and_configured_tiers_win() {
        let missing = storage_tiers(&config(Path::new("/no/such/tmpfs"), None), "w");
        assert_eq!(missing.len(), 1);
        let mut configured = config(Path::new("/dev/shm"), None);
        configured.tiers = vec![TierConfig {
            medium: Medium::Ssd,
            dirs: vec![TierDir {
                path: "/ssd".into(),
                capacity: ByteSize(0),
            }],
        }];
        assert_eq!(storage_tiers(&configured, "w"), configured.tiers);
    }
}
