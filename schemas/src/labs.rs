//! Laboratory work (DOMAIN.md "Clinical record", issue 17 item 1): the test catalogue and the
//! feline reference ranges as two clinical fact sets (`lab_tests`, `lab_ranges`: versioned,
//! with their sources, edited through `PUT /api/clinical-facts/{name}`), the lab order record
//! (one test or panel of one visit, its results per analyte with their flags, review and
//! amendments), the import bodies, and the unmatched-result queue's entry.
//!
//! Pure rules only: a result's unit converted to the range's (or refused), its flag from the
//! range version in force (`L`, `H`, `LL`, `HH`, `A` for an unexpected text result), the
//! order's status from its results. Storage and matching live in `clowder_actors::clinical::labs`.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::clinical_facts::FactSet;
use crate::errors::ValidationError;
use crate::ids::{LabOrderId, LabUnmatchedId, LocationId, PatientId, StaffId, UserId, VisitId};
use crate::records::Record;
use crate::values::{MAX_NAME_CHARS, MAX_NOTE_CHARS, optional_text, required_text};

/// Longest code of a test or an analyte (`CHEM10`, `FELV_AG`).
pub const MAX_CODE_CHARS: usize = 20;

/// Longest text result ("positive", "weak positive, repeat advised", …).
pub const MAX_TEXT_RESULT_CHARS: usize = 200;

/// Most results in one order or import group (a panel has a few dozen analytes).
pub const MAX_RESULTS: usize = 100;

/// Largest message the import routes keep (an ORU^R01 of a few panels is a few kB).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// A test code as used everywhere: trimmed, upper case, `A-Z 0-9 _ -` only.
pub fn code(field: &str, input: &str) -> Result<String, ValidationError> {
    let c = input.trim().to_ascii_uppercase();
    if c.is_empty() || c.len() > MAX_CODE_CHARS {
        return Err(ValidationError::new(field, format!("must be 1 to {MAX_CODE_CHARS} characters")));
    }
    if !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-') {
        return Err(ValidationError::new(field, "may hold only letters, digits, _ and -"));
    }
    Ok(c)
}

/// One test (or panel) of the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabTest {
    /// Unique in the catalogue (`CHEM10`); the catalogue item that prices it links this code.
    pub code: String,
    pub name: String,
    /// What is sent: `serum`, `whole blood (EDTA)`, `urine (cystocentesis)`, …
    pub specimen: String,
    /// The laboratory that runs it (`in-house`, `IDEXX Reference Laboratories`, …).
    pub lab: String,
    /// The laboratory's own code of the test, as it names it in results.
    pub lab_code: Option<String>,
    /// The analytes it reports, each a code of the `lab_ranges` fact set.
    pub analytes: Vec<String>,
}

/// The `lab_tests` fact set: the test catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabTests {
    pub tests: Vec<LabTest>,
}

impl FactSet for LabTests {
    const NAME: &'static str = "lab_tests";
    const KEY: u64 = 201;
    const DESCRIPTION: &'static str =
        "The laboratory test catalogue: each test or panel's code, specimen, laboratory and analytes";
    const DEFAULTS: &'static str = include_str!("../data/clinical-facts/lab_tests.json");

    fn check(&self) -> Result<(), ValidationError> {
        let mut seen = std::collections::BTreeSet::new();
        for (i, t) in self.tests.iter().enumerate() {
            let at = |f: &str| format!("tests[{i}].{f}");
            let c = code(&at("code"), &t.code)?;
            if c != t.code {
                return Err(ValidationError::new(at("code"), "must be written in upper case, without spaces"));
            }
            if !seen.insert(c) {
                return Err(ValidationError::new(at("code"), "is used by another test"));
            }
            required_text(&at("name"), &t.name, MAX_NAME_CHARS)?;
            required_text(&at("specimen"), &t.specimen, MAX_NAME_CHARS)?;
            required_text(&at("lab"), &t.lab, MAX_NAME_CHARS)?;
            optional_text(&at("lab_code"), t.lab_code.as_deref(), MAX_NAME_CHARS)?;
            if t.analytes.is_empty() {
                return Err(ValidationError::new(at("analytes"), "a test reports at least one analyte"));
            }
            for (j, a) in t.analytes.iter().enumerate() {
                code(&format!("tests[{i}].analytes[{j}]"), a)?;
            }
        }
        Ok(())
    }
}

