//! Views rendered in process: labels, the banner, escaping of what users typed, and what a
//! caller without a permission does not see. No server, no browser.

use askama::Template;

use super::lists::{Filter, ListKind, ListPage, ListResults, Results, Row};
use super::records::{ClientPage, Fact, PatientPage, RecordLink, Status, age};
use super::{ErrorPage, Nav};

fn nav(clients: bool, cats: bool) -> Nav {
    Nav { user: "Rita <Front Desk>".into(), current: "clients", today: true, clients, cats }
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
