//! Trusted proxies: behind a reverse proxy named in `CLOWDER_TRUSTED_PROXIES` the client's
//! address comes from `X-Forwarded-For` / `Forwarded`, and that is what the audit trail and
//! the sign-in limiter see; from any other peer those headers are ignored.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, client_body, id_of};

/// The newest audit entry of `action` on `record`.
async fn newest(app: &TestApp, query: &str) -> Value {
    let page = app.get_json(&format!("/api/audit?{query}")).await;
    page["items"][0].clone()
}

async fn sign_in_from(app: &TestApp, forwarded_for: &str, username: &str, password: &str) -> StatusCode {
    app.anonymous(Method::POST, "/api/auth/login")
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn forwarding_headers_from_an_untrusted_peer_are_ignored() {
    let app = TestApp::signed_in().await;
    let client = id_of(&app.create_client(client_body("Spoof", "Ed")).await);
    let res = app
        .request(Method::GET, &format!("/api/clients/{client}"))
        .header("x-forwarded-for", "198.51.100.7")
        .header("forwarded", "for=198.51.100.8")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let read = newest(&app, &format!("record_id={client}&action=client.read")).await;
    assert_eq!(read["ip"], "127.0.0.1", "{read}");
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_audited_and_limited() {
    let app = TestApp::spawn_with(|a| {
        a.security.trusted_proxies = vec!["127.0.0.1".into()];
        a.security.login_attempts = 2;
    })
    .await;
    // The proxy appends the address it saw to whatever the client sent: the client is the
    // rightmost address that is not a trusted proxy.
    let res = app
        .anonymous(Method::POST, "/api/auth/login")
        .header("x-forwarded-for", "6.6.6.6, 198.51.100.7")
        .json(&json!({"username": "admin", "password": app.admin_password}))
        .send()
        .await
        .unwrap();
    let token = res.json::<Value>().await.unwrap()["token"].as_str().expect("signed in").to_owned();
    app.use_token(&token);
    let signed_in = newest(&app, "action=auth.login").await;
    assert_eq!(signed_in["ip"], "198.51.100.7", "{signed_in}");
    let client = id_of(&app.create_client(client_body("Proxied", "Pat")).await);
    let res = app
        .request(Method::GET, &format!("/api/clients/{client}"))
        .header("forwarded", r#"for="[2001:db8:cafe::17]:4711";proto=https"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let read = newest(&app, &format!("record_id={client}&action=client.read")).await;
    assert_eq!(read["ip"], "2001:db8:cafe::17", "{read}");

    // Each forwarded address has its own sign-in budget (2 per window here; usernames vary so
    // only the per-address limit applies).
    let wrong = "not-the-password-at-all";
    assert_eq!(sign_in_from(&app, "198.51.100.20", "nobody1", wrong).await, StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in_from(&app, "198.51.100.20", "nobody2", wrong).await, StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in_from(&app, "198.51.100.20", "nobody3", wrong).await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(sign_in_from(&app, "198.51.100.21", "nobody4", wrong).await, StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in_from(&app, "198.51.100.21", "nobody5", wrong).await, StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in_from(&app, "198.51.100.21", "nobody6", wrong).await, StatusCode::TOO_MANY_REQUESTS);
    let failed = newest(&app, "action=auth.login_failed").await;
    assert_eq!(failed["ip"], "198.51.100.21", "{failed}");
}
