//! The HTTP scenarios: their setup (seeding the data they need) and their workload.
//!
//! `read` seeds a small set of clients, each with one cat, then reads the cats at random;
//! `write` creates clients with unique data; `book` creates locations, a vet and a cat per
//! connection, then books appointments that never conflict (see [`book`]); `availability`
//! seeds six vets' shifts and bookings for 30 days, then asks for the free slots (see
//! [`availability`]). Each returns one [`ScenarioSummary`]. `signin` seeds one cat and a few
//! staff users, reads the cat alone, then reads it while the users sign in over and over
//! beside the reads, and returns three rows (see [`signin`]). `search` seeds clients with two
//! cats each, waits for the index, then searches names with typos and exact phones and
//! microchips, and returns two rows (see [`search`]).

use std::collections::BTreeMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Arc;

use anyhow::{Context, Result};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use reqwest::Url;
use tokio::task::JoinSet;

use clowder_schemas::appointment_types::AppointmentType;
use clowder_schemas::{ClientId, LocationId, PatientId, StaffId};

use crate::api::Api;
use crate::bodies::{
    NewAppointment, NewClient, NewLocation, NewPatient, NewRoom, NewShift, NewVet, StaffAccount, staff_accounts,
};
use crate::cli::SETUP_BUDGET;
use crate::fanout::{self, FanoutFigures, Seen};
use crate::load::{Window, Workload, drive, drive_from};
use crate::process::{ServerProcess, clock_ticks_per_sec, cpu_us_per_request};
use crate::report::{
    AVAILABILITY, BOOK, FANOUT, FANOUT_CHANGES, READ, READ_WITH_SIGNIN, SEARCH_EXACT, SEARCH_NAMES, SIGNIN,
    ScenarioSummary, WRITE,
};
use crate::run::progress;
use crate::scheduling::{
    AVAILABILITY_TYPE, AVAILABILITY_VETS, AvailabilitySeed, AvailabilityWindow, BOOK_HORIZON_DAYS, BOOK_TYPE, DAY_VIEW,
    DAY_VIEW_APPOINTMENTS, DAY_VIEW_CLIENTS, DAY_VIEW_VETS, DayAnswer, Lane, SHIFT_END, SHIFT_START, SeedBooking,
    SlotWalk, TIME_ZONE, day_view_bookings, day_view_date, day_view_owner, first_booking_start, seed_bookings,
};
use crate::search::{
    CATS_PER_CLIENT, Clinic, Expect, INDEX_POLL, INDEX_WAIT, LIMIT as SEARCH_LIMIT, PROBE_QUERIES, ProbeCount,
    QUERY_SET, SEED_IN_FLIGHT, SearchFigures, hit_ids,
};
use crate::stats::{Latency, new_histogram};

/// Concurrent requests while seeding: enough to seed a few hundred records in seconds,
/// few enough not to be a load test of its own.
const SEED_WORKERS: u32 = 16;

/// How a run drives its scenarios.
#[derive(Debug, Clone)]
pub struct Plan {
    pub connections: u16,
    pub window: Window,
    /// Clients (each with one patient) seeded for `read`.
    pub read_set: u32,
    /// Staff users created for `signin`.
    pub signin_users: u16,
    /// Connections signing in, in `signin`, beside `connections` reading.
    pub signin_connections: u16,
    /// Locations created for `book`.
    pub locations: u16,
    /// When the run started: where `book` walks from and `availability` asks from.
    pub now: Timestamp,
    /// Distinguishes this run's data from earlier runs' in the same data directory.
    pub run_tag: String,
    pub seed: u64,
}

/// Seeds the read set, then reads it at random.
pub async fn read(api: &Arc<Api>, plan: &Plan) -> Result<ScenarioSummary> {
    let ids = tokio::time::timeout(SETUP_BUDGET, seed_patients(api, plan.read_set))
        .await
        .with_context(|| format!("seeding the read set took longer than {} s", SETUP_BUDGET.as_secs()))??;
    let workload = Workload::read_patients(ids)?;
    run(READ, api, workload, plan).await
}

