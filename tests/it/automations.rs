//! Automations through HTTP against the real server: reminder jobs written with the booking,
//! cancelled and moved with it; a reminder run queues one message per owner with working
//! signed links (GET changes nothing, POST confirms, a tampered link is refused); the dry run
//! queues nothing; a sweep run twice queues once; a waitlist offer's message is written with
//! the offer and its link books the slot (superseded, used or expired: 410, nothing booked);
//! deceased cats are left out of birthdays and reminders, and an owner with none left gets
//! nothing.

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
    // Two cats of one owner at the same visit (a deceased one is left out: see below).
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
    // A second press replays the first answer (the link is its idempotency key); the page
    // of a used link says so with a 410.
    let again = app.anonymous(Method::POST, path).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(app.anonymous(Method::GET, path).send().await.unwrap().status(), StatusCode::GONE);
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
    // Clients entered on the clinic's first day are the clients it already had: not welcomed.
    let w = app.get_json("/api/automations/welcome/preview?days=1").await;
    assert!(w["items"].as_array().unwrap().is_empty(), "{w}");
    let bad = app.patch_json("/api/automations/welcome", &json!({ "params": { "since": "last week" } })).await;
    crate::helpers::assert_error(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("params.since"))
        .await;
    // With `since` on or before today, today's clients are new: the preview shows them.
    let since = json!({ "params": { "since": "2000-01-01" } });
    expect_json(app.patch_json("/api/automations/welcome", &since).await, StatusCode::OK).await;
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

/// The signed link of `kind` (`/l/<kind>/…`) in a message's text, as a path.
fn link_in(text: &str, kind: &str) -> String {
    let needle = format!("/l/{kind}/");
    let word = text.split_whitespace().find(|w| w.contains(&needle)).unwrap_or_else(|| panic!("no {needle} in {text}"));
    word[word.find("/l/").unwrap()..].trim_end_matches(['.', ',', ')']).to_owned()
}

/// The messages of one client (newest first).
async fn messages_of(app: &crate::helpers::TestApp, client: &str) -> Vec<Value> {
    app.get_json(&format!("/api/messages?client={client}")).await["items"].as_array().unwrap().clone()
}

/// A waiting client with one cat on the waitlist for a wellness exam around the test day.
async fn waiting(c: &Clinic, owner: &str, cat: &str) -> (String, String) {
    use crate::calendar::day;
    let client = c.app.some_client(owner, "Waiter").await;
    let cat = c.app.some_patient(&client, cat).await;
    let body = json!({"client_id": client, "patient_id": cat, "type_id": c.ty("Wellness exam"),
                      "earliest": day(-4).to_string(), "latest": day(5).to_string()});
    let e = expect_json(c.app.post_json("/api/waitlist", &body).await, StatusCode::CREATED).await;
    (client, id_of(&e))
}

async fn cancel(c: &Clinic, appointment: &Value) {
    let res = c
        .app
        .post_json(
            &format!("/api/appointments/{}/transition", id_of(appointment)),
            &json!({"to": "cancelled", "reason": "owner away"}),
        )
        .await;
    expect_json(res, StatusCode::OK).await;
}

