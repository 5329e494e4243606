//! The accounting export (`/api/accounting/...`): the chart-of-accounts mapping, exports that
//! balance to the cent in CSV and IIF, recorded with their file, never over days already
//! exported unless re-exported with a reason; and the batches over selected invoices
//! (`/api/invoice-batches/discount`, `/export`) with their partial-failure reports.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::catalogue::item;
use crate::helpers::{TestApp, UNKNOWN_ID, assert_error, expect_json, id_of};

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
    async fn draft(&self, lines: Value, discount: Value) -> Value {
        let body = json!({"client_id": self.client, "patient_id": self.cat, "location_id": self.location,
                          "lines": lines, "discount": discount});
        expect_json(self.app.post_json("/api/invoices", &body).await, StatusCode::CREATED).await
    }

    /// The worked example of docs/billing.md, issued: 79.40 (food 16.92 and exams 61.08 after
    /// the invoice discount, tax 1.40).
    async fn worked_example(&self) -> Value {
        let lines = json!([
            {"item_id": self.food, "quantity": 1.5, "unit_price": 1333, "discount": {"kind": "percent", "basis_points": 1000}},
            {"item_id": self.exam},
        ]);
        let inv = self.draft(lines, json!({"kind": "amount", "amount": 500})).await;
        let path = format!("/api/invoices/{}/issue", id_of(&inv));
        expect_json(self.app.post_json(&path, &json!({})).await, StatusCode::OK).await
    }
}

