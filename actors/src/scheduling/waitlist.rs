//! The waitlist service: entries, matching a freed slot, offers and their expiry.
//!
//! **Matching** (`matches`): an open entry fits a freed slot when its type fits (the same type,
//! or one no longer than the slot whose room kind and capability the slot's room and vet
//! provide), the slot's local date is inside its window, the local start suits its
//! time-of-day preference, and its location and vet (when set) are the slot's. Fitting entries
//! are ordered: the same type first, then by urgency, then oldest first.
//!
//! **Offers.** A listener on the event log sees every `appointment_cancelled` and offers the
//! freed slot (if it is still in the future) to the best [`OFFERS_PER_SLOT`] entries that are
//! `active`; they become `offered`. Writes are serialised by one lock, so when several accept,
//! the first wins: it books the slot through the calendar (source `waitlist`); the other offers
//! of that slot are superseded and their entries wait again. An offer expires after
//! `waitlist_offer_ttl`; an entry after its last day. Expiry is applied at once on every read
//! (`status_at` / `status_on`) and written down by a sweep every minute.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use clowder_schemas::appointment_types::AppointmentType;
use clowder_schemas::appointments::{Appointment, CreateAppointment, Source};
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::clients::Client;
use clowder_schemas::events::DomainEvent;
use clowder_schemas::patients::{Patient, PatientStatus};
use clowder_schemas::waitlist::{
    CreateWaitlistEntry, EntryStatus, FreedSlot, FulfillRequest, OfferStatus, UpdateWaitlistEntry, WaitlistEntry,
    WaitlistMatch, WaitlistOffer,
};
use clowder_schemas::{AppointmentId, ClientId, OfferId, PatientId, ValidationError, WaitlistId};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};

use super::appointment_types::AppointmentTypes;
use super::book::Book;
use super::calendar::{Calendar, ExtraWrites};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::store::{ChangeSet, RecordTable};

/// How many entries are offered one freed slot at once.
pub const OFFERS_PER_SLOT: usize = 3;

/// Filters of [`Waitlist::list`].
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    pub status: Option<EntryStatus>,
    pub client: Option<ClientId>,
    pub patient: Option<PatientId>,
}

/// The waitlist service.
#[derive(Clone)]
pub struct Waitlist {
    ctx: Arc<Ctx>,
    book: Arc<RwLock<Book>>,
    types: AppointmentTypes,
    calendar: Calendar,
    writer: Arc<tokio::sync::Mutex<()>>,
    hooks: super::Hooks,
}

impl Waitlist {
    pub(crate) fn new(
        ctx: Arc<Ctx>,
        book: Arc<RwLock<Book>>,
        types: AppointmentTypes,
        calendar: Calendar,
        hooks: super::Hooks,
    ) -> Self {
        Self { ctx, book, types, calendar, writer: Arc::default(), hooks }
    }

    fn now(&self) -> Timestamp {
        self.ctx.clock.now()
    }

    fn today(&self) -> Date {
        self.ctx.today()
    }

    fn entry_record(&self, id: WaitlistId) -> Result<WaitlistEntry> {
        self.ctx
            .store
            .read()?
            .get::<WaitlistEntry>(RecordTable::Waitlist, id.as_u128())?
            .ok_or(Error::WaitlistEntryNotFound(id))
    }

    fn offer_record(&self, id: OfferId) -> Result<WaitlistOffer> {
        self.ctx.store.read()?.get::<WaitlistOffer>(RecordTable::Offers, id.as_u128())?.ok_or(Error::OfferNotFound(id))
    }

    /// An entry, with expiry applied.
    pub fn get(&self, id: WaitlistId) -> Result<WaitlistEntry> {
        let mut e = self.entry_record(id)?;
        e.status = e.status_on(self.today());
        Ok(e)
    }

    /// An offer, with expiry applied.
    pub fn offer(&self, id: OfferId) -> Result<WaitlistOffer> {
        let mut o = self.offer_record(id)?;
        o.status = o.status_at(self.now());
        Ok(o)
    }

