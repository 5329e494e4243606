//! Message providers (`clowder_actors::comms`) against real protocol peers.
//!
//! SMTP: a real SMTP server, aiosmtpd (PyPI), run by our own handler script
//! `tests/support/smtp_sink.py` on an ephemeral port, plain or with STARTTLS (a certificate
//! generated here) and AUTH; the script reads each message with Python's `email` package and
//! writes what it saw as JSON. SendGrid and Twilio: local HTTP servers written here (axum)
//! that check the documented request format strictly (method, path, auth, content type,
//! required fields) and answer as the provider does (success, 429 with `Retry-After`, 400
//! with an error body, 500, silence).
//!
//! `scripts/test` installs aiosmtpd into `target/test-tools/aiosmtpd` when missing, exports
//! `CLOWDER_TEST_AIOSMTPD` (that virtualenv's python) and sets `CLOWDER_SMTP_TESTS=1`, which
//! makes a missing aiosmtpd a failure; a plain `cargo test` without it skips the SMTP tests
//! with a message.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use clowder_actors::comms::providers::{Secret, message_id};
use clowder_actors::comms::{
    CommsConfig, EmailSettings, Providers, SendError, SendGridConfig, SmsSettings, SmtpConfig, SmtpTls, TwilioConfig,
    TwilioSender,
};
use clowder_actors::{Clock, ManualClock};
use clowder_schemas::comms::{EmailHeader, EmailMessage, Mailbox, MessageKey, ProviderName, SmsMessage};
use clowder_schemas::values::Phone;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

const NOW: &str = "2026-12-05T15:04:05Z";

fn clock() -> Arc<dyn Clock> {
    Arc::new(ManualClock::new(NOW.parse().expect("a timestamp")))
}

fn config(email: EmailSettings, sms: SmsSettings) -> CommsConfig {
    CommsConfig {
        email,
        sms,
        from: Mailbox::parse("from", "Whisker Clinic <front@whisker.example>").unwrap(),
        timeout: Duration::from_secs(5),
        max_sms_segments: 4,
        clinic: Default::default(),
        hooks: Default::default(),
        quiet_hours: clowder_schemas::consent::TimeWindow::default_quiet_hours(),
    }
}

fn key(k: &str) -> MessageKey {
    MessageKey::parse("key", k).unwrap()
}

fn mailbox(s: &str) -> Mailbox {
    Mailbox::parse("to", s).unwrap()
}

/// A reminder with everything an email can carry: a non-ASCII subject, reply-to, HTML, the
/// one-click unsubscribe headers.
fn reminder(to: &str) -> EmailMessage {
    EmailMessage {
        key: key("job:01JEXAMPLE:reminder-48h"),
        from: None,
        to: mailbox(to),
        reply_to: Some(mailbox("Front desk <desk@whisker.example>")),
        subject: "Rappel : Mochi a rendez-vous jeudi à 10:30 — ça marche ? 🐱".into(),
        text: "Bonjour Jane,\nMochi a rendez-vous jeudi à 10:30.\n".into(),
        html: Some("<p>Bonjour Jane,</p><p>Mochi a rendez-vous <b>jeudi à 10:30</b>.</p>".into()),
        headers: vec![
            EmailHeader::list_unsubscribe("https://whisker.example/u/abc123").unwrap(),
            EmailHeader::list_unsubscribe_post(),
        ],
        attachments: Vec::new(),
    }
}

pub(crate) fn header<'a>(record: &'a Value, name: &str) -> Option<&'a str> {
    record["headers"]
        .as_array()?
        .iter()
        .find(|h| h[0].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
        .and_then(|h| h[1].as_str())
}

// --- SMTP -----------------------------------------------------------------------------

/// An aiosmtpd server of our own (tests/support/smtp_sink.py), stopped when dropped.
pub(crate) struct SmtpSink {
    pub(crate) port: u16,
    out: tempfile::TempDir,
    _child: tokio::process::Child,
}

