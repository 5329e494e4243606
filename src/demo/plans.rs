//! The demo's protocols and treatment plans: the four built-in starters copied into the
//! clinic's protocols, a CKD monitoring plan started about a quarter ago with its first
//! recheck done, and a kitten series a month in with its first vaccines done, so the plan
//! view shows progress on `serve --demo`.

use std::sync::Arc;

use anyhow::Context;
use clowder_actors::System;
use clowder_actors::clinical::protocols::starters;
use clowder_actors::clinical::treatment_plans::PlanDraft;
use clowder_schemas::audit::Caller;
use clowder_schemas::ids::PatientId;
use clowder_schemas::protocols::{PlanChange, Protocol, StepStatus, TreatmentPlan};

/// Copies the starters and starts two plans on the first cats that can take them (after
/// `skip`, the cats the ward took).
pub async fn seed(system: &Arc<System>, cats: &[PatientId], skip: usize) -> anyhow::Result<()> {
    let caller = Caller::system();
    let mut copied: Vec<Protocol> = Vec::new();
    for (key, _) in starters() {
        copied.push(system.protocols.copy_starter(key, &caller).await.context("copying a starter protocol")?);
    }
    let today = system.ctx.today();
    let plans = [("ckd_monitoring", 100, 2), ("kitten_series", 30, 2)];
    let mut candidates = cats.iter().skip(skip);
    for (key, days_ago, done) in plans {
        let Some(protocol) = copied.iter().find(|p| p.starter.as_deref() == Some(key)) else { continue };
        let start_date = today.checked_sub(jiff::Span::new().days(days_ago))?;
        // A cat the year of history made deceased or inactive is refused: try the next one.
        let plan = loop {
            let Some(cat) = candidates.next() else { return Ok(()) };
            let draft = PlanDraft { patient_id: *cat, protocol_id: protocol.id, start_date };
            if let Ok(plan) = system.treatment_plans.create(draft, &caller).await {
                break plan;
            }
        };
        mark_done(system, &plan, done, &caller).await?;
    }
    system.treatment_plans.passivate_all();
    system.protocols.passivate_all();
    Ok(())
}

async fn mark_done(system: &Arc<System>, plan: &TreatmentPlan, n: usize, caller: &Caller) -> anyhow::Result<()> {
    let open = plan.steps.iter().filter(|s| s.status == StepStatus::Planned).take(n);
    for step in open {
        let change = PlanChange::Done { step: step.number, visit_id: None };
        system.treatment_plans.change(plan.id, change, caller).await.context("a demo plan step done")?;
    }
    Ok(())
}
