//! `/api/reports`: revenue by period and category from the rollup the invoices keep (issued
//! invoices on their issue date net of discounts, credit notes on their own date, tax apart,
//! drafts and voided invoices not counted), and AR ageing per client in the five buckets,
//! paged, as of a day.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::catalogue::item;
use crate::helpers::{TestApp, UNKNOWN_ID, assert_error, expect_json, id_of};

struct Clinic {
    app: TestApp,
    location: String,
    exam: String,
    food: String,
}

/// A clinic taxing 8.25 %, an untaxed exam at 65.00 and a taxed food at 13.33.
async fn clinic() -> Clinic {
    let app = TestApp::signed_in().await;
    let location = id_of(&app.get_json("/api/locations").await[0]);
    expect_json(app.patch_json(&format!("/api/locations/{location}"), &json!({"tax_rate": 825})).await, StatusCode::OK)
        .await;
    let exam = id_of(&item(&app, json!({"name": "Exam", "category": "Exams", "kind": "service", "price": 6500})).await);
    let food = id_of(
        &item(&app, json!({"name": "Food", "category": "Food", "kind": "product", "price": 1333, "taxable": true}))
            .await,
    );
    Clinic { app, location, exam, food }
}

impl Clinic {
    /// The worked example of docs/billing.md, for `client`: total 79.40, tax 1.40.
    async fn worked_example(&self, client: &str) -> String {
        let body = json!({
            "client_id": client, "location_id": self.location,
            "lines": [
                {"item_id": self.food, "quantity": 1.5, "unit_price": 1333, "discount": {"kind": "percent", "basis_points": 1000}},
                {"item_id": self.exam},
            ],
            "discount": {"kind": "amount", "amount": 500},
        });
        id_of(&expect_json(self.app.post_json("/api/invoices", &body).await, StatusCode::CREATED).await)
    }

    async fn exam_for(&self, client: &str) -> String {
        let body = json!({"client_id": client, "location_id": self.location, "lines": [{"item_id": self.exam}]});
        id_of(&expect_json(self.app.post_json("/api/invoices", &body).await, StatusCode::CREATED).await)
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        expect_json(self.app.post_json(path, &body).await, StatusCode::OK).await
    }

    async fn issue(&self, id: &str) -> Value {
        self.post(&format!("/api/invoices/{id}/issue"), json!({})).await
    }

    async fn pay(&self, id: &str, amount: i64) -> Value {
        let body = json!({"amount": amount, "method": "cash"});
        expect_json(self.app.post_json(&format!("/api/invoices/{id}/payments"), &body).await, StatusCode::OK).await
    }

    fn today(&self) -> jiff::civil::Date {
        self.app.system.ctx.today()
    }

    fn days(&self, n: i64) -> jiff::civil::Date {
        self.today().checked_add(jiff::Span::new().days(n)).unwrap()
    }
}

fn category<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array().unwrap().iter().find(|c| c["category"] == name).unwrap_or_else(|| panic!("no {name} in {list}"))
}

