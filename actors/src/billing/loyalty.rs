//! Loyalty points: the programme's settings (`loyalty_settings`, key 0), each client's ledger
//! (`loyalty_ledger`, append-only, indexed by client) and redemption at checkout.
//!
//! A client's balance is derived, never typed: the ledger's entries summed, less the points
//! their issued invoices redeemed (`Invoice::loyalty`); what open drafts redeem is *held*
//! (`available = balance − held`), and a voided invoice's points count nowhere, so voiding
//! gives them back without a write here.
//!
//! - **Earning** is a step of charge capture's event-log follower (`capture.rs`): an
//!   `invoice_updated` of a paid invoice writes the earned entry, its claim `loyalty_earned`
//!   (once per invoice) and the follower's cursor in one change set; a refund afterwards writes
//!   a `reversed` entry in proportion to the money given back. The referral bonus rides on a
//!   referred client's first paid invoice (claim `loyalty_referral`).
//! - **Spending** (a redemption on a draft, a negative adjustment) is serialized per client
//!   under a striped lock, summed from a snapshot taken after the lock is held; the invoice's
//!   actor takes it for a redemption, as for credit on account (`credit.rs`).
//! - **Birthdays**: a daily job gives each client the bonus once a year (claim
//!   `loyalty_birthday`), on the birthday of one of their cats (clients have no birthday on file).
//! - **Expiry**: a daily job expires what is left of lots earned `expiry_months` ago, first in
//!   first out, once per lot (claim `loyalty_expired`).
//!
//! Rules and decisions: docs/loyalty.md. It never changes an invoice's lines.

use std::sync::Arc;

use clowder_schemas::ValidationError;
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::campaigns::Referral;
use clowder_schemas::catalogue::CatalogueItem;
use clowder_schemas::clients::Client;
use clowder_schemas::events::{Author, DomainEvent, Event};
use clowder_schemas::ids::{ClientId, InvoiceId, LoyaltyEntryId};
use clowder_schemas::invoices::{Invoice, InvoiceStatus};
use clowder_schemas::jobs::Job;
use clowder_schemas::loyalty::{
    EntryKind, Hold, LoyaltyAccount, LoyaltyEntry, LoyaltyRedemption, LoyaltySettings, PutLoyaltySettings,
};
use clowder_schemas::money::Cents;
use clowder_schemas::patients::{Patient, PatientStatus};
use jiff::Timestamp;
use tokio::sync::Mutex;

use super::credit::CreditLocks;
use super::invoices::{InvoiceCommand, Invoices};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::jobs::{JobCtx, JobError, JobFuture, JobHandler, JobOutcome, Recurring, Rule};
use crate::records::DecideCtx;
use crate::store::tables::unique;
use crate::store::{ChangeSet, IndexTable, Reader, RecordTable};

/// The settings' key in `loyalty_settings`.
const SETTINGS_KEY: u128 = 0;

/// The most entries one page of history shows.
const MAX_PAGE: usize = 200;

/// The programme's settings as stored, or the defaults (off).
pub fn settings_in(reader: &Reader) -> Result<LoyaltySettings> {
    Ok(reader.get::<LoyaltySettings>(RecordTable::LoyaltySettings, SETTINGS_KEY)?.unwrap_or_default())
}

/// A client's points from one snapshot: the ledger and the invoices' redemptions.
struct Tally {
    /// Every entry, the invoices' redemptions as `redeemed` entries (id: the invoice's), oldest first.
    entries: Vec<LoyaltyEntry>,
    balance: i64,
    holds: Vec<Hold>,
}

impl Tally {
    fn held(&self) -> i64 {
        self.holds.iter().map(|h| h.points).sum()
    }

    fn available(&self) -> i64 {
        self.balance - self.held()
    }
}

