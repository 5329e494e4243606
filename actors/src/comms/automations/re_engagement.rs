//! Re-engagement (a sweep, marketing): a client whose last completed visit was `months` ago
//! to the day (local date) and who has nothing booked since.

use std::collections::BTreeMap;

use clowder_schemas::ClientId;
use clowder_schemas::appointments::{Appointment, Status};
use clowder_schemas::automations::Trigger;
use clowder_schemas::clients::Client;
use clowder_schemas::messages::Purpose;
use clowder_schemas::templates::TemplateCategory;
use jiff::civil::Date;

use super::{Due, Env, Param, Rule, Settings, alive};
use crate::error::Result;
use crate::store::RecordTable;

pub const KIND: &str = "re_engagement";

const PARAMS: &[Param] = &[Param {
    name: "months",
    description: "months since the last completed visit",
    default: || serde_json::json!(12),
    check: |v| super::whole_number(3, 36)(v),
}];

/// The re-engagement rule.
pub struct ReEngagement;

impl Rule for ReEngagement {
    fn kind(&self) -> &'static str {
        KIND
    }
    fn description(&self) -> &'static str {
        "A note to clients not seen for a year (no completed visit, nothing booked)"
    }
    fn category(&self) -> TemplateCategory {
        TemplateCategory::ReEngagement
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
        let months = s.int("months");
        let mut last: BTreeMap<ClientId, Date> = BTreeMap::new();
        let mut booked: std::collections::BTreeSet<ClientId> = Default::default();
        for a in env.all::<Appointment>(RecordTable::Appointments)? {
            match a.status {
                Status::Completed => {
                    let d = env.local_date(a.start);
                    let e = last.entry(a.client_id).or_insert(d);
                    *e = (*e).max(d);
                }
                Status::Scheduled | Status::Confirmed => {
                    booked.insert(a.client_id);
                }
                _ => {}
            }
        }
        let r = env.read()?;
        let mut out = Vec::new();
        for (client, d) in last {
            if booked.contains(&client) || !super::months_after(d, months, date) {
                continue;
            }
            let Some(c) = r.get::<Client>(RecordTable::Clients, client.as_u128())? else { continue };
            let cats = alive(env.cats_of(&r, &c)?);
            let values = BTreeMap::from([("last_visit_date".to_owned(), d.strftime("%B %Y").to_string())]);
            out.push(Due {
                key: format!("{KIND}:{}:{date}", c.id),
                client: c,
                patients: cats,
                due_at: env.now(),
                values,
            });
        }
        Ok(out)
    }
}
