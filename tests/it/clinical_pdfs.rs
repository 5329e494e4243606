//! The medical record's printed documents read back with poppler: the clinic's logo set by
//! upload (`PUT /api/settings/logo`, checked by content) and printed in the letterhead, and a
//! cat's vaccination certificate (owner, identity, each dose with its lot and expiry, the next
//! due date, the vet's licence; refusals left out), its permission, its audit and its errors.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::access::staff_user_with_id;
use crate::helpers::{TestApp, UNKNOWN_ID, assert_error, expect_json, id_of, pdf_text};
use crate::visits::as_user;

/// A `w` × `h` grey PNG (flate2 compresses and sums it).
fn png(w: u32, h: u32) -> Vec<u8> {
    use std::io::Write;
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend(kind);
        out.extend(data);
        out.extend(crc.sum().to_be_bytes());
    }
    let raw: Vec<u8> = (0..h).flat_map(|_| std::iter::once(0).chain((0..w).map(|x| (x * 7) as u8))).collect();
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&raw).unwrap();
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let ihdr = [w.to_be_bytes(), h.to_be_bytes()].concat();
    chunk(&mut out, b"IHDR", &[&ihdr[..], &[8, 0, 0, 0, 0]].concat());
    chunk(&mut out, b"IDAT", &z.finish().unwrap());
    chunk(&mut out, b"IEND", &[]);
    out
}

/// The clinic's local date (the test server's zone).
fn today() -> String {
    clowder_actors::Clock::now(&clowder_actors::SystemClock).in_tz("America/New_York").unwrap().date().to_string()
}

async fn put_logo(app: &TestApp, bytes: Vec<u8>) -> reqwest::Response {
    app.request(Method::PUT, "/api/settings/logo").header("content-type", "image/png").body(bytes).send().await.unwrap()
}

/// The number of images poppler finds in `pdf` (`None` without poppler).
fn images(pdf: &[u8]) -> Option<usize> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("document.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdfimages").arg("-list").arg(&path).output().ok()?;
    assert!(out.status.success());
    // Two header lines, then one line per image.
    Some(String::from_utf8_lossy(&out.stdout).lines().count().saturating_sub(2))
}

async fn pdf(app: &TestApp, path: &str) -> Vec<u8> {
    let res = app.get(path).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment; filename="));
    let bytes = res.bytes().await.unwrap().to_vec();
    assert!(bytes.starts_with(b"%PDF"));
    bytes
}

/// A clinic with a named, addressed letterhead; signed in as the admin.
async fn clinic() -> TestApp {
    let app = TestApp::spawn_with(|a| a.comms.clinic_name = Some("Clinique Féline Ångström".into())).await;
    app.login_admin().await;
    app
}

/// A veterinarian who may prescribe, with a staff profile and a licence.
struct Vet {
    token: String,
    user: String,
    staff: String,
}

async fn licensed_vet(app: &TestApp) -> Vet {
    let (token, user) = staff_user_with_id(app, "dr.zoe", &["veterinarian"]).await;
    let profile = json!({
        "user_id": user, "first_name": "Zoë", "last_name": "Müller", "position": "veterinarian",
        "licence": {"number": "VET-12345", "state": "NY", "expires_on": "2030-12-31"},
        "capabilities": {"can_prescribe": true}
    });
    let staff = id_of(&expect_json(app.post_json("/api/staff", &profile).await, StatusCode::CREATED).await);
    Vet { token, user, staff }
}

/// An owner with an address and their cat with every identity field.
async fn cat(app: &TestApp) -> String {
    let client = app
        .create_client(json!({"first_name": "Zoë", "last_name": "Dvořák", "phone": "(503) 555-0199",
            "address": {"line1": "12 Rue des Chats", "city": "Montréal", "region": "QC", "postal_code": "H2X 1Y4"}}))
        .await;
    id_of(
        &app.create_patient(json!({
            "client_id": id_of(&client), "name": "Bijou Ångström", "breed": "Chartreux", "color": "Blue-grey",
            "sex": "female", "reproductive_status": "spayed", "date_of_birth": "2019-04-01",
            "microchip": "985 141 000 123 456",
            "behavior_notes": "INTERNAL-BEHAVIOUR bites when restrained"
        }))
        .await,
    )
}

