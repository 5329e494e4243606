//! The prescribing decisions against a store on a temporary directory: a vet who can
//! prescribe (user 7), a receptionist-like user without the capability (user 8), an owner, a
//! cat weighed at 4.2 kg, a cat never weighed, and optionally CKD on the first cat's list.

use std::sync::Arc;

use clowder_schemas::ClientId;
use clowder_schemas::audit::AuditDraft;
use clowder_schemas::clients::CreateClient;
use clowder_schemas::events::Author;
use clowder_schemas::patients::CreatePatient;
use clowder_schemas::prescriptions::CreatePrescription;
use clowder_schemas::problems::CreateProblem;
use clowder_schemas::{UserId, ValidationError};

use super::*;
use crate::clinical::vitals::{self, VitalsDraft};
use crate::clock::ManualClock;
use crate::ctx::SystemConfig;
use crate::metrics::StoreMetrics;
use crate::store::{ChangeSet, Store, StoreConfig};

const OWNER: ClientId = ClientId::from_u128(1);
const WEIGHED: PatientId = PatientId::from_u128(10);
const UNWEIGHED: PatientId = PatientId::from_u128(11);
const VET: UserId = UserId::from_u128(7);
const NOT_A_PRESCRIBER: UserId = UserId::from_u128(8);

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(second).unwrap()
}

fn caller(user: UserId) -> Caller {
    Caller { actor: Some(Author::User(user)), ..Caller::default() }
}

fn staff(id: u128, user: UserId, can_prescribe: bool) -> StaffProfile {
    serde_json::from_value(serde_json::json!({
        "id": StaffId::from_u128(id), "user_id": user, "first_name": "Ana", "last_name": "Vet",
        "email": null, "phone": null, "position": "veterinarian", "employment_type": "full_time",
        "hire_date": null, "licence": null,
        "capabilities": {"can_prescribe": can_prescribe, "can_perform_surgery": false, "can_access_billing": false},
        "home_location_id": null, "weekly_pattern": [], "active": true,
        "created_at": at(1_000), "updated_at": at(1_000)
    }))
    .unwrap()
}

async fn store(dir: &std::path::Path, ckd: bool) -> Arc<Store> {
    let config =
        StoreConfig { path: dir.join("clowder.redb"), clinic_id: "test".into(), cache_bytes: 8 << 20, journal: None };
    let store = Store::open(&config, Arc::new(ManualClock::new(at(1_000))), StoreMetrics::default()).unwrap();
    let body: CreateClient =
        serde_json::from_value(serde_json::json!({ "first_name": "Ada", "last_name": "Byron", "phone": "5550142" }))
            .unwrap();
    let mut set = ChangeSet::new();
    set.put(RecordTable::Clients, OWNER.as_u128(), &body.validate("1").unwrap().into_client(OWNER, at(1_000), None))
        .unwrap();
    for id in [WEIGHED, UNWEIGHED] {
        let cat: CreatePatient =
            serde_json::from_value(serde_json::json!({ "client_id": OWNER, "name": "Miso" })).unwrap();
        let p = cat.validate(jiff::civil::date(2026, 1, 1)).unwrap().into_patient(id, at(1_000), None);
        set.put(RecordTable::Patients, id.as_u128(), &p).unwrap();
    }
    for (key, user, can) in [(20, VET, true), (21, NOT_A_PRESCRIBER, false)] {
        set.put(RecordTable::Staff, key, &staff(key, user, can)).unwrap();
        set.claim(unique::STAFF_USER, &user.to_string(), key, "user_id");
    }
    set.audit(AuditDraft::new(&Caller::system(), "test.seed"));
    store.commit(set).await.unwrap();

    // The weight (and CKD) through the kinds' own decisions, so the records are real ones.
    let settings = SystemConfig::new("unused");
    let c = caller(VET);
    let mut set = ChangeSet::new();
    {
        let ctx = DecideCtx::new(at(2_000), &settings, &c, Some(&store));
        let m = serde_json::from_value(serde_json::json!({"weight": {"value": 4.2, "unit": "kg"}})).unwrap();
        let d =
            VitalsDraft { patient_id: WEIGHED, visit_id: None, taken_at: at(1_500), taken_by: None, measurements: m };
        let v = vitals::decide_create(&ctx, VitalsId::from_u128(30), d).unwrap().record;
        set.put(RecordTable::Vitals, 30, &v).unwrap();
        set.link(IndexTable::VitalsByPatient, WEIGHED.as_u128(), 30);
        if ckd {
            let body: CreateProblem = serde_json::from_value(serde_json::json!({
                "patient_id": WEIGHED, "name": "CKD, IRIS stage 2", "status": "chronic"
            }))
            .unwrap();
            let d = body.validate(jiff::civil::date(2026, 1, 1)).unwrap();
            let p = crate::clinical::problems::decide_create(&ctx, clowder_schemas::ids::ProblemId::from_u128(40), d)
                .unwrap()
                .record;
            set.put(RecordTable::Problems, 40, &p).unwrap();
            set.link(IndexTable::ProblemsByPatient, WEIGHED.as_u128(), 40);
        }
    }
    set.audit(AuditDraft::new(&Caller::system(), "test.seed"));
    store.commit(set).await.unwrap();
    store
}

