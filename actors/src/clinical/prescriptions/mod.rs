//! Prescriptions as a record kind. Prescribing is decided against the store's snapshot:
//!
//! - the caller's staff profile must be active and hold `can_prescribe` (else 403 naming the
//!   capability; the route's `prescriptions:create` is checked before);
//! - the drug, form and strength come from the current `formulary` fact set; a drug marked
//!   feline-toxic is refused;
//! - the dose is computed from the cat's **newest recorded weight** (the vitals record is kept
//!   on the prescription); with no weight on record prescribing is refused, never assumed;
//! - warnings are kept on the record: a dose per kg (asked, or given after rounding) outside
//!   the feline range; a frequency the formulary does not list; an NSAID for a cat with chronic
//!   kidney disease on its current problem list ([`is_ckd`]); an interaction (current
//!   `drug_interactions` fact set) with another active prescription. The CKD warning and
//!   severe interactions need a written `override_reason`, which is stored and makes the
//!   audit action `prescription.create_override`.
//!
//! After prescribing, a prescription is refilled (each refill decrements what remains; none
//! left is 409), completed, or cancelled with a reason; nothing else about it changes.

use std::cmp::Reverse;
use std::ops::ControlFlow;

use clowder_schemas::audit::Caller;
use clowder_schemas::events::DomainEvent;
use clowder_schemas::formulary::{DrugInteractions, Formulary, InteractionSeverity, calculate, num};
use clowder_schemas::ids::{PrescriptionId, VitalsId};
use clowder_schemas::patients::{Patient, PatientStatus};
use clowder_schemas::prescriptions::{
    Prescription, PrescriptionDraft, PrescriptionStatus, Refill, Warning, WarningKind,
};
use clowder_schemas::problems::Problem;
use clowder_schemas::staff::StaffProfile;
use clowder_schemas::vitals::Vitals;
use clowder_schemas::{PatientId, StaffId, ValidationError};
use jiff::Timestamp;

use super::facts;
use crate::error::{Error, Result};
use crate::records::{Claim, DecideCtx, Decision, Link, RecordKind, Records};
use crate::store::tables::unique;
use crate::store::{IndexTable, RecordTable};

/// The prescriptions service: [`Records`] plus `refill`, `complete`, `cancel` and
/// `list_for_patient`.
pub type Prescriptions = Records<PrescriptionKind>;

/// The prescription record kind.
pub struct PrescriptionKind;

/// A change to a prescription.
#[derive(Debug)]
pub enum PrescriptionCommand {
    Refill,
    Complete,
    Cancel {
        reason: String,
    },
    /// Dispenses a fill (default the newest) from stock: decided here, after the status
    /// (only an active prescription is dispensed) and the fill are checked, by `plan`, which
    /// returns the stock's writes; `locks` (the stock's, the register's) are held by the
    /// actor until they commit, so a cancel and a dispense of one prescription never race.
    Dispense {
        fill: Option<u32>,
        locks: Vec<std::sync::Arc<tokio::sync::Mutex<()>>>,
        plan: DispensePlan,
    },
}

/// The stock's writes for dispensing fill `fill` of a prescription, worked out by inventory
/// from the decision's snapshot (inventory depends on clinical, not the other way round).
pub struct DispensePlan(
    #[allow(clippy::type_complexity)]
    pub  Box<dyn FnOnce(&DecideCtx<'_>, &Prescription, u32) -> Result<crate::store::ChangeSet> + Send>,
);

impl std::fmt::Debug for DispensePlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DispensePlan")
    }
}

/// Which prescriptions a list shows.
#[derive(Debug, Clone, Default)]
pub struct PrescriptionFilter {
    pub patient_id: Option<PatientId>,
    pub status: Option<PrescriptionStatus>,
}

impl RecordKind for PrescriptionKind {
    type Record = Prescription;
    type Id = PrescriptionId;
    type Draft = PrescriptionDraft;
    type Command = PrescriptionCommand;
    type Filter = PrescriptionFilter;

    const KIND: &'static str = "prescription";
    const TABLE: RecordTable = RecordTable::Prescriptions;
    const READ_ACTION: &'static str = "prescription.read";
    const LIST_ACTION: &'static str = "prescription.list";

    fn id(p: &Prescription) -> PrescriptionId {
        p.id
    }

    fn not_found(id: PrescriptionId) -> Error {
        Error::PrescriptionNotFound(id)
    }

