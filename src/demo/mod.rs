//! `--demo`: a realistic demo clinic, generated and seeded into an empty store through the
//! same actors and group commit as real traffic, so the software can be shown and exercised
//! with believable data. Seeding prints the demo staff passwords (see `staff`: they are
//! public and for the demo only; never seed demo data into a clinic that holds real data).
//!
//! Besides clients, cats and accounts, it sets up the first location's calendar: rooms, staff
//! profiles linked to the demo accounts, shifts, one approved time off, and two weeks of
//! appointments around today whose statuses match the clock (past ones completed, missed
//! or cancelled; today's under way). Everything goes through the scheduling services, so
//! their rules (conflicts, capabilities, the workflow) hold for the demo too.
//!
//! This module does the I/O; the data comes from its submodules, each with the tables it
//! draws from: `random` (the PRNG), `clients` (owners, and [`clients::generate`] for the
//! whole clinic), `cats`, `staff` (accounts, people, profiles), `schedule` (location, rooms,
//! holidays, shifts, time off), `visits` (appointments and their fates) and `vaccinations`
//! (each cat's vaccination history).
//!
//! Generation is pure and deterministic: a tiny self-contained PRNG
//! ([`random::SplitMix64`], seeded by [`random::SEED`]) draws from the fixed tables of these
//! modules, so the same build always produces the same clinic, independent of the versions of
//! any other crate. In [`clients::generate`] the only input, `today`, turns ages into dates
//! of birth; ids, names and everything else do not depend on it.
//! [`schedule::plan_schedule`] lays the calendar out around `today` (who works when, which cat
//! comes when, and what became of each visit) from a stream of its own;
//! [`visits::status_path`] turns a visit's fate into workflow moves at the moment of seeding.
//! A test fingerprints all of it, so an unintended change is seen.
//!
//! The medical record is seeded after the schedule: first `history`, a year of visits before
//! the two weeks (imported at their own times through `Visits::import`, with vitals, signed
//! notes, problems and prescriptions; the wellness exams on the vaccination days), then the
//! vaccinations (those of the year given at its visits), then `clinical`, the record of the
//! appointments seen (visits, vitals, SOAP notes, problems, prescriptions). Billing
//! (invoices, payments) demo data would join as a sibling module: pure and deterministic like these, drawing from their own stream (a seed
//! derived from [`random::SEED`], as `schedule` does, so they never change what is already
//! generated), and each seeded by one call in [`seed`]'s order, after the schedule they
//! build on.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clowder_actors::scheduling::zones::{local_instant, time_zone};
use clowder_actors::staff::accounts::NewUser;
use clowder_actors::{Error, System};
use clowder_schemas::access::Permissions;
use clowder_schemas::appointments::{CreateAppointment, Status, TransitionRequest};
use clowder_schemas::audit::Caller;
use clowder_schemas::ids::{AppointmentId, PatientId};
use clowder_schemas::locations::{CreateRoom, UpdateLocation};
use clowder_schemas::patch::Patch;
use clowder_schemas::patients::CreatePatient;
use clowder_schemas::staff::{CreateShift, RequestTimeOff, ShiftKind, TimeOffStatus};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use jiff::SignedDuration;

use self::schedule::{LOCATION_ADDRESS, LOCATION_NAME, LOCATION_PHONE, ROOMS, holidays, plan_schedule};
use self::staff::{DemoStaff, PEOPLE, STAFF, staff_profile};
use self::visits::status_path;

pub mod cats;
pub mod clients;
pub mod clinical;
pub mod consents;
pub mod history;
pub mod labs;
pub mod plans;
pub mod prices;
pub mod random;
pub mod schedule;
pub mod staff;
pub mod vaccinations;
pub mod visits;
pub mod ward;

/// Concurrent creations while seeding; enough to fill group-commit batches.
const PARALLEL: usize = 64;

/// Cats whose entries are written at once where each cat's go one after the other (its year
/// of history, four or five commits a visit; its vaccinations): more cats in flight fill the
/// group commit's batches (measured in debug: 64 → 256 takes the year from 34 to 23 s).
const PER_CAT_PARALLEL: usize = 256;

/// The name `bootstrap` gives the first location; the demo renames only that one.
const STARTUP_LOCATION_NAME: &str = "Main clinic";

