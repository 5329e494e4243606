//! The providers' webhooks on a real server, signed in the test exactly as the providers
//! document: Twilio's `X-Twilio-Signature` (HMAC-SHA1 of the URL and the sorted parameters,
//! keyed with the auth token) for status callbacks and inbound texts (STOP/START/HELP and
//! their synonyms, answered in TwiML), SendGrid's Event Webhook (ECDSA P-256 over the
//! timestamp and the body, with a key generated here whose SPKI the server is given). Bad or
//! missing signatures are 401 and change nothing; replays change nothing. Marketing email
//! carries RFC 8058 List-Unsubscribe headers (read from a local server speaking SendGrid's
//! Mail Send).

use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clowder_schemas::messages::Purpose;
use reqwest::StatusCode;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};

use crate::consent::{client, queue};
use crate::helpers::{TestApp, assert_error, expect_json};

const TOKEN: &str = "twilio-auth-token-for-tests";
const STATUS_URL: &str = "https://clinic.example/hooks/twilio/status";
const INBOUND_URL: &str = "https://clinic.example/hooks/twilio/inbound";

/// The DER prefix of a P-256 SubjectPublicKeyInfo (uncompressed point follows).
const SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
    0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// Twilio's signature of a request to `url` with these form parameters.
fn twilio_sign(url: &str, params: &[(&str, &str)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut data = url.to_owned();
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, TOKEN.as_bytes());
    STANDARD.encode(ring::hmac::sign(&key, data.as_bytes()).as_ref())
}

fn form(params: &[(&str, &str)]) -> String {
    let mut u = reqwest::Url::parse("http://x/").unwrap();
    u.query_pairs_mut().extend_pairs(params);
    u.query().unwrap_or("").to_owned()
}

/// Posts a Twilio webhook to `path` (with `query`), signed for `signed_url` (`None`: unsigned).
async fn twilio_post(
    app: &TestApp,
    path: &str,
    query: &str,
    params: &[(&str, &str)],
    signature: Option<String>,
) -> reqwest::Response {
    let url = if query.is_empty() { app.url(path) } else { format!("{}?{query}", app.url(path)) };
    let mut req =
        reqwest::Client::new().post(url).header("Content-Type", "application/x-www-form-urlencoded").body(form(params));
    if let Some(s) = signature {
        req = req.header("X-Twilio-Signature", s);
    }
    req.send().await.unwrap()
}

async fn twilio_app() -> TestApp {
    let app = TestApp::spawn_with(|a| {
        a.comms.twilio_auth_token = Some(TOKEN.into());
        a.comms.twilio_status_callback = Some(STATUS_URL.into());
        a.comms.twilio_inbound_url = Some(INBOUND_URL.into());
        a.comms.clinic_phone = Some("(508) 555-0100".into());
    })
    .await;
    app.login_admin().await;
    app
}

async fn preferences(app: &TestApp, c: &str) -> Value {
    app.get_json(&format!("/api/clients/{c}/preferences")).await
}

async fn ledger(app: &TestApp, c: &str) -> Vec<Value> {
    app.get_json(&format!("/api/clients/{c}/consent")).await["items"].as_array().unwrap().clone()
}

async fn all_day(app: &TestApp, c: &str) {
    let body = json!({
        "channels": { "email": true, "sms": true },
        "quiet_hours": { "start": "00:00", "end": "24:00" },
        "marketing_cap": 5,
    });
    expect_json(app.put_json(&format!("/api/clients/{c}/preferences"), &body).await, StatusCode::OK).await;
}

