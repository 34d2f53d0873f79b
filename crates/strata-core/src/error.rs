//! The one error type shared by every Strata crate and carried across the wire as a typed code.

/// Result with Strata's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in Strata, each variant naming the path, block or address at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A path that breaks the naming rules (relative, `..`, empty component, NUL, too long).
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath { path: String, reason: String },
    /// The path, or one of its ancestors, does not exist.
    #[error("{path}: no such file or directory")]
    NotFound { path: String },
    /// The path already exists and the operation would not replace it.
    #[error("{path}: already exists")]
    AlreadyExists { path: String },
    /// A directory was expected, or a path goes through a file.
    #[error("{path}: not a directory")]
    NotADirectory { path: String },
    /// A file was expected.
    #[error("{path}: is a directory")]
    IsADirectory { path: String },
    /// A non-recursive delete of a directory that has children.
    #[error("{path}: directory is not empty (delete it recursively)")]
    DirectoryNotEmpty { path: String },
    /// An operation that the namespace rules forbid, e.g. renaming a directory into itself.
    #[error("{path}: {reason}")]
    InvalidOperation { path: String, reason: String },
    /// Another client holds the write lease on the file.
    #[error("{path}: already being written by {holder}")]
    LeaseConflict { path: String, holder: String },
    /// The caller does not hold the lease it claims (it expired or the file was recovered).
    #[error("{path}: no write lease held by {client}")]
    NoLease { path: String, client: String },
    /// The file's last block is being recovered after its writer died.
    #[error("{path}: lease recovery in progress, try again shortly")]
    RecoveryInProgress { path: String },
    /// A read starting at or beyond the end of a file.
    #[error("{path}: offset {offset} is past the end of the file ({length} bytes)")]
    PastEndOfFile {
        path: String,
        offset: u64,
        length: u64,
    },
    /// The master is in safe mode and refuses changes.
    #[error("master is in safe mode: {reason}")]
    SafeMode { reason: String },
    /// Not enough live workers with room for the request.
    #[error("not enough workers: {reason}")]
    NotEnoughWorkers { reason: String },
    /// No space left on a worker's storage.
    #[error("no space left: {reason}")]
    NoSpace { reason: String },
    /// Data failed its CRC32C check.
    #[error("checksum mismatch in {block} at block offset {offset}")]
    ChecksumMismatch { block: String, offset: u64 },
    /// No replica of a block could be read.
    #[error("{path}: block {block} could not be read from any replica: {reason}")]
    BlockUnavailable {
        path: String,
        block: String,
        reason: String,
    },
    /// A replica the request names is not on this worker (or has another generation).
    #[error("replica {block} not found: {reason}")]
    ReplicaNotFound { block: String, reason: String },
    /// A request argument is out of range or malformed.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A local I/O failure.
    #[error("I/O error: {0}")]
    Io(String),
    /// A peer could not be reached or dropped the connection.
    #[error("cannot reach {address}: {reason}")]
    Unavailable { address: String, reason: String },
    /// The under storage of a mount failed or refused a request.
    #[error("under storage {uri}: {reason}")]
    UnderStorage { uri: String, reason: String },
    /// A peer sent something that breaks the protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// A peer did not answer in time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// A bug or broken invariant; the message says where.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// An I/O error, with what was being done and the path it was done to.
    pub fn io(what: impl std::fmt::Display, err: std::io::Error) -> Self {
        Error::Io(format!("{what}: {err}"))
    }

    /// Whether the same request might succeed if tried again later (transient conditions).
    pub fn is_retriable(&self) -> bool {
        matches!(
            self,
            Error::Unavailable { .. }
                | Error::Timeout(_)
                | Error::SafeMode { .. }
                | Error::RecoveryInProgress { .. }
        )
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Error::Io(err.to_string())
    }
}
