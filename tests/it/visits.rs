//! Visits through HTTP: opened by the appointment going `in_progress` and completed with it,
//! walk-ins (not for a deceased or inactive cat), one visit per appointment, voiding, lists,
//! the cat's timeline, `Idempotency-Key` replay, and the privacy of the record (a receptionist
//! gets 403 and no clinical frame on `/ws`; a vet's frames carry ids only).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::access::staff_user_with_id;
use crate::calendar::{Clinic, DAY};
use crate::helpers::{TestApp, assert_error, expect_json, id_of};
use crate::live::{connect, next, send};

/// A veterinarian who can sign in: their token, and their staff profile's id.
pub(crate) async fn vet_with_account(app: &TestApp, username: &str) -> (String, String) {
    let (token, user_id) = staff_user_with_id(app, username, &["veterinarian"]).await;
    let body = json!({"first_name": username, "last_name": "Vet", "position": "veterinarian", "user_id": user_id});
    let staff = expect_json(app.post_json("/api/staff", &body).await, StatusCode::CREATED).await;
    (token, id_of(&staff))
}

/// `method path` with `body` as the holder of `token`.
pub(crate) async fn as_user(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut rb = app.anonymous(method, path).bearer_auth(token);
    if let Some(b) = body {
        rb = rb.json(b);
    }
    rb.send().await.unwrap()
}

pub(crate) fn walk_in(cat: &str, vet: &str) -> Value {
    json!({"patient_id": cat, "vet_id": vet, "type": "sick", "chief_complaint": "Not eating since yesterday"})
}

#[tokio::test]
async fn an_appointment_in_progress_opens_its_visit_and_completing_it_completes_the_visit() {
    let c = Clinic::new().await;
    let appt = c.book(&c.wellness(&format!("{DAY}T10:00:00-05:00"))).await;
    let id = id_of(&appt);
    assert_eq!(c.app.get_json(&format!("/api/visits?patient_id={}", c.cat)).await["items"], json!([]));
    for to in ["checked_in", "in_progress"] {
        assert_eq!(c.transition(&id, to).await.status(), StatusCode::OK);
    }
    // In the answer's wake: the route opened it at once.
    let page = c.app.get_json(&format!("/api/visits?patient_id={}", c.cat)).await;
    let visits = page["items"].as_array().unwrap();
    assert_eq!(visits.len(), 1);
    let visit = &visits[0];
    assert_eq!((visit["appointment_id"].as_str(), visit["type"].as_str()), (Some(id.as_str()), Some("wellness")));
    assert_eq!((visit["status"].as_str(), visit["vet_id"].as_str()), (Some("open"), Some(c.vet.as_str())));
    assert_eq!(visit["chief_complaint"], "annual check-up", "the appointment's reason");
    // Its note starts from the wellness template.
    let note = c.app.get_json(&format!("/api/visits/{}/note", id_of(visit))).await;
    assert_eq!((note["status"].as_str(), note["draft"]["template"].as_str()), (Some("draft"), Some("wellness")));
    assert!(note["draft"]["subjective"].as_str().unwrap().contains("Litter box"));

    // The durable path: a job written with the move, which finds the visit there and succeeds.
    let jobs = c
        .app
        .poll_json(&format!("/api/jobs?kind=visit_follow_appointment&subject=appointment:{id}"), |p| {
            p["items"].as_array().is_some_and(|a| a.len() == 1 && a[0]["state"] == "succeeded")
        })
        .await;
    assert_eq!(jobs["items"][0]["payload"]["appointment_id"], id.as_str());

    assert_eq!(c.transition(&id, "completed").await.status(), StatusCode::OK);
    let done = c.app.get_json(&format!("/api/visits/{}", id_of(visit))).await;
    assert_eq!(done["status"], "completed");
    assert!(done["completed_at"].is_string());
    // Still one visit: a second opening of the same appointment is refused by its claim.
    let res = c.app.post_json("/api/visits", &json!({"appointment_id": id})).await;
    assert_error(res, StatusCode::CONFLICT, "duplicate_value", Some("appointment_id")).await;
    assert_eq!(
        c.app.get_json(&format!("/api/visits?patient_id={}", c.cat)).await["items"].as_array().unwrap().len(),
        1
    );
}

