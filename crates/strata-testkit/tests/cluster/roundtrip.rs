//! Files of every awkward size go in and come back byte for byte, on an in-process cluster, and
//! so do files concatenated from parts and files truncated.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use strata_client::CreateOptions;
use strata_testkit::{MiniCluster, fast_config, pattern};

const BLOCK: u64 = 256 << 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_of_awkward_sizes_round_trip() {
    let mut config = fast_config();
    config.client.packet_size = strata_core::ByteSize(64 << 10);
    let cluster = MiniCluster::start(config, &["/r1", "/r2", "/r1"])
        .await
        .unwrap();
    let fs = cluster.client().await;
    fs.mkdirs("/rt", false).await.unwrap();
    let mut sizes = vec![
        0,
        1,
        4095,
        4096,
        4097,
        BLOCK - 1,
        BLOCK,
        BLOCK + 1,
        3 * BLOCK + 12345,
        1_000_003,
    ];
    // And a few random sizes (seeded, so a failure can be replayed).
    let mut rng = StdRng::seed_from_u64(42);
    sizes.extend((0..6).map(|_| rng.random_range(0..4 * BLOCK)));
    for (i, size) in sizes.iter().enumerate() {
        let path = format!("/rt/f{i}");
        let data = pattern(i as u64, *size as usize);
        let mut w = fs
            .create(
                &path,
                CreateOptions {
                    block_size: BLOCK,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        // Uneven write sizes exercise packet and block boundaries.
        let mut rest = &data[..];
        while !rest.is_empty() {
            let n = rng.random_range(1..=rest.len().min(200_000));
            w.write(&rest[..n]).await.unwrap();
            rest = &rest[n..];
        }
        w.close().await.unwrap();
        let status = fs.stat(&path).await.unwrap();
        assert_eq!(status.length, *size, "{path}");
        assert_eq!(status.block_count, size.div_ceil(BLOCK), "{path}");
        let back = fs.open(&path).await.unwrap().read_to_end().await.unwrap();
        assert!(back == data, "{path}: content differs");
        let checksum = fs.checksum(&path).await.unwrap();
        assert_eq!(
            checksum.crc32c,
            if data.is_empty() {
                0
            } else {
                strata_core::checksum::crc32c(&data)
            }
        );
        let hdfs = fs.md5_md5_crc32c(&path).await.unwrap();
        assert_eq!(
            hdfs.md5,
            crate::expected_md5_md5_crc32c(&data, BLOCK),
            "{path}"
        );
        assert_eq!(hdfs.bytes_per_crc, 4096);
        let per_block = if *size > BLOCK { BLOCK / 4096 } else { 0 };
        assert_eq!(hdfs.crcs_per_block, per_block, "{path}");
    }
    let range = fs.read_range("/rt/f8", BLOCK - 10, 20).await.unwrap();
    assert_eq!(
        range,
        pattern(8, (3 * BLOCK + 12345) as usize)[(BLOCK - 10) as usize..(BLOCK + 10) as usize]
    );
    assert!(matches!(
        fs.read_range("/rt/f1", 5, 1).await,
        Err(strata_core::Error::PastEndOfFile { .. })
    ));
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_continues_the_last_block() {
    let cluster = MiniCluster::start(fast_config(), &["/r1", "/r2", "/r1"])
        .await
        .unwrap();
    let fs = cluster.client().await;
    let first = pattern(1, 100_000);
    let second = pattern(2, 300_000);
    let mut w = fs
        .create(
            "/a",
            CreateOptions {
                block_size: BLOCK,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    w.write(&first).await.unwrap();
    w.close().await.unwrap();
    let mut w = fs.append("/a").await.unwrap();
    w.write(&second).await.unwrap();
    w.close().await.unwrap();
    let mut expected = first.clone();
    expected.extend_from_slice(&second);
    let back = fs.open("/a").await.unwrap().read_to_end().await.unwrap();
    assert!(back == expected);
    assert_eq!(fs.stat("/a").await.unwrap().block_count, 2);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concatenated_files_read_back_whole_append_and_survive_a_restart() {
    let mut cluster = MiniCluster::start(fast_config(), &["/r1", "/r2", "/r1"])
        .await
        .unwrap();
    let fs = cluster.client().await;
    fs.mkdirs("/parts", false).await.unwrap();
    // Partial blocks at every seam: the reader must follow each block's own length.
    let sizes = [BLOCK as usize + 1000, 0, 77, 2 * BLOCK as usize];
    let mut whole = Vec::new();
    for (i, size) in sizes.iter().enumerate() {
        let data = pattern(100 + i as u64, *size);
        let options = CreateOptions {
            block_size: BLOCK,
            replication: if i == 2 { 1 } else { 3 },
            ..Default::default()
        };
        let mut w = fs.create(&format!("/parts/{i}"), options).await.unwrap();
        w.write(&data).await.unwrap();
        w.close().await.unwrap();
        whole.extend(data);
    }
    fs.concat("/parts/0", &["/parts/1", "/parts/2", "/parts/3"])
        .await
        .unwrap();
    let listed = fs.list("/parts").collect().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].length, whole.len() as u64);
    assert_eq!(fs.read_range("/parts/0", 0, u64::MAX).await.unwrap(), whole);
    let seam = BLOCK + 1000 - 10;
    assert_eq!(
        fs.read_range("/parts/0", seam, 100).await.unwrap(),
        whole[seam as usize..seam as usize + 100]
    );
    let mut more = fs.append("/parts/0").await.unwrap();
    more.write(b"and a tail").await.unwrap();
    more.close().await.unwrap();
    whole.extend_from_slice(b"and a tail");
    // The part written with one replica gets the target's three.
    strata_testkit::wait_until(
        "every block of the concatenated file has 3 replicas",
        std::time::Duration::from_secs(30),
        || {
            let fs = fs.clone();
            async move {
                match fs.fsck("/parts/0").await {
                    Ok((files, _)) => files
                        .iter()
                        .flat_map(|f| f.blocks.iter())
                        .all(|b| b.live.len() == 3),
                    Err(_) => false,
                }
            }
        },
    )
    .await;
    assert!(matches!(
        fs.concat("/parts/0", &["/parts/1"]).await,
        Err(strata_core::Error::NotFound { .. })
    ));
    cluster.restart_master().await.unwrap();
    cluster.wait_ready().await;
    let fs = cluster.client().await;
    assert_eq!(fs.read_range("/parts/0", 0, u64::MAX).await.unwrap(), whole);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_files_keep_every_byte_before_the_cut_and_survive_a_restart() {
    let mut cluster = MiniCluster::start(fast_config(), &["/r1", "/r2", "/r1"])
        .await
        .unwrap();
    let fs = cluster.client().await;
    let data = pattern(9, 3 * BLOCK as usize + 500);
    let options = CreateOptions {
        block_size: BLOCK,
        ..Default::default()
    };
    let mut w = fs.create("/t", options).await.unwrap();
    w.write(&data).await.unwrap();
    w.close().await.unwrap();
    // Inside a block, on a boundary, inside the first block.
    for new_length in [2 * BLOCK + 123, 2 * BLOCK, BLOCK - 1] {
        fs.truncate("/t", new_length).await.unwrap();
        let back = fs.read_range("/t", 0, u64::MAX).await.unwrap();
        assert!(back == data[..new_length as usize], "at {new_length}");
        assert_eq!(fs.stat("/t").await.unwrap().length, new_length);
    }
    assert!(matches!(
        fs.truncate("/t", BLOCK).await,
        Err(strata_core::Error::InvalidArgument(_))
    ));
    // No tail file is left behind, and the file takes appends again.
    let tails = fs
        .list(strata_client::TRUNCATE_TAILS)
        .collect()
        .await
        .unwrap();
    assert!(tails.is_empty(), "{tails:?}");
    let mut more = fs.append("/t").await.unwrap();
    more.write(b"after the cut").await.unwrap();
    more.close().await.unwrap();
    let mut expected = data[..BLOCK as usize - 1].to_vec();
    expected.extend_from_slice(b"after the cut");
    cluster.restart_master().await.unwrap();
    cluster.wait_ready().await;
    let fs = cluster.client().await;
    assert_eq!(fs.read_range("/t", 0, u64::MAX).await.unwrap(), expected);
    fs.truncate("/t", 0).await.unwrap();
    assert_eq!(fs.stat("/t").await.unwrap().length, 0);
    cluster.shutdown().await;
}

/// A block scanner waking while the only replicas are still being written must wait for them
/// (it once looped without yielding, holding the runtime's thread, and the write failed on its
/// socket timeout). One runtime thread makes any such loop stall everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_write_outlasting_a_scanner_pause_completes() {
    let mut config = fast_config();
    config.worker.scan_period = std::time::Duration::from_millis(200);
    let cluster = MiniCluster::start(config, &["/r1", "/r2", "/r1"])
        .await
        .unwrap();
    let fs = cluster.client().await;
    let data = pattern(3, 2 << 20);
    let options = CreateOptions {
        block_size: 128 << 20,
        ..Default::default()
    };
    let mut w = fs.create("/slow", options).await.unwrap();
    w.write(&data[..1 << 20]).await.unwrap();
    // The scanners wake (every 200 ms) while the block is unfinished on all three workers.
    strata_testkit::wait_until(
        "the block being written is on every worker",
        std::time::Duration::from_secs(30),
        || {
            let stored = (0..3).all(|i| !cluster.worker(i).context().store.is_empty());
            async move { stored }
        },
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    w.write(&data[1 << 20..]).await.unwrap();
    w.close().await.unwrap();
    assert_eq!(fs.read_range("/slow", 0, u64::MAX).await.unwrap(), data);
    cluster.shutdown().await;
}
