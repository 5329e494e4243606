//! `/api/invoices`: drafts computed to the cent by the written rule, issued with gap-free
//! `INV-YYYY-NNNNNN` numbers, changed after issue only by credit notes (`CN-YYYY-NNNNNN`),
//! voided once with a reason, an overdue job written with the issue, a client's balance
//! derived from their invoices, bad amounts refused, and safe retries.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::catalogue::item;
use crate::helpers::{TestApp, UNKNOWN_ID, assert_error, expect_json, id_of, page_ids};

struct Clinic {
    app: TestApp,
    client: String,
    cat: String,
    location: String,
    exam: String,
    food: String,
}

/// A clinic taxing 8.25 %, an untaxed exam at 65.00 and a taxed food at 13.33.
async fn clinic() -> Clinic {
    let app = TestApp::signed_in().await;
    let client = app.some_client("Jane", "Doe").await;
    let cat = app.some_patient(&client, "Miso").await;
    let location = id_of(&app.get_json("/api/locations").await[0]);
    expect_json(app.patch_json(&format!("/api/locations/{location}"), &json!({"tax_rate": 825})).await, StatusCode::OK)
        .await;
    let exam = id_of(&item(&app, json!({"name": "Exam", "category": "Exams", "kind": "service", "price": 6500})).await);
    let food = id_of(
        &item(&app, json!({"name": "Food", "category": "Food", "kind": "product", "price": 1333, "taxable": true}))
            .await,
    );
    Clinic { app, client, cat, location, exam, food }
}

impl Clinic {
    async fn draft(&self, lines: Value) -> Value {
        let body =
            json!({"client_id": self.client, "patient_id": self.cat, "location_id": self.location, "lines": lines});
        expect_json(self.app.post_json("/api/invoices", &body).await, StatusCode::CREATED).await
    }

    async fn issue(&self, id: &str) -> Value {
        expect_json(self.app.post_json(&format!("/api/invoices/{id}/issue"), &json!({})).await, StatusCode::OK).await
    }
}

fn year(app: &TestApp) -> i16 {
    app.system.ctx.today().year()
}