/// `CLOWDER_TEST_AIOSMTPD` (a python with aiosmtpd), else the virtualenv scripts/test makes,
/// else a `python3` on PATH that can import aiosmtpd.
fn aiosmtpd_python() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if let Some(path) = std::env::var_os("CLOWDER_TEST_AIOSMTPD") {
        let path = root.join(path);
        assert!(path.exists(), "CLOWDER_TEST_AIOSMTPD names {}, which does not exist", path.display());
        return Some(path);
    }
    let venv = root.join("target/test-tools/aiosmtpd/bin/python");
    if venv.is_file() {
        return Some(venv);
    }
    let ok = std::process::Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| PathBuf::from("python3"))
}

impl SmtpSink {
    /// A server setting that sends the clinic's email to this sink (plain SMTP on localhost,
    /// from "Whisker Clinic").
    pub(crate) fn tweak(&self) -> impl FnOnce(&mut clowder::config::ServeArgs) + Send + 'static {
        let port = self.port;
        move |a| {
            a.comms.email_provider = clowder::config::EmailProviderArg::Smtp;
            a.comms.smtp_host = Some("127.0.0.1".into());
            a.comms.smtp_port = Some(port);
            a.comms.smtp_tls = clowder::config::SmtpTlsArg::None;
            a.comms.email_from = Some("Whisker Clinic <front@whisker.example>".into());
        }
    }

    /// A server emailing to this sink, signed in as the administrator.
    pub(crate) async fn app(&self) -> crate::helpers::TestApp {
        let app = crate::helpers::TestApp::spawn_with(self.tweak()).await;
        app.login_admin().await;
        app
    }

    /// A running server, or `None` (after saying so) when aiosmtpd is not installed and not
    /// required.
    pub(crate) async fn start(extra: &[&str]) -> Option<SmtpSink> {
        let Some(python) = aiosmtpd_python() else {
            assert!(
                std::env::var("CLOWDER_SMTP_TESTS").is_err(),
                "aiosmtpd was not found (CLOWDER_TEST_AIOSMTPD unset, no target/test-tools/aiosmtpd); scripts/test installs it"
            );
            eprintln!("skipping the SMTP test: run scripts/test to install aiosmtpd (PyPI)");
            return None;
        };
        let out = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py");
        let mut child = tokio::process::Command::new(&python)
            .arg(&script)
            .arg("--out")
            .arg(out.path())
            .args(extra)
            // Its stdin closing (our end dropped with the child) is what stops it.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not start: {e}", python.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the SMTP sink said READY within 30 s")
            .expect("its stdout")
            .expect("a READY line");
        let port = ready.strip_prefix("READY ").and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("{ready:?}"));
        Some(SmtpSink { port, out, _child: child })
    }

    /// The messages the server accepted so far, in order.
    pub(crate) fn received(&self) -> Vec<Value> {
        let mut files: Vec<_> = std::fs::read_dir(self.out.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files.iter().map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()).collect()
    }

    /// Waits (polling, with a deadline) until `n` messages arrived, and returns them.
    pub(crate) async fn wait_for(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(Instant::now() < deadline, "{n} messages did not arrive within 10 s ({} did)", got.len());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn smtp(&self, host: &str, tls: SmtpTls) -> SmtpConfig {
        SmtpConfig { host: host.into(), port: self.port, tls, credentials: None, extra_roots_pem: None }
    }
}

fn smtp_providers(smtp: SmtpConfig) -> Providers {
    Providers::build(&config(EmailSettings::Smtp(smtp), SmsSettings::Log), clock()).expect("providers")
}

