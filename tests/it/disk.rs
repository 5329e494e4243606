//! The disk-space guard: below `CLOWDER_MIN_FREE_MB` of free space every change answers 507
//! `insufficient_storage` and writes nothing, reads (and their audit entries) go on, and
//! `/health/detailed` and `/metrics` say so; with the normal reserve writes work again.
//!
//! The reserve is set above the disk's real free space (read with statvfs, as the server
//! does) rather than filling a disk: the guard acts on the figure, whatever made it small.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, client_body, expect_json, id_of};

/// A request on `app` with `token` (a session opened before the restart: signing in writes).
fn with_token(app: &TestApp, token: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
    app.anonymous(method, path).bearer_auth(token)
}

async fn get_json(app: &TestApp, token: &str, path: &str) -> Value {
    expect_json(with_token(app, token, Method::GET, path).send().await.unwrap(), StatusCode::OK).await
}

#[tokio::test]
async fn below_the_reserve_changes_answer_507_and_write_nothing_while_reads_go_on() {
    let app = TestApp::signed_in().await;
    let client = id_of(&app.create_client(client_body("Ada", "Lovelace")).await);
    let token = app.token().expect("signed in");
    let dir = app.stop().await;
    let free = clowder_actors::store::disk::free_bytes(dir.path()).expect("statvfs of the data directory");
    // Far above the free space, so other processes writing or deleting meanwhile change nothing.
    let reserve_mb = (free.saturating_mul(2) >> 20) + 1024;

    let full = TestApp::spawn_with(|a| {
        a.data_dir = dir.path().into();
        a.operations.min_free_mb = reserve_mb;
    })
    .await;
    let before = get_json(&full, &token, "/health/detailed").await;
    let seq = before["store"]["last_event_seq"].as_u64().unwrap();
    assert_eq!(before["disk"]["status"], "unavailable", "{before}");
    assert_eq!(before["disk"]["reserve_bytes"], reserve_mb << 20);
    assert!(before["disk"]["free_bytes"].as_u64().unwrap() > 0);
    assert_eq!(before["status"], "degraded");
    let component = before["components"].as_array().unwrap().iter().find(|c| c["name"] == "disk").unwrap();
    assert_eq!(component["ok"], false, "{component}");

    // Every kind of change is refused with the one answer…
    let changes = [
        (Method::POST, "/api/clients".to_owned(), client_body("Grace", "Hopper")),
        (Method::PATCH, format!("/api/clients/{client}"), json!({"first_name": "Augusta"})),
        (Method::POST, "/api/patients".to_owned(), json!({"client_id": client, "name": "Mittens"})),
    ];
    for (method, path, body) in &changes {
        let res = with_token(&full, &token, method.clone(), path)
            .header("Idempotency-Key", format!("disk-{method}-{path}"))
            .json(body)
            .send()
            .await
            .unwrap();
        let error = assert_error(res, StatusCode::INSUFFICIENT_STORAGE, "insufficient_storage", None).await;
        let message = error["message"].as_str().unwrap();
        assert!(message.contains("disk is nearly full") && message.contains("Nothing was saved"), "{message}");
    }
    // …signing in too (it opens a session), while the open session keeps reading.
    let res = full.login("admin", &full.admin_password).await;
    assert_error(res, StatusCode::INSUFFICIENT_STORAGE, "insufficient_storage", None).await;
    let one = get_json(&full, &token, &format!("/api/clients/{client}")).await;
    assert_eq!(one["first_name"], "Ada");
    let list = get_json(&full, &token, "/api/clients").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "nothing new: {list}");
    let patients = get_json(&full, &token, "/api/patients").await;
    assert!(patients["items"].as_array().unwrap().is_empty(), "{patients}");
    // Reads are still audited.
    let trail = get_json(&full, &token, &format!("/api/audit?record_id={client}&action=client.read")).await;
    assert_eq!(trail["items"].as_array().unwrap().len(), 1, "{trail}");
    let after = get_json(&full, &token, "/health/detailed").await;
    assert_eq!(after["store"]["last_event_seq"].as_u64().unwrap(), seq, "no event was appended");
    let metrics = full.anonymous(Method::GET, "/metrics").send().await.unwrap().text().await.unwrap();
    let gauge = metrics.lines().find(|l| l.starts_with("clowder_disk_free_bytes ")).expect("the disk gauge");
    assert!(gauge.split(' ').nth(1).unwrap().parse::<f64>().unwrap() > 0.0, "{gauge}");
    full.stop().await;

    // With the normal reserve the same requests (same keys: none was consumed) work.
    let normal = TestApp::spawn_with(|a| a.data_dir = dir.path().into()).await;
    let health = get_json(&normal, &token, "/health/detailed").await;
    assert_eq!(health["disk"]["status"], "ok", "{health}");
    assert_eq!(health["disk"]["reserve_bytes"], 512 << 20);
    for (method, path, body) in &changes {
        let res = with_token(&normal, &token, method.clone(), path)
            .header("Idempotency-Key", format!("disk-{method}-{path}"))
            .json(body)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{method} {path}: {}", res.status());
    }
    let list = get_json(&normal, &token, "/api/clients").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
}
