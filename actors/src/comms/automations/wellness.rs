//! Annual wellness reminders (a sweep, transactional): a cat whose last completed wellness
//! visit (types named in `type_names`) was `months` ago to the day, with nothing booked since;
//! one message per owner for all their cats due that day.

use std::collections::{BTreeMap, BTreeSet};

use clowder_schemas::appointment_types::AppointmentType;
use clowder_schemas::appointments::{Appointment, Status};
use clowder_schemas::automations::Trigger;
use clowder_schemas::clients::Client;
use clowder_schemas::messages::Purpose;
use clowder_schemas::patients::Patient;
use clowder_schemas::templates::TemplateCategory;
use clowder_schemas::{ClientId, PatientId};
use jiff::civil::Date;

use super::{Due, Env, Param, Rule, Settings, alive};
use crate::error::Result;
use crate::store::RecordTable;

pub const KIND: &str = "wellness";

const PARAMS: &[Param] = &[
    Param {
        name: "months",
        description: "months after the last wellness visit",
        default: || serde_json::json!(11),
        check: |v| super::whole_number(1, 24)(v),
    },
    Param {
        name: "type_names",
        description: "the appointment types that count as a wellness visit",
        default: || serde_json::json!(["Wellness exam", "Senior wellness exam", "New kitten visit"]),
        check: |v| match v.as_array() {
            Some(a) if a.iter().all(|x| x.is_string()) => Ok(()),
            _ => Err("must be a list of appointment type names".into()),
        },
    },
];

/// The wellness rule.
pub struct Wellness;

impl Rule for Wellness {
    fn kind(&self) -> &'static str {
        KIND
    }
    fn description(&self) -> &'static str {
        "A yearly wellness-exam reminder about 11 months after the last one"
    }
    fn category(&self) -> TemplateCategory {
        TemplateCategory::WellnessReminder
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
        let names: BTreeSet<String> = s
            .get("type_names")
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        let types: BTreeSet<_> = env
            .all::<AppointmentType>(RecordTable::AppointmentTypes)?
            .into_iter()
            .filter(|t| names.contains(&t.name))
            .map(|t| t.id)
            .collect();
        let mut last: BTreeMap<PatientId, (ClientId, Date)> = BTreeMap::new();
        let mut booked = BTreeSet::new();
        for a in env.all::<Appointment>(RecordTable::Appointments)? {
            match a.status {
                Status::Completed if types.contains(&a.type_id) => {
                    let d = env.local_date(a.start);
                    let e = last.entry(a.patient_id).or_insert((a.client_id, d));
                    e.1 = e.1.max(d);
                }
                Status::Scheduled | Status::Confirmed => {
                    booked.insert(a.patient_id);
                }
                _ => {}
            }
        }
        let months = s.int("months");
        let r = env.read()?;
        let mut by_client: BTreeMap<ClientId, Vec<Patient>> = BTreeMap::new();
        for (patient, (client, d)) in last {
            if booked.contains(&patient) || !super::months_after(d, months, date) {
                continue;
            }
            if let Some(p) = r.get::<Patient>(RecordTable::Patients, patient.as_u128())? {
                by_client.entry(client).or_default().push(p);
            }
        }
        let mut out = Vec::new();
        for (client, cats) in by_client {
            let Some(c) = r.get::<Client>(RecordTable::Clients, client.as_u128())? else { continue };
            out.push(Due {
                key: format!("{KIND}:{}:{date}", c.id),
                client: c,
                patients: alive(cats),
                due_at: env.now(),
                values: BTreeMap::new(),
            });
        }
        Ok(out)
    }
}
