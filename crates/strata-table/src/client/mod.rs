//! The table store's client: a [`Connection`] finds the active table master through the
//! master file in Strata, caches where regions are, and retries transparently when a region
//! moved, split or its server died (finding it again, with backoff, for up to a minute). A
//! [`Table`] reads and writes rows; an [`Admin`] manages tables.

mod admin;
mod scanner;
mod table;

pub use admin::{Admin, RegionPlace, TableStatus};
pub use scanner::TableScanner;
pub use table::Table;

use crate::error::{Error, Result};
use crate::proto::rpc::region_server_client::RegionServerClient;
use crate::proto::rpc::table_master_client::TableMasterClient;
use crate::proto::rpc::{
    LocateRequest, RegionDescriptor, RegionLocation, RegionsResponse, TableRequest,
};
use crate::schema::TableName;
use crate::server::election::active_master;
use crate::wire;
use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use strata_client::FileSystem;
use tonic::transport::Channel;

/// How long an operation keeps retrying a region that moved or a master that changed.
const RETRY_FOR: Duration = Duration::from_secs(60);

/// A region and the server holding it, as last learned.
#[derive(Debug, Clone)]
pub(crate) struct Located {
    pub(crate) region: RegionDescriptor,
    pub(crate) server: String,
}

/// A connection to a table store.
#[derive(Debug, Clone)]
pub struct Connection {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    fs: FileSystem,
    root: String,
    master: tokio::sync::Mutex<Option<(String, TableMasterClient<Channel>)>>,
    servers: Mutex<HashMap<String, RegionServerClient<Channel>>>,
    /// Per table: regions by start row.
    locations: Mutex<HashMap<String, BTreeMap<Bytes, Located>>>,
}

