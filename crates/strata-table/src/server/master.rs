//! The table master: keeps the catalog, tracks live region servers by their reports, assigns
//! regions to them and reopens the regions of a server that died elsewhere (opening a region
//! fences the dead server's logs by lease recovery and replays them). Several may run: one is
//! active, chosen through a Strata lease (`election`), the others stand by and answer that
//! they are not active.

use super::assignment::{Assignments, Move, Placement};
use super::catalog::CatalogState;
use super::election::{Leadership, campaign};
use super::master_service::Service;
use crate::error::{Error, Result};
use crate::proto::rpc::region_server_client::RegionServerClient;
use crate::proto::rpc::table_master_server::TableMasterServer;
use crate::proto::rpc::{
    CatalogTable, CloseRegionRequest, OpenRegionRequest, RegionDescriptor, RegionSpec, TableSchema,
};
use crate::region::layout::{RegionDir, table_dir};
use crate::schema::TableName;
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use strata_client::FileSystem;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::service::Routes;
use tonic::transport::Channel;

/// How a table master runs.
#[derive(Debug, Clone)]
pub struct TableMasterConfig {
    /// Where it listens (port 0: any free port).
    pub listen: String,
    /// The host name it registers when listening on a wildcard address.
    pub advertise_host: Option<String>,
    /// The table store's root directory in Strata.
    pub root: String,
    /// A region server silent this long is dead and its regions go elsewhere.
    pub server_timeout: Duration,
    /// How often it assigns regions and a standby checks the active master.
    pub check_interval: Duration,
    /// A region whose largest family's files pass this size is split.
    pub split_size: u64,
    /// How often it evens regions out over the servers.
    pub balance_interval: Duration,
}

impl Default for TableMasterConfig {
    fn default() -> Self {
        TableMasterConfig {
            listen: "127.0.0.1:0".to_string(),
            advertise_host: None,
            root: crate::DEFAULT_ROOT.to_string(),
            server_timeout: Duration::from_secs(10),
            check_interval: Duration::from_secs(1),
            split_size: 10 << 30,
            balance_interval: Duration::from_secs(300),
        }
    }
}

impl TableMasterConfig {
    /// The settings of the `[table]` section.
    pub fn from_config(table: &strata_core::config::TableConfig) -> TableMasterConfig {
        TableMasterConfig {
            listen: table.master_listen.clone(),
            advertise_host: None,
            root: table.root.clone(),
            server_timeout: table.server_timeout,
            check_interval: table.report_interval,
            split_size: table.split_size.bytes(),
            balance_interval: table.balance_interval,
        }
    }
}

/// What the master's parts share.
#[derive(Debug)]
pub(super) struct MasterState {
    pub(super) fs: FileSystem,
    pub(super) config: TableMasterConfig,
    pub(super) address: String,
    pub(super) active: AtomicBool,
    /// Held across a catalog change and its save.
    pub(super) catalog: tokio::sync::Mutex<CatalogState>,
    pub(super) assignments: Mutex<Assignments>,
    active_since: Mutex<Option<Instant>>,
    clients: Mutex<HashMap<String, RegionServerClient<Channel>>>,
    /// Regions a split or merge of this master's is changing.
    pub(super) changing: Mutex<HashSet<String>>,
    /// Regions whose automatic split failed, and when (they are not tried again for a while).
    split_refused: Mutex<HashMap<String, Instant>>,
    /// When the servers were last evened out.
    last_balance: Mutex<Instant>,
    /// Assignment passes since it started.
    passes: AtomicU64,
}

impl MasterState {
    /// Fails unless this master is the active one.
    pub(super) fn check_active(&self) -> Result<()> {
        if self.active.load(Ordering::Acquire) {
            Ok(())
        } else {
            Err(Error::NoMaster(format!(
                "the table master at {} is standing by",
                self.address
            )))
        }
    }

    /// A client of the region server at `address`.
    pub(super) fn server(&self, address: &str) -> Result<RegionServerClient<Channel>> {
        if let Some(c) = self.clients.lock().get(address) {
            return Ok(c.clone());
        }
        let client = super::region_server_client(address, Duration::from_secs(120))?;
        self.clients
            .lock()
            .insert(address.to_string(), client.clone());
        Ok(client)
    }

