//! boto3 and the aws CLI, unchanged, against the S3 endpoint (the scripts in
//! `tests/clients/` hold the checks; each prints `ok ...` per group).

use crate::{Gateway, client_script};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_works_unchanged() {
    let gateway = Gateway::start().await;
    let output = gateway
        .run("python3", &[&client_script("s3_boto3.py")])
        .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        8,
        "{stdout}"
    );
    assert!(
        stdout.contains("ok multipart upload of 100 MiB"),
        "{stdout}"
    );
    gateway.cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_cli_works_unchanged() {
    let gateway = Gateway::start().await;
    let output = gateway.run("bash", &[&client_script("s3_awscli.sh")]).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok ")).count(),
        7,
        "{stdout}"
    );
    gateway.cluster.shutdown().await;
}
