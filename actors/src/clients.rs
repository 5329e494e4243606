//! Clients (owners): one actor per active client serialises its changes; lists read the
//! store snapshot directly.
//!
//! Uniqueness of email addresses spans clients, so it is not decided by one actor: each
//! change set claims the email in the store's unique table and the commit task refuses a
//! claim held by someone else (409 naming `email`).

use std::ops::ControlFlow;
use std::sync::Arc;

use clowder_schemas::ClientId;
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::clients::{Client, ClientDraft, UpdateClient};
use clowder_schemas::events::{Actor as By, DomainEvent};

use crate::error::Error;
use crate::runtime::registry::KeyedFactory;
use crate::runtime::{Actor, Registry, Reply};
use crate::store::tables::unique;
use crate::store::{ChangeSet, CommitError, RecordTable};
use crate::system::Ctx;

type Res<T> = Result<T, Error>;

pub(crate) struct ClientActor {
    id: ClientId,
    state: Option<Client>,
    ctx: Arc<Ctx>,
}

/// Large payloads are boxed: a mailbox allocates its slots in blocks of 32, so the size of
/// `Msg` is paid 32 times by every live actor.
pub(crate) enum Msg {
    Create { draft: Box<ClientDraft>, caller: Box<Caller>, reply: Reply<Res<Client>> },
    Get { reply: Reply<Res<Client>> },
    Update { patch: Box<UpdateClient>, caller: Box<Caller>, reply: Reply<Res<Client>> },
    Deactivate { caller: Box<Caller>, reply: Reply<Res<Client>> },
}

impl From<CommitError> for Error {
    fn from(e: CommitError) -> Self {
        match e {
            CommitError::Duplicate { field } => Error::Duplicate { field },
            CommitError::Closed => Error::ShuttingDown,
            CommitError::Store(m) => Error::Internal(format!("commit failed: {m}")),
            CommitError::Refused(m) => Error::Internal(format!("change refused: {m}")),
        }
    }
}

impl ClientActor {
    fn current(&self) -> Res<&Client> {
        self.state.as_ref().ok_or(Error::ClientNotFound(self.id))
    }

    async fn create(&mut self, draft: ClientDraft, caller: &Caller) -> Res<Client> {
        let by = caller.event_actor();
        if self.state.is_some() {
            return Err(Error::Internal(format!("client id {} already exists", self.id)));
        }
        let client = draft.into_client(self.id, self.ctx.clock.now(), user_of(by));
        let key = self.id.as_u128();
        let mut set = ChangeSet::new();
        if let Some(email) = &client.email {
            set.claim(unique::CLIENT_EMAIL, email.as_str(), key, "email");
        }
        set.put(RecordTable::Clients, key, &client)?;
        set.event(by, DomainEvent::ClientCreated { client: client.clone() });
        set.audit(AuditDraft::new(caller, "client.create").record("client", self.id));
        self.ctx.store.commit(set).await?;
        self.state = Some(client.clone());
        Ok(client)
    }

    async fn save(
        &mut self,
        new: Client,
        changed: Vec<&'static str>,
        caller: &Caller,
        deactivated: bool,
    ) -> Res<Client> {
        let by = caller.event_actor();
        let old = self.current()?.clone();
        if changed.is_empty() {
            return Ok(old);
        }
        let mut new = new;
        new.updated_at = self.ctx.clock.now();
        let key = self.id.as_u128();
        let mut set = ChangeSet::new();
        if new.email != old.email {
            if let Some(e) = &old.email {
                set.release(unique::CLIENT_EMAIL, e.as_str(), key);
            }
            if let Some(e) = &new.email {
                set.claim(unique::CLIENT_EMAIL, e.as_str(), key, "email");
            }
        }
        set.put(RecordTable::Clients, key, &new)?;
        let action = if deactivated { "client.deactivate" } else { "client.update" };
        set.audit(
            AuditDraft::new(caller, action).record("client", self.id).detail(serde_json::json!({ "changed": changed })),
        );
        let event = if deactivated {
            DomainEvent::ClientDeactivated { client: new.clone() }
        } else {
            DomainEvent::ClientUpdated { client: new.clone(), changed: changed.iter().map(|s| s.to_string()).collect() }
        };
        set.event(by, event);
        self.ctx.store.commit(set).await?;
        self.state = Some(new.clone());
        Ok(new)
    }
}

impl Actor for ClientActor {
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
                let r = match self.current() {
                    Ok(c) => match patch.apply(c, &self.ctx.config.country_code) {
                        Ok((new, changed)) => {
                            let deactivated = changed == ["active"] && !new.active;
                            self.save(new, changed, &caller, deactivated).await
                        }
                        Err(e) => Err(e.into()),
                    },
                    Err(e) => Err(e),
                };
                let _ = reply.send(r);
            }
            Msg::Deactivate { caller, reply } => {
                let r = match self.current() {
                    Ok(c) if !c.active => Ok(c.clone()),
                    Ok(c) => {
                        let new = Client { active: false, ..c.clone() };
                        self.save(new, vec!["active"], &caller, true).await
                    }
                    Err(e) => Err(e),
                };
                let _ = reply.send(r);
            }
        }
    }
}

pub(crate) fn user_of(by: By) -> Option<clowder_schemas::UserId> {
    match by {
        By::User(u) => Some(u),
        By::System => None,
    }
}

pub(crate) struct Loader(Arc<Ctx>);

impl KeyedFactory<ClientActor> for Loader {
    async fn build(&self, key: u128) -> Res<ClientActor> {
        let state = self.0.store.read()?.get::<Client>(RecordTable::Clients, key)?;
        Ok(ClientActor { id: ClientId::from_u128(key), state, ctx: self.0.clone() })
    }
}

