//! Configuration: one TOML file with `[master]`, `[worker]`, `[client]` and `[gateway]`
//! sections.
//!
//! Every key has a default, so an empty file (or none) is a working single-machine setup.
//! Durations are written like `3s`, `500ms`, `10m`; sizes like `128MiB`.

use crate::error::{Error, Result};
use crate::size::ByteSize;
use crate::tier::{self, TierConfig, TieringConfig};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The master's RPC address when nothing else is said.
pub const DEFAULT_MASTER_ADDRESS: &str = "127.0.0.1:8020";

/// The master's HTTP address when nothing else is said (HDFS's namenode HTTP port).
pub const DEFAULT_MASTER_HTTP_ADDRESS: &str = "127.0.0.1:9870";

/// The whole configuration file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Settings of the metadata server.
    pub master: MasterConfig,
    /// Settings of a block server.
    pub worker: WorkerConfig,
    /// Settings of clients (CLI, benchmarks, gateways).
    pub client: ClientConfig,
    /// Settings of the S3 and WebHDFS faces.
    pub gateway: GatewayConfig,
    /// Settings of the table store (table masters, region servers, Thrift).
    pub table: TableConfig,
}

impl Config {
    /// Reads a TOML file; unknown keys are an error so typos do not go unnoticed.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading config {}", path.display()), e))?;
        Config::parse(&text).map_err(|e| match e {
            Error::InvalidArgument(m) => {
                Error::InvalidArgument(format!("config {}: {m}", path.display()))
            }
            other => other,
        })
    }

    /// Parses TOML text.
    pub fn parse(text: &str) -> Result<Config> {
        let config: Config =
            toml::from_str(text).map_err(|e| Error::InvalidArgument(e.to_string()))?;
        tier::validate(&config.worker.tiers)
            .map_err(|e| Error::InvalidArgument(format!("[worker] tiers: {e}")))?;
        config
            .worker
            .tiering
            .validate()
            .map_err(|e| Error::InvalidArgument(format!("[worker.tiering]: {e}")))?;
        Ok(config)
    }

    /// Renders the configuration as TOML (what `strata config` prints).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }
}

/// Settings of the master.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MasterConfig {
    /// Address of the gRPC service (`HOST:PORT`; port 0 picks a free port).
    pub listen: String,
    /// Address of the HTTP port (WebHDFS under `/webhdfs/v1`); empty serves none.
    pub http_listen: String,
    /// Where the journal and snapshots live.
    pub data_dir: PathBuf,
    /// Replication of new files when the client does not ask for one.
    pub default_replication: u32,
    /// Block size of new files when the client does not ask for one.
    pub default_block_size: ByteSize,
    /// Replicas a block needs before its file can be closed.
    pub min_replication: u32,
    /// How often workers send heartbeats.
    #[serde(with = "duration_text")]
    pub heartbeat_interval: Duration,
    /// A worker silent for this long is declared dead and its blocks re-replicated.
    #[serde(with = "duration_text")]
    pub worker_dead_timeout: Duration,
    /// A writer that has not renewed its lease for this long is presumed dead; its files are
    /// recovered to their last complete length and closed.
    #[serde(with = "duration_text")]
    pub lease_timeout: Duration,
    /// Journal entries between two snapshots of the namespace.
    pub checkpoint_entries: u64,
    /// Share of blocks that must be reported before safe mode ends by itself.
    pub safemode_threshold: f64,
    /// How long safe mode lasts after the threshold is reached.
    #[serde(with = "duration_text")]
    pub safemode_extension: Duration,
    /// How often the replication monitor looks for work.
    #[serde(with = "duration_text")]
    pub replication_interval: Duration,
    /// Copies a single worker may be sending at once for re-replication.
    pub replication_max_streams: u32,
    /// A scheduled copy not confirmed within this time is scheduled again.
    #[serde(with = "duration_text")]
    pub replication_pending_timeout: Duration,
    /// How often workers send a full block report.
    #[serde(with = "duration_text")]
    pub block_report_interval: Duration,
    /// Largest page a directory listing returns.
    pub list_page_size: u32,
    /// Access times are updated at most this often per file.
    #[serde(with = "duration_text")]
    pub atime_precision: Duration,
    /// ASYNC_THROUGH files are persisted this long after they are closed at the earliest.
    #[serde(with = "duration_text")]
    pub persist_initial_wait: Duration,
    /// How often files and directories past their TTL are looked for.
    #[serde(with = "duration_text")]
    pub ttl_check_interval: Duration,
    /// Whether every namespace operation is written to the audit log.
    pub audit_log: bool,
    /// The audit log's directory; empty: `audit` under `data_dir`.
    pub audit_dir: PathBuf,
    /// Size past which the audit log is rotated.
    pub audit_max_file_size: ByteSize,
    /// Rotated audit logs kept beside the current one.
    pub audit_max_files: u32,
}

