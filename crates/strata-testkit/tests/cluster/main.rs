//! Whole-cluster behaviour on in-process clusters: data round trips, namespace rules and
//! errors, durability across master restarts, and replication convergence.

mod healing;
mod namespace;
mod roundtrip;
