//! The generic record mechanism: everything a record kind (clients, patients, later visits)
//! needs that is not a business rule, written once.
//!
//! A kind implements [`RecordKind`]: its record type, id, table, the unique values it claims
//! and the index links it keeps, its list filter, and pure *decide* functions that turn a
//! command into a [`Decision`] (the new record, the changed fields, the event, the audit
//! action) or refuse it. The generic actor (`actor.rs`) runs those decisions one at a time per
//! record: it diffs claims and links between the old and the new record, builds the one
//! change set, commits it and only then keeps the new state. The generic service
//! ([`service::Records`]) activates and passivates actors, audits reads by default, and lists
//! from a store snapshot ([`page`]).
//!
//! Decide functions see the world only through [`DecideCtx`] (the time, the settings, the
//! caller and a read-only store snapshot), so they are unit-tested without a server. Nothing
//! here knows a clinic rule; those live in the kinds' modules.

mod actor;
pub mod page;
pub mod service;
#[cfg(test)]
mod tests;

use std::cell::OnceCell;

use clowder_schemas::audit::Caller;
use clowder_schemas::events::DomainEvent;
use clowder_schemas::records::Record;
use jiff::Timestamp;
use jiff::civil::Date;

use crate::ctx::SystemConfig;
use crate::error::{Error, Result};
use crate::store::{ChangeSet, IndexTable, Reader, RecordTable, Series, Store};

pub use service::Records;

/// Fills an index that a kind's `links` keep, from every record of `table`, when `index` is
/// empty (a store written before the index existed; checked at every start, so an empty
/// table is read again, cheaply). `links` gives a record's key and its links. One change set,
/// audited as `action` with `{what: <records linked>}`. Returns how many records were linked.
pub async fn fill_index_when_empty<R: Record, L: IntoIterator<Item = Link>>(
    store: &Store,
    index: IndexTable,
    table: RecordTable,
    links: impl Fn(&R) -> (u128, L),
    action: &str,
    what: &str,
) -> Result<usize> {
    let reader = store.read()?;
    let mut empty = true;
    reader.index_from(index, (0, 0), |_| {
        empty = false;
        std::ops::ControlFlow::Break(())
    })?;
    if !empty {
        return Ok(0);
    }
    let mut set = ChangeSet::new();
    let mut linked = 0usize;
    reader.scan::<R>(table, None, |r| {
        let (key, of) = links(&r);
        let mut any = false;
        for l in of {
            set.link(l.index, l.parent, key);
            any = true;
        }
        linked += usize::from(any);
        std::ops::ControlFlow::Continue(())
    })?;
    drop(reader);
    if linked > 0 {
        set.audit(
            clowder_schemas::audit::AuditDraft::new(&Caller::system(), action)
                .detail(serde_json::json!({ what: linked })),
        );
        store.commit(set).await?;
    }
    Ok(linked)
}

/// A ULID newtype used as a record's id (`ClientId`, `PatientId`, ...), with its store key
/// and the not-found code a path naming an unknown one answers.
pub use clowder_schemas::ids::RecordId;

/// A unique value a record holds in the store's `unique` table (e.g. a client's email).
/// The commit thread refuses the whole change set, naming `field`, when another record
/// holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim<'a> {
    /// Namespace in the unique table (`store::tables::unique`).
    pub ns: &'static str,
    pub value: &'a str,
    /// The JSON field named by `duplicate_value`.
    pub field: &'static str,
}

/// An index entry `(parent, this record)` a record keeps (e.g. a cat under its owner).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub index: IndexTable,
    pub parent: u128,
}

/// Whether reads of a kind go to the audit trail. Audited is the default; a kind that opts
/// out must say why (the reason is kept in code, next to the kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadAudit {
    Audited,
    NotAudited { why: &'static str },
}

/// What a decide function concluded: the record to store and what to say about it.
#[derive(Debug, Clone)]
pub struct Decision<R> {
    /// The complete new record (timestamps already set from [`DecideCtx::now`]).
    pub record: R,
    /// JSON names of the changed fields (empty for a creation); in the audit detail.
    pub changed: Vec<&'static str>,
    pub event: DomainEvent,
    /// The audit action, e.g. `client.update`.
    pub action: &'static str,
}

