//! Views rendered in process: labels, the banner, escaping of what users typed, and what a
//! caller without a permission does not see. No server, no browser.

use askama::Template;

use super::lists::{Filter, ListKind, ListPage, ListResults, Results, Row};
use super::records::{ClientPage, Fact, PatientPage, RecordLink, Status, age};
use super::{ErrorPage, Nav};

fn nav(clients: bool, cats: bool) -> Nav {
    Nav {
        user: "Rita <Front Desk>".into(),
        current: "clients",
        today: true,
        clients,
        cats,
        messages: false,
        jobs: false,
    }
}

fn client_page(cats: Option<Vec<RecordLink>>) -> ClientPage {
    ClientPage {
        nav: nav(true, cats.is_some()),
        name: "<script>alert(1)</script> & Smith".into(),
        status: Status::ACTIVE,
        alerts: vec!["Pays cash only".into(), "<b>bites</b>".into()],
        facts: vec![
            Fact { term: "Phone", lines: vec!["+15085550142".into()], href: Some("tel:+15085550142".into()) },
            Fact { term: "Address", lines: vec!["1 Main St".into(), "Boston MA".into()], href: None },
        ],
        cats,
        messages: None,
        can_send: false,
        client_id: "01J".into(),
    }
}

#[test]
fn a_client_page_escapes_what_users_typed() {
    let html = client_page(None).render().unwrap();
    assert!(!html.contains("<script>alert(1)</script>"), "a name is never markup");
    assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62; &#38; Smith") || html.contains("&lt;script&gt;"));
    assert!(!html.contains("<b>bites</b>"));
    assert!(!html.contains("Rita <Front Desk>"), "the signed-in name is escaped too");
}

