//! Malformed input of every kind gets the one error shape with the right status, never a
//! 500 and never a bare framework answer; odd but valid text round-trips unchanged.

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{TestApp, assert_error, client_body, expect_json, id_of};

/// Posts raw bytes to `path` with a content type (or none).
async fn post_raw(
    app: &TestApp,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let mut rb = app.request(Method::POST, path).body(body);
    if let Some(ct) = content_type {
        rb = rb.header(header::CONTENT_TYPE, ct);
    }
    rb.send().await.expect("POST")
}

#[tokio::test]
async fn malformed_json_is_400_invalid_json() {
    let app = TestApp::signed_in().await;
    let id = app.some_client("Jane", "Doe").await;
    let bodies = [
        "{",
        "",
        "   ",
        "{\"first_name\": \"Jane\",}",
        "{\"first_name\": \"Jane\", \"last_name\": \"Doe\", \"phone\": \"5035550199\"} trailing",
        "{'first_name': 'Jane'}",
        "nul",
        "\u{feff}{}",
    ];
    for body in bodies {
        let resp = post_raw(&app, "/api/clients", Some("application/json"), body).await;
        assert_error(resp, StatusCode::BAD_REQUEST, "invalid_json", None).await;
        let resp = app
            .request(Method::PATCH, &format!("/api/clients/{id}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_error(resp, StatusCode::BAD_REQUEST, "invalid_json", None).await;
    }
    let resp = post_raw(&app, "/api/patients", Some("application/json"), "{\"name\": ").await;
    assert_error(resp, StatusCode::BAD_REQUEST, "invalid_json", None).await;

    let not_utf8 = b"{\"first_name\": \"J\xff\xfe\", \"last_name\": \"Doe\", \"phone\": \"5035550199\"}".to_vec();
    let resp = post_raw(&app, "/api/clients", Some("application/json"), not_utf8).await;
    assert_error(resp, StatusCode::BAD_REQUEST, "invalid_json", None).await;
}

#[tokio::test]
async fn a_json_value_that_is_not_an_object_is_422() {
    let app = TestApp::signed_in().await;

    for body in ["null", "42", "\"Jane\"", "true"] {
        let resp = post_raw(&app, "/api/clients", Some("application/json"), body).await;
        assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", None).await;
    }
}

/// Nesting deep enough to overflow a naive recursive parser: refused (or skipped), and the
/// server keeps answering.
#[tokio::test]
async fn deeply_nested_json_does_not_crash_the_server() {
    let app = TestApp::signed_in().await;
    let deep = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));

    let top_level = post_raw(&app, "/api/clients", Some("application/json"), deep(100_000)).await;
    assert!(top_level.status().is_client_error(), "{}", top_level.status());
    let in_a_field = format!(
        "{{\"first_name\": \"Jane\", \"last_name\": \"Doe\", \"phone\": \"5035550199\", \"notes\": {}}}",
        deep(100_000)
    );
    let resp = post_raw(&app, "/api/clients", Some("application/json"), in_a_field).await;
    assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("notes")).await;

    assert_eq!(app.get("/health").await.status(), StatusCode::OK, "the server still answers");
    assert_eq!(app.get_json("/api/clients").await["items"], json!([]));
}

#[tokio::test]
async fn a_repeated_key_is_422_naming_it() {
    let app = TestApp::signed_in().await;

    let body =
        "{\"first_name\": \"Jane\", \"first_name\": \"Joan\", \"last_name\": \"Doe\", \"phone\": \"5035550199\"}";
    let resp = post_raw(&app, "/api/clients", Some("application/json"), body).await;

    assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("first_name")).await;
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let app = TestApp::signed_in().await;
    let json_text = client_body("Jane", "Doe").to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/jsonx"),
        Some("text/json"),
        Some("application/xml"),
    ] {
        let resp = post_raw(&app, "/api/clients", content_type, json_text.clone()).await;
        assert_error(resp, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", None).await;
    }
    assert_eq!(app.get_json("/api/clients").await["items"], json!([]));
}

