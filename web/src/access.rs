//! Which permission each route needs: declared here, in one table, and enforced by the
//! `authorize` middleware for every matched route. A route missing from the table is
//! refused (deny by default); the authorization-matrix test walks the OpenAPI document and
//! fails on any route without a rule.

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use clowder_schemas::audit::{AuditDraft, Outcome};

use crate::error::ApiError;
use crate::extract::Staff;
use crate::state::AppState;

/// What a route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Anyone (sign-in, liveness, readiness, metrics).
    Public,
    /// Any signed-in staff member.
    SignedIn,
    /// A signed-in staff member holding this permission (any scope; handlers narrow `own`).
    Needs(&'static str),
}

use Rule::{Needs, Public, SignedIn};

/// Every route: method, path template, rule.
pub const ROUTES: &[(&str, &str, Rule)] = &[
    ("POST", "/api/auth/login", Public),
    ("POST", "/api/auth/logout", SignedIn),
    ("GET", "/api/auth/me", SignedIn),
    ("POST", "/api/auth/password", SignedIn),
    ("PUT", "/api/auth/pin", SignedIn),
    ("POST", "/api/auth/totp/enroll", SignedIn),
    ("POST", "/api/auth/totp/confirm", SignedIn),
    ("DELETE", "/api/auth/totp", SignedIn),
    // Authenticated by the tablet's credential and the user's PIN, in the handler.
    ("POST", "/api/auth/pin-unlock", Public),
    ("GET", "/api/devices", Needs("devices:manage")),
    ("POST", "/api/devices", Needs("devices:manage")),
    ("PATCH", "/api/devices/{id}", Needs("devices:manage")),
    ("GET", "/api/auth/sessions", SignedIn),
    ("DELETE", "/api/auth/sessions/{id}", SignedIn),
    ("GET", "/api/users", Needs("users:view")),
    ("POST", "/api/users", Needs("users:manage")),
    ("GET", "/api/users/{id}", Needs("users:view")),
    ("PATCH", "/api/users/{id}", Needs("users:manage")),
    ("POST", "/api/users/{id}/password", Needs("users:manage")),
    ("GET", "/api/users/{id}/sessions", Needs("sessions:manage")),
    ("DELETE", "/api/users/{id}/sessions", Needs("sessions:manage")),
    ("DELETE", "/api/sessions", Needs("sessions:manage")),
    ("GET", "/api/openapi.json", SignedIn),
    ("GET", "/api/permissions", Needs("roles:view")),
    ("GET", "/api/roles", Needs("roles:view")),
    ("POST", "/api/roles", Needs("roles:manage")),
    ("GET", "/api/roles/{id}", Needs("roles:view")),
    ("PATCH", "/api/roles/{id}", Needs("roles:manage")),
    ("GET", "/api/clients", Needs("clients:view")),
    ("POST", "/api/clients", Needs("clients:create")),
    ("GET", "/api/clients/{id}", Needs("clients:view")),
    ("PATCH", "/api/clients/{id}", Needs("clients:edit")),
    ("DELETE", "/api/clients/{id}", Needs("clients:delete")),
    ("GET", "/api/clients/{id}/patients", Needs("patients:view")),
    ("GET", "/api/patients", Needs("patients:view")),
    ("POST", "/api/patients", Needs("patients:create")),
    ("GET", "/api/patients/{id}", Needs("patients:view")),
    ("PATCH", "/api/patients/{id}", Needs("patients:edit")),
    ("DELETE", "/api/patients/{id}", Needs("patients:delete")),
    ("GET", "/api/audit", Needs("audit:view")),
    ("GET", "/api/appointment-types", Needs("appointments:view")),
    ("POST", "/api/appointment-types", Needs("scheduling:manage")),
    ("GET", "/api/appointment-types/{id}", Needs("appointments:view")),
    ("PATCH", "/api/appointment-types/{id}", Needs("scheduling:manage")),
    ("GET", "/api/locations", Needs("appointments:view")),
    ("POST", "/api/locations", Needs("scheduling:manage")),
    ("GET", "/api/locations/{id}", Needs("appointments:view")),
    ("PATCH", "/api/locations/{id}", Needs("scheduling:manage")),
    ("GET", "/api/rooms", Needs("appointments:view")),
    ("POST", "/api/rooms", Needs("scheduling:manage")),
    ("GET", "/api/rooms/{id}", Needs("appointments:view")),
    ("PATCH", "/api/rooms/{id}", Needs("scheduling:manage")),
    ("GET", "/api/rooms/board", Needs("appointments:view")),
    ("POST", "/api/rooms/{id}/state", Needs("appointments:edit")),
    ("GET", "/api/staff", Needs("appointments:view")),
    ("POST", "/api/staff", Needs("scheduling:manage")),
    ("GET", "/api/staff/{id}", Needs("appointments:view")),
    ("PATCH", "/api/staff/{id}", Needs("scheduling:manage")),
    ("GET", "/api/staff/{id}/shifts", Needs("appointments:view")),
    ("POST", "/api/staff/{id}/shifts", Needs("scheduling:manage")),
    ("PATCH", "/api/staff/{id}/shifts/{shift_id}", Needs("scheduling:manage")),
    ("DELETE", "/api/staff/{id}/shifts/{shift_id}", Needs("scheduling:manage")),
    ("GET", "/api/time-off", Needs("appointments:view")),
    // One's own request, or anyone's with scheduling:manage (checked in the handler).
    ("POST", "/api/time-off", SignedIn),
    ("POST", "/api/time-off/{id}/approve", Needs("scheduling:manage")),
    ("POST", "/api/time-off/{id}/deny", Needs("scheduling:manage")),
    ("POST", "/api/time-off/{id}/cancel", SignedIn),
    ("GET", "/api/appointments", Needs("appointments:view")),
    ("POST", "/api/appointments", Needs("appointments:create")),
    ("GET", "/api/appointments/{id}", Needs("appointments:view")),
    ("PATCH", "/api/appointments/{id}", Needs("appointments:edit")),
    // Cancelling also needs appointments:delete (checked in the handler).
    ("POST", "/api/appointments/{id}/transition", Needs("appointments:edit")),
    ("GET", "/api/calendar", Needs("appointments:view")),
    ("GET", "/api/availability", Needs("appointments:view")),
    ("GET", "/api/dashboard", Needs("appointments:view")),
    ("GET", "/api/appointments/{id}/ics", Needs("appointments:view")),
    // One's own feed, or anyone's with scheduling:manage (checked in the handler).
    ("POST", "/api/staff/{id}/feed", SignedIn),
    ("DELETE", "/api/staff/{id}/feed", SignedIn),
    // Authenticated by the unguessable token in the path, in the handler.
    ("GET", "/ical/{file}", Public),
    ("GET", "/api/waitlist", Needs("appointments:view")),
    ("POST", "/api/waitlist", Needs("appointments:create")),
    ("GET", "/api/waitlist/{id}", Needs("appointments:view")),
    ("PATCH", "/api/waitlist/{id}", Needs("appointments:edit")),
    ("DELETE", "/api/waitlist/{id}", Needs("appointments:delete")),
    ("GET", "/api/waitlist/matches/{appointment_id}", Needs("appointments:view")),
    ("POST", "/api/waitlist/{id}/fulfill", Needs("appointments:create")),
    ("GET", "/api/waitlist/offers", Needs("appointments:view")),
    ("POST", "/api/waitlist/offers/{id}/accept", Needs("appointments:create")),
    ("POST", "/api/waitlist/offers/{id}/decline", Needs("appointments:edit")),
    // Search narrows its kinds to those the caller may view (clients:view, patients:view) in
    // the handler; history and recently viewed are the caller's own.
    ("GET", "/api/search", SignedIn),
    ("GET", "/api/search/history", SignedIn),
    ("DELETE", "/api/search/history", SignedIn),
    ("GET", "/api/recent", SignedIn),
    // The live gateway; each topic's permission is checked on subscribe.
    ("GET", "/ws", SignedIn),
    // The staff screens (routes::pages::PAGE_ROUTES): without a session a browser is sent to
    // /signin, and a refusal is a 403 page. Their reads are audited like the API's.
    ("GET", "/board", Needs("appointments:view")),
    ("GET", "/clients", Needs("clients:view")),
    ("GET", "/clients/{id}", Needs("clients:view")),
    ("GET", "/patients", Needs("patients:view")),
    ("GET", "/patients/{id}", Needs("patients:view")),
    // No data of their own: the sign-in page, and the tablet (a kiosk that unlocks by PIN).
    ("GET", "/", Public),
    ("GET", "/signin", Public),
    ("GET", "/tablet", Public),
    ("GET", "/assets/{file}", Public),
    ("GET", "/health", Public),
    ("GET", "/health/ready", Public),
    ("GET", "/health/detailed", SignedIn),
    ("GET", "/metrics", Public),
];

