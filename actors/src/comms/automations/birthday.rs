//! Cat birthdays (a sweep): cats whose date of birth falls on the local date (29 February on
//! the 28th in other years), not estimated unless `allow_estimated`; one message per owner.
//! Marketing when a `discount_code` is set (an offer), else transactional... no: a birthday
//! greeting is not about the client's care either way, so it is marketing always.

use std::collections::BTreeMap;

use clowder_schemas::automations::Trigger;
use clowder_schemas::clients::Client;
use clowder_schemas::messages::Purpose;
use clowder_schemas::patients::Patient;
use clowder_schemas::templates::TemplateCategory;
use jiff::civil::Date;

use super::{Due, Env, Param, Rule, Settings, alive};
use crate::error::Result;
use crate::store::RecordTable;

pub const KIND: &str = "birthday";

const PARAMS: &[Param] = &[
    Param {
        name: "allow_estimated",
        description: "also greet cats whose date of birth is an estimate",
        default: || serde_json::json!(false),
        check: |v| if v.is_boolean() { Ok(()) } else { Err("must be true or false".into()) },
    },
    Param {
        name: "discount_code",
        description: "a code offered in the greeting (empty: none)",
        default: || serde_json::json!(""),
        check: |v| match v.as_str() {
            Some(s) if s.len() <= 40 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') => Ok(()),
            _ => Err("must be up to 40 letters, digits or dashes".into()),
        },
    },
];

/// The birthday rule.
pub struct Birthday;

/// Whether `born` has its birthday on `day` (29 February counts on 28 February otherwise).
pub(crate) fn same_day(born: Date, day: Date) -> bool {
    (born.month(), born.day()) == (day.month(), day.day())
        || (born.month() == 2 && born.day() == 29 && !day.in_leap_year() && day.month() == 2 && day.day() == 28)
}

/// Whether a cat born on `born` (an estimate when `estimated`) is greeted on `day`: a later
/// year's same day, and an estimated date only when the clinic allows it.
pub(crate) fn greets(born: Date, estimated: bool, allow_estimated: bool, day: Date) -> bool {
    born < day && (allow_estimated || !estimated) && same_day(born, day)
}

impl Rule for Birthday {
    fn kind(&self) -> &'static str {
        KIND
    }
    fn description(&self) -> &'static str {
        "A birthday greeting for each cat with a date of birth, optionally with a discount code"
    }
    fn category(&self) -> TemplateCategory {
        TemplateCategory::Birthday
    }
    fn purpose(&self, _: &Settings) -> Purpose {
        Purpose::Marketing
    }
    fn trigger(&self) -> Trigger {
        Trigger::Sweep
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }

    fn due_on(&self, env: &Env, s: &Settings, date: Date) -> Result<Vec<Due>> {
        let estimated = s.get("allow_estimated").as_bool().unwrap_or(false);
        let mut by_client: BTreeMap<clowder_schemas::ClientId, Vec<Patient>> = BTreeMap::new();
        for p in env.all::<Patient>(RecordTable::Patients)? {
            if let Some(born) = p.date_of_birth
                && greets(born, p.date_of_birth_estimated, estimated, date)
            {
                by_client.entry(p.client_id).or_default().push(p);
            }
        }
        let r = env.read()?;
        let mut out = Vec::new();
        for (client, cats) in by_client {
            let Some(client) = r.get::<Client>(RecordTable::Clients, client.as_u128())? else { continue };
            let cats = alive(cats);
            let age = cats.first().and_then(|p| p.date_of_birth).map(|b| date.year() - b.year()).unwrap_or(0);
            let values = BTreeMap::from([
                ("discount_code".to_owned(), s.get("discount_code").as_str().unwrap_or_default().to_owned()),
                ("pet_age".to_owned(), age.to_string()),
            ]);
            out.push(Due {
                key: format!("{KIND}:{}:{date}", client.id),
                client,
                patients: cats,
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

    #[test]
    fn a_birthday_is_the_same_day_of_a_later_year() {
        assert!(greets(date(2020, 6, 15), false, false, date(2026, 6, 15)));
        assert!(!greets(date(2020, 6, 15), false, false, date(2026, 6, 16)));
        assert!(!greets(date(2020, 6, 15), false, false, date(2026, 7, 15)));
        // Not on the day of birth itself, nor before it.
        assert!(!greets(date(2026, 6, 15), false, false, date(2026, 6, 15)));
        assert!(!greets(date(2027, 6, 15), false, false, date(2026, 6, 15)));
    }

    #[test]
    fn the_29th_of_february_is_celebrated_on_the_28th_in_other_years() {
        let leap = date(2024, 2, 29);
        assert!(greets(leap, false, false, date(2025, 2, 28)));
        assert!(!greets(leap, false, false, date(2025, 3, 1)));
        // In a leap year on the day itself, and not also the day before.
        assert!(greets(leap, false, false, date(2028, 2, 29)));
        assert!(!greets(leap, false, false, date(2028, 2, 28)));
        // A cat born on the 28th is not greeted twice in a leap year.
        assert!(greets(date(2023, 2, 28), false, false, date(2028, 2, 28)));
        assert!(!greets(date(2023, 2, 28), false, false, date(2028, 2, 29)));
    }

    #[test]
    fn estimated_dates_are_greeted_only_when_allowed() {
        assert!(!greets(date(2020, 6, 15), true, false, date(2026, 6, 15)));
        assert!(greets(date(2020, 6, 15), true, true, date(2026, 6, 15)));
        assert!(greets(date(2020, 6, 15), false, true, date(2026, 6, 15)));
    }
}
