//! Domain events and the event-log envelope.
//!
//! Every committed change produces events. The envelope carries a sequence number (so a
//! screen can ask for "everything since N"), the clinic, who caused it, and a hash chained to
//! the previous event so tampering with the log is detectable.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::{Permission, Permissions, Scope};
use crate::appointments::Appointment;
use crate::clients::Client;
use crate::ids::UserId;
use crate::locations::{Location, Room};
use crate::patients::Patient;
use crate::records::Record;
use crate::staff::{Shift, StaffProfile, TimeOff};
use crate::users::UserView;
use crate::waitlist::{WaitlistEntry, WaitlistOffer};

/// Who caused a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "type", content = "id")]
pub enum Author {
    /// A signed-in staff user.
    User(UserId),
    /// Clowder itself (start-up, demo seeding, scheduled jobs).
    System,
}

/// A change that happened. On the wire and in the log the tag is the snake_case name.
// strum derives the name from the variant with the same snake_case rule serde applies to the
// tag; a test checks the two agree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(tag = "type", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum DomainEvent {
    ClientCreated {
        client: Client,
    },
    ClientUpdated {
        client: Client,
        changed: Vec<String>,
    },
    ClientDeactivated {
        client: Client,
    },
    PatientCreated {
        patient: Patient,
    },
    PatientUpdated {
        patient: Patient,
        changed: Vec<String>,
    },
    PatientDeactivated {
        patient: Patient,
    },
    UserCreated {
        user: UserView,
    },
    SessionStarted {
        user_id: UserId,
        session_id: crate::ids::SessionId,
    },
    SessionEnded {
        user_id: UserId,
        session_id: crate::ids::SessionId,
    },
    /// Someone asked for a backup and it was taken, verified and stored (scheduled backups are
    /// not events: they would make every next backup non-empty).
    BackupTaken {
        /// The backup's id.
        id: String,
        /// `full` or `incremental`.
        kind: String,
    },
    /// A backup failed (taking, verifying or storing it); administrators' screens show it.
    BackupFailed {
        /// `full` or `incremental`.
        kind: String,
        /// What went wrong, in words (never personal data).
        reason: String,
    },
    /// A job's attempt failed; it runs again at `retry_at` (administrators' screens show it).
    JobFailed {
        job_id: crate::ids::JobId,
        kind: String,
        attempts: u32,
        error: String,
        retry_at: jiff::Timestamp,
    },
    /// A job failed for good (a permanent error or its last attempt).
    JobDead {
        job_id: crate::ids::JobId,
        kind: String,
        attempts: u32,
        error: String,
    },
    LocationCreated {
        location: Location,
    },
    LocationUpdated {
        location: Location,
    },
    RoomCreated {
        room: Room,
    },
    RoomUpdated {
        room: Room,
    },
    StaffCreated {
        staff: StaffProfile,
    },
    StaffUpdated {
        staff: StaffProfile,
    },
    ShiftCreated {
        shift: Shift,
    },
    ShiftUpdated {
        shift: Shift,
    },
    TimeOffRequested {
        time_off: TimeOff,
    },
    TimeOffDecided {
        time_off: TimeOff,
    },
    AppointmentBooked {
        appointment: Appointment,
    },
    /// Time, vet or room changed.
    AppointmentRescheduled {
        appointment: Appointment,
        previous_start: Timestamp,
        previous_end: Timestamp,
    },
    /// Reason or notes changed.
    AppointmentUpdated {
        appointment: Appointment,
    },
    AppointmentConfirmed {
        appointment: Appointment,
    },
    PatientCheckedIn {
        appointment: Appointment,
    },
    AppointmentStarted {
        appointment: Appointment,
    },
    AppointmentCompleted {
        appointment: Appointment,
    },
    AppointmentCancelled {
        appointment: Appointment,
    },
    AppointmentNoShow {
        appointment: Appointment,
    },
    WaitlistEntryCreated {
        entry: WaitlistEntry,
    },
    /// A room moved on the whiteboard (free, patient waiting, in exam, needs cleaning…).
    RoomStateChanged {
        status: crate::whiteboard::RoomStatus,
    },
    /// Changed, offered, fulfilled, expired or cancelled.
    WaitlistEntryUpdated {
        entry: WaitlistEntry,
    },
    /// A freed slot was offered to an entry.
    WaitlistOfferMade {
        offer: WaitlistOffer,
    },
    /// Accepted, declined, expired or superseded.
    WaitlistOfferUpdated {
        offer: WaitlistOffer,
    },
    /// A message template was added (its body is not on the wire: only who may manage templates
    /// receives it, and they read it with `GET /api/templates/{id}`).
    TemplateCreated {
        template_id: crate::ids::TemplateId,
        name: String,
    },
    /// A template changed (a new version, or only `active`).
    TemplateUpdated {
        template_id: crate::ids::TemplateId,
        version: u32,
        changed: Vec<String>,
    },
    /// A message could not be delivered: its job gave up (`dead`), or the provider reported a
    /// bounce or a failed delivery (`bounced`). The staff board raises an alert. The recipient
    /// is masked and no content travels: the alert links to the message log.
    MessageFailed {
        message_id: crate::ids::MessageId,
        client_id: Option<crate::ids::ClientId>,
        channel: crate::messages::Channel,
        status: crate::messages::MessageStatus,
        /// `j***@example.com`, `+1555***1234`.
        recipient: String,
        reason: String,
    },
    /// An automation rule was turned on or off or its parameters changed.
    AutomationUpdated {
        kind: String,
        enabled: bool,
        changed: Vec<String>,
    },
    /// A client asked, through a reminder's link, to move an appointment: the front desk calls
    /// them back (the appointment itself is unchanged).
    RescheduleRequested {
        appointment_id: crate::ids::AppointmentId,
        client_id: crate::ids::ClientId,
        location_id: crate::ids::LocationId,
    },
    /// A client's communication preferences changed (channels, hours, cap).
    PreferencesUpdated {
        client_id: crate::ids::ClientId,
        changed: Vec<String>,
    },
    /// A consent was granted or revoked (a new line of the client's consent ledger).
    ConsentRecorded {
        entry: crate::consent::ConsentEntry,
    },
    /// A marketing segment was saved (its filter is read with `GET /api/segments/{id}`).
    SegmentCreated {
        segment_id: crate::ids::SegmentId,
        name: String,
    },
    /// A campaign was created or moved (`draft`, `scheduled`, `sending`, `sent`, `cancelled`).
    CampaignUpdated {
        campaign_id: crate::ids::CampaignId,
        state: crate::campaigns::CampaignState,
    },
    /// A referral was recorded (credit owed to the referrer) or redeemed.
    ReferralUpdated {
        referral_id: crate::ids::ReferralId,
        referrer_id: crate::ids::ClientId,
        status: crate::campaigns::ReferralStatus,
    },
    /// Vital signs were taken of a cat (ids only: the values are read over REST).
    VitalsRecorded {
        vitals_id: crate::ids::VitalsId,
        patient_id: crate::ids::PatientId,
    },
    /// A vitals record was corrected (an amendment with a reason; the old values are kept).
    VitalsAmended {
        vitals_id: crate::ids::VitalsId,
        patient_id: crate::ids::PatientId,
        changed: Vec<String>,
    },
    /// A problem or diagnosis was added to a cat's problem list.
    ProblemAdded {
        problem_id: crate::ids::ProblemId,
        patient_id: crate::ids::PatientId,
    },
    /// A problem changed (status, resolution, severity, …).
    ProblemUpdated {
        problem_id: crate::ids::ProblemId,
        patient_id: crate::ids::PatientId,
        changed: Vec<String>,
    },
    /// A document was filed on a client's record (an upload, or a signed consent form).
    DocumentAdded {
        document_id: crate::ids::DocumentId,
        client_id: crate::ids::ClientId,
    },
    /// A document was deactivated (hidden from the record's lists; never deleted).
    DocumentDeactivated {
        document_id: crate::ids::DocumentId,
        client_id: crate::ids::ClientId,
    },
    /// A consent template was made or changed (a new version, retired).
    ConsentTemplateSaved {
        consent_template_id: crate::ids::ConsentTemplateId,
        changed: Vec<String>,
    },
    /// A consent form was made for a visit.
    ConsentFormCreated {
        consent_form_id: crate::ids::ConsentFormId,
        patient_id: crate::ids::PatientId,
    },
    /// A consent form changed: its procedure corrected, signed (`status`, `signature`) or voided.
    ConsentFormUpdated {
        consent_form_id: crate::ids::ConsentFormId,
        patient_id: crate::ids::PatientId,
        changed: Vec<String>,
    },
    /// A visit was opened (walk-in, or from its appointment). Clinical: ids only.
    VisitOpened {
        visit_id: crate::ids::VisitId,
        patient_id: crate::ids::PatientId,
    },
    /// A visit's type, chief complaint or vet changed (the names of the fields only).
    VisitUpdated {
        visit_id: crate::ids::VisitId,
        patient_id: crate::ids::PatientId,
        changed: Vec<String>,
    },
    /// A visit was completed (with its appointment, or by hand).
    VisitCompleted {
        visit_id: crate::ids::VisitId,
        patient_id: crate::ids::PatientId,
    },
    /// Voided with a reason (the reason is read over REST).
    VisitVoided {
        visit_id: crate::ids::VisitId,
        patient_id: crate::ids::PatientId,
    },
    /// A visit's SOAP note was signed and locked (autosaved drafts are not events).
    NoteSigned {
        note_id: crate::ids::NoteId,
        visit_id: crate::ids::VisitId,
        patient_id: crate::ids::PatientId,
    },
    /// A signed addendum was added to a note.
    NoteAmended {
        note_id: crate::ids::NoteId,
        visit_id: crate::ids::VisitId,
        patient_id: crate::ids::PatientId,
        addendum: u32,
    },
    /// A cat was prescribed a drug (ids only: the prescription is read over REST).
    PrescriptionCreated {
        prescription_id: crate::ids::PrescriptionId,
        patient_id: crate::ids::PatientId,
    },
    /// A prescription was refilled, completed or cancelled.
    PrescriptionUpdated {
        prescription_id: crate::ids::PrescriptionId,
        patient_id: crate::ids::PatientId,
        changed: Vec<String>,
    },
    /// An entry was added to the controlled-drug register (receipt, administration,
    /// dispensing, reversal, discrepancy, count).
    ControlledEntryRecorded {
        entry_id: crate::ids::ControlledEntryId,
        container_id: crate::ids::ControlledContainerId,
        patient_id: Option<crate::ids::PatientId>,
    },
    /// A vaccination entry was recorded (a dose, a refusal, a due-date override or a risk
    /// assessment; ids only).
    VaccinationRecorded {
        vaccination_id: crate::ids::VaccinationId,
        patient_id: crate::ids::PatientId,
    },
    /// A vaccination entry changed (an adverse reaction added to a dose).
    VaccinationUpdated {
        vaccination_id: crate::ids::VaccinationId,
        patient_id: crate::ids::PatientId,
        changed: Vec<String>,
    },
    /// An inventory product was added (`changed` empty) or changed.
    ProductSaved {
        product_id: crate::ids::ProductId,
        changed: Vec<String>,
    },
    /// A vendor was added (`changed` empty) or changed.
    VendorSaved {
        vendor_id: crate::ids::VendorId,
        changed: Vec<String>,
    },
    /// A purchase order was written, changed, moved or received against.
    PurchaseOrderSaved {
        purchase_order_id: crate::ids::PurchaseOrderId,
        status: crate::inventory::PoStatus,
        changed: Vec<String>,
    },
    /// A stock ledger entry was written; `low` is true when the product is now at or below
    /// its reorder level (the board's low-stock alert).
    StockMoved {
        product_id: crate::ids::ProductId,
        entry_id: crate::ids::StockEntryId,
        kind: crate::inventory::MoveKind,
        /// Thousandths of the product's unit.
        on_hand_milli: i64,
        low: bool,
    },
    /// A visit's note is still unsigned 24 hours after the visit opened: its vet's board
    /// shows it (ids only; the board reads its list over REST).
    NoteUnsignedDue {
        visit_id: crate::ids::VisitId,
        patient_id: crate::ids::PatientId,
        vet_id: Option<crate::ids::StaffId>,
        location_id: Option<crate::ids::LocationId>,
    },
    /// A note the board showed as unsigned after 24 hours was signed, or its visit voided.
    NoteUnsignedCleared {
        visit_id: crate::ids::VisitId,
        patient_id: crate::ids::PatientId,
        vet_id: Option<crate::ids::StaffId>,
        location_id: Option<crate::ids::LocationId>,
    },
    /// A lab test was ordered for a cat in a visit (ids only; charge capture prices it).
    LabOrderPlaced {
        lab_order_id: crate::ids::LabOrderId,
        patient_id: crate::ids::PatientId,
        visit_id: crate::ids::VisitId,
    },
    /// A lab order was cancelled, reviewed and signed off, or amended (field names only).
    LabOrderUpdated {
        lab_order_id: crate::ids::LabOrderId,
        patient_id: crate::ids::PatientId,
        changed: Vec<String>,
    },
    /// Results arrived on a lab order (typed in, imported, or attached from the queue): the
    /// ordering vet's board and the cat's screens show it (ids and whether anything is flagged).
    LabResultReady {
        lab_order_id: crate::ids::LabOrderId,
        patient_id: crate::ids::PatientId,
        vet_id: Option<crate::ids::StaffId>,
        location_id: Option<crate::ids::LocationId>,
        flagged: bool,
        critical: bool,
    },
    /// A lab result went into the unmatched queue, or left it (`status`: open, attached,
    /// discarded).
    LabUnmatchedChanged {
        unmatched_id: crate::ids::LabUnmatchedId,
        status: String,
    },
    /// A catalogue item was added.
    CatalogueItemCreated {
        item_id: crate::ids::CatalogueItemId,
    },
    /// A catalogue item changed (repriced, retired, …).
    CatalogueItemUpdated {
        item_id: crate::ids::CatalogueItemId,
        changed: Vec<String>,
    },
    /// A draft invoice was created.
    InvoiceCreated {
        invoice_id: crate::ids::InvoiceId,
        client_id: crate::ids::ClientId,
    },
    /// An invoice changed: its lines (a draft), issued, credited, overdue, voided; `changed`
    /// names the fields.
    InvoiceUpdated {
        invoice_id: crate::ids::InvoiceId,
        client_id: crate::ids::ClientId,
        changed: Vec<String>,
    },
    /// A draft estimate was created.
    EstimateCreated {
        estimate_id: crate::ids::EstimateId,
        client_id: crate::ids::ClientId,
    },
    /// An estimate changed: a draft's options, sent, viewed, accepted, declined, expired.
    EstimateUpdated {
        estimate_id: crate::ids::EstimateId,
        client_id: crate::ids::ClientId,
        changed: Vec<String>,
    },
    /// A payment plan was agreed for an invoice.
    PaymentPlanCreated {
        plan_id: crate::ids::PaymentPlanId,
        invoice_id: crate::ids::InvoiceId,
        client_id: crate::ids::ClientId,
    },
    /// A payment plan changed: modified (a revision), progress, cancelled, completed.
    PaymentPlanUpdated {
        plan_id: crate::ids::PaymentPlanId,
        client_id: crate::ids::ClientId,
        changed: Vec<String>,
    },
    /// An instalment of a payment plan was not paid by its due date: staff's alert.
    InstalmentLate {
        plan_id: crate::ids::PaymentPlanId,
        invoice_id: crate::ids::InvoiceId,
        client_id: crate::ids::ClientId,
        instalment_no: u32,
        due_on: jiff::civil::Date,
    },
    /// An accounting export was recorded (its file is ready to download).
    AccountingExported {
        export_id: crate::ids::AccountingExportId,
    },
    /// The chart-of-accounts mapping changed; `version` is the new one.
    AccountMappingUpdated {
        version: u32,
    },
    /// A client's loyalty points moved (earned, reversed, adjusted, expired); redemptions
    /// are `invoice_updated` with `loyalty`.
    LoyaltyEntryRecorded {
        entry_id: crate::ids::LoyaltyEntryId,
        client_id: crate::ids::ClientId,
        kind: crate::loyalty::EntryKind,
        points: i64,
    },
    /// The loyalty programme's settings changed.
    LoyaltySettingsUpdated {
        changed: Vec<String>,
    },
    /// A ward was created or changed (its cages, its daily fee's item).
    WardSaved {
        ward_id: crate::ids::WardId,
        location_id: crate::ids::LocationId,
        changed: Vec<String>,
    },
    /// A cat was admitted to a ward, moved, discharged, or its sheet's treatments changed
    /// (ids and changed field names only: the sheet is clinical).
    AdmissionUpdated {
        admission_id: crate::ids::AdmissionId,
        ward_id: crate::ids::WardId,
        patient_id: crate::ids::PatientId,
        changed: Vec<String>,
    },
    /// A cat moved to another cage, of its ward or of another ward of the location (both
    /// boards change).
    AdmissionMoved {
        admission_id: crate::ids::AdmissionId,
        patient_id: crate::ids::PatientId,
        from_ward_id: crate::ids::WardId,
        from_cage: String,
        ward_id: crate::ids::WardId,
        cage: String,
    },
    /// A slot of a treatment sheet fell overdue unmarked (once per slot; see docs/ward.md).
    WardTreatmentOverdue {
        admission_id: crate::ids::AdmissionId,
        ward_id: crate::ids::WardId,
        location_id: crate::ids::LocationId,
        patient_id: crate::ids::PatientId,
        treatment_id: crate::ids::TreatmentId,
        due: Timestamp,
    },
    /// A slot of a treatment sheet was marked done or skipped. Charge capture puts a done
    /// treatment on the visit's draft invoice (its catalogue item, else an uncharged entry).
    SlotMarked {
        admission_id: crate::ids::AdmissionId,
        ward_id: crate::ids::WardId,
        patient_id: crate::ids::PatientId,
        visit_id: crate::ids::VisitId,
        treatment_id: crate::ids::TreatmentId,
        due: Timestamp,
        outcome: crate::wards::SlotOutcome,
    },
    /// A protocol was created or changed (a new version).
    ProtocolSaved {
        protocol_id: crate::ids::ProtocolId,
        version: u32,
    },
    /// A protocol was applied to a cat: a treatment plan was made.
    TreatmentPlanCreated {
        plan_id: crate::ids::TreatmentPlanId,
        patient_id: crate::ids::PatientId,
    },
    /// A treatment plan changed (a step booked, done, skipped, moved, added, removed; the plan
    /// completed or cancelled); ids and changed field names only, as it is clinical.
    TreatmentPlanChanged {
        plan_id: crate::ids::TreatmentPlanId,
        patient_id: crate::ids::PatientId,
        changed: Vec<String>,
    },
}

