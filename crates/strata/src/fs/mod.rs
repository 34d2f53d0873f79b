//! `strata fs`: the file system commands, named and behaving like `hdfs dfs`.

mod copy;
mod listing;

use crate::settings::Settings;
use anyhow::Context;
use clap::Subcommand;
use std::process::ExitCode;
use std::time::Duration;
use strata_client::{CreateOptions, FileStatus, FileSystem, is_directory};
use strata_core::Error;
use strata_core::permission::Permission;
use strata_proto::rpc::BlockHealth;

/// Options of `strata fs`.
#[derive(Debug, clap::Args)]
pub struct FsArgs {
    #[command(subcommand)]
    command: FsCommand,
}

#[derive(Debug, Subcommand)]
enum FsCommand {
    /// List a directory (or show a file).
    Ls(listing::LsArgs),
    /// Create directories.
    Mkdir {
        /// Create parent directories as needed; no error if the directory exists.
        #[arg(short = 'p')]
        parents: bool,
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Copy local files (or stdin with `-`) into Strata.
    Put(copy::PutArgs),
    /// Copy files from Strata to the local disk.
    Get(copy::GetArgs),
    /// Print files to stdout.
    Cat {
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Print the first bytes of a file (1 KiB unless -c).
    Head(copy::EndArgs),
    /// Print the last bytes of a file (1 KiB unless -c).
    Tail(copy::EndArgs),
    /// Delete files or directories.
    Rm {
        /// Delete directories and their contents.
        #[arg(short = 'r', short_alias = 'R')]
        recursive: bool,
        /// No error when a path does not exist.
        #[arg(short = 'f')]
        force: bool,
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Move or rename (the last path may be an existing directory to move into).
    Mv {
        #[arg(required = true, num_args = 2..)]
        paths: Vec<String>,
    },
    /// Copy within Strata (the last path may be an existing directory).
    Cp(copy::CpArgs),
    /// Show the status of paths.
    Stat(listing::StatArgs),
    /// Space used beneath paths.
    Du(listing::DuArgs),
    /// Count directories, files and bytes beneath paths.
    Count(listing::CountArgs),
    /// Change the replication of files (directories: every file beneath).
    Setrep {
        /// Wait until every block has the new number of replicas.
        #[arg(short = 'w')]
        wait: bool,
        replication: u32,
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Create empty files.
    Touchz {
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Append local files (or stdin with `-`) to a file, creating it if needed.
    #[command(name = "appendToFile")]
    AppendToFile {
        #[arg(required = true, num_args = 2..)]
        paths: Vec<String>,
    },
    /// Print the CRC32C of files (combined from block checksums, block size independent).
    Checksum {
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Test a path: exit 0 when true, 1 when false.
    Test(TestArgs),
    /// Change permission bits (octal).
    Chmod {
        /// Apply to everything beneath directories.
        #[arg(short = 'R')]
        recursive: bool,
        mode: String,
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Change owner (OWNER[:GROUP] or :GROUP).
    Chown {
        /// Apply to everything beneath directories.
        #[arg(short = 'R')]
        recursive: bool,
        owner: String,
        #[arg(required = true)]
        paths: Vec<String>,
    },
}

/// Options of `strata fs test`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("check").required(true).multiple(false)))]
pub struct TestArgs {
    /// The path exists.
    #[arg(short = 'e', group = "check")]
    exists: bool,
    /// The path is a directory.
    #[arg(short = 'd', group = "check")]
    directory: bool,
    /// The path is a file.
    #[arg(short = 'f', group = "check")]
    file: bool,
    /// The path is a non-empty file.
    #[arg(short = 's', group = "check")]
    non_empty: bool,
    /// The path is an empty file.
    #[arg(short = 'z', group = "check")]
    zero: bool,
    path: String,
}

/// Runs an `fs` command.
pub async fn run(settings: Settings, args: FsArgs) -> anyhow::Result<ExitCode> {
    let master = settings.config.client.master.clone();
    let fs = FileSystem::connect(settings.config.client.clone())
        .await
        .with_context(|| format!("cannot reach the master at {master} (is `strata local` running? set --master or STRATA_MASTER)"))?;
    match args.command {
        FsCommand::Ls(a) => listing::ls(&fs, a).await,
        FsCommand::Mkdir { parents, paths } => {
            for p in &paths {
                fs.mkdirs(p, parents).await.context("mkdir")?;
            }
            Ok(ExitCode::SUCCESS)
        }
        FsCommand::Put(a) => copy::put(&fs, a).await,
        FsCommand::Get(a) => copy::get(&fs, a).await,
        FsCommand::Cat { paths } => copy::cat(&fs, &paths).await,
        FsCommand::Head(a) => copy::head(&fs, a).await,
        FsCommand::Tail(a) => copy::tail(&fs, a).await,
        FsCommand::Rm {
            recursive,
            force,
            paths,
        } => rm(&fs, recursive, force, &paths).await,
        FsCommand::Mv { paths } => mv(&fs, &paths).await,
        FsCommand::Cp(a) => copy::cp(&fs, a).await,
        FsCommand::Stat(a) => listing::stat(&fs, a).await,
        FsCommand::Du(a) => listing::du(&fs, a).await,
        FsCommand::Count(a) => listing::count(&fs, a).await,
        FsCommand::Setrep {
            wait,
            replication,
            paths,
        } => setrep(&fs, wait, replication, &paths).await,
        FsCommand::Touchz { paths } => touchz(&fs, &paths).await,
        FsCommand::AppendToFile { paths } => copy::append_to_file(&fs, &paths).await,
        FsCommand::Checksum { paths } => {
            for p in &paths {
                let sum = fs.checksum(p).await.context("checksum")?;
                outln!("{p}\tCOMPOSITE-CRC32C\t{:08x}", sum.crc32c);
            }
            Ok(ExitCode::SUCCESS)
        }
        FsCommand::Test(a) => test(&fs, a).await,
        FsCommand::Chmod {
            recursive,
            mode,
            paths,
        } => {
            let mode = Permission::parse_octal(&mode).ok_or_else(|| {
                anyhow::anyhow!("chmod: {mode:?} is not an octal mode such as 755")
            })?;
            for p in &paths {
                for target in targets(&fs, p, recursive).await.context("chmod")? {
                    fs.set_permission(&target, mode.0).await.context("chmod")?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        FsCommand::Chown {
            recursive,
            owner,
            paths,
        } => {
            let (user, group) = owner.split_once(':').unwrap_or((owner.as_str(), ""));
            for p in &paths {
                for target in targets(&fs, p, recursive).await.context("chown")? {
                    fs.set_owner(&target, user, group).await.context("chown")?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `path`, and with `recursive` everything beneath it.
async fn targets(fs: &FileSystem, path: &str, recursive: bool) -> strata_core::Result<Vec<String>> {
    let mut out = vec![path.to_string()];
    if recursive {
        out.extend(listing::walk(fs, path).await?.into_iter().map(|s| s.path));
    }
    Ok(out)
}

/// The status of every file at or beneath `path`.
pub async fn files_beneath(fs: &FileSystem, path: &str) -> strata_core::Result<Vec<FileStatus>> {
    let status = fs.stat(path).await?;
    if !is_directory(&status) {
        return Ok(vec![status]);
    }
    Ok(listing::walk(fs, path)
        .await?
        .into_iter()
        .filter(|s| !is_directory(s))
        .collect())
}

async fn rm(
    fs: &FileSystem,
    recursive: bool,
    force: bool,
    paths: &[String],
) -> anyhow::Result<ExitCode> {
    let mut code = ExitCode::SUCCESS;
    for p in paths {
        match fs.delete(p, recursive).await {
            Ok(true) => outln!("Deleted {p}"),
            Ok(false) if force => {}
            Ok(false) => {
                eprintln!("strata: rm: {p}: no such file or directory");
                code = ExitCode::FAILURE;
            }
            Err(Error::DirectoryNotEmpty { path }) => {
                eprintln!("strata: rm: {path}: is a non-empty directory (use -r)");
                code = ExitCode::FAILURE;
            }
            Err(e) => return Err(anyhow::Error::new(e).context("rm")),
        }
    }
    Ok(code)
}

async fn mv(fs: &FileSystem, paths: &[String]) -> anyhow::Result<ExitCode> {
    let (sources, dest) = paths.split_at(paths.len() - 1);
    let dest = &dest[0];
    let dest_is_dir = fs
        .try_stat(dest)
        .await
        .context("mv")?
        .is_some_and(|s| is_directory(&s));
    if sources.len() > 1 && !dest_is_dir {
        anyhow::bail!(
            "mv: {dest}: moving several paths needs an existing directory as destination"
        );
    }
    for source in sources {
        let target = if dest_is_dir {
            copy::child_path(dest, source)?
        } else {
            dest.clone()
        };
        fs.rename(source, &target).await.context("mv")?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn touchz(fs: &FileSystem, paths: &[String]) -> anyhow::Result<ExitCode> {
    for p in paths {
        if let Some(existing) = fs.try_stat(p).await.context("touchz")? {
            if is_directory(&existing) || existing.length != 0 {
                anyhow::bail!("touchz: {p}: not a zero-length file");
            }
            let now = strata_core::now_millis();
            fs.set_times(p, now, -1).await.context("touchz")?;
            continue;
        }
        let writer = fs
            .create(p, CreateOptions::default())
            .await
            .context("touchz")?;
        writer.close().await.context("touchz")?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn test(fs: &FileSystem, args: TestArgs) -> anyhow::Result<ExitCode> {
    let status = fs.try_stat(&args.path).await.context("test")?;
    let truth = match status {
        None => false,
        Some(s) => {
            let dir = is_directory(&s);
            if args.exists {
                true
            } else if args.directory {
                dir
            } else if args.file {
                !dir
            } else if args.non_empty {
                !dir && s.length > 0
            } else {
                !dir && s.length == 0
            }
        }
    };
    Ok(if truth {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn setrep(
    fs: &FileSystem,
    wait: bool,
    replication: u32,
    paths: &[String],
) -> anyhow::Result<ExitCode> {
    let mut files = Vec::new();
    for p in paths {
        files.extend(
            files_beneath(fs, p)
                .await
                .context("setrep")?
                .into_iter()
                .map(|s| s.path),
        );
    }
    for f in &files {
        fs.set_replication(f, replication).await.context("setrep")?;
        outln!("Replication {replication} set: {f}");
    }
    if !wait {
        return Ok(ExitCode::SUCCESS);
    }
    for f in &files {
        eprint!("Waiting for {f} ...");
        loop {
            let (checked, _) = fs.fsck(f).await.context("setrep")?;
            let done = checked.iter().flat_map(|c| c.blocks.iter()).all(|b| {
                b.live.len() == replication as usize && b.health == BlockHealth::Healthy as i32
            });
            if done {
                break;
            }
            eprint!(".");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        eprintln!(" done");
    }
    Ok(ExitCode::SUCCESS)
}