fn tally(reader: &Reader, client: ClientId) -> Result<Tally> {
    let mut entries = Vec::new();
    for key in reader.children(IndexTable::LoyaltyByClient, client.as_u128(), None)? {
        if let Some(e) = reader.get::<LoyaltyEntry>(RecordTable::LoyaltyLedger, key)? {
            entries.push(e);
        }
    }
    let mut holds = Vec::new();
    for key in reader.children(IndexTable::InvoicesByClient, client.as_u128(), None)? {
        let Some(inv) = reader.get::<Invoice>(RecordTable::Invoices, key)? else { continue };
        let Some(l) = inv.loyalty else { continue };
        match inv.status {
            InvoiceStatus::Void => {}
            InvoiceStatus::Draft => holds.push(Hold { invoice_id: inv.id, points: l.points, value: l.value }),
            _ => entries.push(LoyaltyEntry {
                id: LoyaltyEntryId::from_u128(inv.id.as_u128()),
                client_id: client,
                kind: EntryKind::Redeemed,
                points: -l.points,
                source: format!("invoice:{}", inv.id),
                invoice_id: Some(inv.id),
                paid: None,
                reason: None,
                at: l.at,
                by: l.by,
            }),
        }
    }
    entries.sort_by_key(|e| (e.at, e.id));
    let balance = entries.iter().map(|e| e.points).sum();
    Ok(Tally { entries, balance, holds })
}

/// Adds a ledger entry to `set`: the row, its index entry, the audit entry and the event.
fn record_into(set: &mut ChangeSet, entry: &LoyaltyEntry, caller: &Caller, action: &str) -> Result<()> {
    set.put(RecordTable::LoyaltyLedger, entry.id.as_u128(), entry)?;
    set.link(IndexTable::LoyaltyByClient, entry.client_id.as_u128(), entry.id.as_u128());
    set.audit(AuditDraft::new(caller, action).record("client", entry.client_id).detail(serde_json::json!({
        "entry": entry.id, "kind": entry.kind, "points": entry.points, "source": entry.source,
    })));
    set.event(
        caller.actor.unwrap_or(Author::System),
        DomainEvent::LoyaltyEntryRecorded {
            entry_id: entry.id,
            client_id: entry.client_id,
            kind: entry.kind,
            points: entry.points,
        },
    );
    Ok(())
}

fn entry(ctx: &Ctx, client: ClientId, kind: EntryKind, points: i64, source: String, now: Timestamp) -> LoyaltyEntry {
    LoyaltyEntry {
        id: LoyaltyEntryId::from_ulid(ctx.new_ulid()),
        client_id: client,
        kind,
        points,
        source,
        invoice_id: None,
        paid: None,
        reason: None,
        at: now,
        by: None,
    }
}

