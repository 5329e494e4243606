//! The `clinic` scenario: seeds a clinic of the size the backup goals are set for (issue 13:
//! 100,000 patients and five years of history), over the API, as fast as the server takes it.
//! It measures nothing; it prints what it made and how long each phase took.
//!
//! What it makes: `patients` cats of `0.6 × patients` clients (two fifths of the clients
//! have two cats, the rest one; names, phones, breeds and microchips as in the search
//! scenario), then for each cat and year `visits_per_year` visits, each one PATCH of the cat
//! (a note with the weight, sometimes allergies or insurance: the fields a visit changes
//! that exist today), then `reads_per_year` audited reads (GET of the cat) per cat and year.
//! So the event log holds one event per client, cat and visit, and the audit trail one entry
//! per write and read, as five years would leave them. What it cannot make: history *in the
//! past*. Every record is stamped now, and there are no appointments, invoices or clinical
//! notes: the API books no appointment in the past, and the other record kinds do not exist
//! yet. A real clinic's store is therefore larger per cat than this one.
//!
//! Everything here except [`run`] is a pure function of numbers, so it is unit-tested.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use tokio::task::JoinSet;
use tokio::time::Instant;

use clowder_schemas::{ClientId, PatientId};

use crate::api::Api;
use crate::cli::Args;
use crate::rng::SplitMix64;
use crate::run::{plan, progress, sign_in};
use crate::search::Clinic;
use crate::stats::Outcome;

/// Visits per cat and year by default: a cat seen for its yearly check and two problems.
pub const VISITS_PER_YEAR: u32 = 3;

/// Audited reads per cat and year by default: the record opened at check-in, by the vet and
/// at check-out of about two of the visits.
pub const READS_PER_YEAR: u32 = 6;

/// Time allowed per request in the hard cap (far above what the server needs).
const BUDGET_PER_REQUEST: Duration = Duration::from_millis(2);

/// How often a phase reports its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(15);

/// A share of failed history requests above which the run fails (a few 503s under overload
/// are tolerated; a broken endpoint is not).
const MAX_FAILED_SHARE: f64 = 0.001;

/// What the clinic scenario makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ClinicPlan {
    pub patients: u64,
    pub years: u32,
    pub visits_per_year: u32,
    pub reads_per_year: u32,
}

/// Who owns cat `n`: the client's number and which of its cats this is (0 or 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub client: u64,
    pub which: u64,
}

/// One request of the history: which cat, which year, which visit of the year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub cat: u64,
    pub year: u32,
    pub index: u32,
}

impl ClinicPlan {
    /// Clients with two cats: two fifths of the cats' count.
    pub fn two_cat_clients(&self) -> u64 {
        self.patients * 2 / 5
    }

    /// All clients: about 0.6 × the cats (exactly when the cats are a multiple of 5).
    pub fn clients(&self) -> u64 {
        self.patients - self.two_cat_clients()
    }

    /// Cat `n`'s owner: the first `2 × two_cat_clients` cats go two by two, the rest one each.
    pub fn owner(&self, n: u64) -> Owner {
        let paired = 2 * self.two_cat_clients();
        if n < paired {
            Owner { client: n / 2, which: n % 2 }
        } else {
            Owner { client: self.two_cat_clients() + (n - paired), which: 0 }
        }
    }

    pub fn visits(&self) -> u64 {
        self.patients * u64::from(self.years) * u64::from(self.visits_per_year)
    }

    pub fn reads(&self) -> u64 {
        self.patients * u64::from(self.years) * u64::from(self.reads_per_year)
    }

    /// Every request the scenario sends.
    pub fn requests(&self) -> u64 {
        self.clients() + self.patients + self.visits() + self.reads()
    }

    /// The `j`-th request of a history phase of `per_year` requests per cat and year: year by
    /// year, and within a year cat after cat, so requests in flight together touch different
    /// cats (no queue behind one cat's actor).
    pub fn step(&self, j: u64, per_year: u32) -> Step {
        let per_year = u64::from(per_year.max(1));
        let cats = self.patients.max(1);
        let round = j / cats;
        Step { cat: j % cats, year: (round / per_year) as u32, index: (round % per_year) as u32 }
    }
}

