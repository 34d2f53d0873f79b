//! Per-inode attributes: times to live and extended attributes.

use super::*;

#[test]
fn ttls_count_from_creation_expire_once_and_survive_a_snapshot() {
    let mut log = Log::new();
    log.mkdir("/tmp/job", true).unwrap(); // created at 10
    log.write_file("/tmp/job/part-0", &[100]); // created at 20
    log.write_file("/keep", &[100]);
    let set_ttl = |log: &mut Log, path: &str, ttl_ms: i64, action: &str| {
        log.apply(Op::SetTtl(journal::SetTtl {
            path: path.into(),
            ttl_ms,
            action: action.into(),
        }))
    };
    set_ttl(&mut log, "/tmp/job", 1_000, "delete").unwrap();
    set_ttl(&mut log, "/tmp/job/part-0", 500, "FREE").unwrap();
    set_ttl(&mut log, "/keep", 100, "DELETE").unwrap();
    assert!(set_ttl(&mut log, "/", 100, "DELETE").is_err());
    assert!(set_ttl(&mut log, "/keep", -1, "DELETE").is_err());
    assert!(set_ttl(&mut log, "/keep", 100, "EVICT").is_err());
    assert!(matches!(
        set_ttl(&mut log, "/missing", 100, "DELETE"),
        Err(Error::NotFound { .. })
    ));
    set_ttl(&mut log, "/keep", 0, "").unwrap();

    let expired = |log: &Log, now: i64| -> Vec<(String, TtlAction)> {
        log.ns
            .expired(now)
            .into_iter()
            .map(|e| (e.path.to_string(), e.action))
            .collect()
    };
    assert!(expired(&log, 519).is_empty());
    assert_eq!(
        expired(&log, 520),
        [("/tmp/job/part-0".to_string(), TtlAction::Free)]
    );
    assert_eq!(expired(&log, 1_010).len(), 2, "the directory too");
    let status = log
        .ns
        .file_info(&StrataPath::parse("/tmp/job").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            status.creation_time,
            status.ttl_ms,
            status.ttl_action.as_str()
        ),
        (10, 1_000, "DELETE")
    );

    let header = log.ns.image_header();
    let restored = Namespace::from_image(&header, log.ns.image_records()).unwrap();
    assert_eq!(restored, log.ns);

    log.apply(Op::Rename(journal::Rename {
        source: "/tmp/job".into(),
        destination: "/tmp/moved".into(),
        time: 60,
        ..Default::default()
    }))
    .unwrap();
    assert_eq!(
        expired(&log, 1_010),
        [
            ("/tmp/moved".to_string(), TtlAction::Delete),
            ("/tmp/moved/part-0".to_string(), TtlAction::Free)
        ],
        "TTLs move along"
    );
    log.apply(Op::Delete(journal::Delete {
        path: "/tmp/moved".into(),
        recursive: true,
        time: 70,
    }))
    .unwrap();
    assert!(
        expired(&log, i64::MAX).is_empty(),
        "deleted inodes are forgotten"
    );
    let mut replayed = Namespace::new();
    for entry in &log.entries {
        let _ = replayed.apply(entry);
    }
    assert_eq!(replayed, log.ns);
}

#[test]
fn xattrs_keep_hdfs_rules_and_survive_a_snapshot() {
    let mut log = Log::new();
    log.write_file("/f", &[10]);
    let set = |log: &mut Log, name: &str, value: &[u8], create: bool, replace: bool| {
        log.apply(Op::SetXAttr(journal::SetXAttr {
            path: "/f".into(),
            name: name.into(),
            value: value.to_vec(),
            create,
            replace,
            remove: false,
        }))
    };
    set(&mut log, "user.a", b"1", true, false).unwrap();
    assert!(matches!(
        set(&mut log, "user.a", b"2", true, false),
        Err(Error::AlreadyExists { .. })
    ));
    set(&mut log, "user.a", b"2", false, true).unwrap();
    assert!(matches!(
        set(&mut log, "user.b", b"2", false, true),
        Err(Error::NotFound { .. })
    ));
    for bad in ["a", "user.", "system.x", "USER.x"] {
        assert!(matches!(
            set(&mut log, bad, b"v", false, false),
            Err(Error::InvalidArgument(_))
        ));
    }
    assert!(set(&mut log, "user.big", &vec![0; 16 * 1024], false, false).is_err());
    for i in 0..31 {
        set(&mut log, &format!("trusted.n{i}"), b"", false, false).unwrap();
    }
    assert!(matches!(
        set(&mut log, "user.33rd", b"", false, false),
        Err(Error::InvalidOperation { .. })
    ));
    set(&mut log, "user.a", b"3", false, false).unwrap();
    let remove = log.apply(Op::SetXAttr(journal::SetXAttr {
        path: "/f".into(),
        name: "user.none".into(),
        remove: true,
        ..Default::default()
    }));
    assert!(matches!(remove, Err(Error::NotFound { .. })));
    let path = StrataPath::parse("/f").unwrap();
    let xattrs = log.ns.xattrs(&path).unwrap();
    assert_eq!((xattrs.len(), xattrs["user.a"].as_slice()), (32, &b"3"[..]));

    let header = log.ns.image_header();
    let restored = Namespace::from_image(&header, log.ns.image_records()).unwrap();
    assert_eq!(restored, log.ns);
}
