//! Loyalty points against the real server: the programme's settings (off by default),
//! points earned once when an invoice is paid (net of tax, with item bonuses; reversed in
//! proportion by a refund; never twice across a restart), a referral bonus, redemption on a
//! draft (held, spent at issue, given back by a void or a release, dropped when the lines no
//! longer cover it), and the refusals: more than available, zero or negative, not a whole
//! step, an issued invoice, two drafts at once, the programme off.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::catalogue::item;
use crate::helpers::{TestApp, assert_error, expect_json, id_of};

struct Shop {
    app: TestApp,
    client: String,
    location: String,
    exam: String,
    food: String,
}

/// A clinic taxing 10 %, an untaxed exam at 65.00 and a taxed food at 20.00.
async fn shop() -> Shop {
    shop_in(TestApp::signed_in().await).await
}

async fn shop_in(app: TestApp) -> Shop {
    let client = app.some_client("Jane", "Doe").await;
    let location = id_of(&app.get_json("/api/locations").await[0]);
    expect_json(
        app.patch_json(&format!("/api/locations/{location}"), &json!({"tax_rate": 1000})).await,
        StatusCode::OK,
    )
    .await;
    let exam = id_of(&item(&app, json!({"name": "Exam", "category": "Exams", "kind": "service", "price": 6500})).await);
    let food = id_of(
        &item(&app, json!({"name": "Food", "category": "Food", "kind": "product", "price": 2000, "taxable": true}))
            .await,
    );
    Shop { app, client, location, exam, food }
}

