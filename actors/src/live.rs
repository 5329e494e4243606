//! Live topics: which screens an event concerns. The WebSocket gateway (`web/src/ws.rs`)
//! sends each committed event to the sockets subscribed to one of its topics.
//!
//! Topics (see `docs/websocket.md`):
//! - `calendar:<location>:<YYYY-MM-DD>`: a location's day (the date in its time zone);
//! - `dashboard:<location>`: everything that changes a location's Today board;
//! - `queue:<location>`: appointments of the location (arrivals, starts, departures);
//! - `room:<room id>`: a room and the appointments in it;
//! - `patient:<patient id>`: a cat's record and appointments;
//! - `client:<client id>`: a client's account (their invoices);
//! - `ward:<ward id>`: a hospital ward's board (admissions, marked slots);
//! - `labs`: the clinic's lab work (orders, results, sign-offs, the unmatched queue).
//!
//! Who receives what (the rule is written out in `docs/websocket.md`):
//! - subscribing to a topic needs the permission [`permission_of`] names;
//! - each event then goes only to sockets whose user its [`Audience`] admits
//!   ([`DomainEvent::audience`]: the permission its record's REST read needs and, for scope
//!   `own`, whose records count), so a socket never receives a frame its user could not `GET`;
//! - what a frame carries is [`frame_data`]: the event as logged, or for kinds whose record
//!   holds clinical content ([`DomainEvent::ids_only`]) only ids and changed field names.
//!
//! Domain dependencies: scheduling.

use std::borrow::Cow;
use std::sync::{Arc, RwLock};

use clowder_schemas::access::Permission;
use clowder_schemas::appointments::Appointment;
pub use clowder_schemas::events::Audience;
use clowder_schemas::events::DomainEvent;
use clowder_schemas::{LocationId, ValidationError};
use jiff::Timestamp;

use crate::scheduling::book::Book;

/// The topics of the gateway, as parsed from a subscription.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Topic {
    Calendar(LocationId, jiff::civil::Date),
    Dashboard(LocationId),
    Queue(LocationId),
    Room(clowder_schemas::RoomId),
    Patient(clowder_schemas::PatientId),
    Client(clowder_schemas::ClientId),
    Ward(clowder_schemas::ids::WardId),
    /// The lab screens (`/labs`, `/labs/unmatched`): every lab event of the clinic.
    Labs,
}

impl Topic {
    /// Parses `kind:id[:date]`; the message names what is wrong.
    pub fn parse(text: &str) -> Result<Topic, ValidationError> {
        let bad = |why: &str| ValidationError::new("topics", format!("{text:?}: {why}"));
        if text == "labs" {
            return Ok(Topic::Labs);
        }
        let mut parts = text.splitn(3, ':');
        let kind = parts.next().unwrap_or_default();
        let id = parts.next().ok_or_else(|| bad("expected kind:id"))?;
        let rest = parts.next();
        let id_of = |s: &str| s.parse().map_err(|_| bad("the id is not a valid id"));
        let topic = match (kind, rest) {
            ("calendar", Some(date)) => {
                Topic::Calendar(id_of(id)?, date.parse().map_err(|_| bad("the date must be YYYY-MM-DD"))?)
            }
            ("dashboard", None) => Topic::Dashboard(id_of(id)?),
            ("queue", None) => Topic::Queue(id_of(id)?),
            ("room", None) => Topic::Room(id.parse().map_err(|_| bad("the id is not a valid id"))?),
            ("patient", None) => Topic::Patient(id.parse().map_err(|_| bad("the id is not a valid id"))?),
            ("client", None) => Topic::Client(id.parse().map_err(|_| bad("the id is not a valid id"))?),
            ("ward", None) => Topic::Ward(id.parse().map_err(|_| bad("the id is not a valid id"))?),
            _ => {
                return Err(bad(
                    "unknown topic; use calendar:<location>:<date>, dashboard:<location>, queue:<location>, room:<id>, patient:<id>, client:<id>, ward:<id> or labs",
                ));
            }
        };
        Ok(topic)
    }

    /// The permission needed to receive it.
    pub fn permission(&self) -> Permission {
        permission_of(self)
    }
}

impl std::fmt::Display for Topic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Topic::Calendar(l, d) => write!(f, "calendar:{l}:{d}"),
            Topic::Dashboard(l) => write!(f, "dashboard:{l}"),
            Topic::Queue(l) => write!(f, "queue:{l}"),
            Topic::Room(r) => write!(f, "room:{r}"),
            Topic::Patient(p) => write!(f, "patient:{p}"),
            Topic::Client(c) => write!(f, "client:{c}"),
            Topic::Ward(w) => write!(f, "ward:{w}"),
            Topic::Labs => f.write_str("labs"),
        }
    }
}

/// The permission a topic needs.
pub fn permission_of(t: &Topic) -> Permission {
    match t {
        Topic::Patient(_) => Permission::PatientsView,
        Topic::Client(_) => Permission::ClientsView,
        Topic::Ward(_) => Permission::WardView,
        Topic::Labs => Permission::LabsView,
        _ => Permission::AppointmentsView,
    }
}

