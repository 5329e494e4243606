//! A cat's timeline: every clinical entry, newest first, in cursor pages.
//!
//! Each clinical kind is a [`TimelineSource`] reading its own per-patient index newest first
//! (`visits_by_patient`, `notes_by_patient`, `vitals_by_patient`, `problems_by_patient`,
//! `vaccinations_by_patient`, and `prescriptions_by_patient` for readers who may see
//! prescriptions). A page asks every source's index for at most `limit + 1` keys below the
//! cursor, merges them by key and reads only the page's records: record ids are ULIDs, so key order is time order
//! across kinds, and the cursor is the last entry's key. Adding a kind is one variant of
//! `TimelineEntry`, one `IndexSource` constant here and one line in `SOURCES`. The page is audited
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
    /// Up to `limit` keys (record ids) of the cat's entries below `before`, newest first: the
    /// index alone, no record read.
    fn keys(&self, r: &Reader, patient: PatientId, before: Option<u128>, limit: usize) -> Result<Vec<u128>>;

    /// The entry of the record at `key`, if it is still there.
    fn entry(&self, r: &Reader, key: u128) -> Result<Option<TimelineEntry>>;
}

/// A kind whose records sit under the cat in a per-patient index: the index, the table, and
/// how a record reads as an entry. Every clinical kind is one of these.
pub struct IndexSource<R> {
    index: IndexTable,
    table: RecordTable,
    entry: fn(R) -> TimelineEntry,
}

impl<R: clowder_schemas::records::Record> TimelineSource for IndexSource<R> {
    fn keys(&self, r: &Reader, patient: PatientId, before: Option<u128>, limit: usize) -> Result<Vec<u128>> {
        let mut keys = Vec::with_capacity(limit);
        if limit == 0 {
            return Ok(keys);
        }
        r.children_rev(self.index, patient.as_u128(), before, |key| {
            keys.push(key);
            Ok(if keys.len() >= limit { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
        })?;
        Ok(keys)
    }

    fn entry(&self, r: &Reader, key: u128) -> Result<Option<TimelineEntry>> {
        Ok(r.get::<R>(self.table, key)?.map(self.entry))
    }
}

const VISITS: IndexSource<Visit> = IndexSource {
    index: IndexTable::VisitsByPatient,
    table: RecordTable::Visits,
    entry: |v| TimelineEntry::Visit {
        at: v.opened_at,
        visit_id: v.id,
        visit_type: v.visit_type,
        status: v.status,
        vet_id: v.vet_id,
        chief_complaint: v.chief_complaint,
    },
};

const NOTES: IndexSource<Note> = IndexSource {
    index: IndexTable::NotesByPatient,
    table: RecordTable::Notes,
    entry: |n| TimelineEntry::Note {
        at: n.signed_at,
        note_id: n.id,
        visit_id: n.visit_id,
        signed_by: n.signed_by,
        addenda: n.addenda.len() as u32,
    },
};

const VITALS: IndexSource<VitalsRecord> = IndexSource {
    index: IndexTable::VitalsByPatient,
    table: RecordTable::Vitals,
    entry: |v| TimelineEntry::Vitals {
        at: v.taken_at,
        vitals_id: v.id,
        visit_id: v.visit_id,
        weight_kg: v.measurements.weight_kg,
        flagged: v.flags.len() as u32,
    },
};

const PROBLEMS: IndexSource<Problem> = IndexSource {
    index: IndexTable::ProblemsByPatient,
    table: RecordTable::Problems,
    entry: |p| TimelineEntry::Problem {
        at: p.created_at,
        problem_id: p.id,
        name: p.name,
        kind: p.kind,
        status: p.status,
    },
};

const PRESCRIPTIONS: IndexSource<Prescription> = IndexSource {
    index: IndexTable::PrescriptionsByPatient,
    table: RecordTable::Prescriptions,
    entry: |rx| TimelineEntry::Prescription {
        at: rx.created_at,
        prescription_id: rx.id,
        visit_id: rx.visit_id,
        drug_name: rx.drug_name,
        status: rx.status,
    },
};

const VACCINATIONS: IndexSource<Vaccination> =
    IndexSource { index: IndexTable::VaccinationsByPatient, table: RecordTable::Vaccinations, entry: vaccination };

fn vaccination(v: Vaccination) -> TimelineEntry {
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
}

/// The sources every reader of the timeline sees (`visits:view`).
const SOURCES: &[&dyn TimelineSource] = &[&VISITS, &NOTES, &VITALS, &PROBLEMS, &VACCINATIONS];
/// The sources with prescriptions, for readers who also hold `prescriptions:view` (a tech
/// reads the record but not the prescriptions).
const WITH_PRESCRIPTIONS: &[&dyn TimelineSource] =
    &[&VISITS, &NOTES, &VITALS, &PROBLEMS, &VACCINATIONS, &PRESCRIPTIONS];

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
        let (items, next) = merge(&r, sources(with_prescriptions), patient, before, limit)?;
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

/// Merges the sources' newest entries into one page (keys descending). The sources' indexes
/// are merged by key first and only the page's records are read (`limit + 1` at most, not
/// `limit + 1` of every source).
pub(crate) fn merge(
    r: &Reader,
    sources: &[&dyn TimelineSource],
    patient: PatientId,
    before: Option<u128>,
    limit: usize,
) -> Result<Page<(u128, TimelineEntry)>> {
    let mut keys: Vec<(u128, usize)> = Vec::new();
    for (i, s) in sources.iter().enumerate() {
        keys.extend(s.keys(r, patient, before, limit + 1)?.into_iter().map(|k| (k, i)));
    }
    keys.sort_unstable_by_key(|e| std::cmp::Reverse(e.0));
    let mut all = Vec::with_capacity(limit + 1);
    for (key, i) in keys {
        if all.len() > limit {
            break;
        }
        // A dangling index row (none is written, but a read must not fail on one) is skipped.
        if let Some(entry) = sources[i].entry(r, key)? {
            all.push((key, entry));
        }
    }
    Ok(cut(all, limit, |(k, _)| *k))
}

/// The sources a reader sees: with prescriptions or without.
pub(crate) fn sources(with_prescriptions: bool) -> &'static [&'static dyn TimelineSource] {
    if with_prescriptions { WITH_PRESCRIPTIONS } else { SOURCES }
}
