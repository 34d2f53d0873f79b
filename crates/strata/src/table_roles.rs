//! `strata table-master` and `strata region-server`: the table store's roles, one per
//! process, for clusters across hosts (`strata local` runs them in its own process).

use crate::roles::shutdown_signal;
use crate::settings::Settings;
use std::process::ExitCode;
use strata_client::FileSystem;
use strata_table::server::{RegionServer, RegionServerConfig, TableMaster, TableMasterConfig};

/// Options of `strata table-master` (the Strata master is the global `--master`).
#[derive(Debug, clap::Args)]
pub struct TableMasterArgs {
    /// Address of its RPC port [default: 127.0.0.1:16000].
    #[arg(long, value_name = "HOST:PORT")]
    listen: Option<String>,
    /// Host name registered when listening on a wildcard address.
    #[arg(long, value_name = "HOST")]
    advertise_host: Option<String>,
}

/// Options of `strata region-server` (the Strata master is the global `--master`).
#[derive(Debug, clap::Args)]
pub struct RegionServerArgs {
    /// Address of its RPC port [default: 127.0.0.1:16020].
    #[arg(long, value_name = "HOST:PORT")]
    listen: Option<String>,
    /// Host name registered when listening on a wildcard address.
    #[arg(long, value_name = "HOST")]
    advertise_host: Option<String>,
}

/// Runs a table master (active or standing by) until Ctrl-C or SIGTERM.
pub async fn run_table_master(
    settings: Settings,
    args: TableMasterArgs,
) -> anyhow::Result<ExitCode> {
    let mut config = TableMasterConfig::from_config(&settings.config.table);
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    config.advertise_host = args.advertise_host;
    tracing::info!(?config, "table master configuration");
    let fs = FileSystem::connect(settings.config.client.clone()).await?;
    let master = TableMaster::start(fs, config.clone()).await?;
    outln!(
        "Strata table master listening on {} (root {}, Strata master {})",
        master.address(),
        config.root,
        settings.config.client.master
    );
    shutdown_signal().await;
    eprintln!("stopping the table master");
    master.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// Runs a region server until Ctrl-C or SIGTERM (its regions are flushed and closed).
pub async fn run_region_server(
    settings: Settings,
    args: RegionServerArgs,
) -> anyhow::Result<ExitCode> {
    let mut config = RegionServerConfig::from_config(&settings.config.table);
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    config.advertise_host = args.advertise_host;
    tracing::info!(?config, "region server configuration");
    let fs = FileSystem::connect(settings.config.client.clone()).await?;
    let server = RegionServer::start(fs, config.clone()).await?;
    outln!(
        "Strata region server listening on {} (root {}, Strata master {})",
        server.address(),
        config.root,
        settings.config.client.master
    );
    shutdown_signal().await;
    eprintln!("stopping the region server");
    server.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
