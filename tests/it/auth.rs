//! Sign-in, sessions (cookie and bearer), sign-out, and the authentication gate of `/api/`.

use reqwest::{Method, StatusCode, header};
use serde_json::json;

use crate::helpers::{TestApp, UNKNOWN_ID, assert_error, expect_json};

#[tokio::test]
async fn login_returns_the_user_a_token_and_the_session() {
    let app = TestApp::spawn().await;

    // Usernames are compared case-insensitively, ignoring surrounding blanks.
    let resp = app.login(" ADMIN ", &app.admin_password).await;
    let body = expect_json(resp, StatusCode::OK).await;

    assert_eq!(body["user"]["username"], "admin");
    assert!(body["user"]["roles"].as_array().unwrap().contains(&json!("administrator")));
    assert!(body["user"].get("password_hash").is_none(), "{body}");
    assert!(body["token"].as_str().is_some_and(|t| t.len() >= 32), "{body}");
    assert!(body["session"]["id"].is_string(), "{body}");
    assert!(body["session"]["expires_at"].is_string(), "{body}");
    assert!(body["session"].get("token_hash").is_none(), "{body}");
}

#[tokio::test]
async fn login_sets_an_http_only_same_site_strict_cookie_without_secure() {
    let app = TestApp::spawn().await;

    let resp = app.login("admin", &app.admin_password).await;

    assert_eq!(resp.status(), StatusCode::OK);
    let cookie = resp.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
    let token = resp.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let attrs: Vec<&str> = cookie.split(';').map(str::trim).collect();
    assert_eq!(attrs[0], format!("clowder_session={token}"), "{cookie}");
    assert!(attrs.contains(&"HttpOnly"), "{cookie}");
    assert!(attrs.contains(&"SameSite=Strict"), "{cookie}");
    assert!(attrs.contains(&"Path=/"), "{cookie}");
    assert!(!attrs.iter().any(|a| a.eq_ignore_ascii_case("secure")), "{cookie}");
}

