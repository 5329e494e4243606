//! The waitlist through HTTP: entries, matching a freed slot, automatic offers on
//! cancellation (first to accept wins), expiry of offers, and fulfilling by hand.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::calendar::Clinic;
use crate::helpers::{TestApp, UNKNOWN_ID, assert_error, expect_json, id_of};

use crate::calendar::{DAY, day};

fn at(time: &str) -> String {
    format!("{DAY}T{time}:00-05:00")
}

/// Polls `path` until `done` holds for its JSON, for at most five seconds.
async fn wait_for(app: &TestApp, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let v = app.get_json(path).await;
        if done(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "{path} never reached the expected state: {v}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl Clinic {
    async fn entry(&self, client: &str, cat: &str, extra: Value) -> Value {
        let mut body = json!({"client_id": client, "patient_id": cat, "type_id": self.ty("Wellness exam"),
                              "earliest": day(-4).to_string(), "latest": day(5).to_string()});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        expect_json(self.app.post_json("/api/waitlist", &body).await, StatusCode::CREATED).await
    }

    async fn new_cat(&self, owner: &str, name: &str) -> (String, String) {
        let client = self.app.some_client(owner, "Waiter").await;
        let cat = self.app.some_patient(&client, name).await;
        (client, cat)
    }
}

#[tokio::test]
async fn entries_are_validated_changed_and_taken_off() {
    let c = Clinic::new().await;
    let app = &c.app;
    let bad = json!({"client_id": c.client, "patient_id": c.cat2, "type_id": c.ty("Wellness exam"), "earliest": day(-4).to_string(), "latest": day(5).to_string()});
    assert_error(
        app.post_json("/api/waitlist", &bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("patient_id"),
    )
    .await;
    let past = json!({"client_id": c.client, "patient_id": c.cat, "type_id": c.ty("Wellness exam"),
                      "earliest": "2020-01-01", "latest": "2020-01-05"});
    assert_error(
        app.post_json("/api/waitlist", &past).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("latest"),
    )
    .await;
    let e = c.entry(&c.client, &c.cat, json!({"time_of_day": "morning", "urgency": "soon", "contact": "sms"})).await;
    assert_eq!((e["status"].as_str(), e["urgency"].as_str()), (Some("active"), Some("soon")));
    let path = format!("/api/waitlist/{}", id_of(&e));
    let changed =
        expect_json(app.patch_json(&path, &json!({"urgency": "urgent", "notes": "very itchy"})).await, StatusCode::OK)
            .await;
    assert_eq!(changed["urgency"], "urgent");
    let res = app.patch_json(&path, &json!({"latest": day(-32).to_string()})).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("latest")).await;
    assert_eq!(app.get_json(&format!("/api/waitlist?client_id={}", c.client)).await.as_array().unwrap().len(), 1);
    let gone = expect_json(app.delete(&path).await, StatusCode::OK).await;
    assert_eq!(gone["status"], "cancelled");
    assert_eq!(app.get_json("/api/waitlist?status=active").await.as_array().unwrap().len(), 0);
    let res = app.get(&format!("/api/waitlist/{UNKNOWN_ID}")).await;
    assert_error(res, StatusCode::NOT_FOUND, "waitlist_entry_not_found", None).await;
    let res = app.get("/api/waitlist?status=waiting").await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("status")).await;
}

