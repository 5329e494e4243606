//! Secrets stay secret: the real binary runs with debug logging, goes through every path a
//! password or a session token travels (sign-in right and wrong, a new user's temporary
//! password, changing it, an administrator's reset, bearer requests, a forged token,
//! sign-out), and then neither its whole output (stdout and stderr) nor the audit trail
//! holds any of those secrets.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::oneshot;

const ADMIN_PASSWORD: &str = "orchid-Vk29p-first-pass";
const WRONG_PASSWORD: &str = "wrong-secret-Zq81x";
const TEMPORARY_PASSWORD: &str = "temp-Hx47w-first-phrase";
/// Refused as too short, but a secret all the same.
const REFUSED_PASSWORD: &str = "sh0rt-Kp2";
const CHANGED_PASSWORD: &str = "changed-Rb63m-own-phrase";
const RESET_PASSWORD: &str = "reset-Tn58c-admin-phrase";
const FAKE_TOKEN: &str = "fake-token-Wd94j-never-issued";
const USERNAME: &str = "secret.keeper";

type Output = Arc<Mutex<Vec<u8>>>;

/// The address in a "clowder is ready" JSON log line.
fn ready_addr(line: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(line).ok()?;
    (v["message"] == "clowder is ready").then(|| v["addr"].as_str().map(str::to_owned)).flatten()
}

/// Copies every line of `from` into `out` until the stream ends; the first ready line's
/// address goes to `ready`.
async fn capture(mut from: impl AsyncBufRead + Unpin, out: Output, mut ready: Option<oneshot::Sender<String>>) {
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = from.read_until(b'\n', &mut line).await.expect("reading the server's output");
        if n == 0 {
            return;
        }
        out.lock().unwrap().extend_from_slice(&line);
        if let Some(addr) = ready_addr(&line)
            && let Some(tx) = ready.take()
        {
            let _ = tx.send(addr);
        }
    }
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.lock().unwrap()).into_owned()
}

async fn sign_in(http: &reqwest::Client, base: &str, username: &str, password: &str) -> String {
    let res = http
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "signing in as {username}");
    res.json::<Value>().await.unwrap()["token"].as_str().expect("the login answer has a token").to_owned()
}

