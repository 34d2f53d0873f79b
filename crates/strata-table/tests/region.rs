//! A region on a real Strata cluster (in-process master and workers): HBase's write and read
//! semantics, flushes to SSTables, and reopening after a server "died" holding the region's
//! log (its writer fenced by lease recovery, its edits replayed).

use bytes::Bytes;
use std::sync::Arc;
use strata_client::FileSystem;
use strata_table::cell::Cell;
use strata_table::error::Error;
use strata_table::filter::CompareOp;
use strata_table::mutation::{
    Change, CheckAndMutate, Durability, Mutation, Nonce, ReadModifyWrite,
};
use strata_table::read::Scan;
use strata_table::region::{IoBudget, OpenRegion, Region, RegionInfo, RegionSettings, Shared};
use strata_table::schema::{FamilyDescriptor, TableDescriptor, TableName};
use strata_table::sstable::BlockCache;
use strata_testkit::{MiniCluster, fast_config, wait_until};

async fn cluster() -> MiniCluster {
    MiniCluster::start(fast_config(), &["/r1", "/r2", "/r1"])
        .await
        .unwrap()
}

fn open_spec(settings: RegionSettings) -> OpenRegion {
    let mut a = FamilyDescriptor::new("a");
    a.max_versions = 3;
    let mut b = FamilyDescriptor::new("b");
    b.compression = strata_table::schema::Compression::Lz4;
    OpenRegion {
        info: RegionInfo {
            table: TableName::parse("t").unwrap(),
            name: "r0".to_string(),
            start: Bytes::new(),
            end: Bytes::from_static(b"zzz"),
        },
        descriptor: TableDescriptor {
            name: TableName::parse("t").unwrap(),
            families: vec![a, b],
        },
        root: "/strata-table".to_string(),
        settings,
    }
}

async fn open(fs: &FileSystem, settings: RegionSettings) -> Arc<Region> {
    let shared = Shared {
        cache: Arc::new(BlockCache::new(8 << 20)),
        io_budget: Arc::new(IoBudget::new(0)),
    };
    Region::open(fs.clone(), open_spec(settings), shared)
        .await
        .unwrap()
}

fn values(cells: &[Cell]) -> Vec<(String, i64, String)> {
    cells
        .iter()
        .map(|c| {
            (
                String::from_utf8_lossy(&c.column()).into_owned(),
                c.timestamp,
                String::from_utf8_lossy(&c.value).into_owned(),
            )
        })
        .collect()
}

async fn get(region: &Region, row: &str, versions: u32) -> Vec<(String, i64, String)> {
    let mut scan = Scan::get(Bytes::copy_from_slice(row.as_bytes()));
    scan.max_versions = versions;
    values(&region.get(scan).await.unwrap())
}

