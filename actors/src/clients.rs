//! Clients (owners) as a record kind: the rules of creating, changing and deactivating a
//! client, and which clients a list shows. The generic record actor and service
//! ([`crate::records`]) do the rest: one actor per active client serialises its changes,
//! lists read the store snapshot directly.
//!
//! Uniqueness of email addresses spans clients, so it is not decided here: the email is a
//! claim in the store's unique table and the commit thread refuses a claim held by someone
//! else (409 naming `email`).

use clowder_schemas::ClientId;
use clowder_schemas::audit::Caller;
use clowder_schemas::clients::{Client, ClientDraft, UpdateClient};
use clowder_schemas::events::DomainEvent;

use crate::error::Error;
use crate::records::{Claim, DecideCtx, Decision, RecordId, RecordKind, Records};
use crate::store::RecordTable;
use crate::store::tables::unique;

type Res<T> = Result<T, Error>;

/// The clients service: `create`, `create_with_id`, `get`, `peek`, `exists`, `list`,
/// `list_unaudited`, `live` from [`Records`], plus `update` and `deactivate` below.
pub type Clients = Records<ClientKind>;

/// The client record kind.
pub struct ClientKind;

/// A change to a client.
// Commands travel boxed (with the caller) in the actor's message, so their size costs one
// allocation, not mailbox space; boxing the patch again would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum ClientCommand {
    /// A merge patch; one that only sets `active: false` is a deactivation.
    Update(UpdateClient),
    /// Sets `active: false` (the record stays readable).
    Deactivate,
}

impl RecordId for ClientId {
    fn from_u128(key: u128) -> Self {
        ClientId::from_u128(key)
    }
    fn as_u128(self) -> u128 {
        ClientId::as_u128(self)
    }
    fn from_ulid(ulid: ulid::Ulid) -> Self {
        ClientId::from_ulid(ulid)
    }
}

impl RecordKind for ClientKind {
    type Record = Client;
    type Id = ClientId;
    type Draft = ClientDraft;
    type Command = ClientCommand;
    type Filter = ClientFilter;

    const KIND: &'static str = "client";
    const TABLE: RecordTable = RecordTable::Clients;
    const READ_ACTION: &'static str = "client.read";
    const LIST_ACTION: &'static str = "client.list";

    fn id(record: &Client) -> ClientId {
        record.id
    }

    fn not_found(id: ClientId) -> Error {
        Error::ClientNotFound(id)
    }

    fn claims(c: &Client) -> impl Iterator<Item = Claim<'_>> {
        c.email.iter().map(|e| Claim { ns: unique::CLIENT_EMAIL, value: e.as_str(), field: "email" })
    }

    fn matches(filter: &ClientFilter, c: &Client) -> bool {
        filter.matches(c)
    }

    fn decide_create(ctx: &DecideCtx<'_>, id: ClientId, draft: ClientDraft) -> Res<Decision<Client>> {
        Ok(decide_create(ctx, id, draft))
    }

    fn decide(ctx: &DecideCtx<'_>, current: &Client, command: ClientCommand) -> Res<Option<Decision<Client>>> {
        match command {
            ClientCommand::Update(patch) => decide_update(ctx, current, &patch),
            ClientCommand::Deactivate => Ok(decide_deactivate(ctx, current)),
        }
    }
}

/// A new client from a validated draft: active, registered by the caller.
pub fn decide_create(ctx: &DecideCtx<'_>, id: ClientId, draft: ClientDraft) -> Decision<Client> {
    let client = draft.into_client(id, ctx.now, ctx.caller.user_id());
    Decision {
        event: DomainEvent::ClientCreated { client: client.clone() },
        record: client,
        changed: Vec::new(),
        action: "client.create",
    }
}

/// Applies a merge patch (phones parsed with the clinic's calling code). A patch that
/// changes nothing writes nothing; one that only sets `active: false` is a deactivation.
pub fn decide_update(ctx: &DecideCtx<'_>, current: &Client, patch: &UpdateClient) -> Res<Option<Decision<Client>>> {
    let (new, changed) = patch.apply(current, &ctx.settings.country_code)?;
    let deactivated = changed == ["active"] && !new.active;
    Ok(changes(ctx, new, changed, deactivated))
}

/// Deactivates; an inactive client is answered unchanged.
pub fn decide_deactivate(ctx: &DecideCtx<'_>, current: &Client) -> Option<Decision<Client>> {
    if !current.active {
        return None;
    }
    changes(ctx, Client { active: false, ..current.clone() }, vec!["active"], true)
}

fn changes(
    ctx: &DecideCtx<'_>,
    mut new: Client,
    changed: Vec<&'static str>,
    deactivated: bool,
) -> Option<Decision<Client>> {
    if changed.is_empty() {
        return None;
    }
    new.updated_at = ctx.now;
    let (event, action) = if deactivated {
        (DomainEvent::ClientDeactivated { client: new.clone() }, "client.deactivate")
    } else {
        let names = changed.iter().map(|s| s.to_string()).collect();
        (DomainEvent::ClientUpdated { client: new.clone(), changed: names }, "client.update")
    };
    Some(Decision { record: new, changed, event, action })
}

impl Clients {
    /// Applies a merge patch to a client.
    pub async fn update(&self, id: ClientId, patch: UpdateClient, caller: &Caller) -> Res<Client> {
        self.command(id, ClientCommand::Update(patch), caller).await
    }

    /// Deactivates (the record stays readable with `active: false`).
    pub async fn deactivate(&self, id: ClientId, caller: &Caller) -> Res<Client> {
        self.command(id, ClientCommand::Deactivate, caller).await
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
