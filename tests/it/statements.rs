//! Statements of account: a client's invoices, credit notes, payments, credit applied and
//! refunds in date order with the running balance, the figures adding up to the cent and
//! aged as the AR ageing ages them; the same statement as a PDF read back with poppler.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::catalogue::item;
use crate::helpers::{TestApp, UNKNOWN_ID, assert_error, expect_json, id_of, pdf_text};

/// A clinic keeping credit on account, a client, a 65.00 exam.
pub(crate) struct Books {
    pub app: TestApp,
    pub client: String,
    pub exam: String,
}

impl Books {
    pub async fn open(tweak: impl FnOnce(&mut clowder::config::ServeArgs)) -> Books {
        let app = TestApp::spawn_with(|a| {
            a.billing.credit_on_account = true;
            tweak(a);
        })
        .await;
        app.login_admin().await;
        let client = app.some_client("Zoë", "Müller").await;
        let exam =
            id_of(&item(&app, json!({"name": "Exam", "category": "Exams", "kind": "service", "price": 6500})).await);
        Books { app, client, exam }
    }

    /// An issued invoice of `n` exams for `client`.
    pub async fn invoice(&self, client: &str, n: u32) -> Value {
        let body = json!({"client_id": client, "lines": [{"item_id": self.exam, "quantity": n}]});
        let id = id_of(&expect_json(self.app.post_json("/api/invoices", &body).await, StatusCode::CREATED).await);
        expect_json(self.app.post_json(&format!("/api/invoices/{id}/issue"), &json!({})).await, StatusCode::OK).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        expect_json(self.app.post_json(path, &body).await, StatusCode::OK).await
    }
}

fn last_payment(inv: &Value) -> String {
    id_of(inv["payments"].as_array().and_then(|p| p.last()).expect("a payment"))
}

fn cents(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not cents: {v}"))
}

/// The statement's own sums: opening + entries = closing, each running balance, and the
/// ageing's total is the closing balance.
fn check_sums(s: &Value) {
    let mut balance = cents(&s["opening_balance"]);
    let mut credit = cents(&s["opening_credit"]);
    for e in s["entries"].as_array().unwrap() {
        balance += cents(&e["amount"]);
        credit += cents(&e["credit"]);
        assert_eq!(cents(&e["balance"]), balance, "{e}");
    }
    assert_eq!(cents(&s["closing_balance"]), balance, "{s}");
    assert_eq!(cents(&s["closing_credit"]), credit, "{s}");
    assert_eq!(cents(&s["ageing"]["total"]), balance, "{s}");
    assert_eq!(
        cents(&s["closing_balance"]) - cents(&s["opening_balance"]),
        cents(&s["charges"]) - cents(&s["payments_and_credits"])
    );
}