/// The hard cap's share for seeding `plan`.
pub fn budget(plan: &ClinicPlan) -> Duration {
    BUDGET_PER_REQUEST.saturating_mul(u32::try_from(plan.requests()).unwrap_or(u32::MAX))
}

/// Body of one visit's `PATCH /api/patients/{id}`: the fields a visit changes that the
/// patient record has (no weight field exists: the weight goes in the note).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VisitPatch {
    pub behavior_notes: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allergies: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insurance: Option<String>,
}

const NOTES: [&str; 6] = [
    "calm on the table, purrs when stroked",
    "hissed at the stethoscope, settled with a towel wrap",
    "prefers exam on the owner's lap; treats helped",
    "vaccines given, no reaction after 20 minutes",
    "dental tartar grade 2, owner advised on brushing",
    "weight stable, diet unchanged, next check in six months",
];

const ALLERGIES: [&str; 4] = ["chicken", "penicillin", "fish", "flea saliva"];

const INSURERS: [&str; 3] = ["Petplan 4411-", "Trupanion 8820-", "Figo 1307-"];

impl VisitPatch {
    /// Visit `step` of a cat: a note with a weight that drifts over the years, allergies on
    /// about one visit in five, a new insurance policy on the first visit of every other year.
    pub fn for_step(step: Step) -> Self {
        let mut rng = SplitMix64::new(
            step.cat.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(step.year) << 32 ^ u64::from(step.index),
        );
        let base_grams = 3_000 + (step.cat % 3_000);
        let grams = base_grams + u64::from(step.year) * 150 + rng.below(200) as u64;
        let note = NOTES[rng.below(NOTES.len())];
        let behavior_notes = format!(
            "Year {} visit {}: weight {}.{:02} kg, body condition {}/9; {note}.",
            step.year + 1,
            step.index + 1,
            grams / 1000,
            grams % 1000 / 10,
            4 + rng.below(3)
        );
        let allergies = (rng.below(5) == 0).then(|| vec![ALLERGIES[rng.below(ALLERGIES.len())].to_owned()]);
        let insurance = (step.index == 0 && step.year.is_multiple_of(2))
            .then(|| format!("{}{:06}", INSURERS[rng.below(INSURERS.len())], step.cat % 1_000_000));
        Self { behavior_notes, allergies, insurance }
    }
}

/// One phase's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Phase {
    pub name: &'static str,
    pub requests: u64,
    pub failed: u64,
    pub secs: f64,
}

impl Phase {
    pub fn per_sec(&self) -> f64 {
        if self.secs > 0.0 { (self.requests - self.failed) as f64 / self.secs } else { 0.0 }
    }
}

/// What the clinic scenario made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClinicReport {
    pub plan: ClinicPlan,
    pub clients: u64,
    pub phases: Vec<Phase>,
    pub total_secs: f64,
}

impl ClinicReport {
    pub fn to_text(&self) -> String {
        let p = &self.plan;
        let mut out = format!(
            "clinic: {} clients, {} cats, {} years of history: {} visits (PATCH of the cat), {} audited reads (GET)\n",
            thousands(self.clients),
            thousands(p.patients),
            p.years,
            thousands(p.visits()),
            thousands(p.reads())
        );
        for phase in &self.phases {
            out.push_str(&format!(
                "  {:<8} {:>11} requests in {:>7.1} s ({:>7.0}/s), {} failed\n",
                phase.name,
                thousands(phase.requests),
                phase.secs,
                phase.per_sec(),
                thousands(phase.failed)
            ));
        }
        out.push_str(&format!(
            "  total    {:>11} requests in {:>7.1} s; every record is stamped now (no history can be written in the past)\n",
            thousands(p.requests()),
            self.total_secs
        ));
        out
    }
}

