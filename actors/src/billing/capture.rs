//! Charge capture: a durable follower of the event log that puts what happens during a visit
//! on the visit's **draft** invoice as it happens: the exam fee of the visit's appointment
//! type when the visit opens, a vaccination dose when it is recorded, a prescription's
//! quantity when a fill is dispensed from stock, a lab order when it is placed. Each is matched to the catalogue through the
//! item's link claims; what no item charges becomes an **uncharged** entry on the draft
//! (never a silent loss). It owns the cursor (`charge_capture`, key 0) and the
//! `captured_charge` claims; it does not decide an invoice's amounts (the invoice actor does).
//!
//! Exactly once, without a second log:
//! - the cursor (the last event whose charge is on its invoice) is written in the **same
//!   change set** as the line it adds, so a crash leaves both or neither;
//! - every captured source (`visit:<id>`, `vaccination:<id>`, `dispense:<prescription>/<fill>`)
//!   is claimed once, ever, by the invoice it went on, in that change set too: an event seen
//!   again (a replay after the cursor, which is only written with a charge or now and then)
//!   adds nothing, even if staff since edited or removed the line;
//! - like the search indexer it subscribes to the bus before reading its cursor, replays the
//!   log after the cursor at start and whenever it fell behind the bus, and skips events at or
//!   below what it has done.
//!
//! A visit whose invoice was issued or voided gets a new draft for its later charges (an issued
//! invoice changes only through credit notes). Details: docs/billing.md, "Charge capture".
//!
//! The same follower, cursor and exactly-once rule carry loyalty's earning step
//! (`loyalty::earning`): the points a paid invoice earns, or a refund reverses, are written
//! with the cursor in one change set, and claimed once per invoice (docs/loyalty.md).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use clowder_schemas::ValidationError;
use clowder_schemas::appointment_types::AppointmentType;
use clowder_schemas::audit::Caller;
use clowder_schemas::capture::{CaptureCursor, UnchargedEntry};
use clowder_schemas::catalogue::{CatalogueItem, DrugLink};
use clowder_schemas::errors::ErrorKind;
use clowder_schemas::events::{DomainEvent, Event};
use clowder_schemas::ids::{InvoiceId, PatientId, UserId, VisitId};
use clowder_schemas::inventory::{MoveKind, StockEntry};
use clowder_schemas::invoices::{Invoice, InvoiceDraft, InvoiceStatus, LineDraft};
use clowder_schemas::labs::LabOrder;
use clowder_schemas::money::Quantity;
use clowder_schemas::patients::Patient;
use clowder_schemas::prescriptions::Prescription;
use clowder_schemas::vaccinations::{Entry, Vaccination};
use clowder_schemas::visits::{Visit, VisitStatus};
use jiff::Timestamp;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::task::JoinHandle;

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::store::commit::Published;
use crate::store::tables::unique;
use crate::store::{ChangeSet, IndexTable, Reader, RecordTable};

use super::invoices::{InvoiceCommand, Invoices};

/// The cursor's key in `charge_capture`.
const CURSOR_KEY: u128 = 0;

/// Events read from the log per page when catching up.
const REPLAY_PAGE: usize = 1_000;

/// Events passed over without a charge before the cursor is written on its own, so a
/// restart does not replay a long run of unrelated events (replaying them is harmless:
/// the claims make it add nothing).
const CURSOR_EVERY: u64 = 500;

/// Attempts at one event whose failure is passing (the store, overload, a full disk) before
/// the follower gives up this round and replays from the log after a pause.
const ATTEMPTS: u32 = 5;

/// The owner of a `captured_charge` claim `visit:<id>` that marks an **imported** visit
/// (history, never charged): no invoice has id 0. Its vaccinations and fills go uncharged too.
const HISTORY: u128 = 0;

/// A visit whose opening is this far before its `visit_opened` event was committed was
/// imported as of the past (`Visits::import`), not opened now: history, not charged.
const IMPORTED_BEFORE: jiff::SignedDuration = jiff::SignedDuration::from_mins(5);

/// Whether a failure to charge is passing (ours, overload, a timeout, a full disk, shutting
/// down), so the event is tried again; anything else is a refusal of the charge itself.
pub(crate) fn retryable(e: &Error) -> bool {
    matches!(
        e.code().kind(),
        ErrorKind::Internal | ErrorKind::Unavailable | ErrorKind::InsufficientStorage | ErrorKind::RateLimited
    )
}

