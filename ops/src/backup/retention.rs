//! Which backups to keep: every backup of the last `keep_all` hours, the newest full backup of
//! each of the last `daily` days and of each of the last `monthly` months (in the clinic's
//! zone), plus everything a kept backup needs to be restored (its full backup and the
//! increments before it). The newest full backup and its chain are always kept. Pure: the
//! caller deletes what this returns.

use std::collections::{BTreeMap, BTreeSet};

use super::manifest::{BackupKind, Manifest, chain};

/// How long backups are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Every backup (each increment) for this many hours.
    pub keep_all_hours: u32,
    /// The newest full backup of each day for this many days.
    pub daily_days: u32,
    /// The newest full backup of each month for this many months.
    pub monthly_months: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Retention { keep_all_hours: 48, daily_days: 30, monthly_months: 12 }
    }
}

/// The ids of the backups that fall out of `policy` at `now`.
pub fn expired(all: &[Manifest], policy: &Retention, now: jiff::Timestamp, zone: &jiff::tz::TimeZone) -> Vec<String> {
    let mut keep: BTreeSet<&str> = BTreeSet::new();
    let recent = now - jiff::SignedDuration::from_hours(i64::from(policy.keep_all_hours));
    for m in all {
        if m.created_at >= recent {
            keep.insert(&m.id);
        }
    }
    let today = now.to_zoned(zone.clone()).date();
    let mut daily: BTreeMap<jiff::civil::Date, &Manifest> = BTreeMap::new();
    let mut monthly: BTreeMap<(i16, i8), &Manifest> = BTreeMap::new();
    for m in all.iter().filter(|m| m.kind == BackupKind::Full) {
        let day = m.created_at.to_zoned(zone.clone()).date();
        let newer = |held: &&Manifest| held.created_at >= m.created_at;
        if daily.get(&day).is_none_or(|h| !newer(h)) {
            daily.insert(day, m);
        }
        if monthly.get(&(day.year(), day.month())).is_none_or(|h| !newer(h)) {
            monthly.insert((day.year(), day.month()), m);
        }
    }
    for (day, m) in &daily {
        let age_days = (today - *day).get_days();
        if age_days >= 0 && age_days < policy.daily_days as i32 {
            keep.insert(&m.id);
        }
    }
    let months_of = |d: jiff::civil::Date| i32::from(d.year()) * 12 + i32::from(d.month());
    for ((y, mo), m) in &monthly {
        let age = months_of(today) - (i32::from(*y) * 12 + i32::from(*mo));
        if age >= 0 && age < policy.monthly_months as i32 {
            keep.insert(&m.id);
        }
    }
    if let Some(newest) = all.iter().filter(|m| m.kind == BackupKind::Full).max_by_key(|m| m.created_at) {
        keep.insert(&newest.id);
    }
    // A kept backup keeps what restoring it needs.
    let needed: Vec<&str> =
        keep.iter().filter_map(|id| chain(all, id).ok()).flat_map(|c| c.into_iter().map(|m| m.id.as_str())).collect();
    keep.extend(needed);
    all.iter().filter(|m| !keep.contains(m.id.as_str())).map(|m| m.id.clone()).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::backup::manifest::{MANIFEST_FORMAT, Position};

    fn at(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    fn backup(id: &str, kind: BackupKind, created: &str, previous: Option<&str>, base: &str) -> Manifest {
        let pos = Position { epoch: "e".into(), change: 0, events: 0, audit: 0 };
        Manifest {
            format: MANIFEST_FORMAT,
            id: id.into(),
            kind,
            base: base.into(),
            previous: previous.map(str::to_owned),
            clinic_id: "main".into(),
            created_at: at(created),
            clowder_version: "0".into(),
            layout: "1".into(),
            from: None,
            to: pos,
            counts: BTreeMap::new(),
            payload_sha256: String::new(),
            payload_bytes: 0,
            object_sha256: String::new(),
            object_bytes: 0,
            compression: "zstd".into(),
            encryption: "age".into(),
            recipient: "age1x".into(),
            duration_ms: 0,
            verification: None,
            documents: Vec::new(),
        }
    }

    /// A year of daily fulls at 02:30 UTC, each followed by two increments.
    fn year() -> Vec<Manifest> {
        let mut out = Vec::new();
        let start: jiff::civil::Date = "2025-12-01".parse().unwrap();
        for d in 0..370 {
            let day = start + jiff::Span::new().days(d);
            let full = format!("{day}-full");
            out.push(backup(&full, BackupKind::Full, &format!("{day}T02:30:00Z"), None, &full));
            let i1 = format!("{day}-i1");
            out.push(backup(&i1, BackupKind::Incremental, &format!("{day}T02:35:00Z"), Some(&full), &full));
            let i2 = format!("{day}-i2");
            out.push(backup(&i2, BackupKind::Incremental, &format!("{day}T02:40:00Z"), Some(&i1), &full));
        }
        out
    }

    #[test]
    fn keeps_recent_increments_daily_and_monthly_fulls_and_what_they_need() {
        let all = year();
        let now = at("2026-12-05T12:00:00Z");
        let gone = expired(&all, &Retention::default(), now, &jiff::tz::TimeZone::UTC);
        let kept: Vec<&str> = all.iter().map(|m| m.id.as_str()).filter(|id| !gone.iter().any(|g| g == id)).collect();
        // Every backup of the last 48 hours (Dec 4 and 5, and Dec 3's increments at 02:35 are
        // older than 48 h: gone, but Dec 3's full stays as a daily).
        for id in ["2026-12-05-full", "2026-12-05-i1", "2026-12-05-i2", "2026-12-04-full", "2026-12-04-i2"] {
            assert!(kept.contains(&id), "{id} kept");
        }
        assert!(!kept.contains(&"2026-12-03-i1"), "an increment older than 48 h goes");
        // Daily fulls for 30 days, not 31.
        assert!(kept.contains(&"2026-11-06-full"));
        assert!(!kept.contains(&"2026-11-05-full"), "30 days back goes");
        // The month's last full for 12 months: Nov 30 2026, ..., Dec 31 2025 is 12 months back.
        assert!(kept.contains(&"2026-10-31-full"));
        assert!(kept.contains(&"2026-01-31-full"));
        assert!(!kept.contains(&"2025-12-31-full"), "13 months back goes");
        assert!(!kept.contains(&"2026-10-30-full"), "not the month's last, not within 30 days");
        // No increment survives without its chain.
        for m in all.iter().filter(|m| kept.contains(&m.id.as_str()) && m.kind == BackupKind::Incremental) {
            let c = chain(&all, &m.id).unwrap();
            assert!(c.iter().all(|x| kept.contains(&x.id.as_str())), "{} keeps its chain", m.id);
        }
    }

    #[test]
    fn the_newest_full_and_its_chain_stay_even_when_old() {
        let all = vec![
            backup("f", BackupKind::Full, "2020-01-01T00:00:00Z", None, "f"),
            backup("i", BackupKind::Incremental, "2020-01-01T00:05:00Z", Some("f"), "f"),
        ];
        let gone = expired(&all, &Retention::default(), at("2026-12-05T00:00:00Z"), &jiff::tz::TimeZone::UTC);
        assert_eq!(gone, vec!["i".to_owned()], "the newest full stays; its later increment may go");
    }

    #[test]
    fn a_chain_with_a_missing_link_says_which() {
        let all = vec![
            backup("f", BackupKind::Full, "2026-12-01T00:00:00Z", None, "f"),
            backup("i2", BackupKind::Incremental, "2026-12-01T00:10:00Z", Some("i1"), "f"),
        ];
        let err = chain(&all, "i2").unwrap_err();
        assert!(err.contains("i1") && err.contains("missing"), "{err}");
        assert_eq!(chain(&all, "f").unwrap().len(), 1);
    }
}
