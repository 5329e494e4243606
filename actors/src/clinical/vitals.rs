//! Vital signs as a record kind: taking them (never of a deceased cat, never in the future),
//! flagging values outside the normal feline ranges of the current `vital_ranges` fact set
//! (its version recorded on the record), and correcting them by amendment: a reason, the
//! corrected measurements whole, and the values they replace kept on the record. Nothing is
//! edited silently and nothing is deleted.
//!
//! A record's id carries the time the vitals were *taken* (its ULID's time part), so a cat's
//! `vitals_by_patient` index read backwards is its history newest first, and the weight
//! history and the timeline page through it without sorting.

use clowder_schemas::audit::Caller;
use clowder_schemas::events::DomainEvent;
use clowder_schemas::patients::{Patient, PatientStatus};
use clowder_schemas::vitals::{
    AmendVitals, Amendment, CreateVitals, MeasurementsInput, VitalRanges, Vitals, WeightPoint, changed_measurements,
};
use clowder_schemas::{PatientId, UserId, ValidationError};
use jiff::{SignedDuration, Timestamp};

use super::facts;
use crate::error::{Error, Result};
use crate::records::page::Page;
use crate::records::{Claim, DecideCtx, Decision, Link, RecordKind, Records};
use crate::store::{IndexTable, RecordTable};

/// How far ahead of the server's clock `taken_at` may be (a tablet's clock runs a little fast).
pub const FUTURE_SKEW: SignedDuration = SignedDuration::from_mins(5);

/// The vitals service: [`Records`] plus [`VitalsService::record`], [`VitalsService::amend`],
/// [`VitalsService::list_for_patient`] and [`VitalsService::weights`].
pub type VitalsService = Records<VitalsKind>;

/// The vitals record kind.
pub struct VitalsKind;

/// What a new vitals record is made of: the body, with `taken_at` and `taken_by` resolved.
#[derive(Debug, Clone)]
pub struct VitalsDraft {
    pub patient_id: PatientId,
    pub visit_id: Option<clowder_schemas::ids::VisitId>,
    pub taken_at: Timestamp,
    pub taken_by: Option<UserId>,
    pub measurements: MeasurementsInput,
}

/// A change to a vitals record.
#[derive(Debug)]
pub enum VitalsCommand {
    /// The corrected measurements, whole, and why.
    Amend(AmendVitals),
}

impl RecordKind for VitalsKind {
    type Record = Vitals;
    type Id = clowder_schemas::ids::VitalsId;
    type Draft = VitalsDraft;
    type Command = VitalsCommand;
    type Filter = VitalsFilter;

    const KIND: &'static str = "vitals";
    const TABLE: RecordTable = RecordTable::Vitals;
    const READ_ACTION: &'static str = "vitals.read";
    const LIST_ACTION: &'static str = "vitals.list";

    fn id(v: &Vitals) -> Self::Id {
        v.id
    }

    fn not_found(id: Self::Id) -> Error {
        Error::VitalsNotFound(id)
    }

    fn claims(_: &Vitals) -> impl Iterator<Item = Claim<'_>> {
        std::iter::empty()
    }

    fn links(v: &Vitals) -> impl Iterator<Item = Link> {
        std::iter::once(Link { index: IndexTable::VitalsByPatient, parent: v.patient_id.as_u128() })
    }

    fn matches(f: &VitalsFilter, v: &Vitals) -> bool {
        f.patient_id.is_none_or(|p| p == v.patient_id) && (!f.with_weight || v.measurements.weight_kg.is_some())
    }

    fn list_via(f: &VitalsFilter) -> Option<Link> {
        f.patient_id.map(|p| Link { index: IndexTable::VitalsByPatient, parent: p.as_u128() })
    }

    fn decide_create(ctx: &DecideCtx<'_>, id: Self::Id, draft: VitalsDraft) -> Result<Decision<Vitals>> {
        decide_create(ctx, id, draft)
    }

    fn decide(ctx: &DecideCtx<'_>, current: &Vitals, command: VitalsCommand) -> Result<Option<Decision<Vitals>>> {
        match command {
            VitalsCommand::Amend(body) => decide_amend(ctx, current, &body),
        }
    }
}