fn dose(patient: &str, vaccine: &str, given_on: &str, lot: &str, vet: &str) -> Value {
    json!({"patient_id": patient, "vaccine": vaccine, "product": "Purevax RCP", "manufacturer": "Boehringer Ingelheim",
           "lot": lot, "expiry": "2031-01-31", "given_on": given_on, "route": "subcutaneous",
           "site": "left hind limb, distal", "given_by": vet, "label_years": if vaccine == "rabies" { Some(3) } else { None }})
}

#[tokio::test]
async fn the_logo_is_uploaded_checked_by_content_and_printed_on_every_pdf() {
    let app = clinic().await;
    assert_error(app.get("/api/settings/logo").await, StatusCode::NOT_FOUND, "not_found", None).await;
    let patient = cat(&app).await;
    let path = format!("/api/patients/{patient}/vaccination-certificate.pdf");
    let without = pdf(&app, &path).await;
    if let Some(n) = images(&without) {
        assert_eq!(n, 0, "no logo yet");
    }

    let logo = png(120, 40);
    let info = expect_json(put_logo(&app, logo.clone()).await, StatusCode::OK).await;
    assert_eq!((info["content_type"].as_str(), info["size"].as_u64()), (Some("image/png"), Some(logo.len() as u64)));
    assert_eq!(app.get_json("/api/settings/logo").await["size"], info["size"]);
    let img = app.get("/api/settings/logo.img").await;
    assert_eq!(img.headers()["content-type"], "image/png");
    assert_eq!(img.bytes().await.unwrap().to_vec(), logo);
    let with = pdf(&app, &path).await;
    if let Some(n) = images(&with) {
        assert_eq!(n, 1, "the logo is in the letterhead");
    }
    let audit = app.get_json("/api/audit?action=settings.logo_update").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");

    // Refused by content: an executable named as an image, a damaged PNG, one too big, an
    // empty body. The stored logo is unchanged by each.
    for bad in [b"MZ\x90\x00\x03\x00\x00\x00".to_vec(), b"\x89PNG\r\n\x1a\nnot really".to_vec(), Vec::new()] {
        assert_error(put_logo(&app, bad).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("logo"))
            .await;
    }
    let mut big = png(120, 40);
    big.resize(600 * 1024, 0);
    assert_error(put_logo(&app, big).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("logo")).await;
    assert_error(put_logo(&app, vec![0; 2 << 20]).await, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", None)
        .await;
    assert_eq!(app.get_json("/api/settings/logo").await["size"], info["size"]);

    // Only those who configure the clinic change it; anyone signed in reads it.
    let (token, _) = staff_user_with_id(&app, "front", &["receptionist"]).await;
    let res =
        app.anonymous(Method::PUT, "/api/settings/logo").bearer_auth(&token).body(png(10, 10)).send().await.unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "forbidden", None).await;
    let res = app.anonymous(Method::GET, "/api/settings/logo").bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    assert_eq!(app.delete("/api/settings/logo").await.status(), StatusCode::NO_CONTENT);
    assert_error(app.get("/api/settings/logo").await, StatusCode::NOT_FOUND, "not_found", None).await;
    if let Some(n) = images(&pdf(&app, &path).await) {
        assert_eq!(n, 0, "removed");
    }
}

