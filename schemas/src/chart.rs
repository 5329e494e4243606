//! A cat's chart in one answer (`GET /api/patients/{id}/chart`): everything the chart screen
//! draws (the lab trends included), read from one store snapshot. It owns only the answer's shape and the sizes of its
//! parts; what each part holds (and who may see it) is decided in `actors::clinical::chart`.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clients::Client;
use crate::ids::VitalsId;
use crate::labs::LabTrend;
use crate::pagination::Page;
use crate::patients::Patient;
use crate::prescriptions::Prescription;
use crate::problems::Problem;
use crate::vaccinations::DueItem;
use crate::visits::TimelineEntry;
use crate::vitals::{Vitals, WeightPoint};

/// The latest vitals the chart shows (newest first; the screen shows the newest, the others
/// are a glance back).
pub const LATEST_VITALS: usize = 3;
/// Timeline entries on the chart's first page.
pub const TIMELINE_PAGE: usize = 20;
/// The trends' window: this many days back from the newest vitals.
pub const TREND_DAYS: i64 = 730;
/// At most this many points per trend: the window is cut into as many equal buckets and each
/// keeps its newest value (a 200 px high, 640 unit wide chart shows no more).
pub const TREND_POINTS: usize = 60;

/// The lab trends are drawn from at most this many of the cat's orders, the newest (the cat
/// page reads as many).
pub const LAB_ORDERS_READ: usize = 200;
/// At most this many points per lab trend, the newest (as many as a vitals trend).
pub const LAB_TREND_POINTS: usize = TREND_POINTS;

/// `GET /api/patients/{id}/chart`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PatientChart {
    pub patient: Patient,
    /// The owner, when the caller may read them (`GET /api/clients/{id}` would answer): the
    /// banner shows their alerts. Absent otherwise.
    pub owner: Option<Client>,
    /// The current problem list (active and chronic), newest first.
    pub problems: Vec<Problem>,
    /// The newest vitals, newest taken first ([`LATEST_VITALS`] at most).
    pub latest_vitals: Vec<Vitals>,
    /// The weight trend, oldest first: the last [`TREND_DAYS`] days before the newest vitals,
    /// thinned to one point (the newest) per bucket, [`TREND_POINTS`] buckets at most.
    pub weights: Vec<WeightPoint>,
    /// The body condition score trend (9-point), oldest first, over the same window and
    /// buckets.
    pub bcs: Vec<BcsPoint>,
    /// The vaccines due, overdue or declined (not those not due), as the cat's due list
    /// computes them.
    pub vaccines: Vec<DueItem>,
    /// The vaccination protocol and its version the due dates come from.
    pub protocol: String,
    pub protocol_version: u32,
    /// The active prescriptions, newest first; absent for a caller without
    /// `prescriptions:view`.
    pub medications: Option<Vec<Prescription>>,
    /// The timeline's first page ([`TIMELINE_PAGE`] entries) and its cursor (continue with
    /// `GET /api/patients/{id}/timeline?cursor=`); absent for `visits:view` at scope `own`.
    pub timeline: Option<Page<TimelineEntry>>,
    /// A trend per analyte the cat has a result of, by analyte code: the results of its
    /// newest [`LAB_ORDERS_READ`] orders (cancelled ones left out), oldest first, the newest
    /// [`LAB_TREND_POINTS`] kept, each with its flag and order; the unit and range are those
    /// the newest result was read against. The same points as `GET
    /// /api/patients/{id}/lab-trends?analyte=` within those bounds. Absent without `labs:view`.
    pub lab_trends: Option<Vec<LabTrend>>,
}

/// One point of the body condition score trend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BcsPoint {
    pub vitals_id: VitalsId,
    pub taken_at: Timestamp,
    /// On the 9-point scale.
    pub score: u8,
}

/// Keeps the newest point of each of `buckets` equal slices of `from..=to` (points newest
/// first, as read; answered oldest first). The newest point is always kept.
pub fn thin<T>(points: Vec<(Timestamp, T)>, from: Timestamp, to: Timestamp, buckets: usize) -> Vec<T> {
    let span = (to.as_millisecond() - from.as_millisecond()).max(1) as i128;
    let buckets = buckets.max(1) as i128;
    let bucket =
        |t: Timestamp| ((i128::from(t.as_millisecond() - from.as_millisecond()) * buckets) / span).min(buckets - 1);
    let mut out: Vec<T> = Vec::new();
    let mut last = None;
    for (t, p) in points {
        if t < from {
            break;
        }
        let b = bucket(t);
        if last != Some(b) {
            out.push(p);
            last = Some(b);
        }
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_the_newest_point_of_each_bucket_and_nothing_before_the_window() {
        let t = |s: i64| Timestamp::from_second(s).unwrap();
        // Newest first: 100 and 95 (bucket 9), 56 and 55 (bucket 5), 10 (bucket 0), and 5
        // before the window.
        let pts = vec![(t(100), 100), (t(95), 95), (t(56), 56), (t(55), 55), (t(10), 10), (t(5), 5)];
        assert_eq!(thin(pts, t(10), t(100), 10), vec![10, 56, 100]);
        assert_eq!(thin(vec![(t(7), 1)], t(7), t(7), 60), vec![1], "one point in a window of no width");
        assert!(thin(Vec::<(Timestamp, u8)>::new(), t(0), t(1), 60).is_empty());
    }
}