#[tokio::test]
async fn revenue_is_net_of_discounts_and_credit_notes_by_category_with_tax_apart() {
    let c = clinic().await;
    let client = c.app.some_client("Jane", "Doe").await;
    let inv = c.worked_example(&client).await;
    c.issue(&inv).await;
    // A credit note of 10.00 on the exam, dated today.
    let credit = json!({"reason": "goodwill", "lines": [{"item_id": c.exam, "unit_price": 1000}]});
    c.post(&format!("/api/invoices/{inv}/credit-notes"), credit).await;
    // Not revenue: a draft, and an invoice issued then voided.
    c.exam_for(&client).await;
    let voided = c.exam_for(&client).await;
    c.issue(&voided).await;
    c.post(&format!("/api/invoices/{voided}/void"), json!({"reason": "wrong client"})).await;

    let today = c.today();
    let r = c.app.get_json(&format!("/api/reports/revenue?from={today}&to={today}&by=day")).await;
    // Sales 85.00 − 7.00 discounts = 78.00; the 5.00 invoice discount falls 1.08 on the food
    // (5.00 × 18.00 ÷ 83.00) and the rest, 3.92, on the exam.
    assert_eq!(
        r["totals"],
        json!({"sales": 7800, "credits": 1000, "net": 6800, "tax": 140, "tax_credited": 0, "net_tax": 140, "invoices": 1, "credit_notes": 1})
    );
    assert_eq!(
        category(&r["categories"], "Food"),
        &json!({"category": "Food", "sales": 1692, "credits": 0, "net": 1692})
    );
    assert_eq!(
        category(&r["categories"], "Exams"),
        &json!({"category": "Exams", "sales": 6108, "credits": 1000, "net": 5108})
    );
    let periods = r["periods"].as_array().unwrap();
    assert_eq!(periods.len(), 1);
    assert_eq!(periods[0]["start"], today.to_string());
    assert_eq!(periods[0]["net"], 6800);
    assert_eq!(periods[0]["categories"].as_array().unwrap().len(), 2);

    // By month: one period starting on the first; the same totals.
    let month = c.app.get_json(&format!("/api/reports/revenue?from={}&to={today}", today.first_of_month())).await;
    assert_eq!(month["by"], "month");
    assert_eq!(month["periods"][0]["start"], today.first_of_month().to_string());
    assert_eq!(month["totals"], r["totals"]);
    // Another location, or days before, hold nothing.
    let other = c.app.get_json(&format!("/api/reports/revenue?from={today}&to={today}&location={UNKNOWN_ID}")).await;
    assert_eq!(other["totals"]["sales"], 0);
    assert_eq!(other["periods"], json!([]));
    let mine = c.app.get_json(&format!("/api/reports/revenue?from={today}&to={today}&location={}", c.location)).await;
    assert_eq!(mine["totals"], r["totals"]);
    let before = c.days(-1);
    let none = c.app.get_json(&format!("/api/reports/revenue?from={before}&to={before}")).await;
    assert_eq!(none["totals"]["invoices"], 0);
}

