//! The accounting export (issue 16, item 7): the chart-of-accounts mapping and the recorded
//! exports, both record kinds on the generic mechanism, and the rendering of the journal
//! (`clowder_schemas::accounting`) as CSV or QuickBooks IIF.
//!
//! **Nothing is exported twice.** Each kind of each day an export covers is a unique claim
//! (`exported_day`, `invoices/2026-03-01`) owned by the export, taken in the export's own
//! change set. The decision refuses an overlap it sees in its snapshot, naming the earlier
//! export; two exports racing over the same day both pass that check, but the commit thread
//! refuses the second one's claims, so the check and the record are one atomic fact without
//! a lock held while the file is built. A re-export (with a reason, audited
//! `accounting.reexport`) claims only the days no export holds yet.
//!
//! It reads from one store snapshot the invoices `invoices_by_day` holds for its range (their
//! links are kept by the invoices' own change sets) and the purchase orders, and never
//! changes them. An invoice voided after an export took its issue day gets its reversal in
//! the next export of invoices, claimed once (`exported_void`).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;
use std::sync::Arc;

use clowder_schemas::accounting::{
    AccountMap, AccountMapping, AccountingExport, ExportFormat, ExportKind, ExportRequest, KindTotals, StoredFile,
    Transaction, invoice_transactions, purchase_transactions, void_reversal, voided_issue,
};
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::clients::Client;
use clowder_schemas::events::DomainEvent;
use clowder_schemas::ids::InvoiceId;
use clowder_schemas::ids::{AccountMappingId, AccountingExportId, ClientId, VendorId};
use clowder_schemas::inventory::{PurchaseOrder, Vendor};
use clowder_schemas::invoices::{Invoice, InvoiceStatus};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use sha2::{Digest, Sha256};

use super::reports::day_number;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::records::page::Page;
use crate::records::{Claim, DecideCtx, Decision, Link, ReadAudit, RecordKind, Records};
use crate::store::tables::unique;
use crate::store::{ChangeSet, IndexTable, RecordTable};

/// The mapping's one key.
pub const MAPPING_ID: AccountMappingId = AccountMappingId::from_u128(1);

/// The claimed value of one kind of one day.
fn day_key(kind: ExportKind, day: Date) -> String {
    format!("{}/{day}", kind.as_str())
}

/// The index links of an invoice for the export (`invoices_by_day`, `invoices_voided`): every
/// day it has something the books take, the local dates of its issue and credit notes and the
/// UTC days of its payments, refunds and void (a local day is at most one from the UTC day:
/// a range is read with a day's margin each side); and, voided after it was issued, the voids.
pub fn links(inv: &Invoice) -> impl Iterator<Item = Link> + use<> {
    let utc = |t: Timestamp| t.to_zoned(TimeZone::UTC).date();
    let mut on: BTreeSet<Date> = BTreeSet::new();
    on.extend(inv.issued_on);
    on.extend(inv.credit_notes.iter().map(|c| c.date));
    on.extend(inv.payments.iter().map(|p| utc(p.received_at)));
    on.extend(inv.refunds.iter().map(|r| utc(r.refunded_at)));
    let voided = inv.status == InvoiceStatus::Void && inv.issued_on.is_some();
    if voided {
        on.insert(utc(inv.voided_at.unwrap_or(inv.updated_at)));
    }
    on.into_iter()
        .map(|d| Link { index: IndexTable::InvoicesByDay, parent: day_number(d) })
        .chain(voided.then_some(Link { index: IndexTable::InvoicesVoided, parent: 0 }))
}

/// The invoices with something in `[from, to]` (and perhaps the day either side), read
/// through `invoices_by_day`, never the whole table.
pub fn invoices_touching(reader: &crate::store::Reader, from: Date, to: Date) -> Result<Vec<Invoice>> {
    let lo = day_number(from.yesterday().unwrap_or(from));
    let hi = day_number(to.tomorrow().unwrap_or(to));
    let mut keys = BTreeSet::new();
    reader.index_from(IndexTable::InvoicesByDay, (lo, 0), |(day, inv)| {
        if day > hi {
            return ControlFlow::Break(());
        }
        keys.insert(inv);
        ControlFlow::Continue(())
    })?;
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        out.extend(reader.get::<Invoice>(RecordTable::Invoices, key)?);
    }
    Ok(out)
}

