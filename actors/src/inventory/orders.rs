//! Purchase orders as a record kind: a vendor, lines (product, quantity, unit cost; totals
//! computed in cents, half up), and the workflow `draft → submitted → partially_received →
//! received`, or `cancelled` from draft or submitted. Lines change only in a draft.
//!
//! Receiving records receipts on the order (line, quantity, lot number, expiry); the same
//! change set, through [`RecordKind::also`], writes each receipt's new lot and its `received`
//! ledger entry, so an order's receipts and the stock they added commit together. Receiving
//! more than a line ordered is refused naming the line. Receipts go through
//! [`PurchaseOrders::receive`], which holds the stock lock (`stock`).

use std::collections::HashMap;
use std::sync::Arc;

use clowder_schemas::ValidationError;
use clowder_schemas::audit::Caller;
use clowder_schemas::controlled::show_milli;
use clowder_schemas::events::DomainEvent;
use clowder_schemas::ids::{
    ControlledContainerId, ControlledEntryId, LotId, ProductId, PurchaseOrderId, StockEntryId, VendorId,
};
use clowder_schemas::inventory::{
    CreatePurchaseOrder, Lot, MAX_PO_LINES, MoveKind, PoLine, PoLineInput, PoReceipt, PoStatus, Product, PurchaseOrder,
    ReceiveLine, UpdatePurchaseOrder, Vendor, check_lines, line_total,
};
use clowder_schemas::patch::Patch;
use clowder_schemas::values::{MAX_NAME_CHARS, note_text, required_text};

use super::stock::{Ledger, Meta, Stock};
use crate::clinical::controlled::{Controlled, Signed, lot_container};
use crate::error::{Error, Result};
use crate::records::{Claim, DecideCtx, Decision, Numbered, RecordKind, Records};
use crate::store::{ChangeSet, RecordTable, Series};

/// The purchase orders service: [`Records`] plus the workflow verbs.
pub type PurchaseOrders = Records<PurchaseOrderKind>;

/// The purchase order record kind.
pub struct PurchaseOrderKind;

/// A new order, checked on its own (the vendor and products are checked by the decision).
#[derive(Debug, Clone)]
pub struct PoDraft {
    pub vendor_id: VendorId,
    pub lines: Vec<PoLineInput>,
    pub notes: Option<String>,
}

impl PoDraft {
    pub fn validate(body: CreatePurchaseOrder) -> std::result::Result<Self, ValidationError> {
        check_lines(&body.lines)?;
        Ok(Self { vendor_id: body.vendor_id, notes: note_text("notes", body.notes.as_deref())?, lines: body.lines })
    }
}

/// The ids one receipt makes: its lot, its ledger entry, and for a controlled product its
/// register container and receipt entry.
pub type ReceiptIds = (LotId, StockEntryId, ControlledContainerId, ulid::Ulid);

/// Gives out a receipt's ids when the order's actor decides, under the stock lock (ledger
/// entry ids must increase in commit order).
pub struct IdSource(pub Box<dyn FnMut() -> ReceiptIds + Send>);

impl std::fmt::Debug for IdSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdSource")
    }
}

/// A change to an order.
#[derive(Debug)]
pub enum PoCommand {
    Update(UpdatePurchaseOrder),
    Submit,
    Cancel {
        reason: String,
    },
    /// Receipts; `ids` gives each one's lot, ledger entry (and register) ids; `locks` are the
    /// stock and register locks the actor holds until the commit; `signed` the witness of a
    /// controlled product's register receipt.
    Receive {
        lines: Vec<ReceiveLine>,
        ids: IdSource,
        locks: Vec<Arc<tokio::sync::Mutex<()>>>,
        signed: Option<Signed>,
    },
}

/// Which orders a list shows.
#[derive(Debug, Clone, Default)]
pub struct PoFilter {
    pub status: Option<PoStatus>,
    pub vendor_id: Option<VendorId>,
}

