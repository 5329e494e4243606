//! What a long medical record summary costs: one cat with enough visits (each with vitals
//! and a signed four-section SOAP note) for a summary of about 40 pages, built through the
//! real services and store (a temporary data directory), rendered, and measured: pages, bytes,
//! time per summary and the process's peak memory (VmHWM). Prints figures; asserts nothing.
//!
//! `cargo bench -p clowder-actors --bench record_summary`

mod fixture;

use std::time::Instant;

use clowder_actors::clinical::notes::ImportNote;
use clowder_actors::clinical::record_pdf::Period;
use clowder_actors::staff::accounts::NewUser;
use clowder_schemas::audit::Caller;
use clowder_schemas::notes::Soap;
use clowder_schemas::staff::CreateStaff;
use clowder_schemas::visits::{ImportVisit, VisitType};
use clowder_schemas::vitals::CreateVitals;
use jiff::SignedDuration;

/// Visits of the cat; about 3.5 visits fill a page with these notes.
const VISITS: usize = 175;
const RUNS: usize = 5;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(run());
}

/// The process's peak resident set (Linux), in MiB.
fn vm_hwm_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

async fn run() {
    let (_dir, system) = fixture::start();
    // The server writes its built-in roles at start (src/bootstrap.rs); so does the bench.
    system.roles.ensure_builtins().await.unwrap();
    let caller = Caller::system();
    let today = system.ctx.today();
    let user = system
        .accounts
        .create_user(
            NewUser {
                username: "dr.bench".into(),
                display_name: "Dr. Bench".into(),
                email: None,
                password: "bench-pass-phrase-1".into(),
                roles: vec!["veterinarian".into()],
                must_change_password: false,
            },
            &caller,
        )
        .await
        .unwrap();
    let staff: CreateStaff = serde_json::from_value(serde_json::json!({
        "first_name": "Zoë", "last_name": "Bench", "position": "veterinarian", "user_id": user.id,
        "licence": {"number": "VET-1", "state": "NY"}
    }))
    .unwrap();
    let vet = system.scheduling.setup.create_staff(&staff, &caller).await.unwrap();
    let client = fixture::owner(&system, &caller).await;
    let cat = fixture::cat(&system, &client, "Bijou", Some("2012-05-01"), today, &caller).await;

    let seeded = Instant::now();
    let now = system.ctx.clock.now();
    let paragraph = "Eating well at home, drinking a little more than usual; litter box normal. ".repeat(3);
    for i in 0..VISITS {
        let opened = now - SignedDuration::from_hours(24 * 3 * (VISITS - i) as i64);
        let body = ImportVisit {
            patient_id: cat.id,
            vet_id: vet.id,
            visit_type: VisitType::FollowUp,
            chief_complaint: format!("Recheck {i}: weight and kidney values"),
            location_id: None,
            completed_at: Some(opened + SignedDuration::from_mins(30)),
        };
        let visit = system.visits.import(opened, body, None, &caller).await.unwrap();
        let vitals: CreateVitals = serde_json::from_value(serde_json::json!({
            "patient_id": cat.id, "visit_id": visit.id, "taken_at": opened + SignedDuration::from_mins(5),
            "measurements": {"temperature_c": 38.5, "weight": {"value": 4.0 + (i % 10) as f64 / 10.0, "unit": "kg"},
                             "heart_rate": 180, "respiratory_rate": 28, "bcs": {"score": 5, "scale": 9}}
        }))
        .unwrap();
        system.vitals.record(vitals, now, &caller).await.unwrap();
        let note = ImportNote {
            soap: Soap {
                subjective: paragraph.clone(),
                objective: "Bright, alert, responsive. Mild dental tartar; kidneys small and firm on palpation.".into(),
                assessment: "Chronic kidney disease, IRIS stage 2, stable.".into(),
                plan: "Renal diet; recheck creatinine and SDMA in three months; blood pressure then.".into(),
            },
            signed_by: user.id,
        };
        system.notes.import(visit.id, opened + SignedDuration::from_mins(40), note, &caller).await.unwrap();
    }
    println!("seeded {VISITS} visits in {:.1} s", seeded.elapsed().as_secs_f64());

    let before = vm_hwm_mib();
    let mut times = Vec::with_capacity(RUNS);
    let mut pdf = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        pdf = system.charts.record_summary_pdf(cat.id, Period::default(), &caller).await.unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let pages = count_pages(&pdf);
    println!(
        "record summary: {VISITS} visits, {pages} pages, {} KiB; build+render median {:.0} ms (min {:.0}, max {:.0}) over {RUNS} runs",
        pdf.len() / 1024,
        times[RUNS / 2],
        times[0],
        times[RUNS - 1],
    );
    println!(
        "peak memory (VmHWM): {:.0} MiB before the summaries, {:.0} MiB after",
        before.unwrap_or(f64::NAN),
        vm_hwm_mib().unwrap_or(f64::NAN)
    );
}

/// Pages of a PDF as poppler's `pdfinfo` reads them ("?" without poppler).
fn count_pages(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("summary.pdf");
    std::fs::write(&path, pdf).unwrap();
    let Ok(out) = std::process::Command::new("pdfinfo").arg(&path).output() else { return "?".into() };
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines().find_map(|l| l.strip_prefix("Pages:")).map_or_else(|| "?".into(), |n| n.trim().to_owned())
}
