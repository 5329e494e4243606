//! The one `ApiError`: every failure of every route becomes `{"error": {code, message,
//! field?}}` with the status of its code's kind, decided in [`status_of`] and nowhere else.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use clowder_actors::Error as DomainError;
use clowder_schemas::access::{Permission, Scope};
use clowder_schemas::{ErrorBody, ErrorCode, ErrorKind, ErrorResponse, ValidationError};

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub field: Option<String>,
    pub details: Option<serde_json::Value>,
    pub retry_after: Option<Duration>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), field: None, details: None, retry_after: None }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn unauthenticated() -> Self {
        Self::new(ErrorCode::Unauthenticated, "sign in first: no valid session")
    }

    /// 403 naming the missing permission.
    pub fn forbidden(permission: Permission) -> Self {
        Self::new(ErrorCode::Forbidden, format!("you need the permission {permission} for this"))
    }

    /// 403 for a record outside the caller's `own` scope.
    pub fn forbidden_beyond_own(permission: Permission) -> Self {
        Self::new(ErrorCode::Forbidden, format!("you need the permission {permission} with scope all for this"))
    }

    pub fn not_found(code: ErrorCode, what: &str) -> Self {
        Self::new(code, format!("{what} not found"))
    }

    fn internal() -> Self {
        Self::new(ErrorCode::InternalError, "something went wrong on our side; it has been logged")
    }
}

