//! The deployment files against the real server: every `clowder_*` metric that the
//! Prometheus alert rules (`ops/deploy/prometheus/clowder-alerts.yml`) and the Grafana
//! dashboard (`ops/deploy/grafana/clowder-dashboard.json`) query is one `/metrics` exposes.
//! The files' other checks (promtool, shape, workflows) are in `scripts/check-ops`.

use std::collections::BTreeSet;
use std::path::Path;

use crate::helpers::TestApp;

const FILES: [&str; 2] = ["ops/deploy/prometheus/clowder-alerts.yml", "ops/deploy/grafana/clowder-dashboard.json"];

/// Metrics the files are expected to use, by name as queried. Listed so that a file that
/// stops naming one (or a scan that finds nothing) fails here too, not only a missing family.
const EXPECTED: &[&str] = &[
    "clowder_http_requests_total",
    "clowder_http_request_duration_seconds_bucket",
    "clowder_store_commit_seconds_bucket",
    "clowder_store_commit_batch_size_bucket",
    "clowder_store_commit_failures_total",
    "clowder_actors_active",
    "clowder_actor_mailbox_depth",
    "clowder_actor_restarts_total",
    "clowder_actor_rejected_total",
    "clowder_search_lag_events",
    "clowder_process_resident_memory_bytes",
    "clowder_backup_last_success_timestamp_seconds",
    "clowder_backup_last_verified_timestamp_seconds",
    "clowder_backup_failures_total",
    "clowder_backup_bytes_total",
    "clowder_backup_duration_seconds_sum",
    "clowder_disk_free_bytes",
];

/// Every `clowder_…` metric name in `text` (lower case, digits and `_`, not preceded by
/// another name character, so `x_clowder_y` or a path does not count).
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = text.as_bytes();
    let name_byte = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_';
    let mut from = 0;
    while let Some(pos) = text[from..].find("clowder_") {
        let start = from + pos;
        let mut end = start + "clowder_".len();
        while end < bytes.len() && name_byte(bytes[end]) {
            end += 1;
        }
        let named = end > start + "clowder_".len();
        if named && (start == 0 || !(name_byte(bytes[start - 1]) || bytes[start - 1].is_ascii_alphabetic())) {
            names.insert(text[start..end].to_owned());
        }
        from = end;
    }
    names
}

/// The sample names a Prometheus scraper can query, from the exposition's `# TYPE` lines
/// (so a family with no sample yet, such as a failure counter by kind, still counts):
/// counters as `_total`, histograms as `_bucket`, `_sum` and `_count`.
fn exposed_names(exposition: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in exposition.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else { continue };
        let mut parts = rest.split_whitespace();
        let (Some(name), Some(kind)) = (parts.next(), parts.next()) else { continue };
        match kind {
            "counter" => {
                names.insert(format!("{}_total", name.trim_end_matches("_total")));
            }
            "histogram" => {
                for suffix in ["_bucket", "_sum", "_count"] {
                    names.insert(format!("{name}{suffix}"));
                }
            }
            _ => {
                names.insert(name.to_owned());
            }
        }
    }
    names
}

#[test]
fn metric_names_are_found_in_text() {
    let found = metric_names(
        r#"rate(clowder_http_requests_total{x="CLOWDER_LOG"}[5m]) / x_clowder_no + "clowder_disk_free_bytes""#,
    );
    assert_eq!(found.into_iter().collect::<Vec<_>>(), ["clowder_disk_free_bytes", "clowder_http_requests_total"]);
    let exposed = exposed_names(
        "# TYPE clowder_store_commits counter\n# TYPE clowder_store_commit_seconds histogram\n# TYPE clowder_search_lag_events gauge\n",
    );
    assert!(exposed.contains("clowder_store_commits_total"));
    assert!(exposed.contains("clowder_store_commit_seconds_bucket"));
    assert!(exposed.contains("clowder_search_lag_events"));
}

#[tokio::test]
async fn every_metric_the_alert_rules_and_the_dashboard_query_is_exposed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut used = BTreeSet::new();
    for file in FILES {
        let text = std::fs::read_to_string(root.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let names = metric_names(&text);
        assert!(!names.is_empty(), "{file} names no clowder_ metric");
        used.extend(names);
    }
    let not_used: Vec<_> = EXPECTED.iter().filter(|n| !used.contains(**n)).collect();
    assert!(not_used.is_empty(), "neither file queries {not_used:?}");

    let app = TestApp::spawn().await;
    // One request so the HTTP families have samples too (they are exposed either way).
    app.get("/health/ready").await;
    let exposed = exposed_names(&app.metrics().await);
    let missing: Vec<_> = used.iter().filter(|n| !exposed.contains(*n)).collect();
    assert!(missing.is_empty(), "the ops files query metrics that /metrics does not expose: {missing:?}");
}
