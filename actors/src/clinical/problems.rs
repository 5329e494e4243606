//! The problem list as a record kind: a problem belongs to a cat on file (a deceased cat's
//! problems may still be recorded: a post-mortem diagnosis is part of the record); its changes
//! are merge patches whose history is the audit trail and the event log (each change names
//! its fields). Each problem is linked under its cat in `problems_by_patient`.

use clowder_schemas::PatientId;
use clowder_schemas::audit::Caller;
use clowder_schemas::events::DomainEvent;
use clowder_schemas::ids::ProblemId;
use clowder_schemas::patients::Patient;
use clowder_schemas::problems::{Problem, ProblemDraft, ProblemStatus, UpdateProblem};

use crate::error::{Error, Result};
use crate::records::page::Page;
use crate::records::{Claim, DecideCtx, Decision, Link, RecordKind, Records};
use crate::store::{IndexTable, RecordTable};

/// The problems service: [`Records`] plus `update` and `list_for_patient`.
pub type Problems = Records<ProblemKind>;

/// The problem record kind.
pub struct ProblemKind;

/// A change to a problem.
#[derive(Debug)]
pub enum ProblemCommand {
    Update(UpdateProblem),
}

impl RecordKind for ProblemKind {
    type Record = Problem;
    type Id = ProblemId;
    type Draft = ProblemDraft;
    type Command = ProblemCommand;
    type Filter = ProblemFilter;

    const KIND: &'static str = "problem";
    const TABLE: RecordTable = RecordTable::Problems;
    const READ_ACTION: &'static str = "problem.read";
    const LIST_ACTION: &'static str = "problem.list";

    fn id(p: &Problem) -> ProblemId {
        p.id
    }

    fn not_found(id: ProblemId) -> Error {
        Error::ProblemNotFound(id)
    }

    fn claims(_: &Problem) -> impl Iterator<Item = Claim<'_>> {
        std::iter::empty()
    }

    fn links(p: &Problem) -> impl Iterator<Item = Link> {
        std::iter::once(Link { index: IndexTable::ProblemsByPatient, parent: p.patient_id.as_u128() })
    }

    fn matches(f: &ProblemFilter, p: &Problem) -> bool {
        f.patient_id.is_none_or(|id| id == p.patient_id) && f.statuses.as_ref().is_none_or(|s| s.contains(&p.status))
    }

    fn list_via(f: &ProblemFilter) -> Option<Link> {
        f.patient_id.map(|p| Link { index: IndexTable::ProblemsByPatient, parent: p.as_u128() })
    }

    fn decide_create(ctx: &DecideCtx<'_>, id: ProblemId, draft: ProblemDraft) -> Result<Decision<Problem>> {
        decide_create(ctx, id, draft)
    }

    fn decide(ctx: &DecideCtx<'_>, current: &Problem, command: ProblemCommand) -> Result<Option<Decision<Problem>>> {
        match command {
            ProblemCommand::Update(patch) => decide_update(ctx, current, &patch),
        }
    }
}

/// A new problem of a cat on file.
pub fn decide_create(ctx: &DecideCtx<'_>, id: ProblemId, draft: ProblemDraft) -> Result<Decision<Problem>> {
    if ctx.get::<Patient>(RecordTable::Patients, draft.patient_id.as_u128())?.is_none() {
        return Err(Error::PatientNotFound(draft.patient_id));
    }
    super::visits::check_visit_of(ctx, draft.visit_id, draft.patient_id)?;
    let problem = draft.into_problem(id, ctx.now, ctx.caller.user_id());
    Ok(Decision {
        event: DomainEvent::ProblemAdded { problem_id: id, patient_id: problem.patient_id },
        record: problem,
        changed: Vec::new(),
        action: "problem.create",
    })
}

/// A merge patch (dates checked against the clinic's today); one that changes nothing writes
/// nothing.
pub fn decide_update(
    ctx: &DecideCtx<'_>,
    current: &Problem,
    patch: &UpdateProblem,
) -> Result<Option<Decision<Problem>>> {
    let (mut new, changed) = patch.apply(current, ctx.today())?;
    if changed.is_empty() {
        return Ok(None);
    }
    new.updated_at = ctx.now;
    let event = DomainEvent::ProblemUpdated {
        problem_id: new.id,
        patient_id: new.patient_id,
        changed: changed.iter().map(|s| s.to_string()).collect(),
    };
    Ok(Some(Decision { record: new, changed, event, action: "problem.update" }))
}