#[tokio::test]
async fn a_waitlist_offer_queues_its_message_and_its_link_books_the_slot_on_post_only() {
    let c = Clinic::new().await;
    let app = &c.app;
    let a = c.book(&c.wellness(&format!("{}T09:00:00-05:00", crate::calendar::DAY))).await;
    let (first, first_entry) = waiting(&c, "Ada", "Pixel").await;
    let (second, _) = waiting(&c, "Bo", "Sprite").await;
    cancel(&c, &a).await;
    let offers = app.poll_json("/api/waitlist/offers?status=pending", |v| v.as_array().unwrap().len() == 2).await;
    // The messages were written with the offers (one change set): no waiting for them.
    let mut links = Vec::new();
    for client in [&first, &second] {
        let msgs = messages_of(app, client).await;
        assert_eq!(msgs.len(), 1, "{msgs:?}");
        assert_eq!(msgs[0]["automation"], "waitlist_offer");
        assert_eq!(msgs[0]["client_id"], client.as_str());
        assert_eq!(msgs[0]["recipient"], "+15035550199", "{}", msgs[0]);
        let offer = offers.as_array().unwrap().iter().find(|o| o["client_id"] == client.as_str()).unwrap();
        assert_eq!(msgs[0]["idempotency_key"], format!("waitlist_offer:{}", id_of(offer)));
        links.push(link_in(msgs[0]["text"].as_str().unwrap(), "offer"));
    }
    // GET shows the button and books nothing.
    let page = app.anonymous(Method::GET, &links[0]).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("<form method=\"post\">"));
    assert_eq!(app.get_json(&format!("/api/waitlist/{first_entry}")).await["status"], "offered");
    // POST books the slot for the first client.
    let done = app.anonymous(Method::POST, &links[0]).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    let entry = app.get_json(&format!("/api/waitlist/{first_entry}")).await;
    assert_eq!(entry["status"], "fulfilled", "{entry}");
    let booked = app.get_json(&format!("/api/appointments/{}", entry["appointment_id"].as_str().unwrap())).await;
    assert_eq!((booked["client_id"].as_str(), &booked["start"]), (Some(first.as_str()), &a["start"]));
    assert_eq!(booked["source"], "waitlist");
    // The other offer was superseded: its link answers 410 and books nothing. The used link's
    // page answers 410; pressed again, it replays its first answer and books nothing more.
    assert_eq!(app.anonymous(Method::POST, &links[1]).send().await.unwrap().status(), StatusCode::GONE);
    assert_eq!(app.anonymous(Method::GET, &links[0]).send().await.unwrap().status(), StatusCode::GONE);
    let again = app.anonymous(Method::POST, &links[0]).send().await.unwrap();
    assert_eq!((again.status(), again.headers()["idempotent-replayed"].to_str().unwrap()), (StatusCode::OK, "true"));
    let mine = app.get_json(&format!("/api/appointments?client_id={first}")).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1, "{mine}");
    let list = app.get_json(&format!("/api/appointments?client_id={second}")).await;
    assert!(list["items"].as_array().unwrap().is_empty(), "{list}");
}

#[tokio::test]
async fn an_expired_offer_link_answers_410_and_books_nothing() {
    let app = crate::helpers::TestApp::spawn_with(|a| a.waitlist_offer_secs = 1).await;
    app.login_admin().await;
    let c = Clinic::on(app).await;
    let app = &c.app;
    let a = c.book(&c.wellness(&format!("{}T10:00:00-05:00", crate::calendar::DAY))).await;
    let (client, entry) = waiting(&c, "Cy", "Slowpoke").await;
    cancel(&c, &a).await;
    let path = format!("/api/waitlist/offers?entry_id={entry}");
    app.poll_json(&path, |v| v.as_array().unwrap().len() == 1).await;
    let msgs = messages_of(app, &client).await;
    let link = link_in(msgs[0]["text"].as_str().unwrap(), "offer");
    // The link expires with the offer (one second here).
    app.poll_json(&path, |v| v[0]["status"] == "expired").await;
    for method in [Method::GET, Method::POST] {
        let res = app.anonymous(method, &link).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::GONE);
        assert!(res.text().await.unwrap().contains("expired"));
    }
    assert_ne!(app.get_json(&format!("/api/waitlist/{entry}")).await["status"], "fulfilled");
    let list = app.get_json(&format!("/api/appointments?client_id={client}")).await;
    assert!(list["items"].as_array().unwrap().is_empty(), "{list}");
}

#[tokio::test]
async fn deceased_cats_are_left_out_and_an_owner_with_none_left_gets_nothing() {
    let c = Clinic::new().await;
    let app = &c.app;
    // Born on this day (the clinic's date) three years ago.
    let today = clowder_actors::Clock::now(&clowder_actors::SystemClock).in_tz("America/New_York").unwrap().date();
    let born = today.checked_sub(jiff::Span::new().years(3)).unwrap().to_string();
    let cat = |client: &str, name: &str| json!({"client_id": client, "name": name, "date_of_birth": born});
    let mixed = app.some_client("Dee", "Mixed").await;
    let alive = id_of(&app.create_patient(cat(&mixed, "Pounce")).await);
    let gone = id_of(&app.create_patient(cat(&mixed, "Whiskers")).await);
    let mourning = app.some_client("Eve", "Mourning").await;
    let only = id_of(&app.create_patient(cat(&mourning, "Shadow")).await);
    for id in [&gone, &only] {
        let res = app.patch_json(&format!("/api/patients/{id}"), &json!({"status": "deceased"})).await;
        expect_json(res, StatusCode::OK).await;
    }
    let job = expect_json(app.post_json("/api/automations/sweep", &json!({})).await, StatusCode::ACCEPTED).await;
    app.poll_json(&format!("/api/jobs/{}", job["job_id"].as_str().unwrap()), |j| j["state"] == "succeeded").await;
    let birthdays =
        |msgs: Vec<Value>| -> Vec<Value> { msgs.into_iter().filter(|m| m["automation"] == "birthday").collect() };
    let greeted = birthdays(messages_of(app, &mixed).await);
    assert_eq!(greeted.len(), 1, "{greeted:?}");
    let text = greeted[0]["text"].as_str().unwrap();
    assert!(text.contains("Pounce") && !text.contains("Whiskers"), "{text}");
    assert!(birthdays(messages_of(app, &mourning).await).is_empty());
    let _ = alive;
}

