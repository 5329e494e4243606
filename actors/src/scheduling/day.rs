//! The day view (`GET /api/calendar`) as the front desk reads it: each vet, room, cat,
//! client and type once, and the day's appointments referring to them by id.
//!
//! It is read many times a minute by every front-desk screen, so it is built to be cheap:
//! the columns and the day's list come from the in-memory book (under its read lock, which is
//! released before any store read), each cat, client and type is read from the store once
//! however many appointments it has, and records are decoded into projections that keep only
//! the fields the view shows (the rest of the MessagePack map is skipped, not allocated).
//! The Today board's fuller day (whole appointments, for live updates) stays in
//! `calendar.rs`. Nothing here decides or writes.

use std::collections::BTreeMap;

use clowder_schemas::appointment_types::{AppointmentType, DEFAULT_COLOR};
use clowder_schemas::appointments::{
    Appointment, DayAppointment, DayClient, DayPatient, DayRoom, DayType, DayVet, Status,
};
use clowder_schemas::clients::Client;
use clowder_schemas::patients::Patient;
use clowder_schemas::records::Record;
use clowder_schemas::{AppointmentTypeId, ClientId, LocationId, PatientId, RoomId, StaffId};
use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize};

use super::book::{Book, Slot};
use crate::error::Result;
use crate::store::{Reader, RecordTable};

/// The vet and room columns of a location's day `[from, to)`, each by name: every
/// veterinarian on shift there, every active room there, and anyone or any room booked in
/// `slots`.
pub(super) fn columns(
    book: &Book,
    location: LocationId,
    from: Timestamp,
    to: Timestamp,
    slots: &[Slot],
) -> (Vec<DayVet>, Vec<DayRoom>) {
    let mut vet_ids: Vec<StaffId> = book
        .staff
        .values()
        .filter(|s| s.position == clowder_schemas::staff::Position::Veterinarian)
        .filter(|s| book.shifts_of(s.id, from, to).any(|x| !x.cancelled && x.location_id == location))
        .map(|s| s.id)
        .collect();
    vet_ids.extend(slots.iter().filter_map(|s| s.vet_id));
    vet_ids.sort_unstable();
    vet_ids.dedup();
    let mut room_ids: Vec<RoomId> =
        book.rooms.values().filter(|r| r.location_id == location && r.active).map(|r| r.id).collect();
    room_ids.extend(slots.iter().filter_map(|s| s.room_id));
    room_ids.sort_unstable();
    room_ids.dedup();
    let mut vets: Vec<DayVet> = vet_ids
        .into_iter()
        .map(|id| DayVet { id, name: book.staff.get(&id).map(|s| s.display_name()).unwrap_or_default() })
        .collect();
    vets.sort_by(|a, b| a.name.cmp(&b.name));
    let mut rooms: Vec<DayRoom> = room_ids
        .into_iter()
        .map(|id| DayRoom { id, name: book.rooms.get(&id).map(|r| r.name.clone()).unwrap_or_default() })
        .collect();
    rooms.sort_by(|a, b| a.name.cmp(&b.name));
    (vets, rooms)
}

/// What the view lists of the day, taken from the book under its lock.
pub(super) struct Listed {
    pub slots: Vec<Slot>,
    /// Per slot: the cat has no earlier appointment (not cancelled).
    pub first_visit: Vec<bool>,
}

impl Listed {
    pub(super) fn of(book: &Book, slots: Vec<Slot>) -> Listed {
        let first_visit = slots.iter().map(|s| !book.patient_seen_before(s.patient_id, s.start)).collect();
        Listed { slots, first_visit }
    }
}

/// The appointments, cats, clients and types of the day view, read from one snapshot.
#[derive(Default)]
pub(super) struct Parts {
    pub appointments: Vec<DayAppointment>,
    pub patients: BTreeMap<PatientId, DayPatient>,
    pub clients: BTreeMap<ClientId, DayClient>,
    pub types: BTreeMap<AppointmentTypeId, DayType>,
}

