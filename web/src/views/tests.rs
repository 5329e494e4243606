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
        estimates: false,
        reports: false,
        billing: false,
        inventory: false,
        ward: false,
        labs: false,
        protocols: false,
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
        referrals: None,
        loyalty: None,
        documents: None,
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
        new_estimate: None,
        labs: None,
        plans: None,
        documents: None,
        consent_forms: None,
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
        new_estimate: None,
        labs: None,
        plans: None,
        documents: None,
        consent_forms: None,
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
        Tabs {
            current: "log",
            log: true,
            templates: true,
            dashboard: true,
            bulk,
            analytics: true,
            segments: bulk,
            campaigns: bulk,
        }
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
            attachments: Vec::new(),
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

mod marketing_views {
    use askama::Template;
    use clowder_schemas::analytics::{AnalyticsReport, Figures, NoShowComparison, VariantFigures};
    use clowder_schemas::campaigns::{
        CampaignResults, CampaignState, CampaignView, LifeStage, Segment, SegmentClient, SegmentFilter, SegmentPreview,
    };
    use clowder_schemas::ids::{CampaignId, SegmentId};
    use clowder_schemas::messages::Channel;
    use clowder_schemas::templates::TemplateCategory;
    use clowder_schemas::{ClientId, TemplateId};
    use jiff::tz::TimeZone;

    use super::{client_page, nav};
    use crate::views::comms::Tabs;
    use crate::views::marketing::*;

    fn tabs(current: &'static str, manage: bool) -> Tabs {
        Tabs {
            current,
            log: true,
            templates: true,
            dashboard: true,
            bulk: true,
            analytics: true,
            segments: manage,
            campaigns: manage,
        }
    }

    fn segment(name: &str, filter: SegmentFilter) -> Segment {
        Segment {
            id: SegmentId::from_u128(3),
            name: name.into(),
            filter,
            created_at: jiff::Timestamp::UNIX_EPOCH,
            created_by: None,
        }
    }

    #[test]
    fn a_segments_rules_are_said_in_words() {
        let f = SegmentFilter {
            last_visit_older_than_days: Some(365),
            min_visits_12m: Some(2),
            life_stages: vec![LifeStage::Senior, LifeStage::Geriatric],
            breeds: vec!["Maine Coon".into()],
            active_only: false,
            ..SegmentFilter::default()
        };
        let rules = segment_rules(&f, &["Dental".into()], &[]);
        assert_eq!(
            rules,
            vec![
                "Last visit more than 365 days ago (never seen: not included)",
                "At least 2 visits in the last 12 months",
                "Had a visit of type: Dental",
                "Has a cat that is senior (11–14 years) or geriatric (15 years and over) and a Maine Coon",
                "Active and deactivated clients",
            ]
        );
        let none = SegmentFilter { max_visits_12m: Some(0), ..SegmentFilter::default() };
        assert_eq!(segment_rules(&none, &[], &[]), vec!["No visit in the last 12 months", "Active clients only"]);
    }

