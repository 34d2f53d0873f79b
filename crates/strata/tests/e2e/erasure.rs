//! Erasure coding with real processes: for every built-in policy, reads survive `kill -9` of
//! m workers, a killed worker's internal blocks are reconstructed elsewhere, and a damaged
//! cell on disk is detected (by a reader and by the scanner) and rebuilt.

use crate::harness::{block_files, cli, cluster, read, wait_for_fsck, write};
use std::time::Duration;
use strata_client::{FileSystem, FsckFile};
use strata_proto::rpc::BlockHealth;
use strata_testkit::{ProcessCluster, pattern};

const MIB: u64 = 1 << 20;
/// Workers of the damaged-cell test (RS-10-4 and one spare).
const DAMAGE_WORKERS: usize = 15;
const POLICIES: [(&str, u64, u64); 4] = [
    ("RS-3-2-1024k", 3, 2),
    ("RS-6-3-1024k", 6, 3),
    ("RS-10-4-1024k", 10, 4),
    ("XOR-2-1-1024k", 2, 1),
];

/// One file that fills a block group and a half (1 MiB internal blocks) and one small file.
fn files_for(data_units: u64) -> Vec<(String, u64)> {
    vec![
        ("small".to_string(), MIB + 1),
        ("large".to_string(), data_units * MIB * 3 / 2 + 4321),
    ]
}

/// Whether every group of the file has all its internal blocks live, each once, none damaged
/// and none on `excluded`.
fn complete(file: &FsckFile, excluded: Option<&str>) -> bool {
    file.blocks.iter().all(|b| {
        let mut indices = b.live_indices.clone();
        indices.sort();
        indices.dedup();
        b.health == BlockHealth::Healthy as i32
            && indices.len() == b.expected_replicas as usize
            && b.live.len() == indices.len()
            && b.corrupt.is_empty()
            && excluded.is_none_or(|id| b.live.iter().all(|l| l.id != id))
    })
}

