//! The two directions of a data-plane block transfer, shared by clients and workers: reading a
//! range of a replica with every chunk verified ([`BlockReader`]), and sending a block down a
//! pipeline of workers without pipeline recovery ([`BlockSink`], for copies, reconstruction and
//! the internal blocks of erasure-coded writes, where a failed stream is simply given up);
//! and single questions about a replica ([`ask`]).

mod query;
mod reader;
mod sink;

pub use query::ask;
pub use reader::BlockReader;
pub use sink::BlockSink;