/// Creates clients with data unique to this run.
pub async fn write(api: &Arc<Api>, plan: &Plan) -> Result<ScenarioSummary> {
    let workload = Workload::create_clients(plan.run_tag.clone());
    run(WRITE, api, workload, plan).await
}

/// Creates `locations` locations, and for each connection a vet (at location `connection mod
/// locations`) and a client with one cat: one [`Lane`] per connection. Then each connection
/// books the default "Vaccination" type for its own vet and cat, walking forward from the next
/// UTC midnight in steps of the type's length plus buffer (see [`SlotWalk`]), so every answer
/// should be a 201; a 409 is counted as an error like any other.
pub async fn book(api: &Arc<Api>, plan: &Plan) -> Result<ScenarioSummary> {
    let workload = tokio::time::timeout(SETUP_BUDGET, book_setup(api, plan))
        .await
        .with_context(|| format!("setting up the book scenario took longer than {} s", SETUP_BUDGET.as_secs()))??;
    run(BOOK, api, workload, plan).await
}

async fn book_setup(api: &Arc<Api>, plan: &Plan) -> Result<Workload> {
    let vaccination = appointment_type(api, BOOK_TYPE).await?;
    let mut locations = Vec::with_capacity(usize::from(plan.locations));
    for n in 0..plan.locations {
        locations.push(api.create_location(&NewLocation::numbered(&plan.run_tag, n)).await?);
    }
    let homes: Vec<_> = (0..usize::from(plan.connections)).map(|i| locations[i % locations.len()]).collect();
    let bodies: Vec<NewVet> = homes.iter().enumerate().map(|(i, &home)| NewVet::numbered(i, home)).collect();
    let vets = in_parallel(api, bodies, |api, body| async move { api.create_vet(&body).await }).await?;
    let pets = seed_pets(api, u32::from(plan.connections)).await?;
    let lanes = homes
        .into_iter()
        .zip(vets)
        .zip(pets)
        .map(|((location_id, vet_id), (client_id, patient_id))| Lane { location_id, vet_id, client_id, patient_id })
        .collect();
    let step = i64::from(vaccination.duration_minutes) + i64::from(vaccination.buffer_after_minutes);
    let walk = SlotWalk::new(first_booking_start(plan.now), step, BOOK_HORIZON_DAYS)?;
    Workload::book(vaccination.id, lanes, walk)
}

/// Creates one location open 08:00–18:00 every day and [`AVAILABILITY_VETS`] vets there, each
/// with a cat of their own, a shift 08:00–17:00 every local day of the next
/// [`crate::scheduling::AVAILABILITY_DAYS`] days and eight "Wellness exam" bookings a day
/// (see [`seed_bookings`]). Asks once and checks the answer (see [`AvailabilitySeed::check`]),
/// then asks the same question on every connection: that type, that location, from now for
/// 30 days. Until the server has the endpoint the probe says so and the row counts 404s.
pub async fn availability(api: &Arc<Api>, plan: &Plan) -> Result<ScenarioSummary> {
    let url = tokio::time::timeout(SETUP_BUDGET, availability_setup(api, plan)).await.with_context(|| {
        format!("setting up the availability scenario took longer than {} s", SETUP_BUDGET.as_secs())
    })??;
    run(AVAILABILITY, api, Workload::availability(url), plan).await
}

