//! The calendar: one actor per location serialises every booking, reschedule and status
//! change of that location's appointments, so two requests for the same slot are decided
//! one after the other, never at once.
//!
//! **No double booking, by construction.** Inside its turn, the location's actor checks the
//! request against the in-memory [`Book`] and reserves the slot under the book's write lock
//! (check and reserve are one step, so a booking at another location for the same vet or
//! patient cannot slip in between), then commits; if the commit fails the reservation is
//! undone. The book covers every location, so a vet working at two locations, or a cat booked
//! at both, is refused as well.
//!
//! **Pipelined bookings.** A new booking's commit is awaited outside the actor's turn: the
//! reservation is already in the book, so the next request sees it, and the answer still waits
//! for the commit (2xx only once durable). A location therefore takes bookings as fast as it
//! can check them while group commit batches their writes. Moves and status changes read the
//! stored record and commit inside the turn, so two changes of one appointment never race; a
//! move holds both the old and the new time until it commits (`Book::hold`), so undoing a
//! failed move can never clash with a booking made meanwhile.
//!
//! Staff bookings are not limited to opening hours or shifts (the front desk fits in an
//! emergency at 18:05); those rules shape [`Calendar::availability`], which the portal will
//! use. Appointment reads are not audited one by one: the calendar screens read them all
//! day, and they hold scheduling data, not the clinical record.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use clowder_schemas::access::{Permission, Permissions, Scope};
use clowder_schemas::appointment_types::AppointmentType;
use clowder_schemas::appointments::{
    Appointment, Availability, BoardDay, CalendarColumn, CalendarEntry, Counters, CreateAppointment, Dashboard,
    DayView, FreeDay, FreeStart, FreeVet, QueueEntry, Source, Status, StatusChange, StatusTimes, TransitionRequest,
    UpdateAppointment, check_times,
};
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::clients::Client;
use clowder_schemas::events::DomainEvent;
use clowder_schemas::pagination::{Cursor, Page};
use clowder_schemas::patients::{Patient, PatientStatus};
use clowder_schemas::{
    AppointmentId, AppointmentTypeId, ClientId, LocationId, PatientId, RoomId, StaffId, ValidationError,
};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};

use super::appointment_types::AppointmentTypes;
use super::book::{Book, Clash, Slot};
use super::day;
use super::zones::{self, local_instant};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::runtime::registry::KeyedFactory;
use crate::runtime::{Actor, ActorConfig, Registry, Reply};
use crate::store::{ChangeSet, RecordTable};

/// How far ahead staff may book (five years: recalls for a kitten's senior check-ups fit;
/// a mistyped year such as 2062 does not).
const MAX_AHEAD_DAYS: i64 = 5 * 366;

/// How far back staff may book (a visit recorded after the fact).
const MAX_BEHIND_DAYS: i64 = 30;

/// Refuses a start more than five years ahead or more than 30 days ago.
fn check_window(start: Timestamp, now: Timestamp) -> Result<()> {
    if start > now.saturating_add(SignedDuration::from_hours(24 * MAX_AHEAD_DAYS)).unwrap_or(now) {
        return Err(ValidationError::new("start", "is more than five years ahead").into());
    }
    if start < now.saturating_sub(SignedDuration::from_hours(24 * MAX_BEHIND_DAYS)).unwrap_or(now) {
        return Err(ValidationError::new("start", "is more than 30 days ago").into());
    }
    Ok(())
}

/// A booking, checked and resolved, waiting for its turn.
struct NewBooking {
    appointment: Appointment,
    overbook: bool,
    caller: Caller,
    /// More writes to commit in the same transaction as the booking (the waitlist's).
    extra: Option<ExtraWrites>,
}

/// Writes that belong with a booking, built once the appointment is known.
pub type ExtraWrites = Box<dyn FnOnce(&Appointment) -> Result<ChangeSet> + Send>;

enum Msg {
    Book(Box<NewBooking>, Reply<Result<Appointment>>),
    Edit {
        id: AppointmentId,
        patch: Box<UpdateAppointment>,
        overbook: bool,
        caller: Caller,
        reply: Reply<Result<Appointment>>,
    },
    Transition {
        id: AppointmentId,
        request: TransitionRequest,
        caller: Caller,
        reply: Reply<Result<Appointment>>,
    },
}

struct Shared {
    ctx: Arc<Ctx>,
    book: Arc<RwLock<Book>>,
    hooks: super::Hooks,
}

impl Shared {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Book> {
        self.book.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Book> {
        self.book.write().unwrap_or_else(|p| p.into_inner())
    }
}

fn conflict(c: Clash) -> Error {
    Error::AppointmentConflict {
        field: c.resource.field(),
        other: c.other.id,
        start: c.other.start,
        until: c.other.until,
    }
}

/// One location's calendar actor. Its state is the shared book; what it owns is the turn.
struct LocationCalendar {
    shared: Arc<Shared>,
}

fn event_for(to: Status, appointment: Appointment) -> DomainEvent {
    match to {
        Status::Confirmed => DomainEvent::AppointmentConfirmed { appointment },
        Status::CheckedIn => DomainEvent::PatientCheckedIn { appointment },
        Status::InProgress => DomainEvent::AppointmentStarted { appointment },
        Status::Completed => DomainEvent::AppointmentCompleted { appointment },
        Status::Cancelled => DomainEvent::AppointmentCancelled { appointment },
        Status::NoShow => DomainEvent::AppointmentNoShow { appointment },
        Status::Scheduled => DomainEvent::AppointmentUpdated { appointment },
    }
}

impl LocationCalendar {
    /// Checks and reserves a new booking and builds its change set; the commit happens
    /// outside the actor's turn (see `handle`), so a location takes its next booking while
    /// this one is on its way to disk. The reservation is in the book already, so the next
    /// booking sees it.
    fn reserve(&self, b: NewBooking) -> Result<(Appointment, ChangeSet)> {
        let sh = &self.shared;
        let mut a = b.appointment;
        let slot = Slot::of(&a);
        let clash = {
            let mut book = sh.write();
            let clash = book.clash(&slot);
            if let (Some(c), false) = (clash, b.overbook) {
                return Err(conflict(c));
            }
            book.put(slot);
            clash
        };
        a.overbooked = clash.is_some();
        // From here the slot is reserved: every way out but success must give it back.
        let built = (|| -> Result<ChangeSet> {
            let mut set = ChangeSet::new();
            set.put(RecordTable::Appointments, a.id.as_u128(), &a)?;
            set.event(b.caller.author(), DomainEvent::AppointmentBooked { appointment: a.clone() });
            set.audit(match clash {
                Some(c) => AuditDraft::new(&b.caller, "appointment.overbook")
                    .record("appointment", a.id)
                    .detail(serde_json::json!({ "over": c.other.id, "resource": c.resource.field() })),
                None => AuditDraft::new(&b.caller, "appointment.book").record("appointment", a.id),
            });
            sh.hooks.appointment_changed(&mut set, None, &a, &b.caller)?;
            if let Some(extra) = b.extra {
                set.append(extra(&a)?);
            }
            Ok(set)
        })();
        match built {
            Ok(set) => Ok((a, set)),
            Err(e) => {
                sh.write().remove(a.id);
                Err(e)
            }
        }
    }