#[tokio::test]
async fn a_reminder_leaves_out_a_cat_that_died_and_a_visit_with_none_left_sends_nothing() {
    let c = Clinic::new().await;
    let app = &c.app;
    let r = app
        .patch_json("/api/automations/appointment_reminder", &json!({ "params": { "offsets_minutes": [60] } }))
        .await;
    expect_json(r, StatusCode::OK).await;
    // Mittens and Biscuit of one owner at one visit; Tom of another owner alone.
    let biscuit = app.some_patient(&c.client, "Biscuit").await;
    c.book(&c.wellness(&in_secs(3_600 + 6))).await;
    let mut body = c.wellness(&in_secs(3_600 + 2_400));
    body["patient_id"] = json!(biscuit);
    body["vet_id"] = json!(c.surgeon);
    body["room_id"] = Value::Null;
    c.book(&body).await;
    let mut body = c.wellness(&in_secs(3_600 + 6));
    body["client_id"] = json!(c.client2);
    body["patient_id"] = json!(c.cat2);
    body["vet_id"] = json!(c.surgeon);
    body["room_id"] = Value::Null;
    let toms = c.book(&body).await;
    // Before the reminders fall due, Mittens and Tom die (their appointments stay booked).
    for id in [&c.cat, &c.cat2] {
        let res = app.patch_json(&format!("/api/patients/{id}"), &json!({"status": "deceased"})).await;
        expect_json(res, StatusCode::OK).await;
    }
    let msgs = app
        .poll_json(&format!("/api/messages?client={}", c.client), |v| !v["items"].as_array().unwrap().is_empty())
        .await;
    let text = msgs["items"][0]["text"].as_str().unwrap();
    assert!(text.contains("Biscuit") && !text.contains("Mittens"), "{text}");
    // Tom's reminder ran and sent nothing.
    let path = format!("/api/jobs?subject=appointment:{}", id_of(&toms));
    app.poll_json(&path, |v| v["items"].as_array().unwrap().iter().all(|j| j["state"] == "succeeded")).await;
    assert!(messages_of(app, &c.client2).await.is_empty());
}

