//! Seeding years of invoices straight into a stopped server's store, for the reports' load
//! measure (`clowder seed-invoices`, docs/performance.md "Reports"): the API cannot issue an
//! invoice in the past, and 250,000 invoices through it would take long. Each invoice is
//! built with the schemas' own rules (lines computed by the rounding rule, payments through
//! the balance) and written as the invoice kind writes it: numbered `INV-YYYY-NNNNNN` by the
//! commit thread, linked in the kind's indexes, and added to the revenue rollup, a thousand
//! per change set, each change set with one system audit entry. No events are written (no
//! screen follows a seed), so these clients are not in the search index.

use std::sync::Arc;

use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::clients::CreateClient;
use clowder_schemas::ids::{ClientId, InvoiceId, LocationId, PaymentId};
use clowder_schemas::invoices::{Invoice, InvoiceDraft, InvoiceStatus, LineDraft};
use clowder_schemas::locations::Location;
use clowder_schemas::money::{BasisPoints, Cents, Quantity};
use clowder_schemas::payments::{Payment, PaymentMethod};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};

use crate::error::{Error, Result};
use crate::records::RecordKind;
use crate::store::{ChangeSet, RecordTable, Series, Store};

use super::invoices::InvoiceKind;

/// What to seed.
#[derive(Debug, Clone, Copy)]
pub struct SeedPlan {
    pub invoices: u64,
    pub clients: u64,
    pub years: u32,
    pub lines: u32,
    /// The last issue date (the clinic's today).
    pub today: Date,
}

/// What was seeded.
#[derive(Debug, Clone, Copy, Default)]
pub struct Seeded {
    pub clients: u64,
    pub invoices: u64,
    pub open: u64,
}

/// Revenue categories of a cat clinic, with a typical price in cents and whether taxed.
const ITEMS: &[(&str, &str, i64, bool)] = &[
    ("Exams", "Wellness exam", 6_500, false),
    ("Vaccines", "FVRCP booster", 3_200, false),
    ("Diagnostics", "Senior blood panel", 14_500, false),
    ("Medications", "Meloxicam suspension", 2_150, true),
    ("Dental", "Dental cleaning", 38_000, false),
    ("Surgery", "Spay", 42_000, false),
    ("Food", "Renal diet, 2 kg", 4_199, true),
    ("Boarding", "Boarding night", 3_800, true),
];

const PER_SET: u64 = 1_000;

/// SplitMix64: a few random bits without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// An id whose ULID time is `at` (as a record made then would have).
fn id_at(at: Timestamp, rng: &mut Rng) -> u128 {
    let ms = u128::try_from(at.as_millisecond().max(0)).unwrap_or(0);
    (ms << 80) | (u128::from(rng.next()) << 16) | u128::from(rng.next() as u16)
}

fn noon(d: Date, zone: &TimeZone) -> Timestamp {
    d.at(12, 0, 0, 0).to_zoned(zone.clone()).map_or(Timestamp::UNIX_EPOCH, |z| z.timestamp())
}

fn seed_error(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("seeding invoices: {e}"))
}

/// Writes `plan.clients` clients and `plan.invoices` issued invoices spread evenly over
/// `plan.years` years up to `plan.today`, at the store's first location. Paid in full a few
/// days to weeks after issue, except the last ~45 days' (some open, some partly paid) and
/// about one in forty older ones (never paid: the over-90 bucket). `progress` is called
/// after each change set with the invoices written.
pub async fn seed_invoices(
    store: &Arc<Store>,
    zone: &TimeZone,
    plan: SeedPlan,
    mut progress: impl FnMut(u64),
) -> Result<Seeded> {
    let mut rng = Rng(0x5EED_1A0C_u64 ^ plan.invoices);
    let (location, rate) = first_location(store)?;
    let caller = Caller::system();
    let days = i64::from(plan.years.max(1)) * 365;
    let first_day = plan.today.checked_sub(Span::new().days(days - 1)).map_err(seed_error)?;
    let mut out = Seeded::default();

    // Clients, created on the first day.
    let mut clients = Vec::with_capacity(usize::try_from(plan.clients).unwrap_or(0));
    let mut set = ChangeSet::new();
    for n in 0..plan.clients.max(1) {
        let body: CreateClient = serde_json::from_value(serde_json::json!({
            "first_name": format!("Seed{n}"),
            "last_name": format!("Client{}", n % 997),
            "phone": format!("+1503{:07}", 2_000_000 + n % 8_000_000),
        }))
        .map_err(seed_error)?;
        let draft = body.validate("1").map_err(seed_error)?;
        let id = ClientId::from_u128(id_at(noon(first_day, zone), &mut rng));
        let client = draft.into_client(id, noon(first_day, zone), None);
        set.put(RecordTable::Clients, id.as_u128(), &client).map_err(seed_error)?;
        clients.push(id);
        if set_full(n + 1) {
            commit(store, std::mem::take(&mut set), &caller, "client").await?;
        }
    }
    commit(store, set, &caller, "client").await?;
    out.clients = clients.len() as u64;

    let mut set = ChangeSet::new();
    for i in 0..plan.invoices {
        let offset = i64::try_from(i.saturating_mul(days as u64) / plan.invoices.max(1)).unwrap_or(0);
        let issued = first_day.checked_add(Span::new().days(offset)).map_err(seed_error)?;
        let at = noon(issued, zone);
        let client = clients[usize::try_from(rng.below(clients.len() as u64)).unwrap_or(0)];
        let inv = invoice(&mut rng, plan, client, location, rate, issued, at, zone)?;
        if inv.status.is_open() {
            out.open += 1;
        }
        let mut links = ChangeSet::new();
        for l in InvoiceKind::links(&inv) {
            links.link(l.index, l.parent, inv.id.as_u128());
        }
        set.append(links);
        set.append(super::reports::rollup_changes(None, &inv));
        let year = issued.year();
        set.put_numbered(RecordTable::Invoices, inv.id.as_u128(), Series::new("INV", year), move |number| {
            Ok(Invoice { number: Some(number.to_owned()), ..inv })
        });
        out.invoices += 1;
        if set_full(i + 1) {
            commit(store, std::mem::take(&mut set), &caller, "invoice").await?;
            progress(i + 1);
        }
    }
    commit(store, set, &caller, "invoice").await?;
    progress(plan.invoices);
    Ok(out)
}

