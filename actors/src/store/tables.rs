//! Every table of the store, declared in one place. The layout is documented in
//! `docs/store.md`; change both together.
//!
//! Record tables map a 128-bit key (the record's ULID) to a versioned MessagePack envelope.
//! Secondary indexes are composite keys with empty values. Unique values (emails,
//! microchips, usernames, session-token hashes) live in one table keyed by
//! `(namespace, value)` whose value is the owning record's key.

use redb::TableDefinition;

pub use super::backup::JOURNAL;

/// Store-wide facts: `format` (layout version), `clinic_id`, `created_at`.
pub const META: TableDefinition<&str, &str> = TableDefinition::new("meta");

/// The store layout version this build reads and writes.
pub const FORMAT_VERSION: &str = "1";

/// A table of versioned records keyed by ULID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordTable {
    Clients,
    Patients,
    Users,
    Sessions,
    Roles,
    Devices,
    AppointmentTypes,
    Locations,
    Rooms,
    Staff,
    Shifts,
    TimeOff,
    Appointments,
    Waitlist,
    Offers,
    Feeds,
    RoomStates,
    /// Per staff user: their recent searches (key: the user's id).
    SearchHistory,
    /// Per staff user: the clients and patients they opened last (key: the user's id).
    RecentViews,
    /// Durable jobs (`jobs::`), written by the job API and the scheduler.
    Jobs,
    /// The message log (`comms::messages`), written with the `send_message` jobs.
    Messages,
    /// Message templates (`comms::templates`), with their earlier versions inside.
    Templates,
    /// Automation rules' settings (`comms::automations`), one row per rule that staff changed.
    Automations,
    /// A client's communication preferences and current consent (`comms::consent`; key: the
    /// client's id).
    Preferences,
    /// The consent ledger (`comms::consent`), append-only.
    ConsentLedger,
    /// Message batches staff send to many clients (`comms::batches`).
    Batches,
    /// Saved marketing audiences (`comms::segments`).
    Segments,
    /// Marketing campaigns (`comms::campaigns`).
    Campaigns,
    /// Referrals and the credits owed for them (`comms::referrals`).
    Referrals,
    /// Clinical fact sets (`clinical::facts`): key `(fact set number << 64) | version`,
    /// version 0 holding a copy of the current version.
    ClinicalFacts,
    /// Vital signs (`clinical::vitals`); ids carry the time they were taken.
    Vitals,
    /// Problem lists (`clinical::problems`).
    Problems,
    /// Visits of the medical record (`clinical::visits`).
    Visits,
    /// Lab orders with their results (`clinical::labs`).
    LabOrders,
    /// The unmatched lab-result queue (`clinical::labs`).
    LabUnmatched,
    /// Signed SOAP notes with their addenda (`clinical::notes`).
    Notes,
    /// SOAP notes being written, autosaved outside the event log (`clinical::drafts`; key: the
    /// visit's id).
    NoteDrafts,
    /// Note templates the clinic edited (`clinical::drafts`; key: a visit type's number 1–7 or
    /// an appointment type's id).
    NoteTemplates,
    /// Prescriptions (`clinical::prescriptions`).
    Prescriptions,
    /// Controlled-drug containers (`clinical::controlled`), written once at receipt.
    ControlledContainers,
    /// The controlled-drug register (`clinical::controlled`), append-only; ids in time order.
    ControlledEntries,
    /// Vaccination entries: doses, refusals, due-date overrides, risk (`clinical::vaccinations`).
    Vaccinations,
    /// Inventory products (`inventory::products`).
    Products,
    /// Vendors of products (`inventory::vendors`).
    Vendors,
    /// Purchase orders with their lines and receipts (`inventory::orders`).
    PurchaseOrders,
    /// Lots of products with their expiry and what remains (`inventory::stock`).
    StockLots,
    /// The stock ledger (`inventory::stock`), append-only; ids in time order.
    StockLedger,
    /// The service catalogue (`billing::catalogue`).
    CatalogueItems,
    /// Invoices with their lines and credit notes (`billing::invoices`).
    Invoices,
    /// Estimates with their options (`billing::estimates`).
    Estimates,
    /// Payment plans with their schedule and revisions (`billing::plans`).
    PaymentPlans,
    /// Charge capture's cursor in the event log (`billing::capture`; key 0).
    ChargeCapture,
    /// Batches issuing the invoices of completed visits, with their reports
    /// (`billing::capture`; key: the batch job's id).
    InvoiceBatches,
    /// The revenue rollup (`billing::reports`): key `(day << 96) | hash of (location,
    /// category)`, each row a day's sums, added to in the invoice's change set.
    RevenueDays,
    /// The ageing's view of each invoice with a balance (`billing::reports`; key: the
    /// invoice's id), put and deleted in the invoice's change set.
    ArOpen,
    /// The ageing's view of each paid invoice (`billing::reports`): key `(settled day << 96)
    /// | the low 96 bits of the invoice's id`, put and deleted in the invoice's change set, so
    /// an ageing as of a past day reads the invoices settled since as compactly as `ArOpen`.
    ArSettled,
    /// The revenue rollup by month (`billing::reports`): the same rows as `RevenueDays`
    /// summed per month (key `(first day of the month << 96) | hash`), so a report of years by
    /// month reads a row per month and category instead of one per day.
    RevenueMonths,
    /// The chart-of-accounts mapping (`billing::accounting`; one row, key 1).
    AccountMappings,
    /// Recorded accounting exports (`billing::accounting`), never changed once written.
    AccountingExports,
    /// The files of accounting exports and invoice batch exports (key: the export's or the
    /// batch's id), kept to be downloaded again.
    AccountingFiles,
    /// Bulk statement email runs with their reports (`billing::statements`; key: the run
    /// job's id).
    StatementRuns,
    /// The loyalty programme's settings (`billing::loyalty`; key 0).
    LoyaltySettings,
    /// Clients' loyalty points ledger (`billing::loyalty`), append-only; ids in time order.
    LoyaltyLedger,
    /// The clinic's logo for printed documents (`printing`; key 0).
    ClinicLogo,
    /// Print batches with their progress (`clinical::print_batches`; key: the job's id).
    PrintBatches,
    /// The PDFs print batches made (key: the batch's id).
    PrintFiles,
    /// Documents on the medical record (`clinical::documents`): metadata; the content is a
    /// file under `<data dir>/documents/` named by its SHA-256.
    Documents,
    /// Consent templates, versioned (`clinical::consent_forms`).
    ConsentTemplates,
    /// Consent forms made for a visit from a template, signed once (`clinical::consent_forms`).
    ConsentForms,
    /// Hospital wards and their cages (`clinical::wards`).
    Wards,
    /// A cat's stays in a ward with their treatment sheets (`clinical::wards`).
    Admissions,
    /// Protocols: templates of dated steps with costs, versioned (`clinical::protocols`).
    Protocols,
    /// Treatment plans with their steps and history (`clinical::plans`).
    TreatmentPlans,
}

