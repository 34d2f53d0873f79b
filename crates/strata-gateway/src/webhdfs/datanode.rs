//! A worker's WebHDFS data face, where the master's face redirects OPEN, CREATE and APPEND:
//! bytes stream between the HTTP body and the file through `strata-client` (checksummed from
//! here on), never whole in memory.

use super::params::Params;
use super::{empty, error_response, file_path, unsupported};
use crate::file_stream::file_stream;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use strata_client::{CreateOptions, FileSystem, FileWriter};
use strata_core::{Error, Result};
use tokio_stream::StreamExt;

/// The data face: a client of the cluster.
#[derive(Debug)]
pub struct DataNode {
    fs: FileSystem,
}

impl DataNode {
    /// A face moving bytes through `fs`.
    pub fn new(fs: FileSystem) -> DataNode {
        DataNode { fs }
    }
}

/// Answers one request.
pub async fn handle(
    State(datanode): State<Arc<DataNode>>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Response {
    let params = Params::parse(uri.query());
    let answer = async {
        let path = file_path(uri.path())?;
        let fs = datanode.fs.as_user(params.user());
        match (method.clone(), params.op()?.as_str()) {
            (Method::GET, "OPEN") => open(&fs, &path, &params).await,
            (Method::PUT, "CREATE") => create(&fs, &path, &params, &headers, body).await,
            (Method::POST, "APPEND") => append(&fs, &path, body).await,
            (method, op @ ("OPEN" | "CREATE" | "APPEND")) => Err(unsupported(&method, op)),
            (_, op) => Err(Error::InvalidArgument(format!(
                "{op} is not a data operation: send it to the master's HTTP port"
            ))),
        }
    };
    match answer.await {
        Ok(response) => response,
        Err(e) => error_response(&e),
    }
}

/// OPEN: `length` bytes (all that follow when not given) from `offset`.
async fn open(fs: &FileSystem, path: &str, params: &Params) -> Result<Response> {
    let offset = params.number::<u64>("offset")?.unwrap_or(0);
    let mut reader = fs.open(path).await?;
    let file_length = reader.length();
    if offset > file_length {
        return Err(Error::PastEndOfFile {
            path: path.to_string(),
            offset,
            length: file_length,
        });
    }
    reader.seek(offset)?;
    let available = file_length - offset;
    let length = params
        .number::<u64>("length")?
        .map_or(available, |l| l.min(available));
    let body = Body::from_stream(file_stream(path.to_string(), reader, length));
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_LENGTH, length.to_string()),
        ],
        body,
    )
        .into_response())
}

/// CREATE: a new file (or, with `overwrite=true`, one replacing a file) of the request body.
/// A body that breaks off leaves no file behind.
async fn create(
    fs: &FileSystem,
    path: &str,
    params: &Params,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response> {
    let options = CreateOptions {
        overwrite: params.flag("overwrite")?.unwrap_or(false),
        create_parents: true,
        replication: params.number::<u32>("replication")?.unwrap_or(0),
        block_size: params.number::<u64>("blocksize")?.unwrap_or(0),
        mode: params.permission()?.unwrap_or(0o644),
        ..CreateOptions::default()
    };
    let mut writer = fs.create(path, options).await?;
    if let Err(e) = receive(&mut writer, body).await {
        drop(writer);
        if let Err(cleanup) = fs.delete(path, false).await {
            tracing::warn!(path, error = %cleanup, "removing a file whose upload broke off");
        }
        return Err(e);
    }
    writer.close().await?;
    let namenode = (params.get("namenoderpcaddress"))
        .or_else(|| headers.get(header::HOST).and_then(|h| h.to_str().ok()))
        .unwrap_or_default();
    Ok((
        StatusCode::CREATED,
        [
            (header::LOCATION, format!("webhdfs://{namenode}{path}")),
            (header::CONTENT_LENGTH, "0".to_string()),
        ],
    )
        .into_response())
}

/// APPEND: the request body added to the end of the file. A body that breaks off keeps what
/// arrived, as HDFS does once it recovers the writer's lease.
async fn append(fs: &FileSystem, path: &str, body: Body) -> Result<Response> {
    let mut writer = fs.append(path).await?;
    let received = receive(&mut writer, body).await;
    writer.close().await?;
    received?;
    Ok(empty())
}

/// Writes the request body into `writer` as it arrives.
async fn receive(writer: &mut FileWriter, body: Body) -> Result<()> {
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Error::Io(format!("reading the request body: {e}")))?;
        writer.write(&chunk).await?;
    }
    Ok(())
}