#[tokio::test]
async fn a_statement_lists_every_movement_with_the_running_balance_and_adds_up_to_the_cent() {
    let b = Books::open(|_| {}).await;
    let a = b.invoice(&b.client, 2).await; // 130.00
    let a_id = id_of(&a);
    let check = last_payment(
        &b.post(
            &format!("/api/invoices/{a_id}/payments"),
            json!({"amount": 5000, "method": "check", "reference": "CHK-7"}),
        )
        .await,
    );
    b.post(
        &format!("/api/invoices/{a_id}/credit-notes"),
        json!({"reason": "goodwill", "lines": [{"description": "Goodwill", "unit_price": 1000}]}),
    )
    .await;
    // An overpayment of 35.00 kept as credit, then applied to a third invoice.
    let inv_b = id_of(&b.invoice(&b.client, 1).await);
    b.post(&format!("/api/invoices/{inv_b}/payments"), json!({"amount": 10000, "method": "cash"})).await;
    let c = id_of(&b.invoice(&b.client, 1).await);
    b.post(&format!("/api/invoices/{c}/apply-credit"), json!({})).await;
    // 20.00 of the check given back: owed again.
    b.post(&format!("/api/payments/{check}/refunds"), json!({"amount": 2000, "reason": "overcharged"})).await;
    // Another client's invoice is not on this statement.
    let other = b.app.some_client("Sam", "Roe").await;
    b.invoice(&other, 3).await;

    let s = b.app.get_json(&format!("/api/clients/{}/statement", b.client)).await;
    check_sums(&s);
    let today = s["to"].as_str().unwrap().to_owned();
    let kinds: Vec<&str> = s["entries"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["invoice", "invoice", "invoice", "credit_note", "payment", "payment", "credit_applied", "refund"],
        "invoices first on a day, then what paid them: {s}"
    );
    let amounts: Vec<i64> = s["entries"].as_array().unwrap().iter().map(|e| cents(&e["amount"])).collect();
    assert_eq!(amounts, [13000, 6500, 6500, -1000, -5000, -6500, -3500, 2000]);
    // A 90.00 + C 30.00 owed; B paid; the credit kept and applied is gone again.
    assert_eq!((cents(&s["opening_balance"]), cents(&s["closing_balance"])), (0, 12000));
    assert_eq!((cents(&s["charges"]), cents(&s["payments_and_credits"])), (28000, 16000));
    assert_eq!((cents(&s["ageing"]["current"]), cents(&s["ageing"]["invoices"])), (12000, 2));
    assert_eq!(cents(&s["closing_credit"]), 0);
    let payment = &s["entries"][5];
    assert!(payment["description"].as_str().unwrap().contains("35.00 kept as credit on account"), "{payment}");
    assert_eq!(cents(&payment["credit"]), 3500);
    assert_eq!(s["client_name"], "Müller, Zoë");

    // The same figures as the client's balance and the AR ageing.
    let balance = b.app.get_json(&format!("/api/clients/{}/balance", b.client)).await;
    assert_eq!(cents(&balance["balance"]), 12000, "{balance}");

    // A period starting tomorrow opens with everything owed and lists nothing; one ending
    // yesterday owed nothing.
    let tomorrow: jiff::civil::Date = today.parse::<jiff::civil::Date>().unwrap().tomorrow().unwrap();
    let later = b.app.get_json(&format!("/api/clients/{}/statement?from={tomorrow}&to={tomorrow}", b.client)).await;
    check_sums(&later);
    assert_eq!((cents(&later["opening_balance"]), cents(&later["closing_balance"])), (12000, 12000));
    assert!(later["entries"].as_array().unwrap().is_empty());
    let yesterday = today.parse::<jiff::civil::Date>().unwrap().yesterday().unwrap();
    let before = b.app.get_json(&format!("/api/clients/{}/statement?to={yesterday}", b.client)).await;
    assert_eq!((cents(&before["closing_balance"]), before["entries"].as_array().unwrap().len()), (0, 0));

    // Refusals, and the read audited as the client's.
    assert_error(
        b.app.get(&format!("/api/clients/{}/statement?from={tomorrow}&to={today}", b.client)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("to"),
    )
    .await;
    assert_error(
        b.app.get(&format!("/api/clients/{UNKNOWN_ID}/statement")).await,
        StatusCode::NOT_FOUND,
        "client_not_found",
        None,
    )
    .await;
    let audit = b.app.get_json("/api/audit?action=client.statement").await;
    assert!(!audit["items"].as_array().is_none_or(Vec::is_empty), "{audit}");
}

#[tokio::test]
async fn a_statement_pdf_shows_the_period_the_movements_the_balance_and_its_age() {
    let b = Books::open(|a| a.comms.clinic_name = Some("Clinique Féline".into())).await;
    let a = b.invoice(&b.client, 2).await;
    let number = a["number"].as_str().unwrap().to_owned();
    b.post(&format!("/api/invoices/{}/payments", id_of(&a)), json!({"amount": 4550, "method": "cash"})).await;
    let resp = b.app.get(&format!("/api/clients/{}/statement.pdf", b.client)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    assert!(resp.headers()["content-disposition"].to_str().unwrap().contains("statement-"));
    let pdf = resp.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    let audit = b.app.get_json("/api/audit?action=client.statement_pdf").await;
    assert!(!audit["items"].as_array().is_none_or(Vec::is_empty), "{audit}");
    let Some(text) = pdf_text(&pdf) else { return };
    for want in [
        "Statement of account",
        "Clinique Féline",
        "Müller, Zoë",
        &number,
        "Opening balance",
        "130.00",
        "45.50",
        "84.50",
    ] {
        assert!(text.contains(want), "{want:?} missing from:\n{text}");
    }
    assert!(text.lines().any(|l| l.contains("Closing balance") && l.contains("84.50")), "{text}");
    assert!(text.contains("Amounts due as of"), "{text}");
}

/// A client with an email address.
async fn client_with_email(app: &TestApp, first: &str, email: &str) -> String {
    let mut body = crate::helpers::client_body(first, "Owing");
    body["email"] = json!(email);
    id_of(&app.create_client(body).await)
}

#[tokio::test]
async fn a_receipt_and_a_statement_are_emailed_with_their_pdf_attached() {
    let Some(sink) = crate::providers::SmtpSink::start(&[]).await else { return };
    let b = Books::open(sink.tweak()).await;
    let jane = client_with_email(&b.app, "Jane", "jane@example.com").await;
    let inv = b.invoice(&jane, 1).await;
    let paid =
        b.post(&format!("/api/invoices/{}/payments", id_of(&inv)), json!({"amount": 2000, "method": "cash"})).await;
    let p = last_payment(&paid);
    let queued = expect_json(
        b.app.post_json(&format!("/api/payments/{p}/receipt/email"), &json!({})).await,
        StatusCode::ACCEPTED,
    )
    .await;
    let m = b
        .app
        .poll_json(&format!("/api/messages/{}", queued["message_id"].as_str().unwrap()), |v| v["status"] == "sent")
        .await;
    assert_eq!(m["attachments"][0], format!("receipt:{p}"), "the row keeps a reference, not the bytes: {m}");
    let got = &sink.wait_for(1).await[0];
    assert_eq!(got["content_type"], "multipart/mixed", "{got}");
    assert!(got["text"].as_str().unwrap().contains("Amount received: 20.00"), "{got}");
    let a = &got["attachments"][0];
    assert_eq!(
        (a["content_type"].as_str(), a["head"].as_str().map(|h| &h[..4])),
        (Some("application/pdf"), Some("%PDF"))
    );
    assert!(a["filename"].as_str().unwrap().starts_with("receipt-INV-"), "{a}");

    // The statement: the default template's text, its PDF attached.
    let queued = expect_json(
        b.app.post_json(&format!("/api/clients/{jane}/statement/email"), &json!({})).await,
        StatusCode::ACCEPTED,
    )
    .await;
    b.app
        .poll_json(&format!("/api/messages/{}", queued["message_id"].as_str().unwrap()), |v| v["status"] == "sent")
        .await;
    let got = &sink.wait_for(2).await[1];
    let text = got["text"].as_str().unwrap();
    assert!(text.contains("statement of account") && text.contains("45.00"), "{text}");
    let a = &got["attachments"][0];
    assert_eq!(
        (a["content_type"].as_str(), a["head"].as_str().map(|h| &h[..4])),
        (Some("application/pdf"), Some("%PDF"))
    );
    assert!(a["filename"].as_str().unwrap().starts_with("statement-"), "{a}");
    assert!(a["size"].as_u64().unwrap() > 1000, "{a}");

    // A client without an email: 422 naming it, nothing queued.
    assert_error(
        b.app.post_json(&format!("/api/clients/{}/statement/email", b.client), &json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("email"),
    )
    .await;
}

/// Starts a run and waits for its report.
async fn run(app: &TestApp, body: Value) -> Value {
    let started = expect_json(app.post_json("/api/statements/runs", &body).await, StatusCode::ACCEPTED).await;
    assert_eq!(started["status"], "running");
    app.poll_json(&format!("/api/statements/runs/{}", id_of(&started)), |v| v["status"] == "done").await
}

fn codes(run: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = run["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["client_id"].as_str().unwrap().to_owned(), s["code"].as_str().unwrap().to_owned()))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn a_statement_run_emails_each_client_who_owes_once_and_reports_who_was_skipped() {
    let b = Books::open(|_| {}).await;
    let app = &b.app;
    // Owes 65.00 and may be emailed; owes without an email (the Books client); owes but
    // revoked email; paid up; owes 1.00 only (below the run's minimum).
    let ada = client_with_email(app, "Ada", "ada@example.com").await;
    b.invoice(&ada, 1).await;
    b.invoice(&b.client, 1).await;
    let revoked = client_with_email(app, "Rex", "rex@example.com").await;
    b.invoice(&revoked, 2).await;
    let consent = json!({"channel": "email", "purpose": "transactional", "granted": false});
    expect_json(app.post_json(&format!("/api/clients/{revoked}/consent"), &consent).await, StatusCode::CREATED).await;
    let paid = client_with_email(app, "Pam", "pam@example.com").await;
    let inv = b.invoice(&paid, 1).await;
    b.post(&format!("/api/invoices/{}/payments", id_of(&inv)), json!({"amount": 6500, "method": "cash"})).await;
    let small = client_with_email(app, "Sue", "sue@example.com").await;
    let inv = b.invoice(&small, 1).await;
    b.post(&format!("/api/invoices/{}/payments", id_of(&inv)), json!({"amount": 6400, "method": "cash"})).await;

    assert_error(
        app.post_json("/api/statements/runs", &json!({"min_balance": 0})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("min_balance"),
    )
    .await;
    let first = run(app, json!({"min_balance": 500})).await;
    assert_eq!((first["total"].as_u64(), first["done"].as_u64()), (Some(3), Some(3)), "{first}");
    let sent = first["sent"].as_array().unwrap();
    assert_eq!(sent.len(), 1, "{first}");
    assert_eq!((sent[0]["client_id"].as_str(), sent[0]["balance"].as_i64()), (Some(ada.as_str()), Some(6500)));
    let mut want = vec![(b.client.clone(), "no_email".to_owned()), (revoked.clone(), "no_consent".to_owned())];
    want.sort();
    assert_eq!(codes(&first), want, "{first}");
    let m = app
        .poll_json(&format!("/api/messages/{}", sent[0]["message_id"].as_str().unwrap()), |v| v["status"] == "sent")
        .await;
    assert_eq!(m["recipient"], "ada@example.com");
    let attached = m["attachments"][0].as_str().unwrap();
    assert!(attached.starts_with(&format!("statement:{ada}:")), "{m}");

    // The same period again: nobody is emailed twice.
    let again = run(app, json!({"min_balance": 500})).await;
    assert!(again["sent"].as_array().unwrap().is_empty(), "{again}");
    let mut want = vec![
        (ada.clone(), "already_sent".to_owned()),
        (b.client.clone(), "no_email".to_owned()),
        (revoked.clone(), "no_consent".to_owned()),
    ];
    want.sort();
    assert_eq!(codes(&again), want, "{again}");
    let ada_messages = app.get_json(&format!("/api/messages?client={ada}")).await;
    assert_eq!(ada_messages["items"].as_array().map(Vec::len), Some(1), "{ada_messages}");
    let audit = app.get_json("/api/audit?action=statement.run").await;
    assert_eq!(audit["items"].as_array().map(Vec::len), Some(2), "{audit}");
}

#[tokio::test]
async fn finance_charges_are_invoices_of_their_own_once_a_month_and_never_on_finance_charges() {
    let b = Books::open(|a| {
        a.billing.invoice_terms_days = 0;
        a.finance.finance_charge_bp = 1800;
    })
    .await;
    let inv = b.invoice(&b.client, 2).await; // 130.00, due today
    let number = inv["number"].as_str().unwrap().to_owned();
    b.post(&format!("/api/invoices/{}/payments", id_of(&inv)), json!({"amount": 3000, "method": "cash"})).await;
    let paid = b.invoice(&b.client, 1).await;
    b.post(&format!("/api/invoices/{}/payments", id_of(&paid)), json!({"amount": 6500, "method": "cash"})).await;

    let finance = &b.app.system.finance;
    let caller = clowder_schemas::audit::Caller::system();
    let today = b.app.system.ctx.today();
    // Not past due yet (due today, no grace): nothing.
    assert!(finance.charge_overdue(today, &caller).await.unwrap().is_empty());
    let first_month = today.checked_add(jiff::Span::new().days(10)).unwrap();
    let charged = finance.charge_overdue(first_month, &caller).await.unwrap();
    assert_eq!(charged.len(), 1, "{charged:?}");
    // 1.5 % a month of the 100.00 overdue.
    assert_eq!((charged[0].invoice_id.to_string(), charged[0].amount.get()), (id_of(&inv), 150));
    let charge = b.app.get_json(&format!("/api/invoices/{}", charged[0].charge_id)).await;
    assert_eq!(
        (charge["status"].as_str(), charge["totals"]["total"].as_i64()),
        (Some("issued"), Some(150)),
        "{charge}"
    );
    assert!(charge["number"].as_str().unwrap().starts_with("INV-"), "{charge}");
    let line = &charge["lines"][0];
    assert_eq!(line["category"], "finance_charge");
    assert!(line["description"].as_str().unwrap().contains(&number), "{line}");
    // The overdue invoice itself is unchanged (issued invoices change only by credit notes).
    assert_eq!(b.app.get_json(&format!("/api/invoices/{}", id_of(&inv))).await["totals"]["total"], 13000);

    // Once per invoice per month.
    assert!(finance.charge_overdue(first_month, &caller).await.unwrap().is_empty());
    // Next month: the invoice again, never the finance charge (overdue too by then).
    let next_month = first_month.checked_add(jiff::Span::new().months(1)).unwrap();
    let again = finance.charge_overdue(next_month, &caller).await.unwrap();
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(again[0].invoice_id.to_string(), id_of(&inv));

    // The client's statement shows both charges.
    let s = b.app.get_json(&format!("/api/clients/{}/statement", b.client)).await;
    check_sums(&s);
    assert_eq!(cents(&s["closing_balance"]), 10_000 + 150 + 150, "{s}");
}
