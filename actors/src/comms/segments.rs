//! Marketing segments: saved audience definitions ([`Segment`], table `segments`) and their
//! evaluation over the store ([`evaluate`]): visit recency and frequency, services had and
//! locations visited (from completed appointments), the cats' life stage and breed, active
//! clients only.
//!
//! Evaluation is a bounded scan of one snapshot: every appointment once (only when a visit
//! filter is given; there is no per-client appointment index), then every client, and for a
//! cat filter each client's cats through `patients_by_client`. A clinic's few tens of
//! thousands of appointments take tens of milliseconds; it runs on a preview and once when a
//! campaign starts sending, never per message. A segment is not a kind of the generic record
//! mechanism: it is written once and never changed (a different audience is a new segment).

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;
use std::sync::Arc;

use clowder_schemas::appointment_types::AppointmentType;
use clowder_schemas::appointments::{Appointment, Status};
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::campaigns::{LifeStage, MAX_PREVIEW, Segment, SegmentClient, SegmentFilter, SegmentPreview};
use clowder_schemas::clients::Client;
use clowder_schemas::events::DomainEvent;
use clowder_schemas::ids::SegmentId;
use clowder_schemas::locations::Location;
use clowder_schemas::patients::{Patient, PatientStatus};
use clowder_schemas::{AppointmentTypeId, ClientId, LocationId, ValidationError};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::store::{ChangeSet, IndexTable, Reader, RecordTable};

/// What a client's completed visits say, for the visit filters.
#[derive(Debug, Default)]
struct Visits {
    last: Option<Timestamp>,
    in_12m: u32,
    types: HashSet<AppointmentTypeId>,
    locations: HashSet<LocationId>,
}

fn uses_visits(f: &SegmentFilter) -> bool {
    f.last_visit_older_than_days.is_some()
        || f.last_visit_within_days.is_some()
        || f.min_visits_12m.is_some()
        || f.max_visits_12m.is_some()
        || !f.appointment_type_ids.is_empty()
        || !f.location_ids.is_empty()
}

fn days_before(now: Timestamp, days: u32) -> Timestamp {
    now.checked_sub(SignedDuration::from_hours(24 * i64::from(days))).unwrap_or(Timestamp::MIN)
}

fn visits_match(f: &SegmentFilter, v: Option<&Visits>, now: Timestamp) -> bool {
    let last = v.and_then(|v| v.last);
    if let Some(d) = f.last_visit_older_than_days
        && last.is_none_or(|t| t >= days_before(now, d))
    {
        return false;
    }
    if let Some(d) = f.last_visit_within_days
        && last.is_none_or(|t| t < days_before(now, d))
    {
        return false;
    }
    let n = v.map_or(0, |v| v.in_12m);
    if f.min_visits_12m.is_some_and(|m| n < m) || f.max_visits_12m.is_some_and(|m| n > m) {
        return false;
    }
    if !f.appointment_type_ids.is_empty()
        && !v.is_some_and(|v| f.appointment_type_ids.iter().any(|t| v.types.contains(t)))
    {
        return false;
    }
    if !f.location_ids.is_empty() && !v.is_some_and(|v| f.location_ids.iter().any(|l| v.locations.contains(l))) {
        return false;
    }
    true
}

/// Whether one cat passes the cat filters (life stage and breed, both for the same cat).
fn cat_matches(f: &SegmentFilter, p: &Patient, today: Date) -> bool {
    if p.status != PatientStatus::Active {
        return false;
    }
    if !f.life_stages.is_empty() {
        let stage = p.date_of_birth.and_then(|d| LifeStage::of(d, today));
        if !stage.is_some_and(|s| f.life_stages.contains(&s)) {
            return false;
        }
    }
    if !f.breeds.is_empty() {
        let Some(b) = p.breed.as_deref().map(str::trim) else { return false };
        if !f.breeds.iter().any(|x| x.to_lowercase() == b.to_lowercase()) {
            return false;
        }
    }
    true
}

/// Every client's completed visits up to `now`: one scan of the appointments.
fn visits_of(r: &Reader, now: Timestamp) -> Result<HashMap<ClientId, Visits>> {
    let mut visits: HashMap<ClientId, Visits> = HashMap::new();
    let year_ago = days_before(now, 365);
    r.scan::<Appointment>(RecordTable::Appointments, None, |a| {
        if a.status == Status::Completed && a.start <= now {
            let v = visits.entry(a.client_id).or_default();
            v.last = v.last.max(Some(a.start));
            if a.start >= year_ago {
                v.in_12m += 1;
            }
            v.types.insert(a.type_id);
            v.locations.insert(a.location_id);
        }
        ControlFlow::Continue(())
    })?;
    Ok(visits)
}