#[tokio::test]
async fn a_revenue_range_is_checked() {
    let c = clinic().await;
    let today = c.today();
    let before = c.days(-1);
    assert_error(
        c.app.get(&format!("/api/reports/revenue?from={today}&to={before}")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("to"),
    )
    .await;
    let long_ago = c.days(-400);
    assert_error(
        c.app.get(&format!("/api/reports/revenue?from={long_ago}&to={today}&by=day")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("to"),
    )
    .await;
    let weekly = c.app.get_json(&format!("/api/reports/revenue?from={long_ago}&to={today}&by=week")).await;
    assert_eq!(weekly["by"], "week");
    assert_error(
        c.app.get(&format!("/api/reports/revenue?from=2026-02-30&to={today}")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("from"),
    )
    .await;
}

#[tokio::test]
async fn ageing_buckets_open_balances_per_client_as_of_a_day() {
    let c = clinic().await;
    let jane = c.app.some_client("Jane", "Doe").await;
    let tom = c.app.some_client("Tom", "Roe").await;
    let paid_up = c.app.some_client("Ann", "Poe").await;
    let a = c.worked_example(&jane).await;
    c.issue(&a).await;
    let b = c.exam_for(&jane).await;
    c.issue(&b).await;
    c.pay(&b, 1000).await;
    let t = c.exam_for(&tom).await;
    c.issue(&t).await;
    let p = c.exam_for(&paid_up).await;
    c.issue(&p).await;
    c.pay(&p, 6500).await;
    c.exam_for(&paid_up).await; // a draft asks for nothing

    // Today everything is current (due in 30 days).
    let r = c.app.get_json("/api/reports/ar-ageing").await;
    assert_eq!(r["as_of"], c.today().to_string());
    assert_eq!(r["clients_owing"], 2);
    assert_eq!(r["totals"]["current"], 7940 + 5500 + 6500);
    assert_eq!(r["totals"]["total"], 7940 + 5500 + 6500);
    assert_eq!(r["totals"]["invoices"], 3);
    let clients = r["clients"].as_array().unwrap();
    assert_eq!(clients.len(), 2);
    assert_eq!(clients[0]["client_id"], jane.as_str(), "in the order clients were added");
    assert_eq!(clients[0]["name"], "Jane Doe");
    assert_eq!((clients[0]["total"].as_i64(), clients[0]["invoices"].as_i64()), (Some(13440), Some(2)));
    assert_eq!(clients[0]["oldest_due_on"], c.days(30).to_string());
    assert_eq!(r["next_cursor"], Value::Null);

    // 45 days on: 15 days past due. 100 days on: 70. 200 days on: over 90.
    for (days, bucket) in [(45, "days_1_30"), (75, "days_31_60"), (100, "days_61_90"), (200, "days_over_90")] {
        let r = c.app.get_json(&format!("/api/reports/ar-ageing?as_of={}", c.days(days))).await;
        assert_eq!(r["totals"][bucket], 19940, "{days} days on");
        assert_eq!(r["totals"]["current"], 0);
        assert_eq!(r["clients"][1][bucket], 6500);
    }
    // The day before, nothing had been issued.
    let r = c.app.get_json(&format!("/api/reports/ar-ageing?as_of={}", c.days(-1))).await;
    assert_eq!((r["clients_owing"].as_i64(), r["totals"]["total"].as_i64()), (Some(0), Some(0)));

    // A page of one client, then the next.
    let first = c.app.get_json("/api/reports/ar-ageing?limit=1").await;
    assert_eq!(first["clients"].as_array().unwrap().len(), 1);
    assert_eq!(first["totals"]["total"], 19940, "the totals cover every client, not the page");
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let second = c.app.get_json(&format!("/api/reports/ar-ageing?limit=1&cursor={cursor}")).await;
    assert_eq!(second["clients"][0]["client_id"], tom.as_str());
    assert_eq!(second["next_cursor"], Value::Null);

    // Paying the rest takes the invoice out of the report; another location's shows none.
    c.pay(&t, 6500).await;
    let r = c.app.get_json("/api/reports/ar-ageing").await;
    assert_eq!(r["clients_owing"], 1);
    let r = c.app.get_json(&format!("/api/reports/ar-ageing?location={UNKNOWN_ID}")).await;
    assert_eq!(r["clients_owing"], 0);
}

#[tokio::test]
async fn a_filled_rollup_is_left_alone_at_start() {
    let c = clinic().await;
    let jane = c.app.some_client("Jane", "Doe").await;
    let a = c.worked_example(&jane).await;
    c.issue(&a).await;
    let today = c.today();
    let path = format!("/api/reports/revenue?from={today}&to={today}");
    let before = c.app.get_json(&path).await;
    assert_eq!(before["totals"]["sales"], 7800);
    // Nothing to fill: the rollup holds the invoice already.
    assert_eq!(c.app.system.reports.ensure_rollup().await.unwrap(), 0);
    let after = c.app.get_json(&path).await;
    assert_eq!(after["totals"], before["totals"]);
}

#[tokio::test]
async fn the_reports_screen_filters_by_location() {
    let c = clinic().await;
    let client = c.app.some_client("Ann", "Lee").await;
    let inv = c.worked_example(&client).await;
    c.issue(&inv).await;
    let today = c.today();
    let page = |q: String| {
        let app = &c.app;
        async move {
            let resp = app.get(&format!("/reports?from={today}&to={today}&by=day{q}")).await;
            (resp.status(), resp.text().await.unwrap())
        }
    };
    let (status, all) = page(String::new()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(all.contains(r#"<option value="">All locations</option>"#), "{all}");
    assert!(all.contains("78.00"), "the clinic's revenue: {all}");
    // The location's own figures, the location kept selected in the form.
    let (status, mine) = page(format!("&location={}", c.location)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(mine.contains(&format!(r#"<option value="{}" selected>"#, c.location)), "{mine}");
    assert!(mine.contains("78.00"), "{mine}");
    // Another location has nothing; a malformed one is refused naming the field.
    let (status, other) = page(format!("&location={UNKNOWN_ID}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!other.contains("78.00") && !other.contains("79.40"), "{other}");
    let (status, bad) = page("&location=nope".into()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.contains("location"), "{bad}");
}
