//! Stock: lots and the stock ledger. Every change of a lot is a ledger entry (received,
//! dispensed, adjustment, return, expired, damaged) carrying the lot's and the product's
//! quantity before and after, who, why and its source (a purchase-order line, a prescription
//! fill), written in the same change set as the lot. Stock never goes below zero unless the
//! request gives an override reason, kept on the entry and audited as
//! `inventory.<kind>_override`.
//!
//! All stock writes (here and a purchase order's receipts, `orders`) run under one lock per
//! process and read a fresh snapshot inside it, so each entry's "before" is the previous
//! entry's "after": a product's on hand is the sum of its lots and of its ledger's changes.
//!
//! Dispensing a prescription fill takes the product linked to its drug, form and strength
//! from the first-expiring unexpired lots; the fill's claim (`stock_dispense`) commits with
//! the entries, so a fill leaves stock at most once. The daily `inventory_expire` job writes
//! off lots past their expiry.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use clowder_schemas::ValidationError;
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::controlled::{EntryKind, Witness};
use clowder_schemas::events::DomainEvent;
use clowder_schemas::ids::{ControlledContainerId, LotId, PrescriptionId, ProductId, PurchaseOrderId, StockEntryId};
use clowder_schemas::inventory::{
    Alerts, ChangeStock, DispenseBody, Dispensed, FormularyLink, Lot, LotAlert, LowStock, MoveKind, Product,
    ProductView, ReceiveStock, StockChanged, StockEntry, StockView, show,
};
use clowder_schemas::jobs::Job;
use clowder_schemas::prescriptions::{Prescription, PrescriptionStatus};
use jiff::Timestamp;
use jiff::civil::Date;
use tokio::sync::Mutex;

use crate::clinical::controlled::{Controlled, Signed, lot_container, lot_entry};
use crate::clinical::prescriptions::{DispensePlan, PrescriptionCommand, Prescriptions};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::jobs::{JobCtx, JobError, JobFuture, JobHandler, JobOutcome, Recurring, Rule};
use crate::records::DecideCtx;
use crate::store::tables::unique;
use crate::store::{ChangeSet, IndexTable, Reader, RecordTable};

/// A product's lots, in key (receipt) order.
pub fn lots(reader: &Reader, product: ProductId) -> Result<Vec<Lot>> {
    let mut out = Vec::new();
    for k in reader.children(IndexTable::LotsByProduct, product.as_u128(), None)? {
        if let Some(l) = reader.get::<Lot>(RecordTable::StockLots, k)? {
            out.push(l);
        }
    }
    Ok(out)
}

/// What a product has on hand: the sum of its lots.
pub fn on_hand(reader: &Reader, product: ProductId) -> Result<i64> {
    Ok(lots(reader, product)?.iter().map(|l| l.on_hand).sum())
}

/// What each product has on hand (one scan of the lots).
pub fn on_hand_all(reader: &Reader) -> Result<HashMap<ProductId, i64>> {
    let mut out: HashMap<ProductId, i64> = HashMap::new();
    reader.scan::<Lot>(RecordTable::StockLots, None, |l| {
        *out.entry(l.product_id).or_default() += l.on_hand;
        ControlFlow::Continue(())
    })?;
    Ok(out)
}

/// Where an entry came from and why.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    pub reason: Option<String>,
    pub overridden: bool,
    pub purchase_order_id: Option<PurchaseOrderId>,
    pub po_line: Option<u32>,
    pub prescription_id: Option<PrescriptionId>,
    pub fill: Option<u32>,
}

/// The entries of one product being written in one change set: keeps the running on hand so
/// each entry's before is the previous one's after.
pub struct Ledger<'a> {
    product: Product,
    on_hand: i64,
    caller: &'a Caller,
    now: Timestamp,
    set: ChangeSet,
    entries: Vec<StockEntry>,
}

impl<'a> Ledger<'a> {
    /// Starts from what the snapshot says the product has.
    pub fn new(reader: &Reader, product: Product, caller: &'a Caller, now: Timestamp) -> Result<Self> {
        let on_hand = on_hand(reader, product.id)?;
        Ok(Self { product, on_hand, caller, now, set: ChangeSet::new(), entries: Vec::new() })
    }

