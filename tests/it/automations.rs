//! Automations through HTTP against the real server: reminder jobs written with the booking,
//! cancelled and moved with it; a reminder run queues one message per owner with working
//! signed links (GET changes nothing, POST confirms, a tampered link is refused); the dry run
//! queues nothing; a sweep run twice queues once; a waitlist offer sends its message.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::calendar::Clinic;
use crate::helpers::{expect_json, id_of};

fn in_secs(secs: i64) -> String {
    clowder_actors::Clock::now(&clowder_actors::SystemClock)
        .checked_add(jiff::SignedDuration::from_secs(secs))
        .unwrap()
        .to_string()
}

async fn reminder_jobs(c: &Clinic, appointment: &str) -> Vec<Value> {
    let page = c.app.get_json(&format!("/api/jobs?subject=appointment:{appointment}")).await;
    page["items"].as_array().unwrap().iter().filter(|j| j["kind"] == "appointment_reminder").cloned().collect()
}

#[tokio::test]
async fn a_booking_schedules_two_reminders_that_move_and_cancel_with_it() {
    let c = Clinic::new().await;
    let a = c.book(&c.wellness(&in_secs(3 * 86_400))).await;
    let id = id_of(&a);
    let jobs = reminder_jobs(&c, &id).await;
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    assert!(jobs.iter().all(|j| j["state"] == "queued"));
    // Moved a day later: the same jobs, due a day later.
    let before: Vec<jiff::Timestamp> = jobs.iter().map(|j| j["due_at"].as_str().unwrap().parse().unwrap()).collect();
    let res = c.app.patch_json(&format!("/api/appointments/{id}"), &json!({ "start": in_secs(4 * 86_400) })).await;
    expect_json(res, StatusCode::OK).await;
    let moved = reminder_jobs(&c, &id).await;
    assert_eq!(moved.len(), 2);
    for (j, b) in moved.iter().zip(&before) {
        let due: jiff::Timestamp = j["due_at"].as_str().unwrap().parse().unwrap();
        assert!((due.duration_since(*b).as_secs() - 86_400).abs() < 5, "{j}");
    }
    let res = c
        .app
        .post_json(&format!("/api/appointments/{id}/transition"), &json!({"to": "cancelled", "reason": "moved away"}))
        .await;
    expect_json(res, StatusCode::OK).await;
    assert!(reminder_jobs(&c, &id).await.iter().all(|j| j["state"] == "cancelled"));
}

#[tokio::test]
async fn a_due_reminder_queues_one_message_for_two_cats_with_links_that_confirm_on_post_only() {
    let c = Clinic::new().await;
    let app = &c.app;
    let r = app
        .patch_json("/api/automations/appointment_reminder", &json!({ "params": { "offsets_minutes": [60] } }))
        .await;
    expect_json(r, StatusCode::OK).await;
    // Two cats of one owner at the same visit; a third, deceased, is left out.
    let start = in_secs(3_600 + 3);
    let a1 = c.book(&c.wellness(&start)).await;
    let biscuit = app.some_patient(&c.client, "Biscuit").await;
    let mut body = c.wellness(&in_secs(3_600 + 1_800));
    body["patient_id"] = json!(biscuit);
    body["vet_id"] = json!(c.surgeon);
    body["room_id"] = Value::Null;
    let a2 = c.book(&body).await;
    let path = format!("/api/messages?client={}", c.client);
    let msgs = app.poll_json(&path, |v| !v["items"].as_array().unwrap().is_empty()).await;
    // Biscuit's own reminder (due 30 min later) computes the same visit and key: one message.
    let items = msgs["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{msgs}");
    let m = &items[0];
    assert_eq!(m["automation"], "appointment_reminder");
    let text = m["text"].as_str().unwrap();
    assert!(text.contains("Biscuit and Mittens") || text.contains("Mittens and Biscuit"), "{text}");
    let confirm = text.split_whitespace().find(|w| w.contains("/l/confirm/")).unwrap();
    let path = &confirm[confirm.find("/l/").unwrap()..];

    // GET shows a page and changes nothing.
    let page = app.anonymous(Method::GET, path).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("<form method=\"post\">"));
    assert_eq!(app.get_json(&format!("/api/appointments/{}", id_of(&a1))).await["status"], "scheduled");
    // A tampered token is refused, nothing changed.
    let mut bad = path.to_owned();
    let last = bad.pop().unwrap();
    bad.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(app.anonymous(Method::POST, &bad).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    // POST confirms both appointments of the visit.
    let done = app.anonymous(Method::POST, path).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    for a in [&a1, &a2] {
        assert_eq!(app.get_json(&format!("/api/appointments/{}", id_of(a))).await["status"], "confirmed");
    }
    // Used: the second press says so.
    assert_eq!(app.anonymous(Method::POST, path).send().await.unwrap().status(), StatusCode::GONE);
}

