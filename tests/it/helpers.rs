//! `TestApp`: the real application on an ephemeral port with its own temporary data
//! directory, and a cookie-keeping HTTP client whose methods read as the story of a test.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Mutex;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

/// The first administrator's password in every test server.
pub const ADMIN_PASSWORD: &str = "correct-horse-battery-staple";

/// A running server owned by one test. Dropping it signals shutdown and removes the data
/// directory.
pub struct TestApp {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub base: String,
    /// Keeps cookies, like a browser.
    pub client: reqwest::Client,
    pub admin_password: String,
    pub data_dir: PathBuf,
    /// The bearer token sent with every request once `login_admin` succeeded.
    token: Mutex<Option<String>>,
    /// The server's core, for what no route does yet (queueing a client's message, signing a
    /// link as a sent email carries it).
    pub system: std::sync::Arc<clowder_actors::System>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

/// The settings every test server starts from (before `spawn_with` tweaks them).
pub fn default_args(data_dir: PathBuf) -> clowder::config::ServeArgs {
    clowder::config::ServeArgs {
        listen: "127.0.0.1:0".parse().expect("a socket address"),
        data_dir,
        demo: false,
        admin_password: Some(ADMIN_PASSWORD.into()),
        clinic_id: "test".into(),
        time_zone: Some("America/New_York".into()),
        country_code: "1".into(),
        session_ttl_hours: 12,
        secure_cookies: false,
        actor_idle_secs: 300,
        actors_max_live: clowder_actors::runtime::DEFAULT_MAX_LIVE,
        mailbox: 64,
        ask_timeout_ms: 10_000,
        cache_mb: 8,
        waitlist_offer_secs: 7200,
        document_max_bytes: clowder_actors::ctx::DEFAULT_DOCUMENT_MAX_BYTES,
        ws_replay_max: 10_000,
        ws_queue: 256,
        ws_heartbeat_secs: 20,
        log: clowder::config::LogFormat::Text,
        tls_cert: None,
        tls_key: None,
        backup: Default::default(),
        // Generous limits: the tests sign in and call far faster than people do; the limits
        // themselves are tested with small values in access.rs.
        security: clowder::config::SecurityArgs {
            login_attempts: 10_000,
            rate_per_sec: 100_000,
            rate_burst: 100_000,
            ..Default::default()
        },
        operations: Default::default(),
        jobs: Default::default(),
        // The clinic every test server's messages come from (required with a real provider).
        // Messages may go at any hour, so no test waits for the morning (CLOWDER_QUIET_HOURS).
        comms: clowder::config::CommsArgs {
            clinic_name: Some("Whisker Cat Clinic".into()),
            quiet_hours: "00:00-24:00".into(),
            ..Default::default()
        },
        automations: Default::default(),
        inventory: Default::default(),
        billing: Default::default(),
        finance: Default::default(),
    }
}

impl TestApp {
    /// A fresh server with default settings.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// A fresh server whose settings `tweak` may change first.
    pub async fn spawn_with(tweak: impl FnOnce(&mut clowder::config::ServeArgs)) -> TestApp {
        Self::spawn_in_with(tempfile::tempdir().expect("a temporary directory"), tweak).await
    }