    /// Changes `lot` by `change` (the new lot is written, linked under its product if `new`)
    /// and writes the entry, its event and its audit entry.
    pub fn record(
        &mut self,
        id: StockEntryId,
        lot: &mut Lot,
        new: bool,
        kind: MoveKind,
        change: i64,
        meta: Meta,
    ) -> Result<()> {
        let lot_before = lot.on_hand;
        lot.on_hand += change;
        let before = self.on_hand;
        self.on_hand += change;
        let entry = StockEntry {
            id,
            product_id: self.product.id,
            lot_id: lot.id,
            kind,
            change,
            before,
            after: self.on_hand,
            lot_before,
            lot_after: lot.on_hand,
            reason: meta.reason,
            overridden: meta.overridden,
            purchase_order_id: meta.purchase_order_id,
            po_line: meta.po_line,
            prescription_id: meta.prescription_id,
            fill: meta.fill,
            by: self.caller.user_id(),
            at: self.now,
        };
        let p = self.product.id.as_u128();
        self.set.put(RecordTable::StockLots, lot.id.as_u128(), lot)?;
        if new {
            self.set.link(IndexTable::LotsByProduct, p, lot.id.as_u128());
        }
        self.set.put(RecordTable::StockLedger, id.as_u128(), &entry)?;
        self.set.link(IndexTable::LedgerByProduct, p, id.as_u128());
        self.set.event(
            self.caller.author(),
            DomainEvent::StockMoved {
                product_id: self.product.id,
                entry_id: id,
                kind,
                on_hand_milli: self.on_hand,
                low: self.on_hand <= self.product.reorder_level,
            },
        );
        let action = if entry.overridden {
            format!("inventory.{}_override", kind.as_str())
        } else {
            format!("inventory.{}", kind.as_str())
        };
        self.set.audit(AuditDraft::new(self.caller, action).record("stock_entry", id).detail(serde_json::json!({
            "product_id": entry.product_id, "sku": self.product.sku, "lot_id": entry.lot_id,
            "change": entry.change as f64 / 1000.0, "before": entry.before as f64 / 1000.0,
            "after": entry.after as f64 / 1000.0, "reason": entry.reason,
            "purchase_order_id": entry.purchase_order_id, "po_line": entry.po_line,
            "prescription_id": entry.prescription_id, "fill": entry.fill,
        })));
        self.entries.push(entry);
        Ok(())
    }

    /// The change set, the entries and the product's on hand after them.
    pub fn finish(self) -> (ChangeSet, Vec<StockEntry>, i64) {
        (self.set, self.entries, self.on_hand)
    }
}

/// The stock service.
#[derive(Clone)]
pub struct Stock {
    ctx: Arc<Ctx>,
    writer: Arc<Mutex<()>>,
    /// The controlled-drug register: a controlled product's lots are its containers.
    register: Controlled,
    /// The newest ledger entry id given out: entry ids strictly increase, so a product's
    /// ledger reads in the order it was written (two ULIDs of one millisecond would not).
    last_entry: Arc<std::sync::Mutex<u128>>,
}

/// The product as read under the locks must agree with the witness check made before them: a
/// product flagged controlled meanwhile needs its witness too.
fn witnessed(product: &Product, signed: Option<Signed>) -> Result<Option<Signed>> {
    match (product.controlled, signed) {
        (true, None) => Err(ValidationError::new(
            "witness",
            "the product is controlled: its register entry needs a witness (another staff member's username and PIN)",
        )
        .into()),
        (true, s) => Ok(s),
        (false, _) => Ok(None),
    }
}

/// The register container of a controlled product's lot; a lot received before the product was
/// controlled (or before inventory kept the register) has none and cannot move without one.
fn register_container(lot: &Lot, product: &Product) -> Result<ControlledContainerId> {
    lot.container_id.ok_or_else(|| {
        ValidationError::new(
            "lot_id",
            format!(
                "lot {} of controlled product {} has no register container (it was received before the product was flagged controlled): it cannot move through inventory while the product is controlled",
                lot.lot_number, product.sku
            ),
        )
        .into()
    })
}

/// The active product linked to a prescription's drug, form and strength (the `product_drug`
/// claim), if any.
fn linked_product(reader: &Reader, rx: &Prescription) -> Result<Option<Product>> {
    let key = FormularyLink::key_of(&rx.drug_id, rx.form, rx.strength);
    match reader.unique_owner(unique::PRODUCT_DRUG, &key)? {
        Some(k) => Ok(reader.get::<Product>(RecordTable::Products, k)?),
        None => Ok(None),
    }
}

/// A lot is usable for dispensing if it has stock, was not written off and has not expired.
fn usable(l: &Lot, today: Date) -> bool {
    l.on_hand > 0 && !l.expired && l.expires_on.is_none_or(|d| d >= today)
}

/// First-expiring first; lots without an expiry last; then in receipt order.
fn fefo(a: &Lot, b: &Lot) -> std::cmp::Ordering {
    (a.expires_on.is_none(), a.expires_on, a.id).cmp(&(b.expires_on.is_none(), b.expires_on, b.id))
}

impl Stock {
    pub(crate) fn new(ctx: Arc<Ctx>, register: Controlled) -> Self {
        // Starts above the newest stored entry, so a clock set back after a restart cannot
        // order a new entry before an old one.
        let mut last = 0;
        if let Ok(reader) = ctx.store.read() {
            let _ = reader.scan_rev::<StockEntry>(RecordTable::StockLedger, None, |e| {
                last = e.id.as_u128();
                ControlFlow::Break(())
            });
        }
        Self { ctx, writer: Arc::default(), register, last_entry: Arc::new(std::sync::Mutex::new(last)) }
    }

    /// The stock lock itself, for a purchase order's actor, which takes it (and the register's,
    /// [`Self::register_writer`]) around its receipt's commit.
    pub(crate) fn writer(&self) -> Arc<Mutex<()>> {
        self.writer.clone()
    }

