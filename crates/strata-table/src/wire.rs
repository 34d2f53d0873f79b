//! The table store's messages as they travel (`proto::rpc`) and back: cells, scans,
//! mutations, schemas, and errors, which cross as a gRPC status carrying an `ErrorInfo` so
//! the caller gets the same variant back.

use crate::cell::{Cell, CellKind};
use crate::error::{Error, Result};
use crate::filter::CompareOp;
use crate::mutation::{Durability, Edit, Mutation};
use crate::proto::rpc;
use crate::read::Scan;
use crate::schema::{BloomType, Compression, FamilyDescriptor, TableDescriptor, TableName};
use prost::Message;
use std::time::Duration;

/// A cell for the wire.
pub fn cell_to_wire(c: Cell) -> rpc::Cell {
    rpc::Cell {
        row: c.row,
        family: c.family,
        qualifier: c.qualifier,
        timestamp: c.timestamp,
        kind: c.kind as u32,
        value: c.value,
    }
}

/// A cell from the wire.
pub fn cell_from_wire(c: rpc::Cell) -> Result<Cell> {
    Ok(Cell {
        row: c.row,
        family: c.family,
        qualifier: c.qualifier,
        timestamp: c.timestamp,
        kind: kind(c.kind)?,
        value: c.value,
    })
}

fn kind(code: u32) -> Result<CellKind> {
    u8::try_from(code)
        .ok()
        .and_then(CellKind::from_code)
        .ok_or_else(|| Error::InvalidRequest(format!("unknown cell type {code}")))
}

/// A durability's code.
pub fn durability_code(d: Durability) -> u32 {
    match d {
        Durability::UseDefault => 0,
        Durability::SkipWal => 1,
        Durability::AsyncWal => 2,
        Durability::SyncWal => 3,
        Durability::FsyncWal => 4,
    }
}

/// The durability of a code.
pub fn durability(code: u32) -> Result<Durability> {
    Ok(match code {
        0 => Durability::UseDefault,
        1 => Durability::SkipWal,
        2 => Durability::AsyncWal,
        3 => Durability::SyncWal,
        4 => Durability::FsyncWal,
        other => return Err(Error::InvalidRequest(format!("unknown durability {other}"))),
    })
}

/// A row mutation for the wire.
pub fn mutation_to_wire(m: Mutation) -> rpc::RowMutation {
    rpc::RowMutation {
        row: m.row,
        edits: m
            .edits
            .into_iter()
            .map(|e| rpc::Edit {
                family: e.family,
                qualifier: e.qualifier,
                timestamp: e.timestamp,
                kind: e.kind as u32,
                value: e.value,
            })
            .collect(),
        durability: durability_code(m.durability),
    }
}

/// A row mutation from the wire.
pub fn mutation_from_wire(m: rpc::RowMutation) -> Result<Mutation> {
    let mut edits = Vec::with_capacity(m.edits.len());
    for e in m.edits {
        edits.push(Edit {
            family: e.family,
            qualifier: e.qualifier,
            timestamp: e.timestamp,
            kind: kind(e.kind)?,
            value: e.value,
        });
    }
    let mut mutation = Mutation::new(m.row).with_durability(durability(m.durability)?);
    mutation.edits = edits;
    Ok(mutation)
}

/// A scan for the wire (its filter as its filter string).
pub fn scan_to_wire(scan: &Scan, get: bool) -> rpc::ScanSpec {
    rpc::ScanSpec {
        start_row: scan.start_row.clone(),
        stop_row: scan.stop_row.clone(),
        reversed: scan.reversed,
        columns: scan
            .columns
            .iter()
            .map(|(family, qualifiers)| rpc::ColumnSelection {
                family: family.clone(),
                qualifiers: qualifiers.iter().flatten().cloned().collect(),
            })
            .collect(),
        min_timestamp: scan.time_range.0,
        max_timestamp: if scan.time_range.1 == i64::MAX {
            0
        } else {
            scan.time_range.1
        },
        max_versions: scan.max_versions,
        filter: scan
            .filter
            .as_ref()
            .map(|f| f.text.clone())
            .unwrap_or_default(),
        batch: scan.batch as u32,
        limit: scan.limit as u32,
        get,
    }
}

/// A scan from the wire, its filter parsed.
pub fn scan_from_wire(spec: rpc::ScanSpec) -> Result<Scan> {
    let mut scan = if spec.get {
        Scan::get(spec.start_row)
    } else {
        Scan {
            start_row: spec.start_row,
            stop_row: spec.stop_row,
            reversed: spec.reversed,
            ..Scan::default()
        }
    };
    for selection in spec.columns {
        if selection.qualifiers.is_empty() {
            scan.add_family(selection.family);
        } else {
            for q in selection.qualifiers {
                scan.add_column(selection.family.clone(), q);
            }
        }
    }
    let max = if spec.max_timestamp == 0 {
        i64::MAX
    } else {
        spec.max_timestamp
    };
    if spec.min_timestamp < 0 || max < spec.min_timestamp {
        return Err(Error::InvalidRequest(format!(
            "time range [{}, {max}) is empty or negative",
            spec.min_timestamp
        )));
    }
    scan.time_range = (spec.min_timestamp, max);
    scan.max_versions = spec.max_versions.max(1);
    if !spec.filter.is_empty() {
        scan.set_filter(spec.filter)?;
    }
    scan.batch = spec.batch as usize;
    scan.limit = spec.limit as usize;
    Ok(scan)
}

