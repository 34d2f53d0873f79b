//! `strata master`, `strata worker` and `strata gateway`: one role per process, for clusters
//! across hosts.

use crate::http_ports::{ServedWorker, start_master_http, start_webhdfs_gateway};
use crate::settings::Settings;
use std::path::PathBuf;
use std::process::ExitCode;
use strata_client::FileSystem;
use strata_core::ByteSize;
use strata_core::config::{ClientConfig, GatewayConfig};
use strata_core::tier::{self, Medium, TierDir};
use strata_gateway::S3Endpoint;
use strata_master::Master;

/// Options of `strata master`.
#[derive(Debug, clap::Args)]
pub struct MasterArgs {
    /// Address of the RPC port (port 0 picks a free one) [default: 127.0.0.1:8020].
    #[arg(long, value_name = "HOST:PORT")]
    listen: Option<String>,
    /// Address of the HTTP port, serving WebHDFS ("" for none) [default: 127.0.0.1:9870].
    #[arg(long, value_name = "HOST:PORT")]
    http_listen: Option<String>,
    /// Where the journal and snapshots live [default: ./strata-data/master].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

/// Options of `strata worker` (the master is given with the global `--master`).
#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    /// Address of the data port (port 0 picks a free one) [default: 127.0.0.1:0].
    #[arg(long, value_name = "HOST:PORT")]
    listen: Option<String>,
    /// Address of the HTTP port, serving WebHDFS reads and writes ("" for none) [default:
    /// 127.0.0.1:0].
    #[arg(long, value_name = "HOST:PORT")]
    http_listen: Option<String>,
    /// Where block files live [default: ./strata-data/worker].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The rack this worker is in, e.g. /rack1 [default: /default-rack].
    #[arg(long, value_name = "NAME")]
    rack: Option<String>,
    /// Space this worker may use, e.g. 500GiB [default: the disk's size].
    #[arg(long, value_name = "SIZE")]
    capacity: Option<ByteSize>,
    /// A storage tier directory, e.g. MEM:/dev/shm/strata:4GiB or HDD:/data1/strata (repeat
    /// for more; new blocks go to the fastest tier with room) [default: a MEM tier under
    /// /dev/shm, then HDD in --data-dir].
    #[arg(long = "tier", value_name = "MEDIUM:DIR[:SIZE]", value_parser = tier::parse_dir_spec)]
    tiers: Vec<(Medium, TierDir)>,
    /// Size of the default MEM tier (without --tier), 0 for none [default: a quarter of
    /// /dev/shm].
    #[arg(long, value_name = "SIZE")]
    memory: Option<ByteSize>,
    /// Host name registered with the master when listening on a wildcard address.
    #[arg(long, value_name = "HOST")]
    advertise_host: Option<String>,
}

/// Options of `strata gateway` (the master is given with the global `--master`).
#[derive(Debug, clap::Args)]
pub struct GatewayArgs {
    /// Address of the S3 endpoint ("" for none) [default: 127.0.0.1:9878].
    #[arg(long, value_name = "HOST:PORT")]
    s3_listen: Option<String>,
    /// Address of the WebHDFS endpoint ("" for none) [default: 127.0.0.1:14000].
    #[arg(long, value_name = "HOST:PORT")]
    webhdfs_listen: Option<String>,
    /// Address of the Thrift server over the table store ("" for none) [default:
    /// 127.0.0.1:9090].
    #[arg(long, value_name = "HOST:PORT")]
    thrift_listen: Option<String>,
}

