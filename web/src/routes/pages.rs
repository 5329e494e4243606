//! The staff pages. Screens are rendered here on the server from typed views
//! (`crate::views`, askama templates in `web/templates/`): each handler reads through the
//! audited services with the caller, like the API, and answers a whole page, or for the
//! lists' filter script (`HX-Request`) the results fragment alone. Page routes are in the
//! access table like API routes; without a session `access::authorize` sends the browser to
//! `/signin`, and a refusal is a friendly 403 page. The sign-in page and the exam-room
//! tablet stay static HTML (neither has a signed-in staff member to render for), and the
//! ES modules and CSS are embedded at compile time (no build step).

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use std::collections::HashMap;

use clowder_actors::billing::invoices::InvoiceFilter;
use clowder_actors::billing::listing::{DayRange, invoice_day};
use clowder_actors::clinical::visits::VisitFilter;
use clowder_actors::comms::stats::LogFilter;
use clowder_actors::comms::templates::TemplateFilter;
use clowder_actors::jobs::JobFilter;
use clowder_actors::people::clients::ClientFilter;
use clowder_actors::people::patients::PatientFilter;
use clowder_schemas::formulary::Formulary;
use clowder_schemas::ids::InvoiceId;
use clowder_schemas::ids::RoomId;
use clowder_schemas::ids::{CampaignId, SegmentId};
use clowder_schemas::invoices::{Invoice, InvoiceStatus};
use clowder_schemas::jobs::JobState;
use clowder_schemas::pagination::{Cursor, PageRequest};
use clowder_schemas::patients::PatientListQuery;
use clowder_schemas::search::SearchKind;
use clowder_schemas::staff::Position;
use clowder_schemas::vaccine_protocol::VaccineProtocol;
use clowder_schemas::vitals::{FasScale, VitalRanges};
use clowder_schemas::{BatchId, ClientId, MessageId, PatientId, TemplateId, ValidationError};

use super::clients::name_fragment;
use super::communications::{LogQuery, StatsQuery, log_filter, stats_range};
use super::patients::patient_filter;
use super::record_documents::{Owner, documents_block, patient_consent_forms};
use crate::access::{Granted, granted_on};
use crate::error::ApiError;
use crate::extract::{Id, Query, Staff};
use crate::state::AppState;
use crate::views::billing::{
    self, AccountPage, InvoiceActions, InvoiceBody, InvoiceForm, InvoiceFragment, InvoicePage, InvoiceResults,
    InvoiceRow, InvoiceRows, InvoicesPage, PlanRow,
};
use crate::views::board::BoardPage;
use crate::views::comms::{
    self, BatchRow, BulkPage, Choice, DashboardPage, JobRow, JobsPage, LogForm, MessagePage, MessageRow, MessagesPage,
    Tabs, TemplateEditorPage, TemplateRow, TemplatesPage,
};
use crate::views::lists::{Filter, ListKind, ListPage, ListResults, Results, Row};
use crate::views::marketing::{
    AnalyticsPage, CampaignActions, CampaignPage, CampaignRow, CampaignsPage, Pager, ReferralPanel, ReferredRow,
    SegmentPage, SegmentRow, SegmentsPage, segment_rules,
};
use crate::views::records::{
    ClientPage, ClinicalSection, PatientPage, age, cat_link, problem_line, repro_label, sex_label,
};
use crate::views::tablet::{
    Abilities, ChartCat, NoteEditor, TabletChart, drug_choices, due_rows, medication_row, timeline_row, vaccine_choices,
};
use crate::views::{ErrorPage, Nav, Section, render};

const SIGNIN: &str = include_str!("../pages/signin.html");
const TABLET: &str = include_str!("../pages/tablet.html");

/// Rows per page of a list screen.
pub const PAGE_SIZE: usize = 25;

/// Messages in a client page's communication history.
pub const CLIENT_MESSAGES: usize = 5;

/// The page routes (HTML for a browser): a request for one without a session is sent to
/// the sign-in page, and a refusal is a page, not JSON.
pub const PAGE_ROUTES: &[&str] = &[
    "/board",
    "/clients",
    "/clients/{id}",
    "/patients",
    "/patients/{id}",
    "/documents/rows",
    "/messages",
    "/messages/{id}",
    "/messages/templates",
    "/messages/templates/{id}",
    "/messages/bulk",
    "/messages/dashboard",
    "/jobs",
    "/messages/analytics",
    "/messages/segments",
    "/messages/segments/{id}",
    "/messages/campaigns",
    "/messages/campaigns/{id}",
    "/visits/{id}",
    "/consents/{id}/sign",
    "/tablet/chart",
    "/inventory",
    "/inventory/purchase-orders/{id}",
    "/estimates",
    "/estimates/new",
    "/estimates/{id}",
    "/payment-plans/new",
    "/payment-plans/{id}",
    "/treatment-plans/{id}",
    "/protocols",
    "/protocols/new",
    "/protocols/{id}",
    "/reports",
    "/invoices",
    "/invoices/{id}",
    "/clients/{id}/account",
    "/loyalty",
    "/accounting",
    "/wards",
    "/wards/{id}",
    "/wards/{id}/display",
    "/wards/{id}/tablet",
    "/labs",
    "/labs/orders/{id}",
    "/labs/unmatched",
];

/// Whether a matched route template is one of [`PAGE_ROUTES`].
pub fn is_page(route: &str) -> bool {
    PAGE_ROUTES.contains(&route)
}

/// The embedded assets: name, content type, body.
const ASSETS: &[(&str, &str, &str)] = &[
    ("app.css", "text/css; charset=utf-8", include_str!("../pages/app.css")),
    ("api.js", "text/javascript; charset=utf-8", include_str!("../pages/api.js")),
    ("live.js", "text/javascript; charset=utf-8", include_str!("../pages/live.js")),
    ("signin.js", "text/javascript; charset=utf-8", include_str!("../pages/signin.js")),
    ("board.js", "text/javascript; charset=utf-8", include_str!("../pages/board.js")),
    ("tablet.js", "text/javascript; charset=utf-8", include_str!("../pages/tablet.js")),
    ("search.js", "text/javascript; charset=utf-8", include_str!("../pages/search.js")),
    ("nav.js", "text/javascript; charset=utf-8", include_str!("../pages/nav.js")),
    ("lists.js", "text/javascript; charset=utf-8", include_str!("../pages/lists.js")),
    ("comms.js", "text/javascript; charset=utf-8", include_str!("../pages/comms.js")),
    ("visit.js", "text/javascript; charset=utf-8", include_str!("../pages/visit.js")),
    ("consents.js", "text/javascript; charset=utf-8", include_str!("../pages/consents.js")),
    ("documents.js", "text/javascript; charset=utf-8", include_str!("../pages/documents.js")),
    ("tablet-chart.js", "text/javascript; charset=utf-8", include_str!("../pages/tablet-chart.js")),
    ("inventory.js", "text/javascript; charset=utf-8", include_str!("../pages/inventory.js")),
    ("estimates.js", "text/javascript; charset=utf-8", include_str!("../pages/estimates.js")),
    ("billing.js", "text/javascript; charset=utf-8", include_str!("../pages/billing.js")),
    ("loyalty.js", "text/javascript; charset=utf-8", include_str!("../pages/loyalty.js")),
    ("accounting.js", "text/javascript; charset=utf-8", include_str!("../pages/accounting.js")),
    ("ward.js", "text/javascript; charset=utf-8", include_str!("../pages/ward.js")),
    ("labs.js", "text/javascript; charset=utf-8", include_str!("../pages/labs.js")),
    ("plans.js", "text/javascript; charset=utf-8", include_str!("../pages/plans.js")),
    ("protocols.js", "text/javascript; charset=utf-8", include_str!("../pages/protocols.js")),
];

fn html(body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

/// A page's answer: the view, or the error page with the navigation bar.
fn page(nav: Nav, result: Result<Response, ApiError>) -> Response {
    result.unwrap_or_else(|e| ErrorPage::answer(nav, e))
}

/// `/`: the Today board.
pub async fn home() -> Redirect {
    Redirect::to("/board")
}

/// `/signin`.
pub async fn signin() -> Response {
    html(SIGNIN)
}

/// `/board`: the Today board's shell; `board.js` fills it over the API and `/ws`.
pub async fn board(staff: Staff) -> Response {
    render(StatusCode::OK, &BoardPage { nav: Nav::of(&staff, Section::Today) })
}

/// `/tablet?room=<id>`: an exam room's tablet. A kiosk unlocked by PIN on a registered
/// device, with no staff session of its own to render for: static, without the bar.
pub async fn tablet() -> Response {
    html(TABLET)
}

/// The query of a list screen.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    pub name: Option<String>,
    pub status: Option<String>,
    pub cursor: Option<String>,
}

/// Whether the request asks for the fragment alone (the filter script sends `HX-Request`).
fn wants_fragment(headers: &HeaderMap) -> bool {
    headers.get("hx-request").is_some_and(|v| v.as_bytes() == b"true")
}

fn filter_of(kind: ListKind, q: &ListParams) -> Result<Filter, ApiError> {
    let status = match q.status.as_deref().map(str::trim) {
        None | Some("") => kind.statuses()[0].0.to_owned(),
        Some(s) if kind.statuses().iter().any(|(v, _)| *v == s) => s.to_owned(),
        Some(_) => {
            let values: Vec<&str> = kind.statuses().iter().map(|(v, _)| *v).collect();
            return Err(ValidationError::new("status", format!("must be one of {}", values.join(", "))).into());
        }
    };
    Ok(Filter { name: q.name.as_deref().unwrap_or("").trim().to_owned(), status })
}

fn list_answer(headers: &HeaderMap, nav: Nav, filter: Filter, results: Results) -> Response {
    if wants_fragment(headers) {
        render(StatusCode::OK, &ListResults { results })
    } else {
        render(StatusCode::OK, &ListPage { nav, filter, results })
    }
}

/// `/clients`: the Clients list (name and status filter, pages by cursor).
pub async fn clients(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    headers: HeaderMap,
    q: Result<Query<ListParams>, ApiError>,
) -> Response {
    let nav = Nav::of(&staff, Section::Clients);
    page(
        nav.clone(),
        async {
            let Query(q) = q?;
            let filter = filter_of(ListKind::Clients, &q)?;
            let active = match filter.status.as_str() {
                "active" => Some(true),
                "inactive" => Some(false),
                _ => None,
            };
            let service_filter = ClientFilter {
                active,
                name: name_fragment(&Some(filter.name.clone()))?,
                created_by: granted.own_only(),
            };
            let after = PageRequest::parse(None, q.cursor.as_deref())?.after;
            let (items, next) = state.system.clients.list(&service_filter, after, PAGE_SIZE, &staff.caller).await?;
            let next = next.map(|k| Cursor(k).encode());
            let rows = items.iter().map(Row::client).collect();
            let results = Results::new(ListKind::Clients, &filter, rows, q.cursor.as_deref(), next.as_deref());
            Ok(list_answer(&headers, nav, filter, results))
        }
        .await,
    )
}