/// Every day of `[from, to]`.
fn days(from: Date, to: Date) -> impl Iterator<Item = Date> {
    from.series(jiff::Span::new().days(1)).take_while(move |d| *d <= to)
}

// ----- the mapping -----

/// The mapping record kind (one row).
pub struct MappingKind;

impl RecordKind for MappingKind {
    type Record = AccountMapping;
    type Id = AccountMappingId;
    type Draft = AccountMap;
    type Command = AccountMap;
    type Filter = ();

    const KIND: &'static str = "account_mapping";
    const TABLE: RecordTable = RecordTable::AccountMappings;
    const READ_ACTION: &'static str = "accounting.mapping_read";
    const LIST_ACTION: &'static str = "accounting.mapping_list";
    const READS: ReadAudit =
        ReadAudit::NotAudited { why: "account names of the clinic's books: about no client, cat or person" };

    fn id(r: &AccountMapping) -> AccountMappingId {
        r.id
    }
    fn not_found(_: AccountMappingId) -> Error {
        Error::Internal("the account mapping was read before it was saved".into())
    }
    fn claims(_: &AccountMapping) -> impl Iterator<Item = Claim<'_>> {
        std::iter::empty()
    }
    fn matches(_: &(), _: &AccountMapping) -> bool {
        true
    }

    fn decide_create(ctx: &DecideCtx<'_>, id: AccountMappingId, map: AccountMap) -> Result<Decision<AccountMapping>> {
        Ok(Decision {
            record: AccountMapping { id, version: 1, map, updated_at: Some(ctx.now), updated_by: ctx.caller.user_id() },
            changed: Vec::new(),
            event: DomainEvent::AccountMappingUpdated { version: 1 },
            action: "accounting.mapping_update",
        })
    }

    fn decide(
        ctx: &DecideCtx<'_>,
        current: &AccountMapping,
        map: AccountMap,
    ) -> Result<Option<Decision<AccountMapping>>> {
        let (a, b) = (&current.map, &map);
        let changed: Vec<&'static str> = [
            ("revenue", a.revenue != b.revenue),
            ("default_revenue", a.default_revenue != b.default_revenue),
            ("payment_methods", a.payment_methods != b.payment_methods),
            ("tax_payable", a.tax_payable != b.tax_payable),
            ("accounts_receivable", a.accounts_receivable != b.accounts_receivable),
            ("customer_credit", a.customer_credit != b.customer_credit),
            ("purchases", a.purchases != b.purchases),
            ("accounts_payable", a.accounts_payable != b.accounts_payable),
        ]
        .into_iter()
        .filter_map(|(f, c)| c.then_some(f))
        .collect();
        if changed.is_empty() {
            return Ok(None);
        }
        let version = current.version + 1;
        Ok(Some(Decision {
            record: AccountMapping {
                id: current.id,
                version,
                map,
                updated_at: Some(ctx.now),
                updated_by: ctx.caller.user_id(),
            },
            changed,
            event: DomainEvent::AccountMappingUpdated { version },
            action: "accounting.mapping_update",
        }))
    }
}

// ----- the exports -----

/// An export about to be recorded: its record, minus what the decision adds.
pub struct ExportDraft {
    pub request: ExportRequest,
    pub totals: BTreeMap<String, KindTotals>,
    pub sha256: String,
    pub size: u64,
    pub filename: String,
    pub mapping_version: u32,
    /// The voided invoices whose reversal it carries.
    pub voids_reversed: Vec<InvoiceId>,
}

/// Exports are written once and never changed.
pub enum ExportCommand {}

/// The export record kind.
pub struct ExportRecordKind;

/// The earlier export holding `kind` of `day`, from the decision's snapshot.
fn owner(ctx: &DecideCtx<'_>, kind: ExportKind, day: Date) -> Result<Option<AccountingExportId>> {
    Ok(ctx.unique_owner(unique::EXPORTED_DAY, &day_key(kind, day))?.map(AccountingExportId::from_u128))
}

impl RecordKind for ExportRecordKind {
    type Record = AccountingExport;
    type Id = AccountingExportId;
    type Draft = ExportDraft;
    type Command = ExportCommand;
    type Filter = ();

