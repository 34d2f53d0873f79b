//! The S3 and WebHDFS faces as a user starts them: `strata local` serves S3 with the key pair
//! it prints and WebHDFS on the master's HTTP port, and `strata gateway` serves the same
//! cluster with the keys of its configuration and a WebHDFS endpoint of its own.

use crate::cli::{Local, interrupt, start_local, wait_ready};
use crate::harness::binary;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Runs a Python script (with the clients `scripts/test.sh` installs); its standard output,
/// or a panic with everything it printed.
fn python(script: &str) -> String {
    let output = Command::new("python3")
        .args(["-c", script])
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 (scripts/test.sh installs it): {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{script}\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Runs a Python snippet with boto3 and a client `s3` of `endpoint` signed with `key`.
fn boto3(endpoint: &str, key: (&str, &str), snippet: &str) -> String {
    python(&format!(
        "import boto3\ns3 = boto3.client('s3', endpoint_url='{endpoint}', region_name='us-east-1', \
         aws_access_key_id='{}', aws_secret_access_key='{}')\n{snippet}\n",
        key.0, key.1
    ))
}

/// Runs a Python snippet with `requests` (HdfsCLI's HTTP library) imported.
fn requests(snippet: &str) -> String {
    python(&format!("import requests\n{snippet}\n"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strata_local_and_strata_gateway_serve_s3_and_webhdfs() {
    let dir = tempfile::tempdir().unwrap();
    let Local {
        child: mut local,
        master,
        s3,
        webhdfs,
        ..
    } = start_local(&dir.path().join("data"), 1);
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
    // WebHDFS on the master's HTTP port reads it, redirected to the worker's HTTP port.
    let read = requests(&format!(
        "step = requests.get('{webhdfs}/demo/hello/world.txt?op=OPEN', allow_redirects=False)\n\
         assert step.status_code == 307 and not step.headers['Location'].startswith('{webhdfs}')\n\
         print(requests.get(step.headers['Location']).text)"
    ));
    assert_eq!(read, "hi from s3\n");

    let config = dir.path().join("gateway.toml");
    std::fs::write(
        &config,
        "[gateway]\ns3_listen = \"127.0.0.1:0\"\nwebhdfs_listen = \"127.0.0.1:0\"\n\
         s3_keys = [{ access_key = \"team\", secret_key = \"team-secret\" }]\n\
         [table]\nthrift_listen = \"127.0.0.1:0\"\n",
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
    let (mut gateway_s3, mut gateway_webhdfs) = (String::new(), String::new());
    for line in BufReader::new(gateway.stdout.take().unwrap())
        .lines()
        .take(4)
    {
        let line = line.unwrap();
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("s3"), Some(url)) => gateway_s3 = url.to_string(),
            (Some("webhdfs"), Some(url)) => gateway_webhdfs = url.to_string(),
            _ => {}
        }
    }
    assert!(gateway_s3.starts_with("http://") && gateway_webhdfs.starts_with("http://"));
    let listed = boto3(
        &gateway_s3,
        ("team", "team-secret"),
        "print([o['Key'] for o in s3.list_objects_v2(Bucket='demo')['Contents']])\n\
         print(s3.get_object(Bucket='demo', Key='hello/world.txt')['Body'].read())",
    );
    assert_eq!(listed, "['hello/world.txt']\nb'hi from s3'\n");
    // The gateway knows only its own keys.
    let refused = boto3(
        &gateway_s3,
        local_key,
        "try:\n    s3.list_buckets()\nexcept Exception as e:\n    print(type(e).__name__)",
    );
    assert_eq!(refused.trim(), "ClientError");
    // The gateway's WebHDFS writes through the workers of `strata local` too.
    let written = requests(&format!(
        "assert requests.put('{gateway_webhdfs}/demo/via-gateway.txt?op=CREATE&user.name=eve', \
         data=b'from webhdfs').status_code == 201\n\
         status = requests.get('{webhdfs}/demo/via-gateway.txt?op=GETFILESTATUS').json()\n\
         print(status['FileStatus']['owner'], status['FileStatus']['length'])"
    ));
    assert_eq!(written, "eve 12\n");
    let cat = Command::new(binary())
        .args(["--master", &master, "fs", "cat", "/demo/via-gateway.txt"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&cat.stdout), "from webhdfs");
    assert_eq!(interrupt(&mut gateway), 0);
    assert_eq!(interrupt(&mut local), 0);
}
