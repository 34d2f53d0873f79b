//! The table master's RPCs: tables (create with pre-split regions, alter, enable, disable,
//! truncate, delete, list, describe), where regions are, region server reports, and flushes
//! and compactions passed on to the servers holding the regions.

use super::assignment::Placement;
use super::catalog::regions_for;
use super::master::MasterState;
use super::region_change;
use super::{Answer, answer};
use crate::error::{Error, Result};
use crate::proto::rpc::table_master_server::TableMaster as TableMasterRpc;
use crate::proto::rpc::*;
use crate::region::layout::{RegionDir, encode_name, table_dir};
use crate::schema::TableName;
use crate::wire;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tonic::Request;

/// The gRPC service.
#[derive(Debug)]
pub(super) struct Service {
    state: Arc<MasterState>,
}

impl Service {
    pub(super) fn new(state: Arc<MasterState>) -> Service {
        Service { state }
    }

    async fn create_table(&self, req: CreateTableRequest) -> Result<()> {
        let schema = wire::table_from_wire(
            req.schema
                .ok_or_else(|| Error::InvalidRequest("create a table: no schema".into()))?,
        )?;
        let mut catalog = self.state.catalog.lock().await;
        let name = schema.name.to_string();
        if catalog.tables.contains_key(&name) {
            return Err(Error::TableExists(name));
        }
        let regions = regions_for(&schema.name, &req.splits)?;
        tracing::info!(table = %name, regions = regions.len(), "creating a table");
        catalog.tables.insert(
            name,
            CatalogTable {
                schema: Some(wire::table_to_wire(&schema)),
                enabled: true,
                regions,
                changes: Vec::new(),
            },
        );
        catalog.save(&self.state.fs, &self.state.config.root).await
    }

    async fn set_enabled(&self, table: &str, enabled: bool) -> Result<()> {
        let name = TableName::parse(table)?;
        let mut catalog = self.state.catalog.lock().await;
        let entry = catalog.table_mut(&name)?;
        if entry.enabled == enabled {
            return Err(Error::TableState {
                table: name.to_string(),
                state: if enabled { "enabled" } else { "disabled" }.to_string(),
            });
        }
        entry.enabled = enabled;
        catalog.save(&self.state.fs, &self.state.config.root).await
    }

    /// Fails while any region of the table is still open somewhere.
    fn check_closed(&self, name: &TableName, regions: &[RegionDescriptor]) -> Result<()> {
        let assignments = self.state.assignments.lock();
        if regions
            .iter()
            .any(|r| assignments.placements.contains_key(&r.name))
        {
            return Err(Error::TableState {
                table: name.to_string(),
                state: "still closing its regions; try again in a moment".to_string(),
            });
        }
        Ok(())
    }