fn check_vendor(ctx: &DecideCtx<'_>, id: VendorId) -> Result<()> {
    match ctx.get::<Vendor>(RecordTable::Vendors, id.as_u128())? {
        None => Err(Error::VendorNotFound(id)),
        Some(v) if !v.active => Err(ValidationError::new("vendor_id", "the vendor is retired").into()),
        Some(_) => Ok(()),
    }
}

/// The lines as stored: each product must be on file and active.
fn build_lines(ctx: &DecideCtx<'_>, input: &[PoLineInput]) -> Result<Vec<PoLine>> {
    let mut out = Vec::with_capacity(input.len());
    for (i, l) in input.iter().enumerate() {
        let field = format!("lines[{i}].product_id");
        let p = match ctx.get::<Product>(RecordTable::Products, l.product_id.as_u128())? {
            None => return Err(ValidationError::new(field, format!("no product with id {}", l.product_id)).into()),
            Some(p) if !p.active => {
                return Err(ValidationError::new(field, format!("product {} is retired", p.sku)).into());
            }
            Some(p) => p,
        };
        out.push(PoLine {
            line: i as u32 + 1,
            product_id: p.id,
            sku: p.sku,
            name: p.name,
            quantity: l.quantity,
            unit_cost_cents: l.unit_cost_cents,
            total_cents: line_total(l.quantity, l.unit_cost_cents),
            received: 0,
        });
    }
    Ok(out)
}

fn transition(from: PoStatus, to: &'static str, allowed: &[PoStatus]) -> Error {
    Error::PurchaseOrderTransition { from: from.as_str(), to, allowed: allowed.iter().map(|s| s.as_str()).collect() }
}

impl RecordKind for PurchaseOrderKind {
    type Record = PurchaseOrder;
    type Id = PurchaseOrderId;
    type Draft = PoDraft;
    type Command = PoCommand;
    type Filter = PoFilter;

    const KIND: &'static str = "purchase_order";
    const TABLE: RecordTable = RecordTable::PurchaseOrders;
    const READ_ACTION: &'static str = "purchase_order.read";
    const LIST_ACTION: &'static str = "purchase_order.list";

    fn id(p: &PurchaseOrder) -> PurchaseOrderId {
        p.id
    }

    fn not_found(id: PurchaseOrderId) -> Error {
        Error::PurchaseOrderNotFound(id)
    }