    #[test]
    fn the_segments_list_shows_sizes_escapes_names_and_says_when_empty() {
        let s = segment("<b>Lapsed</b>", SegmentFilter::default());
        let page = SegmentsPage {
            nav: nav(true, true),
            tabs: tabs("segments", true),
            rows: vec![SegmentRow::of(&s, 1, &TimeZone::UTC)],
            pager: Pager::new("/messages/segments", None, Some("NEXT")),
        };
        let html = page.render().unwrap();
        assert!(html.contains(r#"<td data-label="Clients now" class="segment-size">1 client</td>"#), "{html}");
        assert!(!html.contains("<b>Lapsed</b>"));
        assert!(html.contains(r#"href="/messages/segments?cursor=NEXT""#) && !html.contains(r#"rel="first""#));
        assert!(html.contains(r#"href="/messages/segments" aria-current="page">Segments</a>"#));
        let empty = SegmentsPage { rows: vec![], pager: Pager::default(), ..page };
        assert!(empty.render().unwrap().contains(r#"id="no-results""#));
    }

    #[test]
    fn a_segment_page_names_its_first_clients_and_how_many_more() {
        let s = segment("Seniors", SegmentFilter::default());
        let p = SegmentPreview {
            count: 5,
            clients: vec![SegmentClient { id: ClientId::from_u128(9), name: "Doe, <i>Jane</i>".into() }],
        };
        let page = SegmentPage::new(
            nav(true, true),
            tabs("segments", true),
            &s,
            vec!["Active clients only".into()],
            &p,
            &TimeZone::UTC,
        );
        let html = page.render().unwrap();
        assert!(html.contains(r#"<span id="segment-size">5 clients</span>"#), "{html}");
        assert!(html.contains("and 4 more.") && !html.contains("<i>Jane</i>"));
        assert!(html.contains(&format!(r#"<a href="/clients/{}">"#, ClientId::from_u128(9))));
        let none = SegmentPage::new(
            nav(true, true),
            tabs("segments", true),
            &s,
            vec![],
            &SegmentPreview { count: 0, clients: vec![] },
            &TimeZone::UTC,
        );
        assert!(none.render().unwrap().contains("No client matches these rules today."));
    }

    fn campaign(state: CampaignState) -> CampaignView {
        CampaignView {
            id: CampaignId::from_u128(5),
            name: "Dental <month>".into(),
            template_id: TemplateId::from_u128(6),
            segment_id: SegmentId::from_u128(3),
            channel: Channel::Email,
            state,
            scheduled_at: Some("2026-03-01T15:00:00Z".parse().unwrap()),
            results: CampaignResults {
                audience: 4,
                skipped: 1,
                queued: 1,
                sent: 1,
                suppressed: 1,
                ..Default::default()
            },
            created_at: jiff::Timestamp::UNIX_EPOCH,
            updated_at: jiff::Timestamp::UNIX_EPOCH,
            created_by: None,
        }
    }

    #[test]
    fn a_campaign_offers_the_moves_its_state_allows_and_only_to_who_may_make_them() {
        let all = |_: &str| true;
        let on = |s| CampaignActions::of(s, all);
        assert_eq!(on(CampaignState::Draft), CampaignActions { schedule: true, send_now: true, cancel: true });
        assert_eq!(on(CampaignState::Scheduled), CampaignActions { schedule: true, send_now: true, cancel: true });
        assert_eq!(on(CampaignState::Sending), CampaignActions { schedule: false, send_now: false, cancel: true });
        assert!(!on(CampaignState::Sent).any() && !on(CampaignState::Cancelled).any());
        assert!(!CampaignActions::of(CampaignState::Draft, |_| false).any());

        let tz = TimeZone::get("America/New_York").unwrap();
        let page = |s| {
            let c = campaign(s);
            CampaignPage::new(
                nav(true, true),
                tabs("campaigns", true),
                &c,
                "News (Email)".into(),
                "All".into(),
                on(s),
                &tz,
            )
            .render()
            .unwrap()
        };
        let scheduled = page(CampaignState::Scheduled);
        assert!(scheduled.contains(r#"<button type="submit" id="schedule">Reschedule</button>"#), "{scheduled}");
        assert!(scheduled.contains(r#"value="2026-03-01T10:00""#), "the schedule in the clinic's zone");
        assert!(scheduled.contains(r#"data-action="send-now""#) && scheduled.contains(r#"data-action="cancel""#));
        assert!(scheduled.contains("comms.js") && !scheduled.contains("Dental <month>"));
        assert!(scheduled.contains(r#"<progress id="campaign-bar" max="4" value="3">"#));
        let draft = page(CampaignState::Draft);
        assert!(draft.contains(r#"id="schedule">Schedule</button>"#));
        let sending = page(CampaignState::Sending);
        assert!(
            !sending.contains("schedule-form")
                && !sending.contains("send-now")
                && sending.contains("data-action=\"cancel\"")
        );
        // While sending, clients not yet queued are not done.
        let mut c = campaign(CampaignState::Sending);
        c.results = CampaignResults { audience: 230, sent: 200, ..Default::default() };
        let p =
            CampaignPage::new(nav(true, true), tabs("campaigns", true), &c, "N".into(), "S".into(), on(c.state), &tz);
        assert_eq!((p.done, p.audience), (200, 230));
        let sent = page(CampaignState::Sent);
        assert!(!sent.contains("campaign-actions") && !sent.contains("comms.js"));
        assert!(sent.contains(r#"data-status="sent">Sent<"#));
    }

    fn variant(id: u128, name: &str, sent: u32, opened: u32) -> VariantFigures {
        VariantFigures {
            template_id: Some(TemplateId::from_u128(id)),
            template_name: Some(name.into()),
            category: Some(TemplateCategory::AppointmentReminder),
            channel: Channel::Email,
            figures: Figures { messages: sent, sent, delivered: sent, tracked: sent, opened, ..Default::default() }
                .with_rates(),
        }
    }

    #[test]
    fn analytics_shows_rates_per_category_template_and_ab_variant() {
        let report = AnalyticsReport {
            from: jiff::civil::date(2026, 2, 1),
            to: jiff::civil::date(2026, 3, 2),
            automation: None,
            category: None,
            convert_days: 14,
            totals: Figures { sent: 12, opened: 3, tracked: 12, ..Default::default() }.with_rates(),
            variants: vec![variant(1, "Reminder A", 8, 2), variant(2, "Reminder B", 4, 1)],
            no_shows: NoShowComparison::default(),
        };
        let page = AnalyticsPage::new(nav(true, true), tabs("analytics", false), &report);
        let cat = &page.sections[1].rows;
        assert_eq!((cat.len(), cat[0].label.as_str(), cat[0].sent), (1, "Appointment reminder", 12));
        assert_eq!(cat[0].opened, "25 %");
        assert_eq!(page.variants.len(), 1, "two reminders on email are an A/B test");
        assert_eq!(page.variants[0].caption, "Appointment reminder (Email)");
        let html = page.render().unwrap();
        assert!(html.contains("Reminder A (Email)") && html.contains("Reminder B (Email)"), "{html}");
        assert!(html.contains(r#"value="2026-02-01""#) && html.contains(r#"id="no-shows""#));
        assert!(html.contains("<td data-label=\"No-show rate\">—</td>"), "no rate over nothing");
        assert!(!html.contains(r#"href="/messages/segments""#), "no marketing tabs without the permission");

        let bad = AnalyticsPage::refused(
            nav(true, true),
            tabs("analytics", false),
            "2026-03-05".into(),
            "2026-03-01".into(),
            "To: must not be before from".into(),
        );
        let html = bad.render().unwrap();
        assert!(html.contains(r#"id="range-error""#) && html.contains("To: must not be before from"));
        assert!(html.contains(r#"value="2026-03-05""#) && !html.contains("rates-total"));
    }

    #[test]
    fn a_client_page_shows_the_referral_panel_only_when_given() {
        assert!(!client_page(None).render().unwrap().contains("referrals-section"));
        let x = clowder_schemas::campaigns::Referral {
            id: clowder_schemas::ids::ReferralId::from_u128(1),
            code: "K7QF-93MX".into(),
            referrer_id: ClientId::from_u128(1),
            referred_id: ClientId::from_u128(2),
            credit: "Referral credit".into(),
            status: clowder_schemas::campaigns::ReferralStatus::Owed,
            created_at: jiff::Timestamp::UNIX_EPOCH,
            created_by: None,
            redeemed_at: None,
            redeemed_by: None,
        };
        let mut page = client_page(None);
        page.referrals = Some(ReferralPanel {
            code: "K7QF-93MX".into(),
            owed: 1,
            referred: vec![
                ReferredRow::of(&x, Some("Doe, <b>Ben</b>".into()), &TimeZone::UTC),
                ReferredRow::of(&x, None, &TimeZone::UTC),
            ],
        });
        let html = page.render().unwrap();
        assert!(html.contains(r#"<strong id="referral-code">K7QF-93MX</strong>"#), "{html}");
        assert!(html.contains("1 credit owed") && !html.contains("<b>Ben</b>"));
        assert!(html.contains(&format!(r#"<a href="/clients/{}">"#, ClientId::from_u128(2))));
        assert!(
            html.contains(r#"<td data-label="Referred">A client</td>"#),
            "a client the caller may not open is not named"
        );
        page.referrals = Some(ReferralPanel { code: "K7QF-93MX".into(), owed: 0, referred: vec![] });
        assert!(page.render().unwrap().contains("Has not referred anyone yet."));
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
        new_estimate: None,
        labs: None,
        plans: None,
        documents: None,
        consent_forms: None,
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

fn a_visit(status: clowder_schemas::visits::VisitStatus) -> clowder_schemas::visits::Visit {
    let t = jiff::Timestamp::from_second(1_790_000_000).unwrap();
    clowder_schemas::visits::Visit {
        id: clowder_schemas::ids::VisitId::from_u128(5),
        patient_id: clowder_schemas::PatientId::from_u128(6),
        appointment_id: None,
        appointment_type_id: None,
        location_id: None,
        vet_id: None,
        visit_type: clowder_schemas::visits::VisitType::Sick,
        chief_complaint: Some("<b>not eating</b>".into()),
        status,
        opened_at: t,
        completed_at: None,
        voided_at: None,
        void_reason: None,
        created_at: t,
        updated_at: t,
        created_by: None,
    }
}

fn a_draft(visit: &clowder_schemas::visits::Visit) -> clowder_schemas::notes::NoteView {
    use clowder_schemas::notes::{NoteDraft, NoteView, Soap};
    let soap = Soap { assessment: "<script>x</script>\nline two".into(), ..Soap::default() };
    let draft = NoteDraft {
        visit_id: visit.id,
        patient_id: visit.patient_id,
        soap,
        revision: 4,
        template: None,
        updated_at: visit.opened_at,
        updated_by: None,
    };
    NoteView { visit_id: visit.id, status: "draft".into(), draft: Some(draft), note: None }
}

#[test]
fn the_visit_page_shows_the_note_escaped_and_the_sign_button_only_to_who_may_sign() {
    use super::visits::VisitPage;
    use clowder_schemas::visits::VisitStatus;
    let tz = jiff::tz::TimeZone::UTC;
    let visit = a_visit(VisitStatus::Open);
    let html =
        VisitPage::new(nav(true, true), &visit, &a_draft(&visit), true, |u| u.to_string(), &tz).render().unwrap();
    assert!(html.contains("<h1 id=\"record-name\">Sick visit</h1>"), "{html}");
    assert!(!html.contains("<script>x</script>") && !html.contains("<b>not eating"), "what vets typed is text");
    assert!(html.contains("Draft (not signed)"));
    assert!(html.contains(r#"<button id="sign" type="button" data-revision="4">"#), "{html}");
    assert!(html.contains("/assets/visit.js"));
    let html =
        VisitPage::new(nav(true, true), &visit, &a_draft(&visit), false, |u| u.to_string(), &tz).render().unwrap();
    assert!(!html.contains("id=\"sign\"") && !html.contains("visit.js"), "no button that would be refused");
    let voided = a_visit(VisitStatus::Voided);
    let html =
        VisitPage::new(nav(true, true), &voided, &a_draft(&voided), true, |u| u.to_string(), &tz).render().unwrap();
    assert!(!html.contains("id=\"sign\""), "a voided visit is not signed");
}

fn tablet_chart(visit: Option<super::tablet::NoteEditor>, meds: bool) -> super::tablet::TabletChart {
    use super::tablet::{ChartCat, DueRow, MedicationRow, TabletChart, TimelineRow};
    TabletChart {
        room_id: "01JROOM".into(),
        room_name: "Exam <1>".into(),
        cat: Some(ChartCat {
            patient_id: "01JCAT".into(),
            name: "<i>Mittens</i>".into(),
            facts: "4 years · Maine Coon".into(),
            alerts: vec!["Allergy: <penicillin>".into()],
            handling: vec!["Muzzle".into()],
            problems: vec!["CKD (chronic)".into()],
            clinical: super::records::ClinicalSection::default(),
            timeline: Some(vec![TimelineRow {
                when: "5 Mar 2026 14:02".into(),
                kind: "visit",
                text: "Sick visit: <b>x</b>".into(),
            }]),
            older_href: Some("/tablet/chart?room=01JROOM&older=abc".into()),
            vaccines_due: vec![DueRow {
                vaccine: "FVRCP".into(),
                status: "overdue",
                label: "Overdue since 2026-01-04".into(),
                rule: "every 36 months after the booster (AAHA/AAFP 2020 v1)".into(),
            }],
            medications: meds.then(|| {
                vec![MedicationRow {
                    drug: "Meloxicam — suspension 0.5 mg/mL".into(),
                    how: "q24h · oral · no refills left".into(),
                    dose: "0.05 mg/kg × 4.2 kg = 0.21 mg".into(),
                    label: "/api/prescriptions/01JD7Y2Q4Z8W3N5K6M7P8R9S0T/label.pdf".into(),
                }]
            }),
            lab_trends: None,
            visit,
            can_record_vitals: true,
            fas_min: 1,
            vaccines: Some(vec![("fvrcp".into(), "FVRCP".into())]),
            drugs: None,
        }),
        problem: None,
    }
}

#[test]
fn the_tablet_chart_escapes_labels_and_hides_medications_without_the_permission() {
    let html = tablet_chart(None, true).render().unwrap();
    assert!(html.contains("&#60;i&#62;Mittens") && !html.contains("<i>Mittens"), "{html}");
    assert!(html.contains("Allergy: &#60;penicillin&#62;") && html.contains("CKD (chronic)"));
    assert!(html.contains(r#"href="/tablet?room=01JROOM""#) && html.contains("Exam &#60;1&#62;"));
    assert!(!html.contains("nav-links") && !html.contains(r#"href="/patients"#), "a kiosk: no way to other records");
    // The due list carries its rule on hover and on tap.
    assert!(html.contains(r#"title="every 36 months after the booster (AAHA/AAFP 2020 v1)""#), "{html}");
    assert!(html.contains(r#"<li data-status="overdue">"#) && html.contains("Overdue since 2026-01-04"));
    assert!(html.contains("Sick visit: &#60;b&#62;x") && html.contains(r#"id="older""#));
    assert!(html.contains(r#"id="medications-section""#) && html.contains("0.21 mg"));
    assert!(html.contains(r#"<a class="rx-label" href="/api/prescriptions/01JD7Y2Q4Z8W3N5K6M7P8R9S0T/label.pdf">"#));
    // No visit: no note and no form that posts with a visit id.
    assert!(html.contains(r#"id="no-visit""#) && !html.contains(r#"id="vitals-form""#), "{html}");
    assert!(!html.contains(r#"id="vaccine-form""#) && !html.contains(r#"id="prescribe-form""#));
    let html = tablet_chart(None, false).render().unwrap();
    assert!(!html.contains("medications") && !html.contains("Meloxicam"), "no prescriptions:view, no medications");
}

#[test]
fn the_tablet_chart_draws_each_lab_trend_with_its_flags_only_for_a_reader_of_labs() {
    use super::labs::TrendChart;
    let trend: clowder_schemas::labs::LabTrend = serde_json::from_value(serde_json::json!({
        "patient_id": "01JD7Y2Q4Z8W3N5K6M7P8R9S0A", "analyte": "CREA", "name": "Creatinine <serum>",
        "unit": "mg/dL", "low": 0.8, "high": 2.4, "points": [
            {"at": "2026-03-05T11:00:00Z", "order_id": "01JD7Y2Q4Z8W3N5K6M7P8R9S0X", "value": 3.1, "text": null, "flag": "H"},
            {"at": "2026-01-05T11:00:00Z", "order_id": "01JD7Y2Q4Z8W3N5K6M7P8R9S0W", "value": 1.9, "text": null, "flag": null},
        ]}))
    .unwrap();
    let text_only: clowder_schemas::labs::LabTrend = serde_json::from_value(serde_json::json!({
        "patient_id": "01JD7Y2Q4Z8W3N5K6M7P8R9S0A", "analyte": "NOTE", "name": "Comment", "unit": null,
        "low": null, "high": null, "points": [
            {"at": "2026-03-05T11:00:00Z", "order_id": "01JD7Y2Q4Z8W3N5K6M7P8R9S0X", "value": null, "text": "lipaemic", "flag": "A"},
        ]}))
    .unwrap();
    let tz = jiff::tz::TimeZone::UTC;
    let mut view = tablet_chart(None, true);
    let trends = [trend, text_only].iter().filter_map(|t| TrendChart::of(t, &tz)).collect::<Vec<_>>();
    assert_eq!(trends.len(), 1, "a text result draws no line");
    view.cat.as_mut().unwrap().lab_trends = Some(trends);
    let html = view.render().unwrap();
    assert!(html.contains(r#"id="labs-section""#) && html.contains(r#"data-analyte="CREA""#), "{html}");
    assert!(html.contains(r#"<svg id="trend-crea""#) && html.contains(r#"class="chart-band""#));
    assert_eq!(html.matches("chart-flagged").count(), 1, "the high creatinine is marked");
    assert!(html.contains(r#"data-flag="H""#) && html.contains("Creatinine &#60;serum&#62;:"));
    view.cat.as_mut().unwrap().lab_trends = Some(Vec::new());
    assert!(view.render().unwrap().contains("No lab result on file."));
    let html = tablet_chart(None, true).render().unwrap();
    assert!(!html.contains("labs-section") && !html.contains("trend-"), "no labs:view, no lab trends");
}

#[test]
fn the_tablet_note_is_editable_until_signed_and_sign_shows_only_to_who_may_sign() {
    use super::tablet::{Abilities, NoteEditor};
    use clowder_schemas::visits::VisitStatus;
    let tz = jiff::tz::TimeZone::UTC;
    let visit = a_visit(VisitStatus::Open);
    let may = Abilities { edit_note: true, sign: true };
    let editor = NoteEditor::new(&visit, &a_draft(&visit), may, |u| u.to_string(), &tz);
    let html = tablet_chart(Some(editor), true).render().unwrap();
    assert!(html.contains(r#"<textarea id="soap-assessment" name="assessment""#), "{html}");
    assert!(html.contains("&#60;script&#62;x&#60;/script&#62;") && !html.contains("<script>x"), "typed text is text");
    assert!(html.contains(r#"data-revision="4""#) && html.contains(r#"id="sign""#));
    assert!(html.contains(r#"id="vitals-form""#) && html.contains(r#"id="vaccine-form""#));
    assert!(html.contains(r#"data-name="bcs" data-value="9""#) && html.contains(r#"data-name="pain" data-value="0""#));
    // A tech: reads the draft, neither edits nor signs.
    let editor = NoteEditor::new(&visit, &a_draft(&visit), Abilities::default(), |u| u.to_string(), &tz);
    let html = tablet_chart(Some(editor), true).render().unwrap();
    assert!(!html.contains("<textarea id=\"soap-") && !html.contains(r#"id="sign""#), "{html}");
    assert!(html.contains(r#"data-section="assessment""#));
    // A voided visit: nothing to write or sign.
    let voided = a_visit(VisitStatus::Voided);
    let editor = NoteEditor::new(&voided, &a_draft(&voided), may, |u| u.to_string(), &tz);
    assert!(!editor.editable && !editor.can_sign && !editor.can_add);
}

#[test]
fn the_tablet_vitals_form_takes_blood_pressure_muscle_condition_the_grimace_scale_and_fas() {
    use super::tablet::{Abilities, NoteEditor};
    use clowder_schemas::visits::VisitStatus;
    let tz = jiff::tz::TimeZone::UTC;
    let visit = a_visit(VisitStatus::Open);
    let editor = NoteEditor::new(&visit, &a_draft(&visit), Abilities::default(), |u| u.to_string(), &tz);
    let html = tablet_chart(Some(editor), true).render().unwrap();
    // Each control sits in the field a 422 names, so the error shows next to it.
    for (field, control) in [
        ("measurements.blood_pressure.systolic", r#"name="systolic""#),
        ("measurements.blood_pressure.diastolic", r#"name="diastolic""#),
        ("measurements.blood_pressure.method", r#"<option value="doppler">Doppler</option>"#),
        ("measurements.muscle_condition", r#"<option value="moderate_loss">Moderate loss</option>"#),
        ("measurements.fgs", r#"data-name="fgs.whiskers_change" data-value="2""#),
        ("measurements.fas", r#"data-name="fas" data-value="5""#),
    ] {
        assert!(html.contains(&format!(r#"data-field="{field}""#)), "{field}: {html}");
        assert!(html.contains(control), "{control}");
    }
    // The five action units, 0–2 each, as large buttons; the FAS on the clinic's scale (1–5 here).
    assert_eq!(html.matches(r#"class="score" data-name="fgs."#).count(), 15);
    assert!(!html.contains(r#"data-name="fas" data-value="0""#), "1–5: no 0");
    assert!(html.contains(r#"<select id="v-bp-method" name="bp_method">"#));
}

#[test]
fn the_tablet_due_list_leaves_out_what_is_not_due_and_puts_overdue_first() {
    use clowder_schemas::vaccinations::{DueItem, DueStatus};
    let item = |vaccine: &str, status: DueStatus| DueItem {
        vaccine: vaccine.to_lowercase(),
        vaccine_name: vaccine.into(),
        status,
        due_on: jiff::civil::Date::new(2026, 5, 1).ok(),
        computed_on: None,
        overdue_after: None,
        rule: format!("{vaccine} rule"),
        protocol_version: 1,
        override_: None,
        last_given_on: None,
        at_risk: false,
        declined_reason: None,
    };
    let rows = super::tablet::due_rows(&[
        item("Rabies", DueStatus::Due),
        item("FeLV", DueStatus::NotDue),
        item("FVRCP", DueStatus::Overdue),
    ]);
    let shown: Vec<(&str, &str)> = rows.iter().map(|r| (r.vaccine.as_str(), r.label.as_str())).collect();
    assert_eq!(shown, [("FVRCP", "Overdue since 2026-05-01"), ("Rabies", "Due 2026-05-01")]);
    assert_eq!(rows[0].rule, "FVRCP rule");
}

// ---- estimates, payment plans, reports ----

mod money_screens {
    use askama::Template;
    use clowder_schemas::estimates::{EstimateDraft, EstimateLineDraft, EstimateOptionDraft, EstimateStatus};
    use clowder_schemas::money::{BasisPoints, Cents, Discount, Quantity};
    use clowder_schemas::payment_plans::{Interval, PaymentPlan, PlanStatus, PlanTerms, schedule};
    use clowder_schemas::reports::{
        AgeingBuckets, AgeingReport, CategoryRevenue, ClientAgeing, Period, PeriodRevenue, RevenueFigures,
        RevenueReport,
    };

    use super::nav;
    use crate::views::estimates::{EstimateActions, EstimateBody, EstimateFragment, EstimatePage, PlanBody, PlanPage};
    use crate::views::reports::{AgeingView, ReportForm, ReportsPage, RevenueView};

    const ID: &str = "01J00000000000000000000001";

    fn line(desc: &str, q: (i64, i64), p: (i64, i64), optional: bool) -> EstimateLineDraft {
        EstimateLineDraft {
            item_id: None,
            description: desc.into(),
            category: None,
            quantity_low: Quantity::from_thousandths(q.0),
            quantity_high: Quantity::from_thousandths(q.1),
            unit_price_low: Cents::new(p.0),
            unit_price_high: Cents::new(p.1),
            taxable: true,
            discount: None,
            optional,
        }
    }

    fn estimate(status: EstimateStatus) -> clowder_schemas::estimates::Estimate {
        let draft = EstimateDraft {
            client_id: ID.parse().unwrap(),
            patient_id: ID.parse().unwrap(),
            visit_id: None,
            location_id: None,
            options: vec![
                EstimateOptionDraft {
                    name: "Best <case>".into(),
                    lines: vec![
                        line("Dental <b>cleaning</b>", (1000, 1000), (20000, 30000), false),
                        line("Extraction", (500, 3000), (5000, 5000), true),
                    ],
                    discount: Some(Discount::Percent { basis_points: BasisPoints::new(1000).unwrap() }),
                },
                EstimateOptionDraft { name: "Worst case".into(), lines: vec![], discount: None },
            ],
            memo: None,
        };
        let mut e = draft
            .into_estimate(ID.parse().unwrap(), BasisPoints::new(825).unwrap(), jiff::Timestamp::UNIX_EPOCH, None)
            .unwrap();
        e.status = status;
        e
    }

    fn body(status: EstimateStatus, may: bool) -> EstimateBody {
        let e = estimate(status);
        let actions = EstimateActions::of(&e, |_| may);
        EstimateBody::new(&e, "O'Brien <Ann>".into(), "Tom & Jerry".into(), actions)
    }

    #[test]
    fn a_draft_shows_the_servers_low_and_high_totals_and_the_editor() {
        let e = estimate(EstimateStatus::Draft);
        let o = &e.options[0];
        let html = EstimatePage { nav: nav(true, true), b: body(EstimateStatus::Draft, true) }.render().unwrap();
        // The totals are the schema's, as computed: low without the optional line.
        assert!(html.contains(&format!(
            r#"<span class="low">{}</span> – <span class="high">{}</span>"#,
            o.low.total, o.high.total
        )));
        assert_eq!(o.low.total.get(), 19485, "200.00 less 10 % plus 8.25 % tax");
        assert!(html.contains("Add a line to Best &#60;case&#62;") || html.contains("Add a line to Best &lt;case&gt;"));
        assert!(!html.contains("<b>cleaning</b>") && !html.contains("<case>") && !html.contains("<Ann>"));
        assert!(html.contains("0.5 – 3"), "the quantity range");
        assert!(html.contains("200.00 – 300.00"), "the price range");
        assert!(html.contains(r#"data-action="send""#) && html.contains(r#"data-action="remove-line""#));
        // The catalogue is searched (paged), never listed; each option may be renamed or
        // removed, and a line's discount set.
        assert!(html.contains(r#"data-action="find-item""#) && !html.contains("<select id=\"item-1\""));
        for action in ["rename-option", "remove-option", "line-discount"] {
            assert!(html.contains(&format!(r#"data-action="{action}""#)), "{action}");
        }
        assert!(html.contains(r#"value="Best &#60;case&#62;""#), "the name to rename, escaped");
        // Each line is edited in place, its form filled with the line's values.
        assert_eq!(html.matches(r#"data-action="edit-line""#).count(), 2, "a form per line");
        assert!(html.contains(r#"data-action="edit-line" data-option="1" data-line="2""#));
        for (id, value) in [("el-ql-1-2", "0.5"), ("el-qh-1-2", "3"), ("el-pl-1-1", "200.00"), ("el-ph-1-1", "300.00")]
        {
            assert!(html.contains(&format!(r#"id="{id}" name=""#)), "{id}");
            let at = html.find(&format!(r#"id="{id}""#)).unwrap();
            assert!(
                html[at..].split('>').next().unwrap().contains(&format!(r#"value="{value}""#)),
                "{id} holds {value}"
            );
        }
        assert!(
            html.contains(r#"id="el-opt-1-2" name="optional" type="checkbox" checked"#),
            "the optional line is checked"
        );
        assert!(!html.contains(r#"id="el-opt-1-1" name="optional" type="checkbox" checked"#));
        assert!(!html.contains(r#"data-action="accept""#), "a draft is not accepted");
        assert!(html.contains(r#"id="estimate-status" data-status="draft">Draft<"#));
        assert!(html.contains(r#"<a href="/estimates?client_id=01J00000000000000000000001">their estimates</a>"#));
    }

    #[test]
    fn without_the_permissions_a_draft_is_read_only() {
        let html = EstimateFragment { b: body(EstimateStatus::Draft, false) }.render().unwrap();
        for action in [
            "add-line",
            "option-discount",
            "add-option",
            "send",
            "remove-line",
            "accept",
            "decline",
            "rename-option",
            "remove-option",
            "line-discount",
            "find-item",
            "edit-line",
        ] {
            assert!(!html.contains(&format!(r#"data-action="{action}""#)), "{action} is hidden");
        }
        assert!(html.contains("/api/estimates/01J00000000000000000000001.pdf"), "the PDF is still offered");
        assert!(!html.contains("<html"), "the fragment is the body alone");
    }

    #[test]
    fn a_sent_estimate_offers_viewed_accept_with_its_optional_lines_and_decline() {
        let html = EstimateFragment { b: body(EstimateStatus::Sent, true) }.render().unwrap();
        assert!(html.contains(r#"data-action="viewed""#) && html.contains(r#"data-action="decline""#));
        assert_eq!(html.matches(r#"data-action="accept""#).count(), 2, "one form per option");
        assert!(html.contains(r#"name="optional_lines" value="2""#) && html.contains("Take Extraction too"));
        assert!(!html.contains(r#"data-action="add-line""#), "a sent estimate is not edited");
        assert!(!html.contains(r#"data-action="edit-line""#), "nor its lines");
        let viewed = EstimateFragment { b: body(EstimateStatus::Viewed, true) }.render().unwrap();
        assert!(!viewed.contains(r#"data-action="viewed""#) && viewed.contains(r#"data-action="accept""#));
        let accepted = EstimateFragment { b: body(EstimateStatus::Accepted, true) }.render().unwrap();
        assert!(!accepted.contains(r#"data-action="accept""#) && !accepted.contains(r#"data-action="decline""#));
    }

    fn plan() -> PaymentPlan {
        let terms = PlanTerms {
            down_payment: Cents::new(10000),
            instalments: 3,
            interval: Interval::Monthly,
            interest_bp: BasisPoints::ZERO,
            start_date: jiff::civil::date(2026, 1, 31),
        };
        let s = schedule(&terms, Cents::new(40001)).unwrap();
        let mut instalments = s.instalments;
        instalments[0].paid = instalments[0].amount;
        instalments[1].late = true;
        PaymentPlan {
            id: ID.parse().unwrap(),
            invoice_id: ID.parse().unwrap(),
            client_id: ID.parse().unwrap(),
            status: PlanStatus::Active,
            revision: 1,
            terms,
            principal: Cents::new(40001),
            financed: s.financed,
            interest: s.interest,
            total: s.total,
            interest_invoices: vec![],
            paid_before: Cents::ZERO,
            paid: Cents::new(10000),
            schedule: instalments,
            revisions: vec![],
            cancel_reason: None,
            created_at: jiff::Timestamp::UNIX_EPOCH,
            updated_at: jiff::Timestamp::UNIX_EPOCH,
            created_by: None,
        }
    }

    #[test]
    fn a_plan_shows_its_schedule_progress_and_late_instalment() {
        let tz = jiff::tz::TimeZone::UTC;
        let b = PlanBody::new(&plan(), "INV-2026-000001".into(), "<i>Ann</i>".into(), true, |_| String::new(), &tz);
        let html = PlanPage { nav: nav(true, true), b }.render().unwrap();
        assert!(html.contains(r#"<progress id="plan-progress" value="10000" max="40001">"#));
        assert!(html.contains(r#"<tr data-state="paid"><td data-label="Instalment">Down payment</td>"#));
        assert!(
            html.contains(
                r#"<tr data-state="late"><td data-label="Instalment">1</td><td data-label="Due">2026-02-28</td>"#
            ),
            "the 31st falls on the month's last day"
        );
        assert!(html.contains("100.00") && html.contains("100.01"), "the last instalment takes the remainder");
        assert!(!html.contains("<i>Ann</i>"));
        assert!(html.contains(r#"data-action="modify-plan""#) && html.contains(r#"data-action="cancel-plan""#));
        let b = PlanBody::new(&plan(), "INV".into(), "Ann".into(), false, |_| String::new(), &tz);
        let html = PlanPage { nav: nav(true, true), b }.render().unwrap();
        assert!(!html.contains(r#"data-action="modify-plan""#), "payments:edit is needed to change it");
    }

    fn figures(net: i64) -> RevenueFigures {
        RevenueFigures { sales: Cents::new(net), net: Cents::new(net), invoices: 1, ..RevenueFigures::default() }
    }

    fn cat(name: &str, net: i64) -> CategoryRevenue {
        CategoryRevenue { category: name.into(), sales: Cents::new(net), credits: Cents::ZERO, net: Cents::new(net) }
    }

    #[test]
    fn the_reports_draw_stacked_revenue_and_ageing_bars_from_the_figures() {
        let d = |m| jiff::civil::date(2026, m, 1);
        let revenue = RevenueReport {
            from: d(1),
            to: jiff::civil::date(2026, 3, 31),
            by: Period::Month,
            location_id: None,
            periods: vec![
                PeriodRevenue {
                    start: d(1),
                    figures: figures(30000),
                    categories: vec![cat("Exams", 10000), cat("Food <dry>", 20000)],
                },
                PeriodRevenue { start: d(2), figures: figures(5000), categories: vec![cat("Exams", 5000)] },
            ],
            categories: vec![cat("Exams", 15000), cat("Food <dry>", 20000)],
            totals: figures(35000),
        };
        let buckets = AgeingBuckets {
            current: Cents::new(1000),
            days_31_60: Cents::new(2500),
            total: Cents::new(3500),
            invoices: 2,
            ..AgeingBuckets::default()
        };
        let ageing = AgeingReport {
            as_of: d(3),
            location_id: None,
            totals: buckets,
            clients_owing: 1,
            clients: vec![ClientAgeing {
                client_id: ID.parse().unwrap(),
                name: "<Ann>".into(),
                buckets,
                oldest_due_on: None,
            }],
            next_cursor: Some("abc".into()),
        };
        let page = ReportsPage {
            nav: nav(true, true),
            form: ReportForm {
                from: "2026-01-01".into(),
                to: "2026-02-28".into(),
                by: "month",
                as_of: "2026-03-01".into(),
                location: ID.into(),
                locations: vec![("01J".into(), "Main".into()), (ID.into(), "<North>".into())],
            },
            revenue: RevenueView::new(&revenue),
            ageing: AgeingView::new(&ageing, |c| format!("/reports?cursor={}", c.unwrap_or("")), true),
            vs: None,
            accounting: false,
        };
        let html = page.render().unwrap();
        // January: two stacks; February: Exams only.
        assert!(html.contains(r#"<g class="chart-bar" data-label="2026-01"><rect class="chart-stack chart-s0" data-series="Exams" data-value="10000""#));
        assert!(
            html.contains(r#"data-series="Food &lt;dry&gt;" data-value="20000""#),
            "a category's name is escaped in the SVG"
        );
        assert!(html.contains(r#"<g class="chart-bar" data-label="2026-02"><rect class="chart-stack chart-s0" data-series="Exams" data-value="5000""#));
        assert!(!html.contains("<dry>") && !html.contains("<Ann>"));
        // The location filter keeps the chosen location, its name escaped.
        assert!(html.contains(&format!(r#"<option value="{ID}" selected>&#60;North&#62;</option>"#)), "{html}");
        assert!(html.contains(r#"<option value="01J">Main</option>"#));
        assert_eq!(html.matches(r#"<g class="chart-bar""#).count(), 3 + 5, "three months and five ageing buckets");
        assert!(
            html.contains(r#"<g class="chart-bar" data-label="2026-03"></g>"#),
            "a quiet month is a gap, not missing"
        );
        assert!(html.contains(r#"<g class="chart-bar" data-label="31–60 days"><rect class="chart-stack chart-s0" data-series="Owed" data-value="2500""#));
        assert!(html.contains(r#"id="revenue-total">350.00<"#));
        assert!(html.contains(r#"href="/reports?cursor=abc" rel="next""#));
        assert!(!html.contains("estimate-vs-actual"), "hidden without the estimate report");
    }

    #[test]
    fn the_bar_shows_estimates_and_reports_only_to_who_may_open_them() {
        let mut n = nav(true, true);
        let html = crate::views::ErrorPage { nav: n.clone(), title: "x".into(), message: "y".into() }.render().unwrap();
        assert!(!html.contains(r#"href="/estimates""#) && !html.contains(r#"href="/reports""#));
        n.estimates = true;
        n.reports = true;
        n.current = "reports";
        let html = crate::views::ErrorPage { nav: n, title: "x".into(), message: "y".into() }.render().unwrap();
        assert!(html.contains(r#"<a href="/estimates">Estimates</a>"#));
        assert!(html.contains(r#"<a href="/reports" aria-current="page">Reports</a>"#));
    }
}

// ---- billing ----

fn an_invoice(description: &str) -> clowder_schemas::invoices::Invoice {
    use clowder_schemas::invoices::{InvoiceDraft, LineDraft};
    use clowder_schemas::money::{BasisPoints, Cents, Discount, Quantity};
    let line = |d: &str, q: i64, price: i64, taxable: bool, discount: Option<Discount>| LineDraft {
        item_id: None,
        description: d.into(),
        category: None,
        quantity: Quantity::from_thousandths(q),
        unit_price: Cents::new(price),
        taxable,
        discount,
        source: None,
    };
    let draft = InvoiceDraft {
        client_id: clowder_schemas::ClientId::from_u128(1),
        patient_id: None,
        visit_id: None,
        location_id: None,
        // The worked example of docs/billing.md.
        lines: vec![
            line(
                description,
                1500,
                1333,
                true,
                Some(Discount::Percent { basis_points: BasisPoints::new(1000).unwrap() }),
            ),
            line("Exam", 1000, 6500, false, None),
        ],
        discount: Some(Discount::Amount { amount: Cents::new(500) }),
        memo: None,
    };
    draft
        .into_invoice(
            clowder_schemas::ids::InvoiceId::from_u128(7),
            BasisPoints::new(825).unwrap(),
            "2026-03-02T15:00:00Z".parse().unwrap(),
            None,
        )
        .unwrap()
}

fn issued(mut i: clowder_schemas::invoices::Invoice) -> clowder_schemas::invoices::Invoice {
    i.status = clowder_schemas::invoices::InvoiceStatus::Issued;
    i.number = Some("INV-2026-000042".into());
    i.issued_on = Some("2026-03-02".parse().unwrap());
    i.due_on = Some("2026-04-01".parse().unwrap());
    i.recompute().unwrap();
    i
}

const ALL: super::billing::Grants = super::billing::Grants {
    edit: true,
    pay: true,
    void: true,
    print: true,
    email: true,
    plan: true,
    apply_credit: true,
    refund: true,
    redeem: true,
};

fn builder(i: &clowder_schemas::invoices::Invoice, may: super::billing::Grants) -> String {
    use super::billing::{InvoiceActions, InvoiceBody, InvoicePage};
    let body = InvoiceBody::new(i, InvoiceActions::of(i, may), &jiff::tz::TimeZone::UTC);
    InvoicePage {
        nav: nav(true, true),
        client: "<b>Smith</b>, Jane".into(),
        account_href: Some("/clients/01J/account".into()),
        cat: "Miso".into(),
        cat_href: None,
        visit_href: None,
        body,
    }
    .render()
    .unwrap()
}

#[test]
fn a_draft_shows_the_servers_totals_its_lines_escaped_and_the_edit_and_issue_actions() {
    let html = builder(&an_invoice("<script>x</script> Food"), ALL);
    assert!(!html.contains("<script>x</script>"), "what users typed is never markup");
    assert!(html.contains("&#60;script&#62;x&#60;/script&#62; Food"));
    assert!(html.contains("&#60;b&#62;Smith&#60;/b&#62;, Jane"));
    // The worked example's amounts, as the server computed them.
    for (id, amount) in [("t-subtotal", "85.00"), ("t-discount", "7.00"), ("t-tax", "1.40")] {
        assert!(html.contains(&format!(r#"<dd id="{id}">{amount}</dd>"#)), "{id} {amount}");
    }
    assert!(html.contains("<strong>79.40</strong>") && html.contains("Tax at 8.25 % of 16.92"));
    assert!(html.contains("Discount (invoice: 5.00 off)"));
    assert!(html.contains(r#"data-status="draft">Draft</span>"#) && html.contains("Draft invoice"));
    assert!(
        html.contains(r#"id="issue""#)
            && html.contains(r#"id="add-line""#)
            && html.contains(r#"id="add-free""#)
            && html.contains(r#"data-action="save-line""#)
    );
    assert!(html.contains(r#"data-discount-kind="percent" data-discount-value="10""#), "the line sends itself back");
    // Money moves only after issue.
    assert!(!html.contains(r#"id="pay""#) && !html.contains("t-balance"));
}

#[test]
fn a_draft_is_read_only_without_the_edit_grant() {
    let none = super::billing::Grants::default();
    let html = builder(&an_invoice("Food"), none);
    for hidden in [
        r#"id="issue""#,
        r#"id="add-line""#,
        r#"id="add-free""#,
        "save-line",
        r#"id="invoice-discount""#,
        r#"id="void""#,
    ] {
        assert!(!html.contains(hidden), "{hidden} is hidden");
    }
    assert!(html.contains("10 %"), "the discount shown in words");
}

#[test]
fn an_issued_invoice_takes_payments_up_to_its_balance_and_hides_what_is_not_granted() {
    use clowder_schemas::money::Cents;
    use clowder_schemas::payments::{PaymentDraft, PaymentMethod};
    let mut inv = issued(an_invoice("Food"));
    let html = builder(&inv, ALL);
    assert!(html.contains(r#"data-status="issued">Issued</span>"#));
    assert!(html.contains(r#"id="pay""#) && html.contains(r#"data-max="79.40""#) && html.contains("at most 79.40"));
    assert!(html.contains(r#"id="credit""#) && html.contains(r#"id="void""#));
    let plan_href =
        format!(r#"href="/payment-plans/new?invoice_id={}""#, clowder_schemas::ids::InvoiceId::from_u128(7));
    assert!(html.contains(&plan_href), "a balance may be paid over time");
    assert!(!html.contains(r#"id="issue""#) && !html.contains("save-line"), "issued lines change only by credit notes");
    let pay_only = super::billing::Grants { pay: true, ..Default::default() };
    let html = builder(&inv, pay_only);
    assert!(html.contains(r#"id="pay""#) && !html.contains(r#"id="credit""#) && !html.contains(r#"id="void""#));
    assert!(!html.contains("start-plan"), "no plan link without the new-plan page");

    let draft = |amount| PaymentDraft {
        amount: Cents::new(amount),
        method: PaymentMethod::CardPresent,
        reference: Some("<i>slip</i>".into()),
        processor: None,
        processor_payment_id: None,
    };
    let p = clowder_schemas::ids::PaymentId::from_u128(9);
    inv.pay(p, draft(7940), "2026-03-02T16:00:00Z".parse().unwrap(), None).unwrap();
    let html = builder(&inv, ALL);
    assert!(html.contains(r#"data-status="paid">Paid</span>"#), "{html}");
    assert!(html.contains(r#"<dd id="t-balance"><strong>0.00</strong></dd>"#));
    assert!(html.contains("&#60;i&#62;slip&#60;/i&#62;") && html.contains(">Card<"));
    assert!(html.contains(&format!(r#"href="/api/payments/{p}/receipt.pdf""#)));
    assert!(html.contains(r#"data-action="email-receipt""#));
    assert!(!html.contains(r#"id="pay""#) && !html.contains(r#"id="void""#), "paid: nothing to take, nothing to void");
    assert!(!html.contains("start-plan"), "paid: nothing to pay over time");
    let html = builder(&inv, super::billing::Grants::default());
    assert!(!html.contains("receipt.pdf") && !html.contains("email-receipt"), "receipts need their grants");
}

#[test]
fn the_builder_offers_credit_refunds_and_points_only_when_there_is_something_and_it_is_granted() {
    use super::billing::{Grants, InvoiceActions, InvoiceBody, InvoiceFragment, PointsBox};
    use clowder_schemas::loyalty::{LoyaltyAccount, LoyaltySettings};
    use clowder_schemas::money::Cents;
    use clowder_schemas::payments::{PaymentDraft, PaymentMethod};
    let render = |body: InvoiceBody| InvoiceFragment { body }.render().unwrap();
    let body = |i: &clowder_schemas::invoices::Invoice, may: Grants| {
        InvoiceBody::new(i, InvoiceActions::of(i, may), &jiff::tz::TimeZone::UTC)
    };

    // Credit: an open invoice with a balance, offered up to the lesser of credit and balance.
    let mut inv = issued(an_invoice("Food"));
    let html = render(body(&inv, ALL).with_credit(Cents::new(2500), inv.balance));
    assert!(html.contains(r#"id="apply-credit""#) && html.contains("The client has 25.00 in credit."));
    assert!(html.contains(r#"id="apply-credit-amount" name="amount" value="25.00""#));
    let html = render(body(&inv, ALL).with_credit(Cents::new(100_000), inv.balance));
    assert!(html.contains("(at most 79.40)"), "never more than the balance");
    assert!(!render(body(&inv, ALL).with_credit(Cents::ZERO, inv.balance)).contains("apply-credit"), "no credit");
    let no_grant = Grants { apply_credit: false, ..ALL };
    assert!(!render(body(&inv, no_grant).with_credit(Cents::new(2500), inv.balance)).contains("apply-credit"));
    assert!(!render(body(&inv, ALL)).contains("refund-box"), "nothing paid, nothing to refund");

    // Refunds: each payment with something left, after its earlier refunds.
    let p = clowder_schemas::ids::PaymentId::from_u128(9);
    let cash = |cents| PaymentDraft {
        amount: Cents::new(cents),
        method: PaymentMethod::Cash,
        reference: None,
        processor: None,
        processor_payment_id: None,
    };
    inv.pay(p, cash(5000), "2026-03-02T16:00:00Z".parse().unwrap(), None).unwrap();
    let refund = clowder_schemas::payments::CreateRefund {
        amount: Cents::new(1200),
        method: None,
        of: Default::default(),
        reason: "overcharged".into(),
        reference: None,
        processor: None,
        processor_refund_id: None,
    }
    .validate(p)
    .unwrap();
    let (day, now) = ("2026-03-03".parse().unwrap(), "2026-03-03T10:00:00Z".parse().unwrap());
    inv.refund(clowder_schemas::ids::RefundId::from_u128(3), refund, None, day, now, None).unwrap();
    let html = render(body(&inv, ALL));
    assert!(html.contains(r#"id="refund""#), "{html}");
    assert!(
        html.contains(&format!(r#"<option value="{p}">2026-03-02 · Cash · 50.00 (38.00 left to refund)</option>"#))
    );
    assert!(!render(body(&inv, Grants { refund: false, ..ALL })).contains("refund-box"), "refunds need their grant");

    // An overpayment kept as credit: its invoice part and its credit part are two choices.
    let mut over = issued(an_invoice("Food"));
    let q = clowder_schemas::ids::PaymentId::from_u128(10);
    over.pay_keeping_credit(q, cash(10_000), true, "2026-03-02T16:00:00Z".parse().unwrap(), None).unwrap();
    let html = render(body(&over, ALL));
    assert!(
        html.contains(&format!(r#"<option value="{q}">2026-03-02 · Cash · 79.40 (79.40 left to refund)</option>"#)),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            r#"<option value="{q}|credit">2026-03-02 · Cash · 79.40 · kept as credit (20.60 left to refund)</option>"#
        )),
        "{html}"
    );
    // The credit part offers no more than the client's credit now, and goes when it is spent.
    let html = render(body(&over, ALL).with_refundable_credit(Cents::new(1000)));
    assert!(
        html.contains("kept as credit (10.00 left to refund)") && html.contains("(79.40 left to refund)"),
        "{html}"
    );
    let html = render(body(&over, ALL).with_refundable_credit(Cents::ZERO));
    assert!(!html.contains("|credit") && html.contains("(79.40 left to refund)"), "{html}");

    // Points: a draft, with the client's available points, their worth and the rule.
    let mut draft = an_invoice("Food");
    let account = LoyaltyAccount {
        client_id: draft.client_id,
        enabled: true,
        balance: 1700,
        held: 0,
        available: 1700,
        available_value: Cents::new(1700),
        holds: Vec::new(),
        entries: Vec::new(),
        next_cursor: None,
    };
    let settings = LoyaltySettings { enabled: true, ..LoyaltySettings::default() };
    let mut b = body(&draft, ALL);
    b.points = Some(PointsBox::of(&account, &settings, &draft));
    let html = render(b);
    assert!(html.contains(r#"id="redeem""#) && html.contains("<strong>1700</strong> points to redeem, worth 17.00"));
    assert!(html.contains("100 points = 1.00; at least 100") && !html.contains("points-redeemed"));
    draft.loyalty =
        Some(clowder_schemas::loyalty::LoyaltyRedemption { points: 500, value: Cents::new(500), at: now, by: None });
    let mut b = body(&draft, ALL);
    b.points = Some(PointsBox::of(&account, &settings, &draft));
    assert!(render(b).contains("Redeeming 500 points: 5.00 off."));
    assert!(!body(&issued(an_invoice("Food")), ALL).actions.redeem, "points are redeemed on a draft only");
}

#[test]
fn the_invoices_list_labels_statuses_and_shows_no_balance_for_a_draft() {
    use super::billing::{InvoiceForm, InvoiceResults, InvoiceRow, InvoiceRows, InvoicesPage, STATUSES};
    let day = "2026-03-02".parse().unwrap();
    let draft = an_invoice("Food");
    let paid = issued(an_invoice("Food"));
    let rows = vec![
        InvoiceRow::of(&draft, "<em>Doe</em>, Jane".into(), "Miso".into(), day),
        InvoiceRow::of(&paid, "Roe, Ann".into(), String::new(), day),
    ];
    assert_eq!((rows[0].number.as_str(), rows[0].balance.as_str()), ("Draft", ""));
    assert_eq!(
        (rows[1].number.as_str(), rows[1].balance.as_str(), rows[1].status_label),
        ("INV-2026-000042", "79.40", "Issued")
    );
    let form = InvoiceForm { status: "issued".into(), from: "2026-03-01".into(), ..Default::default() };
    assert_eq!(form.href(Some("abc")), "/invoices?status=issued&from=2026-03-01&cursor=abc");
    let results = InvoiceRows { rows, first_href: None, next_href: Some(form.href(Some("abc"))) };
    let html = InvoicesPage {
        nav: nav(true, true),
        form,
        statuses: &STATUSES,
        results: results.clone(),
        refused: None,
        loyalty: false,
    }
    .render()
    .unwrap();
    assert!(html.contains("&#60;em&#62;Doe&#60;/em&#62;, Jane") && !html.contains("<em>Doe"));
    assert!(html.contains(r#"<option value="issued" selected>Issued</option>"#));
    assert!(html.contains(r#"href="/invoices/01"#) || html.contains(r#"href="/invoices/0"#));
    assert!(html.contains(r#"rel="next""#));
    let fragment = InvoiceResults { results }.render().unwrap();
    assert!(!fragment.contains("<html") && fragment.contains("INV-2026-000042"));
}

#[test]
fn the_account_page_shows_what_is_owed_the_statement_and_leaves_out_payments_without_the_grant() {
    use super::billing::{AccountPage, InvoiceRow};
    let inv = issued(an_invoice("Food"));
    let row = InvoiceRow::of(&inv, String::new(), "Miso".into(), "2026-03-02".parse().unwrap());
    let page = |payments, estimates_href| AccountPage {
        nav: nav(true, true),
        name: "Jane <Doe>".into(),
        client_href: "/clients/01J".into(),
        owed: "79.40".into(),
        overdue: "0.00".into(),
        has_overdue: false,
        open_count: 1,
        credit: "0.00".into(),
        has_credit: false,
        open: vec![row.clone()],
        recent: vec![row.clone()],
        older_href: None,
        newest_href: None,
        payments,
        plans: None,
        statement_href: "/api/clients/01J/statement.pdf".into(),
        invoices_href: "/invoices?client=01J".into(),
        estimates_href,
    };
    let html = page(
        Some(super::billing::money_rows(&inv, &jiff::tz::TimeZone::UTC)),
        Some("/estimates?client_id=01J".to_owned()),
    )
    .render()
    .unwrap();
    assert!(html.contains(r#"href="/estimates?client_id=01J" id="estimates-link""#));
    assert!(html.contains("Jane &#60;Doe&#62;"));
    assert!(html.contains("<strong>79.40</strong> on 1 open invoice</dd>"));
    assert!(html.contains(r#"href="/api/clients/01J/statement.pdf""#) && html.contains(r#"id="open-invoices""#));
    assert!(html.contains(r#"id="no-payments""#) && !html.contains(r#"id="overdue""#));
    assert!(!html.contains(r#"id="older-invoices""#), "one page: no pager");
    let html = page(None, None).render().unwrap();
    assert!(!html.contains("Payments and refunds") && !html.contains("Payment plans"));
    assert!(!html.contains("estimates-link"), "no link to a list the caller may not open");
    // A later page of the invoices: back to the newest, and on to older ones.
    let mut later = page(None, None);
    later.older_href = Some("/clients/01J/account?cursor=abc#recent-title".into());
    later.newest_href = Some("/clients/01J/account#recent-title".into());
    let html = later.render().unwrap();
    assert!(html.contains(r#"<a href="/clients/01J/account?cursor=abc#recent-title" id="older-invoices" rel="next">"#));
    assert!(html.contains(r#"id="newest-invoices""#) && html.contains(">Older invoices</h2>"));
}

#[test]
fn rates_and_discounts_read_as_people_write_them() {
    use super::billing::{discount_fields, percent};
    use clowder_schemas::money::{BasisPoints, Cents, Discount};
    assert_eq!(percent(BasisPoints::new(825).unwrap()), "8.25 %");
    assert_eq!(percent(BasisPoints::new(1250).unwrap()), "12.5 %");
    assert_eq!(percent(BasisPoints::new(1000).unwrap()), "10 %");
    assert_eq!(
        discount_fields(Some(&Discount::Percent { basis_points: BasisPoints::new(1250).unwrap() })),
        ("percent", "12.5".into())
    );
    assert_eq!(discount_fields(Some(&Discount::Amount { amount: Cents::new(505) })), ("amount", "5.05".into()));
    assert_eq!(discount_fields(None), ("", String::new()));
}

mod ward {
    use askama::Template;
    use clowder_schemas::ids::{AdmissionId, PatientId, TreatmentId, WardId};
    use clowder_schemas::wards::{BoardAdmission, BoardCage, BoardSlot, WardBoard};

    use super::nav;
    use crate::views::ward::{Grid, WardPage};

    fn board() -> WardBoard {
        let due: jiff::Timestamp = "2026-12-06T13:00:00Z".parse().unwrap();
        let slot = |overdue| BoardSlot {
            treatment_id: TreatmentId::from_u128(7),
            label: "Buprenorphine <0.02 mg/kg> PO".into(),
            due,
            due_local: "13:00".into(),
            overdue,
        };
        WardBoard {
            ward_id: WardId::from_u128(1),
            name: "Cat ward".into(),
            at: due,
            cages: vec![
                BoardCage {
                    cage: "C1".into(),
                    inactive: false,
                    admission: Some(BoardAdmission {
                        admission_id: AdmissionId::from_u128(2),
                        patient_id: PatientId::from_u128(3),
                        patient_name: "<i>Mittens</i>".into(),
                        reason: "Dehydrated".into(),
                        pending: vec![slot(true)],
                        next: vec![slot(false)],
                    }),
                },
                BoardCage { cage: "C2".into(), inactive: false, admission: None },
            ],
            overdue_count: 1,
        }
    }

    #[test]
    fn the_staff_board_has_done_and_skip_and_the_tv_none() {
        let tz = jiff::tz::TimeZone::UTC;
        let staff = WardPage { nav: nav(true, true), grid: Grid::new(&board(), false, true, &tz), tablet: false }
            .render()
            .unwrap();
        assert!(staff.contains("class=\"slot-done\"") && staff.contains("class=\"slot-skip\""));
        assert!(staff.contains("1 overdue") && staff.contains("OVERDUE") && staff.contains("Empty"));
        assert!(!staff.contains("<i>Mittens</i>") && staff.contains("Mittens"), "what users typed is escaped");
        let tv = WardPage { nav: nav(true, true), grid: Grid::new(&board(), true, true, &tz), tablet: false }
            .render()
            .unwrap();
        assert!(!tv.contains("<button type=\"button\" class=\"slot"), "no controls on the wall");
        assert!(tv.contains("ward-tv") && tv.contains("OVERDUE"));
        let reader = WardPage { nav: nav(true, true), grid: Grid::new(&board(), false, false, &tz), tablet: false }
            .render()
            .unwrap();
        assert!(!reader.contains("slot-done"), "no Done for who may not treat");
        assert!(!staff.contains("pin-dialog") && !tv.contains("pin-dialog"), "the PIN form is the tablet's only");
    }

    #[test]
    fn the_ward_tablet_asks_who_did_it() {
        let tz = jiff::tz::TimeZone::UTC;
        let page = WardPage { nav: nav(true, true), grid: Grid::new(&board(), false, true, &tz), tablet: true };
        let html = page.render().unwrap();
        assert!(html.contains(r#"data-tablet="true""#) && html.contains(r#"<dialog id="pin-dialog""#), "{html}");
        assert!(html.contains(r#"id="pin-pin" name="pin" type="password" inputmode="numeric""#));
        assert!(html.contains("class=\"slot-done\""), "Done and Skip for whoever stands at the tablet");
    }
}

mod labs {
    use askama::Template;
    use clowder_schemas::labs::{LabOrder, LabRanges, LabUnmatched};
    use serde_json::{Value, json};

    use super::nav;
    use crate::views::labs::{
        LabOrderPart, OrderBody, PatientLabs, TypedAnalyte, UnmatchedList, UnmatchedPage, UnmatchedPart, UnmatchedRow,
    };

    const CAT: &str = "01JD7Y2Q4Z8W3N5K6M7P8R9S0T";

    fn result(analyte: &str, value: Option<f64>, text: Option<&str>, flag: Option<&str>, at: &str) -> Value {
        json!({"analyte": analyte, "name": format!("{analyte} name"), "value": value, "unit": value.map(|_| "mg/dL"),
            "reported_value": value.map(|v| v * 88.4), "reported_unit": value.map(|_| "µmol/L"), "text": text,
            "flag": flag, "low": 0.8, "high": 2.4, "critical_low": null, "critical_high": 5.0, "ranges_version": 1,
            "resulted_at": at, "source": "hl7", "by": null})
    }

    fn order(id: &str, status: &str, results: Vec<Value>) -> LabOrder {
        serde_json::from_value(json!({"id": id, "patient_id": CAT, "visit_id": "01JD7Y2Q4Z8W3N5K6M7P8R9S0V",
            "location_id": null, "vet_id": null, "test": "CHEM10", "test_name": "Chem 10", "specimen": "serum",
            "lab": "in-house", "lab_code": null, "analytes": ["CREA", "GLU", "NOTE", "ALB"], "catalogue_version": 1,
            "status": status, "notes": null, "results": results, "reviewed_at": null, "reviewed_by": null,
            "review_note": null, "amendments": [], "cancelled_at": null, "cancel_reason": null,
            "created_at": "2026-03-05T10:00:00Z", "updated_at": "2026-03-05T10:00:00Z", "created_by": null}))
        .unwrap()
    }

    fn ranges() -> LabRanges {
        serde_json::from_value(json!({"analytes": {
            "CREA": {"name": "Creatinine", "unit": "mg/dL", "low": 0.8, "high": 2.4,
                     "alt_units": [{"unit": "µmol/L", "factor": 88.4}]},
            "NOTE": {"name": "Comment", "expected": "none"}}}))
        .unwrap()
    }

    #[test]
    fn an_order_marks_its_flags_highlights_critical_ones_and_escapes_what_the_lab_sent() {
        let o = order(
            "01JD7Y2Q4Z8W3N5K6M7P8R9S0W",
            "partial",
            vec![
                result("CREA", Some(3.1), None, Some("H"), "2026-03-05T11:00:00Z"),
                result("GLU", Some(30.0), None, Some("LL"), "2026-03-05T11:00:00Z"),
                result("NOTE", None, Some("<b>lipaemic</b>"), Some("A"), "2026-03-05T11:00:00Z"),
            ],
        );
        let tz = jiff::tz::TimeZone::UTC;
        let body = OrderBody::new(&o, &ranges(), true, true, |u| u.to_string(), &tz);
        let html = LabOrderPart { order: body }.render().unwrap();
        assert!(html.contains(r#"class="lab-result flagged" data-analyte="CREA" data-flag="H""#), "{html}");
        assert!(html.contains(r#"class="lab-result flagged critical" data-analyte="GLU" data-flag="LL""#));
        assert!(html.contains("Critically low") && html.contains("274.04 µmol/L as reported"));
        assert!(html.contains("&#60;b&#62;lipaemic&#60;/b&#62;") && !html.contains("<b>lipaemic"));
        assert!(html.contains(r#"id="lab-awaiting""#) && html.contains("ALB"));
        // The entry form: the range's unit then its alternatives; text for a text analyte.
        assert!(html.contains("<option>mg/dL</option><option>µmol/L</option>"));
        assert!(html.contains(r#"id="entry-NOTE" name="text""#));
        assert!(!html.contains("lab-review-button"), "no sign-off while results are awaited");

        // Resulted: a reviewer gets the button; without the permissions, no form and no button.
        let done = order("01JD7Y2Q4Z8W3N5K6M7P8R9S0W", "resulted", vec![]);
        let html = LabOrderPart { order: OrderBody::new(&done, &ranges(), false, true, |u| u.to_string(), &tz) }
            .render()
            .unwrap();
        assert!(html.contains("lab-review-button") && !html.contains("lab-entry"));
        let html = LabOrderPart { order: OrderBody::new(&done, &ranges(), false, false, |u| u.to_string(), &tz) }
            .render()
            .unwrap();
        assert!(!html.contains("lab-review-button"));
    }

    #[test]
    fn a_cats_trend_draws_the_range_band_and_marks_flagged_points_without_cancelled_orders() {
        let a = order(
            "01JD7Y2Q4Z8W3N5K6M7P8R9S0W",
            "reviewed",
            vec![result("CREA", Some(1.9), None, None, "2026-01-05T11:00:00Z")],
        );
        let b = order(
            "01JD7Y2Q4Z8W3N5K6M7P8R9S0X",
            "resulted",
            vec![result("CREA", Some(3.1), None, Some("H"), "2026-03-05T11:00:00Z")],
        );
        let gone = order(
            "01JD7Y2Q4Z8W3N5K6M7P8R9S0Y",
            "cancelled",
            vec![result("GLU", Some(99.0), None, None, "2026-03-05T11:00:00Z")],
        );
        let labs = PatientLabs::new(&[b, a, gone], &jiff::tz::TimeZone::UTC);
        assert_eq!(labs.trends.len(), 1, "the cancelled order's glucose is not drawn");
        let svg = &labs.trends[0].chart.svg;
        assert!(svg.starts_with(r#"<svg id="trend-crea""#) && svg.contains(r#"class="chart-band""#), "{svg}");
        assert_eq!(svg.matches("chart-flagged").count(), 1);
        assert!(svg.contains(r#"data-flag="H""#) && svg.contains("(H)</title>"));
        assert_eq!(labs.orders.len(), 3);
    }

    #[test]
    fn the_unmatched_queue_shows_the_raw_message_escaped_and_no_buttons_without_the_permission() {
        let u: LabUnmatched = serde_json::from_value(json!({"id": "01JD7Y2Q4Z8W3N5K6M7P8R9S0Z",
            "received_at": "2026-03-05T11:00:00Z", "format": "hl7", "reason": "unknown patient <x>",
            "group": null, "raw": "MSH|^~\\&|<script>alert(1)</script>", "status": "open", "attached_to": null,
            "discard_reason": null, "resolved_at": null, "resolved_by": null, "updated_at": "2026-03-05T11:00:00Z"}))
        .unwrap();
        let row = UnmatchedRow::of(&u, vec![], &jiff::tz::TimeZone::UTC);
        assert!(row.unreadable, "nothing was read of it");
        let list = UnmatchedList { entries: vec![row.clone()], can_resolve: false, analytes: vec![] };
        let html = UnmatchedPage { nav: nav(true, true), list }.render().unwrap();
        assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62;") && !html.contains("<script>alert"));
        assert!(html.contains("unknown patient &#60;x&#62;") && html.contains("Nothing could be read"));
        assert!(!html.contains(r#"class="attach""#) && !html.contains("typed-results"));
        assert!(html.contains("/assets/labs.js"), "the list is live for every reader");
        // Who may attach types the results of an entry nothing was read of.
        let ranges: clowder_schemas::labs::LabRanges = serde_json::from_value(json!({"analytes": {
            "CREA": {"name": "Creatinine <x>", "unit": "mg/dL", "low": 0.8, "high": 2.4,
                     "alt_units": [{"unit": "µmol/L", "factor": 88.4}]},
            "FELV_AG": {"name": "FeLV antigen", "expected": "negative"}}}))
        .unwrap();
        let list = UnmatchedList { entries: vec![row], can_resolve: true, analytes: TypedAnalyte::all(&ranges) };
        let html = UnmatchedPart { list }.render().unwrap();
        assert!(!html.contains("<html") && html.contains(r#"class="attach""#) && html.contains(r#"class="discard""#));
        assert!(html.contains(r#"<fieldset class="typed-results">"#), "{html}");
        assert!(html.contains(r#"<option value="CREA" data-kind="number" data-units="mg/dL|µmol/L">Creatinine &#60;x&#62; (CREA)</option>"#), "{html}");
        assert!(
            html.contains(r#"<option value="FELV_AG" data-kind="text" data-units="">FeLV antigen (FELV_AG)</option>"#)
        );
        assert!(html.contains(r#"class="find-cat""#), "older orders are found by cat");
    }
}

#[test]
fn the_loyalty_settings_screen_shows_every_rule_as_stored_with_names_escaped() {
    use clowder_schemas::ids::CatalogueItemId;
    use clowder_schemas::loyalty::{ItemBonus, LoyaltySettings};
    use clowder_schemas::money::Cents;
    let (known, gone) = (CatalogueItemId::from_u128(5), CatalogueItemId::from_u128(6));
    let settings = LoyaltySettings {
        enabled: true,
        points_per_unit: 2,
        item_bonuses: vec![ItemBonus { item_id: known, points: 50 }, ItemBonus { item_id: gone, points: 5 }],
        referral_bonus: 300,
        birthday_bonus: 150,
        redeem_points: 100,
        redeem_cents: Cents::new(125),
        min_redeem: 200,
        expiry_months: Some(24),
        updated_at: Some("2026-03-02T14:05:00Z".parse().unwrap()),
        updated_by: None,
    };
    let name = |id: &CatalogueItemId| (*id == known).then(|| "<b>Dental</b> cleaning".to_owned());
    let page = super::loyalty::LoyaltySettingsPage::of(nav(true, true), &settings, name, &jiff::tz::TimeZone::UTC);
    let html = page.render().unwrap();
    assert!(html.contains(r#"id="l-enabled" name="enabled" checked"#), "{html}");
    for (id, value) in [
        ("l-per-unit", "2"),
        ("l-referral", "300"),
        ("l-birthday", "150"),
        ("l-step", "100"),
        ("l-worth", "1.25"),
        ("l-min", "200"),
        ("l-expiry", "24"),
    ] {
        assert!(html.contains(&format!(r#"id="{id}""#)) && html.contains(&format!(r#"value="{value}""#)), "{id}");
    }
    assert!(html.contains("&#60;b&#62;Dental&#60;/b&#62; cleaning") && !html.contains("<b>Dental"));
    assert!(html.contains(&format!(r#"<tr data-item="{gone}"><td data-label="Service or product">{gone}</td>"#)));
    assert!(html.contains(r#"id="no-bonuses" hidden"#));
    let off = LoyaltySettings::default();
    let html = super::loyalty::LoyaltySettingsPage::of(nav(true, true), &off, |_| None, &jiff::tz::TimeZone::UTC)
        .render()
        .unwrap();
    assert!(!html.contains(" checked") && html.contains(r#"id="l-expiry" name="expiry_months" value="""#));
    assert!(!html.contains("no-bonuses\" hidden") && !html.contains("Last changed"));
}

fn a_consent(status: &str, signed: bool) -> clowder_schemas::consent_forms::ConsentForm {
    let v = "01JD7Y2Q4Z8W3N5K6M7P8R9S0T";
    let signature = signed.then(|| {
        serde_json::json!({"signer_name": "Jon <b>Smith</b>", "relationship": "agent",
            "signed_at": "2026-03-05T14:02:00Z", "witness_id": null, "witness_name": "Ben Vet", "document_id": v})
    });
    serde_json::from_value(serde_json::json!({
        "id": v, "template_id": v, "template_version": 1, "kind": "anaesthesia",
        "title": "Consent to <i>anaesthesia</i>", "template_title": "t", "template_body": "b",
        "values": {"cat": "Mittens", "owner": "Jon", "clinic": "C", "date": "d", "procedure": "p",
            "estimate_low": "", "estimate_high": "", "vet": "Ben"},
        "estimate_id": null, "estimate_option": null,
        "text": "I agree <script>x</script>\nsecond line", "client_id": v, "patient_id": v, "visit_id": v,
        "status": status, "void_reason": null, "signature": signature,
        "created_at": "2026-03-05T13:00:00Z", "created_by": null, "updated_at": "2026-03-05T13:00:00Z"
    }))
    .unwrap()
}

#[test]
fn the_consent_signing_page_shows_the_text_escaped_and_the_canvas_only_on_a_draft_for_who_may_sign() {
    use super::consents::ConsentSignPage;
    let tz = jiff::tz::TimeZone::UTC;
    let draft = a_consent("draft", false);
    let page = |f, may, pdf: Option<&str>| {
        ConsentSignPage::new(nav(true, true), f, may, pdf.map(str::to_owned), "Jon & Ann".into(), &tz).render().unwrap()
    };
    let html = page(&draft, true, None);
    assert!(!html.contains("<script>x</script>") && !html.contains("<i>anaesthesia"), "typed text is text: {html}");
    assert!(html.contains("second line") && html.contains(r#"data-status="Draft""#), "{html}");
    assert!(html.contains(r#"<canvas id="signature-pad""#) && html.contains("/assets/consents.js"), "{html}");
    assert!(html.contains(r#"value="Jon &#38; Ann""#), "the owner offered as signer: {html}");
    assert!(!html.contains("consent-pdf"));
    let html = page(&draft, false, None);
    assert!(!html.contains("signature-pad") && !html.contains("consents.js"), "no form that would be refused");
    let signed = a_consent("signed", true);
    let html = page(&signed, true, Some("/api/documents/x/content"));
    assert!(!html.contains("signature-pad"), "a signed form is read-only");
    assert!(
        html.contains(
            "Signed 5 Mar 2026 14:02 by Jon &#60;b&#62;Smith&#60;/b&#62; (agent of the owner), witnessed by Ben Vet"
        ),
        "{html}"
    );
    assert!(html.contains(r#"<a id="consent-pdf" href="/api/documents/x/content">"#), "{html}");
    let html = page(&a_consent("voided", false), true, None);
    assert!(!html.contains("signature-pad") && html.contains(r#"data-status="Voided""#));
}

#[test]
fn the_visit_page_lists_its_consents_and_offers_templates_with_the_estimate_choice() {
    use super::consents::{ConsentRow, ConsentStarter, EstimateChoice, TemplateChoice};
    use super::visits::VisitPage;
    use clowder_schemas::visits::VisitStatus;
    let tz = jiff::tz::TimeZone::UTC;
    let visit = a_visit(VisitStatus::Open);
    let mut view = VisitPage::new(nav(true, true), &visit, &a_draft(&visit), false, |u| u.to_string(), &tz);
    let html = view.render().unwrap();
    assert!(!html.contains("id=\"consents\"") && !html.contains("consents.js"), "nothing to show, no block");
    view.consents = vec![ConsentRow::of(&a_consent("signed", true))];
    view.consent_starter = Some(ConsentStarter {
        templates: vec![TemplateChoice { id: "T1".into(), title: "Estimate <consent>".into(), needs_estimate: true }],
        estimates: vec![EstimateChoice { id: "E1".into(), label: "EST-2026-000001 (sent)".into() }],
    });
    let html = view.render().unwrap();
    assert!(html.contains(r#"href="/consents/01JD7Y2Q4Z8W3N5K6M7P8R9S0T/sign""#), "{html}");
    assert!(html.contains(r#"data-status="Signed""#) && html.contains("consents.js"), "{html}");
    assert!(
        html.contains(r#"<option value="T1" data-needs-estimate="true">Estimate &#60;consent&#62;</option>"#),
        "{html}"
    );
    assert!(html.contains(r#"<option value="E1">EST-2026-000001 (sent)</option>"#), "{html}");
}

fn treatment_plan(status: clowder_schemas::protocols::PlanStatus) -> clowder_schemas::protocols::PlanView {
    use clowder_schemas::ids::{AppointmentTypeId, ProtocolId, TreatmentPlanId};
    use clowder_schemas::money::Cents;
    use clowder_schemas::protocols::{PlanStep, PlanView, ProtocolStep, StepKind, StepStatus, TreatmentPlan};
    let start = jiff::civil::date(2026, 12, 1);
    let mut steps: Vec<PlanStep> = [(0, "<b>Bloods</b>"), (7, "Cleaning")]
        .iter()
        .zip(1..)
        .map(|((day, title), n)| {
            let s = ProtocolStep {
                title: (*title).into(),
                kind: StepKind::Lab,
                day_offset: *day,
                catalogue_item_id: None,
                cost: Cents::new(21000),
                appointment_type_id: Some(AppointmentTypeId::from_u128(9)),
                duration_minutes: None,
                reminder_lead_days: None,
            };
            PlanStep::scheduled(n, &s, start).unwrap()
        })
        .collect();
    steps[0].status = StepStatus::Done;
    let plan = TreatmentPlan {
        id: TreatmentPlanId::from_u128(1),
        patient_id: clowder_schemas::PatientId::from_u128(2),
        protocol_id: ProtocolId::from_u128(3),
        protocol_version: 1,
        name: "Dental".into(),
        start_date: start,
        status,
        steps,
        history: Vec::new(),
        created_at: jiff::Timestamp::UNIX_EPOCH,
        updated_at: jiff::Timestamp::UNIX_EPOCH,
        created_by: None,
    };
    PlanView { done: 1, total: 2, estimated_total: Cents::new(42000), actual_total: Cents::new(20000), plan }
}

#[test]
fn a_treatment_plan_shows_progress_costs_and_offers_actions_only_on_open_steps_to_editors() {
    use super::treatment_plans::{PlanBody, PlanPage};
    use clowder_schemas::protocols::PlanStatus;
    let v = treatment_plan(PlanStatus::Active);
    let body = |editor, book| {
        PlanBody::new(&v, "Miso <3".into(), editor, book, |_| "Vera".into(), |t| t.to_string(), |_| None)
    };
    let html = PlanPage { nav: nav(true, true), b: body(true, true) }.render().unwrap();
    assert!(html.contains("Miso &#60;3") && html.contains("&#60;b&#62;Bloods"), "escaped: {html}");
    assert!(html.contains(r#"<progress id="plan-progress" value="1" max="2">"#));
    assert!(html.contains("1 of 2 done (50 %)") && html.contains("420.00") && html.contains("200.00"));
    assert_eq!(html.matches(r#"data-action="done""#).count(), 1, "only the open step");
    assert_eq!(html.matches(r#"data-action="offer""#).count(), 1, "a step with an appointment type");
    let no_book = PlanPage { nav: nav(true, true), b: body(true, false) }.render().unwrap();
    assert!(!no_book.contains(r#"data-action="offer""#), "no booking without appointments:create");
    let reader = PlanPage { nav: nav(true, true), b: body(false, false) }.render().unwrap();
    assert!(!reader.contains("data-action="), "a reader gets no form");
    let closed = treatment_plan(PlanStatus::Cancelled);
    let b = PlanBody::new(&closed, "Miso".into(), true, true, |_| String::new(), |t| t.to_string(), |_| None);
    let html = PlanPage { nav: nav(true, true), b }.render().unwrap();
    assert!(!html.contains("data-action=") && html.contains(r#"data-status="cancelled""#));
}

#[test]
fn a_booked_step_shows_when_its_appointment_is_and_whether_it_still_takes_place() {
    use super::treatment_plans::{PlanBody, PlanFragment};
    use clowder_schemas::appointments::Status;
    use clowder_schemas::ids::AppointmentId;
    use clowder_schemas::protocols::{PlanStatus, StepStatus};
    let mut v = treatment_plan(PlanStatus::Active);
    v.plan.steps[1].status = StepStatus::Booked;
    v.plan.steps[1].appointment_id = Some(AppointmentId::from_u128(7));
    let start = jiff::Timestamp::from_second(1_800_000_000).unwrap();
    let render = |status: Option<Status>| {
        let b = PlanBody::new(
            &v,
            "Miso".into(),
            true,
            true,
            |_| String::new(),
            |t| crate::views::visits::when(t, &jiff::tz::TimeZone::UTC),
            |a| (a == AppointmentId::from_u128(7)).then_some(start).zip(status),
        );
        PlanFragment { b }.render().unwrap()
    };
    let html = render(Some(Status::Scheduled));
    assert!(html.contains("for <time>15 Jan 2027 08:00</time>"), "{html}");
    assert!(!html.contains(r#"data-action="offer""#), "a booked step offers no more slots");
    let cancelled = render(Some(Status::Cancelled));
    assert!(cancelled.contains("<time>15 Jan 2027 08:00 (cancelled)</time>"));
    assert!(cancelled.contains(r#"data-action="offer""#), "booked again once its appointment is cancelled");
    assert!(render(Some(Status::NoShow)).contains(r#"data-action="offer""#), "or missed");
    let unread = render(None);
    assert!(!unread.contains("<time>") && unread.contains(">appointment</a>"), "the link without the time");
    assert!(!unread.contains(r#"data-action="offer""#), "not offered when its appointment cannot be read");
}

const EXPORT_ID: &str = "01J00000000000000000000001";

fn accounting_export(reason: Option<&str>) -> clowder_schemas::accounting::AccountingExport {
    use clowder_schemas::accounting::{AccountingExport, ExportFormat, ExportKind, KindTotals};
    let mut totals = std::collections::BTreeMap::new();
    totals.insert("invoices".to_owned(), KindTotals { transactions: 12, debits: 123450, credits: 123450 });
    totals.insert("payments".to_owned(), KindTotals { transactions: 1, debits: 5000, credits: 5000 });
    AccountingExport {
        id: EXPORT_ID.parse().unwrap(),
        from: jiff::civil::date(2026, 3, 1),
        to: jiff::civil::date(2026, 3, 31),
        kinds: vec![ExportKind::Invoices, ExportKind::Payments],
        format: ExportFormat::Iif,
        totals,
        sha256: "ab".into(),
        size: 2048,
        filename: "clowder-2026-03-01-2026-03-31.iif".into(),
        mapping_version: 0,
        reexport_reason: reason.map(Into::into),
        overlaps: vec![],
        voids_reversed: vec![],
        created_at: jiff::Timestamp::UNIX_EPOCH,
        created_by: None,
    }
}

#[test]
fn the_accounting_screen_lists_exports_with_their_files_and_escapes_what_was_typed() {
    use super::accounting::AccountingPage;
    use clowder_schemas::accounting::{AccountMap, AccountMapping};
    let mut map = AccountMap::default();
    map.revenue.insert("<Exams>".into(), "Income: \"exams\"".into());
    let mapping = AccountMapping {
        id: clowder_schemas::ids::AccountMappingId::from_u128(1),
        version: 0,
        map,
        updated_at: None,
        updated_by: None,
    };
    let exports = [accounting_export(Some("<fixed> a void"))];
    let tz = jiff::tz::TimeZone::UTC;
    let range = (jiff::civil::date(2026, 4, 1), jiff::civil::date(2026, 4, 30));
    let page = AccountingPage::of(
        nav(true, true),
        &mapping,
        vec!["Exams".into()],
        &exports,
        Some(7),
        false,
        &Default::default(),
        range,
        &tz,
    );
    let html = page.render().unwrap();
    assert!(html.contains("&#60;Exams&#62;") && !html.contains("<Exams>"), "escaped: {html}");
    assert!(html.contains("&#60;fixed&#62; a void") && html.contains("Re-export"));
    assert!(html.contains("Invoices and credit notes: 12 transactions, 1234.50"), "{html}");
    assert!(html.contains("Payments and refunds: 1 transaction, 50.00"));
    assert!(
        html.contains(&format!(r#"href="/api/accounting/exports/{EXPORT_ID}/file""#)) && html.contains("IIF, 2.0 KB")
    );
    assert!(html.contains(r#"value="2026-04-01""#) && html.contains(r#"value="2026-04-30""#));
    assert!(
        html.contains("Defaults (never saved)") && html.contains(r#"data-method="bank_transfer" value="Checking""#)
    );
    assert!(html.contains("Older exports") && !html.contains("Newest exports"));
}

#[test]
fn an_export_is_proposed_for_the_days_after_the_newest_one_up_to_yesterday() {
    use super::accounting::proposed_range;
    use jiff::civil::date;
    let today = date(2026, 4, 10);
    assert_eq!(proposed_range(None, today), (date(2026, 3, 1), date(2026, 3, 31)), "no export yet: last month");
    let january = proposed_range(None, date(2026, 1, 1));
    assert_eq!(january, (date(2025, 12, 1), date(2025, 12, 31)), "across the year");
    let march = accounting_export(None);
    assert_eq!(proposed_range(Some(&march), today), (date(2026, 4, 1), date(2026, 4, 9)));
    let mut upto = accounting_export(None);
    upto.to = date(2026, 4, 9);
    assert_eq!(proposed_range(Some(&upto), today), (date(2026, 4, 9), date(2026, 4, 9)), "nothing new: yesterday");
}

fn a_document(name: &str, patient: bool) -> clowder_schemas::documents::Document {
    let v = "01JD7Y2Q4Z8W3N5K6M7P8R9S0T";
    serde_json::from_value(serde_json::json!({
        "id": v, "client_id": v, "patient_id": patient.then_some(v), "visit_id": null,
        "category": "lab_report", "tags": ["renal", "<b>cbc</b>"], "file_name": name,
        "media_type": "application/pdf", "size": 14_250, "sha256": "ab".repeat(32), "active": true,
        "deactivated_at": null, "deactivated_reason": null,
        "created_at": "2026-03-05T14:02:00Z", "updated_at": "2026-03-05T14:02:00Z", "created_by": null
    }))
    .unwrap()
}

#[test]
fn the_documents_block_escapes_names_links_downloads_and_offers_the_form_only_to_who_may_upload() {
    use super::documents::{DocumentRow, DocumentRows, DocumentRowsPage, DocumentsBlock, size_label};
    let tz = jiff::tz::TimeZone::UTC;
    assert_eq!(
        (size_label(812), size_label(14_250), size_label(3_100_000)),
        ("812 bytes".into(), "14.2 KB".into(), "3.1 MB".into())
    );
    let doc = a_document("<img src=x onerror=alert(1)>.pdf", true);
    let cat = Some(("Mochi".to_owned(), "/patients/01C".to_owned()));
    let row = DocumentRow::of(&doc, "Ben <Vet>", cat, true, &tz);
    let list = DocumentRows {
        rows: vec![row.clone()],
        show_cat: false,
        more_href: Some("/documents/rows?patient_id=01C&cursor=K".into()),
    };
    let mut page = cat_page(vec![], None);
    page.documents = Some(DocumentsBlock::new("patient_id", "01C".into(), list.clone(), true));
    let html = page.render().unwrap();
    assert!(!html.contains("<img src=x") && html.contains("&#60;img src=x onerror=alert(1)&#62;.pdf"), "{html}");
    assert!(html.contains(r#"href="/api/documents/01JD7Y2Q4Z8W3N5K6M7P8R9S0T/content""#));
    assert!(
        html.contains("Lab report") && html.contains("renal, &#60;b&#62;cbc&#60;/b&#62;") && html.contains("14.2 KB")
    );
    assert!(html.contains("Ben &#60;Vet&#62;, 5 Mar 2026 14:02"), "{html}");
    assert!(html.contains(r#"href="/documents/rows?patient_id=01C&#38;cursor=K">Show more"#), "{html}");
    assert!(html.contains(r#"id="document-upload""#) && html.contains("/assets/documents.js"));
    assert!(!html.contains(">Mochi<"), "the cat page does not name its own cat per row");
    // Without the upload permission no form; without the download route no link.
    let plain = DocumentRow::of(&doc, "Ben", None, false, &tz);
    let list = DocumentRows { rows: vec![plain], show_cat: false, more_href: None };
    page.documents = Some(DocumentsBlock::new("patient_id", "01C".into(), list, false));
    let html = page.render().unwrap();
    assert!(!html.contains("document-upload") && !html.contains("/content") && !html.contains("Show more"));
    // No block at all for who may not list documents.
    page.documents = None;
    assert!(!page.render().unwrap().contains("documents-section"));
    // The client page names each document's cat; "Show more" answers rows alone.
    let mut client = client_page(None);
    let list = DocumentRows { rows: vec![row], show_cat: true, more_href: None };
    client.documents = Some(DocumentsBlock::new("client_id", "01J".into(), list.clone(), true));
    let html = client.render().unwrap();
    assert!(html.contains(r#"<a href="/patients/01C">Mochi</a>"#) && html.contains(r#"data-owner-field="client_id""#));
    let rows =
        DocumentRowsPage { documents: DocumentsBlock::new("client_id", "01J".into(), list, true) }.render().unwrap();
    assert!(rows.contains("<tr data-document=") && !rows.contains("<html") && !rows.contains("document-upload"));
}

#[test]
fn the_cat_page_lists_consent_forms_with_the_signed_pdf_or_the_signing_link() {
    use super::documents::ConsentFormRow;
    let tz = jiff::tz::TimeZone::UTC;
    let mut page = cat_page(vec![], None);
    page.consent_forms = Some(vec![
        ConsentFormRow::of(&a_consent("signed", true), true, true, &tz),
        ConsentFormRow::of(&a_consent("draft", false), true, true, &tz),
    ]);
    let html = page.render().unwrap();
    assert!(!html.contains("<i>anaesthesia"), "a title is text");
    assert!(
        html.contains(r#"<a class="consent-pdf" href="/api/documents/01JD7Y2Q4Z8W3N5K6M7P8R9S0T/content""#),
        "{html}"
    );
    assert!(html.contains(r#"<a class="consent-sign" href="/consents/01JD7Y2Q4Z8W3N5K6M7P8R9S0T/sign">Sign</a>"#));
    assert!(html.contains(r#"<a href="/visits/01JD7Y2Q4Z8W3N5K6M7P8R9S0T">5 Mar 2026 13:00</a>"#), "{html}");
    // Who may neither download nor sign: no PDF link, the draft only opened.
    page.consent_forms = Some(vec![
        ConsentFormRow::of(&a_consent("signed", true), false, false, &tz),
        ConsentFormRow::of(&a_consent("draft", false), false, false, &tz),
        ConsentFormRow::of(&a_consent("voided", false), false, false, &tz),
    ]);
    let html = page.render().unwrap();
    assert!(!html.contains("consent-pdf") && html.contains(">Open</a>") && html.contains(r#"data-status="voided""#));
    page.consent_forms = Some(vec![]);
    assert!(page.render().unwrap().contains("No consent forms."));
    page.consent_forms = None;
    assert!(!page.render().unwrap().contains("patient-consents"));
}

fn a_protocol(active: bool) -> clowder_schemas::protocols::Protocol {
    use clowder_schemas::ids::{AppointmentTypeId, CatalogueItemId, ProtocolId};
    use clowder_schemas::money::Cents;
    use clowder_schemas::protocols::{Protocol, ProtocolStep, StepKind};
    let step = |title: &str, kind, day, item: Option<u128>, ty: Option<u128>| ProtocolStep {
        title: title.into(),
        kind,
        day_offset: day,
        catalogue_item_id: item.map(CatalogueItemId::from_u128),
        cost: Cents::new(21000),
        appointment_type_id: ty.map(AppointmentTypeId::from_u128),
        duration_minutes: Some(30),
        reminder_lead_days: Some(2),
    };
    Protocol {
        id: ProtocolId::from_u128(3),
        name: "Dental <i>".into(),
        species_note: Some("adult cats".into()),
        description: None,
        active,
        version: 4,
        steps: vec![
            step("<b>Bloods</b>", StepKind::Lab, 0, Some(7), Some(9)),
            step("Cleaning", StepKind::Procedure, 7, None, None),
        ],
        starter: Some("dental_cleaning".into()),
        created_at: jiff::Timestamp::UNIX_EPOCH,
        updated_at: jiff::Timestamp::UNIX_EPOCH,
        created_by: None,
    }
}

#[test]
fn the_protocol_list_shows_versions_and_offers_starters_only_to_who_may_copy_them() {
    use super::protocols::ProtocolsPage;
    let starters = clowder_actors::clinical::protocols::starters();
    let ps = [a_protocol(true), a_protocol(false)];
    let html = ProtocolsPage::new(nav(true, true), &ps, &starters, true).render().unwrap();
    assert!(html.contains("Dental &#60;i&#62;") && !html.contains("Dental <i>"), "escaped: {html}");
    assert!(html.contains(r#"<td data-label="Version">4</td>"#) && html.contains(r#"<td data-label="Steps">2</td>"#));
    assert!(html.contains(r#"data-status="active""#) && html.contains("Archived") && html.contains("420.00"));
    assert!(html.contains(r#"data-key="dental_cleaning""#) && html.contains(r#"href="/protocols/new""#));
    assert!(html.contains("/assets/protocols.js"));
    let reader = ProtocolsPage::new(nav(true, true), &ps, &starters, false).render().unwrap();
    assert!(!reader.contains("data-key=") && !reader.contains("/protocols/new"), "a reader copies nothing");
    let empty = ProtocolsPage::new(nav(true, true), &[], &starters, false).render().unwrap();
    assert!(empty.contains("No protocols yet."));
}

#[test]
fn the_protocol_editor_fills_each_step_and_is_disabled_for_a_reader() {
    use super::protocols::ProtocolEditor;
    use clowder_schemas::appointment_types::AppointmentType;
    use clowder_schemas::catalogue::CatalogueItem;
    let item: CatalogueItem = serde_json::from_value(serde_json::json!({
        "id": clowder_schemas::ids::CatalogueItemId::from_u128(7), "name": "CBC <panel>", "category": "lab",
        "kind": "service", "price": 19500, "taxable": false, "active": false,
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
    }))
    .unwrap();
    let ty: AppointmentType = serde_json::from_value(serde_json::json!({
        "id": clowder_schemas::ids::AppointmentTypeId::from_u128(9), "name": "Wellness exam",
        "duration_minutes": 30, "color": "#00aa00", "bookable_online": true, "buffer_after_minutes": 0,
        "active": true, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
    }))
    .unwrap();
    let p = a_protocol(true);
    let html =
        ProtocolEditor::new(nav(true, true), Some(&p), std::slice::from_ref(&item), std::slice::from_ref(&ty), true)
            .render()
            .unwrap();
    assert!(html.contains(&format!(r#"data-protocol="{}""#, p.id)) && html.contains("version 4"), "{html}");
    assert!(html.contains("&#60;b&#62;Bloods") && !html.contains("<b>Bloods"), "escaped");
    assert_eq!(html.matches(r#"<li class="step-row">"#).count(), 3, "two steps and the template's row");
    assert!(html.contains(r#"<option value="lab" selected>Lab work</option>"#));
    assert!(html.contains(r#"name="day_offset" value="7""#) && html.contains(r#"name="cost" value="210.00""#));
    // A retired item a step still names stays offered, selected.
    assert!(html.contains(&format!(r#"<option value="{}" selected>CBC &#60;panel&#62; · 195.00</option>"#, item.id)));
    assert!(html.contains(&format!(r#"<option value="{}" selected>Wellness exam · 30 min</option>"#, ty.id)));
    assert!(html.contains(r#"id="save-protocol""#) && html.contains(r#"data-active="false">Archive"#));
    for field in ["title", "day_offset", "cost", "catalogue_item_id", "reminder_lead_days"] {
        assert!(html.contains(&format!(r#"data-for="{field}""#)), "an error slot next to {field}");
    }
    let reader =
        ProtocolEditor::new(nav(true, true), Some(&p), std::slice::from_ref(&item), std::slice::from_ref(&ty), false)
            .render()
            .unwrap();
    assert!(reader.contains("<fieldset disabled>") && !reader.contains("save-protocol"));
    assert!(!reader.contains("step-template") && !reader.contains(r#"data-step="remove""#));
    let new = ProtocolEditor::new(nav(true, true), None, &[item], &[ty], true).render().unwrap();
    assert!(new.contains("<h1>New protocol</h1>") && !new.contains("archive-protocol") && !new.contains("CBC"));
    assert_eq!(new.matches(r#"<li class="step-row">"#).count(), 2, "one empty step and the template's row");
}