/// The uncharged entry that stands for a charge the invoice refused (so it is not lost).
fn refused(captured: &Captured, why: &str) -> Captured {
    let (description, quantity) = match captured {
        Captured::Line(l) => (l.description.clone(), l.quantity),
        Captured::Uncharged(u) => (u.description.clone(), u.quantity),
    };
    uncharged(captured.source().to_owned(), description, quantity, format!("the charge was refused: {why}"))
}

/// What one event is charged as, on which visit's (or cat's) draft.
#[derive(Debug, Clone)]
pub struct Charge {
    pub patient_id: PatientId,
    pub visit_id: Option<VisitId>,
    pub captured: Captured,
}

/// A captured charge: a priced line, or an entry saying what no catalogue item charges.
#[derive(Debug, Clone, PartialEq)]
pub enum Captured {
    /// A line from the catalogue, its `source` set.
    Line(LineDraft),
    Uncharged(UnchargedEntry),
}

impl Captured {
    /// The source key it is captured under.
    pub fn source(&self) -> &str {
        match self {
            Captured::Line(l) => l.source.as_deref().unwrap_or_default(),
            Captured::Uncharged(u) => &u.source,
        }
    }
}

/// Every source an invoice holds, on its lines and its uncharged entries.
fn sources(inv: &Invoice) -> impl Iterator<Item = &str> {
    inv.lines.iter().filter_map(|l| l.source.as_deref()).chain(inv.uncharged.iter().map(|u| u.source.as_str()))
}

/// The invoice actor's part of a capture: adds the line or entry to the draft unless its
/// source is on the invoice already; returns the changed fields and the audit action.
pub(crate) fn apply(
    inv: &mut Invoice,
    captured: Captured,
    now: Timestamp,
) -> Result<Option<(Vec<&'static str>, &'static str)>> {
    if sources(inv).any(|s| s == captured.source()) {
        return Ok(None);
    }
    match captured {
        Captured::Line(line) => {
            inv.add_lines(vec![line])?;
            Ok(Some((vec!["lines"], "invoice.capture")))
        }
        Captured::Uncharged(entry) => {
            inv.uncharged.push(UnchargedEntry { captured_at: now, ..entry });
            Ok(Some((vec!["uncharged"], "invoice.capture_uncharged")))
        }
    }
}

/// Marks the uncharged entry from `source` dealt with; `false` if it already was.
pub(crate) fn resolve(inv: &mut Invoice, source: &str, now: Timestamp, by: Option<UserId>) -> Result<bool> {
    let Some(entry) = inv.uncharged.iter_mut().find(|u| u.source == source) else {
        return Err(ValidationError::new("source", "the invoice has no uncharged entry from this source").into());
    };
    if entry.resolved_at.is_some() {
        return Ok(false);
    }
    entry.resolved_at = Some(now);
    entry.resolved_by = by;
    Ok(true)
}

/// Claims the sources a change adds (never released: a source is captured once, ever, even
/// if staff later edit the line away). Called from the invoice kind's `also`.
pub(crate) fn claim_sources(set: &mut ChangeSet, old: Option<&Invoice>, new: &Invoice) {
    let before: Vec<&str> = old.map(|o| sources(o).collect()).unwrap_or_default();
    for s in sources(new).filter(|s| !before.contains(s)) {
        set.claim(unique::CAPTURED_CHARGE, s, new.id.as_u128(), "source");
    }
}

/// Whether a dose given on `given_on` (the clinic's date) was written down at `at` at least a
/// whole day later in every time zone: a record of the past, not a charge now.
fn recorded_after_the_fact(given_on: jiff::civil::Date, at: jiff::Timestamp) -> bool {
    let written = at.to_zoned(jiff::tz::TimeZone::UTC).date();
    written.checked_sub(jiff::Span::new().days(1)).is_ok_and(|day_before| given_on < day_before)
}