impl RecordTable {
    pub const ALL: [RecordTable; 73] = [
        RecordTable::Clients,
        RecordTable::Patients,
        RecordTable::Users,
        RecordTable::Sessions,
        RecordTable::Roles,
        RecordTable::Devices,
        RecordTable::AppointmentTypes,
        RecordTable::Locations,
        RecordTable::Rooms,
        RecordTable::Staff,
        RecordTable::Shifts,
        RecordTable::TimeOff,
        RecordTable::Appointments,
        RecordTable::Waitlist,
        RecordTable::Offers,
        RecordTable::Feeds,
        RecordTable::RoomStates,
        RecordTable::SearchHistory,
        RecordTable::RecentViews,
        RecordTable::Jobs,
        RecordTable::Messages,
        RecordTable::Templates,
        RecordTable::Automations,
        RecordTable::Preferences,
        RecordTable::ConsentLedger,
        RecordTable::Batches,
        RecordTable::Segments,
        RecordTable::Campaigns,
        RecordTable::Referrals,
        RecordTable::ClinicalFacts,
        RecordTable::Vitals,
        RecordTable::Problems,
        RecordTable::Visits,
        RecordTable::Notes,
        RecordTable::NoteDrafts,
        RecordTable::NoteTemplates,
        RecordTable::Prescriptions,
        RecordTable::ControlledContainers,
        RecordTable::ControlledEntries,
        RecordTable::Vaccinations,
        RecordTable::Products,
        RecordTable::Vendors,
        RecordTable::PurchaseOrders,
        RecordTable::StockLots,
        RecordTable::StockLedger,
        RecordTable::CatalogueItems,
        RecordTable::Invoices,
        RecordTable::Estimates,
        RecordTable::PaymentPlans,
        RecordTable::ChargeCapture,
        RecordTable::InvoiceBatches,
        RecordTable::RevenueDays,
        RecordTable::ArOpen,
        RecordTable::ArSettled,
        RecordTable::RevenueMonths,
        RecordTable::AccountMappings,
        RecordTable::AccountingExports,
        RecordTable::AccountingFiles,
        RecordTable::StatementRuns,
        RecordTable::LoyaltySettings,
        RecordTable::LoyaltyLedger,
        RecordTable::LabOrders,
        RecordTable::LabUnmatched,
        RecordTable::ClinicLogo,
        RecordTable::PrintBatches,
        RecordTable::PrintFiles,
        RecordTable::Documents,
        RecordTable::ConsentTemplates,
        RecordTable::ConsentForms,
        RecordTable::Wards,
        RecordTable::Admissions,
        RecordTable::Protocols,
        RecordTable::TreatmentPlans,
    ];