impl LabTests {
    /// The test with code `code` (or the laboratory's code of it), if any.
    pub fn find(&self, code: &str) -> Option<&LabTest> {
        let c = code.trim();
        self.tests
            .iter()
            .find(|t| t.code.eq_ignore_ascii_case(c))
            .or_else(|| self.tests.iter().find(|t| t.lab_code.as_deref().is_some_and(|l| l.eq_ignore_ascii_case(c))))
    }
}

/// Another unit an analyte may be reported in: `value in it = value in the range's unit ×
/// factor` (creatinine: µmol/L = mg/dL × 88.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AltUnit {
    pub unit: String,
    pub factor: f64,
}

/// The reference range of one analyte, in its unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnalyteRange {
    pub name: String,
    /// The unit the range is in (`""` for a ratio or a specific gravity); absent for a text
    /// analyte.
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub low: Option<f64>,
    #[serde(default)]
    pub high: Option<f64>,
    #[serde(default)]
    pub critical_low: Option<f64>,
    #[serde(default)]
    pub critical_high: Option<f64>,
    /// Other units results may arrive in, converted to `unit`.
    #[serde(default)]
    pub alt_units: Vec<AltUnit>,
    /// A text analyte (`FELV_AG`): the expected answer (`negative`); anything else is `A`.
    #[serde(default)]
    pub expected: Option<String>,
}

impl AnalyteRange {
    fn check(&self, field: &str) -> Result<(), ValidationError> {
        required_text(&format!("{field}.name"), &self.name, MAX_NAME_CHARS)?;
        match (&self.unit, &self.expected) {
            (Some(_), None) | (None, Some(_)) => {}
            _ => {
                return Err(ValidationError::new(
                    field,
                    "an analyte is numeric (a unit) or text (an expected answer), not both or neither",
                ));
            }
        }
        let order = [self.critical_low, self.low, self.high, self.critical_high];
        let given: Vec<f64> = order.iter().flatten().copied().collect();
        if given.iter().any(|v| !v.is_finite()) {
            return Err(ValidationError::new(field, "limits must be numbers"));
        }
        if given.windows(2).any(|w| w[0] > w[1]) {
            return Err(ValidationError::new(
                field,
                "limits must be in order: critical_low ≤ low ≤ high ≤ critical_high",
            ));
        }
        for (k, alt) in self.alt_units.iter().enumerate() {
            if !(alt.factor.is_finite() && alt.factor > 0.0) {
                return Err(ValidationError::new(format!("{field}.alt_units[{k}].factor"), "must be above 0"));
            }
            required_text(&format!("{field}.alt_units[{k}].unit"), &alt.unit, MAX_NAME_CHARS)?;
        }
        Ok(())
    }

    /// `value` in `unit` converted to the range's unit, or `None` if the unit is not the
    /// range's nor one of its alternatives (a unit we don't know is refused, never guessed).
    pub fn convert(&self, value: f64, unit: Option<&str>) -> Option<f64> {
        let ours = self.unit.as_deref()?;
        let given = unit.map(unit_key).unwrap_or_default();
        if given == unit_key(ours) {
            return Some(value);
        }
        self.alt_units.iter().find(|a| unit_key(&a.unit) == given).map(|a| value / a.factor)
    }

    /// The flag of a numeric value in the range's unit.
    pub fn flag(&self, v: f64) -> Option<Flag> {
        if self.critical_low.is_some_and(|c| v < c) {
            Some(Flag::LL)
        } else if self.critical_high.is_some_and(|c| v > c) {
            Some(Flag::HH)
        } else if self.low.is_some_and(|l| v < l) {
            Some(Flag::L)
        } else if self.high.is_some_and(|h| v > h) {
            Some(Flag::H)
        } else {
            None
        }
    }
}

/// A unit compared loosely: case, spaces and the micro sign's spellings (`µ`, `μ`, `u`, `mc`).
fn unit_key(u: &str) -> String {
    u.trim().to_lowercase().replace(['µ', 'μ'], "u").replace("mcg", "ug").replace("mcmol", "umol").replace(' ', "")
}

/// The `lab_ranges` fact set: feline reference ranges per analyte.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabRanges {
    /// By analyte code (`CREA`).
    pub analytes: BTreeMap<String, AnalyteRange>,
}

impl FactSet for LabRanges {
    const NAME: &'static str = "lab_ranges";
    const KEY: u64 = 202;
    const DESCRIPTION: &'static str =
        "Feline reference ranges per analyte, with units and critical limits (results outside are flagged)";
    const DEFAULTS: &'static str = include_str!("../data/clinical-facts/lab_ranges.json");

