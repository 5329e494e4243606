//! The hospital ward (`/api/wards`, `/api/admissions`): admitting a cat from a visit to a
//! cage, one active admission per cat and one cat per cage, the treatment sheet with its due
//! slots marked done or skipped once, vitals entered on the sheet through the vitals record,
//! discharge closing the sheet, the board with overdue slots and its live topic, and the bad
//! input of docs/ward.md.

use jiff::{SignedDuration, Timestamp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::access::staff_user;
use crate::calendar::Clinic;
use crate::helpers::{TestApp, UNKNOWN_ID, assert_error, expect_json, id_of};
use crate::live::{connect, next, send};
use crate::visits::walk_in;

pub(crate) struct Ward {
    pub c: Clinic,
    pub ward: String,
    pub visit: String,
    pub visit2: String,
}

impl Ward {
    pub(crate) async fn new() -> Ward {
        let c = Clinic::new().await;
        let body = json!({"location_id": c.location, "name": "Cat ward", "cages": ["C1", "C2", "C3"]});
        let ward = id_of(&expect_json(c.app.post_json("/api/wards", &body).await, StatusCode::CREATED).await);
        let visit = id_of(
            &expect_json(c.app.post_json("/api/visits", &walk_in(&c.cat, &c.vet)).await, StatusCode::CREATED).await,
        );
        let visit2 = id_of(
            &expect_json(c.app.post_json("/api/visits", &walk_in(&c.cat2, &c.vet)).await, StatusCode::CREATED).await,
        );
        Ward { c, ward, visit, visit2 }
    }

    fn app(&self) -> &TestApp {
        &self.c.app
    }

    async fn admit_to(&self, visit: &str, cage: &str) -> reqwest::Response {
        let body = json!({"ward_id": self.ward, "cage": cage, "visit_id": visit, "reason": "Dehydrated, not eating"});
        self.app().post_json("/api/admissions", &body).await
    }

    async fn admit(&self) -> Value {
        expect_json(self.admit_to(&self.visit, "C1").await, StatusCode::CREATED).await
    }

    async fn treat(&self, admission: &str, body: Value) -> reqwest::Response {
        self.app().post_json(&format!("/api/admissions/{admission}/treatments"), &body).await
    }

    async fn move_to(&self, admission: &str, body: Value) -> reqwest::Response {
        self.app().post_json(&format!("/api/admissions/{admission}/move"), &body).await
    }

    async fn mark(&self, admission: &str, body: Value) -> reqwest::Response {
        self.app().post_json(&format!("/api/admissions/{admission}/slots"), &body).await
    }
}

fn now(app: &TestApp) -> Timestamp {
    app.system.ctx.clock.now()
}

/// A start a whole number of seconds in the past, so `due` round-trips exactly.
fn ago(app: &TestApp, mins: i64) -> Timestamp {
    let t = now(app) - SignedDuration::from_mins(mins);
    Timestamp::from_second(t.as_second()).unwrap()
}

fn every(start: Timestamp, hours: u32) -> Value {
    json!({"start": start.to_string(), "every_hours": hours})
}

fn pain_check(start: Timestamp) -> Value {
    json!({"treatment": {"type": "check", "check": "pain_score"}, "schedule": every(start, 4)})
}

#[tokio::test]
async fn a_cat_is_admitted_from_its_visit_to_a_cage_and_the_retry_of_the_admission_is_answered_once() {
    let w = Ward::new().await;
    let body = json!({"ward_id": w.ward, "cage": "c1", "visit_id": w.visit, "reason": "Dehydrated"});
    let send =
        || w.app().request(Method::POST, "/api/admissions").header("Idempotency-Key", "admit-1").json(&body).send();
    let first = expect_json(send().await.unwrap(), StatusCode::CREATED).await;
    assert_eq!(first["patient_id"], w.c.cat.as_str(), "the visit's cat");
    assert_eq!(first["attending_vet_id"], w.c.vet.as_str(), "the visit's vet by default");
    assert_eq!((first["cage"].as_str(), first["status"].as_str()), (Some("C1"), Some("admitted")));
    let again = send().await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"]);
    assert_eq!(w.app().get_json(&format!("/api/admissions/{}", id_of(&first))).await, first);
}

#[tokio::test]
async fn one_active_admission_per_cat_and_one_cat_per_cage_until_discharge() {
    let w = Ward::new().await;
    let a = w.admit().await;
    // The same cat again (from the same visit or another cage).
    assert_error(w.admit_to(&w.visit, "C2").await, StatusCode::CONFLICT, "duplicate_value", Some("patient_id")).await;
    // Another cat into the taken cage.
    assert_error(w.admit_to(&w.visit2, "C1").await, StatusCode::CONFLICT, "duplicate_value", Some("cage")).await;
    // Discharged: the cage and the cat are free.
    let out = expect_json(
        w.app().post_json(&format!("/api/admissions/{}/discharge", id_of(&a)), &json!({"note": "Home, eating"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(out["status"], "discharged");
    expect_json(w.admit_to(&w.visit2, "C1").await, StatusCode::CREATED).await;
    expect_json(w.admit_to(&w.visit, "C2").await, StatusCode::CREATED).await;
}

#[tokio::test]
async fn bad_admissions_are_refused_and_a_foreign_ward_is_not_found() {
    let w = Ward::new().await;
    let body = json!({"ward_id": UNKNOWN_ID, "cage": "C1", "visit_id": w.visit, "reason": "x"});
    assert_error(w.app().post_json("/api/admissions", &body).await, StatusCode::NOT_FOUND, "ward_not_found", None)
        .await;
    assert_error(
        w.app().get(&format!("/api/wards/{UNKNOWN_ID}/board")).await,
        StatusCode::NOT_FOUND,
        "ward_not_found",
        None,
    )
    .await;
    assert_error(
        w.admit_to(&w.visit, "Kennel 9").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("cage"),
    )
    .await;
    let body = json!({"ward_id": w.ward, "cage": "C1", "visit_id": UNKNOWN_ID, "reason": "x"});
    assert_error(w.app().post_json("/api/admissions", &body).await, StatusCode::NOT_FOUND, "visit_not_found", None)
        .await;
    let body = json!({"location_id": w.c.location, "name": "ICU", "cages": ["A", "a"]});
    assert_error(
        w.app().post_json("/api/wards", &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("cages"),
    )
    .await;
    // Nothing was admitted by any of them.
    let board = w.app().get_json(&format!("/api/wards/{}/board", w.ward)).await;
    assert!(board["cages"].as_array().unwrap().iter().all(|c| c["admission"].is_null()), "{board}");
}

#[tokio::test]
async fn impossible_treatments_are_refused_naming_the_field() {
    let w = Ward::new().await;
    let a = id_of(&w.admit().await);
    let start = ago(w.app(), 0);
    let cases = [
        (
            json!({"type": "fluids", "fluid": "LRS", "rate_ml_per_h": 0, "route": "iv"}),
            every(start, 8),
            "treatment.rate_ml_per_h",
        ),
        (
            json!({"type": "fluids", "fluid": "LRS", "rate_ml_per_h": 5000, "route": "iv"}),
            every(start, 8),
            "treatment.rate_ml_per_h",
        ),
        (json!({"type": "feeding", "food": "Renal diet", "amount": "20 g"}), every(start, 0), "schedule.every_hours"),
        (
            json!({"type": "feeding", "food": "Renal diet", "amount": "20 g"}),
            json!({"start": start.to_string()}),
            "schedule",
        ),
        (
            json!({"type": "medication", "drug": " ", "dose": "1 mg", "route": "oral"}),
            every(start, 8),
            "treatment.drug",
        ),
    ];
    for (treatment, schedule, field) in cases {
        let body = json!({"treatment": treatment, "schedule": schedule});
        assert_error(w.treat(&a, body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
    }
    let sheet = w.app().get_json(&format!("/api/admissions/{a}")).await;
    assert_eq!(sheet["treatments"], json!([]), "nothing was scheduled");
}

#[tokio::test]
async fn a_due_slot_is_marked_done_once_late_entries_keep_their_time_and_skips_need_a_reason() {
    let w = Ward::new().await;
    let a = id_of(&w.admit().await);
    let start = ago(w.app(), 50);
    let fluids = json!({"treatment": {"type": "fluids", "fluid": "Hartmann's", "rate_ml_per_h": 12.5, "route": "iv"},
                        "schedule": every(start, 1)});
    let sheet = expect_json(w.treat(&a, fluids).await, StatusCode::OK).await;
    let t = sheet["treatments"][0]["id"].as_str().unwrap().to_owned();
    let given_at = ago(w.app(), 20);
    let done = json!({"treatment_id": t, "due": start.to_string(), "outcome": "done", "at": given_at.to_string()});
    let sheet = expect_json(w.mark(&a, done.clone()).await, StatusCode::OK).await;
    let m = &sheet["marks"][0];
    assert_eq!((m["outcome"].as_str(), m["at"].as_str()), (Some("done"), Some(given_at.to_string().as_str())));
    assert!(m["entered_at"].as_str().unwrap() > m["at"].as_str().unwrap(), "a late entry: {m}");
    // Twice: a clear 409, and the sheet keeps one mark.
    let body = assert_error(w.mark(&a, done).await, StatusCode::CONFLICT, "slot_already_marked", None).await;
    assert!(body["message"].as_str().unwrap().contains("done"), "{body}");
    // Not a slot of the schedule.
    let off = json!({"treatment_id": t, "due": (start + SignedDuration::from_mins(7)).to_string(), "outcome": "done"});
    assert_error(w.mark(&a, off).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("due")).await;
    // A skip needs its reason.
    let next = (start + SignedDuration::from_hours(1)).to_string();
    let skip = json!({"treatment_id": t, "due": next, "outcome": "skipped"});
    assert_error(w.mark(&a, skip).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("reason")).await;
    let skip = json!({"treatment_id": t, "due": next, "outcome": "skipped", "reason": "Catheter out; vet informed"});
    let sheet = expect_json(w.mark(&a, skip).await, StatusCode::OK).await;
    assert_eq!(sheet["marks"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_discharged_admission_takes_no_marks_and_no_treatments() {
    let w = Ward::new().await;
    let a = id_of(&w.admit().await);
    let start = ago(w.app(), 10);
    let sheet = expect_json(w.treat(&a, pain_check(start)).await, StatusCode::OK).await;
    let t = sheet["treatments"][0]["id"].as_str().unwrap().to_owned();
    expect_json(w.app().post_json(&format!("/api/admissions/{a}/discharge"), &json!({})).await, StatusCode::OK).await;
    let done = json!({"treatment_id": t, "due": start.to_string(), "outcome": "done"});
    assert_error(w.mark(&a, done).await, StatusCode::CONFLICT, "admission_discharged", None).await;
    assert_error(w.treat(&a, pain_check(start)).await, StatusCode::CONFLICT, "admission_discharged", None).await;
    // Discharging again changes nothing.
    let again =
        expect_json(w.app().post_json(&format!("/api/admissions/{a}/discharge"), &json!({})).await, StatusCode::OK)
            .await;
    assert_eq!(again["marks"], json!([]));
}

#[tokio::test]
async fn vitals_entered_on_the_sheet_are_the_cats_vitals_record_linked_to_the_slot() {
    let w = Ward::new().await;
    let a = id_of(&w.admit().await);
    let start = ago(w.app(), 5);
    let body = json!({"treatment": {"type": "check", "check": "vitals"}, "schedule": every(start, 6)});
    let sheet = expect_json(w.treat(&a, body).await, StatusCode::OK).await;
    let t = sheet["treatments"][0]["id"].as_str().unwrap().to_owned();
    let done = json!({"treatment_id": t, "due": start.to_string(), "outcome": "done",
                      "vitals": {"temperature_c": 39.9, "weight": {"value": 4.1, "unit": "kg"}}});
    let sheet = expect_json(w.mark(&a, done.clone()).await, StatusCode::OK).await;
    let vitals_id = sheet["marks"][0]["vitals_id"].as_str().unwrap().to_owned();
    let v = w.app().get_json(&format!("/api/vitals/{vitals_id}")).await;
    assert_eq!((v["patient_id"].as_str(), v["visit_id"].as_str()), (Some(w.c.cat.as_str()), Some(w.visit.as_str())));
    assert_eq!(v["flags"][0]["field"], "temperature_c", "flagged like any vitals");
    let weights = w.app().get_json(&format!("/api/patients/{}/weights", w.c.cat)).await;
    assert_eq!(weights["items"][0]["vitals_id"], vitals_id.as_str(), "in the weight history");
    // Marked twice: refused before a second vitals record is made.
    assert_error(w.mark(&a, done).await, StatusCode::CONFLICT, "slot_already_marked", None).await;
    let all = w.app().get_json(&format!("/api/patients/{}/vitals", w.c.cat)).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_board_shows_each_cage_its_cat_and_overdue_slots_and_nothing_of_the_owner() {
    let w = Ward::new().await;
    let a = id_of(&w.admit().await);
    // Due 45 minutes ago (overdue after 30), and due 10 minutes ago (not yet).
    expect_json(w.treat(&a, pain_check(ago(w.app(), 45))).await, StatusCode::OK).await;
    let feed = json!({"treatment": {"type": "feeding", "food": "Recovery diet", "amount": "15 g"}, "schedule": every(ago(w.app(), 10), 4)});
    expect_json(w.treat(&a, feed).await, StatusCode::OK).await;
    let board = w.app().get_json(&format!("/api/wards/{}/board", w.ward)).await;
    assert_eq!(board["name"], "Cat ward");
    assert_eq!(board["overdue_count"], 1);
    let c1 = &board["cages"][0];
    assert_eq!((c1["cage"].as_str(), c1["admission"]["patient_name"].as_str()), (Some("C1"), Some("Mittens")));
    let pending = c1["admission"]["pending"].as_array().unwrap();
    let flags: Vec<(&str, bool)> =
        pending.iter().map(|s| (s["label"].as_str().unwrap(), s["overdue"].as_bool().unwrap())).collect();
    assert_eq!(flags, [("Pain score", true), ("Feed 15 g Recovery diet", false)]);
    assert_eq!(c1["admission"]["next"].as_array().unwrap().len(), 4, "the next four slots");
    assert!(board["cages"][1]["admission"].is_null());
    let text = board.to_string();
    assert!(!text.contains("Smith") && !text.contains('@'), "no owner on the board: {text}");
}

#[tokio::test]
async fn the_ward_topic_pushes_marks_to_readers_of_the_ward_only() {
    let w = Ward::new().await;
    let a = id_of(&w.admit().await);
    let start = ago(w.app(), 5);
    let sheet = expect_json(w.treat(&a, pain_check(start)).await, StatusCode::OK).await;
    let t = sheet["treatments"][0]["id"].as_str().unwrap().to_owned();
    let topic = format!("ward:{}", w.ward);
    let mut tech = connect(w.app(), &staff_user(w.app(), "ward_tech", &["vet_tech"]).await).await;
    send(&mut tech, json!({"op": "subscribe", "topics": [topic]})).await;
    assert_eq!(next(&mut tech).await["type"], "subscribed");
    let mut desk = connect(w.app(), &staff_user(w.app(), "ward_desk", &["receptionist"]).await).await;
    send(&mut desk, json!({"op": "subscribe", "topics": [topic]})).await;
    let refused = next(&mut desk).await;
    assert_eq!((refused["type"].as_str(), refused["error"]["code"].as_str()), (Some("error"), Some("forbidden")));
    expect_json(
        w.mark(&a, json!({"treatment_id": t, "due": start.to_string(), "outcome": "done"})).await,
        StatusCode::OK,
    )
    .await;
    let frame = next(&mut tech).await;
    assert_eq!((frame["topic"].as_str(), frame["type"].as_str()), (Some(topic.as_str()), Some("slot_marked")));
    assert_eq!(frame["data"]["admission_id"], a.as_str());
    assert!(frame["data"].get("outcome").is_none(), "ids only: {frame}");
}

#[tokio::test]
async fn a_treatment_done_is_charged_on_the_visits_draft_and_one_without_an_item_is_an_uncharged_entry() {
    let w = Ward::new().await;
    let a = id_of(&w.admit().await);
    let item = json!({"name": "Injection, buprenorphine", "category": "Hospital", "kind": "service", "price": 1850});
    let item = id_of(&expect_json(w.app().post_json("/api/catalogue", &item).await, StatusCode::CREATED).await);
    let start = ago(w.app(), 5);
    let bup = json!({"treatment": {"type": "medication", "drug": "Buprenorphine", "dose": "0.02 mg/kg", "route": "oral"},
                     "schedule": every(start, 8), "catalogue_item_id": item});
    let sheet = expect_json(w.treat(&a, bup).await, StatusCode::OK).await;
    let bup = sheet["treatments"][0]["id"].as_str().unwrap().to_owned();
    let sheet = expect_json(w.treat(&a, pain_check(start)).await, StatusCode::OK).await;
    let pain = sheet["treatments"][1]["id"].as_str().unwrap().to_owned();
    for t in [&bup, &pain] {
        expect_json(
            w.mark(&a, json!({"treatment_id": t, "due": start.to_string(), "outcome": "done"})).await,
            StatusCode::OK,
        )
        .await;
    }
    let page = w
        .app()
        .poll_json(&format!("/api/invoices?visit_id={}", w.visit), |p| {
            p["items"].as_array().unwrap().iter().any(|i| {
                i["lines"].as_array().unwrap().iter().any(|l| l["item_id"] == item.as_str())
                    && i["uncharged"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|u| u["description"].as_str().unwrap().starts_with("Pain score"))
            })
        })
        .await;
    let inv = &page["items"][0];
    let line = inv["lines"].as_array().unwrap().iter().find(|l| l["item_id"] == item.as_str()).unwrap();
    assert_eq!(line["unit_price"], 1850);
    assert!(line["source"].as_str().unwrap().starts_with(&format!("treatment:{a}/{bup}/")), "{line}");
}

/// The board without its instant (two reads a moment apart differ only there).
fn cages_of(board: &Value) -> Value {
    board["cages"].clone()
}

#[tokio::test]
async fn the_board_comes_from_the_wards_actor_and_is_the_same_after_passivation_and_a_restart() {
    let w = Ward::new().await;
    let a = id_of(&w.admit().await);
    let start = ago(w.app(), 5);
    let sheet = expect_json(w.treat(&a, pain_check(start)).await, StatusCode::OK).await;
    let t = sheet["treatments"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/wards/{}/board", w.ward);
    let before = w.app().get_json(&path).await;
    assert_eq!(before["cages"][0]["admission"]["admission_id"], a.as_str(), "{before}");
    assert_eq!(before["cages"][0]["admission"]["pending"][0]["treatment_id"], t.as_str());
    assert!(w.app().system.ward_boards.live() >= 1, "the ward's actor holds the board");
    // Marked: the actor learns it after the commit, without a rebuild.
    expect_json(
        w.mark(&a, json!({"treatment_id": t, "due": start.to_string(), "outcome": "done"})).await,
        StatusCode::OK,
    )
    .await;
    let marked = w.app().get_json(&path).await;
    assert_eq!(marked["cages"][0]["admission"]["pending"], json!([]), "{marked}");
    // Sent away and rebuilt from the store: the same board.
    w.app().system.ward_boards.passivate_all();
    assert_eq!(cages_of(&w.app().get_json(&path).await), cages_of(&marked));
    // A restart of the server: the same board again.
    let Ward { c, ward, .. } = w;
    let dir = c.app.stop().await;
    let app = TestApp::spawn_in_with(dir, |_| {}).await;
    app.login_admin().await;
    let after = app.get_json(&format!("/api/wards/{ward}/board")).await;
    assert_eq!(cages_of(&after), cages_of(&marked));
    // The board read is audited as a list of the admissions it shows.
    let audit = app
        .poll_json("/api/audit?action=admission.list", |p| {
            p["items"].as_array().unwrap().iter().any(|e| e["detail"]["ward_id"] == ward.as_str())
        })
        .await;
    assert!(audit.to_string().contains(&a), "{audit}");
}

#[tokio::test]
async fn a_cat_moves_to_a_free_cage_of_its_ward_or_another_and_both_boards_follow() {
    let w = Ward::new().await;
    let a = id_of(&w.admit().await);
    let b = id_of(&expect_json(w.admit_to(&w.visit2, "C2").await, StatusCode::CREATED).await);
    let body = json!({"location_id": w.c.location, "name": "ICU", "cages": ["I1", "I2"]});
    let icu = id_of(&expect_json(w.app().post_json("/api/wards", &body).await, StatusCode::CREATED).await);
    // To an occupied cage: the claim refuses it, nothing moves.
    assert_error(w.move_to(&a, json!({"cage": "C2"})).await, StatusCode::CONFLICT, "duplicate_value", Some("cage"))
        .await;
    // To a cage out of use, to no cage, to an unknown ward.
    let close = json!({"cages": [{"name": "C1"}, {"name": "C2"}, {"name": "C3", "active": false}]});
    expect_json(w.app().patch_json(&format!("/api/wards/{}", w.ward), &close).await, StatusCode::OK).await;
    assert_error(
        w.move_to(&a, json!({"cage": "C3"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("cage"),
    )
    .await;
    assert_error(
        w.move_to(&a, json!({"cage": "Z9"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("cage"),
    )
    .await;
    assert_error(
        w.move_to(&a, json!({"ward_id": UNKNOWN_ID, "cage": "I1"})).await,
        StatusCode::NOT_FOUND,
        "ward_not_found",
        None,
    )
    .await;
    // Watched on both boards.
    let mut tech = connect(w.app(), &staff_user(w.app(), "move_tech", &["vet_tech"]).await).await;
    send(&mut tech, json!({"op": "subscribe", "topics": [format!("ward:{icu}")]})).await;
    assert_eq!(next(&mut tech).await["type"], "subscribed");
    let moved = expect_json(w.move_to(&a, json!({"ward_id": icu, "cage": "i2"})).await, StatusCode::OK).await;
    assert_eq!((moved["ward_id"].as_str(), moved["cage"].as_str()), (Some(icu.as_str()), Some("I2")));
    let frame = next(&mut tech).await;
    assert_eq!(frame["type"], "admission_moved", "{frame}");
    assert_eq!(frame["data"]["from_cage"], "C1");
    let old = w.app().get_json(&format!("/api/wards/{}/board", w.ward)).await;
    assert!(old["cages"][0]["admission"].is_null(), "C1 is empty: {old}");
    assert_eq!(old["cages"][2]["inactive"], true);
    let new = w.app().get_json(&format!("/api/wards/{icu}/board")).await;
    assert_eq!(new["cages"][1]["admission"]["admission_id"], a.as_str(), "{new}");
    // The old cage is free: the other cat moves into it.
    expect_json(w.move_to(&b, json!({"cage": "C1"})).await, StatusCode::OK).await;
    // A discharged cat moves nowhere.
    let out = format!("/api/admissions/{a}/discharge");
    expect_json(w.app().post_json(&out, &json!({})).await, StatusCode::OK).await;
    assert_error(w.move_to(&a, json!({"cage": "I1"})).await, StatusCode::CONFLICT, "admission_discharged", None).await;
}

#[tokio::test]
async fn a_stopped_treatment_loses_its_future_slots_keeps_its_marks_and_stops_once() {
    let w = Ward::new().await;
    let a = id_of(&w.admit().await);
    let start = ago(w.app(), 50);
    let fluids = json!({"treatment": {"type": "fluids", "fluid": "LRS", "rate_ml_per_h": 10, "route": "iv"},
                        "schedule": every(start, 1)});
    let sheet = expect_json(w.treat(&a, fluids).await, StatusCode::OK).await;
    let t = sheet["treatments"][0]["id"].as_str().unwrap().to_owned();
    expect_json(
        w.mark(&a, json!({"treatment_id": t, "due": start.to_string(), "outcome": "done"})).await,
        StatusCode::OK,
    )
    .await;
    let board = w.app().get_json(&format!("/api/wards/{}/board", w.ward)).await;
    assert!(!board["cages"][0]["admission"]["next"].as_array().unwrap().is_empty(), "{board}");
    let stop = format!("/api/admissions/{a}/treatments/{t}/stop");
    assert_error(
        w.app().post_json(&stop, &json!({"reason": " "})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("reason"),
    )
    .await;
    assert_error(
        w.app().post_json(&format!("/api/admissions/{a}/treatments/{UNKNOWN_ID}/stop"), &json!({"reason": "x"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("treatment_id"),
    )
    .await;
    let sheet = expect_json(w.app().post_json(&stop, &json!({"reason": "Drinking well"})).await, StatusCode::OK).await;
    assert_eq!(sheet["treatments"][0]["stop_reason"], "Drinking well");
    assert_eq!(sheet["marks"].as_array().unwrap().len(), 1, "the done slot stays");
    let board = w.app().get_json(&format!("/api/wards/{}/board", w.ward)).await;
    let cat = &board["cages"][0]["admission"];
    assert_eq!((cat["pending"].clone(), cat["next"].clone()), (json!([]), json!([])), "{board}");
    assert_error(
        w.app().post_json(&stop, &json!({"reason": "again"})).await,
        StatusCode::CONFLICT,
        "treatment_stopped",
        None,
    )
    .await;
}

#[tokio::test]
async fn a_ward_edit_adds_renames_and_closes_cages_but_never_an_occupied_one() {
    let w = Ward::new().await;
    w.admit().await;
    let path = format!("/api/wards/{}", w.ward);
    let edit = json!({"name": "Cat ward (upstairs)", "cages": [
        {"name": "C1"}, {"name": "Kennel 2", "from": "C2"}, {"name": "C3", "active": false}, {"name": "C4"}]});
    let ward = expect_json(w.app().patch_json(&path, &edit).await, StatusCode::OK).await;
    assert_eq!(ward["cages"], json!(["C1", "Kennel 2", "C3", "C4"]));
    assert_eq!(ward["inactive_cages"], json!(["C3"]));
    let board = w.app().get_json(&format!("{path}/board")).await;
    assert_eq!(board["name"], "Cat ward (upstairs)", "the actor follows the edit");
    assert_eq!(board["cages"].as_array().unwrap().len(), 4);
    // No cat into a closed cage.
    assert_error(
        w.admit_to(&w.visit2, "C3").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("cage"),
    )
    .await;
    // C1 has a cat: not removed, renamed or closed.
    for cages in [
        json!([{"name": "Kennel 2"}]),
        json!([{"name": "Box 1", "from": "C1"}, {"name": "Kennel 2"}]),
        json!([{"name": "C1", "active": false}, {"name": "Kennel 2"}]),
    ] {
        assert_error(
            w.app().patch_json(&path, &json!({"cages": cages})).await,
            StatusCode::CONFLICT,
            "cage_occupied",
            None,
        )
        .await;
    }
    assert_error(
        w.app().patch_json(&path, &json!({"cages": [{"name": "C1"}, {"name": "c1"}]})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("cages"),
    )
    .await;
    assert_eq!(w.app().get_json(&path).await, ward, "nothing changed by the refused edits");
    // A closed cage opened again takes a cat.
    let open = json!({"cages": [{"name": "C1"}, {"name": "Kennel 2"}, {"name": "C3"}, {"name": "C4"}]});
    expect_json(w.app().patch_json(&path, &open).await, StatusCode::OK).await;
    expect_json(w.admit_to(&w.visit2, "C3").await, StatusCode::CREATED).await;
}

#[tokio::test]
async fn an_overdue_slot_is_announced_once_on_the_ward_and_the_location_board_and_not_again_after_a_restart() {
    let w = Ward::new().await;
    let a = id_of(&w.admit().await);
    let tech = staff_user(w.app(), "overdue_tech", &["vet_tech"]).await;
    // One socket per topic (a socket gets an event once, whichever of its topics it came by).
    let mut sockets = Vec::new();
    for topic in [format!("ward:{}", w.ward), format!("dashboard:{}", w.c.location)] {
        let mut ws = connect(w.app(), &tech).await;
        send(&mut ws, json!({"op": "subscribe", "topics": [topic]})).await;
        // The dashboard sends its snapshot too.
        while next(&mut ws).await["type"] != "subscribed" {}
        sockets.push((topic, ws));
    }
    // Due two hours ago, every four hours: overdue since 90 minutes; the next is in 2 hours.
    let start = ago(w.app(), 120);
    let sheet = expect_json(w.treat(&a, pain_check(start)).await, StatusCode::OK).await;
    let t = sheet["treatments"][0]["id"].as_str().unwrap().to_owned();
    for (topic, ws) in &mut sockets {
        let f = loop {
            let f = next(ws).await;
            if f["type"] == "ward_treatment_overdue" {
                break f;
            }
        };
        assert_eq!(f["topic"], topic.as_str());
        assert_eq!(
            (f["data"]["treatment_id"].as_str(), f["data"]["due"].as_str()),
            (Some(t.as_str()), Some(start.to_string().as_str()))
        );
        assert!(f["data"].get("label").is_none(), "ids only: {f}");
    }
    let alerts = |app: &TestApp| {
        app.system.events_after(0, 100_000).unwrap().into_iter().filter(|e| e.kind == "ward_treatment_overdue").count()
    };
    assert_eq!(alerts(w.app()), 1);
    // The next slot's job is waiting; after a restart nothing is announced twice.
    let jobs = format!("/api/jobs?kind=ward_treatment_overdue&subject=admission:{a}");
    let page =
        w.app().poll_json(&jobs, |p| p["items"].as_array().unwrap().iter().any(|j| j["state"] == "queued")).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2, "{page}");
    let Ward { c, .. } = w;
    let dir = c.app.stop().await;
    let app = TestApp::spawn_in_with(dir, |_| {}).await;
    app.login_admin().await;
    let page = app.get_json(&jobs).await;
    let states: Vec<&str> = page["items"].as_array().unwrap().iter().map(|j| j["state"].as_str().unwrap()).collect();
    assert!(states.contains(&"succeeded") && states.contains(&"queued"), "{page}");
    assert_eq!(alerts(&app), 1);
}
