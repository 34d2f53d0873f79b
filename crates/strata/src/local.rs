//! `strata local`: a whole cluster in one process, for one machine.

use crate::http_ports::{ServedWorker, start_master_http};
use crate::output::size;
use crate::roles::{shutdown_signal, start_s3};
use crate::settings::Settings;
use std::path::PathBuf;
use std::process::ExitCode;
use strata_client::FileSystem;
use strata_core::ByteSize;
use strata_core::config::{ClientConfig, GatewayConfig, S3Key};
use strata_core::metrics::MetricsRegistry;
use strata_gateway::{HttpEndpoint, S3Endpoint, ThriftServer};
use strata_master::Master;
use strata_table::Connection;
use strata_table::server::{RegionServer, RegionServerConfig, TableMaster, TableMasterConfig};
use strata_worker::memory_dirs::{self, Unmarked};
use strata_worker::tier_layout::default_memory_size;

/// Options of `strata local`.
#[derive(Debug, clap::Args)]
pub struct LocalArgs {
    /// Number of workers (spread over two racks).
    #[arg(long, default_value_t = 3)]
    workers: usize,
    /// Where all data lives (master/ and worker-N/ beneath it).
    #[arg(long, value_name = "DIR", default_value = "./strata-data")]
    data_dir: PathBuf,
    /// Address of the master's RPC port [default: 127.0.0.1:8020].
    #[arg(long, value_name = "HOST:PORT")]
    listen: Option<String>,
    /// Size of each worker's MEM tier (in the configuration's `memory_dir`, /dev/shm by
    /// default); 0 turns it off [default: a quarter of that tmpfs, shared by the workers].
    #[arg(long, value_name = "SIZE")]
    memory: Option<ByteSize>,
    /// Address of the S3 endpoint ("" for none) [default: 127.0.0.1:9878].
    #[arg(long, value_name = "HOST:PORT")]
    s3_listen: Option<String>,
    /// Address of the master's HTTP port, serving WebHDFS ("" for none) [default:
    /// 127.0.0.1:9870].
    #[arg(long, value_name = "HOST:PORT")]
    http_listen: Option<String>,
    /// Address of the table master's RPC port [default: 127.0.0.1:16000].
    #[arg(long, value_name = "HOST:PORT")]
    table_master_listen: Option<String>,
    /// Address of the Thrift server (HBase's Thrift1 API, what happybase speaks; "" for
    /// none) [default: 127.0.0.1:9090].
    #[arg(long, value_name = "HOST:PORT")]
    thrift_listen: Option<String>,
}

/// The key pair `strata local` accepts on S3 when the configuration names none.
pub const LOCAL_S3_KEY: (&str, &str) = ("strata", "strata-local-secret");

/// What `strata local` runs, stopped in reverse order.
struct Running {
    master: Master,
    workers: Vec<ServedWorker>,
    s3: Option<S3Endpoint>,
    webhdfs: Option<HttpEndpoint>,
    table_master: Option<TableMaster>,
    region_servers: Vec<RegionServer>,
    thrift: Option<ThriftServer>,
}

impl Running {
    async fn shutdown(self) {
        drop(self.thrift);
        for server in self.region_servers {
            server.shutdown().await;
        }
        if let Some(master) = self.table_master {
            master.shutdown().await;
        }
        drop((self.s3, self.webhdfs));
        for w in self.workers {
            w.shutdown().await;
        }
        self.master.shutdown().await;
    }
}

