//! HTTPS served by Clowder itself (`--tls-cert`/`--tls-key`): a real TLS client that trusts
//! only a certificate generated for the test talks to the real application; the session
//! cookie is Secure; plain HTTP and clients that do not trust the certificate get no answer;
//! bad certificate settings stop the start-up with an error naming the file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use reqwest::{StatusCode, header};
use serde_json::json;

use crate::helpers::{ADMIN_PASSWORD, default_args};

/// A self-signed certificate for `localhost` and `127.0.0.1`, as PEM files in `dir`.
struct TestCert {
    cert_pem: String,
    cert: PathBuf,
    key: PathBuf,
}

fn self_signed(dir: &Path) -> TestCert {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("a self-signed certificate");
    let cert_pem = generated.cert.pem();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, &cert_pem).expect("write cert.pem");
    std::fs::write(&key, generated.signing_key.serialize_pem()).expect("write key.pem");
    TestCert { cert_pem, cert, key }
}

/// The real application serving HTTPS on an ephemeral port of 127.0.0.1.
struct TlsApp {
    addr: SocketAddr,
    cert_pem: String,
    shutdown: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

impl TlsApp {
    async fn spawn() -> TlsApp {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let cert = self_signed(dir.path());
        let mut args = default_args(dir.path().join("data"));
        args.tls_cert = Some(cert.cert);
        args.tls_key = Some(cert.key);
        let settings = args.settings().expect("valid TLS settings");
        let app = clowder::Application::build(settings).await.expect("the application starts");
        let addr = app.local_addr();
        let (shutdown, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async move {
            let _ = rx.await;
        }));
        TlsApp { addr, cert_pem: cert.cert_pem, shutdown, server, _dir: dir }
    }

    /// `https://localhost:<port>/path`; the client resolves `localhost` to the server.
    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }

    /// A rustls (ring) client that trusts only the test certificate and keeps cookies.
    fn trusting_client(&self) -> reqwest::Client {
        let cert = reqwest::Certificate::from_pem(self.cert_pem.as_bytes()).expect("the test certificate");
        client_builder().tls_certs_only([cert]).build().expect("an HTTPS client")
    }

    /// Shuts down like SIGTERM does and waits for the server to finish.
    async fn stop(self) {
        let _ = self.shutdown.send(());
        self.server.await.expect("the server task").expect("a clean shutdown");
    }
}

/// rustls (the process's ring provider); `localhost` resolves to 127.0.0.1 only.
fn client_builder() -> reqwest::ClientBuilder {
    // reqwest's `rustls-no-provider` uses the process's default provider: ring, as the server.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .tls_backend_rustls()
        .cookie_store(true)
        .timeout(Duration::from_secs(10))
        .resolve("localhost", SocketAddr::from(([127, 0, 0, 1], 0)))
}

#[tokio::test]
async fn health_answers_over_https_to_a_client_trusting_the_certificate() {
    let app = TlsApp::spawn().await;
    let client = app.trusting_client();

    let by_name = client.get(app.url("/health")).send().await.expect("GET /health over https");
    assert_eq!(by_name.status(), StatusCode::OK);
    // The server offers h2 and http/1.1 by ALPN; reqwest (with HTTP/2 on) takes h2.
    assert_eq!(by_name.version(), reqwest::Version::HTTP_2);
    // Over TLS, browsers are told to stay on HTTPS.
    let hsts = by_name.headers()["strict-transport-security"].to_str().unwrap().to_owned();
    assert!(hsts.starts_with("max-age=31536000"), "{hsts}");
    // The certificate names the address too.
    let by_ip = client.get(format!("https://{}/health", app.addr)).send().await.expect("GET https://127.0.0.1");
    assert_eq!(by_ip.status(), StatusCode::OK);

    app.stop().await;
}