/// Waits for Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let term = async {
        match term.as_mut() {
            Some(t) => {
                t.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// Runs the master until Ctrl-C or SIGTERM.
pub async fn run_master(settings: Settings, args: MasterArgs) -> anyhow::Result<ExitCode> {
    let mut config = settings.config.master;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(listen) = args.http_listen {
        config.http_listen = listen;
    }
    if let Some(dir) = args.data_dir {
        config.data_dir = dir;
    }
    let master = Master::start(config.clone()).await?;
    let cluster_id = master.state().cluster.lock().cluster_id.clone();
    let mut client = settings.config.client;
    client.master = master.address().to_string();
    let http = match start_master_http(&config.http_listen, client, master.metrics()).await {
        Ok(http) => http,
        Err(e) => {
            master.shutdown().await;
            return Err(e);
        }
    };
    outln!(
        "Strata master listening on {} (cluster {cluster_id}, data {})",
        master.address(),
        config.data_dir.display()
    );
    if let Some(http) = &http {
        outln!("Status page at {}/", http.url());
        outln!("Metrics at {}/metrics", http.url());
        outln!("WebHDFS at {}/webhdfs/v1", http.url());
    }
    shutdown_signal().await;
    eprintln!("stopping the master");
    drop(http);
    master.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// Runs a worker until Ctrl-C or SIGTERM.
pub async fn run_worker(settings: Settings, args: WorkerArgs) -> anyhow::Result<ExitCode> {
    let mut config = settings.config.worker;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(listen) = args.http_listen {
        config.http_listen = listen;
    }
    if let Some(dir) = args.data_dir {
        config.data_dir = dir;
    }
    if let Some(rack) = args.rack {
        config.rack = rack;
    }
    if let Some(capacity) = args.capacity {
        config.capacity = capacity;
    }
    if args.memory.is_some() {
        config.memory = args.memory;
    }
    if args.advertise_host.is_some() {
        config.advertise_host = args.advertise_host;
    }
    if !args.tiers.is_empty() {
        config.tiers = tier::group(args.tiers);
        tier::validate(&config.tiers).map_err(|e| anyhow::anyhow!("worker: --tier: {e}"))?;
    }
    let mut client = settings.config.client;
    client.master = config.master.clone();
    let served = ServedWorker::start(config.clone(), client).await?;
    let address = served.worker.address();
    outln!(
        "Strata worker {} listening on {} (rack {}, master {}, data {})",
        address.id,
        address.data_address,
        config.rack,
        config.master,
        config.data_dir.display()
    );
    if !address.http_address.is_empty() {
        outln!("Metrics at http://{}/metrics", address.http_address);
        outln!("WebHDFS data at http://{}", address.http_address);
    }
    shutdown_signal().await;
    eprintln!("stopping the worker");
    served.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// Connects to the master `client` names and serves S3 over it as `gateway` says (none when
/// `s3_listen` is empty).
pub async fn start_s3(
    gateway: &GatewayConfig,
    client: ClientConfig,
) -> anyhow::Result<Option<S3Endpoint>> {
    if gateway.s3_listen.is_empty() {
        return Ok(None);
    }
    let fs = FileSystem::connect(client).await?;
    Ok(Some(S3Endpoint::start(gateway, fs).await?))
}

/// Runs the gateway (S3 and WebHDFS) until Ctrl-C or SIGTERM.
pub async fn run_gateway(settings: Settings, args: GatewayArgs) -> anyhow::Result<ExitCode> {
    let mut gateway = settings.config.gateway;
    if let Some(listen) = args.s3_listen {
        gateway.s3_listen = listen;
    }
    if let Some(listen) = args.webhdfs_listen {
        gateway.webhdfs_listen = listen;
    }
    let thrift_listen = args
        .thrift_listen
        .unwrap_or_else(|| settings.config.table.thrift_listen.clone());
    anyhow::ensure!(
        !gateway.s3_listen.is_empty()
            || !gateway.webhdfs_listen.is_empty()
            || !thrift_listen.is_empty(),
        "the gateway serves nothing: --s3-listen, --webhdfs-listen and --thrift-listen are empty"
    );
    tracing::info!(?gateway, client = ?settings.config.client, "gateway configuration");
    let master = settings.config.client.master.clone();
    let s3 = start_s3(&gateway, settings.config.client.clone()).await?;
    let webhdfs =
        start_webhdfs_gateway(&gateway.webhdfs_listen, settings.config.client.clone()).await?;
    let thrift = if thrift_listen.is_empty() {
        None
    } else {
        let fs = FileSystem::connect(settings.config.client.clone()).await?;
        let connection = strata_table::Connection::new(fs, &settings.config.table.root);
        Some(strata_gateway::ThriftServer::start(&thrift_listen, connection).await?)
    };
    outln!("Strata gateway (master {master})");
    if let Some(s3) = &s3 {
        outln!(
            "  s3        {}  ({} key(s){})",
            s3.url(),
            gateway.s3_keys.len(),
            if gateway.s3_anonymous {
                ", unsigned requests allowed"
            } else {
                ""
            }
        );
    }
    if let Some(webhdfs) = &webhdfs {
        outln!("  webhdfs   {}/webhdfs/v1", webhdfs.url());
    }
    if let Some(thrift) = &thrift {
        outln!("  thrift    {}", thrift.address());
    }
    shutdown_signal().await;
    eprintln!("stopping the gateway");
    drop((s3, webhdfs, thrift));
    Ok(ExitCode::SUCCESS)
}