/// `12345678` → `12,345,678`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Seeds the clinic `args` describes.
pub async fn run(args: &Args) -> Result<ClinicReport> {
    let api = Arc::new(sign_in(args).await?);
    let clinic_plan = args.clinic_plan();
    let workers = args.connections();
    let clinic = Clinic { clients: clinic_plan.clients(), seed: plan(args).seed };
    let started = Instant::now();
    let mut phases = Vec::new();
    progress(&format!(
        "clinic: {} clients and {} cats, then {} visits and {} reads, {workers} requests at a time",
        thousands(clinic_plan.clients()),
        thousands(clinic_plan.patients),
        thousands(clinic_plan.visits()),
        thousands(clinic_plan.reads())
    ));

    let phase_start = Instant::now();
    let clients: Vec<ClientId> = collect(&api, workers, clinic_plan.clients(), "clients", move |api, n| async move {
        api.create_client(&clinic.client(n)).await.context("creating the clinic's clients")
    })
    .await?;
    phases.push(Phase { name: "clients", requests: clients.len() as u64, failed: 0, secs: secs(phase_start) });

    let phase_start = Instant::now();
    let owners = Arc::new(clients);
    let cats: Vec<PatientId> = collect(&api, workers, clinic_plan.patients, "cats", move |api, n| {
        let owners = owners.clone();
        async move {
            let owner = clinic_plan.owner(n);
            // `owner` is below `clients()`, the length of `owners`.
            let client = owners[owner.client as usize];
            api.create_patient(&clinic.patient(client, owner.client, owner.which))
                .await
                .context("creating the clinic's cats")
        }
    })
    .await?;
    phases.push(Phase { name: "cats", requests: cats.len() as u64, failed: 0, secs: secs(phase_start) });

    let cats = Arc::new(cats);
    let phase_start = Instant::now();
    let visits = {
        let cats = cats.clone();
        count(&api, workers, clinic_plan.visits(), "visits", move |api, j| {
            let step = clinic_plan.step(j, clinic_plan.visits_per_year);
            let id = cats[step.cat as usize];
            async move { api.patch_patient(id, &VisitPatch::for_step(step)).await }
        })
        .await?
    };
    phases.push(Phase { name: "visits", requests: clinic_plan.visits(), failed: visits, secs: secs(phase_start) });

    let phase_start = Instant::now();
    let reads = count(&api, workers, clinic_plan.reads(), "reads", move |api, j| {
        let id = cats[clinic_plan.step(j, clinic_plan.reads_per_year).cat as usize];
        async move { api.get_patient(id).await }
    })
    .await?;
    phases.push(Phase { name: "reads", requests: clinic_plan.reads(), failed: reads, secs: secs(phase_start) });

    let history = clinic_plan.visits() + clinic_plan.reads();
    if history > 0 && (visits + reads) as f64 / history as f64 > MAX_FAILED_SHARE {
        bail!("{} of {} history requests failed: see the server's log", visits + reads, history);
    }
    Ok(ClinicReport { plan: clinic_plan, clients: clinic_plan.clients(), phases, total_secs: secs(started) })
}

fn secs(since: Instant) -> f64 {
    since.elapsed().as_secs_f64()
}

/// Prints `done` of `total` for `phase` every [`PROGRESS_EVERY`] until dropped.
fn ticker(phase: &'static str, total: u64, done: Arc<AtomicU64>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let started = Instant::now();
        loop {
            tokio::time::sleep(PROGRESS_EVERY).await;
            let n = done.load(Ordering::Relaxed);
            let rate = n as f64 / started.elapsed().as_secs_f64();
            progress(&format!("clinic: {phase} {} of {} ({rate:.0}/s)", thousands(n), thousands(total)));
        }
    })
}