#[tokio::test]
async fn secure_cookies_setting_marks_the_cookie_secure() {
    let app = TestApp::spawn_with(|args| args.secure_cookies = true).await;

    let resp = app.login("admin", &app.admin_password).await;

    assert_eq!(resp.status(), StatusCode::OK);
    let cookie = resp.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.split(';').any(|a| a.trim() == "Secure"), "{cookie}");
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_identical_401_bodies_and_no_cookie() {
    let app = TestApp::spawn().await;

    let wrong_password = app.login("admin", "not-the-password-at-all").await;
    let unknown_user = app.login("nobody", "not-the-password-at-all").await;
    let invalid_username = app.login("!!", "x").await;

    for resp in [&wrong_password, &unknown_user, &invalid_username] {
        assert!(resp.headers().get(header::SET_COOKIE).is_none(), "{}", resp.url());
    }
    let a = assert_error(wrong_password, StatusCode::UNAUTHORIZED, "invalid_credentials", None).await;
    let b = assert_error(unknown_user, StatusCode::UNAUTHORIZED, "invalid_credentials", None).await;
    let c = assert_error(invalid_username, StatusCode::UNAUTHORIZED, "invalid_credentials", None).await;
    assert_eq!(a, b);
    assert_eq!(a, c);
    assert_eq!(app.get("/api/auth/me").await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_session_cookie_alone_authenticates() {
    let app = TestApp::spawn().await;
    let login = expect_json(app.login("admin", &app.admin_password).await, StatusCode::OK).await;

    // `app.client` keeps the cookie; no bearer token is stored on this app.
    let me = expect_json(app.get("/api/auth/me").await, StatusCode::OK).await;

    assert_eq!(me["user"]["username"], "admin");
    assert_eq!(me["session"]["id"], login["session"]["id"]);
}

#[tokio::test]
async fn the_bearer_token_alone_authenticates() {
    let app = TestApp::spawn().await;
    let login = expect_json(app.login("admin", &app.admin_password).await, StatusCode::OK).await;
    let token = login["token"].as_str().unwrap();

    let resp = app.anonymous(Method::GET, "/api/auth/me").bearer_auth(token).send().await.unwrap();

    let me = expect_json(resp, StatusCode::OK).await;
    assert_eq!(me["user"]["id"], login["user"]["id"]);
    assert_eq!(me["session"]["id"], login["session"]["id"]);
}

#[tokio::test]
async fn a_garbage_or_oversized_bearer_token_is_401() {
    let app = TestApp::spawn().await;

    for token in ["nope", "", &"A".repeat(5000)] {
        let resp = app
            .anonymous(Method::GET, "/api/auth/me")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .send()
            .await
            .unwrap();
        assert_error(resp, StatusCode::UNAUTHORIZED, "unauthenticated", None).await;
    }
    let resp = app
        .anonymous(Method::GET, "/api/auth/me")
        .header(header::COOKIE, "clowder_session=forged")
        .send()
        .await
        .unwrap();
    assert_error(resp, StatusCode::UNAUTHORIZED, "unauthenticated", None).await;
}

#[tokio::test]
async fn logout_is_204_and_ends_the_session_for_cookie_and_bearer() {
    let app = TestApp::spawn().await;
    let login = app.login_admin().await;
    let token = login["token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/auth/me").await.status(), StatusCode::OK);

    let resp = app.request(Method::POST, "/api/auth/logout").send().await.unwrap();

    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let cleared = resp.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cleared.starts_with("clowder_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    // The old token, sent as a bearer token and as a cookie, no longer works.
    let by_bearer = app.anonymous(Method::GET, "/api/auth/me").bearer_auth(&token).send().await.unwrap();
    assert_error(by_bearer, StatusCode::UNAUTHORIZED, "unauthenticated", None).await;
    let by_cookie = app
        .anonymous(Method::GET, "/api/clients")
        .header(header::COOKIE, format!("clowder_session={token}"))
        .send()
        .await
        .unwrap();
    assert_error(by_cookie, StatusCode::UNAUTHORIZED, "unauthenticated", None).await;
}

#[tokio::test]
async fn logging_out_one_session_leaves_the_others_signed_in() {
    let app = TestApp::spawn().await;
    let first = expect_json(app.login("admin", &app.admin_password).await, StatusCode::OK).await;
    let second = expect_json(app.login("admin", &app.admin_password).await, StatusCode::OK).await;
    let (t1, t2) = (first["token"].as_str().unwrap(), second["token"].as_str().unwrap());
    assert_ne!(t1, t2);
    assert_ne!(first["session"]["id"], second["session"]["id"]);

    let out = app.anonymous(Method::POST, "/api/auth/logout").bearer_auth(t1).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);

    let me1 = app.anonymous(Method::GET, "/api/auth/me").bearer_auth(t1).send().await.unwrap();
    assert_eq!(me1.status(), StatusCode::UNAUTHORIZED);
    let me2 = app.anonymous(Method::GET, "/api/auth/me").bearer_auth(t2).send().await.unwrap();
    assert_eq!(me2.status(), StatusCode::OK);
}

#[tokio::test]
async fn login_body_problems_are_reported_like_every_other_error() {
    let app = TestApp::spawn().await;

    let missing =
        app.anonymous(Method::POST, "/api/auth/login").json(&json!({"username": "admin"})).send().await.unwrap();
    assert_error(missing, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("password")).await;

    let form = app
        .anonymous(Method::POST, "/api/auth/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("username=admin&password=x")
        .send()
        .await
        .unwrap();
    assert_error(form, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", None).await;

    let broken = app
        .anonymous(Method::POST, "/api/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .unwrap();
    assert_error(broken, StatusCode::BAD_REQUEST, "invalid_json", None).await;
}

/// Every `/api/` route but sign-in needs a session, whatever the method, known route or
/// not, so an unauthenticated caller learns nothing about the API.
#[tokio::test]
async fn every_api_route_and_method_without_a_session_is_401() {
    let app = TestApp::spawn().await;
    let client = format!("/api/clients/{UNKNOWN_ID}");
    let patient = format!("/api/patients/{UNKNOWN_ID}");
    let client_cats = format!("/api/clients/{UNKNOWN_ID}/patients");
    let table: Vec<(Method, &str)> = vec![
        (Method::GET, "/api/auth/me"),
        (Method::POST, "/api/auth/logout"),
        (Method::GET, "/api/clients"),
        (Method::POST, "/api/clients"),
        (Method::PUT, "/api/clients"),
        (Method::GET, &client),
        (Method::PATCH, &client),
        (Method::DELETE, &client),
        (Method::GET, &client_cats),
        (Method::GET, "/api/clients/not-an-id"),
        (Method::GET, "/api/patients"),
        (Method::POST, "/api/patients"),
        (Method::GET, &patient),
        (Method::PATCH, &patient),
        (Method::DELETE, &patient),
        (Method::GET, "/api/openapi.json"),
        (Method::GET, "/api/does-not-exist"),
        (Method::POST, "/api/does-not-exist"),
        (Method::DELETE, "/api/admin/users"),
        (Method::GET, "/api/"),
    ];
    for (method, path) in table {
        let resp = app
            .anonymous(method.clone(), path)
            .json(&json!({"first_name": "A", "last_name": "B", "phone": "5035550199"}))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_error(resp, StatusCode::UNAUTHORIZED, "unauthenticated", None).await;
    }
}

#[tokio::test]
async fn a_session_grants_access_to_the_api() {
    let app = TestApp::signed_in().await;

    for path in ["/api/clients", "/api/patients", "/api/openapi.json", "/api/auth/me"] {
        assert_eq!(app.get(path).await.status(), StatusCode::OK, "{path}");
    }
}
