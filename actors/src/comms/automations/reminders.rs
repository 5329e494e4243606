//! Appointment reminders (transactional): jobs `appointment_reminder` written in the booking's
//! change set, one per offset (48 h and 24 h before by default), subject `appointment:<id>`;
//! cancelled with the appointment, moved with it. When a job runs it re-reads the appointment
//! (nothing for a cancelled, completed or past one, or one whose reminder time is long gone)
//! and gathers the owner's other appointments of the same visit, so two cats seen together
//! get one message. The message carries signed confirm, cancel and reschedule links that
//! expire at the visit's start ([`super::links`]).

use std::collections::BTreeMap;

use clowder_schemas::appointment_types::AppointmentType;
use clowder_schemas::appointments::{Appointment, Status};
use clowder_schemas::audit::Caller;
use clowder_schemas::automations::Trigger;
use clowder_schemas::clients::Client;
use clowder_schemas::jobs::Job;
use clowder_schemas::messages::Purpose;
use clowder_schemas::patients::Patient;
use clowder_schemas::templates::TemplateCategory;
use clowder_schemas::{AppointmentId, ValidationError};
use jiff::{SignedDuration, Timestamp};

use super::{Due, Env, Param, Rule, Settings, alive};
use crate::comms::links::LinkPurpose;
use crate::error::Result;
use crate::store::{ChangeSet, RecordTable};

pub const KIND: &str = "appointment_reminder";

/// A reminder this late (after its due time) is not sent: the visit may be hours away.
const STALE_AFTER: SignedDuration = SignedDuration::from_hours(2);

const PARAMS: &[Param] = &[
    Param {
        name: "offsets_minutes",
        description: "minutes before the visit each reminder goes (default 48 h and 24 h)",
        default: || serde_json::json!([2880, 1440]),
        check: |v| match v.as_array() {
            Some(a)
                if (1..=5).contains(&a.len())
                    && a.iter().all(|x| x.as_i64().is_some_and(|n| (1..=20_160).contains(&n))) =>
            {
                Ok(())
            }
            _ => Err("must be a list of 1 to 5 whole numbers of minutes from 1 to 20160".into()),
        },
    },
    Param {
        name: "same_visit_minutes",
        description: "appointments of one owner starting this close together are one visit (one reminder)",
        default: || serde_json::json!(90),
        check: |v| super::whole_number(0, 480)(v),
    },
    Param {
        name: "cancel_notice_hours",
        description: "a client may cancel through the link only this long before the visit; later, the page asks them to call",
        default: || serde_json::json!(24),
        check: |v| super::whole_number(0, 336)(v),
    },
];

/// The reminder rule.
pub struct Reminders;

impl Rule for Reminders {
    fn kind(&self) -> &'static str {
        KIND
    }
    fn description(&self) -> &'static str {
        "Appointment reminders before each visit, with confirm, cancel and reschedule links"
    }
    fn category(&self) -> TemplateCategory {
        TemplateCategory::AppointmentReminder
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

    fn due_of_job(&self, env: &Env, s: &Settings, job: &Job, at: Timestamp) -> Result<Option<Due>> {
        let Some(id) =
            job.payload.get("appointment_id").and_then(|v| v.as_str()).and_then(|s| s.parse::<AppointmentId>().ok())
        else {
            return Ok(None);
        };
        let offset = job.payload.get("offset_minutes").and_then(|v| v.as_i64()).unwrap_or(0);
        let Some(a) = env.read()?.get::<Appointment>(RecordTable::Appointments, id.as_u128())? else { return Ok(None) };
        if !sendable(&offsets(s), offset, &a, at) {
            return Ok(None);
        }
        let Some(visit) = visit_of(env, s, &a)? else { return Ok(None) };
        let anchor = &visit.appointments[0];
        let mut values = visit_values(env, &visit)?;
        let links = [
            ("confirm_link", LinkPurpose::ConfirmAppointment),
            ("cancel_link", LinkPurpose::CancelAppointment),
            ("reschedule_link", LinkPurpose::RescheduleAppointment),
        ];
        for (name, purpose) in links {
            values.insert(name.into(), env.links.url(purpose, anchor.id.as_u128(), anchor.start));
        }
        Ok(Some(Due {
            key: format!("{KIND}:{}:{offset}m:{}", anchor.id, anchor.start.as_second()),
            client: visit.client,
            patients: visit.patients,
            due_at: job.due_at,
            values,
        }))
    }
}

