//! Financial reports over the invoices: accounts-receivable ageing and revenue, read from
//! structures the invoice's own change set keeps, so neither report walks five years of
//! invoices:
//!
//! - the revenue rollup (`revenue_days`): one row per day, location and category with its
//!   sums; each invoice change adds the difference between the invoice's old and new
//!   contributions (`clowder_schemas::reports::rollup_delta`) through `ChangeSet::update`, so
//!   concurrent invoices add on the commit thread without a read-modify-write race. A report
//!   reads at most a row per day and category of its range.
//! - the ageing's view of each invoice with a balance (`ar_open`: client, dates, total,
//!   credits and payments, a few dozen bytes), put and deleted in the invoice's change set,
//!   and the same view of each paid invoice by the day it was settled (`ar_settled`):
//!   ageing today reads only the open invoices' views; ageing as of a past day also the
//!   views of the invoices settled since (never the invoices themselves).
//!
//! Both are filled from the invoices at start when empty (a store written before them). The
//! design and its measured cost are in docs/reports.md.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;
use std::sync::Arc;

use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::clients::Client;
use clowder_schemas::invoices::{Invoice, InvoiceStatus};
use clowder_schemas::pagination::{Page, PageRequest};
use clowder_schemas::reports::{
    AgeingBuckets, AgeingQuery, AgeingReport, ClientAgeing, OpenInvoice, Period, RevenueAmounts, RevenueDay,
    RevenueKey, RevenueQuery, RevenueReport, revenue_report, rollup_delta,
};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use sha2::{Digest, Sha256};

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::records::Link;
use crate::store::{ChangeSet, IndexTable, RecordTable, codec};

/// Days are counted from here so that every date since 1970 minus a margin is positive.
const DAY_OFFSET: i64 = 1 << 20;

fn epoch() -> Date {
    Date::constant(1970, 1, 1)
}

/// A date as a day number (days since 1970 plus 2^20, so earlier dates stay positive).
pub fn day_number(d: Date) -> u128 {
    let days = i64::from((d - epoch()).get_days());
    u128::try_from(days + DAY_OFFSET).unwrap_or(0)
}

/// The rollup key of a row: its day in the top 32 bits, the hash of its location and
/// category below, so a range of days is a range of keys.
pub fn rollup_key(k: &RevenueKey) -> u128 {
    let mut h = Sha256::new();
    h.update(k.location_id.map(|l| l.to_string()).unwrap_or_default());
    h.update([0u8]);
    match &k.category {
        Some(c) => h.update(c.as_bytes()),
        None => h.update([0xffu8]),
    }
    let digest = h.finalize();
    let mut low = [0u8; 16];
    low[4..].copy_from_slice(&digest[..12]);
    (day_number(k.date) << 96) | u128::from_be_bytes(low)
}

/// The report index a paid invoice is in: settled, by the UTC day of its last payment or
/// credit note.
pub fn links(inv: &Invoice) -> impl Iterator<Item = Link> {
    (inv.status == InvoiceStatus::Paid)
        .then(|| Link { index: IndexTable::InvoicesSettled, parent: settled_day(inv).map_or(0, day_number) })
        .into_iter()
}

/// The UTC day of the last payment or credit note (a credit note's date is local, so at most
/// a day from UTC: ageing reads from the day before).
fn settled_day(inv: &Invoice) -> Option<Date> {
    let paid = inv.payments.iter().map(|p| p.received_at.to_zoned(TimeZone::UTC).date()).max();
    let credited = inv.credit_notes.iter().map(|c| c.date).max();
    paid.max(credited)
}

/// The key of a paid invoice's view in `ar_settled`: its settled day in the top 32 bits (as
/// `invoices_settled` keys it), the low 96 bits of its id below (a ULID's 80 random bits
/// among them, so two invoices settled the same day do not meet).
fn settled_key(inv: &Invoice) -> u128 {
    const LOW: u128 = (1 << 96) - 1;
    (settled_day(inv).map_or(0, day_number) << 96) | (inv.id.as_u128() & LOW)
}

/// A paid invoice's key and view in `ar_settled` (`None` unless paid).
fn settled_view(inv: &Invoice) -> Option<(u128, OpenInvoice)> {
    (inv.status == InvoiceStatus::Paid).then(|| OpenInvoice::of(inv).map(|v| (settled_key(inv), v))).flatten()
}

/// What a change of an invoice from `old` to `new` writes for the reports: the rollup rows
/// it adds to (none for a draft), its ageing view put while it is open, deleted once not,
/// and its settled view put while it is paid, deleted once not (a refund reopening it).
pub fn rollup_changes(old: Option<&Invoice>, new: &Invoice) -> ChangeSet {
    let mut set = ChangeSet::new();
    match (old.and_then(settled_view), settled_view(new)) {
        (Some(was), Some(now)) if was == now => {}
        (was, now) => {
            if let Some((key, _)) = was.as_ref().filter(|w| now.as_ref().is_none_or(|n| n.0 != w.0)) {
                set.delete(RecordTable::ArSettled, *key);
            }
            if let Some((key, v)) = now {
                // Encoding a struct of ids, dates and integers cannot fail.
                let _ = set.put(RecordTable::ArSettled, key, &v);
            }
        }
    }
    let key = new.id.as_u128();
    let view = new.status.is_open().then(|| OpenInvoice::of(new)).flatten();
    let was = old.filter(|o| o.status.is_open()).and_then(OpenInvoice::of);
    match view {
        // Encoding a struct of ids, dates and integers cannot fail.
        Some(v) if was.as_ref() != Some(&v) => {
            let _ = set.put(RecordTable::ArOpen, key, &v);
        }
        Some(_) => {}
        None if was.is_some() => {
            set.delete(RecordTable::ArOpen, key);
        }
        None => {}
    }
    for (key, delta) in rollup_delta(old, new) {
        let month = RevenueKey { date: key.date.first_of_month(), ..key.clone() };
        let month_delta = delta;
        set.update(RecordTable::RevenueMonths, rollup_key(&month), move |current| {
            add_to_row(current, month, &month_delta)
        });
        let table_key = rollup_key(&key);
        set.update(RecordTable::RevenueDays, table_key, move |current| add_to_row(current, key, &delta));
    }
    set
}

