//! Storage tiers: new replicas land in the fastest tier with room for a whole block, and the
//! master's report shows every worker's tiers.

use std::collections::BTreeMap;
use std::time::Duration;
use strata_client::{CreateOptions, FileSystem};
use strata_core::ByteSize;
use strata_core::tier::{Medium, TierConfig, TierDir};
use strata_testkit::{MiniCluster, fast_config, pattern, wait_until};

const MIB: u64 = 1 << 20;

fn tier(medium: Medium, dir: &str, capacity: u64) -> TierConfig {
    TierConfig {
        medium,
        dirs: vec![TierDir {
            path: dir.into(),
            capacity: ByteSize(capacity),
        }],
    }
}

/// Every worker's tiers as (medium, used bytes), from the master's report.
async fn tier_use(fs: &FileSystem) -> Vec<Vec<(String, u64)>> {
    let report = fs.report().await.unwrap();
    report
        .workers
        .iter()
        .map(|w| {
            w.storage
                .as_ref()
                .map(|s| s.tiers.iter().map(|t| (t.medium.clone(), t.used)).collect())
                .unwrap_or_default()
        })
        .collect()
}

/// Bytes of replicas per tier of `paths`, as `stat` shows them from the master's block map.
async fn stat_tier_bytes(fs: &FileSystem, paths: &[&str]) -> BTreeMap<String, u64> {
    let mut total = BTreeMap::new();
    for path in paths {
        for (medium, bytes) in fs.stat(path).await.unwrap().tier_bytes {
            *total.entry(medium).or_default() += bytes;
        }
    }
    total
}

/// Bytes used per tier summed over every worker, from the workers' storage reports.
async fn reported_tier_bytes(fs: &FileSystem) -> BTreeMap<String, u64> {
    let mut total = BTreeMap::new();
    for worker in tier_use(fs).await {
        for (medium, used) in worker {
            *total.entry(medium).or_default() += used;
        }
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_fill_the_memory_tier_first_and_the_report_shows_each_tier() {
    let mut config = fast_config();
    // Room in MEM for one 2 MiB block per worker, not two.
    config.worker.tiers = vec![
        tier(Medium::Mem, "mem", 3 * MIB),
        tier(Medium::Hdd, "hdd", 0),
    ];
    let cluster = MiniCluster::start(config, &["/r1", "/r2", "/r1"])
        .await
        .unwrap();
    let fs = cluster.client().await;
    let data = pattern(7, (5 * MIB) as usize);
    let options = CreateOptions {
        replication: 3,
        block_size: 2 * MIB,
        ..Default::default()
    };
    let mut w = fs.create("/tiered", options).await.unwrap();
    w.write(&data).await.unwrap();
    w.close().await.unwrap();
    assert!(fs.read_range("/tiered", 0, 5 * MIB).await.unwrap() == data);

    // Blocks of 2, 2 and 1 MiB: the first in MEM on every worker, the others on HDD.
    let expected = vec![("MEM".to_string(), 2 * MIB), ("HDD".to_string(), 3 * MIB)];
    wait_until(
        "every worker reports its tiers' use",
        Duration::from_secs(20),
        || {
            let fs = fs.clone();
            let expected = expected.clone();
            async move {
                let tiers = tier_use(&fs).await;
                tiers.len() == 3 && tiers.iter().all(|t| *t == expected)
            }
        },
    )
    .await;
    for i in 0..3 {
        let root = cluster.worker_dir(i);
        let finalized = |tier: &str| {
            walk(&root.join(tier))
                .into_iter()
                .filter(|p| {
                    let name = p.file_name().unwrap_or_default().to_string_lossy();
                    name.starts_with("blk_") && !name.ends_with(".meta")
                })
                .count()
        };
        assert_eq!(finalized("mem"), 1, "worker {i}");
        assert_eq!(finalized("hdd"), 2, "worker {i}");
    }
    // stat shows the whole file cached, three replicas of each block, per tier.
    let status = fs.stat("/tiered").await.unwrap();
    assert_eq!(status.cached_bytes, 5 * MIB);
    assert_eq!(
        stat_tier_bytes(&fs, &["/tiered"]).await,
        BTreeMap::from([("HDD".to_string(), 9 * MIB), ("MEM".to_string(), 6 * MIB)])
    );
    cluster.shutdown().await;
}

/// Every file beneath `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_memory_tier_under_pressure_keeps_every_byte() {
    let mut config = fast_config();
    config.worker.tiers = vec![
        tier(Medium::Mem, "mem", 3 * MIB),
        tier(Medium::Hdd, "hdd", 0),
    ];
    config.worker.tiering.interval = Duration::from_millis(50);
    config.worker.tiering.high_watermark = 0.9;
    config.worker.tiering.low_watermark = 0.5;
    config.worker.tiering.promote_after_reads = 2;
    let cluster = MiniCluster::start(config, &["/r1", "/r2", "/r1"])
        .await
        .unwrap();
    let fs = cluster.client().await;
    let options = CreateOptions {
        replication: 3,
        block_size: MIB,
        create_parents: true,
        ..Default::default()
    };
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..8u64 {
        let data = pattern(100 + i, (MIB + i * 1000) as usize);
        let path = format!("/pressure/f{i}");
        let mut w = fs.create(&path, options.clone()).await.unwrap();
        w.write(&data).await.unwrap();
        w.close().await.unwrap();
        // Every file so far reads back while replicas move between tiers.
        for (path, data) in &files {
            assert!(
                fs.read_range(path, 0, data.len() as u64).await.unwrap() == *data,
                "{path}"
            );
        }
        files.push((path, data));
    }
    // Each worker holds 16 replicas (8 MiB and a bit): MEM settles under its high watermark.
    wait_until(
        "every memory tier is under its high watermark",
        Duration::from_secs(20),
        || {
            let fs = fs.clone();
            async move {
                let tiers = tier_use(&fs).await;
                tiers.len() == 3
                    && tiers.iter().all(|t| {
                        t.first()
                            .is_some_and(|(m, used)| m == "MEM" && *used <= 27 * MIB / 10)
                            && t.iter().map(|(_, used)| used).sum::<u64>() > 8 * MIB
                    })
            }
        },
    )
    .await;
    for (path, data) in &files {
        assert!(
            fs.read_range(path, 0, data.len() as u64).await.unwrap() == *data,
            "{path}"
        );
    }
    // The master hears of every move: the tiers stat shows add up to what the workers hold.
    let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    wait_until(
        "stat's tiers match the workers' tiers",
        Duration::from_secs(20),
        || {
            let (fs, paths) = (fs.clone(), paths.clone());
            async move {
                let seen = stat_tier_bytes(&fs, &paths).await;
                seen.get("HDD").is_some_and(|b| *b > 0) && seen == reported_tier_bytes(&fs).await
            }
        },
    )
    .await;
    cluster.shutdown().await;
}