#[tokio::test]
async fn json_media_types_with_parameters_or_suffixes_are_accepted() {
    let app = TestApp::signed_in().await;
    let json_text = client_body("Jane", "Doe").to_string();

    let charset = post_raw(&app, "/api/clients", Some("Application/JSON; charset=utf-8"), json_text).await;
    let created = expect_json(charset, StatusCode::CREATED).await;

    let merge_patch = app
        .request(Method::PATCH, &format!("/api/clients/{}", id_of(&created)))
        .header(header::CONTENT_TYPE, "application/merge-patch+json")
        .body("{\"notes\": \"via merge patch\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(expect_json(merge_patch, StatusCode::OK).await["notes"], "via merge patch");
}

#[tokio::test]
async fn a_body_over_1_mib_is_413_and_one_just_under_is_read() {
    let app = TestApp::signed_in().await;
    let body_with_notes = |n: usize| {
        json!({"first_name": "Jane", "last_name": "Doe", "phone": "5035550199", "notes": "x".repeat(n)}).to_string()
    };
    let over = body_with_notes(1 << 20);
    let under = body_with_notes((1 << 20) - 200);
    assert!(over.len() > 1 << 20 && under.len() <= 1 << 20);

    let resp = post_raw(&app, "/api/clients", Some("application/json"), over).await;
    assert_error(resp, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", None).await;

    // Read in full, then refused for what it says: notes longer than 10,000 characters.
    let resp = post_raw(&app, "/api/clients", Some("application/json"), under).await;
    assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("notes")).await;
    assert_eq!(app.get_json("/api/clients").await["items"], json!([]));
}

/// A chunked upload has no Content-Length to refuse up front; the limit still holds.
#[tokio::test]
async fn a_chunked_body_over_1_mib_is_413() {
    let app = TestApp::signed_in().await;
    let token = app.token().unwrap();
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/clients HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        app.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b' '; 64 * 1024];
    // The server may answer and stop reading before the whole body is sent.
    for _ in 0..20 {
        let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
        framed.extend_from_slice(&chunk);
        framed.extend_from_slice(b"\r\n");
        if stream.write_all(&framed).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;

    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"code\":\"payload_too_large\""), "{answer}");
}

#[tokio::test]
async fn unknown_routes_with_a_session_are_404_not_found_json() {
    let app = TestApp::signed_in().await;

    for path in
        ["/api/nope", "/api/clients/x/y/z", "/api/patients/x/owner", "/nope", "/api", "/health/nope", "/assets/nope.js"]
    {
        let resp = app.get(path).await;
        assert_error(resp, StatusCode::NOT_FOUND, "not_found", None).await;
    }
    let resp = app.post_json("/api/nope", &json!({})).await;
    assert_error(resp, StatusCode::NOT_FOUND, "not_found", None).await;
}

