//! Issue 14's kill -9 test: over many SIGKILLs during a burst of 2,000 appointment reminders,
//! none is lost and none is sent twice.
//!
//! The real binary sends to aiosmtpd (`SmtpSink`). The reminders are real: the
//! `appointment_reminder` rule is set to one offset of 10 hours (`PATCH
//! /api/automations/appointment_reminder`, `same_visit_minutes` 0 so every appointment is a
//! visit of its own), then 2,000 appointments are booked for 100 owners starting a little over
//! 10 hours ahead, spread over 20 seconds; their reminder jobs, written with the bookings, fall
//! due together. While they run (each renders its message and queues its `send_message` job in
//! one change set) and send, the server is SIGKILLed at random moments and restarted on the
//! same data directory (the seed is printed; `CLOWDER_REMINDER_KILLS_SEED` replays it). The
//! appointments are booked with `overbook` (one vet, no room): 2,000 visits within 20 seconds
//! would otherwise need 2,000 vets; the calendar's conflict rules are not under test here.
//!
//! At the end: every reminder job succeeded, exactly one message exists per appointment (key
//! `appointment_reminder:<appointment>:600m:<start>`), every message is `sent`, every
//! `Message-ID` arrived (none lost), no `Message-ID` arrived that is not one message's (never
//! two messages for one reminder), and the copies the crash window lets through (a kill
//! between the relay's acceptance and our commit resends the same `Message-ID`,
//! docs/communications.md) are counted and bounded by kills × `CLOWDER_JOBS_CONCURRENCY`.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::durability::{Rng, Server, login, seed, start_with};
use crate::providers::{SmtpSink, header};

const REMINDERS: usize = 2_000;
const OWNERS: usize = 100;
const KILLS: usize = 10;
const CONCURRENCY: usize = 8;
/// The reminder's offset, minutes: far enough that no visit starts during the test.
const OFFSET: i64 = 600;

/// Every item of a list, following `next_cursor`.
async fn walk_all(http: &reqwest::Client, base: &str, token: &str, path: &str) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let url = format!("{base}{path}{sep}limit=200&cursor={cursor}");
        let page: Value = http.get(url).bearer_auth(token).send().await.unwrap().json().await.unwrap();
        out.extend(page["items"].as_array().unwrap_or_else(|| panic!("items in {page}")).iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => return out,
        }
    }
}

