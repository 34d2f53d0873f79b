//! `strata bench limits`: what this machine can do at best, measured the same way every time,
//! so every Strata figure can be read as a share of it.

use super::mib_per_sec;
use crate::output::{print_json, table};
use anyhow::Context;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use strata_core::ByteSize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Options of `strata bench limits`.
#[derive(Debug, clap::Args)]
pub struct LimitsArgs {
    /// Bytes moved by each measurement.
    #[arg(long, default_value = "2GiB")]
    size: ByteSize,
    /// Directory for the disk measurement.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn memcpy(total: u64) -> f64 {
    let block = 64 << 20;
    let source = vec![7u8; block];
    let mut target = vec![0u8; block];
    let started = Instant::now();
    let mut moved = 0;
    while moved < total {
        target.copy_from_slice(&source);
        std::hint::black_box(&mut target);
        moved += block as u64;
    }
    mib_per_sec(moved, started.elapsed().as_secs_f64())
}

async fn loopback(total: u64) -> anyhow::Result<f64> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let sink = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await?;
        let mut buf = vec![0u8; 1 << 20];
        let mut got = 0u64;
        loop {
            let n = s.read(&mut buf).await?;
            if n == 0 {
                return Ok::<_, std::io::Error>(got);
            }
            got += n as u64;
        }
    });
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    let buf = vec![1u8; 1 << 20];
    let started = Instant::now();
    let mut sent = 0;
    while sent < total {
        stream.write_all(&buf).await?;
        sent += buf.len() as u64;
    }
    stream.shutdown().await?;
    let got = sink.await??;
    Ok(mib_per_sec(got, started.elapsed().as_secs_f64()))
}

fn disk(dir: &std::path::Path, total: u64) -> anyhow::Result<(f64, f64)> {
    let path = dir.join(".strata-bench-limits");
    let buf = vec![3u8; 8 << 20];
    let started = Instant::now();
    let mut file =
        std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let mut written = 0;
    while written < total {
        file.write_all(&buf)?;
        written += buf.len() as u64;
    }
    file.sync_all()?;
    let write = mib_per_sec(written, started.elapsed().as_secs_f64());
    drop(file);
    let started = Instant::now();
    let mut file = std::fs::File::open(&path)?;
    let mut read_buf = vec![0u8; 8 << 20];
    let mut read = 0;
    loop {
        let n = std::io::Read::read(&mut file, &mut read_buf)?;
        if n == 0 {
            break;
        }
        read += n as u64;
    }
    let cached_read = mib_per_sec(read, started.elapsed().as_secs_f64());
    std::fs::remove_file(&path)?;
    Ok((write, cached_read))
}

/// Runs the measurements.
pub async fn run(args: LimitsArgs) -> anyhow::Result<ExitCode> {
    let total = args.size.bytes().max(64 << 20);
    let memcpy = tokio::task::spawn_blocking(move || memcpy(total)).await?;
    let tcp = loopback(total).await.context("loopback TCP")?;
    let dir = args.dir.clone();
    let (disk_write, disk_read) = tokio::task::spawn_blocking(move || disk(&dir, total)).await??;
    if args.json {
        print_json(
            &json!({"bytes": total, "memcpy_mib_per_sec": memcpy, "loopback_tcp_mib_per_sec": tcp,
            "disk_write_fsync_mib_per_sec": disk_write, "disk_read_cached_mib_per_sec": disk_read}),
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = table(&["MEASUREMENT", "MiB/s"]);
    t.add_row(vec![
        "memcpy (one core)".to_string(),
        format!("{memcpy:.0}"),
    ]);
    t.add_row(vec![
        "loopback TCP (one stream)".to_string(),
        format!("{tcp:.0}"),
    ]);
    t.add_row(vec![
        "disk write + fsync".to_string(),
        format!("{disk_write:.0}"),
    ]);
    t.add_row(vec![
        "disk read (page cache)".to_string(),
        format!("{disk_read:.0}"),
    ]);
    outln!("{t}");
    Ok(ExitCode::SUCCESS)
}