    fn claims(_: &Prescription) -> impl Iterator<Item = Claim<'_>> {
        std::iter::empty()
    }

    fn links(p: &Prescription) -> impl Iterator<Item = Link> {
        let parent = p.patient_id.as_u128();
        // Linked while active: the link is dropped in the change set that completes or
        // cancels it (links are diffed), so the index holds exactly the active ones.
        let active = (p.status == PrescriptionStatus::Active)
            .then_some(Link { index: IndexTable::ActivePrescriptionsByPatient, parent });
        std::iter::once(Link { index: IndexTable::PrescriptionsByPatient, parent }).chain(active)
    }

    fn matches(f: &PrescriptionFilter, p: &Prescription) -> bool {
        f.patient_id.is_none_or(|id| id == p.patient_id) && f.status.is_none_or(|s| s == p.status)
    }

    fn list_via(f: &PrescriptionFilter) -> Option<Link> {
        let index = match f.status {
            Some(PrescriptionStatus::Active) => IndexTable::ActivePrescriptionsByPatient,
            _ => IndexTable::PrescriptionsByPatient,
        };
        f.patient_id.map(|p| Link { index, parent: p.as_u128() })
    }

    fn decide_create(
        ctx: &DecideCtx<'_>,
        id: PrescriptionId,
        draft: PrescriptionDraft,
    ) -> Result<Decision<Prescription>> {
        decide_create(ctx, id, draft)
    }

    fn decide(
        ctx: &DecideCtx<'_>,
        current: &Prescription,
        command: PrescriptionCommand,
    ) -> Result<Option<Decision<Prescription>>> {
        decide(ctx, current, command)
    }

    fn locks(command: &PrescriptionCommand) -> Vec<std::sync::Arc<tokio::sync::Mutex<()>>> {
        match command {
            PrescriptionCommand::Dispense { locks, .. } => locks.clone(),
            _ => Vec::new(),
        }
    }
}

/// True if a problem names chronic kidney disease: its name says "chronic kidney disease",
/// "chronic renal disease", "chronic renal failure" or the word "CKD" (any case), or its code
/// is SNOMED CT 709044004 (chronic kidney disease) or contains "ckd". Only current problems
/// (active or chronic) are asked.
pub fn is_ckd(p: &Problem) -> bool {
    let name = p.name.to_lowercase();
    let words = name.split(|c: char| !c.is_alphanumeric()).any(|w| w == "ckd");
    let code = p.code.as_deref().map(str::to_lowercase).unwrap_or_default();
    words
        || ["chronic kidney disease", "chronic renal disease", "chronic renal failure"].iter().any(|s| name.contains(s))
        || code == "709044004"
        || code.contains("ckd")
}

/// The prescriber's staff profile, if it may prescribe.
fn prescriber(ctx: &DecideCtx<'_>) -> Result<StaffId> {
    let refuse = |why| Error::CapabilityRequired { capability: "can_prescribe", doing: "prescribing", why };
    let user = ctx.caller.user_id().ok_or_else(|| refuse("is missing (not signed in as staff)"))?;
    let key = ctx.reader()?.unique_owner(unique::STAFF_USER, &user.to_string())?;
    let profile = match key {
        Some(k) => ctx.get::<StaffProfile>(RecordTable::Staff, k)?,
        None => None,
    };
    match profile {
        None => Err(refuse("is missing: your account has no staff profile")),
        Some(p) if !p.active => Err(refuse("is inactive")),
        Some(p) if !p.capabilities.can_prescribe => Err(refuse("does not have it")),
        Some(p) => Ok(p.id),
    }
}

/// The cat's newest recorded weight: (kg, the vitals record, when it was taken).
pub fn newest_weight(ctx: &DecideCtx<'_>, patient: PatientId) -> Result<Option<(f64, VitalsId, Timestamp)>> {
    let reader = ctx.reader()?;
    let mut found = None;
    reader.children_rev(IndexTable::VitalsByPatient, patient.as_u128(), None, |k| {
        Ok(match reader.get::<Vitals>(RecordTable::Vitals, k)? {
            Some(v) if v.measurements.weight_kg.is_some() => {
                found = v.measurements.weight_kg.map(|w| (w, v.id, v.taken_at));
                ControlFlow::Break(())
            }
            _ => ControlFlow::Continue(()),
        })
    })?;
    Ok(found)
}

fn children<R: clowder_schemas::records::Record>(
    ctx: &DecideCtx<'_>,
    index: IndexTable,
    table: RecordTable,
    parent: u128,
) -> Result<Vec<R>> {
    let reader = ctx.reader()?;
    let mut out = Vec::new();
    for k in reader.children(index, parent, None)? {
        if let Some(r) = reader.get::<R>(table, k)? {
            out.push(r);
        }
    }
    Ok(out)
}

