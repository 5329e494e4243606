//! Invoices: a client's bill, with its lines, discounts, tax and credit notes, every amount
//! in integer cents and computed here by the one rule of [`crate::money`] (never typed by a
//! person). The statuses (`draft → issued → partially_paid → paid`, `overdue`, `void`), what
//! each allows, and the bodies of the requests that move them. A draft's lines change freely;
//! after issue only a credit note changes what is owed.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::errors::ValidationError;
use crate::ids::{
    CatalogueItemId, ClientId, CreditNoteId, InvoiceId, LocationId, PatientId, PaymentId, RefundId, UserId, VisitId,
};
use crate::money::{
    self, BasisPoints, Cents, Discount, LineAmounts, LineInput, MAX_LINES, MoneyError, Quantity, Totals,
};
use crate::patch::Patch;
use crate::payments::{
    CreditEntry, CreditEntryKind, Payment, PaymentDraft, PaymentMethod, Refund, RefundDraft, RefundOf,
};
use crate::records::Record;
use crate::values::{MAX_NAME_CHARS, note_text, optional_text, required_text};

/// Longest line description.
pub const MAX_DESCRIPTION_CHARS: usize = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum InvoiceStatus {
    /// Being built (at checkout, or by charge capture during the visit); no number yet.
    Draft,
    /// Numbered and owed, nothing paid yet.
    Issued,
    PartiallyPaid,
    Paid,
    /// Issued or partially paid, with a balance after its due date (set by a job).
    Overdue,
    /// Cancelled with a reason; kept, never deleted.
    Void,
}

impl InvoiceStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Issued and not settled: what a payment, a credit note or the overdue job acts on.
    pub fn is_open(self) -> bool {
        matches!(self, InvoiceStatus::Issued | InvoiceStatus::PartiallyPaid | InvoiceStatus::Overdue)
    }
}

/// One line of an invoice or a credit note, with its amounts computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InvoiceLine {
    /// 1, 2, 3… in the order lines were added; never reused within the invoice.
    pub line_no: u32,
    /// The catalogue item it was charged from, if any.
    pub item_id: Option<CatalogueItemId>,
    pub description: String,
    /// The catalogue item's category, for revenue by category.
    pub category: Option<String>,
    pub quantity: Quantity,
    /// Cents per unit.
    pub unit_price: Cents,
    pub taxable: bool,
    pub discount: Option<Discount>,
    /// What recorded it, for lines charge capture added (`vaccination:<id>`): the same source
    /// is charged once.
    pub source: Option<String>,
    pub amounts: LineAmounts,
    /// On a credit note: the invoice line it credits (its amount was computed from that
    /// line); absent on a free-amount credit line and on an invoice's own lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credits_line_no: Option<u32>,
}

impl InvoiceLine {
    fn input(&self) -> LineInput {
        LineInput {
            quantity: self.quantity,
            unit_price: self.unit_price,
            taxable: self.taxable,
            discount: self.discount,
        }
    }
}

/// A credit note: lines that reduce what an issued invoice asks, numbered `CN-YYYY-NNNNNN`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreditNote {
    pub id: CreditNoteId,
    /// Given by the commit that writes it, gap-free per year.
    pub number: Option<String>,
    /// Its date in the clinic's zone (the year of its number).
    pub date: Date,
    pub reason: String,
    pub lines: Vec<InvoiceLine>,
    /// At the invoice's tax rate, rounded by the same rule.
    pub totals: Totals,
    pub created_at: Timestamp,
    pub created_by: Option<UserId>,
}

/// An invoice, as stored and returned. Every amount is integer cents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Invoice {
    pub id: InvoiceId,
    /// `INV-YYYY-NNNNNN`, given when it is issued (gap-free per year).
    pub number: Option<String>,
    pub client_id: ClientId,
    pub patient_id: Option<PatientId>,
    pub visit_id: Option<VisitId>,
    /// Whose tax rate applies.
    pub location_id: Option<LocationId>,
    pub status: InvoiceStatus,
    pub lines: Vec<InvoiceLine>,
    /// The invoice-level discount (off the sum of the lines' net).
    /// The highest line number ever given (a line removed from a draft keeps its number
    /// retired, so a number never names two different lines).
    #[serde(default)]
    pub last_line_no: u32,
    pub discount: Option<Discount>,
    /// The location's rate, read while a draft and fixed at issue.
    pub tax_rate: BasisPoints,
    pub totals: Totals,
    /// The sum of the credit notes' totals.
    pub credited: Cents,
    pub paid: Cents,
    /// `total − credited − paid`.
    pub balance: Cents,
    pub credit_notes: Vec<CreditNote>,
    /// Payments taken, oldest first; their sum is `paid`.
    #[serde(default)]
    pub payments: Vec<Payment>,
    pub memo: Option<String>,
    pub issued_on: Option<Date>,
    pub due_on: Option<Date>,
    pub void_reason: Option<String>,
    /// When it was issued (none before this field existed).
    #[serde(default)]
    pub issued_at: Option<Timestamp>,
    /// When it was voided (none before this field existed: its `updated_at` stands in).
    #[serde(default)]
    pub voided_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: Option<UserId>,
    /// What charge capture found no catalogue item for (docs/billing.md, "Charge capture"):
    /// listed so the front desk can charge it by hand.
    #[serde(default)]
    pub uncharged: Vec<crate::capture::UnchargedEntry>,
    /// Refunds of its payments, oldest first (each its own record, never deleted).
    #[serde(default)]
    pub refunds: Vec<Refund>,
    /// What the refunds of the invoice's part of its payments gave back; `paid` is already
    /// net of it.
    #[serde(default)]
    pub refunded: Cents,
    /// Loyalty points this invoice redeems, taken off as part of its invoice discount
    /// (docs/loyalty.md): held while a draft, spent once issued, given back if voided.
    #[serde(default)]
    pub loyalty: Option<crate::loyalty::LoyaltyRedemption>,
}

impl Record for Invoice {
    const KIND: &'static str = "invoice";
    const VERSION: u16 = 1;
}

/// A line as a request gives it: from the catalogue (its name, category, price and taxable
/// flag unless given here) or free text (description and unit price required).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLine {
    #[serde(default)]
    pub item_id: Option<CatalogueItemId>,
    #[serde(default)]
    pub description: Option<String>,
    /// Default 1; at most three decimals.
    #[serde(default)]
    pub quantity: Option<Quantity>,
    /// Cents; default the catalogue item's price.
    #[serde(default)]
    pub unit_price: Option<Cents>,
    /// Default the catalogue item's flag, else `false`.
    #[serde(default)]
    pub taxable: Option<bool>,
    #[serde(default)]
    pub discount: Option<Discount>,
}