/// Charge capture's loyalty step: what an `invoice_updated` event earns or reverses, as a
/// change set (the follower adds its cursor and commits it), or `None`.
///
/// - A **paid** invoice not yet earned on (no `loyalty_earned` claim), while the programme is
///   on: `LoyaltySettings::points_for` it (if more than 0), and the referral bonus to whoever
///   referred its client if this is that client's first (claim `loyalty_referral`).
/// - An invoice earned on whose `paid` has since fallen (a refund): the earned points are
///   reversed in proportion, `earned × paid now ÷ paid then`, floored, less what was reversed
///   already. A later payment earns nothing back.
pub(crate) fn earning(ctx: &Ctx, reader: &Reader, event: &Event) -> Result<Option<ChangeSet>> {
    if event.kind != "invoice_updated" {
        return Ok(None);
    }
    let DomainEvent::InvoiceUpdated { invoice_id, .. } = serde_json::from_value(event.payload.clone())
        .map_err(|e| Error::Internal(format!("event {}: {e}", event.seq)))?
    else {
        return Ok(None);
    };
    let Some(inv) = reader.get::<Invoice>(RecordTable::Invoices, invoice_id.as_u128())? else { return Ok(None) };
    let caller = Caller::system();
    let now = ctx.clock.now();
    let mut set = ChangeSet::new();
    match reader.unique_owner(unique::LOYALTY_EARNED, &invoice_id.to_string())? {
        Some(key) => {
            let Some(earned) = reader.get::<LoyaltyEntry>(RecordTable::LoyaltyLedger, key)? else { return Ok(None) };
            let Some(then) = earned.paid.filter(|p| p.is_positive()) else { return Ok(None) };
            let kept = inv.paid.get().clamp(0, then.get());
            let target = i64::try_from(i128::from(earned.points) * i128::from(kept) / i128::from(then.get()))
                .map_err(|e| Error::Internal(format!("loyalty reversal: {e}")))?;
            let reversed: i64 = tally(reader, inv.client_id)?
                .entries
                .iter()
                .filter(|e| e.kind == EntryKind::Reversed && e.invoice_id == Some(inv.id))
                .map(|e| e.points)
                .sum();
            let now_points = earned.points + reversed;
            if target >= now_points {
                return Ok(None);
            }
            let mut e =
                entry(ctx, inv.client_id, EntryKind::Reversed, target - now_points, format!("invoice:{}", inv.id), now);
            e.invoice_id = Some(inv.id);
            record_into(&mut set, &e, &caller, "loyalty.reverse")?;
        }
        None => {
            let settings = settings_in(reader)?;
            if !settings.enabled || inv.status != InvoiceStatus::Paid {
                return Ok(None);
            }
            let points = settings.points_for(&inv);
            if points > 0 {
                let mut e = entry(ctx, inv.client_id, EntryKind::Earned, points, format!("invoice:{}", inv.id), now);
                e.invoice_id = Some(inv.id);
                e.paid = Some(inv.paid);
                set.claim(unique::LOYALTY_EARNED, &inv.id.to_string(), e.id.as_u128(), "invoice_id");
                record_into(&mut set, &e, &caller, "loyalty.earn")?;
            }
            if let Some(bonus) = referral(ctx, reader, &settings, inv.client_id, now)? {
                set.claim(unique::LOYALTY_REFERRAL, &inv.client_id.to_string(), bonus.id.as_u128(), "client_id");
                record_into(&mut set, &bonus, &caller, "loyalty.referral")?;
            }
        }
    }
    Ok((!set.is_empty()).then_some(set))
}

/// The referral bonus owed to whoever referred `client`, if any and not given yet.
fn referral(
    ctx: &Ctx,
    reader: &Reader,
    settings: &LoyaltySettings,
    client: ClientId,
    now: Timestamp,
) -> Result<Option<LoyaltyEntry>> {
    if settings.referral_bonus <= 0 || reader.unique_owner(unique::LOYALTY_REFERRAL, &client.to_string())?.is_some() {
        return Ok(None);
    }
    let Some(key) = reader.unique_owner(unique::REFERRED_CLIENT, &client.to_string())? else { return Ok(None) };
    let Some(r) = reader.get::<Referral>(RecordTable::Referrals, key)? else { return Ok(None) };
    let active = reader.get::<Client>(RecordTable::Clients, r.referrer_id.as_u128())?.is_some_and(|c| c.active);
    if !active {
        return Ok(None);
    }
    Ok(Some(entry(ctx, r.referrer_id, EntryKind::Earned, settings.referral_bonus, format!("referral:{client}"), now)))
}

