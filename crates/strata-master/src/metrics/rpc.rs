//! Requests and latency of every gRPC method the master serves, measured by a tower layer
//! around the whole server so no service has to remember to count.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;
use strata_core::metrics::{Labels, latency_buckets};
use tonic::codegen::http;

/// The services whose methods are counted by name; anything else counts as `other`.
const SERVICES: [&str; 3] = ["ClientProtocol", "WorkerProtocol", "AdminProtocol"];

type LatencyFamily = Family<Labels, Histogram, fn() -> Histogram>;

/// Counters of gRPC requests, by service, method and status code, and their latency.
#[derive(Debug, Clone)]
pub struct RpcMetrics {
    requests: Family<Labels, Counter>,
    latency: LatencyFamily,
}

impl RpcMetrics {
    /// Empty counters, registered in `registry`.
    pub fn new(registry: &mut Registry) -> RpcMetrics {
        let metrics = RpcMetrics {
            requests: Family::default(),
            latency: Family::new_with_constructor(|| Histogram::new(latency_buckets())),
        };
        registry.register(
            "strata_master_rpc_requests",
            "gRPC requests answered, by service, method and status code",
            metrics.requests.clone(),
        );
        registry.register(
            "strata_master_rpc_latency_seconds",
            "Time from a gRPC request's arrival to its response, by service and method",
            metrics.latency.clone(),
        );
        metrics
    }

    fn record(&self, path: &str, code: tonic::Code, seconds: f64) {
        let (service, method) = method_labels(path, code);
        self.latency
            .get_or_create(&vec![
                ("service", service.clone()),
                ("method", method.clone()),
            ])
            .observe(seconds);
        self.requests
            .get_or_create(&vec![
                ("service", service),
                ("method", method),
                ("code", format!("{code:?}")),
            ])
            .inc();
    }
}

/// `(service, method)` of a request path `/strata.rpc.Service/Method`. Paths naming no service
/// of ours, or a method the service does not have, are `other`, so a stranger cannot grow the
/// label sets without bound.
fn method_labels(path: &str, code: tonic::Code) -> (String, String) {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let service = parts
        .next()
        .and_then(|s| s.strip_prefix("strata.rpc."))
        .filter(|s| SERVICES.contains(s));
    match (service, parts.next()) {
        (Some(service), Some(method)) if code != tonic::Code::Unimplemented => {
            (service.to_string(), method.to_string())
        }
        (Some(service), _) => (service.to_string(), "other".to_string()),
        (None, _) => ("other".to_string(), "other".to_string()),
    }
}

/// The tower layer that wraps the master's gRPC server.
#[derive(Debug, Clone)]
pub struct RpcMetricsLayer(pub RpcMetrics);

impl<S> tower::Layer<S> for RpcMetricsLayer {
    type Service = RpcMetricsService<S>;

    fn layer(&self, inner: S) -> RpcMetricsService<S> {
        RpcMetricsService {
            inner,
            metrics: self.0.clone(),
        }
    }
}

/// A gRPC service whose requests are counted and timed.
#[derive(Debug, Clone)]
pub struct RpcMetricsService<S> {
    inner: S,
    metrics: RpcMetrics,
}

impl<S, B, R> tower::Service<http::Request<B>> for RpcMetricsService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path().to_string();
        let started = Instant::now();
        let metrics = self.metrics.clone();
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await;
            // An error travels in the headers (a "trailers-only" reply); a success carries
            // its status in trailers that follow the body, so no status header means OK.
            let code = match &response {
                Ok(r) => r
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i32>().ok())
                    .map_or(tonic::Code::Ok, tonic::Code::from_i32),
                Err(_) => tonic::Code::Unavailable,
            };
            metrics.record(&path, code, started.elapsed().as_secs_f64());
            response
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_bounded_labels() {
        let ok = tonic::Code::Ok;
        assert_eq!(
            method_labels("/strata.rpc.ClientProtocol/Create", ok),
            ("ClientProtocol".to_string(), "Create".to_string())
        );
        assert_eq!(
            method_labels(
                "/strata.rpc.ClientProtocol/NoSuchMethod",
                tonic::Code::Unimplemented
            ),
            ("ClientProtocol".to_string(), "other".to_string())
        );
        assert_eq!(
            method_labels("/evil.Service/X", tonic::Code::Unimplemented),
            ("other".to_string(), "other".to_string())
        );
        assert_eq!(
            method_labels("garbage", ok),
            ("other".to_string(), "other".to_string())
        );
    }
}