    /// The register's lock, always taken after the stock lock.
    pub(crate) fn register_writer(&self) -> Arc<Mutex<()>> {
        self.register.writer()
    }

    /// A controlled product's register entry needs a witness, checked (slowly: a PIN hash)
    /// before any lock is taken; `None` for other products.
    pub(crate) async fn sign(&self, product: &Product, w: Option<&Witness>, caller: &Caller) -> Result<Option<Signed>> {
        if product.controlled { Ok(Some(self.register.sign(w, caller).await?)) } else { Ok(None) }
    }

    /// The stock lock, then the register's when a controlled product's entries are written.
    async fn locks(
        &self,
        register: bool,
    ) -> (tokio::sync::OwnedMutexGuard<()>, Option<tokio::sync::OwnedMutexGuard<()>>) {
        let stock = self.writer.clone().lock_owned().await;
        let reg = if register { Some(self.register.writer().lock_owned().await) } else { None };
        (stock, reg)
    }

    /// Held by every stock write (also a purchase order's receipt, `orders`).
    pub(crate) async fn lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.writer.lock().await
    }

    fn today(&self) -> Date {
        self.ctx.clock.now().to_zoned(self.ctx.config.time_zone.clone()).date()
    }

    pub(crate) fn new_ulid(&self) -> ulid::Ulid {
        self.ctx.new_ulid()
    }

    /// A new ledger entry id, above every one given before.
    pub(crate) fn entry_id(&self) -> StockEntryId {
        let fresh = self.ctx.new_ulid();
        let mut last = self.last_entry.lock().unwrap_or_else(|p| p.into_inner());
        *last = crate::ctx::ulid_after(fresh, Some(*last));
        StockEntryId::from_u128(*last)
    }

    fn product(reader: &Reader, id: ProductId) -> Result<Product> {
        reader.get::<Product>(RecordTable::Products, id.as_u128())?.ok_or(Error::ProductNotFound(id))
    }

    /// A product with its on hand and its lots (first-expiring first); audited.
    pub async fn view(&self, id: ProductId, caller: &Caller) -> Result<StockView> {
        let reader = self.ctx.store.read()?;
        let product = Self::product(&reader, id)?;
        let mut lots = lots(&reader, id)?;
        lots.sort_by(fefo);
        let on_hand = lots.iter().map(|l| l.on_hand).sum();
        crate::audit::record_read(&self.ctx, AuditDraft::new(caller, "inventory.stock_read").record("product", id))
            .await?;
        Ok(StockView { product: ProductView::new(product, on_hand), lots })
    }

    /// Every active product with its on hand and its lots that still hold stock (first-
    /// expiring first), by SKU, from one snapshot (the inventory screen); audited once.
    pub async fn overview(&self, caller: &Caller) -> Result<Vec<StockView>> {
        let reader = self.ctx.store.read()?;
        let mut products = Vec::new();
        reader.scan::<Product>(RecordTable::Products, None, |p| {
            if p.active {
                products.push(p);
            }
            ControlFlow::Continue(())
        })?;
        let mut lots_of: HashMap<ProductId, Vec<Lot>> = HashMap::new();
        reader.scan::<Lot>(RecordTable::StockLots, None, |l| {
            lots_of.entry(l.product_id).or_default().push(l);
            ControlFlow::Continue(())
        })?;
        products.sort_by(|a, b| a.sku.cmp(&b.sku));
        let out: Vec<StockView> = products
            .into_iter()
            .map(|p| {
                let mut lots = lots_of.remove(&p.id).unwrap_or_default();
                let on_hand = lots.iter().map(|l| l.on_hand).sum();
                lots.retain(|l| l.on_hand != 0);
                lots.sort_by(fefo);
                StockView { product: ProductView::new(p, on_hand), lots }
            })
            .collect();
        crate::audit::record_read(
            &self.ctx,
            AuditDraft::new(caller, "inventory.stock_list").detail(serde_json::json!({ "products": out.len() })),
        )
        .await?;
        Ok(out)
    }

    /// Products as views with their on hand (one snapshot).
    pub fn views(&self, products: Vec<Product>) -> Result<Vec<ProductView>> {
        let reader = self.ctx.store.read()?;
        products
            .into_iter()
            .map(|p| {
                let q = on_hand(&reader, p.id)?;
                Ok(ProductView::new(p, q))
            })
            .collect()
    }

    /// What every product has on hand (for the low-stock filter).
    pub fn on_hand_all(&self) -> Result<HashMap<ProductId, i64>> {
        on_hand_all(&self.ctx.store.read()?)
    }

    async fn commit(&self, ledger: Ledger<'_>) -> Result<StockChanged> {
        let (set, entries, on_hand) = ledger.finish();
        self.ctx.store.commit(set).await?;
        Ok(StockChanged { entries, on_hand })
    }

    /// A new lot received by hand (opening stock, a delivery without an order).
    pub async fn receive(&self, id: ProductId, body: ReceiveStock, caller: &Caller) -> Result<StockChanged> {
        let (lot_number, quantity, reason) = body.validate()?;
        let signed = self.sign(&Self::product(&self.ctx.store.read()?, id)?, body.witness.as_ref(), caller).await?;
        let _locks = self.locks(signed.is_some()).await;
        let reader = self.ctx.store.read()?;
        let product = Self::product(&reader, id)?;
        let signed = witnessed(&product, signed)?;
        if !product.active {
            return Err(ValidationError::new("product_id", "the product is retired: it takes no new stock").into());
        }
        let now = self.ctx.clock.now();
        let mut lot = Lot {
            id: LotId::from_ulid(self.ctx.new_ulid()),
            product_id: id,
            lot_number,
            expires_on: body.expires_on,
            on_hand: 0,
            purchase_order_id: None,
            po_line: None,
            expired: false,
            received_at: now,
            received_by: caller.user_id(),
            container_id: None,
        };
        let mut register = None;
        if let Some(who) = &signed {
            let dctx = DecideCtx::new(now, &self.ctx.config, caller, Some(&self.ctx.store));
            let ids = (ControlledContainerId::from_ulid(self.ctx.new_ulid()), self.ctx.new_ulid());
            let (c, mut e) = lot_container(&dctx, "product_id", &product, &lot, quantity, None, who, ids)?;
            e.reason.clone_from(&reason);
            lot.container_id = Some(c.id);
            register = Some((c, e));
        }
        let mut ledger = Ledger::new(&reader, product, caller, now)?;
        let meta = Meta { reason, ..Meta::default() };
        ledger.record(self.entry_id(), &mut lot, true, MoveKind::Received, quantity, meta)?;
        let (mut set, entries, on_hand) = ledger.finish();
        if let Some((c, e)) = register {
            set.put(RecordTable::ControlledContainers, c.id.as_u128(), &c)?;
            Controlled::add(&mut set, caller, &[e])?;
        }
        self.ctx.store.commit(set).await?;
        Ok(StockChanged { entries, on_hand })
    }

    /// An adjustment (signed), or stock taken out of a lot as expired, damaged or returned
    /// to the vendor. Below zero only with an override reason.
    pub async fn change(
        &self,
        id: ProductId,
        kind: MoveKind,
        body: ChangeStock,
        caller: &Caller,
    ) -> Result<StockChanged> {
        let c = body.validate(kind)?;
        let signed = self.sign(&Self::product(&self.ctx.store.read()?, id)?, body.witness.as_ref(), caller).await?;
        let _locks = self.locks(signed.is_some()).await;
        let reader = self.ctx.store.read()?;
        let product = Self::product(&reader, id)?;
        let signed = witnessed(&product, signed)?;
        let mut lot = reader
            .get::<Lot>(RecordTable::StockLots, c.lot_id.as_u128())?
            .filter(|l| l.product_id == id)
            .ok_or(Error::StockLotNotFound(c.lot_id))?;
        let change = match c.change {
            Some(ch) => ch,
            None if lot.on_hand > 0 => -lot.on_hand,
            None => {
                return Err(ValidationError::new("quantity", format!("lot {} has nothing left", lot.lot_number)).into());
            }
        };
        let overridden = lot.on_hand + change < 0;
        if overridden && c.override_reason.is_none() {
            return Err(ValidationError::new(
                "quantity",
                format!(
                    "lot {} has only {}: stock never goes below zero unless you give override_reason",
                    lot.lot_number,
                    show(lot.on_hand, &product.unit)
                ),
            )
            .into());
        }
        // Stock comes back only into a lot that can be used: not into a written-off lot (its
        // stock would count on hand but never be dispensed) nor a retired product.
        if change > 0 && lot.expired {
            return Err(ValidationError::new(
                "lot_id",
                format!("lot {} was written off as expired: receive the stock as a new lot", lot.lot_number),
            )
            .into());
        }
        if change > 0 && !product.active {
            return Err(ValidationError::new("quantity", "the product is retired: it takes no new stock").into());
        }
        // A lot is marked written off only when nothing of it is left; a part of a lot taken
        // out as expired leaves the rest usable (and counted) as before.
        if kind == MoveKind::Expired && lot.on_hand + change <= 0 {
            lot.expired = true;
        }
        let reason = match (&c.override_reason, overridden) {
            (Some(o), true) => Some(format!("{} (override: {o})", c.reason)),
            _ => Some(c.reason),
        };
        let now = self.ctx.clock.now();
        // A controlled lot's change is a discrepancy in its container's register, saying what
        // inventory recorded and why.
        let register = match &signed {
            Some(who) => {
                let cid = register_container(&lot, &product)?;
                let mut e =
                    lot_entry(&reader, cid, EntryKind::Discrepancy, change, who, now, self.ctx.new_ulid(), "quantity")?;
                e.reason = Some(format!("inventory {}: {}", kind.as_str(), reason.as_deref().unwrap_or_default()));
                Some(e)
            }
            None => None,
        };
        let mut ledger = Ledger::new(&reader, product, caller, now)?;
        ledger.record(
            self.entry_id(),
            &mut lot,
            false,
            kind,
            change,
            Meta { reason, overridden, ..Meta::default() },
        )?;
        let (mut set, entries, on_hand) = ledger.finish();
        if let Some(e) = register {
            Controlled::add(&mut set, caller, &[e])?;
        }
        self.ctx.store.commit(set).await?;
        Ok(StockChanged { entries, on_hand })
    }

    /// Dispenses a prescription's fill (0 the first, n the n-th refill; default the newest)
    /// from the product linked to its drug, form and strength, first-expiring lots first.
    /// It is decided by the **prescription's actor** (`PrescriptionCommand::Dispense`), which
    /// holds the stock lock (and the register's, for a controlled product) from its decision
    /// to its commit: a cancel of the same prescription is either before it (409) or after
    /// it, never between the status check and the stock taken.
    /// No linked product: nothing changes and the answer says so (audited as
    /// `inventory.dispense_unlinked`).
    pub async fn dispense(
        &self,
        prescriptions: &Prescriptions,
        rx_id: PrescriptionId,
        body: DispenseBody,
        caller: &Caller,
    ) -> Result<Dispensed> {
        let override_reason = body.validate()?;
        let (rx, first) = {
            let reader = self.ctx.store.read()?;
            let rx = reader
                .get::<Prescription>(RecordTable::Prescriptions, rx_id.as_u128())?
                .ok_or(Error::PrescriptionNotFound(rx_id))?;
            let product = linked_product(&reader, &rx)?;
            (rx, product)
        };
        let Some(first) = first else {
            return self.unlinked(&rx, body.fill, caller).await;
        };
        // The witness is checked before the locks (a PIN hash is slow), for the product as
        // read now; the plan reads it again under the locks.
        let signed = self.sign(&first, body.witness.as_ref(), caller).await?;
        let mut locks = vec![self.writer()];
        if signed.is_some() {
            locks.push(self.register_writer());
        }
        let answer: Arc<std::sync::Mutex<Option<Dispensed>>> = Arc::default();
        let (stock, slot) = (self.clone(), answer.clone());
        let plan = DispensePlan(Box::new(move |ctx, rx, fill| {
            let (set, dispensed) =
                stock.plan_dispense(ctx.reader()?, ctx.caller, ctx.now, rx, fill, override_reason, signed)?;
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(dispensed);
            Ok(set)
        }));
        prescriptions.command(rx_id, PrescriptionCommand::Dispense { fill: body.fill, locks, plan }, caller).await?;
        let dispensed = answer.lock().unwrap_or_else(|p| p.into_inner()).take();
        dispensed.ok_or_else(|| Error::Internal("dispensing decided nothing".into()))
    }

    /// No product linked to the prescription's drug, form and strength: stock is unchanged and
    /// the answer says so, after the same checks of status and fill.
    async fn unlinked(&self, rx: &Prescription, fill: Option<u32>, caller: &Caller) -> Result<Dispensed> {
        if rx.status != PrescriptionStatus::Active {
            let status = if rx.status == PrescriptionStatus::Completed { "completed" } else { "cancelled" };
            return Err(Error::PrescriptionNotActive { status, action: "dispensed" });
        }
        let fills = rx.refills.len() as u32;
        let fill = fill.unwrap_or(fills);
        if fill > fills {
            return Err(ValidationError::new(
                "fill",
                format!("fill {fill} has not been given: the prescription has {fills} refill(s) recorded"),
            )
            .into());
        }
        let key = FormularyLink::key_of(&rx.drug_id, rx.form, rx.strength);
        let note = format!(
            "no active product is linked to {} {} {}: stock was not changed (link a product with PATCH /api/inventory/products/{{id}} and \"formulary\")",
            rx.drug_name,
            rx.form.as_str(),
            clowder_schemas::formulary::num(rx.strength)
        );
        crate::audit::record_now(
            &self.ctx,
            AuditDraft::new(caller, "inventory.dispense_unlinked")
                .record("prescription", rx.id)
                .detail(serde_json::json!({ "fill": fill, "drug": key })),
        )
        .await?;
        Ok(Dispensed {
            prescription_id: rx.id,
            fill,
            product_id: None,
            entries: Vec::new(),
            on_hand: None,
            note: Some(note),
        })
    }

    /// The stock's writes for dispensing `fill` of `rx`, from `reader` (the prescription
    /// actor's snapshot, taken under the stock lock): the ledger entries, the fill's claim and
    /// a controlled product's register entries.
    #[allow(clippy::too_many_arguments)]
    fn plan_dispense(
        &self,
        reader: &Reader,
        caller: &Caller,
        now: Timestamp,
        rx: &Prescription,
        fill: u32,
        override_reason: Option<String>,
        signed: Option<Signed>,
    ) -> Result<(ChangeSet, Dispensed)> {
        let rx_id = rx.id;
        let fill_key = format!("{rx_id}/{fill}");
        if reader.unique_owner(unique::STOCK_DISPENSE, &fill_key)?.is_some() {
            return Err(Error::Duplicate { field: "fill" });
        }
        let Some(product) = linked_product(reader, rx)? else {
            return Err(ValidationError::new(
                "prescription_id",
                "the product linked to this drug, form and strength was unlinked meanwhile: nothing was dispensed",
            )
            .into());
        };
        if !product.unit.eq_ignore_ascii_case(&rx.quantity_unit) {
            return Err(ValidationError::new(
                "prescription_id",
                format!(
                    "the prescription counts in {} but product {} counts in {}: fix the product's unit",
                    rx.quantity_unit, product.sku, product.unit
                ),
            )
            .into());
        }
        let need = clowder_schemas::controlled::to_milli(rx.quantity).unwrap_or(0);
        // Less than a thousandth of the unit would move no stock and leave no ledger entry.
        if need <= 0 {
            return Err(ValidationError::new(
                "prescription_id",
                format!(
                    "the prescription's quantity {} {} is too small to dispense from stock",
                    rx.quantity, rx.quantity_unit
                ),
            )
            .into());
        }
        let today = self.today();
        let mut all = lots(reader, product.id)?;
        all.sort_by(fefo);
        let available: i64 = all.iter().filter(|l| usable(l, today)).map(|l| l.on_hand).sum();
        let overridden = available < need;
        if overridden && override_reason.is_none() {
            return Err(ValidationError::new(
                "quantity",
                format!(
                    "{} needed but only {} of {} ({}) is on hand and unexpired: stock never goes below zero unless you give override_reason",
                    show(need, &product.unit),
                    show(available, &product.unit),
                    product.name,
                    product.sku
                ),
            )
            .into());
        }
        // The lot that takes what is missing on an override: the last usable one, else the
        // newest unexpired one.
        let spill = all
            .iter()
            .rposition(|l| usable(l, today))
            .or_else(|| all.iter().rposition(|l| !l.expired && l.expires_on.is_none_or(|d| d >= today)));
        if overridden && spill.is_none() {
            return Err(ValidationError::new(
                "quantity",
                format!("{} has no unexpired lot to dispense from: receive stock first", product.sku),
            )
            .into());
        }
        let mut takes: Vec<(usize, i64)> = Vec::new();
        let mut left = need;
        for (i, l) in all.iter().enumerate() {
            if left == 0 {
                break;
            }
            if usable(l, today) {
                let t = left.min(l.on_hand);
                takes.push((i, t));
                left -= t;
            }
        }
        if left > 0
            && let Some(s) = spill
        {
            match takes.iter_mut().find(|(i, _)| *i == s) {
                Some(t) => t.1 += left,
                None => takes.push((s, left)),
            }
        }
        let product_id = product.id;
        let signed = witnessed(&product, signed)?;
        let mut register = Vec::new();
        if let Some(who) = &signed {
            for (i, take) in &takes {
                let lot = &all[*i];
                let cid = register_container(lot, &product)?;
                let mut e =
                    lot_entry(reader, cid, EntryKind::Dispensing, -take, who, now, self.ctx.new_ulid(), "quantity")?;
                e.patient_id = Some(rx.patient_id);
                e.prescription_id = Some(rx_id);
                e.reason = Some(format!("prescription {rx_id}, fill {fill}"));
                register.push(e);
            }
        }
        let mut ledger = Ledger::new(reader, product, caller, now)?;
        for (i, take) in takes {
            let lot = &mut all[i];
            let over = lot.on_hand - take < 0;
            let reason = match (&override_reason, over) {
                (Some(o), true) => Some(format!("prescription {rx_id}, fill {fill} (override: {o})")),
                _ => Some(format!("prescription {rx_id}, fill {fill}")),
            };
            let meta =
                Meta { reason, overridden: over, prescription_id: Some(rx_id), fill: Some(fill), ..Meta::default() };
            ledger.record(self.entry_id(), lot, false, MoveKind::Dispensed, -take, meta)?;
        }
        let (mut set, entries, on_hand) = ledger.finish();
        let owner = entries.first().map_or(rx_id.as_u128(), |e| e.id.as_u128());
        set.claim(unique::STOCK_DISPENSE, &fill_key, owner, "fill");
        Controlled::add(&mut set, caller, &register)?;
        let dispensed = Dispensed {
            prescription_id: rx_id,
            fill,
            product_id: Some(product_id),
            entries,
            on_hand: Some(on_hand),
            note: None,
        };
        Ok((set, dispensed))
    }

    /// A product's ledger, newest first, below the key `before`; audited.
    pub async fn ledger(
        &self,
        id: ProductId,
        before: Option<u128>,
        limit: usize,
        caller: &Caller,
    ) -> Result<(Vec<StockEntry>, Option<u128>)> {
        let reader = self.ctx.store.read()?;
        Self::product(&reader, id)?;
        let mut out = Vec::new();
        let mut more = false;
        reader.children_rev(IndexTable::LedgerByProduct, id.as_u128(), before, |k| {
            if out.len() == limit {
                more = true;
                return Ok(ControlFlow::Break(()));
            }
            if let Some(e) = reader.get::<StockEntry>(RecordTable::StockLedger, k)? {
                out.push(e);
            }
            Ok(ControlFlow::Continue(()))
        })?;
        let next = if more { out.last().map(|e| e.id.as_u128()) } else { None };
        crate::audit::record_read(
            &self.ctx,
            AuditDraft::new(caller, "inventory.ledger_read").record("product", id).detail(serde_json::json!({
                "entries": out.len(),
            })),
        )
        .await?;
        Ok((out, next))
    }

    /// Low stock (active products at or below their reorder level), lots expiring within
    /// `days`, and lots past expiry with stock left; audited.
    pub async fn alerts(&self, days: Option<u32>, caller: &Caller) -> Result<Alerts> {
        let days = days.unwrap_or(self.ctx.config.inventory.expiring_days);
        if !(1..=3650).contains(&days) {
            return Err(ValidationError::new("days", "must be from 1 to 3650").into());
        }
        let today = self.today();
        let horizon = today.checked_add(jiff::Span::new().days(i64::from(days))).unwrap_or(Date::MAX);
        let reader = self.ctx.store.read()?;
        let mut products: HashMap<ProductId, Product> = HashMap::new();
        reader.scan::<Product>(RecordTable::Products, None, |p| {
            if p.active {
                products.insert(p.id, p);
            }
            ControlFlow::Continue(())
        })?;
        let mut totals: HashMap<ProductId, i64> = HashMap::new();
        let mut expiring_soon = Vec::new();
        let mut expired = Vec::new();
        reader.scan::<Lot>(RecordTable::StockLots, None, |l| {
            *totals.entry(l.product_id).or_default() += l.on_hand;
            if let (Some(p), Some(d)) = (products.get(&l.product_id), l.expires_on)
                && l.on_hand > 0
            {
                let alert = LotAlert {
                    product_id: p.id,
                    sku: p.sku.clone(),
                    name: p.name.clone(),
                    lot_id: l.id,
                    lot_number: l.lot_number.clone(),
                    expires_on: d,
                    on_hand: l.on_hand,
                };
                if d < today {
                    expired.push(alert);
                } else if d <= horizon {
                    expiring_soon.push(alert);
                }
            }
            ControlFlow::Continue(())
        })?;
        let mut low_stock: Vec<LowStock> = products
            .values()
            .filter_map(|p| {
                let q = totals.get(&p.id).copied().unwrap_or(0);
                (q <= p.reorder_level).then(|| LowStock {
                    product_id: p.id,
                    sku: p.sku.clone(),
                    name: p.name.clone(),
                    on_hand: q,
                    reorder_level: p.reorder_level,
                    reorder_quantity: p.reorder_quantity,
                })
            })
            .collect();
        low_stock.sort_by(|a, b| a.sku.cmp(&b.sku));
        expiring_soon.sort_by_key(|a| (a.expires_on, a.lot_id));
        expired.sort_by_key(|a| (a.expires_on, a.lot_id));
        crate::audit::record_read(&self.ctx, AuditDraft::new(caller, "inventory.alerts_read")).await?;
        Ok(Alerts { expiring_within_days: days, low_stock, expiring_soon, expired })
    }

    /// Writes off every lot past its expiry with stock left (one `expired` entry each, one
    /// change set per product); returns how many lots.
    pub async fn expire_due(&self, caller: &Caller) -> Result<usize> {
        let _w = self.lock().await;
        let today = self.today();
        let reader = self.ctx.store.read()?;
        let mut due: HashMap<ProductId, Vec<Lot>> = HashMap::new();
        reader.scan::<Lot>(RecordTable::StockLots, None, |l| {
            if !l.expired && l.on_hand > 0 && l.expires_on.is_some_and(|d| d < today) {
                due.entry(l.product_id).or_default().push(l);
            }
            ControlFlow::Continue(())
        })?;
        let mut n = 0;
        for (product_id, lots) in due {
            let product = Self::product(&reader, product_id)?;
            // A controlled drug is written off only with a witness for its register entry:
            // its expired lots stay in the alerts until someone does it by hand.
            if product.controlled {
                tracing::info!(sku = %product.sku, lots = lots.len(), "expired controlled lots left for a witnessed write-off");
                continue;
            }
            let mut ledger = Ledger::new(&reader, product, caller, self.ctx.clock.now())?;
            for mut lot in lots {
                let change = -lot.on_hand;
                lot.expired = true;
                let reason = Some(format!("expired on {}", lot.expires_on.map(|d| d.to_string()).unwrap_or_default()));
                ledger.record(
                    self.entry_id(),
                    &mut lot,
                    false,
                    MoveKind::Expired,
                    change,
                    Meta { reason, ..Meta::default() },
                )?;
                n += 1;
            }
            self.commit(ledger).await?;
        }
        Ok(n)
    }
}

