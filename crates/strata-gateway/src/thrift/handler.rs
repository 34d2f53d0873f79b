//! HBase's Thrift1 service (`Hbase.thrift`, as happybase 1.3.0 ships it) over the table
//! store's client, answering each call as HBase's `ThriftHBaseServiceHandler` does: columns
//! are named `family:qualifier` (a bare `family` or `family:` means the whole family), reads
//! with a timestamp read the time range `[0, timestamp)`, a mutation's delete removes every
//! version of its column (or the whole family), and its `writeToWAL` false skips the log.

use super::convert::{
    Answer, exception, family_descriptor, illegal, invalid, row_result, select_columns,
    split_column, table_text, tcell,
};
use super::hbase::{
    self, BatchMutation, ColumnDescriptor, HbaseSyncHandler, IOError, Mutation, ScannerID, TAppend,
    TCell, TIncrement, TRegionInfo, TRowResult, TScan, Text,
};
use super::scanners::ThriftScanners;
use std::collections::BTreeMap;
use strata_table::cell::Cell;
use strata_table::client::{Connection, Table};
use strata_table::filter::CompareOp;
use strata_table::mutation::{
    Change, CheckAndMutate, Durability, Mutation as RowMutation, ReadModifyWrite,
};
use strata_table::read::Scan;
use strata_table::schema::{TableDescriptor, TableName};
use tokio::runtime::Handle;

/// Answers Thrift calls through a table store connection.
#[derive(Debug, Clone)]
pub struct HbaseHandler {
    connection: Connection,
    runtime: Handle,
    scanners: ThriftScanners,
}

impl HbaseHandler {
    /// A handler over `connection`, running its calls on `runtime`.
    pub fn new(connection: Connection, runtime: Handle) -> HbaseHandler {
        HbaseHandler {
            connection,
            runtime,
            scanners: ThriftScanners::default(),
        }
    }

    fn table(&self, name: &[u8]) -> Answer<Table> {
        self.connection.table(&table_text(name)?).map_err(exception)
    }

    fn run<T>(
        &self,
        work: impl std::future::Future<Output = strata_table::error::Result<T>>,
    ) -> Answer<T> {
        self.runtime.block_on(work).map_err(exception)
    }

    fn get_cells(
        &self,
        table: &[u8],
        row: Vec<u8>,
        columns: &[Vec<u8>],
        before: Option<i64>,
        versions: u32,
    ) -> Answer<Vec<Cell>> {
        let table = self.table(table)?;
        let mut scan = Scan::get(row);
        select_columns(&mut scan, columns);
        if let Some(ts) = before {
            scan.time_range = (0, ts);
        }
        scan.max_versions = versions.max(1);
        self.run(table.get(scan))
    }

    fn rows(
        &self,
        table: &[u8],
        rows: Vec<Vec<u8>>,
        columns: &[Vec<u8>],
        before: Option<i64>,
    ) -> Answer<Vec<TRowResult>> {
        let mut out = Vec::new();
        for row in rows {
            let cells = self.get_cells(table, row, columns, before, 1)?;
            out.extend(row_result(&cells, false));
        }
        Ok(out)
    }

    /// HBase's Thrift mutation: deletes (of every version of a column, or a family) first,
    /// then puts, each as its own row mutation.
    fn row_mutations(
        row: &[u8],
        mutations: &[Mutation],
        timestamp: Option<i64>,
    ) -> Answer<Vec<RowMutation>> {
        let mut deletes = RowMutation::new(row.to_vec());
        let mut puts = RowMutation::new(row.to_vec());
        for m in mutations {
            let column = m.column.clone().unwrap_or_default();
            let durability = if m.write_to_w_a_l.unwrap_or(true) {
                Durability::SyncWal
            } else {
                Durability::SkipWal
            };
            let (family, qualifier) = split_column(&column);
            if m.is_delete.unwrap_or(false) {
                deletes = match qualifier {
                    Some(q) => deletes.delete_column(family, q, timestamp),
                    None => deletes.delete_family(family, timestamp),
                };
                deletes.durability = durability;
            } else {
                let q = qualifier.unwrap_or_default();
                puts = puts.put(family, q, timestamp, m.value.clone().unwrap_or_default());
                puts.durability = durability;
            }
        }
        Ok([deletes, puts]
            .into_iter()
            .filter(|m| !m.edits.is_empty())
            .collect())
    }

