//! SSTables: the immutable sorted files a column family's memstore is flushed to and that
//! compactions merge, kept in Strata. Data blocks (compressed, checksummed), a block index, a
//! bloom filter and the file's info, found from a fixed trailer.

mod block;
mod bloom;
mod cache;
mod format;
mod reader;
mod writer;

pub use block::DataBlock;
pub use cache::{BlockCache, CacheStats};
pub use reader::{Source, SsTable};
pub use writer::{Sink, SsTableWriter};
