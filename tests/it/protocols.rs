//! Protocols and treatment plans through HTTP: protocols versioned and checked (offsets,
//! empty ones, catalogue prices), the built-in starters, applying one to a cat (the steps'
//! dates, the version kept, one plan for a retried `Idempotency-Key`), the refusals (inactive
//! protocol, deceased or inactive cat, unknown ids), plan changes with their history (booked,
//! done once, skipped, moved, added, removed, cancelled; a reason required), the offer of
//! slots, a step booked and linked in one request (or its appointment withdrawn), progress and
//! estimated against actual cost, audited reads, and who may do what.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::access::staff_user;
use crate::calendar::{Clinic, DAY, day};
use crate::helpers::{TestApp, UNKNOWN_ID, assert_error, expect_json, id_of};
use crate::visits::{as_user, walk_in};

fn protocol(steps: Value) -> Value {
    json!({"name": "Dental cleaning", "species_note": "adult cats", "steps": steps})
}

fn step(title: &str, day: i64, cost: i64) -> Value {
    json!({"title": title, "kind": "procedure", "day_offset": day, "cost": cost, "reminder_lead_days": 2})
}

async fn starter(app: &TestApp, key: &str) -> Value {
    expect_json(app.post_json(&format!("/api/protocols/starters/{key}"), &json!({})).await, StatusCode::CREATED).await
}

async fn change(app: &TestApp, plan: &str, body: Value) -> reqwest::Response {
    app.post_json(&format!("/api/treatment-plans/{plan}/changes"), &body).await
}

