//! The WebHDFS face with real clients: HdfsCLI (PyPI `hdfs`) and Hadoop's own `FsShell` from
//! the pyspark jars (installed by `scripts/test.sh`) against an in-process cluster whose
//! master face redirects to data faces on each worker's HTTP port.

mod clients;
#[path = "../common/mod.rs"]
mod common;

use common::run_client;
use std::process::Output;
use strata_core::config::Config;
use strata_gateway::HttpEndpoint;
use strata_gateway::webhdfs::{datanode_router, namenode_router};
use strata_testkit::{MiniCluster, fast_config};

/// A cluster with the master's WebHDFS face and a data face per worker.
struct WebHdfs {
    cluster: MiniCluster,
    namenode: HttpEndpoint,
    _datanodes: Vec<HttpEndpoint>,
}

impl WebHdfs {
    async fn start() -> WebHdfs {
        let mut config: Config = fast_config();
        // A 10 MiB file is three blocks.
        config.master.default_block_size = strata_core::ByteSize(4 << 20);
        let mut cluster = MiniCluster::start(config, &["/r1", "/r1", "/r2"])
            .await
            .unwrap();
        let fs = cluster.client().await;
        let mut datanodes = Vec::new();
        for i in 0..cluster.worker_count() {
            let port = cluster.take_worker_http_port(i).unwrap();
            let face = datanode_router(fs.clone());
            datanodes.push(HttpEndpoint::serve_bound(port, "WebHDFS data face", face).unwrap());
        }
        let namenode = HttpEndpoint::start("127.0.0.1:0", "WebHDFS", namenode_router(fs))
            .await
            .unwrap();
        WebHdfs {
            cluster,
            namenode,
            _datanodes: datanodes,
        }
    }

    /// Runs `program` with the endpoint's URL in `STRATA_WEBHDFS`; panics with its output
    /// unless it succeeds.
    async fn run(&self, program: &str, args: &[&str]) -> Output {
        run_client(program, args, &[("STRATA_WEBHDFS", self.namenode.url())]).await
    }
}