fn programme(extra: Value) -> Value {
    let mut body = json!({
        "enabled": true, "points_per_unit": 1, "item_bonuses": [], "referral_bonus": 0, "birthday_bonus": 0,
        "redeem_points": 100, "redeem_cents": 100, "min_redeem": 100, "expiry_months": null,
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    body
}

impl Shop {
    async fn enable(&self, extra: Value) -> Value {
        expect_json(self.app.put_json("/api/loyalty/settings", &programme(extra)).await, StatusCode::OK).await
    }

    /// A draft for `client` with these lines.
    async fn draft_for(&self, client: &str, lines: Value) -> String {
        let body = json!({"client_id": client, "location_id": self.location, "lines": lines});
        id_of(&expect_json(self.app.post_json("/api/invoices", &body).await, StatusCode::CREATED).await)
    }

    async fn draft(&self, lines: Value) -> String {
        self.draft_for(&self.client.clone(), lines).await
    }

    async fn issue(&self, id: &str) -> Value {
        expect_json(self.app.post_json(&format!("/api/invoices/{id}/issue"), &json!({})).await, StatusCode::OK).await
    }

    async fn pay_all(&self, id: &str) -> Value {
        let inv = self.app.get_json(&format!("/api/invoices/{id}")).await;
        let body = json!({"amount": inv["balance"], "method": "cash"});
        expect_json(self.app.post_json(&format!("/api/invoices/{id}/payments"), &body).await, StatusCode::OK).await
    }

    async fn redeem(&self, id: &str, points: i64) -> reqwest::Response {
        self.app.post_json(&format!("/api/invoices/{id}/loyalty/redeem"), &json!({"points": points})).await
    }

    async fn account_of(&self, client: &str) -> Value {
        self.app.get_json(&format!("/api/clients/{client}/loyalty")).await
    }

    async fn account(&self) -> Value {
        self.account_of(&self.client.clone()).await
    }

    async fn adjust(&self, points: i64) -> Value {
        let body = json!({"points": points, "reason": "welcome gift"});
        let r = self.app.post_json(&format!("/api/clients/{}/loyalty/adjustments", self.client), &body).await;
        expect_json(r, StatusCode::CREATED).await
    }

    /// Waits (with a deadline) until the client's balance is `points`.
    async fn balance_reaches(&self, client: &str, points: i64) -> Value {
        self.app.poll_json(&format!("/api/clients/{client}/loyalty"), |a| a["balance"] == points).await
    }
}

fn points(a: &Value) -> (i64, i64, i64) {
    (a["balance"].as_i64().unwrap_or(-1), a["held"].as_i64().unwrap_or(-1), a["available"].as_i64().unwrap_or(-1))
}

#[tokio::test]
async fn the_programme_is_off_until_a_manager_turns_it_on_and_its_settings_are_checked() {
    let s = shop().await;
    let settings = s.app.get_json("/api/loyalty/settings").await;
    assert_eq!((settings["enabled"].as_bool(), settings["redeem_points"].as_i64()), (Some(false), Some(100)));
    let draft = s.draft(json!([{"item_id": s.exam}])).await;
    assert_error(s.redeem(&draft, 100).await, StatusCode::CONFLICT, "loyalty_disabled", None).await;
    let adjust = json!({"points": 100, "reason": "gift"});
    let r = s.app.post_json(&format!("/api/clients/{}/loyalty/adjustments", s.client), &adjust).await;
    assert_error(r, StatusCode::CONFLICT, "loyalty_disabled", None).await;

    for (extra, field) in [
        (json!({"redeem_points": 0}), "redeem_points"),
        (json!({"points_per_unit": -1}), "points_per_unit"),
        (json!({"redeem_cents": 0}), "redeem_cents"),
        (json!({"expiry_months": 0}), "expiry_months"),
        (json!({"item_bonuses": [{"item_id": s.exam, "points": 0}]}), "item_bonuses.0.points"),
    ] {
        let r = s.app.put_json("/api/loyalty/settings", &programme(extra)).await;
        assert_error(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
    }
    let unknown = json!({"item_bonuses": [{"item_id": crate::helpers::UNKNOWN_ID, "points": 5}]});
    let r = s.app.put_json("/api/loyalty/settings", &programme(unknown)).await;
    assert_error(r, StatusCode::NOT_FOUND, "catalogue_item_not_found", None).await;

    let on = s.enable(json!({"item_bonuses": [{"item_id": s.exam, "points": 5}]})).await;
    assert_eq!((on["enabled"].as_bool(), on["item_bonuses"][0]["points"].as_i64()), (Some(true), Some(5)));
    assert!(on["updated_by"].is_string(), "{on}");
    assert_eq!(s.app.get_json("/api/loyalty/settings").await, on);
    assert_eq!(points(&s.account().await), (0, 0, 0));
}

#[tokio::test]
async fn a_paid_invoice_earns_once_net_of_tax_with_bonuses_and_a_refund_reverses_in_proportion() {
    let s = shop().await;
    s.enable(json!({"item_bonuses": [{"item_id": s.exam, "points": 5}]})).await;
    // 65.00 exam + 20.00 taxed food + 2.00 tax = 87.00; net of tax 85.00 → 85 points + 5 bonus.
    let id = s.draft(json!([{"item_id": s.exam}, {"item_id": s.food}])).await;
    let issued = s.issue(&id).await;
    assert_eq!(issued["totals"]["total"], 8700);
    assert_eq!(points(&s.account().await), (0, 0, 0), "nothing is earned before it is paid");
    let paid = s.pay_all(&id).await;
    assert_eq!(paid["status"], "paid");
    let a = s.balance_reaches(&s.client, 90).await;
    let e = &a["entries"][0];
    assert_eq!((e["kind"].as_str(), e["points"].as_i64()), (Some("earned"), Some(90)));
    assert_eq!(
        (e["source"].as_str(), e["invoice_id"].as_str()),
        (Some(format!("invoice:{id}").as_str()), Some(id.as_str()))
    );

    // Half of it refunded: half of the points reversed (90 × 43.50 ÷ 87.00 = 45).
    let payment = id_of(&paid["payments"][0]);
    let r = s
        .app
        .post_json(&format!("/api/payments/{payment}/refunds"), &json!({"amount": 4350, "reason": "food returned"}))
        .await;
    expect_json(r, StatusCode::OK).await;
    let a = s.balance_reaches(&s.client, 45).await;
    assert_eq!((a["entries"][0]["kind"].as_str(), a["entries"][0]["points"].as_i64()), (Some("reversed"), Some(-45)));

    // Paying it again earns nothing more, and a restart replays nothing twice.
    s.pay_all(&id).await;
    let dir = s.app.stop().await;
    let app = TestApp::spawn_in_with(dir, |_| {}).await;
    app.login_admin().await;
    let other = app.some_client("Eve", "Roe").await;
    let body = json!({"client_id": other, "lines": [{"description": "Nail trim", "unit_price": 1000}]});
    let later = id_of(&expect_json(app.post_json("/api/invoices", &body).await, StatusCode::CREATED).await);
    expect_json(app.post_json(&format!("/api/invoices/{later}/issue"), &json!({})).await, StatusCode::OK).await;
    let body = json!({"amount": 1000, "method": "cash"});
    expect_json(app.post_json(&format!("/api/invoices/{later}/payments"), &body).await, StatusCode::OK).await;
    // Once the later invoice has earned, the follower is past everything before it.
    app.poll_json(&format!("/api/clients/{other}/loyalty"), |a| a["balance"] == 10).await;
    let a = app.get_json(&format!("/api/clients/{}/loyalty", s.client)).await;
    assert_eq!(points(&a), (45, 0, 45), "{a}");
    assert_eq!(a["entries"].as_array().map(Vec::len), Some(2), "{a}");
}

#[tokio::test]
async fn redeemed_points_discount_a_draft_are_held_spent_at_issue_and_given_back_by_a_void_or_release() {
    let s = shop().await;
    s.enable(json!({})).await;
    let gift = s.adjust(500).await;
    assert_eq!((gift["kind"].as_str(), gift["reason"].as_str()), (Some("adjusted"), Some("welcome gift")));
    let draft = s.draft(json!([{"item_id": s.exam}])).await;

    // 300 points = 3.00 off the 65.00 exam, held while a draft; sent again, nothing changes.
    let key = "redeem-300-once";
    let send = || {
        s.app
            .request(Method::POST, &format!("/api/invoices/{draft}/loyalty/redeem"))
            .header("Idempotency-Key", key)
            .json(&json!({"points": 300}))
            .send()
    };
    let inv = expect_json(send().await.unwrap(), StatusCode::OK).await;
    assert_eq!((inv["loyalty"]["points"].as_i64(), inv["loyalty"]["value"].as_i64()), (Some(300), Some(300)));
    assert_eq!((inv["totals"]["discount"].as_i64(), inv["totals"]["total"].as_i64()), (Some(300), Some(6200)));
    let again = send().await.unwrap();
    assert_eq!(again.headers().get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
    assert_eq!(points(&s.account().await), (500, 300, 200));
    let a = s.account().await;
    assert_eq!(
        (a["holds"][0]["invoice_id"].as_str(), a["available_value"].as_i64()),
        (Some(draft.as_str()), Some(200))
    );

    // Replaced, then released.
    let inv = expect_json(s.redeem(&draft, 200).await, StatusCode::OK).await;
    assert_eq!(inv["totals"]["total"], 6300);
    assert_eq!(points(&s.account().await), (500, 200, 300));
    let r = s.app.post_json(&format!("/api/invoices/{draft}/loyalty/release"), &json!({})).await;
    let inv = expect_json(r, StatusCode::OK).await;
    assert_eq!((inv["loyalty"].is_null(), inv["totals"]["total"].as_i64()), (true, Some(6500)));
    assert_eq!(points(&s.account().await), (500, 0, 500));

    // Lines that no longer cover it let it go.
    expect_json(s.redeem(&draft, 500).await, StatusCode::OK).await;
    let cheaper = json!({"lines": [{"description": "Nail trim", "unit_price": 300}]});
    let inv = expect_json(s.app.patch_json(&format!("/api/invoices/{draft}"), &cheaper).await, StatusCode::OK).await;
    assert!(inv["loyalty"].is_null(), "{inv}");
    assert_eq!(points(&s.account().await), (500, 0, 500));

    // A voided draft holds nothing.
    let exam = json!({"lines": [{"item_id": s.exam}]});
    expect_json(s.app.patch_json(&format!("/api/invoices/{draft}"), &exam).await, StatusCode::OK).await;
    expect_json(s.redeem(&draft, 300).await, StatusCode::OK).await;
    let r = s.app.post_json(&format!("/api/invoices/{draft}/void"), &json!({"reason": "wrong client"})).await;
    expect_json(r, StatusCode::OK).await;
    assert_eq!(points(&s.account().await), (500, 0, 500));

    // Issued, the points are spent (a `redeemed` entry); voiding the issued invoice gives them back.
    let next = s.draft(json!([{"item_id": s.exam}])).await;
    expect_json(s.redeem(&next, 500).await, StatusCode::OK).await;
    let issued = s.issue(&next).await;
    // 5.00 off an untaxed 65.00: total 60.00, with the loyalty kept on the issued invoice.
    assert_eq!((issued["totals"]["total"].as_i64(), issued["loyalty"]["points"].as_i64()), (Some(6000), Some(500)));
    let a = s.account().await;
    assert_eq!(points(&a), (0, 0, 0));
    assert_eq!((a["entries"][0]["kind"].as_str(), a["entries"][0]["points"].as_i64()), (Some("redeemed"), Some(-500)));
    let r = s.app.post_json(&format!("/api/invoices/{next}/void"), &json!({"reason": "duplicate"})).await;
    expect_json(r, StatusCode::OK).await;
    assert_eq!(points(&s.account().await), (500, 0, 500));

    // History pages, newest first.
    let page = s.app.get_json(&format!("/api/clients/{}/loyalty?limit=1", s.client)).await;
    assert_eq!(page["entries"].as_array().map(Vec::len), Some(1));
    assert!(page["next_cursor"].is_null(), "one entry left: {page}");
    let r = s.app.get(&format!("/api/clients/{}/loyalty?cursor=nope", s.client)).await;
    assert_error(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("cursor")).await;
}

#[tokio::test]
async fn bad_redemptions_and_adjustments_are_refused_naming_the_field() {
    let s = shop().await;
    s.enable(json!({})).await;
    s.adjust(300).await;
    let draft = s.draft(json!([{"item_id": s.exam}])).await;
    for p in [400, 0, -100, 150, 50] {
        assert_error(s.redeem(&draft, p).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("points"))
            .await;
    }
    // Worth more than the invoice after its discounts.
    let small = s.draft(json!([{"description": "Nail trim", "unit_price": 200}])).await;
    assert_error(s.redeem(&small, 300).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("points"))
        .await;
    // Not a draft.
    s.issue(&small).await;
    assert_error(s.redeem(&small, 100).await, StatusCode::CONFLICT, "invalid_transition", None).await;
    let r = s.app.post_json(&format!("/api/invoices/{small}/loyalty/release"), &json!({})).await;
    assert_error(r, StatusCode::CONFLICT, "invalid_transition", None).await;
    // Adjustments: 0, more than available, no reason.
    let path = format!("/api/clients/{}/loyalty/adjustments", s.client);
    for (body, field) in [
        (json!({"points": 0, "reason": "x"}), "points"),
        (json!({"points": -301, "reason": "x"}), "points"),
        (json!({"points": 10, "reason": " "}), "reason"),
    ] {
        let r = s.app.post_json(&path, &body).await;
        assert_error(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
    }
    assert_eq!(points(&s.account().await), (300, 0, 300), "nothing was written");
}

#[tokio::test]
async fn two_drafts_redeeming_at_once_spend_the_balance_once() {
    let s = shop().await;
    s.enable(json!({})).await;
    s.adjust(300).await;
    let (a, b) = (s.draft(json!([{"item_id": s.exam}])).await, s.draft(json!([{"item_id": s.exam}])).await);
    let (ra, rb) = tokio::join!(s.redeem(&a, 300), s.redeem(&b, 300));
    let mut statuses = [ra.status(), rb.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::UNPROCESSABLE_ENTITY]);
    assert_eq!(points(&s.account().await), (300, 300, 0));
    // A negative adjustment cannot take the held points either.
    let r = s
        .app
        .post_json(&format!("/api/clients/{}/loyalty/adjustments", s.client), &json!({"points": -100, "reason": "x"}))
        .await;
    assert_error(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("points")).await;
}

#[tokio::test]
async fn the_referrer_earns_the_referral_bonus_once_when_the_referred_clients_first_invoice_is_paid() {
    let s = shop().await;
    s.enable(json!({"referral_bonus": 50})).await;
    let ben = s.app.some_client("Ben", "Lee").await;
    let code =
        s.app.get_json(&format!("/api/clients/{}/referral", s.client)).await["code"].as_str().unwrap().to_owned();
    expect_json(s.app.post_json("/api/referrals", &json!({"code": code, "client_id": ben})).await, StatusCode::CREATED)
        .await;
    let first = s.draft_for(&ben, json!([{"item_id": s.exam}])).await;
    s.issue(&first).await;
    s.pay_all(&first).await;
    let a = s.balance_reaches(&s.client, 50).await;
    assert_eq!(a["entries"][0]["source"], format!("referral:{ben}"));
    s.balance_reaches(&ben, 65).await;
    let second = s.draft_for(&ben, json!([{"item_id": s.exam}])).await;
    s.issue(&second).await;
    s.pay_all(&second).await;
    s.balance_reaches(&ben, 130).await;
    assert_eq!(points(&s.account().await), (50, 0, 50), "the bonus is given once");
}

#[tokio::test]
async fn the_client_page_shows_the_loyalty_panel_to_who_may_read_the_points() {
    let s = shop().await;
    let token = s.app.token().expect("signed in");
    let html = |token: String| {
        let url = s.app.url(&format!("/clients/{}", s.client));
        async move {
            let res = reqwest::Client::new().get(url).bearer_auth(token).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            res.text().await.unwrap()
        }
    };
    let page = html(token.clone()).await;
    assert!(page.contains(r#"id="loyalty-section""#) && page.contains(r#"id="loyalty-off""#), "{page}");
    assert!(page.contains("No points yet."));

    s.enable(json!({})).await;
    let body = json!({"points": 500, "reason": "<b>welcome</b>"});
    let r = s.app.post_json(&format!("/api/clients/{}/loyalty/adjustments", s.client), &body).await;
    expect_json(r, StatusCode::CREATED).await;
    let draft = s.draft(json!([{"item_id": s.exam}])).await;
    expect_json(s.redeem(&draft, 300).await, StatusCode::OK).await;
    let page = html(token).await;
    assert!(!page.contains(r#"id="loyalty-off""#));
    assert!(page.contains(r#"<strong id="loyalty-balance">500</strong>"#), "{page}");
    assert!(page.contains("300 held by a draft invoice") && page.contains("200 available, worth 2.00"), "{page}");
    assert!(page.contains(r#"<td data-label="Points">+500</td>"#) && page.contains(">Adjusted<"), "{page}");
    assert!(!page.contains("<b>welcome</b>"), "a reason is never markup");

    // A vet does not read invoices, so not the points either.
    let vera = crate::access::staff_user(&s.app, "vera", &["veterinarian"]).await;
    let page = html(vera).await;
    assert!(page.contains(r#"id="record-name""#) && !page.contains("loyalty-section"), "{page}");
}

#[tokio::test]
async fn a_cats_birthday_gives_its_client_the_bonus_once_a_year() {
    let s = shop().await;
    s.enable(json!({"birthday_bonus": 25})).await;
    let today = s.app.system.ctx.today();
    let born = today.checked_sub(jiff::Span::new().years(3)).unwrap().to_string();
    let other_day = today.checked_sub(jiff::Span::new().years(3).days(2)).unwrap().to_string();
    // Two cats born on this day: one bonus for their client.
    for name in ["Miso", "Tofu"] {
        s.app.create_patient(json!({"client_id": s.client, "name": name, "date_of_birth": born})).await;
    }
    // An estimated birthday, and a birthday on another day, give nothing.
    let ben = s.app.some_client("Ben", "Lee").await;
    let estimated = json!({"client_id": ben, "name": "Stray", "date_of_birth": born, "date_of_birth_estimated": true});
    s.app.create_patient(estimated).await;
    s.app.create_patient(json!({"client_id": ben, "name": "Later", "date_of_birth": other_day})).await;

    assert_eq!(s.app.system.loyalty.birthdays(today).await.unwrap(), 1);
    assert_eq!(s.app.system.loyalty.birthdays(today).await.unwrap(), 0, "a second run gives nothing twice");
    let a = s.account().await;
    assert_eq!(points(&a), (25, 0, 25));
    assert_eq!(a["entries"][0]["source"], format!("birthday:{}", today.year()));
    assert_eq!(points(&s.account_of(&ben).await), (0, 0, 0));
}

#[tokio::test]
async fn unspent_points_expire_first_in_first_out_once_and_never_what_a_draft_holds() {
    let s = shop().await;
    s.enable(json!({"expiry_months": 12})).await;
    s.adjust(500).await;
    let draft = s.draft(json!([{"item_id": s.exam}])).await;
    expect_json(s.redeem(&draft, 200).await, StatusCode::OK).await;
    let now = s.app.system.ctx.clock.now();
    let month =
        |m: i64| now.to_zoned(jiff::tz::TimeZone::UTC).checked_add(jiff::Span::new().months(m)).unwrap().timestamp();
    assert_eq!(s.app.system.loyalty.expire(month(11)).await.unwrap(), 0, "not yet");
    assert_eq!(s.app.system.loyalty.expire(month(13)).await.unwrap(), 1);
    assert_eq!(s.app.system.loyalty.expire(month(13)).await.unwrap(), 0, "a lot expires once");
    let a = s.account().await;
    // 500 earned, 200 held by the draft: the other 300 expired.
    assert_eq!(points(&a), (200, 200, 0), "{a}");
    assert_eq!((a["entries"][0]["kind"].as_str(), a["entries"][0]["points"].as_i64()), (Some("expired"), Some(-300)));
}