/// Runs the embedded cluster until Ctrl-C.
pub async fn run(settings: Settings, args: LocalArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.workers >= 1, "--workers must be at least 1");
    let logs = crate::logging::init_local(&args.data_dir.join("logs"))?;
    let mut master_config = settings.config.master.clone();
    master_config.data_dir = args.data_dir.join("master");
    // A cluster of fewer workers than replicas could never heal to full replication.
    let workers = u32::try_from(args.workers).unwrap_or(u32::MAX);
    if master_config.default_replication > workers {
        eprintln!(
            "note: {workers} worker(s), so new files get replication {workers} instead of {}",
            master_config.default_replication
        );
        master_config.default_replication = workers;
    }
    if let Some(listen) = &args.listen {
        master_config.listen = listen.clone();
    }
    if let Some(listen) = &args.http_listen {
        master_config.http_listen = listen.clone();
    }
    let mut gateway = settings.config.gateway.clone();
    if let Some(listen) = &args.s3_listen {
        gateway.s3_listen = listen.clone();
    }
    if gateway.s3_keys.is_empty() && !gateway.s3_anonymous {
        gateway.s3_keys.push(S3Key {
            access_key: LOCAL_S3_KEY.0.to_string(),
            secret_key: LOCAL_S3_KEY.1.to_string(),
        });
    }
    let master = Master::start(master_config.clone()).await?;
    let http_listen = master_config.http_listen;
    let master_address = master.address().to_string();
    let mut client = settings.config.client.clone();
    client.master = master_address.clone();
    let mut running = Running {
        master,
        workers: Vec::new(),
        s3: None,
        webhdfs: None,
        table_master: None,
        region_servers: Vec::new(),
        thrift: None,
    };
    let faces = Faces {
        gateway: &gateway,
        http_listen: &http_listen,
        metrics: running.master.metrics(),
        client: &client,
    };
    if let Err(e) = start_around_master(&mut running, &settings, &args, faces).await {
        running.shutdown().await;
        return Err(e);
    }
    // Every worker holds its own MEM tier now; what earlier runs left is nobody's.
    let swept = memory_dirs::sweep(&settings.config.worker.memory_dir, Unmarked::Remove);
    outln!(
        "Strata local cluster is up (data in {}, logs in {})",
        args.data_dir.display(),
        logs.display()
    );
    if !swept.is_empty() {
        let bytes = swept.iter().map(|s| s.bytes).sum::<u64>();
        outln!(
            "  (freed {} of RAM: {} MEM-tier director{} left in {} by clusters that are gone)",
            size(bytes, true),
            swept.len(),
            if swept.len() == 1 { "y" } else { "ies" },
            settings.config.worker.memory_dir.display()
        );
    }
    outln!("  master    {master_address}");
    for w in &running.workers {
        let w = &w.worker;
        let tiers: Vec<String> = (w.context().store.storage().tiers.iter())
            .map(|t| format!("{} {}", t.medium, size(t.capacity, true)))
            .collect();
        let http = &w.address().http_address;
        outln!(
            "  worker    {}  rack {}  {}  ({}{}{})",
            w.address().data_address,
            w.address().rack,
            tiers.join(" + "),
            w.address().id,
            if http.is_empty() { "" } else { ", http " },
            http
        );
    }
    if let Some(s3) = &running.s3 {
        let key = gateway.s3_keys.first().map(|k| k.access_key.as_str());
        outln!(
            "  s3        {}  (access key {})",
            s3.url(),
            key.unwrap_or("none: unsigned requests")
        );
    }
    if let Some(webhdfs) = &running.webhdfs {
        outln!("  webhdfs   {}/webhdfs/v1", webhdfs.url());
        outln!("  status    {}/  (metrics at /metrics)", webhdfs.url());
    }
    if let Some(table_master) = &running.table_master {
        outln!("  tables    master {}", table_master.address());
        for server in &running.region_servers {
            outln!("  region    {}", server.address());
        }
    }
    if let Some(thrift) = &running.thrift {
        outln!(
            "  thrift    {}  (HBase Thrift1, as happybase speaks it)",
            thrift.address()
        );
    }
    let flag = if master_address == strata_core::config::DEFAULT_MASTER_ADDRESS {
        String::new()
    } else {
        format!(" --master {master_address}")
    };
    outln!();
    outln!("Try, in another terminal:");
    outln!("  strata fs{flag} mkdir -p /demo");
    outln!("  strata fs{flag} put /etc/hosts /demo/");
    outln!("  strata fs{flag} ls -h /demo");
    outln!("  strata fs{flag} cat /demo/hosts");
    outln!("  strata admin{flag} report");
    outln!("  strata admin{flag} fsck /");
    if let Some(s3) = &running.s3
        && gateway
            .s3_keys
            .first()
            .map(|k| (k.access_key.as_str(), k.secret_key.as_str()))
            == Some(LOCAL_S3_KEY)
    {
        outln!(
            "  AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={} aws --endpoint-url {} s3 ls s3://demo/",
            LOCAL_S3_KEY.0,
            LOCAL_S3_KEY.1,
            s3.url()
        );
    }
    if let Some(webhdfs) = &running.webhdfs {
        outln!(
            "  curl -L '{}/webhdfs/v1/demo/hosts?op=OPEN'",
            webhdfs.url()
        );
    }
    outln!();
    outln!("Press Ctrl-C to stop.");
    shutdown_signal().await;
    eprintln!("stopping the local cluster");
    running.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// What the faces around the master are started with.