/// Runs `call(0..count)` on `workers` tasks that take the next number as they finish, and
/// returns the results in order; the first error stops the phase.
async fn collect<R, F, Fut>(api: &Arc<Api>, workers: u16, count: u64, phase: &'static str, call: F) -> Result<Vec<R>>
where
    R: Send + 'static,
    F: Fn(Arc<Api>, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R>> + Send + 'static,
{
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let call = Arc::new(call);
    let tick = ticker(phase, count, done.clone());
    let mut tasks = JoinSet::new();
    for _ in 0..workers {
        let (api, call, next, done) = (api.clone(), call.clone(), next.clone(), done.clone());
        tasks.spawn(async move {
            let mut made = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= count {
                    return anyhow::Ok(made);
                }
                made.push((n, call(api.clone(), n).await?));
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    let mut all = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    let outcome = async {
        while let Some(joined) = tasks.join_next().await {
            all.extend(joined.context("a seeding task panicked")??);
        }
        anyhow::Ok(())
    }
    .await;
    tick.abort();
    outcome?;
    all.sort_unstable_by_key(|&(n, _)| n);
    Ok(all.into_iter().map(|(_, r)| r).collect())
}

/// Like [`collect`] for requests whose answer is only counted: returns how many failed.
async fn count<F, Fut>(api: &Arc<Api>, workers: u16, count: u64, phase: &'static str, call: F) -> Result<u64>
where
    F: Fn(Arc<Api>, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let call = Arc::new(call);
    let tick = ticker(phase, count, done.clone());
    let mut tasks = JoinSet::new();
    for _ in 0..workers {
        let (api, call, next, done) = (api.clone(), call.clone(), next.clone(), done.clone());
        tasks.spawn(async move {
            let mut failed = 0u64;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= count {
                    return failed;
                }
                if call(api.clone(), n).await != Outcome::Ok {
                    failed += 1;
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    let mut failed = 0;
    let mut outcome = Ok(());
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(n) => failed += n,
            Err(e) => outcome = Err(e).context("a history task panicked"),
        }
    }
    tick.abort();
    outcome.map(|()| failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(patients: u64) -> ClinicPlan {
        ClinicPlan { patients, years: 5, visits_per_year: 3, reads_per_year: 6 }
    }

    #[test]
    fn a_hundred_thousand_cats_belong_to_sixty_thousand_clients() {
        let p = plan(100_000);
        assert_eq!((p.two_cat_clients(), p.clients()), (40_000, 60_000));
        assert_eq!((p.visits(), p.reads()), (1_500_000, 3_000_000));
        assert_eq!(p.requests(), 60_000 + 100_000 + 1_500_000 + 3_000_000);
    }

    #[test]
    fn every_cat_has_an_owner_and_no_client_has_more_than_two() {
        for patients in [1, 2, 3, 5, 7, 100, 101] {
            let p = plan(patients);
            let mut cats_of = vec![Vec::new(); p.clients() as usize];
            for n in 0..patients {
                let o = p.owner(n);
                assert!(o.client < p.clients(), "{patients}: cat {n} -> {o:?}");
                cats_of[o.client as usize].push(o.which);
            }
            // Every client has cats 0 (and 1), never the same number twice.
            for (client, cats) in cats_of.iter().enumerate() {
                assert!(cats == &[0] || cats == &[0, 1], "{patients}: client {client} has {cats:?}");
            }
        }
    }

    #[test]
    fn history_steps_go_year_by_year_and_cat_after_cat() {
        let p = plan(4);
        let steps: Vec<Step> = (0..p.visits()).map(|j| p.step(j, 3)).collect();
        assert_eq!(steps[0], Step { cat: 0, year: 0, index: 0 });
        assert_eq!(steps[1], Step { cat: 1, year: 0, index: 0 });
        assert_eq!(steps[4], Step { cat: 0, year: 0, index: 1 });
        assert_eq!(steps[12], Step { cat: 0, year: 1, index: 0 });
        assert_eq!(*steps.last().unwrap(), Step { cat: 3, year: 4, index: 2 });
        // Each (cat, year, visit) exactly once.
        let distinct: std::collections::HashSet<_> = steps.iter().map(|s| (s.cat, s.year, s.index)).collect();
        assert_eq!(distinct.len() as u64, p.visits());
    }

    #[test]
    fn visit_bodies_pass_the_servers_patch_rules() {
        for cat in [0, 1, 2_999, 123_456] {
            for year in 0..5 {
                for index in 0..3 {
                    let body = VisitPatch::for_step(Step { cat, year, index });
                    assert!(body.behavior_notes.contains(" kg"), "{body:?}");
                    let json = serde_json::to_value(&body).unwrap();
                    let patch: clowder_schemas::patients::UpdatePatient = serde_json::from_value(json).unwrap();
                    drop(patch);
                    assert!(body.behavior_notes.chars().count() <= clowder_schemas::values::MAX_NOTE_CHARS);
                }
            }
        }
        let first = VisitPatch::for_step(Step { cat: 7, year: 0, index: 0 });
        assert!(first.insurance.is_some());
        assert!(VisitPatch::for_step(Step { cat: 7, year: 1, index: 0 }).insurance.is_none());
    }

    #[test]
    fn the_budget_grows_with_the_clinic() {
        assert!(budget(&plan(100_000)) > Duration::from_secs(3_600));
        assert!(budget(&plan(1_000)) < budget(&plan(100_000)));
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(4_660_000), "4,660,000");
    }
}
