//! The namespace as a client sees it: every kind of bad request gets a clear, typed error that
//! names the path; attributes are recorded; listings page; changes survive a master restart.

use strata_client::{CreateOptions, FileSystem, SafeModeAction, XAttrSetFlag};
use strata_core::Error;
use strata_testkit::{MiniCluster, fast_config, pattern};

async fn touch(fs: &FileSystem, path: &str) {
    fs.create(path, CreateOptions::default())
        .await
        .unwrap()
        .close()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_typed_errors_naming_the_path() {
    let cluster = MiniCluster::start(fast_config(), &["/r1"]).await.unwrap();
    let fs = cluster.client().await;
    fs.mkdirs("/d/sub", true).await.unwrap();
    touch(&fs, "/d/file").await;
    let long = format!("/d/{}", "x".repeat(256));
    for bad in ["relative", "/d/../x", "/d//x", "/d/a\0b", long.as_str()] {
        assert!(
            matches!(fs.mkdirs(bad, true).await, Err(Error::InvalidPath { .. })),
            "{bad:?}"
        );
        assert!(
            matches!(fs.stat(bad).await, Err(Error::InvalidPath { .. })),
            "{bad:?}"
        );
    }
    assert_eq!(
        fs.mkdirs("/none/x", false).await,
        Err(Error::NotFound {
            path: "/none".into()
        })
    );
    assert_eq!(
        fs.mkdirs("/d/file/x", true).await,
        Err(Error::NotADirectory {
            path: "/d/file".into()
        })
    );
    assert_eq!(
        fs.mkdirs("/d/sub", false).await,
        Err(Error::AlreadyExists {
            path: "/d/sub".into()
        })
    );
    assert!(matches!(
        fs.create("/d/file", CreateOptions::default()).await,
        Err(Error::AlreadyExists { path }) if path == "/d/file"
    ));
    assert!(matches!(
        fs.create("/d/sub", CreateOptions { overwrite: true, ..Default::default() }).await,
        Err(Error::IsADirectory { path }) if path == "/d/sub"
    ));
    assert!(
        matches!(fs.rename("/d", "/d/sub/d").await, Err(Error::InvalidOperation { path, .. }) if path == "/d/sub/d")
    );
    assert_eq!(
        fs.delete("/d", false).await,
        Err(Error::DirectoryNotEmpty { path: "/d".into() })
    );
    assert!(
        matches!(fs.open("/d/sub").await, Err(Error::IsADirectory { path }) if path == "/d/sub")
    );
    assert!(
        matches!(fs.read_range("/d/file", 1, 1).await, Err(Error::PastEndOfFile { path, .. }) if path == "/d/file")
    );
    assert_eq!(fs.delete("/missing", true).await, Ok(false));
    assert!(matches!(
        fs.set_replication("/d/file", 0).await,
        Err(Error::InvalidArgument(_))
    ));

    let first = fs
        .create("/d/open", CreateOptions::default())
        .await
        .unwrap();
    let other = cluster.client().await;
    assert!(matches!(
        other.create("/d/open", CreateOptions { overwrite: true, ..Default::default() }).await,
        Err(Error::LeaseConflict { path, holder }) if path == "/d/open" && holder == fs.client_name()
    ));
    assert!(matches!(
        other.append("/d/open").await,
        Err(Error::LeaseConflict { .. })
    ));
    first.close().await.unwrap();
    other
        .append("/d/open")
        .await
        .unwrap()
        .close()
        .await
        .unwrap();
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attributes_listings_and_renames_are_recorded_and_durable() {
    let mut config = fast_config();
    config.master.list_page_size = 100;
    let mut cluster = MiniCluster::start(config, &["/r1", "/r2"]).await.unwrap();
    let fs = cluster.client().await;
    fs.mkdirs("/big", false).await.unwrap();
    for i in 0..350 {
        fs.mkdirs(&format!("/big/{i:04}"), false).await.unwrap();
    }
    let all = fs.list("/big").collect().await.unwrap();
    assert_eq!(all.len(), 350);
    assert!(
        all.windows(2).all(|w| w[0].path < w[1].path),
        "pages come in name order"
    );
    let (page, more) = fs.list_page("/big", "", 1000).await.unwrap();
    assert_eq!(page.len(), 100, "pages are capped by the master");
    assert!(more);

    let data = pattern(1, 700_000);
    let mut w = fs
        .create(
            "/f",
            CreateOptions {
                replication: 2,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    w.write(&data).await.unwrap();
    w.close().await.unwrap();
    fs.set_permission("/f", 0o600).await.unwrap();
    fs.set_owner("/f", "alice", "analysts").await.unwrap();
    fs.set_times("/f", 1_000_000, 2_000_000).await.unwrap();
    fs.set_xattr("/f", "user.etag", b"abc", XAttrSetFlag::Create)
        .await
        .unwrap();
    fs.set_xattr("/f", "user.gone", b"x", XAttrSetFlag::CreateOrReplace)
        .await
        .unwrap();
    fs.remove_xattr("/f", "user.gone").await.unwrap();
    let again = fs
        .set_xattr("/f", "user.etag", b"d", XAttrSetFlag::Create)
        .await;
    assert!(
        matches!(again, Err(Error::AlreadyExists { .. })),
        "{again:?}"
    );
    let unnamed = fs.set_xattr("/f", "etag", b"d", XAttrSetFlag::Create).await;
    assert!(
        matches!(unnamed, Err(Error::InvalidArgument(_))),
        "{unnamed:?}"
    );
    fs.mkdirs("/moved/into", true).await.unwrap();
    fs.rename("/f", "/moved/into/g").await.unwrap();
    fs.rename("/big", "/moved/big").await.unwrap();
    let summary = fs.content_summary("/moved").await.unwrap();
    assert_eq!(
        (summary.file_count, summary.directory_count, summary.length),
        (1, 353, 700_000)
    );
    assert_eq!(summary.space_consumed, 1_400_000);

    cluster.restart_master().await.unwrap();
    let fs = cluster.client().await;
    let s = fs.stat("/moved/into/g").await.unwrap();
    assert_eq!(
        (s.mode, s.owner.as_str(), s.group.as_str()),
        (0o600, "alice", "analysts")
    );
    assert_eq!(
        (s.modification_time, s.access_time, s.replication),
        (1_000_000, 2_000_000, 2)
    );
    assert_eq!(
        fs.xattrs("/moved/into/g").await.unwrap(),
        [("user.etag".to_string(), b"abc".to_vec())].into()
    );
    assert_eq!(fs.list("/moved/big").collect().await.unwrap().len(), 350);
    assert!(
        fs.open("/moved/into/g")
            .await
            .unwrap()
            .read_to_end()
            .await
            .unwrap()
            == data
    );
    assert!(fs.try_stat("/f").await.unwrap().is_none());
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn safe_mode_refuses_changes_until_left() {
    let cluster = MiniCluster::start(fast_config(), &["/r1"]).await.unwrap();
    let fs = cluster.client().await;
    assert!(fs.safe_mode(SafeModeAction::Enter).await.unwrap().on);
    assert!(matches!(
        fs.mkdirs("/x", false).await,
        Err(Error::SafeMode { .. })
    ));
    assert!(fs.stat("/").await.is_ok(), "reads still work in safe mode");
    assert!(!fs.safe_mode(SafeModeAction::Leave).await.unwrap().on);
    fs.mkdirs("/x", false).await.unwrap();
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_changes_share_journal_syncs() {
    let cluster = MiniCluster::start(fast_config(), &["/r1"]).await.unwrap();
    let fs = cluster.client().await;
    let stats = cluster.master().state().journal.stats();
    let before_syncs = stats.syncs.load(std::sync::atomic::Ordering::Relaxed);
    let before_entries = stats.entries.load(std::sync::atomic::Ordering::Relaxed);
    let mut tasks = Vec::new();
    for t in 0..32 {
        let fs = fs.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..20 {
                fs.mkdirs(&format!("/g/{t}/{i}"), true).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let syncs = stats.syncs.load(std::sync::atomic::Ordering::Relaxed) - before_syncs;
    let entries = stats.entries.load(std::sync::atomic::Ordering::Relaxed) - before_entries;
    assert_eq!(entries, 640);
    assert!(
        syncs < entries,
        "group commit: {syncs} fsyncs for {entries} entries"
    );
    cluster.shutdown().await;
}
