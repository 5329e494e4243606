//! The controlled-drug register end to end: a bottle received, an administration witnessed
//! by another user's PIN (none, a wrong PIN, oneself → 422), a use above the balance refused,
//! a reversal (once), a stock count that differs logging a discrepancy, the CSV export, and
//! an `Idempotency-Key` replay writing one entry.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, expect_json, id_of};
use crate::prescriptions::staff_vet;

fn witness(username: &str, pin: &str) -> Value {
    json!({"username": username, "pin": pin})
}

#[tokio::test]
async fn the_register_keeps_a_witnessed_running_balance_corrected_only_by_reversals() {
    let app = TestApp::signed_in().await;
    let client = app.some_client("Ada", "Byron").await;
    let cat = app.some_patient(&client, "Miso").await;
    let (vet, _) = staff_vet(&app, "dr.lee", true, "2580").await;
    let (_witness, _) = staff_vet(&app, "dr.kim", false, "4826").await;

    let receipt = json!({
        "drug": "buprenorphine", "form": "injectable", "strength": 0.3, "lot": "B12345",
        "quantity": 10, "expires_on": "2030-01-31", "witness": witness("dr.kim", "4826")
    });
    // Not a controlled drug; no witness; a wrong PIN; oneself as witness.
    let mut bad = receipt.clone();
    bad["drug"] = json!("meloxicam");
    bad["form"] = json!("suspension");
    bad["strength"] = json!(0.5);
    assert_error(
        vet.post("/api/controlled/containers", &bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("drug"),
    )
    .await;
    let mut bad = receipt.clone();
    bad.as_object_mut().unwrap().remove("witness");
    assert_error(
        vet.post("/api/controlled/containers", &bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("witness"),
    )
    .await;
    bad["witness"] = witness("dr.kim", "9999");
    assert_error(
        vet.post("/api/controlled/containers", &bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("witness.pin"),
    )
    .await;
    bad["witness"] = witness("dr.lee", "2580");
    assert_error(
        vet.post("/api/controlled/containers", &bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("witness.username"),
    )
    .await;

    let bottle = expect_json(vet.post("/api/controlled/containers", &receipt).await, StatusCode::CREATED).await;
    assert_eq!(bottle["balance"], 10.0);
    assert_eq!(bottle["unit"], "mL");
    let uses = format!("/api/controlled/containers/{}/uses", id_of(&bottle));

    let give =
        json!({"kind": "administration", "patient_id": cat, "quantity": 0.27, "witness": witness("dr.kim", "4826")});
    let send = || {
        app.anonymous(Method::POST, &uses)
            .bearer_auth(&vet.token)
            .header("Idempotency-Key", "cd-0001")
            .json(&give)
            .send()
    };
    let given = expect_json(send().await.unwrap(), StatusCode::OK).await;
    assert_eq!(given["balance"], 9.73);
    let replay = send().await.unwrap();
    assert_eq!(replay.headers().get("idempotent-replayed").unwrap(), "true");
    let entry = given["entries"][0].clone();
    assert_eq!((entry["kind"].as_str(), entry["change"].as_f64()), (Some("administration"), Some(-0.27)));
    assert_eq!(entry["witness_name"], "dr.kim");

    // No witness on a use; more than remains.
    let mut bad = give.clone();
    bad.as_object_mut().unwrap().remove("witness");
    assert_error(vet.post(&uses, &bad).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("witness"))
        .await;
    let mut bad = give.clone();
    bad["quantity"] = json!(50);
    assert_error(vet.post(&uses, &bad).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("quantity"))
        .await;

    // A correction is a reversal entry, once.
    let reversal = format!("/api/controlled/entries/{}/reversal", id_of(&entry));
    let body = json!({"reason": "drawn up, not given: cat fractious", "witness": witness("dr.kim", "4826")});
    let r = expect_json(vet.post(&reversal, &body).await, StatusCode::OK).await;
    assert_eq!((r["balance"].as_f64(), r["entries"][0]["reverses"].as_str()), (Some(10.0), entry["id"].as_str()));
    assert_error(vet.post(&reversal, &body).await, StatusCode::CONFLICT, "duplicate_value", Some("id")).await;

    // A count that differs needs a reason and logs a discrepancy; the balance follows it.
    let counts = format!("/api/controlled/containers/{}/counts", id_of(&bottle));
    let count = json!({"counted": 9.9, "witness": witness("dr.kim", "4826")});
    assert_error(
        vet.post(&counts, &count).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("reason"),
    )
    .await;
    let mut count = count;
    count["reason"] = json!("meniscus reading; 0.1 mL short");
    let c = expect_json(vet.post(&counts, &count).await, StatusCode::OK).await;
    let kinds: Vec<&str> = c["entries"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["count", "discrepancy"]);
    assert_eq!(c["balance"], 9.9);

    // The container reads back whole; the register exports as CSV, one line per entry.
    let view =
        expect_json(vet.get(&format!("/api/controlled/containers/{}", id_of(&bottle))).await, StatusCode::OK).await;
    assert_eq!(view["entries"].as_array().unwrap().len(), 5);
    let res = vet.get("/api/controlled/register.csv?from=2000-01-01&to=2100-01-01").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 6, "{csv}");
    assert!(lines[0].starts_with("entry_id,recorded_at,drug"));
    assert!(lines[2].contains(",administration,-0.27,9.73,mL,"), "{}", lines[2]);
    assert!(lines[3].contains("\"drawn up, not given: cat fractious\""), "{}", lines[3]);
}
