//! SOAP notes through HTTP: the autosaved draft (revisions out of order, not an event,
//! audited, idempotent), signing (a veterinarian with `visits:sign` only), the lock (409
//! naming the addendum route), addenda that keep the original, 1 MB text, and templates.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::access::staff_user_with_id;
use crate::calendar::Clinic;
use crate::helpers::{assert_error, expect_json, id_of};
use crate::visits::{as_user, vet_with_account, walk_in};

#[tokio::test]
async fn a_note_is_autosaved_out_of_order_signed_locked_and_amended() {
    let c = Clinic::new().await;
    let (vet, vet_staff) = vet_with_account(&c.app, "dr.soap").await;
    let visit =
        expect_json(c.app.post_json("/api/visits", &walk_in(&c.cat, &vet_staff)).await, StatusCode::CREATED).await;
    let id = id_of(&visit);
    let draft = format!("/api/visits/{id}/note/draft");
    // Charge capture answers the visit's opening on its own (a walk-in's exam is an uncharged
    // entry on a new draft invoice): wait for it, so its events are not counted below.
    c.app
        .poll_json(&format!("/api/invoices?visit_id={id}"), |p| {
            p["items"]
                .as_array()
                .is_some_and(|i| i.iter().any(|inv| inv["uncharged"].as_array().is_some_and(|u| !u.is_empty())))
        })
        .await;
    let seq = c.app.last_event_seq().await;

    let save = |rev: u64, text: &str| json!({"revision": rev, "subjective": text, "plan": format!("plan {rev}")});
    let saved =
        expect_json(as_user(&c.app, &vet, Method::PUT, &draft, Some(&save(2, "Eats less"))).await, StatusCode::OK)
            .await;
    assert_eq!((saved["revision"].as_u64(), saved["applied"].as_bool()), (Some(2), Some(true)));
    // Revision 1 arrives late (a flaky connection's queue): the newer text stays.
    let late =
        expect_json(as_user(&c.app, &vet, Method::PUT, &draft, Some(&save(1, "Eats"))).await, StatusCode::OK).await;
    assert_eq!((late["revision"].as_u64(), late["applied"].as_bool()), (Some(2), Some(false)));
    assert_eq!(late["draft"]["subjective"], "Eats less");
    let saved = expect_json(
        as_user(&c.app, &vet, Method::PUT, &draft, Some(&json!({"revision": 3, "objective": "T 38.6"}))).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (saved["draft"]["subjective"].as_str(), saved["draft"]["objective"].as_str()),
        (Some("Eats less"), Some("T 38.6"))
    );
    assert_eq!(c.app.last_event_seq().await, seq, "autosaves are not events");
    let audit = c.app.get_json(&format!("/api/audit?record_id={id}&action=note.autosave")).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 2, "{audit}");

    // Signing what the signer did not see is refused.
    let sign = format!("/api/visits/{id}/note/sign");
    let res = as_user(&c.app, &vet, Method::POST, &sign, Some(&json!({"revision": 2}))).await;
    assert_error(res, StatusCode::CONFLICT, "record_changed", None).await;
    let note = expect_json(
        as_user(&c.app, &vet, Method::POST, &sign, Some(&json!({"revision": 3}))).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!((note["subjective"].as_str(), note["objective"].as_str()), (Some("Eats less"), Some("T 38.6")));
    assert_eq!(note["signature"].as_str().unwrap().len(), 64);
    assert!(note["signed_at"].is_string() && note["signed_by"].is_string());

    // Locked: editing is 409 naming the addendum route; signing again too.
    let res = as_user(&c.app, &vet, Method::PUT, &draft, Some(&save(4, "changed my mind"))).await;
    let body = assert_error(res, StatusCode::CONFLICT, "note_signed", None).await;
    let route = format!("/api/visits/{id}/note/addenda");
    assert_eq!(body["details"]["addendum_route"], route.as_str());
    assert!(body["message"].as_str().unwrap().contains(&route));
    let res = as_user(&c.app, &vet, Method::POST, &sign, Some(&json!({}))).await;
    assert_error(res, StatusCode::CONFLICT, "note_signed", None).await;

    let add = |text: &str| json!({"text": text});
    for text in ["Owner called: eating again", "T4 result: 62 nmol/L"] {
        let res = as_user(&c.app, &vet, Method::POST, &route, Some(&add(text))).await;
        expect_json(res, StatusCode::CREATED).await;
    }
    let view = c.app.get_json(&format!("/api/visits/{id}/note")).await;
    assert_eq!(view["status"], "signed");
    let shown = &view["note"];
    assert_eq!(
        (shown["subjective"].as_str(), shown["signature"].as_str()),
        (Some("Eats less"), note["signature"].as_str()),
        "the original is unchanged"
    );
    let addenda = shown["addenda"].as_array().unwrap();
    assert_eq!(addenda.len(), 2);
    assert_eq!(
        (addenda[0]["number"].as_u64(), addenda[0]["text"].as_str()),
        (Some(1), Some("Owner called: eating again"))
    );
    assert_ne!(addenda[0]["signature"], addenda[1]["signature"]);
    assert!(addenda.iter().all(|a| a["author"] == note["signed_by"] && a["signed_at"].is_string()));
}

