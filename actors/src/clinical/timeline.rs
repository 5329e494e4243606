//! A cat's timeline: every clinical entry, newest first, in cursor pages.
//!
//! Each clinical kind is a [`TimelineSource`] reading its own per-patient index newest first
//! (`visits_by_patient`, `notes_by_patient`, `vitals_by_patient`, `problems_by_patient`,
//! `vaccinations_by_patient`, and `prescriptions_by_patient` for readers who may see
//! prescriptions). A page asks every source for at most `limit + 1` entries
//! below the cursor and merges them by key: record ids are ULIDs, so key order is time order
//! across kinds, and the cursor is the last entry's key. Adding a kind is one variant of
//! `TimelineEntry`, one source here and one line in `SOURCES`. The page is audited
//! (`patient.timeline`, with the entries shown) before it is returned.

use std::ops::ControlFlow;
use std::sync::Arc;

use clowder_schemas::PatientId;
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::notes::Note;
use clowder_schemas::patients::Patient;
use clowder_schemas::prescriptions::Prescription;
use clowder_schemas::problems::Problem;
use clowder_schemas::vaccinations::{Entry, Vaccination};
use clowder_schemas::visits::{TimelineEntry, Visit};
use clowder_schemas::vitals::Vitals as VitalsRecord;

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::records::page::{Page, cut};
use crate::store::{IndexTable, Reader, RecordTable};

/// One kind of entry of the timeline.
pub trait TimelineSource: Send + Sync {
    /// Up to `limit` of the cat's entries with keys below `before`, newest first, each with
    /// its key (the record's id).
    fn entries(
        &self,
        r: &Reader,
        patient: PatientId,
        before: Option<u128>,
        limit: usize,
    ) -> Result<Vec<(u128, TimelineEntry)>>;
}