#[tokio::test]
async fn sign_in_over_https_sets_a_secure_cookie_that_authenticates() {
    let app = TlsApp::spawn().await;
    let client = app.trusting_client();

    let resp = client
        .post(app.url("/api/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("login over https");

    assert_eq!(resp.status(), StatusCode::OK);
    let cookie = resp.headers()[header::SET_COOKIE].to_str().expect("an ASCII cookie").to_owned();
    let attrs: Vec<&str> = cookie.split(';').map(str::trim).collect();
    assert!(attrs[0].starts_with("clowder_session="), "{cookie}");
    assert!(attrs.contains(&"Secure"), "Secure without CLOWDER_SECURE_COOKIES: {cookie}");
    assert!(attrs.contains(&"HttpOnly"), "{cookie}");
    // The client sends the Secure cookie back over https.
    let me = client.get(app.url("/api/auth/me")).send().await.expect("GET /api/auth/me");
    assert_eq!(me.status(), StatusCode::OK);

    app.stop().await;
}

#[tokio::test]
async fn plain_http_and_untrusting_clients_get_no_answer_and_the_server_carries_on() {
    let app = TlsApp::spawn().await;

    let plain = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("an HTTP client");
    let err =
        plain.get(format!("http://{}/health", app.addr)).send().await.expect_err("no HTTP answer on the TLS port");
    assert!(!err.is_timeout(), "the server should drop the connection, not hang: {err:?}");

    let untrusting = client_builder().build().expect("an HTTPS client with the system's roots only");
    let err = untrusting.get(app.url("/health")).send().await.expect_err("the handshake fails");
    assert!(format!("{err:?}").contains("UnknownIssuer"), "a certificate error: {err:?}");

    // Another certificate for the same names is not the one the client trusts.
    let other = self_signed(tempfile::tempdir().expect("a temporary directory").path());
    let wrong_trust = client_builder()
        .tls_certs_only([reqwest::Certificate::from_pem(other.cert_pem.as_bytes()).expect("a certificate")])
        .build()
        .expect("an HTTPS client");
    wrong_trust.get(app.url("/health")).send().await.expect_err("the handshake fails");

    let ok = app.trusting_client().get(app.url("/health")).send().await.expect("GET /health after the failures");
    assert_eq!(ok.status(), StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn an_idle_https_keep_alive_connection_does_not_hold_up_shutdown() {
    let app = TlsApp::spawn().await;
    let client = app.trusting_client();
    let resp = client.get(app.url("/health")).send().await.expect("GET /health");
    assert_eq!(resp.status(), StatusCode::OK);

    // The client keeps its connection open; a graceful shutdown closes idle connections at
    // once instead of waiting for the 8 s drain bound.
    let stopped = tokio::time::timeout(Duration::from_secs(5), app.stop()).await;
    assert!(stopped.is_ok(), "the HTTPS server took the whole drain bound to stop");
    drop(client);
}

#[test]
fn tls_settings_force_the_secure_cookie_and_show_in_check_config() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let cert = self_signed(dir.path());
    let mut args = default_args(dir.path().join("data"));
    args.tls_cert = Some(cert.cert.clone());
    args.tls_key = Some(cert.key.clone());

    let settings = args.settings().expect("valid TLS settings");

    assert!(settings.web.tls);
    assert!(settings.web.secure_cookies);
    // Column widths aside.
    let described = settings.describe().split(' ').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ");
    assert!(described.contains(&format!("CLOWDER_TLS_CERT = {}\n", cert.cert.display())), "{described}");
    assert!(described.contains(&format!("CLOWDER_TLS_KEY = {}\n", cert.key.display())), "{described}");
    assert!(!described.contains("PRIVATE KEY"), "{described}");

    let plain = default_args(dir.path().join("data")).settings().expect("valid settings");
    assert!(!plain.web.tls);
    assert!(!plain.web.secure_cookies);
    assert!(
        plain
            .describe()
            .split(' ')
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
            .contains("CLOWDER_TLS_CERT = (not set: plain HTTP)")
    );
}

#[test]
fn tls_cert_and_key_go_together() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let cert = self_signed(dir.path());

    for (tls_cert, tls_key) in [(Some(cert.cert.clone()), None), (None, Some(cert.key.clone()))] {
        let mut args = default_args(dir.path().join("data"));
        args.tls_cert = tls_cert;
        args.tls_key = tls_key;
        let err = args.settings().expect_err("one without the other is refused").to_string();
        assert!(err.contains("CLOWDER_TLS_CERT and CLOWDER_TLS_KEY go together"), "{err}");
    }
}

#[test]
fn unreadable_or_invalid_pem_stops_the_start_up_naming_the_file() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let good = self_signed(dir.path());
    let other_dir = tempfile::tempdir().expect("a temporary directory");
    let other = self_signed(other_dir.path());
    let missing = dir.path().join("missing.pem");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n").expect("write garbage.pem");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").expect("write empty.pem");

    let check = |cert: &Path, key: &Path, named: &Path, says: &str| {
        let mut args = default_args(dir.path().join("data"));
        args.tls_cert = Some(cert.to_owned());
        args.tls_key = Some(key.to_owned());
        let err = format!("{:#}", args.settings().expect_err("bad TLS files are refused"));
        assert!(err.contains(&named.display().to_string()), "names {}: {err}", named.display());
        assert!(err.contains(says), "says {says:?}: {err}");
    };
    check(&missing, &good.key, &missing, "CLOWDER_TLS_CERT: cannot read");
    check(&good.cert, &missing, &missing, "CLOWDER_TLS_KEY: cannot read");
    check(&garbage, &good.key, &garbage, "is not valid PEM: no closing line for a CERTIFICATE section");
    check(&empty, &good.key, &empty, "holds no PEM certificate");
    check(&good.cert, &good.cert, &good.cert, "holds no unencrypted PEM private key");
    check(&good.cert, &empty, &empty, "holds no unencrypted PEM private key");
    check(&good.cert, &other.key, &other.key, "is unusable with the certificate");
}

/// ARCHITECTURE.md: one rustls crypto provider (ring) for every crate, so aws-lc is never
/// compiled, by any target of any workspace crate.
#[test]
fn only_the_ring_crypto_provider_is_compiled() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "--workspace", "--target", "all", "-e", "normal,build,dev", "--prefix", "none"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(out.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
    let tree = String::from_utf8(out.stdout).expect("cargo tree prints UTF-8");
    let aws_lc: Vec<&str> = tree.lines().filter(|l| l.starts_with("aws-lc")).collect();
    assert!(aws_lc.is_empty(), "aws-lc is compiled: {aws_lc:?}");
    assert!(tree.lines().any(|l| l.starts_with("ring ")), "ring is not in the tree");
}
