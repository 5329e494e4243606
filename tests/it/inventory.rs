//! Inventory end to end: products with a unique normalised SKU, retired not deleted; lots and
//! the stock ledger that explains what is on hand (never negative without an audited
//! override); dispensing a prescription from the first-expiring lot, once per fill, and the
//! note when no product is linked; purchase orders whose lines are checked and never receive
//! more than ordered; alerts and the write-off of expired lots.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, UNKNOWN_ID, assert_error, expect_json, id_of};
use crate::prescriptions::{meloxicam, staff_vet, weigh};

async fn product(app: &TestApp, body: Value) -> Value {
    expect_json(app.post_json("/api/inventory/products", &body).await, StatusCode::CREATED).await
}

fn gloves(sku: &str) -> Value {
    json!({"name": "Nitrile gloves M", "sku": sku, "kind": "supply", "unit": "box", "reorder_level": 5,
           "reorder_quantity": 20, "cost_cents": 899, "price_cents": 0, "storage_location": "Store room B"})
}

async fn receive(app: &TestApp, product: &str, lot: &str, expires: Option<&str>, quantity: f64) -> Value {
    let body = json!({"lot_number": lot, "expires_on": expires, "quantity": quantity});
    expect_json(app.post_json(&format!("/api/inventory/products/{product}/receive"), &body).await, StatusCode::OK).await
}

/// Every entry of a product's ledger, oldest first, walked page by page.
async fn ledger(app: &TestApp, product: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app.get_json(&format!("/api/inventory/products/{product}/ledger?limit=2&cursor={cursor}")).await;
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    out.reverse();
    out
}

fn milli(v: &Value) -> i64 {
    (v.as_f64().unwrap() * 1000.0).round() as i64
}

/// The invariant: the ledger's changes sum to what the lots hold, each entry's before is the
/// previous entry's after, and the last after is on hand.
async fn assert_explained(app: &TestApp, product: &str) -> i64 {
    let entries = ledger(app, product).await;
    let view = app.get_json(&format!("/api/inventory/products/{product}")).await;
    let lots: i64 = view["lots"].as_array().unwrap().iter().map(|l| milli(&l["on_hand"])).sum();
    let changes: i64 = entries.iter().map(|e| milli(&e["change"])).sum();
    let mut running = 0;
    for e in &entries {
        assert_eq!(milli(&e["before"]), running, "{e}");
        running += milli(&e["change"]);
        assert_eq!(milli(&e["after"]), running, "{e}");
    }
    assert_eq!((changes, lots), (milli(&view["product"]["on_hand"]), milli(&view["product"]["on_hand"])));
    lots
}

