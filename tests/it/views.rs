//! The staff screens over HTTP: access like the API (no session → the sign-in page; no
//! permission → a 403 page, audited), reads through the audited services, a 404 page for
//! ids that name nothing, and the list screens' filter, fragment and pages.

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::access::staff_user;
use crate::helpers::{TestApp, UNKNOWN_ID, id_of};

/// A client that does not follow redirects, so a test sees the redirect itself.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// A page as `token` sees it: status, body.
pub(crate) async fn page(app: &TestApp, path: &str, token: &str, fragment: bool) -> (StatusCode, String) {
    let mut rb = browser().get(app.url(path)).bearer_auth(token);
    if fragment {
        rb = rb.header("HX-Request", "true");
    }
    let res = rb.send().await.unwrap();
    let status = res.status();
    let ct = res.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    assert!(ct.starts_with("text/html"), "{path}: a page answers HTML, not {ct}");
    (status, res.text().await.unwrap())
}

fn admin(app: &TestApp) -> String {
    app.token().expect("signed in")
}

#[tokio::test]
async fn a_page_without_a_session_sends_the_browser_to_sign_in_and_back() {
    let app = TestApp::signed_in().await;
    for (path, next) in [
        ("/clients?name=smi&status=all", "%2Fclients%3Fname%3Dsmi%26status%3Dall"),
        ("/patients/01J0000000000000000000000A", "%2Fpatients%2F01J0000000000000000000000A"),
        ("/board", "%2Fboard"),
    ] {
        let res = browser().get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(res.headers()[header::LOCATION], format!("/signin?next={next}").as_str(), "{path}");
    }
    // An ended session is no session.
    let res = browser().get(app.url("/clients")).bearer_auth("not-a-session").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_page_the_role_may_not_open_is_a_403_page_and_is_audited() {
    let app = TestApp::signed_in().await;
    let billy = staff_user(&app, "billy", &["billing"]).await;
    let (status, html) = page(&app, "/patients", &billy, false).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("Not allowed") && html.contains("Your role does not let you open this page"), "{html}");
    // The bar still shows who is signed in, and only what they may open.
    assert!(html.contains(r#"href="/clients""#) && !html.contains(r#"href="/patients""#));
    let denied = app.get_json("/api/audit?action=access.denied").await;
    let entry = &denied["items"][0];
    assert_eq!(entry["username"], "billy");
    assert_eq!(entry["detail"]["route"], "/patients");
    // Billing may see clients.
    let (status, _) = page(&app, "/clients", &billy, false).await;
    assert_eq!(status, StatusCode::OK);
}

async fn household(app: &TestApp) -> (String, String) {
    let client = app
        .create_client(json!({
            "first_name": "<script>alert(1)</script>", "last_name": "Smith", "phone": "508-555-0142",
            "alerts": ["Pays cash only"],
        }))
        .await;
    let client = id_of(&client);
    let cat = app
        .create_patient(json!({
            "client_id": client, "name": "Mittens", "breed": "Maine Coon", "allergies": ["penicillin"],
            "handling": {"aggression": "severe", "towel_wrap": true},
        }))
        .await;
    (client, id_of(&cat))
}

#[tokio::test]
async fn record_pages_read_through_the_audited_services() {
    let app = TestApp::signed_in().await;
    let (client, cat) = household(&app).await;
    let token = admin(&app);

    let (status, html) = page(&app, &format!("/clients/{client}"), &token, false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("<script>alert(1)</script>"), "what users typed is never markup");
    assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62; Smith"), "{html}");
    assert!(html.contains("<li>Pays cash only</li>"));
    assert!(html.contains(&format!(r#"<a href="/patients/{cat}">Mittens</a>"#)), "the client's cats are listed");
    // The same audit entry as GET /api/clients/{id}, and the record is on the recently viewed list.
    let reads = app.get_json(&format!("/api/audit?action=client.read&record_id={client}")).await;
    assert_eq!(reads["items"].as_array().unwrap().len(), 1, "{reads}");
    let lists = app.get_json("/api/audit?action=patient.list").await;
    assert_eq!(lists["items"][0]["detail"]["ids"], json!([cat]), "the cats list is audited too");
    let recent = app.get_json("/api/recent").await;
    assert_eq!(recent["items"][0]["id"], json!(client), "{recent}");

    let (status, html) = page(&app, &format!("/patients/{cat}"), &token, false).await;
    assert_eq!(status, StatusCode::OK);
    for shown in ["<li>Allergy: penicillin</li>", "<li>Owner: Pays cash only</li>", "<li>Aggression: severe</li>"] {
        assert!(html.contains(shown), "{shown} in the banner");
    }
    assert!(html.contains(&format!(r#"<a href="/clients/{client}">Smith, &#60;script&#62;"#)), "the owner link");
    // A reader of the record gets the page from one read of the chart, one audit entry.
    let reads = app.get_json(&format!("/api/audit?action=patient.chart&record_id={cat}")).await;
    assert_eq!(reads["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_unknown_or_malformed_id_is_a_404_page() {
    let app = TestApp::signed_in().await;
    let token = admin(&app);
    for path in [
        "/clients/nope",
        "/clients/01J0000000000000000000000A",
        "/patients/%FF",
        "/patients/01J0000000000000000000000A",
    ] {
        let (status, html) = page(&app, path, &token, false).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(html.contains("Not found") && html.contains("topbar"), "{path}: {html}");
    }
}

#[tokio::test]
async fn an_own_scope_role_sees_only_its_own_records_on_the_pages() {
    let app = TestApp::signed_in().await;
    let (theirs, _) = household(&app).await;
    let role = app
        .post_json(
            "/api/roles",
            &json!({"name": "own_desk", "grants": [
                {"permission": "clients:view", "scope": "own"}, {"permission": "clients:create", "scope": "all"}]}),
        )
        .await;
    assert!(role.status().is_success(), "{}", role.text().await.unwrap());
    let token = staff_user(&app, "owen", &["own_desk"]).await;
    let mine = app
        .anonymous(Method::POST, "/api/clients")
        .bearer_auth(&token)
        .json(&json!({"first_name": "Olive", "last_name": "Owner", "phone": "508-555-0199"}))
        .send()
        .await
        .unwrap();
    let mine = id_of(&mine.json::<Value>().await.unwrap());
    let (status, html) = page(&app, "/clients", &token, false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Owner, Olive") && !html.contains("Smith"), "{html}");
    let (status, _) = page(&app, &format!("/clients/{mine}"), &token, false).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = page(&app, &format!("/clients/{theirs}"), &token, false).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_lists_filter_by_name_and_status_answer_a_fragment_and_page() {
    let app = TestApp::signed_in().await;
    let token = admin(&app);
    for i in 0..27 {
        app.some_client("Page", &format!("Person{i:02}")).await;
    }
    let gone = app.some_client("Gone", "Away").await;
    assert!(app.delete(&format!("/api/clients/{gone}")).await.status().is_success());

    // The first page: 25 rows and a link to the next, which carries the filter.
    let (status, html) = page(&app, "/clients?name=person", &token, false).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(html.matches(r#"<td data-label="Name">"#).count(), 25);
    assert!(html.contains(r#"value="person""#), "the box keeps what was typed");
    let next = html.split(r#"<a href=""#).find(|s| s.contains(r#"rel="next""#)).unwrap();
    let next = next.split('"').next().unwrap().replace("&#38;", "&");
    assert!(next.starts_with("/clients?name=person&cursor="), "{next}");
    let (_, html) = page(&app, &next, &token, false).await;
    assert_eq!(html.matches(r#"<td data-label="Name">"#).count(), 2);
    assert!(html.contains(r#"rel="first""#) && !html.contains(r#"rel="next""#));

    // The fragment: the same results, without the page around them.
    let (status, html) = page(&app, "/clients?name=person1", &token, true).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("<html") && !html.contains("topbar"));
    assert_eq!(html.matches(r#"<td data-label="Name">"#).count(), 10, "Person10…19");

    // Status: inactive ones only on request.
    let (_, html) = page(&app, "/clients?name=away", &token, false).await;
    assert!(html.contains("Nothing matches this filter."));
    let (_, html) = page(&app, "/clients?name=away&status=inactive", &token, false).await;
    assert!(html.contains("Away, Gone") && html.contains(r#"data-status="inactive""#));
    let (_, html) = page(&app, "/clients?name=away&status=all", &token, false).await;
    assert!(html.contains("Away, Gone"));

    // Cats: deceased is a status of its own.
    let owner = app.some_client("Cat", "Owner").await;
    let old = app.some_patient(&owner, "Oldtimer").await;
    let res = app.patch_json(&format!("/api/patients/{old}"), &json!({"status": "deceased"})).await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let (_, html) = page(&app, "/patients", &token, false).await;
    assert!(!html.contains("Oldtimer"));
    let (_, html) = page(&app, "/patients?status=deceased", &token, false).await;
    assert!(html.contains("Oldtimer") && html.contains(r#"<option value="deceased" selected>"#));

    // A filter the page does not know: a page saying what is wrong, not JSON.
    let (status, html) = page(&app, "/patients?status=asleep", &token, false).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("status: must be one of active, inactive, deceased, all") || html.contains("must be one of"));
    let (status, _) = page(&app, "/clients?cursor=garbage", &token, false).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// The first `href` of a link with `rel`.
fn link(html: &str, rel: &str) -> Option<String> {
    let at = html.find(&format!(r#"rel="{rel}""#))?;
    let start = html[..at].rfind(r#"href=""#)? + 6;
    Some(html[start..].split('"').next()?.replace("&#38;", "&").replace("&amp;", "&"))
}

async fn saved_segment(app: &TestApp, name: &str, filter: Value) -> String {
    let body = json!({ "name": name, "filter": filter });
    id_of(&app.post_json("/api/segments", &body).await.json::<Value>().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_marketing_screens_list_segments_and_campaigns_and_show_analytics() {
    let app = TestApp::signed_in().await;
    let token = admin(&app);
    let rita = staff_user(&app, "rita", &["receptionist"]).await;
    let vera = staff_user(&app, "vera", &["veterinarian"]).await;

    // Empty states, and the tabs in the Messages section.
    let (status, html) = page(&app, "/messages/segments", &token, false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"id="no-results""#) && html.contains(r#"href="/messages/campaigns""#), "{html}");
    let (_, html) = page(&app, "/messages/campaigns", &token, false).await;
    assert!(html.contains(r#"id="no-results""#) && html.contains("No campaign yet."));

    // Two clients; one segment of everyone, one of nobody (a breed no cat has).
    let ann = app.some_client("Ann", "<i>Able</i>").await;
    app.some_client("Bob", "Baker").await;
    let everyone = saved_segment(&app, "Everyone", json!({})).await;
    let sphynx = saved_segment(&app, "Sphynx owners", json!({ "breeds": ["Sphynx"] })).await;
    let (_, html) = page(&app, "/messages/segments", &token, false).await;
    assert!(html.contains(&format!(r#"<a href="/messages/segments/{everyone}">Everyone</a>"#)), "{html}");
    let size = |name: &str| {
        let row = html.split("<tr>").find(|r| r.contains(name)).unwrap();
        row.split(r#"class="segment-size">"#).nth(1).unwrap().split('<').next().unwrap().to_owned()
    };
    assert_eq!((size("Everyone"), size("Sphynx owners")), ("2 clients".to_owned(), "0 clients".to_owned()));

    // One segment: its rules, who it holds (escaped), the read audited like the preview API.
    let (status, html) = page(&app, &format!("/messages/segments/{everyone}"), &token, false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<li>Active clients only</li>") && html.contains(r#"id="segment-size">2 clients"#), "{html}");
    assert!(html.contains(&format!(r#"<a href="/clients/{ann}">&#60;i&#62;Able&#60;/i&#62;, Ann</a>"#)), "{html}");
    let audit = app.get_json(&format!("/api/audit?action=segment.preview&record_id={everyone}")).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");
    let (_, html) = page(&app, &format!("/messages/segments/{sphynx}"), &token, false).await;
    assert!(html.contains("Has a cat of breed Sphynx") && html.contains("No client matches these rules today."));
    assert_eq!(
        page(&app, "/messages/segments/01J0000000000000000000000A", &token, false).await.0,
        StatusCode::NOT_FOUND
    );

    // A page holds 25 segments; the next link carries on.
    for i in 0..25 {
        saved_segment(&app, &format!("Extra {i:02}"), json!({})).await;
    }
    let (_, html) = page(&app, "/messages/segments", &token, false).await;
    assert_eq!(html.matches(r#"class="segment-size""#).count(), 25);
    let next = link(&html, "next").expect("a next page");
    let (_, html) = page(&app, &next, &token, false).await;
    assert_eq!(html.matches(r#"class="segment-size""#).count(), 2, "{html}");
    assert!(link(&html, "first").is_some() && link(&html, "next").is_none());
    assert_eq!(
        page(&app, "/messages/segments?cursor=garbage", &token, false).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // A campaign: listed with its state; its page offers what a draft allows.
    let t = json!({
        "category": "campaign", "channel": "email", "name": "Spring news",
        "subject": "News", "text_body": "Hi {{ client_first_name }}",
    });
    let t = id_of(&app.post_json("/api/templates", &t).await.json::<Value>().await.unwrap());
    let body = json!({ "name": "Dental <month>", "template_id": t, "segment_id": everyone });
    let c = id_of(&app.post_json("/api/campaigns", &body).await.json::<Value>().await.unwrap());
    let (_, html) = page(&app, "/messages/campaigns", &token, false).await;
    assert!(html.contains(r#"data-state="draft">Draft<"#) && html.contains("Not scheduled"), "{html}");
    assert!(html.contains("Dental &#60;month&#62;"));
    let (status, html) = page(&app, &format!("/messages/campaigns/{c}"), &token, false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(r#"id="schedule">Schedule</button>"#) && html.contains(r#"data-action="send-now""#),
        "{html}"
    );
    assert!(
        html.contains("Spring news (Email)")
            && html.contains(&format!(r#"href="/messages/segments/{everyone}">Everyone"#))
    );
    assert!(html.contains(r#"id="not-started""#));
    // Cancelled: no button is left.
    assert!(app.post_json(&format!("/api/campaigns/{c}/cancel"), &json!({})).await.status().is_success());
    let (_, html) = page(&app, &format!("/messages/campaigns/{c}"), &token, false).await;
    assert!(!html.contains("campaign-actions") && html.contains(r#"data-status="cancelled">Cancelled<"#), "{html}");
    assert_eq!(page(&app, "/messages/campaigns/nope", &token, false).await.0, StatusCode::NOT_FOUND);

    // Analytics: the last 30 days in the clinic's zone by default; a bad range says why.
    let today = app.system.ctx.today();
    let from = today.checked_sub(jiff::Span::new().days(29)).unwrap();
    let (status, html) = page(&app, "/messages/analytics", &token, false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!(r#"id="a-from" name="from" type="date" value="{from}""#)), "{html}");
    assert!(html.contains(&format!(r#"value="{today}""#)) && html.contains(r#"id="rates-category""#));
    assert!(html.contains(r#"id="no-shows""#) && html.contains(r#"id="no-variants""#));
    let (status, html) = page(&app, "/messages/analytics?from=2026-03-10&to=2026-03-01", &token, false).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains(r#"id="range-error""#) && html.contains("To: must not be before from"), "{html}");
    assert!(html.contains(r#"value="2026-03-10""#), "the form keeps what was typed");
    let (status, html) = page(&app, "/messages/analytics?from=yesterday", &token, false).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("From: must be a date"), "{html}");

    // The front desk reads analytics but not the marketing screens; a vet neither.
    let (status, html) = page(&app, "/messages/analytics", &rita, false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains(r#"href="/messages/segments""#) && !html.contains(r#"href="/messages/campaigns""#));
    for path in ["/messages/segments", &format!("/messages/segments/{everyone}"), "/messages/campaigns"] {
        assert_eq!(page(&app, path, &rita, false).await.0, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(page(&app, &format!("/messages/campaigns/{c}"), &rita, false).await.0, StatusCode::FORBIDDEN);
    assert_eq!(page(&app, "/messages/analytics", &vera, false).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_clients_page_shows_their_referral_code_and_who_they_referred() {
    let app = TestApp::signed_in().await;
    let token = admin(&app);
    let ada = app.some_client("Ada", "Lovelace").await;
    let (_, html) = page(&app, &format!("/clients/{ada}"), &token, false).await;
    let code = app.get_json(&format!("/api/clients/{ada}/referral")).await["code"].as_str().unwrap().to_owned();
    assert!(html.contains(&format!(r#"<strong id="referral-code">{code}</strong>"#)), "{html}");
    assert!(html.contains("Has not referred anyone yet."));
    let mut body = crate::helpers::client_body("Ben", "<b>Bold</b>");
    body["referral_code"] = json!(code);
    let ben = id_of(&app.create_client(body).await);
    let (_, html) = page(&app, &format!("/clients/{ada}"), &token, false).await;
    assert!(html.contains(&format!(r#"<a href="/clients/{ben}">&#60;b&#62;Bold&#60;/b&#62;, Ben</a>"#)), "{html}");
    assert!(html.contains("1 credit owed") && html.contains(">Owed<"));
    let reads = app.get_json(&format!("/api/audit?action=referral.read&record_id={ada}")).await;
    assert_eq!(reads["items"].as_array().unwrap().len(), 3, "each panel read is audited like the API's: {reads}");

    // An own-scope role sees its own client's panel, but not the name of a client it did not create.
    let role = json!({"name": "own_desk", "grants": [
        {"permission": "clients:view", "scope": "own"}, {"permission": "clients:create", "scope": "all"}]});
    assert!(app.post_json("/api/roles", &role).await.status().is_success());
    let owen = staff_user(&app, "owen", &["own_desk"]).await;
    let mine = app
        .anonymous(Method::POST, "/api/clients")
        .bearer_auth(&owen)
        .json(&json!({"first_name": "Olive", "last_name": "Owner", "phone": "508-555-0199"}))
        .send()
        .await
        .unwrap();
    let mine = id_of(&mine.json::<Value>().await.unwrap());
    let olive = app.get_json(&format!("/api/clients/{mine}/referral")).await["code"].as_str().unwrap().to_owned();
    let mut body = crate::helpers::client_body("Cy", "Cousin");
    body["referral_code"] = json!(olive);
    app.create_client(body).await;
    let (_, html) = page(&app, &format!("/clients/{mine}"), &owen, false).await;
    assert!(
        html.contains(r#"id="referral-code""#) && html.contains(r#"<td data-label="Referred">A client</td>"#),
        "{html}"
    );
    assert!(!html.contains("Cousin"));
}

// ---- the estimate, payment-plan and report screens (issue 16) ----

/// `12.34` for 1234 cents, as the screens write amounts.
fn money(v: &Value) -> String {
    let c = v.as_i64().expect("cents");
    format!("{}.{:02}", c / 100, c % 100)
}

#[tokio::test]
async fn the_estimate_screens_show_what_the_server_computed_and_offer_what_the_caller_may_do() {
    use crate::helpers::expect_json;
    let app = TestApp::signed_in().await;
    let token = admin(&app);
    let client = app.some_client("Ann", "O'Brien <x>").await;
    let cat = app.some_patient(&client, "Miso").await;
    let exam = id_of(
        &crate::catalogue::item(&app, json!({"name": "Exam", "category": "Exams", "kind": "service", "price": 6500}))
            .await,
    );
    let body = json!({"client_id": client, "patient_id": cat, "options": [
        {"name": "Best case", "lines": [{"item_id": exam}]},
        {"name": "Worst case", "lines": [{"item_id": exam}, {"description": "Dental <b>", "unit_price_low": 10000, "unit_price_high": 15000, "optional": true}]},
    ]});
    let e = expect_json(app.post_json("/api/estimates", &body).await, StatusCode::CREATED).await;
    let id = id_of(&e);

    // The list, by status: the draft, its client by name (escaped), its range.
    let (status, html) = page(&app, "/estimates", &token, false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!(r#"href="/estimates/{id}">(draft)</a>"#)), "{html}");
    assert!(html.contains("O&#39;Brien &lt;x&gt;") || html.contains("O&#39;Brien &#60;x&#62;"), "{html}");
    assert!(html.contains(r#"<a href="/estimates" aria-current="page">Estimates</a>"#));
    let (_, sent_only) = page(&app, "/estimates?status=sent", &token, true).await;
    assert!(sent_only.contains("No estimate matches.") && !sent_only.contains("<html"), "{sent_only}");
    let (status, _) = page(&app, "/estimates?status=lost", &token, false).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // The editor: the server's low and high totals of each option, and the editing forms.
    let (status, html) = page(&app, &format!("/estimates/{id}"), &token, false).await;
    assert_eq!(status, StatusCode::OK);
    for o in e["options"].as_array().unwrap() {
        let want = format!(
            r#"<span class="low">{}</span> – <span class="high">{}</span>"#,
            money(&o["low"]["total"]),
            money(&o["high"]["total"])
        );
        assert!(html.contains(&want), "{want}");
    }
    assert!(html.contains("Dental &lt;b&gt;") || html.contains("Dental &#60;b&#62;"));
    assert!(html.contains(r#"data-action="add-line""#) && html.contains(r#"data-action="send""#));
    assert!(html.contains(r#"data-action="find-item""#), "the price list is searched, not listed");
    let audit = app.get_json(&format!("/api/audit?action=estimate.read&record_id={id}")).await;
    assert!(!audit["items"].as_array().unwrap().is_empty(), "the page's read is audited");

    // A vet may not open estimates; a receptionist may, and may answer them but not change
    // the price list.
    let vic = staff_user(&app, "vic", &["veterinarian"]).await;
    let (status, _) = page(&app, &format!("/estimates/{id}"), &vic, false).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The cat's page leads to a new estimate for who may start one.
    let new_link = format!(r#"<a id="new-estimate" href="/estimates/new?patient_id={cat}">"#);
    let (_, html) = page(&app, &format!("/patients/{cat}"), &token, false).await;
    assert!(html.contains(&new_link), "{html}");
    let (_, html) = page(&app, &format!("/patients/{cat}"), &vic, false).await;
    assert!(!html.contains("new-estimate"), "a vet does not start estimates");

    // Sent: the answers instead of the editor; accepted: the invoice's link.
    expect_json(app.post_json(&format!("/api/estimates/{id}/send"), &json!({})).await, StatusCode::OK).await;
    let (_, body) = page(&app, &format!("/estimates/{id}"), &token, true).await;
    assert!(!body.contains(r#"data-action="add-line""#) && body.contains(r#"data-action="accept""#));
    assert!(body.contains(r#"name="optional_lines" value="2""#));
    let accepted = expect_json(
        app.post_json(&format!("/api/estimates/{id}/accept"), &json!({"option_no": 2, "optional_lines": [2]})).await,
        StatusCode::OK,
    )
    .await;
    let invoice = accepted["invoice"]["id"].as_str().unwrap();
    let (_, body) = page(&app, &format!("/estimates/{id}"), &token, true).await;
    assert!(body.contains(&format!(r#"<a href="/invoices/{invoice}">Open the draft invoice</a>"#)), "{body}");
    assert!(!body.contains(r#"data-action="accept""#));

    // A new estimate starts from a cat; without one the address is refused; unknown ids 404.
    let (status, html) = page(&app, &format!("/estimates/new?patient_id={cat}"), &token, false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!(r#"data-patient="{cat}""#)) && html.contains("Miso"));
    let (status, _) = page(&app, "/estimates/new", &token, false).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = page(&app, "/estimates/01J0000000000000000000000A", &token, false).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_payment_plan_screens_show_the_schedule_and_refuse_a_second_plan() {
    use crate::helpers::expect_json;
    let app = TestApp::signed_in().await;
    let token = admin(&app);
    let client = app.some_client("Jane", "Doe").await;
    let body = json!({"client_id": client, "lines": [{"description": "Surgery", "unit_price": 40001}]});
    let inv = id_of(&expect_json(app.post_json("/api/invoices", &body).await, StatusCode::CREATED).await);

    // A draft cannot have a plan: the page says why and offers no form.
    let (status, html) = page(&app, &format!("/payment-plans/new?invoice_id={inv}"), &token, false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"id="plan-refused""#) && !html.contains(r#"id="new-plan""#), "{html}");
    expect_json(app.post_json(&format!("/api/invoices/{inv}/issue"), &json!({})).await, StatusCode::OK).await;
    let (_, html) = page(&app, &format!("/payment-plans/new?invoice_id={inv}"), &token, false).await;
    assert!(html.contains(r#"id="new-plan""#) && html.contains(r#"<span id="invoice-balance">400.01</span>"#));

    let plan = expect_json(
        app.post_json(
            "/api/payment-plans",
            &json!({"invoice_id": inv, "down_payment": 10000, "instalments": 3, "interval": "monthly"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let plan_id = id_of(&plan);
    let (status, html) = page(&app, &format!("/payment-plans/{plan_id}"), &token, false).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(html.matches(r#"<tr data-state="due">"#).count(), 4, "the down payment and three instalments");
    assert!(html.contains("100.01"), "the last instalment takes the remainder cent");
    assert!(html.contains(r#"<progress id="plan-progress" value="0" max="40001">"#));
    assert!(html.contains(r#"data-action="modify-plan""#) && html.contains(r#"data-action="cancel-plan""#));

    // Paid down: the progress follows the invoice's payments.
    let pay = json!({"amount": 10000, "method": "cash"});
    expect_json(app.post_json(&format!("/api/invoices/{inv}/payments"), &pay).await, StatusCode::OK).await;
    let (_, body) = page(&app, &format!("/payment-plans/{plan_id}"), &token, true).await;
    assert!(body.contains(r#"value="10000" max="40001""#) && body.contains(r#"<tr data-state="paid">"#), "{body}");

    // A second plan is refused on the page, which links the active one.
    let (_, html) = page(&app, &format!("/payment-plans/new?invoice_id={inv}"), &token, false).await;
    assert!(html.contains("already active") && html.contains(&format!(r#"href="/payment-plans/{plan_id}""#)));
    let vic = staff_user(&app, "vic", &["veterinarian"]).await;
    let (status, _) = page(&app, &format!("/payment-plans/{plan_id}"), &vic, false).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_reports_screen_draws_revenue_by_category_and_ageing_from_the_reports() {
    use crate::helpers::expect_json;
    let app = TestApp::signed_in().await;
    let token = admin(&app);
    let client = app.some_client("Jane", "Doe").await;
    let exam = id_of(
        &crate::catalogue::item(&app, json!({"name": "Exam", "category": "Exams", "kind": "service", "price": 6500}))
            .await,
    );
    let body =
        json!({"client_id": client, "lines": [{"item_id": exam}, {"description": "Odd job", "unit_price": 1234}]});
    let inv = id_of(&expect_json(app.post_json("/api/invoices", &body).await, StatusCode::CREATED).await);
    expect_json(app.post_json(&format!("/api/invoices/{inv}/issue"), &json!({})).await, StatusCode::OK).await;

    let (status, html) = page(&app, "/reports", &token, false).await;
    assert_eq!(status, StatusCode::OK);
    let today = app.system.ctx.today();
    let month = format!("{:04}-{:02}", today.year(), today.month());
    assert!(html.contains(&format!(r#"<g class="chart-bar" data-label="{month}">"#)), "{html}");
    assert!(html.contains(r#"data-series="Exams" data-value="6500""#));
    assert!(html.contains(r#"data-series="Uncategorised" data-value="1234""#));
    assert!(html.contains(r#"id="revenue-total">77.34<"#));
    // Ageing: the invoice is not yet due, so it is all current.
    assert!(
        html.contains(
            r#"data-label="Current"><rect class="chart-stack chart-s0" data-series="Owed" data-value="7734""#
        )
    );
    assert!(html.contains(r#"id="ageing-total">77.34<"#) && html.contains("Jane Doe"));
    assert!(html.contains(r#"id="estimate-vs-actual""#), "the administrator may read the estimate report");

    // By day over a bad range: a 422 page naming it.
    let (status, html) = page(&app, "/reports?from=2026-03-01&to=2026-01-01", &token, false).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Check the address"));
    let rita = staff_user(&app, "rita", &["receptionist"]).await;
    let (status, _) = page(&app, "/reports", &rita, false).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, html) = page(&app, "/estimates", &rita, false).await;
    assert!(html.contains(r#"href="/estimates""#) && !html.contains(r#"href="/reports""#), "the bar follows the role");
}

/// A client with a paid invoice and a draft, at a location taxing 8.25 %: (client, cat,
/// draft, paid invoice, the payment).
async fn billed_household(app: &TestApp) -> (String, String, String, String, String) {
    let client = id_of(
        &app.create_client(json!({"first_name": "<b>Ann</b>", "last_name": "Roe", "phone": "508-555-0143"})).await,
    );
    let cat = id_of(&app.create_patient(json!({"client_id": client, "name": "Miso"})).await);
    let location = id_of(&app.get_json("/api/locations").await[0]);
    let res = app.patch_json(&format!("/api/locations/{location}"), &json!({"tax_rate": 825})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let exam = crate::catalogue::item(
        app,
        json!({"name": "Wellness exam", "category": "Exams", "kind": "service", "price": 6500}),
    )
    .await;
    let draft_body = |desc: &str| {
        json!({"client_id": client, "patient_id": cat, "location_id": location,
               "lines": [{"item_id": id_of(&exam)}, {"description": desc, "unit_price": 1333, "quantity": 1.5, "taxable": true}]})
    };
    let paid =
        crate::helpers::expect_json(app.post_json("/api/invoices", &draft_body("Food")).await, StatusCode::CREATED)
            .await;
    let paid = id_of(&paid);
    let issued = crate::helpers::expect_json(
        app.post_json(&format!("/api/invoices/{paid}/issue"), &json!({})).await,
        StatusCode::OK,
    )
    .await;
    let total = issued["totals"]["total"].as_i64().unwrap();
    let after = crate::helpers::expect_json(
        app.post_json(&format!("/api/invoices/{paid}/payments"), &json!({"amount": total, "method": "cash"})).await,
        StatusCode::OK,
    )
    .await;
    let payment = id_of(&after["payments"][0]);
    let draft = crate::helpers::expect_json(
        app.post_json("/api/invoices", &draft_body("<script>x</script> treats")).await,
        StatusCode::CREATED,
    )
    .await;
    (client, cat, id_of(&draft), paid, payment)
}

#[tokio::test]
async fn the_billing_screens_list_build_and_account_through_the_audited_services() {
    let app = TestApp::signed_in().await;
    let token = admin(&app);
    let (client, _cat, draft, paid, payment) = billed_household(&app).await;

    // The list: both, newest first, labels decided on the server, names escaped.
    let (status, html) = page(&app, "/invoices", &token, false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"<a href="/invoices" aria-current="page">Billing</a>"#), "the Billing section is current");
    assert!(html.contains(r#"href="/inventory""#), "an administrator sees Inventory too");
    let (d, p) = (html.find(&format!("/invoices/{draft}")).unwrap(), html.find(&format!("/invoices/{paid}")).unwrap());
    assert!(d < p, "newest first");
    assert!(html.contains("Roe, &#60;b&#62;Ann&#60;/b&#62;") && !html.contains("<b>Ann</b>"));
    assert!(html.contains(r#"data-status="paid">Paid</span>"#) && html.contains(r#"data-status="draft">Draft</span>"#));
    let lists = app.get_json("/api/audit?action=invoice.list").await;
    assert_eq!(lists["items"][0]["detail"]["ids"], json!([draft, paid]), "the page shown is audited");

    // Filters: status, client, days; the fragment alone to HX-Request; a bad filter is 422.
    let (_, html) = page(&app, "/invoices?status=paid", &token, false).await;
    assert!(html.contains(&format!("/invoices/{paid}")) && !html.contains(&format!("/invoices/{draft}")));
    let (_, html) = page(&app, &format!("/invoices?client={client}"), &token, true).await;
    assert!(!html.contains("<html") && html.contains(&format!("/invoices/{paid}")), "the fragment: {html}");
    let today = app.system.ctx.today();
    let (_, html) = page(&app, &format!("/invoices?from={today}&to={today}"), &token, false).await;
    assert!(html.contains(&format!("/invoices/{paid}")));
    let (_, html) = page(&app, "/invoices?from=2000-01-01&to=2000-01-31", &token, false).await;
    assert!(html.contains(r#"id="no-results""#));
    for bad in [
        "/invoices?status=owing",
        "/invoices?from=yesterday",
        "/invoices?from=2026-02-01&to=2026-01-01",
        "/invoices?client=nobody",
    ] {
        let (status, html) = page(&app, bad, &token, false).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(html.contains(r#"id="filter-error""#), "{bad}: the form says why");
    }

    // The builder: a draft's lines escaped, the server's totals, its actions; read audited.
    let (status, html) = page(&app, &format!("/invoices/{draft}"), &token, false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("&#60;script&#62;x&#60;/script&#62; treats") && !html.contains("<script>x</script>"));
    assert!(html.contains(r#"id="issue""#) && html.contains(r#"src="/assets/billing.js""#));
    assert!(html.contains(&format!(r#"href="/clients/{client}/account""#)), "the client's account is linked");
    let reads = app.get_json(&format!("/api/audit?action=invoice.read&record_id={draft}")).await;
    assert_eq!(reads["items"].as_array().unwrap().len(), 1, "{reads}");
    let (_, fragment) = page(&app, &format!("/invoices/{draft}"), &token, true).await;
    assert!(!fragment.contains("<html") && fragment.contains(r#"id="t-total""#));
    let (_, html) = page(&app, &format!("/invoices/{paid}"), &token, false).await;
    assert!(html.contains(r#"<dd id="t-balance"><strong>0.00</strong></dd>"#));
    assert!(html.contains(&format!(r#"href="/api/payments/{payment}/receipt.pdf""#)));
    let (status, _) = page(&app, &format!("/invoices/{UNKNOWN_ID}"), &token, false).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The account: what is owed (the draft owes nothing yet), payments, the statement.
    let (status, html) = page(&app, &format!("/clients/{client}/account"), &token, false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<strong>0.00</strong> on 0 open invoices"), "{html}");
    assert!(html.contains(&format!(r#"href="/api/clients/{client}/statement.pdf""#)));
    assert!(html.contains(r#"id="account-payments""#) && html.contains(">Cash<"));
    let balance = app.get_json(&format!("/api/audit?action=client.balance&record_id={client}")).await;
    assert_eq!(balance["items"].as_array().unwrap().len(), 1, "read like GET /api/clients/{{id}}/balance");
    let (status, _) = page(&app, &format!("/clients/{UNKNOWN_ID}/account"), &token, false).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The client's page links to it.
    let (_, html) = page(&app, &format!("/clients/{client}"), &token, false).await;
    assert!(html.contains(&format!(r#"<a href="/clients/{client}/account">Balance, invoices and payments</a>"#)));
}

#[tokio::test]
async fn who_may_only_see_invoices_gets_no_checkout_actions_and_no_payments() {
    let app = TestApp::signed_in().await;
    let (client, _cat, draft, paid, _payment) = billed_household(&app).await;
    let role = app
        .post_json(
            "/api/roles",
            &json!({"name": "auditor", "grants": [{"permission": "invoices:view"}, {"permission": "clients:view"}]}),
        )
        .await;
    assert_eq!(role.status(), StatusCode::CREATED);
    let reader = staff_user(&app, "ivy", &["auditor"]).await;
    let (status, html) = page(&app, &format!("/invoices/{draft}"), &reader, false).await;
    assert_eq!(status, StatusCode::OK);
    for hidden in [r#"id="issue""#, r#"id="add-line""#, "save-line", r#"id="void""#] {
        assert!(!html.contains(hidden), "{hidden}");
    }
    assert!(!html.contains(r#"href="/inventory""#), "Inventory is not in their bar");
    let (_, html) = page(&app, &format!("/invoices/{paid}"), &reader, false).await;
    assert!(!html.contains("receipt.pdf") && !html.contains("email-receipt"));
    let (_, html) = page(&app, &format!("/clients/{client}/account"), &reader, false).await;
    assert!(!html.contains("Payments and refunds") && !html.contains("Payment plans"));
    // A vet has no invoices:view: no Billing in the bar, and the page is refused.
    let vet = staff_user(&app, "doc", &["veterinarian"]).await;
    let (status, html) = page(&app, "/invoices", &vet, false).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!html.contains(r#"href="/invoices""#));
}

/// `/loyalty`: the programme's rules as a form for who holds `loyalty:manage` (linked from the
/// invoices list for them), a 403 page for billing staff who read the rules but may not set
/// them; what the form saves through the API shows on the next read.
#[tokio::test]
async fn the_loyalty_settings_screen_is_for_who_may_set_the_rules() {
    let app = TestApp::signed_in().await;
    let token = admin(&app);
    let (status, html) = page(&app, "/loyalty", &token, false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"id="loyalty-settings""#) && !html.contains(r#"name="enabled" checked"#), "off: {html}");
    assert!(page(&app, "/invoices", &token, false).await.1.contains(r#"href="/loyalty""#));
    let on = json!({"enabled": true, "points_per_unit": 3, "item_bonuses": [], "referral_bonus": 0,
                    "birthday_bonus": 40, "redeem_points": 100, "redeem_cents": 150, "min_redeem": 100,
                    "expiry_months": 12});
    assert_eq!(app.put_json("/api/loyalty/settings", &on).await.status(), StatusCode::OK);
    let html = page(&app, "/loyalty", &token, false).await.1;
    assert!(html.contains(r#"name="enabled" checked"#) && html.contains(r#"value="1.50""#), "{html}");
    assert!(html.contains(r#"id="l-expiry" name="expiry_months" value="12""#) && html.contains("Last changed"));
    // A bad value is refused naming its field (the form shows it next to the field).
    let bad = json!({"enabled": true, "points_per_unit": -1, "item_bonuses": [], "referral_bonus": 0,
                     "birthday_bonus": 0, "redeem_points": 100, "redeem_cents": 100, "min_redeem": 100});
    crate::helpers::assert_error(
        app.put_json("/api/loyalty/settings", &bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("points_per_unit"),
    )
    .await;

    let billy = staff_user(&app, "billy", &["billing"]).await;
    assert_eq!(page(&app, "/loyalty", &billy, false).await.0, StatusCode::FORBIDDEN);
    assert!(!page(&app, "/invoices", &billy, false).await.1.contains(r#"href="/loyalty""#));
}

#[tokio::test]
async fn the_treatment_plan_screens_show_steps_progress_and_costs_and_the_cat_page_lists_the_plans() {
    use crate::helpers::expect_json;
    let app = TestApp::signed_in().await;
    let token = admin(&app);
    let client = app.some_client("Jane", "Doe").await;
    let cat = app.some_patient(&client, "Miso").await;
    let steps = json!([
        {"title": "<b>Bloods</b>", "kind": "lab", "day_offset": 0, "cost": 21000},
        {"title": "Cleaning", "kind": "procedure", "day_offset": 7, "cost": 85000},
    ]);
    let protocol = expect_json(
        app.post_json("/api/protocols", &json!({"name": "Dental <i>", "steps": steps})).await,
        StatusCode::CREATED,
    )
    .await;

    // The cat page offers the protocol and lists no plan yet.
    let (status, html) = page(&app, &format!("/patients/{cat}"), &token, false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"id="apply-protocol""#) && html.contains("No treatment plans."), "{html}");
    assert!(html.contains(&format!(r#"<option value="{}">Dental &#60;i&#62;</option>"#, id_of(&protocol))), "{html}");

    let apply = json!({"patient_id": cat, "protocol_id": id_of(&protocol)});
    let plan = expect_json(app.post_json("/api/treatment-plans", &apply).await, StatusCode::CREATED).await;
    let id = id_of(&plan["plan"]);
    let (status, html) = page(&app, &format!("/treatment-plans/{id}"), &token, false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("&#60;b&#62;Bloods&#60;/b&#62;") && !html.contains("<b>Bloods"), "typed text is escaped");
    assert!(html.contains(r#"<progress id="plan-progress" value="0" max="2">"#), "{html}");
    assert!(
        html.contains(r#"<dd id="plan-estimated">1060.00</dd>"#) && html.contains(r#"<dd id="plan-actual">0.00</dd>"#)
    );
    assert_eq!(html.matches(r#"data-action="done""#).count(), 2);
    assert!(html.contains(r#"data-action="cancel""#) && html.contains("/assets/plans.js"));

    // Done then skipped: the fragment follows; a settled step offers nothing; the history lists both.
    let res = app.post_json(&format!("/api/treatment-plans/{id}/changes"), &json!({"action": "done", "step": 1})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let (_, body) = page(&app, &format!("/treatment-plans/{id}"), &token, true).await;
    assert!(!body.contains("<html") && body.contains(r#"value="1" max="2""#) && body.contains("1 of 2 done (50 %)"));
    assert_eq!(body.matches(r#"data-action="done""#).count(), 1, "{body}");
    assert!(body.contains("Step done"));
    let skip = json!({"action": "skip", "step": 2, "reason": "Owner <declined>"});
    assert_eq!(app.post_json(&format!("/api/treatment-plans/{id}/changes"), &skip).await.status(), StatusCode::OK);
    let (_, body) = page(&app, &format!("/treatment-plans/{id}"), &token, true).await;
    assert!(body.contains("Owner &#60;declined&#62;") && body.contains(r#"data-status="completed""#), "{body}");
    assert!(!body.contains(r#"data-action="cancel""#), "a completed plan offers no change");

    let (_, html) = page(&app, &format!("/patients/{cat}"), &token, false).await;
    assert!(html.contains(&format!(r#"href="/treatment-plans/{id}""#)) && html.contains("1 of 1 done"), "{html}");

    // Ids naming nothing are 404 pages; who may not read the record gets a 403 page and no block.
    for path in [format!("/treatment-plans/{UNKNOWN_ID}"), "/treatment-plans/nope".to_owned()] {
        assert_eq!(page(&app, &path, &token, false).await.0, StatusCode::NOT_FOUND, "{path}");
    }
    let rita = staff_user(&app, "rita", &["receptionist"]).await;
    assert_eq!(page(&app, &format!("/treatment-plans/{id}"), &rita, false).await.0, StatusCode::FORBIDDEN);
    let (status, html) = page(&app, &format!("/patients/{cat}"), &rita, false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("plans-section"), "no plans for who may not read them");
}
