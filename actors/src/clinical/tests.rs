//! The clinical kinds in process, on a store in a temporary directory and a manual clock: the
//! decisions of visits and notes, and the unsigned list that the board reads after 24 hours.

use std::sync::Arc;

use clowder_schemas::audit::Caller;
use clowder_schemas::clients::{Client, CreateClient};
use clowder_schemas::events::Author;
use clowder_schemas::notes::{SaveDraft, Soap};
use clowder_schemas::patients::{CreatePatient, Patient, PatientStatus};
use clowder_schemas::staff::{CreateStaff, StaffProfile};
use clowder_schemas::visits::{UpdateVisit, Visit, VisitDraft, VisitStatus, VisitType};
use clowder_schemas::{ClientId, PatientId, StaffId, UserId};
use jiff::{SignedDuration, Timestamp};

use super::drafts::Drafts;
use super::notes::{Notes, addendum_signature, note_signature};
use super::visits::{VisitFilter, Visits, decide_complete, decide_update, decide_void};
use crate::clock::ManualClock;
use crate::ctx::{Ctx, SystemConfig};
use crate::error::Error;
use crate::metrics::StoreMetrics;
use crate::records::DecideCtx;
use crate::store::tables::unique;
use crate::store::{ChangeSet, RecordTable, Store, StoreConfig};

const VET_USER: UserId = UserId::from_u128(7);
const TECH_USER: UserId = UserId::from_u128(8);
const VET: StaffId = StaffId::from_u128(20);
const TECH: StaffId = StaffId::from_u128(21);
const CAT: PatientId = PatientId::from_u128(30);
const OLD_CAT: PatientId = PatientId::from_u128(31);

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(second).unwrap()
}

fn user(id: UserId) -> Caller {
    Caller { actor: Some(Author::User(id)), ..Caller::default() }
}

/// A store with a vet and a tech (each with an account), an owner, an active and a deceased cat.
async fn clinic(dir: &std::path::Path, clock: Arc<ManualClock>) -> Arc<Ctx> {
    let config = SystemConfig::new(dir);
    let store_config =
        StoreConfig { path: config.store_path(), clinic_id: "test".into(), cache_bytes: 8 << 20, journal: None };
    let store = Store::open(&store_config, clock.clone(), StoreMetrics::default()).unwrap();
    let mut set = ChangeSet::new();
    for (id, user, position) in [(VET, VET_USER, "veterinarian"), (TECH, TECH_USER, "vet_tech")] {
        let body: CreateStaff = serde_json::from_value(
            serde_json::json!({ "first_name": "Ana", "last_name": "Lee", "position": position, "user_id": user }),
        )
        .unwrap();
        let staff: StaffProfile = body.validate(id, at(1_000)).unwrap();
        set.put(RecordTable::Staff, id.as_u128(), &staff).unwrap();
        set.claim(unique::STAFF_USER, &user.to_string(), id.as_u128(), "user_id");
    }
    let owner = ClientId::from_u128(1);
    let body: CreateClient =
        serde_json::from_value(serde_json::json!({ "first_name": "Ada", "last_name": "Byron", "phone": "5550142" }))
            .unwrap();
    let client: Client = body.validate("1").unwrap().into_client(owner, at(1_000), None);
    set.put(RecordTable::Clients, owner.as_u128(), &client).unwrap();
    for (id, status) in [(CAT, PatientStatus::Active), (OLD_CAT, PatientStatus::Deceased)] {
        let body: CreatePatient =
            serde_json::from_value(serde_json::json!({ "client_id": owner, "name": "Miso" })).unwrap();
        let cat: Patient = Patient {
            status,
            ..body.validate(jiff::civil::date(2026, 1, 1)).unwrap().into_patient(id, at(1_000), None)
        };
        set.put(RecordTable::Patients, id.as_u128(), &cat).unwrap();
    }
    store.commit(set).await.unwrap();
    Arc::new(Ctx::new(store, clock, config))
}

async fn close(ctx: Arc<Ctx>) {
    let store = ctx.store.clone();
    tokio::task::spawn_blocking(move || store.close()).await.unwrap();
}