/// Which problems a list shows.
#[derive(Debug, Clone, Default)]
pub struct ProblemFilter {
    pub patient_id: Option<PatientId>,
    /// `None`: every status.
    pub statuses: Option<Vec<ProblemStatus>>,
}

impl Problems {
    /// Applies a merge patch to a problem.
    pub async fn update(&self, id: ProblemId, patch: UpdateProblem, caller: &Caller) -> Result<Problem> {
        self.command(id, ProblemCommand::Update(patch), caller).await
    }

    /// A cat's problems, newest first, below the key `before`; audited.
    pub async fn list_for_patient(
        &self,
        patient: PatientId,
        statuses: Option<Vec<ProblemStatus>>,
        before: Option<u128>,
        limit: usize,
        caller: &Caller,
    ) -> Result<Page<Problem>> {
        let filter = ProblemFilter { patient_id: Some(patient), statuses };
        self.list_newest_first(&filter, before, limit, caller).await
    }
}

#[cfg(test)]
mod tests {
    use clowder_schemas::UserId;
    use clowder_schemas::events::Author;
    use clowder_schemas::problems::CreateProblem;
    use jiff::Timestamp;

    use super::*;
    use crate::ctx::SystemConfig;
    use crate::records::linked;

    fn caller() -> Caller {
        Caller { actor: Some(Author::User(UserId::from_u128(7))), ..Caller::default() }
    }

    fn problem() -> Problem {
        let body: CreateProblem = serde_json::from_value(
            serde_json::json!({"patient_id": PatientId::from_u128(10), "name": "Chronic kidney disease", "status": "chronic", "onset": "2025-01-10"}),
        )
        .unwrap();
        body.validate(jiff::civil::date(2026, 1, 1)).unwrap().into_problem(
            ProblemId::from_u128(1),
            Timestamp::UNIX_EPOCH,
            None,
        )
    }

    #[test]
    fn an_update_names_its_fields_in_the_event_and_a_no_op_writes_nothing() {
        let (settings, caller) = (SystemConfig::new("unused"), caller());
        let now: Timestamp = "2026-06-01T12:00:00Z".parse().unwrap();
        let ctx = DecideCtx::new(now, &settings, &caller, None);
        let p = problem();
        let patch: UpdateProblem =
            serde_json::from_value(serde_json::json!({"status": "resolved", "resolved_on": "2026-05-30"})).unwrap();
        let d = decide_update(&ctx, &p, &patch).unwrap().unwrap();
        assert_eq!((d.changed.as_slice(), d.action), (["status", "resolved_on"].as_slice(), "problem.update"));
        assert!(
            matches!(d.event, DomainEvent::ProblemUpdated { ref changed, .. } if changed == &["status", "resolved_on"])
        );
        assert_eq!(d.record.updated_at, now);
        let same: UpdateProblem = serde_json::from_value(serde_json::json!({"status": "chronic"})).unwrap();
        assert!(decide_update(&ctx, &p, &same).unwrap().is_none());
        let before_onset: UpdateProblem =
            serde_json::from_value(serde_json::json!({"status": "resolved", "resolved_on": "2024-12-01"})).unwrap();
        let e = decide_update(&ctx, &p, &before_onset).unwrap_err();
        assert!(matches!(e, Error::Validation(ref v) if v.field == "resolved_on"), "{e:?}");
    }

    #[test]
    fn a_problem_is_linked_under_its_cat_and_filtered_by_status() {
        let p = problem();
        let links: Vec<_> = linked::<ProblemKind>(None, &p).collect();
        assert_eq!(links, [Link { index: IndexTable::ProblemsByPatient, parent: 10 }]);
        let current =
            ProblemFilter { patient_id: None, statuses: Some(vec![ProblemStatus::Active, ProblemStatus::Chronic]) };
        assert!(ProblemKind::matches(&current, &p));
        let resolved = ProblemFilter { patient_id: None, statuses: Some(vec![ProblemStatus::Resolved]) };
        assert!(!ProblemKind::matches(&resolved, &p));
    }
}
