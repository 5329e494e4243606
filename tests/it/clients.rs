//! `/api/clients`: registration, validation, merge-patch updates, deactivation, lists and
//! pagination.

use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{TestApp, UNKNOWN_ID, assert_error, client_body, expect_json, id_of, ids, page_ids};

#[tokio::test]
async fn creating_a_client_returns_201_with_location_and_the_stored_record() {
    let app = TestApp::signed_in().await;
    let me = app.get_json("/api/auth/me").await;

    let resp = app
        .post_json(
            "/api/clients",
            &json!({
                "first_name": "Jane", "last_name": "Doe", "email": "jane@example.com",
                "phone": "503-555-0199", "phone_secondary": "+44 20 7946 0958",
                "address": {"line1": "1 Main St", "line2": "Apt 2", "city": "Portland", "region": "OR",
                            "postal_code": "97201", "country": "us"},
                "preferred_contact": "email", "alerts": ["Pays cash only"], "notes": "Prefers mornings",
                "tags": ["vip"], "referral_source": "Google"
            }),
        )
        .await;

    assert_eq!(resp.status(), StatusCode::CREATED);
    let location = resp.headers()[header::LOCATION].to_str().unwrap().to_owned();
    let created = expect_json(resp, StatusCode::CREATED).await;
    let id = id_of(&created);
    assert_eq!(location, format!("/api/clients/{id}"));
    assert_eq!(id.len(), 26);
    assert_eq!(created["first_name"], "Jane");
    assert_eq!(created["phone_secondary"], "+442079460958");
    assert_eq!(created["address"]["country"], "US");
    assert_eq!(created["address"]["line2"], "Apt 2");
    assert_eq!(created["preferred_contact"], "email");
    assert_eq!(created["alerts"], json!(["Pays cash only"]));
    assert_eq!(created["tags"], json!(["vip"]));
    assert_eq!(created["referral_source"], "Google");
    assert_eq!(created["active"], true);
    assert_eq!(created["created_at"], created["updated_at"]);
    assert_eq!(created["created_by"], me["user"]["id"]);
    assert_eq!(app.get_json(&location).await, created);

    let minimal = app.create_client(client_body("Ann", "Lee")).await;
    for key in ["email", "phone_secondary", "address", "notes", "referral_source"] {
        assert_eq!(minimal[key], Value::Null, "{key}");
    }
    assert_eq!(minimal["preferred_contact"], "phone");
    assert_eq!(minimal["alerts"], json!([]));
    assert_eq!(minimal["tags"], json!([]));
}

#[tokio::test]
async fn phones_are_normalised_to_e164_and_emails_lower_cased() {
    let app = TestApp::signed_in().await;
    let cases = [
        ("(503) 555-0199", "+15035550199"),
        ("503.555.0199", "+15035550199"),
        ("1-503-555-0199", "+15035550199"),
        ("+44 20 7946 0958", "+442079460958"),
        ("0044 20 7946 0958", "+442079460958"),
    ];
    for (i, (input, e164)) in cases.into_iter().enumerate() {
        let c = app
            .create_client(json!({
                "first_name": "P", "last_name": format!("Case{i}"), "phone": input,
                "email": format!("  Mixed.Case{i}@Example.COM ")
            }))
            .await;
        assert_eq!(c["phone"], e164, "{input}");
        assert_eq!(c["email"], format!("mixed.case{i}@example.com"));
    }
}

