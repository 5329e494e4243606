//! Marketing over HTTP: each segment filter includes and excludes the right clients (visits
//! seeded in the store: completed ones at two locations, a cancelled one); a campaign sent
//! now reaches only clients who opted in (the others `suppressed`, one without email skipped)
//! and its results add up; a scheduled campaign's job is due at its time and cancel stops
//! it; the newsletter's double opt-in (same 202 for unknown emails, tampered links refused,
//! consent granted with source `double_opt_in`, then reached by a campaign); 4xx bodies and
//! who may create campaigns; a referral code recording a credit owed until redeemed.

use clowder_actors::comms::links::LinkPurpose;
use clowder_actors::store::{ChangeSet, RecordTable};
use clowder_schemas::appointments::{Appointment, Source, Status, StatusTimes};
use clowder_schemas::{AppointmentId, AppointmentTypeId, LocationId};
use jiff::{SignedDuration, Span};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::access::staff_user;
use crate::helpers::{TestApp, UNKNOWN_ID, assert_error, expect_json, id_of};

async fn client(app: &TestApp, first: &str, email: Option<&str>) -> String {
    let mut body = json!({"first_name": first, "last_name": "Test", "phone": "(503) 555-0199"});
    if let Some(e) = email {
        body["email"] = json!(e);
    }
    id_of(&app.create_client(body).await)
}

async fn cat(app: &TestApp, client: &str, years: i64, months: i64, breed: &str) -> String {
    let today = app.system.ctx.today();
    let born = today.checked_sub(Span::new().years(years).months(months)).unwrap();
    let body = json!({"client_id": client, "name": "Cat", "date_of_birth": born.to_string(), "breed": breed});
    id_of(&app.create_patient(body).await)
}

/// A past visit written straight into the store (the API books only from now on).
async fn visit(
    app: &TestApp,
    client: &str,
    patient: &str,
    days_ago: i64,
    at: LocationId,
    kind: AppointmentTypeId,
    status: Status,
) {
    let ctx = &app.system.ctx;
    let start = ctx.clock.now().checked_sub(SignedDuration::from_hours(24 * days_ago)).unwrap();
    let a = Appointment {
        id: AppointmentId::from_ulid(ctx.new_ulid()),
        location_id: at,
        client_id: client.parse().unwrap(),
        patient_id: patient.parse().unwrap(),
        type_id: kind,
        vet_id: None,
        room_id: None,
        start,
        end: start.checked_add(SignedDuration::from_mins(30)).unwrap(),
        buffer_after_minutes: 0,
        reason: None,
        notes: None,
        status,
        times: StatusTimes::default(),
        history: Vec::new(),
        cancelled_by: None,
        cancel_reason: None,
        source: Source::Staff,
        overbooked: false,
        sequence: 0,
        created_by: None,
        created_at: start,
        updated_at: start,
    };
    let mut set = ChangeSet::new();
    set.put(RecordTable::Appointments, a.id.as_u128(), &a).unwrap();
    app.system.store().commit(set).await.unwrap();
}

async fn segment(app: &TestApp, filter: Value) -> String {
    let body =
        if filter.is_null() { json!({ "name": "Audience" }) } else { json!({ "name": "Audience", "filter": filter }) };
    id_of(&expect_json(app.post_json("/api/segments", &body).await, StatusCode::CREATED).await)
}

