//! A payment's receipt as a printable document: the clinic's letterhead, who paid, the
//! invoice's number and lines, the payment (date in the clinic's zone, method, reference,
//! amount, the part kept as credit) and the balance after it. Read from one snapshot, rendered
//! by `printing`, audited as `payment.receipt_pdf` before the bytes leave.

use clowder_documents::{Block, Column, Document, Row, Table};
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::clients::Client;
use clowder_schemas::ids::PaymentId;
use clowder_schemas::invoices::Invoice;
use clowder_schemas::money::Cents;
use clowder_schemas::payments::{Payment, PaymentMethod, RefundOf};

use super::invoices::Invoices;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::printing;
use crate::store::RecordTable;

/// How a method reads on paper.
pub fn method_name(m: PaymentMethod) -> &'static str {
    match m {
        PaymentMethod::Cash => "Cash",
        PaymentMethod::CardPresent => "Card",
        PaymentMethod::CardOnline => "Card (online)",
        PaymentMethod::Check => "Check",
        PaymentMethod::BankTransfer => "Bank transfer",
        PaymentMethod::Other => "Other",
        PaymentMethod::AccountCredit => "Credit on account",
    }
}

/// What the invoice still asked just after `payment` was taken: its total less the credit
/// notes, payments and refunds of invoice amounts made up to that moment.
pub fn balance_after(inv: &Invoice, payment: &Payment) -> Cents {
    let at = payment.received_at;
    let credited: i64 = inv.credit_notes.iter().filter(|c| c.created_at <= at).map(|c| c.totals.total.get()).sum();
    let paid: i64 = inv
        .payments
        .iter()
        .take_while(|p| p.id != payment.id)
        .chain(std::iter::once(payment))
        .map(|p| p.applied().get())
        .sum();
    let refunded: i64 =
        inv.refunds.iter().filter(|r| r.refunded_at <= at && r.of == RefundOf::Invoice).map(|r| r.amount.get()).sum();
    Cents::new(inv.totals.total.get() - credited - paid + refunded)
}

/// The receipt's document.
fn document(ctx: &Ctx, inv: &Invoice, p: &Payment, client: &str, caller: &Caller) -> Result<Document> {
    let now = ctx.clock.now();
    let tz = ctx.config.time_zone.clone();
    let by = caller.username.clone().unwrap_or_else(|| "Clowder".into());
    let mut doc = Document::new(printing::letterhead(ctx)?, "Receipt", printing::generated(ctx, now, &by))
        .paper(printing::paper(ctx));
    let number = inv.number.clone().unwrap_or_else(|| "(not issued)".into());
    let mut fields = vec![
        ("Received from".to_owned(), client.to_owned()),
        ("Invoice".to_owned(), number),
        ("Date".to_owned(), p.received_at.to_zoned(tz).strftime("%Y-%m-%d %H:%M").to_string()),
        ("Method".to_owned(), method_name(p.method).to_owned()),
    ];
    if let Some(r) = &p.reference {
        fields.push(("Reference".into(), r.clone()));
    }
    fields.push(("Amount received".into(), p.amount.to_string()));
    if p.to_credit.is_positive() {
        fields.push(("Kept as credit on account".into(), p.to_credit.to_string()));
    }
    fields.push(("Balance after this payment".into(), balance_after(inv, p).to_string()));
    fields.push(("Payment".into(), p.id.to_string()));
    doc.push(Block::Fields(fields));
    doc.push(Block::Heading("Lines paid".into()));
    let mut rows: Vec<Row> = inv
        .lines
        .iter()
        .map(|l| {
            Row::new([
                l.description.clone(),
                l.quantity.to_string(),
                l.unit_price.to_string(),
                l.amounts.net.to_string(),
            ])
        })
        .collect();
    let t = &inv.totals;
    rows.push(Row::total(["Subtotal".to_owned(), String::new(), String::new(), t.subtotal.to_string()]));
    if t.discount.is_positive() {
        rows.push(Row::new(["Discount".to_owned(), String::new(), String::new(), format!("-{}", t.discount)]));
    }
    rows.push(Row::new(["Tax".to_owned(), String::new(), String::new(), t.tax.to_string()]));
    rows.push(Row::total(["Total".to_owned(), String::new(), String::new(), t.total.to_string()]));
    doc.push(Block::Table(Table {
        columns: vec![
            Column::new("Description", 5.0),
            Column::right("Quantity", 1.5),
            Column::right("Unit price", 2.0),
            Column::right("Amount", 2.0),
        ],
        rows,
    }));
    Ok(doc)
}