    pub const fn def(self) -> TableDefinition<'static, u128, &'static [u8]> {
        match self {
            RecordTable::Clients => TableDefinition::new("clients"),
            RecordTable::Patients => TableDefinition::new("patients"),
            RecordTable::Users => TableDefinition::new("users"),
            RecordTable::Sessions => TableDefinition::new("sessions"),
            RecordTable::Roles => TableDefinition::new("roles"),
            RecordTable::Devices => TableDefinition::new("devices"),
            RecordTable::AppointmentTypes => TableDefinition::new("appointment_types"),
            RecordTable::Locations => TableDefinition::new("locations"),
            RecordTable::Rooms => TableDefinition::new("rooms"),
            RecordTable::Staff => TableDefinition::new("staff"),
            RecordTable::Shifts => TableDefinition::new("shifts"),
            RecordTable::TimeOff => TableDefinition::new("time_off"),
            RecordTable::Appointments => TableDefinition::new("appointments"),
            RecordTable::Waitlist => TableDefinition::new("waitlist"),
            RecordTable::Offers => TableDefinition::new("waitlist_offers"),
            RecordTable::Feeds => TableDefinition::new("calendar_feeds"),
            RecordTable::RoomStates => TableDefinition::new("room_states"),
            RecordTable::SearchHistory => TableDefinition::new("search_history"),
            RecordTable::RecentViews => TableDefinition::new("recent_views"),
            RecordTable::Jobs => TableDefinition::new("jobs"),
            RecordTable::Messages => TableDefinition::new("messages"),
            RecordTable::Templates => TableDefinition::new("templates"),
            RecordTable::Automations => TableDefinition::new("automations"),
            RecordTable::Preferences => TableDefinition::new("client_preferences"),
            RecordTable::ConsentLedger => TableDefinition::new("consent_ledger"),
            RecordTable::Batches => TableDefinition::new("message_batches"),
            RecordTable::Segments => TableDefinition::new("segments"),
            RecordTable::Campaigns => TableDefinition::new("campaigns"),
            RecordTable::Referrals => TableDefinition::new("referrals"),
            RecordTable::ClinicalFacts => TableDefinition::new("clinical_facts"),
            RecordTable::Vitals => TableDefinition::new("vitals"),
            RecordTable::Problems => TableDefinition::new("problems"),
            RecordTable::Visits => TableDefinition::new("visits"),
            RecordTable::LabOrders => TableDefinition::new("lab_orders"),
            RecordTable::LabUnmatched => TableDefinition::new("lab_unmatched"),
            RecordTable::Notes => TableDefinition::new("notes"),
            RecordTable::NoteDrafts => TableDefinition::new("note_drafts"),
            RecordTable::NoteTemplates => TableDefinition::new("note_templates"),
            RecordTable::Prescriptions => TableDefinition::new("prescriptions"),
            RecordTable::ControlledContainers => TableDefinition::new("controlled_containers"),
            RecordTable::ControlledEntries => TableDefinition::new("controlled_entries"),
            RecordTable::Vaccinations => TableDefinition::new("vaccinations"),
            RecordTable::Products => TableDefinition::new("products"),
            RecordTable::Vendors => TableDefinition::new("vendors"),
            RecordTable::PurchaseOrders => TableDefinition::new("purchase_orders"),
            RecordTable::StockLots => TableDefinition::new("stock_lots"),
            RecordTable::StockLedger => TableDefinition::new("stock_ledger"),
            RecordTable::CatalogueItems => TableDefinition::new("catalogue_items"),
            RecordTable::Invoices => TableDefinition::new("invoices"),
            RecordTable::Estimates => TableDefinition::new("estimates"),
            RecordTable::PaymentPlans => TableDefinition::new("payment_plans"),
            RecordTable::ChargeCapture => TableDefinition::new("charge_capture"),
            RecordTable::InvoiceBatches => TableDefinition::new("invoice_batches"),
            RecordTable::RevenueDays => TableDefinition::new("revenue_days"),
            RecordTable::ArOpen => TableDefinition::new("ar_open"),
            RecordTable::ArSettled => TableDefinition::new("ar_settled"),
            RecordTable::RevenueMonths => TableDefinition::new("revenue_months"),
            RecordTable::AccountMappings => TableDefinition::new("account_mappings"),
            RecordTable::AccountingExports => TableDefinition::new("accounting_exports"),
            RecordTable::AccountingFiles => TableDefinition::new("accounting_files"),
            RecordTable::StatementRuns => TableDefinition::new("statement_runs"),
            RecordTable::LoyaltySettings => TableDefinition::new("loyalty_settings"),
            RecordTable::LoyaltyLedger => TableDefinition::new("loyalty_ledger"),
            RecordTable::ClinicLogo => TableDefinition::new("clinic_logo"),
            RecordTable::PrintBatches => TableDefinition::new("print_batches"),
            RecordTable::PrintFiles => TableDefinition::new("print_files"),
            RecordTable::Documents => TableDefinition::new("documents"),
            RecordTable::ConsentTemplates => TableDefinition::new("consent_templates"),
            RecordTable::ConsentForms => TableDefinition::new("consent_forms"),
            RecordTable::Wards => TableDefinition::new("wards"),
            RecordTable::Admissions => TableDefinition::new("admissions"),
            RecordTable::Protocols => TableDefinition::new("protocols"),
            RecordTable::TreatmentPlans => TableDefinition::new("treatment_plans"),
        }
    }
}

