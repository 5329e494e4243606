//! The calendar's configuration: locations, rooms, staff profiles, shifts and time off.
//!
//! Written rarely, read on every booking and availability query, so each write commits under
//! one lock and then updates the in-memory [`Book`]; reads come from the book. Shifts are
//! placed in time with their location's time zone when saved (`starts_at`, `ends_at`), and
//! one person's live shifts never overlap (409 `shift_overlap`).

use std::sync::{Arc, RwLock};

use clowder_schemas::access::{Permission, Permissions};
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::events::DomainEvent;
use clowder_schemas::locations::{CreateLocation, CreateRoom, Location, Room, UpdateLocation, UpdateRoom};
use clowder_schemas::staff::{
    CreateShift, CreateStaff, RequestTimeOff, Shift, ShiftDraft, StaffProfile, TimeOff, TimeOffStatus, UpdateShift,
    UpdateStaff,
};
use clowder_schemas::users::User;
use clowder_schemas::{LocationId, RoomId, ShiftId, StaffId, TimeOffId, UserId, ValidationError};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::book::Book;
use super::zones::{local_instant, time_zone};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::store::tables::unique;
use crate::store::{ChangeSet, RecordTable};

/// The longest range of local dates one shift list covers.
pub const MAX_SHIFT_LIST_DAYS: i32 = 92;

/// The configuration service.
#[derive(Clone)]
pub struct Setup {
    ctx: Arc<Ctx>,
    book: Arc<RwLock<Book>>,
    writer: Arc<tokio::sync::Mutex<()>>,
}

fn name_key(s: &str) -> String {
    s.trim().to_lowercase()
}

fn room_key(r: &Room) -> String {
    format!("{}/{}", r.location_id, name_key(&r.name))
}

impl Setup {
    pub(crate) fn new(ctx: Arc<Ctx>, book: Arc<RwLock<Book>>) -> Self {
        Self { ctx, book, writer: Arc::default() }
    }

