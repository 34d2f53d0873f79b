//! The Thrift face with a real client: happybase 1.3.0 (PyPI, installed by `scripts/test.sh`)
//! in all four of its modes against the table store on an in-process cluster (a table master
//! and two region servers), after garbage was thrown at the port.

#[path = "../common/mod.rs"]
mod common;

use common::{client_script, passed_groups, run_client};
use std::io::Write;
use std::time::Duration;
use strata_gateway::ThriftServer;
use strata_table::Connection;
use strata_table::server::{RegionServer, RegionServerConfig, TableMaster, TableMasterConfig};
use strata_testkit::{MiniCluster, fast_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn happybase_works_unchanged_in_every_mode() {
    let cluster = MiniCluster::start(fast_config(), &["/r1", "/r2", "/r1"])
        .await
        .unwrap();
    let master = TableMaster::start(
        cluster.client().await,
        TableMasterConfig {
            check_interval: Duration::from_millis(200),
            ..TableMasterConfig::default()
        },
    )
    .await
    .unwrap();
    let mut servers = Vec::new();
    for _ in 0..2 {
        let config = RegionServerConfig {
            report_interval: Duration::from_millis(200),
            ..RegionServerConfig::default()
        };
        servers.push(
            RegionServer::start(cluster.client().await, config)
                .await
                .unwrap(),
        );
    }
    let connection = Connection::new(cluster.client().await, strata_table::DEFAULT_ROOT);
    let thrift = ThriftServer::start("127.0.0.1:0", connection)
        .await
        .unwrap();
    let address = thrift.address();

    // Garbage first: a nonsense first byte, a binary call with a huge string length, a
    // framed call with a huge frame, and a cut-off call. The server drops each connection
    // and keeps serving.
    let huge_string = [
        &[0x80, 0x01, 0x00, 0x01][..],
        &8u32.to_be_bytes(),
        b"getTable",
        &1u32.to_be_bytes(),
        &[0x0b, 0x00, 0x01],
        &0x7fff_ffffu32.to_be_bytes(),
    ]
    .concat();
    let huge_frame = [&0x7fff_ff00u32.to_be_bytes()[..], &[0x80, 0x01]].concat();
    for garbage in [
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
        huge_string,
        huge_frame,
        vec![0x82, 0x21],
        (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect(),
    ] {
        let mut s = std::net::TcpStream::connect(address).unwrap();
        let _ = s.write_all(&garbage);
        drop(s);
    }

    let output = run_client(
        "python3",
        &[&client_script("thrift_happybase.py")],
        &[("STRATA_THRIFT", address.to_string())],
    )
    .await;
    let groups = passed_groups(&output);
    assert_eq!(groups.len(), 6 * 4 + 1, "{groups:?}");
    drop(thrift);
    for server in servers {
        server.shutdown().await;
    }
    master.shutdown().await;
}