impl DomainEvent {
    /// The snake_case event name, e.g. `client_created`: the `type` tag serde writes,
    /// derived from the variant (no allocation, nothing serialised).
    pub fn kind(&self) -> &'static str {
        self.into()
    }

    /// The record the event is about, as `kind:id` (used for topics and audit).
    pub fn subject(&self) -> String {
        match self {
            DomainEvent::ClientCreated { client }
            | DomainEvent::ClientUpdated { client, .. }
            | DomainEvent::ClientDeactivated { client } => format!("client:{}", client.id),
            DomainEvent::PatientCreated { patient }
            | DomainEvent::PatientUpdated { patient, .. }
            | DomainEvent::PatientDeactivated { patient } => format!("patient:{}", patient.id),
            DomainEvent::UserCreated { user } => format!("user:{}", user.id),
            DomainEvent::SessionStarted { user_id, .. } | DomainEvent::SessionEnded { user_id, .. } => {
                format!("user:{user_id}")
            }
            DomainEvent::BackupFailed { .. } | DomainEvent::BackupTaken { .. } => "backups".into(),
            DomainEvent::JobFailed { job_id, .. } | DomainEvent::JobDead { job_id, .. } => format!("job:{job_id}"),
            DomainEvent::LocationCreated { location } | DomainEvent::LocationUpdated { location } => {
                format!("location:{}", location.id)
            }
            DomainEvent::RoomCreated { room } | DomainEvent::RoomUpdated { room } => format!("room:{}", room.id),
            DomainEvent::StaffCreated { staff } | DomainEvent::StaffUpdated { staff } => format!("staff:{}", staff.id),
            DomainEvent::ShiftCreated { shift } | DomainEvent::ShiftUpdated { shift } => format!("shift:{}", shift.id),
            DomainEvent::TimeOffRequested { time_off } | DomainEvent::TimeOffDecided { time_off } => {
                format!("time_off:{}", time_off.id)
            }
            DomainEvent::AppointmentBooked { appointment }
            | DomainEvent::AppointmentRescheduled { appointment, .. }
            | DomainEvent::AppointmentUpdated { appointment }
            | DomainEvent::AppointmentConfirmed { appointment }
            | DomainEvent::PatientCheckedIn { appointment }
            | DomainEvent::AppointmentStarted { appointment }
            | DomainEvent::AppointmentCompleted { appointment }
            | DomainEvent::AppointmentCancelled { appointment }
            | DomainEvent::AppointmentNoShow { appointment } => format!("appointment:{}", appointment.id),
            DomainEvent::RoomStateChanged { status } => format!("room:{}", status.room_id),
            DomainEvent::WaitlistEntryCreated { entry } | DomainEvent::WaitlistEntryUpdated { entry } => {
                format!("waitlist:{}", entry.id)
            }
            DomainEvent::WaitlistOfferMade { offer } | DomainEvent::WaitlistOfferUpdated { offer } => {
                format!("waitlist_offer:{}", offer.id)
            }
            DomainEvent::TemplateCreated { template_id, .. } | DomainEvent::TemplateUpdated { template_id, .. } => {
                format!("template:{template_id}")
            }
            DomainEvent::MessageFailed { message_id, .. } => format!("message:{message_id}"),
            DomainEvent::AutomationUpdated { kind, .. } => format!("automation:{kind}"),
            DomainEvent::RescheduleRequested { appointment_id, .. } => format!("appointment:{appointment_id}"),
            DomainEvent::PreferencesUpdated { client_id, .. } => format!("client:{client_id}"),
            DomainEvent::ConsentRecorded { entry } => format!("client:{}", entry.client_id),
            DomainEvent::SegmentCreated { segment_id, .. } => format!("segment:{segment_id}"),
            DomainEvent::CampaignUpdated { campaign_id, .. } => format!("campaign:{campaign_id}"),
            DomainEvent::ReferralUpdated { referral_id, .. } => format!("referral:{referral_id}"),
            DomainEvent::VitalsRecorded { vitals_id, .. } | DomainEvent::VitalsAmended { vitals_id, .. } => {
                format!("vitals:{vitals_id}")
            }
            DomainEvent::ProblemAdded { problem_id, .. } | DomainEvent::ProblemUpdated { problem_id, .. } => {
                format!("problem:{problem_id}")
            }
            DomainEvent::DocumentAdded { document_id, .. } | DomainEvent::DocumentDeactivated { document_id, .. } => {
                format!("document:{document_id}")
            }
            DomainEvent::ConsentTemplateSaved { consent_template_id, .. } => {
                format!("consent_template:{consent_template_id}")
            }
            DomainEvent::ConsentFormCreated { consent_form_id, .. }
            | DomainEvent::ConsentFormUpdated { consent_form_id, .. } => format!("consent_form:{consent_form_id}"),
            DomainEvent::VisitOpened { visit_id, .. }
            | DomainEvent::VisitUpdated { visit_id, .. }
            | DomainEvent::VisitCompleted { visit_id, .. }
            | DomainEvent::VisitVoided { visit_id, .. } => format!("visit:{visit_id}"),
            DomainEvent::NoteSigned { note_id, .. } | DomainEvent::NoteAmended { note_id, .. } => {
                format!("note:{note_id}")
            }
            DomainEvent::PrescriptionCreated { prescription_id, .. }
            | DomainEvent::PrescriptionUpdated { prescription_id, .. } => format!("prescription:{prescription_id}"),
            DomainEvent::ControlledEntryRecorded { container_id, .. } => format!("controlled_container:{container_id}"),
            DomainEvent::VaccinationRecorded { vaccination_id, .. }
            | DomainEvent::VaccinationUpdated { vaccination_id, .. } => format!("vaccination:{vaccination_id}"),
            DomainEvent::ProductSaved { product_id, .. } | DomainEvent::StockMoved { product_id, .. } => {
                format!("product:{product_id}")
            }
            DomainEvent::VendorSaved { vendor_id, .. } => format!("vendor:{vendor_id}"),
            DomainEvent::PurchaseOrderSaved { purchase_order_id, .. } => format!("purchase_order:{purchase_order_id}"),
            DomainEvent::NoteUnsignedDue { visit_id, .. } | DomainEvent::NoteUnsignedCleared { visit_id, .. } => {
                format!("visit:{visit_id}")
            }
            DomainEvent::CatalogueItemCreated { .. } | DomainEvent::CatalogueItemUpdated { .. } => "catalogue".into(),
            DomainEvent::LabOrderPlaced { lab_order_id, .. }
            | DomainEvent::LabOrderUpdated { lab_order_id, .. }
            | DomainEvent::LabResultReady { lab_order_id, .. } => format!("lab_order:{lab_order_id}"),
            DomainEvent::LabUnmatchedChanged { unmatched_id, .. } => format!("lab_unmatched:{unmatched_id}"),
            // A client's account screen follows their invoices.
            DomainEvent::InvoiceCreated { client_id, .. } | DomainEvent::InvoiceUpdated { client_id, .. } => {
                format!("client:{client_id}")
            }
            DomainEvent::EstimateCreated { client_id, .. }
            | DomainEvent::EstimateUpdated { client_id, .. }
            | DomainEvent::PaymentPlanCreated { client_id, .. }
            | DomainEvent::PaymentPlanUpdated { client_id, .. }
            | DomainEvent::InstalmentLate { client_id, .. } => format!("client:{client_id}"),
            DomainEvent::AccountingExported { .. } | DomainEvent::AccountMappingUpdated { .. } => "accounting".into(),
            // The client page's loyalty panel follows the client's topic.
            DomainEvent::LoyaltyEntryRecorded { client_id, .. } => format!("client:{client_id}"),
            DomainEvent::LoyaltySettingsUpdated { .. } => "loyalty".into(),
            DomainEvent::WardSaved { ward_id, .. } => format!("ward:{ward_id}"),
            DomainEvent::AdmissionUpdated { admission_id, .. }
            | DomainEvent::SlotMarked { admission_id, .. }
            | DomainEvent::AdmissionMoved { admission_id, .. }
            | DomainEvent::WardTreatmentOverdue { admission_id, .. } => {
                format!("admission:{admission_id}")
            }
            DomainEvent::ProtocolSaved { protocol_id, .. } => format!("protocol:{protocol_id}"),
            DomainEvent::TreatmentPlanCreated { plan_id, .. } | DomainEvent::TreatmentPlanChanged { plan_id, .. } => {
                format!("treatment_plan:{plan_id}")
            }
        }
    }
}

