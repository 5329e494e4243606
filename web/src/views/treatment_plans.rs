//! The treatment-plan screens: `/treatment-plans/{id}` (the steps on a timeline with their
//! status, progress, estimated against actual cost, the done/skip/move/book forms and the
//! history) and the cat page's plans block with "Apply a protocol". Every label, amount and
//! offered action is decided here; `plans.js` posts the forms to the JSON API and swaps in the
//! body the server renders again.

use askama::Template;
use clowder_schemas::UserId;
use clowder_schemas::appointments::Status as AppointmentStatus;
use clowder_schemas::ids::AppointmentId;
use clowder_schemas::protocols::{PlanStatus, PlanView, Protocol, RevisionKind, StepKind, StepStatus, TreatmentPlan};

use super::Nav;

/// A plan's status in words.
pub fn plan_status(s: PlanStatus) -> (&'static str, &'static str) {
    match s {
        PlanStatus::Active => ("active", "Active"),
        PlanStatus::Completed => ("completed", "Completed"),
        PlanStatus::Cancelled => ("cancelled", "Cancelled"),
    }
}

/// A step's status in words.
pub fn step_status(s: StepStatus) -> &'static str {
    match s {
        StepStatus::Planned => "Planned",
        StepStatus::Booked => "Booked",
        StepStatus::Done => "Done",
        StepStatus::Skipped => "Skipped",
    }
}

/// A step's kind in words.
pub fn step_kind(k: StepKind) -> &'static str {
    match k {
        StepKind::Exam => "Exam",
        StepKind::Procedure => "Procedure",
        StepKind::Lab => "Lab work",
        StepKind::Vaccination => "Vaccination",
        StepKind::Medication => "Medication",
        StepKind::Recheck => "Recheck",
        StepKind::Other => "Other",
    }
}

fn revision_kind(k: RevisionKind) -> &'static str {
    match k {
        RevisionKind::Created => "Created",
        RevisionKind::StepMoved => "Step moved",
        RevisionKind::StepAdded => "Step added",
        RevisionKind::StepRemoved => "Step removed",
        RevisionKind::StepBooked => "Step booked",
        RevisionKind::StepDone => "Step done",
        RevisionKind::StepSkipped => "Step skipped",
        RevisionKind::Completed => "Completed",
        RevisionKind::Cancelled => "Cancelled",
    }
}

/// One step on the timeline.
#[derive(Debug, Clone)]
pub struct StepRow {
    pub number: u32,
    pub title: String,
    pub kind: &'static str,
    pub date: String,
    pub cost: String,
    pub status_key: &'static str,
    pub status: &'static str,
    /// Why it was skipped or moved, when it was.
    pub reason: String,
    /// The appointment it is booked in, as a link.
    pub appointment: Option<String>,
    /// When that appointment starts ("22 Dec 2026 09:00", "… (cancelled)" once it no longer
    /// takes place); empty when the caller may not read appointments or it is gone.
    pub appointment_at: String,
    /// Whether done, skip and move are offered (an open step of an active plan, for an editor).
    pub can_settle: bool,
    /// Whether "Offer slots" is offered (an open step with an appointment type, not booked in
    /// an appointment that still takes place).
    pub can_book: bool,
}

/// One entry of the history.
#[derive(Debug, Clone)]
pub struct HistoryRow {
    pub number: u32,
    pub kind: &'static str,
    pub detail: String,
    pub reason: String,
    pub by: String,
    pub at: String,
}

/// The body of `/treatment-plans/{id}` (answered alone to `HX-Request`).
#[derive(Debug, Clone)]
pub struct PlanBody {
    pub id: String,
    pub name: String,
    pub cat: String,
    pub cat_href: String,
    pub patient_id: String,
    pub status_key: &'static str,
    pub status: &'static str,
    pub start_date: String,
    pub done: usize,
    pub total: usize,
    pub percent: usize,
    pub estimated: String,
    pub actual: String,
    pub steps: Vec<StepRow>,
    pub history: Vec<HistoryRow>,
    /// Whether the cancel form shows.
    pub can_change: bool,
}

