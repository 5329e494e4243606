//! `/api/problems` and a cat's problem list: types and statuses, the resolution rules, the
//! history in the audit trail, the active problem list on the banner for readers of the
//! medical record only, safe retries, and a receptionist refused.

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::access::staff_user;
use crate::helpers::{TestApp, UNKNOWN_ID, assert_error, expect_json, id_of, page_ids};

async fn cat(app: &TestApp) -> String {
    let owner = app.some_client("Jane", "Doe").await;
    app.some_patient(&owner, "Miso").await
}

async fn add(app: &TestApp, body: Value) -> Value {
    let resp = app.post_json("/api/problems", &body).await;
    assert!(resp.headers().contains_key(header::LOCATION) || resp.status() != StatusCode::CREATED);
    expect_json(resp, StatusCode::CREATED).await
}

#[tokio::test]
async fn a_problem_is_added_resolved_and_reopened_with_its_dates_checked() {
    let app = TestApp::signed_in().await;
    let miso = cat(&app).await;
    let p = add(
        &app,
        json!({"patient_id": miso, "name": "Upper respiratory infection", "type": "primary", "severity": "mild",
               "onset": "2025-11-01", "code": "URI", "code_system": "venom"}),
    )
    .await;
    assert_eq!((p["status"].as_str(), p["type"].as_str()), (Some("active"), Some("primary")));
    let path = format!("/api/problems/{}", id_of(&p));

    assert_error(
        app.patch_json(&path, &json!({"status": "resolved"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("resolved_on"),
    )
    .await;
    assert_error(
        app.patch_json(&path, &json!({"status": "resolved", "resolved_on": "2025-10-01"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("resolved_on"),
    )
    .await;
    let done = expect_json(
        app.patch_json(&path, &json!({"status": "resolved", "resolved_on": "2025-11-20"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(done["resolved_on"], "2025-11-20");
    let again = expect_json(app.patch_json(&path, &json!({"status": "active"})).await, StatusCode::OK).await;
    assert_eq!(again["resolved_on"], Value::Null);

    let bad = [
        (json!({"patient_id": miso, "name": "x".repeat(1_000_000)}), "name"),
        (json!({"patient_id": miso, "name": "CKD", "notes": "x".repeat(1_000_000)}), "notes"),
        (json!({"patient_id": miso, "name": "CKD", "onset": "2999-01-01"}), "onset"),
    ];
    for (body, field) in bad {
        assert_error(
            app.post_json("/api/problems", &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some(field),
        )
        .await;
    }
    assert_error(
        app.post_json("/api/problems", &json!({"patient_id": UNKNOWN_ID, "name": "CKD"})).await,
        StatusCode::NOT_FOUND,
        "patient_not_found",
        None,
    )
    .await;
    assert_error(
        app.get(&format!("/api/problems/{UNKNOWN_ID}")).await,
        StatusCode::NOT_FOUND,
        "problem_not_found",
        None,
    )
    .await;

    // The history: every change is in the audit trail with the fields it changed.
    let audit = app
        .poll_json(&format!("/api/audit?record_id={}", id_of(&p)), |a| a["items"].as_array().unwrap().len() >= 3)
        .await;
    let updates: Vec<&Value> =
        audit["items"].as_array().unwrap().iter().filter(|e| e["action"] == "problem.update").collect();
    assert_eq!(updates[0]["detail"]["changed"], json!(["status", "resolved_on"]));
}

#[tokio::test]
async fn the_active_problem_list_is_on_the_banner_for_record_readers_only() {
    let app = TestApp::signed_in().await;
    let miso = cat(&app).await;
    add(
        &app,
        json!({"patient_id": miso, "name": "Chronic kidney disease", "status": "chronic", "severity": "moderate"}),
    )
    .await;
    add(&app, json!({"patient_id": miso, "name": "Hyperthyroidism", "type": "rule_out"})).await;
    add(&app, json!({"patient_id": miso, "name": "Ear mites", "status": "resolved", "resolved_on": "2025-01-01"}))
        .await;

    let current = app.get_json(&format!("/api/patients/{miso}/problems?status=current")).await;
    let names: Vec<&str> = current["items"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Hyperthyroidism", "Chronic kidney disease"], "newest first, resolved left out");
    assert_eq!(page_ids(&app.get_json(&format!("/api/patients/{miso}/problems")).await).len(), 3);
    assert_error(
        app.get(&format!("/api/patients/{miso}/problems?status=gone")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("status"),
    )
    .await;

    let vet = staff_user(&app, "vera", &["veterinarian"]).await;
    let html = app
        .anonymous(Method::GET, &format!("/patients/{miso}"))
        .bearer_auth(&vet)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(r#"<ul id="problems" class="problems""#), "{html}");
    assert!(html.contains("<li>Chronic kidney disease (chronic, moderate)</li>"));
    assert!(html.contains("<li>Hyperthyroidism (rule-out)</li>"));
    assert!(!html.contains("Ear mites"), "a resolved problem is not on the banner");

    let front = staff_user(&app, "rita", &["receptionist"]).await;
    let resp = app.anonymous(Method::GET, &format!("/patients/{miso}")).bearer_auth(&front).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let html = resp.text().await.unwrap();
    assert!(!html.contains("Chronic kidney disease") && !html.contains(r#"id="problems""#));
    let resp =
        app.anonymous(Method::GET, &format!("/api/patients/{miso}/problems")).bearer_auth(&front).send().await.unwrap();
    assert_error(resp, StatusCode::FORBIDDEN, "forbidden", None).await;
    let resp = app
        .anonymous(Method::POST, "/api/problems")
        .bearer_auth(&front)
        .json(&json!({"patient_id": miso, "name": "Obesity"}))
        .send()
        .await
        .unwrap();
    assert_error(resp, StatusCode::FORBIDDEN, "forbidden", None).await;
}

#[tokio::test]
async fn an_idempotency_key_replay_adds_the_problem_once() {
    let app = TestApp::signed_in().await;
    let miso = cat(&app).await;
    let body = json!({"patient_id": miso, "name": "Gingivitis"});
    let send =
        || app.request(Method::POST, "/api/problems").header("Idempotency-Key", "problem-retry-1").json(&body).send();
    let first: Value = send().await.unwrap().json().await.unwrap();
    let again = send().await.unwrap();
    assert_eq!(
        (again.status(), again.headers()["idempotent-replayed"].to_str().unwrap()),
        (StatusCode::CREATED, "true")
    );
    assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"]);
    assert_eq!(page_ids(&app.get_json(&format!("/api/patients/{miso}/problems")).await), [id_of(&first)]);
}