/// What a line takes from its catalogue item (looked up by the service).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemDefaults {
    pub name: String,
    pub category: String,
    pub price: Cents,
    pub taxable: bool,
}

/// A checked line, before its number and amounts.
#[derive(Debug, Clone, PartialEq)]
pub struct LineDraft {
    pub item_id: Option<CatalogueItemId>,
    pub description: String,
    pub category: Option<String>,
    pub quantity: Quantity,
    pub unit_price: Cents,
    pub taxable: bool,
    pub discount: Option<Discount>,
    pub source: Option<String>,
}

impl NewLine {
    /// Checks the line against its item (`None` for free text); `field` is e.g. `lines.2`.
    pub fn validate(&self, item: Option<&ItemDefaults>, field: &str) -> Result<LineDraft, ValidationError> {
        let f = |name: &str| format!("{field}.{name}");
        let description = match (&self.description, item) {
            (Some(d), _) => required_text(&f("description"), d, MAX_DESCRIPTION_CHARS)?,
            (None, Some(i)) => i.name.clone(),
            (None, None) => {
                return Err(ValidationError::new(f("description"), "is required for a line without item_id"));
            }
        };
        let unit_price = match (self.unit_price, item) {
            (Some(p), _) => p.typed(&f("unit_price"), false)?,
            (None, Some(i)) => i.price,
            (None, None) => {
                return Err(ValidationError::new(f("unit_price"), "is required for a line without item_id"));
            }
        };
        Ok(LineDraft {
            item_id: self.item_id,
            description,
            category: item.map(|i| i.category.clone()),
            quantity: self.quantity.unwrap_or(Quantity::ONE).typed(&f("quantity"))?,
            unit_price,
            taxable: self.taxable.or(item.map(|i| i.taxable)).unwrap_or(false),
            discount: self.discount.map(|d| d.typed(&f("discount"))).transpose()?,
            source: None,
        })
    }
}

impl LineDraft {
    fn into_line(self, line_no: u32) -> InvoiceLine {
        InvoiceLine {
            line_no,
            item_id: self.item_id,
            description: self.description,
            category: self.category,
            quantity: self.quantity,
            unit_price: self.unit_price,
            taxable: self.taxable,
            discount: self.discount,
            source: self.source,
            amounts: LineAmounts::default(),
            credits_line_no: None,
        }
    }
}

/// Body of `POST /api/invoices`: a draft.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInvoice {
    pub client_id: ClientId,
    #[serde(default)]
    pub patient_id: Option<PatientId>,
    #[serde(default)]
    pub visit_id: Option<VisitId>,
    #[serde(default)]
    pub location_id: Option<LocationId>,
    #[serde(default)]
    pub lines: Vec<NewLine>,
    #[serde(default)]
    pub discount: Option<Discount>,
    #[serde(default)]
    pub memo: Option<String>,
}

/// The validated content of a new draft (lines checked against their items by the service).
#[derive(Debug, Clone, PartialEq)]
pub struct InvoiceDraft {
    pub client_id: ClientId,
    pub patient_id: Option<PatientId>,
    pub visit_id: Option<VisitId>,
    pub location_id: Option<LocationId>,
    pub lines: Vec<LineDraft>,
    pub discount: Option<Discount>,
    pub memo: Option<String>,
}

/// Body of `PATCH /api/invoices/{id}`, a draft only: `lines` replaces every line; `null`
/// clears the discount or memo.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateInvoice {
    #[serde(default)]
    pub lines: Option<Vec<NewLine>>,
    #[serde(default)]
    #[schema(value_type = Option<Discount>)]
    pub discount: Patch<Discount>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub memo: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<LocationId>)]
    pub location_id: Patch<LocationId>,
}

/// A draft's change, validated (the lines against their items).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DraftChange {
    pub lines: Option<Vec<LineDraft>>,
    pub discount: Patch<Discount>,
    pub memo: Patch<String>,
    pub location_id: Patch<LocationId>,
}

/// Body of `POST /api/invoices/{id}/void`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidInvoice {
    pub reason: String,
}

impl VoidInvoice {
    pub fn validate(&self) -> Result<String, ValidationError> {
        required_text("reason", &self.reason, MAX_DESCRIPTION_CHARS)
    }
}

/// Body of `POST /api/invoices/{id}/credit-notes`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCreditNote {
    pub reason: String,
    pub lines: Vec<CreditLineInput>,
}

/// A credit note's line as a request gives it: either an invoice line (`line_no`, and
/// optionally a `quantity`, default all of it left), whose amount and tax the server computes
/// from that line, or a free amount (the fields of an invoice line).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditLineInput {
    /// The invoice line credited.
    #[serde(default)]
    pub line_no: Option<u32>,
    #[serde(default)]
    pub item_id: Option<CatalogueItemId>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub quantity: Option<Quantity>,
    #[serde(default)]
    pub unit_price: Option<Cents>,
    #[serde(default)]
    pub taxable: Option<bool>,
    #[serde(default)]
    pub discount: Option<Discount>,
}

/// A credit of (part of) an invoice line, checked for its shape.
#[derive(Debug, Clone, PartialEq)]
pub struct LineCredit {
    pub line_no: u32,
    /// Default: all the line has left.
    pub quantity: Option<Quantity>,
    /// Where it was in the request (`lines.2`), for errors.
    pub field: String,
}

/// What a credit note's request line is.
#[derive(Debug, Clone)]
pub enum CreditLineKind {
    OfLine(LineCredit),
    Free(NewLine),
}

impl CreditLineInput {
    /// Splits into a credit of an invoice line or a free line; `field` is e.g. `lines.2`.
    pub fn kind(&self, field: &str) -> Result<CreditLineKind, ValidationError> {
        let Some(line_no) = self.line_no else {
            return Ok(CreditLineKind::Free(NewLine {
                item_id: self.item_id,
                description: self.description.clone(),
                quantity: self.quantity,
                unit_price: self.unit_price,
                taxable: self.taxable,
                discount: self.discount,
            }));
        };
        if self.item_id.is_some()
            || self.description.is_some()
            || self.unit_price.is_some()
            || self.taxable.is_some()
            || self.discount.is_some()
        {
            return Err(ValidationError::new(
                format!("{field}.line_no"),
                "a credit of an invoice line takes only line_no and quantity (its amount and tax come from the line)",
            ));
        }
        let quantity = self.quantity.map(|q| q.typed(&format!("{field}.quantity"))).transpose()?;
        Ok(CreditLineKind::OfLine(LineCredit { line_no, quantity, field: field.to_owned() }))
    }
}

