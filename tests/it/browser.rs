//! The Today board in a real browser: headless Chromium (Debian's package) driven by
//! playwright-core through `tests/browser/board.mjs`. Two staff members sign in on their own
//! pages; one chooses a room on a card (the choice survives the redraw an event brings) and
//! checks the patient in to it, and the other's board shows the check-in and the
//! room's new state without a reload (how long it took is printed, not asserted: push latency
//! is measured by `clowder-loadtests fanout`); then the room's tablet page shows the
//! cat's banner (with its allergy) and starts the exam, and the first board follows; once its
//! session ends, the tablet asks for a PIN, and the vet's PIN unlocks it.
//! Screenshots of the pages are left in `tests/browser/artifacts/`.
//!
//! The staff search box, in `tests/browser/search.mjs`: from the board, `/` focuses it;
//! misspelt names, a name and a cat's name together, and a phone's last four digits find the
//! records as they are typed; the keyboard opens a cat's page, which shows it and links its
//! owner, and the box, empty, offers the records viewed last.
//!
//! The server-rendered screens, in `tests/browser/screens.mjs`: the Clients page sends a
//! visitor to sign in and back; its name filter narrows the list as it is typed (no reload,
//! the address follows); a client's record leads to their cat's; the same screens on a 10"
//! tablet (800x1280) and a phone (390x844), with the bar folded behind Menu and the table as
//! cards; Sign out ends the session.
//!
//! The exam-room tablet's chart, in `tests/browser/tablet.mjs`: on 800x1280 and 1280x800, a
//! PIN unlocks the tablet, the chart of the cat in the room opens, the SOAP note is written
//! through a dropped connection without losing a word (the server's draft is polled), signed
//! and shown read-only; vitals are entered, a vaccine recorded and a drug prescribed (with the
//! override the server asks for); the lab trend of the cat with results is drawn with its
//! high point flagged (the other cat's chart has none); the chart fits 390 px without
//! scrolling sideways.
//!
//! The estimate and report screens, in `tests/browser/estimates.mjs`: an estimate started
//! from a cat gets two options of low–high lines through the editor (removing the only
//! option and a range the wrong way round are refused next to their fields; a catalogue item
//! found by search; a line discount; a third option renamed and removed), shows the server's totals, is sent, and one option is
//! accepted with its optional line, landing on the draft invoice; the reports page draws the
//! revenue and ageing bars; a payment plan is agreed through its form and modified;
//! screenshots at 1280x800, 800x1280 and 390x844.
//!
//! The printable documents, in `tests/browser/documents.mjs`: a cat's page links its
//! vaccination certificate and record summary, and the certificate's link answers a PDF.
//!
//! The consent signing page, in `tests/browser/consents.mjs`: a consent started from a visit,
//! Sign refused inline with nothing drawn and with no name, strokes drawn with the mouse,
//! cleared and drawn again, signed; the page turns read-only and its PDF names the signer.
//!
//! The record's documents, in `tests/browser/record-documents.mjs`: a PDF uploaded on a cat's
//! page appears in its documents without a reload and downloads as the same bytes; an
//! executable renamed `.pdf` is refused and the server's reason shows by the file field.
//!
//! A plan step booked from the offered slots, in `tests/browser/plan_booking.mjs`: the slot
//! booked shows on the step with its time; on stale tabs the same slot is refused and another
//! slot is booked then withdrawn by the server, each tab drawn again with the error shown.
//!
//! The ward's shared tablet, in `tests/browser/ward-tablet.mjs`: on 800x1280, Done asks who
//! did it; a wrong PIN is refused in the dialog, the nurse's PIN marks the slot as hers.
//!
//! `scripts/test` installs Chromium and playwright-core when missing and sets
//! `CLOWDER_BROWSER_TESTS=1`, which makes a missing browser a failure; a plain `cargo test`
//! on a machine without them skips these tests with a message.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::calendar::Clinic;
use crate::helpers::{TestApp, id_of};

/// Headless Chromium and the scripts that drive it.
struct Browser {
    dir: PathBuf,
    chromium: String,
    artifacts: PathBuf,
}

