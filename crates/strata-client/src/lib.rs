//! The Strata client: the [`FileSystem`] API over a cluster. Namespace calls go to the master
//! over gRPC; file data goes straight to workers over the framed TCP data plane, written
//! through replica pipelines and read from the nearest replica with failover.

mod cache;
mod filesystem;
mod lease;
pub mod master;
mod reader;
mod writer;
mod xattrs;

pub use cache::MountOptions;
pub use filesystem::{CreateOptions, FileChecksum, FileSystem, Lister, is_directory};
pub use reader::FileReader;
pub use strata_proto::rpc::{
    ContentSummary, FileStatus, FileType, FsckFile, FsckSummary, ReportResponse, SafeModeAction,
    WorkerReport,
};
pub use writer::FileWriter;
pub use xattrs::XAttrSetFlag;
