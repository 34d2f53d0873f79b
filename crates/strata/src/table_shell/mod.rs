//! `strata table`: a shell for the table store like HBase's (`create`, `list`, `describe`,
//! `alter`, `put`, `get`, `scan`, `delete`, `deleteall`, `incr`, `count`, `compact`,
//! `major_compact`, `flush`, `split`, `merge`, `disable`, `enable`, `drop`, `truncate`,
//! `regions`), readable
//! tables on a terminal and `--json` for scripts.

mod spec;

use crate::output::{print_json, table};
use crate::settings::Settings;
use anyhow::Context;
use bytes::Bytes;
use serde_json::{Value, json};
use spec::{KeySpace, bytes_of, column, printable};
use std::process::ExitCode;
use strata_client::FileSystem;
use strata_table::cell::Cell;
use strata_table::client::RegionPlace;
use strata_table::mutation::Mutation;
use strata_table::read::Scan;
use strata_table::schema::{TableDescriptor, TableName};
use strata_table::{Connection, Table};

/// Options of `strata table`.
#[derive(Debug, clap::Args)]
pub struct TableArgs {
    #[command(subcommand)]
    command: TableCommand,
}

/// A row-reading command's shared options.
#[derive(Debug, clap::Args)]
struct ReadOptions {
    /// Only this column (`family:qualifier`) or family; repeat for more.
    #[arg(long = "column", short = 'c', value_name = "COLUMN")]
    columns: Vec<String>,
    /// Versions of each column to show.
    #[arg(long, default_value_t = 1)]
    versions: u32,
    /// Only cells older than this timestamp (ms since the epoch), as HBase's TIMERANGE [0, TS).
    #[arg(long, value_name = "MS")]
    before: Option<i64>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Subcommand)]