/// What an event is charged as, read from `reader` (`None`: the event charges nothing).
pub fn charge_of(reader: &Reader, event: &Event) -> Result<Option<Charge>> {
    let domain: DomainEvent = match event.kind.as_str() {
        "visit_opened"
        | "vaccination_recorded"
        | "stock_moved"
        | "lab_order_placed"
        | "slot_marked"
        | "admission_updated" => serde_json::from_value(event.payload.clone())
            .map_err(|e| Error::Internal(format!("event {}: {e}", event.seq)))?,
        _ => return Ok(None),
    };
    match domain {
        DomainEvent::VisitOpened { visit_id, .. } => exam_fee(reader, visit_id),
        DomainEvent::VaccinationRecorded { vaccination_id, .. } => {
            let Some(v) = reader.get::<Vaccination>(RecordTable::Vaccinations, vaccination_id.as_u128())? else {
                return Ok(None);
            };
            let Entry::Dose(dose) = &v.entry else { return Ok(None) };
            if v.visit_id.is_none() && recorded_after_the_fact(dose.given_on, event.at) {
                // A dose recorded without a visit, given days before it was written down (the
                // cat's history, here or at another clinic: the demo's year, a transfer's
                // records), is not a sale made now.
                return Ok(None);
            }
            let code = v.vaccine.to_lowercase();
            let source = format!("vaccination:{}", v.id);
            let captured = match linked(reader, unique::CATALOGUE_VACCINE, &code)? {
                Some(item) => line(&item, Quantity::ONE, source),
                None => uncharged(
                    source,
                    format!("Vaccination {} ({})", v.vaccine, dose.product),
                    Quantity::ONE,
                    format!("no active catalogue item charges vaccine {code:?}"),
                ),
            };
            Ok(Some(Charge { patient_id: v.patient_id, visit_id: v.visit_id, captured }))
        }
        DomainEvent::StockMoved { entry_id, kind: MoveKind::Dispensed, .. } => {
            let Some(entry) = reader.get::<StockEntry>(RecordTable::StockLedger, entry_id.as_u128())? else {
                return Ok(None);
            };
            let (Some(rx_id), Some(fill)) = (entry.prescription_id, entry.fill) else { return Ok(None) };
            let Some(rx) = reader.get::<Prescription>(RecordTable::Prescriptions, rx_id.as_u128())? else {
                return Ok(None);
            };
            Ok(Some(dispensed(reader, &rx, fill)?))
        }
        DomainEvent::LabOrderPlaced { lab_order_id, .. } => {
            let Some(o) = reader.get::<LabOrder>(RecordTable::LabOrders, lab_order_id.as_u128())? else {
                return Ok(None);
            };
            let source = format!("lab_order:{}", o.id);
            let captured = match linked(reader, unique::CATALOGUE_LAB_TEST, &o.test.to_lowercase())? {
                Some(item) => line(&item, Quantity::ONE, source),
                None => uncharged(
                    source,
                    format!("Lab: {} ({})", o.test_name, o.test),
                    Quantity::ONE,
                    format!("no active catalogue item charges lab test {:?}", o.test),
                ),
            };
            Ok(Some(Charge { patient_id: o.patient_id, visit_id: Some(o.visit_id), captured }))
        }
        DomainEvent::SlotMarked {
            admission_id,
            treatment_id,
            due,
            outcome: clowder_schemas::wards::SlotOutcome::Done,
            ..
        } => treatment_done(reader, admission_id, treatment_id, due),
        DomainEvent::AdmissionUpdated { admission_id, changed, .. } if changed.iter().any(|c| c == "discharged_at") => {
            ward_stay(reader, admission_id)
        }
        _ => Ok(None),
    }
}

/// A treatment of the ward's sheet given: its catalogue item, else an uncharged entry naming
/// it (docs/ward.md). Once per slot: the source is the admission, treatment and due time.
fn treatment_done(
    reader: &Reader,
    admission_id: clowder_schemas::ids::AdmissionId,
    treatment_id: clowder_schemas::ids::TreatmentId,
    due: Timestamp,
) -> Result<Option<Charge>> {
    use clowder_schemas::wards::Admission;
    let Some(a) = reader.get::<Admission>(RecordTable::Admissions, admission_id.as_u128())? else { return Ok(None) };
    let Some(t) = a.treatments.iter().find(|t| t.id == treatment_id) else { return Ok(None) };
    let source = format!("treatment:{admission_id}/{treatment_id}/{}", due.as_second());
    let what = format!("{} ({})", t.treatment.label(), due);
    let item = match t.catalogue_item_id {
        Some(i) => reader.get::<CatalogueItem>(RecordTable::CatalogueItems, i.as_u128())?.filter(|i| i.active),
        None => None,
    };
    let captured = match item {
        Some(item) => line(&item, Quantity::ONE, source),
        None => uncharged(source, what, Quantity::ONE, "the treatment names no active catalogue item".into()),
    };
    Ok(Some(Charge { patient_id: a.patient_id, visit_id: Some(a.visit_id), captured }))
}