/// The rule of a matched route; `None` if the table lacks it.
pub fn rule_for(method: &Method, path: &str) -> Option<Rule> {
    ROUTES.iter().find(|(m, p, _)| *p == path && *m == method.as_str()).map(|(_, _, r)| *r)
}

/// Enforces the table. Runs after the session gate, so `/api/` callers are signed in.
pub async fn authorize(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(path) = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned()) else {
        return next.run(req).await; // unknown route: the fallback answers 404
    };
    let method = req.method().clone();
    let rule = match rule_for(&method, &path) {
        Some(r) => r,
        // A method the route does not have: let the router answer 405.
        None if ROUTES.iter().any(|(_, p, _)| *p == path) => return next.run(req).await,
        None => {
            tracing::error!(%method, path, "route has no access rule; refusing");
            return ApiError::forbidden("(undeclared)").into_response();
        }
    };
    let permission = match rule {
        Public => return next.run(req).await,
        SignedIn => None,
        Needs(p) => Some(p),
    };
    // A staff screen answers a browser: a page to sign in or to say why not, never JSON.
    let page = crate::routes::pages::is_page(&path);
    let (mut parts, body) = req.into_parts();
    let staff = match parts.extensions.get::<Staff>().cloned() {
        Some(s) => s,
        None => match crate::extract::authenticate(&parts, &state) {
            Ok(s) => {
                parts.extensions.insert(s.clone());
                s
            }
            Err(_) if page => return to_signin(&parts),
            Err(e) => return e.into_response(),
        },
    };
    let refuse = |e: ApiError| {
        if page {
            crate::views::ErrorPage::answer(crate::views::Nav::of(&staff, crate::views::Section::None), e)
        } else {
            e.into_response()
        }
    };
    if let Err(e) = state.limits.request(staff.principal.session.id) {
        return refuse(e);
    }
    // Until a temporary password is replaced, only these routes answer.
    const WHILE_MUST_CHANGE: &[&str] = &["/api/auth/me", "/api/auth/password", "/api/auth/logout"];
    if staff.principal.user.must_change_password && !WHILE_MUST_CHANGE.contains(&path.as_str()) {
        return refuse(ApiError::new(
            clowder_schemas::ErrorCode::PasswordChangeRequired,
            "choose a new password first (POST /api/auth/password)",
        ));
    }
    // A role requires a second factor the user has not set up: only enrolment answers.
    const WHILE_MUST_ENROL: &[&str] =
        &["/api/auth/me", "/api/auth/logout", "/api/auth/totp/enroll", "/api/auth/totp/confirm", "/api/auth/password"];
    if staff.principal.totp_enrollment_required && !WHILE_MUST_ENROL.contains(&path.as_str()) {
        return refuse(ApiError::new(
            clowder_schemas::ErrorCode::TotpEnrollmentRequired,
            "your role requires an authenticator app: set it up first (POST /api/auth/totp/enroll)",
        ));
    }
    if let Some(p) = permission
        && staff.principal.permissions.scope(p).is_none()
    {
        let draft = AuditDraft::new(&staff.caller, "access.denied")
            .outcome(Outcome::Denied)
            .detail(serde_json::json!({ "permission": p, "method": method.as_str(), "route": path }));
        if let Err(e) = state.system.audit.record(draft).await {
            return refuse(ApiError::from(e));
        }
        return refuse(ApiError::forbidden(p));
    }
    next.run(Request::from_parts(parts, body)).await
}

/// A page asked for without a (valid) session: to the sign-in page, which comes back here.
fn to_signin(parts: &axum::http::request::Parts) -> Response {
    let back = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let next: String = form_urlencoded::byte_serialize(back.as_bytes()).collect();
    axum::response::Redirect::to(&format!("/signin?next={next}")).into_response()
}
