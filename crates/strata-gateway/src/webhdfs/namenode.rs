//! The master's WebHDFS face: metadata operations answered from the master, and the two-step
//! OPEN, CREATE and APPEND, whose first step is a redirect to a worker's data face (or, with
//! `noredirect=true`, that worker's URL as JSON).

use super::json::{
    BlockLocationsBody, BooleanBody, ContentSummaryBody, DirectoryListing, DirectoryListingBody,
    FileChecksumBody, FileStatusBody, FileStatuses, FileStatusesBody, HdfsFileStatus, LocationBody,
    PathBody, ServerDefaultsBody,
};
use super::params::Params;
use super::redirect::DataNodes;
use super::{empty, error_response, file_path, json, unsupported};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;
use strata_client::{FileStatus, FileSystem, WorkerAddress, is_directory};
use strata_core::{Error, Result};

/// Entries of one `LISTSTATUS_BATCH` answer (HDFS's `dfs.ls.limit`).
const LIST_BATCH: u32 = 1000;

/// The master's face: a client of the master and the workers to redirect to.
#[derive(Debug)]
pub struct NameNode {
    fs: FileSystem,
    datanodes: DataNodes,
}

impl NameNode {
    /// A face answering through `fs`.
    pub fn new(fs: FileSystem) -> NameNode {
        NameNode {
            datanodes: DataNodes::new(fs.clone()),
            fs,
        }
    }
}

/// Answers one request.
pub async fn handle(
    State(namenode): State<Arc<NameNode>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let params = Params::parse(uri.query());
    let answer = async {
        let path = file_path(uri.path())?;
        let request = Request {
            namenode: &namenode,
            fs: namenode.fs.as_user(params.user()),
            path,
            params: &params,
            peer,
            uri: &uri,
            headers: &headers,
        };
        request.serve(&method).await
    };
    match answer.await {
        Ok(response) => response,
        Err(e) => error_response(&e),
    }
}

/// One request, as its operation sees it.
struct Request<'a> {
    namenode: &'a NameNode,
    /// The client acting as the request's user.
    fs: FileSystem,
    path: String,
    params: &'a Params,
    peer: SocketAddr,
    uri: &'a Uri,
    headers: &'a HeaderMap,
}