/// The rows of a CSV, header included, read by an RFC 4180 parser.
fn rows(csv: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(csv.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

fn cents(s: &str) -> i64 {
    if s.is_empty() {
        return 0;
    }
    let (whole, frac) = s.split_once('.').unwrap();
    whole.parse::<i64>().unwrap() * 100 + frac.parse::<i64>().unwrap()
}

async fn text(app: &TestApp, path: &str) -> String {
    let resp = app.get(path).await;
    assert_eq!(resp.status(), StatusCode::OK, "{path}");
    resp.text().await.unwrap()
}

#[tokio::test]
async fn an_export_balances_to_the_cent_is_recorded_and_the_same_days_are_not_exported_twice() {
    let c = clinic().await;
    let app = &c.app;
    // The defaults are in force before anything is saved.
    let defaults = app.get_json("/api/accounting/mapping").await;
    assert_eq!((defaults["version"].as_u64(), defaults["tax_payable"].as_str()), (Some(0), Some("Sales Tax Payable")));
    let mapping = json!({"revenue": {"Exams": "Income:Exams"}, "payment_methods": {"cash": "Cash Drawer"}});
    let saved = expect_json(app.put_json("/api/accounting/mapping", &mapping).await, StatusCode::OK).await;
    assert_eq!((saved["version"].as_u64(), saved["payment_methods"]["cash"].as_str()), (Some(1), Some("Cash Drawer")));
    assert_eq!(saved["payment_methods"]["check"], "Undeposited Funds", "methods not named keep their default");
    let again = expect_json(app.put_json("/api/accounting/mapping", &mapping).await, StatusCode::OK).await;
    assert_eq!(again["version"], 1, "saving the same mapping makes no new version");

    let inv = c.worked_example().await;
    let id = id_of(&inv);
    let today = inv["issued_on"].as_str().unwrap().to_owned();
    let paid = expect_json(
        app.post_json(&format!("/api/invoices/{id}/payments"), &json!({"amount": 5000, "method": "cash"})).await,
        StatusCode::OK,
    )
    .await;
    let payment = paid["payments"][0]["id"].as_str().unwrap().to_owned();
    let credit = json!({"reason": "Goodwill", "lines": [{"description": "Goodwill", "unit_price": 500}]});
    expect_json(app.post_json(&format!("/api/invoices/{id}/credit-notes"), &credit).await, StatusCode::OK).await;
    let refund = json!({"amount": 1000, "reason": "Changed their mind"});
    expect_json(app.post_json(&format!("/api/payments/{payment}/refunds"), &refund).await, StatusCode::OK).await;
    // A purchase order: 6 of 10 boxes received at 8.99 is 53.94 of purchases.
    let vendor = id_of(
        &expect_json(
            app.post_json("/api/inventory/vendors", &json!({"name": "VetSupply Co"})).await,
            StatusCode::CREATED,
        )
        .await,
    );
    let gloves = json!({"name": "Gloves", "sku": "GLV-1", "kind": "supply", "unit": "box"});
    let product =
        id_of(&expect_json(app.post_json("/api/inventory/products", &gloves).await, StatusCode::CREATED).await);
    let po_body =
        json!({"vendor_id": vendor, "lines": [{"product_id": product, "quantity": 10, "unit_cost_cents": 899}]});
    let po =
        id_of(&expect_json(app.post_json("/api/inventory/purchase-orders", &po_body).await, StatusCode::CREATED).await);
    let po_path = format!("/api/inventory/purchase-orders/{po}");
    expect_json(app.post_json(&format!("{po_path}/submit"), &json!({})).await, StatusCode::OK).await;
    let receipt = json!({"lines": [{"line": 1, "quantity": 6, "lot_number": "G-1", "expires_on": "2031-05-01"}]});
    expect_json(app.post_json(&format!("{po_path}/receive"), &receipt).await, StatusCode::OK).await;

    let body = json!({"from": today, "to": today, "format": "csv"});
    let resp = app.post_json("/api/accounting/exports", &body).await;
    let export = expect_json(resp, StatusCode::CREATED).await;
    let first = id_of(&export);
    let t = &export["totals"];
    assert_eq!(t["invoices"]["transactions"], 2, "the invoice and its credit note: {export}");
    assert_eq!(t["payments"]["transactions"], 2, "the payment and its refund: {export}");
    assert_eq!(t["purchases"]["transactions"], 1, "{export}");
    for k in ["invoices", "payments", "purchases"] {
        assert_eq!(t[k]["debits"], t[k]["credits"], "{k} balance: {export}");
    }
    assert_eq!(t["invoices"]["debits"], 7940 + 500, "{export}");
    assert_eq!(t["purchases"]["debits"], 5394, "{export}");
    assert_eq!(export["mapping_version"], 1);

    let csv = text(app, &format!("/api/accounting/exports/{first}/file")).await;
    let sha: String = Sha256::digest(csv.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(export["sha256"].as_str(), Some(sha.as_str()), "the file is the one recorded");
    let rows = rows(&csv);
    assert_eq!(rows[0].join(","), "kind,type,date,number,name,account,debit,credit,memo,source");
    let number = inv["number"].as_str().unwrap();
    let split = |account: &str, trns_type: &str| {
        rows.iter()
            .find(|r| r[5] == account && r[1] == trns_type)
            .map(|r| (cents(&r[6]), cents(&r[7])))
            .unwrap_or_else(|| panic!("no {account} row of {trns_type} in\n{csv}"))
    };
    assert!(rows.iter().any(|r| r[1] == "INVOICE" && r[3] == number && r[4] == "Doe, Jane"), "{csv}");
    assert_eq!(split("Accounts Receivable", "INVOICE"), (7940, 0));
    assert_eq!(split("Income:Exams", "INVOICE"), (0, 6108), "the mapped category, after its share of the discount");
    assert_eq!(split("Sales", "INVOICE"), (0, 1692), "an unmapped category goes to the default revenue");
    assert_eq!(split("Sales Tax Payable", "INVOICE"), (0, 140));
    assert_eq!(split("Cash Drawer", "PAYMENT"), (5000, 0));
    assert_eq!(split("Cash Drawer", "GENERAL JOURNAL"), (0, 1000), "the refund");
    assert_eq!(split("Accounts Receivable", "CREDIT MEMO"), (0, 500));
    assert_eq!(split("Inventory Asset", "BILL"), (5394, 0));
    assert_eq!(split("Accounts Payable", "BILL"), (0, 5394));
    // Every transaction balances: debits equal credits per source.
    let mut by_source: std::collections::BTreeMap<&str, i64> = Default::default();
    for r in &rows[1..] {
        *by_source.entry(r[9].as_str()).or_default() += cents(&r[6]) - cents(&r[7]);
    }
    assert_eq!(by_source.len(), 5, "{csv}");
    assert!(by_source.values().all(|v| *v == 0), "{by_source:?}");

    // The same days again: refused, naming the earlier export; a range that only overlaps
    // by one kind and one day too.
    let err = assert_error(
        app.post_json("/api/accounting/exports", &body).await,
        StatusCode::CONFLICT,
        "export_overlap",
        None,
    )
    .await;
    assert_eq!(err["details"]["export_id"].as_str(), Some(first.as_str()), "{err}");
    let yesterday: jiff::civil::Date = today.parse::<jiff::civil::Date>().unwrap().yesterday().unwrap();
    let wider = json!({"from": yesterday, "to": today, "format": "iif", "kinds": ["purchases"]});
    assert_error(app.post_json("/api/accounting/exports", &wider).await, StatusCode::CONFLICT, "export_overlap", None)
        .await;
    // Another day is free.
    let other_day = json!({"from": yesterday, "to": yesterday, "format": "csv", "kinds": ["payments"]});
    let empty = expect_json(app.post_json("/api/accounting/exports", &other_day).await, StatusCode::CREATED).await;
    assert_eq!(empty["totals"]["payments"]["transactions"], 0);

    // A re-export needs a reason; with one it is recorded, names what it overlaps and is
    // audited.
    let mut re = json!({"from": today, "to": today, "format": "iif", "reexport": true});
    assert_error(
        app.post_json("/api/accounting/exports", &re).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("reason"),
    )
    .await;
    re["reason"] = json!("the bookkeeper lost the first file");
    let second = expect_json(app.post_json("/api/accounting/exports", &re).await, StatusCode::CREATED).await;
    assert_eq!(second["overlaps"], json!([first]));
    assert_eq!(second["reexport_reason"], "the bookkeeper lost the first file");
    let iif = text(app, &format!("/api/accounting/exports/{}/file", id_of(&second))).await;
    let lines: Vec<&str> = iif.split("\r\n").collect();
    assert!(lines[0].starts_with("!TRNS\tTRNSID\tTRNSTYPE\tDATE\tACCNT\tNAME\tAMOUNT"), "{iif}");
    assert!(lines[1].starts_with("!SPL\t") && lines[2] == "!ENDTRNS", "{iif}");
    let (mut open, mut sum, mut blocks) = (false, 0i64, 0);
    for l in &lines[3..] {
        let f: Vec<&str> = l.split('\t').collect();
        match f[0] {
            "TRNS" => (open, sum) = (true, 0),
            "ENDTRNS" => {
                assert!(open && sum == 0, "a transaction does not balance: {iif}");
                (open, blocks) = (false, blocks + 1);
                continue;
            }
            "SPL" => assert!(open),
            "" => continue,
            other => panic!("unexpected row {other}: {iif}"),
        }
        let amount = f[6];
        sum += if let Some(neg) = amount.strip_prefix('-') { -cents(neg) } else { cents(amount) };
    }
    assert_eq!(blocks, 5, "{iif}");
    let audit = app.get_json("/api/audit?action=accounting.reexport").await;
    assert_eq!(audit["items"].as_array().map(Vec::len), Some(1), "{audit}");

    // Recorded: listed, read, and the first file is served again unchanged.
    let list = app.get_json("/api/accounting/exports").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 3, "{list}");
    assert_eq!(app.get_json(&format!("/api/accounting/exports/{first}")).await["sha256"], export["sha256"]);
    assert_eq!(text(app, &format!("/api/accounting/exports/{first}/file")).await, csv);
    assert_error(
        app.get(&format!("/api/accounting/exports/{UNKNOWN_ID}")).await,
        StatusCode::NOT_FOUND,
        "accounting_export_not_found",
        None,
    )
    .await;
}

#[tokio::test]
async fn bad_export_requests_and_account_names_are_refused() {
    let app = TestApp::signed_in().await;
    let bad = [
        (json!({"from": "2026-02-01", "to": "2026-01-01", "format": "csv"}), "to"),
        (json!({"from": "2020-01-01", "to": "2026-01-01", "format": "csv"}), "to"),
        (json!({"from": "2026-01-01", "to": "2026-01-31", "format": "csv", "kinds": []}), "kinds"),
    ];
    for (body, field) in bad {
        assert_error(
            app.post_json("/api/accounting/exports", &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some(field),
        )
        .await;
    }
    for body in [
        json!({"from": "2026-01-01", "to": "2026-01-31", "format": "xlsx"}),
        json!({"from": "2026-01-01", "to": "2026-01-31", "format": "csv", "kinds": ["payroll"]}),
    ] {
        let resp = app.post_json("/api/accounting/exports", &body).await;
        assert!(resp.status().is_client_error(), "{body}: {}", resp.status());
    }
    for (body, field) in [
        (json!({"tax_payable": "Sales\tTax"}), "tax_payable"),
        (json!({"accounts_receivable": "A/R\nline"}), "accounts_receivable"),
        (json!({"purchases": "  "}), "purchases"),
        (json!({"default_revenue": "x".repeat(101)}), "default_revenue"),
        (json!({"payment_methods": {"bitcoin": "Wallet"}}), "payment_methods.bitcoin"),
        (json!({"revenue": {"Exams": "Income\tExams"}}), "revenue.Exams"),
    ] {
        assert_error(
            app.put_json("/api/accounting/mapping", &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some(field),
        )
        .await;
    }
    assert_eq!(app.get_json("/api/accounting/mapping").await["version"], 0, "nothing was saved");
}

#[tokio::test]
async fn a_discount_batch_changes_the_selected_drafts_and_reports_the_rest() {
    let c = clinic().await;
    let app = &c.app;
    let exam = json!([{"item_id": c.exam}]);
    let draft = id_of(&c.draft(exam.clone(), Value::Null).await);
    let issued = id_of(&c.worked_example().await);
    let body = json!({"name": "East", "time_zone": "America/New_York"});
    let east = id_of(&expect_json(app.post_json("/api/locations", &body).await, StatusCode::CREATED).await);
    let elsewhere = json!({"client_id": c.client, "location_id": east, "lines": exam});
    let elsewhere = id_of(&expect_json(app.post_json("/api/invoices", &elsewhere).await, StatusCode::CREATED).await);

    let ten = json!({"kind": "percent", "basis_points": 1000});
    let selection = json!([draft, issued, UNKNOWN_ID, elsewhere]);
    for (body, field) in [
        (json!({"invoice_ids": selection, "discount": ten, "reason": " "}), "reason"),
        (json!({"invoice_ids": [], "discount": ten, "reason": "Loyal client"}), "invoice_ids"),
        (json!({"invoice_ids": vec![UNKNOWN_ID; 10_001], "discount": ten, "reason": "x"}), "invoice_ids"),
        (json!({"invoice_ids": vec![UNKNOWN_ID; 1_001], "discount": ten, "reason": "x"}), "invoice_ids"),
        (json!({"invoice_ids": ["not-an-id"], "discount": ten, "reason": "x"}), "invoice_ids[0]"),
        (
            json!({"invoice_ids": [draft], "discount": {"kind": "amount", "amount": -5}, "reason": "x"}),
            "discount.amount",
        ),
    ] {
        assert_error(
            app.post_json("/api/invoice-batches/discount", &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some(field),
        )
        .await;
    }

    let body = json!({"invoice_ids": selection, "discount": ten, "reason": "Loyal client", "location_id": c.location});
    let resp = app.post_json("/api/invoice-batches/discount", &body).await;
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let batch = expect_json(resp, StatusCode::ACCEPTED).await;
    assert_eq!((batch["op"].as_str(), batch["total"].as_u64()), (Some("discount"), Some(4)));
    let report = app.poll_json(&location, |b| b["status"] == "done").await;
    assert_eq!(report["done"], 4, "{report}");
    assert_eq!(report["changed"], json!([{"invoice_id": draft, "total": 5850}]), "65.00 less 10 %: {report}");
    let failed: Vec<(&str, &str)> = report["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["invoice_id"].as_str().unwrap(), f["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        failed,
        [(issued.as_str(), "issued"), (UNKNOWN_ID, "not_found"), (elsewhere.as_str(), "other_location")]
    );
    assert!(report["failed"][0]["reason"].as_str().unwrap().contains("credit notes"), "{report}");
    let changed = app.get_json(&format!("/api/invoices/{draft}")).await;
    assert_eq!(changed["discount"], ten);
    assert_eq!(app.get_json(&format!("/api/invoices/{elsewhere}")).await["discount"], Value::Null);
    assert_eq!(app.get_json(&format!("/api/invoices/{issued}")).await["totals"]["total"], 7940);
}

#[tokio::test]
async fn an_export_batch_writes_a_csv_of_the_selected_invoices() {
    let c = clinic().await;
    let app = &c.app;
    let issued = c.worked_example().await;
    let risky = json!([{"description": "=SUM(A1)", "unit_price": 1200}]);
    let draft = id_of(&c.draft(risky, Value::Null).await);
    let body = json!({"invoice_ids": [id_of(&issued), draft, UNKNOWN_ID]});
    let batch = expect_json(app.post_json("/api/invoice-batches/export", &body).await, StatusCode::ACCEPTED).await;
    let report = app.poll_json(&format!("/api/invoice-batches/{}", id_of(&batch)), |b| b["status"] == "done").await;
    assert_eq!(report["op"], "export");
    assert_eq!(report["failed"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["failed"][0]["code"], "not_found");
    let file = report["file"].as_str().unwrap().to_owned();
    let csv = text(app, &file).await;
    let rows = rows(&csv);
    assert_eq!(rows[0][0..3].join(","), "invoice_id,number,status");
    assert_eq!(rows.len(), 1 + 2 + 1, "two lines of the issued invoice, one of the draft: {csv}");
    let number = issued["number"].as_str().unwrap();
    assert!(rows[1..3].iter().all(|r| r[1] == number && r[2] == "issued" && r[20] == "79.40"), "{csv}");
    assert_eq!(rows[3][9], "'=SUM(A1)", "a cell that would be a formula is guarded: {csv}");
}

#[tokio::test]
async fn two_exports_of_the_same_day_at_once_record_one_and_a_retry_replays_it() {
    let c = clinic().await;
    let app = &c.app;
    let today = c.worked_example().await["issued_on"].as_str().unwrap().to_owned();
    let body = json!({"from": today, "to": today, "format": "csv", "kinds": ["invoices"]});
    // Both may pass the decision's check on their snapshots; the claims taken in the commit
    // let only one through, and the other answers the overlap.
    let (a, b) =
        tokio::join!(app.post_json("/api/accounting/exports", &body), app.post_json("/api/accounting/exports", &body));
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT]);
    let (winner, loser) = if a.status() == StatusCode::CREATED { (a, b) } else { (b, a) };
    let winner: Value = winner.json().await.unwrap();
    let loser: Value = loser.json().await.unwrap();
    assert_eq!(loser["error"]["code"], "export_overlap", "{loser}");
    assert_eq!(loser["error"]["details"]["export_id"], winner["id"], "{loser}");
    assert_eq!(app.get_json("/api/accounting/exports").await["items"].as_array().unwrap().len(), 1);

    // A retry of a re-export with its Idempotency-Key gets the first answer; nothing more is
    // recorded.
    let re = json!({"from": today, "to": today, "format": "iif", "kinds": ["invoices"], "reexport": true,
                    "reason": "the import failed"});
    let send = || {
        app.request(reqwest::Method::POST, "/api/accounting/exports")
            .header("Idempotency-Key", "export-retry-1")
            .json(&re)
            .send()
    };
    let first = expect_json(send().await.unwrap(), StatusCode::CREATED).await;
    let retry = send().await.unwrap();
    assert_eq!(retry.headers().get("idempotent-replayed").map(|v| v.to_str().unwrap()), Some("true"));
    assert_eq!(expect_json(retry, StatusCode::CREATED).await["id"], first["id"]);
    assert_eq!(app.get_json("/api/accounting/exports").await["items"].as_array().unwrap().len(), 2);
}

impl Clinic {
    async fn export(&self, from: jiff::civil::Date, format: &str) -> Value {
        let body = json!({"from": from, "to": from, "format": format, "kinds": ["invoices"]});
        expect_json(self.app.post_json("/api/accounting/exports", &body).await, StatusCode::CREATED).await
    }

    async fn void(&self, id: &str) {
        let body = json!({"reason": "made by mistake"});
        expect_json(self.app.post_json(&format!("/api/invoices/{id}/void"), &body).await, StatusCode::OK).await;
    }
}

#[tokio::test]
async fn an_invoice_voided_after_its_day_was_exported_is_reversed_once_in_the_next_export() {
    let c = clinic().await;
    let (a, b) = (c.worked_example().await, c.worked_example().await);
    // Voided before its day was exported: it was never in the books, and never reversed.
    let early = id_of(&c.worked_example().await);
    c.void(&early).await;
    let today: jiff::civil::Date = a["issued_on"].as_str().unwrap().parse().unwrap();
    let day = |n: i64| today.checked_add(jiff::Span::new().days(n)).unwrap();
    let first = c.export(today, "csv").await;
    assert_eq!(first["totals"]["invoices"]["transactions"], 2, "{first}");

    // A voided after the export: the next export (of another day) reverses its issue, dated
    // the day of the void, as a credit memo of its number.
    c.void(&id_of(&a)).await;
    let second = c.export(day(1), "csv").await;
    assert_eq!(second["voids_reversed"], json!([id_of(&a)]), "{second}");
    assert_eq!(second["totals"]["invoices"]["transactions"], 1, "{second}");
    let csv = text(&c.app, &format!("/api/accounting/exports/{}/file", id_of(&second))).await;
    let rows = rows(&csv);
    let source = format!("void:{}", id_of(&a));
    let split = |account: &str| {
        rows.iter()
            .find(|r| r[5] == account && r[9] == source)
            .map(|r| (r[1].as_str(), r[2].as_str(), r[3].as_str(), cents(&r[6]), cents(&r[7])))
            .unwrap_or_else(|| panic!("no {account} row in\n{csv}"))
    };
    let number = a["number"].as_str().unwrap();
    assert_eq!(split("Accounts Receivable"), ("CREDIT MEMO", today.to_string().as_str(), number, 0, 7940));
    // Revenue debited back per category (both on the default account, the memo names it).
    let revenue =
        |category: &str| rows.iter().find(|r| r[8] == category && r[9] == source).map(|r| (r[5].clone(), cents(&r[6])));
    assert_eq!(revenue("Exams"), Some(("Sales".to_owned(), 6108)), "{csv}");
    assert_eq!(revenue("Food"), Some(("Sales".to_owned(), 1692)), "{csv}");
    assert_eq!(split("Sales Tax Payable").3, 140, "{csv}");
    assert_eq!(rows.len(), 5, "the header and the reversal's four splits: {csv}");

    // B voided later still: reversed in IIF, its rows summing to 0; A is not reversed again.
    c.void(&id_of(&b)).await;
    let third = c.export(day(2), "iif").await;
    assert_eq!(third["voids_reversed"], json!([id_of(&b)]), "{third}");
    let iif = text(&c.app, &format!("/api/accounting/exports/{}/file", id_of(&third))).await;
    let amounts: Vec<i64> = iif
        .split("\r\n")
        .filter(|l| l.starts_with("TRNS\t") || l.starts_with("SPL\t"))
        .map(|l| {
            let a = l.split('\t').nth(6).unwrap();
            a.strip_prefix('-').map_or_else(|| cents(a), |n| -cents(n))
        })
        .collect();
    assert_eq!((amounts.len(), amounts.iter().sum::<i64>(), amounts[0]), (4, 0, -7940), "{iif}");
    assert!(iif.contains("\tCREDIT MEMO\t"), "{iif}");

    // Nothing is left to reverse.
    let fourth = c.export(day(3), "csv").await;
    assert_eq!(
        (fourth["totals"]["invoices"]["transactions"].as_i64(), fourth["voids_reversed"].clone()),
        (Some(0), json!([]))
    );
}

impl Clinic {
    async fn reexport(&self, day: jiff::civil::Date) -> Value {
        let body = json!({"from": day, "to": day, "format": "iif", "kinds": ["invoices"], "reexport": true,
                          "reason": "the bookkeeper replaces the day"});
        expect_json(self.app.post_json("/api/accounting/exports", &body).await, StatusCode::CREATED).await
    }
}

/// An IIF file's transactions as (type, amount of its TRNS row) and the sum of every row.
fn iif_summary(iif: &str) -> (Vec<(String, i64)>, i64) {
    let amount = |a: &str| a.strip_prefix('-').map_or_else(|| cents(a), |n| -cents(n));
    let mut trns = Vec::new();
    let mut sum = 0;
    for l in iif.split("\r\n").filter(|l| l.starts_with("TRNS\t") || l.starts_with("SPL\t")) {
        let f: Vec<&str> = l.split('\t').collect();
        sum += amount(f[6]);
        if f[0] == "TRNS" {
            trns.push((f[2].to_owned(), amount(f[6])));
        }
    }
    (trns, sum)
}

/// Decided: a re-export replays its days as the books took them, so an invoice exported and
/// later voided is shown as issued with its reversal beside it (IIF sums to 0), whichever
/// export carried the reversal first; the reversal is claimed by the re-export only when
/// nobody carried it yet, and an invoice voided before its day was exported is never shown.
#[tokio::test]
async fn a_reexport_of_a_day_whose_invoice_was_later_voided_shows_it_and_its_reversal() {
    let c = clinic().await;
    let (a, b) = (c.worked_example().await, c.worked_example().await);
    let early = c.worked_example().await;
    c.void(&id_of(&early)).await;
    let today: jiff::civil::Date = a["issued_on"].as_str().unwrap().parse().unwrap();
    let next = today.checked_add(jiff::Span::new().days(1)).unwrap();
    c.export(today, "csv").await;
    // A voided and its reversal carried by the next export; B voided, reversed by nobody yet.
    c.void(&id_of(&a)).await;
    assert_eq!(c.export(next, "csv").await["voids_reversed"], json!([id_of(&a)]));
    c.void(&id_of(&b)).await;

    let re = c.reexport(today).await;
    assert_eq!(re["voids_reversed"], json!([id_of(&b)]), "B's reversal is claimed once, here: {re}");
    let iif = text(&c.app, &format!("/api/accounting/exports/{}/file", id_of(&re))).await;
    let (trns, sum) = iif_summary(&iif);
    let mut kinds: Vec<(String, i64)> = trns.clone();
    kinds.sort();
    assert_eq!(
        kinds,
        vec![
            ("CREDIT MEMO".to_owned(), -7940),
            ("CREDIT MEMO".to_owned(), -7940),
            ("INVOICE".to_owned(), 7940),
            ("INVOICE".to_owned(), 7940),
        ],
        "A and B, each issued and reversed; the early void never: {iif}"
    );
    assert_eq!(sum, 0, "{iif}");
    assert!(!iif.contains(early["number"].as_str().unwrap()), "{iif}");
    // B is not reversed again by the next export.
    let later = c.export(next.checked_add(jiff::Span::new().days(1)).unwrap(), "csv").await;
    assert_eq!(later["voids_reversed"], json!([]), "{later}");
}

#[tokio::test]
async fn an_export_reads_only_the_invoices_of_its_days() {
    let c = clinic().await;
    for _ in 0..5 {
        c.worked_example().await;
    }
    let today = c.app.system.ctx.today();
    let ago = |n: i64| today.checked_sub(jiff::Span::new().days(n)).unwrap();
    let reader = c.app.system.store().read().unwrap();
    let touching = |from, to| clowder_actors::billing::accounting::invoices_touching(&reader, from, to).unwrap().len();
    // The five invoices are outside a range of last month: none is read.
    assert_eq!(touching(ago(40), ago(10)), 0);
    assert_eq!(touching(today, today), 5);
    drop(reader);
    // The index is kept by the invoices' own change sets: the start-up fill finds it full.
    assert_eq!(c.app.system.accounting.ensure_day_index().await.unwrap(), 0);
}

/// `/accounting`: the chart of accounts as a form, the new export's form proposing the days
/// after the newest export, and the exports made, newest first with their files, 25 a page;
/// linked from the reports page; a 403 page for a vet, a 422 page for a malformed `before`.
#[tokio::test]
async fn the_accounting_screen_lists_the_exports_newest_first_with_their_files() {
    use crate::views::page;
    let c = clinic().await;
    let app = &c.app;
    let token = app.token().unwrap();
    let (status, html) = page(app, "/accounting", &token, false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"id="new-export""#) && html.contains("No exports yet."), "{html}");
    assert!(html.contains("Defaults (never saved)") && html.contains(r#"<option value="Exams">"#), "{html}");

    // 26 one-day exports: the newest 25 on the first page, the oldest behind "Older exports".
    let mut ids = Vec::new();
    for d in 1..=26 {
        let day = format!("2025-01-{d:02}");
        let body = json!({"from": day, "to": day, "format": "csv"});
        ids.push(id_of(&expect_json(app.post_json("/api/accounting/exports", &body).await, StatusCode::CREATED).await));
    }
    let (_, html) = page(app, "/accounting", &token, false).await;
    let at = |html: &str, id: &str| html.find(&format!(r#"data-export="{id}""#));
    assert!(at(&html, &ids[25]).unwrap() < at(&html, &ids[24]).unwrap(), "newest first");
    assert!(at(&html, &ids[0]).is_none(), "the 26th is on the next page");
    assert!(html.contains(&format!(r#"href="/api/accounting/exports/{}/file""#, ids[25])));
    assert!(html.contains(r#"id="x-from" name="from" type="date" value="2025-01-27""#), "after the newest: {html}");
    let older = format!("/accounting?before={}", ids[1]);
    assert!(html.contains(&older), "the older page starts below the last shown");
    let (_, html) = page(app, &older, &token, false).await;
    assert!(at(&html, &ids[0]).is_some() && at(&html, &ids[1]).is_none() && !html.contains("Older exports"));
    assert!(html.contains(r#"value="2025-01-27""#), "the proposal follows the newest export on any page");

    let mapping = json!({"revenue": {"Exams": "Income:Exams"}});
    expect_json(app.put_json("/api/accounting/mapping", &mapping).await, StatusCode::OK).await;
    let (_, html) = page(app, "/accounting", &token, false).await;
    assert!(html.contains("Version 1, saved") && html.contains(r#"value="Income:Exams""#), "{html}");
    assert!(page(app, "/reports", &token, false).await.1.contains(r#"href="/accounting""#));

    let (status, _) = page(app, "/accounting?before=nope", &token, false).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let vet = crate::access::staff_user(app, "doc", &["veterinarian"]).await;
    assert_eq!(page(app, "/accounting", &vet, false).await.0, StatusCode::FORBIDDEN);
}
