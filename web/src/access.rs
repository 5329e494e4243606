//! Which permission each route needs: declared here, in one table, and enforced by the
//! `authorize` middleware for every matched route. A route missing from the table is
//! refused (deny by default); the authorization-matrix test walks the OpenAPI document and
//! fails on any route without a rule.

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::Method;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use clowder_schemas::UserId;
use clowder_schemas::access::{Permission, Scope};
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
    /// A signed-in staff member holding this permission (any scope; the handler narrows
    /// `own` with the [`Granted`] it is given).
    Needs(Permission),
    /// Any signed-in staff member for their own record (own request, own feed, own
    /// session); someone else's needs this permission. The handler decides what is its
    /// caller's own and asks [`Granted::holds`] for the rest.
    OwnOr(Permission),
}

use Permission::*;
use Rule::{Needs, OwnOr, Public, SignedIn};

/// What the access check granted for this request: the route's permission and the scope the
/// caller holds it with. Handlers take it as an argument instead of naming a permission, so
/// the rule lives only in [`ROUTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Granted {
    /// The signed-in user.
    pub user: UserId,
    /// The route's permission (`None` for routes open to anyone signed in).
    pub permission: Option<Permission>,
    /// The scope it is held with (`None`: not held, only possible on `OwnOr` routes).
    pub scope: Option<Scope>,
}

impl Granted {
    /// With the route's permission held only for one's own records, the user whose records
    /// those are (a list filter); `None` when every record may be seen.
    pub fn own_only(&self) -> Option<UserId> {
        (self.scope == Some(Scope::Own)).then_some(self.user)
    }

    /// Refuses a record created by someone else when the permission is held with scope `own`.
    pub fn check(&self, created_by: Option<UserId>) -> Result<(), ApiError> {
        match (self.own_only(), self.permission) {
            (Some(me), Some(p)) if created_by != Some(me) => Err(ApiError::forbidden_beyond_own(p)),
            _ => Ok(()),
        }
    }

    /// [`Self::check`] for a record read only when it matters: `created_by` (an unaudited
    /// peek at the record) runs only when the permission is held with scope `own`.
    pub fn check_lazily<E: Into<ApiError>>(
        &self,
        created_by: impl FnOnce() -> Result<Option<UserId>, E>,
    ) -> Result<(), ApiError> {
        match self.own_only() {
            None => Ok(()),
            Some(_) => self.check(created_by().map_err(Into::into)?),
        }
    }

    /// True when the route's permission is held (on `OwnOr` routes: the caller may act on
    /// anyone's record, not only their own).
    pub fn holds(&self) -> bool {
        self.scope.is_some()
    }