/// `/patients`: the Cats list.
pub async fn patients(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    headers: HeaderMap,
    q: Result<Query<ListParams>, ApiError>,
) -> Response {
    let nav = Nav::of(&staff, Section::Cats);
    page(
        nav.clone(),
        async {
            let Query(q) = q?;
            let filter = filter_of(ListKind::Cats, &q)?;
            let api_query = PatientListQuery {
                status: Some(filter.status.clone()),
                name: Some(filter.name.clone()),
                ..PatientListQuery::default()
            };
            let service_filter = PatientFilter { created_by: granted.own_only(), ..patient_filter(&api_query, false)? };
            let after = PageRequest::parse(None, q.cursor.as_deref())?.after;
            let (items, next) = state.system.patients.list(&service_filter, after, PAGE_SIZE, &staff.caller).await?;
            let next = next.map(|k| Cursor(k).encode());
            let rows = items.iter().map(Row::cat).collect();
            let results = Results::new(ListKind::Cats, &filter, rows, q.cursor.as_deref(), next.as_deref());
            Ok(list_answer(&headers, nav, filter, results))
        }
        .await,
    )
}

/// `/clients/{id}`: one client's record and their cats. Reads like `GET /api/clients/{id}`
/// (own scope checked, the read audited, the record put on the recently viewed list) and
/// lists the cats like `GET /api/clients/{id}/patients` when the caller may.
pub async fn client(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    id: Result<Id<ClientId>, ApiError>,
) -> Response {
    let nav = Nav::of(&staff, Section::Clients);
    page(
        nav.clone(),
        async {
            // A malformed id is the same 404 page as an unknown one.
            let Id(id) = id?;
            granted.check_lazily(|| state.system.clients.peek(id).map(|r| r.created_by))?;
            let client = state.system.clients.get(id, &staff.caller).await?;
            state.system.search.viewed(&staff.caller, SearchKind::Client, id.ulid()).await?;
            // The cats section shows what `GET /api/clients/{id}/patients` would.
            let cats = match granted_on(&staff, &Method::GET, "/api/clients/{id}/patients") {
                None => None,
                Some(cats_granted) => {
                    let filter = PatientFilter {
                        status: None,
                        client_id: Some(id),
                        name: None,
                        created_by: cats_granted.own_only(),
                    };
                    let (items, _) = state.system.patients.list(&filter, None, 100, &staff.caller).await?;
                    Some(items.iter().map(cat_link).collect())
                }
            };
            let mut view = ClientPage::new(nav, &client, cats);
            // The client's account (balance, invoices, payments), for who may open it.
            if granted_on(&staff, &Method::GET, "/clients/{id}/account").is_some() {
                let href = format!("/clients/{id}/account");
                view.facts.push(crate::views::records::Fact::link_to(
                    "Account",
                    "Balance, invoices and payments",
                    href,
                ));
            }
            let tz = clinic_tz(&state);
            // The referral panel shows what `GET /api/clients/{id}/referral` would (audited).
            if let Some(g) = granted_on(&staff, &Method::GET, "/api/clients/{id}/referral")
                && g.check(client.created_by).is_ok()
            {
                let r = state.system.referrals.of_client(id, &staff.caller).await?;
                let referred = r
                    .referrals
                    .iter()
                    .map(|x| {
                        // A referred client is named only to a caller who may open them.
                        let name = state
                            .system
                            .clients
                            .peek(x.referred_id)
                            .ok()
                            .filter(|c| g.check(c.created_by).is_ok())
                            .map(|c| c.display_name());
                        ReferredRow::of(x, name, &tz)
                    })
                    .collect();
                view.referrals = Some(ReferralPanel { code: r.code, owed: r.owed, referred });
            }
            // The loyalty panel shows what `GET /api/clients/{id}/loyalty` would (audited).
            if granted_on(&staff, &Method::GET, "/api/clients/{id}/loyalty").is_some() {
                let page = clowder_actors::billing::loyalty::HistoryPage { limit: Some(10), cursor: None };
                let account = state.system.loyalty.account(id, page, &staff.caller).await?;
                view.loyalty = Some(crate::views::loyalty::LoyaltyPanel::of(&account, &tz));
            }
            // The history shows what `GET /api/communications/log?client=` would.
            if granted_on(&staff, &Method::GET, "/api/communications/log").is_some() {
                let filter = LogFilter { client_id: Some(id), ..LogFilter::default() };
                let (items, _) = state.system.comms_log.page(&filter, CLIENT_MESSAGES, None, &staff.caller).await?;
                let log = LogForm { client: id.to_string(), ..LogForm::default() }.href(None);
                view.messages = Some((items.iter().map(|m| MessageRow::of(m, &tz)).collect(), log));
                view.can_send = granted_on(&staff, &Method::POST, "/api/communications/send").is_some();
            }
            view.documents = documents_block(&state, &staff, Owner::Client(id), None).await?;
            Ok(render(StatusCode::OK, &view))
        }
        .await,
    )
}

/// `/patients/{id}`: one cat's record. Reads like `GET /api/patients/{id}`; the owner (for
/// the banner's owner alerts and the owner link) is read in passing, audited, when the
/// caller may read that client, and not put on the recently viewed list.
pub async fn patient(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    id: Result<Id<PatientId>, ApiError>,
) -> Response {
    let nav = Nav::of(&staff, Section::Cats);
    page(
        nav.clone(),
        async {
            let Id(id) = id?;
            granted.check_lazily(|| state.system.patients.peek(id).map(|r| r.created_by))?;
            let today = state.system.ctx.today();
            // A reader of the medical record gets the banner, the problems and the vitals from
            // one read of the chart (one snapshot, one audit entry `patient.chart`), with what
            // this page draws only: no timeline, medications or vaccines.
            let view = if granted_on(&staff, &Method::GET, "/api/patients/{id}/chart").is_some() {
                let access = clowder_actors::clinical::chart::ChartAccess {
                    timeline: false,
                    timeline_prescriptions: false,
                    medications: false,
                    vaccines: false,
                    // The lab block reads the cat's orders itself (the latest five, the trends).
                    labs: false,
                    ..super::visits::chart_access(&staff)
                };
                let chart = state.system.charts.chart(id, access, today, None, &staff.caller).await?;
                let mut view = PatientPage::new(nav, &chart.patient, chart.owner.as_ref(), today);
                view.problems = chart.problems.iter().map(problem_line).collect();
                view.clinical = Some(ClinicalSection::of_chart(&chart, &clinic_tz(&state)));
                view
            } else {
                let patient = state.system.patients.get(id, &staff.caller).await?;
                // The owner shows when `GET /api/clients/{id}` would answer for them.
                let owner = match granted_on(&staff, &Method::GET, "/api/clients/{id}") {
                    Some(g) if g.check(state.system.clients.peek(patient.client_id)?.created_by).is_ok() => {
                        Some(state.system.clients.get(patient.client_id, &staff.caller).await?)
                    }
                    _ => None,
                };
                PatientPage::new(nav, &patient, owner.as_ref(), today)
            };
            let mut view = view;
            view.new_estimate = may(&staff, "GET /estimates/new").then(|| format!("/estimates/new?patient_id={id}"));
            view.labs = super::labs::patient_labs(&state, &staff, id).await?;
            view.plans = patient_plans(&state, &staff, id).await?;
            view.documents = documents_block(&state, &staff, Owner::Patient(id), None).await?;
            view.consent_forms = patient_consent_forms(&state, &staff, id).await?;
            // Its printable documents, for who may read them.
            for (term, path) in
                [("Vaccination certificate", "vaccination-certificate.pdf"), ("Record summary", "record-summary.pdf")]
            {
                if may(&staff, &format!("GET /api/patients/{{id}}/{path}")) {
                    view.facts.push(crate::views::records::Fact::link_to(
                        term,
                        "PDF",
                        format!("/api/patients/{id}/{path}"),
                    ));
                }
            }
            state.system.search.viewed(&staff.caller, SearchKind::Patient, id.ulid()).await?;
            Ok(render(StatusCode::OK, &view))
        }
        .await,
    )
}

/// `/visits/{id}`: a visit and its SOAP note, read-only, with a Sign button for those who
/// may. Reads like `GET /api/visits/{id}` and `GET /api/visits/{id}/note` (own scope
/// checked, both reads audited).
pub async fn visit(
    State(state): State<AppState>,
    staff: Staff,
    granted: Granted,
    id: Result<Id<clowder_schemas::ids::VisitId>, ApiError>,
) -> Response {
    let nav = Nav::of(&staff, Section::Cats);
    page(
        nav.clone(),
        async {
            let Id(id) = id?;
            granted.check_lazily(|| state.system.visits.peek(id).map(|v| v.created_by))?;
            let visit = state.system.visits.get(id, &staff.caller).await?;
            let note = state.system.drafts.view(id, &staff.caller).await?;
            let may_sign = granted_on(&staff, &Method::POST, "/api/visits/{id}/note/sign").is_some();
            let names = signer_names(&state, &note).await;
            let name = |u: clowder_schemas::UserId| names.get(&u).cloned().unwrap_or_else(|| u.to_string());
            let mut view = crate::views::visits::VisitPage::new(nav, &visit, &note, may_sign, name, &clinic_tz(&state));
            view.new_estimate = may(&staff, "GET /estimates/new").then(|| format!("/estimates/new?visit_id={id}"));
            view.labs = super::labs::visit_labs(&state, &staff, &visit).await?;
            visit_consents(&state, &staff, &visit, &mut view).await?;
            // Its printable documents; the health certificate needs the signed note.
            let mut printable = vec![("Visit summary", "summary.pdf")];
            if view.signed {
                printable.push(("Health certificate", "health-certificate.pdf"));
            }
            for (term, path) in printable {
                if may(&staff, &format!("GET /api/visits/{{id}}/{path}")) {
                    view.facts.push(crate::views::records::Fact::link_to(
                        term,
                        "PDF",
                        format!("/api/visits/{id}/{path}"),
                    ));
                }
            }
            // The visit's invoices (a draft filling up at checkout), linked for who may open them.
            if granted_on(&staff, &Method::GET, "/invoices/{id}").is_some() {
                let filter = InvoiceFilter { visit_id: Some(id), ..InvoiceFilter::default() };
                let (items, _) = state.system.invoices.records().list_newest_first_unaudited(&filter, None, 10)?;
                for i in &items {
                    let status = billing::status_label(i.status).to_lowercase();
                    let label = match (&i.number, i.status) {
                        (Some(n), _) => format!("{n} ({status})"),
                        (None, InvoiceStatus::Draft) => "Draft invoice".to_owned(),
                        (None, _) => format!("Draft invoice ({status})"),
                    };
                    view.facts.push(crate::views::records::Fact::link_to(
                        "Invoice",
                        label,
                        format!("/invoices/{}", i.id),
                    ));
                }
            }
            Ok(render(StatusCode::OK, &view))
        }
        .await,
    )
}

