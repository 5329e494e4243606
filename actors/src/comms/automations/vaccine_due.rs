//! Vaccine-due reminders (a sweep, transactional): the due dates the medical record computes
//! (`clinical::vaccinations::due_by_patient`, from the protocol in force, overrides applied,
//! declined and not-recommended vaccines left out), sent two ways, one message per owner per
//! day naming every cat concerned:
//! - **per-patient timing**: a vaccine due exactly `days_before` days from the sweep's date
//!   (key `vaccine_due:<client>:<date>`);
//! - **the monthly batch** on day `batch_day` of the month: every vaccine due from the start of
//!   the previous month (so one overdue last month is reminded once more) to the end of this
//!   one (key `vaccine_due:<client>:<year-month>`). That day the timed ones join the batch's
//!   message instead of going separately.
//!
//! Only active cats have due lists, so a deceased cat is never named; a client left with no
//! living cat due gets nothing. Keys make a rerun of the same day (or month) send nothing.

use std::collections::BTreeMap;

use clowder_schemas::automations::Trigger;
use clowder_schemas::clients::Client;
use clowder_schemas::messages::Purpose;
use clowder_schemas::patients::Patient;
use clowder_schemas::templates::TemplateCategory;
use clowder_schemas::vaccinations::{DueItem, DueStatus};
use clowder_schemas::{ClientId, PatientId};
use jiff::ToSpan;
use jiff::civil::Date;

use super::{Due, Env, Param, Rule, Settings, alive};
use crate::clinical::vaccinations::due_by_patient;
use crate::error::Result;
use crate::store::RecordTable;

pub const KIND: &str = "vaccine_due";

const PARAMS: &[Param] = &[
    Param {
        name: "days_before",
        description: "days before a vaccine's due date to remind (0: no per-patient reminders)",
        default: || serde_json::json!(14),
        check: |v| super::whole_number(0, 90)(v),
    },
    Param {
        name: "batch_day",
        description: "day of the month of the monthly batch (0: no batch)",
        default: || serde_json::json!(1),
        check: |v| super::whole_number(0, 28)(v),
    },
];

/// The vaccine-due rule.
pub struct VaccineDue;

/// Whether a sweep on `date` reminds of `item` (see the module doc).
pub(crate) fn selects(days_before: i64, batch_day: i64, date: Date, item: &DueItem) -> bool {
    let Some(due) = item.due_on else { return false };
    if !matches!(item.status, DueStatus::Due | DueStatus::Overdue) {
        return false;
    }
    let timed = days_before > 0 && date.checked_add(days_before.days()).ok() == Some(due);
    let batch = is_batch_day(batch_day, date) && {
        let start = date.first_of_month().checked_sub(1.month()).unwrap_or(date);
        (start..=date.last_of_month()).contains(&due)
    };
    timed || batch
}

/// What keys a sweep's messages: the month on batch day (one batch message a month), else
/// the date.
fn occurrence(batch_day: i64, date: Date) -> String {
    if is_batch_day(batch_day, date) { date.strftime("%Y-%m").to_string() } else { date.to_string() }
}

fn is_batch_day(batch_day: i64, date: Date) -> bool {
    batch_day > 0 && i64::from(date.day()) == batch_day
}

