//! Vaccinations of the medical record: one stored entry per thing that happened to a cat's
//! vaccination plan, each an entry of its own kind ([`Entry`]): a **dose** given (product,
//! manufacturer, lot, serial, expiry, route, site, who gave it; adverse reactions are added
//! to it later), a **declined** vaccine with the owner's reason, a staff **override** of the
//! next due date with its reason, and a **risk** assessment (whether the cat is at risk for a
//! risk-based vaccine: FeLV for adults, the non-core ones). Nothing is edited or deleted;
//! a later entry supersedes an earlier one.
//!
//! [`due_list`] turns a cat's entries into its due list with the rules of
//! [`crate::vaccine_protocol`]: each vaccine's computed date with the rule that produced it,
//! and the override (if any) beside it.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::errors::ValidationError;
use crate::ids::{ClientId, LocationId, PatientId, UserId, VaccinationId, VisitId};
use crate::records::Record;
use crate::vaccine_protocol::{GivenDose, VaccineProtocol, next_due};
use crate::values::{MAX_NAME_CHARS, note_text, optional_text, required_text};

/// How a vaccine was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    Subcutaneous,
    Intramuscular,
    Intranasal,
    Transdermal,
    Oral,
}

/// How bad an adverse reaction was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Mild,
    Moderate,
    Severe,
}

/// A dose given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Dose {
    pub given_on: Date,
    pub product: String,
    pub manufacturer: Option<String>,
    pub lot: String,
    pub serial: Option<String>,
    pub expiry: Option<Date>,
    pub route: Option<Route>,
    /// Where on the cat (AAFP: distal limbs or tail, one site per vaccine).
    pub site: Option<String>,
    pub given_by: Option<UserId>,
    /// The product's labelled duration of immunity in years (rabies: 1 or 3).
    pub label_years: Option<u8>,
    pub note: Option<String>,
}

/// What an entry records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Entry {
    /// A dose was given.
    Dose(Dose),
    /// The owner declined the vaccine.
    Declined { on: Date, reason: String },
    /// Staff set the next due date by hand (`due_on: null`: not due), with why.
    DueOverride { due_on: Option<Date>, reason: String },
    /// Whether the cat is at risk for this vaccine (lifestyle: outdoor access, FeLV-positive
    /// housemates, boarding…), assessed by staff.
    Risk { at_risk: bool, note: Option<String> },
}

impl Entry {
    /// The wire name of the entry's kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Entry::Dose(_) => "dose",
            Entry::Declined { .. } => "declined",
            Entry::DueOverride { .. } => "due_override",
            Entry::Risk { .. } => "risk",
        }
    }
}

/// An adverse reaction observed after a dose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AdverseReaction {
    pub observed_at: Timestamp,
    pub signs: String,
    pub severity: Severity,
    pub treatment: Option<String>,
    pub recorded_at: Timestamp,
    pub recorded_by: Option<UserId>,
}

/// One vaccination entry, as stored and returned by the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Vaccination {
    pub id: VaccinationId,
    pub patient_id: PatientId,
    /// The visit it was recorded in, stored as given.
    pub visit_id: Option<VisitId>,
    /// The protocol's vaccine code (`fvrcp`).
    pub vaccine: String,
    pub entry: Entry,
    /// Only on doses.
    pub reactions: Vec<AdverseReaction>,
    /// The `vaccine_protocol` version in force when it was recorded.
    pub protocol_version: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: Option<UserId>,
}

impl Record for Vaccination {
    const KIND: &'static str = "vaccination";
    const VERSION: u16 = 1;
}

/// Longest lot, serial or product text.
pub const MAX_CODE_CHARS: usize = 100;

/// Body of `POST /api/vaccinations`: a dose given.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateVaccination {
    pub patient_id: PatientId,
    #[serde(default)]
    pub visit_id: Option<VisitId>,
    /// A vaccine code of the current protocol.
    pub vaccine: String,
    pub product: String,
    #[serde(default)]
    pub manufacturer: Option<String>,
    pub lot: String,
    #[serde(default)]
    pub serial: Option<String>,
    #[serde(default)]
    pub expiry: Option<Date>,
    /// Default today (clinic's zone).
    #[serde(default)]
    pub given_on: Option<Date>,
    #[serde(default)]
    pub route: Option<Route>,
    #[serde(default)]
    pub site: Option<String>,
    /// Default the caller.
    #[serde(default)]
    pub given_by: Option<UserId>,
    /// Required for label-duration vaccines (rabies): 1 or 3.
    #[serde(default)]
    pub label_years: Option<u8>,
    #[serde(default)]
    pub note: Option<String>,
}