/// Decides a new prescription (see the module doc for every check, in order).
pub fn decide_create(ctx: &DecideCtx<'_>, id: PrescriptionId, d: PrescriptionDraft) -> Result<Decision<Prescription>> {
    let prescriber_staff_id = prescriber(ctx)?;
    let patient = ctx
        .get::<Patient>(RecordTable::Patients, d.patient_id.as_u128())?
        .ok_or(Error::PatientNotFound(d.patient_id))?;
    if patient.status == PatientStatus::Deceased {
        return Err(ValidationError::new("patient_id", "the cat is deceased: nothing can be prescribed").into());
    }
    let (formulary_version, formulary) = facts::current::<Formulary>(ctx)?;
    let (interactions_version, interactions) = facts::current::<DrugInteractions>(ctx)?;
    let drug = formulary.find(&d.drug).ok_or_else(|| {
        ValidationError::new("drug", format!("{:?} is not in the formulary (version {formulary_version})", d.drug))
    })?;
    if let Some(why) = &drug.feline_toxic {
        return Err(ValidationError::new(
            "drug",
            format!("{} is toxic to cats and cannot be prescribed: {why}", drug.name),
        )
        .into());
    }
    let form = drug.form(d.form).ok_or_else(|| {
        let forms: Vec<&str> = drug.forms.iter().map(|f| f.form.as_str()).collect();
        ValidationError::new("form", format!("{} comes as {}", drug.name, forms.join(", ")))
    })?;
    let u = drug.dose_unit.as_str();
    let per = if form.form.is_solid() { form.form.unit() } else { "mL" };
    if !form.strengths.iter().any(|s| (s - d.strength).abs() < 1e-9) {
        let list: Vec<String> = form.strengths.iter().map(|s| format!("{} {u}/{per}", num(*s))).collect();
        return Err(ValidationError::new(
            "strength",
            format!("{} {} comes in {}", drug.name, form.form.as_str(), list.join(", ")),
        )
        .into());
    }
    let (weight_kg, weight_vitals_id, weighed_at) = newest_weight(ctx, d.patient_id)?.ok_or_else(|| {
        ValidationError::new(
            "weight",
            format!(
                "{} has no weight on record: weigh the cat and record it (POST /api/vitals) before prescribing; a dose is never calculated from an assumed weight",
                patient.name
            ),
        )
    })?;
    let dose = calculate(d.dose_per_kg, weight_kg, drug.dose_unit, form.form, d.strength, form.split)?;

    let mut warnings = Vec::new();
    let warn = |kind, message: String, needs_override| Warning {
        kind,
        message,
        needs_override,
        prescription_id: None,
        severity: None,
    };
    if let Some(r) = drug.range(form) {
        let range = format!("{}–{} {u}/kg", num(r.min_per_kg), num(r.max_per_kg));
        if !r.contains(dose.per_kg) {
            warnings.push(warn(
                WarningKind::DoseRange,
                format!(
                    "{} {u}/kg is outside the feline range of {} {} ({range}, formulary version {formulary_version})",
                    num(dose.per_kg),
                    drug.name,
                    form.form.as_str()
                ),
                false,
            ));
        } else if !r.contains(dose.given_per_kg) {
            warnings.push(warn(
                WarningKind::DoseRange,
                format!(
                    "rounded to {} {}, the cat receives {} {u}/kg, outside the feline range {range}",
                    num(dose.amount),
                    dose.measure,
                    num(dose.given_per_kg)
                ),
                false,
            ));
        }
    }
    if !drug.frequencies.is_empty() && !drug.frequencies.contains(&d.frequency) {
        warnings.push(warn(
            WarningKind::Frequency,
            format!("{} is usually given {}", drug.name, drug.frequencies.join(", ")),
            false,
        ));
    }
    if drug.is_nsaid() {
        let problems: Vec<Problem> =
            children(ctx, IndexTable::ProblemsByPatient, RecordTable::Problems, d.patient_id.as_u128())?;
        if let Some(p) = problems.iter().find(|p| p.status.is_current() && is_ckd(p)) {
            warnings.push(warn(
                WarningKind::NsaidCkd,
                format!(
                    "{} is an NSAID and {} has chronic kidney disease on the problem list ({:?}): NSAIDs can worsen kidney function; a written override reason is needed",
                    drug.name, patient.name, p.name
                ),
                true,
            ));
        }
    }
    // Only the active ones are read (the cat's index of active prescriptions).
    let others: Vec<Prescription> =
        children(ctx, IndexTable::ActivePrescriptionsByPatient, RecordTable::Prescriptions, d.patient_id.as_u128())?;
    for other in others.iter().filter(|o| o.status == PrescriptionStatus::Active) {
        let Some(other_drug) = formulary.find(&other.drug_id) else { continue };
        if let Some(pair) = interactions.between(drug, other_drug) {
            let severe = pair.severity == InteractionSeverity::Severe;
            warnings.push(Warning {
                kind: WarningKind::Interaction,
                message: format!(
                    "{:?} interaction with {} (prescription {}): {}{}",
                    pair.severity,
                    other_drug.name,
                    other.id,
                    pair.effect,
                    if severe { " A written override reason is needed." } else { "" }
                )
                .to_lowercase_first(),
                needs_override: severe,
                prescription_id: Some(other.id),
                severity: Some(pair.severity),
            });
        }
    }
    let needing: Vec<&str> = warnings.iter().filter(|w| w.needs_override).map(|w| w.message.as_str()).collect();
    if !needing.is_empty() && d.override_reason.is_none() {
        return Err(ValidationError::new(
            "override_reason",
            format!("a written override reason is needed to prescribe this: {}", needing.join("; ")),
        )
        .into());
    }
    let overridden = !needing.is_empty();
    let record = Prescription {
        id,
        patient_id: d.patient_id,
        visit_id: d.visit_id,
        drug_id: drug.id.clone(),
        drug_name: drug.name.clone(),
        drug_class: drug.class.clone(),
        form: form.form,
        strength: d.strength,
        schedule: drug.schedule,
        dose,
        weight_vitals_id,
        weighed_at,
        route: d.route,
        frequency: d.frequency,
        duration_days: d.duration_days,
        quantity: d.quantity,
        quantity_unit: form.form.unit().to_owned(),
        refills_allowed: d.refills_allowed,
        refills_remaining: d.refills_allowed,
        refills: Vec::new(),
        instructions: d.instructions,
        status: PrescriptionStatus::Active,
        cancel_reason: None,
        warnings,
        // A reason given when nothing needed one is kept too: it is what the vet wrote.
        override_reason: d.override_reason,
        prescribed_by: ctx.caller.user_id(),
        prescriber_staff_id,
        formulary_version,
        interactions_version,
        created_at: ctx.now,
        updated_at: ctx.now,
        created_by: ctx.caller.user_id(),
    };
    Ok(Decision {
        event: DomainEvent::PrescriptionCreated { prescription_id: id, patient_id: record.patient_id },
        record,
        changed: Vec::new(),
        action: if overridden { "prescription.create_override" } else { "prescription.create" },
    })
}