    /// Every region of `table` on the servers holding them, as placed now.
    pub(super) fn placed(
        &self,
        regions: &[RegionDescriptor],
    ) -> Vec<(RegionDescriptor, Option<String>)> {
        let assignments = self.assignments.lock();
        regions
            .iter()
            .map(|r| {
                let server = match assignments.placements.get(&r.name) {
                    Some(Placement::Open(s)) => Some(s.clone()),
                    _ => None,
                };
                (r.clone(), server)
            })
            .collect()
    }
}

/// A running table master (active or standing by).
#[derive(Debug)]
pub struct TableMaster {
    state: Arc<MasterState>,
    bound: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl TableMaster {
    /// Binds, serves, and campaigns to become the active master.
    pub async fn start(fs: FileSystem, config: TableMasterConfig) -> Result<TableMaster> {
        let (listener, bound, address) =
            super::bind(&config.listen, config.advertise_host.as_deref()).await?;
        let state = Arc::new(MasterState {
            fs,
            address,
            config,
            active: AtomicBool::new(false),
            catalog: tokio::sync::Mutex::new(CatalogState::default()),
            assignments: Mutex::new(Assignments::default()),
            active_since: Mutex::new(None),
            clients: Mutex::new(HashMap::new()),
            changing: Mutex::new(HashSet::new()),
            split_refused: Mutex::new(HashMap::new()),
            last_balance: Mutex::new(Instant::now()),
            passes: AtomicU64::new(0),
        });
        let (stop, stopped) = watch::channel(false);
        let service = TableMasterServer::new(Service::new(state.clone()));
        let serve = super::serve(
            listener,
            Routes::new(service),
            stopped.clone(),
            "table master",
        );
        let lead = tokio::spawn(lead(state.clone(), stopped));
        tracing::info!(address = %state.address, root = %state.config.root, "table master started");
        Ok(TableMaster {
            state,
            bound,
            stop,
            tasks: vec![serve, lead],
        })
    }

    /// The address it registers.
    pub fn address(&self) -> &str {
        &self.state.address
    }

    /// The bound socket address.
    pub fn bound(&self) -> SocketAddr {
        self.bound
    }

    /// Whether it is the active master.
    pub fn is_active(&self) -> bool {
        self.state.active.load(Ordering::Acquire)
    }

    /// Stops serving (the regions stay open on their servers).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            super::finish(task, Duration::from_secs(2)).await;
        }
    }
}

/// Campaigns, then while active keeps the catalog loaded and regions assigned; steps down
/// (and campaigns again) if its lease is recovered by another master.
async fn lead(state: Arc<MasterState>, mut stopped: watch::Receiver<bool>) {
    loop {
        let alive = |address: String| async move { super::master_answers(&address).await };
        let campaigning = campaign(
            &state.fs,
            &state.config.root,
            &state.address,
            state.config.check_interval,
            alive,
        );
        let leadership = tokio::select! {
            l = campaigning => l,
            _ = stopped.wait_for(|s| *s) => return,
        };
        let mut leadership: Leadership = match leadership {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "campaign for table master failed; trying again");
                tokio::time::sleep(state.config.check_interval).await;
                continue;
            }
        };
        match CatalogState::load(&state.fs, &state.config.root).await {
            Ok(catalog) => *state.catalog.lock().await = catalog,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the catalog; standing down");
                tokio::time::sleep(state.config.check_interval).await;
                continue;
            }
        }
        *state.assignments.lock() = Assignments::default();
        *state.active_since.lock() = Some(Instant::now());
        state.active.store(true, Ordering::Release);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(state.config.check_interval / 2) => {}
                _ = stopped.wait_for(|s| *s) => return,
            }
            if let Err(e) = leadership.confirm().await {
                tracing::error!(error = %e, "another table master took over; standing down");
                state.active.store(false, Ordering::Release);
                break;
            }
            assign(&state).await;
        }
    }
}