impl Browser {
    /// The browser, or `None` (after saying so) when it is not installed and not required.
    fn find() -> Option<Browser> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let ready = Path::new(&chromium).exists() && dir.join("node_modules/playwright-core").exists();
        if !ready {
            assert!(
                std::env::var("CLOWDER_BROWSER_TESTS").is_err(),
                "Chromium ({chromium}) or playwright-core is missing; scripts/test installs them"
            );
            eprintln!("skipping the browser test: run scripts/test to install Chromium and playwright-core");
            return None;
        }
        let artifacts = dir.join("artifacts");
        std::fs::create_dir_all(&artifacts).expect("the artifacts directory");
        Some(Browser { dir, chromium, artifacts })
    }

    /// Runs `script` with `vars` (and `ARTIFACTS`, `CHROMIUM`) in its environment; asserts it
    /// succeeded and printed `"ok":true`.
    async fn run(&self, script: &str, vars: &[(&str, &str)]) {
        let mut command = tokio::process::Command::new("node");
        command.arg(self.dir.join(script)).env("ARTIFACTS", &self.artifacts).env("CHROMIUM", &self.chromium);
        for (k, v) in vars {
            command.env(k, v);
        }
        let out = command.output().await.expect("node runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "the browser test {script} failed:\n{stdout}\n{stderr}");
        assert!(stdout.contains("\"ok\":true"), "{stdout}\n{stderr}");
        println!("{script}: {}", stdout.trim());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_boards_show_a_check_in_to_a_room_without_a_reload() {
    let Some(browser) = Browser::find() else { return };
    let c = Clinic::new().await;
    // An appointment starting now, so it is on today's board whatever the hour.
    let now = clowder_actors::Clock::now(&clowder_actors::SystemClock) - jiff::SignedDuration::from_secs(2);
    let now = now.round(jiff::TimestampRound::new().smallest(jiff::Unit::Second)).unwrap();
    let mut body = c.wellness(&now.to_string());
    body["room_id"] = json!(null);
    let a = c.book(&body).await;
    let res = c.app.patch_json(&format!("/api/patients/{}", c.cat), &json!({"allergies": ["penicillin"]})).await;
    assert!(res.status().is_success());
    crate::access::staff_user(&c.app, "rita", &["receptionist"]).await;
    let vic = crate::access::staff_user(&c.app, "vic", &["veterinarian"]).await;
    // Vic's PIN, and a registered tablet for the exam room.
    let res = c
        .app
        .anonymous(reqwest::Method::PUT, "/api/auth/pin")
        .bearer_auth(&vic)
        .json(&json!({"password": crate::access::NEW_PASSWORD, "pin": "4826"}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let device = c.app.post_json("/api/devices", &json!({"name": "Exam 1 tablet"})).await;
    let device: serde_json::Value = device.json().await.unwrap();
    let credential = device["credential"].as_str().expect("a credential").to_owned();
    let base = format!("http://{}", c.app.addr);
    let appointment = id_of(&a);
    browser
        .run(
            "board.mjs",
            &[
                ("BASE_URL", &base),
                ("USER_A", "rita"),
                ("USER_B", "vic"),
                ("PASSWORD", crate::access::NEW_PASSWORD),
                ("APPOINTMENT", &appointment),
                ("ROOM", &c.exam),
                ("PATIENT_NAME", "Mittens"),
                ("ALLERGY", "penicillin"),
                ("DEVICE", &credential),
                ("PIN", "4826"),
            ],
        )
        .await;
    let artifacts = &browser.artifacts;
    assert!(artifacts.join("board-vet.png").exists() && artifacts.join("board-front-desk.png").exists());
    // The server agrees with what the pages showed.
    let room = c.app.get_json("/api/rooms/board").await;
    let exam = room.as_array().unwrap().iter().find(|r| r["room"]["id"] == json!(c.exam)).unwrap();
    assert_eq!(exam["status"]["state"], "needs_cleaning", "the tablet, unlocked by PIN, finished the exam");
    assert!(artifacts.join("tablet.png").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_search_box_finds_records_as_they_are_typed_and_opens_them() {
    let Some(browser) = Browser::find() else { return };
    let app = TestApp::signed_in().await;
    let john = app
        .create_client(json!({
            "first_name": "John", "last_name": "Smith", "phone": "555-201-7788", "alerts": ["Pays cash only"],
        }))
        .await;
    let john = id_of(&john);
    let mittens = app
        .create_patient(json!({
            "client_id": john, "name": "Mittens", "breed": "Maine Coon", "allergies": ["penicillin"],
            "handling": {"fear_anxiety": "moderate", "towel_wrap": true},
        }))
        .await;
    let mittens = id_of(&mittens);
    // Another owner and cat, so the searches have something to leave out.
    let zoe = app.create_client(json!({"first_name": "Zoë", "last_name": "Lefèvre", "phone": "555-310-4422"})).await;
    app.some_patient(&id_of(&zoe), "Pistache").await;
    crate::access::staff_user(&app, "rita", &["receptionist"]).await;
    let base = format!("http://{}", app.addr);
    browser
        .run(
            "search.mjs",
            &[
                ("BASE_URL", &base),
                ("USER", "rita"),
                ("PASSWORD", crate::access::NEW_PASSWORD),
                ("CLIENT", &john),
                ("PATIENT", &mittens),
            ],
        )
        .await;
    for shot in ["search-results.png", "search-record.png", "search-recent.png"] {
        assert!(browser.artifacts.join(shot).exists(), "{shot}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_staff_screens_walk_from_sign_in_to_a_list_a_client_and_a_cat() {
    let Some(browser) = Browser::find() else { return };
    let app = TestApp::signed_in().await;
    let john = app
        .create_client(json!({
            "first_name": "John", "last_name": "Smith", "phone": "555-201-7788", "email": "john.smith@example.com",
            "alerts": ["Pays cash only"],
        }))
        .await;
    let john = id_of(&john);
    let mittens = app
        .create_patient(json!({
            "client_id": john, "name": "Mittens", "breed": "Maine Coon", "sex": "female",
            "reproductive_status": "spayed", "date_of_birth": "2019-04-02", "allergies": ["penicillin"],
            "handling": {"fear_anxiety": "moderate", "towel_wrap": true},
        }))
        .await;
    let mittens = id_of(&mittens);
    app.some_patient(&john, "Biscuit").await;
    let zoe = app.create_client(json!({"first_name": "Zoë", "last_name": "Lefèvre", "phone": "555-310-4422"})).await;
    app.some_patient(&id_of(&zoe), "Pistache").await;
    // More than a page of clients, so the list has a next page.
    for i in 0..26 {
        app.some_client("Client", &format!("Number{i:02}")).await;
    }
    crate::access::staff_user(&app, "rita", &["receptionist"]).await;
    // The Messages flow: a practice manager edits a text-message template.
    crate::access::staff_user(&app, "mona", &["practice_manager"]).await;
    let template = app
        .post_json(
            "/api/templates",
            &json!({"category": "follow_up", "channel": "sms", "name": "Check-in", "max_sms_segments": 5,
                    "text_body": "{{ clinic_name }}: how is {{ pet_names }}?"}),
        )
        .await;
    let template = id_of(&template.json::<serde_json::Value>().await.unwrap());
    let base = format!("http://{}", app.addr);
    browser
        .run(
            "screens.mjs",
            &[
                ("BASE_URL", &base),
                ("USER", "rita"),
                ("PASSWORD", crate::access::NEW_PASSWORD),
                ("CLIENT", &john),
                ("PATIENT", &mittens),
                ("MANAGER", "mona"),
                ("TEMPLATE", &template),
                ("ADMIN_PASSWORD", &app.admin_password),
            ],
        )
        .await;
    for size in ["1280", "800", "390"] {
        for screen in ["clients", "client", "cat", "board"] {
            let shot = format!("screens-{screen}-{size}.png");
            assert!(browser.artifacts.join(&shot).exists(), "{shot}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tablet_writes_a_note_through_a_dropped_connection_and_signs_it() {
    let Some(browser) = Browser::find() else { return };
    let c = Clinic::new().await;
    let res = c.app.patch_json(&format!("/api/patients/{}", c.cat), &json!({"allergies": ["penicillin"]})).await;
    assert!(res.status().is_success());
    let (vera, vet) = crate::tablet::prescribing_vet(&c.app, "vera").await;
    let res = c
        .app
        .anonymous(reqwest::Method::PUT, "/api/auth/pin")
        .bearer_auth(&vera)
        .json(&json!({"password": crate::access::NEW_PASSWORD, "pin": "4826"}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let device = c.app.post_json("/api/devices", &json!({"name": "Exam tablet"})).await;
    let device: serde_json::Value = device.json().await.unwrap();
    let credential = device["credential"].as_str().expect("a credential").to_owned();
    // One room per viewport, each with the same cat's name so the script checks one name.
    let visit_a = crate::tablet::cat_in_room(&c, &c.exam, &c.cat, &vet).await;
    let res = c.app.patch_json(&format!("/api/patients/{}", c.cat2), &json!({"name": "Mittens"})).await;
    assert!(res.status().is_success());
    let visit_b = crate::tablet::cat_in_room(&c, &c.surgery, &c.cat2, &vet).await;
    // Both cats have kidney disease, so prescribing an NSAID asks for an override.
    for cat in [&c.cat, &c.cat2] {
        let p = json!({"patient_id": cat, "name": "Chronic kidney disease", "status": "chronic"});
        assert!(c.app.post_json("/api/problems", &p).await.status().is_success());
    }
    // Lab results for the first cat only: two creatinines, the newer one high, so the tablet
    // draws a trend with a flagged point in room A and none in room B.
    for (value, unit) in [(1.2, "mg/dL"), (300.0, "µmol/L")] {
        let order = json!({"visit_id": visit_a, "test": "CHEM10"});
        let order = id_of(
            &crate::helpers::expect_json(
                c.app.post_json("/api/lab-orders", &order).await,
                reqwest::StatusCode::CREATED,
            )
            .await,
        );
        let results = json!({"results": [{"analyte": "CREA", "value": value, "unit": unit}]});
        let res = c.app.post_json(&format!("/api/lab-orders/{order}/results"), &results).await;
        assert_eq!(res.status(), reqwest::StatusCode::OK, "{}", res.text().await.unwrap());
    }
    let base = format!("http://{}", c.app.addr);
    browser
        .run(
            "tablet.mjs",
            &[
                ("BASE_URL", &base),
                ("USER", "vera"),
                ("PIN", "4826"),
                ("DEVICE", &credential),
                ("ROOM_A", &c.exam),
                ("VISIT_A", &visit_a),
                ("ROOM_B", &c.surgery),
                ("VISIT_B", &visit_b),
                ("PATIENT_NAME", "Mittens"),
            ],
        )
        .await;
    // The server agrees: both notes signed, with every word typed offline.
    for visit in [&visit_a, &visit_b] {
        let note = c.app.get_json(&format!("/api/visits/{visit}/note")).await;
        assert_eq!(note["status"], "signed", "{note}");
        assert!(note.to_string().contains("since Tuesday, still eating."), "{note}");
    }
    for cat in [&c.cat, &c.cat2] {
        let rx = c.app.get_json(&format!("/api/patients/{cat}/prescriptions")).await;
        let rx = rx.as_array().or_else(|| rx["items"].as_array()).cloned().unwrap_or_default();
        assert_eq!(rx.len(), 1, "one prescription each, whatever the retries: {rx:?}");
        assert!(rx[0]["override_reason"].as_str().is_some_and(|r| r.starts_with("IRIS stage 1")));
        let vx = c.app.get_json(&format!("/api/patients/{cat}/vaccinations")).await;
        assert_eq!(vx["entries"].as_array().map(Vec::len), Some(1), "{vx}");
    }
    for shot in ["tablet-chart-800.png", "tablet-offline-800.png", "tablet-signed-1280.png", "tablet-chart-390.png"] {
        assert!(browser.artifacts.join(shot).exists(), "{shot}");
    }
}

/// The inventory screens, in `tests/browser/inventory.mjs`: the stock page shows the low
/// product, its lot and the expiring-soon alert; an order is received through its form
/// (status and receipts follow); a stock change elsewhere that leaves a product low shows on
/// the open stock page without a reload (`stock_moved`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inventory_screen_receives_an_order_and_follows_stock_live() {
    let Some(browser) = Browser::find() else { return };
    let app = TestApp::signed_in().await;
    let (product, po) = crate::inventory::screen_fixture(&app).await;
    crate::access::staff_user(&app, "mona", &["practice_manager"]).await;
    let base = format!("http://{}", app.addr);
    browser
        .run(
            "inventory.mjs",
            &[
                ("BASE_URL", &base),
                ("USER", "mona"),
                ("PASSWORD", crate::access::NEW_PASSWORD),
                ("PRODUCT", &product),
                ("ORDER", &po),
            ],
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_estimate_is_built_sent_and_accepted_into_an_invoice_and_the_reports_draw_their_bars() {
    use crate::helpers::expect_json;
    use reqwest::StatusCode;
    let Some(browser) = Browser::find() else { return };
    let app = TestApp::signed_in().await;
    let client = app.some_client("Ann", "Lee").await;
    let cat = app.some_patient(&client, "Miso").await;
    // No tax, so the totals the script checks are plain sums.
    let location = id_of(&app.get_json("/api/locations").await[0]);
    let res = app.patch_json(&format!("/api/locations/{location}"), &json!({"tax_rate": 0})).await;
    assert!(res.status().is_success());
    let exam = id_of(
        &crate::catalogue::item(&app, json!({"name": "Exam", "category": "Exams", "kind": "service", "price": 6500}))
            .await,
    );
    // An issued invoice, so the revenue and ageing charts have a bar.
    let body = json!({"client_id": client, "lines": [{"item_id": exam}]});
    let inv = id_of(&expect_json(app.post_json("/api/invoices", &body).await, StatusCode::CREATED).await);
    expect_json(app.post_json(&format!("/api/invoices/{inv}/issue"), &json!({})).await, StatusCode::OK).await;
    crate::access::staff_user(&app, "mona", &["practice_manager"]).await;
    let base = format!("http://{}", app.addr);
    browser
        .run(
            "estimates.mjs",
            &[
                ("BASE_URL", &base),
                ("USER", "mona"),
                ("PASSWORD", crate::access::NEW_PASSWORD),
                ("PATIENT", &cat),
                ("INVOICE", &inv),
            ],
        )
        .await;
    // The server agrees: one accepted estimate, whose draft invoice has the dental and the x-ray.
    let list = app.get_json("/api/estimates?status=accepted").await;
    let e = &list["items"][0];
    assert_eq!(e["accepted_option"], 2);
    let invoice = app.get_json(&format!("/api/invoices/{}", e["invoice_id"].as_str().unwrap())).await;
    let lines: Vec<&str> =
        invoice["lines"].as_array().unwrap().iter().map(|l| l["description"].as_str().unwrap()).collect();
    assert_eq!(lines, ["Dental", "X-ray"]);
    assert_eq!(invoice["status"], "draft");
    let plans = app.get_json(&format!("/api/invoices/{inv}/payment-plans")).await;
    assert_eq!(plans[0]["revision"], 2, "the plan was modified once through its form");
    assert_eq!(plans[0]["terms"]["instalments"], 4);
    for shot in
        ["estimate-draft-1280", "estimate-sent-1280", "reports-1280", "estimate-800", "reports-390", "payment-plan-390"]
    {
        assert!(browser.artifacts.join(format!("{shot}.png")).exists(), "{shot}");
    }
}

/// The invoice builder, in `tests/browser/billing.mjs`: from a walk-in visit's page to its
/// draft, whose uncharged exam is charged from the price list and resolved; a second line
/// with a quantity, a line discount and a line of one's own, every total the server's; a
/// refused change shown next to its line; loyalty points redeemed (more than held refused
/// inline); issued, part paid in cash, a refund above the payment refused and one made, the
/// client's credit applied (more than they have refused), the rest paid (Paid, balance 0, a
/// receipt); the list and the client's account follow; the screens fit 800 and 390 px.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_invoice_builder_charges_a_visit_issues_it_and_takes_its_payment() {
    let Some(browser) = Browser::find() else { return };
    let app = TestApp::spawn_with(|a| a.billing.credit_on_account = true).await;
    app.login_admin().await;
    let c = Clinic::on(app).await;
    // The client has 20.00 of credit on account (an earlier invoice overpaid) and 1000 points.
    let earlier = json!({"client_id": c.client, "lines": [{"description": "Nail trim", "unit_price": 1500}]});
    let earlier = id_of(&c.app.post_json("/api/invoices", &earlier).await.json::<serde_json::Value>().await.unwrap());
    let ok = |r: reqwest::Response| assert!(r.status().is_success(), "{}", r.status());
    ok(c.app.post_json(&format!("/api/invoices/{earlier}/issue"), &json!({})).await);
    let overpay = json!({"amount": 3500, "method": "cash"});
    ok(c.app.post_json(&format!("/api/invoices/{earlier}/payments"), &overpay).await);
    let on = json!({"enabled": true, "points_per_unit": 1, "item_bonuses": [], "referral_bonus": 0,
                    "birthday_bonus": 0, "redeem_points": 100, "redeem_cents": 100, "min_redeem": 100,
                    "expiry_months": null});
    ok(c.app.put_json("/api/loyalty/settings", &on).await);
    let points = json!({"points": 1000, "reason": "welcome"});
    ok(c.app.post_json(&format!("/api/clients/{}/loyalty/adjustments", c.client), &points).await);
    for (name, price) in [("Sick visit exam", 7800), ("Gabapentin 100 mg capsule", 95)] {
        let body = json!({"name": name, "category": "Exams", "kind": "service", "price": price});
        assert_eq!(c.app.post_json("/api/catalogue", &body).await.status(), reqwest::StatusCode::CREATED);
    }
    let walk_in = json!({"patient_id": c.cat, "vet_id": c.vet, "type": "sick", "chief_complaint": "Sneezing"});
    let visit = id_of(&c.app.post_json("/api/visits", &walk_in).await.json::<serde_json::Value>().await.unwrap());
    // Capture follows the log: the draft with its uncharged entry is there before the browser.
    c.app
        .poll_json(&format!("/api/invoices?visit_id={visit}"), |p| {
            p["items"][0]["uncharged"].as_array().is_some_and(|u| u.len() == 1)
        })
        .await;
    crate::access::staff_user(&c.app, "ada", &["administrator"]).await;
    let base = format!("http://{}", c.app.addr);
    browser
        .run(
            "billing.mjs",
            &[
                ("BASE_URL", &base),
                ("USER", "ada"),
                ("PASSWORD", crate::access::NEW_PASSWORD),
                ("VISIT", &visit),
                ("CLIENT", &c.client),
            ],
        )
        .await;
    for shot in
        ["billing-draft-1280.png", "billing-paid-1280.png", "billing-invoice-800.png", "billing-invoice-390.png"]
    {
        assert!(browser.artifacts.join(shot).exists(), "{shot}");
    }
}

/// The loyalty settings screen, in `tests/browser/loyalty.mjs`: from the invoices list, off
/// by default; an out-of-range value refused next to its field; the rules, a bonus for a
/// service found in the price list and expiry saved and shown again; it fits 390 px.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loyalty_settings_screen_sets_the_programme_s_rules() {
    let Some(browser) = Browser::find() else { return };
    let app = TestApp::signed_in().await;
    let dental = json!({"name": "Dental cleaning", "category": "Dental", "kind": "service", "price": 25000});
    let dental = id_of(&app.post_json("/api/catalogue", &dental).await.json::<serde_json::Value>().await.unwrap());
    crate::access::staff_user(&app, "ada", &["administrator"]).await;
    let base = format!("http://{}", app.addr);
    browser
        .run("loyalty.mjs", &[("BASE_URL", &base), ("USER", "ada"), ("PASSWORD", crate::access::NEW_PASSWORD)])
        .await;
    let s = app.get_json("/api/loyalty/settings").await;
    assert_eq!(
        (
            s["enabled"].as_bool(),
            s["points_per_unit"].as_i64(),
            s["redeem_cents"].as_i64(),
            s["expiry_months"].as_i64()
        ),
        (Some(true), Some(2), Some(150), Some(12)),
        "{s}"
    );
    assert_eq!(s["item_bonuses"], json!([{"item_id": dental, "points": 25}]));
    assert!(browser.artifacts.join("loyalty-settings-390.png").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cat_s_page_links_its_vaccination_certificate_which_opens_as_a_pdf() {
    let Some(browser) = Browser::find() else { return };
    let app = TestApp::signed_in().await;
    let client = app.some_client("Zoë", "Lefèvre").await;
    let cat = app.some_patient(&client, "Pistache").await;
    crate::access::staff_user(&app, "vic", &["veterinarian"]).await;
    let base = format!("http://{}", app.addr);
    browser
        .run(
            "documents.mjs",
            &[("BASE_URL", &base), ("USER", "vic"), ("PASSWORD", crate::access::NEW_PASSWORD), ("PATIENT", &cat)],
        )
        .await;
    assert!(browser.artifacts.join("documents-cat.png").exists());
}

/// A ward with a cat admitted and a pain-score check due ten minutes ago: the clinic, the
/// ward, the admission, the treatment and the slot's due time.
async fn ward_with_a_due_check() -> (Clinic, String, String, String, jiff::Timestamp) {
    let c = Clinic::new().await;
    let ward = json!({"location_id": c.location, "name": "Cat ward", "cages": ["C1", "C2"]});
    let ward = id_of(&c.app.post_json("/api/wards", &ward).await.json::<serde_json::Value>().await.unwrap());
    let visit = json!({"patient_id": c.cat, "vet_id": c.vet, "type": "sick", "chief_complaint": "Not eating"});
    let visit = id_of(&c.app.post_json("/api/visits", &visit).await.json::<serde_json::Value>().await.unwrap());
    let body = json!({"ward_id": ward, "cage": "C1", "visit_id": visit, "reason": "Dehydrated"});
    let admission = id_of(&c.app.post_json("/api/admissions", &body).await.json::<serde_json::Value>().await.unwrap());
    let now = c.app.system.ctx.clock.now();
    let due = jiff::Timestamp::from_second(now.as_second() - 600).unwrap();
    let body = json!({"treatment": {"type": "check", "check": "pain_score"},
                      "schedule": {"start": due.to_string(), "every_hours": 4}});
    let sheet: serde_json::Value =
        c.app.post_json(&format!("/api/admissions/{admission}/treatments"), &body).await.json().await.unwrap();
    let treatment = sheet["treatments"][0]["id"].as_str().unwrap().to_owned();
    (c, ward, admission, treatment, due)
}

/// The ward board, in `tests/browser/ward.mjs`: a vet marks a slot done on the tablet-sized
/// board and the wall display, never reloaded, drops it over `/ws`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_marked_done_on_the_ward_board_leaves_the_wall_display_live() {
    let Some(browser) = Browser::find() else { return };
    let (c, ward, admission, treatment, due) = ward_with_a_due_check().await;
    crate::access::staff_user(&c.app, "wanda", &["veterinarian"]).await;
    let base = format!("http://{}", c.app.addr);
    browser
        .run(
            "ward.mjs",
            &[
                ("BASE_URL", &base),
                ("USER", "wanda"),
                ("PASSWORD", crate::access::NEW_PASSWORD),
                ("WARD", &ward),
                ("TREATMENT", &treatment),
                ("DUE", &due.to_string()),
            ],
        )
        .await;
    let sheet = c.app.get_json(&format!("/api/admissions/{admission}")).await;
    assert_eq!(sheet["marks"][0]["outcome"], "done", "the board's click reached the sheet");
}

/// A veterinarian with an account (`username`, [`crate::access::NEW_PASSWORD`]) and a sick
/// visit of the clinic's first cat with them; the visit's id.
async fn vet_visit(c: &Clinic, username: &str) -> String {
    let (_, vet) = crate::visits::vet_with_account(&c.app, username).await;
    let visit = json!({"patient_id": c.cat, "vet_id": vet, "type": "sick", "chief_complaint": "Weight loss"});
    id_of(&c.app.post_json("/api/visits", &visit).await.json::<serde_json::Value>().await.unwrap())
}

/// The lab screens, in `tests/browser/labs.mjs`: a vet orders a test on the visit page, a
/// JSON result imported through the API appears flagged on the open order page without a
/// reload, the vet signs it off, and the cat's page draws the trend; a queue entry discarded
/// on one tab shows as resolved on the other without a reload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lab_result_arrives_flagged_on_the_open_order_and_the_trend_shows_on_the_cat() {
    let Some(browser) = Browser::find() else { return };
    let c = Clinic::new().await;
    let visit = vet_visit(&c, "dr.labs").await;
    // A result for a cat we do not know: it waits in the unmatched queue.
    let stray = json!({"groups": [{"patient_id": "<b>not ours</b>", "test": "T4",
        "results": [{"analyte": "TT4", "value": 2.0, "unit": "µg/dL"}]}]});
    let report: serde_json::Value = c.app.post_json("/api/lab-results/import", &stray).await.json().await.unwrap();
    assert_eq!(report["outcomes"][0]["status"], "queued");
    let base = format!("http://{}", c.app.addr);
    browser
        .run(
            "labs.mjs",
            &[
                ("BASE_URL", &base),
                ("USER", "dr.labs"),
                ("PASSWORD", crate::access::NEW_PASSWORD),
                ("VISIT", &visit),
                ("CAT", &c.cat),
            ],
        )
        .await;
    let orders = c.app.get_json(&format!("/api/patients/{}/lab-orders?visit_id={visit}", c.cat)).await;
    assert_eq!(orders["items"][0]["status"], "reviewed", "the browser's sign-off reached the order");
}

/// The lab lists live and results typed on the queue, in `tests/browser/labs_queue.mjs`:
/// with `/labs` and `/labs/unmatched` open, HL7 messages imported through the API move the
/// order's row and add the queue entry without a reload; the vet finds the cat's order by
/// name, types the results (errors shown on their row) and attaches them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lab_lists_follow_imports_live_and_results_are_typed_on_the_queue() {
    let Some(browser) = Browser::find() else { return };
    let c = Clinic::new().await;
    let visit = vet_visit(&c, "dr.queue").await;
    let order = |test: &'static str| {
        let body = json!({"visit_id": visit, "test": test});
        let app = &c.app;
        async move { id_of(&app.post_json("/api/lab-orders", &body).await.json::<serde_json::Value>().await.unwrap()) }
    };
    let (t4, chem) = (order("T4").await, order("CHEM10").await);
    let name = c.app.get_json(&format!("/api/patients/{}", c.cat)).await["name"].as_str().unwrap().to_owned();
    // The search index has the cat before the browser looks for it.
    c.app
        .poll_json(&format!("/api/search?kind=patient&q={name}"), |a| {
            a["hits"].as_array().is_some_and(|h| h.iter().any(|h| h["id"] == c.cat.as_str()))
        })
        .await;
    let base = format!("http://{}", c.app.addr);
    browser
        .run(
            "labs_queue.mjs",
            &[
                ("BASE_URL", &base),
                ("USER", "dr.queue"),
                ("PASSWORD", crate::access::NEW_PASSWORD),
                ("CAT", &c.cat),
                ("CAT_NAME", &name),
                ("T4", &t4),
                ("CHEM", &chem),
            ],
        )
        .await;
    let o = c.app.get_json(&format!("/api/lab-orders/{chem}")).await;
    assert_eq!((o["status"].as_str(), o["results"].as_array().unwrap().len()), (Some("partial"), 2), "{o}");
}

/// The consent signing page, in `tests/browser/consents.mjs`; the PDF it saved is read with
/// pdftotext for the signer's name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consent_is_started_from_a_visit_drawn_with_the_mouse_and_signed_into_a_pdf() {
    let Some(browser) = Browser::find() else { return };
    let c = Clinic::new().await;
    let body = crate::visits::walk_in(&c.cat, &c.vet);
    let visit = id_of(
        &crate::helpers::expect_json(c.app.post_json("/api/visits", &body).await, reqwest::StatusCode::CREATED).await,
    );
    crate::access::staff_user(&c.app, "vera", &["veterinarian"]).await;
    let base = format!("http://{}", c.app.addr);
    browser
        .run(
            "consents.mjs",
            &[("BASE_URL", &base), ("USER", "vera"), ("PASSWORD", crate::access::NEW_PASSWORD), ("VISIT", &visit)],
        )
        .await;
    let forms = c.app.get_json(&format!("/api/consent-forms?visit_id={visit}")).await;
    let form = &forms["items"][0];
    assert_eq!(
        (form["status"].as_str(), form["signature"]["signer_name"].as_str()),
        (Some("signed"), Some("Jon Q Smith"))
    );
    let pdf = std::fs::read(browser.artifacts.join("consent.pdf")).expect("the script saved the PDF");
    if let Some(text) = crate::helpers::pdf_text(&pdf) {
        assert!(text.contains("Jon Q Smith"), "{text}");
    }
    for shot in ["consent-sign-800", "consent-signed-1280"] {
        assert!(browser.artifacts.join(format!("{shot}.png")).exists(), "{shot}");
    }
}

/// The protocol editor, in `tests/browser/protocol_editor.mjs`: a vet copies a starter from
/// the list, an offset out of range is refused next to its field, a changed offset saved is
/// version 2 (on the page, in the list and through the API).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copied_starter_edited_in_the_protocol_editor_is_saved_as_version_2() {
    let Some(browser) = Browser::find() else { return };
    let app = TestApp::signed_in().await;
    crate::access::staff_user(&app, "vera", &["veterinarian"]).await;
    let base = format!("http://{}", app.addr);
    browser
        .run("protocol_editor.mjs", &[("BASE_URL", &base), ("USER", "vera"), ("PASSWORD", crate::access::NEW_PASSWORD)])
        .await;
    let list = app.get_json("/api/protocols").await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "one copy, however the button was clicked");
    assert_eq!((items[0]["version"].as_i64(), items[0]["steps"][1]["day_offset"].as_i64()), (Some(2), Some(10)));
    assert!(browser.artifacts.join("protocol-1280.png").exists());
}

/// The treatment-plan screens, in `tests/browser/protocols.mjs`: a protocol applied from the
/// cat's page, a step marked done on the plan page with the progress following, a skip
/// without a reason and a second "done" (409) refused inline, the plan listed on the cat page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protocol_applied_on_the_cat_page_makes_a_plan_whose_steps_are_marked_done() {
    let Some(browser) = Browser::find() else { return };
    let app = TestApp::signed_in().await;
    let client = app.some_client("Ann", "Lee").await;
    let cat = app.some_patient(&client, "Miso").await;
    let res = app.post_json("/api/protocols/starters/dental_cleaning", &json!({})).await;
    assert_eq!(res.status(), reqwest::StatusCode::CREATED);
    crate::access::staff_user(&app, "vera", &["veterinarian"]).await;
    let base = format!("http://{}", app.addr);
    browser
        .run(
            "protocols.mjs",
            &[("BASE_URL", &base), ("USER", "vera"), ("PASSWORD", crate::access::NEW_PASSWORD), ("PATIENT", &cat)],
        )
        .await;
    let plans = app.get_json(&format!("/api/patients/{cat}/treatment-plans")).await;
    assert_eq!(plans["items"].as_array().unwrap().len(), 1, "one plan, however the button was clicked");
    assert_eq!(plans["items"][0]["steps"][0]["status"], "done");
    assert!(browser.artifacts.join("plan-1280.png").exists());
}

/// Booking a plan step from the offered slots, in `tests/browser/plan_booking.mjs`: Ben is on
/// shift 09:00–10:00 on the step's day, so the plan page offers that morning's starts; the
/// vet books 09:00 and the step shows as booked for that time; a second tab that offered the
/// same slot before is refused (409 `appointment_conflict`) and a third that books 09:30 for
/// the step booked meanwhile is refused too (409 `plan_step_already_booked`), each tab drawn
/// again from the server; the calendar holds one live appointment of the cat that day, the
/// 09:30 one withdrawn with its reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_step_is_booked_from_the_offered_slots_and_a_taken_slot_is_refused_inline() {
    let Some(browser) = Browser::find() else { return };
    let c = Clinic::new().await;
    let day = crate::availability::a_tuesday();
    let shift = json!({"location_id": c.location, "date": day.to_string(), "start": "09:00", "end": "10:00"});
    let res = c.app.post_json(&format!("/api/staff/{}/shifts", c.vet), &shift).await;
    assert_eq!(res.status(), reqwest::StatusCode::CREATED, "{}", res.text().await.unwrap());
    let protocol = json!({"name": "Recheck", "steps": [
        {"title": "Bloods", "kind": "lab", "day_offset": 0, "cost": 21000, "appointment_type_id": c.ty("Wellness exam")},
        {"title": "Review", "kind": "exam", "day_offset": 14, "cost": 0},
    ]});
    let protocol = id_of(
        &crate::helpers::expect_json(c.app.post_json("/api/protocols", &protocol).await, reqwest::StatusCode::CREATED)
            .await,
    );
    let apply = json!({"patient_id": c.cat, "protocol_id": protocol, "start_date": day.to_string()});
    let plan = crate::helpers::expect_json(
        c.app.post_json("/api/treatment-plans", &apply).await,
        reqwest::StatusCode::CREATED,
    )
    .await;
    let plan = id_of(&plan["plan"]);
    // Plans are changed with `visits:edit`, appointments made with `appointments:create`.
    crate::access::staff_user(&c.app, "vera", &["veterinarian", "receptionist"]).await;
    let at = crate::availability::local(day, 9, 0);
    let base = format!("http://{}", c.app.addr);
    browser
        .run(
            "plan_booking.mjs",
            &[
                ("BASE_URL", &base),
                ("USER", "vera"),
                ("PASSWORD", crate::access::NEW_PASSWORD),
                ("PLAN", &plan),
                ("SLOT", &format!("{day} 09:00")),
                ("SLOT2", &format!("{day} 09:30")),
                ("BOOKED_AT", &day.strftime("%-d %b %Y 09:00").to_string()),
            ],
        )
        .await;
    let plan = c.app.get_json(&format!("/api/treatment-plans/{plan}")).await;
    let step = &plan["plan"]["steps"][0];
    assert_eq!(step["status"], "booked", "{plan}");
    let list = c.app.get_json(&format!("/api/appointments?patient_id={}&date={day}", c.cat)).await;
    let items = list["items"].as_array().or_else(|| list.as_array()).cloned().unwrap_or_default();
    let (live, withdrawn): (Vec<_>, Vec<_>) = items.iter().partition(|a| a["status"] != "cancelled");
    assert_eq!(live.len(), 1, "one live appointment: the conflict made none, the refused link's was withdrawn: {list}");
    assert_eq!(withdrawn.len(), 1, "{list}");
    let w = withdrawn[0];
    let w_start: jiff::Timestamp = w["start"].as_str().unwrap().parse().unwrap();
    let at2 = crate::availability::local(day, 9, 30).parse::<jiff::Timestamp>().unwrap();
    assert_eq!(w_start, at2, "{w}");
    let why = w["cancel_reason"].as_str().unwrap_or_default();
    assert!(why.starts_with("withdrawn") && why.contains("plan_step_already_booked"), "{w}");
    let a = live[0];
    assert_eq!(a["id"], step["appointment_id"], "{a}");
    assert_eq!((a["vet_id"].as_str(), a["type_id"].as_str()), (Some(c.vet.as_str()), Some(c.ty("Wellness exam"))));
    let start: jiff::Timestamp = a["start"].as_str().unwrap().parse().unwrap();
    assert_eq!(start, at.parse::<jiff::Timestamp>().unwrap(), "{a}");
    for shot in ["plan-booked-1280.png", "plan-slot-taken-1280.png", "plan-step-booked-meanwhile-1280.png"] {
        assert!(browser.artifacts.join(shot).exists(), "{shot}");
    }
}

/// The accounting export screen, in `tests/browser/accounting.mjs`: from the reports page,
/// today's books as a CSV downloaded and read; the same day again refused, then re-exported
/// with a reason; the chart of accounts refused next to an empty name, then saved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_accounting_screen_exports_a_day_refuses_it_twice_and_re_exports_it_with_a_reason() {
    let Some(browser) = Browser::find() else { return };
    let app = TestApp::signed_in().await;
    let client = app.some_client("Jane", "Doe").await;
    let cat = app.some_patient(&client, "Miso").await;
    let location = id_of(&app.get_json("/api/locations").await[0]);
    let body = json!({"client_id": client, "patient_id": cat, "location_id": location,
                      "lines": [{"description": "Exam", "unit_price": 6500}]});
    let draft = app.post_json("/api/invoices", &body).await.json::<serde_json::Value>().await.unwrap();
    let issued = app.post_json(&format!("/api/invoices/{}/issue", id_of(&draft)), &json!({})).await;
    let issued = issued.json::<serde_json::Value>().await.unwrap();
    let (today, number) = (issued["issued_on"].as_str().unwrap(), issued["number"].as_str().unwrap());
    crate::access::staff_user(&app, "bea", &["billing"]).await;
    let base = format!("http://{}", app.addr);
    browser
        .run(
            "accounting.mjs",
            &[
                ("BASE_URL", &base),
                ("USER", "bea"),
                ("PASSWORD", crate::access::NEW_PASSWORD),
                ("TODAY", today),
                ("NUMBER", number),
            ],
        )
        .await;
    let exports = app.get_json("/api/accounting/exports").await;
    let items = exports["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{exports}");
    assert_eq!(items[1]["reexport_reason"], "The bookkeeper lost the file");
    let mapping = app.get_json("/api/accounting/mapping").await;
    assert_eq!(
        (mapping["tax_payable"].as_str(), mapping["revenue"]["Exams"].as_str()),
        (Some("Tax:State"), Some("Income:Exams"))
    );
    assert!(browser.artifacts.join("accounting-1280.png").exists());
}

/// The documents block of a cat's page, in `tests/browser/record-documents.mjs`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pdf_uploaded_on_the_cat_page_is_listed_and_downloads_and_an_exe_is_refused_inline() {
    let Some(browser) = Browser::find() else { return };
    let app = TestApp::signed_in().await;
    let client = app.some_client("Ines", "Moreau").await;
    let cat = app.some_patient(&client, "Biscotte").await;
    crate::access::staff_user(&app, "vida", &["veterinarian"]).await;
    let base = format!("http://{}", app.addr);
    browser
        .run(
            "record-documents.mjs",
            &[("BASE_URL", &base), ("USER", "vida"), ("PASSWORD", crate::access::NEW_PASSWORD), ("PATIENT", &cat)],
        )
        .await;
    let docs = app.get_json(&format!("/api/documents?patient_id={cat}")).await;
    let names: Vec<&str> = docs["items"].as_array().unwrap().iter().map(|d| d["file_name"].as_str().unwrap()).collect();
    assert_eq!(names, ["referral letter.pdf"], "the PDF filed once, the program never");
    assert_eq!(docs["items"][0]["tags"], json!(["cardiology", "echo"]));
    assert!(browser.artifacts.join("record-documents-1280.png").exists());
}

/// The ward's shared tablet, in `tests/browser/ward-tablet.mjs`: the tablet runs on a
/// practice manager's session (`ward:view`); the slot is marked with a vet tech's PIN and is hers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_marked_on_the_ward_tablet_with_a_nurses_pin_is_hers() {
    let Some(browser) = Browser::find() else { return };
    let (c, ward, admission, treatment, due) = ward_with_a_due_check().await;
    let reg: serde_json::Value =
        c.app.post_json("/api/devices", &json!({"name": "Ward tablet"})).await.json().await.unwrap();
    let credential = reg["credential"].as_str().unwrap().to_owned();
    crate::access::staff_user(&c.app, "ward.screen", &["practice_manager"]).await;
    let (token, nina) = crate::access::staff_user_with_id(&c.app, "nina", &["vet_tech"]).await;
    let res = c
        .app
        .anonymous(reqwest::Method::PUT, "/api/auth/pin")
        .bearer_auth(&token)
        .json(&json!({"password": crate::access::NEW_PASSWORD, "pin": "2580"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::NO_CONTENT);
    let base = format!("http://{}", c.app.addr);
    browser
        .run(
            "ward-tablet.mjs",
            &[
                ("BASE_URL", &base),
                ("USER", "ward.screen"),
                ("PASSWORD", crate::access::NEW_PASSWORD),
                ("NURSE", "nina"),
                ("PIN", "2580"),
                ("CREDENTIAL", &credential),
                ("WARD", &ward),
                ("TREATMENT", &treatment),
                ("DUE", &due.to_string()),
            ],
        )
        .await;
    let sheet = c.app.get_json(&format!("/api/admissions/{admission}")).await;
    assert_eq!(sheet["marks"].as_array().map(Vec::len), Some(1), "{sheet}");
    assert_eq!(sheet["marks"][0]["by"].as_str(), Some(nina.as_str()), "marked as the nurse, not the tablet's session");
    assert!(browser.artifacts.join("ward-tablet-800.png").exists());
}