#[tokio::test]
async fn a_cancel_link_inside_the_notice_period_asks_to_call() {
    let c = Clinic::new().await;
    let app = &c.app;
    let r = app
        .patch_json("/api/automations/appointment_reminder", &json!({ "params": { "offsets_minutes": [60] } }))
        .await;
    expect_json(r, StatusCode::OK).await;
    let a = c.book(&c.wellness(&in_secs(3_600 + 2))).await;
    let path = format!("/api/messages?client={}", c.client);
    let msgs = app.poll_json(&path, |v| !v["items"].as_array().unwrap().is_empty()).await;
    let text = msgs["items"][0]["text"].as_str().unwrap().to_owned();
    let cancel = text.split_whitespace().find(|w| w.contains("/l/cancel/")).unwrap();
    let link = &cancel[cancel.find("/l/").unwrap()..];
    // 24 h notice by default: too late, nothing cancelled.
    let res = app.anonymous(Method::POST, link).send().await.unwrap();
    assert!(res.text().await.unwrap().contains("call"));
    assert_eq!(app.get_json(&format!("/api/appointments/{}", id_of(&a))).await["status"], "scheduled");
    // With no notice required, the same link cancels.
    let r = app
        .patch_json("/api/automations/appointment_reminder", &json!({ "params": { "cancel_notice_hours": 0 } }))
        .await;
    expect_json(r, StatusCode::OK).await;
    assert_eq!(app.anonymous(Method::POST, link).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(app.get_json(&format!("/api/appointments/{}", id_of(&a))).await["status"], "cancelled");
}

#[tokio::test]
async fn the_dry_run_queues_nothing_and_a_sweep_twice_queues_once() {
    let c = Clinic::new().await;
    let app = &c.app;
    let rules = app.get_json("/api/automations").await;
    assert!(rules.as_array().unwrap().len() >= 8);
    // A booking 3 days ahead: the preview shows its 48 h and 24 h reminders.
    c.book(&c.wellness(&in_secs(3 * 86_400))).await;
    let p = app.get_json("/api/automations/appointment_reminder/preview?days=7").await;
    assert_eq!(p["items"].as_array().unwrap().len(), 2, "{p}");
    // The welcome rule previews today's new clients.
    let w = app.get_json("/api/automations/welcome/preview?days=1").await;
    assert!(!w["items"].as_array().unwrap().is_empty(), "{w}");
    let none = app.get_json("/api/messages").await;
    assert!(none["items"].as_array().unwrap().is_empty(), "{none}");
    for _ in 0..2 {
        let job = expect_json(app.post_json("/api/automations/sweep", &json!({})).await, StatusCode::ACCEPTED).await;
        app.poll_json(&format!("/api/jobs/{}", job["job_id"].as_str().unwrap()), |j| j["state"] == "succeeded").await;
    }
    let msgs = app.get_json(&format!("/api/messages?client={}", c.client)).await;
    let welcome: Vec<&Value> =
        msgs["items"].as_array().unwrap().iter().filter(|m| m["automation"] == "welcome").collect();
    assert_eq!(welcome.len(), 1, "{msgs}");
    // Turned off, the rule sends nothing more.
    let off =
        expect_json(app.patch_json("/api/automations/welcome", &json!({ "enabled": false })).await, StatusCode::OK)
            .await;
    assert_eq!(off["enabled"], false);
    let bad = app.patch_json("/api/automations/welcome", &json!({ "params": { "nope": 1 } })).await;
    crate::helpers::assert_error(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("params.nope")).await;
    let unknown = app.get("/api/automations/nope/preview").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}