fn walk_in(cat: PatientId) -> VisitDraft {
    VisitDraft::WalkIn {
        patient_id: cat,
        vet_id: VET,
        visit_type: VisitType::Sick,
        chief_complaint: "Not eating".into(),
        location_id: None,
    }
}

fn save(revision: u64, assessment: &str) -> SaveDraft {
    serde_json::from_value(serde_json::json!({ "revision": revision, "assessment": assessment })).unwrap()
}

#[tokio::test]
async fn unsigned_notes_show_after_24_hours_until_signed_or_voided() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(at(1_790_000_000)));
    let ctx = clinic(dir.path(), clock.clone()).await;
    let (visits, notes) = (Visits::new(ctx.clone()), Notes::new(ctx.clone()));
    let drafts = Drafts::new(ctx.clone(), notes.clone());
    let vet = user(VET_USER);
    let a = visits.create(walk_in(CAT), &vet).await.unwrap();
    // A millisecond apart: ids made in the same millisecond have no order.
    clock.advance(SignedDuration::from_millis(1));
    let b = visits.create(walk_in(CAT), &vet).await.unwrap();
    let unsigned = |hours: i64| {
        let filter = VisitFilter {
            unsigned_before: Some(crate::clock::Clock::now(clock.as_ref()) - SignedDuration::from_hours(hours)),
            ..VisitFilter::default()
        };
        visits.list_unaudited(&filter, None, 10).unwrap().0.into_iter().map(|v| v.id).collect::<Vec<_>>()
    };
    assert!(unsigned(24).is_empty(), "opened just now");
    clock.advance(SignedDuration::from_hours(25));
    assert_eq!(unsigned(24), [a.id, b.id]);

    drafts.save(a.id, save(1, "Hairball"), &vet).await.unwrap();
    notes.sign(a.id, Some(1), &vet).await.unwrap();
    assert_eq!(unsigned(24), [b.id], "signed: off the list");
    visits.void(b.id, "wrong cat".into(), &vet).await.unwrap();
    assert!(unsigned(24).is_empty(), "voided: off the list");
    // A later change of the signed visit does not put it back.
    visits.complete(a.id, &vet).await.unwrap();
    assert!(unsigned(1).is_empty());
    close(ctx).await;
}

#[tokio::test]
async fn signing_needs_a_veterinarian_and_locks_what_was_read() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(at(1_790_000_000)));
    let ctx = clinic(dir.path(), clock.clone()).await;
    let (visits, notes) = (Visits::new(ctx.clone()), Notes::new(ctx.clone()));
    let drafts = Drafts::new(ctx.clone(), notes.clone());
    let vet = user(VET_USER);

    let e = visits.create(walk_in(OLD_CAT), &vet).await.unwrap_err();
    assert!(matches!(e, Error::Validation(ref v) if v.field == "patient_id"), "{e:?}");
    let v = visits.create(walk_in(CAT), &vet).await.unwrap();
    drafts.save(v.id, save(3, "FLUTD"), &vet).await.unwrap();
    // A stale autosave is answered, not written.
    let late = drafts.save(v.id, save(2, "old"), &vet).await.unwrap();
    assert_eq!((late.applied, late.revision, late.draft.soap.assessment.as_str()), (false, 3, "FLUTD"));

    for caller in [user(TECH_USER), Caller::system()] {
        assert!(matches!(notes.sign(v.id, None, &caller).await, Err(Error::NotAVeterinarian)));
    }
    assert!(matches!(notes.sign(v.id, Some(2), &vet).await, Err(Error::Changed { .. })));
    assert!(matches!(notes.add_addendum(v.id, "x".into(), &vet).await, Err(Error::NoteUnsigned { .. })));
    let note = notes.sign(v.id, None, &vet).await.unwrap();
    assert_eq!(note.soap.assessment, "FLUTD");
    assert_eq!(note.signature, note_signature(note.id, v.id, &note.soap, VET_USER, note.signed_at));
    assert!(matches!(notes.sign(v.id, None, &vet).await, Err(Error::NoteSigned { .. })));
    assert!(matches!(drafts.save(v.id, save(4, "changed"), &vet).await, Err(Error::NoteSigned { .. })));

    clock.advance(SignedDuration::from_mins(5));
    assert!(matches!(notes.add_addendum(v.id, "x".into(), &user(TECH_USER)).await, Err(Error::NotAVeterinarian)));
    let one = notes.add_addendum(v.id, "Urine culture negative".into(), &vet).await.unwrap();
    let two = notes.add_addendum(v.id, "Owner updated".into(), &vet).await.unwrap();
    assert_eq!((two.soap.clone(), two.signature.clone()), (note.soap.clone(), note.signature.clone()), "unchanged");
    let [first, second] = two.addenda.as_slice() else { panic!("two addenda") };
    assert_eq!(first, &one.addenda[0]);
    let expected = addendum_signature(note.id, 2, "Owner updated", VET_USER, second.signed_at, &first.signature);
    assert_eq!(second.signature, expected, "chained to the addendum before it");
    close(ctx).await;
}