impl Default for MasterConfig {
    fn default() -> Self {
        MasterConfig {
            listen: DEFAULT_MASTER_ADDRESS.to_string(),
            http_listen: DEFAULT_MASTER_HTTP_ADDRESS.to_string(),
            data_dir: PathBuf::from("./strata-data/master"),
            default_replication: 3,
            default_block_size: ByteSize(128 << 20),
            min_replication: 1,
            heartbeat_interval: Duration::from_secs(3),
            worker_dead_timeout: Duration::from_secs(30),
            lease_timeout: Duration::from_secs(60),
            checkpoint_entries: 100_000,
            safemode_threshold: 0.999,
            safemode_extension: Duration::from_secs(3),
            replication_interval: Duration::from_secs(1),
            replication_max_streams: 2,
            replication_pending_timeout: Duration::from_secs(60),
            block_report_interval: Duration::from_secs(600),
            list_page_size: 1000,
            atime_precision: Duration::from_secs(3600),
            persist_initial_wait: Duration::ZERO,
            ttl_check_interval: Duration::from_secs(60),
            audit_log: true,
            audit_dir: PathBuf::new(),
            audit_max_file_size: ByteSize(64 << 20),
            audit_max_files: 10,
        }
    }
}

/// Settings of a worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerConfig {
    /// Address of the data port (`HOST:PORT`; port 0 picks a free port).
    pub listen: String,
    /// Address of the HTTP port (WebHDFS reads and writes the master redirects to); empty
    /// serves none.
    pub http_listen: String,
    /// Host name or address registered with the master when `listen` is a wildcard address.
    pub advertise_host: Option<String>,
    /// The master's gRPC address.
    pub master: String,
    /// Where block files live.
    pub data_dir: PathBuf,
    /// The rack this worker is in, e.g. `/rack1`.
    pub rack: String,
    /// Space this worker may use; 0 means the free space of its disk.
    pub capacity: ByteSize,
    /// Storage tiers, fastest first; none means the default layout: a MEM tier under
    /// `memory_dir` (see `memory`) in front of one HDD tier of `data_dir` and `capacity`.
    pub tiers: Vec<TierConfig>,
    /// The tmpfs the default MEM tier lives in (a directory `strata-<worker id>` inside it).
    pub memory_dir: PathBuf,
    /// Size of the default MEM tier; unset means a quarter of `memory_dir`'s file system,
    /// 0 turns the MEM tier off.
    pub memory: Option<ByteSize>,
    /// When replicas move between tiers.
    pub tiering: TieringConfig,
    /// Whether a finished block is fsync'd before it is acknowledged.
    pub sync_on_close: bool,
    /// Time for one full checksum pass over every stored block (0 disables the scanner).
    #[serde(with = "duration_text")]
    pub scan_period: Duration,
    /// Reads and writes to peers time out after this long without progress.
    #[serde(with = "duration_text")]
    pub socket_timeout: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            listen: "127.0.0.1:0".to_string(),
            http_listen: "127.0.0.1:0".to_string(),
            advertise_host: None,
            master: DEFAULT_MASTER_ADDRESS.to_string(),
            data_dir: PathBuf::from("./strata-data/worker"),
            rack: "/default-rack".to_string(),
            capacity: ByteSize(0),
            tiers: Vec::new(),
            memory_dir: PathBuf::from("/dev/shm"),
            memory: None,
            tiering: TieringConfig::default(),
            sync_on_close: false,
            scan_period: Duration::from_secs(7 * 24 * 3600),
            socket_timeout: Duration::from_secs(60),
        }
    }
}

/// Settings of a client.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientConfig {
    /// The master's gRPC address.
    pub master: String,
    /// Replication of files this client creates; 0 takes the master's default.
    pub replication: u32,
    /// Block size of files this client creates; 0 takes the master's default.
    pub block_size: ByteSize,
    /// Bytes of file data per packet on the data plane.
    pub packet_size: ByteSize,
    /// Bytes a writer may have sent but not yet had acknowledged.
    pub write_window: ByteSize,
    /// Reads and writes to workers time out after this long without progress.
    #[serde(with = "duration_text")]
    pub socket_timeout: Duration,
    /// The user name sent with requests; empty means `$USER`.
    pub user: String,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            master: DEFAULT_MASTER_ADDRESS.to_string(),
            replication: 0,
            block_size: ByteSize(0),
            packet_size: ByteSize(256 << 10),
            write_window: ByteSize(8 << 20),
            socket_timeout: Duration::from_secs(60),
            user: String::new(),
        }
    }
}

