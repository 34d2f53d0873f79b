//! A region server: serves the regions the table master assigns it (gets, mutations,
//! scanners, check-and-mutate, increments), opens and closes them on the master's word, and
//! reports its regions and their load to the active master every second.

use super::election::active_master;
use super::scanners::Scanners;
use super::{Answer, answer};
use crate::error::{Error, Result};
use crate::mutation::{Change, CheckAndMutate, Nonce, ReadModifyWrite};
use crate::proto::rpc::region_server_server::{RegionServer as RegionService, RegionServerServer};
use crate::proto::rpc::table_master_client::TableMasterClient;
use crate::proto::rpc::{self, *};
use crate::region::{IoBudget, OpenRegion, Region, RegionInfo, RegionSettings, Shared};
use crate::schema::TableName;
use crate::sstable::BlockCache;
use crate::wire;
use parking_lot::RwLock;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use strata_client::FileSystem;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::Request;
use tonic::service::Routes;

/// The largest answer a scanner sends at once.
const MAX_RESULT_BYTES: usize = 2 << 20;

/// How a region server runs.
#[derive(Debug, Clone)]
pub struct RegionServerConfig {
    /// Where it listens (port 0: any free port).
    pub listen: String,
    /// The host name it registers when listening on a wildcard address.
    pub advertise_host: Option<String>,
    /// The table store's root directory in Strata.
    pub root: String,
    /// How its regions behave.
    pub region: RegionSettings,
    /// Bytes of the block cache.
    pub block_cache: u64,
    /// Bytes per second its compactions may write (0: unlimited).
    pub compaction_rate: u64,
    /// How often it reports to the master.
    pub report_interval: Duration,
    /// How long an idle scanner lives.
    pub scanner_timeout: Duration,
    /// A memstore holding edits this long is flushed whatever its size (HBase's
    /// `optionalcacheflushinterval`).
    pub flush_interval: Duration,
}

impl Default for RegionServerConfig {
    fn default() -> Self {
        RegionServerConfig {
            listen: "127.0.0.1:0".to_string(),
            advertise_host: None,
            root: crate::DEFAULT_ROOT.to_string(),
            region: RegionSettings::default(),
            block_cache: 256 << 20,
            compaction_rate: 64 << 20,
            report_interval: Duration::from_secs(1),
            scanner_timeout: Duration::from_secs(60),
            flush_interval: Duration::from_secs(3600),
        }
    }
}

impl RegionServerConfig {
    /// The settings of the `[table]` section.
    pub fn from_config(table: &strata_core::config::TableConfig) -> RegionServerConfig {
        RegionServerConfig {
            listen: table.region_server_listen.clone(),
            advertise_host: None,
            root: table.root.clone(),
            region: RegionSettings {
                flush_size: table.flush_size.bytes() as usize,
                max_value_size: table.max_value_size.bytes() as usize,
                ..RegionSettings::default()
            },
            block_cache: table.block_cache.bytes(),
            compaction_rate: table.compaction_rate.bytes(),
            report_interval: table.report_interval,
            scanner_timeout: table.scanner_timeout,
            flush_interval: table.flush_interval,
        }
    }
}

/// What the server's parts share.
#[derive(Debug)]
pub(super) struct ServerState {
    fs: FileSystem,
    config: RegionServerConfig,
    address: String,
    shared: Shared,
    regions: RwLock<HashMap<String, Arc<Region>>>,
    scanners: Scanners,
}

impl ServerState {
    fn region(&self, spec: &Option<RegionSpec>) -> Result<Arc<Region>> {
        let spec = spec
            .as_ref()
            .ok_or_else(|| Error::InvalidRequest("no region named".to_string()))?;
        let regions = self.regions.read();
        match regions.get(&spec.region) {
            Some(r) if r.info().table.to_string() == spec.table && !r.is_closed() => {
                r.count_request();
                Ok(r.clone())
            }
            _ => Err(Error::NotServingRegion {
                region: spec.region.clone(),
                reason: format!("{} does not serve it", self.address),
            }),
        }
    }
}

