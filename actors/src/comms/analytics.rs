//! Reminder analytics: which template variant an automation uses ([`pick_variant`], A/B
//! testing by a stable hash of the message key), and the report of
//! `GET /api/communications/analytics` ([`Analytics::report`]): sent, delivered, opened,
//! clicked and booking conversion per template over a date range, and the no-show rate of
//! reminded vs not reminded appointments. Reads only; counts only (no client is named).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::ControlFlow;
use std::sync::Arc;

use clowder_schemas::analytics::{AnalyticsQuery, AnalyticsReport, Figures, NoShowComparison, VariantFigures};
use clowder_schemas::appointments::{Appointment, Status};
use clowder_schemas::automations::{AutomationRule, rule_key};
use clowder_schemas::messages::{Channel, Message, MessageStatus};
use clowder_schemas::templates::{Template, TemplateCategory};
use clowder_schemas::{AppointmentId, ClientId, TemplateId, ValidationError};
use jiff::{SignedDuration, Timestamp};

use crate::ctx::Ctx;
use crate::error::Result;
use crate::scheduling::{AppointmentFilter, Calendar, zones};
use crate::store::{IndexTable, Reader, RecordTable};

/// The automation whose messages count as reminders, and the prefix of their keys
/// (`appointment_reminder:<first appointment of the visit>:<offset>m:<start>`).
const REMINDER: &str = "appointment_reminder";
/// The reminder rule's default for one visit's window (`same_visit_minutes`).
const SAME_VISIT_MINUTES: i64 = 90;

/// Which of `n` variants the message keyed `key` gets: the first 8 bytes of SHA-256 of the
/// key, mod `n`. Stable across runs and builds (not `std`'s hasher, which is seeded), so a
/// re-run of an automation picks what the first run picked.
pub fn variant_index(key: &str, n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    let d = ring::digest::digest(&ring::digest::SHA256, key.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&d.as_ref()[..8]);
    (u64::from_be_bytes(b) % n as u64) as usize
}

/// The clinic's template for a message keyed `key` in `category` and `channel`: one of the
/// active ones, ordered by template id, chosen by [`variant_index`]. With one active template
/// (the usual case) it is that one; with several, each is an A/B variant.
pub fn pick_variant(r: &Reader, category: TemplateCategory, channel: Channel, key: &str) -> Result<Option<Template>> {
    let mut found = Vec::new();
    // The table is in id order, so the variants are too.
    r.scan::<Template>(RecordTable::Templates, None, |t| {
        if t.active && t.category == category && t.channel == channel {
            found.push(t);
        }
        ControlFlow::Continue(())
    })?;
    let i = variant_index(key, found.len());
    Ok((i < found.len()).then(|| found.swap_remove(i)))
}

/// The smallest ULID of the millisecond `t` (record ids are time-ordered ULIDs).
fn ulid_floor(t: Timestamp) -> u128 {
    ulid::Ulid::from_parts(t.as_millisecond().max(0) as u64, 0).0
}

/// A template variant: its category, channel and id.
type Variant = (Option<TemplateCategory>, Channel, Option<TemplateId>);

/// The counted facts of one message.
struct Counted {
    variant: Variant,
    client: Option<ClientId>,
    sent_at: Option<Timestamp>,
    delivered: bool,
    tracked: bool,
    opened: bool,
    clicked: bool,
}

/// The analytics service (reads only).
#[derive(Clone)]
pub struct Analytics {
    ctx: Arc<Ctx>,
    calendar: Calendar,
}

impl Analytics {
    pub fn new(ctx: Arc<Ctx>, calendar: Calendar) -> Analytics {
        Analytics { ctx, calendar }
    }

    /// The clinic's local date today (the report's default end).
    pub fn today(&self) -> jiff::civil::Date {
        self.ctx.today()
    }