    async fn delete_table(&self, table: &str) -> Result<()> {
        let name = TableName::parse(table)?;
        let mut catalog = self.state.catalog.lock().await;
        let entry = catalog.table(&name)?;
        if entry.enabled {
            return Err(Error::TableState {
                table: name.to_string(),
                state: "enabled (disable it first)".to_string(),
            });
        }
        self.check_closed(&name, &entry.regions)?;
        catalog.tables.remove(&name.to_string());
        catalog
            .save(&self.state.fs, &self.state.config.root)
            .await?;
        drop(catalog);
        let dir = table_dir(&self.state.config.root, &name);
        match self.state.fs.delete(&dir, true).await {
            Ok(_) | Err(strata_core::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn truncate_table(&self, req: TruncateTableRequest) -> Result<()> {
        let name = TableName::parse(&req.table)?;
        let mut catalog = self.state.catalog.lock().await;
        let entry = catalog.table(&name)?;
        if entry.enabled {
            return Err(Error::TableState {
                table: name.to_string(),
                state: "enabled (disable it first)".to_string(),
            });
        }
        self.check_closed(&name, &entry.regions)?;
        let splits: Vec<bytes::Bytes> = if req.preserve_splits {
            entry
                .regions
                .iter()
                .skip(1)
                .map(|r| r.start.clone())
                .collect()
        } else {
            Vec::new()
        };
        let old: Vec<String> = (entry.regions.iter())
            .chain(
                entry
                    .changes
                    .iter()
                    .flat_map(|c| c.parents.iter().chain(&c.children)),
            )
            .map(|r| r.name.clone())
            .collect();
        let regions = regions_for(&name, &splits)?;
        let entry = catalog.table_mut(&name)?;
        entry.regions = regions;
        entry.changes.clear();
        entry.enabled = true;
        catalog
            .save(&self.state.fs, &self.state.config.root)
            .await?;
        drop(catalog);
        let dir = table_dir(&self.state.config.root, &name);
        for region in old {
            let path = RegionDir::new(&dir, &region).path().to_string();
            if let Err(e) = self.state.fs.delete(&path, true).await {
                tracing::warn!(%path, error = %e, "cannot delete a truncated region's files");
            }
        }
        Ok(())
    }

    async fn alter_table(&self, req: AlterTableRequest) -> Result<()> {
        let name = TableName::parse(&req.table)?;
        let mut catalog = self.state.catalog.lock().await;
        let entry = catalog.table_mut(&name)?;
        let mut schema = wire::table_from_wire(entry.schema.clone().unwrap_or_default())?;
        for family in req.families {
            let family = wire::family_from_wire(family)?;
            schema.families.retain(|f| f.name != family.name);
            schema.families.push(family);
        }
        for gone in &req.delete {
            schema.family(gone)?;
            schema.families.retain(|f| f.name != *gone);
        }
        schema.validate()?;
        entry.schema = Some(wire::table_to_wire(&schema));
        let regions = entry.regions.clone();
        catalog
            .save(&self.state.fs, &self.state.config.root)
            .await?;
        drop(catalog);
        // Regions reopen with the new schema; deleted families' files go.
        let dir = table_dir(&self.state.config.root, &name);
        for region in &regions {
            for gone in &req.delete {
                let path = format!(
                    "{}/{}",
                    RegionDir::new(&dir, &region.name).path(),
                    encode_name(gone)
                );
                let _ = self.state.fs.delete(&path, true).await;
            }
            self.reopen(region).await;
        }
        Ok(())
    }

    /// Closes an open region where it is; the assignment pass opens it again.
    async fn reopen(&self, region: &RegionDescriptor) {
        let server = match self.state.assignments.lock().placements.get(&region.name) {
            Some(Placement::Open(s)) => s.clone(),
            _ => return,
        };
        if let Ok(mut client) = self.state.server(&server) {
            let spec = RegionSpec {
                table: region.table.clone(),
                region: region.name.clone(),
            };
            let _ = client
                .close_region(CloseRegionRequest {
                    region: Some(spec),
                    flush: true,
                })
                .await;
        }
        self.state
            .assignments
            .lock()
            .placements
            .remove(&region.name);
    }

    async fn locate(&self, req: LocateRequest) -> Result<RegionLocation> {
        let name = TableName::parse(&req.table)?;
        let catalog = self.state.catalog.lock().await;
        let entry = catalog.table(&name)?;
        if !entry.enabled {
            return Err(Error::TableState {
                table: name.to_string(),
                state: "disabled".to_string(),
            });
        }
        let region = catalog.region_of(&name, &req.row)?.clone();
        drop(catalog);
        let (region, server) = self.state.placed(&[region]).remove(0);
        Ok(RegionLocation {
            region: Some(region),
            server: server.unwrap_or_default(),
        })
    }

    async fn regions(&self, table: &str) -> Result<RegionsResponse> {
        let name = TableName::parse(table)?;
        let regions = self
            .state
            .catalog
            .lock()
            .await
            .table(&name)?
            .regions
            .clone();
        Ok(RegionsResponse {
            regions: (self.state.placed(&regions).into_iter())
                .map(|(region, server)| RegionLocation {
                    region: Some(region),
                    server: server.unwrap_or_default(),
                })
                .collect(),
        })
    }

    async fn for_each_region(&self, req: RegionRequest, flush: bool) -> Result<()> {
        let located = self.regions(&req.table).await?;
        for location in located.regions {
            let Some(region) = location.region else {
                continue;
            };
            if !req.region.is_empty() && region.name != req.region {
                continue;
            }
            if location.server.is_empty() {
                return Err(Error::NotServingRegion {
                    region: region.name,
                    reason: "no server holds it right now".to_string(),
                });
            }
            let mut client = self.state.server(&location.server)?;
            let action = RegionActionRequest {
                region: Some(RegionSpec {
                    table: region.table.clone(),
                    region: region.name.clone(),
                }),
                major: req.major,
            };
            let result = if flush {
                client.flush_region(action).await
            } else {
                client.compact_region(action).await
            };
            result.map_err(|s| wire::from_status(s, &location.server))?;
        }
        Ok(())
    }

    async fn report(&self, req: ServerReport) -> Result<ServerReportResponse> {
        let catalog = self.state.catalog.lock().await;
        let known = |name: &str| {
            catalog
                .tables
                .values()
                .any(|t| t.enabled && t.regions.iter().any(|r| r.name == name))
        };
        let foreign =
            self.state
                .assignments
                .lock()
                .report(&req.address, &req.host, &req.regions, known);
        Ok(ServerReportResponse {
            close: foreign
                .into_iter()
                .map(|region| RegionSpec {
                    table: String::new(),
                    region,
                })
                .collect(),
        })
    }
}

impl Service {
    /// Splits the region named, or the one holding the split row, or every region of the
    /// table (those that can split) when neither is given.
    async fn split_region(&self, req: SplitRequest) -> Result<RegionChangeResponse> {
        let name = TableName::parse(&req.table)?;
        let targets: Vec<String> = {
            let catalog = self.state.catalog.lock().await;
            match (&req.region[..], &req.split_row) {
                ("", Some(row)) => vec![catalog.region_of(&name, row)?.name.clone()],
                ("", None) => (catalog.table(&name)?.regions.iter())
                    .map(|r| r.name.clone())
                    .collect(),
                (region, _) => vec![region.to_string()],
            }
        };
        let at = req.split_row;
        let mut made = Vec::new();
        let mut refused = None;
        let every = req.region.is_empty() && at.is_none();
        for region in targets {
            match region_change::split(&self.state, &name, &region, at.clone()).await {
                Ok(children) => made.extend(children),
                Err(e) if every => {
                    tracing::info!(%region, error = %e, "region not split");
                    refused = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        match refused {
            Some(e) if made.is_empty() => Err(e),
            _ => Ok(RegionChangeResponse { regions: made }),
        }
    }

    /// `work`'s result, or the error saying this master stands by.
    async fn when_active<T>(
        &self,
        work: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        self.state.check_active()?;
        work.await
    }
}

#[tonic::async_trait]
impl TableMasterRpc for Service {
    async fn create_table(&self, request: Request<CreateTableRequest>) -> Answer<Empty> {
        let result = self
            .when_active(self.create_table(request.into_inner()))
            .await;
        answer(result.map(|()| Empty {}))
    }

    async fn delete_table(&self, request: Request<TableRequest>) -> Answer<Empty> {
        let result = self
            .when_active(self.delete_table(&request.into_inner().table))
            .await;
        answer(result.map(|()| Empty {}))
    }

    async fn enable_table(&self, request: Request<TableRequest>) -> Answer<Empty> {
        let result = self
            .when_active(self.set_enabled(&request.into_inner().table, true))
            .await;
        answer(result.map(|()| Empty {}))
    }

    async fn disable_table(&self, request: Request<TableRequest>) -> Answer<Empty> {
        let result = self
            .when_active(self.set_enabled(&request.into_inner().table, false))
            .await;
        answer(result.map(|()| Empty {}))
    }

    async fn truncate_table(&self, request: Request<TruncateTableRequest>) -> Answer<Empty> {
        let result = self
            .when_active(self.truncate_table(request.into_inner()))
            .await;
        answer(result.map(|()| Empty {}))
    }

    async fn alter_table(&self, request: Request<AlterTableRequest>) -> Answer<Empty> {
        let result = self
            .when_active(self.alter_table(request.into_inner()))
            .await;
        answer(result.map(|()| Empty {}))
    }

    async fn list_tables(&self, _request: Request<Empty>) -> Answer<ListTablesResponse> {
        let result = async {
            self.state.check_active()?;
            let catalog = self.state.catalog.lock().await;
            Ok(ListTablesResponse {
                tables: (catalog.tables.values())
                    .map(|t| TableInfo {
                        schema: t.schema.clone(),
                        enabled: t.enabled,
                        regions: t.regions.len() as u32,
                    })
                    .collect(),
            })
        }
        .await;
        answer(result)
    }

    async fn describe_table(&self, request: Request<TableRequest>) -> Answer<TableInfo> {
        let result = async {
            self.state.check_active()?;
            let name = TableName::parse(&request.into_inner().table)?;
            let catalog = self.state.catalog.lock().await;
            let t = catalog.table(&name)?;
            Ok(TableInfo {
                schema: t.schema.clone(),
                enabled: t.enabled,
                regions: t.regions.len() as u32,
            })
        }
        .await;
        answer(result)
    }

    async fn locate(&self, request: Request<LocateRequest>) -> Answer<RegionLocation> {
        let result = self.when_active(self.locate(request.into_inner())).await;
        answer(result)
    }

    async fn regions(&self, request: Request<TableRequest>) -> Answer<RegionsResponse> {
        let result = self
            .when_active(self.regions(&request.into_inner().table))
            .await;
        answer(result)
    }

    async fn report(&self, request: Request<ServerReport>) -> Answer<ServerReportResponse> {
        let result = self.when_active(self.report(request.into_inner())).await;
        answer(result)
    }

    async fn flush(&self, request: Request<RegionRequest>) -> Answer<Empty> {
        let result = self
            .when_active(self.for_each_region(request.into_inner(), true))
            .await;
        answer(result.map(|()| Empty {}))
    }

    async fn compact(&self, request: Request<RegionRequest>) -> Answer<Empty> {
        let result = self
            .when_active(self.for_each_region(request.into_inner(), false))
            .await;
        answer(result.map(|()| Empty {}))
    }

    async fn split_region(&self, request: Request<SplitRequest>) -> Answer<RegionChangeResponse> {
        let result = self
            .when_active(self.split_region(request.into_inner()))
            .await;
        answer(result)
    }

    async fn merge_regions(&self, request: Request<MergeRequest>) -> Answer<RegionChangeResponse> {
        let req = request.into_inner();
        let result = self
            .when_active(async {
                let name = TableName::parse(&req.table)?;
                let regions = region_change::merge(&self.state, &name, &req.regions).await?;
                Ok(RegionChangeResponse { regions })
            })
            .await;
        answer(result)
    }

    async fn status(&self, _request: Request<Empty>) -> Answer<MasterStatus> {
        let servers = self
            .state
            .assignments
            .lock()
            .servers
            .keys()
            .cloned()
            .collect();
        answer(Ok(MasterStatus {
            address: self.state.address.clone(),
            active: self.state.active.load(Ordering::Acquire),
            servers,
        }))
    }
}
