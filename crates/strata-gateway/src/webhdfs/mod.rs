//! The WebHDFS face: Hadoop's WebHDFS REST API under `/webhdfs/v1`, so Hadoop's own
//! `webhdfs://` file system (and Spark on it), Python's HDFS clients and curl work on Strata.
//!
//! As in HDFS it has two parts. The master's HTTP port answers metadata operations and sends
//! OPEN, CREATE and APPEND on with a `307 Temporary Redirect` to a worker's HTTP port
//! ([`namenode`]), which moves the bytes ([`datanode`]). Both run on `strata-client`.

pub mod datanode;
pub mod errors;
pub mod json;
pub mod namenode;
pub mod params;
pub mod redirect;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, any};
use percent_encoding::percent_decode_str;
use serde::Serialize;
use strata_core::{Error, Result};

/// The URL prefix of every WebHDFS request.
pub const PREFIX: &str = "/webhdfs/v1";

/// A router answering `handler` for every path under [`PREFIX`].
fn routes<S: Clone + Send + Sync + 'static>(handler: MethodRouter<S>) -> Router<S> {
    Router::new()
        .route(PREFIX, handler.clone())
        .route(&format!("{PREFIX}/"), handler.clone())
        .route(&format!("{PREFIX}/{{*path}}"), handler)
        .layer(middleware::from_fn(untyped_json_for_java))
}

/// Hadoop's shaded client (`hadoop-client-api`/`-runtime` 3.x, the jars Spark ships) fails on
/// any `Content-Type` it is given: checking it needs Jersey's `RuntimeDelegate`, which the
/// shaded jars leave out (HDFS-14466), and the check is skipped when the header is absent.
/// JSON answers to Java's `HttpURLConnection` (User-Agent `Java/...`, which Hadoop's
/// `WebHdfsFileSystem` sends) therefore go without one; every other client gets
/// `application/json`.
async fn untyped_json_for_java(request: axum::extract::Request, next: Next) -> Response {
    let java = (request.headers().get(header::USER_AGENT))
        .is_some_and(|agent| agent.as_bytes().starts_with(b"Java/"));
    let mut response = next.run(request).await;
    let json = (response.headers().get(header::CONTENT_TYPE))
        .is_some_and(|t| t.as_bytes().starts_with(b"application/json"));
    if java && json {
        response.headers_mut().remove(header::CONTENT_TYPE);
    }
    response
}

/// The router of the master's WebHDFS face over `fs`.
pub fn namenode_router(fs: strata_client::FileSystem) -> Router {
    routes(any(namenode::handle)).with_state(std::sync::Arc::new(namenode::NameNode::new(fs)))
}

/// The router of a worker's WebHDFS data face over `fs`.
pub fn datanode_router(fs: strata_client::FileSystem) -> Router {
    routes(any(datanode::handle)).with_state(std::sync::Arc::new(datanode::DataNode::new(fs)))
}

/// The file system path a request URL's path names: what follows [`PREFIX`], percent-decoded,
/// `/` when nothing does.
pub fn file_path(url_path: &str) -> Result<String> {
    let rest = url_path.strip_prefix(PREFIX).unwrap_or(url_path);
    let decoded = percent_decode_str(rest)
        .decode_utf8()
        .map_err(|_| Error::InvalidArgument(format!("the path {rest:?} is not UTF-8")))?;
    Ok(if decoded.is_empty() {
        "/".to_string()
    } else {
        decoded.into_owned()
    })
}

/// A `200 OK` answer with `body` as JSON.
fn json<T: Serialize>(body: &T) -> Response {
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// A `200 OK` answer without a body.
fn empty() -> Response {
    (StatusCode::OK, [(header::CONTENT_LENGTH, "0")]).into_response()
}

/// The `RemoteException` answer for `error`, with the status HDFS gives it.
fn error_response(error: &Error) -> Response {
    let (status, body) = errors::remote_exception(error);
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(body)).into_response()
}

/// The error for an operation this face does not answer with this method.
fn unsupported(method: &axum::http::Method, op: &str) -> Error {
    let kind = match *method {
        axum::http::Method::GET => "GetOpParam",
        axum::http::Method::PUT => "PutOpParam",
        axum::http::Method::POST => "PostOpParam",
        axum::http::Method::DELETE => "DeleteOpParam",
        _ => "HttpOpParam",
    };
    Error::InvalidArgument(format!(
        "Invalid value for webhdfs parameter \"op\": No enum constant \
         org.apache.hadoop.hdfs.web.resources.{kind}.Op.{op}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_is_what_follows_the_prefix_decoded() {
        assert_eq!(file_path("/webhdfs/v1").unwrap(), "/");
        assert_eq!(file_path("/webhdfs/v1/").unwrap(), "/");
        assert_eq!(file_path("/webhdfs/v1/a/b%20c").unwrap(), "/a/b c");
        assert_eq!(file_path("/webhdfs/v1/%E2%82%AC").unwrap(), "/€");
        assert!(file_path("/webhdfs/v1/%FF").is_err());
    }
}