    fn mutate(&self, table: &[u8], row_mutations: Vec<RowMutation>) -> Answer<()> {
        let table = self.table(table)?;
        for result in self.runtime.block_on(table.mutate_rows(row_mutations)) {
            result.map_err(invalid)?;
        }
        Ok(())
    }

    fn delete(
        &self,
        table: &[u8],
        row: Vec<u8>,
        column: Option<&[u8]>,
        timestamp: Option<i64>,
    ) -> Answer<()> {
        let mutation = match column.map(split_column) {
            Some((family, Some(q))) => RowMutation::new(row).delete_column(family, q, timestamp),
            Some((family, None)) => RowMutation::new(row).delete_family(family, timestamp),
            None => RowMutation::new(row).delete_row(timestamp),
        };
        self.mutate(table, vec![mutation])
    }

    /// The scanner the `scannerOpen*` calls open: rows from `start` (to `stop`), the given
    /// columns, cells below `before`, 100 rows per fetch.
    fn open_range(
        &self,
        table: &[u8],
        start: Text,
        stop: Option<Text>,
        columns: &[Text],
        before: Option<i64>,
    ) -> Answer<i32> {
        let mut scan = Scan {
            start_row: start.into(),
            stop_row: stop.unwrap_or_default().into(),
            ..Scan::default()
        };
        if let Some(ts) = before {
            scan.time_range = (0, ts);
        }
        select_columns(&mut scan, columns);
        self.open_scanner(table, scan, 100, false)
    }

    fn open_scanner(&self, table: &[u8], scan: Scan, caching: u32, sorted: bool) -> Answer<i32> {
        let table = self.table(table)?;
        let scanner = self.run(table.scanner(scan, caching))?;
        Ok(self.scanners.add(scanner, sorted))
    }
}

impl HbaseSyncHandler for HbaseHandler {
    fn handle_enable_table(&self, table_name: hbase::Bytes) -> Answer<()> {
        let name = table_text(&table_name)?;
        self.run(self.connection.admin().enable(&name))
    }

    fn handle_disable_table(&self, table_name: hbase::Bytes) -> Answer<()> {
        let name = table_text(&table_name)?;
        self.run(self.connection.admin().disable(&name))
    }

    fn handle_is_table_enabled(&self, table_name: hbase::Bytes) -> Answer<bool> {
        let name = table_text(&table_name)?;
        Ok(self.run(self.connection.admin().describe(&name))?.enabled)
    }

    fn handle_compact(&self, table_name_or_region_name: hbase::Bytes) -> Answer<()> {
        let name = table_text(&table_name_or_region_name)?;
        self.run(self.connection.admin().compact(&name, None, false))
    }

    fn handle_major_compact(&self, table_name_or_region_name: hbase::Bytes) -> Answer<()> {
        let name = table_text(&table_name_or_region_name)?;
        self.run(self.connection.admin().compact(&name, None, true))
    }

    fn handle_get_table_names(&self) -> Answer<Vec<Text>> {
        let tables = self.run(self.connection.admin().list_tables())?;
        Ok(tables
            .into_iter()
            .map(|t| t.descriptor.name.to_string().into_bytes())
            .collect())
    }

    fn handle_get_column_descriptors(
        &self,
        table_name: Text,
    ) -> Answer<BTreeMap<Text, ColumnDescriptor>> {
        let name = table_text(&table_name)?;
        let status = self.run(self.connection.admin().describe(&name))?;
        Ok(status
            .descriptor
            .families
            .iter()
            .map(|f| {
                let mut name = f.name.to_vec();
                name.push(b':');
                let ttl = f
                    .ttl
                    .map_or(i32::MAX, |t| i32::try_from(t.as_secs()).unwrap_or(i32::MAX));
                let cd = ColumnDescriptor::new(
                    name.clone(),
                    f.max_versions as i32,
                    f.compression.to_string(),
                    f.in_memory,
                    f.bloom.to_string(),
                    0,
                    0,
                    true,
                    ttl,
                );
                (name, cd)
            })
            .collect())
    }