async fn availability_setup(api: &Arc<Api>, plan: &Plan) -> Result<Url> {
    let wellness = appointment_type(api, AVAILABILITY_TYPE).await?;
    let tz = TimeZone::get(TIME_ZONE).with_context(|| format!("looking up the time zone {TIME_ZONE}"))?;
    let window = AvailabilityWindow::starting(plan.now)?;
    let location_id = api.create_location(&NewLocation::open_every_day(&plan.run_tag)).await?;
    let pets = seed_pets(api, u32::from(AVAILABILITY_VETS)).await?;
    let dates = window.local_dates(&tz);
    let (vets, seeded) = book_vets(api, Some("availability"), &wellness, &tz, location_id, &dates, &pets).await?;
    let mut booked: BTreeMap<_, Vec<_>> = BTreeMap::new();
    for b in &seeded {
        booked.entry(vets[b.vet]).or_default().push((b.start, b.end));
    }

    let seed = AvailabilitySeed { location_id, type_id: wellness.id, tz, window, booked };
    let url = api.availability_url(wellness.id, location_id, window.from, window.to);
    match api.probe_availability(&url).await {
        Ok((answer, bytes)) => {
            let check = seed.check(&answer, i64::from(wellness.duration_minutes));
            progress(&format!("availability: the probe answered {bytes} bytes: {check}"));
        }
        Err(e) => progress(&format!("availability: the probe failed ({e:#}); measuring what the server answers")),
    }
    match api.answer_bytes(&url).await {
        Ok((_, sizes)) => progress(&format!("availability: answer {sizes}")),
        Err(e) => progress(&format!("availability: could not measure the answer's bytes ({e:#})")),
    }
    Ok(url)
}

/// One vet per cat of `pets` at `location_id`, vet `i` with a shift 08:00–17:00 on each of
/// `dates` and the "Wellness exam" bookings of [`seed_bookings`] for cat `pets[i]` (so no cat
/// is in two places at once). Returns the vets and the bookings made; with a `label`, says
/// how many shifts and bookings on the progress line.
pub(crate) async fn book_vets(
    api: &Arc<Api>,
    label: Option<&str>,
    wellness: &AppointmentType,
    tz: &TimeZone,
    location_id: LocationId,
    dates: &[jiff::civil::Date],
    pets: &[(ClientId, PatientId)],
) -> Result<(Vec<StaffId>, Vec<SeedBooking>)> {
    let bodies: Vec<NewVet> = (0..pets.len()).map(|i| NewVet::numbered(i, location_id)).collect();
    let vets = in_parallel(api, bodies, |api, body| async move { api.create_vet(&body).await }).await?;
    let shifts: Vec<_> = dates
        .iter()
        .flat_map(|&date| {
            vets.iter().map(move |&vet| (vet, NewShift { location_id, date, start: SHIFT_START, end: SHIFT_END }))
        })
        .collect();
    if let Some(label) = label {
        progress(&format!("{label}: {} shifts", shifts.len()));
    }
    in_parallel(api, shifts, |api, (vet, body)| async move { api.create_shift(vet, &body).await }).await?;
    let length = i64::from(wellness.duration_minutes);
    let seeded = seed_bookings(tz, dates, vets.len(), length, length + i64::from(wellness.buffer_after_minutes))?;
    let bodies: Vec<NewAppointment> = seeded
        .iter()
        .map(|b| NewAppointment {
            client_id: pets[b.vet].0,
            patient_id: pets[b.vet].1,
            type_id: wellness.id,
            vet_id: vets[b.vet],
            location_id,
            start: b.start,
            room_id: None,
            reason: None,
        })
        .collect();
    if let Some(label) = label {
        progress(&format!("{label}: {} bookings", bodies.len()));
    }
    in_parallel(api, bodies, |api, body| async move { api.create_appointment(&body).await }).await?;
    Ok((vets, seeded))
}

/// Fills one day at a new location as a busy front desk sees it (see
/// [`day_view_bookings`]: 6 vets in 6 exam rooms, 60 "Wellness exam" appointments with
/// reasons, 60 cats of 45 clients), prints the day view's bytes plain and gzipped and what it
/// holds, then asks for that day view on every connection.
pub async fn day_view(api: &Arc<Api>, plan: &Plan) -> Result<ScenarioSummary> {
    let url = tokio::time::timeout(SETUP_BUDGET, day_view_setup(api, plan))
        .await
        .with_context(|| format!("setting up the day-view scenario took longer than {} s", SETUP_BUDGET.as_secs()))??;
    run(DAY_VIEW, api, Workload::DayView { url }, plan).await
}