/// Seeds the demo clinic if the store has no clients; prints the staff sign-ins either way.
pub async fn seed(system: &Arc<System>) -> anyhow::Result<()> {
    let started = Instant::now();
    let (existing, _) = system.clients.list_unaudited(&Default::default(), None, 1)?;
    let staff: Vec<&DemoStaff> = STAFF.iter().filter(|s| s.username != "admin").collect();
    if existing.is_empty() {
        let clinic = clients::generate(system.ctx.today());
        for s in &staff {
            let created = system
                .accounts
                .create_user(
                    NewUser {
                        username: s.username.into(),
                        display_name: s.display_name.into(),
                        email: None,
                        password: s.password.into(),
                        roles: s.roles.iter().map(|r| r.to_string()).collect(),
                        must_change_password: false,
                    },
                    &Caller::system(),
                )
                .await;
            // A seeding interrupted earlier may have created the users already.
            match created {
                Ok(_) | Err(clowder_actors::Error::Duplicate { .. }) => {}
                Err(e) => return Err(e).with_context(|| format!("creating demo user {}", s.username)),
            }
        }
        let country = system.ctx.config.country_code.clone();
        let clients = clinic.clients.len();
        stream::iter(clinic.clients.into_iter().map(Ok::<_, anyhow::Error>))
            .try_for_each_concurrent(PARALLEL, |(id, body)| {
                let system = system.clone();
                let country = country.clone();
                async move {
                    let draft = body.validate(&country).map_err(|e| anyhow::anyhow!("demo client: {e}"))?;
                    system.clients.create_with_id(id, draft, &Caller::system()).await?;
                    Ok(())
                }
            })
            .await?;
        let today = system.ctx.today();
        let patients = clinic.patients.len();
        // Cloned, not consumed: the schedule below books these cats.
        stream::iter(clinic.patients.iter().cloned().map(Ok::<_, anyhow::Error>))
            .try_for_each_concurrent(PARALLEL, |(id, body)| {
                let system = system.clone();
                async move {
                    let draft = body.validate(today).map_err(|e| anyhow::anyhow!("demo patient: {e}"))?;
                    system.patients.create_with_id(id, draft, &Caller::system()).await?;
                    Ok(())
                }
            })
            .await?;
        tracing::info!(
            clients,
            patients,
            staff = staff.len(),
            took_ms = started.elapsed().as_millis() as u64,
            "seeded the demo clinic"
        );
        // The price list before anything is done at a visit, so charge capture finds what
        // each exam, dose and fill charges.
        seed_prices(system).await.context("seeding the demo price list")?;
        let seen = seed_schedule(system, &clinic.patients).await.context("seeding the demo schedule")?;
        // The year of history is planned on the vaccination days, and the doses of those days
        // are linked to its visits: both plans first, then history, doses, the two weeks.
        let vaccinations = vaccinations::plan_vaccinations(&clinic.patients, today);
        let year = history::plan_history(&clinic.patients, &vaccinations::dose_dates(&vaccinations), today);
        let linked = seed_history(system, &seen, &year).await.context("seeding the demo year of history")?;
        seed_vaccinations(system, vaccinations, &linked).await.context("seeding the demo vaccinations")?;
        let listed = year
            .iter()
            .flat_map(|v| v.problems.iter().filter(|p| p.1 == "chronic").map(|p| (v.patient_id, p.0)))
            .collect();
        seed_clinical(system, &seen, &clinic.patients, &listed).await.context("seeding the demo medical record")?;
        let cats: Vec<PatientId> = clinic.patients.iter().map(|(id, _)| *id).collect();
        ward::seed(system, &cats).await.context("seeding the demo ward")?;
        labs::seed(system, &cats).await.context("seeding the demo lab work")?;
        // The loyalty programme on, so checkout and the settings screen show it in use.
        let programme = clowder_schemas::loyalty::PutLoyaltySettings {
            enabled: true,
            points_per_unit: 1,
            item_bonuses: Vec::new(),
            referral_bonus: 200,
            birthday_bonus: 100,
            redeem_points: 100,
            redeem_cents: clowder_schemas::money::Cents::new(100),
            min_redeem: 100,
            expiry_months: Some(24),
        };
        system.loyalty.put_settings(programme, &Caller::system()).await.context("turning the demo loyalty on")?;
        consents::seed(system).await.context("seeding the demo consent forms")?;
        plans::seed(system, &cats, ward::REASONS_LEN).await.context("seeding the demo treatment plans")?;
        // Seeding touched every record: let them go now instead of after the idle period,
        // so a fresh demo server starts as small as a real one.
        system.clients.passivate_all();
        system.patients.passivate_all();
    }
    let list: Vec<String> =
        staff.iter().map(|s| format!("{} / {} ({})", s.username, s.password, s.roles.join(", "))).collect();
    tracing::info!("demo staff sign-ins (demo only): {}", list.join("; "));
    Ok(())
}