/// One assignment pass.
async fn assign(state: &Arc<MasterState>) {
    let dead = state.assignments.lock().expire(state.config.server_timeout);
    for server in dead {
        tracing::warn!(%server, "region server is silent; its regions go elsewhere");
    }
    // After taking over, give the servers a round of reports before assigning anything.
    let settled = state
        .active_since
        .lock()
        .is_some_and(|t| t.elapsed() >= state.config.check_interval * 2);
    if !settled {
        return;
    }
    let tables: Vec<CatalogTable> = state
        .catalog
        .lock()
        .await
        .tables
        .values()
        .cloned()
        .collect();
    let mut known = std::collections::HashSet::new();
    for table in &tables {
        for region in &table.regions {
            known.insert(region.name.clone());
            let placement = state
                .assignments
                .lock()
                .placements
                .get(&region.name)
                .cloned();
            match (table.enabled, placement) {
                (true, None) => open_somewhere(state, table, region).await,
                (false, Some(Placement::Open(server))) => close_on(state, region, server),
                _ => {}
            }
        }
    }
    let strays: Vec<(String, String)> = (state.assignments.lock().placements.iter())
        .filter(|(name, _)| !known.contains(*name))
        .map(|(name, p)| (name.clone(), p.server().to_string()))
        .collect();
    for (name, server) in strays {
        state.assignments.lock().placements.remove(&name);
        if server.is_empty() {
            // A parent of a committed split or merge, closed already.
            continue;
        }
        let spec = RegionSpec {
            table: String::new(),
            region: name,
        };
        if let Ok(mut client) = state.server(&server) {
            tokio::spawn(async move {
                let _ = client
                    .close_region(CloseRegionRequest {
                        region: Some(spec),
                        flush: false,
                    })
                    .await;
            });
        }
    }
    split_large_regions(state, &tables);
    balance(state, &tables);
    if (state.passes.fetch_add(1, Ordering::Relaxed)).is_multiple_of(TIDY_EVERY) {
        super::region_change::tidy(state).await;
    }
}

/// Assignment passes between two looks at what splits and merges left behind.
const TIDY_EVERY: u64 = 10;
/// How long a region whose automatic split failed is left alone.
const SPLIT_RETRY: Duration = Duration::from_secs(300);

/// Starts splitting each open region whose largest family's files passed the split size.
fn split_large_regions(state: &Arc<MasterState>, tables: &[CatalogTable]) {
    let large: Vec<(String, String)> = {
        let assignments = state.assignments.lock();
        let changing = state.changing.lock();
        let mut refused = state.split_refused.lock();
        refused.retain(|_, at| at.elapsed() < SPLIT_RETRY);
        (assignments.servers.values())
            .flat_map(|s| s.loads.iter())
            .filter(|(name, load)| {
                load.largest_store_bytes >= state.config.split_size
                    && load.references == 0
                    && !changing.contains(*name)
                    && !refused.contains_key(*name)
                    && matches!(assignments.placements.get(*name), Some(Placement::Open(_)))
            })
            .filter_map(|(name, load)| Some((load.region.as_ref()?.table.clone(), name.clone())))
            .collect()
    };
    for (table, region) in large {
        let enabled =
            (tables.iter()).any(|t| t.enabled && t.regions.iter().any(|r| r.name == region));
        let Ok(name) = TableName::parse(&table) else {
            continue;
        };
        if !enabled {
            continue;
        }
        state
            .split_refused
            .lock()
            .insert(region.clone(), Instant::now());
        let state = state.clone();
        tokio::spawn(async move {
            tracing::info!(%table, %region, "splitting a region past the split size");
            match super::region_change::split(&state, &name, &region, None).await {
                Ok(_) => {
                    state.split_refused.lock().remove(&region);
                }
                Err(e) => tracing::warn!(%table, %region, error = %e, "cannot split a region"),
            }
        });
    }
}

/// Every `balance_interval`, starts the moves that even the servers out.
fn balance(state: &Arc<MasterState>, tables: &[CatalogTable]) {
    {
        let mut last = state.last_balance.lock();
        if last.elapsed() < state.config.balance_interval || !state.changing.lock().is_empty() {
            return;
        }
        *last = Instant::now();
    }
    let moves = state.assignments.lock().balancing_moves();
    for mv in moves {
        let found = tables.iter().find_map(|t| {
            let region = t.regions.iter().find(|r| r.name == mv.region)?;
            Some((t.schema.clone(), region.clone()))
        });
        if let Some((schema, region)) = found {
            move_region(state, schema, region, mv);
        }
    }
}

/// Closes a region on one server and opens it on another.
fn move_region(
    state: &Arc<MasterState>,
    schema: Option<TableSchema>,
    region: RegionDescriptor,
    mv: Move,
) {
    tracing::info!(region = %mv.region, from = %mv.from, to = %mv.to, "moving a region to even the servers out");
    let closing = Placement::Closing(mv.from.clone());
    state
        .assignments
        .lock()
        .placements
        .insert(mv.region.clone(), closing.clone());
    let Ok(mut client) = state.server(&mv.from) else {
        state.assignments.lock().placements.remove(&mv.region);
        return;
    };
    let state = state.clone();
    tokio::spawn(async move {
        let result = client
            .close_region(CloseRegionRequest {
                region: Some(RegionSpec {
                    table: region.table.clone(),
                    region: region.name.clone(),
                }),
                flush: true,
            })
            .await;
        let still = state.assignments.lock().placements.get(&mv.region) == Some(&closing);
        match result {
            Ok(_) if still => open_on(&state, schema, &region, mv.to),
            Ok(_) => {}
            Err(status) => {
                tracing::warn!(region = %mv.region, error = %status.message(), "closing a region to move it failed");
                if still {
                    state.assignments.lock().placements.remove(&mv.region);
                }
            }
        }
    });
}

