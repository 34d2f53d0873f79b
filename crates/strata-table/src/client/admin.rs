//! Table administration through the active table master: create (pre-split), alter,
//! enable, disable, truncate, delete, list, describe; where regions are; flushes and
//! compactions; splits and merges.

use super::Connection;
use crate::error::{Error, Result};
use crate::proto::rpc::{
    AlterTableRequest, CreateTableRequest, Empty, MergeRequest, RegionDescriptor, RegionRequest,
    SplitRequest, TableInfo, TableRequest, TruncateTableRequest,
};
use crate::schema::{FamilyDescriptor, TableDescriptor, TableName};
use crate::wire;
use bytes::Bytes;

/// A table and its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableStatus {
    /// Its name and families.
    pub descriptor: TableDescriptor,
    /// Enabled (serving) or disabled.
    pub enabled: bool,
    /// How many regions it has.
    pub regions: u32,
}

/// A region and where it is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionPlace {
    /// The region's name.
    pub name: String,
    /// Its first row (inclusive).
    pub start: Bytes,
    /// Its end row (exclusive; empty: the table's end).
    pub end: Bytes,
    /// The region server holding it; empty while none does.
    pub server: String,
}

/// Administration of a connection's table store.
#[derive(Debug, Clone)]
pub struct Admin {
    connection: Connection,
}

fn status(info: TableInfo) -> Result<TableStatus> {
    Ok(TableStatus {
        descriptor: wire::table_from_wire(
            info.schema
                .ok_or_else(|| Error::Internal("a table without a schema".into()))?,
        )?,
        enabled: info.enabled,
        regions: info.regions,
    })
}

impl Admin {
    pub(crate) fn new(connection: Connection) -> Admin {
        Admin { connection }
    }

    /// Creates a table; `splits` pre-splits it (n keys, n + 1 regions).
    pub async fn create_table(&self, mut table: TableDescriptor, splits: &[Bytes]) -> Result<()> {
        table.validate()?;
        let request = CreateTableRequest {
            schema: Some(wire::table_to_wire(&table)),
            splits: splits.to_vec(),
        };
        self.connection
            .master(|mut m| {
                let request = request.clone();
                async move { m.create_table(request).await }
            })
            .await
            .map(|_: Empty| ())
    }

    /// Every table.
    pub async fn list_tables(&self) -> Result<Vec<TableStatus>> {
        let response = self
            .connection
            .master(|mut m| async move { m.list_tables(Empty {}).await })
            .await?;
        response.tables.into_iter().map(status).collect()
    }

    /// One table.
    pub async fn describe(&self, table: &str) -> Result<TableStatus> {
        let request = table_request(table)?;
        let info = self
            .connection
            .master(|mut m| {
                let request = request.clone();
                async move { m.describe_table(request).await }
            })
            .await?;
        status(info)
    }

