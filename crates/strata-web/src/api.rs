//! The JSON the status page reads: `/api/cluster` (summary and workers), `/api/unhealthy`
//! (under-replicated, missing and corrupt blocks with their files) and `/api/browse?path=`
//! (a directory's entries, or a file with its blocks and where they are).

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::Arc;
use strata_client::{
    BlockHealth, ClusterSummary, FileStatus, FileSystem, UnhealthyBlock, WorkerAddress,
    WorkerReport, WorkerState, is_directory,
};
use strata_core::Error;

/// Unhealthy blocks the page lists (the counts cover all of them).
const UNHEALTHY_SHOWN: u32 = 500;

/// Directory entries the browser shows.
const ENTRIES_SHOWN: u32 = 1000;

type Fs = Arc<FileSystem>;

/// The API's routes.
pub fn routes(fs: FileSystem) -> Router {
    Router::new()
        .route("/api/cluster", get(cluster))
        .route("/api/unhealthy", get(unhealthy))
        .route("/api/browse", get(browse))
        .with_state(Arc::new(fs))
}

/// An error as JSON, with the HTTP status that fits it.
struct ApiError(Error);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self.0 {
            Error::NotFound { .. } => StatusCode::NOT_FOUND,
            Error::InvalidPath { .. } | Error::InvalidArgument(_) => StatusCode::BAD_REQUEST,
            Error::Unavailable { .. } | Error::SafeMode { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, Json(json!({ "error": self.0.to_string() }))).into_response()
    }
}

type ApiResult = Result<Json<Value>, ApiError>;

async fn cluster(State(fs): State<Fs>) -> ApiResult {
    let report = fs.report().await.map_err(ApiError)?;
    let summary = report.summary.unwrap_or_default();
    Ok(Json(json!({
        "summary": summary_json(&summary),
        "workers": report.workers.iter().map(worker_json).collect::<Vec<_>>(),
    })))
}

/// One word for the cluster's state, worst first.
fn health(s: &ClusterSummary) -> &'static str {
    if s.missing > 0 {
        "MISSING BLOCKS"
    } else if s.corrupt > 0 {
        "CORRUPT BLOCKS"
    } else if s.under_replicated > 0 {
        "UNDER-REPLICATED"
    } else if s.live_workers == 0 {
        "NO WORKERS"
    } else {
        "HEALTHY"
    }
}

fn summary_json(s: &ClusterSummary) -> Value {
    json!({
        "cluster_id": s.cluster_id,
        "health": health(s),
        "capacity": s.capacity,
        "used": s.used,
        "remaining": s.remaining,
        "file_bytes": s.file_bytes,
        "files": s.files,
        "directories": s.directories,
        "blocks": s.blocks,
        "under_replicated": s.under_replicated,
        "missing": s.missing,
        "corrupt": s.corrupt,
        "pending_deletion": s.pending_deletion,
        "safe_mode": s.safe_mode,
        "safe_mode_status": s.safe_mode_status,
        "live_workers": s.live_workers,
        "dead_workers": s.dead_workers,
        "decommissioning_workers": s.decommissioning_workers,
        "decommissioned_workers": s.decommissioned_workers,
    })
}

/// A worker state as the page shows it: `live`, `dead`, `decommissioning`, ...
fn state_name(state: i32) -> String {
    WorkerState::try_from(state)
        .map_or("unknown", |s| s.as_str_name())
        .to_ascii_lowercase()
}

fn worker_json(w: &WorkerReport) -> Value {
    let address = w.address.clone().unwrap_or_default();
    let storage = w.storage.clone().unwrap_or_default();
    json!({
        "id": address.id,
        "host": address.host,
        "rack": address.rack,
        "data_address": address.data_address,
        "http_address": address.http_address,
        "state": state_name(w.state),
        "capacity": storage.capacity,
        "used": storage.used,
        "remaining": storage.remaining,
        "tiers": storage.tiers.iter().map(|t| json!({
            "medium": t.medium,
            "capacity": t.capacity,
            "used": t.used,
            "remaining": t.remaining,
            "dirs": t.dirs,
        })).collect::<Vec<_>>(),
        "blocks": w.block_count,
        "last_heartbeat_ms_ago": w.last_heartbeat_ms_ago,
        "active_operations": w.active_operations,
    })
}

