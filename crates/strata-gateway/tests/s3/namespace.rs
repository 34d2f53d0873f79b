//! One tree, two faces: objects put over S3 are files for every Strata client, files written
//! by Strata clients are objects, and an object's ETag and headers survive a master restart.

use crate::Gateway;
use strata_client::CreateOptions;
use strata_gateway::s3::SYSTEM_DIR;
use strata_gateway::s3::object_meta::{OBJECT_XATTR, ObjectMeta};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_are_files_and_files_are_objects() {
    let mut gateway = Gateway::start().await;
    let fs = gateway.cluster.client().await;
    gateway
        .python(
            "s3.create_bucket(Bucket='shared')\n\
             s3.put_object(Bucket='shared', Key='logs/2026/day.txt', Body=b'from s3', \
             ContentType='text/plain')",
        )
        .await;
    let read = fs
        .read_range("/shared/logs/2026/day.txt", 0, 100)
        .await
        .unwrap();
    assert_eq!(read, b"from s3");
    let xattrs = fs.xattrs("/shared/logs/2026/day.txt").await.unwrap();
    let meta: ObjectMeta = serde_json::from_slice(&xattrs[OBJECT_XATTR]).unwrap();
    assert_eq!(meta.etag, "4a95bb3d31b11c2570623555f00d4657");
    assert_eq!(meta.headers.content_type.as_deref(), Some("text/plain"));
    // Nothing of the staging area shows as a bucket, and nothing is left in it.
    let staged = fs
        .list(&format!("{SYSTEM_DIR}/staging"))
        .collect()
        .await
        .unwrap();
    assert!(staged.is_empty(), "{staged:?}");

    let mut writer = fs
        .create("/shared/native.bin", CreateOptions::default())
        .await
        .unwrap();
    writer.write(b"written natively").await.unwrap();
    writer.close().await.unwrap();
    let listed = gateway
        .python(
            "print(sorted(b['Name'] for b in s3.list_buckets()['Buckets']))\n\
             for o in s3.list_objects_v2(Bucket='shared')['Contents']:\n    \
             print(o['Key'], o['Size'], o['ETag'])\n\
             print(s3.get_object(Bucket='shared', Key='native.bin')['Body'].read())",
        )
        .await;
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines[0], "['shared']", "{listed}");
    assert_eq!(
        lines[1], "logs/2026/day.txt 7 \"4a95bb3d31b11c2570623555f00d4657\"",
        "{listed}"
    );
    // A file no S3 client wrote has an ETag of its own that no client mistakes for an MD5.
    assert!(lines[2].starts_with("native.bin 16 \""), "{listed}");
    assert!(lines[2].ends_with("-1\""), "{listed}");
    assert_eq!(lines[3], "b'written natively'", "{listed}");

    // An append by another face changes the bytes: the stored MD5 no longer applies.
    let mut more = fs.append("/shared/logs/2026/day.txt").await.unwrap();
    more.write(b", appended").await.unwrap();
    more.close().await.unwrap();
    let etag = gateway
        .python("print(s3.head_object(Bucket='shared', Key='logs/2026/day.txt')['ETag'])")
        .await;
    assert!(etag.trim().ends_with("-1\""), "{etag}");

    gateway.cluster.restart_master().await.unwrap();
    gateway.cluster.wait_ready().await;
    gateway.endpoint = Gateway::endpoint(&gateway.cluster).await;
    gateway
        .python(
            "s3.put_object(Bucket='shared', Key='after', Body=b'x', ContentType='a/b')\n\
             h = s3.head_object(Bucket='shared', Key='after')\n\
             assert h['ContentType'] == 'a/b', h\n\
             assert h['ETag'] == '\"9dd4e461268c8034f5c8564e155c67a6\"', h\n\
             assert s3.get_object(Bucket='shared', Key='native.bin')['Body'].read() \
             == b'written natively'",
        )
        .await;
    let restarted = gateway.cluster.client().await;
    let meta: ObjectMeta =
        serde_json::from_slice(&restarted.xattrs("/shared/after").await.unwrap()[OBJECT_XATTR])
            .unwrap();
    assert_eq!(meta.etag, "9dd4e461268c8034f5c8564e155c67a6");
    gateway.cluster.shutdown().await;
}
