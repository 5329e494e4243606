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

/// Longer than any interval an appointment can hold (at most 12 hours plus a 4-hour buffer,
/// see `check_times` and the type's buffer limit), so a search from `start - MAX_SPAN` finds
/// every held interval that reaches `start`.
const MAX_SPAN: SignedDuration = SignedDuration::from_hours(17);

/// Longer than any shift (under 24 local hours, so at most 25 real hours across a fall-back
/// night).
const MAX_SHIFT: SignedDuration = SignedDuration::from_hours(26);

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
    if until <= start {
        return None;
    }
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

    /// The location a request means when it names none: the only active one.
    pub fn only_location(&self, field: &str) -> Result<LocationId, clowder_schemas::ValidationError> {
        let mut active = self.locations.values().filter(|(l, _)| l.active);
        match (active.next(), active.next()) {
            (Some((l, _)), None) => Ok(l.id),
            (None, _) => Err(clowder_schemas::ValidationError::new(field, "no location is set up yet")),
            _ => Err(clowder_schemas::ValidationError::new(field, "is required: the clinic has several locations")),
        }
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
        let lo = from.saturating_sub(MAX_SHIFT).unwrap_or(from);
        let to = to.max(lo);
        self.shifts
            .get(&staff)
            .into_iter()
            .flat_map(move |m| m.range((lo, ShiftId::from_u128(0))..(to, ShiftId::from_u128(0))))
            .map(|(_, s)| s)
            .filter(move |s| s.ends_at > from)
    }

    /// Whether any live shift at `location` ends after `now`.
    pub fn has_shifts_after(&self, location: LocationId, now: Timestamp) -> bool {
        self.shifts
            .values()
            .flat_map(|m| m.values())
            .any(|s| !s.cancelled && s.location_id == location && s.ends_at > now)
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

    /// Holds `new` (the moved state of an appointment already in the book) on its vet, room and
    /// patient *in addition to* its current state, while the move commits: the old time stays
    /// taken until the commit succeeds, so a failed commit can put the appointment back
    /// without clashing with anything booked meanwhile. Finish with [`Book::put`] (success)
    /// or [`Book::unhold`] (failure).
    pub fn hold(&mut self, new: &Slot) {
        if !new.status.holds_slot() {
            return;
        }
        let key = (new.start, new.id);
        if let Some(v) = new.vet_id {
            self.vets.entry(v).or_default().insert(key, new.until);
        }
        if let Some(r) = new.room_id {
            self.rooms_held.entry(r).or_default().insert(key, new.until);
        }
        self.patients.entry(new.patient_id).or_default().insert(key, new.until);
    }

    /// Drops a [`Book::hold`] whose commit failed, leaving the appointment's current state as
    /// it was (a hold entry that coincides with a current one is left alone).
    pub fn unhold(&mut self, new: &Slot) {
        let Some(cur) = self.slots.get(&new.id).copied() else { return };
        let key = (new.start, new.id);
        let same_key = new.start == cur.start && cur.status.holds_slot();
        let keep = |mine: Option<u128>, theirs: Option<u128>| same_key && mine == theirs;
        if let Some(v) = new.vet_id
            && !keep(Some(v.as_u128()), cur.vet_id.map(|x| x.as_u128()))
            && let Some(m) = self.vets.get_mut(&v)
        {
            m.remove(&key);
        }
        if let Some(r) = new.room_id
            && !keep(Some(r.as_u128()), cur.room_id.map(|x| x.as_u128()))
            && let Some(m) = self.rooms_held.get_mut(&r)
        {
            m.remove(&key);
        }
        if !keep(Some(new.patient_id.as_u128()), Some(cur.patient_id.as_u128()))
            && let Some(m) = self.patients.get_mut(&new.patient_id)
        {
            m.remove(&key);
        }
        // A coinciding entry may have been overwritten with the new end: restore the current one.
        if same_key {
            let cur_key = (cur.start, cur.id);
            if let Some(v) = cur.vet_id {
                self.vets.entry(v).or_default().insert(cur_key, cur.until);
            }
            if let Some(r) = cur.room_id {
                self.rooms_held.entry(r).or_default().insert(cur_key, cur.until);
            }
            self.patients.entry(cur.patient_id).or_default().insert(cur_key, cur.until);
        }
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

    /// Appointments starting in `[from, to)`, by start (none when `to <= from`).
    pub fn starting_between(&self, from: Timestamp, to: Timestamp) -> impl Iterator<Item = &Slot> {
        let to = to.max(from);
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

    /// Whether the patient holds an appointment (not cancelled) starting before `before`:
    /// false marks a first visit on the day view.
    pub fn patient_seen_before(&self, patient: PatientId, before: Timestamp) -> bool {
        self.patients.get(&patient).is_some_and(|h| h.range(..(before, AppointmentId::from_u128(0))).next().is_some())
    }

    pub fn appointment_count(&self) -> usize {
        self.slots.len()
    }
}

fn held_between(held: Option<&Held>, from: Timestamp, to: Timestamp) -> Vec<(Timestamp, Timestamp)> {
    let Some(h) = held else { return Vec::new() };
    if to <= from {
        return Vec::new();
    }
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

    #[test]
    fn the_longest_booking_with_the_longest_buffer_is_still_seen() {
        // 12 hours plus a 240-minute buffer, the most `check_times` and a type allow.
        let mut b = Book::default();
        b.put(slot(1, 1, 1, 1, 0, 720, 240));
        let n = Slot { start: ts(959), ..slot(2, 1, 2, 2, 959, 990, 0) };
        assert_eq!(b.clash(&n).map(|c| c.other.id), Some(AppointmentId::from_u128(1)));
    }

    #[test]
    fn a_failed_move_never_clashes_with_a_booking_made_while_it_committed() {
        let mut b = Book::default();
        let x = slot(1, 1, 1, 1, 0, 30, 0);
        b.put(x);
        // Location A moves X to t=240: both times are held while the commit runs.
        let moved = Slot { start: ts(240), end: ts(270), until: ts(270), ..x };
        assert!(b.clash(&moved).is_none());
        b.hold(&moved);
        // Meanwhile location B tries vet 1 at both times: refused at both.
        let y0 = Slot { location_id: LocationId::from_u128(2), ..slot(2, 1, 9, 2, 0, 30, 0) };
        let y1 = Slot { start: ts(240), end: ts(270), until: ts(270), ..y0 };
        assert!(b.clash(&y0).is_some() && b.clash(&y1).is_some());
        // A's commit fails: X is back where it was and the new time is free again.
        b.unhold(&moved);
        assert_eq!(b.slot(x.id), Some(&x));
        assert!(b.clash(&y0).is_some() && b.clash(&y1).is_none());
        // Or it succeeds: only the new time is held.
        b.hold(&moved);
        b.put(moved);
        assert!(b.clash(&y0).is_none() && b.clash(&y1).is_some());
    }

    #[test]
    fn a_failed_move_of_only_the_room_keeps_the_vet_held() {
        let mut b = Book::default();
        let x = slot(1, 1, 1, 1, 0, 30, 0);
        b.put(x);
        let other_room = Slot { room_id: Some(RoomId::from_u128(2)), ..x };
        b.hold(&other_room);
        b.unhold(&other_room);
        let rival = slot(2, 1, 3, 2, 0, 30, 0);
        assert_eq!(b.clash(&rival).map(|c| c.resource), Some(Resource::Vet), "the vet is still held");
        let in_room_two = slot(3, 2, 2, 3, 0, 30, 0);
        assert_eq!(b.clash(&in_room_two), None, "room 2 is free again");
    }

    #[test]
    fn empty_or_reversed_ranges_find_nothing_and_never_panic() {
        let mut b = Book::default();
        b.put(slot(1, 1, 1, 1, 600, 630, 0));
        assert_eq!(b.starting_between(ts(600), ts(0)).count(), 0);
        assert!(b.vet_held(StaffId::from_u128(1), ts(700), ts(0)).is_empty());
        assert_eq!(b.shifts_of(StaffId::from_u128(1), ts(9000), ts(0)).count(), 0);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Book { vet: u128, room: u128, patient: u128, start: i64, len: i64, buffer: i64 },
        Move { pick: usize, start: i64, vet: u128 },
        Cancel { pick: usize },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (
                1..4u128,
                1..4u128,
                1..6u128,
                0..1500i64,
                5..720i64,
                prop_oneof![Just(0i64), Just(15), Just(30), Just(240)]
            )
                .prop_map(|(vet, room, patient, start, len, buffer)| Op::Book {
                    vet,
                    room,
                    patient,
                    start,
                    len,
                    buffer
                }),
            (0..50usize, 0..1500i64, 1..4u128).prop_map(|(pick, start, vet)| Op::Move { pick, start, vet }),
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