/// A stay ended: the ward's daily fee once per day of the clinic's calendar the cat spent in
/// it (admitted and discharged the same day is one day), captured at discharge; nothing if
/// the ward has no fee item.
fn ward_stay(reader: &Reader, admission_id: clowder_schemas::ids::AdmissionId) -> Result<Option<Charge>> {
    use clowder_schemas::wards::{Admission, Ward};
    let Some(a) = reader.get::<Admission>(RecordTable::Admissions, admission_id.as_u128())? else { return Ok(None) };
    let Some(out) = a.discharged_at else { return Ok(None) };
    let Some(ward) = reader.get::<Ward>(RecordTable::Wards, a.ward_id.as_u128())? else { return Ok(None) };
    let Some(item_id) = ward.daily_item_id else { return Ok(None) };
    let tz = ward_zone(reader, &ward)?;
    let days = (out.to_zoned(tz.clone()).date() - a.admitted_at.to_zoned(tz).date()).get_days().max(0) + 1;
    let quantity = Quantity::from_thousandths(i64::from(days) * 1000);
    let source = format!("stay:{admission_id}");
    let captured =
        match reader.get::<CatalogueItem>(RecordTable::CatalogueItems, item_id.as_u128())?.filter(|i| i.active) {
            Some(item) => line(&item, quantity, source),
            None => uncharged(
                source,
                format!("Hospitalisation, {}: {days} day(s)", ward.name),
                quantity,
                "the ward's daily fee item is not an active catalogue item".into(),
            ),
        };
    Ok(Some(Charge { patient_id: a.patient_id, visit_id: Some(a.visit_id), captured }))
}

/// The zone of the ward's location (its days are that location's).
fn ward_zone(reader: &Reader, ward: &clowder_schemas::wards::Ward) -> Result<jiff::tz::TimeZone> {
    let loc = reader.get::<clowder_schemas::locations::Location>(RecordTable::Locations, ward.location_id.as_u128())?;
    Ok(loc.and_then(|l| jiff::tz::TimeZone::get(&l.time_zone).ok()).unwrap_or(jiff::tz::TimeZone::UTC))
}

/// The exam fee of a visit's appointment type.
fn exam_fee(reader: &Reader, visit_id: VisitId) -> Result<Option<Charge>> {
    let Some(visit) = reader.get::<Visit>(RecordTable::Visits, visit_id.as_u128())? else { return Ok(None) };
    let source = format!("visit:{}", visit.id);
    let captured = match visit.appointment_type_id {
        None => uncharged(
            source,
            format!("Exam ({} visit)", visit.visit_type.as_str()),
            Quantity::ONE,
            "the visit has no appointment type, whose catalogue item is the exam fee".into(),
        ),
        Some(t) => match linked(reader, unique::CATALOGUE_EXAM, &t.to_string())? {
            Some(item) => line(&item, Quantity::ONE, source),
            None => {
                let name = reader
                    .get::<AppointmentType>(RecordTable::AppointmentTypes, t.as_u128())?
                    .map_or_else(|| t.to_string(), |a| a.name);
                uncharged(
                    source,
                    format!("Exam fee: {name}"),
                    Quantity::ONE,
                    format!("no active catalogue item is the exam fee of appointment type {name:?}"),
                )
            }
        },
    };
    Ok(Some(Charge { patient_id: visit.patient_id, visit_id: Some(visit.id), captured }))
}

/// A fill of a prescription dispensed from stock: the prescription's quantity (what left
/// the shelf), matched by inventory's key of its drug, form and strength.
fn dispensed(reader: &Reader, rx: &Prescription, fill: u32) -> Result<Charge> {
    let source = format!("dispense:{}/{fill}", rx.id);
    let what = format!(
        "Dispensed {} {} {} × {} {}",
        rx.drug_name,
        rx.form.as_str(),
        clowder_schemas::formulary::num(rx.strength),
        rx.quantity,
        rx.quantity_unit
    );
    // The one conversion: inventory's (nearest thousandth), so the invoice charges exactly
    // the thousandths that left stock.
    let quantity = clowder_schemas::controlled::to_milli(rx.quantity)
        .map(Quantity::from_thousandths)
        .and_then(|q| q.typed("quantity").ok());
    let mut item = None;
    for key in DrugLink::lookup_keys(&rx.drug_id, rx.form, rx.strength) {
        if let Some(i) = linked(reader, unique::CATALOGUE_DRUG, &key)? {
            item = Some(i);
            break;
        }
    }
    let captured = match (item, quantity) {
        (Some(item), Some(q)) => line(&item, q, source),
        (None, q) => uncharged(
            source,
            what,
            q.unwrap_or(Quantity::ONE),
            format!(
                "no active catalogue item charges {} ({} or any strength or form of it)",
                rx.drug_id,
                clowder_schemas::inventory::FormularyLink::key_of(&rx.drug_id, rx.form, rx.strength)
            ),
        ),
        (Some(_), None) => uncharged(
            source,
            what,
            Quantity::ONE,
            format!("the quantity {} cannot be billed (more than 0, at most 1,000,000)", rx.quantity),
        ),
    };
    Ok(Charge { patient_id: rx.patient_id, visit_id: rx.visit_id, captured })
}