    fn check_parts(&self, e: &WaitlistEntry) -> Result<()> {
        let r = self.ctx.store.read()?;
        let client = r
            .get::<Client>(RecordTable::Clients, e.client_id.as_u128())?
            .ok_or_else(|| ValidationError::new("client_id", "names no client"))?;
        let patient = r
            .get::<Patient>(RecordTable::Patients, e.patient_id.as_u128())?
            .ok_or_else(|| ValidationError::new("patient_id", "names no patient"))?;
        if !client.active {
            return Err(ValidationError::new("client_id", "this client is inactive").into());
        }
        if patient.client_id != client.id {
            return Err(ValidationError::new("patient_id", "does not belong to this client").into());
        }
        if patient.status != PatientStatus::Active {
            return Err(ValidationError::new("patient_id", "only an active patient can wait for a slot").into());
        }
        drop(r);
        let t = self.types.get(e.type_id).map_err(|_| ValidationError::new("type_id", "names no appointment type"))?;
        if !t.active {
            return Err(ValidationError::new("type_id", "this appointment type is retired").into());
        }
        let book = self.book.read().unwrap_or_else(|p| p.into_inner());
        if let Some(l) = e.location_id
            && book.location(l).is_none()
        {
            return Err(ValidationError::new("location_id", "names no location").into());
        }
        if let Some(v) = e.vet_id
            && !book.staff.contains_key(&v)
        {
            return Err(ValidationError::new("vet_id", "names no staff member").into());
        }
        Ok(())
    }

    pub async fn create(&self, body: &CreateWaitlistEntry, caller: &Caller) -> Result<WaitlistEntry> {
        let (earliest, notes) = body.check(self.today())?;
        let now = self.now();
        let e = WaitlistEntry {
            id: WaitlistId::from_ulid(self.ctx.new_ulid()),
            client_id: body.client_id,
            patient_id: body.patient_id,
            type_id: body.type_id,
            location_id: body.location_id,
            vet_id: body.vet_id,
            earliest,
            latest: body.latest,
            time_of_day: body.time_of_day,
            urgency: body.urgency,
            contact: body.contact,
            notes,
            status: EntryStatus::Active,
            appointment_id: None,
            created_by: caller.user_id(),
            created_at: now,
            updated_at: now,
        };
        self.check_parts(&e)?;
        let mut set = ChangeSet::new();
        set.put(RecordTable::Waitlist, e.id.as_u128(), &e)?;
        set.event(caller.author(), DomainEvent::WaitlistEntryCreated { entry: e.clone() });
        set.audit(AuditDraft::new(caller, "waitlist.create").record("waitlist", e.id));
        self.ctx.store.commit(set).await?;
        Ok(e)
    }

    pub async fn update(&self, id: WaitlistId, patch: &UpdateWaitlistEntry, caller: &Caller) -> Result<WaitlistEntry> {
        let _w = self.writer.lock().await;
        let cur = self.get(id)?;
        if !cur.status.open() {
            return Err(
                ValidationError::new("status", format!("a {} entry cannot be changed", cur.status.as_str())).into()
            );
        }
        let mut e = patch.apply(&cur, self.today())?;
        if e == cur {
            return Ok(cur);
        }
        self.check_parts(&e)?;
        e.updated_at = self.now();
        self.save_entry(&e, "waitlist.update", caller).await?;
        Ok(e)
    }

    /// Takes an entry off the waitlist (kept, marked cancelled); its open offers go too.
    pub async fn cancel(&self, id: WaitlistId, caller: &Caller) -> Result<WaitlistEntry> {
        let _w = self.writer.lock().await;
        let cur = self.get(id)?;
        if cur.status == EntryStatus::Cancelled {
            return Ok(cur);
        }
        if !cur.status.open() {
            return Err(
                ValidationError::new("status", format!("a {} entry cannot be cancelled", cur.status.as_str())).into()
            );
        }
        let e = WaitlistEntry { status: EntryStatus::Cancelled, updated_at: self.now(), ..cur };
        let mut set = ChangeSet::new();
        for o in self.pending_offers(|o| o.entry_id == id)? {
            close_offer(&mut set, o, OfferStatus::Superseded, self.now(), caller)?;
        }
        put_entry(&mut set, &e, "waitlist.cancel", caller)?;
        self.ctx.store.commit(set).await?;
        Ok(e)
    }

    async fn save_entry(&self, e: &WaitlistEntry, action: &str, caller: &Caller) -> Result<()> {
        let mut set = ChangeSet::new();
        put_entry(&mut set, e, action, caller)?;
        self.ctx.store.commit(set).await?;
        Ok(())
    }