/// A running region server.
#[derive(Debug)]
pub struct RegionServer {
    state: Arc<ServerState>,
    bound: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RegionServer {
    /// Binds, serves and starts reporting to the active master.
    pub async fn start(fs: FileSystem, config: RegionServerConfig) -> Result<RegionServer> {
        let (listener, bound, address) =
            super::bind(&config.listen, config.advertise_host.as_deref()).await?;
        let shared = Shared {
            cache: Arc::new(BlockCache::new(config.block_cache as usize)),
            io_budget: Arc::new(IoBudget::new(config.compaction_rate)),
        };
        let state = Arc::new(ServerState {
            fs,
            scanners: Scanners::new(config.scanner_timeout),
            config,
            address,
            shared,
            regions: RwLock::new(HashMap::new()),
        });
        let (stop, stopped) = watch::channel(false);
        let service = RegionServerServer::new(Service {
            state: state.clone(),
        })
        .max_decoding_message_size(64 << 20)
        .max_encoding_message_size(64 << 20);
        let serve = super::serve(
            listener,
            Routes::new(service),
            stopped.clone(),
            "region server",
        );
        let reporter = tokio::spawn(report_loop(state.clone(), stopped.clone()));
        let janitor = tokio::spawn(state.scanners.clone().expire_loop(stopped));
        tracing::info!(address = %state.address, root = %state.config.root, "region server started");
        Ok(RegionServer {
            state,
            bound,
            stop,
            tasks: vec![serve, reporter, janitor],
        })
    }

    /// The address it registers (`host:port`).
    pub fn address(&self) -> &str {
        &self.state.address
    }

    /// The bound socket address.
    pub fn bound(&self) -> SocketAddr {
        self.bound
    }

    /// The names of the regions it serves.
    pub fn regions(&self) -> Vec<String> {
        self.state.regions.read().keys().cloned().collect()
    }

    /// Closes every region (flushing it) and stops.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let regions: Vec<Arc<Region>> =
            self.state.regions.write().drain().map(|(_, r)| r).collect();
        for region in regions {
            if let Err(e) = region.close().await {
                tracing::warn!(region = %region.info().name, error = %e, "closing a region failed");
            }
        }
        for task in self.tasks {
            super::finish(task, Duration::from_secs(2)).await;
        }
        tracing::info!(address = %self.state.address, "region server stopped");
    }
}

/// Reports the server's regions to the active master; closes those it says are not ours.
async fn report_loop(state: Arc<ServerState>, mut stopped: watch::Receiver<bool>) {
    let mut master: Option<(String, TableMasterClient<tonic::transport::Channel>)> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(state.config.report_interval) => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
        let address = match active_master(&state.fs, &state.config.root).await {
            Ok(Some(a)) => a,
            Ok(None) => continue,
            Err(e) => {
                tracing::debug!(error = %e, "cannot read the active master's address");
                continue;
            }
        };
        if master.as_ref().is_none_or(|(a, _)| *a != address) {
            match super::connect_master(&address).await {
                Ok(client) => master = Some((address.clone(), client)),
                Err(e) => {
                    tracing::debug!(master = %address, error = %e, "cannot reach the table master");
                    continue;
                }
            }
        }
        let Some((_, client)) = master.as_mut() else {
            continue;
        };
        let aged: Vec<Arc<Region>> = (state.regions.read().values())
            .filter(|r| r.memstore_older_than(state.config.flush_interval))
            .cloned()
            .collect();
        for region in aged {
            region.request_flush();
        }
        let regions: Vec<Arc<Region>> = state.regions.read().values().cloned().collect();
        for region in regions {
            region.delete_retired().await;
        }
        let report = ServerReport {
            address: state.address.clone(),
            regions: loads(&state),
            host: state
                .address
                .rsplit_once(':')
                .map_or(String::new(), |(h, _)| h.to_string()),
        };
        match client.report(report).await {
            Ok(answer) => {
                for spec in answer.into_inner().close {
                    let region = state.regions.write().remove(&spec.region);
                    if let Some(region) = region {
                        tracing::info!(region = %spec.region, "the master gave the region elsewhere; closing it");
                        let _ = region.close().await;
                    }
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "report to the table master failed");
                master = None;
            }
        }
    }
}