/// The invoice actor's part of a redemption (`points`) or its release (`None`), on a draft:
/// `false` if nothing changes. Decided under the client's loyalty lock (`InvoiceKind::locks`)
/// from the decision's snapshot, so two drafts cannot spend the same points.
pub(crate) fn decide(ctx: &DecideCtx<'_>, inv: &mut Invoice, points: Option<i64>) -> Result<bool> {
    let Some(points) = points else {
        if inv.loyalty.is_none() {
            return Ok(false);
        }
        inv.loyalty = None;
        inv.recompute()?;
        return Ok(true);
    };
    let reader = ctx.reader()?;
    let settings = settings_in(reader)?;
    if !settings.enabled {
        return Err(Error::LoyaltyDisabled);
    }
    let value = settings.value_of(points, "points")?;
    if inv.loyalty.is_some_and(|l| l.points == points) {
        return Ok(false); // the same redemption again (a retry): nothing changes
    }
    // The snapshot holds this draft as it is, so its own hold is counted in `held`.
    let available = tally(reader, inv.client_id)?.available() + inv.loyalty.map_or(0, |l| l.points);
    if points > available {
        return Err(ValidationError::new(
            "points",
            format!("is more than the client's available points ({})", available.max(0)),
        )
        .into());
    }
    inv.loyalty = None;
    inv.recompute()?;
    let room = inv.totals.subtotal.checked_sub(inv.totals.discount).map_err(|e| Error::Internal(e.to_string()))?;
    if value > room {
        return Err(ValidationError::new(
            "points",
            format!(
                "are worth {} cents, more than the invoice after its discounts ({} cents)",
                value.get(),
                room.get()
            ),
        )
        .into());
    }
    inv.loyalty = Some(LoyaltyRedemption { points, value, at: ctx.now, by: ctx.caller.user_id() });
    inv.recompute()?;
    Ok(true)
}

/// Which page of a client's history to show.
#[derive(Debug, Clone, Default)]
pub struct HistoryPage {
    pub limit: Option<usize>,
    /// The id of the last entry of the previous page.
    pub cursor: Option<String>,
}

/// The loyalty service: settings, accounts, adjustments, redemptions and the birthday job.
#[derive(Clone)]
pub struct Loyalty {
    ctx: Arc<Ctx>,
    invoices: Invoices,
    locks: CreditLocks,
    /// Settings are written one at a time (the changed fields are read against the last).
    write: Arc<Mutex<()>>,
}

impl Loyalty {
    pub(crate) fn new(ctx: Arc<Ctx>, invoices: Invoices) -> Self {
        Loyalty { ctx, invoices, locks: CreditLocks::default(), write: Arc::default() }
    }

    /// The programme's settings (the clinic's rules, about no person: not audited).
    pub fn settings(&self) -> Result<LoyaltySettings> {
        settings_in(&self.ctx.store.read()?)
    }

    /// Replaces the settings (every bonus item must be in the catalogue: 404
    /// `catalogue_item_not_found`); audited `loyalty.settings_update` with the changed fields.
    pub async fn put_settings(&self, body: PutLoyaltySettings, caller: &Caller) -> Result<LoyaltySettings> {
        let mut new = body.validate()?;
        let _one = self.write.lock().await;
        let reader = self.ctx.store.read()?;
        for b in &new.item_bonuses {
            if reader.get::<CatalogueItem>(RecordTable::CatalogueItems, b.item_id.as_u128())?.is_none() {
                return Err(Error::CatalogueItemNotFound(b.item_id));
            }
        }
        let old = settings_in(&reader)?;
        drop(reader);
        let mut changed = Vec::new();
        macro_rules! diff {
            ($($f:ident),*) => { $( if old.$f != new.$f { changed.push(stringify!($f)); } )* };
        }
        diff!(
            enabled,
            points_per_unit,
            item_bonuses,
            referral_bonus,
            birthday_bonus,
            redeem_points,
            redeem_cents,
            min_redeem,
            expiry_months
        );
        if changed.is_empty() {
            return Ok(old);
        }
        new.updated_at = Some(self.ctx.clock.now());
        new.updated_by = caller.user_id();
        let mut set = ChangeSet::new();
        set.put(RecordTable::LoyaltySettings, SETTINGS_KEY, &new)?;
        set.audit(
            AuditDraft::new(caller, "loyalty.settings_update")
                .record("loyalty_settings", 0)
                .detail(serde_json::json!({ "changed": changed })),
        );
        set.event(
            caller.actor.unwrap_or(Author::System),
            DomainEvent::LoyaltySettingsUpdated { changed: changed.iter().map(|s| s.to_string()).collect() },
        );
        self.ctx.store.commit(set).await?;
        Ok(new)
    }