#[tokio::test]
async fn twilio_status_callbacks_move_messages_forward_and_an_opted_out_number_loses_sms_consent() {
    let app = twilio_app().await;
    let c = client(&app, "ada@example.com").await;
    all_day(&app, &c).await;
    let a = queue(&app, &c, false, Purpose::Transactional, "sms:a").await;
    let b = queue(&app, &c, false, Purpose::Transactional, "sms:b").await;
    for id in [&a, &b] {
        app.poll_json(&format!("/api/messages/{id}"), |m| m["status"] == "sent").await;
    }
    let path = "/hooks/twilio/status";
    let query = |key: &str| form(&[("clowder_key", key)]);
    let signed = |key: &str, params: &[(&str, &str)]| twilio_sign(&format!("{STATUS_URL}?{}", query(key)), params);

    // Missing and wrong signatures: 401, nothing changed.
    let delivered = [("MessageSid", "SM1"), ("MessageStatus", "delivered"), ("AccountSid", "AC1")];
    let r = twilio_post(&app, path, &query("sms:a"), &delivered, None).await;
    assert_error(r, StatusCode::UNAUTHORIZED, "webhook_signature_invalid", None).await;
    let forged = twilio_sign(&format!("https://evil.example/hooks/twilio/status?{}", query("sms:a")), &delivered);
    let r = twilio_post(&app, path, &query("sms:a"), &delivered, Some(forged)).await;
    assert_error(r, StatusCode::UNAUTHORIZED, "webhook_signature_invalid", None).await;
    // Signed for another message's key: the URL differs, so the signature does not match.
    let r = twilio_post(&app, path, &query("sms:b"), &delivered, Some(signed("sms:a", &delivered))).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.get_json(&format!("/api/messages/{a}")).await["status"], "sent");

    // Delivered, twice (a replay changes nothing).
    for _ in 0..2 {
        let r = twilio_post(&app, path, &query("sms:a"), &delivered, Some(signed("sms:a", &delivered))).await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }
    assert_eq!(app.get_json(&format!("/api/messages/{a}")).await["status"], "delivered");
    let audit = app.get_json("/api/audit?action=message.report").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");
    // A late `sent` never moves it back.
    let sent = [("MessageSid", "SM1"), ("MessageStatus", "sent")];
    twilio_post(&app, path, &query("sms:a"), &sent, Some(signed("sms:a", &sent))).await;
    assert_eq!(app.get_json(&format!("/api/messages/{a}")).await["status"], "delivered");

    // Undelivered with 21610: bounced, a message_failed event, SMS consent revoked once.
    let undelivered = [("MessageSid", "SM2"), ("MessageStatus", "undelivered"), ("ErrorCode", "21610")];
    let before = app.last_event_seq().await;
    for _ in 0..2 {
        let r = twilio_post(&app, path, &query("sms:b"), &undelivered, Some(signed("sms:b", &undelivered))).await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }
    let m = app.get_json(&format!("/api/messages/{b}")).await;
    assert_eq!(m["status"], "bounced", "{m}");
    assert!(m["last_error"].as_str().unwrap().contains("21610"), "{m}");
    assert!(app.last_event_seq().await > before);
    let p = preferences(&app, &c).await;
    assert_eq!((p["sms"]["transactional"].as_bool(), p["sms"]["marketing"].as_bool()), (Some(false), Some(false)));
    let revoked: Vec<Value> = ledger(&app, &c).await.into_iter().filter(|e| e["source"] == "sms_keyword").collect();
    assert_eq!(revoked.len(), 1, "one line: marketing was already off; the replay wrote none: {revoked:?}");
}

#[tokio::test]
async fn inbound_stop_start_and_help_update_consent_and_answer_in_twiml() {
    let app = twilio_app().await;
    let c = client(&app, "ada@example.com").await;
    let path = "/hooks/twilio/inbound";
    let text =
        |body: &'static str| [("From", "+15085550142"), ("To", "+15085550100"), ("Body", body), ("MessageSid", "SMin")];
    let send = |body: &'static str| {
        let params = text(body);
        let app = &app;
        async move { twilio_post(app, path, "", &params, Some(twilio_sign(INBOUND_URL, &params))).await }
    };
    let twiml = |r: reqwest::Response| async move {
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/xml"));
        r.text().await.unwrap()
    };

    // Unsigned or wrongly signed: 401, nothing changed.
    let r = twilio_post(&app, path, "", &text("STOP"), None).await;
    assert_error(r, StatusCode::UNAUTHORIZED, "webhook_signature_invalid", None).await;
    let r = twilio_post(&app, path, "", &text("STOP"), Some(twilio_sign(STATUS_URL, &text("STOP")))).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(preferences(&app, &c).await["sms"]["transactional"], true);

    for word in [" stop ", "Unsubscribe", "QUIT", "optout", "revoke", "END", "CANCEL", "stopall"] {
        let body = twiml(send(word).await).await;
        assert!(
            body.contains(
                "<Response><Message>You are unsubscribed from Whisker Cat Clinic messages. Reply START to resubscribe.</Message></Response>"
            ),
            "{word}: {body}"
        );
    }
    let p = preferences(&app, &c).await;
    assert_eq!((p["sms"]["transactional"].as_bool(), p["sms"]["marketing"].as_bool()), (Some(false), Some(false)));
    let lines = ledger(&app, &c).await;
    assert_eq!(lines.len(), 1, "only the first STOP changed anything: {lines:?}");
    assert_eq!((lines[0]["source"].as_str(), lines[0]["who"]["type"].as_str()), (Some("sms_keyword"), Some("client")));
    assert!(lines[0]["evidence"].as_str().unwrap().contains("stop"), "{}", lines[0]);

    for word in ["start", "YES", "unstop", "OptIn"] {
        let body = twiml(send(word).await).await;
        assert!(body.contains("You are resubscribed to Whisker Cat Clinic messages."), "{word}: {body}");
    }
    let p = preferences(&app, &c).await;
    assert_eq!((p["sms"]["transactional"].as_bool(), p["sms"]["marketing"].as_bool()), (Some(true), Some(false)));

    for word in ["help", "INFO"] {
        let body = twiml(send(word).await).await;
        assert!(
            body.contains(
                "<Message>Whisker Cat Clinic: appointment reminders and care messages. Call (508) 555-0100. Reply STOP to opt out.</Message>"
            ),
            "{word}: {body}"
        );
    }
    let body = twiml(send("Can I bring Tom at 3?").await).await;
    assert!(body.ends_with("<Response></Response>"), "{body}");
    assert_eq!(ledger(&app, &c).await.len(), 2);
}

