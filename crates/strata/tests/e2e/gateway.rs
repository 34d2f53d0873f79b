//! The S3 faces as a user starts them: `strata local` serves S3 with the key pair it prints,
//! and `strata gateway` serves the same cluster with the keys of its configuration.

use crate::cli::{interrupt, start_local, wait_ready};
use crate::harness::binary;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Runs a Python snippet with boto3 and a client `s3` of `endpoint` signed with `key`;
/// its standard output, or a panic with everything it printed.
fn boto3(endpoint: &str, key: (&str, &str), snippet: &str) -> String {
    let script = format!(
        "import boto3\ns3 = boto3.client('s3', endpoint_url='{endpoint}', region_name='us-east-1', \
         aws_access_key_id='{}', aws_secret_access_key='{}')\n{snippet}\n",
        key.0, key.1
    );
    let output = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 (scripts/test.sh installs boto3): {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{snippet}\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strata_local_and_strata_gateway_serve_s3() {
    let dir = tempfile::tempdir().unwrap();
    let (mut local, master, s3) = start_local(&dir.path().join("data"), 1);
    wait_ready(&master).await;
    let local_key = ("strata", "strata-local-secret");
    boto3(
        &s3,
        local_key,
        "s3.create_bucket(Bucket='demo')\n\
         s3.put_object(Bucket='demo', Key='hello/world.txt', Body=b'hi from s3')",
    );
    let cat = Command::new(binary())
        .args(["--master", &master, "fs", "cat", "/demo/hello/world.txt"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&cat.stdout), "hi from s3");

    let config = dir.path().join("gateway.toml");
    std::fs::write(
        &config,
        "[gateway]\ns3_listen = \"127.0.0.1:0\"\n\
         s3_keys = [{ access_key = \"team\", secret_key = \"team-secret\" }]\n",
    )
    .unwrap();
    let mut gateway = Command::new(binary())
        .arg("--config")
        .arg(&config)
        .args(["--master", &master, "gateway"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let first = BufReader::new(gateway.stdout.take().unwrap())
        .lines()
        .next()
        .expect("strata gateway exited early")
        .unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {first:?}"))
        .to_string();
    let listed = boto3(
        &url,
        ("team", "team-secret"),
        "print([o['Key'] for o in s3.list_objects_v2(Bucket='demo')['Contents']])\n\
         print(s3.get_object(Bucket='demo', Key='hello/world.txt')['Body'].read())",
    );
    assert_eq!(listed, "['hello/world.txt']\nb'hi from s3'\n");
    // The gateway knows only its own keys.
    let refused = boto3(
        &url,
        local_key,
        "try:\n    s3.list_buckets()\nexcept Exception as e:\n    print(type(e).__name__)",
    );
    assert_eq!(refused.trim(), "ClientError");
    assert_eq!(interrupt(&mut gateway), 0);
    assert_eq!(interrupt(&mut local), 0);
}
