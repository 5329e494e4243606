//! The in-memory schedule: every location, room, staff profile, shift, approved time off and
//! a compact summary of every appointment, loaded from the store at start and kept current
//! by the services after each commit.
//!
//! Conflicts are answered here. Each vet, room and patient has an ordered map of the
//! intervals it is held for (`[start, end + buffer)`, cancelled appointments excluded); a
//! booking is refused when its own interval overlaps one of them. The maps are searched from
//! `start - MAX_SPAN`, so a check costs O(log n) whatever the history.

use std::collections::{BTreeMap, HashMap};

use clowder_schemas::appointments::{Appointment, Status};
use clowder_schemas::locations::{Location, Room};
use clowder_schemas::staff::{Shift, StaffProfile, TimeOff};
use clowder_schemas::{AppointmentId, AppointmentTypeId, ClientId, LocationId, PatientId, RoomId, ShiftId, StaffId};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// The longest interval an appointment can hold: 12 hours plus a 4-hour buffer.
const MAX_SPAN: SignedDuration = SignedDuration::from_hours(16);

/// What the schedule keeps of an appointment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub id: AppointmentId,
    pub location_id: LocationId,
    pub client_id: ClientId,
    pub patient_id: PatientId,
    pub type_id: AppointmentTypeId,
    pub vet_id: Option<StaffId>,
    pub room_id: Option<RoomId>,
    pub start: Timestamp,
    pub end: Timestamp,
    /// `end` plus the buffer.
    pub until: Timestamp,
    pub status: Status,
}

impl Slot {
    pub fn of(a: &Appointment) -> Slot {
        Slot {
            id: a.id,
            location_id: a.location_id,
            client_id: a.client_id,
            patient_id: a.patient_id,
            type_id: a.type_id,
            vet_id: a.vet_id,
            room_id: a.room_id,
            start: a.start,
            end: a.end,
            until: a.blocked_until(),
            status: a.status,
        }
    }
}

/// Which resource two appointments both need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Vet,
    Room,
    Patient,
}

impl Resource {
    pub fn field(self) -> &'static str {
        match self {
            Resource::Vet => "vet_id",
            Resource::Room => "room_id",
            Resource::Patient => "patient_id",
        }
    }
}

/// The first appointment in the way of a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clash {
    pub resource: Resource,
    pub other: Slot,
}

type Held = BTreeMap<(Timestamp, AppointmentId), Timestamp>;

fn overlapping(held: Option<&Held>, start: Timestamp, until: Timestamp, skip: AppointmentId) -> Option<AppointmentId> {
    let held = held?;
    let from = start.saturating_sub(MAX_SPAN).unwrap_or(start);
    held.range((from, AppointmentId::from_u128(0))..(until, AppointmentId::from_u128(0)))
        .find(|((_, id), end)| **end > start && *id != skip)
        .map(|((_, id), _)| *id)
}

/// Everything the calendar needs in memory.
#[derive(Default)]
pub struct Book {
    pub locations: HashMap<LocationId, (Location, TimeZone)>,
    pub rooms: HashMap<RoomId, Room>,
    pub staff: HashMap<StaffId, StaffProfile>,
    /// Every shift (cancelled ones too, for the rota), per person, by start.
    shifts: HashMap<StaffId, BTreeMap<(Timestamp, ShiftId), Shift>>,
    /// Approved time off, per person.
    time_off: HashMap<StaffId, Vec<TimeOff>>,
    slots: HashMap<AppointmentId, Slot>,
    /// Every appointment (cancelled too) by start, for listings.
    by_start: BTreeMap<(Timestamp, AppointmentId), ()>,
    vets: HashMap<StaffId, Held>,
    rooms_held: HashMap<RoomId, Held>,
    patients: HashMap<PatientId, Held>,
}

impl Book {
    pub fn location(&self, id: LocationId) -> Option<&(Location, TimeZone)> {
        self.locations.get(&id)
    }

