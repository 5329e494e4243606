//! Durable jobs over HTTP (list, filters, read, retry, cancel, 404s, 422s) and the crash
//! proof: the real binary runs a burst of 2,000 `selftest` jobs (`CLOWDER_JOBS_SELFTEST`)
//! while it is SIGKILLed at random moments; at the end every job succeeded and its one
//! store-side effect (an audit entry committed with the success) exists exactly once.
//!
//! The kill moments are random (the seed is printed; replay with `CLOWDER_JOBS_SEED`);
//! waiting a random time before a kill is the point of the test, not a wait for something.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, UNKNOWN_ID, assert_error, expect_json, id_of};

#[tokio::test]
async fn jobs_are_listed_filtered_read_retried_and_cancelled_over_http() {
    let app = TestApp::spawn_with(|a| a.jobs.jobs_selftest = 5).await;
    app.login_admin().await;
    let done =
        app.poll_json("/api/jobs?kind=selftest&state=succeeded", |v| v["items"].as_array().unwrap().len() == 5).await;
    let job = &done["items"][0];
    assert_eq!(job["attempts"], 1);
    assert!(job["finished_at"].is_string());
    // Newest first, paged with the cursor.
    let first = app.get_json("/api/jobs?kind=selftest&limit=2").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let next = first["next_cursor"].as_str().unwrap();
    let second = app.get_json(&format!("/api/jobs?kind=selftest&limit=2&cursor={next}")).await;
    assert!(id_of(&first["items"][1]) > id_of(&second["items"][0]));
    let all = app.walk("/api/jobs?kind=selftest", 2).await;
    assert_eq!(all.len(), 5);

    // The daily clean-up waits for 03:30 in the clinic's zone.
    let cleanup = app.get_json("/api/jobs?kind=daily_cleanup&state=queued").await;
    assert_eq!(cleanup["items"].as_array().unwrap().len(), 1, "{cleanup}");
    let cleanup_id = id_of(&cleanup["items"][0]);
    assert!(cleanup["items"][0]["idempotency_key"].as_str().unwrap().starts_with("recurring:daily_cleanup:"));

    let one = expect_json(app.get(&format!("/api/jobs/{}", id_of(job))).await, StatusCode::OK).await;
    assert_eq!(one["kind"], "selftest");

    // Succeeded jobs can be neither retried nor cancelled.
    let path = format!("/api/jobs/{}/retry", id_of(job));
    assert_error(app.post_json(&path, &json!({})).await, StatusCode::CONFLICT, "invalid_transition", None).await;
    let path = format!("/api/jobs/{}/cancel", id_of(job));
    assert_error(app.post_json(&path, &json!({})).await, StatusCode::CONFLICT, "invalid_transition", None).await;

    // A queued job is cancelled once; then it is neither cancellable nor retryable.
    let path = format!("/api/jobs/{cleanup_id}/cancel");
    let cancelled = expect_json(app.post_json(&path, &json!({})).await, StatusCode::OK).await;
    assert_eq!(cancelled["state"], "cancelled");
    assert_error(app.post_json(&path, &json!({})).await, StatusCode::CONFLICT, "invalid_transition", None).await;
    let path = format!("/api/jobs/{cleanup_id}/retry");
    assert_error(app.post_json(&path, &json!({})).await, StatusCode::CONFLICT, "invalid_transition", None).await;
    let listed = app.get_json("/api/jobs?state=cancelled").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);

    // 404s and 422s.
    for path in [format!("/api/jobs/{UNKNOWN_ID}"), "/api/jobs/nope".to_owned()] {
        assert_error(app.get(&path).await, StatusCode::NOT_FOUND, "job_not_found", None).await;
    }
    let path = format!("/api/jobs/{UNKNOWN_ID}/retry");
    assert_error(app.post_json(&path, &json!({})).await, StatusCode::NOT_FOUND, "job_not_found", None).await;
    let path = format!("/api/jobs/{UNKNOWN_ID}/cancel");
    assert_error(app.post_json(&path, &json!({})).await, StatusCode::NOT_FOUND, "job_not_found", None).await;
    for (query, field) in [
        ("state=done", "state"),
        ("kind=Bad-Kind", "kind"),
        ("subject=appointment", "subject"),
        ("cursor=zzz", "cursor"),
        ("limit=0", "limit"),
    ] {
        let resp = app.get(&format!("/api/jobs?{query}")).await;
        assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
    }
    // Every transition is in the trail, by the system.
    let trail = app.get_json(&format!("/api/audit?record_id={}&limit=50", id_of(job))).await;
    let actions: Vec<&str> = trail["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for a in ["job.schedule", "job.start", "job.selftest_effect", "job.succeeded"] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
}

const JOBS: usize = 2000;
const KILLS: usize = 12;

use crate::durability::{Rng, Server, login, seed, start_with};

async fn start(dir: &std::path::Path) -> Server {
    start_with(dir, &[("CLOWDER_JOBS_SELFTEST", JOBS.to_string())]).await
}

/// Every item of a list, following `next_cursor`.
async fn walk(http: &reqwest::Client, base: &str, token: &str, path: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let url = format!("{base}{path}&limit=200&cursor={cursor}");
        let page: Value = http.get(url).bearer_auth(token).send().await.unwrap().json().await.unwrap();
        out.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => return out,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_job_succeeds_exactly_once_through_sigkills() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed("CLOWDER_JOBS_SEED");
    eprintln!("jobs crash seed: {seed} (replay with CLOWDER_JOBS_SEED={seed})");
    let mut rng = Rng(seed);
    // A plain-HTTP client still needs rustls' provider when reqwest is built with TLS.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    for _ in 0..KILLS {
        let mut server = start(dir.path()).await;
        // A random moment while the burst runs (the jobs take a few seconds in all).
        tokio::time::sleep(Duration::from_millis(rng.below(400))).await;
        server.child.start_kill().expect("SIGKILL");
        server.child.wait().await.expect("the killed server is reaped");
    }
    // The last start runs what is left to the end.
    let mut server = start(dir.path()).await;
    let token = login(&http, &server.base).await;
    let deadline = Instant::now() + Duration::from_secs(300);
    let jobs = loop {
        let jobs = walk(&http, &server.base, &token, "/api/jobs?kind=selftest").await;
        if jobs.len() == JOBS && jobs.iter().all(|j| j["state"] == "succeeded") {
            break jobs;
        }
        assert!(Instant::now() < deadline, "jobs still not all succeeded after 300 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let interrupted = jobs.iter().filter(|j| j["attempts"].as_u64() > Some(1)).count();
    eprintln!("{interrupted} jobs were interrupted by a kill and run again");
    // Each job's effect: exactly one entry, none missing.
    let effects = walk(&http, &server.base, &token, "/api/audit?action=job.selftest_effect").await;
    let mut per_job: HashMap<String, usize> = HashMap::new();
    for e in &effects {
        *per_job.entry(e["record_id"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    for j in &jobs {
        assert_eq!(per_job.get(&id_of(j)).copied(), Some(1), "effects of job {}", j["idempotency_key"]);
    }
    assert_eq!(effects.len(), JOBS, "no effect without its job");
    server.child.start_kill().expect("SIGKILL");
    let _ = server.child.wait().await;
}
