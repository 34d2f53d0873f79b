//! What operators watch, on real processes: `/metrics` of the master and the workers moving
//! as the cluster works and heals, the master's audit log, and the status page in a real
//! browser (headless Chromium) showing a worker killed with SIGKILL as dead.

use crate::harness::{cluster, read, write};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;
use strata_client::FileSystem;
use strata_testkit::{pattern, wait_until};

const MIB: u64 = 1 << 20;

/// The body of a successful GET.
async fn get(url: &str) -> String {
    let response = reqwest::get(url)
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert!(
        response.status().is_success(),
        "GET {url}: {}",
        response.status()
    );
    response
        .text()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

/// The value of the sample of metric `name` carrying every label of `labels` (0 if none).
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    samples(text, name, labels).into_iter().sum()
}

/// The values of every sample of `name` carrying each of `labels`.
fn samples(text: &str, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, label_text) = match series.split_once('{') {
                Some((m, rest)) => (m, rest),
                None => (series, ""),
            };
            let wanted = metric == name
                && labels
                    .iter()
                    .all(|(k, v)| label_text.contains(&format!("{k}=\"{v}\"")));
            wanted.then(|| value.parse().ok()).flatten()
        })
        .collect()
}

/// The `/metrics` URLs of every worker the master knows.
async fn worker_metrics_urls(fs: &FileSystem) -> Vec<String> {
    let report = fs.report().await.unwrap();
    report
        .workers
        .iter()
        .filter_map(|w| w.address.as_ref())
        .map(|a| format!("http://{}/metrics", a.http_address))
        .collect()
}

