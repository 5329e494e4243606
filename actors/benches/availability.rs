//! What an availability query costs in process: 30 days × 6 vets at one location, each vet on
//! shift 08:00–17:00 every day and booked about 8 times a day, through the real services and
//! store (a temporary data directory). Prints figures; asserts nothing.
//!
//! `cargo bench -p clowder-actors --bench availability`

mod fixture;

use std::time::Instant;

use clowder_actors::scheduling::AvailabilityQuery;
use clowder_schemas::access::Permissions;
use clowder_schemas::appointments::CreateAppointment;
use clowder_schemas::audit::Caller;
use clowder_schemas::locations::CreateLocation;
use clowder_schemas::staff::{CreateShift, CreateStaff};
use jiff::civil::Time;
use jiff::{SignedDuration, ToSpan};

const VETS: usize = 6;
const DAYS: i32 = 31;
const BOOKINGS_PER_DAY: usize = 8;
const RUNS: usize = 2_000;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(run());
}

async fn run() {
    let (_dir, system) = fixture::start();
    let caller = Caller::system();
    let sched = &system.scheduling;
    sched.appointment_types.ensure_defaults().await.unwrap();
    let hours: Vec<serde_json::Value> = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
        .iter()
        .map(|d| serde_json::json!({"day": d, "open": "08:00", "close": "18:00"}))
        .collect();
    let body: CreateLocation = serde_json::from_value(serde_json::json!({
        "name": "Bench", "time_zone": "America/New_York", "hours": hours,
        "booking": {"min_notice_minutes": 0, "horizon_days": 365, "slot_step_minutes": 15}
    }))
    .unwrap();
    let loc = sched.setup.create_location(&body, &caller).await.unwrap();
    let wellness =
        sched.appointment_types.list(false).unwrap().into_iter().find(|t| t.name == "Wellness exam").unwrap();
    let tz = jiff::tz::TimeZone::get("America/New_York").unwrap();
    let today = system.ctx.clock.now().to_zoned(tz.clone()).date();
    let client = fixture::owner(&system, &caller).await;
    let started = Instant::now();
    let mut booked = 0;
    let mut first_vet = None;
    for v in 0..VETS {
        let staff: CreateStaff = serde_json::from_value(serde_json::json!({
            "first_name": format!("Vet{v}"), "last_name": "Bench", "position": "veterinarian",
            "capabilities": {"can_prescribe": true}, "home_location_id": loc.id
        }))
        .unwrap();
        let vet = sched.setup.create_staff(&staff, &caller).await.unwrap();
        first_vet.get_or_insert(vet.id);
        for d in 0..DAYS {
            let date = today.checked_add(d.days()).unwrap();
            let shift = CreateShift {
                location_id: loc.id,
                date,
                start: Time::constant(8, 0, 0, 0),
                end: Time::constant(17, 0, 0, 0),
                kind: Default::default(),
                break_minutes: 0,
                notes: None,
            };
            sched.setup.create_shift(vet.id, &shift, &caller).await.unwrap();
            for b in 0..BOOKINGS_PER_DAY {
                // A cat per booking keeps patients from clashing.
                let cat = fixture::cat(&system, &client, &format!("Cat{v}-{d}-{b}"), None, today, &caller).await;
                let start = date.at(8 + b as i8, 15, 0, 0).to_zoned(tz.clone()).unwrap().timestamp();
                let body = CreateAppointment {
                    client_id: client.id,
                    patient_id: cat.id,
                    type_id: wellness.id,
                    vet_id: Some(vet.id),
                    room_id: None,
                    location_id: Some(loc.id),
                    start,
                    end: None,
                    reason: None,
                    notes: None,
                    overbook: false,
                };
                if sched.calendar.book(&body, &Permissions::everything(), &caller).await.is_ok() {
                    booked += 1;
                }
            }
        }
    }
    println!("setup: {VETS} vets × {DAYS} days, {booked} bookings, in {:.1} s", started.elapsed().as_secs_f64());
    let first_vet = first_vet.unwrap();
    let from = system.ctx.clock.now();
    let q = AvailabilityQuery {
        type_id: wellness.id,
        from,
        to: from.saturating_add(SignedDuration::from_hours(24 * 30)).unwrap(),
        vet: None,
        location: Some(loc.id),
    };
    let first = sched.calendar.free_slots(&q).unwrap();
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let t = Instant::now();
        let a = sched.calendar.free_slots(&q).unwrap();
        times.push(t.elapsed());
        std::hint::black_box(a);
    }
    times.sort();
    let pct = |p: f64| times[((times.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1e6;
    println!(
        "availability, 30 days × {VETS} vets ({} vet × start offers, {} bytes of JSON): p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs over {RUNS} runs",
        first.vets.iter().flat_map(|v| &v.days).map(|d| d.starts.len()).sum::<usize>(),
        serde_json::to_vec(&first).unwrap().len(),
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    let t = Instant::now();
    for _ in 0..RUNS {
        std::hint::black_box(sched.appointment_types.get(wellness.id).unwrap());
    }
    println!("types.get: {:.1} µs each", t.elapsed().as_secs_f64() * 1e6 / RUNS as f64);
    // The same for one vet: what each vet adds, against what every query pays.
    let one = AvailabilityQuery { vet: Some(first_vet), ..q };
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let t = Instant::now();
        std::hint::black_box(sched.calendar.free_slots(&one).unwrap());
        times.push(t.elapsed());
    }
    times.sort();
    let pct = |p: f64| times[((times.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1e6;
    println!("availability, 30 days × 1 vet: p50 {:.0} µs, p99 {:.0} µs", pct(0.5), pct(0.99));
    system.shutdown().await;
}
