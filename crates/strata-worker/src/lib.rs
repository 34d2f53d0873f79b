//! The Strata worker: stores block replicas with CRC32C checksums, serves the data plane
//! (pipelined writes, reads, checksums, recovery), heartbeats to the master, carries out its
//! commands (copy, delete, recover, reconstruct) and moves replicas between its storage tiers.

mod commands;
pub mod context;
mod data_server;
mod heartbeat;
pub mod master_link;
pub mod memory_dirs;
pub mod metrics;
mod persist;
mod read_block;
mod read_through;
mod reconstruct;
mod recovery;
mod scanner;
mod server;
pub mod store;
mod tier_keeper;
pub mod tier_layout;
mod transfer;
mod write_block;

pub use server::Worker;