    /// Commits `set`, then applies `after` to the book, in a task of its own that also holds
    /// the writer lock: a caller that goes away meanwhile (a dropped HTTP request) cannot leave
    /// a committed change missing from the book, nor let the next write see a stale book.
    async fn commit_then(
        &self,
        writer: tokio::sync::OwnedMutexGuard<()>,
        set: ChangeSet,
        after: impl FnOnce(&mut Book) + Send + 'static,
    ) -> Result<()> {
        let (ctx, book) = (self.ctx.clone(), self.book.clone());
        let tasks = ctx.tasks.clone();
        tasks
            .spawn(async move {
                let _writer = writer;
                ctx.store.commit(set).await?;
                after(&mut book.write().unwrap_or_else(|p| p.into_inner()));
                Ok::<_, Error>(())
            })
            .await
            .map_err(|e| Error::Internal(format!("a scheduling write task failed: {e}")))?
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Book> {
        self.book.read().unwrap_or_else(|p| p.into_inner())
    }

    // --- locations -------------------------------------------------------------------------

    pub async fn create_location(&self, body: &CreateLocation, caller: &Caller) -> Result<Location> {
        let l = body.validate(LocationId::from_ulid(self.ctx.new_ulid()), self.ctx.clock.now())?;
        let tz = time_zone("time_zone", &l.time_zone)?;
        let w = self.writer.clone().lock_owned().await;
        let key = l.id.as_u128();
        let mut set = ChangeSet::new();
        set.claim(unique::LOCATION_NAME, &name_key(&l.name), key, "name");
        set.put(RecordTable::Locations, key, &l)?;
        set.event(caller.author(), DomainEvent::LocationCreated { location: l.clone() });
        set.audit(AuditDraft::new(caller, "location.create").record("location", l.id));
        let saved = l.clone();
        self.commit_then(w, set, move |b| b.put_location(saved, tz)).await?;
        Ok(l)
    }

    pub async fn update_location(&self, id: LocationId, patch: &UpdateLocation, caller: &Caller) -> Result<Location> {
        let w = self.writer.clone().lock_owned().await;
        let cur = self.location(id)?;
        let mut l = patch.apply(&cur)?;
        if l == cur {
            return Ok(cur);
        }
        let tz = time_zone("time_zone", &l.time_zone)?;
        let now = self.ctx.clock.now();
        if l.time_zone != cur.time_zone && self.read().has_shifts_after(id, now) {
            // Shifts are local times placed with the old zone; moving them silently would
            // change who works when.
            return Err(ValidationError::new(
                "time_zone",
                "cannot change while the location has shifts still to come; cancel them first",
            )
            .into());
        }
        l.updated_at = now;
        let key = id.as_u128();
        let mut set = ChangeSet::new();
        if name_key(&l.name) != name_key(&cur.name) {
            set.release(unique::LOCATION_NAME, &name_key(&cur.name), key);
            set.claim(unique::LOCATION_NAME, &name_key(&l.name), key, "name");
        }
        set.put(RecordTable::Locations, key, &l)?;
        set.event(caller.author(), DomainEvent::LocationUpdated { location: l.clone() });
        set.audit(AuditDraft::new(caller, "location.update").record("location", id));
        let saved = l.clone();
        self.commit_then(w, set, move |b| b.put_location(saved, tz)).await?;
        Ok(l)
    }

    /// A clinic needs a location to book: on first start one is made in the configured time
    /// zone with the default hours ("Main clinic", renamed in settings).
    pub async fn ensure_location(&self) -> Result<()> {
        if !self.read().locations.is_empty() {
            return Ok(());
        }
        let tz = self.ctx.config.time_zone.iana_name().unwrap_or("UTC").to_owned();
        let body = CreateLocation {
            name: "Main clinic".into(),
            time_zone: tz,
            address: None,
            phone: None,
            hours: None,
            blackout_dates: Vec::new(),
            booking: None,
            tax_rate: None,
        };
        self.create_location(&body, &Caller::system()).await?;
        Ok(())
    }

    pub fn location(&self, id: LocationId) -> Result<Location> {
        self.read().location(id).map(|(l, _)| l.clone()).ok_or(Error::LocationNotFound(id))
    }

    /// Locations by name; retired ones only when asked.
    pub fn locations(&self, include_inactive: bool) -> Vec<Location> {
        let mut v: Vec<Location> =
            self.read().locations.values().map(|(l, _)| l).filter(|l| include_inactive || l.active).cloned().collect();
        v.sort_by_key(|l| name_key(&l.name));
        v
    }

    // --- rooms -----------------------------------------------------------------------------

    pub async fn create_room(&self, body: &CreateRoom, caller: &Caller) -> Result<Room> {
        let r = body.validate(RoomId::from_ulid(self.ctx.new_ulid()), self.ctx.clock.now())?;
        let w = self.writer.clone().lock_owned().await;
        if self.read().location(r.location_id).is_none() {
            return Err(ValidationError::new("location_id", "names no location").into());
        }
        let key = r.id.as_u128();
        let mut set = ChangeSet::new();
        set.claim(unique::ROOM_NAME, &room_key(&r), key, "name");
        set.put(RecordTable::Rooms, key, &r)?;
        set.event(caller.author(), DomainEvent::RoomCreated { room: r.clone() });
        set.audit(AuditDraft::new(caller, "room.create").record("room", r.id));
        let saved = r.clone();
        self.commit_then(w, set, move |b| b.put_room(saved)).await?;
        Ok(r)
    }

    pub async fn update_room(&self, id: RoomId, patch: &UpdateRoom, caller: &Caller) -> Result<Room> {
        let w = self.writer.clone().lock_owned().await;
        let cur = self.room(id)?;
        let mut r = patch.apply(&cur)?;
        if r == cur {
            return Ok(cur);
        }
        r.updated_at = self.ctx.clock.now();
        let key = id.as_u128();
        let mut set = ChangeSet::new();
        if room_key(&r) != room_key(&cur) {
            set.release(unique::ROOM_NAME, &room_key(&cur), key);
            set.claim(unique::ROOM_NAME, &room_key(&r), key, "name");
        }
        set.put(RecordTable::Rooms, key, &r)?;
        set.event(caller.author(), DomainEvent::RoomUpdated { room: r.clone() });
        set.audit(AuditDraft::new(caller, "room.update").record("room", id));
        let saved = r.clone();
        self.commit_then(w, set, move |b| b.put_room(saved)).await?;
        Ok(r)
    }

    pub fn room(&self, id: RoomId) -> Result<Room> {
        self.read().rooms.get(&id).cloned().ok_or(Error::RoomNotFound(id))
    }

    /// Rooms, optionally of one location, by location then name.
    pub fn rooms(&self, location: Option<LocationId>, include_inactive: bool) -> Vec<Room> {
        let mut v: Vec<Room> = self
            .read()
            .rooms
            .values()
            .filter(|r| location.is_none_or(|l| r.location_id == l) && (include_inactive || r.active))
            .cloned()
            .collect();
        v.sort_by_key(|r| (r.location_id, name_key(&r.name)));
        v
    }

    // --- staff -----------------------------------------------------------------------------

    fn check_links(&self, s: &StaffProfile) -> Result<()> {
        if let Some(u) = s.user_id
            && self.ctx.store.read()?.get::<User>(RecordTable::Users, u.as_u128())?.is_none()
        {
            return Err(ValidationError::new("user_id", "names no user").into());
        }
        if let Some(l) = s.home_location_id
            && self.read().location(l).is_none()
        {
            return Err(ValidationError::new("home_location_id", "names no location").into());
        }
        Ok(())
    }

    pub async fn create_staff(&self, body: &CreateStaff, caller: &Caller) -> Result<StaffProfile> {
        let s = body.validate(StaffId::from_ulid(self.ctx.new_ulid()), self.ctx.clock.now())?;
        let w = self.writer.clone().lock_owned().await;
        self.check_links(&s)?;
        let key = s.id.as_u128();
        let mut set = ChangeSet::new();
        if let Some(e) = &s.email {
            set.claim(unique::STAFF_EMAIL, e.as_str(), key, "email");
        }
        if let Some(u) = s.user_id {
            set.claim(unique::STAFF_USER, &u.to_string(), key, "user_id");
        }
        set.put(RecordTable::Staff, key, &s)?;
        set.event(caller.author(), DomainEvent::StaffCreated { staff: s.clone() });
        set.audit(AuditDraft::new(caller, "staff.create").record("staff", s.id));
        let saved = s.clone();
        self.commit_then(w, set, move |b| b.put_staff(saved)).await?;
        Ok(s)
    }

    pub async fn update_staff(&self, id: StaffId, patch: &UpdateStaff, caller: &Caller) -> Result<StaffProfile> {
        let w = self.writer.clone().lock_owned().await;
        let cur = self.staff(id)?;
        let mut s = patch.apply(&cur)?;
        if s == cur {
            return Ok(cur);
        }
        self.check_links(&s)?;
        s.updated_at = self.ctx.clock.now();
        let key = id.as_u128();
        let mut set = ChangeSet::new();
        if s.email != cur.email {
            if let Some(e) = &cur.email {
                set.release(unique::STAFF_EMAIL, e.as_str(), key);
            }
            if let Some(e) = &s.email {
                set.claim(unique::STAFF_EMAIL, e.as_str(), key, "email");
            }
        }
        if s.user_id != cur.user_id {
            if let Some(u) = cur.user_id {
                set.release(unique::STAFF_USER, &u.to_string(), key);
            }
            if let Some(u) = s.user_id {
                set.claim(unique::STAFF_USER, &u.to_string(), key, "user_id");
            }
        }
        set.put(RecordTable::Staff, key, &s)?;
        set.event(caller.author(), DomainEvent::StaffUpdated { staff: s.clone() });
        set.audit(AuditDraft::new(caller, "staff.update").record("staff", id));
        let saved = s.clone();
        self.commit_then(w, set, move |b| b.put_staff(saved)).await?;
        Ok(s)
    }

    pub fn staff(&self, id: StaffId) -> Result<StaffProfile> {
        self.read().staff.get(&id).cloned().ok_or(Error::StaffNotFound(id))
    }

    /// The staff profile linked to a user account.
    pub fn staff_of_user(&self, user: UserId) -> Option<StaffProfile> {
        self.read().staff.values().find(|s| s.user_id == Some(user)).cloned()
    }

    /// Staff by last then first name; former staff only when asked.
    pub fn staff_list(&self, include_inactive: bool) -> Vec<StaffProfile> {
        let mut v: Vec<StaffProfile> =
            self.read().staff.values().filter(|s| include_inactive || s.active).cloned().collect();
        v.sort_by_key(|s| (name_key(&s.last_name), name_key(&s.first_name), s.id));
        v
    }

    // --- shifts ----------------------------------------------------------------------------

    fn place(&self, draft: &ShiftDraft) -> Result<(Timestamp, Timestamp)> {
        let book = self.read();
        let Some((loc, tz)) = book.location(draft.location_id) else {
            return Err(ValidationError::new("location_id", "names no location").into());
        };
        if !loc.active {
            return Err(ValidationError::new("location_id", "this location is retired").into());
        }
        let starts = local_instant(tz, draft.date, draft.start)?;
        let end_date = if draft.end <= draft.start {
            draft.date.tomorrow().map_err(|e| ValidationError::new("date", e.to_string()))?
        } else {
            draft.date
        };
        let ends = local_instant(tz, end_date, draft.end)?;
        if ends <= starts {
            // Only possible around a DST jump (e.g. 01:30–02:15 on a spring-forward night).
            return Err(
                ValidationError::new("end", "falls before the start once daylight-saving time is applied").into()
            );
        }
        let minutes = ends.duration_since(starts).as_mins();
        if minutes <= i64::from(draft.break_minutes) {
            return Err(ValidationError::new("break_minutes", "must be shorter than the shift").into());
        }
        Ok((starts, ends))
    }

    pub async fn create_shift(&self, staff: StaffId, body: &CreateShift, caller: &Caller) -> Result<Shift> {
        let draft = body.validate()?;
        let w = self.writer.clone().lock_owned().await;
        self.staff(staff)?;
        let (starts_at, ends_at) = self.place(&draft)?;
        let id = ShiftId::from_ulid(self.ctx.new_ulid());
        if let Some(o) = self.read().shift_overlap(staff, starts_at, ends_at, id) {
            return Err(Error::ShiftOverlap { other: o.id, starts_at: o.starts_at, ends_at: o.ends_at });
        }
        let now = self.ctx.clock.now();
        let s = Shift {
            id,
            staff_id: staff,
            location_id: draft.location_id,
            date: draft.date,
            start: draft.start,
            end: draft.end,
            kind: draft.kind,
            break_minutes: draft.break_minutes,
            notes: draft.notes,
            starts_at,
            ends_at,
            cancelled: false,
            created_at: now,
            updated_at: now,
        };
        let mut set = ChangeSet::new();
        set.put(RecordTable::Shifts, id.as_u128(), &s)?;
        set.event(caller.author(), DomainEvent::ShiftCreated { shift: s.clone() });
        set.audit(
            AuditDraft::new(caller, "shift.create")
                .record("shift", id)
                .detail(serde_json::json!({ "staff_id": staff })),
        );
        let saved = s.clone();
        self.commit_then(w, set, move |b| b.put_shift(saved)).await?;
        Ok(s)
    }

    pub async fn update_shift(
        &self,
        staff: StaffId,
        id: ShiftId,
        patch: &UpdateShift,
        caller: &Caller,
    ) -> Result<Shift> {
        let w = self.writer.clone().lock_owned().await;
        let cur = self.shift(staff, id)?;
        let (draft, cancelled) = patch.apply(&cur)?;
        let (starts_at, ends_at) = self.place(&draft)?;
        if !cancelled && let Some(o) = self.read().shift_overlap(staff, starts_at, ends_at, id) {
            return Err(Error::ShiftOverlap { other: o.id, starts_at: o.starts_at, ends_at: o.ends_at });
        }
        let s = Shift {
            location_id: draft.location_id,
            date: draft.date,
            start: draft.start,
            end: draft.end,
            kind: draft.kind,
            break_minutes: draft.break_minutes,
            notes: draft.notes,
            starts_at,
            ends_at,
            cancelled,
            updated_at: self.ctx.clock.now(),
            ..cur.clone()
        };
        if (Shift { updated_at: cur.updated_at, ..s.clone() }) == cur {
            return Ok(cur);
        }
        let action = if cancelled && !cur.cancelled { "shift.cancel" } else { "shift.update" };
        let mut set = ChangeSet::new();
        set.put(RecordTable::Shifts, id.as_u128(), &s)?;
        set.event(caller.author(), DomainEvent::ShiftUpdated { shift: s.clone() });
        set.audit(AuditDraft::new(caller, action).record("shift", id));
        let saved = s.clone();
        self.commit_then(w, set, move |b| b.put_shift(saved)).await?;
        Ok(s)
    }

    pub fn shift(&self, staff: StaffId, id: ShiftId) -> Result<Shift> {
        let s = self.ctx.store.read()?.get::<Shift>(RecordTable::Shifts, id.as_u128())?;
        s.filter(|s| s.staff_id == staff).ok_or(Error::ShiftNotFound(id))
    }

    /// Someone's shifts overlapping `[from, to)`, by start; cancelled ones when asked.
    /// Someone's shifts whose local date is between `from` (default: the clinic's today) and
    /// `to` (default: six days after `from`, at most 92), both included, by start.
    pub fn shifts(
        &self,
        staff: StaffId,
        from: Option<Date>,
        to: Option<Date>,
        include_cancelled: bool,
    ) -> Result<Vec<Shift>> {
        let from = from.unwrap_or_else(|| self.ctx.today());
        let to = match to {
            Some(t) => t,
            None => {
                from.checked_add(jiff::Span::new().days(6)).map_err(|e| ValidationError::new("from", e.to_string()))?
            }
        };
        if to < from {
            return Err(ValidationError::new("to", "must be on or after from").into());
        }
        if (to - from).get_days() > MAX_SHIFT_LIST_DAYS {
            return Err(ValidationError::new("to", format!("at most {MAX_SHIFT_LIST_DAYS} days after from")).into());
        }
        // Shifts are filtered by their own local date; the instant window is padded by two
        // days so a location in any time zone is covered.
        let tz = &self.ctx.config.time_zone;
        let midnight = jiff::civil::Time::midnight();
        let lo = local_instant(tz, from, midnight).map_err(|e| ValidationError::new("from", e.message))?;
        let hi = local_instant(tz, to, midnight).map_err(|e| ValidationError::new("to", e.message))?;
        let pad = jiff::SignedDuration::from_hours(48);
        let (lo, hi) = (lo.saturating_sub(pad).unwrap_or(lo), hi.saturating_add(pad).unwrap_or(hi));
        let book = self.read();
        if !book.staff.contains_key(&staff) {
            return Err(Error::StaffNotFound(staff));
        }
        Ok(book
            .shifts_of(staff, lo, hi)
            .filter(|s| (include_cancelled || !s.cancelled) && s.date >= from && s.date <= to)
            .cloned()
            .collect())
    }

    // --- time off --------------------------------------------------------------------------

    pub async fn request_time_off(&self, body: &RequestTimeOff, caller: &Caller) -> Result<TimeOff> {
        let (first_day, last_day, reason) = body.validate()?;
        if !self.read().staff.contains_key(&body.staff_id) {
            return Err(ValidationError::new("staff_id", "names no staff member").into());
        }
        let now = self.ctx.clock.now();
        let t = TimeOff {
            id: TimeOffId::from_ulid(self.ctx.new_ulid()),
            staff_id: body.staff_id,
            first_day,
            last_day,
            reason,
            status: TimeOffStatus::Requested,
            requested_by: caller.user_id(),
            decided_by: None,
            decided_at: None,
            decision_note: None,
            created_at: now,
            updated_at: now,
        };
        let mut set = ChangeSet::new();
        set.put(RecordTable::TimeOff, t.id.as_u128(), &t)?;
        set.event(caller.author(), DomainEvent::TimeOffRequested { time_off: t.clone() });
        set.audit(AuditDraft::new(caller, "time_off.request").record("time_off", t.id));
        self.ctx.store.commit(set).await?;
        Ok(t)
    }

    pub fn time_off(&self, id: TimeOffId) -> Result<TimeOff> {
        self.ctx.store.read()?.get::<TimeOff>(RecordTable::TimeOff, id.as_u128())?.ok_or(Error::TimeOffNotFound(id))
    }

    /// Approves, denies or cancels a request. A decided request can still be cancelled (the
    /// person comes back early); nothing else moves once decided.
    pub async fn decide_time_off(
        &self,
        id: TimeOffId,
        to: TimeOffStatus,
        note: Option<String>,
        caller: &Caller,
    ) -> Result<TimeOff> {
        let w = self.writer.clone().lock_owned().await;
        let cur = self.time_off(id)?;
        let ok = matches!(
            (cur.status, to),
            (TimeOffStatus::Requested, TimeOffStatus::Approved | TimeOffStatus::Denied)
                | (TimeOffStatus::Requested | TimeOffStatus::Approved, TimeOffStatus::Cancelled)
        );
        if !ok {
            return Err(ValidationError::new(
                "status",
                format!("a {:?} request cannot become {:?}", cur.status, to).to_lowercase(),
            )
            .into());
        }
        let now = self.ctx.clock.now();
        let t = TimeOff {
            status: to,
            decided_by: if to == TimeOffStatus::Cancelled { cur.decided_by } else { caller.user_id() },
            decided_at: if to == TimeOffStatus::Cancelled { cur.decided_at } else { Some(now) },
            decision_note: note.or(cur.decision_note.clone()),
            updated_at: now,
            ..cur
        };
        let action = match to {
            TimeOffStatus::Approved => "time_off.approve",
            TimeOffStatus::Denied => "time_off.deny",
            _ => "time_off.cancel",
        };
        let mut set = ChangeSet::new();
        set.put(RecordTable::TimeOff, id.as_u128(), &t)?;
        set.event(caller.author(), DomainEvent::TimeOffDecided { time_off: t.clone() });
        set.audit(AuditDraft::new(caller, action).record("time_off", id));
        let saved = t.clone();
        self.commit_then(w, set, move |b| b.put_time_off(saved)).await?;
        Ok(t)
    }

    /// Who is away is everyone's business; why is theirs and the managers': leaves the
    /// reason and decision note only on `user`'s own requests unless `held` includes
    /// `scheduling:manage`.
    pub fn hide_reasons(&self, list: &mut [TimeOff], held: &Permissions, user: UserId) {
        if held.holds(Permission::SchedulingManage) {
            return;
        }
        let me = self.staff_of_user(user).map(|p| p.id);
        for t in list.iter_mut().filter(|t| Some(t.staff_id) != me) {
            t.reason = None;
            t.decision_note = None;
        }
    }

    /// Time-off requests, newest first, optionally of one person, one status, or touching
    /// `[from, to]` (local dates).
    pub fn time_off_list(
        &self,
        staff: Option<StaffId>,
        status: Option<TimeOffStatus>,
        from: Option<Date>,
        to: Option<Date>,
    ) -> Result<Vec<TimeOff>> {
        let mut out = Vec::new();
        self.ctx.store.read()?.scan::<TimeOff>(RecordTable::TimeOff, None, |t| {
            let keep = staff.is_none_or(|s| t.staff_id == s)
                && status.is_none_or(|s| t.status == s)
                && from.is_none_or(|f| t.last_day >= f)
                && to.is_none_or(|d| t.first_day <= d);
            if keep {
                out.push(t);
            }
            std::ops::ControlFlow::Continue(())
        })?;
        out.reverse();
        Ok(out)
    }
}

/// Fills the book from the store at start.
pub(crate) fn load(ctx: &Ctx, book: &mut Book) -> Result<()> {
    let r = ctx.store.read()?;
    let mut bad = None;
    r.scan::<Location>(RecordTable::Locations, None, |l| {
        match TimeZone::get(&l.time_zone) {
            Ok(tz) => book.put_location(l, tz),
            Err(e) => bad = Some(format!("location {} has an unknown time zone {}: {e}", l.id, l.time_zone)),
        }
        std::ops::ControlFlow::Continue(())
    })?;
    if let Some(b) = bad {
        return Err(Error::Internal(b));
    }
    r.scan::<Room>(RecordTable::Rooms, None, |x| {
        book.put_room(x);
        std::ops::ControlFlow::Continue(())
    })?;
    r.scan::<StaffProfile>(RecordTable::Staff, None, |x| {
        book.put_staff(x);
        std::ops::ControlFlow::Continue(())
    })?;
    r.scan::<Shift>(RecordTable::Shifts, None, |x| {
        book.put_shift(x);
        std::ops::ControlFlow::Continue(())
    })?;
    r.scan::<TimeOff>(RecordTable::TimeOff, None, |x| {
        book.put_time_off(x);
        std::ops::ControlFlow::Continue(())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;
    use crate::ctx::SystemConfig;
    use jiff::civil::date;
    use serde_json::json;

    #[tokio::test]
    async fn a_shift_list_covers_a_week_from_the_clinic_today_by_default_and_at_most_92_days() {
        let dir = tempfile::tempdir().unwrap();
        // 02:00 UTC on 2 June: still 1 June in the clinic's zone (New York).
        let clock = Arc::new(ManualClock::new("2026-06-02T02:00:00Z".parse().unwrap()));
        let mut config = SystemConfig::new(dir.path());
        config.time_zone = TimeZone::get("America/New_York").unwrap();
        let system = crate::System::start(config, clock).unwrap();
        let setup = &system.scheduling.setup;
        let caller = Caller::system();
        let body = json!({"name": "Main", "time_zone": "America/New_York"});
        let location = setup.create_location(&serde_json::from_value(body).unwrap(), &caller).await.unwrap().id;
        let body = json!({"first_name": "Ada", "last_name": "Vet", "position": "veterinarian"});
        let vet = setup.create_staff(&serde_json::from_value(body).unwrap(), &caller).await.unwrap().id;
        for d in [date(2026, 5, 31), date(2026, 6, 1), date(2026, 6, 7), date(2026, 6, 8)] {
            let body = json!({"location_id": location, "date": d, "start": "20:00", "end": "23:00"});
            setup.create_shift(vet, &serde_json::from_value(body).unwrap(), &caller).await.unwrap();
        }
        let dates = |from, to| -> Vec<Date> {
            setup.shifts(vet, from, to, false).unwrap().into_iter().map(|s| s.date).collect()
        };
        assert_eq!(dates(None, None), [date(2026, 6, 1), date(2026, 6, 7)], "1–7 June, by the local date");
        assert_eq!(dates(Some(date(2026, 5, 31)), Some(date(2026, 6, 1))), [date(2026, 5, 31), date(2026, 6, 1)]);

        let field = |from, to| match setup.shifts(vet, from, to, false) {
            Err(Error::Validation(v)) => v.field,
            other => panic!("expected a validation error, got {other:?}"),
        };
        assert_eq!(field(Some(date(2026, 6, 2)), Some(date(2026, 6, 1))), "to");
        assert_eq!(field(Some(date(2026, 6, 1)), Some(date(2026, 9, 2))), "to", "93 days");
        assert_eq!(dates(Some(date(2026, 6, 1)), Some(date(2026, 9, 1))).len(), 3, "92 days is allowed");
        let nobody = StaffId::from_u128(1);
        assert!(matches!(setup.shifts(nobody, None, None, false), Err(Error::StaffNotFound(_))));
    }
}
