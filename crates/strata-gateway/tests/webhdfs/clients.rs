//! HdfsCLI and Hadoop's FsShell, unchanged, against the WebHDFS face (the scripts in
//! `tests/clients/` hold the checks; each prints `ok ...` per group).

use crate::WebHdfs;
use crate::common::{client_script, passed_groups};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hdfscli_works_unchanged() {
    let webhdfs = WebHdfs::start().await;
    // A directory larger than one LISTSTATUS_BATCH.
    let fs = webhdfs.cluster.client().await;
    for i in 0..1200 {
        fs.mkdirs(&format!("/many/d{i:04}"), true).await.unwrap();
    }
    let output = webhdfs
        .run("python3", &[&client_script("webhdfs_hdfscli.py")])
        .await;
    assert_eq!(passed_groups(&output).len(), 6);
    webhdfs.cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hadoop_fsshell_works_unchanged() {
    let webhdfs = WebHdfs::start().await;
    let output = webhdfs
        .run("bash", &[&client_script("webhdfs_fsshell.sh")])
        .await;
    assert_eq!(passed_groups(&output).len(), 6);
    webhdfs.cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spark_counts_words_through_webhdfs() {
    let webhdfs = WebHdfs::start().await;
    let output = webhdfs
        .run("python3", &[&client_script("webhdfs_spark_wordcount.py")])
        .await;
    assert_eq!(passed_groups(&output).len(), 1);
    // The job's output committed: part files and the _SUCCESS marker, no temporaries left.
    let fs = webhdfs.cluster.client().await;
    let names: Vec<String> = (fs.list("/spark/out").collect().await.unwrap().iter())
        .map(|s| s.path.rsplit('/').next().unwrap().to_string())
        .collect();
    assert!(names.contains(&"_SUCCESS".to_string()), "{names:?}");
    assert!(
        names
            .iter()
            .all(|n| n == "_SUCCESS" || n.starts_with("part-")),
        "{names:?}"
    );
    webhdfs.cluster.shutdown().await;
}
