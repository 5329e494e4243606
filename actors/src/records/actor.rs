//! The one actor every record kind runs on: it holds one record (or nothing, when the id is
//! not on file), asks the kind to decide each command, and turns the decision into one change
//! set (claims and links diffed between the old and the new record, the record, the event,
//! the audit entry). Its state changes only after the commit succeeded, so rebuilding from
//! the store always gives what callers were told.

use std::sync::Arc;

use clowder_schemas::audit::{AuditDraft, Caller};
use jiff::Timestamp;

use super::{DecideCtx, Decision, RecordId, RecordKind, claimed, linked, released, unlinked};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::runtime::registry::KeyedFactory;
use crate::runtime::{Actor, Reply};
use crate::store::ChangeSet;

pub(crate) struct RecordActor<K: RecordKind> {
    id: K::Id,
    state: Option<K::Record>,
    ctx: Arc<Ctx>,
}

/// The input and the caller share one box: a mailbox allocates its slots in blocks of 32,
/// so the size of `Msg` is paid 32 times by every live actor, and one allocation per
/// command is cheaper than two.
pub(crate) enum Msg<K: RecordKind> {
    /// The change set beside the draft is another service's writes that must commit with
    /// the creation (a referral recorded with a new client); usually empty. The instant, when
    /// there is one, is an import's: the decision is made as of then (see `Records::import_at`).
    Create {
        input: Box<(K::Draft, Caller, ChangeSet, Option<Timestamp>)>,
        reply: Reply<Result<K::Record>>,
    },
    Get {
        reply: Reply<Result<K::Record>>,
    },
    /// The change set beside the command is the caller's writes that must commit with the
    /// change (an invoice's overdue job, written when it is issued); usually empty.
    Command {
        input: Box<(K::Command, Caller, ChangeSet, Option<Timestamp>)>,
        reply: Reply<Result<K::Record>>,
    },
}

impl<K: RecordKind> RecordActor<K> {
    fn current(&self) -> Result<&K::Record> {
        self.state.as_ref().ok_or_else(|| K::not_found(self.id))
    }

    /// `as_of` is an import's instant (in the past, checked by the service); else now.
    fn decide_ctx<'a>(&'a self, caller: &'a Caller, as_of: Option<Timestamp>) -> DecideCtx<'a> {
        DecideCtx::new(as_of.unwrap_or_else(|| self.ctx.clock.now()), &self.ctx.config, caller, Some(&self.ctx.store))
    }

    async fn create(
        &mut self,
        draft: K::Draft,
        caller: &Caller,
        with: ChangeSet,
        as_of: Option<Timestamp>,
    ) -> Result<K::Record> {
        if self.state.is_some() {
            return Err(Error::Internal(format!("{} id {} already exists", K::KIND, self.id)));
        }
        // The context (and any snapshot it opened) is dropped before the commit is awaited.
        let (decision, also) = {
            let ctx = self.decide_ctx(caller, as_of);
            let d = K::decide_create(&ctx, self.id, draft)?;
            let also = K::also(&ctx, None, &d.record)?;
            (d, also)
        };
        self.commit(decision, also, caller, with, as_of).await
    }

    async fn command(
        &mut self,
        command: K::Command,
        caller: &Caller,
        with: ChangeSet,
        as_of: Option<Timestamp>,
    ) -> Result<K::Record> {
        // Held until this function returns: after the commit, or the refusal.
        let mut _held = Vec::new();
        for m in K::locks(&command) {
            _held.push(m.lock_owned().await);
        }
        let decided = {
            let ctx = self.decide_ctx(caller, as_of);
            match K::decide(&ctx, self.current()?, command)? {
                Some(d) if ctx.is_unchanged() => Some((d, ctx.take_also(), true)),
                Some(d) => {
                    let mut also = K::also(&ctx, self.state.as_ref(), &d.record)?;
                    also.append(ctx.take_also());
                    Some((d, also, false))
                }
                None => None,
            }
        };
        match decided {
            Some((d, also, true)) => self.commit_also(d, also, caller, with).await,
            Some((d, also, false)) => self.commit(d, also, caller, with, as_of).await,
            None => self.current().cloned(),
        }
    }