/// Whether the reminder `offset` minutes before `a`, run at `at`, still sends: the offset is
/// still in the settings (a job of a removed offset is normally cancelled by [`reoffset`]; this
/// covers one that ran in between), the visit is still scheduled or confirmed and has not
/// started, and the reminder is at most [`STALE_AFTER`] late.
fn sendable(offsets: &[i64], offset: i64, a: &Appointment, at: Timestamp) -> bool {
    let reminder_at = a.start.saturating_sub(SignedDuration::from_mins(offset)).unwrap_or(a.start);
    offsets.contains(&offset)
        && active(a)
        && at < a.start
        && at <= reminder_at.saturating_add(STALE_AFTER).unwrap_or(a.start)
}

fn active(a: &Appointment) -> bool {
    matches!(a.status, Status::Scheduled | Status::Confirmed)
}

/// One owner's appointments of one visit, earliest first, with the living cats.
pub(crate) struct Visit {
    pub client: Client,
    pub appointments: Vec<Appointment>,
    pub patients: Vec<Patient>,
}

/// The visit `a` belongs to: the owner's active appointments at the same location starting
/// within `same_visit_minutes` of it. `None` when the owner is inactive or every cat is dead.
pub(crate) fn visit_of(env: &Env, s: &Settings, a: &Appointment) -> Result<Option<Visit>> {
    let r = env.read()?;
    let Some(client) = r.get::<Client>(RecordTable::Clients, a.client_id.as_u128())? else { return Ok(None) };
    if !client.active {
        return Ok(None);
    }
    let window = SignedDuration::from_mins(s.int("same_visit_minutes"));
    let from = a.start.checked_sub(window).unwrap_or(a.start);
    let to = a.start.checked_add(window + SignedDuration::from_nanos(1)).unwrap_or(a.start);
    let mut appointments: Vec<Appointment> = env
        .appointments_of(client.id, from, to)?
        .into_iter()
        .filter(|o| active(o) && o.location_id == a.location_id && o.start.duration_since(a.start).abs() <= window)
        .collect();
    if !appointments.iter().any(|o| o.id == a.id) {
        appointments.push(a.clone());
    }
    let mut patients = Vec::new();
    for o in &appointments {
        if let Some(p) = r.get::<Patient>(RecordTable::Patients, o.patient_id.as_u128())? {
            patients.push(p);
        }
    }
    let patients = alive(patients);
    appointments.retain(|o| patients.iter().any(|p| p.id == o.patient_id));
    appointments.sort_by(|x, y| x.start.cmp(&y.start).then(x.id.cmp(&y.id)));
    if appointments.is_empty() {
        return Ok(None);
    }
    Ok(Some(Visit { client, appointments, patients }))
}

/// `appointment_time` (the first start, in the clinic's zone) and `appointment_type` (the
/// visit's types, each once).
pub(crate) fn visit_values(env: &Env, v: &Visit) -> Result<BTreeMap<String, String>> {
    let r = env.read()?;
    let mut types: Vec<String> = Vec::new();
    for a in &v.appointments {
        if let Some(t) = r.get::<AppointmentType>(RecordTable::AppointmentTypes, a.type_id.as_u128())?
            && !types.contains(&t.name)
        {
            types.push(t.name);
        }
    }
    Ok(BTreeMap::from([
        (
            "appointment_time".to_owned(),
            crate::comms::templates::format_time(v.appointments[0].start, &env.ctx.config.time_zone),
        ),
        ("appointment_type".to_owned(), types.join(" and ")),
    ]))
}

