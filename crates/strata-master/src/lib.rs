//! The Strata master: the metadata authority.
//!
//! It owns the namespace (journaled, snapshotted, replayed at start-up), tracks workers through
//! registrations and heartbeats, learns where replicas are from block reports, places new
//! blocks, and heals the cluster: re-replication, trimming, corrupt-replica replacement,
//! decommissioning and lease recovery.

pub mod audit;
pub mod blocks;
pub mod cluster;
pub mod journal;
pub mod leases;
pub mod metrics;
pub mod namespace;
pub mod placement;
pub mod safemode;
mod server;
pub mod service;
pub mod under_storage;
pub mod workers;

pub use server::Master;