/// A local server speaking SendGrid's v3 Mail Send: records each request's JSON and answers
/// 202 with an `X-Message-Id` per message (`sgmsg<n>`).
async fn sendgrid_sink() -> (String, Arc<Mutex<Vec<Value>>>) {
    let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
    let s = seen.clone();
    let router = axum::Router::new().route(
        "/v3/mail/send",
        axum::routing::post(move |body: axum::body::Bytes| {
            let s = s.clone();
            async move {
                let mut all = s.lock().unwrap();
                all.push(serde_json::from_slice(&body).unwrap_or(Value::Null));
                let id = format!("sgmsg{}", all.len());
                (axum::http::StatusCode::ACCEPTED, [("x-message-id", id)], "")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{addr}"), seen)
}

struct SendGridSigner {
    pair: EcdsaKeyPair,
    rng: ring::rand::SystemRandom,
}

impl SendGridSigner {
    fn new() -> (SendGridSigner, String) {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        let mut spki = SPKI_PREFIX.to_vec();
        spki.extend_from_slice(pair.public_key().as_ref());
        (SendGridSigner { pair, rng }, STANDARD.encode(spki))
    }

    fn sign(&self, timestamp: &str, body: &[u8]) -> String {
        let mut data = timestamp.as_bytes().to_vec();
        data.extend_from_slice(body);
        STANDARD.encode(self.pair.sign(&self.rng, &data).unwrap().as_ref())
    }
}

async fn sendgrid_post(app: &TestApp, body: &Value, sig: Option<(String, String)>) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(app.url("/hooks/sendgrid/events"))
        .header("Content-Type", "application/json")
        .body(body.to_string());
    if let Some((ts, s)) = sig {
        req = req
            .header("X-Twilio-Email-Event-Webhook-Timestamp", ts)
            .header("X-Twilio-Email-Event-Webhook-Signature", s);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn sendgrid_events_are_verified_and_bounces_and_complaints_revoke_consent() {
    let (base, seen) = sendgrid_sink().await;
    let (signer, spki) = SendGridSigner::new();
    let app = TestApp::spawn_with(|a| {
        a.comms.email_provider = clowder::config::EmailProviderArg::Sendgrid;
        a.comms.email_from = Some("Whisker Clinic <front@whisker.example>".into());
        a.comms.sendgrid_api_key = Some("SG.test-key".into());
        a.comms.sendgrid_base_url = base;
        a.comms.sendgrid_webhook_public_key = Some(spki);
    })
    .await;
    app.login_admin().await;
    let c = client(&app, "ada@example.com").await;
    all_day(&app, &c).await;
    let grant = json!({ "channel": "email", "purpose": "marketing", "granted": true });
    expect_json(app.post_json(&format!("/api/clients/{c}/consent"), &grant).await, StatusCode::CREATED).await;
    let marketing = queue(&app, &c, true, Purpose::Marketing, "news:1").await;
    let care = queue(&app, &c, true, Purpose::Transactional, "care:1").await;
    for id in [&marketing, &care] {
        app.poll_json(&format!("/api/messages/{id}"), |m| m["status"] == "sent").await;
    }

    // RFC 8058 headers on the marketing email only, with a working unsubscribe link.
    let sent = seen.lock().unwrap().clone();
    let by_key = |k: &str| sent.iter().find(|m| m["custom_args"]["clowder_key"] == k).unwrap().clone();
    let news = by_key("news:1");
    let unsubscribe = news["headers"]["List-Unsubscribe"].as_str().unwrap_or_else(|| panic!("{news}"));
    assert_eq!(news["headers"]["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click");
    let link = unsubscribe.trim_start_matches('<').trim_end_matches('>');
    let path = link.split_once("/l/").map(|(_, p)| format!("/l/{p}")).unwrap();
    assert!(path.starts_with("/l/unsubscribe/"), "{link}");
    assert_eq!(app.anonymous(reqwest::Method::GET, &path).send().await.unwrap().status(), StatusCode::OK);
    assert!(by_key("care:1")["headers"].get("List-Unsubscribe").is_none());

    let care_id = app.get_json(&format!("/api/messages/{care}")).await["provider_id"].as_str().unwrap().to_owned();
    let now = app.system.ctx.clock.now().as_second();
    let events = json!([
        // Matched by the X-Message-Id prefix of sg_message_id.
        { "email": "ada@example.com", "event": "delivered", "sg_message_id": format!("{care_id}.filter0001.1.0"), "sg_event_id": "e1", "timestamp": now },
        // Matched by custom_args, which SendGrid returns as top-level fields.
        { "email": "ada@example.com", "event": "spamreport", "clowder_key": "news:1", "sg_event_id": "e2", "timestamp": now },
        { "email": "ada@example.com", "event": "open", "clowder_key": "news:1", "sg_event_id": "e3", "timestamp": now },
    ]);
    let body = events.to_string();
    let ts = now.to_string();

    // Missing, wrong and stale signatures: 401, nothing changed.
    let r = sendgrid_post(&app, &events, None).await;
    assert_error(r, StatusCode::UNAUTHORIZED, "webhook_signature_invalid", None).await;
    let (other, _) = SendGridSigner::new();
    let r = sendgrid_post(&app, &events, Some((ts.clone(), other.sign(&ts, body.as_bytes())))).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let old = (now - 11 * 60).to_string();
    let r = sendgrid_post(&app, &events, Some((old.clone(), signer.sign(&old, body.as_bytes())))).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "a replay after ten minutes");
    assert_eq!(app.get_json(&format!("/api/messages/{care}")).await["status"], "sent");

    // Signed: applied, and again (a replay within the window) changes nothing more.
    for _ in 0..2 {
        let r = sendgrid_post(&app, &events, Some((ts.clone(), signer.sign(&ts, body.as_bytes())))).await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }
    assert_eq!(app.get_json(&format!("/api/messages/{care}")).await["status"], "delivered");
    let p = preferences(&app, &c).await;
    assert_eq!((p["email"]["marketing"].as_bool(), p["email"]["transactional"].as_bool()), (Some(false), Some(true)));
    let complaints: Vec<Value> = ledger(&app, &c).await.into_iter().filter(|e| e["source"] == "complaint").collect();
    assert_eq!(complaints.len(), 1, "{complaints:?}");

    // A hard bounce: bounced, and email consent revoked for every purpose (source bounce).
    let bounce = json!([{ "email": "ada@example.com", "event": "bounce", "type": "bounce", "reason": "550 5.1.1 no such user", "clowder_key": "news:1", "timestamp": now }]);
    let body = bounce.to_string();
    for _ in 0..2 {
        let r = sendgrid_post(&app, &bounce, Some((ts.clone(), signer.sign(&ts, body.as_bytes())))).await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }
    let m = app.get_json(&format!("/api/messages/{marketing}")).await;
    assert_eq!(m["status"], "bounced", "{m}");
    assert!(m["last_error"].as_str().unwrap().contains("no such user"), "{m}");
    let p = preferences(&app, &c).await;
    assert_eq!(p["email"]["transactional"], false);
    let bounces: Vec<Value> = ledger(&app, &c).await.into_iter().filter(|e| e["source"] == "bounce").collect();
    assert_eq!(bounces.len(), 1, "transactional only (marketing was already off), once: {bounces:?}");
    let later = queue(&app, &c, true, Purpose::Transactional, "care:2").await;
    let m = app.poll_json(&format!("/api/messages/{later}"), |m| m["status"] != "queued").await;
    assert_eq!(m["status"], "suppressed", "{m}");

    // Not JSON (but signed): 400.
    let r = sendgrid_post_raw(&app, b"nope", &ts, &signer.sign(&ts, b"nope")).await;
    assert_error(r, StatusCode::BAD_REQUEST, "invalid_json", None).await;
}

async fn sendgrid_post_raw(app: &TestApp, body: &'static [u8], ts: &str, sig: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url("/hooks/sendgrid/events"))
        .header("Content-Type", "application/json")
        .header("X-Twilio-Email-Event-Webhook-Timestamp", ts)
        .header("X-Twilio-Email-Event-Webhook-Signature", sig)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn public_writes_are_rate_limited_per_address() {
    let app = TestApp::spawn_with(|a| {
        a.security.rate_per_sec = 1;
        a.security.rate_burst = 2;
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(
            twilio_post(&app, "/hooks/twilio/status", "", &[("MessageStatus", "delivered")], None).await.status(),
        );
    }
    assert_eq!(&statuses[..2], &[StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED]);
    assert!(statuses[2..].contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
}