#[tokio::test]
async fn a_walk_in_needs_an_active_cat_and_a_veterinarian() {
    let c = Clinic::new().await;
    let res = c.app.post_json("/api/visits", &json!({"patient_id": c.cat, "type": "sick"})).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("vet_id")).await;
    let res = c.app.post_json("/api/visits", &json!({"patient_id": c.cat, "vet_id": c.vet, "type": "sick"})).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("chief_complaint")).await;

    let visit = expect_json(c.app.post_json("/api/visits", &walk_in(&c.cat, &c.vet)).await, StatusCode::CREATED).await;
    assert_eq!((visit["status"].as_str(), visit["appointment_id"].is_null()), (Some("open"), true));

    c.app.patch_json(&format!("/api/patients/{}", c.cat2), &json!({"status": "deceased"})).await;
    let res = c.app.post_json("/api/visits", &walk_in(&c.cat2, &c.vet)).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("patient_id")).await;
    let inactive = c.app.some_patient(&c.client, "Sleepy").await;
    c.app.delete(&format!("/api/patients/{inactive}")).await;
    let res = c.app.post_json("/api/visits", &walk_in(&inactive, &c.vet)).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("patient_id")).await;
}

#[tokio::test]
async fn a_voided_visit_stays_on_file_and_changes_no_more() {
    let c = Clinic::new().await;
    let visit = expect_json(c.app.post_json("/api/visits", &walk_in(&c.cat, &c.vet)).await, StatusCode::CREATED).await;
    let id = id_of(&visit);
    let patched = c
        .app
        .patch_json(&format!("/api/visits/{id}"), &json!({"chief_complaint": "Vomiting", "type": "emergency"}))
        .await;
    assert_eq!(expect_json(patched, StatusCode::OK).await["type"], "emergency");
    let res = c.app.post_json(&format!("/api/visits/{id}/void"), &json!({"reason": " "})).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("reason")).await;
    let voided =
        c.app.post_json(&format!("/api/visits/{id}/void"), &json!({"reason": "opened for the wrong cat"})).await;
    let voided = expect_json(voided, StatusCode::OK).await;
    assert_eq!(
        (voided["status"].as_str(), voided["void_reason"].as_str()),
        (Some("voided"), Some("opened for the wrong cat"))
    );
    assert_eq!(c.app.get_json(&format!("/api/visits/{id}")).await["status"], "voided");
    let res = c.app.patch_json(&format!("/api/visits/{id}"), &json!({"chief_complaint": "x"})).await;
    assert_error(res, StatusCode::CONFLICT, "invalid_transition", None).await;
    let res = c.app.post_json(&format!("/api/visits/{id}/complete"), &json!({})).await;
    assert_error(res, StatusCode::CONFLICT, "invalid_transition", None).await;

    let other = expect_json(c.app.post_json("/api/visits", &walk_in(&c.cat, &c.vet)).await, StatusCode::CREATED).await;
    let ids = |p: Value| p["items"].as_array().unwrap().iter().map(id_of).collect::<Vec<_>>();
    assert_eq!(ids(c.app.get_json("/api/visits?status=voided").await), vec![id]);
    assert_eq!(ids(c.app.get_json(&format!("/api/visits?status=open&vet_id={}", c.vet)).await), [id_of(&other)]);
    assert_eq!(ids(c.app.get_json(&format!("/api/visits?from={DAY}")).await), Vec::<String>::new());
    let res = c.app.get("/api/visits?status=closed").await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("status")).await;
    // Freshly opened: not yet on the unsigned-after-24-hours list; voided ones never are.
    assert_eq!(ids(c.app.get_json("/api/visits?unsigned_older_than=24h").await), Vec::<String>::new());
}

