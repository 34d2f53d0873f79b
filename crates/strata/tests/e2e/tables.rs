//! The table store with real processes: `strata table-master` and `strata region-server` as
//! child processes of the test, killed with SIGKILL while a client writes, and a Strata worker
//! holding log and SSTable replicas killed too. Every acknowledged mutation must be there.

use crate::harness::binary;
use bytes::Bytes;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use strata_table::mutation::Mutation;
use strata_table::read::Scan;
use strata_table::schema::{FamilyDescriptor, TableDescriptor, TableName};
use strata_table::{Connection, DEFAULT_ROOT};
use strata_testkit::{ProcessCluster, ProcessClusterOptions, fast_config, wait_until};

/// A process cluster with a table master and `servers` region servers, their slots and
/// addresses.
async fn table_store(servers: usize) -> (ProcessCluster, Vec<(usize, String)>) {
    let mut config = fast_config();
    config.table.server_timeout = Duration::from_secs(2);
    config.table.report_interval = Duration::from_millis(200);
    config.table.flush_size = strata_core::ByteSize(256 << 10);
    let options = ProcessClusterOptions::new(config, &["/r1", "/r2", "/r1", "/r2"]);
    let mut cluster = ProcessCluster::start(&binary(), options).await;
    let mut roles = Vec::new();
    roles.push(cluster.spawn_role(
        "table-master",
        &["table-master", "--listen", "127.0.0.1:0"],
        "listening on ",
    ));
    for i in 0..servers {
        roles.push(cluster.spawn_role(
            &format!("region-server-{i}"),
            &["region-server", "--listen", "127.0.0.1:0"],
            "listening on ",
        ));
    }
    (cluster, roles)
}

fn table() -> TableDescriptor {
    TableDescriptor {
        name: TableName::parse("events").unwrap(),
        families: vec![FamilyDescriptor::new("e"), FamilyDescriptor::new("x")],
    }
}

/// Starts writing rows `row00000`.. (each with one explicit timestamp, so a retry rewrites the
/// same cells) until the returned flag is set, and waits until `at_least` rows are there; the
/// task returns the rows acknowledged.
async fn start_writing(
    connection: &Connection,
    at_least: usize,
) -> (Arc<AtomicBool>, tokio::task::JoinHandle<Vec<String>>) {
    let stop = Arc::new(AtomicBool::new(false));
    let writing = writer(connection.clone(), stop.clone());
    wait_until("some rows are written", Duration::from_secs(60), || {
        let connection = connection.clone();
        async move { rows_in(&connection).await.len() >= at_least }
    })
    .await;
    (stop, writing)
}

