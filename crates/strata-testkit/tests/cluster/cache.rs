//! The cache over under storage: mounts of a real S3 server and of a local directory, lazy
//! listing, read-through of only the touched blocks, objects changed behind the cache's back.

use std::time::Duration;
use strata_client::{CreateOptions, FileSystem, MountOptions};
use strata_testkit::{MiniCluster, S3Server, fast_config, pattern, wait_until};

const MIB: u64 = 1 << 20;

pub(super) fn s3_mount(s3: &S3Server) -> MountOptions {
    MountOptions {
        options: s3.mount_options(),
        sync_interval: Some(Duration::from_secs(3600)),
        ..Default::default()
    }
}

/// A single memory tier of `capacity` bytes (inside each worker's directory).
pub(super) fn memory_tier(capacity: u64) -> Vec<strata_core::tier::TierConfig> {
    vec![strata_core::tier::TierConfig {
        medium: strata_core::tier::Medium::Mem,
        dirs: vec![strata_core::tier::TierDir {
            path: "mem".into(),
            capacity: strata_core::ByteSize(capacity),
        }],
    }]
}

pub(super) fn put_object(s3: &S3Server, key: &str, data: &[u8]) {
    let path = s3.object_path("lake", key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
}

/// Live (cached) replicas of each block of `path`, from fsck.
pub(super) async fn cached_per_block(fs: &FileSystem, path: &str) -> Vec<usize> {
    let (files, _) = fs.fsck(path).await.unwrap();
    files
        .iter()
        .flat_map(|f| f.blocks.iter().map(|b| b.live.len()))
        .collect()
}

async fn names(fs: &FileSystem, path: &str) -> Vec<String> {
    fs.list(path)
        .collect()
        .await
        .unwrap()
        .iter()
        .map(|s| s.path.rsplit('/').next().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_objects_are_listed_lazily_and_only_touched_blocks_are_cached() {
    let s3 = S3Server::start(&["lake"]).await.unwrap();
    let big = pattern(11, (5 * MIB) as usize);
    put_object(&s3, "data/big.bin", &big);
    put_object(&s3, "data/sub/small.txt", b"hello from s3");
    put_object(&s3, "top.txt", b"top");
    let cluster = MiniCluster::start(fast_config(), &["/r1", "/r1", "/r2"])
        .await
        .unwrap();
    let fs = cluster.client().await;
    fs.mount("/lake", "s3://lake", s3_mount(&s3)).await.unwrap();

    let mounts = fs.mounts().await.unwrap();
    assert_eq!(mounts.len(), 1);
    assert_eq!(mounts[0].uri, "s3://lake");
    assert_eq!(mounts[0].options["secret_access_key"], "******");
    assert_eq!(mounts[0].write_type, "CACHE_THROUGH");

    assert_eq!(names(&fs, "/lake").await, ["data", "top.txt"]);
    assert_eq!(names(&fs, "/lake/data").await, ["big.bin", "sub"]);
    let status = fs.stat("/lake/data/big.bin").await.unwrap();
    assert_eq!(status.length, 5 * MIB);
    assert_eq!(status.persistence, "PERSISTED");
    assert_eq!(status.ufs_uri, "s3://lake/data/big.bin");
    // A path never listed is found through its parents.
    let small = fs.stat("/lake/data/sub/small.txt").await.unwrap();
    assert_eq!(small.length, 13);
    assert_eq!(cached_per_block(&fs, "/lake/data/big.bin").await, [0; 5]);

    // 1 MiB from the middle touches blocks 2 and 3 (1 MiB blocks): only they get cached.
    let range = (2 * MIB + MIB / 2)..(3 * MIB + MIB / 2);
    let got = fs
        .read_range("/lake/data/big.bin", range.start, MIB)
        .await
        .unwrap();
    assert!(got == big[range.start as usize..range.end as usize]);
    wait_until(
        "the touched blocks are cached",
        Duration::from_secs(20),
        || {
            let fs = fs.clone();
            async move {
                let cached = cached_per_block(&fs, "/lake/data/big.bin").await;
                cached == [0, 0, 1, 1, 0]
            }
        },
    )
    .await;
    // stat: two fifths cached, on the workers' only tier.
    let status = fs.stat("/lake/data/big.bin").await.unwrap();
    assert_eq!(status.cached_bytes, 2 * MIB);
    assert_eq!(status.tier_bytes.values().sum::<u64>(), 2 * MIB);
    let before = s3.requests();
    let again = fs
        .read_range("/lake/data/big.bin", range.start, MIB)
        .await
        .unwrap();
    assert!(again == got);
    assert_eq!(s3.requests(), before, "the second read came from the cache");

    // The whole object reads byte-exact; the first read of each block fills the cache.
    assert!(
        fs.read_range("/lake/data/big.bin", 0, 5 * MIB)
            .await
            .unwrap()
            == big
    );
    assert!(s3.requests() > before);
    wait_until("every block is cached", Duration::from_secs(20), || {
        let fs = fs.clone();
        async move {
            let cached = cached_per_block(&fs, "/lake/data/big.bin").await;
            cached == [1; 5]
        }
    })
    .await;
    let before = s3.requests();
    assert!(
        fs.read_range("/lake/data/big.bin", 0, 5 * MIB)
            .await
            .unwrap()
            == big
    );
    assert_eq!(s3.requests(), before);
    assert_eq!(
        fs.read_range("/lake/data/sub/small.txt", 0, 13)
            .await
            .unwrap(),
        b"hello from s3"
    );

    let (_, summary) = fs.fsck("/").await.unwrap();
    assert_eq!(summary.missing_blocks, 0);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_changed_or_deleted_in_s3_are_seen_after_a_sync_and_never_served_stale() {
    let s3 = S3Server::start(&["lake"]).await.unwrap();
    put_object(&s3, "note.txt", b"first version");
    put_object(&s3, "gone.txt", b"soon deleted");
    let cluster = MiniCluster::start(fast_config(), &["/r1"]).await.unwrap();
    let fs = cluster.client().await;
    fs.mount("/lake", "s3://lake", s3_mount(&s3)).await.unwrap();
    assert_eq!(
        fs.read_range("/lake/note.txt", 0, 13).await.unwrap(),
        b"first version"
    );

    // Rewritten with another length behind our back: after a sync the new bytes are read.
    put_object(&s3, "note.txt", b"the second version");
    std::fs::remove_file(s3.object_path("lake", "gone.txt")).unwrap();
    let synced = fs.sync_metadata("/lake").await.unwrap();
    assert_eq!((synced.changed, synced.removed), (1, 1));
    assert_eq!(fs.stat("/lake/note.txt").await.unwrap().length, 18);
    assert_eq!(
        fs.read_range("/lake/note.txt", 0, 18).await.unwrap(),
        b"the second version"
    );
    assert!(fs.try_stat("/lake/gone.txt").await.unwrap().is_none());

    // Rewritten with the same length: the ETag tells; the cached copy is dropped at the sync.
    put_object(&s3, "note.txt", b"the THIRD version!");
    assert_eq!(fs.sync_metadata("/lake").await.unwrap().changed, 1);
    // Rewritten again before anything was read: the worker reading it through sees that the
    // object is not the one listed, and the listed bytes are never returned.
    put_object(&s3, "note.txt", b"THE FOURTH VERSION");
    match fs.read_range("/lake/note.txt", 0, 18).await {
        Ok(bytes) => assert_eq!(bytes, b"THE FOURTH VERSION"),
        Err(e) => assert!(e.to_string().contains("changed"), "{e}"),
    }
    assert_eq!(
        fs.read_range("/lake/note.txt", 0, 18).await.unwrap(),
        b"THE FOURTH VERSION"
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_directory_mount_survives_a_master_restart_and_unmount_keeps_its_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("logs")).unwrap();
    std::fs::write(dir.path().join("logs/day1.log"), b"monday\n").unwrap();
    let uri = format!("file://{}", dir.path().display());
    let mut cluster = MiniCluster::start(fast_config(), &["/r1"]).await.unwrap();
    let fs = cluster.client().await;

    let missing = format!("file://{}/nope", dir.path().display());
    let refused = fs.mount("/bad", &missing, MountOptions::default()).await;
    assert!(
        refused
            .unwrap_err()
            .to_string()
            .contains("no such directory")
    );
    let mut typo = MountOptions::default();
    typo.options.insert("regoin".to_string(), "x".to_string());
    assert!(fs.mount("/bad", "s3://b", typo).await.is_err());
    assert!(fs.try_stat("/bad").await.unwrap().is_none());

    fs.mount("/local", &uri, MountOptions::default())
        .await
        .unwrap();
    assert!(
        fs.mount("/local/inner", &uri, MountOptions::default())
            .await
            .is_err()
    );
    assert_eq!(
        fs.read_range("/local/logs/day1.log", 0, 7).await.unwrap(),
        b"monday\n"
    );

    cluster.restart_master().await.unwrap();
    cluster.wait_ready().await;
    let fs = cluster.client().await;
    assert_eq!(fs.mounts().await.unwrap()[0].path, "/local");
    std::fs::write(dir.path().join("logs/day2.log"), b"tuesday\n").unwrap();
    assert_eq!(names(&fs, "/local/logs").await, ["day1.log", "day2.log"]);
    assert_eq!(
        fs.read_range("/local/logs/day1.log", 0, 7).await.unwrap(),
        b"monday\n"
    );

    fs.unmount("/local").await.unwrap();
    assert!(fs.try_stat("/local").await.unwrap().is_none());
    assert!(fs.mounts().await.unwrap().is_empty());
    assert!(dir.path().join("logs/day1.log").exists());
    cluster.shutdown().await;
}

pub(super) async fn write_file(fs: &FileSystem, path: &str, data: &[u8], write_type: &str) {
    let options = CreateOptions {
        write_type: write_type.to_string(),
        create_parents: true,
        ..Default::default()
    };
    let mut w = fs.create(path, options).await.unwrap();
    w.write(data).await.unwrap();
    w.close().await.unwrap();
}

fn object(s3: &S3Server, key: &str) -> Option<Vec<u8>> {
    std::fs::read(s3.object_path("lake", key)).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_types_decide_when_files_reach_s3() {
    let s3 = S3Server::start(&["lake"]).await.unwrap();
    let cluster = MiniCluster::start(fast_config(), &["/r1", "/r1", "/r2"])
        .await
        .unwrap();
    let fs = cluster.client().await;
    fs.mount("/lake", "s3://lake", s3_mount(&s3)).await.unwrap();
    let data = pattern(5, (2 * MIB + 777) as usize);

    // CACHE_THROUGH (the mount's default): in S3 when close returns, and cached.
    write_file(&fs, "/lake/through-cache.bin", &data, "").await;
    assert!(object(&s3, "through-cache.bin").unwrap() == data);
    let status = fs.stat("/lake/through-cache.bin").await.unwrap();
    assert_eq!(status.persistence, "PERSISTED");
    let cached = cached_per_block(&fs, "/lake/through-cache.bin").await;
    assert!(cached.iter().all(|c| *c > 0), "{cached:?}");

    // THROUGH: in S3 when close returns, and not kept in the cache; reads come through.
    write_file(&fs, "/lake/through.bin", &data, "THROUGH").await;
    assert!(object(&s3, "through.bin").unwrap() == data);
    wait_until(
        "THROUGH blocks leave the cache",
        Duration::from_secs(20),
        || {
            let fs = fs.clone();
            async move { cached_per_block(&fs, "/lake/through.bin").await == [0, 0, 0] }
        },
    )
    .await;
    wait_until(
        "a read of the THROUGH file goes to S3",
        Duration::from_secs(20),
        || {
            let (fs, data, s3) = (fs.clone(), data.clone(), &s3);
            async move {
                let before = s3.requests();
                let back = fs
                    .read_range("/lake/through.bin", 0, data.len() as u64)
                    .await;
                assert!(back.unwrap() == data);
                s3.requests() > before
            }
        },
    )
    .await;

    // MUST_CACHE: only in Strata until persisted on demand.
    write_file(&fs, "/lake/cache-only.bin", &data, "MUST_CACHE").await;
    assert!(object(&s3, "cache-only.bin").is_none());
    assert_eq!(
        fs.stat("/lake/cache-only.bin").await.unwrap().persistence,
        "NOT_PERSISTED"
    );
    let done = fs.persist("/lake").await.unwrap();
    assert_eq!((done.persisted, done.already), (1, 2));
    assert!(object(&s3, "cache-only.bin").unwrap() == data);
    assert_eq!(
        fs.stat("/lake/cache-only.bin").await.unwrap().persistence,
        "PERSISTED"
    );

    // ASYNC_THROUGH: acknowledged from the cache, in S3 soon after.
    write_file(&fs, "/lake/later.bin", &data, "ASYNC_THROUGH").await;
    wait_until(
        "the ASYNC_THROUGH file is persisted",
        Duration::from_secs(20),
        || {
            let fs = fs.clone();
            async move { fs.stat("/lake/later.bin").await.unwrap().persistence == "PERSISTED" }
        },
    )
    .await;
    assert!(object(&s3, "later.bin").unwrap() == data);

    // A persisted file is deleted from S3 with it.
    assert!(fs.delete("/lake/later.bin", false).await.unwrap());
    assert!(object(&s3, "later.bin").is_none());
    // Nested directories are written as key prefixes and listed back after a sync.
    write_file(&fs, "/lake/nested/deep/x.txt", b"x", "").await;
    assert_eq!(object(&s3, "nested/deep/x.txt").unwrap(), b"x");
    fs.sync_metadata("/lake").await.unwrap();
    assert_eq!(
        names(&fs, "/lake").await,
        [
            "cache-only.bin",
            "nested",
            "through-cache.bin",
            "through.bin"
        ]
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttls_free_or_delete_what_outlives_them() {
    let s3 = S3Server::start(&["lake"]).await.unwrap();
    let mut config = fast_config();
    config.master.ttl_check_interval = Duration::from_millis(200);
    let cluster = MiniCluster::start(config, &["/r1", "/r1", "/r2"])
        .await
        .unwrap();
    let fs = cluster.client().await;
    fs.mount("/lake", "s3://lake", s3_mount(&s3)).await.unwrap();
    let data = pattern(9, (MIB + 5) as usize);
    write_file(&fs, "/lake/hot/a.bin", &data, "").await;
    write_file(&fs, "/lake/hot/cache-only.bin", &data, "MUST_CACHE").await;
    write_file(&fs, "/lake/tmp/old.bin", &data, "").await;
    write_file(&fs, "/lake/tmp/sub/b.bin", &data, "").await;
    write_file(&fs, "/lake/kept.bin", &data, "").await;
    write_file(&fs, "/scratch/x.bin", &data, "").await;
    let (free, delete) = (
        strata_core::ttl::TtlAction::Free,
        strata_core::ttl::TtlAction::Delete,
    );
    let second = Duration::from_secs(1);

    // Freeing needs under storage to fall back on.
    let refused = fs.set_ttl("/scratch", Some((second, free))).await;
    assert!(refused.unwrap_err().to_string().contains("under a mount"));
    fs.set_ttl("/lake/kept.bin", Some((second, delete)))
        .await
        .unwrap();
    fs.set_ttl("/lake/kept.bin", None).await.unwrap();
    fs.set_ttl("/lake/hot", Some((second, free))).await.unwrap();
    fs.set_ttl("/lake/tmp", Some((second, delete)))
        .await
        .unwrap();
    fs.set_ttl("/scratch/x.bin", Some((second, delete)))
        .await
        .unwrap();
    let status = fs.stat("/lake/hot").await.unwrap();
    assert_eq!((status.ttl_ms, status.ttl_action.as_str()), (1000, "FREE"));

    // DELETE: gone from Strata and from S3, directories with everything beneath.
    wait_until(
        "the expired directory is deleted",
        Duration::from_secs(20),
        || {
            let fs = fs.clone();
            async move { fs.try_stat("/lake/tmp").await.unwrap().is_none() }
        },
    )
    .await;
    assert!(object(&s3, "tmp/old.bin").is_none());
    assert!(object(&s3, "tmp/sub/b.bin").is_none());
    wait_until(
        "the expired file is deleted",
        Duration::from_secs(20),
        || {
            let fs = fs.clone();
            async move { fs.try_stat("/scratch/x.bin").await.unwrap().is_none() }
        },
    )
    .await;

    // FREE: the persisted file's cached copies go, the unpersisted one stays cached, and the
    // TTL stays until it can be freed too.
    wait_until(
        "the persisted file is freed",
        Duration::from_secs(20),
        || {
            let fs = fs.clone();
            async move { cached_per_block(&fs, "/lake/hot/a.bin").await == [0, 0] }
        },
    )
    .await;
    let kept = cached_per_block(&fs, "/lake/hot/cache-only.bin").await;
    assert!(kept.iter().all(|c| *c > 0), "{kept:?}");
    assert_eq!(fs.stat("/lake/hot").await.unwrap().ttl_ms, 1000);
    fs.persist("/lake/hot/cache-only.bin").await.unwrap();
    wait_until(
        "the TTL is spent once everything is freed",
        Duration::from_secs(20),
        || {
            let fs = fs.clone();
            async move { fs.stat("/lake/hot").await.unwrap().ttl_ms == 0 }
        },
    )
    .await;
    assert_eq!(
        cached_per_block(&fs, "/lake/hot/cache-only.bin").await,
        [0, 0]
    );
    // Freed files still read, from S3.
    let before = s3.requests();
    assert!(
        fs.read_range("/lake/hot/a.bin", 0, data.len() as u64)
            .await
            .unwrap()
            == data
    );
    assert!(s3.requests() > before);

    // The TTL taken away kept its file, here and in S3.
    assert!(fs.try_stat("/lake/kept.bin").await.unwrap().is_some());
    assert!(object(&s3, "kept.bin").unwrap() == data);
    cluster.shutdown().await;
}

/// Whether worker 0 holds a block file (not a checksum file) whose name starts with `name`.
fn holds_block(cluster: &MiniCluster, name: &str) -> bool {
    let mut stack = vec![cluster.worker_dir(0)];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let file = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                stack.push(path);
            } else if file == name {
                return true;
            }
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_cached_again_right_after_its_invalidation_stays_known() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = fast_config();
    // A wide gap between a worker deleting a replica and reporting it with its next heartbeat.
    config.master.heartbeat_interval = Duration::from_secs(1);
    let cluster = MiniCluster::start(config, &["/r1"]).await.unwrap();
    let fs = cluster.client().await;
    let uri = format!("file://{}", dir.path().display());
    fs.mount("/local", &uri, MountOptions::default())
        .await
        .unwrap();
    let data = pattern(17, (MIB / 2) as usize);
    write_file(&fs, "/local/x.bin", &data, "THROUGH").await;
    let located = fs.fsck("/local/x.bin").await.unwrap().0;
    let block = located[0].blocks[0].block.unwrap();
    let name = format!("blk_{}", block.id);
    // The worker deletes its replica when the invalidation reaches it; the read right after
    // caches the block again before the deletion is reported.
    wait_until(
        "the worker deletes the replica",
        Duration::from_secs(20),
        || {
            let gone = !holds_block(&cluster, &name);
            async move { gone }
        },
    )
    .await;
    assert!(fs.read_range("/local/x.bin", 0, MIB / 2).await.unwrap() == data);
    wait_until(
        "the worker caches the block again",
        Duration::from_secs(20),
        || {
            let back = holds_block(&cluster, &name);
            async move { back }
        },
    )
    .await;
    // Two heartbeats later the master still knows the new replica.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(cached_per_block(&fs, "/local/x.bin").await, [1]);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renames_beneath_a_mount_move_the_objects_in_s3_and_keep_what_is_cached() {
    let s3 = S3Server::start(&["lake"]).await.unwrap();
    let top = pattern(120, (3 * MIB / 2) as usize);
    let inner = pattern(121, 1000);
    put_object(&s3, "top.bin", &top);
    put_object(&s3, "dir/a.bin", &inner);
    put_object(&s3, "dir/sub/b.txt", b"deep");
    let cluster = MiniCluster::start(fast_config(), &["/r1"]).await.unwrap();
    let fs = cluster.client().await;
    fs.mount("/lake", "s3://lake", s3_mount(&s3)).await.unwrap();
    assert!(
        fs.read_range("/lake/top.bin", 0, top.len() as u64)
            .await
            .unwrap()
            == top
    );
    wait_until("top.bin is cached", Duration::from_secs(20), || {
        let fs = fs.clone();
        async move { cached_per_block(&fs, "/lake/top.bin").await == [1, 1] }
    })
    .await;

    // A file: the object moves, and its cached blocks stay good through a sync.
    fs.rename("/lake/top.bin", "/lake/renamed.bin")
        .await
        .unwrap();
    assert!(object(&s3, "top.bin").is_none());
    assert!(object(&s3, "renamed.bin").unwrap() == top);
    fs.sync_metadata("/lake").await.unwrap();
    assert_eq!(names(&fs, "/lake").await, ["dir", "renamed.bin"]);
    assert_eq!(cached_per_block(&fs, "/lake/renamed.bin").await, [1, 1]);
    let before = s3.requests();
    assert!(
        fs.read_range("/lake/renamed.bin", 0, top.len() as u64)
            .await
            .unwrap()
            == top
    );
    assert_eq!(s3.requests(), before, "read from the cache, not from S3");

    // A directory, with objects beneath it that were never listed.
    fs.rename("/lake/dir", "/lake/dir2").await.unwrap();
    assert!(object(&s3, "dir/a.bin").is_none());
    assert!(object(&s3, "dir2/a.bin").unwrap() == inner);
    assert_eq!(object(&s3, "dir2/sub/b.txt").unwrap(), b"deep");
    assert!(fs.read_range("/lake/dir2/a.bin", 0, 1000).await.unwrap() == inner);
    assert_eq!(
        fs.read_range("/lake/dir2/sub/b.txt", 0, 4).await.unwrap(),
        b"deep"
    );

    // What cannot be done is refused before anything moves.
    let out = fs
        .rename("/lake/renamed.bin", "/outside.bin")
        .await
        .unwrap_err();
    assert!(out.to_string().contains("outside the mount"), "{out}");
    put_object(&s3, "ghost.bin", b"not listed yet");
    let onto = fs
        .rename("/lake/renamed.bin", "/lake/ghost.bin")
        .await
        .unwrap_err();
    assert!(onto.to_string().contains("under storage"), "{onto}");
    assert_eq!(object(&s3, "ghost.bin").unwrap(), b"not listed yet");
    let grow = fs.append("/lake/renamed.bin").await.unwrap_err();
    assert!(grow.to_string().contains("not supported"), "{grow}");
    assert!(object(&s3, "renamed.bin").unwrap() == top);
    cluster.shutdown().await;
}
