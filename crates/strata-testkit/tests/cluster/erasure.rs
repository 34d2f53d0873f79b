//! Erasure-coded files on in-process clusters: every built-in policy round-trips awkward
//! sizes, healthy reads touch data units only, reads survive stopped workers, policies are
//! inherited and refused when the cluster is too small, append and convert keep the bytes.

use std::time::Duration;
use strata_client::{CreateOptions, FileSystem};
use strata_core::Error;
use strata_testkit::{MiniCluster, fast_config, pattern, wait_until};

const MIB: u64 = 1 << 20;
/// Internal block size: two 1 MiB cells, so a block group holds two stripes.
const BLOCK: u64 = 2 * MIB;
const POLICIES: [(&str, u64, u64); 4] = [
    ("RS-3-2-1024k", 3, 2),
    ("RS-6-3-1024k", 6, 3),
    ("RS-10-4-1024k", 10, 4),
    ("XOR-2-1-1024k", 2, 1),
];

fn racks(workers: usize) -> Vec<&'static str> {
    (0..workers).map(|i| ["/r1", "/r2", "/r3"][i % 3]).collect()
}

/// The sizes the issue names for a policy with `data` units: around a cell, around a stripe,
/// and several block groups.
fn awkward_sizes(data: u64) -> Vec<u64> {
    let stripe = data * MIB;
    let group = data * BLOCK;
    vec![
        0,
        1,
        MIB - 1,
        MIB,
        MIB + 1,
        stripe - 1,
        stripe,
        stripe + 1,
        2 * group + stripe + 12_345,
    ]
}

async fn write(fs: &FileSystem, path: &str, data: &[u8], options: CreateOptions) {
    let mut w = fs
        .create(path, options)
        .await
        .unwrap_or_else(|e| panic!("create {path}: {e}"));
    // Uneven pieces cross cell and stripe boundaries at odd places.
    let mut rest = data;
    let mut piece = 77_777;
    while !rest.is_empty() {
        let n = piece.min(rest.len());
        w.write(&rest[..n])
            .await
            .unwrap_or_else(|e| panic!("write {path}: {e}"));
        rest = &rest[n..];
        piece = piece * 3 % 1_000_003 + 1;
    }
    w.close()
        .await
        .unwrap_or_else(|e| panic!("close {path}: {e}"));
}

fn striped(block_size: u64) -> CreateOptions {
    CreateOptions {
        block_size,
        ..Default::default()
    }
}

