//! `/api/patients`: registering cats to owners, validation, status changes (inactive,
//! deceased), moving a cat to another owner, lists and pagination.

use clowder_actors::{Clock, SystemClock};
use jiff::civil::Date;
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{TestApp, UNKNOWN_ID, assert_error, expect_json, id_of, ids, page_ids};

/// The clinic's date (America/New_York) now, from the one sanctioned clock.
fn clinic_today() -> Date {
    let zone = jiff::tz::TimeZone::get("America/New_York").expect("the time zone database knows New York");
    SystemClock.today(&zone)
}

/// The date the server stamped must be the clinic's date at some moment of the call.
fn assert_clinic_date(got: &Value, before: Date, after: Date) {
    let got: Date = got.as_str().unwrap_or_else(|| panic!("not a date: {got}")).parse().unwrap();
    assert!(got == before || got == after, "{got} is neither {before} nor {after}");
}

#[tokio::test]
async fn registering_a_cat_returns_201_with_location_and_the_stored_record() {
    let app = TestApp::signed_in().await;
    let owner = app.some_client("Jane", "Doe").await;

    let resp = app
        .post_json(
            "/api/patients",
            &json!({
                "client_id": owner, "name": "Mittens", "breed": "Maine Coon", "color": "brown tabby",
                "sex": "female", "reproductive_status": "spayed", "date_of_birth": "2019-04-01",
                "date_of_birth_estimated": true, "microchip": "985 141 000 123 456",
                "allergies": ["chicken", "Chicken", " "], "behavior_notes": "Hisses at the scale",
                "handling": {"aggression": "moderate", "fear_anxiety": "severe", "muzzle": true,
                             "towel_wrap": true, "sedation_history": "gabapentin 100 mg 2 h before visits"},
                "insurance": "Trupanion"
            }),
        )
        .await;

    assert_eq!(resp.status(), StatusCode::CREATED);
    let location = resp.headers()[header::LOCATION].to_str().unwrap().to_owned();
    let cat = expect_json(resp, StatusCode::CREATED).await;
    assert_eq!(location, format!("/api/patients/{}", id_of(&cat)));
    assert_eq!(cat["client_id"], owner);
    assert_eq!(cat["microchip"], "985141000123456");
    assert_eq!(cat["allergies"], json!(["chicken"]));
    assert_eq!(cat["date_of_birth"], "2019-04-01");
    assert_eq!(cat["date_of_birth_estimated"], true);
    assert_eq!(cat["status"], "active");
    assert_eq!(cat["deceased_on"], Value::Null);
    assert_eq!(cat["handling"]["aggression"], "moderate");
    assert_eq!(cat["handling"]["fear_anxiety"], "severe");
    assert_eq!(cat["handling"]["handling_difficulty"], "none");
    assert_eq!(cat["handling"]["muzzle"], true);
    assert_eq!(cat["handling"]["preferred_restraint"], Value::Null);
    assert_eq!(app.get_json(&location).await, cat);

    let plain = app.create_patient(json!({"client_id": owner, "name": "Tom"})).await;
    assert_eq!(
        plain["handling"],
        json!({"aggression": "none", "fear_anxiety": "none", "handling_difficulty": "none", "muzzle": false,
               "towel_wrap": false, "sedation_history": null, "preferred_restraint": null,
               "staff_safety_notes": null})
    );
    assert_eq!(plain["allergies"], json!([]));
    assert_eq!(plain["sex"], Value::Null);
    assert_eq!(plain["date_of_birth_estimated"], false);
}

#[tokio::test]
async fn an_unknown_owner_is_404_and_a_malformed_one_422_both_naming_client_id() {
    let app = TestApp::signed_in().await;

    let resp = app.post_json("/api/patients", &json!({"client_id": UNKNOWN_ID, "name": "Stray"})).await;
    assert_error(resp, StatusCode::NOT_FOUND, "client_not_found", Some("client_id")).await;

    for bad in [json!("not-an-id"), json!(42), json!(null)] {
        let resp = app.post_json("/api/patients", &json!({"client_id": bad, "name": "Stray"})).await;
        assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("client_id")).await;
    }
    let resp = app.post_json("/api/patients", &json!({"name": "Stray"})).await;
    assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("client_id")).await;
    assert_eq!(app.get_json("/api/patients?status=all").await["items"], json!([]));
}

