//! The accounting export (issue 16, item 7): the chart-of-accounts mapping (one per clinic,
//! versioned), the export's request, its record (what was exported, by whom, with the file's
//! hash), and the journal: invoices, credit notes, payments, refunds and received purchase
//! lines turned into balanced transactions ([`Transaction`]: debits equal credits to the
//! cent), a pure function of the records so it is unit-tested without a store. Rendering the
//! journal as CSV or IIF is `clowder_actors::billing::accounting`'s. docs/accounting.md.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::errors::ValidationError;
use crate::ids::{AccountingExportId, InvoiceId, LocationId, UserId};
use crate::invoices::{Invoice, InvoiceStatus};
use crate::money::Discount;
use crate::payments::{PaymentMethod, RefundOf};
use crate::records::Record;
use crate::reports::{UNCATEGORISED, contributions};

/// Longest account name (QuickBooks allows 31 per segment; a full `Parent:Child` path more).
pub const MAX_ACCOUNT_NAME: usize = 100;
/// The longest range one export covers: five years and a day (1,827 days).
pub const MAX_EXPORT_DAYS: i32 = 1_827;
/// Most invoices one batch operation may select.
pub const MAX_SELECTION: usize = 1_000;
/// Most revenue categories the mapping names.
pub const MAX_CATEGORIES: usize = 200;

// ----- the chart-of-accounts mapping -----

/// Which account each kind of amount goes to. Every name is checked by [`check_account`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccountMap {
    /// Revenue account per catalogue category (the category as typed on the line); a category
    /// not listed (and free-text lines) goes to `default_revenue`.
    pub revenue: BTreeMap<String, String>,
    pub default_revenue: String,
    /// Where money taken in each method lands (`cash`, `card_present`, `card_online`,
    /// `check`, `bank_transfer`, `other`); `account_credit` is the client-credit liability.
    pub payment_methods: BTreeMap<String, String>,
    pub tax_payable: String,
    pub accounts_receivable: String,
    /// The liability holding clients' credit on account (overpayments kept, credit applied).
    pub customer_credit: String,
    /// Debited by received purchase lines at cost: an inventory asset, or a cost-of-goods
    /// account for a clinic that expenses purchases when they arrive.
    pub purchases: String,
    pub accounts_payable: String,
}

/// The payment methods the mapping names, in their wire names.
pub const METHODS: [PaymentMethod; 7] = [
    PaymentMethod::Cash,
    PaymentMethod::CardPresent,
    PaymentMethod::CardOnline,
    PaymentMethod::Check,
    PaymentMethod::BankTransfer,
    PaymentMethod::Other,
    PaymentMethod::AccountCredit,
];

/// A payment method's wire name (`card_present`).
pub fn method_name(m: PaymentMethod) -> &'static str {
    match m {
        PaymentMethod::Cash => "cash",
        PaymentMethod::CardPresent => "card_present",
        PaymentMethod::CardOnline => "card_online",
        PaymentMethod::Check => "check",
        PaymentMethod::BankTransfer => "bank_transfer",
        PaymentMethod::Other => "other",
        PaymentMethod::AccountCredit => "account_credit",
    }
}

impl Default for AccountMap {
    /// QuickBooks' own default account names, so a new clinic's first import lands in
    /// accounts a fresh company file already has (or creates with these names).
    fn default() -> Self {
        let mut payment_methods = BTreeMap::new();
        for m in METHODS {
            let account = match m {
                PaymentMethod::BankTransfer => "Checking",
                PaymentMethod::AccountCredit => "Customer Credits",
                _ => "Undeposited Funds",
            };
            payment_methods.insert(method_name(m).to_owned(), account.to_owned());
        }
        AccountMap {
            revenue: BTreeMap::new(),
            default_revenue: "Sales".into(),
            payment_methods,
            tax_payable: "Sales Tax Payable".into(),
            accounts_receivable: "Accounts Receivable".into(),
            customer_credit: "Customer Credits".into(),
            purchases: "Inventory Asset".into(),
            accounts_payable: "Accounts Payable".into(),
        }
    }
}

