//! The Strata client: the [`FileSystem`] API over a cluster. Namespace calls go to the master
//! over gRPC; file data goes straight to workers over the framed TCP data plane, written
//! through replica pipelines and read from the nearest replica with failover.

mod cache;
mod checksums;
mod filesystem;
mod lease;
pub mod master;
mod reader;
mod truncate;
mod writer;
mod xattrs;

pub use cache::MountOptions;
pub use checksums::{FileChecksum, Md5Md5Crc32c};
pub use filesystem::{CreateOptions, FileSystem, Lister, is_directory};
pub use reader::{FileReader, PositionalReader};
pub use strata_proto::rpc::{
    BlockHealth, ClusterSummary, ContentSummary, FileStatus, FileType, FsckBlock, FsckFile,
    FsckSummary, GetBlockLocationsResponse, ListUnhealthyBlocksResponse, LocatedBlock,
    ReportResponse, SafeModeAction, ServerDefaults, StorageReport, TierReport, UnhealthyBlock,
    WorkerAddress, WorkerReport, WorkerState,
};
pub use truncate::TRUNCATE_TAILS;
pub use writer::FileWriter;
pub use xattrs::XAttrSetFlag;
