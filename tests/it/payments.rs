//! Payments beyond taking one: refunds as their own records (never more than was paid, a
//! processor's refund recorded once, the invoice's status following), credit on account (a
//! setting; the excess of a payment kept, applied to other invoices under one lock per
//! client, refunded), and the client's balance showing both.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::catalogue::item;
use crate::helpers::{TestApp, UNKNOWN_ID, assert_error, expect_json, id_of, pdf_text};

struct Till {
    app: TestApp,
    client: String,
    exam: String,
}

/// A clinic with a 65.00 exam, optionally taking credit on account.
async fn till(credit_on_account: bool) -> Till {
    let app = TestApp::spawn_with(|a| a.billing.credit_on_account = credit_on_account).await;
    app.login_admin().await;
    let client = app.some_client("Jane", "Doe").await;
    let exam = id_of(&item(&app, json!({"name": "Exam", "category": "Exams", "kind": "service", "price": 6500})).await);
    Till { app, client, exam }
}

impl Till {
    /// An issued invoice of `n` exams.
    async fn invoice(&self, n: u32) -> String {
        let body = json!({"client_id": self.client, "lines": [{"item_id": self.exam, "quantity": n}]});
        let id = id_of(&expect_json(self.app.post_json("/api/invoices", &body).await, StatusCode::CREATED).await);
        expect_json(self.app.post_json(&format!("/api/invoices/{id}/issue"), &json!({})).await, StatusCode::OK).await;
        id
    }

    async fn pay(&self, invoice: &str, body: Value) -> Value {
        expect_json(self.app.post_json(&format!("/api/invoices/{invoice}/payments"), &body).await, StatusCode::OK).await
    }

    async fn refund(&self, payment: &str, body: Value) -> reqwest::Response {
        self.app.post_json(&format!("/api/payments/{payment}/refunds"), &body).await
    }

    async fn credit(&self) -> Value {
        self.app.get_json(&format!("/api/clients/{}/credit", self.client)).await
    }
}

fn last_payment(inv: &Value) -> String {
    id_of(inv["payments"].as_array().and_then(|p| p.last()).expect("a payment"))
}

fn amounts(inv: &Value) -> (i64, i64, i64, &str) {
    (
        inv["paid"].as_i64().unwrap_or(-1),
        inv["refunded"].as_i64().unwrap_or(-1),
        inv["balance"].as_i64().unwrap_or(-1),
        inv["status"].as_str().unwrap_or(""),
    )
}

