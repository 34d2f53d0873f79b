//! An in-process cluster: one master and N workers as tasks of the test's runtime.

use crate::wait_until;
use std::path::{Path, PathBuf};
use std::time::Duration;
use strata_client::FileSystem;
use strata_core::Result;
use strata_core::config::Config;
use strata_master::Master;
use strata_worker::Worker;

/// A cluster running inside the test process.
#[derive(Debug)]
pub struct MiniCluster {
    _dir: tempfile::TempDir,
    root: PathBuf,
    config: Config,
    racks: Vec<String>,
    master: Option<Master>,
    workers: Vec<Option<Worker>>,
    /// Each worker's HTTP port, bound and registered but not served until a test takes it.
    http_ports: Vec<Option<std::net::TcpListener>>,
}

impl MiniCluster {
    /// Starts a master and one worker per entry of `racks` (its rack name), and waits until
    /// every worker is registered and safe mode is off.
    pub async fn start(config: Config, racks: &[&str]) -> Result<MiniCluster> {
        let dir =
            tempfile::tempdir().map_err(|e| strata_core::Error::io("creating a temp dir", e))?;
        let root = dir.path().to_path_buf();
        let mut cluster = MiniCluster {
            _dir: dir,
            root,
            config,
            racks: racks.iter().map(|r| r.to_string()).collect(),
            master: None,
            workers: Vec::new(),
            http_ports: Vec::new(),
        };
        cluster.start_master().await?;
        for i in 0..racks.len() {
            let (worker, http) = cluster.launch_worker(i).await?;
            cluster.workers.push(Some(worker));
            cluster.http_ports.push(http);
        }
        cluster.wait_ready().await;
        Ok(cluster)
    }

    async fn start_master(&mut self) -> Result<()> {
        let mut config = self.config.master.clone();
        config.data_dir = self.root.join("master");
        let master = Master::start(config).await?;
        self.config.master.listen = master.address().to_string();
        self.master = Some(master);
        Ok(())
    }

    /// Starts worker `i` with its HTTP port bound (unless the configuration's `http_listen`
    /// is empty); relative tier directories of the configuration are placed inside the
    /// worker's own directory.
    async fn launch_worker(&self, i: usize) -> Result<(Worker, Option<std::net::TcpListener>)> {
        let mut config = self.config.worker.clone();
        config.data_dir = self.worker_dir(i);
        for dir in config.tiers.iter_mut().flat_map(|t| t.dirs.iter_mut()) {
            dir.path = self.worker_dir(i).join(&dir.path);
        }
        config.master = self.master_address();
        config.rack = self.racks[i].clone();
        if config.http_listen.is_empty() {
            return Ok((Worker::start(config).await?, None));
        }
        let http = std::net::TcpListener::bind(&config.http_listen)
            .map_err(|e| strata_core::Error::io("binding a worker's HTTP port", e))?;
        let address = http
            .local_addr()
            .map_err(|e| strata_core::Error::io("reading a worker's HTTP address", e))?;
        Ok((Worker::start_with_http(config, address).await?, Some(http)))
    }

    /// Worker `i`'s HTTP port, registered with the master, for the test to serve (once per
    /// start of the worker).
    pub fn take_worker_http_port(&mut self, i: usize) -> Option<std::net::TcpListener> {
        self.http_ports.get_mut(i).and_then(Option::take)
    }

    /// The directory of worker `i`.
    pub fn worker_dir(&self, i: usize) -> PathBuf {
        self.root.join(format!("worker-{i}"))
    }

    /// The root of the cluster's directories.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The master's RPC address.
    pub fn master_address(&self) -> String {
        self.config.master.listen.clone()
    }

    /// The running master.
    pub fn master(&self) -> &Master {
        match &self.master {
            Some(m) => m,
            None => panic!("the master is stopped"),
        }
    }

    /// A running worker.
    pub fn worker(&self, i: usize) -> &Worker {
        match self.workers.get(i).and_then(Option::as_ref) {
            Some(w) => w,
            None => panic!("worker {i} is stopped"),
        }
    }

    /// Number of worker slots (running or stopped).
    pub fn worker_count(&self) -> usize {
        self.workers.len()
    }

    /// A client for this cluster.
    pub async fn client(&self) -> FileSystem {
        let mut config = self.config.client.clone();
        config.master = self.master_address();
        match FileSystem::connect(config).await {
            Ok(fs) => fs,
            Err(e) => panic!("cannot connect a client: {e}"),
        }
    }

    /// Stops a worker (its data stays on disk).
    pub async fn stop_worker(&mut self, i: usize) {
        if let Some(w) = self.workers[i].take() {
            w.shutdown().await;
        }
    }

    /// Starts a stopped worker again on its data directory.
    pub async fn restart_worker(&mut self, i: usize) -> Result<()> {
        self.stop_worker(i).await;
        let (worker, http) = self.launch_worker(i).await?;
        self.workers[i] = Some(worker);
        self.http_ports[i] = http;
        Ok(())
    }

    /// Stops the master and starts it again on the same port and directory, then waits until
    /// the workers are back and safe mode is off.
    pub async fn restart_master(&mut self) -> Result<()> {
        if let Some(m) = self.master.take() {
            m.shutdown().await;
        }
        self.start_master().await?;
        self.wait_ready().await;
        Ok(())
    }

    /// Waits until every running worker is live and safe mode is off.
    pub async fn wait_ready(&self) {
        let expected = self.workers.iter().filter(|w| w.is_some()).count();
        let state = self.master().state().clone();
        wait_until(
            "the workers have registered and safe mode is off",
            Duration::from_secs(30),
            || {
                let state = state.clone();
                async move {
                    let cluster = state.cluster.lock();
                    cluster.workers.live_count() >= expected && !cluster.safe_mode.is_on()
                }
            },
        )
        .await;
    }

    /// Stops everything.
    pub async fn shutdown(mut self) {
        for i in 0..self.workers.len() {
            self.stop_worker(i).await;
        }
        if let Some(m) = self.master.take() {
            m.shutdown().await;
        }
    }
}