    fn load(&self, id: AppointmentId) -> Result<Appointment> {
        self.shared
            .ctx
            .store
            .read()?
            .get::<Appointment>(RecordTable::Appointments, id.as_u128())?
            .ok_or(Error::AppointmentNotFound(id))
    }

    async fn edit(
        &self,
        id: AppointmentId,
        patch: &UpdateAppointment,
        overbook: bool,
        caller: &Caller,
    ) -> Result<Appointment> {
        let sh = &self.shared;
        let cur = self.load(id)?;
        let e = patch.apply(&cur)?;
        let moves = e.moves(&cur);
        if moves && !cur.status.reschedulable() {
            return Err(Error::InvalidTransition {
                from: cur.status,
                to: "rescheduled".into(),
                allowed: cur.status.allowed(cur.start, sh.ctx.clock.now()),
                message: format!("a {} appointment can no longer be moved", cur.status),
            });
        }
        let mut a = Appointment {
            start: e.start,
            end: e.end,
            vet_id: e.vet_id,
            room_id: e.room_id,
            reason: e.reason,
            notes: e.notes,
            ..cur.clone()
        };
        if a == cur {
            return Ok(cur);
        }
        if moves {
            if a.start != cur.start {
                check_window(a.start, sh.ctx.clock.now())?;
            }
            check_resources(sh, &a, None)?;
            a.sequence += 1;
        }
        a.updated_at = sh.ctx.clock.now();
        let slot = Slot::of(&a);
        // A move holds the new time as well as the old one until it commits (`Book::hold`), so
        // undoing a failed move never clashes with a booking made meanwhile.
        let clash = if moves {
            let mut book = sh.write();
            let clash = book.clash(&slot);
            if let (Some(c), false) = (clash, overbook) {
                return Err(conflict(c));
            }
            book.hold(&slot);
            clash
        } else {
            None
        };
        if moves {
            a.overbooked = clash.is_some();
        }
        let built = (|| -> Result<ChangeSet> {
            let mut set = ChangeSet::new();
            set.put(RecordTable::Appointments, id.as_u128(), &a)?;
            let (event, action) = if moves {
                (
                    DomainEvent::AppointmentRescheduled {
                        appointment: a.clone(),
                        previous_start: cur.start,
                        previous_end: cur.end,
                    },
                    if clash.is_some() { "appointment.overbook" } else { "appointment.reschedule" },
                )
            } else {
                (DomainEvent::AppointmentUpdated { appointment: a.clone() }, "appointment.update")
            };
            set.event(caller.author(), event);
            set.audit(AuditDraft::new(caller, action).record("appointment", id).detail(serde_json::json!({
                "from": { "start": cur.start, "end": cur.end, "vet_id": cur.vet_id, "room_id": cur.room_id },
                "over": clash.map(|c| c.other.id),
            })));
            sh.hooks.appointment_changed(&mut set, Some(&cur), &a, caller)?;
            Ok(set)
        })();
        let committed = match built {
            Ok(set) => sh.ctx.store.commit(set).await.map_err(Error::from),
            Err(e) => Err(e),
        };
        let mut book = sh.write();
        match committed {
            Ok(_) => {
                sh.hooks.committed();
                if moves {
                    book.put(slot);
                }
                Ok(a)
            }
            Err(e) => {
                if moves {
                    book.unhold(&slot);
                }
                Err(e)
            }
        }
    }

    async fn transition(&self, id: AppointmentId, req: &TransitionRequest, caller: &Caller) -> Result<Appointment> {
        let sh = &self.shared;
        let reason = req.reason()?;
        let cur = self.load(id)?;
        let now = sh.ctx.clock.now();
        let allowed = cur.status.allowed(cur.start, now);
        if !allowed.contains(&req.to) {
            let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
            let mut message = format!(
                "an appointment that is {} cannot become {}; allowed: {}",
                cur.status,
                req.to,
                if names.is_empty() { "none".to_owned() } else { names.join(", ") }
            );
            if req.to == Status::NoShow && matches!(cur.status, Status::Scheduled | Status::Confirmed) {
                message.push_str(" (a no-show is recorded once the start time has passed)");
            }
            return Err(Error::InvalidTransition { from: cur.status, to: req.to.as_str().into(), allowed, message });
        }
        let mut a = cur.clone();
        a.history.push(StatusChange {
            from: cur.status,
            to: req.to,
            at: now,
            by: caller.user_id(),
            reason: reason.clone(),
        });
        a.times.stamp(req.to, now);
        a.status = req.to;
        a.updated_at = now;
        if req.to == Status::Cancelled {
            a.cancelled_by = caller.user_id();
            a.cancel_reason = reason;
            a.sequence += 1;
        }
        let mut set = ChangeSet::new();
        set.put(RecordTable::Appointments, id.as_u128(), &a)?;
        set.event(caller.author(), event_for(req.to, a.clone()));
        set.audit(
            AuditDraft::new(caller, format!("appointment.{}", req.to))
                .record("appointment", id)
                .detail(serde_json::json!({ "from": cur.status })),
        );
        sh.hooks.appointment_changed(&mut set, Some(&cur), &a, caller)?;
        sh.ctx.store.commit(set).await?;
        sh.hooks.committed();
        sh.write().put(Slot::of(&a));
        Ok(a)
    }
}

impl Actor for LocationCalendar {
    type Msg = Msg;

    async fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Book(b, reply) => match self.reserve(*b) {
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
                Ok((a, set)) => {
                    // Acknowledged only once durable; undone if the commit fails.
                    let shared = self.shared.clone();
                    let tasks = shared.ctx.tasks.clone();
                    tasks.spawn(async move {
                        let result = match shared.ctx.store.commit(set).await {
                            Ok(_) => {
                                shared.hooks.committed();
                                Ok(a)
                            }
                            Err(e) => {
                                shared.write().remove(a.id);
                                Err(e.into())
                            }
                        };
                        let _ = reply.send(result);
                    });
                }
            },
            Msg::Edit { id, patch, overbook, caller, reply } => {
                let _ = reply.send(self.edit(id, &patch, overbook, &caller).await);
            }
            Msg::Transition { id, request, caller, reply } => {
                let _ = reply.send(self.transition(id, &request, &caller).await);
            }
        }
    }
}

struct CalendarFactory(Arc<Shared>);

impl KeyedFactory<LocationCalendar> for CalendarFactory {
    async fn build(&self, _key: u128) -> Result<LocationCalendar> {
        Ok(LocationCalendar { shared: self.0.clone() })
    }
}

