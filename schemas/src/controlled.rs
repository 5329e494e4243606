//! The controlled-drug register: containers (a bottle, vial or box of one controlled drug,
//! with its lot) and the append-only entries against them (receipt, administration,
//! dispensing, reversal, discrepancy, stock count), each by one staff user and witnessed by
//! another (checked with the witness's PIN), each carrying the running balance after it.
//! Nothing here is ever edited: a mistake is corrected by a reversal entry, a physical count
//! that differs from the balance logs a discrepancy. Also the bodies, and the register as CSV.
//!
//! Quantities are kept in thousandths of the container's unit (mL, tablet) so that a balance
//! is exact however many entries it sums; the API reads and writes them as decimals.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::errors::ValidationError;
use crate::formulary::{FormKind, Schedule};
use crate::ids::{ControlledContainerId, ControlledEntryId, LotId, PatientId, PrescriptionId, ProductId, UserId};
use crate::records::Record;
use crate::values::{optional_text, required_text};

/// Longest reason or note on an entry.
pub const MAX_REASON_CHARS: usize = 2_000;
/// The largest quantity one entry may move (units of the container).
pub const MAX_QUANTITY: f64 = 100_000.0;

/// A quantity in thousandths of a unit, written as a decimal number.
pub mod milli {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(*v as f64 / 1000.0)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let x = f64::deserialize(d)?;
        super::to_milli(x).ok_or_else(|| serde::de::Error::custom("a quantity must be a number up to 100000"))
    }

    /// The same for an optional quantity.
    pub mod opt {
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(v: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
            match v {
                Some(v) => s.serialize_f64(*v as f64 / 1000.0),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
            match Option::<f64>::deserialize(d)? {
                Some(x) => super::super::to_milli(x)
                    .map(Some)
                    .ok_or_else(|| serde::de::Error::custom("a quantity must be a number up to 100000")),
                None => Ok(None),
            }
        }
    }
}

/// `x` units in thousandths, if it is a finite number within ±[`MAX_QUANTITY`].
pub fn to_milli(x: f64) -> Option<i64> {
    (x.is_finite() && x.abs() <= MAX_QUANTITY).then(|| (x * 1000.0).round() as i64)
}

/// Thousandths as a decimal without trailing zeros (`2.5`, `10`, `-0.25`).
pub fn show_milli(v: i64) -> String {
    crate::formulary::num(v as f64 / 1000.0)
}

/// A container of a controlled drug, as received. Never changed after it is written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Container {
    pub id: ControlledContainerId,
    /// The formulary's drug id and name.
    pub drug_id: String,
    pub drug_name: String,
    pub schedule: Schedule,
    pub form: FormKind,
    /// Per mL or per tablet, in the drug's dose unit.
    pub strength: f64,
    /// `mL`, `tablet` or `capsule`: what quantities count.
    pub unit: String,
    pub lot: String,
    pub expires_on: Option<Date>,
    /// The quantity received, in `unit`.
    #[serde(with = "milli")]
    #[schema(value_type = f64)]
    pub received_quantity: i64,
    pub supplier: Option<String>,
    /// The date the container was opened, if given at receipt; otherwise the date of its
    /// first administration or dispensing shows in the register.
    pub opened_on: Option<Date>,
    pub received_at: Timestamp,
    pub received_by: Option<UserId>,
    /// The inventory lot this container is (received through inventory): its changes are
    /// then made through inventory's stock routes, which write the register entry and the
    /// ledger entry together. `None`: a container received on the register alone.
    #[serde(default)]
    pub lot_id: Option<LotId>,
    /// The inventory product of that lot.
    #[serde(default)]
    pub product_id: Option<ProductId>,
}