/// A credit note's content, validated (lines against their items by the service).
#[derive(Debug, Clone, PartialEq)]
pub struct CreditNoteDraft {
    pub reason: String,
    /// Free-amount lines.
    pub lines: Vec<LineDraft>,
    /// Credits of invoice lines (numbered after the free lines in the note).
    pub of_lines: Vec<LineCredit>,
}

/// The most credit notes one invoice takes (the invoice is one record, rewritten whole on
/// every change: it must not grow without bound).
pub const MAX_CREDIT_NOTES: usize = 100;
/// The most payments one invoice takes (the same reason; a payment plan's instalments are
/// far fewer).
pub const MAX_PAYMENTS: usize = 500;

/// Checks the number of lines of a request.
pub fn check_line_count(n: usize, field: &str, at_least_one: bool) -> Result<(), ValidationError> {
    if n > MAX_LINES {
        return Err(ValidationError::new(field, format!("has more than {MAX_LINES} lines")));
    }
    if at_least_one && n == 0 {
        return Err(ValidationError::new(field, "needs at least one line"));
    }
    Ok(())
}

/// A computation error in words, on `field`.
pub fn money_error(e: MoneyError, field: &str) -> ValidationError {
    ValidationError::new(field, e.to_string())
}

/// Computes the lines' amounts and the totals of `lines` (numbered already).
fn recompute(
    lines: &mut [InvoiceLine],
    discount: Option<Discount>,
    rate: BasisPoints,
) -> Result<Totals, ValidationError> {
    for (n, l) in lines.iter_mut().enumerate() {
        l.amounts = money::line_amounts(&l.input()).map_err(|e| money_error(e, &format!("lines.{n}")))?;
    }
    let with: Vec<(LineInput, LineAmounts)> = lines.iter().map(|l| (l.input(), l.amounts)).collect();
    money::totals(&with, discount, rate).map_err(|e| money_error(e, "discount"))
}

impl InvoiceDraft {
    /// A new draft invoice (its amounts computed at `tax_rate`).
    pub fn into_invoice(
        self,
        id: InvoiceId,
        tax_rate: BasisPoints,
        now: Timestamp,
        by: Option<UserId>,
    ) -> Result<Invoice, ValidationError> {
        let mut inv = Invoice {
            id,
            number: None,
            client_id: self.client_id,
            patient_id: self.patient_id,
            visit_id: self.visit_id,
            location_id: self.location_id,
            status: InvoiceStatus::Draft,
            lines: Vec::new(),
            last_line_no: 0,
            discount: self.discount,
            tax_rate,
            totals: Totals::default(),
            credited: Cents::ZERO,
            paid: Cents::ZERO,
            balance: Cents::ZERO,
            credit_notes: Vec::new(),
            payments: Vec::new(),
            memo: self.memo,
            issued_on: None,
            due_on: None,
            void_reason: None,
            issued_at: None,
            voided_at: None,
            created_at: now,
            updated_at: now,
            created_by: by,
            uncharged: Vec::new(),
            refunds: Vec::new(),
            refunded: Cents::ZERO,
            loyalty: None,
        };
        inv.add_lines(self.lines)?;
        Ok(inv)
    }
}

impl Invoice {
    /// Recomputes the totals and the balance from the lines, discount, rate, credits and
    /// payments.
    pub fn recompute(&mut self) -> Result<(), ValidationError> {
        self.totals = recompute(&mut self.lines, self.discount, self.tax_rate)?;
        self.redeem_loyalty()?;
        self.credited =
            Cents::sum(self.credit_notes.iter().map(|c| c.totals.total)).map_err(|e| money_error(e, "lines"))?;
        self.refunded = Cents::sum(self.refunds.iter().filter(|r| r.of == RefundOf::Invoice).map(|r| r.amount))
            .map_err(|e| money_error(e, "amount"))?;
        self.paid = Cents::sum(self.payments.iter().map(Payment::applied))
            .and_then(|p| p.checked_sub(self.refunded))
            .map_err(|e| money_error(e, "amount"))?;
        self.balance = self
            .totals
            .total
            .checked_sub(self.credited)
            .and_then(|b| b.checked_sub(self.paid))
            .map_err(|e| money_error(e, "lines"))?;
        Ok(())
    }

    /// Takes the redeemed points' value off as part of the invoice discount (so it lowers the
    /// taxable base in proportion, as any invoice discount does). A draft whose lines no longer
    /// cover it lets the redemption go (the points are held no more); an issued invoice never
    /// changes its lines, so it always covers it.
    fn redeem_loyalty(&mut self) -> Result<(), ValidationError> {
        let Some(l) = self.loyalty else { return Ok(()) };
        let room = self.totals.subtotal.checked_sub(self.totals.discount).map_err(|e| money_error(e, "lines"))?;
        if l.value > room && self.status == InvoiceStatus::Draft {
            self.loyalty = None;
            return Ok(());
        }
        let line_discounts =
            Cents::sum(self.lines.iter().map(|l| l.amounts.discount)).map_err(|e| money_error(e, "lines"))?;
        let own = self.totals.discount.checked_sub(line_discounts).map_err(|e| money_error(e, "discount"))?;
        let both = own.checked_add(l.value).map_err(|e| money_error(e, "discount"))?;
        let with: Vec<(LineInput, LineAmounts)> = self.lines.iter().map(|l| (l.input(), l.amounts)).collect();
        self.totals = money::totals(&with, Some(Discount::Amount { amount: both }), self.tax_rate)
            .map_err(|e| money_error(e, "points"))?;
        Ok(())
    }

    fn next_line_no(&self) -> u32 {
        self.lines.iter().map(|l| l.line_no).max().unwrap_or(0).max(self.last_line_no) + 1
    }

    fn note_last_line_no(&mut self) {
        self.last_line_no = self.lines.iter().map(|l| l.line_no).max().unwrap_or(0).max(self.last_line_no);
    }

    /// Adds lines (numbered after the last) and recomputes.
    pub fn add_lines(&mut self, lines: Vec<LineDraft>) -> Result<(), ValidationError> {
        check_line_count(self.lines.len() + lines.len(), "lines", false)?;
        let first = self.next_line_no();
        self.lines.extend(lines.into_iter().zip(first..).map(|(l, n)| l.into_line(n)));
        self.note_last_line_no();
        self.recompute()
    }