#[tokio::test]
async fn a_protocol_is_checked_and_each_edit_is_a_new_version() {
    let app = TestApp::signed_in().await;
    let bad = [
        (protocol(json!([step("Bloods", -1, 100)])), "steps[0].day_offset"),
        (protocol(json!([step("Bloods", 0, 100), step("Later", 3651, 100)])), "steps[1].day_offset"),
        (protocol(json!([step("Bloods", 1_000_000_000_000, 100)])), "steps[0].day_offset"),
        (protocol(json!([])), "steps"),
        (protocol(json!([{"title": "Free", "kind": "exam", "day_offset": 0}])), "steps[0].cost"),
        (protocol(json!([step("Bloods", 0, -5)])), "steps[0].cost"),
        (
            protocol(json!([{"title": "X", "kind": "lab", "day_offset": 0, "catalogue_item_id": UNKNOWN_ID}])),
            "steps[0].catalogue_item_id",
        ),
        (json!({"name": " ", "steps": [step("Bloods", 0, 1)]}), "name"),
    ];
    for (body, field) in bad {
        let res = app.post_json("/api/protocols", &body).await;
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
    }
    assert_eq!(app.get_json("/api/protocols").await["items"], json!([]), "nothing written");

    // A step priced by its catalogue item.
    let item = expect_json(
        app.post_json(
            "/api/catalogue",
            &json!({"name": "Dental cleaning", "category": "dentistry", "kind": "service", "price": 85000}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let body = protocol(json!([
        step("Recheck", 21, 0),
        {"title": "Cleaning", "kind": "procedure", "day_offset": 7, "catalogue_item_id": id_of(&item)},
        step("Bloods", 0, 21000),
    ]));
    let p = expect_json(app.post_json("/api/protocols", &body).await, StatusCode::CREATED).await;
    let days: Vec<_> = p["steps"].as_array().unwrap().iter().map(|s| s["day_offset"].as_i64().unwrap()).collect();
    assert_eq!(days, [0, 7, 21], "ordered by day");
    assert_eq!((p["version"].as_i64(), p["steps"][1]["cost"].as_i64()), (Some(1), Some(85000)));
    let path = format!("/api/protocols/{}", id_of(&p));
    let v2 =
        expect_json(app.patch_json(&path, &json!({"description": "with radiographs"})).await, StatusCode::OK).await;
    assert_eq!(v2["version"], 2);
    let same =
        expect_json(app.patch_json(&path, &json!({"description": "with radiographs"})).await, StatusCode::OK).await;
    assert_eq!(same["version"], 2, "a patch that changes nothing is no new version");
    assert_error(
        app.patch_json(&path, &json!({"steps": []})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("steps"),
    )
    .await;
    assert_error(app.get("/api/protocols/nope").await, StatusCode::NOT_FOUND, "protocol_not_found", None).await;

    // The starters: four realistic feline protocols a clinic copies.
    let starters = app.get_json("/api/protocols/starters").await;
    let keys: Vec<_> = starters.as_array().unwrap().iter().map(|s| s["key"].as_str().unwrap().to_owned()).collect();
    assert_eq!(keys, ["dental_cleaning", "ckd_monitoring", "hyperthyroid_radioiodine", "kitten_series"]);
    let kitten = starter(&app, "kitten_series").await;
    assert_eq!(kitten["starter"], "kitten_series");
    let days: Vec<_> = kitten["steps"].as_array().unwrap().iter().map(|s| s["day_offset"].as_i64().unwrap()).collect();
    assert_eq!(days, [0, 28, 56, 56, 120], "FVRCP at 8, 12 and 16 weeks, rabies, neuter");
    let res = app.post_json("/api/protocols/starters/nope", &json!({})).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("key")).await;
}

#[tokio::test]
async fn applying_a_protocol_schedules_its_steps_keeps_its_version_and_a_retry_makes_one_plan() {
    let c = Clinic::new().await;
    let dental = starter(&c.app, "dental_cleaning").await;
    let body = json!({"patient_id": c.cat, "protocol_id": id_of(&dental), "start_date": DAY.to_string()});
    let send = || {
        c.app.request(Method::POST, "/api/treatment-plans").header("Idempotency-Key", "plan-retry-1").json(&body).send()
    };
    let first = expect_json(send().await.unwrap(), StatusCode::CREATED).await;
    let retry = send().await.unwrap();
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(expect_json(retry, StatusCode::CREATED).await, first);
    let plans = c.app.get_json(&format!("/api/patients/{}/treatment-plans", c.cat)).await;
    assert_eq!(plans["items"].as_array().unwrap().len(), 1, "one plan");

    let plan = &first["plan"];
    let dates: Vec<_> =
        plan["steps"].as_array().unwrap().iter().map(|s| s["date"].as_str().unwrap().to_owned()).collect();
    assert_eq!(
        dates,
        [DAY.to_string(), day(7).to_string(), day(21).to_string()],
        "bloods day 0, dental day 7, recheck day 21"
    );
    assert_eq!((plan["status"].as_str(), plan["protocol_version"].as_i64()), (Some("active"), Some(1)));
    assert_eq!((first["done"].as_i64(), first["total"].as_i64()), (Some(0), Some(3)));
    assert_eq!((first["estimated_total"].as_i64(), first["actual_total"].as_i64()), (Some(106_000), Some(0)));
    assert_eq!(plan["history"][0]["kind"], "created");

    // A new version of the protocol leaves the plan as it was made.
    let path = format!("/api/protocols/{}", id_of(&dental));
    let v2 = json!({"steps": [step("Cleaning only", 0, 50_000)]});
    assert_eq!(expect_json(c.app.patch_json(&path, &v2).await, StatusCode::OK).await["version"], 2);
    let again = c.app.get_json(&format!("/api/treatment-plans/{}", id_of(plan))).await;
    assert_eq!(again["plan"]["steps"], plan["steps"]);
    assert_eq!(again["plan"]["protocol_version"], 1);

    // Reading a plan is audited (it is the medical record).
    let audit = c.app.get_json(&format!("/api/audit?action=treatment_plan.read&record_id={}", id_of(plan))).await;
    assert!(!audit["items"].as_array().unwrap().is_empty(), "{audit}");
}

#[tokio::test]
async fn a_protocol_is_applied_only_when_active_and_only_to_a_living_active_cat() {
    let c = Clinic::new().await;
    let dental = id_of(&starter(&c.app, "dental_cleaning").await);
    let apply = |cat: &str, protocol: &str| json!({"patient_id": cat, "protocol_id": protocol});
    let res = c.app.post_json("/api/treatment-plans", &apply(UNKNOWN_ID, &dental)).await;
    assert_error(res, StatusCode::NOT_FOUND, "patient_not_found", None).await;
    let res = c.app.post_json("/api/treatment-plans", &apply(&c.cat, UNKNOWN_ID)).await;
    assert_error(res, StatusCode::NOT_FOUND, "protocol_not_found", None).await;
    let res = c.app.post_json("/api/treatment-plans", &json!({"patient_id": "../etc", "protocol_id": dental})).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    c.app.patch_json(&format!("/api/protocols/{dental}"), &json!({"active": false})).await;
    let res = c.app.post_json("/api/treatment-plans", &apply(&c.cat, &dental)).await;
    assert_error(res, StatusCode::CONFLICT, "protocol_inactive", None).await;
    c.app.patch_json(&format!("/api/protocols/{dental}"), &json!({"active": true})).await;

    let res = c.app.patch_json(&format!("/api/patients/{}", c.cat2), &json!({"status": "deceased"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = c.app.post_json("/api/treatment-plans", &apply(&c.cat2, &dental)).await;
    let e = assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("patient_id")).await;
    assert!(e["message"].as_str().unwrap().contains("deceased"));
    let res = c.app.patch_json(&format!("/api/patients/{}", c.cat), &json!({"status": "inactive"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = c.app.post_json("/api/treatment-plans", &apply(&c.cat, &dental)).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("patient_id")).await;
    assert!(c.app.get_json(&format!("/api/patients/{}/treatment-plans", c.cat)).await["items"] == json!([]));
    assert_error(
        c.app.get(&format!("/api/treatment-plans/{UNKNOWN_ID}")).await,
        StatusCode::NOT_FOUND,
        "treatment_plan_not_found",
        None,
    )
    .await;
    assert_error(c.app.get("/api/treatment-plans/x").await, StatusCode::NOT_FOUND, "treatment_plan_not_found", None)
        .await;
}

#[tokio::test]
async fn plan_changes_keep_their_history_and_a_step_is_settled_once() {
    let c = Clinic::new().await;
    let body = json!({"name": "Dental", "steps": [
        {"title": "Bloods", "kind": "lab", "day_offset": 0, "cost": 21000, "appointment_type_id": c.ty("Wellness exam")},
        step("Dental", 7, 85000),
        step("Recheck", 21, 0),
    ]});
    let protocol = expect_json(c.app.post_json("/api/protocols", &body).await, StatusCode::CREATED).await;
    let apply = json!({"patient_id": c.cat, "protocol_id": id_of(&protocol), "start_date": DAY.to_string()});
    let plan = expect_json(c.app.post_json("/api/treatment-plans", &apply).await, StatusCode::CREATED).await;
    let id = id_of(&plan["plan"]);

    // Offering slots for the bloods, then booking one through the calendar and linking it.
    let offer = expect_json(c.app.get(&format!("/api/treatment-plans/{id}/offer?step=1")).await, StatusCode::OK).await;
    assert_eq!(offer["type_id"], c.ty("Wellness exam"));
    let res = c.app.get(&format!("/api/treatment-plans/{id}/offer?step=2")).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("step")).await;
    let theirs = c
        .book(&json!({"client_id": c.client2, "patient_id": c.cat2, "type_id": c.ty("Wellness exam"),
        "vet_id": c.vet, "room_id": c.exam, "start": format!("{DAY}T11:00:00-05:00")}))
        .await;
    let res = change(&c.app, &id, json!({"action": "book", "step": 1, "appointment_id": id_of(&theirs)})).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("appointment_id")).await;
    let appt = c.book(&c.wellness(&format!("{DAY}T10:00:00-05:00"))).await;
    let booked = expect_json(
        change(&c.app, &id, json!({"action": "book", "step": 1, "appointment_id": id_of(&appt)})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(booked["plan"]["steps"][0]["status"], "booked");

    // Done in a visit whose invoice is the actual cost; done twice is a clear 409.
    let visit = expect_json(c.app.post_json("/api/visits", &walk_in(&c.cat, &c.vet)).await, StatusCode::CREATED).await;
    let invoice = json!({"client_id": c.client, "patient_id": c.cat, "visit_id": id_of(&visit),
        "lines": [{"description": "CBC, chemistry, T4", "unit_price": 19500}]});
    expect_json(c.app.post_json("/api/invoices", &invoice).await, StatusCode::CREATED).await;
    let done = expect_json(
        change(&c.app, &id, json!({"action": "done", "step": 1, "visit_id": id_of(&visit)})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!((done["done"].as_i64(), done["total"].as_i64()), (Some(1), Some(3)));
    assert_eq!((done["estimated_total"].as_i64(), done["actual_total"].as_i64()), (Some(106_000), Some(19_500)));
    let res = change(&c.app, &id, json!({"action": "done", "step": 1})).await;
    let e = assert_error(res, StatusCode::CONFLICT, "plan_step_already_settled", None).await;
    assert!(e["message"].as_str().unwrap().contains("already done"), "{e}");
    let res = change(&c.app, &id, json!({"action": "done", "step": 99})).await;
    assert_error(res, StatusCode::NOT_FOUND, "plan_step_not_found", None).await;

    // A revision without a reason is refused and writes nothing.
    for body in [
        json!({"action": "move", "step": 2, "date": day(9).to_string(), "reason": " "}),
        json!({"action": "skip", "step": 3}),
        json!({"action": "cancel", "reason": ""}),
    ] {
        let res = change(&c.app, &id, body.clone()).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    let res =
        change(&c.app, &id, json!({"action": "move", "step": 2, "date": day(-1).to_string(), "reason": "x"})).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("date")).await;
    let res = change(&c.app, &id, json!({"action": "add", "step": step("Late", 4000, 1), "reason": "x"})).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("step.day_offset")).await;

    change(&c.app, &id, json!({"action": "move", "step": 2, "date": day(9).to_string(), "reason": "owner away"})).await;
    change(&c.app, &id, json!({"action": "add", "step": step("Pain check", 10, 3000), "reason": "two extractions"}))
        .await;
    change(&c.app, &id, json!({"action": "remove", "step": 3, "reason": "checked on the phone"})).await;
    let history = c.app.get_json(&format!("/api/treatment-plans/{id}/history")).await;
    let kinds: Vec<_> = history.as_array().unwrap().iter().map(|r| r["kind"].as_str().unwrap().to_owned()).collect();
    assert_eq!(kinds, ["created", "step_booked", "step_done", "step_moved", "step_added", "step_removed"]);
    assert_eq!(history[3]["reason"], "owner away");
    assert_eq!(history[3]["detail"], format!("Dental moved from {} to {}", day(7), day(9)));
    assert!(history[3]["by"].is_string() && history[3]["at"].is_string());

    let cancelled = expect_json(
        change(&c.app, &id, json!({"action": "cancel", "reason": "owner moved away"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cancelled["plan"]["status"], "cancelled");
    let res = change(&c.app, &id, json!({"action": "done", "step": 2})).await;
    assert_error(res, StatusCode::CONFLICT, "treatment_plan_closed", None).await;

    // Garbage bodies never crash.
    for body in [json!({"action": "explode"}), json!([]), json!({"action": "done", "step": -1})] {
        assert_eq!(change(&c.app, &id, body).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }

    // The front desk cannot read the medical record; a tech reads but cannot change it.
    let front = staff_user(&c.app, "desk", &["receptionist"]).await;
    let res = as_user(&c.app, &front, Method::GET, &format!("/api/treatment-plans/{id}"), None).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let tech = staff_user(&c.app, "tech", &["vet_tech"]).await;
    let res = as_user(&c.app, &tech, Method::GET, &format!("/api/treatment-plans/{id}"), None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = as_user(&c.app, &tech, Method::POST, "/api/protocols/starters/kitten_series", Some(&json!({}))).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

/// The appointments of Mittens on the test day, whatever their status.
async fn cats_appointments(c: &Clinic) -> Vec<Value> {
    let list = c.app.get_json(&format!("/api/appointments?patient_id={}&date={DAY}", c.cat)).await;
    list["items"].as_array().unwrap().clone()
}

/// Booking a step in one request (`POST /api/treatment-plans/{id}/bookings`): the server books
/// the step's appointment for the cat and its owner and links it. When the link is refused
/// (here: the step was booked meanwhile) the appointment it booked is withdrawn (cancelled
/// with the refusal as its reason, audited) before the refusal is answered, so the calendar
/// holds nothing live at that slot; a retry with the same key answers the same and books
/// nothing. Refusals the plan gives before booking book nothing at all; booking needs
/// `appointments:create` besides `visits:edit`.
#[tokio::test]
async fn booking_a_step_links_its_appointment_or_leaves_none_live_on_the_calendar() {
    let c = Clinic::new().await;
    let body = json!({"name": "Dental", "steps": [
        {"title": "Bloods", "kind": "lab", "day_offset": 0, "cost": 21000, "appointment_type_id": c.ty("Wellness exam")},
        step("Dental", 7, 85000),
    ]});
    let protocol = expect_json(c.app.post_json("/api/protocols", &body).await, StatusCode::CREATED).await;
    let apply = json!({"patient_id": c.cat, "protocol_id": id_of(&protocol), "start_date": DAY.to_string()});
    let plan = expect_json(c.app.post_json("/api/treatment-plans", &apply).await, StatusCode::CREATED).await;
    let id = id_of(&plan["plan"]);
    let path = format!("/api/treatment-plans/{id}/bookings");
    let slot = |step: u32, time: &str| json!({"step": step, "vet_id": c.vet, "room_id": c.exam, "start": format!("{DAY}T{time}:00-05:00")});
    let send =
        |key: &str, body: Value| c.app.request(Method::POST, &path).header("Idempotency-Key", key).json(&body).send();

    // Booked and linked: the step's type, for the cat and its owner.
    let res = send("book-1", slot(1, "10:00")).await.unwrap();
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let booked = expect_json(res, StatusCode::CREATED).await;
    let a = &booked["appointment"];
    assert_eq!(location, format!("/api/appointments/{}", id_of(a)));
    assert_eq!((a["patient_id"].as_str(), a["client_id"].as_str()), (Some(c.cat.as_str()), Some(c.client.as_str())));
    assert_eq!(a["type_id"], c.ty("Wellness exam"));
    assert_eq!(a["reason"], "Dental: Bloods");
    let first = &booked["view"]["plan"]["steps"][0];
    assert_eq!((first["status"].as_str(), first["appointment_id"].as_str()), (Some("booked"), Some(id_of(a).as_str())));
    let retry = send("book-1", slot(1, "10:00")).await.unwrap();
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(expect_json(retry, StatusCode::CREATED).await, booked, "the retry answers the same");

    // A stale screen books another slot for the step: booked, refused by the step, withdrawn.
    let res = send("book-2", slot(1, "11:00")).await.unwrap();
    let refused = assert_error(res, StatusCode::CONFLICT, "plan_step_already_booked", None).await;
    assert_eq!(refused["details"]["appointment_id"], id_of(a).as_str(), "{refused}");
    let all = cats_appointments(&c).await;
    let live: Vec<_> = all.iter().filter(|x| x["status"] != "cancelled").collect();
    assert_eq!(live.len(), 1, "only the linked appointment is live: {all:?}");
    assert_eq!(live[0]["id"], a["id"]);
    let withdrawn = all.iter().find(|x| x["status"] == "cancelled").expect("the refused booking, withdrawn");
    let reason = withdrawn["cancel_reason"].as_str().unwrap();
    assert!(reason.starts_with("withdrawn: step 1") && reason.contains("plan_step_already_booked"), "{reason}");
    let audit =
        c.app.get_json(&format!("/api/audit?action=appointment.cancelled&record_id={}", id_of(withdrawn))).await;
    assert_eq!(audit["items"][0]["username"], "admin", "{audit}");
    // The same key again: the same refusal, nothing booked again.
    let retry = send("book-2", slot(1, "11:00")).await.unwrap();
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(assert_error(retry, StatusCode::CONFLICT, "plan_step_already_booked", None).await, refused);
    assert_eq!(cats_appointments(&c).await.len(), 2, "the retry booked nothing");
    // Nothing holds 11:00 any more: another cat is booked there with the same vet and room.
    let theirs = json!({"client_id": c.client2, "patient_id": c.cat2, "type_id": c.ty("Wellness exam"),
        "vet_id": c.vet, "room_id": c.exam, "start": format!("{DAY}T11:00:00-05:00")});
    c.book(&theirs).await;

    // What the plan refuses before booking books nothing.
    let res = send("book-3", slot(2, "12:00")).await.unwrap();
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("step")).await;
    let res = send("book-4", slot(99, "12:00")).await.unwrap();
    assert_error(res, StatusCode::NOT_FOUND, "plan_step_not_found", None).await;
    let cancel = json!({"action": "cancel", "reason": "owner moved away"});
    assert_eq!(change(&c.app, &id, cancel).await.status(), StatusCode::OK);
    let res = send("book-5", slot(1, "12:00")).await.unwrap();
    assert_error(res, StatusCode::CONFLICT, "treatment_plan_closed", None).await;
    assert_eq!(cats_appointments(&c).await.len(), 2, "no booking for a refusal made before it");

    // A vet changes plans but does not book appointments (the front desk does).
    let vet = staff_user(&c.app, "vic", &["veterinarian"]).await;
    let res = as_user(&c.app, &vet, Method::POST, &path, Some(&slot(1, "13:00"))).await;
    let e = assert_error(res, StatusCode::FORBIDDEN, "forbidden", None).await;
    assert!(e["message"].as_str().unwrap().contains("appointments:create"), "{e}");
}

/// A step booked in an appointment is done automatically once the appointment's visit
/// completes: by the appointment completing (the job written with it), or by the vet
/// completing the visit itself (the job the route enqueues); the revision says so, and the
/// job runs once per appointment.
#[tokio::test]
async fn a_booked_step_is_done_automatically_when_its_visit_completes() {
    let c = Clinic::new().await;
    let body = json!({"name": "Dental", "steps": [
        {"title": "Bloods", "kind": "lab", "day_offset": 0, "cost": 21000, "appointment_type_id": c.ty("Wellness exam")},
        step("Recheck", 7, 4000),
    ]});
    let protocol = expect_json(c.app.post_json("/api/protocols", &body).await, StatusCode::CREATED).await;
    let apply = json!({"patient_id": c.cat, "protocol_id": id_of(&protocol), "start_date": DAY.to_string()});
    let plan = expect_json(c.app.post_json("/api/treatment-plans", &apply).await, StatusCode::CREATED).await;
    let id = id_of(&plan["plan"]);
    let appt = id_of(&c.book(&c.wellness(&format!("{DAY}T10:00:00-05:00"))).await);
    let res = change(&c.app, &id, json!({"action": "book", "step": 1, "appointment_id": appt})).await;
    assert_eq!(res.status(), StatusCode::OK);

    // Checked in, seen, completed: the visit completes with the appointment, then the step.
    for to in ["checked_in", "in_progress", "completed"] {
        assert_eq!(c.transition(&appt, to).await.status(), StatusCode::OK, "{to}");
    }
    let path = format!("/api/treatment-plans/{id}");
    let plan = c.app.poll_json(&path, |p| p["plan"]["steps"][0]["status"] == "done").await;
    let visits = c.app.get_json(&format!("/api/visits?patient_id={}", c.cat)).await;
    let visit = id_of(&visits["items"][0]);
    assert_eq!(visits["items"][0]["status"], "completed");
    assert_eq!(plan["plan"]["steps"][0]["visit_id"], visit.as_str());
    let history = plan["plan"]["history"].as_array().unwrap();
    let last = history.last().unwrap();
    assert_eq!((last["kind"].as_str(), last["step"].as_i64()), (Some("step_done"), Some(1)));
    assert_eq!(last["detail"], format!("Bloods done automatically with visit {visit}"));
    assert_eq!(
        (plan["plan"]["steps"][1]["status"].as_str(), plan["plan"]["status"].as_str()),
        (Some("planned"), Some("active"))
    );
    let jobs = c
        .app
        .poll_json(&format!("/api/jobs?kind=plan_step_visit_done&subject=appointment:{appt}"), |p| {
            p["items"].as_array().is_some_and(|a| a.len() == 1 && a[0]["state"] == "succeeded")
        })
        .await;
    assert_eq!(jobs["items"][0]["payload"]["appointment_id"], appt.as_str());

    // The vet completes the visit on its page while the appointment is still in progress.
    let appt2 = id_of(&c.book(&c.wellness(&format!("{DAY}T14:00:00-05:00"))).await);
    let res = change(&c.app, &id, json!({"action": "book", "step": 2, "appointment_id": appt2})).await;
    assert_eq!(res.status(), StatusCode::OK);
    for to in ["checked_in", "in_progress"] {
        assert_eq!(c.transition(&appt2, to).await.status(), StatusCode::OK, "{to}");
    }
    let visits = c.app.get_json(&format!("/api/visits?patient_id={}", c.cat)).await;
    let visit2 = visits["items"].as_array().unwrap().iter().find(|v| v["appointment_id"] == appt2.as_str()).unwrap();
    let visit2 = id_of(visit2);
    let res = c.app.post_json(&format!("/api/visits/{visit2}/complete"), &json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let plan = c.app.poll_json(&path, |p| p["plan"]["status"] == "completed").await;
    assert_eq!(plan["plan"]["steps"][1]["visit_id"], visit2.as_str());
    assert_eq!((plan["done"].as_i64(), plan["total"].as_i64()), (Some(2), Some(2)));
    // Completing the appointment afterwards changes nothing more (one job per appointment).
    assert_eq!(c.transition(&appt2, "completed").await.status(), StatusCode::OK);
    let jobs = c.app.get_json(&format!("/api/jobs?kind=plan_step_visit_done&subject=appointment:{appt2}")).await;
    assert_eq!(jobs["items"].as_array().unwrap().len(), 1);
    let after = c.app.get_json(&format!("/api/treatment-plans/{id}/history")).await;
    let done = after.as_array().unwrap().iter().filter(|r| r["kind"] == "step_done").count();
    assert_eq!(done, 2);
}

/// The protocol screens: the list (name, version, steps, status) and the editor for who may
/// read protocols, with the starters and "New protocol" only for who may write them; a nav
/// entry exactly for who may open the list; 404 and 403 pages.
#[tokio::test]
async fn the_protocol_screens_list_and_edit_protocols_for_who_may() {
    use crate::views::page;
    let c = Clinic::new().await;
    let admin = c.app.token().expect("signed in");
    let p = starter(&c.app, "dental_cleaning").await;
    let id = id_of(&p);
    let res = c.app.patch_json(&format!("/api/protocols/{id}"), &json!({"name": "Dental <b>deluxe</b>"})).await;
    assert_eq!(res.status(), StatusCode::OK);

    let (status, html) = page(&c.app, "/protocols", &admin, false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!(r#"<a href="/protocols/{id}">Dental &#60;b&#62;deluxe&#60;/b&#62;</a>"#)), "{html}");
    assert!(html.contains(r#"<td data-label="Version">2</td>"#) && html.contains(r#"<td data-label="Steps">3</td>"#));
    assert!(html.contains(r#"data-key="kitten_series""#) && html.contains(r#"href="/protocols/new""#));
    assert!(html.contains(r#"<a href="/protocols" aria-current="page">Protocols</a>"#), "the nav entry");

    let (status, html) = page(&c.app, &format!("/protocols/{id}"), &admin, false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("version 2") && html.contains(r#"id="save-protocol""#) && html.contains("/assets/protocols.js")
    );
    assert_eq!(html.matches(r#"<li class="step-row">"#).count(), 4, "three steps and the template's row");
    assert!(html.contains(r#"name="day_offset" value="7""#), "{html}");
    let (status, html) = page(&c.app, "/protocols/new", &admin, false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<h1>New protocol</h1>"));

    // A technician reads (the editor disabled, no starters); the new page is refused.
    let tech = staff_user(&c.app, "tina", &["vet_tech"]).await;
    let (status, html) = page(&c.app, "/protocols", &tech, false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("data-key=") && !html.contains("/protocols/new"));
    let (_, html) = page(&c.app, &format!("/protocols/{id}"), &tech, false).await;
    assert!(html.contains("<fieldset disabled>") && !html.contains("save-protocol"));
    assert_eq!(page(&c.app, "/protocols/new", &tech, false).await.0, StatusCode::FORBIDDEN);

    // Who may not read protocols gets a 403 page and no nav entry; unknown ids are 404 pages.
    let rita = staff_user(&c.app, "rita", &["receptionist"]).await;
    assert_eq!(page(&c.app, "/protocols", &rita, false).await.0, StatusCode::FORBIDDEN);
    let (_, html) = page(&c.app, "/patients", &rita, false).await;
    assert!(!html.contains(r#"href="/protocols""#));
    for path in [format!("/protocols/{UNKNOWN_ID}"), "/protocols/nope".to_owned()] {
        assert_eq!(page(&c.app, &path, &admin, false).await.0, StatusCode::NOT_FOUND, "{path}");
    }
}

/// Step reminders to the owner (the `plan_step` sweep rule) over the real SMTP test server: an
/// open step whose reminder day is today is emailed once, naming the cat and the step, however
/// often the sweep runs (key `plan_step:<plan>:<step>:<date>`); a step skipped, a step of a
/// cancelled plan, a step without a lead and an owner who opted out of email get nothing.
#[tokio::test]
async fn a_plan_step_is_reminded_to_the_owner_once_and_never_once_settled_or_cancelled() {
    let Some(sink) = crate::providers::SmtpSink::start(&[]).await else { return };
    let app = sink.app().await;
    let ann = app.some_client("Ann", "Lee").await;
    let bob = app.some_client("Bob", "Opted-Out").await;
    for (c, email) in [(&ann, "ann@example.com"), (&bob, "bob@example.com")] {
        let body = json!({"email": email, "preferred_contact": "email"});
        let res = app.patch_json(&format!("/api/clients/{c}"), &body).await;
        expect_json(res, StatusCode::OK).await;
    }
    let consent = json!({"channel": "email", "purpose": "transactional", "granted": false});
    expect_json(app.post_json(&format!("/api/clients/{bob}/consent"), &consent).await, StatusCode::CREATED).await;
    let miso = app.some_patient(&ann, "Miso").await;
    let tom = app.some_patient(&bob, "Tom").await;
    // Kept in day order: 1 the call (no lead), 2 the cleaning and 3 the bloods (reminded
    // today: 2 days before day 2, 3 before day 3), 4 the recheck (not yet).
    let steps = json!([
        {"title": "Dental cleaning", "kind": "procedure", "day_offset": 2, "cost": 85000, "reminder_lead_days": 2},
        {"title": "Bloods", "kind": "lab", "day_offset": 3, "cost": 21000, "reminder_lead_days": 3},
        {"title": "Recheck", "kind": "recheck", "day_offset": 21, "cost": 4000, "reminder_lead_days": 2},
        {"title": "Call", "kind": "other", "day_offset": 0, "cost": 0},
    ]);
    let protocol = expect_json(app.post_json("/api/protocols", &protocol(steps)).await, StatusCode::CREATED).await;
    let apply = |cat: &str| json!({"patient_id": cat, "protocol_id": id_of(&protocol)});
    let plan = expect_json(app.post_json("/api/treatment-plans", &apply(&miso)).await, StatusCode::CREATED).await;
    let plan = id_of(&plan["plan"]);
    let skip = json!({"action": "skip", "step": 3, "reason": "bloods done elsewhere"});
    assert_eq!(change(&app, &plan, skip).await.status(), StatusCode::OK);
    let cancelled = expect_json(app.post_json("/api/treatment-plans", &apply(&miso)).await, StatusCode::CREATED).await;
    let cancel = json!({"action": "cancel", "reason": "owner chose another clinic"});
    assert_eq!(change(&app, &id_of(&cancelled["plan"]), cancel).await.status(), StatusCode::OK);
    expect_json(app.post_json("/api/treatment-plans", &apply(&tom)).await, StatusCode::CREATED).await;

    let preview = app.get_json("/api/automations/plan_step/preview?days=1").await;
    assert!(!preview["items"].as_array().unwrap().is_empty(), "{preview}");
    for _ in 0..2 {
        let job = expect_json(app.post_json("/api/automations/sweep", &json!({})).await, StatusCode::ACCEPTED).await;
        app.poll_json(&format!("/api/jobs/{}", job["job_id"].as_str().unwrap()), |j| j["state"] == "succeeded").await;
    }
    let of = |client: String| crate::vaccinations::automation_messages(&app, client, "plan_step");
    let sent = of(ann.clone()).await;
    assert_eq!(sent.len(), 1, "one reminder, however often the sweep ran: {sent:?}");
    let today =
        app.get_json(&format!("/api/treatment-plans/{plan}")).await["plan"]["start_date"].as_str().unwrap().to_owned();
    let due: jiff::civil::Date = today.parse().unwrap();
    let step_date = due.checked_add(jiff::Span::new().days(2)).unwrap();
    let key = sent[0]["idempotency_key"].as_str().unwrap();
    assert!(key.contains(&format!("plan_step:{plan}:2:{step_date}")), "{key}");
    let m = app.poll_json(&format!("/api/messages/{}", id_of(&sent[0])), |v| v["status"] == "sent").await;
    assert_eq!(m["provider"], "smtp");
    let got = sink.wait_for(1).await;
    let text = got[0]["text"].as_str().unwrap();
    assert!(text.contains("Miso") && text.contains("Dental cleaning") && !text.contains("Bloods"), "{text}");
    assert_eq!(got[0]["rcpt_tos"], json!(["ann@example.com"]));
    // Bob opted out of email: Tom's two reminders are suppressed by the consent rules.
    let bobs = of(bob).await;
    assert_eq!(bobs.len(), 2, "{bobs:?}");
    for b in &bobs {
        let m = app.poll_json(&format!("/api/messages/{}", id_of(b)), |v| v["status"] != "queued").await;
        assert_eq!(m["status"], "suppressed", "{m}");
    }
    assert_eq!(sink.received().len(), 1, "nothing else reached the server");
}
