//! Labs end to end: an order from a visit charged through capture (or uncharged without a
//! catalogue item), results converted and flagged against the ranges in force, review and
//! sign-off by a veterinarian once, amendments keeping the original, trends; the import as
//! JSON and HL7 ORU^R01 with its ACK, matching by order and cat, and the unmatched queue
//! (truncated, other encodings, unknown cats, orders and analytes, another cat's order,
//! cancelled orders), attach and discard; `lab_result_ready` on the cat's topic.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::calendar::Clinic;
use crate::helpers::{TestApp, assert_error, expect_json, id_of};
use crate::live::{connect, next, send};
use crate::visits::{as_user, vet_with_account, walk_in};

async fn visit(c: &Clinic, cat: &str, vet: &str) -> String {
    id_of(&expect_json(c.app.post_json("/api/visits", &walk_in(cat, vet)).await, StatusCode::CREATED).await)
}

async fn order(app: &TestApp, visit: &str, test: &str) -> Value {
    expect_json(app.post_json("/api/lab-orders", &json!({"visit_id": visit, "test": test})).await, StatusCode::CREATED)
        .await
}

fn num(analyte: &str, value: f64, unit: &str) -> Value {
    json!({"analyte": analyte, "value": value, "unit": unit})
}

/// An ORU^R01 with one OBR of `order` for `cat` and `obx` rows `(type, id, value, unit)`.
fn oru(control: &str, cat: &str, order: &str, test: &str, obx: &[(&str, &str, &str, &str)]) -> String {
    let mut m = format!(
        "MSH|^~\\&|VETLAB|REFLAB|CLOWDER|CLINIC|20261206083000||ORU^R01^ORU_R01|{control}|P|2.5.1||||||UNICODE UTF-8\r\
         PID|1||{cat}^^^CLOWDER~L-5521^^^REFLAB||Mittens^^^^||20190301|F\r\
         ORC|RE|{order}|L-{control}\r\
         OBR|1|{order}|L-{control}|{test}^Lab test|||20261206080000\r"
    );
    for (i, (ty, id, value, unit)) in obx.iter().enumerate() {
        m.push_str(&format!("OBX|{}|{ty}|{id}^{id}||{value}|{unit}|||||F\r", i + 1));
    }
    m
}

async fn post_hl7(app: &TestApp, body: Vec<u8>) -> String {
    let res = app
        .request(Method::POST, "/api/lab-results/import")
        .header("content-type", "application/hl7-v2")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/hl7-v2");
    res.text().await.unwrap()
}

fn msa(ack: &str) -> &str {
    let at = ack.find("MSA|").expect("an MSA segment");
    &ack[at + 4..at + 6]
}

