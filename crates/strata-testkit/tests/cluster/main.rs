//! Whole-cluster behaviour on in-process clusters: data round trips, namespace rules and
//! errors, durability across master restarts, replication convergence, erasure coding and
//! storage tiers.

mod cache;
mod cache_pressure;
mod erasure;
mod healing;
mod namespace;
mod roundtrip;
mod tiers;
