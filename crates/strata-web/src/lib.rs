//! What a person or Prometheus looks at: the cluster's status page on the master's HTTP port
//! (summary, workers, unhealthy blocks, a file browser with block locations, a page per
//! worker), its JSON API, and the `/metrics` endpoint of the master and of each worker.
//!
//! The page is one HTML file with a script and a style sheet compiled into the binary; the
//! script reads the JSON API every few seconds and redraws, so it updates without a reload.

mod api;
mod assets;
mod metrics;

pub use metrics::metrics_router;

use axum::Router;
use strata_client::FileSystem;

/// The status page and its JSON API, over a client of the master.
pub fn status_router(fs: FileSystem) -> Router {
    assets::routes().merge(api::routes(fs))
}