impl Connection {
    /// Connects to the table store kept under `root` in the cluster `fs` talks to.
    pub fn new(fs: FileSystem, root: &str) -> Connection {
        Connection {
            inner: Arc::new(Inner {
                fs,
                root: root.to_string(),
                master: tokio::sync::Mutex::new(None),
                servers: Mutex::new(HashMap::new()),
                locations: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The table `name` (`[namespace:]qualifier`).
    pub fn table(&self, name: &str) -> Result<Table> {
        Ok(Table::new(self.clone(), TableName::parse(name)?))
    }

    /// Table administration.
    pub fn admin(&self) -> Admin {
        Admin::new(self.clone())
    }

    /// Runs `call` against the active master, finding it again (and retrying) while none
    /// answers.
    pub(crate) async fn master<T, F, Fut>(&self, mut call: F) -> Result<T>
    where
        F: FnMut(TableMasterClient<Channel>) -> Fut,
        Fut: Future<Output = std::result::Result<tonic::Response<T>, tonic::Status>>,
    {
        let deadline = tokio::time::Instant::now() + RETRY_FOR;
        let mut delay = Duration::from_millis(50);
        loop {
            let attempt = async {
                let (address, client) = self.master_client().await?;
                call(client)
                    .await
                    .map(tonic::Response::into_inner)
                    .map_err(|s| wire::from_status(s, &address))
            }
            .await;
            match attempt {
                Err(e @ (Error::NoMaster(_) | Error::Unavailable { .. }))
                    if tokio::time::Instant::now() < deadline =>
                {
                    tracing::debug!(error = %e, "table master unavailable; finding it again");
                    *self.inner.master.lock().await = None;
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(1));
                }
                other => return other,
            }
        }
    }

    async fn master_client(&self) -> Result<(String, TableMasterClient<Channel>)> {
        let mut master = self.inner.master.lock().await;
        if let Some(m) = master.as_ref() {
            return Ok(m.clone());
        }
        // The master file changes hands in a failover (its lease recovered, a new line
        // appended): a read that fails meanwhile is tried again like a master not answering.
        let address = active_master(&self.inner.fs, &self.inner.root)
            .await
            .map_err(|e| Error::NoMaster(format!("cannot read the master file: {e}")))?
            .ok_or_else(|| Error::NoMaster("no table master has ever run here".to_string()))?;
        let client = crate::server::connect_master(&address).await?;
        *master = Some((address.clone(), client.clone()));
        Ok((address, client))
    }

    /// A client of the region server at `address`.
    pub(crate) fn server(&self, address: &str) -> Result<RegionServerClient<Channel>> {
        if let Some(c) = self.inner.servers.lock().get(address) {
            return Ok(c.clone());
        }
        let client = crate::server::region_server_client(address, Duration::from_secs(60))?;
        self.inner
            .servers
            .lock()
            .insert(address.to_string(), client.clone());
        Ok(client)
    }

    /// Where the region of `table` holding `row` is served (from the cache, else the master,
    /// waiting while it is being opened).
    pub(crate) async fn locate(&self, table: &TableName, row: &[u8]) -> Result<Located> {
        let key = table.to_string();
        if let Some(found) = self.cached(&key, row) {
            return Ok(found);
        }
        let deadline = tokio::time::Instant::now() + RETRY_FOR;
        loop {
            let request = LocateRequest {
                table: key.clone(),
                row: Bytes::copy_from_slice(row),
            };
            let location: RegionLocation = self
                .master(|mut m| {
                    let request = request.clone();
                    async move { m.locate(request).await }
                })
                .await?;
            let region = location
                .region
                .ok_or_else(|| Error::Internal("the master located no region".to_string()))?;
            if !location.server.is_empty() {
                let found = Located {
                    region,
                    server: location.server,
                };
                self.remember(&key, found.clone());
                return Ok(found);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::NotServingRegion {
                    region: region.name,
                    reason: "no server opened it in time".to_string(),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every region of `table` in row order, with where each is served.
    pub(crate) async fn regions(&self, table: &TableName) -> Result<Vec<Located>> {
        let request = TableRequest {
            table: table.to_string(),
        };
        let response: RegionsResponse = self
            .master(|mut m| {
                let request = request.clone();
                async move { m.regions(request).await }
            })
            .await?;
        let mut regions: Vec<Located> = response
            .regions
            .into_iter()
            .filter_map(|l| {
                l.region.map(|region| Located {
                    region,
                    server: l.server,
                })
            })
            .collect();
        regions.sort_by(|a, b| a.region.start.cmp(&b.region.start));
        Ok(regions)
    }

    fn cached(&self, table: &str, row: &[u8]) -> Option<Located> {
        let locations = self.inner.locations.lock();
        let regions = locations.get(table)?;
        let (_, found) = regions.range(..=Bytes::copy_from_slice(row)).next_back()?;
        let end = &found.region.end;
        (end.is_empty() || row < &end[..]).then(|| found.clone())
    }

    fn remember(&self, table: &str, found: Located) {
        let mut locations = self.inner.locations.lock();
        let regions = locations.entry(table.to_string()).or_default();
        // A region that covers other cached ones replaces them (a merge), and vice versa.
        let (start, end) = (found.region.start.clone(), found.region.end.clone());
        regions.retain(|s, l| {
            let overlaps =
                (end.is_empty() || *s < end) && (l.region.end.is_empty() || l.region.end > start);
            !overlaps
        });
        regions.insert(start, found);
    }

    /// Forgets where `region` of `table` is.
    pub(crate) fn forget(&self, table: &TableName, region: &str) {
        if let Some(regions) = self.inner.locations.lock().get_mut(&table.to_string()) {
            regions.retain(|_, l| l.region.name != region);
        }
    }

    /// Runs `call` on the region of `table` holding `row`, finding it again and retrying
    /// (with backoff, for up to a minute) when it moved or its server is gone.
    pub(crate) async fn on_region<T, F, Fut>(
        &self,
        table: &TableName,
        row: &[u8],
        mut call: F,
    ) -> Result<T>
    where
        F: FnMut(RegionServerClient<Channel>, Located) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let deadline = tokio::time::Instant::now() + RETRY_FOR;
        let mut delay = Duration::from_millis(20);
        loop {
            let located = self.locate(table, row).await?;
            let client = self.server(&located.server)?;
            match call(client, located.clone()).await {
                Err(e) if e.is_retriable() && tokio::time::Instant::now() < deadline => {
                    tracing::debug!(region = %located.region.name, server = %located.server,
                        error = %e, "retrying on the region's new location");
                    self.forget(table, &located.region.name);
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(1));
                }
                other => return other,
            }
        }
    }
}

/// The region a request is for.
pub(crate) fn spec(located: &Located) -> crate::proto::rpc::RegionSpec {
    crate::proto::rpc::RegionSpec {
        table: located.region.table.clone(),
        region: located.region.name.clone(),
    }
}
