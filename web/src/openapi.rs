//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations and
//! the `ToSchema` types in `schemas`. Routes are registered here together with their docs,
//! so a route cannot exist without being described.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::routes::{
    appointments, audit, auth, calendar_feeds, clients, devices, health, locations, patients, roles, scheduling,
    search, staff, users, waitlist,
};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Clowder",
        description = "Operations server of a feline veterinary clinic. Every error is `{\"error\": {\"code\", \"message\", \"field\"?}}`; codes are listed in docs/errors.md.",
    ),
    modifiers(&Security),
    security(("session_cookie" = []), ("bearer" = [])),
    tags(
        (name = "auth", description = "Staff sign-in and sessions"),
        (name = "users", description = "Staff accounts and their sessions"),
        (name = "devices", description = "Exam-room tablets"),
        (name = "clients", description = "Clients (cat owners)"),
        (name = "patients", description = "Patients (cats)"),
        (name = "scheduling", description = "Locations, rooms and appointment types"),
        (name = "staff", description = "Staff profiles, shifts and time off"),
        (name = "appointments", description = "The calendar: appointments, their workflow and the day view"),
        (name = "waitlist", description = "Clients waiting for a slot, and offers of freed slots"),
        (name = "search", description = "Finding clients and patients; recent searches and records"),
        (name = "audit", description = "The tamper-evident audit trail"),
        (name = "access", description = "Roles and permissions"),
        (name = "operations", description = "Health and metrics"),
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::extract::SESSION_COOKIE))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every documented route.
pub fn api_router() -> OpenApiRouter<AppState> {
    let mut router = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::auth_login))
        .routes(routes!(auth::auth_logout))
        .routes(routes!(auth::auth_me))
        .routes(routes!(auth::auth_password))
        .routes(routes!(auth::auth_totp_enroll))
        .routes(routes!(auth::auth_totp_confirm))
        .routes(routes!(auth::auth_totp_disable))
        .routes(routes!(devices::auth_pin))
        .routes(routes!(devices::auth_pin_unlock))
        .routes(routes!(devices::devices_create, devices::devices_list))
        .routes(routes!(devices::devices_update))
        .routes(routes!(auth::auth_sessions))
        .routes(routes!(auth::auth_sessions_revoke))
        .routes(routes!(users::users_create, users::users_list))
        .routes(routes!(users::users_get, users::users_update))
        .routes(routes!(users::users_reset_password))
        .routes(routes!(users::users_sessions, users::users_sessions_revoke))
        .routes(routes!(users::sessions_revoke_all))
        .routes(routes!(clients::clients_create, clients::clients_list))
        .routes(routes!(clients::clients_get, clients::clients_update, clients::clients_delete))
        .routes(routes!(clients::clients_patients))
        .routes(routes!(patients::patients_create, patients::patients_list))
        .routes(routes!(patients::patients_get, patients::patients_update, patients::patients_delete))
        .routes(routes!(search::search_run))
        .routes(routes!(search::search_history, search::search_history_clear))
        .routes(routes!(search::recent_list))
        .routes(routes!(audit::audit_list))
        .routes(routes!(scheduling::appointment_types_list, scheduling::appointment_types_create))
        .routes(routes!(scheduling::appointment_types_get, scheduling::appointment_types_update))
        .routes(routes!(locations::locations_list, locations::locations_create))
        .routes(routes!(locations::locations_get, locations::locations_update))
        .routes(routes!(locations::rooms_list, locations::rooms_create))
        .routes(routes!(locations::rooms_get, locations::rooms_update))
        .routes(routes!(locations::rooms_board))
        .routes(routes!(locations::rooms_state))
        .routes(routes!(staff::staff_list, staff::staff_create))
        .routes(routes!(staff::staff_get, staff::staff_update))
        .routes(routes!(staff::shifts_list, staff::shifts_create))
        .routes(routes!(staff::shifts_update, staff::shifts_cancel))
        .routes(routes!(staff::time_off_list, staff::time_off_request))
        .routes(routes!(staff::time_off_approve))
        .routes(routes!(staff::time_off_deny))
        .routes(routes!(staff::time_off_cancel))
        .routes(routes!(appointments::appointments_list, appointments::appointments_create))
        .routes(routes!(appointments::appointments_get, appointments::appointments_update))
        .routes(routes!(appointments::appointments_transition))
        .routes(routes!(appointments::calendar_day))
        .routes(routes!(appointments::availability))
        .routes(routes!(appointments::dashboard))
        .routes(routes!(calendar_feeds::appointments_ics))
        .routes(routes!(calendar_feeds::staff_feed_issue, calendar_feeds::staff_feed_revoke))
        .routes(routes!(calendar_feeds::ical_feed))
        .routes(routes!(waitlist::waitlist_list, waitlist::waitlist_create))
        .routes(routes!(waitlist::waitlist_get, waitlist::waitlist_update, waitlist::waitlist_cancel))
        .routes(routes!(waitlist::waitlist_matches))
        .routes(routes!(waitlist::waitlist_fulfill))
        .routes(routes!(waitlist::waitlist_offers))
        .routes(routes!(waitlist::waitlist_offer_accept))
        .routes(routes!(waitlist::waitlist_offer_decline))
        .routes(routes!(roles::permissions_list))
        .routes(routes!(roles::roles_list, roles::roles_create))
        .routes(routes!(roles::roles_get, roles::roles_update))
        .routes(routes!(health::health))
        .routes(routes!(health::health_ready))
        .routes(routes!(health::health_detailed))
        .routes(routes!(health::metrics));
    crate::idempotency::document(router.get_openapi_mut());
    router
}

/// The OpenAPI document as served at `/api/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    api_router().into_openapi()
}
