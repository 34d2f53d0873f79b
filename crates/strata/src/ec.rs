//! `strata ec`: erasure coding policies of directories, and converting files between layouts.

use crate::output::{print_json, progress, table};
use crate::settings::Settings;
use anyhow::Context;
use clap::Subcommand;
use serde_json::json;
use std::process::ExitCode;
use strata_client::FileSystem;
use strata_ec::policy::REPLICATION;

/// Options of `strata ec`.
#[derive(Debug, clap::Args)]
pub struct EcArgs {
    #[command(subcommand)]
    command: EcCommand,
}

#[derive(Debug, Subcommand)]
enum EcCommand {
    /// List the policies (built in and added).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add a policy: CODEC-DATA-PARITY-CELL, e.g. RS-6-3-256k (cells of 64k to 4096k).
    AddPolicy { name: String },
    /// Set a directory's policy; files created beneath take the nearest ancestor's.
    Set {
        path: String,
        /// The policy, e.g. RS-6-3-1024k.
        #[arg(required_unless_present = "replicate", conflicts_with = "replicate")]
        policy: Option<String>,
        /// Force replication beneath this directory (inside an erasure-coded one).
        #[arg(long)]
        replicate: bool,
    },
    /// Show the policy files created at a path get (or a file's own layout).
    Get {
        path: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a directory's own policy (it inherits again).
    Unset { path: String },
    /// Rewrite files into their directory's layout (or replication with --replicate).
    Convert {
        /// Files, or directories (every file beneath).
        #[arg(required = true)]
        paths: Vec<String>,
        /// Convert to replication instead.
        #[arg(long)]
        replicate: bool,
    },
}

/// Runs an `ec` command.
pub async fn run(settings: Settings, args: EcArgs) -> anyhow::Result<ExitCode> {
    let master = settings.config.client.master.clone();
    let fs = FileSystem::connect(settings.config.client.clone())
        .await
        .with_context(|| format!("cannot reach the master at {master}"))?;
    match args.command {
        EcCommand::List { json } => {
            let policies = fs.ec_policies().await.context("ec list")?;
            if json {
                let list = policies
                    .iter()
                    .map(|p| json!({"name": p.name, "data_units": p.data_units, "parity_units": p.parity_units,
                        "cell_size": p.cell_size, "built_in": p.built_in}))
                    .collect();
                print_json(&serde_json::Value::Array(list));
                return Ok(ExitCode::SUCCESS);
            }
            let mut t = table(&[
                "POLICY",
                "DATA",
                "PARITY",
                "CELL",
                "WORKERS NEEDED",
                "STORED PER BYTE",
                "ORIGIN",
            ]);
            for p in &policies {
                t.add_row(vec![
                    p.name.clone(),
                    p.data_units.to_string(),
                    p.parity_units.to_string(),
                    strata_core::size::human(p.cell_size as u64),
                    (p.data_units + p.parity_units).to_string(),
                    format!(
                        "{:.2}",
                        (p.data_units + p.parity_units) as f64 / p.data_units as f64
                    ),
                    if p.built_in { "built in" } else { "added" }.to_string(),
                ]);
            }
            outln!("{t}");
        }
        EcCommand::AddPolicy { name } => {
            let p = fs.add_ec_policy(&name).await.context("ec add-policy")?;
            outln!("Policy {} available", p.name);
        }
        EcCommand::Set {
            path,
            policy,
            replicate,
        } => {
            let policy = if replicate {
                REPLICATION.to_string()
            } else {
                policy.unwrap_or_default()
            };
            fs.set_ec_policy(&path, &policy).await.context("ec set")?;
            outln!("Set {policy} on {path}");
        }
        EcCommand::Get { path, json } => {
            let got = fs.get_ec_policy(&path).await.context("ec get")?;
            if json {
                print_json(&json!({"path": path, "policy": got.policy, "set_on": got.set_on}));
            } else if got.set_on.is_empty() {
                outln!("{path}: {} (the default)", got.policy);
            } else if got.set_on == path.trim_end_matches('/') || got.set_on == path {
                outln!("{path}: {}", got.policy);
            } else {
                outln!("{path}: {} (inherited from {})", got.policy, got.set_on);
            }
        }
        EcCommand::Unset { path } => {
            fs.set_ec_policy(&path, "").await.context("ec unset")?;
            outln!("Unset the policy of {path}");
        }
        EcCommand::Convert { paths, replicate } => {
            let layout = if replicate { REPLICATION } else { "" };
            convert(&fs, &paths, layout).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `strata ec convert`: every file named or beneath a named directory, with a progress bar
/// over their bytes.
async fn convert(fs: &FileSystem, paths: &[String], layout: &str) -> anyhow::Result<()> {
    let mut files = Vec::new();
    for p in paths {
        files.extend(
            crate::fs::files_beneath(fs, p)
                .await
                .context("ec convert")?
                .into_iter()
                .map(|s| (s.path, s.length)),
        );
    }
    let bar = progress(Some(files.iter().map(|(_, l)| l).sum()), "convert");
    for (file, length) in files {
        bar.set_message(file.clone());
        let converted = fs.convert(&file, layout).await.context("ec convert")?;
        let layout = if converted.ec_policy.is_empty() {
            format!("replication {}", converted.replication)
        } else {
            converted.ec_policy
        };
        bar.inc(length);
        bar.suspend(|| outln!("{file}: {layout}"));
    }
    bar.finish_and_clear();
    Ok(())
}
