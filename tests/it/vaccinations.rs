//! Vaccinations end to end: a dose recorded → its due date computed with the rule that produced
//! it → an override with a reason shown beside the computed date → the due list per location →
//! the vaccine-due automation sends one message per owner through the `log` provider, never
//! naming a deceased cat; bad input (future date, before birth, 1 MB text, unknown vaccine, a
//! deceased cat), refusals and reactions, `Idempotency-Key` replay, audited reads.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::calendar::Clinic;
use crate::helpers::{TestApp, assert_error, expect_json, id_of};

/// The clinic's local date (the test server's zone).
fn today() -> jiff::civil::Date {
    clowder_actors::Clock::now(&clowder_actors::SystemClock).in_tz("America/New_York").unwrap().date()
}

fn days(n: i64) -> jiff::civil::Date {
    today().checked_add(jiff::Span::new().days(n)).unwrap()
}

fn dose(patient: &str, vaccine: &str, given_on: jiff::civil::Date) -> Value {
    json!({"patient_id": patient, "vaccine": vaccine, "product": "Purevax RCP", "manufacturer": "Boehringer Ingelheim",
           "lot": "L2231A", "serial": "S-19", "expiry": days(365).to_string(), "given_on": given_on.to_string(),
           "route": "subcutaneous", "site": "left hind limb, distal"})
}

async fn kitten(app: &TestApp, client: &str, name: &str, age_days: i64) -> String {
    let born = days(-age_days).to_string();
    id_of(&app.create_patient(json!({"client_id": client, "name": name, "date_of_birth": born})).await)
}

fn item<'a>(v: &'a Value, vaccine: &str) -> &'a Value {
    v["due"].as_array().unwrap().iter().find(|i| i["vaccine"] == vaccine).unwrap()
}