/// Body of `POST /api/vaccinations/declined`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclineVaccination {
    pub patient_id: PatientId,
    #[serde(default)]
    pub visit_id: Option<VisitId>,
    pub vaccine: String,
    pub reason: String,
    /// Default today.
    #[serde(default)]
    pub declined_on: Option<Date>,
}

/// Body of `POST /api/patients/{id}/vaccinations/overrides`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideDue {
    pub vaccine: String,
    /// The due date to use; `null` or absent: not due.
    #[serde(default)]
    pub due_on: Option<Date>,
    pub reason: String,
}

/// Body of `POST /api/patients/{id}/vaccinations/risk`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssessRisk {
    pub vaccine: String,
    pub at_risk: bool,
    #[serde(default)]
    pub note: Option<String>,
}

/// Body of `POST /api/vaccinations/{id}/reactions`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddReaction {
    /// Default now.
    #[serde(default)]
    pub observed_at: Option<Timestamp>,
    pub signs: String,
    pub severity: Severity,
    #[serde(default)]
    pub treatment: Option<String>,
}

/// A checked new entry, before the protocol and the cat are consulted.
#[derive(Debug, Clone, PartialEq)]
pub struct VaccinationDraft {
    pub patient_id: PatientId,
    pub visit_id: Option<VisitId>,
    pub vaccine: String,
    pub entry: Entry,
}

fn code(v: &str) -> Result<String, ValidationError> {
    required_text("vaccine", v, 40).map(|s| s.to_ascii_lowercase())
}

fn not_future(field: &str, d: Date, today: Date) -> Result<Date, ValidationError> {
    if d > today {
        return Err(ValidationError::new(field, "is in the future"));
    }
    Ok(d)
}

impl CreateVaccination {
    /// Checks what needs neither the cat nor the protocol; `today` in the clinic's zone.
    pub fn validate(&self, today: Date) -> Result<VaccinationDraft, ValidationError> {
        let given_on = not_future("given_on", self.given_on.unwrap_or(today), today)?;
        if self.expiry.is_some_and(|e| given_on > e) {
            return Err(ValidationError::new("given_on", "is after the product's expiry date"));
        }
        if self.label_years.is_some_and(|y| !(1..=3).contains(&y)) {
            return Err(ValidationError::new("label_years", "must be 1, 2 or 3"));
        }
        let dose = Dose {
            given_on,
            product: required_text("product", &self.product, MAX_CODE_CHARS)?,
            manufacturer: optional_text("manufacturer", self.manufacturer.as_deref(), MAX_NAME_CHARS)?,
            lot: required_text("lot", &self.lot, MAX_CODE_CHARS)?,
            serial: optional_text("serial", self.serial.as_deref(), MAX_CODE_CHARS)?,
            expiry: self.expiry,
            route: self.route,
            site: optional_text("site", self.site.as_deref(), MAX_NAME_CHARS)?,
            given_by: self.given_by,
            label_years: self.label_years,
            note: note_text("note", self.note.as_deref())?,
        };
        Ok(VaccinationDraft {
            patient_id: self.patient_id,
            visit_id: self.visit_id,
            vaccine: code(&self.vaccine)?,
            entry: Entry::Dose(dose),
        })
    }
}

fn reason(v: &str) -> Result<String, ValidationError> {
    note_text("reason", Some(v))?.ok_or_else(|| ValidationError::new("reason", "is required"))
}

impl DeclineVaccination {
    pub fn validate(&self, today: Date) -> Result<VaccinationDraft, ValidationError> {
        Ok(VaccinationDraft {
            patient_id: self.patient_id,
            visit_id: self.visit_id,
            vaccine: code(&self.vaccine)?,
            entry: Entry::Declined {
                on: not_future("declined_on", self.declined_on.unwrap_or(today), today)?,
                reason: reason(&self.reason)?,
            },
        })
    }
}

impl OverrideDue {
    pub fn validate(&self, patient_id: PatientId) -> Result<VaccinationDraft, ValidationError> {
        Ok(VaccinationDraft {
            patient_id,
            visit_id: None,
            vaccine: code(&self.vaccine)?,
            entry: Entry::DueOverride { due_on: self.due_on, reason: reason(&self.reason)? },
        })
    }
}

