//! The stable error-code table. A code, once shipped, never changes meaning or name: clients
//! and integrations match on it. HTTP statuses are assigned from the kind, in one place in
//! `web`; this crate knows nothing of HTTP.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The broad class of an error; `web` maps each kind to exactly one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request body could not be read as JSON (400).
    Malformed,
    /// The request was understood but a value is not acceptable (422).
    Invalid,
    /// No valid credentials or session (401).
    Unauthenticated,
    /// Signed in, but not allowed (403).
    Forbidden,
    /// The thing asked for does not exist (404).
    NotFound,
    /// The HTTP method is not supported on this route (405).
    MethodNotAllowed,
    /// The request conflicts with the current state, e.g. a duplicate unique value (409).
    Conflict,
    /// The account is locked for a while (423).
    Locked,
    /// The request body is larger than allowed (413).
    TooLarge,
    /// The request body is not JSON (415).
    UnsupportedMediaType,
    /// Too many requests (429).
    RateLimited,
    /// The server is overloaded or a component is down; retry later (503).
    Unavailable,
    /// A bug or an I/O failure on our side (500).
    Internal,
}

/// Every error code Clowder can answer with. The wire name is the snake_case variant name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidJson,
    UnsupportedMediaType,
    ValidationFailed,
    PayloadTooLarge,
    Unauthenticated,
    InvalidCredentials,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    ClientNotFound,
    PatientNotFound,
    UserNotFound,
    DuplicateValue,
    RoleNotFound,
    SessionNotFound,
    RoleIsBuiltin,
    LastAdministrator,
    AccountLocked,
    PasswordChangeRequired,
    CsrfRejected,
    RateLimited,
    DeviceNotFound,
    PinLocked,
    TotpRequired,
    TotpEnrollmentRequired,
    AppointmentTypeNotFound,
    LocationNotFound,
    RoomNotFound,
    StaffNotFound,
    ShiftNotFound,
    TimeOffNotFound,
    AppointmentNotFound,
    WaitlistEntryNotFound,
    OfferNotFound,
    FeedNotFound,
    AppointmentConflict,
    InvalidTransition,
    ShiftOverlap,
    OfferClosed,
    Overloaded,
    Timeout,
    Unavailable,
    InternalError,
    IdempotencyKeyReused,
    RequestInProgress,
    IdempotentAnswerLost,
}

impl ErrorCode {
    /// The class of this code, from which `web` derives the HTTP status.
    pub const fn kind(self) -> ErrorKind {
        use ErrorCode::*;
        match self {
            InvalidJson => ErrorKind::Malformed,
            UnsupportedMediaType => ErrorKind::UnsupportedMediaType,
            ValidationFailed => ErrorKind::Invalid,
            PayloadTooLarge => ErrorKind::TooLarge,
            Unauthenticated | InvalidCredentials | TotpRequired => ErrorKind::Unauthenticated,
            TotpEnrollmentRequired => ErrorKind::Forbidden,
            Forbidden | PasswordChangeRequired | CsrfRejected => ErrorKind::Forbidden,
            NotFound | ClientNotFound | PatientNotFound | UserNotFound | RoleNotFound | SessionNotFound => {
                ErrorKind::NotFound
            }
            RoleIsBuiltin | LastAdministrator => ErrorKind::Conflict,
            AccountLocked | PinLocked => ErrorKind::Locked,
            DeviceNotFound | AppointmentTypeNotFound => ErrorKind::NotFound,
            LocationNotFound
            | RoomNotFound
            | StaffNotFound
            | ShiftNotFound
            | TimeOffNotFound
            | AppointmentNotFound
            | WaitlistEntryNotFound
            | OfferNotFound
            | FeedNotFound => ErrorKind::NotFound,
            AppointmentConflict | InvalidTransition | ShiftOverlap | OfferClosed => ErrorKind::Conflict,
            RateLimited => ErrorKind::RateLimited,
            MethodNotAllowed => ErrorKind::MethodNotAllowed,
            DuplicateValue => ErrorKind::Conflict,
            Overloaded | Timeout | Unavailable => ErrorKind::Unavailable,
            InternalError => ErrorKind::Internal,
            IdempotencyKeyReused => ErrorKind::Invalid,
            RequestInProgress | IdempotentAnswerLost => ErrorKind::Conflict,
        }
    }

