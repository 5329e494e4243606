//! Domain errors of the actor layer, in the clinic's words. Each error carries its stable
//! code, the field at fault, its details and a retry hint, and its `Display` is the sentence
//! for people, so `web` maps every one the same way; nothing here knows about HTTP statuses.

use std::time::Duration;

use clowder_schemas::access::{Permission, Scope};
use clowder_schemas::{ClientId, ErrorCode, ErrorKind, PatientId, ValidationError};

use crate::runtime::AskError;
use crate::store::{CommitError, StoreError};

/// The result of this crate's fallible operations (`Error` unless another is named).
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A domain error. Each one carries what a caller needs to answer it: its stable
/// [`ErrorCode`], the request field at fault, machine-readable details and a retry hint;
/// its `Display` is the sentence shown to people (for internal kinds, the cause to log).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{} {}", .0.field, .0.message)]
    Validation(#[from] ValidationError),
    #[error("no client with id {0}")]
    ClientNotFound(ClientId),
    #[error("no patient with id {0}")]
    PatientNotFound(PatientId),
    /// The `client_id` given for a patient names no client.
    #[error("no client with id {0}")]
    OwnerNotFound(ClientId),
    /// A unique value (email, microchip, username) already belongs to another record.
    #[error("this {field} is already used by another record")]
    Duplicate { field: &'static str },
    #[error("wrong username or password")]
    InvalidCredentials,
    /// The caller lacks a permission with this scope (or would grant one they do not hold).
    #[error("you need the permission {permission}{} for this", scope_suffix(*.scope))]
    Forbidden { permission: Permission, scope: Scope },
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
    #[error("too many wrong passwords: the account is locked until {until}")]
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
    #[error("this person already has shift {other} from {starts_at} to {ends_at}")]
    ShiftOverlap { other: clowder_schemas::ShiftId, starts_at: jiff::Timestamp, ends_at: jiff::Timestamp },
    /// A vet, room or patient (`field` is `vet_id`, `room_id` or `patient_id`) is already
    /// held by another appointment then.
    #[error(
        "{} is already booked by appointment {other} from {start} until {until} (buffer included)",
        booked_what(.field)
    )]
    AppointmentConflict {
        field: &'static str,
        other: clowder_schemas::AppointmentId,
        start: jiff::Timestamp,
        until: jiff::Timestamp,
    },
    /// A status move the workflow does not allow (or a change a status no longer allows);
    /// `message` says which, in words.
    #[error("{message}")]
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
    /// The offer can no longer be accepted; the text says why.
    #[error("this offer can no longer be accepted: {0}")]
    OfferClosed(String),
    /// A room move the whiteboard does not allow.
    #[error("a room that is {from} cannot become {to}; allowed: {}", room_states(.allowed))]
    RoomTransition {
        from: clowder_schemas::whiteboard::RoomState,
        to: clowder_schemas::whiteboard::RoomState,
        allowed: Vec<clowder_schemas::whiteboard::RoomState>,
    },
    #[error("no device with id {0}")]
    DeviceNotFound(clowder_schemas::DeviceId),
    /// Too many wrong PINs: PIN unlock is refused until the next password sign-in.
    #[error("too many wrong PINs: sign in with your password to use PIN unlock again")]
    PinLocked,
    /// Second-factor sign-in is on for this user: the code is missing.
    #[error("enter the code from your authenticator app (totp_code) or a recovery code")]
    TotpRequired,
    /// The user must choose a new password before doing anything else.
    #[error("choose a new password first (POST /api/auth/password)")]
    PasswordChangeRequired,
    #[error("sign in first: no valid session")]
    Unauthenticated,
    /// The owning actor's mailbox is full; the caller should retry after `retry_after`.
    #[error("the {kind} service is busy; retry in a moment")]
    Overloaded { kind: &'static str, retry_after: Duration },
    /// The outcome is unknown: the command may still be applied.
    #[error("the {kind} service did not answer in time")]
    Timeout { kind: &'static str },
    /// The handler panicked or the actor stopped; the actor restarts from the store.
    #[error("the {kind} service failed while handling the request")]
    ActorFailed { kind: &'static str },
    /// The store no longer accepts writes.
    #[error("the server is shutting down; retry shortly")]
    ShuttingDown,
    /// The data directory's disk is below its reserve (`CLOWDER_MIN_FREE_MB`): the change was
    /// refused before anything was written.
    #[error(
        "The server's disk is nearly full; changes are refused until space is freed. Nothing was saved. \
         Please tell your IT support."
    )]
    DiskFull,
    #[error(transparent)]
    Store(StoreError),
    /// The search index failed (it is derived data: `clowder reindex` rebuilds it).
    #[error(transparent)]
    Search(#[from] clowder_index::IndexError),
    #[error("no job with id {0}")]
    JobNotFound(clowder_schemas::JobId),
    #[error("no message with id {0}")]
    MessageNotFound(clowder_schemas::MessageId),
    #[error("no template with id {0}")]
    TemplateNotFound(clowder_schemas::TemplateId),
    #[error("no automation rule named {0:?}")]
    AutomationNotFound(String),
    #[error("no message batch with id {0}")]
    BatchNotFound(clowder_schemas::BatchId),
    #[error("no segment with id {0}")]
    SegmentNotFound(clowder_schemas::ids::SegmentId),
    #[error("no campaign with id {0}")]
    CampaignNotFound(clowder_schemas::ids::CampaignId),
    #[error("no referral with id {0}")]
    ReferralNotFound(clowder_schemas::ids::ReferralId),
    #[error("no visit with id {0}")]
    VisitNotFound(clowder_schemas::ids::VisitId),
    #[error("no note with id {0}")]
    NoteNotFound(clowder_schemas::ids::NoteId),
    #[error("no vitals record with id {0}")]
    VitalsNotFound(clowder_schemas::ids::VitalsId),
    #[error("no problem with id {0}")]
    ProblemNotFound(clowder_schemas::ids::ProblemId),
    #[error("no document with id {0}")]
    DocumentNotFound(clowder_schemas::ids::DocumentId),
    /// An upload's content is not an accepted type (told from its bytes).
    #[error("{0}")]
    DocumentTypeRefused(clowder_schemas::documents::Refused),
    /// An upload is larger than `CLOWDER_DOCUMENT_MAX_BYTES`.
    #[error("the file is larger than the {max} bytes a document may have (CLOWDER_DOCUMENT_MAX_BYTES)")]
    DocumentTooLarge { max: u64 },
    #[error("no consent template with id {0}")]
    ConsentTemplateNotFound(clowder_schemas::ids::ConsentTemplateId),
    #[error("no consent form with id {0}")]
    ConsentFormNotFound(clowder_schemas::ids::ConsentFormId),
    /// A signed consent form never changes.
    #[error("consent form {0} is already signed; a signed form cannot be signed again, changed or voided")]
    ConsentFormSigned(clowder_schemas::ids::ConsentFormId),
    #[error("consent form {0} was voided; make a new one")]
    ConsentFormVoided(clowder_schemas::ids::ConsentFormId),
    #[error("no clinical fact set or version {0}")]
    FactSetNotFound(String),
    #[error("no lab order with id {0}")]
    LabOrderNotFound(clowder_schemas::ids::LabOrderId),
    #[error("no unmatched lab result with id {0}")]
    LabUnmatchedNotFound(clowder_schemas::ids::LabUnmatchedId),
    /// Reviewed and signed off: nothing changes it but an amendment.
    #[error("the lab order is reviewed and signed off; correct a result with POST /api/lab-orders/{0}/amend")]
    LabOrderReviewed(clowder_schemas::ids::LabOrderId),
    #[error("the lab order is cancelled: {0}")]
    LabOrderCancelled(String),
    #[error("this unmatched lab result was already {0}")]
    LabUnmatchedResolved(&'static str),
    #[error("no vaccination with id {0}")]
    VaccinationNotFound(clowder_schemas::ids::VaccinationId),
    #[error("no catalogue item with id {0}")]
    CatalogueItemNotFound(clowder_schemas::ids::CatalogueItemId),
    #[error("no invoice with id {0}")]
    InvoiceNotFound(clowder_schemas::ids::InvoiceId),
    #[error("no payment with id {0}")]
    PaymentNotFound(clowder_schemas::ids::PaymentId),
    #[error("no accounting export with id {0}")]
    AccountingExportNotFound(clowder_schemas::ids::AccountingExportId),
    /// Days of an export's range were exported already (nothing goes out twice unless a
    /// re-export with a reason is asked for).
    #[error(
        "the {kind} of {day} were exported already (export {earlier}); ask for a re-export with a reason to export them again"
    )]
    ExportOverlap { earlier: clowder_schemas::ids::AccountingExportId, kind: &'static str, day: jiff::civil::Date },
    #[error("the loyalty programme is off: a manager turns it on in its settings")]
    LoyaltyDisabled,
    #[error("no ward with id {0}")]
    WardNotFound(clowder_schemas::ids::WardId),
    #[error("no admission with id {0}")]
    AdmissionNotFound(clowder_schemas::ids::AdmissionId),
    #[error("the cat was discharged: its treatment sheet is closed")]
    AdmissionDischarged(clowder_schemas::ids::AdmissionId),
    /// A slot marked twice (names the first mark's outcome).
    #[error("this slot is already marked {0}; a second mark is refused")]
    SlotAlreadyMarked(&'static str),
    /// A ward edit that would remove, rename or close a cage with a cat in it.
    #[error("cage {0:?} has a cat in it: move or discharge the cat first")]
    CageOccupied(String),
    #[error("this treatment was stopped already")]
    TreatmentStopped,
    #[error("no protocol with id {0}")]
    ProtocolNotFound(clowder_schemas::ids::ProtocolId),
    #[error("no treatment plan with id {0}")]
    TreatmentPlanNotFound(clowder_schemas::ids::TreatmentPlanId),
    #[error("the plan has no step {0}")]
    PlanStepNotFound(u32),
    #[error("the protocol is inactive: reactivate it before applying it")]
    ProtocolInactive(clowder_schemas::ids::ProtocolId),
    /// A step already done or skipped (names which).
    #[error("step {0} is already {1}")]
    PlanStepAlreadySettled(u32, &'static str),
    /// A change to a completed or cancelled plan.
    #[error("the plan is {0}: it no longer changes")]
    TreatmentPlanClosed(&'static str),
    /// Booking a step already booked in an appointment that still takes place (names the
    /// step): the first booking stands; move or cancel that appointment instead.
    #[error("step {0} is already booked in appointment {1}; move or cancel that appointment first")]
    PlanStepAlreadyBooked(u32, clowder_schemas::ids::AppointmentId),
    /// An invoice cannot make this move from its status (editing an issued invoice, a second
    /// void).
    #[error("a {} invoice cannot be {to}; allowed from: {}", from.as_str(), allowed.join(", "))]
    InvoiceTransition { from: clowder_schemas::invoices::InvoiceStatus, to: &'static str, allowed: Vec<&'static str> },
    #[error("no estimate with id {0}")]
    EstimateNotFound(clowder_schemas::ids::EstimateId),
    /// An estimate cannot make this move from its status (editing a sent one, a second
    /// acceptance).
    #[error("a {} estimate cannot be {to}; allowed from: {}", from.as_str(), allowed.join(", "))]
    EstimateTransition {
        from: clowder_schemas::estimates::EstimateStatus,
        to: &'static str,
        allowed: Vec<&'static str>,
    },
    #[error("no payment plan with id {0}")]
    PaymentPlanNotFound(clowder_schemas::ids::PaymentPlanId),
    /// A payment plan cannot make this move from its status (changing a cancelled plan).
    #[error("a {from} payment plan cannot be {to}; allowed from: {}", allowed.join(", "))]
    PaymentPlanTransition { from: &'static str, to: &'static str, allowed: Vec<&'static str> },
    /// A referral's credit was already redeemed.
    #[error("this referral's credit was already redeemed")]
    ReferralRedeemed(clowder_schemas::ids::ReferralId),
    /// A job cannot make this move from its state (`action` is `retry` or `cancel`).
    #[error("a {from} job cannot be {action}; allowed from: {}", allowed.join(", "))]
    JobTransition { from: clowder_schemas::jobs::JobState, action: &'static str, allowed: Vec<&'static str> },
    /// A campaign cannot make this move from its state (`action`: `scheduled`, `sent now`,
    /// `cancelled`).
    #[error("a {} campaign cannot be {action}; allowed from: {}", from.as_str(), allowed.join(", "))]
    CampaignTransition {
        from: clowder_schemas::campaigns::CampaignState,
        action: &'static str,
        allowed: Vec<&'static str>,
    },
    /// A campaign's schedule cannot move once sending began (`sending` or `sent`).
    #[error("the campaign is already {}: sending has begun, so its schedule cannot change", state.as_str())]
    CampaignStarted { state: clowder_schemas::campaigns::CampaignState },
    /// The visit's note is signed and locked: changes go in an addendum.
    #[error(
        "the note of this visit is signed and locked; add an addendum with POST /api/visits/{visit_id}/note/addenda"
    )]
    NoteSigned { visit_id: clowder_schemas::ids::VisitId },
    /// An addendum to a note that is not signed yet (edit the draft instead).
    #[error(
        "the note of this visit is not signed yet; change its draft (PUT /api/visits/{visit_id}/note/draft) and sign it"
    )]
    NoteUnsigned { visit_id: clowder_schemas::ids::VisitId },
    /// A visit cannot make this move from its status (`to`: `completed`, `voided`, `changed`,
    /// `signed`).
    #[error("a {} visit cannot be {to}; allowed from: {}", from.as_str(), allowed.join(", "))]
    VisitTransition { from: clowder_schemas::visits::VisitStatus, to: &'static str, allowed: Vec<&'static str> },
    /// Signing needs a veterinarian's staff profile, not only the permission.
    #[error("only a veterinarian may sign: your account has no active veterinarian staff profile")]
    NotAVeterinarian,
    /// The record changed while this request ran (another writer moved it first).
    #[error("the {what} changed while this request ran; read it again and retry")]
    Changed { what: &'static str },
    #[error("internal error: {0}")]
    Internal(String),
    #[error("no prescription with id {0}")]
    PrescriptionNotFound(clowder_schemas::ids::PrescriptionId),
    #[error("no controlled-drug container with id {0}")]
    ControlledContainerNotFound(clowder_schemas::ids::ControlledContainerId),
    #[error("no controlled-drug register entry with id {0}")]
    ControlledEntryNotFound(clowder_schemas::ids::ControlledEntryId),
    /// The caller holds the permission but their staff profile lacks a clinical capability
    /// (`can_prescribe`): 403 naming it.
    #[error("{doing} needs a staff profile with the capability {capability}; yours {why}")]
    CapabilityRequired { capability: &'static str, doing: &'static str, why: &'static str },
    #[error("prescription {0} has no refills left")]
    NoRefillsLeft(clowder_schemas::ids::PrescriptionId),
    #[error("this prescription is {status} and can no longer be {action}")]
    PrescriptionNotActive { status: &'static str, action: &'static str },
    #[error("no product with id {0}")]
    ProductNotFound(clowder_schemas::ids::ProductId),
    #[error("no vendor with id {0}")]
    VendorNotFound(clowder_schemas::ids::VendorId),
    #[error("no purchase order with id {0}")]
    PurchaseOrderNotFound(clowder_schemas::ids::PurchaseOrderId),
    #[error("no lot with id {0} of this product")]
    StockLotNotFound(clowder_schemas::ids::LotId),
    /// A purchase order cannot make this move from its status.
    #[error("a {from} purchase order cannot be {to}; allowed from: {}", allowed.join(", "))]
    PurchaseOrderTransition { from: &'static str, to: &'static str, allowed: Vec<&'static str> },
}

/// How long a caller should wait after a timed-out ask (the actor may still be busy).
const TIMEOUT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// How long a caller should wait while the server shuts down (a restart takes seconds).
const SHUTDOWN_RETRY_AFTER: Duration = Duration::from_secs(5);

fn scope_suffix(scope: Scope) -> &'static str {
    match scope {
        Scope::All => " with scope all",
        Scope::Own => "",
    }
}

fn booked_what(field: &str) -> &'static str {
    match field {
        "vet_id" => "the vet",
        "room_id" => "the room",
        _ => "the patient",
    }
}

fn room_states(states: &[clowder_schemas::whiteboard::RoomState]) -> String {
    states.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

impl Error {
    /// The stable code this error answers with. Every variant is listed (no wildcard), so a
    /// new variant does not compile until it has one.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Validation(_) => ErrorCode::ValidationFailed,
            Error::ClientNotFound(_) | Error::OwnerNotFound(_) => ErrorCode::ClientNotFound,
            Error::PatientNotFound(_) => ErrorCode::PatientNotFound,
            Error::Duplicate { .. } => ErrorCode::DuplicateValue,
            Error::InvalidCredentials => ErrorCode::InvalidCredentials,
            Error::Forbidden { .. } => ErrorCode::Forbidden,
            Error::RoleNotFound(_) => ErrorCode::RoleNotFound,
            Error::BuiltinRole => ErrorCode::RoleIsBuiltin,
            Error::LastAdministrator => ErrorCode::LastAdministrator,
            Error::UserNotFound(_) => ErrorCode::UserNotFound,
            Error::SessionNotFound(_) => ErrorCode::SessionNotFound,
            Error::AccountLocked { .. } => ErrorCode::AccountLocked,
            Error::AppointmentTypeNotFound(_) => ErrorCode::AppointmentTypeNotFound,
            Error::LocationNotFound(_) => ErrorCode::LocationNotFound,
            Error::RoomNotFound(_) => ErrorCode::RoomNotFound,
            Error::StaffNotFound(_) => ErrorCode::StaffNotFound,
            Error::ShiftNotFound(_) => ErrorCode::ShiftNotFound,
            Error::TimeOffNotFound(_) => ErrorCode::TimeOffNotFound,
            Error::AppointmentNotFound(_) => ErrorCode::AppointmentNotFound,
            Error::ShiftOverlap { .. } => ErrorCode::ShiftOverlap,
            Error::AppointmentConflict { .. } => ErrorCode::AppointmentConflict,
            Error::InvalidTransition { .. } | Error::RoomTransition { .. } => ErrorCode::InvalidTransition,
            Error::WaitlistEntryNotFound(_) => ErrorCode::WaitlistEntryNotFound,
            Error::OfferNotFound(_) => ErrorCode::OfferNotFound,
            Error::OfferClosed(_) => ErrorCode::OfferClosed,
            Error::DeviceNotFound(_) => ErrorCode::DeviceNotFound,
            Error::PinLocked => ErrorCode::PinLocked,
            Error::TotpRequired => ErrorCode::TotpRequired,
            Error::PasswordChangeRequired => ErrorCode::PasswordChangeRequired,
            Error::Unauthenticated => ErrorCode::Unauthenticated,
            Error::Overloaded { .. } => ErrorCode::Overloaded,
            Error::Timeout { .. } => ErrorCode::Timeout,
            Error::ShuttingDown => ErrorCode::Unavailable,
            Error::DiskFull => ErrorCode::InsufficientStorage,
            Error::JobNotFound(_) => ErrorCode::JobNotFound,
            Error::MessageNotFound(_) => ErrorCode::MessageNotFound,
            Error::TemplateNotFound(_) => ErrorCode::TemplateNotFound,
            Error::AutomationNotFound(_) => ErrorCode::AutomationNotFound,
            Error::BatchNotFound(_) => ErrorCode::BatchNotFound,
            Error::SegmentNotFound(_) => ErrorCode::SegmentNotFound,
            Error::CampaignNotFound(_) => ErrorCode::CampaignNotFound,
            Error::ReferralNotFound(_) => ErrorCode::ReferralNotFound,
            Error::VisitNotFound(_) => ErrorCode::VisitNotFound,
            Error::NoteNotFound(_) => ErrorCode::NoteNotFound,
            Error::VitalsNotFound(_) => ErrorCode::VitalsNotFound,
            Error::ProblemNotFound(_) => ErrorCode::ProblemNotFound,
            Error::LabOrderNotFound(_) => ErrorCode::LabOrderNotFound,
            Error::LabUnmatchedNotFound(_) => ErrorCode::LabUnmatchedNotFound,
            Error::LabOrderReviewed(_) => ErrorCode::LabOrderReviewed,
            Error::LabOrderCancelled(_) => ErrorCode::LabOrderCancelled,
            Error::LabUnmatchedResolved(_) => ErrorCode::LabUnmatchedResolved,
            Error::DocumentNotFound(_) => ErrorCode::DocumentNotFound,
            Error::DocumentTypeRefused(_) => ErrorCode::DocumentTypeRefused,
            Error::DocumentTooLarge { .. } => ErrorCode::PayloadTooLarge,
            Error::ConsentTemplateNotFound(_) => ErrorCode::ConsentTemplateNotFound,
            Error::ConsentFormNotFound(_) => ErrorCode::ConsentFormNotFound,
            Error::ConsentFormSigned(_) => ErrorCode::ConsentFormSigned,
            Error::ConsentFormVoided(_) => ErrorCode::ConsentFormVoided,
            Error::FactSetNotFound(_) => ErrorCode::FactSetNotFound,
            Error::VaccinationNotFound(_) => ErrorCode::VaccinationNotFound,
            Error::CatalogueItemNotFound(_) => ErrorCode::CatalogueItemNotFound,
            Error::InvoiceNotFound(_) => ErrorCode::InvoiceNotFound,
            Error::PaymentNotFound(_) => ErrorCode::PaymentNotFound,
            Error::AccountingExportNotFound(_) => ErrorCode::AccountingExportNotFound,
            Error::ExportOverlap { .. } => ErrorCode::ExportOverlap,
            Error::LoyaltyDisabled => ErrorCode::LoyaltyDisabled,
            Error::WardNotFound(_) => ErrorCode::WardNotFound,
            Error::AdmissionNotFound(_) => ErrorCode::AdmissionNotFound,
            Error::AdmissionDischarged(_) => ErrorCode::AdmissionDischarged,
            Error::SlotAlreadyMarked(_) => ErrorCode::SlotAlreadyMarked,
            Error::CageOccupied(_) => ErrorCode::CageOccupied,
            Error::TreatmentStopped => ErrorCode::TreatmentStopped,
            Error::ProtocolNotFound(_) => ErrorCode::ProtocolNotFound,
            Error::TreatmentPlanNotFound(_) => ErrorCode::TreatmentPlanNotFound,
            Error::PlanStepNotFound(_) => ErrorCode::PlanStepNotFound,
            Error::ProtocolInactive(_) => ErrorCode::ProtocolInactive,
            Error::PlanStepAlreadySettled(..) => ErrorCode::PlanStepAlreadySettled,
            Error::TreatmentPlanClosed(_) => ErrorCode::TreatmentPlanClosed,
            Error::PlanStepAlreadyBooked(..) => ErrorCode::PlanStepAlreadyBooked,
            Error::InvoiceTransition { .. } => ErrorCode::InvalidTransition,
            Error::EstimateNotFound(_) => ErrorCode::EstimateNotFound,
            Error::EstimateTransition { .. } => ErrorCode::InvalidTransition,
            Error::PaymentPlanNotFound(_) => ErrorCode::PaymentPlanNotFound,
            Error::PaymentPlanTransition { .. } => ErrorCode::InvalidTransition,
            Error::ReferralRedeemed(_) => ErrorCode::InvalidTransition,
            Error::JobTransition { .. } => ErrorCode::InvalidTransition,
            Error::CampaignTransition { .. } => ErrorCode::InvalidTransition,
            Error::CampaignStarted { .. } => ErrorCode::CampaignStarted,
            Error::Changed { .. } => ErrorCode::RecordChanged,
            Error::NoteSigned { .. } => ErrorCode::NoteSigned,
            Error::NoteUnsigned { .. } => ErrorCode::NoteUnsigned,
            Error::VisitTransition { .. } => ErrorCode::InvalidTransition,
            Error::NotAVeterinarian => ErrorCode::Forbidden,
            Error::PrescriptionNotFound(_) => ErrorCode::PrescriptionNotFound,
            Error::ControlledContainerNotFound(_) => ErrorCode::ControlledContainerNotFound,
            Error::ControlledEntryNotFound(_) => ErrorCode::ControlledEntryNotFound,
            Error::ProductNotFound(_) => ErrorCode::ProductNotFound,
            Error::VendorNotFound(_) => ErrorCode::VendorNotFound,
            Error::PurchaseOrderNotFound(_) => ErrorCode::PurchaseOrderNotFound,
            Error::StockLotNotFound(_) => ErrorCode::StockLotNotFound,
            Error::PurchaseOrderTransition { .. } => ErrorCode::InvalidTransition,
            Error::CapabilityRequired { .. } => ErrorCode::Forbidden,
            Error::NoRefillsLeft(_) => ErrorCode::NoRefillsLeft,
            Error::PrescriptionNotActive { .. } => ErrorCode::PrescriptionNotActive,
            Error::ActorFailed { .. } | Error::Store(_) | Error::Search(_) | Error::Internal(_) => {
                ErrorCode::InternalError
            }
        }
    }

    /// Whether this is a failure on our side: its `Display` is a cause to log, never an
    /// answer to show.
    pub fn is_internal(&self) -> bool {
        self.code().kind() == ErrorKind::Internal
    }

    /// The request field at fault (its JSON name, dotted for nested fields), when one is.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Validation(v) => Some(&v.field),
            Error::OwnerNotFound(_) => Some("client_id"),
            Error::Duplicate { field } | Error::AppointmentConflict { field, .. } => Some(field),
            _ => None,
        }
    }

    /// Machine-readable particulars a program needs (docs/errors.md says which per code).
    pub fn details(&self) -> Option<serde_json::Value> {
        match self {
            Error::ShiftOverlap { other, starts_at, ends_at } => {
                Some(serde_json::json!({ "shift_id": other, "starts_at": starts_at, "ends_at": ends_at }))
            }
            Error::AppointmentConflict { other, start, until, .. } => {
                Some(serde_json::json!({ "appointment_id": other, "start": start, "until": until }))
            }
            Error::InvalidTransition { from, to, allowed, .. } => {
                Some(serde_json::json!({ "from": from, "to": to, "allowed": allowed }))
            }
            Error::RoomTransition { from, to, allowed } => {
                Some(serde_json::json!({ "from": from, "to": to, "allowed": allowed }))
            }
            Error::JobTransition { from, action, allowed } => {
                Some(serde_json::json!({ "from": from, "to": action, "allowed": allowed }))
            }
            Error::VisitTransition { from, to, allowed } => {
                Some(serde_json::json!({ "from": from, "to": to, "allowed": allowed }))
            }
            Error::PurchaseOrderTransition { from, to, allowed } => {
                Some(serde_json::json!({ "from": from, "to": to, "allowed": allowed }))
            }
            Error::InvoiceTransition { from, to, allowed } => {
                Some(serde_json::json!({ "from": from, "to": to, "allowed": allowed }))
            }
            Error::PlanStepAlreadyBooked(step, appointment) => {
                Some(serde_json::json!({ "step": step, "appointment_id": appointment }))
            }
            Error::ExportOverlap { earlier, kind, day } => {
                Some(serde_json::json!({ "export_id": earlier, "kind": kind, "date": day }))
            }
            Error::EstimateTransition { from, to, allowed } => {
                Some(serde_json::json!({ "from": from, "to": to, "allowed": allowed }))
            }
            Error::PaymentPlanTransition { from, to, allowed } => {
                Some(serde_json::json!({ "from": from, "to": to, "allowed": allowed }))
            }
            Error::NoteSigned { visit_id } => {
                Some(serde_json::json!({ "addendum_route": format!("/api/visits/{visit_id}/note/addenda") }))
            }
            Error::CapabilityRequired { capability, .. } => Some(serde_json::json!({ "capability": capability })),
            _ => None,
        }
    }

    /// How long the caller should wait before retrying, for errors that will pass by
    /// themselves (a full mailbox, a slow actor, a restart).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Overloaded { retry_after, .. } => Some(*retry_after),
            Error::Timeout { .. } => Some(TIMEOUT_RETRY_AFTER),
            Error::ShuttingDown => Some(SHUTDOWN_RETRY_AFTER),
            _ => None,
        }
    }

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

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            // A read after shutdown closed the file: retryable, like a write then.
            StoreError::Closed => Error::ShuttingDown,
            e => Error::Store(e),
        }
    }
}

impl From<CommitError> for Error {
    fn from(e: CommitError) -> Self {
        match e {
            CommitError::Duplicate { field } => Error::Duplicate { field },
            CommitError::Closed => Error::ShuttingDown,
            CommitError::Store(m) => Error::Internal(format!("commit failed: {m}")),
            CommitError::Refused(m) => Error::Internal(format!("change refused: {m}")),
            CommitError::DiskFull => Error::DiskFull,
            CommitError::Changed { what } => Error::Changed { what },
        }
    }
}
