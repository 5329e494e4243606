//! Personal calendar feeds: a staff member subscribes their calendar app to a secret URL and
//! sees their appointments there. The token is 32 random bytes, shown once, stored only as
//! its SHA-256 (claimed unique); issuing a new one revokes the old, and revoking ends it.
//!
//! **Decision: what a feed shows.** The URL works without signing in (calendar apps cannot),
//! so a feed carries no medical details: the cat's name and the appointment type only, at the
//! location's name. Fetches are not audited one by one (apps poll every few minutes); issuing
//! and revoking are.

use std::sync::{Arc, RwLock};

use clowder_schemas::appointment_types::AppointmentType;
use clowder_schemas::appointments::Appointment;
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::patients::Patient;
use clowder_schemas::staff::{CalendarFeed, StaffProfile};
use clowder_schemas::{FeedId, StaffId};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::book::Book;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::secrets::{random_secret, token_hash};
use crate::store::tables::unique;
use crate::store::{ChangeSet, RecordTable};

/// How far back and ahead a feed reaches.
const FEED_PAST_DAYS: i64 = 30;
const FEED_AHEAD_DAYS: i64 = 366;

/// One appointment as a feed shows it.
#[derive(Debug, Clone)]
pub struct FeedItem {
    pub appointment: Appointment,
    pub patient_name: String,
    pub type_name: String,
    pub location_name: String,
}

/// A feed's contents: whose it is, the time zone to write it in, and the appointments.
#[derive(Debug, Clone)]
pub struct FeedContents {
    pub staff: StaffProfile,
    pub tz_name: String,
    pub tz: TimeZone,
    pub items: Vec<FeedItem>,
}

/// The feeds service.
#[derive(Clone)]
pub struct Feeds {
    ctx: Arc<Ctx>,
    book: Arc<RwLock<Book>>,
    writer: Arc<tokio::sync::Mutex<()>>,
}

impl Feeds {
    pub(crate) fn new(ctx: Arc<Ctx>, book: Arc<RwLock<Book>>) -> Self {
        Self { ctx, book, writer: Arc::default() }
    }

    fn active_of(&self, staff: StaffId) -> Result<Vec<CalendarFeed>> {
        let mut out = Vec::new();
        self.ctx.store.read()?.scan::<CalendarFeed>(RecordTable::Feeds, None, |f| {
            if f.staff_id == staff && f.active {
                out.push(f);
            }
            std::ops::ControlFlow::Continue(())
        })?;
        Ok(out)
    }

    fn revoke_into(&self, set: &mut ChangeSet, feeds: Vec<CalendarFeed>, now: Timestamp) -> Result<()> {
        for f in feeds {
            set.release(unique::FEED_TOKEN, &f.token_hash, f.id.as_u128());
            let f = CalendarFeed { active: false, revoked_at: Some(now), ..f };
            set.put(RecordTable::Feeds, f.id.as_u128(), &f)?;
        }
        Ok(())
    }

    /// Issues a new feed token for `staff` (revoking any earlier one); returns it with the
    /// token, which is not kept.
    pub async fn issue(&self, staff: StaffId, caller: &Caller) -> Result<(CalendarFeed, String)> {
        if !self.book.read().unwrap_or_else(|p| p.into_inner()).staff.contains_key(&staff) {
            return Err(Error::StaffNotFound(staff));
        }
        let _w = self.writer.lock().await;
        let now = self.ctx.clock.now();
        let token = random_secret(32);
        let feed = CalendarFeed {
            id: FeedId::from_ulid(self.ctx.new_ulid()),
            staff_id: staff,
            token_hash: token_hash(&token),
            active: true,
            created_by: caller.user_id(),
            created_at: now,
            revoked_at: None,
        };
        let mut set = ChangeSet::new();
        self.revoke_into(&mut set, self.active_of(staff)?, now)?;
        set.claim(unique::FEED_TOKEN, &feed.token_hash, feed.id.as_u128(), "token");
        set.put(RecordTable::Feeds, feed.id.as_u128(), &feed)?;
        set.audit(AuditDraft::new(caller, "calendar_feed.issue").record("staff", staff));
        self.ctx.store.commit(set).await?;
        Ok((feed, token))
    }

    /// Revokes `staff`'s feed; returns whether there was one.
    pub async fn revoke(&self, staff: StaffId, caller: &Caller) -> Result<bool> {
        let _w = self.writer.lock().await;
        let active = self.active_of(staff)?;
        if active.is_empty() {
            return Ok(false);
        }
        let mut set = ChangeSet::new();
        self.revoke_into(&mut set, active, self.ctx.clock.now())?;
        set.audit(AuditDraft::new(caller, "calendar_feed.revoke").record("staff", staff));
        self.ctx.store.commit(set).await?;
        Ok(true)
    }

    /// The contents of the feed a token opens; `None` for an unknown or revoked token.
    pub fn contents(&self, token: &str) -> Result<Option<FeedContents>> {
        if token.is_empty() || token.len() > 128 {
            return Ok(None);
        }
        let r = self.ctx.store.read()?;
        let Some(key) = r.unique_owner(unique::FEED_TOKEN, &token_hash(token))? else { return Ok(None) };
        let Some(feed) = r.get::<CalendarFeed>(RecordTable::Feeds, key)?.filter(|f| f.active) else { return Ok(None) };
        let now = self.ctx.clock.now();
        let from = now.saturating_sub(SignedDuration::from_hours(24 * FEED_PAST_DAYS)).unwrap_or(now);
        let to = now.saturating_add(SignedDuration::from_hours(24 * FEED_AHEAD_DAYS)).unwrap_or(now);
        let (staff, tz_name, tz, slots, locations) = {
            let book = self.book.read().unwrap_or_else(|p| p.into_inner());
            // Someone who left keeps no working feed.
            let Some(staff) = book.staff.get(&feed.staff_id).filter(|s| s.active).cloned() else { return Ok(None) };
            let home = staff
                .home_location_id
                .and_then(|l| book.location(l))
                .or_else(|| book.locations.values().min_by_key(|(l, _)| l.id));
            let (tz_name, tz) = match home {
                Some((l, tz)) => (l.time_zone.clone(), tz.clone()),
                None => ("UTC".to_owned(), TimeZone::UTC),
            };
            let slots: Vec<_> =
                book.starting_between(from, to).filter(|s| s.vet_id == Some(staff.id)).map(|s| s.id).collect();
            let locations: std::collections::HashMap<_, _> =
                book.locations.values().map(|(l, _)| (l.id, l.name.clone())).collect();
            (staff, tz_name, tz, slots, locations)
        };
        let mut items = Vec::with_capacity(slots.len());
        for id in slots {
            let Some(a) = r.get::<Appointment>(RecordTable::Appointments, id.as_u128())? else { continue };
            let patient_name =
                r.get::<Patient>(RecordTable::Patients, a.patient_id.as_u128())?.map(|p| p.name).unwrap_or_default();
            let type_name = r
                .get::<AppointmentType>(RecordTable::AppointmentTypes, a.type_id.as_u128())?
                .map(|t| t.name)
                .unwrap_or_default();
            let location_name = locations.get(&a.location_id).cloned().unwrap_or_default();
            items.push(FeedItem { appointment: a, patient_name, type_name, location_name });
        }
        Ok(Some(FeedContents { staff, tz_name, tz, items }))
    }
}
