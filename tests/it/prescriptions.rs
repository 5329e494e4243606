//! Prescriptions end to end: the dose arithmetic from the cat's newest weight, no weight →
//! 422 asking for one, a user whose staff profile cannot prescribe → 403 naming
//! `can_prescribe`, feline-toxic drugs refused, NSAID with CKD needing a written override,
//! refills down to 409, active medications first, `Idempotency-Key` replay, 1 MB text.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::access::{NEW_PASSWORD, staff_user_with_id};
use crate::helpers::{TestApp, assert_error, expect_json, id_of};

/// A signed-in user and their bearer token.
pub(crate) struct As<'a> {
    pub app: &'a TestApp,
    pub token: String,
}

impl As<'_> {
    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.app.anonymous(Method::POST, path).bearer_auth(&self.token).json(body).send().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.app.anonymous(Method::GET, path).bearer_auth(&self.token).send().await.unwrap()
    }
}

/// A veterinarian with a staff profile (that can prescribe, or not) and a PIN.
pub(crate) async fn staff_vet<'a>(
    app: &'a TestApp,
    username: &str,
    can_prescribe: bool,
    pin: &str,
) -> (As<'a>, String) {
    let (token, user_id) = staff_user_with_id(app, username, &["veterinarian"]).await;
    let profile = json!({
        "user_id": user_id, "first_name": "Ana", "last_name": username, "position": "veterinarian",
        "capabilities": {"can_prescribe": can_prescribe}
    });
    expect_json(app.post_json("/api/staff", &profile).await, StatusCode::CREATED).await;
    let res = app
        .anonymous(Method::PUT, "/api/auth/pin")
        .bearer_auth(&token)
        .json(&json!({"password": NEW_PASSWORD, "pin": pin}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    (As { app, token }, user_id)
}

pub(crate) async fn weigh(app: &TestApp, patient: &str, kg: f64) -> String {
    let body = json!({"patient_id": patient, "measurements": {"weight": {"value": kg, "unit": "kg"}}});
    id_of(&expect_json(app.post_json("/api/vitals", &body).await, StatusCode::CREATED).await)
}

pub(crate) fn meloxicam(patient: &str) -> Value {
    json!({
        "patient_id": patient, "drug": "meloxicam", "form": "suspension", "strength": 0.5,
        "dose_per_kg": 0.05, "route": "oral", "frequency": "q24h", "quantity": 10
    })
}

#[tokio::test]
async fn prescribing_shows_the_arithmetic_and_refuses_what_is_unsafe() {
    let app = TestApp::signed_in().await;
    let client = app.some_client("Ada", "Byron").await;
    let cat = app.some_patient(&client, "Miso").await;
    let (vet, _) = staff_vet(&app, "dr.lee", true, "2580").await;

    // No weight on record: asked for, never assumed.
    let e = assert_error(
        vet.post("/api/prescriptions", &meloxicam(&cat)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("weight"),
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("no weight on record"), "{e}");

    let vitals = weigh(&app, &cat, 4.2).await;
    // The administrator holds prescriptions:create but has no staff profile that can prescribe.
    let e = assert_error(
        app.post_json("/api/prescriptions", &meloxicam(&cat)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("can_prescribe"), "{e}");
    assert_eq!(e["details"]["capability"], "can_prescribe");
    // A vet whose profile says they cannot prescribe: the same.
    let (no_rx, _) = staff_vet(&app, "dr.new", false, "3691").await;
    let e = assert_error(
        no_rx.post("/api/prescriptions", &meloxicam(&cat)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    )
    .await;
    assert_eq!(e["details"]["capability"], "can_prescribe");

    let p = expect_json(vet.post("/api/prescriptions", &meloxicam(&cat)).await, StatusCode::CREATED).await;
    assert_eq!(p["dose"]["shown"], "0.05 mg/kg × 4.2 kg = 0.21 mg; 0.21 mg ÷ 0.5 mg/mL = 0.42 mL");
    assert_eq!(p["dose"]["amount"], 0.42);
    assert_eq!(p["weight_vitals_id"], vitals.as_str());
    assert_eq!(p["warnings"], json!([]));
    assert_eq!(p["status"], "active");

    // A second NSAID while the first is active would be a severe interaction: stop it first.
    expect_json(
        vet.post(&format!("/api/prescriptions/{}/cancel", id_of(&p)), &json!({"reason": "vomited"})).await,
        StatusCode::OK,
    )
    .await;
    // Outside the feline range: prescribed, with a warning naming the range.
    let mut high = meloxicam(&cat);
    high["dose_per_kg"] = json!(0.3);
    let p2 = expect_json(vet.post("/api/prescriptions", &high).await, StatusCode::CREATED).await;
    assert_eq!(p2["warnings"][0]["kind"], "dose_range");
    assert!(p2["warnings"][0]["message"].as_str().unwrap().contains("0.05–0.1 mg/kg"), "{p2}");

    // Feline-toxic drugs are refused.
    for toxic in ["acetaminophen", "paracetamol", "permethrin"] {
        let mut body = meloxicam(&cat);
        body["drug"] = json!(toxic);
        let e = assert_error(
            vet.post("/api/prescriptions", &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some("drug"),
        )
        .await;
        assert!(e["message"].as_str().unwrap().contains("toxic to cats"), "{e}");
    }

    // Text fields of 1 MB are refused before anything is written.
    let mut big = meloxicam(&cat);
    big["instructions"] = json!("x".repeat(1_000_000));
    let status = vet.post("/api/prescriptions", &big).await.status();
    assert!(status == StatusCode::PAYLOAD_TOO_LARGE || status == StatusCode::UNPROCESSABLE_ENTITY, "{status}");

    // Active medications first.
    let list = expect_json(vet.get(&format!("/api/patients/{cat}/prescriptions")).await, StatusCode::OK).await;
    let statuses: Vec<&str> = list["items"].as_array().unwrap().iter().map(|p| p["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["active", "cancelled"]);
}

#[tokio::test]
async fn an_nsaid_for_a_cat_with_ckd_needs_a_written_override_that_is_audited() {
    let app = TestApp::signed_in().await;
    let client = app.some_client("Ada", "Byron").await;
    let cat = app.some_patient(&client, "Miso").await;
    let (vet, _) = staff_vet(&app, "dr.lee", true, "2580").await;
    weigh(&app, &cat, 4.2).await;
    let problem = json!({"patient_id": cat, "name": "Chronic kidney disease, IRIS stage 2", "status": "chronic"});
    expect_json(app.post_json("/api/problems", &problem).await, StatusCode::CREATED).await;

    let body = json!({
        "patient_id": cat, "drug": "Onsior", "form": "tablet", "strength": 6,
        "dose_per_kg": 1, "route": "oral", "frequency": "q24h", "quantity": 3
    });
    let e = assert_error(
        vet.post("/api/prescriptions", &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("override_reason"),
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("kidney"), "{e}");
    let mut body = body;
    body["override_reason"] = json!("Stable IRIS 2; 3 days only; recheck creatinine on day 5");
    let p = expect_json(vet.post("/api/prescriptions", &body).await, StatusCode::CREATED).await;
    assert_eq!(p["warnings"][0]["kind"], "nsaid_ckd");
    assert_eq!(p["override_reason"], "Stable IRIS 2; 3 days only; recheck creatinine on day 5");
    assert!(p["dose"]["shown"].as_str().unwrap().contains("→ 1 tablet (whole only)"), "{p}");
    let audit = app.get_json("/api/audit?action=prescription.create_override").await;
    assert_eq!(audit["items"][0]["record_id"], p["id"], "{audit}");

    // A severe interaction with that active NSAID: shown, and needs a reason too.
    let pred = json!({
        "patient_id": cat, "drug": "prednisolone", "form": "tablet", "strength": 5,
        "dose_per_kg": 1, "route": "oral", "frequency": "q24h", "quantity": 10
    });
    let e = assert_error(
        vet.post("/api/prescriptions", &pred).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("override_reason"),
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("severe interaction with Robenacoxib"), "{e}");
}

#[tokio::test]
async fn refills_run_down_to_409_and_a_retried_prescription_is_made_once() {
    let app = TestApp::signed_in().await;
    let client = app.some_client("Ada", "Byron").await;
    let cat = app.some_patient(&client, "Miso").await;
    let (vet, _) = staff_vet(&app, "dr.lee", true, "2580").await;
    weigh(&app, &cat, 4.2).await;
    let mut body = meloxicam(&cat);
    body["refills_allowed"] = json!(1);
    let send = || {
        app.anonymous(Method::POST, "/api/prescriptions")
            .bearer_auth(&vet.token)
            .header("Idempotency-Key", "rx-4d1c")
            .json(&body)
            .send()
    };
    let first = expect_json(send().await.unwrap(), StatusCode::CREATED).await;
    let again = send().await.unwrap();
    assert_eq!(again.headers().get("idempotent-replayed").unwrap(), "true");
    assert_eq!(expect_json(again, StatusCode::CREATED).await["id"], first["id"]);
    let list = expect_json(vet.get(&format!("/api/patients/{cat}/prescriptions")).await, StatusCode::OK).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    let path = format!("/api/prescriptions/{}/refill", id_of(&first));
    let p = expect_json(vet.post(&path, &json!({})).await, StatusCode::OK).await;
    assert_eq!(p["refills_remaining"], 0);
    assert_error(vet.post(&path, &json!({})).await, StatusCode::CONFLICT, "no_refills_left", None).await;
}

#[tokio::test]
async fn prescriptions_join_the_timeline_only_for_who_may_read_them() {
    let app = TestApp::signed_in().await;
    let client = app.some_client("Ada", "Byron").await;
    let cat = app.some_patient(&client, "Miso").await;
    let (vet, _) = staff_vet(&app, "dr.time", true, "2580").await;
    weigh(&app, &cat, 4.0).await;
    let rx = expect_json(vet.post("/api/prescriptions", &meloxicam(&cat)).await, StatusCode::CREATED).await;
    let timeline = format!("/api/patients/{cat}/timeline");
    let kinds = |v: &Value| {
        v["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };

    let seen = expect_json(vet.get(&timeline).await, StatusCode::OK).await;
    assert_eq!(kinds(&seen), ["prescription", "vitals"], "{seen}");
    assert_eq!(seen["items"][0]["prescription_id"], id_of(&rx).as_str());
    assert_eq!(seen["items"][0]["drug_name"], rx["drug_name"]);

    // A vet tech reads the record (`visits:view`) but not prescriptions.
    let (token, _) = staff_user_with_id(&app, "tech.time", &["vet_tech"]).await;
    let tech = As { app: &app, token };
    let seen = expect_json(tech.get(&timeline).await, StatusCode::OK).await;
    assert_eq!(kinds(&seen), ["vitals"], "{seen}");
}