/// A secondary index: `(parent key, child key) → ()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexTable {
    /// `(client, patient)`: a client's cats.
    PatientsByClient,
    /// `(user, session)`: a user's sessions.
    SessionsByUser,
    /// `(due time in Unix ms, job)`: the jobs that will still run (queued, failed, running),
    /// in due order; the scheduler's queue.
    JobsDue,
    /// `(the subject's id, job)`: every job a record caused (`appointment:<id>`).
    JobsBySubject,
    /// `(client, message)`: the messages sent to a client.
    MessagesByClient,
    /// `(client, consent entry)`: a client's consent ledger.
    ConsentByClient,
    /// `(first 16 bytes of SHA-256 of the provider's id, message)`: finds the message a
    /// delivery webhook names by `MessageSid` or `sg_message_id`.
    MessagesByProviderId,
    /// `(patient, vitals)`: a cat's vital signs.
    VitalsByPatient,
    /// `(patient, problem)`: a cat's problem list.
    ProblemsByPatient,
    /// `(patient, lab order)`: a cat's lab orders.
    LabOrdersByPatient,
    /// `(visit, lab order)`: a visit's lab orders.
    LabOrdersByVisit,
    /// `(patient, visit)`: a cat's visits.
    VisitsByPatient,
    /// `(patient, note)`: a cat's signed notes.
    NotesByPatient,
    /// `(0, visit)`: visits whose note is not signed yet (not voided), oldest first; the
    /// board's "unsigned after 24 h" reads it.
    VisitsUnsigned,
    /// `(patient, prescription)`: a cat's prescriptions.
    PrescriptionsByPatient,
    /// `(container, entry)`: a controlled-drug container's register, in time order.
    ControlledByContainer,
    /// `(patient, vaccination)`: a cat's vaccination entries.
    VaccinationsByPatient,
    /// `(product, lot)`: a product's lots.
    LotsByProduct,
    /// `(product, ledger entry)`: a product's stock ledger, in time order.
    LedgerByProduct,
    /// `(patient, prescription)`: a cat's active prescriptions only (the chart's "active
    /// medications" reads these, not all of the cat's); filled from `prescriptions` at start
    /// when empty (a store written before it existed).
    ActivePrescriptionsByPatient,
    /// `(client, invoice)`: a client's invoices (their balance is summed over it).
    InvoicesByClient,
    /// `(visit, invoice)`: the invoices of a visit (charge capture finds its draft here).
    InvoicesByVisit,
    /// `(client, estimate)`: a client's estimates.
    EstimatesByClient,
    /// `(invoice, payment plan)`: an invoice's payment plans, the active one and those before.
    PaymentPlansByInvoice,
    /// `(UTC day of the last payment or credit note, invoice)`: paid invoices, by when they
    /// were settled (ageing as of a past day also reads those settled after it).
    InvoicesSettled,
    /// `(client, loyalty entry)`: a client's loyalty ledger, in time order.
    LoyaltyByClient,
    /// `(client, document)`: the documents filed under a client (their cats' too).
    DocumentsByClient,
    /// `(patient, document)`: a cat's documents (its visits' too).
    DocumentsByPatient,
    /// `(client, consent form)`: the consent forms of a client's cats.
    ConsentFormsByClient,
    /// `(patient, consent form)`: a cat's consent forms (its visits' too).
    ConsentFormsByPatient,
    /// `(day number, invoice)`: each invoice under every day it has something the books take
    /// (issued, a credit note, a payment, a refund, voided; payments and voids by their UTC
    /// day), so an accounting export reads only the invoices of its range. Filled from
    /// `invoices` at start when empty.
    InvoicesByDay,
    /// `(0, invoice)`: issued invoices that were voided (an accounting export looks here for
    /// the voids whose reversal it owes; few).
    InvoicesVoided,
    /// `(ward, admission)`: a ward's admissions, current and past, in time order.
    AdmissionsByWard,
    /// `(UTC day number of its completion, visit)`: completed visits, so the batch that
    /// issues a range's invoices reads only that range. Kept by the visit's links; filled
    /// from `visits` at start when empty.
    VisitsByCompletionDay,
    /// `(patient, plan)`: a cat's treatment plans, in creation order.
    TreatmentPlansByPatient,
}

