//! `/api/payment-plans`: a schedule computed to the cent for an issued invoice's balance,
//! progress from the invoice's payments, at most one active plan per invoice, modification
//! with history, cancellation, a missed instalment marked late with the client told through
//! the outbox and staff alerted, and bad terms refused.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, UNKNOWN_ID, assert_error, expect_json, id_of};

struct Clinic {
    app: TestApp,
    client: String,
}

async fn clinic() -> Clinic {
    let app = TestApp::signed_in().await;
    let client = app.some_client("Jane", "Doe").await;
    Clinic { app, client }
}

impl Clinic {
    /// A draft of one free-text line at `cents`.
    async fn draft(&self, cents: i64) -> String {
        let body = json!({"client_id": self.client, "lines": [{"description": "Surgery", "unit_price": cents}]});
        id_of(&expect_json(self.app.post_json("/api/invoices", &body).await, StatusCode::CREATED).await)
    }

    async fn issued(&self, cents: i64) -> String {
        let id = self.draft(cents).await;
        expect_json(self.app.post_json(&format!("/api/invoices/{id}/issue"), &json!({})).await, StatusCode::OK).await;
        id
    }

    async fn plan(&self, body: Value) -> Value {
        expect_json(self.app.post_json("/api/payment-plans", &body).await, StatusCode::CREATED).await
    }

    async fn pay(&self, invoice: &str, cents: i64) {
        let body = json!({"amount": cents, "method": "cash"});
        expect_json(self.app.post_json(&format!("/api/invoices/{invoice}/payments"), &body).await, StatusCode::OK)
            .await;
    }

    async fn jobs(&self, plan: &str) -> Vec<Value> {
        let page =
            self.app.get_json(&format!("/api/jobs?kind=payment_plan_due&subject=payment_plan:{plan}&limit=100")).await;
        page["items"].as_array().unwrap().clone()
    }
}

