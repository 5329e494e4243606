//! iCalendar through HTTP: one appointment's file (UID, DTSTAMP, TZID with its VTIMEZONE,
//! SEQUENCE bumped by reschedules, STATUS:CANCELLED), and a vet's subscription feed at a
//! secret, revocable URL without medical details; every file is read back by a real parser.

use icalendar::parser::{Calendar, Component, read_calendar, unfold};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::calendar::{Clinic, DAY};
use crate::helpers::{assert_error, expect_json, id_of};

fn at(time: &str) -> String {
    format!("{DAY}T{time}:00-05:00")
}

fn prop(c: &Component<'_>, name: &str) -> String {
    c.find_prop(name).unwrap_or_else(|| panic!("no {name}")).val.as_str().to_owned()
}

fn events<'c, 'a>(cal: &'c Calendar<'a>) -> Vec<&'c Component<'a>> {
    cal.components.iter().filter(|c| c.name.as_str() == "VEVENT").collect()
}

async fn fetch(res: reqwest::Response) -> String {
    assert_eq!(res.status(), StatusCode::OK);
    let ct = res.headers()[reqwest::header::CONTENT_TYPE].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/calendar"), "{ct}");
    res.text().await.unwrap()
}

#[tokio::test]
async fn an_appointment_file_tracks_reschedules_and_cancellation() {
    let c = Clinic::new().await;
    let app = &c.app;
    let a = c.book(&c.wellness(&at("09:00"))).await;
    let path = format!("/api/appointments/{}/ics", id_of(&a));
    let ics = fetch(app.get(&path).await).await;
    let unfolded = unfold(&ics);
    let cal = read_calendar(&unfolded).expect("a real parser reads it");
    let zones: Vec<_> = cal.components.iter().filter(|c| c.name.as_str() == "VTIMEZONE").collect();
    assert_eq!(zones.len(), 1);
    assert_eq!(prop(zones[0], "TZID"), "America/New_York");
    let ev = events(&cal);
    assert_eq!(ev.len(), 1);
    assert_eq!(prop(ev[0], "UID"), format!("{}@clowder", id_of(&a)));
    assert_eq!(prop(ev[0], "SEQUENCE"), "0");
    assert_eq!(prop(ev[0], "DTSTART"), format!("{}T090000", DAY.basic()));
    let tzid = ev[0].find_prop("DTSTART").unwrap().params.iter().find(|p| p.key.as_str() == "TZID").unwrap();
    assert_eq!(tzid.val.as_ref().unwrap().as_str(), "America/New_York");
    assert!(prop(ev[0], "DTSTAMP").ends_with('Z'));
    assert_eq!(prop(ev[0], "SUMMARY"), "Wellness exam: Mittens with Dr. Ben Vet");
    assert_eq!(prop(ev[0], "STATUS"), "TENTATIVE");

    app.patch_json(&format!("/api/appointments/{}", id_of(&a)), &json!({"start": at("10:00")})).await;
    let ics = fetch(app.get(&path).await).await;
    let unfolded = unfold(&ics);
    let cal = read_calendar(&unfolded).unwrap();
    let ev = events(&cal);
    assert_eq!((prop(ev[0], "SEQUENCE"), prop(ev[0], "DTSTART")), ("1".into(), format!("{}T100000", DAY.basic())));
    assert_eq!(prop(ev[0], "UID"), format!("{}@clowder", id_of(&a)), "the UID never changes");

    app.post_json(
        &format!("/api/appointments/{}/transition", id_of(&a)),
        &json!({"to": "cancelled", "reason": "moved away"}),
    )
    .await;
    let ics = fetch(app.get(&path).await).await;
    let unfolded = unfold(&ics);
    let cal = read_calendar(&unfolded).unwrap();
    let ev = events(&cal);
    assert_eq!((prop(ev[0], "STATUS"), prop(ev[0], "SEQUENCE")), ("CANCELLED".into(), "2".into()));
}