/// Who may see an event: the permission its record's REST read needs and, for a holder of
/// that permission with scope `own`, which records count as theirs. The live gateway sends a
/// frame only to sockets whose user it [admits](Audience::admits), so a screen never
/// receives what its user could not `GET`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Audience {
    /// The permission needed, in any scope (`patients:view`, `appointments:view`, …).
    pub permission: Permission,
    /// What a holder of `permission` with scope `own` may see of it.
    pub own: OwnRule,
}

/// How an `own` scope is narrowed for one event, mirroring the REST handlers
/// (`Granted::check` in `web/src/access.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnRule {
    /// Only the user who created the record (its `created_by`); a record created by no one
    /// (the system, the demo) is nobody's own.
    CreatedBy(Option<UserId>),
    /// REST does not narrow this permission by owner (yet): `own` sees what `all` sees.
    Unnarrowed,
    /// No holder of scope `own` sees it: the event cannot be attributed to one user's records.
    Nobody,
}

impl Audience {
    const fn new(permission: Permission, own: OwnRule) -> Audience {
        Audience { permission, own }
    }

    /// True if a user with these effective permissions may see the event.
    pub fn admits(&self, permissions: &Permissions, user: UserId) -> bool {
        self.admitted(permissions).includes(user)
    }

    /// Which holders of these effective permissions may see the event. The permissions
    /// alone decide it except for scope `own`, so the live gateway decides once per event
    /// and role set, then checks each socket's user against the answer.
    pub fn admitted(&self, permissions: &Permissions) -> Admitted {
        match permissions.scope(self.permission) {
            None => Admitted::Nobody,
            Some(Scope::All) => Admitted::Everyone,
            Some(Scope::Own) => match self.own {
                OwnRule::CreatedBy(Some(by)) => Admitted::Only(by),
                OwnRule::CreatedBy(None) | OwnRule::Nobody => Admitted::Nobody,
                OwnRule::Unnarrowed => Admitted::Everyone,
            },
        }
    }
}