impl AssessRisk {
    pub fn validate(&self, patient_id: PatientId) -> Result<VaccinationDraft, ValidationError> {
        Ok(VaccinationDraft {
            patient_id,
            visit_id: None,
            vaccine: code(&self.vaccine)?,
            entry: Entry::Risk { at_risk: self.at_risk, note: note_text("note", self.note.as_deref())? },
        })
    }
}

impl AddReaction {
    /// The reaction as recorded `now` by `by`.
    pub fn validate(&self, now: Timestamp, by: Option<UserId>) -> Result<AdverseReaction, ValidationError> {
        let observed_at = self.observed_at.unwrap_or(now);
        if observed_at > now {
            return Err(ValidationError::new("observed_at", "is in the future"));
        }
        Ok(AdverseReaction {
            observed_at,
            signs: note_text("signs", Some(&self.signs))?
                .ok_or_else(|| ValidationError::new("signs", "is required"))?,
            severity: self.severity,
            treatment: note_text("treatment", self.treatment.as_deref())?,
            recorded_at: now,
            recorded_by: by,
        })
    }
}

/// Where a vaccine stands for a cat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DueStatus {
    /// Due today or later.
    Due,
    /// The due date has passed.
    Overdue,
    /// The owner declined it after the last dose (the computed date is kept).
    Declined,
    /// No dose is recommended (or an override says not due).
    NotDue,
}

/// A staff override shown beside the computed date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OverrideView {
    pub due_on: Option<Date>,
    pub reason: String,
    pub by: Option<UserId>,
    pub at: Timestamp,
    pub vaccination_id: VaccinationId,
}

/// One vaccine of a cat's due list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DueItem {
    pub vaccine: String,
    pub vaccine_name: String,
    pub status: DueStatus,
    /// The date that counts: the override's when there is one, else the computed one.
    pub due_on: Option<Date>,
    /// What the protocol computes, with the rule that produced it.
    pub computed_on: Option<Date>,
    /// The last day before the vaccine counts as overdue: the end of a series dose's window
    /// (due from `due_on`, overdue after this), else `due_on` itself.
    pub overdue_after: Option<Date>,
    pub rule: String,
    pub protocol_version: u32,
    #[serde(rename = "override")]
    pub override_: Option<OverrideView>,
    pub last_given_on: Option<Date>,
    pub at_risk: bool,
    /// The declined entry's reason, when declined.
    pub declined_reason: Option<String>,
}

/// `GET /api/patients/{id}/vaccinations`: the entries newest first and the due list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PatientVaccinations {
    pub patient_id: PatientId,
    pub entries: Vec<Vaccination>,
    pub due: Vec<DueItem>,
    pub protocol: String,
    pub protocol_version: u32,
}

/// One cat of `GET /api/vaccinations/due`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DueCat {
    pub patient_id: PatientId,
    pub patient_name: String,
    pub client_id: ClientId,
    /// Where its last appointment was (its first upcoming one if it has none yet).
    pub location_id: Option<LocationId>,
    pub items: Vec<DueItem>,
}