    /// A client's balance, holds and a page of their history, newest first (audited
    /// `client.loyalty`).
    pub async fn account(&self, client: ClientId, page: HistoryPage, caller: &Caller) -> Result<LoyaltyAccount> {
        let limit = page.limit.unwrap_or(50);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ValidationError::new("limit", format!("must be 1–{MAX_PAGE}")).into());
        }
        let reader = self.ctx.store.read()?;
        if reader.get::<Client>(RecordTable::Clients, client.as_u128())?.is_none() {
            return Err(Error::ClientNotFound(client));
        }
        let settings = settings_in(&reader)?;
        let t = tally(&reader, client)?;
        drop(reader);
        let newest: Vec<&LoyaltyEntry> = t.entries.iter().rev().collect();
        let start = match &page.cursor {
            None => 0,
            Some(c) => newest
                .iter()
                .position(|e| e.id.to_string() == *c)
                .map(|i| i + 1)
                .ok_or_else(|| ValidationError::new("cursor", "is not a cursor this list returned"))?,
        };
        let shown: Vec<LoyaltyEntry> = newest.iter().skip(start).take(limit).map(|e| (*e).clone()).collect();
        let next_cursor =
            (start + shown.len() < newest.len()).then(|| shown.last().map(|e| e.id.to_string())).flatten();
        let available = t.available();
        let steps = if available > 0 && settings.redeem_points > 0 { available / settings.redeem_points } else { 0 };
        let available_value = Cents::new(steps.saturating_mul(settings.redeem_cents.get()));
        crate::audit::record_read(&self.ctx, AuditDraft::new(caller, "client.loyalty").record("client", client))
            .await?;
        Ok(LoyaltyAccount {
            client_id: client,
            enabled: settings.enabled,
            balance: t.balance,
            held: t.held(),
            available,
            available_value,
            holds: t.holds,
            entries: shown,
            next_cursor,
        })
    }

    /// A manager's adjustment with its reason (audited `loyalty.adjust`). Taking points away
    /// never takes more than the client has available (422 `points`), decided under the
    /// client's lock so a redemption cannot spend them at the same time.
    pub async fn adjust(&self, client: ClientId, points: i64, reason: String, caller: &Caller) -> Result<LoyaltyEntry> {
        let lock = self.locks.stripe(client);
        let _held = lock.lock().await;
        let reader = self.ctx.store.read()?;
        match reader.get::<Client>(RecordTable::Clients, client.as_u128())? {
            None => return Err(Error::ClientNotFound(client)),
            Some(_) if !settings_in(&reader)?.enabled => return Err(Error::LoyaltyDisabled),
            Some(_) => {}
        }
        if points < 0 {
            let available = tally(&reader, client)?.available();
            if -points > available {
                return Err(ValidationError::new(
                    "points",
                    format!("takes more than the client's available points ({})", available.max(0)),
                )
                .into());
            }
        }
        drop(reader);
        let mut e = entry(&self.ctx, client, EntryKind::Adjusted, points, "adjustment".into(), self.ctx.clock.now());
        e.reason = Some(reason);
        e.by = caller.user_id();
        let mut set = ChangeSet::new();
        record_into(&mut set, &e, caller, "loyalty.adjust")?;
        self.ctx.store.commit(set).await?;
        Ok(e)
    }

    /// Redeems points on a draft invoice (replacing what it redeemed before), or with `None`
    /// releases them; answers the invoice.
    pub async fn redeem(&self, id: InvoiceId, points: Option<i64>, caller: &Caller) -> Result<Invoice> {
        let client = {
            let reader = self.ctx.store.read()?;
            reader.get::<Invoice>(RecordTable::Invoices, id.as_u128())?.ok_or(Error::InvoiceNotFound(id))?.client_id
        };
        let lock = self.locks.stripe(client);
        self.invoices.records().command(id, InvoiceCommand::Loyalty { points, lock }, caller).await
    }

    /// The birthday bonus for `today` (the clinic's date): every active client with an active
    /// cat born on this day (29 February on 28 February in other years) gets it once this year
    /// (claim `loyalty_birthday` `<client>/<year>`). Returns how many were given.
    pub async fn birthdays(&self, today: jiff::civil::Date) -> Result<usize> {
        let reader = self.ctx.store.read()?;
        let settings = settings_in(&reader)?;
        if !settings.enabled || settings.birthday_bonus <= 0 {
            return Ok(0);
        }
        let leap_day_today = today.month() == 2 && today.day() == 28 && !today.in_leap_year();
        let mut clients: Vec<ClientId> = Vec::new();
        reader.scan::<Patient>(RecordTable::Patients, None, |cat| {
            let born =
                cat.date_of_birth.filter(|_| cat.status == PatientStatus::Active && !cat.date_of_birth_estimated);
            if let Some(born) = born {
                let on = (born.month(), born.day()) == (today.month(), today.day())
                    || (leap_day_today && born.month() == 2 && born.day() == 29);
                if on && born < today && !clients.contains(&cat.client_id) {
                    clients.push(cat.client_id);
                }
            }
            std::ops::ControlFlow::Continue(())
        })?;
        let caller = Caller::system();
        let now = self.ctx.clock.now();
        let mut set = ChangeSet::new();
        let mut given = 0;
        for c in clients {
            let key = format!("{c}/{}", today.year());
            if reader.unique_owner(unique::LOYALTY_BIRTHDAY, &key)?.is_some() {
                continue;
            }
            let active = reader.get::<Client>(RecordTable::Clients, c.as_u128())?.is_some_and(|c| c.active);
            if !active {
                continue;
            }
            let e = entry(
                &self.ctx,
                c,
                EntryKind::Earned,
                settings.birthday_bonus,
                format!("birthday:{}", today.year()),
                now,
            );
            set.claim(unique::LOYALTY_BIRTHDAY, &key, e.id.as_u128(), "client_id");
            record_into(&mut set, &e, &caller, "loyalty.birthday")?;
            given += 1;
        }
        drop(reader);
        if given > 0 {
            self.ctx.store.commit(set).await?;
        }
        Ok(given)
    }
}