    fn check(&self) -> Result<(), ValidationError> {
        for (c, r) in &self.analytes {
            let field = format!("analytes.{c}");
            if code(&field, c)? != *c {
                return Err(ValidationError::new(field, "an analyte code is written in upper case"));
            }
            r.check(&field)?;
        }
        Ok(())
    }
}

/// A result's flag against the reference range in force when it was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum Flag {
    /// Below the range.
    L,
    /// Above the range.
    H,
    /// Below the critical low limit.
    LL,
    /// Above the critical high limit.
    HH,
    /// A text result other than the expected one (`positive` where `negative` is expected).
    A,
}

impl Flag {
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::L => "L",
            Flag::H => "H",
            Flag::LL => "LL",
            Flag::HH => "HH",
            Flag::A => "A",
        }
    }

    /// Critical: the vet is told at once.
    pub fn is_critical(self) -> bool {
        matches!(self, Flag::LL | Flag::HH)
    }
}

/// A value as reported: a number in a unit, or a text answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportedValue {
    pub analyte: String,
    #[serde(default)]
    pub value: Option<f64>,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
}

/// One analyte's result as stored: the value as reported, the value in the range's unit, the
/// flag, and the range (and its fact-set version) it was flagged against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AnalyteResult {
    pub analyte: String,
    pub name: String,
    /// In the range's unit.
    pub value: Option<f64>,
    pub unit: Option<String>,
    /// As reported, when it was converted.
    pub reported_value: Option<f64>,
    pub reported_unit: Option<String>,
    pub text: Option<String>,
    pub flag: Option<Flag>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub critical_low: Option<f64>,
    pub critical_high: Option<f64>,
    /// The `lab_ranges` version the flag comes from.
    pub ranges_version: u32,
    pub resulted_at: Timestamp,
    /// `manual`, `json` or `hl7`.
    pub source: String,
    pub by: Option<UserId>,
}

/// Why a reported value cannot be taken as a result of analyte `analyte`.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueProblem {
    UnknownAnalyte(String),
    UnknownUnit { analyte: String, unit: Option<String> },
    Shape { analyte: String, message: &'static str },
}

impl std::fmt::Display for ValueProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValueProblem::UnknownAnalyte(a) => write!(f, "analyte {a:?} has no reference range"),
            ValueProblem::UnknownUnit { analyte, unit: Some(u) } => {
                write!(f, "the unit {u:?} of {analyte} is neither its range's nor one it converts")
            }
            ValueProblem::UnknownUnit { analyte, unit: None } => write!(f, "{analyte} has a value without a unit"),
            ValueProblem::Shape { analyte, message } => write!(f, "{analyte}: {message}"),
        }
    }
}

impl LabRanges {
    /// A reported value read against the ranges (version `version`): converted and flagged.
    pub fn result(
        &self,
        version: u32,
        v: &ReportedValue,
        at: Timestamp,
        source: &str,
        by: Option<UserId>,
    ) -> Result<AnalyteResult, ValueProblem> {
        let analyte = v.analyte.trim().to_ascii_uppercase();
        let Some(r) = self.analytes.get(&analyte) else { return Err(ValueProblem::UnknownAnalyte(analyte)) };
        let mut out = AnalyteResult {
            analyte: analyte.clone(),
            name: r.name.clone(),
            value: None,
            unit: r.unit.clone(),
            reported_value: None,
            reported_unit: None,
            text: None,
            flag: None,
            low: r.low,
            high: r.high,
            critical_low: r.critical_low,
            critical_high: r.critical_high,
            ranges_version: version,
            resulted_at: at,
            source: source.to_owned(),
            by,
        };
        match (&r.expected, v.value, v.text.as_deref().map(str::trim)) {
            (None, Some(x), None) => {
                if !x.is_finite() {
                    return Err(ValueProblem::Shape { analyte, message: "the value is not a number" });
                }
                let unit = v.unit.as_deref().map(str::trim).filter(|u| !u.is_empty());
                let converted = r.convert(x, unit).ok_or_else(|| ValueProblem::UnknownUnit {
                    analyte: analyte.clone(),
                    unit: unit.map(str::to_owned),
                })?;
                if unit.map(unit_key) != r.unit.as_deref().map(unit_key) {
                    out.reported_value = Some(x);
                    out.reported_unit = unit.map(str::to_owned);
                }
                // Kept to the precision labs report (no 0.30000000000000004 on a chart).
                let converted = (converted * 10_000.0).round() / 10_000.0;
                out.value = Some(converted);
                out.flag = r.flag(converted);
            }
            (Some(expected), None, Some(t)) if !t.is_empty() && t.chars().count() <= MAX_TEXT_RESULT_CHARS => {
                let t = t.to_lowercase();
                out.flag = (t != expected.to_lowercase()).then_some(Flag::A);
                out.text = Some(t);
            }
            (Some(_), _, _) => {
                return Err(ValueProblem::Shape { analyte, message: "a text result is expected (e.g. negative)" });
            }
            (None, _, _) => {
                return Err(ValueProblem::Shape { analyte, message: "a numeric value with its unit is expected" });
            }
        }
        Ok(out)
    }
}