/// Version history: v1; v2 added `lot_id` and `product_id` (absent in v1 rows: a container
/// received on the register alone).
impl Record for Container {
    const KIND: &'static str = "controlled_container";
    const VERSION: u16 = 2;
}

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// The container arrived (its quantity in).
    Receipt,
    /// Given to a cat in the clinic.
    Administration,
    /// Handed over for a cat to take home.
    Dispensing,
    /// Undoes an earlier entry (the opposite change), with a reason.
    Reversal,
    /// A difference found (spillage, breakage, a count that differs), with a reason.
    Discrepancy,
    /// A physical count; changes nothing itself (a difference is logged as a discrepancy).
    Count,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Receipt => "receipt",
            EntryKind::Administration => "administration",
            EntryKind::Dispensing => "dispensing",
            EntryKind::Reversal => "reversal",
            EntryKind::Discrepancy => "discrepancy",
            EntryKind::Count => "count",
        }
    }
}

/// One line of the register. Never changed after it is written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Entry {
    pub id: ControlledEntryId,
    pub container_id: ControlledContainerId,
    pub drug_id: String,
    pub kind: EntryKind,
    /// The change to the balance, in the container's unit (negative when drug leaves).
    #[serde(with = "milli")]
    #[schema(value_type = f64)]
    pub change: i64,
    /// The running balance after this entry.
    #[serde(with = "milli")]
    #[schema(value_type = f64)]
    pub balance_after: i64,
    /// A count: what was on the shelf.
    #[serde(default, with = "milli::opt", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    pub counted: Option<i64>,
    pub patient_id: Option<PatientId>,
    pub prescription_id: Option<PrescriptionId>,
    /// A reversal: the entry it undoes.
    pub reverses: Option<ControlledEntryId>,
    /// Why (reversals and discrepancies), or a note.
    pub reason: Option<String>,
    pub by: Option<UserId>,
    pub by_name: String,
    pub witness_id: UserId,
    pub witness_name: String,
    pub at: Timestamp,
}

impl Record for Entry {
    const KIND: &'static str = "controlled_entry";
    const VERSION: u16 = 1;
}

/// The second person: their username and PIN (the tablet-unlock PIN), checked before the
/// entry is written. Never stored or logged.
#[derive(Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Witness {
    pub username: String,
    pub pin: String,
}

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness").field("username", &self.username).finish_non_exhaustive()
    }
}

/// Checks that a witness was given at all (422 naming `witness`).
pub fn require_witness(w: &Option<Witness>) -> Result<&Witness, ValidationError> {
    match w {
        Some(w) if !w.username.trim().is_empty() && !w.pin.is_empty() => Ok(w),
        Some(w) if w.username.trim().is_empty() => Err(ValidationError::new("witness.username", "must not be blank")),
        Some(_) => Err(ValidationError::new("witness.pin", "must not be blank")),
        None => Err(ValidationError::new(
            "witness",
            "a controlled-drug entry needs a witness: another staff member's username and PIN",
        )),
    }
}

fn quantity(field: &str, x: f64, allow_zero: bool) -> Result<i64, ValidationError> {
    match to_milli(x) {
        Some(m) if m > 0 || (allow_zero && m == 0) => Ok(m),
        _ => Err(ValidationError::new(
            field,
            format!(
                "must be a number {} and at most {MAX_QUANTITY}",
                if allow_zero { "of 0 or more" } else { "above 0" }
            ),
        )),
    }
}

/// Body of `POST /api/controlled/containers`: a container received.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveContainer {
    /// A controlled drug of the formulary (id, name or synonym).
    pub drug: String,
    pub form: FormKind,
    pub strength: f64,
    pub lot: String,
    /// In mL or tablets.
    pub quantity: f64,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub expires_on: Option<Date>,
    #[serde(default)]
    pub supplier: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub opened_on: Option<Date>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub witness: Option<Witness>,
}

/// A checked receipt.
#[derive(Debug, Clone)]
pub struct ReceiptDraft {
    pub drug: String,
    pub form: FormKind,
    pub strength: f64,
    pub lot: String,
    pub quantity: i64,
    pub expires_on: Option<Date>,
    pub supplier: Option<String>,
    pub opened_on: Option<Date>,
    pub note: Option<String>,
}