    /// Applies a draft's change (the lines are renumbered from the last number used, so a
    /// number never names two different lines in the invoice's history); returns the changed
    /// fields.
    pub fn change_draft(&mut self, change: DraftChange) -> Result<Vec<&'static str>, ValidationError> {
        let before = self.clone();
        if let Some(lines) = change.lines {
            check_line_count(lines.len(), "lines", false)?;
            let first = self.next_line_no();
            self.lines = lines.into_iter().zip(first..).map(|(l, n)| l.into_line(n)).collect();
            self.note_last_line_no();
        }
        self.discount = change.discount.optional(self.discount);
        self.memo = match change.memo {
            Patch::Keep => self.memo.take(),
            Patch::Clear => None,
            Patch::Set(m) => note_text("memo", Some(&m))?,
        };
        self.location_id = change.location_id.optional(self.location_id);
        self.recompute()?;
        let mut changed = Vec::new();
        let same_lines = before.lines.len() == self.lines.len()
            && before.lines.iter().zip(&self.lines).all(|(a, b)| LineKey::of(a) == LineKey::of(b));
        if same_lines {
            // The same lines sent again keep their numbers: nothing changed.
            self.lines.clone_from(&before.lines);
            self.last_line_no = before.last_line_no;
        } else {
            changed.push("lines");
        }
        macro_rules! diff {
            ($($f:ident),*) => { $( if before.$f != self.$f { changed.push(stringify!($f)); } )* };
        }
        diff!(discount, memo, location_id, loyalty);
        if changed.is_empty() {
            *self = before;
        }
        Ok(changed)
    }

    /// Adds a credit note (its amounts at the invoice's rate); refused above the balance.
    pub fn add_credit_note(
        &mut self,
        id: CreditNoteId,
        draft: CreditNoteDraft,
        date: Date,
        now: Timestamp,
        by: Option<UserId>,
    ) -> Result<(), ValidationError> {
        check_line_count(draft.lines.len() + draft.of_lines.len(), "lines", true)?;
        let mut lines: Vec<InvoiceLine> = draft.lines.into_iter().zip(1..).map(|(l, n)| l.into_line(n)).collect();
        self.credit_invoice_lines(&mut lines, &draft.of_lines)?;
        let totals = recompute(&mut lines, None, self.tax_rate)?;
        if self.credit_notes.len() >= MAX_CREDIT_NOTES {
            return Err(ValidationError::new(
                "lines",
                format!("an invoice takes at most {MAX_CREDIT_NOTES} credit notes: void it or credit more per note"),
            ));
        }
        if totals.total.get() <= 0 {
            return Err(ValidationError::new("lines", "a credit note must credit more than 0 cents"));
        }
        // A credit note gives back no more tax, and credits no more taxable amount, than the
        // invoice charged: otherwise a taxable line on an invoice that charged no tax would
        // report tax refunded that was never collected.
        let (credited_tax, credited_taxable) = self.credit_notes.iter().fold((0i64, 0i64), |(t, b), c| {
            (t.saturating_add(c.totals.tax.get()), b.saturating_add(c.totals.taxable.get()))
        });
        let tax_left = self.totals.tax.get().saturating_sub(credited_tax);
        let taxable_left = self.totals.taxable.get().saturating_sub(credited_taxable);
        if totals.taxable.get() > taxable_left || totals.tax.get() > tax_left {
            return Err(ValidationError::new(
                "lines",
                format!(
                    "the credit note's taxable amount ({} cents, tax {} cents) is more than the invoice has left to credit ({} cents taxable, {} cents tax): mark lines taxable only as the invoice charged them",
                    totals.taxable.get(),
                    totals.tax.get(),
                    taxable_left.max(0),
                    tax_left.max(0)
                ),
            ));
        }
        if totals.total > self.balance {
            return Err(ValidationError::new(
                "lines",
                format!(
                    "the credit note's total ({} cents) is more than the balance ({} cents)",
                    totals.total.get(),
                    self.balance.get()
                ),
            ));
        }
        self.credit_notes.push(CreditNote {
            id,
            number: None,
            date,
            reason: draft.reason,
            lines,
            totals,
            created_at: now,
            created_by: by,
        });
        self.recompute()?;
        self.settle_status();
        Ok(())
    }

    /// Takes a payment: more than 0 (checked with the body) and at most the balance.
    pub fn pay(
        &mut self,
        id: PaymentId,
        draft: PaymentDraft,
        now: Timestamp,
        by: Option<UserId>,
    ) -> Result<(), ValidationError> {
        self.pay_keeping_credit(id, draft, false, now, by)
    }

    /// Takes a payment; with `credit_on_account`, the part above the balance is kept as the
    /// client's credit (`to_credit`) instead of refused.
    pub fn pay_keeping_credit(
        &mut self,
        id: PaymentId,
        draft: PaymentDraft,
        credit_on_account: bool,
        now: Timestamp,
        by: Option<UserId>,
    ) -> Result<(), ValidationError> {
        if self.payments.len() >= MAX_PAYMENTS {
            return Err(ValidationError::new("amount", format!("an invoice takes at most {MAX_PAYMENTS} payments")));
        }
        if draft.amount > self.balance && credit_on_account {
            let to_credit = draft.amount.checked_sub(self.balance).map_err(|e| money_error(e, "amount"))?;
            let mut payment = draft.into_payment(id, now, by);
            payment.to_credit = to_credit;
            self.payments.push(payment);
            self.recompute()?;
            self.settle_status();
            return Ok(());
        }
        if draft.amount > self.balance {
            return Err(ValidationError::new(
                "amount",
                format!(
                    "is more than the balance ({} cents); the clinic takes no credit on account",
                    self.balance.get()
                ),
            ));
        }
        self.payments.push(draft.into_payment(id, now, by));
        self.recompute()?;
        self.settle_status();
        Ok(())
    }

    /// The status an issued invoice's balance implies (an overdue one stays overdue while a
    /// balance remains).
    pub fn settle_status(&mut self) {
        if !self.status.is_open() {
            return;
        }
        self.status = if !self.balance.is_positive() {
            InvoiceStatus::Paid
        } else if self.status == InvoiceStatus::Overdue {
            InvoiceStatus::Overdue
        } else if self.paid.is_positive() || self.credited.is_positive() {
            InvoiceStatus::PartiallyPaid
        } else {
            InvoiceStatus::Issued
        };
    }
}