fn linked(reader: &Reader, ns: &str, value: &str) -> Result<Option<CatalogueItem>> {
    match reader.unique_owner(ns, value)? {
        Some(key) => Ok(reader.get::<CatalogueItem>(RecordTable::CatalogueItems, key)?.filter(|i| i.active)),
        None => Ok(None),
    }
}

fn line(item: &CatalogueItem, quantity: Quantity, source: String) -> Captured {
    Captured::Line(LineDraft {
        item_id: Some(item.id),
        description: item.name.clone(),
        category: Some(item.category.clone()),
        quantity,
        unit_price: item.price,
        taxable: item.taxable,
        discount: None,
        source: Some(source),
    })
}

fn uncharged(source: String, description: String, quantity: Quantity, reason: String) -> Captured {
    Captured::Uncharged(UnchargedEntry {
        source,
        description,
        quantity,
        reason,
        captured_at: Timestamp::UNIX_EPOCH,
        resolved_at: None,
        resolved_by: None,
    })
}

/// The draft a charge goes on: the visit's (or, without a visit, the cat's own draft with no
/// visit), if there is one.
fn open_draft(reader: &Reader, client: u128, charge: &Charge) -> Result<Option<InvoiceId>> {
    let keys = match charge.visit_id {
        Some(v) => reader.children(IndexTable::InvoicesByVisit, v.as_u128(), None)?,
        None => reader.children(IndexTable::InvoicesByClient, client, None)?,
    };
    for key in keys {
        let Some(inv) = reader.get::<Invoice>(RecordTable::Invoices, key)? else { continue };
        if inv.status == InvoiceStatus::Draft
            && inv.visit_id == charge.visit_id
            && inv.patient_id == Some(charge.patient_id)
        {
            return Ok(Some(inv.id));
        }
    }
    Ok(None)
}

/// Charge capture's handle: where it is, and how to stop it.
#[derive(Clone)]
pub struct Capture {
    through: Arc<AtomicU64>,
    task: Arc<Mutex<Option<JoinHandle<()>>>>,
    ctx: Arc<Ctx>,
}

impl Capture {
    /// Reads the stored cursor and starts following the log from it (catching up first).
    /// Without a cursor (a new store, or one from before charge capture) it starts at the
    /// log's head as it is now, written as the cursor first: what happened before is not
    /// charged again. Must run inside a tokio runtime, before anything else writes.
    pub(crate) fn start(ctx: Arc<Ctx>, invoices: Invoices) -> Result<Capture> {
        // Subscribe before reading the cursor (or the head), so no event falls between.
        let events = ctx.store.subscribe();
        let stored = ctx.store.read()?.get::<CaptureCursor>(RecordTable::ChargeCapture, CURSOR_KEY)?;
        let stored = stored.map(|c| c.through_seq);
        let seq = match stored {
            Some(seq) => seq,
            None => {
                let head = ctx.store.last_seq();
                tracing::info!(head, "charge capture has no cursor: starting at the log's head");
                head
            }
        };
        let through = Arc::new(AtomicU64::new(seq));
        let follower =
            Follower { ctx: ctx.clone(), invoices, through: through.clone(), stored, caller: Caller::system() };
        let task = tokio::spawn(follower.follow(events));
        Ok(Capture { through, task: Arc::new(Mutex::new(Some(task))), ctx })
    }

    /// The last event sequence number whose charge (if any) is on its invoice.
    pub fn captured_seq(&self) -> u64 {
        self.through.load(Ordering::Acquire)
    }