    /// A server on `dir` as its data directory, which may already hold a store (a copied
    /// fixture, a restored backup); `dir` goes when the server is dropped.
    pub async fn spawn_in_with(dir: tempfile::TempDir, tweak: impl FnOnce(&mut clowder::config::ServeArgs)) -> TestApp {
        let mut args = default_args(dir.path().into());
        tweak(&mut args);
        let admin_password = args.admin_password.as_ref().map(|p| p.expose().to_owned()).unwrap_or_default();
        let settings = args.settings().expect("valid test settings");
        let app = clowder::Application::build(settings).await.expect("the application starts");
        let addr = app.local_addr();
        let system = app.system();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async move {
            let _ = rx.await;
        }));
        // Like a browser on the clinic's own pages: keeps cookies and names its origin.
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::ORIGIN,
            reqwest::header::HeaderValue::from_str(&format!("http://{addr}")).expect("an origin"),
        );
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client");
        TestApp {
            addr,
            base: format!("http://{addr}"),
            client,
            admin_password,
            data_dir: dir.path().into(),
            token: Mutex::new(None),
            system,
            _shutdown: tx,
            server,
            _dir: dir,
        }
    }

    /// Shuts the server down the way SIGTERM does (drain, flush, close the store) and hands
    /// back its data directory, which lives on as long as the returned guard.
    pub async fn stop(self) -> tempfile::TempDir {
        let _ = self._shutdown.send(());
        self.server.await.expect("the server task").expect("a clean shutdown");
        self._dir
    }

    /// A fresh server with the administrator signed in.
    pub async fn signed_in() -> TestApp {
        let app = Self::spawn().await;
        app.login_admin().await;
        app
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request from the cookie-keeping client, with the stored bearer token if any.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let rb = self.client.request(method, self.url(path));
        match self.token() {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    /// A request from a client that has no cookies and sends no token.
    pub fn anonymous(&self, method: Method, path: &str) -> RequestBuilder {
        reqwest::Client::new().request(method, self.url(path))
    }

    /// Sends `token` with every later request, as `login_admin` does with its own.
    pub fn use_token(&self, token: &str) {
        *self.token.lock().expect("token lock") = Some(token.to_owned());
    }

    /// The bearer token stored by `login_admin`.
    pub fn token(&self) -> Option<String> {
        self.token.lock().expect("token lock").clone()
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.client
            .post(self.url("/api/auth/login"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .expect("login request")
    }

    /// Signs the administrator in (the cookie client keeps the cookie) and stores the
    /// bearer token for later calls. Returns the login answer.
    pub async fn login_admin(&self) -> Value {
        let resp = self.login("admin", &self.admin_password).await;
        let body = expect_json(resp, StatusCode::OK).await;
        let token = body["token"].as_str().expect("a token").to_owned();
        *self.token.lock().expect("token lock") = Some(token);
        body
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path).send().await.expect("GET")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.request(Method::POST, path).json(body).send().await.expect("POST")
    }

    pub async fn patch_json(&self, path: &str, body: &Value) -> Response {
        self.request(Method::PATCH, path).json(body).send().await.expect("PATCH")
    }

    pub async fn put_json(&self, path: &str, body: &Value) -> Response {
        self.request(Method::PUT, path).json(body).send().await.expect("PUT")
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.request(Method::DELETE, path).send().await.expect("DELETE")
    }

    /// Registers a client, asserting 201; returns the stored record.
    pub async fn create_client(&self, body: Value) -> Value {
        expect_json(self.post_json("/api/clients", &body).await, StatusCode::CREATED).await
    }

    /// Registers a cat, asserting 201; returns the stored record.
    pub async fn create_patient(&self, body: Value) -> Value {
        expect_json(self.post_json("/api/patients", &body).await, StatusCode::CREATED).await
    }

    /// A client with only the required fields; returns its id.
    pub async fn some_client(&self, first: &str, last: &str) -> String {
        let c = self.create_client(client_body(first, last)).await;
        id_of(&c)
    }

    /// A cat of `client_id` with only the required fields; returns its id.
    pub async fn some_patient(&self, client_id: &str, name: &str) -> String {
        let p = self.create_patient(json!({"client_id": client_id, "name": name})).await;
        id_of(&p)
    }

    /// GET `path` expecting 200 JSON.
    /// Polls `GET path` until `done` accepts the answer, within 30 s.
    pub async fn poll_json(&self, path: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let v = self.get_json(path).await;
            if done(&v) {
                return v;
            }
            assert!(std::time::Instant::now() < deadline, "{path} never got there: {v}");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    pub async fn get_json(&self, path: &str) -> Value {
        expect_json(self.get(path).await, StatusCode::OK).await
    }

    /// The ids of the first page of a list.
    pub async fn list_ids(&self, path: &str) -> Vec<String> {
        page_ids(&self.get_json(path).await)
    }

    /// Every item of a paginated list, following `next_cursor` with pages of `limit`.
    pub async fn walk(&self, path: &str, limit: usize) -> Vec<Value> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10_000 {
            let url = match &cursor {
                Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
                None => format!("{path}{sep}limit={limit}"),
            };
            let page = self.get_json(&url).await;
            let got = page["items"].as_array().expect("items").clone();
            assert!(got.len() <= limit, "a page of {} items with limit {limit}", got.len());
            items.extend(got);
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return items,
            }
        }
        panic!("pagination of {path} never ended");
    }

    /// `store.last_event_seq` of `/health/detailed`.
    pub async fn last_event_seq(&self) -> u64 {
        self.get_json("/health/detailed").await["store"]["last_event_seq"].as_u64().expect("last_event_seq is a number")
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> String {
        let resp = self.get("/metrics").await;
        assert_eq!(resp.status(), StatusCode::OK);
        resp.text().await.expect("metrics text")
    }
}

/// A create-client body with only the required fields.
pub fn client_body(first: &str, last: &str) -> Value {
    json!({"first_name": first, "last_name": last, "phone": "(503) 555-0199"})
}

/// The `id` of a record.
pub fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_owned()
}

/// The ids of a list's items, in order.
pub fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(id_of).collect()
}