/// `/consents/{id}/sign`: a consent form's frozen text and, on a draft for who may sign it,
/// the signing form (name, relationship, a canvas); a signed form read-only with its PDF.
/// Reads like `GET /api/consent-forms/{id}` (audited).
pub async fn consent_sign(
    State(state): State<AppState>,
    staff: Staff,
    id: Result<Id<clowder_schemas::ids::ConsentFormId>, ApiError>,
) -> Response {
    let nav = Nav::of(&staff, Section::Cats);
    page(
        nav.clone(),
        async {
            let Id(id) = id?;
            let form = state.system.consent_forms.get(id, &staff.caller).await?;
            let may_sign = may(&staff, "POST /api/consent-forms/{id}/sign");
            let pdf = form
                .signature
                .as_ref()
                .filter(|_| may(&staff, "GET /api/documents/{id}/content"))
                .map(|s| format!("/api/documents/{}/content", s.document_id));
            // The owner is offered as the signer (an agent changes the name).
            let owner = state.system.clients.peek(form.client_id).map(|c| c.display_name()).unwrap_or_default();
            let view =
                crate::views::consents::ConsentSignPage::new(nav, &form, may_sign, pdf, owner, &clinic_tz(&state));
            Ok(render(StatusCode::OK, &view))
        }
        .await,
    )
}

/// The visit page's consent block: the visit's forms, and the form starting one (active
/// templates; the estimates of the cat, for a treatment-estimate template) for who may make one.
async fn visit_consents(
    state: &AppState,
    staff: &Staff,
    visit: &clowder_schemas::visits::Visit,
    view: &mut crate::views::visits::VisitPage,
) -> Result<(), ApiError> {
    use crate::views::consents::{ConsentRow, ConsentStarter};
    use clowder_actors::clinical::consent_forms::{FormFilter, TemplateFilter};
    if !may(staff, "GET /api/consent-forms") {
        return Ok(());
    }
    let filter = FormFilter { visit_id: Some(visit.id), ..FormFilter::default() };
    let (forms, _) = state.system.consent_forms.list(&filter, None, 20, &staff.caller).await?;
    view.consents = forms.iter().map(ConsentRow::of).collect();
    if may(staff, "POST /api/consent-forms") && visit.status != clowder_schemas::visits::VisitStatus::Voided {
        let (templates, _) =
            state.system.consent_templates.list(&TemplateFilter::default(), None, 50, &staff.caller).await?;
        let mut estimates = Vec::new();
        if may(staff, "GET /api/estimates") {
            let client = state.system.patients.peek(visit.patient_id)?.client_id;
            let filter = clowder_actors::billing::estimates::EstimateFilter { client_id: Some(client), status: None };
            let (items, _) = state.system.estimates.list(&filter, None, 20, &staff.caller).await?;
            estimates = items.into_iter().filter(|e| e.patient_id == visit.patient_id).collect();
        }
        let starter = ConsentStarter::new(&templates, &estimates);
        view.consent_starter = (!starter.templates.is_empty()).then_some(starter);
    }
    Ok(())
}

/// The query of the tablet's chart: the room, and where the timeline's page starts.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TabletParams {
    pub room: Option<String>,
    pub older: Option<String>,
}

/// `/tablet/chart?room=<id>`: the chart of the cat the room's whiteboard says is in the
/// room, for whoever unlocked the tablet (`visits:view`). It takes no patient id, so the
/// tablet cannot be led to another cat's record; each read goes through the audited
/// services as the caller, and each form shows only when its write would be allowed.
pub async fn tablet_chart(
    State(state): State<AppState>,
    staff: Staff,
    q: Result<Query<TabletParams>, ApiError>,
) -> Response {
    let room = q.as_ref().ok().and_then(|q| q.0.room.clone()).unwrap_or_default();
    let result = async { tablet_chart_view(&state, &staff, q?.0).await }.await;
    match result {
        Ok(view) => render(StatusCode::OK, &view),
        // The kiosk's own error page: no navigation bar, no search box, only the way back to
        // the room (a room's screen must not lead to the clinic's records).
        Err(e) => {
            let kind = e.code.kind();
            let problem = if kind == clowder_schemas::ErrorKind::Internal {
                tracing::error!(code = ?e.code, message = %e.message, "the tablet's chart failed");
                "Something went wrong on our side; it has been logged. Try again in a moment.".to_owned()
            } else {
                e.message
            };
            let view = TabletChart {
                room_id: room.trim().to_owned(),
                room_name: "Exam room".to_owned(),
                cat: None,
                problem: Some(problem),
            };
            render(crate::error::status_of(kind), &view)
        }
    }
}

async fn tablet_chart_view(state: &AppState, staff: &Staff, q: TabletParams) -> Result<TabletChart, ApiError> {
    use clowder_schemas::visits::VisitStatus;

    let room_id: RoomId = q
        .room
        .as_deref()
        .map(str::trim)
        .unwrap_or("")
        .parse()
        .map_err(|_| ValidationError::new("room", "must be a room id (open this page from the room's tablet)"))?;
    let board = state.system.scheduling.whiteboard.board(None)?;
    let Some(room) = board.into_iter().find(|r| r.room.id == room_id) else {
        return Err(clowder_actors::Error::RoomNotFound(room_id).into());
    };
    let mut view =
        TabletChart { room_id: room_id.to_string(), room_name: room.room.name.clone(), cat: None, problem: None };
    let Some(id) = room.status.patient_id else { return Ok(view) };
    let caller = &staff.caller;
    let tz = clinic_tz(state);
    let today = state.system.ctx.today();

    // The chart in one read (one snapshot, one audit entry `patient.chart`), each part as its
    // own route would answer this caller. Shown, not opened: the cat does not join the
    // recently viewed list.
    let before = PageRequest::parse(None, q.older.as_deref())?.after;
    // The lab trends come in the same read for a reader of labs (`labs:view`), and are
    // neither read nor audited for anyone else.
    let access = super::visits::chart_access(staff);
    let chart = state.system.charts.chart(id, access, today, before, caller).await?;
    let patient = &chart.patient;
    let banner = PatientPage::new(nav_none(staff), patient, chart.owner.as_ref(), today);
    let facts = {
        let mut f = Vec::new();
        if let Some(dob) = patient.date_of_birth {
            f.push(age(dob, today));
        }
        f.extend(patient.breed.clone());
        let sex = [patient.sex.map(sex_label), patient.reproductive_status.map(repro_label)]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ");
        if !sex.is_empty() {
            f.push(sex);
        }
        f.join(" · ")
    };
    // The timeline as `GET /api/patients/{id}/timeline` answers it (scope `all` only).
    let (timeline, older_href) = match &chart.timeline {
        None => (None, None),
        Some(page) => {
            let href =
                page.next_cursor.as_ref().map(|c| format!("/tablet/chart?room={room_id}&older={c}#timeline-section"));
            (Some(page.items.iter().map(|e| timeline_row(e, &tz)).collect()), href)
        }
    };
    let medications = chart.medications.as_ref().map(|m| m.iter().map(medication_row).collect());

    // The visit being seen: the room's appointment's, else the cat's newest open one.
    let visit_id = match room.status.appointment_id.map(|a| state.system.visits.of_appointment(a)).transpose()? {
        Some(Some(v)) => Some(v.id),
        _ => {
            let filter =
                VisitFilter { patient_id: Some(id), status: Some(VisitStatus::Open), ..VisitFilter::default() };
            let (open, _) = state.system.visits.list(&filter, None, 100, caller).await?;
            open.iter().max_by_key(|v| v.opened_at).map(|v| v.id)
        }
    };
    let profile = match caller.user_id() {
        Some(u) => state.system.visits.profile_of(u)?,
        None => None,
    };
    let visit = match visit_id {
        None => None,
        Some(vid) => {
            let visit = state.system.visits.get(vid, caller).await?;
            let note = state.system.drafts.view(vid, caller).await?;
            let vet = profile.as_ref().filter(|p| p.active && p.position == Position::Veterinarian);
            let sign = match (granted_on(staff, &Method::POST, "/api/visits/{id}/note/sign"), vet) {
                (Some(g), Some(p)) => g.own_only().is_none() || visit.vet_id == Some(p.id),
                _ => false,
            };
            let may =
                Abilities { edit_note: granted_on(staff, &Method::PUT, "/api/visits/{id}/note/draft").is_some(), sign };
            // Signers by name (the vet reads "by Dr …", not an id).
            let names = signer_names(state, &note).await;
            let name = |u: clowder_schemas::UserId| names.get(&u).cloned().unwrap_or_else(|| u.to_string());
            Some(NoteEditor::new(&visit, &note, may, name, &tz))
        }
    };
    let live = patient.deceased_on.is_none();
    let vaccines = match granted_on(staff, &Method::POST, "/api/vaccinations") {
        Some(_) if live => {
            let v = state.system.clinical_facts.get("vaccine_protocol", None)?;
            Some(vaccine_choices(&v.typed::<VaccineProtocol>()?))
        }
        _ => None,
    };
    // The FAS buttons follow the clinic's scale (0–5 or 1–5), read with the normal ranges.
    let fas_min = match state.system.clinical_facts.get("vital_ranges", None)?.typed::<VitalRanges>()?.fas_scale {
        FasScale::ZeroToFive => 0,
        FasScale::OneToFive => 1,
    };
    let prescriber = profile.as_ref().is_some_and(|p| p.active && p.capabilities.can_prescribe);
    let drugs = match granted_on(staff, &Method::POST, "/api/prescriptions") {
        Some(_) if live && prescriber => {
            let f = state.system.clinical_facts.get("formulary", None)?;
            Some(drug_choices(&f.typed::<Formulary>()?))
        }
        _ => None,
    };
    view.cat = Some(ChartCat {
        patient_id: id.to_string(),
        name: patient.name.clone(),
        facts,
        alerts: banner.alerts,
        handling: banner.handling,
        problems: chart.problems.iter().map(problem_line).collect(),
        clinical: ClinicalSection::of_chart(&chart, &tz),
        timeline,
        older_href,
        vaccines_due: due_rows(&chart.vaccines),
        medications,
        lab_trends: chart
            .lab_trends
            .as_ref()
            .map(|ts| ts.iter().filter_map(|t| crate::views::labs::TrendChart::of(t, &tz)).collect()),
        visit,
        can_record_vitals: live && granted_on(staff, &Method::POST, "/api/vitals").is_some(),
        fas_min,
        vaccines,
        drugs,
    });
    Ok(view)
}