/// Query of `GET /api/vaccinations/due`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DueQuery {
    pub location_id: Option<String>,
    /// Earliest due date listed (default: none, so every overdue one).
    pub from: Option<Date>,
    /// Latest due date listed (default: 30 days from today).
    pub to: Option<Date>,
    /// `due` or `overdue` (default both).
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The due list of a cat born on `dob` with `entries` (any order), on local date `today`:
/// one item per vaccine of the protocol, in the protocol's order.
pub fn due_list(
    p: &VaccineProtocol,
    version: u32,
    dob: Option<Date>,
    entries: &[Vaccination],
    today: Date,
) -> Vec<DueItem> {
    let mut out = Vec::with_capacity(p.vaccines.len());
    for v in &p.vaccines {
        let mut mine: Vec<&Vaccination> = entries.iter().filter(|e| e.vaccine == v.code).collect();
        mine.sort_by_key(|e| (e.created_at, e.id));
        let doses: Vec<GivenDose> = mine
            .iter()
            .filter_map(|e| match &e.entry {
                Entry::Dose(d) => {
                    Some(GivenDose { on: d.given_on, label_months: d.label_years.map(|y| u16::from(y) * 12) })
                }
                _ => None,
            })
            .collect();
        let last_given_on = doses.iter().map(|d| d.on).max();
        let at_risk = mine
            .iter()
            .rev()
            .find_map(|e| match &e.entry {
                Entry::Risk { at_risk, .. } => Some(*at_risk),
                _ => None,
            })
            .unwrap_or(false);
        let computed = next_due(p, version, v, dob, &doses, at_risk, today);
        // An override or a refusal counts until a dose is given after it.
        // Entries in the order they happened: by their day, then by when they were recorded (a
        // refusal and a dose on one day: whichever was recorded last counts).
        let last_dose =
            mine.iter().filter(|e| matches!(e.entry, Entry::Dose(_))).map(|e| (entry_day(e), e.created_at)).max();
        let since_last = |e: &&&Vaccination| last_dose.is_none_or(|l| (entry_day(e), e.created_at) > l);
        let override_ = mine.iter().rev().filter(since_last).find_map(|e| match &e.entry {
            Entry::DueOverride { due_on, reason } => Some(OverrideView {
                due_on: *due_on,
                reason: reason.clone(),
                by: e.created_by,
                at: e.created_at,
                vaccination_id: e.id,
            }),
            _ => None,
        });
        let declined = mine.iter().rev().filter(since_last).find_map(|e| match &e.entry {
            Entry::Declined { reason, .. } => Some(reason.clone()),
            _ => None,
        });
        let due_on = override_.as_ref().map_or(computed.due_on, |o| o.due_on);
        // Overdue once the date that counts has passed; a series dose (not overridden) only
        // once its window has closed (`interval_max_weeks` after the dose before).
        let overdue_after = match &override_ {
            Some(_) => due_on,
            None => computed.overdue_after.or(due_on),
        };
        let status = match (due_on, &declined) {
            (None, _) => DueStatus::NotDue,
            (Some(_), Some(_)) => DueStatus::Declined,
            (Some(_), None) if overdue_after.is_some_and(|d| d < today) => DueStatus::Overdue,
            (Some(_), None) => DueStatus::Due,
        };
        out.push(DueItem {
            vaccine: v.code.clone(),
            vaccine_name: v.name.clone(),
            status,
            due_on,
            computed_on: computed.due_on,
            overdue_after,
            rule: computed.rule,
            protocol_version: version,
            override_,
            last_given_on,
            at_risk,
            declined_reason: declined,
        });
    }
    out
}