    fn claims(_: &PurchaseOrder) -> impl Iterator<Item = Claim<'_>> {
        std::iter::empty()
    }

    fn matches(f: &PoFilter, p: &PurchaseOrder) -> bool {
        f.status.is_none_or(|s| s == p.status) && f.vendor_id.is_none_or(|v| v == p.vendor_id)
    }

    fn decide_create(ctx: &DecideCtx<'_>, id: PurchaseOrderId, d: PoDraft) -> Result<Decision<PurchaseOrder>> {
        check_vendor(ctx, d.vendor_id)?;
        let lines = build_lines(ctx, &d.lines)?;
        let po = PurchaseOrder {
            id,
            vendor_id: d.vendor_id,
            status: PoStatus::Draft,
            total_cents: lines.iter().map(|l| l.total_cents).sum(),
            lines,
            receipts: Vec::new(),
            notes: d.notes,
            cancel_reason: None,
            submitted_at: None,
            created_at: ctx.now,
            updated_at: ctx.now,
            created_by: ctx.caller.user_id(),
            number: None,
            submitted_on: None,
        };
        Ok(Decision {
            event: DomainEvent::PurchaseOrderSaved { purchase_order_id: id, status: po.status, changed: Vec::new() },
            record: po,
            changed: Vec::new(),
            action: "purchase_order.create",
        })
    }

    fn decide(ctx: &DecideCtx<'_>, cur: &PurchaseOrder, command: PoCommand) -> Result<Option<Decision<PurchaseOrder>>> {
        let mut new = cur.clone();
        let (changed, action): (Vec<&'static str>, &'static str) = match command {
            PoCommand::Update(patch) => {
                if cur.status != PoStatus::Draft {
                    return Err(transition(cur.status, "changed", &[PoStatus::Draft]));
                }
                let mut changed = Vec::new();
                if let Some(v) = patch.vendor_id
                    && v != cur.vendor_id
                {
                    check_vendor(ctx, v)?;
                    new.vendor_id = v;
                    changed.push("vendor_id");
                }
                if let Some(lines) = &patch.lines {
                    check_lines(lines)?;
                    new.lines = build_lines(ctx, lines)?;
                    new.total_cents = new.lines.iter().map(|l| l.total_cents).sum();
                    if new.lines != cur.lines {
                        changed.extend(["lines", "total_cents"]);
                    }
                }
                new.notes = match &patch.notes {
                    Patch::Keep => cur.notes.clone(),
                    Patch::Clear => None,
                    Patch::Set(n) => note_text("notes", Some(n))?,
                };
                if new.notes != cur.notes {
                    changed.push("notes");
                }
                (changed, "purchase_order.update")
            }
            PoCommand::Submit => match cur.status {
                PoStatus::Submitted => return Ok(None),
                PoStatus::Draft => {
                    new.status = PoStatus::Submitted;
                    new.submitted_at = Some(ctx.now);
                    new.submitted_on = Some(ctx.today());
                    (vec!["status", "submitted_at", "number"], "purchase_order.submit")
                }
                s => return Err(transition(s, "submitted", &[PoStatus::Draft])),
            },
            PoCommand::Cancel { reason } => match cur.status {
                PoStatus::Cancelled => return Ok(None),
                PoStatus::Draft | PoStatus::Submitted => {
                    new.status = PoStatus::Cancelled;
                    new.cancel_reason = Some(required_text("reason", &reason, 2_000)?);
                    (vec!["status", "cancel_reason"], "purchase_order.cancel")
                }
                s => return Err(transition(s, "cancelled", &[PoStatus::Draft, PoStatus::Submitted])),
            },
            PoCommand::Receive { lines, mut ids, locks: _, signed } => {
                if !matches!(cur.status, PoStatus::Submitted | PoStatus::PartiallyReceived) {
                    return Err(transition(
                        cur.status,
                        "received against",
                        &[PoStatus::Submitted, PoStatus::PartiallyReceived],
                    ));
                }
                if lines.is_empty() {
                    return Err(ValidationError::new("lines", "name at least one line received").into());
                }
                // Each receipt is a lot, a ledger entry, an event and an audit entry in one
                // change set: as many as an order may have lines, no more.
                if lines.len() > MAX_PO_LINES {
                    return Err(
                        ValidationError::new("lines", format!("at most {MAX_PO_LINES} receipts at once")).into()
                    );
                }
                for (i, r) in lines.iter().enumerate() {
                    let (lot_id, entry_id, container_id, register_entry) = (ids.0)();
                    let Some(line) = new.lines.iter_mut().find(|l| l.line == r.line) else {
                        return Err(ValidationError::new(
                            format!("lines[{i}].line"),
                            format!("this order has no line {} (it has {})", r.line, cur.lines.len()),
                        )
                        .into());
                    };
                    if r.quantity <= 0 {
                        return Err(ValidationError::new(format!("lines[{i}].quantity"), "must be above 0").into());
                    }
                    let lot_number = required_text(&format!("lines[{i}].lot_number"), &r.lot_number, MAX_NAME_CHARS)?;
                    let left = line.quantity - line.received;
                    if r.quantity > left {
                        return Err(ValidationError::new(
                            format!("lines[{i}].quantity"),
                            format!(
                                "line {} ({}) ordered {}, received {} so far: at most {} more can be received",
                                line.line,
                                line.sku,
                                show_milli(line.quantity),
                                show_milli(line.received),
                                show_milli(left)
                            ),
                        )
                        .into());
                    }
                    // A product retired since the order was submitted takes no new stock.
                    let product = ctx.get::<Product>(RecordTable::Products, line.product_id.as_u128())?;
                    if let Some(p) = &product
                        && !p.active
                    {
                        return Err(ValidationError::new(
                            format!("lines[{i}].line"),
                            format!("line {} ({}): the product is retired and takes no new stock", line.line, line.sku),
                        )
                        .into());
                    }
                    // A controlled product's lot is a register container, received witnessed.
                    let controlled = product.as_ref().is_some_and(|p| p.controlled);
                    if controlled && signed.is_none() {
                        return Err(ValidationError::new(
                            "witness",
                            format!(
                                "line {} ({}) is a controlled product: its register receipt needs a witness (another staff member's username and PIN)",
                                line.line, line.sku
                            ),
                        )
                        .into());
                    }
                    line.received += r.quantity;
                    new.receipts.push(PoReceipt {
                        line: r.line,
                        quantity: r.quantity,
                        lot_id,
                        entry_id,
                        lot_number,
                        expires_on: r.expires_on,
                        at: ctx.now,
                        by: ctx.caller.user_id(),
                        container_id: controlled.then_some(container_id),
                        register_entry_id: controlled.then(|| ControlledEntryId::from_ulid(register_entry)),
                        witness_id: signed.as_ref().filter(|_| controlled).map(|s| s.witness_id),
                        witness_name: signed.as_ref().filter(|_| controlled).map(|s| s.witness_name.clone()),
                    });
                }
                new.status = if new.lines.iter().all(|l| l.received >= l.quantity) {
                    PoStatus::Received
                } else {
                    PoStatus::PartiallyReceived
                };
                let mut changed = vec!["lines", "receipts"];
                if new.status != cur.status {
                    changed.push("status");
                }
                (changed, "purchase_order.receive")
            }
        };
        if changed.is_empty() {
            return Ok(None);
        }
        new.updated_at = ctx.now;
        let event = DomainEvent::PurchaseOrderSaved {
            purchase_order_id: new.id,
            status: new.status,
            changed: changed.iter().map(|s| s.to_string()).collect(),
        };
        Ok(Some(Decision { record: new, changed, event, action }))
    }

    fn locks(command: &PoCommand) -> Vec<Arc<tokio::sync::Mutex<()>>> {
        match command {
            PoCommand::Receive { locks, .. } => locks.clone(),
            _ => Vec::new(),
        }
    }

    /// `PO-YYYY-NNNNNN` when submitted, in the year of the clinic's date of submission.
    fn numbered(old: Option<&PurchaseOrder>, new: &PurchaseOrder) -> Option<Numbered<PurchaseOrder>> {
        let was_draft = old.is_none_or(|o| o.status == PoStatus::Draft);
        if was_draft && new.status == PoStatus::Submitted && new.number.is_none() {
            let year = new.submitted_on.map_or(1970, |d| d.year());
            return Some((Series::new("PO", year), |p, n| p.number = Some(n.to_owned())));
        }
        None
    }

    /// The receipts new in `new`: each one's lot and `received` ledger entry, and for a
    /// controlled product its register container and receipt entry.
    fn also(ctx: &DecideCtx<'_>, old: Option<&PurchaseOrder>, new: &PurchaseOrder) -> Result<ChangeSet> {
        let seen = old.map_or(0, |o| o.receipts.len());
        let mut ledgers: HashMap<ProductId, Ledger<'_>> = HashMap::new();
        let mut register = ChangeSet::new();
        let reader = ctx.reader()?;
        let supplier = reader.get::<Vendor>(RecordTable::Vendors, new.vendor_id.as_u128())?.map(|v| v.name);
        let by_name = match ctx.caller.user_id() {
            Some(u) => {
                reader.get::<clowder_schemas::users::User>(RecordTable::Users, u.as_u128())?.map(|u| u.display_name)
            }
            None => None,
        }
        .unwrap_or_else(|| "Clowder".into());
        for r in &new.receipts[seen.min(new.receipts.len())..] {
            let line = new
                .lines
                .iter()
                .find(|l| l.line == r.line)
                .ok_or_else(|| Error::Internal(format!("receipt of a missing line {}", r.line)))?;
            let ledger = match ledgers.entry(line.product_id) {
                std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    let product = reader
                        .get::<Product>(RecordTable::Products, line.product_id.as_u128())?
                        .ok_or(Error::ProductNotFound(line.product_id))?;
                    v.insert(Ledger::new(reader, product, ctx.caller, ctx.now)?)
                }
            };
            let mut lot = Lot {
                id: r.lot_id,
                product_id: line.product_id,
                lot_number: r.lot_number.clone(),
                expires_on: r.expires_on,
                on_hand: 0,
                purchase_order_id: Some(new.id),
                po_line: Some(r.line),
                expired: false,
                received_at: r.at,
                received_by: r.by,
                container_id: r.container_id,
            };
            if let (Some(cid), Some(eid), Some(wid), Some(wname)) =
                (r.container_id, r.register_entry_id, r.witness_id, &r.witness_name)
            {
                let who = Signed { by: r.by, by_name: by_name.clone(), witness_id: wid, witness_name: wname.clone() };
                let i =
                    new.receipts[seen.min(new.receipts.len())..].iter().position(|x| x.lot_id == r.lot_id).unwrap_or(0);
                let product = reader
                    .get::<Product>(RecordTable::Products, line.product_id.as_u128())?
                    .ok_or(Error::ProductNotFound(line.product_id))?;
                let (c, mut e) = lot_container(
                    ctx,
                    &format!("lines[{i}].line"),
                    &product,
                    &lot,
                    r.quantity,
                    supplier.clone(),
                    &who,
                    (cid, ulid::Ulid(eid.as_u128())),
                )?;
                e.reason = Some(format!(
                    "purchase order {}, line {}",
                    new.number.as_deref().unwrap_or(&new.id.to_string()),
                    r.line
                ));
                register.put(RecordTable::ControlledContainers, c.id.as_u128(), &c)?;
                Controlled::add(&mut register, ctx.caller, &[e])?;
            }
            let meta = Meta {
                reason: Some(format!("purchase order {}, line {}", new.id, r.line)),
                purchase_order_id: Some(new.id),
                po_line: Some(r.line),
                ..Meta::default()
            };
            ledger.record(r.entry_id, &mut lot, true, MoveKind::Received, r.quantity, meta)?;
        }
        let mut set = ChangeSet::new();
        for (_, l) in ledgers {
            set.append(l.finish().0);
        }
        set.append(register);
        Ok(set)
    }
}

