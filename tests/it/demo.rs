//! `--demo`: a fresh server seeds the demo clinic, and its calendar is ready to show: rooms,
//! vets with their capabilities and accounts, shifts, time off and two weeks of appointments.

use std::collections::HashSet;

use clowder_actors::{Clock, SystemClock};
use jiff::ToSpan;
use jiff::civil::{Date, Weekday};
use serde_json::Value;

use crate::helpers::{TestApp, id_of};

/// The clinic's date (America/New_York, as in every test server), from the sanctioned clock.
fn clinic_today() -> Date {
    let zone = jiff::tz::TimeZone::get("America/New_York").expect("the time zone database knows New York");
    SystemClock.today(&zone)
}

/// Whether the clinic is closed on `d` or open only on Saturday morning, when just two vets
/// work: weekends and the location's blackout dates (the demo closes on public holidays).
fn quiet(d: Date, closed: &[Date]) -> bool {
    matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday) || closed.contains(&d)
}

/// The last full working day on or before `d`.
fn last_working_day(mut d: Date, closed: &[Date]) -> Date {
    while quiet(d, closed) {
        d = d.yesterday().expect("a date after year -9999");
    }
    d
}

/// The first full working day on or after `d`.
fn next_working_day(mut d: Date, closed: &[Date]) -> Date {
    while quiet(d, closed) {
        d = d.tomorrow().expect("a date before year 9999");
    }
    d
}

fn items(page: &Value) -> &Vec<Value> {
    page["items"].as_array().unwrap_or_else(|| panic!("no items in {page}"))
}