/// The ids of the items of one page.
pub fn page_ids(page: &Value) -> Vec<String> {
    ids(page["items"].as_array().unwrap_or_else(|| panic!("no items in {page}")))
}

/// Asserts the status and returns the JSON body (shown when the status is wrong).
pub async fn expect_json(resp: Response, status: StatusCode) -> Value {
    let got = resp.status();
    let url = resp.url().to_string();
    let text = resp.text().await.expect("a body");
    assert_eq!(got, status, "{url}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: not JSON ({e}): {text}"))
}

/// Asserts an error answer: the status, a JSON content type, and a body of exactly
/// `{"error": {"code", "message", "field"?}}` with this code and field and a non-empty
/// message. Returns the `error` object.
pub async fn assert_error(resp: Response, status: StatusCode, code: &str, field: Option<&str>) -> Value {
    let got = resp.status();
    let url = resp.url().to_string();
    let content_type =
        resp.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let text = resp.text().await.expect("a body");
    assert_eq!(got, status, "{url}: {text}");
    assert!(content_type.starts_with("application/json"), "{url}: content type {content_type:?} of {text}");
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: not JSON ({e}): {text}"));
    let outer = body.as_object().unwrap_or_else(|| panic!("{url}: not an object: {text}"));
    assert_eq!(outer.len(), 1, "{url}: only `error` at the top: {text}");
    let error =
        outer.get("error").and_then(Value::as_object).unwrap_or_else(|| panic!("{url}: no error object: {text}"));
    for key in error.keys() {
        assert!(
            ["code", "message", "field", "details"].contains(&key.as_str()),
            "{url}: unexpected key {key:?}: {text}"
        );
    }
    assert_eq!(error.get("code").and_then(Value::as_str), Some(code), "{url}: {text}");
    let message = error.get("message").and_then(Value::as_str).unwrap_or("");
    assert!(!message.trim().is_empty(), "{url}: empty message: {text}");
    assert_eq!(error.get("field").and_then(Value::as_str), field, "{url}: {text}");
    if field.is_none() {
        assert!(!error.contains_key("field"), "{url}: field must be absent: {text}");
    }
    Value::Object(error.clone())
}

/// A syntactically valid client id that no record has.
pub const UNKNOWN_ID: &str = "01JD7Y2Q4Z8W3N5K6M7P8R9S0T";

/// Runs poppler's `pdftotext -layout` on `pdf`, or `None` (after saying so) when poppler is
/// missing and not required (`scripts/test` installs it and sets `CLOWDER_PDF_TESTS=1`).
pub fn pdf_text(pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("document.pdf");
    std::fs::write(&path, pdf).unwrap();
    match std::process::Command::new("pdftotext").args(["-layout", "-enc", "UTF-8"]).arg(&path).arg("-").output() {
        Ok(out) => {
            assert!(out.status.success(), "pdftotext failed: {}", String::from_utf8_lossy(&out.stderr));
            Some(String::from_utf8(out.stdout).expect("UTF-8 output"))
        }
        Err(e) => {
            assert!(std::env::var("CLOWDER_PDF_TESTS").is_err(), "pdftotext was not found ({e})");
            eprintln!("skipping the PDF reading: run scripts/test to install poppler-utils");
            None
        }
    }
}