fn visit(status: VisitStatus) -> Visit {
    Visit {
        id: clowder_schemas::ids::VisitId::from_u128(5),
        patient_id: CAT,
        appointment_id: None,
        appointment_type_id: None,
        location_id: None,
        vet_id: Some(VET),
        visit_type: VisitType::Sick,
        chief_complaint: Some("Not eating".into()),
        status,
        opened_at: at(1_000),
        completed_at: None,
        voided_at: None,
        void_reason: None,
        created_at: at(1_000),
        updated_at: at(1_000),
        created_by: None,
    }
}

#[test]
fn visit_statuses_move_forward_only_and_repeats_write_nothing() {
    let (settings, caller) = (SystemConfig::new("unused"), user(VET_USER));
    let ctx = DecideCtx::new(at(2_000), &settings, &caller, None);
    let done = decide_complete(&ctx, &visit(VisitStatus::Open)).unwrap().unwrap();
    assert_eq!((done.record.status, done.record.completed_at), (VisitStatus::Completed, Some(at(2_000))));
    assert!(decide_complete(&ctx, &visit(VisitStatus::Completed)).unwrap().is_none());
    let e = decide_complete(&ctx, &visit(VisitStatus::Voided)).unwrap_err();
    assert!(matches!(e, Error::VisitTransition { to: "completed", .. }), "{e:?}");
    assert!(decide_void(&ctx, &visit(VisitStatus::Voided), "again".into()).unwrap().is_none());
    let voided = decide_void(&ctx, &visit(VisitStatus::Completed), "wrong cat".into()).unwrap().unwrap();
    assert_eq!(voided.changed, ["status", "voided_at", "void_reason"]);

    let patch = |v: serde_json::Value| serde_json::from_value::<UpdateVisit>(v).unwrap();
    let same = patch(serde_json::json!({ "chief_complaint": "Not eating" }));
    assert!(decide_update(&ctx, &visit(VisitStatus::Open), &same).unwrap().is_none());
    let e = decide_update(&ctx, &visit(VisitStatus::Voided), &patch(serde_json::json!({ "type": "dental" })));
    assert!(matches!(e, Err(Error::VisitTransition { .. })));
    let d = decide_update(&ctx, &visit(VisitStatus::Completed), &patch(serde_json::json!({ "type": "dental" })))
        .unwrap()
        .unwrap();
    assert_eq!(d.changed, ["type"]);
    assert!(Soap::default().is_blank());
}

fn appointment(status: clowder_schemas::appointments::Status) -> clowder_schemas::appointments::Appointment {
    use clowder_schemas::appointments::{Appointment, Source, StatusTimes};
    Appointment {
        id: clowder_schemas::AppointmentId::from_u128(40),
        location_id: clowder_schemas::LocationId::from_u128(41),
        client_id: ClientId::from_u128(1),
        patient_id: CAT,
        type_id: clowder_schemas::AppointmentTypeId::from_u128(42),
        vet_id: Some(VET),
        room_id: None,
        start: at(1_790_000_000),
        end: at(1_790_001_800),
        buffer_after_minutes: 0,
        reason: Some("Limping".into()),
        notes: None,
        status,
        times: StatusTimes::default(),
        history: Vec::new(),
        cancelled_by: None,
        cancel_reason: None,
        source: Source::Staff,
        overbooked: false,
        sequence: 0,
        created_by: None,
        created_at: at(1_000),
        updated_at: at(1_000),
    }
}