    /// The wire name, e.g. `validation_failed`.
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            InvalidJson => "invalid_json",
            UnsupportedMediaType => "unsupported_media_type",
            ValidationFailed => "validation_failed",
            PayloadTooLarge => "payload_too_large",
            Unauthenticated => "unauthenticated",
            InvalidCredentials => "invalid_credentials",
            Forbidden => "forbidden",
            NotFound => "not_found",
            MethodNotAllowed => "method_not_allowed",
            ClientNotFound => "client_not_found",
            PatientNotFound => "patient_not_found",
            UserNotFound => "user_not_found",
            DuplicateValue => "duplicate_value",
            RoleNotFound => "role_not_found",
            SessionNotFound => "session_not_found",
            RoleIsBuiltin => "role_is_builtin",
            LastAdministrator => "last_administrator",
            AccountLocked => "account_locked",
            PasswordChangeRequired => "password_change_required",
            CsrfRejected => "csrf_rejected",
            RateLimited => "rate_limited",
            DeviceNotFound => "device_not_found",
            PinLocked => "pin_locked",
            TotpRequired => "totp_required",
            TotpEnrollmentRequired => "totp_enrollment_required",
            AppointmentTypeNotFound => "appointment_type_not_found",
            LocationNotFound => "location_not_found",
            RoomNotFound => "room_not_found",
            StaffNotFound => "staff_not_found",
            ShiftNotFound => "shift_not_found",
            TimeOffNotFound => "time_off_not_found",
            AppointmentNotFound => "appointment_not_found",
            WaitlistEntryNotFound => "waitlist_entry_not_found",
            OfferNotFound => "offer_not_found",
            FeedNotFound => "feed_not_found",
            AppointmentConflict => "appointment_conflict",
            InvalidTransition => "invalid_transition",
            ShiftOverlap => "shift_overlap",
            OfferClosed => "offer_closed",
            Overloaded => "overloaded",
            Timeout => "timeout",
            Unavailable => "unavailable",
            InternalError => "internal_error",
            IdempotencyKeyReused => "idempotency_key_reused",
            RequestInProgress => "request_in_progress",
            IdempotentAnswerLost => "idempotent_answer_lost",
        }
    }

    /// Every code, for the documentation table and its test.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::InvalidJson,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::ValidationFailed,
        ErrorCode::PayloadTooLarge,
        ErrorCode::Unauthenticated,
        ErrorCode::InvalidCredentials,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::ClientNotFound,
        ErrorCode::PatientNotFound,
        ErrorCode::UserNotFound,
        ErrorCode::DuplicateValue,
        ErrorCode::RoleNotFound,
        ErrorCode::SessionNotFound,
        ErrorCode::RoleIsBuiltin,
        ErrorCode::LastAdministrator,
        ErrorCode::AccountLocked,
        ErrorCode::PasswordChangeRequired,
        ErrorCode::CsrfRejected,
        ErrorCode::RateLimited,
        ErrorCode::DeviceNotFound,
        ErrorCode::PinLocked,
        ErrorCode::TotpRequired,
        ErrorCode::TotpEnrollmentRequired,
        ErrorCode::AppointmentTypeNotFound,
        ErrorCode::LocationNotFound,
        ErrorCode::RoomNotFound,
        ErrorCode::StaffNotFound,
        ErrorCode::ShiftNotFound,
        ErrorCode::TimeOffNotFound,
        ErrorCode::AppointmentNotFound,
        ErrorCode::WaitlistEntryNotFound,
        ErrorCode::OfferNotFound,
        ErrorCode::FeedNotFound,
        ErrorCode::AppointmentConflict,
        ErrorCode::InvalidTransition,
        ErrorCode::ShiftOverlap,
        ErrorCode::OfferClosed,
        ErrorCode::Overloaded,
        ErrorCode::Timeout,
        ErrorCode::Unavailable,
        ErrorCode::InternalError,
        ErrorCode::IdempotencyKeyReused,
        ErrorCode::RequestInProgress,
        ErrorCode::IdempotentAnswerLost,
    ];
}

/// The body of every error response: `{"error": {...}}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorResponse {
    pub error: ErrorBody,
}

/// What went wrong, in a stable code and a sentence for people.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    /// The request field at fault, when one is (JSON name, dotted for nested fields).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub field: Option<String>,
    /// Machine-readable particulars for some codes, e.g. the conflicting appointment of
    /// `appointment_conflict` or the `allowed` moves of `invalid_transition`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

/// A value that failed validation: which field, and why, in words a receptionist understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }

    /// Prefixes the field with its parent, e.g. `city` inside `address` becomes `address.city`.
    pub fn within(mut self, parent: &str) -> Self {
        self.field = format!("{parent}.{}", self.field);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_match_serde_names() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json.as_str().unwrap(), code.as_str());
        }
    }
}