    fn handle_get_table_regions(&self, table_name: Text) -> Answer<Vec<TRegionInfo>> {
        let name = table_text(&table_name)?;
        let regions = self.run(self.connection.admin().regions(&name))?;
        Ok(regions
            .into_iter()
            .map(|r| {
                let (host, port) = r.server.rsplit_once(':').unwrap_or((&r.server, "0"));
                TRegionInfo::new(
                    r.start.to_vec(),
                    r.end.to_vec(),
                    i64::from_str_radix(&r.name, 16).unwrap_or(0) & i64::MAX,
                    format!("{name},{},{}.", String::from_utf8_lossy(&r.start), r.name)
                        .into_bytes(),
                    1i8,
                    host.as_bytes().to_vec(),
                    port.parse::<i32>().unwrap_or(0),
                )
            })
            .collect())
    }

    fn handle_create_table(
        &self,
        table_name: Text,
        column_families: Vec<ColumnDescriptor>,
    ) -> Answer<()> {
        let name = table_text(&table_name)?;
        let mut families = Vec::new();
        for cd in &column_families {
            families.push(family_descriptor(cd)?);
        }
        let descriptor = TableDescriptor {
            name: TableName::parse(&name).map_err(invalid)?,
            families,
        };
        let admin = self.connection.admin();
        self.runtime
            .block_on(admin.create_table(descriptor, &[]))
            .map_err(invalid)
    }

    fn handle_delete_table(&self, table_name: Text) -> Answer<()> {
        let name = table_text(&table_name)?;
        self.run(self.connection.admin().delete(&name))
    }

    fn handle_get(
        &self,
        table_name: Text,
        row: Text,
        column: Text,
        _attributes: BTreeMap<Text, Text>,
    ) -> Answer<Vec<TCell>> {
        let cells = self.get_cells(&table_name, row, &[column], None, 1)?;
        Ok(cells.iter().map(tcell).collect())
    }

    fn handle_get_ver(
        &self,
        table_name: Text,
        row: Text,
        column: Text,
        num_versions: i32,
        _attributes: BTreeMap<Text, Text>,
    ) -> Answer<Vec<TCell>> {
        let versions =
            u32::try_from(num_versions).map_err(|_| illegal("numVersions must be positive"))?;
        let cells = self.get_cells(&table_name, row, &[column], None, versions)?;
        Ok(cells.iter().map(tcell).collect())
    }

    fn handle_get_ver_ts(
        &self,
        table_name: Text,
        row: Text,
        column: Text,
        timestamp: i64,
        num_versions: i32,
        _attributes: BTreeMap<Text, Text>,
    ) -> Answer<Vec<TCell>> {
        let versions =
            u32::try_from(num_versions).map_err(|_| illegal("numVersions must be positive"))?;
        let cells = self.get_cells(&table_name, row, &[column], Some(timestamp), versions)?;
        Ok(cells.iter().map(tcell).collect())
    }

    fn handle_get_row(
        &self,
        table_name: Text,
        row: Text,
        _attributes: BTreeMap<Text, Text>,
    ) -> Answer<Vec<TRowResult>> {
        self.rows(&table_name, vec![row], &[], None)
    }

    fn handle_get_row_with_columns(
        &self,
        table_name: Text,
        row: Text,
        columns: Vec<Text>,
        _attributes: BTreeMap<Text, Text>,
    ) -> Answer<Vec<TRowResult>> {
        self.rows(&table_name, vec![row], &columns, None)
    }

    fn handle_get_row_ts(
        &self,
        table_name: Text,
        row: Text,
        timestamp: i64,
        _attributes: BTreeMap<Text, Text>,
    ) -> Answer<Vec<TRowResult>> {
        self.rows(&table_name, vec![row], &[], Some(timestamp))
    }

    fn handle_get_row_with_columns_ts(
        &self,
        table_name: Text,
        row: Text,
        columns: Vec<Text>,
        timestamp: i64,
        _attributes: BTreeMap<Text, Text>,
    ) -> Answer<Vec<TRowResult>> {
        self.rows(&table_name, vec![row], &columns, Some(timestamp))
    }

