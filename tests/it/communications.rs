//! What staff send by hand, over HTTP: one message to a client (a template rendered with
//! the client's values, or typed content), every refusal naming its field, `Idempotency-Key`;
//! a batch queued in chunks with its skips, progress and partial-failure report, sent through
//! the log provider; the log's filters; the delivery statistics; the unsaved-content preview;
//! and who may send.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::access::staff_user;
use crate::helpers::{TestApp, UNKNOWN_ID, assert_error, expect_json, id_of};

async fn template(app: &TestApp, body: Value) -> String {
    id_of(&expect_json(app.post_json("/api/templates", &body).await, StatusCode::CREATED).await)
}

fn follow_up() -> Value {
    json!({
        "category": "follow_up", "channel": "email", "name": "How is your cat",
        "subject": "How are {{ pet_names }}?",
        "text_body": "Hi {{ client_first_name }}, how are {{ pet_names }} doing? {{ clinic_name }}",
        "html_body": "<p>Hi {{ client_name }}</p>"
    })
}

/// An SMS template of four segments with the sample name: a client whose name is long makes
/// it five, which the log provider refuses (`CLOWDER_SMS_MAX_SEGMENTS` is 4), so that
/// message dies.
fn long_sms() -> Value {
    json!({
        "category": "follow_up", "channel": "sms", "name": "Long text", "max_sms_segments": 4,
        "text_body": format!("{{{{ client_name }}}} {}", "a".repeat(599)),
    })
}

async fn client(app: &TestApp, first: &str, last: &str, email: Option<&str>, prefers: &str) -> String {
    let mut body =
        json!({"first_name": first, "last_name": last, "phone": "(503) 555-0199", "preferred_contact": prefers});
    if let Some(e) = email {
        body["email"] = json!(e);
    }
    id_of(&app.create_client(body).await)
}

async fn send(app: &TestApp, body: Value) -> String {
    let v = expect_json(app.post_json("/api/communications/send", &body).await, StatusCode::ACCEPTED).await;
    v["message_id"].as_str().expect("a message id").to_owned()
}

async fn sent(app: &TestApp, id: &str) -> Value {
    app.poll_json(&format!("/api/messages/{id}"), |m| m["status"] == "sent").await
}