/// How many clients each filter holds in the snapshot `r`: one scan of the appointments (if
/// any filter asks about visits) and one of the clients for all of them, each client's cats
/// read at most once.
pub fn sizes(r: &Reader, filters: &[&SegmentFilter], now: Timestamp, today: Date) -> Result<Vec<u32>> {
    let visits = if filters.iter().any(|f| uses_visits(f)) { visits_of(r, now)? } else { HashMap::new() };
    let mut counts = vec![0u32; filters.len()];
    let mut clients = Vec::new();
    r.scan::<Client>(RecordTable::Clients, None, |c| {
        clients.push((c.id, c.active));
        ControlFlow::Continue(())
    })?;
    for (id, active) in clients {
        let mut cats: Option<Vec<Patient>> = None;
        for (i, f) in filters.iter().enumerate() {
            if (f.active_only && !active) || !visits_match(f, visits.get(&id), now) {
                continue;
            }
            if !f.life_stages.is_empty() || !f.breeds.is_empty() {
                if cats.is_none() {
                    let mut list = Vec::new();
                    for p in r.children(IndexTable::PatientsByClient, id.as_u128(), None)? {
                        list.extend(r.get::<Patient>(RecordTable::Patients, p)?);
                    }
                    cats = Some(list);
                }
                if !cats.as_deref().unwrap_or_default().iter().any(|p| cat_matches(f, p, today)) {
                    continue;
                }
            }
            counts[i] += 1;
        }
    }
    Ok(counts)
}

/// The clients `filter` holds in the snapshot `r` at `now` (`today` in the clinic's zone), in
/// the order of their ids (creation order).
pub fn evaluate(r: &Reader, filter: &SegmentFilter, now: Timestamp, today: Date) -> Result<Vec<Client>> {
    let visits = if uses_visits(filter) { visits_of(r, now)? } else { HashMap::new() };
    let cats = !filter.life_stages.is_empty() || !filter.breeds.is_empty();
    let mut candidates = Vec::new();
    r.scan::<Client>(RecordTable::Clients, None, |c| {
        if (!filter.active_only || c.active) && visits_match(filter, visits.get(&c.id), now) {
            candidates.push(c);
        }
        ControlFlow::Continue(())
    })?;
    if !cats {
        return Ok(candidates);
    }
    let mut out = Vec::with_capacity(candidates.len());
    for c in candidates {
        for id in r.children(IndexTable::PatientsByClient, c.id.as_u128(), None)? {
            if let Some(p) = r.get::<Patient>(RecordTable::Patients, id)?
                && cat_matches(filter, &p, today)
            {
                out.push(c);
                break;
            }
        }
    }
    Ok(out)
}

/// The segments service.
#[derive(Clone)]
pub struct Segments {
    ctx: Arc<Ctx>,
}

impl Segments {
    pub fn new(ctx: Arc<Ctx>) -> Segments {
        Segments { ctx }
    }

    /// Saves a segment (a checked name and filter) with its audit entry and event; each
    /// appointment type and location it names must exist (422 naming the entry).
    pub async fn create(&self, name: String, filter: SegmentFilter, caller: &Caller) -> Result<Segment> {
        let r = self.ctx.store.read()?;
        for (i, t) in filter.appointment_type_ids.iter().enumerate() {
            if r.get::<AppointmentType>(RecordTable::AppointmentTypes, t.as_u128())?.is_none() {
                let field = format!("filter.appointment_type_ids[{i}]");
                return Err(ValidationError::new(field, "no appointment type has this id").into());
            }
        }
        for (i, l) in filter.location_ids.iter().enumerate() {
            if r.get::<Location>(RecordTable::Locations, l.as_u128())?.is_none() {
                return Err(ValidationError::new(format!("filter.location_ids[{i}]"), "no location has this id").into());
            }
        }
        drop(r);
        let id = SegmentId::from_ulid(self.ctx.new_ulid());
        let segment = Segment { id, name, filter, created_at: self.ctx.clock.now(), created_by: caller.user_id() };
        let mut set = ChangeSet::new();
        set.put(RecordTable::Segments, id.as_u128(), &segment)?;
        set.audit(AuditDraft::new(caller, "segment.create").record("segment", id));
        set.event(caller.author(), DomainEvent::SegmentCreated { segment_id: id, name: segment.name.clone() });
        self.ctx.store.commit(set).await?;
        Ok(segment)
    }

