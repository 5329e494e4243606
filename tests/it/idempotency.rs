//! Safe retries with `Idempotency-Key`: a hundred identical bookings with one key make one
//! appointment; a retry replays the first answer (even after a restart) and writes nothing;
//! a key reused for another request, or a malformed key, is refused naming the header; a
//! request that wrote nothing leaves its key free. Expiry is unit-tested in
//! `actors/src/idempotency.rs` (it needs a manual clock).

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::calendar::{Clinic, DAY};
use crate::helpers::{TestApp, assert_error, client_body, expect_json};

const HEADER: &str = "Idempotency-Key";

async fn post(app: &TestApp, path: &str, body: &Value, key: &str) -> Response {
    app.request(Method::POST, path).header(HEADER, key).json(body).send().await.expect("a response")
}

fn replayed(res: &Response) -> bool {
    res.headers().get("idempotent-replayed").is_some_and(|v| v == "true")
}

async fn clients_named(app: &TestApp, last: &str) -> usize {
    app.get_json(&format!("/api/clients?name={last}")).await["items"].as_array().expect("items").len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_identical_bookings_with_one_key_make_one_appointment() {
    let c = Clinic::new().await;
    let body = c.wellness(&format!("{DAY}T09:00:00-05:00"));
    let url = c.app.url("/api/appointments");
    let token = c.app.token().expect("signed in with a bearer token");
    let http = reqwest::Client::new();
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (http, url, token, body) = (http.clone(), url.clone(), token.clone(), body.clone());
            tokio::spawn(async move {
                let res = http.post(&url).bearer_auth(token).header(HEADER, "book-once-7f3a").json(&body).send();
                let res = res.await.unwrap();
                let replayed = replayed(&res);
                (res.status(), replayed, res.text().await.unwrap())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    assert!(
        answers.iter().all(|(s, _, _)| *s == StatusCode::CREATED),
        "every retry gets the first answer: {answers:?}"
    );
    assert_eq!(answers.iter().filter(|(_, r, _)| !*r).count(), 1, "one ran, 99 were replayed");
    let first = &answers[0].2;
    assert!(answers.iter().all(|(_, _, b)| b == first), "the same body every time");
    let listed = c.app.get_json(&format!("/api/appointments?date={DAY}&vet_id={}", c.vet)).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "exactly one appointment");
}

#[tokio::test]
async fn a_retried_client_post_makes_one_client_and_replays_the_first_answer_even_after_a_restart() {
    let app = TestApp::signed_in().await;
    let body = client_body("Ida", "Empotent");
    let first = post(&app, "/api/clients", &body, "new-client-1").await;
    assert!(!replayed(&first));
    let location = first.headers().get("location").cloned();
    let first = expect_json(first, StatusCode::CREATED).await;

    let again = post(&app, "/api/clients", &body, "new-client-1").await;
    assert!(replayed(&again), "marked as a replay");
    assert_eq!(again.headers().get("location").cloned(), location);
    assert_eq!(expect_json(again, StatusCode::CREATED).await, first, "the first answer, as it was");
    assert_eq!(clients_named(&app, "Empotent").await, 1);

    // Another body with the same key is a mistake, not a retry.
    let other = post(&app, "/api/clients", &client_body("Other", "Empotent"), "new-client-1").await;
    assert_error(other, StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused", Some(HEADER)).await;
    // A new key is a new request.
    expect_json(post(&app, "/api/clients", &body, "new-client-2").await, StatusCode::CREATED).await;
    assert_eq!(clients_named(&app, "Empotent").await, 2);

    let dir = app.stop().await;
    let app = TestApp::spawn_with(|args| args.data_dir = dir.path().into()).await;
    app.login_admin().await;
    let after = post(&app, "/api/clients", &body, "new-client-1").await;
    assert!(replayed(&after), "the key and its answer survive a restart");
    assert_eq!(expect_json(after, StatusCode::CREATED).await["id"], first["id"]);
    assert_eq!(clients_named(&app, "Empotent").await, 2);
    drop(dir);
}

#[tokio::test]
async fn a_request_that_wrote_nothing_leaves_its_key_free() {
    let app = TestApp::signed_in().await;
    let bad = json!({"first_name": "", "last_name": "Retry", "phone": "(503) 555-0199"});
    let res = post(&app, "/api/clients", &bad, "fix-and-retry").await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("first_name")).await;
    // The corrected request may use the same key: nothing was written under it.
    let res = post(&app, "/api/clients", &client_body("Rita", "Retry"), "fix-and-retry").await;
    assert!(!replayed(&res));
    let created = expect_json(res, StatusCode::CREATED).await;
    let res = post(&app, "/api/clients", &client_body("Rita", "Retry"), "fix-and-retry").await;
    assert_eq!(expect_json(res, StatusCode::CREATED).await["id"], created["id"]);
    assert_eq!(clients_named(&app, "Retry").await, 1);
}

#[tokio::test]
async fn malformed_keys_are_refused_naming_the_header_and_write_nothing() {
    let app = TestApp::signed_in().await;
    let body = client_body("Kay", "Badkey");
    let long = "k".repeat(256);
    for key in [long.as_bytes(), b"tab\there", "caf\u{e9}".as_bytes(), b""] {
        let value = reqwest::header::HeaderValue::from_bytes(key).expect("a header value reqwest can send");
        let res = app.request(Method::POST, "/api/clients").header(HEADER, value).json(&body).send().await.unwrap();
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(HEADER)).await;
    }
    assert_eq!(clients_named(&app, "Badkey").await, 0);
    let ok = post(&app, "/api/clients", &body, &"k".repeat(255)).await;
    expect_json(ok, StatusCode::CREATED).await;
}

#[tokio::test]
async fn every_post_documents_the_header_except_those_carrying_secrets() {
    let app = TestApp::signed_in().await;
    let doc = app.get_json("/api/openapi.json").await;
    let has_header = |path: &str| {
        doc["paths"][path]["post"]["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["name"] == HEADER && p["in"] == "header"))
    };
    for path in ["/api/clients", "/api/patients", "/api/appointments", "/api/appointments/{id}/transition"] {
        assert!(has_header(path), "{path}");
        let conflict = &doc["paths"][path]["post"]["responses"]["409"]["description"];
        assert!(conflict.as_str().is_some_and(|d| d.contains("request_in_progress")), "{path}: {conflict}");
    }
    assert!(!has_header("/api/auth/login"));
}

#[tokio::test]
async fn a_retried_status_change_through_the_calendar_actor_is_replayed_not_refused() {
    let c = Clinic::new().await;
    let id = crate::helpers::id_of(&c.book(&c.wellness(&format!("{DAY}T10:00:00-05:00"))).await);
    let path = format!("/api/appointments/{id}/transition");
    let first = expect_json(post(&c.app, &path, &json!({"to": "confirmed"}), "confirm-1").await, StatusCode::OK).await;
    // Without the key the retry would be a 409 (confirmed cannot become confirmed again).
    let again = post(&c.app, &path, &json!({"to": "confirmed"}), "confirm-1").await;
    assert!(replayed(&again));
    assert_eq!(expect_json(again, StatusCode::OK).await, first);
    let stored = c.app.get_json(&format!("/api/appointments/{id}")).await;
    assert_eq!(stored["history"].as_array().unwrap().len(), 1, "one status change");
}

#[tokio::test]
async fn a_retried_reschedule_is_replayed_and_the_key_cannot_move_it_elsewhere() {
    let c = Clinic::new().await;
    let id = crate::helpers::id_of(&c.book(&c.wellness(&format!("{DAY}T10:00:00-05:00"))).await);
    let path = format!("/api/appointments/{id}");
    let patch = |body: &Value| c.app.request(Method::PATCH, &path).header(HEADER, "move-1").json(body).send();
    let to_eleven = json!({"start": format!("{DAY}T11:00:00-05:00")});
    let first = patch(&to_eleven).await.expect("a response");
    let first = expect_json(first, StatusCode::OK).await;
    let again = patch(&to_eleven).await.expect("a response");
    assert!(replayed(&again), "the same move with the same key is replayed");
    assert_eq!(expect_json(again, StatusCode::OK).await, first);
    let elsewhere = patch(&json!({"start": format!("{DAY}T14:00:00-05:00")})).await.expect("a response");
    assert_error(elsewhere, StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused", Some("Idempotency-Key")).await;
    let stored = c.app.get_json(&path).await;
    assert_eq!(stored["start"], first["start"], "moved once, to eleven");
}
