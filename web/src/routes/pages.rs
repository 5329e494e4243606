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
use clowder_actors::people::clients::ClientFilter;
use clowder_actors::people::patients::PatientFilter;
use clowder_schemas::pagination::{Cursor, PageRequest};
use clowder_schemas::patients::PatientListQuery;
use clowder_schemas::search::SearchKind;
use clowder_schemas::{ClientId, PatientId, ValidationError};

use super::clients::name_fragment;
use super::patients::patient_filter;
use crate::access::{Granted, granted_on};
use crate::error::ApiError;
use crate::extract::{Id, Query, Staff};
use crate::state::AppState;
use crate::views::board::BoardPage;
use crate::views::lists::{Filter, ListKind, ListPage, ListResults, Results, Row};
use crate::views::records::{ClientPage, PatientPage, cat_link};
use crate::views::{ErrorPage, Nav, Section, render};

const SIGNIN: &str = include_str!("../pages/signin.html");
const TABLET: &str = include_str!("../pages/tablet.html");

/// Rows per page of a list screen.
pub const PAGE_SIZE: usize = 25;

/// The page routes (HTML for a browser): a request for one without a session is sent to
/// the sign-in page, and a refusal is a page, not JSON.
pub const PAGE_ROUTES: &[&str] = &["/board", "/clients", "/clients/{id}", "/patients", "/patients/{id}"];

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
            Ok(render(StatusCode::OK, &ClientPage::new(nav, &client, cats)))
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
            let patient = state.system.patients.get(id, &staff.caller).await?;
            state.system.search.viewed(&staff.caller, SearchKind::Patient, id.ulid()).await?;
            // The owner shows when `GET /api/clients/{id}` would answer for them.
            let owner = match granted_on(&staff, &Method::GET, "/api/clients/{id}") {
                Some(g) if g.check(state.system.clients.peek(patient.client_id)?.created_by).is_ok() => {
                    Some(state.system.clients.get(patient.client_id, &staff.caller).await?)
                }
                _ => None,
            };
            let today = state.system.ctx.today();
            Ok(render(StatusCode::OK, &PatientPage::new(nav, &patient, owner.as_ref(), today)))
        }
        .await,
    )
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