impl Invoice {
    /// Applies `amount` of the client's credit on account (`available`, summed under the
    /// client's credit lock) as a payment of method `account_credit`.
    pub fn apply_credit(
        &mut self,
        id: PaymentId,
        amount: Cents,
        available: Cents,
        now: Timestamp,
        by: Option<UserId>,
    ) -> Result<(), ValidationError> {
        if !amount.is_positive() {
            return Err(ValidationError::new(
                "amount",
                "must be more than 0 cents (the client has no credit to apply)",
            ));
        }
        if amount > available {
            return Err(ValidationError::new(
                "amount",
                format!("is more than the client's credit on account ({} cents)", available.get()),
            ));
        }
        if amount > self.balance {
            return Err(ValidationError::new(
                "amount",
                format!("is more than the balance ({} cents)", self.balance.get()),
            ));
        }
        let draft = PaymentDraft {
            amount,
            method: PaymentMethod::AccountCredit,
            reference: None,
            processor: None,
            processor_payment_id: None,
        };
        self.pay(id, draft, now, by)
    }

    /// What is left to refund of a payment's part `of` (its invoice part or its credit part),
    /// after earlier refunds; `None` if the invoice has no such payment. The credit part of a
    /// payment made from credit on account is what its refunds gave back to the account
    /// (`restored`): that credit may then go out as money.
    pub fn refundable(&self, payment: PaymentId, of: RefundOf) -> Option<Cents> {
        let p = self.payments.iter().find(|p| p.id == payment)?;
        let whole = match of {
            RefundOf::Invoice => p.applied(),
            RefundOf::Credit if p.method == PaymentMethod::AccountCredit => Cents::new(
                self.refunds
                    .iter()
                    .filter(|r| r.payment_id == payment && r.of == RefundOf::Invoice)
                    .map(|r| r.amount.get())
                    .sum(),
            ),
            RefundOf::Credit => p.to_credit,
        };
        let done: i64 =
            self.refunds.iter().filter(|r| r.payment_id == payment && r.of == of).map(|r| r.amount.get()).sum();
        Some(Cents::new(whole.get().saturating_sub(done).max(0)))
    }

    /// Refunds (part of) a payment: never more than is left of that part after earlier
    /// refunds (422 `amount`); a refund of credit also never more than the client's credit
    /// (`available`, summed under the client's credit lock). The invoice's `paid` and balance
    /// follow; a paid invoice with a balance again goes back to `partially_paid`/`issued`, or
    /// `overdue` if `today` is past its due date.
    pub fn refund(
        &mut self,
        id: RefundId,
        draft: RefundDraft,
        available: Option<Cents>,
        today: Date,
        now: Timestamp,
        by: Option<UserId>,
    ) -> Result<(), ValidationError> {
        let payment = draft.payment_id;
        let Some(p) = self.payments.iter().find(|p| p.id == payment).cloned() else {
            return Err(ValidationError::new("payment_id", "is not a payment of this invoice"));
        };
        if self.refunds.len() >= MAX_PAYMENTS {
            return Err(ValidationError::new("amount", format!("an invoice takes at most {MAX_PAYMENTS} refunds")));
        }
        let left = self.refundable(payment, draft.of).unwrap_or(Cents::ZERO);
        if draft.amount > left {
            let part = match draft.of {
                RefundOf::Invoice => "paid on the invoice",
                RefundOf::Credit if p.method == PaymentMethod::AccountCredit => {
                    "given back to credit on account by its refunds"
                }
                RefundOf::Credit => "kept as credit on account",
            };
            return Err(ValidationError::new(
                "amount",
                format!(
                    "is more than what is left to refund of the payment ({} cents {part}, after earlier refunds)",
                    left.get()
                ),
            ));
        }
        if draft.of == RefundOf::Credit
            && let Some(credit) = available
            && draft.amount > credit
        {
            return Err(ValidationError::new(
                "amount",
                format!("is more than the client's credit on account ({} cents)", credit.get()),
            ));
        }
        // Applied credit goes back to the credit it came from, never out as money; once back
        // (restored), refunding it `of: credit` pays it out, by a method named.
        let restored_as_money = p.method == PaymentMethod::AccountCredit && draft.of == RefundOf::Credit;
        if restored_as_money && draft.method.is_none_or(|m| m == PaymentMethod::AccountCredit) {
            return Err(ValidationError::new(
                "method",
                "name how the restored credit is paid out (cash, card_present, check, bank_transfer, …)",
            ));
        }
        if p.method == PaymentMethod::AccountCredit
            && !restored_as_money
            && draft.method.is_some_and(|m| m != PaymentMethod::AccountCredit)
        {
            return Err(ValidationError::new(
                "method",
                "a payment from credit on account is refunded to the client's credit (account_credit)",
            ));
        }
        if p.method != PaymentMethod::AccountCredit && draft.method == Some(PaymentMethod::AccountCredit) {
            return Err(ValidationError::new("method", "account_credit refunds only a payment made from credit"));
        }
        self.refunds.push(draft.into_refund(id, &p, now, by));
        self.recompute()?;
        self.reopen_status(today);
        Ok(())
    }

    /// The status after a refund: as [`Self::settle_status`], and a paid invoice with a balance
    /// again is open again (overdue if its due date has passed).
    pub fn reopen_status(&mut self, today: Date) {
        if self.status == InvoiceStatus::Paid && self.balance.is_positive() {
            self.status = if self.due_on.is_some_and(|d| today > d) {
                InvoiceStatus::Overdue
            } else if self.paid.is_positive() || self.credited.is_positive() {
                InvoiceStatus::PartiallyPaid
            } else {
                InvoiceStatus::Issued
            };
            return;
        }
        self.settle_status();
    }

    /// This invoice's movements of its client's credit on account.
    pub fn credit_entries(&self) -> impl Iterator<Item = CreditEntry> + '_ {
        let entry = |kind, amount: i64, p: &Payment, refund_id, at| CreditEntry {
            kind,
            amount: Cents::new(amount),
            invoice_id: self.id,
            invoice_number: self.number.clone(),
            payment_id: p.id,
            refund_id,
            at,
        };
        let from_payments = self.payments.iter().filter_map(move |p| {
            if p.to_credit.is_positive() {
                Some(entry(CreditEntryKind::Overpayment, p.to_credit.get(), p, None, p.received_at))
            } else if p.method == PaymentMethod::AccountCredit {
                Some(entry(CreditEntryKind::Applied, -p.amount.get(), p, None, p.received_at))
            } else {
                None
            }
        });
        let from_refunds = self.refunds.iter().filter_map(move |r| {
            let p = self.payments.iter().find(|p| p.id == r.payment_id)?;
            match (r.of, p.method) {
                (RefundOf::Credit, _) => {
                    Some(entry(CreditEntryKind::Refunded, -r.amount.get(), p, Some(r.id), r.refunded_at))
                }
                (RefundOf::Invoice, PaymentMethod::AccountCredit) => {
                    Some(entry(CreditEntryKind::Restored, r.amount.get(), p, Some(r.id), r.refunded_at))
                }
                _ => None,
            }
        });
        from_payments.chain(from_refunds)
    }
}