/// The `data` of a live frame: the event as logged (`payload`), or, for a kind that declares
/// itself ids-only, `{"type", <ids>, "changed"}` and nothing of the record. Built once per
/// event and shared by every socket that receives it.
pub fn frame_data<'a>(event: &DomainEvent, kind: &str, payload: &'a serde_json::Value) -> Cow<'a, serde_json::Value> {
    match event.ids_only() {
        Some(ids) => Cow::Owned(ids.to_json(kind)),
        None => Cow::Borrowed(payload),
    }
}

/// Computes events' topics with the calendar's knowledge of each location's time zone.
#[derive(Clone)]
pub struct Topics {
    book: Arc<RwLock<Book>>,
}

impl Topics {
    pub(crate) fn new(book: Arc<RwLock<Book>>) -> Self {
        Self { book }
    }

    fn date_at(&self, location: LocationId, at: Timestamp) -> Option<jiff::civil::Date> {
        let book = self.book.read().unwrap_or_else(|p| p.into_inner());
        book.location(location).map(|(_, tz)| at.to_zoned(tz.clone()).date())
    }

    fn appointment(&self, a: &Appointment, out: &mut Vec<Topic>) {
        if let Some(d) = self.date_at(a.location_id, a.start) {
            out.push(Topic::Calendar(a.location_id, d));
        }
        out.push(Topic::Dashboard(a.location_id));
        out.push(Topic::Queue(a.location_id));
        if let Some(r) = a.room_id {
            out.push(Topic::Room(r));
        }
        out.push(Topic::Patient(a.patient_id));
    }

    /// Every location's board.
    fn every_dashboard(&self, out: &mut Vec<Topic>) {
        let book = self.book.read().unwrap_or_else(|p| p.into_inner());
        let mut ids: Vec<LocationId> = book.locations.keys().copied().collect();
        ids.sort_unstable();
        out.extend(ids.into_iter().map(Topic::Dashboard));
    }