/// Starts opening `region` on a live server, the one on a host holding most of its blocks
/// when it is not busier than the rest.
async fn open_somewhere(state: &Arc<MasterState>, table: &CatalogTable, region: &RegionDescriptor) {
    let hosts = preferred_hosts(state, region).await;
    let Some(server) = state.assignments.lock().choose(&hosts) else {
        return;
    };
    open_on(state, table.schema.clone(), region, server);
}

/// Starts opening `region` on the server at `server`.
pub(super) fn open_on(
    state: &Arc<MasterState>,
    schema: Option<TableSchema>,
    region: &RegionDescriptor,
    server: String,
) {
    state
        .assignments
        .lock()
        .placements
        .insert(region.name.clone(), Placement::Opening(server.clone()));
    let Ok(mut client) = state.server(&server) else {
        state.assignments.lock().placements.remove(&region.name);
        return;
    };
    let request = OpenRegionRequest {
        region: Some(region.clone()),
        schema,
    };
    let state = state.clone();
    let name = region.name.clone();
    tokio::spawn(async move {
        tracing::info!(region = %name, %server, "opening a region");
        let result = client.open_region(request).await;
        let mut assignments = state.assignments.lock();
        let still = assignments.placements.get(&name) == Some(&Placement::Opening(server.clone()));
        match result {
            Ok(_) if still => {
                assignments.placements.insert(name, Placement::Open(server));
            }
            Ok(_) => {}
            Err(status) => {
                tracing::warn!(region = %name, %server, error = %status.message(), "opening a region failed");
                if still {
                    assignments.placements.remove(&name);
                }
            }
        }
    });
}

fn close_on(state: &Arc<MasterState>, region: &RegionDescriptor, server: String) {
    state
        .assignments
        .lock()
        .placements
        .insert(region.name.clone(), Placement::Closing(server.clone()));
    let Ok(mut client) = state.server(&server) else {
        return;
    };
    let spec = RegionSpec {
        table: region.table.clone(),
        region: region.name.clone(),
    };
    let state = state.clone();
    tokio::spawn(async move {
        let result = client
            .close_region(CloseRegionRequest {
                region: Some(spec.clone()),
                flush: true,
            })
            .await;
        if let Err(status) = result {
            // Still reported open by the server: the next pass closes it again.
            tracing::warn!(region = %spec.region, error = %status.message(), "closing a region failed");
        }
        let mut assignments = state.assignments.lock();
        if assignments.placements.get(&spec.region) == Some(&Placement::Closing(server)) {
            assignments.placements.remove(&spec.region);
        }
    });
}

/// The hosts holding most bytes of the region's files (none when it has no files yet).
async fn preferred_hosts(state: &MasterState, region: &RegionDescriptor) -> Vec<String> {
    let Ok(table) = TableName::parse(&region.table) else {
        return Vec::new();
    };
    let dir = RegionDir::new(&table_dir(&state.config.root, &table), &region.name);
    let Ok(families) = state.fs.list(dir.path()).collect().await else {
        return Vec::new();
    };
    let mut bytes: HashMap<String, u64> = HashMap::new();
    for family in families.iter().filter(|f| strata_client::is_directory(f)) {
        let Ok(files) = state.fs.list(&family.path).collect().await else {
            continue;
        };
        for file in files.iter().filter(|f| f.path.ends_with(".sst")) {
            let Ok(located) = state.fs.block_locations(&file.path, 0, u64::MAX).await else {
                continue;
            };
            for block in located.blocks {
                let length = block.block.map_or(0, |b| b.length);
                for worker in block.locations {
                    *bytes.entry(worker.host).or_default() += length;
                }
            }
        }
    }
    let most = bytes.values().copied().max().unwrap_or(0);
    bytes
        .into_iter()
        .filter(|(_, b)| most > 0 && *b == most)
        .map(|(h, _)| h)
        .collect()
}