/// A comparison operator from its text.
pub fn compare_op(text: &str) -> Result<CompareOp> {
    CompareOp::parse(text)
        .ok_or_else(|| Error::InvalidRequest(format!("unknown comparison operator {text:?}")))
}

/// A family's schema for the wire.
pub fn family_to_wire(f: &FamilyDescriptor) -> rpc::FamilySchema {
    rpc::FamilySchema {
        name: f.name.clone(),
        max_versions: f.max_versions,
        min_versions: f.min_versions,
        ttl_seconds: f.ttl.map_or(0, |t| t.as_secs()),
        compression: f.compression.to_string(),
        bloom: f.bloom.to_string(),
        block_size: f.block_size,
        in_memory: f.in_memory,
    }
}

/// A family's schema from the wire (checked).
pub fn family_from_wire(f: rpc::FamilySchema) -> Result<FamilyDescriptor> {
    let family = FamilyDescriptor {
        name: f.name,
        max_versions: f.max_versions,
        min_versions: f.min_versions,
        ttl: (f.ttl_seconds > 0).then(|| Duration::from_secs(f.ttl_seconds)),
        compression: Compression::parse(&f.compression)?,
        bloom: BloomType::parse(&f.bloom)?,
        block_size: f.block_size,
        in_memory: f.in_memory,
    };
    family.validate()?;
    Ok(family)
}

/// A table's schema for the wire.
pub fn table_to_wire(t: &TableDescriptor) -> rpc::TableSchema {
    rpc::TableSchema {
        name: t.name.to_string(),
        families: t.families.iter().map(family_to_wire).collect(),
    }
}

/// A table's schema from the wire (checked).
pub fn table_from_wire(t: rpc::TableSchema) -> Result<TableDescriptor> {
    let mut table = TableDescriptor {
        name: TableName::parse(&t.name)?,
        families: t
            .families
            .into_iter()
            .map(family_from_wire)
            .collect::<Result<_>>()?,
    };
    table.validate()?;
    Ok(table)
}

/// An error's wire form.
pub fn error_to_wire(e: &Error) -> rpc::ErrorInfo {
    let mut info = rpc::ErrorInfo {
        message: e.to_string(),
        ..Default::default()
    };
    let (kind, subject, detail) = match e {
        Error::Fs(inner) => ("fs", String::new(), inner.to_string()),
        Error::NoSuchTable(t) => ("no_such_table", t.clone(), String::new()),
        Error::TableExists(t) => ("table_exists", t.clone(), String::new()),
        Error::TableState { table, state } => ("table_state", table.clone(), state.clone()),
        Error::NoSuchFamily { table, family } => ("no_such_family", table.clone(), family.clone()),
        Error::Namespace { namespace, reason } => ("namespace", namespace.clone(), reason.clone()),
        Error::InvalidRequest(m) => ("invalid_request", String::new(), m.clone()),
        Error::FilterSyntax { position, reason } => {
            info.position = *position as u64;
            ("filter_syntax", String::new(), reason.clone())
        }
        Error::NotServingRegion { region, reason } => {
            ("not_serving_region", region.clone(), reason.clone())
        }
        Error::RegionBusy { region, reason } => ("region_busy", region.clone(), reason.clone()),
        Error::UnknownScanner(s) => ("unknown_scanner", s.clone(), String::new()),
        Error::Corrupt { path, what, reason } => {
            ("corrupt", path.clone(), format!("{what}\n{reason}"))
        }
        Error::NoMaster(m) => ("no_master", String::new(), m.clone()),
        Error::Unavailable { address, reason } => ("unavailable", address.clone(), reason.clone()),
        Error::Internal(m) => ("internal", String::new(), m.clone()),
    };
    info.kind = kind.to_string();
    info.subject = subject;
    info.detail = detail;
    info
}