    /// Entries in the order they joined (with expiry applied), filtered.
    pub fn list(&self, f: &EntryFilter) -> Result<Vec<WaitlistEntry>> {
        let today = self.today();
        let mut out = Vec::new();
        self.ctx.store.read()?.scan::<WaitlistEntry>(RecordTable::Waitlist, None, |mut e| {
            e.status = e.status_on(today);
            if f.status.is_none_or(|s| e.status == s)
                && f.client.is_none_or(|c| e.client_id == c)
                && f.patient.is_none_or(|p| e.patient_id == p)
            {
                out.push(e);
            }
            std::ops::ControlFlow::Continue(())
        })?;
        Ok(out)
    }

    /// Offers, newest first, optionally only pending ones or those of one entry.
    pub fn offers(&self, status: Option<OfferStatus>, entry: Option<WaitlistId>) -> Result<Vec<WaitlistOffer>> {
        let now = self.now();
        let mut out = Vec::new();
        self.ctx.store.read()?.scan::<WaitlistOffer>(RecordTable::Offers, None, |mut o| {
            o.status = o.status_at(now);
            if status.is_none_or(|s| o.status == s) && entry.is_none_or(|e| o.entry_id == e) {
                out.push(o);
            }
            std::ops::ControlFlow::Continue(())
        })?;
        out.reverse();
        Ok(out)
    }

    fn pending_offers(&self, keep: impl Fn(&WaitlistOffer) -> bool) -> Result<Vec<WaitlistOffer>> {
        let mut out = Vec::new();
        self.ctx.store.read()?.scan::<WaitlistOffer>(RecordTable::Offers, None, |o| {
            if o.status == OfferStatus::Pending && keep(&o) {
                out.push(o);
            }
            std::ops::ControlFlow::Continue(())
        })?;
        Ok(out)
    }

    /// The slot an appointment holds, as a freed slot.
    pub fn slot_of(&self, id: AppointmentId) -> Result<FreedSlot> {
        let a = self.calendar.get(id)?;
        Ok(freed(&a))
    }

    /// Open entries that fit `slot`, in offer order; with `only_active`, entries already
    /// holding an offer are left out.
    pub fn matches(&self, slot: &FreedSlot, only_active: bool) -> Result<Vec<WaitlistMatch>> {
        let types = self.types.list(true)?;
        let type_of = |id| types.iter().find(|t: &&AppointmentType| t.id == id);
        let (tz, room_kind, vet_caps) = {
            let book = self.book.read().unwrap_or_else(|p| p.into_inner());
            let Some((_, tz)) = book.location(slot.location_id) else { return Ok(Vec::new()) };
            (
                tz.clone(),
                slot.room_id.and_then(|r| book.rooms.get(&r)).map(|r| r.kind),
                slot.vet_id.and_then(|v| book.staff.get(&v)).map(|s| s.capabilities),
            )
        };
        let local = slot.start.to_zoned(tz);
        let (date, time) = (local.date(), local.time());
        let length = slot.end.duration_since(slot.start);
        let today = self.today();
        let mut out: Vec<WaitlistMatch> = Vec::new();
        for e in self.list(&EntryFilter::default())? {
            let status = e.status_on(today);
            let open = if only_active { status == EntryStatus::Active } else { status.open() };
            if !open || date < e.earliest || date > e.latest || !e.time_of_day.suits(time) {
                continue;
            }
            if e.location_id.is_some_and(|l| l != slot.location_id) || e.vet_id.is_some_and(|v| Some(v) != slot.vet_id)
            {
                continue;
            }
            let same_type = e.type_id == slot.type_id;
            if !same_type {
                let Some(t) = type_of(e.type_id) else { continue };
                let fits = SignedDuration::from_mins(t.duration_minutes.into()) <= length
                    && t.room_kind.is_none_or(|k| room_kind.is_none_or(|rk| rk == k))
                    && t.requires_capability.is_none_or(|c| vet_caps.is_some_and(|caps| caps.has(c)));
                if !fits {
                    continue;
                }
            }
            out.push(WaitlistMatch { entry: e, same_type });
        }
        out.sort_by(|a, b| {
            b.same_type
                .cmp(&a.same_type)
                .then(b.entry.urgency.cmp(&a.entry.urgency))
                .then(a.entry.created_at.cmp(&b.entry.created_at))
                .then(a.entry.id.cmp(&b.entry.id))
        });
        Ok(out)
    }