/// Checks one account name: trimmed, 1–100 characters, no tab, line break or other control
/// character (IIF is tab-separated, one row a line).
pub fn check_account(field: &str, name: &str) -> Result<String, ValidationError> {
    let n = name.trim();
    if n.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if n.chars().count() > MAX_ACCOUNT_NAME {
        return Err(ValidationError::new(field, format!("at most {MAX_ACCOUNT_NAME} characters")));
    }
    if n.chars().any(char::is_control) {
        return Err(ValidationError::new(field, "must not contain tabs, line breaks or control characters"));
    }
    Ok(n.to_owned())
}

/// Body of `PUT /api/accounting/mapping`: the whole mapping. Absent fields keep their
/// defaults; payment methods not named keep theirs.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutAccountMap {
    #[serde(default)]
    pub revenue: BTreeMap<String, String>,
    #[serde(default)]
    pub default_revenue: Option<String>,
    #[serde(default)]
    pub payment_methods: BTreeMap<String, String>,
    #[serde(default)]
    pub tax_payable: Option<String>,
    #[serde(default)]
    pub accounts_receivable: Option<String>,
    #[serde(default)]
    pub customer_credit: Option<String>,
    #[serde(default)]
    pub purchases: Option<String>,
    #[serde(default)]
    pub accounts_payable: Option<String>,
}

impl PutAccountMap {
    /// The mapping, every name checked; unknown payment methods and empty category names
    /// are refused naming their field.
    pub fn validate(&self) -> Result<AccountMap, ValidationError> {
        let d = AccountMap::default();
        let one = |field: &str, v: &Option<String>, def: String| match v {
            Some(v) => check_account(field, v),
            None => Ok(def),
        };
        if self.revenue.len() > MAX_CATEGORIES {
            return Err(ValidationError::new("revenue", format!("at most {MAX_CATEGORIES} categories")));
        }
        let mut revenue = BTreeMap::new();
        for (category, account) in &self.revenue {
            let c = check_account("revenue", category)
                .map_err(|e| ValidationError::new("revenue", format!("a category name {}", e.message)))?;
            revenue.insert(c, check_account(&format!("revenue.{category}"), account)?);
        }
        let mut payment_methods = d.payment_methods.clone();
        for (method, account) in &self.payment_methods {
            if !METHODS.iter().any(|m| method_name(*m) == method) {
                return Err(ValidationError::new(
                    format!("payment_methods.{method}"),
                    "is not a payment method (cash, card_present, card_online, check, bank_transfer, other, account_credit)",
                ));
            }
            payment_methods.insert(method.clone(), check_account(&format!("payment_methods.{method}"), account)?);
        }
        Ok(AccountMap {
            revenue,
            default_revenue: one("default_revenue", &self.default_revenue, d.default_revenue)?,
            payment_methods,
            tax_payable: one("tax_payable", &self.tax_payable, d.tax_payable)?,
            accounts_receivable: one("accounts_receivable", &self.accounts_receivable, d.accounts_receivable)?,
            customer_credit: one("customer_credit", &self.customer_credit, d.customer_credit)?,
            purchases: one("purchases", &self.purchases, d.purchases)?,
            accounts_payable: one("accounts_payable", &self.accounts_payable, d.accounts_payable)?,
        })
    }
}

impl AccountMap {
    /// The revenue account of a category.
    pub fn revenue_of(&self, category: &str) -> &str {
        self.revenue.get(category).unwrap_or(&self.default_revenue)
    }

    /// The account money of `method` lands in.
    pub fn method_account(&self, method: PaymentMethod) -> &str {
        match method {
            PaymentMethod::AccountCredit => &self.customer_credit,
            m => self.payment_methods.get(method_name(m)).map_or(&self.default_revenue, |s| s.as_str()),
        }
    }
}

/// The clinic's mapping as stored (table `account_mappings`, one row, key 1): `version`
/// grows with every change, and each export names the version it used.
///
/// Version history: v1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AccountMapping {
    pub id: crate::ids::AccountMappingId,
    /// 0 for the defaults (never saved), then 1, 2, …
    pub version: u32,
    #[serde(flatten)]
    pub map: AccountMap,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub updated_at: Option<Timestamp>,
    pub updated_by: Option<UserId>,
}