/// Which clients a list shows.
#[derive(Debug, Clone, Default)]
pub struct ClientFilter {
    /// `Some(true)` active only, `Some(false)` inactive only, `None` both.
    pub active: Option<bool>,
    /// Lower-case fragment of the first or last name.
    pub name: Option<String>,
    /// Only clients this user registered (a permission held with scope `own`).
    pub created_by: Option<clowder_schemas::UserId>,
}

impl ClientFilter {
    fn matches(&self, c: &Client) -> bool {
        if self.active.is_some_and(|a| a != c.active) {
            return false;
        }
        if self.created_by.is_some() && c.created_by != self.created_by {
            return false;
        }
        match &self.name {
            Some(n) => {
                let full = format!("{} {}", c.first_name, c.last_name).to_lowercase();
                full.contains(n.as_str())
            }
            None => true,
        }
    }
}

/// The clients service: commands go to the client's actor; lists read the store.
#[derive(Clone)]
pub struct Clients {
    reg: Registry<ClientActor, Loader>,
    ctx: Arc<Ctx>,
}

const KIND: &str = "client";

impl Clients {
    pub(crate) fn new(ctx: Arc<Ctx>) -> Self {
        let metrics = ctx.metrics.for_kind(KIND);
        Self { reg: Registry::new(Loader(ctx.clone()), ctx.config.actors, metrics), ctx }
    }

    /// Creates a client with a fresh id.
    pub async fn create(&self, draft: ClientDraft, caller: &Caller) -> Res<Client> {
        let id = ClientId::from_ulid(self.ctx.new_ulid());
        self.create_with_id(id, draft, caller).await
    }

    /// Creates a client under a chosen id (demo data, imports).
    pub async fn create_with_id(&self, id: ClientId, draft: ClientDraft, caller: &Caller) -> Res<Client> {
        let caller = Box::new(caller.clone());
        self.ask(id, |reply| Msg::Create { draft: Box::new(draft), caller, reply }).await
    }

    /// Reads a client; the read is in the audit trail before the record is returned.
    pub async fn get(&self, id: ClientId, caller: &Caller) -> Res<Client> {
        let client = self.ask(id, |reply| Msg::Get { reply }).await?;
        crate::audit::record_read(&self.ctx, AuditDraft::new(caller, "client.read").record("client", id)).await?;
        Ok(client)
    }

    pub async fn update(&self, id: ClientId, patch: UpdateClient, caller: &Caller) -> Res<Client> {
        let caller = Box::new(caller.clone());
        self.ask(id, |reply| Msg::Update { patch: Box::new(patch), caller, reply }).await
    }

    /// Deactivates (the record stays readable with `active: false`).
    pub async fn deactivate(&self, id: ClientId, caller: &Caller) -> Res<Client> {
        let caller = Box::new(caller.clone());
        self.ask(id, |reply| Msg::Deactivate { caller, reply }).await
    }

    async fn ask(&self, id: ClientId, make: impl FnOnce(Reply<Res<Client>>) -> Msg) -> Res<Client> {
        self.reg.ask(id.as_u128(), make).await.map_err(|e| Error::from_ask(KIND, e))?
    }

    /// The committed record, without an audit entry: for access checks before the real,
    /// audited read or change.
    pub fn peek(&self, id: ClientId) -> Res<Client> {
        self.ctx.store.read()?.get::<Client>(RecordTable::Clients, id.as_u128())?.ok_or(Error::ClientNotFound(id))
    }

    /// True if the client exists (committed), read from the store.
    pub fn exists(&self, id: ClientId) -> Res<bool> {
        Ok(self.ctx.store.read()?.get::<Client>(RecordTable::Clients, id.as_u128())?.is_some())
    }

    /// One page of clients in creation order after `after`; the second value is the key to
    /// continue from when more remain. The page (which records were shown) is audited.
    pub async fn list(
        &self,
        filter: &ClientFilter,
        after: Option<u128>,
        limit: usize,
        caller: &Caller,
    ) -> Res<(Vec<Client>, Option<u128>)> {
        let page = self.list_unaudited(filter, after, limit)?;
        let ids: Vec<String> = page.0.iter().map(|c| c.id.to_string()).collect();
        crate::audit::record_read(
            &self.ctx,
            AuditDraft::new(caller, "client.list").detail(serde_json::json!({ "ids": ids })),
        )
        .await?;
        Ok(page)
    }

    /// A page without an audit entry, for Clowder's own use (start-up checks, demo seeding).
    pub fn list_unaudited(
        &self,
        filter: &ClientFilter,
        after: Option<u128>,
        limit: usize,
    ) -> Res<(Vec<Client>, Option<u128>)> {
        let mut items = Vec::with_capacity(limit + 1);
        self.ctx.store.read()?.scan::<Client>(RecordTable::Clients, after, |c| {
            if filter.matches(&c) {
                items.push(c);
            }
            if items.len() > limit { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        })?;
        Ok(page(items, limit, |c| c.id.as_u128()))
    }

    pub fn live(&self) -> usize {
        self.reg.live()
    }

    pub(crate) fn stop_all(&self) {
        self.reg.stop_all();
    }
}

/// Cuts a `limit + 1` result to a page and its continuation key.
pub(crate) fn page<T>(mut items: Vec<T>, limit: usize, key: impl Fn(&T) -> u128) -> (Vec<T>, Option<u128>) {
    if items.len() > limit {
        items.truncate(limit);
        let next = items.last().map(key);
        (items, next)
    } else {
        (items, None)
    }
}
