//! Reminder analytics against the real server: an email with HTML to a client carries the
//! open pixel and tracked links (the clinic's own signed links and the text part untouched);
//! the pixel counts opens and answers its GIF for any token; a click redirects to the original
//! URL and is counted, a tampered token or unknown link is a 404 page without a redirect; two
//! active templates of a category split clients by the message key, the same key always the
//! same; `GET /api/communications/analytics` counts sent, opened, clicked and booked per
//! variant, and the no-show rates of reminded and not reminded appointments; its 422s.

use clowder_actors::comms::messages::{NewMessage, Recipient};
use clowder_schemas::audit::Caller;
use clowder_schemas::messages::Purpose;
use clowder_schemas::values::Email;
use clowder_schemas::{ClientId, MessageId};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::calendar::Clinic;
use crate::helpers::{TestApp, assert_error, expect_json, id_of};

/// A server that sends at any hour (the consent gate's quiet hours would defer messages).
async fn app() -> TestApp {
    let app = TestApp::spawn_with(|a| a.comms.quiet_hours = "00:00-24:00".into()).await;
    app.login_admin().await;
    app
}

fn in_secs(secs: i64) -> String {
    clowder_actors::Clock::now(&clowder_actors::SystemClock)
        .checked_add(jiff::SignedDuration::from_secs(secs))
        .unwrap()
        .to_string()
}

/// The clinic's local date `days` from today (the test servers run in New York).
fn local_day(days: i64) -> String {
    let tz = jiff::tz::TimeZone::get("America/New_York").unwrap();
    let now = clowder_actors::Clock::now(&clowder_actors::SystemClock).to_zoned(tz);
    now.date().checked_add(jiff::Span::new().days(days)).unwrap().to_string()
}

/// A client that without redirects, to see the 302 itself.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The path (from `/l/`) of the first `src`/`href` in `html` containing `/l/<prefix>/`.
fn link_path(html: &str, prefix: &str) -> String {
    let at = html.find(&format!("/l/{prefix}/")).unwrap_or_else(|| panic!("no /l/{prefix}/ in {html}"));
    let end = at + html[at..].find('"').unwrap();
    html[at..end].to_owned()
}

const HTML: &str = "<html><body><p>Hello!</p>\
    <p><a href=\"https://example.org/kitten-care?a=1&amp;b=2\">Kitten care</a></p>\
    <p><a style=\"x\" href=\"https://example.org/food\">Food</a></p>\
    <p><a href=\"mailto:desk@example.org\">Write to us</a></p>\
    <p><a href=\"{base}/l/confirm/AAAA\">Confirm</a> <a href=\"{base}/l/unsubscribe/BBBB\">Unsubscribe</a></p>\
    </body></html>";