impl Record for AccountMapping {
    const KIND: &'static str = "account_mapping";
    const VERSION: u16 = 1;
}

// ----- exports -----

/// What an export covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportKind {
    /// Invoices issued in the range and credit notes dated in it (negative).
    Invoices,
    /// Payments received and refunds made in the range.
    Payments,
    /// Purchase-order lines received in the range, at cost.
    Purchases,
}

impl ExportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportKind::Invoices => "invoices",
            ExportKind::Payments => "payments",
            ExportKind::Purchases => "purchases",
        }
    }
}

/// The file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// One row per split, with a header row (RFC 4180).
    Csv,
    /// QuickBooks Desktop's Intuit Interchange Format: `!TRNS`/`!SPL`/`!ENDTRNS`.
    Iif,
}

/// Body of `POST /api/accounting/exports`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateExport {
    #[schema(value_type = String, format = Date)]
    pub from: Date,
    #[schema(value_type = String, format = Date)]
    pub to: Date,
    pub format: ExportFormat,
    /// At least one; default all three.
    #[serde(default)]
    pub kinds: Option<Vec<ExportKind>>,
    /// Export days already exported (the earlier exports stay as they were).
    #[serde(default)]
    pub reexport: bool,
    /// Required with `reexport`: why the days go out again (audited).
    #[serde(default)]
    pub reason: Option<String>,
}

/// A validated export request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRequest {
    pub from: Date,
    pub to: Date,
    pub format: ExportFormat,
    pub kinds: Vec<ExportKind>,
    /// `Some(reason)` for a re-export.
    pub reexport: Option<String>,
}

impl CreateExport {
    pub fn validate(&self) -> Result<ExportRequest, ValidationError> {
        if self.to < self.from {
            return Err(ValidationError::new("to", "is before from"));
        }
        let days = self.from.until(self.to).map(|s| s.get_days()).unwrap_or(i32::MAX);
        if days >= MAX_EXPORT_DAYS {
            return Err(ValidationError::new("to", format!("an export covers at most {MAX_EXPORT_DAYS} days")));
        }
        let mut kinds = self
            .kinds
            .clone()
            .unwrap_or_else(|| vec![ExportKind::Invoices, ExportKind::Payments, ExportKind::Purchases]);
        if kinds.is_empty() {
            return Err(ValidationError::new("kinds", "name at least one of invoices, payments, purchases"));
        }
        kinds.sort();
        kinds.dedup();
        let reason = self.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
        if reason.is_some_and(|r| r.chars().count() > 500) {
            return Err(ValidationError::new("reason", "at most 500 characters"));
        }
        let reexport = match (self.reexport, reason) {
            (true, None) => return Err(ValidationError::new("reason", "a re-export needs a reason")),
            (true, Some(r)) => Some(r.to_owned()),
            (false, _) => None,
        };
        Ok(ExportRequest { from: self.from, to: self.to, format: self.format, kinds, reexport })
    }
}

/// What one kind of an export holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KindTotals {
    /// Transactions written (an invoice, a credit note, a payment, a refund, a receipt).
    pub transactions: u32,
    /// The sum of debits, in cents; equal to the credits.
    pub debits: i64,
    pub credits: i64,
}

/// A recorded export (table `accounting_exports`); its file is kept beside it
/// (`accounting_files`, same key) and served again byte for byte.
///
/// Version history: v1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AccountingExport {
    pub id: AccountingExportId,
    #[schema(value_type = String, format = Date)]
    pub from: Date,
    #[schema(value_type = String, format = Date)]
    pub to: Date,
    pub kinds: Vec<ExportKind>,
    pub format: ExportFormat,
    /// Counts and sums per kind (`invoices`, `payments`, `purchases`).
    pub totals: BTreeMap<String, KindTotals>,
    /// The file's SHA-256, hex.
    pub sha256: String,
    pub size: u64,
    pub filename: String,
    /// The mapping version used (0: the defaults).
    pub mapping_version: u32,
    /// Set for a re-export: why, and the earlier exports whose days it covers again.
    pub reexport_reason: Option<String>,
    pub overlaps: Vec<AccountingExportId>,
    /// Invoices voided after an earlier export took their issue: this export carries each one's
    /// reversal (claimed once, `exported_void`).
    #[serde(default)]
    pub voids_reversed: Vec<InvoiceId>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub created_by: Option<UserId>,
}