    /// Refuses acting on someone else's record without the route's permission.
    pub fn refuse(&self) -> ApiError {
        match self.permission {
            Some(p) => ApiError::forbidden(p),
            None => ApiError::new(clowder_schemas::ErrorCode::Forbidden, "this is not yours to change"),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Granted {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        // `authorize` inserts it for every signed-in route; a handler of a public route
        // asking for it is a programming error, answered as one.
        parts.extensions.get::<Granted>().copied().ok_or_else(|| {
            tracing::error!("a handler asked for Granted on a route without a signed-in rule");
            ApiError::new(
                clowder_schemas::ErrorCode::InternalError,
                "something went wrong on our side; it has been logged",
            )
        })
    }
}

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
    ("GET", "/api/devices", Needs(DevicesManage)),
    ("POST", "/api/devices", Needs(DevicesManage)),
    ("PATCH", "/api/devices/{id}", Needs(DevicesManage)),
    ("GET", "/api/auth/sessions", SignedIn),
    // One's own session, or anyone's with sessions:manage.
    ("DELETE", "/api/auth/sessions/{id}", OwnOr(SessionsManage)),
    ("GET", "/api/users", Needs(UsersView)),
    ("POST", "/api/users", Needs(UsersManage)),
    ("GET", "/api/users/{id}", Needs(UsersView)),
    ("PATCH", "/api/users/{id}", Needs(UsersManage)),
    ("POST", "/api/users/{id}/password", Needs(UsersManage)),
    ("GET", "/api/users/{id}/sessions", Needs(SessionsManage)),
    ("DELETE", "/api/users/{id}/sessions", Needs(SessionsManage)),
    ("DELETE", "/api/sessions", Needs(SessionsManage)),
    ("GET", "/api/openapi.json", SignedIn),
    ("GET", "/api/permissions", Needs(RolesView)),
    ("GET", "/api/roles", Needs(RolesView)),
    ("POST", "/api/roles", Needs(RolesManage)),
    ("GET", "/api/roles/{id}", Needs(RolesView)),
    ("PATCH", "/api/roles/{id}", Needs(RolesManage)),
    ("GET", "/api/clients", Needs(ClientsView)),
    ("POST", "/api/clients", Needs(ClientsCreate)),
    ("GET", "/api/clients/{id}", Needs(ClientsView)),
    ("PATCH", "/api/clients/{id}", Needs(ClientsEdit)),
    ("DELETE", "/api/clients/{id}", Needs(ClientsDelete)),
    ("GET", "/api/clients/{id}/patients", Needs(PatientsView)),
    ("GET", "/api/patients", Needs(PatientsView)),
    ("POST", "/api/patients", Needs(PatientsCreate)),
    ("GET", "/api/patients/{id}", Needs(PatientsView)),
    ("PATCH", "/api/patients/{id}", Needs(PatientsEdit)),
    ("DELETE", "/api/patients/{id}", Needs(PatientsDelete)),
    ("GET", "/api/audit", Needs(AuditView)),
    ("GET", "/api/backups", Needs(BackupsManage)),
    ("POST", "/api/backups", Needs(BackupsManage)),
    ("GET", "/api/backups/{id}", Needs(BackupsManage)),
    ("GET", "/api/jobs", Needs(JobsManage)),
    ("GET", "/api/jobs/{id}", Needs(JobsManage)),
    ("POST", "/api/jobs/{id}/retry", Needs(JobsManage)),
    ("POST", "/api/jobs/{id}/cancel", Needs(JobsManage)),
    ("GET", "/api/messages", Needs(CommunicationsView)),
    ("GET", "/api/messages/{id}", Needs(CommunicationsView)),
    ("POST", "/api/communications/test", Needs(CommunicationsTest)),
    ("GET", "/api/templates", Needs(CommunicationsView)),
    ("POST", "/api/templates", Needs(CommunicationsManage)),
    ("GET", "/api/templates/{id}", Needs(CommunicationsView)),
    ("PATCH", "/api/templates/{id}", Needs(CommunicationsManage)),
    ("POST", "/api/templates/{id}/preview", Needs(CommunicationsView)),
    ("GET", "/api/automations", Needs(CommunicationsView)),
    ("PATCH", "/api/automations/{kind}", Needs(CommunicationsManage)),
    ("GET", "/api/automations/{kind}/preview", Needs(CommunicationsView)),
    ("POST", "/api/automations/sweep", Needs(CommunicationsManage)),
    // Authenticated by the signed token in the path, in the handler.
    ("GET", "/l/{purpose}/{token}", Public),
    ("POST", "/l/{purpose}/{token}", Public),
    ("POST", "/api/communications/send", Needs(CommunicationsSend)),
    ("POST", "/api/communications/send-batch", Needs(CommunicationsSend)),
    ("GET", "/api/communications/batches/{id}", Needs(CommunicationsView)),
    ("GET", "/api/communications/log", Needs(CommunicationsView)),
    ("GET", "/api/communications/templates", Needs(CommunicationsView)),
    ("GET", "/api/communications/stats", Needs(CommunicationsView)),
    ("GET", "/api/appointment-types", Needs(AppointmentsView)),
    ("POST", "/api/appointment-types", Needs(SchedulingManage)),
    ("GET", "/api/appointment-types/{id}", Needs(AppointmentsView)),
    ("PATCH", "/api/appointment-types/{id}", Needs(SchedulingManage)),
    ("GET", "/api/locations", Needs(AppointmentsView)),
    ("POST", "/api/locations", Needs(SchedulingManage)),
    ("GET", "/api/locations/{id}", Needs(AppointmentsView)),
    ("PATCH", "/api/locations/{id}", Needs(SchedulingManage)),
    ("GET", "/api/rooms", Needs(AppointmentsView)),
    ("POST", "/api/rooms", Needs(SchedulingManage)),
    ("GET", "/api/rooms/{id}", Needs(AppointmentsView)),
    ("PATCH", "/api/rooms/{id}", Needs(SchedulingManage)),
    ("GET", "/api/rooms/board", Needs(AppointmentsView)),
    ("POST", "/api/rooms/{id}/state", Needs(AppointmentsEdit)),
    ("GET", "/api/staff", Needs(AppointmentsView)),
    ("POST", "/api/staff", Needs(SchedulingManage)),
    ("GET", "/api/staff/{id}", Needs(AppointmentsView)),
    ("PATCH", "/api/staff/{id}", Needs(SchedulingManage)),
    ("GET", "/api/staff/{id}/shifts", Needs(AppointmentsView)),
    ("POST", "/api/staff/{id}/shifts", Needs(SchedulingManage)),
    ("PATCH", "/api/staff/{id}/shifts/{shift_id}", Needs(SchedulingManage)),
    ("DELETE", "/api/staff/{id}/shifts/{shift_id}", Needs(SchedulingManage)),
    ("GET", "/api/time-off", Needs(AppointmentsView)),
    // One's own request, or anyone's with scheduling:manage.
    ("POST", "/api/time-off", OwnOr(SchedulingManage)),
    ("POST", "/api/time-off/{id}/approve", Needs(SchedulingManage)),
    ("POST", "/api/time-off/{id}/deny", Needs(SchedulingManage)),
    ("POST", "/api/time-off/{id}/cancel", OwnOr(SchedulingManage)),
    ("GET", "/api/appointments", Needs(AppointmentsView)),
    ("POST", "/api/appointments", Needs(AppointmentsCreate)),
    ("GET", "/api/appointments/{id}", Needs(AppointmentsView)),
    ("PATCH", "/api/appointments/{id}", Needs(AppointmentsEdit)),
    // Cancelling also needs appointments:delete (the calendar service checks it).
    ("POST", "/api/appointments/{id}/transition", Needs(AppointmentsEdit)),
    ("GET", "/api/calendar", Needs(AppointmentsView)),
    ("GET", "/api/availability", Needs(AppointmentsView)),
    ("GET", "/api/dashboard", Needs(AppointmentsView)),
    ("GET", "/api/appointments/{id}/ics", Needs(AppointmentsView)),
    // One's own feed, or anyone's with scheduling:manage.
    ("POST", "/api/staff/{id}/feed", OwnOr(SchedulingManage)),
    ("DELETE", "/api/staff/{id}/feed", OwnOr(SchedulingManage)),
    // Authenticated by the unguessable token in the path, in the handler.
    ("GET", "/ical/{file}", Public),
    ("GET", "/api/waitlist", Needs(AppointmentsView)),
    ("POST", "/api/waitlist", Needs(AppointmentsCreate)),
    ("GET", "/api/waitlist/{id}", Needs(AppointmentsView)),
    ("PATCH", "/api/waitlist/{id}", Needs(AppointmentsEdit)),
    ("DELETE", "/api/waitlist/{id}", Needs(AppointmentsDelete)),
    ("GET", "/api/waitlist/matches/{appointment_id}", Needs(AppointmentsView)),
    ("POST", "/api/waitlist/{id}/fulfill", Needs(AppointmentsCreate)),
    ("GET", "/api/waitlist/offers", Needs(AppointmentsView)),
    ("POST", "/api/waitlist/offers/{id}/accept", Needs(AppointmentsCreate)),
    ("POST", "/api/waitlist/offers/{id}/decline", Needs(AppointmentsEdit)),
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
    ("GET", "/board", Needs(AppointmentsView)),
    ("GET", "/clients", Needs(ClientsView)),
    ("GET", "/clients/{id}", Needs(ClientsView)),
    ("GET", "/patients", Needs(PatientsView)),
    ("GET", "/patients/{id}", Needs(PatientsView)),
    ("GET", "/messages", Needs(CommunicationsView)),
    ("GET", "/messages/{id}", Needs(CommunicationsView)),
    ("GET", "/messages/templates", Needs(CommunicationsView)),
    ("GET", "/messages/templates/{id}", Needs(CommunicationsView)),
    ("GET", "/messages/bulk", Needs(CommunicationsSend)),
    ("GET", "/messages/dashboard", Needs(CommunicationsView)),
    ("GET", "/jobs", Needs(JobsManage)),
    // No data of their own: the sign-in page, and the tablet (a kiosk that unlocks by PIN).
    ("GET", "/", Public),
    ("GET", "/signin", Public),
    ("GET", "/tablet", Public),
    ("GET", "/assets/{file}", Public),
    ("GET", "/health", Public),
    ("GET", "/health/ready", Public),
    ("GET", "/health/detailed", SignedIn),
    ("GET", "/metrics", Public),
    ("GET", "/api/clients/{id}/preferences", Needs(ClientsView)),
    ("PUT", "/api/clients/{id}/preferences", Needs(ClientsEdit)),
    ("GET", "/api/clients/{id}/consent", Needs(ClientsView)),
    ("POST", "/api/clients/{id}/consent", Needs(ClientsEdit)),
    // Authenticated by the provider's signature, in the handler; rate limited per address.
    ("POST", "/hooks/twilio/status", Public),
    ("POST", "/hooks/twilio/inbound", Public),
    ("POST", "/hooks/sendgrid/events", Public),
    // Authenticated by the signed link in the path, in the handler; it can only revoke.
    ("GET", "/l/unsubscribe/{token}", Public),
    ("POST", "/l/unsubscribe/{token}", Public),
    // Email tracking: the signed token names only a message; the pixel and the redirect
    // answer whatever the limit (nothing is recorded over it).
    ("GET", "/l/open/{token}", Public),
    ("GET", "/l/click/{token}/{n}", Public),
    ("GET", "/api/communications/analytics", Needs(CommunicationsView)),
    ("GET", "/api/segments", Needs(CommunicationsManage)),
    ("POST", "/api/segments", Needs(CommunicationsManage)),
    ("GET", "/api/segments/{id}", Needs(CommunicationsManage)),
    ("GET", "/api/segments/{id}/preview", Needs(CommunicationsManage)),
    ("GET", "/api/campaigns", Needs(CommunicationsManage)),
    ("POST", "/api/campaigns", Needs(CommunicationsManage)),
    ("GET", "/api/campaigns/{id}", Needs(CommunicationsManage)),
    ("POST", "/api/campaigns/{id}/schedule", Needs(CommunicationsManage)),
    ("POST", "/api/campaigns/{id}/send-now", Needs(CommunicationsManage)),
    ("POST", "/api/campaigns/{id}/cancel", Needs(CommunicationsManage)),
    ("POST", "/api/clients/{id}/newsletter", Needs(CommunicationsSend)),
    // Public, rate limited per address; answers the same whoever the email belongs to.
    ("POST", "/api/communications/newsletter/subscribe", Public),
    // Authenticated by the signed link in the path, in the handler; it can only grant what
    // the link's email asked for.
    ("GET", "/l/subscribe/{token}", Public),
    ("POST", "/l/subscribe/{token}", Public),
    ("GET", "/api/clients/{id}/referral", Needs(ClientsView)),
    ("POST", "/api/referrals", Needs(ClientsEdit)),
    ("POST", "/api/referrals/{id}/redeem", Needs(ClientsEdit)),
    // The marketing screens (routes::pages::PAGE_ROUTES), as their APIs.
    ("GET", "/messages/analytics", Needs(CommunicationsView)),
    ("GET", "/messages/segments", Needs(CommunicationsManage)),
    ("GET", "/messages/segments/{id}", Needs(CommunicationsManage)),
    ("GET", "/messages/campaigns", Needs(CommunicationsManage)),
    ("GET", "/messages/campaigns/{id}", Needs(CommunicationsManage)),
    ("GET", "/api/clinical-facts", SignedIn),
    ("GET", "/api/clinical-facts/{name}", SignedIn),
    ("PUT", "/api/clinical-facts/{name}", Needs(ClinicalFactsManage)),
    ("POST", "/api/vitals", Needs(VitalsCreate)),
    ("GET", "/api/vitals/{id}", Needs(VisitsView)),
    ("POST", "/api/vitals/{id}/amendments", Needs(VitalsCreate)),
    ("GET", "/api/patients/{id}/vitals", Needs(VisitsView)),
    ("GET", "/api/patients/{id}/weights", Needs(VisitsView)),
    ("POST", "/api/problems", Needs(VisitsEdit)),
    // Protocols are the clinic's templates; plans made from them are the medical record
    // (docs/protocols.md).
    ("GET", "/api/protocols", Needs(ProtocolsView)),
    ("POST", "/api/protocols", Needs(ProtocolsManage)),
    ("GET", "/api/protocols/{id}", Needs(ProtocolsView)),
    ("PATCH", "/api/protocols/{id}", Needs(ProtocolsManage)),
    ("GET", "/api/protocols/starters", Needs(ProtocolsView)),
    ("POST", "/api/protocols/starters/{key}", Needs(ProtocolsManage)),
    ("POST", "/api/treatment-plans", Needs(VisitsEdit)),
    ("GET", "/api/treatment-plans/{id}", Needs(VisitsView)),
    ("POST", "/api/treatment-plans/{id}/changes", Needs(VisitsEdit)),
    // It books too: the handler also asks for appointments:create.
    ("POST", "/api/treatment-plans/{id}/bookings", Needs(VisitsEdit)),
    ("GET", "/api/treatment-plans/{id}/history", Needs(VisitsView)),
    ("GET", "/api/treatment-plans/{id}/offer", Needs(VisitsView)),
    ("GET", "/api/patients/{id}/treatment-plans", Needs(VisitsView)),
    ("GET", "/api/problems/{id}", Needs(VisitsView)),
    ("PATCH", "/api/problems/{id}", Needs(VisitsEdit)),
    ("GET", "/api/patients/{id}/problems", Needs(VisitsView)),
    ("POST", "/api/lab-orders", Needs(LabsCreate)),
    ("GET", "/api/lab-orders/{id}", Needs(LabsView)),
    ("POST", "/api/lab-orders/{id}/results", Needs(LabsEdit)),
    // A veterinarian's sign-off, like a note's (the decision checks the staff position too).
    ("POST", "/api/lab-orders/{id}/review", Needs(VisitsSign)),
    ("POST", "/api/lab-orders/{id}/cancel", Needs(LabsDelete)),
    ("POST", "/api/lab-orders/{id}/amend", Needs(LabsEdit)),
    ("GET", "/api/patients/{id}/lab-orders", Needs(LabsView)),
    ("GET", "/api/patients/{id}/lab-trends", Needs(LabsView)),
    ("POST", "/api/lab-results/import", Needs(LabsEdit)),
    ("GET", "/api/lab-results/unmatched", Needs(LabsView)),
    ("GET", "/api/lab-results/unmatched/{id}", Needs(LabsView)),
    ("POST", "/api/lab-results/unmatched/{id}/attach", Needs(LabsEdit)),
    ("POST", "/api/lab-results/unmatched/{id}/discard", Needs(LabsEdit)),
    ("GET", "/labs", Needs(LabsView)),
    ("GET", "/labs/orders/{id}", Needs(LabsView)),
    ("GET", "/labs/unmatched", Needs(LabsView)),
    ("POST", "/api/documents", Needs(VisitsEdit)),
    ("GET", "/api/documents", Needs(VisitsView)),
    ("GET", "/api/documents/{id}", Needs(VisitsView)),
    ("GET", "/api/documents/{id}/content", Needs(VisitsView)),
    ("POST", "/api/documents/{id}/deactivate", Needs(VisitsEdit)),
    ("GET", "/api/consent-templates", Needs(VisitsView)),
    ("POST", "/api/consent-templates", Needs(ConsentTemplatesManage)),
    ("GET", "/api/consent-templates/{id}", Needs(VisitsView)),
    ("PATCH", "/api/consent-templates/{id}", Needs(ConsentTemplatesManage)),
    ("POST", "/api/consent-forms", Needs(VisitsEdit)),
    ("GET", "/api/consent-forms", Needs(VisitsView)),
    ("GET", "/api/consent-forms/{id}", Needs(VisitsView)),
    ("PATCH", "/api/consent-forms/{id}", Needs(VisitsEdit)),
    ("POST", "/api/consent-forms/{id}/sign", Needs(VisitsEdit)),
    ("POST", "/api/consent-forms/{id}/void", Needs(VisitsEdit)),
    // The medical record: visits:view for every read (a receptionist holds none of them).
    ("POST", "/api/visits", Needs(VisitsCreate)),
    ("GET", "/api/visits", Needs(VisitsView)),
    ("GET", "/api/visits/{id}", Needs(VisitsView)),
    ("PATCH", "/api/visits/{id}", Needs(VisitsEdit)),
    ("POST", "/api/visits/{id}/complete", Needs(VisitsEdit)),
    ("POST", "/api/visits/{id}/void", Needs(VisitsDelete)),
    ("GET", "/api/visits/{id}/note", Needs(VisitsView)),
    ("PUT", "/api/visits/{id}/note/draft", Needs(VisitsEdit)),
    ("POST", "/api/visits/{id}/note/sign", Needs(VisitsSign)),
    ("POST", "/api/visits/{id}/note/addenda", Needs(VisitsSign)),
    ("GET", "/api/visits/{id}/health-certificate.pdf", Needs(VisitsView)),
    ("GET", "/api/visits/{id}/summary.pdf", Needs(VisitsView)),
    ("GET", "/api/note-templates", Needs(VisitsView)),
    ("PUT", "/api/note-templates/{key}", Needs(VisitsEdit)),
    ("GET", "/api/patients/{id}/timeline", Needs(VisitsView)),
    ("GET", "/visits/{id}", Needs(VisitsView)),
    ("GET", "/consents/{id}/sign", Needs(VisitsView)),
    // A page of the client's or cat's documents block ("Show more"), as `GET /api/documents`.
    ("GET", "/documents/rows", Needs(VisitsView)),
    // The exam-room tablet's chart of the cat in the room (a receptionist's tablet shows the
    // room and the banner, not the chart).
    ("GET", "/tablet/chart", Needs(VisitsView)),
    ("POST", "/api/prescriptions", Needs(PrescriptionsCreate)),
    ("GET", "/api/prescriptions/{id}", Needs(PrescriptionsView)),
    ("GET", "/api/prescriptions/{id}/label.pdf", Needs(PrescriptionsView)),
    ("POST", "/api/prescriptions/{id}/refill", Needs(PrescriptionsEdit)),
    ("POST", "/api/prescriptions/{id}/complete", Needs(PrescriptionsEdit)),
    ("POST", "/api/prescriptions/{id}/cancel", Needs(PrescriptionsDelete)),
    ("GET", "/api/patients/{id}/prescriptions", Needs(PrescriptionsView)),
    ("POST", "/api/controlled/containers", Needs(ControlledRecord)),
    ("GET", "/api/controlled/containers", Needs(ControlledView)),
    ("GET", "/api/controlled/containers/{id}", Needs(ControlledView)),
    ("POST", "/api/controlled/containers/{id}/uses", Needs(ControlledRecord)),
    ("POST", "/api/controlled/containers/{id}/discrepancies", Needs(ControlledRecord)),
    ("POST", "/api/controlled/containers/{id}/counts", Needs(ControlledRecord)),
    ("POST", "/api/controlled/entries/{id}/reversal", Needs(ControlledRecord)),
    ("GET", "/api/controlled/register.csv", Needs(ControlledView)),
    ("GET", "/api/controlled/register.pdf", Needs(ControlledView)),
    // Vaccinations are the medical record: read with visits:view, recorded by vets and techs.
    ("POST", "/api/vaccinations", Needs(VaccinationsCreate)),
    ("POST", "/api/vaccinations/declined", Needs(VaccinationsCreate)),
    // The front desk books the visits the due list asks for: it reads cats, not their record.
    ("GET", "/api/vaccinations/due", Needs(PatientsView)),
    ("GET", "/api/vaccinations/{id}", Needs(VisitsView)),
    ("POST", "/api/vaccinations/{id}/reactions", Needs(VaccinationsCreate)),
    ("GET", "/api/patients/{id}/vaccinations", Needs(VisitsView)),
    ("POST", "/api/patients/{id}/vaccinations/overrides", Needs(VaccinationsCreate)),
    ("POST", "/api/patients/{id}/vaccinations/risk", Needs(VaccinationsCreate)),
    ("GET", "/api/patients/{id}/vaccination-certificate.pdf", Needs(VisitsView)),
    ("GET", "/api/patients/{id}/record-summary.pdf", Needs(VisitsView)),
    ("GET", "/api/settings/logo", SignedIn),
    ("GET", "/api/settings/logo.img", SignedIn),
    ("PUT", "/api/settings/logo", Needs(SchedulingManage)),
    // A batch also needs what reads its kind (prescriptions:view, visits:view): the handler
    // checks it once it knows the kind.
    ("POST", "/api/print-batches", Needs(PatientsView)),
    ("GET", "/api/print-batches/{id}", Needs(PatientsView)),
    ("GET", "/api/print-batches/{id}/file", Needs(PatientsView)),
    ("DELETE", "/api/settings/logo", Needs(SchedulingManage)),
    ("POST", "/api/inventory/products", Needs(InventoryCreate)),
    ("GET", "/api/inventory/products", Needs(InventoryView)),
    ("GET", "/api/inventory/products/{id}", Needs(InventoryView)),
    ("PATCH", "/api/inventory/products/{id}", Needs(InventoryEdit)),
    ("DELETE", "/api/inventory/products/{id}", Needs(InventoryDelete)),
    ("POST", "/api/inventory/products/{id}/receive", Needs(InventoryEdit)),
    ("POST", "/api/inventory/products/{id}/adjust", Needs(InventoryEdit)),
    ("POST", "/api/inventory/products/{id}/expired", Needs(InventoryEdit)),
    ("POST", "/api/inventory/products/{id}/damaged", Needs(InventoryEdit)),
    ("POST", "/api/inventory/products/{id}/return", Needs(InventoryEdit)),
    ("GET", "/api/inventory/products/{id}/ledger", Needs(InventoryView)),
    // Dispensing accompanies a fill of the prescription (like a refill): the prescriber's
    // permission, not the stock clerk's.
    ("POST", "/api/prescriptions/{id}/dispense", Needs(PrescriptionsEdit)),
    ("GET", "/api/inventory/alerts", Needs(InventoryView)),
    ("POST", "/api/inventory/expire", Needs(InventoryEdit)),
    ("POST", "/api/inventory/vendors", Needs(InventoryCreate)),
    ("GET", "/api/inventory/vendors", Needs(InventoryView)),
    ("GET", "/api/inventory/vendors/{id}", Needs(InventoryView)),
    ("PATCH", "/api/inventory/vendors/{id}", Needs(InventoryEdit)),
    ("DELETE", "/api/inventory/vendors/{id}", Needs(InventoryDelete)),
    ("POST", "/api/inventory/purchase-orders", Needs(InventoryCreate)),
    ("GET", "/api/inventory/purchase-orders", Needs(InventoryView)),
    ("GET", "/api/inventory/purchase-orders/{id}", Needs(InventoryView)),
    ("PATCH", "/api/inventory/purchase-orders/{id}", Needs(InventoryEdit)),
    ("POST", "/api/inventory/purchase-orders/{id}/submit", Needs(InventoryEdit)),
    ("POST", "/api/inventory/purchase-orders/{id}/cancel", Needs(InventoryEdit)),
    ("POST", "/api/inventory/purchase-orders/{id}/receive", Needs(InventoryEdit)),
    // The inventory screens (stock, lots, alerts, orders; receiving posts to the API above).
    ("GET", "/inventory", Needs(InventoryView)),
    ("GET", "/inventory/purchase-orders/{id}", Needs(InventoryView)),
    // A cat's chart in one read: the medical record, so visits:view (each part as its own route).
    ("GET", "/api/patients/{id}/chart", Needs(VisitsView)),
    // The price list is read by whoever builds invoices and changed only by who sets prices.
    ("POST", "/api/catalogue", Needs(CatalogueManage)),
    // The ward (docs/ward.md): set up by the manager, treated by vets and techs.
    ("POST", "/api/wards", Needs(WardManage)),
    ("GET", "/wards", Needs(WardView)),
    ("GET", "/wards/{id}", Needs(WardView)),
    ("GET", "/wards/{id}/display", Needs(WardView)),
    // The ward's shared tablet: its session reads the board; each mark is authorised by the
    // nurse's PIN in the handler (she needs ward:treat), on a registered tablet.
    ("GET", "/wards/{id}/tablet", Needs(WardView)),
    ("POST", "/api/admissions/{id}/slots/pin", Needs(WardView)),
    ("GET", "/api/wards", Needs(WardView)),
    ("GET", "/api/wards/{id}", Needs(WardView)),
    ("PATCH", "/api/wards/{id}", Needs(WardManage)),
    ("GET", "/api/wards/{id}/board", Needs(WardView)),
    ("POST", "/api/admissions", Needs(WardTreat)),
    ("GET", "/api/admissions/{id}", Needs(WardView)),
    ("POST", "/api/admissions/{id}/treatments", Needs(WardTreat)),
    ("POST", "/api/admissions/{id}/slots", Needs(WardTreat)),
    ("POST", "/api/admissions/{id}/discharge", Needs(WardTreat)),
    ("POST", "/api/admissions/{id}/move", Needs(WardTreat)),
    ("POST", "/api/admissions/{id}/treatments/{treatment_id}/stop", Needs(WardTreat)),
    ("GET", "/api/catalogue", Needs(InvoicesView)),
    ("GET", "/api/catalogue/{id}", Needs(InvoicesView)),
    ("PATCH", "/api/catalogue/{id}", Needs(CatalogueManage)),
    ("POST", "/api/invoices", Needs(InvoicesCreate)),
    ("GET", "/api/invoices", Needs(InvoicesView)),
    ("GET", "/api/invoices/{id}", Needs(InvoicesView)),
    ("PATCH", "/api/invoices/{id}", Needs(InvoicesEdit)),
    ("POST", "/api/invoices/{id}/lines", Needs(InvoicesEdit)),
    ("POST", "/api/invoices/{id}/issue", Needs(InvoicesEdit)),
    ("POST", "/api/invoices/{id}/void", Needs(InvoicesDelete)),
    ("POST", "/api/invoices/{id}/credit-notes", Needs(InvoicesEdit)),
    ("POST", "/api/invoices/{id}/payments", Needs(PaymentsCreate)),
    ("GET", "/api/clients/{id}/invoices", Needs(InvoicesView)),
    ("GET", "/api/clients/{id}/balance", Needs(InvoicesView)),
    // Estimates ride on the invoice permissions ("Create invoices and estimates").
    ("POST", "/api/estimates", Needs(InvoicesCreate)),
    ("GET", "/api/estimates", Needs(InvoicesView)),
    ("GET", "/api/estimates/report", Needs(InvoicesView)),
    ("GET", "/api/estimates/{id}", Needs(InvoicesView)),
    ("PATCH", "/api/estimates/{id}", Needs(InvoicesEdit)),
    ("PATCH", "/api/estimates/{id}/options/{option_no}/lines/{line_no}", Needs(InvoicesEdit)),
    ("POST", "/api/estimates/{id}/send", Needs(InvoicesEdit)),
    ("POST", "/api/estimates/{id}/email", Needs(InvoicesEdit)),
    ("POST", "/api/estimates/{id}/viewed", Needs(InvoicesEdit)),
    ("POST", "/api/estimates/{id}/accept", Needs(InvoicesCreate)),
    ("POST", "/api/estimates/{id}/decline", Needs(InvoicesEdit)),
    // Payment plans are arrangements of payments.
    ("POST", "/api/payment-plans", Needs(PaymentsCreate)),
    ("GET", "/api/payment-plans/{id}", Needs(PaymentsView)),
    ("PATCH", "/api/payment-plans/{id}", Needs(PaymentsEdit)),
    ("POST", "/api/payment-plans/{id}/cancel", Needs(PaymentsEdit)),
    ("GET", "/api/invoices/{id}/payment-plans", Needs(PaymentsView)),
    // Charge capture: resolving an uncharged entry edits the draft; a batch issues invoices.
    ("POST", "/api/invoices/{id}/uncharged/resolve", Needs(InvoicesEdit)),
    ("POST", "/api/invoice-batches", Needs(InvoicesEdit)),
    ("GET", "/api/invoice-batches/{id}", Needs(InvoicesEdit)),
    ("POST", "/api/payments/{id}/refunds", Needs(PaymentsEdit)),
    ("POST", "/api/invoices/{id}/apply-credit", Needs(PaymentsCreate)),
    ("GET", "/api/clients/{id}/credit", Needs(PaymentsView)),
    ("GET", "/api/payments/{id}/receipt.pdf", Needs(PaymentsView)),
    ("POST", "/api/payments/{id}/receipt/email", Needs(PaymentsCreate)),
    ("GET", "/api/reports/ar-ageing", Needs(ReportsFinancial)),
    ("GET", "/api/reports/revenue", Needs(ReportsFinancial)),
    // The accounting export: its mapping and exports need `accounting:export`; the batches
    // over selected invoices, like the batch that issues them, `invoices:edit`.
    ("GET", "/api/accounting/mapping", Needs(AccountingExport)),
    ("PUT", "/api/accounting/mapping", Needs(AccountingExport)),
    ("POST", "/api/accounting/exports", Needs(AccountingExport)),
    ("GET", "/api/accounting/exports", Needs(AccountingExport)),
    ("GET", "/api/accounting/exports/{id}", Needs(AccountingExport)),
    ("GET", "/api/accounting/exports/{id}/file", Needs(AccountingExport)),
    ("POST", "/api/invoice-batches/discount", Needs(InvoicesEdit)),
    ("POST", "/api/invoice-batches/export", Needs(InvoicesEdit)),
    ("GET", "/api/invoice-batches/{id}/file", Needs(InvoicesEdit)),
    // The estimate, payment-plan and report screens (their actions post to the API above).
    ("GET", "/estimates", Needs(InvoicesView)),
    ("GET", "/estimates/new", Needs(InvoicesCreate)),
    ("GET", "/estimates/{id}", Needs(InvoicesView)),
    ("GET", "/payment-plans/new", Needs(PaymentsCreate)),
    ("GET", "/payment-plans/{id}", Needs(PaymentsView)),
    ("GET", "/treatment-plans/{id}", Needs(VisitsView)),
    ("GET", "/protocols", Needs(ProtocolsView)),
    ("GET", "/protocols/new", Needs(ProtocolsManage)),
    ("GET", "/protocols/{id}", Needs(ProtocolsView)),
    ("GET", "/reports", Needs(ReportsFinancial)),
    // Statements: a client's payments and invoices (every role with invoices has payments too).
    ("GET", "/api/clients/{id}/statement", Needs(PaymentsView)),
    ("GET", "/api/clients/{id}/statement.pdf", Needs(PaymentsView)),
    // Who takes payments sends statements (as receipts); a run to every client is a batch.
    ("POST", "/api/clients/{id}/statement/email", Needs(PaymentsCreate)),
    ("POST", "/api/statements/runs", Needs(PaymentsEdit)),
    ("GET", "/api/statements/runs/{id}", Needs(PaymentsEdit)),
    // Loyalty: read with invoices; rules and adjustments by a manager; redeemed at checkout.
    ("GET", "/api/loyalty/settings", Needs(InvoicesView)),
    ("PUT", "/api/loyalty/settings", Needs(LoyaltyManage)),
    ("GET", "/api/clients/{id}/loyalty", Needs(InvoicesView)),
    ("POST", "/api/clients/{id}/loyalty/adjustments", Needs(LoyaltyManage)),
    ("POST", "/api/invoices/{id}/loyalty/redeem", Needs(InvoicesEdit)),
    ("POST", "/api/invoices/{id}/loyalty/release", Needs(InvoicesEdit)),
    // The billing screens (the builder's actions post to the API routes above).
    ("GET", "/invoices", Needs(InvoicesView)),
    ("GET", "/invoices/{id}", Needs(InvoicesView)),
    ("GET", "/clients/{id}/account", Needs(InvoicesView)),
    // The loyalty programme's settings screen (it saves through the PUT above).
    ("GET", "/loyalty", Needs(LoyaltyManage)),
    ("GET", "/accounting", Needs(AccountingExport)),
];

/// What the table would grant `staff` on another route (`None`: refused, or no such rule).
/// A page uses it to show a link or a section exactly when the route behind it would
/// answer, with the same scope, so no page names a permission.
pub fn granted_on(staff: &Staff, method: &Method, path: &str) -> Option<Granted> {
    let user = staff.principal.user.id;
    match rule_for(method, path)? {
        Public | SignedIn => Some(Granted { user, permission: None, scope: None }),
        Needs(p) => staff.principal.permissions.scope(p).map(|s| Granted { user, permission: Some(p), scope: Some(s) }),
        OwnOr(p) => Some(Granted { user, permission: Some(p), scope: staff.principal.permissions.scope(p) }),
    }
}

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
            return ApiError::new(clowder_schemas::ErrorCode::Forbidden, "this route has no access rule")
                .into_response();
        }
    };
    let (permission, required) = match rule {
        Public => return next.run(req).await,
        SignedIn => (None, false),
        Needs(p) => (Some(p), true),
        OwnOr(p) => (Some(p), false),
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
    let scope = permission.and_then(|p| staff.principal.permissions.scope(p));
    if let Some(p) = permission
        && required
        && scope.is_none()
    {
        let draft = AuditDraft::new(&staff.caller, "access.denied")
            .outcome(Outcome::Denied)
            .detail(serde_json::json!({ "permission": p, "method": method.as_str(), "route": path }));
        if let Err(e) = state.system.audit.record(draft).await {
            return refuse(ApiError::from(e));
        }
        return refuse(ApiError::forbidden(p));
    }
    parts.extensions.insert(Granted { user: staff.principal.user.id, permission, scope });
    next.run(Request::from_parts(parts, body)).await
}

/// A page asked for without a (valid) session: to the sign-in page, which comes back here.
fn to_signin(parts: &axum::http::request::Parts) -> Response {
    // The tablet's chart: back to the room's page, which asks for a PIN and returns here.
    if parts.uri.path() == "/tablet/chart" {
        let query = parts.uri.query().unwrap_or("");
        let room = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "room").map(|(_, v)| v.into_owned());
        let room: String = form_urlencoded::byte_serialize(room.unwrap_or_default().as_bytes()).collect();
        return axum::response::Redirect::to(&format!("/tablet?room={room}&then=chart")).into_response();
    }
    let back = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let next: String = form_urlencoded::byte_serialize(back.as_bytes()).collect();
    axum::response::Redirect::to(&format!("/signin?next={next}")).into_response()
}
