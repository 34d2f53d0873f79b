//! Under storage: the slower storage a Strata directory can be mounted on, a local directory
//! (`file:///abs/dir`) or an S3 bucket (`s3://bucket/prefix`), reached through OpenDAL.
//!
//! - [`uri`]: the addresses of under storage and the options each kind accepts.
//! - [`storage`]: an open under storage: stat, list, read a range, write, delete.
//! - [`version`]: telling versions of an object apart (length, ETag, modification time).

pub mod storage;
pub mod uri;
pub mod version;

pub use storage::{UfsObject, UfsWriter, UnderStorage};
pub use uri::UfsUri;
pub use version::ObjectVersion;