#[tokio::test]
async fn refunds_are_their_own_records_and_never_more_than_what_is_left_of_the_payment() {
    let t = till(false).await;
    let inv = t.invoice(1).await;
    let cash = last_payment(&t.pay(&inv, json!({"amount": 4000, "method": "cash"})).await);
    let paid = t
        .pay(
            &inv,
            json!({"amount": 2500, "method": "card_online", "processor": "stripe", "processor_payment_id": "pi_1"}),
        )
        .await;
    let card = last_payment(&paid);
    assert_eq!(amounts(&paid), (6500, 0, 0, "paid"));

    // More than the payment: 422 naming the field, nothing written.
    assert_error(
        t.refund(&cash, json!({"amount": 4001, "reason": "overcharged"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("amount"),
    )
    .await;
    assert_error(
        t.refund(&cash, json!({"amount": 10, "reason": " "})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("reason"),
    )
    .await;
    assert_error(
        t.refund(&cash, json!({"amount": 0, "reason": "x"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("amount"),
    )
    .await;

    // Part of the cash: the invoice is open again, partially paid.
    let after = expect_json(
        t.refund(&cash, json!({"amount": 1500, "reason": "overcharged", "reference": "till 3"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(amounts(&after), (5000, 1500, 1500, "partially_paid"));
    let r = &after["refunds"][0];
    assert_eq!((r["payment_id"].as_str(), r["amount"].as_i64()), (Some(cash.as_str()), Some(1500)));
    assert_eq!((r["method"].as_str(), r["of"].as_str()), (Some("cash"), Some("invoice")), "the payment's method");
    assert!(r["id"].is_string());
    // The rest of the cash is 2500: 2501 is refused.
    assert_error(
        t.refund(&cash, json!({"amount": 2501, "reason": "x"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("amount"),
    )
    .await;

    // A processor's refund is recorded once: the webhook delivered twice is 409.
    let stripe =
        json!({"amount": 500, "reason": "charge.refunded", "processor": "stripe", "processor_refund_id": "re_1"});
    expect_json(t.refund(&card, stripe.clone()).await, StatusCode::OK).await;
    assert_error(t.refund(&card, stripe).await, StatusCode::CONFLICT, "duplicate_value", Some("processor_refund_id"))
        .await;

    // Everything back: nothing paid, the invoice is issued again (its due date is ahead).
    expect_json(t.refund(&card, json!({"amount": 2000, "reason": "x"})).await, StatusCode::OK).await;
    let all = expect_json(t.refund(&cash, json!({"amount": 2500, "reason": "x"})).await, StatusCode::OK).await;
    assert_eq!(amounts(&all), (0, 6500, 6500, "issued"));
    assert_eq!(all["refunds"].as_array().map(Vec::len), Some(4));
    assert_eq!(all["payments"].as_array().map(Vec::len), Some(2), "payments are kept");
    assert_error(
        t.refund(&cash, json!({"amount": 1, "reason": "x"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("amount"),
    )
    .await;
    assert_error(
        t.refund(UNKNOWN_ID, json!({"amount": 1, "reason": "x"})).await,
        StatusCode::NOT_FOUND,
        "payment_not_found",
        None,
    )
    .await;
    // What is owed again shows in the client's balance.
    assert_eq!(t.app.get_json(&format!("/api/clients/{}/balance", t.client)).await["balance"], 6500);

    // A retry with the same Idempotency-Key refunds once.
    let inv2 = t.invoice(1).await;
    let p2 = last_payment(&t.pay(&inv2, json!({"amount": 6500, "method": "check", "reference": "1042"})).await);
    let send = || {
        t.app
            .request(Method::POST, &format!("/api/payments/{p2}/refunds"))
            .header("Idempotency-Key", "refund-retry-1")
            .json(&json!({"amount": 100, "reason": "bounced part"}))
            .send()
    };
    let first = expect_json(send().await.unwrap(), StatusCode::OK).await;
    let second = expect_json(send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(first, second);
    assert_eq!(t.app.get_json(&format!("/api/invoices/{inv2}")).await["refunds"].as_array().map(Vec::len), Some(1));
    // The audit trail names the refund.
    let audit = t.app.get_json("/api/audit?action=invoice.refund").await;
    assert!(!audit["items"].as_array().is_none_or(Vec::is_empty), "{audit}");
}

#[tokio::test]
async fn without_the_setting_a_payment_above_the_balance_is_refused() {
    let t = till(false).await;
    let inv = t.invoice(1).await;
    assert_error(
        t.app.post_json(&format!("/api/invoices/{inv}/payments"), &json!({"amount": 6501, "method": "cash"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("amount"),
    )
    .await;
    assert_eq!(t.credit().await["credit"], 0);
}

#[tokio::test]
async fn credit_on_account_keeps_the_excess_applies_it_and_refunds_it() {
    let t = till(true).await;
    let a = t.invoice(1).await;
    let paid = t.pay(&a, json!({"amount": 10000, "method": "cash"})).await;
    assert_eq!(amounts(&paid), (6500, 0, 0, "paid"));
    assert_eq!(paid["payments"][0]["to_credit"], 3500);
    let overpayment = last_payment(&paid);
    let balance = t.app.get_json(&format!("/api/clients/{}/balance", t.client)).await;
    assert_eq!((balance["balance"].as_i64(), balance["credit"].as_i64()), (Some(0), Some(3500)));
    let ledger = t.credit().await;
    assert_eq!((ledger["credit"].as_i64(), ledger["entries"][0]["kind"].as_str()), (Some(3500), Some("overpayment")));

    // Applied: never more than the credit or the balance.
    let b = t.invoice(2).await; // 130.00
    assert_error(
        t.app.post_json(&format!("/api/invoices/{b}/apply-credit"), &json!({"amount": 3501})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("amount"),
    )
    .await;
    let applied = expect_json(
        t.app.post_json(&format!("/api/invoices/{b}/apply-credit"), &json!({"amount": 1000})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(amounts(&applied), (1000, 0, 12000, "partially_paid"));
    assert_eq!(applied["payments"][0]["method"], "account_credit");
    let rest =
        expect_json(t.app.post_json(&format!("/api/invoices/{b}/apply-credit"), &json!({})).await, StatusCode::OK)
            .await;
    assert_eq!(amounts(&rest), (3500, 0, 9500, "partially_paid"), "the rest of the credit, by default");
    assert_eq!(t.credit().await["credit"], 0);
    assert_error(
        t.app.post_json(&format!("/api/invoices/{b}/apply-credit"), &json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("amount"),
    )
    .await;
    // `account_credit` is not a method a payment is taken in.
    assert_error(
        t.app
            .post_json(&format!("/api/invoices/{b}/payments"), &json!({"amount": 1, "method": "account_credit"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("method"),
    )
    .await;

    // Refunding applied credit restores it (never out as cash).
    let from_credit = last_payment(&rest);
    assert_error(
        t.refund(&from_credit, json!({"amount": 500, "reason": "x", "method": "cash"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("method"),
    )
    .await;
    let restored =
        expect_json(t.refund(&from_credit, json!({"amount": 500, "reason": "wrong invoice"})).await, StatusCode::OK)
            .await;
    assert_eq!(amounts(&restored), (3000, 500, 10000, "partially_paid"));
    assert_eq!(t.credit().await["credit"], 500);

    // Credit refunded to the client: the overpayment's credit part, at most the credit left.
    assert_error(
        t.refund(&overpayment, json!({"amount": 501, "reason": "x", "of": "credit"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("amount"),
    )
    .await;
    let back = expect_json(
        t.refund(&overpayment, json!({"amount": 500, "reason": "client asked", "of": "credit"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(amounts(&back), (6500, 0, 0, "paid"), "a refund of credit leaves the invoice as it was");
    let ledger = t.credit().await;
    assert_eq!(ledger["credit"], 0);
    let kinds: Vec<&str> = ledger["entries"].as_array().unwrap().iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(kinds, ["overpayment", "applied", "applied", "restored", "refunded"]);
    let sum: i64 = ledger["entries"].as_array().unwrap().iter().filter_map(|e| e["amount"].as_i64()).sum();
    assert_eq!(sum, 0);
    assert_error(
        t.app.get(&format!("/api/clients/{UNKNOWN_ID}/credit")).await,
        StatusCode::NOT_FOUND,
        "client_not_found",
        None,
    )
    .await;
}

/// Credit that came back to the account by refunding a payment made from credit
/// (`restored`) is paid out as money by a refund `of: "credit"` of that payment: a method
/// named (never `account_credit`), a reason, at most what its refunds restored and at most
/// the client's credit; its own record in the invoice's `refunds`, a `refunded` entry of the
/// credit ledger.
#[tokio::test]
async fn restored_credit_is_refunded_as_money_up_to_what_was_restored_and_the_credit() {
    let t = till(true).await;
    let a = t.invoice(1).await;
    t.pay(&a, json!({"amount": 10000, "method": "cash"})).await; // 35.00 kept as credit
    let b = t.invoice(2).await;
    let applied =
        expect_json(t.app.post_json(&format!("/api/invoices/{b}/apply-credit"), &json!({})).await, StatusCode::OK)
            .await;
    let from_credit = last_payment(&applied);
    // Nothing restored yet: nothing of this payment to pay out.
    assert_error(
        t.refund(&from_credit, json!({"amount": 100, "reason": "x", "of": "credit", "method": "cash"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("amount"),
    )
    .await;
    let restored =
        expect_json(t.refund(&from_credit, json!({"amount": 3500, "reason": "wrong invoice"})).await, StatusCode::OK)
            .await;
    assert_eq!(amounts(&restored), (0, 3500, 13000, "issued"));
    assert_eq!(t.credit().await["credit"], 3500);

    // Bad input: no method or account_credit, more than restored, negative, zero, no reason.
    for (body, field) in [
        (json!({"amount": 1000, "reason": "x", "of": "credit"}), "method"),
        (json!({"amount": 1000, "reason": "x", "of": "credit", "method": "account_credit"}), "method"),
        (json!({"amount": 3501, "reason": "x", "of": "credit", "method": "cash"}), "amount"),
        (json!({"amount": -100, "reason": "x", "of": "credit", "method": "cash"}), "amount"),
        (json!({"amount": 0, "reason": "x", "of": "credit", "method": "cash"}), "amount"),
        (json!({"amount": 100, "reason": " ", "of": "credit", "method": "cash"}), "reason"),
    ] {
        assert_error(
            t.refund(&from_credit, body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some(field),
        )
        .await;
    }
    assert_eq!(t.credit().await["credit"], 3500, "refusals take nothing");

    let out = expect_json(
        t.refund(
            &from_credit,
            json!({"amount": 2000, "reason": "client asked", "of": "credit", "method": "cash", "reference": "till 2"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let refund = out["refunds"].as_array().unwrap().last().unwrap();
    assert_eq!(
        (refund["of"].as_str(), refund["method"].as_str(), refund["amount"].as_i64(), refund["reason"].as_str()),
        (Some("credit"), Some("cash"), Some(2000), Some("client asked"))
    );
    assert_eq!(amounts(&out), (0, 3500, 13000, "issued"), "the invoice is as it was");
    let ledger = t.credit().await;
    assert_eq!(ledger["credit"], 1500);
    let kinds: Vec<&str> = ledger["entries"].as_array().unwrap().iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(kinds, ["overpayment", "applied", "restored", "refunded"]);

    // The rest of the credit spent elsewhere: what is left restored cannot go out as well.
    let c = t.invoice(1).await;
    expect_json(t.app.post_json(&format!("/api/invoices/{c}/apply-credit"), &json!({})).await, StatusCode::OK).await;
    assert_eq!(t.credit().await["credit"], 0);
    let r = t.refund(&from_credit, json!({"amount": 1500, "reason": "x", "of": "credit", "method": "cash"})).await;
    let e = assert_error(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("amount")).await;
    assert!(e["message"].as_str().unwrap().contains("credit on account (0 cents)"), "{e}");
}

#[tokio::test]
async fn credit_is_spent_once_when_two_invoices_apply_it_at_once() {
    let t = till(true).await;
    let a = t.invoice(1).await;
    t.pay(&a, json!({"amount": 9500, "method": "cash"})).await; // 30.00 of credit
    let (b, c) = (t.invoice(1).await, t.invoice(1).await);
    let apply = |id: String| {
        let app = &t.app;
        async move { app.post_json(&format!("/api/invoices/{id}/apply-credit"), &json!({})).await }
    };
    let (rb, rc) = tokio::join!(apply(b.clone()), apply(c.clone()));
    // One takes all 30.00; the other finds none left (422) — never 60.00 spent.
    let statuses = [rb.status(), rc.status()];
    assert!(statuses.contains(&StatusCode::OK) && statuses.contains(&StatusCode::UNPROCESSABLE_ENTITY), "{statuses:?}");
    let paid_b = t.app.get_json(&format!("/api/invoices/{b}")).await["paid"].as_i64().unwrap();
    let paid_c = t.app.get_json(&format!("/api/invoices/{c}")).await["paid"].as_i64().unwrap();
    assert_eq!(paid_b + paid_c, 3000);
    assert_eq!(t.credit().await["credit"], 0);
}

#[tokio::test]
async fn a_receipt_pdf_names_the_invoice_the_lines_the_method_and_the_balance_after() {
    let app = TestApp::spawn_with(|a| a.comms.clinic_name = Some("Clinique Féline".into())).await;
    app.login_admin().await;
    let client = app.some_client("Zoë", "Müller").await;
    let exam = id_of(&item(&app, json!({"name": "Exam", "category": "Exams", "kind": "service", "price": 6500})).await);
    let t = Till { app, client, exam };
    let inv = t.invoice(2).await; // 130.00
    let first = last_payment(&t.pay(&inv, json!({"amount": 5000, "method": "check", "reference": "CHK-1042"})).await);
    let paid = t.pay(&inv, json!({"amount": 8000, "method": "cash"})).await;
    let resp = t.app.get(&format!("/api/payments/{first}/receipt.pdf")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    assert!(resp.headers()["content-disposition"].to_str().unwrap().contains("receipt-INV-"));
    let pdf = resp.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    assert_error(
        t.app.get(&format!("/api/payments/{UNKNOWN_ID}/receipt.pdf")).await,
        StatusCode::NOT_FOUND,
        "payment_not_found",
        None,
    )
    .await;
    let audit = t.app.get_json("/api/audit?action=payment.receipt_pdf").await;
    assert!(!audit["items"].as_array().is_none_or(Vec::is_empty), "{audit}");
    let Some(text) = pdf_text(&pdf) else { return };
    let number = paid["number"].as_str().unwrap();
    for want in ["Receipt", "Clinique Féline", "Müller, Zoë", number, "Check", "CHK-1042", "Exam", "130.00", "50.00"]
    {
        assert!(text.contains(want), "{want:?} missing from:\n{text}");
    }
    // The balance after the first payment is 80.00, though the invoice is paid now.
    assert!(text.lines().any(|l| l.contains("Balance after this payment") && l.contains("80.00")), "{text}");
}

#[tokio::test]
async fn a_receipt_is_emailed_to_the_client_through_the_outbox() {
    let Some(sink) = crate::providers::SmtpSink::start(&[]).await else { return };
    let app = sink.app().await;
    let mut body = crate::helpers::client_body("Jane", "Doe");
    body["email"] = json!("jane@example.com");
    let client = id_of(&app.create_client(body).await);
    let no_email = app.some_client("Sam", "Roe").await;
    let exam = id_of(&item(&app, json!({"name": "Exam", "category": "Exams", "kind": "service", "price": 6500})).await);
    let t = Till { app, client, exam };
    let inv = t.invoice(1).await;
    let p = last_payment(&t.pay(&inv, json!({"amount": 2000, "method": "card_present", "reference": "slip 77"})).await);
    let queued = expect_json(
        t.app.post_json(&format!("/api/payments/{p}/receipt/email"), &json!({})).await,
        StatusCode::ACCEPTED,
    )
    .await;
    let m = t
        .app
        .poll_json(&format!("/api/messages/{}", queued["message_id"].as_str().unwrap()), |v| v["status"] == "sent")
        .await;
    assert_eq!((m["recipient"].as_str(), m["client_id"].as_str()), (Some("jane@example.com"), Some(t.client.as_str())));
    let got = &sink.wait_for(1).await[0];
    let text = got.to_string();
    for want in ["Receipt for invoice INV-", "slip 77", "Amount received: 20.00", "Balance after this payment: 45.00"] {
        assert!(text.contains(want), "{want:?} missing from {got}");
    }
    // A client without an email: 422 naming it, nothing queued.
    let other = Till { app: t.app, client: no_email, exam: t.exam };
    let inv = other.invoice(1).await;
    let p = last_payment(&other.pay(&inv, json!({"amount": 100, "method": "cash"})).await);
    assert_error(
        other.app.post_json(&format!("/api/payments/{p}/receipt/email"), &json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("email"),
    )
    .await;
    assert_eq!(sink.received().len(), 1);
}

/// The invoice builder's money controls against the real server: the client's credit offered
/// up to the lesser of it and the balance (more than the balance refused), a payment with what
/// is left to refund of its invoice part and of its credit part (at most the client's credit
/// now), the client's points on a draft; one apply-credit retried with its key
/// applies once.
#[tokio::test]
async fn the_invoice_builder_offers_the_clients_credit_refunds_and_points() {
    let t = till(true).await;
    let a = t.invoice(1).await;
    t.pay(&a, json!({"amount": 20000, "method": "cash"})).await; // 135.00 kept as credit
    let b = t.invoice(1).await; // 65.00
    let page = |id: String| {
        let app = &t.app;
        async move {
            let r = app.get(&format!("/invoices/{id}")).await;
            assert_eq!(r.status(), StatusCode::OK);
            r.text().await.unwrap()
        }
    };
    let html = page(b.clone()).await;
    assert!(html.contains("The client has 135.00 in credit.") && html.contains("(at most 65.00)"), "{html}");
    // More than the balance, though the credit would cover it.
    let apply = format!("/api/invoices/{b}/apply-credit");
    let r = t.app.post_json(&apply, &json!({"amount": 6501})).await;
    assert_error(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("amount")).await;
    // Retried with its key: applied once.
    let send = || {
        t.app
            .request(Method::POST, &apply)
            .header("idempotency-key", "apply-once")
            .json(&json!({"amount": 2000}))
            .send()
    };
    let first = expect_json(send().await.unwrap(), StatusCode::OK).await;
    let again = expect_json(send().await.unwrap(), StatusCode::OK).await;
    assert_eq!((first["balance"].as_i64(), again["balance"].as_i64()), (Some(4500), Some(4500)));
    assert_eq!(t.credit().await["credit"], 11500, "spent once");
    let html = page(b.clone()).await;
    assert!(html.contains("The client has 115.00 in credit.") && html.contains("(at most 45.00)"));

    // A payment with something left to refund: its invoice part, and its credit part for at
    // most the client's credit now (135.00 was kept, 20.00 of it spent on the other invoice).
    let html = page(a.clone()).await;
    assert!(html.contains(r#"id="refund""#) && html.contains("(65.00 left to refund)"), "{html}");
    assert!(html.contains("kept as credit (115.00 left to refund)"), "{html}");
    let payment = last_payment(&t.app.get_json(&format!("/api/invoices/{a}")).await);
    let r = t.refund(&payment, json!({"amount": 6501, "reason": "too much"})).await;
    assert_error(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("amount")).await;
    expect_json(t.refund(&payment, json!({"amount": 6500, "reason": "all of it"})).await, StatusCode::OK).await;
    let html = page(a.clone()).await;
    assert!(!html.contains("(65.00 left to refund)") && html.contains("kept as credit (115.00 left"), "{html}");
    let r = t.refund(&payment, json!({"amount": 11501, "of": "credit", "reason": "more than the credit"})).await;
    assert_error(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("amount")).await;
    let paid_out = json!({"amount": 11500, "of": "credit", "reason": "the credit paid out"});
    expect_json(t.refund(&payment, paid_out).await, StatusCode::OK).await;
    assert!(!page(a.clone()).await.contains(r#"id="refund""#), "nothing the client's credit could pay out");

    // Points on a draft, once the programme is on.
    let draft = {
        let body = json!({"client_id": t.client, "lines": [{"item_id": t.exam}]});
        id_of(&expect_json(t.app.post_json("/api/invoices", &body).await, StatusCode::CREATED).await)
    };
    assert!(!page(draft.clone()).await.contains(r#"id="redeem""#), "the programme is off");
    let on = json!({"enabled": true, "points_per_unit": 1, "item_bonuses": [], "referral_bonus": 0,
                    "birthday_bonus": 0, "redeem_points": 100, "redeem_cents": 100, "min_redeem": 100,
                    "expiry_months": null});
    expect_json(t.app.put_json("/api/loyalty/settings", &on).await, StatusCode::OK).await;
    let adjust = json!({"points": 750, "reason": "welcome"});
    let r = t.app.post_json(&format!("/api/clients/{}/loyalty/adjustments", t.client), &adjust).await;
    expect_json(r, StatusCode::CREATED).await;
    let html = page(draft.clone()).await;
    assert!(html.contains("<strong>750</strong> points to redeem, worth 7.00"), "{html}");
    let r = t.app.post_json(&format!("/api/invoices/{draft}/loyalty/redeem"), &json!({"points": 800})).await;
    assert_error(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("points")).await;
    expect_json(
        t.app.post_json(&format!("/api/invoices/{draft}/loyalty/redeem"), &json!({"points": 500})).await,
        StatusCode::OK,
    )
    .await;
    assert!(page(draft).await.contains("Redeeming 500 points: 5.00 off."));
    assert!(!page(b).await.contains(r#"id="redeem""#), "an issued invoice redeems nothing");
}

/// The account page of a client with 600 invoices over a year: every open invoice, however
/// old (a first version read only the 200 newest), and the invoices ten a page, Older and
/// Newest links walking them all; a bad cursor is the 422 page.
#[tokio::test]
async fn the_account_page_reaches_invoices_beyond_the_200_newest() {
    use clowder_actors::billing::seed::{SeedPlan, seed_invoices};
    let app = TestApp::signed_in().await;
    let token = app.token().expect("signed in");
    let zone = app.system.ctx.config.time_zone.clone();
    let plan = SeedPlan { invoices: 600, clients: 1, years: 1, lines: 1, today: app.system.ctx.today() };
    seed_invoices(app.system.store(), &zone, plan, |_| {}).await.unwrap();
    let first = app.get_json("/api/invoices?limit=1").await;
    let client = first["items"][0]["client_id"].as_str().unwrap().to_owned();

    // The client's invoices, newest first, through the API.
    let mut all: Vec<Value> = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app.get_json(&format!("/api/clients/{client}/invoices?limit=200{cursor}")).await;
        all.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(all.len(), 600);
    let open: Vec<String> = all
        .iter()
        .filter(|i| ["issued", "partially_paid", "overdue"].contains(&i["status"].as_str().unwrap()))
        .map(id_of)
        .collect();
    let old_open: Vec<&String> = open.iter().filter(|id| all[200..].iter().any(|i| &id_of(i) == *id)).collect();
    assert!(!old_open.is_empty(), "the seed leaves an invoice open beyond the 200 newest");

    let (status, html) = crate::views::page(&app, &format!("/clients/{client}/account"), &token, false).await;
    assert_eq!(status, StatusCode::OK);
    let open_table = html.split(r#"id="open-invoices""#).nth(1).unwrap().split("</table>").next().unwrap();
    for id in &open {
        assert!(open_table.contains(&format!("/invoices/{id}")), "open invoice {id} is listed");
    }
    // Walk the pages: every invoice once, in order.
    let mut seen: Vec<String> = Vec::new();
    let mut html = html;
    let mut pages = 0;
    loop {
        pages += 1;
        let recent = html.split(r#"id="recent-invoices""#).nth(1).unwrap().split("</table>").next().unwrap();
        seen.extend(recent.split(r#"href="/invoices/"#).skip(1).map(|s| s.split('"').next().unwrap().to_owned()));
        let Some(next) = html.split(r#"<a href=""#).find(|s| s.contains(r#"id="older-invoices""#)) else { break };
        let href = next.split('"').next().unwrap().replace("&#x2F;", "/").replace("&amp;", "&");
        if pages > 1 {
            assert!(html.contains(r#"id="newest-invoices""#), "a later page links back to the newest");
        }
        let (status, next_html) = crate::views::page(&app, &href, &token, false).await;
        assert_eq!(status, StatusCode::OK, "{href}");
        html = next_html;
    }
    assert_eq!(pages, 60, "ten a page");
    assert_eq!(seen, all.iter().map(id_of).collect::<Vec<_>>(), "every invoice once, newest first");

    let (status, _) =
        crate::views::page(&app, &format!("/clients/{client}/account?cursor=not-a-cursor"), &token, false).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