#[tokio::test]
async fn opening_a_visit_replays_with_the_same_idempotency_key() {
    let c = Clinic::new().await;
    let post = || {
        c.app
            .request(Method::POST, "/api/visits")
            .header("Idempotency-Key", "walk-in-1")
            .json(&walk_in(&c.cat, &c.vet))
            .send()
    };
    let first = post().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = post().await.unwrap();
    assert_eq!(again.headers()["Idempotent-Replayed"], "true");
    assert_eq!(id_of(&again.json::<Value>().await.unwrap()), id_of(&first));
    assert_eq!(
        c.app.get_json(&format!("/api/visits?patient_id={}", c.cat)).await["items"].as_array().unwrap().len(),
        1
    );
    for (path, body) in [
        (format!("/api/visits/{}/complete", id_of(&first)), json!({})),
        (format!("/api/visits/{}/void", id_of(&first)), json!({"reason": "duplicate"})),
    ] {
        let send =
            || c.app.request(Method::POST, &path).header("Idempotency-Key", format!("k-{path}")).json(&body).send();
        let a = send().await.unwrap();
        assert_eq!(a.status(), StatusCode::OK, "{path}");
        let b = send().await.unwrap();
        assert_eq!(b.headers()["Idempotent-Replayed"], "true", "{path}");
    }
}

#[tokio::test]
async fn the_timeline_lists_visits_and_notes_newest_first_in_pages() {
    let app = TestApp::signed_in().await;
    let c = Clinic::on(app).await;
    let (vet_token, vet) = vet_with_account(&c.app, "dr.timeline").await;
    let first = expect_json(c.app.post_json("/api/visits", &walk_in(&c.cat, &vet)).await, StatusCode::CREATED).await;
    let second = expect_json(c.app.post_json("/api/visits", &walk_in(&c.cat, &vet)).await, StatusCode::CREATED).await;
    let draft = json!({"revision": 1, "assessment": "Hairball"});
    let path = format!("/api/visits/{}/note/draft", id_of(&first));
    assert_eq!(as_user(&c.app, &vet_token, Method::PUT, &path, Some(&draft)).await.status(), StatusCode::OK);
    let sign = format!("/api/visits/{}/note/sign", id_of(&first));
    let note =
        expect_json(as_user(&c.app, &vet_token, Method::POST, &sign, Some(&json!({}))).await, StatusCode::CREATED)
            .await;

    let walked = c.app.walk(&format!("/api/patients/{}/timeline", c.cat), 1).await;
    let kinds: Vec<(&str, String)> = walked
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["note_id"].as_str().or(e["visit_id"].as_str()).unwrap().to_owned()))
        .collect();
    assert_eq!(kinds, [("note", id_of(&note)), ("visit", id_of(&second)), ("visit", id_of(&first))]);
    assert!(
        c.app.get_json(&format!("/api/patients/{}/timeline", c.cat2)).await["items"].as_array().unwrap().is_empty()
    );
    let res = c.app.get(&format!("/api/patients/{}/timeline", crate::helpers::UNKNOWN_ID)).await;
    assert_error(res, StatusCode::NOT_FOUND, "patient_not_found", None).await;
    // Audited, with what was shown.
    let audit = c.app.get_json("/api/audit?action=patient.timeline").await;
    assert!(audit["items"].as_array().unwrap().iter().any(|e| e["record_id"] == c.cat.as_str()), "{audit}");
}

/// Every frame up to the `subscribed` acknowledgement (the replay comes first).
async fn replay(ws: &mut crate::live::Socket, topic: &str) -> Vec<Value> {
    send(ws, json!({"op": "subscribe", "topics": [topic], "since": 0})).await;
    let mut out = Vec::new();
    loop {
        let v = next(ws).await;
        if v["type"] == "subscribed" {
            return out;
        }
        if v["type"] == "error" {
            panic!("{v}");
        }
        out.push(v);
    }
}