trait LowerFirst {
    fn to_lowercase_first(self) -> String;
}

impl LowerFirst for String {
    /// `Severe interaction …` reads as `severe interaction …`.
    fn to_lowercase_first(self) -> String {
        let mut c = self.chars();
        match c.next() {
            Some(f) => f.to_lowercase().chain(c).collect(),
            None => self,
        }
    }
}

fn status_word(s: PrescriptionStatus) -> &'static str {
    match s {
        PrescriptionStatus::Active => "active",
        PrescriptionStatus::Completed => "completed",
        PrescriptionStatus::Cancelled => "cancelled",
    }
}

/// Refill, complete, cancel.
pub fn decide(
    ctx: &DecideCtx<'_>,
    current: &Prescription,
    command: PrescriptionCommand,
) -> Result<Option<Decision<Prescription>>> {
    let mut new = current.clone();
    let (changed, action): (Vec<&'static str>, &'static str) = match command {
        PrescriptionCommand::Dispense { fill, plan, .. } => {
            if current.status != PrescriptionStatus::Active {
                return Err(Error::PrescriptionNotActive { status: status_word(current.status), action: "dispensed" });
            }
            let fills = current.refills.len() as u32;
            let fill = fill.unwrap_or(fills);
            if fill > fills {
                return Err(ValidationError::new(
                    "fill",
                    format!("fill {fill} has not been given: the prescription has {fills} refill(s) recorded"),
                )
                .into());
            }
            ctx.write_also((plan.0)(ctx, current, fill)?);
            // The prescription itself is unchanged (the stock's entries name it and the fill):
            // neither it nor an event is written, only the stock's rows and the audit entry.
            ctx.record_unchanged();
            let event = DomainEvent::PrescriptionUpdated {
                prescription_id: current.id,
                patient_id: current.patient_id,
                changed: Vec::new(),
            };
            return Ok(Some(Decision { record: new, changed: Vec::new(), event, action: "prescription.dispense" }));
        }
        PrescriptionCommand::Refill => {
            if current.status != PrescriptionStatus::Active {
                return Err(Error::PrescriptionNotActive { status: status_word(current.status), action: "refilled" });
            }
            if current.refills_remaining == 0 {
                return Err(Error::NoRefillsLeft(current.id));
            }
            new.refills_remaining -= 1;
            new.refills.push(Refill { at: ctx.now, by: ctx.caller.user_id() });
            (vec!["refills_remaining", "refills"], "prescription.refill")
        }
        PrescriptionCommand::Complete => match current.status {
            PrescriptionStatus::Completed => return Ok(None),
            PrescriptionStatus::Cancelled => {
                return Err(Error::PrescriptionNotActive { status: "cancelled", action: "completed" });
            }
            PrescriptionStatus::Active => {
                new.status = PrescriptionStatus::Completed;
                (vec!["status"], "prescription.complete")
            }
        },
        PrescriptionCommand::Cancel { reason } => match current.status {
            PrescriptionStatus::Cancelled => return Ok(None),
            PrescriptionStatus::Completed => {
                return Err(Error::PrescriptionNotActive { status: "completed", action: "cancelled" });
            }
            PrescriptionStatus::Active => {
                new.status = PrescriptionStatus::Cancelled;
                new.cancel_reason = Some(reason);
                (vec!["status", "cancel_reason"], "prescription.cancel")
            }
        },
    };
    new.updated_at = ctx.now;
    let event = DomainEvent::PrescriptionUpdated {
        prescription_id: new.id,
        patient_id: new.patient_id,
        changed: changed.iter().map(|s| s.to_string()).collect(),
    };
    Ok(Some(Decision { record: new, changed, event, action }))
}