#[tokio::test]
async fn a_template_is_rendered_with_the_clients_values_and_typed_text_goes_to_the_preferred_channel() {
    let app = TestApp::signed_in().await;
    let jane = client(&app, "Jane", "Doe", Some("jane@example.com"), "email").await;
    app.some_patient(&jane, "Mochi").await;
    app.some_patient(&jane, "Biscuit").await;
    let tofu = app.some_patient(&jane, "Tofu").await;
    let r = app.patch_json(&format!("/api/patients/{tofu}"), &json!({"status": "deceased"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let t = template(&app, follow_up()).await;

    let id = send(&app, json!({ "client_id": jane, "template_id": t })).await;
    let m = sent(&app, &id).await;
    assert_eq!((m["channel"].as_str(), m["recipient"].as_str()), (Some("email"), Some("jane@example.com")));
    assert_eq!(m["subject"], "How are Mochi and Biscuit?");
    assert_eq!(m["text"], "Hi Jane, how are Mochi and Biscuit doing? Whisker Cat Clinic");
    // The HTML as sent: the template's, with the open pixel (docs/communications.md "Analytics").
    let html = m["html"].as_str().unwrap();
    assert!(html.starts_with("<p>Hi Jane Doe</p>") && html.contains("/l/open/"), "{html}");
    assert_eq!((m["template_id"].as_str(), m["category"].as_str()), (Some(t.as_str()), Some("follow_up")));
    assert_eq!((m["purpose"].as_str(), m["client_id"].as_str()), (Some("transactional"), Some(jane.as_str())));

    // Typed content to a client who prefers texts goes by SMS to their phone.
    let sam = client(&app, "Sam", "Lee", Some("sam@example.com"), "sms").await;
    let id = send(&app, json!({ "client_id": sam, "text": "Your prescription is ready." })).await;
    let m = sent(&app, &id).await;
    assert_eq!((m["channel"].as_str(), m["recipient"].as_str()), (Some("sms"), Some("+15035550199")));
    assert_eq!((m["text"].as_str(), m["template_id"].as_null()), (Some("Your prescription is ready."), Some(())));
    // Asked for email, typed email with a subject.
    let id = send(
        &app,
        json!({ "client_id": sam, "channel": "email", "subject": "Records", "text": "Attached.", "html": "<p>Attached.</p>" }),
    )
    .await;
    let m = sent(&app, &id).await;
    assert_eq!((m["recipient"].as_str(), m["subject"].as_str()), (Some("sam@example.com"), Some("Records")));

    // A campaign is marketing (the consent it needs is the send gate's business).
    let campaign = template(
        &app,
        json!({ "category": "campaign", "channel": "email", "name": "Spring", "subject": "Spring at {{ clinic_name }}",
                "text_body": "Dental month! {{ unsubscribe_link }}" }),
    )
    .await;
    let id = send(
        &app,
        json!({ "client_id": jane, "template_id": campaign, "values": { "unsubscribe_link": "https://c.example/u/1" } }),
    )
    .await;
    let m = app.get_json(&format!("/api/messages/{id}")).await;
    assert_eq!(
        (m["purpose"].as_str(), m["text"].as_str()),
        (Some("marketing"), Some("Dental month! https://c.example/u/1"))
    );

    // The sends are in the trail with who sent them.
    let audit = app.get_json("/api/audit?action=message.queue").await;
    assert!(audit["items"].as_array().unwrap().len() >= 4, "{audit}");
}

#[tokio::test]
async fn every_refusal_of_a_send_names_its_field() {
    let app = TestApp::signed_in().await;
    let no_email = client(&app, "Pat", "Noemail", None, "phone").await;
    let jane = client(&app, "Jane", "Doe", Some("jane@example.com"), "email").await;
    let gone = client(&app, "Gone", "Away", Some("gone@example.com"), "email").await;
    assert_eq!(app.delete(&format!("/api/clients/{gone}")).await.status(), StatusCode::OK);
    let t = template(&app, follow_up()).await;
    let reminder = template(
        &app,
        json!({ "category": "appointment_reminder", "channel": "email", "name": "Reminder",
                "subject": "See you", "text_body": "{{ pet_names }} at {{ appointment_time }}" }),
    )
    .await;
    let off = template(
        &app,
        json!({ "category": "welcome", "channel": "sms", "name": "Off", "text_body": "Hi", "active": false }),
    )
    .await;
    let cases = [
        (json!({ "client_id": "nope", "text": "x" }), "client_id"),
        (json!({ "client_id": UNKNOWN_ID, "text": "x" }), "client_id"),
        (json!({ "client_id": gone, "text": "x" }), "client_id"),
        (json!({ "client_id": jane, "template_id": UNKNOWN_ID }), "template_id"),
        (json!({ "client_id": jane, "template_id": "bad" }), "template_id"),
        (json!({ "client_id": jane, "template_id": off }), "template_id"),
        (json!({ "client_id": no_email, "template_id": t }), "channel"),
        (json!({ "client_id": no_email, "channel": "email", "subject": "s", "text": "x" }), "channel"),
        (json!({ "client_id": jane, "template_id": t, "channel": "sms" }), "channel"),
        (json!({ "client_id": jane, "channel": "fax", "text": "x" }), "channel"),
        (json!({ "client_id": jane, "template_id": reminder }), "values.appointment_time"),
        (json!({ "client_id": jane, "template_id": t, "values": { "vaccine_name": "x" } }), "values.vaccine_name"),
        (json!({ "client_id": jane, "template_id": t, "text": "x" }), "text"),
        (json!({ "client_id": jane }), "text"),
        (json!({ "client_id": jane, "text": "x", "values": { "a": "b" } }), "values"),
        (json!({ "client_id": jane, "channel": "email", "text": "no subject" }), "subject"),
        (json!({ "client_id": jane, "channel": "sms", "subject": "s", "text": "x" }), "subject"),
    ];
    for (body, field) in cases {
        let res = app.post_json("/api/communications/send", &body).await;
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
    }
    // With the value given, the reminder goes.
    let id =
        send(&app, json!({ "client_id": jane, "template_id": reminder, "values": { "appointment_time": "Mon 9:00" } }))
            .await;
    assert_eq!(sent(&app, &id).await["text"], " at Mon 9:00");
    // Nothing refused was queued.
    let log = app.get_json("/api/communications/log").await;
    assert_eq!(log["items"].as_array().unwrap().len(), 1, "{log}");
}

#[tokio::test]
async fn a_repeated_idempotency_key_sends_once() {
    let app = TestApp::signed_in().await;
    let jane = client(&app, "Jane", "Doe", Some("jane@example.com"), "email").await;
    let body = json!({ "client_id": jane, "channel": "email", "subject": "Hi", "text": "Once only" });
    let mut ids = Vec::new();
    for _ in 0..2 {
        let res = app
            .request(Method::POST, "/api/communications/send")
            .header("Idempotency-Key", "send-once")
            .json(&body)
            .send()
            .await
            .unwrap();
        ids.push(expect_json(res, StatusCode::ACCEPTED).await["message_id"].clone());
    }
    assert_eq!(ids[0], ids[1]);
    let log = app.get_json(&format!("/api/communications/log?client={jane}")).await;
    assert_eq!(log["items"].as_array().unwrap().len(), 1, "{log}");
}

#[tokio::test]
async fn a_vet_may_read_nothing_here_and_send_nothing() {
    let app = TestApp::signed_in().await;
    let jane = client(&app, "Jane", "Doe", Some("jane@example.com"), "email").await;
    let vet = staff_user(&app, "vera", &["veterinarian"]).await;
    let res = app
        .anonymous(Method::POST, "/api/communications/send")
        .bearer_auth(&vet)
        .json(&json!({ "client_id": jane, "text": "hi" }))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "forbidden", None).await;
    // The front desk may.
    let desk = staff_user(&app, "rita", &["receptionist"]).await;
    let res = app
        .anonymous(Method::POST, "/api/communications/send")
        .bearer_auth(&desk)
        .json(&json!({ "client_id": jane, "channel": "email", "subject": "Hi", "text": "hi" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_queued_in_chunks_reports_its_skips_and_is_sent_whole() {
    let app = TestApp::signed_in().await;
    let t = template(&app, follow_up()).await;
    let mut ids = Vec::new();
    for i in 0..203 {
        ids.push(client(&app, &format!("C{i}"), "Batch", Some(&format!("c{i}@example.com")), "email").await);
    }
    let no_email = client(&app, "Pat", "Noemail", None, "phone").await;
    let gone = client(&app, "Gone", "Away", Some("gone@example.com"), "email").await;
    app.delete(&format!("/api/clients/{gone}")).await;
    let mut audience: Vec<Value> = ids.iter().map(|i| json!(i)).collect();
    audience.extend([json!(no_email), json!(gone), json!(UNKNOWN_ID), json!(ids[0])]);

    let body = json!({ "template_id": t, "client_ids": audience });
    let start = |key: &'static str| {
        app.request(Method::POST, "/api/communications/send-batch").header("Idempotency-Key", key).json(&body).send()
    };
    let first = expect_json(start("batch-1").await.unwrap(), StatusCode::ACCEPTED).await;
    // A retry of the same request is the same batch.
    let again = expect_json(start("batch-1").await.unwrap(), StatusCode::ACCEPTED).await;
    assert_eq!(first, again);
    assert_eq!(first["total"], 206, "a repeated client counts once");
    let batch = first["batch_id"].as_str().unwrap();

    let report = app.poll_json(&format!("/api/communications/batches/{batch}"), |b| b["done"] == true).await;
    assert_eq!((report["queued"].as_u64(), report["skipped_count"].as_u64()), (Some(203), Some(3)), "{report}");
    assert_eq!((report["pending"].as_u64(), report["state"].as_str()), (Some(0), Some("queued")));
    assert_eq!(report["messages"]["sent"], 203, "{report}");
    assert_eq!(report["failures"], json!([]));
    let reasons: Vec<(String, String)> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["client_id"].as_str().unwrap().to_owned(), s["reason"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (no_email.clone(), "no_address".to_owned()),
            (gone.clone(), "inactive".to_owned()),
            (UNKNOWN_ID.to_owned(), "not_found".to_owned()),
        ]
    );
    // Two chunks (200, then 6 clients), each its own job.
    let jobs = app.get_json("/api/jobs?kind=message_batch&state=succeeded").await;
    assert_eq!(jobs["items"].as_array().unwrap().len(), 2, "{jobs}");
    // Each client got its own rendering.
    let m = app.get_json(&format!("/api/communications/log?client={}", ids[7])).await;
    assert_eq!(m["items"][0]["text"], "Hi C7, how are  doing? Whisker Cat Clinic");

    // The refusals of a batch.
    let too_many: Vec<String> = (0..5001).map(|i| format!("01JD7Y2Q4Z8W3N5K6M7P{i:06}")).collect();
    for (body, field) in [
        (json!({ "template_id": t, "client_ids": [] }), "client_ids"),
        (json!({ "template_id": t, "client_ids": ["x"] }), "client_ids[0]"),
        (json!({ "template_id": UNKNOWN_ID, "client_ids": [no_email] }), "template_id"),
        (json!({ "template_id": t, "audience": "active_clients", "client_ids": [no_email] }), "client_ids"),
        (json!({ "template_id": t, "client_ids": too_many }), "client_ids"),
    ] {
        let res = app.post_json("/api/communications/send-batch", &body).await;
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
    }
    assert_error(
        app.get(&format!("/api/communications/batches/{UNKNOWN_ID}")).await,
        StatusCode::NOT_FOUND,
        "batch_not_found",
        None,
    )
    .await;
}

#[tokio::test]
async fn a_batch_to_active_clients_reports_the_messages_that_died() {
    let app = TestApp::signed_in().await;
    let t = template(&app, long_sms()).await;
    let ann = client(&app, "Ann", "Lee", None, "sms").await;
    let long = client(&app, "Al", &"Z".repeat(100), None, "sms").await;
    let gone = client(&app, "Gone", "Away", None, "sms").await;
    app.delete(&format!("/api/clients/{gone}")).await;
    let started = expect_json(
        app.post_json("/api/communications/send-batch", &json!({ "template_id": t, "audience": "active_clients" }))
            .await,
        StatusCode::ACCEPTED,
    )
    .await;
    assert_eq!(started["total"], 2, "the deactivated client is not in the audience");
    let batch = started["batch_id"].as_str().unwrap();
    let report = app.poll_json(&format!("/api/communications/batches/{batch}"), |b| b["done"] == true).await;
    assert_eq!((report["messages"]["sent"].as_u64(), report["messages"]["dead"].as_u64()), (Some(1), Some(1)));
    let failures = report["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{report}");
    assert_eq!(
        (failures[0]["client_id"].as_str(), failures[0]["status"].as_str()),
        (Some(long.as_str()), Some("dead"))
    );
    assert!(failures[0]["reason"].as_str().unwrap().contains("segment"), "{report}");
    let ok = app.get_json(&format!("/api/communications/log?client={ann}")).await;
    assert_eq!(ok["items"][0]["status"], "sent");
    // The report's read is audited (it names clients).
    let audit = app.get_json("/api/audit?action=batch.read").await;
    assert!(!audit["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn the_log_filters_and_the_statistics_count_by_channel_template_and_category() {
    let app = TestApp::signed_in().await;
    let t = template(&app, follow_up()).await;
    let long_t = template(&app, long_sms()).await;
    let jane = client(&app, "Jane", "Doe", Some("jane@example.com"), "email").await;
    let long = client(&app, "Al", &"Z".repeat(100), None, "sms").await;
    let a = send(&app, json!({ "client_id": jane, "template_id": t })).await;
    let b = send(&app, json!({ "client_id": jane, "channel": "sms", "text": "Typed" })).await;
    let c = send(&app, json!({ "client_id": long, "template_id": long_t })).await;
    sent(&app, &a).await;
    sent(&app, &b).await;
    app.poll_json(&format!("/api/messages/{c}"), |m| m["status"] == "dead").await;

    let ids = |v: Value| v["items"].as_array().unwrap().iter().map(id_of).collect::<Vec<_>>();
    assert_eq!(ids(app.get_json("/api/communications/log").await), vec![c.clone(), b.clone(), a.clone()]);
    assert_eq!(ids(app.get_json(&format!("/api/communications/log?template={t}")).await), vec![a.clone()]);
    assert_eq!(ids(app.get_json("/api/communications/log?status=dead").await), vec![c.clone()]);
    assert_eq!(ids(app.get_json("/api/communications/log?channel=sms").await), vec![c.clone(), b.clone()]);
    assert_eq!(
        ids(app.get_json(&format!("/api/communications/log?client={jane}&channel=email")).await),
        vec![a.clone()]
    );
    let today = app.get_json("/api/communications/stats").await["to"].as_str().unwrap().to_owned();
    let tomorrow: jiff::civil::Date = today.parse().unwrap();
    let tomorrow = tomorrow.tomorrow().unwrap();
    assert_eq!(ids(app.get_json(&format!("/api/communications/log?from={today}&to={today}")).await).len(), 3);
    assert_eq!(ids(app.get_json(&format!("/api/communications/log?from={tomorrow}")).await), Vec::<String>::new());
    let page = app.get_json("/api/communications/log?limit=2").await;
    let next = page["next_cursor"].as_str().unwrap();
    assert_eq!(ids(app.get_json(&format!("/api/communications/log?limit=2&cursor={next}")).await), vec![a.clone()]);
    for (q, field) in [
        ("status=lost", "status"),
        ("from=2026-13-01", "from"),
        ("template=x", "template"),
        ("from=2026-02-02&to=2026-02-01", "to"),
    ] {
        let res = app.get(&format!("/api/communications/log?{q}")).await;
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
    }
    // Audited like /api/messages.
    let audit = app.get_json("/api/audit?action=message.list").await;
    assert!(!audit["items"].as_array().unwrap().is_empty());

    let s = app.get_json(&format!("/api/communications/stats?from={today}&to={today}")).await;
    assert_eq!((s["total"]["sent"].as_u64(), s["total"]["dead"].as_u64()), (Some(2), Some(1)), "{s}");
    assert_eq!(s["by_channel"]["email"]["sent"], 1);
    assert_eq!((s["by_channel"]["sms"]["sent"].as_u64(), s["by_channel"]["sms"]["dead"].as_u64()), (Some(1), Some(1)));
    assert_eq!(s["by_category"]["follow_up"]["sent"], 1);
    assert_eq!(s["by_category"]["follow_up"]["dead"], 1);
    assert_eq!(s["by_category"]["none"]["sent"], 1);
    let by_t = s["by_template"].as_array().unwrap();
    assert_eq!(by_t.len(), 2);
    let follow = by_t.iter().find(|x| x["template_id"] == t.as_str()).unwrap();
    assert_eq!((follow["name"].as_str(), follow["counts"]["sent"].as_u64()), (Some("How is your cat"), Some(1)));
    let empty = app.get_json(&format!("/api/communications/stats?from={tomorrow}&to={tomorrow}")).await;
    assert_eq!(empty["total"]["sent"], 0);
    for (q, field) in [("from=2025-01-01&to=2026-06-01", "to"), ("from=2026-02-02&to=2026-02-01", "to"), ("to=x", "to")]
    {
        let res = app.get(&format!("/api/communications/stats?{q}")).await;
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
    }
    // The templates, as /api/templates lists them.
    assert_eq!(app.get_json("/api/communications/templates").await, app.get_json("/api/templates").await);
}

#[tokio::test]
async fn the_preview_renders_unsaved_content_with_its_segments_and_checks_it() {
    let app = TestApp::signed_in().await;
    let t = template(&app, long_sms()).await;
    let path = format!("/api/templates/{t}/preview");
    let p = expect_json(
        app.post_json(&path, &json!({ "text_body": "Hi {{ client_first_name }} ☺" })).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(p["text"], "Hi Jane ☺");
    assert_eq!((p["segments"]["encoding"].as_str(), p["segments"]["count"].as_u64()), (Some("ucs2"), Some(1)));
    let res = app.post_json(&path, &json!({ "text_body": "Hi {{ nobody }}" })).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("text_body")).await;
    let res = app.post_json(&path, &json!({ "subject": "x" })).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("subject")).await;
    // Nothing was saved.
    assert_eq!(app.get_json(&format!("/api/templates/{t}")).await["version"], 1);
}

/// A page as `token` sees it: status and body (redirects not followed).
async fn page(app: &TestApp, path: &str, token: &str) -> (StatusCode, String) {
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = browser.get(app.url(path)).bearer_auth(token).send().await.unwrap();
    let status = res.status();
    let ct = res.headers()[reqwest::header::CONTENT_TYPE].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/html"), "{path}: {ct}");
    (status, res.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_messages_screens_show_the_log_a_message_templates_the_dashboard_and_the_jobs() {
    let app = TestApp::signed_in().await;
    let admin = app.token().expect("signed in");
    let jane = client(&app, "Jane", "<b>Doe</b>", Some("jane@example.com"), "email").await;
    let t = template(&app, follow_up()).await;
    let id = send(&app, json!({ "client_id": jane, "template_id": t })).await;
    sent(&app, &id).await;

    let (status, html) = page(&app, "/messages", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("jane@example.com") && html.contains(r#"data-status="sent">Sent<"#), "{html}");
    assert!(html.contains(&format!(r#"href="/messages/{id}""#)));
    assert!(html.contains(r#"<a href="/messages" aria-current="page">Messages</a>"#));
    assert!(html.contains(r#"<a href="/jobs">Jobs</a>"#));
    let (_, filtered) = page(&app, "/messages?status=dead", &admin).await;
    assert!(filtered.contains(r#"id="no-results""#) && filtered.contains(r#"<option value="dead" selected>"#));
    let (status, bad) = page(&app, "/messages?status=lost", &admin).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.contains("Check the address"), "{bad}");

    let (status, one) = page(&app, &format!("/messages/{id}"), &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert!(one.contains("Hi Jane, how are  doing?") && one.contains("How is your cat"), "{one}");
    assert!(
        one.contains("&lt;p&gt;Hi Jane &amp;lt;b&amp;gt;") || one.contains("&#60;p&#62;"),
        "HTML is shown as source"
    );
    assert!(one.contains(&format!("/messages?client={jane}")));
    assert_eq!(page(&app, &format!("/messages/{UNKNOWN_ID}"), &admin).await.0, StatusCode::NOT_FOUND);

    // The clinic starts with two defaults per category: the filter finds ours among them.
    let (_, list) = page(&app, "/messages/templates?category=follow_up&channel=email", &admin).await;
    assert!(list.contains(r#"<option value="follow_up" selected>"#), "{list}");
    let (status, _) = page(&app, "/messages/templates?category=gossip", &admin).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(list.contains(&format!(r#"<a href="/messages/templates/{t}">How is your cat</a>"#)), "{list}");
    let (_, editor) = page(&app, &format!("/messages/templates/{t}"), &admin).await;
    assert!(editor.contains(r#"id="text_body""#) && editor.contains(r#"id="save""#), "{editor}");
    assert!(editor.contains("<code>{{ pet_names }}</code>"));

    let (_, dash) = page(&app, "/messages/dashboard", &admin).await;
    assert!(dash.contains(r#"id="stats-channel""#) && dash.contains("How is your cat (Email)"), "{dash}");
    let (_, bulk) = page(&app, "/messages/bulk", &admin).await;
    assert!(bulk.contains(&format!(r#"<option value="{t}">How is your cat (Email)</option>"#)), "{bulk}");
    assert!(!bulk.contains("recent-batches"), "no batch yet");
    let started = expect_json(
        app.post_json("/api/communications/send-batch", &json!({ "template_id": t, "client_ids": [jane] })).await,
        StatusCode::ACCEPTED,
    )
    .await;
    let batch = started["batch_id"].as_str().unwrap();
    let (_, bulk) = page(&app, &format!("/messages/bulk?batch={batch}"), &admin).await;
    assert!(bulk.contains(&format!(r#"data-batch="{batch}""#)), "{bulk}");
    assert!(
        bulk.contains(&format!(r#"href="/messages/bulk?batch={batch}""#)) && bulk.contains("How is your cat (Email)")
    );
    assert_eq!(page(&app, "/messages/bulk?batch=nope", &admin).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, jobs) = page(&app, "/jobs?state=succeeded", &admin).await;
    assert!(jobs.contains("send_message") && jobs.contains(r#"data-state="succeeded">Done<"#), "{jobs}");
    assert_eq!(page(&app, "/jobs?state=nope", &admin).await.0, StatusCode::UNPROCESSABLE_ENTITY);

    // The client's page has their history, escaped, with a link to the log filtered by them.
    let (_, client_page) = page(&app, &format!("/clients/{jane}"), &admin).await;
    assert!(client_page.contains(r#"id="messages-section""#) && client_page.contains("How are ?"), "{client_page}");
    assert!(client_page.contains(&format!(r#"href="/messages?client={jane}""#)));
    assert!(client_page.contains(&format!(r#"<form id="send-form" class="editor-form" data-client="{jane}""#)));

    // The front desk reads and sends but may not save a template nor see the jobs.
    let rita = staff_user(&app, "rita", &["receptionist"]).await;
    let (_, editor) = page(&app, &format!("/messages/templates/{t}"), &rita).await;
    assert!(!editor.contains(r#"id="save""#) && editor.contains("readonly"));
    assert!(!editor.contains(r#"href="/jobs""#));
    assert_eq!(page(&app, "/jobs", &rita).await.0, StatusCode::FORBIDDEN);
    // A vet sees no Messages section, no history on a client's page, and is refused the log.
    let vera = staff_user(&app, "vera", &["veterinarian"]).await;
    let (_, client_page) = page(&app, &format!("/clients/{jane}"), &vera).await;
    assert!(!client_page.contains("messages-section") && !client_page.contains(r#"href="/messages""#));
    assert!(!client_page.contains("send-form"));
    assert_eq!(page(&app, "/messages", &vera).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_batch_can_take_its_audience_from_a_saved_segment() {
    let app = TestApp::signed_in().await;
    let jane = client(&app, "Jane", "Doe", Some("jane@example.com"), "email").await;
    let sam = client(&app, "Sam", "Lee", None, "sms").await;
    let old = client(&app, "Olga", "Old", Some("olga@example.com"), "email").await;
    assert!(app.delete(&format!("/api/clients/{old}")).await.status().is_success());
    let t = template(&app, follow_up()).await;
    // Every active client: Jane, and Sam (who has no email, so is skipped with why).
    let body = json!({ "name": "Everyone active" });
    let everyone = id_of(&expect_json(app.post_json("/api/segments", &body).await, StatusCode::CREATED).await);

    let started = expect_json(
        app.post_json("/api/communications/send-batch", &json!({ "template_id": t, "segment_id": everyone })).await,
        StatusCode::ACCEPTED,
    )
    .await;
    assert_eq!(started["total"], 2, "{started}");
    let batch = started["batch_id"].as_str().unwrap();
    let report = app.poll_json(&format!("/api/communications/batches/{batch}"), |b| b["done"] == true).await;
    assert_eq!((report["audience"].as_str(), report["queued"].as_u64()), (Some("segment"), Some(1)), "{report}");
    assert_eq!(report["skipped"][0]["client_id"], json!(sam));
    assert_eq!(report["skipped"][0]["reason"], "no_address");
    let log = app.get_json(&format!("/api/communications/log?client={jane}")).await;
    assert_eq!(log["items"][0]["subject"], "How are ?", "{log}");

    // A segment that names none, a malformed one, or one with another audience: 422 naming it.
    let nobody = json!({ "name": "Sphynx", "filter": { "breeds": ["Sphynx"] } });
    let nobody = id_of(&expect_json(app.post_json("/api/segments", &nobody).await, StatusCode::CREATED).await);
    for body in [
        json!({ "template_id": t, "segment_id": UNKNOWN_ID }),
        json!({ "template_id": t, "segment_id": "nope" }),
        json!({ "template_id": t, "audience": "segment" }),
        json!({ "template_id": t, "audience": "active_clients", "segment_id": everyone }),
        json!({ "template_id": t, "segment_id": nobody }),
    ] {
        let r = app.post_json("/api/communications/send-batch", &body).await;
        assert_error(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("segment_id")).await;
    }
    let r = app
        .post_json(
            "/api/communications/send-batch",
            &json!({ "template_id": t, "segment_id": everyone, "client_ids": [jane] }),
        )
        .await;
    assert_error(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("client_ids")).await;
}
