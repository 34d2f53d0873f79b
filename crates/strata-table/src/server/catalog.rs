//! The catalog: every table, its schema, state and regions, kept by the active table master
//! in one Strata file (`<root>/catalog/catalog.pb`, a `Catalog` message) that is written to a
//! temporary file and renamed over the old one, so it is always whole.

use crate::error::{Error, Result};
use crate::proto::rpc::{Catalog, CatalogTable, RegionDescriptor};
use crate::schema::TableName;
use bytes::Bytes;
use prost::Message;
use std::collections::BTreeMap;
use strata_client::{CreateOptions, FileSystem};
use strata_core::Error as FsError;

/// The tables, by name (as `TableName` displays it).
#[derive(Debug, Clone, Default)]
pub struct CatalogState {
    /// Every table.
    pub tables: BTreeMap<String, CatalogTable>,
    /// Bumped by every saved change.
    pub version: u64,
}

fn catalog_path(root: &str) -> String {
    format!("{root}/catalog/catalog.pb")
}

impl CatalogState {
    /// Reads the catalog (empty when none was ever written).
    pub async fn load(fs: &FileSystem, root: &str) -> Result<CatalogState> {
        let path = catalog_path(root);
        let bytes = match fs.open(&path).await {
            Ok(mut r) => r.read_to_end().await?,
            Err(FsError::NotFound { .. }) => return Ok(CatalogState::default()),
            Err(e) => return Err(e.into()),
        };
        let catalog = Catalog::decode(&bytes[..])
            .map_err(|e| Error::corrupt(&path, "catalog", e.to_string()))?;
        let mut tables = BTreeMap::new();
        for table in catalog.tables {
            let name = table
                .schema
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_default();
            tables.insert(name, table);
        }
        Ok(CatalogState {
            tables,
            version: catalog.version,
        })
    }

    /// Writes the catalog whole, replacing the last one.
    pub async fn save(&mut self, fs: &FileSystem, root: &str) -> Result<()> {
        self.version += 1;
        let catalog = Catalog {
            tables: self.tables.values().cloned().collect(),
            version: self.version,
        };
        let path = catalog_path(root);
        let tmp = format!("{path}.{:016x}.tmp", rand::random::<u64>());
        let options = CreateOptions {
            create_parents: true,
            ..Default::default()
        };
        let mut writer = fs.create(&tmp, options).await?;
        writer.write(&catalog.encode_to_vec()).await?;
        writer.close().await?;
        fs.replace(&tmp, &path, None).await?;
        Ok(())
    }

    /// The table named `name`.
    pub fn table(&self, name: &TableName) -> Result<&CatalogTable> {
        self.tables
            .get(&name.to_string())
            .ok_or_else(|| Error::NoSuchTable(name.to_string()))
    }

    /// The table named `name`, to change.
    pub fn table_mut(&mut self, name: &TableName) -> Result<&mut CatalogTable> {
        self.tables
            .get_mut(&name.to_string())
            .ok_or_else(|| Error::NoSuchTable(name.to_string()))
    }

    /// The region of `table` holding `row`.
    pub fn region_of(&self, table: &TableName, row: &[u8]) -> Result<&RegionDescriptor> {
        let entry = self.table(table)?;
        entry
            .regions
            .iter()
            .find(|r| row >= &r.start[..] && (r.end.is_empty() || row < &r.end[..]))
            .ok_or_else(|| Error::Internal(format!("table {table} has no region for a row")))
    }
}

/// A new region's name: unique, and a valid directory name.
pub fn new_region_name() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// The regions of a table split at `splits`: n sorted, distinct, non-empty keys give n + 1
/// regions covering every row.
pub fn regions_for(table: &TableName, splits: &[Bytes]) -> Result<Vec<RegionDescriptor>> {
    let mut keys: Vec<Bytes> = splits.to_vec();
    keys.sort();
    keys.dedup();
    if keys.iter().any(|k| k.is_empty()) {
        return Err(Error::InvalidRequest(
            "a split key cannot be empty".to_string(),
        ));
    }
    let mut bounds = vec![Bytes::new()];
    bounds.extend(keys);
    bounds.push(Bytes::new());
    Ok(bounds
        .windows(2)
        .map(|w| RegionDescriptor {
            table: table.to_string(),
            name: new_region_name(),
            start: w[0].clone(),
            end: w[1].clone(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keys_cut_the_row_space_into_regions() {
        let t = TableName::parse("t").unwrap();
        let regions = regions_for(
            &t,
            &[
                Bytes::from_static(b"m"),
                Bytes::from_static(b"c"),
                Bytes::from_static(b"m"),
            ],
        )
        .unwrap();
        let ranges: Vec<(&[u8], &[u8])> =
            regions.iter().map(|r| (&r.start[..], &r.end[..])).collect();
        assert_eq!(
            ranges,
            vec![(&b""[..], &b"c"[..]), (b"c", b"m"), (b"m", b"")]
        );
        assert_eq!(regions_for(&t, &[]).unwrap().len(), 1);
        assert!(regions_for(&t, &[Bytes::new()]).is_err());
        let mut catalog = CatalogState::default();
        catalog.tables.insert(
            "t".into(),
            CatalogTable {
                schema: None,
                enabled: true,
                regions,
                changes: Vec::new(),
            },
        );
        assert_eq!(&catalog.region_of(&t, b"d").unwrap().start[..], b"c");
        assert_eq!(&catalog.region_of(&t, b"").unwrap().end[..], b"c");
        assert_eq!(&catalog.region_of(&t, b"zz").unwrap().start[..], b"m");
    }
}