impl ClientConfig {
    /// The user name requests carry: the configured one, else `$USER`, else `root`.
    pub fn effective_user(&self) -> String {
        if !self.user.is_empty() {
            return self.user.clone();
        }
        std::env::var("USER")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "root".to_string())
    }
}

/// The S3 endpoint's address when nothing else is said (the port Ozone's S3 gateway uses).
pub const DEFAULT_S3_ADDRESS: &str = "127.0.0.1:9878";

/// The gateway's WebHDFS address when nothing else is said (the port of HDFS's HttpFS).
pub const DEFAULT_WEBHDFS_GATEWAY_ADDRESS: &str = "127.0.0.1:14000";

/// Settings of the gateway: the S3 endpoint and a WebHDFS endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    /// Address of the WebHDFS endpoint (the same API as the master's HTTP port, for hosts
    /// that reach the gateway but not the master); empty serves none.
    pub webhdfs_listen: String,
    /// Address of the S3 endpoint.
    pub s3_listen: String,
    /// The key pairs that may sign S3 requests (AWS Signature Version 4 or 2).
    pub s3_keys: Vec<S3Key>,
    /// Serve unsigned S3 requests too (as the gateway's user); off unless said.
    pub s3_anonymous: bool,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            webhdfs_listen: DEFAULT_WEBHDFS_GATEWAY_ADDRESS.to_string(),
            s3_listen: DEFAULT_S3_ADDRESS.to_string(),
            s3_keys: Vec::new(),
            s3_anonymous: false,
        }
    }
}

/// The table master's address when nothing else is said (HBase's master port).
pub const DEFAULT_TABLE_MASTER_ADDRESS: &str = "127.0.0.1:16000";
/// A region server's address when nothing else is said (HBase's region server port).
pub const DEFAULT_REGION_SERVER_ADDRESS: &str = "127.0.0.1:16020";
/// The Thrift server's address when nothing else is said (HBase's Thrift port).
pub const DEFAULT_THRIFT_ADDRESS: &str = "127.0.0.1:9090";

/// Settings of the table store.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TableConfig {
    /// The directory in Strata that holds every table, log and the catalog.
    pub root: String,
    /// Address of a table master's RPC port.
    pub master_listen: String,
    /// Address of a region server's RPC port.
    pub region_server_listen: String,
    /// Address of the Thrift server (HBase's Thrift1 API); empty serves none.
    pub thrift_listen: String,
    /// Memstore bytes of a region that start a flush.
    pub flush_size: ByteSize,
    /// Bytes of each region server's block cache.
    pub block_cache: ByteSize,
    /// Bytes per second a region server's compactions may write (0: unlimited).
    pub compaction_rate: ByteSize,
    /// The largest value a cell may hold.
    pub max_value_size: ByteSize,
    /// A region server silent this long is dead and its regions open elsewhere.
    #[serde(with = "duration_text")]
    pub server_timeout: Duration,
    /// How often region servers report to the master (and the master checks on them).
    #[serde(with = "duration_text")]
    pub report_interval: Duration,
    /// How long an idle scanner lives on a region server.
    #[serde(with = "duration_text")]
    pub scanner_timeout: Duration,
    /// A memstore holding edits this long is flushed whatever its size.
    #[serde(with = "duration_text")]
    pub flush_interval: Duration,
    /// A region whose largest family's files pass this size is split at its middle key.
    pub split_size: ByteSize,
    /// How often the master evens regions out over the region servers (by count and load).
    #[serde(with = "duration_text")]
    pub balance_interval: Duration,
}

impl Default for TableConfig {
    fn default() -> Self {
        TableConfig {
            root: "/strata-table".to_string(),
            master_listen: DEFAULT_TABLE_MASTER_ADDRESS.to_string(),
            region_server_listen: DEFAULT_REGION_SERVER_ADDRESS.to_string(),
            thrift_listen: DEFAULT_THRIFT_ADDRESS.to_string(),
            flush_size: ByteSize(128 << 20),
            block_cache: ByteSize(256 << 20),
            compaction_rate: ByteSize(64 << 20),
            max_value_size: ByteSize(10 << 20),
            server_timeout: Duration::from_secs(10),
            report_interval: Duration::from_secs(1),
            scanner_timeout: Duration::from_secs(60),
            flush_interval: Duration::from_secs(3600),
            split_size: ByteSize(10 << 30),
            balance_interval: Duration::from_secs(300),
        }
    }
}