#[tokio::test]
async fn a_wrong_method_is_405_method_not_allowed_json() {
    let app = TestApp::signed_in().await;
    let id = app.some_client("Jane", "Doe").await;
    let client = format!("/api/clients/{id}");
    let table: Vec<(Method, &str)> = vec![
        (Method::PUT, "/api/clients"),
        (Method::DELETE, "/api/clients"),
        (Method::PATCH, "/api/clients"),
        (Method::PUT, &client),
        (Method::POST, &client),
        (Method::PUT, "/api/patients"),
        (Method::PATCH, "/api/patients"),
        (Method::POST, "/api/auth/me"),
        (Method::GET, "/api/auth/logout"),
        (Method::GET, "/api/auth/login"),
        (Method::POST, "/health"),
        (Method::DELETE, "/metrics"),
        (Method::POST, "/api/openapi.json"),
    ];
    for (method, path) in table {
        let resp = app.request(method.clone(), path).json(&json!({})).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_error(resp, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", None).await;
    }

    // RFC 9110 §15.5.6: a 405 says which methods the route supports.
    let resp = app.put_json("/api/clients", &client_body("Jane", "Doe")).await;
    let allow = resp.headers().get(header::ALLOW).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let methods: Vec<&str> = allow.split(',').map(str::trim).collect();
    assert!(methods.contains(&"GET") && methods.contains(&"POST"), "Allow: {allow:?}");
}

#[tokio::test]
async fn ids_that_do_not_parse_are_404_never_500() {
    let app = TestApp::signed_in().await;
    let long = "a".repeat(1000);
    let odd_ids = [
        "abc",
        "0",
        "-1",
        "%20",
        "%00",
        "..%2F..%2Fetc%2Fpasswd",
        "%F0%9F%98%BA",
        "8ZZZZZZZZZZZZZZZZZZZZZZZZZ",
        "01jd7y2q4z8w3n5k6m7p8r9s0t!",
        "'%20OR%201=1",
        long.as_str(),
    ];
    for id in odd_ids {
        let resp = app.get(&format!("/api/clients/{id}")).await;
        assert_error(resp, StatusCode::NOT_FOUND, "client_not_found", None).await;
        let resp = app.get(&format!("/api/clients/{id}/patients")).await;
        assert_error(resp, StatusCode::NOT_FOUND, "client_not_found", None).await;
        let resp = app.get(&format!("/api/patients/{id}")).await;
        assert_error(resp, StatusCode::NOT_FOUND, "patient_not_found", None).await;
        let resp = app.delete(&format!("/api/patients/{id}")).await;
        assert_error(resp, StatusCode::NOT_FOUND, "patient_not_found", None).await;
    }
}

/// A path segment that is not valid UTF-8 once percent-decoded is still just an id that
/// does not exist, in the one error shape (not the framework's plain-text 400).
#[tokio::test]
async fn an_id_that_is_not_utf8_is_404_json() {
    let app = TestApp::signed_in().await;

    let resp = app.get("/api/clients/%FF%FE").await;
    assert_error(resp, StatusCode::NOT_FOUND, "client_not_found", None).await;
    let resp = app.get("/api/patients/%C3%28").await;
    assert_error(resp, StatusCode::NOT_FOUND, "patient_not_found", None).await;
}

#[tokio::test]
async fn a_10_kb_string_in_a_name_field_is_422_not_500() {
    let app = TestApp::signed_in().await;
    let owner = app.some_client("Jane", "Doe").await;
    let huge = "é".repeat(10 * 1024);

    let mut body = client_body("Jane", "Doe");
    body["first_name"] = json!(huge);
    let resp = app.post_json("/api/clients", &body).await;
    assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("first_name")).await;

    let resp = app.patch_json(&format!("/api/clients/{owner}"), &json!({"last_name": huge})).await;
    assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("last_name")).await;

    let resp = app.post_json("/api/patients", &json!({"client_id": owner, "name": huge})).await;
    assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("name")).await;

    let resp = app.request(Method::GET, "/api/clients").query(&[("name", huge.as_str())]).send().await.unwrap();
    assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("name")).await;

    let resp = app.post_json("/api/auth/login", &json!({"username": huge, "password": huge})).await;
    assert_error(resp, StatusCode::UNAUTHORIZED, "invalid_credentials", None).await;

    // The limit is 100 characters, not bytes.
    let at_limit = app.create_client(client_body(&"ß".repeat(100), "Doe")).await;
    assert_eq!(at_limit["first_name"].as_str().unwrap().chars().count(), 100);
    let resp = app.post_json("/api/clients", &client_body(&"ß".repeat(101), "Doe")).await;
    assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("first_name")).await;
}

#[tokio::test]
async fn control_characters_in_names_are_422() {
    let app = TestApp::signed_in().await;

    for name in ["Jane\u{0}", "Jane\nDoe", "Ja\u{7}ne", "Jane\u{1b}[31m"] {
        let resp = app.post_json("/api/clients", &client_body(name, "Doe")).await;
        assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("first_name")).await;
    }
}

