//! Replication converges: setrep up and down, extra replicas trimmed, deleted files' blocks
//! removed from workers, a reader's report of a damaged replica leads to its replacement.

use std::time::Duration;
use strata_client::{CreateOptions, FileSystem};
use strata_testkit::{MiniCluster, fast_config, pattern, wait_until};

async fn live_counts(fs: &FileSystem, path: &str) -> Vec<usize> {
    match fs.fsck(path).await {
        Ok((files, _)) => files
            .iter()
            .flat_map(|f| f.blocks.iter().map(|b| b.live.len()))
            .collect(),
        Err(_) => Vec::new(),
    }
}

async fn wait_for_replicas(fs: &FileSystem, path: &str, wanted: usize) {
    wait_until(
        &format!("{path} has {wanted} live replicas per block"),
        Duration::from_secs(30),
        || {
            let fs = fs.clone();
            async move {
                let counts = live_counts(&fs, path).await;
                !counts.is_empty() && counts.iter().all(|c| *c == wanted)
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setrep_converges_up_and_down_and_deletes_free_space() {
    let cluster = MiniCluster::start(fast_config(), &["/r1", "/r2", "/r1", "/r2"])
        .await
        .unwrap();
    let fs = cluster.client().await;
    let data = pattern(4, 2_500_000);
    let mut w = fs
        .create(
            "/s",
            CreateOptions {
                replication: 2,
                block_size: 1 << 20,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    w.write(&data).await.unwrap();
    w.close().await.unwrap();
    wait_for_replicas(&fs, "/s", 2).await;
    fs.set_replication("/s", 4).await.unwrap();
    wait_for_replicas(&fs, "/s", 4).await;
    fs.set_replication("/s", 1).await.unwrap();
    wait_for_replicas(&fs, "/s", 1).await;
    assert!(fs.open("/s").await.unwrap().read_to_end().await.unwrap() == data);
    fs.delete("/s", false).await.unwrap();
    let workers: Vec<_> = (0..4)
        .map(|i| cluster.worker(i).context().clone())
        .collect();
    wait_until(
        "every replica of the deleted file is gone",
        Duration::from_secs(30),
        || {
            let workers = workers.clone();
            async move { workers.iter().all(|w| w.store.is_empty()) }
        },
    )
    .await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_reports_a_damaged_replica_and_it_is_replaced() {
    let mut config = fast_config();
    config.worker.scan_period = Duration::ZERO;
    let cluster = MiniCluster::start(config, &["/r1", "/r2", "/r1"])
        .await
        .unwrap();
    let fs = cluster.client().await;
    let data = pattern(8, 300_000);
    let mut w = fs
        .create(
            "/c",
            CreateOptions {
                replication: 3,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    w.write(&data).await.unwrap();
    w.close().await.unwrap();
    let (files, _) = fs.fsck("/c").await.unwrap();
    let block = files[0].blocks[0].block.unwrap();
    // Damage two replicas; reads try replicas in random order, so a few reads meet one.
    for i in 0..2 {
        let dir = cluster
            .worker_dir(i)
            .join("current/finalized")
            .join(format!("{:02x}", block.id % 256));
        let path = dir.join(format!("blk_{}", block.id));
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[1000] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
    }
    let stores: Vec<_> = (0..3)
        .map(|i| cluster.worker(i).context().store.clone())
        .collect();
    let whole = |store: &strata_worker::store::BlockStore| {
        let Ok(reader) = store.open_reader(strata_core::BlockId(block.id), 0) else {
            return false;
        };
        let mut buf = Vec::new();
        reader.read_verified(0, data.len(), &mut buf).is_ok() && buf == data
    };
    wait_until(
        "readers have found and reported the damage, and it is repaired",
        Duration::from_secs(30),
        || {
            let fs = fs.clone();
            let data = data.clone();
            let all_whole = stores.iter().all(whole);
            async move {
                let back = fs.open("/c").await.unwrap().read_to_end().await.unwrap();
                assert!(back == data, "every read returns the original bytes");
                let Ok((files, summary)) = fs.fsck("/c").await else {
                    return false;
                };
                all_whole
                    && summary.healthy_blocks == 1
                    && files[0].blocks[0].corrupt.is_empty()
                    && files[0].blocks[0].live.len() == 3
            }
        },
    )
    .await;
    cluster.shutdown().await;
}