#[tokio::test]
async fn the_demo_clinic_comes_with_rooms_staff_and_a_busy_calendar() {
    let app = TestApp::spawn_with(|args| args.demo = true).await;
    app.login_admin().await;

    let rooms = app.get_json("/api/rooms").await;
    let rooms: HashSet<(&str, &str)> = rooms
        .as_array()
        .expect("a list of rooms")
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["kind"].as_str().unwrap()))
        .collect();
    for want in [("Exam 1", "exam"), ("Exam 4", "exam"), ("Surgery", "surgery"), ("Dental", "dental")] {
        assert!(rooms.contains(&want), "{want:?} in {rooms:?}");
    }
    assert!(rooms.contains(&("Isolation", "isolation")) && rooms.contains(&("Cat ward", "cat_ward")));

    // The price list came first, so the visits seen are charged as lines, not uncharged
    // entries (charge capture follows the log: poll for a draft).
    let prices = app.get_json("/api/catalogue?limit=200").await;
    assert_eq!(prices["items"].as_array().map(Vec::len), Some(clowder::demo::prices::PRICES.len()), "{prices}");
    // A draft is committed just before its first line: wait until every draft has one.
    let drafts = app
        .poll_json("/api/invoices?status=draft&limit=200", |p| {
            p["items"].as_array().is_some_and(|i| !i.is_empty() && i.iter().all(|d| d["lines"][0].is_object()))
        })
        .await;
    let drafts = drafts["items"].as_array().unwrap();
    assert!(drafts.iter().all(|i| i["uncharged"].as_array().unwrap().is_empty()), "nothing uncharged");

    let staff = app.get_json("/api/staff").await;
    let staff = staff.as_array().expect("a list of staff");
    let vets: Vec<&Value> = staff.iter().filter(|s| s["position"] == "veterinarian").collect();
    assert_eq!(vets.len(), 4, "{staff:?}");
    assert!(vets.iter().all(|v| v["capabilities"]["can_prescribe"] == true && v["licence"]["number"].is_string()));
    assert_eq!(vets.iter().filter(|v| v["capabilities"]["can_perform_surgery"] == true).count(), 2);
    assert!(staff.iter().any(|s| s["position"] == "vet_tech") && staff.iter().any(|s| s["position"] == "receptionist"));
    // The demo accounts (all but admin) have their profiles.
    assert_eq!(staff.iter().filter(|s| s["user_id"].is_string()).count(), 6);

    let time_off = app.get_json("/api/time-off?status=approved").await;
    assert_eq!(time_off.as_array().map(Vec::len), Some(1), "{time_off}");

    let location = &app.get_json("/api/locations").await[0];
    assert_eq!(location["name"], "Rose City Cat Clinic");
    let closed: Vec<Date> = serde_json::from_value(location["blackout_dates"].clone()).expect("dates");
    assert!(closed.len() >= 12, "public holidays of this year and the next: {closed:?}");

    let day = last_working_day(clinic_today(), &closed);
    let calendar = app.get_json(&format!("/api/calendar?date={day}")).await;
    assert!(calendar["open"].is_array(), "open on {day}: {calendar}");
    let lines = calendar["appointments"].as_array().expect("appointments");
    let busy_vets: std::collections::BTreeSet<&str> = lines.iter().filter_map(|a| a["vet_id"].as_str()).collect();
    assert!(busy_vets.len() >= 2, "vets with appointments on {day}: {calendar}");
    let columns = calendar["vets"].as_array().expect("vet columns");
    for vet in &busy_vets {
        let column = columns.iter().find(|c| c["id"] == *vet).expect("a column for each vet booked");
        assert!(column["name"].as_str().unwrap().starts_with("Dr. "));
    }
    let line = &lines[0];
    let named = |map: &str, key: &str| calendar[map][line[key].as_str().unwrap()]["name"].as_str().unwrap().to_owned();
    assert!(!named("patients", "patient_id").is_empty() && !named("types", "type_id").is_empty());

    let listed = app.get_json(&format!("/api/appointments?date={day}&limit=200")).await;
    assert!(items(&listed).len() >= 10, "appointments on {day}: {listed}");
    // The cat booked is the client's own.
    let a = &items(&listed)[0];
    let cat = app.get_json(&format!("/api/patients/{}", a["patient_id"].as_str().unwrap())).await;
    assert_eq!(cat["client_id"], a["client_id"]);

    // The first weekday of the past week (appointments start a week back) is over: mostly
    // completed, and nothing still waiting.
    let week_ago = next_working_day(clinic_today() - 7.days(), &closed);
    let past = app.get_json(&format!("/api/appointments?date={week_ago}&limit=200")).await;
    let statuses: Vec<&str> = items(&past).iter().map(|a| a["status"].as_str().unwrap()).collect();
    let completed = statuses.iter().filter(|s| **s == "completed").count();
    assert!(statuses.len() >= 10 && completed * 10 >= statuses.len() * 7, "{statuses:?} on {week_ago}");
    assert!(statuses.iter().all(|s| ["completed", "no_show", "cancelled"].contains(s)), "{statuses:?}");

    // Every vet has shifts from a week back to two weeks ahead: four days a week or so.
    let (from, to) = (clinic_today() - 7.days(), clinic_today() + 14.days());
    for vet in &vets {
        let shifts = app.get_json(&format!("/api/staff/{}/shifts?from={from}&to={to}", id_of(vet))).await;
        let n = shifts.as_array().map_or(0, Vec::len);
        assert!((6..=18).contains(&n), "{n} shifts for {}", vet["last_name"]);
    }

    // The medical record: each appointment seen has its visit, with vitals, a note (mostly
    // signed, some with an addendum, today's still drafts), problems and prescriptions.
    let a = items(&past).iter().find(|a| a["status"] == "completed").expect("a completed appointment");
    let cat = a["patient_id"].as_str().unwrap();
    let visits = app.get_json(&format!("/api/visits?patient_id={cat}")).await;
    let visit = items(&visits).iter().find(|v| v["appointment_id"] == a["id"]).expect("the appointment's visit");
    assert_eq!(visit["status"], "completed");
    let timeline = app.walk(&format!("/api/patients/{cat}/timeline"), 50).await;
    let kinds: HashSet<&str> = timeline.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains("visit") && kinds.contains("vitals"), "{kinds:?}");
    let weights = app.get_json(&format!("/api/patients/{cat}/weights")).await;
    assert!(!items(&weights).is_empty(), "{weights}");
    let all = app.walk("/api/visits?status=completed", 200).await;
    assert!(all.len() >= 30, "{} completed visits", all.len());
    let mut notes = (0, 0, 0);
    for v in all.iter().take(80) {
        let note = app.get_json(&format!("/api/visits/{}/note", id_of(v))).await;
        match note["status"].as_str() {
            Some("signed") if note["addenda"].as_array().is_some_and(|a| !a.is_empty()) => notes.2 += 1,
            Some("signed") => notes.0 += 1,
            _ => notes.1 += 1,
        }
    }
    assert!(notes.0 > notes.1 && notes.0 > 20, "signed, draft, with addenda: {notes:?}");
    let cats: HashSet<&str> = all.iter().filter_map(|v| v["patient_id"].as_str()).collect();
    let (mut problems, mut prescriptions) = (0, 0);
    for cat in cats.iter().take(40) {
        problems += items(&app.get_json(&format!("/api/patients/{cat}/problems?status=all")).await).len();
        prescriptions += items(&app.get_json(&format!("/api/patients/{cat}/prescriptions")).await).len();
    }
    assert!(problems >= 5 && prescriptions >= 5, "{problems} problems, {prescriptions} prescriptions");

    // A year of history before the two weeks, imported at its own times: the oldest visit
    // opened about a year ago, its note signed after it ended by a vet, and the doses of a
    // wellness exam given at that visit.
    assert!(all.len() > 2_000, "{} completed visits", all.len());
    let oldest = &all[0];
    let opened: jiff::Timestamp = oldest["opened_at"].as_str().unwrap().parse().unwrap();
    let now = SystemClock.now();
    assert!(opened.duration_until(now).as_secs() > 300 * 86_400, "{oldest}");
    let completed: jiff::Timestamp = oldest["completed_at"].as_str().unwrap().parse().unwrap();
    let note = app.get_json(&format!("/api/visits/{}/note", id_of(oldest))).await;
    let signed: jiff::Timestamp = note["note"]["signed_at"].as_str().unwrap().parse().unwrap();
    assert!(signed >= completed && completed > opened, "{note}");
    // (Cats whose vaccination history is not on file had theirs elsewhere.)
    let mut linked = 0;
    for wellness in all.iter().filter(|v| v["type"] == "wellness").take(20) {
        let cat = wellness["patient_id"].as_str().unwrap();
        let doses = app.get_json(&format!("/api/patients/{cat}/vaccinations")).await;
        linked += doses["entries"].as_array().unwrap().iter().filter(|e| e["visit_id"] == wellness["id"]).count();
    }
    assert!(linked > 0, "no dose given at any of 20 wellness visits");

    // The consent forms of the two newest visits: one signed by the owner with its PDF filed
    // as a consent document of the visit (downloadable), one left as a draft for the tablet.
    let visits = app.walk("/api/visits", 200).await;
    let mut forms = Vec::new();
    for v in visits.iter().rev().take(2) {
        forms.extend(items(&app.get_json(&format!("/api/consent-forms?visit_id={}", id_of(v))).await).clone());
    }
    let statuses: Vec<&str> = forms.iter().map(|f| f["status"].as_str().unwrap()).collect();
    assert!(statuses.contains(&"signed") && statuses.contains(&"draft"), "{statuses:?}");
    let signed = forms.iter().find(|f| f["status"] == "signed").unwrap();
    let document = signed["signature"]["document_id"].as_str().expect("the signed PDF");
    let meta = app.get_json(&format!("/api/documents/{document}")).await;
    assert_eq!((meta["category"].as_str(), meta["visit_id"].as_str()), (Some("consent"), signed["visit_id"].as_str()));
    let res = app.get(&format!("/api/documents/{document}/content")).await;
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert!(res.bytes().await.unwrap().starts_with(b"%PDF-"));
}