/// [`Audience::admitted`]: who, among the users holding one set of permissions, may see an
/// event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admitted {
    /// Every such user.
    Everyone,
    /// Only this user (scope `own`, the record's creator).
    Only(UserId),
    /// None of them.
    Nobody,
}

impl Admitted {
    /// True if `user` is among them.
    pub fn includes(self, user: UserId) -> bool {
        match self {
            Admitted::Everyone => true,
            Admitted::Only(u) => u == user,
            Admitted::Nobody => false,
        }
    }
}

/// What a live frame carries instead of the record, for kinds whose record holds clinical
/// content: the record's ids and the names of the fields that changed, never their values.
/// A screen that needs the values reads them over REST, where the read is audited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdsOnly {
    /// `(field, id)` pairs, e.g. `("patient_id", "01J…")`.
    pub ids: Vec<(&'static str, String)>,
    /// The fields that changed (empty for a new record).
    pub changed: Vec<String>,
}

impl IdsOnly {
    /// The frame's `data`: `{"type": <kind>, <ids…>, "changed": […]}`.
    pub fn to_json(&self, kind: &str) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("type".into(), kind.into());
        for (field, id) in &self.ids {
            m.insert((*field).into(), id.as_str().into());
        }
        m.insert("changed".into(), self.changed.clone().into());
        serde_json::Value::Object(m)
    }
}