    pub fn put_location(&mut self, l: Location, tz: TimeZone) {
        self.locations.insert(l.id, (l, tz));
    }

    pub fn put_room(&mut self, r: Room) {
        self.rooms.insert(r.id, r);
    }

    pub fn put_staff(&mut self, s: StaffProfile) {
        self.staff.insert(s.id, s);
    }

    /// Adds or replaces a shift (its old position removed first).
    pub fn put_shift(&mut self, s: Shift) {
        let per = self.shifts.entry(s.staff_id).or_default();
        per.retain(|(_, id), _| *id != s.id);
        per.insert((s.starts_at, s.id), s);
    }

    /// Someone's shifts overlapping `[from, to)`, cancelled ones included.
    pub fn shifts_of(&self, staff: StaffId, from: Timestamp, to: Timestamp) -> impl Iterator<Item = &Shift> {
        // A shift lasts less than 24 hours, so it starts at most a day before `from`.
        let lo = from.saturating_sub(SignedDuration::from_hours(24)).unwrap_or(from);
        self.shifts
            .get(&staff)
            .into_iter()
            .flat_map(move |m| m.range((lo, ShiftId::from_u128(0))..(to, ShiftId::from_u128(0))))
            .map(|(_, s)| s)
            .filter(move |s| s.ends_at > from)
    }

    /// The first live shift of this person overlapping `[from, to)`, other than `skip`.
    pub fn shift_overlap(&self, staff: StaffId, from: Timestamp, to: Timestamp, skip: ShiftId) -> Option<&Shift> {
        self.shifts_of(staff, from, to).find(|s| !s.cancelled && s.id != skip)
    }

    /// Adds, replaces or (when no longer approved) drops a time-off entry.
    pub fn put_time_off(&mut self, t: TimeOff) {
        let per = self.time_off.entry(t.staff_id).or_default();
        per.retain(|x| x.id != t.id);
        if t.status == clowder_schemas::staff::TimeOffStatus::Approved {
            per.push(t);
        }
    }

    /// Approved time off of this person.
    pub fn time_off_of(&self, staff: StaffId) -> &[TimeOff] {
        self.time_off.get(&staff).map_or(&[], |v| v.as_slice())
    }

    pub fn slot(&self, id: AppointmentId) -> Option<&Slot> {
        self.slots.get(&id)
    }

    /// The first appointment that `s` would overlap (itself excluded).
    pub fn clash(&self, s: &Slot) -> Option<Clash> {
        if !s.status.holds_slot() {
            return None;
        }
        let found = |resource, id| Some(Clash { resource, other: self.slots[&id] });
        if let Some(v) = s.vet_id
            && let Some(id) = overlapping(self.vets.get(&v), s.start, s.until, s.id)
        {
            return found(Resource::Vet, id);
        }
        if let Some(r) = s.room_id
            && let Some(id) = overlapping(self.rooms_held.get(&r), s.start, s.until, s.id)
        {
            return found(Resource::Room, id);
        }
        if let Some(id) = overlapping(self.patients.get(&s.patient_id), s.start, s.until, s.id) {
            return found(Resource::Patient, id);
        }
        None
    }

    /// Puts an appointment in (replacing its previous state); returns the previous state.
    pub fn put(&mut self, s: Slot) -> Option<Slot> {
        let old = self.remove(s.id);
        self.by_start.insert((s.start, s.id), ());
        if s.status.holds_slot() {
            let key = (s.start, s.id);
            if let Some(v) = s.vet_id {
                self.vets.entry(v).or_default().insert(key, s.until);
            }
            if let Some(r) = s.room_id {
                self.rooms_held.entry(r).or_default().insert(key, s.until);
            }
            self.patients.entry(s.patient_id).or_default().insert(key, s.until);
        }
        self.slots.insert(s.id, s);
        old
    }

