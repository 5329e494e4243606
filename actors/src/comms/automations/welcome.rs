//! The welcome series (a sweep, transactional): days 0, 3 and 7 after the client's creation
//! (local dates), sent by the daily sweep. A sweep rather than jobs in the client-creation
//! change set: clients are a generic record kind whose actor commits its own change set, and
//! a day of delay matters little for a welcome; the sweep also sees clients imported in bulk.
//! Day 0 therefore goes at the first sweep on the day of creation (or the next morning).

use clowder_schemas::automations::Trigger;
use clowder_schemas::clients::Client;
use clowder_schemas::messages::Purpose;
use clowder_schemas::templates::TemplateCategory;
use jiff::civil::Date;

use super::{Due, Env, Param, Rule, Settings, alive};
use crate::error::Result;
use crate::store::RecordTable;

pub const KIND: &str = "welcome";

/// The days of the series, counted from the client's creation date.
const DAYS: [i32; 3] = [0, 3, 7];

/// Which message of the series a client who joined on `joined` gets on `day`, if any.
pub(crate) fn welcome_day(joined: Date, day: Date) -> Option<i32> {
    let days = joined.until(day).ok()?.get_days();
    DAYS.contains(&days).then_some(days)
}

/// The welcome rule.
pub struct Welcome;

impl Rule for Welcome {
    fn kind(&self) -> &'static str {
        KIND
    }
    fn description(&self) -> &'static str {
        "Three welcome messages for new clients: the day they join, 3 and 7 days later"
    }
    fn category(&self) -> TemplateCategory {
        TemplateCategory::Welcome
    }
    fn purpose(&self, _: &Settings) -> Purpose {
        Purpose::Transactional
    }
    fn trigger(&self) -> Trigger {
        Trigger::Sweep
    }
    fn params(&self) -> &'static [Param] {
        &[]
    }

    fn due_on(&self, env: &Env, _s: &Settings, date: Date) -> Result<Vec<Due>> {
        let r = env.read()?;
        let mut out = Vec::new();
        for c in env.all::<Client>(RecordTable::Clients)? {
            let Some(days) = welcome_day(env.local_date(c.created_at), date) else { continue };
            let cats = alive(env.cats_of(&r, &c)?);
            let values = std::collections::BTreeMap::from([("welcome_day".to_owned(), days.to_string())]);
            out.push(Due {
                key: format!("{KIND}:{}:day{days}", c.id),
                client: c,
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
    fn the_series_is_days_0_3_and_7() {
        let joined = date(2026, 2, 26);
        let days: Vec<(i8, Option<i32>)> = (-1..=9)
            .map(|n| (n, welcome_day(joined, joined.checked_add(jiff::Span::new().days(n)).unwrap())))
            .filter(|(_, d)| d.is_some())
            .collect();
        assert_eq!(days, vec![(0, Some(0)), (3, Some(3)), (7, Some(7))]);
        // Across a month end (and a year end): whole days, not calendar fields.
        assert_eq!(welcome_day(date(2025, 12, 29), date(2026, 1, 1)), Some(3));
        assert_eq!(welcome_day(date(2025, 12, 29), date(2026, 1, 5)), Some(7));
        assert_eq!(welcome_day(date(2025, 12, 29), date(2026, 1, 29)), None, "a month is not 7 days");
    }
}