impl ReceiveContainer {
    pub fn validate(&self) -> Result<(ReceiptDraft, &Witness), ValidationError> {
        let d = ReceiptDraft {
            drug: required_text("drug", &self.drug, 100)?,
            form: self.form,
            strength: self.strength,
            lot: required_text("lot", &self.lot, 60)?,
            quantity: quantity("quantity", self.quantity, false)?,
            expires_on: self.expires_on,
            supplier: optional_text("supplier", self.supplier.as_deref(), 200)?,
            opened_on: self.opened_on,
            note: optional_text("note", self.note.as_deref(), MAX_REASON_CHARS)?,
        };
        Ok((d, require_witness(&self.witness)?))
    }
}

/// Use of drug from a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UseKind {
    Administration,
    Dispensing,
}

/// Body of `POST /api/controlled/containers/{id}/uses`: an administration or dispensing.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordUse {
    pub kind: UseKind,
    pub patient_id: PatientId,
    /// In the container's unit (mL, tablets).
    pub quantity: f64,
    #[serde(default)]
    pub prescription_id: Option<PrescriptionId>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub witness: Option<Witness>,
}

impl RecordUse {
    /// The quantity in thousandths, the note, and the witness.
    pub fn validate(&self) -> Result<(i64, Option<String>, &Witness), ValidationError> {
        Ok((
            quantity("quantity", self.quantity, false)?,
            optional_text("note", self.note.as_deref(), MAX_REASON_CHARS)?,
            require_witness(&self.witness)?,
        ))
    }
}

/// Body of `POST /api/controlled/containers/{id}/discrepancies`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordDiscrepancy {
    /// The change to the balance: negative for drug lost (spilt, broken), positive for drug
    /// found.
    pub change: f64,
    pub reason: String,
    #[serde(default)]
    pub witness: Option<Witness>,
}

impl RecordDiscrepancy {
    pub fn validate(&self) -> Result<(i64, String, &Witness), ValidationError> {
        let change = match to_milli(self.change) {
            Some(m) if m != 0 => m,
            _ => {
                return Err(ValidationError::new(
                    "change",
                    format!("must be a number other than 0, at most {MAX_QUANTITY} either way"),
                ));
            }
        };
        Ok((change, required_text("reason", &self.reason, MAX_REASON_CHARS)?, require_witness(&self.witness)?))
    }
}

/// Body of `POST /api/controlled/containers/{id}/counts`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordCount {
    /// What is physically in the container, in its unit.
    pub counted: f64,
    /// Required when the count differs from the running balance.
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub witness: Option<Witness>,
}

impl RecordCount {
    pub fn validate(&self) -> Result<(i64, Option<String>, &Witness), ValidationError> {
        Ok((
            quantity("counted", self.counted, true)?,
            optional_text("reason", self.reason.as_deref(), MAX_REASON_CHARS)?,
            require_witness(&self.witness)?,
        ))
    }
}

/// Body of `POST /api/controlled/entries/{id}/reversal`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReverseEntry {
    pub reason: String,
    #[serde(default)]
    pub witness: Option<Witness>,
}

impl ReverseEntry {
    pub fn validate(&self) -> Result<(String, &Witness), ValidationError> {
        Ok((required_text("reason", &self.reason, MAX_REASON_CHARS)?, require_witness(&self.witness)?))
    }
}

/// A container with its balance (the list), or with its entries too (one container).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ContainerView {
    #[serde(flatten)]
    pub container: Container,
    #[serde(with = "milli")]
    #[schema(value_type = f64)]
    pub balance: i64,
    /// Oldest first; only in `GET /api/controlled/containers/{id}`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<Entry>,
}

