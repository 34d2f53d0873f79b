//! `strata bench ycsb`: the Yahoo! Cloud Serving Benchmark's core workloads on the table
//! store, through the Rust client, as YCSB defines them: `usertable` with one family of ten
//! 100-byte fields; reads of whole rows, updates of one field, inserts of whole rows, scans of
//! 1 to 100 rows, read-modify-writes; zipfian popularity (constant 0.99, scrambled over the
//! keys), the latest records most popular in workload D. `--workload load` inserts the
//! records (creating the table, pre-split at the records' key quantiles, when it is missing).

mod keys;

use super::quantile;
use crate::output::{print_json, table};
use crate::settings::Settings;
use anyhow::Context;
use bytes::Bytes;
use keys::{Zipfian, record_key};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use strata_client::FileSystem;
use strata_table::mutation::Mutation;
use strata_table::read::Scan;
use strata_table::schema::{FamilyDescriptor, TableDescriptor, TableName};
use strata_table::{Connection, Table};

/// YCSB's table.
const TABLE: &str = "usertable";
/// YCSB's column family for HBase.
const FAMILY: &[u8] = b"family";
/// Fields per record.
const FIELDS: usize = 10;
/// Bytes per field.
const FIELD_LENGTH: usize = 100;
/// The longest scan of workload E.
const MAX_SCAN_LENGTH: usize = 100;

/// Which workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// Insert the records.
    Load,
    /// Update heavy: 50% reads, 50% updates.
    A,
    /// Read mostly: 95% reads, 5% updates.
    B,
    /// Read only.
    C,
    /// Read latest: 95% reads of the newest records, 5% inserts.
    D,
    /// Short ranges: 95% scans of up to 100 rows, 5% inserts.
    E,
    /// Read-modify-write: 50% reads, 50% read-modify-writes.
    F,
}

/// Options of `strata bench ycsb`.
#[derive(Debug, clap::Args)]
pub struct YcsbArgs {
    /// The workload (`load` first, to insert the records).
    #[arg(long, value_enum)]
    workload: Workload,
    /// Records in the table.
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
    /// Operations to run (a workload; `load` inserts `--records`).
    #[arg(long, default_value_t = 100_000)]
    operations: u64,
    /// Concurrent client tasks.
    #[arg(long, default_value_t = 16)]
    threads: usize,
    /// Regions the table is created with.
    #[arg(long, default_value_t = 8)]
    regions: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// One kind of operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    Insert,
    Read,
    Update,
    Scan,
    ReadModifyWrite,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Insert => "INSERT",
            Op::Read => "READ",
            Op::Update => "UPDATE",
            Op::Scan => "SCAN",
            Op::ReadModifyWrite => "READ-MODIFY-WRITE",
        }
    }
}

/// A workload's mix: each operation's share.
fn mix(workload: Workload) -> Vec<(Op, f64)> {
    match workload {
        Workload::Load => vec![(Op::Insert, 1.0)],
        Workload::A => vec![(Op::Read, 0.5), (Op::Update, 0.5)],
        Workload::B => vec![(Op::Read, 0.95), (Op::Update, 0.05)],
        Workload::C => vec![(Op::Read, 1.0)],
        Workload::D => vec![(Op::Read, 0.95), (Op::Insert, 0.05)],
        Workload::E => vec![(Op::Scan, 0.95), (Op::Insert, 0.05)],
        Workload::F => vec![(Op::Read, 0.5), (Op::ReadModifyWrite, 0.5)],
    }
}

/// What the client tasks share.
struct Run {
    table: Table,
    workload: Workload,
    records: u64,
    zipfian: Zipfian,
    /// The next record number to insert (records past `--records` in workloads D and E).
    next_insert: AtomicU64,
    /// Operations handed out.
    issued: AtomicU64,
    operations: u64,
    bar: indicatif::ProgressBar,
}

/// One task's latencies (ms) per operation, and the operations that failed.
type Samples = (BTreeMap<Op, Vec<f64>>, u64);

