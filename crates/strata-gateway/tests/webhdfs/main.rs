//! The WebHDFS face with real clients: HdfsCLI (PyPI `hdfs`) and Hadoop's own `FsShell` from
//! the pyspark jars (installed by `scripts/test.sh`) against an in-process cluster whose
//! master face redirects to data faces on each worker's HTTP port.

mod clients;

use std::path::PathBuf;
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
        let output = tokio::process::Command::new(program)
            .args(args)
            .env("STRATA_WEBHDFS", self.namenode.url())
            .output()
            .await
            .unwrap_or_else(|e| panic!("cannot run {program} (scripts/test.sh installs it): {e}"));
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "{program} {args:?} failed ({}):\n{stdout}\n{stderr}",
            output.status
        );
        output
    }
}

/// A script in `tests/clients/`.
fn client_script(name: &str) -> String {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "clients", name]
        .iter()
        .collect();
    path.to_string_lossy().into_owned()
}

/// The `ok ...` lines a client script printed, after echoing its output.
fn passed_groups(output: &Output) -> Vec<String> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    (stdout.lines())
        .filter(|l| l.starts_with("ok "))
        .map(str::to_string)
        .collect()
}
