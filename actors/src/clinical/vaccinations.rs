//! Vaccinations as a record kind: doses, refusals, due-date overrides and risk assessments
//! of a cat (`clowder_schemas::vaccinations`), each an entry of its own, linked under the cat
//! in `vaccinations_by_patient`; adverse reactions are added to a dose later. A deceased cat
//! gets no new entry; a vaccine must be one of the `vaccine_protocol` fact set in force, whose
//! version each entry records.
//!
//! Due dates are not stored: they are computed when read, from the cat's entries and the
//! protocol version in force ([`due_for`], [`due_by_patient`]), so a new protocol version
//! moves every due date at once and each date names the rule that produced it. The
//! vaccine-due automation (`comms::automations::vaccine_due`) reads them through
//! [`due_by_patient`].

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use clowder_schemas::appointments::{Appointment, Status};
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::clinical_facts::{FactSet, FactVersion, fact_set};
use clowder_schemas::events::DomainEvent;
use clowder_schemas::ids::{LocationId, VaccinationId};
use clowder_schemas::patients::{Patient, PatientStatus};
use clowder_schemas::vaccinations::{
    AddReaction, AssessRisk, CreateVaccination, DeclineVaccination, DueCat, DueItem, DueStatus, Entry, OverrideDue,
    PatientVaccinations, Vaccination, VaccinationDraft, due_list,
};
use clowder_schemas::vaccine_protocol::VaccineProtocol;
use clowder_schemas::{PatientId, ValidationError};
use jiff::civil::Date;

use super::facts;
use crate::error::{Error, Result};
use crate::records::{Claim, DecideCtx, Decision, Link, RecordKind, Records};
use crate::store::{IndexTable, Reader, RecordTable};

/// The vaccinations service: [`Records`] plus the verbs below.
pub type Vaccinations = Records<VaccinationKind>;

/// The vaccination record kind.
pub struct VaccinationKind;

/// A change to a vaccination entry.
#[derive(Debug)]
pub enum VaccinationCommand {
    /// An adverse reaction observed after a dose.
    AddReaction(AddReaction),
}

/// Which entries a list shows.
#[derive(Debug, Clone, Default)]
pub struct VaccinationFilter {
    pub patient_id: Option<PatientId>,
}

impl RecordKind for VaccinationKind {
    type Record = Vaccination;
    type Id = VaccinationId;
    type Draft = VaccinationDraft;
    type Command = VaccinationCommand;
    type Filter = VaccinationFilter;

    const KIND: &'static str = "vaccination";
    const TABLE: RecordTable = RecordTable::Vaccinations;
    const READ_ACTION: &'static str = "vaccination.read";
    const LIST_ACTION: &'static str = "vaccination.list";

    fn id(v: &Vaccination) -> VaccinationId {
        v.id
    }

    fn not_found(id: VaccinationId) -> Error {
        Error::VaccinationNotFound(id)
    }

    fn claims(_: &Vaccination) -> impl Iterator<Item = Claim<'_>> {
        std::iter::empty()
    }

    fn links(v: &Vaccination) -> impl Iterator<Item = Link> {
        std::iter::once(Link { index: IndexTable::VaccinationsByPatient, parent: v.patient_id.as_u128() })
    }

    fn matches(f: &VaccinationFilter, v: &Vaccination) -> bool {
        f.patient_id.is_none_or(|p| p == v.patient_id)
    }

    fn list_via(f: &VaccinationFilter) -> Option<Link> {
        f.patient_id.map(|p| Link { index: IndexTable::VaccinationsByPatient, parent: p.as_u128() })
    }

    fn decide_create(ctx: &DecideCtx<'_>, id: VaccinationId, d: VaccinationDraft) -> Result<Decision<Vaccination>> {
        decide_create(ctx, id, d)
    }

    fn decide(
        ctx: &DecideCtx<'_>,
        current: &Vaccination,
        command: VaccinationCommand,
    ) -> Result<Option<Decision<Vaccination>>> {
        match command {
            VaccinationCommand::AddReaction(body) => decide_reaction(ctx, current, &body).map(Some),
        }
    }
}