/// The whole months inside `from..=to`: the first day of the first and of the last, or
/// `None` when no month of the range is whole.
fn whole_months(from: Date, to: Date) -> Option<(Date, Date)> {
    let first = if from.day() == 1 { from } else { from.last_of_month().tomorrow().ok()? };
    let last = if to == to.last_of_month() {
        to.first_of_month()
    } else {
        to.first_of_month().yesterday().ok()?.first_of_month()
    };
    (first <= last).then_some((first, last))
}

/// Reads the rows of `table` whose day number is in `from..to` into `rows`.
fn read_rows(
    reader: &crate::store::Reader,
    table: RecordTable,
    from: u128,
    to: u128,
    rows: &mut Vec<RevenueDay>,
) -> Result<()> {
    if from >= to {
        return Ok(());
    }
    reader.scan::<RevenueDay>(table, (from << 96).checked_sub(1), |row| {
        if day_number(row.key.date) >= to {
            return ControlFlow::Break(());
        }
        rows.push(row);
        ControlFlow::Continue(())
    })?;
    Ok(())
}

/// The row's new bytes: what it holds plus `delta`. Bytes that cannot be read start afresh
/// (the rollup can be rebuilt from the invoices), logged.
fn add_to_row(current: Option<&[u8]>, key: RevenueKey, delta: &RevenueAmounts) -> Vec<u8> {
    let mut row = match current.map(codec::decode::<RevenueDay>) {
        Some(Ok(row)) => row,
        Some(Err(e)) => {
            tracing::error!(error = %e, "a revenue rollup row could not be read; it starts again from this change");
            RevenueDay { key, amounts: RevenueAmounts::default() }
        }
        None => RevenueDay { key, amounts: RevenueAmounts::default() },
    };
    row.amounts.add(delta, 1);
    // Encoding a struct of integers, a date and strings cannot fail.
    codec::encode(&row).unwrap_or_default()
}

/// Ageings kept (as of a day and a location) while no open invoice changes.
const AGEING_CACHE_ENTRIES: usize = 8;

/// Balances aged per client (with the client's oldest due date) and in total.
#[derive(Debug, PartialEq)]
struct Aged {
    per_client: BTreeMap<u128, (AgeingBuckets, Option<Date>)>,
    totals: AgeingBuckets,
}

/// An ageing kept under the generations of `ar_open` and `ar_settled` it was read at: a
/// manager's report read again and again costs a page of names, and any change to an open
/// or settled invoice (a payment, a new issue) makes the next read age them all again. An
/// ageing as of a past day reads only those two tables (the open views, and the views
/// settled since that day), so the same key holds for it; without it each read of the
/// month-end ageing walked every settled view since (the release figure at 64 connections
/// was p99 838 ms against 33 ms for today's kept one: docs/performance.md).
struct CachedAgeing {
    generation: (u64, u64),
    as_of: Date,
    location: Option<clowder_schemas::LocationId>,
    /// Worked out as of a day before the day it was read (the settled views were read).
    past: bool,
    aged: Arc<Aged>,
}

/// Ages the open invoices (and, for a past day, those settled since) as of `as_of`.
fn age(
    reader: &crate::store::Reader,
    location: Option<clowder_schemas::LocationId>,
    as_of: Date,
    today: Date,
    paid_on: &dyn Fn(jiff::Timestamp) -> Date,
) -> Result<Aged> {
    let mut views: Vec<OpenInvoice> = Vec::new();
    reader.scan::<OpenInvoice>(RecordTable::ArOpen, None, |v| {
        views.push(v);
        ControlFlow::Continue(())
    })?;
    if as_of < today {
        // Paid since: the settled day is UTC, a local day may be one before it.
        let from = as_of.yesterday().map_or(0, day_number);
        reader.scan::<OpenInvoice>(RecordTable::ArSettled, (from << 96).checked_sub(1), |v| {
            views.push(v);
            ControlFlow::Continue(())
        })?;
    }
    Ok(age_views(views, location, as_of, today, paid_on))
}

/// Ages `views` as of `as_of` (today or later: their balances as they are).
fn age_views(
    views: Vec<OpenInvoice>,
    location: Option<clowder_schemas::LocationId>,
    as_of: Date,
    today: Date,
    paid_on: &dyn Fn(jiff::Timestamp) -> Date,
) -> Aged {
    let mut per_client: BTreeMap<u128, (AgeingBuckets, Option<Date>)> = BTreeMap::new();
    let mut totals = AgeingBuckets::default();
    for inv in views {
        if location.is_some_and(|l| Some(l) != inv.location_id) {
            continue;
        }
        // Today or later, every payment and credit note counts: the balance as it is.
        let balance = if as_of >= today {
            (inv.balance.is_positive() && inv.issued_on <= as_of).then_some(inv.balance)
        } else {
            inv.balance_as_of(as_of, paid_on)
        };
        let Some(balance) = balance else { continue };
        let due = inv.due_on;
        let past_due = (as_of - due).get_days();
        totals.add(balance, past_due);
        let entry = per_client.entry(inv.client_id.as_u128()).or_default();
        entry.0.add(balance, past_due);
        entry.1 = Some(entry.1.map_or(due, |d| d.min(due)));
    }
    Aged { per_client, totals }
}