#[tokio::test]
async fn matches_are_ordered_by_type_urgency_and_age() {
    let c = Clinic::new().await;
    let app = &c.app;
    let a = c.book(&c.wellness(&at("09:00"))).await;
    let (cl1, cat1) = c.new_cat("Old", "Routine").await;
    let routine_old = c.entry(&cl1, &cat1, json!({})).await;
    let (cl2, cat2) = c.new_cat("New", "Urgent").await;
    let urgent = c.entry(&cl2, &cat2, json!({"urgency": "urgent"})).await;
    let (cl3, cat3) = c.new_cat("Nail", "Short").await;
    // A 10-minute nail trim fits in the 30-minute slot, but ranks after the same type.
    let nails = c.entry(&cl3, &cat3, json!({"type_id": c.ty("Nail trim"), "urgency": "urgent"})).await;
    let (cl4, cat4) = c.new_cat("Late", "Afternoon").await;
    c.entry(&cl4, &cat4, json!({"time_of_day": "afternoon"})).await;
    let (cl5, cat5) = c.new_cat("Later", "Window").await;
    c.entry(&cl5, &cat5, json!({"earliest": day(1).to_string()})).await;
    let (cl6, cat6) = c.new_cat("Other", "Vet").await;
    c.entry(&cl6, &cat6, json!({"vet_id": c.surgeon})).await;
    let (cl7, cat7) = c.new_cat("Long", "Dental").await;
    c.entry(&cl7, &cat7, json!({"type_id": c.ty("Senior wellness exam")})).await;

    let matches = app.get_json(&format!("/api/waitlist/matches/{}", id_of(&a))).await;
    let order: Vec<&str> = matches.as_array().unwrap().iter().map(|m| m["entry"]["id"].as_str().unwrap()).collect();
    assert_eq!(
        order,
        vec![urgent["id"].as_str().unwrap(), routine_old["id"].as_str().unwrap(), nails["id"].as_str().unwrap()]
    );
    assert_eq!(matches[2]["same_type"], false);
    let res = app.get(&format!("/api/waitlist/matches/{UNKNOWN_ID}")).await;
    assert_error(res, StatusCode::NOT_FOUND, "appointment_not_found", None).await;
}

