//! Namespace rules, determinism of replay, and snapshot round trips.

use super::*;
use proptest::prelude::*;
use strata_core::ttl::TtlAction;
use strata_ec::policy::REPLICATION;
use strata_proto::journal::{self, Entry, entry::Op};

struct Log {
    ns: Namespace,
    entries: Vec<Entry>,
}

impl Log {
    fn new() -> Log {
        Log {
            ns: Namespace::new(),
            entries: Vec::new(),
        }
    }

    fn apply(&mut self, op: Op) -> Result<Outcome> {
        let entry = Entry {
            txid: self.entries.len() as u64 + 1,
            op: Some(op),
        };
        let result = self.ns.apply(&entry);
        self.entries.push(entry);
        result
    }

    fn mkdir(&mut self, path: &str, parents: bool) -> Result<Outcome> {
        self.apply(Op::Mkdir(journal::Mkdir {
            path: path.into(),
            owner: "alice".into(),
            mode: 0o755,
            time: 10,
            create_parents: parents,
            ..Default::default()
        }))
    }

    fn create(&mut self, path: &str, client: &str) -> Result<Outcome> {
        self.apply(Op::CreateFile(journal::CreateFile {
            path: path.into(),
            owner: "alice".into(),
            mode: 0o644,
            time: 20,
            replication: 3,
            block_size: 1 << 20,
            client_name: client.into(),
            ..Default::default()
        }))
    }

    fn inode(&self, path: &str) -> InodeId {
        self.ns.resolve(&StrataPath::parse(path).unwrap()).unwrap()
    }

    fn write_file(&mut self, path: &str, lengths: &[u64]) {
        self.create(path, "c").unwrap();
        let id = self.inode(path);
        let mut previous = None;
        for len in lengths {
            let Outcome::BlockAdded { block, .. } = self
                .apply(Op::AddBlock(journal::AddBlock {
                    inode_id: id.0,
                    client_name: "c".into(),
                    previous,
                }))
                .unwrap()
            else {
                panic!("no block");
            };
            previous = Some(journal::BlockRecord {
                id: block.id.0,
                generation: block.generation,
                length: *len,
                complete: true,
            });
        }
        self.apply(Op::CompleteFile(journal::CompleteFile {
            inode_id: id.0,
            client_name: "c".into(),
            last: previous,
            time: 30,
        }))
        .unwrap();
    }
}

#[test]
fn mkdir_rules() {
    let mut log = Log::new();
    assert!(matches!(log.mkdir("/a/b", false), Err(Error::NotFound { path }) if path == "/a"));
    log.mkdir("/a/b/c", true).unwrap();
    assert!(matches!(
        log.mkdir("/a/b", false),
        Err(Error::AlreadyExists { .. })
    ));
    log.mkdir("/a/b", true).unwrap();
    log.create("/a/f", "c").unwrap();
    assert!(
        matches!(log.mkdir("/a/f/x", true), Err(Error::NotADirectory { path }) if path == "/a/f")
    );
    assert_eq!(log.ns.directory_count(), 4);
    assert_eq!(log.ns.file_count(), 1);
}