/// The reports' service.
#[derive(Clone)]
pub struct Reports {
    ctx: Arc<Ctx>,
    ageing_cache: Arc<std::sync::Mutex<Vec<CachedAgeing>>>,
}

impl Reports {
    pub(crate) fn new(ctx: Arc<Ctx>) -> Self {
        Reports { ctx, ageing_cache: Arc::default() }
    }

    /// Revenue by day, week or month and by category, from the rollup; audited.
    pub async fn revenue(&self, q: &RevenueQuery, by: Period, caller: &Caller) -> Result<RevenueReport> {
        let reader = self.ctx.store.read()?;
        let mut rows = Vec::new();
        // By month, whole months come from the monthly rows and only the range's partial
        // months from the daily ones: five years read about 60 rows per category, not 1,800.
        match whole_months(q.from, q.to).filter(|_| by == Period::Month) {
            Some((first, last)) => {
                let months_end = day_number(last.last_of_month()) + 1;
                read_rows(&reader, RecordTable::RevenueDays, day_number(q.from), day_number(first), &mut rows)?;
                read_rows(&reader, RecordTable::RevenueMonths, day_number(first), months_end, &mut rows)?;
                read_rows(&reader, RecordTable::RevenueDays, months_end, day_number(q.to) + 1, &mut rows)?;
            }
            None => read_rows(&reader, RecordTable::RevenueDays, day_number(q.from), day_number(q.to) + 1, &mut rows)?,
        }
        drop(reader);
        let report = revenue_report(q, by, rows);
        crate::audit::record_read(
            &self.ctx,
            AuditDraft::new(caller, "report.revenue")
                .detail(serde_json::json!({ "from": q.from, "to": q.to, "location_id": q.location })),
        )
        .await?;
        Ok(report)
    }

    /// Balances aged as of a day, per client (a page) and in total; audited with the clients
    /// shown.
    pub async fn ageing(&self, q: &AgeingQuery, caller: &Caller) -> Result<AgeingReport> {
        let page = PageRequest::parse(q.limit, q.cursor.as_deref())?;
        let today = self.ctx.today();
        let as_of = q.as_of.unwrap_or(today);
        let zone = self.ctx.config.time_zone.clone();
        let paid_on = |t: jiff::Timestamp| t.to_zoned(zone.clone()).date();
        // Read before the reader opens: see `Store::generation`.
        let generation =
            (self.ctx.store.generation(RecordTable::ArOpen), self.ctx.store.generation(RecordTable::ArSettled));
        let reader = self.ctx.store.read()?;
        // A past day's ageing is kept too, but not one as of today or later worked out before
        // midnight and read after it: `today` is part of what it means.
        let cached = self.ageing_cache.lock().ok().and_then(|cache| {
            cache
                .iter()
                .find(|c| {
                    c.generation == generation
                        && c.as_of == as_of
                        && c.location == q.location
                        && (as_of < today) == c.past
                })
                .map(|c| c.aged.clone())
        });
        let aged = match cached {
            Some(aged) => aged,
            None => {
                let aged = Arc::new(age(&reader, q.location, as_of, today, &paid_on)?);
                if let Ok(mut cache) = self.ageing_cache.lock() {
                    cache.retain(|c| c.generation == generation && !(c.as_of == as_of && c.location == q.location));
                    if cache.len() >= AGEING_CACHE_ENTRIES {
                        cache.remove(0);
                    }
                    cache.push(CachedAgeing {
                        generation,
                        as_of,
                        location: q.location,
                        past: as_of < today,
                        aged: aged.clone(),
                    });
                }
                aged
            }
        };
        let Aged { per_client, totals } = &*aged;
        let totals = *totals;

        let clients_owing = i64::try_from(per_client.len()).unwrap_or(i64::MAX);
        let after = page.after.unwrap_or(0);
        let mut clients = Vec::new();
        let mut next = None;
        let mut shown = Vec::new();
        for (client, (buckets, oldest)) in per_client.range(after.saturating_add(u128::from(page.after.is_some()))..) {
            if clients.len() == page.limit {
                next = clients.last().map(|c: &ClientAgeing| c.client_id.as_u128());
                break;
            }
            let id = clowder_schemas::ClientId::from_u128(*client);
            let name = reader
                .get::<Client>(RecordTable::Clients, *client)?
                .map(|c| format!("{} {}", c.first_name, c.last_name))
                .unwrap_or_default();
            shown.push(id.to_string());
            clients.push(ClientAgeing { client_id: id, name, buckets: *buckets, oldest_due_on: *oldest });
        }
        drop(reader);
        crate::audit::record_read(
            &self.ctx,
            AuditDraft::new(caller, "report.ar_ageing")
                .detail(serde_json::json!({ "as_of": as_of, "location_id": q.location, "clients": shown })),
        )
        .await?;
        let Page { next_cursor, .. } = Page::<()>::new(Vec::new(), next);
        Ok(AgeingReport { as_of, location_id: q.location, totals, clients_owing, clients, next_cursor })
    }