/// The names of a note's signer and its addenda's authors (by `user_names`' rule).
async fn signer_names(
    state: &AppState,
    note: &clowder_schemas::notes::NoteView,
) -> std::collections::HashMap<clowder_schemas::UserId, String> {
    let Some(n) = &note.note else { return std::collections::HashMap::new() };
    user_names(state, std::iter::once(n.signed_by).chain(n.addenda.iter().map(|a| a.author))).await
}

/// A navigation bar for views that are built only for their parts (the tablet shows none).
fn nav_none(staff: &Staff) -> Nav {
    Nav::of(staff, Section::None)
}

/// `/assets/{file}`.
pub async fn asset(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, ct, body)) => {
            (StatusCode::OK, [(header::CONTENT_TYPE, *ct), (header::CACHE_CONTROL, "no-cache")], *body).into_response()
        }
        None => ApiError::new(clowder_schemas::ErrorCode::NotFound, "no such asset").into_response(),
    }
}

/// The tz messages and jobs are shown in.
fn clinic_tz(state: &AppState) -> jiff::tz::TimeZone {
    state.system.ctx.config.time_zone.clone()
}

/// Templates as the choices of a select ("Name (Email)"), active ones only when `active`.
async fn template_choices(state: &AppState, staff: &Staff, active: bool) -> Result<Vec<Choice>, ApiError> {
    let filter = TemplateFilter { active: active.then_some(true), ..TemplateFilter::default() };
    let (items, _) = state.system.templates.list(&filter, None, 200, &staff.caller).await?;
    Ok(items
        .iter()
        .map(|t| (t.id.to_string(), format!("{} ({})", t.content.name, comms::channel_label(t.channel))))
        .collect())
}

/// `/messages`: the message log (filters as `GET /api/communications/log`, pages by cursor).
pub async fn messages(State(state): State<AppState>, staff: Staff, q: Result<Query<LogQuery>, ApiError>) -> Response {
    let nav = Nav::of(&staff, Section::Messages);
    page(
        nav.clone(),
        async {
            let Query(q) = q?;
            let filter = log_filter(&state, &q)?;
            let after = PageRequest::parse(None, q.cursor.as_deref())?.after;
            let (items, next) = state.system.comms_log.page(&filter, PAGE_SIZE, after, &staff.caller).await?;
            let tz = clinic_tz(&state);
            let text = |v: &Option<String>| v.as_deref().unwrap_or("").trim().to_owned();
            let form = LogForm {
                client: text(&q.client),
                status: text(&q.status),
                channel: text(&q.channel),
                template: text(&q.template),
                from: text(&q.from),
                to: text(&q.to),
            };
            let next = next.map(|k| Cursor(k).encode());
            let view = MessagesPage {
                nav,
                tabs: Tabs::of(&staff, "log"),
                statuses: comms::status_choices(),
                templates: template_choices(&state, &staff, false).await?,
                rows: items.iter().map(|m| MessageRow::of(m, &tz)).collect(),
                next_href: next.as_deref().map(|n| form.href(Some(n))),
                first_href: q.cursor.as_ref().map(|_| form.href(None)),
                form,
            };
            Ok(render(StatusCode::OK, &view))
        }
        .await,
    )
}

/// `/messages/{id}`: one message, read like `GET /api/messages/{id}` (audited).
pub async fn message(State(state): State<AppState>, staff: Staff, id: Result<Id<MessageId>, ApiError>) -> Response {
    let nav = Nav::of(&staff, Section::Messages);
    page(
        nav.clone(),
        async {
            let Id(id) = id?;
            let m = state.system.messages.get(id, &staff.caller).await?;
            let template = m.template_id.and_then(|t| state.system.templates.peek(t).ok()).map(|t| t.content.name);
            let view = MessagePage::new(nav, Tabs::of(&staff, "log"), &m, template, &clinic_tz(&state));
            Ok(render(StatusCode::OK, &view))
        }
        .await,
    )
}

/// The query of the templates page: a category and a channel to narrow it to (a clinic has
/// two defaults per category to start with, more than a page).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplatesParams {
    pub cursor: Option<String>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub category: Option<clowder_schemas::templates::TemplateCategory>,
    #[serde(default, deserialize_with = "blank_as_none")]
    pub channel: Option<clowder_schemas::messages::Channel>,
}

/// A form's empty choice ("Any") as no filter.
fn blank_as_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    use serde::Deserialize;
    let raw = Option::<String>::deserialize(d)?;
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => T::deserialize(serde::de::value::StrDeserializer::<D::Error>::new(v)).map(Some),
    }
}

/// `/messages/templates`: every template.
pub async fn templates(
    State(state): State<AppState>,
    staff: Staff,
    q: Result<Query<TemplatesParams>, ApiError>,
) -> Response {
    let nav = Nav::of(&staff, Section::Messages);
    page(
        nav.clone(),
        async {
            let Query(q) = q?;
            let after = PageRequest::parse(None, q.cursor.as_deref())?.after;
            let filter = TemplateFilter { category: q.category, channel: q.channel, active: None };
            let (items, next) = state.system.templates.list(&filter, after, PAGE_SIZE, &staff.caller).await?;
            let category = q.category.map(|c| <&'static str>::from(c).to_owned()).unwrap_or_default();
            let channel = q.channel.map(|c| c.as_str().to_owned()).unwrap_or_default();
            let next_href = next.map(|k| {
                format!("/messages/templates?category={category}&channel={channel}&cursor={}", Cursor(k).encode())
            });
            let view = TemplatesPage {
                nav,
                tabs: Tabs::of(&staff, "templates"),
                rows: items.iter().map(TemplateRow::of).collect(),
                next_href,
                categories: clowder_schemas::templates::TemplateCategory::ALL
                    .into_iter()
                    .map(|c| (<&'static str>::from(c).to_owned(), crate::views::comms::category_label(c)))
                    .collect(),
                category,
                channel,
            };
            Ok(render(StatusCode::OK, &view))
        }
        .await,
    )
}

/// `/messages/templates/{id}`: the template editor (saving shows when the PATCH would answer).
pub async fn template(State(state): State<AppState>, staff: Staff, id: Result<Id<TemplateId>, ApiError>) -> Response {
    let nav = Nav::of(&staff, Section::Messages);
    page(
        nav.clone(),
        async {
            let Id(id) = id?;
            let t = state.system.templates.get(id, &staff.caller).await?;
            let can_save = granted_on(&staff, &Method::PATCH, "/api/templates/{id}").is_some();
            let view = TemplateEditorPage::new(nav, Tabs::of(&staff, "templates"), &t, can_save, &clinic_tz(&state));
            Ok(render(StatusCode::OK, &view))
        }
        .await,
    )
}

/// The query of the bulk sender.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkParams {
    /// A batch whose progress to show.
    pub batch: Option<String>,
}

/// Batches listed on the bulk sender.
const RECENT_BATCHES: usize = 10;

/// `/messages/bulk`: the bulk sender (`comms.js` posts the batch and follows its progress)
/// with the newest batches.
pub async fn bulk(State(state): State<AppState>, staff: Staff, q: Result<Query<BulkParams>, ApiError>) -> Response {
    let nav = Nav::of(&staff, Section::Messages);
    page(
        nav.clone(),
        async {
            let Query(q) = q?;
            let follow = match q.batch.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
                None => None,
                Some(b) => Some(
                    b.parse::<BatchId>().map_err(|_| ValidationError::new("batch", "must be a batch id"))?.to_string(),
                ),
            };
            let templates = template_choices(&state, &staff, true).await?;
            let tz = clinic_tz(&state);
            let recent = state.system.batches.recent(RECENT_BATCHES)?.iter().map(|b| BatchRow::of(b, &tz)).collect();
            // The segment choice shows when `GET /api/segments` would answer.
            let segments = match granted_on(&staff, &Method::GET, "/api/segments") {
                None => Vec::new(),
                Some(_) => state.system.segments.list(200)?.into_iter().map(|s| (s.id.to_string(), s.name)).collect(),
            };
            let tabs = Tabs::of(&staff, "bulk");
            Ok(render(StatusCode::OK, &BulkPage { nav, tabs, templates, segments, follow, recent }))
        }
        .await,
    )
}

/// `/messages/dashboard`: the delivery dashboard over `GET /api/communications/stats`.
pub async fn dashboard(
    State(state): State<AppState>,
    staff: Staff,
    q: Result<Query<StatsQuery>, ApiError>,
) -> Response {
    let nav = Nav::of(&staff, Section::Messages);
    page(
        nav.clone(),
        async {
            let Query(q) = q?;
            let (from, to) = stats_range(&state, &q)?;
            let stats = state.system.comms_log.stats(from, to)?;
            Ok(render(StatusCode::OK, &DashboardPage::new(nav, Tabs::of(&staff, "dashboard"), &stats)))
        }
        .await,
    )
}

/// The query of the jobs page.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsParams {
    pub state: Option<String>,
    pub cursor: Option<String>,
}

