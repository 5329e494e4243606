//! The exam-room tablet's chart over HTTP (`/tablet/chart?room=`): it answers for the cat the
//! room's whiteboard says is in the room and takes no patient id (so it cannot be led to
//! another cat); a receptionist gets the 403 page; its reads are audited like the API's; the
//! forms show only when their writes would be allowed (Sign for a vet, Prescribe for a
//! prescriber, medications for `prescriptions:view`).

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::access::{staff_user, staff_user_with_id};
use crate::calendar::Clinic;
use crate::helpers::{TestApp, expect_json, id_of};
use crate::visits::as_user;

fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The chart as `token` sees it: status, body.
async fn chart(app: &TestApp, query: &str, token: &str) -> (StatusCode, String) {
    let res = browser().get(app.url(&format!("/tablet/chart?{query}"))).bearer_auth(token).send().await.unwrap();
    let status = res.status();
    let ct = res.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    assert!(ct.starts_with("text/html"), "the chart answers HTML, not {ct}");
    (status, res.text().await.unwrap())
}

/// A veterinarian who can sign in and prescribe: their token.
pub(crate) async fn prescribing_vet(app: &TestApp, username: &str) -> (String, String) {
    let (token, user_id) = staff_user_with_id(app, username, &["veterinarian"]).await;
    let body = json!({"first_name": username, "last_name": "Vet", "position": "veterinarian", "user_id": user_id,
                      "capabilities": {"can_prescribe": true}});
    let staff = expect_json(app.post_json("/api/staff", &body).await, StatusCode::CREATED).await;
    (token, id_of(&staff))
}

/// `cat` waiting in `room` and a walk-in visit open for it with `vet`; returns the visit's id.
pub(crate) async fn cat_in_room(c: &Clinic, room: &str, cat: &str, vet: &str) -> String {
    let res = c
        .app
        .post_json(&format!("/api/rooms/{room}/state"), &json!({"to": "patient_waiting", "patient_id": cat}))
        .await;
    expect_json(res, StatusCode::OK).await;
    let body =
        json!({"patient_id": cat, "vet_id": vet, "type": "sick", "chief_complaint": "Not eating <since> Monday"});
    id_of(&expect_json(c.app.post_json("/api/visits", &body).await, StatusCode::CREATED).await)
}