/// The series a change numbers a record in, and the function that writes the number into it.
pub type Numbered<R> = (Series, fn(&mut R, &str));

/// A record kind served by the generic actor and service.
pub trait RecordKind: Sized + Send + Sync + 'static {
    type Record: Record + Clone;
    type Id: RecordId;
    /// The validated input of a creation.
    type Draft: Send + 'static;
    /// Every other command (update, deactivate, ...).
    type Command: Send + 'static;
    /// Which records a list shows.
    type Filter: Send + Sync;

    /// The kind's name: metrics label, audit record kind, error messages (`client`).
    const KIND: &'static str;
    const TABLE: RecordTable;
    /// Audit action of a read (`client.read`) and of a list (`client.list`).
    const READ_ACTION: &'static str;
    const LIST_ACTION: &'static str;
    const READS: ReadAudit = ReadAudit::Audited;

    fn id(record: &Self::Record) -> Self::Id;
    /// The kind's not-found error (each keeps its own wire code, e.g. `client_not_found`).
    fn not_found(id: Self::Id) -> Error;
    /// The unique values `record` holds.
    fn claims(record: &Self::Record) -> impl Iterator<Item = Claim<'_>>;
    /// The index entries `record` keeps.
    fn links(_record: &Self::Record) -> impl Iterator<Item = Link> {
        std::iter::empty()
    }
    fn matches(filter: &Self::Filter, record: &Self::Record) -> bool;
    /// An index whose children are exactly the candidates of `filter`, walked instead of the
    /// whole table (e.g. a client's cats).
    fn list_via(_filter: &Self::Filter) -> Option<Link> {
        None
    }

    /// What else the decision's change set writes besides the record, its claims and links:
    /// rows of tables no actor owns (a visit's note draft, an index of work still to do) and
    /// guards on them, so they commit with the record or not at all. Called with the same
    /// context (and snapshot) as the decision, right after it; `old` is `None` for a creation.
    /// Never another kind's record: its actor would keep a stale copy.
    fn also(_ctx: &DecideCtx<'_>, _old: Option<&Self::Record>, _new: &Self::Record) -> Result<ChangeSet> {
        Ok(ChangeSet::new())
    }

    /// Locks the actor takes, in this order, before deciding `command`, and holds until its
    /// change set has committed (or it was refused): for kinds whose commands also write rows
    /// another writer keeps in step under its own lock (a purchase order's receipts write
    /// stock lots and ledger entries). Taken by the actor, not the caller, so an ask that
    /// timed out cannot commit later outside the lock. Default: none.
    fn locks(_command: &Self::Command) -> Vec<std::sync::Arc<tokio::sync::Mutex<()>>> {
        Vec::new()
    }

    /// A gap-free human number this change gives the record (an invoice's `INV-2026-000042`
    /// when it is issued), and how to write it into the record: the commit thread allocates it
    /// in the change set's transaction (`ChangeSet::put_numbered`) and the actor keeps the
    /// record with its number. `None` (the default): the record is written as decided.
    fn numbered(_old: Option<&Self::Record>, _new: &Self::Record) -> Option<Numbered<Self::Record>> {
        None
    }

    /// Decides a creation (the id is chosen by the service).
    fn decide_create(ctx: &DecideCtx<'_>, id: Self::Id, draft: Self::Draft) -> Result<Decision<Self::Record>>;
    /// Decides a command on the current record; `None` means nothing changes (nothing is
    /// written and the current record is answered).
    fn decide(
        ctx: &DecideCtx<'_>,
        current: &Self::Record,
        command: Self::Command,
    ) -> Result<Option<Decision<Self::Record>>>;
}

/// What a decide function may look at: all read-only.
pub struct DecideCtx<'a> {
    /// The time of this decision (one reading of the clock).
    pub now: Timestamp,
    pub settings: &'a SystemConfig,
    pub caller: &'a Caller,
    store: Option<&'a Store>,
    snapshot: OnceCell<Reader>,
    /// Rows a command's decision writes besides the record (see [`Self::write_also`]).
    extra: std::cell::RefCell<ChangeSet>,
    /// Set by [`Self::record_unchanged`].
    unchanged: std::cell::Cell<bool>,
}

