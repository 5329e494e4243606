//! Typed identifiers. Every id is a ULID (sortable by creation time) wrapped in a newtype, so
//! a patient id can never be passed where a client id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::errors::ErrorCode;
use ulid::Ulid;

/// Why an id string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid id")]
pub struct InvalidId;

/// An id of a kind of record that can be looked up: what a path naming an unknown or
/// malformed one answers.
pub trait RecordId: Copy + FromStr + fmt::Display + Send + Sync + 'static {
    /// The error code of "no such record" (`client_not_found`…).
    const NOT_FOUND: ErrorCode;
    /// The record's name in messages ("client", "time-off request").
    const NOUN: &'static str;
    /// Rebuilds an id from its store key.
    fn from_u128(key: u128) -> Self;
    /// The id as its store key.
    fn as_u128(self) -> u128;
    /// Wraps a new ULID.
    fn from_ulid(ulid: Ulid) -> Self;
}

macro_rules! ulid_id {
    ($(#[$doc:meta])* $name:ident $(, $not_found:ident, $noun:literal)?) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Ulid);

        impl $name {
            /// Wraps an existing ULID.
            pub const fn from_ulid(ulid: Ulid) -> Self {
                Self(ulid)
            }
            /// The id as the 128-bit integer used for store keys (same order as the ULID).
            pub const fn as_u128(self) -> u128 {
                self.0.0
            }
            /// Rebuilds an id from its store key.
            pub const fn from_u128(value: u128) -> Self {
                Self(Ulid(value))
            }
            /// The underlying ULID.
            pub const fn ulid(self) -> Ulid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, InvalidId> {
                // The ulid crate silently wraps values above 2^128; refuse them instead.
                if s.len() != 26 || !matches!(s.as_bytes()[0], b'0'..=b'7') {
                    return Err(InvalidId);
                }
                Ulid::from_string(s).map(Self).map_err(|_| InvalidId)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                s.parse().map_err(|_| serde::de::Error::custom(concat!("invalid ", stringify!($name))))
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some(concat!(stringify!($name), ": a ULID, 26 characters of Crockford base32")))
                    .min_length(Some(26))
                    .max_length(Some(26))
                    .examples(["01JD7Y2Q4Z8W3N5K6M7P8R9S0T"])
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        $(
            impl RecordId for $name {
                const NOT_FOUND: ErrorCode = ErrorCode::$not_found;
                const NOUN: &'static str = $noun;
                fn from_u128(key: u128) -> Self {
                    Self::from_u128(key)
                }
                fn as_u128(self) -> u128 {
                    self.as_u128()
                }
                fn from_ulid(ulid: Ulid) -> Self {
                    Self::from_ulid(ulid)
                }
            }
        )?
    };
}

ulid_id!(
    /// A client (cat owner).
    ClientId, ClientNotFound, "client"
);
ulid_id!(
    /// A patient (a cat).
    PatientId, PatientNotFound, "patient"
);
ulid_id!(
    /// A staff user account.
    UserId, UserNotFound, "user"
);
ulid_id!(
    /// A server-side sign-in session.
    SessionId, SessionNotFound, "session"
);
ulid_id!(
    /// A role (a named set of permission grants).
    RoleId, RoleNotFound, "role"
);
ulid_id!(
    /// A registered device (an exam-room tablet).
    DeviceId, DeviceNotFound, "device"
);
ulid_id!(
    /// A kind of appointment (wellness exam, dental cleaning…).
    AppointmentTypeId, AppointmentTypeNotFound, "appointment type"
);
ulid_id!(
    /// A clinic location (a building with its own hours and time zone).
    LocationId, LocationNotFound, "location"
);
ulid_id!(
    /// A room at a location (exam, surgery, dental…).
    RoomId, RoomNotFound, "room"
);
ulid_id!(
    /// A staff profile (the person; their sign-in account is a separate user).
    StaffId, StaffNotFound, "staff member"
);
ulid_id!(
    /// One shift of one staff member.
    ShiftId, ShiftNotFound, "shift"
);
ulid_id!(
    /// A time-off request.
    TimeOffId, TimeOffNotFound, "time-off request"
);
ulid_id!(
    /// An appointment.
    AppointmentId, AppointmentNotFound, "appointment"
);
ulid_id!(
    /// A waitlist entry.
    WaitlistId, WaitlistEntryNotFound, "waitlist entry"
);
ulid_id!(
    /// An offer of a freed slot to a waitlist entry.
    OfferId, OfferNotFound, "waitlist offer"
);
ulid_id!(
    /// A calendar-feed subscription (its secret token is stored only as a hash).
    FeedId, FeedNotFound, "calendar feed"
);
ulid_id!(
    /// A durable job (`clowder_schemas::jobs::Job`).
    JobId, JobNotFound, "job"
);
ulid_id!(
    /// A message of the message log (`clowder_schemas::messages::Message`).
    MessageId, MessageNotFound, "message"
);
ulid_id!(
    /// A message template (`clowder_schemas::templates::Template`).
    TemplateId, TemplateNotFound, "template"
);
ulid_id!(
    /// A line of a client's consent ledger (`clowder_schemas::consent::ConsentEntry`).
    ConsentEntryId
);
ulid_id!(
    /// A batch of messages sent by staff to many clients (`clowder_schemas::batches::Batch`).
    BatchId, BatchNotFound, "message batch"
);
ulid_id!(
    /// A saved marketing audience (`clowder_schemas::campaigns::Segment`).
    SegmentId, SegmentNotFound, "segment"
);
ulid_id!(
    /// A marketing campaign (`clowder_schemas::campaigns::Campaign`).
    CampaignId, CampaignNotFound, "campaign"
);
ulid_id!(
    /// A referral and the credit owed for it (`clowder_schemas::campaigns::Referral`).
    ReferralId, ReferralNotFound, "referral"
);
ulid_id!(
    /// A visit (an encounter: one cat seen once) of the medical record.
    VisitId, VisitNotFound, "visit"
);
ulid_id!(
    /// A SOAP note of a visit (signed and locked, then amended only by addenda).
    NoteId, NoteNotFound, "note"
);
ulid_id!(
    /// One set of vital signs taken of a cat.
    VitalsId, VitalsNotFound, "vitals record"
);
ulid_id!(
    /// A problem or diagnosis on a cat's problem list.
    ProblemId, ProblemNotFound, "problem"
);
ulid_id!(
    /// A protocol: a template of dated steps with costs (a dental cleaning, CKD monitoring).
    ProtocolId, ProtocolNotFound, "protocol"
);
ulid_id!(
    /// A treatment plan: a protocol applied to one cat from a start date.
    TreatmentPlanId, TreatmentPlanNotFound, "treatment plan"
);
ulid_id!(
    /// A lab order: one test or panel of the catalogue for a cat in a visit.
    LabOrderId, LabOrderNotFound, "lab order"
);
ulid_id!(
    /// An entry of the unmatched lab-result queue.
    LabUnmatchedId, LabUnmatchedNotFound, "unmatched lab result"
);
ulid_id!(
    /// A prescription (`clowder_schemas::prescriptions::Prescription`).
    PrescriptionId, PrescriptionNotFound, "prescription"
);
ulid_id!(
    /// A hospital ward of a location (`clowder_schemas::wards::Ward`).
    WardId, WardNotFound, "ward"
);
ulid_id!(
    /// A cat's stay in a ward with its treatment sheet (`clowder_schemas::wards::Admission`).
    AdmissionId, AdmissionNotFound, "admission"
);
ulid_id!(
    /// A scheduled treatment of an admission's sheet (`clowder_schemas::wards::Treatment`).
    TreatmentId
);
ulid_id!(
    /// A container (bottle, vial, box) of a controlled drug in the register.
    ControlledContainerId, ControlledContainerNotFound, "controlled-drug container"
);
ulid_id!(
    /// One entry of the controlled-drug register (append-only).
    ControlledEntryId, ControlledEntryNotFound, "controlled-drug register entry"
);
ulid_id!(
    /// A vaccination entry: a dose, a refusal, a due-date override or a risk assessment.
    VaccinationId, VaccinationNotFound, "vaccination"
);
ulid_id!(
    /// An inventory product (a drug, supply, piece of equipment or retail item).
    ProductId, ProductNotFound, "product"
);
ulid_id!(
    /// A vendor (supplier) of products.
    VendorId, VendorNotFound, "vendor"
);
ulid_id!(
    /// A purchase order to a vendor.
    PurchaseOrderId, PurchaseOrderNotFound, "purchase order"
);
ulid_id!(
    /// A lot (batch) of a product, with its expiry.
    LotId, StockLotNotFound, "stock lot"
);
ulid_id!(
    /// One entry of the stock ledger (append-only; ids in time order).
    StockEntryId
);
ulid_id!(
    /// An entry of the service catalogue (a service or a product the clinic charges for).
    CatalogueItemId, CatalogueItemNotFound, "catalogue item"
);
ulid_id!(
    /// An invoice (a draft, or issued with its `INV-YYYY-NNNNNN` number).
    InvoiceId, InvoiceNotFound, "invoice"
);
ulid_id!(
    /// A credit note against an issued invoice (`CN-YYYY-NNNNNN`).
    CreditNoteId
);
ulid_id!(
    /// A payment against an invoice.
    PaymentId, PaymentNotFound, "payment"
);
ulid_id!(
    /// A refund of (part of) a payment.
    RefundId
);
ulid_id!(
    /// An estimate (a draft, or sent with its `EST-YYYY-NNNNNN` number).
    EstimateId, EstimateNotFound, "estimate"
);
ulid_id!(
    /// A payment plan for an issued invoice's balance.
    PaymentPlanId, PaymentPlanNotFound, "payment plan"
);
ulid_id!(
    /// A recorded accounting export (CSV or IIF of a date range).
    AccountingExportId, AccountingExportNotFound, "accounting export"
);
ulid_id!(
    /// The clinic's chart-of-accounts mapping: one row, key 1.
    AccountMappingId, NotFound, "account mapping"
);

ulid_id!(
    /// A document on the medical record (an uploaded file or a signed consent form's PDF).
    DocumentId, DocumentNotFound, "document"
);

ulid_id!(
    /// A consent template (anaesthesia, euthanasia, treatment estimate, other), versioned.
    ConsentTemplateId, ConsentTemplateNotFound, "consent template"
);
ulid_id!(
    /// A consent form made from a template for a visit, signed on the tablet.
    ConsentFormId, ConsentFormNotFound, "consent form"
);

ulid_id!(
    /// One movement of a client's loyalty points (append-only; ids in time order).
    LoyaltyEntryId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_strings_and_keys() {
        let id = ClientId::from_ulid(Ulid::from_parts(1_700_000_000_000, 42));
        let text = id.to_string();
        assert_eq!(text.len(), 26);
        assert_eq!(text.parse::<ClientId>().unwrap(), id);
        assert_eq!(ClientId::from_u128(id.as_u128()), id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<ClientId>(&json).unwrap(), id);
    }

    #[test]
    fn malformed_ids_are_refused() {
        for bad in ["", "abc", "01JD7Y2Q4Z8W3N5K6M7P8R9S0", "ZZZZZZZZZZZZZZZZZZZZZZZZZZ", "../../etc/passwd"] {
            assert!(bad.parse::<PatientId>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn key_order_follows_creation_time() {
        let a = PatientId::from_ulid(Ulid::from_parts(1, u128::MAX >> 48));
        let b = PatientId::from_ulid(Ulid::from_parts(2, 0));
        assert!(a.as_u128() < b.as_u128());
    }
}