/// Checks the vet and room of an appointment against its type and location.
fn check_resources(sh: &Shared, a: &Appointment, t: Option<&AppointmentType>) -> Result<()> {
    let fetched;
    let t = match t {
        Some(t) => t,
        None => {
            fetched = sh
                .ctx
                .store
                .read()?
                .get::<AppointmentType>(RecordTable::AppointmentTypes, a.type_id.as_u128())?
                .ok_or(Error::AppointmentTypeNotFound(a.type_id))?;
            &fetched
        }
    };
    let book = sh.read();
    if let Some(r) = a.room_id {
        let room = book.rooms.get(&r).ok_or_else(|| ValidationError::new("room_id", "names no room"))?;
        if room.location_id != a.location_id {
            return Err(ValidationError::new("room_id", "is at another location").into());
        }
        if !room.active {
            return Err(ValidationError::new("room_id", "this room is out of use").into());
        }
        if let Some(k) = t.room_kind
            && room.kind != k
        {
            return Err(ValidationError::new(
                "room_id",
                format!(
                    "a {} needs a room of kind {}",
                    t.name,
                    serde_json::to_value(k).unwrap_or_default().as_str().unwrap_or("")
                ),
            )
            .into());
        }
    }
    match a.vet_id {
        Some(v) => {
            let s = book.staff.get(&v).ok_or_else(|| ValidationError::new("vet_id", "names no staff member"))?;
            if !s.active {
                return Err(ValidationError::new("vet_id", "no longer works here").into());
            }
            if let Some(c) = t.requires_capability
                && !s.capabilities.has(c)
            {
                let what = match c {
                    clowder_schemas::appointment_types::Capability::CanPrescribe => "someone who can prescribe",
                    clowder_schemas::appointment_types::Capability::CanPerformSurgery => {
                        "someone who can perform surgery"
                    }
                };
                return Err(ValidationError::new("vet_id", format!("a {} needs {what}", t.name)).into());
            }
        }
        None if t.requires_capability.is_some() => {
            return Err(ValidationError::new("vet_id", format!("a {} needs an assigned vet", t.name)).into());
        }
        None => {}
    }
    Ok(())
}

/// Filters of [`Calendar::list`].
#[derive(Debug, Clone, Default)]
pub struct AppointmentFilter {
    /// Appointments starting on this local date: in the location's time zone when
    /// `location` is given, else the clinic's. Exclusive with `from` and `to`.
    pub date: Option<Date>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub location: Option<LocationId>,
    pub vet: Option<StaffId>,
    pub room: Option<RoomId>,
    pub client: Option<ClientId>,
    pub patient: Option<PatientId>,
    pub status: Option<Status>,
    pub after: Option<Cursor>,
    pub limit: usize,
}

/// The calendar service.
#[derive(Clone)]
pub struct Calendar {
    shared: Arc<Shared>,
    types: AppointmentTypes,
    rooms: super::whiteboard::Whiteboard,
    actors: Arc<Registry<LocationCalendar, CalendarFactory>>,
}

impl Calendar {
    pub(crate) fn new(
        ctx: Arc<Ctx>,
        book: Arc<RwLock<Book>>,
        types: AppointmentTypes,
        rooms: super::whiteboard::Whiteboard,
        hooks: super::Hooks,
    ) -> Self {
        let metrics = ctx.metrics.for_kind("calendar");
        // Every booking of a location queues here: a Monday rush must not see 503s.
        let config = ActorConfig { mailbox: ctx.config.actors.mailbox.max(1024), ..ctx.config.actors };
        let shared = Arc::new(Shared { ctx, book, hooks });
        let actors = Arc::new(Registry::new(CalendarFactory(shared.clone()), config, metrics));
        Self { shared, types, rooms, actors }
    }

    pub(crate) fn stop_all(&self) {
        self.actors.stop_all();
    }

    fn ctx(&self) -> &Ctx {
        &self.shared.ctx
    }

    async fn ask(
        &self,
        location: LocationId,
        make: impl FnOnce(Reply<Result<Appointment>>) -> Msg,
    ) -> Result<Appointment> {
        self.actors.ask(location.as_u128(), make).await.map_err(|e| Error::from_ask("calendar", e))?
    }

    /// Books an appointment for a member of staff holding `held`. Booking over a conflict
    /// (`"overbook": true`) needs `appointments:overbook`.
    pub async fn book(&self, body: &CreateAppointment, held: &Permissions, caller: &Caller) -> Result<Appointment> {
        let overbook = may_overbook(held, body.overbook)?;
        self.book_from(body, overbook, Source::Staff, caller).await
    }

    /// Books with a given source (the waitlist and, later, the portal book through here).
    pub async fn book_from(
        &self,
        body: &CreateAppointment,
        overbook: bool,
        source: Source,
        caller: &Caller,
    ) -> Result<Appointment> {
        self.book_with(body, overbook, source, caller, None).await
    }

    /// Books, committing `extra` (built from the new appointment) in the same transaction.
    pub async fn book_with(
        &self,
        body: &CreateAppointment,
        overbook: bool,
        source: Source,
        caller: &Caller,
        extra: Option<ExtraWrites>,
    ) -> Result<Appointment> {
        let text = body.text()?;
        let t =
            self.types.get(body.type_id).map_err(|_| ValidationError::new("type_id", "names no appointment type"))?;
        if !t.active {
            return Err(ValidationError::new("type_id", "this appointment type is retired").into());
        }
        let r = self.ctx().store.read()?;
        let client = r
            .get::<Client>(RecordTable::Clients, body.client_id.as_u128())?
            .ok_or_else(|| ValidationError::new("client_id", "names no client"))?;
        if !client.active {
            return Err(ValidationError::new("client_id", "this client is inactive").into());
        }
        let patient = r
            .get::<Patient>(RecordTable::Patients, body.patient_id.as_u128())?
            .ok_or_else(|| ValidationError::new("patient_id", "names no patient"))?;
        drop(r);
        if patient.client_id != client.id {
            return Err(ValidationError::new("patient_id", "does not belong to this client").into());
        }
        if patient.status == PatientStatus::Deceased {
            return Err(ValidationError::new("patient_id", "a deceased patient cannot be booked").into());
        }
        if patient.status != PatientStatus::Active {
            return Err(ValidationError::new("patient_id", "this patient is inactive").into());
        }
        let start = body.start;
        let end = body.end.unwrap_or_else(|| {
            start.saturating_add(SignedDuration::from_mins(t.duration_minutes.into())).unwrap_or(start)
        });
        check_times(start, end)?;
        let now = self.ctx().clock.now();
        check_window(start, now)?;
        let location = self.resolve_location(body)?;
        let a = Appointment {
            id: AppointmentId::from_ulid(self.ctx().new_ulid()),
            location_id: location,
            client_id: client.id,
            patient_id: patient.id,
            type_id: t.id,
            vet_id: body.vet_id,
            room_id: body.room_id,
            start,
            end,
            buffer_after_minutes: t.buffer_after_minutes,
            reason: text.reason,
            notes: text.notes,
            status: Status::Scheduled,
            times: StatusTimes::default(),
            history: Vec::new(),
            cancelled_by: None,
            cancel_reason: None,
            source,
            overbooked: false,
            sequence: 0,
            created_by: caller.user_id(),
            created_at: now,
            updated_at: now,
        };
        check_resources(&self.shared, &a, Some(&t))?;
        let b = NewBooking { appointment: a, overbook, caller: caller.clone(), extra };
        self.ask(location, |reply| Msg::Book(Box::new(b), reply)).await
    }

