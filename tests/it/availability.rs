//! `GET /api/availability` through HTTP: opening hours, shifts, bookings and buffers, time
//! off, blackout dates, capabilities and rooms; and the DST days of America/New_York, found
//! from today so the tests never age (spring forward: no slot at a local time that does not
//! exist; fall back: none lost or doubled in the repeated hour).

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::calendar::Clinic;
use crate::helpers::{assert_error, expect_json, id_of};

/// The real time: the server under test runs on the system clock too.
fn now() -> Timestamp {
    use clowder_actors::Clock;
    clowder_actors::SystemClock.now()
}

fn new_york() -> TimeZone {
    TimeZone::get("America/New_York").unwrap()
}

/// A Tuesday two to three weeks from now (inside the default 90-day horizon).
pub(crate) fn a_tuesday() -> Date {
    let mut d = now().to_zoned(new_york()).date().checked_add(jiff::Span::new().days(14)).unwrap();
    while d.weekday() != jiff::civil::Weekday::Tuesday {
        d = d.tomorrow().unwrap();
    }
    d
}

/// How the API writes a local wall time on `date` in New York.
pub(crate) fn local(date: Date, h: i8, m: i8) -> String {
    let z = date.at(h, m, 0, 0).to_zoned(new_york()).unwrap();
    z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// Every (start, vet) an answer offers, the start written back as ISO 8601 with its offset
/// (the day's, unless the start carries its own), by instant and then vet.
fn offers(v: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(Timestamp, String, String)> = Vec::new();
    for vet in v["vets"].as_array().unwrap() {
        for day in vet["days"].as_array().unwrap() {
            for start in day["starts"].as_array().unwrap() {
                let start = start.as_str().unwrap();
                let (wall, offset) = match start.find(['+', '-']) {
                    Some(i) => (&start[..i], &start[i..]),
                    None => (start, day["offset"].as_str().unwrap()),
                };
                let wall = if wall.len() == 5 { format!("{wall}:00") } else { wall.to_owned() };
                let iso = format!("{}T{wall}{offset}", day["date"].as_str().unwrap());
                out.push((iso.parse().unwrap(), iso, vet["vet_id"].as_str().unwrap().to_owned()));
            }
        }
    }
    out.sort();
    out.into_iter().map(|(_, iso, vet)| (iso, vet)).collect()
}

/// The distinct free starts of an answer, in time order.
fn starts(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = offers(v).into_iter().map(|(iso, _)| iso).collect();
    out.dedup();
    out
}

/// The vets free at `start`.
fn vets_at(v: &Value, start: &str) -> Vec<String> {
    offers(v).into_iter().filter(|(iso, _)| iso == start).map(|(_, vet)| vet).collect()
}

async fn shift(c: &Clinic, staff: &str, location: &str, date: Date, start: &str, end: &str) {
    let body = json!({"location_id": location, "date": date.to_string(), "start": start, "end": end});
    expect_json(c.app.post_json(&format!("/api/staff/{staff}/shifts"), &body).await, StatusCode::CREATED).await;
}

#[tokio::test]
async fn free_starts_follow_shifts_bookings_buffers_time_off_and_blackouts() {
    let c = Clinic::new().await;
    let app = &c.app;
    let day = a_tuesday();
    for who in [&c.vet, &c.surgeon] {
        shift(&c, who, &c.location, day, "08:00", "12:00").await;
    }
    let q = |extra: &str| format!("/api/availability?type_id={}&from={day}&to={day}{extra}", c.ty("Wellness exam"));
    // A tech on shift is not offered for a vet's appointment, unless asked for by name.
    let tech = json!({"first_name": "Tia", "last_name": "Tech", "position": "vet_tech"});
    let tech = id_of(&expect_json(app.post_json("/api/staff", &tech).await, StatusCode::CREATED).await);
    shift(&c, &tech, &c.location, day, "08:00", "12:00").await;
    let offered = app.get_json(&q("")).await;
    assert!(offers(&offered).iter().all(|(_, vet)| *vet != tech));
    assert_eq!(starts(&app.get_json(&q(&format!("&vet_id={tech}"))).await).len(), 15);
    let ben = app.get_json(&q(&format!("&vet_id={}", c.vet))).await;
    let expected: Vec<String> = (0..15).map(|i| local(day, 8 + (i * 15 / 60) as i8, ((i * 15) % 60) as i8)).collect();
    assert_eq!(starts(&ben), expected, "08:00 to 11:30 every 15 minutes");
    assert_eq!(ben["time_zone"], "America/New_York");
    assert_eq!(ben["duration_minutes"], 30);
    // Per vet and local day, wall times on the day's offset.
    let only = &ben["vets"][0]["days"][0];
    assert_eq!((&only["date"], &only["offset"]), (&json!(day.to_string()), &json!(&local(day, 8, 0)[19..])));
    assert_eq!(only["starts"][0], "08:00");

    // A booking at 09:00 takes 08:45, 09:00 and 09:15 away from Ben, not from Ana.
    let booked = c.wellness(&local(day, 9, 0));
    c.book(&booked).await;
    let ben = app.get_json(&q(&format!("&vet_id={}", c.vet))).await;
    assert_eq!(starts(&ben).len(), 12);
    assert!(!starts(&ben).contains(&local(day, 8, 45)) && !starts(&ben).contains(&local(day, 9, 15)));
    // Wellness exams need an exam room, and the only one is taken at 09:00 ...
    let both = app.get_json(&q("")).await;
    assert!(!starts(&both).contains(&local(day, 9, 0)));
    // ... until a second one opens.
    let room = json!({"location_id": c.location, "name": "Exam 2", "kind": "exam"});
    expect_json(app.post_json("/api/rooms", &room).await, StatusCode::CREATED).await;
    let both = app.get_json(&q("")).await;
    assert_eq!(vets_at(&both, &local(day, 9, 0)), vec![c.surgeon.as_str()]);
    assert_eq!(vets_at(&both, &local(day, 8, 0)).len(), 2);

    // A spay needs the surgeon and the surgery room, and keeps 30 minutes after it free.
    let spay = app.get_json(&format!("/api/availability?type_id={}&from={day}&to={day}", c.ty("Spay or neuter"))).await;
    assert!(offers(&spay).iter().all(|(_, vet)| *vet == c.surgeon));
    assert_eq!(spay["duration_minutes"], 90);
    assert_eq!(starts(&spay).last().unwrap(), &local(day, 10, 30), "90 minutes must end by the shift's end");

    // Approved time off removes Ben; a blackout date closes the location.
    let off = json!({"staff_id": c.vet, "first_day": day.to_string(), "last_day": day.to_string()});
    let t = expect_json(app.post_json("/api/time-off", &off).await, StatusCode::CREATED).await;
    let still = app.get_json(&q(&format!("&vet_id={}", c.vet))).await;
    assert_eq!(starts(&still).len(), 12, "a request alone changes nothing");
    app.post_json(&format!("/api/time-off/{}/approve", id_of(&t)), &json!({})).await;
    assert!(starts(&app.get_json(&q(&format!("&vet_id={}", c.vet))).await).is_empty());
    let res =
        app.patch_json(&format!("/api/locations/{}", c.location), &json!({"blackout_dates": [day.to_string()]})).await;
    expect_json(res, StatusCode::OK).await;
    assert!(starts(&app.get_json(&q("")).await).is_empty());
}

#[tokio::test]
async fn bad_availability_queries_name_the_parameter() {
    let c = Clinic::new().await;
    let app = &c.app;
    let ty = c.ty("Wellness exam");
    for (query, field) in [
        (format!("type_id={ty}&from=2027-01-10&to=2027-01-01"), "to"),
        (format!("type_id={ty}&from=2027-01-01&to=2027-04-01"), "to"),
        (format!("type_id={ty}&from=yesterday"), "from"),
        ("type_id=nope".to_owned(), "type_id"),
        (format!("type_id={}", crate::helpers::UNKNOWN_ID), "type_id"),
        (format!("type_id={ty}&vet_id={}", crate::helpers::UNKNOWN_ID), "vet_id"),
    ] {
        let res = app.get(&format!("/api/availability?{query}")).await;
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
    }
    assert_eq!(app.get("/api/availability").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// The next day after today on which New York's offset goes up (`spring`) or down.
fn next_transition(spring: bool) -> Date {
    let tz = new_york();
    // From tomorrow: on a transition day itself, the slots before now would be gone.
    let tomorrow = now() + SignedDuration::from_hours(24);
    let t = tz
        .following(tomorrow)
        .find(|t| {
            let before = tz.to_offset(t.timestamp().checked_sub(SignedDuration::from_secs(1)).unwrap());
            (t.offset() > before) == spring
        })
        .expect("New York changes its clocks every year");
    t.timestamp().to_zoned(tz).date()
}

/// A night location open 00:00–06:00 every day, bookable with no notice for two years, every
/// 30 minutes, and Ben on shift 00:00–06:00 on `day`.
async fn night_clinic(c: &Clinic, day: Date) -> String {
    let hours: Vec<Value> = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
        .iter()
        .map(|d| json!({"day": d, "open": "00:00", "close": "06:00"}))
        .collect();
    let body = json!({"name": "Night clinic", "time_zone": "America/New_York", "hours": hours,
                      "booking": {"min_notice_minutes": 0, "horizon_days": 730, "slot_step_minutes": 30}});
    let loc = id_of(&expect_json(c.app.post_json("/api/locations", &body).await, StatusCode::CREATED).await);
    shift(c, &c.vet, &loc, day, "00:00", "06:00").await;
    loc
}

#[tokio::test]
async fn spring_forward_has_no_slot_at_a_time_that_does_not_exist() {
    let c = Clinic::new().await;
    let day = next_transition(true);
    let loc = night_clinic(&c, day).await;
    let v = c
        .app
        .get_json(&format!("/api/availability?type_id={}&location_id={loc}&from={day}&to={day}", c.ty("Wellness exam")))
        .await;
    let got = starts(&v);
    let wall: Vec<&str> = got.iter().map(|s| &s[11..16]).collect();
    assert_eq!(
        wall,
        ["00:00", "00:30", "01:00", "01:30", "03:00", "03:30", "04:00", "04:30", "05:00", "05:30"],
        "{got:?}"
    );
    assert!(
        got[..4].iter().all(|s| s.ends_with("-05:00")) && got[4..].iter().all(|s| s.ends_with("-04:00")),
        "{got:?}"
    );
}

#[tokio::test]
async fn fall_back_offers_the_repeated_hour_twice_and_loses_nothing() {
    let c = Clinic::new().await;
    let day = next_transition(false);
    let loc = night_clinic(&c, day).await;
    let v = c
        .app
        .get_json(&format!("/api/availability?type_id={}&location_id={loc}&from={day}&to={day}", c.ty("Wellness exam")))
        .await;
    let got = starts(&v);
    assert_eq!(got.len(), 14, "seven real hours, every 30 minutes: {got:?}");
    let wall: Vec<&str> = got.iter().map(|s| &s[11..16]).collect();
    assert_eq!(
        wall,
        [
            "00:00", "00:30", "01:00", "01:30", "01:00", "01:30", "02:00", "02:30", "03:00", "03:30", "04:00", "04:30",
            "05:00", "05:30"
        ]
    );
    assert!(got[2].ends_with("-04:00") && got[4].ends_with("-05:00"), "{got:?}");
    // On the wire, the starts after clocks went back carry their offset, the day's being -04:00.
    let wire: Vec<&str> =
        v["vets"][0]["days"][0]["starts"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert_eq!(&wire[2..7], ["01:00", "01:30", "01:00-05:00", "01:30-05:00", "02:00-05:00"]);
    assert_eq!(v["vets"][0]["days"][0]["offset"], "-04:00");
    let instants: Vec<Timestamp> = got.iter().map(|s| s.parse().unwrap()).collect();
    for w in instants.windows(2) {
        assert_eq!(w[1].duration_since(w[0]), SignedDuration::from_mins(30), "{got:?}");
    }
}