/// An error as it comes back from the wire.
pub fn error_from_wire(info: rpc::ErrorInfo) -> Error {
    let (s, d) = (info.subject, info.detail);
    match info.kind.as_str() {
        "no_such_table" => Error::NoSuchTable(s),
        "table_exists" => Error::TableExists(s),
        "table_state" => Error::TableState { table: s, state: d },
        "no_such_family" => Error::NoSuchFamily {
            table: s,
            family: d,
        },
        "namespace" => Error::Namespace {
            namespace: s,
            reason: d,
        },
        "invalid_request" => Error::InvalidRequest(d),
        "filter_syntax" => Error::FilterSyntax {
            position: info.position as usize,
            reason: d,
        },
        "not_serving_region" => Error::NotServingRegion {
            region: s,
            reason: d,
        },
        "region_busy" => Error::RegionBusy {
            region: s,
            reason: d,
        },
        "unknown_scanner" => Error::UnknownScanner(s),
        "corrupt" => {
            let (what, reason) = d.split_once('\n').unwrap_or((&d, ""));
            Error::Corrupt {
                path: s,
                what: what.to_string(),
                reason: reason.to_string(),
            }
        }
        "no_master" => Error::NoMaster(d),
        "unavailable" => Error::Unavailable {
            address: s,
            reason: d,
        },
        _ => Error::Internal(info.message),
    }
}

/// An error as a gRPC status.
pub fn status(e: &Error) -> tonic::Status {
    let code = match e {
        Error::NoSuchTable(_) | Error::NoSuchFamily { .. } => tonic::Code::NotFound,
        Error::TableExists(_) => tonic::Code::AlreadyExists,
        Error::InvalidRequest(_) | Error::FilterSyntax { .. } => tonic::Code::InvalidArgument,
        Error::TableState { .. } | Error::Namespace { .. } => tonic::Code::FailedPrecondition,
        Error::NotServingRegion { .. } | Error::RegionBusy { .. } | Error::NoMaster(_) => {
            tonic::Code::Unavailable
        }
        Error::Unavailable { .. } => tonic::Code::Unavailable,
        Error::UnknownScanner(_) => tonic::Code::NotFound,
        _ => tonic::Code::Internal,
    };
    let details = error_to_wire(e).encode_to_vec();
    tonic::Status::with_details(code, e.to_string(), details.into())
}

/// The error a gRPC status carries (`address` names the server for transport failures).
pub fn from_status(status: tonic::Status, address: &str) -> Error {
    if !status.details().is_empty()
        && let Ok(info) = rpc::ErrorInfo::decode(status.details())
    {
        return error_from_wire(info);
    }
    // Without details the status did not come from a table store server's handler: the
    // connection failed (tonic reports that as Unknown "transport error", Unavailable,
    // Cancelled...), or the server answered something else entirely.
    match status.code() {
        tonic::Code::Unavailable
        | tonic::Code::Unknown
        | tonic::Code::Cancelled
        | tonic::Code::Aborted
        | tonic::Code::DeadlineExceeded => Error::Unavailable {
            address: address.to_string(),
            reason: status.message().to_string(),
        },
        _ => Error::Internal(format!("{address}: {}", status.message())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_come_back_as_the_same_variant() {
        let errors = [
            Error::NoSuchTable("t".into()),
            Error::NoSuchFamily {
                table: "t".into(),
                family: "f".into(),
            },
            Error::FilterSyntax {
                position: 7,
                reason: "bad".into(),
            },
            Error::NotServingRegion {
                region: "r".into(),
                reason: "moved".into(),
            },
            Error::Corrupt {
                path: "/p".into(),
                what: "block".into(),
                reason: "crc".into(),
            },
            Error::InvalidRequest("x".into()),
        ];
        for e in errors {
            let back = from_status(status(&e), "server:1");
            assert_eq!(back, e);
        }
        let plain = tonic::Status::unavailable("connection refused");
        assert!(matches!(
            from_status(plain, "s:1"),
            Error::Unavailable { .. }
        ));
    }

    #[test]
    fn scans_and_mutations_round_trip() {
        let mut scan = Scan::prefix(b"ab");
        scan.add_column(&b"f"[..], &b"q"[..]).add_family(&b"g"[..]);
        scan.time_range = (5, 90);
        scan.max_versions = 3;
        scan.set_filter(&b"PageFilter(2)"[..]).unwrap();
        let back = scan_from_wire(scan_to_wire(&scan, false)).unwrap();
        assert_eq!(
            (back.start_row, back.stop_row),
            (scan.start_row, scan.stop_row)
        );
        assert_eq!(back.columns, scan.columns);
        assert_eq!((back.time_range, back.max_versions), ((5, 90), 3));
        assert!(back.filter.is_some());
        let bad = rpc::ScanSpec {
            filter: bytes::Bytes::from_static(b"Nope("),
            ..Default::default()
        };
        assert!(matches!(
            scan_from_wire(bad),
            Err(Error::FilterSyntax { .. })
        ));
        let m = Mutation::new(&b"r"[..])
            .put(&b"f"[..], &b"q"[..], None, &b"v"[..])
            .delete_column(&b"f"[..], &b"q"[..], Some(3))
            .with_durability(Durability::FsyncWal);
        assert_eq!(mutation_from_wire(mutation_to_wire(m.clone())).unwrap(), m);
        let mut family = FamilyDescriptor::new("cf");
        family.ttl = Some(Duration::from_secs(60));
        family.compression = Compression::Zstd;
        assert_eq!(family_from_wire(family_to_wire(&family)).unwrap(), family);
    }
}