fn offsets(s: &Settings) -> Vec<i64> {
    s.get("offsets_minutes").as_array().map(|a| a.iter().filter_map(|x| x.as_i64()).collect()).unwrap_or_default()
}

fn offset_of(job: &Job) -> Option<i64> {
    job.payload.get("offset_minutes").and_then(|v| v.as_i64())
}

/// Adds to a booking's or a move's change set the reminders of `after`: a booking gets one
/// job per offset whose time is still ahead; a move takes the pending ones along (each by its
/// own offset) and adds the offsets that had already run for the old time.
pub(crate) fn schedule(
    env: &Env,
    set: &mut ChangeSet,
    before: Option<&Appointment>,
    after: &Appointment,
    caller: &Caller,
) -> Result<()> {
    let moved = before.is_some_and(|b| b.start != after.start);
    if before.is_some() && !moved {
        return Ok(());
    }
    let s = env.settings(&Reminders)?;
    let now = env.now();
    let subject = format!("appointment:{}", after.id);
    let due = |offset: i64| after.start.saturating_sub(SignedDuration::from_mins(offset)).unwrap_or(after.start);
    let mut pending = Vec::new();
    if moved {
        for job in env.jobs.of_subject(&subject)? {
            if job.kind == KIND && job.state.cancellable() {
                pending.extend(offset_of(&job));
            }
        }
        env.jobs.reschedule_subject(
            set,
            &subject,
            |j| (j.kind == KIND).then(|| offset_of(j).map(due)).flatten(),
            caller,
        )?;
    }
    for offset in offsets(&s) {
        if pending.contains(&offset) || due(offset) <= now {
            continue;
        }
        env.schedule(
            set,
            KIND,
            serde_json::json!({ "appointment_id": after.id, "offset_minutes": offset }),
            due(offset),
            format!("{KIND}:{}:{offset}m:{}", after.id, after.sequence),
            subject.clone(),
            caller,
        )?;
    }
    Ok(())
}

/// The cancellation policy: may the client still cancel a visit starting at `start`?
pub(crate) fn may_cancel(env: &Env, start: Timestamp) -> Result<bool> {
    let s = env.settings(&Reminders)?;
    let notice = SignedDuration::from_hours(s.int("cancel_notice_hours"));
    Ok(env.now().saturating_add(notice).map_err(|e| ValidationError::new("cancel_notice_hours", e.to_string()))?
        <= start)
}

/// Future visits re-planned per change set when the offsets change (one change set per chunk
/// keeps each commit small while the calendar keeps booking).
const REOFFSET_CHUNK: usize = 200;

