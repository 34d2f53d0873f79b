//! The faces Strata shows the ecosystem's tools, each on top of `strata-client`: S3 (so boto3,
//! the aws CLI and every S3 library work unchanged) and WebHDFS (so Hadoop's shell, Spark and
//! Python's HDFS clients do).

pub mod file_stream;
pub mod http;
pub mod s3;
pub mod s3_names;
pub mod server;
pub mod thrift;
pub mod webhdfs;

pub use http::HttpEndpoint;
pub use server::S3Endpoint;
pub use thrift::ThriftServer;