    fn resolve_location(&self, body: &CreateAppointment) -> Result<LocationId> {
        let book = self.shared.read();
        let id = if let Some(l) = body.location_id {
            l
        } else if let Some(r) = body.room_id.and_then(|r| book.rooms.get(&r)) {
            r.location_id
        } else if let Some(l) = body.vet_id.and_then(|v| book.staff.get(&v)).and_then(|s| s.home_location_id) {
            l
        } else {
            book.only_location("location_id")?
        };
        match book.location(id) {
            Some((l, _)) if l.active => Ok(id),
            Some(_) => Err(ValidationError::new("location_id", "this location is retired").into()),
            None => Err(ValidationError::new("location_id", "names no location").into()),
        }
    }

    fn location_of(&self, id: AppointmentId) -> Result<LocationId> {
        self.shared.read().slot(id).map(|s| s.location_id).ok_or(Error::AppointmentNotFound(id))
    }

    /// Changes an appointment for a member of staff holding `held`; moving it (time, vet,
    /// room) is checked like a new booking, and moving it over a conflict needs
    /// `appointments:overbook`.
    pub async fn update(
        &self,
        id: AppointmentId,
        patch: UpdateAppointment,
        held: &Permissions,
        caller: &Caller,
    ) -> Result<Appointment> {
        let overbook = may_overbook(held, patch.overbook)?;
        self.edit(id, patch, overbook, caller).await
    }

    async fn edit(
        &self,
        id: AppointmentId,
        patch: UpdateAppointment,
        overbook: bool,
        caller: &Caller,
    ) -> Result<Appointment> {
        let location = self.location_of(id)?;
        let caller = caller.clone();
        self.ask(location, |reply| Msg::Edit { id, patch: Box::new(patch), overbook, caller, reply }).await
    }

    /// Moves an appointment along its workflow. Checking in with a `room_id` first puts the
    /// appointment in that room (checked like any move); the room then follows the
    /// appointment on the whiteboard (see `rooms`).
    /// Cancelling needs `appointments:delete` besides the route's `appointments:edit`.
    pub async fn transition(
        &self,
        id: AppointmentId,
        request: TransitionRequest,
        held: &Permissions,
        caller: &Caller,
    ) -> Result<Appointment> {
        if request.to == Status::Cancelled && !held.holds(Permission::AppointmentsDelete) {
            return Err(Error::Forbidden { permission: Permission::AppointmentsDelete, scope: Scope::Own });
        }
        let location = self.location_of(id)?;
        if let Some(room) = request.room_id {
            if request.to != Status::CheckedIn {
                return Err(ValidationError::new("room_id", "a room is given when checking in").into());
            }
            let current = self.get(id)?;
            if current.room_id != Some(room)
                && current.status.allowed(current.start, self.ctx().clock.now()).contains(&Status::CheckedIn)
            {
                let patch =
                    UpdateAppointment { room_id: clowder_schemas::patch::Patch::Set(room), ..Default::default() };
                self.edit(id, patch, false, caller).await?;
            }
        }
        let who = caller.clone();
        let a = self.ask(location, |reply| Msg::Transition { id, request, caller: who, reply }).await?;
        // The room's whiteboard follows; a failure there must not undo the check-in.
        if let Err(e) = self.rooms.follow(&a, caller).await {
            tracing::warn!(error = %e, appointment = %a.id, "the room did not follow the appointment");
        }
        Ok(a)
    }

    /// Cancels, with `reason`, an appointment the caller's own request booked a moment ago and
    /// could not use (a treatment-plan step that refused it). It is the same cancellation as
    /// [`Calendar::transition`]'s (history, event, audit entry `appointment.cancelled`, the
    /// reminders dropped), without asking for `appointments:delete`: it undoes the request's
    /// own booking, which `appointments:create` allowed.
    pub async fn withdraw(&self, id: AppointmentId, reason: String, caller: &Caller) -> Result<Appointment> {
        let location = self.location_of(id)?;
        let request = TransitionRequest { to: Status::Cancelled, reason: Some(reason), room_id: None };
        let who = caller.clone();
        self.ask(location, |reply| Msg::Transition { id, request, caller: who, reply }).await
    }

    pub fn get(&self, id: AppointmentId) -> Result<Appointment> {
        self.ctx()
            .store
            .read()?
            .get::<Appointment>(RecordTable::Appointments, id.as_u128())?
            .ok_or(Error::AppointmentNotFound(id))
    }

    /// Appointments matching the filter, by start time, a page at a time. A `date` is the
    /// local day in the location's zone (or the clinic's when no location is named).
    pub fn list(&self, f: &AppointmentFilter) -> Result<Page<Appointment>> {
        let (from, to) = self.list_window(f)?;
        let f = &AppointmentFilter { date: None, from, to, ..f.clone() };
        let ids: Vec<AppointmentId> = {
            let book = self.shared.read();
            let from = match f.after {
                Some(c) => {
                    let id = AppointmentId::from_u128(c.0);
                    match book.slot(id) {
                        Some(s) => Some((s.start, id)),
                        None => {
                            return Err(ValidationError::new("cursor", "is not a cursor returned by this list").into());
                        }
                    }
                }
                None => None,
            };
            let matches = |s: &&Slot| {
                f.from.is_none_or(|t| s.start >= t)
                    && f.to.is_none_or(|t| s.start < t)
                    && f.location.is_none_or(|l| s.location_id == l)
                    && f.vet.is_none_or(|v| s.vet_id == Some(v))
                    && f.room.is_none_or(|r| s.room_id == Some(r))
                    && f.client.is_none_or(|c| s.client_id == c)
                    && f.patient.is_none_or(|p| s.patient_id == p)
                    && f.status.is_none_or(|st| s.status == st)
                    && from.is_none_or(|k| (s.start, s.id) > k)
            };
            let lo = match (from, f.from) {
                (Some((t, _)), _) => t,
                (None, Some(t)) => t,
                (None, None) => Timestamp::MIN,
            };
            let hi = f.to.unwrap_or(Timestamp::MAX);
            book.starting_between(lo, hi).filter(matches).take(f.limit + 1).map(|s| s.id).collect()
        };
        let more = ids.len() > f.limit;
        let r = self.ctx().store.read()?;
        let mut items = Vec::with_capacity(f.limit);
        for id in ids.iter().take(f.limit) {
            if let Some(a) = r.get::<Appointment>(RecordTable::Appointments, id.as_u128())? {
                items.push(a);
            }
        }
        let next_cursor = if more { items.last().map(|a| Cursor(a.id.as_u128()).encode()) } else { None };
        Ok(Page { items, next_cursor })
    }