    const KIND: &'static str = "accounting_export";
    const TABLE: RecordTable = RecordTable::AccountingExports;
    const READ_ACTION: &'static str = "accounting.export_read";
    const LIST_ACTION: &'static str = "accounting.export_list";

    fn id(r: &AccountingExport) -> AccountingExportId {
        r.id
    }
    fn not_found(id: AccountingExportId) -> Error {
        Error::AccountingExportNotFound(id)
    }
    // The days are claimed in `also`: a re-export claims only those nobody holds, which the
    // record does not list.
    fn claims(_: &AccountingExport) -> impl Iterator<Item = Claim<'_>> {
        std::iter::empty()
    }
    fn matches(_: &(), _: &AccountingExport) -> bool {
        true
    }

    fn decide_create(
        ctx: &DecideCtx<'_>,
        id: AccountingExportId,
        d: ExportDraft,
    ) -> Result<Decision<AccountingExport>> {
        let r = &d.request;
        let mut overlaps: Vec<AccountingExportId> = Vec::new();
        for kind in &r.kinds {
            for day in days(r.from, r.to) {
                if let Some(earlier) = owner(ctx, *kind, day)? {
                    if r.reexport.is_none() {
                        return Err(Error::ExportOverlap { earlier, kind: kind.as_str(), day });
                    }
                    if !overlaps.contains(&earlier) {
                        overlaps.push(earlier);
                    }
                }
            }
        }
        let record = AccountingExport {
            id,
            from: r.from,
            to: r.to,
            kinds: r.kinds.clone(),
            format: r.format,
            totals: d.totals,
            sha256: d.sha256,
            size: d.size,
            filename: d.filename,
            mapping_version: d.mapping_version,
            reexport_reason: r.reexport.clone(),
            overlaps,
            voids_reversed: d.voids_reversed,
            created_at: ctx.now,
            created_by: ctx.caller.user_id(),
        };
        Ok(Decision {
            record,
            changed: Vec::new(),
            event: DomainEvent::AccountingExported { export_id: id },
            action: "accounting.export",
        })
    }

    fn decide(
        _: &DecideCtx<'_>,
        _: &AccountingExport,
        command: ExportCommand,
    ) -> Result<Option<Decision<AccountingExport>>> {
        match command {}
    }

    fn also(ctx: &DecideCtx<'_>, _old: Option<&AccountingExport>, new: &AccountingExport) -> Result<ChangeSet> {
        let mut set = ChangeSet::new();
        let key = new.id.as_u128();
        for kind in &new.kinds {
            for day in days(new.from, new.to) {
                if owner(ctx, *kind, day)?.is_none() {
                    set.claim(unique::EXPORTED_DAY, &day_key(*kind, day), key, "exported_day");
                }
            }
        }
        for void in &new.voids_reversed {
            set.claim(unique::EXPORTED_VOID, &void.to_string(), key, "exported_void");
        }
        if let Some(reason) = &new.reexport_reason {
            set.audit(AuditDraft::new(ctx.caller, "accounting.reexport").record("accounting_export", new.id).detail(
                serde_json::json!({ "reason": reason, "overlaps": new.overlaps, "from": new.from, "to": new.to }),
            ));
        }
        Ok(set)
    }
}

// ----- rendering -----

/// A CSV cell safe to open in a spreadsheet: one starting with `=`, `+`, `-`, `@` (or a tab
/// or carriage return) would be read as a formula, so it gets a leading `'`.
pub fn csv_cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_owned() }
}

/// Cents as `12.34` (`-12.34`).
fn money(cents: i64) -> String {
    clowder_schemas::money::Cents::new(cents).to_string()
}

/// The journal as CSV: a header row, then one row per split, debits and credits in their own
/// columns (never negative), RFC 4180 quoting by the `csv` crate.
pub fn render_csv(txns: &[Transaction]) -> Result<String> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    let fail = |e: csv::Error| Error::Internal(format!("writing the CSV: {e}"));
    w.write_record(["kind", "type", "date", "number", "name", "account", "debit", "credit", "memo", "source"])
        .map_err(fail)?;
    for t in txns {
        for s in &t.splits {
            let (debit, credit) =
                if s.amount >= 0 { (money(s.amount), String::new()) } else { (String::new(), money(-s.amount)) };
            w.write_record([
                t.kind.as_str().to_owned(),
                t.trns_type.to_owned(),
                t.date.to_string(),
                csv_cell(&t.number),
                csv_cell(&t.name),
                csv_cell(&s.account),
                debit,
                credit,
                csv_cell(&s.memo),
                t.source.clone(),
            ])
            .map_err(fail)?;
        }
    }
    let bytes = w.into_inner().map_err(|e| Error::Internal(format!("writing the CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| Error::Internal(format!("the CSV is not UTF-8: {e}")))
}

/// An IIF field: tab-separated and one row a line, so control characters become spaces, and
/// double quotes (which IIF reads as field quoting) single quotes.
fn iif_field(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                ' '
            } else if c == '"' {
                '\''
            } else {
                c
            }
        })
        .collect()
}