impl PurchaseOrders {
    pub async fn update(
        &self,
        id: PurchaseOrderId,
        patch: UpdatePurchaseOrder,
        caller: &Caller,
    ) -> Result<PurchaseOrder> {
        self.command(id, PoCommand::Update(patch), caller).await
    }

    pub async fn submit(&self, id: PurchaseOrderId, caller: &Caller) -> Result<PurchaseOrder> {
        self.command(id, PoCommand::Submit, caller).await
    }

    pub async fn cancel(&self, id: PurchaseOrderId, reason: String, caller: &Caller) -> Result<PurchaseOrder> {
        self.command(id, PoCommand::Cancel { reason }, caller).await
    }

    /// Receives lines (each a new lot). The order's actor takes the stock lock (and the
    /// register's) itself and holds it until its commit, so the ledger's before/after stay
    /// exact even when this ask times out and the actor commits later. A controlled product
    /// on the order needs the witness, checked here before any lock.
    pub async fn receive(
        &self,
        stock: &Stock,
        id: PurchaseOrderId,
        lines: Vec<ReceiveLine>,
        witness: Option<&clowder_schemas::controlled::Witness>,
        caller: &Caller,
    ) -> Result<PurchaseOrder> {
        let order = self.peek(id)?;
        let mut controlled = None;
        {
            let reader = self.ctx_ref().store.read()?;
            for r in &lines {
                if let Some(l) = order.lines.iter().find(|l| l.line == r.line)
                    && let Some(p) = reader.get::<Product>(RecordTable::Products, l.product_id.as_u128())?
                    && p.controlled
                {
                    controlled = Some(p);
                    break;
                }
            }
        }
        let signed = match &controlled {
            Some(p) => stock.sign(p, witness, caller).await?,
            None => None,
        };
        let source = stock.clone();
        let ids = IdSource(Box::new(move || {
            (
                LotId::from_ulid(source.new_ulid()),
                source.entry_id(),
                ControlledContainerId::from_ulid(source.new_ulid()),
                source.new_ulid(),
            )
        }));
        let locks = vec![stock.writer(), stock.register_writer()];
        self.command(id, PoCommand::Receive { lines, ids, locks, signed }, caller).await
    }
}