#[tokio::test]
async fn smtp_delivers_headers_message_id_both_parts_and_an_encoded_subject() {
    let Some(sink) = SmtpSink::start(&[]).await else { return };
    let providers = smtp_providers(sink.smtp("127.0.0.1", SmtpTls::None));
    let msg = reminder("Jane Doe <jane@example.com>");

    let sent = providers.email.send(&msg).await.expect("accepted");
    let id = message_id(&msg.key, "whisker.example");
    assert_eq!(sent.provider, ProviderName::Smtp);
    assert_eq!(sent.provider_id, id);
    assert_eq!(sent.accepted_at, NOW.parse().unwrap());

    let got = &sink.wait_for(1).await[0];
    assert_eq!(got["mail_from"], "front@whisker.example");
    assert_eq!(got["rcpt_tos"], json!(["jane@example.com"]));
    assert_eq!(got["helo"], "whisker.example", "EHLO names the sender's domain");
    assert_eq!(header(got, "Message-ID"), Some(id.as_str()));
    assert_eq!(header(got, "Subject"), Some(msg.subject.as_str()), "decoded by a real MIME reader");
    assert_eq!(header(got, "From"), Some("Whisker Clinic <front@whisker.example>"));
    assert_eq!(header(got, "To"), Some("Jane Doe <jane@example.com>"));
    assert_eq!(header(got, "Reply-To"), Some("Front desk <desk@whisker.example>"));
    assert_eq!(header(got, "List-Unsubscribe"), Some("<https://whisker.example/u/abc123>"));
    assert_eq!(header(got, "List-Unsubscribe-Post"), Some("List-Unsubscribe=One-Click"));
    assert_eq!(header(got, "Date"), Some("Sat, 05 Dec 2026 15:04:05 +0000"), "the date is our clock's");
    assert_eq!(got["content_type"], "multipart/alternative");
    assert_eq!(got["text"].as_str().unwrap().replace("\r\n", "\n"), msg.text);
    assert_eq!(got["html"].as_str().unwrap().trim_end(), msg.html.as_deref().unwrap());
    // On the wire the subject is RFC 2047 encoded: the header section is plain ASCII.
    let raw = got["raw"].as_str().unwrap();
    let head = &raw[..raw.find("\r\n\r\n").unwrap()];
    assert!(head.is_ascii(), "{head}");
    assert!(head.contains("\r\nSubject: ") && head.contains("=?utf-8?b?"), "{head}");

    // A resend of the same job (after a crash) is recognisably the same message.
    providers.email.send(&msg).await.expect("accepted again");
    let both = sink.wait_for(2).await;
    assert_eq!(header(&both[1], "Message-ID"), Some(id.as_str()));
}

#[tokio::test]
async fn smtp_text_only_is_a_single_plain_part() {
    let Some(sink) = SmtpSink::start(&[]).await else { return };
    let providers = smtp_providers(sink.smtp("localhost", SmtpTls::None));
    let msg = EmailMessage::new(key("k-text"), mailbox("jane@example.com"), "Plain", "Just text.");
    providers.email.send(&msg).await.expect("accepted");
    let got = &sink.wait_for(1).await[0];
    assert_eq!(got["content_type"], "text/plain");
    assert_eq!(got["html"], Value::Null);
    assert_eq!(got["text"].as_str().unwrap().trim_end(), "Just text.");
}

struct TestCert {
    dir: tempfile::TempDir,
    pem: String,
}

fn certificate() -> TestCert {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("a certificate");
    let dir = tempfile::tempdir().unwrap();
    let pem = generated.cert.pem();
    std::fs::write(dir.path().join("cert.pem"), &pem).unwrap();
    std::fs::write(dir.path().join("key.pem"), generated.signing_key.serialize_pem()).unwrap();
    TestCert { dir, pem }
}

