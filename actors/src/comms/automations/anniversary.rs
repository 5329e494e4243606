//! Client anniversaries (a sweep, marketing): yearly on the local date the client was created,
//! from the first year; about their living cats.

use clowder_schemas::automations::Trigger;
use clowder_schemas::clients::Client;
use clowder_schemas::messages::Purpose;
use clowder_schemas::templates::TemplateCategory;
use jiff::civil::Date;

use super::{Due, Env, Param, Rule, Settings, alive};
use crate::error::Result;
use crate::store::RecordTable;

pub const KIND: &str = "anniversary";

/// The whole years a client who joined on `joined` completes on `day`, if `day` is an
/// anniversary (from the first; joined on 29 February: the 28th in other years).
pub(crate) fn years_on(joined: Date, day: Date) -> Option<i16> {
    let years = day.year() - joined.year();
    (years >= 1 && super::birthday::same_day(joined, day)).then_some(years)
}

/// The anniversary rule.
pub struct Anniversary;

impl Rule for Anniversary {
    fn kind(&self) -> &'static str {
        KIND
    }
    fn description(&self) -> &'static str {
        "A thank-you each year on the day the client joined the clinic"
    }
    fn category(&self) -> TemplateCategory {
        TemplateCategory::Anniversary
    }
    fn purpose(&self, _: &Settings) -> Purpose {
        Purpose::Marketing
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
            let Some(years) = years_on(env.local_date(c.created_at), date) else { continue };
            let cats = alive(env.cats_of(&r, &c)?);
            let values = std::collections::BTreeMap::from([("years".to_owned(), years.to_string())]);
            out.push(Due {
                key: format!("{KIND}:{}:{}", c.id, date.year()),
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
    fn anniversaries_count_whole_years_from_the_first() {
        assert_eq!(years_on(date(2025, 9, 1), date(2025, 9, 1)), None, "not the day they joined");
        assert_eq!(years_on(date(2025, 9, 1), date(2026, 9, 1)), Some(1));
        assert_eq!(years_on(date(2020, 9, 1), date(2026, 9, 1)), Some(6));
        assert_eq!(years_on(date(2020, 9, 1), date(2026, 9, 2)), None);
        assert_eq!(years_on(date(2024, 2, 29), date(2025, 2, 28)), Some(1));
        assert_eq!(years_on(date(2024, 2, 29), date(2028, 2, 29)), Some(4));
        assert_eq!(years_on(date(2024, 2, 29), date(2028, 2, 28)), None);
    }
}
