//! The WebHDFS face (Hadoop's WebHDFS REST API under `/webhdfs/v1`), being built: so far the
//! JSON shapes and errors of the specification ([`json`], [`errors`]); the namenode and
//! datanode endpoints come next.

pub mod errors;
pub mod json;