fn set_full(n: u64) -> bool {
    n.is_multiple_of(PER_SET)
}

async fn commit(store: &Arc<Store>, mut set: ChangeSet, caller: &Caller, kind: &str) -> Result<()> {
    if set.is_empty() {
        return Ok(());
    }
    set.audit(AuditDraft::new(caller, "report.seed").detail(serde_json::json!({ "kind": kind })));
    store.commit(set).await.map_err(Error::from)?;
    Ok(())
}

fn first_location(store: &Arc<Store>) -> Result<(Option<LocationId>, BasisPoints)> {
    let reader = store.read()?;
    let mut found = None;
    reader.scan::<Location>(RecordTable::Locations, None, |l| {
        found = Some(l);
        std::ops::ControlFlow::Break(())
    })?;
    Ok(match found {
        Some(l) => (Some(l.id), l.tax_rate),
        None => (None, BasisPoints::default()),
    })
}

#[allow(clippy::too_many_arguments)]
fn invoice(
    rng: &mut Rng,
    plan: SeedPlan,
    client: ClientId,
    location: Option<LocationId>,
    rate: BasisPoints,
    issued: Date,
    at: Timestamp,
    zone: &TimeZone,
) -> Result<Invoice> {
    let lines = (0..plan.lines.max(1))
        .map(|_| {
            let (category, name, price, taxable) = ITEMS[usize::try_from(rng.below(ITEMS.len() as u64)).unwrap_or(0)];
            LineDraft {
                item_id: None,
                description: name.to_owned(),
                category: Some(category.to_owned()),
                quantity: Quantity::from_thousandths(1000 * (1 + i64::try_from(rng.below(2)).unwrap_or(0))),
                unit_price: Cents::new(price),
                taxable,
                discount: None,
                source: None,
            }
        })
        .collect();
    let draft = InvoiceDraft {
        client_id: client,
        patient_id: None,
        visit_id: None,
        location_id: location,
        lines,
        discount: None,
        memo: None,
    };
    let id = InvoiceId::from_u128(id_at(at, rng));
    let mut inv = draft.into_invoice(id, rate, at, None).map_err(seed_error)?;
    inv.status = InvoiceStatus::Issued;
    inv.issued_on = Some(issued);
    inv.due_on = issued.checked_add(Span::new().days(30)).ok();
    let age = (plan.today - issued).get_days();
    let roll = rng.below(100);
    let pay = |inv: &mut Invoice, amount: Cents, after_days: i64, rng: &mut Rng| -> Result<()> {
        let on = issued.checked_add(Span::new().days(after_days)).map_err(seed_error)?.min(plan.today);
        let when = noon(on, zone);
        inv.payments.push(Payment {
            id: PaymentId::from_u128(id_at(when, rng)),
            amount,
            method: if rng.below(3) == 0 { PaymentMethod::Cash } else { PaymentMethod::CardPresent },
            reference: None,
            processor: None,
            processor_payment_id: None,
            received_at: when,
            created_by: None,
            to_credit: Cents::ZERO,
        });
        inv.recompute().map_err(seed_error)?;
        inv.settle_status();
        Ok(())
    };
    let total = inv.totals.total;
    if age > 45 {
        // Most are paid within weeks; about one in forty never is.
        if roll >= 3 {
            pay(&mut inv, total, i64::try_from(rng.below(40)).unwrap_or(0), rng)?;
        }
    } else if roll < 50 {
        pay(&mut inv, total, 0, rng)?;
    } else if roll < 70 {
        pay(&mut inv, Cents::new(total.get() / 2), 0, rng)?;
    }
    if inv.status.is_open() && inv.due_on.is_some_and(|d| d < plan.today) {
        inv.status = InvoiceStatus::Overdue;
    }
    Ok(inv)
}
