//! The server's own histograms, read from `GET /metrics` (Prometheus text) before and after a
//! phase: what the phase added to one histogram, its mean and the bucket bound under which
//! 99 % of it fell. `compare` uses it for the store's share of a write's latency
//! (`clowder_store_waited_commit_seconds`), alone and beside a read flood.

use serde::Serialize;

/// One histogram as the text exposition shows it: cumulative bucket counts by upper bound,
/// the sum and the count.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    /// `(le, cumulative count)`, in the order of the text (ascending bounds).
    pub buckets: Vec<(f64, u64)>,
    pub sum: f64,
    pub count: u64,
}

impl Histogram {
    /// The histogram `name` (without its `_bucket`/`_sum`/`_count` suffix) in `text`, if the
    /// text has its count. Lines with labels other than `le` are not expected for the
    /// families read here.
    pub fn parse(text: &str, name: &str) -> Option<Histogram> {
        let mut h = Histogram::default();
        let mut counted = false;
        for line in text.lines() {
            let Some(rest) = line.strip_prefix(name) else { continue };
            if let Some(rest) = rest.strip_prefix("_bucket{le=\"") {
                let (le, value) = rest.split_once("\"}")?;
                let le = if le.eq_ignore_ascii_case("+inf") { f64::INFINITY } else { le.parse().ok()? };
                h.buckets.push((le, value.trim().parse().ok()?));
            } else if let Some(value) = rest.strip_prefix("_sum ") {
                h.sum = value.trim().parse().ok()?;
            } else if let Some(value) = rest.strip_prefix("_count ") {
                h.count = value.trim().parse().ok()?;
                counted = true;
            }
        }
        counted.then_some(h)
    }

    /// What was added between `before` and `self` (the same histogram read later).
    pub fn since(&self, before: &Histogram) -> Histogram {
        let buckets = self
            .buckets
            .iter()
            .map(|&(le, n)| {
                let earlier = before.buckets.iter().find(|(b, _)| *b == le).map_or(0, |&(_, m)| m);
                (le, n.saturating_sub(earlier))
            })
            .collect();
        Histogram { buckets, sum: self.sum - before.sum, count: self.count.saturating_sub(before.count) }
    }

    /// Mean and 99th-percentile bound, in milliseconds, of a histogram in seconds; `None`
    /// when it counted nothing.
    pub fn figures_ms(&self) -> Option<LatencyBound> {
        if self.count == 0 {
            return None;
        }
        let wanted = (self.count as f64 * 0.99).ceil() as u64;
        let p99_at_most = self.buckets.iter().find(|&&(_, n)| n >= wanted).map(|&(le, _)| le * 1000.0);
        Some(LatencyBound {
            count: self.count,
            mean_ms: self.sum / self.count as f64 * 1000.0,
            p99_at_most_ms: p99_at_most,
        })
    }
}

/// A histogram's figures over one phase.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencyBound {
    /// Observations in the phase.
    pub count: u64,
    pub mean_ms: f64,
    /// The smallest bucket bound with 99 % of the observations at or under it (`None` if only
    /// the `+Inf` bucket holds them, which prints as such).
    pub p99_at_most_ms: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# HELP clowder_store_waited_commit_seconds Time from queueing to the answer.
# TYPE clowder_store_waited_commit_seconds histogram
clowder_store_waited_commit_seconds_sum 0.5
clowder_store_waited_commit_seconds_count 100
clowder_store_waited_commit_seconds_bucket{le=\"0.001\"} 60
clowder_store_waited_commit_seconds_bucket{le=\"0.0025\"} 98
clowder_store_waited_commit_seconds_bucket{le=\"0.00625\"} 100
clowder_store_waited_commit_seconds_bucket{le=\"+Inf\"} 100
clowder_store_commit_seconds_count 7
# EOF
";

    #[test]
    fn a_histogram_is_read_from_the_text_without_its_neighbours() {
        let h = Histogram::parse(TEXT, "clowder_store_waited_commit_seconds").unwrap();
        assert_eq!(h.count, 100);
        assert_eq!(h.sum, 0.5);
        assert_eq!(h.buckets.len(), 4);
        assert_eq!(h.buckets[3], (f64::INFINITY, 100));
        assert!(Histogram::parse(TEXT, "clowder_missing").is_none());
    }

    #[test]
    fn a_phase_is_the_difference_and_its_p99_the_first_bucket_holding_99_percent() {
        let before = Histogram::parse(TEXT, "clowder_store_waited_commit_seconds").unwrap();
        let after = Histogram {
            buckets: vec![(0.001, 60), (0.0025, 100), (0.00625, 199), (f64::INFINITY, 200)],
            sum: 1.5,
            count: 200,
        };
        let phase = after.since(&before).figures_ms().unwrap();
        assert_eq!(phase.count, 100);
        assert!((phase.mean_ms - 10.0).abs() < 1e-9, "{phase:?}");
        // 99 of the phase's 100 are at or under 6.25 ms; the 100th only under +Inf.
        assert_eq!(phase.p99_at_most_ms, Some(6.25));
        assert!(Histogram::default().figures_ms().is_none());
    }
}