async fn day_view_setup(api: &Arc<Api>, plan: &Plan) -> Result<Url> {
    let wellness = appointment_type(api, AVAILABILITY_TYPE).await?;
    let tz = TimeZone::get(TIME_ZONE).with_context(|| format!("looking up the time zone {TIME_ZONE}"))?;
    let location_id = api.create_location(&NewLocation::day_view(&plan.run_tag)).await?;
    let rooms: Vec<NewRoom> = (0..DAY_VIEW_VETS).map(|i| NewRoom::day_view(i, location_id)).collect();
    let rooms = in_parallel(api, rooms, |api, body| async move { api.create_room(&body).await }).await?;
    let vets: Vec<NewVet> = (0..DAY_VIEW_VETS).map(|i| NewVet::numbered(i, location_id)).collect();
    let vets = in_parallel(api, vets, |api, body| async move { api.create_vet(&body).await }).await?;
    let mut pets = seed_pets(api, DAY_VIEW_CLIENTS as u32).await?;
    let second: Vec<(usize, ClientId)> =
        (DAY_VIEW_CLIENTS..DAY_VIEW_APPOINTMENTS).map(|n| (n, pets[day_view_owner(n)].0)).collect();
    let more = in_parallel(api, second, |api, (n, client)| async move {
        let cat = api.create_patient(&NewPatient::for_client(client, n as u64)).await.context("seeding cats")?;
        Ok((client, cat))
    })
    .await?;
    pets.extend(more);
    let date = day_view_date(plan.now, &tz)?;
    let bodies: Vec<NewAppointment> = day_view_bookings(&tz, date)?
        .into_iter()
        .map(|b| NewAppointment {
            client_id: pets[b.cat].0,
            patient_id: pets[b.cat].1,
            type_id: wellness.id,
            vet_id: vets[b.vet],
            location_id,
            start: b.start,
            room_id: Some(rooms[b.room]),
            reason: Some(b.reason),
        })
        .collect();
    progress(&format!("day-view: {} bookings on {date}", bodies.len()));
    in_parallel(api, bodies, |api, body| async move { api.create_appointment(&body).await }).await?;
    let url = api.day_view_url(date, location_id);
    match api.answer_bytes(&url).await {
        Ok((body, sizes)) => match serde_json::from_slice::<DayAnswer>(&body) {
            Ok(day) => progress(&format!("day-view: answer {sizes}: {day}")),
            Err(e) => progress(&format!("day-view: answer {sizes}, not in the lean shape ({e})")),
        },
        Err(e) => progress(&format!("day-view: the probe failed ({e:#}); measuring what the server answers")),
    }
    Ok(url)
}

/// The active appointment type called `name` (one of the defaults every clinic starts with).
pub(crate) async fn appointment_type(api: &Api, name: &str) -> Result<AppointmentType> {
    let types = api.appointment_types().await?;
    types.into_iter().find(|t| t.active && t.name.eq_ignore_ascii_case(name)).with_context(|| {
        format!("the server has no active appointment type {name:?} (one of the defaults; renamed or retired?)")
    })
}