/// A receipt to send by email: to whom, and its subject and plain text (the PDF's content).
#[derive(Debug, Clone)]
pub struct ReceiptEmail {
    pub client_id: clowder_schemas::ids::ClientId,
    /// The client's email, if they have one.
    pub to: Option<clowder_schemas::values::Email>,
    pub subject: String,
    pub text: String,
}

/// The receipt as plain text, line by line as the PDF shows it.
fn text(inv: &Invoice, p: &Payment, client: &str, clinic: &str, tz: jiff::tz::TimeZone) -> String {
    let number = inv.number.as_deref().unwrap_or("(not issued)");
    let mut t = format!("Dear {client},\n\nThank you for your payment to {clinic}.\n\n");
    t.push_str(&format!("Invoice: {number}\n"));
    t.push_str(&format!("Date: {}\n", p.received_at.to_zoned(tz).strftime("%Y-%m-%d %H:%M")));
    t.push_str(&format!("Method: {}\n", method_name(p.method)));
    if let Some(r) = &p.reference {
        t.push_str(&format!("Reference: {r}\n"));
    }
    t.push_str(&format!("Amount received: {}\n", p.amount));
    if p.to_credit.is_positive() {
        t.push_str(&format!("Kept as credit on account: {}\n", p.to_credit));
    }
    t.push_str(&format!("Balance after this payment: {}\n\nLines:\n", balance_after(inv, p)));
    for l in &inv.lines {
        t.push_str(&format!("  {} x {} @ {}: {}\n", l.description, l.quantity, l.unit_price, l.amounts.net));
    }
    let tot = &inv.totals;
    t.push_str(&format!(
        "Subtotal {}, discount {}, tax {}, total {}\n",
        tot.subtotal, tot.discount, tot.tax, tot.total
    ));
    t
}

impl Invoices {
    /// A payment's receipt as an email to its client (not sent here: the caller queues it
    /// through the comms outbox, which checks the client's consent at send time and audits
    /// the queueing as `message.queue`).
    pub fn receipt_email(&self, payment: PaymentId) -> Result<ReceiptEmail> {
        let (inv, p) = self.payment(payment)?;
        let reader = self.ctx().store.read()?;
        let client = reader
            .get::<Client>(RecordTable::Clients, inv.client_id.as_u128())?
            .ok_or(Error::ClientNotFound(inv.client_id))?;
        let clinic = printing::letterhead(self.ctx())?.name;
        let subject = format!("Receipt for invoice {}", inv.number.as_deref().unwrap_or("(not issued)"));
        let body = text(&inv, &p, &client.display_name(), &clinic, self.ctx().config.time_zone.clone());
        Ok(ReceiptEmail { client_id: inv.client_id, to: client.email.clone(), subject, text: body })
    }

    /// A payment's receipt as PDF bytes, with the file name it is offered under; audited as
    /// `payment.receipt_pdf` before it is returned.
    pub async fn receipt_pdf(&self, payment: PaymentId, caller: &Caller) -> Result<(String, Vec<u8>)> {
        let (inv, name, pdf) = self.render_receipt(payment, caller).await?;
        crate::audit::record_now(
            self.ctx(),
            AuditDraft::new(caller, "payment.receipt_pdf").record("invoice", inv.id).detail(serde_json::json!({
                "payment_id": payment, "bytes": pdf.len(),
            })),
        )
        .await?;
        Ok((name, pdf))
    }

    /// The receipt's invoice, file name and PDF bytes, not audited: for the receipt's email
    /// attachment, rendered by the outbox when it sends (the queueing and the sending are
    /// audited as `message.queue` and `message.sent`).
    pub async fn render_receipt(&self, payment: PaymentId, caller: &Caller) -> Result<(Invoice, String, Vec<u8>)> {
        let (inv, p) = self.payment(payment)?;
        let client = {
            let reader = self.ctx().store.read()?;
            reader
                .get::<Client>(RecordTable::Clients, inv.client_id.as_u128())?
                .ok_or(Error::ClientNotFound(inv.client_id))?
                .display_name()
        };
        let doc = document(self.ctx(), &inv, &p, &client, caller)?;
        let pdf = printing::render(doc).await?;
        let name = format!("receipt-{}-{}.pdf", inv.number.as_deref().unwrap_or("invoice"), payment);
        Ok((inv, name, pdf))
    }
}