#[tokio::test]
async fn an_inactive_owner_cannot_get_new_cats() {
    let app = TestApp::signed_in().await;
    let owner = app.some_client("Jane", "Doe").await;
    app.delete(&format!("/api/clients/{owner}")).await;

    let resp = app.post_json("/api/patients", &json!({"client_id": owner, "name": "Tom"})).await;

    assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("client_id")).await;
}

#[tokio::test]
async fn duplicate_microchip_is_409_naming_the_field_on_create_and_on_patch() {
    let app = TestApp::signed_in().await;
    let owner = app.some_client("Jane", "Doe").await;
    let other = app.some_client("Bob", "Roe").await;
    let tom = app.create_patient(json!({"client_id": owner, "name": "Tom", "microchip": "985141000123456"})).await;
    let rex = app.some_patient(&other, "Rex").await;

    // Same chip, typed with spaces, for another owner's cat.
    let created = app
        .post_json("/api/patients", &json!({"client_id": other, "name": "Max", "microchip": "985 141 000 123 456"}))
        .await;
    let patched = app.patch_json(&format!("/api/patients/{rex}"), &json!({"microchip": "985-141-000-123-456"})).await;

    assert_error(created, StatusCode::CONFLICT, "duplicate_value", Some("microchip")).await;
    assert_error(patched, StatusCode::CONFLICT, "duplicate_value", Some("microchip")).await;

    // Once Tom's chip is cleared, Rex may have it.
    let cleared = app.patch_json(&format!("/api/patients/{}", id_of(&tom)), &json!({"microchip": null})).await;
    assert_eq!(expect_json(cleared, StatusCode::OK).await["microchip"], Value::Null);
    let reused = app.patch_json(&format!("/api/patients/{rex}"), &json!({"microchip": "985141000123456"})).await;
    assert_eq!(expect_json(reused, StatusCode::OK).await["microchip"], "985141000123456");
}

#[tokio::test]
async fn impossible_cats_are_422_naming_the_field() {
    let app = TestApp::signed_in().await;
    let owner = app.some_client("Jane", "Doe").await;
    let day_after_tomorrow = clinic_today().tomorrow().unwrap().tomorrow().unwrap();
    let cat = |extra: Value| {
        let mut b = json!({"client_id": owner, "name": "Tom"});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let cases: Vec<(Value, &str)> = vec![
        (cat(json!({"name": ""})), "name"),
        (cat(json!({"name": "x".repeat(101)})), "name"),
        (cat(json!({"sex": "male", "reproductive_status": "spayed"})), "reproductive_status"),
        (cat(json!({"sex": "female", "reproductive_status": "neutered"})), "reproductive_status"),
        (cat(json!({"sex": "tom"})), "sex"),
        (cat(json!({"reproductive_status": "fixed"})), "reproductive_status"),
        (cat(json!({"date_of_birth": day_after_tomorrow.to_string()})), "date_of_birth"),
        (cat(json!({"date_of_birth": "1950-01-01"})), "date_of_birth"),
        (cat(json!({"date_of_birth": "2020-02-30"})), "date_of_birth"),
        (cat(json!({"date_of_birth": "01/02/2020"})), "date_of_birth"),
        (cat(json!({"microchip": "12345678"})), "microchip"),
        (cat(json!({"microchip": "1234567890123456"})), "microchip"),
        (cat(json!({"microchip": "98514100012345A"})), "microchip"),
        (cat(json!({"handling": {"aggression": "extreme"}})), "handling.aggression"),
        (cat(json!({"handling": {"staff_safety_notes": "x".repeat(501)}})), "handling.staff_safety_notes"),
        (cat(json!({"allergies": ["x".repeat(201)]})), "allergies[0]"),
        (cat(json!({"species": "dog"})), "species"),
    ];
    for (body, field) in cases {
        let resp = app.post_json("/api/patients", &body).await;
        assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
    }
    assert_eq!(app.get_json("/api/patients?status=all").await["items"], json!([]));
}

/// Handling notes keep staff safe: a misspelt key (`agression`) must be refused, not
/// silently dropped so the cat shows "no aggression" on the exam-room tablet.
#[tokio::test]
async fn misspelt_handling_fields_are_422_not_silently_dropped() {
    let app = TestApp::signed_in().await;
    let owner = app.some_client("Jane", "Doe").await;

    let resp = app
        .post_json(
            "/api/patients",
            &json!({"client_id": owner, "name": "Tiger", "handling": {"agression": "severe", "muzzle": true}}),
        )
        .await;

    assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("handling.agression")).await;
}