/// Seeds one patient and `signin_users` staff users (each past its first password change),
/// then runs two windows one after the other: GETs of the patient alone (row `read`), then the
/// same GETs with `signin_connections` connections signing in beside them (rows
/// `read+signin` and `signin`). Argon2 makes a sign-in expensive on purpose; the difference
/// between the two GET rows shows whether it holds up the other requests.
pub async fn signin(api: &Arc<Api>, plan: &Plan) -> Result<Vec<ScenarioSummary>> {
    let (ids, accounts) = tokio::time::timeout(SETUP_BUDGET, async {
        let ids = seed_patients(api, 1).await?;
        // The accounts are real ones on the server: their passwords come from the OS
        // randomness behind `RandomState`, not from the clock-based run seed.
        let accounts = staff_accounts(&plan.run_tag, plan.signin_users, RandomState::new().hash_one(plan.seed));
        create_staff(api, &accounts).await?;
        anyhow::Ok((ids, accounts))
    })
    .await
    .with_context(|| format!("setting up the signin scenario took longer than {} s", SETUP_BUDGET.as_secs()))??;
    let reads = Arc::new(Workload::read_patients(ids)?);
    let sign_ins = Arc::new(Workload::sign_in(accounts)?);

    let alone = drive(api.clone(), reads.clone(), plan.connections, plan.window, plan.seed)
        .await
        .context("running the GETs alone")?;

    let start = tokio::time::Instant::now();
    let beside = drive_from(start, api.clone(), reads, plan.connections, plan.window, plan.seed);
    let signing_in = drive_from(start, api.clone(), sign_ins, plan.signin_connections, plan.window, plan.seed);
    let (beside, signing_in) = tokio::join!(beside, signing_in);
    let beside = beside.context("running the GETs beside the sign-ins")?;
    let signing_in = signing_in.context("running the sign-ins")?;

    let row = |name: &str, connections: u16, tally| ScenarioSummary::new(name, connections, plan.window.measure, tally);
    Ok(vec![
        row(READ, plan.connections, &alone),
        row(READ_WITH_SIGNIN, plan.connections, &beside),
        row(SIGNIN, plan.signin_connections, &signing_in),
    ])
}

/// Sets up one room (at the first location the server lists, or a new one) and a client with
/// a cat, opens `dashboards` sockets following the room, then changes the room's state 100
/// times a second (see [`crate::fanout`]). Returns the rows `fanout` (one per delivered frame:
/// commit → arrival) and `fanout-changes` (the `POST`s making the events), and the server
/// figures; `server` (from `--server-pid`) is needed for the CPU and RSS ones.
pub async fn fanout(
    api: &Arc<Api>,
    plan: &Plan,
    dashboards: u16,
    server: Option<ServerProcess>,
) -> Result<(Vec<ScenarioSummary>, FanoutFigures)> {
    let (room, sockets, rss_before, rss_after) = tokio::time::timeout(SETUP_BUDGET, async {
        let location = match api.first_location().await? {
            Some(location) => location,
            None => api.create_location(&NewLocation::numbered(&plan.run_tag, 0)).await?,
        };
        seed_pets(api, 1).await?;
        let room = api.create_room(&NewRoom::fanout(&plan.run_tag, location)).await?;
        let rss_before = server.map(|s| s.rss_kib()).transpose()?;
        progress(&format!("fanout: opening {dashboards} sockets on room:{room}"));
        let sockets = fanout::open(api, room, dashboards).await?;
        tokio::time::sleep(fanout::SETTLE).await;
        let rss_after = server.map(|s| s.rss_kib()).transpose()?;
        anyhow::Ok((room, sockets, rss_before, rss_after))
    })
    .await
    .with_context(|| format!("setting up the fanout scenario took longer than {} s", SETUP_BUDGET.as_secs()))??;
    progress(&format!(
        "fanout: {} sockets subscribed; changing the room {} times a second",
        sockets.len(),
        fanout::EVENTS_PER_SEC
    ));
    let (produced, seen) = sockets.run(api, room, plan.window.warmup, plan.window.measure, server).await?;

    let delivery = fanout::count_delivery(&seen, produced.changes.ok());
    let mut frames = new_histogram();
    for socket in &seen {
        frames.add(&socket.latency_us).context("merging the sockets' latencies")?;
    }
    let ended: Vec<&Seen> = seen.iter().filter(|s| s.ended.is_some()).collect();
    let secs = plan.window.measure.as_secs_f64();
    let mut errors = BTreeMap::new();
    if delivery.missing > 0 {
        errors.insert("missing".to_string(), delivery.missing);
    }
    if delivery.out_of_order > 0 {
        errors.insert("out_of_order".to_string(), delivery.out_of_order);
    }
    let row = ScenarioSummary {
        scenario: FANOUT.into(),
        connections: dashboards,
        duration_secs: secs,
        requests: delivery.expected,
        ok: delivery.delivered,
        ok_per_sec: if secs > 0.0 { delivery.delivered as f64 / secs } else { 0.0 },
        errors,
        latency: Latency::of(&frames),
        ran_out: 0,
    };
    let changes = ScenarioSummary::new(FANOUT_CHANGES, 1, plan.window.measure, &produced.changes);
    let figures = FanoutFigures {
        dashboards,
        events: delivery.events,
        frames_expected: delivery.expected,
        frames_delivered: delivery.delivered,
        missing: delivery.missing,
        out_of_order: delivery.out_of_order,
        sockets_ended: ended.len() as u64,
        first_end_reason: ended.first().and_then(|s| s.ended.clone()),
        server_cpu_us_per_frame: produced
            .cpu_ticks
            .and_then(|ticks| fanout::cpu_micros_per_frame(ticks, delivery.delivered)),
        rss_before_kib: rss_before,
        rss_after_kib: rss_after,
        rss_kib_per_socket: rss_before
            .zip(rss_after)
            .and_then(|(before, after)| fanout::rss_kib_per_socket(before, after, u64::from(dashboards))),
    };
    Ok((vec![row, changes], figures))
}