fn draft(v: serde_json::Value) -> PrescriptionDraft {
    let mut base = serde_json::json!({
        "patient_id": WEIGHED, "drug": "meloxicam", "form": "suspension", "strength": 0.5,
        "dose_per_kg": 0.05, "route": "oral", "frequency": "q24h", "quantity": 10
    });
    if let (Some(b), Some(o)) = (base.as_object_mut(), v.as_object()) {
        for (k, x) in o {
            b.insert(k.clone(), x.clone());
        }
    }
    serde_json::from_value::<CreatePrescription>(base).unwrap().validate().unwrap()
}

fn field_of(e: Error) -> String {
    match e {
        Error::Validation(ValidationError { field, .. }) => field,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[tokio::test]
async fn the_dose_is_computed_from_the_newest_weight_and_stored_with_its_vitals_record() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path(), false).await;
    let (settings, c) = (SystemConfig::new("unused"), caller(VET));
    let ctx = DecideCtx::new(at(3_000), &settings, &c, Some(&store));
    let d = decide_create(&ctx, PrescriptionId::from_u128(1), draft(serde_json::json!({}))).unwrap();
    let p = d.record;
    assert_eq!((p.dose.weight_kg, p.dose.dose, p.dose.amount), (4.2, 0.21, 0.42));
    assert_eq!(p.weight_vitals_id, VitalsId::from_u128(30));
    assert_eq!(p.prescriber_staff_id, StaffId::from_u128(20));
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    assert_eq!(d.action, "prescription.create");
}

#[tokio::test]
async fn no_weight_on_record_is_refused_asking_for_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path(), false).await;
    let (settings, c) = (SystemConfig::new("unused"), caller(VET));
    let ctx = DecideCtx::new(at(3_000), &settings, &c, Some(&store));
    let e = decide_create(&ctx, PrescriptionId::from_u128(1), draft(serde_json::json!({"patient_id": UNWEIGHED})));
    assert_eq!(field_of(e.unwrap_err()), "weight");
}

#[tokio::test]
async fn only_a_profile_that_can_prescribe_may_prescribe() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path(), false).await;
    let settings = SystemConfig::new("unused");
    for user in [NOT_A_PRESCRIBER, UserId::from_u128(99)] {
        let c = caller(user);
        let ctx = DecideCtx::new(at(3_000), &settings, &c, Some(&store));
        let e = decide_create(&ctx, PrescriptionId::from_u128(1), draft(serde_json::json!({}))).unwrap_err();
        assert!(matches!(e, Error::CapabilityRequired { capability: "can_prescribe", .. }), "{e:?}");
        assert_eq!(e.code(), clowder_schemas::ErrorCode::Forbidden);
    }
}