/// Ten fields of random bytes, as YCSB's values.
fn fields(rng: &mut impl Rng, only: Option<usize>) -> Vec<(Bytes, Bytes)> {
    let which: Vec<usize> = match only {
        Some(f) => vec![f],
        None => (0..FIELDS).collect(),
    };
    which
        .into_iter()
        .map(|f| {
            let value: Vec<u8> = (0..FIELD_LENGTH)
                .map(|_| rng.random_range(b' '..=b'~'))
                .collect();
            (Bytes::from(format!("field{f}")), Bytes::from(value))
        })
        .collect()
}

fn put(key: &str, fields: Vec<(Bytes, Bytes)>) -> Mutation {
    let mut m = Mutation::new(key.as_bytes().to_vec());
    for (q, v) in fields {
        m = m.put(FAMILY, q, None, v);
    }
    m
}

impl Run {
    fn choose_op(&self, rng: &mut impl Rng) -> Op {
        let mut roll: f64 = rng.random();
        let ops = mix(self.workload);
        for (op, share) in &ops {
            if roll < *share {
                return *op;
            }
            roll -= share;
        }
        ops[ops.len() - 1].0
    }

    /// The record a read, update or scan goes to.
    fn choose_record(&self, rng: &mut impl Rng) -> u64 {
        match self.workload {
            Workload::D => {
                let latest = self.next_insert.load(Ordering::Relaxed).saturating_sub(1);
                self.zipfian.next_latest(rng, latest)
            }
            _ => self.zipfian.next_scrambled(rng),
        }
    }

    /// Runs operation number `i`, of kind `op`.
    async fn one(&self, op: Op, i: u64, rng: &mut StdRng) -> anyhow::Result<()> {
        match op {
            Op::Insert => {
                // A load inserts record i; workloads D and E insert past the loaded ones.
                let n = match self.workload {
                    Workload::Load => i,
                    _ => self.next_insert.fetch_add(1, Ordering::Relaxed),
                };
                self.table
                    .mutate(put(&record_key(n), fields(rng, None)))
                    .await?;
            }
            Op::Read => {
                let key = record_key(self.choose_record(rng));
                let cells = self.table.get(Scan::get(key.into_bytes())).await?;
                anyhow::ensure!(cells.len() == FIELDS, "a read found {} fields", cells.len());
            }
            Op::Update => {
                let key = record_key(self.choose_record(rng));
                let field = rng.random_range(0..FIELDS);
                self.table
                    .mutate(put(&key, fields(rng, Some(field))))
                    .await?;
            }
            Op::Scan => {
                let key = record_key(self.choose_record(rng));
                let length = rng.random_range(1..=MAX_SCAN_LENGTH);
                let scan = Scan {
                    start_row: Bytes::from(key),
                    limit: length,
                    ..Scan::default()
                };
                let rows = self
                    .table
                    .scanner(scan, length as u32)
                    .await?
                    .collect()
                    .await?;
                anyhow::ensure!(!rows.is_empty(), "a scan found nothing");
            }
            Op::ReadModifyWrite => {
                let key = record_key(self.choose_record(rng));
                let cells = self.table.get(Scan::get(key.clone().into_bytes())).await?;
                anyhow::ensure!(cells.len() == FIELDS, "a read found {} fields", cells.len());
                let field = rng.random_range(0..FIELDS);
                self.table
                    .mutate(put(&key, fields(rng, Some(field))))
                    .await?;
            }
        }
        Ok(())
    }

    /// One client task: operations until all are handed out.
    async fn task(self: Arc<Self>) -> Samples {
        let mut rng = StdRng::from_rng(&mut rand::rng());
        let mut latencies: BTreeMap<Op, Vec<f64>> = BTreeMap::new();
        let mut failed = 0;
        loop {
            let i = self.issued.fetch_add(1, Ordering::Relaxed);
            if i >= self.operations {
                break;
            }
            let op = self.choose_op(&mut rng);
            let started = Instant::now();
            match self.one(op, i, &mut rng).await {
                Ok(()) => latencies
                    .entry(op)
                    .or_default()
                    .push(started.elapsed().as_secs_f64() * 1000.0),
                Err(e) => {
                    failed += 1;
                    tracing::warn!(op = op.name(), error = %e, "an operation failed");
                }
            }
            self.bar.inc(1);
        }
        (latencies, failed)
    }
}

