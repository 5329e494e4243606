//! The closed-loop driver: N connection tasks, each sending one request, waiting for the
//! answer, and sending the next, until the window closes.
//!
//! Requests that start during the warm-up run but are not recorded; requests that start in
//! the measured window are recorded even if they finish a little after it (each is bounded
//! by the client's request timeout). No new request starts after the window, so the driver
//! always returns within window + one request timeout (+ the transport back-off). A
//! connection whose workload has nothing left to send (the book scenario's walk reached its
//! horizon) stops early and is counted as having run out.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::task::JoinSet;
use tokio::time::Instant;

use clowder_schemas::{AppointmentTypeId, PatientId};
use reqwest::Url;

use crate::api::Api;
use crate::bodies::{NewAppointment, NewClient, StaffAccount};
use crate::rng::SplitMix64;
use crate::scheduling::{Lane, SlotWalk};
use crate::stats::{Outcome, Tally};

/// Pause after a request that got no HTTP answer, so a connection whose server has gone
/// does not spin a core re-failing in microseconds. HTTP errors (a fast 503) get no pause:
/// absorbing those cheaply is the server's job.
const TRANSPORT_BACKOFF: Duration = Duration::from_millis(10);

/// The time a scenario runs: an unrecorded warm-up, then the measured part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub warmup: Duration,
    pub measure: Duration,
}

/// What each request of a scenario is.
#[derive(Debug)]
pub enum Workload {
    /// `GET /api/patients/{id}` with an id drawn at random from the set.
    ReadPatients { ids: Vec<PatientId> },
    /// `POST /api/clients` with data unique to the run and the request.
    CreateClients { run_tag: String },
    /// `POST /api/auth/login` as each account in turn.
    SignIn { accounts: Vec<StaffAccount> },
    /// `POST /api/appointments` of `type_id` in the lane and at the start the walk gives the
    /// request's number: never a conflict.
    Book { type_id: AppointmentTypeId, lanes: Vec<Lane>, walk: SlotWalk },
    /// `GET /api/availability` with the same question every time.
    Availability { url: Url },
    /// `GET /api/calendar` of the same day every time.
    DayView { url: Url },
    /// `GET /api/search` with a query drawn at random from the set.
    Search { urls: Vec<Url> },
    /// Any GET, with a URL drawn at random from the set (the compare report's rows).
    Get { urls: Vec<Url> },
    /// Every GET of `urls` one after the other, timed as one request: what a screen asks for
    /// when it opens (the chart scenario). The first failure is the outcome.
    Sequence { urls: Vec<Url> },
    /// `PUT /api/visits/{id}/note/draft`: connection `i` saves draft `urls[i % len]` with
    /// revisions 1, 2, 3… (the chart scenario's autosave; one draft per connection, as one
    /// tablet per note).
    Autosave { urls: Vec<Url> },
    /// A checkout (the reports scenario): an invoice with the draft's lines created, issued
    /// and paid in full, three POSTs timed as one.
    Checkout { draft: serde_json::Value },
}

impl Workload {
    pub fn read_patients(ids: Vec<PatientId>) -> Result<Self> {
        if ids.is_empty() {
            bail!("the read scenario needs at least one patient to read");
        }
        Ok(Workload::ReadPatients { ids })
    }

    pub fn create_clients(run_tag: String) -> Self {
        Workload::CreateClients { run_tag }
    }

    pub fn sign_in(accounts: Vec<StaffAccount>) -> Result<Self> {
        if accounts.is_empty() {
            bail!("the signin scenario needs at least one account to sign in as");
        }
        Ok(Workload::SignIn { accounts })
    }

    pub fn book(type_id: AppointmentTypeId, lanes: Vec<Lane>, walk: SlotWalk) -> Result<Self> {
        if lanes.is_empty() {
            bail!("the book scenario needs at least one vet and cat to book for");
        }
        Ok(Workload::Book { type_id, lanes, walk })
    }

    pub fn availability(url: Url) -> Self {
        Workload::Availability { url }
    }

    pub fn search(urls: Vec<Url>) -> Result<Self> {
        if urls.is_empty() {
            bail!("the search scenario needs at least one query to ask");
        }
        Ok(Workload::Search { urls })
    }