#[tokio::test]
async fn a_cancellation_offers_the_slot_and_the_first_to_accept_gets_it() {
    let c = Clinic::new().await;
    let app = &c.app;
    let a = c.book(&c.wellness(&at("09:00"))).await;
    let mut entries = Vec::new();
    for i in 0..4 {
        let (cl, cat) = c.new_cat(&format!("Wait{i}"), &format!("Kit{i}")).await;
        entries.push(c.entry(&cl, &cat, json!({})).await);
    }
    let res = app
        .post_json(
            &format!("/api/appointments/{}/transition", id_of(&a)),
            &json!({"to": "cancelled", "reason": "owner away"}),
        )
        .await;
    expect_json(res, StatusCode::OK).await;
    // Three offers (the oldest three entries), made by the listener on the event log.
    let offers = wait_for(app, "/api/waitlist/offers?status=pending", |v| v.as_array().unwrap().len() == 3).await;
    let offered: Vec<&str> = offers.as_array().unwrap().iter().map(|o| o["entry_id"].as_str().unwrap()).collect();
    for e in &entries[..3] {
        assert!(offered.contains(&e["id"].as_str().unwrap()));
    }
    assert_eq!(offers[0]["slot"]["appointment_id"], a["id"]);
    assert_eq!(app.get_json(&format!("/api/waitlist/{}", id_of(&entries[0]))).await["status"], "offered");
    assert_eq!(app.get_json(&format!("/api/waitlist/{}", id_of(&entries[3]))).await["status"], "active");

    // The second entry's owner calls back first.
    let second = offers.as_array().unwrap().iter().find(|o| o["entry_id"] == entries[1]["id"]).unwrap();
    let won = expect_json(
        app.post_json(&format!("/api/waitlist/offers/{}/accept", id_of(second)), &json!({})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(won["appointment"]["source"], "waitlist");
    assert_eq!(won["appointment"]["start"], a["start"]);
    assert_eq!(won["appointment"]["vet_id"], a["vet_id"]);
    assert_eq!(won["offer"]["status"], "accepted");
    let e1 = app.get_json(&format!("/api/waitlist/{}", id_of(&entries[1]))).await;
    assert_eq!(
        (e1["status"].as_str(), e1["appointment_id"].as_str()),
        (Some("fulfilled"), won["appointment"]["id"].as_str())
    );
    // The others lose their offers and wait again.
    let first = offers.as_array().unwrap().iter().find(|o| o["entry_id"] == entries[0]["id"]).unwrap();
    let res = app.post_json(&format!("/api/waitlist/offers/{}/accept", id_of(first)), &json!({})).await;
    assert_error(res, StatusCode::CONFLICT, "offer_closed", None).await;
    assert_eq!(app.get_json(&format!("/api/waitlist/{}", id_of(&entries[0]))).await["status"], "active");
    assert_eq!(app.get_json("/api/waitlist/offers?status=superseded").await.as_array().unwrap().len(), 2);
    let res = app.post_json(&format!("/api/waitlist/offers/{UNKNOWN_ID}/accept"), &json!({})).await;
    assert_error(res, StatusCode::NOT_FOUND, "offer_not_found", None).await;
}

#[tokio::test]
async fn a_declined_offer_frees_the_entry() {
    let c = Clinic::new().await;
    let app = &c.app;
    let a = c.book(&c.wellness(&at("10:00"))).await;
    let (cl, cat) = c.new_cat("Busy", "Bee").await;
    let e = c.entry(&cl, &cat, json!({})).await;
    app.post_json(&format!("/api/appointments/{}/transition", id_of(&a)), &json!({"to": "cancelled", "reason": "x"}))
        .await;
    let offers = wait_for(app, "/api/waitlist/offers", |v| v.as_array().unwrap().len() == 1).await;
    let path = format!("/api/waitlist/offers/{}/decline", id_of(&offers[0]));
    let declined = expect_json(app.post_json(&path, &json!({})).await, StatusCode::OK).await;
    assert_eq!(declined["status"], "declined");
    assert_eq!(app.get_json(&format!("/api/waitlist/{}", id_of(&e))).await["status"], "active");
    assert_error(app.post_json(&path, &json!({})).await, StatusCode::CONFLICT, "offer_closed", None).await;
}

#[tokio::test]
async fn an_offer_expires_and_can_no_longer_be_accepted() {
    let app = TestApp::spawn_with(|a| a.waitlist_offer_secs = 1).await;
    app.login_admin().await;
    let c = Clinic::on(app).await;
    let app = &c.app;
    let a = c.book(&c.wellness(&at("10:00"))).await;
    let (cl, cat) = c.new_cat("Slow", "Sleepy").await;
    let e = c.entry(&cl, &cat, json!({})).await;
    app.post_json(&format!("/api/appointments/{}/transition", id_of(&a)), &json!({"to": "cancelled", "reason": "x"}))
        .await;
    let path = format!("/api/waitlist/offers?entry_id={}", id_of(&e));
    let offers = wait_for(app, &path, |v| v.as_array().unwrap().len() == 1).await;
    // A second later it has expired, whether or not the sweep has run.
    wait_for(app, &path, |v| v[0]["status"] == "expired").await;
    let res = app.post_json(&format!("/api/waitlist/offers/{}/accept", id_of(&offers[0])), &json!({})).await;
    assert_error(res, StatusCode::CONFLICT, "offer_closed", None).await;
}

#[tokio::test]
async fn staff_can_fulfill_an_entry_with_a_freed_slot_by_hand() {
    let c = Clinic::new().await;
    let app = &c.app;
    let a = c.book(&c.wellness(&at("11:00"))).await;
    let (cl, cat) = c.new_cat("Hand", "Picked").await;
    let e = c.entry(&cl, &cat, json!({"urgency": "urgent"})).await;
    let path = format!("/api/waitlist/{}/fulfill", id_of(&e));
    let res = app.post_json(&path, &json!({"from_appointment_id": id_of(&a)})).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("from_appointment_id")).await;
    app.post_json(&format!("/api/appointments/{}/transition", id_of(&a)), &json!({"to": "cancelled", "reason": "x"}))
        .await;
    let booked =
        expect_json(app.post_json(&path, &json!({"from_appointment_id": id_of(&a)})).await, StatusCode::CREATED).await;
    assert_eq!((booked["source"].as_str(), booked["start"].as_str()), (Some("waitlist"), a["start"].as_str()));
    assert_eq!(app.get_json(&format!("/api/waitlist/{}", id_of(&e))).await["status"], "fulfilled");
    // An explicit slot works too, and conflicts are still conflicts.
    let (cl2, cat2) = c.new_cat("Other", "One").await;
    let e2 = c.entry(&cl2, &cat2, json!({})).await;
    let res = app
        .post_json(&format!("/api/waitlist/{}/fulfill", id_of(&e2)), &json!({"start": a["start"], "vet_id": c.vet}))
        .await;
    assert_error(res, StatusCode::CONFLICT, "appointment_conflict", Some("vet_id")).await;
    let ok = app
        .post_json(&format!("/api/waitlist/{}/fulfill", id_of(&e2)), &json!({"start": at("15:00"), "vet_id": c.vet}))
        .await;
    expect_json(ok, StatusCode::CREATED).await;
}
