//! Patients (cats): one actor per active patient serialises its changes; lists read the
//! store snapshot directly. A patient's owner must exist; microchips are unique across the
//! clinic (claimed in the store's unique table, like client emails).

use std::ops::ControlFlow;
use std::sync::Arc;

use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::clients::Client;
use clowder_schemas::events::DomainEvent;
use clowder_schemas::patients::{Patient, PatientDraft, PatientStatus, UpdatePatient};
use clowder_schemas::{ClientId, PatientId, ValidationError};

use crate::clients::{page, user_of};
use crate::error::Error;
use crate::runtime::registry::KeyedFactory;
use crate::runtime::{Actor, Registry, Reply};
use crate::store::tables::unique;
use crate::store::{ChangeSet, IndexTable, RecordTable};
use crate::system::Ctx;

type Res<T> = Result<T, Error>;

pub(crate) struct PatientActor {
    id: PatientId,
    state: Option<Patient>,
    ctx: Arc<Ctx>,
}

/// Large payloads are boxed to keep mailboxes small (see `clients::Msg`).
pub(crate) enum Msg {
    Create { draft: Box<PatientDraft>, caller: Box<Caller>, reply: Reply<Res<Patient>> },
    Get { reply: Reply<Res<Patient>> },
    Update { patch: Box<UpdatePatient>, caller: Box<Caller>, reply: Reply<Res<Patient>> },
    Deactivate { caller: Box<Caller>, reply: Reply<Res<Patient>> },
}

impl PatientActor {
    fn current(&self) -> Res<&Patient> {
        self.state.as_ref().ok_or(Error::PatientNotFound(self.id))
    }

    /// The owner must exist and be active: a cat is neither registered to nor moved to a
    /// deactivated client.
    fn check_owner(&self, id: ClientId) -> Res<()> {
        let owner = self.ctx.store.read()?.get::<Client>(RecordTable::Clients, id.as_u128())?;
        match owner {
            None => Err(Error::OwnerNotFound(id)),
            Some(c) if !c.active => {
                Err(ValidationError::new("client_id", "the client is inactive; reactivate them first").into())
            }
            Some(_) => Ok(()),
        }
    }

    async fn create(&mut self, draft: PatientDraft, caller: &Caller) -> Res<Patient> {
        let by = caller.event_actor();
        if self.state.is_some() {
            return Err(Error::Internal(format!("patient id {} already exists", self.id)));
        }
        self.check_owner(draft.client_id)?;
        let patient = draft.into_patient(self.id, self.ctx.clock.now(), user_of(by));
        let key = self.id.as_u128();
        let mut set = ChangeSet::new();
        if let Some(chip) = &patient.microchip {
            set.claim(unique::PATIENT_MICROCHIP, chip.as_str(), key, "microchip");
        }
        set.put(RecordTable::Patients, key, &patient)?;
        set.link(IndexTable::PatientsByClient, patient.client_id.as_u128(), key);
        set.event(by, DomainEvent::PatientCreated { patient: patient.clone() });
        set.audit(AuditDraft::new(caller, "patient.create").record("patient", self.id));
        self.ctx.store.commit(set).await?;
        self.state = Some(patient.clone());
        Ok(patient)
    }

    async fn save(
        &mut self,
        new: Patient,
        changed: Vec<&'static str>,
        caller: &Caller,
        deactivated: bool,
    ) -> Res<Patient> {
        let by = caller.event_actor();
        let old = self.current()?.clone();
        if changed.is_empty() {
            return Ok(old);
        }
        if new.client_id != old.client_id {
            self.check_owner(new.client_id)?;
        }
        let mut new = new;
        new.updated_at = self.ctx.clock.now();
        let key = self.id.as_u128();
        let mut set = ChangeSet::new();
        if new.microchip != old.microchip {
            if let Some(m) = &old.microchip {
                set.release(unique::PATIENT_MICROCHIP, m.as_str(), key);
            }
            if let Some(m) = &new.microchip {
                set.claim(unique::PATIENT_MICROCHIP, m.as_str(), key, "microchip");
            }
        }
        if new.client_id != old.client_id {
            set.unlink(IndexTable::PatientsByClient, old.client_id.as_u128(), key);
            set.link(IndexTable::PatientsByClient, new.client_id.as_u128(), key);
        }
        set.put(RecordTable::Patients, key, &new)?;
        let event = if deactivated {
            DomainEvent::PatientDeactivated { patient: new.clone() }
        } else {
            DomainEvent::PatientUpdated {
                patient: new.clone(),
                changed: changed.iter().map(|s| s.to_string()).collect(),
            }
        };
        let action = if deactivated { "patient.deactivate" } else { "patient.update" };
        set.audit(
            AuditDraft::new(caller, action)
                .record("patient", self.id)
                .detail(serde_json::json!({ "changed": changed })),
        );
        set.event(by, event);
        self.ctx.store.commit(set).await?;
        self.state = Some(new.clone());
        Ok(new)
    }
}

impl Actor for PatientActor {
    type Msg = Msg;

    fn is_vacant(&self) -> bool {
        self.state.is_none()
    }