/// The journal as QuickBooks IIF: `!TRNS`, `!SPL`, `!ENDTRNS` headers, then per transaction a
/// `TRNS` row (the document's own split), its `SPL` rows and `ENDTRNS`; amounts signed
/// (debit positive), each transaction summing to zero.
pub fn render_iif(txns: &[Transaction]) -> String {
    let mut out = String::new();
    let cols = "TRNSTYPE\tDATE\tACCNT\tNAME\tAMOUNT\tDOCNUM\tMEMO";
    out.push_str(&format!("!TRNS\tTRNSID\t{cols}\r\n!SPL\tSPLID\t{cols}\r\n!ENDTRNS\r\n"));
    for t in txns {
        let date = format!("{:02}/{:02}/{:04}", t.date.month(), t.date.day(), t.date.year());
        for (i, s) in t.splits.iter().enumerate() {
            let tag = if i == 0 { "TRNS" } else { "SPL" };
            out.push_str(&format!(
                "{tag}\t\t{}\t{date}\t{}\t{}\t{}\t{}\t{}\r\n",
                t.trns_type,
                iif_field(&s.account),
                iif_field(&t.name),
                money(s.amount),
                iif_field(&t.number),
                iif_field(&s.memo),
            ));
        }
        out.push_str("ENDTRNS\r\n");
    }
    out
}

// ----- the service -----

/// The accounting export: the mapping and the exports.
#[derive(Clone)]
pub struct Accounting {
    ctx: Arc<Ctx>,
    mappings: Records<MappingKind>,
    exports: Records<ExportRecordKind>,
}

impl Accounting {
    pub(crate) fn new(ctx: Arc<Ctx>) -> Self {
        Accounting { mappings: Records::new(ctx.clone()), exports: Records::new(ctx.clone()), ctx }
    }

    /// Stops the kinds' actors (at shutdown).
    pub fn stop_all(&self) {
        self.mappings.stop_all();
        self.exports.stop_all();
    }

    /// The mapping in force: the saved one, or the defaults (version 0).
    pub fn mapping(&self) -> Result<AccountMapping> {
        Ok(self.ctx.store.read()?.get::<AccountMapping>(RecordTable::AccountMappings, MAPPING_ID.as_u128())?.unwrap_or(
            AccountMapping {
                id: MAPPING_ID,
                version: 0,
                map: AccountMap::default(),
                updated_at: None,
                updated_by: None,
            },
        ))
    }

    /// Saves the mapping (a new version when anything changed; audited with the fields).
    pub async fn put_mapping(&self, map: AccountMap, caller: &Caller) -> Result<AccountMapping> {
        if self.mappings.exists(MAPPING_ID)? {
            return self.mappings.command(MAPPING_ID, map, caller).await;
        }
        match self.mappings.create_with_id(MAPPING_ID, map.clone(), caller).await {
            // Saved meanwhile by someone else: this one is a change of it.
            Err(_) if self.mappings.exists(MAPPING_ID)? => self.mappings.command(MAPPING_ID, map, caller).await,
            other => other,
        }
    }

    /// Builds, records and keeps an export; 409 `export_overlap` over days already exported
    /// unless it is a re-export.
    pub async fn export(&self, request: ExportRequest, caller: &Caller) -> Result<AccountingExport> {
        match self.export_once(request.clone(), caller).await {
            // Another export carried one of its void reversals meanwhile: built again without.
            Err(Error::Duplicate { field: "exported_void" }) => self.export_once(request, caller).await,
            other => other,
        }
    }