impl IndexTable {
    pub const ALL: [IndexTable; 35] = [
        IndexTable::PatientsByClient,
        IndexTable::SessionsByUser,
        IndexTable::JobsDue,
        IndexTable::JobsBySubject,
        IndexTable::MessagesByClient,
        IndexTable::ConsentByClient,
        IndexTable::MessagesByProviderId,
        IndexTable::VitalsByPatient,
        IndexTable::ProblemsByPatient,
        IndexTable::VisitsByPatient,
        IndexTable::NotesByPatient,
        IndexTable::VisitsUnsigned,
        IndexTable::PrescriptionsByPatient,
        IndexTable::ControlledByContainer,
        IndexTable::VaccinationsByPatient,
        IndexTable::LotsByProduct,
        IndexTable::LedgerByProduct,
        IndexTable::ActivePrescriptionsByPatient,
        IndexTable::InvoicesByClient,
        IndexTable::InvoicesByVisit,
        IndexTable::EstimatesByClient,
        IndexTable::PaymentPlansByInvoice,
        IndexTable::InvoicesSettled,
        IndexTable::LoyaltyByClient,
        IndexTable::LabOrdersByPatient,
        IndexTable::LabOrdersByVisit,
        IndexTable::DocumentsByClient,
        IndexTable::DocumentsByPatient,
        IndexTable::ConsentFormsByClient,
        IndexTable::ConsentFormsByPatient,
        IndexTable::InvoicesByDay,
        IndexTable::InvoicesVoided,
        IndexTable::AdmissionsByWard,
        IndexTable::VisitsByCompletionDay,
        IndexTable::TreatmentPlansByPatient,
    ];

