//! `GET /api/patients/{id}/chart`: a cat's chart in one read. Each part answers what its own
//! endpoint answers the same caller (the problems, the latest vitals, the due list, the active
//! medications, the timeline's first page), from one snapshot and one audit entry; each part
//! follows its endpoint's access rule (a test per rule below).

use jiff::{SignedDuration, Timestamp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::access::staff_user;
use crate::helpers::{TestApp, assert_error, expect_json, id_of, page_ids};
use crate::visits::as_user;

/// A cat with three years of weights, problems of every status, a dose, two prescriptions
/// (one completed) and a visit; returns (client, cat).
async fn cat_with_history(app: &TestApp) -> (String, String) {
    let client = app.some_client("Ada", "Byron").await;
    let body = json!({"client_id": client, "name": "Miso", "date_of_birth": "2015-03-01"});
    let cat = id_of(&app.create_patient(body).await);
    let now: Timestamp = app.system.ctx.clock.now();
    // A weight every 30 days for three years, newest now.
    for i in 0..37 {
        let taken_at = now - SignedDuration::from_hours(24 * 30 * i);
        let body = json!({"patient_id": cat, "taken_at": taken_at,
            "measurements": {"weight": {"value": 4.0 + (i % 5) as f64 * 0.1, "unit": "kg"},
                             "bcs": {"score": 5, "scale": 9}, "heart_rate": 180}});
        expect_json(app.post_json("/api/vitals", &body).await, StatusCode::CREATED).await;
    }
    for (name, status) in [("Hyperthyroidism", "chronic"), ("Otitis externa", "active"), ("URI", "resolved")] {
        let mut body = json!({"patient_id": cat, "name": name, "status": status});
        if status == "resolved" {
            body["resolved_on"] = json!("2024-01-10");
            body["onset"] = json!("2024-01-01");
        }
        expect_json(app.post_json("/api/problems", &body).await, StatusCode::CREATED).await;
    }
    let dose = json!({"patient_id": cat, "vaccine": "fvrcp", "product": "Purevax RCP", "lot": "L1",
                      "given_on": "2024-03-01"});
    expect_json(app.post_json("/api/vaccinations", &dose).await, StatusCode::CREATED).await;
    let (token, vet_id) = crate::tablet::prescribing_vet(app, "dr.chart").await;
    let vet = crate::prescriptions::As { app, token };
    let rx = |drug: &str, form: &str, strength: f64, per_kg: f64| {
        json!({"patient_id": cat, "drug": drug, "form": form, "strength": strength, "dose_per_kg": per_kg,
               "route": "oral", "frequency": "q12h", "quantity": 10})
    };
    let done =
        expect_json(vet.post("/api/prescriptions", &rx("methimazole", "tablet", 2.5, 0.5)).await, StatusCode::CREATED)
            .await;
    let path = format!("/api/prescriptions/{}/complete", id_of(&done));
    expect_json(vet.post(&path, &json!({})).await, StatusCode::OK).await;
    let rx = rx("amoxicillin-clavulanate", "tablet", 62.5, 12.5);
    expect_json(vet.post("/api/prescriptions", &rx).await, StatusCode::CREATED).await;
    let walk_in = json!({"patient_id": cat, "vet_id": vet_id, "type": "sick", "chief_complaint": "Scratching ears"});
    expect_json(app.post_json("/api/visits", &walk_in).await, StatusCode::CREATED).await;
    (client, cat)
}

async fn get_as(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    as_user(app, token, Method::GET, path, None).await
}

#[tokio::test]
async fn the_chart_answers_what_the_separate_endpoints_answer_in_one_audited_read() {
    let app = TestApp::signed_in().await;
    let (client, cat) = cat_with_history(&app).await;
    let p = format!("/api/patients/{cat}");

    let chart = app.get_json(&format!("{p}/chart")).await;
    assert_eq!(chart["patient"]["id"], json!(cat));
    assert_eq!(chart["owner"]["id"], json!(client));
    // The chart's one audit entry, naming what it read; none of the separate lists' entries.
    let audit =
        app.poll_json(&format!("/api/audit?action=patient.chart&record_id={cat}"), |a| a["items"][0].is_object()).await;
    let detail = &audit["items"][0]["detail"];
    assert_eq!(detail["owner"], json!(client));
    assert!(detail["vitals"].as_array().unwrap().len() >= 3, "{detail}");
    for action in ["vitals.list", "problem.list", "vaccination.list", "prescription.list", "patient.timeline"] {
        let a = app.get_json(&format!("/api/audit?action={action}")).await;
        assert_eq!(a["items"].as_array().unwrap().len(), 0, "{action}: {a}");
    }

    // Each part equals its endpoint's answer.
    let problems = app.get_json(&format!("{p}/problems?status=current")).await;
    assert_eq!(ids_of(&chart["problems"]), page_ids(&problems));
    assert_eq!(chart["problems"].as_array().unwrap().len(), 2, "active and chronic, not resolved");
    let vitals = app.get_json(&format!("{p}/vitals?limit=3")).await;
    assert_eq!(ids_of(&chart["latest_vitals"]), page_ids(&vitals));
    let vaccinations = app.get_json(&format!("{p}/vaccinations")).await;
    let due: Vec<Value> =
        vaccinations["due"].as_array().unwrap().iter().filter(|d| d["status"] != "not_due").cloned().collect();
    assert!(!due.is_empty());
    assert_eq!(chart["vaccines"], json!(due));
    let active = app.get_json(&format!("{p}/prescriptions?status=active")).await;
    assert_eq!(ids_of(&chart["medications"]), page_ids(&active));
    assert_eq!(chart["medications"].as_array().unwrap().len(), 1, "the completed one is not active");
    let timeline = app.get_json(&format!("{p}/timeline?limit=20")).await;
    assert_eq!(chart["timeline"], timeline);
    assert!(timeline["next_cursor"].is_string(), "more than a page: the cursor continues it");

    // The trends: two years back from the newest weight, oldest first, at most 60 points.
    let weights = chart["weights"].as_array().unwrap();
    let at = |w: &Value| w["taken_at"].as_str().unwrap().parse::<Timestamp>().unwrap();
    let (first, last) = (at(&weights[0]), at(weights.last().unwrap()));
    assert!(first < last && first.duration_until(last) <= SignedDuration::from_hours(24 * 730), "{first} {last}");
    assert!((24..=26).contains(&weights.len()), "a weight a month for two years: {}", weights.len());
    assert_eq!(chart["bcs"].as_array().unwrap().len(), weights.len());
    let newest = app.get_json(&format!("{p}/weights?limit=1")).await;
    assert_eq!(weights.last().unwrap()["vitals_id"], newest["items"][0]["vitals_id"]);

    // Unknown cat.
    assert_error(
        app.get("/api/patients/01J0000000000000000000000A/chart").await,
        StatusCode::NOT_FOUND,
        "patient_not_found",
        None,
    )
    .await;
}

fn ids_of(items: &Value) -> Vec<String> {
    items.as_array().unwrap().iter().map(id_of).collect()
}

async fn custom_role(app: &TestApp, name: &str, grants: &[(&str, &str)]) {
    let grants: Vec<Value> = grants.iter().map(|(p, s)| json!({"permission": p, "scope": s})).collect();
    expect_json(app.post_json("/api/roles", &json!({"name": name, "grants": grants})).await, StatusCode::CREATED).await;
}

#[tokio::test]
async fn each_part_of_the_chart_follows_its_own_endpoints_rule() {
    let app = TestApp::signed_in().await;
    let (client, cat) = cat_with_history(&app).await;
    let p = format!("/api/patients/{cat}");
    let chart = format!("{p}/chart");

    // No visits:view (a receptionist): 403, as every record read.
    let rita = staff_user(&app, "rita", &["receptionist"]).await;
    assert_error(get_as(&app, &rita, &chart).await, StatusCode::FORBIDDEN, "forbidden", None).await;

    // A tech reads the record but not the prescriptions: no medications, none in the timeline.
    let tess = staff_user(&app, "tess", &["vet_tech"]).await;
    assert_eq!(get_as(&app, &tess, &format!("{p}/prescriptions")).await.status(), StatusCode::FORBIDDEN);
    let c = expect_json(get_as(&app, &tess, &chart).await, StatusCode::OK).await;
    assert!(c["medications"].is_null(), "{c}");
    let t = expect_json(get_as(&app, &tess, &format!("{p}/timeline?limit=20")).await, StatusCode::OK).await;
    assert_eq!(c["timeline"], t);
    assert!(!t.to_string().contains("\"prescription\""), "no prescription in a tech's timeline");
    assert_eq!(c["owner"]["id"], json!(client), "a tech reads clients");

    // visits:view at scope `own`: no timeline (its endpoint refuses it); no clients:view: no owner.
    custom_role(&app, "own_record", &[("visits:view", "own"), ("patients:view", "all")]).await;
    let olga = staff_user(&app, "olga", &["own_record"]).await;
    assert_eq!(get_as(&app, &olga, &format!("{p}/timeline")).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(get_as(&app, &olga, &format!("/api/clients/{client}")).await.status(), StatusCode::FORBIDDEN);
    let c = expect_json(get_as(&app, &olga, &chart).await, StatusCode::OK).await;
    assert!(c["timeline"].is_null() && c["owner"].is_null() && c["medications"].is_null(), "{c}");
    assert_eq!(c["problems"].as_array().unwrap().len(), 2, "the record's other parts are read");

    // clients:view at scope `own`: the owner only when this user registered them;
    // prescriptions:view at scope `own`: the medications, but no prescription in the timeline.
    custom_role(
        &app,
        "own_clients",
        &[
            ("visits:view", "all"),
            ("patients:view", "all"),
            ("patients:create", "all"),
            ("clients:view", "own"),
            ("clients:create", "all"),
            ("prescriptions:view", "own"),
        ],
    )
    .await;
    let otto = staff_user(&app, "otto", &["own_clients"]).await;
    let c = expect_json(get_as(&app, &otto, &chart).await, StatusCode::OK).await;
    assert!(c["owner"].is_null(), "someone else's client: {c}");
    let active =
        expect_json(get_as(&app, &otto, &format!("{p}/prescriptions?status=active")).await, StatusCode::OK).await;
    assert_eq!(ids_of(&c["medications"]), page_ids(&active));
    let t = c["timeline"]["items"].to_string();
    assert!(!t.contains("\"prescription\"") && t.contains("\"visit\""), "{t}");
    let res =
        as_user(&app, &otto, Method::POST, "/api/clients", Some(&crate::helpers::client_body("Own", "Client"))).await;
    let mine = id_of(&expect_json(res, StatusCode::CREATED).await);
    let res =
        as_user(&app, &otto, Method::POST, "/api/patients", Some(&json!({"client_id": mine, "name": "Pip"}))).await;
    let pip = id_of(&expect_json(res, StatusCode::CREATED).await);
    let c = expect_json(get_as(&app, &otto, &format!("/api/patients/{pip}/chart")).await, StatusCode::OK).await;
    assert_eq!(c["owner"]["id"], json!(mine), "their own client shows");

    // patients:view at scope `own`: someone else's cat is refused, as GET /api/patients/{id}.
    custom_role(&app, "own_cats", &[("visits:view", "all"), ("patients:view", "own")]).await;
    let opal = staff_user(&app, "opal", &["own_cats"]).await;
    assert_eq!(get_as(&app, &opal, &p).await.status(), StatusCode::FORBIDDEN);
    assert_error(get_as(&app, &opal, &chart).await, StatusCode::FORBIDDEN, "forbidden", None).await;
    // visits:view without patients:view: the banner cannot be read, so neither can the chart.
    custom_role(&app, "record_only", &[("visits:view", "all")]).await;
    let rob = staff_user(&app, "rob", &["record_only"]).await;
    assert_error(get_as(&app, &rob, &chart).await, StatusCode::FORBIDDEN, "forbidden", None).await;
}
