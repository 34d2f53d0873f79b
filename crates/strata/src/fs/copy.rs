//! Commands that move bytes: put, get, cat, head, tail, cp, appendToFile.

use crate::output::progress;
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use strata_client::{CreateOptions, FileSystem, FileWriter, is_directory};
use strata_core::ByteSize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

/// Bytes read from a local file per write call.
const COPY_BUFFER: usize = 1 << 20;

/// Options of `strata fs put`.
#[derive(Debug, clap::Args)]
pub struct PutArgs {
    /// Overwrite files that already exist.
    #[arg(short = 'f')]
    force: bool,
    /// Replicas per block of the new files.
    #[arg(long, value_name = "N")]
    replication: Option<u32>,
    /// Block size of the new files, e.g. 64MiB.
    #[arg(long, value_name = "SIZE")]
    block_size: Option<ByteSize>,
    /// Layout of the new files: an erasure coding policy (`strata ec list`) or REPLICATION;
    /// by default the destination directory's.
    #[arg(long, value_name = "POLICY")]
    ec_policy: Option<String>,
    /// Under a mount: MUST_CACHE, CACHE_THROUGH, THROUGH or ASYNC_THROUGH (default: the
    /// mount's).
    #[arg(long, value_name = "TYPE")]
    write_type: Option<String>,
    /// Local files or directories (`-` for stdin), then the destination.
    #[arg(required = true, num_args = 2..)]
    paths: Vec<String>,
}

/// Options of `strata fs get`.
#[derive(Debug, clap::Args)]
pub struct GetArgs {
    /// Overwrite local files that already exist.
    #[arg(short = 'f')]
    force: bool,
    /// Strata files or directories, then the local destination (`-` for stdout).
    #[arg(required = true, num_args = 2..)]
    paths: Vec<String>,
}

/// Options of `strata fs cp`.
#[derive(Debug, clap::Args)]
pub struct CpArgs {
    /// Overwrite files that already exist.
    #[arg(short = 'f')]
    force: bool,
    /// Sources, then the destination.
    #[arg(required = true, num_args = 2..)]
    paths: Vec<String>,
}

/// Options of `strata fs head` and `tail`.
#[derive(Debug, clap::Args)]
pub struct EndArgs {
    /// Number of bytes.
    #[arg(short = 'c', default_value_t = 1024)]
    bytes: u64,
    path: String,
}

/// `dir/<last component of source>`.
pub fn child_path(dir: &str, source: &str) -> anyhow::Result<String> {
    let name = source
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    if name.is_empty() || name == "." || name == ".." {
        bail!("cannot derive a file name from {source:?}");
    }
    Ok(if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    })
}

async fn dest_is_dir(fs: &FileSystem, dest: &str) -> anyhow::Result<bool> {
    Ok(fs.try_stat(dest).await?.is_some_and(|s| is_directory(&s)))
}

async fn pump(
    reader: &mut (impl AsyncRead + Unpin),
    writer: &mut FileWriter,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<()> {
    let mut buf = vec![0u8; COPY_BUFFER];
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        writer.write(&buf[..n]).await?;
        bar.inc(n as u64);
    }
}