    pub fn get(urls: Vec<Url>) -> Result<Self> {
        if urls.is_empty() {
            bail!("a GET workload needs at least one URL to ask");
        }
        Ok(Workload::Get { urls })
    }

    pub fn sequence(urls: Vec<Url>) -> Result<Self> {
        if urls.is_empty() {
            bail!("a sequence of GETs needs at least one URL to ask");
        }
        Ok(Workload::Sequence { urls })
    }

    pub fn autosave(urls: Vec<Url>) -> Result<Self> {
        if urls.is_empty() {
            bail!("the autosave workload needs at least one draft to save");
        }
        Ok(Workload::Autosave { urls })
    }

    /// Sends the connection's next request; `None` when it has nothing left to send.
    async fn request(&self, api: &Api, conn: &mut Connection) -> Option<Outcome> {
        let outcome = match self {
            Workload::ReadPatients { ids } => {
                // `below` returns a value under `ids.len()`, which the constructor made non-zero.
                let id = ids[conn.rng.below(ids.len())];
                api.get_patient(id).await
            }
            Workload::CreateClients { run_tag } => {
                let n = conn.next_number();
                api.post_client(&NewClient::unique(run_tag, n)).await
            }
            Workload::SignIn { accounts } => {
                let account = &accounts[account_index(conn.next_number(), accounts.len())];
                api.post_login(&account.credentials()).await
            }
            Workload::Book { type_id, lanes, walk } => {
                let body = booking(*type_id, lanes, walk, conn.next_number())?;
                api.post_appointment(&body).await
            }
            Workload::Availability { url } => api.get_availability(url).await,
            Workload::DayView { url } => api.get_day(url).await,
            // `below` returns a value under `urls.len()`, which the constructor made non-zero.
            Workload::Search { urls } => api.get_search(&urls[conn.rng.below(urls.len())]).await,
            // Likewise non-empty by construction.
            Workload::Get { urls } => api.get(&urls[conn.rng.below(urls.len())]).await,
            Workload::Sequence { urls } => {
                for url in urls {
                    let outcome = api.get(url).await;
                    if outcome != Outcome::Ok {
                        return Some(outcome);
                    }
                }
                Outcome::Ok
            }
            Workload::Autosave { urls } => {
                let (draft, revision) = autosave_slot(conn.next_number(), conn.stride, urls.len());
                api.put_json(&urls[draft], &autosave_body(revision)).await
            }
            Workload::Checkout { draft } => api.checkout(draft).await,
        };
        Some(outcome)
    }
}

/// The booking request number `n` makes; `None` past the walk's horizon. `lanes` must not be
/// empty.
fn booking(type_id: AppointmentTypeId, lanes: &[Lane], walk: &SlotWalk, n: u64) -> Option<NewAppointment> {
    let (index, start) = walk.slot(n, lanes.len())?;
    let lane = lanes[index];
    Some(NewAppointment {
        client_id: lane.client_id,
        patient_id: lane.patient_id,
        type_id,
        vet_id: lane.vet_id,
        location_id: lane.location_id,
        start,
        room_id: None,
        reason: None,
    })
}

/// Which account the request numbered `n` signs in as. Connection numbers interleave (see
/// [`Connection`]), so all requests together take the accounts in turn; with as many
/// connections as accounts, each connection keeps to its own account and no account has two
/// sign-ins in flight. `len` must not be zero.
fn account_index(n: u64, len: usize) -> usize {
    // The remainder is below `len`, which is a usize.
    (n % len as u64) as usize
}

/// Which draft request number `n` saves and with which revision, for `connections`
/// connections over `drafts` drafts: connection `i` (numbers `i`, `i + connections`, …) keeps
/// to draft `i mod drafts` and its revisions grow 1, 2, 3…, so no save is stale. `drafts`
/// must not be zero.
fn autosave_slot(n: u64, connections: u64, drafts: usize) -> (usize, u64) {
    let connections = connections.max(1);
    // The remainder is below `drafts`, which is a usize.
    (((n % connections) % drafts as u64) as usize, n / connections + 1)
}