/// A new entry for a living cat on file, naming a vaccine of the protocol in force; a dose is
/// not dated before the cat's birth and names its label duration when the vaccine needs one.
pub fn decide_create(ctx: &DecideCtx<'_>, id: VaccinationId, d: VaccinationDraft) -> Result<Decision<Vaccination>> {
    let patient = ctx
        .get::<Patient>(RecordTable::Patients, d.patient_id.as_u128())?
        .ok_or(Error::PatientNotFound(d.patient_id))?;
    if patient.status == PatientStatus::Deceased {
        return Err(
            ValidationError::new("patient_id", "the cat is deceased: no new vaccination can be recorded").into()
        );
    }
    let (protocol_version, protocol) = facts::current::<VaccineProtocol>(ctx)?;
    let Some(spec) = protocol.vaccine(&d.vaccine) else {
        let known: Vec<&str> = protocol.vaccines.iter().map(|v| v.code.as_str()).collect();
        return Err(ValidationError::new(
            "vaccine",
            format!("is not a vaccine of the protocol ({})", known.join(", ")),
        )
        .into());
    };
    if let Entry::Dose(dose) = &d.entry {
        if patient.date_of_birth.is_some_and(|b| dose.given_on < b) {
            return Err(ValidationError::new("given_on", "is before the cat's date of birth").into());
        }
        if spec.label_duration && dose.label_years.is_none() {
            return Err(ValidationError::new(
                "label_years",
                format!("is required for {}: the product label's duration (1 or 3 years)", spec.name),
            )
            .into());
        }
    }
    if let Entry::Declined { on, .. } = &d.entry
        && patient.date_of_birth.is_some_and(|b| *on < b)
    {
        return Err(ValidationError::new("declined_on", "is before the cat's date of birth").into());
    }
    let mut entry = d.entry;
    if let Entry::Dose(dose) = &mut entry {
        dose.given_by = dose.given_by.or(ctx.caller.user_id());
    }
    let record = Vaccination {
        id,
        patient_id: d.patient_id,
        visit_id: d.visit_id,
        vaccine: d.vaccine,
        entry,
        reactions: Vec::new(),
        protocol_version,
        created_at: ctx.now,
        updated_at: ctx.now,
        created_by: ctx.caller.user_id(),
    };
    let action = match record.entry {
        Entry::Dose(_) => "vaccination.create",
        Entry::Declined { .. } => "vaccination.decline",
        Entry::DueOverride { .. } => "vaccination.override",
        Entry::Risk { .. } => "vaccination.risk",
    };
    Ok(Decision {
        event: DomainEvent::VaccinationRecorded { vaccination_id: id, patient_id: record.patient_id },
        record,
        changed: Vec::new(),
        action,
    })
}

/// A reaction is added to a dose (never to a refusal or an override).
pub fn decide_reaction(
    ctx: &DecideCtx<'_>,
    current: &Vaccination,
    body: &AddReaction,
) -> Result<Decision<Vaccination>> {
    if !matches!(current.entry, Entry::Dose(_)) {
        return Err(ValidationError::new("id", "is not a dose: reactions are recorded on the dose given").into());
    }
    let reaction = body.validate(ctx.now, ctx.caller.user_id())?;
    let mut new = current.clone();
    new.reactions.push(reaction);
    new.updated_at = ctx.now;
    Ok(Decision {
        event: DomainEvent::VaccinationUpdated {
            vaccination_id: new.id,
            patient_id: new.patient_id,
            changed: vec!["reactions".into()],
        },
        record: new,
        changed: vec!["reactions"],
        action: "vaccination.reaction",
    })
}

