//! Error tracking against a local stand-in for Sentry: an axum server in the test accepting
//! `POST /api/<project>/envelope/` (Sentry's envelope format: a JSON header line, then per
//! item a JSON item header line and its payload) and keeping every body it receives.
//!
//! Sentry's hub is process-wide (a `static`), so these tests run the real binary in a process
//! of its own, as `durability.rs` does: a client set up in this test process would report the
//! panics and 5xx of every other test running beside it. The 5xx is provoked the way an
//! operator meets one: the disk-space guard (507 `insufficient_storage`) with a reserve above
//! the disk's free space. A panic inside a handler cannot be provoked from outside (no route
//! panics on purpose); `clowder_web::tracking`'s unit tests scrub a panic's event.
//!
//! The store is created by a first run with the normal reserve (a fresh store cannot be
//! bootstrapped below the reserve); its session is reused by the later runs (signing in
//! writes, so it is refused too).

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Notify;

const PASSWORD: &str = "tracking-test-password";

/// The client's personal data and the cat's medical words sent in the failing requests.
const PERSONAL: [&str; 7] =
    ["Marguerite", "Okonkwo", "m.okonkwo@example.com", "503 555 0142", "5035550142", "Pumpernickel", "hyperthyroidism"];

/// Every envelope body the stand-in received, as text.
type Received = Arc<Mutex<Vec<String>>>;

