//! Operators' view: health, readiness, detailed health, Prometheus metrics, request ids,
//! response headers, the event log's growth and the OpenAPI document.

use std::collections::HashSet;

use reqwest::{Method, StatusCode, header};
use serde_json::json;

use crate::helpers::{TestApp, UNKNOWN_ID, assert_error, client_body, expect_json, id_of};

#[tokio::test]
async fn liveness_and_readiness_answer_without_a_session() {
    let app = TestApp::spawn().await;

    let live = app.anonymous(Method::GET, "/health").send().await.unwrap();
    let ready = app.anonymous(Method::GET, "/health/ready").send().await.unwrap();

    assert_eq!(expect_json(live, StatusCode::OK).await, json!({"status": "ok"}));
    let ready = expect_json(ready, StatusCode::OK).await;
    assert_eq!(ready["status"], "ok");
    assert_eq!(ready["failing"], json!([]));
    let components = ready["components"].as_array().unwrap();
    let names: HashSet<&str> = components.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert!(names.contains("store") && names.contains("actors"), "{ready}");
    assert!(components.iter().all(|c| c["ok"] == true), "{ready}");
}

#[tokio::test]
async fn detailed_health_requires_a_session() {
    let app = TestApp::spawn().await;

    let resp = app.anonymous(Method::GET, "/health/detailed").send().await.unwrap();

    assert_error(resp, StatusCode::UNAUTHORIZED, "unauthenticated", None).await;
}

#[tokio::test]
async fn detailed_health_reports_version_uptime_store_and_commit_latency() {
    let app = TestApp::signed_in().await;
    app.some_client("Jane", "Doe").await;

    let health = app.get_json("/health/detailed").await;

    assert_eq!(health["status"], "ok");
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));
    assert!(health["uptime_seconds"].is_u64(), "{health}");
    let store = &health["store"];
    assert!(store["size_bytes"].as_u64().unwrap() > 0, "{health}");
    assert!(store["last_event_seq"].as_u64().unwrap() >= 2, "login and create: {health}");
    assert_eq!(store["clinic_id"], "test");
    assert_eq!(store["recovered_at_start"], false);
    assert!(store["path"].as_str().unwrap().starts_with(app.data_dir.to_str().unwrap()), "{health}");
    let latency = &health["commit_latency"];
    let (p50, p99) = (latency["p50_ms"].as_f64().unwrap(), latency["p99_ms"].as_f64().unwrap());
    assert!(0.0 <= p50 && p50 <= p99, "{health}");
    assert!(health["components"].as_array().is_some_and(|c| !c.is_empty()), "{health}");
}

