//! `/api/estimates`: options of low–high lines computed to the cent by the invoices' rule,
//! gap-free `EST-YYYY-NNNNNN` numbers when sent, no edits after, viewed, an accepted option
//! converted once into a draft invoice that names the estimate, declined, the expiry job,
//! the estimate-vs-actual report, the PDF, and bad input refused.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::catalogue::item;
use crate::helpers::{TestApp, UNKNOWN_ID, assert_error, expect_json, id_of, pdf_text};

struct Clinic {
    app: TestApp,
    client: String,
    cat: String,
    location: String,
    exam: String,
    food: String,
}

/// A clinic taxing 8.25 %, an untaxed exam at 65.00 and a taxed food at 13.33.
async fn clinic() -> Clinic {
    clinic_in(TestApp::signed_in().await).await
}

async fn clinic_in(app: TestApp) -> Clinic {
    let client = app.some_client("Jane", "Doe").await;
    let cat = app.some_patient(&client, "Miso").await;
    let location = id_of(&app.get_json("/api/locations").await[0]);
    expect_json(app.patch_json(&format!("/api/locations/{location}"), &json!({"tax_rate": 825})).await, StatusCode::OK)
        .await;
    let exam = id_of(&item(&app, json!({"name": "Exam", "category": "Exams", "kind": "service", "price": 6500})).await);
    let food = id_of(
        &item(&app, json!({"name": "Food", "category": "Food", "kind": "product", "price": 1333, "taxable": true}))
            .await,
    );
    Clinic { app, client, cat, location, exam, food }
}

impl Clinic {
    fn body(&self, options: Value) -> Value {
        json!({"client_id": self.client, "patient_id": self.cat, "location_id": self.location, "options": options})
    }

    async fn draft(&self, options: Value) -> Value {
        expect_json(self.app.post_json("/api/estimates", &self.body(options)).await, StatusCode::CREATED).await
    }

    /// Best case: an exam and 1–2 food; worst case: the same and a dental at 100.00–150.00,
    /// with an optional x-ray.
    async fn two_options(&self) -> Value {
        self.draft(json!([
            {"name": "Best case", "lines": [
                {"item_id": self.exam},
                {"item_id": self.food, "quantity_low": 1, "quantity_high": 2},
            ]},
            {"name": "Worst case", "discount": {"kind": "percent", "basis_points": 1000}, "lines": [
                {"item_id": self.exam},
                {"description": "Dental", "unit_price_low": 10000, "unit_price_high": 15000},
                {"description": "X-ray", "unit_price_low": 4000, "optional": true},
            ]},
        ]))
        .await
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        expect_json(self.app.post_json(path, &body).await, StatusCode::OK).await
    }
}

fn year(app: &TestApp) -> i16 {
    app.system.ctx.today().year()
}

fn totals(t: &Value) -> (i64, i64, i64, i64) {
    let n = |k: &str| t[k].as_i64().unwrap();
    (n("subtotal"), n("discount"), n("tax"), n("total"))
}

#[tokio::test]
async fn each_option_has_low_and_high_totals_by_the_invoices_rule() {
    let c = clinic().await;
    let e = c.two_options().await;
    assert_eq!((e["status"].as_str(), e["number"].as_str()), (Some("draft"), None));
    let best = &e["options"][0];
    // Low: 65.00 + 13.33 (tax 8.25 % of 13.33 = 1.0997 → 1.10); high: 65.00 + 26.66 (2.19945 → 2.20).
    assert_eq!(totals(&best["low"]), (7833, 0, 110, 7943));
    assert_eq!(totals(&best["high"]), (9166, 0, 220, 9386));
    assert_eq!(
        (best["lines"][1]["low"]["net"].as_i64(), best["lines"][1]["high"]["net"].as_i64()),
        (Some(1333), Some(2666))
    );
    let worst = &e["options"][1];
    // Low without the optional x-ray: 165.00 less 10 % = 148.50. High with it: 255.00 less 25.50.
    assert_eq!(totals(&worst["low"]), (16500, 1650, 0, 14850));
    assert_eq!(totals(&worst["high"]), (25500, 2550, 0, 22950));
    assert_eq!(worst["lines"][2]["optional"], true);

    // The same lines on an invoice come to the same cents: one rule, one function.
    let inv = json!({"client_id": c.client, "location_id": c.location, "lines": [
        {"item_id": c.exam}, {"item_id": c.food, "quantity": 2},
    ]});
    let inv = expect_json(c.app.post_json("/api/invoices", &inv).await, StatusCode::CREATED).await;
    assert_eq!(totals(&inv["totals"]), totals(&best["high"]));
}