    fn handle_get_rows(
        &self,
        table_name: Text,
        rows: Vec<Text>,
        _attributes: BTreeMap<Text, Text>,
    ) -> Answer<Vec<TRowResult>> {
        self.rows(&table_name, rows, &[], None)
    }

    fn handle_get_rows_with_columns(
        &self,
        table_name: Text,
        rows: Vec<Text>,
        columns: Vec<Text>,
        _attributes: BTreeMap<Text, Text>,
    ) -> Answer<Vec<TRowResult>> {
        self.rows(&table_name, rows, &columns, None)
    }

    fn handle_get_rows_ts(
        &self,
        table_name: Text,
        rows: Vec<Text>,
        timestamp: i64,
        _attributes: BTreeMap<Text, Text>,
    ) -> Answer<Vec<TRowResult>> {
        self.rows(&table_name, rows, &[], Some(timestamp))
    }

    fn handle_get_rows_with_columns_ts(
        &self,
        table_name: Text,
        rows: Vec<Text>,
        columns: Vec<Text>,
        timestamp: i64,
        _attributes: BTreeMap<Text, Text>,
    ) -> Answer<Vec<TRowResult>> {
        self.rows(&table_name, rows, &columns, Some(timestamp))
    }

    fn handle_mutate_row(
        &self,
        table_name: Text,
        row: Text,
        mutations: Vec<Mutation>,
        _attributes: BTreeMap<Text, Text>,
    ) -> Answer<()> {
        let batch = Self::row_mutations(&row, &mutations, None)?;
        self.mutate(&table_name, batch)
    }

    fn handle_mutate_row_ts(
        &self,
        table_name: Text,
        row: Text,
        mutations: Vec<Mutation>,
        timestamp: i64,
        _attributes: BTreeMap<Text, Text>,
    ) -> Answer<()> {
        let batch = Self::row_mutations(&row, &mutations, Some(timestamp))?;
        self.mutate(&table_name, batch)
    }

    fn handle_mutate_rows(
        &self,
        table_name: Text,
        row_batches: Vec<BatchMutation>,
        _attributes: BTreeMap<Text, Text>,
    ) -> Answer<()> {
        self.handle_mutate_rows_at(&table_name, row_batches, None)
    }

    fn handle_mutate_rows_ts(
        &self,
        table_name: Text,
        row_batches: Vec<BatchMutation>,
        timestamp: i64,
        _attributes: BTreeMap<Text, Text>,
    ) -> Answer<()> {
        self.handle_mutate_rows_at(&table_name, row_batches, Some(timestamp))
    }

    fn handle_atomic_increment(
        &self,
        table_name: Text,
        row: Text,
        column: Text,
        value: i64,
    ) -> Answer<i64> {
        let table = self.table(&table_name)?;
        let (family, qualifier) = split_column(&column);
        self.run(table.increment(row, family, qualifier.unwrap_or_default(), value))
    }

    fn handle_delete_all(
        &self,
        table_name: Text,
        row: Text,
        column: Text,
        _attributes: BTreeMap<Text, Text>,
    ) -> Answer<()> {
        self.delete(&table_name, row, Some(&column), None)
    }

    fn handle_delete_all_ts(
        &self,
        table_name: Text,
        row: Text,
        column: Text,
        timestamp: i64,
        _attributes: BTreeMap<Text, Text>,
    ) -> Answer<()> {
        self.delete(&table_name, row, Some(&column), Some(timestamp))
    }

    fn handle_delete_all_row(
        &self,
        table_name: Text,
        row: Text,
        _attributes: BTreeMap<Text, Text>,
    ) -> Answer<()> {
        self.delete(&table_name, row, None, None)
    }

    fn handle_increment(&self, increment: TIncrement) -> Answer<()> {
        self.handle_increment_rows(vec![increment])
    }

    fn handle_increment_rows(&self, increments: Vec<TIncrement>) -> Answer<()> {
        for inc in increments {
            self.handle_atomic_increment(
                inc.table.unwrap_or_default(),
                inc.row.unwrap_or_default(),
                inc.column.unwrap_or_default(),
                inc.ammount.unwrap_or(0),
            )?;
        }
        Ok(())
    }

