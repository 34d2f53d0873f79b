//! A cluster of real child processes of the `strata` binary, so tests can kill -9 any of them.

use crate::wait_until;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use strata_client::FileSystem;
use strata_core::config::{ClientConfig, Config};

/// How a process cluster is laid out.
#[derive(Debug, Clone)]
pub struct ProcessClusterOptions {
    /// The configuration written to `strata.toml` for every process.
    pub config: Config,
    /// One worker per entry, in that rack.
    pub racks: Vec<String>,
    /// The loopback address each worker listens on (default 127.0.0.1; the whole 127/8 is
    /// local, so workers can look like separate hosts).
    pub hosts: Vec<String>,
}

impl ProcessClusterOptions {
    /// Workers in the given racks, all on 127.0.0.1.
    pub fn new(config: Config, racks: &[&str]) -> ProcessClusterOptions {
        ProcessClusterOptions {
            config,
            racks: racks.iter().map(|r| r.to_string()).collect(),
            hosts: Vec::new(),
        }
    }
}

/// A master and workers running as child processes.
#[derive(Debug)]
pub struct ProcessCluster {
    binary: PathBuf,
    _dir: tempfile::TempDir,
    root: PathBuf,
    config_path: PathBuf,
    options: ProcessClusterOptions,
    master_address: String,
    master_http: String,
    master: Option<Child>,
    workers: Vec<Option<Child>>,
    /// Further roles started by tests (table masters, region servers), by slot.
    roles: Vec<Option<Child>>,
}

/// Starts `command` and reads its output until it has printed each of `markers` (in order);
/// the first word after each.
fn spawn_announcing(mut command: Command, log: &Path, markers: &[&str]) -> (Child, Vec<String>) {
    let log_file = match std::fs::File::create(log) {
        Ok(f) => f,
        Err(e) => panic!("cannot create {}: {e}", log.display()),
    };
    command.stdout(Stdio::piped()).stderr(Stdio::from(log_file));
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) => panic!("cannot start {command:?}: {e}"),
    };
    let Some(stdout) = child.stdout.take() else {
        panic!("no stdout from {command:?}")
    };
    let mut lines = BufReader::new(stdout).lines();
    let mut announced = Vec::new();
    for marker in markers {
        let word = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(rest) = line.split(marker).nth(1) {
                        break rest
                            .split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_string();
                    }
                }
                _ => {
                    let log_text = std::fs::read_to_string(log).unwrap_or_default();
                    panic!("{command:?} exited before printing {marker:?}; its log:\n{log_text}");
                }
            }
        };
        announced.push(word);
    }
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, announced)
}

