//! Appointment types: ten defaults for a cat clinic, validation, unique names, retiring.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, UNKNOWN_ID, assert_error, id_of};

#[tokio::test]
async fn a_new_clinic_starts_with_ten_sensible_appointment_types() {
    let app = TestApp::signed_in().await;
    let types = app.get_json("/api/appointment-types").await;
    let types = types.as_array().unwrap();
    assert_eq!(types.len(), 10);
    let spay = types.iter().find(|t| t["name"] == "Spay or neuter").expect("a surgery type");
    assert_eq!(spay["room_kind"], "surgery");
    assert_eq!(spay["requires_capability"], "can_perform_surgery");
    assert!(types.iter().all(|t| t["color"].as_str().unwrap().len() == 7));
}

#[tokio::test]
async fn appointment_types_validate_default_and_keep_names_unique() {
    let app = TestApp::signed_in().await;
    let res = app.post_json("/api/appointment-types", &json!({"name": "Fear Free visit"})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let t: Value = res.json().await.unwrap();
    assert_eq!((t["duration_minutes"].as_u64(), t["color"].as_str()), (Some(30), Some("#2563eb")));
    let res = app.post_json("/api/appointment-types", &json!({"name": "fear free VISIT"})).await;
    assert_error(res, StatusCode::CONFLICT, "duplicate_value", Some("name")).await;
    for (body, field) in [
        (json!({"name": "Too short", "duration_minutes": 4}), "duration_minutes"),
        (json!({"name": "Too long", "duration_minutes": 481}), "duration_minutes"),
        (json!({"name": "Bad colour", "color": "teal"}), "color"),
        (json!({"name": "Bad room", "room_kind": "garage"}), "room_kind"),
    ] {
        let res = app.post_json("/api/appointment-types", &body).await;
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
    }
    // Retiring hides it from the default list but keeps it.
    let id = id_of(&t);
    let res =
        app.patch_json(&format!("/api/appointment-types/{id}"), &json!({"active": false, "color": "#ABCDEF"})).await;
    let retired: Value = res.json().await.unwrap();
    assert_eq!((retired["active"].as_bool(), retired["color"].as_str()), (Some(false), Some("#abcdef")));
    assert_eq!(app.get_json("/api/appointment-types").await.as_array().unwrap().len(), 10);
    assert_eq!(app.get_json("/api/appointment-types?status=all").await.as_array().unwrap().len(), 11);
    let res = app.get(&format!("/api/appointment-types/{UNKNOWN_ID}")).await;
    assert_error(res, StatusCode::NOT_FOUND, "appointment_type_not_found", None).await;
}