    /// Commits a decision that leaves the record unchanged: only the rows written besides it
    /// and the audit entry ([`super::DecideCtx::record_unchanged`]).
    async fn commit_also(
        &mut self,
        d: Decision<K::Record>,
        also: ChangeSet,
        caller: &Caller,
        with: ChangeSet,
    ) -> Result<K::Record> {
        let mut set = ChangeSet::new();
        set.append(with);
        set.audit(AuditDraft::new(caller, d.action).record(K::KIND, self.id));
        set.append(also);
        self.ctx.store.commit(set).await?;
        self.current().cloned()
    }

    async fn commit(
        &mut self,
        d: Decision<K::Record>,
        also: ChangeSet,
        caller: &Caller,
        with: ChangeSet,
        as_of: Option<Timestamp>,
    ) -> Result<K::Record> {
        let key = self.id.as_u128();
        let old = self.state.as_ref();
        let new = &d.record;
        let mut set = ChangeSet::new();
        set.append(with);
        for c in released::<K>(old, new) {
            set.release(c.ns, c.value, key);
        }
        for c in claimed::<K>(old, new) {
            set.claim(c.ns, c.value, key, c.field);
        }
        for l in unlinked::<K>(old, new) {
            set.unlink(l.index, l.parent, key);
        }
        for l in linked::<K>(old, new) {
            set.link(l.index, l.parent, key);
        }
        let numbered = K::numbered(old, new);
        match &numbered {
            // The record's number comes first in the set, so it is the receipt's first.
            Some((series, write_number)) => {
                let (record, write_number) = (new.clone(), *write_number);
                set.put_numbered(K::TABLE, key, *series, move |n| {
                    let mut r = record;
                    write_number(&mut r, n);
                    Ok(r)
                });
            }
            None => {
                set.put(K::TABLE, key, new)?;
            }
        }
        let mut audit = AuditDraft::new(caller, d.action).record(K::KIND, self.id);
        let mut detail = serde_json::Map::new();
        if old.is_some() {
            detail.insert("changed".into(), serde_json::json!(d.changed));
        }
        // An import is audited as one: by whoever ran it, now, saying when it happened.
        if let Some(at) = as_of {
            detail.insert("imported_as_of".into(), serde_json::json!(at));
        }
        if !detail.is_empty() {
            audit = audit.detail(serde_json::Value::Object(detail));
        }
        set.audit(audit);
        set.event(caller.author(), d.event);
        set.append(also);
        let receipt = self.ctx.store.commit(set).await?;
        let mut record = d.record;
        if let (Some((_, write_number)), Some(n)) = (numbered, receipt.numbers.first()) {
            write_number(&mut record, n);
        }
        self.state = Some(record.clone());
        Ok(record)
    }
}

impl<K: RecordKind> Actor for RecordActor<K> {
    type Msg = Msg<K>;

    fn is_vacant(&self) -> bool {
        self.state.is_none()
    }

    async fn handle(&mut self, msg: Msg<K>) {
        match msg {
            Msg::Create { input, reply } => {
                let (draft, caller, with, as_of) = *input;
                let _ = reply.send(self.create(draft, &caller, with, as_of).await);
            }
            Msg::Get { reply } => {
                let _ = reply.send(self.current().cloned());
            }
            Msg::Command { input, reply } => {
                let (command, caller, with, as_of) = *input;
                let _ = reply.send(self.command(command, &caller, with, as_of).await);
            }
        }
    }
}

/// Activates an actor from the committed record (at first use and after a panic).
pub(crate) struct Loader<K>(pub(crate) Arc<Ctx>, std::marker::PhantomData<fn() -> K>);

impl<K> Loader<K> {
    pub(crate) fn new(ctx: Arc<Ctx>) -> Self {
        Self(ctx, std::marker::PhantomData)
    }
}

impl<K: RecordKind> KeyedFactory<RecordActor<K>> for Loader<K> {
    async fn build(&self, key: u128) -> Result<RecordActor<K>> {
        let state = self.0.store.read()?.get::<K::Record>(K::TABLE, key)?;
        Ok(RecordActor { id: K::Id::from_u128(key), state, ctx: self.0.clone() })
    }
}