    /// The instant window a list filter means: its `date` as the local day (404 for a
    /// location that does not exist), or its `from`/`to` as given.
    fn list_window(&self, f: &AppointmentFilter) -> Result<(Option<Timestamp>, Option<Timestamp>)> {
        let (from, to) = match f.date {
            Some(_) if f.from.is_some() || f.to.is_some() => {
                return Err(ValidationError::new("date", "give either date or from/to, not both").into());
            }
            Some(d) => {
                let (lo, hi) = match f.location {
                    Some(l) => self.day_bounds(l, d)?,
                    None => zones::day_bounds(&self.ctx().config.time_zone, d)?,
                };
                (Some(lo), Some(hi))
            }
            None => (f.from, f.to),
        };
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            return Err(ValidationError::new("to", "must be after from").into());
        }
        Ok((from, to))
    }

    /// The instants a location's local date begins and ends.
    fn day_bounds(&self, location: LocationId, date: Date) -> Result<(Timestamp, Timestamp)> {
        let book = self.shared.read();
        let (_, tz) = book.location(location).ok_or(Error::LocationNotFound(location))?;
        Ok(zones::day_bounds(tz, date)?)
    }

    /// Today's date at a location, in its time zone.
    pub fn today_at(&self, location: LocationId) -> Result<Date> {
        let book = self.shared.read();
        let (_, tz) = book.location(location).ok_or(Error::LocationNotFound(location))?;
        Ok(zones::local_date(tz, self.ctx().clock.now()))
    }

    /// The location and local date a [`DayRequest`] means: the only active location when it
    /// names none (422 on `location` when there are none or several), today there when it
    /// names no date.
    fn resolve_day(&self, r: DayRequest) -> Result<(LocationId, Date)> {
        let location = match r.location {
            Some(l) => l,
            None => self.shared.read().only_location("location")?,
        };
        let date = match r.date {
            Some(d) => d,
            None => self.today_at(location)?,
        };
        Ok((location, date))
    }

    /// One location's day for the front desk (`GET /api/calendar`): the vet and room
    /// columns, the appointments by start, and each cat, client and type once (see
    /// `scheduling/day.rs`).
    pub fn day(&self, r: DayRequest) -> Result<DayView> {
        let (location, date) = self.resolve_day(r)?;
        let (from, to) = self.day_bounds(location, date)?;
        let book = self.shared.read();
        let (loc, tz) = book.location(location).ok_or(Error::LocationNotFound(location))?;
        let open = opening(loc, tz, date)?;
        let time_zone = loc.time_zone.clone();
        let slots: Vec<Slot> = book.starting_between(from, to).filter(|s| s.location_id == location).copied().collect();
        let (vets, rooms) = day::columns(&book, location, from, to, &slots);
        let listed = day::Listed::of(&book, slots);
        drop(book);
        let parts = day::parts(&self.ctx().store.read()?, listed)?;
        Ok(DayView {
            location_id: location,
            date,
            time_zone,
            open,
            vets,
            rooms,
            appointments: parts.appointments,
            patients: parts.patients,
            clients: parts.clients,
            types: parts.types,
        })
    }

    /// The Today board's day and the day's appointments with their names (read once, for both).
    fn day_with_entries(&self, location: LocationId, date: Date) -> Result<(BoardDay, Vec<CalendarEntry>)> {
        let (from, to) = self.day_bounds(location, date)?;
        let book = self.shared.read();
        let (loc, tz) = book.location(location).ok_or(Error::LocationNotFound(location))?;
        let open = opening(loc, tz, date)?;
        let slots: Vec<Slot> = book.starting_between(from, to).filter(|s| s.location_id == location).copied().collect();
        let (vets, rooms) = day::columns(&book, location, from, to, &slots);
        let time_zone = loc.time_zone.clone();
        drop(book);

        let entries = self.entries(&slots)?;
        let column = |id: String, name: String, pick: &dyn Fn(&Appointment) -> bool| CalendarColumn {
            id,
            name,
            entries: entries.iter().filter(|e| pick(&e.appointment)).cloned().collect(),
        };
        let view = BoardDay {
            location_id: location,
            date,
            time_zone,
            open,
            vets: vets.into_iter().map(|v| column(v.id.to_string(), v.name, &|a| a.vet_id == Some(v.id))).collect(),
            rooms: rooms.into_iter().map(|r| column(r.id.to_string(), r.name, &|a| a.room_id == Some(r.id))).collect(),
            unassigned: entries.iter().filter(|e| e.appointment.vet_id.is_none()).cloned().collect(),
        };
        Ok((view, entries))
    }

    /// A location's Today board for a day (by default the only location, today there): the
    /// day view, the waiting queue, the rooms and the counters, consistent with the event
    /// log up to `last_seq` or later (each event carries its whole record, so applying one
    /// already reflected here is harmless).
    pub fn dashboard(&self, r: DayRequest) -> Result<Dashboard> {
        let (location, date) = self.resolve_day(r)?;
        let last_seq = self.ctx().store.last_seq();
        let (day, entries) = self.day_with_entries(location, date)?;
        let now = self.ctx().clock.now();
        let mut counters = Counters::default();
        let mut queue = Vec::new();
        for e in &entries {
            let a = &e.appointment;
            match a.status {
                Status::Cancelled => counters.cancelled += 1,
                Status::NoShow => counters.no_shows += 1,
                Status::Completed => counters.completed += 1,
                Status::InProgress => counters.in_exam += 1,
                Status::CheckedIn => counters.checked_in += 1,
                Status::Confirmed => counters.confirmed += 1,
                Status::Scheduled => {}
            }
            if a.status != Status::Cancelled {
                counters.booked += 1;
            }
            if a.status == Status::CheckedIn {
                let at = a.times.checked_in_at.unwrap_or(a.updated_at);
                queue.push(QueueEntry {
                    appointment_id: a.id,
                    patient_id: a.patient_id,
                    patient_name: e.patient_name.clone(),
                    client_name: e.client_name.clone(),
                    type_name: e.type_name.clone(),
                    vet_id: a.vet_id,
                    room_id: a.room_id,
                    checked_in_at: at,
                    waited_minutes: now.duration_since(at).as_mins().max(0),
                });
            }
        }
        queue.sort_by_key(|q| q.checked_in_at);
        let rooms = self.rooms.board(Some(location))?;
        Ok(Dashboard { day, queue, rooms, counters, last_seq })
    }

    /// Appointments with the names a screen shows.
    fn entries(&self, slots: &[Slot]) -> Result<Vec<CalendarEntry>> {
        let r = self.ctx().store.read()?;
        let mut types: HashMap<AppointmentTypeId, AppointmentType> = HashMap::new();
        let mut out = Vec::with_capacity(slots.len());
        for s in slots {
            let Some(a) = r.get::<Appointment>(RecordTable::Appointments, s.id.as_u128())? else { continue };
            let patient = r.get::<Patient>(RecordTable::Patients, a.patient_id.as_u128())?;
            let client = r.get::<Client>(RecordTable::Clients, a.client_id.as_u128())?;
            if !types.contains_key(&a.type_id)
                && let Some(t) = r.get::<AppointmentType>(RecordTable::AppointmentTypes, a.type_id.as_u128())?
            {
                types.insert(t.id, t);
            }
            let t = types.get(&a.type_id);
            out.push(CalendarEntry {
                patient_name: patient.map(|p| p.name).unwrap_or_default(),
                client_name: client.map(|c| format!("{} {}", c.first_name, c.last_name)).unwrap_or_default(),
                type_name: t.map(|t| t.name.clone()).unwrap_or_default(),
                color: t
                    .map(|t| t.color.clone())
                    .unwrap_or_else(|| clowder_schemas::appointment_types::DEFAULT_COLOR.into()),
                appointment: a,
            });
        }
        Ok(out)
    }
}