#[tokio::test]
async fn every_change_appends_exactly_one_event_and_refusals_none() {
    let app = TestApp::signed_in().await;
    let mut seq = app.last_event_seq().await;
    let mut expect = |delta: u64, now: u64, what: &str| {
        assert_eq!(now, seq + delta, "{what}");
        seq = now;
    };

    let client = app
        .create_client(
            json!({"first_name": "Jane", "last_name": "Doe", "phone": "5035550199", "email": "j@example.com"}),
        )
        .await;
    let cid = id_of(&client);
    expect(1, app.last_event_seq().await, "client created");
    app.some_client("Bob", "Roe").await;
    expect(1, app.last_event_seq().await, "second client created");
    let pid = app.some_patient(&cid, "Tom").await;
    expect(1, app.last_event_seq().await, "patient created");
    app.patch_json(&format!("/api/clients/{cid}"), &json!({"notes": "n"})).await;
    expect(1, app.last_event_seq().await, "client updated");
    app.patch_json(&format!("/api/clients/{cid}"), &json!({"notes": "n"})).await;
    expect(0, app.last_event_seq().await, "a patch that changes nothing");
    app.patch_json(&format!("/api/patients/{pid}"), &json!({"name": "Thomas"})).await;
    expect(1, app.last_event_seq().await, "patient updated");
    app.post_json("/api/clients", &json!({"first_name": "", "last_name": "X", "phone": "5035550199"})).await;
    expect(0, app.last_event_seq().await, "invalid client");
    app.post_json(
        "/api/clients",
        &json!({"first_name": "Dup", "last_name": "X", "phone": "5035550199", "email": "J@example.com"}),
    )
    .await;
    expect(0, app.last_event_seq().await, "duplicate email");
    app.get(&format!("/api/clients/{UNKNOWN_ID}")).await;
    expect(0, app.last_event_seq().await, "reading");
    app.delete(&format!("/api/patients/{pid}")).await;
    expect(1, app.last_event_seq().await, "patient deactivated");
    app.delete(&format!("/api/clients/{cid}")).await;
    expect(1, app.last_event_seq().await, "client deactivated");
    app.delete(&format!("/api/clients/{cid}")).await;
    expect(0, app.last_event_seq().await, "deactivating again");
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_http_store_and_actor_families() {
    let app = TestApp::signed_in().await;
    let id = app.some_client("Jane", "Doe").await;
    app.some_patient(&id, "Tom").await;

    let resp = app.anonymous(Method::GET, "/metrics").send().await.unwrap();

    assert_eq!(resp.status(), StatusCode::OK);
    let content_type = resp.headers()[header::CONTENT_TYPE].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = resp.text().await.unwrap();
    for family in [
        "# TYPE clowder_http_requests counter",
        "clowder_http_requests_total{",
        "clowder_http_request_duration_seconds_bucket{",
        "clowder_store_commit_batch_size_bucket{",
        "clowder_store_commit_batch_size_count ",
        "clowder_store_commit_seconds_count ",
        "clowder_store_commits_total ",
        "clowder_actor_mailbox_depth{kind=\"client\"}",
        "clowder_actor_mailbox_depth{kind=\"patient\"}",
        "clowder_actor_restarts_total{kind=\"client\"} 0",
        "clowder_actors_active{",
        "clowder_event_log_last_seq ",
        "clowder_search_documents ",
        "clowder_search_lag_events ",
    ] {
        assert!(text.contains(family), "{family} missing from\n{text}");
    }
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    // The two writes above were waited for: the store's share of their latency is counted.
    let waited: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("clowder_store_waited_commit_seconds_count "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no clowder_store_waited_commit_seconds_count in\n{text}"));
    assert!(waited >= 2, "{waited} waited change sets counted");
}

#[tokio::test]
async fn request_metrics_count_by_route_template_never_raw_ids() {
    let app = TestApp::signed_in().await;
    let id = app.some_client("Jane", "Doe").await;
    for _ in 0..3 {
        app.get("/api/clients").await;
    }
    app.get(&format!("/api/clients/{id}")).await;
    app.get(&format!("/api/clients/{UNKNOWN_ID}")).await;
    app.get("/api/clients/not-an-id").await;

    let text = app.metrics().await;

    let count = |labels: &str| -> Option<u64> {
        let prefix = format!("clowder_http_requests_total{{{labels}}} ");
        text.lines().find_map(|l| l.strip_prefix(&prefix)).map(|v| v.trim().parse().unwrap())
    };
    assert_eq!(count("method=\"GET\",route=\"/api/clients\",status=\"200\""), Some(3), "{text}");
    assert_eq!(count("method=\"POST\",route=\"/api/clients\",status=\"201\""), Some(1), "{text}");
    assert_eq!(count("method=\"GET\",route=\"/api/clients/{id}\",status=\"200\""), Some(1), "{text}");
    assert_eq!(count("method=\"GET\",route=\"/api/clients/{id}\",status=\"404\""), Some(2), "{text}");
    assert!(!text.contains(&id), "a raw id leaked into a label");
    assert!(!text.contains(UNKNOWN_ID) && !text.contains("not-an-id"), "a raw path leaked");
}

#[tokio::test]
async fn unknown_paths_are_counted_under_one_label() {
    let app = TestApp::signed_in().await;
    for i in 0..5 {
        app.get(&format!("/api/scan-{i}")).await;
        app.anonymous(Method::GET, &format!("/probe-{i}.php")).send().await.unwrap();
    }

    let text = app.metrics().await;

    assert!(!text.contains("scan-") && !text.contains("probe-"), "{text}");
    assert!(text.contains("route=\"unmatched\""), "{text}");
}

#[tokio::test]
async fn every_response_has_a_request_id() {
    let app = TestApp::signed_in().await;
    let table: Vec<(Method, &str, bool)> = vec![
        (Method::GET, "/health", false),
        (Method::GET, "/metrics", false),
        (Method::GET, "/api/clients", true),
        (Method::GET, "/api/clients", false),
        (Method::GET, "/api/clients/nope", true),
        (Method::PUT, "/api/clients", true),
        (Method::GET, "/nope", true),
        (Method::POST, "/api/auth/login", false),
    ];
    let mut seen = HashSet::new();
    for (method, path, signed_in) in table {
        let rb = if signed_in { app.request(method.clone(), path) } else { app.anonymous(method.clone(), path) };
        let resp = rb.send().await.unwrap();
        let id = resp
            .headers()
            .get("x-request-id")
            .unwrap_or_else(|| panic!("{method} {path}: no x-request-id"))
            .to_str()
            .unwrap()
            .to_owned();
        assert!(!id.is_empty(), "{method} {path}");
        assert!(seen.insert(id), "{method} {path}: request ids repeat");
    }
}

#[tokio::test]
async fn a_plain_caller_request_id_is_echoed_and_an_unsafe_one_replaced() {
    let app = TestApp::spawn().await;
    let send = |id: String| {
        let rb = app.anonymous(Method::GET, "/health").header("x-request-id", id);
        async move {
            let resp = rb.send().await.unwrap();
            resp.headers()["x-request-id"].to_str().unwrap().to_owned()
        }
    };

    assert_eq!(send("abc-123_DEF.4".into()).await, "abc-123_DEF.4");
    for unsafe_id in ["has space".to_owned(), "<script>".to_owned(), "x".repeat(65), "a\"b".to_owned()] {
        let answered = send(unsafe_id.clone()).await;
        assert_ne!(answered, unsafe_id);
        assert!(!answered.is_empty());
    }
}

#[tokio::test]
async fn api_answers_are_never_cached_and_every_answer_has_security_headers() {
    let app = TestApp::signed_in().await;

    for (path, api) in [("/api/clients", true), ("/api/nope", true), ("/health", false), ("/metrics", false)] {
        let resp = app.get(path).await;
        let h = resp.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert!(h.contains_key(header::CONTENT_SECURITY_POLICY), "{path}");
        if api {
            assert_eq!(h[header::CACHE_CONTROL], "no-store", "{path}");
        }
    }
    let unauthenticated = app.anonymous(Method::GET, "/api/clients").send().await.unwrap();
    assert_eq!(unauthenticated.headers()[header::CACHE_CONTROL], "no-store");
}

/// The routes, with their methods, that the OpenAPI document must describe: every route
/// of the access table (the one place routes declare their permission) but the document
/// itself.
fn routes() -> Vec<(&'static str, Vec<String>)> {
    let mut by_path: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for (method, path, _) in clowder_web::access::ROUTES {
        // The staff screens answer HTML, not API operations.
        if clowder_web::routes::pages::is_page(path) {
            continue;
        }
        if ![
            "/api/openapi.json",
            "/ws",
            "/",
            "/signin",
            "/board",
            "/tablet",
            "/clients",
            "/clients/{id}",
            "/patients",
            "/patients/{id}",
            "/assets/{file}",
            // A page for clients (HTML), reached from an email's signed link.
            "/l/unsubscribe/{token}",
            "/l/subscribe/{token}",
        ]
        .contains(path)
        {
            by_path.entry(path).or_default().push(method.to_lowercase());
        }
    }
    by_path.into_iter().collect()
}

const HTTP_METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

#[tokio::test]
async fn openapi_is_3_1_and_lists_every_route_with_exactly_its_methods() {
    let app = TestApp::signed_in().await;

    let doc = app.get_json("/api/openapi.json").await;

    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    assert_eq!(doc["info"]["title"], "Clowder");
    let paths = doc["paths"].as_object().unwrap();
    let routes = routes();
    for (path, methods) in &routes {
        let item = paths.get(*path).unwrap_or_else(|| panic!("{path} is not documented"));
        let documented: HashSet<&str> =
            item.as_object().unwrap().keys().map(String::as_str).filter(|k| HTTP_METHODS.contains(k)).collect();
        let expected: HashSet<&str> = methods.iter().map(String::as_str).collect();
        assert_eq!(documented, expected, "{path}");
        for m in methods {
            assert!(item[m.as_str()]["responses"].as_object().is_some_and(|r| !r.is_empty()), "{m} {path}");
        }
    }
    let documented: HashSet<&str> = paths.keys().map(String::as_str).collect();
    let known: HashSet<&str> = routes.iter().map(|(p, _)| *p).collect();
    assert_eq!(documented, known, "undocumented or phantom routes");
}

#[tokio::test]
async fn openapi_documents_the_schemas_and_the_session_schemes() {
    let app = TestApp::signed_in().await;

    let doc = app.get_json("/api/openapi.json").await;

    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "Client",
        "CreateClient",
        "UpdateClient",
        "Patient",
        "CreatePatient",
        "UpdatePatient",
        "ErrorResponse",
        "ErrorBody",
        "ErrorCode",
        "LoginRequest",
        "LoginResponse",
    ] {
        assert!(schemas.contains_key(name), "{name} missing from components.schemas");
    }
    let codes = &schemas["ErrorCode"]["enum"];
    for code in ["validation_failed", "client_not_found", "duplicate_value", "unauthenticated"] {
        assert!(codes.as_array().unwrap().contains(&json!(code)), "{code} not in {codes}");
    }
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert!(schemes.contains_key("session_cookie") && schemes.contains_key("bearer"), "{schemes:?}");
    let login = &doc["paths"]["/api/auth/login"]["post"];
    assert_eq!(login["security"], json!([{}]), "login needs no session: {login}");
}

/// The document describes the API the server actually serves: a created client has every
/// field the `Client` schema marks required.
#[tokio::test]
async fn served_clients_have_every_required_field_of_the_schema() {
    let app = TestApp::signed_in().await;
    let doc = app.get_json("/api/openapi.json").await;
    let client = app.create_client(client_body("Jane", "Doe")).await;

    let required: Vec<&str> = doc["components"]["schemas"]["Client"]["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(required.contains(&"id") && required.contains(&"phone"), "{required:?}");
    let fields = client.as_object().unwrap();
    for name in required {
        assert!(fields.contains_key(name), "{name} is required but not served: {client}");
    }
    let properties: HashSet<&String> =
        doc["components"]["schemas"]["Client"]["properties"].as_object().unwrap().keys().collect();
    let served: HashSet<&String> = fields.keys().collect();
    assert_eq!(properties, served);
}

/// The description of `status` on `method path` in the document, if any.
fn documented<'a>(doc: &'a serde_json::Value, method: &str, path: &str, status: u16) -> Option<&'a str> {
    doc["paths"][path][method.to_lowercase()]["responses"][status.to_string()]["description"].as_str()
}

