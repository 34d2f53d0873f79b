//! The S3 face with real clients: boto3 and the aws CLI (installed by `scripts/test.sh`) run
//! against an S3 endpoint on an in-process cluster, and the same objects seen as files.

mod clients;
#[path = "../common/mod.rs"]
mod common;
mod namespace;

use common::run_client;
use std::process::Output;
use strata_core::config::{Config, GatewayConfig, S3Key};
use strata_gateway::S3Endpoint;
use strata_testkit::{MiniCluster, fast_config};

/// The key pair the endpoint accepts in these tests.
const ACCESS_KEY: &str = "test-access";
const SECRET_KEY: &str = "test-secret-key";

/// A cluster with an S3 endpoint in front of it.
struct Gateway {
    cluster: MiniCluster,
    endpoint: S3Endpoint,
}

impl Gateway {
    async fn start() -> Gateway {
        let mut config: Config = fast_config();
        // Large objects in few blocks: 100 MiB is 13 blocks, not 100.
        config.master.default_block_size = strata_core::ByteSize(8 << 20);
        let cluster = MiniCluster::start(config, &["/r1", "/r1", "/r2"])
            .await
            .unwrap();
        let endpoint = Self::endpoint(&cluster).await;
        Gateway { cluster, endpoint }
    }

    async fn endpoint(cluster: &MiniCluster) -> S3Endpoint {
        let gateway = GatewayConfig {
            s3_listen: "127.0.0.1:0".to_string(),
            s3_keys: vec![S3Key {
                access_key: ACCESS_KEY.to_string(),
                secret_key: SECRET_KEY.to_string(),
            }],
            s3_anonymous: false,
            ..GatewayConfig::default()
        };
        S3Endpoint::start(&gateway, cluster.client().await)
            .await
            .unwrap()
    }

    /// Runs `program` with the endpoint and keys in its environment; panics with its output
    /// unless it succeeds.
    async fn run(&self, program: &str, args: &[&str]) -> Output {
        let env = [
            ("STRATA_S3_ENDPOINT", self.endpoint.url()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_string()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_string()),
            ("AWS_DEFAULT_REGION", "us-east-1".to_string()),
            ("AWS_CONFIG_FILE", "/dev/null".to_string()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".to_string()),
        ];
        run_client(program, args, &env).await
    }

    /// Runs a Python snippet (with boto3 imported and `s3`, a client of the endpoint, made).
    async fn python(&self, snippet: &str) -> String {
        let script = format!(
            "import boto3, os, sys\n\
             s3 = boto3.client('s3', endpoint_url=os.environ['STRATA_S3_ENDPOINT'], \
             region_name='us-east-1')\n{snippet}\n"
        );
        let output = self.run("python3", &["-c", &script]).await;
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}