#[tokio::test]
async fn an_email_is_tracked_opens_and_clicks_count_and_nothing_else_redirects() {
    let app = app().await;
    let client = app
        .create_client(
            json!({"first_name": "Ada", "last_name": "Byron", "phone": "(508) 555-0142", "email": "ada@example.com"}),
        )
        .await;
    // The clinic's own links start with its public URL (what `Links` writes).
    let html = HTML.replace("{base}", &app.system.ctx.config.comms.clinic.public_url);
    let text = "Kitten care: https://example.org/kitten-care?a=1&b=2".to_owned();
    let new = NewMessage {
        to: Recipient::Email(Email::parse("to", "ada@example.com").unwrap()),
        client_id: Some(id_of(&client).parse::<ClientId>().unwrap()),
        subject: Some("News".into()),
        text: text.clone(),
        html: Some(html.clone()),
        idempotency_key: "analytics:tracked".into(),
        due_at: None,
        purpose: Purpose::Transactional,
        template: None,
        automation: None,
    };
    let id: MessageId = app.system.messages.send(new, &Caller::system()).await.unwrap();
    let m = app.poll_json(&format!("/api/messages/{id}"), |m| m["status"] == "sent").await;

    // Stored as sent: the pixel before </body>, the two web links rewritten, the rest as written.
    let stored = m["html"].as_str().unwrap();
    let pixel = link_path(stored, "open");
    assert!(stored.find(&pixel).unwrap() < stored.find("</body>").unwrap(), "{stored}");
    assert!(stored.contains("width=\"1\" height=\"1\""), "{stored}");
    assert_eq!(m["tracked_links"], json!(["https://example.org/kitten-care?a=1&b=2", "https://example.org/food"]));
    assert_eq!(stored.matches("/l/click/").count(), 2, "{stored}");
    assert!(!stored.contains("https://example.org/"), "{stored}");
    for kept in ["mailto:desk@example.org", "/l/confirm/AAAA", "/l/unsubscribe/BBBB"] {
        assert!(stored.contains(kept), "{kept} was rewritten: {stored}");
    }
    assert_eq!(m["text"], text.as_str(), "the plain text is not rewritten");
    assert_eq!((m["opens"].as_u64(), m["clicks"].as_u64()), (Some(0), Some(0)));

    // The pixel: a GIF, not cached; twice → 2 opens, the first time kept.
    let get_pixel = |path: String| {
        let app = &app;
        async move { app.anonymous(Method::GET, &path).send().await.unwrap() }
    };
    let res = get_pixel(pixel.clone()).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/gif");
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(&res.bytes().await.unwrap()[..6], b"GIF89a");
    let once = app.get_json(&format!("/api/messages/{id}")).await;
    assert_eq!(once["opens"], 1);
    let first = once["opened_at"].as_str().unwrap().to_owned();
    get_pixel(pixel.clone()).await;
    let twice = app.get_json(&format!("/api/messages/{id}")).await;
    assert_eq!((twice["opens"].as_u64(), twice["opened_at"].as_str()), (Some(2), Some(first.as_str())));
    // A junk or tampered token still gets the GIF (mail clients show broken images), counts nothing.
    for junk in ["/l/open/junk".to_owned(), format!("{}x", &pixel[..pixel.len() - 1])] {
        let res = get_pixel(junk).await;
        assert_eq!((res.status(), res.headers()["content-type"].to_str().unwrap()), (StatusCode::OK, "image/gif"));
    }
    assert_eq!(app.get_json(&format!("/api/messages/{id}")).await["opens"], 2);
    // A burst of loads at once (a mail provider's proxy, Apple's preloading): every one counts.
    let burst: Vec<_> = (0..12).map(|_| get_pixel(pixel.clone())).collect();
    for res in futures_util::future::join_all(burst).await {
        assert_eq!(res.status(), StatusCode::OK);
    }
    assert_eq!(app.get_json(&format!("/api/messages/{id}")).await["opens"], 14);
    // A HEAD (a link checker), or staff viewing the message (their session goes along), get the
    // same answer and are not opens.
    let head = app.anonymous(Method::HEAD, &pixel).send().await.unwrap();
    assert_eq!((head.status(), head.headers()["content-type"].to_str().unwrap()), (StatusCode::OK, "image/gif"));
    let staff = app.get(&pixel).await;
    assert_eq!((staff.status(), staff.headers()["content-type"].to_str().unwrap()), (StatusCode::OK, "image/gif"));
    assert_eq!(app.get_json(&format!("/api/messages/{id}")).await["opens"], 14);

    // A click: 302 to the original URL, counted with its link.
    let click = link_path(stored, "click");
    assert!(click.ends_with("/0"), "{click}");
    let raw = no_redirects();
    let res = raw.get(app.url(&click)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(res.headers()["location"], "https://example.org/kitten-care?a=1&b=2");
    let second = click.replace("/0", "/1");
    let res = raw.get(app.url(&second)).send().await.unwrap();
    assert_eq!(res.headers()["location"], "https://example.org/food");
    raw.get(app.url(&second)).send().await.unwrap();
    let head = raw.head(app.url(&second)).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::FOUND, "a HEAD is answered like a GET and not counted");
    let m = app.get_json(&format!("/api/messages/{id}")).await;
    assert_eq!((m["clicks"].as_u64(), m["link_clicks"].clone()), (Some(3), json!([1, 2])));
    assert!(m["clicked_at"].is_string());

    // Tampered, out of range, not a number, the pixel's token: a 404 page, never a redirect.
    let token = click.trim_start_matches("/l/click/").trim_end_matches("/0");
    let mut tampered = token.to_owned();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let open_token = pixel.trim_start_matches("/l/open/");
    for bad in [
        format!("/l/click/{tampered}/0"),
        format!("/l/click/{token}/2"),
        format!("/l/click/{token}/+1"),
        format!("/l/click/{open_token}/0"),
    ] {
        let res = raw.get(app.url(&bad)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{bad}");
        assert!(res.headers().get("location").is_none(), "{bad}");
    }
    assert_eq!(app.get_json(&format!("/api/messages/{id}")).await["clicks"], 3);
}

/// Today's clients count as new (by default the clinic's first day's clients are its existing ones).
async fn welcome_today(app: &TestApp) {
    let since = json!({ "params": { "since": "2000-01-01" } });
    expect_json(app.patch_json("/api/automations/welcome", &since).await, StatusCode::OK).await;
}

async fn welcome(app: &TestApp) -> Vec<Value> {
    let page = app.get_json("/api/messages?limit=200").await;
    page["items"].as_array().unwrap().iter().filter(|m| m["automation"] == "welcome").cloned().collect()
}

#[tokio::test]
async fn two_active_templates_split_clients_by_key_and_the_report_counts_each_variant() {
    let app = app().await;
    for i in 0..16 {
        let c = app
            .create_client(json!({"first_name": format!("Client{i}"), "last_name": "Ab", "phone": "(508) 555-0142",
                "email": format!("c{i}@example.com")}))
            .await;
        app.some_patient(&id_of(&c), &format!("Cat{i}")).await;
    }
    let b = json!({"category": "welcome", "channel": "email", "name": "Welcome B",
        "subject": "Welcome to {{ clinic_name }}",
        "text_body": "Hi {{ client_name }}, welcome. {{ clinic_name }}",
        "html_body": "<p>Hi {{ client_name }}, welcome.</p><p><a href=\"https://example.org/kitten-care\">Kitten care</a></p>"});
    expect_json(app.post_json("/api/templates", &b).await, StatusCode::CREATED).await;
    let templates = app.get_json("/api/templates?limit=200").await;
    let mut variants: Vec<String> = templates["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["category"] == "welcome" && t["channel"] == "email" && t["active"] == true)
        .map(id_of)
        .collect();
    variants.sort_by_key(|id| id.parse::<clowder_schemas::TemplateId>().unwrap().as_u128());
    assert_eq!(variants.len(), 2, "{templates}");

    welcome_today(&app).await;
    for _ in 0..2 {
        let job = expect_json(app.post_json("/api/automations/sweep", &json!({})).await, StatusCode::ACCEPTED).await;
        app.poll_json(&format!("/api/jobs/{}", job["job_id"].as_str().unwrap()), |j| j["state"] == "succeeded").await;
    }
    // Run twice: one message per client, each with the variant its key picks.
    let msgs = welcome(&app).await;
    assert_eq!(msgs.len(), 16);
    let mut used = std::collections::BTreeSet::new();
    for m in &msgs {
        let key = m["idempotency_key"].as_str().unwrap();
        let expected = &variants[clowder_actors::comms::analytics::variant_index(key, 2)];
        assert_eq!(m["template_id"].as_str(), Some(expected.as_str()), "{m}");
        used.insert(expected.clone());
    }
    assert_eq!(used.len(), 2, "both variants are used");

    // Everything sent; one email of variant B opened and clicked.
    app.poll_json("/api/messages?limit=200", |p| {
        p["items"].as_array().unwrap().iter().filter(|m| m["automation"] == "welcome" && m["status"] == "sent").count()
            == 16
    })
    .await;
    let of_b: Vec<&Value> = msgs.iter().filter(|m| m["template_id"] == variants[1].as_str()).collect();
    let html = of_b[0]["html"].as_str().unwrap();
    app.anonymous(Method::GET, &link_path(html, "open")).send().await.unwrap();
    let res = no_redirects().get(app.url(&link_path(html, "click"))).send().await.unwrap();
    assert_eq!(res.headers()["location"], "https://example.org/kitten-care");

    let r = app.get_json("/api/communications/analytics?automation=welcome").await;
    assert_eq!((r["totals"]["messages"].as_u64(), r["totals"]["sent"].as_u64()), (Some(16), Some(16)), "{r}");
    assert_eq!((r["totals"]["opened"].as_u64(), r["totals"]["clicked"].as_u64()), (Some(1), Some(1)), "{r}");
    let rows = r["variants"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{r}");
    assert_eq!(rows[0]["template_id"], variants[0].as_str());
    let row_b = &rows[1];
    assert_eq!(row_b["template_id"], variants[1].as_str());
    assert_eq!(row_b["template_name"], "Welcome B");
    let n = of_b.len() as u64;
    assert_eq!(
        (row_b["sent"].as_u64(), row_b["tracked"].as_u64(), row_b["opened"].as_u64()),
        (Some(n), Some(n), Some(1))
    );
    let rate = (1.0 / n as f64 * 10_000.0).round() / 10_000.0;
    assert_eq!(row_b["open_rate"].as_f64(), Some(rate), "{row_b}");
    assert_eq!(rows[0]["opened"], 0);
}

#[tokio::test]
async fn conversion_counts_bookings_after_the_message_and_no_shows_split_by_reminder() {
    let c = Clinic::on(app().await).await;
    let app = &c.app;
    // Zoe's two visits of this morning were booked before any message: no reminder (the
    // reminders of a past visit are skipped), and they do not count as converted.
    let mut body = c.wellness(&in_secs(-4 * 3_600));
    body["client_id"] = json!(c.client2);
    body["patient_id"] = json!(c.cat2);
    let missed = id_of(&c.book(&body).await);
    body["start"] = json!(in_secs(-2 * 3_600));
    let seen = id_of(&c.book(&body).await);

    // Welcome messages (a sweep) to both clients, sent.
    welcome_today(app).await;
    let job = expect_json(app.post_json("/api/automations/sweep", &json!({})).await, StatusCode::ACCEPTED).await;
    app.poll_json(&format!("/api/jobs/{}", job["job_id"].as_str().unwrap()), |j| j["state"] == "succeeded").await;
    let sent_welcome = |p: &Value| {
        p["items"].as_array().unwrap().iter().filter(|m| m["automation"] == "welcome" && m["status"] == "sent").count()
    };
    app.poll_json("/api/messages?limit=200", |p| sent_welcome(p) == 2).await;

    // Jon books after his welcome: converted. His visit is reminded at once (offset 60 min).
    let r = app
        .patch_json("/api/automations/appointment_reminder", &json!({ "params": { "offsets_minutes": [60] } }))
        .await;
    expect_json(r, StatusCode::OK).await;
    let reminded = id_of(&c.book(&c.wellness(&in_secs(3_600 + 3))).await);
    // His second cat at the same visit: its reminder is the visit's one message, which names
    // the first appointment; this one counts as reminded too.
    let biscuit = app.some_patient(&c.client, "Biscuit").await;
    let mut body = c.wellness(&in_secs(3_600 + 1_800));
    body["patient_id"] = json!(biscuit);
    body["vet_id"] = json!(c.surgeon);
    body["room_id"] = Value::Null;
    let same_visit = id_of(&c.book(&body).await);
    app.poll_json("/api/messages?limit=200", |p| {
        p["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["automation"] == "appointment_reminder" && m["status"] == "sent")
    })
    .await;

    // Final statuses: Jon's reminded visit completed; Zoe's first missed, second completed.
    for (id, path) in [
        (&reminded, &["checked_in", "in_progress", "completed"][..]),
        (&same_visit, &["checked_in", "in_progress", "completed"][..]),
        (&missed, &["no_show"][..]),
        (&seen, &["checked_in", "in_progress", "completed"][..]),
    ] {
        for to in path {
            let res = c.transition(id, to).await;
            assert_eq!(res.status(), StatusCode::OK, "{id} → {to}: {}", res.text().await.unwrap());
        }
    }

    let range = format!("from={}&to={}", local_day(-1), local_day(1));
    let r = app.get_json(&format!("/api/communications/analytics?automation=welcome&{range}")).await;
    let t = &r["totals"];
    assert_eq!(
        (t["messages"].as_u64(), t["sent"].as_u64(), t["converted"].as_u64()),
        (Some(2), Some(2), Some(1)),
        "{r}"
    );
    assert_eq!(t["conversion_rate"].as_f64(), Some(0.5));
    assert_eq!((t["tracked"].as_u64(), t["open_rate"].clone()), (Some(0), Value::Null), "texts carry no pixel: {r}");
    assert_eq!(r["convert_days"], 14);
    let rows = r["variants"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{r}");
    assert_eq!((rows[0]["category"].as_str(), rows[0]["channel"].as_str()), (Some("welcome"), Some("sms")));
    assert_eq!(
        r["no_shows"],
        json!({
            "reminded": { "completed": 2, "no_show": 0, "cancelled": 0, "no_show_rate": 0.0 },
            "not_reminded": { "completed": 1, "no_show": 1, "cancelled": 0, "no_show_rate": 0.5 },
        }),
        "{r}"
    );
    // The reminder came after Jon's booking: not a conversion.
    let r = app.get_json(&format!("/api/communications/analytics?category=appointment_reminder&{range}")).await;
    assert_eq!((r["totals"]["sent"].as_u64(), r["totals"]["converted"].as_u64()), (Some(1), Some(0)), "{r}");
    // A range before everything: nothing.
    let r = app.get_json(&format!("/api/communications/analytics?from={}&to={}", local_day(-30), local_day(-2))).await;
    assert_eq!(r["totals"]["messages"], 0, "{r}");
    assert_eq!(r["no_shows"]["not_reminded"]["no_show"], 0, "{r}");

    // Bad parameters.
    for (query, field) in [
        ("from=2026-02-30", "from"),
        ("to=yesterday", "to"),
        (&format!("from={}&to={}", local_day(0), local_day(-1)) as &str, "to"),
        (&format!("from={}&to={}", local_day(-400), local_day(0)) as &str, "to"),
        ("convert_days=0", "convert_days"),
        ("convert_days=91", "convert_days"),
        ("category=nope", "category"),
        ("automation=nope", "automation"),
    ] {
        let res = app.get(&format!("/api/communications/analytics?{query}")).await;
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
    }
}