/// Creates `usertable` when it is missing, split at quantiles of the records' keys.
async fn ensure_table(connection: &Connection, records: u64, regions: usize) -> anyhow::Result<()> {
    let admin = connection.admin();
    if admin.exists(TABLE).await? {
        return Ok(());
    }
    let sample = records.clamp(1, 100_000);
    let step = (records / sample).max(1);
    let mut keys: Vec<String> = (0..sample).map(|i| record_key(i * step)).collect();
    keys.sort();
    let splits: Vec<Bytes> = (1..regions.max(1))
        .map(|r| Bytes::from(keys[r * keys.len() / regions].clone()))
        .collect();
    let descriptor = TableDescriptor {
        name: TableName::parse(TABLE)?,
        families: vec![FamilyDescriptor::new(FAMILY)],
    };
    admin.create_table(descriptor, &splits).await?;
    Ok(())
}

/// Runs the benchmark.
pub async fn run(settings: Settings, args: YcsbArgs) -> anyhow::Result<ExitCode> {
    let fs = FileSystem::connect(settings.config.client.clone())
        .await
        .context("connecting to Strata")?;
    let connection = Connection::new(fs, &settings.config.table.root);
    let operations = match args.workload {
        Workload::Load => {
            ensure_table(&connection, args.records, args.regions).await?;
            args.records
        }
        _ => args.operations,
    };
    let bar = crate::output::progress(Some(operations), "ycsb");
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let run = Arc::new(Run {
        table: connection.table(TABLE)?,
        workload: args.workload,
        records: args.records,
        zipfian: Zipfian::new(args.records),
        next_insert: AtomicU64::new(args.records),
        issued: AtomicU64::new(0),
        operations,
        bar: bar.clone(),
    });
    let started = Instant::now();
    let tasks: Vec<_> = (0..args.threads.max(1))
        .map(|_| tokio::spawn(run.clone().task()))
        .collect();
    let mut latencies: BTreeMap<Op, Vec<f64>> = BTreeMap::new();
    let mut failed = 0;
    for task in tasks {
        let (l, f) = task.await.context("a ycsb task")?;
        for (op, mut samples) in l {
            latencies.entry(op).or_default().append(&mut samples);
        }
        failed += f;
    }
    let seconds = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    for samples in latencies.values_mut() {
        samples.sort_by(|a, b| a.total_cmp(b));
    }
    report(&args, run.records, &latencies, failed, seconds);
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn report(
    args: &YcsbArgs,
    records: u64,
    latencies: &BTreeMap<Op, Vec<f64>>,
    failed: u64,
    seconds: f64,
) {
    let done: usize = latencies.values().map(Vec::len).sum();
    let workload = format!("{:?}", args.workload).to_lowercase();
    if args.json {
        let ops: Vec<Value> = (latencies.iter())
            .map(|(op, s)| {
                json!({"operation": op.name(), "ops": s.len(),
                    "ops_per_sec": s.len() as f64 / seconds,
                    "p50_ms": quantile(s, 0.5), "p95_ms": quantile(s, 0.95),
                    "p99_ms": quantile(s, 0.99), "max_ms": quantile(s, 1.0)})
            })
            .collect();
        print_json(
            &json!({"workload": workload, "records": records, "threads": args.threads,
            "seconds": seconds, "ops": done, "ops_per_sec": done as f64 / seconds,
            "failed": failed, "operations": ops}),
        );
        return;
    }
    let mut t = table(&[
        "OPERATION",
        "OPS",
        "OPS/S",
        "P50 ms",
        "P95 ms",
        "P99 ms",
        "MAX ms",
    ]);
    for (op, s) in latencies {
        t.add_row(vec![
            op.name().to_string(),
            s.len().to_string(),
            format!("{:.0}", s.len() as f64 / seconds),
            format!("{:.2}", quantile(s, 0.5)),
            format!("{:.2}", quantile(s, 0.95)),
            format!("{:.2}", quantile(s, 0.99)),
            format!("{:.1}", quantile(s, 1.0)),
        ]);
    }
    println!("{t}");
    println!(
        "workload {workload}: {done} operations in {seconds:.1} s, {:.0} ops/s, {} threads, {records} records{}",
        done as f64 / seconds,
        args.threads,
        if failed > 0 {
            format!(", {failed} FAILED")
        } else {
            String::new()
        }
    );
}