/// The pending reminders of an appointment as (offset, due) pairs, sorted.
async fn pending_reminders(c: &Clinic, appointment: &str) -> Vec<(i64, jiff::Timestamp)> {
    let mut out: Vec<(i64, jiff::Timestamp)> = reminder_jobs(c, appointment)
        .await
        .iter()
        .filter(|j| j["state"] == "queued")
        .map(|j| (j["payload"]["offset_minutes"].as_i64().unwrap(), j["due_at"].as_str().unwrap().parse().unwrap()))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn changing_the_reminder_offsets_replans_the_reminders_of_booked_visits() {
    let c = Clinic::new().await;
    let app = &c.app;
    let a = c.book(&c.wellness(&in_secs(3 * 86_400))).await;
    let id = id_of(&a);
    let start: jiff::Timestamp = a["start"].as_str().unwrap().parse().unwrap();
    let at = |minutes: i64| start.checked_sub(jiff::SignedDuration::from_mins(minutes)).unwrap();
    assert_eq!(pending_reminders(&c, &id).await, vec![(1440, at(1440)), (2880, at(2880))]);
    // One hour and one day before: the 48 h reminder goes (the visit's pending reminders are
    // cancelled together, the 24 h one added again), a 1 h one comes.
    let r = app
        .patch_json("/api/automations/appointment_reminder", &json!({ "params": { "offsets_minutes": [60, 1440] } }))
        .await;
    expect_json(r, StatusCode::OK).await;
    assert_eq!(pending_reminders(&c, &id).await, vec![(60, at(60)), (1440, at(1440))]);
    let cancelled = reminder_jobs(&c, &id).await.iter().filter(|j| j["state"] == "cancelled").count();
    assert_eq!(cancelled, 2, "the old jobs were cancelled");
    // An offset whose time has passed is not added (four days before a visit three days away).
    let r = app
        .patch_json("/api/automations/appointment_reminder", &json!({ "params": { "offsets_minutes": [5760, 2880] } }))
        .await;
    expect_json(r, StatusCode::OK).await;
    assert_eq!(pending_reminders(&c, &id).await, vec![(2880, at(2880))]);
    // Back to the defaults: the pending 48 h reminder stays, a 24 h one comes.
    let r = app
        .patch_json("/api/automations/appointment_reminder", &json!({ "params": { "offsets_minutes": null } }))
        .await;
    expect_json(r, StatusCode::OK).await;
    assert_eq!(pending_reminders(&c, &id).await, vec![(1440, at(1440)), (2880, at(2880))]);
    // A cancelled visit gets nothing back.
    cancel(&c, &a).await;
    let r = app
        .patch_json("/api/automations/appointment_reminder", &json!({ "params": { "offsets_minutes": [60] } }))
        .await;
    expect_json(r, StatusCode::OK).await;
    assert!(pending_reminders(&c, &id).await.is_empty());
}

#[tokio::test]
async fn a_link_pressed_many_times_acts_once_with_or_without_an_idempotency_key() {
    let c = Clinic::new().await;
    let app = &c.app;
    let r = app
        .patch_json("/api/automations/appointment_reminder", &json!({ "params": { "offsets_minutes": [60] } }))
        .await;
    expect_json(r, StatusCode::OK).await;
    // An owner with an email address (the email reminder has the reschedule link).
    let mut body = crate::helpers::client_body("Fay", "Mail");
    body["email"] = json!("fay@example.com");
    body["preferred_contact"] = json!("email");
    let owner = id_of(&app.create_client(body).await);
    let cat = app.some_patient(&owner, "Noodle").await;
    let mut booking = c.wellness(&in_secs(3_600 + 2));
    booking["client_id"] = json!(owner);
    booking["patient_id"] = json!(cat);
    let a = c.book(&booking).await;
    let msgs =
        app.poll_json(&format!("/api/messages?client={owner}"), |v| !v["items"].as_array().unwrap().is_empty()).await;
    // Asking for another time has no state of its own to refuse a repeat: only the link's
    // idempotency stands between a double press and two requests at the front desk.
    let link = link_in(msgs["items"][0]["text"].as_str().unwrap(), "reschedule");
    let press = |key: Option<&'static str>| {
        let mut req = app.anonymous(Method::POST, &link);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        req.send()
    };
    // Five at once, then with a key, another key, and none.
    let all = futures_util::future::join_all((0..5).map(|_| press(None))).await;
    let mut bodies = Vec::new();
    for res in all {
        let res = res.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        bodies.push(res.text().await.unwrap());
    }
    for key in [Some("k-1"), Some("k-2"), None] {
        let res = press(key).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["idempotent-replayed"], "true");
        bodies.push(res.text().await.unwrap());
    }
    assert!(bodies.iter().all(|b| *b == bodies[0]), "every press answers the first page");
    assert!(bodies[0].contains("We will call you"));
    let audit = app.get_json("/api/audit?action=appointment.reschedule_request").await;
    let entries = audit["items"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["record_id"], id_of(&a).as_str());
    // A malformed key is refused as on every POST.
    let bad = app.anonymous(Method::POST, &link).header("Idempotency-Key", "").send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_daily_sweep_runs_at_the_configured_clinic_time_or_not_at_all() {
    let app = crate::helpers::TestApp::spawn_with(|a| a.automations.automations_sweep_at = "07:15".into()).await;
    app.login_admin().await;
    let jobs = app
        .poll_json("/api/jobs?kind=automation_sweep&state=queued", |v| !v["items"].as_array().unwrap().is_empty())
        .await;
    let job = &jobs["items"][0];
    assert!(job["idempotency_key"].as_str().unwrap().starts_with("recurring:automation_sweep:"), "{job}");
    let due: jiff::Timestamp = job["due_at"].as_str().unwrap().parse().unwrap();
    let local = due.in_tz("America/New_York").unwrap();
    assert_eq!((local.hour(), local.minute()), (7, 15), "{job}");
    drop(app);
    // Off: nothing planned; staff can still run it.
    let app = crate::helpers::TestApp::spawn_with(|a| a.automations.automations_sweep_at = "off".into()).await;
    app.login_admin().await;
    // The cleanup's occurrence is planned at start too: once it is there, the sweep's would be.
    app.poll_json("/api/jobs?kind=daily_cleanup&state=queued", |v| !v["items"].as_array().unwrap().is_empty()).await;
    let sweeps = app.get_json("/api/jobs?kind=automation_sweep").await;
    assert!(sweeps["items"].as_array().unwrap().is_empty(), "{sweeps}");
    let job = expect_json(app.post_json("/api/automations/sweep", &json!({})).await, StatusCode::ACCEPTED).await;
    app.poll_json(&format!("/api/jobs/{}", job["job_id"].as_str().unwrap()), |j| j["state"] == "succeeded").await;
}