#[tokio::test]
async fn sending_numbers_gap_free_and_a_sent_estimate_is_not_edited() {
    let c = clinic().await;
    let first = id_of(&c.two_options().await);
    let second = id_of(&c.two_options().await);
    let y = year(&c.app);
    // Sent out of order: numbers follow the sending.
    let s2 = c.post(&format!("/api/estimates/{second}/send"), json!({})).await;
    let s1 = c.post(&format!("/api/estimates/{first}/send"), json!({})).await;
    assert_eq!(s2["number"], format!("EST-{y}-000001"));
    assert_eq!(s1["number"], format!("EST-{y}-000002"));
    assert_eq!(s1["status"], "sent");
    let today = c.app.system.ctx.today();
    assert_eq!(s1["sent_on"], today.to_string());
    assert_eq!(s1["valid_until"], today.checked_add(jiff::Span::new().days(30)).unwrap().to_string());
    // Sending again answers it unchanged: no second number.
    let again = c.post(&format!("/api/estimates/{first}/send"), json!({})).await;
    assert_eq!(again["number"], s1["number"]);

    assert_error(
        c.app.patch_json(&format!("/api/estimates/{first}"), &json!({"memo": "cheaper"})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
        None,
    )
    .await;
    // A draft changes freely, and follows its location's rate.
    let third = id_of(&c.two_options().await);
    let changed = expect_json(
        c.app
            .patch_json(
                &format!("/api/estimates/{third}"),
                &json!({"options": [{"name": "Only", "lines": [{"item_id": c.food}]}]}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(changed["options"].as_array().unwrap().len(), 1);
    assert_eq!(totals(&changed["options"][0]["high"]), (1333, 0, 110, 1443));

    // The expiry job was written with the sending, due the day after the validity date; run
    // now it leaves an estimate that is still valid.
    let jobs = c.app.get_json(&format!("/api/jobs?kind=estimate_expire&subject=estimate:{first}")).await;
    let job = &jobs["items"][0];
    let valid_until: jiff::civil::Date = s1["valid_until"].as_str().unwrap().parse().unwrap();
    let at = valid_until.tomorrow().unwrap().to_zoned(c.app.system.ctx.config.time_zone.clone()).unwrap().timestamp();
    assert_eq!(job["due_at"], at.to_string());
    let mut set = clowder_actors::store::ChangeSet::new();
    let now = c.app.system.ctx.clock.now();
    let caller = clowder_schemas::audit::Caller::system();
    c.app.system.jobs.reschedule_subject(&mut set, &format!("estimate:{first}"), |_| Some(now), &caller).unwrap();
    c.app.system.store().commit(set).await.unwrap();
    c.app.system.jobs.wake();
    c.app.poll_json(&format!("/api/jobs/{}", id_of(job)), |j| j["state"] == "succeeded").await;
    assert_eq!(c.app.get_json(&format!("/api/estimates/{first}")).await["status"], "sent");
}

#[tokio::test]
async fn an_accepted_option_becomes_one_draft_invoice_at_the_high_end() {
    let c = clinic().await;
    let id = id_of(&c.two_options().await);
    assert_error(
        c.app.post_json(&format!("/api/estimates/{id}/accept"), &json!({"option_no": 1})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
        None,
    )
    .await;
    c.post(&format!("/api/estimates/{id}/send"), json!({})).await;
    let viewed = c.post(&format!("/api/estimates/{id}/viewed"), json!({})).await;
    assert_eq!(viewed["status"], "viewed");
    assert!(viewed["viewed_at"].is_string());

    for (body, field) in
        [(json!({"option_no": 3}), "option_no"), (json!({"option_no": 2, "optional_lines": [1]}), "optional_lines")]
    {
        assert_error(
            c.app.post_json(&format!("/api/estimates/{id}/accept"), &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some(field),
        )
        .await;
    }
    let accepted = c.post(&format!("/api/estimates/{id}/accept"), json!({"option_no": 2, "optional_lines": [3]})).await;
    let (est, inv) = (&accepted["estimate"], &accepted["invoice"]);
    assert_eq!((est["status"].as_str(), est["accepted_option"].as_u64()), (Some("accepted"), Some(2)));
    assert_eq!(est["invoice_id"], inv["id"]);
    assert_eq!((inv["status"].as_str(), inv["client_id"].as_str()), (Some("draft"), Some(c.client.as_str())));
    // Every line at its high end, the optional x-ray taken, the option's discount kept: the
    // option's high total exactly.
    let lines = inv["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1]["unit_price"], 15000);
    assert_eq!(lines[2]["source"], format!("estimate:{id}:2:3"));
    assert_eq!(inv["totals"]["total"], est["options"][1]["high"]["total"]);
    assert!(inv["memo"].as_str().unwrap().contains(est["number"].as_str().unwrap()));

    // Once: a second acceptance, of any option, is 409 and makes no invoice.
    for option in [2, 1] {
        assert_error(
            c.app.post_json(&format!("/api/estimates/{id}/accept"), &json!({"option_no": option})).await,
            StatusCode::CONFLICT,
            "invalid_transition",
            None,
        )
        .await;
    }
    let invoices = c.app.get_json(&format!("/api/clients/{}/invoices", c.client)).await;
    assert_eq!(invoices["items"].as_array().unwrap().len(), 1);
    assert_error(
        c.app.post_json(&format!("/api/estimates/{id}/decline"), &json!({})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
        None,
    )
    .await;
    // The expiry job went with the acceptance.
    let jobs = c.app.get_json(&format!("/api/jobs?kind=estimate_expire&subject=estimate:{id}")).await;
    assert_eq!(jobs["items"][0]["state"], "cancelled");

    // Estimate vs actual: within the range as converted; below it once the invoice is
    // brought down to what was done.
    let report = c.app.get_json("/api/estimates/report").await;
    assert_eq!((report["within"].as_u64(), report["rows"][0]["against"].as_str()), (Some(1), Some("within")));
    assert_eq!(report["rows"][0]["low"], 18450, "the range counts the optional line taken at both ends");
    assert_eq!(report["rows"][0]["high"], 22950);
    let inv_id = inv["id"].as_str().unwrap();
    expect_json(
        c.app.patch_json(&format!("/api/invoices/{inv_id}"), &json!({"lines": [{"item_id": c.exam}]})).await,
        StatusCode::OK,
    )
    .await;
    let report = c.app.get_json(&format!("/api/estimates/report?client_id={}", c.client)).await;
    let row = &report["rows"][0];
    assert_eq!((row["against"].as_str(), row["actual"].as_i64()), (Some("below"), Some(5850)));
    assert_eq!(row["difference"], 5850 - 18450);
}

#[tokio::test]
async fn a_declined_estimate_is_answered_and_a_draft_cannot_be_declined() {
    let c = clinic().await;
    let id = id_of(&c.two_options().await);
    assert_error(
        c.app.post_json(&format!("/api/estimates/{id}/decline"), &json!({})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
        None,
    )
    .await;
    c.post(&format!("/api/estimates/{id}/send"), json!({})).await;
    let d = c.post(&format!("/api/estimates/{id}/decline"), json!({"reason": "too dear"})).await;
    assert_eq!((d["status"].as_str(), d["decline_reason"].as_str()), (Some("declined"), Some("too dear")));
    let list = c.app.get_json(&format!("/api/estimates?status=declined&client_id={}", c.client)).await;
    assert_eq!(list["items"][0]["id"].as_str(), Some(id.as_str()));
}

#[tokio::test]
async fn bad_estimates_are_refused_naming_the_field() {
    let c = clinic().await;
    let refused = [
        (
            json!([{"name": "a", "lines": [{"description": "x", "unit_price_low": 200, "unit_price_high": 100}]}]),
            "options.0.lines.0.unit_price_high",
        ),
        (
            json!([{"name": "a", "lines": [{"description": "x", "unit_price_low": 1, "quantity_low": 3, "quantity_high": 2}]}]),
            "options.0.lines.0.quantity_high",
        ),
        (
            json!([{"name": "a", "lines": [{"description": "x", "unit_price_low": -1}]}]),
            "options.0.lines.0.unit_price_low",
        ),
        (json!([{"name": "a", "lines": [{"description": "x"}]}]), "options.0.lines.0.unit_price_low"),
        (
            json!([{"name": "a", "lines": [{"description": "x", "unit_price_low": 100, "discount": {"kind": "amount", "amount": 101}}]}]),
            "options.0.lines.0",
        ),
        (json!([{"name": " ", "lines": []}]), "options.0.name"),
        (json!([]), "options"),
    ];
    for (options, field) in refused {
        assert_error(
            c.app.post_json("/api/estimates", &c.body(options)).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some(field),
        )
        .await;
    }
    // A fraction of a cent never parses.
    let frac = json!([{"name": "a", "lines": [{"description": "x", "unit_price_low": 12.5}]}]);
    assert!(c.app.post_json("/api/estimates", &c.body(frac)).await.status().is_client_error());
    // 10,000 lines: a clear 422 on `options`, before any line is looked at.
    let many: Vec<Value> = (0..10_000).map(|_| json!({"description": "x", "unit_price_low": 1})).collect();
    let body = c.body(json!([{"name": "a", "lines": many}]));
    let e = assert_error(
        c.app.post_json("/api/estimates", &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("options"),
    )
    .await;
    assert!(e.to_string().contains("at most 500"), "{e}");
    assert_error(
        c.app
            .post_json(
                "/api/estimates",
                &json!({"client_id": c.client, "patient_id": UNKNOWN_ID, "options": [{"name": "a"}]}),
            )
            .await,
        StatusCode::NOT_FOUND,
        "patient_not_found",
        None,
    )
    .await;
    let other = c.app.some_client("Sam", "Roe").await;
    assert_error(
        c.app
            .post_json("/api/estimates", &json!({"client_id": other, "patient_id": c.cat, "options": [{"name": "a"}]}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("patient_id"),
    )
    .await;
    // Nothing to send, and a validity date in the past.
    let empty = id_of(&c.draft(json!([{"name": "a"}])).await);
    assert_error(
        c.app.post_json(&format!("/api/estimates/{empty}/send"), &json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("options"),
    )
    .await;
    let full = id_of(&c.two_options().await);
    assert_error(
        c.app.post_json(&format!("/api/estimates/{full}/send"), &json!({"valid_until": "2001-01-01"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("valid_until"),
    )
    .await;
    assert_error(
        c.app.get(&format!("/api/estimates/{UNKNOWN_ID}")).await,
        StatusCode::NOT_FOUND,
        "estimate_not_found",
        None,
    )
    .await;
    assert_error(c.app.get("/api/estimates/nonsense.pdf").await, StatusCode::NOT_FOUND, "estimate_not_found", None)
        .await;
}

#[tokio::test]
async fn the_estimate_pdf_shows_each_option_with_its_low_and_high_totals() {
    let c = clinic().await;
    let id = id_of(&c.two_options().await);
    let sent = c.post(&format!("/api/estimates/{id}/send"), json!({})).await;
    let res = c.app.get(&format!("/api/estimates/{id}.pdf")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let number = sent["number"].as_str().unwrap();
    assert!(res.headers()["content-disposition"].to_str().unwrap().contains(number));
    let pdf = res.bytes().await.unwrap().to_vec();
    assert!(pdf.starts_with(b"%PDF"));
    let Some(text) = pdf_text(&pdf) else { return };
    for want in [
        format!("Estimate {number}"),
        "Option 1: Best case".into(),
        "Option 2: Worst case".into(),
        "X-ray (optional)".into(),
        "100.00 – 150.00".into(),
        "79.43".into(),
        "93.86".into(),
        "229.50".into(),
        "Miso".into(),
        "Jane Doe".into(),
    ] {
        assert!(text.contains(&want), "{want} missing from:\n{text}");
    }
    // The export is audited.
    let audit = c.app.get_json("/api/audit?action=estimate.export_pdf").await;
    assert_eq!(audit["items"].as_array().map(Vec::len), Some(1), "{audit}");
}

/// Emailing an estimate: a draft is sent (numbered) and emailed through the outbox with its
/// PDF attached, over the real SMTP test server; a retry with its key sends nothing more; a
/// client without an email or opted out of email is refused before anything changes; an
/// answered estimate is not emailed.
#[tokio::test]
async fn an_estimate_is_emailed_to_the_client_with_its_pdf_and_marked_sent() {
    let Some(sink) = crate::providers::SmtpSink::start(&[]).await else { return };
    let app = sink.app().await;
    let c = clinic_in(app).await;
    // The clinic's client has no email yet: refused, and the draft stays a draft.
    let e = c.two_options().await;
    let path = format!("/api/estimates/{}/email", id_of(&e));
    let r = c.app.post_json(&path, &json!({})).await;
    assert_error(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("email")).await;
    assert_eq!(c.app.get_json(&format!("/api/estimates/{}", id_of(&e))).await["status"], "draft");
    expect_json(
        c.app.patch_json(&format!("/api/clients/{}", c.client), &json!({"email": "jane@example.com"})).await,
        StatusCode::OK,
    )
    .await;

    let send =
        || c.app.request(reqwest::Method::POST, &path).header("idempotency-key", "email-est-1").json(&json!({})).send();
    let emailed = expect_json(send().await.unwrap(), StatusCode::ACCEPTED).await;
    let again = expect_json(send().await.unwrap(), StatusCode::ACCEPTED).await;
    assert_eq!(again["message_id"], emailed["message_id"], "a retry sends nothing more");
    let number = emailed["estimate"]["number"].as_str().expect("numbered").to_owned();
    assert_eq!(emailed["estimate"]["status"], "sent");
    let m = c
        .app
        .poll_json(&format!("/api/messages/{}", emailed["message_id"].as_str().unwrap()), |v| v["status"] == "sent")
        .await;
    assert_eq!(m["attachments"][0], format!("estimate:{}", id_of(&e)), "{m}");
    let got = &sink.wait_for(1).await[0];
    // The default `estimate` template: subject and body with the clinic, the client, the
    // number, the cat, the range (cheapest low 79.43 to dearest high 229.50), the validity
    // and the attachment named; its HTML too.
    let clinic_name = c.app.system.ctx.config.comms.clinic.name.clone();
    let valid_until = emailed["estimate"]["valid_until"].as_str().unwrap().to_owned();
    let subject = |got: &Value| {
        got["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h[0] == "Subject")
            .and_then(|h| h[1].as_str())
            .map(str::to_owned)
    };
    assert_eq!(subject(got), Some(format!("Your estimate {number} from {clinic_name}")), "{got}");
    let text = got["text"].as_str().unwrap();
    for want in ["Hi Jane,", &number, "for Miso", "attached as a PDF", "79.43 – 229.50", &valid_until, &clinic_name] {
        assert!(text.contains(want), "{want:?} not in {text}");
    }
    assert_eq!(m["category"], "estimate", "{m}");
    let a = &got["attachments"][0];
    assert_eq!(
        (a["content_type"].as_str(), a["head"].as_str().map(|h| &h[..4])),
        (Some("application/pdf"), Some("%PDF"))
    );
    assert_eq!(a["filename"].as_str(), Some(format!("estimate-{number}.pdf").as_str()), "{a}");
    let messages = c.app.get_json(&format!("/api/messages?client_id={}", c.client)).await;
    assert_eq!(messages["items"].as_array().map(Vec::len), Some(1), "one message: {messages}");

    // The template is edited like the others: the next email says what it now says.
    let templates = c.app.get_json("/api/templates?category=estimate&channel=email").await;
    let template = id_of(&templates["items"][0]);
    let change = json!({"subject": "Estimate {{ estimate_number }} for {{ estimate_cat }}",
        "text_body": "Dear {{ client_name }}, {{ estimate_range }} until {{ estimate_valid_until }}. The PDF is attached."});
    expect_json(c.app.patch_json(&format!("/api/templates/{template}"), &change).await, StatusCode::OK).await;
    let resent = expect_json(c.app.post_json(&path, &json!({})).await, StatusCode::ACCEPTED).await;
    assert_ne!(resent["message_id"], emailed["message_id"], "a deliberate resend is a new message");
    let got = &sink.wait_for(2).await[1];
    assert_eq!(subject(got), Some(format!("Estimate {number} for Miso")), "{got}");
    assert_eq!(
        got["text"].as_str().map(str::trim),
        Some(format!("Dear Jane Doe, 79.43 – 229.50 until {valid_until}. The PDF is attached.").as_str())
    );

    // Opted out of email: refused, nothing queued.
    let consent = json!({"channel": "email", "purpose": "transactional", "granted": false});
    let r = c.app.post_json(&format!("/api/clients/{}/consent", c.client), &consent).await;
    expect_json(r, StatusCode::CREATED).await;
    let other = c.two_options().await;
    let r = c.app.post_json(&format!("/api/estimates/{}/email", id_of(&other)), &json!({})).await;
    assert_error(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("email")).await;
    assert_eq!(c.app.get_json(&format!("/api/estimates/{}", id_of(&other))).await["status"], "draft");
    let messages = c.app.get_json(&format!("/api/messages?client_id={}", c.client)).await;
    assert_eq!(messages["items"].as_array().map(Vec::len), Some(2));

    // Declined: not emailed.
    c.post(&format!("/api/estimates/{}/decline", id_of(&e)), json!({})).await;
    let r = c.app.post_json(&path, &json!({})).await;
    assert_error(r, StatusCode::CONFLICT, "invalid_transition", None).await;
}

/// The editor's moves as the API takes them: an option renamed or removed and a line's
/// discount set by a `PATCH` of the options; the last option is never removed (422
/// `options`); a catalogue item is found by searching the price list page by page, past the
/// first 200 items, and the page renders no list of items.
#[tokio::test]
async fn options_are_renamed_and_removed_but_never_the_last_and_items_are_searched_past_200() {
    let c = clinic().await;
    let e = c.two_options().await;
    let path = format!("/api/estimates/{}", id_of(&e));
    let mut options: Vec<Value> = e["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let lines: Vec<Value> = o["lines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| {
                    json!({"description": l["description"], "quantity_low": l["quantity_low"],
                           "quantity_high": l["quantity_high"], "unit_price_low": l["unit_price_low"],
                           "unit_price_high": l["unit_price_high"], "taxable": l["taxable"], "optional": l["optional"]})
                })
                .collect();
            json!({"name": o["name"], "lines": lines})
        })
        .collect();
    options[0]["name"] = json!("Best case, no dental");
    options[0]["lines"][1]["discount"] = json!({"kind": "percent", "basis_points": 1000});
    options.remove(1);
    let changed = expect_json(c.app.patch_json(&path, &json!({"options": options})).await, StatusCode::OK).await;
    assert_eq!(changed["options"].as_array().map(Vec::len), Some(1));
    assert_eq!(changed["options"][0]["name"], "Best case, no dental");
    assert_eq!(changed["options"][0]["lines"][1]["discount"]["basis_points"], 1000);
    // The last option: refused, nothing changed.
    let r = c.app.patch_json(&path, &json!({"options": []})).await;
    assert_error(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("options")).await;
    assert_eq!(c.app.get_json(&path).await["options"].as_array().map(Vec::len), Some(1));

    // 205 more items: the 205th is found by its name, and the pages go on past 200.
    for n in 1..=205 {
        item(&c.app, json!({"name": format!("Item {n:03}"), "category": "Misc", "kind": "service", "price": 100}))
            .await;
    }
    let found = c.app.get_json("/api/catalogue?q=item%20205&limit=10").await;
    assert_eq!(found["items"][0]["name"], "Item 205", "{found}");
    let all = c.app.walk("/api/catalogue?q=item", 100).await;
    assert_eq!(all.len(), 205);
    let r = c.app.get(&format!("/estimates/{}", id_of(&e))).await;
    let html = r.text().await.unwrap();
    assert!(html.contains(r#"data-action="find-item""#) && !html.contains("Item 001"), "no list of items");
}

/// A draft's line is changed in place (quantities, prices, discount, optional), checked as an
/// added line is, the option's totals computed again; a sent or accepted estimate refuses it
/// as it refuses every edit.
#[tokio::test]
async fn a_line_is_edited_in_place_checked_like_an_added_one_and_only_in_a_draft() {
    let c = clinic().await;
    let e = c.two_options().await;
    let id = id_of(&e);
    let line = |option: u32, line: u32| format!("/api/estimates/{id}/options/{option}/lines/{line}");

    // Food 2–3 at 12.00–13.33, 10 % off, optional: the best case's low is the exam alone.
    let body = json!({"quantity_low": 2, "quantity_high": 3, "unit_price_low": 1200,
        "discount": {"kind": "percent", "basis_points": 1000}, "optional": true});
    let changed = expect_json(c.app.patch_json(&line(1, 2), &body).await, StatusCode::OK).await;
    let food = &changed["options"][0]["lines"][1];
    assert_eq!((food["quantity_low"].as_i64(), food["quantity_high"].as_i64()), (Some(2), Some(3)));
    assert_eq!((food["unit_price_low"].as_i64(), food["unit_price_high"].as_i64()), (Some(1200), Some(1333)));
    assert_eq!(food["optional"], true);
    // High: 3 × 13.33 = 39.99 less 10 % (4.00) = 35.99, taxed 8.25 % = 2.97.
    assert_eq!(food["high"]["net"].as_i64(), Some(3599));
    assert_eq!(totals(&changed["options"][0]["low"]), (6500, 0, 0, 6500));
    assert_eq!(totals(&changed["options"][0]["high"]), (10499, 400, 297, 10396));
    assert_eq!(changed["options"][1], e["options"][1], "the other option is untouched");
    assert_eq!(changed["options"][0]["lines"][0], e["options"][0]["lines"][0], "the other line too");

    // The discount removed with null, the line required again; the rest stays.
    let back =
        expect_json(c.app.patch_json(&line(1, 2), &json!({"discount": null, "optional": false})).await, StatusCode::OK)
            .await;
    let food = &back["options"][0]["lines"][1];
    assert!(food["discount"].is_null());
    assert_eq!((food["quantity_high"].as_i64(), food["optional"].as_bool()), (Some(3), Some(false)));

    // Bad input, named as on an added line; nothing changes.
    for (path, body, field) in [
        (line(1, 2), json!({"quantity_low": 5}), "options.0.lines.1.quantity_high"),
        (line(1, 2), json!({"unit_price_high": 100}), "options.0.lines.1.unit_price_high"),
        (line(1, 2), json!({"unit_price_low": -1}), "options.0.lines.1.unit_price_low"),
        (line(1, 2), json!({"quantity_low": 0}), "options.0.lines.1.quantity_low"),
        (
            line(2, 1),
            json!({"discount": {"kind": "amount", "amount": 1_000_000_001_i64}}),
            "options.1.lines.0.discount.amount",
        ),
        (line(1, 9), json!({"quantity_low": 1}), "line_no"),
        (line(7, 1), json!({"quantity_low": 1}), "option_no"),
        (format!("/api/estimates/{id}/options/x/lines/1"), json!({}), "option_no"),
    ] {
        assert_error(
            c.app.patch_json(&path, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            Some(field),
        )
        .await;
    }
    let unknown = c.app.patch_json(&line(1, 2), &json!({"description": "no"})).await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_error(
        c.app.patch_json(&format!("/api/estimates/{UNKNOWN_ID}/options/1/lines/1"), &json!({})).await,
        StatusCode::NOT_FOUND,
        "estimate_not_found",
        None,
    )
    .await;
    assert_eq!(c.app.get_json(&format!("/api/estimates/{id}")).await, back, "refusals change nothing");

    // Sent, then accepted: refused as the other edits are.
    c.post(&format!("/api/estimates/{id}/send"), json!({})).await;
    assert_error(
        c.app.patch_json(&line(1, 1), &json!({"quantity_high": 2})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
        None,
    )
    .await;
    c.post(&format!("/api/estimates/{id}/accept"), json!({"option_no": 1})).await;
    assert_error(
        c.app.patch_json(&line(1, 1), &json!({"quantity_high": 2})).await,
        StatusCode::CONFLICT,
        "invalid_transition",
        None,
    )
    .await;
}