#[tokio::test]
async fn the_chart_shows_the_cat_in_the_room_and_only_that_cat() {
    let c = Clinic::new().await;
    let (vet, vet_staff) = prescribing_vet(&c.app, "vera").await;
    let res = c.app.patch_json(&format!("/api/patients/{}", c.cat), &json!({"allergies": ["penicillin"]})).await;
    assert!(res.status().is_success());
    // The other cat has a problem of its own, which must never show on this room's chart.
    let p = json!({"patient_id": c.cat2, "name": "Hyperthyroidism"});
    expect_json(c.app.post_json("/api/problems", &p).await, StatusCode::CREATED).await;
    let p = json!({"patient_id": c.cat, "name": "Chronic kidney disease", "status": "chronic"});
    expect_json(c.app.post_json("/api/problems", &p).await, StatusCode::CREATED).await;

    // An empty room: the room, and no chart.
    let (status, html) = chart(&c.app, &format!("room={}", c.exam), &vet).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("No patient in this room") && !html.contains("Mittens"), "{html}");

    let visit = cat_in_room(&c, &c.exam, &c.cat, &vet_staff).await;
    let (status, html) = chart(&c.app, &format!("room={}", c.exam), &vet).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Mittens") && html.contains("Allergy: penicillin"), "the banner: {html}");
    assert!(html.contains("Chronic kidney disease") && !html.contains("Hyperthyroidism"), "this cat's problems only");
    assert!(!html.contains("Tom"), "no other cat");
    // The note of the open visit, editable, with its template; the complaint escaped.
    assert!(html.contains(&format!(r#"data-visit="{visit}""#)), "{html}");
    assert!(html.contains(r#"id="soap-subjective""#) && html.contains("Not eating &#60;since&#62; Monday"), "{html}");
    assert!(html.contains(r#"id="sign""#), "a vet may sign");
    assert!(html.contains(r#"id="vitals-form""#) && html.contains(r#"id="vaccine-form""#));
    assert!(html.contains(r#"id="prescribe-form""#) && html.contains("meloxicam|"), "a prescriber may prescribe");
    assert!(!html.contains("acetaminophen|"), "a feline-toxic drug is not offered");
    assert!(html.contains(r#"id="medications-section""#), "a vet holds prescriptions:view");
    assert!(html.contains(r#"id="timeline""#) && html.contains("Sick visit: Not eating"), "{html}");
    assert!(html.contains(r#"id="vaccines-due""#), "a cat with no doses has vaccines due");
    // No way to another record: no navigation bar, no patient links.
    assert!(!html.contains(r#"href="/patients"#) && !html.contains(r#"href="/clients"#), "{html}");

    // A patient id in the address is refused, not followed; an unknown room is a 404 page.
    // Their pages are the kiosk's own: no bar, no search box, only the way back to a room.
    let (status, html) = chart(&c.app, &format!("room={}&patient={}", c.exam, c.cat2), &vet).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains(r#"id="problem""#) && !html.contains("Tom") && !html.contains("search.js"), "{html}");
    let (status, html) = chart(&c.app, "room=01J0000000000000000000000A", &vet).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains(r#"id="problem""#) && !html.contains("topbar"), "{html}");

    // The reads went through the audited services, as the vet: the chart in one entry.
    for action in ["patient.chart", "note.read"] {
        let audit = c.app.get_json(&format!("/api/audit?action={action}")).await;
        let items = audit["items"].as_array().unwrap();
        assert!(items.iter().any(|e| e["username"] == "vera"), "{action}: {audit}");
    }
}

#[tokio::test]
async fn a_receptionist_gets_no_chart_and_a_tech_no_sign_nor_prescribe() {
    let c = Clinic::new().await;
    cat_in_room(&c, &c.exam, &c.cat, &c.vet).await;
    let rita = staff_user(&c.app, "rita", &["receptionist"]).await;
    let (status, html) = chart(&c.app, &format!("room={}", c.exam), &rita).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!html.contains("Mittens"), "{html}");
    // A tech reads the chart and records vitals and vaccines, but neither edits nor signs the
    // note (no visits:edit, visits:sign), nor prescribes, nor sees the medications (no
    // prescriptions:view).
    let tess = staff_user(&c.app, "tess", &["vet_tech"]).await;
    let (status, html) = chart(&c.app, &format!("room={}", c.exam), &tess).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Mittens") && html.contains(r#"id="vitals-form""#) && html.contains(r#"id="vaccine-form""#));
    assert!(!html.contains("<textarea id=\"soap-") && !html.contains(r#"id="sign""#), "{html}");
    assert!(!html.contains(r#"id="prescribe-form""#) && !html.contains(r#"id="medications-section""#), "{html}");
}

#[tokio::test]
async fn once_signed_the_note_is_read_only_and_takes_addenda() {
    let c = Clinic::new().await;
    let (vet, vet_staff) = prescribing_vet(&c.app, "vera").await;
    let visit = cat_in_room(&c, &c.exam, &c.cat, &vet_staff).await;
    let draft = json!({"revision": 1, "subjective": "Eats <less>", "plan": "Recheck in a week"});
    let res = as_user(&c.app, &vet, Method::PUT, &format!("/api/visits/{visit}/note/draft"), Some(&draft)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res =
        as_user(&c.app, &vet, Method::POST, &format!("/api/visits/{visit}/note/sign"), Some(&json!({"revision": 1})))
            .await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let (status, html) = chart(&c.app, &format!("room={}", c.exam), &vet).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("<textarea id=\"soap-") && !html.contains(r#"id="sign""#), "read-only: {html}");
    assert!(html.contains("Eats &#60;less&#62;") && html.contains("Signed "), "{html}");
    assert!(html.contains(" by Dr. vera Vet</p>"), "the signer by their staff name: {html}");
    assert!(html.contains(r#"id="addendum-form""#), "{html}");
    let timeline: Value = c.app.get_json(&format!("/api/patients/{}/timeline", c.cat)).await;
    assert!(
        timeline["items"].as_array().unwrap().iter().any(|e| e["kind"] == "note" || e.to_string().contains("note_id"))
    );
}

#[tokio::test]
async fn without_a_session_the_chart_sends_the_tablet_to_its_pin_screen_and_the_timeline_pages() {
    let c = Clinic::new().await;
    let res = browser().get(c.app.url(&format!("/tablet/chart?room={}", c.exam))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[header::LOCATION], format!("/tablet?room={}&then=chart", c.exam).as_str());

    // More than a page of history: the first page, then Older.
    let (vet, vet_staff) = prescribing_vet(&c.app, "vera").await;
    cat_in_room(&c, &c.exam, &c.cat, &vet_staff).await;
    for i in 0..22 {
        let p = json!({"patient_id": c.cat, "name": format!("Problem {i:02}"), "status": "ruled_out"});
        expect_json(c.app.post_json("/api/problems", &p).await, StatusCode::CREATED).await;
    }
    let (_, html) = chart(&c.app, &format!("room={}", c.exam), &vet).await;
    assert_eq!(html.matches("<li data-kind=").count(), 20, "{html}");
    assert!(html.contains("Problem 21") && !html.contains("Problem 00"), "newest first");
    let start = html.find(r#"id="older" class="big-link" href=""#).expect("an Older link") + 34;
    let href = html[start..].split('"').next().unwrap().replace("&#38;", "&").replace("&amp;", "&");
    let query = href.trim_start_matches("/tablet/chart?").split('#').next().unwrap().to_owned();
    let (status, older) = chart(&c.app, &query, &vet).await;
    assert_eq!(status, StatusCode::OK);
    assert!(older.contains("Problem 00") && older.contains("Sick visit") && !older.contains("Problem 21"), "{older}");
    assert!(!older.contains(r#"id="older""#), "the oldest page has no Older link");
}

/// The lab trends on the tablet's chart are for readers of labs only: a vet sees the cat's
/// creatinine; someone who reads the record without `labs:view` gets the chart with no lab
/// section and nothing of the results anywhere in its HTML, and their read is audited as
/// usual (`patient.chart`, naming no lab order, since none was read).
#[tokio::test]
async fn the_tablet_chart_has_no_lab_section_nor_lab_data_without_labs_view() {
    let c = Clinic::new().await;
    let visit = cat_in_room(&c, &c.exam, &c.cat, &c.vet).await;
    let order = expect_json(
        c.app.post_json("/api/lab-orders", &json!({"visit_id": visit, "test": "CHEM10"})).await,
        StatusCode::CREATED,
    )
    .await;
    let order = id_of(&order);
    let results = json!({"results": [{"analyte": "CREA", "value": 3.1, "unit": "mg/dL"}]});
    expect_json(c.app.post_json(&format!("/api/lab-orders/{order}/results"), &results).await, StatusCode::OK).await;
    let room = format!("room={}", c.exam);

    // A vet's chart draws the trend (and so the test knows what lab data looks like here).
    let vet = staff_user(&c.app, "vera", &["veterinarian"]).await;
    let (status, html) = chart(&c.app, &room, &vet).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(r#"id="labs-section""#) && html.contains(r#"data-analyte="CREA""#), "{html}");
    assert!(html.contains("Creatinine"), "{html}");

    // A reader of the record without labs:view.
    let grants =
        json!([{"permission": "visits:view", "scope": "all"}, {"permission": "patients:view", "scope": "all"}]);
    let role = json!({"name": "chart_reader", "grants": grants});
    expect_json(c.app.post_json("/api/roles", &role).await, StatusCode::CREATED).await;
    let nola = staff_user(&c.app, "nola", &["chart_reader"]).await;
    let (status, html) = chart(&c.app, &room, &nola).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Mittens"), "the chart itself: {html}");
    for absent in
        ["labs-section", "Lab trends", "lab-trend", "trend-crea", "CREA", "Creatinine", "mg/dL", order.as_str()]
    {
        assert!(!html.contains(absent), "{absent:?} on a chart without labs:view: {html}");
    }
    // The same reader asking the JSON chart gets no trends either.
    let res = as_user(&c.app, &nola, Method::GET, &format!("/api/patients/{}/chart", c.cat), None).await;
    let theirs = expect_json(res, StatusCode::OK).await;
    assert!(theirs["lab_trends"].is_null() && !theirs.to_string().contains(&order), "{theirs}");

    // Audited as any chart read: one `patient.chart` entry of theirs per read, no lab order.
    let path = format!("/api/audit?action=patient.chart&record_id={}", c.cat);
    let audit = c
        .app
        .poll_json(&path, |a| {
            a["items"].as_array().is_some_and(|i| i.iter().filter(|e| e["username"] == "nola").count() == 2)
        })
        .await;
    let items = audit["items"].as_array().unwrap();
    for e in items.iter().filter(|e| e["username"] == "nola") {
        assert!(e["detail"]["lab_orders"].is_null(), "{e}");
    }
    let vets = items.iter().find(|e| e["username"] == "vera").expect("the vet's read");
    assert_eq!(vets["detail"]["lab_orders"], json!([order]), "{vets}");
}