    pub const fn def(self) -> TableDefinition<'static, (u128, u128), ()> {
        match self {
            IndexTable::PatientsByClient => TableDefinition::new("patients_by_client"),
            IndexTable::SessionsByUser => TableDefinition::new("sessions_by_user"),
            IndexTable::JobsDue => TableDefinition::new("jobs_due"),
            IndexTable::JobsBySubject => TableDefinition::new("jobs_by_subject"),
            IndexTable::MessagesByClient => TableDefinition::new("messages_by_client"),
            IndexTable::ConsentByClient => TableDefinition::new("consent_by_client"),
            IndexTable::MessagesByProviderId => TableDefinition::new("messages_by_provider_id"),
            IndexTable::VitalsByPatient => TableDefinition::new("vitals_by_patient"),
            IndexTable::ProblemsByPatient => TableDefinition::new("problems_by_patient"),
            IndexTable::LabOrdersByPatient => TableDefinition::new("lab_orders_by_patient"),
            IndexTable::LabOrdersByVisit => TableDefinition::new("lab_orders_by_visit"),
            IndexTable::VisitsByPatient => TableDefinition::new("visits_by_patient"),
            IndexTable::NotesByPatient => TableDefinition::new("notes_by_patient"),
            IndexTable::VisitsUnsigned => TableDefinition::new("visits_unsigned"),
            IndexTable::PrescriptionsByPatient => TableDefinition::new("prescriptions_by_patient"),
            IndexTable::ControlledByContainer => TableDefinition::new("controlled_by_container"),
            IndexTable::VaccinationsByPatient => TableDefinition::new("vaccinations_by_patient"),
            IndexTable::LotsByProduct => TableDefinition::new("lots_by_product"),
            IndexTable::LedgerByProduct => TableDefinition::new("ledger_by_product"),
            IndexTable::ActivePrescriptionsByPatient => TableDefinition::new("active_prescriptions_by_patient"),
            IndexTable::InvoicesByClient => TableDefinition::new("invoices_by_client"),
            IndexTable::InvoicesByVisit => TableDefinition::new("invoices_by_visit"),
            IndexTable::EstimatesByClient => TableDefinition::new("estimates_by_client"),
            IndexTable::PaymentPlansByInvoice => TableDefinition::new("payment_plans_by_invoice"),
            IndexTable::InvoicesSettled => TableDefinition::new("invoices_settled"),
            IndexTable::LoyaltyByClient => TableDefinition::new("loyalty_by_client"),
            IndexTable::DocumentsByClient => TableDefinition::new("documents_by_client"),
            IndexTable::DocumentsByPatient => TableDefinition::new("documents_by_patient"),
            IndexTable::ConsentFormsByClient => TableDefinition::new("consent_forms_by_client"),
            IndexTable::ConsentFormsByPatient => TableDefinition::new("consent_forms_by_patient"),
            IndexTable::InvoicesByDay => TableDefinition::new("invoices_by_day"),
            IndexTable::InvoicesVoided => TableDefinition::new("invoices_voided"),
            IndexTable::AdmissionsByWard => TableDefinition::new("admissions_by_ward"),
            IndexTable::VisitsByCompletionDay => TableDefinition::new("visits_by_completion_day"),
            IndexTable::TreatmentPlansByPatient => TableDefinition::new("treatment_plans_by_patient"),
        }
    }
}