fn loads(state: &ServerState) -> Vec<RegionLoad> {
    let regions = state.regions.read();
    regions
        .values()
        .map(|r| RegionLoad {
            region: Some(RegionSpec {
                table: r.info().table.to_string(),
                region: r.info().name.clone(),
            }),
            memstore_bytes: r.memstore_size() as u64,
            file_bytes: r.file_size(),
            files: r.stores().iter().map(|s| s.file_count() as u32).sum(),
            requests: r.requests(),
            largest_store_bytes: r.stores().iter().map(|s| s.file_size()).max().unwrap_or(0),
            references: r.references() as u32,
        })
        .collect()
}

/// The gRPC service.
#[derive(Debug)]
struct Service {
    state: Arc<ServerState>,
}

impl Service {
    async fn open_region(&self, req: OpenRegionRequest) -> Result<()> {
        let descriptor = req
            .region
            .ok_or_else(|| Error::InvalidRequest("open a region: no region".to_string()))?;
        let schema = wire::table_from_wire(
            req.schema
                .ok_or_else(|| Error::InvalidRequest("open a region: no schema".to_string()))?,
        )?;
        if self.state.regions.read().contains_key(&descriptor.name) {
            return Ok(());
        }
        let info = RegionInfo {
            table: TableName::parse(&descriptor.table)?,
            name: descriptor.name.clone(),
            start: descriptor.start,
            end: descriptor.end,
        };
        let open = OpenRegion {
            info,
            descriptor: schema,
            root: self.state.config.root.clone(),
            settings: self.state.config.region.clone(),
        };
        let region = Region::open(self.state.fs.clone(), open, self.state.shared.clone()).await?;
        tracing::info!(region = %descriptor.name, table = %descriptor.table, "opened a region");
        self.state.regions.write().insert(descriptor.name, region);
        Ok(())
    }

    async fn scan_results(&self, id: u64, wanted: u32) -> Result<ScanResponse> {
        let scanner = self.state.scanners.get(id)?;
        let mut scanner = scanner.lock().await;
        let mut results = Vec::new();
        let mut bytes = 0usize;
        let mut more = true;
        while results.len() < wanted.max(1) as usize && bytes < MAX_RESULT_BYTES {
            match scanner.next().await? {
                Some(cells) => {
                    bytes += cells
                        .iter()
                        .map(|c| c.row.len() + c.qualifier.len() + c.value.len() + 32)
                        .sum::<usize>();
                    results.push(rpc::Result {
                        cells: cells.into_iter().map(wire::cell_to_wire).collect(),
                    });
                }
                None => {
                    more = false;
                    break;
                }
            }
        }
        drop(scanner);
        if !more {
            self.state.scanners.remove(id);
        }
        Ok(ScanResponse {
            scanner: id,
            results,
            more,
        })
    }
}

#[tonic::async_trait]
impl RegionService for Service {
    async fn get(&self, request: Request<GetRequest>) -> Answer<CellsResponse> {
        let req = request.into_inner();
        answer(
            async {
                let region = self.state.region(&req.region)?;
                let scan = wire::scan_from_wire(req.scan.unwrap_or_default())?;
                let cells = region.get(scan).await?;
                Ok(CellsResponse {
                    cells: cells.into_iter().map(wire::cell_to_wire).collect(),
                })
            }
            .await,
        )
    }

    async fn mutate(&self, request: Request<MutateRequest>) -> Answer<MutateResponse> {
        let req = request.into_inner();
        answer(
            async {
                let region = self.state.region(&req.region)?;
                let mut mutations = Vec::with_capacity(req.mutations.len());
                for m in req.mutations {
                    mutations.push(wire::mutation_from_wire(m)?);
                }
                let results = region.mutate_rows(mutations).await;
                Ok(MutateResponse {
                    results: results
                        .into_iter()
                        .map(|r| MutationResult {
                            error: r.err().map(|e| wire::error_to_wire(&e)),
                        })
                        .collect(),
                })
            }
            .await,
        )
    }