impl Record for AccountingExport {
    const KIND: &'static str = "accounting_export";
    const VERSION: u16 = 1;
}

/// A generated file kept for download again (table `accounting_files`, keyed by the export's
/// or the batch's id). Text, since CSV and IIF are.
///
/// Version history: v1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredFile {
    pub content_type: String,
    pub filename: String,
    pub content: String,
}

impl Record for StoredFile {
    const KIND: &'static str = "accounting_file";
    const VERSION: u16 = 1;
}

// ----- the journal -----

/// One side of a transaction: positive is a debit, negative a credit (cents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub account: String,
    pub amount: i64,
    pub memo: String,
}

/// One balanced transaction: the first split is the document's own (receivable, money,
/// payable), the rest its distribution. `Σ amount = 0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub kind: ExportKind,
    /// IIF's TRNSTYPE: `INVOICE`, `CREDIT MEMO`, `PAYMENT`, `GENERAL JOURNAL`, `BILL`.
    pub trns_type: &'static str,
    pub date: Date,
    /// The human number (invoice, credit note, PO) or the id.
    pub number: String,
    /// The client or vendor.
    pub name: String,
    /// The record this comes from (`invoice:<id>`, `payment:<id>` …).
    pub source: String,
    pub splits: Vec<Split>,
}

impl Transaction {
    pub fn balanced(&self) -> bool {
        self.splits.iter().map(|s| s.amount).sum::<i64>() == 0
    }
    pub fn debits(&self) -> i64 {
        self.splits.iter().map(|s| s.amount.max(0)).sum()
    }
    pub fn credits(&self) -> i64 {
        self.splits.iter().map(|s| (-s.amount).max(0)).sum()
    }
}

fn push(splits: &mut Vec<Split>, account: &str, amount: i64, memo: &str) {
    if amount != 0 {
        splits.push(Split { account: account.to_owned(), amount, memo: memo.to_owned() });
    }
}