/// Adds the price list (`prices::PRICES`) to the service catalogue: an item whose code is
/// taken already (a seeding interrupted earlier) is skipped, as is an exam fee whose default
/// appointment type the clinic renamed.
async fn seed_prices(system: &Arc<System>) -> anyhow::Result<()> {
    let types: HashMap<String, _> =
        system.scheduling.appointment_types.list(false)?.into_iter().map(|t| (t.name, t.id)).collect();
    let mut added = 0;
    for p in prices::PRICES {
        let Some(body) = prices::body(p, |name| types.get(name).copied()) else { continue };
        match system.catalogue.add(&body, &Caller::system()).await {
            Ok(_) => added += 1,
            Err(Error::Duplicate { .. }) => {}
            Err(e) => return Err(e).with_context(|| format!("adding {} to the price list", p.code)),
        }
    }
    tracing::info!(items = added, "seeded the demo price list");
    Ok(())
}

/// Sets up the first location's rooms, staff, shifts and time off, and books the planned
/// appointments (see `schedule::plan_schedule`), moving each along its workflow. Rooms and
/// staff that already exist (same room name, same email or account) are reused; a shift or
/// appointment that clashes with one already there is skipped.
async fn seed_schedule(system: &Arc<System>, patients: &[(PatientId, CreatePatient)]) -> anyhow::Result<Seen> {
    let started = Instant::now();
    let setup = &system.scheduling.setup;
    let calendar = &system.scheduling.calendar;
    let caller = &Caller::system();
    let Some(mut location) = setup.locations(false).into_iter().next() else {
        tracing::warn!("no location to schedule the demo at; skipping rooms, staff and appointments");
        return Ok(Seen::default());
    };
    let tz = time_zone("time_zone", &location.time_zone)?;
    // One instant for the whole plan: each appointment's status is decided against it, and
    // the real clock only moves on, so a no-show decided now is still allowed when recorded.
    let now = system.ctx.clock.now();
    let today = now.to_zoned(tz.clone()).date();
    if location.name == STARTUP_LOCATION_NAME {
        let mut closed = location.blackout_dates.clone();
        closed.extend(holidays(today.year()));
        closed.extend(holidays(today.year().saturating_add(1)));
        let patch = UpdateLocation {
            name: Patch::Set(LOCATION_NAME.into()),
            address: Patch::Set(LOCATION_ADDRESS.into()),
            phone: Patch::Set(LOCATION_PHONE.into()),
            blackout_dates: Patch::Set(closed),
            ..Default::default()
        };
        location = setup.update_location(location.id, &patch, caller).await?;
    }
    let hours = location.week();

    let existing = setup.rooms(Some(location.id), true);
    let mut rooms = Vec::with_capacity(ROOMS.len());
    for &(name, kind) in ROOMS {
        let id = match existing.iter().find(|r| r.name.eq_ignore_ascii_case(name)) {
            Some(r) => r.id,
            None => {
                let body = CreateRoom { location_id: location.id, name: name.into(), kind };
                setup.create_room(&body, caller).await?.id
            }
        };
        rooms.push(id);
    }

    let (users, _) = system.accounts.list(None, None, 1_000)?;
    let known = setup.staff_list(true);
    let mut staff = Vec::with_capacity(PEOPLE.len());
    for p in PEOPLE {
        let user = p.username.and_then(|name| users.iter().find(|u| u.username == name)).map(|u| u.id);
        let body = staff_profile(p, user, location.id, &hours, today);
        let same = known.iter().find(|s| {
            s.email.as_ref().map(|e| e.as_str()) == body.email.as_deref() || (user.is_some() && s.user_id == user)
        });
        let id = match same {
            Some(s) => s.id,
            None => setup.create_staff(&body, caller).await?.id,
        };
        staff.push(id);
    }

    let plan = plan_schedule(today, &hours, &location.blackout_dates, patients);

    let t = &plan.time_off;
    let request = RequestTimeOff {
        staff_id: staff[t.person],
        first_day: t.first_day,
        last_day: t.last_day,
        reason: Some(t.reason.into()),
    };
    let requested = setup.request_time_off(&request, caller).await?;
    setup.decide_time_off(requested.id, TimeOffStatus::Approved, Some(t.note.into()), caller).await?;

    let shifts: usize = stream::iter(&plan.shifts)
        .map(|s| {
            let body = CreateShift {
                location_id: location.id,
                date: s.date,
                start: s.start,
                end: s.end,
                kind: ShiftKind::Regular,
                break_minutes: s.break_minutes,
                notes: None,
            };
            let person = staff[s.person];
            async move {
                match setup.create_shift(person, &body, caller).await {
                    Ok(_) => Ok(1),
                    Err(Error::ShiftOverlap { .. }) => Ok(0),
                    Err(e) => Err(e),
                }
            }
        })
        .buffer_unordered(PARALLEL)
        .try_fold(0, |n, created| async move { Ok(n + created) })
        .await?;

    let types: HashMap<String, _> =
        system.scheduling.appointment_types.list(false)?.into_iter().map(|t| (t.name, t.id)).collect();
    // Bookings of one location queue at its calendar actor; many in flight keep it busy.
    // Each appointment's own moves run in order after its booking.
    let finals: Vec<Option<(usize, AppointmentId, Status, jiff::Timestamp)>> =
        stream::iter(plan.visits.iter().enumerate())
            .map(|(i, v)| {
                let (types, tz, staff, rooms) = (&types, &tz, &staff, &rooms);
                async move {
                    // A default type renamed or retired before the demo ran: nothing to book.
                    let Some(&type_id) = types.get(v.type_name) else { return Ok(None) };
                    let start = local_instant(tz, v.date, v.start)?;
                    let end = start.saturating_add(SignedDuration::from_mins(v.minutes.into())).unwrap_or(start);
                    let body = CreateAppointment {
                        client_id: v.client_id,
                        patient_id: v.patient_id,
                        type_id,
                        vet_id: Some(staff[v.vet]),
                        room_id: Some(rooms[v.room]),
                        location_id: Some(location.id),
                        start,
                        end: Some(end),
                        reason: Some(v.reason.clone()),
                        notes: None,
                        overbook: false,
                    };
                    let booked = match calendar.book(&body, &Permissions::everything(), caller).await {
                        Ok(a) => a,
                        Err(Error::AppointmentConflict { .. }) => return Ok(None),
                        Err(e) => return Err(e),
                    };
                    let mut status = booked.status;
                    for (to, reason) in status_path(&v.outcome, start, end, now) {
                        let request = TransitionRequest { to, reason: reason.map(str::to_owned), room_id: None };
                        status =
                            calendar.transition(booked.id, request, &Permissions::everything(), caller).await?.status;
                    }
                    Ok::<_, Error>(Some((i, booked.id, status, start)))
                }
            })
            .buffer_unordered(PARALLEL)
            .try_collect()
            .await?;

    let count = |s: Status| finals.iter().filter(|f| f.is_some_and(|f| f.2 == s)).count();
    tracing::info!(
        location = %location.name,
        rooms = rooms.len(),
        staff_profiles = staff.len(),
        shifts,
        time_off = 1,
        appointments = finals.iter().flatten().count(),
        skipped = finals.iter().filter(|f| f.is_none()).count(),
        completed = count(Status::Completed),
        no_show = count(Status::NoShow),
        cancelled = count(Status::Cancelled),
        in_progress = count(Status::InProgress),
        checked_in = count(Status::CheckedIn),
        confirmed = count(Status::Confirmed),
        scheduled = count(Status::Scheduled),
        took_ms = started.elapsed().as_millis() as u64,
        "seeded the demo schedule"
    );
    let vets = plan.visits.iter().map(|v| PEOPLE.get(v.vet).and_then(|p| p.username)).collect();
    Ok(Seen {
        visits: plan.visits,
        booked: finals.into_iter().flatten().collect(),
        vets,
        staff,
        location: Some((location.id, tz)),
    })
}