/// The ids a filter holds, sorted, checked against its preview's count.
async fn members(app: &TestApp, filter: Value) -> Vec<String> {
    let id = segment(app, filter).await;
    let p = app.get_json(&format!("/api/segments/{id}/preview?limit=100")).await;
    let mut ids: Vec<String> =
        p["clients"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(p["count"].as_u64(), Some(ids.len() as u64), "{p}");
    ids.sort();
    ids
}

fn sorted(v: &[&String]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn each_segment_filter_includes_and_excludes_the_right_clients() {
    let app = TestApp::signed_in().await;
    let first: LocationId = app.get_json("/api/locations").await[0]["id"].as_str().unwrap().parse().unwrap();
    let east = json!({ "name": "East", "time_zone": "America/New_York" });
    let east = id_of(&expect_json(app.post_json("/api/locations", &east).await, StatusCode::CREATED).await);
    let (l1, l2) = (first, east.parse::<LocationId>().unwrap());
    let types = app.get_json("/api/appointment-types").await;
    let ty = |i: usize| types[i]["id"].as_str().unwrap().parse::<AppointmentTypeId>().unwrap();
    let (t1, t2) = (ty(0), ty(1));

    // Kira: a geriatric Maine Coon, last seen 400 days ago at L1 (type T1): lapsed.
    let kira = client(&app, "Kira", None).await;
    let old = cat(&app, &kira, 16, 0, "Maine Coon").await;
    visit(&app, &kira, &old, 400, l1, t1, Status::Completed).await;
    // Ben: a young adult Siamese, seen 10 and 100 days ago at L2 (T2); a cancelled visit at
    // L1 five days ago does not count.
    let ben = client(&app, "Ben", None).await;
    let siam = cat(&app, &ben, 3, 0, "Siamese").await;
    visit(&app, &ben, &siam, 10, l2, t2, Status::Completed).await;
    visit(&app, &ben, &siam, 100, l2, t2, Status::Completed).await;
    visit(&app, &ben, &siam, 5, l1, t1, Status::Cancelled).await;
    // Cleo: a kitten ("siamese", another case), never seen.
    let cleo = client(&app, "Cleo", None).await;
    cat(&app, &cleo, 0, 3, "siamese").await;
    // Dan: a mature cat, seen 20 days ago at L1 (T1), but the client is deactivated.
    let dan = client(&app, "Dan", None).await;
    let mature = cat(&app, &dan, 8, 0, "Domestic Shorthair").await;
    visit(&app, &dan, &mature, 20, l1, t1, Status::Completed).await;
    assert_eq!(app.delete(&format!("/api/clients/{dan}")).await.status(), StatusCode::OK);

    let cases: Vec<(Value, Vec<String>)> = vec![
        (json!({}), sorted(&[&kira, &ben, &cleo])),
        (json!({ "active_only": false }), sorted(&[&kira, &ben, &cleo, &dan])),
        (json!({ "last_visit_older_than_days": 365 }), sorted(&[&kira])),
        (json!({ "last_visit_within_days": 30 }), sorted(&[&ben])),
        (json!({ "last_visit_within_days": 30, "active_only": false }), sorted(&[&ben, &dan])),
        (json!({ "min_visits_12m": 2 }), sorted(&[&ben])),
        (json!({ "max_visits_12m": 0 }), sorted(&[&kira, &cleo])),
        (json!({ "appointment_type_ids": [t1.to_string()] }), sorted(&[&kira])),
        (json!({ "location_ids": [l2.to_string()] }), sorted(&[&ben])),
        (json!({ "location_ids": [l1.to_string()], "active_only": false }), sorted(&[&kira, &dan])),
        (json!({ "life_stages": ["kitten"] }), sorted(&[&cleo])),
        (json!({ "life_stages": ["geriatric"] }), sorted(&[&kira])),
        (json!({ "life_stages": ["young_adult", "kitten"] }), sorted(&[&ben, &cleo])),
        (json!({ "breeds": ["Siamese"] }), sorted(&[&ben, &cleo])),
        (json!({ "breeds": ["siamese"], "life_stages": ["kitten"] }), sorted(&[&cleo])),
        (json!({ "breeds": ["Maine Coon"], "last_visit_within_days": 30 }), vec![]),
    ];
    for (filter, want) in cases {
        assert_eq!(members(&app, filter.clone()).await, want, "{filter}");
    }

    // The preview names clients only ("Last, First") and is audited.
    let id = segment(&app, json!({ "breeds": ["Maine Coon"] })).await;
    let p = app.get_json(&format!("/api/segments/{id}/preview")).await;
    assert_eq!(p, json!({ "count": 1, "clients": [{ "id": kira, "name": "Test, Kira" }] }));
    app.poll_json(&format!("/api/audit?action=segment.preview&record_id={id}"), |a| {
        a["items"].as_array().is_some_and(|i| !i.is_empty())
    })
    .await;

    // Bad filters name their field; an unknown segment is 404.
    for (filter, field) in [
        (json!({ "min_visits_12m": 3, "max_visits_12m": 1 }), "filter.max_visits_12m"),
        (json!({ "breeds": [" "] }), "filter.breeds[0]"),
        (json!({ "location_ids": [l1.to_string(), UNKNOWN_ID] }), "filter.location_ids[1]"),
        (json!({ "appointment_type_ids": [UNKNOWN_ID] }), "filter.appointment_type_ids[0]"),
    ] {
        let r = app.post_json("/api/segments", &json!({ "name": "x", "filter": filter })).await;
        assert_error(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
    }
    // Without a filter: every active client.
    assert_eq!(members(&app, json!(null)).await, sorted(&[&kira, &ben, &cleo]));
    let r = app.post_json("/api/segments", &json!({ "name": " ", "filter": {} })).await;
    assert_error(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("name")).await;
    let r = app.get(&format!("/api/segments/{UNKNOWN_ID}/preview")).await;
    assert_error(r, StatusCode::NOT_FOUND, "segment_not_found", None).await;
}

async fn campaign_template(app: &TestApp) -> String {
    let body = json!({
        "category": "campaign", "channel": "email", "name": "Spring news",
        "subject": "News from {{ clinic_name }}",
        "text_body": "Hi {{ client_first_name }}, dental month is here for {{ pet_names }}.",
    });
    id_of(&expect_json(app.post_json("/api/templates", &body).await, StatusCode::CREATED).await)
}

async fn opt_in(app: &TestApp, client: &str) {
    let body = json!({ "channel": "email", "purpose": "marketing", "granted": true });
    expect_json(app.post_json(&format!("/api/clients/{client}/consent"), &body).await, StatusCode::CREATED).await;
}

/// Polls a campaign until it is sent and no message is still queued.
async fn settled(app: &TestApp, id: &str) -> Value {
    app.poll_json(&format!("/api/campaigns/{id}"), |c| c["state"] == "sent" && c["results"]["queued"] == 0).await
}

fn adds_up(results: &Value) {
    let n = |k: &str| results[k].as_u64().unwrap();
    let parts = ["skipped", "queued", "sent", "delivered", "suppressed", "bounced", "failed"];
    assert_eq!(parts.iter().map(|k| n(k)).sum::<u64>(), n("audience"), "{results}");
}

#[tokio::test]
async fn a_campaign_sent_now_reaches_only_opted_in_clients_and_its_results_add_up() {
    let app = TestApp::signed_in().await;
    let yes = client(&app, "Yara", Some("yara@example.com")).await;
    let no = client(&app, "Noah", Some("noah@example.com")).await;
    let _none = client(&app, "Nell", None).await;
    opt_in(&app, &yes).await;
    let t = campaign_template(&app).await;
    let everyone = segment(&app, json!({})).await;

    // Refusals name their field.
    let follow_up = json!({
        "category": "follow_up", "channel": "email", "name": "How is your cat",
        "subject": "Hi", "text_body": "Hi {{ client_first_name }}",
    });
    let other = id_of(&expect_json(app.post_json("/api/templates", &follow_up).await, StatusCode::CREATED).await);
    for (body, field) in [
        (json!({ "name": "x", "template_id": other, "segment_id": everyone }), "template_id"),
        (json!({ "name": "x", "template_id": t, "segment_id": UNKNOWN_ID }), "segment_id"),
        (json!({ "name": "x", "template_id": t, "segment_id": everyone, "channel": "sms" }), "channel"),
        (json!({ "name": "x", "template_id": t, "segment_id": everyone, "scheduled_at": "soon" }), "scheduled_at"),
        (json!({ "name": "", "template_id": t, "segment_id": everyone }), "name"),
    ] {
        let r = app.post_json("/api/campaigns", &body).await;
        assert_error(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
    }

    // Created once per Idempotency-Key.
    let body = json!({ "name": "Dental month", "template_id": t, "segment_id": everyone });
    let first = app.request(Method::POST, "/api/campaigns").header("Idempotency-Key", "dental-1").json(&body);
    let c = expect_json(first.send().await.unwrap(), StatusCode::CREATED).await;
    let again = app.request(Method::POST, "/api/campaigns").header("Idempotency-Key", "dental-1").json(&body);
    let again = again.send().await.unwrap();
    assert_eq!(again.headers().get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
    assert_eq!(expect_json(again, StatusCode::CREATED).await["id"], c["id"]);
    assert_eq!(app.get_json("/api/campaigns").await.as_array().unwrap().len(), 1);
    let id = id_of(&c);
    assert_eq!((c["state"].as_str(), c["channel"].as_str()), (Some("draft"), Some("email")));

    let r =
        expect_json(app.post_json(&format!("/api/campaigns/{id}/send-now"), &json!({})).await, StatusCode::OK).await;
    assert_eq!(r["state"], "scheduled");
    let done = settled(&app, &id).await;
    let res = &done["results"];
    assert_eq!(
        (res["audience"].as_u64(), res["skipped"].as_u64(), res["sent"].as_u64(), res["suppressed"].as_u64()),
        (Some(3), Some(1), Some(1), Some(1)),
        "{done}"
    );
    adds_up(res);

    // The opted-in client's message is marketing and names the campaign; the other's was
    // suppressed for want of consent.
    let log = app.get_json(&format!("/api/communications/log?client={yes}")).await;
    let m = &log["items"][0];
    assert_eq!((m["status"].as_str(), m["purpose"].as_str()), (Some("sent"), Some("marketing")), "{m}");
    assert_eq!(m["automation"].as_str(), Some(format!("campaign:{id}").as_str()));
    assert_eq!(m["text"], "Hi Yara, dental month is here for .");
    let log = app.get_json(&format!("/api/communications/log?client={no}")).await;
    assert_eq!(log["items"][0]["status"], "suppressed", "{log}");

    // A sent campaign cannot be sent or cancelled again.
    for action in ["send-now", "cancel"] {
        let r = app.post_json(&format!("/api/campaigns/{id}/{action}"), &json!({})).await;
        assert_error(r, StatusCode::CONFLICT, "invalid_transition", None).await;
    }
    let r = app.get(&format!("/api/campaigns/{UNKNOWN_ID}")).await;
    assert_error(r, StatusCode::NOT_FOUND, "campaign_not_found", None).await;

    // A receptionist may not create campaigns or segments.
    let token = staff_user(&app, "front", &["receptionist"]).await;
    for (path, body) in [("/api/campaigns", &body), ("/api/segments", &json!({ "name": "x" }))] {
        let r = app.anonymous(Method::POST, path).bearer_auth(&token).json(body).send().await.unwrap();
        assert_error(r, StatusCode::FORBIDDEN, "forbidden", None).await;
    }
}

#[tokio::test]
async fn a_scheduled_campaigns_job_is_due_at_its_time_and_cancel_stops_it() {
    let app = TestApp::signed_in().await;
    let c = client(&app, "Yara", Some("yara@example.com")).await;
    opt_in(&app, &c).await;
    let t = campaign_template(&app).await;
    let everyone = segment(&app, json!({})).await;
    let at = app.system.ctx.clock.now().checked_add(SignedDuration::from_hours(2)).unwrap();
    let at = jiff::Timestamp::from_second(at.as_second()).unwrap();
    let body = json!({ "name": "Later", "template_id": t, "segment_id": everyone, "scheduled_at": at.to_string() });
    let id = id_of(&expect_json(app.post_json("/api/campaigns", &body).await, StatusCode::CREATED).await);

    // A time in the past is refused; the one given at creation is used.
    let r = app
        .post_json(&format!("/api/campaigns/{id}/schedule"), &json!({ "scheduled_at": "2020-01-01T00:00:00Z" }))
        .await;
    assert_error(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("scheduled_at")).await;
    let s =
        expect_json(app.post_json(&format!("/api/campaigns/{id}/schedule"), &json!({})).await, StatusCode::OK).await;
    assert_eq!((s["state"].as_str(), s["scheduled_at"].as_str()), (Some("scheduled"), Some(at.to_string().as_str())));
    let jobs = app.system.jobs.of_subject(&format!("campaign:{id}")).unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!((jobs[0].kind.as_str(), jobs[0].due_at), ("campaign_send", at));

    let c2 = expect_json(app.post_json(&format!("/api/campaigns/{id}/cancel"), &json!({})).await, StatusCode::OK).await;
    assert_eq!(c2["state"], "cancelled");
    let jobs = app.system.jobs.of_subject(&format!("campaign:{id}")).unwrap();
    assert_eq!(serde_json::to_value(jobs[0].state).unwrap(), "cancelled");
    let r = app.post_json(&format!("/api/campaigns/{id}/send-now"), &json!({})).await;
    assert_error(r, StatusCode::CONFLICT, "invalid_transition", None).await;
    let c3 = app.get_json(&format!("/api/campaigns/{id}")).await;
    assert_eq!((c3["state"].as_str(), c3["results"]["audience"].as_u64()), (Some("cancelled"), Some(0)));
    assert!(app.get_json(&format!("/api/communications/log?client={c}")).await["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn newsletter_double_opt_in_grants_marketing_consent_only_from_the_link() {
    let app = TestApp::signed_in().await;
    let c = client(&app, "Ada", Some("ada@example.com")).await;
    let subscribe = |email: &str| {
        app.anonymous(Method::POST, "/api/communications/newsletter/subscribe").json(&json!({ "email": email })).send()
    };
    let total = || async { app.get_json("/api/communications/log?limit=200").await["items"].as_array().unwrap().len() };

    // An unknown address gets the same answer, and nothing is queued.
    let unknown = expect_json(subscribe("nobody@example.com").await.unwrap(), StatusCode::ACCEPTED).await;
    assert_eq!(total().await, 0);
    let known = expect_json(subscribe("ADA@example.com").await.unwrap(), StatusCode::ACCEPTED).await;
    assert_eq!(known, unknown);
    let r = subscribe("not an email").await.unwrap();
    assert_error(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("email")).await;

    // The confirmation email carries the link; it is transactional (no consent yet).
    let log =
        app.poll_json(&format!("/api/communications/log?client={c}"), |l| l["items"][0]["status"] == "sent").await;
    let m = &log["items"][0];
    assert_eq!(
        (m["automation"].as_str(), m["purpose"].as_str()),
        (Some("newsletter_confirmation"), Some("transactional"))
    );
    let text = m["text"].as_str().unwrap();
    let path = text.split_whitespace().find_map(|w| w.split_once("/l/subscribe/")).map(|(_, t)| t).unwrap();
    let path = format!("/l/subscribe/{path}");
    // Staff starting it the same day get the same message, not a second email.
    let staff =
        expect_json(app.post_json(&format!("/api/clients/{c}/newsletter"), &json!({})).await, StatusCode::ACCEPTED)
            .await;
    assert_eq!(staff["message_id"], m["id"]);
    assert_eq!(total().await, 1);

    let ledger_len =
        || async { app.get_json(&format!("/api/clients/{c}/consent")).await["items"].as_array().unwrap().len() };
    // The page changes nothing; a tampered link is a 404 page and changes nothing.
    let page = app.anonymous(Method::GET, &path).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("<form method=\"post\">"));
    let mut chars: Vec<char> = path.chars().collect();
    let i = chars.len() - 5;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    let subject = c.parse::<clowder_schemas::ClientId>().unwrap().as_u128();
    let past = app.system.ctx.clock.now().checked_sub(SignedDuration::from_mins(5)).unwrap();
    let expired = app.system.links.url(LinkPurpose::ConfirmSubscription, subject, past);
    let expired = expired.split_once("/l/").map(|(_, p)| format!("/l/{p}")).unwrap();
    for (p, status) in [(&tampered, StatusCode::NOT_FOUND), (&expired, StatusCode::GONE)] {
        for method in [Method::GET, Method::POST] {
            assert_eq!(app.anonymous(method, p).send().await.unwrap().status(), status, "{p}");
        }
    }
    assert_eq!(ledger_len().await, 0);

    // The button grants marketing email consent, once.
    for _ in 0..2 {
        let r = reqwest::Client::new().post(app.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let ledger = app.get_json(&format!("/api/clients/{c}/consent")).await;
    let items = ledger["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{ledger}");
    assert_eq!(
        (items[0]["source"].as_str(), items[0]["purpose"].as_str(), items[0]["granted"].as_bool()),
        (Some("double_opt_in"), Some("marketing"), Some(true))
    );
    let p = app.get_json(&format!("/api/clients/{c}/preferences")).await;
    assert_eq!(p["email"]["marketing"], true);

    // A campaign now reaches them.
    let t = campaign_template(&app).await;
    let everyone = segment(&app, json!({})).await;
    let body = json!({ "name": "News", "template_id": t, "segment_id": everyone });
    let id = id_of(&expect_json(app.post_json("/api/campaigns", &body).await, StatusCode::CREATED).await);
    expect_json(app.post_json(&format!("/api/campaigns/{id}/send-now"), &json!({})).await, StatusCode::OK).await;
    let done = settled(&app, &id).await;
    assert_eq!((done["results"]["audience"].as_u64(), done["results"]["sent"].as_u64()), (Some(1), Some(1)), "{done}");
}

#[tokio::test]
async fn a_referral_code_records_a_credit_owed_to_the_referrer_until_redeemed() {
    let app = TestApp::signed_in().await;
    let ada = client(&app, "Ada", None).await;
    let ben = client(&app, "Ben", None).await;
    let cleo = client(&app, "Cleo", None).await;

    // The code is stable; nothing is owed yet.
    let r = app.get_json(&format!("/api/clients/{ada}/referral")).await;
    let code = r["code"].as_str().unwrap().to_owned();
    assert_eq!((code.len(), &code[4..5]), (9, "-"), "{r}");
    assert_eq!((r["owed"].as_u64(), r["referrals"].as_array().map(Vec::len)), (Some(0), Some(0)));
    assert_eq!(app.get_json(&format!("/api/clients/{ada}/referral")).await["code"], code.as_str());
    let bens = app.get_json(&format!("/api/clients/{ben}/referral")).await["code"].as_str().unwrap().to_owned();
    assert_ne!(bens, code);

    // Ben came through Ada's code (typed in lower case, without the dash).
    let typed = code.replace('-', "").to_lowercase();
    let body = json!({ "code": typed, "client_id": ben, "credit": "$20 off the next visit" });
    let x = expect_json(app.post_json("/api/referrals", &body).await, StatusCode::CREATED).await;
    assert_eq!((x["referrer_id"].as_str(), x["status"].as_str()), (Some(ada.as_str()), Some("owed")));
    assert_eq!((x["code"].as_str(), x["credit"].as_str()), (Some(code.as_str()), Some("$20 off the next visit")));
    // Once per referred client; a code of nobody, one's own code and unknown clients are refused.
    let r = app.post_json("/api/referrals", &json!({ "code": code, "client_id": ben })).await;
    assert_error(r, StatusCode::CONFLICT, "duplicate_value", Some("client_id")).await;
    for (body, field) in [
        (json!({ "code": "ZZZZ-ZZZZ", "client_id": cleo }), "code"),
        (json!({ "code": "short", "client_id": cleo }), "code"),
        (json!({ "code": code, "client_id": ada }), "code"),
        (json!({ "code": code, "client_id": UNKNOWN_ID }), "client_id"),
        (json!({ "code": code, "client_id": cleo, "credit": " " }), "credit"),
    ] {
        let r = app.post_json("/api/referrals", &body).await;
        assert_error(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
    }
    let r = app.get_json(&format!("/api/clients/{ada}/referral")).await;
    assert_eq!((r["owed"].as_u64(), r["referrals"][0]["referred_id"].as_str()), (Some(1), Some(ben.as_str())));

    // The front desk redeems it, once.
    let id = id_of(&x);
    let y = expect_json(app.post_json(&format!("/api/referrals/{id}/redeem"), &json!({})).await, StatusCode::OK).await;
    assert_eq!(y["status"], "redeemed");
    let r = app.post_json(&format!("/api/referrals/{id}/redeem"), &json!({})).await;
    assert_error(r, StatusCode::CONFLICT, "invalid_transition", None).await;
    let r = app.post_json(&format!("/api/referrals/{UNKNOWN_ID}/redeem"), &json!({})).await;
    assert_error(r, StatusCode::NOT_FOUND, "referral_not_found", None).await;
    assert_eq!(app.get_json(&format!("/api/clients/{ada}/referral")).await["owed"], 0);
}

#[tokio::test]
async fn the_public_subscribe_route_is_rate_limited_per_address() {
    let app = TestApp::spawn_with(|a| {
        a.security.rate_per_sec = 1;
        a.security.rate_burst = 2;
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let r = app
            .anonymous(Method::POST, "/api/communications/newsletter/subscribe")
            .json(&json!({ "email": "someone@example.com" }))
            .send()
            .await
            .unwrap();
        statuses.push(r.status());
    }
    assert_eq!(&statuses[..2], &[StatusCode::ACCEPTED, StatusCode::ACCEPTED]);
    assert!(statuses[2..].contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
}

#[tokio::test]
async fn cancelling_a_campaign_while_it_sends_stops_its_remaining_chunks() {
    // One job at a time: the first chunk's 200 `send_message` jobs run before the second
    // chunk's job, so the campaign stays `sending` long enough to be cancelled there. A run
    // whose change set the cancel refused is retried soon.
    let app = TestApp::spawn_with(|a| {
        a.jobs.jobs_concurrency = 1;
        a.jobs.jobs_backoff_base_ms = 20;
        a.jobs.jobs_backoff_cap_ms = 200;
    })
    .await;
    app.login_admin().await;
    // More than one chunk of 200.
    for i in 0..230 {
        client(&app, &format!("C{i}"), Some(&format!("c{i}@example.com"))).await;
    }
    let t = campaign_template(&app).await;
    let everyone = segment(&app, json!({})).await;
    let body = json!({ "name": "Big", "template_id": t, "segment_id": everyone });
    let id = id_of(&expect_json(app.post_json("/api/campaigns", &body).await, StatusCode::CREATED).await);
    expect_json(app.post_json(&format!("/api/campaigns/{id}/send-now"), &json!({})).await, StatusCode::OK).await;
    app.poll_json(&format!("/api/campaigns/{id}"), |c| c["state"] == "sending").await;
    let c = expect_json(app.post_json(&format!("/api/campaigns/{id}/cancel"), &json!({})).await, StatusCode::OK).await;
    assert_eq!(c["state"], "cancelled");

    // The first chunk was queued; the second never is: every job of the campaign ends, and
    // the campaign stays cancelled.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let jobs = app.system.jobs.of_subject(&format!("campaign:{id}")).unwrap();
        let states: Vec<Value> = jobs.iter().map(|j| serde_json::to_value(j.state).unwrap()).collect();
        if states.iter().all(|s| s == "succeeded" || s == "cancelled") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{states:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let c = app.get_json(&format!("/api/campaigns/{id}")).await;
    assert_eq!(c["state"], "cancelled", "{c}");
    let r = &c["results"];
    let queued_in_all = ["queued", "sent", "delivered", "suppressed", "bounced", "failed"]
        .iter()
        .map(|k| r[k].as_u64().unwrap())
        .sum::<u64>();
    assert_eq!((r["audience"].as_u64(), queued_in_all), (Some(230), 200), "{c}");
}

#[tokio::test]
async fn a_new_client_can_give_a_referral_code_recorded_with_them_or_not_at_all() {
    let app = TestApp::signed_in().await;
    let ada = client(&app, "Ada", None).await;
    let code = app.get_json(&format!("/api/clients/{ada}/referral")).await["code"].as_str().unwrap().to_owned();
    let body = |code: &str, email: &str| json!({ "first_name": "Ben", "last_name": "New", "phone": "(503) 555-0100", "email": email, "referral_code": code });

    // A code of nobody, or not a code: 422 naming the field, and no client (the email is free).
    for bad in ["ZZZZ-ZZZZ", "short"] {
        let r = app.post_json("/api/clients", &body(bad, "ben@example.com")).await;
        assert_error(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("referral_code")).await;
    }
    let listed = app.get_json("/api/clients?name=new").await;
    assert!(listed["items"].as_array().unwrap().is_empty(), "{listed}");

    // Ada's code (as typed at the desk): the client and the referral, in one change set.
    let typed = code.replace('-', " ").to_lowercase();
    let ben =
        expect_json(app.post_json("/api/clients", &body(&typed, "ben@example.com")).await, StatusCode::CREATED).await;
    let ben = id_of(&ben);
    let r = app.get_json(&format!("/api/clients/{ada}/referral")).await;
    assert_eq!((r["owed"].as_u64(), r["referrals"][0]["referred_id"].as_str()), (Some(1), Some(ben.as_str())), "{r}");
    assert_eq!(r["referrals"][0]["credit"], "Referral credit");
    let created = app.get_json(&format!("/api/audit?record_id={ben}&action=client.create")).await;
    let referral = app.get_json("/api/audit?action=referral.create").await;
    assert_eq!((created["items"].as_array().unwrap().len(), referral["items"].as_array().unwrap().len()), (1, 1));
    // One change set: its audit entries are chained one after the other.
    let seq = |v: &Value| v["items"][0]["seq"].as_u64().unwrap();
    assert_eq!(seq(&created).abs_diff(seq(&referral)), 1, "{created} {referral}");

    // A client that cannot be created (the email is Ben's) records no referral either.
    let r = app.post_json("/api/clients", &body(&code, "ben@example.com")).await;
    assert_error(r, StatusCode::CONFLICT, "duplicate_value", Some("email")).await;
    let r = app.get_json(&format!("/api/clients/{ada}/referral")).await;
    assert_eq!(r["referrals"].as_array().unwrap().len(), 1, "{r}");
}

#[tokio::test]
async fn a_scheduled_campaign_can_be_rescheduled_until_it_starts_sending() {
    let app = TestApp::signed_in().await;
    let c = client(&app, "Yara", Some("yara@example.com")).await;
    opt_in(&app, &c).await;
    let t = campaign_template(&app).await;
    let everyone = segment(&app, json!({})).await;
    let at = |hours: i64| {
        let t = app.system.ctx.clock.now().checked_add(SignedDuration::from_hours(hours)).unwrap();
        jiff::Timestamp::from_second(t.as_second()).unwrap()
    };
    let body = json!({ "name": "Later", "template_id": t, "segment_id": everyone, "scheduled_at": at(2).to_string() });
    let id = id_of(&expect_json(app.post_json("/api/campaigns", &body).await, StatusCode::CREATED).await);
    expect_json(app.post_json(&format!("/api/campaigns/{id}/schedule"), &json!({})).await, StatusCode::OK).await;
    let job = app.system.jobs.of_subject(&format!("campaign:{id}")).unwrap()[0].id;

    // Scheduled again: the same job moves to the new time.
    let later = at(5);
    let body = json!({ "scheduled_at": later.to_string() });
    let s = expect_json(app.post_json(&format!("/api/campaigns/{id}/schedule"), &body).await, StatusCode::OK).await;
    assert_eq!(
        (s["state"].as_str(), s["scheduled_at"].as_str()),
        (Some("scheduled"), Some(later.to_string().as_str()))
    );
    let jobs = app.system.jobs.of_subject(&format!("campaign:{id}")).unwrap();
    assert_eq!((jobs.len(), jobs[0].id, jobs[0].due_at), (1, job, later), "one job, moved");
    let r = app
        .post_json(&format!("/api/campaigns/{id}/schedule"), &json!({ "scheduled_at": "2020-01-01T00:00:00Z" }))
        .await;
    assert_error(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("scheduled_at")).await;

    // Once it started, its schedule cannot move: 409 with its own code.
    expect_json(app.post_json(&format!("/api/campaigns/{id}/send-now"), &json!({})).await, StatusCode::OK).await;
    settled(&app, &id).await;
    let r =
        app.post_json(&format!("/api/campaigns/{id}/schedule"), &json!({ "scheduled_at": at(9).to_string() })).await;
    let e = assert_error(r, StatusCode::CONFLICT, "campaign_started", None).await;
    let message = e["message"].as_str().unwrap_or_default();
    assert!(message.contains("already sent"), "{e}");
    // A cancelled one is not "started": its refusal is the usual invalid transition.
    let body = json!({ "name": "Other", "template_id": t, "segment_id": everyone });
    let other = id_of(&expect_json(app.post_json("/api/campaigns", &body).await, StatusCode::CREATED).await);
    app.post_json(&format!("/api/campaigns/{other}/cancel"), &json!({})).await;
    let r =
        app.post_json(&format!("/api/campaigns/{other}/schedule"), &json!({ "scheduled_at": at(3).to_string() })).await;
    assert_error(r, StatusCode::CONFLICT, "invalid_transition", None).await;
}
