//! The cache under pressure: a full memory tier drops only copies whose bytes are in S3 and
//! not pinned, and a new block, read through or written, makes room at once.

use super::cache::{cached_per_block, memory_tier, put_object, s3_mount, write_file};
use std::time::Duration;
use strata_client::{CreateOptions, FileSystem};
use strata_testkit::{MiniCluster, S3Server, fast_config, pattern, wait_until};

const MIB: u64 = 1 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_memory_tier_drops_only_unpinned_blocks_persisted_in_s3() {
    let s3 = S3Server::start(&["lake"]).await.unwrap();
    let objects: Vec<Vec<u8>> = (0..8).map(|i| pattern(60 + i, MIB as usize)).collect();
    for (i, data) in objects.iter().enumerate() {
        put_object(&s3, &format!("obj-{i}"), data);
    }
    let mut config = fast_config();
    // One small memory tier and nothing else: room for four 1 MiB blocks.
    config.worker.tiers = memory_tier(4 * MIB);
    config.worker.tiering.interval = Duration::from_millis(100);
    let cluster = MiniCluster::start(config, &["/r1"]).await.unwrap();
    let fs = cluster.client().await;
    fs.mount("/lake", "s3://lake", s3_mount(&s3)).await.unwrap();
    fs.set_pinned("/lake/obj-0", true).await.unwrap();
    assert!(fs.stat("/lake/obj-0").await.unwrap().pinned);

    let cached = |path: String| {
        let fs = fs.clone();
        async move { cached_per_block(&fs, &path).await.iter().sum::<usize>() }
    };
    let cached_objects = || async {
        let mut total = 0;
        for i in 0..8 {
            total += cached(format!("/lake/obj-{i}")).await;
        }
        total
    };
    for (i, data) in objects.iter().enumerate() {
        // The tier keeper makes room (down to the low watermark) once the tier passes its high
        // watermark, so every read finds room for its block.
        wait_until(
            "the tier has room for a block",
            Duration::from_secs(20),
            || async { cached_objects().await <= 3 },
        )
        .await;
        let path = format!("/lake/obj-{i}");
        assert!(fs.read_range(&path, 0, MIB).await.unwrap() == *data);
        wait_until("the block is cached", Duration::from_secs(20), || {
            let cached = cached(path.clone());
            async move { cached.await == 1 }
        })
        .await;
    }
    // Eight blocks went through a tier holding four: unpinned ones were dropped, the pinned
    // one stayed.
    wait_until(
        "the tier is back under its high watermark",
        Duration::from_secs(20),
        || async { cached_objects().await <= 3 },
    )
    .await;
    assert_eq!(cached("/lake/obj-0".to_string()).await, 1);

    // Files written only to the cache are never dropped, whatever the pressure.
    let mine: Vec<Vec<u8>> = (0..2).map(|i| pattern(90 + i, MIB as usize)).collect();
    for (i, data) in mine.iter().enumerate() {
        // A full tier makes room in the background; until the master hears of it, a write
        // is refused with a clear no-space error (and tried again here).
        let path = format!("/lake/mine-{i}");
        wait_until(
            "the cache takes a new file",
            Duration::from_secs(20),
            || {
                let (fs, path, data) = (fs.clone(), path.clone(), data.clone());
                async move {
                    let options = CreateOptions {
                        write_type: "MUST_CACHE".to_string(),
                        ..Default::default()
                    };
                    let mut w = fs.create(&path, options).await.unwrap();
                    let written = match w.write(&data).await {
                        Ok(()) => w.close().await,
                        Err(e) => Err(e),
                    };
                    match written {
                        Ok(()) => true,
                        Err(e) => {
                            assert!(e.to_string().contains("free"), "{e}");
                            fs.delete(&path, false).await.unwrap();
                            false
                        }
                    }
                }
            },
        )
        .await;
        for (j, object) in objects.iter().enumerate().skip(1) {
            let path = format!("/lake/obj-{j}");
            assert!(fs.read_range(&path, 0, MIB).await.unwrap() == *object);
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for (i, data) in mine.iter().enumerate() {
        let path = format!("/lake/mine-{i}");
        assert_eq!(cached(path.clone()).await, 1, "{path} is still cached");
        assert_eq!(fs.stat(&path).await.unwrap().persistence, "NOT_PERSISTED");
        assert!(fs.read_range(&path, 0, MIB).await.unwrap() == *data);
    }
    let before = s3.requests();
    assert!(fs.read_range("/lake/obj-0", 0, MIB).await.unwrap() == objects[0]);
    assert_eq!(s3.requests(), before, "the pinned object is still cached");

    // free drops the cached copies of persisted files, not the pinned one or unpersisted ones.
    let freed = fs.free("/lake").await.unwrap();
    assert_eq!((freed.not_persisted, freed.pinned), (2, 1));
    fs.set_pinned("/lake/obj-0", false).await.unwrap();
    fs.free("/lake/obj-0").await.unwrap();
    assert_eq!(cached("/lake/obj-0".to_string()).await, 0);
    cluster.shutdown().await;
}

/// `count` objects `obj-N` of 1 MiB (patterns from `seed`) in S3, mounted at /lake over one
/// worker with room for four 1 MiB blocks and no tier pass: only a new block that finds no
/// room can make some.
async fn four_block_cache_over_s3(
    count: u64,
    seed: u64,
) -> (S3Server, MiniCluster, FileSystem, Vec<Vec<u8>>) {
    let s3 = S3Server::start(&["lake"]).await.unwrap();
    let objects: Vec<Vec<u8>> = (0..count)
        .map(|i| pattern(seed + i, MIB as usize))
        .collect();
    for (i, data) in objects.iter().enumerate() {
        put_object(&s3, &format!("obj-{i}"), data);
    }
    let mut config = fast_config();
    config.worker.tiers = memory_tier(4 * MIB);
    config.worker.tiering.interval = Duration::from_secs(3600);
    let cluster = MiniCluster::start(config, &["/r1"]).await.unwrap();
    let fs = cluster.client().await;
    fs.mount("/lake", "s3://lake", s3_mount(&s3)).await.unwrap();
    (s3, cluster, fs, objects)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_cache_makes_room_at_once_for_blocks_read_through() {
    let (_s3, cluster, fs, objects) = four_block_cache_over_s3(6, 80).await;

    // Every object read is cached, the least recently used ones making way.
    for (i, data) in objects.iter().enumerate() {
        let path = format!("/lake/obj-{i}");
        assert!(fs.read_range(&path, 0, MIB).await.unwrap() == *data);
        wait_until("the object is cached", Duration::from_secs(20), || {
            let (fs, path) = (fs.clone(), path.clone());
            async move { cached_per_block(&fs, &path).await == [1] }
        })
        .await;
    }
    wait_until(
        "the least recently used object was dropped",
        Duration::from_secs(20),
        || {
            let fs = fs.clone();
            async move { cached_per_block(&fs, "/lake/obj-0").await == [0] }
        },
    )
    .await;
    for (i, data) in objects.iter().enumerate() {
        let path = format!("/lake/obj-{i}");
        assert!(fs.read_range(&path, 0, MIB).await.unwrap() == *data);
    }
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_file_finds_room_in_a_cache_full_of_dropped_copies_but_never_of_pinned_ones() {
    let (_s3, cluster, fs, objects) = four_block_cache_over_s3(4, 90).await;
    for (i, data) in objects.iter().enumerate() {
        let path = format!("/lake/obj-{i}");
        assert!(fs.read_range(&path, 0, MIB).await.unwrap() == *data);
    }
    wait_until(
        "the master sees a worker full of cached copies",
        Duration::from_secs(20),
        || {
            let fs = fs.clone();
            async move {
                let report = fs.report().await.unwrap();
                let full = report.workers[0]
                    .storage
                    .as_ref()
                    .is_some_and(|s| s.remaining < MIB);
                let mut cached = Vec::new();
                for i in 0..4 {
                    cached.extend(cached_per_block(&fs, &format!("/lake/obj-{i}")).await);
                }
                full && cached == [1, 1, 1, 1]
            }
        },
    )
    .await;

    // Pinned copies are not room: a new file has nowhere to go.
    fs.set_pinned("/lake", true).await.unwrap();
    let fresh = pattern(99, (2 * MIB) as usize);
    let refused = async {
        let mut w = fs.create("/plain/new.bin", with_parents()).await?;
        w.write(&fresh).await?;
        w.close().await
    }
    .await
    .unwrap_err();
    assert!(refused.to_string().contains("free"), "{refused}");
    for i in 0..4 {
        assert_eq!(cached_per_block(&fs, &format!("/lake/obj-{i}")).await, [1]);
    }

    // Unpinned, the cached copies make way for the new file's two blocks.
    fs.set_pinned("/lake", false).await.unwrap();
    fs.delete("/plain/new.bin", false).await.unwrap();
    write_file(&fs, "/plain/new.bin", &fresh, "").await;
    assert!(fs.read_range("/plain/new.bin", 0, 2 * MIB).await.unwrap() == fresh);
    wait_until(
        "two cached copies were dropped for it",
        Duration::from_secs(20),
        || {
            let fs = fs.clone();
            async move {
                let mut cached = 0;
                for i in 0..4 {
                    cached += cached_per_block(&fs, &format!("/lake/obj-{i}")).await[0];
                }
                cached == 2
            }
        },
    )
    .await;
    for (i, data) in objects.iter().enumerate() {
        let path = format!("/lake/obj-{i}");
        assert!(fs.read_range(&path, 0, MIB).await.unwrap() == *data);
    }
    cluster.shutdown().await;
}

fn with_parents() -> CreateOptions {
    CreateOptions {
        create_parents: true,
        ..Default::default()
    }
}