/// `/jobs`: the jobs admin page over `GET /api/jobs`; `comms.js` calls retry and cancel.
pub async fn jobs(State(state): State<AppState>, staff: Staff, q: Result<Query<JobsParams>, ApiError>) -> Response {
    let nav = Nav::of(&staff, Section::Jobs);
    page(
        nav.clone(),
        async {
            let Query(q) = q?;
            let wanted = q.state.as_deref().map(str::trim).unwrap_or("").to_owned();
            let job_state = match wanted.as_str() {
                "" => None,
                s => Some(JobState::parse(s).ok_or_else(|| {
                    ValidationError::new("state", "must be queued, running, succeeded, failed, dead or cancelled")
                })?),
            };
            let after = PageRequest::parse(None, q.cursor.as_deref())?.after;
            let filter = JobFilter { state: job_state, ..JobFilter::default() };
            let (items, next) = state.system.jobs.list(&filter, PAGE_SIZE, after, &staff.caller).await?;
            let tz = clinic_tz(&state);
            let href = |cursor: Option<String>| {
                let mut q = form_urlencoded::Serializer::new(String::new());
                if !wanted.is_empty() {
                    q.append_pair("state", &wanted);
                }
                if let Some(c) = cursor {
                    q.append_pair("cursor", &c);
                }
                let q = q.finish();
                if q.is_empty() { "/jobs".to_owned() } else { format!("/jobs?{q}") }
            };
            let view = JobsPage {
                nav,
                rows: items.iter().map(|j| JobRow::of(j, &tz)).collect(),
                next_href: next.map(|k| href(Some(Cursor(k).encode()))),
                first_href: q.cursor.as_ref().map(|_| href(None)),
                state: wanted.clone(),
                states: &comms::JOB_STATES,
            };
            Ok(render(StatusCode::OK, &view))
        }
        .await,
    )
}

/// The query of a marketing list: where its page starts.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CursorParams {
    pub cursor: Option<String>,
}

/// Segments or campaigns per page.
const MARKETING_PAGE: usize = PAGE_SIZE;

/// Clients named on a segment's page.
const SEGMENT_PREVIEW: usize = 20;

/// `/messages/segments`: the saved segments with how many clients each holds now.
pub async fn segments(
    State(state): State<AppState>,
    staff: Staff,
    q: Result<Query<CursorParams>, ApiError>,
) -> Response {
    let nav = Nav::of(&staff, Section::Messages);
    page(
        nav.clone(),
        async {
            let Query(q) = q?;
            let before = PageRequest::parse(None, q.cursor.as_deref())?.after;
            let (items, next) = state.system.segments.page(before, MARKETING_PAGE)?;
            let sizes = state.system.segments.sizes(&items)?;
            let tz = clinic_tz(&state);
            let next = next.map(|k| Cursor(k).encode());
            let view = SegmentsPage {
                nav,
                tabs: Tabs::of(&staff, "segments"),
                rows: items.iter().zip(sizes).map(|(s, n)| SegmentRow::of(s, n, &tz)).collect(),
                pager: Pager::new("/messages/segments", q.cursor.as_deref(), next.as_deref()),
            };
            Ok(render(StatusCode::OK, &view))
        }
        .await,
    )
}

/// `/messages/segments/{id}`: a segment's rules and its first clients, read like
/// `GET /api/segments/{id}/preview` (audited, with the clients shown).
pub async fn segment(State(state): State<AppState>, staff: Staff, id: Result<Id<SegmentId>, ApiError>) -> Response {
    let nav = Nav::of(&staff, Section::Messages);
    page(
        nav.clone(),
        async {
            let Id(id) = id?;
            let s = state.system.segments.get(id)?;
            let (types, locations) = state.system.segments.names(&s.filter)?;
            let preview = state.system.segments.preview(id, SEGMENT_PREVIEW, &staff.caller).await?;
            let rules = segment_rules(&s.filter, &types, &locations);
            let tabs = Tabs::of(&staff, "segments");
            Ok(render(StatusCode::OK, &SegmentPage::new(nav, tabs, &s, rules, &preview, &clinic_tz(&state))))
        }
        .await,
    )
}

/// `/messages/campaigns`: the campaigns with their state, schedule and counts.
pub async fn campaigns(
    State(state): State<AppState>,
    staff: Staff,
    q: Result<Query<CursorParams>, ApiError>,
) -> Response {
    let nav = Nav::of(&staff, Section::Messages);
    page(
        nav.clone(),
        async {
            let Query(q) = q?;
            let before = PageRequest::parse(None, q.cursor.as_deref())?.after;
            let (items, next) = state.system.campaigns.page(before, MARKETING_PAGE)?;
            let tz = clinic_tz(&state);
            let next = next.map(|k| Cursor(k).encode());
            let view = CampaignsPage {
                nav,
                tabs: Tabs::of(&staff, "campaigns"),
                rows: items.iter().map(|c| CampaignRow::of(c, &tz)).collect(),
                pager: Pager::new("/messages/campaigns", q.cursor.as_deref(), next.as_deref()),
            };
            Ok(render(StatusCode::OK, &view))
        }
        .await,
    )
}

/// `/messages/campaigns/{id}`: progress and results, and the buttons the campaign's state
/// and the caller's grants allow (`comms.js` posts them to the campaign API).
pub async fn campaign(State(state): State<AppState>, staff: Staff, id: Result<Id<CampaignId>, ApiError>) -> Response {
    let nav = Nav::of(&staff, Section::Messages);
    page(
        nav.clone(),
        async {
            let Id(id) = id?;
            let c = state.system.campaigns.get(id)?;
            let template = state.system.templates.peek(c.template_id).map_or_else(
                |_| "(deleted template)".to_owned(),
                |t| format!("{} ({})", t.content.name, comms::channel_label(t.channel)),
            );
            let segment = state.system.segments.get(c.segment_id).map_or_else(|_| c.segment_id.to_string(), |s| s.name);
            let actions = CampaignActions::of(c.state, |path| granted_on(&staff, &Method::POST, path).is_some());
            let tabs = Tabs::of(&staff, "campaigns");
            Ok(render(
                StatusCode::OK,
                &CampaignPage::new(nav, tabs, &c, template, segment, actions, &clinic_tz(&state)),
            ))
        }
        .await,
    )
}

/// The query of the analytics page: a range of local days.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsPageParams {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// `/messages/analytics`: the report of `GET /api/communications/analytics` over the range
/// chosen (default the last 30 days in the clinic's zone). A range the report refuses
/// answers 422 with the form as typed and why, so it can be corrected in place.
pub async fn analytics(
    State(state): State<AppState>,
    staff: Staff,
    q: Result<Query<AnalyticsPageParams>, ApiError>,
) -> Response {
    let nav = Nav::of(&staff, Section::Messages);
    page(
        nav.clone(),
        async {
            let Query(q) = q?;
            let tabs = Tabs::of(&staff, "analytics");
            let analytics = &state.system.analytics;
            let parsed = clowder_schemas::analytics::AnalyticsQuery::parse(
                q.from.as_deref(),
                q.to.as_deref(),
                None,
                None,
                None,
                analytics.today(),
            );
            let query = match parsed {
                Ok(query) => query,
                Err(e) => {
                    let label = if e.field == "from" { "From" } else { "To" };
                    let why = format!("{label}: {}", e.message);
                    let text = |v: &Option<String>| v.as_deref().unwrap_or("").trim().to_owned();
                    let view = AnalyticsPage::refused(nav, tabs, text(&q.from), text(&q.to), why);
                    return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &view));
                }
            };
            let report = analytics.report(&query)?;
            Ok(render(StatusCode::OK, &AnalyticsPage::new(nav, tabs, &report)))
        }
        .await,
    )
}

// ---- estimates, payment plans and financial reports (issue 16's screens) ----

/// Rows of the estimate-vs-actual summary on `/reports`.
pub const REPORT_ESTIMATES: usize = 20;

/// Whether `"METHOD /path/template"` would answer `staff`.
fn may(staff: &Staff, route: &str) -> bool {
    let Some((method, path)) = route.split_once(' ') else { return false };
    Method::from_bytes(method.as_bytes()).is_ok_and(|m| granted_on(staff, &m, path).is_some())
}

/// A query's id, blank meaning none; a malformed one is 422 naming the field.
fn query_id<T: std::str::FromStr>(field: &str, value: Option<&str>) -> Result<Option<T>, ApiError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| ValidationError::new(field, "is not a valid id").into()),
    }
}

/// A query's date (`YYYY-MM-DD`), blank meaning none.
fn query_date(field: &str, value: Option<&str>) -> Result<Option<jiff::civil::Date>, ApiError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| ValidationError::new(field, "is not a date (YYYY-MM-DD)").into()),
    }
}

/// A client's and a cat's names for a screen (peeked: the screen's own read is audited).
fn names(state: &AppState, client: ClientId, cat: PatientId) -> (String, String) {
    let client = state.system.clients.peek(client).map_or_else(|_| client.to_string(), |c| c.display_name());
    let cat = state.system.patients.peek(cat).map_or_else(|_| cat.to_string(), |p| p.name);
    (client, cat)
}

/// The query of `/estimates`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EstimatesParams {
    pub status: Option<String>,
    pub client_id: Option<String>,
    pub cursor: Option<String>,
}

/// `/estimates`: estimates newest first, by status and client, a page at a time; the
/// results alone to `HX-Request`. Reads like `GET /api/estimates` (audited as a list).
pub async fn estimates(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    q: Result<Query<EstimatesParams>, ApiError>,
) -> Response {
    use crate::views::estimates::{EstimateRow, EstimatesFragment, EstimatesPage, EstimatesResults, STATUSES};
    let nav = Nav::of(&staff, Section::Estimates);
    page(
        nav.clone(),
        async {
            let Query(q) = q?;
            let status_text = q.status.as_deref().map(str::trim).unwrap_or("").to_owned();
            let status = match status_text.as_str() {
                "" => None,
                s if STATUSES.iter().any(|(v, _)| *v == s) => Some(
                    serde_json::from_value(serde_json::Value::String(s.to_owned()))
                        .map_err(|_| ApiError::from(ValidationError::new("status", "is not an estimate status")))?,
                ),
                _ => {
                    let values: Vec<&str> = STATUSES.iter().skip(1).map(|(v, _)| *v).collect();
                    return Err(ValidationError::new("status", format!("must be one of {}", values.join(", "))).into());
                }
            };
            let client: Option<ClientId> = query_id("client_id", q.client_id.as_deref())?;
            let after = PageRequest::parse(None, q.cursor.as_deref())?.after;
            let filter = clowder_actors::billing::estimates::EstimateFilter { client_id: client, status };
            let (items, next) = state.system.estimates.list(&filter, after, PAGE_SIZE, &staff.caller).await?;
            let tz = clinic_tz(&state);
            let rows = items
                .iter()
                .map(|e| {
                    let (c, cat) = names(&state, e.client_id, e.patient_id);
                    EstimateRow::of(e, c, cat, &tz)
                })
                .collect();
            let href = |cursor: Option<&str>| {
                let mut params = Vec::new();
                if !status_text.is_empty() {
                    params.push(format!("status={status_text}"));
                }
                if let Some(c) = client {
                    params.push(format!("client_id={c}"));
                }
                if let Some(c) = cursor {
                    params.push(format!("cursor={c}"));
                }
                if params.is_empty() { "/estimates".to_owned() } else { format!("/estimates?{}", params.join("&")) }
            };
            let results = EstimatesResults {
                rows,
                next: next.map(|k| href(Some(&Cursor(k).encode()))),
                first: q.cursor.as_ref().map(|_| href(None)),
            };
            if wants_fragment(&headers) {
                return Ok(render(StatusCode::OK, &EstimatesFragment { results }));
            }
            let client_name = client.and_then(|c| state.system.clients.peek(c).ok()).map(|c| c.display_name());
            let view = EstimatesPage {
                nav,
                status: status_text.clone(),
                client_id: client.map(|c| c.to_string()).unwrap_or_default(),
                client_name,
                results,
            };
            Ok(render(StatusCode::OK, &view))
        }
        .await,
    )
}

