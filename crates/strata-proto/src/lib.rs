//! Strata's wire formats: the gRPC control plane (`rpc`), the data-plane frames (`data`) with
//! their codec (`frame`), the master's journal records (`journal`), and the conversions that
//! carry typed errors across the wire (`status`).

pub mod block_io;
pub mod frame;
pub mod net;
pub mod status;

/// Control-plane messages and the `ClientProtocol`, `WorkerProtocol` and `AdminProtocol`
/// services.
#[allow(missing_docs, clippy::all)]
pub mod rpc {
    include!(concat!(env!("OUT_DIR"), "/strata.rpc.rs"));
}

/// Data-plane messages (the headers of frames on a worker's data port).
#[allow(missing_docs, clippy::all)]
pub mod data {
    include!(concat!(env!("OUT_DIR"), "/strata.data.rs"));
}

/// Journal entries and snapshot records of the master.
#[allow(missing_docs, clippy::all)]
pub mod journal {
    include!(concat!(env!("OUT_DIR"), "/strata.journal.rs"));
}

use strata_core::tier::Medium;
use strata_core::{BlockId, ExtendedBlock};

/// Largest gRPC message accepted or sent (block reports of big workers, fsck batches).
pub const MAX_RPC_MESSAGE: usize = 64 << 20;

/// The gRPC metadata key that carries the user a client acts as (binary, so any name fits);
/// the master's audit log records it.
pub const USER_METADATA: &str = "strata-user-bin";

impl From<ExtendedBlock> for rpc::Block {
    fn from(b: ExtendedBlock) -> Self {
        rpc::Block {
            id: b.id.0,
            generation: b.generation,
            length: b.length,
        }
    }
}

impl From<&rpc::Block> for ExtendedBlock {
    fn from(b: &rpc::Block) -> Self {
        ExtendedBlock {
            id: BlockId(b.id),
            generation: b.generation,
            length: b.length,
        }
    }
}

impl From<ExtendedBlock> for data::BlockRef {
    fn from(b: ExtendedBlock) -> Self {
        data::BlockRef {
            id: b.id.0,
            generation: b.generation,
        }
    }
}

impl From<Medium> for rpc::StorageMedium {
    fn from(m: Medium) -> Self {
        match m {
            Medium::Mem => rpc::StorageMedium::Mem,
            Medium::Ssd => rpc::StorageMedium::Ssd,
            Medium::Hdd => rpc::StorageMedium::Hdd,
        }
    }
}

impl rpc::StorageMedium {
    /// The tier this names; `None` when unspecified.
    pub fn tier(self) -> Option<Medium> {
        match self {
            rpc::StorageMedium::Mem => Some(Medium::Mem),
            rpc::StorageMedium::Ssd => Some(Medium::Ssd),
            rpc::StorageMedium::Hdd => Some(Medium::Hdd),
            rpc::StorageMedium::Unspecified => None,
        }
    }
}