#[tokio::test]
async fn only_a_veterinarian_with_visits_sign_signs() {
    let c = Clinic::new().await;
    let (vet, vet_staff) = vet_with_account(&c.app, "dr.sign").await;
    let (tech, _) = staff_user_with_id(&c.app, "tech.sign", &["vet_tech"]).await;
    let visit =
        expect_json(c.app.post_json("/api/visits", &walk_in(&c.cat, &vet_staff)).await, StatusCode::CREATED).await;
    let id = id_of(&visit);
    let sign = format!("/api/visits/{id}/note/sign");
    // Someone else's draft, without the permission: 403 naming it.
    let res = as_user(&c.app, &tech, Method::POST, &sign, Some(&json!({}))).await;
    let body = assert_error(res, StatusCode::FORBIDDEN, "forbidden", None).await;
    assert!(body["message"].as_str().unwrap().contains("visits:sign"), "{body}");
    // The permission without a veterinarian's staff profile (the administrator): 403 too.
    let res = c.app.post_json(&sign, &json!({})).await;
    let body = assert_error(res, StatusCode::FORBIDDEN, "forbidden", None).await;
    assert!(body["message"].as_str().unwrap().contains("veterinarian"), "{body}");
    // An addendum before signing is 409.
    let res =
        as_user(&c.app, &vet, Method::POST, &format!("/api/visits/{id}/note/addenda"), Some(&json!({"text": "x"})))
            .await;
    assert_error(res, StatusCode::CONFLICT, "note_unsigned", None).await;
    // A vet signs (the template's text counts as written).
    assert_eq!(as_user(&c.app, &vet, Method::POST, &sign, Some(&json!({}))).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn text_of_a_megabyte_is_refused_naming_the_field() {
    let c = Clinic::new().await;
    let visit = expect_json(c.app.post_json("/api/visits", &walk_in(&c.cat, &c.vet)).await, StatusCode::CREATED).await;
    let draft = format!("/api/visits/{}/note/draft", id_of(&visit));
    let mb = "a".repeat(1_000_000);
    let res = c.app.put_json(&draft, &json!({"revision": 1, "objective": mb})).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("objective")).await;
    let res = c
        .app
        .post_json("/api/visits", &json!({"patient_id": c.cat, "vet_id": c.vet, "type": "sick", "chief_complaint": mb}))
        .await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("chief_complaint")).await;
    let res = c.app.post_json(&format!("/api/visits/{}/note/addenda", id_of(&visit)), &json!({"text": mb})).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("text")).await;
    // Over the body limit: 413 before any handler.
    let res = c.app.put_json(&draft, &json!({"revision": 1, "objective": "a".repeat(1_100_000)})).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn autosave_sign_and_addenda_replay_with_the_same_idempotency_key() {
    let c = Clinic::new().await;
    let (vet, vet_staff) = vet_with_account(&c.app, "dr.retry").await;
    let visit =
        expect_json(c.app.post_json("/api/visits", &walk_in(&c.cat, &vet_staff)).await, StatusCode::CREATED).await;
    let id = id_of(&visit);
    let send = |method: Method, path: String, key: String, body: Value| {
        let rb = c.app.anonymous(method, &path).bearer_auth(&vet).header("Idempotency-Key", key).json(&body);
        async move { rb.send().await.unwrap() }
    };
    for (method, path, body) in [
        (Method::PUT, format!("/api/visits/{id}/note/draft"), json!({"revision": 5, "plan": "Recheck in a week"})),
        (Method::POST, format!("/api/visits/{id}/note/sign"), json!({})),
        (Method::POST, format!("/api/visits/{id}/note/addenda"), json!({"text": "Called the owner"})),
    ] {
        let key = format!("retry-{path}");
        let first = send(method.clone(), path.clone(), key.clone(), body.clone()).await;
        assert!(first.status().is_success(), "{path}: {}", first.status());
        let first: Value = first.json().await.unwrap();
        let again = send(method, path.clone(), key, body).await;
        assert_eq!(again.headers().get("Idempotent-Replayed").map(|v| v.to_str().unwrap()), Some("true"), "{path}");
        assert_eq!(again.json::<Value>().await.unwrap(), first, "{path}");
    }
    let note = c.app.get_json(&format!("/api/visits/{id}/note")).await;
    assert_eq!(note["note"]["addenda"].as_array().unwrap().len(), 1, "the addendum was added once");
}

#[tokio::test]
async fn a_template_put_replays_with_the_same_idempotency_key() {
    let c = Clinic::new().await;
    let body = json!({"subjective": "Dental history:", "plan": "Book the cleaning"});
    let put = |key: &str, body: &Value| {
        let rb = c.app.request(Method::PUT, "/api/note-templates/dental").header("Idempotency-Key", key).json(body);
        async move { rb.send().await.unwrap() }
    };
    let first = expect_json(put("template-1", &body).await, StatusCode::OK).await;
    let again = put("template-1", &body).await;
    assert_eq!(again.headers().get("Idempotent-Replayed").map(|v| v.to_str().unwrap()), Some("true"));
    // The answer is the first one, byte for byte (a second write would have a new time).
    assert_eq!(expect_json(again, StatusCode::OK).await, first);
    let audit = c.app.get_json("/api/audit?action=note_template.update").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "written once: {audit}");
    // The key is the caller's for this request only: another body is refused.
    let res = put("template-1", &json!({"subjective": "Other"})).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused", Some("Idempotency-Key")).await;
}