#[tokio::test]
async fn a_vaccination_certificate_lists_each_dose_with_its_lot_and_the_vet_s_licence() {
    let app = clinic().await;
    let vet = licensed_vet(&app).await.user;
    let patient = cat(&app).await;
    for (vaccine, on, lot) in
        [("fvrcp", "2024-03-01", "L-2231A"), ("rabies", "2024-03-01", "R-77Ü"), ("fvrcp", "2025-03-03", "L-9981B")]
    {
        let body = dose(&patient, vaccine, on, lot, &vet);
        expect_json(app.post_json("/api/vaccinations", &body).await, StatusCode::CREATED).await;
    }
    let declined = json!({"patient_id": patient, "vaccine": "felv", "reason": "indoor-only, owner prefers not"});
    expect_json(app.post_json("/api/vaccinations/declined", &declined).await, StatusCode::CREATED).await;
    let due = app.get_json(&format!("/api/patients/{patient}/vaccinations")).await;
    let next_fvrcp = due["due"].as_array().unwrap().iter().find(|i| i["vaccine"] == "fvrcp").unwrap()["due_on"]
        .as_str()
        .unwrap()
        .to_owned();

    // The cat's page links it and the record summary.
    let page = app.get(&format!("/patients/{patient}")).await.text().await.unwrap();
    for href in ["vaccination-certificate.pdf", "record-summary.pdf"] {
        assert!(page.contains(&format!("/api/patients/{patient}/{href}")), "{href} not linked:\n{page}");
    }
    let bytes = pdf(&app, &format!("/api/patients/{patient}/vaccination-certificate.pdf")).await;
    let audit = app.get_json("/api/audit?action=vaccination.certificate_pdf").await;
    let entry = &audit["items"][0];
    assert_eq!(entry["record_id"], patient.as_str(), "{audit}");
    assert_eq!(entry["detail"]["doses"], 3);
    let Some(text) = pdf_text(&bytes) else { return };
    for expected in [
        "Clinique Féline Ångström",
        "Vaccination certificate",
        "Zoë Dvořák",
        "12 Rue des Chats",
        "Montréal",
        "Bijou Ångström",
        "Cat (Felis catus)",
        "Chartreux",
        "Female, spayed",
        "Blue-grey",
        "2019-04-01",
        "985141000123456",
        "2024-03-01",
        "2025-03-03",
        "Purevax RCP",
        "Boehringer",
        "L-2231A",
        "R-77Ü",
        "L-9981B",
        "2031-01-31",
        "SC",
        "left hind",
        &next_fvrcp,
        "Dr. Zoë Müller",
        "VET-12345 (NY)",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from:\n{text}");
    }
    // Refusals are not printed on a certificate of what was given.
    assert!(!text.contains("indoor-only"), "{text}");
    // The next due date is printed once per vaccine, on its latest dose.
    assert_eq!(text.matches(next_fvrcp.as_str()).count(), 1, "{text}");
    assert!(text.contains("Page 1 of 1"), "{text}");
}

