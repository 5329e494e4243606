//! The calendar through HTTP: locations, rooms, staff, shifts, time off, booking with
//! conflicts and overbooking, the status workflow, rescheduling, listings, the day view and
//! the 100-requests-for-one-slot race.

use std::collections::HashMap;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, UNKNOWN_ID, assert_error, expect_json, id_of};

/// A small clinic: the default location (America/New_York), two rooms, two vets (one a
/// surgeon), two clients with a cat each.
pub struct Clinic {
    pub app: TestApp,
    pub location: String,
    pub exam: String,
    pub surgery: String,
    pub surgeon: String,
    pub vet: String,
    pub client: String,
    pub cat: String,
    pub client2: String,
    pub cat2: String,
    pub types: HashMap<String, String>,
}

impl Clinic {
    pub async fn new() -> Clinic {
        Clinic::on(TestApp::signed_in().await).await
    }

    /// The clinic set up on a running server where the administrator is signed in.
    pub async fn on(app: TestApp) -> Clinic {
        let locations = app.get_json("/api/locations").await;
        let location = id_of(&locations[0]);
        let room = |name: &str, kind: &str| json!({"location_id": location, "name": name, "kind": kind});
        let exam =
            id_of(&expect_json(app.post_json("/api/rooms", &room("Exam 1", "exam")).await, StatusCode::CREATED).await);
        let surgery = id_of(
            &expect_json(app.post_json("/api/rooms", &room("Surgery", "surgery")).await, StatusCode::CREATED).await,
        );
        let person = |first: &str, surgery: bool| {
            json!({"first_name": first, "last_name": "Vet", "position": "veterinarian",
                   "capabilities": {"can_prescribe": true, "can_perform_surgery": surgery},
                   "home_location_id": location})
        };
        let surgeon =
            id_of(&expect_json(app.post_json("/api/staff", &person("Ana", true)).await, StatusCode::CREATED).await);
        let vet =
            id_of(&expect_json(app.post_json("/api/staff", &person("Ben", false)).await, StatusCode::CREATED).await);
        let client = app.some_client("Jon", "Smith").await;
        let cat = app.some_patient(&client, "Mittens").await;
        let client2 = app.some_client("Zoe", "Park").await;
        let cat2 = app.some_patient(&client2, "Tom").await;
        let types = app
            .get_json("/api/appointment-types")
            .await
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["name"].as_str().unwrap().to_owned(), id_of(t)))
            .collect();
        Clinic { app, location, exam, surgery, surgeon, vet, client, cat, client2, cat2, types }
    }

    pub fn ty(&self, name: &str) -> &str {
        &self.types[name]
    }

    /// A wellness exam with Ben in Exam 1 for Mittens at `start`.
    pub fn wellness(&self, start: &str) -> Value {
        json!({"client_id": self.client, "patient_id": self.cat, "type_id": self.ty("Wellness exam"),
               "vet_id": self.vet, "room_id": self.exam, "start": start, "reason": "annual check-up"})
    }

    pub async fn book(&self, body: &Value) -> Value {
        expect_json(self.app.post_json("/api/appointments", body).await, StatusCode::CREATED).await
    }

    pub async fn transition(&self, id: &str, to: &str) -> reqwest::Response {
        self.app.post_json(&format!("/api/appointments/{id}/transition"), &json!({"to": to})).await
    }
}

/// The test day: the first Tuesday of February two years from now. Always ahead, always
/// within the five-year booking limit, always Eastern Standard Time (-05:00) in New York, and
/// with no DST change within a week of it, so the tests never age.
pub const DAY: Day = Day(0);

/// A date `n` days from the test day; shown as `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy)]
pub struct Day(pub i64);

impl Day {
    pub fn date(self) -> jiff::civil::Date {
        let now = clowder_actors::Clock::now(&clowder_actors::SystemClock);
        let year = now.to_zoned(jiff::tz::TimeZone::UTC).year() + 2;
        let mut d = jiff::civil::Date::new(year, 2, 1).unwrap();
        while d.weekday() != jiff::civil::Weekday::Tuesday {
            d = d.tomorrow().unwrap();
        }
        d.checked_add(jiff::Span::new().days(self.0)).unwrap()
    }

    /// `YYYYMMDD`, as iCalendar writes dates.
    pub fn basic(self) -> String {
        self.to_string().replace('-', "")
    }
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.date())
    }
}

/// A date `n` days from the test day.
pub fn day(n: i64) -> Day {
    Day(n)
}

fn at(time: &str) -> String {
    format!("{DAY}T{time}:00-05:00")
}