async fn get(http: &reqwest::Client, base: &str, path: &str, token: &str) -> StatusCode {
    http.get(format!("{base}{path}")).bearer_auth(token).send().await.unwrap().status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_logs_or_the_audit_trail() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_clowder"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("CLOWDER_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("CLOWDER_LOG", "json")
        .env("RUST_LOG", "debug")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the clowder binary starts");
    let output: Output = Arc::default();
    let (ready_tx, ready_rx) = oneshot::channel();
    let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let stderr = BufReader::new(child.stderr.take().expect("stderr is piped"));
    let readers = [
        tokio::spawn(capture(stdout, output.clone(), Some(ready_tx))),
        tokio::spawn(capture(stderr, output.clone(), None)),
    ];
    let addr = match tokio::time::timeout(Duration::from_secs(30), ready_rx).await {
        Ok(Ok(addr)) => addr,
        Ok(Err(_)) => panic!("the server exited before it was ready:\n{}", text(&output)),
        Err(_) => panic!("the server was not ready within 30 s:\n{}", text(&output)),
    };
    let base = format!("http://{addr}");
    // reqwest's TLS needs the process's crypto provider: ring, as the server.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let mut tokens = Vec::new();

    // The administrator signs in; a wrong password is refused, for a known and an unknown user.
    let admin = sign_in(&http, &base, "admin", ADMIN_PASSWORD).await;
    tokens.push(admin.clone());
    for username in ["admin", "nobody.at.all"] {
        let res = http
            .post(format!("{base}/api/auth/login"))
            .json(&json!({"username": username, "password": WRONG_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "a wrong password for {username}");
    }

    // A new user with a temporary password signs in and chooses their own (after a wrong
    // current password and a refused weak one).
    let res = http
        .post(format!("{base}/api/users"))
        .bearer_auth(&admin)
        .json(&json!({"username": USERNAME, "display_name": "Secret Keeper", "password": TEMPORARY_PASSWORD, "roles": ["receptionist"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let user_id = res.json::<Value>().await.unwrap()["id"].as_str().expect("the new user's id").to_owned();
    let first = sign_in(&http, &base, USERNAME, TEMPORARY_PASSWORD).await;
    tokens.push(first.clone());
    for (current, new, status) in [
        (WRONG_PASSWORD, CHANGED_PASSWORD, StatusCode::UNPROCESSABLE_ENTITY),
        (TEMPORARY_PASSWORD, REFUSED_PASSWORD, StatusCode::UNPROCESSABLE_ENTITY),
        (TEMPORARY_PASSWORD, CHANGED_PASSWORD, StatusCode::NO_CONTENT),
    ] {
        let res = http
            .post(format!("{base}/api/auth/password"))
            .bearer_auth(&first)
            .json(&json!({"current_password": current, "new_password": new}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status, "changing {current} to {new}");
    }
    let changed = sign_in(&http, &base, USERNAME, CHANGED_PASSWORD).await;
    tokens.push(changed.clone());
    assert_eq!(get(&http, &base, "/api/clients", &changed).await, StatusCode::OK);

    // The administrator resets it; the user signs in with the reset password.
    let res = http
        .post(format!("{base}/api/users/{user_id}/password"))
        .bearer_auth(&admin)
        .json(&json!({"password": RESET_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let reset = sign_in(&http, &base, USERNAME, RESET_PASSWORD).await;
    tokens.push(reset.clone());

    // Bearer requests: good tokens, ended ones, and one never issued.
    assert_eq!(get(&http, &base, "/api/auth/me", &admin).await, StatusCode::OK);
    assert_eq!(get(&http, &base, "/api/clients", &admin).await, StatusCode::OK);
    assert_eq!(get(&http, &base, "/api/auth/me", &reset).await, StatusCode::OK);
    assert_eq!(get(&http, &base, "/api/clients", &reset).await, StatusCode::FORBIDDEN, "must change the password");
    assert_eq!(get(&http, &base, "/api/auth/me", &changed).await, StatusCode::UNAUTHORIZED, "ended by the reset");
    assert_eq!(get(&http, &base, "/api/auth/me", FAKE_TOKEN).await, StatusCode::UNAUTHORIZED);
    assert_eq!(get(&http, &base, "/api/clients", FAKE_TOKEN).await, StatusCode::UNAUTHORIZED);

    // A tablet credential, a TOTP secret and recovery codes are secrets too.
    let res = http
        .post(format!("{base}/api/devices"))
        .bearer_auth(&admin)
        .json(&json!({"name": "Tablet 1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let credential = res.json::<Value>().await.unwrap()["credential"].as_str().unwrap().to_owned();
    let res = http
        .post(format!("{base}/api/auth/totp/enroll"))
        .bearer_auth(&admin)
        .json(&json!({"password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    let totp_secret = res.json::<Value>().await.unwrap()["secret"].as_str().unwrap().to_owned();
    let code = {
        use clowder_actors::Clock;
        let bytes = clowder_actors::staff::totp::decode_base32(&totp_secret).unwrap();
        let now = clowder_actors::SystemClock.now().as_second() as u64;
        clowder_actors::staff::totp::code_at(&bytes, now).unwrap()
    };
    let res = http
        .post(format!("{base}/api/auth/totp/confirm"))
        .bearer_auth(&admin)
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap();
    let recovery: Vec<String> = res.json::<Value>().await.unwrap()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    // Turned off again with a recovery code, so the auditor below signs in with a password.
    let res = http
        .delete(format!("{base}/api/auth/totp"))
        .bearer_auth(&admin)
        .json(&json!({"password": ADMIN_PASSWORD, "code": recovery[0]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    // Everyone signs out; the administrator signs in again to read the audit trail.
    for token in [&reset, &admin] {
        let res = http.post(format!("{base}/api/auth/logout")).bearer_auth(token).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }
    let auditor = sign_in(&http, &base, "admin", ADMIN_PASSWORD).await;
    tokens.push(auditor.clone());
    let res = http.get(format!("{base}/api/audit?limit=200")).bearer_auth(&auditor).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let audit: Value = res.json().await.unwrap();
    let audit = serde_json::to_string(&audit).unwrap();

    // SIGTERM, then the rest of the output up to the process's end.
    let pid = child.id().expect("the server is running").to_string();
    let sent = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(sent.success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("the server exits within 10 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "exit status {status}");
    for reader in readers {
        tokio::time::timeout(Duration::from_secs(10), reader)
            .await
            .expect("the output ends once the server has exited")
            .expect("reading the output");
    }
    let logs = text(&output);

    // The capture worked: it has the request lines, debug-level lines, and the trail is the
    // story of this test.
    assert!(logs.contains("request finished") && logs.contains("/api/auth/login"), "no request lines:\n{logs}");
    assert!(logs.contains("\"level\":\"DEBUG\""), "RUST_LOG=debug gave no debug lines:\n{logs}");
    assert!(logs.contains("store closed; goodbye"), "the output was cut short:\n{logs}");
    for action in [
        "auth.login_failed",
        "auth.password_change_failed",
        "auth.password_changed",
        "user.password_reset",
        "auth.logout",
    ] {
        assert!(audit.contains(action), "the audit trail has no {action}: {audit}");
    }
    assert!(audit.contains(USERNAME), "{audit}");

    let mut secrets: Vec<(&str, &str)> = vec![
        ("the administrator's password", ADMIN_PASSWORD),
        ("the wrong password", WRONG_PASSWORD),
        ("the temporary password", TEMPORARY_PASSWORD),
        ("the refused password", REFUSED_PASSWORD),
        ("the changed password", CHANGED_PASSWORD),
        ("the reset password", RESET_PASSWORD),
        ("the fake token", FAKE_TOKEN),
    ];
    secrets.push(("the tablet credential", &credential));
    secrets.push(("the TOTP secret", &totp_secret));
    for r in &recovery {
        secrets.push(("a recovery code", r));
    }
    for token in &tokens {
        secrets.push(("a session token", token));
        // A token cut short is still too much of it.
        secrets.push(("the start of a session token", &token[..16]));
        secrets.push(("the end of a session token", &token[token.len() - 16..]));
    }
    let mut leaks = Vec::new();
    for (what, secret) in &secrets {
        if logs.contains(secret) {
            leaks.push(format!("{what} ({secret}) is in the log output"));
        }
        if audit.contains(secret) {
            leaks.push(format!("{what} ({secret}) is in the audit trail"));
        }
    }
    assert!(leaks.is_empty(), "secrets leaked:\n{}\n\nlogs:\n{logs}\n\naudit:\n{audit}", leaks.join("\n"));
}