/// The query of `/estimates/new`: the cat, or the visit whose cat it is.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEstimateParams {
    pub patient_id: Option<String>,
    pub visit_id: Option<String>,
}

/// `/estimates/new?patient_id=` or `?visit_id=`: the form starting a draft for that cat
/// (`invoices:create`); `estimates.js` posts it to `POST /api/estimates` and opens the draft.
pub async fn estimate_new(
    State(state): State<AppState>,
    staff: Staff,
    q: Result<Query<NewEstimateParams>, ApiError>,
) -> Response {
    let nav = Nav::of(&staff, Section::Estimates);
    page(
        nav.clone(),
        async {
            let Query(q) = q?;
            let visit: Option<clowder_schemas::ids::VisitId> = query_id("visit_id", q.visit_id.as_deref())?;
            let mut patient: Option<PatientId> = query_id("patient_id", q.patient_id.as_deref())?;
            if let Some(v) = visit {
                let v = state.system.visits.peek(v).map_err(ApiError::from)?;
                patient = Some(v.patient_id);
            }
            let Some(pid) = patient else {
                return Err(
                    ValidationError::new("patient_id", "is required (or visit_id): an estimate is for a cat").into()
                );
            };
            let cat = state.system.patients.peek(pid).map_err(ApiError::from)?;
            let client = state.system.clients.peek(cat.client_id).map_or_else(|_| String::new(), |c| c.display_name());
            let view = crate::views::estimates::NewEstimatePage {
                nav,
                client_id: cat.client_id.to_string(),
                client,
                patient_id: pid.to_string(),
                cat: cat.name.clone(),
                visit_id: visit.map(|v| v.to_string()).unwrap_or_default(),
                locations: state
                    .system
                    .scheduling
                    .setup
                    .locations(false)
                    .into_iter()
                    .map(|l| (l.id.to_string(), l.name))
                    .collect(),
            };
            Ok(render(StatusCode::OK, &view))
        }
        .await,
    )
}

/// `/estimates/{id}`: a draft's editor or a sent estimate's answers, with what the caller may
/// do; the body alone to `HX-Request`. Reads like `GET /api/estimates/{id}` (audited).
pub async fn estimate(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    id: Result<Id<clowder_schemas::ids::EstimateId>, ApiError>,
) -> Response {
    use crate::views::estimates::{EstimateActions, EstimateBody, EstimateFragment, EstimatePage};
    let nav = Nav::of(&staff, Section::Estimates);
    page(
        nav.clone(),
        async {
            let Id(id) = id?;
            let e = state.system.estimates.get(id, &staff.caller).await?;
            let actions = EstimateActions::of(&e, |r| may(&staff, r));
            // The editor offers the price list as `GET /api/catalogue` would show it.
            let (client, cat) = names(&state, e.client_id, e.patient_id);
            let b = EstimateBody::new(&e, client, cat, actions);
            if wants_fragment(&headers) {
                return Ok(render(StatusCode::OK, &EstimateFragment { b }));
            }
            Ok(render(StatusCode::OK, &EstimatePage { nav, b }))
        }
        .await,
    )
}

/// `/payment-plans/{id}`: a plan's terms, schedule, progress and revisions, and the modify
/// and cancel forms for who may (`payments:edit`); the body alone to `HX-Request`. Reads like
/// `GET /api/payment-plans/{id}` (audited).
pub async fn payment_plan(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    id: Result<Id<clowder_schemas::ids::PaymentPlanId>, ApiError>,
) -> Response {
    use crate::views::estimates::{PlanBody, PlanFragment, PlanPage};
    let nav = Nav::of(&staff, Section::None);
    page(
        nav.clone(),
        async {
            let Id(id) = id?;
            let p = state.system.plans.get(id, &staff.caller).await?;
            let invoice = state
                .system
                .invoices
                .records()
                .peek(p.invoice_id)
                .ok()
                .and_then(|i| i.number)
                .unwrap_or_else(|| p.invoice_id.to_string());
            let client = state.system.clients.peek(p.client_id).map_or_else(|_| String::new(), |c| c.display_name());
            let users = user_names(&state, p.revisions.iter().filter_map(|r| r.replaced_by)).await;
            let name = |u: Option<clowder_schemas::UserId>| u.and_then(|u| users.get(&u).cloned()).unwrap_or_default();
            let may_change = may(&staff, "PATCH /api/payment-plans/{id}");
            let b = PlanBody::new(&p, invoice, client, may_change, name, &clinic_tz(&state));
            if wants_fragment(&headers) {
                return Ok(render(StatusCode::OK, &PlanFragment { b }));
            }
            Ok(render(StatusCode::OK, &PlanPage { nav, b }))
        }
        .await,
    )
}

/// The query of `/payment-plans/new`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPlanParams {
    pub invoice_id: Option<String>,
}

/// `/payment-plans/new?invoice_id=`: the form agreeing a plan for an issued invoice with a
/// balance (`payments:create`), or why none can be made; the invoice's plans are linked.
/// Reads like `GET /api/invoices/{id}` and `GET /api/invoices/{id}/payment-plans` (audited).
pub async fn payment_plan_new(
    State(state): State<AppState>,
    staff: Staff,
    q: Result<Query<NewPlanParams>, ApiError>,
) -> Response {
    use clowder_schemas::invoices::InvoiceStatus;
    use clowder_schemas::payment_plans::PlanStatus;
    let nav = Nav::of(&staff, Section::None);
    page(
        nav.clone(),
        async {
            let Query(q) = q?;
            let Some(invoice_id) = query_id::<clowder_schemas::ids::InvoiceId>("invoice_id", q.invoice_id.as_deref())?
            else {
                return Err(ValidationError::new("invoice_id", "is required: a plan is for an invoice").into());
            };
            let inv = state.system.invoices.get(invoice_id, &staff.caller).await?;
            let plans = state.system.plans.of_invoice(invoice_id, &staff.caller).await?;
            let open =
                matches!(inv.status, InvoiceStatus::Issued | InvoiceStatus::PartiallyPaid | InvoiceStatus::Overdue);
            let refused = if !open {
                Some(format!(
                    "This invoice is {}: a plan is made for an issued invoice with a balance.",
                    inv.status.as_str().replace('_', " ")
                ))
            } else if !inv.balance.is_positive() {
                Some("Nothing is owed on this invoice.".to_owned())
            } else if plans.iter().any(|p| p.status == PlanStatus::Active) {
                Some("A plan is already active for this invoice: modify it instead.".to_owned())
            } else {
                None
            };
            let links = plans
                .iter()
                .map(|p| crate::views::estimates::PlanLink {
                    href: format!("/payment-plans/{}", p.id),
                    text: format!(
                        "{} plan of {} from {}",
                        crate::views::estimates::plan_status(p.status),
                        p.total,
                        p.terms.start_date
                    ),
                })
                .collect();
            let view = crate::views::estimates::NewPlanPage {
                nav,
                invoice_id: invoice_id.to_string(),
                invoice: inv.number.clone().unwrap_or_else(|| "Draft invoice".to_owned()),
                invoice_href: format!("/invoices/{invoice_id}"),
                client: state.system.clients.peek(inv.client_id).map_or_else(|_| String::new(), |c| c.display_name()),
                balance: inv.balance.to_string(),
                refused,
                plans: links,
                today: state.system.ctx.today().to_string(),
            };
            Ok(render(StatusCode::OK, &view))
        }
        .await,
    )
}

/// The query of `/reports`: the revenue range and grouping, the ageing day and page.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportsParams {
    pub from: Option<String>,
    pub to: Option<String>,
    pub by: Option<String>,
    pub as_of: Option<String>,
    /// Only this location's invoices (blank: the whole clinic).
    pub location: Option<String>,
    pub cursor: Option<String>,
}

/// `/reports`: revenue by period and category (default the last twelve months by month),
/// AR ageing as of a day (default today) with a page of clients, and the estimate-vs-actual
/// summary when the caller may read it. Reads like the report routes (each audited).
pub async fn reports(
    State(state): State<AppState>,
    staff: Staff,
    q: Result<Query<ReportsParams>, ApiError>,
) -> Response {
    use crate::views::reports::{AgeingView, ReportForm, ReportsPage, RevenueView, VsView};
    use clowder_schemas::reports::{AgeingQuery, Period, RevenueQuery};
    let nav = Nav::of(&staff, Section::Reports);
    page(
        nav.clone(),
        async {
            let Query(q) = q?;
            let today = state.system.ctx.today();
            let (by, by_text) = match q.by.as_deref().map(str::trim) {
                None | Some("") | Some("month") => (Period::Month, "month"),
                Some("week") => (Period::Week, "week"),
                Some("day") => (Period::Day, "day"),
                Some(_) => return Err(ValidationError::new("by", "must be day, week or month").into()),
            };
            let to = query_date("to", q.to.as_deref())?.unwrap_or(today);
            let default_from = match by {
                Period::Month => to.first_of_month().checked_sub(jiff::Span::new().months(11)).unwrap_or(to),
                Period::Week => Period::Week.start(to).checked_sub(jiff::Span::new().weeks(11)).unwrap_or(to),
                Period::Day => to.checked_sub(jiff::Span::new().days(29)).unwrap_or(to),
            };
            let from = query_date("from", q.from.as_deref())?.unwrap_or(default_from);
            let as_of = query_date("as_of", q.as_of.as_deref())?.unwrap_or(today);
            let location: Option<clowder_schemas::LocationId> = query_id("location", q.location.as_deref())?;
            let rq = RevenueQuery { from, to, by: Some(by), location };
            let checked = rq.check()?;
            let revenue = state.system.reports.revenue(&rq, checked, &staff.caller).await?;
            let aq = AgeingQuery {
                as_of: Some(as_of),
                location,
                limit: Some(PAGE_SIZE as i64),
                cursor: q.cursor.clone().filter(|c| !c.is_empty()),
            };
            let ageing = state.system.reports.ageing(&aq, &staff.caller).await?;
            let vs = if may(&staff, "GET /api/estimates/report") {
                let (r, _) = state.system.estimates.report(None, None, REPORT_ESTIMATES, &staff.caller).await?;
                Some(VsView::new(&r))
            } else {
                None
            };
            let locations = state.system.scheduling.setup.locations(false);
            let form = ReportForm {
                from: from.to_string(),
                to: to.to_string(),
                by: by_text,
                as_of: as_of.to_string(),
                location: location.map(|l| l.to_string()).unwrap_or_default(),
                locations: locations.into_iter().map(|l| (l.id.to_string(), l.name)).collect(),
            };
            let page_href = |cursor: Option<&str>| {
                let base = format!(
                    "/reports?from={}&to={}&by={}&as_of={}&location={}",
                    form.from, form.to, form.by, form.as_of, form.location
                );
                match cursor {
                    Some(c) => format!("{base}&cursor={c}"),
                    None => base,
                }
            };
            let ageing = AgeingView::new(&ageing, page_href, aq.cursor.is_none());
            let accounting = may(&staff, "GET /accounting");
            let view = ReportsPage { nav, revenue: RevenueView::new(&revenue), ageing, vs, form, accounting };
            Ok(render(StatusCode::OK, &view))
        }
        .await,
    )
}