#[tokio::test]
async fn smtp_starttls_with_auth_sends_encrypted_and_authenticated() {
    let cert = certificate();
    let (c, k) = (cert.dir.path().join("cert.pem"), cert.dir.path().join("key.pem"));
    let args = ["--tls", c.to_str().unwrap(), k.to_str().unwrap(), "--auth", "clinic:s3cret-pass"];
    let Some(sink) = SmtpSink::start(&args).await else { return };
    let with = |password: &str, roots: Option<&str>| SmtpConfig {
        credentials: Some(("clinic".into(), Secret::new(password))),
        extra_roots_pem: roots.map(|r| r.as_bytes().to_vec()),
        ..sink.smtp("localhost", SmtpTls::Starttls)
    };
    let msg = reminder("jane@example.com");

    smtp_providers(with("s3cret-pass", Some(&cert.pem))).email.send(&msg).await.expect("accepted");
    let got = &sink.wait_for(1).await[0];
    assert_eq!(got["tls"], true, "STARTTLS was used");
    assert_eq!(got["authenticated"], true);
    assert_eq!(got["login"], "clinic");

    // A refused password is the relay's 535: permanent.
    let err = smtp_providers(with("wrong", Some(&cert.pem))).email.send(&msg).await.unwrap_err();
    assert!(!err.is_retry(), "{err}");
    // A certificate nobody vouches for is refused (never sent in clear instead): a retry,
    // since the relay or its certificate may be fixed.
    let err = smtp_providers(with("s3cret-pass", None)).email.send(&msg).await.unwrap_err();
    assert!(err.is_retry(), "{err}");
    assert_eq!(sink.received().len(), 1, "nothing else arrived");
}

#[tokio::test]
async fn smtp_failures_split_into_retry_and_permanent() {
    // Nobody listens: connection refused.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let closed =
        SmtpConfig { host: "127.0.0.1".into(), port, tls: SmtpTls::None, credentials: None, extra_roots_pem: None };
    let msg = reminder("jane@example.com");
    let err = smtp_providers(closed).email.send(&msg).await.unwrap_err();
    assert!(matches!(err, SendError::Retry { .. }), "{err}");

    let Some(sink) = SmtpSink::start(&[]).await else { return };
    let providers = smtp_providers(sink.smtp("127.0.0.1", SmtpTls::None));
    let err = providers.email.send(&reminder("reject-permanent@example.com")).await.unwrap_err();
    assert!(matches!(&err, SendError::Permanent { reason } if reason.contains("550")), "{err}");
    let err = providers.email.send(&reminder("reject-temporary@example.com")).await.unwrap_err();
    assert!(matches!(&err, SendError::Retry { reason, .. } if reason.contains("451")), "{err}");
    assert!(sink.received().is_empty());
}

// --- HTTP providers: recorded requests --------------------------------------------------

/// What a fake provider saw: each request's headers and body.
#[derive(Default, Clone)]
struct Seen(Arc<Mutex<Vec<(HeaderMap, Bytes)>>>);

impl Seen {
    fn push(&self, headers: &HeaderMap, body: &Bytes) {
        self.0.lock().unwrap().push((headers.clone(), body.clone()));
    }
    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// Serves `router` on an ephemeral port; returns its base URL.
async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

// --- SendGrid --------------------------------------------------------------------------

const SENDGRID_KEY: &str = "SG.test-key";

fn sendgrid_error(status: StatusCode, message: &str, field: Option<&str>) -> Response {
    (status, axum::Json(json!({"errors": [{"message": message, "field": field, "help": null}]}))).into_response()
}

/// SendGrid's v3 Mail Send as documented: checks the request strictly, then answers by the
/// recipient's local part (`busy` 429, `bad` 400, `boom` 500, `slow` never, else 202).
async fn sendgrid_mail_send(State(seen): State<Seen>, headers: HeaderMap, body: Bytes) -> Response {
    seen.push(&headers, &body);
    if header_str(&headers, "authorization") != format!("Bearer {SENDGRID_KEY}") {
        return sendgrid_error(
            StatusCode::UNAUTHORIZED,
            "The provided authorization grant is invalid, expired, or revoked",
            None,
        );
    }
    if !header_str(&headers, "content-type").starts_with("application/json") {
        return sendgrid_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Content-Type should be application/json.", None);
    }
    let Ok(mail) = serde_json::from_slice::<Value>(&body) else {
        return sendgrid_error(StatusCode::BAD_REQUEST, "Bad Request", None);
    };
    let to = mail["personalizations"][0]["to"][0]["email"].as_str().unwrap_or("");
    let required = [
        (!to.is_empty(), "personalizations.0.to"),
        (mail["from"]["email"].is_string(), "from.email"),
        (mail["subject"].as_str().is_some_and(|s| !s.is_empty()), "subject"),
        (mail["content"][0]["type"] == "text/plain", "content.0.type"),
        (mail["content"][0]["value"].is_string(), "content.0.value"),
        (mail["content"].as_array().is_some_and(|c| c.len() == 1 || c[1]["type"] == "text/html"), "content.1.type"),
        (mail["custom_args"].as_object().is_some_and(|a| a.values().all(Value::is_string)), "custom_args"),
    ];
    if let Some((_, field)) = required.iter().find(|(ok, _)| !ok) {
        return sendgrid_error(StatusCode::BAD_REQUEST, "The field is missing or invalid.", Some(field));
    }
    match to.split('@').next().unwrap_or("") {
        "busy" => (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "17")], "").into_response(),
        "bad" => sendgrid_error(
            StatusCode::BAD_REQUEST,
            "Does not contain a valid address.",
            Some("personalizations.0.to.0.email"),
        ),
        "boom" => (StatusCode::INTERNAL_SERVER_ERROR, "").into_response(),
        "slow" => std::future::pending().await,
        _ => (StatusCode::ACCEPTED, [("x-message-id", "sg-4f2a9c1e")], "").into_response(),
    }
}

