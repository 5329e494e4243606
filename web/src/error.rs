//! The one `ApiError`: every failure of every route becomes `{"error": {code, message,
//! field?}}` with the status of its code's kind, decided in [`status_of`] and nowhere else.
//! Domain errors carry their own code, field, details and retry hint, so they all map the
//! same way; only internal ones are hidden behind a generic message.

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
        DomainError::Unauthenticated.into()
    }

    /// 403 naming the missing permission.
    pub fn forbidden(permission: Permission) -> Self {
        DomainError::Forbidden { permission, scope: Scope::Own }.into()
    }

    /// 403 for a record outside the caller's `own` scope.
    pub fn forbidden_beyond_own(permission: Permission) -> Self {
        DomainError::Forbidden { permission, scope: Scope::All }.into()
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
        ErrorKind::InsufficientStorage => StatusCode::INSUFFICIENT_STORAGE,
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
        // For error tracking (`middleware::observe`), which reports 5xx answers by their code.
        res.extensions_mut().insert(self.code);
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
        DomainError::Validation(e).into()
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        if e.is_internal() {
            // The cause stays in the log (the request span carries the request id); the
            // caller gets the generic sentence.
            tracing::error!(error = %e, cause = ?std::error::Error::source(&e), "request failed");
            return ApiError::internal();
        }
        ApiError {
            code: e.code(),
            message: e.to_string(),
            field: e.field().map(str::to_owned),
            details: e.details(),
            retry_after: e.retry_after(),
        }
    }
}

