//! The generic service of a record kind: commands go to the record's actor (activated on
//! demand, passivated when idle); reads by id answer from the actor's memory; lists read a
//! store snapshot and never wait for an actor. Reads and lists queue their audit entry before
//! the data is returned, unless the kind opted out ([`ReadAudit::NotAudited`]).

use std::sync::Arc;

use clowder_schemas::audit::{AuditDraft, Caller};

use super::actor::{Loader, Msg, RecordActor};
use super::page::{self, Page};
use super::{ReadAudit, RecordId, RecordKind};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::runtime::{Registry, Reply};
use crate::store::ChangeSet;

/// The service of record kind `K` (`Clients`, `Patients` are aliases of it).
pub struct Records<K: RecordKind> {
    reg: Registry<RecordActor<K>, Loader<K>>,
    ctx: Arc<Ctx>,
}

impl<K: RecordKind> Clone for Records<K> {
    fn clone(&self) -> Self {
        Self { reg: self.reg.clone(), ctx: self.ctx.clone() }
    }
}

impl<K: RecordKind> Records<K> {
    pub(crate) fn new(ctx: Arc<Ctx>) -> Self {
        let metrics = ctx.metrics.for_kind(K::KIND);
        Self { reg: Registry::new(Loader::new(ctx.clone()), ctx.config.actors, metrics), ctx }
    }

    /// The store, for a kind's own unaudited look-ups (a claim's owner).
    pub(crate) fn store(&self) -> &Arc<crate::store::Store> {
        &self.ctx.store
    }

    /// What the service shares with every actor (for a kind's own reads beside the generic ones).
    pub(crate) fn ctx_ref(&self) -> &Arc<Ctx> {
        &self.ctx
    }

    /// Creates a record with a fresh id.
    pub async fn create(&self, draft: K::Draft, caller: &Caller) -> Result<K::Record> {
        let id = K::Id::from_ulid(self.ctx.new_ulid());
        self.create_with_id(id, draft, caller).await
    }

    /// Creates a record whose id carries the time `at` instead of now (a record entered
    /// after the fact, such as vitals typed in later, so ids sort by when it happened).
    pub async fn create_at(&self, at: jiff::Timestamp, draft: K::Draft, caller: &Caller) -> Result<K::Record> {
        let ms = at.as_millisecond().max(0) as u64;
        let id = K::Id::from_ulid(ulid::Ulid::from_parts(ms, self.ctx.new_ulid().random()));
        self.create_with_id(id, draft, caller).await
    }

    /// Creates a record under a chosen id (demo data, imports).
    pub async fn create_with_id(&self, id: K::Id, draft: K::Draft, caller: &Caller) -> Result<K::Record> {
        self.create_with(id, draft, ChangeSet::new(), caller).await
    }

    /// Creates a record under `id` together with `with`, another service's writes about it
    /// (a referral recorded with a new client): one change set, so both exist or neither.
    pub async fn create_with(&self, id: K::Id, draft: K::Draft, with: ChangeSet, caller: &Caller) -> Result<K::Record> {
        let input = Box::new((draft, caller.clone(), with, None));
        self.ask(id, |reply| Msg::Create { input, reply }).await
    }

    /// **Imports** a record that came into being at `at`, in the past (a visit of last year,
    /// brought in by the demo or a migration from another practice system): the kind decides
    /// as of `at` (`DecideCtx::now` is `at`, so the record's own times are its history's),
    /// its id carries `at`, and it commits with `with` (as [`Self::create_with`]). The audit
    /// entry is the caller's, written now, with `imported_as_of`. An instant in the future
    /// is refused (422 on `at`). Never reachable from the HTTP API: a Rust path for
    /// Clowder's own importers.
    pub async fn import_at(
        &self,
        at: jiff::Timestamp,
        draft: K::Draft,
        with: ChangeSet,
        caller: &Caller,
    ) -> Result<K::Record> {
        let ms = at.as_millisecond().max(0) as u64;
        let id = K::Id::from_ulid(ulid::Ulid::from_parts(ms, self.ctx.new_ulid().random()));
        self.import_at_with_id(id, at, draft, with, caller).await
    }

    /// [`Self::import_at`] under a chosen id (one a job in `with` already names).
    pub async fn import_at_with_id(
        &self,
        id: K::Id,
        at: jiff::Timestamp,
        draft: K::Draft,
        with: ChangeSet,
        caller: &Caller,
    ) -> Result<K::Record> {
        self.check_past(at)?;
        let input = Box::new((draft, caller.clone(), with, Some(at)));
        self.ask(id, |reply| Msg::Create { input, reply }).await
    }

    /// Runs a command as of `at`, in the past (an imported visit completed, an imported
    /// prescription's course ended): see [`Self::import_at`].
    pub async fn command_at(
        &self,
        id: K::Id,
        at: jiff::Timestamp,
        command: K::Command,
        caller: &Caller,
    ) -> Result<K::Record> {
        self.check_past(at)?;
        let input = Box::new((command, caller.clone(), ChangeSet::new(), Some(at)));
        self.ask(id, |reply| Msg::Command { input, reply }).await
    }

    fn check_past(&self, at: jiff::Timestamp) -> Result<()> {
        if at > self.ctx.clock.now() {
            return Err(clowder_schemas::ValidationError::new("at", "an import cannot be dated in the future").into());
        }
        Ok(())
    }

