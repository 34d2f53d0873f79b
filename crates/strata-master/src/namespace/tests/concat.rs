//! Concatenation and truncation: blocks move to the target in order, sources and tails
//! vanish, blocks past a new end are dropped, and only closed replicated files outside mounts
//! take part.

use super::*;

fn concat(log: &mut Log, target: &str, sources: &[&str]) -> Result<Outcome> {
    log.apply(Op::Concat(journal::Concat {
        target: target.into(),
        sources: sources.iter().map(|s| s.to_string()).collect(),
        time: 99,
    }))
}

fn block_ids(log: &Log, path: &str) -> Vec<BlockId> {
    let id = log.inode(path);
    let file = log.ns.inode(id).unwrap().file().unwrap();
    file.blocks.iter().map(|b| b.id).collect()
}

#[test]
fn blocks_move_to_the_target_in_order_and_the_sources_vanish() {
    let mut log = Log::new();
    log.mkdir("/parts", false).unwrap();
    log.write_file("/parts/1", &[1 << 20, 300]);
    log.write_file("/parts/2", &[700]);
    log.write_file("/parts/3", &[]);
    log.write_file("/parts/4", &[1 << 20, 5]);
    let mut expected = block_ids(&log, "/parts/1");
    for part in ["/parts/2", "/parts/3", "/parts/4"] {
        expected.extend(block_ids(&log, part));
    }
    let moved_blocks: Vec<BlockId> = expected[2..].to_vec();
    let outcome = concat(&mut log, "/parts/1", &["/parts/2", "/parts/3", "/parts/4"]).unwrap();
    assert_eq!(outcome, Outcome::ReplicationChanged(moved_blocks.clone()));
    assert_eq!(block_ids(&log, "/parts/1"), expected);
    let path = StrataPath::parse("/parts/1").unwrap();
    let status = log.ns.file_info(&path).unwrap().unwrap();
    assert_eq!(status.length, (2 << 20) + 300 + 700 + 5);
    assert_eq!(status.modification_time, 99);
    // Offsets follow each block's own length, short blocks in the middle included.
    let found = log.ns.file_blocks(&path, 0, u64::MAX).unwrap();
    let offsets: Vec<u64> = found.blocks.iter().map(|b| b.offset).collect();
    assert_eq!(
        offsets,
        vec![
            0,
            1 << 20,
            (1 << 20) + 300,
            (1 << 20) + 1000,
            (2 << 20) + 1000
        ]
    );
    assert_eq!(log.ns.file_count(), 1);
    for block in moved_blocks {
        assert_eq!(log.ns.owner_of(block), Some(log.inode("/parts/1")));
    }
    for gone in ["/parts/2", "/parts/3", "/parts/4"] {
        assert!(
            log.ns
                .lookup(&StrataPath::parse(gone).unwrap())
                .unwrap()
                .is_none()
        );
    }
    let header = log.ns.image_header();
    let restored = Namespace::from_image(&header, log.ns.image_records()).unwrap();
    assert_eq!(restored, log.ns);
}

#[test]
fn open_striped_mounted_missing_or_repeated_files_are_refused() {
    let mut log = Log::new();
    log.write_file("/a", &[10]);
    log.write_file("/b", &[10]);
    log.create("/open", "writer").unwrap();
    assert!(matches!(
        concat(&mut log, "/a", &["/open"]),
        Err(Error::LeaseConflict { .. })
    ));
    assert!(matches!(
        concat(&mut log, "/a", &["/none"]),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        concat(&mut log, "/a", &["/b", "/b"]),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        concat(&mut log, "/a", &["/a"]),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        concat(&mut log, "/a", &[]),
        Err(Error::InvalidArgument(_))
    ));
    log.mkdir("/dir", false).unwrap();
    assert!(matches!(
        concat(&mut log, "/a", &["/dir"]),
        Err(Error::IsADirectory { .. })
    ));
    log.mkdir("/ec", false).unwrap();
    log.apply(Op::SetEcPolicy(journal::SetEcPolicy {
        path: "/ec".into(),
        policy: "RS-3-2-1024k".into(),
    }))
    .unwrap();
    log.write_file("/ec/f", &[]);
    let striped = concat(&mut log, "/a", &["/ec/f"]);
    assert!(
        matches!(striped, Err(Error::InvalidOperation { .. })),
        "{striped:?}"
    );
    log.apply(Op::AddMount(journal::AddMount {
        path: "/lake".into(),
        uri: "file:///srv/lake".into(),
        write_type: "MUST_CACHE".into(),
        time: 20,
        ..Default::default()
    }))
    .unwrap();
    log.write_file("/lake/f", &[10]);
    assert!(matches!(
        concat(&mut log, "/lake/f", &["/b"]),
        Err(Error::InvalidOperation { .. })
    ));
    // Nothing moved on any refusal.
    assert_eq!(block_ids(&log, "/a").len(), 1);
    assert_eq!(block_ids(&log, "/b").len(), 1);
}