/// Starts the stand-in on a free port; returns its DSN, what it receives, and a signal
/// raised at each arrival.
async fn sentry_stand_in() -> (String, Received, Arc<Notify>) {
    let received: Received = Arc::default();
    let arrived = Arc::new(Notify::new());
    let (keep, signal) = (received.clone(), arrived.clone());
    let app = axum::Router::new().route(
        "/api/{project}/envelope/",
        axum::routing::post(move |body: Bytes| {
            let (keep, signal) = (keep.clone(), signal.clone());
            async move {
                keep.lock().unwrap().push(String::from_utf8_lossy(&body).into_owned());
                signal.notify_one();
                axum::Json(json!({"id": "0"}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://public@127.0.0.1:{port}/1"), received, arrived)
}

/// The events in the received envelopes: the payload line after each `"type":"event"` item
/// header.
fn events(received: &Received) -> Vec<Value> {
    let bodies = received.lock().unwrap().clone();
    let mut out = Vec::new();
    for body in bodies {
        let lines: Vec<&str> = body.lines().collect();
        for pair in lines.windows(2) {
            let header: Value = serde_json::from_str(pair[0]).unwrap_or(Value::Null);
            if header["type"] == "event" {
                out.push(serde_json::from_str(pair[1]).expect("an event payload is JSON"));
            }
        }
    }
    out
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    /// `clowder serve` on port 0 over `dir` with these extra variables; returns once ready.
    async fn start(dir: &std::path::Path, env: &[(&str, String)]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_clowder"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .env("CLOWDER_ADMIN_PASSWORD", PASSWORD)
            .env("CLOWDER_LOG", "json")
            .env("RUST_LOG", "info")
            .env_remove("CLOWDER_SENTRY_DSN")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("the clowder binary starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
        let addr = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.expect("reading the server's log") {
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && v["message"] == "clowder is ready"
                {
                    return v["addr"].as_str().expect("the ready line names the address").to_owned();
                }
            }
            panic!("the server exited before it was ready");
        })
        .await
        .expect("the server became ready within 30 s");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Server { child, base: format!("http://{addr}") }
    }

    /// SIGTERM, as an orchestrator stops it, and waits for a clean exit (which flushes
    /// queued reports).
    async fn stop(mut self) {
        let pid = self.child.id().expect("running").to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().await.expect("kill runs");
        assert!(killed.success());
        let status = tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("the server stops within 20 s")
            .unwrap();
        assert!(status.success(), "{status}");
    }
}

/// Sends the requests that fail (507) carrying personal and medical data in their path,
/// query string and body. Returns their request ids.
async fn failing_requests(http: &reqwest::Client, server: &Server, token: &str, client: &str) -> Vec<String> {
    let person = json!({"first_name": "Marguerite", "last_name": "Okonkwo", "email": "m.okonkwo@example.com", "phone": "503 555 0142"});
    let requests = [
        (reqwest::Method::POST, "/api/clients?email=m.okonkwo@example.com&name=Marguerite".to_owned(), person.clone()),
        (reqwest::Method::PATCH, format!("/api/clients/{client}"), person),
        (
            reqwest::Method::POST,
            "/api/patients".to_owned(),
            json!({"client_id": client, "name": "Pumpernickel", "allergies": ["hyperthyroidism"], "behavior_notes": "hyperthyroidism, Marguerite Okonkwo"}),
        ),
    ];
    let mut ids = Vec::new();
    for (n, (method, path, body)) in requests.into_iter().enumerate() {
        let id = format!("tracking-{n}");
        let res = http
            .request(method, format!("{}{path}", server.base))
            .bearer_auth(token)
            .header("x-request-id", &id)
            .header("cookie", "clowder_session=Marguerite")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 507, "{path}");
        ids.push(id);
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundreds_reach_sentry_scrubbed_and_nothing_is_sent_without_a_dsn() {
    let dir = tempfile::tempdir().unwrap();
    let (dsn, received, arrived) = sentry_stand_in().await;
    // The test's own HTTP client uses the process's rustls provider (ring), as the server does.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();

    // First run: a store, a session and a client to name in a path.
    let server = Server::start(dir.path(), &[]).await;
    let res = http
        .post(format!("{}/api/auth/login", server.base))
        .json(&json!({"username": "admin", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let token = res.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let res = http
        .post(format!("{}/api/clients", server.base))
        .bearer_auth(&token)
        .json(&json!({"first_name": "Ada", "last_name": "Lovelace", "phone": "503 555 0100"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let client = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    server.stop().await;

    let full_disk = ("CLOWDER_MIN_FREE_MB", u64::MAX.to_string());
    // Without CLOWDER_SENTRY_DSN nothing is sent, not even to sentry's own SENTRY_DSN
    // variable: the client is never created. A clean stop would have flushed anything queued.
    let server = Server::start(dir.path(), &[full_disk.clone(), ("SENTRY_DSN", dsn.clone())]).await;
    failing_requests(&http, &server, &token, &client).await;
    server.stop().await;
    assert!(received.lock().unwrap().is_empty(), "sent without a DSN: {:?}", received.lock().unwrap());

    // With a DSN every 5xx is reported.
    let server = Server::start(
        dir.path(),
        &[full_disk, ("CLOWDER_SENTRY_DSN", dsn), ("CLOWDER_SENTRY_ENVIRONMENT", "clinic-test".into())],
    )
    .await;
    let ids = failing_requests(&http, &server, &token, &client).await;
    // Sending is in the background: wait for each arrival until the three are there.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while events(&received).len() < ids.len() {
        let waited = tokio::time::timeout_at(deadline, arrived.notified()).await;
        assert!(waited.is_ok(), "only {} events arrived", events(&received).len());
    }
    server.stop().await;

    let events = events(&received);
    assert_eq!(events.len(), ids.len(), "one event per 5xx: {events:?}");
    let routes: Vec<(&str, &str)> =
        events.iter().map(|e| (e["tags"]["method"].as_str().unwrap(), e["tags"]["route"].as_str().unwrap())).collect();
    for expected in [("POST", "/api/clients"), ("PATCH", "/api/clients/{id}"), ("POST", "/api/patients")] {
        assert!(routes.contains(&expected), "{expected:?} not in {routes:?}");
    }
    for e in &events {
        let id = e["tags"]["request_id"].as_str().unwrap();
        assert!(ids.iter().any(|i| i == id), "{id}");
        assert_eq!(e["tags"]["status"], "507");
        assert_eq!(e["tags"]["code"], "insufficient_storage");
        assert_eq!(e["release"], format!("clowder@{}", env!("CARGO_PKG_VERSION")));
        assert_eq!(e["environment"], "clinic-test");
        assert_eq!(e["message"], "HTTP 507 insufficient_storage");
        assert!(e.get("request").is_none() && e.get("user").is_none(), "{e}");
    }
    // Nothing personal or medical anywhere in what left the server, nor the client's id or
    // the session token.
    let everything = received.lock().unwrap().join("\n");
    for word in PERSONAL.iter().copied().chain([client.as_str(), token.as_str(), "clowder_session"]) {
        assert!(!everything.contains(word), "{word:?} was sent: {everything}");
    }
}