/// New vitals of a living cat on file, flagged against the current normal ranges.
pub fn decide_create(
    ctx: &DecideCtx<'_>,
    id: clowder_schemas::ids::VitalsId,
    d: VitalsDraft,
) -> Result<Decision<Vitals>> {
    let patient = ctx
        .get::<Patient>(RecordTable::Patients, d.patient_id.as_u128())?
        .ok_or(Error::PatientNotFound(d.patient_id))?;
    if patient.status == PatientStatus::Deceased {
        return Err(ValidationError::new("patient_id", "the cat is deceased: no new vitals can be taken").into());
    }
    if d.taken_at > ctx.now + FUTURE_SKEW {
        return Err(ValidationError::new("taken_at", "is in the future").into());
    }
    let taken_on = d.taken_at.to_zoned(ctx.settings.time_zone.clone()).date();
    if patient.date_of_birth.is_some_and(|dob| taken_on < dob) {
        return Err(ValidationError::new("taken_at", "is before the cat's date of birth").into());
    }
    let (ranges_version, ranges) = facts::current::<VitalRanges>(ctx)?;
    let measurements = d.measurements.validate(ranges.fas_scale)?;
    let record = Vitals {
        id,
        patient_id: d.patient_id,
        visit_id: d.visit_id,
        taken_at: d.taken_at,
        taken_by: d.taken_by.or(ctx.caller.user_id()),
        flags: ranges.flags(&measurements),
        measurements,
        ranges_version,
        amendments: Vec::new(),
        created_at: ctx.now,
        updated_at: ctx.now,
        created_by: ctx.caller.user_id(),
    };
    Ok(Decision {
        event: DomainEvent::VitalsRecorded { vitals_id: id, patient_id: record.patient_id },
        record,
        changed: Vec::new(),
        action: "vitals.create",
    })
}

/// A correction: the new measurements replace the old, which are kept in the amendment with
/// its reason; the flags are recomputed against the current ranges. The same values again
/// change nothing.
pub fn decide_amend(ctx: &DecideCtx<'_>, current: &Vitals, body: &AmendVitals) -> Result<Option<Decision<Vitals>>> {
    let reason = body.reason()?;
    let (ranges_version, ranges) = facts::current::<VitalRanges>(ctx)?;
    // The FAS keeps the scale it was first scored on if the clinic's setting has moved since.
    let scale = current.measurements.fas.map_or(ranges.fas_scale, |f| f.scale);
    let measurements = body.measurements.validate(scale)?;
    let changed = changed_measurements(&current.measurements, &measurements);
    if changed.is_empty() {
        return Ok(None);
    }
    let mut new = current.clone();
    new.amendments.push(Amendment {
        at: ctx.now,
        by: ctx.caller.user_id(),
        reason,
        changed: changed.iter().map(|s| s.to_string()).collect(),
        previous: current.measurements.clone(),
    });
    new.flags = ranges.flags(&measurements);
    new.measurements = measurements;
    new.ranges_version = ranges_version;
    new.updated_at = ctx.now;
    let event = DomainEvent::VitalsAmended {
        vitals_id: new.id,
        patient_id: new.patient_id,
        changed: changed.iter().map(|s| format!("measurements.{s}")).collect(),
    };
    Ok(Some(Decision {
        record: new,
        changed: vec!["measurements", "flags", "amendments"],
        event,
        action: "vitals.amend",
    }))
}

/// Which vitals a list shows.
#[derive(Debug, Clone, Default)]
pub struct VitalsFilter {
    pub patient_id: Option<PatientId>,
    /// Only records with a weight.
    pub with_weight: bool,
}

impl VitalsService {
    /// Takes vitals: `taken_at` defaults to now and becomes the id's time, `taken_by` to the
    /// caller.
    pub async fn record(&self, body: CreateVitals, now: Timestamp, caller: &Caller) -> Result<Vitals> {
        let taken_at = body.taken_at.unwrap_or(now);
        let draft = VitalsDraft {
            patient_id: body.patient_id,
            visit_id: body.visit_id,
            taken_at,
            taken_by: body.taken_by,
            measurements: body.measurements,
        };
        self.create_at(taken_at, draft, caller).await
    }

    /// Corrects a vitals record (see [`decide_amend`]).
    pub async fn amend(
        &self,
        id: clowder_schemas::ids::VitalsId,
        body: AmendVitals,
        caller: &Caller,
    ) -> Result<Vitals> {
        self.command(id, VitalsCommand::Amend(body), caller).await
    }

    /// A cat's vitals, newest taken first, below the key `before`; audited.
    pub async fn list_for_patient(
        &self,
        patient: PatientId,
        before: Option<u128>,
        limit: usize,
        caller: &Caller,
    ) -> Result<Page<Vitals>> {
        let filter = VitalsFilter { patient_id: Some(patient), with_weight: false };
        self.list_newest_first(&filter, before, limit, caller).await
    }

    /// A cat's weight history (the vitals with a weight), newest first; audited.
    pub async fn weights(
        &self,
        patient: PatientId,
        before: Option<u128>,
        limit: usize,
        caller: &Caller,
    ) -> Result<Page<WeightPoint>> {
        let filter = VitalsFilter { patient_id: Some(patient), with_weight: true };
        let (items, next) = self.list_newest_first(&filter, before, limit, caller).await?;
        Ok((items.iter().filter_map(weight_point).collect(), next))
    }
}