/// The protocol in force as `reader` sees it, with its version (the compiled-in version 1
/// before the first start's seeding, as [`facts::current`]).
pub fn protocol(reader: &Reader) -> Result<(u32, VaccineProtocol)> {
    let stored = reader.get::<FactVersion>(RecordTable::ClinicalFacts, facts::key(VaccineProtocol::KEY, 0))?;
    let (version, body) = match stored {
        Some(v) => (v.version, v.body),
        None => {
            let info =
                fact_set(VaccineProtocol::NAME).ok_or_else(|| Error::FactSetNotFound(VaccineProtocol::NAME.into()))?;
            (1, info.first_version().map_err(Error::Validation)?.1)
        }
    };
    let p = serde_json::from_value(body).map_err(|e| Error::Validation(ValidationError::new("body", e.to_string())))?;
    Ok((version, p))
}

/// A cat's entries, oldest first.
pub fn entries_of(reader: &Reader, patient: PatientId) -> Result<Vec<Vaccination>> {
    let mut out = Vec::new();
    for id in reader.children(IndexTable::VaccinationsByPatient, patient.as_u128(), None)? {
        if let Some(v) = reader.get::<Vaccination>(RecordTable::Vaccinations, id)? {
            out.push(v);
        }
    }
    Ok(out)
}

/// A cat's due list on local date `today` (empty for a deceased cat).
pub fn due_for(
    reader: &Reader,
    patient: &Patient,
    entries: &[Vaccination],
    today: Date,
) -> Result<(u32, Vec<DueItem>)> {
    let (version, p) = protocol(reader)?;
    if patient.status == PatientStatus::Deceased {
        return Ok((version, Vec::new()));
    }
    Ok((version, due_list(&p, version, patient.date_of_birth, entries, today)))
}

/// Every active cat with its due list on `today`, in patient id order (one walk of the
/// patients and one of the vaccinations). Deceased and inactive cats are left out.
pub fn due_by_patient(reader: &Reader, today: Date) -> Result<Vec<(Patient, Vec<DueItem>)>> {
    let (version, p) = protocol(reader)?;
    let mut entries: BTreeMap<PatientId, Vec<Vaccination>> = BTreeMap::new();
    reader.scan::<Vaccination>(RecordTable::Vaccinations, None, |v| {
        entries.entry(v.patient_id).or_default().push(v);
        ControlFlow::Continue(())
    })?;
    let mut out = Vec::new();
    reader.scan::<Patient>(RecordTable::Patients, None, |pt| {
        if pt.status == PatientStatus::Active {
            let mine = entries.get(&pt.id).map(Vec::as_slice).unwrap_or_default();
            let items = due_list(&p, version, pt.date_of_birth, mine, today);
            out.push((pt, items));
        }
        ControlFlow::Continue(())
    })?;
    Ok(out)
}

/// Each cat's location: where its last appointment (started by `now`, not cancelled) was,
/// else its first upcoming one.
fn locations(reader: &Reader, now: jiff::Timestamp) -> Result<BTreeMap<PatientId, LocationId>> {
    let mut best: BTreeMap<PatientId, (bool, jiff::Timestamp, LocationId)> = BTreeMap::new();
    reader.scan::<Appointment>(RecordTable::Appointments, None, |a| {
        if a.status != Status::Cancelled {
            let past = a.start <= now;
            let e = best.entry(a.patient_id).or_insert((past, a.start, a.location_id));
            // A past one beats any upcoming; among past the latest, among upcoming the first.
            let better = (past && !e.0) || (past == e.0 && if past { a.start > e.1 } else { a.start < e.1 });
            if better {
                *e = (past, a.start, a.location_id);
            }
        }
        ControlFlow::Continue(())
    })?;
    Ok(best.into_iter().map(|(p, (_, _, l))| (p, l)).collect())
}