impl PlanBody {
    /// `editor`: whether the caller may change plans (`POST .../changes`); `book`: whether
    /// they may also book (`POST /api/appointments`); `who` names a user; `appointment` reads
    /// a booked step's appointment (its start and status), `None` when it may not be shown.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        v: &PlanView,
        cat: String,
        editor: bool,
        book: bool,
        who: impl Fn(Option<UserId>) -> String,
        when: impl Fn(jiff::Timestamp) -> String,
        appointment: impl Fn(AppointmentId) -> Option<(jiff::Timestamp, AppointmentStatus)>,
    ) -> PlanBody {
        let p: &TreatmentPlan = &v.plan;
        let open = editor && p.status == PlanStatus::Active;
        let (status_key, status) = plan_status(p.status);
        PlanBody {
            id: p.id.to_string(),
            name: p.name.clone(),
            cat,
            cat_href: format!("/patients/{}", p.patient_id),
            patient_id: p.patient_id.to_string(),
            status_key,
            status,
            start_date: p.start_date.to_string(),
            done: v.done,
            total: v.total,
            percent: (v.done * 100).checked_div(v.total).unwrap_or(0),
            estimated: v.estimated_total.to_string(),
            actual: v.actual_total.to_string(),
            steps: p
                .steps
                .iter()
                .map(|s| {
                    let booked_in = s.appointment_id.and_then(&appointment);
                    // A step booked in an appointment since cancelled or missed is booked again.
                    let bookable = match s.status {
                        StepStatus::Planned => true,
                        StepStatus::Booked => booked_in.is_some_and(|(_, st)| !st.takes_place()),
                        StepStatus::Done | StepStatus::Skipped => false,
                    };
                    StepRow {
                        number: s.number,
                        title: s.title.clone(),
                        kind: step_kind(s.kind),
                        date: s.date.to_string(),
                        cost: s.cost.to_string(),
                        status_key: s.status.as_str(),
                        status: step_status(s.status),
                        reason: s.reason.clone().unwrap_or_default(),
                        appointment: s.appointment_id.map(|a| format!("/api/appointments/{a}")),
                        appointment_at: booked_in
                            .map(|(start, status)| match status {
                                AppointmentStatus::Cancelled => format!("{} (cancelled)", when(start)),
                                AppointmentStatus::NoShow => format!("{} (no-show)", when(start)),
                                _ => when(start),
                            })
                            .unwrap_or_default(),
                        can_settle: open && !s.status.is_settled(),
                        can_book: open && book && bookable && s.appointment_type_id.is_some(),
                    }
                })
                .collect(),
            history: p
                .history
                .iter()
                .rev()
                .map(|r| HistoryRow {
                    number: r.number,
                    kind: revision_kind(r.kind),
                    detail: r.detail.clone(),
                    reason: r.reason.clone().unwrap_or_default(),
                    by: who(r.by),
                    at: when(r.at),
                })
                .collect(),
            can_change: open,
        }
    }
}

/// `/treatment-plans/{id}`.
#[derive(Template)]
#[template(path = "treatment_plan.html")]
pub struct PlanPage {
    pub nav: Nav,
    pub b: PlanBody,
}

/// The body of `/treatment-plans/{id}` alone.
#[derive(Template)]
#[template(path = "treatment_plan_body.html")]
pub struct PlanFragment {
    pub b: PlanBody,
}

/// A cat's plan in the cat page's list.
#[derive(Debug, Clone)]
pub struct PlanLine {
    pub href: String,
    pub name: String,
    pub status_key: &'static str,
    pub status: &'static str,
    pub start_date: String,
    pub progress: String,
}

impl PlanLine {
    pub fn of(p: &TreatmentPlan) -> PlanLine {
        let (done, total) = p.progress();
        let (status_key, status) = plan_status(p.status);
        PlanLine {
            href: format!("/treatment-plans/{}", p.id),
            name: p.name.clone(),
            status_key,
            status,
            start_date: p.start_date.to_string(),
            progress: format!("{done} of {total} done"),
        }
    }
}

/// The cat page's treatment-plans block (`patient_plans.html`).
#[derive(Debug, Clone, Default)]
pub struct PatientPlans {
    pub patient_id: String,
    pub plans: Vec<PlanLine>,
    /// The active protocols (id, name) offered by "Apply a protocol"; empty when the caller
    /// may not apply one.
    pub protocols: Vec<(String, String)>,
    pub can_apply: bool,
    /// Today, the start date's default.
    pub today: String,
}

impl PatientPlans {
    pub fn new(
        patient_id: String,
        plans: &[TreatmentPlan],
        protocols: &[Protocol],
        can_apply: bool,
        today: String,
    ) -> Self {
        PatientPlans {
            patient_id,
            plans: plans.iter().map(PlanLine::of).collect(),
            protocols: protocols.iter().filter(|p| p.active).map(|p| (p.id.to_string(), p.name.clone())).collect(),
            can_apply,
            today,
        }
    }
}