impl DomainEvent {
    /// Who may see this event (see [`Audience`]). Every kind is listed, with no catch-all, so a
    /// new kind cannot reach a screen before it says who may see it.
    pub fn audience(&self) -> Audience {
        use OwnRule::{CreatedBy, Unnarrowed};
        const CALENDAR: Audience = Audience::new(Permission::AppointmentsView, Unnarrowed);
        match self {
            DomainEvent::ClientCreated { client }
            | DomainEvent::ClientUpdated { client, .. }
            | DomainEvent::ClientDeactivated { client } => {
                Audience::new(Permission::ClientsView, CreatedBy(client.created_by))
            }
            DomainEvent::PatientCreated { patient }
            | DomainEvent::PatientUpdated { patient, .. }
            | DomainEvent::PatientDeactivated { patient } => {
                Audience::new(Permission::PatientsView, CreatedBy(patient.created_by))
            }
            DomainEvent::UserCreated { .. } => Audience::new(Permission::UsersView, Unnarrowed),
            DomainEvent::SessionStarted { .. } | DomainEvent::SessionEnded { .. } => {
                Audience::new(Permission::SessionsManage, Unnarrowed)
            }
            DomainEvent::BackupFailed { .. } | DomainEvent::BackupTaken { .. } => {
                Audience::new(Permission::BackupsManage, Unnarrowed)
            }
            DomainEvent::JobFailed { .. } | DomainEvent::JobDead { .. } => {
                Audience::new(Permission::JobsManage, Unnarrowed)
            }
            // A time-off request carries its reason, which REST shows only to the person and
            // to managers (`Setup::hide_reasons`): in full on the wire, managers only.
            DomainEvent::TimeOffRequested { .. } | DomainEvent::TimeOffDecided { .. } => {
                Audience::new(Permission::SchedulingManage, Unnarrowed)
            }
            // Locations, rooms, staff and shifts are read with the calendar.
            DomainEvent::LocationCreated { .. }
            | DomainEvent::LocationUpdated { .. }
            | DomainEvent::RoomCreated { .. }
            | DomainEvent::RoomUpdated { .. }
            | DomainEvent::StaffCreated { .. }
            | DomainEvent::StaffUpdated { .. }
            | DomainEvent::ShiftCreated { .. }
            | DomainEvent::ShiftUpdated { .. } => CALENDAR,
            // Appointments, the whiteboard (ids only: the cat's id, never its record) and the
            // waitlist are the calendar's; REST does not narrow `appointments:view` by owner.
            DomainEvent::AppointmentBooked { .. }
            | DomainEvent::AppointmentRescheduled { .. }
            | DomainEvent::AppointmentUpdated { .. }
            | DomainEvent::AppointmentConfirmed { .. }
            | DomainEvent::PatientCheckedIn { .. }
            | DomainEvent::AppointmentStarted { .. }
            | DomainEvent::AppointmentCompleted { .. }
            | DomainEvent::AppointmentCancelled { .. }
            | DomainEvent::AppointmentNoShow { .. }
            | DomainEvent::RoomStateChanged { .. }
            | DomainEvent::WaitlistEntryCreated { .. }
            | DomainEvent::WaitlistEntryUpdated { .. }
            | DomainEvent::WaitlistOfferMade { .. }
            | DomainEvent::WaitlistOfferUpdated { .. } => CALENDAR,
            DomainEvent::TemplateCreated { .. } | DomainEvent::TemplateUpdated { .. } => {
                Audience::new(Permission::CommunicationsManage, Unnarrowed)
            }
            // Whoever can read the message log can act on a failed delivery (call the client).
            DomainEvent::MessageFailed { .. } => Audience::new(Permission::CommunicationsView, Unnarrowed),
            DomainEvent::AutomationUpdated { .. } => Audience::new(Permission::CommunicationsManage, Unnarrowed),
            // The front desk acts on it, like any change of the calendar.
            DomainEvent::RescheduleRequested { .. } => CALENDAR,
            // Who may read a client's preferences and ledger (`GET /api/clients/{id}/…`); the
            // event does not carry the client's creator, so scope `own` does not receive it.
            DomainEvent::PreferencesUpdated { .. } | DomainEvent::ConsentRecorded { .. } => {
                Audience::new(Permission::ClientsView, OwnRule::Nobody)
            }
            // Who may manage campaigns (they name no client).
            DomainEvent::SegmentCreated { .. } | DomainEvent::CampaignUpdated { .. } => {
                Audience::new(Permission::CommunicationsManage, Unnarrowed)
            }
            // Who may read a client's referrals (`GET /api/clients/{id}/referral`), like consent.
            DomainEvent::ReferralUpdated { .. } => Audience::new(Permission::ClientsView, OwnRule::Nobody),
            // Who may read the medical record (`GET /api/vitals/{id}`, `/api/problems/{id}`);
            // REST does not narrow `visits:view` by owner.
            DomainEvent::VitalsRecorded { .. }
            | DomainEvent::VitalsAmended { .. }
            | DomainEvent::ProblemAdded { .. }
            | DomainEvent::ProblemUpdated { .. }
            | DomainEvent::DocumentAdded { .. }
            | DomainEvent::DocumentDeactivated { .. }
            | DomainEvent::ConsentTemplateSaved { .. }
            | DomainEvent::ConsentFormCreated { .. }
            | DomainEvent::ConsentFormUpdated { .. } => Audience::new(Permission::VisitsView, Unnarrowed),
            // The medical record: only who may read visits and notes. The events carry no
            // creator, so scope `own` receives none of them (REST narrows `own` by creator).
            DomainEvent::VisitOpened { .. }
            | DomainEvent::VisitUpdated { .. }
            | DomainEvent::VisitCompleted { .. }
            | DomainEvent::VisitVoided { .. }
            | DomainEvent::NoteSigned { .. }
            | DomainEvent::NoteAmended { .. } => Audience::new(Permission::VisitsView, OwnRule::Nobody),
            DomainEvent::PrescriptionCreated { .. } | DomainEvent::PrescriptionUpdated { .. } => {
                Audience::new(Permission::PrescriptionsView, Unnarrowed)
            }
            DomainEvent::ControlledEntryRecorded { .. } => Audience::new(Permission::ControlledView, Unnarrowed),
            // Who may read vaccinations (`GET /api/vaccinations/{id}`): the record's readers.
            DomainEvent::VaccinationRecorded { .. } | DomainEvent::VaccinationUpdated { .. } => {
                Audience::new(Permission::VisitsView, Unnarrowed)
            }
            // Who may read stock (`GET /api/inventory/...`); nothing in them is a client's.
            DomainEvent::ProductSaved { .. }
            | DomainEvent::VendorSaved { .. }
            | DomainEvent::PurchaseOrderSaved { .. }
            | DomainEvent::StockMoved { .. } => Audience::new(Permission::InventoryView, Unnarrowed),
            // The board's unsigned-note alerts: who may list the visits (scope `own` gets
            // none, as for the visit events: they name no creator).
            DomainEvent::NoteUnsignedDue { .. } | DomainEvent::NoteUnsignedCleared { .. } => {
                Audience::new(Permission::VisitsView, OwnRule::Nobody)
            }
            // Who may read lab orders and results (`GET /api/lab-orders/{id}`, the queue). The
            // events carry no creator, so scope `own` receives none of them.
            DomainEvent::LabOrderPlaced { .. }
            | DomainEvent::LabOrderUpdated { .. }
            | DomainEvent::LabResultReady { .. }
            | DomainEvent::LabUnmatchedChanged { .. } => Audience::new(Permission::LabsView, OwnRule::Nobody),
            // Who reads the catalogue and invoices (`GET /api/catalogue`, `/api/invoices/{id}`);
            // REST does not narrow `invoices:view` by owner.
            DomainEvent::CatalogueItemCreated { .. }
            | DomainEvent::CatalogueItemUpdated { .. }
            | DomainEvent::InvoiceCreated { .. }
            | DomainEvent::InvoiceUpdated { .. } => Audience::new(Permission::InvoicesView, Unnarrowed),
            // Estimates are read with `invoices:view` (`GET /api/estimates/{id}`).
            DomainEvent::EstimateCreated { .. } | DomainEvent::EstimateUpdated { .. } => {
                Audience::new(Permission::InvoicesView, Unnarrowed)
            }
            // Payment plans, and the late-instalment alert, go to who sees payments.
            DomainEvent::PaymentPlanCreated { .. }
            | DomainEvent::PaymentPlanUpdated { .. }
            | DomainEvent::InstalmentLate { .. } => Audience::new(Permission::PaymentsView, Unnarrowed),
            // Who may export (and so read what was exported).
            DomainEvent::AccountingExported { .. } | DomainEvent::AccountMappingUpdated { .. } => {
                Audience::new(Permission::AccountingExport, Unnarrowed)
            }
            // A client's points are read with `invoices:view` (`GET /api/clients/{id}/loyalty`),
            // as are the settings.
            DomainEvent::LoyaltyEntryRecorded { .. } | DomainEvent::LoyaltySettingsUpdated { .. } => {
                Audience::new(Permission::InvoicesView, Unnarrowed)
            }
            // Who may read the ward's board and sheets (`GET /api/wards/{id}/board`,
            // `/api/admissions/{id}`); REST does not narrow `ward:view` by owner.
            DomainEvent::WardSaved { .. }
            | DomainEvent::AdmissionUpdated { .. }
            | DomainEvent::SlotMarked { .. }
            | DomainEvent::AdmissionMoved { .. }
            | DomainEvent::WardTreatmentOverdue { .. } => Audience::new(Permission::WardView, Unnarrowed),
            DomainEvent::ProtocolSaved { .. } => Audience::new(Permission::ProtocolsView, Unnarrowed),
            // A plan is the medical record, read with `visits:view` like a problem.
            DomainEvent::TreatmentPlanCreated { .. } | DomainEvent::TreatmentPlanChanged { .. } => {
                Audience::new(Permission::VisitsView, Unnarrowed)
            }
        }
    }