    /// Offers a freed slot to the best-fitting active entries; returns the offers made.
    pub async fn offer_slot(&self, slot: &FreedSlot, caller: &Caller) -> Result<Vec<WaitlistOffer>> {
        let _w = self.writer.lock().await;
        let now = self.now();
        if slot.start <= now {
            return Ok(Vec::new());
        }
        let chosen: Vec<WaitlistEntry> =
            self.matches(slot, true)?.into_iter().take(OFFERS_PER_SLOT).map(|m| m.entry).collect();
        if chosen.is_empty() {
            return Ok(Vec::new());
        }
        let expires_at = now.saturating_add(self.ctx.config.waitlist_offer_ttl).unwrap_or(now).min(slot.start);
        let mut set = ChangeSet::new();
        let mut made = Vec::new();
        for e in chosen {
            let o = WaitlistOffer {
                id: OfferId::from_ulid(self.ctx.new_ulid()),
                entry_id: e.id,
                client_id: e.client_id,
                patient_id: e.patient_id,
                slot: *slot,
                status: OfferStatus::Pending,
                expires_at,
                appointment_id: None,
                responded_at: None,
                created_at: now,
            };
            set.put(RecordTable::Offers, o.id.as_u128(), &o)?;
            set.event(caller.author(), DomainEvent::WaitlistOfferMade { offer: o.clone() });
            self.hooks.offer_made(&mut set, &o, caller)?;
            set.audit(
                AuditDraft::new(caller, "waitlist.offer")
                    .record("waitlist", e.id)
                    .detail(serde_json::json!({ "offer_id": o.id, "freed_by": slot.appointment_id })),
            );
            let e = WaitlistEntry { status: EntryStatus::Offered, updated_at: now, ..e };
            set.put(RecordTable::Waitlist, e.id.as_u128(), &e)?;
            set.event(caller.author(), DomainEvent::WaitlistEntryUpdated { entry: e });
            made.push(o);
        }
        self.ctx.store.commit(set).await?;
        self.hooks.committed();
        Ok(made)
    }

    /// Books a slot for an entry (staff fulfilling it by hand, or an accepted offer).
    pub async fn fulfill(&self, id: WaitlistId, req: &FulfillRequest, caller: &Caller) -> Result<Appointment> {
        let _w = self.writer.lock().await;
        let entry = self.get(id)?;
        if !entry.status.open() {
            return Err(ValidationError::new(
                "status",
                format!("a {} entry cannot be fulfilled", entry.status.as_str()),
            )
            .into());
        }
        let (start, end, vet, room, location) = match req.from_appointment_id {
            Some(a) => {
                let s =
                    self.slot_of(a).map_err(|_| ValidationError::new("from_appointment_id", "names no appointment"))?;
                let held = self.calendar.get(a)?;
                if held.status.holds_slot() {
                    return Err(
                        ValidationError::new("from_appointment_id", "that appointment still holds its slot").into()
                    );
                }
                (s.start, None, s.vet_id, s.room_id, Some(s.location_id))
            }
            None => {
                let start = req
                    .start
                    .ok_or_else(|| ValidationError::new("start", "is required without from_appointment_id"))?;
                (start, req.end, req.vet_id, req.room_id, req.location_id)
            }
        };
        let body = CreateAppointment {
            client_id: entry.client_id,
            patient_id: entry.patient_id,
            type_id: entry.type_id,
            vet_id: vet.or(entry.vet_id),
            room_id: room,
            location_id: location.or(entry.location_id),
            start,
            end,
            reason: Some("from the waitlist".into()),
            notes: entry.notes.clone(),
            overbook: false,
        };
        // The booking and the entry's settling are one transaction.
        let (me, who, freed_by) = (self.clone(), caller.clone(), req.from_appointment_id);
        let extra: ExtraWrites = Box::new(move |a: &Appointment| {
            let mut set = ChangeSet::new();
            me.settle(&mut set, &entry, a, None, freed_by, &who)?;
            Ok(set)
        });
        self.calendar.book_with(&body, false, Source::Waitlist, caller, Some(extra)).await
    }