/// Reads what the listed slots need. A slot whose appointment is not in the snapshot is a
/// booking still committing (the book reserves before the commit): it is left out, as a
/// read of the stored appointment would.
pub(super) fn parts(r: &Reader, listed: Listed) -> Result<Parts> {
    let mut out = Parts { appointments: Vec::with_capacity(listed.slots.len()), ..Parts::default() };
    for (s, first_visit) in listed.slots.iter().zip(listed.first_visit) {
        let Some(a) = r.get::<AppointmentLine>(RecordTable::Appointments, s.id.as_u128())? else { continue };
        if let std::collections::btree_map::Entry::Vacant(e) = out.patients.entry(a.patient_id) {
            let name = r.get::<PatientName>(RecordTable::Patients, a.patient_id.as_u128())?.map(|p| p.name);
            e.insert(DayPatient { name: name.unwrap_or_default() });
        }
        if let std::collections::btree_map::Entry::Vacant(e) = out.clients.entry(a.client_id) {
            let c = r.get::<ClientName>(RecordTable::Clients, a.client_id.as_u128())?;
            e.insert(DayClient { name: c.map(|c| format!("{} {}", c.first_name, c.last_name)).unwrap_or_default() });
        }
        if let std::collections::btree_map::Entry::Vacant(e) = out.types.entry(a.type_id) {
            let t = r.get::<TypeLook>(RecordTable::AppointmentTypes, a.type_id.as_u128())?;
            e.insert(match t {
                Some(t) => DayType { name: t.name, color: t.color },
                None => DayType { name: String::new(), color: DEFAULT_COLOR.into() },
            });
        }
        out.appointments.push(DayAppointment {
            id: s.id,
            start: a.start,
            end: a.end,
            status: a.status,
            type_id: a.type_id,
            patient_id: a.patient_id,
            client_id: a.client_id,
            vet_id: a.vet_id,
            room_id: a.room_id,
            reason: a.reason,
            has_notes: a.has_notes,
            first_visit,
            overbooked: a.overbooked,
            checked_in_at: a.times.checked_in_at,
        });
    }
    Ok(out)
}

// Projections: the stored records, decoded with only the fields the view shows. Each has its
// record's kind and version (so an older stored version goes through the same upcast path)
// and is only ever read: their `Serialize` exists because `Record` asks for it, and nothing
// writes one.

/// The part of an [`Appointment`] a day-view line shows.
#[derive(Serialize, Deserialize)]
struct AppointmentLine {
    client_id: ClientId,
    patient_id: PatientId,
    type_id: AppointmentTypeId,
    vet_id: Option<StaffId>,
    room_id: Option<RoomId>,
    start: Timestamp,
    end: Timestamp,
    reason: Option<String>,
    /// Whether `notes` holds text (the text itself is skipped, not copied).
    #[serde(rename = "notes", deserialize_with = "present", skip_serializing)]
    has_notes: bool,
    status: Status,
    times: CheckIn,
    #[serde(default)]
    overbooked: bool,
}

#[derive(Serialize, Deserialize)]
struct CheckIn {
    checked_in_at: Option<Timestamp>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    Ok(Option::<serde::de::IgnoredAny>::deserialize(d)?.is_some())
}

impl Record for AppointmentLine {
    const KIND: &'static str = Appointment::KIND;
    const VERSION: u16 = Appointment::VERSION;
}

/// A [`Patient`]'s name.
#[derive(Serialize, Deserialize)]
struct PatientName {
    name: String,
}

impl Record for PatientName {
    const KIND: &'static str = Patient::KIND;
    const VERSION: u16 = Patient::VERSION;
}

/// A [`Client`]'s name.
#[derive(Serialize, Deserialize)]
struct ClientName {
    first_name: String,
    last_name: String,
}

impl Record for ClientName {
    const KIND: &'static str = Client::KIND;
    const VERSION: u16 = Client::VERSION;
}

/// An [`AppointmentType`]'s name and colour.
#[derive(Serialize, Deserialize)]
struct TypeLook {
    name: String,
    color: String,
}