/// "FVRCP", "FVRCP and rabies", "FVRCP, FeLV and rabies".
fn names(items: &[&DueItem]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for i in items {
        if !names.contains(&i.vaccine_name.as_str()) {
            names.push(&i.vaccine_name);
        }
    }
    match names.as_slice() {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

impl Rule for VaccineDue {
    fn kind(&self) -> &'static str {
        KIND
    }
    fn description(&self) -> &'static str {
        "Vaccines due: a monthly batch and a reminder some days before each due date, one message per owner"
    }
    fn category(&self) -> TemplateCategory {
        TemplateCategory::VaccineDue
    }
    fn purpose(&self, _: &Settings) -> Purpose {
        Purpose::Transactional
    }
    fn trigger(&self) -> Trigger {
        Trigger::Sweep
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }

    fn due_on(&self, env: &Env, s: &Settings, date: Date) -> Result<Vec<Due>> {
        let (days_before, batch_day) = (s.int("days_before"), s.int("batch_day"));
        let r = env.read()?;
        let mut by_client: BTreeMap<ClientId, Vec<(Patient, Vec<DueItem>)>> = BTreeMap::new();
        for (p, items) in due_by_patient(&r, date)? {
            let items: Vec<DueItem> = items.into_iter().filter(|i| selects(days_before, batch_day, date, i)).collect();
            if !items.is_empty() {
                by_client.entry(p.client_id).or_default().push((p, items));
            }
        }
        let occurrence = occurrence(batch_day, date);
        let mut out = Vec::new();
        for (client, cats) in by_client {
            let Some(c) = r.get::<Client>(RecordTable::Clients, client.as_u128())? else { continue };
            let patients = alive(cats.iter().map(|(p, _)| p.clone()));
            let living: Vec<PatientId> = patients.iter().map(|p| p.id).collect();
            let items: Vec<&DueItem> =
                cats.iter().filter(|(p, _)| living.contains(&p.id)).flat_map(|(_, i)| i.iter()).collect();
            let Some(first) = items.iter().filter_map(|i| i.due_on).min() else { continue };
            let values = BTreeMap::from([
                ("vaccine_name".to_owned(), names(&items)),
                ("due_date".to_owned(), first.strftime("%B %-d").to_string()),
            ]);
            out.push(Due {
                key: format!("{KIND}:{}:{occurrence}", c.id),
                client: c,
                patients,
                due_at: env.now(),
                values,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    fn item(due_on: Date, status: DueStatus) -> DueItem {
        DueItem {
            vaccine: "fvrcp".into(),
            vaccine_name: "FVRCP".into(),
            status,
            due_on: Some(due_on),
            computed_on: Some(due_on),
            overdue_after: Some(due_on),
            rule: String::new(),
            protocol_version: 1,
            override_: None,
            last_given_on: None,
            at_risk: false,
            declined_reason: None,
        }
    }

    #[test]
    fn timed_reminders_fall_days_before_and_the_batch_covers_the_month_and_last_month() {
        let d = date(2026, 5, 10);
        assert!(selects(14, 1, d, &item(date(2026, 5, 24), DueStatus::Due)));
        assert!(!selects(14, 1, d, &item(date(2026, 5, 25), DueStatus::Due)));
        assert!(!selects(0, 1, d, &item(date(2026, 5, 10), DueStatus::Due)), "0 turns timing off");
        let first = date(2026, 5, 1);
        assert!(selects(14, 1, first, &item(date(2026, 5, 31), DueStatus::Due)));
        assert!(selects(14, 1, first, &item(date(2026, 4, 2), DueStatus::Overdue)));
        assert!(!selects(14, 1, first, &item(date(2026, 3, 31), DueStatus::Overdue)));
        assert!(!selects(14, 1, first, &item(date(2026, 6, 1), DueStatus::Due)));
        assert!(!selects(14, 0, first, &item(date(2026, 5, 31), DueStatus::Due)), "0 turns the batch off");
        assert!(!selects(14, 1, first, &item(date(2026, 5, 15), DueStatus::Declined)));
    }

    #[test]
    fn a_batch_is_keyed_by_its_month_and_a_timed_reminder_by_its_day() {
        assert_eq!(occurrence(1, date(2026, 5, 1)), "2026-05");
        assert_eq!(occurrence(1, date(2026, 5, 2)), "2026-05-02");
        assert_eq!(occurrence(0, date(2026, 5, 1)), "2026-05-01");
    }

    #[test]
    fn vaccine_names_are_listed_once_each() {
        let a = item(date(2026, 5, 1), DueStatus::Due);
        let b = DueItem { vaccine_name: "Rabies".into(), ..a.clone() };
        assert_eq!(names(&[&a, &b, &a]), "FVRCP and Rabies");
    }
}