/// Creates each account, signs in with its temporary password and changes it, as a new
/// user must before anything else; a few accounts at a time.
async fn create_staff(api: &Arc<Api>, accounts: &[StaffAccount]) -> Result<()> {
    let mut workers = JoinSet::new();
    let workers_wanted = (SEED_WORKERS as usize).min(accounts.len());
    for worker in 0..workers_wanted {
        let api = api.clone();
        let mine: Vec<StaffAccount> = accounts.iter().skip(worker).step_by(SEED_WORKERS as usize).cloned().collect();
        workers.spawn(async move {
            for account in &mine {
                api.create_user(&account.new_user()).await?;
                let bearer = api.staff_sign_in(&account.new_user_credentials()).await?;
                api.change_password(&bearer, &account.password_change()).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(joined) = workers.join_next().await {
        joined.context("a task creating users panicked")?.context("creating the signin scenario's users")?;
    }
    Ok(())
}

/// Seeds `clients` clients with two cats each (names, breed, colour, most with a microchip;
/// see [`Clinic`]), [`SEED_IN_FLIGHT`] requests at a time, then waits until a search finds the
/// last client by its phone. Asks [`PROBE_QUERIES`] queries of each kind once and counts how
/// many found their record. Then two windows on `connections` connections, one after the
/// other: typo-tolerant names (row `search-names`), then exact phones and microchips (row
/// `search-exact`). With `server`, reads its RSS before seeding, once indexed and at the end.
pub async fn search(
    api: &Arc<Api>,
    plan: &Plan,
    clients: u32,
    connections: u16,
    server: Option<ServerProcess>,
    budget: std::time::Duration,
) -> Result<(Vec<ScenarioSummary>, SearchFigures)> {
    let clinic = Clinic { clients: u64::from(clients), seed: plan.seed };
    let (mut figures, client_ids, patient_ids) = tokio::time::timeout(budget, search_setup(api, clinic, server))
        .await
        .with_context(|| format!("setting up the search scenario took longer than {} s", budget.as_secs()))??;

    let names = clinic.name_queries(QUERY_SET);
    let exact = clinic.exact_queries(QUERY_SET);
    let expect_name = |n: &u64| client_ids[*n as usize].to_string();
    let expect_exact = |e: &Expect| match *e {
        Expect::Client(n) => client_ids[n as usize].to_string(),
        Expect::Patient(n) => patient_ids[n as usize].to_string(),
    };
    figures.names_probe = probe(api, names.iter().take(PROBE_QUERIES).map(|(q, n)| (q, expect_name(n)))).await?;
    figures.exact_probe = probe(api, exact.iter().take(PROBE_QUERIES).map(|(q, e)| (q, expect_exact(e)))).await?;
    progress(&format!(
        "search: probe found {} of {} typo'd names and {} of {} exact queries; {connections} connections search",
        figures.names_probe.found, figures.names_probe.asked, figures.exact_probe.found, figures.exact_probe.asked
    ));

    let mut rows = Vec::new();
    for (name, queries) in [
        (SEARCH_NAMES, names.iter().map(|(q, _)| q.as_str()).collect::<Vec<_>>()),
        (SEARCH_EXACT, exact.iter().map(|(q, _)| q.as_str()).collect()),
    ] {
        let urls = queries.into_iter().map(|q| api.search_url(q, SEARCH_LIMIT)).collect();
        // The server's CPU from the end of the warm-up to the last answer, as `compare` reads it.
        let start = tokio::time::Instant::now();
        let cpu_at_start = async move {
            tokio::time::sleep_until(start + plan.window.warmup).await;
            server.map(|s| s.cpu_ticks()).transpose()
        };
        let drive =
            drive_from(start, api.clone(), Arc::new(Workload::search(urls)?), connections, plan.window, plan.seed);
        let (tally, before) = tokio::join!(drive, cpu_at_start);
        let tally = tally.with_context(|| format!("running the {name} searches"))?;
        let summary = ScenarioSummary::new(name, connections, plan.window.measure, &tally);
        let after = server.map(|s| s.cpu_ticks()).transpose()?;
        let cpu = before?
            .zip(after)
            .and_then(|(b, a)| cpu_us_per_request(a.saturating_sub(b), clock_ticks_per_sec(), summary.requests));
        figures.cpu_us_per_search.push((name, cpu));
        rows.push(summary);
    }
    figures.rss_after_kib = server.map(|s| s.rss_kib()).transpose()?;
    Ok((rows, figures))
}

pub(crate) async fn search_setup(
    api: &Arc<Api>,
    clinic: Clinic,
    server: Option<ServerProcess>,
) -> Result<(SearchFigures, Vec<ClientId>, Vec<PatientId>)> {
    let rss_before_kib = server.map(|s| s.rss_kib()).transpose()?;
    let started = tokio::time::Instant::now();
    let seeded = in_parallel_by(api, SEED_IN_FLIGHT, (0..clinic.clients).collect(), move |api, n| async move {
        let client = api.create_client(&clinic.client(n)).await.context("seeding the search clients")?;
        let mut cats = Vec::with_capacity(CATS_PER_CLIENT as usize);
        for cat in 0..CATS_PER_CLIENT {
            cats.push(api.create_patient(&clinic.patient(client, n, cat)).await.context("seeding the search cats")?);
        }
        Ok((client, cats))
    })
    .await?;
    let seed_secs = started.elapsed().as_secs_f64();
    let (client_ids, cats): (Vec<ClientId>, Vec<Vec<PatientId>>) = seeded.into_iter().unzip();
    let patient_ids: Vec<PatientId> = cats.into_iter().flatten().collect();
    progress(&format!(
        "search: seeded {} clients and {} cats in {seed_secs:.1} s; waiting for the index",
        client_ids.len(),
        patient_ids.len()
    ));

    // The last client created, looked up by its phone, which no other client of the run has.
    let last = clinic.clients - 1;
    let url = api.search_url(&clinic.phone(last), SEARCH_LIMIT);
    let wanted = client_ids[last as usize].to_string();
    let waiting = tokio::time::Instant::now();
    loop {
        let answer = api.probe_search(&url).await?;
        if hit_ids(&answer).contains(&wanted.as_str()) {
            break;
        }
        if waiting.elapsed() > INDEX_WAIT {
            anyhow::bail!(
                "the search did not find the last seeded client ({wanted}) within {} s of seeding",
                INDEX_WAIT.as_secs()
            );
        }
        tokio::time::sleep(INDEX_POLL).await;
    }
    let figures = SearchFigures {
        clients: client_ids.len() as u64,
        patients: patient_ids.len() as u64,
        seed_secs,
        index_catch_up_secs: waiting.elapsed().as_secs_f64(),
        rss_before_kib,
        rss_indexed_kib: server.map(|s| s.rss_kib()).transpose()?,
        ..SearchFigures::default()
    };
    Ok((figures, client_ids, patient_ids))
}

/// Asks each query once and counts those whose answer lists the expected record.
async fn probe<'a>(api: &Api, queries: impl Iterator<Item = (&'a String, String)>) -> Result<ProbeCount> {
    let mut count = ProbeCount::default();
    for (q, wanted) in queries {
        let answer = api.probe_search(&api.search_url(q, SEARCH_LIMIT)).await?;
        count.asked += 1;
        count.found += u64::from(hit_ids(&answer).contains(&wanted.as_str()));
    }
    Ok(count)
}

async fn run(name: &str, api: &Arc<Api>, workload: Workload, plan: &Plan) -> Result<ScenarioSummary> {
    let tally = drive(api.clone(), Arc::new(workload), plan.connections, plan.window, plan.seed)
        .await
        .with_context(|| format!("running the {name} scenario"))?;
    Ok(ScenarioSummary::new(name, plan.connections, plan.window.measure, &tally))
}

/// Creates `count` clients with one patient each and returns the patients' ids.
async fn seed_patients(api: &Arc<Api>, count: u32) -> Result<Vec<PatientId>> {
    Ok(seed_pets(api, count).await?.into_iter().map(|(_, patient)| patient).collect())
}

/// Creates `count` clients with one patient each and returns both ids, in order.
pub(crate) async fn seed_pets(api: &Arc<Api>, count: u32) -> Result<Vec<(ClientId, PatientId)>> {
    in_parallel(api, (0..u64::from(count)).collect(), |api, n| async move {
        let client = api.create_client(&NewClient::seed(n)).await.context("seeding clients")?;
        let patient = api.create_patient(&NewPatient::for_client(client, n)).await.context("seeding patients")?;
        Ok((client, patient))
    })
    .await
}

/// Runs `call` on every item, [`SEED_WORKERS`] at a time, and returns the results in the
/// items' order; the first error stops the lot.
pub(crate) async fn in_parallel<T, R, F, Fut>(api: &Arc<Api>, items: Vec<T>, call: F) -> Result<Vec<R>>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(Arc<Api>, T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R>> + Send + 'static,
{
    in_parallel_by(api, SEED_WORKERS, items, call).await
}

/// [`in_parallel`] with `workers` calls at a time.
async fn in_parallel_by<T, R, F, Fut>(api: &Arc<Api>, workers: u32, items: Vec<T>, call: F) -> Result<Vec<R>>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(Arc<Api>, T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R>> + Send + 'static,
{
    let count = items.len();
    let workers = workers.max(1) as usize;
    let mut queues: Vec<Vec<(usize, T)>> = (0..workers).map(|_| Vec::new()).collect();
    for (i, item) in items.into_iter().enumerate() {
        queues[i % workers].push((i, item));
    }
    let call = Arc::new(call);
    let mut workers = JoinSet::new();
    for queue in queues.into_iter().filter(|q| !q.is_empty()) {
        let (api, call) = (api.clone(), call.clone());
        workers.spawn(async move {
            let mut done = Vec::with_capacity(queue.len());
            for (i, item) in queue {
                done.push((i, call(api.clone(), item).await?));
            }
            anyhow::Ok(done)
        });
    }
    let mut results = Vec::with_capacity(count);
    // Dropping the set on the first error aborts the other workers.
    while let Some(joined) = workers.join_next().await {
        results.extend(joined.context("a setup task panicked")??);
    }
    results.sort_unstable_by_key(|&(i, _)| i);
    Ok(results.into_iter().map(|(_, r)| r).collect())
}