/// What one entry write answers: the entries written (a count that differs writes the count
/// and its discrepancy) and the container's balance after them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Recorded {
    pub entries: Vec<Entry>,
    #[serde(with = "milli")]
    #[schema(value_type = f64)]
    pub balance: i64,
}

/// Query of `GET /api/controlled/containers`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ContainersQuery {
    /// Only this drug (id, name or synonym).
    pub drug: Option<String>,
}

/// Query of `GET /api/controlled/register.csv`.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RegisterQuery {
    /// First local date, inclusive.
    #[param(value_type = String)]
    pub from: Date,
    /// Last local date, inclusive.
    #[param(value_type = String)]
    pub to: Date,
    /// Only this drug (id, name or synonym).
    pub drug: Option<String>,
}

/// The CSV header of the register export.
pub const CSV_HEADER: &str = "entry_id,recorded_at,drug,schedule,container_id,lot,kind,change,balance_after,unit,counted,patient_id,prescription_id,reverses,by,witness,reason";

/// One CSV cell: quoted when it holds a comma, quote or line break; a text starting with
/// `=`, `+`, `-`, `@` or a tab is prefixed with `'` so a spreadsheet shows it rather than
/// running it as a formula.
pub fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_owned() };
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

/// One register line as CSV (no line break), in the order of [`CSV_HEADER`]; `recorded_at`
/// is written in the clinic's zone.
pub fn csv_line(e: &Entry, c: &Container, recorded_at: &str) -> String {
    let opt = |x: Option<String>| x.unwrap_or_default();
    let schedule = match c.schedule {
        Schedule::None => "none",
        Schedule::Ii => "II",
        Schedule::Iii => "III",
        Schedule::Iv => "IV",
        Schedule::V => "V",
    };
    [
        e.id.to_string(),
        recorded_at.to_owned(),
        csv_cell(&c.drug_name),
        schedule.to_owned(),
        c.id.to_string(),
        csv_cell(&c.lot),
        e.kind.as_str().to_owned(),
        show_milli(e.change),
        show_milli(e.balance_after),
        c.unit.clone(),
        opt(e.counted.map(show_milli)),
        opt(e.patient_id.map(|p| p.to_string())),
        opt(e.prescription_id.map(|p| p.to_string())),
        opt(e.reverses.map(|p| p.to_string())),
        csv_cell(&e.by_name),
        csv_cell(&e.witness_name),
        csv_cell(e.reason.as_deref().unwrap_or("")),
    ]
    .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_exact_thousandths_and_print_without_trailing_zeros() {
        assert_eq!(to_milli(0.1), Some(100));
        assert_eq!(to_milli(0.2), Some(200));
        assert_eq!(show_milli(to_milli(0.1).unwrap() + to_milli(0.2).unwrap()), "0.3");
        assert_eq!(show_milli(-2500), "-2.5");
        assert_eq!(to_milli(f64::NAN), None);
        assert_eq!(to_milli(1e9), None);
    }

    #[test]
    fn an_entry_without_a_witness_is_refused_naming_witness() {
        let body: RecordUse = serde_json::from_value(serde_json::json!({
            "kind": "administration", "patient_id": "01JD7Y2Q4Z8W3N5K6M7P8R9S0T", "quantity": 0.1
        }))
        .unwrap();
        assert_eq!(body.validate().unwrap_err().field, "witness");
        let body: RecordUse = serde_json::from_value(serde_json::json!({
            "kind": "administration", "patient_id": "01JD7Y2Q4Z8W3N5K6M7P8R9S0T", "quantity": 0,
            "witness": {"username": "sam", "pin": "1234"}
        }))
        .unwrap();
        assert_eq!(body.validate().unwrap_err().field, "quantity");
    }

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_cell("line\nbreak"), "\"line\nbreak\"");
    }

    #[test]
    fn a_witness_pin_never_shows_in_debug_output() {
        let w = Witness { username: "sam".into(), pin: "4821".into() };
        assert!(!format!("{w:?}").contains("4821"));
    }
}
