//! Consent forms through HTTP: the seeded templates, a new template version that a form made
//! before keeps, a form made for a visit (text filled and frozen), signed with a drawn PNG
//! into a PDF filed as a `consent` document (read back with pdftotext and checked for an
//! embedded image), a treatment-estimate form filled from the estimate's option; and bad
//! input: signing twice, signing a voided form, a non-PNG, oversize or blank signature, an
//! empty signer name, editing after signing, an unknown placeholder, an unknown visit, an
//! estimate of another cat, a caller without the medical record, and another clinic's form.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::calendar::Clinic;
use crate::helpers::{TestApp, UNKNOWN_ID, assert_error, expect_json, id_of, page_ids, pdf_text};
use crate::visits::walk_in;

/// A `w` × `h` transparent PNG with `strokes` dark diagonal strokes: a drawn signature.
pub(crate) fn signature_png(w: u32, h: u32, strokes: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgba);
    enc.set_depth(png::BitDepth::Eight);
    let mut pixels = vec![0u8; (w * h * 4) as usize];
    for s in 0..strokes {
        for x in 0..w {
            let y = (x / 3 + s * 7) % h;
            let at = ((y * w + x) * 4) as usize;
            pixels[at..at + 4].copy_from_slice(&[20, 20, 60, 255]);
        }
    }
    let mut writer = enc.write_header().unwrap();
    writer.write_image_data(&pixels).unwrap();
    writer.finish().unwrap();
    out
}

fn data_url(png: &[u8]) -> String {
    use base64::Engine;
    format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png))
}

fn sign_body(name: &str, png: &[u8]) -> Value {
    json!({"signer_name": name, "relationship": "owner", "signature": data_url(png)})
}

/// The seeded template of `kind`.
async fn template(app: &TestApp, kind: &str) -> Value {
    let page = app.get_json(&format!("/api/consent-templates?kind={kind}")).await;
    page["items"][0].clone()
}

async fn visit(c: &Clinic, cat: &str) -> String {
    id_of(&expect_json(c.app.post_json("/api/visits", &walk_in(cat, &c.vet)).await, StatusCode::CREATED).await)
}

async fn new_form(c: &Clinic, body: Value) -> Value {
    expect_json(c.app.post_json("/api/consent-forms", &body).await, StatusCode::CREATED).await
}

async fn pdf_of(app: &TestApp, document_id: &str) -> Vec<u8> {
    let res = app.get(&format!("/api/documents/{document_id}/content")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    res.bytes().await.unwrap().to_vec()
}

/// Images embedded in a PDF, as poppler's `pdfimages -list` lists them (`None`: no poppler).
fn pdf_images(pdf: &[u8]) -> Option<usize> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signed.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdfimages").arg("-list").arg(&path).output().ok()?;
    assert!(out.status.success());
    // Two header lines, then one line per image; a transparent PNG's alpha is a second
    // line of type `smask`, not another image.
    let list = String::from_utf8_lossy(&out.stdout).into_owned();
    Some(list.lines().skip(2).filter(|l| l.split_whitespace().nth(2) == Some("image")).count())
}

