//! `GET /metrics`: a process's metrics in the Prometheus (OpenMetrics) text format.

use axum::Router;
use axum::http::header;
use axum::routing::get;
use strata_core::metrics::{CONTENT_TYPE, MetricsRegistry};

/// Serves `registry` at `/metrics`.
pub fn metrics_router(registry: MetricsRegistry) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let registry = registry.clone();
            async move { ([(header::CONTENT_TYPE, CONTENT_TYPE)], registry.render()) }
        }),
    )
}
