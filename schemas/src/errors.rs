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
    /// The server's disk is below its reserve: changes are refused until space is freed (507).
    InsufficientStorage,
    /// A bug or an I/O failure on our side (500).
    Internal,
}

/// Every error code Clowder can answer with. The wire name is the snake_case variant name,
/// derived (serde for JSON, strum for `as_str` and `ALL`), never written out by hand.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, strum::IntoStaticStr, strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
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
    BackupsDisabled,
    BackupRunning,
    BackupFailed,
    InsufficientStorage,
    JobNotFound,
    RecordChanged,
    MessageNotFound,
    TemplateNotFound,
    AutomationNotFound,
    WebhookSignatureInvalid,
    BatchNotFound,
    SegmentNotFound,
    CampaignNotFound,
    ReferralNotFound,
    VisitNotFound,
    NoteNotFound,
    VitalsNotFound,
    ProblemNotFound,
    CampaignStarted,
    FactSetNotFound,
    NoteSigned,
    NoteUnsigned,
    PrescriptionNotFound,
    ControlledContainerNotFound,
    ControlledEntryNotFound,
    /// A refill asked of a prescription with none remaining.
    NoRefillsLeft,
    /// A change a prescription's status no longer allows (refilling a cancelled one).
    PrescriptionNotActive,
    VaccinationNotFound,
    ProductNotFound,
    VendorNotFound,
    PurchaseOrderNotFound,
    StockLotNotFound,
    CatalogueItemNotFound,
    InvoiceNotFound,
    EstimateNotFound,
    PaymentPlanNotFound,
    PaymentNotFound,
    AccountingExportNotFound,
    /// An accounting export over days already exported (`details.export_id` names the
    /// earlier one); `reexport` with a reason exports them again.
    ExportOverlap,
    /// The loyalty programme is off: nothing is redeemed or adjusted.
    LoyaltyDisabled,
    LabOrderNotFound,
    LabUnmatchedNotFound,
    /// A lab order reviewed and signed off: a second sign-off, or a result or cancel after it
    /// (corrections are amendments).
    LabOrderReviewed,
    /// A result, review or amendment of a cancelled lab order.
    LabOrderCancelled,
    /// An unmatched lab result already attached or discarded.
    LabUnmatchedResolved,
    DocumentNotFound,
    /// An upload whose content is not an accepted document type (an executable, HTML, an
    /// unknown binary), whatever its file name says.
    DocumentTypeRefused,
    ConsentTemplateNotFound,
    ConsentFormNotFound,
    /// A consent form already signed: a second signature, an edit or a void (it never changes).
    ConsentFormSigned,
    /// A consent form voided before signing: it cannot be signed or edited.
    ConsentFormVoided,
    WardNotFound,
    AdmissionNotFound,
    /// A change to the sheet of a cat already discharged.
    AdmissionDischarged,
    /// A slot of the treatment sheet that is already marked done or skipped.
    SlotAlreadyMarked,
    /// A cage with a cat in it removed, renamed or taken out of use by a ward edit.
    CageOccupied,
    /// A treatment of the sheet stopped a second time.
    TreatmentStopped,
    ProtocolNotFound,
    TreatmentPlanNotFound,
    /// A plan change naming a step number the plan does not have.
    PlanStepNotFound,
    /// Applying a protocol that has been deactivated.
    ProtocolInactive,
    /// Marking done, skipping, moving or booking a step already done or skipped.
    PlanStepAlreadySettled,
    /// A change to a plan that is completed or cancelled.
    TreatmentPlanClosed,
    /// Booking a plan step already booked in an appointment that still takes place.
    PlanStepAlreadyBooked,
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
            BackupsDisabled | BackupRunning => ErrorKind::Conflict,
            BackupFailed => ErrorKind::Unavailable,
            InsufficientStorage => ErrorKind::InsufficientStorage,
            JobNotFound => ErrorKind::NotFound,
            RecordChanged => ErrorKind::Conflict,
            MessageNotFound => ErrorKind::NotFound,
            TemplateNotFound => ErrorKind::NotFound,
            AutomationNotFound => ErrorKind::NotFound,
            WebhookSignatureInvalid => ErrorKind::Unauthenticated,
            BatchNotFound => ErrorKind::NotFound,
            SegmentNotFound | CampaignNotFound => ErrorKind::NotFound,
            ReferralNotFound => ErrorKind::NotFound,
            VisitNotFound | NoteNotFound | VitalsNotFound | ProblemNotFound => ErrorKind::NotFound,
            CampaignStarted => ErrorKind::Conflict,
            FactSetNotFound => ErrorKind::NotFound,
            NoteSigned | NoteUnsigned => ErrorKind::Conflict,
            PrescriptionNotFound | ControlledContainerNotFound | ControlledEntryNotFound => ErrorKind::NotFound,
            NoRefillsLeft | PrescriptionNotActive => ErrorKind::Conflict,
            VaccinationNotFound => ErrorKind::NotFound,
            ProductNotFound | VendorNotFound | PurchaseOrderNotFound | StockLotNotFound => ErrorKind::NotFound,
            CatalogueItemNotFound | InvoiceNotFound => ErrorKind::NotFound,
            EstimateNotFound | PaymentPlanNotFound => ErrorKind::NotFound,
            PaymentNotFound => ErrorKind::NotFound,
            AccountingExportNotFound => ErrorKind::NotFound,
            ExportOverlap => ErrorKind::Conflict,
            LoyaltyDisabled => ErrorKind::Conflict,
            LabOrderNotFound | LabUnmatchedNotFound => ErrorKind::NotFound,
            LabOrderReviewed | LabOrderCancelled | LabUnmatchedResolved => ErrorKind::Conflict,
            DocumentNotFound => ErrorKind::NotFound,
            DocumentTypeRefused => ErrorKind::UnsupportedMediaType,
            ConsentTemplateNotFound | ConsentFormNotFound => ErrorKind::NotFound,
            ConsentFormSigned | ConsentFormVoided => ErrorKind::Conflict,
            WardNotFound | AdmissionNotFound => ErrorKind::NotFound,
            AdmissionDischarged | SlotAlreadyMarked | CageOccupied | TreatmentStopped => ErrorKind::Conflict,
            ProtocolNotFound | TreatmentPlanNotFound | PlanStepNotFound => ErrorKind::NotFound,
            ProtocolInactive | PlanStepAlreadySettled | TreatmentPlanClosed | PlanStepAlreadyBooked => {
                ErrorKind::Conflict
            }
        }
    }

    /// The wire name, e.g. `validation_failed`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Every code, in declaration order, for the documentation table and its test.
    pub const ALL: &'static [ErrorCode] = <ErrorCode as strum::VariantArray>::VARIANTS;
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