impl Loyalty {
    /// Expires, as of `now`, the points earned more than `expiry_months` before it and still
    /// unspent: each client's earned entries (and positive adjustments) are lots, spent first
    /// in, first out by every negative movement and by what drafts hold; what is left of a lot
    /// past its expiry becomes an `expired` entry, once per lot (claim `loyalty_expired`).
    /// Decided per client under the client's lock, so a redemption cannot spend it meanwhile.
    /// Returns how many lots expired.
    pub async fn expire(&self, now: Timestamp) -> Result<usize> {
        let reader = self.ctx.store.read()?;
        let settings = settings_in(&reader)?;
        let Some(months) = settings.expiry_months.filter(|_| settings.enabled) else { return Ok(0) };
        let mut clients: Vec<ClientId> = Vec::new();
        reader.scan::<LoyaltyEntry>(RecordTable::LoyaltyLedger, None, |e| {
            if !clients.contains(&e.client_id) {
                clients.push(e.client_id);
            }
            std::ops::ControlFlow::Continue(())
        })?;
        drop(reader);
        let tz = self.ctx.config.time_zone.clone();
        let caller = Caller::system();
        let mut expired = 0;
        for client in clients {
            let lock = self.locks.stripe(client);
            let _held = lock.lock().await;
            let reader = self.ctx.store.read()?;
            let t = tally(&reader, client)?;
            // What has left the lots: every negative movement, and what drafts hold.
            let mut spent: i64 = t.entries.iter().filter(|e| e.points < 0).map(|e| -e.points).sum::<i64>() + t.held();
            let mut set = ChangeSet::new();
            for lot in t.entries.iter().filter(|e| e.points > 0) {
                let used = spent.min(lot.points);
                spent -= used;
                let left = lot.points - used;
                let due = lot
                    .at
                    .to_zoned(tz.clone())
                    .checked_add(jiff::Span::new().months(i64::from(months)))
                    .map_err(|e| Error::Internal(format!("loyalty expiry: {e}")))?;
                if left <= 0 || due.timestamp() > now {
                    continue;
                }
                if reader.unique_owner(unique::LOYALTY_EXPIRED, &lot.id.to_string())?.is_some() {
                    continue;
                }
                let mut e = entry(&self.ctx, client, EntryKind::Expired, -left, "expiry".into(), now);
                e.reason = Some(format!("earned {}, unspent after {months} months", lot.at));
                set.claim(unique::LOYALTY_EXPIRED, &lot.id.to_string(), e.id.as_u128(), "entry_id");
                record_into(&mut set, &e, &caller, "loyalty.expire")?;
                expired += 1;
            }
            drop(reader);
            if !set.is_empty() {
                self.ctx.store.commit(set).await?;
            }
        }
        Ok(expired)
    }
}