/// The durable path alone (no HTTP route calling at once): the hook writes a job in the
/// appointment's change set, and the job opens the visit, then completes it; running a job
/// twice changes nothing.
#[tokio::test]
async fn the_appointments_own_change_set_carries_the_job_that_opens_and_completes_its_visit() {
    use clowder_schemas::appointments::Status;

    use super::follow::{ClinicalHooks, FollowAppointment, KIND};
    use crate::jobs::{JobCtx, JobHandler, Jobs, JobsConfig};
    use crate::scheduling::SchedulingHooks;

    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(at(1_790_000_000)));
    let ctx = clinic(dir.path(), clock.clone()).await;
    let visits = Visits::new(ctx.clone());
    let jobs = Jobs::new(ctx.clone(), JobsConfig::default());
    let handler = Arc::new(FollowAppointment { visits: visits.clone() });
    jobs.register(KIND, handler.clone()).unwrap();
    let alert = Arc::new(super::unsigned::UnsignedAlert { visits: visits.clone() });
    jobs.register(super::unsigned::KIND, alert.clone()).unwrap();
    // The completion also writes the plan-step job (a booked treatment-plan step is done with
    // the visit); registered as the system does, so it may be scheduled.
    let plans = super::treatment_plans::TreatmentPlans::new(ctx.clone());
    jobs.register(
        super::plan_steps::KIND,
        Arc::new(super::plan_steps::StepVisitDone { visits: visits.clone(), plans }),
    )
    .unwrap();
    let hooks = ClinicalHooks { ctx: ctx.clone(), jobs: jobs.clone() };
    let job_ctx = JobCtx { ctx: ctx.clone(), caller: Caller::system() };
    let subject = format!("appointment:{}", appointment(Status::CheckedIn).id);

    let mut previous = appointment(Status::CheckedIn);
    for status in [Status::InProgress, Status::Completed] {
        let next = appointment(status);
        let mut set = ChangeSet::new();
        set.put(RecordTable::Appointments, next.id.as_u128(), &next).unwrap();
        hooks.appointment_changed(&mut set, Some(&previous), &next, &Caller::system()).unwrap();
        ctx.store.commit(set).await.unwrap();
        let job = jobs.of_subject(&subject).unwrap().into_iter().rfind(|j| j.kind == KIND).unwrap();
        handler.run(&job, &job_ctx).await.unwrap();
        handler.run(&job, &job_ctx).await.unwrap(); // at-least-once: a repeat is harmless
        let visit = visits.of_appointment(next.id).unwrap().unwrap();
        let expected = if status == Status::InProgress { VisitStatus::Open } else { VisitStatus::Completed };
        assert_eq!((visit.status, visit.chief_complaint.as_deref()), (expected, Some("Limping")));
        previous = next;
    }
    let of = |kind: &str| jobs.of_subject(&subject).unwrap().into_iter().filter(|j| j.kind == kind).collect::<Vec<_>>();
    assert_eq!(of(KIND).len(), 2, "one job per move");
    // And one unsigned-note alert for the appointment's visit, 24 h on: early, it waits;
    // a day later, the note still unsigned, it raises the alert.
    let alerts = of(super::unsigned::KIND);
    assert_eq!(alerts.len(), 1, "one alert per appointment");
    assert_eq!(alerts[0].due_at, at(1_790_000_000) + SignedDuration::from_hours(24));
    let early = alert.run(&alerts[0], &job_ctx).await.unwrap_err();
    assert!(matches!(early, crate::jobs::JobError::Defer { .. }), "{early:?}");
    clock.advance(SignedDuration::from_hours(24));
    let raised = alert.run(&alerts[0], &job_ctx).await.unwrap();
    assert!(!raised.changes.is_empty(), "the alert's event is written with the job's success");
    let all =
        visits.list_unaudited(&VisitFilter { patient_id: Some(CAT), ..VisitFilter::default() }, None, 10).unwrap();
    assert_eq!(all.0.len(), 1, "one visit per appointment");

    // A move that is not a start or a completion writes no job.
    let mut set = ChangeSet::new();
    hooks.appointment_changed(&mut set, None, &appointment(Status::Scheduled), &Caller::system()).unwrap();
    assert!(set.is_empty());
    close(ctx).await;
}
