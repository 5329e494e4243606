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
            let joined = env.local_date(c.created_at);
            let years = date.year() - joined.year();
            if years < 1 || !super::birthday::same_day(joined, date) {
                continue;
            }
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
