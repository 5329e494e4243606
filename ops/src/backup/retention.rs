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