async fn sendgrid_server(seen: &Seen) -> String {
    let router =
        axum::Router::new().route("/v3/mail/send", axum::routing::post(sendgrid_mail_send)).with_state(seen.clone());
    serve(router).await
}

fn sendgrid(base_url: &str, api_key: &str, timeout: Duration) -> Providers {
    let sg = SendGridConfig { api_key: Secret::new(api_key), base_url: base_url.into() };
    let config = CommsConfig { timeout, ..config(EmailSettings::SendGrid(sg), SmsSettings::Log) };
    Providers::build(&config, clock()).expect("providers")
}

#[tokio::test]
async fn sendgrid_sends_the_documented_request_and_reads_the_message_id() {
    let seen = Seen::default();
    let base = sendgrid_server(&seen).await;
    let providers = sendgrid(&format!("{base}/"), SENDGRID_KEY, Duration::from_secs(5));
    let msg = reminder("Jane Doe <jane@example.com>");

    let sent = providers.email.send(&msg).await.expect("accepted");
    assert_eq!((sent.provider, sent.provider_id.as_str()), (ProviderName::Sendgrid, "sg-4f2a9c1e"));

    let (_, body) = seen.0.lock().unwrap()[0].clone();
    let mail: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(mail["personalizations"], json!([{"to": [{"email": "jane@example.com", "name": "Jane Doe"}]}]));
    assert_eq!(mail["from"], json!({"email": "front@whisker.example", "name": "Whisker Clinic"}));
    assert_eq!(mail["reply_to"], json!({"email": "desk@whisker.example", "name": "Front desk"}));
    assert_eq!(mail["subject"], msg.subject);
    assert_eq!(
        mail["content"],
        json!([{"type": "text/plain", "value": msg.text}, {"type": "text/html", "value": msg.html}])
    );
    assert_eq!(
        mail["headers"],
        json!({"List-Unsubscribe": "<https://whisker.example/u/abc123>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})
    );
    assert_eq!(
        mail["custom_args"],
        json!({"clowder_key": msg.key.as_str(), "clowder_message_id": message_id(&msg.key, "whisker.example")})
    );
}

#[tokio::test]
async fn sendgrid_failures_split_into_retry_and_permanent() {
    let seen = Seen::default();
    let base = sendgrid_server(&seen).await;
    let providers = sendgrid(&base, SENDGRID_KEY, Duration::from_secs(5));

    let err = providers.email.send(&reminder("busy@example.com")).await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(17)), "{err}");
    let err = providers.email.send(&reminder("boom@example.com")).await.unwrap_err();
    assert!(err.is_retry(), "{err}");
    let err = providers.email.send(&reminder("bad@example.com")).await.unwrap_err();
    assert_eq!(
        err,
        SendError::permanent(
            "SendGrid answered 400: Does not contain a valid address. (personalizations.0.to.0.email)"
        )
    );
    let wrong_key = sendgrid(&base, "SG.revoked", Duration::from_secs(5));
    let err = wrong_key.email.send(&reminder("jane@example.com")).await.unwrap_err();
    assert!(!err.is_retry() && err.to_string().contains("401"), "{err}");

    // A provider that never answers: a retry after the configured timeout, not a hang.
    let impatient = sendgrid(&base, SENDGRID_KEY, Duration::from_millis(300));
    let started = Instant::now();
    let err = impatient.email.send(&reminder("slow@example.com")).await.unwrap_err();
    assert!(err.is_retry() && err.to_string().contains("timed out"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // Nothing listening: a retry.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let nobody = sendgrid(&format!("http://127.0.0.1:{port}"), SENDGRID_KEY, Duration::from_secs(5));
    assert!(nobody.email.send(&reminder("jane@example.com")).await.unwrap_err().is_retry());
}

// --- Twilio ----------------------------------------------------------------------------

const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
const AUTH_TOKEN: &str = "twilio-auth-token";

fn twilio_error(status: StatusCode, code: u32, message: &str) -> Response {
    let body = json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status.as_u16(),
    });
    (status, axum::Json(body)).into_response()
}