async fn unhealthy(State(fs): State<Fs>) -> ApiResult {
    let list = fs
        .unhealthy_blocks(UNHEALTHY_SHOWN)
        .await
        .map_err(ApiError)?;
    Ok(Json(json!({
        "under_replicated": list.under_replicated,
        "missing": list.missing,
        "corrupt": list.corrupt,
        "blocks": list.blocks.iter().map(unhealthy_json).collect::<Vec<_>>(),
    })))
}

fn unhealthy_json(u: &UnhealthyBlock) -> Value {
    let b = u.block.clone().unwrap_or_default();
    let health = match BlockHealth::try_from(b.health) {
        Ok(BlockHealth::Missing | BlockHealth::Unrecoverable) => "missing",
        Ok(BlockHealth::Corrupt) => "corrupt",
        _ => "under-replicated",
    };
    let ids = |addresses: &[WorkerAddress]| -> Vec<String> {
        addresses.iter().map(|a| a.id.clone()).collect()
    };
    json!({
        "path": u.path,
        "block": b.block.map(|x| x.id).unwrap_or_default(),
        "health": health,
        "expected": b.expected_replicas,
        "ec_policy": b.ec_policy,
        "live": ids(&b.live),
        "corrupt": ids(&b.corrupt),
    })
}

/// The `path` parameter of a query string, `/` when absent.
fn path_parameter(query: Option<String>) -> String {
    query
        .and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "path")
                .map(|(_, v)| v.into_owned())
        })
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "/".to_string())
}

async fn browse(State(fs): State<Fs>, RawQuery(query): RawQuery) -> ApiResult {
    let path = path_parameter(query);
    let status = fs.stat(&path).await.map_err(ApiError)?;
    if is_directory(&status) {
        let (entries, more) = fs
            .list_page(&path, "", ENTRIES_SHOWN)
            .await
            .map_err(ApiError)?;
        return Ok(Json(json!({
            "path": path,
            "directory": true,
            "entries": entries.iter().map(status_json).collect::<Vec<_>>(),
            "more": more,
        })));
    }
    let located = fs
        .block_locations(&path, 0, status.length)
        .await
        .map_err(ApiError)?;
    let blocks: Vec<Value> = located
        .blocks
        .iter()
        .map(|b| {
            let block = b.block.unwrap_or_default();
            json!({
                "id": block.id,
                "generation": block.generation,
                "offset": b.offset,
                "length": block.length,
                "complete": b.complete,
                "locations": b.locations.iter().enumerate().map(|(i, a)| json!({
                    "id": a.id,
                    "host": a.host,
                    "rack": a.rack,
                    "data_address": a.data_address,
                    "index": b.indices.get(i),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(json!({
        "path": path,
        "directory": false,
        "file": status_json(&status),
        "blocks": blocks,
    })))
}

fn status_json(s: &FileStatus) -> Value {
    json!({
        "path": s.path,
        "name": s.path.rsplit('/').next().unwrap_or_default(),
        "directory": is_directory(s),
        "length": s.length,
        "replication": s.replication,
        "block_size": s.block_size,
        "owner": s.owner,
        "group": s.group,
        "mode": format!("{:o}", s.mode),
        "modification_time": s.modification_time,
        "children": s.children,
        "ec_policy": s.ec_policy,
        "under_construction": s.under_construction,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_parameter_is_decoded_and_defaults_to_the_root() {
        assert_eq!(path_parameter(None), "/");
        assert_eq!(path_parameter(Some("path=".to_string())), "/");
        assert_eq!(
            path_parameter(Some("x=1&path=%2Fa%20b%2Fc".to_string())),
            "/a b/c"
        );
    }
}