#[tokio::test]
async fn a_vaccination_certificate_needs_visits_view_and_a_known_cat() {
    let app = clinic().await;
    let patient = cat(&app).await;
    // No dose yet: still a certificate, saying so, with blank signature lines (no vet known).
    let bytes = pdf(&app, &format!("/api/patients/{patient}/vaccination-certificate.pdf")).await;
    if let Some(text) = pdf_text(&bytes) {
        assert!(text.contains("No vaccination is recorded for this cat."), "{text}");
        assert!(text.contains("______"), "{text}");
    }
    let unknown = format!("/api/patients/{UNKNOWN_ID}/vaccination-certificate.pdf");
    assert_error(app.get(&unknown).await, StatusCode::NOT_FOUND, "patient_not_found", None).await;
    assert_error(
        app.get("/api/patients/nonsense/vaccination-certificate.pdf").await,
        StatusCode::NOT_FOUND,
        "patient_not_found",
        None,
    )
    .await;
    let (token, _) = staff_user_with_id(&app, "front", &["receptionist"]).await;
    let res = app
        .anonymous(Method::GET, &format!("/api/patients/{patient}/vaccination-certificate.pdf"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::FORBIDDEN, "forbidden", None).await;
}

/// A walk-in visit of `cat` with `vet`: weighed and examined (a vitals staff note), with a
/// drafted note whose subjective and objective are internal to the record.
async fn examined(app: &TestApp, vet: &Vet, cat: &str) -> String {
    let body = json!({"patient_id": cat, "vet_id": vet.staff, "type": "wellness",
                      "chief_complaint": "Check-up before boarding — Zoë's trip"});
    let visit = id_of(&expect_json(app.post_json("/api/visits", &body).await, StatusCode::CREATED).await);
    let vitals = json!({"patient_id": cat, "visit_id": visit, "measurements": {
        "weight": {"value": 4.2, "unit": "kg"}, "temperature_c": 38.6, "heart_rate": 180, "respiratory_rate": 28,
        "notes": "INTERNAL-VITALS hissed at the tech"}});
    expect_json(app.post_json("/api/vitals", &vitals).await, StatusCode::CREATED).await;
    let draft = json!({"revision": 1, "subjective": "INTERNAL-HISTORY owner unsure of diet",
        "objective": "Bright, alert, responsive; mild dental tartar", "assessment": "Healthy adult cat; gingivitis grade 1",
        "plan": "Dental diet; brush teeth daily; recheck in 6 months"});
    let res = as_user(app, &vet.token, Method::PUT, &format!("/api/visits/{visit}/note/draft"), Some(&draft)).await;
    expect_json(res, StatusCode::OK).await;
    visit
}

#[tokio::test]
async fn the_visit_summary_shows_the_owner_what_was_found_and_prescribed_and_nothing_internal() {
    let app = clinic().await;
    let vet = licensed_vet(&app).await;
    let patient = cat(&app).await;
    let visit = examined(&app, &vet, &patient).await;
    let path = format!("/api/visits/{visit}/summary.pdf");

    // Before signing: the draft is never printed.
    let bytes = pdf(&app, &path).await;
    if let Some(text) = pdf_text(&bytes) {
        assert!(text.contains("will follow once"), "{text}");
        assert!(!text.contains("gingivitis") && !text.contains("Dental diet"), "{text}");
    }
    let res =
        as_user(&app, &vet.token, Method::POST, &format!("/api/visits/{visit}/note/sign"), Some(&json!({}))).await;
    expect_json(res, StatusCode::CREATED).await;
    let addendum = json!({"text": "INTERNAL-ADDENDUM corrected the tartar grade"});
    let res =
        as_user(&app, &vet.token, Method::POST, &format!("/api/visits/{visit}/note/addenda"), Some(&addendum)).await;
    expect_json(res, StatusCode::CREATED).await;
    let rx = json!({"patient_id": patient, "visit_id": visit, "drug": "meloxicam", "form": "suspension", "strength": 0.5,
        "dose_per_kg": 0.05, "route": "oral", "frequency": "every 24 hours", "duration_days": 5, "quantity": 10,
        "instructions": "Give with food; shake well"});
    expect_json(as_user(&app, &vet.token, Method::POST, "/api/prescriptions", Some(&rx)).await, StatusCode::CREATED)
        .await;
    let mut given = dose(&patient, "fvrcp", &today(), "L-5", &vet.user);
    given["visit_id"] = json!(visit);
    expect_json(app.post_json("/api/vaccinations", &given).await, StatusCode::CREATED).await;

    let bytes = pdf(&app, &path).await;
    let audit = app.get_json("/api/audit?action=visit.summary_pdf").await;
    assert_eq!(audit["items"][0]["record_id"], visit.as_str(), "{audit}");
    let Some(text) = pdf_text(&bytes) else { return };
    for expected in [
        "Visit summary",
        "Bijou Ångström",
        "Zoë Dvořák",
        "Dr. Zoë Müller",
        "Check-up before boarding — Zoë's trip",
        "4.2 kg",
        "38.6 °C",
        "180 /min",
        "Healthy adult cat; gingivitis grade 1",
        "Dental diet; brush teeth daily; recheck in 6 months",
        "Meloxicam",
        "by mouth every 24 hours",
        "Give with food; shake well",
        "Purevax RCP",
        "Next due",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from:\n{text}");
    }
    for internal in ["INTERNAL", "owner unsure", "Bright, alert", "bites", "hissed", "corrected the tartar"] {
        assert!(!text.contains(internal), "{internal:?} is internal, yet printed:\n{text}");
    }
}

#[tokio::test]
async fn the_health_certificate_needs_the_signed_note_and_prints_the_findings_and_the_vet_s_licence() {
    let app = clinic().await;
    let vet = licensed_vet(&app).await;
    let patient = cat(&app).await;
    expect_json(
        app.post_json("/api/vaccinations", &dose(&patient, "rabies", "2025-01-10", "R-1", &vet.user)).await,
        StatusCode::CREATED,
    )
    .await;
    let visit = examined(&app, &vet, &patient).await;
    let path = format!("/api/visits/{visit}/health-certificate.pdf");
    assert_error(app.get(&path).await, StatusCode::CONFLICT, "note_unsigned", None).await;
    // The visit's page links the summary at once, the certificate once the note is signed.
    let page = app.get(&format!("/visits/{visit}")).await.text().await.unwrap();
    assert!(page.contains(&format!("/api/visits/{visit}/summary.pdf")) && !page.contains(&path), "{page}");
    let res =
        as_user(&app, &vet.token, Method::POST, &format!("/api/visits/{visit}/note/sign"), Some(&json!({}))).await;
    expect_json(res, StatusCode::CREATED).await;
    assert!(app.get(&format!("/visits/{visit}")).await.text().await.unwrap().contains(&path));

    let bytes = pdf(&app, &path).await;
    let audit = app.get_json("/api/audit?action=visit.health_certificate_pdf").await;
    assert_eq!(audit["items"][0]["record_id"], visit.as_str(), "{audit}");
    if let Some(text) = pdf_text(&bytes) {
        let today = today();
        for expected in [
            "Health certificate",
            "Bijou Ångström",
            "985141000123456",
            "Date of examination",
            &today,
            "4.2 kg",
            "38.6 °C",
            "Bright, alert, responsive; mild dental tartar",
            "Vaccination status",
            "2025-01-10",
            "free of clinical signs",
            "Dr. Zoë Müller",
            "VET-12345 (NY)",
        ] {
            assert!(text.contains(expected), "{expected:?} missing from:\n{text}");
        }
        assert!(!text.contains("INTERNAL"), "{text}");
    }

    // Errors: unknown and malformed ids, a voided visit, a role without visits:view.
    let unknown = format!("/api/visits/{UNKNOWN_ID}/health-certificate.pdf");
    assert_error(app.get(&unknown).await, StatusCode::NOT_FOUND, "visit_not_found", None).await;
    let unknown = format!("/api/visits/{UNKNOWN_ID}/summary.pdf");
    assert_error(app.get(&unknown).await, StatusCode::NOT_FOUND, "visit_not_found", None).await;
    assert_error(app.get("/api/visits/x/summary.pdf").await, StatusCode::NOT_FOUND, "visit_not_found", None).await;
    let (token, _) = staff_user_with_id(&app, "front", &["receptionist"]).await;
    let res = as_user(&app, &token, Method::GET, &path, None).await;
    assert_error(res, StatusCode::FORBIDDEN, "forbidden", None).await;
    let other = examined(&app, &vet, &patient).await;
    let res = app.post_json(&format!("/api/visits/{other}/void"), &json!({"reason": "opened by mistake"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.get(&format!("/api/visits/{other}/summary.pdf")).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("id")).await;
}

#[tokio::test]
async fn the_record_summary_prints_the_signed_record_with_addenda_for_a_period_and_is_audited_as_an_export() {
    let app = clinic().await;
    let vet = licensed_vet(&app).await;
    let patient = cat(&app).await;
    let problem = json!({"patient_id": patient, "name": "Chronic kidney disease — IRIS 2", "type": "primary", "status": "chronic"});
    expect_json(app.post_json("/api/problems", &problem).await, StatusCode::CREATED).await;
    expect_json(
        app.post_json("/api/vaccinations", &dose(&patient, "rabies", "2025-01-10", "R-1", &vet.user)).await,
        StatusCode::CREATED,
    )
    .await;
    let signed = examined(&app, &vet, &patient).await;
    let res =
        as_user(&app, &vet.token, Method::POST, &format!("/api/visits/{signed}/note/sign"), Some(&json!({}))).await;
    expect_json(res, StatusCode::CREATED).await;
    let addendum = json!({"text": "Addendum: T4 62 nmol/L — Zoë"});
    let res =
        as_user(&app, &vet.token, Method::POST, &format!("/api/visits/{signed}/note/addenda"), Some(&addendum)).await;
    expect_json(res, StatusCode::CREATED).await;
    let unsigned = examined(&app, &vet, &patient).await;
    let draft = json!({"revision": 2, "assessment": "DRAFT-ONLY never printed"});
    let res = as_user(&app, &vet.token, Method::PUT, &format!("/api/visits/{unsigned}/note/draft"), Some(&draft)).await;
    expect_json(res, StatusCode::OK).await;

    let path = format!("/api/patients/{patient}/record-summary.pdf");
    let bytes = pdf(&app, &path).await;
    let audit = app.get_json("/api/audit?action=patient.record_export").await;
    let entry = &audit["items"][0];
    assert_eq!(
        (entry["record_id"].as_str(), entry["detail"]["visits"].as_u64()),
        (Some(patient.as_str()), Some(2)),
        "{audit}"
    );
    if let Some(text) = pdf_text(&bytes) {
        for expected in [
            "Medical record summary",
            "the whole record",
            "Bijou Ångström",
            "Zoë Dvořák",
            "INTERNAL-BEHAVIOUR",
            "Chronic kidney disease — IRIS 2",
            "R-1",
            "4.2 kg",
            "Visits (2)",
            "INTERNAL-HISTORY owner unsure of diet",
            "Bright, alert, responsive; mild dental tartar",
            "Healthy adult cat; gingivitis grade 1",
            "Addendum 1",
            "T4 62 nmol/L — Zoë",
            "Dr. Zoë Müller",
            "not signed",
        ] {
            assert!(text.contains(expected), "{expected:?} missing from:\n{text}");
        }
        assert!(!text.contains("DRAFT-ONLY"), "{text}");
    }

    // A period before any visit: none listed; bad ranges refused in the house format.
    let bytes = pdf(&app, &format!("{path}?from=2001-01-01&to=2001-12-31")).await;
    if let Some(text) = pdf_text(&bytes) {
        assert!(text.contains("Visits (0)") && text.contains("2001-01-01 to 2001-12-31"), "{text}");
    }
    let res = app.get(&format!("{path}?from=2025-02-01&to=2025-01-01")).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("to")).await;
    let res = app.get(&format!("{path}?from=yesterday")).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = format!("/api/patients/{UNKNOWN_ID}/record-summary.pdf");
    assert_error(app.get(&unknown).await, StatusCode::NOT_FOUND, "patient_not_found", None).await;
}

#[tokio::test]
async fn a_prescription_label_prints_on_the_label_sheet_with_directions_and_the_prescriber() {
    let app = clinic().await;
    let vet = licensed_vet(&app).await;
    let patient = cat(&app).await;
    let visit = examined(&app, &vet, &patient).await;
    let rx = json!({"patient_id": patient, "visit_id": visit, "drug": "meloxicam", "form": "suspension", "strength": 0.5,
        "dose_per_kg": 0.05, "route": "oral", "frequency": "every 24 hours", "duration_days": 5, "quantity": 10,
        "refills_allowed": 2, "instructions": "Give with food; shake well"});
    let rx = expect_json(
        as_user(&app, &vet.token, Method::POST, "/api/prescriptions", Some(&rx)).await,
        StatusCode::CREATED,
    )
    .await;
    let id = id_of(&rx);
    let bytes = pdf(&app, &format!("/api/prescriptions/{id}/label.pdf")).await;
    let audit = app.get_json("/api/audit?action=prescription.label_pdf").await;
    assert_eq!(audit["items"][0]["record_id"], id.as_str(), "{audit}");
    if let Some(text) = pdf_text(&bytes) {
        for expected in [
            "Clinique Féline Ångström",
            "Bijou Ångström (Zoë Dvořák)",
            "eloxicam 0.5 mg/mL suspension",
            "by mouth every 24 hours for 5 days",
            "Give with food; shake well",
            "Qty 10 mL · Refills 2",
            "Prescribed by Dr. Zoë Müller",
            "For veterinary use only",
        ] {
            assert!(text.contains(expected), "{expected:?} missing from:\n{text}");
        }
    }
    let unknown = format!("/api/prescriptions/{UNKNOWN_ID}/label.pdf");
    assert_error(app.get(&unknown).await, StatusCode::NOT_FOUND, "prescription_not_found", None).await;
    let (token, _) = staff_user_with_id(&app, "front", &["receptionist"]).await;
    let res = as_user(&app, &token, Method::GET, &format!("/api/prescriptions/{id}/label.pdf"), None).await;
    assert_error(res, StatusCode::FORBIDDEN, "forbidden", None).await;
}

async fn batch(app: &TestApp, body: &Value) -> Value {
    let res = app.post_json("/api/print-batches", body).await;
    let started = expect_json(res, StatusCode::ACCEPTED).await;
    assert_eq!(started["status"], "running");
    app.poll_json(&format!("/api/print-batches/{}", id_of(&started)), |b| b["status"] == "done").await
}

#[tokio::test]
async fn a_print_batch_prints_a_selection_into_one_pdf_and_reports_what_it_could_not() {
    let app = clinic().await;
    let vet = licensed_vet(&app).await;
    let first = cat(&app).await;
    let client = app.some_client("Ana", "Łukasiewicz").await;
    let second = id_of(&app.create_patient(json!({"client_id": client, "name": "Mimi Čapek"})).await);
    expect_json(
        app.post_json("/api/vaccinations", &dose(&second, "rabies", "2025-01-10", "R-77", &vet.user)).await,
        StatusCode::CREATED,
    )
    .await;

    // Patient labels: two cats, an unknown id and something that is no id.
    let done =
        batch(&app, &json!({"kind": "patient_labels", "ids": [first, second, UNKNOWN_ID, "../etc/passwd"]})).await;
    assert_eq!(
        (done["total"].as_u64(), done["done"].as_u64(), done["printed"].as_u64()),
        (Some(4), Some(4), Some(2)),
        "{done}"
    );
    let failed = done["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 2, "{done}");
    assert!(failed.iter().all(|f| f["code"] == "not_found"), "{done}");
    assert_eq!(failed[0]["id"], UNKNOWN_ID);
    let bytes = pdf(&app, done["file"].as_str().unwrap()).await;
    if let Some(text) = pdf_text(&bytes) {
        for expected in ["Bijou Ångström", "Zoë Dvořák", "985141000123456", "Mimi Čapek", "Ana Łukasiewicz"] {
            assert!(text.contains(expected), "{expected:?} missing from:\n{text}");
        }
    }
    let audit = app.get_json("/api/audit?action=print.batch_file").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");

    // Certificates: one after the other, each numbered on its own.
    let done = batch(&app, &json!({"kind": "vaccination_certificates", "ids": [first, second]})).await;
    assert_eq!(done["printed"], 2, "{done}");
    let bytes = pdf(&app, done["file"].as_str().unwrap()).await;
    if let Some(text) = pdf_text(&bytes) {
        assert_eq!(text.matches("Vaccination certificate").count(), 2, "{text}");
        assert_eq!(text.matches("Page 1 of 1").count(), 2, "{text}");
        assert!(text.contains("R-77") && text.contains("Mimi Čapek"), "{text}");
    }

    // Nothing printable: done, every id reported, no file.
    let done = batch(&app, &json!({"kind": "prescription_labels", "ids": [UNKNOWN_ID]})).await;
    assert_eq!((done["printed"].as_u64(), done["file"].as_str()), (Some(0), None), "{done}");
    let res = app.get(&format!("/api/print-batches/{}/file", id_of(&done))).await;
    assert_error(res, StatusCode::NOT_FOUND, "job_not_found", None).await;
}

#[tokio::test]
async fn a_print_batch_refuses_bad_selections_and_kinds_the_caller_may_not_read() {
    let app = clinic().await;
    let patient = cat(&app).await;
    let many: Vec<String> = (0..501).map(|_| patient.clone()).collect();
    for (body, field) in
        [(json!({"kind": "patient_labels", "ids": []}), "ids"), (json!({"kind": "patient_labels", "ids": many}), "ids")]
    {
        assert_error(
            app.post_json("/api/print-batches", &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some(field),
        )
        .await;
    }
    let res = app.post_json("/api/print-batches", &json!({"kind": "tattoos", "ids": [patient]})).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = app.get(&format!("/api/print-batches/{UNKNOWN_ID}")).await;
    assert_error(res, StatusCode::NOT_FOUND, "job_not_found", None).await;

    // A receptionist prints patient labels, not certificates or prescription labels.
    let (token, _) = staff_user_with_id(&app, "front", &["receptionist"]).await;
    for kind in ["vaccination_certificates", "prescription_labels"] {
        let body = json!({"kind": kind, "ids": [patient]});
        let res = as_user(&app, &token, Method::POST, "/api/print-batches", Some(&body)).await;
        assert_error(res, StatusCode::FORBIDDEN, "forbidden", None).await;
    }
    let body = json!({"kind": "patient_labels", "ids": [patient]});
    let res = as_user(&app, &token, Method::POST, "/api/print-batches", Some(&body)).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);

    // A retried request is the same batch.
    let send = || {
        app.request(Method::POST, "/api/print-batches")
            .header("Idempotency-Key", "print-once-1")
            .json(&json!({"kind": "patient_labels", "ids": [patient]}))
            .send()
    };
    let a = expect_json(send().await.unwrap(), StatusCode::ACCEPTED).await;
    let b = expect_json(send().await.unwrap(), StatusCode::ACCEPTED).await;
    assert_eq!(a["id"], b["id"]);
}