#[tokio::test]
async fn openapi_lists_the_statuses_of_the_shared_layers_on_every_route_they_apply_to() {
    let app = TestApp::signed_in().await;
    let doc = app.get_json("/api/openapi.json").await;
    let mut with_body = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap().iter().filter(|(k, _)| HTTP_METHODS.contains(&k.as_str())) {
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let rule = clowder_web::access::ROUTES
                .iter()
                .find(|(m, p, _)| m.eq_ignore_ascii_case(method) && p == path)
                .map(|(_, _, r)| *r)
                .unwrap_or_else(|| panic!("{method} {path} has no access rule"));
            let mut expected: Vec<(u16, &str)> = vec![(500, "internal_error"), (503, "overloaded")];
            if op.get("requestBody").is_some() {
                with_body += 1;
                expected.extend([
                    (400, "invalid_json"),
                    (413, "payload_too_large"),
                    (415, "unsupported_media_type"),
                    (422, "validation_failed"),
                ]);
            }
            if params.iter().any(|p| p["in"] == "query") {
                expected.push((422, "validation_failed"));
            }
            if params.iter().any(|p| p["in"] == "path") {
                expected.push((404, "not_found"));
            }
            if rule != clowder_web::access::Rule::Public {
                expected.extend([(401, "unauthenticated"), (403, "password_change_required"), (429, "rate_limited")]);
            }
            if matches!(rule, clowder_web::access::Rule::Needs(_) | clowder_web::access::Rule::OwnOr(_)) {
                expected.push((403, "forbidden"));
            }
            if method != "get" {
                expected.extend([(403, "csrf_rejected"), (507, "insufficient_storage")]);
            }
            for (status, code) in expected {
                let text = documented(&doc, method, path, status).unwrap_or_default();
                assert!(
                    text.contains(&format!("`{code}`")),
                    "{method} {path}: {status} `{code}` not documented: {text:?}"
                );
            }
        }
    }
    assert!(with_body >= 31, "only {with_body} operations take a JSON body");
}

