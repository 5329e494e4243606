//! Exam-room actors: one per room, holding its place on the whiteboard (free, patient
//! waiting, in exam, needs cleaning, out of service), the cat in it, the staff present and
//! since when. Every change is committed with a `room_state_changed` event before it is
//! acknowledged. The calendar moves rooms along with appointments: checking a patient in to
//! a room puts them there waiting, starting the appointment puts them in exam, completing it
//! leaves the room needing cleaning, and a cancellation or no-show of a waiting patient frees
//! it.

use std::sync::{Arc, RwLock};

use clowder_schemas::appointments::{Appointment, Status};
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::events::DomainEvent;
use clowder_schemas::locations::Room;
use clowder_schemas::whiteboard::{BoardRoom, RoomState, RoomStateRequest, RoomStatus};
use clowder_schemas::{LocationId, RoomId, ValidationError};

use super::book::Book;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::runtime::registry::KeyedFactory;
use crate::runtime::{Actor, Registry, Reply};
use crate::store::{ChangeSet, RecordTable};

pub(crate) enum Msg {
    Set { req: RoomStateRequest, caller: Caller, reply: Reply<Result<RoomStatus>> },
    Follow { appointment: Box<Appointment>, caller: Caller, reply: Reply<Result<Option<RoomStatus>>> },
}

pub(crate) struct RoomActor {
    ctx: Arc<Ctx>,
    room: Option<Room>,
    status: Option<RoomStatus>,
}

fn fresh(room: &Room) -> RoomStatus {
    RoomStatus {
        room_id: room.id,
        location_id: room.location_id,
        state: if room.active { RoomState::Free } else { RoomState::OutOfService },
        patient_id: None,
        appointment_id: None,
        staff_ids: Vec::new(),
        since: room.created_at,
        updated_by: None,
    }
}

impl RoomActor {
    fn current(&self) -> Result<RoomStatus> {
        match (&self.status, &self.room) {
            (Some(s), _) => Ok(s.clone()),
            (None, Some(r)) => Ok(fresh(r)),
            (None, None) => Err(Error::Internal("room actor without a room".into())),
        }
    }

    async fn save(&mut self, next: RoomStatus, caller: &Caller) -> Result<RoomStatus> {
        let mut set = ChangeSet::new();
        set.put(RecordTable::RoomStates, next.room_id.as_u128(), &next)?;
        set.event(caller.author(), DomainEvent::RoomStateChanged { status: next.clone() });
        set.audit(
            AuditDraft::new(caller, "room.state")
                .record("room", next.room_id)
                .detail(serde_json::json!({ "to": next.state, "patient_id": next.patient_id })),
        );
        self.ctx.store.commit(set).await?;
        self.status = Some(next.clone());
        Ok(next)
    }

    fn moved(&self, cur: &RoomStatus, to: RoomState, caller: &Caller) -> Result<RoomStatus> {
        if to != cur.state && !cur.state.allowed().contains(&to) {
            return Err(Error::RoomTransition { from: cur.state, to, allowed: cur.state.allowed().to_vec() });
        }
        let mut next = cur.clone();
        if to != cur.state {
            next.since = self.ctx.clock.now();
        }
        next.state = to;
        next.updated_by = caller.user_id();
        if !to.has_patient() {
            next.patient_id = None;
            next.appointment_id = None;
        }
        if matches!(to, RoomState::Free | RoomState::OutOfService) {
            next.staff_ids.clear();
        }
        Ok(next)
    }

    async fn set(&mut self, req: RoomStateRequest, caller: &Caller) -> Result<RoomStatus> {
        req.check()?;
        let cur = self.current()?;
        let mut next = self.moved(&cur, req.to, caller)?;
        if req.to.has_patient() {
            let from_appointment = match req.appointment_id {
                Some(a) => Some(
                    self.ctx
                        .store
                        .read()?
                        .get::<Appointment>(RecordTable::Appointments, a.as_u128())?
                        .ok_or_else(|| ValidationError::new("appointment_id", "names no appointment"))?,
                ),
                None => None,
            };
            if let Some(a) = &from_appointment
                && req.patient_id.is_some_and(|p| p != a.patient_id)
            {
                return Err(ValidationError::new("patient_id", "is not the appointment's patient").into());
            }
            let patient = req.patient_id.or(from_appointment.as_ref().map(|a| a.patient_id)).or(cur.patient_id);
            let Some(patient) = patient else {
                return Err(ValidationError::new("patient_id", "is needed when a patient comes into the room").into());
            };
            if req.patient_id.is_some()
                && self
                    .ctx
                    .store
                    .read()?
                    .get::<clowder_schemas::patients::Patient>(RecordTable::Patients, patient.as_u128())?
                    .is_none()
            {
                return Err(ValidationError::new("patient_id", "names no patient").into());
            }
            next.patient_id = Some(patient);
            next.appointment_id =
                req.appointment_id.or(if Some(patient) == cur.patient_id { cur.appointment_id } else { None });
        }
        if let Some(staff) = req.staff_ids {
            next.staff_ids = staff;
        }
        if next == cur {
            return Ok(cur);
        }
        self.save(next, caller).await
    }