/// What `GET /api/vaccinations/due` lists.
#[derive(Debug, Clone, Default)]
pub struct DueFilter {
    pub location_id: Option<LocationId>,
    pub from: Option<Date>,
    pub to: Option<Date>,
    /// Only this status (`Due` or `Overdue`); both when `None`.
    pub status: Option<DueStatus>,
}

impl DueFilter {
    fn keeps(&self, i: &DueItem) -> bool {
        let Some(d) = i.due_on else { return false };
        matches!(i.status, DueStatus::Due | DueStatus::Overdue)
            && self.status.is_none_or(|s| s == i.status)
            && self.from.is_none_or(|f| d >= f)
            && self.to.is_none_or(|t| d <= t)
    }
}

impl Vaccinations {
    /// Records a dose (see [`decide_create`]). Its id carries the day it was given
    /// (noon of that day in the clinic's zone; now for today's), so a dose entered later sorts by
    /// when it happened.
    pub async fn record_dose(&self, body: CreateVaccination, today: Date, caller: &Caller) -> Result<Vaccination> {
        let draft = body.validate(today)?;
        let on = match &draft.entry {
            Entry::Dose(d) => d.given_on,
            _ => today,
        };
        self.create_at(self.happened_at(on, today), draft, caller).await
    }

    /// Records that the owner declined a vaccine; its id carries the day of the refusal.
    pub async fn decline(&self, body: DeclineVaccination, today: Date, caller: &Caller) -> Result<Vaccination> {
        let draft = body.validate(today)?;
        let on = match &draft.entry {
            Entry::Declined { on, .. } => *on,
            _ => today,
        };
        self.create_at(self.happened_at(on, today), draft, caller).await
    }

    /// The instant an entry of local day `on` is filed under: now for today's, else noon of
    /// that day in the clinic's zone (a day has no time; noon keeps it inside the day
    /// whatever the offset, and after that morning's visit is usually opened).
    fn happened_at(&self, on: Date, today: Date) -> jiff::Timestamp {
        let ctx = self.ctx_ref();
        if on >= today {
            return ctx.clock.now();
        }
        on.at(12, 0, 0, 0)
            .to_zoned(ctx.config.time_zone.clone())
            .map(|z| z.timestamp())
            .unwrap_or_else(|_| ctx.clock.now())
    }

    /// Overrides a cat's next due date of a vaccine, with a reason.
    pub async fn override_due(&self, patient: PatientId, body: OverrideDue, caller: &Caller) -> Result<Vaccination> {
        self.create(body.validate(patient)?, caller).await
    }

    /// Records whether a cat is at risk for a vaccine.
    pub async fn assess_risk(&self, patient: PatientId, body: AssessRisk, caller: &Caller) -> Result<Vaccination> {
        self.create(body.validate(patient)?, caller).await
    }

    /// Adds an adverse reaction to a dose.
    pub async fn add_reaction(&self, id: VaccinationId, body: AddReaction, caller: &Caller) -> Result<Vaccination> {
        self.command(id, VaccinationCommand::AddReaction(body), caller).await
    }

    /// A cat's entries (newest first) and its due list on `today`; audited as
    /// `vaccination.list` with the ids shown.
    pub async fn for_patient(&self, patient: PatientId, today: Date, caller: &Caller) -> Result<PatientVaccinations> {
        let reader = self.ctx_ref().store.read()?;
        let p =
            reader.get::<Patient>(RecordTable::Patients, patient.as_u128())?.ok_or(Error::PatientNotFound(patient))?;
        let mut entries = entries_of(&reader, patient)?;
        let (version, protocol) = protocol(&reader)?;
        let due = match p.status {
            PatientStatus::Deceased => Vec::new(),
            _ => due_list(&protocol, version, p.date_of_birth, &entries, today),
        };
        entries.reverse();
        let ids: Vec<String> = entries.iter().map(|v| v.id.to_string()).collect();
        crate::audit::record_read(
            self.ctx_ref(),
            AuditDraft::new(caller, "vaccination.list")
                .record("patient", patient.to_string())
                .detail(serde_json::json!({ "ids": ids, "due": true })),
        )
        .await?;
        Ok(PatientVaccinations {
            patient_id: patient,
            entries,
            due,
            protocol: protocol.name,
            protocol_version: version,
        })
    }

