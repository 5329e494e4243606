//! The controlled-drug register (`clowder_schemas::controlled`): append-only store rows, not
//! a record kind. A container is written once at receipt; every later fact is a new entry
//! (administration, dispensing, reversal, discrepancy, count) carrying the running balance
//! after it. There is no update or delete command at all: a mistake is undone by a reversal
//! entry (each entry reversed at most once, a `controlled_reversal` claim), so the register
//! reads the same forever.
//!
//! Every entry is made by the signed-in user and witnessed by another active staff user whose
//! PIN is checked here (`staff::accounts::Accounts::verify_witness`: wrong PINs count towards
//! the PIN lock). Entries are written under one lock per process, so a balance is always the
//! previous entry's balance plus this change; the balance never goes below zero.
//!
//! Reads (a container with its entries, the list, the CSV and PDF exports) are audited.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use clowder_schemas::ValidationError;
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::controlled::{
    Container, ContainerView, Entry, EntryKind, ReceiveContainer, RecordCount, RecordDiscrepancy, RecordUse, Recorded,
    ReverseEntry, UseKind, Witness, csv_line, show_milli,
};
use clowder_schemas::events::DomainEvent;
use clowder_schemas::formulary::{Formulary, num};
use clowder_schemas::ids::{ControlledContainerId, ControlledEntryId};
use clowder_schemas::patients::{Patient, PatientStatus};
use clowder_schemas::prescriptions::Prescription;
use clowder_schemas::users::User;
use jiff::Timestamp;
use jiff::civil::Date;

use super::facts;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::records::DecideCtx;
use crate::staff::accounts::Accounts;
use crate::store::tables::unique;
use crate::store::{ChangeSet, IndexTable, Reader, RecordTable};

/// The register service.
#[derive(Clone)]
pub struct Controlled {
    ctx: Arc<Ctx>,
    accounts: Accounts,
    writer: Arc<tokio::sync::Mutex<()>>,
}

/// The signed-in user and the witness, by id and name.
struct Pair {
    by: Option<clowder_schemas::UserId>,
    by_name: String,
    witness: User,
}

impl Controlled {
    pub(crate) fn new(ctx: Arc<Ctx>, accounts: Accounts) -> Self {
        Self { ctx, accounts, writer: Arc::default() }
    }

    /// Checks the witness: another active user, whose PIN is right. A wrong PIN is 422 naming
    /// `witness.pin` (not 401: the signed-in user's own session is fine).
    async fn witness(&self, w: &Witness, caller: &Caller) -> Result<Pair> {
        let witness = match self.accounts.verify_witness(&w.username, &w.pin, caller).await {
            Ok(u) => u,
            Err(Error::InvalidCredentials) => {
                return Err(ValidationError::new("witness.pin", "the witness's username or PIN is not right").into());
            }
            Err(Error::PinLocked) => {
                return Err(ValidationError::new(
                    "witness.pin",
                    "the witness's PIN is locked after too many wrong tries; they must sign in with their password first",
                )
                .into());
            }
            Err(e) => return Err(e),
        };
        let by = caller.user_id();
        if by == Some(witness.id) {
            return Err(ValidationError::new("witness.username", "the witness must be someone other than you").into());
        }
        let by_name = match by {
            Some(id) => self.ctx.store.read()?.get::<User>(RecordTable::Users, id.as_u128())?.map(|u| u.display_name),
            None => None,
        }
        .unwrap_or_else(|| "Clowder".into());
        Ok(Pair { by, by_name, witness })
    }

    fn container(&self, reader: &Reader, id: ControlledContainerId) -> Result<Container> {
        reader
            .get::<Container>(RecordTable::ControlledContainers, id.as_u128())?
            .ok_or(Error::ControlledContainerNotFound(id))
    }

