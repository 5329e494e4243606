//! `/api/vitals` and a cat's weight history: impossible values refused naming the field and
//! the limit, unusual ones flagged with the normal feline range (and the fact set's version),
//! units converted with the entry kept, corrections by amendment, no vitals for a deceased
//! cat, safe retries, the weight chart on the cat's page, and privacy: reads audited, events
//! ids-only and only for readers of the medical record.

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::access::staff_user;
use crate::helpers::{TestApp, UNKNOWN_ID, assert_error, expect_json, id_of, page_ids};
use crate::live::{connect, next, send};

async fn cat(app: &TestApp) -> String {
    let owner = app.some_client("Jane", "Doe").await;
    app.some_patient(&owner, "Miso").await
}

async fn take(app: &TestApp, patient: &str, m: Value) -> reqwest::Response {
    app.post_json("/api/vitals", &json!({"patient_id": patient, "measurements": m})).await
}

#[tokio::test]
async fn impossible_values_are_refused_with_422_naming_the_field_and_the_limit() {
    let app = TestApp::signed_in().await;
    let miso = cat(&app).await;
    let cases = [
        (json!({"weight": {"value": 0, "unit": "kg"}}), "measurements.weight.value", "at least 0.05 kg"),
        (json!({"weight": {"value": 80, "unit": "kg"}}), "measurements.weight.value", "at most 25 kg"),
        (json!({"temperature_c": 50}), "measurements.temperature_c", "at most 45 °C"),
        (json!({"heart_rate": 900}), "measurements.heart_rate", "at most 400 /min"),
        (json!({"pain": 12}), "measurements.pain", "at most 10"),
        (json!({"notes": "x".repeat(1_000_000)}), "measurements.notes", ""),
        (json!({}), "measurements", "at least one"),
    ];
    for (m, field, says) in cases {
        let body = assert_error(
            take(&app, &miso, m).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some(field),
        )
        .await;
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(says), "{field}: {message}");
    }
    assert!(page_ids(&app.get_json(&format!("/api/patients/{miso}/vitals")).await).is_empty(), "nothing was stored");
    assert_error(take(&app, UNKNOWN_ID, json!({"pain": 1})).await, StatusCode::NOT_FOUND, "patient_not_found", None)
        .await;
}