#[tokio::test]
async fn duplicate_email_is_409_naming_the_field_on_create_and_on_patch() {
    let app = TestApp::signed_in().await;
    app.create_client(
        json!({"first_name": "A", "last_name": "One", "phone": "5035550101", "email": "cat@example.com"}),
    )
    .await;
    let b = app.some_client("B", "Two").await;

    let created = app
        .post_json(
            "/api/clients",
            &json!({"first_name": "C", "last_name": "Three", "phone": "5035550102", "email": "CAT@Example.com"}),
        )
        .await;
    let patched = app.patch_json(&format!("/api/clients/{b}"), &json!({"email": " Cat@EXAMPLE.com "})).await;

    assert_error(created, StatusCode::CONFLICT, "duplicate_value", Some("email")).await;
    assert_error(patched, StatusCode::CONFLICT, "duplicate_value", Some("email")).await;
    let all = app.get_json("/api/clients?status=all").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2, "the refused client was not stored");
    assert_eq!(app.get_json(&format!("/api/clients/{b}")).await["email"], Value::Null);
}

#[tokio::test]
async fn an_email_given_up_by_one_client_can_be_used_by_another() {
    let app = TestApp::signed_in().await;
    let a = app
        .create_client(
            json!({"first_name": "A", "last_name": "One", "phone": "5035550101", "email": "old@example.com"}),
        )
        .await;

    let changed = app.patch_json(&format!("/api/clients/{}", id_of(&a)), &json!({"email": "new@example.com"})).await;
    assert_eq!(changed.status(), StatusCode::OK);

    let b = app
        .create_client(
            json!({"first_name": "B", "last_name": "Two", "phone": "5035550102", "email": "old@example.com"}),
        )
        .await;
    assert_eq!(b["email"], "old@example.com");
    let again = app
        .post_json(
            "/api/clients",
            &json!({"first_name": "C", "last_name": "Three", "phone": "5035550103", "email": "new@example.com"}),
        )
        .await;
    assert_error(again, StatusCode::CONFLICT, "duplicate_value", Some("email")).await;
}

#[tokio::test]
async fn invalid_clients_are_422_naming_the_field() {
    let app = TestApp::signed_in().await;
    let ok = || json!({"first_name": "Jane", "last_name": "Doe", "phone": "5035550199"});
    let with = |key: &str, value: Value| {
        let mut b = ok();
        b[key] = value;
        b
    };
    let without = |key: &str| {
        let mut b = ok();
        b.as_object_mut().unwrap().remove(key);
        b
    };
    let cases: Vec<(Value, &str)> = vec![
        (with("first_name", json!("")), "first_name"),
        (with("first_name", json!("   ")), "first_name"),
        (with("last_name", json!("\t")), "last_name"),
        (without("last_name"), "last_name"),
        (without("phone"), "phone"),
        (with("phone", json!("cats")), "phone"),
        (with("phone", json!("123")), "phone"),
        (with("phone", json!("")), "phone"),
        (with("phone_secondary", json!("nope")), "phone_secondary"),
        (with("email", json!("nope")), "email"),
        (with("email", json!("a@b")), "email"),
        (with("email", json!("a b@example.com")), "email"),
        (with("preferred_contact", json!("email")), "preferred_contact"),
        (with("preferred_contact", json!("fax")), "preferred_contact"),
        (with("frist_name", json!("Jane")), "frist_name"),
        (with("first_name", json!(42)), "first_name"),
        (with("alerts", json!("not a list")), "alerts"),
        (with("alerts", json!(["x".repeat(201)])), "alerts[0]"),
        (with("tags", json!(vec!["t"; 51])), "tags"),
        (with("address", json!({"country": "USA"})), "address.country"),
        (with("address", json!({"city": "x".repeat(101)})), "address.city"),
        (with("notes", json!("n".repeat(10_001))), "notes"),
        (with("referral_source", json!("line\nbreak")), "referral_source"),
    ];
    for (body, field) in cases {
        let resp = app.post_json("/api/clients", &body).await;
        assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
    }
    let all = app.get_json("/api/clients?status=all").await;
    assert_eq!(all["items"], json!([]), "nothing invalid was stored");
}

