//! Treatment-plan step reminders (a sweep, transactional): an open step (planned or booked,
//! never done or skipped) of an active plan whose reminder day (`PlanStep::reminder_on`: its
//! date less its `reminder_lead_days`) is the sweep's date, one message per step to the cat's
//! owner, keyed `plan_step:<plan>:<step>:<step date>`. A rerun of the day sends nothing twice;
//! a step settled, a plan cancelled or completed, or a cat no longer alive simply stops being
//! due; a step moved to another date is reminded again for its new date. Consent, opt-out and
//! quiet hours are the `send_message` job's, as for every rule.

use std::collections::BTreeMap;

use clowder_schemas::automations::Trigger;
use clowder_schemas::clients::Client;
use clowder_schemas::messages::Purpose;
use clowder_schemas::patients::Patient;
use clowder_schemas::protocols::{PlanStatus, PlanStep, TreatmentPlan};
use clowder_schemas::templates::TemplateCategory;
use jiff::civil::Date;

use super::{Due, Env, Param, Rule, Settings, alive};
use crate::error::Result;
use crate::store::RecordTable;

pub const KIND: &str = "plan_step";

/// The open steps of an active plan reminded on `date`.
pub(crate) fn due_steps(plan: &TreatmentPlan, date: Date) -> impl Iterator<Item = &PlanStep> {
    let active = plan.status == PlanStatus::Active;
    plan.steps.iter().filter(move |s| active && !s.status.is_settled() && s.reminder_on() == Some(date))
}

/// The plan-step rule.
pub struct PlanStepReminder;

impl Rule for PlanStepReminder {
    fn kind(&self) -> &'static str {
        KIND
    }
    fn description(&self) -> &'static str {
        "Treatment-plan steps: a reminder to the owner the step's lead days before it"
    }
    fn category(&self) -> TemplateCategory {
        TemplateCategory::PlanStepReminder
    }
    fn purpose(&self, _: &Settings) -> Purpose {
        Purpose::Transactional
    }
    fn trigger(&self) -> Trigger {
        Trigger::Sweep
    }
    fn params(&self) -> &'static [Param] {
        &[]
    }

    fn due_on(&self, env: &Env, _: &Settings, date: Date) -> Result<Vec<Due>> {
        let r = env.read()?;
        let mut out = Vec::new();
        for plan in env.all::<TreatmentPlan>(RecordTable::TreatmentPlans)? {
            let steps: Vec<&PlanStep> = due_steps(&plan, date).collect();
            if steps.is_empty() {
                continue;
            }
            let Some(cat) = r.get::<Patient>(RecordTable::Patients, plan.patient_id.as_u128())? else { continue };
            let Some(client) = r.get::<Client>(RecordTable::Clients, cat.client_id.as_u128())? else { continue };
            let patients = alive([cat]);
            if patients.is_empty() {
                continue;
            }
            for s in steps {
                let values = BTreeMap::from([
                    ("step_title".to_owned(), s.title.clone()),
                    ("step_date".to_owned(), s.date.strftime("%B %-d").to_string()),
                    ("plan_name".to_owned(), plan.name.clone()),
                ]);
                out.push(Due {
                    key: format!("{KIND}:{}:{}:{}", plan.id, s.number, s.date),
                    client: client.clone(),
                    patients: patients.clone(),
                    due_at: env.now(),
                    values,
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use clowder_schemas::protocols::StepStatus;
    use jiff::civil::date;

    use super::*;
    use crate::clinical::treatment_plans::sample_plan;

    fn plan() -> TreatmentPlan {
        sample_plan(&[(0, Some(0)), (7, Some(2)), (21, None)])
    }

    #[test]
    fn an_open_step_of_an_active_plan_is_due_its_lead_days_before_and_only_then() {
        let p = plan();
        let numbers = |p: &TreatmentPlan, d| due_steps(p, d).map(|s| s.number).collect::<Vec<_>>();
        assert_eq!(numbers(&p, date(2026, 12, 1)), [1], "a lead of 0: the step's own day");
        assert_eq!(numbers(&p, date(2026, 12, 6)), [2], "2 days before the 8th");
        assert!(numbers(&p, date(2026, 12, 7)).is_empty());
        assert!(numbers(&p, date(2026, 12, 20)).is_empty(), "no lead, no reminder");
        let mut booked = p.clone();
        booked.steps[1].status = StepStatus::Booked;
        assert_eq!(numbers(&booked, date(2026, 12, 6)), [2], "a booked step is still reminded");
        let mut done = p.clone();
        done.steps[1].status = StepStatus::Done;
        assert!(numbers(&done, date(2026, 12, 6)).is_empty(), "a settled step is not");
        let mut cancelled = p;
        cancelled.status = PlanStatus::Cancelled;
        assert!(numbers(&cancelled, date(2026, 12, 6)).is_empty(), "nor a step of a cancelled plan");
    }
}