/// `(internal block index, worker slot)` of each internal block of group `group` of `path`.
async fn unit_slots(
    c: &ProcessCluster,
    fs: &FileSystem,
    path: &str,
    group: usize,
) -> Vec<(u32, usize)> {
    let (files, _) = fs.fsck(path).await.unwrap();
    let b = &files[0].blocks[group];
    let mut out: Vec<(u32, usize)> = b
        .live_indices
        .iter()
        .zip(&b.live)
        .map(|(i, w)| {
            let slot = c
                .worker_slot(&w.id)
                .unwrap_or_else(|| panic!("no worker {}", w.id));
            (*i, slot)
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_policy_survives_m_killed_workers_and_reconstructs_a_lost_one() {
    let racks: Vec<&str> = (0..15).map(|i| ["/r1", "/r2", "/r3"][i % 3]).collect();
    let mut c = cluster(&racks, |config| {
        config.master.worker_dead_timeout = Duration::from_secs(3);
    })
    .await;
    let fs = c.client().await;
    let mut written = Vec::new();
    for (policy, data_units, _) in POLICIES {
        let (code, _, err) = cli(
            c.master_address(),
            &["fs", "mkdir", "-p", &format!("/{policy}")],
        );
        assert_eq!(code, 0, "{err}");
        let (code, out, err) = cli(
            c.master_address(),
            &["ec", "set", &format!("/{policy}"), policy],
        );
        assert_eq!(code, 0, "{out}{err}");
        for (name, size) in files_for(data_units) {
            let path = format!("/{policy}/{name}");
            let data = pattern(size + data_units, size as usize);
            write(&fs, &path, &data, 0, MIB).await;
            written.push((path, data));
        }
    }
    let (code, out, _) = cli(c.master_address(), &["admin", "fsck", "/", "--blocks"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("RS-10-4-1024k") && out.contains("units=14/14"),
        "{out}"
    );

    // For each policy: kill -9 the workers of m internal blocks of one group (data blocks
    // first, so reads must decode), read every file of the policy, then start them again.
    for (policy, _, parity) in POLICIES {
        let large = format!("/{policy}/large");
        let victims: Vec<usize> = unit_slots(&c, &fs, &large, 0)
            .await
            .into_iter()
            .take(parity as usize)
            .map(|(_, slot)| slot)
            .collect();
        for v in &victims {
            c.kill_worker(*v);
        }
        for (path, data) in written
            .iter()
            .filter(|(p, _)| p.starts_with(&format!("/{policy}/")))
        {
            assert!(
                read(&fs, path).await == *data,
                "{path} with {victims:?} killed"
            );
        }
        for v in &victims {
            c.restart_worker(*v);
        }
        c.wait_ready(15).await;
    }
    // Whatever was rebuilt while they were down, every group ends complete and exactly once.
    wait_for_fsck(
        &fs,
        "/",
        "every group is complete",
        Duration::from_secs(120),
        |f| complete(f, None),
    )
    .await;

    // kill -9 one worker for good: its internal blocks are rebuilt on the other fourteen.
    let victim = unit_slots(&c, &fs, "/RS-10-4-1024k/large", 0).await[0].1;
    let victim_id = c.worker_id(victim);
    c.kill_worker(victim);
    wait_for_fsck(
        &fs,
        "/",
        "every group is reconstructed off the killed worker",
        Duration::from_secs(120),
        |f| complete(f, Some(&victim_id)),
    )
    .await;
    for (path, data) in &written {
        assert!(
            read(&fs, path).await == *data,
            "{path} after reconstruction"
        );
    }
    let (code, out, _) = cli(c.master_address(), &["admin", "fsck", "/"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Degraded block groups:     0"), "{out}");
}

/// Flips bytes in the middle of internal block `unit` of the first group of `path` on disk
/// and returns the worker slot, the internal block's id and its original bytes.
async fn damage_unit(
    c: &ProcessCluster,
    fs: &FileSystem,
    path: &str,
    unit: u32,
) -> (usize, u64, Vec<u8>) {
    let (files, _) = fs.fsck(path).await.unwrap();
    let group = files[0].blocks[0].block.unwrap().id;
    let slot = unit_slots(c, fs, path, 0)
        .await
        .into_iter()
        .find(|(i, _)| *i == unit)
        .unwrap()
        .1;
    let internal = strata_core::BlockId(group).internal(unit as usize).0;
    let file = block_files(&c.worker_dir(slot), internal)
        .pop()
        .unwrap_or_else(|| panic!("no block file of {internal} on worker {slot}"));
    let original = std::fs::read(&file).unwrap();
    let mut damaged = original.clone();
    let middle = damaged.len() / 2;
    for b in &mut damaged[middle..middle + 64] {
        *b ^= 0x5A;
    }
    std::fs::write(&file, &damaged).unwrap();
    (slot, internal, original)
}

/// Waits until the group of `path` is complete again and internal block `internal` holds
/// `original` wherever it now lives.
async fn wait_until_rebuilt(
    c: &ProcessCluster,
    fs: &FileSystem,
    path: &str,
    internal: u64,
    original: &[u8],
) {
    wait_for_fsck(
        fs,
        path,
        "the damaged internal block is rebuilt",
        Duration::from_secs(60),
        |f| {
            complete(f, None)
                && (0..c.worker_count()).all(|s| {
                    block_files(&c.worker_dir(s), internal)
                        .iter()
                        .all(|p| std::fs::read(p).is_ok_and(|bytes| bytes == original))
                })
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_cell_is_detected_by_readers_and_the_scanner_and_rebuilt() {
    let racks: Vec<&str> = (0..DAMAGE_WORKERS)
        .map(|i| ["/r1", "/r2", "/r3"][i % 3])
        .collect();
    let c = cluster(&racks, |config| {
        config.worker.scan_period = Duration::from_secs(3);
    })
    .await;
    let fs = c.client().await;
    for (policy, data_units, _) in POLICIES {
        let dir = format!("/damaged/{policy}");
        fs.mkdirs(&dir, true).await.unwrap();
        fs.set_ec_policy(&dir, policy).await.unwrap();
        let read_data = pattern(21 + data_units, (data_units * MIB + MIB / 2 + 77) as usize);
        let scanned_data = pattern(22 + data_units, (data_units * MIB + 5) as usize);
        let (read_path, scanned_path) = (format!("{dir}/read"), format!("{dir}/scanned"));
        write(&fs, &read_path, &read_data, 0, MIB).await;
        write(&fs, &scanned_path, &scanned_data, 0, MIB).await;

        // A reader meets the damaged data cell, decodes around it and reports it.
        let (_, internal, original) = damage_unit(&c, &fs, &read_path, 1).await;
        assert!(read(&fs, &read_path).await == read_data, "{read_path}");
        wait_until_rebuilt(&c, &fs, &read_path, internal, &original).await;

        // Nobody reads this one: the worker's scanner finds the damaged parity cell.
        let parity = data_units as u32;
        let (_, internal, original) = damage_unit(&c, &fs, &scanned_path, parity).await;
        wait_until_rebuilt(&c, &fs, &scanned_path, internal, &original).await;
        assert!(
            read(&fs, &scanned_path).await == scanned_data,
            "{scanned_path}"
        );
        assert!(read(&fs, &read_path).await == read_data, "{read_path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_writer_of_a_striped_file_is_recovered_to_whole_stripes() {
    let racks: Vec<&str> = (0..5).map(|i| ["/r1", "/r2", "/r3"][i % 3]).collect();
    let c = cluster(&racks, |_| {}).await;
    let fs = c.client().await;
    fs.mkdirs("/ec", false).await.unwrap();
    fs.set_ec_policy("/ec", "RS-3-2-1024k").await.unwrap();
    // Two full groups of 3 MiB, then most of a stripe the writer never finishes.
    let data = pattern(31, (8 * MIB + 5000) as usize);
    let mut put = std::process::Command::new(crate::harness::binary())
        .args([
            "--master",
            c.master_address(),
            "fs",
            "put",
            "--block-size",
            "1MiB",
            "-",
            "/ec/orphan",
        ])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = put.stdin.take().unwrap();
    std::io::Write::write_all(&mut stdin, &data).unwrap();
    std::io::Write::flush(&mut stdin).unwrap();
    strata_testkit::wait_until(
        "the writer has finished two groups",
        Duration::from_secs(30),
        || {
            let fs = fs.clone();
            async move {
                fs.stat("/ec/orphan")
                    .await
                    .is_ok_and(|s| s.length >= 6 * MIB)
            }
        },
    )
    .await;
    put.kill().unwrap();
    put.wait().unwrap();
    drop(stdin);
    strata_testkit::wait_until(
        "lease recovery closes the file",
        Duration::from_secs(60),
        || {
            let fs = fs.clone();
            async move {
                fs.stat("/ec/orphan")
                    .await
                    .is_ok_and(|s| !s.under_construction)
            }
        },
    )
    .await;
    let status = fs.stat("/ec/orphan").await.unwrap();
    assert_eq!(status.ec_policy, "RS-3-2-1024k");
    assert!(
        status.length >= 6 * MIB && status.length % (3 * MIB) == 0,
        "recovered to whole stripes: {}",
        status.length
    );
    let back = read(&fs, "/ec/orphan").await;
    assert!(
        back == data[..back.len()],
        "the recovered file is a prefix of what was written"
    );
    wait_for_fsck(
        &fs,
        "/ec/orphan",
        "every recovered group is complete",
        Duration::from_secs(60),
        |f| complete(f, None),
    )
    .await;
    let mut w = fs.append("/ec/orphan").await.unwrap();
    w.write(b"after recovery").await.unwrap();
    w.close().await.unwrap();
    let mut expected = back.clone();
    expected.extend_from_slice(b"after recovery");
    assert!(read(&fs, "/ec/orphan").await == expected);
}