/// The daily job expiring unspent points.
pub const EXPIRY_KIND: &str = "loyalty_expiry";

/// The expiry job's handler (payload `{}`), recurring every day shortly after midnight.
pub struct Expiry {
    pub loyalty: Loyalty,
}

impl Expiry {
    /// Registers the handler and its daily schedule (00:25, clinic time).
    pub fn install(self, jobs: &crate::jobs::Jobs) -> std::result::Result<(), ValidationError> {
        jobs.register(EXPIRY_KIND, Arc::new(self))?;
        jobs.add_recurring(Recurring {
            name: EXPIRY_KIND,
            kind: EXPIRY_KIND,
            rule: Rule::Daily { at: jiff::civil::time(0, 25, 0, 0) },
            payload: serde_json::json!({}),
        });
        Ok(())
    }
}

impl JobHandler for Expiry {
    fn validate(&self, payload: &serde_json::Value) -> std::result::Result<(), ValidationError> {
        crate::jobs::recurring::empty_payload(payload)
    }

    fn run<'a>(&'a self, _job: &'a Job, _ctx: &'a JobCtx) -> JobFuture<'a> {
        Box::pin(async move {
            let n =
                self.loyalty.expire(self.loyalty.ctx.clock.now()).await.map_err(|e| JobError::Retry(e.to_string()))?;
            tracing::info!(lots = n, "loyalty points expired");
            Ok(JobOutcome::done())
        })
    }
}

/// The daily job giving the birthday bonus.
pub const BIRTHDAY_KIND: &str = "loyalty_birthdays";

/// The birthday job's handler (payload `{}`), recurring every day shortly after midnight.
pub struct Birthdays {
    pub loyalty: Loyalty,
}

impl Birthdays {
    /// Registers the handler and its daily schedule (00:20, clinic time: after the day has
    /// turned, before anyone is in).
    pub fn install(self, jobs: &crate::jobs::Jobs) -> std::result::Result<(), ValidationError> {
        jobs.register(BIRTHDAY_KIND, Arc::new(self))?;
        jobs.add_recurring(Recurring {
            name: BIRTHDAY_KIND,
            kind: BIRTHDAY_KIND,
            rule: Rule::Daily { at: jiff::civil::time(0, 20, 0, 0) },
            payload: serde_json::json!({}),
        });
        Ok(())
    }
}

impl JobHandler for Birthdays {
    fn validate(&self, payload: &serde_json::Value) -> std::result::Result<(), ValidationError> {
        crate::jobs::recurring::empty_payload(payload)
    }

    fn run<'a>(&'a self, _job: &'a Job, _ctx: &'a JobCtx) -> JobFuture<'a> {
        Box::pin(async move {
            // The clinic's date when it runs: a run retried after midnight gives the new day's.
            let today = self.loyalty.ctx.today();
            let n = self.loyalty.birthdays(today).await.map_err(|e| JobError::Retry(e.to_string()))?;
            tracing::info!(clients = n, "loyalty birthday bonuses given");
            Ok(JobOutcome::done())
        })
    }
}