#[tokio::test]
async fn a_dose_outside_the_feline_range_is_a_warning_naming_the_range() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path(), false).await;
    let (settings, c) = (SystemConfig::new("unused"), caller(VET));
    let ctx = DecideCtx::new(at(3_000), &settings, &c, Some(&store));
    let p = decide_create(&ctx, PrescriptionId::from_u128(1), draft(serde_json::json!({"dose_per_kg": 0.2})))
        .unwrap()
        .record;
    assert_eq!(p.warnings.len(), 1);
    assert_eq!(p.warnings[0].kind, WarningKind::DoseRange);
    assert!(p.warnings[0].message.contains("0.05–0.1 mg/kg"), "{}", p.warnings[0].message);
    assert!(!p.warnings[0].needs_override);
    // Robenacoxib 1 mg/kg for 4.2 kg: one whole 6 mg tablet is 1.429 mg/kg, inside 1–2.4.
    let p = decide_create(
        &ctx,
        PrescriptionId::from_u128(2),
        draft(serde_json::json!({"drug": "Onsior", "form": "tablet", "strength": 6, "dose_per_kg": 1})),
    )
    .unwrap()
    .record;
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    assert_eq!(p.dose.amount, 1.0);
}

#[tokio::test]
async fn feline_toxic_drugs_unknown_drugs_forms_and_strengths_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path(), false).await;
    let (settings, c) = (SystemConfig::new("unused"), caller(VET));
    let ctx = DecideCtx::new(at(3_000), &settings, &c, Some(&store));
    for (body, field) in [
        (serde_json::json!({"drug": "paracetamol"}), "drug"),
        (serde_json::json!({"drug": "Permethrin"}), "drug"),
        (serde_json::json!({"drug": "unobtainium"}), "drug"),
        (serde_json::json!({"form": "capsule"}), "form"),
        (serde_json::json!({"strength": 1.5}), "strength"),
    ] {
        let e = decide_create(&ctx, PrescriptionId::from_u128(1), draft(body.clone())).unwrap_err();
        let message = e.to_string();
        assert_eq!(field_of(e), field, "{body}");
        if body["drug"] == "paracetamol" {
            assert!(message.contains("toxic to cats"), "{message}");
        }
    }
}

#[tokio::test]
async fn an_nsaid_for_a_cat_with_ckd_needs_a_written_override_which_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path(), true).await;
    let (settings, c) = (SystemConfig::new("unused"), caller(VET));
    let ctx = DecideCtx::new(at(3_000), &settings, &c, Some(&store));
    let e = decide_create(&ctx, PrescriptionId::from_u128(1), draft(serde_json::json!({}))).unwrap_err();
    assert_eq!(field_of(e), "override_reason");
    let d = decide_create(
        &ctx,
        PrescriptionId::from_u128(1),
        draft(serde_json::json!({"override_reason": "IRIS 2, stable; lowest dose, renal recheck in 2 weeks"})),
    )
    .unwrap();
    assert_eq!(d.action, "prescription.create_override");
    assert_eq!(d.record.warnings[0].kind, WarningKind::NsaidCkd);
    assert!(d.record.warnings[0].needs_override);
    // A drug that is not an NSAID raises nothing for the same cat.
    let p = decide_create(
        &ctx,
        PrescriptionId::from_u128(2),
        draft(serde_json::json!({"drug": "gabapentin", "form": "solution", "strength": 50, "dose_per_kg": 5, "frequency": "q12h"})),
    )
    .unwrap()
    .record;
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
}

#[test]
fn ckd_is_recognised_by_name_word_or_code() {
    let problem = |name: &str, code: Option<&str>| -> Problem {
        serde_json::from_value(serde_json::json!({
            "id": clowder_schemas::ids::ProblemId::from_u128(1), "patient_id": WEIGHED, "visit_id": null,
            "name": name, "code": code, "code_system": null, "type": "primary", "severity": null,
            "status": "active", "onset": null, "resolved_on": null, "notes": null,
            "created_at": at(1), "updated_at": at(1), "created_by": null
        }))
        .unwrap()
    };
    for yes in ["Chronic kidney disease", "CKD stage 3", "ckd", "Chronic renal failure"] {
        assert!(is_ckd(&problem(yes, None)), "{yes}");
    }
    assert!(is_ckd(&problem("Kidneys", Some("709044004"))));
    for no in ["Acute kidney injury", "Hyperthyroidism", "Bucked teeth"] {
        assert!(!is_ckd(&problem(no, None)), "{no}");
    }
}