#[tokio::test]
async fn a_draft_is_computed_to_the_cent_by_the_written_rule() {
    let c = clinic().await;
    // The worked example of docs/billing.md.
    let body = json!({
        "client_id": c.client, "patient_id": c.cat, "location_id": c.location,
        "lines": [
            {"item_id": c.food, "quantity": 1.5, "unit_price": 1333, "discount": {"kind": "percent", "basis_points": 1000}},
            {"item_id": c.exam},
        ],
        "discount": {"kind": "amount", "amount": 500},
    });
    let inv = expect_json(c.app.post_json("/api/invoices", &body).await, StatusCode::CREATED).await;
    assert_eq!(inv["status"], "draft");
    assert_eq!(inv["number"], Value::Null);
    assert_eq!(inv["tax_rate"], 825);
    assert_eq!(inv["lines"][0]["amounts"], json!({"gross": 2000, "discount": 200, "net": 1800}));
    assert_eq!((inv["lines"][0]["line_no"].as_u64(), inv["lines"][1]["line_no"].as_u64()), (Some(1), Some(2)));
    assert_eq!(inv["lines"][1]["description"], "Exam", "a catalogue line takes the item's name");
    assert_eq!(inv["totals"], json!({"subtotal": 8500, "discount": 700, "taxable": 1692, "tax": 140, "total": 7940}));
    assert_eq!((inv["paid"].as_i64(), inv["balance"].as_i64()), (Some(0), Some(7940)));

    // A draft's lines change freely; the amounts follow.
    let path = format!("/api/invoices/{}", id_of(&inv));
    let changed = expect_json(
        c.app
            .patch_json(&path, &json!({"lines": [{"description": "Nail trim", "unit_price": 1500}], "discount": null}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(changed["totals"]["total"], 1500);
    assert_eq!(changed["lines"][0]["line_no"], 3, "line numbers are never reused");
    let added = expect_json(
        c.app.post_json(&format!("{path}/lines"), &json!([{"item_id": c.food, "quantity": "2"}])).await,
        StatusCode::OK,
    )
    .await;
    // 15.00 + 26.66 + 8.25 % of 26.66 (2.19945 → 2.20) = 43.86
    assert_eq!(added["totals"]["total"], 4386);
}

#[tokio::test]
async fn issued_invoices_get_gap_free_numbers_and_a_voided_draft_takes_none() {
    let c = clinic().await;
    let y = year(&c.app);
    let first = c.draft(json!([{"item_id": c.exam}])).await;
    let voided = c.draft(json!([{"item_id": c.exam}])).await;
    let second = c.draft(json!([{"item_id": c.food}])).await;
    let v = expect_json(
        c.app.post_json(&format!("/api/invoices/{}/void", id_of(&voided)), &json!({"reason": "made by mistake"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!((v["status"].as_str(), v["void_reason"].as_str()), (Some("void"), Some("made by mistake")));

    let one = c.issue(&id_of(&first)).await;
    let two = c.issue(&id_of(&second)).await;
    assert_eq!(one["number"], format!("INV-{y}-000001"));
    assert_eq!(two["number"], format!("INV-{y}-000002"));
    assert_eq!(one["status"], "issued");
    assert_eq!(one["issued_on"], c.app.system.ctx.today().to_string());
    let due = c.app.system.ctx.today().checked_add(jiff::Span::new().days(30)).unwrap();
    assert_eq!(one["due_on"], due.to_string(), "due after the default 30-day terms");
    // Issuing again changes nothing and takes no number.
    let again = c.issue(&id_of(&first)).await;
    assert_eq!(again["number"], format!("INV-{y}-000001"));
    let third = c.draft(json!([{"item_id": c.exam}])).await;
    assert_eq!(c.issue(&id_of(&third)).await["number"], format!("INV-{y}-000003"));
    // A voided invoice is not issued; an empty draft cannot be.
    assert_error(
        c.app.post_json(&format!("/api/invoices/{}/issue", id_of(&voided)), &json!({})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
        None,
    )
    .await;
    let empty = c.draft(json!([])).await;
    assert_error(
        c.app.post_json(&format!("/api/invoices/{}/issue", id_of(&empty)), &json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("lines"),
    )
    .await;
    // The numbers survive a read back from the store.
    c.app.system.invoices.records().passivate_all();
    assert_eq!(c.app.get_json(&format!("/api/invoices/{}", id_of(&second))).await["number"], format!("INV-{y}-000002"));
}

#[tokio::test]
async fn after_issue_only_a_credit_note_changes_what_is_owed() {
    let c = clinic().await;
    let y = year(&c.app);
    let inv = c.draft(json!([{"item_id": c.exam}, {"item_id": c.food, "quantity": 2}])).await;
    let id = id_of(&inv);
    let issued = c.issue(&id).await;
    // 65.00 + 26.66 + 2.20 tax
    assert_eq!(issued["totals"]["total"], 9386);
    let path = format!("/api/invoices/{id}");
    let err = assert_error(
        c.app.patch_json(&path, &json!({"lines": []})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
        None,
    )
    .await;
    assert_eq!(err["details"]["from"], "issued");
    assert_error(
        c.app.post_json(&format!("{path}/lines"), &json!([{"item_id": c.exam}])).await,
        StatusCode::CONFLICT,
        "invalid_transition",
        None,
    )
    .await;
    // More than the balance is refused; a credit note for one bag of food is 13.33 + 1.10.
    assert_error(
        c.app
            .post_json(
                &format!("{path}/credit-notes"),
                &json!({"reason": "x", "lines": [{"description": "All", "unit_price": 9387}]}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("lines"),
    )
    .await;
    assert_error(
        c.app.post_json(&format!("{path}/credit-notes"), &json!({"reason": "x", "lines": []})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("lines"),
    )
    .await;
    let credited = expect_json(
        c.app
            .post_json(
                &format!("{path}/credit-notes"),
                &json!({"reason": "one bag returned", "lines": [{"item_id": c.food}]}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    let note = &credited["credit_notes"][0];
    assert_eq!(note["number"], format!("CN-{y}-000001"));
    assert_eq!(note["totals"]["total"], 1443);
    assert_eq!((credited["credited"].as_i64(), credited["balance"].as_i64()), (Some(1443), Some(7943)));
    assert_eq!(credited["status"], "partially_paid");
    assert_eq!(credited["totals"]["total"], 9386, "the invoice itself is unchanged");
    // Credited, it can no longer be voided.
    assert_error(
        c.app.post_json(&format!("{path}/void"), &json!({"reason": "x"})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
        None,
    )
    .await;
    // Crediting the rest settles it.
    let settled = expect_json(
        c.app
            .post_json(
                &format!("{path}/credit-notes"),
                &json!({"reason": "goodwill", "lines": [{"description": "Goodwill", "unit_price": 7943}]}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!((settled["balance"].as_i64(), settled["status"].as_str()), (Some(0), Some("paid")));
    assert_eq!(settled["credit_notes"][1]["number"], format!("CN-{y}-000002"));
}

#[tokio::test]
async fn a_void_needs_a_reason_happens_once_and_cancels_the_overdue_job() {
    let c = clinic().await;
    let inv = c.draft(json!([{"item_id": c.exam}])).await;
    let id = id_of(&inv);
    let issued = c.issue(&id).await;
    let jobs = c.app.get_json(&format!("/api/jobs?kind=invoice_overdue&subject=invoice:{id}")).await;
    let job = &jobs["items"][0];
    assert_eq!(job["state"], "queued");
    // Due at the first moment of the day after the due date, in the clinic's zone.
    let ctx = &c.app.system.ctx;
    let day_after = ctx.today().checked_add(jiff::Span::new().days(31)).unwrap();
    let at = day_after.to_zoned(ctx.config.time_zone.clone()).unwrap().timestamp();
    assert_eq!(job["due_at"], at.to_string());

    let path = format!("/api/invoices/{id}/void");
    assert_error(
        c.app.post_json(&path, &json!({"reason": " "})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("reason"),
    )
    .await;
    let v = expect_json(c.app.post_json(&path, &json!({"reason": "wrong client"})).await, StatusCode::OK).await;
    assert_eq!(v["status"], "void");
    assert_eq!(v["number"], issued["number"], "a voided invoice keeps its number: no gap in the series");
    assert_error(
        c.app.post_json(&path, &json!({"reason": "again"})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
        None,
    )
    .await;
    let job = c.app.get_json(&format!("/api/jobs/{}", id_of(job))).await;
    assert_eq!(job["state"], "cancelled");
    // Still there, with its reason.
    assert_eq!(c.app.get_json(&format!("/api/invoices/{id}")).await["void_reason"], "wrong client");
}

#[tokio::test]
async fn the_overdue_job_leaves_an_invoice_that_is_not_yet_past_due() {
    let c = clinic().await;
    let id = id_of(&c.draft(json!([{"item_id": c.exam}])).await);
    c.issue(&id).await;
    // Run the job now, before the due date: the decision reads the date, not the job's time.
    let mut set = clowder_actors::store::ChangeSet::new();
    let now = c.app.system.ctx.clock.now();
    let caller = clowder_schemas::audit::Caller::system();
    let moved =
        c.app.system.jobs.reschedule_subject(&mut set, &format!("invoice:{id}"), |_| Some(now), &caller).unwrap();
    assert_eq!(moved.len(), 1);
    c.app.system.store().commit(set).await.unwrap();
    c.app.system.jobs.wake();
    c.app.poll_json(&format!("/api/jobs/{}", moved[0]), |j| j["state"] == "succeeded").await;
    assert_eq!(c.app.get_json(&format!("/api/invoices/{id}")).await["status"], "issued");
}

#[tokio::test]
async fn a_clients_balance_is_the_sum_of_their_issued_invoices() {
    let c = clinic().await;
    let path = format!("/api/clients/{}/balance", c.client);
    assert_eq!(
        c.app.get_json(&path).await,
        json!({"client_id": c.client, "balance": 0, "overdue": 0, "open_invoices": 0, "credit": 0})
    );
    let a = id_of(&c.draft(json!([{"item_id": c.exam}])).await);
    let b = id_of(&c.draft(json!([{"item_id": c.food}])).await);
    let draft = id_of(&c.draft(json!([{"item_id": c.exam}])).await);
    let void = id_of(&c.draft(json!([{"item_id": c.exam}])).await);
    c.issue(&a).await;
    c.issue(&b).await;
    c.issue(&void).await;
    expect_json(
        c.app.post_json(&format!("/api/invoices/{void}/void"), &json!({"reason": "dup"})).await,
        StatusCode::OK,
    )
    .await;
    // 65.00 + (13.33 + 1.10): drafts and void invoices owe nothing.
    let balance = c.app.get_json(&path).await;
    assert_eq!((balance["balance"].as_i64(), balance["open_invoices"].as_u64()), (Some(7943), Some(2)));
    let listed = c.app.get_json(&format!("/api/clients/{}/invoices", c.client)).await;
    assert_eq!(page_ids(&listed), [void.clone(), draft.clone(), b.clone(), a.clone()], "newest first");
    assert_eq!(page_ids(&c.app.get_json(&format!("/api/clients/{}/invoices?status=draft", c.client)).await), [draft]);
    // Another client's invoices are not theirs.
    let other = c.app.some_client("Sam", "Roe").await;
    assert_eq!(c.app.get_json(&format!("/api/clients/{other}/balance")).await["balance"], 0);
    assert_error(
        c.app.get(&format!("/api/clients/{UNKNOWN_ID}/balance")).await,
        StatusCode::NOT_FOUND,
        "client_not_found",
        None,
    )
    .await;
}

#[tokio::test]
async fn bad_amounts_and_oversized_invoices_are_refused() {
    let c = clinic().await;
    let refused = [
        (json!([{"description": "x", "unit_price": -1}]), "lines.0.unit_price"),
        (json!([{"description": "x", "unit_price": 100, "quantity": 0}]), "lines.0.quantity"),
        (json!([{"description": "x"}]), "lines.0.unit_price"),
        (json!([{"unit_price": 100}]), "lines.0.description"),
        (json!([{"description": "x", "unit_price": 100, "discount": {"kind": "amount", "amount": 101}}]), "lines.0"),
    ];
    for (lines, field) in refused {
        let body = json!({"client_id": c.client, "lines": lines});
        assert_error(
            c.app.post_json("/api/invoices", &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some(field),
        )
        .await;
    }
    let many: Vec<Value> = (0..10_000).map(|_| json!({"description": "x", "unit_price": 1})).collect();
    let resp = c.app.post_json("/api/invoices", &json!({"client_id": c.client, "lines": many})).await;
    assert!(resp.status().is_client_error(), "10,000 lines: {}", resp.status());
    for (q, what) in [(json!(1.0005), "a fourth decimal"), (json!(0.5), "")] {
        let body = json!({"client_id": c.client, "lines": [{"description": "x", "unit_price": 100, "quantity": q}]});
        let resp = c.app.post_json("/api/invoices", &body).await;
        if what.is_empty() {
            assert_eq!(expect_json(resp, StatusCode::CREATED).await["totals"]["total"], 50);
        } else {
            assert!(resp.status().is_client_error(), "{what}: {}", resp.status());
        }
    }
    let body = json!({"client_id": c.client, "lines": [{"description": "x", "unit_price": 12.5}]});
    assert!(c.app.post_json("/api/invoices", &body).await.status().is_client_error(), "a fraction of a cent");
    assert_error(
        c.app.post_json("/api/invoices", &json!({"client_id": UNKNOWN_ID})).await,
        StatusCode::NOT_FOUND,
        "client_not_found",
        None,
    )
    .await;
    let other = c.app.some_client("Sam", "Roe").await;
    assert_error(
        c.app.post_json("/api/invoices", &json!({"client_id": other, "patient_id": c.cat})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("patient_id"),
    )
    .await;
    assert_error(
        c.app.post_json("/api/invoices", &json!({"client_id": c.client, "lines": [{"item_id": UNKNOWN_ID}]})).await,
        StatusCode::NOT_FOUND,
        "catalogue_item_not_found",
        None,
    )
    .await;
}

#[tokio::test]
async fn a_retried_creation_makes_one_invoice_and_events_go_to_the_clients_topic() {
    let c = clinic().await;
    let body = json!({"client_id": c.client, "lines": [{"item_id": c.exam}]});
    let send =
        || c.app.request(Method::POST, "/api/invoices").header("Idempotency-Key", "invoice-retry-1").json(&body).send();
    let first = expect_json(send().await.unwrap(), StatusCode::CREATED).await;
    let second = send().await.unwrap();
    assert_eq!(second.headers().get("Idempotent-Replayed").and_then(|v| v.to_str().ok()), Some("true"));
    assert_eq!(id_of(&expect_json(second, StatusCode::CREATED).await), id_of(&first));
    assert_eq!(
        c.app.get_json(&format!("/api/clients/{}/invoices", c.client)).await["items"].as_array().unwrap().len(),
        1
    );

    let events = c.app.system.events_after(0, 10_000).unwrap();
    let created = events.iter().rfind(|e| e.kind == "invoice_created").expect("an invoice_created event");
    assert_eq!(created.subject, format!("client:{}", c.client));
    assert_eq!(created.payload["invoice_id"], id_of(&first));
}

#[tokio::test]
async fn payments_settle_an_invoice_never_above_its_balance_and_a_processor_id_pays_once() {
    let c = clinic().await;
    let id = id_of(&c.draft(json!([{"item_id": c.exam}])).await);
    let pay = format!("/api/invoices/{id}/payments");
    // A draft takes no payment.
    assert_error(
        c.app.post_json(&pay, &json!({"amount": 100, "method": "cash"})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
        None,
    )
    .await;
    c.issue(&id).await;
    for (body, field) in [
        (json!({"amount": 0, "method": "cash"}), "amount"),
        (json!({"amount": -100, "method": "cash"}), "amount"),
        (json!({"amount": 6501, "method": "cash"}), "amount"),
        (json!({"amount": 100, "method": "card_online", "processor": "stripe"}), "processor_payment_id"),
    ] {
        assert_error(
            c.app.post_json(&pay, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some(field),
        )
        .await;
    }
    assert!(c.app.post_json(&pay, &json!({"amount": 10.5, "method": "cash"})).await.status().is_client_error());

    let part = expect_json(
        c.app.post_json(&pay, &json!({"amount": 2500, "method": "card_online", "processor": "stripe", "processor_payment_id": "pi_123"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (part["paid"].as_i64(), part["balance"].as_i64(), part["status"].as_str()),
        (Some(2500), Some(4000), Some("partially_paid"))
    );
    assert_eq!(part["payments"][0]["method"], "card_online");
    // The processor's payment recorded again (a webhook delivered twice) is refused whole.
    assert_error(
        c.app.post_json(&pay, &json!({"amount": 100, "method": "card_online", "processor": "stripe", "processor_payment_id": "pi_123"})).await,
        StatusCode::CONFLICT,
        "duplicate_value",
        Some("processor_payment_id"),
    )
    .await;
    assert_eq!(c.app.get_json(&format!("/api/clients/{}/balance", c.client)).await["balance"], 4000);
    // Paid, it can be neither voided nor paid again.
    assert_error(
        c.app.post_json(&format!("/api/invoices/{id}/void"), &json!({"reason": "x"})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
        None,
    )
    .await;
    let paid = expect_json(
        c.app.post_json(&pay, &json!({"amount": 4000, "method": "cash", "reference": "till 2"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (paid["paid"].as_i64(), paid["balance"].as_i64(), paid["status"].as_str()),
        (Some(6500), Some(0), Some("paid"))
    );
    assert_error(
        c.app.post_json(&pay, &json!({"amount": 1, "method": "cash"})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
        None,
    )
    .await;
    assert_eq!(c.app.get_json(&format!("/api/clients/{}/balance", c.client)).await["balance"], 0);
}

#[tokio::test]
async fn a_clients_account_screen_hears_of_their_invoices_live() {
    let c = clinic().await;
    let mut ws = crate::live::connect(&c.app, &c.app.token().unwrap()).await;
    crate::live::send(&mut ws, json!({"op": "subscribe", "topics": [format!("client:{}", c.client)]})).await;
    assert_eq!(crate::live::next(&mut ws).await["type"], "subscribed");
    let id = id_of(&c.draft(json!([{"item_id": c.exam}])).await);
    let created = crate::live::next(&mut ws).await;
    assert_eq!(
        (created["type"].as_str(), created["data"]["invoice_id"].as_str()),
        (Some("invoice_created"), Some(id.as_str()))
    );
    c.issue(&id).await;
    let issued = crate::live::next(&mut ws).await;
    assert_eq!(issued["type"], "invoice_updated");
    assert!(issued["data"]["changed"].as_array().unwrap().contains(&json!("number")));
}

#[tokio::test]
async fn a_credit_note_gives_back_no_tax_the_invoice_never_charged_and_line_numbers_are_never_reused() {
    let c = clinic().await;
    // Only the untaxed exam: the invoice charged no tax at all.
    let id = id_of(&c.draft(json!([{"item_id": c.exam}])).await);
    // A line removed from a draft keeps its number retired.
    let path = format!("/api/invoices/{id}");
    expect_json(c.app.patch_json(&path, &json!({"lines": []})).await, StatusCode::OK).await;
    let relined =
        expect_json(c.app.post_json(&format!("{path}/lines"), &json!([{"item_id": c.exam}])).await, StatusCode::OK)
            .await;
    assert_eq!(relined["lines"][0]["line_no"], 2, "line 1 was removed; its number is not given again");
    c.issue(&id).await;
    let credit = format!("{path}/credit-notes");
    for (lines, why) in [
        (
            json!([{"description": "Exam", "unit_price": 6000, "taxable": true}]),
            "a taxable credit of an untaxed invoice",
        ),
        (json!([{"description": "Nothing", "unit_price": 0}]), "a credit note of 0 cents"),
    ] {
        let resp = c.app.post_json(&credit, &json!({"reason": "x", "lines": lines})).await;
        assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("lines")).await;
        let _ = why;
    }
    let ok = expect_json(
        c.app
            .post_json(&credit, &json!({"reason": "goodwill", "lines": [{"description": "Exam", "unit_price": 1000}]}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!((ok["credited"].as_i64(), ok["totals"]["tax"].as_i64()), (Some(1000), Some(0)));
    // A processor's name is one word: `a/b` + `c` and `a` + `b/c` cannot make the same key.
    assert_error(
        c.app
            .post_json(
                &format!("{path}/payments"),
                &json!({"amount": 100, "method": "card_online", "processor": "a/b", "processor_payment_id": "c"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("processor"),
    )
    .await;
    // A catalogue item links only to a product and an appointment type that exist.
    for (link, code) in [("product_id", "product_not_found"), ("appointment_type_id", "appointment_type_not_found")] {
        let mut body = json!({"name": "Linked", "category": "Meds", "kind": "product", "price": 100});
        body[link] = json!(UNKNOWN_ID);
        assert_error(c.app.post_json("/api/catalogue", &body).await, StatusCode::NOT_FOUND, code, None).await;
    }
}

#[tokio::test]
async fn a_credit_note_of_invoice_lines_is_computed_from_the_lines_and_never_more_than_they_have_left() {
    let c = clinic().await;
    // The worked example of docs/billing.md: food 18.00 net (its share of the 5.00 invoice
    // discount 1.08), exam 65.00 (its share 3.92), tax 1.40, total 79.40.
    let body = json!({
        "client_id": c.client, "patient_id": c.cat, "location_id": c.location,
        "lines": [
            {"item_id": c.food, "quantity": 1.5, "discount": {"kind": "percent", "basis_points": 1000}},
            {"item_id": c.exam},
        ],
        "discount": {"kind": "amount", "amount": 500},
    });
    let id = id_of(&expect_json(c.app.post_json("/api/invoices", &body).await, StatusCode::CREATED).await);
    let inv = c.issue(&id).await;
    assert_eq!(inv["totals"]["total"], 7940);
    let path = format!("/api/invoices/{id}/credit-notes");
    // A third of the food: 16.92 × 0.5 ÷ 1.5 = 5.64, tax 8.25 % = 0.47.
    let one = expect_json(
        c.app.post_json(&path, &json!({"reason": "returned a bag", "lines": [{"line_no": 1, "quantity": 0.5}]})).await,
        StatusCode::OK,
    )
    .await;
    let note = &one["credit_notes"][0];
    assert_eq!(note["lines"][0]["credits_line_no"], 1);
    assert_eq!(note["lines"][0]["description"], "Food");
    assert_eq!(note["lines"][0]["amounts"]["net"], 564);
    assert_eq!((note["totals"]["tax"].as_i64(), note["totals"]["total"].as_i64()), (Some(47), Some(611)));
    // More than the line has left (1.0): 422 on its quantity; a line the invoice lacks, or
    // a price typed with a line_no, on its line_no.
    for (lines, field) in [
        (json!([{"line_no": 1, "quantity": 1.001}]), "lines.0.quantity"),
        (json!([{"description": "x", "unit_price": 1}, {"line_no": 9}]), "lines.1.line_no"),
        (json!([{"line_no": 2, "unit_price": 100}]), "lines.0.line_no"),
    ] {
        assert_error(
            c.app.post_json(&path, &json!({"reason": "x", "lines": lines})).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some(field),
        )
        .await;
    }
    // The rest of both lines, with a free-amount line refused above the balance, then the
    // exact remainder: everything credited adds up to the invoice's total to the cent.
    let all = expect_json(
        c.app.post_json(&path, &json!({"reason": "cancelled", "lines": [{"line_no": 1}, {"line_no": 2}]})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(all["credit_notes"][1]["lines"][0]["amounts"]["net"], 1128);
    assert_eq!(all["credit_notes"][1]["lines"][1]["amounts"]["net"], 6108);
    assert_eq!(
        (all["credited"].as_i64(), all["balance"].as_i64(), all["status"].as_str()),
        (Some(7940), Some(0), Some("paid"))
    );
    assert_eq!(
        all["credit_notes"][0]["totals"]["tax"].as_i64().unwrap()
            + all["credit_notes"][1]["totals"]["tax"].as_i64().unwrap(),
        140
    );
}