#[test]
fn a_client_page_shows_the_banner_the_facts_and_the_nav() {
    let cats = vec![RecordLink { href: "/patients/01J".into(), label: "Mittens".into(), detail: "Maine Coon".into() }];
    let html = client_page(Some(cats)).render().unwrap();
    assert!(html.contains(r#"<ul id="alerts" class="alerts""#) && html.contains("<li>Pays cash only</li>"));
    assert!(!html.contains(r#"id="handling""#), "a client has no handling list");
    assert!(html.contains(r#"<a href="tel:+15085550142">+15085550142</a>"#));
    assert!(html.contains("1 Main St<br>Boston MA"), "an address keeps its lines");
    assert!(html.contains(r#"<a href="/patients/01J">Mittens</a>"#) && html.contains("Maine Coon"));
    assert!(html.contains(r#"<a href="/clients" aria-current="page">Clients</a>"#));
    assert!(html.contains(r#"<a href="/patients">Cats</a>"#));
    assert!(html.contains(r#"id="sign-out""#) && html.contains(r#"id="search-slot""#));
    assert!(html.contains(r#"data-status="active">Active<"#));
}

#[test]
fn without_patients_view_a_client_page_has_no_cats_section_and_no_cats_link() {
    let html = client_page(None).render().unwrap();
    assert!(!html.contains("cats-section"), "the caller may not list cats");
    assert!(!html.contains(r#"href="/patients""#), "no link to a list they would be refused");
    assert!(html.contains(r#"href="/clients""#));
}

#[test]
fn an_owner_with_no_cats_says_so() {
    let html = client_page(Some(vec![])).render().unwrap();
    assert!(html.contains("No cats on file."));
}

#[test]
fn a_cat_page_puts_allergies_and_handling_in_the_banner() {
    let page = PatientPage {
        nav: nav(true, true),
        name: "Mittens".into(),
        status: Status::DECEASED,
        alerts: vec!["Allergy: penicillin".into()],
        handling: vec!["Towel wrap".into(), "Aggression: severe".into()],
        facts: vec![Fact { term: "Owner", lines: vec!["Smith, John".into()], href: Some("/clients/01K".into()) }],
        problems: vec![],
        clinical: None,
    };
    let html = page.render().unwrap();
    assert!(html.contains("<li>Allergy: penicillin</li>"));
    assert!(html.contains(r#"<ul id="handling" class="handling""#) && html.contains("<li>Towel wrap</li>"));
    assert!(html.contains(r#"<a href="/clients/01K">Smith, John</a>"#));
    assert!(html.contains(r#"data-status="deceased">Deceased<"#));
    assert!(html.contains("<title>Mittens · Clowder</title>"));
}

#[test]
fn a_calm_cat_has_no_banner() {
    let page = PatientPage {
        nav: nav(true, true),
        name: "Pistache".into(),
        status: Status::ACTIVE,
        alerts: vec![],
        handling: vec![],
        facts: vec![],
        problems: vec![],
        clinical: None,
    };
    assert!(!page.render().unwrap().contains(r#"class="banner""#));
}

fn results(rows: Vec<Row>, cursor: Option<&str>, next: Option<&str>) -> Results {
    let filter = Filter { name: "smi th&".into(), status: "all".into() };
    Results::new(ListKind::Clients, &filter, rows, cursor, next)
}

fn row(name: &str) -> Row {
    Row {
        href: "/clients/01A".into(),
        name: name.into(),
        second: "+15085550142".into(),
        third: String::new(),
        status: Status::INACTIVE,
        alerts: vec!["Pays cash only".into()],
    }
}

#[test]
fn a_list_page_keeps_the_filter_and_links_the_next_page() {
    let page = ListPage {
        nav: nav(true, true),
        filter: Filter { name: "smi th&".into(), status: "all".into() },
        results: results(vec![row("<i>Smith</i>, John")], None, Some("abc")),
    };
    let html = page.render().unwrap();
    assert!(html.contains(r#"<option value="all" selected>All</option>"#));
    assert!(html.contains(r#"<option value="active">Active</option>"#));
    assert!(html.contains(r#"value="smi th&#38;""#) || html.contains(r#"value="smi th&amp;""#));
    assert!(!html.contains("<i>Smith</i>"));
    assert!(html.contains(r#"data-label="Phone">+15085550142<"#));
    assert!(html.contains(r#"<span class="chip-alert">Pays cash only</span>"#));
    // The address of the next page carries the filter (escaped in the attribute).
    assert!(html.contains(r#"href="/clients?name=smi+th%26&#38;status=all&#38;cursor=abc" rel="next""#), "{html}");
    assert!(!html.contains(r#"rel="first""#), "the first page links no first page");
    assert!(html.contains(r#"src="/assets/lists.js""#));
}

#[test]
fn the_results_fragment_is_only_the_results() {
    let html = ListResults { results: results(vec![], Some("abc"), None) }.render().unwrap();
    assert!(!html.contains("<html") && !html.contains("topbar"), "a fragment has no page around it");
    assert!(html.contains("Nothing matches this filter."));
    assert!(html.contains(r#"rel="first""#) && !html.contains(r#"rel="next""#));
}

#[test]
fn a_cats_list_offers_deceased() {
    let filter = Filter { name: String::new(), status: "active".into() };
    assert_eq!(filter.href(ListKind::Cats, None), "/patients", "defaults stay out of the address");
    let page = ListPage {
        nav: nav(true, true),
        filter: filter.clone(),
        results: Results::new(ListKind::Cats, &filter, vec![row("Mittens")], None, None),
    };
    let html = page.render().unwrap();
    assert!(html.contains(r#"<option value="deceased">Deceased</option>"#));
    assert!(html.contains(r#"<th scope="col">Breed</th>"#));
}

#[test]
fn an_error_page_has_the_bar_and_says_what_happened() {
    let e = crate::error::ApiError::not_found(clowder_schemas::ErrorCode::ClientNotFound, "client");
    let res = ErrorPage::answer(nav(true, true), e);
    assert_eq!(res.status(), axum::http::StatusCode::NOT_FOUND);
    let page = ErrorPage { nav: nav(true, true), title: "Not found".into(), message: "No client".into() };
    let html = page.render().unwrap();
    assert!(html.contains("<h1 id=\"problem-title\">Not found</h1>") && html.contains("topbar"));
}

#[test]
fn ages_are_in_months_then_years() {
    let d = |y, m, day| jiff::civil::date(y, m, day);
    assert_eq!(age(d(2025, 1, 15), d(2025, 8, 14)), "6 months");
    assert_eq!(age(d(2025, 1, 15), d(2025, 2, 15)), "1 month");
    assert_eq!(age(d(2023, 1, 15), d(2025, 8, 14)), "2 years");
    assert_eq!(age(d(2024, 6, 1), d(2025, 8, 14)), "1 year");
}

mod comms_views {
    use askama::Template;
    use clowder_schemas::batches::{CommsStats, StatusCounts};
    use clowder_schemas::messages::{Channel, Message, MessageStatus, Purpose};
    use clowder_schemas::templates::{SmsEncoding, SmsSegments};
    use clowder_schemas::{ClientId, MessageId};
    use jiff::tz::TimeZone;

    use super::nav;
    use crate::views::comms::*;

    fn tabs(bulk: bool) -> Tabs {
        Tabs { current: "log", log: true, templates: true, dashboard: true, bulk }
    }

    fn message(status: MessageStatus) -> Message {
        Message {
            id: MessageId::from_u128(7),
            channel: Channel::Sms,
            recipient: "+15085550142".into(),
            client_id: Some(ClientId::from_u128(9)),
            subject: None,
            text: format!("<script>x</script> {}", "a".repeat(100)),
            html: None,
            idempotency_key: "k".into(),
            purpose: Purpose::Transactional,
            template_id: None,
            category: None,
            automation: None,
            status,
            provider: None,
            provider_id: None,
            attempts: 1,
            last_error: Some("carrier <refused>".into()),
            created_at: jiff::Timestamp::UNIX_EPOCH,
            sent_at: None,
            updated_at: jiff::Timestamp::UNIX_EPOCH,
            created_by: None,
            tracked_links: Vec::new(),
            link_clicks: Vec::new(),
            opened_at: None,
            opens: 0,
            clicked_at: None,
            clicks: 0,
        }
    }

    fn log_page(bulk: bool) -> MessagesPage {
        MessagesPage {
            nav: nav(true, true),
            tabs: tabs(bulk),
            form: LogForm { status: "dead".into(), ..LogForm::default() },
            statuses: status_choices(),
            templates: vec![],
            rows: vec![MessageRow::of(&message(MessageStatus::Dead), &TimeZone::UTC)],
            next_href: Some(LogForm { status: "dead".into(), ..LogForm::default() }.href(Some("CUR"))),
            first_href: None,
        }
    }

    #[test]
    fn the_log_labels_statuses_cuts_long_texts_and_escapes_them() {
        let html = log_page(true).render().unwrap();
        assert!(html.contains(r#"data-status="dead">Failed<"#), "{html}");
        assert!(html.contains(r#"<option value="dead" selected>Failed</option>"#));
        assert!(html.contains(r#"<option value="suppressed">Opted out</option>"#));
        assert!(!html.contains("<script>x</script>") && !html.contains("carrier <refused>"));
        assert!(html.contains("…"), "a long text is cut");
        assert!(
            html.contains(r#"href="/messages?status=dead&#38;cursor=CUR""#)
                || html.contains("status=dead&amp;cursor=CUR")
        );
        assert!(html.contains(r#"href="/clients/"#), "the recipient links to the client");
    }

    #[test]
    fn a_tab_shows_only_when_its_page_would_answer() {
        assert!(log_page(true).render().unwrap().contains(r#"href="/messages/bulk""#));
        assert!(!log_page(false).render().unwrap().contains(r#"href="/messages/bulk""#));
    }

    #[test]
    fn statuses_and_segments_have_words() {
        assert_eq!(status_label(MessageStatus::Suppressed), "Opted out");
        assert_eq!(status_label(MessageStatus::Failed), "Failed, retrying");
        let s = SmsSegments { encoding: SmsEncoding::Gsm7, units: 290, count: 2 };
        assert_eq!(segments_label(&s), "2 segments (GSM-7, 290 characters)");
        let u = SmsSegments { encoding: SmsEncoding::Ucs2, units: 12, count: 1 };
        assert_eq!(segments_label(&u), "1 segment (Unicode, 12 UTF-16 units)");
        assert_eq!(
            category_label(clowder_schemas::templates::TemplateCategory::AppointmentReminder),
            "Appointment reminder"
        );
    }

    #[test]
    fn the_dashboard_counts_what_providers_accepted_as_sent() {
        let mut c = StatusCounts::default();
        for s in [MessageStatus::Sent, MessageStatus::Delivered, MessageStatus::Bounced, MessageStatus::Suppressed] {
            c.add(s);
        }
        let row = StatRow::of("x", &c);
        assert_eq!(row.counts, vec![3, 1, 0, 1, 1, 0, 0]);
        assert_eq!(row.total, 4);
        let stats = CommsStats {
            from: jiff::civil::date(2026, 3, 1),
            to: jiff::civil::date(2026, 3, 31),
            total: c.clone(),
            by_channel: [("sms".to_owned(), c.clone())].into(),
            by_category: [("none".to_owned(), c)].into(),
            by_template: vec![],
        };
        let html = DashboardPage::new(nav(true, true), tabs(true), &stats).render().unwrap();
        assert!(html.contains("<th scope=\"row\">Text</th>") && html.contains("Without a template"), "{html}");
        assert!(html.contains(r#"value="2026-03-01""#) && html.contains("Opted out"));
    }
}

fn vitals(id: u128, taken_at: &str, m: serde_json::Value) -> clowder_schemas::vitals::Vitals {
    let input: clowder_schemas::vitals::MeasurementsInput = serde_json::from_value(m).unwrap();
    let at: jiff::Timestamp = taken_at.parse().unwrap();
    clowder_schemas::vitals::Vitals {
        id: clowder_schemas::ids::VitalsId::from_u128(id),
        patient_id: clowder_schemas::PatientId::from_u128(1),
        visit_id: None,
        taken_at: at,
        taken_by: None,
        measurements: input.validate(Default::default()).unwrap(),
        flags: vec![clowder_schemas::vitals::VitalsFlag {
            field: "temperature_c".into(),
            value: 40.1,
            low: Some(38.1),
            high: Some(39.2),
            message: "Temperature 40.1 °C is above the normal feline range (38.1–39.2 °C)".into(),
        }],
        ranges_version: 1,
        amendments: vec![],
        created_at: at,
        updated_at: at,
        created_by: None,
    }
}

fn cat_page(problems: Vec<String>, clinical: Option<super::records::ClinicalSection>) -> PatientPage {
    PatientPage {
        nav: nav(true, true),
        name: "Pistache".into(),
        status: Status::ACTIVE,
        alerts: vec![],
        handling: vec![],
        facts: vec![],
        problems,
        clinical,
    }
}

#[test]
fn the_weight_chart_and_bcs_trend_are_svg_drawn_from_the_vitals() {
    let tz = jiff::tz::TimeZone::UTC;
    let history = [
        vitals(
            1,
            "2025-01-10T10:00:00Z",
            serde_json::json!({"weight": {"value": 4.1, "unit": "kg"}, "bcs": {"score": 5}}),
        ),
        vitals(
            2,
            "2025-07-10T10:00:00Z",
            serde_json::json!({"weight": {"value": 10, "unit": "lb"}, "bcs": {"score": 3.5, "scale": 5}}),
        ),
        vitals(3, "2026-01-10T10:00:00Z", serde_json::json!({"temperature_c": 40.1})),
    ];
    let section = super::records::ClinicalSection::new(&history, &tz);
    let w = section.weight.as_ref().unwrap();
    assert_eq!(w.summary, "2 values from 2025-01-10 to 2025-07-10; latest 4.54 kg");
    assert!(w.svg.starts_with(r#"<svg id="weight-chart""#) && w.svg.contains("<polyline"), "{}", w.svg);
    assert_eq!(w.svg.matches("<circle").count(), 2);
    assert!(w.svg.contains("<title>2025-07-10: 4.54 kg</title>"));
    let b = section.bcs.as_ref().unwrap();
    assert!(b.svg.contains(r#"class="chart-band""#), "the ideal band is shaded");
    assert!(b.svg.contains("<title>2025-07-10: 6 /9</title>"), "3.5 of 5 is drawn as 6 of 9");
    assert_eq!(section.latest, ["Temperature 40.1 °C"]);
    assert_eq!(section.latest_at.as_deref(), Some("2026-01-10 10:00"));

    let html = cat_page(vec![], Some(section)).render().unwrap();
    assert!(html.contains(r#"id="vitals-section""#));
    assert!(html.contains(r#"<svg id="weight-chart""#), "the SVG is put in unescaped");
    assert!(html.contains("Temperature 40.1 °C is above the normal feline range (38.1–39.2 °C)"));
    let section = &html[html.find(r#"id="vitals-section""#).unwrap()..];
    let section = &section[..section.find("</section>").unwrap()];
    assert!(!section.contains("<script"), "no script needed");
}

#[test]
fn the_active_problem_list_is_on_the_banner_escaped_and_only_for_record_readers() {
    let mut ckd: clowder_schemas::problems::Problem = serde_json::from_value(serde_json::json!({
        "id": "01JD7Y2Q4Z8W3N5K6M7P8R9S0T", "patient_id": "01JD7Y2Q4Z8W3N5K6M7P8R9S0V", "visit_id": null,
        "name": "CKD <IRIS 2>", "code": null, "code_system": null, "type": "primary", "severity": "moderate",
        "status": "chronic", "onset": null, "resolved_on": null, "notes": null,
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z", "created_by": null
    }))
    .unwrap();
    assert_eq!(super::records::problem_line(&ckd), "CKD <IRIS 2> (chronic, moderate)");
    ckd.kind = clowder_schemas::problems::ProblemType::RuleOut;
    ckd.status = clowder_schemas::problems::ProblemStatus::Active;
    ckd.severity = None;
    let line = super::records::problem_line(&ckd);
    assert_eq!(line, "CKD <IRIS 2> (rule-out)");

    let html = cat_page(vec![line], None).render().unwrap();
    assert!(html.contains(r#"<ul id="problems" class="problems""#));
    assert!(html.contains("<li>CKD &#60;IRIS 2&#62; (rule-out)</li>"), "what users typed is escaped: {html}");
    let html = cat_page(vec![], None).render().unwrap();
    assert!(!html.contains("problems") && !html.contains("vitals-section") && !html.contains("<svg"));
}