fn amounts(plan: &Value, key: &str) -> Vec<i64> {
    plan["schedule"].as_array().unwrap().iter().map(|i| i[key].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn a_plan_schedules_the_balance_to_the_cent_and_follows_the_invoices_payments() {
    let c = clinic().await;
    let inv = c.issued(10_001).await;
    let start = c.app.system.ctx.today().checked_add(jiff::Span::new().days(3)).unwrap();
    let plan = c
        .plan(json!({"invoice_id": inv, "down_payment": 1000, "instalments": 3, "interval": "monthly", "start_date": start.to_string()}))
        .await;
    let id = id_of(&plan);
    assert_eq!(
        (plan["status"].as_str(), plan["principal"].as_i64(), plan["total"].as_i64()),
        (Some("active"), Some(10_001), Some(10_001))
    );
    // 90.01 in three: 30.00, 30.00 and the remainder cent on the last.
    assert_eq!(amounts(&plan, "amount"), vec![1000, 3000, 3000, 3001]);
    let dates: Vec<&str> = plan["schedule"].as_array().unwrap().iter().map(|i| i["due_on"].as_str().unwrap()).collect();
    assert_eq!(dates[0], start.to_string());
    assert_eq!(dates[1], start.checked_add(jiff::Span::new().months(1)).unwrap().to_string());
    // One durable check per instalment, due the day after it.
    let jobs = c.jobs(&id).await;
    assert_eq!(jobs.len(), 4);
    assert!(jobs.iter().all(|j| j["state"] == "queued"));

    // Progress comes from the invoice's payments, oldest instalment first.
    c.pay(&inv, 1500).await;
    let read = c.app.get_json(&format!("/api/payment-plans/{id}")).await;
    assert_eq!((read["paid"].as_i64(), amounts(&read, "paid")), (Some(1500), vec![1000, 500, 0, 0]));

    // One active plan per invoice.
    assert_error(
        c.app
            .post_json("/api/payment-plans", &json!({"invoice_id": inv, "instalments": 2, "interval": "weekly"}))
            .await,
        StatusCode::CONFLICT,
        "duplicate_value",
        Some("invoice_id"),
    )
    .await;

    // A modification keeps the terms it replaced, with who, when, what and why.
    let changed = expect_json(
        c.app
            .patch_json(&format!("/api/payment-plans/{id}"), &json!({"instalments": 4, "reason": "smaller payments"}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(changed["revision"], 2);
    assert_eq!(amounts(&changed, "amount"), vec![1000, 2250, 2250, 2250, 2251]);
    let rev = &changed["revisions"][0];
    assert_eq!((rev["revision"].as_u64(), rev["reason"].as_str()), (Some(1), Some("smaller payments")));
    assert_eq!(rev["changed"], json!(["instalments"]));
    assert_eq!(rev["terms"]["instalments"], 3);
    assert_eq!(rev["schedule"].as_array().unwrap().len(), 4);
    assert!(rev["replaced_by"].is_string(), "{rev}");
    let jobs = c.jobs(&id).await;
    assert_eq!(jobs.iter().filter(|j| j["state"] == "cancelled").count(), 4);
    assert_eq!(jobs.iter().filter(|j| j["state"] == "queued").count(), 5);
    let audit = c.app.get_json("/api/audit?action=payment_plan.modify").await;
    assert_eq!(audit["items"].as_array().map(Vec::len), Some(1), "{audit}");

    // Cancelled: its checks go with it, and the invoice may get a new plan for what is left.
    assert_error(
        c.app.post_json(&format!("/api/payment-plans/{id}/cancel"), &json!({"reason": " "})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("reason"),
    )
    .await;
    let cancelled = expect_json(
        c.app
            .post_json(&format!("/api/payment-plans/{id}/cancel"), &json!({"reason": "paying in full next week"}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    assert!(c.jobs(&id).await.iter().all(|j| j["state"] == "cancelled"));
    assert_error(
        c.app.patch_json(&format!("/api/payment-plans/{id}"), &json!({"instalments": 2})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
        None,
    )
    .await;
    let again =
        c.plan(json!({"invoice_id": inv, "instalments": 2, "interval": "fortnightly", "interest_bp": 1000})).await;
    assert_eq!((again["principal"].as_i64(), again["paid_before"].as_i64()), (Some(8501), Some(1500)));
    // 10 % a year on 85.01 for 28 days: 0.652… → 0.65, on the plan, not the invoice.
    assert_eq!((again["interest"].as_i64(), again["total"].as_i64()), (Some(65), Some(8566)));
    let plans = c.app.get_json(&format!("/api/invoices/{inv}/payment-plans")).await;
    assert_eq!(plans.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_missed_instalment_is_marked_late_the_client_told_and_staff_alerted() {
    let c = clinic().await;
    let inv = c.issued(9_000).await;
    // Agreed two weeks ago (recorded late): the first two weekly instalments are past.
    let start = c.app.system.ctx.today().checked_sub(jiff::Span::new().days(15)).unwrap();
    let plan = c
        .plan(json!({"invoice_id": inv, "instalments": 3, "interval": "weekly", "start_date": start.to_string()}))
        .await;
    let id = id_of(&plan);
    let late = c
        .app
        .poll_json(&format!("/api/payment-plans/{id}"), |p| {
            p["schedule"].as_array().is_some_and(|s| s.iter().filter(|i| i["late"] == true).count() == 2)
        })
        .await;
    assert_eq!(late["schedule"][2]["late"], false, "the third is not due yet");
    // Each job ran once and is done (its state commits just after the plan's change); the
    // third waits for its day.
    let url = format!("/api/jobs?kind=payment_plan_due&subject=payment_plan:{id}&limit=100");
    let count =
        |p: &Value, state: &str| p["items"].as_array().map_or(0, |j| j.iter().filter(|j| j["state"] == state).count());
    let jobs = c.app.poll_json(&url, |p| count(p, "succeeded") == 2).await;
    assert_eq!(count(&jobs, "queued"), 1);

    // The client is told through the outbox, from the payment_plan_late template, once per
    // instalment.
    let messages = c.app.get_json(&format!("/api/messages?client_id={}", c.client)).await;
    let items = messages["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{messages}");
    let number = c.app.get_json(&format!("/api/invoices/{inv}")).await["number"].as_str().unwrap().to_owned();
    assert!(
        items
            .iter()
            .all(|m| m["text"].as_str().unwrap().contains(&number) && m["text"].as_str().unwrap().contains("30.00")),
        "{messages}"
    );
    assert!(items.iter().all(|m| m["category"] == "payment_plan_late"), "{messages}");

    // Staff are alerted with an event for who sees payments.
    let events = c.app.system.events_after(0, 10_000).unwrap();
    let alerts: Vec<_> = events.iter().filter(|e| e.kind == "instalment_late").collect();
    assert_eq!(alerts.len(), 2);
    assert_eq!(alerts[0].payload["plan_id"], id);
    assert_eq!(alerts[0].subject, format!("client:{}", c.client));
}

#[tokio::test]
async fn bad_plans_are_refused_naming_the_field() {
    let c = clinic().await;
    let inv = c.issued(5_000).await;
    let refused = [
        (json!({"invoice_id": inv, "instalments": 0, "interval": "weekly"}), "instalments"),
        (json!({"invoice_id": inv, "instalments": 61, "interval": "monthly"}), "instalments"),
        (json!({"invoice_id": inv, "instalments": 2, "interval": "weekly", "down_payment": 5001}), "down_payment"),
        (json!({"invoice_id": inv, "instalments": 2, "interval": "weekly", "down_payment": -1}), "down_payment"),
        (json!({"invoice_id": inv, "instalments": 2, "interval": "weekly", "start_date": "2001-01-01"}), "start_date"),
    ];
    for (body, field) in refused {
        assert_error(
            c.app.post_json("/api/payment-plans", &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some(field),
        )
        .await;
    }
    let body = json!({"invoice_id": inv, "instalments": 2, "interval": "yearly"});
    assert!(c.app.post_json("/api/payment-plans", &body).await.status().is_client_error());
    let draft = c.draft(5_000).await;
    let void = c.issued(5_000).await;
    expect_json(
        c.app.post_json(&format!("/api/invoices/{void}/void"), &json!({"reason": "typo"})).await,
        StatusCode::OK,
    )
    .await;
    for invoice in [&draft, &void] {
        assert_error(
            c.app
                .post_json(
                    "/api/payment-plans",
                    &json!({"invoice_id": invoice, "instalments": 2, "interval": "weekly"}),
                )
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("invoice_id"),
        )
        .await;
    }
    assert_error(
        c.app
            .post_json("/api/payment-plans", &json!({"invoice_id": UNKNOWN_ID, "instalments": 2, "interval": "weekly"}))
            .await,
        StatusCode::NOT_FOUND,
        "invoice_not_found",
        None,
    )
    .await;
    assert_error(
        c.app.get(&format!("/api/payment-plans/{UNKNOWN_ID}")).await,
        StatusCode::NOT_FOUND,
        "payment_plan_not_found",
        None,
    )
    .await;
}

impl Clinic {
    /// A plan of three weekly instalments starting next week: none of its jobs is due yet.
    async fn future_plan(&self, invoice: &str) -> String {
        let start = self.app.system.ctx.today().checked_add(jiff::Span::new().days(7)).unwrap();
        let body =
            json!({"invoice_id": invoice, "instalments": 3, "interval": "weekly", "start_date": start.to_string()});
        id_of(&self.plan(body).await)
    }

    /// Moves the plan's start a month into the past (a modification): its new due jobs are all
    /// due, and run against the invoice as it is now.
    async fn due_now(&self, plan: &str) {
        let start = self.app.system.ctx.today().checked_sub(jiff::Span::new().days(30)).unwrap();
        let body = json!({"start_date": start.to_string(), "reason": "recorded late"});
        expect_json(self.app.patch_json(&format!("/api/payment-plans/{plan}"), &body).await, StatusCode::OK).await;
    }

    /// Waits for the plan to leave `active` (its first due job's decision) and for every due job
    /// of its new schedule to have run, then checks nobody was told of a late instalment.
    async fn ended_without_late_notice(&self, plan: &str) -> Value {
        let ended = self.app.poll_json(&format!("/api/payment-plans/{plan}"), |p| p["status"] != "active").await;
        let url = format!("/api/jobs?kind=payment_plan_due&subject=payment_plan:{plan}&limit=100");
        let succeeded =
            |p: &Value| p["items"].as_array().map_or(0, |j| j.iter().filter(|j| j["state"] == "succeeded").count());
        self.app.poll_json(&url, |p| succeeded(p) == 3).await;
        let after = self.app.get_json(&format!("/api/payment-plans/{plan}")).await;
        assert_eq!(after["status"], ended["status"], "{after}");
        assert!(after["schedule"].as_array().unwrap().iter().all(|i| i["late"] == false), "{after}");
        let messages = self.app.get_json(&format!("/api/messages?client_id={}", self.client)).await;
        let items = messages["items"].as_array().unwrap();
        assert!(!items.iter().any(|m| m["category"] == "payment_plan_late"), "{messages}");
        let events = self.app.system.events_after(0, 10_000).unwrap();
        assert!(!events.iter().any(|e| e.kind == "instalment_late"), "no staff alert");
        after
    }
}

#[tokio::test]
async fn a_plan_on_a_voided_invoice_is_cancelled_by_its_due_job_and_nobody_is_told_late() {
    let c = clinic().await;
    let inv = c.issued(9_000).await;
    let id = c.future_plan(&inv).await;
    expect_json(
        c.app.post_json(&format!("/api/invoices/{inv}/void"), &json!({"reason": "made by mistake"})).await,
        StatusCode::OK,
    )
    .await;
    c.due_now(&id).await;
    let plan = c.ended_without_late_notice(&id).await;
    assert_eq!(
        (plan["status"].as_str(), plan["cancel_reason"].as_str()),
        (Some("cancelled"), Some("the invoice was voided"))
    );
}

#[tokio::test]
async fn a_plan_whose_invoice_was_credited_and_paid_off_is_completed_without_late_notices() {
    let c = clinic().await;
    let inv = c.issued(9_000).await;
    let id = c.future_plan(&inv).await;
    // A credit note lowers the balance to 60.00 and the client pays that: the invoice is paid,
    // though the payments after the plan (60.00) are below the plan's total (90.00).
    let body = json!({"reason": "goodwill", "lines": [{"description": "Goodwill", "unit_price": 3000}]});
    expect_json(c.app.post_json(&format!("/api/invoices/{inv}/credit-notes"), &body).await, StatusCode::OK).await;
    c.pay(&inv, 6_000).await;
    assert_eq!(c.app.get_json(&format!("/api/invoices/{inv}")).await["status"], "paid");
    // Settled: the plan ends at once (its settle job), before any instalment is due.
    let plan = c.app.poll_json(&format!("/api/payment-plans/{id}"), |p| p["status"] != "active").await;
    assert_eq!(plan["status"], "completed");
    assert_eq!(plan["paid"], 6_000);
    assert!(plan["schedule"].as_array().unwrap().iter().all(|i| i["late"] == false), "{plan}");
    // Ended, it is not modified any more; nobody was told of a late instalment.
    let start = c.app.system.ctx.today().checked_sub(jiff::Span::new().days(30)).unwrap();
    let r = c.app.patch_json(&format!("/api/payment-plans/{id}"), &json!({"start_date": start.to_string()})).await;
    assert_error(r, StatusCode::CONFLICT, "invalid_transition", None).await;
    let messages = c.app.get_json(&format!("/api/messages?client_id={}", c.client)).await;
    assert!(!messages["items"].as_array().unwrap().iter().any(|m| m["category"] == "payment_plan_late"));
}

impl Clinic {
    /// The plan's interest jobs, once each has run.
    async fn interest_jobs_ran(&self, plan: &str, n: usize) -> Vec<Value> {
        let url = format!("/api/jobs?kind=payment_plan_interest&subject=payment_plan_interest:{plan}&limit=100");
        let page = self
            .app
            .poll_json(&url, |p| {
                p["items"].as_array().is_some_and(|j| j.len() == n && j.iter().all(|j| j["state"] == "succeeded"))
            })
            .await;
        page["items"].as_array().unwrap().clone()
    }
}

#[tokio::test]
async fn a_plans_interest_is_its_own_invoice_counted_in_progress_and_adjusted_by_credit_notes_or_new_charges() {
    let c = clinic().await;
    let inv = c.issued(100_000).await;
    let start = c.app.system.ctx.today().checked_add(jiff::Span::new().days(3)).unwrap();
    // 12 % a year on 1,000.00 over 6 months: 60.00, billed at once as an invoice of its own.
    let plan = c
        .plan(json!({"invoice_id": inv, "instalments": 6, "interval": "monthly", "interest_bp": 1200, "start_date": start.to_string()}))
        .await;
    let id = id_of(&plan);
    assert_eq!((plan["interest"].as_i64(), plan["total"].as_i64()), (Some(6_000), Some(106_000)));
    assert_eq!(amounts(&plan, "amount").iter().sum::<i64>(), 106_000, "the instalments cover principal and interest");
    let ii = plan["interest_invoices"][0].as_str().expect("an interest invoice").to_owned();
    let charge = c.app.get_json(&format!("/api/invoices/{ii}")).await;
    assert_eq!((charge["status"].as_str(), charge["totals"]["total"].as_i64()), (Some("issued"), Some(6_000)));
    assert_eq!(charge["client_id"], c.client);
    assert!(charge["number"].as_str().is_some_and(|n| n.starts_with("INV-")), "{charge}");
    assert_eq!(
        (charge["lines"][0]["category"].as_str(), charge["lines"][0]["taxable"].as_bool()),
        (Some("finance_charge"), Some(false))
    );
    // The invoice of the plan is unchanged: the interest is not on it.
    assert_eq!(c.app.get_json(&format!("/api/invoices/{inv}")).await["balance"], 100_000);

    // Progress counts the payments of both invoices: the principal alone leaves the last
    // instalment short by the interest.
    c.pay(&inv, 100_000).await;
    let read = c.app.get_json(&format!("/api/payment-plans/{id}")).await;
    assert_eq!((read["paid"].as_i64(), read["status"].as_str()), (Some(100_000), Some("active")));
    c.pay(&ii, 2_000).await;
    let read = c.app.get_json(&format!("/api/payment-plans/{id}")).await;
    assert_eq!(read["paid"], 102_000);

    // Fewer instalments, less interest (30.00): a credit note of 30.00 on the interest invoice,
    // never an edit of it.
    let body = json!({"instalments": 3, "reason": "paying faster"});
    let changed = expect_json(c.app.patch_json(&format!("/api/payment-plans/{id}"), &body).await, StatusCode::OK).await;
    assert_eq!(changed["interest"], 3_000);
    assert_eq!(changed["interest_invoices"].as_array().map(Vec::len), Some(1));
    let charge = c.app.get_json(&format!("/api/invoices/{ii}")).await;
    assert_eq!(
        (charge["totals"]["total"].as_i64(), charge["credited"].as_i64(), charge["balance"].as_i64()),
        (Some(6_000), Some(3_000), Some(1_000)),
        "{charge}"
    );
    assert_eq!(charge["credit_notes"].as_array().map(Vec::len), Some(1));

    // More instalments, more interest (120.00): a new charge of the 90.00 more.
    let body = json!({"instalments": 12, "reason": "lost a job"});
    let changed = expect_json(c.app.patch_json(&format!("/api/payment-plans/{id}"), &body).await, StatusCode::OK).await;
    assert_eq!((changed["interest"].as_i64(), changed["total"].as_i64()), (Some(12_000), Some(112_000)));
    let second = changed["interest_invoices"][1].as_str().expect("a second interest invoice").to_owned();
    let more = c.app.get_json(&format!("/api/invoices/{second}")).await;
    assert_eq!((more["status"].as_str(), more["totals"]["total"].as_i64()), (Some("issued"), Some(9_000)));
    assert_eq!(c.app.get_json(&format!("/api/invoices/{ii}")).await["credit_notes"].as_array().map(Vec::len), Some(1));

    // The jobs written with each change find nothing left to do, and paying both interest
    // invoices completes the plan.
    c.interest_jobs_ran(&id, 3).await;
    c.pay(&ii, 1_000).await;
    c.pay(&second, 9_000).await;
    let read = c.app.get_json(&format!("/api/payment-plans/{id}")).await;
    assert_eq!((read["paid"].as_i64(), read["status"].as_str()), (Some(112_000), Some("completed")));
    let billed = c.app.get_json(&format!("/api/invoices/{ii}")).await;
    assert_eq!((billed["credited"].as_i64(), billed["status"].as_str()), (Some(3_000), Some("paid")));
}

#[tokio::test]
async fn a_cancelled_plan_credits_the_interest_not_yet_paid() {
    let c = clinic().await;
    let inv = c.issued(100_000).await;
    let plan = c.plan(json!({"invoice_id": inv, "instalments": 6, "interval": "monthly", "interest_bp": 1200})).await;
    let id = id_of(&plan);
    let ii = plan["interest_invoices"][0].as_str().unwrap().to_owned();
    c.pay(&ii, 500).await;
    let body = json!({"reason": "paying in full"});
    expect_json(c.app.post_json(&format!("/api/payment-plans/{id}/cancel"), &body).await, StatusCode::OK).await;
    let charge = c.app.get_json(&format!("/api/invoices/{ii}")).await;
    assert_eq!(
        (charge["credited"].as_i64(), charge["paid"].as_i64(), charge["balance"].as_i64()),
        (Some(5_500), Some(500), Some(0)),
        "{charge}"
    );
    // Its job, run after, credits nothing twice.
    c.interest_jobs_ran(&id, 2).await;
    assert_eq!(c.app.get_json(&format!("/api/invoices/{ii}")).await["credited"], 5_500);
}

/// The payment of the last instalment ends the plan at once (no waiting for a due job): the
/// stored plan is completed, audited `payment_plan.complete`, with its `payment_plan_updated`
/// event, and its claim on the invoice released; a part payment before it changes nothing.
#[tokio::test]
async fn a_plan_ends_when_its_last_instalment_is_paid() {
    let c = clinic().await;
    let inv = c.issued(9_000).await;
    let id = c.future_plan(&inv).await;
    let stored = |c: &Clinic| {
        let plan: clowder_schemas::ids::PaymentPlanId = id.parse().unwrap();
        c.app.system.plans.records().peek(plan).unwrap().status
    };
    c.pay(&inv, 3_000).await;
    let settle = format!("/api/jobs?kind=payment_plan_settle&subject=payment_plan_settle:{id}&limit=10");
    c.app.poll_json(&settle, |p| p["items"][0]["state"] == "succeeded").await;
    assert_eq!(stored(&c), clowder_schemas::payment_plans::PlanStatus::Active, "two instalments are left");
    c.pay(&inv, 6_000).await;
    let done = |p: &Value| p["items"].as_array().is_some_and(|j| j.iter().all(|j| j["state"] == "succeeded"));
    let jobs = c.app.poll_json(&settle, done).await;
    assert_eq!(jobs["items"].as_array().map(Vec::len), Some(2), "one check per payment");
    assert_eq!(stored(&c), clowder_schemas::payment_plans::PlanStatus::Completed);
    let audit = c.app.get_json("/api/audit?action=payment_plan.complete").await;
    assert_eq!(audit["items"].as_array().map(Vec::len), Some(1), "{audit}");
    let events = c.app.system.events_after(0, 10_000).unwrap();
    assert!(
        events.iter().any(|e| e.kind == "payment_plan_updated"
            && e.payload["plan_id"] == id
            && e.payload["changed"] == json!(["status"])),
        "the plan's end is an event"
    );
    // Its due jobs, when they come, find it ended; an invoice without a plan writes no check.
    let other = c.issued(1_000).await;
    c.pay(&other, 1_000).await;
    let all = c.app.get_json("/api/jobs?kind=payment_plan_settle&limit=10").await;
    assert_eq!(all["items"].as_array().map(Vec::len), Some(2));
}
