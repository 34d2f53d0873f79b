//! The cache with real processes: files written ASYNC_THROUGH reach a real S3 server after
//! kill -9 of a worker and of the master, and the `strata cache` commands as a user types them.

use crate::harness::{cli, cluster, write};
use std::time::Duration;
use strata_client::MountOptions;
use strata_testkit::{S3Server, pattern, wait_until};

const MIB: u64 = 1 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_through_files_reach_s3_after_kill_9_of_a_worker_and_the_master() {
    let s3 = S3Server::start(&["lake"]).await.unwrap();
    let mut c = cluster(&["/r1", "/r1", "/r2"], |config| {
        // Long enough to kill everything before the first persist starts.
        config.master.persist_initial_wait = Duration::from_secs(3);
    })
    .await;
    let fs = c.client().await;
    let options = MountOptions {
        options: s3.mount_options(),
        write_type: "ASYNC_THROUGH".to_string(),
        ..Default::default()
    };
    fs.mount("/lake", "s3://lake", options).await.unwrap();
    let files: Vec<Vec<u8>> = (0..3)
        .map(|i| pattern(40 + i, (2 * MIB + MIB / 3) as usize))
        .collect();
    for (i, data) in files.iter().enumerate() {
        write(&fs, &format!("/lake/part-{i}"), data, 3, MIB).await;
    }
    let status = fs.stat("/lake/part-0").await.unwrap();
    assert_eq!(status.persistence, "NOT_PERSISTED");
    assert!(!s3.object_path("lake", "part-0").exists());

    c.kill_worker(0);
    c.kill_master();
    c.restart_master().await;
    c.wait_ready(2).await;
    let fs = c.client().await;
    wait_until(
        "every ASYNC_THROUGH file is in S3",
        Duration::from_secs(90),
        || {
            let fs = fs.clone();
            async move {
                for i in 0..3 {
                    let persisted = fs
                        .stat(&format!("/lake/part-{i}"))
                        .await
                        .is_ok_and(|s| s.persistence == "PERSISTED");
                    if !persisted {
                        return false;
                    }
                }
                true
            }
        },
    )
    .await;
    for (i, data) in files.iter().enumerate() {
        let stored = std::fs::read(s3.object_path("lake", &format!("part-{i}"))).unwrap();
        assert!(stored == *data, "part-{i} differs in S3");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_commands_mount_list_sync_load_persist_ttl_and_unmount() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    std::fs::create_dir_all(lake.join("in")).unwrap();
    std::fs::write(lake.join("in/a.csv"), b"x,y\n1,2\n").unwrap();
    let c = cluster(&["/r1"], |_| {}).await;
    let master = c.master_address().to_string();
    let run = |args: &[&str]| cli(&master, args);
    let uri = format!("file://{}", lake.display());

    let (code, out, err) = run(&[
        "cache",
        "mount",
        "/lake",
        &uri,
        "--sync-interval",
        "never",
        "--write-type",
        "MUST_CACHE",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = run(&["cache", "mount", "/x", "file:///no/such/dir"]);
    assert!(code != 0 && err.contains("no such directory"), "{err}");
    let (code, out, _) = run(&["cache", "mounts", "--json"]);
    assert_eq!(code, 0);
    let mounts: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(mounts[0]["path"], "/lake");
    assert_eq!(mounts[0]["write_type"], "MUST_CACHE");
    assert_eq!(mounts[0]["sync_interval_ms"], -1);
    let (code, out, _) = run(&["cache", "mounts"]);
    assert!(
        code == 0 && out.contains(&uri) && out.contains("never"),
        "{out}"
    );

    let (code, out, _) = run(&["fs", "cat", "/lake/in/a.csv"]);
    assert_eq!((code, out.as_str()), (0, "x,y\n1,2\n"));
    let (code, out, _) = run(&["fs", "stat", "--json", "/lake/in/a.csv"]);
    assert_eq!(code, 0);
    let stat: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(stat["persistence"], "PERSISTED");
    wait_until(
        "stat shows the file cached by the cat",
        Duration::from_secs(20),
        || {
            let (_, out, _) = run(&["fs", "stat", "--json", "/lake/in/a.csv"]);
            let stat: serde_json::Value = serde_json::from_str(&out).unwrap();
            async move { stat["cached_bytes"] == 8 && stat["tier_bytes"]["HDD"] == 8 }
        },
    )
    .await;
    assert_eq!(stat["ufs_uri"], format!("{uri}/in/a.csv"));

    // With sync-interval never, a new file appears only after a sync.
    std::fs::write(lake.join("in/b.csv"), b"3,4\n").unwrap();
    let (_, out, _) = run(&["fs", "ls", "/lake/in"]);
    assert!(!out.contains("b.csv"), "{out}");
    let (code, out, _) = run(&["cache", "sync", "/lake"]);
    assert!(code == 0 && out.contains("1 added"), "{out}");
    let (_, out, _) = run(&["fs", "ls", "/lake/in"]);
    assert!(out.contains("b.csv"), "{out}");

    // load reads every block into the cache.
    let fs = c.client().await;
    let (code, out, err) = run(&["cache", "load", "/lake", "-R"]);
    assert!(code == 0 && out.contains("Loaded 2 files"), "{out}{err}");
    wait_until(
        "every loaded block is cached",
        Duration::from_secs(20),
        || {
            let fs = fs.clone();
            async move {
                let (files, _) = fs.fsck("/lake").await.unwrap();
                files.len() == 2
                    && files
                        .iter()
                        .all(|f| f.blocks.iter().all(|b| b.live.len() == 1))
            }
        },
    )
    .await;

    // MUST_CACHE: written to Strata only, until persisted.
    let local = dir.path().join("new.txt");
    std::fs::write(&local, b"made in strata\n").unwrap();
    let (code, _, err) = run(&["fs", "put", local.to_str().unwrap(), "/lake/in/new.txt"]);
    assert_eq!(code, 0, "{err}");
    assert!(!lake.join("in/new.txt").exists());
    let (code, out, _) = run(&["fs", "stat", "/lake/in/new.txt"]);
    assert!(code == 0 && out.contains("NOT_PERSISTED"), "{out}");
    let (code, out, _) = run(&["cache", "persist", "/lake/in"]);
    assert!(code == 0 && out.contains("Persisted 1 files"), "{out}");
    assert_eq!(
        std::fs::read(lake.join("in/new.txt")).unwrap(),
        b"made in strata\n"
    );

    // A time to live shows in stat until it is taken away.
    let (code, out, err) = run(&["cache", "ttl", "set", "/lake/in", "7d", "--action", "free"]);
    assert!(code == 0 && out.contains("freed 7days"), "{out}{err}");
    let (code, _, err) = run(&["cache", "ttl", "set", "/lake/in", "soon"]);
    assert!(code != 0 && err.contains("not a duration"), "{err}");
    let (code, _, err) = run(&["cache", "ttl", "set", "/lake/in", "1h", "--action", "evict"]);
    assert!(code != 0 && err.contains("not free or delete"), "{err}");
    let (_, out, _) = run(&["fs", "stat", "/lake/in"]);
    assert!(out.contains("TTL: 7days, then free"), "{out}");
    let (_, out, _) = run(&["fs", "stat", "--json", "/lake/in"]);
    let stat: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (stat["ttl_ms"].as_i64(), stat["ttl_action"].as_str()),
        (Some(7 * 86_400_000), Some("FREE"))
    );
    let (code, _, _) = run(&["cache", "ttl", "unset", "/lake/in"]);
    assert_eq!(code, 0);
    let (_, out, _) = run(&["fs", "stat", "/lake/in"]);
    assert!(!out.contains("TTL"), "{out}");

    let (code, out, _) = run(&["cache", "unmount", "/lake"]);
    assert_eq!(code, 0, "{out}");
    let (code, _, _) = run(&["fs", "stat", "/lake"]);
    assert_ne!(code, 0);
    assert!(lake.join("in/a.csv").exists() && lake.join("in/new.txt").exists());
}
