//! Blocks as the cluster holds them: where each replica is (soft state rebuilt from block
//! reports), how healthy each block is, and the replication monitor that heals them.

mod cached;
mod health;
mod map;
mod queue;
pub mod replication;
mod striped;

pub use cached::{CachedShare, cached_share};
pub use health::{BlockStatus, GroupStatus, UnitStatus, classify, classify_group};
pub use map::{BlockMap, Replica, ReplicaState};