/// The day an entry took effect, for ordering it among doses: a dose's own date, a refusal's
/// date, else the day it was recorded (UTC: off by a day at most, near midnight).
fn entry_day(e: &Vaccination) -> Date {
    match &e.entry {
        Entry::Dose(d) => d.given_on,
        Entry::Declined { on, .. } => *on,
        _ => e.created_at.to_zoned(jiff::tz::TimeZone::UTC).date(),
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;
    use crate::clinical_facts::fact_set;

    fn protocol() -> VaccineProtocol {
        let (_, body) = fact_set("vaccine_protocol").unwrap().first_version().unwrap();
        serde_json::from_value(body).unwrap()
    }

    fn entry(n: u128, vaccine: &str, at: &str, entry: Entry) -> Vaccination {
        let at: Timestamp = at.parse().unwrap();
        Vaccination {
            id: VaccinationId::from_u128(n),
            patient_id: PatientId::from_u128(1),
            visit_id: None,
            vaccine: vaccine.into(),
            entry,
            reactions: Vec::new(),
            protocol_version: 1,
            created_at: at,
            updated_at: at,
            created_by: None,
        }
    }

    fn dose(on: Date) -> Entry {
        Entry::Dose(Dose {
            given_on: on,
            product: "Purevax".into(),
            manufacturer: None,
            lot: "L1".into(),
            serial: None,
            expiry: None,
            route: None,
            site: None,
            given_by: None,
            label_years: None,
            note: None,
        })
    }

    #[test]
    fn an_override_replaces_the_date_and_shows_beside_the_computed_one_until_the_next_dose() {
        let p = protocol();
        let dob = Some(date(2020, 1, 1));
        let mut e = vec![
            entry(1, "fvrcp", "2024-01-10T10:00:00Z", dose(date(2024, 1, 10))),
            entry(2, "fvrcp", "2024-02-01T10:00:00Z", dose(date(2024, 2, 1))),
            entry(
                3,
                "fvrcp",
                "2024-03-01T10:00:00Z",
                Entry::DueOverride { due_on: Some(date(2024, 9, 1)), reason: "titre test planned".into() },
            ),
        ];
        let today = date(2024, 3, 2);
        let fvrcp = &due_list(&p, 1, dob, &e, today)[0];
        assert_eq!(fvrcp.computed_on, Some(date(2025, 2, 1)));
        assert_eq!(fvrcp.due_on, Some(date(2024, 9, 1)));
        assert_eq!(fvrcp.override_.as_ref().unwrap().reason, "titre test planned");
        assert_eq!(fvrcp.status, DueStatus::Due);
        e.push(entry(4, "fvrcp", "2024-09-01T10:00:00Z", dose(date(2024, 9, 1))));
        let fvrcp = &due_list(&p, 1, dob, &e, today)[0];
        assert!(fvrcp.override_.is_none());
        assert_eq!(fvrcp.due_on, Some(date(2027, 9, 1)));
    }

    #[test]
    fn a_kitten_series_dose_is_due_within_its_window_and_overdue_only_after_it() {
        let p = protocol();
        let dob = Some(date(2026, 1, 1));
        // Dose 1 at 8 weeks; dose 2 is due 3–4 weeks later: from 19 March, overdue after 26 March.
        let e = vec![entry(1, "fvrcp", "2026-02-26T10:00:00Z", dose(date(2026, 2, 26)))];
        let on = |today: Date| due_list(&p, 1, dob, &e, today).into_iter().find(|i| i.vaccine == "fvrcp").unwrap();
        let item = on(date(2026, 3, 18));
        assert_eq!((item.due_on, item.overdue_after), (Some(date(2026, 3, 19)), Some(date(2026, 3, 26))));
        assert_eq!(item.status, DueStatus::Due);
        assert_eq!(on(date(2026, 3, 20)).status, DueStatus::Due, "inside the window: due, not overdue");
        assert_eq!(on(date(2026, 3, 26)).status, DueStatus::Due, "the window's last day");
        assert_eq!(on(date(2026, 3, 27)).status, DueStatus::Overdue, "the window has closed");
        // An override counts from its own date: overdue the day after it.
        let mut e = e.clone();
        e.push(entry(
            2,
            "fvrcp",
            "2026-03-01T10:00:00Z",
            Entry::DueOverride { due_on: Some(date(2026, 3, 20)), reason: "owner away".into() },
        ));
        let item = due_list(&p, 1, dob, &e, date(2026, 3, 21)).into_iter().find(|i| i.vaccine == "fvrcp").unwrap();
        assert_eq!((item.status, item.overdue_after), (DueStatus::Overdue, Some(date(2026, 3, 20))));
    }

    #[test]
    fn declined_keeps_the_date_and_says_so_and_overdue_is_past_today() {
        let p = protocol();
        let dob = Some(date(2020, 1, 1));
        let e = vec![entry(
            1,
            "rabies",
            "2024-01-10T10:00:00Z",
            Entry::Declined { on: date(2024, 1, 10), reason: "owner wants to wait".into() },
        )];
        let list = due_list(&p, 1, dob, &e, date(2024, 1, 11));
        let rabies = list.iter().find(|i| i.vaccine == "rabies").unwrap();
        assert_eq!(rabies.status, DueStatus::Declined);
        assert_eq!(rabies.declined_reason.as_deref(), Some("owner wants to wait"));
        assert_eq!(list[0].status, DueStatus::Overdue, "FVRCP never given to an adult");
        let felv = list.iter().find(|i| i.vaccine == "felv").unwrap();
        assert_eq!(felv.status, DueStatus::NotDue);
    }

    #[test]
    fn a_dose_in_the_future_or_after_expiry_is_refused_naming_the_field() {
        let body = |given_on: Option<Date>, expiry: Option<Date>| CreateVaccination {
            patient_id: PatientId::from_u128(1),
            visit_id: None,
            vaccine: "FVRCP".into(),
            product: "Purevax".into(),
            manufacturer: None,
            lot: "L1".into(),
            serial: None,
            expiry,
            given_on,
            route: None,
            site: None,
            given_by: None,
            label_years: None,
            note: None,
        };
        let today = date(2026, 5, 1);
        assert_eq!(body(Some(date(2026, 5, 2)), None).validate(today).unwrap_err().field, "given_on");
        assert_eq!(body(None, Some(date(2026, 4, 30))).validate(today).unwrap_err().field, "given_on");
        assert_eq!(body(None, None).validate(today).unwrap().vaccine, "fvrcp");
    }
}