async fn open_queue(app: &TestApp) -> Vec<Value> {
    app.get_json("/api/lab-results/unmatched?limit=100").await["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn an_order_is_charged_its_results_flagged_and_a_vet_signs_it_off_once() {
    let c = Clinic::new().await;
    let (vet, vet_staff) = vet_with_account(&c.app, "dr.labs").await;
    let item =
        json!({"name": "Chem 10", "category": "Laboratory", "kind": "service", "price": 9800, "lab_test": "chem10"});
    expect_json(c.app.post_json("/api/catalogue", &item).await, StatusCode::CREATED).await;
    let v = visit(&c, &c.cat, &vet_staff).await;

    // Ordered once, even when the request is retried with its key.
    let send = || {
        c.app
            .request(Method::POST, "/api/lab-orders")
            .header("Idempotency-Key", "chem-order-1")
            .json(&json!({"visit_id": v, "test": "CHEM10"}))
            .send()
    };
    let chem = expect_json(send().await.unwrap(), StatusCode::CREATED).await;
    let again = expect_json(send().await.unwrap(), StatusCode::CREATED).await;
    assert_eq!(again["id"], chem["id"]);
    let chem_id = id_of(&chem);
    assert_eq!((chem["status"].as_str(), chem["analytes"].as_array().unwrap().len()), (Some("ordered"), 10));
    let t4 = id_of(&order(&c.app, &v, "T4").await);
    let res = c.app.post_json("/api/lab-orders", &json!({"visit_id": v, "test": "NOPE"})).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("test")).await;

    // Charged on the visit's draft: CHEM10 at its item's price; T4 has no item: uncharged.
    let page = c
        .app
        .poll_json(&format!("/api/invoices?visit_id={v}"), |p| {
            p["items"].as_array().is_some_and(|i| {
                i.iter().any(|inv| {
                    inv["lines"].as_array().unwrap().iter().any(|l| l["source"] == format!("lab_order:{chem_id}"))
                        && inv["uncharged"].as_array().unwrap().iter().any(|u| u["source"] == format!("lab_order:{t4}"))
                })
            })
        })
        .await;
    let draft = &page["items"][0];
    let line =
        draft["lines"].as_array().unwrap().iter().find(|l| l["source"] == format!("lab_order:{chem_id}")).unwrap();
    assert_eq!(line["unit_price"], 9800);

    // Results: creatinine in µmol/L converted to mg/dL and flagged H; glucose critically low.
    let results = format!("/api/lab-orders/{chem_id}/results");
    let body = json!({"results": [num("CREA", 300.0, "µmol/L"), num("GLU", 30.0, "mg/dL"), num("ALB", 3.1, "g/dL")]});
    let o = expect_json(c.app.post_json(&results, &body).await, StatusCode::OK).await;
    assert_eq!(o["status"], "partial");
    let r = |o: &Value, a: &str| o["results"].as_array().unwrap().iter().find(|r| r["analyte"] == a).unwrap().clone();
    let crea = r(&o, "CREA");
    assert_eq!(
        (crea["unit"].as_str(), crea["flag"].as_str(), crea["reported_unit"].as_str()),
        (Some("mg/dL"), Some("H"), Some("µmol/L"))
    );
    assert!((crea["value"].as_f64().unwrap() - 3.3937).abs() < 0.001, "{crea}");
    assert_eq!(crea["ranges_version"], 1);
    assert_eq!(r(&o, "GLU")["flag"], "LL");
    assert_eq!(r(&o, "ALB")["flag"], Value::Null);
    // A unit the range does not know, or an analyte of another test: refused, naming it.
    let res = c.app.post_json(&results, &json!({"results": [num("CREA", 1.0, "g/L")]})).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("results[0]")).await;
    let res = c.app.post_json(&results, &json!({"results": [num("TT4", 1.0, "µg/dL")]})).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("results[0]")).await;

    // Review before every result is in: refused.
    let review = format!("/api/lab-orders/{chem_id}/review");
    let res = as_user(&c.app, &vet, Method::POST, &review, Some(&json!({}))).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("status")).await;
    let rest = json!({"results": [num("ALKP", 40.0, "U/L"), num("ALT", 60.0, "U/L"), num("BUN", 10.0, "mmol/L"),
        num("GLOB", 4.0, "g/dL"), num("TP", 70.0, "g/L"), num("PHOS", 5.0, "mg/dL"), num("CA", 9.5, "mg/dL")]});
    let o = expect_json(c.app.post_json(&results, &rest).await, StatusCode::OK).await;
    assert_eq!(o["status"], "resulted");
    assert_eq!(r(&o, "TP")["value"], 7.0);

    // Sign-off: not the administrator (no veterinarian profile), a vet once, never twice.
    let res = c.app.post_json(&review, &json!({})).await;
    assert_error(res, StatusCode::FORBIDDEN, "forbidden", None).await;
    let res =
        as_user(&c.app, &vet, Method::POST, &review, Some(&json!({"note": "Azotaemic; recheck in 2 weeks"}))).await;
    let o = expect_json(res, StatusCode::OK).await;
    assert_eq!(
        (o["status"].as_str(), o["review_note"].as_str()),
        (Some("reviewed"), Some("Azotaemic; recheck in 2 weeks"))
    );
    let res = as_user(&c.app, &vet, Method::POST, &review, Some(&json!({}))).await;
    assert_error(res, StatusCode::CONFLICT, "lab_order_reviewed", None).await;
    // Never edited after sign-off: new results are refused, a correction is an amendment.
    let res = c.app.post_json(&results, &json!({"results": [num("CREA", 1.0, "mg/dL")]})).await;
    assert_error(res, StatusCode::CONFLICT, "lab_order_reviewed", None).await;
    let amend = json!({"result": num("CREA", 2.1, "mg/dL"), "reason": "transcribed from the wrong sample"});
    let o =
        expect_json(c.app.post_json(&format!("/api/lab-orders/{chem_id}/amend"), &amend).await, StatusCode::OK).await;
    assert_eq!((r(&o, "CREA")["value"].as_f64(), r(&o, "CREA")["flag"].as_str()), (Some(2.1), None));
    assert_eq!(o["amendments"][0]["original"]["flag"], "H");
    assert_eq!(o["status"], "reviewed");

    // The trend of creatinine on the cat's chart; another analyte without a range is refused.
    let trend = c.app.get_json(&format!("/api/patients/{}/lab-trends?analyte=crea", c.cat)).await;
    assert_eq!((trend["unit"].as_str(), trend["points"].as_array().unwrap().len()), (Some("mg/dL"), 1));
    assert_eq!(trend["points"][0]["value"], 2.1);
    let res = c.app.get(&format!("/api/patients/{}/lab-trends?analyte=XYZ", c.cat)).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("analyte")).await;
    // The other client's cat has no lab orders, and sees none of these.
    let other = c.app.get_json(&format!("/api/patients/{}/lab-orders", c.cat2)).await;
    assert_eq!(other["items"], json!([]));
    let other = c.app.get_json(&format!("/api/patients/{}/lab-trends?analyte=CREA", c.cat2)).await;
    assert_eq!(other["points"], json!([]));
    let mine = c.app.get_json(&format!("/api/patients/{}/lab-orders?visit_id={v}", c.cat)).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn hl7_results_go_on_their_order_and_cat_and_anything_unclear_waits_in_the_queue() {
    let c = Clinic::new().await;
    let v1 = visit(&c, &c.cat, &c.vet).await;
    let v2 = visit(&c, &c.cat2, &c.vet).await;
    let mine = id_of(&order(&c.app, &v1, "T4").await);
    let theirs = id_of(&order(&c.app, &v2, "T4").await);

    // Matched by the order id and the cat: AA, the T4 converted from nmol/L and flagged.
    let ack = post_hl7(&c.app, oru("M1", &c.cat, &mine, "TT4", &[("NM", "TT4", "77.2", "nmol/L")]).into_bytes()).await;
    assert_eq!(msa(&ack), "AA", "{ack}");
    assert!(ack.contains("|M1|"), "the ACK names the message: {ack}");
    let o = c.app.get_json(&format!("/api/lab-orders/{mine}")).await;
    assert_eq!((o["status"].as_str(), o["results"][0]["flag"].as_str()), (Some("resulted"), Some("H")));
    assert_eq!(o["results"][0]["source"], "hl7");

    // Another cat's order named with this cat: queued (AE), never on either cat.
    let ack = post_hl7(&c.app, oru("M2", &c.cat, &theirs, "TT4", &[("NM", "TT4", "2.0", "ug/dL")]).into_bytes()).await;
    assert_eq!(msa(&ack), "AE", "{ack}");
    assert_eq!(c.app.get_json(&format!("/api/lab-orders/{theirs}")).await["status"], "ordered");
    // An unknown cat, an unknown order, an unknown analyte: queued.
    let stranger = "01JZZZZZZZZZZZZZZZZZZZZZZZ";
    let ack =
        post_hl7(&c.app, oru("M3", stranger, &theirs, "TT4", &[("NM", "TT4", "2.0", "ug/dL")]).into_bytes()).await;
    assert_eq!(msa(&ack), "AE");
    assert!(ack.contains("unknown patient"), "{ack}");
    let ack = post_hl7(
        &c.app,
        oru("M4", &c.cat2, "01JZZZZZZZZZZZZZZZZZZZZZZY", "TT4", &[("NM", "TT4", "2", "ug/dL")]).into_bytes(),
    )
    .await;
    assert_eq!(msa(&ack), "AE");
    let ack =
        post_hl7(&c.app, oru("M5", &c.cat2, &theirs, "TT4", &[("NM", "FRUCTOSAMINE", "310", "umol/L")]).into_bytes())
            .await;
    assert_eq!(msa(&ack), "AE");
    assert!(ack.contains("FRUCTOSAMINE"), "{ack}");
    // Truncated in the middle of an OBX: rejected (AR) but kept.
    let full = oru("M6", &c.cat2, &theirs, "TT4", &[("NM", "TT4", "2.5", "ug/dL")]);
    let cut = full[..full.rfind("OBX").unwrap() + 12].to_owned();
    let ack = post_hl7(&c.app, cut.into_bytes()).await;
    assert_eq!(msa(&ack), "AR", "{ack}");
    assert!(ack.contains("truncated"), "{ack}");
    // Latin-1 (MSH-18 8859/1, a byte 0xEC): refused as an encoding, kept byte for byte.
    let latin = oru("M7", &c.cat2, &theirs, "TT4", &[("ST", "TT4", "Mimi", "")]).replace("UNICODE UTF-8", "8859/1");
    let mut bytes = latin.into_bytes();
    let at = bytes.windows(4).position(|w| w == b"Mimi").unwrap();
    bytes[at + 3] = 0xEC;
    let ack = post_hl7(&c.app, bytes.clone()).await;
    assert_eq!(msa(&ack), "AR");
    assert!(ack.contains("8859/1"), "{ack}");
    // Bytes that are not UTF-8 although MSH-18 says so: the same.
    let mut bad = oru("M8", &c.cat2, &theirs, "TT4", &[("NM", "TT4", "2", "ug/dL")]).into_bytes();
    bad.extend_from_slice(&[0xC3, 0x28, b'\r']);
    assert_eq!(msa(&post_hl7(&c.app, bad).await), "AR");
    assert_eq!(c.app.get_json(&format!("/api/lab-orders/{theirs}")).await["status"], "ordered");

    let queue = open_queue(&c.app).await;
    assert_eq!(queue.len(), 7, "{queue:#?}");
    let by_reason = |needle: &str| {
        queue
            .iter()
            .find(|q| q["reason"].as_str().unwrap().contains(needle))
            .unwrap_or_else(|| panic!("{needle}"))
            .clone()
    };
    let latin = by_reason("8859/1");
    assert!(latin["raw"].as_str().unwrap().contains("Mim\\xEC"), "{latin}");
    assert_eq!(latin["group"], Value::Null);

    // Attach: the entry naming this cat to the other cat's order is refused; the truncated one
    // with typed results goes on; twice is refused; discard needs a reason.
    let wrong_cat = by_reason("another cat");
    let res = c
        .app
        .post_json(&format!("/api/lab-results/unmatched/{}/attach", id_of(&wrong_cat)), &json!({"order_id": theirs}))
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("order_id")).await;
    let truncated = id_of(&by_reason("truncated"));
    let attach = format!("/api/lab-results/unmatched/{truncated}/attach");
    let res = c.app.post_json(&attach, &json!({"order_id": theirs})).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("results")).await;
    let typed = json!({"order_id": theirs, "results": [num("TT4", 2.5, "µg/dL")]});
    let o = expect_json(c.app.post_json(&attach, &typed).await, StatusCode::OK).await;
    assert_eq!((o["status"].as_str(), o["patient_id"].as_str()), (Some("resulted"), Some(c.cat2.as_str())));
    let res = c.app.post_json(&attach, &typed).await;
    assert_error(res, StatusCode::CONFLICT, "lab_unmatched_resolved", None).await;
    let discard = format!("/api/lab-results/unmatched/{}/discard", id_of(&latin));
    let res = c.app.post_json(&discard, &json!({"reason": " "})).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("reason")).await;
    let d = expect_json(c.app.post_json(&discard, &json!({"reason": "resent in UTF-8"})).await, StatusCode::OK).await;
    assert_eq!(d["status"], "discarded");
    assert_eq!(open_queue(&c.app).await.len(), 5);
    let all = c.app.get_json("/api/lab-results/unmatched?status=all&limit=100").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 7, "nothing is ever dropped");
}