/// Twilio's Create Message as documented: checks the request strictly, then answers by the
/// recipient's last digits (…0002 429, …0003 21211, …0004 500, …0005 21610, else 201).
async fn twilio_create_message(
    State(seen): State<Seen>,
    axum::extract::Path(sid): axum::extract::Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    seen.push(&headers, &body);
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"));
    if sid != ACCOUNT_SID || header_str(&headers, "authorization") != format!("Basic {basic}") {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    if header_str(&headers, "content-type") != "application/x-www-form-urlencoded" {
        return twilio_error(StatusCode::BAD_REQUEST, 20001, "Unsupported content type");
    }
    let form = form_fields(&body);
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let (Some(to), Some(_body)) = (field("To"), field("Body")) else {
        return twilio_error(StatusCode::BAD_REQUEST, 21604, "A 'To' phone number and a 'Body' are required.");
    };
    if field("From").is_some() == field("MessagingServiceSid").is_some() {
        return twilio_error(StatusCode::BAD_REQUEST, 21603, "A 'From' or 'MessagingServiceSid' parameter is required");
    }
    match &to[to.len().saturating_sub(4)..] {
        "0002" => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "3")],
            axum::Json(json!({"code": 20429, "message": "Too Many Requests", "status": 429})),
        )
            .into_response(),
        "0003" => twilio_error(StatusCode::BAD_REQUEST, 21211, "The 'To' number is not a valid phone number."),
        "0004" => (StatusCode::INTERNAL_SERVER_ERROR, "").into_response(),
        "0005" => twilio_error(StatusCode::BAD_REQUEST, 21610, "Attempt to send to unsubscribed recipient"),
        _ => {
            let created = json!({"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued", "to": to, "account_sid": ACCOUNT_SID});
            (StatusCode::CREATED, axum::Json(created)).into_response()
        }
    }
}

/// A form body's fields, decoded by the WHATWG form decoder (a URL's query parser).
fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    let url = reqwest::Url::parse(&format!("http://form.invalid/?{}", String::from_utf8_lossy(body))).unwrap();
    url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

async fn twilio_server(seen: &Seen) -> String {
    let router = axum::Router::new()
        .route("/2010-04-01/Accounts/{sid}/Messages.json", axum::routing::post(twilio_create_message))
        .with_state(seen.clone());
    serve(router).await
}

fn twilio(base_url: &str, token: &str, sender: TwilioSender) -> Providers {
    let tw = TwilioConfig {
        account_sid: ACCOUNT_SID.into(),
        auth_token: Secret::new(token),
        sender,
        status_callback: Some("https://clinic.example/hooks/twilio/status".into()),
        base_url: base_url.into(),
    };
    Providers::build(&config(EmailSettings::Log, SmsSettings::Twilio(tw)), clock()).expect("providers")
}