#[tokio::test]
async fn a_dose_gives_a_due_date_with_its_rule_an_override_shows_beside_it_and_the_list_is_per_location() {
    let c = Clinic::new().await;
    let app = &c.app;
    let client = app.some_client("Ada", "Lovelace").await;
    let cat = kitten(app, &client, "Mochi", 56).await; // 8 weeks old
    let v =
        expect_json(app.post_json("/api/vaccinations", &dose(&cat, "FVRCP", today())).await, StatusCode::CREATED).await;
    assert_eq!(v["entry"]["type"], "dose");
    assert_eq!(v["entry"]["lot"], "L2231A");
    assert_eq!(v["protocol_version"], 1);
    let mine = app.get_json(&format!("/api/patients/{cat}/vaccinations")).await;
    assert_eq!(mine["protocol"], "AAHA/AAFP 2020");
    assert_eq!(mine["entries"][0]["id"], v["id"]);
    let fvrcp = item(&mine, "fvrcp");
    assert_eq!(fvrcp["due_on"], days(21).to_string());
    assert_eq!(fvrcp["status"], "due");
    assert_eq!(
        fvrcp["rule"],
        "FVRCP kitten series: dose 2 of 3, 3–4 weeks after dose 1 until 16 weeks of age (AAHA/AAFP 2020 v1)"
    );
    // FeLV for a kitten: from 8 weeks, so due today; not-at-risk non-core ones are not due.
    assert_eq!(item(&mine, "felv")["due_on"], today().to_string());
    assert_eq!(item(&mine, "chlamydia")["status"], "not_due");

    // Overridden with a reason: the override's date counts, the computed one stays beside it.
    let body = json!({"vaccine": "fvrcp", "due_on": days(28).to_string(), "reason": "recheck of the URI first"});
    let res = app.post_json(&format!("/api/patients/{cat}/vaccinations/overrides"), &body).await;
    expect_json(res, StatusCode::CREATED).await;
    let bad = app
        .post_json(&format!("/api/patients/{cat}/vaccinations/overrides"), &json!({"vaccine": "fvrcp", "reason": " "}))
        .await;
    assert_error(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("reason")).await;
    let mine = app.get_json(&format!("/api/patients/{cat}/vaccinations")).await;
    let fvrcp = item(&mine, "fvrcp");
    assert_eq!(
        (fvrcp["due_on"].as_str(), fvrcp["computed_on"].as_str()),
        (Some(&*days(28).to_string()), Some(&*days(21).to_string()))
    );
    assert_eq!(fvrcp["override"]["reason"], "recheck of the URI first");
    let audit = app.get_json("/api/audit?action=vaccination.override").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");

    // At risk (outdoor access): the non-core vaccine becomes due.
    let risk = json!({"vaccine": "chlamydia", "at_risk": true, "note": "goes to a cattery"});
    expect_json(app.post_json(&format!("/api/patients/{cat}/vaccinations/risk"), &risk).await, StatusCode::CREATED)
        .await;
    let mine = app.get_json(&format!("/api/patients/{cat}/vaccinations")).await;
    assert_eq!(item(&mine, "chlamydia")["status"], "due");

    // The due list per location: Mittens has a visit booked at the clinic's location, so she
    // is there; Mochi has none, so she is only in the list of every location.
    let start = clowder_actors::Clock::now(&clowder_actors::SystemClock)
        .checked_add(jiff::SignedDuration::from_hours(72))
        .unwrap()
        .to_string();
    c.book(&c.wellness(&start)).await;
    let here = app.get_json(&format!("/api/vaccinations/due?location_id={}", c.location)).await;
    let cats: Vec<&str> = here["items"].as_array().unwrap().iter().map(|i| i["patient_id"].as_str().unwrap()).collect();
    assert_eq!(cats, vec![c.cat.as_str()], "{here}");
    assert_eq!(here["items"][0]["location_id"], c.location);
    let all = app.walk("/api/vaccinations/due", 1).await;
    assert!(all.iter().any(|i| i["patient_id"] == cat.as_str()), "{all:?}");
    let elsewhere = app.get_json("/api/vaccinations/due?location_id=01JD7Y2Q4Z8W3N5K6M7P8R9S0T").await;
    assert_eq!(elsewhere["items"], json!([]));
    // An inactive cat is not listed.
    expect_json(app.delete(&format!("/api/patients/{cat}")).await, StatusCode::OK).await;
    let all = app.walk("/api/vaccinations/due", 50).await;
    assert!(!all.iter().any(|i| i["patient_id"] == cat.as_str()), "{all:?}");
    let overdue = app.get_json("/api/vaccinations/due?status=overdue").await;
    assert!(
        overdue["items"].as_array().unwrap().iter().all(|c| c["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["status"] == "overdue"))
    );
    let bad = app.get("/api/vaccinations/due?status=soon").await;
    assert_error(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("status")).await;
    // Reads of the record are audited.
    app.poll_json("/api/audit?action=vaccination.due_list", |a| !a["items"].as_array().unwrap().is_empty()).await;
    app.poll_json("/api/audit?action=vaccination.list", |a| !a["items"].as_array().unwrap().is_empty()).await;
}

#[tokio::test]
async fn bad_doses_are_refused_naming_the_field_and_nothing_is_written() {
    let app = TestApp::signed_in().await;
    let client = app.some_client("Bo", "Peep").await;
    let cat = kitten(&app, &client, "Pip", 100).await;
    let cases = [
        (dose(&cat, "fvrcp", days(1)), "given_on"),
        (dose(&cat, "fvrcp", days(-101)), "given_on"),
        (dose(&cat, "smallpox", today()), "vaccine"),
        (dose(&cat, "rabies", today()), "label_years"),
        (
            json!({"patient_id": cat, "vaccine": "fvrcp", "product": "x", "lot": "L", "expiry": days(-1).to_string()}),
            "given_on",
        ),
        (
            json!({"patient_id": cat, "vaccine": "fvrcp", "product": "x", "lot": "L", "note": "x".repeat(20_000)}),
            "note",
        ),
    ];
    for (body, field) in cases {
        let res = app.post_json("/api/vaccinations", &body).await;
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
    }
    // 1 MB of text is refused before it is read.
    let big = json!({"patient_id": cat, "vaccine": "fvrcp", "product": "x", "lot": "L", "note": "x".repeat(1 << 20)});
    assert_error(
        app.post_json("/api/vaccinations", &big).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        None,
    )
    .await;
    let unknown = dose(crate::helpers::UNKNOWN_ID, "fvrcp", today());
    assert_error(app.post_json("/api/vaccinations", &unknown).await, StatusCode::NOT_FOUND, "patient_not_found", None)
        .await;
    let mine = app.get_json(&format!("/api/patients/{cat}/vaccinations")).await;
    assert_eq!(mine["entries"], json!([]));

    // A deceased cat gets no new dose.
    expect_json(app.patch_json(&format!("/api/patients/{cat}"), &json!({"status": "deceased"})).await, StatusCode::OK)
        .await;
    let res = app.post_json("/api/vaccinations", &dose(&cat, "fvrcp", today())).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("patient_id")).await;
    assert_eq!(app.get_json(&format!("/api/patients/{cat}/vaccinations")).await["due"], json!([]));
    let missing = app.get(&format!("/api/vaccinations/{}", crate::helpers::UNKNOWN_ID)).await;
    assert_error(missing, StatusCode::NOT_FOUND, "vaccination_not_found", None).await;
}

#[tokio::test]
async fn refusals_and_reactions_are_entries_and_a_replayed_key_records_once() {
    let app = TestApp::signed_in().await;
    let client = app.some_client("Cy", "Twombly").await;
    let cat = kitten(&app, &client, "Leo", 4000).await;
    let declined = json!({"patient_id": cat, "vaccine": "rabies", "reason": "owner wants to wait until the move"});
    let d = expect_json(app.post_json("/api/vaccinations/declined", &declined).await, StatusCode::CREATED).await;
    assert_eq!(d["entry"]["type"], "declined");
    let mine = app.get_json(&format!("/api/patients/{cat}/vaccinations")).await;
    let rabies = item(&mine, "rabies");
    assert_eq!(rabies["status"], "declined");
    assert_eq!(rabies["declined_reason"], "owner wants to wait until the move");
    // A reaction goes on a dose, not on a refusal.
    let reaction =
        json!({"signs": "facial swelling, 40 min after", "severity": "moderate", "treatment": "diphenhydramine"});
    let res = app.post_json(&format!("/api/vaccinations/{}/reactions", id_of(&d)), &reaction).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("id")).await;

    let mut body = dose(&cat, "rabies", today());
    body["label_years"] = json!(3);
    let send =
        || app.request(Method::POST, "/api/vaccinations").header("Idempotency-Key", "rabies-leo-1").json(&body).send();
    let first = expect_json(send().await.unwrap(), StatusCode::CREATED).await;
    let again = send().await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(expect_json(again, StatusCode::CREATED).await["id"], first["id"]);
    let mine = app.get_json(&format!("/api/patients/{cat}/vaccinations")).await;
    assert_eq!(mine["entries"].as_array().unwrap().len(), 2, "{mine}");
    // Dosed after the refusal: due again, a year on (the booster after the first dose).
    assert_eq!(item(&mine, "rabies")["status"], "due");
    assert_eq!(item(&mine, "rabies")["due_on"], today().checked_add(jiff::Span::new().years(1)).unwrap().to_string());

    let r = app.post_json(&format!("/api/vaccinations/{}/reactions", id_of(&first)), &reaction).await;
    let r = expect_json(r, StatusCode::OK).await;
    assert_eq!(r["reactions"][0]["severity"], "moderate");
    assert!(r["reactions"][0]["recorded_by"].is_string());
    let got = app.get_json(&format!("/api/vaccinations/{}", id_of(&first))).await;
    assert_eq!(got["reactions"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_vaccine_due_rule_sends_one_message_per_owner_never_naming_a_deceased_cat() {
    let app = TestApp::signed_in().await;
    // Kittens of 4 weeks: their first FVRCP dose is due at 6 weeks, 14 days from today, the
    // rule's default timing.
    let owner = app.some_client("Di", "Two-Cats").await;
    let a = kitten(&app, &owner, "Biscuit", 28).await;
    let b = kitten(&app, &owner, "Pounce", 28).await;
    let gone = kitten(&app, &owner, "Shadow", 28).await;
    let mourning = app.some_client("Ed", "Mourning").await;
    let only = kitten(&app, &mourning, "Smudge", 28).await;
    for id in [&gone, &only] {
        let res = app.patch_json(&format!("/api/patients/{id}"), &json!({"status": "deceased"})).await;
        expect_json(res, StatusCode::OK).await;
    }
    let preview = app.get_json("/api/automations/vaccine_due/preview?days=1").await;
    assert!(!preview["items"].as_array().unwrap().is_empty(), "{preview}");
    for _ in 0..2 {
        let job = expect_json(app.post_json("/api/automations/sweep", &json!({})).await, StatusCode::ACCEPTED).await;
        app.poll_json(&format!("/api/jobs/{}", job["job_id"].as_str().unwrap()), |j| j["state"] == "succeeded").await;
    }
    let of = |client: String| automation_messages(&app, client, "vaccine_due");
    let sent = of(owner.clone()).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let text = sent[0]["text"].as_str().unwrap();
    assert!(text.contains("Biscuit") && text.contains("Pounce") && !text.contains("Shadow"), "{text}");
    assert!(text.contains("FVRCP"), "{text}");
    assert!(of(mourning).await.is_empty());
    // Queued for the `log` provider (the send job keeps the client's quiet hours).
    assert!(["queued", "sent"].contains(&sent[0]["status"].as_str().unwrap()), "{sent:?}");
    let _ = (a, b);
}

#[tokio::test]
async fn a_new_protocol_version_is_checked_when_saved_and_moves_due_dates_naming_its_version() {
    let app = TestApp::signed_in().await;
    let current = app.get_json("/api/clinical-facts/vaccine_protocol").await;
    assert_eq!(current["version"], 1);
    assert!(current["source"].as_str().unwrap().contains("AAHA/AAFP"));
    let mut body = current["body"].clone();
    body["vaccines"][0]["series"]["interval_min_weeks"] = json!(9);
    let put = json!({"body": body, "source": "clinic policy", "note": "typo"});
    let bad = app.put_json("/api/clinical-facts/vaccine_protocol", &put).await;
    assert_error(
        bad,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("body.vaccines[0].series.interval_min_weeks"),
    )
    .await;

    // The clinic keeps the older guidance: the FVRCP booster 1 year after the kitten series.
    let client = app.some_client("Fay", "Older").await;
    let cat = kitten(&app, &client, "Nib", 120).await; // 17 weeks: the series ends with this dose
    expect_json(app.post_json("/api/vaccinations", &dose(&cat, "fvrcp", days(-50))).await, StatusCode::CREATED).await;
    expect_json(app.post_json("/api/vaccinations", &dose(&cat, "fvrcp", today())).await, StatusCode::CREATED).await;
    let before = item(&app.get_json(&format!("/api/patients/{cat}/vaccinations")).await, "fvrcp").clone();
    assert!(before["rule"].as_str().unwrap().starts_with("FVRCP booster at 6 months of age"), "{before}");
    let mut body = current["body"].clone();
    body["kitten_booster"] = json!("one_year");
    let put = json!({"body": body, "source": "AAFP 2013 guidance, kept by the clinic"});
    expect_json(app.put_json("/api/clinical-facts/vaccine_protocol", &put).await, StatusCode::OK).await;
    let after = item(&app.get_json(&format!("/api/patients/{cat}/vaccinations")).await, "fvrcp").clone();
    assert_eq!(after["due_on"], today().checked_add(jiff::Span::new().years(1)).unwrap().to_string());
    assert_eq!(after["protocol_version"], 2);
    assert!(after["rule"].as_str().unwrap().ends_with("(AAHA/AAFP 2020 v2)"), "{after}");
}

#[tokio::test]
async fn vaccination_events_reach_record_readers_as_ids_only_and_never_a_receptionist() {
    use crate::live::{connect, next, send};
    let app = TestApp::signed_in().await;
    let client = app.some_client("Gil", "Frames").await;
    let cat = kitten(&app, &client, "Tig", 200).await;
    let topic = format!("patient:{cat}");
    let tech = crate::access::staff_user(&app, "tom", &["vet_tech"]).await;
    let front = crate::access::staff_user(&app, "rita", &["receptionist"]).await;
    let mut tech_ws = connect(&app, &tech).await;
    let mut front_ws = connect(&app, &front).await;
    for ws in [&mut tech_ws, &mut front_ws] {
        send(ws, json!({"op": "subscribe", "topics": [topic]})).await;
        assert_eq!(next(ws).await["type"], "subscribed");
    }
    // The tech records the dose (vaccinations:create) and sees its event, ids only.
    let res =
        app.anonymous(Method::POST, "/api/vaccinations").bearer_auth(&tech).json(&dose(&cat, "fvrcp", today())).send();
    let v = expect_json(res.await.unwrap(), StatusCode::CREATED).await;
    let e = next(&mut tech_ws).await;
    assert_eq!(
        e["data"],
        json!({"type": "vaccination_recorded", "vaccination_id": id_of(&v), "patient_id": cat, "changed": []})
    );
    let reaction = json!({"signs": "lethargy", "severity": "mild"});
    expect_json(app.post_json(&format!("/api/vaccinations/{}/reactions", id_of(&v)), &reaction).await, StatusCode::OK)
        .await;
    let e = next(&mut tech_ws).await;
    assert_eq!(e["data"]["changed"], json!(["reactions"]));
    // The receptionist may not record one, and sees only the next change she may see.
    let res =
        app.anonymous(Method::POST, "/api/vaccinations").bearer_auth(&front).json(&dose(&cat, "fvrcp", today())).send();
    assert_error(res.await.unwrap(), StatusCode::FORBIDDEN, "forbidden", None).await;
    expect_json(app.patch_json(&format!("/api/patients/{cat}"), &json!({"color": "tabby"})).await, StatusCode::OK)
        .await;
    assert_eq!(next(&mut front_ws).await["type"], "patient_updated");
}

#[tokio::test]
async fn a_dose_entered_later_sits_on_the_timeline_at_the_day_it_was_given() {
    let app = TestApp::signed_in().await;
    let client = app.some_client("Ada", "Lovelace").await;
    let cat = kitten(&app, &client, "Pixel", 400).await;
    // Weighed 30 days ago (entered now), then doses from the paper record typed in afterwards.
    let taken_at = clowder_actors::Clock::now(&clowder_actors::SystemClock)
        .checked_sub(jiff::SignedDuration::from_hours(30 * 24))
        .unwrap();
    let vitals = json!({"patient_id": cat, "taken_at": taken_at.to_string(),
                        "measurements": {"weight": {"value": 4.1, "unit": "kg"}}});
    expect_json(app.post_json("/api/vitals", &vitals).await, StatusCode::CREATED).await;
    let old =
        expect_json(app.post_json("/api/vaccinations", &dose(&cat, "fvrcp", days(-100))).await, StatusCode::CREATED)
            .await;
    let refused = json!({"patient_id": cat, "vaccine": "felv", "declined_on": days(-50).to_string(),
                         "reason": "indoor only"});
    let refused = expect_json(app.post_json("/api/vaccinations/declined", &refused).await, StatusCode::CREATED).await;
    let fresh =
        expect_json(app.post_json("/api/vaccinations", &dose(&cat, "fvrcp", today())).await, StatusCode::CREATED).await;

    let walked = app.walk(&format!("/api/patients/{cat}/timeline"), 2).await;
    let kinds: Vec<&str> = walked.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["vaccination", "vitals", "vaccination", "vaccination"], "{walked:?}");
    let ids: Vec<&str> = walked.iter().filter_map(|e| e["vaccination_id"].as_str()).collect();
    assert_eq!(ids, [id_of(&fresh).as_str(), id_of(&refused).as_str(), id_of(&old).as_str()]);
    // `at` is the day it happened (noon in the clinic's zone), not when it was typed in.
    let day = |e: &Value| {
        let at: jiff::Timestamp = e["at"].as_str().unwrap().parse().unwrap();
        at.in_tz("America/New_York").unwrap().date()
    };
    assert_eq!((day(&walked[2]), day(&walked[3])), (days(-50), days(-100)));
    // The cat's list, newest first, follows the same order.
    let mine = app.get_json(&format!("/api/patients/{cat}/vaccinations")).await;
    let listed: Vec<&str> = mine["entries"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(listed, ids);
}

/// The messages an automation `rule` queued for `client`.
pub(crate) async fn automation_messages(app: &TestApp, client: String, rule: &str) -> Vec<Value> {
    let msgs = app.get_json(&format!("/api/messages?client={client}")).await;
    msgs["items"].as_array().unwrap().iter().filter(|m| m["automation"] == rule).cloned().collect()
}