    /// The topics an event concerns (none for events no screen follows, such as sign-ins).
    pub fn of(&self, event: &DomainEvent) -> Vec<Topic> {
        let mut out = Vec::new();
        match event {
            DomainEvent::AppointmentRescheduled { appointment, previous_start, .. } => {
                self.appointment(appointment, &mut out);
                if let Some(d) = self.date_at(appointment.location_id, *previous_start) {
                    out.push(Topic::Calendar(appointment.location_id, d));
                }
            }
            DomainEvent::AppointmentBooked { appointment }
            | DomainEvent::AppointmentUpdated { appointment }
            | DomainEvent::AppointmentConfirmed { appointment }
            | DomainEvent::PatientCheckedIn { appointment }
            | DomainEvent::AppointmentStarted { appointment }
            | DomainEvent::AppointmentCompleted { appointment }
            | DomainEvent::AppointmentCancelled { appointment }
            | DomainEvent::AppointmentNoShow { appointment } => self.appointment(appointment, &mut out),
            DomainEvent::PatientCreated { patient }
            | DomainEvent::PatientUpdated { patient, .. }
            | DomainEvent::PatientDeactivated { patient } => out.push(Topic::Patient(patient.id)),
            // The medical record: on the cat's topic, as ids (its audience is visits:view).
            DomainEvent::VisitOpened { patient_id, .. }
            | DomainEvent::VisitUpdated { patient_id, .. }
            | DomainEvent::VisitCompleted { patient_id, .. }
            | DomainEvent::VisitVoided { patient_id, .. }
            | DomainEvent::NoteSigned { patient_id, .. }
            | DomainEvent::NoteAmended { patient_id, .. } => out.push(Topic::Patient(*patient_id)),
            DomainEvent::RoomCreated { room } | DomainEvent::RoomUpdated { room } => {
                out.push(Topic::Room(room.id));
                out.push(Topic::Dashboard(room.location_id));
            }
            DomainEvent::RoomStateChanged { status } => {
                out.push(Topic::Room(status.room_id));
                out.push(Topic::Dashboard(status.location_id));
                if let Some(p) = status.patient_id {
                    out.push(Topic::Patient(p));
                }
            }
            DomainEvent::ShiftCreated { shift } | DomainEvent::ShiftUpdated { shift } => {
                out.push(Topic::Dashboard(shift.location_id));
            }
            DomainEvent::LocationCreated { location } | DomainEvent::LocationUpdated { location } => {
                out.push(Topic::Dashboard(location.id));
            }
            // Concerns the whole clinic: every location's board (its audience is administrators).
            DomainEvent::BackupFailed { .. }
            | DomainEvent::JobFailed { .. }
            | DomainEvent::JobDead { .. }
            | DomainEvent::MessageFailed { .. } => self.every_dashboard(&mut out),
            // Stock is the clinic's: a change that leaves a product low, or writes off an
            // expired lot, goes to every location's board (its audience is inventory:view).
            DomainEvent::StockMoved { low, kind, .. }
                if *low || *kind == clowder_schemas::inventory::MoveKind::Expired =>
            {
                self.every_dashboard(&mut out)
            }
            DomainEvent::VitalsRecorded { patient_id, .. }
            | DomainEvent::VitalsAmended { patient_id, .. }
            | DomainEvent::ProblemAdded { patient_id, .. }
            | DomainEvent::ProblemUpdated { patient_id, .. }
            | DomainEvent::TreatmentPlanCreated { patient_id, .. }
            | DomainEvent::TreatmentPlanChanged { patient_id, .. } => out.push(Topic::Patient(*patient_id)),
            DomainEvent::PrescriptionCreated { patient_id, .. }
            | DomainEvent::PrescriptionUpdated { patient_id, .. } => out.push(Topic::Patient(*patient_id)),
            DomainEvent::ControlledEntryRecorded { patient_id: Some(p), .. } => out.push(Topic::Patient(*p)),
            DomainEvent::VaccinationRecorded { patient_id, .. }
            | DomainEvent::VaccinationUpdated { patient_id, .. } => out.push(Topic::Patient(*patient_id)),
            // The vet's Today board: its location's, or every location's for a walk-in that
            // named none.
            DomainEvent::NoteUnsignedDue { patient_id, location_id, .. }
            | DomainEvent::NoteUnsignedCleared { patient_id, location_id, .. } => {
                match location_id {
                    Some(l) => out.push(Topic::Dashboard(*l)),
                    None => {
                        let book = self.book.read().unwrap_or_else(|p| p.into_inner());
                        let mut ids: Vec<LocationId> = book.locations.keys().copied().collect();
                        ids.sort_unstable();
                        out.extend(ids.into_iter().map(Topic::Dashboard));
                    }
                }
                out.push(Topic::Patient(*patient_id));
            }
            // The cat's screens; results also on the ordering vet's board (its visit's location,
            // or every location's when it named none). The queue is the clinic's. Every lab
            // event also reaches the lab screens' own topic (audience labs:view).
            DomainEvent::LabOrderPlaced { patient_id, .. } | DomainEvent::LabOrderUpdated { patient_id, .. } => {
                out.push(Topic::Patient(*patient_id));
                out.push(Topic::Labs);
            }
            DomainEvent::LabResultReady { patient_id, location_id, .. } => {
                match location_id {
                    Some(l) => out.push(Topic::Dashboard(*l)),
                    None => self.every_dashboard(&mut out),
                }
                out.push(Topic::Patient(*patient_id));
                out.push(Topic::Labs);
            }
            DomainEvent::LabUnmatchedChanged { .. } => {
                self.every_dashboard(&mut out);
                out.push(Topic::Labs);
            }
            // A client's account screen (its audience is invoices:view).
            DomainEvent::InvoiceCreated { client_id, .. } | DomainEvent::InvoiceUpdated { client_id, .. } => {
                out.push(Topic::Client(*client_id));
            }
            // The ward's board; the sheet on the cat's topic too (audience ward:view).
            DomainEvent::AdmissionUpdated { ward_id, patient_id, .. }
            | DomainEvent::SlotMarked { ward_id, patient_id, .. } => {
                out.push(Topic::Ward(*ward_id));
                out.push(Topic::Patient(*patient_id));
            }
            DomainEvent::WardSaved { ward_id, .. } => out.push(Topic::Ward(*ward_id)),
            // A move changes both boards (the same one twice is deduplicated).
            DomainEvent::AdmissionMoved { from_ward_id, ward_id, patient_id, .. } => {
                out.push(Topic::Ward(*from_ward_id));
                out.push(Topic::Ward(*ward_id));
                out.push(Topic::Patient(*patient_id));
            }
            // The alert: the ward's board and the location's Today board.
            DomainEvent::WardTreatmentOverdue { ward_id, location_id, .. } => {
                out.push(Topic::Ward(*ward_id));
                out.push(Topic::Dashboard(*location_id));
            }
            _ => {}
        }
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_parse_and_print_back() {
        for t in [
            "calendar:01J0000000000000000000000A:2026-12-01",
            "dashboard:01J0000000000000000000000A",
            "queue:01J0000000000000000000000A",
            "room:01J0000000000000000000000A",
            "patient:01J0000000000000000000000A",
            "ward:01J0000000000000000000000A",
            "labs",
        ] {
            assert_eq!(Topic::parse(t).unwrap().to_string(), t);
        }
        for bad in
            ["", "calendar:01J0000000000000000000000A", "calendar:x:2026-12-01", "dashboard", "clients:1", "room:zz"]
        {
            assert_eq!(Topic::parse(bad).unwrap_err().field, "topics", "{bad}");
        }
        assert_eq!(Topic::parse("patient:01J0000000000000000000000A").unwrap().permission(), Permission::PatientsView);
        assert_eq!(Topic::parse("labs").unwrap().permission(), Permission::LabsView);
        assert!(Topic::parse("labs:01J0000000000000000000000A").is_err());
        assert_eq!(
            Topic::parse("queue:01J0000000000000000000000A").unwrap().permission(),
            Permission::AppointmentsView
        );
    }
}