fn writer(connection: Connection, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<Vec<String>> {
    tokio::spawn(async move {
        let table = connection.table("events").unwrap();
        let mut acknowledged = Vec::new();
        let mut i = 0u32;
        while !stop.load(Ordering::Relaxed) {
            let row = format!("row{:05}", i.wrapping_mul(7919) % 100_000);
            let value = format!("{i} {}", "v".repeat(200));
            let m = Mutation::new(row.clone().into_bytes())
                .put(&b"e"[..], &b"v"[..], Some(1), value.clone().into_bytes())
                .put(&b"x"[..], &b"v"[..], Some(1), value.into_bytes());
            match table.mutate(m).await {
                Ok(()) => acknowledged.push(row),
                Err(e) => panic!("a write failed instead of being retried: {e}"),
            }
            i += 1;
        }
        acknowledged
    })
}

async fn rows_in(connection: &Connection) -> Vec<(String, usize)> {
    let table = connection.table("events").unwrap();
    let results = table
        .scanner(Scan::default(), 500)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    results
        .iter()
        .map(|cells| {
            (
                String::from_utf8_lossy(&cells[0].row).into_owned(),
                cells.len(),
            )
        })
        .collect()
}

async fn served_by(connection: &Connection) -> Vec<String> {
    connection
        .admin()
        .regions("events")
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.server)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_server_killed_during_writes_loses_no_acknowledged_mutation() {
    let (mut cluster, roles) = table_store(3).await;
    // Garbage on every table store port first: each server drops it and keeps serving.
    for (_, address) in &roles {
        for garbage in [
            &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
            &[0xffu8; 300][..],
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\xff",
        ] {
            if let Ok(mut s) = std::net::TcpStream::connect(address) {
                use std::io::Write;
                let _ = s.write_all(garbage);
            }
        }
    }
    let connection = Connection::new(cluster.client().await, DEFAULT_ROOT);
    let splits: Vec<Bytes> = ["row2", "row4", "row6", "row8"]
        .iter()
        .map(|s| Bytes::from_static(s.as_bytes()))
        .collect();
    connection
        .admin()
        .create_table(table(), &splits)
        .await
        .unwrap();
    wait_until("every region is served", Duration::from_secs(60), || {
        let connection = connection.clone();
        async move { served_by(&connection).await.iter().all(|s| !s.is_empty()) }
    })
    .await;

    let (stop, writing) = start_writing(&connection, 300).await;
    // Kill the server holding the most regions.
    let servers = served_by(&connection).await;
    let (victim_slot, victim) = roles[1..]
        .iter()
        .max_by_key(|(_, address)| servers.iter().filter(|s| *s == address).count())
        .cloned()
        .unwrap();
    let killed = Instant::now();
    cluster.kill_role(victim_slot);
    wait_until(
        "every region serves again elsewhere",
        Duration::from_secs(90),
        || {
            let connection = connection.clone();
            let victim = victim.clone();
            async move {
                let servers = served_by(&connection).await;
                servers.iter().all(|s| !s.is_empty() && *s != victim)
            }
        },
    )
    .await;
    println!(
        "all regions serving again {} ms after the kill",
        killed.elapsed().as_millis()
    );
    let before = rows_in(&connection).await.len();
    wait_until(
        "writes go on after the failover",
        Duration::from_secs(60),
        || {
            let connection = connection.clone();
            async move { rows_in(&connection).await.len() >= before + 200 }
        },
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    let acknowledged: BTreeSet<String> = writing.await.unwrap().into_iter().collect();
    let rows = rows_in(&connection).await;
    let present: BTreeSet<String> = rows.iter().map(|(r, _)| r.clone()).collect();
    let lost: Vec<&String> = acknowledged.difference(&present).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged rows lost: {:?}",
        lost.len(),
        &lost[..lost.len().min(10)]
    );
    assert!(
        rows.iter().all(|(_, cells)| *cells == 2),
        "every row has its two cells, each once"
    );
    assert_eq!(present, acknowledged, "and nothing else");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_active_table_master_or_a_worker_stops_nothing() {
    let (mut cluster, roles) = table_store(2).await;
    let (standby_slot, standby) = cluster.spawn_role(
        "table-master-standby",
        &["table-master", "--listen", "127.0.0.1:0"],
        "listening on ",
    );
    let connection = Connection::new(cluster.client().await, DEFAULT_ROOT);
    connection.admin().create_table(table(), &[]).await.unwrap();
    let (stop, writing) = start_writing(&connection, 200).await;
    let (master_slot, _) = roles[0].clone();
    cluster.kill_role(master_slot);
    // A worker holding replicas of the logs and SSTables goes too.
    cluster.kill_worker(0);
    let before = rows_in(&connection).await.len();
    wait_until("writes and reads go on", Duration::from_secs(60), || {
        let connection = connection.clone();
        async move { rows_in(&connection).await.len() >= before + 300 }
    })
    .await;
    // The standby is active now: table changes work again.
    wait_until(
        "the standby table master is active",
        Duration::from_secs(60),
        || {
            let connection = connection.clone();
            async move {
                let t = TableDescriptor {
                    name: TableName::parse("after_failover").unwrap(),
                    families: vec![FamilyDescriptor::new("f")],
                };
                connection.admin().create_table(t, &[]).await.is_ok()
            }
        },
    )
    .await;
    let fs = cluster.client().await;
    let text = fs
        .open("/strata-table/master")
        .await
        .unwrap()
        .read_to_end()
        .await
        .unwrap();
    assert!(
        String::from_utf8_lossy(&text)
            .trim_end()
            .ends_with(&standby),
        "the standby wrote its address last"
    );
    stop.store(true, Ordering::Relaxed);
    let acknowledged: BTreeSet<String> = writing.await.unwrap().into_iter().collect();
    let present: BTreeSet<String> = rows_in(&connection)
        .await
        .into_iter()
        .map(|(r, _)| r)
        .collect();
    assert_eq!(
        acknowledged, present,
        "every acknowledged row is there, nothing else"
    );
    cluster.kill_role(standby_slot);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_table_shell_manages_tables_and_rows_as_hbases_does() {
    use crate::cli::{interrupt, start_local, wait_ready};
    use crate::harness::cli;
    let dir = tempfile::tempdir().unwrap();
    let mut local = start_local(&dir.path().join("data"), 3);
    wait_ready(&local.master).await;
    let master = local.master.clone();
    let ok = |args: &[&str]| {
        let (code, out, err) = cli(&master, args);
        assert_eq!(code, 0, "strata {args:?}: {err}");
        out
    };
    let json = |args: &[&str]| -> serde_json::Value {
        serde_json::from_str(&ok(args)).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    };
    let out = ok(&[
        "table",
        "create",
        "users",
        "info:versions=3",
        "stats",
        "--splits",
        "g,p",
    ]);
    assert!(out.contains("Created table users (3 regions)"), "{out}");
    let list = json(&["table", "list", "--json"]);
    assert_eq!(list[0]["name"], "users");
    assert_eq!(list[0]["regions"], 3);
    let described = json(&["table", "describe", "users", "--json"]);
    assert_eq!(described["families"][0]["name"], "info");
    assert_eq!(described["families"][0]["versions"], 3);
    ok(&[
        "table",
        "put",
        "users",
        "alice",
        "info:name",
        "Alice",
        "--ts",
        "1",
    ]);
    ok(&[
        "table",
        "put",
        "users",
        "alice",
        "info:name",
        "Alicia",
        "--ts",
        "2",
    ]);
    ok(&["table", "put", "users", "hank", "info:name", "Hank"]);
    ok(&["table", "put", "users", "zed\\x00", "info:name", "Zed"]);
    let got = json(&[
        "table",
        "get",
        "users",
        "alice",
        "--versions",
        "3",
        "--json",
    ]);
    let cells = got["row"][0]["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2);
    assert_eq!(
        (cells[0]["value"].clone(), cells[0]["timestamp"].clone()),
        (json!("Alicia"), json!(2))
    );
    let rows = |v: &serde_json::Value| -> Vec<String> {
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["row"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        rows(&json(&["table", "scan", "users", "--json"])),
        ["alice", "hank", "zed\\x00"]
    );
    assert_eq!(
        rows(&json(&[
            "table",
            "scan",
            "users",
            "--reversed",
            "--limit",
            "2",
            "--json"
        ])),
        ["zed\\x00", "hank"]
    );
    assert_eq!(
        rows(&json(&[
            "table", "scan", "users", "--prefix", "ha", "--json"
        ])),
        ["hank"]
    );
    let filtered = json(&[
        "table",
        "scan",
        "users",
        "--filter",
        "ValueFilter(=, 'substring:alic')",
        "--json",
    ]);
    assert_eq!(rows(&filtered), ["alice"]);
    assert!(
        ok(&["table", "incr", "users", "alice", "stats:logins", "5"]).contains("COUNTER VALUE = 5")
    );
    assert!(
        ok(&["table", "incr", "users", "alice", "stats:logins", "-2"])
            .contains("COUNTER VALUE = 3")
    );
    assert!(ok(&["table", "count", "users"]).contains("3 row(s)"));
    ok(&["table", "delete", "users", "alice", "info:name"]);
    let after = json(&[
        "table", "get", "users", "alice", "--column", "info", "--json",
    ]);
    assert!(after["row"].as_array().unwrap().is_empty(), "{after}");
    ok(&["table", "deleteall", "users", "hank"]);
    assert_eq!(json(&["table", "count", "users", "--json"])["rows"], 2);
    let regions = json(&["table", "regions", "users", "--json"]);
    assert_eq!(regions.as_array().unwrap().len(), 3);
    assert!(
        regions
            .as_array()
            .unwrap()
            .iter()
            .all(|r| !r["server"].as_str().unwrap().is_empty())
    );
    ok(&["table", "flush", "users"]);
    ok(&["table", "compact", "users"]);
    ok(&["table", "major_compact", "users"]);
    let halves = json(&["table", "split", "users", "--at", "k", "--json"]);
    let halves = halves.as_array().unwrap();
    assert_eq!(halves.len(), 2, "{halves:?}");
    assert_eq!(
        (halves[0]["start"].as_str(), halves[0]["end"].as_str()),
        (Some("g"), Some("k"))
    );
    assert_eq!(
        json(&["table", "regions", "users", "--json"])
            .as_array()
            .unwrap()
            .len(),
        4
    );
    let names: Vec<&str> = halves.iter().map(|h| h["name"].as_str().unwrap()).collect();
    let merged = loop {
        let (code, out, err) = cli(
            &master,
            &["table", "merge", "users", names[0], names[1], "--json"],
        );
        if code == 0 {
            break serde_json::from_str::<serde_json::Value>(&out).unwrap();
        }
        // The halves first rewrite their parent's files into their own.
        assert!(err.contains("too busy"), "{err}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(
        (merged[0]["start"].as_str(), merged[0]["end"].as_str()),
        (Some("g"), Some("p"))
    );
    assert_eq!(json(&["table", "count", "users", "--json"])["rows"], 2);
    ok(&[
        "table",
        "alter",
        "users",
        "--family",
        "extra:versions=2",
        "--delete",
        "stats",
    ]);
    let families: Vec<String> = json(&["table", "describe", "users", "--json"])["families"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(families, ["extra", "info"]);
    let table_output = ok(&["table", "scan", "users"]);
    assert!(
        table_output.contains("zed\\x00") && table_output.contains("info:name"),
        "{table_output}"
    );

    for (args, says) in [
        (vec!["table", "create", "bad", "x:versions=0"], "VERSIONS"),
        (vec!["table", "get", "nope", "r"], "does not exist"),
        (
            vec!["table", "scan", "users", "--filter", "PageFilter("],
            "filter",
        ),
        (
            vec!["table", "put", "users", "r", "nofamily:q", "v"],
            "no column family",
        ),
        (vec!["table", "drop", "users"], "disable it first"),
        (vec!["table", "split", "users", "--at", "g"], "not inside"),
    ] {
        let (code, _, err) = cli(&master, &args);
        assert_eq!(code, 1, "{args:?}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    ok(&["table", "truncate", "users"]);
    assert!(ok(&["table", "count", "users"]).contains("0 row(s)"));
    assert_eq!(
        json(&["table", "regions", "users", "--json"])
            .as_array()
            .unwrap()
            .len(),
        3,
        "splits kept"
    );
    ok(&["table", "disable", "users"]);
    ok(&["table", "enable", "users"]);
    ok(&["table", "disable", "users"]);
    ok(&["table", "drop", "users"]);
    assert!(ok(&["table", "list"]).contains("0 table(s)"));
    assert_eq!(interrupt(&mut local.child), 0);
}