    /// Marks an entry fulfilled by `a` and closes its other offers and the competing offers
    /// of the same freed slot (their entries wait again).
    fn settle(
        &self,
        set: &mut ChangeSet,
        entry: &WaitlistEntry,
        a: &Appointment,
        accepted: Option<OfferId>,
        freed_by: Option<AppointmentId>,
        caller: &Caller,
    ) -> Result<()> {
        let now = self.now();
        let others = self.pending_offers(|o| {
            accepted != Some(o.id) && (o.entry_id == entry.id || Some(o.slot.appointment_id) == freed_by)
        })?;
        for o in others {
            let other_entry = o.entry_id;
            close_offer(set, o, OfferStatus::Superseded, now, caller)?;
            if other_entry != entry.id {
                let e = self.entry_record(other_entry)?;
                if e.status == EntryStatus::Offered {
                    let e = WaitlistEntry { status: EntryStatus::Active, updated_at: now, ..e };
                    put_entry(set, &e, "waitlist.requeue", caller)?;
                }
            }
        }
        let done = WaitlistEntry {
            status: EntryStatus::Fulfilled,
            appointment_id: Some(a.id),
            updated_at: now,
            ..entry.clone()
        };
        put_entry(set, &done, "waitlist.fulfill", caller)
    }

    /// Accepts an offer: the first to accept gets the slot.
    pub async fn accept(&self, id: OfferId, caller: &Caller) -> Result<(WaitlistOffer, Appointment)> {
        let _w = self.writer.lock().await;
        let now = self.now();
        let offer = self.offer_record(id)?;
        match offer.status_at(now) {
            OfferStatus::Pending => {}
            s => return Err(Error::OfferClosed(format!("it is {}", offer_status_name(s)))),
        }
        let entry = self.entry_record(offer.entry_id)?;
        let body = CreateAppointment {
            client_id: entry.client_id,
            patient_id: entry.patient_id,
            type_id: entry.type_id,
            vet_id: offer.slot.vet_id,
            room_id: offer.slot.room_id,
            location_id: Some(offer.slot.location_id),
            start: offer.slot.start,
            end: None,
            reason: Some("waitlist offer accepted".into()),
            notes: entry.notes.clone(),
            overbook: false,
        };
        // The booking, the accepted offer and the settling are one transaction.
        let (me, who, pending, settled) = (self.clone(), caller.clone(), offer.clone(), entry.clone());
        let extra: ExtraWrites = Box::new(move |a: &Appointment| {
            let mut set = ChangeSet::new();
            let accepted = WaitlistOffer {
                status: OfferStatus::Accepted,
                appointment_id: Some(a.id),
                responded_at: Some(now),
                ..pending
            };
            set.put(RecordTable::Offers, accepted.id.as_u128(), &accepted)?;
            set.event(who.author(), DomainEvent::WaitlistOfferUpdated { offer: accepted.clone() });
            set.audit(AuditDraft::new(&who, "waitlist.offer_accept").record("waitlist", settled.id));
            me.settle(&mut set, &settled, a, Some(accepted.id), Some(accepted.slot.appointment_id), &who)?;
            Ok(set)
        });
        let a = match self.calendar.book_with(&body, false, Source::Waitlist, caller, Some(extra)).await {
            Ok(a) => a,
            Err(Error::AppointmentConflict { .. }) => {
                // The slot went another way (booked by the front desk meanwhile).
                let mut set = ChangeSet::new();
                close_offer(&mut set, offer, OfferStatus::Superseded, now, caller)?;
                if entry.status == EntryStatus::Offered {
                    let e = WaitlistEntry { status: EntryStatus::Active, updated_at: now, ..entry };
                    put_entry(&mut set, &e, "waitlist.requeue", caller)?;
                }
                self.ctx.store.commit(set).await?;
                return Err(Error::OfferClosed("the slot has been taken".into()));
            }
            Err(e) => return Err(e),
        };
        let accepted = self.offer_record(id)?;
        Ok((accepted, a))
    }

    /// Declines an offer; the entry waits for the next slot.
    pub async fn decline(&self, id: OfferId, caller: &Caller) -> Result<WaitlistOffer> {
        let _w = self.writer.lock().await;
        let now = self.now();
        let offer = self.offer_record(id)?;
        match offer.status_at(now) {
            OfferStatus::Pending => {}
            s => return Err(Error::OfferClosed(format!("it is {}", offer_status_name(s)))),
        }
        let entry = self.entry_record(offer.entry_id)?;
        let mut set = ChangeSet::new();
        let closed = close_offer(&mut set, offer, OfferStatus::Declined, now, caller)?;
        if entry.status == EntryStatus::Offered {
            let e = WaitlistEntry { status: EntryStatus::Active, updated_at: now, ..entry };
            put_entry(&mut set, &e, "waitlist.requeue", caller)?;
        }
        self.ctx.store.commit(set).await?;
        Ok(closed)
    }