    /// One page of the clinic's due list (cats in id order after `after`); audited as
    /// `vaccination.due_list` with the cats shown.
    pub async fn due(
        &self,
        filter: &DueFilter,
        today: Date,
        after: Option<u128>,
        limit: usize,
        caller: &Caller,
    ) -> Result<(Vec<DueCat>, Option<u128>)> {
        let reader = self.ctx_ref().store.read()?;
        let places = locations(&reader, self.ctx_ref().clock.now())?;
        let mut cats = Vec::new();
        let mut next = None;
        for (p, items) in due_by_patient(&reader, today)? {
            if after.is_some_and(|a| p.id.as_u128() <= a) {
                continue;
            }
            let location_id = places.get(&p.id).copied();
            if filter.location_id.is_some_and(|l| location_id != Some(l)) {
                continue;
            }
            let items: Vec<DueItem> = items.into_iter().filter(|i| filter.keeps(i)).collect();
            if items.is_empty() {
                continue;
            }
            if cats.len() == limit {
                next = cats.last().map(|c: &DueCat| c.patient_id.as_u128());
                break;
            }
            cats.push(DueCat { patient_id: p.id, patient_name: p.name, client_id: p.client_id, location_id, items });
        }
        let ids: Vec<String> = cats.iter().map(|c| c.patient_id.to_string()).collect();
        crate::audit::record_read(
            self.ctx_ref(),
            AuditDraft::new(caller, "vaccination.due_list").detail(serde_json::json!({ "patients": ids })),
        )
        .await?;
        Ok((cats, next))
    }
}

#[cfg(test)]
mod tests {
    use clowder_schemas::ClientId;
    use clowder_schemas::vaccinations::{CreateVaccination, DeclineVaccination};
    use jiff::civil::date;

    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;
    use crate::ctx::SystemConfig;
    use crate::metrics::StoreMetrics;
    use crate::store::{ChangeSet, Store, StoreConfig};

    fn cat(status: PatientStatus) -> Patient {
        let now: jiff::Timestamp = "2026-05-01T10:00:00Z".parse().unwrap();
        Patient {
            id: PatientId::from_u128(7),
            client_id: ClientId::from_u128(1),
            name: "Mochi".into(),
            breed: None,
            color: None,
            sex: None,
            reproductive_status: None,
            date_of_birth: Some(date(2026, 1, 1)),
            date_of_birth_estimated: false,
            microchip: None,
            allergies: Vec::new(),
            behavior_notes: None,
            handling: Default::default(),
            insurance: None,
            status,
            deceased_on: None,
            created_at: now,
            updated_at: now,
            created_by: None,
        }
    }

    async fn store_with(dir: &std::path::Path, p: &Patient) -> Arc<Store> {
        let config = StoreConfig {
            path: dir.join("clowder.redb"),
            clinic_id: "test".into(),
            cache_bytes: 8 << 20,
            journal: None,
        };
        let at = jiff::Timestamp::from_second(1_000).unwrap();
        let store = Store::open(&config, Arc::new(ManualClock::new(at)), StoreMetrics::default()).unwrap();
        let mut set = ChangeSet::new();
        set.put(RecordTable::Patients, p.id.as_u128(), p).unwrap();
        store.commit(set).await.unwrap();
        store
    }

