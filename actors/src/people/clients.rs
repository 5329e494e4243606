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

use crate::error::{Error, Result};
use crate::records::{Claim, DecideCtx, Decision, RecordKind, Records};
use crate::store::RecordTable;
use crate::store::tables::unique;

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

    fn decide_create(ctx: &DecideCtx<'_>, id: ClientId, draft: ClientDraft) -> Result<Decision<Client>> {
        Ok(decide_create(ctx, id, draft))
    }

    fn decide(ctx: &DecideCtx<'_>, current: &Client, command: ClientCommand) -> Result<Option<Decision<Client>>> {
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
pub fn decide_update(ctx: &DecideCtx<'_>, current: &Client, patch: &UpdateClient) -> Result<Option<Decision<Client>>> {
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
    pub async fn update(&self, id: ClientId, patch: UpdateClient, caller: &Caller) -> Result<Client> {
        self.command(id, ClientCommand::Update(patch), caller).await
    }

    /// Deactivates (the record stays readable with `active: false`).
    pub async fn deactivate(&self, id: ClientId, caller: &Caller) -> Result<Client> {
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

#[cfg(test)]
mod tests {
    use clowder_schemas::UserId;
    use clowder_schemas::clients::CreateClient;
    use clowder_schemas::events::Author;
    use jiff::Timestamp;

    use super::*;
    use crate::ctx::SystemConfig;
    use crate::records::{claimed, released};

    fn settings() -> SystemConfig {
        SystemConfig::new("unused")
    }

    fn caller() -> Caller {
        Caller { actor: Some(Author::User(UserId::from_u128(7))), ..Caller::default() }
    }

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(second).unwrap()
    }

    fn client(ctx: &DecideCtx<'_>, body: serde_json::Value) -> Client {
        let body: CreateClient = serde_json::from_value(body).unwrap();
        let draft = body.validate(&ctx.settings.country_code).unwrap();
        decide_create(ctx, ClientId::from_u128(1), draft).record
    }

    fn ada(ctx: &DecideCtx<'_>) -> Client {
        client(
            ctx,
            serde_json::json!({ "first_name": "Ada", "last_name": "Byron", "phone": "508 555 0142", "email": "ada@example.com" }),
        )
    }

    fn patch(body: serde_json::Value) -> UpdateClient {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn create_makes_an_active_client_registered_by_the_caller_that_claims_its_email() {
        let (settings, caller) = (settings(), caller());
        let ctx = DecideCtx::new(at(1_000), &settings, &caller, None);
        let body: CreateClient =
            serde_json::from_value(serde_json::json!({ "first_name": "Ada", "last_name": "Byron", "phone": "508 555 0142", "email": "ada@example.com" }))
                .unwrap();
        let d = decide_create(&ctx, ClientId::from_u128(1), body.validate(&settings.country_code).unwrap());
        assert!(d.record.active);
        assert_eq!(d.record.created_by, Some(UserId::from_u128(7)));
        assert_eq!((d.record.created_at, d.record.updated_at), (at(1_000), at(1_000)));
        assert_eq!(d.record.phone.as_str(), "+15085550142", "the clinic's calling code is used");
        assert_eq!(d.action, "client.create");
        assert!(matches!(&d.event, DomainEvent::ClientCreated { client } if *client == d.record));
        let claims: Vec<_> = claimed::<ClientKind>(None, &d.record).collect();
        assert_eq!(claims, [Claim { ns: unique::CLIENT_EMAIL, value: "ada@example.com", field: "email" }]);
    }

    #[test]
    fn create_refuses_email_as_preferred_contact_without_an_email() {
        let body: CreateClient = serde_json::from_value(
            serde_json::json!({ "first_name": "Ada", "last_name": "Byron", "phone": "508 555 0142", "preferred_contact": "email" }),
        )
        .unwrap();
        let e = body.validate(&settings().country_code).unwrap_err();
        assert_eq!(e.field, "preferred_contact");
    }

    #[test]
    fn a_patch_of_the_email_changes_only_email_and_moves_the_claim() {
        let (settings, caller) = (settings(), caller());
        let old = ada(&DecideCtx::new(at(1_000), &settings, &caller, None));
        let ctx = DecideCtx::new(at(2_000), &settings, &caller, None);
        let d = decide_update(&ctx, &old, &patch(serde_json::json!({ "email": "ada@lovelace.org" }))).unwrap().unwrap();
        assert_eq!(d.changed, ["email"]);
        assert_eq!(d.action, "client.update");
        assert_eq!(d.record.updated_at, at(2_000));
        assert!(matches!(&d.event, DomainEvent::ClientUpdated { changed, .. } if changed == &["email"]));
        let gone: Vec<_> = released::<ClientKind>(Some(&old), &d.record).map(|c| c.value).collect();
        let new: Vec<_> = claimed::<ClientKind>(Some(&old), &d.record).map(|c| c.value).collect();
        assert_eq!((gone, new), (vec!["ada@example.com"], vec!["ada@lovelace.org"]));
    }

    #[test]
    fn a_patch_of_another_field_keeps_the_claim() {
        let (settings, caller) = (settings(), caller());
        let ctx = DecideCtx::new(at(1_000), &settings, &caller, None);
        let old = ada(&ctx);
        let d = decide_update(&ctx, &old, &patch(serde_json::json!({ "last_name": "Lovelace" }))).unwrap().unwrap();
        assert_eq!(d.changed, ["last_name"]);
        assert_eq!(released::<ClientKind>(Some(&old), &d.record).count(), 0);
        assert_eq!(claimed::<ClientKind>(Some(&old), &d.record).count(), 0);
    }

    #[test]
    fn clearing_the_email_releases_it() {
        let (settings, caller) = (settings(), caller());
        let ctx = DecideCtx::new(at(1_000), &settings, &caller, None);
        let old = ada(&ctx);
        let d = decide_update(&ctx, &old, &patch(serde_json::json!({ "email": null }))).unwrap().unwrap();
        assert_eq!(released::<ClientKind>(Some(&old), &d.record).count(), 1);
        assert_eq!(claimed::<ClientKind>(Some(&old), &d.record).count(), 0);
    }

    #[test]
    fn a_patch_that_changes_nothing_decides_nothing() {
        let (settings, caller) = (settings(), caller());
        let ctx = DecideCtx::new(at(1_000), &settings, &caller, None);
        let old = ada(&ctx);
        assert!(decide_update(&ctx, &old, &patch(serde_json::json!({ "first_name": "Ada" }))).unwrap().is_none());
        assert!(decide_update(&ctx, &old, &UpdateClient::default()).unwrap().is_none());
    }

    #[test]
    fn a_patch_that_only_sets_active_false_is_a_deactivation() {
        let (settings, caller) = (settings(), caller());
        let ctx = DecideCtx::new(at(1_000), &settings, &caller, None);
        let old = ada(&ctx);
        let d = decide_update(&ctx, &old, &patch(serde_json::json!({ "active": false }))).unwrap().unwrap();
        assert_eq!(d.action, "client.deactivate");
        assert!(matches!(d.event, DomainEvent::ClientDeactivated { .. }));
        let both = patch(serde_json::json!({ "active": false, "last_name": "Lovelace" }));
        assert_eq!(decide_update(&ctx, &old, &both).unwrap().unwrap().action, "client.update");
    }

    #[test]
    fn deactivating_sets_active_false_and_an_inactive_client_is_a_no_op() {
        let (settings, caller) = (settings(), caller());
        let ctx = DecideCtx::new(at(1_000), &settings, &caller, None);
        let d = decide_deactivate(&ctx, &ada(&ctx)).unwrap();
        assert!(!d.record.active);
        assert_eq!((d.changed.as_slice(), d.action), (["active"].as_slice(), "client.deactivate"));
        assert!(decide_deactivate(&ctx, &d.record).is_none());
    }

    #[test]
    fn an_invalid_patch_is_refused_naming_the_field() {
        let (settings, caller) = (settings(), caller());
        let ctx = DecideCtx::new(at(1_000), &settings, &caller, None);
        let e = decide_update(&ctx, &ada(&ctx), &patch(serde_json::json!({ "email": "not an email" }))).unwrap_err();
        assert!(matches!(e, Error::Validation(ref v) if v.field == "email"), "{e:?}");
    }
}
