//! Domain errors of the actor layer, in the clinic's words. `web` maps each to one error
//! code and HTTP status; nothing here knows about HTTP.

use std::time::Duration;

use clowder_schemas::{ClientId, PatientId, ValidationError};

use crate::runtime::AskError;
use crate::store::{CommitError, StoreError};

/// The result of this crate's fallible operations (`Error` unless another is named).
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Validation(#[from] ValidationError),
    #[error("no client with id {0}")]
    ClientNotFound(ClientId),
    #[error("no patient with id {0}")]
    PatientNotFound(PatientId),
    /// The `client_id` given for a patient names no client.
    #[error("no client with id {0} to own the patient")]
    OwnerNotFound(ClientId),
    /// A unique value (email, microchip, username) already belongs to another record.
    #[error("{field} is already used by another record")]
    Duplicate { field: &'static str },
    #[error("wrong username or password")]
    InvalidCredentials,
    /// The caller lacks a permission with this scope (or would grant one they do not hold).
    #[error("this needs the permission {permission}{}", if *scope == clowder_schemas::access::Scope::All { " with scope all" } else { "" })]
    Forbidden { permission: clowder_schemas::access::Permission, scope: clowder_schemas::access::Scope },
    #[error("no role with id {0}")]
    RoleNotFound(clowder_schemas::RoleId),
    #[error("built-in roles cannot be changed; create a custom role instead")]
    BuiltinRole,
    #[error("this would leave the clinic without an active administrator")]
    LastAdministrator,
    #[error("no user with id {0}")]
    UserNotFound(clowder_schemas::UserId),
    #[error("no session with id {0}")]
    SessionNotFound(clowder_schemas::SessionId),
    /// Too many wrong passwords: sign-in is refused until `until`.
    #[error("the account is locked until {until}")]
    AccountLocked { until: jiff::Timestamp },
    #[error("no appointment type with id {0}")]
    AppointmentTypeNotFound(clowder_schemas::AppointmentTypeId),
    #[error("no location with id {0}")]
    LocationNotFound(clowder_schemas::LocationId),
    #[error("no room with id {0}")]
    RoomNotFound(clowder_schemas::RoomId),
    #[error("no staff member with id {0}")]
    StaffNotFound(clowder_schemas::StaffId),
    #[error("no shift with id {0}")]
    ShiftNotFound(clowder_schemas::ShiftId),
    #[error("no time-off request with id {0}")]
    TimeOffNotFound(clowder_schemas::TimeOffId),
    #[error("no appointment with id {0}")]
    AppointmentNotFound(clowder_schemas::AppointmentId),
    /// The same person already works then.
    #[error("overlaps shift {other} ({starts_at} to {ends_at})")]
    ShiftOverlap { other: clowder_schemas::ShiftId, starts_at: jiff::Timestamp, ends_at: jiff::Timestamp },
    /// A vet, room or patient is already held by another appointment then.
    #[error("the {field} is already booked by appointment {other} ({start} to {until})")]
    AppointmentConflict {
        field: &'static str,
        other: clowder_schemas::AppointmentId,
        start: jiff::Timestamp,
        until: jiff::Timestamp,
    },
    /// A status move the workflow does not allow (or a change a status no longer allows).
    #[error("cannot go from {from} to {to}")]
    InvalidTransition {
        from: clowder_schemas::appointments::Status,
        to: String,
        allowed: Vec<clowder_schemas::appointments::Status>,
        message: String,
    },
    #[error("no waitlist entry with id {0}")]
    WaitlistEntryNotFound(clowder_schemas::WaitlistId),
    #[error("no waitlist offer with id {0}")]
    OfferNotFound(clowder_schemas::OfferId),
    /// The offer can no longer be accepted.
    #[error("the offer is closed: {0}")]
    OfferClosed(String),
    /// A room move the whiteboard does not allow.
    #[error("a room that is {from} cannot become {to}")]
    RoomTransition {
        from: clowder_schemas::whiteboard::RoomState,
        to: clowder_schemas::whiteboard::RoomState,
        allowed: Vec<clowder_schemas::whiteboard::RoomState>,
    },
    #[error("no device with id {0}")]
    DeviceNotFound(clowder_schemas::DeviceId),
    /// Too many wrong PINs: PIN unlock is refused until the next password sign-in.
    #[error("PIN unlock is locked for this user; sign in with the password")]
    PinLocked,
    /// Second-factor sign-in is on for this user: the code is missing.
    #[error("enter the code from your authenticator app")]
    TotpRequired,
    /// The user must choose a new password before doing anything else.
    #[error("choose a new password first")]
    PasswordChangeRequired,
    #[error("not signed in, or the session has ended")]
    Unauthenticated,
    /// The owning actor's mailbox is full; the caller should retry shortly.
    #[error("the {kind} service is busy; retry shortly")]
    Overloaded { kind: &'static str, retry_after: Duration },
    #[error("the {kind} service did not answer in time")]
    Timeout { kind: &'static str },
    /// The handler panicked or the actor stopped; the actor restarts from the store.
    #[error("the {kind} service failed while handling the request")]
    ActorFailed { kind: &'static str },
    #[error("the store is shutting down")]
    ShuttingDown,
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The search index failed (it is derived data: `clowder reindex` rebuilds it).
    #[error(transparent)]
    Search(#[from] clowder_index::IndexError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub(crate) fn from_ask(kind: &'static str, e: AskError) -> Self {
        match e {
            AskError::Overloaded { retry_after } => Error::Overloaded { kind, retry_after },
            AskError::Timeout => Error::Timeout { kind },
            AskError::Failed => Error::ActorFailed { kind },
        }
    }
}

impl From<crate::store::CodecError> for Error {
    fn from(e: crate::store::CodecError) -> Self {
        Error::Store(e.into())
    }
}

impl From<CommitError> for Error {
    fn from(e: CommitError) -> Self {
        match e {
            CommitError::Duplicate { field } => Error::Duplicate { field },
            CommitError::Closed => Error::ShuttingDown,
            CommitError::Store(m) => Error::Internal(format!("commit failed: {m}")),
            CommitError::Refused(m) => Error::Internal(format!("change refused: {m}")),
        }
    }
}
