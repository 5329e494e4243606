//! Charge capture end to end: a visit opened from its appointment starts its draft with the
//! exam fee; a vaccination and a dispensed prescription add lines with the catalogue's price
//! and the dispensed quantity; what no catalogue item charges is an uncharged entry on the
//! draft; a restart (even replaying the whole log) doubles nothing and loses nothing; a staff
//! edit of the draft is kept; a charge after issue goes on a new draft; the batch issues the
//! drafts of completed visits, names the visits it could not, and issues nothing twice.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::calendar::{Clinic, DAY};
use crate::helpers::{TestApp, assert_error, expect_json, id_of};
use crate::prescriptions::{meloxicam, staff_vet, weigh};

async fn item(app: &TestApp, body: Value) -> String {
    id_of(&expect_json(app.post_json("/api/catalogue", &body).await, StatusCode::CREATED).await)
}

/// The exam fee of the wellness type, FVRCP, and meloxicam 0.5 mg/mL by the mL (named by
/// its drug name, resolved to the formulary's id).
async fn price_list(c: &Clinic) {
    let ty = c.ty("Wellness exam");
    item(
        &c.app,
        json!({"name": "Wellness exam", "category": "Exams", "kind": "service", "price": 6500,
                        "appointment_type_id": ty}),
    )
    .await;
    item(
        &c.app,
        json!({"name": "FVRCP vaccine", "category": "Vaccines", "kind": "service", "price": 3500,
                        "vaccine": "FVRCP"}),
    )
    .await;
    item(
        &c.app,
        json!({"name": "Meloxicam oral suspension, per mL", "category": "Medications", "kind": "product",
                        "price": 125, "taxable": true,
                        "drug": {"drug_id": "Meloxicam", "form": "suspension", "strength": 0.5}}),
    )
    .await;
}

/// Books a wellness appointment for the clinic's cat and takes it in progress: the visit opens.
async fn open_visit(c: &Clinic, at: &str) -> (String, String) {
    let appt = id_of(&c.book(&c.wellness(&format!("{DAY}T{at}:00-05:00"))).await);
    for to in ["checked_in", "in_progress"] {
        assert_eq!(c.transition(&appt, to).await.status(), StatusCode::OK);
    }
    let page = c.app.get_json(&format!("/api/visits?patient_id={}", c.cat)).await;
    let visit = page["items"].as_array().unwrap().iter().find(|v| v["appointment_id"] == appt.as_str()).unwrap();
    (appt, id_of(visit))
}

/// The visit's invoices (oldest first) once `done` holds.
async fn invoices_when(app: &TestApp, visit: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let page = app
        .poll_json(&format!("/api/invoices?visit_id={visit}"), |p| {
            let mut items = p["items"].as_array().unwrap().clone();
            items.reverse();
            done(&items)
        })
        .await;
    let mut items = page["items"].as_array().unwrap().clone();
    items.reverse();
    items
}

fn sources(inv: &Value) -> Vec<String> {
    inv["lines"].as_array().unwrap().iter().map(|l| l["source"].as_str().unwrap_or("-").to_owned()).collect()
}