/// A lab order's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LabOrderStatus {
    /// Sent, nothing back yet.
    Ordered,
    /// Some analytes back.
    Partial,
    /// Every analyte of the test back.
    Resulted,
    /// Reviewed and signed off by a veterinarian: never changed again, only amended.
    Reviewed,
    Cancelled,
}

impl LabOrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LabOrderStatus::Ordered => "ordered",
            LabOrderStatus::Partial => "partial",
            LabOrderStatus::Resulted => "resulted",
            LabOrderStatus::Reviewed => "reviewed",
            LabOrderStatus::Cancelled => "cancelled",
        }
    }
}

/// A correction of a reviewed result: the original is kept here, the new value replaces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LabAmendment {
    pub original: AnalyteResult,
    pub corrected: AnalyteResult,
    pub reason: String,
    pub at: Timestamp,
    pub by: Option<UserId>,
}

/// A lab order: one test (or panel) of the catalogue for a cat in a visit, as stored and as
/// returned by the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LabOrder {
    pub id: LabOrderId,
    pub patient_id: PatientId,
    pub visit_id: VisitId,
    /// The visit's location and veterinarian: whose board hears of its results.
    pub location_id: Option<LocationId>,
    pub vet_id: Option<StaffId>,
    /// The test as the catalogue described it when ordered.
    pub test: String,
    pub test_name: String,
    pub specimen: String,
    pub lab: String,
    pub lab_code: Option<String>,
    pub analytes: Vec<String>,
    /// The `lab_tests` version it was ordered from.
    pub catalogue_version: u32,
    pub status: LabOrderStatus,
    pub notes: Option<String>,
    /// At most one per analyte: the latest (a result arriving again replaces it before review).
    pub results: Vec<AnalyteResult>,
    pub reviewed_at: Option<Timestamp>,
    pub reviewed_by: Option<UserId>,
    pub review_note: Option<String>,
    pub amendments: Vec<LabAmendment>,
    pub cancelled_at: Option<Timestamp>,
    pub cancel_reason: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: Option<UserId>,
}

impl Record for LabOrder {
    const KIND: &'static str = "lab_order";
    const VERSION: u16 = 1;
}

impl LabOrder {
    /// The status its results make (before review; a cancelled or reviewed order keeps its own).
    pub fn status_from_results(&self) -> LabOrderStatus {
        match self.status {
            LabOrderStatus::Reviewed | LabOrderStatus::Cancelled => self.status,
            _ if self.results.is_empty() => LabOrderStatus::Ordered,
            _ if self.analytes.iter().all(|a| self.results.iter().any(|r| &r.analyte == a)) => LabOrderStatus::Resulted,
            _ => LabOrderStatus::Partial,
        }
    }

    /// Adds or replaces results (one per analyte), then sets the status.
    pub fn put_results(&mut self, results: Vec<AnalyteResult>) {
        for r in results {
            match self.results.iter_mut().find(|x| x.analyte == r.analyte) {
                Some(x) => *x = r,
                None => self.results.push(r),
            }
        }
        self.status = self.status_from_results();
    }

    /// Whether any result is flagged, and whether critically.
    pub fn flagged(&self) -> (bool, bool) {
        let flags = self.results.iter().filter_map(|r| r.flag);
        let mut any = false;
        let mut critical = false;
        for f in flags {
            any = true;
            critical |= f.is_critical();
        }
        (any, critical)
    }
}

/// Body of `POST /api/lab-orders`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLabOrder {
    pub visit_id: VisitId,
    /// A test code of the catalogue (`CHEM10`).
    pub test: String,
    #[serde(default)]
    pub notes: Option<String>,
}

/// A checked new order.
#[derive(Debug, Clone, PartialEq)]
pub struct LabOrderDraft {
    pub visit_id: VisitId,
    pub test: String,
    pub notes: Option<String>,
}