/// The transactions of one invoice within `[from, to]`: its issue (if issued in range and
/// not void), each credit note dated in range, each payment received and refund made in
/// range (by the clinic's local date in `zone`). `kinds` selects invoices and/or payments.
pub fn invoice_transactions(
    inv: &Invoice,
    client_name: &str,
    map: &AccountMap,
    zone: &TimeZone,
    from: Date,
    to: Date,
    kinds: &[ExportKind],
) -> Vec<Transaction> {
    let mut out = Vec::new();
    let within = |d: Date| d >= from && d <= to;
    let number = inv.number.clone().unwrap_or_else(|| inv.id.to_string());
    // A voided invoice was never owed (an issued one is voided only when nothing was paid
    // or credited), so none of it is exported, as revenue reports none of it.
    if matches!(inv.status, InvoiceStatus::Draft | InvoiceStatus::Void) {
        return out;
    }
    if kinds.contains(&ExportKind::Invoices) {
        if let Some(issued) = inv.issued_on.filter(|d| within(*d)) {
            out.push(issue_transaction(inv, issued, client_name, map));
        }
        for cn in inv.credit_notes.iter().filter(|c| within(c.date)) {
            let mut by_category: BTreeMap<String, i64> = BTreeMap::new();
            for l in &cn.lines {
                let c = l.category.as_deref().map(str::trim).filter(|c| !c.is_empty()).unwrap_or(UNCATEGORISED);
                *by_category.entry(c.to_owned()).or_default() += l.amounts.net.get();
            }
            let mut splits = Vec::new();
            push(&mut splits, &map.accounts_receivable, -cn.totals.total.get(), &cn.reason);
            for (c, net) in &by_category {
                push(&mut splits, map.revenue_of(c), *net, c);
            }
            push(&mut splits, &map.tax_payable, cn.totals.tax.get(), "tax");
            out.push(Transaction {
                kind: ExportKind::Invoices,
                trns_type: "CREDIT MEMO",
                date: cn.date,
                number: cn.number.clone().unwrap_or_else(|| cn.id.to_string()),
                name: client_name.to_owned(),
                source: format!("credit_note:{}", cn.id),
                splits,
            });
        }
    }
    if kinds.contains(&ExportKind::Payments) {
        let local = |t: Timestamp| t.to_zoned(zone.clone()).date();
        for p in inv.payments.iter().filter(|p| within(local(p.received_at))) {
            let mut splits = Vec::new();
            push(&mut splits, map.method_account(p.method), p.amount.get(), p.reference.as_deref().unwrap_or(""));
            push(&mut splits, &map.accounts_receivable, -p.applied().get(), &number);
            push(&mut splits, &map.customer_credit, -p.to_credit.get(), "kept as credit on account");
            out.push(Transaction {
                kind: ExportKind::Payments,
                trns_type: "PAYMENT",
                date: local(p.received_at),
                number: number.clone(),
                name: client_name.to_owned(),
                source: format!("payment:{}", p.id),
                splits,
            });
        }
        for r in inv.refunds.iter().filter(|r| within(local(r.refunded_at))) {
            let back_to = match r.of {
                RefundOf::Invoice => &map.accounts_receivable,
                RefundOf::Credit => &map.customer_credit,
            };
            let mut splits = Vec::new();
            push(&mut splits, map.method_account(r.method), -r.amount.get(), &r.reason);
            push(&mut splits, back_to, r.amount.get(), &number);
            out.push(Transaction {
                kind: ExportKind::Payments,
                trns_type: "GENERAL JOURNAL",
                date: local(r.refunded_at),
                number: number.clone(),
                name: client_name.to_owned(),
                source: format!("refund:{}", r.id),
                splits,
            });
        }
    }
    out
}

/// The splits of an invoice's issue on `issued`: receivable debited with the total, each
/// category's revenue credited with its net after its share of the invoice discount, tax
/// payable credited with the tax.
fn issue_splits(inv: &Invoice, issued: Date, map: &AccountMap) -> Vec<Split> {
    let mut splits = Vec::new();
    push(&mut splits, &map.accounts_receivable, inv.totals.total.get(), "");
    for (key, a) in contributions(inv).iter().filter(|(k, _)| k.date == issued) {
        if let Some(c) = &key.category {
            push(&mut splits, map.revenue_of(c), -a.sales, c);
        }
    }
    push(&mut splits, &map.tax_payable, -inv.totals.tax.get(), "tax");
    splits
}

/// An invoice's issue on `issued`: an `INVOICE` under its number.
fn issue_transaction(inv: &Invoice, issued: Date, client_name: &str, map: &AccountMap) -> Transaction {
    Transaction {
        kind: ExportKind::Invoices,
        trns_type: "INVOICE",
        date: issued,
        number: inv.number.clone().unwrap_or_else(|| inv.id.to_string()),
        name: client_name.to_owned(),
        source: format!("invoice:{}", inv.id),
        splits: issue_splits(inv, issued, map),
    }
}

/// A voided invoice's issue as the books took it before the void (a re-export shows it beside
/// its reversal). `None` for an invoice that is not void or was never issued.
pub fn voided_issue(inv: &Invoice, client_name: &str, map: &AccountMap) -> Option<Transaction> {
    let issued = inv.issued_on.filter(|_| inv.status == InvoiceStatus::Void)?;
    // As it was issued (the revenue shares of a void invoice are none).
    let as_issued = Invoice { status: InvoiceStatus::Issued, ..inv.clone() };
    Some(issue_transaction(&as_issued, issued, client_name, map))
}