/// What the schedule booked, for the medical record.
#[derive(Debug, Default)]
struct Seen {
    visits: Vec<visits::PlannedVisit>,
    /// Each booked appointment: its index in `visits`, its id, where its workflow ended and
    /// when it starts.
    booked: Vec<(usize, AppointmentId, Status, jiff::Timestamp)>,
    /// The account of each visit's vet, if they have one.
    vets: Vec<Option<&'static str>>,
    /// The staff profile of each of [`PEOPLE`].
    staff: Vec<clowder_schemas::StaffId>,
    /// The location and its time zone (the history's visits happen there, in its hours).
    location: Option<(clowder_schemas::LocationId, jiff::tz::TimeZone)>,
}

/// The callers of the demo vets who have an account, by username.
fn vet_callers(system: &System) -> anyhow::Result<HashMap<&'static str, Caller>> {
    use clowder_schemas::events::Author;
    let (users, _) = system.accounts.list(None, None, 1_000)?;
    Ok(PEOPLE
        .iter()
        .filter(|p| p.position == clowder_schemas::staff::Position::Veterinarian)
        .filter_map(|p| p.username)
        .filter_map(|n| {
            users.iter().find(|u| u.username == n).map(|u| {
                (n, Caller { actor: Some(Author::User(u.id)), username: Some(u.username.clone()), ..Caller::default() })
            })
        })
        .collect())
}

/// The first location and its first veterinarian (where the demo's walk-ins of today are
/// seen), or `None` before the schedule is seeded.
pub(crate) fn first_location_and_vet(
    system: &System,
) -> Option<(clowder_schemas::ids::LocationId, clowder_schemas::ids::StaffId)> {
    let setup = &system.scheduling.setup;
    let location = setup.locations(false).into_iter().next()?;
    let vet =
        setup.staff_list(false).into_iter().find(|s| s.position == clowder_schemas::staff::Position::Veterinarian)?;
    Some((location.id, vet.id))
}

