//! Blocks as the cluster holds them: where each replica is (soft state rebuilt from block
//! reports), how healthy each block is, and the replication monitor that heals them.

mod health;
mod map;
pub mod replication;

pub use health::{BlockStatus, classify};
pub use map::{BlockMap, Replica, ReplicaState};
