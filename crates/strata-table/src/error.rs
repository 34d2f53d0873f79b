//! The table store's error type: what went wrong, naming the table, region, row or family.

/// Result with the table store's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything the table store can refuse or fail at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The file system below failed.
    #[error(transparent)]
    Fs(#[from] strata_core::Error),
    /// No table of that name.
    #[error("table {0} does not exist")]
    NoSuchTable(String),
    /// A table of that name exists already.
    #[error("table {0} already exists")]
    TableExists(String),
    /// The table is disabled (or enabled, for operations that need it disabled).
    #[error("table {table} is {state}")]
    TableState { table: String, state: String },
    /// A column family the table does not have.
    #[error("table {table} has no column family {family}")]
    NoSuchFamily { table: String, family: String },
    /// A namespace that does not exist, or is not empty when dropped.
    #[error("namespace {namespace}: {reason}")]
    Namespace { namespace: String, reason: String },
    /// A request that breaks the data model's limits (a row key over 32 KiB, a value over the
    /// configured maximum, a negative timestamp, an empty row).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A filter string that does not parse.
    #[error("bad filter string at byte {position}: {reason}")]
    FilterSyntax { position: usize, reason: String },
    /// The region server does not serve that region (it moved, split or is opening): find
    /// it again and retry.
    #[error("region {region} is not served here: {reason}")]
    NotServingRegion { region: String, reason: String },
    /// The region is busy (too many store files waiting for compaction, or closing): retry.
    #[error("region {region} is too busy: {reason}")]
    RegionBusy { region: String, reason: String },
    /// A scanner that expired or was never opened.
    #[error("unknown scanner {0} (expired or closed)")]
    UnknownScanner(String),
    /// A stored file that does not decode (damaged, or not an SSTable or log).
    #[error("{path}: corrupt {what}: {reason}")]
    Corrupt {
        path: String,
        what: String,
        reason: String,
    },
    /// No active table master answers.
    #[error("no table master is active: {0}")]
    NoMaster(String),
    /// A region server or master could not be reached.
    #[error("cannot reach {address}: {reason}")]
    Unavailable { address: String, reason: String },
    /// A bug or broken invariant; the message says where.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// A damaged stored file.
    pub fn corrupt(path: &str, what: &str, reason: impl Into<String>) -> Error {
        Error::Corrupt {
            path: path.to_string(),
            what: what.to_string(),
            reason: reason.into(),
        }
    }

    /// Whether a client should find the region again and retry.
    pub fn is_retriable(&self) -> bool {
        match self {
            Error::NotServingRegion { .. }
            | Error::RegionBusy { .. }
            | Error::NoMaster(_)
            | Error::Unavailable { .. } => true,
            Error::Fs(e) => e.is_retriable(),
            _ => false,
        }
    }
}