/// After staff changed `offsets_minutes` (the rule's row already committed with `stamp` as its
/// `updated_at`): every scheduled or confirmed appointment still ahead gets the reminders of
/// the new offsets. Per appointment: an offset no longer wanted has its pending job cancelled
/// (the subject's pending jobs are cancelled together, and the kept offsets' jobs added again;
/// when the subject has pending jobs of another kind, nothing is cancelled and the removed
/// offsets' jobs send nothing when they run, see `due_of_job`); a new offset whose time is
/// still ahead gets a job. New jobs are keyed with the change's stamp, so an offset removed
/// and added again gets a fresh job; the messages' own keys (visit, offset, start) keep a
/// reminder from going twice. Returns the appointments re-planned.
pub(crate) async fn reoffset(env: &Env, stamp: Timestamp, caller: &Caller) -> Result<usize> {
    let s = env.settings(&Reminders)?;
    let wanted = offsets(&s);
    let now = env.now();
    let ahead: Vec<Appointment> =
        env.all::<Appointment>(RecordTable::Appointments)?.into_iter().filter(|a| active(a) && a.start > now).collect();
    let mut replanned = 0;
    for chunk in ahead.chunks(REOFFSET_CHUNK) {
        let mut set = ChangeSet::new();
        for a in chunk {
            let subject = format!("appointment:{}", a.id);
            let due = |offset: i64| a.start.saturating_sub(SignedDuration::from_mins(offset)).unwrap_or(a.start);
            let open: Vec<Job> = env.jobs.of_subject(&subject)?.into_iter().filter(|j| j.state.cancellable()).collect();
            let pending: Vec<i64> = open.iter().filter(|j| j.kind == KIND).filter_map(offset_of).collect();
            let removed = pending.iter().any(|o| !wanted.contains(o));
            let mut add: Vec<i64> = wanted.iter().copied().filter(|o| due(*o) > now && !pending.contains(o)).collect();
            if !removed && add.is_empty() {
                continue;
            }
            if removed && open.iter().all(|j| j.kind == KIND) {
                env.jobs.cancel_subject(&mut set, &subject, caller)?;
                add.extend(pending.iter().copied().filter(|o| wanted.contains(o)));
            }
            add.sort_unstable();
            add.dedup();
            for offset in add {
                env.schedule(
                    &mut set,
                    KIND,
                    serde_json::json!({ "appointment_id": a.id, "offset_minutes": offset }),
                    due(offset),
                    format!("{KIND}:{}:{offset}m:{}:{}", a.id, a.sequence, stamp.as_millisecond()),
                    subject.clone(),
                    caller,
                )?;
            }
            replanned += 1;
        }
        if !set.is_empty() {
            env.ctx.store.commit(set).await?;
            env.jobs.wake();
        }
    }
    Ok(replanned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visit(start: &str, status: Status) -> Appointment {
        serde_json::from_value(serde_json::json!({
            "id": AppointmentId::from_u128(1), "location_id": clowder_schemas::LocationId::from_u128(2),
            "client_id": clowder_schemas::ClientId::from_u128(3), "patient_id": clowder_schemas::PatientId::from_u128(4),
            "type_id": clowder_schemas::AppointmentTypeId::from_u128(5), "vet_id": null, "room_id": null,
            "start": start, "end": "2026-03-10T15:30:00Z", "status": status, "reason": null, "notes": null,
            "times": {"confirmed_at": null, "checked_in_at": null, "started_at": null, "completed_at": null,
                      "cancelled_at": null, "no_show_at": null},
            "history": [], "cancelled_by": null, "cancel_reason": null,
            "source": "staff", "overbooked": false, "buffer_after_minutes": 0, "sequence": 0,
            "created_at": "2026-03-01T00:00:00Z", "updated_at": "2026-03-01T00:00:00Z", "created_by": null
        }))
        .unwrap()
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_reminder_goes_while_its_offset_is_set_the_visit_open_and_it_is_at_most_two_hours_late() {
        let a = visit("2026-03-10T15:00:00Z", Status::Scheduled);
        let offsets = [2880, 1440];
        // 24 h before: on time, and up to 2 h late.
        assert!(sendable(&offsets, 1440, &a, at("2026-03-09T15:00:00Z")));
        assert!(sendable(&offsets, 1440, &a, at("2026-03-09T17:00:00Z")));
        assert!(!sendable(&offsets, 1440, &a, at("2026-03-09T17:00:01Z")), "too late: the visit may be near");
        // An offset removed since the job was written sends nothing.
        assert!(!sendable(&[2880], 1440, &a, at("2026-03-09T15:00:00Z")));
        // A confirmed visit still gets it; a cancelled one does not.
        assert!(sendable(
            &offsets,
            1440,
            &visit("2026-03-10T15:00:00Z", Status::Confirmed),
            at("2026-03-09T15:00:00Z")
        ));
        assert!(!sendable(
            &offsets,
            1440,
            &visit("2026-03-10T15:00:00Z", Status::Cancelled),
            at("2026-03-09T15:00:00Z")
        ));
        // Never once the visit has started, however short the offset.
        assert!(sendable(&[30], 30, &a, at("2026-03-10T14:59:59Z")));
        assert!(!sendable(&[30], 30, &a, at("2026-03-10T15:00:00Z")));
    }
}