    /// `Some` for kinds whose record holds clinical content (a cat's alerts, allergies and
    /// handling notes today; visits, notes and prescriptions later): a live frame then carries
    /// only these ids and changed field names, not the record. This is the one place a kind
    /// declares it; every kind is listed, with no catch-all, so a new kind must choose.
    pub fn ids_only(&self) -> Option<IdsOnly> {
        let patient = |p: &Patient, changed: Vec<String>| IdsOnly {
            ids: vec![("patient_id", p.id.to_string()), ("client_id", p.client_id.to_string())],
            changed,
        };
        match self {
            DomainEvent::PatientCreated { patient: p } => Some(patient(p, Vec::new())),
            DomainEvent::PatientUpdated { patient: p, changed } => Some(patient(p, changed.clone())),
            DomainEvent::PatientDeactivated { patient: p } => Some(patient(p, vec!["status".into()])),
            DomainEvent::ClientCreated { .. }
            | DomainEvent::ClientUpdated { .. }
            | DomainEvent::ClientDeactivated { .. }
            | DomainEvent::UserCreated { .. }
            | DomainEvent::SessionStarted { .. }
            | DomainEvent::SessionEnded { .. }
            | DomainEvent::BackupFailed { .. }
            | DomainEvent::BackupTaken { .. }
            | DomainEvent::JobFailed { .. }
            | DomainEvent::JobDead { .. }
            | DomainEvent::LocationCreated { .. }
            | DomainEvent::LocationUpdated { .. }
            | DomainEvent::RoomCreated { .. }
            | DomainEvent::RoomUpdated { .. }
            | DomainEvent::StaffCreated { .. }
            | DomainEvent::StaffUpdated { .. }
            | DomainEvent::ShiftCreated { .. }
            | DomainEvent::ShiftUpdated { .. }
            | DomainEvent::TimeOffRequested { .. }
            | DomainEvent::TimeOffDecided { .. }
            | DomainEvent::AppointmentBooked { .. }
            | DomainEvent::AppointmentRescheduled { .. }
            | DomainEvent::AppointmentUpdated { .. }
            | DomainEvent::AppointmentConfirmed { .. }
            | DomainEvent::PatientCheckedIn { .. }
            | DomainEvent::AppointmentStarted { .. }
            | DomainEvent::AppointmentCompleted { .. }
            | DomainEvent::AppointmentCancelled { .. }
            | DomainEvent::AppointmentNoShow { .. }
            | DomainEvent::RoomStateChanged { .. }
            | DomainEvent::WaitlistEntryCreated { .. }
            | DomainEvent::WaitlistEntryUpdated { .. }
            | DomainEvent::WaitlistOfferMade { .. }
            | DomainEvent::WaitlistOfferUpdated { .. }
            | DomainEvent::TemplateCreated { .. }
            | DomainEvent::TemplateUpdated { .. }
            | DomainEvent::MessageFailed { .. }
            | DomainEvent::AutomationUpdated { .. }
            | DomainEvent::RescheduleRequested { .. } => None,
            DomainEvent::PreferencesUpdated { .. } | DomainEvent::ConsentRecorded { .. } => None,
            DomainEvent::SegmentCreated { .. } | DomainEvent::CampaignUpdated { .. } => None,
            DomainEvent::ReferralUpdated { .. } => None,
            DomainEvent::VitalsRecorded { vitals_id, patient_id } => Some(IdsOnly {
                ids: vec![("vitals_id", vitals_id.to_string()), ("patient_id", patient_id.to_string())],
                changed: Vec::new(),
            }),
            DomainEvent::VitalsAmended { vitals_id, patient_id, changed } => Some(IdsOnly {
                ids: vec![("vitals_id", vitals_id.to_string()), ("patient_id", patient_id.to_string())],
                changed: changed.clone(),
            }),
            DomainEvent::ProblemAdded { problem_id, patient_id } => Some(IdsOnly {
                ids: vec![("problem_id", problem_id.to_string()), ("patient_id", patient_id.to_string())],
                changed: Vec::new(),
            }),
            DomainEvent::ProblemUpdated { problem_id, patient_id, changed } => Some(IdsOnly {
                ids: vec![("problem_id", problem_id.to_string()), ("patient_id", patient_id.to_string())],
                changed: changed.clone(),
            }),
            DomainEvent::DocumentAdded { document_id, client_id }
            | DomainEvent::DocumentDeactivated { document_id, client_id } => Some(IdsOnly {
                ids: vec![("document_id", document_id.to_string()), ("client_id", client_id.to_string())],
                changed: Vec::new(),
            }),
            DomainEvent::ConsentTemplateSaved { consent_template_id, changed } => Some(IdsOnly {
                ids: vec![("consent_template_id", consent_template_id.to_string())],
                changed: changed.clone(),
            }),
            DomainEvent::ConsentFormCreated { consent_form_id, patient_id } => Some(IdsOnly {
                ids: vec![("consent_form_id", consent_form_id.to_string()), ("patient_id", patient_id.to_string())],
                changed: Vec::new(),
            }),
            DomainEvent::ConsentFormUpdated { consent_form_id, patient_id, changed } => Some(IdsOnly {
                ids: vec![("consent_form_id", consent_form_id.to_string()), ("patient_id", patient_id.to_string())],
                changed: changed.clone(),
            }),
            DomainEvent::VisitOpened { visit_id, patient_id }
            | DomainEvent::VisitCompleted { visit_id, patient_id }
            | DomainEvent::VisitVoided { visit_id, patient_id } => {
                let changed = match self {
                    DomainEvent::VisitOpened { .. } => Vec::new(),
                    DomainEvent::VisitCompleted { .. } => vec!["status".into(), "completed_at".into()],
                    _ => vec!["status".into(), "void_reason".into()],
                };
                Some(IdsOnly {
                    ids: vec![("visit_id", visit_id.to_string()), ("patient_id", patient_id.to_string())],
                    changed,
                })
            }
            DomainEvent::VisitUpdated { visit_id, patient_id, changed } => Some(IdsOnly {
                ids: vec![("visit_id", visit_id.to_string()), ("patient_id", patient_id.to_string())],
                changed: changed.clone(),
            }),
            DomainEvent::NoteSigned { note_id, visit_id, patient_id }
            | DomainEvent::NoteAmended { note_id, visit_id, patient_id, .. } => Some(IdsOnly {
                ids: vec![
                    ("note_id", note_id.to_string()),
                    ("visit_id", visit_id.to_string()),
                    ("patient_id", patient_id.to_string()),
                ],
                changed: if matches!(self, DomainEvent::NoteSigned { .. }) {
                    Vec::new()
                } else {
                    vec!["addenda".into()]
                },
            }),
            DomainEvent::PrescriptionCreated { prescription_id, patient_id } => Some(IdsOnly {
                ids: vec![("prescription_id", prescription_id.to_string()), ("patient_id", patient_id.to_string())],
                changed: Vec::new(),
            }),
            DomainEvent::PrescriptionUpdated { prescription_id, patient_id, changed } => Some(IdsOnly {
                ids: vec![("prescription_id", prescription_id.to_string()), ("patient_id", patient_id.to_string())],
                changed: changed.clone(),
            }),
            DomainEvent::ControlledEntryRecorded { entry_id, container_id, patient_id } => Some(IdsOnly {
                ids: [("entry_id", entry_id.to_string()), ("container_id", container_id.to_string())]
                    .into_iter()
                    .chain(patient_id.map(|p| ("patient_id", p.to_string())))
                    .collect(),
                changed: Vec::new(),
            }),
            DomainEvent::VaccinationRecorded { vaccination_id, patient_id } => Some(IdsOnly {
                ids: vec![("vaccination_id", vaccination_id.to_string()), ("patient_id", patient_id.to_string())],
                changed: Vec::new(),
            }),
            DomainEvent::VaccinationUpdated { vaccination_id, patient_id, changed } => Some(IdsOnly {
                ids: vec![("vaccination_id", vaccination_id.to_string()), ("patient_id", patient_id.to_string())],
                changed: changed.clone(),
            }),
            // Stock is not clinical content: the whole event goes on the wire.
            DomainEvent::ProductSaved { .. }
            | DomainEvent::VendorSaved { .. }
            | DomainEvent::PurchaseOrderSaved { .. }
            | DomainEvent::StockMoved { .. } => None,
            DomainEvent::NoteUnsignedDue { visit_id, patient_id, vet_id, .. }
            | DomainEvent::NoteUnsignedCleared { visit_id, patient_id, vet_id, .. } => Some(IdsOnly {
                ids: [("visit_id", visit_id.to_string()), ("patient_id", patient_id.to_string())]
                    .into_iter()
                    .chain(vet_id.map(|v| ("vet_id", v.to_string())))
                    .collect(),
                changed: Vec::new(),
            }),
            // The medical record: ids (and whether a result is flagged), never values.
            DomainEvent::LabOrderPlaced { lab_order_id, patient_id, visit_id } => Some(IdsOnly {
                ids: vec![
                    ("lab_order_id", lab_order_id.to_string()),
                    ("patient_id", patient_id.to_string()),
                    ("visit_id", visit_id.to_string()),
                ],
                changed: Vec::new(),
            }),
            DomainEvent::LabOrderUpdated { lab_order_id, patient_id, changed } => Some(IdsOnly {
                ids: vec![("lab_order_id", lab_order_id.to_string()), ("patient_id", patient_id.to_string())],
                changed: changed.clone(),
            }),
            DomainEvent::LabResultReady { lab_order_id, patient_id, vet_id, flagged, critical, .. } => Some(IdsOnly {
                ids: [("lab_order_id", lab_order_id.to_string()), ("patient_id", patient_id.to_string())]
                    .into_iter()
                    .chain(vet_id.map(|v| ("vet_id", v.to_string())))
                    .chain(flagged.then(|| ("flagged", "true".to_owned())))
                    .chain(critical.then(|| ("critical", "true".to_owned())))
                    .collect(),
                changed: Vec::new(),
            }),
            DomainEvent::LabUnmatchedChanged { unmatched_id, status } => Some(IdsOnly {
                ids: vec![("unmatched_id", unmatched_id.to_string()), ("status", status.clone())],
                changed: Vec::new(),
            }),
            // Not clinical, and ids only already: the screen reads the amounts with its rights.
            DomainEvent::CatalogueItemCreated { .. }
            | DomainEvent::CatalogueItemUpdated { .. }
            | DomainEvent::InvoiceCreated { .. }
            | DomainEvent::InvoiceUpdated { .. }
            | DomainEvent::EstimateCreated { .. }
            | DomainEvent::EstimateUpdated { .. }
            | DomainEvent::PaymentPlanCreated { .. }
            | DomainEvent::PaymentPlanUpdated { .. }
            | DomainEvent::InstalmentLate { .. } => None,
            DomainEvent::AccountingExported { .. } | DomainEvent::AccountMappingUpdated { .. } => None,
            DomainEvent::LoyaltyEntryRecorded { .. } | DomainEvent::LoyaltySettingsUpdated { .. } => None,
            DomainEvent::WardSaved { .. } => None,
            DomainEvent::ProtocolSaved { .. } => None,
            DomainEvent::TreatmentPlanCreated { plan_id, patient_id } => Some(IdsOnly {
                ids: vec![("plan_id", plan_id.to_string()), ("patient_id", patient_id.to_string())],
                changed: Vec::new(),
            }),
            DomainEvent::TreatmentPlanChanged { plan_id, patient_id, changed } => Some(IdsOnly {
                ids: vec![("plan_id", plan_id.to_string()), ("patient_id", patient_id.to_string())],
                changed: changed.clone(),
            }),
            DomainEvent::AdmissionUpdated { admission_id, ward_id, patient_id, changed } => Some(IdsOnly {
                ids: vec![
                    ("admission_id", admission_id.to_string()),
                    ("ward_id", ward_id.to_string()),
                    ("patient_id", patient_id.to_string()),
                ],
                changed: changed.clone(),
            }),
            DomainEvent::SlotMarked { admission_id, ward_id, patient_id, treatment_id, .. } => Some(IdsOnly {
                ids: vec![
                    ("admission_id", admission_id.to_string()),
                    ("ward_id", ward_id.to_string()),
                    ("patient_id", patient_id.to_string()),
                    ("treatment_id", treatment_id.to_string()),
                ],
                changed: vec!["marks".into()],
            }),
            // Cage names are not clinical.
            DomainEvent::AdmissionMoved { admission_id, patient_id, from_ward_id, from_cage, ward_id, cage } => {
                Some(IdsOnly {
                    ids: vec![
                        ("admission_id", admission_id.to_string()),
                        ("patient_id", patient_id.to_string()),
                        ("from_ward_id", from_ward_id.to_string()),
                        ("from_cage", from_cage.clone()),
                        ("ward_id", ward_id.to_string()),
                        ("cage", cage.clone()),
                    ],
                    changed: vec!["ward_id".into(), "cage".into()],
                })
            }
            DomainEvent::WardTreatmentOverdue { admission_id, ward_id, patient_id, treatment_id, due, .. } => {
                Some(IdsOnly {
                    ids: vec![
                        ("admission_id", admission_id.to_string()),
                        ("ward_id", ward_id.to_string()),
                        ("patient_id", patient_id.to_string()),
                        ("treatment_id", treatment_id.to_string()),
                        ("due", due.to_string()),
                    ],
                    changed: Vec::new(),
                })
            }
        }
    }
}

