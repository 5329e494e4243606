//! The controlled-drug register as PDF, read back with a real PDF tool: entries recorded
//! through the API (witnessed by PIN), `GET /api/controlled/register.pdf` downloaded, then
//! poppler's `pdfinfo` (a valid PDF, several pages, Letter landscape) and `pdftotext -layout`
//! (the letterhead, accented names, quantities and balances, the table header on every page,
//! "Page 2 of N", the totals). Also its errors, its permission and its audit entry.
//!
//! `scripts/test` installs poppler-utils (Debian) when missing and sets `CLOWDER_PDF_TESTS=1`,
//! which makes a missing `pdftotext` a failure; a plain `cargo test` without it skips the
//! reading with a message (the download and its checks still run).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, expect_json, id_of};
use crate::prescriptions::staff_vet;

fn witness() -> Value {
    json!({"username": "dr.kim", "pin": "4826"})
}

/// Runs a poppler tool on `pdf`, or `None` (after saying so) when poppler is not installed and
/// not required.
fn poppler(tool: &str, args: &[&str], pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("register.pdf");
    std::fs::write(&path, pdf).unwrap();
    let mut cmd = std::process::Command::new(tool);
    cmd.args(args).arg(&path);
    // pdftotext writes to a file named after the PDF unless told `-` (standard output).
    if tool == "pdftotext" {
        cmd.arg("-");
    }
    match cmd.output() {
        Ok(out) => {
            assert!(out.status.success(), "{tool} failed: {}", String::from_utf8_lossy(&out.stderr));
            Some(String::from_utf8(out.stdout).expect("UTF-8 output"))
        }
        Err(e) => {
            assert!(
                std::env::var("CLOWDER_PDF_TESTS").is_err(),
                "{tool} was not found ({e}); scripts/test installs Debian's poppler-utils"
            );
            eprintln!("skipping the PDF reading: run scripts/test to install poppler-utils");
            None
        }
    }
}

#[tokio::test]
async fn the_register_pdf_reads_back_with_every_entry_accents_and_numbered_pages() {
    let app = TestApp::spawn_with(|args| {
        args.comms.clinic_name = Some("Clinique Féline Ångström".into());
        args.comms.clinic_phone = Some("(514) 555-0199".into());
    })
    .await;
    app.login_admin().await;
    // The clinic's first location (made at first start) gets its address.
    let locations = app.get_json("/api/locations").await;
    let main = locations.as_array().unwrap().iter().find(|l| l["name"] == "Main clinic").expect("the first location");
    let address = json!({"address": "12 Rue des Chats, Montréal QC"});
    expect_json(app.patch_json(&format!("/api/locations/{}", id_of(main)), &address).await, StatusCode::OK).await;
    let client = app.some_client("Zoë", "Müller").await;
    let cat = app.some_patient(&client, "Ångström").await;
    let (vet, _) = staff_vet(&app, "dr.lee", true, "2580").await;
    let _ = staff_vet(&app, "dr.kim", false, "4826").await;

    let receipt = json!({
        "drug": "buprenorphine", "form": "injectable", "strength": 0.3, "lot": "B12345",
        "quantity": 10, "expires_on": "2030-01-31", "supplier": "Bärenapotheke", "witness": witness()
    });
    let bottle = expect_json(vet.post("/api/controlled/containers", &receipt).await, StatusCode::CREATED).await;
    let uses = format!("/api/controlled/containers/{}/uses", id_of(&bottle));
    // Enough entries, some with long notes that wrap, to run over several pages.
    let mut first_use = None;
    for i in 0..40 {
        let note = if i % 4 == 0 {
            format!("dose {i}: premedication before dental cleaning, drawn up by the technician, checked twice")
        } else {
            format!("dose {i}")
        };
        let give =
            json!({"kind": "administration", "patient_id": cat, "quantity": 0.1, "note": note, "witness": witness()});
        let r = expect_json(vet.post(&uses, &give).await, StatusCode::OK).await;
        first_use.get_or_insert(r["entries"][0].clone());
    }
    let first_use = first_use.unwrap();
    let body = json!({"reason": "drawn up, not given: cat fractious", "witness": witness()});
    let reversal = format!("/api/controlled/entries/{}/reversal", id_of(&first_use));
    expect_json(vet.post(&reversal, &body).await, StatusCode::OK).await;
    let counts = format!("/api/controlled/containers/{}/counts", id_of(&bottle));
    let count = json!({"counted": 6.0, "reason": "meniscus reading", "witness": witness()});
    let counted = expect_json(vet.post(&counts, &count).await, StatusCode::OK).await;
    assert_eq!(counted["balance"], 6.0);

    let res = vet.get("/api/controlled/register.pdf?from=2000-01-01&to=2100-01-01").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert_eq!(
        res.headers()["content-disposition"],
        "attachment; filename=\"controlled-register-2000-01-01-2100-01-01.pdf\""
    );
    assert!(res.headers()["cache-control"].to_str().unwrap().contains("no-store"));
    let pdf = res.bytes().await.unwrap().to_vec();
    assert!(pdf.starts_with(b"%PDF-"), "a PDF file");

    // The export is audited, saying it was the PDF.
    let audit = app.get_json("/api/audit?action=controlled.export_pdf").await;
    let items = audit["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{audit}");
    assert_eq!(items[0]["detail"]["entries"], 44, "{audit}");

    let Some(info) = poppler("pdfinfo", &[], &pdf) else { return };
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .map(|n| n.trim().parse().unwrap())
        .unwrap_or_else(|| panic!("pdfinfo names the pages: {info}"));
    assert!(pages >= 2, "44 entries with long notes run over pages: {info}");
    // US Letter (country code 1), landscape.
    assert!(info.contains("Page size:       792 x 612 pts (letter)"), "{info}");
    assert!(info.contains("Title:           Controlled-drug register"), "{info}");

    let text = poppler("pdftotext", &["-layout", "-enc", "UTF-8"], &pdf).unwrap();
    for s in [
        "Clinique Féline Ångström",
        "12 Rue des Chats, Montréal QC",
        "Tel. (514) 555-0199",
        "Controlled-drug register",
        "Buprenorphine — schedule III",
        "lot B12345",
        "from Bärenapotheke",
        "Ångström (Zoë Müller)",
        "Receipt",
        "Reversal",
        "Reverses the administration of",
        "meniscus reading",
        "counted 6",
        "Brought forward",
        "Totals",
        "Generated ",
        "(America/New_York) for dr.lee",
    ] {
        assert!(text.contains(s), "{s:?} not in the register:\n{text}");
    }
    // The running balance: 10 received, 40 × 0.1 given, 0.1 reversed, 6 counted.
    let lines: Vec<&str> = text.lines().collect();
    let row = |needle: &str| lines.iter().find(|l| l.contains(needle)).copied().unwrap_or_default();
    assert!(row("dose 0:").contains("−0.1") && row("dose 0:").contains("9.9"), "{}", row("dose 0:"));
    assert!(row("dose 38").contains("6.1"), "{}", row("dose 38"));
    // Totals: the net change over the period and the closing balance.
    assert!(row("Totals").contains("+6") && row("Totals").contains(" 6 "), "{}", row("Totals"));
    for s in ["received 10, administered or", "dispensed 4, reversals +0.1,", "discrepancies −0.1"] {
        assert!(text.contains(s), "{s:?} not in the totals:\n{text}");
    }
    // Every page numbered; the table's header row on every page.
    for p in 1..=pages {
        assert!(text.contains(&format!("Page {p} of {pages}")), "page {p}:\n{text}");
    }
    assert_eq!(text.matches("Date and time").count(), pages, "the header row on each page:\n{text}");
    assert_eq!(text.matches("Whisker").count(), 0);
}