/// An unknown top-level field is refused (`frist_name`); a misspelt address part must not be
/// silently dropped either.
#[tokio::test]
async fn unknown_address_fields_are_422_like_top_level_ones() {
    let app = TestApp::signed_in().await;

    let resp = app
        .post_json(
            "/api/clients",
            &json!({"first_name": "Jane", "last_name": "Doe", "phone": "5035550199",
                    "address": {"city": "Portland", "postcode": "97201"}}),
        )
        .await;

    assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("address.postcode")).await;
}

#[tokio::test]
async fn patch_keeps_absent_fields_sets_given_ones_and_null_clears() {
    let app = TestApp::signed_in().await;
    let c = app
        .create_client(json!({
            "first_name": "Jane", "last_name": "Doe", "phone": "5035550199", "email": "jane@example.com",
            "notes": "Has three cats", "alerts": ["Bites"], "address": {"city": "Portland"}
        }))
        .await;
    let path = format!("/api/clients/{}", id_of(&c));

    let patched = expect_json(
        app.patch_json(
            &path,
            &json!({"last_name": "Dough", "notes": null, "address": null, "phone": "(503) 555-0111"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;

    assert_eq!(patched["first_name"], "Jane");
    assert_eq!(patched["last_name"], "Dough");
    assert_eq!(patched["email"], "jane@example.com");
    assert_eq!(patched["alerts"], json!(["Bites"]));
    assert_eq!(patched["phone"], "+15035550111");
    assert_eq!(patched["notes"], Value::Null);
    assert_eq!(patched["address"], Value::Null);
    assert_eq!(patched["created_at"], c["created_at"]);
    assert_ne!(patched["updated_at"], c["updated_at"]);
    assert_eq!(app.get_json(&path).await, patched);

    let unchanged = expect_json(app.patch_json(&path, &json!({})).await, StatusCode::OK).await;
    assert_eq!(unchanged, patched, "an empty patch changes nothing, not even updated_at");
}

#[tokio::test]
async fn patch_cannot_clear_required_fields_or_break_the_rules() {
    let app = TestApp::signed_in().await;
    let c = app.create_client(client_body("Jane", "Doe")).await;
    let path = format!("/api/clients/{}", id_of(&c));
    let cases: Vec<(Value, &str)> = vec![
        (json!({"first_name": null}), "first_name"),
        (json!({"last_name": null}), "last_name"),
        (json!({"phone": null}), "phone"),
        (json!({"first_name": " "}), "first_name"),
        (json!({"phone": "cats"}), "phone"),
        (json!({"email": "nope"}), "email"),
        (json!({"preferred_contact": "email"}), "preferred_contact"),
        (json!({"frist_name": "Jane"}), "frist_name"),
        (json!({"id": "01JD7Y2Q4Z8W3N5K6M7P8R9S0T"}), "id"),
        (json!({"address": {"country": "USA"}}), "address.country"),
    ];
    for (patch, field) in cases {
        let resp = app.patch_json(&path, &patch).await;
        assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
    }
    assert_eq!(app.get_json(&path).await, c, "no refused patch changed the record");

    let emailed = app
        .create_client(json!({
            "first_name": "Em", "last_name": "Ail", "phone": "5035550198",
            "email": "em@example.com", "preferred_contact": "email"
        }))
        .await;
    let resp = app.patch_json(&format!("/api/clients/{}", id_of(&emailed)), &json!({"email": null})).await;
    assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("preferred_contact")).await;
}

#[tokio::test]
async fn delete_deactivates_the_record_stays_readable_and_patch_reactivates() {
    let app = TestApp::signed_in().await;
    let id = app.some_client("Jane", "Doe").await;
    let path = format!("/api/clients/{id}");

    let deleted = expect_json(app.delete(&path).await, StatusCode::OK).await;

    assert_eq!(deleted["active"], false);
    assert_eq!(deleted["id"], id);
    let read = app.get_json(&path).await;
    assert_eq!(read["active"], false);
    assert_eq!(read["first_name"], "Jane");
    // Deleting again is harmless.
    let again = expect_json(app.delete(&path).await, StatusCode::OK).await;
    assert_eq!(again["active"], false);

    let back = expect_json(app.patch_json(&path, &json!({"active": true})).await, StatusCode::OK).await;
    assert_eq!(back["active"], true, "a PATCH reactivates");
    assert_eq!(app.list_ids("/api/clients").await, vec![id]);
}

#[tokio::test]
async fn lists_hide_inactive_clients_unless_asked() {
    let app = TestApp::signed_in().await;
    let active = app.some_client("Active", "One").await;
    let gone = app.some_client("Gone", "Two").await;
    assert_eq!(app.delete(&format!("/api/clients/{gone}")).await.status(), StatusCode::OK);

    let default = app.get_json("/api/clients").await;
    let only_active = app.get_json("/api/clients?status=active").await;
    let inactive = app.get_json("/api/clients?status=inactive").await;
    let inactive_flag = app.get_json("/api/clients?active=false").await;
    let all = app.get_json("/api/clients?status=all").await;

    assert_eq!(page_ids(&default), vec![active.clone()]);
    assert_eq!(page_ids(&only_active), vec![active.clone()]);
    assert_eq!(page_ids(&inactive), vec![gone.clone()]);
    assert_eq!(page_ids(&inactive_flag), vec![gone.clone()]);
    assert_eq!(page_ids(&all), vec![active, gone]);
    assert_eq!(default["next_cursor"], Value::Null);
}

#[tokio::test]
async fn the_name_filter_matches_first_or_last_name_fragments_ignoring_case() {
    let app = TestApp::signed_in().await;
    let jane = app.some_client("Jane", "Whiskerton").await;
    let tom = app.some_client("Tom", "Janeway").await;
    let bob = app.some_client("Bob", "Smith").await;

    let jan = app.get_json("/api/clients?name=JAN").await;
    let whisk = app.get_json("/api/clients?name=whisk").await;
    let smith = app.get_json("/api/clients?name=%20smith%20").await;
    let none = app.get_json("/api/clients?name=zzz").await;

    assert_eq!(page_ids(&jan), vec![jane.clone(), tom]);
    assert_eq!(page_ids(&whisk), vec![jane]);
    assert_eq!(page_ids(&smith), vec![bob]);
    assert_eq!(none["items"], json!([]));
    let too_long = app.get(&format!("/api/clients?name={}", "x".repeat(101))).await;
    assert_error(too_long, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("name")).await;
}

#[tokio::test]
async fn walking_pages_returns_every_client_exactly_once_in_creation_order() {
    let app = TestApp::signed_in().await;
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(app.some_client(&format!("Client{i}"), "Paged").await);
    }

    for limit in [1, 2, 3, 7, 50] {
        let walked = app.walk("/api/clients", limit).await;
        assert_eq!(ids(&walked), created, "limit {limit}");
    }
    let first = app.get_json("/api/clients?limit=3").await;
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    assert!(first["next_cursor"].is_string());
    let exact = app.get_json("/api/clients?limit=7").await;
    assert_eq!(exact["next_cursor"], Value::Null, "no empty last page");
}

#[tokio::test]
async fn pagination_skips_filtered_out_clients_without_losing_any() {
    let app = TestApp::signed_in().await;
    let mut kept = Vec::new();
    for i in 0..9 {
        let id = app.some_client(&format!("C{i}"), "Mixed").await;
        if i % 3 == 0 {
            app.delete(&format!("/api/clients/{id}")).await;
        } else {
            kept.push(id);
        }
    }

    let walked = app.walk("/api/clients", 2).await;

    assert_eq!(ids(&walked), kept);
}

#[tokio::test]
async fn the_default_page_is_50_and_the_largest_200() {
    let app = TestApp::signed_in().await;
    for i in 0..51 {
        app.some_client(&format!("N{i}"), "Many").await;
    }

    let default = app.get_json("/api/clients").await;
    let largest = app.get_json("/api/clients?limit=200").await;

    assert_eq!(default["items"].as_array().unwrap().len(), 50);
    assert!(default["next_cursor"].is_string());
    let rest = app.get_json(&format!("/api/clients?cursor={}", default["next_cursor"].as_str().unwrap())).await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next_cursor"], Value::Null);
    assert_eq!(largest["items"].as_array().unwrap().len(), 51);
}

#[tokio::test]
async fn bad_list_parameters_are_422_naming_the_parameter() {
    let app = TestApp::signed_in().await;
    let cases = [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
        ("cursor=garbage", "cursor"),
        ("cursor=c1zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "cursor"),
        ("status=bogus", "status"),
        ("active=maybe", "active"),
    ];
    for (query, field) in cases {
        let resp = app.get(&format!("/api/clients?{query}")).await;
        assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
    }
}

#[tokio::test]
async fn malformed_client_ids_are_404_client_not_found() {
    let app = TestApp::signed_in().await;
    for id in ["not-an-id", "ZZZZZZZZZZZZZZZZZZZZZZZZZZ", "01JD7Y2Q4Z8W3N5K6M7P8R9S0", "01JD7Y2Q4Z8W3N5K6M7P8R9S0TX"] {
        let path = format!("/api/clients/{id}");
        assert_error(app.get(&path).await, StatusCode::NOT_FOUND, "client_not_found", None).await;
        let patched = app.patch_json(&path, &json!({"notes": "x"})).await;
        assert_error(patched, StatusCode::NOT_FOUND, "client_not_found", None).await;
        assert_error(app.delete(&path).await, StatusCode::NOT_FOUND, "client_not_found", None).await;
        let cats = app.get(&format!("{path}/patients")).await;
        assert_error(cats, StatusCode::NOT_FOUND, "client_not_found", None).await;
    }
}

/// A well-formed id that no client has answers exactly like a malformed one: the id is in
/// the path, not a body field, so no `field` is named (as `/api/clients/{id}/patients` does).
#[tokio::test]
async fn unknown_client_ids_are_404_client_not_found_like_malformed_ones() {
    let app = TestApp::signed_in().await;
    let path = format!("/api/clients/{UNKNOWN_ID}");

    let cats = app.get(&format!("{path}/patients")).await;
    assert_error(cats, StatusCode::NOT_FOUND, "client_not_found", None).await;
    assert_error(app.get(&path).await, StatusCode::NOT_FOUND, "client_not_found", None).await;
    let patched = app.patch_json(&path, &json!({"notes": "x"})).await;
    assert_error(patched, StatusCode::NOT_FOUND, "client_not_found", None).await;
    assert_error(app.delete(&path).await, StatusCode::NOT_FOUND, "client_not_found", None).await;
    // Nothing was created by asking.
    assert_eq!(app.get_json("/api/clients?status=all").await["items"], json!([]));
}

#[tokio::test]
async fn a_clients_patients_are_listed_under_the_client() {
    let app = TestApp::signed_in().await;
    let jane = app.some_client("Jane", "Doe").await;
    let bob = app.some_client("Bob", "Roe").await;
    let tom = app.some_patient(&jane, "Tom").await;
    app.some_patient(&bob, "Rex").await;
    let luna = app.some_patient(&jane, "Luna").await;

    let cats = app.get_json(&format!("/api/clients/{jane}/patients")).await;

    assert_eq!(page_ids(&cats), vec![tom, luna]);
    assert!(cats["items"].as_array().unwrap().iter().all(|p| p["client_id"] == jane.as_str()));
}

#[tokio::test]
async fn a_misspelt_query_parameter_is_422_not_silently_ignored() {
    let app = TestApp::signed_in().await;
    assert_error(
        app.get("/api/clients?stauts=all").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("stauts"),
    )
    .await;
    assert_error(
        app.get("/api/patients?limt=5").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("limt"),
    )
    .await;
    assert_error(
        app.get("/api/clients?limit=ten").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("limit"),
    )
    .await;
}
