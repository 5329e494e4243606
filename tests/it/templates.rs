//! Message templates over HTTP: create, the 422s that name the field, preview with escaping,
//! a patch that makes a new version and keeps the old one, and who may write.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::access::staff_user;
use crate::helpers::{TestApp, assert_error, expect_json, id_of};

fn email() -> Value {
    json!({
        "category": "appointment_reminder", "channel": "email", "name": "Reminder",
        "subject": "{{ pet_names }} sees us {{ appointment_time }}",
        "text_body": "Hi {{ client_name }}, see you soon. {{ clinic_name }}",
        "html_body": "<p>Hi {{ client_name }}, see you soon.</p>"
    })
}

#[tokio::test]
async fn a_template_is_created_previewed_and_escaped_only_in_html() {
    let app = TestApp::signed_in().await;
    let t = expect_json(app.post_json("/api/templates", &email()).await, StatusCode::CREATED).await;
    assert_eq!((t["version"].as_u64(), t["active"].as_bool()), (Some(1), Some(true)));
    let id = id_of(&t);
    let r = app
        .post_json(
            &format!("/api/templates/{id}/preview"),
            &json!({ "values": { "client_name": "<b>Tom & Jerry</b>" } }),
        )
        .await;
    let r = expect_json(r, StatusCode::OK).await;
    assert_eq!(r["text"], "Hi <b>Tom & Jerry</b>, see you soon. Whiskers Cat Clinic");
    assert_eq!(r["html"], "<p>Hi &lt;b&gt;Tom &amp; Jerry&lt;&#x2f;b&gt;, see you soon.</p>");
    assert!(r["subject"].as_str().unwrap().starts_with("Mochi and Biscuit sees us "));
    let bad = app.post_json(&format!("/api/templates/{id}/preview"), &json!({ "values": { "nope": "x" } })).await;
    assert_error(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("values.nope")).await;
    // Names are unique per channel: the same name as an SMS is fine, as an email it is not.
    let dup = app.post_json("/api/templates", &email()).await;
    assert_error(dup, StatusCode::CONFLICT, "duplicate_value", Some("name")).await;
    let sms = json!({ "category": "appointment_reminder", "channel": "sms", "name": "Reminder",
        "text_body": "{{ clinic_name }}: {{ pet_names }} is due {{ appointment_time }}" });
    let s = expect_json(app.post_json("/api/templates", &sms).await, StatusCode::CREATED).await;
    assert_eq!(s["sms_segments"], json!({ "encoding": "gsm7", "units": 66, "count": 1 }));
    // The default templates are there too (one SMS per category); ours is the one named Reminder.
    let page = app.get_json("/api/templates?channel=sms&limit=100").await;
    assert_eq!(page["items"].as_array().unwrap().iter().filter(|t| t["name"] == "Reminder").count(), 1);
}

#[tokio::test]
async fn saving_a_broken_template_answers_422_naming_the_field() {
    let app = TestApp::signed_in().await;
    let with = |k: &str, v: Value| {
        let mut b = email();
        b[k] = v;
        b
    };
    for (body, field) in [
        (with("text_body", json!("Hi {{ client_nam }}")), "text_body"),
        (with("subject", json!("{% if pet_names %}Hi")), "subject"),
        (with("html_body", json!("<p>x</p><script>alert(1)</script>")), "html_body"),
        (with("html_body", json!("<p>{{ invoice_number }}</p>")), "html_body"),
        (with("subject", Value::Null), "subject"),
        (
            json!({ "category": "welcome", "channel": "sms", "name": "Long", "max_sms_segments": 1,
                "text_body": format!("{{{{ clinic_name }}}} {}", "a".repeat(200)) }),
            "text_body",
        ),
    ] {
        let res = app.post_json("/api/templates", &body).await;
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
    }
}

#[tokio::test]
async fn a_patch_bumps_the_version_and_keeps_the_old_one() {
    let app = TestApp::signed_in().await;
    let id = id_of(&expect_json(app.post_json("/api/templates", &email()).await, StatusCode::CREATED).await);
    let path = format!("/api/templates/{id}");
    let t = expect_json(
        app.patch_json(&path, &json!({ "text_body": "Hello {{ client_first_name }}" })).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(t["version"], 2);
    assert_eq!(t["versions"][0]["version"], 1);
    assert_eq!(t["versions"][0]["text_body"], "Hi {{ client_name }}, see you soon. {{ clinic_name }}");
    let bad = app.patch_json(&path, &json!({ "html_body": "<p>{{ oops }}</p>" })).await;
    assert_error(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("html_body")).await;
    let t = app.get_json(&path).await;
    assert_eq!((t["version"].as_u64(), t["versions"].as_array().unwrap().len()), (Some(2), 1));
}

#[tokio::test]
async fn a_receptionist_reads_templates_and_cannot_write_them() {
    let app = TestApp::signed_in().await;
    let id = id_of(&expect_json(app.post_json("/api/templates", &email()).await, StatusCode::CREATED).await);
    let token = staff_user(&app, "rita", &["receptionist"]).await;
    let call = |m: Method, p: String| app.anonymous(m, &p).bearer_auth(&token);
    let res = call(Method::GET, format!("/api/templates/{id}")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res =
        call(Method::PATCH, format!("/api/templates/{id}")).json(&json!({ "active": false })).send().await.unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "forbidden", None).await;
    let manager = staff_user(&app, "meg", &["practice_manager"]).await;
    let res = app
        .anonymous(Method::PATCH, &format!("/api/templates/{id}"))
        .bearer_auth(&manager)
        .json(&json!({ "active": false }))
        .send()
        .await
        .unwrap();
    let t = expect_json(res, StatusCode::OK).await;
    assert_eq!((t["active"].as_bool(), t["version"].as_u64()), (Some(false), Some(1)));
}