#[tokio::test]
async fn interactions_with_active_prescriptions_are_shown_and_severe_ones_need_an_override() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path(), false).await;
    let (settings, c) = (SystemConfig::new("unused"), caller(VET));
    let pred = {
        let ctx = DecideCtx::new(at(3_000), &settings, &c, Some(&store));
        let body = serde_json::json!({"drug": "prednisolone", "form": "tablet", "strength": 5, "dose_per_kg": 1});
        decide_create(&ctx, PrescriptionId::from_u128(5), draft(body)).unwrap().record
    };
    let mut set = ChangeSet::new();
    set.put(RecordTable::Prescriptions, 5, &pred).unwrap();
    for l in <PrescriptionKind as crate::records::RecordKind>::links(&pred) {
        set.link(l.index, l.parent, 5);
    }
    set.audit(AuditDraft::new(&Caller::system(), "test.seed"));
    store.commit(set).await.unwrap();

    let ctx = DecideCtx::new(at(4_000), &settings, &c, Some(&store));
    let e = decide_create(&ctx, PrescriptionId::from_u128(6), draft(serde_json::json!({}))).unwrap_err();
    assert!(e.to_string().contains("Prednisolone"), "{e}");
    assert_eq!(field_of(e), "override_reason");
    let p = decide_create(
        &ctx,
        PrescriptionId::from_u128(6),
        draft(serde_json::json!({"override_reason": "stopping prednisolone today"})),
    )
    .unwrap()
    .record;
    let w = &p.warnings[0];
    assert_eq!(
        (w.kind, w.severity, w.prescription_id),
        (WarningKind::Interaction, Some(InteractionSeverity::Severe), Some(pred.id))
    );
    // A moderate interaction (an opioid with gabapentin) is shown without needing a reason.
    let p = decide_create(
        &ctx,
        PrescriptionId::from_u128(7),
        draft(serde_json::json!({"drug": "insulin-glargine", "form": "injectable", "strength": 100, "dose_per_kg": 0.5, "route": "sc", "frequency": "q12h"})),
    )
    .unwrap()
    .record;
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    assert_eq!(p.warnings[0].severity, Some(InteractionSeverity::Moderate));
    assert!(!p.warnings[0].needs_override);
}

#[tokio::test]
async fn refills_decrement_until_none_are_left_and_a_cancelled_one_cannot_be_refilled() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path(), false).await;
    let (settings, c) = (SystemConfig::new("unused"), caller(VET));
    let ctx = DecideCtx::new(at(3_000), &settings, &c, Some(&store));
    let p = decide_create(&ctx, PrescriptionId::from_u128(1), draft(serde_json::json!({"refills_allowed": 1})))
        .unwrap()
        .record;
    let p = decide(&ctx, &p, PrescriptionCommand::Refill).unwrap().unwrap().record;
    assert_eq!((p.refills_remaining, p.refills.len()), (0, 1));
    assert!(matches!(decide(&ctx, &p, PrescriptionCommand::Refill), Err(Error::NoRefillsLeft(_))));
    let cancelled =
        decide(&ctx, &p, PrescriptionCommand::Cancel { reason: "vomiting".into() }).unwrap().unwrap().record;
    assert_eq!(cancelled.status, PrescriptionStatus::Cancelled);
    assert!(decide(&ctx, &cancelled, PrescriptionCommand::Cancel { reason: "again".into() }).unwrap().is_none());
    assert!(matches!(decide(&ctx, &cancelled, PrescriptionCommand::Refill), Err(Error::PrescriptionNotActive { .. })));
}
