//! The ward's shared tablet over HTTP (`POST /api/admissions/{id}/slots/pin`): a slot marked
//! with a nurse's PIN on a registered tablet is hers, not the tablet session's; a wrong PIN, a
//! PIN of someone without `ward:treat`, and an unregistered device are refused and mark
//! nothing; attempts are rate-limited like the exam-room tablet's; `/wards/{id}/tablet` offers
//! Done and Skip to the tablet's session and the PIN form.

use jiff::Timestamp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::access::{NEW_PASSWORD, staff_user, staff_user_with_id};
use crate::calendar::Clinic;
use crate::helpers::{TestApp, assert_error, expect_json, id_of};
use crate::visits::walk_in;

/// A ward with a cat admitted and a pain check due ten minutes ago, a registered tablet, a
/// tablet session of a practice manager (`ward:view`, not `ward:treat`), and nurse Nina
/// (vet tech) with PIN 2580.
struct Tablet {
    c: Clinic,
    ward: String,
    admission: String,
    treatment: String,
    due: Timestamp,
    credential: String,
    session: String,
    nina: String,
}

async fn set_pin(app: &TestApp, token: &str, pin: &str) {
    let res = app
        .anonymous(Method::PUT, "/api/auth/pin")
        .bearer_auth(token)
        .json(&json!({"password": NEW_PASSWORD, "pin": pin}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

impl Tablet {
    async fn on(app: TestApp) -> Tablet {
        let c = Clinic::on(app).await;
        let body = json!({"location_id": c.location, "name": "Cat ward", "cages": ["C1", "C2"]});
        let ward = id_of(&expect_json(c.app.post_json("/api/wards", &body).await, StatusCode::CREATED).await);
        let visit = id_of(
            &expect_json(c.app.post_json("/api/visits", &walk_in(&c.cat, &c.vet)).await, StatusCode::CREATED).await,
        );
        let body = json!({"ward_id": ward, "cage": "C1", "visit_id": visit, "reason": "Dehydrated"});
        let admission = id_of(&expect_json(c.app.post_json("/api/admissions", &body).await, StatusCode::CREATED).await);
        let now = c.app.system.ctx.clock.now();
        let due = Timestamp::from_second(now.as_second() - 600).unwrap();
        let body = json!({"treatment": {"type": "check", "check": "pain_score"},
                          "schedule": {"start": due.to_string(), "every_hours": 4}});
        let sheet = expect_json(
            c.app.post_json(&format!("/api/admissions/{admission}/treatments"), &body).await,
            StatusCode::OK,
        )
        .await;
        let treatment = sheet["treatments"][0]["id"].as_str().unwrap().to_owned();
        let reg =
            expect_json(c.app.post_json("/api/devices", &json!({"name": "Ward tablet"})).await, StatusCode::CREATED)
                .await;
        let credential = reg["credential"].as_str().unwrap().to_owned();
        let session = staff_user(&c.app, "ward.tablet", &["practice_manager"]).await;
        let (token, nina) = staff_user_with_id(&c.app, "nina", &["vet_tech"]).await;
        set_pin(&c.app, &token, "2580").await;
        Tablet { c, ward, admission, treatment, due, credential, session, nina }
    }

    fn done(&self) -> Value {
        json!({"treatment_id": self.treatment, "due": self.due.to_string(), "outcome": "done"})
    }

    /// A tap on the tablet: its session, its credential (if any), the username and PIN typed.
    async fn tap(&self, device: Option<&str>, username: &str, pin: &str) -> reqwest::Response {
        let path = format!("/api/admissions/{}/slots/pin", self.admission);
        let mut rb = self
            .c
            .app
            .anonymous(Method::POST, &path)
            .bearer_auth(&self.session)
            .json(&json!({"username": username, "pin": pin, "mark": self.done()}));
        if let Some(d) = device {
            rb = rb.header("x-clowder-device", d);
        }
        rb.send().await.unwrap()
    }

    async fn marks(&self) -> Vec<Value> {
        let sheet = self.c.app.get_json(&format!("/api/admissions/{}", self.admission)).await;
        sheet["marks"].as_array().unwrap().clone()
    }
}

#[tokio::test]
async fn a_slot_marked_with_a_nurses_pin_on_the_ward_tablet_is_hers_not_the_tablets() {
    let t = Tablet::on(TestApp::signed_in().await).await;
    // The tablet's session may read the board but not mark on its own.
    let path = format!("/api/admissions/{}/slots", t.admission);
    let res = t.c.app.anonymous(Method::POST, &path).bearer_auth(&t.session).json(&t.done()).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // No credential, or a made-up one: refused before any PIN is checked.
    assert_error(t.tap(None, "nina", "2580").await, StatusCode::FORBIDDEN, "forbidden", None).await;
    assert_error(t.tap(Some("not-a-tablet"), "nina", "2580").await, StatusCode::FORBIDDEN, "forbidden", None).await;
    // A wrong PIN, an unknown nurse: a clear 422 on the PIN, nothing marked.
    let body = assert_error(
        t.tap(Some(&t.credential), "nina", "1470").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("pin"),
    )
    .await;
    assert!(body["message"].as_str().unwrap().contains("PIN"), "{body}");
    let unknown = t.tap(Some(&t.credential), "nobody", "2580").await;
    assert_error(unknown, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("pin")).await;
    // The right PIN of a receptionist (no ward:treat): refused, naming who.
    let rita = staff_user(&t.c.app, "rita", &["receptionist"]).await;
    set_pin(&t.c.app, &rita, "3691").await;
    let body = assert_error(
        t.tap(Some(&t.credential), "rita", "3691").await,
        StatusCode::FORBIDDEN,
        "forbidden",
        Some("username"),
    )
    .await;
    assert!(body["message"].as_str().unwrap().contains("ward:treat"), "{body}");
    assert!(t.marks().await.is_empty(), "nothing was marked");

    // Nina's PIN: the mark is hers, not the manager's whose session the tablet runs on.
    let sheet = expect_json(t.tap(Some(&t.credential), "nina", "2580").await, StatusCode::OK).await;
    assert_eq!(sheet["marks"][0]["by"].as_str(), Some(t.nina.as_str()), "{sheet}");
    assert_eq!(sheet["marks"][0]["outcome"], "done");
    // The audit trail names her too.
    let audit = t.c.app.get_json("/api/audit?action=admission.mark").await;
    assert_eq!(audit["items"][0]["username"], "nina", "{audit}");
    // Again: the slot is marked once.
    assert_error(t.tap(Some(&t.credential), "nina", "2580").await, StatusCode::CONFLICT, "slot_already_marked", None)
        .await;

    // The tablet page offers Done and Skip to its session, with the PIN form.
    let res = t.c.app.anonymous(Method::GET, &format!("/wards/{}/tablet", t.ward)).bearer_auth(&t.session).send().await;
    let html = res.unwrap().text().await.unwrap();
    assert!(html.contains(r#"data-tablet="true""#) && html.contains(r#"id="pin-form""#), "{html}");
    let res = t.c.app.anonymous(Method::GET, &format!("/wards/{}", t.ward)).bearer_auth(&t.session).send().await;
    let html = res.unwrap().text().await.unwrap();
    assert!(!html.contains("pin-form"), "the staff board stays as it is");
}

#[tokio::test]
async fn pin_attempts_on_the_ward_tablet_are_rate_limited_and_lock_like_the_exam_rooms() {
    let app = TestApp::spawn_with(|a| {
        a.security.login_attempts = 30;
        a.security.login_window_secs = 300;
    })
    .await;
    app.login_admin().await;
    let t = Tablet::on(app).await;
    // Five wrong PINs lock Nina's PIN: then even the right one is 423 until she signs in.
    for _ in 0..4 {
        assert_eq!(t.tap(Some(&t.credential), "nina", "1470").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_error(t.tap(Some(&t.credential), "nina", "1470").await, StatusCode::LOCKED, "pin_locked", None).await;
    assert_error(t.tap(Some(&t.credential), "nina", "2580").await, StatusCode::LOCKED, "pin_locked", None).await;
    // The sign-in limit per username (and address) then answers 429, the right PIN included.
    let mut limited = None;
    for _ in 0..40 {
        let res = t.tap(Some(&t.credential), "nina", "2580").await;
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(res);
            break;
        }
    }
    assert_error(limited.expect("rate-limited"), StatusCode::TOO_MANY_REQUESTS, "rate_limited", None).await;
    assert!(t.marks().await.is_empty());
}