/// Imports the year of history (see `history::plan_history`) through the import path, as the
/// system: each visit opened and completed at its time, its vitals, its note signed by its vet
/// (by another demo vet when theirs has no account) the same day, its problems and its
/// prescriptions (written as of the visit by the vet, whose profile the prescribing checks;
/// completed when the course ended). A cat's visits in order, cats in parallel. Returns the
/// visit of each (cat, day) on which the cat was vaccinated, for the doses.
async fn seed_history(
    system: &Arc<System>,
    seen: &Seen,
    year: &[history::HistoryVisit],
) -> anyhow::Result<HashMap<(PatientId, jiff::civil::Date), clowder_schemas::ids::VisitId>> {
    use clowder_actors::clinical::notes::ImportNote;
    use clowder_actors::clinical::prescriptions::PrescriptionCommand;
    use clowder_actors::store::ChangeSet;
    use clowder_schemas::notes::Soap;
    use clowder_schemas::prescriptions::CreatePrescription;
    use clowder_schemas::problems::CreateProblem;
    use clowder_schemas::visits::ImportVisit;
    use clowder_schemas::vitals::CreateVitals;

    let started = Instant::now();
    let vets = vet_callers(system)?;
    let Some((_, fallback)) = PEOPLE.iter().find_map(|p| p.username.and_then(|n| vets.get_key_value(n))) else {
        tracing::warn!("no demo veterinarian account; skipping the year of history");
        return Ok(HashMap::new());
    };
    let Some((location, tz)) = seen.location.clone().filter(|_| seen.staff.len() == PEOPLE.len()) else {
        tracing::warn!("no demo location or staff profiles; skipping the year of history");
        return Ok(HashMap::new());
    };
    let now = system.ctx.clock.now();
    let today = system.ctx.today();
    let mut by_cat: Vec<Vec<&history::HistoryVisit>> = Vec::new();
    for v in year {
        match by_cat.last_mut() {
            Some(list) if list[0].patient_id == v.patient_id => list.push(v),
            _ => by_cat.push(vec![v]),
        }
    }
    let linked: Vec<Vec<((PatientId, jiff::civil::Date), clowder_schemas::ids::VisitId)>> = stream::iter(by_cat)
        .map(|list| {
            let (system, tz, vets, fallback) = (system.clone(), &tz, &vets, fallback);
            async move {
                let mut out = Vec::new();
                let importer = &Caller::system();
                for v in list {
                    let vet = PEOPLE[v.vet].username.and_then(|n| vets.get(n)).unwrap_or(fallback);
                    let signer = vet.user_id().ok_or_else(|| anyhow::anyhow!("a demo vet without an account"))?;
                    let opened = local_instant(tz, v.date, v.start)?;
                    let completed = opened + SignedDuration::from_mins(v.minutes);
                    let body = ImportVisit {
                        patient_id: v.patient_id,
                        vet_id: seen.staff[v.vet],
                        visit_type: v.visit_type,
                        chief_complaint: v.reason.into(),
                        location_id: Some(location),
                        completed_at: Some(completed),
                    };
                    let visit = system.visits.import(opened, body, None, importer).await?;
                    let mut measurements = serde_json::json!({
                        "temperature_c": v.temperature_c, "weight": {"value": v.weight_kg, "unit": "kg"},
                        "heart_rate": v.heart_rate, "respiratory_rate": v.respiratory_rate,
                        "bcs": {"score": v.bcs, "scale": 9}, "mucous_membranes": "pink", "crt_s": 1.5
                    });
                    if let Some(systolic) = v.systolic {
                        measurements["blood_pressure"] = serde_json::json!({"systolic": systolic, "method": "doppler"});
                    }
                    let body: CreateVitals = serde_json::from_value(serde_json::json!({
                        "patient_id": v.patient_id, "visit_id": visit.id, "taken_by": signer,
                        "taken_at": opened + SignedDuration::from_mins(10), "measurements": measurements
                    }))?;
                    system.vitals.record(body, now, importer).await?;
                    let [s, o, a, p] = v.soap.clone();
                    let note = ImportNote {
                        soap: Soap { subjective: s, objective: o, assessment: a, plan: p },
                        signed_by: signer,
                    };
                    let signed_at = completed + SignedDuration::from_mins(v.sign_after);
                    system.notes.import(visit.id, signed_at, note, importer).await?;
                    for &(name, status, days) in &v.problems {
                        let onset = v.date.checked_sub(jiff::Span::new().days(days))?;
                        let resolved = (status == "resolved").then(|| onset.checked_add(jiff::Span::new().days(14)));
                        let body: CreateProblem = serde_json::from_value(serde_json::json!({
                            "patient_id": v.patient_id, "visit_id": visit.id, "name": name, "type": "primary",
                            "status": status, "onset": onset, "resolved_on": resolved.transpose()?
                        }))?;
                        let at = opened + SignedDuration::from_mins(15);
                        system.problems.import_at(at, body.validate(today)?, ChangeSet::new(), importer).await?;
                    }
                    if let Some(((drug, form, strength, per_kg, route, frequency, quantity), days)) = v.prescription {
                        let body: CreatePrescription = serde_json::from_value(serde_json::json!({
                            "patient_id": v.patient_id, "visit_id": visit.id, "drug": drug, "form": form,
                            "strength": strength, "dose_per_kg": per_kg, "route": route, "frequency": frequency,
                            "quantity": quantity, "duration_days": days,
                            "instructions": "Give with a little food; call us if it is refused."
                        }))?;
                        let at = opened + SignedDuration::from_mins(20);
                        let rx = system.prescriptions.import_at(at, body.validate()?, ChangeSet::new(), vet).await?;
                        let ended = days.map(|d| at + SignedDuration::from_hours(24 * d)).filter(|e| *e < now);
                        if let Some(end) = ended {
                            system.prescriptions.command_at(rx.id, end, PrescriptionCommand::Complete, vet).await?;
                        }
                    }
                    if v.vaccinated {
                        out.push(((v.patient_id, v.date), visit.id));
                    }
                }
                Ok::<_, anyhow::Error>(out)
            }
        })
        .buffer_unordered(PER_CAT_PARALLEL)
        .try_collect()
        .await?;
    system.visits.passivate_all();
    system.notes.passivate_all();
    system.vitals.passivate_all();
    system.problems.passivate_all();
    system.prescriptions.passivate_all();
    tracing::info!(
        visits = year.len(),
        took_ms = started.elapsed().as_millis() as u64,
        "seeded the demo year of history"
    );
    Ok(linked.into_iter().flatten().collect())
}