    async fn export_once(&self, request: ExportRequest, caller: &Caller) -> Result<AccountingExport> {
        let mapping = self.mapping()?;
        let (txns, voids_reversed) = self.journal(&request, &mapping.map)?;
        let mut totals: BTreeMap<String, KindTotals> =
            request.kinds.iter().map(|k| (k.as_str().to_owned(), KindTotals::default())).collect();
        for t in &txns {
            if !t.balanced() {
                return Err(Error::Internal(format!("{} does not balance", t.source)));
            }
            let k = totals.entry(t.kind.as_str().to_owned()).or_default();
            k.transactions += 1;
            k.debits += t.debits();
            k.credits += t.credits();
        }
        let (content, ext, content_type) = match request.format {
            ExportFormat::Csv => (render_csv(&txns)?, "csv", "text/csv; charset=utf-8"),
            ExportFormat::Iif => (render_iif(&txns), "iif", "application/vnd.intuit.iif"),
        };
        let kinds: Vec<&str> = request.kinds.iter().map(|k| k.as_str()).collect();
        let filename = format!("clowder-{}-{}-{}.{ext}", kinds.join("-"), request.from, request.to);
        let id = AccountingExportId::from_ulid(self.ctx.new_ulid());
        let sha256: String = Sha256::digest(content.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        let size = content.len() as u64;
        let mut with = ChangeSet::new();
        with.put(
            RecordTable::AccountingFiles,
            id.as_u128(),
            &StoredFile { content_type: content_type.into(), filename: filename.clone(), content },
        )?;
        let (from, to, kinds) = (request.from, request.to, request.kinds.clone());
        let draft =
            ExportDraft { request, totals, sha256, size, filename, mapping_version: mapping.version, voids_reversed };
        match self.exports.create_with(id, draft, with, caller).await {
            // Another export claimed a day between this one's snapshot and its commit.
            Err(Error::Duplicate { field: "exported_day" }) => Err(self.overlap(from, to, &kinds)?),
            other => other,
        }
    }

    /// The overlap an export of `[from, to]` meets now.
    fn overlap(&self, from: Date, to: Date, kinds: &[ExportKind]) -> Result<Error> {
        let reader = self.ctx.store.read()?;
        for kind in kinds {
            for day in days(from, to) {
                if let Some(o) = reader.unique_owner(unique::EXPORTED_DAY, &day_key(*kind, day))? {
                    return Ok(Error::ExportOverlap {
                        earlier: AccountingExportId::from_u128(o),
                        kind: kind.as_str(),
                        day,
                    });
                }
            }
        }
        Err(Error::Internal("an export's day was claimed by no export".into()))
    }

    /// The transactions of a request, in date order, from one snapshot, and the voided
    /// invoices whose reversal they carry. The invoices (their credit notes, payments and
    /// refunds are inside them) are those `invoices_by_day` has in the range, so an export
    /// reads its range, not the store; purchase orders are read whole (few).
    fn journal(&self, r: &ExportRequest, map: &AccountMap) -> Result<(Vec<Transaction>, Vec<InvoiceId>)> {
        let reader = self.ctx.store.read()?;
        let zone = self.ctx.config.time_zone.clone();
        let mut out = Vec::new();
        let mut names: BTreeMap<ClientId, String> = BTreeMap::new();
        let mut name_of = |client: ClientId| -> Result<String> {
            if let Some(n) = names.get(&client) {
                return Ok(n.clone());
            }
            let n = reader
                .get::<Client>(RecordTable::Clients, client.as_u128())?
                .map_or_else(|| client.to_string(), |c| c.display_name());
            names.insert(client, n.clone());
            Ok(n)
        };
        // Voided invoices issued in the range, for a re-export (below).
        let mut voided_in_range = Vec::new();
        if r.kinds.iter().any(|k| matches!(k, ExportKind::Invoices | ExportKind::Payments)) {
            for inv in invoices_touching(&reader, r.from, r.to)? {
                if inv.status == InvoiceStatus::Void && inv.issued_on.is_some_and(|d| d >= r.from && d <= r.to) {
                    voided_in_range.push(inv.clone());
                }
                let txns = invoice_transactions(&inv, "", map, &zone, r.from, r.to, &r.kinds);
                if txns.is_empty() {
                    continue;
                }
                let name = name_of(inv.client_id)?;
                out.extend(txns.into_iter().map(|mut t| {
                    t.name.clone_from(&name);
                    t
                }));
            }
        }
        let mut reversed = Vec::new();
        if r.kinds.contains(&ExportKind::Invoices) {
            let voided_on = |inv: &Invoice| inv.voided_at.unwrap_or(inv.updated_at).to_zoned(zone.clone()).date();
            for inv in self.voids_owed(&reader, r.to)? {
                let name = name_of(inv.client_id)?;
                if let Some(t) = void_reversal(&inv, &name, map, voided_on(&inv)) {
                    out.push(t);
                    reversed.push(inv.id);
                }
            }
            // A re-export replays its days as the books took them: an invoice the books had
            // (exported before its void) is shown as issued, with its reversal beside it, so
            // the file nets it to nothing whichever export first carried the reversal. The
            // reversal is claimed here only if no export carried it yet.
            if r.reexport.is_some() {
                for inv in voided_in_range {
                    if !self.in_books(&reader, &inv)? {
                        continue;
                    }
                    let name = name_of(inv.client_id)?;
                    out.extend(voided_issue(&inv, &name, map));
                    if !reversed.contains(&inv.id) {
                        out.extend(void_reversal(&inv, &name, map, voided_on(&inv)));
                        if reader.unique_owner(unique::EXPORTED_VOID, &inv.id.to_string())?.is_none() {
                            reversed.push(inv.id);
                        }
                    }
                }
            }
        }
        if r.kinds.contains(&ExportKind::Purchases) {
            let mut vendors: BTreeMap<VendorId, String> = BTreeMap::new();
            let mut orders = Vec::new();
            reader.scan::<PurchaseOrder>(RecordTable::PurchaseOrders, None, |po| {
                if !po.receipts.is_empty() {
                    orders.push(po);
                }
                ControlFlow::Continue(())
            })?;
            for po in orders {
                let name = match vendors.get(&po.vendor_id) {
                    Some(n) => n.clone(),
                    None => {
                        let n = reader
                            .get::<Vendor>(RecordTable::Vendors, po.vendor_id.as_u128())?
                            .map_or_else(|| po.vendor_id.to_string(), |v| v.name);
                        vendors.insert(po.vendor_id, n.clone());
                        n
                    }
                };
                out.extend(purchase_transactions(&po, &name, map, &zone, r.from, r.to));
            }
        }
        out.sort_by(|a, b| (a.date, a.kind, &a.number, &a.source).cmp(&(b.date, b.kind, &b.number, &b.source)));
        Ok((out, reversed))
    }

    /// The voided invoices whose issue an earlier export took (the export owning their issue
    /// day was made after they were issued and before they were voided), voided by `to`,
    /// whose reversal no export has carried yet.
    fn voids_owed(&self, reader: &crate::store::Reader, to: Date) -> Result<Vec<Invoice>> {
        let zone = self.ctx.config.time_zone.clone();
        let mut out = Vec::new();
        for key in reader.children(IndexTable::InvoicesVoided, 0, None)? {
            let id = InvoiceId::from_u128(key);
            if reader.unique_owner(unique::EXPORTED_VOID, &id.to_string())?.is_some() {
                continue;
            }
            let Some(inv) = reader.get::<Invoice>(RecordTable::Invoices, key)? else { continue };
            let voided_at = inv.voided_at.unwrap_or(inv.updated_at);
            if voided_at.to_zoned(zone.clone()).date() > to {
                continue;
            }
            if self.in_books(reader, &inv)? {
                out.push(inv);
            }
        }
        Ok(out)
    }

    /// Whether a voided invoice's issue is in the books: the export owning its issue day was
    /// made after it was issued and before it was voided.
    fn in_books(&self, reader: &crate::store::Reader, inv: &Invoice) -> Result<bool> {
        let (Some(issued_on), InvoiceStatus::Void) = (inv.issued_on, inv.status) else { return Ok(false) };
        let voided_at = inv.voided_at.unwrap_or(inv.updated_at);
        let Some(owner) = reader.unique_owner(unique::EXPORTED_DAY, &day_key(ExportKind::Invoices, issued_on))? else {
            return Ok(false);
        };
        let Some(export) = reader.get::<AccountingExport>(RecordTable::AccountingExports, owner)? else {
            return Ok(false);
        };
        // An invoice issued before this field existed is taken as issued before the export.
        let issued_before = inv.issued_at.is_none_or(|t| t < export.created_at);
        Ok(issued_before && export.created_at < voided_at)
    }

    /// Fills `invoices_by_day` and `invoices_voided` from the invoices when the day index is
    /// empty and invoices exist (a store written before it; at every start). Returns how many
    /// invoices were linked.
    pub async fn ensure_day_index(&self) -> Result<usize> {
        let of = |inv: &Invoice| (inv.id.as_u128(), links(inv));
        crate::records::fill_index_when_empty(
            &self.ctx.store,
            IndexTable::InvoicesByDay,
            RecordTable::Invoices,
            of,
            "accounting.day_index",
            "invoices",
        )
        .await
    }

    /// One page of exports, oldest first (audited).
    pub async fn list(&self, after: Option<u128>, limit: usize, caller: &Caller) -> Result<Page<AccountingExport>> {
        self.exports.list(&(), after, limit, caller).await
    }

    /// One page of exports, newest first below `before` (audited): the export screen.
    pub async fn list_newest_first(
        &self,
        before: Option<u128>,
        limit: usize,
        caller: &Caller,
    ) -> Result<Page<AccountingExport>> {
        self.exports.list_newest_first(&(), before, limit, caller).await
    }

    /// One export (audited).
    pub async fn get(&self, id: AccountingExportId, caller: &Caller) -> Result<AccountingExport> {
        self.exports.get(id, caller).await
    }

    /// An export's file, byte for byte as first built (audited as a download).
    pub async fn file(&self, id: AccountingExportId, caller: &Caller) -> Result<StoredFile> {
        let file = self
            .ctx
            .store
            .read()?
            .get::<StoredFile>(RecordTable::AccountingFiles, id.as_u128())?
            .ok_or(Error::AccountingExportNotFound(id))?;
        crate::audit::record_read(
            &self.ctx,
            AuditDraft::new(caller, "accounting.export_download").record("accounting_export", id),
        )
        .await?;
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clowder_schemas::accounting::Split;

    fn txn(amounts: &[(&str, i64)]) -> Transaction {
        Transaction {
            kind: ExportKind::Invoices,
            trns_type: "INVOICE",
            date: "2026-03-01".parse().unwrap(),
            number: "INV-2026-000001".into(),
            name: "=HYPERLINK(\"x\")".into(),
            source: "invoice:1".into(),
            splits: amounts
                .iter()
                .map(|(a, n)| Split { account: (*a).into(), amount: *n, memo: String::new() })
                .collect(),
        }
    }

    #[test]
    fn csv_quotes_and_guards_formulas() {
        let csv = render_csv(&[txn(&[("Accounts Receivable", 7940), ("Sales, Exams", -7800), ("Tax", -140)])]).unwrap();
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines[0], "kind,type,date,number,name,account,debit,credit,memo,source");
        assert_eq!(
            lines[1],
            "invoices,INVOICE,2026-03-01,INV-2026-000001,\"'=HYPERLINK(\"\"x\"\")\",Accounts Receivable,79.40,,,invoice:1"
        );
        assert!(lines[2].contains("\"Sales, Exams\",,78.00"));
    }

    #[test]
    fn iif_has_its_headers_and_signed_balanced_rows() {
        let iif = render_iif(&[txn(&[("Accounts Receivable", 7940), ("Sales", -7800), ("Tax\tX", -140)])]);
        let lines: Vec<&str> = iif.split("\r\n").collect();
        assert!(lines[0].starts_with("!TRNS\tTRNSID\tTRNSTYPE\tDATE\tACCNT"));
        assert!(lines[1].starts_with("!SPL\tSPLID\tTRNSTYPE"));
        assert_eq!(lines[2], "!ENDTRNS");
        assert!(lines[3].starts_with("TRNS\t\tINVOICE\t03/01/2026\tAccounts Receivable\t=HYPERLINK('x')\t79.40\t"));
        assert!(lines[5].contains("\tTax X\t"), "{}", lines[5]);
        assert!(lines[5].contains("\t-1.40\t"));
        assert_eq!(lines[6], "ENDTRNS");
    }

    #[test]
    fn days_cover_the_range_inclusively() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        assert_eq!(days(d("2026-02-27"), d("2026-03-01")).count(), 3);
        assert_eq!(days(d("2026-03-01"), d("2026-03-01")).count(), 1);
    }
}