impl<'a> DecideCtx<'a> {
    /// `store` is `None` in unit tests of decisions that read no other record.
    pub fn new(now: Timestamp, settings: &'a SystemConfig, caller: &'a Caller, store: Option<&'a Store>) -> Self {
        Self {
            now,
            settings,
            caller,
            store,
            snapshot: OnceCell::new(),
            extra: Default::default(),
            unchanged: Default::default(),
        }
    }

    /// Adds rows of tables no actor owns to the decision's change set, for a command whose
    /// writes are worked out while deciding, from this snapshot (a prescription's dispensing,
    /// planned by inventory under the stock lock the actor holds). Written only if the
    /// decision is `Some`; like [`RecordKind::also`], never another kind's record.
    pub fn write_also(&self, set: ChangeSet) {
        self.extra.borrow_mut().append(set);
    }

    /// What [`Self::write_also`] collected.
    pub(crate) fn take_also(&self) -> ChangeSet {
        std::mem::take(&mut *self.extra.borrow_mut())
    }

    /// Says the decision leaves the record as it is and only writes what
    /// [`Self::write_also`] collected: the commit carries those rows and the audit entry,
    /// but neither the record nor the decision's event (nothing about it changed).
    pub fn record_unchanged(&self) {
        self.unchanged.set(true);
    }

    /// Whether [`Self::record_unchanged`] was called.
    pub(crate) fn is_unchanged(&self) -> bool {
        self.unchanged.get()
    }

    /// The clinic's local date at [`Self::now`].
    pub fn today(&self) -> Date {
        self.now.to_zoned(self.settings.time_zone.clone()).date()
    }

    /// Another record, from one snapshot opened on first use (so decisions that read
    /// nothing cost no read transaction).
    pub fn get<R: Record>(&self, table: RecordTable, key: u128) -> Result<Option<R>> {
        Ok(self.reader()?.get(table, key)?)
    }

    /// The record holding a unique value (e.g. the staff profile of a user), from the same
    /// snapshot.
    pub fn unique_owner(&self, ns: &str, value: &str) -> Result<Option<u128>> {
        Ok(self.reader()?.unique_owner(ns, value)?)
    }

    /// The snapshot itself (opened on first use, shared with [`Self::get`]), for decisions
    /// that walk an index (a cat's problem list, its other prescriptions).
    pub fn reader(&self) -> Result<&Reader> {
        if let Some(r) = self.snapshot.get() {
            return Ok(r);
        }
        let store = self.store.ok_or_else(|| Error::Internal("this decision has no store snapshot".into()))?;
        let reader = store.read()?;
        Ok(self.snapshot.get_or_init(|| reader))
    }
}

/// Claims of `new` that `old` did not hold (all of them for a creation).
pub fn claimed<'a, K: RecordKind>(old: Option<&'a K::Record>, new: &'a K::Record) -> impl Iterator<Item = Claim<'a>> {
    K::claims(new).filter(move |c| !old.is_some_and(|o| K::claims(o).any(|x| x == *c)))
}

/// Claims of `old` that `new` gives up.
pub fn released<'a, K: RecordKind>(old: Option<&'a K::Record>, new: &'a K::Record) -> impl Iterator<Item = Claim<'a>> {
    old.into_iter().flat_map(K::claims).filter(move |c| !K::claims(new).any(|x| x == *c))
}

/// Links of `new` that `old` did not have.
pub fn linked<'a, K: RecordKind>(old: Option<&'a K::Record>, new: &'a K::Record) -> impl Iterator<Item = Link> {
    K::links(new).filter(move |l| !old.is_some_and(|o| K::links(o).any(|x| x == *l)))
}

/// Links of `old` that `new` drops.
pub fn unlinked<'a, K: RecordKind>(old: Option<&'a K::Record>, new: &'a K::Record) -> impl Iterator<Item = Link> {
    old.into_iter().flat_map(K::links).filter(move |l| !K::links(new).any(|x| x == *l))
}