#[tokio::test]
async fn a_new_visit_starts_from_its_types_template_as_the_clinic_wrote_it() {
    let c = Clinic::new().await;
    let templates = c.app.get_json("/api/note-templates").await;
    assert_eq!(templates.as_array().unwrap().len(), 7);
    assert!(templates.as_array().unwrap().iter().all(|t| t["edited"] == false));
    let body = json!({"subjective": "Sick cat history:", "plan": "Recheck"});
    let t = expect_json(c.app.put_json("/api/note-templates/sick", &body).await, StatusCode::OK).await;
    assert_eq!((t["key"].as_str(), t["edited"].as_bool()), (Some("sick"), Some(true)));
    let res = c.app.put_json("/api/note-templates/grooming", &body).await;
    assert_error(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("key")).await;
    let res = c.app.put_json(&format!("/api/note-templates/{}", crate::helpers::UNKNOWN_ID), &body).await;
    assert_error(res, StatusCode::NOT_FOUND, "appointment_type_not_found", None).await;

    let visit = expect_json(c.app.post_json("/api/visits", &walk_in(&c.cat, &c.vet)).await, StatusCode::CREATED).await;
    let note = c.app.get_json(&format!("/api/visits/{}/note", id_of(&visit))).await;
    assert_eq!(
        (note["draft"]["subjective"].as_str(), note["draft"]["revision"].as_u64()),
        (Some("Sick cat history:"), Some(0))
    );

    // A template for one appointment type wins over its visit type's.
    let ty = c.ty("Wellness exam").to_owned();
    c.app.put_json(&format!("/api/note-templates/{ty}"), &json!({"subjective": "Annual exam of an adult cat"})).await;
    let appt = c.book(&c.wellness(&format!("{}T11:00:00-05:00", crate::calendar::DAY))).await;
    let visit = expect_json(
        c.app.post_json("/api/visits", &json!({"appointment_id": id_of(&appt)})).await,
        StatusCode::CREATED,
    )
    .await;
    let note = c.app.get_json(&format!("/api/visits/{}/note", id_of(&visit))).await;
    assert_eq!(note["draft"]["subjective"], "Annual exam of an adult cat");
    assert_eq!(note["draft"]["template"], ty.as_str());
}

#[tokio::test]
async fn the_visit_page_shows_the_note_and_a_sign_button_only_to_a_vet() {
    let c = Clinic::new().await;
    let (vet, vet_staff) = vet_with_account(&c.app, "dr.page").await;
    let (tech, _) = staff_user_with_id(&c.app, "tech.page", &["vet_tech"]).await;
    let (front, _) = staff_user_with_id(&c.app, "front.page", &["receptionist"]).await;
    let visit =
        expect_json(c.app.post_json("/api/visits", &walk_in(&c.cat, &vet_staff)).await, StatusCode::CREATED).await;
    let id = id_of(&visit);
    let path = format!("/visits/{id}");
    let draft = json!({"revision": 1, "plan": "Recheck <in> a week"});
    as_user(&c.app, &vet, Method::PUT, &format!("/api/visits/{id}/note/draft"), Some(&draft)).await;

    let page = |token: String| {
        let app = &c.app;
        let path = path.clone();
        async move {
            let res = as_user(app, &token, Method::GET, &path, None).await;
            (res.status(), res.text().await.unwrap())
        }
    };
    let (status, html) = page(vet.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Recheck &#60;in&#62; a week") || html.contains("Recheck &lt;in&gt; a week"), "{html}");
    assert!(html.contains(r#"id="sign""#));
    let (status, html) = page(tech).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains(r#"id="sign""#), "a tech may read, not sign");
    let (status, html) = page(front).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!html.contains("Recheck"));

    as_user(&c.app, &vet, Method::POST, &format!("/api/visits/{id}/note/sign"), Some(&json!({"revision": 1}))).await;
    as_user(
        &c.app,
        &vet,
        Method::POST,
        &format!("/api/visits/{id}/note/addenda"),
        Some(&json!({"text": "Owner agreed"})),
    )
    .await;
    let (_, html) = page(vet).await;
    assert!(html.contains("Signed ") && html.contains("Addendum 1") && html.contains("Owner agreed"), "{html}");
    assert!(!html.contains(r#"id="sign""#), "signed: no button");
    // The signer and the addendum's author by their staff name, not their account's id.
    let note = c.app.get_json(&format!("/api/visits/{id}/note")).await;
    let signer = note["note"]["signed_by"].as_str().unwrap_or_else(|| panic!("{note}"));
    assert_eq!(html.matches("by Dr. dr.page Vet").count(), 2, "{html}");
    assert!(!html.contains(signer), "no user id shown: {html}");
}