    /// Fills the rollup and the report indexes from the invoices when the rollup is empty
    /// and invoices exist (a store written before them; at every start). Returns how many
    /// invoices were counted.
    pub async fn ensure_rollup(&self) -> Result<usize> {
        self.ensure_settled_views().await?;
        let reader = self.ctx.store.read()?;
        if reader.count(RecordTable::RevenueDays)? > 0 {
            if reader.count(RecordTable::RevenueMonths)? == 0 {
                // A store written before the monthly rows: they are the daily rows summed.
                let mut months: BTreeMap<u128, RevenueDay> = BTreeMap::new();
                reader.scan::<RevenueDay>(RecordTable::RevenueDays, None, |row| {
                    let key = RevenueKey { date: row.key.date.first_of_month(), ..row.key.clone() };
                    months
                        .entry(rollup_key(&key))
                        .or_insert_with(|| RevenueDay { key, amounts: RevenueAmounts::default() })
                        .amounts
                        .add(&row.amounts, 1);
                    ControlFlow::Continue(())
                })?;
                drop(reader);
                let mut set = ChangeSet::new();
                let filled = months.len();
                for (table_key, month) in months {
                    // Added to, not put: an invoice committed since the scan above added its
                    // own share to the month already, and not to these sums.
                    set.update(RecordTable::RevenueMonths, table_key, move |current| {
                        add_to_row(current, month.key, &month.amounts)
                    });
                }
                set.audit(
                    AuditDraft::new(&Caller::system(), "report.rollup")
                        .detail(serde_json::json!({ "monthly_rows": filled })),
                );
                self.ctx.store.commit(set).await.map_err(Error::from)?;
            }
            return Ok(0);
        }
        let mut set = ChangeSet::new();
        let mut counted = 0usize;
        reader.scan::<Invoice>(RecordTable::Invoices, None, |inv| {
            // Writing the views and index entries again is harmless; the rollup is empty.
            if !matches!(inv.status, InvoiceStatus::Draft | InvoiceStatus::Void) {
                for l in links(&inv) {
                    set.link(l.index, l.parent, inv.id.as_u128());
                }
                set.append(rollup_changes(None, &inv));
                counted += 1;
            }
            ControlFlow::Continue(())
        })?;
        drop(reader);
        if counted > 0 {
            set.audit(
                AuditDraft::new(&Caller::system(), "report.rollup").detail(serde_json::json!({ "invoices": counted })),
            );
            self.ctx.store.commit(set).await.map_err(Error::from)?;
        }
        Ok(counted)
    }
}