    /// Whether the table exists.
    pub async fn exists(&self, table: &str) -> Result<bool> {
        match self.describe(table).await {
            Ok(_) => Ok(true),
            Err(Error::NoSuchTable(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Takes a table offline (its regions close, flushed).
    pub async fn disable(&self, table: &str) -> Result<()> {
        let request = table_request(table)?;
        self.connection
            .master(|mut m| {
                let request = request.clone();
                async move { m.disable_table(request).await }
            })
            .await
            .map(|_| ())?;
        self.wait_closed(table).await
    }

    /// Brings a disabled table back online.
    pub async fn enable(&self, table: &str) -> Result<()> {
        let request = table_request(table)?;
        self.connection
            .master(|mut m| {
                let request = request.clone();
                async move { m.enable_table(request).await }
            })
            .await
            .map(|_| ())
    }

    /// Deletes a disabled table and its data.
    pub async fn delete(&self, table: &str) -> Result<()> {
        let request = table_request(table)?;
        self.retry_while_closing(|| {
            let request = request.clone();
            let connection = self.connection.clone();
            async move {
                connection
                    .master(|mut m| {
                        let request = request.clone();
                        async move { m.delete_table(request).await }
                    })
                    .await
                    .map(|_| ())
            }
        })
        .await
    }

    /// Empties a disabled table (new regions, keeping the split points when asked); it is
    /// enabled again.
    pub async fn truncate(&self, table: &str, preserve_splits: bool) -> Result<()> {
        let request = TruncateTableRequest {
            table: TableName::parse(table)?.to_string(),
            preserve_splits,
        };
        self.retry_while_closing(|| {
            let request = request.clone();
            let connection = self.connection.clone();
            async move {
                connection
                    .master(|mut m| {
                        let request = request.clone();
                        async move { m.truncate_table(request).await }
                    })
                    .await
                    .map(|_| ())
            }
        })
        .await
    }

    /// Adds or changes `families` and deletes `delete`; the regions reopen with the new
    /// schema.
    pub async fn alter(
        &self,
        table: &str,
        families: &[FamilyDescriptor],
        delete: &[Bytes],
    ) -> Result<()> {
        for f in families {
            f.validate()?;
        }
        let request = AlterTableRequest {
            table: TableName::parse(table)?.to_string(),
            families: families.iter().map(wire::family_to_wire).collect(),
            delete: delete.to_vec(),
        };
        self.connection
            .master(|mut m| {
                let request = request.clone();
                async move { m.alter_table(request).await }
            })
            .await
            .map(|_| ())
    }

    /// The table's regions in row order, with where each is served.
    pub async fn regions(&self, table: &str) -> Result<Vec<RegionPlace>> {
        let located = self.connection.regions(&TableName::parse(table)?).await?;
        Ok(located
            .into_iter()
            .map(|l| RegionPlace {
                name: l.region.name,
                start: l.region.start,
                end: l.region.end,
                server: l.server,
            })
            .collect())
    }

    /// Flushes the table's memstores (or one region's: `region`).
    pub async fn flush(&self, table: &str, region: Option<&str>) -> Result<()> {
        self.region_action(table, region, None).await
    }

    /// Compacts the table (or one region); `major` merges all files into one per family.
    pub async fn compact(&self, table: &str, region: Option<&str>, major: bool) -> Result<()> {
        self.region_action(table, region, Some(major)).await
    }

    /// Splits regions of the table: the one named `region`, or the one holding `at`, or
    /// every region that can split when neither is given; each at `at` or else at the middle
    /// key of its largest family. Returns the new regions once they are served.
    pub async fn split(
        &self,
        table: &str,
        region: Option<&str>,
        at: Option<Bytes>,
    ) -> Result<Vec<RegionPlace>> {
        let request = SplitRequest {
            table: TableName::parse(table)?.to_string(),
            region: region.unwrap_or_default().to_string(),
            split_row: at,
        };
        let made = self
            .connection
            .master(|mut m| {
                let request = request.clone();
                async move { m.split_region(request).await }
            })
            .await?;
        self.wait_served(table, made.regions).await
    }

    /// Merges two adjacent regions of the table; returns the region that replaced them once
    /// it is served.
    pub async fn merge(&self, table: &str, first: &str, second: &str) -> Result<RegionPlace> {
        let request = MergeRequest {
            table: TableName::parse(table)?.to_string(),
            regions: vec![first.to_string(), second.to_string()],
        };
        let made = self
            .connection
            .master(|mut m| {
                let request = request.clone();
                async move { m.merge_regions(request).await }
            })
            .await?;
        let mut served = self.wait_served(table, made.regions).await?;
        served
            .pop()
            .ok_or_else(|| Error::Internal("a merge made no region".to_string()))
    }

    /// Waits until every region in `made` is served; where they are.
    async fn wait_served(
        &self,
        table: &str,
        made: Vec<RegionDescriptor>,
    ) -> Result<Vec<RegionPlace>> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let regions = self.regions(table).await?;
            let placed: Vec<RegionPlace> = (regions.into_iter())
                .filter(|r| made.iter().any(|m| m.name == r.name))
                .collect();
            let all = placed.len() == made.len();
            if all && placed.iter().all(|r| !r.server.is_empty()) {
                return Ok(placed);
            }
            if tokio::time::Instant::now() > deadline {
                return Err(Error::TableState {
                    table: table.to_string(),
                    state: "changed, but its new regions did not open in 60 s".to_string(),
                });
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    async fn region_action(
        &self,
        table: &str,
        region: Option<&str>,
        compact: Option<bool>,
    ) -> Result<()> {
        let request = RegionRequest {
            table: TableName::parse(table)?.to_string(),
            region: region.unwrap_or_default().to_string(),
            major: compact.unwrap_or(false),
        };
        self.connection
            .master(|mut m| {
                let request = request.clone();
                async move {
                    match compact {
                        Some(_) => m.compact(request).await,
                        None => m.flush(request).await,
                    }
                }
            })
            .await
            .map(|_| ())
    }

    /// Waits until no region of the disabled table is served any more.
    async fn wait_closed(&self, table: &str) -> Result<()> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let regions = self.regions(table).await?;
            if regions.iter().all(|r| r.server.is_empty()) {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(Error::TableState {
                    table: table.to_string(),
                    state: "disabled, but its regions did not close in 60 s".to_string(),
                });
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    async fn retry_while_closing<F, Fut>(&self, call: F) -> Result<()>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<()>>,
    {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            match call().await {
                Err(Error::TableState { state, .. })
                    if state.starts_with("still closing")
                        && tokio::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                other => return other,
            }
        }
    }
}

fn table_request(table: &str) -> Result<TableRequest> {
    Ok(TableRequest {
        table: TableName::parse(table)?.to_string(),
    })
}
