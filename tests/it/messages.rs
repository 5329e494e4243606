//! The message log and the `send_message` job over HTTP: a test message queued through
//! `POST /api/communications/test` becomes `sent` (log provider, then SMTP to aiosmtpd with the
//! key's deterministic `Message-ID`), is listed and filtered; the 4xx answers; and a burst sent
//! by the real binary through SIGKILLs arrives whole (copies the crash window lets through are
//! counted and printed).

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, UNKNOWN_ID, assert_error, expect_json, id_of};
use crate::providers::{SmtpSink, header};

async fn queue(app: &TestApp, channel: &str, to: &str) -> String {
    let v = expect_json(
        app.post_json("/api/communications/test", &json!({ "channel": channel, "to": to })).await,
        StatusCode::ACCEPTED,
    )
    .await;
    v["message_id"].as_str().expect("an id").to_owned()
}

#[tokio::test]
async fn test_messages_are_sent_through_the_log_provider_listed_and_filtered() {
    let app = TestApp::spawn().await;
    app.login_admin().await;
    let email = queue(&app, "email", "vet@example.com").await;
    let sms = queue(&app, "sms", "+15555550123").await;
    for id in [&email, &sms] {
        let m = app.poll_json(&format!("/api/messages/{id}"), |v| v["status"] == "sent").await;
        assert_eq!(m["provider"], "log");
        assert!(m["provider_id"].as_str().unwrap().starts_with("log-"), "{m}");
        assert_eq!(m["attempts"], 1);
        assert!(m["sent_at"].is_string());
    }
    let e = app.get_json(&format!("/api/messages/{email}")).await;
    assert_eq!((e["channel"].as_str(), e["recipient"].as_str()), (Some("email"), Some("vet@example.com")));
    assert_eq!(e["subject"], "Clowder test message");
    let s = app.get_json(&format!("/api/messages/{sms}")).await;
    assert_eq!(
        (s["channel"].as_str(), s["recipient"].as_str(), &s["subject"]),
        (Some("sms"), Some("+15555550123"), &Value::Null)
    );

    // The job that sent it succeeded, keyed by the message's idempotency key.
    let jobs = app.get_json("/api/jobs?kind=send_message&state=succeeded").await;
    assert_eq!(jobs["items"].as_array().unwrap().len(), 2, "{jobs}");
    assert_eq!(jobs["items"][0]["idempotency_key"], s["idempotency_key"]);

    // Newest first, filtered, paged.
    let all = app.get_json("/api/messages").await;
    assert_eq!(
        all["items"].as_array().unwrap().iter().map(id_of).collect::<Vec<_>>(),
        vec![sms.clone(), email.clone()]
    );
    let only_sms = app.get_json("/api/messages?channel=sms&status=sent").await;
    assert_eq!(only_sms["items"].as_array().unwrap().iter().map(id_of).collect::<Vec<_>>(), vec![sms.clone()]);
    assert_eq!(app.get_json("/api/messages?status=dead").await["items"], json!([]));
    assert_eq!(app.get_json(&format!("/api/messages?client={UNKNOWN_ID}")).await["items"], json!([]));
    let page = app.get_json("/api/messages?limit=1").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let next = page["next_cursor"].as_str().expect("a cursor");
    let rest = app.get_json(&format!("/api/messages?limit=1&cursor={next}")).await;
    assert_eq!(id_of(&rest["items"][0]), email);

    // Reads are audited.
    let audit = app.get_json("/api/audit?action=message.read").await;
    assert!(!audit["items"].as_array().unwrap().is_empty(), "{audit}");

    // An Idempotency-Key replays the first answer and queues nothing more.
    let body = json!({ "channel": "email", "to": "again@example.com" });
    let first = app
        .request(reqwest::Method::POST, "/api/communications/test")
        .header("Idempotency-Key", "t-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    let first = expect_json(first, StatusCode::ACCEPTED).await;
    let again = app
        .request(reqwest::Method::POST, "/api/communications/test")
        .header("Idempotency-Key", "t-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    let again = expect_json(again, StatusCode::ACCEPTED).await;
    assert_eq!(first["message_id"], again["message_id"]);
    let all = app.walk("/api/messages", 50).await;
    assert_eq!(all.len(), 3);
}

#[tokio::test]
async fn bad_requests_are_refused() {
    let app = TestApp::spawn().await;
    app.login_admin().await;
    let bad = |channel: &str, to: &str| json!({ "channel": channel, "to": to });
    assert_error(
        app.post_json("/api/communications/test", &bad("fax", "a@example.com")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("channel"),
    )
    .await;
    assert_error(
        app.post_json("/api/communications/test", &bad("email", "not-an-address")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("to"),
    )
    .await;
    assert_error(
        app.post_json("/api/communications/test", &bad("sms", "call me")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("to"),
    )
    .await;
    assert_error(
        app.get(&format!("/api/messages/{UNKNOWN_ID}")).await,
        StatusCode::NOT_FOUND,
        "message_not_found",
        None,
    )
    .await;
    assert_error(
        app.get("/api/messages?status=read").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("status"),
    )
    .await;
    assert_error(
        app.get("/api/messages?channel=fax").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("channel"),
    )
    .await;
    assert_error(
        app.get("/api/messages?client=nope").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("client"),
    )
    .await;
    assert_eq!(app.walk("/api/messages", 50).await.len(), 0);
}

#[tokio::test]
async fn a_test_email_arrives_over_smtp_with_the_keys_message_id() {
    let Some(sink) = SmtpSink::start(&[]).await else { return };
    let app = sink.app().await;
    let id = queue(&app, "email", "owner@example.com").await;
    let m = app.poll_json(&format!("/api/messages/{id}"), |v| v["status"] == "sent").await;
    assert_eq!(m["provider"], "smtp");
    let key = clowder_schemas::comms::MessageKey::parse("k", m["idempotency_key"].as_str().unwrap()).unwrap();
    let expected = clowder_actors::comms::providers::message_id(&key, "whisker.example");
    assert_eq!(m["provider_id"], expected.as_str());
    let got = &sink.wait_for(1).await[0];
    assert_eq!(header(got, "Message-ID"), Some(expected.as_str()), "{got}");

    // A 451 leaves the message `failed` (its job retries later), a 550 makes it `dead`: the
    // message moves in the change set that records the job's failure.
    let temporary = queue(&app, "email", "reject-temporary@example.com").await;
    let m = app.poll_json(&format!("/api/messages/{temporary}"), |v| v["status"] == "failed").await;
    assert_eq!(m["attempts"], 1);
    assert!(m["last_error"].as_str().unwrap().contains("451"), "{m}");
    // An administrator's board is open.
    let location = app.post_json("/api/locations", &json!({"name": "Main", "time_zone": "America/New_York"})).await;
    let location = id_of(&expect_json(location, StatusCode::CREATED).await);
    let mut board = crate::live::connect(&app, &app.token().unwrap()).await;
    crate::live::send(&mut board, json!({"op": "subscribe", "topics": [format!("dashboard:{location}")]})).await;
    while crate::live::next(&mut board).await["type"] != "subscribed" {}
    let permanent = queue(&app, "email", "reject-permanent@example.com").await;
    let m = app.poll_json(&format!("/api/messages/{permanent}"), |v| v["status"] == "dead").await;
    assert!(m["last_error"].as_str().unwrap().contains("550"), "{m}");
    let dead = app.get_json("/api/jobs?kind=send_message&state=dead").await;
    assert_eq!(dead["items"][0]["idempotency_key"], m["idempotency_key"]);
    let listed = app.get_json("/api/messages?status=dead").await;
    assert_eq!(listed["items"].as_array().unwrap().iter().map(id_of).collect::<Vec<_>>(), vec![permanent.clone()]);
    assert_eq!(sink.received().len(), 1, "nothing else was accepted");
    // The board heard of it: a `message_failed` frame, recipient masked, no content.
    let frame = loop {
        let f = crate::live::next(&mut board).await;
        if f["type"] == "message_failed" {
            break f;
        }
    };
    assert_eq!(frame["data"]["message_id"], permanent.as_str(), "{frame}");
    assert_eq!(frame["data"]["recipient"], "r***@example.com");
    assert_eq!(frame["data"]["status"], "dead");
    assert!(frame["data"].get("text").is_none() && frame["data"].get("subject").is_none(), "{frame}");
}

const BURST: usize = 300;
const KILLS: usize = 8;

/// Every item of a list, following `next_cursor`.
async fn walk_all(http: &reqwest::Client, base: &str, token: &str, path: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let url = format!("{base}{path}?limit=200&cursor={cursor}");
        let page: Value = http.get(url).bearer_auth(token).send().await.unwrap().json().await.unwrap();
        out.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => return out,
        }
    }
}

/// The real binary sends a burst of test emails to aiosmtpd while it is SIGKILLed at random
/// moments (the moments are the point of the test, not a wait). At the end every message is
/// `sent` and every `Message-ID` arrived; copies that arrived twice (a kill between the SMTP
/// server's acceptance and our commit, the documented window) are counted and printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_is_sent_and_arrives_through_sigkills() {
    use crate::durability::{Rng, login, seed, start_with};
    let Some(sink) = SmtpSink::start(&[]).await else { return };
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("CLOWDER_EMAIL_PROVIDER", "smtp".to_owned()),
        ("CLOWDER_SMTP_HOST", "127.0.0.1".to_owned()),
        ("CLOWDER_SMTP_PORT", sink.port.to_string()),
        ("CLOWDER_SMTP_TLS", "none".to_owned()),
        ("CLOWDER_EMAIL_FROM", "Whisker Clinic <front@whisker.example>".to_owned()),
        ("CLOWDER_CLINIC_NAME", "Whisker Cat Clinic".to_owned()),
    ];
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let seed = seed("CLOWDER_MESSAGES_SEED");
    eprintln!("messages crash seed: {seed} (replay with CLOWDER_MESSAGES_SEED={seed})");
    let mut rng = Rng(seed);
    // Queue the burst (the messages start sending at once).
    let mut server = start_with(dir.path(), &env).await;
    let token = login(&http, &server.base).await;
    for i in 0..BURST {
        let res = http
            .post(format!("{}/api/communications/test", server.base))
            .bearer_auth(&token)
            .json(&json!({ "channel": "email", "to": format!("owner{i}@example.com") }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::ACCEPTED);
    }
    for k in 0..=KILLS {
        if k > 0 {
            server = start_with(dir.path(), &env).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.below(300))).await;
        server.child.start_kill().expect("SIGKILL");
        server.child.wait().await.expect("the killed server is reaped");
    }
    let mut server = start_with(dir.path(), &env).await;
    let token = login(&http, &server.base).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    let messages = loop {
        let all = walk_all(&http, &server.base, &token, "/api/messages").await;
        if all.len() == BURST && all.iter().all(|m| m["status"] == "sent") {
            break all;
        }
        assert!(Instant::now() < deadline, "messages still not all sent after 120 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let received = sink.received();
    let mut copies: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for r in &received {
        *copies.entry(header(r, "Message-ID").expect("a Message-ID").to_owned()).or_default() += 1;
    }
    for m in &messages {
        let id = m["provider_id"].as_str().unwrap();
        assert!(copies.contains_key(id), "message {} never arrived", m["idempotency_key"]);
    }
    assert_eq!(copies.len(), BURST, "no Message-ID without its message");
    let twice = copies.values().filter(|n| **n > 1).count();
    let interrupted = messages.iter().filter(|m| m["attempts"].as_u64() > Some(1)).count();
    eprintln!("{BURST} messages, {KILLS} kills: {interrupted} sent on a later attempt, {twice} arrived more than once");
    server.child.start_kill().expect("SIGKILL");
    let _ = server.child.wait().await;
}