#[tokio::test]
async fn unicode_emoji_and_accents_round_trip() {
    let app = TestApp::signed_in().await;
    let body = json!({
        "first_name": "Zoë", "last_name": "Ñúñez-Łukasiewicz 😺", "phone": "5035550199",
        "email": "zoë@exämple.com",
        "address": {"line1": "Rua São João, 12º", "city": "São Paulo", "country": "BR"},
        "alerts": ["⚠️ morde às vezes"], "notes": "日本語のメモ\n二行目 — «ok»\t🐾",
        "tags": ["Ελληνικά"]
    });

    let client = app.create_client(body.clone()).await;
    for key in ["first_name", "last_name", "address", "alerts", "notes", "tags"] {
        assert_eq!(client[key], body[key], "{key}");
    }
    assert_eq!(client["email"], "zoë@exämple.com");
    let read = app.get_json(&format!("/api/clients/{}", id_of(&client))).await;
    assert_eq!(read, client);

    let cat = app
        .create_patient(json!({"client_id": id_of(&client), "name": "Mochi 🍡", "breed": "Chartreux",
                               "behavior_notes": "Ronronne très fort 💤"}))
        .await;
    let read_cat = app.get_json(&format!("/api/patients/{}", id_of(&cat))).await;
    assert_eq!(read_cat["name"], "Mochi 🍡");
    assert_eq!(read_cat["behavior_notes"], "Ronronne très fort 💤");

    let found = app.request(Method::GET, "/api/clients").query(&[("name", "ÑÚÑEZ")]).send().await.unwrap();
    let found: Value = expect_json(found, StatusCode::OK).await;
    assert_eq!(found["items"][0]["id"], client["id"]);
    let found_cat = app.request(Method::GET, "/api/patients").query(&[("name", "🍡")]).send().await.unwrap();
    assert_eq!(expect_json(found_cat, StatusCode::OK).await["items"][0]["id"], cat["id"]);
}

#[tokio::test]
async fn the_pages_are_served_with_a_strict_content_security_policy() {
    let app = TestApp::signed_in().await;
    let res = app.anonymous(reqwest::Method::GET, "/").send().await.unwrap();
    // `/` sends the browser on to the board, which without a session sends it to sign in.
    match res.status() {
        StatusCode::SEE_OTHER => assert_eq!(res.headers()["location"], "/board"),
        StatusCode::OK => assert_eq!(res.url().path(), "/signin"),
        other => panic!("/ answered {other}"),
    }
    for (path, kind) in [("/board", "text/html"), ("/signin", "text/html"), ("/assets/board.js", "text/javascript")] {
        let res = app.request(reqwest::Method::GET, path).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with(kind), "{path}");
        let csp = res.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    }
}

#[tokio::test]
async fn deciding_time_off_with_an_unknown_field_is_422_naming_it_like_every_other_body() {
    let c = crate::calendar::Clinic::new().await;
    let app = &c.app;
    let day = crate::calendar::day(5).to_string();
    let off = json!({"staff_id": c.vet, "first_day": day, "last_day": day});
    let t = id_of(&expect_json(app.post_json("/api/time-off", &off).await, StatusCode::CREATED).await);
    for verb in ["approve", "deny"] {
        let path = format!("/api/time-off/{t}/{verb}");
        let res = app.post_json(&path, &json!({"note": "ok", "colour": "red"})).await;
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("colour")).await;
        let res = post_raw(app, &path, Some("application/json"), "{\"note\": ").await;
        assert_error(res, StatusCode::BAD_REQUEST, "invalid_json", None).await;
        let res = post_raw(app, &path, Some("text/plain"), "{\"note\": \"ok\"}").await;
        assert_error(res, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", None).await;
    }
    // An empty body still means "no note".
    let res = post_raw(app, &format!("/api/time-off/{t}/approve"), None, "").await;
    assert_eq!(expect_json(res, StatusCode::OK).await["status"], "approved");
}