#[cfg(test)]
mod tests {
    use clowder_schemas::UserId;
    use clowder_schemas::events::Author;
    use jiff::Timestamp;

    use super::*;
    use crate::ctx::SystemConfig;

    fn order(status: PoStatus) -> PurchaseOrder {
        let line = |n: u32, q: i64| PoLine {
            line: n,
            product_id: ProductId::from_u128(u128::from(n)),
            sku: format!("SKU-{n}"),
            name: "x".into(),
            quantity: q,
            unit_cost_cents: 100,
            total_cents: line_total(q, 100),
            received: 0,
        };
        PurchaseOrder {
            id: PurchaseOrderId::from_u128(9),
            vendor_id: VendorId::from_u128(8),
            status,
            lines: vec![line(1, 10_000), line(2, 1_500)],
            total_cents: 1_150,
            receipts: Vec::new(),
            notes: None,
            cancel_reason: None,
            submitted_at: None,
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
            created_by: None,
            number: None,
            submitted_on: None,
        }
    }

    fn receive(lines: &[(u32, i64)]) -> PoCommand {
        let lines: Vec<ReceiveLine> = lines
            .iter()
            .map(|(l, q)| ReceiveLine { line: *l, quantity: *q, lot_number: "L".into(), expires_on: None })
            .collect();
        let mut i = 0;
        let ids = IdSource(Box::new(move || {
            i += 1;
            (
                LotId::from_u128(100 + i),
                StockEntryId::from_u128(200 + i),
                ControlledContainerId::from_u128(300 + i),
                ulid::Ulid(400 + i),
            )
        }));
        PoCommand::Receive { lines, ids, locks: Vec::new(), signed: None }
    }