/// The reversal of a voided invoice's issue, for the books that imported the issue before the
/// void: its issue's splits with the signs turned (receivable credited, revenue and tax
/// debited), a `CREDIT MEMO` dated `voided_on` under the invoice's number, its reason as memo
/// on the receivable split. `None` for an invoice that is not void or was never issued.
pub fn void_reversal(inv: &Invoice, client_name: &str, map: &AccountMap, voided_on: Date) -> Option<Transaction> {
    let mut t = voided_issue(inv, client_name, map)?;
    for s in &mut t.splits {
        s.amount = -s.amount;
    }
    if let Some(first) = t.splits.first_mut() {
        first.memo = format!("void: {}", inv.void_reason.as_deref().unwrap_or_default());
    }
    t.trns_type = "CREDIT MEMO";
    t.date = voided_on;
    t.source = format!("void:{}", inv.id);
    Some(t)
}

/// The transactions of a purchase order's receipts within `[from, to]`: each receipt is
/// its quantity at the line's unit cost (half-up to the cent, as a PO line's total), debited
/// to `purchases` and credited to the vendor's payable.
pub fn purchase_transactions(
    po: &crate::inventory::PurchaseOrder,
    vendor_name: &str,
    map: &AccountMap,
    zone: &TimeZone,
    from: Date,
    to: Date,
) -> Vec<Transaction> {
    let number = po.number.clone().unwrap_or_else(|| po.id.to_string());
    let mut out = Vec::new();
    for (i, r) in po.receipts.iter().enumerate() {
        let date = r.at.to_zoned(zone.clone()).date();
        if date < from || date > to {
            continue;
        }
        let Some(line) = po.lines.iter().find(|l| l.line == r.line) else { continue };
        let cost = crate::inventory::line_total(r.quantity, line.unit_cost_cents);
        let memo = format!("{} {}", line.sku, line.name);
        let mut splits = Vec::new();
        push(&mut splits, &map.accounts_payable, -cost, &memo);
        push(&mut splits, &map.purchases, cost, &memo);
        out.push(Transaction {
            kind: ExportKind::Purchases,
            trns_type: "BILL",
            date,
            number: number.clone(),
            name: vendor_name.to_owned(),
            source: format!("purchase_receipt:{}/{}", po.id, i),
            splits,
        });
    }
    out
}

// ----- batch operations on selected invoices -----

/// The invoice ids of a selection: 1 to 1,000, each well-formed (repeats count once).
pub fn parse_selection(ids: &[String]) -> Result<Vec<InvoiceId>, ValidationError> {
    if ids.is_empty() {
        return Err(ValidationError::new("invoice_ids", "select at least one invoice"));
    }
    if ids.len() > MAX_SELECTION {
        return Err(ValidationError::new("invoice_ids", format!("at most {MAX_SELECTION} invoices at once")));
    }
    let mut out: Vec<InvoiceId> = Vec::with_capacity(ids.len());
    for (i, s) in ids.iter().enumerate() {
        let id: InvoiceId =
            s.parse().map_err(|_| ValidationError::new(format!("invoice_ids[{i}]"), "is not an invoice id"))?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

/// Body of `POST /api/invoice-batches/discount`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchDiscount {
    pub invoice_ids: Vec<String>,
    pub discount: Discount,
    pub reason: String,
    /// When given, invoices of another location are not touched (reported `other_location`).
    #[serde(default)]
    pub location_id: Option<LocationId>,
}

/// Body of `POST /api/invoice-batches/export`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchExport {
    pub invoice_ids: Vec<String>,
    /// When given, invoices of another location are left out (reported `other_location`).
    #[serde(default)]
    pub location_id: Option<LocationId>,
}

/// A validated selection operation, as the batch job's payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectionOp {
    pub invoice_ids: Vec<InvoiceId>,
    pub location_id: Option<LocationId>,
    /// `Some` for a discount batch.
    pub discount: Option<Discount>,
    pub reason: Option<String>,
}

impl BatchDiscount {
    pub fn validate(&self) -> Result<SelectionOp, ValidationError> {
        let invoice_ids = parse_selection(&self.invoice_ids)?;
        let discount = self.discount.typed("discount")?;
        let reason = self.reason.trim();
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(ValidationError::new("reason", "must be 1 to 500 characters"));
        }
        Ok(SelectionOp {
            invoice_ids,
            location_id: self.location_id,
            discount: Some(discount),
            reason: Some(reason.to_owned()),
        })
    }
}

