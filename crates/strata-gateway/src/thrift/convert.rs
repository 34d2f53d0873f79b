//! Between Thrift's types and the table store's: column names, cells and rows, families,
//! and errors as the exceptions each call declares.

use super::hbase::{
    AlreadyExists, ColumnDescriptor, IOError, IllegalArgument, TCell, TColumn, TRowResult,
};
use bytes::Bytes;
use std::collections::BTreeMap;
use strata_table::cell::Cell;
use strata_table::error::Error;
use strata_table::read::Scan;
use strata_table::schema::{BloomType, Compression, FamilyDescriptor, TableName};

/// What a handler call answers.
pub(super) type Answer<T> = thrift::Result<T>;

/// The default maximum versions of a family created through Thrift (the IDL's default,
/// which HBase's Thrift server applies).
const THRIFT_DEFAULT_VERSIONS: u32 = 3;

/// A Strata error as an `IOError`, which every call declares (`AlreadyExists` for a table
/// that exists, which only `createTable` raises).
pub(super) fn exception(e: Error) -> thrift::Error {
    let message = e.to_string();
    match e {
        Error::TableExists(_) => thrift::Error::User(Box::new(AlreadyExists {
            message: Some(message),
        })),
        _ => thrift::Error::User(Box::new(IOError {
            message: Some(message),
        })),
    }
}

/// As [`exception`], for calls that also declare `IllegalArgument`: bad requests raise that.
pub(super) fn invalid(e: Error) -> thrift::Error {
    match e {
        Error::InvalidRequest(_) | Error::FilterSyntax { .. } | Error::NoSuchFamily { .. } => {
            illegal(e.to_string())
        }
        other => exception(other),
    }
}

pub(super) fn illegal(message: impl Into<String>) -> thrift::Error {
    thrift::Error::User(Box::new(IllegalArgument {
        message: Some(message.into()),
    }))
}

/// `family:qualifier` split at the first colon; `None` qualifier for a whole family.
pub(super) fn split_column(column: &[u8]) -> (Bytes, Option<Bytes>) {
    match column.iter().position(|b| *b == b':') {
        Some(i) if i + 1 < column.len() => (
            Bytes::copy_from_slice(&column[..i]),
            Some(Bytes::copy_from_slice(&column[i + 1..])),
        ),
        Some(i) => (Bytes::copy_from_slice(&column[..i]), None),
        None => (Bytes::copy_from_slice(column), None),
    }
}

pub(super) fn table_text(name: &[u8]) -> Answer<String> {
    let text = std::str::from_utf8(name).map_err(|_| illegal("a table name is UTF-8 text"))?;
    TableName::parse(text).map_err(exception)?;
    Ok(text.to_string())
}

pub(super) fn select_columns(scan: &mut Scan, columns: &[Vec<u8>]) {
    for column in columns {
        match split_column(column) {
            (family, Some(q)) => {
                scan.add_column(family, q);
            }
            (family, None) => {
                scan.add_family(family);
            }
        }
    }
}

/// A Thrift `TCell`.
pub(super) fn tcell(c: &Cell) -> TCell {
    TCell::new(c.value.to_vec(), c.timestamp)
}

/// Cells of one row as a `TRowResult`: the newest cell of each column in the map (or, with
/// `sorted`, all of them in order in `sortedColumns`).
pub(super) fn row_result(cells: &[Cell], sorted: bool) -> Option<TRowResult> {
    let first = cells.first()?;
    let mut result = TRowResult::new(first.row.to_vec(), None, None);
    if sorted {
        result.sorted_columns = Some(
            cells
                .iter()
                .map(|c| TColumn::new(c.column(), tcell(c)))
                .collect(),
        );
    } else {
        let mut columns = BTreeMap::new();
        for c in cells {
            columns.entry(c.column()).or_insert_with(|| tcell(c));
        }
        result.columns = Some(columns);
    }
    Some(result)
}

/// A family from a Thrift `ColumnDescriptor`, with the IDL's defaults where the Rust
/// generator leaves zeros.
pub(super) fn family_descriptor(cd: &ColumnDescriptor) -> Answer<FamilyDescriptor> {
    let name = split_column(&cd.name.clone().unwrap_or_default()).0;
    let mut family = FamilyDescriptor::new(name);
    family.max_versions = match cd.max_versions.unwrap_or(0) {
        v if v <= 0 => THRIFT_DEFAULT_VERSIONS,
        v => v as u32,
    };
    family.compression =
        Compression::parse(cd.compression.as_deref().unwrap_or("NONE")).map_err(invalid)?;
    family.bloom = BloomType::parse(match cd.bloom_filter_type.as_deref() {
        None | Some("") => "NONE",
        Some(other) => other,
    })
    .map_err(invalid)?;
    family.in_memory = cd.in_memory.unwrap_or(false);
    family.ttl = match cd.time_to_live.unwrap_or(-1) {
        t if t <= 0 || t == i32::MAX => None,
        t => Some(std::time::Duration::from_secs(t as u64)),
    };
    Ok(family)
}