#[tokio::test]
async fn the_register_pdf_answers_errors_in_the_house_format_and_needs_controlled_view() {
    let app = TestApp::signed_in().await;
    let (vet, _) = staff_vet(&app, "dr.lee", true, "2580").await;
    assert_error(
        vet.get("/api/controlled/register.pdf?from=2026-02-01&to=2026-01-01").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("to"),
    )
    .await;
    assert_error(
        vet.get("/api/controlled/register.pdf?from=2026-01-01&to=2026-02-01&drug=catnip").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("drug"),
    )
    .await;
    let res = vet.get("/api/controlled/register.pdf?from=2026-01-01").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (token, _) = crate::access::staff_user_with_id(&app, "front", &["receptionist"]).await;
    let front = crate::prescriptions::As { app: &app, token };
    assert_error(
        front.get("/api/controlled/register.pdf?from=2026-01-01&to=2026-02-01").await,
        StatusCode::FORBIDDEN,
        "forbidden",
        None,
    )
    .await;

    // An empty period is a one-page document that says so.
    let res = vet.get("/api/controlled/register.pdf?from=2026-01-01&to=2026-01-31").await;
    assert_eq!(res.status(), StatusCode::OK);
    let pdf = res.bytes().await.unwrap().to_vec();
    let Some(text) = poppler("pdftotext", &["-layout", "-enc", "UTF-8"], &pdf) else { return };
    assert!(text.contains("No entries in this period.") && text.contains("Page 1 of 1"), "{text}");
    assert!(text.contains("Whisker Cat Clinic"), "{text}");
}

/// A count that differs writes the count and its discrepancy at once (the same millisecond):
/// the discrepancy must stay the newest entry, or the balance read back is the count's. Six
/// counts in a row: with the two ids in random order this would pass about once in 64 runs.
#[tokio::test]
async fn a_count_and_its_discrepancy_keep_their_order_so_the_balance_is_the_count() {
    let app = TestApp::signed_in().await;
    let cat_owner = app.some_client("Ada", "Byron").await;
    let _ = app.some_patient(&cat_owner, "Miso").await;
    let (vet, _) = staff_vet(&app, "dr.lee", true, "2580").await;
    let _ = staff_vet(&app, "dr.kim", false, "4826").await;
    let receipt = json!({
        "drug": "buprenorphine", "form": "injectable", "strength": 0.3, "lot": "L1", "quantity": 10, "witness": witness()
    });
    let bottle = expect_json(vet.post("/api/controlled/containers", &receipt).await, StatusCode::CREATED).await;
    let path = format!("/api/controlled/containers/{}", id_of(&bottle));
    for i in 1..=6 {
        let counted = 10.0 - f64::from(i) / 10.0;
        let count = json!({"counted": counted, "reason": "short", "witness": witness()});
        expect_json(vet.post(&format!("{path}/counts"), &count).await, StatusCode::OK).await;
        let view = expect_json(vet.get(&path).await, StatusCode::OK).await;
        assert_eq!(view["balance"].as_f64(), Some(counted), "after count {i}: {view}");
        let kinds: Vec<&str> =
            view["entries"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds.last(), Some(&"discrepancy"), "{kinds:?}");
    }
}
