//! Preferences and the consent ledger over HTTP, the send-time gate on a real server
//! (suppressed, deferred outside the client's hours, the marketing cap), and one-click
//! unsubscribe links without signing in.

use std::time::{Duration, Instant};

use clowder_actors::comms::links::LinkPurpose;
use clowder_actors::comms::messages::{NewMessage, Recipient};
use clowder_schemas::audit::Caller;
use clowder_schemas::messages::Purpose;
use clowder_schemas::values::{Email, Phone};
use clowder_schemas::{ClientId, MessageId};
use jiff::SignedDuration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, UNKNOWN_ID, assert_error, expect_json, id_of};

/// A client with an email and a phone; returns its id.
pub(crate) async fn client(app: &TestApp, email: &str) -> String {
    id_of(
        &app.create_client(json!({
            "first_name": "Ada", "last_name": "Byron", "phone": "(508) 555-0142", "email": email,
        }))
        .await,
    )
}

/// Preferences whose hours are the whole day (so nothing waits), with a cap.
fn all_day(cap: u32) -> Value {
    json!({
        "channels": { "email": true, "sms": true },
        "quiet_hours": { "start": "00:00", "end": "24:00" },
        "marketing_cap": cap,
    })
}

/// Queues a message to the client, as automations and campaigns will.
pub(crate) async fn queue(app: &TestApp, client: &str, email: bool, purpose: Purpose, key: &str) -> String {
    let to = if email {
        Recipient::Email(Email::parse("to", "ada@example.com").unwrap())
    } else {
        Recipient::Sms(Phone::parse("to", "+15085550142", "1").unwrap())
    };
    let new = NewMessage {
        to,
        client_id: Some(client.parse::<ClientId>().unwrap()),
        subject: Some("Whiskers and you".into()),
        text: "News from the clinic.".into(),
        html: None,
        idempotency_key: key.into(),
        due_at: None,
        purpose,
        template: None,
        automation: None,
    };
    let id: MessageId = app.system.messages.send(new, &Caller::system()).await.expect("queued");
    id.to_string()
}

async fn settled(app: &TestApp, message: &str) -> Value {
    app.poll_json(&format!("/api/messages/{message}"), |m| m["status"] != "queued").await
}

