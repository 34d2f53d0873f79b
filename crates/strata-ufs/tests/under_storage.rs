//! Under storage against real storage: a local directory and an S3 server (s3s-fs) on
//! loopback.

use bytes::Bytes;
use std::collections::BTreeMap;
use strata_core::Error;
use strata_testkit::S3Server;
use strata_ufs::UnderStorage;

/// Writes, lists, stats, reads ranges and deletes, the same way on any storage.
async fn exercise(ufs: &UnderStorage) {
    ufs.check().await.unwrap();
    let data = Bytes::from(
        (0..300_000u32)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<u8>>(),
    );
    let written = ufs.write("raw/2026/part-0", data.clone()).await.unwrap();
    assert_eq!(written.length, 300_000);
    ufs.write("raw/top.csv", Bytes::from_static(b"a,b\n"))
        .await
        .unwrap();

    let root = ufs.list("").await.unwrap();
    assert_eq!(
        root.iter()
            .map(|o| (o.path.as_str(), o.is_dir))
            .collect::<Vec<_>>(),
        [("raw", true)]
    );
    let raw = ufs.list("raw").await.unwrap();
    let names: Vec<&str> = raw.iter().map(|o| o.path.as_str()).collect();
    assert_eq!(names, ["raw/2026", "raw/top.csv"]);
    assert!(raw[0].is_dir);
    assert_eq!(raw[1].length, 4);
    assert!(raw[1].modified_ms.is_some());

    let part = ufs.stat("/raw/2026/part-0").await.unwrap().unwrap();
    assert_eq!(part.length, 300_000);
    assert!(!part.is_dir);
    assert!(ufs.stat("raw/2026").await.unwrap().unwrap().is_dir);
    assert!(ufs.stat("raw/none").await.unwrap().is_none());

    let range = ufs.read("raw/2026/part-0", 123_456, 1000).await.unwrap();
    assert_eq!(range, data.slice(123_456..124_456));
    let tail = ufs.read("raw/2026/part-0", 299_990, 10).await.unwrap();
    assert_eq!(tail, data.slice(299_990..));
    // Past the end (an object shorter than the namespace says) is an error, never short data.
    assert!(ufs.read("raw/2026/part-0", 299_990, 11).await.is_err());
    assert!(matches!(
        ufs.read("raw/missing", 0, 10).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        ufs.stat("raw/../etc").await,
        Err(Error::InvalidPath { .. })
    ));

    ufs.delete("raw/top.csv").await.unwrap();
    assert!(ufs.stat("raw/top.csv").await.unwrap().is_none());
    ufs.delete("raw/top.csv").await.unwrap();

    // Renames: an object (replacing one), then a whole directory, into places not there yet.
    ufs.write("raw/a.txt", Bytes::from_static(b"a"))
        .await
        .unwrap();
    ufs.write("raw/b.txt", Bytes::from_static(b"old b"))
        .await
        .unwrap();
    ufs.rename("raw/a.txt", "raw/b.txt").await.unwrap();
    assert!(ufs.stat("raw/a.txt").await.unwrap().is_none());
    assert_eq!(&ufs.read("raw/b.txt", 0, 1).await.unwrap()[..], b"a");
    ufs.rename("raw", "moved/raw").await.unwrap();
    // (A HEAD of the old name would tell nothing: s3s-fs answers 500 where a directory was.)
    let root: Vec<String> = ufs
        .list("")
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.path)
        .collect();
    assert_eq!(root, ["moved"]);
    assert_eq!(
        ufs.read("moved/raw/2026/part-0", 0, 300_000).await.unwrap(),
        data
    );
    assert_eq!(
        ufs.stat("moved/raw/b.txt").await.unwrap().unwrap().length,
        1
    );
    assert!(matches!(
        ufs.rename("never-there", "elsewhere").await,
        Err(Error::NotFound { .. })
    ));
    assert!(ufs.rename("", "x").await.is_err());
}

#[tokio::test]
async fn a_local_directory_as_under_storage() {
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("file://{}", dir.path().display());
    let ufs = UnderStorage::open(&uri, &BTreeMap::new()).unwrap();
    exercise(&ufs).await;
    assert!(dir.path().join("moved/raw/2026/part-0").is_file());

    let options = BTreeMap::from([("region".to_string(), "x".to_string())]);
    assert!(matches!(
        UnderStorage::open(&uri, &options),
        Err(Error::InvalidArgument(_))
    ));
    let missing = dir.path().join("not-there");
    let opened = UnderStorage::open(&format!("file://{}", missing.display()), &BTreeMap::new());
    assert!(matches!(opened, Err(Error::UnderStorage { .. })));
    assert!(!missing.exists(), "opening creates nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_bucket_as_under_storage() {
    let server = S3Server::start(&["lake"]).await.unwrap();
    let ufs = UnderStorage::open("s3://lake/tables", &server.mount_options()).unwrap();
    let before = server.requests();
    exercise(&ufs).await;
    assert!(
        server.requests() > before,
        "the requests reached the server"
    );
    assert!(
        server
            .object_path("lake", "tables/moved/raw/2026/part-0")
            .is_file()
    );

    let mut wrong_key = server.mount_options();
    wrong_key.insert("secret_access_key".into(), "wrong".into());
    let refused = UnderStorage::open("s3://lake", &wrong_key).unwrap();
    assert!(matches!(
        refused.check().await,
        Err(Error::UnderStorage { .. })
    ));
    let typo = BTreeMap::from([("endpiont".to_string(), "http://x".to_string())]);
    let error = UnderStorage::open("s3://lake", &typo)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("endpiont") && error.contains("endpoint"),
        "{error}"
    );
}