/// One entry of the event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    /// Position in the log; gap-free and increasing from 1.
    pub seq: u64,
    pub at: Timestamp,
    /// The clinic (location) whose process recorded the event.
    pub clinic_id: String,
    pub actor: Author,
    /// Event name, e.g. `client_created`.
    pub kind: String,
    /// `kind:id` of the record concerned.
    pub subject: String,
    /// The event's data (the [`DomainEvent`] as JSON).
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// Hex SHA-256 of the previous event (64 zeros for the first).
    pub prev_hash: String,
    /// Hex SHA-256 over this event's fields and `prev_hash`.
    pub hash: String,
}

impl Record for Event {
    const KIND: &'static str = "event";
    const VERSION: u16 = 1;
}

impl Event {
    /// The bytes the hash covers, in a fixed order with length prefixes so no two different
    /// events can produce the same input. `payload` is canonical JSON (serde_json sorts
    /// object keys).
    pub fn hash_input(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        let mut put = |bytes: &[u8]| {
            out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
            out.extend_from_slice(bytes);
        };
        put(self.prev_hash.as_bytes());
        put(&self.seq.to_be_bytes());
        put(self.at.to_string().as_bytes());
        put(self.clinic_id.as_bytes());
        put(serde_json::to_string(&self.actor).unwrap_or_default().as_bytes());
        put(self.kind.as_bytes());
        put(self.subject.as_bytes());
        put(serde_json::to_string(&self.payload).unwrap_or_default().as_bytes());
        out
    }
}

