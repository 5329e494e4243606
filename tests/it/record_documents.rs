//! Documents and consent forms on the client and cat pages over HTTP: the documents block with
//! its download links and upload form, "Show more" past the newest ten (`/documents/rows`), the
//! cat's consent forms with the signed PDF or the way to sign, nothing of either for a role
//! without `visits:view`, and bad input to `/documents/rows`.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::calendar::Clinic;
use crate::documents::{pdf, upload};
use crate::helpers::{TestApp, UNKNOWN_ID, expect_json, id_of};
use crate::visits::walk_in;

async fn html(app: &TestApp, path: &str) -> String {
    let res = app.get(path).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.text().await.unwrap()
}

async fn filed(app: &TestApp, fields: &[(&str, &str)], name: &str, content: &[u8]) -> String {
    id_of(&expect_json(upload(app, fields, name, content).await, StatusCode::CREATED).await)
}

#[tokio::test]
async fn the_cat_and_client_pages_list_documents_with_download_links_and_show_more() {
    let c = Clinic::new().await;
    let content = pdf("Radiograph report, Mochi");
    let cat_fields = [("patient_id", c.cat.as_str()), ("category", "imaging"), ("tags", "thorax, <b>x</b>")];
    let xray = filed(&c.app, &cat_fields, "<img src=x onerror=alert(1)>.pdf", &content).await;
    let insurance =
        filed(&c.app, &[("client_id", c.client.as_str()), ("category", "insurance")], "policy.pdf", &pdf("p")).await;
    // Another client's document never shows on this client's pages.
    let other =
        filed(&c.app, &[("patient_id", c.cat2.as_str()), ("category", "other")], "other.pdf", &pdf("other")).await;

    let page = html(&c.app, &format!("/patients/{}", c.cat)).await;
    assert!(page.contains(r#"id="documents-section""#) && page.contains(r#"data-owner-field="patient_id""#), "{page}");
    let link = format!(r#"href="/api/documents/{xray}/content""#);
    assert!(
        page.contains(&link) && page.contains("Imaging") && page.contains("thorax, &#60;b&#62;x&#60;/b&#62;"),
        "{page}"
    );
    assert!(!page.contains("<img src=x") && !page.contains("<b>x</b>"), "what users typed is text");
    assert!(
        page.contains(r#"id="document-upload""#) && page.contains(r#"<option value="lab_report">Lab report</option>"#)
    );
    assert!(!page.contains(&insurance) && !page.contains(&other), "the cat's own documents only");
    assert!(!page.contains("documents-more-link"), "ten or fewer: no Show more");

    let page = html(&c.app, &format!("/clients/{}", c.client)).await;
    assert!(page.contains(&link) && page.contains(&format!(r#"href="/api/documents/{insurance}/content""#)), "{page}");
    assert!(page.contains(&format!(r#"<a href="/patients/{}">"#, c.cat)), "the client page names the cat");
    assert!(!page.contains(&other));

    // The link downloads the very bytes, through the audited content route.
    let res = c.app.get(&format!("/api/documents/{xray}/content")).await;
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert_eq!(res.bytes().await.unwrap().to_vec(), content);

    // Past the newest ten, "Show more" asks for the next page, which has the oldest.
    for n in 0..10 {
        filed(
            &c.app,
            &[("patient_id", c.cat.as_str()), ("category", "lab_report")],
            &format!("lab {n}.pdf"),
            &pdf(&format!("lab {n}")),
        )
        .await;
    }
    let page = html(&c.app, &format!("/patients/{}", c.cat)).await;
    assert!(!page.contains(&link), "the oldest is past the first ten");
    let start = page.find("/documents/rows?patient_id=").expect("a Show more link");
    let href = page[start..page[start..].find('"').unwrap() + start].replace("&#38;", "&");
    let more = html(&c.app, &href).await;
    assert!(more.contains(&link) && !more.contains("lab 3.pdf") && !more.contains("documents-more-link"), "{more}");
    assert!(!more.contains("<html"), "a fragment, not a page");
    let first = html(&c.app, &format!("/documents/rows?patient_id={}", c.cat)).await;
    assert!(first.contains("lab 9.pdf") && first.contains("documents-more-link"));
}

#[tokio::test]
async fn the_cat_page_lists_its_consent_forms_with_the_signed_pdf_or_the_way_to_sign() {
    let c = Clinic::new().await;
    let templates = c.app.get_json("/api/consent-templates?kind=anaesthesia").await;
    let template = id_of(&templates["items"][0]);
    let visit =
        id_of(&expect_json(c.app.post_json("/api/visits", &walk_in(&c.cat, &c.vet)).await, StatusCode::CREATED).await);
    let form = |procedure: &str| json!({"template_id": template, "visit_id": visit, "procedure": procedure});
    let draft =
        id_of(&expect_json(c.app.post_json("/api/consent-forms", &form("Dental")).await, StatusCode::CREATED).await);
    let signed =
        id_of(&expect_json(c.app.post_json("/api/consent-forms", &form("Spay")).await, StatusCode::CREATED).await);
    let png = crate::consent_forms::signature_png(600, 200, 4);
    let signature = {
        use base64::Engine;
        format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png))
    };
    let body = json!({"signer_name": "Jon Smith", "relationship": "owner", "signature": signature});
    let signed =
        expect_json(c.app.post_json(&format!("/api/consent-forms/{signed}/sign"), &body).await, StatusCode::OK).await;
    let pdf = signed["signature"]["document_id"].as_str().unwrap();

    let page = html(&c.app, &format!("/patients/{}", c.cat)).await;
    assert!(page.contains(r#"id="patient-consents""#), "{page}");
    assert!(page.contains(&format!(r#"<a class="consent-sign" href="/consents/{draft}/sign">Sign</a>"#)), "{page}");
    assert!(page.contains(&format!(r#"<a class="consent-pdf" href="/api/documents/{pdf}/content""#)), "{page}");
    assert!(page.contains(r#"data-status="signed">Signed<"#) && page.contains(r#"data-status="draft">Draft<"#));
    assert!(page.contains(&format!(r#"href="/visits/{visit}""#)));
    // The signed PDF is a document of the cat's too.
    assert!(page.contains(&format!(r#"data-document="{pdf}""#)) && page.contains("Consent"));
    // Another cat's page has none of them.
    let page = html(&c.app, &format!("/patients/{}", c.cat2)).await;
    assert!(page.contains("No consent forms.") && !page.contains(&draft));
}

#[tokio::test]
async fn a_role_without_the_record_sees_neither_block_and_bad_queries_are_refused() {
    let c = Clinic::new().await;
    filed(&c.app, &[("patient_id", c.cat.as_str()), ("category", "lab_report")], "secret lab.pdf", &pdf("lab")).await;
    let token = crate::access::staff_user(&c.app, "front.docs", &["receptionist"]).await;
    let get = |path: String| c.app.anonymous(Method::GET, &path).bearer_auth(&token).send();
    for path in [format!("/patients/{}", c.cat), format!("/clients/{}", c.client)] {
        let res = get(path.clone()).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let page = res.text().await.unwrap();
        assert!(!page.contains("documents-section") && !page.contains("patient-consents"), "{path}: {page}");
        assert!(!page.contains("secret lab.pdf"));
    }
    let res = get(format!("/documents/rows?patient_id={}", c.cat)).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // Bad queries: a page answer, never a crash nor another record's rows.
    for (query, status) in [
        (String::new(), StatusCode::UNPROCESSABLE_ENTITY),
        (format!("?client_id={}&patient_id={}", c.client, c.cat), StatusCode::UNPROCESSABLE_ENTITY),
        ("?patient_id=not-an-id".to_owned(), StatusCode::UNPROCESSABLE_ENTITY),
        (format!("?patient_id={}&sort=size", c.cat), StatusCode::UNPROCESSABLE_ENTITY),
        (format!("?patient_id={}&cursor=%%%", c.cat), StatusCode::UNPROCESSABLE_ENTITY),
        (format!("?patient_id={UNKNOWN_ID}"), StatusCode::NOT_FOUND),
        (format!("?client_id={UNKNOWN_ID}"), StatusCode::NOT_FOUND),
    ] {
        let res = c.app.get(&format!("/documents/rows{query}")).await;
        assert_eq!(res.status(), status, "{query}");
        assert!(!res.text().await.unwrap().contains("secret lab.pdf"), "{query}");
    }
    // Without a session the browser is sent to sign in.
    let res = c.app.anonymous(Method::GET, &format!("/documents/rows?patient_id={}", c.cat)).send().await.unwrap();
    assert_eq!(res.url().path(), "/signin", "sent to sign in");
}
