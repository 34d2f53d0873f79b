//! What the master and the workers share to expose Prometheus metrics: a registry that a
//! `/metrics` handler renders as text, and [`Samples`], the writer a scrape-time collector uses
//! for figures read off live state (worker counts, capacities, queue lengths).

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use std::sync::Arc;

/// The Content-Type of [`MetricsRegistry::render`]'s text (OpenMetrics, which Prometheus reads).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Every metric of one process, ready to be rendered for a scrape.
#[derive(Debug, Clone)]
pub struct MetricsRegistry(Arc<Registry>);

impl MetricsRegistry {
    /// Wraps a filled registry.
    pub fn new(registry: Registry) -> MetricsRegistry {
        MetricsRegistry(Arc::new(registry))
    }

    /// The metrics in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.0).is_err() {
            // A collector gave up half-way: end the text so a scraper still reads what came.
            text.push_str("# EOF\n");
        }
        text
    }
}

/// Label pairs of one sample.
pub type Labels = Vec<(&'static str, String)>;

/// Writes figures read at scrape time: single values and labelled families.
pub struct Samples<'a, 'b> {
    encoder: &'a mut DescriptorEncoder<'b>,
}

impl<'a, 'b> Samples<'a, 'b> {
    /// A writer into a collector's encoder.
    pub fn new(encoder: &'a mut DescriptorEncoder<'b>) -> Samples<'a, 'b> {
        Samples { encoder }
    }

    /// One gauge without labels.
    pub fn gauge(&mut self, name: &str, help: &str, value: f64) -> std::fmt::Result {
        let metric = ConstGauge::new(value);
        metric.encode(
            self.encoder
                .encode_descriptor(name, help, None, MetricType::Gauge)?,
        )
    }

    /// One counter without labels (`_total` is appended to `name`).
    pub fn counter(&mut self, name: &str, help: &str, value: u64) -> std::fmt::Result {
        let metric = ConstCounter::new(value);
        metric.encode(
            self.encoder
                .encode_descriptor(name, help, None, MetricType::Counter)?,
        )
    }

    /// A gauge with one sample per label set.
    pub fn gauges(
        &mut self,
        name: &str,
        help: &str,
        samples: impl IntoIterator<Item = (Labels, f64)>,
    ) -> std::fmt::Result {
        let mut family = self
            .encoder
            .encode_descriptor(name, help, None, MetricType::Gauge)?;
        for (labels, value) in samples {
            ConstGauge::new(value).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }

    /// A counter with one sample per label set.
    pub fn counters(
        &mut self,
        name: &str,
        help: &str,
        samples: impl IntoIterator<Item = (Labels, u64)>,
    ) -> std::fmt::Result {
        let mut family = self
            .encoder
            .encode_descriptor(name, help, None, MetricType::Counter)?;
        for (labels, value) in samples {
            ConstCounter::new(value).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

/// Histogram buckets for durations from 50 µs to about 13 s, in seconds.
pub fn latency_buckets() -> impl Iterator<Item = f64> {
    prometheus_client::metrics::histogram::exponential_buckets(0.000_05, 2.0, 19)
}

/// Histogram buckets for counts from 1 to 4096.
pub fn count_buckets() -> impl Iterator<Item = f64> {
    prometheus_client::metrics::histogram::exponential_buckets(1.0, 2.0, 13)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::collector::Collector;

    #[derive(Debug)]
    struct Fixed;

    impl Collector for Fixed {
        fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
            let mut samples = Samples::new(&mut encoder);
            samples.gauge("strata_test_level", "A level.", 2.5)?;
            samples.counter("strata_test_events", "Events.", 7)?;
            samples.gauges(
                "strata_test_tier_bytes",
                "Bytes per tier.",
                [
                    (vec![("tier", "MEM".to_string())], 1.0),
                    (vec![("tier", "HDD".to_string())], 3.0),
                ],
            )
        }
    }

    #[test]
    fn collected_samples_render_as_openmetrics_text() {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Fixed));
        let text = MetricsRegistry::new(registry).render();
        assert!(text.contains("# TYPE strata_test_level gauge\nstrata_test_level 2.5\n"));
        assert!(text.contains("strata_test_events_total 7\n"));
        assert!(text.contains("strata_test_tier_bytes{tier=\"MEM\"} 1.0\n"));
        assert!(text.contains("strata_test_tier_bytes{tier=\"HDD\"} 3.0\n"));
        assert!(text.ends_with("# EOF\n"));
    }
}