fn text(to: &str, body: &str) -> SmsMessage {
    SmsMessage { key: key("job:01JEXAMPLE:sms-24h"), to: Phone::parse("to", to, "1").unwrap(), body: body.into() }
}

#[tokio::test]
async fn twilio_sends_the_documented_form_and_reads_the_sid() {
    let seen = Seen::default();
    let base = twilio_server(&seen).await;
    let providers = twilio(&base, AUTH_TOKEN, TwilioSender::From("+15559870000".into()));
    let msg = text("+15551230001", "Whisker Clinic: Mochi's check-up is tomorrow at 10:30. Reply STOP to opt out.");

    let sent = providers.sms.send(&msg).await.expect("accepted");
    assert_eq!(sent.provider, ProviderName::Twilio);
    assert_eq!(sent.provider_id, "SM0123456789abcdef0123456789abcdef");

    let form = form_fields(&seen.0.lock().unwrap()[0].1);
    let callback = "https://clinic.example/hooks/twilio/status?clowder_key=job%3A01JEXAMPLE%3Asms-24h";
    assert_eq!(
        form,
        vec![
            ("To".to_owned(), "+15551230001".to_owned()),
            ("From".to_owned(), "+15559870000".to_owned()),
            ("Body".to_owned(), msg.body.clone()),
            ("StatusCallback".to_owned(), callback.to_owned()),
        ]
    );

    // A Messaging Service instead of a number.
    let via_service =
        twilio(&base, AUTH_TOKEN, TwilioSender::MessagingService("MG0123456789abcdef0123456789abcdef".into()));
    via_service.sms.send(&msg).await.expect("accepted");
    let form = form_fields(&seen.0.lock().unwrap()[1].1);
    assert!(form.iter().any(|(k, v)| k == "MessagingServiceSid" && v.starts_with("MG")));
    assert!(!form.iter().any(|(k, _)| k == "From"));
}

#[tokio::test]
async fn twilio_failures_split_into_retry_and_permanent() {
    let seen = Seen::default();
    let base = twilio_server(&seen).await;
    let providers = twilio(&base, AUTH_TOKEN, TwilioSender::From("+15559870000".into()));

    let err = providers.sms.send(&text("+15551230002", "hi")).await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3)), "{err}");
    let err = providers.sms.send(&text("+15551230003", "hi")).await.unwrap_err();
    assert_eq!(
        err,
        SendError::permanent("Twilio answered 400: error 21211: The 'To' number is not a valid phone number.")
    );
    let err = providers.sms.send(&text("+15551230004", "hi")).await.unwrap_err();
    assert!(err.is_retry(), "{err}");
    let err = providers.sms.send(&text("+15551230005", "hi")).await.unwrap_err();
    assert!(!err.is_retry() && err.to_string().contains("21610"), "{err}");
    let wrong = twilio(&base, "not-the-token", TwilioSender::From("+15559870000".into()));
    let err = wrong.sms.send(&text("+15551230001", "hi")).await.unwrap_err();
    assert!(!err.is_retry() && err.to_string().contains("20003"), "{err}");

    // Over the segment limit: refused before Twilio hears of it.
    let before = seen.len();
    let err = providers.sms.send(&text("+15551230001", &"ы".repeat(4 * 67 + 1))).await.unwrap_err();
    assert!(!err.is_retry() && err.to_string().contains("5 segments"), "{err}");
    assert_eq!(seen.len(), before, "no request was made");
}

// --- log ---------------------------------------------------------------------------------

