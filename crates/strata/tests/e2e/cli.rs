//! The command line as a user types it: `strata local`, `strata fs`, `strata admin`, with exit
//! codes and messages a shell script can rely on.

use crate::harness::{binary, cli};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use strata_testkit::{pattern, wait_until};

/// A running `strata local` and the addresses it printed.
pub(crate) struct Local {
    pub child: Child,
    pub master: String,
    pub s3: String,
    pub webhdfs: String,
    /// What it printed to its terminal's stdout (the banner).
    pub banner: Vec<String>,
    /// Where its stderr goes.
    pub stderr: std::path::PathBuf,
}

/// Starts `strata local` with `workers` workers in `dir`. The workers' default MEM tiers go to
/// `dir`'s sibling `shm`, not to the machine's /dev/shm; S3 and HTTP listen on free ports;
/// stderr goes to the sibling `local-stderr.log`.
pub(crate) fn start_local(dir: &std::path::Path, workers: usize) -> Local {
    start_local_with(dir, workers, "")
}

/// Like [`start_local`], with `extra` TOML added to the configuration file.
pub(crate) fn start_local_with(dir: &std::path::Path, workers: usize, extra: &str) -> Local {
    let parent = dir.parent().unwrap();
    let config = parent.join("strata-local.toml");
    let memory_dir = parent.join("shm");
    let stderr = parent.join("local-stderr.log");
    std::fs::create_dir_all(&memory_dir).unwrap();
    std::fs::write(
        &config,
        format!(
            "{extra}\n[worker]\nmemory_dir = {:?}\n",
            memory_dir.to_str().unwrap()
        ),
    )
    .unwrap();
    let mut child = Command::new(binary())
        .arg("--config")
        .arg(&config)
        .args([
            "local",
            "--workers",
            &workers.to_string(),
            "--listen",
            "127.0.0.1:0",
            "--s3-listen",
            "127.0.0.1:0",
            "--http-listen",
            "127.0.0.1:0",
            "--table-master-listen",
            "127.0.0.1:0",
            "--thrift-listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut master, mut s3, mut banner) = (String::new(), String::new(), Vec::new());
    let webhdfs = loop {
        let line = lines.next().expect("strata local exited early").unwrap();
        banner.push(line.clone());
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("master"), Some(address)) => master = address.to_string(),
            (Some("s3"), Some(url)) => s3 = url.to_string(),
            (Some("webhdfs"), Some(url)) => break url.to_string(),
            _ => {}
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Local {
        child,
        master,
        s3,
        webhdfs,
        banner,
        stderr,
    }
}

pub(crate) fn interrupt(child: &mut Child) -> i32 {
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-INT", &pid]).status();
    child.wait().unwrap().code().unwrap_or(-1)
}

pub(crate) async fn wait_ready(master: &str) {
    let master = master.to_string();
    wait_until(
        "strata local is out of safe mode",
        Duration::from_secs(30),
        || {
            let master = master.clone();
            async move {
                let (code, out, _) = cli(&master, &["admin", "safemode", "get"]);
                code == 0 && out.contains("OFF")
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_cluster_serves_the_cli_and_keeps_files_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let local_file = dir.path().join("input.bin");
    let data = pattern(3, 3_000_000);
    std::fs::write(&local_file, &data).unwrap();
    let input = local_file.to_str().unwrap();

    let Local {
        child: mut local,
        master,
        stderr,
        ..
    } = start_local(&dir.path().join("data"), 3);
    wait_ready(&master).await;
    let run = |args: &[&str]| cli(&master, args);
    assert_eq!(run(&["fs", "mkdir", "-p", "/demo/sub"]).0, 0);
    assert_eq!(run(&["fs", "put", input, "/demo/"]).0, 0);
    let (code, out, _) = run(&["fs", "ls", "/demo"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("Found 2 items") && out.contains("/demo/input.bin") && out.contains("3000000"),
        "{out}"
    );
    for args in [
        &["fs", "ls", "-R", "/"][..],
        &["fs", "cat", "/demo/input.bin"],
    ] {
        let mut reader_gone = Command::new(binary())
            .args(["--master", &master])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(reader_gone.stdout.take());
        let output = reader_gone.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() && stderr.is_empty(),
            "{args:?} into a closed pipe ends quietly: {:?} {stderr}",
            output.status
        );
    }
    let by_env = Command::new(binary())
        .args(["fs", "test", "-f", "/demo/input.bin"])
        .env("STRATA_MASTER", &master)
        .status()
        .unwrap();
    assert!(by_env.success(), "STRATA_MASTER selects the master");
    let (code, out, _) = run(&["fs", "stat", "--json", "/demo/input.bin"]);
    assert_eq!(code, 0);
    let stat: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(stat["length"], 3_000_000);
    assert_eq!(stat["replication"], 3);
    let back = dir.path().join("back.bin");
    assert_eq!(
        run(&["fs", "get", "/demo/input.bin", back.to_str().unwrap()]).0,
        0
    );
    assert!(std::fs::read(&back).unwrap() == data);
    assert_eq!(run(&["fs", "test", "-f", "/demo/input.bin"]).0, 0);
    assert_eq!(run(&["fs", "test", "-d", "/demo/input.bin"]).0, 1);
    assert_eq!(run(&["fs", "test", "-e", "/demo/none"]).0, 1);
    let (code, out, _) = run(&["admin", "report", "--json"]);
    assert_eq!(code, 0);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["live_workers"], 3);
    let racks: std::collections::HashSet<&str> = report["workers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["rack"].as_str().unwrap())
        .collect();
    assert_eq!(racks.len(), 2, "three workers on two racks by default");
    for worker in report["workers"].as_array().unwrap() {
        let media: Vec<&str> = (worker["tiers"].as_array().unwrap().iter())
            .map(|t| t["medium"].as_str().unwrap())
            .collect();
        assert_eq!(
            media,
            ["MEM", "HDD"],
            "a MEM tier before the disk by default"
        );
        let id = worker["id"].as_str().unwrap();
        assert!(dir.path().join("shm").join(format!("strata-{id}")).is_dir());
    }
    // Besides the file, the table master's file (`/strata-table/master`) is on every worker.
    let (code, out, _) = run(&["fs", "cat", "/strata-table/master"]);
    assert!(
        code == 0 && out.starts_with("active "),
        "the table master holds its file: {out}"
    );
    let table_master_file = out.len() as u64;
    wait_until(
        "every worker's MEM tier holds the new file (reported with a heartbeat)",
        Duration::from_secs(30),
        || {
            let master = master.clone();
            async move {
                let (_, out, _) = cli(&master, &["admin", "report", "--json"]);
                let report: serde_json::Value = serde_json::from_str(&out).unwrap();
                (report["workers"].as_array().unwrap().iter())
                    .all(|w| w["tiers"][0]["used"] == 3_000_000 + table_master_file)
            }
        },
    )
    .await;
    let (code, out, _) = run(&["admin", "fsck", "/"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("is HEALTHY"));
    assert_eq!(
        interrupt(&mut local),
        0,
        "Ctrl-C stops strata local cleanly"
    );
    let terminal = std::fs::read_to_string(&stderr).unwrap();
    assert!(
        !terminal.contains("INFO") && !terminal.contains("configuration"),
        "the terminal shows warnings only:\n{terminal}"
    );
    let logs = dir.path().join("data").join("logs");
    let master_log = std::fs::read_to_string(logs.join("master.log")).unwrap();
    assert!(master_log.contains("INFO"), "the master logs to its file");
    let worker_log = std::fs::read_to_string(logs.join("worker.log")).unwrap();
    assert!(worker_log.contains("worker started"), "{worker_log}");

    let Local {
        child: mut local,
        master,
        ..
    } = start_local(&dir.path().join("data"), 3);
    wait_ready(&master).await;
    let back2 = dir.path().join("back2.bin");
    let (code, _, err) = cli(
        &master,
        &["fs", "get", "/demo/input.bin", back2.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        std::fs::read(&back2).unwrap() == data,
        "the file survives a restart"
    );
    assert_eq!(interrupt(&mut local), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_clear_errors_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let Local {
        child: mut local,
        master,
        ..
    } = start_local(&dir.path().join("data"), 3);
    wait_ready(&master).await;
    let run = |args: &[&str]| cli(&master, args);
    assert_eq!(run(&["fs", "mkdir", "-p", "/e/d/inner"]).0, 0);
    assert_eq!(run(&["fs", "touchz", "/e/file"]).0, 0);
    let long = format!("/e/{}", "n".repeat(256));
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["fs", "mkdir", "relative/dir"], "must be absolute"),
        (vec!["fs", "mkdir", "/e/../x"], "'..'"),
        (vec!["fs", "mkdir", "/e//x"], "empty component"),
        (vec!["fs", "mkdir", &long], "longer than 255 bytes"),
        (
            vec!["fs", "mkdir", "/e/missing/child"],
            "/e/missing: no such file or directory",
        ),
        (
            vec!["fs", "mkdir", "/e/file/child"],
            "/e/file: not a directory",
        ),
        (vec!["fs", "mkdir", "/e/d"], "/e/d: already exists"),
        (
            vec!["fs", "mv", "/e/d", "/e/d/inner/moved"],
            "cannot move /e/d into its own subtree",
        ),
        (vec!["fs", "rm", "/e/d"], "/e/d: is a non-empty directory"),
        (
            vec!["fs", "cat", "/e/none"],
            "/e/none: no such file or directory",
        ),
        (vec!["fs", "cat", "/e/d"], "/e/d: is a directory"),
        (vec!["fs", "touchz", "/e/d"], "not a zero-length file"),
        (
            vec!["ec", "set", "/e/d", "RS-6-3-1024k"],
            "RS-6-3-1024k needs 9 workers",
        ),
        (vec!["ec", "set", "/e/d", "RS-6-3"], "RS-6-3"),
        (
            vec!["fs", "put", "--ec-policy", "RS-3-2-1024k", "-", "/e/new"],
            "RS-3-2-1024k needs 5 workers",
        ),
    ];
    for (args, message) in cases {
        let (code, _, err) = run(&args);
        assert_eq!(code, 1, "{args:?} should fail");
        assert!(
            err.contains(message),
            "{args:?}: expected {message:?} in {err:?}"
        );
    }
    let (code, _, err) = cli("127.0.0.1:1", &["fs", "ls", "/"]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot reach the master"), "{err}");
    assert_eq!(interrupt(&mut local), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fourteen_local_workers_run_rs_10_4_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let local_file = dir.path().join("wide.bin");
    let data = pattern(14, 23_456_789);
    std::fs::write(&local_file, &data).unwrap();
    let Local {
        child: mut local,
        master,
        ..
    } = start_local(&dir.path().join("data"), 14);
    wait_ready(&master).await;
    let run = |args: &[&str]| cli(&master, args);
    let (code, out, _) = run(&["ec", "list"]);
    assert_eq!(code, 0);
    for policy in [
        "RS-3-2-1024k",
        "RS-6-3-1024k",
        "RS-10-4-1024k",
        "XOR-2-1-1024k",
    ] {
        assert!(out.contains(policy), "{out}");
    }
    assert_eq!(run(&["fs", "mkdir", "/wide"]).0, 0);
    let (code, out, err) = run(&["ec", "set", "/wide", "RS-10-4-1024k"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, _) = run(&["ec", "get", "/wide/sub/file"]);
    assert_eq!(code, 1, "a missing path is an error: {out}");
    let (code, out, _) = run(&["ec", "get", "/wide"]);
    assert_eq!((code, out.trim()), (0, "/wide: RS-10-4-1024k"));
    let (code, _, err) = run(&["fs", "put", local_file.to_str().unwrap(), "/wide/"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = run(&["fs", "stat", "--json", "/wide/wide.bin"]);
    assert_eq!(code, 0);
    let stat: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(stat["ec_policy"], "RS-10-4-1024k");
    assert_eq!(stat["length"], 23_456_789);
    let (code, out, _) = run(&["fs", "ls", "/wide"]);
    assert!(code == 0 && out.contains(" EC "), "{out}");
    let back = dir.path().join("back.bin");
    assert_eq!(
        run(&["fs", "get", "/wide/wide.bin", back.to_str().unwrap()]).0,
        0
    );
    assert!(std::fs::read(&back).unwrap() == data);
    let (code, out, _) = run(&["admin", "fsck", "/wide", "--files", "--blocks"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("RS-10-4-1024k") && out.contains("units=14/14 OK"),
        "{out}"
    );
    let (code, out, _) = run(&["fs", "checksum", "/wide/wide.bin"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!("{:08x}", strata_core::checksum::crc32c(&data))),
        "{out}"
    );
    // Back to replication and into the directory's layout again.
    let (code, out, err) = run(&["ec", "convert", "--replicate", "/wide/wide.bin"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("/wide/wide.bin: replication 3"), "{out}");
    let (code, out, err) = run(&["ec", "convert", "/wide"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("/wide/wide.bin: RS-10-4-1024k"), "{out}");
    let again = dir.path().join("again.bin");
    assert_eq!(
        run(&["fs", "get", "/wide/wide.bin", again.to_str().unwrap()]).0,
        0
    );
    assert!(std::fs::read(&again).unwrap() == data);
    let (code, out, _) = run(&["admin", "report"]);
    assert_eq!(code, 0);
    assert!(out.contains("bytes stored per byte"), "{out}");
    assert_eq!(interrupt(&mut local), 0);
}

/// The `strata-*` directories in a MEM-tier parent directory.
fn memory_tiers(shm: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(shm)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("strata-"))
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_tiers_go_with_their_data_directory_or_their_decommissioned_worker() {
    let dir = tempfile::tempdir().unwrap();
    let shm = dir.path().join("shm");
    let legacy = shm.join("strata-worker-from-an-old-version");
    std::fs::create_dir_all(legacy.join("current")).unwrap();
    std::fs::write(legacy.join("current").join("blk_1"), vec![7u8; 100_000]).unwrap();

    let first = dir.path().join("first");
    let mut local = start_local(&first, 2);
    wait_ready(&local.master).await;
    let banner = local.banner.join("\n");
    assert!(
        banner.contains("1 MEM-tier directory left in"),
        "strata local says what it freed:\n{banner}"
    );
    assert!(!legacy.exists(), "an unmarked leftover is removed");
    let tiers = memory_tiers(&shm);
    assert_eq!(tiers.len(), 2, "{tiers:?}");
    for name in &tiers {
        let marker = std::fs::read_to_string(shm.join(name).join("strata-owner")).unwrap();
        assert!(
            marker.starts_with(first.to_str().unwrap()),
            "the marker names the data directory: {marker}"
        );
    }
    assert_eq!(interrupt(&mut local.child), 0);
    assert_eq!(
        memory_tiers(&shm),
        tiers,
        "a stopped cluster keeps its MEM tiers"
    );

    std::fs::remove_dir_all(&first).unwrap();
    // Three workers keeping two replicas, so one can be drained of the table master's file.
    let second = dir.path().join("second");
    let mut local = start_local_with(&second, 3, "[master]\ndefault_replication = 2");
    wait_ready(&local.master).await;
    let now = memory_tiers(&shm);
    assert_eq!(now.len(), 3);
    assert!(
        now.iter().all(|n| !tiers.contains(n)),
        "the MEM tiers of a data directory that is gone are removed: {now:?}"
    );
    // The worker to retire holds no replica of the table master's open file (HDFS too
    // waits for blocks of open files before a worker is decommissioned).
    let retired = now
        .iter()
        .find(|name| {
            let rbw = shm.join(name).join("current").join("rbw");
            std::fs::read_dir(&rbw).map_or(true, |d| d.count() == 0)
        })
        .and_then(|name| name.strip_prefix("strata-"))
        .expect("a worker without the open file")
        .to_string();
    let (code, _, err) = cli(
        &local.master,
        &["admin", "decommission", &retired, "--wait"],
    );
    assert_eq!(code, 0, "{err}");
    let marker = shm.join(format!("strata-{retired}")).join("strata-owner");
    wait_until(
        "the worker hears it is decommissioned",
        Duration::from_secs(30),
        || {
            let marker = marker.clone();
            async move {
                std::fs::read_to_string(&marker).is_ok_and(|m| m.contains("decommissioned"))
            }
        },
    )
    .await;
    assert_eq!(interrupt(&mut local.child), 0);
    let left = memory_tiers(&shm);
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(
        !left.contains(&format!("strata-{retired}")),
        "a decommissioned worker's MEM tier goes when it stops"
    );
}