fn truncate(log: &mut Log, path: &str, new_length: u64, tail: &str) -> Result<Outcome> {
    log.apply(Op::Truncate(journal::Truncate {
        path: path.into(),
        new_length,
        tail: tail.into(),
        time: 77,
        if_version: None,
    }))
}

fn length_of(log: &Log, path: &str) -> u64 {
    let path = StrataPath::parse(path).unwrap();
    log.ns.file_info(&path).unwrap().unwrap().length
}

#[test]
fn truncate_drops_whole_blocks_and_replaces_the_cut_one_with_its_tail() {
    let mut log = Log::new();
    log.write_file("/f", &[1000, 1000, 1000]);
    let blocks = block_ids(&log, "/f");
    // On a block boundary: the blocks past it go, nothing else is needed.
    let Outcome::Truncated { dropped, moved } = truncate(&mut log, "/f", 2000, "").unwrap() else {
        panic!("not a truncation outcome");
    };
    assert_eq!(
        dropped.iter().map(|b| b.id).collect::<Vec<_>>(),
        vec![blocks[2]]
    );
    assert!(moved.is_empty());
    assert_eq!(log.ns.owner_of(blocks[2]), None);
    assert_eq!(length_of(&log, "/f"), 2000);
    // Inside a block: that block is replaced by the tail's, in one step.
    log.write_file("/tail", &[500]);
    let tail_block = block_ids(&log, "/tail");
    let Outcome::Truncated { dropped, moved } = truncate(&mut log, "/f", 1500, "/tail").unwrap()
    else {
        panic!("not a truncation outcome");
    };
    assert_eq!(
        dropped.iter().map(|b| b.id).collect::<Vec<_>>(),
        vec![blocks[1]]
    );
    assert_eq!(moved, tail_block);
    assert_eq!(block_ids(&log, "/f"), vec![blocks[0], tail_block[0]]);
    assert_eq!(log.ns.owner_of(tail_block[0]), Some(log.inode("/f")));
    assert_eq!(length_of(&log, "/f"), 1500);
    assert!(
        log.ns
            .lookup(&StrataPath::parse("/tail").unwrap())
            .unwrap()
            .is_none()
    );
    let status = log
        .ns
        .file_info(&StrataPath::parse("/f").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(status.modification_time, 77);
    // To zero, and to the same length.
    truncate(&mut log, "/f", 1500, "").unwrap();
    assert_eq!(length_of(&log, "/f"), 1500);
    truncate(&mut log, "/f", 0, "").unwrap();
    assert_eq!(length_of(&log, "/f"), 0);
    assert!(block_ids(&log, "/f").is_empty());
    let header = log.ns.image_header();
    let restored = Namespace::from_image(&header, log.ns.image_records()).unwrap();
    assert_eq!(restored, log.ns);
}

#[test]
fn truncate_refuses_growth_missing_or_wrong_tails_and_changed_files() {
    let mut log = Log::new();
    log.write_file("/f", &[1000, 1000]);
    log.write_file("/tail", &[300]);
    let refusals = [
        truncate(&mut log, "/f", 2001, ""),
        truncate(&mut log, "/f", 1500, ""),
        truncate(&mut log, "/f", 1500, "/tail"),
        truncate(&mut log, "/f", 1300, "/f"),
    ];
    for refused in refusals {
        assert!(
            matches!(refused, Err(Error::InvalidArgument(_))),
            "{refused:?}"
        );
    }
    let changed = log.apply(Op::Truncate(journal::Truncate {
        path: "/f".into(),
        new_length: 1000,
        if_version: Some(journal::FileVersion {
            modification_time: 12345,
            length: 2000,
        }),
        ..Default::default()
    }));
    assert!(
        matches!(changed, Err(Error::InvalidOperation { .. })),
        "{changed:?}"
    );
    log.create("/open", "writer").unwrap();
    assert!(matches!(
        truncate(&mut log, "/open", 0, ""),
        Err(Error::LeaseConflict { .. })
    ));
    // Nothing changed on any refusal.
    assert_eq!(length_of(&log, "/f"), 2000);
    assert_eq!(length_of(&log, "/tail"), 300);
}
