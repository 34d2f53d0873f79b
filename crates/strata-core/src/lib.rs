//! The shared vocabulary of Strata: identifiers, validated paths, the error type that crosses
//! every boundary, configuration, byte sizes, CRC32C chunk checksums and the metrics registry.
//!
//! Nothing here does I/O on the network; everything is usable by master, worker and client alike.

pub mod checksum;
pub mod config;
pub mod error;
pub mod ids;
pub mod metrics;
pub mod path;
pub mod permission;
pub mod size;
pub mod tier;
pub mod ttl;

pub use error::{Error, Result};
pub use ids::{BlockId, ExtendedBlock, InodeId};
pub use path::StrataPath;
pub use size::ByteSize;

/// Milliseconds since the Unix epoch, the unit of every timestamp Strata records.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