async fn post(http: &reqwest::Client, server: &Server, token: &str, path: &str, body: &Value) -> Value {
    let res = http.post(format!("{}{path}", server.base)).bearer_auth(token).json(body).send().await.unwrap();
    let status = res.status();
    let v: Value = res.json().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {v}");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_reminder_is_lost_or_sent_twice_through_sigkills() {
    let Some(sink) = SmtpSink::start(&[]).await else { return };
    let began = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("CLOWDER_EMAIL_PROVIDER", "smtp".to_owned()),
        ("CLOWDER_SMTP_HOST", "127.0.0.1".to_owned()),
        ("CLOWDER_SMTP_PORT", sink.port.to_string()),
        ("CLOWDER_SMTP_TLS", "none".to_owned()),
        ("CLOWDER_EMAIL_FROM", "Whisker Clinic <front@whisker.example>".to_owned()),
        ("CLOWDER_CLINIC_NAME", "Whisker Cat Clinic".to_owned()),
        ("CLOWDER_JOBS_CONCURRENCY", CONCURRENCY.to_string()),
        ("CLOWDER_AUTOMATIONS_SWEEP_AT", "off".to_owned()),
        // Reminders go at any hour, so the test never waits for the morning.
        ("CLOWDER_QUIET_HOURS", "00:00-24:00".to_owned()),
    ];
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let seed = seed("CLOWDER_REMINDER_KILLS_SEED");
    eprintln!("reminder kills seed: {seed} (replay with CLOWDER_REMINDER_KILLS_SEED={seed})");
    let mut rng = Rng(seed);

    let mut server = start_with(dir.path(), &env).await;
    let token = login(&http, &server.base).await;
    let rule = json!({ "params": { "offsets_minutes": [OFFSET], "same_visit_minutes": 0 } });
    let res = http
        .patch(format!("{}/api/automations/appointment_reminder", server.base))
        .bearer_auth(&token)
        .json(&rule)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let types: Value = http
        .get(format!("{}/api/appointment-types", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let wellness = types.as_array().unwrap().iter().find(|t| t["name"] == "Wellness exam").unwrap()["id"].clone();
    let locations: Value = http
        .get(format!("{}/api/locations", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let vet_body = json!({"first_name": "Ana", "last_name": "Vet", "position": "veterinarian",
                          "capabilities": {"can_prescribe": true}, "home_location_id": locations[0]["id"]});
    let vet = post(&http, &server, &token, "/api/staff", &vet_body).await["id"].clone();
    let mut owners = Vec::new();
    for i in 0..OWNERS {
        let c = json!({"first_name": format!("Owner{i}"), "last_name": "Kill", "phone": "(503) 555-0199",
                       "email": format!("owner{i}@example.com"), "preferred_contact": "email"});
        let client = post(&http, &server, &token, "/api/clients", &c).await["id"].clone();
        let cat =
            post(&http, &server, &token, "/api/patients", &json!({"client_id": client, "name": format!("Cat{i}")}))
                .await["id"]
                .clone();
        owners.push((client, cat));
    }
    // The visits start 10 h and a little ahead; the reminders fall due over 20 s from then.
    let lead = Duration::from_secs(6);
    let now = clowder_actors::Clock::now(&clowder_actors::SystemClock);
    let first_due = now.checked_add(lead).unwrap();
    let t0 = first_due.checked_add(jiff::SignedDuration::from_mins(OFFSET)).unwrap();
    let bodies: Vec<Value> = (0..REMINDERS)
        .map(|i| {
            let (client, cat) = &owners[i % OWNERS];
            let start = t0.checked_add(jiff::SignedDuration::from_secs((i / OWNERS) as i64)).unwrap();
            json!({"client_id": client, "patient_id": cat, "type_id": wellness, "vet_id": vet,
                   "start": start.to_string(), "overbook": true})
        })
        .collect();
    let booked_at = Instant::now();
    let mut appointments = HashSet::new();
    for chunk in bodies.chunks(8) {
        let all =
            futures_util::future::join_all(chunk.iter().map(|b| post(&http, &server, &token, "/api/appointments", b)))
                .await;
        appointments.extend(all.into_iter().map(|a| a["id"].as_str().unwrap().to_owned()));
    }
    eprintln!("{REMINDERS} appointments booked in {:?}", booked_at.elapsed());
    assert_eq!(appointments.len(), REMINDERS);

    // The burst: kill at random moments while the reminders fall due and send.
    for k in 0..=KILLS {
        if k > 0 {
            server = start_with(dir.path(), &env).await;
        }
        tokio::time::sleep(Duration::from_millis(300 + rng.below(1_700))).await;
        server.child.start_kill().expect("SIGKILL");
        server.child.wait().await.expect("the killed server is reaped");
    }
    let killed = began.elapsed();
    let mut server = start_with(dir.path(), &env).await;
    let token = login(&http, &server.base).await;
    let deadline = Instant::now() + Duration::from_secs(180);
    // Wait on the sink first (listing 2,000 messages again and again would slow the server).
    while sink.received().len() < REMINDERS {
        assert!(Instant::now() < deadline, "{} deliveries after 180 s", sink.received().len());
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let messages = loop {
        let all = walk_all(&http, &server.base, &token, "/api/messages").await;
        if all.len() >= REMINDERS && all.iter().all(|m| m["status"] == "sent") {
            break all;
        }
        assert!(Instant::now() < deadline, "{} messages, not all sent after 180 s", all.len());
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let sent = began.elapsed();
    let jobs = walk_all(&http, &server.base, &token, "/api/jobs?kind=appointment_reminder").await;
    assert_eq!(jobs.len(), REMINDERS, "one reminder job per appointment");
    assert!(jobs.iter().all(|j| j["state"] == "succeeded"), "every reminder job ran");

    // Exactly one message per reminder.
    assert_eq!(messages.len(), REMINDERS, "never two messages for one reminder");
    let mut per_appointment: HashMap<String, usize> = HashMap::new();
    for m in &messages {
        assert_eq!(m["automation"], "appointment_reminder");
        let key = m["idempotency_key"].as_str().unwrap();
        let appointment = key.split(':').nth(1).unwrap_or_else(|| panic!("{key}"));
        assert!(key.starts_with("appointment_reminder:") && key.contains(&format!(":{OFFSET}m:")), "{key}");
        *per_appointment.entry(appointment.to_owned()).or_default() += 1;
    }
    assert_eq!(per_appointment.keys().cloned().collect::<HashSet<_>>(), appointments, "a reminder for each visit");
    assert!(per_appointment.values().all(|n| *n == 1));

    // Every Message-ID arrived; none that is not one message's; copies counted.
    let received = sink.received();
    let mut copies: HashMap<String, usize> = HashMap::new();
    for r in &received {
        *copies.entry(header(r, "Message-ID").expect("a Message-ID").to_owned()).or_default() += 1;
    }
    for m in &messages {
        let id = m["provider_id"].as_str().unwrap();
        assert!(copies.contains_key(id), "reminder {} never arrived", m["idempotency_key"]);
    }
    assert_eq!(copies.len(), REMINDERS, "no Message-ID without its message: never two messages for one reminder");
    let repeated: usize = copies.values().map(|n| n - 1).sum();
    let twice = copies.values().filter(|n| **n > 1).count();
    let later = messages.iter().filter(|m| m["attempts"].as_u64() > Some(1)).count();
    eprintln!(
        "{REMINDERS} reminders, {KILLS} kills, concurrency {CONCURRENCY}: {} deliveries, {twice} reminders arrived \
         more than once ({repeated} repeated deliveries), {later} sent on a later attempt; kills over at {killed:?}, \
         all sent at {sent:?}, {:?} in all",
        received.len(),
        began.elapsed()
    );
    assert!(repeated <= KILLS * CONCURRENCY, "{repeated} repeated deliveries > {KILLS} kills × {CONCURRENCY}");
    server.child.start_kill().expect("SIGKILL");
    let _ = server.child.wait().await;
}