#[test]
fn create_write_complete_and_lengths() {
    let mut log = Log::new();
    log.write_file("/f", &[1 << 20, 1 << 20, 5]);
    let status = log
        .ns
        .file_info(&StrataPath::parse("/f").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(status.length, (2 << 20) + 5);
    assert!(!status.under_construction);
    assert_eq!(status.block_count, 3);
    let blocks = log
        .ns
        .file_blocks(&StrataPath::parse("/f").unwrap(), (1 << 20) + 1, 1)
        .unwrap();
    assert_eq!(blocks.blocks.len(), 1);
    assert_eq!(blocks.blocks[0].offset, 1 << 20);
    assert!(matches!(
        log.ns
            .file_blocks(&StrataPath::parse("/f").unwrap(), (2 << 20) + 6, 1),
        Err(Error::PastEndOfFile { .. })
    ));
}

#[test]
fn second_writer_and_overwrite() {
    let mut log = Log::new();
    log.create("/f", "c1").unwrap();
    assert!(
        matches!(log.create("/f", "c2"), Err(Error::LeaseConflict { holder, .. }) if holder == "c1")
    );
    let id = log.inode("/f");
    assert!(matches!(
        log.apply(Op::AddBlock(journal::AddBlock {
            inode_id: id.0,
            client_name: "c2".into(),
            previous: None
        })),
        Err(Error::NoLease { .. })
    ));
    log.apply(Op::CompleteFile(journal::CompleteFile {
        inode_id: id.0,
        client_name: "c1".into(),
        last: None,
        time: 1,
    }))
    .unwrap();
    assert!(matches!(
        log.create("/f", "c2"),
        Err(Error::AlreadyExists { .. })
    ));
    let overwrite = Op::CreateFile(journal::CreateFile {
        path: "/f".into(),
        replication: 1,
        block_size: 4096,
        client_name: "c2".into(),
        overwrite: true,
        ..Default::default()
    });
    assert!(matches!(log.apply(overwrite), Ok(Outcome::Created { .. })));
    assert_eq!(log.ns.file_count(), 1);
}

#[test]
fn rename_rules() {
    let mut log = Log::new();
    log.mkdir("/a/b", true).unwrap();
    log.mkdir("/c", false).unwrap();
    let rename = |s: &str, d: &str| {
        Op::Rename(journal::Rename {
            source: s.into(),
            destination: d.into(),
            time: 5,
            overwrite: false,
            if_destination: None,
        })
    };
    assert!(matches!(
        log.apply(rename("/a", "/a/b/x")),
        Err(Error::InvalidOperation { .. })
    ));
    assert!(matches!(
        log.apply(rename("/a", "/c")),
        Err(Error::AlreadyExists { .. })
    ));
    assert!(matches!(
        log.apply(rename("/a", "/nope/x")),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        log.apply(rename("/", "/z")),
        Err(Error::InvalidOperation { .. })
    ));
    log.apply(rename("/a", "/c/a2")).unwrap();
    assert!(
        log.ns
            .lookup(&StrataPath::parse("/c/a2/b").unwrap())
            .unwrap()
            .is_some()
    );
    assert!(
        log.ns
            .lookup(&StrataPath::parse("/a").unwrap())
            .unwrap()
            .is_none()
    );
}

#[test]
fn delete_rules() {
    let mut log = Log::new();
    log.mkdir("/d/e", true).unwrap();
    log.write_file("/d/e/f", &[100]);
    let delete = |p: &str, r: bool| {
        Op::Delete(journal::Delete {
            path: p.into(),
            recursive: r,
            time: 9,
        })
    };
    assert!(matches!(
        log.apply(delete("/d", false)),
        Err(Error::DirectoryNotEmpty { .. })
    ));
    assert!(matches!(
        log.apply(delete("/", true)),
        Err(Error::InvalidOperation { .. })
    ));
    let Outcome::Deleted {
        existed, blocks, ..
    } = log.apply(delete("/d", true)).unwrap()
    else {
        panic!()
    };
    assert!(existed);
    assert_eq!(blocks.len(), 1);
    assert_eq!(log.ns.block_count(), 0);
    assert_eq!(log.ns.file_count(), 0);
    assert!(matches!(
        log.apply(delete("/d", true)),
        Ok(Outcome::Deleted { existed: false, .. })
    ));
}

#[test]
fn append_reopens_a_partial_last_block() {
    let mut log = Log::new();
    log.write_file("/f", &[1 << 20, 300]);
    let out = log
        .apply(Op::AppendFile(journal::AppendFile {
            path: "/f".into(),
            client_name: "c2".into(),
            time: 50,
        }))
        .unwrap();
    let Outcome::Appending {
        status,
        last_block: Some((block, offset)),
    } = out
    else {
        panic!("{out:?}")
    };
    assert_eq!(offset, 1 << 20);
    assert_eq!(block.length, 300);
    assert_eq!(status.length, (1 << 20) + 300);
    assert!(status.under_construction);
}

#[test]
fn paged_listing_covers_every_entry_once() {
    let mut log = Log::new();
    for i in 0..25 {
        log.mkdir(&format!("/d/{i:03}"), true).unwrap();
    }
    let dir = StrataPath::parse("/d").unwrap();
    let mut seen = Vec::new();
    let mut after = String::new();
    loop {
        let (page, more) = log.ns.list(&dir, &after, 7).unwrap();
        after = page
            .last()
            .map(|s| s.path.rsplit('/').next().unwrap().to_string())
            .unwrap_or_default();
        seen.extend(page.into_iter().map(|s| s.path));
        assert_eq!(
            more,
            25 - seen.len() as u64,
            "the count of entries that follow"
        );
        if more == 0 {
            break;
        }
    }
    assert_eq!(seen.len(), 25);
    assert_eq!(seen[0], "/d/000");
    assert_eq!(seen[24], "/d/024");
}

#[test]
fn ec_policies_are_set_inherited_forced_off_and_survive_a_snapshot() {
    let mut log = Log::new();
    log.mkdir("/cold/keep/deep", true).unwrap();
    let set = |log: &mut Log, path: &str, policy: &str| {
        log.apply(Op::SetEcPolicy(journal::SetEcPolicy {
            path: path.into(),
            policy: policy.into(),
        }))
    };
    set(&mut log, "/cold", "rs-6-3-1024K").unwrap();
    set(&mut log, "/cold/keep", REPLICATION).unwrap();
    assert!(matches!(
        set(&mut log, "/cold", "RS-6-3-999k"),
        Err(Error::InvalidArgument(_))
    ));
    assert!(
        set(&mut log, "/cold", "RS-7-3-1024k").is_err(),
        "an unknown policy must be added first"
    );
    log.apply(Op::AddEcPolicy(journal::AddEcPolicy {
        name: "RS-7-3-256k".into(),
    }))
    .unwrap();
    let layout = |log: &Log, path: &str, requested: &str| {
        log.ns
            .layout_for(&StrataPath::parse(path).unwrap(), requested)
            .unwrap()
            .map(|p| p.name())
    };
    assert_eq!(layout(&log, "/cold/f", ""), Some("RS-6-3-1024k".into()));
    assert_eq!(
        layout(&log, "/cold/new/dir/f", ""),
        Some("RS-6-3-1024k".into())
    );
    assert_eq!(layout(&log, "/cold/keep/deep/f", ""), None);
    assert_eq!(
        layout(&log, "/cold/keep/f", "RS-7-3-256k"),
        Some("RS-7-3-256k".into())
    );
    assert_eq!(layout(&log, "/cold/f", REPLICATION), None);
    assert_eq!(layout(&log, "/f", ""), None);

    // A striped file: replication 1, group ids a stride apart, never reused by plain blocks.
    log.write_file("/cold/striped", &[6 << 20, 1000]);
    log.write_file("/plain", &[4096]);
    let file = |log: &Log, path: &str| {
        log.ns
            .inode(log.inode(path))
            .unwrap()
            .file()
            .unwrap()
            .clone()
    };
    let striped = file(&log, "/cold/striped");
    assert_eq!(striped.ec_policy.as_deref(), Some("RS-6-3-1024k"));
    assert_eq!(striped.replication, 1);
    let ids: Vec<BlockId> = striped.blocks.iter().map(|b| b.id).collect();
    assert!(ids.iter().all(|id| id.is_striped() && id.unit() == 0));
    assert_eq!(ids[1].0 - ids[0].0, BlockId::GROUP_STRIDE);
    assert!(!file(&log, "/plain").blocks[0].id.is_striped());
    let internal = ids[0].internal(4);
    let expected = log.ns.expected_replica(internal).unwrap();
    assert_eq!((expected.id, expected.length), (internal, 1 << 20));
    // A block size that is not a whole number of cells is refused for a striped file.
    let refused = log.apply(Op::CreateFile(journal::CreateFile {
        path: "/cold/odd".into(),
        replication: 3,
        block_size: (1 << 20) + 4096,
        client_name: "c".into(),
        ..Default::default()
    }));
    assert!(
        matches!(refused, Err(Error::InvalidArgument(_))),
        "{refused:?}"
    );

    let header = log.ns.image_header();
    let restored = Namespace::from_image(&header, log.ns.image_records()).unwrap();
    assert_eq!(restored, log.ns);
    assert!(restored.ec_policy("RS-7-3-256k").is_some());
    let mut replayed = Namespace::new();
    for entry in &log.entries {
        let _ = replayed.apply(entry);
    }
    assert_eq!(replayed, log.ns);
}

#[test]
fn rename_with_overwrite_replaces_a_file_atomically() {
    let mut log = Log::new();
    log.write_file("/old", &[100, 200]);
    log.write_file("/new", &[50]);
    let old_blocks: Vec<BlockId> = log
        .ns
        .inode(log.inode("/old"))
        .unwrap()
        .file()
        .unwrap()
        .blocks
        .iter()
        .map(|b| b.id)
        .collect();
    let rename = |log: &mut Log, overwrite, if_destination| {
        log.apply(Op::Rename(journal::Rename {
            source: "/new".into(),
            destination: "/old".into(),
            time: 40,
            overwrite,
            if_destination,
        }))
    };
    assert!(matches!(
        rename(&mut log, false, None),
        Err(Error::AlreadyExists { .. })
    ));
    let old = log
        .ns
        .file_info(&StrataPath::parse("/old").unwrap())
        .unwrap()
        .unwrap();
    let version = |modification_time, length| {
        Some(journal::FileVersion {
            modification_time,
            length,
        })
    };
    // A destination that changed since the caller read it is kept.
    for changed in [
        version(old.modification_time + 1, old.length),
        version(old.modification_time, old.length + 1),
    ] {
        assert!(matches!(
            rename(&mut log, true, changed),
            Err(Error::InvalidOperation { .. })
        ));
    }
    let unchanged = version(old.modification_time, old.length);
    let Outcome::Renamed { replaced } = rename(&mut log, true, unchanged).unwrap() else {
        panic!("not renamed");
    };
    let replaced: Vec<BlockId> = replaced.iter().map(|b| b.id).collect();
    assert_eq!(replaced, old_blocks);
    let status = log
        .ns
        .file_info(&StrataPath::parse("/old").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(status.length, 50);
    assert!(
        log.ns
            .lookup(&StrataPath::parse("/new").unwrap())
            .unwrap()
            .is_none()
    );
    // A directory is never replaced.
    log.mkdir("/dir", false).unwrap();
    log.write_file("/new", &[1]);
    let refused = log.apply(Op::Rename(journal::Rename {
        source: "/new".into(),
        destination: "/dir".into(),
        time: 41,
        overwrite: true,
        if_destination: None,
    }));
    assert!(
        matches!(refused, Err(Error::IsADirectory { .. })),
        "{refused:?}"
    );
}

#[derive(Debug, Clone)]
enum Action {
    Mkdir(u8, u8),
    Create(u8, u8),
    Rename(u8, u8, u8, u8),
    Delete(u8, u8, bool),
    Write(u8, u8, u8),
    SetEc(u8, u8),
    Concat(u8, u8, u8, u8),
    Truncate(u8, u8, u16),
}

fn path_for(dir: u8, name: u8) -> String {
    format!("/d{}/n{}", dir % 3, name % 4)
}

fn arb_action() -> impl Strategy<Value = Action> {
    prop_oneof![
        (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Action::Mkdir(a, b)),
        (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Action::Create(a, b)),
        (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>())
            .prop_map(|(a, b, c, d)| Action::Rename(a, b, c, d)),
        (any::<u8>(), any::<u8>(), any::<bool>()).prop_map(|(a, b, r)| Action::Delete(a, b, r)),
        (any::<u8>(), any::<u8>(), 0u8..4).prop_map(|(a, b, n)| Action::Write(a, b, n)),
        (any::<u8>(), any::<u8>()).prop_map(|(a, p)| Action::SetEc(a, p)),
        (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>())
            .prop_map(|(a, b, c, d)| Action::Concat(a, b, c, d)),
        (any::<u8>(), any::<u8>(), any::<u16>()).prop_map(|(a, b, l)| Action::Truncate(a, b, l)),
    ]
}

proptest! {
    #[test]
    fn replay_and_snapshot_reproduce_the_namespace(actions in proptest::collection::vec(arb_action(), 1..60)) {
        let mut log = Log::new();
        for action in actions {
            let _ = match action {
                Action::Mkdir(d, n) => log.mkdir(&path_for(d, n), true),
                Action::Create(d, n) => log.create(&path_for(d, n), "c"),
                Action::Rename(d, n, d2, n2) => log.apply(Op::Rename(journal::Rename {
                    source: path_for(d, n),
                    destination: path_for(d2, n2),
                    time: 1,
                    overwrite: false,
                    if_destination: None,
                })),
                Action::Delete(d, n, r) => log.apply(Op::Delete(journal::Delete {
                    path: path_for(d, n),
                    recursive: r,
                    time: 2,
                })),
                Action::Write(d, n, blocks) => {
                    let p = path_for(d, n);
                    if log.ns.lookup(&StrataPath::parse(&p).unwrap()).ok().flatten().is_none()
                        && log.mkdir(&format!("/d{}", d % 3), true).is_ok()
                    {
                        log.write_file(&p, &vec![4096; blocks as usize]);
                    }
                    Ok(Outcome::Done)
                }
                Action::SetEc(d, p) => log.apply(Op::SetEcPolicy(journal::SetEcPolicy {
                    path: format!("/d{}", d % 3),
                    policy: ["RS-3-2-1024k", "XOR-2-1-1024k", "REPLICATION", ""][p as usize % 4].into(),
                })),
                Action::Concat(d, n, d2, n2) => log.apply(Op::Concat(journal::Concat {
                    target: path_for(d, n),
                    sources: vec![path_for(d2, n2)],
                    time: 3,
                })),
                // Block-aligned lengths succeed without a tail; others are refused.
                Action::Truncate(d, n, length) => log.apply(Op::Truncate(journal::Truncate {
                    path: path_for(d, n),
                    new_length: u64::from(length % 4) * 4096 + u64::from(length % 7 == 0),
                    time: 4,
                    ..Default::default()
                })),
            };
        }
        let mut replayed = Namespace::new();
        for entry in &log.entries {
            let _ = replayed.apply(entry);
        }
        prop_assert_eq!(&replayed, &log.ns);
        let header = log.ns.image_header();
        let restored = Namespace::from_image(&header, log.ns.image_records()).unwrap();
        prop_assert_eq!(&restored, &log.ns);
    }
}

#[test]
fn a_directory_of_a_million_entries_lists_page_by_page() {
    let mut ns = Namespace::new();
    let mkdir = |path: String, txid| Entry {
        txid,
        op: Some(Op::Mkdir(journal::Mkdir {
            path,
            time: 1,
            ..Default::default()
        })),
    };
    ns.apply(&mkdir("/big".into(), 1)).unwrap();
    for i in 0..1_000_000u64 {
        ns.apply(&mkdir(format!("/big/{i:07}"), i + 2)).unwrap();
    }
    let dir = StrataPath::parse("/big").unwrap();
    let (mut seen, mut pages, mut after) = (0u64, 0, String::new());
    loop {
        let (page, more) = ns.list(&dir, &after, 1000).unwrap();
        assert!(page.len() <= 1000);
        if let Some(first) = page.first() {
            assert_eq!(
                first.path,
                format!("/big/{seen:07}"),
                "pages continue where the last ended"
            );
        }
        seen += page.len() as u64;
        pages += 1;
        after = page
            .last()
            .and_then(|s| s.path.rsplit('/').next())
            .unwrap_or_default()
            .to_string();
        assert_eq!(more, 1_000_000 - seen);
        if more == 0 {
            break;
        }
    }
    assert_eq!(seen, 1_000_000);
    assert_eq!(pages, 1000);
}

mod attributes;
mod concat;
mod mounts;