/// `(namespace, value) → owner key`.
pub const UNIQUE: TableDefinition<(&str, &str), u128> = TableDefinition::new("unique");

/// Namespaces of [`UNIQUE`].
pub mod unique {
    pub const CLIENT_EMAIL: &str = "client_email";
    pub const PATIENT_MICROCHIP: &str = "patient_microchip";
    pub const USERNAME: &str = "username";
    pub const SESSION_TOKEN: &str = "session_token";
    pub const ROLE_NAME: &str = "role_name";
    pub const DEVICE_TOKEN: &str = "device_token";
    pub const APPOINTMENT_TYPE_NAME: &str = "appointment_type_name";
    pub const LOCATION_NAME: &str = "location_name";
    /// `<location id>/<lower-cased name>`: room names are unique within a location.
    pub const ROOM_NAME: &str = "room_name";
    pub const STAFF_EMAIL: &str = "staff_email";
    /// A user account belongs to at most one staff profile.
    pub const STAFF_USER: &str = "staff_user";
    pub const FEED_TOKEN: &str = "feed_token";
    /// A job's idempotency key: the same key is enqueued once.
    pub const JOB_KEY: &str = "job_key";
    /// Template names, one namespace per channel (a name is unique per channel, as typed).
    pub const TEMPLATE_NAME_EMAIL: &str = "template_name_email";
    pub const TEMPLATE_NAME_SMS: &str = "template_name_sms";
    /// A referred client's id: each client is referred at most once.
    pub const REFERRED_CLIENT: &str = "referred_client";
    /// An appointment's id: one visit per appointment.
    pub const VISIT_APPOINTMENT: &str = "visit_appointment";
    /// A visit's id: one signed note per visit.
    pub const NOTE_VISIT: &str = "note_visit";
    /// A controlled-drug register entry's id: each entry is reversed at most once.
    pub const CONTROLLED_REVERSAL: &str = "controlled_reversal";
    /// A product's normalised SKU.
    pub const PRODUCT_SKU: &str = "product_sku";
    /// `<drug id>/<form>/<strength>`: the one product a prescription of it is dispensed from.
    pub const PRODUCT_DRUG: &str = "product_drug";
    /// `<prescription id>/<fill>`: each fill of a prescription leaves stock at most once.
    pub const STOCK_DISPENSE: &str = "stock_dispense";
    /// An active catalogue item's code (lower-cased).
    pub const CATALOGUE_CODE: &str = "catalogue_code";
    /// The active catalogue item charging a formulary drug (`drug`, `drug/form` or
    /// `drug/form/strength`: inventory's key).
    pub const CATALOGUE_DRUG: &str = "catalogue_drug";
    /// The active catalogue item charging a vaccine (its protocol code).
    pub const CATALOGUE_VACCINE: &str = "catalogue_vaccine";
    /// The active catalogue item charging a lab test (its code, lower-cased).
    pub const CATALOGUE_LAB_TEST: &str = "catalogue_lab_test";
    /// The active catalogue item that is an appointment type's exam fee.
    pub const CATALOGUE_EXAM: &str = "catalogue_exam";
    /// `<processor>/<its payment id>`: a processor's payment is recorded once.
    pub const PAYMENT_PROCESSOR_ID: &str = "payment_processor_id";
    /// An estimate's id, owned by the invoice it was converted into: one invoice per estimate.
    pub const ESTIMATE_INVOICE: &str = "estimate_invoice";
    /// An invoice's id, owned by its active payment plan: at most one active plan per invoice.
    pub const PAYMENT_PLAN_INVOICE: &str = "payment_plan_invoice";
    /// A charge capture source (`vaccination:<id>`, `dispense:<prescription id>/<fill>`,
    /// `visit:<id>`), owned by the invoice it was captured on: captured once, ever.
    pub const CAPTURED_CHARGE: &str = "captured_charge";
    /// A payment's id → the invoice holding it (`/api/payments/{id}/…` finds it here).
    pub const PAYMENT_INVOICE: &str = "payment_invoice";
    /// `<processor>/<its refund id>`: a processor's refund is recorded once.
    pub const REFUND_PROCESSOR_ID: &str = "refund_processor_id";
    /// A cat's id, owned by its admission while it is in a ward: one active admission per cat.
    pub const ADMITTED_PATIENT: &str = "admitted_patient";
    /// `<ward id>/<lower-cased cage>`, owned by the admission in it: one cat per cage.
    pub const WARD_CAGE: &str = "ward_cage";
    /// `<kind>/<local date>` (`invoices/2026-03-01`), owned by the accounting export that
    /// first exported that kind of that day: nothing is exported twice unless re-exported.
    pub const EXPORTED_DAY: &str = "exported_day";
    /// A voided invoice's id, owned by the accounting export that carried the reversal of its
    /// exported issue: reversed once.
    pub const EXPORTED_VOID: &str = "exported_void";
    /// `<client>:<from>:<to>`, owned by the statement run that emailed that statement: a
    /// period's statement is emailed once by runs.
    pub const STATEMENT_SENT: &str = "statement_sent";
    /// `<invoice>:<YYYY-MM>`, owned by the finance-charge invoice that charged that invoice
    /// that month: once per invoice per month.
    pub const FINANCE_CHARGE: &str = "finance_charge";
    /// An invoice's id → the ledger entry of the loyalty points it earned: earned once.
    pub const LOYALTY_EARNED: &str = "loyalty_earned";
    /// A referred client's id → the referrer's ledger entry of the referral bonus: once.
    pub const LOYALTY_REFERRAL: &str = "loyalty_referral";
    /// `<client>/<year>` → the ledger entry of that year's birthday bonus: once a year.
    pub const LOYALTY_BIRTHDAY: &str = "loyalty_birthday";
    /// An earned entry's id → the entry that expired what was left of it: once per lot.
    pub const LOYALTY_EXPIRED: &str = "loyalty_expired";
}

