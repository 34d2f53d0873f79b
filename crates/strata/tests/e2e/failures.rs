//! Failures with real processes: workers and the master killed with SIGKILL, block files
//! damaged on disk, writers that die.

use crate::harness::{block_files, cluster, fully_replicated, read, wait_for_fsck, write};
use std::io::Write;
use std::time::Duration;
use strata_testkit::{pattern, wait_until};

const MIB: u64 = 1 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_survives_the_kill_of_the_worker_it_reads_from() {
    let mut c = cluster(&["/r1", "/r2", "/r1"], |_| {}).await;
    let fs = c.client().await;
    let data = pattern(11, (8 * MIB + 123) as usize);
    write(&fs, "/big", &data, 3, MIB).await;
    let mut reader = fs.open("/big").await.unwrap();
    let mut back = Vec::new();
    let first = reader.next_chunk().await.unwrap().unwrap();
    back.extend_from_slice(&first);
    let serving = reader.current_worker().unwrap().id.clone();
    let victim = (0..3).find(|i| c.worker_id(*i) == serving).unwrap();
    c.kill_worker(victim);
    while let Some(chunk) = reader.next_chunk().await.unwrap() {
        back.extend_from_slice(&chunk);
    }
    assert!(back == data, "the bytes read after the failover differ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_of_a_killed_worker_return_to_three_replicas() {
    let mut c = cluster(&["/r1", "/r2", "/r1", "/r2"], |_| {}).await;
    let fs = c.client().await;
    let mut files = Vec::new();
    for i in 0..5 {
        let data = pattern(100 + i, (2 * MIB + MIB / 2) as usize);
        write(&fs, &format!("/d/f{i}"), &data, 3, MIB).await;
        files.push(data);
    }
    let victim = c.worker_id(0);
    c.kill_worker(0);
    wait_for_fsck(
        &fs,
        "/d",
        "every block has 3 live replicas off the dead worker",
        Duration::from_secs(60),
        |f| fully_replicated(f, 3, Some(&victim)),
    )
    .await;
    let report = fs.report().await.unwrap();
    let dead = report
        .workers
        .iter()
        .find(|w| w.address.as_ref().is_some_and(|a| a.id == victim))
        .unwrap();
    assert_eq!(dead.state, strata_proto::rpc::WorkerState::Dead as i32);
    for (i, data) in files.iter().enumerate() {
        assert!(read(&fs, &format!("/d/f{i}")).await == *data);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_replicas_are_detected_and_replaced() {
    let c = cluster(&["/r1", "/r2", "/r1"], |config| {
        config.worker.scan_period = Duration::from_secs(2);
    })
    .await;
    let fs = c.client().await;
    let data = pattern(7, (3 * MIB) as usize);
    write(&fs, "/damaged", &data, 3, MIB).await;
    let (files, _) = fs.fsck("/damaged").await.unwrap();
    let first = files[0].blocks[0].block.unwrap();
    // Flip bytes in the middle of the first block on two of the three workers.
    for worker in 0..2 {
        for path in block_files(&c.worker_dir(worker), first.id) {
            let mut bytes = std::fs::read(&path).unwrap();
            let middle = bytes.len() / 2;
            for b in &mut bytes[middle..middle + 16] {
                *b ^= 0xA5;
            }
            std::fs::write(&path, bytes).unwrap();
        }
    }
    assert!(
        read(&fs, "/damaged").await == data,
        "the read must return the original bytes"
    );
    let expected = &data[..MIB as usize];
    wait_until(
        "every replica of the damaged block is whole again",
        Duration::from_secs(60),
        || {
            let fs = fs.clone();
            let dirs: Vec<_> = (0..3).map(|i| c.worker_dir(i)).collect();
            async move {
                let Ok((files, _)) = fs.fsck("/damaged").await else {
                    return false;
                };
                if !files.iter().all(|f| fully_replicated(f, 3, None)) {
                    return false;
                }
                dirs.iter().all(|dir| {
                    let copies = block_files(dir, first.id);
                    copies.len() == 1 && std::fs::read(&copies[0]).is_ok_and(|b| b == expected)
                })
            }
        },
    )
    .await;
    assert!(read(&fs, "/damaged").await == data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_crash_loses_no_acknowledged_file() {
    let mut c = cluster(&["/r1", "/r2", "/r1"], |_| {}).await;
    let fs = c.client().await;
    let writer = tokio::spawn(async move {
        let mut acknowledged = Vec::new();
        for i in 0u64.. {
            let path = format!("/stream/f{i:05}");
            let size = (i * 7919) % (300 << 10);
            let data = pattern(i, size as usize);
            let attempt = async {
                let options = strata_client::CreateOptions {
                    create_parents: true,
                    block_size: 128 << 10,
                    ..Default::default()
                };
                let mut w = fs.create(&path, options).await?;
                w.write(&data).await?;
                w.close().await
            };
            match attempt.await {
                Ok(()) => acknowledged.push((path, i, size)),
                Err(_) => break,
            }
        }
        acknowledged
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    c.kill_master();
    let acknowledged = writer.await.unwrap();
    assert!(
        acknowledged.len() > 3,
        "the writer should have finished some files first"
    );
    c.restart_master().await;
    let fs = c.client().await;
    for (path, seed, size) in &acknowledged {
        let status = fs
            .stat(path)
            .await
            .unwrap_or_else(|e| panic!("{path} lost after the crash: {e}"));
        assert_eq!(status.length, *size, "{path}");
        assert!(
            read(&fs, path).await == pattern(*seed, *size as usize),
            "{path} content"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_survives_the_kill_of_a_pipeline_worker() {
    let mut c = cluster(&["/r1", "/r2", "/r1"], |_| {}).await;
    let fs = c.client().await;
    let data = pattern(5, (6 * MIB + 77) as usize);
    let options = strata_client::CreateOptions {
        replication: 3,
        block_size: 2 * MIB,
        ..Default::default()
    };
    let mut w = fs.create("/survivor", options).await.unwrap();
    let (head, tail) = data.split_at(3 * MIB as usize);
    w.write(head).await.unwrap();
    c.kill_worker(1);
    for piece in tail.chunks(100_000) {
        w.write(piece).await.unwrap();
    }
    w.close().await.unwrap();
    assert!(read(&fs, "/survivor").await == data);
    c.restart_worker(1);
    wait_for_fsck(
        &fs,
        "/survivor",
        "the file is fully replicated again",
        Duration::from_secs(60),
        |f| fully_replicated(f, 3, None),
    )
    .await;
    assert!(read(&fs, "/survivor").await == data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_writer_is_recovered_to_its_last_complete_length() {
    let c = cluster(&["/r1", "/r2", "/r1"], |_| {}).await;
    let fs = c.client().await;
    let data = pattern(9, (2 * MIB + 5000) as usize);
    let mut put = std::process::Command::new(crate::harness::binary())
        .args(["--master", c.master_address(), "fs", "put", "-", "/orphan"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = put.stdin.take().unwrap();
    stdin.write_all(&data).unwrap();
    stdin.flush().unwrap();
    // The CLI holds the stream open; wait until its first blocks are finished.
    wait_until(
        "the writer has finished two blocks",
        Duration::from_secs(30),
        || {
            let fs = fs.clone();
            async move { fs.stat("/orphan").await.is_ok_and(|s| s.length >= 2 * MIB) }
        },
    )
    .await;
    put.kill().unwrap();
    put.wait().unwrap();
    drop(stdin);
    wait_until(
        "lease recovery closes the file",
        Duration::from_secs(60),
        || {
            let fs = fs.clone();
            async move {
                fs.stat("/orphan")
                    .await
                    .is_ok_and(|s| !s.under_construction)
            }
        },
    )
    .await;
    let status = fs.stat("/orphan").await.unwrap();
    assert!(
        status.length >= 2 * MIB && status.length <= data.len() as u64,
        "length {}",
        status.length
    );
    let back = read(&fs, "/orphan").await;
    assert!(
        back == data[..back.len()],
        "the recovered file is a prefix of what was written"
    );
    let mut w = fs.append("/orphan").await.unwrap();
    w.write(b"after recovery").await.unwrap();
    w.close().await.unwrap();
}