    /// Takes an appointment out entirely (used to undo a reservation whose commit failed).
    pub fn remove(&mut self, id: AppointmentId) -> Option<Slot> {
        let s = self.slots.remove(&id)?;
        let key = (s.start, s.id);
        self.by_start.remove(&key);
        if let Some(v) = s.vet_id
            && let Some(m) = self.vets.get_mut(&v)
        {
            m.remove(&key);
        }
        if let Some(r) = s.room_id
            && let Some(m) = self.rooms_held.get_mut(&r)
        {
            m.remove(&key);
        }
        if let Some(m) = self.patients.get_mut(&s.patient_id) {
            m.remove(&key);
        }
        Some(s)
    }

    /// Appointments starting in `[from, to)`, by start.
    pub fn starting_between(&self, from: Timestamp, to: Timestamp) -> impl Iterator<Item = &Slot> {
        self.by_start
            .range((from, AppointmentId::from_u128(0))..(to, AppointmentId::from_u128(0)))
            .map(|((_, id), _)| &self.slots[id])
    }

    /// Every appointment, by start (for filters without a time range).
    pub fn all(&self) -> impl DoubleEndedIterator<Item = &Slot> {
        self.by_start.keys().map(|(_, id)| &self.slots[id])
    }

    /// The intervals a vet is held for, overlapping `[from, to)`.
    pub fn vet_held(&self, vet: StaffId, from: Timestamp, to: Timestamp) -> Vec<(Timestamp, Timestamp)> {
        held_between(self.vets.get(&vet), from, to)
    }

    /// The intervals a room is held for, overlapping `[from, to)`.
    pub fn room_held(&self, room: RoomId, from: Timestamp, to: Timestamp) -> Vec<(Timestamp, Timestamp)> {
        held_between(self.rooms_held.get(&room), from, to)
    }

    pub fn appointment_count(&self) -> usize {
        self.slots.len()
    }
}

