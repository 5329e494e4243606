//! Patients (cats) as a record kind: the rules of registering, changing and deactivating a
//! cat, and which cats a list shows. The generic record actor and service
//! ([`crate::records`]) do the rest: one actor per active patient serialises its changes,
//! lists read the store snapshot directly.
//!
//! A patient's owner must exist and be active (read from a store snapshot); microchips are
//! unique across the clinic (claimed in the store's unique table, like client emails); each
//! cat is linked under its owner in `patients_by_client`.

use clowder_schemas::audit::Caller;
use clowder_schemas::clients::Client;
use clowder_schemas::events::DomainEvent;
use clowder_schemas::patients::{Patient, PatientDraft, PatientStatus, UpdatePatient};
use clowder_schemas::{ClientId, PatientId, ValidationError};

use crate::error::Error;
use crate::records::{Claim, DecideCtx, Decision, Link, RecordId, RecordKind, Records};
use crate::store::tables::unique;
use crate::store::{IndexTable, RecordTable};

type Res<T> = Result<T, Error>;

/// The patients service: `create`, `create_with_id`, `get`, `peek`, `exists`, `list`,
/// `list_unaudited`, `live` from [`Records`], plus `update` and `deactivate` below.
pub type Patients = Records<PatientKind>;

/// The patient record kind.
pub struct PatientKind;

/// A change to a patient.
// Commands travel boxed (with the caller) in the actor's message, so their size costs one
// allocation, not mailbox space; boxing the patch again would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum PatientCommand {
    /// A merge patch (it may move the cat to another owner).
    Update(UpdatePatient),
    /// Sets status `inactive` (a deceased cat stays deceased).
    Deactivate,
}

impl RecordId for PatientId {
    fn from_u128(key: u128) -> Self {
        PatientId::from_u128(key)
    }
    fn as_u128(self) -> u128 {
        PatientId::as_u128(self)
    }
    fn from_ulid(ulid: ulid::Ulid) -> Self {
        PatientId::from_ulid(ulid)
    }
}

impl RecordKind for PatientKind {
    type Record = Patient;
    type Id = PatientId;
    type Draft = PatientDraft;
    type Command = PatientCommand;
    type Filter = PatientFilter;

    const KIND: &'static str = "patient";
    const TABLE: RecordTable = RecordTable::Patients;
    const READ_ACTION: &'static str = "patient.read";
    const LIST_ACTION: &'static str = "patient.list";

    fn id(record: &Patient) -> PatientId {
        record.id
    }

    fn not_found(id: PatientId) -> Error {
        Error::PatientNotFound(id)
    }

    fn claims(p: &Patient) -> impl Iterator<Item = Claim<'_>> {
        p.microchip.iter().map(|m| Claim { ns: unique::PATIENT_MICROCHIP, value: m.as_str(), field: "microchip" })
    }

    fn links(p: &Patient) -> impl Iterator<Item = Link> {
        std::iter::once(Link { index: IndexTable::PatientsByClient, parent: p.client_id.as_u128() })
    }

    fn matches(filter: &PatientFilter, p: &Patient) -> bool {
        filter.matches(p)
    }

    /// Listing one owner's cats walks that owner's index instead of every patient.
    fn list_via(filter: &PatientFilter) -> Option<Link> {
        filter.client_id.map(|c| Link { index: IndexTable::PatientsByClient, parent: c.as_u128() })
    }

    fn decide_create(ctx: &DecideCtx<'_>, id: PatientId, draft: PatientDraft) -> Res<Decision<Patient>> {
        decide_create(ctx, id, draft)
    }

    fn decide(ctx: &DecideCtx<'_>, current: &Patient, command: PatientCommand) -> Res<Option<Decision<Patient>>> {
        match command {
            PatientCommand::Update(patch) => decide_update(ctx, current, &patch),
            PatientCommand::Deactivate => Ok(decide_deactivate(ctx, current)),
        }
    }
}