    /// Stops following (a charge being written commits whole or not at all; the rest is
    /// replayed from the cursor at the next start), then records how far it got.
    pub(crate) async fn stop(&self) {
        if let Some(task) = self.task.lock().ok().and_then(|mut t| t.take()) {
            task.abort();
            let _ = task.await;
        }
        // The cursor is written with a charge or every `CURSOR_EVERY` events, so up to that
        // many events after the last charge would be replayed at every restart. Everything at
        // or below `through` is handled (it moves only after its change set committed), so
        // recording it now is as safe as the follower's own writes.
        if let Err(e) = self.record_cursor().await {
            tracing::warn!(error = %e, "charge capture could not record its cursor at stop; it replays from the stored one");
        }
    }

    async fn record_cursor(&self) -> Result<()> {
        let through = self.captured_seq();
        let stored = self.ctx.store.read()?.get::<CaptureCursor>(RecordTable::ChargeCapture, CURSOR_KEY)?;
        if stored.is_some_and(|c| c.through_seq >= through) {
            return Ok(());
        }
        let mut set = ChangeSet::new();
        set.put(RecordTable::ChargeCapture, CURSOR_KEY, &CaptureCursor { through_seq: through })?;
        self.ctx.store.commit(set).await?;
        Ok(())
    }
}

struct Follower {
    ctx: Arc<Ctx>,
    invoices: Invoices,
    /// The last event handled (shared with [`Capture`]).
    through: Arc<AtomicU64>,
    /// The cursor as stored (`None`: not yet, written at the first catch-up).
    stored: Option<u64>,
    caller: Caller,
}