async fn worker_total(urls: &[String], name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut total = 0.0;
    for url in urls {
        total += sample(&get(url).await, name, labels);
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_as_the_cluster_works_and_heals() {
    let mut c = cluster(&["/r1", "/r2", "/r1", "/r2"], |_| {}).await;
    let fs = c.client().await;
    let master = format!("{}/metrics", c.master_http());
    let workers = worker_metrics_urls(&fs).await;
    assert_eq!(workers.len(), 4);
    let before = get(&master).await;
    let written_before = worker_total(&workers, "strata_worker_written_bytes_total", &[]).await;

    let data = pattern(7, (3 * MIB + 17) as usize);
    write(&fs, "/metrics/f", &data, 3, MIB).await;
    assert!(read(&fs, "/metrics/f").await == data);

    let after = get(&master).await;
    let create = [("method", "Create"), ("code", "Ok")];
    let rpc = "strata_master_rpc_requests_total";
    assert_eq!(
        sample(&after, rpc, &create),
        sample(&before, rpc, &create) + 1.0
    );
    let add_block = [("service", "ClientProtocol"), ("method", "AddBlock")];
    assert!(sample(&after, rpc, &add_block) >= sample(&before, rpc, &add_block) + 4.0);
    let latency = "strata_master_rpc_latency_seconds_count";
    assert!(sample(&after, latency, &[("method", "Complete")]) >= 1.0);
    let fsyncs = "strata_master_journal_fsync_seconds_count";
    assert!(sample(&after, fsyncs, &[]) > sample(&before, fsyncs, &[]));
    assert!(sample(&after, "strata_master_journal_batch_entries_sum", &[]) >= 6.0);
    assert_eq!(sample(&after, "strata_master_files", &[]), 1.0);
    assert_eq!(sample(&after, "strata_master_blocks", &[]), 4.0);
    assert_eq!(
        sample(&after, "strata_master_file_bytes", &[]),
        data.len() as f64
    );
    assert_eq!(
        sample(&after, "strata_master_workers", &[("state", "live")]),
        4.0
    );
    assert_eq!(
        sample(&after, "strata_master_workers", &[("state", "dead")]),
        0.0
    );
    assert_eq!(
        samples(&after, "strata_master_worker_heartbeat_age_seconds", &[]).len(),
        4
    );
    assert!(sample(&after, "strata_master_capacity_bytes", &[("tier", "HDD")]) > 0.0);
    assert!(
        sample(&after, "strata_master_used_bytes", &[("tier", "HDD")])
            >= sample(&before, "strata_master_used_bytes", &[("tier", "HDD")])
    );
    assert_eq!(
        sample(
            &after,
            "strata_master_blocks_by_state",
            &[("state", "missing")]
        ),
        0.0
    );

    let written = worker_total(&workers, "strata_worker_written_bytes_total", &[]).await;
    assert_eq!(written - written_before, 3.0 * data.len() as f64);
    let read_bytes = worker_total(&workers, "strata_worker_read_bytes_total", &[]).await;
    assert!(read_bytes >= data.len() as f64);
    let writes = [("op", "write_block"), ("result", "ok")];
    assert!(worker_total(&workers, "strata_worker_operations_total", &writes).await >= 12.0);
    assert!(worker_total(&workers, "strata_worker_blocks", &[]).await >= 12.0);
    let one = get(&workers[0]).await;
    assert!(sample(&one, "strata_worker_capacity_bytes", &[("tier", "HDD")]) > 0.0);
    assert_eq!(
        samples(&one, "strata_worker_heartbeat_age_seconds", &[]).len(),
        1
    );

    // A worker dies: the master counts it dead and copies its replicas elsewhere.
    let report = fs.report().await.unwrap();
    let (victim, held) = report
        .workers
        .iter()
        .enumerate()
        .map(|(i, w)| (i, w.block_count))
        .max_by_key(|(_, held)| *held)
        .unwrap();
    let victim_id = report.workers[victim].address.clone().unwrap().id;
    c.kill_worker(c.worker_slot(&victim_id).unwrap());
    let copies = [("kind", "copy")];
    wait_until(
        "the master's metrics show the dead worker and its replicas copied",
        Duration::from_secs(60),
        || {
            let master = master.clone();
            async move {
                let text = get(&master).await;
                sample(&text, "strata_master_workers", &[("state", "dead")]) == 1.0
                    && sample(&text, "strata_master_repairs_completed_total", &copies)
                        >= held as f64
                    && sample(&text, "strata_master_repairs_pending", &copies) == 0.0
            }
        },
    )
    .await;
    let text = get(&master).await;
    assert!(sample(&text, "strata_master_repairs_scheduled_total", &copies) >= held as f64);
    let survivors: Vec<String> = workers
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != victim)
        .map(|(_, u)| u.clone())
        .collect();
    let copied = [("kind", "copy"), ("result", "ok")];
    assert!(worker_total(&survivors, "strata_worker_repairs_total", &copied).await >= held as f64);
    let sent = worker_total(&survivors, "strata_worker_repair_bytes_total", &copies).await;
    assert!(
        sent >= (held - 1) as f64 * MIB as f64,
        "{sent} bytes copied"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_in_a_browser_shows_a_killed_worker_dead() {
    let mut c = cluster(&["/r1", "/r2", "/r1"], |_| {}).await;
    let fs = c.client().await;
    let data = pattern(3, (MIB + MIB / 2) as usize);
    write(&fs, "/web/data.bin", &data, 3, MIB).await;
    let victim = c.worker_id(1);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/status_page.py");
    let mut browser = Command::new("python3")
        .args([script, c.master_http(), &victim, "/web/data.bin"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run python3 (scripts/test.sh installs it): {e}"));
    let stdout = browser.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let ready = lines.by_ref().map_while(Result::ok).any(|l| l == "READY");
    if ready {
        c.kill_worker(1);
    }
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let output = browser.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(ready, "the page never showed the cluster ready:\n{stderr}");
    assert!(
        output.status.success() && rest.iter().any(|l| l == "PASSED"),
        "{rest:?}\n{stderr}"
    );
}

/// The lines of the master's audit log once one contains `last`.
async fn audit_lines(log: &std::path::Path, last: &str) -> Vec<String> {
    wait_until(
        "the audit log has the last operation",
        Duration::from_secs(30),
        || async { std::fs::read_to_string(log).is_ok_and(|t| t.contains(last)) },
    )
    .await;
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_has_a_line_per_namespace_operation() {
    let c = cluster(&["/r1"], |_| {}).await;
    let fs = c.client().await.as_user("alice");
    fs.mkdirs("/audit/d", true).await.unwrap();
    write(&fs, "/audit/d/f", b"audited", 1, MIB).await;
    fs.rename("/audit/d/f", "/audit/d/g").await.unwrap();
    assert!(fs.delete("/audit/d", false).await.is_err());
    assert!(fs.try_stat("/audit/missing").await.unwrap().is_none());
    let url = format!(
        "{}/webhdfs/v1/audit/web?op=MKDIRS&user.name=bob",
        c.master_http()
    );
    let made = reqwest::Client::new().put(&url).send().await.unwrap();
    assert!(made.status().is_success(), "{}", made.status());

    let log = c.root().join("master/audit/audit.log");
    let lines = audit_lines(&log, "src=/audit/web").await;
    let find = |cmd: &str, src: &str| -> Vec<String> {
        let fields = [format!("\tcmd={cmd}\t"), format!("\tsrc={src}\t")];
        let found: Vec<String> = lines
            .iter()
            .filter(|l| fields.iter().all(|f| l.contains(f.as_str())))
            .cloned()
            .collect();
        assert!(
            !found.is_empty(),
            "no {cmd} of {src} in\n{}",
            lines.join("\n")
        );
        found
    };
    let mkdirs = &find("mkdirs", "/audit/d")[0];
    let fields: Vec<&str> = mkdirs.split('\t').collect();
    assert!(
        fields[0].ends_with('Z') && fields[0].contains('T'),
        "{mkdirs}"
    );
    assert_eq!(
        fields[1..],
        [
            "user=alice",
            "ip=127.0.0.1",
            "cmd=mkdirs",
            "src=/audit/d",
            "dst=null",
            "result=ok"
        ]
    );
    assert!(find("create", "/audit/d/f")[0].ends_with("\tresult=ok"));
    assert!(find("rename", "/audit/d/f")[0].ends_with("\tdst=/audit/d/g\tresult=ok"));
    assert!(find("delete", "/audit/d")[0].ends_with("\tresult=DIRECTORY_NOT_EMPTY"));
    assert!(!find("getfileinfo", "/audit/missing").is_empty());
    assert!(find("mkdirs", "/audit/web")[0].contains("\tuser=bob\t"));
}