impl Invoice {
    /// The invoice discount's share of a line: `invoice discount × line net ÷ net`, half-up
    /// (the same share rule the tax base uses).
    fn invoice_discount_share(&self, line: &InvoiceLine) -> Result<Cents, ValidationError> {
        let net = Cents::sum(self.lines.iter().map(|l| l.amounts.net)).map_err(|e| money_error(e, "lines"))?;
        let line_discounts =
            Cents::sum(self.lines.iter().map(|l| l.amounts.discount)).map_err(|e| money_error(e, "lines"))?;
        let invoice_discount = self.totals.discount.checked_sub(line_discounts).map_err(|e| money_error(e, "lines"))?;
        if !net.is_positive() || !invoice_discount.is_positive() {
            return Ok(Cents::ZERO);
        }
        money::share(invoice_discount, i128::from(line.amounts.net.get()), i128::from(net.get()))
            .map_err(|e| money_error(e, "lines"))
    }

    /// Appends to a credit note's `lines` the credits of invoice lines: each at the line's
    /// unit price, its amount the line's net less its share of the invoice discount, in
    /// proportion to the quantity credited (all that is left exactly, so a line credited in
    /// parts adds up to what it charged), never more quantity or amount than the line has
    /// left after earlier credit notes and earlier lines of this one.
    fn credit_invoice_lines(
        &self,
        lines: &mut Vec<InvoiceLine>,
        credits: &[LineCredit],
    ) -> Result<(), ValidationError> {
        for c in credits {
            let Some(line) = self.lines.iter().find(|l| l.line_no == c.line_no) else {
                return Err(ValidationError::new(
                    format!("{}.line_no", c.field),
                    format!("the invoice has no line {}", c.line_no),
                ));
            };
            let earlier = self
                .credit_notes
                .iter()
                .flat_map(|n| n.lines.iter())
                .chain(lines.iter())
                .filter(|l| l.credits_line_no == Some(c.line_no));
            let (q_done, v_done) = earlier.fold((0i64, 0i64), |(q, v), l| {
                (q.saturating_add(l.quantity.thousandths()), v.saturating_add(l.amounts.net.get()))
            });
            let share = self.invoice_discount_share(line)?;
            let value = line.amounts.net.get().saturating_sub(share.get());
            let q_left = line.quantity.thousandths().saturating_sub(q_done);
            let v_left = value.saturating_sub(v_done);
            if q_left <= 0 || v_left <= 0 {
                return Err(ValidationError::new(
                    format!("{}.line_no", c.field),
                    format!("line {} is credited in full already", c.line_no),
                ));
            }
            let q = c.quantity.map_or(q_left, Quantity::thousandths);
            if q > q_left {
                return Err(ValidationError::new(
                    format!("{}.quantity", c.field),
                    format!(
                        "is more than line {} has left to credit ({})",
                        c.line_no,
                        Quantity::from_thousandths(q_left)
                    ),
                ));
            }
            let quantity = Quantity::from_thousandths(q);
            let amount = if q == q_left {
                Cents::new(v_left)
            } else {
                money::share(Cents::new(value), i128::from(q), i128::from(line.quantity.thousandths()))
                    .map_err(|e| money_error(e, &c.field))?
                    .min(Cents::new(v_left))
            };
            let gross = money::line_amounts(&LineInput {
                quantity,
                unit_price: line.unit_price,
                taxable: line.taxable,
                discount: None,
            })
            .map_err(|e| money_error(e, &c.field))?
            .gross;
            // The line's and the invoice's discounts, in proportion, are the credit line's
            // discount; a rounding cent above the gross is not credited.
            let amount = amount.min(gross);
            let off = gross.checked_sub(amount).map_err(|e| money_error(e, &c.field))?;
            let no = u32::try_from(lines.len()).unwrap_or(u32::MAX).saturating_add(1);
            lines.push(InvoiceLine {
                line_no: no,
                item_id: line.item_id,
                description: line.description.clone(),
                category: line.category.clone(),
                quantity,
                unit_price: line.unit_price,
                taxable: line.taxable,
                discount: off.is_positive().then_some(Discount::Amount { amount: off }),
                source: None,
                amounts: LineAmounts::default(),
                credits_line_no: Some(c.line_no),
            });
        }
        Ok(())
    }
}

/// What makes two lines the same, apart from their numbers.
#[derive(PartialEq)]
struct LineKey<'a>(Option<CatalogueItemId>, &'a str, Quantity, Cents, bool, Option<Discount>, &'a Option<String>);

impl<'a> LineKey<'a> {
    fn of(l: &'a InvoiceLine) -> Self {
        LineKey(l.item_id, &l.description, l.quantity, l.unit_price, l.taxable, l.discount, &l.source)
    }
}

impl CreateInvoice {
    /// Checks what needs no other record (line counts, memo, discount).
    pub fn check(&self) -> Result<(), ValidationError> {
        check_line_count(self.lines.len(), "lines", false)?;
        note_text("memo", self.memo.as_deref())?;
        if let Some(d) = self.discount {
            d.typed("discount")?;
        }
        Ok(())
    }
}

/// Checks a credit note's reason.
pub fn credit_reason(reason: &str) -> Result<String, ValidationError> {
    required_text("reason", reason, MAX_DESCRIPTION_CHARS)
}

/// Filters of `GET /api/invoices` and `GET /api/clients/{id}/invoices`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InvoiceListQuery {
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub status: Option<InvoiceStatus>,
    pub visit_id: Option<VisitId>,
}

/// A client's balance, derived from their invoices (never typed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClientBalance {
    pub client_id: ClientId,
    /// What the client owes: the sum of the balances of their issued, unpaid invoices (void
    /// and draft invoices count nothing).
    pub balance: Cents,
    /// Of which past its due date.
    pub overdue: Cents,
    /// Issued invoices with a balance.
    pub open_invoices: u32,
    /// The client's credit on account (overpayments kept, less credit applied and refunded),
    /// summed from the same invoices; shown beside what they owe, never netted against it.
    #[serde(default)]
    pub credit: Cents,
}

