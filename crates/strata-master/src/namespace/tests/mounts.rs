//! Mounts and files persisted in under storage.

use super::*;

#[test]
fn a_persisted_file_moves_only_within_its_mount_and_never_grows() {
    let mut log = Log::new();
    log.apply(Op::AddMount(journal::AddMount {
        path: "/lake".into(),
        uri: "file:///srv/lake".into(),
        write_type: "CACHE_THROUGH".into(),
        time: 20,
        ..Default::default()
    }))
    .unwrap();
    log.write_file("/lake/kept", &[100]);
    log.write_file("/lake/loose", &[10]);
    let id = log.inode("/lake/kept");
    log.apply(Op::SetPersisted(journal::SetPersisted {
        inode_id: id.0,
        length: 100,
        modification_time: log.ns.inode(id).unwrap().mtime,
        fingerprint: Some(journal::UfsFingerprint {
            length: 100,
            ..Default::default()
        }),
        time: 40,
    }))
    .unwrap();
    let rename = |log: &mut Log, source: &str, destination: &str| {
        log.apply(Op::Rename(journal::Rename {
            source: source.into(),
            destination: destination.into(),
            time: 50,
            ..Default::default()
        }))
    };
    let out = rename(&mut log, "/lake/kept", "/kept").unwrap_err();
    assert!(out.to_string().contains("outside the mount"), "{out}");
    rename(&mut log, "/lake/kept", "/lake/renamed").unwrap();
    assert!(log.ns.holds_persisted(log.inode("/lake")).unwrap());
    // Not in under storage, a file may leave the mount.
    rename(&mut log, "/lake/loose", "/loose").unwrap();
    let grow = log.apply(Op::AppendFile(journal::AppendFile {
        path: "/lake/renamed".into(),
        client_name: "c2".into(),
        time: 60,
    }));
    assert!(matches!(grow, Err(Error::InvalidOperation { .. })));
}

#[test]
fn mounts_create_their_point_never_nest_and_survive_a_snapshot() {
    let mut log = Log::new();
    log.mkdir("/data", false).unwrap();
    let mount = |log: &mut Log, path: &str, write_type: &str| {
        log.apply(Op::AddMount(journal::AddMount {
            path: path.into(),
            uri: "s3://lake/raw".into(),
            options: [("region".to_string(), "eu-west-1".to_string())].into(),
            sync_interval_ms: 60_000,
            write_type: write_type.into(),
            owner: "alice".into(),
            time: 30,
            ..Default::default()
        }))
    };
    mount(&mut log, "/data/lake", "CACHE_THROUGH").unwrap();
    assert!(
        log.ns
            .inode(log.inode("/data/lake"))
            .unwrap()
            .is_directory()
    );
    let at = |log: &Log, path: &str| {
        log.ns
            .mount_of(&StrataPath::parse(path).unwrap())
            .map(|m| m.path.clone())
    };
    assert_eq!(at(&log, "/data/lake/x/y.csv"), Some("/data/lake".into()));
    assert_eq!(at(&log, "/data"), None);
    assert_eq!(at(&log, "/data/lakes"), None);
    // No mount inside a mount, over an existing path, at the root, or with a bad write type.
    assert!(mount(&mut log, "/data/lake/inner", "THROUGH").is_err());
    assert!(matches!(
        mount(&mut log, "/data", "THROUGH"),
        Err(Error::AlreadyExists { .. })
    ));
    assert!(mount(&mut log, "/", "THROUGH").is_err());
    assert!(matches!(
        mount(&mut log, "/other", "SOMETIMES"),
        Err(Error::InvalidArgument(_))
    ));
    // The mount point, or a directory holding it, is neither renamed nor deleted.
    let rename = |log: &mut Log, source: &str| {
        log.apply(Op::Rename(journal::Rename {
            source: source.into(),
            destination: "/moved".into(),
            time: 40,
            ..Default::default()
        }))
    };
    assert!(matches!(
        rename(&mut log, "/data/lake"),
        Err(Error::InvalidOperation { .. })
    ));
    assert!(rename(&mut log, "/data").is_err());
    let delete = |log: &mut Log, path: &str| {
        log.apply(Op::Delete(journal::Delete {
            path: path.into(),
            recursive: true,
            time: 41,
        }))
    };
    assert!(matches!(
        delete(&mut log, "/data"),
        Err(Error::InvalidOperation { .. })
    ));
    log.write_file("/data/lake/cached", &[100]);

    let header = log.ns.image_header();
    let restored = Namespace::from_image(&header, log.ns.image_records()).unwrap();
    assert_eq!(restored, log.ns);
    assert_eq!(restored.mounts()[0].options["region"], "eu-west-1");

    let Outcome::Deleted { blocks, .. } = log
        .apply(Op::RemoveMount(journal::RemoveMount {
            path: "/data/lake".into(),
            time: 50,
        }))
        .unwrap()
    else {
        panic!("unmount deletes");
    };
    assert_eq!(blocks.len(), 1, "the cached file's block goes");
    assert!(log.ns.mounts().is_empty());
    assert!(
        log.ns
            .lookup(&StrataPath::parse("/data/lake").unwrap())
            .unwrap()
            .is_none()
    );
    assert!(
        log.apply(Op::RemoveMount(journal::RemoveMount {
            path: "/data".into(),
            time: 51,
        }))
        .is_err()
    );
    delete(&mut log, "/data").unwrap();
    let mut replayed = Namespace::new();
    for entry in &log.entries {
        let _ = replayed.apply(entry);
    }
    assert_eq!(replayed, log.ns);
}