/// One S3 key pair.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Key {
    /// The public half, sent with every request.
    pub access_key: String,
    /// The secret half, which signs requests.
    pub secret_key: String,
}

impl std::fmt::Debug for S3Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Key")
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

/// Serde adapter writing durations as `3s`, `250ms`, `10m`.
pub mod duration_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    /// Writes a duration as human text.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    /// Reads a duration from human text such as `3s` or `1h 30m`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.master.default_replication, 3);
        assert_eq!(c.master.default_block_size, ByteSize(128 << 20));
        assert_eq!(c.master.heartbeat_interval, Duration::from_secs(3));
    }

    #[test]
    fn overrides_and_round_trip() {
        let c = Config::parse(
            "[master]\nheartbeat_interval = \"500ms\"\ndefault_block_size = \"1MiB\"\n[worker]\nrack = \"/r2\"\n",
        )
        .unwrap();
        assert_eq!(c.master.heartbeat_interval, Duration::from_millis(500));
        assert_eq!(c.master.default_block_size, ByteSize(1 << 20));
        assert_eq!(c.worker.rack, "/r2");
        let again = Config::parse(&c.to_toml()).unwrap();
        assert_eq!(again.master.heartbeat_interval, Duration::from_millis(500));
    }

    #[test]
    fn s3_keys_come_from_the_gateway_section_and_never_print_their_secret() {
        let c = Config::default();
        assert_eq!(c.gateway.s3_listen, DEFAULT_S3_ADDRESS);
        assert!(c.gateway.s3_keys.is_empty() && !c.gateway.s3_anonymous);
        let text = "[gateway]\ns3_listen = \"0.0.0.0:9000\"\n\
                    s3_keys = [{ access_key = \"ak\", secret_key = \"sk\" }]\n";
        let c = Config::parse(text).unwrap();
        assert_eq!(c.gateway.s3_listen, "0.0.0.0:9000");
        assert_eq!(c.gateway.s3_keys[0].secret_key, "sk");
        assert!(!format!("{:?}", c.gateway).contains("sk"));
        assert_eq!(
            Config::parse(&c.to_toml()).unwrap().gateway.s3_keys,
            c.gateway.s3_keys
        );
    }

    #[test]
    fn unknown_keys_are_errors() {
        assert!(Config::parse("[master]\nheartbeat = \"1s\"\n").is_err());
    }

    #[test]
    fn worker_tiers_are_checked_and_the_memory_tier_is_optional() {
        let c = Config::default();
        assert!(c.worker.tiers.is_empty());
        assert_eq!(c.worker.memory, None);
        assert_eq!(c.worker.memory_dir, PathBuf::from("/dev/shm"));
        let off = Config::parse("[worker]\nmemory = \"0\"\nmemory_dir = \"/mnt/ram\"\n").unwrap();
        assert_eq!(off.worker.memory, Some(ByteSize(0)));
        let again = Config::parse(&off.to_toml()).unwrap();
        assert_eq!(again.worker.memory, Some(ByteSize(0)));
        assert_eq!(again.worker.memory_dir, PathBuf::from("/mnt/ram"));
        let text = r#"
            [[worker.tiers]]
            medium = "MEM"
            dirs = [{ path = "/dev/shm/w", capacity = "64MiB" }]
            [[worker.tiers]]
            medium = "HDD"
            dirs = [{ path = "/d1" }, { path = "/d2", capacity = "1TiB" }]
        "#;
        let c = Config::parse(text).unwrap();
        let tiers = &c.worker.tiers;
        assert_eq!(tiers.len(), 2);
        assert_eq!(tiers[0].dirs[0].capacity, ByteSize(64 << 20));
        assert_eq!(tiers[1].dirs.len(), 2);
        assert_eq!(
            Config::parse(&c.to_toml()).unwrap().worker.tiers,
            c.worker.tiers
        );
        let backwards = "[[worker.tiers]]\nmedium = \"HDD\"\ndirs = [{ path = \"/a\" }]\n\
                         [[worker.tiers]]\nmedium = \"MEM\"\ndirs = [{ path = \"/b\" }]\n";
        let error = Config::parse(backwards).unwrap_err().to_string();
        assert!(error.contains("fastest first"), "{error}");
    }
}