/// The sections a vet has typed by autosave `revision`: a few hundred characters of SOAP,
/// growing by a word each save as a page sends the whole section.
fn autosave_body(revision: u64) -> serde_json::Value {
    serde_json::json!({
        "revision": revision,
        "subjective": "Owner reports reduced appetite for 3 days, drinking more, one vomit yesterday (hairball?). \
                       Indoor only, eats dry food free choice. No new cats in the house.",
        "objective": format!(
            "Quiet, alert, responsive. Mild dehydration (~5%), skin tent slightly prolonged. Oral exam: \
             grade 2 dental disease, resorptive lesion 307 suspected. Abdomen soft, kidneys small and \
             irregular on palpation. Revision {revision}."
        ),
        "assessment": "Chronic kidney disease suspected (IRIS staging pending bloods); dental disease.",
    })
}

/// One connection's private state.
#[derive(Debug)]
struct Connection {
    rng: SplitMix64,
    /// Numbers handed out are `index`, `index + stride`, `index + 2 × stride`…: distinct
    /// across connections without any shared counter.
    next: u64,
    stride: u64,
}

impl Connection {
    fn new(index: u16, connections: u16, seed: u64) -> Self {
        Self {
            rng: SplitMix64::new(seed ^ u64::from(index).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            next: u64::from(index),
            stride: u64::from(connections),
        }
    }

    fn next_number(&mut self) -> u64 {
        let n = self.next;
        self.next += self.stride;
        n
    }
}

/// Runs `connections` closed loops of `workload` for `window`, from now, and merges their
/// tallies.
pub async fn drive(
    api: Arc<Api>,
    workload: Arc<Workload>,
    connections: u16,
    window: Window,
    seed: u64,
) -> Result<Tally> {
    drive_from(Instant::now(), api, workload, connections, window, seed).await
}

/// [`drive`] with the window starting at `start`, so workloads run side by side can share one
/// window exactly.
pub async fn drive_from(
    start: Instant,
    api: Arc<Api>,
    workload: Arc<Workload>,
    connections: u16,
    window: Window,
    seed: u64,
) -> Result<Tally> {
    let measure_from = start + window.warmup;
    let stop_at = measure_from + window.measure;
    let mut tasks = JoinSet::new();
    for index in 0..connections {
        let conn = Connection::new(index, connections, seed);
        tasks.spawn(connection_loop(api.clone(), workload.clone(), conn, measure_from, stop_at));
    }
    let mut total = Tally::default();
    while let Some(joined) = tasks.join_next().await {
        total.merge(&joined.context("a connection task panicked")?)?;
    }
    Ok(total)
}

async fn connection_loop(
    api: Arc<Api>,
    workload: Arc<Workload>,
    mut conn: Connection,
    measure_from: Instant,
    stop_at: Instant,
) -> Tally {
    let mut tally = Tally::default();
    loop {
        let started = Instant::now();
        if started >= stop_at {
            return tally;
        }
        let Some(outcome) = workload.request(&api, &mut conn).await else {
            tally.record_ran_out();
            return tally;
        };
        if started >= measure_from {
            tally.record(outcome, started.elapsed());
        }
        if matches!(outcome, Outcome::Transport(_)) {
            tokio::time::sleep(TRANSPORT_BACKOFF).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_connection_autosaves_its_own_draft_with_growing_revisions() {
        let mut conns: Vec<Connection> = (0..4).map(|i| Connection::new(i, 4, 1)).collect();
        for round in 1..=3 {
            for (i, conn) in conns.iter_mut().enumerate() {
                assert_eq!(autosave_slot(conn.next_number(), conn.stride, 4), (i, round));
            }
        }
        assert_eq!(autosave_body(7)["revision"], 7);
        assert!(Workload::autosave(Vec::new()).is_err());
        assert!(Workload::sequence(Vec::new()).is_err());
    }

    #[test]
    fn connection_numbers_never_collide() {
        let mut seen = std::collections::HashSet::new();
        let mut conns: Vec<Connection> = (0..4).map(|i| Connection::new(i, 4, 99)).collect();
        for _ in 0..100 {
            for conn in &mut conns {
                assert!(seen.insert(conn.next_number()));
            }
        }
        assert_eq!(seen.len(), 400);
        assert!((0..400).all(|n| seen.contains(&n)));
    }

    #[test]
    fn connections_draw_different_random_sequences() {
        let mut a = Connection::new(0, 2, 5);
        let mut b = Connection::new(1, 2, 5);
        let draws = |c: &mut Connection| (0..8).map(|_| c.rng.below(1000)).collect::<Vec<_>>();
        assert_ne!(draws(&mut a), draws(&mut b));
    }

    #[test]
    fn reading_needs_at_least_one_patient() {
        assert!(Workload::read_patients(Vec::new()).is_err());
    }

    #[test]
    fn a_get_workload_needs_at_least_one_url() {
        assert!(Workload::get(Vec::new()).is_err());
        assert!(Workload::get(vec![Url::parse("http://127.0.0.1:8080/api/auth/me").unwrap()]).is_ok());
    }

    #[test]
    fn signing_in_needs_at_least_one_account() {
        assert!(Workload::sign_in(Vec::new()).is_err());
        assert!(Workload::sign_in(crate::bodies::staff_accounts("t", 1, 1)).is_ok());
    }

    #[test]
    fn booking_needs_at_least_one_lane() {
        let walk = SlotWalk::new(jiff::Timestamp::UNIX_EPOCH, 15, 1).unwrap();
        assert!(Workload::book("01JD7Y2Q4Z8W3N5K6M7P8R9S01".parse().unwrap(), Vec::new(), walk).is_err());
    }

    #[test]
    fn each_connection_books_for_its_own_lane_until_the_horizon() {
        let id = |n: u8| format!("01JD7Y2Q4Z8W3N5K6M7P8R9S{n:02}");
        let lanes: Vec<Lane> = (0..2)
            .map(|i| Lane {
                location_id: id(10 + i).parse().unwrap(),
                vet_id: id(20 + i).parse().unwrap(),
                client_id: id(30 + i).parse().unwrap(),
                patient_id: id(40 + i).parse().unwrap(),
            })
            .collect();
        let first: jiff::Timestamp = "2027-01-05T00:00:00Z".parse().unwrap();
        // One day of 15-minute slots: 96 per lane.
        let walk = SlotWalk::new(first, 15, 1).unwrap();
        let type_id = id(1).parse().unwrap();
        let mut second = Connection::new(1, 2, 0);
        let bodies: Vec<NewAppointment> =
            std::iter::from_fn(|| booking(type_id, &lanes, &walk, second.next_number())).collect();
        assert_eq!(bodies.len(), 96);
        assert!(bodies.iter().all(|b| b.vet_id == lanes[1].vet_id && b.patient_id == lanes[1].patient_id));
        assert!(bodies.iter().all(|b| b.location_id == lanes[1].location_id && b.client_id == lanes[1].client_id));
        assert_eq!(bodies[1].start, "2027-01-05T00:15:00Z".parse::<jiff::Timestamp>().unwrap());
        assert_eq!(bodies[95].start, "2027-01-05T23:45:00Z".parse::<jiff::Timestamp>().unwrap());
    }

    /// The accounts each connection signs in as, over its first `requests` requests.
    fn accounts_used(connections: u16, accounts: usize, requests: usize) -> Vec<Vec<usize>> {
        (0..connections)
            .map(|i| {
                let mut conn = Connection::new(i, connections, 1);
                (0..requests).map(|_| account_index(conn.next_number(), accounts)).collect()
            })
            .collect()
    }

    #[test]
    fn sign_ins_take_the_accounts_in_turn() {
        // As many connections as accounts: each keeps to its own.
        assert_eq!(accounts_used(4, 4, 3), [[0, 0, 0], [1, 1, 1], [2, 2, 2], [3, 3, 3]]);
        // Fewer connections: each goes round several accounts, and together they use all.
        assert_eq!(accounts_used(2, 4, 4), [[0, 2, 0, 2], [1, 3, 1, 3]]);
        assert_eq!(accounts_used(1, 3, 4), [[0, 1, 2, 0]]);
        // More connections than accounts: every account is used equally often.
        let mut uses = [0; 3];
        for index in accounts_used(6, 3, 10).into_iter().flatten() {
            uses[index] += 1;
        }
        assert_eq!(uses, [20, 20, 20]);
    }
}
