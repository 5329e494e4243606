//! The staff screens' view models: typed structs rendered by askama templates in
//! `web/templates/` (checked at compile time: a template that reads a missing field fails
//! `cargo build`). Labels, statuses and alert wording are decided here, once, in Rust; the
//! handlers in `routes/pages.rs` build these views from what the audited services return.
//! A view knows nothing of HTTP except how it is answered (`render`).

pub mod accounting;
pub mod billing;
pub mod board;
pub mod charts;
pub mod comms;
pub mod consents;
pub mod documents;
pub mod estimates;
pub mod inventory;
pub mod labs;
pub mod lists;
pub mod loyalty;
pub mod marketing;
pub mod protocols;
pub mod records;
pub mod reports;
pub mod tablet;
pub mod treatment_plans;
pub mod visits;
pub mod ward;

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use clowder_schemas::ErrorKind;

use crate::error::{ApiError, status_of};
use crate::extract::Staff;

/// The sections of the navigation bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Today,
    Clients,
    Cats,
    Messages,
    Jobs,
    /// A page of no section (an error page).
    None,
    Estimates,
    Reports,
    Billing,
    Inventory,
    Ward,
    Labs,
    Protocols,
}

/// The navigation bar every staff page shows: who is signed in, and the sections the
/// caller may open (a link to a page they would be refused is not shown).
#[derive(Debug, Clone)]
pub struct Nav {
    pub user: String,
    /// The current section's name ("today", "clients", "cats", "messages", "jobs",
    /// "billing", "inventory", "protocols" or ""), for `aria-current`.
    pub current: &'static str,
    pub today: bool,
    pub clients: bool,
    pub cats: bool,
    pub messages: bool,
    pub jobs: bool,
    pub estimates: bool,
    pub reports: bool,
    pub billing: bool,
    pub inventory: bool,
    pub ward: bool,
    pub labs: bool,
    pub protocols: bool,
}

impl Nav {
    /// The bar as `staff` sees it on a page of `current`.
    pub fn of(staff: &Staff, current: Section) -> Nav {
        // A link shows exactly when its page would answer.
        let holds = |path: &str| crate::access::granted_on(staff, &axum::http::Method::GET, path).is_some();
        Nav {
            user: staff.principal.user.display_name.clone(),
            current: match current {
                Section::Today => "today",
                Section::Clients => "clients",
                Section::Cats => "cats",
                Section::Messages => "messages",
                Section::Jobs => "jobs",
                Section::None => "",
                Section::Estimates => "estimates",
                Section::Reports => "reports",
                Section::Billing => "billing",
                Section::Inventory => "inventory",
                Section::Ward => "ward",
                Section::Labs => "labs",
                Section::Protocols => "protocols",
            },
            today: holds("/board"),
            clients: holds("/clients"),
            cats: holds("/patients"),
            messages: holds("/messages"),
            jobs: holds("/jobs"),
            estimates: holds("/estimates"),
            reports: holds("/reports"),
            billing: holds("/invoices"),
            inventory: holds("/inventory"),
            ward: holds("/wards"),
            labs: holds("/labs"),
            protocols: holds("/protocols"),
        }
    }
}

/// Renders a view as a complete answer: `status`, HTML, not cached (pages show personal
/// data), and `Vary: HX-Request` because one URL answers a whole page or a fragment.
pub fn render(status: StatusCode, view: &impl Template) -> Response {
    match view.render() {
        Ok(html) => {
            let mut res = (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
            let h = res.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::VARY, HeaderValue::from_static("HX-Request"));
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "a page failed to render");
            ApiError::new(clowder_schemas::ErrorCode::InternalError, "this page could not be shown; it has been logged")
                .into_response()
        }
    }
}

/// A page that could not be shown: not found, not allowed, bad filter, or our fault.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub nav: Nav,
    pub title: String,
    pub message: String,
}

impl ErrorPage {
    /// The friendly page for an error of the services or the access check, with its status.
    pub fn answer(nav: Nav, e: ApiError) -> Response {
        let kind = e.code.kind();
        let status = status_of(kind);
        if kind == ErrorKind::Internal {
            tracing::error!(code = ?e.code, message = %e.message, "a page failed");
        }
        let (title, message) = match kind {
            ErrorKind::NotFound => ("Not found".to_owned(), not_found_message(e.code)),
            ErrorKind::Forbidden if e.code != clowder_schemas::ErrorCode::Forbidden => {
                ("Not yet".to_owned(), e.message)
            }
            ErrorKind::Forbidden => (
                "Not allowed".to_owned(),
                "Your role does not let you open this page. Ask a practice manager if you need it.".to_owned(),
            ),
            ErrorKind::Invalid | ErrorKind::Malformed => ("Check the address".to_owned(), e.message),
            ErrorKind::Internal => (
                "Something went wrong".to_owned(),
                "Something went wrong on our side; it has been logged. Try again in a moment.".to_owned(),
            ),
            _ => ("This page could not be shown".to_owned(), e.message),
        };
        render(status, &ErrorPage { nav, title, message })
    }
}

fn not_found_message(code: clowder_schemas::ErrorCode) -> String {
    use clowder_schemas::ErrorCode::*;
    match code {
        ClientNotFound => "Client not found: no client has this address (it may have been mistyped).".to_owned(),
        PatientNotFound => "Cat not found: no cat has this address (it may have been mistyped).".to_owned(),
        _ => "Not found: nothing is at this address.".to_owned(),
    }
}

#[cfg(test)]
mod tests;