/// A location's opening hours on a local date as instants; `None` when closed or blacked out.
fn opening(
    loc: &clowder_schemas::locations::Location,
    tz: &jiff::tz::TimeZone,
    date: Date,
) -> Result<Option<[Timestamp; 2]>> {
    loc.week()[clowder_schemas::locations::Day::of(date.weekday()).index()]
        .filter(|_| !loc.blackout_dates.contains(&date))
        .map(|(o, c)| Ok::<_, Error>([local_instant(tz, date, o)?, local_instant(tz, date, c)?]))
        .transpose()
}

/// Which day of which location a request means (`GET /api/calendar`, the Today board).
#[derive(Debug, Clone, Copy, Default)]
pub struct DayRequest {
    /// Default: the only active location.
    pub location: Option<LocationId>,
    /// A local date there; default: today in the location's time zone.
    pub date: Option<Date>,
}

/// One end of an availability window as asked: an instant, or a local date at the location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowBound {
    Instant(Timestamp),
    /// From that day's midnight, or (as `to`) up to the end of that day.
    Date(Date),
}

impl WindowBound {
    /// Reads a query value: an instant with an offset or a date; blank or absent is `None`.
    pub fn parse(field: &str, raw: Option<&str>) -> Result<Option<WindowBound>, ValidationError> {
        let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
        if let Ok(t) = raw.parse::<Timestamp>() {
            return Ok(Some(WindowBound::Instant(t)));
        }
        raw.parse::<Date>().map(|d| Some(WindowBound::Date(d))).map_err(|_| {
            ValidationError::new(
                field,
                "must be an instant with an offset (2026-12-01T09:00:00-05:00) or a date (2026-12-01)",
            )
        })
    }
}

/// What [`Calendar::availability`] is asked, before defaults: the service picks the location
/// (the only one when none is named) and the window (from now, for a week).
#[derive(Debug, Clone, Copy)]
pub struct AvailabilityRequest {
    pub type_id: AppointmentTypeId,
    pub from: Option<WindowBound>,
    pub to: Option<WindowBound>,
    pub vet: Option<StaffId>,
    pub location: Option<LocationId>,
}

/// How long an availability window is when `to` is not given.
pub const DEFAULT_AVAILABILITY_DAYS: i64 = 7;

/// What [`Calendar::free_slots`] is asked: a window of instants.
#[derive(Debug, Clone, Copy)]
pub struct AvailabilityQuery {
    pub type_id: AppointmentTypeId,
    pub from: Timestamp,
    pub to: Timestamp,
    pub vet: Option<StaffId>,
    pub location: Option<LocationId>,
}

/// The widest window one availability query covers.
pub const MAX_AVAILABILITY_DAYS: i64 = 62;

impl Calendar {
    /// Free start times as asked over the API: the location defaults to the only active one
    /// (422 on `location_id` otherwise), `from` to now and `to` to a week after `from`; a
    /// date is that local day at the location (`from` its midnight, `to` the next one).
    pub fn availability(&self, r: &AvailabilityRequest) -> Result<Availability> {
        let q = self.availability_window(r)?;
        self.free_slots(&q)
    }

    /// The window of instants an [`AvailabilityRequest`] means.
    fn availability_window(&self, r: &AvailabilityRequest) -> Result<AvailabilityQuery> {
        let location = match r.location {
            Some(l) => l,
            None => self.shared.read().only_location("location_id")?,
        };
        let bound = |b: WindowBound, end_of_day: bool| -> Result<Timestamp> {
            match b {
                WindowBound::Instant(t) => Ok(t),
                WindowBound::Date(d) => {
                    let (start, end) = self.day_bounds(location, d)?;
                    Ok(if end_of_day { end } else { start })
                }
            }
        };
        let from = match r.from {
            Some(b) => bound(b, false)?,
            None => self.ctx().clock.now(),
        };
        let to = match r.to {
            Some(b) => bound(b, true)?,
            None => from.saturating_add(SignedDuration::from_hours(24 * DEFAULT_AVAILABILITY_DAYS)).unwrap_or(from),
        };
        Ok(AvailabilityQuery { type_id: r.type_id, from, to, vet: r.vet, location: Some(location) })
    }