impl Follower {
    async fn follow(mut self, mut events: broadcast::Receiver<Arc<Published>>) {
        let mut behind = true;
        loop {
            if behind {
                match self.catch_up().await {
                    Ok(()) => behind = false,
                    Err(e) => {
                        // The store is failing or closing: try again shortly (the task is
                        // aborted at shutdown).
                        tracing::error!(error = %e, "charge capture could not read the event log");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                }
                continue;
            }
            match events.recv().await {
                Ok(p) if p.event.seq <= self.through.load(Ordering::Acquire) => {}
                Ok(p) => {
                    if let Err(e) = self.handle(&p.event).await {
                        tracing::error!(error = %e, seq = p.event.seq, "charge capture failed; replaying from the log");
                        behind = true;
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "charge capture fell behind the event bus; replaying from the log");
                    behind = true;
                }
                Err(RecvError::Closed) => return,
            }
        }
    }

    /// Handles every event in the log after the cursor, then writes the cursor.
    async fn catch_up(&mut self) -> Result<()> {
        loop {
            let from = self.through.load(Ordering::Acquire);
            let events = self.ctx.store.read()?.events_after(from, REPLAY_PAGE)?;
            if events.is_empty() {
                break;
            }
            for e in &events {
                self.handle(e).await?;
            }
        }
        self.write_cursor(0).await
    }

    /// Charges one event. A passing failure ([`retryable`]) is retried a few times, then
    /// returned (the follower replays from the log after a pause, so nothing moves on); a
    /// refusal of the charge itself puts an uncharged entry naming it on the draft instead,
    /// and only if even that is refused (no such cat) is the event logged and passed over,
    /// so one bad event cannot stop capture.
    async fn handle(&mut self, event: &Event) -> Result<()> {
        let mut attempt = 0;
        let mut refusal: Option<String> = None;
        loop {
            attempt += 1;
            match self.charge(event, refusal.as_deref()).await {
                Ok(()) => return Ok(()),
                Err(e) if retryable(&e) && attempt < ATTEMPTS => {
                    tracing::warn!(error = %e, seq = event.seq, attempt, "charge capture will retry an event");
                    tokio::time::sleep(std::time::Duration::from_millis(100 << attempt)).await;
                }
                Err(e) if retryable(&e) => return Err(e),
                Err(e) if refusal.is_none() => {
                    tracing::warn!(error = %e, seq = event.seq, subject = %event.subject, "a charge was refused; capturing it as uncharged");
                    refusal = Some(e.to_string());
                }
                Err(e) => {
                    tracing::error!(error = %e, seq = event.seq, subject = %event.subject, "charge capture could not charge an event; passed over");
                    self.passed(event.seq);
                    return self.write_cursor(CURSOR_EVERY).await;
                }
            }
        }
    }

    fn passed(&self, seq: u64) {
        self.through.fetch_max(seq, Ordering::AcqRel);
    }

    /// Writes the cursor alone when it is at least `every` events ahead of the stored one.
    async fn write_cursor(&mut self, every: u64) -> Result<()> {
        let through = self.through.load(Ordering::Acquire);
        if let Some(stored) = self.stored
            && (through <= stored || through - stored < every.max(1))
        {
            return Ok(());
        }
        let mut set = ChangeSet::new();
        set.put(RecordTable::ChargeCapture, CURSOR_KEY, &CaptureCursor { through_seq: through })?;
        self.ctx.store.commit(set).await?;
        self.stored = Some(through);
        Ok(())
    }

    /// Charges one event; `refusal`: the charge was refused so, an uncharged entry naming it.
    async fn charge(&mut self, event: &Event, refusal: Option<&str>) -> Result<()> {
        let reader = self.ctx.store.read()?;
        // Loyalty's step: points a paid invoice earns (or a refund reverses), exactly once by
        // their claim and this cursor, written in one change set.
        if let Some(mut set) = super::loyalty::earning(&self.ctx, &reader, event)? {
            drop(reader);
            set.put(RecordTable::ChargeCapture, CURSOR_KEY, &CaptureCursor { through_seq: event.seq })?;
            self.ctx.store.commit(set).await?;
            self.passed(event.seq);
            self.stored = Some(self.stored.unwrap_or(0).max(event.seq));
            return Ok(());
        }
        let Some(mut charge) = charge_of(&reader, event)? else {
            self.passed(event.seq);
            return self.write_cursor(CURSOR_EVERY).await;
        };
        if let Some(why) = refusal {
            charge.captured = refused(&charge.captured, why);
        }
        if reader.unique_owner(unique::CAPTURED_CHARGE, charge.captured.source())?.is_some() {
            // Captured before (a replay after a cursor written only now and then), or history.
            self.passed(event.seq);
            return self.write_cursor(CURSOR_EVERY).await;
        }
        if let Some(v) = charge.visit_id {
            if reader.unique_owner(unique::CAPTURED_CHARGE, &format!("visit:{v}"))? == Some(HISTORY) {
                // Done at an imported visit: history, like the visit.
                self.passed(event.seq);
                return self.write_cursor(CURSOR_EVERY).await;
            }
            if event.kind == "visit_opened"
                && let Some(visit) = reader.get::<Visit>(RecordTable::Visits, v.as_u128())?
                && event.at.checked_sub(IMPORTED_BEFORE).is_ok_and(|t| visit.opened_at < t)
            {
                // Imported as of the past: marked history, with the cursor, in one commit.
                let mut set = ChangeSet::new();
                set.claim(unique::CAPTURED_CHARGE, &format!("visit:{v}"), HISTORY, "source");
                set.put(RecordTable::ChargeCapture, CURSOR_KEY, &CaptureCursor { through_seq: event.seq })?;
                drop(reader);
                self.ctx.store.commit(set).await?;
                self.passed(event.seq);
                self.stored = Some(self.stored.unwrap_or(0).max(event.seq));
                return Ok(());
            }
        }
        let Some(patient) = reader.get::<Patient>(RecordTable::Patients, charge.patient_id.as_u128())? else {
            return Err(Error::PatientNotFound(charge.patient_id));
        };
        let location_id = match charge.visit_id {
            None => None,
            Some(v) => match reader.get::<Visit>(RecordTable::Visits, v.as_u128())? {
                None => return Err(ValidationError::new("visit_id", "names no visit").into()),
                Some(visit) if visit.status == VisitStatus::Voided => {
                    // A voided visit is charged nothing (voiding cancels the visit).
                    tracing::info!(visit = %v, source = charge.captured.source(), "no charge for a voided visit");
                    self.passed(event.seq);
                    return self.write_cursor(CURSOR_EVERY).await;
                }
                Some(visit) => visit.location_id,
            },
        };
        drop(reader);
        // Twice at most: the draft found may be issued by staff before the line reaches it;
        // then the charge goes on a new draft.
        for _ in 0..3 {
            let reader = self.ctx.store.read()?;
            let id = match open_draft(&reader, patient.client_id.as_u128(), &charge)? {
                Some(id) => id,
                None => {
                    let draft = InvoiceDraft {
                        client_id: patient.client_id,
                        patient_id: Some(patient.id),
                        visit_id: charge.visit_id,
                        location_id,
                        lines: Vec::new(),
                        discount: None,
                        memo: None,
                    };
                    self.invoices.create(draft, &self.caller).await?.id
                }
            };
            drop(reader);
            let mut with = ChangeSet::new();
            with.put(RecordTable::ChargeCapture, CURSOR_KEY, &CaptureCursor { through_seq: event.seq })?;
            let command = InvoiceCommand::Capture(charge.captured.clone());
            match self.invoices.records().command_with(id, command, with, &self.caller).await {
                Ok(_) => {
                    self.passed(event.seq);
                    // Written with the line (unless the invoice had the source already).
                    self.stored = Some(self.stored.unwrap_or(0).max(event.seq));
                    return Ok(());
                }
                Err(Error::InvoiceTransition { .. }) => continue,
                Err(Error::Duplicate { field: "source" }) => {
                    self.passed(event.seq);
                    return self.write_cursor(CURSOR_EVERY).await;
                }
                Err(e) => return Err(e),
            }
        }
        Err(Error::Internal(format!(
            "no draft of visit {:?} stayed a draft long enough to be charged",
            charge.visit_id
        )))
    }
}

#[cfg(test)]
mod tests {
    use clowder_schemas::ids::ClientId;
    use clowder_schemas::invoices::InvoiceDraft;
    use clowder_schemas::money::{BasisPoints, Cents};