#[tokio::test]
async fn a_cat_born_today_is_accepted() {
    let app = TestApp::signed_in().await;
    let owner = app.some_client("Jane", "Doe").await;
    let before = clinic_today();

    let resp = app
        .post_json("/api/patients", &json!({"client_id": owner, "name": "Kitten", "date_of_birth": before.to_string()}))
        .await;

    // Around midnight the clinic's date may have moved on: still not in the future.
    let cat = expect_json(resp, StatusCode::CREATED).await;
    assert_eq!(cat["date_of_birth"], before.to_string());
}

#[tokio::test]
async fn marking_a_cat_deceased_records_today_in_the_clinic_time_zone() {
    let app = TestApp::signed_in().await;
    let owner = app.some_client("Jane", "Doe").await;
    let tom = app.some_patient(&owner, "Tom").await;

    let before = clinic_today();
    let resp = app.patch_json(&format!("/api/patients/{tom}"), &json!({"status": "deceased"})).await;
    let after = clinic_today();

    let dead = expect_json(resp, StatusCode::OK).await;
    assert_eq!(dead["status"], "deceased");
    assert_clinic_date(&dead["deceased_on"], before, after);
    assert_eq!(app.get_json(&format!("/api/patients/{tom}")).await, dead);
}

#[tokio::test]
async fn a_deceased_cat_cannot_come_back() {
    let app = TestApp::signed_in().await;
    let owner = app.some_client("Jane", "Doe").await;
    let tom = app.some_patient(&owner, "Tom").await;
    let path = format!("/api/patients/{tom}");
    app.patch_json(&path, &json!({"status": "deceased"})).await;

    for status in ["active", "inactive"] {
        let resp = app.patch_json(&path, &json!({"status": status})).await;
        assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("status")).await;
    }
    let resp = app.patch_json(&path, &json!({"status": null})).await;
    assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("status")).await;
    assert_eq!(app.get_json(&path).await["status"], "deceased");
}

#[tokio::test]
async fn deceased_on_must_be_consistent() {
    let app = TestApp::signed_in().await;
    let owner = app.some_client("Jane", "Doe").await;
    let tom = app.create_patient(json!({"client_id": owner, "name": "Tom", "date_of_birth": "2015-06-01"})).await;
    let path = format!("/api/patients/{}", id_of(&tom));

    let before_birth = app.patch_json(&path, &json!({"status": "deceased", "deceased_on": "2015-01-01"})).await;
    assert_error(before_birth, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("deceased_on")).await;
    let while_alive = app.patch_json(&path, &json!({"deceased_on": "2020-01-01"})).await;
    assert_error(while_alive, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("deceased_on")).await;

    let dated = app.patch_json(&path, &json!({"status": "deceased", "deceased_on": "2024-03-05"})).await;
    assert_eq!(expect_json(dated, StatusCode::OK).await["deceased_on"], "2024-03-05");
}

#[tokio::test]
async fn delete_makes_a_cat_inactive_and_a_deceased_one_stays_deceased() {
    let app = TestApp::signed_in().await;
    let owner = app.some_client("Jane", "Doe").await;
    let tom = app.some_patient(&owner, "Tom").await;
    let rex = app.some_patient(&owner, "Rex").await;
    app.patch_json(&format!("/api/patients/{rex}"), &json!({"status": "deceased"})).await;

    let tom_deleted = expect_json(app.delete(&format!("/api/patients/{tom}")).await, StatusCode::OK).await;
    let rex_deleted = expect_json(app.delete(&format!("/api/patients/{rex}")).await, StatusCode::OK).await;

    assert_eq!(tom_deleted["status"], "inactive");
    assert_eq!(rex_deleted["status"], "deceased");
    assert!(rex_deleted["deceased_on"].is_string());
    assert_eq!(app.get_json(&format!("/api/patients/{tom}")).await["status"], "inactive");
    assert_eq!(app.get_json(&format!("/api/patients/{rex}")).await["status"], "deceased");
}