#[tokio::test]
async fn a_receptionist_sees_nothing_of_the_record_and_a_vets_frames_carry_ids_only() {
    let c = Clinic::new().await;
    let (vet_token, vet) = vet_with_account(&c.app, "dr.private").await;
    let (front, _) = staff_user_with_id(&c.app, "front.desk", &["receptionist"]).await;
    let visit = expect_json(c.app.post_json("/api/visits", &walk_in(&c.cat, &vet)).await, StatusCode::CREATED).await;
    let id = id_of(&visit);
    let secret = "Suspect hyperthyroidism, owner not told yet";
    let path = format!("/api/visits/{id}/note/draft");
    as_user(&c.app, &vet_token, Method::PUT, &path, Some(&json!({"revision": 1, "assessment": secret}))).await;
    let sign = format!("/api/visits/{id}/note/sign");
    assert_eq!(as_user(&c.app, &vet_token, Method::POST, &sign, Some(&json!({}))).await.status(), StatusCode::CREATED);

    for (method, path) in [
        (Method::GET, "/api/visits".to_owned()),
        (Method::GET, format!("/api/visits/{id}")),
        (Method::GET, format!("/api/visits/{id}/note")),
        (Method::GET, format!("/api/patients/{}/timeline", c.cat)),
        (Method::PUT, format!("/api/visits/{id}/note/draft")),
    ] {
        let res = as_user(&c.app, &front, method.clone(), &path, Some(&json!({"revision": 9}))).await;
        assert_error(res, StatusCode::FORBIDDEN, "forbidden", None).await;
    }

    let topic = format!("patient:{}", c.cat);
    let mut ws = connect(&c.app, &front).await;
    let frames = replay(&mut ws, &topic).await;
    assert!(
        frames
            .iter()
            .all(|f| !f["type"].as_str().unwrap().starts_with("visit_")
                && !f["type"].as_str().unwrap().starts_with("note_")),
        "{frames:?}"
    );
    let mut ws = connect(&c.app, &vet_token).await;
    let frames = replay(&mut ws, &topic).await;
    let kinds: Vec<&str> = frames.iter().filter_map(|f| f["type"].as_str()).collect();
    assert!(kinds.contains(&"visit_opened") && kinds.contains(&"note_signed"), "{kinds:?}");
    let signed = frames.iter().find(|f| f["type"] == "note_signed").unwrap();
    assert_eq!(signed["data"]["visit_id"], id.as_str());
    assert_eq!(signed["data"]["changed"], json!([]));
    let all = serde_json::to_string(&frames).unwrap();
    assert!(!all.contains(secret) && !all.contains("assessment"), "{all}");
}

#[tokio::test]
async fn vitals_and_problems_join_the_timeline_and_name_only_a_visit_of_the_same_cat() {
    let app = TestApp::signed_in().await;
    let c = Clinic::on(app).await;
    let (_, vet) = vet_with_account(&c.app, "dr.joins").await;
    let visit = expect_json(c.app.post_json("/api/visits", &walk_in(&c.cat, &vet)).await, StatusCode::CREATED).await;
    let weight = json!({"weight": {"value": 4.2, "unit": "kg"}});
    let body = json!({"patient_id": c.cat, "visit_id": id_of(&visit), "measurements": weight});
    let vitals = expect_json(c.app.post_json("/api/vitals", &body).await, StatusCode::CREATED).await;
    let problem = json!({"patient_id": c.cat, "visit_id": id_of(&visit), "name": "Gingivitis", "type": "primary"});
    let problem = expect_json(c.app.post_json("/api/problems", &problem).await, StatusCode::CREATED).await;

    let walked = c.app.walk(&format!("/api/patients/{}/timeline", c.cat), 2).await;
    let kinds: Vec<&str> = walked.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["problem", "vitals", "visit"], "{walked:?}");
    assert_eq!(walked[0]["problem_id"], id_of(&problem).as_str());
    assert_eq!(walked[1]["vitals_id"], id_of(&vitals).as_str());
    assert_eq!(walked[1]["weight_kg"], 4.2);

    // A visit of another cat, or none at all, is refused on `visit_id` and nothing is written.
    let other = json!({"patient_id": c.cat2, "visit_id": id_of(&visit), "measurements": weight});
    assert_error(
        c.app.post_json("/api/vitals", &other).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("visit_id"),
    )
    .await;
    let none = json!({"patient_id": c.cat, "visit_id": crate::helpers::UNKNOWN_ID, "name": "X", "type": "primary"});
    assert_error(
        c.app.post_json("/api/problems", &none).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("visit_id"),
    )
    .await;
    assert_eq!(c.app.walk(&format!("/api/patients/{}/timeline", c.cat2), 5).await.len(), 0);
}