    async fn check_and_mutate(
        &self,
        request: Request<CheckAndMutateRequest>,
    ) -> Answer<CheckAndMutateResponse> {
        let req = request.into_inner();
        answer(
            async {
                let region = self.state.region(&req.region)?;
                let mutation = wire::mutation_from_wire(req.mutation.unwrap_or_default())?;
                let check = CheckAndMutate {
                    family: req.family,
                    qualifier: req.qualifier,
                    op: wire::compare_op(&req.op)?,
                    value: req.value,
                    mutation,
                };
                Ok(CheckAndMutateResponse {
                    applied: region.check_and_mutate(check).await?,
                })
            }
            .await,
        )
    }

    async fn read_modify_write(
        &self,
        request: Request<ReadModifyWriteRequest>,
    ) -> Answer<CellsResponse> {
        let req = request.into_inner();
        answer(
            async {
                let region = self.state.region(&req.region)?;
                let mut columns = Vec::with_capacity(req.columns.len());
                for c in req.columns {
                    let change = match c.change {
                        Some(column_change::Change::Increment(d)) => Change::Increment(d),
                        Some(column_change::Change::Append(v)) => Change::Append(v),
                        None => {
                            return Err(Error::InvalidRequest(
                                "a column change without a change".into(),
                            ));
                        }
                    };
                    columns.push((c.family, c.qualifier, change));
                }
                let cells = region
                    .read_modify_write(ReadModifyWrite {
                        row: req.row,
                        columns,
                        durability: wire::durability(req.durability)?,
                        nonce: Nonce::from_parts(req.nonce_group, req.nonce),
                    })
                    .await?;
                Ok(CellsResponse {
                    cells: cells.into_iter().map(wire::cell_to_wire).collect(),
                })
            }
            .await,
        )
    }

    async fn open_scanner(&self, request: Request<OpenScannerRequest>) -> Answer<ScanResponse> {
        let req = request.into_inner();
        answer(
            async {
                let region = self.state.region(&req.region)?;
                let scan = wire::scan_from_wire(req.scan.unwrap_or_default())?;
                let scanner = region.scanner(scan)?;
                let id = self.state.scanners.add(scanner);
                self.scan_results(id, req.results).await
            }
            .await,
        )
    }

    async fn next_results(&self, request: Request<NextResultsRequest>) -> Answer<ScanResponse> {
        let req = request.into_inner();
        answer(self.scan_results(req.scanner, req.results).await)
    }

    async fn close_scanner(&self, request: Request<CloseScannerRequest>) -> Answer<Empty> {
        self.state.scanners.remove(request.into_inner().scanner);
        answer(Ok(Empty {}))
    }

    async fn open_region(&self, request: Request<OpenRegionRequest>) -> Answer<Empty> {
        answer(
            self.open_region(request.into_inner())
                .await
                .map(|()| Empty {}),
        )
    }

    async fn close_region(&self, request: Request<CloseRegionRequest>) -> Answer<Empty> {
        let req = request.into_inner();
        answer(
            async {
                let name = req.region.map(|r| r.region).unwrap_or_default();
                let region = self.state.regions.write().remove(&name);
                if let Some(region) = region {
                    region.close().await?;
                    tracing::info!(region = %name, "closed a region");
                }
                Ok(Empty {})
            }
            .await,
        )
    }

    async fn flush_region(&self, request: Request<RegionActionRequest>) -> Answer<Empty> {
        let req = request.into_inner();
        answer(
            async {
                self.state.region(&req.region)?.flush().await?;
                Ok(Empty {})
            }
            .await,
        )
    }

    async fn compact_region(&self, request: Request<RegionActionRequest>) -> Answer<Empty> {
        let req = request.into_inner();
        answer(
            async {
                self.state.region(&req.region)?.compact(req.major).await?;
                Ok(Empty {})
            }
            .await,
        )
    }

    async fn load(&self, _request: Request<Empty>) -> Answer<ServerLoadResponse> {
        let stats = self.state.shared.cache.stats();
        answer(Ok(ServerLoadResponse {
            regions: loads(&self.state),
            block_cache_bytes: stats.used as u64,
            block_cache_hits: stats.hits,
            block_cache_misses: stats.misses,
        }))
    }
}