#[tokio::test]
async fn locations_need_a_real_time_zone_and_unique_names() {
    let app = TestApp::signed_in().await;
    let first = app.get_json("/api/locations").await;
    assert_eq!(first.as_array().unwrap().len(), 1, "a first location is made at first start");
    assert_eq!(first[0]["time_zone"], "America/New_York");
    assert_eq!(first[0]["hours"][0], json!({"day": "monday", "open": "08:00:00", "close": "18:00:00"}));

    let res = app.post_json("/api/locations", &json!({"name": "East", "time_zone": "Mars/Olympus"})).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("time_zone")).await;
    let body = json!({"name": "East", "time_zone": "Europe/London",
        "hours": [{"day": "tuesday", "open": "09:00", "close": "08:00"}]});
    let res = app.post_json("/api/locations", &body).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("hours[0].close")).await;
    let body = json!({"name": "East", "time_zone": "Europe/London", "blackout_dates": ["2030-12-25", "2030-12-25"],
        "booking": {"min_notice_minutes": 60, "horizon_days": 30, "slot_step_minutes": 10}});
    let east = expect_json(app.post_json("/api/locations", &body).await, StatusCode::CREATED).await;
    assert_eq!(east["blackout_dates"], json!(["2030-12-25"]));
    let res = app.post_json("/api/locations", &json!({"name": "EAST", "time_zone": "UTC"})).await;
    assert_error(res, StatusCode::CONFLICT, "duplicate_value", Some("name")).await;

    let patched = expect_json(
        app.patch_json(&format!("/api/locations/{}", id_of(&east)), &json!({"phone": "555-0100", "active": false}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!((patched["phone"].as_str(), patched["active"].as_bool()), (Some("555-0100"), Some(false)));
    assert_eq!(app.get_json("/api/locations").await.as_array().unwrap().len(), 1);
    assert_eq!(app.get_json("/api/locations?status=all").await.as_array().unwrap().len(), 2);
    let res = app.get(&format!("/api/locations/{UNKNOWN_ID}")).await;
    assert_error(res, StatusCode::NOT_FOUND, "location_not_found", None).await;
}

#[tokio::test]
async fn rooms_are_unique_per_location_and_staff_profiles_link_one_user() {
    let c = Clinic::new().await;
    let app = &c.app;
    let res = app.post_json("/api/rooms", &json!({"location_id": c.location, "name": "exam 1", "kind": "exam"})).await;
    assert_error(res, StatusCode::CONFLICT, "duplicate_value", Some("name")).await;
    let res = app.post_json("/api/rooms", &json!({"location_id": UNKNOWN_ID, "name": "X", "kind": "exam"})).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("location_id")).await;
    let rooms = app.get_json(&format!("/api/rooms?location_id={}", c.location)).await;
    assert_eq!(rooms.as_array().unwrap().len(), 2);

    let me = app.get_json("/api/auth/me").await;
    let admin_user = me["user"]["id"].as_str().unwrap().to_owned();
    let body = json!({"first_name": "Ada", "last_name": "Admin", "position": "practice_manager",
                      "user_id": admin_user, "email": "ada@clinic.test"});
    expect_json(app.post_json("/api/staff", &body).await, StatusCode::CREATED).await;
    let again = json!({"first_name": "Ada", "last_name": "Again", "position": "other", "user_id": admin_user});
    assert_error(app.post_json("/api/staff", &again).await, StatusCode::CONFLICT, "duplicate_value", Some("user_id"))
        .await;
    let bad = json!({"first_name": "X", "last_name": "Y", "position": "veterinarian", "user_id": UNKNOWN_ID});
    assert_error(
        app.post_json("/api/staff", &bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("user_id"),
    )
    .await;
    let staff = app.get_json("/api/staff").await;
    assert_eq!(staff.as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn shifts_may_run_overnight_but_never_overlap_for_one_person() {
    let c = Clinic::new().await;
    let app = &c.app;
    let path = format!("/api/staff/{}/shifts", c.vet);
    let shift = |date: &str, start: &str, end: &str| json!({"location_id": c.location, "date": date, "start": start, "end": end});
    let night =
        expect_json(app.post_json(&path, &shift(&day(0).to_string(), "22:00", "06:00")).await, StatusCode::CREATED)
            .await;
    assert_eq!(night["starts_at"], format!("{}T03:00:00Z", day(1)));
    assert_eq!(night["ends_at"], format!("{}T11:00:00Z", day(1)), "ends the next morning");
    let res = app.post_json(&path, &shift(&day(1).to_string(), "05:00", "13:00")).await;
    let err = assert_error(res, StatusCode::CONFLICT, "shift_overlap", None).await;
    assert!(err["message"].as_str().unwrap().contains(night["id"].as_str().unwrap()));
    expect_json(app.post_json(&path, &shift(&day(1).to_string(), "06:00", "14:00")).await, StatusCode::CREATED).await;
    // Someone else may work then.
    let other = format!("/api/staff/{}/shifts", c.surgeon);
    expect_json(app.post_json(&other, &shift(&day(1).to_string(), "05:00", "13:00")).await, StatusCode::CREATED).await;

    let res = app.post_json(&path, &shift(&day(2).to_string(), "08:00", "08:00")).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("end")).await;
    let listed = app.get_json(&format!("{path}?from={DAY}&to={}", day(1))).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);

    // Shifts are local times: the location's zone cannot change under them.
    let res = app.patch_json(&format!("/api/locations/{}", c.location), &json!({"time_zone": "America/Chicago"})).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("time_zone")).await;
    // Cancelling frees the time.
    let cancel = app.delete(&format!("{path}/{}", id_of(&night))).await;
    assert_eq!(expect_json(cancel, StatusCode::OK).await["cancelled"], true);
    expect_json(app.post_json(&path, &shift(&day(1).to_string(), "01:00", "05:00")).await, StatusCode::CREATED).await;
    assert_eq!(app.get_json(&format!("{path}?from={DAY}&to={}", day(1))).await.as_array().unwrap().len(), 2);
    let res = app.delete(&format!("/api/staff/{}/shifts/{}", c.surgeon, id_of(&night))).await;
    assert_error(res, StatusCode::NOT_FOUND, "shift_not_found", None).await;
}

#[tokio::test]
async fn time_off_is_asked_for_oneself_and_decided_by_a_manager() {
    let c = Clinic::new().await;
    let app = &c.app;
    let (token, user_id) = crate::access::staff_user_with_id(app, "ben", &["veterinarian"]).await;
    app.patch_json(&format!("/api/staff/{}", c.vet), &json!({"user_id": user_id})).await;
    let ask = |staff: &str| json!({"staff_id": staff, "first_day": day(5).to_string(), "last_day": day(7).to_string(), "reason": "family"});
    let as_ben = |method: Method, path: &str| app.anonymous(method, path).bearer_auth(&token);
    let res = as_ben(Method::POST, "/api/time-off").json(&ask(&c.surgeon)).send().await.unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "forbidden", None).await;
    let mine = expect_json(
        as_ben(Method::POST, "/api/time-off").json(&ask(&c.vet)).send().await.unwrap(),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(mine["status"], "requested");
    let res = as_ben(Method::POST, &format!("/api/time-off/{}/approve", id_of(&mine))).send().await.unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "forbidden", None).await;

    let approved = expect_json(
        app.post_json(&format!("/api/time-off/{}/approve", id_of(&mine)), &json!({"note": "enjoy"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!((approved["status"].as_str(), approved["decision_note"].as_str()), (Some("approved"), Some("enjoy")));
    let res = app.post_json(&format!("/api/time-off/{}/deny", id_of(&mine)), &json!({})).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("status")).await;
    let listed = app.get_json(&format!("/api/time-off?staff_id={}&status=approved", c.vet)).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let withdrawn = as_ben(Method::POST, &format!("/api/time-off/{}/cancel", id_of(&mine))).send().await.unwrap();
    assert_eq!(expect_json(withdrawn, StatusCode::OK).await["status"], "cancelled");
    let bad = json!({"staff_id": c.vet, "first_day": day(7).to_string(), "last_day": day(5).to_string()});
    assert_error(
        app.post_json("/api/time-off", &bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("last_day"),
    )
    .await;
}

#[tokio::test]
async fn a_booking_fills_its_end_checks_its_parts_and_refuses_a_double_booking() {
    let c = Clinic::new().await;
    let app = &c.app;
    let a = c.book(&c.wellness(&at("09:00"))).await;
    assert_eq!(a["end"], format!("{DAY}T14:30:00Z"), "30 minutes by default");
    assert_eq!(
        (a["status"].as_str(), a["source"].as_str(), a["sequence"].as_u64()),
        (Some("scheduled"), Some("staff"), Some(0))
    );
    assert_eq!(a["location_id"].as_str(), Some(c.location.as_str()));

    // The patient must be the client's.
    let mut wrong = c.wellness(&at("11:00"));
    wrong["patient_id"] = json!(c.cat2);
    assert_error(
        app.post_json("/api/appointments", &wrong).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("patient_id"),
    )
    .await;
    // A surgery needs a surgeon and a surgery room.
    let spay = json!({"client_id": c.client2, "patient_id": c.cat2, "type_id": c.ty("Spay or neuter"),
                      "vet_id": c.vet, "room_id": c.surgery, "start": at("13:00")});
    assert_error(
        app.post_json("/api/appointments", &spay).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("vet_id"),
    )
    .await;
    let mut spay_exam = spay.clone();
    spay_exam["vet_id"] = json!(c.surgeon);
    spay_exam["room_id"] = json!(c.exam);
    assert_error(
        app.post_json("/api/appointments", &spay_exam).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("room_id"),
    )
    .await;
    let mut bad_times = c.wellness(&at("15:00"));
    bad_times["end"] = json!(at("14:00"));
    assert_error(
        app.post_json("/api/appointments", &bad_times).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("end"),
    )
    .await;

    // Same vet, overlapping: 409 naming the other appointment and the resource.
    let mut clash = c.wellness(&at("09:15"));
    clash["patient_id"] = json!(c.cat2);
    clash["client_id"] = json!(c.client2);
    clash["room_id"] = json!(null);
    let res = app.post_json("/api/appointments", &clash).await;
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "appointment_conflict");
    assert_eq!(body["error"]["field"], "vet_id");
    assert_eq!(body["error"]["details"]["appointment_id"], a["id"]);
    assert!(body["error"]["message"].as_str().unwrap().contains(a["id"].as_str().unwrap()));
    // Same room with another vet, same patient with another vet and room: also refused.
    let mut room_clash = clash.clone();
    room_clash["vet_id"] = json!(c.surgeon);
    room_clash["room_id"] = json!(c.exam);
    assert_error(
        app.post_json("/api/appointments", &room_clash).await,
        StatusCode::CONFLICT,
        "appointment_conflict",
        Some("room_id"),
    )
    .await;
    let mut patient_clash = c.wellness(&at("09:20"));
    patient_clash["vet_id"] = json!(c.surgeon);
    patient_clash["room_id"] = json!(null);
    assert_error(
        app.post_json("/api/appointments", &patient_clash).await,
        StatusCode::CONFLICT,
        "appointment_conflict",
        Some("patient_id"),
    )
    .await;
    // Back to back is fine.
    clash["start"] = json!(at("09:30"));
    c.book(&clash).await;
}

#[tokio::test]
async fn the_buffer_after_a_surgery_is_kept_free() {
    let c = Clinic::new().await;
    let spay = json!({"client_id": c.client2, "patient_id": c.cat2, "type_id": c.ty("Spay or neuter"),
                      "vet_id": c.surgeon, "room_id": c.surgery, "start": at("08:00")});
    let s = c.book(&spay).await;
    assert_eq!(s["end"], format!("{DAY}T14:30:00Z"), "90 minutes");
    assert_eq!(s["buffer_after_minutes"], 30);
    let mut next = c.wellness(&at("09:45"));
    next["vet_id"] = json!(c.surgeon);
    next["room_id"] = json!(null);
    let res = c.app.post_json("/api/appointments", &next).await;
    assert_error(res, StatusCode::CONFLICT, "appointment_conflict", Some("vet_id")).await;
    next["start"] = json!(at("10:00"));
    c.book(&next).await;
}

#[tokio::test]
async fn overbooking_needs_its_permission_and_is_audited() {
    let c = Clinic::new().await;
    let app = &c.app;
    let first = c.book(&c.wellness(&at("10:00"))).await;
    let mut over = c.wellness(&at("10:00"));
    over["patient_id"] = json!(c.cat2);
    over["client_id"] = json!(c.client2);
    over["overbook"] = json!(true);
    let front = crate::access::staff_user(app, "rita", &["receptionist"]).await;
    let res = app.anonymous(Method::POST, "/api/appointments").bearer_auth(&front).json(&over).send().await.unwrap();
    let err = assert_error(res, StatusCode::FORBIDDEN, "forbidden", None).await;
    assert!(err["message"].as_str().unwrap().contains("appointments:overbook"));
    // Without the flag the receptionist gets the conflict.
    over["overbook"] = json!(false);
    let res = app.anonymous(Method::POST, "/api/appointments").bearer_auth(&front).json(&over).send().await.unwrap();
    assert_error(res, StatusCode::CONFLICT, "appointment_conflict", Some("vet_id")).await;
    // The administrator may.
    over["overbook"] = json!(true);
    let b = c.book(&over).await;
    assert_eq!(b["overbooked"], true);
    let audit = app.get_json(&format!("/api/audit?record_kind=appointment&record_id={}", id_of(&b))).await;
    assert_eq!(audit["items"][0]["action"], "appointment.overbook");
    assert_eq!(audit["items"][0]["detail"]["over"], first["id"]);
}

#[tokio::test]
async fn the_workflow_is_enforced_and_each_step_is_stamped() {
    let c = Clinic::new().await;
    let app = &c.app;
    let a = c.book(&c.wellness(&at("09:00"))).await;
    let id = id_of(&a);
    // Straight to completed is refused, naming the allowed moves.
    let res = c.transition(&id, "completed").await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_transition");
    assert_eq!(body["error"]["details"]["allowed"], json!(["confirmed", "checked_in", "cancelled"]));
    // No-show before the start time is refused.
    let res = c.transition(&id, "no_show").await;
    let e = assert_error(res, StatusCode::CONFLICT, "invalid_transition", None).await;
    assert!(e["message"].as_str().unwrap().contains("start time"));
    for (to, stamp) in [
        ("confirmed", "confirmed_at"),
        ("checked_in", "checked_in_at"),
        ("in_progress", "started_at"),
        ("completed", "completed_at"),
    ] {
        let a = expect_json(c.transition(&id, to).await, StatusCode::OK).await;
        assert_eq!(a["status"], to);
        assert!(a["times"][stamp].is_string(), "{to} stamps {stamp}: {a}");
    }
    let done = app.get_json(&format!("/api/appointments/{id}")).await;
    assert_eq!(done["history"].as_array().unwrap().len(), 4);
    assert_error(
        c.transition(&id, "cancelled").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("reason"),
    )
    .await;
    let res =
        app.post_json(&format!("/api/appointments/{id}/transition"), &json!({"to": "cancelled", "reason": "x"})).await;
    assert_error(res, StatusCode::CONFLICT, "invalid_transition", None).await;
    let res = app.post_json(&format!("/api/appointments/{id}/transition"), &json!({"to": "teleported"})).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = c.transition(UNKNOWN_ID, "confirmed").await;
    assert_error(res, StatusCode::NOT_FOUND, "appointment_not_found", None).await;
}

#[tokio::test]
async fn a_past_appointment_can_be_a_no_show_and_cancelling_frees_the_slot() {
    let c = Clinic::new().await;
    let app = &c.app;
    let earlier = clowder_actors::Clock::now(&clowder_actors::SystemClock) - jiff::SignedDuration::from_hours(3);
    let past = c.book(&c.wellness(&earlier.to_string())).await;
    let long_ago = c.wellness("2020-01-06T09:00:00-05:00");
    let res = app.post_json("/api/appointments", &long_ago).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("start")).await;
    let ns = expect_json(c.transition(&id_of(&past), "no_show").await, StatusCode::OK).await;
    assert!(ns["times"]["no_show_at"].is_string());

    let a = c.book(&c.wellness(&at("14:00"))).await;
    let vet = crate::access::staff_user(app, "vic", &["veterinarian"]).await;
    let cancel = json!({"to": "cancelled", "reason": "owner is ill"});
    let res = app
        .anonymous(Method::POST, &format!("/api/appointments/{}/transition", id_of(&a)))
        .bearer_auth(&vet)
        .json(&cancel)
        .send()
        .await
        .unwrap();
    let e = assert_error(res, StatusCode::FORBIDDEN, "forbidden", None).await;
    assert!(e["message"].as_str().unwrap().contains("appointments:delete"));
    let cancelled = expect_json(
        app.post_json(&format!("/api/appointments/{}/transition", id_of(&a)), &cancel).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!((cancelled["cancel_reason"].as_str(), cancelled["sequence"].as_u64()), (Some("owner is ill"), Some(1)));
    assert!(cancelled["cancelled_by"].is_string());
    c.book(&c.wellness(&at("14:00"))).await;
}

#[tokio::test]
async fn rescheduling_checks_conflicts_and_bumps_the_sequence() {
    let c = Clinic::new().await;
    let app = &c.app;
    let a = c.book(&c.wellness(&at("09:00"))).await;
    let mut other = c.wellness(&at("10:00"));
    other["patient_id"] = json!(c.cat2);
    other["client_id"] = json!(c.client2);
    let b = c.book(&other).await;
    let path = format!("/api/appointments/{}", id_of(&a));
    let res = app.patch_json(&path, &json!({"start": at("10:15")})).await;
    let e = assert_error(res, StatusCode::CONFLICT, "appointment_conflict", Some("vet_id")).await;
    assert_eq!(e["details"]["appointment_id"], b["id"]);
    let moved = expect_json(app.patch_json(&path, &json!({"start": at("11:00")})).await, StatusCode::OK).await;
    assert_eq!(
        (moved["end"].as_str(), moved["sequence"].as_u64()),
        (Some(format!("{DAY}T16:30:00Z").as_str()), Some(1))
    );
    let noted = expect_json(app.patch_json(&path, &json!({"notes": "bring the carrier"})).await, StatusCode::OK).await;
    assert_eq!(noted["sequence"], 1, "a note is not a reschedule");
    // The old time is free again.
    let mut again = c.wellness(&at("09:00"));
    again["patient_id"] = json!(c.cat2);
    again["client_id"] = json!(c.client2);
    c.book(&again).await;
    // Once in progress it can no longer move.
    for to in ["checked_in", "in_progress"] {
        expect_json(c.transition(&id_of(&a), to).await, StatusCode::OK).await;
    }
    let res = app.patch_json(&path, &json!({"start": at("12:00")})).await;
    assert_error(res, StatusCode::CONFLICT, "invalid_transition", None).await;
}

#[tokio::test]
async fn listings_filter_and_page_and_the_day_view_has_columns() {
    let c = Clinic::new().await;
    let app = &c.app;
    for (i, time) in ["08:00", "08:30", "09:00", "09:30", "10:00"].iter().enumerate() {
        let mut body = c.wellness(&at(time));
        if i % 2 == 1 {
            body["vet_id"] = json!(c.surgeon);
            body["room_id"] = json!(null);
            body["type_id"] = json!(c.ty("Recheck"));
        }
        c.book(&body).await;
    }
    c.book(&c.wellness(&format!("{}T09:00:00-05:00", day(1)))).await;
    let page = app.get_json(&format!("/api/appointments?date={DAY}&limit=2")).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let all = app.walk(&format!("/api/appointments?date={DAY}"), 2).await;
    assert_eq!(all.len(), 5);
    let starts: Vec<&str> = all.iter().map(|a| a["start"].as_str().unwrap()).collect();
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted);
    let mine = app.get_json(&format!("/api/appointments?date={DAY}&vet_id={}", c.surgeon)).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 2);
    let by_patient = app.get_json(&format!("/api/appointments?patient_id={}", c.cat)).await;
    assert_eq!(by_patient["items"].as_array().unwrap().len(), 6);
    // A cursor from an earlier page stays harmless when the range no longer reaches it.
    let first = app.get_json(&format!("/api/appointments?date={DAY}&limit=2")).await;
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let res = app.get(&format!("/api/appointments?to={}T00:00:00Z&cursor={cursor}", day(-30))).await;
    assert_eq!(expect_json(res, StatusCode::OK).await["items"], json!([]));
    for bad in
        ["status=lost", "vet_id=nope", "limit=0", "cursor=zz", "date=2030-02-30", "colour=red", "date=9999-12-31"]
    {
        let res = app.get(&format!("/api/appointments?{bad}")).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }

    let day = app.get_json(&format!("/api/calendar?date={DAY}")).await;
    assert_eq!(day["time_zone"], "America/New_York");
    assert_eq!(day["open"], json!([format!("{DAY}T13:00:00Z"), format!("{DAY}T23:00:00Z")]), "a Tuesday, 08:00–18:00");
    let vets = day["vets"].as_array().unwrap();
    assert_eq!(vets.len(), 2);
    let ben = vets.iter().find(|v| v["id"] == json!(c.vet)).unwrap();
    assert_eq!(ben["name"], "Dr. Ben Vet");
    // Appointments by start, referring to the vets, rooms, cats, clients and types by id.
    let lines = day["appointments"].as_array().unwrap();
    assert_eq!(lines.len(), 5);
    let bens: Vec<&Value> = lines.iter().filter(|a| a["vet_id"] == json!(c.vet)).collect();
    assert_eq!(bens.len(), 3);
    let first = bens[0];
    assert_eq!(first["start"], format!("{DAY}T13:00:00Z"));
    assert_eq!(first["status"], "scheduled");
    assert_eq!(day["patients"][first["patient_id"].as_str().unwrap()]["name"], "Mittens");
    assert_eq!(day["clients"][first["client_id"].as_str().unwrap()]["name"], "Jon Smith");
    let ty = &day["types"][first["type_id"].as_str().unwrap()];
    assert_eq!((&ty["name"], &ty["color"]), (&json!("Wellness exam"), &json!("#2563eb")));
    assert!(day["rooms"].as_array().unwrap().iter().any(|r| r["id"] == first["room_id"]));
    // What a line leaves out: the record's history, audit stamps, and flags that are false.
    for key in ["history", "times", "created_by", "sequence", "has_notes", "overbooked", "location_id"] {
        assert!(first.get(key).is_none(), "{key} in {first}");
    }
    assert_eq!(first["first_visit"], true, "Mittens had no earlier appointment");
    let starts: Vec<&str> = lines.iter().map(|a| a["start"].as_str().unwrap()).collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{starts:?}");
    let rooms = day["rooms"].as_array().unwrap();
    assert_eq!(rooms.len(), 2);
    for far in ["9999-12-30", "9999-12-31", "-009999-01-01"] {
        let res = app.get(&format!("/api/calendar?date={far}")).await;
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("date")).await;
    }
    let res = app.get(&format!("/api/calendar?date={DAY}&location={UNKNOWN_ID}")).await;
    assert_error(res, StatusCode::NOT_FOUND, "location_not_found", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_requests_for_one_slot_give_one_booking() {
    let c = Clinic::new().await;
    // A hundred different cats, all wanting Ben at 09:00.
    let mut bodies = Vec::new();
    for i in 0..100 {
        let cat = c.app.some_patient(&c.client, &format!("Cat {i}")).await;
        let mut b = c.wellness(&at("09:00"));
        b["patient_id"] = json!(cat);
        b["room_id"] = json!(null);
        bodies.push(b);
    }
    let url = c.app.url("/api/appointments");
    let token = c.app.token();
    let client = reqwest::Client::new();
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|b| {
            let (client, url, token) = (client.clone(), url.clone(), token.clone());
            tokio::spawn(async move {
                let mut rb = client.post(&url).json(&b);
                if let Some(t) = token {
                    rb = rb.bearer_auth(t);
                }
                rb.send().await.unwrap().status()
            })
        })
        .collect();
    let mut created = 0;
    let mut conflicts = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => conflicts += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((created, conflicts), (1, 99));
    let listed = c.app.get_json(&format!("/api/appointments?date={DAY}&vet_id={}", c.vet)).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bookings_survive_a_restart_and_still_block_the_slot() {
    let c = Clinic::new().await;
    let a = c.book(&c.wellness(&at("09:00"))).await;
    let Clinic { app, client2, cat2, .. } = c;
    let dir = app.stop().await;
    let app = TestApp::spawn_with(|args| args.data_dir = dir.path().into()).await;
    app.login_admin().await;
    let again = app.get_json(&format!("/api/appointments/{}", id_of(&a))).await;
    assert_eq!(again["start"], a["start"]);
    let body = json!({"client_id": client2, "patient_id": cat2, "type_id": a["type_id"], "vet_id": a["vet_id"],
                      "start": a["start"]});
    let res = app.post_json("/api/appointments", &body).await;
    assert_error(res, StatusCode::CONFLICT, "appointment_conflict", Some("vet_id")).await;
    drop(dir);
}

/// A busy day at the front desk, as the day-view goals count it: 6 vets in 6 exam rooms, 60
/// appointments 08:00–12:30 (10 a vet), 60 cats of 45 clients (15 have two), reasons on all,
/// notes on every third, 10 cats checked in and 3 appointments cancelled.
pub struct BusyDay {
    pub vets: Vec<String>,
    pub rooms: Vec<String>,
    pub clients: Vec<String>,
    pub cats: Vec<String>,
}

pub const BUSY_VETS: usize = 6;
pub const BUSY_APPOINTMENTS: usize = 60;

/// The names the busy day uses, distinct so that counting them in an answer is exact.
fn busy_vet(i: usize) -> String {
    format!("Vetname{i}")
}
fn busy_client(i: usize) -> (String, String) {
    (format!("Alex{i:02}"), format!("Morgan{i:02}"))
}
fn busy_cat(i: usize) -> String {
    format!("Kitty {i:02}")
}

pub async fn busy_day(app: &TestApp) -> BusyDay {
    let location = id_of(&app.get_json("/api/locations").await[0]);
    let mut rooms = Vec::new();
    for i in 0..BUSY_VETS {
        let body = json!({"location_id": location, "name": format!("Exam {}", i + 1), "kind": "exam"});
        rooms.push(id_of(&expect_json(app.post_json("/api/rooms", &body).await, StatusCode::CREATED).await));
    }
    let mut vets = Vec::new();
    for i in 0..BUSY_VETS {
        let body = json!({"first_name": busy_vet(i), "last_name": "Doctor", "position": "veterinarian",
                          "capabilities": {"can_prescribe": true}, "home_location_id": location});
        vets.push(id_of(&expect_json(app.post_json("/api/staff", &body).await, StatusCode::CREATED).await));
    }
    let mut clients = Vec::new();
    for i in 0..45 {
        let (first, last) = busy_client(i);
        clients.push(app.some_client(&first, &last).await);
    }
    let mut cats = Vec::new();
    for i in 0..BUSY_APPOINTMENTS {
        // Clients 0–14 have two cats.
        cats.push(app.some_patient(&clients[i % 45], &busy_cat(i)).await);
    }
    let types = app.get_json("/api/appointment-types").await;
    let wellness = id_of(types.as_array().unwrap().iter().find(|t| t["name"] == "Wellness exam").unwrap());
    let reasons = ["annual check-up", "vaccination booster", "limping on the left hind leg", "not eating for two days"];
    let mut booked = Vec::new();
    for n in 0..BUSY_APPOINTMENTS {
        let (vet, slot) = (n % BUSY_VETS, n / BUSY_VETS);
        let start = format!("{DAY}T{:02}:{:02}:00-05:00", 8 + slot / 2, 30 * (slot % 2));
        let mut body = json!({"client_id": clients[n % 45], "patient_id": cats[n], "type_id": wellness,
                              "vet_id": vets[vet], "room_id": rooms[(vet + slot) % BUSY_VETS], "start": start,
                              "reason": reasons[n % reasons.len()]});
        if n % 3 == 0 {
            body["notes"] = json!("Owner asks for a call back with the results; bring the vaccination card.");
        }
        booked.push(id_of(&expect_json(app.post_json("/api/appointments", &body).await, StatusCode::CREATED).await));
    }
    for id in &booked[..10] {
        let res = app.post_json(&format!("/api/appointments/{id}/transition"), &json!({"to": "checked_in"})).await;
        expect_json(res, StatusCode::OK).await;
    }
    for id in &booked[50..53] {
        let body = json!({"to": "cancelled", "reason": "owner called"});
        expect_json(app.post_json(&format!("/api/appointments/{id}/transition"), &body).await, StatusCode::OK).await;
    }
    BusyDay { vets, rooms, clients, cats }
}

#[tokio::test]
async fn the_day_view_sends_each_vet_room_cat_and_client_once_and_fits_the_original_size() {
    let app = TestApp::signed_in().await;
    let busy = busy_day(&app).await;
    let res = app.get(&format!("/api/calendar?date={DAY}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    // The original system's list of the same day was 44 KB.
    assert!(text.len() <= 44_000, "the day view answers {} bytes", text.len());
    let count = |needle: &str| text.matches(needle).count();
    for i in 0..BUSY_VETS {
        assert_eq!(count(&busy_vet(i)), 1, "vet {i}");
        assert_eq!(count(&format!("\"Exam {}\"", i + 1)), 1, "room {i}");
    }
    for i in 0..45 {
        let (first, last) = busy_client(i);
        assert_eq!(count(&format!("{first} {last}")), 1, "client {i}");
    }
    for i in 0..BUSY_APPOINTMENTS {
        assert_eq!(count(&busy_cat(i)), 1, "cat {i}");
    }
    assert_eq!(count("Wellness exam"), 1);
    let day: Value = serde_json::from_str(&text).unwrap();
    let lines = day["appointments"].as_array().unwrap();
    assert_eq!(lines.len(), BUSY_APPOINTMENTS, "cancelled ones included");
    assert_eq!(day["vets"].as_array().unwrap().len(), BUSY_VETS);
    assert_eq!(day["rooms"].as_array().unwrap().len(), BUSY_VETS);
    assert_eq!(day["patients"].as_object().unwrap().len(), BUSY_APPOINTMENTS);
    assert_eq!(day["clients"].as_object().unwrap().len(), 45);
    // Every reference resolves within the answer.
    for a in lines {
        assert!(day["patients"].get(a["patient_id"].as_str().unwrap()).is_some(), "{a}");
        assert!(day["clients"].get(a["client_id"].as_str().unwrap()).is_some(), "{a}");
        assert!(day["types"].get(a["type_id"].as_str().unwrap()).is_some(), "{a}");
        assert!(busy.vets.contains(&a["vet_id"].as_str().unwrap().to_owned()), "{a}");
        assert!(busy.rooms.contains(&a["room_id"].as_str().unwrap().to_owned()), "{a}");
    }
    let checked_in = lines.iter().filter(|a| a["status"] == "checked_in").collect::<Vec<_>>();
    assert_eq!(checked_in.len(), 10);
    assert!(checked_in.iter().all(|a| a["checked_in_at"].is_string()));
    assert_eq!(lines.iter().filter(|a| a["status"] == "cancelled").count(), 3);
    assert_eq!(lines.iter().filter(|a| a["has_notes"] == true).count(), 20);
    assert!(!text.contains("Owner asks"), "notes stay on the appointment");
    assert!(lines.iter().all(|a| a["first_visit"] == true), "every cat's first appointment");
    assert_eq!(busy.clients.len() + busy.cats.len(), 105);
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
    out
}

#[tokio::test]
async fn large_json_answers_are_gzipped_when_the_client_accepts_it_and_small_ones_never() {
    let app = TestApp::signed_in().await;
    busy_day(&app).await;
    let path = format!("/api/calendar?date={DAY}");
    let plain = app.get(&path).await;
    assert_eq!(plain.headers().get("content-encoding"), None, "not asked for");
    assert_eq!(plain.headers()["vary"], "accept-encoding", "caches must key on it all the same");
    let plain = plain.bytes().await.unwrap();

    let zipped = app.request(Method::GET, &path).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(zipped.status(), StatusCode::OK);
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    assert_eq!(zipped.headers()["vary"], "accept-encoding");
    assert!(zipped.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let zipped = zipped.bytes().await.unwrap();
    assert!(zipped.len() * 3 < plain.len(), "{} bytes gzipped from {}", zipped.len(), plain.len());
    eprintln!("the busy day: {} bytes, {} gzipped", plain.len(), zipped.len());
    assert_eq!(gunzip(&zipped), plain.to_vec());

    // A small answer (a day with no appointment) is sent as it is, even when gzip is accepted.
    let small = app.request(Method::GET, &format!("/api/calendar?date={}", day(7))).header("accept-encoding", "gzip");
    let small = small.send().await.unwrap();
    assert_eq!(small.headers().get("content-encoding"), None);
    assert_eq!(small.headers().get("vary"), None);
    let small = small.bytes().await.unwrap();
    assert!(small.len() < usize::from(clowder_web::COMPRESS_ABOVE_BYTES), "{} bytes", small.len());
    serde_json::from_slice::<Value>(&small).unwrap();
}

#[tokio::test]
async fn an_idempotent_replay_of_a_large_answer_is_compressed_afresh_for_whoever_asks() {
    let c = Clinic::new().await;
    let mut body = c.wellness(&at("09:00"));
    body["notes"] = json!("x".repeat(1500));
    let send = |gzip: bool| {
        let mut rb = c.app.request(Method::POST, "/api/appointments").json(&body).header("idempotency-key", "big-one");
        if gzip {
            rb = rb.header("accept-encoding", "gzip");
        }
        rb.send()
    };
    let first = send(true).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    assert_eq!(first.headers()["content-encoding"], "gzip");
    let first = gunzip(&first.bytes().await.unwrap());
    let replay = send(true).await.unwrap();
    assert_eq!(replay.status(), StatusCode::CREATED);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.headers()["content-encoding"], "gzip");
    assert_eq!(gunzip(&replay.bytes().await.unwrap()), first, "the stored answer is the plain one");
    let plain = send(false).await.unwrap();
    assert_eq!(plain.headers()["idempotent-replayed"], "true");
    assert_eq!(plain.headers().get("content-encoding"), None);
    assert_eq!(plain.bytes().await.unwrap().to_vec(), first);
}
