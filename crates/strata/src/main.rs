//! `strata`: one binary for every role of a Strata cluster and every client command.

#[macro_use]
mod output;
mod admin;
mod bench;
mod cache;
mod ec;
mod fs;
mod http_ports;
mod local;
mod logging;
mod roles;
mod settings;
mod table_roles;
mod table_shell;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Strata: a replicated, self-healing distributed file system.
#[derive(Debug, Parser)]
#[command(name = "strata", version, about, long_about = None)]
struct Cli {
    /// Configuration file (TOML with [master], [worker], [client], [gateway] sections).
    #[arg(long, global = true, env = "STRATA_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// The master's RPC address for client commands.
    #[arg(long, global = true, env = "STRATA_MASTER", value_name = "HOST:PORT")]
    master: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run an embedded cluster on this machine: a master and several workers.
    Local(local::LocalArgs),
    /// Run the metadata server.
    Master(roles::MasterArgs),
    /// Run a block server.
    Worker(roles::WorkerArgs),
    /// Run the S3 endpoint over a cluster.
    Gateway(roles::GatewayArgs),
    /// Run a table master of the table store (one is active, others stand by).
    TableMaster(table_roles::TableMasterArgs),
    /// Run a region server of the table store.
    RegionServer(table_roles::RegionServerArgs),
    /// File system commands (ls, put, get, cat, rm, ...).
    Fs(fs::FsArgs),
    /// Cluster administration (report, fsck, decommission, safemode).
    Admin(admin::AdminArgs),
    /// The cache over under storage (mount, unmount, mounts, sync).
    Cache(cache::CacheArgs),
    /// Erasure coding policies (list, set, get, unset, convert, add-policy).
    Ec(ec::EcArgs),
    /// The table store's shell (create, list, put, get, scan, delete, ...), as HBase's.
    Table(table_shell::TableArgs),
    /// Measure throughput and metadata speed against a running cluster.
    Bench(bench::BenchArgs),
    /// Print the configuration in effect (defaults, the --config file, overrides) as TOML.
    Config,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `strata local` sets up its log files itself, once it knows its data directory.
    if !matches!(cli.command, Command::Local(_)) {
        let server = matches!(
            cli.command,
            Command::Master(_)
                | Command::Worker(_)
                | Command::Gateway(_)
                | Command::TableMaster(_)
                | Command::RegionServer(_)
        );
        logging::init_terminal(server);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("strata: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli));
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("strata: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = settings::Settings::load(cli.config.as_deref(), cli.master.as_deref())?;
    match cli.command {
        Command::Local(args) => local::run(settings, args).await,
        Command::Master(args) => roles::run_master(settings, args).await,
        Command::Worker(args) => roles::run_worker(settings, args).await,
        Command::Gateway(args) => roles::run_gateway(settings, args).await,
        Command::TableMaster(args) => table_roles::run_table_master(settings, args).await,
        Command::RegionServer(args) => table_roles::run_region_server(settings, args).await,
        Command::Fs(args) => fs::run(settings, args).await,
        Command::Admin(args) => admin::run(settings, args).await,
        Command::Ec(args) => ec::run(settings, args).await,
        Command::Table(args) => table_shell::run(settings, args).await,
        Command::Cache(args) => cache::run(settings, args).await,
        Command::Bench(args) => bench::run(settings, args).await,
        Command::Config => {
            out!("{}", settings.config.to_toml());
            Ok(ExitCode::SUCCESS)
        }
    }
}