    fn handle_delete_all_row_ts(
        &self,
        table_name: Text,
        row: Text,
        timestamp: i64,
        _attributes: BTreeMap<Text, Text>,
    ) -> Answer<()> {
        self.delete(&table_name, row, None, Some(timestamp))
    }

    fn handle_scanner_open_with_scan(
        &self,
        table_name: Text,
        scan: TScan,
        _attributes: BTreeMap<Text, Text>,
    ) -> Answer<ScannerID> {
        let mut read = Scan {
            start_row: scan.start_row.unwrap_or_default().into(),
            stop_row: scan.stop_row.unwrap_or_default().into(),
            reversed: scan.reversed.unwrap_or(false),
            ..Scan::default()
        };
        select_columns(&mut read, &scan.columns.unwrap_or_default());
        if let Some(ts) = scan.timestamp {
            read.time_range = (0, ts);
        }
        if let Some(batch) = scan.batch_size.filter(|b| *b > 0) {
            read.batch = batch as usize;
        }
        if let Some(filter) = scan.filter_string.filter(|f| !f.is_empty()) {
            read.set_filter(filter).map_err(exception)?;
        }
        let caching = scan.caching.filter(|c| *c > 0).unwrap_or(100) as u32;
        self.open_scanner(
            &table_name,
            read,
            caching,
            scan.sort_columns.unwrap_or(false),
        )
    }

    fn handle_scanner_open(
        &self,
        table_name: Text,
        start_row: Text,
        columns: Vec<Text>,
        _attributes: BTreeMap<Text, Text>,
    ) -> Answer<ScannerID> {
        self.open_range(&table_name, start_row, None, &columns, None)
    }

    fn handle_scanner_open_with_stop(
        &self,
        table_name: Text,
        start_row: Text,
        stop_row: Text,
        columns: Vec<Text>,
        _attributes: BTreeMap<Text, Text>,
    ) -> Answer<ScannerID> {
        self.open_range(&table_name, start_row, Some(stop_row), &columns, None)
    }

    fn handle_scanner_open_with_prefix(
        &self,
        table_name: Text,
        start_and_prefix: Text,
        columns: Vec<Text>,
        _attributes: BTreeMap<Text, Text>,
    ) -> Answer<ScannerID> {
        let mut scan = Scan {
            start_row: start_and_prefix.clone().into(),
            ..Scan::default()
        };
        let mut filter = b"PrefixFilter('".to_vec();
        for b in &start_and_prefix {
            if *b == b'\'' {
                filter.push(b'\'');
            }
            filter.push(*b);
        }
        filter.extend_from_slice(b"')");
        scan.set_filter(filter).map_err(exception)?;
        select_columns(&mut scan, &columns);
        self.open_scanner(&table_name, scan, 100, false)
    }

    fn handle_scanner_open_ts(
        &self,
        table_name: Text,
        start_row: Text,
        columns: Vec<Text>,
        timestamp: i64,
        _attributes: BTreeMap<Text, Text>,
    ) -> Answer<ScannerID> {
        self.open_range(&table_name, start_row, None, &columns, Some(timestamp))
    }

    fn handle_scanner_open_with_stop_ts(
        &self,
        table_name: Text,
        start_row: Text,
        stop_row: Text,
        columns: Vec<Text>,
        timestamp: i64,
        _attributes: BTreeMap<Text, Text>,
    ) -> Answer<ScannerID> {
        self.open_range(
            &table_name,
            start_row,
            Some(stop_row),
            &columns,
            Some(timestamp),
        )
    }

    fn handle_scanner_get(&self, id: ScannerID) -> Answer<Vec<TRowResult>> {
        self.handle_scanner_get_list(id, 1)
    }

    fn handle_scanner_get_list(&self, id: ScannerID, nb_rows: i32) -> Answer<Vec<TRowResult>> {
        let (scanner, sorted) = self
            .scanners
            .get(id)
            .ok_or_else(|| illegal(format!("scanner ID {id} is invalid")))?;
        let mut scanner = self.runtime.block_on(scanner.lock());
        let mut out = Vec::new();
        while out.len() < nb_rows.max(1) as usize {
            match self.runtime.block_on(scanner.next()).map_err(invalid)? {
                Some(cells) => out.extend(row_result(&cells, sorted)),
                None => break,
            }
        }
        Ok(out)
    }