impl Request<'_> {
    async fn serve(&self, method: &Method) -> Result<Response> {
        let (fs, path, params) = (&self.fs, self.path.as_str(), self.params);
        let op = params.op()?;
        Ok(match (method.clone(), op.as_str()) {
            (Method::GET, "OPEN") => {
                let offset = params.number::<u64>("offset")?.unwrap_or(0);
                let worker = (self.namenode.datanodes)
                    .for_read(path, offset, self.peer.ip())
                    .await?;
                self.redirect(&worker)?
            }
            (Method::GET, "GETFILESTATUS") => json(&FileStatusBody {
                file_status: HdfsFileStatus::new(&fs.stat(path).await?, ""),
            }),
            (Method::GET, "LISTSTATUS") => json(&self.list_status().await?),
            (Method::GET, "LISTSTATUS_BATCH") => json(&self.list_batch().await?),
            (Method::GET, "GETCONTENTSUMMARY") => {
                json(&ContentSummaryBody::from(&fs.content_summary(path).await?))
            }
            (Method::GET, "GETFILECHECKSUM") => {
                json(&FileChecksumBody::from(&fs.md5_md5_crc32c(path).await?))
            }
            (Method::GET, "GETFILEBLOCKLOCATIONS") => {
                let offset = params.number::<u64>("offset")?.unwrap_or(0);
                let length = params.number::<u64>("length")?.unwrap_or(u64::MAX);
                let located = fs.block_locations(path, offset, length).await?;
                json(&BlockLocationsBody::new(&located.blocks))
            }
            (Method::GET, "GETHOMEDIRECTORY") => json(&PathBody {
                path: format!("/user/{}", fs.user()),
            }),
            (Method::GET, "GETTRASHROOT") => json(&PathBody {
                path: format!("/user/{}/.Trash", fs.user()),
            }),
            (Method::GET, "GETSERVERDEFAULTS") => {
                json(&ServerDefaultsBody::from(&fs.server_defaults().await?))
            }
            (Method::PUT, "CREATE") => {
                let worker = self.namenode.datanodes.for_write(self.peer.ip()).await?;
                self.redirect(&worker)?
            }
            (Method::PUT, "MKDIRS") => {
                let mode = params.permission()?.unwrap_or(0);
                fs.mkdirs_with_mode(path, true, mode).await?;
                json(&BooleanBody { boolean: true })
            }
            (Method::PUT, "RENAME") => self.rename().await?,
            (Method::PUT, "SETREPLICATION") => json(&BooleanBody {
                boolean: self.set_replication().await?,
            }),
            (Method::PUT, "SETPERMISSION") => {
                fs.set_permission(path, params.permission()?.unwrap_or(0o755))
                    .await?;
                empty()
            }
            (Method::PUT, "SETOWNER") => {
                let owner = params.get("owner").unwrap_or_default();
                let group = params.get("group").unwrap_or_default();
                if owner.is_empty() && group.is_empty() {
                    return Err(Error::InvalidArgument(
                        "Both owner and group are empty.".to_string(),
                    ));
                }
                fs.set_owner(path, owner, group).await?;
                empty()
            }
            (Method::PUT, "SETTIMES") => {
                let modification = params.number::<i64>("modificationtime")?.unwrap_or(-1);
                let access = params.number::<i64>("accesstime")?.unwrap_or(-1);
                fs.set_times(path, modification, access).await?;
                empty()
            }
            (Method::POST, "APPEND") => {
                let worker = (self.namenode.datanodes)
                    .for_append(path, self.peer.ip())
                    .await?;
                self.redirect(&worker)?
            }
            (Method::POST, "TRUNCATE") => {
                fs.truncate(path, params.required_number("newlength")?)
                    .await?;
                // Done at once: the kept part of a cut block is in place already.
                json(&BooleanBody { boolean: true })
            }
            (Method::POST, "CONCAT") => {
                let sources: Vec<&str> = (params.required("sources")?.split(','))
                    .filter(|s| !s.is_empty())
                    .collect();
                fs.concat(path, &sources).await?;
                empty()
            }
            (Method::DELETE, "DELETE") => {
                let recursive = params.flag("recursive")?.unwrap_or(false);
                json(&BooleanBody {
                    boolean: fs.delete(path, recursive).await?,
                })
            }
            (method, op) => return Err(unsupported(&method, op)),
        })
    }

    /// The first step of OPEN, CREATE and APPEND: the same request, sent to `worker`.
    fn redirect(&self, worker: &WorkerAddress) -> Result<Response> {
        let mut query = self
            .params
            .query_without(&["noredirect", "namenoderpcaddress"]);
        if let Some(host) = self.headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
            let mut extra = form_urlencoded::Serializer::new(String::new());
            extra.append_pair("namenoderpcaddress", host);
            query = format!("{query}&{}", extra.finish());
        }
        let location = format!("http://{}{}?{query}", worker.http_address, self.uri.path());
        if self.params.flag("noredirect")? == Some(true) {
            return Ok(json(&LocationBody { location }));
        }
        Ok((
            StatusCode::TEMPORARY_REDIRECT,
            [
                (header::LOCATION, location),
                (header::CONTENT_LENGTH, "0".to_string()),
            ],
        )
            .into_response())
    }

    /// LISTSTATUS: every entry of a directory, or the file itself.
    async fn list_status(&self) -> Result<FileStatusesBody> {
        let entries = self.fs.list(&self.path).collect().await?;
        Ok(self.statuses(&entries))
    }

    /// LISTSTATUS_BATCH: the entries after `startAfter`, a batch at a time.
    async fn list_batch(&self) -> Result<DirectoryListingBody> {
        let after = self.params.get("startafter").unwrap_or_default();
        let (entries, remaining) = self
            .fs
            .list_remaining(&self.path, after, LIST_BATCH)
            .await?;
        Ok(DirectoryListingBody {
            directory_listing: DirectoryListing {
                partial_listing: self.statuses(&entries),
                remaining_entries: remaining,
            },
        })
    }

    /// Listing entries in WebHDFS's form: named within the directory, or (a listed file)
    /// with an empty name.
    fn statuses(&self, entries: &[FileStatus]) -> FileStatusesBody {
        let listed_file = entries.len() == 1 && entries[0].path == self.path;
        let file_status = (entries.iter())
            .map(|status| {
                let name = if listed_file && !is_directory(status) {
                    ""
                } else {
                    status.path.rsplit('/').next().unwrap_or_default()
                };
                HdfsFileStatus::new(status, name)
            })
            .collect();
        FileStatusesBody {
            file_statuses: FileStatuses { file_status },
        }
    }

    /// RENAME: as HDFS's `rename`, an existing directory receives the source inside it and a
    /// rename that cannot happen answers false; with `renameoptions=OVERWRITE`, a file
    /// replaces the destination file and failures are errors.
    async fn rename(&self) -> Result<Response> {
        let destination = self.params.required("destination")?;
        if !destination.starts_with('/') {
            return Err(Error::InvalidArgument(format!(
                "Invalid value for webhdfs parameter \"destination\": {destination:?} is not an \
                 absolute path"
            )));
        }
        let options = self.params.get("renameoptions").unwrap_or_default();
        if options
            .split(',')
            .any(|o| o.eq_ignore_ascii_case("OVERWRITE"))
        {
            match self.fs.try_stat(destination).await? {
                Some(_) => self.fs.replace(&self.path, destination, None).await?,
                None => self.fs.rename(&self.path, destination).await?,
            }
            return Ok(empty());
        }
        let target = match self.fs.try_stat(destination).await? {
            Some(status) if is_directory(&status) => {
                let name = self.path.rsplit('/').next().unwrap_or_default();
                format!("{}/{name}", destination.trim_end_matches('/'))
            }
            _ => destination.to_string(),
        };
        let renamed = match self.fs.rename(&self.path, &target).await {
            Ok(()) => true,
            Err(
                Error::NotFound { .. }
                | Error::AlreadyExists { .. }
                | Error::NotADirectory { .. }
                | Error::InvalidOperation { .. },
            ) => false,
            Err(e) => return Err(e),
        };
        Ok(json(&BooleanBody { boolean: renamed }))
    }

    /// SETREPLICATION: false for a directory, as HDFS answers.
    async fn set_replication(&self) -> Result<bool> {
        let status = self.fs.stat(&self.path).await?;
        if is_directory(&status) {
            return Ok(false);
        }
        let replication = match self.params.number::<u32>("replication")? {
            Some(r) => r,
            None => self.fs.server_defaults().await?.replication,
        };
        self.fs.set_replication(&self.path, replication).await?;
        Ok(true)
    }
}