/// A vitals record as a point of the weight history.
pub fn weight_point(v: &Vitals) -> Option<WeightPoint> {
    Some(WeightPoint {
        vitals_id: v.id,
        taken_at: v.taken_at,
        weight_kg: v.measurements.weight_kg?,
        entered: v.measurements.weight_entered,
        bcs: v.measurements.bcs.map(|b| b.score),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use clowder_schemas::ClientId;
    use clowder_schemas::audit::AuditDraft;
    use clowder_schemas::clients::CreateClient;
    use clowder_schemas::clinical_facts::{FactSet, PutFacts};
    use clowder_schemas::events::Author;
    use clowder_schemas::ids::VitalsId;
    use clowder_schemas::patients::CreatePatient;

    use super::*;
    use crate::clock::ManualClock;
    use crate::ctx::SystemConfig;
    use crate::metrics::StoreMetrics;
    use crate::store::{ChangeSet, Store, StoreConfig};

    const OWNER: ClientId = ClientId::from_u128(1);
    const ALIVE: PatientId = PatientId::from_u128(10);
    const DEAD: PatientId = PatientId::from_u128(11);

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(second).unwrap()
    }

    fn caller() -> Caller {
        Caller { actor: Some(Author::User(UserId::from_u128(7))), ..Caller::default() }
    }

    /// A store with an owner, a living and a deceased cat, and optionally a second version of
    /// the normal ranges (fever from 39.5 °C, FAS on 1–5).
    async fn store(dir: &std::path::Path, second_ranges: bool) -> Arc<Store> {
        let config = StoreConfig {
            path: dir.join("clowder.redb"),
            clinic_id: "test".into(),
            cache_bytes: 8 << 20,
            journal: None,
        };
        let store = Store::open(&config, Arc::new(ManualClock::new(at(1_000))), StoreMetrics::default()).unwrap();
        let body: CreateClient = serde_json::from_value(
            serde_json::json!({ "first_name": "Ada", "last_name": "Byron", "phone": "5550142" }),
        )
        .unwrap();
        let mut set = ChangeSet::new();
        set.put(
            RecordTable::Clients,
            OWNER.as_u128(),
            &body.validate("1").unwrap().into_client(OWNER, at(1_000), None),
        )
        .unwrap();
        for (id, status) in [(ALIVE, PatientStatus::Active), (DEAD, PatientStatus::Deceased)] {
            let cat: CreatePatient = serde_json::from_value(
                serde_json::json!({ "client_id": OWNER, "name": "Miso", "date_of_birth": "2020-01-01" }),
            )
            .unwrap();
            let p = Patient {
                status,
                ..cat.validate(jiff::civil::date(2026, 1, 1)).unwrap().into_patient(id, at(1_000), None)
            };
            set.put(RecordTable::Patients, id.as_u128(), &p).unwrap();
        }
        if second_ranges {
            let info = clowder_schemas::clinical_facts::fact_set(VitalRanges::NAME).unwrap();
            let (_, mut body) = info.first_version().unwrap();
            body["temperature_c"]["high"] = serde_json::json!(39.5);
            body["fas_scale"] = serde_json::json!("one_to_five");
            let draft = PutFacts { body, source: "test".into(), note: None }.validate(info).unwrap();
            let v = clowder_schemas::clinical_facts::FactVersion {
                name: VitalRanges::NAME.into(),
                version: 2,
                body: draft.body,
                source: draft.source,
                note: None,
                changed_at: at(1_000),
                changed_by: None,
            };
            set.put(RecordTable::ClinicalFacts, facts::key(VitalRanges::KEY, 0), &v).unwrap();
        }
        set.audit(AuditDraft::new(&Caller::system(), "test.seed"));
        store.commit(set).await.unwrap();
        store
    }

    fn draft(patient: PatientId, taken_at: Timestamp, m: serde_json::Value) -> VitalsDraft {
        VitalsDraft {
            patient_id: patient,
            visit_id: None,
            taken_at,
            taken_by: None,
            measurements: serde_json::from_value(m).unwrap(),
        }
    }

    #[tokio::test]
    async fn a_deceased_cat_gets_no_new_vitals_and_the_future_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path(), false).await;
        let (settings, caller) = (SystemConfig::new("unused"), caller());
        let now: Timestamp = "2026-06-01T12:00:00Z".parse().unwrap();
        let ctx = DecideCtx::new(now, &settings, &caller, Some(&store));
        let id = VitalsId::from_u128(1);
        let m = serde_json::json!({"temperature_c": 38.5});

        let e = decide_create(&ctx, id, draft(DEAD, now, m.clone())).unwrap_err();
        assert!(matches!(e, Error::Validation(ref v) if v.field == "patient_id"), "{e:?}");
        let e = decide_create(&ctx, id, draft(PatientId::from_u128(99), now, m.clone())).unwrap_err();
        assert!(matches!(e, Error::PatientNotFound(_)), "{e:?}");
        let later = now + SignedDuration::from_hours(1);
        let e = decide_create(&ctx, id, draft(ALIVE, later, m.clone())).unwrap_err();
        assert!(matches!(e, Error::Validation(ref v) if v.field == "taken_at"), "{e:?}");
        let before_birth: Timestamp = "2019-06-01T12:00:00Z".parse().unwrap();
        let e = decide_create(&ctx, id, draft(ALIVE, before_birth, m.clone())).unwrap_err();
        assert!(matches!(e, Error::Validation(ref v) if v.field == "taken_at"), "{e:?}");

        let d = decide_create(&ctx, id, draft(ALIVE, now, m)).unwrap();
        assert_eq!(
            (d.record.taken_by, d.record.ranges_version, d.action),
            (Some(UserId::from_u128(7)), 1, "vitals.create")
        );
        assert!(d.record.flags.is_empty());
        assert!(matches!(d.event, DomainEvent::VitalsRecorded { patient_id, .. } if patient_id == ALIVE));
    }

    #[tokio::test]
    async fn flags_follow_the_current_ranges_and_record_their_version() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path(), true).await;
        let (settings, caller) = (SystemConfig::new("unused"), caller());
        let now: Timestamp = "2026-06-01T12:00:00Z".parse().unwrap();
        let ctx = DecideCtx::new(now, &settings, &caller, Some(&store));
        // 39.4 °C is above the first version's 39.2 but within the second's 39.5.
        let d = decide_create(
            &ctx,
            VitalsId::from_u128(1),
            draft(ALIVE, now, serde_json::json!({"temperature_c": 39.4, "heart_rate": 250, "fas": 2})),
        )
        .unwrap();
        assert_eq!(d.record.ranges_version, 2);
        assert_eq!(d.record.flags.iter().map(|f| f.field.as_str()).collect::<Vec<_>>(), ["heart_rate"]);
        assert_eq!(d.record.measurements.fas.unwrap().scale, clowder_schemas::vitals::FasScale::OneToFive);
        let e =
            decide_create(&ctx, VitalsId::from_u128(2), draft(ALIVE, now, serde_json::json!({"fas": 0}))).unwrap_err();
        assert!(matches!(e, Error::Validation(ref v) if v.field == "measurements.fas"), "{e:?}");
    }

    #[tokio::test]
    async fn an_amendment_keeps_the_previous_values_and_needs_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path(), false).await;
        let (settings, caller) = (SystemConfig::new("unused"), caller());
        let now: Timestamp = "2026-06-01T12:00:00Z".parse().unwrap();
        let ctx = DecideCtx::new(now, &settings, &caller, Some(&store));
        let first = decide_create(
            &ctx,
            VitalsId::from_u128(1),
            draft(ALIVE, now, serde_json::json!({"weight": {"value": 45, "unit": "kg"}, "heart_rate": 180})),
        );
        // 45 kg is impossible: it never reaches the record.
        assert!(matches!(first, Err(Error::Validation(ref v)) if v.field == "measurements.weight.value"));
        let v = decide_create(
            &ctx,
            VitalsId::from_u128(1),
            draft(ALIVE, now, serde_json::json!({"weight": {"value": 5.4, "unit": "kg"}, "heart_rate": 180})),
        )
        .unwrap()
        .record;

        let amend = |reason: &str, m: serde_json::Value| AmendVitals {
            reason: reason.into(),
            measurements: serde_json::from_value(m).unwrap(),
        };
        let fixed = serde_json::json!({"weight": {"value": 4.5, "unit": "kg"}, "heart_rate": 180});
        let e = decide_amend(&ctx, &v, &amend(" ", fixed.clone())).unwrap_err();
        assert!(matches!(e, Error::Validation(ref e) if e.field == "reason"), "{e:?}");
        let d = decide_amend(&ctx, &v, &amend("typed 5.4 for 4.5", fixed.clone())).unwrap().unwrap();
        assert_eq!(d.record.measurements.weight_kg, Some(4.5));
        assert_eq!(d.record.amendments.len(), 1);
        let a = &d.record.amendments[0];
        assert_eq!(
            (a.previous.weight_kg, a.changed.clone()),
            (Some(5.4), vec!["weight_kg".to_owned(), "weight_entered".to_owned()])
        );
        assert!(
            matches!(d.event, DomainEvent::VitalsAmended { ref changed, .. } if changed[0] == "measurements.weight_kg")
        );
        assert!(
            decide_amend(&ctx, &d.record, &amend("again", fixed)).unwrap().is_none(),
            "the same values change nothing"
        );
    }
}