/// The job kind that writes off expired lots.
pub const EXPIRE_KIND: &str = "inventory_expire";

/// The daily write-off job. Its effects are committed by the stock service under the stock
/// lock (not returned to the scheduler, which would commit them after the lock is released);
/// a run repeated after a crash finds those lots already written off.
pub struct ExpireLots {
    pub stock: Stock,
}

impl ExpireLots {
    /// Registers the handler and, if `at` is set, its daily schedule.
    pub fn install(
        self,
        jobs: &crate::jobs::Jobs,
        at: Option<jiff::civil::Time>,
    ) -> std::result::Result<(), ValidationError> {
        jobs.register(EXPIRE_KIND, Arc::new(self))?;
        if let Some(at) = at {
            jobs.add_recurring(Recurring {
                name: EXPIRE_KIND,
                kind: EXPIRE_KIND,
                rule: Rule::Daily { at },
                payload: serde_json::json!({}),
            });
        }
        Ok(())
    }
}

impl JobHandler for ExpireLots {
    fn validate(&self, payload: &serde_json::Value) -> std::result::Result<(), ValidationError> {
        crate::jobs::recurring::empty_payload(payload)
    }

    fn run<'a>(&'a self, _job: &'a Job, ctx: &'a JobCtx) -> JobFuture<'a> {
        Box::pin(async move {
            let n = self.stock.expire_due(&ctx.caller).await.map_err(|e| JobError::Retry(e.to_string()))?;
            tracing::info!(lots = n, "expired lots written off");
            Ok(JobOutcome::done())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lot(id: u128, on_hand: i64, expires: Option<&str>, expired: bool) -> Lot {
        Lot {
            id: LotId::from_u128(id),
            product_id: ProductId::from_u128(1),
            lot_number: id.to_string(),
            expires_on: expires.map(|d| d.parse().unwrap()),
            on_hand,
            purchase_order_id: None,
            po_line: None,
            expired,
            received_at: Timestamp::UNIX_EPOCH,
            received_by: None,
            container_id: None,
        }
    }

    #[tokio::test]
    async fn ledger_entry_ids_strictly_increase_within_one_millisecond() {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::ctx::SystemConfig::new(dir.path());
        // A clock that never moves: every ULID falls in the same millisecond.
        let clock = Arc::new(crate::clock::ManualClock::new(Timestamp::from_second(1_790_000_000).unwrap()));
        let store_config = crate::store::StoreConfig {
            path: config.store_path(),
            clinic_id: "test".into(),
            cache_bytes: 8 << 20,
            journal: None,
        };
        let store =
            crate::store::Store::open(&store_config, clock.clone(), crate::metrics::StoreMetrics::default()).unwrap();
        let ctx = Arc::new(Ctx::new(store, clock, config));
        let roles = crate::staff::roles::Roles::load(ctx.clone()).unwrap();
        let register = Controlled::new(ctx.clone(), crate::staff::accounts::Accounts::new(ctx.clone(), roles));
        let stock = Stock::new(ctx, register);
        let ids: Vec<u128> = (0..500).map(|_| stock.entry_id().as_u128()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn a_v1_lot_and_container_read_as_unlinked() {
        let mut v1 = serde_json::to_value(lot(1, 5, None, false)).unwrap();
        v1.as_object_mut().unwrap().remove("container_id");
        let read: Lot = crate::store::codec::decode(&crate::store::codec::encode_as(1, &v1).unwrap()).unwrap();
        assert_eq!(read, lot(1, 5, None, false));
        let c = serde_json::json!({
            "id": ControlledContainerId::from_u128(3), "drug_id": "buprenorphine", "drug_name": "Buprenorphine",
            "schedule": "iii", "form": "injectable", "strength": 0.3, "unit": "mL", "lot": "B", "expires_on": null,
            "received_quantity": 10.0, "supplier": null, "opened_on": null, "received_at": Timestamp::UNIX_EPOCH,
            "received_by": null,
        });
        let read: clowder_schemas::controlled::Container =
            crate::store::codec::decode(&crate::store::codec::encode_as(1, &c).unwrap()).unwrap();
        assert_eq!((read.lot_id, read.product_id), (None, None));
    }

    #[test]
    fn the_first_expiring_usable_lot_comes_first_and_undated_lots_last() {
        let today: Date = "2026-06-01".parse().unwrap();
        let mut lots = [
            lot(1, 5, None, false),
            lot(2, 5, Some("2027-01-01"), false),
            lot(3, 5, Some("2026-07-01"), false),
            lot(4, 5, Some("2026-06-01"), false),
        ];
        lots.sort_by(fefo);
        let order: Vec<u128> = lots.iter().map(|l| l.id.as_u128()).collect();
        assert_eq!(order, [4, 3, 2, 1]);
        assert!(usable(&lot(5, 1, Some("2026-06-01"), false), today), "usable on its expiry date");
        assert!(!usable(&lot(6, 1, Some("2026-05-31"), false), today));
        assert!(!usable(&lot(7, 1, None, true), today));
        assert!(!usable(&lot(8, 0, None, false), today));
    }
}