/// Reads `index` under the cat newest first and turns each record into an entry.
fn from_index<R: clowder_schemas::records::Record>(
    r: &Reader,
    (index, table): (IndexTable, RecordTable),
    patient: PatientId,
    before: Option<u128>,
    limit: usize,
    entry: impl Fn(R) -> TimelineEntry,
) -> Result<Vec<(u128, TimelineEntry)>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let mut keys = Vec::with_capacity(limit);
    r.children_rev(index, patient.as_u128(), before, |key| {
        keys.push(key);
        Ok(if keys.len() >= limit { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
    })?;
    let mut out = Vec::new();
    for key in keys {
        if let Some(rec) = r.get::<R>(table, key)? {
            out.push((key, entry(rec)));
        }
    }
    Ok(out)
}

struct Visits;

impl TimelineSource for Visits {
    fn entries(
        &self,
        r: &Reader,
        p: PatientId,
        before: Option<u128>,
        limit: usize,
    ) -> Result<Vec<(u128, TimelineEntry)>> {
        from_index(r, (IndexTable::VisitsByPatient, RecordTable::Visits), p, before, limit, |v: Visit| {
            TimelineEntry::Visit {
                at: v.opened_at,
                visit_id: v.id,
                visit_type: v.visit_type,
                status: v.status,
                vet_id: v.vet_id,
                chief_complaint: v.chief_complaint,
            }
        })
    }
}

struct Notes;

impl TimelineSource for Notes {
    fn entries(
        &self,
        r: &Reader,
        p: PatientId,
        before: Option<u128>,
        limit: usize,
    ) -> Result<Vec<(u128, TimelineEntry)>> {
        from_index(r, (IndexTable::NotesByPatient, RecordTable::Notes), p, before, limit, |n: Note| {
            TimelineEntry::Note {
                at: n.signed_at,
                note_id: n.id,
                visit_id: n.visit_id,
                signed_by: n.signed_by,
                addenda: n.addenda.len() as u32,
            }
        })
    }
}

struct Vitals;

impl TimelineSource for Vitals {
    fn entries(
        &self,
        r: &Reader,
        p: PatientId,
        before: Option<u128>,
        limit: usize,
    ) -> Result<Vec<(u128, TimelineEntry)>> {
        from_index(r, (IndexTable::VitalsByPatient, RecordTable::Vitals), p, before, limit, |v: VitalsRecord| {
            TimelineEntry::Vitals {
                at: v.taken_at,
                vitals_id: v.id,
                visit_id: v.visit_id,
                weight_kg: v.measurements.weight_kg,
                flagged: v.flags.len() as u32,
            }
        })
    }
}

struct Problems;

impl TimelineSource for Problems {
    fn entries(
        &self,
        r: &Reader,
        p: PatientId,
        before: Option<u128>,
        limit: usize,
    ) -> Result<Vec<(u128, TimelineEntry)>> {
        from_index(r, (IndexTable::ProblemsByPatient, RecordTable::Problems), p, before, limit, |pr: Problem| {
            TimelineEntry::Problem {
                at: pr.created_at,
                problem_id: pr.id,
                name: pr.name,
                kind: pr.kind,
                status: pr.status,
            }
        })
    }
}

struct Prescriptions;

impl TimelineSource for Prescriptions {
    fn entries(
        &self,
        r: &Reader,
        p: PatientId,
        before: Option<u128>,
        limit: usize,
    ) -> Result<Vec<(u128, TimelineEntry)>> {
        let index = (IndexTable::PrescriptionsByPatient, RecordTable::Prescriptions);
        from_index(r, index, p, before, limit, |rx: Prescription| TimelineEntry::Prescription {
            at: rx.created_at,
            prescription_id: rx.id,
            visit_id: rx.visit_id,
            drug_name: rx.drug_name,
            status: rx.status,
        })
    }
}

struct Vaccinations;

impl TimelineSource for Vaccinations {
    fn entries(
        &self,
        r: &Reader,
        p: PatientId,
        before: Option<u128>,
        limit: usize,
    ) -> Result<Vec<(u128, TimelineEntry)>> {
        let index = (IndexTable::VaccinationsByPatient, RecordTable::Vaccinations);
        from_index(r, index, p, before, limit, |v: Vaccination| {
            let (given_on, product) = match &v.entry {
                Entry::Dose(d) => (Some(d.given_on), Some(d.product.clone())),
                _ => (None, None),
            };
            TimelineEntry::Vaccination {
                // The id's time: the day a dose was given or a refusal made (see
                // `Vaccinations::record_dose`), not when it was typed in.
                at: jiff::Timestamp::from_millisecond(v.id.ulid().timestamp_ms() as i64).unwrap_or(v.created_at),
                vaccination_id: v.id,
                visit_id: v.visit_id,
                entry: v.entry.kind().to_owned(),
                vaccine: v.vaccine,
                given_on,
                product,
                reactions: v.reactions.len() as u32,
            }
        })
    }
}

/// The sources every reader of the timeline sees (`visits:view`).
const SOURCES: &[&dyn TimelineSource] = &[&Visits, &Notes, &Vitals, &Problems, &Vaccinations];
/// The sources with prescriptions, for readers who also hold `prescriptions:view` (a tech
/// reads the record but not the prescriptions).
const WITH_PRESCRIPTIONS: &[&dyn TimelineSource] =
    &[&Visits, &Notes, &Vitals, &Problems, &Vaccinations, &Prescriptions];

/// The timeline service.
#[derive(Clone)]
pub struct Timeline {
    ctx: Arc<Ctx>,
}

impl Timeline {
    pub(crate) fn new(ctx: Arc<Ctx>) -> Self {
        Self { ctx }
    }

    /// One page of the cat's timeline, newest first, older than `before` (a cursor's key).
    pub async fn page(
        &self,
        patient: PatientId,
        before: Option<u128>,
        limit: usize,
        with_prescriptions: bool,
        caller: &Caller,
    ) -> Result<Page<TimelineEntry>> {
        let r = self.ctx.store.read()?;
        if r.get::<Patient>(RecordTable::Patients, patient.as_u128())?.is_none() {
            return Err(Error::PatientNotFound(patient));
        }
        let sources = if with_prescriptions { WITH_PRESCRIPTIONS } else { SOURCES };
        let (items, next) = merge(&r, sources, patient, before, limit)?;
        drop(r);
        let shown: Vec<String> = items.iter().map(|(k, _)| ulid::Ulid(*k).to_string()).collect();
        crate::audit::record_read(
            &self.ctx,
            AuditDraft::new(caller, "patient.timeline")
                .record("patient", patient)
                .detail(serde_json::json!({ "ids": shown })),
        )
        .await?;
        Ok((items.into_iter().map(|(_, e)| e).collect(), next))
    }
}

/// Merges the sources' newest entries into one page (keys descending).
fn merge(
    r: &Reader,
    sources: &[&dyn TimelineSource],
    patient: PatientId,
    before: Option<u128>,
    limit: usize,
) -> Result<Page<(u128, TimelineEntry)>> {
    let mut all = Vec::new();
    for s in sources {
        all.extend(s.entries(r, patient, before, limit + 1)?);
    }
    all.sort_unstable_by_key(|e| std::cmp::Reverse(e.0));
    all.truncate(limit + 1);
    Ok(cut(all, limit, |(k, _)| *k))
}