// ---- billing ----

/// The query of the invoices list: status, client, a range of days (issue date, or the day
/// a draft was started), where the page starts.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvoicesParams {
    pub status: Option<String>,
    pub client: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub cursor: Option<String>,
}

/// The list's filter from its query, or why it is refused (the form as typed beside it).
fn invoices_filter(
    state: &AppState,
    q: &InvoicesParams,
) -> (InvoiceForm, Result<(InvoiceFilter, DayRange), ValidationError>) {
    let text = |v: &Option<String>| v.as_deref().unwrap_or("").trim().to_owned();
    let mut form = InvoiceForm {
        status: text(&q.status),
        client: text(&q.client),
        from: text(&q.from),
        to: text(&q.to),
        ..Default::default()
    };
    let parsed = (|| {
        let status = match form.status.as_str() {
            "" => None,
            s => Some(serde_json::from_value::<InvoiceStatus>(serde_json::Value::String(s.to_owned())).map_err(
                |_| ValidationError::new("status", "must be draft, issued, partially_paid, paid, overdue or void"),
            )?),
        };
        let client_id = match form.client.as_str() {
            "" => None,
            c => {
                let id = c.parse::<ClientId>().map_err(|_| ValidationError::new("client", "must be a client's id"))?;
                let client = state
                    .system
                    .clients
                    .peek(id)
                    .map_err(|_| ValidationError::new("client", "no client has this id"))?;
                form.client_name = client.display_name();
                Some(id)
            }
        };
        let day = |field: &'static str, v: &str| -> Result<Option<jiff::civil::Date>, ValidationError> {
            if v.is_empty() {
                return Ok(None);
            }
            v.parse().map(Some).map_err(|_| ValidationError::new(field, "must be a date (YYYY-MM-DD)"))
        };
        let days = DayRange { from: day("from", &form.from)?, to: day("to", &form.to)? };
        if let (Some(f), Some(t)) = (days.from, days.to)
            && f > t
        {
            return Err(ValidationError::new("to", "must not be before From"));
        }
        Ok((InvoiceFilter { client_id, visit_id: None, status }, days))
    })();
    (form, parsed)
}

/// Names of clients and cats for a list of invoices, each read once (unaudited peeks: the
/// list's audit entry names the invoices shown).
fn invoice_rows(state: &AppState, items: &[Invoice]) -> Vec<InvoiceRow> {
    let tz = clinic_tz(state);
    let mut clients: HashMap<ClientId, String> = HashMap::new();
    let mut cats: HashMap<PatientId, String> = HashMap::new();
    items
        .iter()
        .map(|i| {
            let client = clients
                .entry(i.client_id)
                .or_insert_with(|| state.system.clients.peek(i.client_id).map(|c| c.display_name()).unwrap_or_default())
                .clone();
            let cat = i
                .patient_id
                .map(|p| {
                    cats.entry(p)
                        .or_insert_with(|| state.system.patients.peek(p).map(|c| c.name).unwrap_or_default())
                        .clone()
                })
                .unwrap_or_default();
            InvoiceRow::of(i, client, cat, invoice_day(i, &tz))
        })
        .collect()
}

/// `/invoices`: every invoice, newest first, filtered by status, client and days; a
/// refused filter is a 422 page with the form as typed and why.
pub async fn invoices(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    q: Result<Query<InvoicesParams>, ApiError>,
) -> Response {
    let nav = Nav::of(&staff, Section::Billing);
    page(
        nav.clone(),
        async {
            let Query(q) = q?;
            let (form, parsed) = invoices_filter(&state, &q);
            let loyalty = granted_on(&staff, &Method::GET, "/loyalty").is_some();
            let (filter, days) = match parsed {
                Ok(f) => f,
                Err(e) => {
                    let view = InvoicesPage {
                        nav,
                        form,
                        statuses: &billing::STATUSES,
                        results: InvoiceRows::default(),
                        refused: Some(e.message),
                        loyalty,
                    };
                    return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &view));
                }
            };
            let after = PageRequest::parse(None, q.cursor.as_deref())?.after;
            let (items, next) = state.system.invoices.list_days(&filter, days, after, PAGE_SIZE, &staff.caller).await?;
            let results = InvoiceRows {
                rows: invoice_rows(&state, &items),
                first_href: q.cursor.as_ref().map(|_| form.href(None)),
                next_href: next.map(|k| form.href(Some(&Cursor(k).encode()))),
            };
            if wants_fragment(&headers) {
                return Ok(render(StatusCode::OK, &InvoiceResults { results }));
            }
            let view = InvoicesPage { nav, form, statuses: &billing::STATUSES, results, refused: None, loyalty };
            Ok(render(StatusCode::OK, &view))
        }
        .await,
    )
}

/// `/invoices/{id}`: the invoice builder, read like `GET /api/invoices/{id}` (audited). Each
/// action shows when the invoice's status allows it and its route would answer the caller;
/// `billing.js` posts it to the API and asks this address for the fragment (`HX-Request`).
pub async fn invoice(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    id: Result<Id<InvoiceId>, ApiError>,
) -> Response {
    let nav = Nav::of(&staff, Section::Billing);
    page(
        nav.clone(),
        async {
            let Id(id) = id?;
            let inv = state.system.invoices.get(id, &staff.caller).await?;
            let may = |m: Method, path: &str| granted_on(&staff, &m, path).is_some();
            let grants = billing::Grants {
                edit: may(Method::POST, "/api/invoices/{id}/issue"),
                pay: may(Method::POST, "/api/invoices/{id}/payments"),
                void: may(Method::POST, "/api/invoices/{id}/void"),
                print: may(Method::GET, "/api/payments/{id}/receipt.pdf"),
                email: may(Method::POST, "/api/payments/{id}/receipt/email"),
                plan: may(Method::GET, "/payment-plans/new"),
                apply_credit: may(Method::POST, "/api/invoices/{id}/apply-credit"),
                refund: may(Method::POST, "/api/payments/{id}/refunds"),
                redeem: may(Method::POST, "/api/invoices/{id}/loyalty/redeem"),
            };
            let mut body = InvoiceBody::new(&inv, InvoiceActions::of(&inv, grants), &clinic_tz(&state));
            // The client's credit and points are read as their own routes read them (audited),
            // and only when a form would use them.
            let wants_credit = body.actions.apply_credit || body.refunds_credit();
            if wants_credit && may(Method::GET, "/api/clients/{id}/credit") {
                let ledger = state.system.invoices.credit_ledger(inv.client_id, &staff.caller).await?;
                body = body.with_credit(ledger.credit, inv.balance).with_refundable_credit(ledger.credit);
            }
            if body.actions.redeem && may(Method::GET, "/api/clients/{id}/loyalty") {
                let settings = state.system.loyalty.settings()?;
                if settings.enabled {
                    let page = clowder_actors::billing::loyalty::HistoryPage { limit: Some(1), cursor: None };
                    let account = state.system.loyalty.account(inv.client_id, page, &staff.caller).await?;
                    body.points = Some(billing::PointsBox::of(&account, &settings, &inv));
                }
            }
            if wants_fragment(&headers) {
                return Ok(render(StatusCode::OK, &InvoiceFragment { body }));
            }
            let client = state.system.clients.peek(inv.client_id).map(|c| c.display_name()).unwrap_or_default();
            let account_href =
                may(Method::GET, "/clients/{id}/account").then(|| format!("/clients/{}/account", inv.client_id));
            let cat = inv.patient_id.and_then(|p| state.system.patients.peek(p).ok());
            // The cat's link shows when its page would open for this caller (an own scope too).
            let cat_href = cat.as_ref().and_then(|c| {
                granted_on(&staff, &Method::GET, "/patients/{id}")
                    .filter(|g| g.check(c.created_by).is_ok())
                    .map(|_| format!("/patients/{}", c.id))
            });
            let visit_href = inv.visit_id.filter(|_| may(Method::GET, "/visits/{id}")).map(|v| format!("/visits/{v}"));
            let view = InvoicePage {
                nav,
                client,
                account_href,
                cat: cat.map(|c| c.name).unwrap_or_default(),
                cat_href,
                visit_href,
                body,
            };
            Ok(render(StatusCode::OK, &view))
        }
        .await,
    )
}

/// `/loyalty`: the programme's rules as `GET /api/loyalty/settings` answers them (about no
/// person, so not audited), as a form `loyalty.js` sends whole to `PUT /api/loyalty/settings`.
pub async fn loyalty_settings(State(state): State<AppState>, staff: Staff) -> Response {
    let nav = Nav::of(&staff, Section::Billing);
    page(
        nav.clone(),
        async {
            let settings = state.system.loyalty.settings()?;
            let name =
                |id: &clowder_schemas::ids::CatalogueItemId| state.system.catalogue.peek(*id).ok().map(|i| i.name);
            let view = crate::views::loyalty::LoyaltySettingsPage::of(nav, &settings, name, &clinic_tz(&state));
            Ok(render(StatusCode::OK, &view))
        }
        .await,
    )
}

/// Invoices a page of the account's invoice list reads (newest first), also those whose
/// payments the page lists.
const ACCOUNT_INVOICES: usize = 200;

/// Invoices a page of the account's list shows, and payments the page shows.
const ACCOUNT_RECENT: usize = 10;