/// Waits until capture has handled every event in the log.
async fn settled(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let last = app.system.store().last_seq();
        if app.system.capture.captured_seq() >= last {
            return;
        }
        assert!(Instant::now() < deadline, "capture is stuck at {} of {last}", app.system.capture.captured_seq());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_visit_fills_its_draft_as_it_happens_and_a_restart_doubles_nothing() {
    let c = Clinic::new().await;
    price_list(&c).await;
    let (_, visit) = open_visit(&c, "10:00").await;
    let cat = c.cat.clone();

    // Opened: the draft, for the visit's client, cat and location, with the exam fee.
    let invs = invoices_when(&c.app, &visit, |i| i.len() == 1 && !i[0]["lines"].as_array().unwrap().is_empty()).await;
    let draft = &invs[0];
    assert_eq!((draft["status"].as_str(), draft["client_id"].as_str()), (Some("draft"), Some(c.client.as_str())));
    assert_eq!(
        (draft["patient_id"].as_str(), draft["visit_id"].as_str()),
        (Some(c.cat.as_str()), Some(visit.as_str()))
    );
    assert_eq!(draft["location_id"].as_str(), Some(c.location.as_str()));
    let exam = &draft["lines"][0];
    assert_eq!((exam["description"].as_str(), exam["unit_price"].as_i64()), (Some("Wellness exam"), Some(6500)));
    assert_eq!(exam["source"].as_str(), Some(format!("visit:{visit}").as_str()));
    let draft_id = id_of(draft);

    // A dose of FVRCP: a line at the catalogue's price. FeLV has no item: an uncharged entry.
    let dose = |vaccine: &str| json!({"patient_id": c.cat, "vaccine": vaccine, "product": "Purevax", "lot": "L1", "visit_id": visit});
    let fvrcp =
        id_of(&expect_json(c.app.post_json("/api/vaccinations", &dose("fvrcp")).await, StatusCode::CREATED).await);
    let felv =
        id_of(&expect_json(c.app.post_json("/api/vaccinations", &dose("felv")).await, StatusCode::CREATED).await);
    let invs = invoices_when(&c.app, &visit, |i| {
        i[0]["lines"].as_array().unwrap().len() == 2 && i[0]["uncharged"].as_array().unwrap().len() == 1
    })
    .await;
    assert_eq!(invs.len(), 1, "one draft per visit");
    let line = &invs[0]["lines"][1];
    assert_eq!((line["description"].as_str(), line["unit_price"].as_i64()), (Some("FVRCP vaccine"), Some(3500)));
    assert_eq!(line["source"].as_str(), Some(format!("vaccination:{fvrcp}").as_str()));
    let entry = &invs[0]["uncharged"][0];
    assert_eq!(entry["source"].as_str(), Some(format!("vaccination:{felv}").as_str()));
    assert!(entry["description"].as_str().unwrap().contains("felv"), "{entry}");
    assert!(entry["reason"].as_str().unwrap().contains("no active catalogue item"), "{entry}");
    assert!(entry["resolved_at"].is_null());
    assert_eq!(invs[0]["totals"]["total"].as_i64(), Some(10_000));

    // A prescription dispensed from stock: the quantity that left the shelf, at the price per mL.
    let (vet, _) = staff_vet(&c.app, "dr.capture", true, "2580").await;
    weigh(&c.app, &c.cat, 4.0).await;
    let mut rx = meloxicam(&c.cat);
    rx["visit_id"] = json!(visit);
    rx["quantity"] = json!(7.5);
    let rx = id_of(&expect_json(vet.post("/api/prescriptions", &rx).await, StatusCode::CREATED).await);
    let product = json!({"name": "Meloxicam 0.5 mg/mL", "sku": "MEL-05", "kind": "medication", "unit": "mL",
                         "formulary": {"drug": "meloxicam", "form": "suspension", "strength": 0.5}});
    let product =
        id_of(&expect_json(c.app.post_json("/api/inventory/products", &product).await, StatusCode::CREATED).await);
    // Two lots: the fill takes 5 mL from one and 2.5 from the other (two ledger entries, one line).
    for (lot, expires, qty) in [("A", "2030-01-01", 5.0), ("B", "2031-01-01", 10.0)] {
        let body = json!({"lot_number": lot, "expires_on": expires, "quantity": qty});
        let path = format!("/api/inventory/products/{product}/receive");
        expect_json(c.app.post_json(&path, &body).await, StatusCode::OK).await;
    }
    let dispensed =
        expect_json(c.app.post_json(&format!("/api/prescriptions/{rx}/dispense"), &json!({})).await, StatusCode::OK)
            .await;
    assert_eq!(dispensed["entries"].as_array().unwrap().len(), 2, "{dispensed}");
    let invs = invoices_when(&c.app, &visit, |i| i[0]["lines"].as_array().unwrap().len() == 3).await;
    let line = &invs[0]["lines"][2];
    assert_eq!(line["source"].as_str(), Some(format!("dispense:{rx}/0").as_str()));
    assert_eq!((line["quantity"].as_f64(), line["unit_price"].as_i64()), (Some(7.5), Some(125)));
    assert_eq!((line["taxable"].as_bool(), line["amounts"]["gross"].as_i64()), (Some(true), Some(938)), "{line}");

    // Staff edit the draft: the exam at a courtesy price, the FVRCP line taken off. Kept.
    let mut lines: Vec<Value> = Vec::new();
    lines.push(json!({"description": "Wellness exam (courtesy)", "unit_price": 5000}));
    lines.push(json!({"description": "Meloxicam 0.5 mg/mL", "quantity": 7.5, "unit_price": 125, "taxable": true}));
    let edited = expect_json(
        c.app.patch_json(&format!("/api/invoices/{draft_id}"), &json!({"lines": lines})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(edited["lines"].as_array().unwrap().len(), 2);
    let edited_lines = edited["lines"].clone();

    // Everything settled; then the cursor is set back to the start of the log, as if every
    // charge were still to be captured, and the server restarts: the replay adds nothing
    // (each source is claimed once, ever), and the staff edit stands.
    settled(&c.app).await;
    let mut set = clowder_actors::store::ChangeSet::new();
    set.put(
        clowder_actors::store::RecordTable::ChargeCapture,
        0,
        &clowder_schemas::capture::CaptureCursor { through_seq: 0 },
    )
    .unwrap();
    c.app.system.store().commit(set).await.unwrap();
    let Clinic { app, .. } = c;
    let dir = app.stop().await;
    let app = TestApp::spawn_with(|args| args.data_dir = dir.path().into()).await;
    app.login_admin().await;
    settled(&app).await;
    let invs = invoices_when(&app, &visit, |_| true).await;
    assert_eq!(invs.len(), 1);
    assert_eq!(invs[0]["lines"], edited_lines, "the staff edit is kept, nothing added again");
    assert_eq!(invs[0]["uncharged"].as_array().unwrap().len(), 1, "the uncharged entry, once");

    // A last charge written just before a stop: captured before or after it, exactly once.
    let late = json!({"patient_id": cat, "vaccine": "fvrcp", "product": "Purevax", "lot": "L2", "visit_id": visit});
    let late = id_of(&expect_json(app.post_json("/api/vaccinations", &late).await, StatusCode::CREATED).await);
    let dir2 = app.stop().await;
    let app = TestApp::spawn_with(|args| args.data_dir = dir.path().into()).await;
    app.login_admin().await;
    let invs = invoices_when(&app, &visit, |i| i[0]["lines"].as_array().unwrap().len() == 3).await;
    settled(&app).await;
    let invs_after = invoices_when(&app, &visit, |_| true).await;
    assert_eq!(invs, invs_after, "nothing more arrives once settled");
    assert_eq!(invs.len(), 1);
    assert_eq!(sources(&invs[0])[2], format!("vaccination:{late}"), "the late dose, once");
    drop((dir, dir2));
}

#[tokio::test]
async fn a_charge_after_issue_goes_on_a_new_draft_and_the_batch_issues_completed_visits_once() {
    let c = Clinic::new().await;
    price_list(&c).await;
    let (appt, visit) = open_visit(&c, "10:00").await;
    let invs = invoices_when(&c.app, &visit, |i| i.len() == 1 && i[0]["lines"].as_array().unwrap().len() == 1).await;
    let first = id_of(&invs[0]);
    let issued =
        expect_json(c.app.post_json(&format!("/api/invoices/{first}/issue"), &json!({})).await, StatusCode::OK).await;
    assert_eq!(issued["status"], "issued");

    // Issued: the next charge of the visit starts a new draft.
    let dose = json!({"patient_id": c.cat, "vaccine": "fvrcp", "product": "Purevax", "lot": "L1", "visit_id": visit});
    expect_json(c.app.post_json("/api/vaccinations", &dose).await, StatusCode::CREATED).await;
    let invs = invoices_when(&c.app, &visit, |i| i.len() == 2 && i[1]["lines"].as_array().unwrap().len() == 1).await;
    assert_eq!((invs[0]["status"].as_str(), invs[1]["status"].as_str()), (Some("issued"), Some("draft")));
    assert_eq!(invs[0]["lines"].as_array().unwrap().len(), 1, "the issued invoice is unchanged");
    let second = id_of(&invs[1]);

    // A second visit (the other cat) with only an uncharged entry: a walk-in has no exam fee.
    let walk_in = json!({"patient_id": c.cat2, "vet_id": c.vet, "type": "sick", "chief_complaint": "Sneezing"});
    let other = id_of(&expect_json(c.app.post_json("/api/visits", &walk_in).await, StatusCode::CREATED).await);
    let others =
        invoices_when(&c.app, &other, |i| i.len() == 1 && i[0]["uncharged"].as_array().unwrap().len() == 1).await;
    let other_draft = id_of(&others[0]);
    assert!(others[0]["lines"].as_array().unwrap().is_empty());

    // Both visits completed today (clinic time).
    assert_eq!(c.transition(&appt, "completed").await.status(), StatusCode::OK);
    let done =
        expect_json(c.app.post_json(&format!("/api/visits/{other}/complete"), &json!({})).await, StatusCode::OK).await;
    let day: jiff::civil::Date = done["completed_at"].as_str().unwrap()[..10].parse().unwrap();
    let range = json!({"from": day.yesterday().unwrap(), "to": day.tomorrow().unwrap()});

    assert_error(
        c.app.post_json("/api/invoice-batches", &json!({"from": "2026-02-01", "to": "2026-01-01"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("to"),
    )
    .await;
    let batch = expect_json(c.app.post_json("/api/invoice-batches", &range).await, StatusCode::ACCEPTED).await;
    let path = format!("/api/invoice-batches/{}", id_of(&batch));
    let report = c.app.poll_json(&path, |b| b["status"] == "done").await;
    assert_eq!((report["total"].as_u64(), report["done"].as_u64()), (Some(2), Some(2)), "{report}");
    let issued = report["issued"].as_array().unwrap();
    let mine: Vec<(&str, bool)> =
        issued.iter().map(|i| (i["invoice_id"].as_str().unwrap(), i["already"].as_bool().unwrap())).collect();
    assert_eq!(mine, [(first.as_str(), true), (second.as_str(), false)], "{report}");
    assert!(issued.iter().all(|i| i["visit_id"] == visit.as_str()), "{report}");
    let failed = report["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{report}");
    assert_eq!(
        (failed[0]["visit_id"].as_str(), failed[0]["code"].as_str()),
        (Some(other.as_str()), Some("uncharged_items"))
    );
    assert_eq!(failed[0]["invoice_id"].as_str(), Some(other_draft.as_str()));
    let numbered = c.app.get_json(&format!("/api/invoices/{second}")).await;
    assert_eq!(numbered["status"], "issued");
    assert!(numbered["number"].as_str().unwrap().starts_with("INV-"));

    // The front desk charges the walk-in's exam by hand and resolves the entry; a second
    // batch over the same range issues it, and reports the first visit's invoices as issued
    // already: nothing is issued twice.
    let source = others[0]["uncharged"][0]["source"].as_str().unwrap().to_owned();
    let lines = json!([{"description": "Sick exam", "unit_price": 7000}]);
    expect_json(c.app.post_json(&format!("/api/invoices/{other_draft}/lines"), &lines).await, StatusCode::OK).await;
    assert_error(
        c.app.post_json(&format!("/api/invoices/{other_draft}/uncharged/resolve"), &json!({"source": "visit:x"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("source"),
    )
    .await;
    let resolved = expect_json(
        c.app.post_json(&format!("/api/invoices/{other_draft}/uncharged/resolve"), &json!({"source": source})).await,
        StatusCode::OK,
    )
    .await;
    assert!(resolved["uncharged"][0]["resolved_at"].is_string(), "the entry stays listed, resolved");
    let batch = expect_json(c.app.post_json("/api/invoice-batches", &range).await, StatusCode::ACCEPTED).await;
    let report = c.app.poll_json(&format!("/api/invoice-batches/{}", id_of(&batch)), |b| b["status"] == "done").await;
    assert!(report["failed"].as_array().unwrap().is_empty(), "{report}");
    let issued: Vec<(String, bool)> = report["issued"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["invoice_id"].as_str().unwrap().to_owned(), i["already"].as_bool().unwrap()))
        .collect();
    assert_eq!(issued.len(), 3, "{report}");
    assert!(issued.contains(&(first.clone(), true)) && issued.contains(&(second.clone(), true)), "{report}");
    assert!(issued.contains(&(other_draft.clone(), false)), "{report}");

    // Two drafts on one visit (charges after its issue, a draft made by hand): the batch
    // issues neither and names the visit; which to issue or merge is the front desk's call.
    let mut drafts = Vec::new();
    for price in [1000, 2000] {
        let body = json!({"client_id": c.client, "patient_id": c.cat, "visit_id": visit,
                          "lines": [{"description": "Nail trim", "unit_price": price}]});
        drafts.push(id_of(&expect_json(c.app.post_json("/api/invoices", &body).await, StatusCode::CREATED).await));
    }
    let batch = expect_json(c.app.post_json("/api/invoice-batches", &range).await, StatusCode::ACCEPTED).await;
    let report = c.app.poll_json(&format!("/api/invoice-batches/{}", id_of(&batch)), |b| b["status"] == "done").await;
    let failed = report["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{report}");
    assert_eq!(
        (failed[0]["visit_id"].as_str(), failed[0]["code"].as_str()),
        (Some(visit.as_str()), Some("several_drafts"))
    );
    for d in &drafts {
        assert!(failed[0]["reason"].as_str().unwrap().contains(d.as_str()), "{report}");
        assert_eq!(c.app.get_json(&format!("/api/invoices/{d}")).await["status"], "draft");
    }
}

#[tokio::test]
async fn a_drug_link_is_resolved_through_the_formulary_to_inventorys_key() {
    let app = TestApp::signed_in().await;
    let body =
        |drug: Value| json!({"name": "Drug", "category": "Medications", "kind": "product", "price": 100, "drug": drug});
    for (drug, field) in [
        (json!({"drug_id": "unobtainium"}), "drug.drug_id"),
        (json!({"drug_id": "meloxicam", "form": "tablet", "strength": 0.5}), "drug.form"),
        (json!({"drug_id": "meloxicam", "form": "suspension", "strength": 7}), "drug.strength"),
        (json!({"drug_id": "meloxicam", "strength": 0.5}), "drug.form"),
    ] {
        let res = app.post_json("/api/catalogue", &body(drug)).await;
        assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field)).await;
    }
    // A name becomes the formulary's id; the claim is inventory's key, so a second item for
    // the same drug, form and strength is refused, and one for the whole drug is another key.
    let exact = body(json!({"drug_id": "Meloxicam", "form": "suspension", "strength": 0.5}));
    let saved = expect_json(app.post_json("/api/catalogue", &exact).await, StatusCode::CREATED).await;
    assert_eq!(saved["drug"], json!({"drug_id": "meloxicam", "form": "suspension", "strength": 0.5}));
    let again = body(json!({"drug_id": "meloxicam", "form": "suspension", "strength": 0.5}));
    assert_error(app.post_json("/api/catalogue", &again).await, StatusCode::CONFLICT, "duplicate_value", Some("drug"))
        .await;
    expect_json(app.post_json("/api/catalogue", &body(json!({"drug_id": "meloxicam"}))).await, StatusCode::CREATED)
        .await;
}

/// A store from before charge capture has events but no cursor (and no claims): at the
/// upgrade capture starts at the log's head, so no past visit is charged again; what happens
/// after the start is captured as usual.
#[tokio::test]
async fn an_upgraded_store_without_a_cursor_does_not_charge_the_past_again() {
    let c = Clinic::new().await;
    price_list(&c).await;
    let (_, visit) = open_visit(&c, "10:00").await;
    let invs = invoices_when(&c.app, &visit, |i| i.len() == 1 && !i[0]["lines"].as_array().unwrap().is_empty()).await;
    let invoice = id_of(&invs[0]);
    expect_json(c.app.post_json(&format!("/api/invoices/{invoice}/issue"), &json!({})).await, StatusCode::OK).await;
    settled(&c.app).await;
    // As before this release: no cursor, no claim of the visit's charge.
    let mut set = clowder_actors::store::ChangeSet::new();
    set.delete(clowder_actors::store::RecordTable::ChargeCapture, 0);
    let owner: clowder_schemas::ids::InvoiceId = invoice.parse().unwrap();
    set.release("captured_charge", &format!("visit:{visit}"), owner.as_u128());
    c.app.system.store().commit(set).await.unwrap();
    let Clinic { app, .. } = c;
    let dir = app.stop().await;
    let app = TestApp::spawn_with(|args| args.data_dir = dir.path().into()).await;
    app.login_admin().await;
    settled(&app).await;
    let invs = invoices_when(&app, &visit, |_| true).await;
    assert_eq!(invs.len(), 1, "no new draft for the visit's past charges: {invs:?}");
    assert_eq!(invs[0]["status"].as_str(), Some("issued"));
    // The cursor is written at the head, so a second restart starts there too.
    let cursor = app
        .system
        .store()
        .read()
        .unwrap()
        .get::<clowder_schemas::capture::CaptureCursor>(clowder_actors::store::RecordTable::ChargeCapture, 0)
        .unwrap();
    assert!(cursor.is_some(), "the cursor is written at the start");
    // After the start, charges are captured: a dose on the visit goes on a new draft.
    let dose = json!({"patient_id": invs[0]["patient_id"], "vaccine": "fvrcp", "product": "Purevax", "lot": "L1", "visit_id": visit});
    let dose = id_of(&expect_json(app.post_json("/api/vaccinations", &dose).await, StatusCode::CREATED).await);
    let invs = invoices_when(&app, &visit, |i| i.len() == 2 && !i[1]["lines"].as_array().unwrap().is_empty()).await;
    assert_eq!(sources(&invs[1]), vec![format!("vaccination:{dose}")]);
    drop(dir);
}

/// A visit imported as of the past (the demo's year of history, a migration) is history:
/// no exam fee, and a dose recorded at it is not charged either; a live visit still is.
#[tokio::test]
async fn an_imported_visit_is_history_and_is_not_charged() {
    let c = Clinic::new().await;
    price_list(&c).await;
    let now = c.app.system.ctx.clock.now();
    let opened = now - jiff::SignedDuration::from_hours(24 * 30);
    let completed = Some(opened + jiff::SignedDuration::from_mins(30));
    let old = import_visit(&c, opened, completed).await.id.to_string();
    let dose = json!({"patient_id": c.cat, "vaccine": "fvrcp", "product": "Purevax", "lot": "L1", "visit_id": old});
    expect_json(c.app.post_json("/api/vaccinations", &dose).await, StatusCode::CREATED).await;
    // A live visit after them is charged, so capture has handled both events before it.
    let (_, live) = open_visit(&c, "10:00").await;
    invoices_when(&c.app, &live, |i| i.len() == 1 && !i[0]["lines"].as_array().unwrap().is_empty()).await;
    settled(&c.app).await;
    assert!(invoices_when(&c.app, &old, |_| true).await.is_empty(), "the imported visit has no invoice");
}

#[tokio::test]
async fn a_past_dose_recorded_without_a_visit_is_history_and_is_not_charged() {
    let c = Clinic::new().await;
    price_list(&c).await;
    // Last spring's FVRCP from the cat's previous clinic, written down today: not a sale.
    let past =
        json!({"patient_id": c.cat, "vaccine": "fvrcp", "product": "Purevax", "lot": "L9", "given_on": "2026-04-02"});
    expect_json(c.app.post_json("/api/vaccinations", &past).await, StatusCode::CREATED).await;
    // A dose given today without a visit is charged on the cat's own draft.
    let today = json!({"patient_id": c.cat, "vaccine": "fvrcp", "product": "Purevax", "lot": "L1"});
    let given = id_of(&expect_json(c.app.post_json("/api/vaccinations", &today).await, StatusCode::CREATED).await);
    let invoices = format!("/api/clients/{}/invoices", c.client);
    c.app.poll_json(&invoices, |p| p["items"].as_array().is_some_and(|i| !i.is_empty())).await;
    settled(&c.app).await;
    // Read again once capture has settled: the draft can be seen before its line is on it.
    let page = c.app.get_json(&invoices).await;
    let all: Vec<String> = page["items"].as_array().unwrap().iter().flat_map(sources).collect();
    assert_eq!(all, vec![format!("vaccination:{given}")], "only today's dose is charged");
}

/// The invoice batch reads only its range: completed visits are kept under their completion
/// day (`visits_by_completion_day`, by the visit's own change sets), so a range holding none
/// of the store's many completed visits reads none of them, and a range holding a few reads
/// those few; a visit still open is never in it.
#[tokio::test]
async fn the_visit_batch_reads_only_the_visits_completed_in_its_range() {
    let c = Clinic::new().await;
    let now = c.app.system.ctx.clock.now();
    let zone = c.app.system.ctx.config.time_zone.clone();
    let mut old = Vec::new();
    // Forty visits completed over forty days long ago, and one still open.
    for n in 0..41i64 {
        let opened = now - jiff::SignedDuration::from_hours(24 * (100 + n));
        let v = import_visit(&c, opened, (n < 40).then(|| opened + jiff::SignedDuration::from_mins(30))).await;
        if n < 40 {
            old.push((v.completed_at.unwrap().to_zoned(zone.clone()).date(), v.id));
        }
    }
    let reader = c.app.system.store().read().unwrap();
    let mut linked = 0;
    reader
        .index_from(clowder_actors::store::IndexTable::VisitsByCompletionDay, (0, 0), |_| {
            linked += 1;
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(linked, 40, "every completed visit, and only those, under its day");
    let between = |from, to| clowder_actors::billing::generate::completed_between(&reader, &zone, from, to).unwrap();
    let today = c.app.system.ctx.today();
    assert!(between(today.checked_sub(jiff::Span::new().days(30)).unwrap(), today).is_empty());
    let (first_day, _) = old[39];
    let (third_day, _) = old[37];
    let mut want: Vec<_> = old[37..40].iter().map(|(_, id)| *id).collect();
    want.sort();
    assert_eq!(between(first_day, third_day), want, "the three oldest days, exactly");
    drop(reader);
    // Kept by the visits' change sets: the start-up fill finds it full.
    assert_eq!(c.app.system.invoice_batches.ensure_completion_index().await.unwrap(), 0);

    // The batch over last month finds none of them.
    let range = json!({"from": today.checked_sub(jiff::Span::new().days(30)).unwrap(), "to": today});
    let batch = expect_json(c.app.post_json("/api/invoice-batches", &range).await, StatusCode::ACCEPTED).await;
    let report = c.app.poll_json(&format!("/api/invoice-batches/{}", id_of(&batch)), |b| b["status"] == "done").await;
    assert_eq!(report["total"], 0, "{report}");
}

/// A wellness visit of the clinic's cat imported as of `opened` (history), completed then or
/// still open.
async fn import_visit(
    c: &Clinic,
    opened: jiff::Timestamp,
    completed_at: Option<jiff::Timestamp>,
) -> clowder_schemas::visits::Visit {
    let body = clowder_schemas::visits::ImportVisit {
        patient_id: c.cat.parse().unwrap(),
        vet_id: c.vet.parse().unwrap(),
        visit_type: clowder_schemas::visits::VisitType::Wellness,
        chief_complaint: "Annual exam".into(),
        location_id: Some(c.location.parse().unwrap()),
        completed_at,
    };
    c.app.system.visits.import(opened, body, None, &clowder_schemas::audit::Caller::system()).await.unwrap()
}

/// A clean stop records how far capture got, even when no charge moved the cursor since: the
/// next start replays nothing (before, up to 500 uncharged events were replayed each time).
#[tokio::test]
async fn a_clean_stop_records_the_cursor_so_a_restart_replays_nothing() {
    let app = TestApp::signed_in().await;
    settled(&app).await;
    // A few events no item charges: the follower passes over them without writing its cursor.
    for n in 0..3 {
        app.create_client(crate::helpers::client_body("Ada", &format!("Stop{n}"))).await;
    }
    settled(&app).await;
    let head = app.system.store().last_seq();
    let dir = app.stop().await;

    // Read the stopped server's store as it is on disk.
    let config = clowder_actors::SystemConfig::new(dir.path());
    let store_config = clowder_actors::store::StoreConfig {
        path: config.store_path(),
        clinic_id: config.clinic_id.clone(),
        cache_bytes: config.cache_bytes,
        journal: None,
    };
    let clock: std::sync::Arc<dyn clowder_actors::Clock> = std::sync::Arc::new(clowder_actors::SystemClock);
    let store = clowder_actors::store::Store::open(&store_config, clock, Default::default()).unwrap();
    let cursor = store
        .read()
        .unwrap()
        .get::<clowder_schemas::capture::CaptureCursor>(clowder_actors::store::RecordTable::ChargeCapture, 0)
        .unwrap()
        .expect("a cursor");
    tokio::task::spawn_blocking(move || store.close()).await.unwrap();
    assert!(cursor.through_seq >= head, "the cursor at stop is {} of the log's {head}", cursor.through_seq);
    drop(dir);
}