    fn dose(given_on: &str, vaccine: &str, label_years: Option<u8>) -> VaccinationDraft {
        CreateVaccination {
            patient_id: PatientId::from_u128(7),
            visit_id: None,
            vaccine: vaccine.into(),
            product: "Purevax".into(),
            manufacturer: None,
            lot: "L1".into(),
            serial: None,
            expiry: None,
            given_on: Some(given_on.parse().unwrap()),
            route: None,
            site: None,
            given_by: None,
            label_years,
            note: None,
        }
        .validate(date(2026, 5, 1))
        .unwrap()
    }

    fn field(e: Error) -> String {
        match e {
            Error::Validation(v) => v.field,
            e => panic!("{e:?}"),
        }
    }

    #[tokio::test]
    async fn doses_are_checked_against_the_cat_and_the_protocol() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with(dir.path(), &cat(PatientStatus::Active)).await;
        let settings = SystemConfig::new("unused");
        let caller = Caller::system();
        let ctx = DecideCtx::new("2026-05-01T10:00:00Z".parse().unwrap(), &settings, &caller, Some(&store));
        let id = VaccinationId::from_u128(1);
        assert_eq!(field(decide_create(&ctx, id, dose("2025-12-31", "fvrcp", None)).unwrap_err()), "given_on");
        assert_eq!(field(decide_create(&ctx, id, dose("2026-04-01", "smallpox", None)).unwrap_err()), "vaccine");
        assert_eq!(field(decide_create(&ctx, id, dose("2026-04-01", "rabies", None)).unwrap_err()), "label_years");
        let d = decide_create(&ctx, id, dose("2026-04-01", "rabies", Some(3))).unwrap();
        assert_eq!((d.record.protocol_version, d.action), (1, "vaccination.create"));
        let declined = DeclineVaccination {
            patient_id: PatientId::from_u128(7),
            visit_id: None,
            vaccine: "felv".into(),
            reason: "indoor only".into(),
            declined_on: None,
        };
        let d = decide_create(&ctx, id, declined.validate(date(2026, 5, 1)).unwrap()).unwrap();
        assert_eq!(d.action, "vaccination.decline");
        let early = DeclineVaccination { declined_on: Some(date(2025, 12, 1)), ..declined };
        let e = decide_create(&ctx, id, early.validate(date(2026, 5, 1)).unwrap()).unwrap_err();
        assert_eq!(field(e), "declined_on");
    }

    #[tokio::test]
    async fn a_deceased_cat_gets_no_new_dose() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with(dir.path(), &cat(PatientStatus::Deceased)).await;
        let settings = SystemConfig::new("unused");
        let caller = Caller::system();
        let ctx = DecideCtx::new("2026-05-01T10:00:00Z".parse().unwrap(), &settings, &caller, Some(&store));
        let e = decide_create(&ctx, VaccinationId::from_u128(1), dose("2026-04-01", "fvrcp", None)).unwrap_err();
        assert_eq!(field(e), "patient_id");
    }

    #[test]
    fn reactions_go_on_doses_only() {
        let settings = SystemConfig::new("unused");
        let caller = Caller::system();
        let now = "2026-05-01T10:00:00Z".parse().unwrap();
        let ctx = DecideCtx::new(now, &settings, &caller, None);
        let mut v = Vaccination {
            id: VaccinationId::from_u128(1),
            patient_id: PatientId::from_u128(7),
            visit_id: None,
            vaccine: "fvrcp".into(),
            entry: Entry::Risk { at_risk: true, note: None },
            reactions: Vec::new(),
            protocol_version: 1,
            created_at: now,
            updated_at: now,
            created_by: None,
        };
        let body = AddReaction {
            observed_at: None,
            signs: "facial swelling".into(),
            severity: clowder_schemas::vaccinations::Severity::Moderate,
            treatment: None,
        };
        assert_eq!(field(decide_reaction(&ctx, &v, &body).unwrap_err()), "id");
        v.entry = dose("2026-04-01", "fvrcp", None).entry;
        let d = decide_reaction(&ctx, &v, &body).unwrap();
        assert_eq!(d.record.reactions.len(), 1);
    }
}