#[tokio::test]
async fn an_anaesthesia_consent_is_filled_for_a_visit_signed_once_and_filed_as_a_pdf() {
    let c = Clinic::new().await;
    let t = template(&c.app, "anaesthesia").await;
    assert_eq!(t["version"], 1);
    let visit = visit(&c, &c.cat).await;
    let form = new_form(
        &c,
        json!({"template_id": id_of(&t), "visit_id": visit, "procedure": "Dental cleaning with extractions"}),
    )
    .await;
    assert_eq!((form["status"].as_str(), form["client_id"].as_str()), (Some("draft"), Some(c.client.as_str())));
    let text = form["text"].as_str().unwrap();
    assert!(text.contains("Jon Smith") && text.contains("Mittens"), "{text}");
    assert!(text.contains("Dental cleaning with extractions") && text.contains("Ben Vet"), "{text}");
    assert!(!text.contains('{'), "every placeholder is filled: {text}");
    let id = id_of(&form);

    // A new version of the template does not change the form made before.
    let edited = expect_json(
        c.app.patch_json(&format!("/api/consent-templates/{}", id_of(&t)), &json!({"body": "Short: {cat}."})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(edited["version"], 2);
    let fixed = expect_json(
        c.app.patch_json(&format!("/api/consent-forms/{id}"), &json!({"procedure": "Dental cleaning"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(fixed["template_version"], 1);
    assert!(fixed["text"].as_str().unwrap().contains("general anaesthesia"), "still version 1's wording");

    // Signed once, with a retry of the same request answered the same.
    let sign = || {
        c.app
            .request(Method::POST, &format!("/api/consent-forms/{id}/sign"))
            .header("idempotency-key", "sign-1")
            .json(&sign_body("Jon Smith", &signature_png(600, 200, 4)))
            .send()
    };
    let signed = expect_json(sign().await.unwrap(), StatusCode::OK).await;
    assert_eq!(signed["status"], "signed");
    let s = &signed["signature"];
    assert_eq!((s["signer_name"].as_str(), s["relationship"].as_str()), (Some("Jon Smith"), Some("owner")));
    assert_eq!(s["witness_name"], "admin");
    let again = expect_json(sign().await.unwrap(), StatusCode::OK).await;
    assert_eq!(again["signature"]["document_id"], s["document_id"], "the retry is the first answer");

    // The PDF is a consent document of the visit's cat and owner.
    let doc = c.app.get_json(&format!("/api/documents/{}", s["document_id"].as_str().unwrap())).await;
    assert_eq!((doc["category"].as_str(), doc["patient_id"].as_str()), (Some("consent"), Some(c.cat.as_str())));
    assert_eq!(doc["visit_id"].as_str(), Some(visit.as_str()));
    let consents = c.app.get_json(&format!("/api/documents?patient_id={}&category=consent", c.cat)).await;
    assert_eq!(page_ids(&consents), [id_of(&doc)]);
    let pdf = pdf_of(&c.app, &id_of(&doc)).await;
    if let Some(text) = pdf_text(&pdf) {
        assert!(text.contains("Consent to anaesthesia and procedure"), "{text}");
        assert!(text.contains("Jon Smith") && text.contains("Dental cleaning"), "{text}");
        assert!(text.contains("Witness") && text.contains("admin"), "{text}");
    }
    if let Some(n) = pdf_images(&pdf) {
        assert_eq!(n, 1, "the drawn signature is embedded");
    }

    // Nothing changes after signing.
    let fresh = sign_body("Jon Smith", &signature_png(600, 200, 5));
    let res = c.app.post_json(&format!("/api/consent-forms/{id}/sign"), &fresh).await;
    assert_error(res, StatusCode::CONFLICT, "consent_form_signed", None).await;
    let res = c.app.patch_json(&format!("/api/consent-forms/{id}"), &json!({"procedure": "Spay"})).await;
    assert_error(res, StatusCode::CONFLICT, "consent_form_signed", None).await;
    let res = c.app.post_json(&format!("/api/consent-forms/{id}/void"), &json!({"reason": "wrong"})).await;
    assert_error(res, StatusCode::CONFLICT, "consent_form_signed", None).await;
    let listed = c.app.get_json(&format!("/api/consent-forms?visit_id={visit}")).await;
    assert_eq!(page_ids(&listed), [id]);
    let docs = c.app.get_json(&format!("/api/documents?patient_id={}", c.cat)).await;
    assert_eq!(page_ids(&docs).len(), 1, "one PDF for one signature");
}

#[tokio::test]
async fn a_treatment_estimate_consent_takes_the_options_low_and_high() {
    let c = Clinic::new().await;
    let visit = visit(&c, &c.cat).await;
    let estimate = expect_json(
        c.app
            .post_json(
                "/api/estimates",
                &json!({"client_id": c.client, "patient_id": c.cat, "options": [
                    {"name": "Dental", "lines": [{"description": "Dental", "unit_price_low": 30000, "unit_price_high": 45050}]},
                ]}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    let t = template(&c.app, "treatment_estimate").await;
    let without = c.app.post_json("/api/consent-forms", &json!({"template_id": id_of(&t), "visit_id": visit})).await;
    assert_error(without, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("estimate_id")).await;
    let form =
        new_form(&c, json!({"template_id": id_of(&t), "visit_id": visit, "estimate_id": id_of(&estimate)})).await;
    let text = form["text"].as_str().unwrap();
    assert!(text.contains("between 300.00 and 450.50"), "{text}");
    assert_eq!(form["estimate_option"], 1);

    // An estimate of another cat.
    let other = expect_json(
        c.app
            .post_json(
                "/api/estimates",
                &json!({"client_id": c.client2, "patient_id": c.cat2, "options": [{"name": "a"}]}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    let res = c
        .app
        .post_json(
            "/api/consent-forms",
            &json!({"template_id": id_of(&t), "visit_id": visit, "estimate_id": id_of(&other)}),
        )
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("estimate_id")).await;
}

#[tokio::test]
async fn bad_signatures_and_forms_are_refused_and_change_nothing() {
    let c = Clinic::new().await;
    let t = template(&c.app, "euthanasia").await;
    let visit = visit(&c, &c.cat).await;
    let body = json!({"template_id": id_of(&t), "visit_id": visit});
    let id = id_of(&new_form(&c, body.clone()).await);
    let sign = |b: Value| {
        let path = format!("/api/consent-forms/{id}/sign");
        let app = &c.app;
        async move { app.post_json(&path, &b).await }
    };
    let invalid = StatusCode::UNPROCESSABLE_ENTITY;
    let good = signature_png(400, 150, 3);
    // Not a PNG (a GIF dressed as one), blank, too large, too wide, an empty name.
    let gif = json!({"signer_name": "Jon", "relationship": "owner", "signature": format!("data:image/png;base64,R0lGODlhAQABAAAAACw=")});
    assert_error(sign(gif).await, invalid, "validation_failed", Some("signature")).await;
    let svg = json!({"signer_name": "Jon", "relationship": "owner", "signature": "data:image/svg+xml;base64,PHN2Zz4="});
    assert_error(sign(svg).await, invalid, "validation_failed", Some("signature")).await;
    let blank = signature_png(400, 150, 0);
    let e = assert_error(sign(sign_body("Jon", &blank)).await, invalid, "validation_failed", Some("signature")).await;
    assert!(e["message"].as_str().unwrap().contains("blank"), "{e}");
    let mut huge = signature_png(1900, 900, 200);
    huge.extend(std::iter::repeat_n(0u8, 300 * 1024));
    assert_error(sign(sign_body("Jon", &huge)).await, invalid, "validation_failed", Some("signature")).await;
    let wide = signature_png(2400, 40, 3);
    assert_error(sign(sign_body("Jon", &wide)).await, invalid, "validation_failed", Some("signature")).await;
    assert_error(sign(sign_body("  ", &good)).await, invalid, "validation_failed", Some("signer_name")).await;
    let form = c.app.get_json(&format!("/api/consent-forms/{id}")).await;
    assert_eq!(form["status"], "draft", "nothing was signed");
    let docs = c.app.get_json(&format!("/api/documents?patient_id={}", c.cat)).await;
    assert!(page_ids(&docs).is_empty(), "no PDF was filed");

    // A voided form cannot be signed.
    let voided = id_of(&new_form(&c, body.clone()).await);
    let res = c.app.post_json(&format!("/api/consent-forms/{voided}/void"), &json!({"reason": "owner declined"})).await;
    assert_eq!(expect_json(res, StatusCode::OK).await["status"], "voided");
    let res = c.app.post_json(&format!("/api/consent-forms/{voided}/sign"), &sign_body("Jon", &good)).await;
    assert_error(res, StatusCode::CONFLICT, "consent_form_voided", None).await;

    // An unknown placeholder, an unknown visit, an unknown form.
    let res = c
        .app
        .post_json("/api/consent-templates", &json!({"kind": "other", "title": "Photos", "body": "Dear {owner_name}"}))
        .await;
    let e = assert_error(res, invalid, "validation_failed", Some("body")).await;
    assert!(e["message"].as_str().unwrap().contains("{owner_name}"), "{e}");
    let res = c.app.post_json("/api/consent-forms", &json!({"template_id": id_of(&t), "visit_id": UNKNOWN_ID})).await;
    assert_error(res, StatusCode::NOT_FOUND, "visit_not_found", None).await;
    let res = c.app.post_json(&format!("/api/consent-forms/{UNKNOWN_ID}/sign"), &sign_body("Jon", &good)).await;
    assert_error(res, StatusCode::NOT_FOUND, "consent_form_not_found", None).await;
}

#[tokio::test]
async fn a_form_is_not_shown_to_who_may_not_read_the_record_nor_to_another_clinic() {
    let c = Clinic::new().await;
    let t = template(&c.app, "anaesthesia").await;
    let visit = visit(&c, &c.cat).await;
    let id = id_of(&new_form(&c, json!({"template_id": id_of(&t), "visit_id": visit})).await);
    let path = format!("/api/consent-forms/{id}");
    // No session at all (a client at the tablet signed out), then a receptionist.
    assert_eq!(c.app.anonymous(Method::GET, &path).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let token = crate::access::staff_user(&c.app, "front", &["receptionist"]).await;
    let res = c.app.anonymous(Method::GET, &path).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = c
        .app
        .anonymous(Method::POST, &format!("{path}/sign"))
        .bearer_auth(&token)
        .json(&sign_body("Jon", &signature_png(400, 150, 3)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Another clinic's server does not know the form.
    let other = TestApp::signed_in().await;
    assert_error(other.get(&path).await, StatusCode::NOT_FOUND, "consent_form_not_found", None).await;
    let res = other.get(&format!("/api/consent-forms?patient_id={}", c.cat)).await;
    assert!(page_ids(&expect_json(res, StatusCode::OK).await).is_empty());
}

#[tokio::test]
async fn the_signing_page_shows_a_draft_to_sign_and_a_signed_form_read_only_with_its_pdf() {
    let c = Clinic::new().await;
    let t = template(&c.app, "anaesthesia").await;
    let visit = visit(&c, &c.cat).await;
    // The visit page offers the templates and, once made, lists the form with its status.
    let html = c.app.get(&format!("/visits/{visit}")).await.text().await.unwrap();
    assert!(html.contains(r#"id="consent-start""#) && html.contains(&format!(r#"value="{}""#, id_of(&t))), "{html}");
    let id = id_of(&new_form(&c, json!({"template_id": id_of(&t), "visit_id": visit, "procedure": "Spay <b>"})).await);
    let html = c.app.get(&format!("/visits/{visit}")).await.text().await.unwrap();
    assert!(html.contains(&format!(r#"href="/consents/{id}/sign""#)) && html.contains(r#"data-status="Draft""#));

    let path = format!("/consents/{id}/sign");
    let res = c.app.get(&path).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains(r#"<canvas id="signature-pad""#) && html.contains("Jon Smith"), "{html}");
    assert!(html.contains("Spay &#60;b&#62;") && !html.contains("Spay <b>"), "the procedure typed is text");
    let signed = expect_json(
        c.app
            .post_json(&format!("/api/consent-forms/{id}/sign"), &sign_body("Jon Smith", &signature_png(600, 200, 4)))
            .await,
        StatusCode::OK,
    )
    .await;
    let html = c.app.get(&path).await.text().await.unwrap();
    assert!(!html.contains("signature-pad"), "read-only once signed");
    let pdf = format!("/api/documents/{}/content", signed["signature"]["document_id"].as_str().unwrap());
    assert!(html.contains(&format!(r#"href="{pdf}""#)) && html.contains("by Jon Smith (owner)"), "{html}");

    // Bad ids and callers: a page, never a crash or another record.
    let res = c.app.get(&format!("/consents/{UNKNOWN_ID}/sign")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(c.app.get("/consents/not-an-id/sign").await.status().is_client_error());
    let token = crate::access::staff_user(&c.app, "front.sign", &["receptionist"]).await;
    let res = c.app.anonymous(Method::GET, &path).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let other = TestApp::signed_in().await;
    assert_eq!(other.get(&path).await.status(), StatusCode::NOT_FOUND, "another clinic's form is unknown");
}
