//! The demo's hospital ward: one "Cat ward" of six cages at the first location with two cats
//! admitted from walk-in visits today, each with a short treatment sheet (fluids, a pain
//! score, feeding), so the board and the wall display show something on `serve --demo`.

use std::sync::Arc;

use anyhow::Context;
use clowder_actors::System;
use clowder_schemas::audit::Caller;
use clowder_schemas::ids::PatientId;
use clowder_schemas::visits::{CreateVisit, VisitType};
use clowder_schemas::wards::{AddTreatment, CheckKind, CreateAdmission, CreateWard, Route, Schedule, TreatmentKind};
use jiff::SignedDuration;

/// The ward's cages.
pub const CAGES: [&str; 6] = ["C1", "C2", "C3", "C4", "ICU 1", "ICU 2"];

/// The two admitted cats' reasons, in the order of the cats given.
/// How many cats the ward takes (the plans start on the cats after them).
pub const REASONS_LEN: usize = REASONS.len();

const REASONS: [&str; 2] = ["Pyelonephritis: IV fluids and antibiotics", "Post-op dental extractions: analgesia"];

/// Opens the ward and admits the first two of `cats` that can be (a cat whose history made
/// it deceased cannot) to its first cages.
pub async fn seed(system: &Arc<System>, cats: &[PatientId]) -> anyhow::Result<()> {
    let caller = Caller::system();
    let Some((location, vet)) = super::first_location_and_vet(system) else { return Ok(()) };
    let body = CreateWard {
        location_id: location,
        name: "Cat ward".into(),
        cages: CAGES.iter().map(|c| c.to_string()).collect(),
        daily_item_id: None,
        overdue_after_minutes: None,
    };
    let ward = system.wards.open(body, &caller).await.context("opening the demo ward")?;
    let now = system.ctx.clock.now();
    let start = jiff::Timestamp::from_second(now.as_second() - now.as_second() % 3600)? - SignedDuration::from_hours(2);
    let mut admitted = 0;
    for cat in cats {
        let Some((reason, cage)) = REASONS.get(admitted).zip(CAGES.get(admitted)) else { break };
        let (reason, cage) = (*reason, *cage);
        let visit = CreateVisit {
            patient_id: Some(*cat),
            vet_id: Some(vet),
            visit_type: Some(VisitType::Sick),
            chief_complaint: Some(reason.into()),
            location_id: Some(location),
            ..CreateVisit::default()
        };
        let Ok(visit) = system.visits.open(visit.validate()?, &system.jobs, &caller).await else { continue };
        let body = CreateAdmission {
            ward_id: ward.id,
            cage: cage.into(),
            visit_id: visit.id,
            reason: reason.into(),
            attending_vet_id: None,
        };
        let a = system.ward_boards.admit(body, &caller).await?;
        admitted += 1;
        let every = |hours| Schedule { start, every_hours: Some(hours), times: Vec::new(), until: None };
        let sheet = [
            (TreatmentKind::Fluids { fluid: "Hartmann's".into(), rate_ml_per_h: 12.0, route: Route::Iv }, every(4)),
            (TreatmentKind::Check { check: CheckKind::PainScore }, every(2)),
            (TreatmentKind::Feeding { food: "Recovery diet".into(), amount: "20 g".into() }, every(6)),
        ];
        for (treatment, schedule) in sheet {
            let body = AddTreatment { treatment, schedule, catalogue_item_id: None, notes: None };
            system.ward_boards.add_treatment(a.id, body, &caller).await?;
        }
    }
    system.admissions.passivate_all();
    system.ward_boards.passivate_all();
    Ok(())
}