    /// One segment (its definition names no client: not audited).
    pub fn get(&self, id: SegmentId) -> Result<Segment> {
        self.ctx.store.read()?.get::<Segment>(RecordTable::Segments, id.as_u128())?.ok_or(Error::SegmentNotFound(id))
    }

    /// The newest `limit` segments, newest first.
    pub fn list(&self, limit: usize) -> Result<Vec<Segment>> {
        Ok(self.page(None, limit)?.0)
    }

    /// A page of segments, newest first, from before the key `before`, with the key to go
    /// on from when there are more.
    pub fn page(&self, before: Option<u128>, limit: usize) -> Result<(Vec<Segment>, Option<u128>)> {
        let mut out = Vec::new();
        self.ctx.store.read()?.scan_rev::<Segment>(RecordTable::Segments, before, |s| {
            out.push(s);
            if out.len() > limit { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        })?;
        let more = out.len() > limit;
        out.truncate(limit);
        let next = more.then(|| out.last().map(|s| s.id.as_u128())).flatten();
        Ok((out, next))
    }

    /// How many clients each segment holds now, in their order (counts only: not audited).
    pub fn sizes(&self, segments: &[Segment]) -> Result<Vec<u32>> {
        let filters: Vec<&SegmentFilter> = segments.iter().map(|s| &s.filter).collect();
        sizes(&self.ctx.store.read()?, &filters, self.ctx.clock.now(), self.ctx.today())
    }

    /// The names of the appointment types and locations a filter names, in its order (an id
    /// that names nothing any more is shown as the id).
    pub fn names(&self, f: &SegmentFilter) -> Result<(Vec<String>, Vec<String>)> {
        let r = self.ctx.store.read()?;
        let mut types = Vec::new();
        for t in &f.appointment_type_ids {
            let t_name = r.get::<AppointmentType>(RecordTable::AppointmentTypes, t.as_u128())?.map(|x| x.name);
            types.push(t_name.unwrap_or_else(|| t.to_string()));
        }
        let mut locations = Vec::new();
        for l in &f.location_ids {
            let l_name = r.get::<Location>(RecordTable::Locations, l.as_u128())?.map(|x| x.name);
            locations.push(l_name.unwrap_or_else(|| l.to_string()));
        }
        Ok((types, locations))
    }

    /// The clients a segment holds now.
    pub fn members(&self, id: SegmentId) -> Result<Vec<Client>> {
        let r = self.ctx.store.read()?;
        let s = r.get::<Segment>(RecordTable::Segments, id.as_u128())?.ok_or(Error::SegmentNotFound(id))?;
        evaluate(&r, &s.filter, self.ctx.clock.now(), self.ctx.today())
    }

    /// How many clients a segment holds now and the first `limit` (at most [`MAX_PREVIEW`])
    /// by name only; audited (`segment.preview`, with the ids shown) before it returns.
    pub async fn preview(&self, id: SegmentId, limit: usize, caller: &Caller) -> Result<SegmentPreview> {
        let members = self.members(id)?;
        let shown: Vec<SegmentClient> = members
            .iter()
            .take(limit.min(MAX_PREVIEW))
            .map(|c| SegmentClient { id: c.id, name: c.display_name() })
            .collect();
        let ids: Vec<String> = shown.iter().map(|c| c.id.to_string()).collect();
        self.ctx
            .store
            .enqueue_audit(
                AuditDraft::new(caller, "segment.preview")
                    .record("segment", id)
                    .detail(serde_json::json!({ "count": members.len(), "shown": ids })),
            )
            .await?;
        Ok(SegmentPreview { count: u32::try_from(members.len()).unwrap_or(u32::MAX), clients: shown })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn recency_and_frequency_bounds() {
        let now = at("2026-06-01T12:00:00Z");
        let v = Visits { last: Some(at("2025-01-01T09:00:00Z")), in_12m: 0, ..Default::default() };
        let older = SegmentFilter { last_visit_older_than_days: Some(365), ..Default::default() };
        assert!(visits_match(&older, Some(&v), now));
        // Never visited: not "lapsed".
        assert!(!visits_match(&older, None, now));
        let within = SegmentFilter { last_visit_within_days: Some(30), ..Default::default() };
        assert!(!visits_match(&within, Some(&v), now));
        let none_this_year = SegmentFilter { max_visits_12m: Some(0), ..Default::default() };
        assert!(visits_match(&none_this_year, None, now));
        let regular = SegmentFilter { min_visits_12m: Some(2), ..Default::default() };
        assert!(!visits_match(&regular, Some(&v), now));
    }
}