struct Faces<'a> {
    gateway: &'a GatewayConfig,
    http_listen: &'a str,
    metrics: MetricsRegistry,
    client: &'a ClientConfig,
}

/// Starts the workers, the S3 endpoint and the master's HTTP port around a started master.
async fn start_around_master(
    running: &mut Running,
    settings: &Settings,
    args: &LocalArgs,
    faces: Faces<'_>,
) -> anyhow::Result<()> {
    let client = faces.client;
    let workers_wanted = args.workers as u64;
    for i in 0..args.workers {
        let mut config = settings.config.worker.clone();
        let name = format!("worker-{}", i + 1);
        config.data_dir = args.data_dir.join(&name);
        if config.tiers.is_empty() {
            let share = || ByteSize(default_memory_size(&config.memory_dir) / workers_wanted);
            config.memory = Some(args.memory.or(config.memory).unwrap_or_else(share));
        }
        // The workers share one configuration: each gets its own directory in every tier.
        for dir in config.tiers.iter_mut().flat_map(|t| t.dirs.iter_mut()) {
            dir.path = if dir.path.is_relative() {
                config.data_dir.join(&dir.path)
            } else {
                dir.path.join(&name)
            };
        }
        config.master = client.master.clone();
        config.rack = format!("/rack{}", i % 2 + 1);
        running
            .workers
            .push(ServedWorker::start(config, client.clone()).await?);
    }
    running.s3 = start_s3(faces.gateway, client.clone()).await?;
    running.webhdfs = start_master_http(faces.http_listen, client.clone(), faces.metrics).await?;
    start_tables(running, settings, args, client).await
}

/// Starts the table master and one region server beside each worker.
async fn start_tables(
    running: &mut Running,
    settings: &Settings,
    args: &LocalArgs,
    client: &ClientConfig,
) -> anyhow::Result<()> {
    let table = &settings.config.table;
    let mut master_config = TableMasterConfig::from_config(table);
    if let Some(listen) = &args.table_master_listen {
        master_config.listen = listen.clone();
    }
    let fs = FileSystem::connect(client.clone()).await?;
    running.table_master = Some(TableMaster::start(fs.clone(), master_config).await?);
    for worker in &running.workers {
        let mut config = RegionServerConfig::from_config(table);
        config.listen = format!("{}:0", worker.worker.address().host);
        running
            .region_servers
            .push(RegionServer::start(fs.clone(), config).await?);
    }
    let thrift_listen = args.thrift_listen.as_ref().unwrap_or(&table.thrift_listen);
    if !thrift_listen.is_empty() {
        let connection = Connection::new(fs, &table.root);
        running.thrift = Some(ThriftServer::start(thrift_listen, connection).await?);
    }
    Ok(())
}
