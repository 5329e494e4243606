//! Post-visit follow-ups (transactional): a `follow_up` job written in the change set that
//! completes a visit, due some days later by appointment type (`days_by_type`, else
//! `default_days`; `0` or a missing type: none). One message per owner per visit day.

use clowder_schemas::AppointmentId;
use clowder_schemas::appointment_types::AppointmentType;
use clowder_schemas::appointments::{Appointment, Status};
use clowder_schemas::audit::Caller;
use clowder_schemas::automations::Trigger;
use clowder_schemas::clients::Client;
use clowder_schemas::jobs::Job;
use clowder_schemas::messages::Purpose;
use clowder_schemas::patients::Patient;
use clowder_schemas::templates::TemplateCategory;
use jiff::{SignedDuration, Timestamp};

use super::{Due, Env, Param, Rule, Settings, alive};
use crate::error::Result;
use crate::store::{ChangeSet, RecordTable};

pub const KIND: &str = "follow_up";

const PARAMS: &[Param] = &[
    Param {
        name: "days_by_type",
        description: "days after a completed visit, by appointment type name (0: none)",
        default: || serde_json::json!({ "Sick visit": 2, "Dental cleaning": 2, "Spay or neuter": 2, "Recheck": 0, "Wellness exam": 0 }),
        check: |v| match v.as_object() {
            Some(m) if m.values().all(|d| d.as_i64().is_some_and(|n| (0..=3).contains(&n))) => Ok(()),
            _ => Err("must map appointment type names to 0 to 3 days".into()),
        },
    },
    Param {
        name: "default_days",
        description: "days after a visit of a type not in days_by_type (0: none)",
        default: || serde_json::json!(0),
        check: |v| super::whole_number(0, 3)(v),
    },
];

/// The follow-up rule.
pub struct FollowUp;

impl Rule for FollowUp {
    fn kind(&self) -> &'static str {
        KIND
    }
    fn description(&self) -> &'static str {
        "A note a few days after a completed visit, by appointment type"
    }
    fn category(&self) -> TemplateCategory {
        TemplateCategory::FollowUp
    }
    fn purpose(&self, _: &Settings) -> Purpose {
        Purpose::Transactional
    }
    fn trigger(&self) -> Trigger {
        Trigger::Event
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }
    fn job_kind(&self) -> Option<&'static str> {
        Some(KIND)
    }

    fn due_of_job(&self, env: &Env, _s: &Settings, job: &Job, _at: Timestamp) -> Result<Option<Due>> {
        let Some(id) =
            job.payload.get("appointment_id").and_then(|v| v.as_str()).and_then(|s| s.parse::<AppointmentId>().ok())
        else {
            return Ok(None);
        };
        let r = env.read()?;
        let Some(a) = r.get::<Appointment>(RecordTable::Appointments, id.as_u128())? else { return Ok(None) };
        if a.status != Status::Completed {
            return Ok(None);
        }
        let Some(client) = r.get::<Client>(RecordTable::Clients, a.client_id.as_u128())? else { return Ok(None) };
        let day = env.local_date(a.start);
        // The owner's other cats completed the same day share the message.
        let mut patients = Vec::new();
        // A local day is at most 25 hours (a DST fall-back): look 25 h either side.
        let span = jiff::SignedDuration::from_hours(25);
        let (from, to) = (a.start.checked_sub(span).unwrap_or(a.start), a.start.checked_add(span).unwrap_or(a.start));
        for o in env.appointments_of(client.id, from, to)? {
            if o.status == Status::Completed
                && env.local_date(o.start) == day
                && let Some(p) = r.get::<Patient>(RecordTable::Patients, o.patient_id.as_u128())?
            {
                patients.push(p);
            }
        }
        let values = std::collections::BTreeMap::from([(
            "visit_date".to_owned(),
            a.start.to_zoned(env.ctx.config.time_zone.clone()).strftime("%B %-d").to_string(),
        )]);
        Ok(Some(Due {
            key: format!("{KIND}:{}:{day}", client.id),
            client,
            patients: alive(patients),
            due_at: job.due_at,
            values,
        }))
    }
}

/// Adds the follow-up job of a visit that just completed, if its type has one.
pub(crate) fn schedule(env: &Env, set: &mut ChangeSet, a: &Appointment, caller: &Caller) -> Result<()> {
    let s = env.settings(&FollowUp)?;
    let type_name =
        env.read()?.get::<AppointmentType>(RecordTable::AppointmentTypes, a.type_id.as_u128())?.map(|t| t.name);
    let days = type_name
        .and_then(|n| s.get("days_by_type").get(&n).and_then(|d| d.as_i64()))
        .unwrap_or_else(|| s.int("default_days"));
    if days <= 0 {
        return Ok(());
    }
    let due = env.now().saturating_add(SignedDuration::from_hours(24 * days)).unwrap_or(env.now());
    env.schedule(
        set,
        KIND,
        serde_json::json!({ "appointment_id": a.id }),
        due,
        format!("{KIND}:{}", a.id),
        format!("appointment:{}", a.id),
        caller,
    )
}