/// A request that provokes a status: method, path template, concrete path, content type,
/// body, the status and code expected.
type Provoke = (Method, &'static str, String, Option<&'static str>, &'static str, StatusCode, &'static str);

#[tokio::test]
async fn statuses_the_routes_really_answer_are_in_their_description() {
    let app = TestApp::signed_in().await;
    let doc = app.get_json("/api/openapi.json").await;
    let client = app.some_client("Doc", "Umented").await;
    let cat = app.some_patient(&client, "Paper").await;
    let locations = app.get_json("/api/locations").await;
    let location = id_of(&locations[0]);
    let staff =
        json!({"first_name": "Ann", "last_name": "Vet", "position": "veterinarian", "home_location_id": location});
    let staff = id_of(&expect_json(app.post_json("/api/staff", &staff).await, StatusCode::CREATED).await);
    let day = "2031-03-03";
    let off = json!({"staff_id": staff, "first_day": day, "last_day": day});
    let off = id_of(&expect_json(app.post_json("/api/time-off", &off).await, StatusCode::CREATED).await);

    let cases: Vec<Provoke> = vec![
        (
            Method::POST,
            "/api/clients",
            "/api/clients".into(),
            Some("text/plain"),
            "{}",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            Method::POST,
            "/api/clients",
            "/api/clients".into(),
            Some("application/json"),
            "{",
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            Method::PATCH,
            "/api/clients/{id}",
            format!("/api/clients/{client}"),
            Some("application/json"),
            "[",
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            Method::POST,
            "/api/time-off/{id}/approve",
            format!("/api/time-off/{off}/approve"),
            Some("text/plain"),
            "{}",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            Method::POST,
            "/api/time-off/{id}/deny",
            format!("/api/time-off/{off}/deny"),
            Some("application/json"),
            "{\"x\":1}",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            Method::GET,
            "/api/clients/{id}",
            format!("/api/clients/{client}?recent=maybe"),
            None,
            "",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            Method::GET,
            "/api/patients/{id}",
            format!("/api/patients/{cat}?recent=maybe"),
            None,
            "",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            Method::GET,
            "/api/clients/{id}/patients",
            format!("/api/clients/{client}/patients?limit=many"),
            None,
            "",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            Method::GET,
            "/api/clients/{id}",
            "/api/clients/not-an-id".into(),
            None,
            "",
            StatusCode::NOT_FOUND,
            "client_not_found",
        ),
    ];
    for (method, template, path, content_type, body, status, code) in cases {
        let mut rb = app.request(method.clone(), &path).body(body.to_owned());
        if let Some(ct) = content_type {
            rb = rb.header(header::CONTENT_TYPE, ct);
        }
        let res = rb.send().await.unwrap();
        assert_eq!(res.status(), status, "{method} {path}");
        let answer: serde_json::Value = res.json().await.unwrap();
        assert_eq!(answer["error"]["code"], code, "{method} {path}: {answer}");
        let text = documented(&doc, method.as_str(), template, status.as_u16()).unwrap_or_default();
        assert!(
            text.contains(&format!("`{code}`")),
            "{method} {template} answers {status} `{code}`; documented: {text:?}"
        );
    }
    let res = app.anonymous(Method::GET, "/api/clients").send().await.unwrap();
    assert_error(res, StatusCode::UNAUTHORIZED, "unauthenticated", None).await;
    assert!(documented(&doc, "GET", "/api/clients", 401).unwrap_or_default().contains("`unauthenticated`"));
}