#[tokio::test]
async fn patient_lists_filter_by_status() {
    let app = TestApp::signed_in().await;
    let owner = app.some_client("Jane", "Doe").await;
    let active = app.some_patient(&owner, "Active").await;
    let inactive = app.some_patient(&owner, "Inactive").await;
    let deceased = app.some_patient(&owner, "Deceased").await;
    app.delete(&format!("/api/patients/{inactive}")).await;
    app.patch_json(&format!("/api/patients/{deceased}"), &json!({"status": "deceased"})).await;

    assert_eq!(app.list_ids("/api/patients").await, vec![active.clone()]);
    assert_eq!(app.list_ids("/api/patients?status=active").await, vec![active.clone()]);
    assert_eq!(app.list_ids("/api/patients?status=inactive").await, vec![inactive.clone()]);
    assert_eq!(app.list_ids("/api/patients?status=deceased").await, vec![deceased.clone()]);
    assert_eq!(
        app.list_ids("/api/patients?status=all").await,
        vec![active.clone(), inactive.clone(), deceased.clone()]
    );
    // Under the owner, the whole household by default.
    let household = app.get_json(&format!("/api/clients/{owner}/patients")).await;
    assert_eq!(page_ids(&household), vec![active.clone(), inactive, deceased]);
    let living = app.get_json(&format!("/api/clients/{owner}/patients?status=active")).await;
    assert_eq!(page_ids(&living), vec![active]);
}

#[tokio::test]
async fn patient_lists_filter_by_owner_and_name() {
    let app = TestApp::signed_in().await;
    let jane = app.some_client("Jane", "Doe").await;
    let bob = app.some_client("Bob", "Roe").await;
    let mittens = app.some_patient(&jane, "Mittens").await;
    let smitty = app.some_patient(&bob, "Smitty").await;
    let tom = app.some_patient(&jane, "Tom").await;

    let janes = app.get_json(&format!("/api/patients?client_id={jane}")).await;
    let mitt = app.get_json("/api/patients?name=MITT").await;
    let janes_mitt = app.get_json(&format!("/api/patients?client_id={jane}&name=mitt")).await;

    assert_eq!(page_ids(&janes), vec![mittens.clone(), tom]);
    assert_eq!(page_ids(&mitt), vec![mittens.clone(), smitty]);
    assert_eq!(page_ids(&janes_mitt), vec![mittens]);
    let bad = app.get("/api/patients?client_id=nope").await;
    assert_error(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("client_id")).await;
    let bad = app.get("/api/patients?status=sleeping").await;
    assert_error(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("status")).await;
}

#[tokio::test]
async fn moving_a_cat_to_another_owner_updates_both_households() {
    let app = TestApp::signed_in().await;
    let jane = app.some_client("Jane", "Doe").await;
    let bob = app.some_client("Bob", "Roe").await;
    let tom = app.some_patient(&jane, "Tom").await;
    let luna = app.some_patient(&jane, "Luna").await;
    let rex = app.some_patient(&bob, "Rex").await;

    let moved = app.patch_json(&format!("/api/patients/{tom}"), &json!({"client_id": bob})).await;

    assert_eq!(expect_json(moved, StatusCode::OK).await["client_id"], bob);
    let janes = app.get_json(&format!("/api/clients/{jane}/patients")).await;
    let bobs = app.get_json(&format!("/api/clients/{bob}/patients")).await;
    assert_eq!(page_ids(&janes), vec![luna]);
    assert_eq!(page_ids(&bobs), vec![tom.clone(), rex]);
    let filtered = app.get_json(&format!("/api/patients?client_id={jane}")).await;
    assert!(!page_ids(&filtered).contains(&tom));
}