    fn handle_scanner_close(&self, id: ScannerID) -> Answer<()> {
        match self.scanners.remove(id) {
            Some(scanner) => {
                let mut scanner = self.runtime.block_on(scanner.lock());
                self.runtime.block_on(scanner.close());
                Ok(())
            }
            None => Err(illegal(format!("scanner ID {id} is invalid"))),
        }
    }

    fn handle_get_row_or_before(
        &self,
        table_name: Text,
        row: Text,
        family: Text,
    ) -> Answer<Vec<TCell>> {
        let table = self.table(&table_name)?;
        let mut scan = Scan {
            start_row: row.into(),
            reversed: true,
            limit: 1,
            ..Scan::default()
        };
        scan.add_family(split_column(&family).0);
        let first = self.run(async {
            let mut scanner = table.scanner(scan, 1).await?;
            let first = scanner.next().await?;
            scanner.close().await;
            Ok(first)
        })?;
        Ok(first.unwrap_or_default().iter().map(tcell).collect())
    }

    fn handle_get_region_info(&self, row: Text) -> Answer<TRegionInfo> {
        // A row of HBase's meta table: `table,row,...`.
        let text = String::from_utf8_lossy(&row).into_owned();
        let (table, rest) = text
            .split_once(',')
            .ok_or_else(|| illegal("a meta row is 'table,row,...'"))?;
        let key = rest.rsplit_once(',').map_or(rest, |(k, _)| k);
        let regions = self.handle_get_table_regions(table.as_bytes().to_vec())?;
        regions
            .into_iter()
            .find(|r| {
                let start = r.start_key.clone().unwrap_or_default();
                let end = r.end_key.clone().unwrap_or_default();
                key.as_bytes() >= &start[..] && (end.is_empty() || key.as_bytes() < &end[..])
            })
            .ok_or_else(|| {
                thrift::Error::User(Box::new(IOError {
                    message: Some(format!("no region of {table} holds the row")),
                }))
            })
    }

    fn handle_append(&self, append: TAppend) -> Answer<Vec<TCell>> {
        let table = self.table(&append.table.unwrap_or_default())?;
        let columns = append.columns.unwrap_or_default();
        let values = append.values.unwrap_or_default();
        if columns.len() != values.len() {
            return Err(illegal("an append has as many values as columns"));
        }
        let change = ReadModifyWrite {
            row: append.row.unwrap_or_default().into(),
            columns: columns
                .iter()
                .zip(values)
                .map(|(c, v)| {
                    let (family, qualifier) = split_column(c);
                    (
                        family,
                        qualifier.unwrap_or_default(),
                        Change::Append(v.into()),
                    )
                })
                .collect(),
            durability: Durability::UseDefault,
            nonce: None,
        };
        let cells = self.run(table.read_modify_write(change))?;
        Ok(cells.iter().map(tcell).collect())
    }

    fn handle_check_and_put(
        &self,
        table_name: Text,
        row: Text,
        column: Text,
        value: Text,
        mput: Mutation,
        _attributes: BTreeMap<Text, Text>,
    ) -> Answer<bool> {
        let table = self.table(&table_name)?;
        let (family, qualifier) = split_column(&column);
        let mut puts = Self::row_mutations(&row, std::slice::from_ref(&mput), None)?;
        let Some(mutation) = puts.pop() else {
            return Err(illegal("checkAndPut needs a put"));
        };
        let check = CheckAndMutate {
            family,
            qualifier: qualifier.unwrap_or_default(),
            op: CompareOp::Equal,
            value: (!value.is_empty()).then(|| value.into()),
            mutation,
        };
        self.runtime
            .block_on(table.check_and_mutate(check))
            .map_err(invalid)
    }
}

impl HbaseHandler {
    fn handle_mutate_rows_at(
        &self,
        table: &[u8],
        batches: Vec<BatchMutation>,
        timestamp: Option<i64>,
    ) -> Answer<()> {
        let mut all = Vec::new();
        for batch in batches {
            let row = batch.row.unwrap_or_default();
            all.extend(Self::row_mutations(
                &row,
                &batch.mutations.unwrap_or_default(),
                timestamp,
            )?);
        }
        self.mutate(table, all)
    }
}