#[tokio::test]
async fn the_log_provider_accepts_both_channels_with_stable_ids_and_the_same_checks() {
    let providers = Providers::build(&config(EmailSettings::Log, SmsSettings::Log), clock()).expect("providers");
    let msg = reminder("jane@example.com");
    let a = providers.email.send(&msg).await.expect("accepted");
    let b = providers.email.send(&msg).await.expect("accepted");
    assert_eq!(a.provider, ProviderName::Log);
    assert!(a.provider_id.starts_with("log-") && a.provider_id == b.provider_id);
    let sms = providers.sms.send(&text("+15551230001", "hi")).await.expect("accepted");
    assert_eq!(sms.provider, ProviderName::Log);
    assert!(!providers.sms.send(&text("+15551230001", &"a".repeat(5 * 153))).await.unwrap_err().is_retry());
    let mut bad = msg;
    bad.subject = "two\nlines".into();
    assert!(!providers.email.send(&bad).await.unwrap_err().is_retry());
}

// --- wiring ------------------------------------------------------------------------------

#[tokio::test]
async fn the_server_sends_through_the_providers_its_settings_choose() {
    use clowder::config::{EmailProviderArg, SmsProviderArg};
    let seen = Seen::default();
    let base = sendgrid_server(&seen).await;
    let dir = tempfile::tempdir().unwrap();
    let mut args = crate::helpers::default_args(dir.path().join("data"));
    args.comms.email_provider = EmailProviderArg::Sendgrid;
    args.comms.email_from = Some("Whisker Clinic <front@whisker.example>".into());
    args.comms.sendgrid_api_key = Some(SENDGRID_KEY.into());
    args.comms.sendgrid_base_url = base;
    assert_eq!(args.comms.sms_provider, SmsProviderArg::Log);
    let app = clowder::Application::build(args.settings().expect("valid settings")).await.expect("it starts");

    let comms = app.system().comms.clone();
    let sent = comms.email.send(&reminder("jane@example.com")).await.expect("accepted");
    assert_eq!(sent.provider, ProviderName::Sendgrid);
    assert_eq!(seen.len(), 1, "the fake SendGrid got the message");
    let sms = comms.sms.send(&text("+15551230001", "hi")).await.expect("accepted");
    assert_eq!(sms.provider, ProviderName::Log, "SMS stays on the log provider");
    app.system().shutdown().await;
}

#[tokio::test]
async fn an_smtp_server_that_never_answers_is_a_retry_within_the_timeout() {
    // Accepts connections and says nothing (no greeting).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let smtp =
        SmtpConfig { host: "127.0.0.1".into(), port, tls: SmtpTls::None, credentials: None, extra_roots_pem: None };
    let config =
        CommsConfig { timeout: Duration::from_millis(300), ..config(EmailSettings::Smtp(smtp), SmsSettings::Log) };
    let providers = Providers::build(&config, clock()).unwrap();
    let started = Instant::now();
    let err = providers.email.send(&reminder("jane@example.com")).await.unwrap_err();
    assert!(err.is_retry(), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5), "gave up after {:?}", started.elapsed());
}

#[tokio::test]
async fn smtp_implicit_tls_sends_encrypted() {
    let cert = certificate();
    let (c, k) = (cert.dir.path().join("cert.pem"), cert.dir.path().join("key.pem"));
    let args = ["--tls", c.to_str().unwrap(), k.to_str().unwrap(), "--implicit-tls"];
    let Some(sink) = SmtpSink::start(&args).await else { return };
    let smtp =
        SmtpConfig { extra_roots_pem: Some(cert.pem.clone().into_bytes()), ..sink.smtp("localhost", SmtpTls::Tls) };
    smtp_providers(smtp).email.send(&reminder("jane@example.com")).await.expect("accepted");
    let got = &sink.wait_for(1).await[0];
    assert_eq!(got["tls"], true);
    // Plain SMTP to a TLS port fails as a retry, and nothing arrives.
    // (The server waits for a TLS hello and we for a greeting: the timeout ends it.)
    let plain = sink.smtp("localhost", SmtpTls::None);
    let config =
        CommsConfig { timeout: Duration::from_millis(300), ..config(EmailSettings::Smtp(plain), SmsSettings::Log) };
    let providers = Providers::build(&config, clock()).unwrap();
    assert!(providers.email.send(&reminder("jane@example.com")).await.unwrap_err().is_retry());
    assert_eq!(sink.received().len(), 1);
}
