//! The table store's servers on a real Strata cluster (in-process): a table master and two
//! region servers, driven through the client: tables pre-split into regions, rows written and
//! read across them, scans forward and reversed, schema changes, disable, truncate, delete,
//! and a standby master taking over.

use bytes::Bytes;
use std::time::Duration;
use strata_table::client::Connection;
use strata_table::error::Error;
use strata_table::mutation::Mutation;
use strata_table::read::Scan;
use strata_table::schema::{FamilyDescriptor, TableDescriptor, TableName};
use strata_table::server::{RegionServer, RegionServerConfig, TableMaster, TableMasterConfig};
use strata_testkit::{MiniCluster, fast_config, wait_until};

const ROOT: &str = "/strata-table";

fn master_config() -> TableMasterConfig {
    TableMasterConfig {
        server_timeout: Duration::from_secs(2),
        check_interval: Duration::from_millis(200),
        ..TableMasterConfig::default()
    }
}

fn server_config() -> RegionServerConfig {
    RegionServerConfig {
        report_interval: Duration::from_millis(200),
        ..RegionServerConfig::default()
    }
}

struct Store {
    cluster: MiniCluster,
    masters: Vec<TableMaster>,
    servers: Vec<RegionServer>,
    connection: Connection,
}

async fn store(masters: usize, servers: usize) -> Store {
    store_with(masters, servers, master_config(), server_config()).await
}

async fn store_with(
    masters: usize,
    servers: usize,
    master: TableMasterConfig,
    server: RegionServerConfig,
) -> Store {
    let cluster = MiniCluster::start(fast_config(), &["/r1", "/r2", "/r1"])
        .await
        .unwrap();
    let mut m = Vec::new();
    for _ in 0..masters {
        m.push(
            TableMaster::start(cluster.client().await, master.clone())
                .await
                .unwrap(),
        );
    }
    let mut s = Vec::new();
    for _ in 0..servers {
        s.push(
            RegionServer::start(cluster.client().await, server.clone())
                .await
                .unwrap(),
        );
    }
    let connection = Connection::new(cluster.client().await, ROOT);
    Store {
        cluster,
        masters: m,
        servers: s,
        connection,
    }
}

fn users() -> TableDescriptor {
    let mut info = FamilyDescriptor::new("info");
    info.max_versions = 3;
    TableDescriptor {
        name: TableName::parse("users").unwrap(),
        families: vec![info, FamilyDescriptor::new("stats")],
    }
}

fn row_put(row: &str, value: &str) -> Mutation {
    Mutation::new(row.as_bytes().to_vec()).put(
        &b"info"[..],
        &b"name"[..],
        None,
        value.as_bytes().to_vec(),
    )
}