#[tokio::test]
async fn a_vets_feed_is_secret_revocable_and_free_of_medical_details() {
    let c = Clinic::new().await;
    let app = &c.app;
    // Within the feed's year ahead.
    let day = crate::availability::a_tuesday();
    let at = |h| crate::availability::local(day, h, 0);
    let mut a = c.wellness(&at(9));
    a["reason"] = json!("vomiting since Tuesday");
    a["notes"] = json!("owner anxious");
    c.book(&a).await;
    let mut other = c.wellness(&at(10));
    other["vet_id"] = json!(c.surgeon);
    c.book(&other).await;

    let issued =
        expect_json(app.post_json(&format!("/api/staff/{}/feed", c.vet), &json!({})).await, StatusCode::CREATED).await;
    let path = issued["path"].as_str().unwrap().to_owned();
    assert!(issued["url"].as_str().unwrap().ends_with(&path));
    assert!(path.starts_with("/ical/") && path.ends_with(".ics") && path.len() > 40, "{path}");
    // No session needed: calendar apps cannot sign in.
    let ics = fetch(app.anonymous(Method::GET, &path).send().await.unwrap()).await;
    let unfolded = unfold(&ics);
    let cal = read_calendar(&unfolded).expect("a real parser reads it");
    let ev = events(&cal);
    assert_eq!(ev.len(), 1, "only Ben's appointments");
    assert_eq!(prop(ev[0], "SUMMARY"), "Wellness exam: Mittens");
    for secret in ["vomiting", "anxious", "Smith", "Jon"] {
        assert!(!ics.contains(secret), "the feed shows {secret}: {ics}");
    }

    // A new URL retires the old one; revoking ends it.
    let again =
        expect_json(app.post_json(&format!("/api/staff/{}/feed", c.vet), &json!({})).await, StatusCode::CREATED).await;
    let res = app.anonymous(Method::GET, &path).send().await.unwrap();
    assert_error(res, StatusCode::NOT_FOUND, "feed_not_found", None).await;
    let new_path = again["path"].as_str().unwrap().to_owned();
    fetch(app.anonymous(Method::GET, &new_path).send().await.unwrap()).await;
    assert_eq!(app.delete(&format!("/api/staff/{}/feed", c.vet)).await.status(), StatusCode::NO_CONTENT);
    let res = app.anonymous(Method::GET, &new_path).send().await.unwrap();
    assert_error(res, StatusCode::NOT_FOUND, "feed_not_found", None).await;
    for bad in ["/ical/nope", "/ical/nope.ics", "/ical/.ics"] {
        let res = app.anonymous(Method::GET, bad).send().await.unwrap();
        assert_error(res, StatusCode::NOT_FOUND, "feed_not_found", None).await;
    }

    // A vet may issue their own feed, not a colleague's.
    let (token, user) = crate::access::staff_user_with_id(app, "ben", &["veterinarian"]).await;
    app.patch_json(&format!("/api/staff/{}", c.vet), &json!({"user_id": user})).await;
    let as_ben = |p: String| app.anonymous(Method::POST, &p).bearer_auth(&token).json(&json!({}));
    let own = as_ben(format!("/api/staff/{}/feed", c.vet)).send().await.unwrap();
    let own = expect_json(own, StatusCode::CREATED).await;
    let own_path = own["path"].as_str().unwrap().to_owned();
    fetch(app.anonymous(Method::GET, &own_path).send().await.unwrap()).await;
    let res = as_ben(format!("/api/staff/{}/feed", c.surgeon)).send().await.unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "forbidden", None).await;
    let audit = app.get_json(&format!("/api/audit?action=calendar_feed.issue&record_id={}", c.vet)).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 3);
    // Someone who leaves keeps no working feed.
    app.patch_json(&format!("/api/staff/{}", c.vet), &json!({"active": false})).await;
    let res = app.anonymous(Method::GET, &own_path).send().await.unwrap();
    assert_error(res, StatusCode::NOT_FOUND, "feed_not_found", None).await;
}