/// Writes the medical record of every appointment seen (see `clinical::plan_clinical`): its
/// visit (through `Visits::follow_appointment`, as the calendar's job would), vitals, the SOAP
/// note saved and signed by the visit's vet (or another demo vet when theirs has no account),
/// problems and prescriptions; and each cat's earlier weights. A cat's visits in order, cats
/// in parallel.
async fn seed_clinical(
    system: &Arc<System>,
    seen: &Seen,
    patients: &[(PatientId, CreatePatient)],
    listed: &std::collections::HashSet<(PatientId, &'static str)>,
) -> anyhow::Result<()> {
    use self::clinical::{ClinicalVisit, Signing};
    use clowder_schemas::events::Author;
    use clowder_schemas::notes::SaveDraft;
    use clowder_schemas::prescriptions::CreatePrescription;
    use clowder_schemas::problems::CreateProblem;
    use clowder_schemas::vitals::CreateVitals;

    let started = Instant::now();
    let today = system.ctx.today();
    let now = system.ctx.clock.now();
    let mut done = vec![None; seen.visits.len()];
    for &(i, id, status, start) in &seen.booked {
        if matches!(status, Status::Completed | Status::InProgress) {
            done[i] = Some((id, start));
        }
    }
    let flags: Vec<bool> = done.iter().map(Option::is_some).collect();
    let records = clinical::plan_clinical(&seen.visits, &flags, patients, today, listed);

    let (users, _) = system.accounts.list(None, None, 1_000)?;
    let caller_of = |username: &str| {
        users.iter().find(|u| u.username == username).map(|u| Caller {
            actor: Some(Author::User(u.id)),
            username: Some(u.username.clone()),
            ..Caller::default()
        })
    };
    let vets: HashMap<&str, Caller> = PEOPLE
        .iter()
        .filter(|p| p.position == clowder_schemas::staff::Position::Veterinarian)
        .filter_map(|p| p.username.and_then(|n| caller_of(n).map(|c| (n, c))))
        .collect();
    let Some(fallback) = PEOPLE.iter().find_map(|p| p.username.and_then(|n| vets.get(n))).cloned() else {
        tracing::warn!("no demo veterinarian account; skipping the medical record");
        return Ok(());
    };

    let mut by_cat: Vec<(PatientId, Vec<ClinicalVisit>)> = Vec::new();
    for r in records {
        match by_cat.iter_mut().find(|(id, _)| *id == r.patient_id) {
            Some((_, list)) => list.push(r),
            None => by_cat.push((r.patient_id, vec![r])),
        }
    }
    let count = by_cat.iter().map(|(_, l)| l.len()).sum::<usize>();
    stream::iter(by_cat.into_iter().map(Ok::<_, anyhow::Error>))
        .try_for_each_concurrent(PARALLEL, |(_, list)| {
            let (system, done, vets, fallback) = (system.clone(), &done, &vets, &fallback);
            async move {
                for r in list {
                    let Some((appointment, start)) = done[r.visit] else { continue };
                    let vet = seen.vets[r.visit].and_then(|n| vets.get(n)).unwrap_or(fallback);
                    let Some(visit) = system.visits.follow_appointment(appointment, &Caller::system()).await? else {
                        continue;
                    };
                    for &(days, kg) in &r.history {
                        let taken_at = start - SignedDuration::from_hours(24 * days);
                        let body: CreateVitals = serde_json::from_value(serde_json::json!({
                            "patient_id": r.patient_id, "taken_at": taken_at,
                            "measurements": {"weight": {"value": kg, "unit": "kg"}}
                        }))?;
                        system.vitals.record(body, now, vet).await?;
                    }
                    let taken_at = (start + SignedDuration::from_mins(10)).min(now);
                    let mut measurements = serde_json::json!({
                        "temperature_c": r.temperature_c, "weight": {"value": r.weight_kg, "unit": "kg"},
                        "heart_rate": r.heart_rate, "respiratory_rate": r.respiratory_rate,
                        "bcs": {"score": r.bcs, "scale": 9}, "mucous_membranes": "pink", "crt_s": 1.5
                    });
                    if let Some(systolic) = r.systolic {
                        measurements["blood_pressure"] = serde_json::json!({"systolic": systolic, "method": "doppler"});
                    }
                    let body: CreateVitals = serde_json::from_value(serde_json::json!({
                        "patient_id": r.patient_id, "visit_id": visit.id, "taken_at": taken_at,
                        "measurements": measurements
                    }))?;
                    system.vitals.record(body, now, vet).await?;
                    let [s, o, a, p] = &r.soap;
                    let draft: SaveDraft = serde_json::from_value(serde_json::json!({
                        "revision": 1, "subjective": s, "objective": o, "assessment": a, "plan": p
                    }))?;
                    system.drafts.save(visit.id, draft, vet).await?;
                    match r.signing {
                        Signing::Unsigned => {}
                        Signing::Signed => {
                            system.notes.sign(visit.id, Some(1), vet).await?;
                        }
                        Signing::Addendum(text) => {
                            system.notes.sign(visit.id, Some(1), vet).await?;
                            system.notes.add_addendum(visit.id, text.into(), vet).await?;
                        }
                    }
                    let on = start.to_zoned(system.ctx.config.time_zone.clone()).date();
                    for &(name, status, days) in &r.problems {
                        let onset = on.checked_sub(jiff::Span::new().days(days))?;
                        let resolved = (status == "resolved").then(|| onset.checked_add(jiff::Span::new().days(14)));
                        let body: CreateProblem = serde_json::from_value(serde_json::json!({
                            "patient_id": r.patient_id, "visit_id": visit.id, "name": name, "type": "primary",
                            "status": status, "onset": onset, "resolved_on": resolved.transpose()?
                        }))?;
                        system.problems.create(body.validate(today)?, vet).await?;
                    }
                    if let Some((drug, form, strength, per_kg, route, frequency, quantity)) = r.prescription {
                        let body: CreatePrescription = serde_json::from_value(serde_json::json!({
                            "patient_id": r.patient_id, "visit_id": visit.id, "drug": drug, "form": form,
                            "strength": strength, "dose_per_kg": per_kg, "route": route, "frequency": frequency,
                            "quantity": quantity, "instructions": "Give with a little food; call us if it is refused."
                        }))?;
                        let rx = system.prescriptions.create(body.validate()?, vet).await?;
                        // A short course prescribed over a week ago is over.
                        if quantity <= 14.0 && (today - on).get_days() > 7 {
                            system.prescriptions.complete(rx.id, vet).await?;
                        }
                    }
                }
                Ok(())
            }
        })
        .await?;
    system.visits.passivate_all();
    system.notes.passivate_all();
    system.vitals.passivate_all();
    system.problems.passivate_all();
    system.prescriptions.passivate_all();
    tracing::info!(visits = count, took_ms = started.elapsed().as_millis() as u64, "seeded the demo medical record");
    Ok(())
}

/// Records each demo cat's vaccination history (see `vaccinations::plan_vaccinations`), a cat's
/// entries in order, cats in parallel. A dose of the year of history is given at its visit
/// (`linked`), on the clinic's day (a Sunday's moves to the Monday, as the visit did).
async fn seed_vaccinations(
    system: &Arc<System>,
    entries: Vec<vaccinations::DemoEntry>,
    linked: &HashMap<(PatientId, jiff::civil::Date), clowder_schemas::ids::VisitId>,
) -> anyhow::Result<()> {
    use self::vaccinations::DemoEntry;
    let started = Instant::now();
    let today = system.ctx.today();
    let first = today.checked_sub(jiff::Span::new().days(history::YEAR_DAYS))?;
    let last = today.checked_sub(jiff::Span::new().days(history::GAP_DAYS))?;
    let mut by_cat: Vec<(PatientId, Vec<DemoEntry>)> = Vec::new();
    for mut e in entries {
        if let DemoEntry::Dose(d) = &mut e
            && let Some(on) = d.given_on.filter(|on| (first..=last).contains(on))
        {
            let day = history::clinic_day(on);
            d.given_on = Some(day);
            d.visit_id = linked.get(&(d.patient_id, day)).copied();
        }
        let id = match &e {
            DemoEntry::Dose(d) => d.patient_id,
            DemoEntry::Declined(d) => d.patient_id,
            DemoEntry::Risk(id, _) => *id,
        };
        match by_cat.last_mut() {
            Some((last, entries)) if *last == id => entries.push(e),
            _ => by_cat.push((id, vec![e])),
        }
    }
    let entries: usize = by_cat.iter().map(|(_, e)| e.len()).sum();
    stream::iter(by_cat.into_iter().map(Ok::<_, anyhow::Error>))
        .try_for_each_concurrent(PER_CAT_PARALLEL, |(_, entries)| {
            let system = system.clone();
            async move {
                let v = &system.vaccinations;
                let caller = &Caller::system();
                for e in entries {
                    match e {
                        DemoEntry::Dose(d) => v.record_dose(d, today, caller).await?,
                        DemoEntry::Declined(d) => v.decline(d, today, caller).await?,
                        DemoEntry::Risk(id, r) => v.assess_risk(id, r, caller).await?,
                    };
                }
                Ok(())
            }
        })
        .await?;
    system.vaccinations.passivate_all();
    tracing::info!(entries, took_ms = started.elapsed().as_millis() as u64, "seeded the demo vaccinations");
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    //! What the demo modules' tests share, and the fingerprint of everything they generate.

    use super::clients::generate;
    use super::schedule::{SchedulePlan, Week, holidays, plan_schedule};
    use super::staff::{PEOPLE, staff_profile};
    use clowder_schemas::ids::{LocationId, UserId};
    use clowder_schemas::staff::CreateStaff;
    use jiff::civil::{Date, date};

    pub(super) const TODAY: Date = date(2026, 3, 15);

    pub(super) fn default_week() -> Week {
        let mut w: Week = [None; 7];
        for h in clowder_schemas::locations::default_hours() {
            w[h.day.index()] = Some((h.open, h.close));
        }
        w
    }

    pub(super) fn plan() -> SchedulePlan {
        plan_schedule(TODAY, &default_week(), &[], &generate(TODAY).patients)
    }

    /// FNV-1a (64-bit) of the text: a hash whose value is fixed by this code, not by a crate.
    fn fingerprint(text: &str) -> u64 {
        text.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3))
    }

    /// The generated clinic, the schedule plan, the staff profiles and the holidays, exactly
    /// as this build makes them. Any change to a generator, a table or the order of draws
    /// changes this; so does a new field in a generated record. If the change is meant,
    /// update the numbers (the other tests say whether the new data still makes sense).
    #[test]
    fn the_demo_data_is_exactly_what_it_was() {
        let clinic = generate(TODAY);
        let profiles: Vec<CreateStaff> = PEOPLE
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let user = p.username.map(|_| UserId::from_u128(i as u128 + 1));
                staff_profile(p, user, LocationId::from_u128(1), &default_week(), TODAY)
            })
            .collect();
        let closed = holidays(2026);
        let plan = plan_schedule(date(2026, 3, 17), &default_week(), &closed, &clinic.patients);
        // The year of history, and the vaccinations it is planned on (issue 15: added).
        let doses = super::vaccinations::plan_vaccinations(&clinic.patients, TODAY);
        let year = super::history::plan_history(&clinic.patients, &super::vaccinations::dose_dates(&doses), TODAY);
        let got = [
            fingerprint(&format!("{clinic:?}")),
            fingerprint(&format!("{plan:?}")),
            fingerprint(&format!("{profiles:?}")),
            fingerprint(&format!("{closed:?}")),
            fingerprint(&format!("{doses:?}")),
            fingerprint(&format!("{year:?}")),
        ];
        let want = [
            0x4CCA_2625_FF54_7521,
            0xE57B_0E53_A0A1_574E,
            0x7A55_0852_1213_F200,
            0x8B0B_22A0_A24B_3B58,
            0xE6AB_86C5_F6E7_6177,
            0x7C45_7BCF_3FE2_5107,
        ];
        assert_eq!(got, want, "the demo data changed");
    }
}