#[tokio::test]
async fn moving_a_cat_to_an_unknown_owner_is_404_naming_client_id() {
    let app = TestApp::signed_in().await;
    let jane = app.some_client("Jane", "Doe").await;
    let tom = app.some_patient(&jane, "Tom").await;
    let path = format!("/api/patients/{tom}");

    let resp = app.patch_json(&path, &json!({"client_id": UNKNOWN_ID})).await;
    assert_error(resp, StatusCode::NOT_FOUND, "client_not_found", Some("client_id")).await;
    let resp = app.patch_json(&path, &json!({"client_id": null})).await;
    assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("client_id")).await;

    assert_eq!(app.get_json(&path).await["client_id"], jane);
    assert_eq!(page_ids(&app.get_json(&format!("/api/clients/{jane}/patients")).await), vec![tom]);
}

#[tokio::test]
async fn patient_patch_keeps_absent_fields_and_null_clears() {
    let app = TestApp::signed_in().await;
    let owner = app.some_client("Jane", "Doe").await;
    let cat = app
        .create_patient(json!({
            "client_id": owner, "name": "Tom", "breed": "Siamese", "color": "seal point", "sex": "male",
            "allergies": ["fish"], "handling": {"aggression": "mild"}
        }))
        .await;
    let path = format!("/api/patients/{}", id_of(&cat));

    let patched = expect_json(
        app.patch_json(&path, &json!({"breed": null, "name": "Thomas", "reproductive_status": "neutered"})).await,
        StatusCode::OK,
    )
    .await;

    assert_eq!(patched["name"], "Thomas");
    assert_eq!(patched["breed"], Value::Null);
    assert_eq!(patched["color"], "seal point");
    assert_eq!(patched["allergies"], json!(["fish"]));
    assert_eq!(patched["handling"]["aggression"], "mild");
    assert_eq!(patched["reproductive_status"], "neutered");
    let cases: Vec<(Value, &str)> = vec![
        (json!({"name": null}), "name"),
        (json!({"reproductive_status": "spayed"}), "reproductive_status"),
        (json!({"microchip": "12"}), "microchip"),
        (json!({"nmae": "Tom"}), "nmae"),
    ];
    for (patch, field) in cases {
        let resp = app.patch_json(&path, &patch).await;
        assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
    }
    assert_eq!(app.get_json(&path).await, patched);
}

#[tokio::test]
async fn unknown_and_malformed_patient_ids_are_404_patient_not_found() {
    let app = TestApp::signed_in().await;
    for id in [UNKNOWN_ID, "not-an-id", "ZZZZZZZZZZZZZZZZZZZZZZZZZZ", "01JD7Y2Q4Z8W3N5K6M7P8R9S0"] {
        let path = format!("/api/patients/{id}");
        assert_error(app.get(&path).await, StatusCode::NOT_FOUND, "patient_not_found", None).await;
        let patched = app.patch_json(&path, &json!({"name": "x"})).await;
        assert_error(patched, StatusCode::NOT_FOUND, "patient_not_found", None).await;
        assert_error(app.delete(&path).await, StatusCode::NOT_FOUND, "patient_not_found", None).await;
    }
}

#[tokio::test]
async fn walking_patient_pages_returns_every_cat_exactly_once_in_creation_order() {
    let app = TestApp::signed_in().await;
    let jane = app.some_client("Jane", "Doe").await;
    let bob = app.some_client("Bob", "Roe").await;
    let mut all = Vec::new();
    let mut janes = Vec::new();
    for i in 0..8 {
        let owner = if i % 2 == 0 { &jane } else { &bob };
        let id = app.some_patient(owner, &format!("Cat{i}")).await;
        if owner == &jane {
            janes.push(id.clone());
        }
        all.push(id);
    }

    for limit in [1, 3, 8] {
        assert_eq!(ids(&app.walk("/api/patients", limit).await), all, "limit {limit}");
        let under = app.walk(&format!("/api/clients/{jane}/patients"), limit).await;
        assert_eq!(ids(&under), janes, "limit {limit}");
        let filtered = app.walk(&format!("/api/patients?client_id={jane}"), limit).await;
        assert_eq!(ids(&filtered), janes, "limit {limit}");
    }
    for query in ["limit=0", "limit=201", "cursor=nope"] {
        let field = query.split('=').next().unwrap();
        let resp = app.get(&format!("/api/patients?{query}")).await;
        assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
        let resp = app.get(&format!("/api/clients/{jane}/patients?{query}")).await;
        assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
    }
}
