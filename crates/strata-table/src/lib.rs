//! Strata's table store, in HBase's data model: tables of rows kept in byte order, split by
//! row key into regions; cells (row, family:qualifier, timestamp) → value, with versions,
//! delete markers and TTLs. Each region writes a write-ahead log and SSTables into Strata
//! files through `strata-client`, and never touches master or worker code.

pub mod cell;
pub mod client;
pub mod error;
pub mod filter;
pub mod memstore;
pub mod mutation;
pub mod read;
pub mod region;
pub mod schema;
pub mod server;
pub mod sstable;
pub mod wire;

/// Messages the table store keeps in its files.
#[allow(missing_docs, clippy::all)]
pub mod proto {
    /// SSTable metadata and write-ahead log entries.
    pub mod storage {
        include!(concat!(env!("OUT_DIR"), "/strata.table.storage.rs"));
    }
    /// Requests and answers of region servers and the table master.
    pub mod rpc {
        include!(concat!(env!("OUT_DIR"), "/strata.table.rpc.rs"));
    }
}

/// Where the table store keeps its files in Strata unless configured otherwise.
pub const DEFAULT_ROOT: &str = "/strata-table";

pub use cell::{Cell, CellKey, CellKind};
pub use client::{Admin, Connection, Table};
pub use error::{Error, Result};