impl From<clowder_ops::backup::BackupFailure> for ApiError {
    fn from(e: clowder_ops::backup::BackupFailure) -> Self {
        use clowder_ops::backup::BackupFailure;
        match e {
            BackupFailure::Running => ApiError {
                retry_after: Some(std::time::Duration::from_secs(30)),
                ..ApiError::new(ErrorCode::BackupRunning, "a backup is already running; try again when it ends")
            },
            // The cause is for the administrator who asked (it names the destination, never
            // personal data); it is also logged and on /health/detailed.
            other => ApiError::new(ErrorCode::BackupFailed, format!("the backup failed: {other}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use clowder_schemas::appointments::Status;
    use clowder_schemas::whiteboard::RoomState;
    use clowder_schemas::*;

    fn at(secs: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(secs).expect("a valid instant")
    }

    /// One of each kind of domain error, with its code, field and status on the wire.
    fn samples() -> Vec<(DomainError, ErrorCode, Option<&'static str>, StatusCode)> {
        use DomainError as E;
        use ErrorCode as C;
        use StatusCode as S;
        vec![
            (
                E::Validation(ValidationError::new("address.city", "must not be blank")),
                C::ValidationFailed,
                Some("address.city"),
                S::UNPROCESSABLE_ENTITY,
            ),
            (E::ClientNotFound(ClientId::from_u128(1)), C::ClientNotFound, None, S::NOT_FOUND),
            (E::OwnerNotFound(ClientId::from_u128(2)), C::ClientNotFound, Some("client_id"), S::NOT_FOUND),
            (E::PatientNotFound(PatientId::from_u128(3)), C::PatientNotFound, None, S::NOT_FOUND),
            (E::Duplicate { field: "email" }, C::DuplicateValue, Some("email"), S::CONFLICT),
            (E::InvalidCredentials, C::InvalidCredentials, None, S::UNAUTHORIZED),
            (
                E::Forbidden { permission: Permission::PatientsView, scope: Scope::Own },
                C::Forbidden,
                None,
                S::FORBIDDEN,
            ),
            (
                E::Forbidden { permission: Permission::AppointmentsOverbook, scope: Scope::All },
                C::Forbidden,
                None,
                S::FORBIDDEN,
            ),
            (E::RoleNotFound(RoleId::from_u128(4)), C::RoleNotFound, None, S::NOT_FOUND),
            (E::BuiltinRole, C::RoleIsBuiltin, None, S::CONFLICT),
            (E::LastAdministrator, C::LastAdministrator, None, S::CONFLICT),
            (E::UserNotFound(UserId::from_u128(5)), C::UserNotFound, None, S::NOT_FOUND),
            (E::SessionNotFound(SessionId::from_u128(6)), C::SessionNotFound, None, S::NOT_FOUND),
            (E::AccountLocked { until: at(1_800_000_000) }, C::AccountLocked, None, S::LOCKED),
            (
                E::AppointmentTypeNotFound(AppointmentTypeId::from_u128(7)),
                C::AppointmentTypeNotFound,
                None,
                S::NOT_FOUND,
            ),
            (E::LocationNotFound(LocationId::from_u128(8)), C::LocationNotFound, None, S::NOT_FOUND),
            (E::RoomNotFound(RoomId::from_u128(9)), C::RoomNotFound, None, S::NOT_FOUND),
            (E::StaffNotFound(StaffId::from_u128(10)), C::StaffNotFound, None, S::NOT_FOUND),
            (E::ShiftNotFound(ShiftId::from_u128(11)), C::ShiftNotFound, None, S::NOT_FOUND),
            (E::TimeOffNotFound(TimeOffId::from_u128(12)), C::TimeOffNotFound, None, S::NOT_FOUND),
            (E::AppointmentNotFound(AppointmentId::from_u128(13)), C::AppointmentNotFound, None, S::NOT_FOUND),
            (
                E::ShiftOverlap {
                    other: ShiftId::from_u128(14),
                    starts_at: at(1_800_000_000),
                    ends_at: at(1_800_003_600),
                },
                C::ShiftOverlap,
                None,
                S::CONFLICT,
            ),
            (
                E::AppointmentConflict {
                    field: "vet_id",
                    other: AppointmentId::from_u128(15),
                    start: at(1_800_000_000),
                    until: at(1_800_001_800),
                },
                C::AppointmentConflict,
                Some("vet_id"),
                S::CONFLICT,
            ),
            (
                E::AppointmentConflict {
                    field: "room_id",
                    other: AppointmentId::from_u128(16),
                    start: at(1_800_000_000),
                    until: at(1_800_001_800),
                },
                C::AppointmentConflict,
                Some("room_id"),
                S::CONFLICT,
            ),
            (
                E::AppointmentConflict {
                    field: "patient_id",
                    other: AppointmentId::from_u128(17),
                    start: at(1_800_000_000),
                    until: at(1_800_001_800),
                },
                C::AppointmentConflict,
                Some("patient_id"),
                S::CONFLICT,
            ),
            (
                E::InvalidTransition {
                    from: Status::Completed,
                    to: "scheduled".into(),
                    allowed: vec![],
                    message: "a completed appointment cannot change".into(),
                },
                C::InvalidTransition,
                None,
                S::CONFLICT,
            ),
            (E::WaitlistEntryNotFound(WaitlistId::from_u128(18)), C::WaitlistEntryNotFound, None, S::NOT_FOUND),
            (E::OfferNotFound(OfferId::from_u128(19)), C::OfferNotFound, None, S::NOT_FOUND),
            (E::OfferClosed("the slot has been taken".into()), C::OfferClosed, None, S::CONFLICT),
            (
                E::RoomTransition {
                    from: RoomState::Free,
                    to: RoomState::InExam,
                    allowed: vec![RoomState::PatientWaiting, RoomState::OutOfService],
                },
                C::InvalidTransition,
                None,
                S::CONFLICT,
            ),
            (E::DeviceNotFound(DeviceId::from_u128(20)), C::DeviceNotFound, None, S::NOT_FOUND),
            (E::PinLocked, C::PinLocked, None, S::LOCKED),
            (E::TotpRequired, C::TotpRequired, None, S::UNAUTHORIZED),
            (E::PasswordChangeRequired, C::PasswordChangeRequired, None, S::FORBIDDEN),
            (E::Unauthenticated, C::Unauthenticated, None, S::UNAUTHORIZED),
            (
                E::Overloaded { kind: "client", retry_after: Duration::from_secs(2) },
                C::Overloaded,
                None,
                S::SERVICE_UNAVAILABLE,
            ),
            (E::Timeout { kind: "patient" }, C::Timeout, None, S::SERVICE_UNAVAILABLE),
            (E::ShuttingDown, C::Unavailable, None, S::SERVICE_UNAVAILABLE),
            (E::DiskFull, C::InsufficientStorage, None, S::INSUFFICIENT_STORAGE),
            (E::ActorFailed { kind: "client" }, C::InternalError, None, S::INTERNAL_SERVER_ERROR),
            (
                E::Store(clowder_actors::store::StoreError::InUse("/secret/clowder.redb".into())),
                C::InternalError,
                None,
                S::INTERNAL_SERVER_ERROR,
            ),
            (E::Internal("commit failed: disk full".into()), C::InternalError, None, S::INTERNAL_SERVER_ERROR),
        ]
    }

    #[test]
    fn every_domain_error_answers_its_own_code_field_and_status() {
        for (e, code, field, status) in samples() {
            let what = format!("{e:?}");
            let internal = e.is_internal();
            let api = ApiError::from(e);
            assert_eq!(api.code, code, "{what}");
            assert_eq!(api.field.as_deref(), field, "{what}");
            assert_eq!(status_of(api.code.kind()), status, "{what}");
            assert_eq!(internal, status == StatusCode::INTERNAL_SERVER_ERROR, "{what}");
            assert!(!api.message.trim().is_empty(), "{what}");
        }
    }

    #[test]
    fn an_internal_error_answers_the_generic_message_not_its_cause() {
        for (e, ..) in samples().into_iter().filter(|(e, ..)| e.is_internal()) {
            let cause = e.to_string();
            let api = ApiError::from(e);
            assert_eq!(api.message, ApiError::internal().message, "{cause}");
            assert!(api.field.is_none() && api.details.is_none(), "{cause}");
        }
    }

    #[test]
    fn details_and_retry_after_come_from_the_domain_error() {
        let conflict = ApiError::from(DomainError::AppointmentConflict {
            field: "room_id",
            other: AppointmentId::from_u128(1),
            start: at(1_800_000_000),
            until: at(1_800_001_800),
        });
        assert_eq!(conflict.details.as_ref().and_then(|d| d.get("appointment_id")).map(|v| v.is_string()), Some(true));
        assert!(conflict.message.starts_with("the room is already booked"), "{}", conflict.message);
        let room = ApiError::from(DomainError::RoomTransition {
            from: RoomState::Free,
            to: RoomState::InExam,
            allowed: vec![RoomState::PatientWaiting],
        });
        assert_eq!(
            room.details,
            Some(serde_json::json!({ "from": "free", "to": "in_exam", "allowed": ["patient_waiting"] }))
        );
        let timeout = ApiError::from(DomainError::Timeout { kind: "patient" }).into_response();
        assert_eq!(timeout.headers()[header::RETRY_AFTER], "1");
        let stopping = ApiError::from(DomainError::ShuttingDown).into_response();
        assert_eq!(stopping.headers()[header::RETRY_AFTER], "5");
        assert!(ApiError::from(DomainError::BuiltinRole).retry_after.is_none());
    }

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