#[tokio::test]
async fn json_import_matches_by_cat_and_test_and_a_cancelled_order_takes_no_results() {
    let c = Clinic::new().await;
    let v = visit(&c, &c.cat, &c.vet).await;
    let felv = id_of(&order(&c.app, &v, "FELV_FIV").await);
    let sdma = id_of(&order(&c.app, &v, "SDMA").await);
    let token = c.app.token().unwrap();
    let mut ws = connect(&c.app, &token).await;
    send(&mut ws, json!({"op": "subscribe", "topics": [format!("patient:{}", c.cat)]})).await;
    assert_eq!(next(&mut ws).await["type"], "subscribed");

    // No order id: the cat's one open order of the laboratory's test code.
    let body = json!({"groups": [{"patient_id": c.cat, "test": "SNAPFF", "results": [
        {"analyte": "FELV_AG", "text": "Positive"}, {"analyte": "FIV_AB", "text": "negative"}]}]});
    let report = expect_json(c.app.post_json("/api/lab-results/import", &body).await, StatusCode::OK).await;
    assert_eq!(report["outcomes"][0]["status"], "matched", "{report}");
    assert_eq!(report["outcomes"][0]["order_id"], felv.as_str());
    let o = c.app.get_json(&format!("/api/lab-orders/{felv}")).await;
    assert_eq!((o["status"].as_str(), o["results"][0]["flag"].as_str()), (Some("resulted"), Some("A")));
    // The result is on the cat's topic, as ids and whether it is flagged.
    let frame = loop {
        let f = next(&mut ws).await;
        if f["type"] == "lab_result_ready" {
            break f;
        }
    };
    assert_eq!(
        (frame["data"]["lab_order_id"].as_str(), frame["data"]["flagged"].as_str()),
        (Some(felv.as_str()), Some("true"))
    );
    assert!(frame["data"].get("results").is_none(), "ids only: {frame}");

    // Cancelled with a reason: results typed in are refused, imported ones are queued.
    let cancel = format!("/api/lab-orders/{sdma}/cancel");
    let res = c.app.post_json(&cancel, &json!({"reason": ""})).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("reason")).await;
    let o = expect_json(c.app.post_json(&cancel, &json!({"reason": "sample clotted"})).await, StatusCode::OK).await;
    assert_eq!((o["status"].as_str(), o["cancel_reason"].as_str()), (Some("cancelled"), Some("sample clotted")));
    let res = c
        .app
        .post_json(&format!("/api/lab-orders/{sdma}/results"), &json!({"results": [num("SDMA", 12.0, "µg/dL")]}))
        .await;
    assert_error(res, StatusCode::CONFLICT, "lab_order_cancelled", None).await;
    let body = json!({"groups": [{"order_id": sdma, "patient_id": c.cat, "results": [num("SDMA", 12.0, "µg/dL")]}]});
    let report = expect_json(c.app.post_json("/api/lab-results/import", &body).await, StatusCode::OK).await;
    assert_eq!(report["outcomes"][0]["status"], "queued");
    assert!(report["outcomes"][0]["reason"].as_str().unwrap().contains("cancelled"), "{report}");
    // A body of the wrong shape is refused (the sender corrects it), not queued.
    let res = c.app.post_json("/api/lab-results/import", &json!({"groups": []})).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("groups")).await;
    let res = c
        .app
        .request(Method::POST, "/api/lab-results/import")
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", None).await;
}