    /// Moves the room along with an appointment's status; `None` when nothing changes (or the
    /// room is busy with someone else, which staff sort out on the board).
    async fn follow(&mut self, a: &Appointment, caller: &Caller) -> Result<Option<RoomStatus>> {
        let cur = self.current()?;
        let to = match (a.status, cur.state) {
            (Status::CheckedIn, RoomState::Free) => RoomState::PatientWaiting,
            (Status::InProgress, RoomState::Free | RoomState::PatientWaiting) => RoomState::InExam,
            (Status::Completed, RoomState::InExam) if cur.patient_id == Some(a.patient_id) => RoomState::NeedsCleaning,
            (Status::Cancelled | Status::NoShow, RoomState::PatientWaiting) if cur.patient_id == Some(a.patient_id) => {
                RoomState::Free
            }
            _ => return Ok(None),
        };
        if matches!(cur.state, RoomState::PatientWaiting) && cur.patient_id.is_some_and(|p| p != a.patient_id) {
            return Ok(None);
        }
        let mut next = self.moved(&cur, to, caller)?;
        if to.has_patient() {
            next.patient_id = Some(a.patient_id);
            next.appointment_id = Some(a.id);
            if let Some(v) = a.vet_id
                && to == RoomState::InExam
                && !next.staff_ids.contains(&v)
            {
                next.staff_ids.push(v);
            }
        }
        Ok(Some(self.save(next, caller).await?))
    }
}

impl Actor for RoomActor {
    type Msg = Msg;

    fn is_vacant(&self) -> bool {
        self.room.is_none()
    }

    async fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Set { req, caller, reply } => {
                let r = if self.room.is_none() {
                    Err(Error::RoomNotFound(RoomId::from_u128(0)))
                } else {
                    self.set(req, &caller).await
                };
                let _ = reply.send(r);
            }
            Msg::Follow { appointment, caller, reply } => {
                let r = if self.room.is_none() { Ok(None) } else { self.follow(&appointment, &caller).await };
                let _ = reply.send(r);
            }
        }
    }
}

pub(crate) struct RoomLoader {
    ctx: Arc<Ctx>,
    book: Arc<RwLock<Book>>,
}

impl KeyedFactory<RoomActor> for RoomLoader {
    async fn build(&self, key: u128) -> Result<RoomActor> {
        let room = self.book.read().unwrap_or_else(|p| p.into_inner()).rooms.get(&RoomId::from_u128(key)).cloned();
        let status = self.ctx.store.read()?.get::<RoomStatus>(RecordTable::RoomStates, key)?;
        Ok(RoomActor { ctx: self.ctx.clone(), room, status })
    }
}

/// The exam-room service.
#[derive(Clone)]
pub struct Whiteboard {
    ctx: Arc<Ctx>,
    book: Arc<RwLock<Book>>,
    reg: Arc<Registry<RoomActor, RoomLoader>>,
}

impl Whiteboard {
    pub(crate) fn new(ctx: Arc<Ctx>, book: Arc<RwLock<Book>>) -> Self {
        let metrics = ctx.metrics.for_kind("room");
        let reg = Registry::new(RoomLoader { ctx: ctx.clone(), book: book.clone() }, ctx.config.actors, metrics);
        Self { ctx, book, reg: Arc::new(reg) }
    }

    pub(crate) fn stop_all(&self) {
        self.reg.stop_all();
    }

    /// Moves a room on the whiteboard.
    pub async fn set(&self, room: RoomId, req: RoomStateRequest, caller: &Caller) -> Result<RoomStatus> {
        if !self.book.read().unwrap_or_else(|p| p.into_inner()).rooms.contains_key(&room) {
            return Err(Error::RoomNotFound(room));
        }
        let caller = caller.clone();
        self.reg
            .ask(room.as_u128(), |reply| Msg::Set { req, caller, reply })
            .await
            .map_err(|e| Error::from_ask("room", e))?
            .map_err(|e| match e {
                Error::RoomNotFound(_) => Error::RoomNotFound(room),
                e => e,
            })
    }

    /// Moves an appointment's room along with its new status (see the module doc).
    pub async fn follow(&self, a: &Appointment, caller: &Caller) -> Result<Option<RoomStatus>> {
        let Some(room) = a.room_id else { return Ok(None) };
        let (appointment, caller) = (Box::new(a.clone()), caller.clone());
        self.reg
            .ask(room.as_u128(), |reply| Msg::Follow { appointment, caller, reply })
            .await
            .map_err(|e| Error::from_ask("room", e))?
    }

    /// Every active room of a location (or of all) with its place on the whiteboard.
    pub fn board(&self, location: Option<LocationId>) -> Result<Vec<BoardRoom>> {
        let rooms: Vec<Room> = {
            let book = self.book.read().unwrap_or_else(|p| p.into_inner());
            let mut v: Vec<Room> = book
                .rooms
                .values()
                .filter(|r| r.active && location.is_none_or(|l| r.location_id == l))
                .cloned()
                .collect();
            v.sort_by_key(|r| (r.location_id, r.name.to_lowercase()));
            v
        };
        let r = self.ctx.store.read()?;
        let mut out = Vec::with_capacity(rooms.len());
        for room in rooms {
            let status =
                r.get::<RoomStatus>(RecordTable::RoomStates, room.id.as_u128())?.unwrap_or_else(|| fresh(&room));
            out.push(BoardRoom { room, status });
        }
        Ok(out)
    }
}