impl Reports {
    /// Fills `ar_settled` from the paid invoices `invoices_settled` lists when it is empty
    /// and they exist (a store written before it; at every start, before the server serves).
    /// Returns how many views were written.
    async fn ensure_settled_views(&self) -> Result<usize> {
        let reader = self.ctx.store.read()?;
        if reader.count(RecordTable::ArSettled)? > 0 {
            return Ok(0);
        }
        let mut paid = BTreeSet::new();
        reader.index_from(IndexTable::InvoicesSettled, (0, 0), |(_, inv)| {
            paid.insert(inv);
            ControlFlow::Continue(())
        })?;
        let mut set = ChangeSet::new();
        let mut filled = 0usize;
        for key in paid {
            if let Some((k, v)) = reader.get::<Invoice>(RecordTable::Invoices, key)?.as_ref().and_then(settled_view) {
                set.put(RecordTable::ArSettled, k, &v)?;
                filled += 1;
            }
        }
        drop(reader);
        if filled > 0 {
            set.audit(
                AuditDraft::new(&Caller::system(), "report.rollup")
                    .detail(serde_json::json!({ "settled_views": filled })),
            );
            self.ctx.store.commit(set).await.map_err(Error::from)?;
        }
        Ok(filled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::seed::{SeedPlan, seed_invoices};
    use crate::clock::ManualClock;
    use crate::metrics::StoreMetrics;
    use crate::store::{Store, StoreConfig};

    /// A store in `dir` whose clock stands still at `now`.
    fn store_at(dir: &std::path::Path, now: jiff::Timestamp) -> (Arc<Store>, Arc<dyn crate::Clock>) {
        let clock: Arc<dyn crate::Clock> = Arc::new(ManualClock::new(now));
        let config = StoreConfig {
            path: dir.join("clowder.redb"),
            clinic_id: "test".into(),
            cache_bytes: 8 << 20,
            journal: None,
        };
        (Store::open(&config, clock.clone(), StoreMetrics::default()).unwrap(), clock)
    }

    async fn seeded(dir: &std::path::Path, invoices: u64) -> (Arc<Store>, Reports, Date) {
        let now = jiff::Timestamp::from_second(1_780_000_000).unwrap();
        let (store, clock) = store_at(dir, now);
        let system = crate::SystemConfig::new(dir);
        let today = clock.today(&system.time_zone);
        let plan = SeedPlan { invoices, clients: 20, years: 2, lines: 3, today };
        seed_invoices(&store, &system.time_zone, plan, |_| {}).await.unwrap();
        let reports = Reports::new(Arc::new(Ctx::new(store.clone(), clock, system)));
        (store, reports, today)
    }

    /// By month, the monthly rows give the same figures as the daily ones summed, for ranges
    /// starting and ending mid-month, on the first or on the last of a month, and within one
    /// month; and a store with daily rows but no monthly ones gets them at start.
    #[tokio::test]
    async fn monthly_rows_give_what_the_daily_rows_add_up_to() {
        let dir = tempfile::tempdir().unwrap();
        let (store, reports, today) = seeded(dir.path(), 400).await;
        let caller = Caller::system();
        let back = |days: i64| today.checked_sub(jiff::Span::new().days(days)).unwrap();
        let ranges = [
            (back(700), today),
            (back(400).first_of_month(), back(40).last_of_month()),
            (back(400).first_of_month(), back(40)),
            (back(399), back(40).last_of_month()),
            (back(10).first_of_month(), back(10).first_of_month()),
            (back(45), back(44)),
        ];
        let from_days = |q: &RevenueQuery| {
            let mut rows = Vec::new();
            let reader = store.read().unwrap();
            read_rows(&reader, RecordTable::RevenueDays, day_number(q.from), day_number(q.to) + 1, &mut rows).unwrap();
            revenue_report(q, Period::Month, rows)
        };
        let mut expected = Vec::new();
        for (from, to) in ranges {
            let q = RevenueQuery { from, to, by: None, location: None };
            let by_month = reports.revenue(&q, Period::Month, &caller).await.unwrap();
            assert_eq!(by_month, from_days(&q), "{from}..={to}");
            expected.push((q, by_month));
        }
        assert!(expected[0].1.totals.invoices > 300, "the seeded invoices are counted");

        let reader = store.read().unwrap();
        let mut set = ChangeSet::new();
        reader
            .scan::<RevenueDay>(RecordTable::RevenueMonths, None, |row| {
                set.delete(RecordTable::RevenueMonths, rollup_key(&row.key));
                ControlFlow::Continue(())
            })
            .unwrap();
        drop(reader);
        store.commit(set).await.unwrap();
        assert_ne!(reports.revenue(&expected[0].0, Period::Month, &caller).await.unwrap(), expected[0].1);
        assert_eq!(reports.ensure_rollup().await.unwrap(), 0, "the daily rows stand");
        for (q, by_month) in &expected {
            assert_eq!(&reports.revenue(q, Period::Month, &caller).await.unwrap(), by_month);
        }
    }

    /// The ageing kept for a day is not answered once an open invoice's view changed.
    #[tokio::test]
    async fn a_kept_ageing_is_aged_again_after_an_open_invoice_changes() {
        let dir = tempfile::tempdir().unwrap();
        let (store, reports, _) = seeded(dir.path(), 300).await;
        let caller = Caller::system();
        let q = AgeingQuery { as_of: None, location: None, limit: Some(200), cursor: None };
        let first = reports.ageing(&q, &caller).await.unwrap();
        assert_eq!(reports.ageing(&q, &caller).await.unwrap(), first, "read twice, the same");
        let generation = store.generation(RecordTable::ArOpen);

        let reader = store.read().unwrap();
        let mut one = None;
        reader
            .scan::<OpenInvoice>(RecordTable::ArOpen, None, |v| {
                if v.balance.is_positive() {
                    one = Some(v);
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            })
            .unwrap();
        let mut key = None;
        reader
            .scan::<Invoice>(RecordTable::Invoices, None, |inv| {
                if OpenInvoice::of(&inv).as_ref() == one.as_ref() {
                    key = Some(inv.id.as_u128());
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            })
            .unwrap();
        drop(reader);
        let mut set = ChangeSet::new();
        set.delete(RecordTable::ArOpen, key.expect("an open invoice"));
        store.commit(set).await.unwrap();
        assert_eq!(store.generation(RecordTable::ArOpen), generation + 1);

        let after = reports.ageing(&q, &caller).await.unwrap();
        assert_eq!(after.totals.invoices, first.totals.invoices - 1);
        assert_eq!(after.totals.total, first.totals.total.checked_sub(one.unwrap().balance).unwrap());
    }

    /// A past day's ageing is kept too, and aged again once a settled invoice's view changes
    /// (a payment after that day counts for it only through `ar_settled`).
    #[tokio::test]
    async fn a_kept_past_ageing_is_aged_again_after_a_settled_view_changes() {
        let dir = tempfile::tempdir().unwrap();
        let (store, reports, today) = seeded(dir.path(), 300).await;
        let caller = Caller::system();
        let as_of = today.checked_sub(jiff::Span::new().days(60)).unwrap();
        let q = AgeingQuery { as_of: Some(as_of), location: None, limit: Some(200), cursor: None };
        let first = reports.ageing(&q, &caller).await.unwrap();
        assert_eq!(reports.ageing(&q, &caller).await.unwrap(), first, "read twice, the same");
        assert_eq!(reports.ageing_cache.lock().unwrap().len(), 1, "the past day's ageing is kept");

        // An invoice open on that day and paid since: forget its settled view.
        let (zone, day_after) = (crate::SystemConfig::new(dir.path()).time_zone, as_of.tomorrow().unwrap());
        let reader = store.read().unwrap();
        let mut forget = None;
        reader
            .scan::<OpenInvoice>(RecordTable::ArSettled, (day_number(day_after) << 96).checked_sub(1), |v| {
                if v.balance_as_of(as_of, |t: jiff::Timestamp| t.to_zoned(zone.clone()).date()).is_some() {
                    forget = Some(v);
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            })
            .unwrap();
        let forget = forget.expect("an invoice open that day and settled since");
        let mut key = None;
        reader
            .scan::<Invoice>(RecordTable::Invoices, None, |inv| {
                if OpenInvoice::of(&inv).as_ref() == Some(&forget) {
                    key = settled_view(&inv).map(|(k, _)| k);
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            })
            .unwrap();
        drop(reader);
        let open_generation = store.generation(RecordTable::ArOpen);
        let mut set = ChangeSet::new();
        set.delete(RecordTable::ArSettled, key.expect("its settled view"));
        store.commit(set).await.unwrap();
        assert_eq!(store.generation(RecordTable::ArOpen), open_generation, "only the settled views changed");

        let after = reports.ageing(&q, &caller).await.unwrap();
        assert_eq!(after.totals.invoices, first.totals.invoices - 1, "aged again without the forgotten view");
    }

    /// A store written before the rollup (rows and views missing) gets them back at start,
    /// to the cent.
    #[tokio::test]
    async fn an_emptied_rollup_is_filled_again_from_the_invoices() {
        let dir = tempfile::tempdir().unwrap();
        let now = jiff::Timestamp::from_second(1_780_000_000).unwrap();
        let (store, clock) = store_at(dir.path(), now);
        let system = crate::SystemConfig::new(dir.path());
        let today = clock.today(&system.time_zone);
        let plan = SeedPlan { invoices: 300, clients: 20, years: 1, lines: 3, today };
        seed_invoices(&store, &system.time_zone, plan, |_| {}).await.unwrap();
        let reports = Reports::new(Arc::new(Ctx::new(store.clone(), clock, system)));
        let caller = Caller::system();
        let q = RevenueQuery {
            from: today.checked_sub(jiff::Span::new().days(400)).unwrap(),
            to: today,
            by: None,
            location: None,
        };
        let ageing = AgeingQuery { as_of: None, location: None, limit: Some(200), cursor: None };
        let revenue_before = reports.revenue(&q, Period::Month, &caller).await.unwrap();
        let ageing_before = reports.ageing(&ageing, &caller).await.unwrap();
        assert_eq!(revenue_before.totals.invoices, 300);
        assert!(ageing_before.totals.invoices > 0);

        // Forget the rollup and the views, as a store written before them.
        let reader = store.read().unwrap();
        let mut set = ChangeSet::new();
        reader
            .scan::<RevenueDay>(RecordTable::RevenueDays, None, |row| {
                set.delete(RecordTable::RevenueDays, rollup_key(&row.key));
                ControlFlow::Continue(())
            })
            .unwrap();
        reader
            .scan::<RevenueDay>(RecordTable::RevenueMonths, None, |row| {
                set.delete(RecordTable::RevenueMonths, rollup_key(&row.key));
                ControlFlow::Continue(())
            })
            .unwrap();
        reader
            .scan::<Invoice>(RecordTable::Invoices, None, |inv| {
                set.delete(RecordTable::ArOpen, inv.id.as_u128());
                ControlFlow::Continue(())
            })
            .unwrap();
        drop(reader);
        store.commit(set).await.unwrap();
        assert_eq!(reports.revenue(&q, Period::Month, &caller).await.unwrap().totals.invoices, 0);

        assert_eq!(reports.ensure_rollup().await.unwrap(), 300);
        assert_eq!(reports.revenue(&q, Period::Month, &caller).await.unwrap(), revenue_before);
        assert_eq!(reports.ageing(&ageing, &caller).await.unwrap(), ageing_before);
        assert_eq!(reports.ensure_rollup().await.unwrap(), 0, "a filled rollup is left alone");
    }

    /// The ageing as of a past day read from the settled views (`ar_settled`) is the ageing
    /// the invoices themselves give (the computation before the views: `invoices_settled`,
    /// each invoice read whole), for every day around invoices paid, credited, voided and
    /// reopened by a refund just before, on and after it, in a zone eight hours behind UTC;
    /// and an emptied `ar_settled` is filled again at start.
    #[tokio::test]
    async fn a_past_day_ageing_from_the_settled_views_is_the_invoices_own() {
        use clowder_schemas::ids::{ClientId, CreditNoteId, InvoiceId, PaymentId, RefundId};
        use clowder_schemas::invoices::{CreditNoteDraft, InvoiceDraft, LineDraft};
        use clowder_schemas::money::{BasisPoints, Cents, Quantity};
        use clowder_schemas::payments::{PaymentDraft, PaymentMethod, RefundDraft, RefundOf};
        let dir = tempfile::tempdir().unwrap();
        let now = jiff::Timestamp::from_second(1_780_000_000).unwrap();
        let (store, clock) = store_at(dir.path(), now);
        let mut system = crate::SystemConfig::new(dir.path());
        system.time_zone = TimeZone::fixed(jiff::tz::offset(-8));
        let zone = system.time_zone.clone();
        let today = clock.today(&zone);
        let plan = SeedPlan { invoices: 600, clients: 20, years: 1, lines: 3, today };
        seed_invoices(&store, &zone, plan, |_| {}).await.unwrap();
        let reports = Reports::new(Arc::new(Ctx::new(store.clone(), clock, system)));

        let back = |days: i64| today.checked_sub(jiff::Span::new().days(days)).unwrap();
        // A local time on a day (`hour` may pass midnight into the next UTC day).
        let at = |d: Date, hour: i8| d.at(hour, 0, 0, 0).to_zoned(zone.clone()).unwrap().timestamp();
        let day = back(20);
        let mut n = 0u128;
        let mut issued = |on: Date, cents: i64| {
            n += 1;
            let line = LineDraft {
                item_id: None,
                description: "Exam".into(),
                category: None,
                quantity: Quantity::ONE,
                unit_price: Cents::new(cents),
                taxable: false,
                discount: None,
                source: None,
            };
            let draft = InvoiceDraft {
                client_id: ClientId::from_u128(1 + n % 3),
                patient_id: None,
                visit_id: None,
                location_id: None,
                lines: vec![line],
                discount: None,
                memo: None,
            };
            let mut inv = draft.into_invoice(InvoiceId::from_u128(n), BasisPoints::ZERO, at(on, 9), None).unwrap();
            inv.status = InvoiceStatus::Issued;
            inv.issued_on = Some(on);
            inv.due_on = on.checked_add(jiff::Span::new().days(14)).ok();
            inv
        };
        let cash = |cents: i64| PaymentDraft {
            amount: Cents::new(cents),
            method: PaymentMethod::Cash,
            reference: None,
            processor: None,
            processor_payment_id: None,
        };
        let credit = |cents: i64| CreditNoteDraft {
            reason: "goodwill".into(),
            lines: vec![LineDraft {
                item_id: None,
                description: "Credit".into(),
                category: None,
                quantity: Quantity::ONE,
                unit_price: Cents::new(cents),
                taxable: false,
                discount: None,
                source: None,
            }],
            of_lines: vec![],
        };
        // Each invoice's states in order.
        let mut histories: Vec<Vec<Invoice>> = Vec::new();
        let mut id = 100u128;
        let mut next = || {
            id += 1;
            id
        };
        for (offset, hour) in [(-1i64, 12i8), (0, 9), (0, 23), (1, 1), (2, 12)] {
            let on = day.checked_add(jiff::Span::new().days(offset)).unwrap();
            // Paid in full then.
            let open = issued(back(40), 10_000);
            let mut paid = open.clone();
            paid.pay(PaymentId::from_u128(next()), cash(10_000), at(on, hour), None).unwrap();
            histories.push(vec![open, paid.clone()]);
            // Part paid before, the rest credited then.
            let open = issued(back(30), 20_000);
            let mut part = open.clone();
            part.pay(PaymentId::from_u128(next()), cash(5_000), at(back(25), 10), None).unwrap();
            let mut credited = part.clone();
            credited.add_credit_note(CreditNoteId::from_u128(next()), credit(15_000), on, at(on, hour), None).unwrap();
            assert_eq!(credited.status, InvoiceStatus::Paid);
            histories.push(vec![open, part, credited]);
            // Credited in part then, paid two days later.
            let open = issued(back(35), 30_000);
            let mut part = open.clone();
            part.add_credit_note(CreditNoteId::from_u128(next()), credit(10_000), on, at(on, hour), None).unwrap();
            let mut paid = part.clone();
            let later = on.checked_add(jiff::Span::new().days(2)).unwrap();
            paid.pay(PaymentId::from_u128(next()), cash(20_000), at(later, hour), None).unwrap();
            histories.push(vec![open, part, paid]);
            // Paid before, refunded then: owed again from then.
            let open = issued(back(50), 40_000);
            let mut paid = open.clone();
            let payment = PaymentId::from_u128(next());
            paid.pay(payment, cash(40_000), at(back(45), 10), None).unwrap();
            let mut reopened = paid.clone();
            let refund = RefundDraft {
                payment_id: payment,
                amount: Cents::new(40_000),
                method: None,
                of: RefundOf::Invoice,
                reason: "r".into(),
                reference: None,
                processor: None,
                processor_refund_id: None,
            };
            reopened.refund(RefundId::from_u128(next()), refund, None, on, at(on, hour), None).unwrap();
            assert!(reopened.status.is_open());
            histories.push(vec![open, paid, reopened]);
            // Issued then voided.
            let open = issued(back(28), 50_000);
            let mut void = open.clone();
            void.status = InvoiceStatus::Void;
            histories.push(vec![open, void]);
        }
        for states in &histories {
            let mut old: Option<&Invoice> = None;
            for state in states {
                let mut set = rollup_changes(old, state);
                set.put(RecordTable::Invoices, state.id.as_u128(), state).unwrap();
                if std::ptr::eq(state, states.last().unwrap()) {
                    for l in links(state) {
                        set.link(l.index, l.parent, state.id.as_u128());
                    }
                }
                set.audit(AuditDraft::new(&Caller::system(), "test.invoice"));
                store.commit(set).await.unwrap();
                old = Some(state);
            }
        }

        let paid_on = |t: jiff::Timestamp| t.to_zoned(zone.clone()).date();
        // The computation before the settled views: every invoice settled since, read whole.
        let from_the_invoices = |as_of: Date| {
            let reader = store.read().unwrap();
            let mut views = Vec::new();
            reader
                .scan::<OpenInvoice>(RecordTable::ArOpen, None, |v| {
                    views.push(v);
                    ControlFlow::Continue(())
                })
                .unwrap();
            let from = as_of.yesterday().map_or(0, day_number);
            let mut settled = BTreeSet::new();
            reader
                .index_from(IndexTable::InvoicesSettled, (from, 0), |(_, inv)| {
                    settled.insert(inv);
                    ControlFlow::Continue(())
                })
                .unwrap();
            for key in settled {
                let inv = reader.get::<Invoice>(RecordTable::Invoices, key).unwrap().unwrap();
                views.extend(OpenInvoice::of(&inv));
            }
            age_views(views, None, as_of, today, &paid_on)
        };
        let days: Vec<Date> = (-5..=5)
            .map(|d| day.checked_add(jiff::Span::new().days(d)).unwrap())
            .chain([back(200), back(60), back(1)])
            .collect();
        let check = |label: &str| {
            let reader = store.read().unwrap();
            let mut totals = Vec::new();
            for as_of in &days {
                let aged = age(&reader, None, *as_of, today, &paid_on).unwrap();
                assert_eq!(aged, from_the_invoices(*as_of), "{label}: as of {as_of}");
                totals.push(aged.totals.total);
            }
            totals
        };
        let totals = check("kept views");
        assert!(totals.windows(2).take(10).any(|w| w[0] != w[1]), "the invoices change the ageing around the day");
        let settled = store.read().unwrap().count(RecordTable::ArSettled).unwrap();
        let mut indexed = 0;
        store
            .read()
            .unwrap()
            .index_from(IndexTable::InvoicesSettled, (0, 0), |_| {
                indexed += 1;
                ControlFlow::Continue(())
            })
            .unwrap();
        assert_eq!(settled, indexed, "a view per settled invoice");
        assert!(settled > 300, "the seeded paid invoices have views");

        // Emptied, as in a store written before the views: filled again at start.
        let reader = store.read().unwrap();
        let mut set = ChangeSet::new();
        reader
            .scan::<Invoice>(RecordTable::Invoices, None, |inv| {
                if let Some((key, _)) = settled_view(&inv) {
                    set.delete(RecordTable::ArSettled, key);
                }
                ControlFlow::Continue(())
            })
            .unwrap();
        drop(reader);
        set.audit(AuditDraft::new(&Caller::system(), "test.forget"));
        store.commit(set).await.unwrap();
        assert_eq!(store.read().unwrap().count(RecordTable::ArSettled).unwrap(), 0);
        reports.ensure_rollup().await.unwrap();
        assert_eq!(store.read().unwrap().count(RecordTable::ArSettled).unwrap(), settled);
        assert_eq!(check("filled at start"), totals);
    }

    /// A refund that reopens a paid invoice takes it out of `invoices_settled` and puts its
    /// view in `ar_open` again, with the refund, so its ageing as of any day is right.
    #[test]
    fn a_refund_reopening_a_paid_invoice_puts_its_view_back_with_the_refund() {
        use clowder_schemas::ids::{ClientId, InvoiceId, PaymentId, RefundId};
        use clowder_schemas::invoices::{InvoiceDraft, LineDraft};
        use clowder_schemas::money::{BasisPoints, Cents, Quantity};
        use clowder_schemas::payments::{PaymentDraft, PaymentMethod, RefundDraft, RefundOf};
        let at = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
        let day = |s: &str| s.parse::<Date>().unwrap();
        let line = LineDraft {
            item_id: None,
            description: "Exam".into(),
            category: None,
            quantity: Quantity::ONE,
            unit_price: Cents::new(10_000),
            taxable: false,
            discount: None,
            source: None,
        };
        let draft = InvoiceDraft {
            client_id: ClientId::from_u128(1),
            patient_id: None,
            visit_id: None,
            location_id: None,
            lines: vec![line],
            discount: None,
            memo: None,
        };
        let mut open =
            draft.into_invoice(InvoiceId::from_u128(2), BasisPoints::ZERO, at("2026-01-01T12:00:00Z"), None).unwrap();
        open.status = InvoiceStatus::Issued;
        open.issued_on = Some(day("2026-01-01"));
        open.due_on = Some(day("2026-01-31"));
        let mut paid = open.clone();
        let cash = PaymentDraft {
            amount: Cents::new(15_000),
            method: PaymentMethod::Cash,
            reference: None,
            processor: None,
            processor_payment_id: None,
        };
        paid.pay_keeping_credit(PaymentId::from_u128(3), cash, true, at("2026-01-02T12:00:00Z"), None).unwrap();
        assert_eq!(paid.status, InvoiceStatus::Paid);
        assert_eq!(links(&paid).count(), 1, "settled");
        let mut reopened = paid.clone();
        let refund = RefundDraft {
            payment_id: PaymentId::from_u128(3),
            amount: Cents::new(10_000),
            method: None,
            of: RefundOf::Invoice,
            reason: "r".into(),
            reference: None,
            processor: None,
            processor_refund_id: None,
        };
        let when = at("2026-01-10T12:00:00Z");
        reopened.refund(RefundId::from_u128(4), refund, None, day("2026-01-10"), when, None).unwrap();
        assert!(reopened.status.is_open());
        assert_eq!(links(&reopened).count(), 0, "no longer settled");

        let set = rollup_changes(Some(&paid), &reopened);
        let store_dir = tempfile::tempdir().unwrap();
        let (store, _clock) = store_at(store_dir.path(), when);
        let mut set = set;
        set.audit(AuditDraft::new(&Caller::system(), "test.refund"));
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(store.commit(set)).unwrap();
        let view = store.read().unwrap().get::<OpenInvoice>(RecordTable::ArOpen, 2).unwrap().expect("in ar_open again");
        assert_eq!(view.refunds, vec![(when, Cents::new(10_000))]);
        let utc = |t: jiff::Timestamp| t.to_zoned(TimeZone::UTC).date();
        assert_eq!(view.balance_as_of(day("2026-01-05"), utc), None);
        assert_eq!(view.balance_as_of(day("2026-01-15"), utc), Some(Cents::new(10_000)));
    }
}