impl BatchExport {
    pub fn validate(&self) -> Result<SelectionOp, ValidationError> {
        Ok(SelectionOp {
            invoice_ids: parse_selection(&self.invoice_ids)?,
            location_id: self.location_id,
            discount: None,
            reason: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_names_are_checked() {
        assert!(check_account("f", "Sales:Exams").is_ok());
        assert_eq!(check_account("f", "  Sales  ").unwrap(), "Sales");
        for bad in ["", "   ", "Sales\tTax", "Sales\nTax", &"x".repeat(101)] {
            assert!(check_account("f", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_mapping_validates_methods_and_keeps_defaults() {
        let mut put = PutAccountMap::default();
        put.payment_methods.insert("cash".into(), "Cash Drawer".into());
        put.revenue.insert("Exams".into(), "Income:Exams".into());
        let m = put.validate().unwrap();
        assert_eq!(m.method_account(PaymentMethod::Cash), "Cash Drawer");
        assert_eq!(m.method_account(PaymentMethod::Check), "Undeposited Funds");
        assert_eq!(m.revenue_of("Exams"), "Income:Exams");
        assert_eq!(m.revenue_of("Food"), "Sales");
        put.payment_methods.insert("bitcoin".into(), "X".into());
        assert_eq!(put.validate().unwrap_err().field, "payment_methods.bitcoin");
    }

    #[test]
    fn an_export_request_is_checked() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        let req = |from, to, reexport, reason: Option<&str>| CreateExport {
            from: d(from),
            to: d(to),
            format: ExportFormat::Csv,
            kinds: None,
            reexport,
            reason: reason.map(Into::into),
        };
        assert!(req("2026-01-01", "2026-01-31", false, None).validate().is_ok());
        assert_eq!(req("2026-02-01", "2026-01-31", false, None).validate().unwrap_err().field, "to");
        assert_eq!(req("2020-01-01", "2026-01-31", false, None).validate().unwrap_err().field, "to");
        assert_eq!(req("2026-01-01", "2026-01-31", true, Some("  ")).validate().unwrap_err().field, "reason");
        assert!(req("2026-01-01", "2026-01-31", true, Some("fixed a mapping")).validate().is_ok());
    }

    #[test]
    fn a_selection_is_bounded_and_well_formed() {
        assert_eq!(parse_selection(&[]).unwrap_err().field, "invoice_ids");
        let many = vec!["01JD7Y2Q4Z8W3N5K6M7P8R9S0T".to_string(); MAX_SELECTION + 1];
        assert_eq!(parse_selection(&many).unwrap_err().field, "invoice_ids");
        assert_eq!(parse_selection(&["nope".into()]).unwrap_err().field, "invoice_ids[0]");
        let two = vec!["01JD7Y2Q4Z8W3N5K6M7P8R9S0T".to_string(); 2];
        assert_eq!(parse_selection(&two).unwrap().len(), 1);
    }

    #[test]
    fn a_v1_invoice_batch_reads_as_a_generate_batch() {
        use crate::capture::{BatchOp, InvoiceBatch};
        let id = "01JD7Y2Q4Z8W3N5K6M7P8R9S0T";
        let v1 = serde_json::json!({
            "id": id, "from": "2026-01-01", "to": "2026-01-31", "status": "done", "total": 1, "done": 1,
            "issued": [], "failed": [{"visit_id": id, "invoice_id": null, "code": "no_charges", "reason": "x"}],
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z", "created_by": null,
        });
        let b = InvoiceBatch::upcast(1, v1).unwrap();
        assert_eq!((b.op, b.from.map(|d| d.to_string())), (BatchOp::Generate, Some("2026-01-01".to_owned())));
        assert_eq!(b.failed[0].visit_id.map(|v| v.to_string()), Some(id.to_owned()));
        assert!(b.changed.is_empty() && b.file.is_none());
    }
}