/// The lab screens over HTTP: the visit's block with the order form, the order's page with
/// its flags marked (critical highlighted, the reported unit beside the converted value),
/// the fragment its script swaps in, the open orders per location, the trend on the cat's
/// page with the range band and flagged points, and the unmatched queue showing what the
/// laboratory sent escaped; a role without `labs:view` sees none of it.
#[tokio::test]
async fn the_lab_screens_show_orders_flags_trends_and_the_queue() {
    use crate::views::page;
    let c = Clinic::new().await;
    let admin = c.app.token().unwrap();
    let v = visit(&c, &c.cat, &c.vet).await;

    let (status, html) = page(&c.app, &format!("/visits/{v}"), &admin, false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"id="visit-labs""#) && html.contains("No lab test ordered on this visit."), "{html}");
    assert!(html.contains(r#"<form id="lab-order-form">"#) && html.contains(r#"<option value="CHEM10">"#));
    assert!(html.contains(r#"<a href="/labs">Labs</a>"#), "the bar has Labs");

    let chem = id_of(&order(&c.app, &v, "CHEM10").await);
    let body = json!({"results": [num("CREA", 300.0, "µmol/L"), num("GLU", 30.0, "mg/dL"), num("ALB", 3.1, "g/dL")]});
    expect_json(c.app.post_json(&format!("/api/lab-orders/{chem}/results"), &body).await, StatusCode::OK).await;

    // The visit lists it; its page marks the flags.
    let (_, html) = page(&c.app, &format!("/visits/{v}"), &admin, false).await;
    assert!(html.contains(&format!(r#"href="/labs/orders/{chem}""#)) && html.contains("Partial results"), "{html}");
    assert!(html.contains("2 flagged, 1 critical"));
    let (status, html) = page(&c.app, &format!("/labs/orders/{chem}"), &admin, false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"<script type="module" src="/assets/labs.js"></script>"#));
    assert!(html.contains(&format!(r#"data-patient="{}""#, c.cat)));
    assert!(html.contains(r#"class="lab-result flagged" data-analyte="CREA" data-flag="H""#), "{html}");
    assert!(html.contains(r#"class="lab-result flagged critical" data-analyte="GLU" data-flag="LL""#));
    assert!(html.contains(r#"class="lab-result" data-analyte="ALB" data-flag="""#));
    assert!(html.contains("Critically low") && html.contains("300 µmol/L as reported"));
    assert!(html.contains(r#"<form id="lab-entry""#) && html.contains(r#"id="entry-ALKP""#));
    assert!(!html.contains("lab-review-button"), "no sign-off before every result is in");
    let (_, part) = page(&c.app, &format!("/labs/orders/{chem}"), &admin, true).await;
    assert!(!part.contains("<html") && part.contains(r#"id="lab-results""#));

    // The open orders per location, and the trend on the cat's page.
    let (status, html) = page(&c.app, "/labs", &admin, false).await;
    assert_eq!(status, StatusCode::OK);
    let cat = c.app.get_json(&format!("/api/patients/{}", c.cat)).await;
    assert!(html.contains(cat["name"].as_str().unwrap()) && html.contains(&format!("/labs/orders/{chem}")));
    let (_, html) = page(&c.app, &format!("/patients/{}", c.cat), &admin, false).await;
    assert!(html.contains(r#"id="patient-labs""#) && html.contains(r#"<svg id="trend-crea""#), "{html}");
    assert!(html.contains(r#"class="chart-band""#) && html.contains(r#"data-flag="H""#));
    assert!(html.contains(r#"class="chart-point chart-flagged" data-flag="LL""#));
    let (_, other) = page(&c.app, &format!("/patients/{}", c.cat2), &admin, false).await;
    assert!(other.contains("No lab test on file.") && !other.contains("trend-crea"), "another cat shows none");

    // The queue: what was sent, escaped; the open orders to attach it to.
    let group = json!({"groups": [{"patient_id": "<script>alert(1)</script>", "test": "T4",
        "results": [num("TT4", 2.0, "µg/dL")]}]});
    let report = expect_json(c.app.post_json("/api/lab-results/import", &group).await, StatusCode::OK).await;
    assert_eq!(report["outcomes"][0]["status"], "queued");
    let (status, html) = page(&c.app, "/labs/unmatched", &admin, false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62;") && !html.contains("<script>alert(1)"), "{html}");
    assert!(html.contains(&format!(r#"<option value="{chem}">"#)) && html.contains(r#"class="discard""#));
    let (_, html) = page(&c.app, "/labs", &admin, false).await;
    assert!(html.contains("1 waiting"));
    // A missing or malformed order is a 404 page, not a crash.
    let (status, _) = page(&c.app, "/labs/orders/nope", &admin, false).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = page(&c.app, &format!("/labs/orders/{}", crate::helpers::UNKNOWN_ID), &admin, false).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Without labs:view: no Labs in the bar, no lab block, and the screens are 403 pages.
    let desk = crate::access::staff_user(&c.app, "rita.labs", &["receptionist"]).await;
    let (_, html) = page(&c.app, &format!("/patients/{}", c.cat), &desk, false).await;
    assert!(!html.contains(r#"href="/labs""#) && !html.contains("patient-labs"));
    for path in ["/labs".to_owned(), "/labs/unmatched".to_owned(), format!("/labs/orders/{chem}")] {
        assert_eq!(page(&c.app, &path, &desk, false).await.0, StatusCode::FORBIDDEN, "{path}");
    }
}

/// The next frame of `ws` that is an event (not `subscribed`, `pong`).
async fn next_event(ws: &mut crate::live::Socket) -> Value {
    loop {
        let f = next(ws).await;
        if f["seq"].is_number() {
            return f;
        }
    }
}

/// The lab screens' topic: every lab event of the clinic (orders placed and cancelled,
/// results, the unmatched queue) reaches `labs` for `labs:view`, and its lists answer the
/// fragment the screens' script swaps in; a role without `labs:view` is refused the topic.
#[tokio::test]
async fn the_labs_topic_carries_every_lab_change_and_the_lists_answer_their_fragments() {
    use crate::views::page;
    let c = Clinic::new().await;
    let admin = c.app.token().unwrap();
    let v = visit(&c, &c.cat, &c.vet).await;
    let mut ws = connect(&c.app, &admin).await;
    send(&mut ws, json!({"op": "subscribe", "topics": ["labs"]})).await;
    assert_eq!(next(&mut ws).await["type"], "subscribed");

    let t4 = id_of(&order(&c.app, &v, "T4").await);
    let f = next_event(&mut ws).await;
    assert_eq!((f["topic"].as_str(), f["type"].as_str()), (Some("labs"), Some("lab_order_placed")), "{f}");
    let body = json!({"groups": [{"order_id": t4, "patient_id": c.cat, "results": [num("TT4", 6.2, "ug/dL")]}]});
    expect_json(c.app.post_json("/api/lab-results/import", &body).await, StatusCode::OK).await;
    let f = next_event(&mut ws).await;
    assert_eq!((f["type"].as_str(), f["data"]["lab_order_id"].as_str()), (Some("lab_result_ready"), Some(t4.as_str())));
    assert!(f["data"].get("results").is_none(), "ids only: {f}");
    assert_eq!(
        msa(&post_hl7(
            &c.app,
            b"MSH|^~\\&|VETLAB|REFLAB|CLOWDER|CLINIC|20261206||ORU^R01|T1|P|2.5.1\rPID|1||x\r".to_vec()
        )
        .await),
        "AR"
    );
    let f = next_event(&mut ws).await;
    assert_eq!(
        (f["type"].as_str(), f["data"]["status"].as_str()),
        (Some("lab_unmatched_changed"), Some("open")),
        "{f}"
    );
    let sdma = id_of(&order(&c.app, &v, "SDMA").await);
    assert_eq!(next_event(&mut ws).await["type"], "lab_order_placed");
    expect_json(
        c.app.post_json(&format!("/api/lab-orders/{sdma}/cancel"), &json!({"reason": "clotted"})).await,
        StatusCode::OK,
    )
    .await;
    let f = next_event(&mut ws).await;
    assert_eq!(
        (f["type"].as_str(), f["data"]["lab_order_id"].as_str()),
        (Some("lab_order_updated"), Some(sdma.as_str()))
    );

    // The fragments: the board with the order awaiting review and one entry waiting; the queue.
    let (status, part) = page(&c.app, "/labs", &admin, true).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !part.contains("<html") && part.contains(&format!(r#"data-order="{t4}" data-status="resulted""#)),
        "{part}"
    );
    assert!(part.contains(r#"data-count="1""#) && !part.contains(&sdma), "{part}");
    let (_, html) = page(&c.app, "/labs", &admin, false).await;
    assert!(html.contains(r#"<div id="labs-board""#) && html.contains(r#"src="/assets/labs.js""#));
    let (status, part) = page(&c.app, "/labs/unmatched", &admin, true).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!part.contains("<html") && part.contains(r#"data-status="open""#), "{part}");

    // Without labs:view the topic is refused, naming the permission.
    let desk = crate::access::staff_user(&c.app, "rita.labs", &["receptionist"]).await;
    let mut theirs = connect(&c.app, &desk).await;
    send(&mut theirs, json!({"op": "subscribe", "topics": ["labs"]})).await;
    let f = next(&mut theirs).await;
    assert_eq!((f["type"].as_str(), f["error"]["code"].as_str()), (Some("error"), Some("forbidden")), "{f}");
    assert!(f["error"]["message"].as_str().unwrap().contains("labs:view"));
    send(&mut theirs, json!({"op": "subscribe", "topics": ["labs:everything"]})).await;
    assert_eq!(next(&mut theirs).await["error"]["field"], "topics");
}

/// An entry nothing was read of: the queue screen offers the typed-results form, and typed
/// results the order's ranges refuse are named by row (`results[i]`), never attached.
#[tokio::test]
async fn results_typed_for_an_unreadable_entry_are_checked_row_by_row() {
    use crate::views::page;
    let c = Clinic::new().await;
    let admin = c.app.token().unwrap();
    let v = visit(&c, &c.cat, &c.vet).await;
    let chem = id_of(&order(&c.app, &v, "CHEM10").await);
    let truncated = b"MSH|^~\\&|VETLAB|REFLAB|CLOWDER|CLINIC|20261206||ORU^R01|T2|P|2.5.1\rPID|1||x\r".to_vec();
    assert_eq!(msa(&post_hl7(&c.app, truncated).await), "AR");
    let entry = id_of(&open_queue(&c.app).await[0]);

    let (_, html) = page(&c.app, "/labs/unmatched", &admin, false).await;
    let at = html.find(&format!(r#"data-unmatched="{entry}""#)).unwrap();
    let article = &html[at..at + html[at..].find("</article>").unwrap()];
    assert!(article.contains(r#"<fieldset class="typed-results">"#), "{article}");
    assert!(article.contains(r#"<option value="CREA" data-kind="number" data-units="mg/dL|"#), "{article}");
    assert!(article.contains(&format!(r#"<option value="{chem}">"#)), "{article}");

    let attach = format!("/api/lab-results/unmatched/{entry}/attach");
    let rows = |r: Vec<Value>| json!({"order_id": chem, "results": r});
    let res = c.app.post_json(&attach, &rows(vec![num("CREA", 1.2, "mg/dL"), num("GLU", 90.0, "furlongs")])).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("results[1]")).await;
    let res = c.app.post_json(&attach, &rows(vec![json!({"analyte": "CREA", "value": 1.2})])).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("results[0]")).await;
    let many = (0..101).map(|_| num("CREA", 1.2, "mg/dL")).collect();
    let res = c.app.post_json(&attach, &rows(many)).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("results")).await;
    let o = c.app.get_json(&format!("/api/lab-orders/{chem}")).await;
    assert_eq!(
        (o["status"].as_str(), o["results"].as_array().unwrap().len()),
        (Some("ordered"), 0),
        "nothing attached"
    );
    assert_eq!(open_queue(&c.app).await.len(), 1, "still open");

    let o = expect_json(
        c.app.post_json(&attach, &rows(vec![num("CREA", 300.0, "µmol/L"), num("GLU", 90.0, "mg/dL")])).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!((o["status"].as_str(), o["results"].as_array().unwrap().len()), (Some("partial"), 2));
    assert!(open_queue(&c.app).await.is_empty());
}

/// The chart read carries a trend per analyte (points oldest first with flags, the unit and
/// range), the cancelled order's result left out, bounded to the newest points, audited with
/// the orders it shows; absent for a reader without `labs:view`.
#[tokio::test]
async fn the_chart_carries_the_lab_trends_bounded_and_audited() {
    let c = Clinic::new().await;
    let v = visit(&c, &c.cat, &c.vet).await;
    let results = |o: &str| format!("/api/lab-orders/{o}/results");
    let first = id_of(&order(&c.app, &v, "CHEM10").await);
    expect_json(
        c.app.post_json(&results(&first), &json!({"results": [num("CREA", 300.0, "µmol/L")]})).await,
        StatusCode::OK,
    )
    .await;
    let second = id_of(&order(&c.app, &v, "CHEM10").await);
    expect_json(
        c.app.post_json(&results(&second), &json!({"results": [num("CREA", 1.2, "mg/dL")]})).await,
        StatusCode::OK,
    )
    .await;
    let cancelled = id_of(&order(&c.app, &v, "CHEM10").await);
    expect_json(
        c.app.post_json(&results(&cancelled), &json!({"results": [num("CREA", 9.0, "mg/dL")]})).await,
        StatusCode::OK,
    )
    .await;
    expect_json(
        c.app.post_json(&format!("/api/lab-orders/{cancelled}/cancel"), &json!({"reason": "haemolysed"})).await,
        StatusCode::OK,
    )
    .await;

    let chart = c.app.get_json(&format!("/api/patients/{}/chart", c.cat)).await;
    let trends = chart["lab_trends"].as_array().unwrap();
    assert_eq!(trends.len(), 1, "{chart}");
    let crea = &trends[0];
    assert_eq!((crea["analyte"].as_str(), crea["unit"].as_str()), (Some("CREA"), Some("mg/dL")));
    assert!(crea["low"].is_number() && crea["high"].is_number(), "{crea}");
    let points = crea["points"].as_array().unwrap();
    let orders: Vec<&str> = points.iter().map(|p| p["order_id"].as_str().unwrap()).collect();
    assert_eq!(orders, [first.as_str(), second.as_str()], "oldest first, the cancelled one left out");
    assert_eq!((points[0]["flag"].as_str(), points[1]["flag"].as_str()), (Some("H"), None));
    // The same points as the trend route.
    let route = c.app.get_json(&format!("/api/patients/{}/lab-trends?analyte=CREA", c.cat)).await;
    assert_eq!(route["points"], crea["points"]);
    let audit = c
        .app
        .poll_json(&format!("/api/audit?action=patient.chart&record_id={}", c.cat), |a| a["items"][0].is_object())
        .await;
    let mut shown = vec![first.clone(), second.clone()];
    shown.sort();
    assert_eq!(audit["items"][0]["detail"]["lab_orders"], json!(shown));

    // Bounded: the newest 60 points of an analyte.
    let v2 = visit(&c, &c.cat2, &c.vet).await;
    let mut last = String::new();
    for i in 0..61 {
        last = id_of(&order(&c.app, &v2, "T4").await);
        let body = json!({"results": [num("TT4", 1.0 + f64::from(i) / 10.0, "ug/dL")]});
        expect_json(c.app.post_json(&results(&last), &body).await, StatusCode::OK).await;
    }
    let chart = c.app.get_json(&format!("/api/patients/{}/chart", c.cat2)).await;
    let points = chart["lab_trends"][0]["points"].as_array().unwrap();
    assert_eq!(points.len(), 60);
    assert_eq!(points[59]["order_id"], json!(last), "the newest kept");
    assert_eq!(points[0]["value"], json!(1.1), "the oldest dropped");

    // A reader of the record without labs:view: no trends (and none read).
    let grants =
        json!([{"permission": "visits:view", "scope": "all"}, {"permission": "patients:view", "scope": "all"}]);
    expect_json(
        c.app.post_json("/api/roles", &json!({"name": "no_labs", "grants": grants})).await,
        StatusCode::CREATED,
    )
    .await;
    let nola = crate::access::staff_user(&c.app, "nola", &["no_labs"]).await;
    let res = as_user(&c.app, &nola, Method::GET, &format!("/api/patients/{}/chart", c.cat), None).await;
    let theirs = expect_json(res, StatusCode::OK).await;
    assert!(theirs["lab_trends"].is_null(), "{theirs}");
}

/// `unreviewed=true` on a cat's orders: those not signed off, newest first, paged through
/// the cat's index (the queue screen's search by cat); a bad value is named.
#[tokio::test]
async fn a_cats_unreviewed_orders_are_listed_and_paged() {
    let c = Clinic::new().await;
    let v = visit(&c, &c.cat, &c.vet).await;
    let cancelled = id_of(&order(&c.app, &v, "T4").await);
    expect_json(
        c.app.post_json(&format!("/api/lab-orders/{cancelled}/cancel"), &json!({"reason": "lost"})).await,
        StatusCode::OK,
    )
    .await;
    let awaiting = id_of(&order(&c.app, &v, "T4").await);
    let partial = id_of(&order(&c.app, &v, "CHEM10").await);
    let body = json!({"results": [num("CREA", 1.2, "mg/dL")]});
    expect_json(c.app.post_json(&format!("/api/lab-orders/{partial}/results"), &body).await, StatusCode::OK).await;
    let other = visit(&c, &c.cat2, &c.vet).await;
    order(&c.app, &other, "T4").await;

    let base = format!("/api/patients/{}/lab-orders?unreviewed=true", c.cat);
    let all = c.app.get_json(&base).await;
    let ids: Vec<String> = all["items"].as_array().unwrap().iter().map(id_of).collect();
    assert_eq!(ids, [partial.clone(), awaiting.clone()], "newest first, not the cancelled one nor the other cat's");
    let one = c.app.get_json(&format!("{base}&limit=1")).await;
    assert_eq!(id_of(&one["items"][0]), partial);
    let cursor = one["next_cursor"].as_str().unwrap();
    let two = c.app.get_json(&format!("{base}&limit=1&cursor={cursor}")).await;
    assert_eq!(id_of(&two["items"][0]), awaiting);
    let every = c.app.get_json(&format!("/api/patients/{}/lab-orders", c.cat)).await;
    assert_eq!(every["items"].as_array().unwrap().len(), 3, "without it, every order");
    let res = c.app.get(&format!("/api/patients/{}/lab-orders?unreviewed=maybe", c.cat)).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("unreviewed")).await;
}