enum TableCommand {
    /// Create a table with its column families (`NAME[:versions=3,ttl=7d,compression=zstd,
    /// bloom=rowcol,blocksize=64KiB,in-memory=true]`).
    Create {
        /// `[namespace:]name`.
        table: String,
        /// Column families.
        #[arg(required = true)]
        families: Vec<String>,
        /// Split points: the table starts with one more region than keys.
        #[arg(long, value_delimiter = ',', value_name = "KEYS")]
        splits: Vec<String>,
        /// Start with this many regions, cut evenly over `--key-space`.
        #[arg(long, conflicts_with = "splits")]
        regions: Option<u32>,
        /// The rows' key space for `--regions`.
        #[arg(long, value_enum, default_value = "hex")]
        key_space: KeySpace,
    },
    /// Every table.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// A table's families and state.
    Describe {
        /// The table.
        table: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add or change families (`--family SPEC`) or delete them (`--delete NAME`).
    Alter {
        /// The table.
        table: String,
        /// A family to add or change.
        #[arg(long = "family", value_name = "SPEC")]
        families: Vec<String>,
        /// A family to delete, with its data.
        #[arg(long = "delete", value_name = "NAME")]
        delete: Vec<String>,
    },
    /// Write a cell.
    Put {
        /// The table.
        table: String,
        /// The row (`\xNN` escapes allowed).
        row: String,
        /// `family:qualifier`.
        column: String,
        /// The value (`\xNN` escapes allowed).
        value: String,
        /// Its timestamp (ms since the epoch) [default: now].
        #[arg(long, value_name = "MS")]
        ts: Option<i64>,
    },
    /// Read a row.
    Get {
        /// The table.
        table: String,
        /// The row.
        row: String,
        #[command(flatten)]
        read: ReadOptions,
    },
    /// Read rows in order.
    Scan {
        /// The table.
        table: String,
        /// First row (inclusive).
        #[arg(long)]
        start: Option<String>,
        /// Last row (exclusive).
        #[arg(long)]
        stop: Option<String>,
        /// Only rows starting with this.
        #[arg(long, conflicts_with_all = ["start", "stop"])]
        prefix: Option<String>,
        /// A filter in HBase's filter language, e.g. "ValueFilter(=, 'binary:x')".
        #[arg(long)]
        filter: Option<String>,
        /// At most this many rows.
        #[arg(long)]
        limit: Option<usize>,
        /// Rows in descending order (`--start` is then the highest).
        #[arg(long)]
        reversed: bool,
        #[command(flatten)]
        read: ReadOptions,
    },
    /// Delete every version of a column up to a timestamp (default: now).
    Delete {
        /// The table.
        table: String,
        /// The row.
        row: String,
        /// `family:qualifier`.
        column: String,
        /// Delete versions up to this timestamp.
        #[arg(long, value_name = "MS")]
        ts: Option<i64>,
    },
    /// Delete a whole row (or one column or family of it).
    Deleteall {
        /// The table.
        table: String,
        /// The row.
        row: String,
        /// Only this column or family.
        column: Option<String>,
        /// Delete versions up to this timestamp.
        #[arg(long, value_name = "MS")]
        ts: Option<i64>,
    },
    /// Add to an 8-byte counter; prints its new value.
    Incr {
        /// The table.
        table: String,
        /// The row.
        row: String,
        /// `family:qualifier`.
        column: String,
        /// The amount.
        #[arg(default_value_t = 1, allow_negative_numbers = true)]
        value: i64,
    },
    /// Count rows.
    Count {
        /// The table.
        table: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Compact a table's regions (minor).
    Compact {
        /// The table.
        table: String,
        /// Only this region.
        #[arg(long)]
        region: Option<String>,
    },
    /// Merge every family of a table's regions into one file each.
    #[command(name = "major_compact", alias = "major-compact")]
    MajorCompact {
        /// The table.
        table: String,
        /// Only this region.
        #[arg(long)]
        region: Option<String>,
    },
    /// Flush a table's memstores.
    Flush {
        /// The table.
        table: String,
    },
    /// Take a table offline.
    Disable {
        /// The table.
        table: String,
    },
    /// Bring a table back online.
    Enable {
        /// The table.
        table: String,
    },
    /// Delete a disabled table and its data.
    Drop {
        /// The table.
        table: String,
    },
    /// Empty a table (it is disabled, recreated with its splits, enabled).
    Truncate {
        /// The table.
        table: String,
    },
    /// Split regions: the one holding `--at` (at that row), one named by `--region`, or
    /// every region of the table; each at its middle key unless `--at` says where.
    Split {
        /// The table.
        table: String,
        /// Only this region.
        #[arg(long)]
        region: Option<String>,
        /// The row the split starts the second half at.
        #[arg(long)]
        at: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Merge two adjacent regions into one.
    Merge {
        /// The table.
        table: String,
        /// One region.
        first: String,
        /// The region beside it.
        second: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// A table's regions and where they are served.
    Regions {
        /// The table.
        table: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a table shell command.
pub async fn run(settings: Settings, args: TableArgs) -> anyhow::Result<ExitCode> {
    let fs = FileSystem::connect(settings.config.client.clone())
        .await
        .context("connecting to Strata")?;
    let connection = Connection::new(fs, &settings.config.table.root);
    let admin = connection.admin();
    match args.command {
        TableCommand::Create {
            table,
            families,
            splits,
            regions,
            key_space,
        } => {
            let descriptor = TableDescriptor {
                name: TableName::parse(&table)?,
                families: families
                    .iter()
                    .map(|f| spec::family(f))
                    .collect::<anyhow::Result<_>>()?,
            };
            let splits = match regions {
                Some(n) => spec::spread_splits(n, key_space)?,
                None => splits
                    .iter()
                    .map(|s| bytes_of(s))
                    .collect::<anyhow::Result<_>>()?,
            };
            admin.create_table(descriptor, &splits).await?;
            outln!("Created table {table} ({} regions)", splits.len() + 1);
        }
        TableCommand::List { json } => {
            let tables = admin.list_tables().await?;
            if json {
                print_json(&Value::Array(tables.iter().map(|t| json!({
                    "name": t.descriptor.name.to_string(),
                    "enabled": t.enabled,
                    "regions": t.regions,
                    "families": t.descriptor.families.iter().map(|f| f.name_text()).collect::<Vec<_>>(),
                })).collect()));
            } else {
                let mut out = table(&["TABLE", "STATE", "REGIONS", "FAMILIES"]);
                for t in &tables {
                    let families: Vec<String> = t
                        .descriptor
                        .families
                        .iter()
                        .map(|f| f.name_text())
                        .collect();
                    out.add_row(vec![
                        t.descriptor.name.to_string(),
                        if t.enabled { "ENABLED" } else { "DISABLED" }.to_string(),
                        t.regions.to_string(),
                        families.join(", "),
                    ]);
                }
                outln!("{out}");
                outln!("{} table(s)", tables.len());
            }
        }
        TableCommand::Describe { table: name, json } => {
            let status = admin.describe(&name).await?;
            if json {
                print_json(&json!({
                    "name": status.descriptor.name.to_string(),
                    "enabled": status.enabled,
                    "regions": status.regions,
                    "families": status.descriptor.families.iter().map(|f| json!({
                        "name": f.name_text(), "versions": f.max_versions, "min_versions": f.min_versions,
                        "ttl_seconds": f.ttl.map(|t| t.as_secs()), "compression": f.compression.to_string(),
                        "bloom": f.bloom.to_string(), "block_size": f.block_size, "in_memory": f.in_memory,
                    })).collect::<Vec<_>>(),
                }));
            } else {
                outln!(
                    "Table {} is {}, {} region(s)",
                    status.descriptor.name,
                    if status.enabled {
                        "ENABLED"
                    } else {
                        "DISABLED"
                    },
                    status.regions
                );
                let mut out = table(&[
                    "FAMILY",
                    "VERSIONS",
                    "MIN_VERSIONS",
                    "TTL",
                    "COMPRESSION",
                    "BLOOM",
                    "BLOCKSIZE",
                    "IN_MEMORY",
                ]);
                for f in &status.descriptor.families {
                    out.add_row(vec![
                        f.name_text(),
                        f.max_versions.to_string(),
                        f.min_versions.to_string(),
                        f.ttl.map_or("FOREVER".to_string(), |t| {
                            humantime::format_duration(t).to_string()
                        }),
                        f.compression.to_string(),
                        f.bloom.to_string(),
                        f.block_size.to_string(),
                        f.in_memory.to_string(),
                    ]);
                }
                outln!("{out}");
            }
        }
        TableCommand::Alter {
            table: name,
            families,
            delete,
        } => {
            let families = families
                .iter()
                .map(|f| spec::family(f))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let delete: Vec<Bytes> = delete
                .iter()
                .map(|d| Bytes::copy_from_slice(d.as_bytes()))
                .collect();
            admin.alter(&name, &families, &delete).await?;
            outln!("Altered table {name}; its regions reopen with the new schema");
        }
        TableCommand::Put {
            table: name,
            row,
            column: col,
            value,
            ts,
        } => {
            let (family, qualifier) = column(&col);
            let m = Mutation::new(bytes_of(&row)?).put(
                family,
                qualifier.unwrap_or_default(),
                ts,
                bytes_of(&value)?,
            );
            connection.table(&name)?.mutate(m).await?;
        }
        TableCommand::Get {
            table: name,
            row,
            read,
        } => {
            let mut scan = Scan::get(bytes_of(&row)?);
            apply_read(&mut scan, &read);
            let cells = connection.table(&name)?.get(scan).await?;
            print_cells(&[cells], read.json, "row");
        }
        TableCommand::Scan {
            table: name,
            start,
            stop,
            prefix,
            filter,
            limit,
            reversed,
            read,
        } => {
            let mut scan = match &prefix {
                Some(p) => Scan::prefix(&bytes_of(p)?),
                None => Scan {
                    start_row: start
                        .as_deref()
                        .map(bytes_of)
                        .transpose()?
                        .unwrap_or_default(),
                    stop_row: stop
                        .as_deref()
                        .map(bytes_of)
                        .transpose()?
                        .unwrap_or_default(),
                    ..Scan::default()
                },
            };
            scan.reversed = reversed;
            scan.limit = limit.unwrap_or(0);
            if let Some(f) = filter {
                scan.set_filter(Bytes::from(f.into_bytes()))?;
            }
            apply_read(&mut scan, &read);
            let rows = connection
                .table(&name)?
                .scanner(scan, 1000)
                .await?
                .collect()
                .await?;
            print_cells(&rows, read.json, "rows");
        }
        TableCommand::Delete {
            table: name,
            row,
            column: col,
            ts,
        } => {
            let (family, qualifier) = column(&col);
            let m = match qualifier {
                Some(q) => Mutation::new(bytes_of(&row)?).delete_column(family, q, ts),
                None => Mutation::new(bytes_of(&row)?).delete_family(family, ts),
            };
            connection.table(&name)?.mutate(m).await?;
        }
        TableCommand::Deleteall {
            table: name,
            row,
            column: col,
            ts,
        } => {
            let row = bytes_of(&row)?;
            let m = match col.as_deref().map(column) {
                Some((family, Some(q))) => Mutation::new(row).delete_column(family, q, ts),
                Some((family, None)) => Mutation::new(row).delete_family(family, ts),
                None => Mutation::new(row).delete_row(ts),
            };
            connection.table(&name)?.mutate(m).await?;
        }
        TableCommand::Incr {
            table: name,
            row,
            column: col,
            value,
        } => {
            let (family, qualifier) = column(&col);
            let t = connection.table(&name)?;
            let now = t
                .increment(
                    bytes_of(&row)?,
                    family,
                    qualifier.unwrap_or_default(),
                    value,
                )
                .await?;
            outln!("COUNTER VALUE = {now}");
        }
        TableCommand::Count { table: name, json } => {
            let rows = count(&connection.table(&name)?).await?;
            if json {
                print_json(&json!({ "table": name, "rows": rows }));
            } else {
                outln!("{rows} row(s)");
            }
        }
        TableCommand::Compact {
            table: name,
            region,
        } => {
            admin.compact(&name, region.as_deref(), false).await?;
            outln!("Compacted {name}");
        }
        TableCommand::MajorCompact {
            table: name,
            region,
        } => {
            admin.compact(&name, region.as_deref(), true).await?;
            outln!("Major-compacted {name}");
        }
        TableCommand::Flush { table: name } => {
            admin.flush(&name, None).await?;
            outln!("Flushed {name}");
        }
        TableCommand::Disable { table: name } => {
            admin.disable(&name).await?;
            outln!("Disabled {name}");
        }
        TableCommand::Enable { table: name } => {
            admin.enable(&name).await?;
            outln!("Enabled {name}");
        }
        TableCommand::Drop { table: name } => {
            admin.delete(&name).await?;
            outln!("Dropped {name}");
        }
        TableCommand::Truncate { table: name } => {
            if admin.describe(&name).await?.enabled {
                admin.disable(&name).await?;
            }
            admin.truncate(&name, true).await?;
            outln!("Truncated {name}");
        }
        TableCommand::Split {
            table: name,
            region,
            at,
            json,
        } => {
            let at = at.as_deref().map(bytes_of).transpose()?;
            let made = admin.split(&name, region.as_deref(), at).await?;
            print_regions(&made, json);
        }
        TableCommand::Merge {
            table: name,
            first,
            second,
            json,
        } => {
            let merged = admin.merge(&name, &first, &second).await?;
            print_regions(&[merged], json);
        }
        TableCommand::Regions { table: name, json } => {
            print_regions(&admin.regions(&name).await?, json);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Regions as a table (or JSON), with where each is served.
fn print_regions(regions: &[RegionPlace], json: bool) {
    if json {
        print_json(&Value::Array(regions.iter().map(|r| json!({
            "name": r.name, "start": printable(&r.start), "end": printable(&r.end), "server": r.server,
        })).collect()));
    } else {
        let mut out = table(&["REGION", "START", "END", "SERVER"]);
        for r in regions {
            out.add_row(vec![
                r.name.clone(),
                printable(&r.start),
                printable(&r.end),
                r.server.clone(),
            ]);
        }
        outln!("{out}");
        outln!("{} region(s)", regions.len());
    }
}

fn apply_read(scan: &mut Scan, read: &ReadOptions) {
    for c in &read.columns {
        match column(c) {
            (family, Some(q)) => {
                scan.add_column(family, q);
            }
            (family, None) => {
                scan.add_family(family);
            }
        }
    }
    scan.max_versions = read.versions.max(1);
    if let Some(before) = read.before {
        scan.time_range = (0, before);
    }
}

/// Rows, counted with a `FirstKeyOnlyFilter` so only one cell per row travels.
async fn count(table: &Table) -> anyhow::Result<u64> {
    let mut scan = Scan::default();
    scan.set_filter(Bytes::from_static(
        b"FirstKeyOnlyFilter() AND KeyOnlyFilter()",
    ))?;
    let mut scanner = table.scanner(scan, 5000).await?;
    let mut rows = 0;
    while scanner.next().await?.is_some() {
        rows += 1;
    }
    Ok(rows)
}

/// Results as a table (`ROW COLUMN+CELL`, as HBase's shell lays them out) or JSON.
fn print_cells(results: &[Vec<Cell>], json: bool, what: &str) {
    if json {
        let rows: Vec<Value> = results
            .iter()
            .filter(|cells| !cells.is_empty())
            .map(|cells| {
                json!({
                    "row": printable(&cells[0].row),
                    "cells": cells.iter().map(|c| json!({
                        "column": printable(&c.column()), "timestamp": c.timestamp, "value": printable(&c.value),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        print_json(&json!({ what: rows }));
        return;
    }
    let mut out = table(&["ROW", "COLUMN", "TIMESTAMP", "VALUE"]);
    let mut rows = 0;
    for cells in results.iter().filter(|c| !c.is_empty()) {
        rows += 1;
        for c in cells {
            out.add_row(vec![
                printable(&c.row),
                printable(&c.column()),
                c.timestamp.to_string(),
                printable(&c.value),
            ]);
        }
    }
    outln!("{out}");
    outln!("{rows} row(s)");
}