    /// The report of `q`. The range is of local dates in the clinic's zone: messages queued
    /// in it (a message's id is the time it was queued, so the scan starts at `from`'s id),
    /// and appointments starting in it.
    pub fn report(&self, q: &AnalyticsQuery) -> Result<AnalyticsReport> {
        if let Some(a) = &q.automation
            && !super::automations::rules().iter().any(|r| r.kind() == a)
        {
            return Err(ValidationError::new("automation", "names no automation").into());
        }
        let tz = &self.ctx.config.time_zone;
        let (lo, _) = zones::day_bounds(tz, q.from)?;
        let (_, hi) = zones::day_bounds(tz, q.to)?;
        let r = self.ctx.store.read()?;
        let counted = self.messages(&r, q, lo, hi)?;
        let converted = self.conversions(&r, &counted, q.convert_days)?;
        let mut totals = Figures::default();
        // Ordered by category, channel and template id (the variants' order).
        type Key = (Option<&'static str>, &'static str, Option<u128>);
        let mut by_variant: BTreeMap<Key, (Variant, Figures)> = BTreeMap::new();
        for (m, conv) in counted.iter().zip(&converted) {
            let (category, channel, template) = m.variant;
            let key = (category.map(<&'static str>::from), channel.as_str(), template.map(|t| t.as_u128()));
            let row = &mut by_variant.entry(key).or_insert_with(|| (m.variant, Figures::default())).1;
            for f in [&mut totals, row] {
                f.messages += 1;
                f.sent += u32::from(m.sent_at.is_some());
                f.delivered += u32::from(m.delivered);
                f.tracked += u32::from(m.tracked);
                f.opened += u32::from(m.opened);
                f.clicked += u32::from(m.clicked);
                f.converted += u32::from(*conv);
            }
        }
        let mut variants = Vec::with_capacity(by_variant.len());
        for ((category, channel, template_id), f) in by_variant.into_values() {
            let template_name = match template_id {
                Some(t) => r.get::<Template>(RecordTable::Templates, t.as_u128())?.map(|t| t.content.name),
                None => None,
            };
            variants.push(VariantFigures { template_id, template_name, category, channel, figures: f.with_rates() });
        }
        Ok(AnalyticsReport {
            from: q.from,
            to: q.to,
            automation: q.automation.clone(),
            category: q.category,
            convert_days: q.convert_days,
            totals: totals.with_rates(),
            variants,
            no_shows: self.no_shows(&r, lo, hi)?,
        })
    }

    /// The messages queued in `[lo, hi)` that pass the filters.
    fn messages(&self, r: &Reader, q: &AnalyticsQuery, lo: Timestamp, hi: Timestamp) -> Result<Vec<Counted>> {
        let end = ulid_floor(hi);
        let mut out = Vec::new();
        r.scan::<Message>(RecordTable::Messages, ulid_floor(lo).checked_sub(1), |m| {
            if m.id.as_u128() >= end {
                return ControlFlow::Break(());
            }
            let keep = q.automation.as_deref().is_none_or(|a| m.automation.as_deref() == Some(a))
                && q.category.is_none_or(|c| m.category == Some(c));
            if keep {
                let sent = matches!(m.status, MessageStatus::Sent | MessageStatus::Delivered | MessageStatus::Bounced);
                let tracked = sent && m.channel == Channel::Email && m.client_id.is_some() && m.html.is_some();
                out.push(Counted {
                    variant: (m.category, m.channel, m.template_id),
                    client: m.client_id,
                    sent_at: if sent { m.sent_at } else { None },
                    delivered: m.status == MessageStatus::Delivered,
                    tracked,
                    opened: tracked && m.opens > 0,
                    clicked: tracked && m.clicks > 0,
                });
            }
            ControlFlow::Continue(())
        })?;
        Ok(out)
    }

    /// For each message: did its client book (an appointment `created_at`) within `days` after
    /// it was sent? One scan of the appointments created from the first send to the last plus
    /// `days` (appointment ids are time-ordered too), no per-client index needed.
    fn conversions(&self, r: &Reader, counted: &[Counted], days: u16) -> Result<Vec<bool>> {
        let window = SignedDuration::from_hours(24 * i64::from(days));
        let clients: HashSet<ClientId> =
            counted.iter().filter(|m| m.sent_at.is_some()).filter_map(|m| m.client).collect();
        let sent = counted.iter().filter_map(|m| m.client.and(m.sent_at));
        let (Some(first), Some(last)) = (sent.clone().min(), sent.max()) else {
            return Ok(vec![false; counted.len()]);
        };
        let end = last.saturating_add(window).unwrap_or(Timestamp::MAX);
        let mut booked: HashMap<ClientId, Vec<Timestamp>> = HashMap::new();
        let stop = ulid_floor(end.saturating_add(SignedDuration::from_millis(1)).unwrap_or(end));
        r.scan::<Appointment>(RecordTable::Appointments, ulid_floor(first).checked_sub(1), |a| {
            if a.id.as_u128() >= stop {
                return ControlFlow::Break(());
            }
            if clients.contains(&a.client_id) {
                booked.entry(a.client_id).or_default().push(a.created_at);
            }
            ControlFlow::Continue(())
        })?;
        Ok(counted
            .iter()
            .map(|m| match (m.client, m.sent_at) {
                (Some(c), Some(at)) => {
                    let until = at.saturating_add(window).unwrap_or(Timestamp::MAX);
                    booked.get(&c).is_some_and(|ts| ts.iter().any(|t| *t > at && *t <= until))
                }
                _ => false,
            })
            .collect())
    }

    /// Final appointments starting in `[lo, hi)`, split by whether a reminder was sent for
    /// their visit.
    fn no_shows(&self, r: &Reader, lo: Timestamp, hi: Timestamp) -> Result<NoShowComparison> {
        let window = SignedDuration::from_mins(
            r.get::<AutomationRule>(RecordTable::Automations, rule_key(REMINDER))?
                .and_then(|row| row.params.get("same_visit_minutes").and_then(|v| v.as_i64()))
                .unwrap_or(SAME_VISIT_MINUTES),
        );
        let mut finals = Vec::new();
        let mut after = None;
        loop {
            let page = self.calendar.list(&AppointmentFilter {
                from: Some(lo),
                to: Some(hi),
                after,
                limit: 500,
                ..Default::default()
            })?;
            let more = page.next_cursor.is_some();
            finals.extend(
                page.items
                    .into_iter()
                    .filter(|a| matches!(a.status, Status::Completed | Status::NoShow | Status::Cancelled)),
            );
            if !more {
                break;
            }
            after = page.next_cursor.and_then(|c| clowder_schemas::pagination::Cursor::decode(&c).ok());
            if after.is_none() {
                break;
            }
        }
        // The visits each client was reminded of: the first appointment its reminders name.
        let mut anchors: HashMap<ClientId, Vec<Appointment>> = HashMap::new();
        let mut out = NoShowComparison::default();
        for a in &finals {
            if let std::collections::hash_map::Entry::Vacant(e) = anchors.entry(a.client_id) {
                e.insert(self.reminded_anchors(r, a.client_id)?);
            }
            let reminded = anchors.get(&a.client_id).is_some_and(|list| {
                list.iter().any(|v| {
                    v.id == a.id || (v.location_id == a.location_id && a.start.duration_since(v.start).abs() <= window)
                })
            });
            let g = if reminded { &mut out.reminded } else { &mut out.not_reminded };
            match a.status {
                Status::Completed => g.completed += 1,
                Status::NoShow => g.no_show += 1,
                _ => g.cancelled += 1,
            }
        }
        out.reminded = out.reminded.with_rate();
        out.not_reminded = out.not_reminded.with_rate();
        Ok(out)
    }

    /// The appointments named by the client's reminders that a provider accepted.
    fn reminded_anchors(&self, r: &Reader, client: ClientId) -> Result<Vec<Appointment>> {
        let mut out: Vec<Appointment> = Vec::new();
        for id in r.children(IndexTable::MessagesByClient, client.as_u128(), None)? {
            let Some(m) = r.get::<Message>(RecordTable::Messages, id)? else { continue };
            if m.automation.as_deref() != Some(REMINDER)
                || !matches!(m.status, MessageStatus::Sent | MessageStatus::Delivered)
            {
                continue;
            }
            let Some(anchor) = reminder_subject(&m.idempotency_key) else { continue };
            if out.iter().any(|a| a.id == anchor) {
                continue;
            }
            if let Some(a) = r.get::<Appointment>(RecordTable::Appointments, anchor.as_u128())? {
                out.push(a);
            }
        }
        Ok(out)
    }
}

/// The appointment a reminder's key names (`appointment_reminder:<id>:…`).
fn reminder_subject(key: &str) -> Option<AppointmentId> {
    let rest = key.strip_prefix(REMINDER)?.strip_prefix(':')?;
    rest.split(':').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_are_stable_and_spread() {
        assert_eq!(variant_index("anything", 0), 0);
        assert_eq!(variant_index("anything", 1), 0);
        let picks: Vec<usize> = (0..200).map(|i| variant_index(&format!("welcome:{i}:0"), 2)).collect();
        let again: Vec<usize> = (0..200).map(|i| variant_index(&format!("welcome:{i}:0"), 2)).collect();
        assert_eq!(picks, again);
        let ones = picks.iter().filter(|&&p| p == 1).count();
        assert!((60..=140).contains(&ones), "{ones} of 200 got the second variant");
        // Pinned (SHA-256, as computed elsewhere): a change of the hash would move every
        // running A/B test's clients to other variants.
        assert_eq!(variant_index("appointment_reminder:x:1440m:0", 1000), 504);
    }

    #[test]
    fn a_reminder_key_names_its_appointment() {
        let id = AppointmentId::from_u128(42);
        assert_eq!(reminder_subject(&format!("appointment_reminder:{id}:1440m:1700000000")), Some(id));
        assert_eq!(reminder_subject(&format!("follow_up:{id}:0")), None);
        assert_eq!(reminder_subject("appointment_reminder:nope:1"), None);
    }
}