fn held_between(held: Option<&Held>, from: Timestamp, to: Timestamp) -> Vec<(Timestamp, Timestamp)> {
    let Some(h) = held else { return Vec::new() };
    let lo = from.saturating_sub(MAX_SPAN).unwrap_or(from);
    h.range((lo, AppointmentId::from_u128(0))..(to, AppointmentId::from_u128(0)))
        .filter(|(_, until)| **until > from)
        .map(|((s, _), until)| (*s, *until))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ts(min: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + min * 60).unwrap()
    }

    fn slot(id: u128, vet: u128, room: u128, patient: u128, start: i64, end: i64, buffer: i64) -> Slot {
        Slot {
            id: AppointmentId::from_u128(id),
            location_id: LocationId::from_u128(1),
            client_id: ClientId::from_u128(1),
            patient_id: PatientId::from_u128(patient),
            type_id: AppointmentTypeId::from_u128(1),
            vet_id: Some(StaffId::from_u128(vet)),
            room_id: Some(RoomId::from_u128(room)),
            start: ts(start),
            end: ts(end),
            until: ts(end + buffer),
            status: Status::Scheduled,
        }
    }

    #[test]
    fn a_clash_names_the_resource_and_the_other_appointment() {
        let mut b = Book::default();
        b.put(slot(1, 1, 1, 1, 0, 30, 0));
        let c = b.clash(&slot(2, 1, 2, 2, 15, 45, 0)).unwrap();
        assert_eq!((c.resource, c.other.id), (Resource::Vet, AppointmentId::from_u128(1)));
        assert_eq!(b.clash(&slot(2, 2, 1, 2, 29, 45, 0)).unwrap().resource, Resource::Room);
        assert_eq!(b.clash(&slot(2, 2, 2, 1, 0, 5, 0)).unwrap().resource, Resource::Patient);
        assert_eq!(b.clash(&slot(2, 1, 1, 1, 30, 60, 0)), None, "back to back is fine");
        assert_eq!(b.clash(&slot(1, 1, 1, 1, 10, 40, 0)), None, "an appointment does not clash with itself");
    }

    #[test]
    fn the_buffer_after_an_appointment_is_held_too() {
        let mut b = Book::default();
        b.put(slot(1, 1, 1, 1, 0, 90, 30));
        assert!(b.clash(&slot(2, 1, 2, 2, 100, 130, 0)).is_some(), "inside the 30-minute buffer");
        assert!(b.clash(&slot(2, 1, 2, 2, 120, 150, 0)).is_none());
        // The new booking's own buffer counts as well.
        assert!(b.clash(&slot(3, 1, 2, 2, -45, -10, 15)).is_some());
    }

    #[test]
    fn cancelling_frees_the_slot() {
        let mut b = Book::default();
        b.put(slot(1, 1, 1, 1, 0, 30, 0));
        b.put(Slot { status: Status::Cancelled, ..slot(1, 1, 1, 1, 0, 30, 0) });
        assert_eq!(b.clash(&slot(2, 1, 1, 1, 0, 30, 0)), None);
        assert_eq!(b.starting_between(ts(-1), ts(1)).count(), 1, "still listed");
    }

    #[derive(Debug, Clone)]
    enum Op {
        Book { vet: u128, room: u128, patient: u128, start: i64, len: i64, buffer: i64 },
        Move { pick: usize, start: i64, vet: u128 },
        Cancel { pick: usize },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (1..4u128, 1..4u128, 1..6u128, 0..600i64, 5..120i64, prop_oneof![Just(0i64), Just(15), Just(30)]).prop_map(
                |(vet, room, patient, start, len, buffer)| Op::Book { vet, room, patient, start, len, buffer }
            ),
            (0..50usize, 0..600i64, 1..4u128).prop_map(|(pick, start, vet)| Op::Move { pick, start, vet }),
            (0..50usize).prop_map(|pick| Op::Cancel { pick }),
        ]
    }

    proptest! {
        /// Random book / reschedule / cancel sequences, each applied only when `clash` allows
        /// it (as the calendar does): no two live appointments ever share a vet, room or
        /// patient at the same time.
        #[test]
        fn no_sequence_of_bookings_produces_an_overlap(ops in proptest::collection::vec(op(), 1..120)) {
            let mut b = Book::default();
            let mut next = 1u128;
            let mut ids: Vec<AppointmentId> = Vec::new();
            for o in ops {
                match o {
                    Op::Book { vet, room, patient, start, len, buffer } => {
                        let s = slot(next, vet, room, patient, start, start + len, buffer);
                        if b.clash(&s).is_none() {
                            b.put(s);
                            ids.push(s.id);
                        }
                        next += 1;
                    }
                    Op::Move { pick, start, vet } if !ids.is_empty() => {
                        let cur = *b.slot(ids[pick % ids.len()]).unwrap();
                        let len = cur.end.duration_since(cur.start);
                        let buf = cur.until.duration_since(cur.end);
                        let st = ts(start);
                        let moved = Slot { start: st, end: st + len, until: st + len + buf, vet_id: Some(StaffId::from_u128(vet)), ..cur };
                        if b.clash(&moved).is_none() {
                            b.put(moved);
                        }
                    }
                    Op::Cancel { pick } if !ids.is_empty() => {
                        let cur = *b.slot(ids[pick % ids.len()]).unwrap();
                        b.put(Slot { status: Status::Cancelled, ..cur });
                    }
                    _ => {}
                }
            }
            let live: Vec<Slot> = b.all().copied().filter(|s| s.status.holds_slot()).collect();
            for (i, x) in live.iter().enumerate() {
                for y in &live[i + 1..] {
                    let overlap = x.start < y.until && y.start < x.until;
                    let shared = x.vet_id == y.vet_id || x.room_id == y.room_id || x.patient_id == y.patient_id;
                    prop_assert!(!(overlap && shared), "{x:?} overlaps {y:?}");
                }
            }
        }
    }
}
