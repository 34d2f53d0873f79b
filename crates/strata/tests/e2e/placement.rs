//! Rack-aware placement and decommissioning, checked on a cluster of real processes.

use crate::harness::{binary, fully_replicated, read, write};
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use strata_proto::rpc::WorkerState;
use strata_testkit::{ProcessCluster, ProcessClusterOptions, fast_config, pattern, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_follow_the_rack_rule() {
    // Worker 0 shares the client's address, so it is the writer's own worker; the others
    // listen on other loopback addresses and look like other hosts.
    let mut options = ProcessClusterOptions::new(fast_config(), &["/r1", "/r1", "/r2", "/r2"]);
    options.hosts = vec![
        "127.0.0.1".into(),
        "127.0.0.2".into(),
        "127.0.0.3".into(),
        "127.0.0.4".into(),
    ];
    let c = ProcessCluster::start(&binary(), options).await;
    let fs = c.client().await;
    let local = c.worker_id(0);
    for i in 0..12 {
        write(&fs, &format!("/p/f{i}"), &pattern(i, 1000), 3, 1 << 20).await;
    }
    write(&fs, "/p/two", &pattern(99, 1000), 2, 1 << 20).await;
    for i in 0..12 {
        let mut reader = fs.open(&format!("/p/f{i}")).await.unwrap();
        reader.next_chunk().await.unwrap();
        assert_eq!(
            reader.current_worker().unwrap().id,
            local,
            "reads prefer the replica on the reader's own host"
        );
    }
    let (files, _) = fs.fsck("/p").await.unwrap();
    for file in &files {
        for block in &file.blocks {
            let workers: HashSet<&str> = block.live.iter().map(|a| a.id.as_str()).collect();
            assert_eq!(
                workers.len(),
                block.live.len(),
                "{}: two replicas on one worker",
                file.path
            );
            assert_eq!(block.live.len(), file.replication as usize, "{}", file.path);
            assert!(
                workers.contains(local.as_str()),
                "{}: the writer's own worker holds no replica",
                file.path
            );
            let mut per_rack: HashMap<&str, usize> = HashMap::new();
            for a in &block.live {
                *per_rack.entry(a.rack.as_str()).or_default() += 1;
            }
            assert_eq!(
                per_rack.len(),
                2,
                "{}: replicas must span both racks",
                file.path
            );
            if file.replication == 3 {
                assert_eq!(
                    per_rack.get("/r1"),
                    Some(&2),
                    "{}: the third replica shares the first's rack",
                    file.path
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decommission_drains_a_worker_without_dropping_replicas() {
    let c = ProcessCluster::start(
        &binary(),
        ProcessClusterOptions::new(fast_config(), &["/r1", "/r2", "/r1", "/r2"]),
    )
    .await;
    let fs = c.client().await;
    let mut files = Vec::new();
    for i in 0..6 {
        let data = pattern(200 + i, 1_500_000);
        write(&fs, &format!("/dec/f{i}"), &data, 3, 1 << 20).await;
        files.push(data);
    }
    let leaving = c.worker_id(0);
    fs.decommission(&leaving).await.unwrap();
    wait_until(
        "the worker is decommissioned",
        Duration::from_secs(60),
        || {
            let fs = fs.clone();
            let leaving = leaving.clone();
            async move {
                let (checked, _) = fs.fsck("/dec").await.unwrap();
                for file in &checked {
                    for block in &file.blocks {
                        let good = block.live.len() + block.decommissioning.len();
                        assert!(
                            good >= 3,
                            "{}: a block fell below its target during the drain",
                            file.path
                        );
                    }
                }
                let report = fs.report().await.unwrap();
                report.workers.iter().any(|w| {
                    w.address.as_ref().is_some_and(|a| a.id == leaving)
                        && w.state == WorkerState::Decommissioned as i32
                })
            }
        },
    )
    .await;
    let (checked, _) = fs.fsck("/dec").await.unwrap();
    assert!(
        checked
            .iter()
            .all(|f| fully_replicated(f, 3, Some(&leaving)))
    );
    for (i, data) in files.iter().enumerate() {
        assert!(read(&fs, &format!("/dec/f{i}")).await == *data);
    }
    write(&fs, "/dec/after", &pattern(1, 10_000), 3, 1 << 20).await;
    let (after, _) = fs.fsck("/dec/after").await.unwrap();
    assert!(
        after[0].blocks[0].live.iter().all(|a| a.id != leaving),
        "no new block goes to a decommissioned worker"
    );
}