/// Checks a short free text such as a payment reference.
pub fn short_text(field: &str, v: Option<&str>) -> Result<Option<String>, ValidationError> {
    optional_text(field, v, MAX_NAME_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn free(desc: &str, q: i64, price: i64, taxable: bool) -> LineDraft {
        LineDraft {
            item_id: None,
            description: desc.into(),
            category: None,
            quantity: Quantity::from_thousandths(q),
            unit_price: Cents::new(price),
            taxable,
            discount: None,
            source: None,
        }
    }

    fn draft(lines: Vec<LineDraft>) -> Invoice {
        InvoiceDraft {
            client_id: ClientId::from_u128(1),
            patient_id: None,
            visit_id: None,
            location_id: None,
            lines,
            discount: None,
            memo: None,
        }
        .into_invoice(InvoiceId::from_u128(2), BasisPoints::new(825).unwrap(), Timestamp::UNIX_EPOCH, None)
        .unwrap()
    }

    #[test]
    fn a_line_takes_its_items_defaults_and_free_text_needs_a_price() {
        let item =
            ItemDefaults { name: "Exam".into(), category: "exams".into(), price: Cents::new(6500), taxable: false };
        let l: NewLine = serde_json::from_value(serde_json::json!({"item_id": CatalogueItemId::from_u128(3)})).unwrap();
        let d = l.validate(Some(&item), "lines.0").unwrap();
        assert_eq!((d.description.as_str(), d.unit_price, d.quantity), ("Exam", Cents::new(6500), Quantity::ONE));
        let free: NewLine = serde_json::from_value(serde_json::json!({"description": "Nail trim"})).unwrap();
        assert_eq!(free.validate(None, "lines.1").unwrap_err().field, "lines.1.unit_price");
        let neg: NewLine = serde_json::from_value(serde_json::json!({"description": "x", "unit_price": -1})).unwrap();
        assert_eq!(neg.validate(None, "lines.0").unwrap_err().field, "lines.0.unit_price");
        let zero: NewLine =
            serde_json::from_value(serde_json::json!({"description": "x", "unit_price": 1, "quantity": 0})).unwrap();
        assert_eq!(zero.validate(None, "lines.0").unwrap_err().field, "lines.0.quantity");
        assert_eq!(check_line_count(10_000, "lines", false).unwrap_err().field, "lines");
    }

    #[test]
    fn credit_notes_reduce_the_balance_and_never_below_zero() {
        let mut inv = draft(vec![free("Exam", 1000, 6500, false), free("Food", 2000, 1000, true)]);
        // 65.00 + 20.00 + 8.25 % of 20.00 (1.65) = 86.65
        assert_eq!(inv.totals.total, Cents::new(8665));
        inv.status = InvoiceStatus::Issued;
        inv.add_credit_note(
            CreditNoteId::from_u128(9),
            CreditNoteDraft {
                reason: "returned".into(),
                lines: vec![free("Food", 1000, 1000, true)],
                of_lines: Vec::new(),
            },
            jiff::civil::date(2026, 1, 1),
            Timestamp::UNIX_EPOCH,
            None,
        )
        .unwrap();
        assert_eq!(
            (inv.credited, inv.balance, inv.status),
            (Cents::new(1083), Cents::new(7582), InvoiceStatus::PartiallyPaid)
        );
        let e = inv
            .add_credit_note(
                CreditNoteId::from_u128(10),
                CreditNoteDraft {
                    reason: "x".into(),
                    lines: vec![free("All", 1000, 9000, false)],
                    of_lines: Vec::new(),
                },
                jiff::civil::date(2026, 1, 1),
                Timestamp::UNIX_EPOCH,
                None,
            )
            .unwrap_err();
        assert_eq!(e.field, "lines");
    }

    #[test]
    fn a_credit_of_invoice_lines_takes_their_discounts_and_adds_up_to_what_they_charged() {
        // The worked example: food 1.5 × 13.33 less 10 % (net 18.00), exam 65.00, 5.00 off.
        let mut food = free("Food", 1500, 1333, true);
        food.discount = Some(Discount::Percent { basis_points: BasisPoints::new(1000).unwrap() });
        let mut inv = draft(vec![food, free("Exam", 1000, 6500, false)]);
        inv.discount = Some(Discount::Amount { amount: Cents::new(500) });
        inv.recompute().unwrap();
        inv.status = InvoiceStatus::Issued;
        assert_eq!(inv.totals.total, Cents::new(7940));
        let credit = |line_no, q: Option<i64>| LineCredit {
            line_no,
            quantity: q.map(Quantity::from_thousandths),
            field: "lines.0".into(),
        };
        let note = |of_lines| CreditNoteDraft { reason: "r".into(), lines: Vec::new(), of_lines };
        let day = jiff::civil::date(2026, 1, 1);
        let at = Timestamp::UNIX_EPOCH;
        inv.add_credit_note(CreditNoteId::from_u128(1), note(vec![credit(1, Some(500))]), day, at, None).unwrap();
        // 16.92 (18.00 less its 1.08 share) × 0.5 ÷ 1.5 = 5.64; tax 0.47.
        assert_eq!(inv.credit_notes[0].totals.total, Cents::new(611));
        let e = inv
            .add_credit_note(CreditNoteId::from_u128(2), note(vec![credit(1, Some(1001))]), day, at, None)
            .unwrap_err();
        assert_eq!(e.field, "lines.0.quantity");
        let e =
            inv.add_credit_note(CreditNoteId::from_u128(2), note(vec![credit(3, None)]), day, at, None).unwrap_err();
        assert_eq!(e.field, "lines.0.line_no");
        inv.add_credit_note(CreditNoteId::from_u128(2), note(vec![credit(1, None), credit(2, None)]), day, at, None)
            .unwrap();
        assert_eq!((inv.credited, inv.balance, inv.status), (Cents::new(7940), Cents::ZERO, InvoiceStatus::Paid));
        let e =
            inv.add_credit_note(CreditNoteId::from_u128(3), note(vec![credit(2, None)]), day, at, None).unwrap_err();
        assert_eq!(e.field, "lines.0.line_no", "credited in full already");
    }

    fn cash(amount: i64) -> PaymentDraft {
        PaymentDraft {
            amount: Cents::new(amount),
            method: PaymentMethod::Cash,
            reference: None,
            processor: None,
            processor_payment_id: None,
        }
    }

    fn refund_of(payment_id: PaymentId, amount: i64, of: RefundOf) -> RefundDraft {
        RefundDraft {
            payment_id,
            amount: Cents::new(amount),
            method: None,
            of,
            reason: "r".into(),
            reference: None,
            processor: None,
            processor_refund_id: None,
        }
    }

    #[test]
    fn a_refund_reopens_a_paid_invoice_as_its_due_date_says() {
        let mut inv = draft(vec![free("Exam", 1000, 6500, false)]);
        inv.status = InvoiceStatus::Issued;
        inv.due_on = Some(jiff::civil::date(2026, 6, 1));
        let p = PaymentId::from_u128(5);
        inv.pay(p, cash(6500), Timestamp::UNIX_EPOCH, None).unwrap();
        assert_eq!(inv.status, InvoiceStatus::Paid);
        let (before_due, after_due) = (jiff::civil::date(2026, 6, 1), jiff::civil::date(2026, 6, 2));
        let mut early = inv.clone();
        early
            .refund(
                RefundId::from_u128(1),
                refund_of(p, 100, RefundOf::Invoice),
                None,
                before_due,
                Timestamp::UNIX_EPOCH,
                None,
            )
            .unwrap();
        assert_eq!(
            (early.paid, early.refunded, early.balance, early.status),
            (Cents::new(6400), Cents::new(100), Cents::new(100), InvoiceStatus::PartiallyPaid)
        );
        let mut all = inv.clone();
        all.refund(
            RefundId::from_u128(1),
            refund_of(p, 6500, RefundOf::Invoice),
            None,
            before_due,
            Timestamp::UNIX_EPOCH,
            None,
        )
        .unwrap();
        assert_eq!(all.status, InvoiceStatus::Issued, "fully refunded before its due date: issued again");
        let mut late = inv.clone();
        late.refund(
            RefundId::from_u128(1),
            refund_of(p, 6500, RefundOf::Invoice),
            None,
            after_due,
            Timestamp::UNIX_EPOCH,
            None,
        )
        .unwrap();
        assert_eq!(late.status, InvoiceStatus::Overdue, "after its due date: overdue");
        // Never more than was paid, and nothing of a payment that kept no credit.
        let e = inv
            .refund(
                RefundId::from_u128(2),
                refund_of(p, 6501, RefundOf::Invoice),
                None,
                before_due,
                Timestamp::UNIX_EPOCH,
                None,
            )
            .unwrap_err();
        assert_eq!(e.field, "amount");
        let e = inv
            .refund(
                RefundId::from_u128(2),
                refund_of(p, 1, RefundOf::Credit),
                Some(Cents::new(100)),
                before_due,
                Timestamp::UNIX_EPOCH,
                None,
            )
            .unwrap_err();
        assert_eq!(e.field, "amount");
    }

    #[test]
    fn the_excess_of_a_payment_is_credit_only_when_the_clinic_allows_it() {
        let mut inv = draft(vec![free("Exam", 1000, 6500, false)]);
        inv.status = InvoiceStatus::Issued;
        assert_eq!(
            inv.pay(PaymentId::from_u128(1), cash(7000), Timestamp::UNIX_EPOCH, None).unwrap_err().field,
            "amount"
        );
        inv.pay_keeping_credit(PaymentId::from_u128(1), cash(7000), true, Timestamp::UNIX_EPOCH, None).unwrap();
        assert_eq!((inv.paid, inv.balance, inv.status), (Cents::new(6500), Cents::ZERO, InvoiceStatus::Paid));
        let entries: Vec<_> = inv.credit_entries().map(|e| (e.kind, e.amount)).collect();
        assert_eq!(entries, [(CreditEntryKind::Overpayment, Cents::new(500))]);
        // Credit applied is capped by the credit and by the balance.
        let mut other = draft(vec![free("Exam", 1000, 300, false)]);
        other.status = InvoiceStatus::Issued;
        let at = Timestamp::UNIX_EPOCH;
        assert_eq!(
            other.apply_credit(PaymentId::from_u128(2), Cents::new(400), Cents::new(500), at, None).unwrap_err().field,
            "amount"
        );
        assert_eq!(
            other.apply_credit(PaymentId::from_u128(2), Cents::new(200), Cents::new(100), at, None).unwrap_err().field,
            "amount"
        );
        other.apply_credit(PaymentId::from_u128(2), Cents::new(300), Cents::new(500), at, None).unwrap();
        assert_eq!(other.credit_entries().map(|e| e.amount).collect::<Vec<_>>(), [Cents::new(-300)]);
    }

    proptest! {
        #[test]
        fn the_balance_always_explains_every_cent(
            lines in proptest::collection::vec((1i64..=100_000, 0i64..=100_000, any::<bool>()), 1..30),
            credits in proptest::collection::vec((1i64..=10_000, 0i64..=100_000, any::<bool>()), 0..5),
            payments in proptest::collection::vec(1i64..=2_000_000, 0..8),
        ) {
            let mut inv = draft(lines.iter().map(|&(q, p, t)| free("x", q, p, t)).collect());
            inv.status = InvoiceStatus::Issued;
            inv.settle_status();
            // Credit notes and payments interleaved; each refused one changes nothing.
            let steps = credits.len().max(payments.len());
            for i in 0..steps {
                if let Some(&(q, p, t)) = credits.get(i) {
                    let before = inv.clone();
                    let note = CreditNoteDraft { reason: "r".into(), lines: vec![free("c", q, p, t)], of_lines: Vec::new() };
                    if inv.add_credit_note(CreditNoteId::from_u128(i as u128), note, jiff::civil::date(2026, 1, 1), Timestamp::UNIX_EPOCH, None).is_err() {
                        inv = before;
                    }
                }
                if let Some(&amount) = payments.get(i) {
                    let pay = PaymentDraft { amount: Cents::new(amount), method: crate::payments::PaymentMethod::Cash, reference: None, processor: None, processor_payment_id: None };
                    let over = Cents::new(amount) > inv.balance;
                    let before = inv.clone();
                    prop_assert_eq!(inv.pay(PaymentId::from_u128(i as u128), pay, Timestamp::UNIX_EPOCH, None).is_err(), over);
                    if over {
                        inv = before;
                    }
                }
                prop_assert_eq!(inv.credited.get() + inv.paid.get() + inv.balance.get(), inv.totals.total.get());
                prop_assert!(!inv.balance.is_negative());
                prop_assert_eq!(inv.status == InvoiceStatus::Paid, inv.balance == Cents::ZERO);
            }
            let t = inv.totals;
            prop_assert_eq!(t.subtotal.get() - t.discount.get() + t.tax.get(), t.total.get());
        }
    }
}