/// Safe retries: `(principal, Idempotency-Key) → envelope of IdempotencyRecord`. Claimed by
/// the commit thread in the change set of the write, answered by a follow-up commit, swept
/// after 24 h.
pub const IDEMPOTENCY: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("idempotency");

/// Gap-free human numbers: `<clinic id>/<prefix>/<year>` → the last number allocated in that
/// series. Read and advanced only by the commit thread, inside the transaction that writes the
/// numbered record.
pub const SERIES: TableDefinition<&str, u64> = TableDefinition::new("series");

/// The event log: sequence number → event envelope (hash-chained).
pub const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");

/// The audit trail: sequence number → audit entry envelope (hash-chained like the events).
pub const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");

/// The name of every table, in the order `docs/store.md` lists them (its table list is
/// generated from this by `tests/it/docs.rs`).
pub fn names() -> Vec<String> {
    use redb::TableHandle;
    let mut names = vec![META.name().to_owned()];
    names.extend(RecordTable::ALL.iter().map(|t| t.def().name().to_owned()));
    names.extend(IndexTable::ALL.iter().map(|t| t.def().name().to_owned()));
    names.extend(
        [UNIQUE.name(), IDEMPOTENCY.name(), SERIES.name(), EVENTS.name(), AUDIT.name(), JOURNAL.name()]
            .map(str::to_owned),
    );
    names
}
