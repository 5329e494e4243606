//! `/api/catalogue`: items added with prices in integer cents, searched by name and code,
//! repriced and retired (never deleted), codes and charge-capture links unique among active
//! items; and the locations' tax rate in basis points.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, UNKNOWN_ID, assert_error, expect_json, id_of, page_ids};

pub(crate) async fn item(app: &TestApp, body: Value) -> Value {
    expect_json(app.post_json("/api/catalogue", &body).await, StatusCode::CREATED).await
}

#[tokio::test]
async fn items_are_added_searched_repriced_and_retired_with_their_code_freed() {
    let app = TestApp::signed_in().await;
    let exam = item(
        &app,
        json!({"name": "Wellness exam", "category": "Exams", "kind": "service", "price": 6500, "code": "ex1"}),
    )
    .await;
    assert_eq!(
        (exam["price"].as_i64(), exam["code"].as_str(), exam["active"].as_bool()),
        (Some(6500), Some("EX1"), Some(true))
    );
    let food = item(&app, json!({"name": "Renal diet 2 kg", "category": "Food", "kind": "product", "price": 3999, "cost": 2100, "taxable": true})).await;

    let found = app.get_json("/api/catalogue?q=exam").await;
    assert_eq!(page_ids(&found), [id_of(&exam)]);
    assert_eq!(page_ids(&app.get_json("/api/catalogue?q=ex1").await), [id_of(&exam)]);
    assert_eq!(page_ids(&app.get_json("/api/catalogue?category=food").await), [id_of(&food)]);
    assert_eq!(page_ids(&app.get_json("/api/catalogue?kind=product").await), [id_of(&food)]);
    let first = app.get_json("/api/catalogue?limit=1").await;
    assert_eq!(page_ids(&first), [id_of(&exam)]);
    let next = first["next_cursor"].as_str().unwrap();
    assert_eq!(page_ids(&app.get_json(&format!("/api/catalogue?limit=1&cursor={next}")).await), [id_of(&food)]);

    // A code is unique among active items (whatever its case).
    assert_error(
        app.post_json(
            "/api/catalogue",
            &json!({"name": "Exam 2", "category": "Exams", "kind": "service", "price": 1, "code": "EX1"}),
        )
        .await,
        StatusCode::CONFLICT,
        "duplicate_value",
        Some("code"),
    )
    .await;

    let path = format!("/api/catalogue/{}", id_of(&exam));
    let repriced = expect_json(app.patch_json(&path, &json!({"price": 7000})).await, StatusCode::OK).await;
    assert_eq!(repriced["price"], 7000);
    let retired = expect_json(app.patch_json(&path, &json!({"active": false})).await, StatusCode::OK).await;
    assert_eq!(retired["active"], false);
    assert!(page_ids(&app.get_json("/api/catalogue").await) == [id_of(&food)], "retired items leave the list");
    assert_eq!(page_ids(&app.get_json("/api/catalogue?status=retired").await), [id_of(&exam)]);
    assert_eq!(app.get_json("/api/catalogue?status=all").await["items"].as_array().unwrap().len(), 2);
    // Retiring gave the code up; the item itself is still readable.
    item(&app, json!({"name": "New exam", "category": "Exams", "kind": "service", "price": 7500, "code": "ex1"})).await;
    assert_eq!(app.get_json(&path).await["name"], "Wellness exam");

    assert_error(
        app.get(&format!("/api/catalogue/{UNKNOWN_ID}")).await,
        StatusCode::NOT_FOUND,
        "catalogue_item_not_found",
        None,
    )
    .await;
    assert_error(
        app.get("/api/catalogue?status=gone").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("status"),
    )
    .await;
}

#[tokio::test]
async fn amounts_are_whole_cents_that_are_not_negative() {
    let app = TestApp::signed_in().await;
    let base = json!({"name": "Exam", "category": "Exams", "kind": "service"});
    let with = |extra: Value| {
        let mut b = base.clone();
        b.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        b
    };
    for (body, field) in [
        (with(json!({"price": -1})), "price"),
        (with(json!({"price": 100, "cost": -1})), "cost"),
        (with(json!({"price": 1_000_000_001})), "price"),
    ] {
        assert_error(
            app.post_json("/api/catalogue", &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some(field),
        )
        .await;
    }
    // A fraction of a cent is not a number of cents: refused before anything runs.
    let resp = app.post_json("/api/catalogue", &with(json!({"price": 65.5}))).await;
    assert!(resp.status().is_client_error(), "{}", resp.status());
    assert!(app.get_json("/api/catalogue?status=all").await["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_vaccine_drug_or_exam_fee_is_charged_by_one_active_item() {
    let app = TestApp::signed_in().await;
    let fvrcp = item(
        &app,
        json!({"name": "FVRCP", "category": "Vaccines", "kind": "service", "price": 3500, "vaccine": "fvrcp"}),
    )
    .await;
    assert_error(
        app.post_json(
            "/api/catalogue",
            &json!({"name": "FVRCP 2", "category": "Vaccines", "kind": "service", "price": 3600, "vaccine": "FVRCP"}),
        )
        .await,
        StatusCode::CONFLICT,
        "duplicate_value",
        Some("vaccine"),
    )
    .await;
    item(&app, json!({"name": "Gabapentin 100 mg", "category": "Medications", "kind": "product", "price": 120, "drug": {"drug_id": "gabapentin", "form": "capsule", "strength": 100.0}})).await;
    // Another strength of the same drug is another item.
    item(&app, json!({"name": "Gabapentin 50 mg", "category": "Medications", "kind": "product", "price": 90, "drug": {"drug_id": "gabapentin", "form": "solution", "strength": 50.0}})).await;
    // Retired, the vaccine's link is free for its successor.
    expect_json(
        app.patch_json(&format!("/api/catalogue/{}", id_of(&fvrcp)), &json!({"active": false})).await,
        StatusCode::OK,
    )
    .await;
    item(&app, json!({"name": "FVRCP (new price)", "category": "Vaccines", "kind": "service", "price": 3900, "vaccine": "fvrcp"})).await;
}

#[tokio::test]
async fn a_location_has_a_tax_rate_in_basis_points() {
    let app = TestApp::signed_in().await;
    let locations = app.get_json("/api/locations").await;
    let loc = &locations[0];
    assert_eq!(loc["tax_rate"], 0, "no tax until the clinic sets it");
    let path = format!("/api/locations/{}", id_of(loc));
    let taxed = expect_json(app.patch_json(&path, &json!({"tax_rate": 825})).await, StatusCode::OK).await;
    assert_eq!(taxed["tax_rate"], 825);
    let resp = app.patch_json(&path, &json!({"tax_rate": 10_001})).await;
    assert!(resp.status().is_client_error(), "above 100 % is refused: {}", resp.status());
    assert_eq!(app.get_json(&path).await["tax_rate"], 825);
}
