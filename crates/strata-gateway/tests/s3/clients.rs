//! boto3 and the aws CLI, unchanged, against the S3 endpoint (the scripts in
//! `tests/clients/` hold the checks; each prints `ok ...` per group).

use crate::Gateway;
use crate::common::{client_script, passed_groups};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_works_unchanged() {
    let gateway = Gateway::start().await;
    let output = gateway
        .run("python3", &[&client_script("s3_boto3.py")])
        .await;
    let passed = passed_groups(&output);
    assert_eq!(passed.len(), 8, "{passed:?}");
    assert!(
        passed
            .iter()
            .any(|g| g.starts_with("ok multipart upload of 100 MiB")),
        "{passed:?}"
    );
    gateway.cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_cli_works_unchanged() {
    let gateway = Gateway::start().await;
    let output = gateway.run("bash", &[&client_script("s3_awscli.sh")]).await;
    assert_eq!(passed_groups(&output).len(), 7);
    gateway.cluster.shutdown().await;
}