fn put(row: &str, family: &str, q: &str, ts: i64, v: &str) -> Mutation {
    Mutation::new(row.as_bytes().to_vec()).put(
        family.as_bytes().to_vec(),
        q.as_bytes().to_vec(),
        Some(ts),
        v.as_bytes().to_vec(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_and_reads_follow_hbase_semantics_across_flushes() {
    let c = cluster().await;
    let fs = c.client().await;
    let region = open(&fs, RegionSettings::default()).await;
    for ts in 1..=4 {
        region
            .mutate(put("r1", "a", "x", ts, &format!("v{ts}")))
            .await
            .unwrap();
    }
    region.mutate(put("r1", "b", "y", 1, "b1")).await.unwrap();
    assert_eq!(
        get(&region, "r1", 10).await,
        vec![
            ("a:x".into(), 4, "v4".into()),
            ("a:x".into(), 3, "v3".into()),
            ("a:x".into(), 2, "v2".into()),
            ("b:y".into(), 1, "b1".into()),
        ],
        "family a keeps 3 versions, and reads ask for at most that"
    );
    assert!(region.flush().await.unwrap());
    assert!(!region.flush().await.unwrap(), "nothing left to flush");
    assert_eq!(region.stores()[0].file_count(), 1);
    // A version delete without a timestamp deletes the newest version.
    region
        .mutate(Mutation::new(&b"r1"[..]).delete_version(&b"a"[..], &b"x"[..], None))
        .await
        .unwrap();
    assert_eq!(
        get(&region, "r1", 1).await[0],
        ("a:x".into(), 3, "v3".into())
    );
    region
        .mutate(Mutation::new(&b"r1"[..]).delete_column(&b"a"[..], &b"x"[..], Some(2)))
        .await
        .unwrap();
    assert_eq!(
        get(&region, "r1", 10).await,
        vec![
            ("a:x".into(), 3, "v3".into()),
            ("b:y".into(), 1, "b1".into())
        ]
    );
    region.flush().await.unwrap();
    region
        .mutate(Mutation::new(&b"r1"[..]).delete_row(None))
        .await
        .unwrap();
    assert!(
        get(&region, "r1", 10).await.is_empty(),
        "the whole row is gone"
    );
    region.mutate(put("r1", "a", "x", 9, "back")).await.unwrap();
    assert!(
        get(&region, "r1", 1).await.is_empty(),
        "a put older than the row delete stays masked, as in HBase"
    );

    let counter = |delta| ReadModifyWrite {
        row: Bytes::from_static(b"c"),
        columns: vec![(
            Bytes::from_static(b"a"),
            Bytes::from_static(b"n"),
            Change::Increment(delta),
        )],
        durability: Durability::UseDefault,
        nonce: None,
    };
    region.read_modify_write(counter(5)).await.unwrap();
    let cells = region.read_modify_write(counter(-2)).await.unwrap();
    assert_eq!(&cells[0].value[..], &3i64.to_be_bytes());
    region
        .mutate(put("c", "a", "s", 1, "not a counter"))
        .await
        .unwrap();
    let bad = ReadModifyWrite {
        columns: vec![(
            Bytes::from_static(b"a"),
            Bytes::from_static(b"s"),
            Change::Increment(1),
        )],
        ..counter(0)
    };
    assert!(matches!(
        region.read_modify_write(bad).await,
        Err(Error::InvalidRequest(_))
    ));
    let append = ReadModifyWrite {
        columns: vec![(
            Bytes::from_static(b"a"),
            Bytes::from_static(b"s"),
            Change::Append(Bytes::from_static(b"!")),
        )],
        ..counter(0)
    };
    let cells = region.read_modify_write(append).await.unwrap();
    assert_eq!(&cells[0].value[..], b"not a counter!");

    let check = |value: Option<&'static [u8]>, op| CheckAndMutate {
        family: Bytes::from_static(b"a"),
        qualifier: Bytes::from_static(b"lock"),
        op,
        value: value.map(Bytes::from_static),
        mutation: put("c", "a", "lock", 5, "held"),
    };
    assert!(
        region
            .check_and_mutate(check(None, CompareOp::Equal))
            .await
            .unwrap()
    );
    assert!(
        !region
            .check_and_mutate(check(None, CompareOp::Equal))
            .await
            .unwrap()
    );
    assert!(
        region
            .check_and_mutate(check(Some(b"held"), CompareOp::Equal))
            .await
            .unwrap()
    );

    let long_row = Mutation::new(vec![b'r'; 40_000]).put(&b"a"[..], &b"q"[..], None, &b"v"[..]);
    assert!(matches!(
        region.mutate(long_row).await,
        Err(Error::InvalidRequest(_))
    ));
    let unknown = put("r2", "nope", "q", 1, "v");
    assert!(matches!(
        region.mutate(unknown).await,
        Err(Error::NoSuchFamily { .. })
    ));
    let outside = put("zzzz", "a", "q", 1, "v");
    assert!(matches!(
        region.mutate(outside).await,
        Err(Error::NotServingRegion { .. })
    ));
    let big = Mutation::new(&b"r3"[..]).put(&b"a"[..], &b"q"[..], None, vec![0u8; 11 << 20]);
    assert!(matches!(
        region.mutate(big).await,
        Err(Error::InvalidRequest(_))
    ));
    region.close().await.unwrap();
    assert!(
        region.mutate(put("r1", "a", "x", 1, "v")).await.is_err(),
        "closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_whose_server_died_reopens_with_every_acknowledged_edit() {
    let c = cluster().await;
    let first_server = c.client().await;
    let small = RegionSettings {
        flush_size: 64 << 10,
        ..RegionSettings::default()
    };
    let region = open(&first_server, small.clone()).await;
    let mut written = Vec::new();
    for i in 0..600 {
        let row = format!("row{i:04}");
        let durability = if i % 3 == 0 {
            Durability::FsyncWal
        } else {
            Durability::SyncWal
        };
        region
            .mutate(
                put(&row, "a", "q", 1, &format!("value {i} {}", "x".repeat(100)))
                    .with_durability(durability),
            )
            .await
            .unwrap();
        written.push(row);
    }
    // Wait for the background flushes the size started, then write some more that only
    // the log holds.
    wait_until(
        "the memstore is flushed by size",
        std::time::Duration::from_secs(30),
        || {
            let region = region.clone();
            async move { region.stores()[0].file_count() >= 1 && region.memstore_size() < 64 << 10 }
        },
    )
    .await;
    for i in 600..650 {
        let row = format!("row{i:04}");
        region.mutate(put(&row, "b", "q", 1, "tail")).await.unwrap();
        written.push(row);
    }
    // An increment whose answer the client "never got": it retries with the same nonce.
    let nonce = Nonce::random();
    let increment = |nonce| ReadModifyWrite {
        row: Bytes::from_static(b"zcounter"),
        columns: vec![(
            Bytes::from_static(b"a"),
            Bytes::from_static(b"n"),
            Change::Increment(7),
        )],
        durability: Durability::SyncWal,
        nonce: Some(nonce),
    };
    let first = region.read_modify_write(increment(nonce)).await.unwrap();
    let again = region.read_modify_write(increment(nonce)).await.unwrap();
    assert_eq!(first, again, "a retry is answered, not applied");
    assert_eq!(&again[0].value[..], &7i64.to_be_bytes());
    written.push("zcounter".to_string());
    // The server "dies": its region is never closed, its log stays open under its lease.
    std::mem::forget(region);

    let second_server = c.client().await;
    let reopened = open(&second_server, small).await;
    let mut scanner = reopened.scanner(Scan::default()).unwrap();
    let mut rows = Vec::new();
    while let Some(cells) = scanner.next().await.unwrap() {
        rows.push(String::from_utf8_lossy(&cells[0].row).into_owned());
        assert_eq!(cells.len(), 1);
    }
    assert_eq!(rows, written, "every acknowledged row, each once");
    let retried = reopened.read_modify_write(increment(nonce)).await.unwrap();
    assert_eq!(
        &retried[0].value[..],
        &7i64.to_be_bytes(),
        "the replayed log still knows the increment was applied"
    );
    let next = (reopened.read_modify_write(increment(Nonce::random())).await).unwrap();
    assert_eq!(&next[0].value[..], &14i64.to_be_bytes());
    assert_eq!(
        get(&reopened, "row0640", 1).await,
        vec![("b:q".into(), 1, "tail".into())]
    );
    let logs = second_server
        .list("/strata-table/data/default/t/r0/wal")
        .collect()
        .await
        .unwrap();
    assert_eq!(
        logs.len(),
        1,
        "replayed logs are deleted once flushed: {logs:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_mutation_is_seen_whole_or_not_at_all() {
    let c = cluster().await;
    let fs = c.client().await;
    let region = open(&fs, RegionSettings::default()).await;
    let writer = {
        let region = region.clone();
        tokio::spawn(async move {
            for i in 0..300 {
                let v = format!("{i}");
                let m = Mutation::new(&b"row"[..])
                    .put(&b"a"[..], &b"q"[..], Some(i), v.clone().into_bytes())
                    .put(&b"b"[..], &b"q"[..], Some(i), v.into_bytes());
                region.mutate(m).await.unwrap();
                if i % 100 == 50 {
                    region.flush().await.unwrap();
                }
            }
        })
    };
    let mut seen = 0;
    while !writer.is_finished() {
        let cells = region.get(Scan::get(&b"row"[..])).await.unwrap();
        if cells.is_empty() {
            continue;
        }
        assert_eq!(cells.len(), 2, "{cells:?}");
        assert_eq!(
            cells[0].value, cells[1].value,
            "both families from the same mutation"
        );
        seen += 1;
    }
    writer.await.unwrap();
    assert!(seen > 0);
}

/// The `.sst` files of family `a` in Strata.
async fn family_files(fs: &FileSystem) -> Vec<String> {
    let mut paths: Vec<String> = fs
        .list("/strata-table/data/default/t/r0/a")
        .collect()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.path)
        .collect();
    paths.sort();
    paths
}

async fn all_rows(region: &Region, versions: u32) -> Vec<Vec<(String, i64, String)>> {
    let scan = Scan {
        max_versions: versions,
        ..Scan::default()
    };
    let mut scanner = region.scanner(scan).unwrap();
    let mut rows = Vec::new();
    while let Some(cells) = scanner.next().await.unwrap() {
        rows.push(values(&cells));
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compactions_merge_files_and_major_ones_drop_what_reads_never_see() {
    let c = cluster().await;
    let fs = c.client().await;
    let region = open(&fs, RegionSettings::default()).await;
    for round in 0..4i64 {
        for i in 0..50 {
            let row = format!("row{i:03}");
            region
                .mutate(put(&row, "a", "q", round + 1, &format!("r{round}")))
                .await
                .unwrap();
        }
        region.flush().await.unwrap();
    }
    region
        .mutate(Mutation::new(&b"row007"[..]).delete_row(Some(10)))
        .await
        .unwrap();
    region
        .mutate(Mutation::new(&b"row008"[..]).delete_column(&b"a"[..], &b"q"[..], Some(2)))
        .await
        .unwrap();
    region.flush().await.unwrap();
    assert_eq!(region.stores()[0].file_count(), 5);
    let before = all_rows(&region, 3).await;
    assert_eq!(before.len(), 49, "row007 is deleted");

    assert!(region.compact(false).await.unwrap());
    assert!(
        region.stores()[0].file_count() < 5,
        "a minor compaction merged files"
    );
    assert_eq!(all_rows(&region, 3).await, before);

    // A scanner open across the major compaction keeps reading the files it started on.
    let mut open_scanner = region.scanner(Scan::default()).unwrap();
    let first = open_scanner.next().await.unwrap().unwrap();
    assert!(region.compact(true).await.unwrap());
    assert_eq!(region.stores()[0].file_count(), 1);
    let mut later = 1;
    while open_scanner.next().await.unwrap().is_some() {
        later += 1;
    }
    assert_eq!((later, first.len()), (49, 1));
    drop(open_scanner);
    assert_eq!(
        all_rows(&region, 3).await,
        before,
        "a major compaction changes no read"
    );
    let info = region.stores()[0].view().files[0].info().clone();
    assert!(info.major);
    assert_eq!(info.delete_markers, 0, "markers are gone");
    assert_eq!(
        info.cells,
        48 * 3 + 2,
        "3 versions kept per row, 2 of row008"
    );
    region.compact(true).await.unwrap();
    assert_eq!(
        family_files(&fs).await.len(),
        1,
        "compacted-away files are deleted"
    );
    assert!(
        !region.compact(true).await.unwrap(),
        "one major file is compacted already"
    );
}