/// The HTTP status of each kind of error: the only such mapping in Clowder.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Malformed => StatusCode::BAD_REQUEST,
        ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Locked => StatusCode::LOCKED,
        ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(self.code.kind());
        let body = ErrorResponse {
            error: ErrorBody { code: self.code, message: self.message, field: self.field, details: self.details },
        };
        let mut res = (status, axum::Json(body)).into_response();
        if let Some(after) = self.retry_after {
            let secs = after.as_secs().max(1);
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        res
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        ApiError::new(ErrorCode::ValidationFailed, format!("{} {}", e.field, e.message)).with_field(e.field)
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Validation(v) => v.into(),
            DomainError::ClientNotFound(id) => {
                ApiError::new(ErrorCode::ClientNotFound, format!("no client with id {id}"))
            }
            DomainError::OwnerNotFound(id) => {
                ApiError::new(ErrorCode::ClientNotFound, format!("no client with id {id}")).with_field("client_id")
            }
            DomainError::PatientNotFound(id) => {
                ApiError::new(ErrorCode::PatientNotFound, format!("no patient with id {id}"))
            }
            DomainError::Duplicate { field } => {
                ApiError::new(ErrorCode::DuplicateValue, format!("this {field} is already used by another record"))
                    .with_field(field)
            }
            DomainError::InvalidCredentials => {
                ApiError::new(ErrorCode::InvalidCredentials, "wrong username or password")
            }
            DomainError::Forbidden { permission, scope: Scope::Own } => ApiError::forbidden(permission),
            DomainError::Forbidden { permission, scope: Scope::All } => ApiError::forbidden_beyond_own(permission),
            DomainError::RoleNotFound(id) => ApiError::new(ErrorCode::RoleNotFound, format!("no role with id {id}")),
            DomainError::BuiltinRole => ApiError::new(
                ErrorCode::RoleIsBuiltin,
                "built-in roles cannot be changed; create a custom role instead",
            ),
            DomainError::LastAdministrator => ApiError::new(
                ErrorCode::LastAdministrator,
                "this would leave the clinic without an active administrator",
            ),
            DomainError::UserNotFound(id) => ApiError::new(ErrorCode::UserNotFound, format!("no user with id {id}")),
            DomainError::SessionNotFound(id) => {
                ApiError::new(ErrorCode::SessionNotFound, format!("no session with id {id}"))
            }
            DomainError::AccountLocked { until } => ApiError::new(
                ErrorCode::AccountLocked,
                format!("too many wrong passwords: the account is locked until {until}"),
            ),
            DomainError::AppointmentTypeNotFound(id) => {
                ApiError::new(ErrorCode::AppointmentTypeNotFound, format!("no appointment type with id {id}"))
            }
            DomainError::LocationNotFound(id) => {
                ApiError::new(ErrorCode::LocationNotFound, format!("no location with id {id}"))
            }
            DomainError::RoomNotFound(id) => ApiError::new(ErrorCode::RoomNotFound, format!("no room with id {id}")),
            DomainError::StaffNotFound(id) => {
                ApiError::new(ErrorCode::StaffNotFound, format!("no staff member with id {id}"))
            }
            DomainError::ShiftNotFound(id) => ApiError::new(ErrorCode::ShiftNotFound, format!("no shift with id {id}")),
            DomainError::TimeOffNotFound(id) => {
                ApiError::new(ErrorCode::TimeOffNotFound, format!("no time-off request with id {id}"))
            }
            DomainError::AppointmentNotFound(id) => {
                ApiError::new(ErrorCode::AppointmentNotFound, format!("no appointment with id {id}"))
            }
            DomainError::ShiftOverlap { other, starts_at, ends_at } => ApiError::new(
                ErrorCode::ShiftOverlap,
                format!("this person already has shift {other} from {starts_at} to {ends_at}"),
            )
            .with_details(serde_json::json!({ "shift_id": other, "starts_at": starts_at, "ends_at": ends_at })),
            DomainError::AppointmentConflict { field, other, start, until } => {
                let what = match field {
                    "vet_id" => "the vet",
                    "room_id" => "the room",
                    _ => "the patient",
                };
                ApiError::new(
                    ErrorCode::AppointmentConflict,
                    format!(
                        "{what} is already booked by appointment {other} from {start} until {until} (buffer included)"
                    ),
                )
                .with_field(field)
                .with_details(serde_json::json!({ "appointment_id": other, "start": start, "until": until }))
            }
            DomainError::InvalidTransition { from, to, allowed, message } => {
                ApiError::new(ErrorCode::InvalidTransition, message)
                    .with_details(serde_json::json!({ "from": from, "to": to, "allowed": allowed }))
            }
            DomainError::WaitlistEntryNotFound(id) => {
                ApiError::new(ErrorCode::WaitlistEntryNotFound, format!("no waitlist entry with id {id}"))
            }
            DomainError::OfferNotFound(id) => {
                ApiError::new(ErrorCode::OfferNotFound, format!("no waitlist offer with id {id}"))
            }
            DomainError::OfferClosed(why) => {
                ApiError::new(ErrorCode::OfferClosed, format!("this offer can no longer be accepted: {why}"))
            }
            DomainError::RoomTransition { from, to, allowed } => {
                let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
                ApiError::new(
                    ErrorCode::InvalidTransition,
                    format!("a room that is {from} cannot become {to}; allowed: {}", names.join(", ")),
                )
                .with_details(serde_json::json!({ "from": from, "to": to, "allowed": allowed }))
            }
            DomainError::DeviceNotFound(id) => {
                ApiError::new(ErrorCode::DeviceNotFound, format!("no device with id {id}"))
            }
            DomainError::TotpRequired => ApiError::new(
                ErrorCode::TotpRequired,
                "enter the code from your authenticator app (totp_code) or a recovery code",
            ),
            DomainError::PinLocked => ApiError::new(
                ErrorCode::PinLocked,
                "too many wrong PINs: sign in with your password to use PIN unlock again",
            ),
            DomainError::PasswordChangeRequired => ApiError::new(
                ErrorCode::PasswordChangeRequired,
                "choose a new password first (POST /api/auth/password)",
            ),
            DomainError::Unauthenticated => ApiError::unauthenticated(),
            DomainError::Overloaded { kind, retry_after } => ApiError {
                retry_after: Some(retry_after),
                ..ApiError::new(ErrorCode::Overloaded, format!("the {kind} service is busy; retry in a moment"))
            },
            DomainError::Timeout { kind } => ApiError {
                retry_after: Some(Duration::from_secs(1)),
                ..ApiError::new(ErrorCode::Timeout, format!("the {kind} service did not answer in time"))
            },
            DomainError::ShuttingDown => ApiError {
                retry_after: Some(Duration::from_secs(5)),
                ..ApiError::new(ErrorCode::Unavailable, "the server is shutting down; retry shortly")
            },
            e @ (DomainError::ActorFailed { .. }
            | DomainError::Store(_)
            | DomainError::Search(_)
            | DomainError::Internal(_)) => {
                // The request span carries the request id.
                tracing::error!(error = %e, cause = ?std::error::Error::source(&e), "request failed");
                ApiError::internal()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicked_actor_is_a_500_with_a_generic_message() {
        let res = ApiError::from(DomainError::ActorFailed { kind: "client" }).into_response();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn an_overloaded_actor_is_a_503_with_retry_after() {
        let res = ApiError::from(DomainError::Overloaded { kind: "client", retry_after: Duration::from_secs(1) })
            .into_response();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()[header::RETRY_AFTER], "1");
    }

    #[test]
    fn every_code_has_a_status() {
        for code in ErrorCode::ALL {
            let s = status_of(code.kind());
            assert!(s.is_client_error() || s.is_server_error(), "{code:?}");
        }
    }
}
