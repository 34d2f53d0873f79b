//! Under storage: the slower storage a Strata directory can be mounted on, a local directory
//! (`file:///abs/dir`) or an S3 bucket (`s3://bucket/prefix`), reached through OpenDAL.
//!
//! - [`uri`]: the addresses of under storage and the options each kind accepts.
//! - [`storage`]: an open under storage: stat, list, read a range, write, delete.

pub mod storage;
pub mod uri;

pub use storage::{UfsObject, UnderStorage};
pub use uri::UfsUri;