impl CreateLabOrder {
    pub fn validate(&self) -> Result<LabOrderDraft, ValidationError> {
        Ok(LabOrderDraft {
            visit_id: self.visit_id,
            test: code("test", &self.test)?,
            notes: optional_text("notes", self.notes.as_deref(), MAX_NOTE_CHARS)?,
        })
    }
}

/// Body of `POST /api/lab-orders/{id}/results`: results typed in by hand.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnterResults {
    pub results: Vec<ReportedValue>,
}

impl EnterResults {
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.results.is_empty() || self.results.len() > MAX_RESULTS {
            return Err(ValidationError::new("results", format!("must hold 1 to {MAX_RESULTS} results")));
        }
        Ok(())
    }
}

/// Body of `POST /api/lab-orders/{id}/cancel`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelLabOrder {
    pub reason: String,
}

/// Body of `POST /api/lab-orders/{id}/review`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewLabOrder {
    #[serde(default)]
    pub note: Option<String>,
}

/// Body of `POST /api/lab-orders/{id}/amend`: a correction of one reviewed result.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmendLabResult {
    pub result: ReportedValue,
    pub reason: String,
}

/// Query of `GET /api/patients/{id}/lab-orders` and `GET /api/lab-orders`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LabOrderListQuery {
    /// Only this visit's orders.
    pub visit_id: Option<VisitId>,
    /// `true`: only orders not signed off yet (awaiting results or review), as the queue
    /// screen offers them; paged like the rest.
    pub unreviewed: Option<bool>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Query of `GET /api/patients/{id}/lab-trends`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LabTrendQuery {
    /// The analyte code (`CREA`).
    pub analyte: String,
}

/// One point of an analyte's trend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TrendPoint {
    pub at: Timestamp,
    pub order_id: LabOrderId,
    pub value: Option<f64>,
    pub text: Option<String>,
    pub flag: Option<Flag>,
}

/// An analyte's results of one cat over time, oldest first, in the current range's unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LabTrend {
    pub patient_id: PatientId,
    pub analyte: String,
    pub name: String,
    pub unit: Option<String>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub points: Vec<TrendPoint>,
}

/// One group of results in `POST /api/lab-results/import` (JSON): the order it answers (our
/// order id, as sent to the lab) and the cat, with the values.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportResults {
    #[serde(default)]
    pub order_id: Option<String>,
    #[serde(default)]
    pub patient_id: Option<String>,
    /// The test code (ours or the laboratory's), used when no order id is given.
    #[serde(default)]
    pub test: Option<String>,
    pub results: Vec<ReportedValue>,
}

/// How one import group ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ImportOutcome {
    /// `matched` (on the order) or `queued` (in the unmatched queue).
    pub status: String,
    pub order_id: Option<LabOrderId>,
    pub unmatched_id: Option<LabUnmatchedId>,
    /// Why it was queued.
    pub reason: Option<String>,
}

/// The answer of a JSON import.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ImportReport {
    pub outcomes: Vec<ImportOutcome>,
}

/// An unmatched entry's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnmatchedStatus {
    Open,
    Attached,
    Discarded,
}

/// A result (or a whole message) that could not be put on an order with certainty: kept
/// whole, never dropped, until staff attach it to an order or discard it with a reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LabUnmatched {
    pub id: LabUnmatchedId,
    pub received_at: Timestamp,
    /// `json` or `hl7`.
    pub format: String,
    /// Why it was not matched.
    pub reason: String,
    /// What was read of it, if it could be read.
    pub group: Option<ImportResults>,
    /// The message as received (for HL7: the bytes, as UTF-8 where they were, else
    /// escaped as `\xNN`), so nothing of it is lost.
    pub raw: String,
    pub status: UnmatchedStatus,
    pub attached_to: Option<LabOrderId>,
    pub discard_reason: Option<String>,
    pub resolved_at: Option<Timestamp>,
    pub resolved_by: Option<UserId>,
    pub updated_at: Timestamp,
}

impl Record for LabUnmatched {
    const KIND: &'static str = "lab_unmatched";
    const VERSION: u16 = 1;
}

/// Body of `POST /api/lab-results/unmatched/{id}/attach`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachUnmatched {
    pub order_id: LabOrderId,
    /// Results typed from the message when it could not be read (else its own are used).
    #[serde(default)]
    pub results: Option<Vec<ReportedValue>>,
}