impl Record for TypeLook {
    const KIND: &'static str = AppointmentType::KIND;
    const VERSION: u16 = AppointmentType::VERSION;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::codec::{decode, encode};
    use clowder_schemas::appointments::{Source, StatusChange, StatusTimes};
    use clowder_schemas::{AppointmentId, LocationId};

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn appointment(notes: Option<&str>) -> Appointment {
        Appointment {
            id: AppointmentId::from_u128(1),
            location_id: LocationId::from_u128(2),
            client_id: ClientId::from_u128(3),
            patient_id: PatientId::from_u128(4),
            type_id: AppointmentTypeId::from_u128(5),
            vet_id: Some(StaffId::from_u128(6)),
            room_id: None,
            start: at("2026-12-01T13:00:00Z"),
            end: at("2026-12-01T13:30:00Z"),
            buffer_after_minutes: 5,
            reason: Some("annual check-up".into()),
            notes: notes.map(Into::into),
            status: Status::CheckedIn,
            times: StatusTimes { checked_in_at: Some(at("2026-12-01T12:55:00Z")), ..StatusTimes::default() },
            history: vec![StatusChange {
                from: Status::Scheduled,
                to: Status::CheckedIn,
                at: at("2026-12-01T12:55:00Z"),
                by: None,
                reason: None,
            }],
            cancelled_by: None,
            cancel_reason: None,
            source: Source::Staff,
            overbooked: true,
            sequence: 0,
            created_by: None,
            created_at: at("2026-11-01T10:00:00Z"),
            updated_at: at("2026-12-01T12:55:00Z"),
        }
    }

    /// The projections read the stored records' own field names: a renamed field fails here,
    /// not silently on the day view.
    #[test]
    fn projections_read_what_the_full_records_wrote() {
        let line: AppointmentLine = decode(&encode(&appointment(Some("call back"))).unwrap()).unwrap();
        assert_eq!(
            (line.client_id, line.patient_id, line.type_id),
            (ClientId::from_u128(3), PatientId::from_u128(4), AppointmentTypeId::from_u128(5))
        );
        assert_eq!((line.vet_id, line.room_id), (Some(StaffId::from_u128(6)), None));
        assert_eq!((line.start, line.end), (at("2026-12-01T13:00:00Z"), at("2026-12-01T13:30:00Z")));
        assert_eq!(line.reason.as_deref(), Some("annual check-up"));
        assert!(line.has_notes && line.overbooked);
        assert_eq!((line.status, line.times.checked_in_at), (Status::CheckedIn, Some(at("2026-12-01T12:55:00Z"))));
        let without: AppointmentLine = decode(&encode(&appointment(None)).unwrap()).unwrap();
        assert!(!without.has_notes);

        let cat: Patient = serde_json::from_value(serde_json::json!({
            "id": PatientId::from_u128(4), "client_id": ClientId::from_u128(3), "name": "Mittens", "breed": null,
            "color": null, "sex": null, "reproductive_status": null, "date_of_birth": null, "microchip": null,
            "allergies": [], "behavior_notes": null, "status": "active", "deceased_on": null,
            "created_at": "2026-11-01T10:00:00Z", "updated_at": "2026-11-01T10:00:00Z", "created_by": null
        }))
        .unwrap();
        assert_eq!(decode::<PatientName>(&encode(&cat).unwrap()).unwrap().name, "Mittens");
        let client: Client = serde_json::from_value(serde_json::json!({
            "id": ClientId::from_u128(3), "first_name": "Jon", "last_name": "Smith", "email": null,
            "phone": "+15035550100", "phone_secondary": null, "address": null, "preferred_contact": "phone",
            "alerts": [], "notes": null, "active": true, "created_at": "2026-11-01T10:00:00Z",
            "updated_at": "2026-11-01T10:00:00Z", "created_by": null
        }))
        .unwrap();
        let name = decode::<ClientName>(&encode(&client).unwrap()).unwrap();
        assert_eq!((name.first_name.as_str(), name.last_name.as_str()), ("Jon", "Smith"));
        let ty = clowder_schemas::appointment_types::default_appointment_types()[0]
            .validate(AppointmentTypeId::from_u128(5), at("2026-11-01T10:00:00Z"))
            .unwrap();
        let look = decode::<TypeLook>(&encode(&ty).unwrap()).unwrap();
        assert_eq!((look.name, look.color), (ty.name, ty.color));
    }
}