/// The query of the account page: `cursor`, a page of its invoices after the first.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountParams {
    pub cursor: Option<String>,
}

/// Every open invoice of a client, newest first, however old: read by status through the
/// client's invoices (each list audited as `GET /api/invoices` is).
async fn open_invoices(
    state: &AppState,
    id: ClientId,
    caller: &clowder_schemas::audit::Caller,
) -> Result<Vec<Invoice>, ApiError> {
    let mut open = Vec::new();
    for status in [InvoiceStatus::Issued, InvoiceStatus::PartiallyPaid, InvoiceStatus::Overdue] {
        let filter = InvoiceFilter { client_id: Some(id), status: Some(status), ..InvoiceFilter::default() };
        let mut after = None;
        loop {
            let (items, next) = state.system.invoices.list(&filter, after, ACCOUNT_INVOICES, caller).await?;
            open.extend(items);
            match next {
                Some(k) => after = Some(k),
                None => break,
            }
        }
    }
    // Ids are time-ordered: the newest first, as the list shows them.
    open.sort_by_key(|i| std::cmp::Reverse(i.id.as_u128()));
    Ok(open)
}

/// `/clients/{id}/account`: what the client owes and their credit (as
/// `GET /api/clients/{id}/balance`, audited), every open invoice and their invoices ten a
/// page with Older and Newest links (`?cursor=`; as `GET /api/clients/{id}/invoices`,
/// audited), payments and refunds (with `payments:view`), the payment plans of the invoices
/// shown, and the statement.
pub async fn account(
    State(state): State<AppState>,
    staff: Staff,
    id: Result<Id<ClientId>, ApiError>,
    q: Result<Query<AccountParams>, ApiError>,
) -> Response {
    let nav = Nav::of(&staff, Section::Billing);
    page(
        nav.clone(),
        async {
            let Id(id) = id?;
            let Query(q) = q?;
            let after = PageRequest::parse(None, q.cursor.as_deref())?.after;
            let client = state.system.clients.peek(id)?;
            let invoices = &state.system.invoices;
            let balance = invoices.balance(id, &staff.caller).await?;
            let filter = InvoiceFilter { client_id: Some(id), ..InvoiceFilter::default() };
            let (recent, older) = invoices.list(&filter, after, ACCOUNT_RECENT, &staff.caller).await?;
            let (items, _) = match after {
                None => invoices.list(&filter, None, ACCOUNT_INVOICES, &staff.caller).await?,
                Some(_) => (recent.clone(), None),
            };
            let tz = clinic_tz(&state);
            let open = open_invoices(&state, id, &staff.caller).await?;
            let payments = granted_on(&staff, &Method::GET, "/api/clients/{id}/credit").map(|_| {
                let mut rows: Vec<_> = items.iter().flat_map(|i| billing::money_rows(i, &tz)).collect();
                // Newest first; dates are days, so ties keep the invoices' order.
                rows.sort_by(|a, b| b.date.cmp(&a.date));
                rows.truncate(ACCOUNT_RECENT * 3);
                rows
            });
            let plans = match granted_on(&staff, &Method::GET, "/api/invoices/{id}/payment-plans") {
                None => None,
                Some(_) => {
                    let mut rows = Vec::new();
                    for i in open.iter().chain(recent.iter().filter(|i| !i.status.is_open())) {
                        let number = i.number.clone().unwrap_or_default();
                        for p in state.system.plans.of_invoice(i.id, &staff.caller).await? {
                            rows.push(PlanRow::of(&p, &number));
                        }
                    }
                    Some(rows)
                }
            };
            let view = AccountPage {
                nav,
                name: format!("{} {}", client.first_name, client.last_name),
                client_href: format!("/clients/{id}"),
                owed: billing::money(balance.balance),
                overdue: billing::money(balance.overdue),
                has_overdue: balance.overdue.is_positive(),
                open_count: balance.open_invoices,
                credit: billing::money(balance.credit),
                has_credit: balance.credit.is_positive(),
                open: invoice_rows(&state, &open),
                recent: invoice_rows(&state, &recent),
                older_href: older.map(|k| format!("/clients/{id}/account?cursor={}#recent-title", Cursor(k).encode())),
                newest_href: after.map(|_| format!("/clients/{id}/account#recent-title")),
                payments,
                plans,
                statement_href: format!("/api/clients/{id}/statement.pdf"),
                invoices_href: format!("/invoices?client={id}"),
                estimates_href: granted_on(&staff, &Method::GET, "/estimates")
                    .is_some()
                    .then(|| format!("/estimates?client_id={id}")),
            };
            Ok(render(StatusCode::OK, &view))
        }
        .await,
    )
}

/// `/treatment-plans/{id}`: a plan's steps on a timeline, progress, estimated and actual cost,
/// the done, skip, move, book and cancel forms for who may (`visits:edit`), and its history;
/// the body alone to `HX-Request`. Reads like `GET /api/treatment-plans/{id}` (audited).
pub async fn treatment_plan(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    id: Result<Id<clowder_schemas::ids::TreatmentPlanId>, ApiError>,
) -> Response {
    use crate::views::treatment_plans::{PlanBody, PlanFragment, PlanPage};
    let nav = Nav::of(&staff, Section::Cats);
    page(
        nav.clone(),
        async {
            let Id(id) = id?;
            let plan = state.system.treatment_plans.get(id, &staff.caller).await?;
            let v = super::protocols::view(&state, plan, &staff.caller).await?;
            let cat = state.system.patients.peek(v.plan.patient_id);
            let cat = cat.map_or_else(|_| v.plan.patient_id.to_string(), |p| p.name);
            let users = user_names(&state, v.plan.history.iter().filter_map(|r| r.by)).await;
            let tz = clinic_tz(&state);
            // A booked step shows when its appointment is, for who may read appointments.
            let read_appointments = may(&staff, "GET /api/appointments/{id}");
            let appointment = |a| {
                let a = read_appointments.then(|| state.system.scheduling.calendar.get(a).ok()).flatten()?;
                Some((a.start, a.status))
            };
            let b = PlanBody::new(
                &v,
                cat,
                may(&staff, "POST /api/treatment-plans/{id}/changes"),
                may(&staff, "POST /api/appointments"),
                |u| u.and_then(|u| users.get(&u).cloned()).unwrap_or_default(),
                |t| crate::views::visits::when(t, &tz),
                appointment,
            );
            if wants_fragment(&headers) {
                return Ok(render(StatusCode::OK, &PlanFragment { b }));
            }
            Ok(render(StatusCode::OK, &PlanPage { nav, b }))
        }
        .await,
    )
}

/// The cat page's treatment-plans block, for who may read plans (`GET
/// /api/patients/{id}/treatment-plans`, audited); "Apply a protocol" for who may apply one.
async fn patient_plans(
    state: &AppState,
    staff: &Staff,
    id: PatientId,
) -> Result<Option<crate::views::treatment_plans::PatientPlans>, ApiError> {
    if !may(staff, "GET /api/patients/{id}/treatment-plans") {
        return Ok(None);
    }
    let (plans, _) = state.system.treatment_plans.list_for_patient(id, None, 50, &staff.caller).await?;
    let can_apply = may(staff, "POST /api/treatment-plans") && may(staff, "GET /api/protocols");
    let protocols = if can_apply {
        let filter = clowder_actors::clinical::protocols::ProtocolFilter { active: Some(true) };
        state.system.protocols.list(&filter, None, 100, &staff.caller).await?.0
    } else {
        Vec::new()
    };
    let today = state.system.ctx.today().to_string();
    Ok(Some(crate::views::treatment_plans::PatientPlans::new(id.to_string(), &plans, &protocols, can_apply, today)))
}

/// How each of `users` is shown, the one rule for every page: their staff profile's name
/// ("Dr. Ana Lee"), else their account's display name, else (an id that resolves to neither)
/// the id itself. Each is read once.
pub(crate) async fn user_names(
    state: &AppState,
    users: impl Iterator<Item = clowder_schemas::UserId>,
) -> HashMap<clowder_schemas::UserId, String> {
    let mut names = HashMap::new();
    for u in users {
        if names.contains_key(&u) {
            continue;
        }
        let shown = match state.system.visits.profile_of(u) {
            Ok(Some(p)) => p.display_name(),
            _ => state.system.accounts.get(u).await.map_or_else(|_| u.to_string(), |a| a.display_name),
        };
        names.insert(u, shown);
    }
    names
}

/// Exports the accounting screen shows a page.
const EXPORTS_PAGE: usize = 25;

/// Catalogue items read for the category suggestions (a clinic's price list is a few hundred).
const CATEGORY_SCAN: usize = 2_000;

/// The query of `/accounting`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountingParams {
    /// The export a page of older ones starts below.
    before: Option<String>,
}

/// `/accounting`: the chart-of-accounts mapping (as `GET /api/accounting/mapping`), a new
/// export's form, and the exports made, newest first (as `GET /api/accounting/exports`,
/// audited), each with its file.
pub async fn accounting(
    State(state): State<AppState>,
    staff: Staff,
    q: Result<Query<AccountingParams>, ApiError>,
) -> Response {
    let nav = Nav::of(&staff, Section::Reports);
    page(
        nav.clone(),
        async {
            let Query(q) = q?;
            let before: Option<clowder_schemas::ids::AccountingExportId> =
                query_id("before", q.before.as_deref().filter(|b| !b.is_empty()))?;
            let accounting = &state.system.accounting;
            let mapping = accounting.mapping()?;
            let (exports, older) =
                accounting.list_newest_first(before.map(|b| b.as_u128()), EXPORTS_PAGE, &staff.caller).await?;
            // The proposal follows the newest export, whichever page is shown.
            let newest = if before.is_none() {
                exports.first().cloned()
            } else {
                accounting.list_newest_first(None, 1, &staff.caller).await?.0.into_iter().next()
            };
            let proposed = crate::views::accounting::proposed_range(newest.as_ref(), state.system.ctx.today());
            let (items, _) = state.system.catalogue.list_unaudited(&Default::default(), None, CATEGORY_SCAN)?;
            let mut categories: Vec<String> = items.into_iter().map(|i| i.category).collect();
            categories.sort();
            categories.dedup();
            let names = user_names(&state, exports.iter().filter_map(|e| e.created_by).chain(mapping.updated_by)).await;
            let view = crate::views::accounting::AccountingPage::of(
                nav,
                &mapping,
                categories,
                &exports,
                older,
                before.is_some(),
                &names,
                proposed,
                &clinic_tz(&state),
            );
            Ok(render(StatusCode::OK, &view))
        }
        .await,
    )
}