impl ProcessCluster {
    /// Starts `binary master` and one `binary worker` per rack, and waits until they are ready.
    pub async fn start(binary: &Path, options: ProcessClusterOptions) -> ProcessCluster {
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("cannot create a temp dir: {e}"),
        };
        let root = dir.path().to_path_buf();
        let config_path = root.join("strata.toml");
        if let Err(e) = std::fs::write(&config_path, options.config.to_toml()) {
            panic!("cannot write the config: {e}");
        }
        let mut cluster = ProcessCluster {
            binary: binary.to_path_buf(),
            _dir: dir,
            root,
            config_path,
            options,
            master_address: String::new(),
            master_http: String::new(),
            master: None,
            workers: Vec::new(),
            roles: Vec::new(),
        };
        cluster.start_master("127.0.0.1:0");
        for i in 0..cluster.options.racks.len() {
            let child = cluster.spawn_worker(i);
            cluster.workers.push(Some(child));
        }
        cluster.wait_ready(cluster.options.racks.len()).await;
        cluster
    }

    fn start_master(&mut self, listen: &str) {
        let mut command = Command::new(&self.binary);
        command
            .arg("--config")
            .arg(&self.config_path)
            .arg("master")
            .arg("--listen")
            .arg(listen)
            .arg("--http-listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(self.root.join("master"));
        let (child, announced) = spawn_announcing(
            command,
            &self.root.join("master.log"),
            &["listening on ", "Status page at "],
        );
        self.master = Some(child);
        let mut announced = announced.into_iter();
        self.master_address = announced.next().unwrap_or_default();
        self.master_http = announced
            .next()
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string();
    }

    fn spawn_worker(&self, i: usize) -> Child {
        let host = (self.options.hosts.get(i)).map_or("127.0.0.1", String::as_str);
        let mut command = Command::new(&self.binary);
        command
            .arg("--config")
            .arg(&self.config_path)
            .arg("worker")
            .arg("--listen")
            .arg(format!("{host}:0"))
            .arg("--http-listen")
            .arg(format!("{host}:0"))
            .arg("--data-dir")
            .arg(self.worker_dir(i))
            .arg("--master")
            .arg(&self.master_address)
            .arg("--rack")
            .arg(&self.options.racks[i]);
        spawn_announcing(
            command,
            &self.root.join(format!("worker-{i}.log")),
            &["listening on "],
        )
        .0
    }

    /// The directory of worker `i`.
    pub fn worker_dir(&self, i: usize) -> PathBuf {
        self.root.join(format!("worker-{i}"))
    }

    /// The cluster's directory (logs are there).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The master's RPC address.
    pub fn master_address(&self) -> &str {
        &self.master_address
    }

    /// The URL of the master's HTTP port (`http://HOST:PORT`: status page, metrics, WebHDFS).
    pub fn master_http(&self) -> &str {
        &self.master_http
    }

    /// The persistent id of worker `i`.
    pub fn worker_id(&self, i: usize) -> String {
        std::fs::read_to_string(self.worker_dir(i).join("worker_id"))
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    }

    /// Number of worker slots (running or killed).
    pub fn worker_count(&self) -> usize {
        self.workers.len()
    }

    /// The slot of the worker with persistent id `id`.
    pub fn worker_slot(&self, id: &str) -> Option<usize> {
        (0..self.workers.len()).find(|i| self.worker_id(*i) == id)
    }

    /// A client configuration for this cluster.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = self.options.config.client.clone();
        config.master = self.master_address.clone();
        config
    }

    /// A client for this cluster.
    pub async fn client(&self) -> FileSystem {
        match FileSystem::connect(self.client_config()).await {
            Ok(fs) => fs,
            Err(e) => panic!("cannot connect a client: {e}"),
        }
    }

    /// Sends SIGKILL to worker `i` and reaps it.
    pub fn kill_worker(&mut self, i: usize) {
        if let Some(mut child) = self.workers[i].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts worker `i` again on its data directory.
    pub fn restart_worker(&mut self, i: usize) {
        self.kill_worker(i);
        self.workers[i] = Some(self.spawn_worker(i));
    }

    /// Sends SIGKILL to the master and reaps it.
    pub fn kill_master(&mut self) {
        if let Some(mut child) = self.master.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the master again on the same port and data directory.
    pub async fn restart_master(&mut self) {
        self.kill_master();
        let address = self.master_address.clone();
        self.start_master(&address);
        let running = self.workers.iter().filter(|w| w.is_some()).count();
        self.wait_ready(running).await;
    }

    /// Starts `binary --config <cluster config> --master <master> <args>` (a table master,
    /// a region server, ...), logging to `<name>.log`; waits until it printed `marker` and
    /// returns its slot and the word after the marker (its address).
    pub fn spawn_role(&mut self, name: &str, args: &[&str], marker: &str) -> (usize, String) {
        let mut command = Command::new(&self.binary);
        command
            .arg("--config")
            .arg(&self.config_path)
            .arg("--master")
            .arg(&self.master_address)
            .args(args);
        let (child, announced) =
            spawn_announcing(command, &self.root.join(format!("{name}.log")), &[marker]);
        self.roles.push(Some(child));
        (
            self.roles.len() - 1,
            announced.into_iter().next().unwrap_or_default(),
        )
    }

    /// Sends SIGKILL to the role in `slot` and reaps it.
    pub fn kill_role(&mut self, slot: usize) {
        if let Some(mut child) = self.roles.get_mut(slot).and_then(Option::take) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits until `workers` workers are live and safe mode is off.
    pub async fn wait_ready(&self, workers: usize) {
        let config = self.client_config();
        wait_until(
            "the process cluster is ready",
            Duration::from_secs(60),
            || {
                let config = config.clone();
                async move {
                    let Ok(fs) = FileSystem::connect(config).await else {
                        return false;
                    };
                    let Ok(report) = fs.report().await else {
                        return false;
                    };
                    report
                        .summary
                        .is_some_and(|s| !s.safe_mode && s.live_workers as usize >= workers)
                }
            },
        )
        .await;
    }
}

impl ProcessCluster {
    /// Prints the end of every process's log (called when a test fails).
    fn dump_logs(&self) {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return;
        };
        let mut logs: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .collect();
        logs.sort();
        for log in logs {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            eprintln!("---- last lines of {} ----", log.display());
            for line in &lines[lines.len().saturating_sub(400)..] {
                eprintln!("{line}");
            }
        }
    }
}

impl Drop for ProcessCluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.dump_logs();
        }
        for child in self
            .roles
            .iter_mut()
            .chain(self.workers.iter_mut())
            .flatten()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(child) = self.master.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