/// The most prescriptions one cat's list shows (ten years of a chronic cat is about 80).
pub const MAX_LIST: usize = 1_000;

impl Prescriptions {
    pub async fn refill(&self, id: PrescriptionId, caller: &Caller) -> Result<Prescription> {
        self.command(id, PrescriptionCommand::Refill, caller).await
    }

    pub async fn complete(&self, id: PrescriptionId, caller: &Caller) -> Result<Prescription> {
        self.command(id, PrescriptionCommand::Complete, caller).await
    }

    pub async fn cancel(&self, id: PrescriptionId, reason: String, caller: &Caller) -> Result<Prescription> {
        self.command(id, PrescriptionCommand::Cancel { reason }, caller).await
    }

    /// Fills the index of active prescriptions from the table when it is empty (a store
    /// written before the index existed; at every start, as the clinical facts' defaults).
    /// Returns how many were linked.
    pub async fn ensure_active_index(&self) -> Result<usize> {
        let reader = self.store().read()?;
        let mut empty = true;
        reader.index_from(IndexTable::ActivePrescriptionsByPatient, (0, 0), |_| {
            empty = false;
            ControlFlow::Break(())
        })?;
        if !empty {
            return Ok(0);
        }
        let mut set = crate::store::ChangeSet::new();
        let mut linked = 0;
        reader.scan::<Prescription>(RecordTable::Prescriptions, None, |p| {
            if p.status == PrescriptionStatus::Active {
                set.link(IndexTable::ActivePrescriptionsByPatient, p.patient_id.as_u128(), p.id.as_u128());
                linked += 1;
            }
            ControlFlow::Continue(())
        })?;
        drop(reader);
        if linked > 0 {
            set.audit(
                clowder_schemas::audit::AuditDraft::new(&Caller::system(), "prescription.index")
                    .detail(serde_json::json!({ "active": linked })),
            );
            self.store().commit(set).await?;
        }
        Ok(linked)
    }

    /// A cat's prescriptions, active first, then newest first; audited.
    pub async fn list_for_patient(
        &self,
        patient: PatientId,
        status: Option<PrescriptionStatus>,
        caller: &Caller,
    ) -> Result<Vec<Prescription>> {
        let filter = PrescriptionFilter { patient_id: Some(patient), status };
        let (mut items, _) = self.list(&filter, None, MAX_LIST, caller).await?;
        items.sort_by_key(|p| (p.status != PrescriptionStatus::Active, Reverse(p.id.as_u128())));
        Ok(items)
    }
}

#[cfg(test)]
mod tests;