/// Body of `POST /api/lab-results/unmatched/{id}/discard`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscardUnmatched {
    pub reason: String,
}

/// Query of `GET /api/lab-results/unmatched`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UnmatchedListQuery {
    /// `open` (default), `attached`, `discarded` or `all`.
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// A reason (cancel, discard, amend): required text.
pub fn reason(field: &str, value: &str) -> Result<String, ValidationError> {
    required_text(field, value, MAX_NOTE_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clinical_facts::fact_set;

    fn ranges() -> LabRanges {
        let (_, body) = fact_set("lab_ranges").unwrap().first_version().unwrap();
        serde_json::from_value(body).unwrap()
    }

    fn num(analyte: &str, value: f64, unit: &str) -> ReportedValue {
        ReportedValue { analyte: analyte.into(), value: Some(value), unit: Some(unit.into()), text: None }
    }

    #[test]
    fn creatinine_in_micromoles_is_converted_and_flagged_against_the_range() {
        let r = ranges();
        let at = Timestamp::UNIX_EPOCH;
        let ok = r.result(3, &num("crea", 150.0, "µmol/L"), at, "manual", None).unwrap();
        assert_eq!(
            (ok.unit.as_deref(), ok.reported_unit.as_deref(), ok.ranges_version),
            (Some("mg/dL"), Some("µmol/L"), 3)
        );
        assert!((ok.value.unwrap() - 1.6968).abs() < 0.001, "{ok:?}");
        assert_eq!(ok.flag, None);
        let table = [(3.0, Some(Flag::H)), (9.0, Some(Flag::HH)), (0.5, Some(Flag::L)), (1.2, None)];
        for (v, flag) in table {
            assert_eq!(r.result(1, &num("CREA", v, "mg/dl"), at, "manual", None).unwrap().flag, flag, "{v}");
        }
        let glu = r.result(1, &num("GLU", 1.5, "mmol/L"), at, "manual", None).unwrap();
        assert_eq!(glu.flag, Some(Flag::LL), "{glu:?}");
    }

    #[test]
    fn an_unknown_unit_or_analyte_is_refused_never_guessed() {
        let r = ranges();
        let at = Timestamp::UNIX_EPOCH;
        let e = r.result(1, &num("CREA", 1.0, "g/L"), at, "manual", None).unwrap_err();
        assert!(matches!(e, ValueProblem::UnknownUnit { .. }), "{e:?}");
        let no_unit = ReportedValue { unit: None, ..num("CREA", 1.0, "") };
        assert!(matches!(r.result(1, &no_unit, at, "manual", None), Err(ValueProblem::UnknownUnit { unit: None, .. })));
        assert!(matches!(r.result(1, &num("XYZ", 1.0, "mg/dL"), at, "m", None), Err(ValueProblem::UnknownAnalyte(_))));
    }

    #[test]
    fn a_text_result_other_than_expected_is_flagged_a() {
        let r = ranges();
        let pos = ReportedValue { analyte: "FELV_AG".into(), value: None, unit: None, text: Some("Positive".into()) };
        let got = r.result(1, &pos, Timestamp::UNIX_EPOCH, "hl7", None).unwrap();
        assert_eq!((got.text.as_deref(), got.flag), (Some("positive"), Some(Flag::A)));
        let neg = ReportedValue { text: Some("negative".into()), ..pos.clone() };
        assert_eq!(r.result(1, &neg, Timestamp::UNIX_EPOCH, "hl7", None).unwrap().flag, None);
        let numeric = ReportedValue { value: Some(1.0), text: None, ..pos };
        assert!(matches!(r.result(1, &numeric, Timestamp::UNIX_EPOCH, "hl7", None), Err(ValueProblem::Shape { .. })));
    }

    #[test]
    fn every_catalogue_analyte_has_a_range_and_bad_catalogues_are_refused() {
        let (_, body) = fact_set("lab_tests").unwrap().first_version().unwrap();
        let tests: LabTests = serde_json::from_value(body).unwrap();
        let r = ranges();
        for t in &tests.tests {
            for a in &t.analytes {
                assert!(r.analytes.contains_key(a), "{} names {a}, which has no range", t.code);
            }
        }
        let mut twice = tests.clone();
        twice.tests.push(tests.tests[0].clone());
        assert!(twice.check().unwrap_err().message.contains("another test"));
        let mut bad = r.clone();
        bad.analytes.get_mut("CREA").unwrap().low = Some(99.0);
        assert_eq!(bad.check().unwrap_err().field, "analytes.CREA");
    }
}
