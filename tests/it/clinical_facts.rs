//! `/api/clinical-facts`: fact sets seeded at first start from the compiled-in files, every
//! version kept with its source and readable by number, a new version checked by the fact
//! set's own type and audited, administrators only; vitals taken after a change are flagged
//! against the new version and name it.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::access::staff_user;
use crate::helpers::{TestApp, assert_error, expect_json};

#[tokio::test]
async fn vital_ranges_are_seeded_versioned_with_sources_and_used_by_new_vitals() {
    let app = TestApp::signed_in().await;
    let list = app.get_json("/api/clinical-facts").await;
    let ranges = list.as_array().unwrap().iter().find(|f| f["name"] == "vital_ranges").unwrap().clone();
    assert_eq!(ranges["version"], 1);
    assert!(ranges["source"].as_str().unwrap().contains("ISFM"), "{ranges}");
    let v1 = app.get_json("/api/clinical-facts/vital_ranges").await;
    assert_eq!(v1["body"]["temperature_c"], json!({"low": 38.1, "high": 39.2}));

    // A body of the wrong shape, an upside-down or impossible range, a missing source.
    let mut body = v1["body"].clone();
    body["temperature_c"] = json!({"low": 39.5, "high": 38.0});
    let bad = [
        (json!({"body": {"temperature": 1}, "source": "x"}), "body"),
        (json!({"body": body, "source": "x"}), "body.temperature_c"),
        (json!({"body": v1["body"], "source": " "}), "source"),
    ];
    for (put, field) in bad {
        assert_error(
            app.put_json("/api/clinical-facts/vital_ranges", &put).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some(field),
        )
        .await;
    }
    assert_error(app.get("/api/clinical-facts/nonsense").await, StatusCode::NOT_FOUND, "fact_set_not_found", None)
        .await;

    let mut body = v1["body"].clone();
    body["temperature_c"]["high"] = json!(39.5);
    let v2 = expect_json(
        app.put_json(
            "/api/clinical-facts/vital_ranges",
            &json!({"body": body, "source": "Clinic protocol 2026, Dr Vera", "note": "fewer false fevers"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!((v2["version"].as_u64(), v2["changed_by"].is_string()), (Some(2), true));
    assert_eq!(app.get_json("/api/clinical-facts/vital_ranges?version=1").await, v1, "earlier versions stay readable");
    assert_eq!(app.get_json("/api/clinical-facts/vital_ranges").await, v2);
    assert_error(
        app.get("/api/clinical-facts/vital_ranges?version=9").await,
        StatusCode::NOT_FOUND,
        "fact_set_not_found",
        None,
    )
    .await;
    let audit =
        app.poll_json("/api/audit?action=clinical_facts.update", |a| !a["items"].as_array().unwrap().is_empty()).await;
    assert_eq!(audit["items"][0]["detail"]["version"], 2);

    let owner = app.some_client("Jane", "Doe").await;
    let miso = app.some_patient(&owner, "Miso").await;
    let v = expect_json(
        app.post_json("/api/vitals", &json!({"patient_id": miso, "measurements": {"temperature_c": 39.4}})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!((v["ranges_version"].clone(), v["flags"].clone()), (json!(2), json!([])));
}

#[tokio::test]
async fn only_administrators_publish_a_version_and_every_signed_in_user_reads() {
    let app = TestApp::signed_in().await;
    let vet = staff_user(&app, "vera", &["veterinarian"]).await;
    let current = app.get_json("/api/clinical-facts/vital_ranges").await;
    let read = app.anonymous(Method::GET, "/api/clinical-facts/vital_ranges").bearer_auth(&vet).send().await.unwrap();
    assert_eq!(read.json::<Value>().await.unwrap(), current);
    let put = app
        .anonymous(Method::PUT, "/api/clinical-facts/vital_ranges")
        .bearer_auth(&vet)
        .json(&json!({"body": current["body"], "source": "me"}))
        .send()
        .await
        .unwrap();
    assert_error(put, StatusCode::FORBIDDEN, "forbidden", None).await;
}