#[tokio::test]
async fn preferences_start_from_the_defaults_and_bad_ones_are_422() {
    // The clinic's hours (CLOWDER_QUIET_HOURS) are the default of a client who chose none.
    let app = TestApp::spawn_with(|a| a.comms.quiet_hours = "09:00-19:00".into()).await;
    app.login_admin().await;
    let c = client(&app, "ada@example.com").await;
    let p = app.get_json(&format!("/api/clients/{c}/preferences")).await;
    assert_eq!(p["email"], json!({ "allowed": true, "transactional": true, "marketing": false }));
    assert_eq!(p["sms"], json!({ "allowed": true, "transactional": true, "marketing": false }));
    assert_eq!(p["quiet_hours"], json!({ "start": "09:00", "end": "19:00" }));
    assert_eq!((p["marketing_cap"].as_u64(), &p["preferred_time"]), (Some(2), &Value::Null));

    let path = format!("/api/clients/{c}/preferences");
    let with = |f: &dyn Fn(&mut Value)| {
        let mut b = all_day(2);
        f(&mut b);
        b
    };
    for (body, field) in [
        (with(&|b| b["quiet_hours"]["start"] = json!("9am")), "quiet_hours.start"),
        (with(&|b| b["quiet_hours"] = json!({ "start": "19:00", "end": "09:00" })), "quiet_hours.end"),
        (
            with(&|b| {
                b["quiet_hours"] = json!({ "start": "09:00", "end": "12:00" });
                b["preferred_time"] = json!({ "start": "18:00", "end": "20:00" });
            }),
            "preferred_time",
        ),
        (with(&|b| b["marketing_cap"] = json!(51)), "marketing_cap"),
    ] {
        assert_error(
            app.put_json(&path, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some(field),
        )
        .await;
    }
    let body = with(&|b| {
        b["channels"]["sms"] = json!(false);
        b["preferred_time"] = json!({ "start": "17:00", "end": "20:00" });
    });
    let p = expect_json(app.put_json(&path, &body).await, StatusCode::OK).await;
    assert_eq!((p["sms"]["allowed"].as_bool(), &p["preferred_time"]["start"]), (Some(false), &json!("17:00")));
    assert_eq!(app.get_json(&path).await, p);
    assert_error(
        app.get(&format!("/api/clients/{UNKNOWN_ID}/preferences")).await,
        StatusCode::NOT_FOUND,
        "client_not_found",
        None,
    )
    .await;
}

#[tokio::test]
async fn staff_record_consent_in_the_ledger_once_per_idempotency_key() {
    let app = TestApp::signed_in().await;
    let c = client(&app, "ada@example.com").await;
    let path = format!("/api/clients/{c}/consent");
    for (body, field) in [
        (json!({ "channel": "fax", "purpose": "marketing", "granted": true }), "channel"),
        (json!({ "channel": "email", "purpose": "spam", "granted": true }), "purpose"),
        (json!({ "channel": "email", "purpose": "marketing", "granted": true, "source": "bounce" }), "source"),
        (json!({ "channel": "email", "purpose": "marketing", "granted": true, "note": "x".repeat(501) }), "note"),
    ] {
        assert_error(
            app.post_json(&path, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some(field),
        )
        .await;
    }
    let body = json!({ "channel": "email", "purpose": "marketing", "granted": true, "note": "asked at the desk" });
    let send = || app.request(Method::POST, &path).header("Idempotency-Key", "consent-1").json(&body).send();
    let first = expect_json(send().await.unwrap(), StatusCode::CREATED).await;
    let again = send().await.unwrap();
    assert_eq!(again.headers().get("idempotent-replayed").map(|v| v.to_str().unwrap()), Some("true"));
    assert_eq!(expect_json(again, StatusCode::CREATED).await, first);
    assert_eq!((first["source"].as_str(), first["who"]["type"].as_str()), (Some("staff"), Some("user")));
    let ledger = app.get_json(&path).await;
    assert_eq!(ledger["items"].as_array().unwrap().len(), 1, "{ledger}");
    let p = app.get_json(&format!("/api/clients/{c}/preferences")).await;
    assert_eq!(p["email"]["marketing"], true);
    // The change is an event for the screens of those who may read clients.
    let events = app.get_json("/api/audit?action=consent.record").await;
    assert!(!events["items"].as_array().unwrap().is_empty(), "{events}");
}

#[tokio::test]
async fn marketing_needs_an_opt_in_and_a_revoked_channel_suppresses() {
    let app = TestApp::signed_in().await;
    let c = client(&app, "ada@example.com").await;
    expect_json(app.put_json(&format!("/api/clients/{c}/preferences"), &all_day(2)).await, StatusCode::OK).await;

    let m = settled(&app, &queue(&app, &c, true, Purpose::Marketing, "m:1").await).await;
    assert_eq!(m["status"], "suppressed", "{m}");
    assert_eq!(m["last_error"], "no consent to marketing by email");
    // Its job succeeded: nothing to retry.
    let jobs = app.get_json("/api/jobs?kind=send_message&state=succeeded").await;
    assert_eq!(jobs["items"].as_array().unwrap().len(), 1, "{jobs}");

    let consent = |channel: &str, purpose: &str, granted: bool| json!({ "channel": channel, "purpose": purpose, "granted": granted });
    let path = format!("/api/clients/{c}/consent");
    expect_json(app.post_json(&path, &consent("email", "marketing", true)).await, StatusCode::CREATED).await;
    let m = settled(&app, &queue(&app, &c, true, Purpose::Marketing, "m:2").await).await;
    assert_eq!(m["status"], "sent", "{m}");

    // Transactional texts go by default; once revoked, they are suppressed.
    let t = settled(&app, &queue(&app, &c, false, Purpose::Transactional, "t:1").await).await;
    assert_eq!(t["status"], "sent", "{t}");
    expect_json(app.post_json(&path, &consent("sms", "transactional", false)).await, StatusCode::CREATED).await;
    let t = settled(&app, &queue(&app, &c, false, Purpose::Transactional, "t:2").await).await;
    assert_eq!(
        (t["status"].as_str(), t["last_error"].as_str()),
        (Some("suppressed"), Some("the client revoked consent to text messages"))
    );

    // A channel the client does not accept suppresses everything on it.
    let mut no_email = all_day(2);
    no_email["channels"]["email"] = json!(false);
    expect_json(app.put_json(&format!("/api/clients/{c}/preferences"), &no_email).await, StatusCode::OK).await;
    let e = settled(&app, &queue(&app, &c, true, Purpose::Transactional, "e:1").await).await;
    assert_eq!(
        (e["status"].as_str(), e["last_error"].as_str()),
        (Some("suppressed"), Some("the client does not accept email"))
    );
}

#[tokio::test]
async fn the_marketing_cap_suppresses_past_its_count_in_seven_days() {
    let app = TestApp::signed_in().await;
    let c = client(&app, "ada@example.com").await;
    expect_json(app.put_json(&format!("/api/clients/{c}/preferences"), &all_day(2)).await, StatusCode::OK).await;
    let body = json!({ "channel": "email", "purpose": "marketing", "granted": true });
    expect_json(app.post_json(&format!("/api/clients/{c}/consent"), &body).await, StatusCode::CREATED).await;
    for n in 0..2 {
        let m = settled(&app, &queue(&app, &c, true, Purpose::Marketing, &format!("cap:{n}")).await).await;
        assert_eq!(m["status"], "sent", "{m}");
    }
    let m = settled(&app, &queue(&app, &c, true, Purpose::Marketing, "cap:2").await).await;
    assert_eq!(m["status"], "suppressed", "{m}");
    assert!(m["last_error"].as_str().unwrap().starts_with("frequency cap"), "{m}");
    // Transactional messages do not count and are not capped.
    let t = settled(&app, &queue(&app, &c, true, Purpose::Transactional, "cap:t").await).await;
    assert_eq!(t["status"], "sent", "{t}");
}

#[tokio::test]
async fn outside_the_clients_hours_a_message_waits_without_spending_an_attempt() {
    let app = TestApp::signed_in().await;
    let c = client(&app, "ada@example.com").await;
    // A one-hour window that "now" (in the clinic's zone) is not in.
    let tz = app.system.ctx.config.time_zone.clone();
    let now = app.system.ctx.clock.now();
    let hour = now.to_zoned(tz.clone()).hour();
    let (start, end) = if hour < 12 { ("13:00", "14:00") } else { ("01:00", "02:00") };
    let body = json!({
        "channels": { "email": true, "sms": true },
        "quiet_hours": { "start": start, "end": end },
        "marketing_cap": 2,
    });
    expect_json(app.put_json(&format!("/api/clients/{c}/preferences"), &body).await, StatusCode::OK).await;
    let id = queue(&app, &c, false, Purpose::Transactional, "quiet:1").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let job = loop {
        let jobs = app.get_json("/api/jobs?kind=send_message").await;
        let job = jobs["items"][0].clone();
        let due: jiff::Timestamp = job["due_at"].as_str().unwrap().parse().unwrap();
        if due > now.checked_add(SignedDuration::from_mins(30)).unwrap() {
            break job;
        }
        assert!(Instant::now() < deadline, "the job was not deferred: {job}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!((job["state"].as_str(), job["attempts"].as_u64()), (Some("queued"), Some(0)), "{job}");
    let due: jiff::Timestamp = job["due_at"].as_str().unwrap().parse().unwrap();
    let local = due.to_zoned(tz);
    assert_eq!(format!("{:02}:{:02}", local.hour(), local.minute()), start, "due when the window opens");
    let m = app.get_json(&format!("/api/messages/{id}")).await;
    assert_eq!((m["status"].as_str(), m["attempts"].as_u64()), (Some("queued"), Some(0)), "{m}");
    let audit = app.get_json("/api/audit?action=job.defer").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");
}

#[tokio::test]
async fn one_click_unsubscribe_revokes_marketing_email_once_and_bad_links_change_nothing() {
    let app = TestApp::signed_in().await;
    let c = client(&app, "ada@example.com").await;
    let body = json!({ "channel": "email", "purpose": "marketing", "granted": true });
    expect_json(app.post_json(&format!("/api/clients/{c}/consent"), &body).await, StatusCode::CREATED).await;
    let subject = c.parse::<ClientId>().unwrap().as_u128();
    let now = app.system.ctx.clock.now();
    let url = |expires: jiff::Timestamp| app.system.links.url(LinkPurpose::Unsubscribe, subject, expires);
    let good = url(now.checked_add(SignedDuration::from_hours(24)).unwrap());
    let path = good.split_once("/l/").map(|(_, p)| format!("/l/{p}")).unwrap();
    let ledger_len =
        || async { app.get_json(&format!("/api/clients/{c}/consent")).await["items"].as_array().unwrap().len() };

    // The page changes nothing (mail scanners follow links) and names the clinic.
    let page = app.anonymous(Method::GET, &path).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Whisker Cat Clinic") && html.contains("<form method=\"post\">"), "{html}");
    assert_eq!(ledger_len().await, 1);

    // Tampered and expired links: 404 and 410 pages, nothing changed.
    let mut chars: Vec<char> = path.chars().collect();
    let i = chars.len() - 5;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    let expired = url(now.checked_sub(SignedDuration::from_mins(5)).unwrap());
    let expired = expired.split_once("/l/").map(|(_, p)| format!("/l/{p}")).unwrap();
    for (p, status) in [(&tampered, StatusCode::NOT_FOUND), (&expired, StatusCode::GONE)] {
        for method in [Method::GET, Method::POST] {
            let r = app.anonymous(method, p).body("List-Unsubscribe=One-Click").send().await.unwrap();
            assert_eq!(r.status(), status, "{p}");
        }
    }
    assert_eq!(ledger_len().await, 1);

    // RFC 8058: a POST with `List-Unsubscribe=One-Click`, no cookie, from the mail client (its
    // own origin, or none).
    let one_click = reqwest::Client::new();
    for origin in ["https://mail.example", ""] {
        let mut r = one_click.post(app.url(&path));
        if !origin.is_empty() {
            r = r.header("Origin", origin);
        }
        let r = r
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let p = app.get_json(&format!("/api/clients/{c}/preferences")).await;
    assert_eq!((p["email"]["marketing"].as_bool(), p["email"]["transactional"].as_bool()), (Some(false), Some(true)));
    let ledger = app.get_json(&format!("/api/clients/{c}/consent")).await;
    let items = ledger["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "the second press wrote nothing: {ledger}");
    assert_eq!(
        (items[0]["source"].as_str(), items[0]["who"]["type"].as_str()),
        (Some("unsubscribe_link"), Some("client"))
    );
    assert_eq!(items[0]["granted"], false);
}
