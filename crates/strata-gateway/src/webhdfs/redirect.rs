//! Where the master's WebHDFS face sends reads and writes (HDFS's two-step protocol): to a
//! live worker serving the data face — for a read one holding the data, for a write one on
//! the client's own host when there is one, as HDFS's namenode chooses.

use std::net::IpAddr;
use std::time::{Duration, Instant};
use strata_client::{FileSystem, WorkerAddress, WorkerState};
use strata_core::{Error, Result};
use tokio::sync::Mutex;

/// How long a list of workers is used before the master is asked again.
const REFRESH: Duration = Duration::from_secs(2);

/// The workers serving the data face, as the master last reported them.
#[derive(Debug)]
pub struct DataNodes {
    fs: FileSystem,
    known: Mutex<Option<(Instant, Vec<WorkerAddress>)>>,
}

impl DataNodes {
    /// Asks the master behind `fs` for workers as needed.
    pub fn new(fs: FileSystem) -> DataNodes {
        DataNodes {
            fs,
            known: Mutex::new(None),
        }
    }

    /// Live workers with an HTTP address (refreshed every few seconds).
    async fn serving(&self) -> Result<Vec<WorkerAddress>> {
        let mut known = self.known.lock().await;
        if let Some((at, workers)) = known.as_ref()
            && at.elapsed() < REFRESH
        {
            return Ok(workers.clone());
        }
        let report = self.fs.report().await?;
        let workers: Vec<WorkerAddress> = (report.workers.into_iter())
            .filter(|w| w.state == WorkerState::Live as i32)
            .filter_map(|w| w.address)
            .filter(|a| !a.http_address.is_empty())
            .collect();
        *known = Some((Instant::now(), workers.clone()));
        Ok(workers)
    }

    /// A worker to write a new file from `client`: one on its host if any, else any.
    pub async fn for_write(&self, client: IpAddr) -> Result<WorkerAddress> {
        let workers = self.serving().await?;
        let local: Vec<&WorkerAddress> = workers.iter().filter(|w| on_host(w, client)).collect();
        let pool: Vec<&WorkerAddress> = if local.is_empty() {
            workers.iter().collect()
        } else {
            local
        };
        pick(&pool)
    }

    /// A worker to read `path` at `offset` from: one holding that block (on the client's host
    /// if any), else any serving worker (an empty file, or a read past its end).
    pub async fn for_read(&self, path: &str, offset: u64, client: IpAddr) -> Result<WorkerAddress> {
        let located = self.fs.block_locations(path, offset, 1).await?;
        let holders: Vec<&WorkerAddress> = (located.blocks.first())
            .map(|b| {
                b.locations
                    .iter()
                    .filter(|w| !w.http_address.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if let Some(local) = holders.iter().find(|w| on_host(w, client)) {
            return Ok((*local).clone());
        }
        match holders.first() {
            Some(holder) => Ok((*holder).clone()),
            None => self.for_write(client).await,
        }
    }

    /// A worker to append to `path` from: one holding its last block, else any.
    pub async fn for_append(&self, path: &str, client: IpAddr) -> Result<WorkerAddress> {
        let status = self.fs.stat(path).await?;
        self.for_read(path, status.length.saturating_sub(1), client)
            .await
    }
}

fn on_host(worker: &WorkerAddress, client: IpAddr) -> bool {
    worker.host.parse::<IpAddr>().ok() == Some(client)
}

fn pick(workers: &[&WorkerAddress]) -> Result<WorkerAddress> {
    if workers.is_empty() {
        return Err(Error::NotEnoughWorkers {
            reason: "no live worker serves WebHDFS data (its HTTP port)".to_string(),
        });
    }
    Ok(workers[rand::random_range(0..workers.len())].clone())
}
