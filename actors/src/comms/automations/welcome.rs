//! The welcome series (a sweep, transactional): days 0, 3 and 7 after the client's creation
//! (local dates), sent by the daily sweep. A sweep rather than jobs in the client-creation
//! change set: clients are a generic record kind whose actor commits its own change set, and
//! a day of delay matters little for a welcome; the sweep also sees clients imported in bulk.
//! Day 0 therefore goes at the first sweep on the day of creation (or the next morning).
//!
//! **Existing clients are not new clients.** A clinic enters (or imports) the clients it
//! already has when it starts using Clowder; greeting them as newcomers would be wrong. So the
//! series only greets clients created on or after `since`: by default the day after the store
//! was set up (`Store::created_at`, the clinic's first day, which is also when the demo seeds its
//! clients). A clinic that adds its existing clients later sets `since` to the day after.

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

const PARAMS: &[Param] = &[Param {
    name: "since",
    description: "greet only clients created on or after this date (YYYY-MM-DD; empty: the day after the clinic's first day, so the clients it already had are not welcomed)",
    default: || serde_json::json!(""),
    check: |v| match v.as_str() {
        Some("") => Ok(()),
        Some(d) if d.parse::<Date>().is_ok() => Ok(()),
        _ => Err("must be a date as YYYY-MM-DD, or empty".into()),
    },
}];

/// The first creation date the series greets: `since`, else the day after `first_day`.
pub(crate) fn since(s: &Settings, first_day: Date) -> Date {
    s.get("since")
        .as_str()
        .and_then(|d| d.parse::<Date>().ok())
        .unwrap_or_else(|| first_day.tomorrow().unwrap_or(first_day))
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
        PARAMS
    }

    fn due_on(&self, env: &Env, s: &Settings, date: Date) -> Result<Vec<Due>> {
        let r = env.read()?;
        let since = since(s, env.local_date(env.ctx.store.created_at()));
        let mut out = Vec::new();
        for c in env.all::<Client>(RecordTable::Clients)? {
            let joined = env.local_date(c.created_at);
            if joined < since {
                continue;
            }
            let Some(days) = welcome_day(joined, date) else { continue };
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
    fn clients_of_the_first_day_are_not_new_unless_since_says_so() {
        let first = date(2026, 3, 1);
        let mut s = Settings { enabled: true, params: Default::default() };
        assert_eq!(since(&s, first), date(2026, 3, 2));
        s.params.insert("since".into(), serde_json::json!("2026-01-15"));
        assert_eq!(since(&s, first), date(2026, 1, 15));
        s.params.insert("since".into(), serde_json::json!(""));
        assert_eq!(since(&s, first), date(2026, 3, 2));
        assert!((PARAMS[0].check)(&serde_json::json!("2026-02-30")).is_err());
        assert!((PARAMS[0].check)(&serde_json::json!("2026-02-28")).is_ok());
    }

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