    use super::*;

    fn draft() -> Invoice {
        InvoiceDraft {
            client_id: ClientId::from_u128(1),
            patient_id: None,
            visit_id: None,
            location_id: None,
            lines: Vec::new(),
            discount: None,
            memo: None,
        }
        .into_invoice(InvoiceId::from_u128(2), BasisPoints::ZERO, Timestamp::UNIX_EPOCH, None)
        .unwrap()
    }

    fn exam(source: &str) -> Captured {
        Captured::Line(LineDraft {
            item_id: None,
            description: "Exam".into(),
            category: None,
            quantity: Quantity::ONE,
            unit_price: Cents::new(6500),
            taxable: false,
            discount: None,
            source: Some(source.into()),
        })
    }

    #[test]
    fn a_source_is_captured_once_and_claimed_once() {
        let mut inv = draft();
        let before = inv.clone();
        let (changed, action) = apply(&mut inv, exam("visit:1"), Timestamp::UNIX_EPOCH).unwrap().unwrap();
        assert_eq!((changed, action), (vec!["lines"], "invoice.capture"));
        assert_eq!(inv.totals.total, Cents::new(6500));
        assert!(apply(&mut inv, exam("visit:1"), Timestamp::UNIX_EPOCH).unwrap().is_none(), "the same source again");
        let entry = uncharged("vaccination:3".into(), "FeLV".into(), Quantity::ONE, "no item".into());
        let (changed, _) = apply(&mut inv, entry.clone(), Timestamp::UNIX_EPOCH).unwrap().unwrap();
        assert_eq!(changed, vec!["uncharged"]);
        assert!(apply(&mut inv, entry, Timestamp::UNIX_EPOCH).unwrap().is_none());
        // Claims: the new sources only, against what the invoice held before.
        let mut set = ChangeSet::new();
        claim_sources(&mut set, Some(&before), &inv);
        let mut again = ChangeSet::new();
        claim_sources(&mut again, Some(&inv), &inv);
        assert!(!set.is_empty() && again.is_empty());
        // Resolving: once; an unknown source is refused.
        assert!(resolve(&mut inv, "vaccination:3", Timestamp::UNIX_EPOCH, None).unwrap());
        assert!(!resolve(&mut inv, "vaccination:3", Timestamp::UNIX_EPOCH, None).unwrap());
        assert!(resolve(&mut inv, "vaccination:4", Timestamp::UNIX_EPOCH, None).is_err());
    }

    #[test]
    fn passing_failures_are_retried_and_only_refusals_are_passed_over() {
        use std::time::Duration;
        for e in [
            Error::Overloaded { kind: "invoice", retry_after: Duration::from_secs(1) },
            Error::Timeout { kind: "invoice" },
            Error::DiskFull,
            Error::ShuttingDown,
            Error::Internal("commit failed".into()),
        ] {
            assert!(retryable(&e), "{e:?} is passing: retried, never passed over");
        }
        for e in [
            Error::from(ValidationError::new("lines", "too many")),
            Error::Duplicate { field: "source" },
            Error::PatientNotFound(PatientId::from_u128(3)),
        ] {
            assert!(!retryable(&e), "{e:?} is a refusal");
        }
        // A refused charge becomes an uncharged entry naming the refusal, under its source.
        let Captured::Uncharged(entry) = refused(&exam("visit:1"), "too many lines") else { panic!("an entry") };
        assert_eq!((entry.source.as_str(), entry.description.as_str()), ("visit:1", "Exam"));
        assert!(entry.reason.contains("too many lines"), "{}", entry.reason);
    }
}