/// `strata fs put`.
pub async fn put(fs: &FileSystem, args: PutArgs) -> anyhow::Result<ExitCode> {
    let (sources, dest) = args.paths.split_at(args.paths.len() - 1);
    let dest = &dest[0];
    let into_dir = dest_is_dir(fs, dest).await.context("put")?;
    if sources.len() > 1 && !into_dir {
        bail!("put: {dest}: several sources need an existing directory as destination");
    }
    let options = CreateOptions {
        overwrite: args.force,
        replication: args.replication.unwrap_or(0),
        block_size: args.block_size.map_or(0, |b| b.bytes()),
        ec_policy: args.ec_policy.unwrap_or_default(),
        write_type: args.write_type.unwrap_or_default(),
        ..Default::default()
    };
    for source in sources {
        if source == "-" {
            if into_dir {
                bail!(
                    "put: reading stdin needs a file name as destination, not the directory {dest}"
                );
            }
            let mut writer = fs.create(dest, options.clone()).await.context("put")?;
            let bar = progress(None, dest);
            pump(&mut tokio::io::stdin(), &mut writer, &bar)
                .await
                .context("put")?;
            writer.close().await.context("put")?;
            bar.finish_and_clear();
            continue;
        }
        let target = if into_dir {
            child_path(dest, source)?
        } else {
            dest.clone()
        };
        put_path(fs, Path::new(source), &target, &options).await?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn put_path(
    fs: &FileSystem,
    local: &Path,
    target: &str,
    options: &CreateOptions,
) -> anyhow::Result<()> {
    let meta = std::fs::metadata(local).with_context(|| format!("put: {}", local.display()))?;
    if meta.is_dir() {
        fs.mkdirs(target, true).await.context("put")?;
        let mut entries: Vec<PathBuf> = std::fs::read_dir(local)
            .with_context(|| format!("put: {}", local.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for entry in entries {
            let name = entry
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let child = child_path(target, name)?;
            Box::pin(put_path(fs, &entry, &child, options)).await?;
        }
        return Ok(());
    }
    let mut file = tokio::fs::File::open(local)
        .await
        .with_context(|| format!("put: {}", local.display()))?;
    let mut writer = fs.create(target, options.clone()).await.context("put")?;
    let bar = progress(Some(meta.len()), target);
    pump(&mut file, &mut writer, &bar).await.context("put")?;
    writer.close().await.context("put")?;
    bar.finish_and_clear();
    Ok(())
}

/// `strata fs get`.
pub async fn get(fs: &FileSystem, args: GetArgs) -> anyhow::Result<ExitCode> {
    let (sources, dest) = args.paths.split_at(args.paths.len() - 1);
    let dest = &dest[0];
    if dest == "-" {
        return cat(fs, sources).await;
    }
    let into_dir = Path::new(dest).is_dir();
    if sources.len() > 1 && !into_dir {
        bail!("get: {dest}: several sources need an existing local directory as destination");
    }
    for source in sources {
        let target = if into_dir {
            PathBuf::from(child_path(dest, source)?)
        } else {
            PathBuf::from(dest)
        };
        get_path(fs, source, &target, args.force).await?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn get_path(fs: &FileSystem, source: &str, target: &Path, force: bool) -> anyhow::Result<()> {
    let status = fs.stat(source).await.context("get")?;
    if is_directory(&status) {
        std::fs::create_dir_all(target).with_context(|| format!("get: {}", target.display()))?;
        for child in fs.list(source).collect().await.context("get")? {
            let name = child
                .path
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string();
            Box::pin(get_path(fs, &child.path, &target.join(name), force)).await?;
        }
        return Ok(());
    }
    if target.exists() && !force {
        bail!(
            "get: {}: file exists (use -f to overwrite)",
            target.display()
        );
    }
    let mut reader = fs.open(source).await.context("get")?;
    let partial = PathBuf::from(format!("{}.strata-partial", target.display()));
    let mut out = tokio::fs::File::create(&partial)
        .await
        .with_context(|| format!("get: {}", partial.display()))?;
    let bar = progress(Some(reader.length()), source);
    while let Some(chunk) = reader.next_chunk().await.context("get")? {
        out.write_all(&chunk)
            .await
            .with_context(|| format!("get: {}", partial.display()))?;
        bar.inc(chunk.len() as u64);
    }
    out.flush().await?;
    drop(out);
    std::fs::rename(&partial, target).with_context(|| format!("get: {}", target.display()))?;
    bar.finish_and_clear();
    Ok(())
}

/// `strata fs cat`.
pub async fn cat(fs: &FileSystem, paths: &[String]) -> anyhow::Result<ExitCode> {
    let mut stdout = tokio::io::stdout();
    for p in paths {
        let mut reader = fs.open(p).await.context("cat")?;
        while let Some(chunk) = reader.next_chunk().await.context("cat")? {
            if stdout.write_all(&chunk).await.is_err() {
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
    stdout.flush().await.ok();
    Ok(ExitCode::SUCCESS)
}

/// `strata fs head`.
pub async fn head(fs: &FileSystem, args: EndArgs) -> anyhow::Result<ExitCode> {
    let length = fs.stat(&args.path).await.context("head")?.length;
    let bytes = fs
        .read_range(&args.path, 0, args.bytes.min(length))
        .await
        .context("head")?;
    let mut stdout = tokio::io::stdout();
    stdout.write_all(&bytes).await.ok();
    stdout.flush().await.ok();
    Ok(ExitCode::SUCCESS)
}

/// `strata fs tail`.
pub async fn tail(fs: &FileSystem, args: EndArgs) -> anyhow::Result<ExitCode> {
    let length = fs.stat(&args.path).await.context("tail")?.length;
    let start = length.saturating_sub(args.bytes);
    let bytes = fs
        .read_range(&args.path, start, length - start)
        .await
        .context("tail")?;
    let mut stdout = tokio::io::stdout();
    stdout.write_all(&bytes).await.ok();
    stdout.flush().await.ok();
    Ok(ExitCode::SUCCESS)
}

/// `strata fs cp`.
pub async fn cp(fs: &FileSystem, args: CpArgs) -> anyhow::Result<ExitCode> {
    let (sources, dest) = args.paths.split_at(args.paths.len() - 1);
    let dest = &dest[0];
    let into_dir = dest_is_dir(fs, dest).await.context("cp")?;
    if sources.len() > 1 && !into_dir {
        bail!("cp: {dest}: several sources need an existing directory as destination");
    }
    for source in sources {
        let target = if into_dir {
            child_path(dest, source)?
        } else {
            dest.clone()
        };
        copy_within(fs, source, &target, args.force).await?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn copy_within(
    fs: &FileSystem,
    source: &str,
    target: &str,
    force: bool,
) -> anyhow::Result<()> {
    let status = fs.stat(source).await.context("cp")?;
    if is_directory(&status) {
        if target == source || target.starts_with(&format!("{}/", source.trim_end_matches('/'))) {
            bail!("cp: cannot copy {source} into itself ({target})");
        }
        fs.mkdirs(target, true).await.context("cp")?;
        for child in fs.list(source).collect().await.context("cp")? {
            let child_target = child_path(target, &child.path)?;
            Box::pin(copy_within(fs, &child.path, &child_target, force)).await?;
        }
        return Ok(());
    }
    // A replicated file keeps its replication; an erasure-coded one takes the destination's
    // layout (its directory's policy, else the default replication).
    let options = CreateOptions {
        overwrite: force,
        replication: if status.ec_policy.is_empty() {
            status.replication
        } else {
            0
        },
        block_size: status.block_size,
        ..Default::default()
    };
    let mut reader = fs.open(source).await.context("cp")?;
    let mut writer = fs.create(target, options).await.context("cp")?;
    let bar = progress(Some(reader.length()), target);
    while let Some(chunk) = reader.next_chunk().await.context("cp")? {
        writer.write(&chunk).await.context("cp")?;
        bar.inc(chunk.len() as u64);
    }
    writer.close().await.context("cp")?;
    bar.finish_and_clear();
    Ok(())
}

/// `strata fs appendToFile`.
pub async fn append_to_file(fs: &FileSystem, paths: &[String]) -> anyhow::Result<ExitCode> {
    let (sources, dest) = paths.split_at(paths.len() - 1);
    let dest = &dest[0];
    let mut writer = match fs.try_stat(dest).await.context("appendToFile")? {
        Some(_) => fs.append(dest).await.context("appendToFile")?,
        None => fs
            .create(dest, CreateOptions::default())
            .await
            .context("appendToFile")?,
    };
    for source in sources {
        let bar = progress(None, source);
        if source == "-" {
            pump(&mut tokio::io::stdin(), &mut writer, &bar)
                .await
                .context("appendToFile")?;
        } else {
            let mut file = tokio::fs::File::open(source)
                .await
                .with_context(|| format!("appendToFile: {source}"))?;
            pump(&mut file, &mut writer, &bar)
                .await
                .context("appendToFile")?;
        }
        bar.finish_and_clear();
    }
    writer.close().await.context("appendToFile")?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::child_path;

    #[test]
    fn child_paths() {
        assert_eq!(child_path("/d", "/x/y.txt").unwrap(), "/d/y.txt");
        assert_eq!(child_path("/d/", "local/dir/").unwrap(), "/d/dir");
        assert!(child_path("/d", "..").is_err());
    }
}