    /// Reads a record from its actor; the read is in the audit trail before it is returned.
    pub async fn get(&self, id: K::Id, caller: &Caller) -> Result<K::Record> {
        let record = self.ask(id, |reply| Msg::Get { reply }).await?;
        if K::READS == ReadAudit::Audited {
            crate::audit::record_read(&self.ctx, AuditDraft::new(caller, K::READ_ACTION).record(K::KIND, id)).await?;
        }
        Ok(record)
    }

    /// Runs a command (update, deactivate, ...) on the record's actor.
    pub async fn command(&self, id: K::Id, command: K::Command, caller: &Caller) -> Result<K::Record> {
        self.command_with(id, command, ChangeSet::new(), caller).await
    }

    /// Runs a command together with `with`, the caller's writes that must commit with the
    /// change (a job it causes): one change set, so both happen or neither. If the command
    /// changes nothing, `with` is dropped unwritten.
    pub async fn command_with(
        &self,
        id: K::Id,
        command: K::Command,
        with: ChangeSet,
        caller: &Caller,
    ) -> Result<K::Record> {
        let input = Box::new((command, caller.clone(), with, None));
        self.ask(id, |reply| Msg::Command { input, reply }).await
    }

    async fn ask(&self, id: K::Id, make: impl FnOnce(Reply<Result<K::Record>>) -> Msg<K>) -> Result<K::Record> {
        self.reg.ask(id.as_u128(), make).await.map_err(|e| Error::from_ask(K::KIND, e))?
    }

    /// The committed record, without an audit entry: for access checks before the real,
    /// audited read or change.
    pub fn peek(&self, id: K::Id) -> Result<K::Record> {
        self.ctx.store.read()?.get::<K::Record>(K::TABLE, id.as_u128())?.ok_or_else(|| K::not_found(id))
    }

    /// True if the record exists (committed), read from the store.
    pub fn exists(&self, id: K::Id) -> Result<bool> {
        Ok(self.ctx.store.read()?.get::<K::Record>(K::TABLE, id.as_u128())?.is_some())
    }

    /// One page in creation order after `after`, with the key to continue from when more
    /// remain. The page (which records were shown) is audited.
    pub async fn list(
        &self,
        filter: &K::Filter,
        after: Option<u128>,
        limit: usize,
        caller: &Caller,
    ) -> Result<Page<K::Record>> {
        let page = self.list_unaudited(filter, after, limit)?;
        self.audited_page(page, caller).await
    }

    /// Audits a page about to be shown (`<kind>.list` with the ids), unless the kind opts out.
    async fn audited_page(&self, page: Page<K::Record>, caller: &Caller) -> Result<Page<K::Record>> {
        if K::READS == ReadAudit::Audited {
            let ids: Vec<String> = page.0.iter().map(|r| K::id(r).to_string()).collect();
            crate::audit::record_read(
                &self.ctx,
                AuditDraft::new(caller, K::LIST_ACTION).detail(serde_json::json!({ "ids": ids })),
            )
            .await?;
        }
        Ok(page)
    }

    /// One page newest first (highest key first) below `before`, with the key to continue
    /// below when more remain: a cat's history, where the latest matters most. Audited like
    /// [`Self::list`].
    pub async fn list_newest_first(
        &self,
        filter: &K::Filter,
        before: Option<u128>,
        limit: usize,
        caller: &Caller,
    ) -> Result<Page<K::Record>> {
        let page = self.list_newest_first_unaudited(filter, before, limit)?;
        self.audited_page(page, caller).await
    }

    /// [`Self::list_newest_first`] without an audit entry, for Clowder's own use.
    pub fn list_newest_first_unaudited(
        &self,
        filter: &K::Filter,
        before: Option<u128>,
        limit: usize,
    ) -> Result<Page<K::Record>> {
        let reader = self.ctx.store.read()?;
        let keep = |r: &K::Record| K::matches(filter, r);
        let key = |r: &K::Record| K::id(r).as_u128();
        Ok(match K::list_via(filter) {
            Some(link) => page::index_page_rev(&reader, (link.index, link.parent), K::TABLE, before, limit, keep, key)?,
            None => page::scan_page_rev(&reader, K::TABLE, before, limit, keep, key)?,
        })
    }

    /// A page without an audit entry, for Clowder's own use (start-up checks, demo seeding).
    pub fn list_unaudited(&self, filter: &K::Filter, after: Option<u128>, limit: usize) -> Result<Page<K::Record>> {
        let reader = self.ctx.store.read()?;
        let keep = |r: &K::Record| K::matches(filter, r);
        let key = |r: &K::Record| K::id(r).as_u128();
        Ok(match K::list_via(filter) {
            Some(link) => page::index_page(&reader, (link.index, link.parent), K::TABLE, after, limit, keep, key)?,
            None => page::scan_page(&reader, K::TABLE, after, limit, keep, key)?,
        })
    }

    /// Actors of this kind in memory.
    pub fn live(&self) -> usize {
        self.reg.live()
    }

    /// Passivates every live actor of this kind (see `Registry::passivate_all`).
    pub fn passivate_all(&self) {
        self.reg.passivate_all();
    }

    pub(crate) fn stop_all(&self) {
        self.reg.stop_all();
    }
}