#[tokio::test]
async fn unusual_values_are_stored_with_a_flag_naming_the_normal_range_and_its_version() {
    let app = TestApp::signed_in().await;
    let miso = cat(&app).await;
    let resp = take(&app, &miso, json!({"temperature_c": 40.1, "heart_rate": 180, "respiratory_rate": 60})).await;
    let location = resp.headers()[header::LOCATION].to_str().unwrap().to_owned();
    let v = expect_json(resp, StatusCode::CREATED).await;
    assert_eq!(location, format!("/api/vitals/{}", id_of(&v)));
    assert_eq!(v["measurements"]["temperature_c"], 40.1);
    assert_eq!(v["ranges_version"], 1);
    let flags: Vec<&str> = v["flags"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(flags, ["temperature_c", "respiratory_rate"]);
    assert_eq!(v["flags"][0]["message"], "Temperature 40.1 °C is above the normal feline range (38.1–39.2 °C)");
    assert_eq!((v["flags"][0]["low"].as_f64(), v["flags"][0]["high"].as_f64()), (Some(38.1), Some(39.2)));
    assert_eq!(app.get_json(&location).await, v);
}

#[tokio::test]
async fn pounds_and_a_five_point_bcs_are_converted_and_the_entries_kept_in_the_weight_history() {
    let app = TestApp::signed_in().await;
    let miso = cat(&app).await;
    let first = expect_json(
        app.post_json(
            "/api/vitals",
            &json!({"patient_id": miso, "taken_at": "2025-03-01T15:00:00Z",
                    "measurements": {"weight": {"value": 4200, "unit": "g"}, "bcs": {"score": 5}}}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let second = expect_json(
        take(&app, &miso, json!({"weight": {"value": 10, "unit": "lb"}, "bcs": {"score": 3.5, "scale": 5}})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(second["measurements"]["weight_kg"], 4.536);
    assert_eq!(second["measurements"]["weight_entered"], json!({"value": 10.0, "unit": "lb"}));
    assert_eq!(
        second["measurements"]["bcs"],
        json!({"score": 6, "scale": 9, "entered_score": 3.5, "entered_scale": 5})
    );
    // Vitals without a weight are not in the weight history.
    expect_json(take(&app, &miso, json!({"temperature_c": 38.6})).await, StatusCode::CREATED).await;

    let weights = app.get_json(&format!("/api/patients/{miso}/weights?limit=1")).await;
    assert_eq!(weights["items"][0]["vitals_id"], second["id"], "newest taken first");
    assert_eq!(weights["items"][0]["bcs"], 6);
    let cursor = weights["next_cursor"].as_str().unwrap();
    let rest = app.get_json(&format!("/api/patients/{miso}/weights?limit=1&cursor={cursor}")).await;
    assert_eq!(
        (rest["items"][0]["vitals_id"].clone(), rest["items"][0]["weight_kg"].clone()),
        (first["id"].clone(), json!(4.2))
    );
    assert_eq!(rest["next_cursor"], Value::Null);
    assert_eq!(page_ids(&app.get_json(&format!("/api/patients/{miso}/vitals")).await).len(), 3);
}

#[tokio::test]
async fn a_correction_is_an_amendment_with_a_reason_that_keeps_the_old_values() {
    let app = TestApp::signed_in().await;
    let miso = cat(&app).await;
    let v = expect_json(take(&app, &miso, json!({"weight": {"value": 5.4, "unit": "kg"}})).await, StatusCode::CREATED)
        .await;
    let path = format!("/api/vitals/{}/amendments", id_of(&v));
    let fixed = json!({"weight": {"value": 4.5, "unit": "kg"}});
    assert_error(
        app.post_json(&path, &json!({"reason": "", "measurements": fixed})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("reason"),
    )
    .await;
    let amended = expect_json(
        app.post_json(&path, &json!({"reason": "digits swapped", "measurements": fixed})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(amended["measurements"]["weight_kg"], 4.5);
    assert_eq!(amended["amendments"][0]["reason"], "digits swapped");
    assert_eq!(amended["amendments"][0]["previous"]["weight_kg"], 5.4);
    assert_eq!(amended["amendments"][0]["changed"], json!(["weight_kg", "weight_entered"]));
    assert_error(
        app.post_json(&format!("/api/vitals/{UNKNOWN_ID}/amendments"), &json!({"reason": "x", "measurements": fixed}))
            .await,
        StatusCode::NOT_FOUND,
        "vitals_not_found",
        None,
    )
    .await;
}

#[tokio::test]
async fn a_deceased_cat_gets_no_new_vitals() {
    let app = TestApp::signed_in().await;
    let miso = cat(&app).await;
    expect_json(app.patch_json(&format!("/api/patients/{miso}"), &json!({"status": "deceased"})).await, StatusCode::OK)
        .await;
    assert_error(
        take(&app, &miso, json!({"temperature_c": 38.5})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("patient_id"),
    )
    .await;
}

#[tokio::test]
async fn an_idempotency_key_replay_records_the_vitals_once() {
    let app = TestApp::signed_in().await;
    let miso = cat(&app).await;
    let body = json!({"patient_id": miso, "measurements": {"heart_rate": 190}});
    let send =
        || app.request(Method::POST, "/api/vitals").header("Idempotency-Key", "vitals-retry-1").json(&body).send();
    let first = send().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = send().await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"]);
    assert_eq!(page_ids(&app.get_json(&format!("/api/patients/{miso}/vitals")).await), [id_of(&first)]);

    let path = format!("/api/vitals/{}/amendments", id_of(&first));
    let fix = json!({"reason": "miscounted", "measurements": {"heart_rate": 180}});
    let amend = || app.request(Method::POST, &path).header("Idempotency-Key", "amend-retry-1").json(&fix).send();
    assert_eq!(amend().await.unwrap().status(), StatusCode::OK);
    let replay = amend().await.unwrap();
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(
        app.get_json(&format!("/api/vitals/{}", id_of(&first))).await["amendments"].as_array().unwrap().len(),
        1
    );
}

#[tokio::test]
async fn reads_are_audited_and_a_receptionist_sees_no_vitals_anywhere() {
    let app = TestApp::signed_in().await;
    let miso = cat(&app).await;
    let v = expect_json(take(&app, &miso, json!({"weight": {"value": 4.1, "unit": "kg"}})).await, StatusCode::CREATED)
        .await;
    app.get_json(&format!("/api/vitals/{}", id_of(&v))).await;
    app.get_json(&format!("/api/patients/{miso}/weights")).await;
    let audit = app
        .poll_json(&format!("/api/audit?record_id={}", id_of(&v)), |a| a["items"].as_array().unwrap().len() >= 2)
        .await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["vitals.read", "vitals.create"]);
    let lists = app.poll_json("/api/audit?action=vitals.list", |a| !a["items"].as_array().unwrap().is_empty()).await;
    assert_eq!(lists["items"][0]["detail"]["ids"], json!([id_of(&v)]));

    let front = staff_user(&app, "rita", &["receptionist"]).await;
    for path in [
        format!("/api/vitals/{}", id_of(&v)),
        format!("/api/patients/{miso}/weights"),
        format!("/api/patients/{miso}/vitals"),
    ] {
        let resp = app.anonymous(Method::GET, &path).bearer_auth(&front).send().await.unwrap();
        assert_error(resp, StatusCode::FORBIDDEN, "forbidden", None).await;
    }
    let page = app.anonymous(Method::GET, &format!("/patients/{miso}")).bearer_auth(&front).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(!html.contains("vitals-section") && !html.contains("weight-chart"), "{html}");
}

#[tokio::test]
async fn the_cat_page_draws_the_weight_chart_and_bcs_trend_for_record_readers() {
    let app = TestApp::signed_in().await;
    let miso = cat(&app).await;
    for (at, kg, bcs) in [("2025-01-05T15:00:00Z", 4.0, 5), ("2025-06-05T15:00:00Z", 4.6, 6)] {
        let body = json!({"patient_id": miso, "taken_at": at, "measurements": {"weight": {"value": kg, "unit": "kg"}, "bcs": {"score": bcs}}});
        expect_json(app.post_json("/api/vitals", &body).await, StatusCode::CREATED).await;
    }
    let tech = staff_user(&app, "tom", &["vet_tech"]).await;
    let page = app.anonymous(Method::GET, &format!("/patients/{miso}")).bearer_auth(&tech).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<svg id="weight-chart""#), "{html}");
    assert!(html.contains("<title>2025-06-05: 4.60 kg</title>"));
    assert!(html.contains(r#"<svg id="bcs-chart""#));
    assert!(html.contains("Weight 4.6 kg"), "the latest vitals are listed");
}

#[tokio::test]
async fn vitals_events_reach_record_readers_as_ids_only_and_never_a_receptionist() {
    let app = TestApp::signed_in().await;
    let miso = cat(&app).await;
    let topic = format!("patient:{miso}");
    let tech = staff_user(&app, "tom", &["vet_tech"]).await;
    let front = staff_user(&app, "rita", &["receptionist"]).await;
    let mut tech_ws = connect(&app, &tech).await;
    let mut front_ws = connect(&app, &front).await;
    for ws in [&mut tech_ws, &mut front_ws] {
        send(ws, json!({"op": "subscribe", "topics": [topic]})).await;
        assert_eq!(next(ws).await["type"], "subscribed");
    }
    let v = expect_json(take(&app, &miso, json!({"temperature_c": 40.5})).await, StatusCode::CREATED).await;
    let e = next(&mut tech_ws).await;
    assert_eq!(e["type"], "vitals_recorded");
    assert_eq!(
        e["data"],
        json!({"type": "vitals_recorded", "vitals_id": id_of(&v), "patient_id": miso, "changed": []})
    );
    // A change the receptionist may see comes next on the same topic; the vitals never did.
    expect_json(app.patch_json(&format!("/api/patients/{miso}"), &json!({"color": "tabby"})).await, StatusCode::OK)
        .await;
    let seen = next(&mut front_ws).await;
    assert_eq!(seen["type"], "patient_updated", "{seen}");
}