/// The owner must exist and be active: a cat is neither registered to nor moved to a
/// deactivated client.
fn check_owner(ctx: &DecideCtx<'_>, id: ClientId) -> Res<()> {
    match ctx.get::<Client>(RecordTable::Clients, id.as_u128())? {
        None => Err(Error::OwnerNotFound(id)),
        Some(c) if !c.active => {
            Err(ValidationError::new("client_id", "the client is inactive; reactivate them first").into())
        }
        Some(_) => Ok(()),
    }
}

/// A new, active cat from a validated draft, registered by the caller to an active owner.
pub fn decide_create(ctx: &DecideCtx<'_>, id: PatientId, draft: PatientDraft) -> Res<Decision<Patient>> {
    check_owner(ctx, draft.client_id)?;
    let patient = draft.into_patient(id, ctx.now, ctx.caller.user_id());
    Ok(Decision {
        event: DomainEvent::PatientCreated { patient: patient.clone() },
        record: patient,
        changed: Vec::new(),
        action: "patient.create",
    })
}

/// Applies a merge patch (birthdays checked against the clinic's today). A patch that
/// changes nothing writes nothing; a move to another owner needs that owner active.
pub fn decide_update(ctx: &DecideCtx<'_>, current: &Patient, patch: &UpdatePatient) -> Res<Option<Decision<Patient>>> {
    let (new, changed) = patch.apply(current, ctx.today())?;
    if changed.is_empty() {
        return Ok(None);
    }
    if new.client_id != current.client_id {
        check_owner(ctx, new.client_id)?;
    }
    Ok(Some(changes(ctx, new, changed, false)))
}

/// Deactivates an active cat; an inactive or deceased one is answered unchanged (a deceased
/// patient keeps its status: it is already out of every workflow).
pub fn decide_deactivate(ctx: &DecideCtx<'_>, current: &Patient) -> Option<Decision<Patient>> {
    if current.status != PatientStatus::Active {
        return None;
    }
    Some(changes(ctx, Patient { status: PatientStatus::Inactive, ..current.clone() }, vec!["status"], true))
}

fn changes(ctx: &DecideCtx<'_>, mut new: Patient, changed: Vec<&'static str>, deactivated: bool) -> Decision<Patient> {
    new.updated_at = ctx.now;
    let (event, action) = if deactivated {
        (DomainEvent::PatientDeactivated { patient: new.clone() }, "patient.deactivate")
    } else {
        let names = changed.iter().map(|s| s.to_string()).collect();
        (DomainEvent::PatientUpdated { patient: new.clone(), changed: names }, "patient.update")
    };
    Decision { record: new, changed, event, action }
}

impl Patients {
    /// Applies a merge patch to a patient.
    pub async fn update(&self, id: PatientId, patch: UpdatePatient, caller: &Caller) -> Res<Patient> {
        self.command(id, PatientCommand::Update(patch), caller).await
    }

    /// Deactivates (status `inactive`; a deceased patient stays deceased).
    pub async fn deactivate(&self, id: PatientId, caller: &Caller) -> Res<Patient> {
        self.command(id, PatientCommand::Deactivate, caller).await
    }
}

/// Which patients a list shows.
#[derive(Debug, Clone, Default)]
pub struct PatientFilter {
    /// `None` lists every status.
    pub status: Option<PatientStatus>,
    pub client_id: Option<ClientId>,
    /// Lower-case fragment of the cat's name.
    pub name: Option<String>,
    /// Only patients this user registered (a permission held with scope `own`).
    pub created_by: Option<clowder_schemas::UserId>,
}

impl PatientFilter {
    fn matches(&self, p: &Patient) -> bool {
        self.status.is_none_or(|s| s == p.status)
            && self.client_id.is_none_or(|c| c == p.client_id)
            && self.name.as_ref().is_none_or(|n| p.name.to_lowercase().contains(n.as_str()))
            && (self.created_by.is_none() || p.created_by == self.created_by)
    }
}
