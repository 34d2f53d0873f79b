//! A table, as a client reads and writes it: gets, puts and deletes of rows, batches across
//! regions, check-and-mutate, increments and appends, and scanners.

use super::{Connection, TableScanner, spec};
use crate::cell::Cell;
use crate::error::{Error, Result};
use crate::mutation::{Change, CheckAndMutate, Mutation, Nonce, ReadModifyWrite};
use crate::proto::rpc::{
    CheckAndMutateRequest, ColumnChange, GetRequest, MutateRequest, ReadModifyWriteRequest,
    column_change,
};
use crate::read::Scan;
use crate::schema::TableName;
use crate::wire;
use bytes::Bytes;
use std::collections::BTreeMap;

/// A table of a connection.
#[derive(Debug, Clone)]
pub struct Table {
    connection: Connection,
    name: TableName,
}

fn cells(response: crate::proto::rpc::CellsResponse) -> Result<Vec<Cell>> {
    response
        .cells
        .into_iter()
        .map(wire::cell_from_wire)
        .collect()
}

impl Table {
    pub(crate) fn new(connection: Connection, name: TableName) -> Table {
        Table { connection, name }
    }

    /// The table's name.
    pub fn name(&self) -> &TableName {
        &self.name
    }

    /// The cells of the one row `get` reads (`Scan::get(row)` with its columns, versions,
    /// time range and filter).
    pub async fn get(&self, get: Scan) -> Result<Vec<Cell>> {
        let row = get.start_row.clone();
        let scan = wire::scan_to_wire(&get, true);
        self.connection
            .on_region(&self.name, &row, |mut client, located| {
                let request = GetRequest {
                    region: Some(spec(&located)),
                    scan: Some(scan.clone()),
                };
                async move {
                    let response = client
                        .get(request)
                        .await
                        .map_err(|s| wire::from_status(s, &located.server))?;
                    cells(response.into_inner())
                }
            })
            .await
    }

    /// Applies one row mutation atomically.
    pub async fn mutate(&self, mutation: Mutation) -> Result<()> {
        self.mutate_rows(vec![mutation])
            .await
            .pop()
            .unwrap_or(Ok(()))
    }

    /// Applies row mutations (each atomic on its row), region by region; one answer per
    /// mutation, in order. Mutations whose region moved are sent again where it went.
    pub async fn mutate_rows(&self, mutations: Vec<Mutation>) -> Vec<Result<()>> {
        let mut answers: Vec<Option<Result<()>>> = vec![None; mutations.len()];
        let mut by_region: BTreeMap<String, (Bytes, Vec<(usize, Mutation)>)> = BTreeMap::new();
        for (i, m) in mutations.into_iter().enumerate() {
            match self.connection.locate(&self.name, &m.row).await {
                Ok(located) => {
                    by_region
                        .entry(located.region.name.clone())
                        .or_insert_with(|| (m.row.clone(), Vec::new()))
                        .1
                        .push((i, m));
                }
                Err(e) => answers[i] = Some(Err(e)),
            }
        }
        for (_, (row, group)) in by_region {
            let wire_group: Vec<_> = group
                .iter()
                .map(|(_, m)| wire::mutation_to_wire(m.clone()))
                .collect();
            let sent = self
                .connection
                .on_region(&self.name, &row, |mut client, located| {
                    let request = MutateRequest {
                        region: Some(spec(&located)),
                        mutations: wire_group.clone(),
                    };
                    async move {
                        let response = client
                            .mutate(request)
                            .await
                            .map_err(|s| wire::from_status(s, &located.server))?;
                        Ok(response.into_inner().results)
                    }
                })
                .await;
            match sent {
                Ok(results) => {
                    for ((i, m), result) in group.into_iter().zip(results) {
                        answers[i] = Some(match result.error {
                            None => Ok(()),
                            Some(e) => match wire::error_from_wire(e) {
                                // A row this region no longer holds (it split meanwhile).
                                err if err.is_retriable() => Box::pin(self.mutate(m)).await,
                                err => Err(err),
                            },
                        });
                    }
                }
                Err(e) => {
                    for (i, _) in group {
                        answers[i] = Some(Err(e.clone()));
                    }
                }
            }
        }
        answers
            .into_iter()
            .map(|a| a.unwrap_or_else(|| Err(Error::Internal("a mutation got no answer".into()))))
            .collect()
    }

    /// Applies `check.mutation` if the column's newest value passes; whether it did.
    pub async fn check_and_mutate(&self, check: CheckAndMutate) -> Result<bool> {
        let row = check.mutation.row.clone();
        let op = check.op.as_str();
        let mutation = wire::mutation_to_wire(check.mutation);
        self.connection
            .on_region(&self.name, &row, |mut client, located| {
                let request = CheckAndMutateRequest {
                    region: Some(spec(&located)),
                    family: check.family.clone(),
                    qualifier: check.qualifier.clone(),
                    op: op.to_string(),
                    value: check.value.clone(),
                    mutation: Some(mutation.clone()),
                };
                async move {
                    let response = client
                        .check_and_mutate(request)
                        .await
                        .map_err(|s| wire::from_status(s, &located.server))?;
                    Ok(response.into_inner().applied)
                }
            })
            .await
    }

    /// Increments counters or appends to values; the new cells.
    pub async fn read_modify_write(&self, change: ReadModifyWrite) -> Result<Vec<Cell>> {
        let columns: Vec<ColumnChange> = (change.columns.iter())
            .map(|(family, qualifier, how)| ColumnChange {
                family: family.clone(),
                qualifier: qualifier.clone(),
                change: Some(match how {
                    Change::Increment(d) => column_change::Change::Increment(*d),
                    Change::Append(v) => column_change::Change::Append(v.clone()),
                }),
            })
            .collect();
        let durability = wire::durability_code(change.durability);
        // One nonce for every retry, so a retry of an applied operation is not applied again.
        let nonce = change.nonce.unwrap_or_else(Nonce::random);
        self.connection
            .on_region(&self.name, &change.row, |mut client, located| {
                let request = ReadModifyWriteRequest {
                    region: Some(spec(&located)),
                    row: change.row.clone(),
                    columns: columns.clone(),
                    durability,
                    nonce_group: nonce.group,
                    nonce: nonce.value,
                };
                async move {
                    let response = client
                        .read_modify_write(request)
                        .await
                        .map_err(|s| wire::from_status(s, &located.server))?;
                    cells(response.into_inner())
                }
            })
            .await
    }

    /// Adds `delta` to the 8-byte counter `family:qualifier` of `row`; its new value.
    pub async fn increment(
        &self,
        row: impl Into<Bytes>,
        family: impl Into<Bytes>,
        qualifier: impl Into<Bytes>,
        delta: i64,
    ) -> Result<i64> {
        let cells = self
            .read_modify_write(ReadModifyWrite {
                row: row.into(),
                columns: vec![(family.into(), qualifier.into(), Change::Increment(delta))],
                durability: Default::default(),
                nonce: None,
            })
            .await?;
        cells
            .first()
            .and_then(|c| <[u8; 8]>::try_from(&c.value[..]).ok())
            .map(i64::from_be_bytes)
            .ok_or_else(|| Error::Internal("an increment returned no counter".to_string()))
    }

    /// A scanner over `scan`, fetching `caching` results per request (HBase's caching).
    pub async fn scanner(&self, scan: Scan, caching: u32) -> Result<TableScanner> {
        TableScanner::open(self.connection.clone(), self.name.clone(), scan, caching).await
    }
}