    /// Writes down what expiry has already decided: offers past their time (their entries
    /// wait again) and entries past their last day. Returns how many records changed.
    pub async fn sweep(&self) -> Result<usize> {
        let _w = self.writer.lock().await;
        let (now, today) = (self.now(), self.today());
        let caller = Caller::system();
        let mut set = ChangeSet::new();
        let mut changed = 0;
        let mut requeue = Vec::new();
        for o in self.pending_offers(|o| now >= o.expires_at)? {
            requeue.push(o.entry_id);
            close_offer(&mut set, o, OfferStatus::Expired, now, &caller)?;
            changed += 1;
        }
        let mut entries = Vec::new();
        self.ctx.store.read()?.scan::<WaitlistEntry>(RecordTable::Waitlist, None, |e| {
            if e.status.open() {
                entries.push(e);
            }
            std::ops::ControlFlow::Continue(())
        })?;
        for e in entries {
            let to = if e.status_on(today) == EntryStatus::Expired {
                EntryStatus::Expired
            } else if e.status == EntryStatus::Offered && requeue.contains(&e.id) {
                EntryStatus::Active
            } else {
                continue;
            };
            let e = WaitlistEntry { status: to, updated_at: now, ..e };
            put_entry(
                &mut set,
                &e,
                if to == EntryStatus::Expired { "waitlist.expire" } else { "waitlist.requeue" },
                &caller,
            )?;
            changed += 1;
        }
        if changed > 0 {
            self.ctx.store.commit(set).await?;
        }
        Ok(changed)
    }

    /// Runs until the process stops: offers each cancelled appointment's slot, and sweeps
    /// expiry every minute.
    pub(crate) fn start_background(&self) -> Vec<tokio::task::JoinHandle<()>> {
        let listener = {
            let me = self.clone();
            let mut events = self.ctx.store.subscribe();
            tokio::spawn(async move {
                loop {
                    let event = match events.recv().await {
                        Ok(e) => e,
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                            tracing::warn!(
                                missed = n,
                                "waitlist listener fell behind the event log; some cancellations were not offered"
                            );
                            continue;
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    };
                    let DomainEvent::AppointmentCancelled { appointment } = &event.domain else { continue };
                    if let Err(e) = me.offer_slot(&freed(appointment), &Caller::system()).await {
                        tracing::warn!(error = %e, appointment = %appointment.id, "could not offer a freed slot to the waitlist");
                    }
                }
            })
        };
        let sweeper = {
            let me = self.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(60));
                loop {
                    tick.tick().await;
                    if let Err(e) = me.sweep().await {
                        tracing::warn!(error = %e, "waitlist expiry sweep failed");
                    }
                }
            })
        };
        vec![listener, sweeper]
    }
}

fn freed(a: &Appointment) -> FreedSlot {
    FreedSlot {
        appointment_id: a.id,
        location_id: a.location_id,
        type_id: a.type_id,
        vet_id: a.vet_id,
        room_id: a.room_id,
        start: a.start,
        end: a.end,
    }
}

fn put_entry(set: &mut ChangeSet, e: &WaitlistEntry, action: &str, caller: &Caller) -> Result<()> {
    set.put(RecordTable::Waitlist, e.id.as_u128(), e)?;
    set.event(caller.author(), DomainEvent::WaitlistEntryUpdated { entry: e.clone() });
    set.audit(AuditDraft::new(caller, action).record("waitlist", e.id));
    Ok(())
}

fn close_offer(
    set: &mut ChangeSet,
    o: WaitlistOffer,
    to: OfferStatus,
    now: Timestamp,
    caller: &Caller,
) -> Result<WaitlistOffer> {
    let o = WaitlistOffer { status: to, responded_at: Some(now), ..o };
    set.put(RecordTable::Offers, o.id.as_u128(), &o)?;
    set.event(caller.author(), DomainEvent::WaitlistOfferUpdated { offer: o.clone() });
    Ok(o)
}

fn offer_status_name(s: OfferStatus) -> &'static str {
    match s {
        OfferStatus::Pending => "pending",
        OfferStatus::Accepted => "already accepted",
        OfferStatus::Declined => "declined",
        OfferStatus::Expired => "expired",
        OfferStatus::Superseded => "superseded: the slot went to someone else",
    }
}