    /// Free start times of a type at a location, for its veterinarians (or the one staff
    /// member asked for): opening hours, blackout dates, bookable shifts minus approved time off, existing bookings with their buffers (at any location),
    /// the type's own buffer, minimum notice and horizon; and, when the type needs a room kind
    /// the location has, a free room of that kind. Staff who lack the type's capability are
    /// left out.
    pub fn free_slots(&self, q: &AvailabilityQuery) -> Result<Availability> {
        use super::availability::{Interval, Resource, SlotRules, free_starts, merge, subtract};
        if q.to <= q.from {
            return Err(ValidationError::new("to", "must be after from").into());
        }
        // Two hours of slack: a window of whole local days may contain a 25-hour day.
        if q.to.duration_since(q.from) > SignedDuration::from_hours(24 * MAX_AVAILABILITY_DAYS + 2) {
            return Err(ValidationError::new("to", format!("at most {MAX_AVAILABILITY_DAYS} days after from")).into());
        }
        let t = self.types.get(q.type_id).map_err(|_| ValidationError::new("type_id", "names no appointment type"))?;
        let now = self.ctx().clock.now();
        let book = self.shared.read();
        let location = match q.location {
            Some(l) => l,
            None => book.only_location("location_id")?,
        };
        let (loc, tz) =
            book.location(location).ok_or_else(|| ValidationError::new("location_id", "names no location"))?;
        let hours = loc.week();
        let rules = SlotRules {
            tz,
            hours: &hours,
            blackout: &loc.blackout_dates,
            step_minutes: loc.booking.slot_step_minutes,
            duration_minutes: t.duration_minutes,
            buffer_after_minutes: t.buffer_after_minutes,
            not_before: now
                .saturating_add(SignedDuration::from_mins(loc.booking.min_notice_minutes.into()))
                .unwrap_or(now),
            not_after: now
                .saturating_add(SignedDuration::from_hours(24 * i64::from(loc.booking.horizon_days)))
                .unwrap_or(now),
        };
        let day = SignedDuration::from_hours(24);
        let (lo, hi) = (q.from.saturating_sub(day).unwrap_or(q.from), q.to.saturating_add(day).unwrap_or(q.to));
        let people: Vec<StaffId> = match q.vet {
            Some(v) => {
                if !book.staff.contains_key(&v) {
                    return Err(ValidationError::new("vet_id", "names no staff member").into());
                }
                vec![v]
            }
            // Offered: the veterinarians (techs and others have shifts too, but are booked by
            // name, with `vet_id`).
            None => book
                .staff
                .values()
                .filter(|s| s.active && s.position == clowder_schemas::staff::Position::Veterinarian)
                .map(|s| s.id)
                .collect(),
        };
        // A whole local day as instants; `None` only at the ends of the representable range,
        // which no query window reaches.
        let day_span = |d: Date| -> Option<Interval> {
            let (start, end) = zones::day_bounds(tz, d).ok()?;
            Some(Interval::new(start, end))
        };
        // (start, vet) pairs, grouped by start below: cheaper than a map of vectors.
        let mut free: Vec<(Timestamp, StaffId)> = Vec::new();
        let mut people = people;
        people.sort();
        for v in people {
            let Some(person) = book.staff.get(&v) else { continue };
            if !person.active || t.requires_capability.is_some_and(|c| !person.capabilities.has(c)) {
                continue;
            }
            let shifts: Vec<Interval> = book
                .shifts_of(v, lo, hi)
                .filter(|s| !s.cancelled && s.kind.bookable() && s.location_id == location)
                .map(|s| Interval::new(s.starts_at, s.ends_at))
                .collect();
            if shifts.is_empty() {
                continue;
            }
            let mut off = Vec::new();
            for t in book.time_off_of(v) {
                if let (Some(first), Some(last)) = (day_span(t.first_day), day_span(t.last_day))
                    && first.start < hi
                    && last.end > lo
                {
                    off.push(Interval::new(first.start, last.end));
                }
            }
            let busy = book.vet_held(v, lo, hi).into_iter().map(|(s, e)| Interval::new(s, e)).collect();
            let person = Resource { on_duty: subtract(&merge(shifts), &off), busy };
            for start in free_starts(&rules, &person, q.from, q.to) {
                free.push((start, v));
            }
        }
        // A type that needs a kind of room the location has can only start when one is free.
        if let Some(kind) = t.room_kind {
            let rooms: Vec<RoomId> = book
                .rooms
                .values()
                .filter(|r| r.location_id == location && r.active && r.kind == kind)
                .map(|r| r.id)
                .collect();
            if !rooms.is_empty() {
                let mut room_free = std::collections::BTreeSet::new();
                for r in rooms {
                    let busy = book.room_held(r, lo, hi).into_iter().map(|(s, e)| Interval::new(s, e)).collect();
                    let room = Resource { on_duty: vec![Interval::new(lo, hi)], busy };
                    room_free.extend(free_starts(&rules, &room, q.from, q.to));
                }
                free.retain(|(start, _)| room_free.contains(start));
            }
        }
        // Per vet (visited in id order), per local day; each vet's starts ascend.
        let mut vets: Vec<FreeVet> = Vec::new();
        for (start, v) in free {
            if vets.last().is_none_or(|last| last.vet_id != v) {
                vets.push(FreeVet { vet_id: v, days: Vec::new() });
            }
            let Some(vet) = vets.last_mut() else { continue };
            let offset = tz.to_offset(start);
            let date = offset.to_datetime(start).date();
            if vet.days.last().is_none_or(|d| d.date != date) {
                vet.days.push(FreeDay { date, offset, starts: Vec::new() });
            }
            if let Some(d) = vet.days.last_mut() {
                d.starts.push(FreeStart::in_zone(start, tz, d.offset));
            }
        }
        Ok(Availability {
            location_id: location,
            time_zone: loc.time_zone.clone(),
            type_id: t.id,
            duration_minutes: t.duration_minutes,
            vets,
        })
    }
}

/// Fills the book's appointments from the store at start.
pub(crate) fn load(ctx: &Ctx, book: &mut Book) -> Result<()> {
    ctx.store.read()?.scan::<Appointment>(RecordTable::Appointments, None, |a| {
        book.put(Slot::of(&a));
        std::ops::ControlFlow::Continue(())
    })?;
    Ok(())
}

/// Booking over a conflict is asked for in the body and needs `appointments:overbook`.
pub fn may_overbook(held: &Permissions, asked: bool) -> Result<bool> {
    if asked && !held.holds(Permission::AppointmentsOverbook) {
        return Err(Error::Forbidden { permission: Permission::AppointmentsOverbook, scope: Scope::Own });
    }
    Ok(asked)
}

#[cfg(test)]
mod tests {
    //! What a request means once parsed: which location, which local day, which window. No
    //! server: a system on a temporary directory with a manual clock.

    use super::*;
    use crate::ManualClock;
    use crate::ctx::SystemConfig;
    use clowder_schemas::locations::CreateLocation;
    use jiff::civil::date;

    /// 02:00 UTC on 2 June 2026: still 1 June in New York, already 2 June in London.
    const NOW: &str = "2026-06-02T02:00:00Z";

    struct Clinic {
        system: crate::System,
        _dir: tempfile::TempDir,
    }

    impl Clinic {
        /// A clinic whose own time zone is London, with locations in the zones given.
        async fn with_locations(zones: &[&str]) -> (Clinic, Vec<LocationId>) {
            let dir = tempfile::tempdir().unwrap();
            let clock = Arc::new(ManualClock::new(NOW.parse().unwrap()));
            let mut config = SystemConfig::new(dir.path());
            config.time_zone = jiff::tz::TimeZone::get("Europe/London").unwrap();
            let system = crate::System::start(config, clock).unwrap();
            let mut ids = Vec::new();
            for (i, zone) in zones.iter().enumerate() {
                let body = CreateLocation {
                    name: format!("Site {i}"),
                    time_zone: (*zone).into(),
                    address: None,
                    phone: None,
                    hours: None,
                    blackout_dates: Vec::new(),
                    booking: None,
                    tax_rate: None,
                };
                ids.push(system.scheduling.setup.create_location(&body, &Caller::system()).await.unwrap().id);
            }
            (Clinic { system, _dir: dir }, ids)
        }

