//! The application's Prometheus registry: HTTP request figures recorded by `web`, plus the
//! actor and store figures recorded by `actors`. One registry per running server (no global
//! recorder), rendered as Prometheus text at `/metrics`.

use clowder_actors::System;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The route template (`/api/clients/{id}`), never the raw path, so ids do not explode
    /// the label space; `unmatched` for unknown routes.
    pub route: String,
    pub status: u16,
}

fn latency_histogram() -> Histogram {
    // 50 µs … ~30 s
    Histogram::new(exponential_buckets(0.000_05, 2.0, 20))
}

/// HTTP figures.
#[derive(Clone)]
pub struct HttpMetrics {
    pub requests: Family<RequestLabels, Counter>,
    pub latency_seconds: Family<RequestLabels, Histogram, fn() -> Histogram>,
}

impl HttpMetrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let labels = RequestLabels { method: method.to_owned(), route: route.to_owned(), status };
        self.requests.get_or_create(&labels).inc();
        self.latency_seconds.get_or_create(&labels).observe(seconds);
    }
}

/// Everything `/metrics` shows.
pub struct Metrics {
    registry: Registry,
    pub http: HttpMetrics,
    memory: Gauge,
    last_seq: Gauge,
    search_documents: Gauge,
    search_lag: Gauge,
    /// The backup figures, recorded by `backup::Backups`.
    pub backup: crate::backup::BackupMetrics,
    disk_free: Gauge,
}

impl Metrics {
    pub fn new(system: &System) -> Self {
        let mut registry = Registry::default();
        let http = HttpMetrics {
            requests: Family::default(),
            latency_seconds: Family::new_with_constructor(latency_histogram),
        };
        registry.register("clowder_http_requests", "HTTP requests by route and status", http.requests.clone());
        registry.register(
            "clowder_http_request_duration_seconds",
            "HTTP request latency by route and status",
            http.latency_seconds.clone(),
        );
        system.ctx.metrics.register(&mut registry);
        system.store_metrics.register(&mut registry);
        system.document_files.metrics().register(&mut registry);
        let memory = Gauge::default();
        registry.register("clowder_process_resident_memory_bytes", "Resident set size", memory.clone());
        let last_seq = Gauge::default();
        registry.register("clowder_event_log_last_seq", "Sequence number of the newest event", last_seq.clone());
        let search_documents = Gauge::default();
        registry.register("clowder_search_documents", "Documents in the search index", search_documents.clone());
        let search_lag = Gauge::default();
        registry.register(
            "clowder_search_lag_events",
            "Events committed to the store that the search index does not reflect yet",
            search_lag.clone(),
        );
        let backup = crate::backup::BackupMetrics::default();
        backup.register(&mut registry);
        let disk_free = Gauge::default();
        registry.register(
            "clowder_disk_free_bytes",
            "Free bytes of the data directory's filesystem (below CLOWDER_MIN_FREE_MB changes are refused)",
            disk_free.clone(),
        );
        Self { registry, http, memory, last_seq, search_documents, search_lag, disk_free, backup }
    }

    /// Prometheus text exposition.
    pub fn render(&self, system: &System) -> String {
        if let Some(rss) = crate::health::resident_memory_bytes() {
            self.memory.set(rss as i64);
        }
        let last_seq = system.store().last_seq();
        self.last_seq.set(last_seq as i64);
        self.search_documents.set(system.search.documents() as i64);
        self.search_lag.set(last_seq.saturating_sub(system.search.indexed_seq()) as i64);
        if let Some(free) = system.store().disk().status().free_bytes {
            self.disk_free.set(i64::try_from(free).unwrap_or(i64::MAX));
        }
        let mut out = String::with_capacity(16 * 1024);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
