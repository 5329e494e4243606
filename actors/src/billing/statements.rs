//! Statements of account per client: the figures (`clowder_schemas::statements::statement`
//! over the client's invoices, read through `invoices_by_client` from one snapshot), the same
//! figures as a PDF on the clinic's letterhead, and the statement as an email attachment
//! (rendered when the outbox sends it, from its reference `statement:<client>:<from>:<to>`).
//! Reads are audited as reads of the client's financial record (`client.statement`,
//! `client.statement_pdf`). The bulk statement run is `runs`. docs/statements.md.

use std::sync::Arc;

use clowder_documents::{Block, Column, Document, Row, Table};
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::clients::Client;
use clowder_schemas::ids::ClientId;
use clowder_schemas::invoices::Invoice;
use clowder_schemas::statements::{Statement, statement};
use jiff::civil::Date;

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::printing;
use crate::store::{IndexTable, Reader, RecordTable};

/// Statements' service.
#[derive(Clone)]
pub struct Statements {
    ctx: Arc<Ctx>,
}

/// The client and their statement from one snapshot (404 `client_not_found`).
pub(crate) fn read(reader: &Reader, ctx: &Ctx, client: ClientId, from: Date, to: Date) -> Result<(Client, Statement)> {
    let c = reader.get::<Client>(RecordTable::Clients, client.as_u128())?.ok_or(Error::ClientNotFound(client))?;
    let mut invoices = Vec::new();
    for key in reader.children(IndexTable::InvoicesByClient, client.as_u128(), None)? {
        if let Some(inv) = reader.get::<Invoice>(RecordTable::Invoices, key)? {
            invoices.push(inv);
        }
    }
    let s = statement(client, c.display_name(), &invoices, from, to, &ctx.config.time_zone);
    Ok((c, s))
}

/// The statement's document.
pub(crate) fn document(ctx: &Ctx, s: &Statement, by: &str) -> Result<Document> {
    let now = ctx.clock.now();
    let mut doc = Document::new(printing::letterhead(ctx)?, "Statement of account", printing::generated(ctx, now, by))
        .paper(printing::paper(ctx));
    doc.push(Block::Fields(vec![
        ("Client".to_owned(), s.client_name.clone()),
        ("Period".to_owned(), format!("{} to {}", s.from, s.to)),
        ("Opening balance".to_owned(), s.opening_balance.to_string()),
        ("Charges".to_owned(), s.charges.to_string()),
        ("Payments and credits".to_owned(), s.payments_and_credits.to_string()),
        ("Closing balance".to_owned(), s.closing_balance.to_string()),
    ]));
    doc.push(Block::Heading("Activity".into()));
    let mut rows = vec![Row::new([
        s.from.to_string(),
        "Opening balance".to_owned(),
        String::new(),
        String::new(),
        s.opening_balance.to_string(),
    ])];
    for e in &s.entries {
        let (charge, credit) = if e.amount.is_positive() {
            (e.amount.to_string(), String::new())
        } else if e.amount.get() < 0 {
            (String::new(), clowder_schemas::money::Cents::new(-e.amount.get()).to_string())
        } else {
            (String::new(), String::new())
        };
        rows.push(Row::new([e.date.to_string(), e.description.clone(), charge, credit, e.balance.to_string()]));
    }
    rows.push(Row::total([
        s.to.to_string(),
        "Closing balance".to_owned(),
        s.charges.to_string(),
        s.payments_and_credits.to_string(),
        s.closing_balance.to_string(),
    ]));
    doc.push(Block::Table(Table {
        columns: vec![
            Column::new("Date", 1.6),
            Column::new("Description", 5.0),
            Column::right("Charges", 1.6),
            Column::right("Paid / credited", 1.8),
            Column::right("Balance", 1.6),
        ],
        rows,
    }));
    doc.push(Block::Heading(format!("Amounts due as of {}", s.to)));
    let a = &s.ageing;
    doc.push(Block::Table(Table {
        columns: vec![
            Column::right("Current", 1.0),
            Column::right("1-30 days", 1.0),
            Column::right("31-60 days", 1.0),
            Column::right("61-90 days", 1.0),
            Column::right("Over 90 days", 1.0),
            Column::right("Total due", 1.0),
        ],
        rows: vec![Row::new([
            a.current.to_string(),
            a.days_1_30.to_string(),
            a.days_31_60.to_string(),
            a.days_61_90.to_string(),
            a.days_over_90.to_string(),
            a.total.to_string(),
        ])],
    }));
    if s.closing_credit.is_positive() || s.opening_credit.is_positive() {
        doc.push(Block::Paragraph(format!(
            "Credit on account: {} (not deducted from the balance; ask us to apply it).",
            s.closing_credit
        )));
    }
    Ok(doc)
}

impl Statements {
    pub(crate) fn new(ctx: Arc<Ctx>) -> Self {
        Statements { ctx }
    }

    /// A client's statement over `from..=to`, audited as `client.statement`.
    pub async fn get(&self, client: ClientId, from: Date, to: Date, caller: &Caller) -> Result<Statement> {
        let (_, s) = read(&self.ctx.store.read()?, &self.ctx, client, from, to)?;
        crate::audit::record_read(
            &self.ctx,
            AuditDraft::new(caller, "client.statement")
                .record("client", client)
                .detail(serde_json::json!({ "from": from, "to": to })),
        )
        .await?;
        Ok(s)
    }

    /// The statement as PDF bytes, with its file name, audited as `client.statement_pdf`.
    pub async fn pdf(&self, client: ClientId, from: Date, to: Date, caller: &Caller) -> Result<(String, Vec<u8>)> {
        let (_, s) = read(&self.ctx.store.read()?, &self.ctx, client, from, to)?;
        let by = caller.username.clone().unwrap_or_else(|| "Clowder".into());
        let pdf = printing::render(document(&self.ctx, &s, &by)?).await?;
        crate::audit::record_now(
            &self.ctx,
            AuditDraft::new(caller, "client.statement_pdf").record("client", client).detail(serde_json::json!({
                "from": from, "to": to, "bytes": pdf.len(),
            })),
        )
        .await?;
        Ok((file_name(client, from, to), pdf))
    }

    /// The PDF alone, without an audit entry of its own: for the outbox, whose queueing of
    /// the email was audited (`message.queue`) and whose sending is (`message.sent`).
    pub async fn render_for_email(&self, client: ClientId, from: Date, to: Date) -> Result<(String, Vec<u8>)> {
        let (_, s) = read(&self.ctx.store.read()?, &self.ctx, client, from, to)?;
        let pdf = printing::render(document(&self.ctx, &s, "Clowder")?).await?;
        Ok((file_name(client, from, to), pdf))
    }
}

/// `statement-<from>-<to>.pdf`: the client's name is not in it (file names travel further
/// than their content).
fn file_name(_client: ClientId, from: Date, to: Date) -> String {
    format!("statement-{from}-{to}.pdf")
}