    /// The container's entries, oldest first.
    fn entries(reader: &Reader, id: ControlledContainerId) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        for k in reader.children(IndexTable::ControlledByContainer, id.as_u128(), None)? {
            if let Some(e) = reader.get::<Entry>(RecordTable::ControlledEntries, k)? {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// The running balance: the newest entry's.
    fn balance(reader: &Reader, id: ControlledContainerId) -> Result<i64> {
        Ok(Self::latest(reader, id)?.0)
    }

    /// The running balance and the newest entry's id (a new entry's id must sort after it).
    fn latest(reader: &Reader, id: ControlledContainerId) -> Result<(i64, Option<ControlledEntryId>)> {
        let mut latest = (0, None);
        reader.children_rev(IndexTable::ControlledByContainer, id.as_u128(), None, |k| {
            if let Some(e) = reader.get::<Entry>(RecordTable::ControlledEntries, k)? {
                latest = (e.balance_after, Some(e.id));
            }
            Ok(ControlFlow::Break(()))
        })?;
        Ok(latest)
    }

    /// A new entry whose id sorts after `after` (the container's newest entry): entries are
    /// read back in id order and the newest one carries the balance, but two ids made in the
    /// same millisecond (a count and its discrepancy, two quick writes) are otherwise in
    /// random order.
    #[allow(clippy::too_many_arguments)]
    fn new_entry(
        &self,
        c: &Container,
        kind: EntryKind,
        change: i64,
        balance_after: i64,
        who: &Pair,
        now: Timestamp,
        after: Option<ControlledEntryId>,
    ) -> Entry {
        Entry {
            id: ControlledEntryId::from_u128(crate::ctx::ulid_after(self.ctx.new_ulid(), after.map(|a| a.as_u128()))),
            container_id: c.id,
            drug_id: c.drug_id.clone(),
            kind,
            change,
            balance_after,
            counted: None,
            patient_id: None,
            prescription_id: None,
            reverses: None,
            reason: None,
            by: who.by,
            by_name: who.by_name.clone(),
            witness_id: who.witness.id,
            witness_name: who.witness.display_name.clone(),
            at: now,
        }
    }

    /// Puts entries (and their index rows, events and audit entries) into `set`.
    pub(crate) fn add(set: &mut ChangeSet, caller: &Caller, entries: &[Entry]) -> Result<()> {
        for e in entries {
            set.put(RecordTable::ControlledEntries, e.id.as_u128(), e)?;
            set.link(IndexTable::ControlledByContainer, e.container_id.as_u128(), e.id.as_u128());
            set.event(
                caller.author(),
                DomainEvent::ControlledEntryRecorded {
                    entry_id: e.id,
                    container_id: e.container_id,
                    patient_id: e.patient_id,
                },
            );
            set.audit(
                AuditDraft::new(caller, format!("controlled.{}", e.kind.as_str()))
                    .record("controlled_entry", e.id)
                    .detail(serde_json::json!({
                        "container_id": e.container_id, "drug": e.drug_id, "change": show_milli(e.change),
                        "balance_after": show_milli(e.balance_after), "patient_id": e.patient_id,
                        "witness_id": e.witness_id, "reason": e.reason,
                    })),
            );
        }
        Ok(())
    }

    /// A container received: the container and its receipt entry, witnessed.
    pub async fn receive(&self, body: ReceiveContainer, caller: &Caller) -> Result<ContainerView> {
        let (d, w) = body.validate()?;
        let settings = &self.ctx.config;
        let now = self.ctx.clock.now();
        let formulary = {
            let dctx = DecideCtx::new(now, settings, caller, Some(&self.ctx.store));
            facts::current::<Formulary>(&dctx)?.1
        };
        let drug = formulary
            .find(&d.drug)
            .ok_or_else(|| ValidationError::new("drug", format!("{:?} is not in the formulary", d.drug)))?;
        if !drug.schedule.is_controlled() {
            return Err(ValidationError::new(
                "drug",
                format!("{} is not a controlled drug in the formulary", drug.name),
            )
            .into());
        }
        let form = drug.form(d.form).ok_or_else(|| {
            ValidationError::new("form", format!("{} does not come as {}", drug.name, d.form.as_str()))
        })?;
        if !form.strengths.iter().any(|s| (s - d.strength).abs() < 1e-9) {
            let list: Vec<String> = form.strengths.iter().map(|s| num(*s)).collect();
            return Err(ValidationError::new("strength", format!("is one of {}", list.join(", "))).into());
        }
        let who = self.witness(w, caller).await?;
        let _w = self.writer.lock().await;
        let container = Container {
            id: ControlledContainerId::from_ulid(self.ctx.new_ulid()),
            drug_id: drug.id.clone(),
            drug_name: drug.name.clone(),
            schedule: drug.schedule,
            form: d.form,
            strength: d.strength,
            unit: d.form.unit().to_owned(),
            lot: d.lot,
            expires_on: d.expires_on,
            received_quantity: d.quantity,
            supplier: d.supplier,
            opened_on: d.opened_on,
            received_at: now,
            received_by: who.by,
            lot_id: None,
            product_id: None,
        };
        let mut receipt = self.new_entry(&container, EntryKind::Receipt, d.quantity, d.quantity, &who, now, None);
        receipt.reason = d.note;
        let mut set = ChangeSet::new();
        set.put(RecordTable::ControlledContainers, container.id.as_u128(), &container)?;
        Self::add(&mut set, caller, std::slice::from_ref(&receipt))?;
        self.ctx.store.commit(set).await?;
        Ok(ContainerView { container, balance: receipt.balance_after, entries: vec![receipt] })
    }

    /// An administration or dispensing for a cat, witnessed; never more than the balance.
    pub async fn record_use(&self, id: ControlledContainerId, body: RecordUse, caller: &Caller) -> Result<Recorded> {
        let (qty, note, w) = body.validate()?;
        let reader = self.ctx.store.read()?;
        let c = self.container(&reader, id)?;
        not_linked(&c)?;
        let patient = reader
            .get::<Patient>(RecordTable::Patients, body.patient_id.as_u128())?
            .ok_or(Error::PatientNotFound(body.patient_id))?;
        if patient.status == PatientStatus::Deceased && body.kind == UseKind::Dispensing {
            return Err(
                ValidationError::new("patient_id", "the cat is deceased: nothing can be dispensed for it").into()
            );
        }
        if let Some(p) = body.prescription_id {
            let rx = reader
                .get::<Prescription>(RecordTable::Prescriptions, p.as_u128())?
                .ok_or(Error::PrescriptionNotFound(p))?;
            if rx.patient_id != body.patient_id || rx.drug_id != c.drug_id {
                return Err(ValidationError::new(
                    "prescription_id",
                    "is a prescription of another cat or another drug",
                )
                .into());
            }
        }
        drop(reader);
        let who = self.witness(w, caller).await?;
        let _w = self.writer.lock().await;
        let (balance, last) = Self::latest(&self.ctx.store.read()?, id)?;
        if qty > balance {
            return Err(ValidationError::new(
                "quantity",
                format!("only {} {} remain in this container", show_milli(balance), c.unit),
            )
            .into());
        }
        let kind = match body.kind {
            UseKind::Administration => EntryKind::Administration,
            UseKind::Dispensing => EntryKind::Dispensing,
        };
        let mut e = self.new_entry(&c, kind, -qty, balance - qty, &who, self.ctx.clock.now(), last);
        e.patient_id = Some(body.patient_id);
        e.prescription_id = body.prescription_id;
        e.reason = note;
        self.write(caller, vec![e]).await
    }

    /// A discrepancy found (spillage, breakage, drug found), with its reason, witnessed.
    pub async fn discrepancy(
        &self,
        id: ControlledContainerId,
        body: RecordDiscrepancy,
        caller: &Caller,
    ) -> Result<Recorded> {
        let (change, reason, w) = body.validate()?;
        let c = self.container(&self.ctx.store.read()?, id)?;
        not_linked(&c)?;
        let who = self.witness(w, caller).await?;
        let _w = self.writer.lock().await;
        let (balance, last) = Self::latest(&self.ctx.store.read()?, id)?;
        if balance + change < 0 {
            return Err(ValidationError::new(
                "change",
                format!("would leave less than nothing: {} {} remain", show_milli(balance), c.unit),
            )
            .into());
        }
        let mut e =
            self.new_entry(&c, EntryKind::Discrepancy, change, balance + change, &who, self.ctx.clock.now(), last);
        e.reason = Some(reason);
        self.write(caller, vec![e]).await
    }

    /// A physical count, witnessed. It is recorded as counted, whatever the balance; when it
    /// differs a reason is required and a discrepancy entry brings the balance to the count
    /// (the difference stays in the register for ever).
    pub async fn count(&self, id: ControlledContainerId, body: RecordCount, caller: &Caller) -> Result<Recorded> {
        let (counted, reason, w) = body.validate()?;
        let c = self.container(&self.ctx.store.read()?, id)?;
        let who = self.witness(w, caller).await?;
        let _w = self.writer.lock().await;
        let (balance, last) = Self::latest(&self.ctx.store.read()?, id)?;
        let now = self.ctx.clock.now();
        let mut count = self.new_entry(&c, EntryKind::Count, 0, balance, &who, now, last);
        count.counted = Some(counted);
        count.reason = reason.clone();
        let count_id = count.id;
        let mut entries = vec![count];
        if counted != balance {
            // A linked container's balance follows its lot: a difference is corrected through
            // inventory (an adjustment), which writes the discrepancy with the ledger entry.
            not_linked(&c)?;
            let Some(reason) = reason else {
                return Err(ValidationError::new(
                    "reason",
                    format!(
                        "the count ({} {}) differs from the register's balance ({} {}): say why",
                        show_milli(counted),
                        c.unit,
                        show_milli(balance),
                        c.unit
                    ),
                )
                .into());
            };
            let mut d =
                self.new_entry(&c, EntryKind::Discrepancy, counted - balance, counted, &who, now, Some(count_id));
            d.reason = Some(format!("count differs from the balance by {}: {reason}", show_milli(counted - balance)));
            entries.push(d);
        }
        self.write(caller, entries).await
    }

    /// Reverses an entry with a reason, witnessed: the opposite change, pointing at it. A
    /// receipt, administration, dispensing or discrepancy may be reversed, once; a count
    /// changes nothing and a reversal is not reversed (record the use again instead).
    pub async fn reverse(&self, entry: ControlledEntryId, body: ReverseEntry, caller: &Caller) -> Result<Recorded> {
        let (reason, w) = body.validate()?;
        let reader = self.ctx.store.read()?;
        let original = reader
            .get::<Entry>(RecordTable::ControlledEntries, entry.as_u128())?
            .ok_or(Error::ControlledEntryNotFound(entry))?;
        if matches!(original.kind, EntryKind::Count | EntryKind::Reversal) {
            return Err(
                ValidationError::new("id", format!("a {} entry cannot be reversed", original.kind.as_str())).into()
            );
        }
        if reader.unique_owner(unique::CONTROLLED_REVERSAL, &entry.to_string())?.is_some() {
            return Err(Error::Duplicate { field: "id" });
        }
        let c = self.container(&reader, original.container_id)?;
        not_linked(&c)?;
        drop(reader);
        let who = self.witness(w, caller).await?;
        let _w = self.writer.lock().await;
        let (balance, last) = Self::latest(&self.ctx.store.read()?, c.id)?;
        if balance - original.change < 0 {
            return Err(ValidationError::new(
                "id",
                format!("reversing it would leave less than nothing: {} {} remain", show_milli(balance), c.unit),
            )
            .into());
        }
        let mut e = self.new_entry(
            &c,
            EntryKind::Reversal,
            -original.change,
            balance - original.change,
            &who,
            self.ctx.clock.now(),
            last,
        );
        e.reverses = Some(original.id);
        e.patient_id = original.patient_id;
        e.prescription_id = original.prescription_id;
        e.reason = Some(reason);
        let mut set = ChangeSet::new();
        set.claim(unique::CONTROLLED_REVERSAL, &entry.to_string(), e.id.as_u128(), "id");
        Self::add(&mut set, caller, std::slice::from_ref(&e))?;
        self.ctx.store.commit(set).await?;
        Ok(Recorded { balance: e.balance_after, entries: vec![e] })
    }

    async fn write(&self, caller: &Caller, entries: Vec<Entry>) -> Result<Recorded> {
        let mut set = ChangeSet::new();
        Self::add(&mut set, caller, &entries)?;
        self.ctx.store.commit(set).await?;
        let balance = entries.last().map_or(0, |e| e.balance_after);
        Ok(Recorded { entries, balance })
    }

    /// One container with its balance and every entry; audited.
    pub async fn get(&self, id: ControlledContainerId, caller: &Caller) -> Result<ContainerView> {
        let reader = self.ctx.store.read()?;
        let container = self.container(&reader, id)?;
        let entries = Self::entries(&reader, id)?;
        let balance = entries.last().map_or(0, |e| e.balance_after);
        crate::audit::record_read(
            &self.ctx,
            AuditDraft::new(caller, "controlled.read").record("controlled_container", id),
        )
        .await?;
        Ok(ContainerView { container, balance, entries })
    }

    /// Every container (of one drug, if named) with its balance, newest first; audited.
    pub async fn list(&self, drug: Option<&str>, caller: &Caller) -> Result<Vec<ContainerView>> {
        let drug_id = match drug {
            Some(name) => Some(self.drug_id(name, caller)?),
            None => None,
        };
        let reader = self.ctx.store.read()?;
        let mut out = Vec::new();
        reader.scan_rev::<Container>(RecordTable::ControlledContainers, None, |c| {
            if drug_id.as_ref().is_none_or(|d| *d == c.drug_id) {
                out.push(c);
            }
            ControlFlow::Continue(())
        })?;
        let mut views = Vec::with_capacity(out.len());
        for c in out {
            let balance = Self::balance(&reader, c.id)?;
            views.push(ContainerView { container: c, balance, entries: Vec::new() });
        }
        let ids: Vec<String> = views.iter().map(|v| v.container.id.to_string()).collect();
        crate::audit::record_read(
            &self.ctx,
            AuditDraft::new(caller, "controlled.list").detail(serde_json::json!({ "ids": ids })),
        )
        .await?;
        Ok(views)
    }

    fn drug_id(&self, name: &str, caller: &Caller) -> Result<String> {
        let dctx = DecideCtx::new(self.ctx.clock.now(), &self.ctx.config, caller, Some(&self.ctx.store));
        let (_, formulary) = facts::current::<Formulary>(&dctx)?;
        Ok(formulary
            .find(name)
            .map(|d| d.id.clone())
            .ok_or_else(|| ValidationError::new("drug", format!("{name:?} is not in the formulary")))?)
    }

    /// The register's entries from `from` to `to` (the clinic's local dates, inclusive), of
    /// one drug if named, oldest first, with their containers. Not audited: each export
    /// audits itself.
    pub(crate) fn register(&self, from: Date, to: Date, drug: Option<&str>, caller: &Caller) -> Result<Register> {
        if to < from {
            return Err(ValidationError::new("to", "is before from").into());
        }
        let drug_id = match drug {
            Some(name) => Some(self.drug_id(name, caller)?),
            None => None,
        };
        let tz = self.ctx.config.time_zone.clone();
        let start = from.to_zoned(tz.clone()).map_err(|e| Error::Internal(e.to_string()))?.timestamp();
        let end = to
            .tomorrow()
            .and_then(|d| d.to_zoned(tz.clone()))
            .map_err(|e| ValidationError::new("to", e.to_string()))?
            .timestamp();
        // Entry ids carry the time they were written: the range is a key range.
        let after = (start.as_millisecond().max(0) as u128) << 80;
        let reader = self.ctx.store.read()?;
        let mut entries = Vec::new();
        reader.scan::<Entry>(RecordTable::ControlledEntries, after.checked_sub(1), |e| {
            if e.at >= end {
                return ControlFlow::Break(());
            }
            if e.at >= start && drug_id.as_ref().is_none_or(|d| *d == e.drug_id) {
                entries.push(e);
            }
            ControlFlow::Continue(())
        })?;
        let mut containers = HashMap::new();
        for e in &entries {
            if let std::collections::hash_map::Entry::Vacant(v) = containers.entry(e.container_id) {
                v.insert(self.container(&reader, e.container_id)?);
            }
        }
        Ok(Register { from, to, drug_id, entries, containers, reader })
    }

    /// The register from `from` to `to` (local dates, inclusive) as CSV, oldest first, one
    /// line per entry; the export is audited (`controlled.export`) before it is returned.
    pub async fn register_csv(&self, from: Date, to: Date, drug: Option<&str>, caller: &Caller) -> Result<String> {
        let r = self.register(from, to, drug, caller)?;
        let tz = self.ctx.config.time_zone.clone();
        let mut out = String::from(clowder_schemas::controlled::CSV_HEADER);
        out.push('\n');
        for e in &r.entries {
            let c = &r.containers[&e.container_id];
            let at = e.at.to_zoned(tz.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string();
            out.push_str(&csv_line(e, c, &at));
            out.push('\n');
        }
        crate::audit::record_now(
            &self.ctx,
            AuditDraft::new(caller, "controlled.export").detail(serde_json::json!({
                "from": from, "to": to, "drug": r.drug_id, "entries": r.entries.len(),
            })),
        )
        .await?;
        Ok(out)
    }

    /// The register from `from` to `to` as a PDF (`clinical::register_pdf`): per drug and
    /// container, every entry and the container's totals. Audited as `controlled.export_pdf`
    /// before it is returned.
    pub async fn register_pdf(&self, from: Date, to: Date, drug: Option<&str>, caller: &Caller) -> Result<Vec<u8>> {
        let r = self.register(from, to, drug, caller)?;
        let now = self.ctx.clock.now();
        let doc = super::register_pdf::document(&self.ctx, &r, drug, now, caller)?;
        let entries = r.entries.len();
        let drug_id = r.drug_id.clone();
        drop(r);
        let pdf = crate::printing::render(doc).await?;
        crate::audit::record_now(
            &self.ctx,
            AuditDraft::new(caller, "controlled.export_pdf").detail(serde_json::json!({
                "from": from, "to": to, "drug": drug_id, "entries": entries, "bytes": pdf.len(),
            })),
        )
        .await?;
        Ok(pdf)
    }
}

/// `new` as an entry id, or the id just after `after` when `new` does not sort after it (made
/// in the same millisecond, or the clock stepped back).
/// A container that is an inventory lot changes only through inventory, which writes the
/// register entry and the ledger entry in one change set; a change made here would leave the
/// lot behind.
fn not_linked(c: &Container) -> Result<()> {
    match c.lot_id {
        Some(lot) => Err(ValidationError::new(
            "id",
            format!(
                "this container is inventory lot {lot} ({}): record its changes through inventory (dispense, adjust, damaged, return, expired), which writes this register too",
                c.lot
            ),
        )
        .into()),
        None => Ok(()),
    }
}

/// Who signs a register entry written by another service (inventory's controlled
/// products): the signed-in user and the witness whose PIN was checked.
#[derive(Debug, Clone)]
pub struct Signed {
    pub by: Option<clowder_schemas::UserId>,
    pub by_name: String,
    pub witness_id: clowder_schemas::UserId,
    pub witness_name: String,
}

impl Controlled {
    /// Checks the witness of a register entry inventory writes: required (422 on `witness`),
    /// another active user, the right PIN.
    pub(crate) async fn sign(&self, w: Option<&Witness>, caller: &Caller) -> Result<Signed> {
        let w = match w {
            Some(w) => clowder_schemas::controlled::require_witness(&Some(w.clone()))?.clone(),
            None => {
                return Err(ValidationError::new(
                    "witness",
                    "the product is controlled: its register entry needs a witness (another staff member's username and PIN)",
                )
                .into());
            }
        };
        let p = self.witness(&w, caller).await?;
        Ok(Signed { by: p.by, by_name: p.by_name, witness_id: p.witness.id, witness_name: p.witness.display_name })
    }

    /// The register's writer lock, for inventory, which writes register entries with its
    /// ledger entries and takes it after the stock lock (always in that order).
    pub(crate) fn writer(&self) -> Arc<tokio::sync::Mutex<()>> {
        self.writer.clone()
    }
}

/// The register container of a controlled product's new lot, and its receipt entry: the drug,
/// form and strength are the product's formulary link, which must name a controlled drug, and
/// the product must count in the form's unit (422 on `field` otherwise).
#[allow(clippy::too_many_arguments)]
pub(crate) fn lot_container(
    ctx: &DecideCtx<'_>,
    field: &str,
    product: &clowder_schemas::inventory::Product,
    lot: &clowder_schemas::inventory::Lot,
    quantity: i64,
    supplier: Option<String>,
    who: &Signed,
    ids: (ControlledContainerId, ulid::Ulid),
) -> Result<(Container, Entry)> {
    let Some(link) = &product.formulary else {
        return Err(ValidationError::new(
            field,
            format!(
                "{} is controlled but not linked to the formulary: link its drug, form and strength (PATCH the product's \"formulary\") so its lots are register containers",
                product.sku
            ),
        )
        .into());
    };
    let (_, formulary) = facts::current::<Formulary>(ctx)?;
    let drug = formulary.find(&link.drug_id).ok_or_else(|| {
        ValidationError::new(field, format!("{}: drug {:?} is no longer in the formulary", product.sku, link.drug_id))
    })?;
    if !drug.schedule.is_controlled() {
        return Err(ValidationError::new(
            field,
            format!(
                "{}: {} has no controlled schedule in the formulary, so the register cannot take it",
                product.sku, drug.name
            ),
        )
        .into());
    }
    let unit = link.form.unit();
    if !product.unit.eq_ignore_ascii_case(unit) {
        return Err(ValidationError::new(
            field,
            format!(
                "{} counts in {} but the register counts {} in {unit}: fix the product's unit",
                product.sku, product.unit, drug.name
            ),
        )
        .into());
    }
    let container = Container {
        id: ids.0,
        drug_id: drug.id.clone(),
        drug_name: drug.name.clone(),
        schedule: drug.schedule,
        form: link.form,
        strength: link.strength,
        unit: unit.to_owned(),
        lot: lot.lot_number.clone(),
        expires_on: lot.expires_on,
        received_quantity: quantity,
        supplier,
        opened_on: None,
        received_at: lot.received_at,
        received_by: who.by,
        lot_id: Some(lot.id),
        product_id: Some(product.id),
    };
    let entry = signed_entry(
        &container.id,
        &container.drug_id,
        EntryKind::Receipt,
        quantity,
        quantity,
        who,
        lot.received_at,
        ControlledEntryId::from_ulid(ids.1),
    );
    Ok((container, entry))
}

/// The entry on a linked container for a change of its lot, under the register's lock
/// (held by the caller): refused (422 on `field`) if the register would go below zero,
/// whatever override the stock change has.
#[allow(clippy::too_many_arguments)]
pub(crate) fn lot_entry(
    reader: &Reader,
    container_id: ControlledContainerId,
    kind: EntryKind,
    change: i64,
    who: &Signed,
    now: Timestamp,
    new: ulid::Ulid,
    field: &str,
) -> Result<Entry> {
    let c = reader
        .get::<Container>(RecordTable::ControlledContainers, container_id.as_u128())?
        .ok_or(Error::ControlledContainerNotFound(container_id))?;
    let (balance, last) = Controlled::latest(reader, container_id)?;
    if balance + change < 0 {
        return Err(ValidationError::new(
            field,
            format!(
                "the controlled-drug register has only {} {} in container {} (lot {}): the register never goes below zero",
                show_milli(balance),
                c.unit,
                c.id,
                c.lot
            ),
        )
        .into());
    }
    let id = ControlledEntryId::from_u128(crate::ctx::ulid_after(new, last.map(|l| l.as_u128())));
    Ok(signed_entry(&c.id, &c.drug_id, kind, change, balance + change, who, now, id))
}

#[allow(clippy::too_many_arguments)]
fn signed_entry(
    container_id: &ControlledContainerId,
    drug_id: &str,
    kind: EntryKind,
    change: i64,
    balance_after: i64,
    who: &Signed,
    at: Timestamp,
    id: ControlledEntryId,
) -> Entry {
    Entry {
        id,
        container_id: *container_id,
        drug_id: drug_id.to_owned(),
        kind,
        change,
        balance_after,
        counted: None,
        patient_id: None,
        prescription_id: None,
        reverses: None,
        reason: None,
        by: who.by,
        by_name: who.by_name.clone(),
        witness_id: who.witness_id,
        witness_name: who.witness_name.clone(),
        at,
    }
}

/// A range of the register, read from one snapshot.
pub(crate) struct Register {
    pub(crate) from: Date,
    pub(crate) to: Date,
    pub(crate) drug_id: Option<String>,
    /// Oldest first.
    pub(crate) entries: Vec<Entry>,
    pub(crate) containers: HashMap<ControlledContainerId, Container>,
    /// The snapshot they were read from (names of cats and owners are read from it too).
    pub(crate) reader: Reader,
}