fn rows(results: &[Vec<strata_table::Cell>]) -> Vec<String> {
    results
        .iter()
        .map(|r| String::from_utf8_lossy(&r[0].row).into_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_split_into_regions_serve_reads_and_writes_across_servers() {
    let s = store(1, 2).await;
    let admin = s.connection.admin();
    let splits = [Bytes::from_static(b"g"), Bytes::from_static(b"p")];
    admin.create_table(users(), &splits).await.unwrap();
    assert!(matches!(
        admin.create_table(users(), &[]).await,
        Err(Error::TableExists(_))
    ));
    let table = s.connection.table("users").unwrap();
    let names: Vec<String> = ["alice", "bob", "carol", "gina", "hank", "paul", "zed"]
        .iter()
        .map(|n| n.to_string())
        .collect();
    let puts = names
        .iter()
        .map(|n| row_put(n, &n.to_uppercase()))
        .collect();
    for answer in table.mutate_rows(puts).await {
        answer.unwrap();
    }
    let regions = admin.regions("users").await.unwrap();
    assert_eq!(regions.len(), 3);
    let servers: std::collections::HashSet<&str> =
        regions.iter().map(|r| r.server.as_str()).collect();
    assert_eq!(
        servers.len(),
        2,
        "regions spread over both servers: {regions:?}"
    );

    let cells = table.get(Scan::get(&b"paul"[..])).await.unwrap();
    assert_eq!(&cells[0].value[..], b"PAUL");
    let all = table
        .scanner(Scan::default(), 2)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(rows(&all), names);
    let reversed = Scan {
        reversed: true,
        ..Scan::default()
    };
    let down = table
        .scanner(reversed, 1)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let mut expected = names.clone();
    expected.reverse();
    assert_eq!(rows(&down), expected);
    let middle = Scan {
        start_row: Bytes::from_static(b"c"),
        stop_row: Bytes::from_static(b"q"),
        limit: 3,
        ..Scan::default()
    };
    let some = table
        .scanner(middle, 10)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(rows(&some), ["carol", "gina", "hank"]);
    let mut filtered = Scan::default();
    filtered
        .set_filter(&b"PrefixFilter('ha') OR ValueFilter(=, 'binary:ZED')"[..])
        .unwrap();
    let matched = table
        .scanner(filtered, 10)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(rows(&matched), ["hank", "zed"]);
    assert_eq!(
        table
            .increment(&b"bob"[..], &b"stats"[..], &b"logins"[..], 2)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        table
            .increment(&b"bob"[..], &b"stats"[..], &b"logins"[..], 1)
            .await
            .unwrap(),
        3
    );

    let unknown = Mutation::new(&b"x"[..]).put(&b"nope"[..], &b"q"[..], None, &b"v"[..]);
    assert!(matches!(
        table.mutate(unknown).await,
        Err(Error::NoSuchFamily { .. })
    ));
    let mut bad = Scan::default();
    assert!(matches!(
        bad.set_filter(&b"PageFilter("[..]),
        Err(Error::FilterSyntax { .. })
    ));

    let mut wider = FamilyDescriptor::new("info");
    wider.max_versions = 5;
    admin
        .alter(
            "users",
            &[wider, FamilyDescriptor::new("extra")],
            &[Bytes::from_static(b"stats")],
        )
        .await
        .unwrap();
    let described = admin.describe("users").await.unwrap();
    let families: Vec<String> = described
        .descriptor
        .families
        .iter()
        .map(|f| f.name_text())
        .collect();
    assert_eq!(families, ["extra", "info"]);
    assert_eq!(described.descriptor.families[1].max_versions, 5);
    let cells = table.get(Scan::get(&b"alice"[..])).await.unwrap();
    assert_eq!(
        &cells[0].value[..],
        b"ALICE",
        "data survives a reopen with the new schema"
    );

    assert!(
        matches!(admin.delete("users").await, Err(Error::TableState { .. })),
        "enabled"
    );
    admin.disable("users").await.unwrap();
    assert!(!admin.describe("users").await.unwrap().enabled);
    admin.truncate("users", true).await.unwrap();
    assert_eq!(
        admin.regions("users").await.unwrap().len(),
        3,
        "splits kept"
    );
    wait_until(
        "the truncated table serves again",
        Duration::from_secs(30),
        || {
            let admin = admin.clone();
            async move {
                admin
                    .regions("users")
                    .await
                    .is_ok_and(|r| r.iter().all(|r| !r.server.is_empty()))
            }
        },
    )
    .await;
    assert!(
        table
            .get(Scan::get(&b"alice"[..]))
            .await
            .unwrap()
            .is_empty()
    );
    admin.disable("users").await.unwrap();
    admin.delete("users").await.unwrap();
    assert!(!admin.exists("users").await.unwrap());
    assert!(admin.list_tables().await.unwrap().is_empty());
    for server in s.servers {
        server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_master_takes_over_and_writes_never_stop() {
    let mut s = store(2, 1).await;
    wait_until("one master is active", Duration::from_secs(30), || {
        let active = s.masters.iter().filter(|m| m.is_active()).count();
        async move { active == 1 }
    })
    .await;
    let admin = s.connection.admin();
    admin.create_table(users(), &[]).await.unwrap();
    let table = s.connection.table("users").unwrap();
    table.mutate(row_put("before", "1")).await.unwrap();
    let active = s.masters.iter().position(|m| m.is_active()).unwrap();
    let old = s.masters.remove(active);
    old.shutdown().await;
    for i in 0..20 {
        table
            .mutate(row_put(&format!("during{i:02}"), "2"))
            .await
            .unwrap();
    }
    wait_until("the standby takes over", Duration::from_secs(30), || {
        let active = s.masters[0].is_active();
        async move { active }
    })
    .await;

    admin
        .create_table(
            TableDescriptor {
                name: TableName::parse("ops:events").unwrap(),
                families: vec![FamilyDescriptor::new("e")],
            },
            &[],
        )
        .await
        .unwrap();
    let all = table
        .scanner(Scan::default(), 100)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 21);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_memstore_is_flushed_by_age() {
    let cluster = MiniCluster::start(fast_config(), &["/r1", "/r2", "/r1"])
        .await
        .unwrap();
    let master = TableMaster::start(cluster.client().await, master_config())
        .await
        .unwrap();
    let config = RegionServerConfig {
        flush_interval: Duration::from_millis(300),
        ..server_config()
    };
    let server = RegionServer::start(cluster.client().await, config)
        .await
        .unwrap();
    let connection = Connection::new(cluster.client().await, ROOT);
    connection.admin().create_table(users(), &[]).await.unwrap();
    let table = connection.table("users").unwrap();
    table.mutate(row_put("quiet", "1")).await.unwrap();
    let region = connection.admin().regions("users").await.unwrap().remove(0);
    let fs = cluster.client().await;
    let dir = format!("{ROOT}/data/default/users/{}/info", region.name);
    wait_until(
        "the memstore is flushed by age",
        Duration::from_secs(30),
        || {
            let (fs, dir) = (fs.clone(), dir.clone());
            async move {
                fs.list(&dir)
                    .collect()
                    .await
                    .is_ok_and(|files| files.iter().any(|f| f.path.ends_with(".sst")))
            }
        },
    )
    .await;
    server.shutdown().await;
    master.shutdown().await;
}

/// The value written to `row` by the split test.
fn split_value(i: usize) -> String {
    format!("{i:06}-{}", "v".repeat(120))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regions_split_by_size_and_by_hand_and_merge_without_losing_a_row() {
    let master = TableMasterConfig {
        split_size: 160 << 10,
        ..master_config()
    };
    let server = RegionServerConfig {
        region: strata_table::region::RegionSettings {
            flush_size: 24 << 10,
            ..Default::default()
        },
        ..server_config()
    };
    let s = store_with(1, 2, master, server).await;
    let connection = s.connection.clone();
    let admin = connection.admin();
    let mut info = FamilyDescriptor::new("info");
    info.block_size = 2048;
    let descriptor = TableDescriptor {
        name: TableName::parse("grow").unwrap(),
        families: vec![info],
    };
    admin.create_table(descriptor, &[]).await.unwrap();
    let table = connection.table("grow").unwrap();

    // Rows arrive in random order while the region splits under them.
    let total = 1500;
    let mut order: Vec<usize> = (0..total).collect();
    order.sort_by_key(|i| (i * 7919) % total);
    for chunk in order.chunks(50) {
        let puts = chunk
            .iter()
            .map(|i| {
                Mutation::new(format!("row-{i:06}").into_bytes()).put(
                    &b"info"[..],
                    &b"v"[..],
                    None,
                    split_value(*i).into_bytes(),
                )
            })
            .collect();
        for result in table.mutate_rows(puts).await {
            result.unwrap();
        }
    }
    wait_until(
        "the region splits by size",
        Duration::from_secs(60),
        || async { admin.regions("grow").await.is_ok_and(|r| r.len() >= 2) },
    )
    .await;
    let check_all = |table: strata_table::client::Table| async move {
        let all = table
            .scanner(Scan::default(), 200)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let expected: Vec<String> = (0..total).map(|i| format!("row-{i:06}")).collect();
        assert_eq!(rows(&all), expected, "every row once, in order");
        for (i, cells) in all.iter().enumerate() {
            assert_eq!(cells.len(), 1);
            assert_eq!(cells[0].value, split_value(i).into_bytes());
        }
    };
    check_all(table.clone()).await;

    // The children rewrite their parents' files; the parents' files then go.
    let fs = s.cluster.client().await;
    wait_until(
        "no region reads a parent's files and the parents are deleted",
        Duration::from_secs(60),
        || {
            let fs = fs.clone();
            let admin = admin.clone();
            async move {
                let live: Vec<String> = match admin.regions("grow").await {
                    Ok(r) => r.into_iter().map(|r| r.name).collect(),
                    Err(_) => return false,
                };
                let Ok(dirs) = fs
                    .list(&format!("{ROOT}/data/default/grow"))
                    .collect()
                    .await
                else {
                    return false;
                };
                let only_live = dirs
                    .iter()
                    .all(|d| live.iter().any(|l| d.path.ends_with(&format!("/{l}"))));
                let mut refs = 0;
                for region in &live {
                    let dir = format!("{ROOT}/data/default/grow/{region}/info");
                    if let Ok(files) = fs.list(&dir).collect().await {
                        refs += files.iter().filter(|f| f.path.ends_with(".ref")).count();
                    }
                }
                only_live && refs == 0
            }
        },
    )
    .await;
    check_all(table.clone()).await;

    // By hand: a split at a given row, then a merge of the two halves.
    let at = Bytes::from_static(b"row-000750");
    let holder = admin
        .regions("grow")
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.start <= at && (r.end.is_empty() || at < r.end))
        .unwrap();
    let halves = if holder.start == at {
        let regions = admin.regions("grow").await.unwrap();
        let i = regions.iter().position(|r| r.name == holder.name).unwrap();
        vec![regions[i - 1].clone(), regions[i].clone()]
    } else {
        admin.split("grow", None, Some(at.clone())).await.unwrap()
    };
    assert_eq!(halves.len(), 2);
    assert_eq!(halves[0].end, at);
    assert_eq!(halves[1].start, at);
    assert!(halves.iter().all(|h| !h.server.is_empty()));
    check_all(table.clone()).await;
    assert!(matches!(
        admin
            .split("grow", Some(&halves[1].name), Some(at.clone()))
            .await,
        Err(Error::InvalidRequest(_))
    ));
    wait_until(
        "the halves rewrite their parent's files",
        Duration::from_secs(60),
        || async {
            let mut merged = None;
            match admin.merge("grow", &halves[0].name, &halves[1].name).await {
                Ok(region) => merged = Some(region),
                Err(Error::RegionBusy { .. }) => {}
                Err(e) => panic!("merge failed: {e}"),
            }
            merged.is_some_and(|m| m.start == halves[0].start && m.end == halves[1].end)
        },
    )
    .await;
    check_all(table.clone()).await;
    let regions = admin.regions("grow").await.unwrap();
    if regions.len() >= 3 {
        assert!(matches!(
            admin
                .merge("grow", &regions[0].name, &regions[2].name)
                .await,
            Err(Error::InvalidRequest(_))
        ));
    }
    for server in s.servers {
        server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_master_evens_regions_out_over_a_new_server() {
    let master = TableMasterConfig {
        balance_interval: Duration::from_millis(500),
        ..master_config()
    };
    let mut s = store_with(1, 1, master, server_config()).await;
    let connection = s.connection.clone();
    let admin = connection.admin();
    let splits: Vec<Bytes> = ["b", "c", "d", "e", "f"]
        .iter()
        .map(|k| Bytes::from(k.to_string()))
        .collect();
    admin.create_table(users(), &splits).await.unwrap();
    let table = connection.table("users").unwrap();
    for row in ["a1", "b1", "c1", "d1", "e1", "f1"] {
        table.mutate(row_put(row, row)).await.unwrap();
    }
    let second = RegionServer::start(s.cluster.client().await, server_config())
        .await
        .unwrap();
    let first = s.servers[0].address().to_string();
    wait_until(
        "each server holds three regions",
        Duration::from_secs(30),
        || async {
            let Ok(regions) = admin.regions("users").await else {
                return false;
            };
            let on = |s: &str| regions.iter().filter(|r| r.server == s).count();
            on(&first) == 3 && on(second.address()) == 3
        },
    )
    .await;
    for row in ["a1", "b1", "c1", "d1", "e1", "f1"] {
        let cells = table.get(Scan::get(row.as_bytes().to_vec())).await.unwrap();
        assert_eq!(cells[0].value, row.as_bytes().to_vec());
    }
    s.servers.push(second);
    for server in s.servers {
        server.shutdown().await;
    }
}