    async fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Create { draft, caller, reply } => {
                let r = self.create(*draft, &caller).await;
                let _ = reply.send(r);
            }
            Msg::Get { reply } => {
                let _ = reply.send(self.current().cloned());
            }
            Msg::Update { patch, caller, reply } => {
                let today = self.ctx.today();
                let r = match self.current() {
                    Ok(p) => match patch.apply(p, today) {
                        Ok((new, changed)) => self.save(new, changed, &caller, false).await,
                        Err(e) => Err(e.into()),
                    },
                    Err(e) => Err(e),
                };
                let _ = reply.send(r);
            }
            Msg::Deactivate { caller, reply } => {
                // A deceased patient keeps its status: it is already out of every workflow.
                let r = match self.current() {
                    Ok(p) if p.status != PatientStatus::Active => Ok(p.clone()),
                    Ok(p) => {
                        let new = Patient { status: PatientStatus::Inactive, ..p.clone() };
                        self.save(new, vec!["status"], &caller, true).await
                    }
                    Err(e) => Err(e),
                };
                let _ = reply.send(r);
            }
        }
    }
}

pub(crate) struct Loader(Arc<Ctx>);

impl KeyedFactory<PatientActor> for Loader {
    async fn build(&self, key: u128) -> Res<PatientActor> {
        let state = self.0.store.read()?.get::<Patient>(RecordTable::Patients, key)?;
        Ok(PatientActor { id: PatientId::from_u128(key), state, ctx: self.0.clone() })
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

/// The patients service: commands go to the patient's actor; lists read the store.
#[derive(Clone)]
pub struct Patients {
    reg: Registry<PatientActor, Loader>,
    ctx: Arc<Ctx>,
}

const KIND: &str = "patient";

impl Patients {
    pub(crate) fn new(ctx: Arc<Ctx>) -> Self {
        let metrics = ctx.metrics.for_kind(KIND);
        Self { reg: Registry::new(Loader(ctx.clone()), ctx.config.actors, metrics), ctx }
    }

    pub async fn create(&self, draft: PatientDraft, caller: &Caller) -> Res<Patient> {
        let id = PatientId::from_ulid(self.ctx.new_ulid());
        self.create_with_id(id, draft, caller).await
    }

    pub async fn create_with_id(&self, id: PatientId, draft: PatientDraft, caller: &Caller) -> Res<Patient> {
        let caller = Box::new(caller.clone());
        self.ask(id, |reply| Msg::Create { draft: Box::new(draft), caller, reply }).await
    }

    /// The committed record, without an audit entry: for access checks before the real,
    /// audited read or change.
    pub fn peek(&self, id: PatientId) -> Res<Patient> {
        self.ctx.store.read()?.get::<Patient>(RecordTable::Patients, id.as_u128())?.ok_or(Error::PatientNotFound(id))
    }

    /// Reads a patient; the read is in the audit trail before the record is returned.
    pub async fn get(&self, id: PatientId, caller: &Caller) -> Res<Patient> {
        let patient = self.ask(id, |reply| Msg::Get { reply }).await?;
        crate::audit::record_read(&self.ctx, AuditDraft::new(caller, "patient.read").record("patient", id)).await?;
        Ok(patient)
    }

    pub async fn update(&self, id: PatientId, patch: UpdatePatient, caller: &Caller) -> Res<Patient> {
        let caller = Box::new(caller.clone());
        self.ask(id, |reply| Msg::Update { patch: Box::new(patch), caller, reply }).await
    }

    /// Deactivates (status `inactive`; a deceased patient stays deceased).
    pub async fn deactivate(&self, id: PatientId, caller: &Caller) -> Res<Patient> {
        let caller = Box::new(caller.clone());
        self.ask(id, |reply| Msg::Deactivate { caller, reply }).await
    }

    async fn ask(&self, id: PatientId, make: impl FnOnce(Reply<Res<Patient>>) -> Msg) -> Res<Patient> {
        self.reg.ask(id.as_u128(), make).await.map_err(|e| Error::from_ask(KIND, e))?
    }

    /// One page of patients in creation order after `after`.
    pub async fn list(
        &self,
        filter: &PatientFilter,
        after: Option<u128>,
        limit: usize,
        caller: &Caller,
    ) -> Res<(Vec<Patient>, Option<u128>)> {
        let page = self.list_unaudited(filter, after, limit)?;
        let ids: Vec<String> = page.0.iter().map(|p| p.id.to_string()).collect();
        crate::audit::record_read(
            &self.ctx,
            AuditDraft::new(caller, "patient.list").detail(serde_json::json!({ "ids": ids })),
        )
        .await?;
        Ok(page)
    }

    /// A page without an audit entry, for Clowder's own use.
    pub fn list_unaudited(
        &self,
        filter: &PatientFilter,
        after: Option<u128>,
        limit: usize,
    ) -> Res<(Vec<Patient>, Option<u128>)> {
        let reader = self.ctx.store.read()?;
        let mut items = Vec::with_capacity(limit + 1);
        if let Some(owner) = filter.client_id {
            // Walk the owner's index instead of every patient.
            for key in reader.children(IndexTable::PatientsByClient, owner.as_u128(), after)? {
                if let Some(p) = reader.get::<Patient>(RecordTable::Patients, key)?
                    && filter.matches(&p)
                {
                    items.push(p);
                    if items.len() > limit {
                        break;
                    }
                }
            }
        } else {
            reader.scan::<Patient>(RecordTable::Patients, after, |p| {
                if filter.matches(&p) {
                    items.push(p);
                }
                if items.len() > limit { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
            })?;
        }
        Ok(page(items, limit, |p| p.id.as_u128()))
    }

    pub fn live(&self) -> usize {
        self.reg.live()
    }

    pub(crate) fn stop_all(&self) {
        self.reg.stop_all();
    }
}