    #[test]
    fn receipts_move_the_status_and_never_exceed_a_line() {
        let settings = SystemConfig::new("unused");
        let caller = Caller { actor: Some(Author::User(UserId::from_u128(7))), ..Caller::default() };
        // An empty store: the receipts look their products up (a retired one takes no stock).
        let dir = tempfile::tempdir().unwrap();
        let config = crate::store::StoreConfig {
            path: dir.path().join("clowder.redb"),
            clinic_id: "test".into(),
            cache_bytes: 8 << 20,
            journal: None,
        };
        let store = crate::store::Store::open(
            &config,
            std::sync::Arc::new(crate::clock::ManualClock::new(Timestamp::UNIX_EPOCH)),
            crate::metrics::StoreMetrics::default(),
        )
        .unwrap();
        let ctx = DecideCtx::new(Timestamp::UNIX_EPOCH, &settings, &caller, Some(&store));
        let draft = order(PoStatus::Draft);
        assert!(matches!(
            PurchaseOrderKind::decide(&ctx, &draft, receive(&[(1, 1)])),
            Err(Error::PurchaseOrderTransition { .. })
        ));
        let sent = order(PoStatus::Submitted);
        let part = PurchaseOrderKind::decide(&ctx, &sent, receive(&[(1, 4_000)])).unwrap().unwrap().record;
        assert_eq!((part.status, part.lines[0].received, part.receipts.len()), (PoStatus::PartiallyReceived, 4_000, 1));
        let over = PurchaseOrderKind::decide(&ctx, &part, receive(&[(2, 1_000), (2, 501)])).unwrap_err();
        assert!(matches!(over, Error::Validation(ref v) if v.field == "lines[1].quantity"), "{over:?}");
        let done = PurchaseOrderKind::decide(&ctx, &part, receive(&[(1, 6_000), (2, 1_500)])).unwrap().unwrap().record;
        assert_eq!(done.status, PoStatus::Received);
        let cancel = PurchaseOrderKind::decide(&ctx, &part, PoCommand::Cancel { reason: "x".into() }).unwrap_err();
        assert!(matches!(cancel, Error::PurchaseOrderTransition { from: "partially_received", .. }));
    }
}
