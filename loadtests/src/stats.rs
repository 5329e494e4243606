//! Counting what happened: each connection keeps its own [`Tally`] (a latency histogram in
//! microseconds plus success and error counts), and the tallies are merged once at the end,
//! so the request loops share no lock.
//!
//! Only successful (2xx) requests go into the latency histogram: a server shedding load with
//! fast 503s must not look faster for it. Failures are counted by status (`"503"`) or by
//! transport failure (`"timeout"`, `"connect"`, `"transport"`).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result};
use hdrhistogram::Histogram;
use serde::Serialize;

/// Highest latency the histograms track: an hour, far beyond any request timeout. Longer
/// values are clamped rather than dropped.
const HIGHEST_TRACKABLE_US: u64 = 3_600_000_000;

/// A latency histogram in microseconds with three significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIGHEST_TRACKABLE_US, 3)
        .expect("constant bounds are valid: low is 1, high is above 2 x low, 3 significant digits")
}

/// Records one duration in microseconds.
pub fn record_duration(histogram: &mut Histogram<u64>, latency: Duration) {
    let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
    histogram.saturating_record(micros);
}

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx answer.
    Ok,
    /// Any other HTTP status.
    Status(u16),
    /// No HTTP answer at all.
    Transport(TransportFailure),
}

/// Why a request got no HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportFailure {
    /// The per-request timeout elapsed.
    Timeout,
    /// The connection could not be opened.
    Connect,
    /// Anything else: reset connection, truncated body.
    Other,
}

impl Outcome {
    /// Classifies an HTTP status code.
    pub fn from_status(status: u16) -> Self {
        if (200..300).contains(&status) { Outcome::Ok } else { Outcome::Status(status) }
    }

    /// The key under which a failure is counted; `None` for a success.
    pub fn error_key(self) -> Option<String> {
        match self {
            Outcome::Ok => None,
            Outcome::Status(code) => Some(code.to_string()),
            Outcome::Transport(TransportFailure::Timeout) => Some("timeout".into()),
            Outcome::Transport(TransportFailure::Connect) => Some("connect".into()),
            Outcome::Transport(TransportFailure::Other) => Some("transport".into()),
        }
    }
}

/// What one connection (or, after merging, a whole scenario) recorded.
#[derive(Debug, Clone)]
pub struct Tally {
    latency_us: Histogram<u64>,
    ok: u64,
    errors: BTreeMap<String, u64>,
    /// Connections that had nothing left to send before their window closed.
    ran_out: u64,
}

impl Default for Tally {
    fn default() -> Self {
        Self { latency_us: new_histogram(), ok: 0, errors: BTreeMap::new(), ran_out: 0 }
    }
}

impl Tally {
    pub fn record(&mut self, outcome: Outcome, latency: Duration) {
        match outcome.error_key() {
            None => {
                self.ok += 1;
                record_duration(&mut self.latency_us, latency);
            }
            Some(key) => *self.errors.entry(key).or_default() += 1,
        }
    }

    /// Notes that this connection stopped early: its workload had nothing left to send.
    pub fn record_ran_out(&mut self) {
        self.ran_out += 1;
    }

    pub fn merge(&mut self, other: &Tally) -> Result<()> {
        self.latency_us.add(&other.latency_us).context("merging latency histograms")?;
        self.ok += other.ok;
        self.ran_out += other.ran_out;
        for (key, count) in &other.errors {
            *self.errors.entry(key.clone()).or_default() += count;
        }
        Ok(())
    }

    /// Successful requests.
    pub fn ok(&self) -> u64 {
        self.ok
    }

    /// Failed requests by status or transport failure.
    pub fn errors(&self) -> &BTreeMap<String, u64> {
        &self.errors
    }

    pub fn error_total(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Connections that ran out of work before the window closed.
    pub fn ran_out(&self) -> u64 {
        self.ran_out
    }

    /// Latency of the successful requests, in microseconds.
    pub fn latency(&self) -> &Histogram<u64> {
        &self.latency_us
    }
}

/// Latency percentiles in milliseconds, as printed and as written in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    /// Percentiles of a microsecond histogram; `None` when nothing was recorded.
    pub fn of(histogram: &Histogram<u64>) -> Option<Self> {
        if histogram.is_empty() {
            return None;
        }
        let ms = |micros: u64| micros as f64 / 1000.0;
        Some(Self {
            p50_ms: ms(histogram.value_at_quantile(0.50)),
            p90_ms: ms(histogram.value_at_quantile(0.90)),
            p99_ms: ms(histogram.value_at_quantile(0.99)),
            max_ms: ms(histogram.max()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn statuses_are_classified() {
        assert_eq!(Outcome::from_status(200), Outcome::Ok);
        assert_eq!(Outcome::from_status(201), Outcome::Ok);
        assert_eq!(Outcome::from_status(503), Outcome::Status(503));
        assert_eq!(Outcome::from_status(304), Outcome::Status(304));
        assert_eq!(Outcome::Status(409).error_key().as_deref(), Some("409"));
        assert_eq!(Outcome::Transport(TransportFailure::Timeout).error_key().as_deref(), Some("timeout"));
    }

    #[test]
    fn only_successes_enter_the_latency_histogram() {
        let mut t = Tally::default();
        t.record(Outcome::Ok, ms(2));
        t.record(Outcome::Status(503), ms(1));
        t.record(Outcome::Transport(TransportFailure::Connect), ms(1));
        assert_eq!(t.ok(), 1);
        assert_eq!(t.latency().len(), 1);
        assert_eq!(t.error_total(), 2);
        assert_eq!(t.errors().get("503"), Some(&1));
        assert_eq!(t.errors().get("connect"), Some(&1));
    }

    #[test]
    fn merging_adds_counts_and_histograms() {
        let mut a = Tally::default();
        a.record(Outcome::Ok, ms(1));
        a.record(Outcome::Status(503), ms(1));
        let mut b = Tally::default();
        b.record(Outcome::Ok, ms(3));
        b.record(Outcome::Status(503), ms(1));
        b.record(Outcome::Status(500), ms(1));
        b.record_ran_out();
        a.merge(&b).unwrap();
        assert_eq!(a.ok(), 2);
        assert_eq!((a.ran_out(), b.ran_out()), (1, 1));
        assert_eq!(a.errors().get("503"), Some(&2));
        assert_eq!(a.errors().get("500"), Some(&1));
        assert_eq!(a.latency().len(), 2);
    }

    #[test]
    fn percentiles_are_in_milliseconds() {
        let mut h = new_histogram();
        for micros in 1..=1000 {
            record_duration(&mut h, Duration::from_micros(micros));
        }
        let l = Latency::of(&h).unwrap();
        assert!((l.p50_ms - 0.5).abs() < 0.001, "{l:?}");
        assert!((l.p90_ms - 0.9).abs() < 0.001, "{l:?}");
        assert!((l.p99_ms - 0.99).abs() < 0.001, "{l:?}");
        assert!((l.max_ms - 1.0).abs() < 0.001, "{l:?}");
    }

    #[test]
    fn empty_histograms_have_no_percentiles() {
        assert_eq!(Latency::of(&new_histogram()), None);
    }

    #[test]
    fn sub_microsecond_and_huge_durations_are_kept() {
        let mut h = new_histogram();
        record_duration(&mut h, Duration::from_nanos(10));
        record_duration(&mut h, Duration::from_secs(10 * 3600));
        assert_eq!(h.len(), 2);
    }
}