async fn read(fs: &FileSystem, path: &str) -> Vec<u8> {
    fs.open(path)
        .await
        .unwrap_or_else(|e| panic!("open {path}: {e}"))
        .read_to_end()
        .await
        .unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// The worker ids holding each internal block of each group of `path`: `(index, worker id)`.
async fn units(fs: &FileSystem, path: &str) -> Vec<Vec<(u32, String)>> {
    let (files, _) = fs.fsck(path).await.unwrap();
    files[0]
        .blocks
        .iter()
        .map(|b| {
            b.live_indices
                .iter()
                .zip(&b.live)
                .map(|(i, w)| (*i, w.id.clone()))
                .collect()
        })
        .collect()
}

fn slot_of(cluster: &MiniCluster, id: &str) -> usize {
    (0..cluster.worker_count())
        .find(|i| cluster.worker(*i).address().id == id)
        .unwrap_or_else(|| panic!("no worker {id}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_builtin_policy_round_trips_awkward_sizes_and_survives_m_stopped_workers() {
    let mut cluster = MiniCluster::start(fast_config(), &racks(14)).await.unwrap();
    let fs = cluster.client().await;
    for (policy, data_units, parity) in POLICIES {
        let dir = format!("/ec/{policy}");
        fs.mkdirs(&dir, true).await.unwrap();
        fs.set_ec_policy(&dir, policy).await.unwrap();
        let mut files = Vec::new();
        for (i, size) in awkward_sizes(data_units).into_iter().enumerate() {
            let path = format!("{dir}/f{i}");
            let data = pattern(size ^ data_units, size as usize);
            write(&fs, &path, &data, striped(BLOCK)).await;
            let status = fs.stat(&path).await.unwrap();
            assert_eq!(status.length, size, "{path}");
            assert_eq!(status.ec_policy, policy, "{path}");
            assert_eq!(
                status.block_count,
                size.div_ceil(data_units * BLOCK),
                "{path}"
            );
            assert!(read(&fs, &path).await == data, "{path}: content differs");
            let expected_crc = if data.is_empty() {
                0
            } else {
                strata_core::checksum::crc32c(&data)
            };
            assert_eq!(
                fs.checksum(&path).await.unwrap().crc32c,
                expected_crc,
                "{path}"
            );
            let group = data_units * BLOCK;
            assert_eq!(
                fs.md5_md5_crc32c(&path).await.unwrap().md5,
                crate::expected_md5_md5_crc32c(&data, group),
                "{path}"
            );
            if size > MIB + 10 {
                let range = fs.read_range(&path, MIB - 10, 20).await.unwrap();
                assert_eq!(range, data[(MIB - 10) as usize..(MIB + 10) as usize]);
            }
            files.push((path, data));
        }
        // Every group sits on distinct workers, one internal block each.
        let (path, _) = files.last().unwrap();
        for group in units(&fs, path).await {
            let mut ids: Vec<&String> = group.iter().map(|(_, id)| id).collect();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len() as u64, data_units + parity, "{path}: {group:?}");
        }
        // Stop `parity` workers holding internal blocks of the largest file's first group
        // (data blocks first, so the reads must decode), read everything, start them again.
        let mut first_group = units(&fs, path).await.swap_remove(0);
        first_group.sort();
        let mut victims: Vec<usize> = first_group
            .iter()
            .take(parity as usize)
            .map(|(_, id)| slot_of(&cluster, id))
            .collect();
        victims.sort();
        for v in &victims {
            cluster.stop_worker(*v).await;
        }
        for (path, data) in &files {
            assert!(
                read(&fs, path).await == *data,
                "{path}: degraded read differs"
            );
        }
        for v in &victims {
            cluster.restart_worker(*v).await.unwrap();
        }
        cluster.wait_ready().await;
    }
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_read_touches_data_units_only() {
    let cluster = MiniCluster::start(fast_config(), &racks(9)).await.unwrap();
    let fs = cluster.client().await;
    let data = pattern(3, (6 * BLOCK) as usize);
    let options = CreateOptions {
        ec_policy: "RS-6-3-1024k".to_string(),
        ..striped(BLOCK)
    };
    write(&fs, "/one-group", &data, options).await;
    let summary = fs.content_summary("/one-group").await.unwrap();
    assert_eq!(summary.length, 6 * BLOCK);
    assert_eq!(summary.space_consumed, 9 * BLOCK, "data and parity units");
    let before: Vec<u64> = (0..9)
        .map(|i| cluster.worker(i).context().metrics.bytes_read())
        .collect();
    assert!(read(&fs, "/one-group").await == data);
    let group = &units(&fs, "/one-group").await[0];
    assert_eq!(group.len(), 9);
    for (index, id) in group {
        let slot = slot_of(&cluster, id);
        let served = cluster.worker(slot).context().metrics.bytes_read() - before[slot];
        if *index < 6 {
            assert_eq!(served, BLOCK, "data unit {index} on {id}");
        } else {
            assert_eq!(served, 0, "parity unit {index} on {id} was read");
        }
    }
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_are_inherited_replication_can_be_forced_and_small_clusters_refuse() {
    let mut cluster = MiniCluster::start(fast_config(), &racks(4)).await.unwrap();
    let fs = cluster.client().await;
    let names: Vec<String> = fs
        .ec_policies()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    for (policy, _, _) in POLICIES {
        assert!(names.iter().any(|n| n == policy), "{policy} in {names:?}");
    }
    fs.mkdirs("/cold/keep", true).await.unwrap();
    fs.set_ec_policy("/cold", "XOR-2-1-1024k").await.unwrap();
    fs.set_ec_policy("/cold/keep", "REPLICATION").await.unwrap();
    let got = fs.get_ec_policy("/cold/keep").await.unwrap();
    assert_eq!(
        (got.policy.as_str(), got.set_on.as_str()),
        ("REPLICATION", "/cold/keep")
    );
    let data = pattern(9, 3_000_000);
    write(
        &fs,
        "/cold/a/b",
        &data,
        CreateOptions {
            create_parents: true,
            ..striped(MIB)
        },
    )
    .await;
    write(&fs, "/cold/keep/c", &data, striped(MIB)).await;
    let got = fs.get_ec_policy("/cold/a").await.unwrap();
    assert_eq!(
        (got.policy.as_str(), got.set_on.as_str()),
        ("XOR-2-1-1024k", "/cold")
    );
    assert_eq!(
        fs.stat("/cold/a/b").await.unwrap().ec_policy,
        "XOR-2-1-1024k"
    );
    assert_eq!(fs.stat("/cold/keep/c").await.unwrap().ec_policy, "");
    assert!(read(&fs, "/cold/a/b").await == data);
    // Unset: the directory inherits again (here: nothing, so replication).
    fs.set_ec_policy("/cold/keep", "").await.unwrap();
    assert_eq!(
        fs.get_ec_policy("/cold/keep").await.unwrap().policy,
        "XOR-2-1-1024k"
    );
    fs.set_ec_policy("/cold", "").await.unwrap();
    assert_eq!(
        fs.get_ec_policy("/cold/keep").await.unwrap().policy,
        "REPLICATION"
    );

    // RS-3-2 needs five workers; this cluster has four.
    let refused = fs.set_ec_policy("/cold", "RS-3-2-1024k").await.unwrap_err();
    assert!(
        refused.to_string().contains("RS-3-2-1024k") && refused.to_string().contains('4'),
        "{refused}"
    );
    let options = CreateOptions {
        ec_policy: "RS-3-2-1024k".to_string(),
        ..Default::default()
    };
    let refused = fs.create("/cold/x", options).await.unwrap_err();
    assert!(refused.to_string().contains("RS-3-2-1024k"), "{refused}");
    assert!(fs.try_stat("/cold/x").await.unwrap().is_none());
    assert!(fs.set_ec_policy("/cold", "RS-9-9-1024k").await.is_err());
    assert!(
        fs.set_ec_policy("/cold/a/b", "XOR-2-1-1024k")
            .await
            .is_err()
    );
    // A custom cell size.
    let added = fs.add_ec_policy("XOR-3-1-64k").await.unwrap();
    assert_eq!((added.data_units, added.cell_size), (3, 64 << 10));
    fs.set_ec_policy("/cold", "XOR-3-1-64k").await.unwrap();
    write(&fs, "/cold/small-cells", &data, striped(256 << 10)).await;
    assert!(read(&fs, "/cold/small-cells").await == data);
    assert_eq!(
        fs.stat("/cold/small-cells").await.unwrap().block_count,
        3_000_000u64.div_ceil(3 * (256 << 10))
    );
    // Policies, settings and striped files come back from the journal and block reports.
    cluster.restart_master().await.unwrap();
    let fs = cluster.client().await;
    assert_eq!(
        fs.get_ec_policy("/cold/a").await.unwrap().policy,
        "XOR-3-1-64k"
    );
    assert!(read(&fs, "/cold/small-cells").await == data);
    assert!(read(&fs, "/cold/a/b").await == data);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_adds_groups_and_convert_switches_layouts_both_ways() {
    let cluster = MiniCluster::start(fast_config(), &racks(5)).await.unwrap();
    let fs = cluster.client().await;
    fs.mkdirs("/warm", false).await.unwrap();
    let first = pattern(1, 2_500_000);
    let second = pattern(2, 4_000_001);
    let options = CreateOptions {
        ec_policy: "RS-3-2-1024k".to_string(),
        ..striped(MIB)
    };
    write(&fs, "/warm/log", &first, options).await;
    let mut w = fs.append("/warm/log").await.unwrap();
    w.write(&second).await.unwrap();
    w.close().await.unwrap();
    let mut both = first.clone();
    both.extend_from_slice(&second);
    assert!(read(&fs, "/warm/log").await == both);
    assert_eq!(
        fs.stat("/warm/log").await.unwrap().length,
        both.len() as u64
    );
    // A read that starts inside the appended part and crosses its stripes.
    let offset = first.len() as u64 + 1_234_567;
    let range = fs.read_range("/warm/log", offset, 2 * MIB).await.unwrap();
    assert!(range == both[offset as usize..(offset + 2 * MIB) as usize]);

    let data = pattern(5, 7_000_000);
    write(
        &fs,
        "/warm/table",
        &data,
        CreateOptions {
            replication: 3,
            ..striped(MIB)
        },
    )
    .await;
    let (files, _) = fs.fsck("/warm/table").await.unwrap();
    let replicated: Vec<u64> = files[0]
        .blocks
        .iter()
        .map(|b| b.block.unwrap().id)
        .collect();
    assert_eq!(replicated.len(), 7);
    fs.set_ec_policy("/warm", "RS-3-2-1024k").await.unwrap();
    let converted = fs.convert("/warm/table", "").await.unwrap();
    assert_eq!(converted.ec_policy, "RS-3-2-1024k");
    assert_eq!(converted.length, data.len() as u64);
    assert!(read(&fs, "/warm/table").await == data);
    // The replicas of the old layout are deleted from every worker.
    let stores: Vec<_> = (0..5)
        .map(|i| cluster.worker(i).context().clone())
        .collect();
    wait_until(
        "the replicated layout's blocks are deleted",
        Duration::from_secs(30),
        || {
            let stores = stores.clone();
            let replicated = replicated.clone();
            async move {
                stores.iter().all(|w| {
                    replicated
                        .iter()
                        .all(|id| w.store.info(strata_core::BlockId(*id)).is_none())
                })
            }
        },
    )
    .await;
    let back = fs.convert("/warm/table", "REPLICATION").await.unwrap();
    assert_eq!(back.ec_policy, "");
    assert!(read(&fs, "/warm/table").await == data);
    let listing = fs.list("/warm").collect().await.unwrap();
    let names: Vec<&str> = listing.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(names.len(), 2, "no temporary file is left: {names:?}");
    // A file appended to after it was read for a conversion is not replaced by the copy.
    let read_for_copy = fs.stat("/warm/table").await.unwrap();
    write(&fs, "/warm/copy", &data, striped(MIB)).await;
    let mut w = fs.append("/warm/table").await.unwrap();
    w.write(b"appended meanwhile").await.unwrap();
    w.close().await.unwrap();
    let refused = fs
        .replace("/warm/copy", "/warm/table", Some(&read_for_copy))
        .await;
    assert!(
        matches!(refused, Err(Error::InvalidOperation { .. })),
        "{refused:?}"
    );
    assert_eq!(
        fs.stat("/warm/table").await.unwrap().length,
        data.len() as u64 + 18
    );
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decommission_moves_internal_blocks_off_without_losing_a_unit() {
    let mut cluster = MiniCluster::start(fast_config(), &racks(6)).await.unwrap();
    let fs = cluster.client().await;
    fs.mkdirs("/dec", false).await.unwrap();
    fs.set_ec_policy("/dec", "RS-3-2-1024k").await.unwrap();
    let mut files = Vec::new();
    for i in 0..4 {
        let data = pattern(300 + i, (4 * MIB + i * 1000) as usize);
        write(&fs, &format!("/dec/f{i}"), &data, striped(MIB)).await;
        files.push(data);
    }
    let leaving = cluster.worker(0).address().id.clone();
    fs.decommission(&leaving).await.unwrap();
    wait_until(
        "the worker is decommissioned",
        Duration::from_secs(60),
        || {
            let fs = fs.clone();
            let leaving = leaving.clone();
            async move {
                let (checked, _) = fs.fsck("/dec").await.unwrap();
                for group in checked.iter().flat_map(|f| &f.blocks) {
                    // Every unit stays readable somewhere during the drain.
                    assert_eq!(group.missing_units, 0, "a unit was lost during the drain");
                }
                let report = fs.report().await.unwrap();
                report.workers.iter().any(|w| {
                    w.address.as_ref().is_some_and(|a| a.id == leaving)
                        && w.state == strata_proto::rpc::WorkerState::Decommissioned as i32
                })
            }
        },
    )
    .await;
    let (checked, _) = fs.fsck("/dec").await.unwrap();
    for group in checked.iter().flat_map(|f| &f.blocks) {
        assert_eq!(group.live.len(), 5);
        assert!(group.live.iter().all(|w| w.id != leaving));
    }
    // Nothing needs the drained worker any more.
    cluster.stop_worker(0).await;
    for (i, data) in files.iter().enumerate() {
        assert!(read(&fs, &format!("/dec/f{i}")).await == *data);
    }
    cluster.shutdown().await;
}