#[tokio::test]
async fn products_have_a_unique_normalised_sku_are_searched_and_retired_not_deleted() {
    let app = TestApp::signed_in().await;
    let p = product(&app, gloves(" glv-m 100 ")).await;
    assert_eq!(
        (p["sku"].as_str(), p["on_hand"].as_f64(), p["low"].as_bool()),
        (Some("GLV-M100"), Some(0.0), Some(true))
    );
    assert_error(
        app.post_json("/api/inventory/products", &gloves("GLV-m100")).await,
        StatusCode::CONFLICT,
        "duplicate_value",
        Some("sku"),
    )
    .await;
    let bad = [
        (json!({"name": "x", "sku": "a;b", "kind": "supply", "unit": "box"}), "sku"),
        (json!({"name": "", "sku": "AB", "kind": "supply", "unit": "box"}), "name"),
        (json!({"name": "x", "sku": "AB", "kind": "supply", "unit": "box", "cost_cents": -1}), "cost_cents"),
        (json!({"name": "x", "sku": "AB", "kind": "supply", "unit": "box", "price_cents": 1.5}), "price_cents"),
        (json!({"name": "x", "sku": "AB", "kind": "toy", "unit": "box"}), "kind"),
        (json!({"name": "x", "sku": "AB", "kind": "supply", "unit": "box", "reorder_level": -1}), "reorder_level"),
        (
            json!({"name": "x", "sku": "AB", "kind": "medication", "unit": "mL",
                "formulary": {"drug": "meloxicam", "form": "suspension", "strength": 7}}),
            "formulary.strength",
        ),
    ];
    for (body, field) in bad {
        assert_error(
            app.post_json("/api/inventory/products", &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some(field),
        )
        .await;
    }
    assert_error(
        app.post_json(
            "/api/inventory/products",
            &json!({"name": "x", "sku": "AB", "kind": "supply", "unit": "box", "vendor_id": UNKNOWN_ID}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "vendor_not_found",
        None,
    )
    .await;

    let food = product(
        &app,
        json!({"name": "Renal diet 2kg", "sku": "RD-2", "kind": "retail", "unit": "bag", "price_cents": 4599}),
    )
    .await;
    receive(&app, &id_of(&food), "L1", Some("2031-01-01"), 12.0).await;
    let found = app.get_json("/api/inventory/products?q=renal").await;
    assert_eq!(crate::helpers::page_ids(&found), [id_of(&food)]);
    let by_sku = app.get_json("/api/inventory/products?q=glv").await;
    assert_eq!(crate::helpers::page_ids(&by_sku), [id_of(&p)]);
    let low = app.get_json("/api/inventory/products?low=true").await;
    assert_eq!(
        crate::helpers::page_ids(&low),
        [id_of(&p)],
        "12 bags is above a reorder level of 0; 0 boxes is not above 5"
    );
    let walked = app.walk("/api/inventory/products", 1).await;
    assert_eq!(walked.len(), 2);

    let path = format!("/api/inventory/products/{}", id_of(&p));
    let changed =
        expect_json(app.patch_json(&path, &json!({"reorder_level": 0, "price_cents": 1299})).await, StatusCode::OK)
            .await;
    assert_eq!((changed["reorder_level"].as_f64(), changed["price_cents"].as_i64()), (Some(0.0), Some(1299)));
    let retired = expect_json(app.delete(&path).await, StatusCode::OK).await;
    assert_eq!(retired["active"], false);
    assert_eq!(app.get_json(&path).await["product"]["active"], false, "retired, still on file");
    assert_eq!(crate::helpers::page_ids(&app.get_json("/api/inventory/products").await), [id_of(&food)]);
    assert_eq!(
        app.get_json("/api/inventory/products?include_retired=true").await["items"].as_array().unwrap().len(),
        2
    );
    assert_error(
        app.post_json(&format!("{path}/receive"), &json!({"lot_number": "X", "quantity": 1})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("product_id"),
    )
    .await;
    assert_error(
        app.get(&format!("/api/inventory/products/{UNKNOWN_ID}")).await,
        StatusCode::NOT_FOUND,
        "product_not_found",
        None,
    )
    .await;
}

#[tokio::test]
async fn every_stock_change_is_a_ledger_entry_and_stock_never_goes_negative_without_an_audited_override() {
    let app = TestApp::signed_in().await;
    let p = id_of(&product(&app, gloves("GLV-L")).await);
    let a = receive(&app, &p, "A-1", Some("2030-01-01"), 10.0).await;
    assert_eq!((a["on_hand"].as_f64(), a["entries"][0]["kind"].as_str()), (Some(10.0), Some("received")));
    let lot_a = a["entries"][0]["lot_id"].as_str().unwrap().to_owned();
    let b = receive(&app, &p, "B-1", None, 2.5).await;
    let lot_b = b["entries"][0]["lot_id"].as_str().unwrap().to_owned();
    assert_eq!(b["on_hand"].as_f64(), Some(12.5));

    let post = |route: &'static str, body: Value| {
        let app = &app;
        let p = p.clone();
        async move { app.post_json(&format!("/api/inventory/products/{p}/{route}"), &body).await }
    };
    let adj = expect_json(
        post("adjust", json!({"lot_id": lot_a, "quantity": -1.25, "reason": "count"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!((adj["entries"][0]["before"].as_f64(), adj["entries"][0]["after"].as_f64()), (Some(12.5), Some(11.25)));
    expect_json(post("damaged", json!({"lot_id": lot_a, "quantity": 1, "reason": "torn"})).await, StatusCode::OK).await;
    expect_json(post("return", json!({"lot_id": lot_a, "quantity": 2, "reason": "wrong size"})).await, StatusCode::OK)
        .await;
    expect_json(post("expired", json!({"lot_id": lot_b, "reason": "past date"})).await, StatusCode::OK).await;
    assert_eq!(assert_explained(&app, &p).await, 5_750);

    // Below zero: refused without an override, naming the quantity; nothing is written.
    let e = assert_error(
        post("damaged", json!({"lot_id": lot_a, "quantity": 6, "reason": "flood"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("quantity"),
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("5.75"), "{e}");
    for (body, field) in [
        (json!({"lot_id": lot_a, "quantity": 0, "reason": "x"}), "quantity"),
        (json!({"lot_id": lot_a, "quantity": -1, "reason": "x"}), "quantity"),
        (json!({"lot_id": lot_a, "quantity": 1, "reason": ""}), "reason"),
    ] {
        assert_error(post("damaged", body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field))
            .await;
    }
    assert_error(
        post("expired", json!({"lot_id": lot_b, "reason": "again"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("quantity"),
    )
    .await;
    assert_error(
        post("adjust", json!({"lot_id": UNKNOWN_ID, "quantity": 1, "reason": "x"})).await,
        StatusCode::NOT_FOUND,
        "stock_lot_not_found",
        None,
    )
    .await;
    let over = expect_json(
        post("adjust", json!({"lot_id": lot_a, "quantity": -6, "reason": "count", "override_reason": "used before it was received"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!((over["on_hand"].as_f64(), over["entries"][0]["overridden"].as_bool()), (Some(-0.25), Some(true)));
    let audit = app.get_json("/api/audit?action=inventory.adjustment_override").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");
    assert_eq!(assert_explained(&app, &p).await, -250);
    let kinds: Vec<String> = ledger(&app, &p).await.iter().map(|e| e["kind"].as_str().unwrap().to_owned()).collect();
    assert_eq!(kinds, ["received", "received", "adjustment", "damaged", "return", "expired", "adjustment"]);
}

#[tokio::test]
async fn dispensing_takes_the_first_expiring_unexpired_lot_once_per_fill() {
    let app = TestApp::signed_in().await;
    let client = app.some_client("Ada", "Byron").await;
    let cat = app.some_patient(&client, "Miso").await;
    let (vet, _) = staff_vet(&app, "dr.stock", true, "2580").await;
    weigh(&app, &cat, 4.0).await;
    let mut body = meloxicam(&cat);
    body["refills_allowed"] = json!(2);
    let rx = id_of(&expect_json(vet.post("/api/prescriptions", &body).await, StatusCode::CREATED).await);
    let dispense = format!("/api/prescriptions/{rx}/dispense");

    // No product linked: nothing changes, and the answer says so.
    let none = expect_json(app.post_json(&dispense, &json!({})).await, StatusCode::OK).await;
    assert_eq!((none["product_id"].clone(), none["entries"].as_array().unwrap().len()), (Value::Null, 0));
    assert!(none["note"].as_str().unwrap().contains("no active product is linked"), "{none}");

    let p = id_of(
        &product(
            &app,
            json!({"name": "Meloxicam 0.5 mg/mL oral suspension", "sku": "MEL-05", "kind": "medication",
            "unit": "mL", "formulary": {"drug": "Meloxicam", "form": "suspension", "strength": 0.5}}),
        )
        .await,
    );
    assert_error(
        app.post_json(
            "/api/inventory/products",
            &json!({"name": "Other", "sku": "MEL-05B", "kind": "medication", "unit": "mL",
            "formulary": {"drug": "meloxicam", "form": "suspension", "strength": 0.5}}),
        )
        .await,
        StatusCode::CONFLICT,
        "duplicate_value",
        Some("formulary"),
    )
    .await;
    receive(&app, &p, "LATE", Some("2031-01-01"), 5.0).await;
    receive(&app, &p, "SOON", Some("2030-06-01"), 8.0).await;
    receive(&app, &p, "GONE", Some("2020-01-01"), 100.0).await;
    receive(&app, &p, "NODATE", None, 1.0).await;

    let before = app.system.store().last_seq();
    let first = expect_json(
        app.request(Method::POST, &dispense)
            .header("Idempotency-Key", "dispense-1")
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let took: Vec<(String, f64)> = first["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap().to_owned(), e["change"].as_f64().unwrap()))
        .collect();
    assert_eq!(
        took,
        [("dispensed".to_owned(), -8.0), ("dispensed".to_owned(), -2.0)],
        "SOON first, then LATE; never GONE"
    );
    assert_eq!(first["fill"], 0);
    // The prescription is unchanged by a dispense: the stock moves are written with the
    // audit entry, but neither the prescription again nor a `prescription_updated` event.
    let kinds: Vec<String> =
        app.system.store().read().unwrap().events_after(before, 100).unwrap().into_iter().map(|e| e.kind).collect();
    assert!(kinds.iter().any(|k| k == "stock_moved"), "{kinds:?}");
    assert!(!kinds.iter().any(|k| k == "prescription_updated"), "{kinds:?}");
    let audit = app.get_json("/api/audit?action=prescription.dispense").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");
    assert_eq!(first["entries"][0]["prescription_id"], rx.as_str());
    let replay = app
        .request(Method::POST, &dispense)
        .header("Idempotency-Key", "dispense-1")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.headers().get("Idempotent-Replayed").map(|v| v.to_str().unwrap()), Some("true"));
    // The same fill again is refused: it left stock once.
    assert_error(
        app.post_json(&dispense, &json!({"fill": 0})).await,
        StatusCode::CONFLICT,
        "duplicate_value",
        Some("fill"),
    )
    .await;
    assert_error(
        app.post_json(&dispense, &json!({"fill": 1})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("fill"),
    )
    .await;

    // A refill needs 10 mL; 4 are on hand and unexpired (3 LATE + 1 without a date).
    expect_json(vet.post(&format!("/api/prescriptions/{rx}/refill"), &json!({})).await, StatusCode::OK).await;
    let e = assert_error(
        app.post_json(&dispense, &json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("quantity"),
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("only 4 mL"), "{e}");
    let over = expect_json(
        app.post_json(&dispense, &json!({"override_reason": "owner cannot come back"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(over["fill"], 1);
    assert_eq!(over["on_hand"].as_f64(), Some(94.0), "100 expired mL stay until written off; the others go to -6");
    assert!(over["entries"].as_array().unwrap().iter().any(|e| e["overridden"] == true), "{over}");
    assert_eq!(
        app.get_json("/api/audit?action=inventory.dispensed_override").await["items"].as_array().unwrap().len(),
        1
    );
    assert_explained(&app, &p).await;

    // A cancelled prescription dispenses nothing.
    expect_json(
        app.post_json(&format!("/api/prescriptions/{rx}/cancel"), &json!({"reason": "stopped"})).await,
        StatusCode::OK,
    )
    .await;
    assert_error(app.post_json(&dispense, &json!({})).await, StatusCode::CONFLICT, "prescription_not_active", None)
        .await;
    // Retiring the product gives up its drug link: another product may take it.
    expect_json(app.delete(&format!("/api/inventory/products/{p}")).await, StatusCode::OK).await;
    let next = json!({"name": "Meloxicam (new supplier)", "sku": "MEL-05B", "kind": "medication", "unit": "mL",
        "formulary": {"drug": "meloxicam", "form": "suspension", "strength": 0.5}});
    let next = product(&app, next).await;
    assert_eq!(next["formulary"]["key"], "meloxicam/suspension/0.5");
    assert_error(
        app.post_json(&format!("/api/prescriptions/{UNKNOWN_ID}/dispense"), &json!({})).await,
        StatusCode::NOT_FOUND,
        "prescription_not_found",
        None,
    )
    .await;
}

#[tokio::test]
async fn purchase_orders_check_every_line_and_never_receive_more_than_ordered() {
    let app = TestApp::signed_in().await;
    let vendor = expect_json(
        app.post_json("/api/inventory/vendors", &json!({"name": "VetSupply Co", "email": "Orders@VetSupply.example"}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(vendor["email"], "orders@vetsupply.example");
    let v = id_of(&vendor);
    let g = id_of(&product(&app, gloves("GLV-S")).await);
    let s =
        id_of(&product(&app, json!({"name": "Syringe 1 mL", "sku": "SYR-1", "kind": "supply", "unit": "each"})).await);
    let line = |p: &str, q: Value, c: Value| json!({"product_id": p, "quantity": q, "unit_cost_cents": c});

    let bad = [
        (json!([]), "lines"),
        (json!([line(&g, json!(10), json!(899)), line(&s, json!(0), json!(12))]), "lines[1].quantity"),
        (json!([line(&g, json!(-3), json!(899))]), "lines[0].quantity"),
        (json!([line(&g, json!(10), json!(-1))]), "lines[0].unit_cost_cents"),
        (json!([line(&g, json!(10), json!(0.5))]), "lines[0].unit_cost_cents"),
        (json!([line(&g, json!(10), json!(899)), line(&g, json!(5), json!(899))]), "lines[1].product_id"),
        (json!([line(&g, json!(10), json!(899)), line(UNKNOWN_ID, json!(5), json!(1))]), "lines[1].product_id"),
    ];
    for (lines, field) in bad {
        assert_error(
            app.post_json("/api/inventory/purchase-orders", &json!({"vendor_id": v, "lines": lines})).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some(field),
        )
        .await;
    }
    assert_error(
        app.post_json(
            "/api/inventory/purchase-orders",
            &json!({"vendor_id": UNKNOWN_ID, "lines": [line(&g, json!(1), json!(1))]}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "vendor_not_found",
        None,
    )
    .await;

    let po = expect_json(
        app.post_json(
            "/api/inventory/purchase-orders",
            &json!({"vendor_id": v, "lines": [line(&g, json!(10), json!(899)), line(&s, json!(1.5), json!(333))]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        (po["status"].as_str(), po["lines"][1]["total_cents"].as_i64(), po["total_cents"].as_i64()),
        (Some("draft"), Some(500), Some(9_490))
    );
    let path = format!("/api/inventory/purchase-orders/{}", id_of(&po));
    let receipt = |l: u32, q: f64, lot: &str| json!({"lines": [{"line": l, "quantity": q, "lot_number": lot, "expires_on": "2031-05-01"}]});
    assert_error(
        app.post_json(&format!("{path}/receive"), &receipt(1, 1.0, "X")).await,
        StatusCode::CONFLICT,
        "invalid_transition",
        None,
    )
    .await;
    let edited = expect_json(
        app.patch_json(&path, &json!({"lines": [line(&g, json!(10), json!(899)), line(&s, json!(2), json!(333))]}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(edited["total_cents"], 8_990 + 666);
    expect_json(app.post_json(&format!("{path}/submit"), &json!({})).await, StatusCode::OK).await;
    assert_error(
        app.patch_json(&path, &json!({"notes": "late"})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
        None,
    )
    .await;

    let part =
        expect_json(app.post_json(&format!("{path}/receive"), &receipt(1, 6.0, "G-1")).await, StatusCode::OK).await;
    assert_eq!(
        (part["status"].as_str(), part["lines"][0]["received"].as_f64()),
        (Some("partially_received"), Some(6.0))
    );
    let e = assert_error(
        app.post_json(&format!("{path}/receive"), &receipt(1, 5.0, "G-2")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("lines[0].quantity"),
    )
    .await;
    assert!(
        e["message"].as_str().unwrap().contains("line 1 (GLV-S) ordered 10, received 6 so far: at most 4 more"),
        "{e}"
    );
    // Two receipts of one line in one request count together.
    let twice = json!({"lines": [{"line": 2, "quantity": 1.5, "lot_number": "S-1"}, {"line": 2, "quantity": 1, "lot_number": "S-2"}]});
    assert_error(
        app.post_json(&format!("{path}/receive"), &twice).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("lines[1].quantity"),
    )
    .await;
    assert_error(
        app.post_json(&format!("{path}/receive"), &receipt(9, 1.0, "Z")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("lines[0].line"),
    )
    .await;
    assert_error(
        app.post_json(&format!("{path}/receive"), &receipt(1, 0.0, "Z")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("lines[0].quantity"),
    )
    .await;
    assert_error(
        app.post_json(&format!("{path}/cancel"), &json!({"reason": "x"})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
        None,
    )
    .await;
    let rest = json!({"lines": [{"line": 1, "quantity": 4, "lot_number": "G-2"}, {"line": 2, "quantity": 2, "lot_number": "S-1"}]});
    let done = expect_json(app.post_json(&format!("{path}/receive"), &rest).await, StatusCode::OK).await;
    assert_eq!((done["status"].as_str(), done["receipts"].as_array().unwrap().len()), (Some("received"), 3));
    assert_error(
        app.post_json(&format!("{path}/receive"), &receipt(1, 1.0, "G-3")).await,
        StatusCode::CONFLICT,
        "invalid_transition",
        None,
    )
    .await;

    // The receipts are lots with `received` entries naming the order and line.
    assert_eq!(assert_explained(&app, &g).await, 10_000);
    assert_eq!(assert_explained(&app, &s).await, 2_000);
    let entries = ledger(&app, &g).await;
    assert_eq!(
        (entries[0]["purchase_order_id"].as_str(), entries[0]["po_line"].as_u64()),
        (Some(id_of(&po).as_str()), Some(1))
    );
    let lots = app.get_json(&format!("/api/inventory/products/{g}")).await["lots"].clone();
    assert_eq!(lots.as_array().unwrap().len(), 2);

    // Cancelling a draft; a cancelled order takes nothing.
    let other = expect_json(
        app.post_json(
            "/api/inventory/purchase-orders",
            &json!({"vendor_id": v, "lines": [line(&g, json!(1), json!(1))]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let cancelled = expect_json(
        app.post_json(
            &format!("/api/inventory/purchase-orders/{}/cancel", id_of(&other)),
            &json!({"reason": "ordered by phone"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    let listed = app.get_json("/api/inventory/purchase-orders?status=received").await;
    assert_eq!(crate::helpers::page_ids(&listed), [id_of(&po)]);
}

#[tokio::test]
async fn alerts_name_low_stock_and_expiring_lots_and_expired_lots_are_written_off() {
    let app = TestApp::signed_in().await;
    let today = clowder_actors::Clock::now(&clowder_actors::SystemClock).to_zoned(jiff::tz::TimeZone::UTC).date();
    let soon = today.checked_add(jiff::Span::new().days(10)).unwrap().to_string();
    let far = today.checked_add(jiff::Span::new().days(400)).unwrap().to_string();
    let p = id_of(&product(&app, gloves("GLV-XL")).await);
    receive(&app, &p, "SOON", Some(&soon), 2.0).await;
    receive(&app, &p, "FAR", Some(&far), 1.0).await;
    receive(&app, &p, "OLD", Some("2024-01-01"), 3.0).await;
    let a = app.get_json("/api/inventory/alerts").await;
    assert_eq!(a["expiring_within_days"], 60);
    let lots = |k: &str| -> Vec<String> {
        a[k].as_array().unwrap().iter().map(|l| l["lot_number"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!((lots("expiring_soon"), lots("expired")), (vec!["SOON".to_owned()], vec!["OLD".to_owned()]));
    assert!(a["low_stock"].as_array().unwrap().is_empty(), "6 boxes is above 5: {a}");
    assert_eq!(app.get_json("/api/inventory/alerts?days=500").await["expiring_soon"].as_array().unwrap().len(), 2);
    assert_error(
        app.get("/api/inventory/alerts?days=0").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("days"),
    )
    .await;

    // The board hears of it: the write-off leaves the product low.
    let location = app.post_json("/api/locations", &json!({"name": "Main", "time_zone": "America/New_York"})).await;
    let location = id_of(&expect_json(location, StatusCode::CREATED).await);
    let mut board = crate::live::connect(&app, &app.token().unwrap()).await;
    crate::live::send(&mut board, json!({"op": "subscribe", "topics": [format!("dashboard:{location}")]})).await;
    while crate::live::next(&mut board).await["type"] != "subscribed" {}

    let off = expect_json(app.post_json("/api/inventory/expire", &json!({})).await, StatusCode::OK).await;
    assert_eq!(off["lots"], 1);
    let frame = loop {
        let f = crate::live::next(&mut board).await;
        if f["type"] == "stock_moved" {
            break f;
        }
    };
    assert_eq!(
        (frame["data"]["product_id"].as_str(), frame["data"]["kind"].as_str()),
        (Some(p.as_str()), Some("expired"))
    );
    assert_eq!((frame["data"]["low"].as_bool(), frame["data"]["on_hand_milli"].as_i64()), (Some(true), Some(3_000)));
    assert_eq!(
        expect_json(app.post_json("/api/inventory/expire", &json!({})).await, StatusCode::OK).await["lots"],
        0,
        "once"
    );
    let a = app.get_json("/api/inventory/alerts").await;
    assert!(a["expired"].as_array().unwrap().is_empty());
    assert_eq!(a["low_stock"][0]["on_hand"].as_f64(), Some(3.0));
    assert_eq!(assert_explained(&app, &p).await, 3_000);
    // The same write-off runs daily as a recurring job (CLOWDER_INVENTORY_EXPIRE_AT).
    let jobs = app.poll_json("/api/jobs?kind=inventory_expire", |v| !v["items"].as_array().unwrap().is_empty()).await;
    assert!(jobs["items"][0]["idempotency_key"].as_str().unwrap().starts_with("recurring:inventory_expire:"), "{jobs}");
    let last = ledger(&app, &p).await.pop().unwrap();
    assert_eq!((last["kind"].as_str(), last["change"].as_f64()), (Some("expired"), Some(-3.0)));
}

#[tokio::test]
async fn part_of_a_lot_written_off_leaves_the_rest_usable_and_a_written_off_lot_takes_no_stock_back() {
    let app = TestApp::signed_in().await;
    let p = id_of(&product(&app, gloves("GLV-X")).await);
    let a = receive(&app, &p, "A-1", Some("2030-01-01"), 10.0).await;
    let lot = a["entries"][0]["lot_id"].as_str().unwrap().to_owned();
    let path = format!("/api/inventory/products/{p}");
    expect_json(
        app.post_json(&format!("{path}/expired"), &json!({"lot_id": lot, "quantity": 1, "reason": "one box spoiled"}))
            .await,
        StatusCode::OK,
    )
    .await;
    let view = app.get_json(&path).await;
    let held = view["lots"].as_array().unwrap().iter().find(|l| l["id"] == lot.as_str()).unwrap().clone();
    assert_eq!((held["on_hand"].as_f64(), held["expired"].as_bool()), (Some(9.0), Some(false)), "{held}");
    // The whole rest written off: the lot is marked, and no stock goes back into it.
    expect_json(
        app.post_json(&format!("{path}/expired"), &json!({"lot_id": lot, "reason": "past date"})).await,
        StatusCode::OK,
    )
    .await;
    assert_error(
        app.post_json(&format!("{path}/adjust"), &json!({"lot_id": lot, "quantity": 2, "reason": "found"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("lot_id"),
    )
    .await;
    assert_eq!(assert_explained(&app, &p).await, 0);
}

fn witness(username: &str, pin: &str) -> Value {
    json!({"username": username, "pin": pin})
}

/// The register's balance of every container made for `product`'s lots.
async fn register_total(app: &TestApp, product: &str) -> i64 {
    let list = app.get_json("/api/controlled/containers?drug=buprenorphine").await;
    list.as_array()
        .unwrap()
        .iter()
        .filter(|c| c["product_id"].as_str() == Some(product))
        .map(|c| milli(&c["balance"]))
        .sum()
}

#[tokio::test]
async fn a_controlled_product_keeps_the_register_in_step_with_every_stock_change() {
    let app = TestApp::signed_in().await;
    let client = app.some_client("Ada", "Byron").await;
    let cat = app.some_patient(&client, "Miso").await;
    let (vet, _) = staff_vet(&app, "dr.lee", true, "2580").await;
    staff_vet(&app, "dr.kim", false, "4826").await;
    let kim = witness("dr.kim", "4826");
    let p = id_of(
        &product(
            &app,
            json!({"name": "Buprenorphine 0.3 mg/mL", "sku": "BUP-03", "kind": "medication", "unit": "mL",
                   "controlled": true, "formulary": {"drug": "buprenorphine", "form": "injectable", "strength": 0.3}}),
        )
        .await,
    );
    let receive_path = format!("/api/inventory/products/{p}/receive");

    // Received by hand: no witness, a wrong PIN, then witnessed: a lot and its container.
    let body = json!({"lot_number": "B-1", "expires_on": "2031-01-31", "quantity": 10});
    assert_error(
        app.post_json(&receive_path, &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("witness"),
    )
    .await;
    let mut wrong = body.clone();
    wrong["witness"] = witness("dr.kim", "0000");
    assert_error(
        app.post_json(&receive_path, &wrong).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("witness.pin"),
    )
    .await;
    let mut good = body.clone();
    good["witness"] = kim.clone();
    expect_json(app.post_json(&receive_path, &good).await, StatusCode::OK).await;
    let view = app.get_json(&format!("/api/inventory/products/{p}")).await;
    let lot = view["lots"][0].clone();
    let container = lot["container_id"].as_str().expect("a controlled lot is a register container").to_owned();
    let c = app.get_json(&format!("/api/controlled/containers/{container}")).await;
    assert_eq!(
        (c["lot"].as_str(), c["lot_id"].as_str(), c["balance"].as_f64(), c["entries"][0]["kind"].as_str()),
        (Some("B-1"), lot["id"].as_str(), Some(10.0), Some("receipt"))
    );
    assert_eq!(c["entries"][0]["witness_name"], "dr.kim");

    // The register's own routes no longer change a container that is an inventory lot.
    assert_error(
        vet.post(
            &format!("/api/controlled/containers/{container}/uses"),
            &json!({"kind": "administration", "patient_id": cat, "quantity": 0.1, "witness": kim}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("id"),
    )
    .await;

    // An adjustment: a discrepancy in the register with the same change; never below zero
    // in the register, whatever override the stock change carries.
    let lot_id = lot["id"].as_str().unwrap();
    let adjust = format!("/api/inventory/products/{p}/adjust");
    let adj = json!({"lot_id": lot_id, "quantity": -0.5, "reason": "spilled drawing up"});
    assert_error(
        app.post_json(&adjust, &adj).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("witness"),
    )
    .await;
    let mut adj_w = adj.clone();
    adj_w["witness"] = kim.clone();
    expect_json(app.post_json(&adjust, &adj_w).await, StatusCode::OK).await;
    let too_much =
        json!({"lot_id": lot_id, "quantity": -50, "reason": "x", "override_reason": "recount", "witness": kim});
    let e = assert_error(
        app.post_json(&adjust, &too_much).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("quantity"),
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("register never goes below zero"), "{e}");
    assert_eq!(register_total(&app, &p).await, 9_500);

    // Received on a purchase order: the witness is on the receipt.
    let v = id_of(
        &expect_json(
            app.post_json("/api/inventory/vendors", &json!({"name": "Opioid Supply"})).await,
            StatusCode::CREATED,
        )
        .await,
    );
    let po = expect_json(
        app.post_json(
            "/api/inventory/purchase-orders",
            &json!({"vendor_id": v, "lines": [{"product_id": p, "quantity": 5, "unit_cost_cents": 2500}]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let path = format!("/api/inventory/purchase-orders/{}", id_of(&po));
    expect_json(app.post_json(&format!("{path}/submit"), &json!({})).await, StatusCode::OK).await;
    let receipt = json!({"lines": [{"line": 1, "quantity": 5, "lot_number": "B-2", "expires_on": "2030-06-30"}]});
    assert_error(
        app.post_json(&format!("{path}/receive"), &receipt).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("witness"),
    )
    .await;
    let mut receipt_w = receipt.clone();
    receipt_w["witness"] = kim.clone();
    let got = expect_json(app.post_json(&format!("{path}/receive"), &receipt_w).await, StatusCode::OK).await;
    let c2 = got["receipts"][0]["container_id"].as_str().expect("a register container").to_owned();
    let c2v = app.get_json(&format!("/api/controlled/containers/{c2}")).await;
    assert_eq!((c2v["supplier"].as_str(), c2v["balance"].as_f64()), (Some("Opioid Supply"), Some(5.0)));
    assert_eq!(register_total(&app, &p).await, 14_500);

    // Dispensed on a prescription: first-expiring lot (B-2), a witnessed dispensing entry for
    // the cat and the prescription.
    weigh(&app, &cat, 4.0).await;
    let rx = json!({"patient_id": cat, "drug": "buprenorphine", "form": "injectable", "strength": 0.3,
                    "dose_per_kg": 0.02, "route": "otm", "frequency": "q8h", "quantity": 2});
    let rx = id_of(&expect_json(vet.post("/api/prescriptions", &rx).await, StatusCode::CREATED).await);
    let dispense = format!("/api/prescriptions/{rx}/dispense");
    assert_error(
        app.post_json(&dispense, &json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("witness"),
    )
    .await;
    let d = expect_json(app.post_json(&dispense, &json!({"witness": kim})).await, StatusCode::OK).await;
    assert_eq!(d["on_hand"].as_f64(), Some(12.5));
    let c2v = app.get_json(&format!("/api/controlled/containers/{c2}")).await;
    let last = c2v["entries"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["kind"].as_str(), last["change"].as_f64(), last["patient_id"].as_str(), last["prescription_id"].as_str()),
        (Some("dispensing"), Some(-2.0), Some(cat.as_str()), Some(rx.as_str()))
    );

    // Written off as damaged: a discrepancy naming what inventory recorded.
    let lots = app.get_json(&format!("/api/inventory/products/{p}")).await["lots"].clone();
    let b2 =
        lots.as_array().unwrap().iter().find(|l| l["lot_number"] == "B-2").unwrap()["id"].as_str().unwrap().to_owned();
    let damaged = json!({"lot_id": b2, "quantity": 1, "reason": "vial cracked", "witness": kim});
    expect_json(app.post_json(&format!("/api/inventory/products/{p}/damaged"), &damaged).await, StatusCode::OK).await;
    let c2v = app.get_json(&format!("/api/controlled/containers/{c2}")).await;
    let last = c2v["entries"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["kind"].as_str(), last["change"].as_f64()), (Some("discrepancy"), Some(-1.0)));
    assert!(last["reason"].as_str().unwrap().contains("damaged: vial cracked"), "{last}");

    // Stock and register agree, and the ledger explains the stock.
    let on_hand = assert_explained(&app, &p).await;
    assert_eq!((on_hand, register_total(&app, &p).await), (11_500, 11_500));
}

#[tokio::test]
async fn purchase_orders_are_numbered_gap_free_when_submitted() {
    let app = TestApp::signed_in().await;
    let v = id_of(
        &expect_json(
            app.post_json("/api/inventory/vendors", &json!({"name": "VetSupply Co"})).await,
            StatusCode::CREATED,
        )
        .await,
    );
    let g = id_of(&product(&app, gloves("GLV-N")).await);
    let order = || json!({"vendor_id": v, "lines": [{"product_id": g, "quantity": 1, "unit_cost_cents": 100}]});
    let mut numbers = Vec::new();
    for cancel_first in [false, true, false] {
        let po =
            expect_json(app.post_json("/api/inventory/purchase-orders", &order()).await, StatusCode::CREATED).await;
        assert_eq!(po["number"], Value::Null, "a draft has no number");
        let path = format!("/api/inventory/purchase-orders/{}", id_of(&po));
        if cancel_first {
            // A cancelled draft never takes a number.
            let c = json!({"reason": "ordered twice"});
            expect_json(app.post_json(&format!("{path}/cancel"), &c).await, StatusCode::OK).await;
            continue;
        }
        let sent = expect_json(app.post_json(&format!("{path}/submit"), &json!({})).await, StatusCode::OK).await;
        // Submitting again changes nothing, the number included.
        let again = expect_json(app.post_json(&format!("{path}/submit"), &json!({})).await, StatusCode::OK).await;
        assert_eq!(again["number"], sent["number"]);
        assert_eq!(app.get_json(&path).await["number"], sent["number"], "the stored order has its number");
        numbers.push(sent["number"].as_str().unwrap().to_owned());
    }
    let year = numbers[0][3..7].to_owned();
    assert_eq!(numbers, [format!("PO-{year}-000001"), format!("PO-{year}-000002")]);
}

/// Sends one purchase-order receipt until the server took it: a 503 (the order's actor did
/// not answer in time, or the server is busy) is sent again; a 409 or 422 after a retry means
/// an earlier, timed-out attempt committed meanwhile (the order is received in full).
async fn receive_until_taken(app: &TestApp, path: &str, body: &Value) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut tried = false;
    loop {
        let res = app.post_json(path, body).await;
        match res.status() {
            StatusCode::OK => return,
            StatusCode::SERVICE_UNAVAILABLE => {}
            s if tried && (s == StatusCode::CONFLICT || s == StatusCode::UNPROCESSABLE_ENTITY) => return,
            s => panic!("{path}: {s} {}", res.text().await.unwrap_or_default()),
        }
        tried = true;
        assert!(std::time::Instant::now() < deadline, "{path} never taken");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn concurrent_receipts_whose_asks_time_out_still_keep_the_ledger_chain() {
    // Set up with the usual timeout, then serve the same store with asks that time out after
    // 20 ms: concurrent receipts queue on the stock lock longer than that, so their callers
    // give up while the orders' actors go on to commit. The lock is taken inside the actor,
    // so each late commit still reads the stock after the one before it.
    let app = TestApp::signed_in().await;
    let token = app.token().unwrap();
    let v = id_of(
        &expect_json(
            app.post_json("/api/inventory/vendors", &json!({"name": "VetSupply Co"})).await,
            StatusCode::CREATED,
        )
        .await,
    );
    let g = id_of(&product(&app, gloves("GLV-RACE")).await);
    let mut orders = Vec::new();
    for _ in 0..12 {
        let body = json!({"vendor_id": v, "lines": [{"product_id": g, "quantity": 3, "unit_cost_cents": 100}]});
        let po = expect_json(app.post_json("/api/inventory/purchase-orders", &body).await, StatusCode::CREATED).await;
        let path = format!("/api/inventory/purchase-orders/{}", id_of(&po));
        expect_json(app.post_json(&format!("{path}/submit"), &json!({})).await, StatusCode::OK).await;
        orders.push(path);
    }
    let dir = app.stop().await;
    let app = TestApp::spawn_in_with(dir, |args| args.ask_timeout_ms = 20).await;
    app.use_token(&token);

    let receipts = orders.iter().enumerate().map(|(i, path)| {
        let app = &app;
        async move {
            let body = json!({"lines": [
                {"line": 1, "quantity": 1, "lot_number": format!("R{i}-a")},
                {"line": 1, "quantity": 2, "lot_number": format!("R{i}-b")},
            ]});
            receive_until_taken(app, &format!("{path}/receive"), &body).await;
        }
    });
    futures_util::future::join_all(receipts).await;

    // Every receipt commits once (late ones included): 24 lots, 36 boxes, and each entry's
    // before is the previous entry's after.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if ledger(&app, &g).await.len() == 24 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the late receipts never committed");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(assert_explained(&app, &g).await, 36_000);
}

#[tokio::test]
async fn a_role_granting_stock_or_money_with_scope_own_is_refused_naming_the_permission() {
    let app = TestApp::signed_in().await;
    for p in ["inventory:view", "invoices:view", "payments:create", "catalogue:manage"] {
        let body = json!({"name": "front_desk_x", "grants": [
            {"permission": "clients:view", "scope": "own"}, {"permission": p, "scope": "own"}]});
        let e = assert_error(
            app.post_json("/api/roles", &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("grants[1].scope"),
        )
        .await;
        assert!(e["message"].as_str().unwrap().contains(p), "{e}");
    }
    let ok = json!({"name": "front_desk_x", "grants": [
        {"permission": "clients:view", "scope": "own"}, {"permission": "inventory:view", "scope": "all"}]});
    expect_json(app.post_json("/api/roles", &ok).await, StatusCode::CREATED).await;
}

#[tokio::test]
async fn a_cancel_racing_a_dispense_is_either_before_it_and_refuses_it_or_after_it() {
    let app = TestApp::signed_in().await;
    let client = app.some_client("Ada", "Byron").await;
    let cat = app.some_patient(&client, "Miso").await;
    let (vet, _) = staff_vet(&app, "dr.race", true, "2580").await;
    let p = id_of(
        &product(
            &app,
            json!({"name": "Meloxicam 0.5 mg/mL oral suspension", "sku": "MEL-R", "kind": "medication",
            "unit": "mL", "formulary": {"drug": "meloxicam", "form": "suspension", "strength": 0.5}}),
        )
        .await,
    );
    receive(&app, &p, "M-1", Some("2031-01-01"), 1000.0).await;
    // One cat each: a second NSAID for one cat would need an override.
    let mut rxs = Vec::new();
    for i in 0..8 {
        let cat = if i == 0 { cat.clone() } else { app.some_patient(&client, &format!("Miso {i}")).await };
        weigh(&app, &cat, 4.0).await;
        let rx = expect_json(vet.post("/api/prescriptions", &meloxicam(&cat)).await, StatusCode::CREATED).await;
        rxs.push(id_of(&rx));
    }
    let races = rxs.iter().map(|rx| {
        let (app, vet) = (&app, &vet);
        async move {
            let (d_path, c_path) =
                (format!("/api/prescriptions/{rx}/dispense"), format!("/api/prescriptions/{rx}/cancel"));
            let (empty, why) = (json!({}), json!({"reason": "owner declined"}));
            let dispense = app.post_json(&d_path, &empty);
            let cancel = vet.post(&c_path, &why);
            let (d, c) = tokio::join!(dispense, cancel);
            assert_eq!(c.status(), StatusCode::OK);
            (rx.clone(), d.status())
        }
    });
    let outcomes = futures_util::future::join_all(races).await;
    let entries = ledger(&app, &p).await;
    for (rx, status) in outcomes {
        let taken = entries.iter().filter(|e| e["prescription_id"].as_str() == Some(rx.as_str())).count();
        let trail = app.get_json(&format!("/api/audit?record_id={rx}")).await;
        let seq_of = |action: &str| {
            trail["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["action"] == action)
                .map(|e| e["seq"].as_u64().unwrap())
        };
        match status {
            // Dispensed by the prescription's actor before the cancel.
            StatusCode::OK => {
                assert_eq!(taken, 1, "{rx}");
                assert!(seq_of("prescription.dispense").unwrap() < seq_of("prescription.cancel").unwrap(), "{trail}");
            }
            // The cancel came first: nothing left stock.
            StatusCode::CONFLICT => assert_eq!((taken, seq_of("prescription.dispense")), (0, None), "{rx}"),
            s => panic!("{rx}: {s}"),
        }
    }
    assert_explained(&app, &p).await;
}

/// A product low on stock with a lot expiring soon, and a submitted order for it.
pub(crate) async fn screen_fixture(app: &TestApp) -> (String, String) {
    let p = id_of(&product(app, gloves("GLV-SCREEN")).await);
    let now = clowder_actors::Clock::now(&clowder_actors::SystemClock);
    let soon =
        now.to_zoned(jiff::tz::TimeZone::UTC).date().checked_add(jiff::Span::new().days(10)).unwrap().to_string();
    receive(app, &p, "LOT-<b>", Some(&soon), 3.0).await;
    let v = id_of(
        &expect_json(
            app.post_json("/api/inventory/vendors", &json!({"name": "VetSupply Co"})).await,
            StatusCode::CREATED,
        )
        .await,
    );
    let body = json!({"vendor_id": v, "lines": [{"product_id": p, "quantity": 10, "unit_cost_cents": 899}]});
    let po =
        id_of(&expect_json(app.post_json("/api/inventory/purchase-orders", &body).await, StatusCode::CREATED).await);
    expect_json(
        app.post_json(&format!("/api/inventory/purchase-orders/{po}/submit"), &json!({})).await,
        StatusCode::OK,
    )
    .await;
    (p, po)
}

#[tokio::test]
async fn the_inventory_screens_show_stock_lots_alerts_and_orders_and_a_receiving_form() {
    let app = TestApp::signed_in().await;
    let (p, po) = screen_fixture(&app).await;
    let res = app.get("/inventory").await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains(&format!("data-product=\"{p}\"")), "{html}");
    assert!(html.contains("LOT-&#60;b&#62;") || html.contains("LOT-&lt;b&gt;"), "what users typed is escaped");
    assert!(html.contains("data-state=\"soon\""), "the lot expiring within the window is marked");
    assert!(html.contains("<strong>Low stock</strong>: Nitrile gloves M (GLV-SCREEN)"), "{html}");
    assert!(html.contains("<strong>Expiring soon</strong>"), "{html}");
    assert!(html.contains(&format!("href=\"/inventory/purchase-orders/{po}\"")));
    assert!(html.contains("PO-"), "orders show their number");

    let page = app.get(&format!("/inventory/purchase-orders/{po}")).await.text().await.unwrap();
    assert!(page.contains("id=\"receive\"") && page.contains("name=\"lot_number\""), "{page}");
    assert!(page.contains("Submitted"));
    // A receptionist (no inventory:view) is refused the page; an unknown order is a 404 page.
    let token = crate::access::staff_user(&app, "rita", &["receptionist"]).await;
    let res = app.anonymous(Method::GET, "/inventory").bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get(&format!("/inventory/purchase-orders/{UNKNOWN_ID}")).await.status(), StatusCode::NOT_FOUND);
}