        fn calendar(&self) -> &Calendar {
            &self.system.scheduling.calendar
        }
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn field_of(e: Error) -> String {
        match e {
            Error::Validation(v) => v.field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_day_defaults_to_the_only_location_and_today_in_its_zone() {
        let (clinic, ids) = Clinic::with_locations(&["America/New_York"]).await;
        let day = clinic.calendar().day(DayRequest::default()).unwrap();
        assert_eq!((day.location_id, day.date), (ids[0], date(2026, 6, 1)), "New York's today, not London's");
        let board = clinic.calendar().dashboard(DayRequest { location: None, date: Some(date(2026, 7, 4)) }).unwrap();
        assert_eq!((board.day.location_id, board.day.date), (ids[0], date(2026, 7, 4)));
        assert_eq!(clinic.calendar().today_at(ids[0]).unwrap(), date(2026, 6, 1));
    }

    #[tokio::test]
    async fn a_day_must_name_its_location_unless_there_is_exactly_one() {
        let (none, _) = Clinic::with_locations(&[]).await;
        assert_eq!(field_of(none.calendar().day(DayRequest::default()).unwrap_err()), "location");
        let (two, ids) = Clinic::with_locations(&["America/New_York", "Europe/Paris"]).await;
        assert_eq!(field_of(two.calendar().dashboard(DayRequest::default()).unwrap_err()), "location");
        let paris = two.calendar().day(DayRequest { location: Some(ids[1]), date: None }).unwrap();
        assert_eq!(paris.date, date(2026, 6, 2), "today in Paris");
        let unknown = LocationId::from_u128(1);
        let e = two.calendar().day(DayRequest { location: Some(unknown), date: None }).unwrap_err();
        assert!(matches!(e, Error::LocationNotFound(l) if l == unknown), "{e:?}");
    }

    #[tokio::test]
    async fn a_listed_date_is_the_local_day_at_the_location_or_else_in_the_clinic_zone() {
        let (clinic, ids) = Clinic::with_locations(&["America/New_York"]).await;
        let cal = clinic.calendar();
        // The fall-back day in New York is 25 hours long.
        let f = AppointmentFilter { date: Some(date(2026, 11, 1)), location: Some(ids[0]), ..Default::default() };
        assert_eq!(cal.list_window(&f).unwrap(), (Some(at("2026-11-01T04:00:00Z")), Some(at("2026-11-02T05:00:00Z"))));
        // Without a location: the clinic's own zone (London, on summer time in June).
        let f = AppointmentFilter { date: Some(date(2026, 6, 1)), ..Default::default() };
        assert_eq!(cal.list_window(&f).unwrap(), (Some(at("2026-05-31T23:00:00Z")), Some(at("2026-06-01T23:00:00Z"))));
        // Instants pass as given.
        let f = AppointmentFilter { from: Some(at("2026-06-01T00:00:00Z")), ..Default::default() };
        assert_eq!(cal.list_window(&f).unwrap(), (Some(at("2026-06-01T00:00:00Z")), None));
    }

    #[tokio::test]
    async fn a_listed_date_excludes_from_and_to_and_to_comes_after_from() {
        let (clinic, _) = Clinic::with_locations(&["America/New_York"]).await;
        let cal = clinic.calendar();
        let both = AppointmentFilter { date: Some(date(2026, 6, 1)), to: Some(at(NOW)), ..Default::default() };
        assert_eq!(field_of(cal.list(&both).unwrap_err()), "date");
        let backwards =
            AppointmentFilter { from: Some(at(NOW)), to: Some(at("2026-06-01T00:00:00Z")), ..Default::default() };
        assert_eq!(field_of(cal.list(&backwards).unwrap_err()), "to");
        let unknown = LocationId::from_u128(1);
        let f = AppointmentFilter { date: Some(date(2026, 6, 1)), location: Some(unknown), ..Default::default() };
        assert!(matches!(cal.list(&f).unwrap_err(), Error::LocationNotFound(_)));
    }

    fn request(from: Option<WindowBound>, to: Option<WindowBound>) -> AvailabilityRequest {
        AvailabilityRequest { type_id: AppointmentTypeId::from_u128(1), from, to, vet: None, location: None }
    }

    #[tokio::test]
    async fn an_availability_window_defaults_to_a_week_from_now_at_the_only_location() {
        let (clinic, ids) = Clinic::with_locations(&["America/New_York"]).await;
        let q = clinic.calendar().availability_window(&request(None, None)).unwrap();
        assert_eq!((q.location, q.from, q.to), (Some(ids[0]), at(NOW), at("2026-06-09T02:00:00Z")));
        let from = at("2026-06-05T12:00:00Z");
        let q = clinic.calendar().availability_window(&request(Some(WindowBound::Instant(from)), None)).unwrap();
        assert_eq!((q.from, q.to), (from, at("2026-06-12T12:00:00Z")), "a week after `from`, not after now");
    }

    #[tokio::test]
    async fn availability_dates_are_whole_local_days_at_the_location() {
        let (clinic, _) = Clinic::with_locations(&["America/New_York"]).await;
        let (spring, fall) = (WindowBound::Date(date(2026, 3, 8)), WindowBound::Date(date(2026, 11, 1)));
        let q = clinic.calendar().availability_window(&request(Some(spring), Some(spring))).unwrap();
        assert_eq!((q.from, q.to), (at("2026-03-08T05:00:00Z"), at("2026-03-09T04:00:00Z")), "23 hours");
        let q = clinic.calendar().availability_window(&request(Some(fall), Some(fall))).unwrap();
        assert_eq!((q.from, q.to), (at("2026-11-01T04:00:00Z"), at("2026-11-02T05:00:00Z")), "25 hours");
    }

    #[tokio::test]
    async fn availability_needs_a_location_when_there_are_several() {
        let (clinic, ids) = Clinic::with_locations(&["America/New_York", "Europe/Paris"]).await;
        assert_eq!(field_of(clinic.calendar().availability(&request(None, None)).unwrap_err()), "location_id");
        let paris =
            AvailabilityRequest { location: Some(ids[1]), ..request(Some(WindowBound::Date(date(2026, 6, 3))), None) };
        let q = clinic.calendar().availability_window(&paris).unwrap();
        assert_eq!(q.from, at("2026-06-02T22:00:00Z"), "midnight in Paris");
    }

    #[test]
    fn a_window_bound_is_an_instant_a_date_or_nothing() {
        assert_eq!(WindowBound::parse("from", None), Ok(None));
        assert_eq!(WindowBound::parse("from", Some("  ")), Ok(None));
        assert_eq!(WindowBound::parse("from", Some("2026-12-01")), Ok(Some(WindowBound::Date(date(2026, 12, 1)))));
        assert_eq!(
            WindowBound::parse("to", Some(" 2026-12-01T09:00:00-05:00 ")),
            Ok(Some(WindowBound::Instant(at("2026-12-01T14:00:00Z"))))
        );
        assert_eq!(WindowBound::parse("to", Some("tomorrow")).unwrap_err().field, "to");
    }
}