/// The hash of "no previous event".
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Grant;
    use crate::ids::{PatientId, SessionId};
    use crate::whiteboard::{RoomState, RoomStatus};

    const OWNER: &str = "01JD7Y2Q4Z8W3N5K6M7P8R9S0T";
    const CAT: &str = "01JD7Y2Q4Z8W3N5K6M7P8R9S0V";
    const ALICE: &str = "01JD7Y2Q4Z8W3N5K6M7P8R9S0W";
    const BOB: &str = "01JD7Y2Q4Z8W3N5K6M7P8R9S0X";

    fn cat(by: Option<UserId>) -> Patient {
        let create: crate::patients::CreatePatient = serde_json::from_value(serde_json::json!({
            "client_id": OWNER, "name": "Mittens", "allergies": ["penicillin"], "behavior_notes": "bites when restrained"
        }))
        .unwrap();
        let at = Timestamp::UNIX_EPOCH;
        create.validate(jiff::civil::date(2026, 11, 24)).unwrap().into_patient(CAT.parse().unwrap(), at, by)
    }

    fn perms(grants: &[(Permission, Scope)]) -> Permissions {
        let grants: Vec<Grant> = grants.iter().map(|(p, s)| Grant { permission: *p, scope: *s }).collect();
        Permissions::from_grants(&grants)
    }

    fn user(id: &str) -> UserId {
        id.parse().unwrap()
    }

    #[test]
    fn the_kind_is_the_tag_serde_writes() {
        let events = [
            DomainEvent::PatientUpdated { patient: cat(None), changed: vec!["allergies".into()] },
            DomainEvent::SessionStarted { user_id: user(ALICE), session_id: SessionId::from_ulid(ulid::Ulid(7)) },
            DomainEvent::RoomStateChanged {
                status: RoomStatus {
                    room_id: CAT.parse().unwrap(),
                    location_id: OWNER.parse().unwrap(),
                    state: RoomState::InExam,
                    patient_id: Some(CAT.parse().unwrap()),
                    appointment_id: None,
                    staff_ids: Vec::new(),
                    since: Timestamp::UNIX_EPOCH,
                    updated_by: None,
                },
            },
        ];
        for e in &events {
            let payload = serde_json::to_value(e).unwrap();
            assert_eq!(payload["type"].as_str(), Some(e.kind()));
        }
        assert_eq!(events[0].kind(), "patient_updated");
        assert_eq!(events[2].kind(), "room_state_changed");
    }

    #[test]
    fn an_own_scope_sees_only_the_records_its_user_created() {
        let (alice, bob) = (user(ALICE), user(BOB));
        let e = DomainEvent::PatientUpdated { patient: cat(Some(alice)), changed: vec![] };
        let a = e.audience();
        assert_eq!(a.permission, Permission::PatientsView);
        let own = perms(&[(Permission::PatientsView, Scope::Own)]);
        assert!(a.admits(&own, alice));
        assert!(!a.admits(&own, bob), "someone else's cat");
        assert!(a.admits(&perms(&[(Permission::PatientsView, Scope::All)]), bob));
        assert!(!a.admits(&perms(&[(Permission::AppointmentsView, Scope::All)]), alice), "no patients:view");
        // A cat the system created is nobody's own.
        let system = DomainEvent::PatientCreated { patient: cat(None) }.audience();
        assert!(!system.admits(&own, alice));
        // Unnarrowed permissions: own sees what all sees; `Nobody`: own sees nothing.
        let cal = Audience::new(Permission::AppointmentsView, OwnRule::Unnarrowed);
        assert!(cal.admits(&perms(&[(Permission::AppointmentsView, Scope::Own)]), bob));
        let nobody = Audience::new(Permission::AppointmentsView, OwnRule::Nobody);
        assert!(!nobody.admits(&perms(&[(Permission::AppointmentsView, Scope::Own)]), bob));
        assert!(nobody.admits(&perms(&[(Permission::AppointmentsView, Scope::All)]), bob));
        // Decided once per set of permissions, then per user only for scope `own`.
        assert_eq!(a.admitted(&own), Admitted::Only(alice));
        assert_eq!(a.admitted(&perms(&[(Permission::PatientsView, Scope::All)])), Admitted::Everyone);
        assert_eq!(system.admitted(&own), Admitted::Nobody);
        assert_eq!(cal.admitted(&perms(&[(Permission::AppointmentsView, Scope::Own)])), Admitted::Everyone);
        assert_eq!(a.admitted(&perms(&[])), Admitted::Nobody);
    }

    #[test]
    fn patient_events_go_on_the_wire_as_ids_and_changed_fields() {
        let e = DomainEvent::PatientUpdated { patient: cat(None), changed: vec!["allergies".into()] };
        let data = e.ids_only().expect("a cat's record is clinical").to_json(e.kind());
        assert_eq!(
            data,
            serde_json::json!({"type": "patient_updated", "patient_id": CAT, "client_id": OWNER, "changed": ["allergies"]})
        );
        let text = data.to_string();
        assert!(!text.contains("penicillin") && !text.contains("bites") && !text.contains("Mittens"), "{text}");
        let id: PatientId = CAT.parse().unwrap();
        let gone = DomainEvent::PatientDeactivated { patient: cat(None) }.ids_only().unwrap();
        assert_eq!((gone.ids[0].1.clone(), gone.changed), (id.to_string(), vec!["status".to_owned()]));
        assert_eq!(
            DomainEvent::SessionEnded { user_id: user(ALICE), session_id: SessionId::from_ulid(ulid::Ulid(7)) }
                .ids_only(),
            None
        );
    }
}
