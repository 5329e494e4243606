//! Payments beyond taking one: refunds of a payment (found through the `payment_invoice`
//! claim its invoice holds), a client's credit on account (derived from their invoices'
//! overpayments, applied credit and refunds, never stored) and applying it to an invoice.
//!
//! Credit is spent by commands of different invoices' actors, so what a client has is
//! summed and spent under one lock per client (striped). The invoice's actor takes it
//! (`InvoiceKind::locks`), not the caller: the sum is read inside the decision from a snapshot
//! taken after the lock is held, and the command commits before the lock is released, so an
//! ask that timed out while its command waited in the mailbox cannot spend credit another
//! invoice already spent. Adding credit (an overpayment, a refund of applied credit) needs no
//! lock.

use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::clients::Client;
use clowder_schemas::ids::{ClientId, InvoiceId, PaymentId, RefundId};
use clowder_schemas::invoices::Invoice;
use clowder_schemas::money::Cents;
use clowder_schemas::payments::{CreditEntry, CreditLedger, Payment, RefundDraft, RefundOf};
use std::sync::Arc;

use tokio::sync::Mutex;

use super::invoices::{InvoiceCommand, Invoices};
use crate::error::{Error, Result};
use crate::store::tables::unique;
use crate::store::{IndexTable, Reader, RecordTable};

/// Stripes of the per-client credit lock: enough that two clients rarely wait on each other.
const STRIPES: usize = 64;

/// One lock per stripe of clients (a client's stripe is its id modulo 64).
pub struct CreditLocks(Arc<Vec<Arc<Mutex<()>>>>);

impl Default for CreditLocks {
    fn default() -> Self {
        CreditLocks(Arc::new((0..STRIPES).map(|_| Arc::new(Mutex::new(()))).collect()))
    }
}

impl Clone for CreditLocks {
    fn clone(&self) -> Self {
        CreditLocks(self.0.clone())
    }
}

impl CreditLocks {
    /// The client's stripe, for the command that spends its credit to carry to the actor.
    pub fn stripe(&self, client: ClientId) -> Arc<Mutex<()>> {
        self.0[(client.as_u128() % STRIPES as u128) as usize].clone()
    }
}

/// What one invoice adds to (or takes from) its client's credit on account.
pub fn credit_of(inv: &Invoice) -> Result<Cents> {
    Cents::sum(inv.credit_entries().map(|e| e.amount)).map_err(|e| Error::Internal(format!("credit sum: {e}")))
}

/// A client's credit on account from one snapshot, with its entries oldest first.
pub(super) fn ledger(reader: &Reader, client: ClientId) -> Result<CreditLedger> {
    let mut entries: Vec<CreditEntry> = Vec::new();
    for key in reader.children(IndexTable::InvoicesByClient, client.as_u128(), None)? {
        let Some(inv) = reader.get::<Invoice>(RecordTable::Invoices, key)? else { continue };
        entries.extend(inv.credit_entries());
    }
    entries.sort_by_key(|e| e.at);
    let credit =
        Cents::sum(entries.iter().map(|e| e.amount)).map_err(|e| Error::Internal(format!("credit sum: {e}")))?;
    Ok(CreditLedger { client_id: client, credit, entries })
}

impl Invoices {
    /// The invoice holding a payment, with the payment (404 `payment_not_found`).
    pub fn payment(&self, id: PaymentId) -> Result<(Invoice, Payment)> {
        let reader = self.ctx().store.read()?;
        let owner = reader.unique_owner(unique::PAYMENT_INVOICE, &id.to_string())?.ok_or(Error::PaymentNotFound(id))?;
        let inv = reader.get::<Invoice>(RecordTable::Invoices, owner)?.ok_or(Error::PaymentNotFound(id))?;
        let payment = inv.payments.iter().find(|p| p.id == id).cloned().ok_or(Error::PaymentNotFound(id))?;
        Ok((inv, payment))
    }

    /// Refunds (part of) a payment; answers its invoice with the refund last in `refunds`.
    /// A refund of credit is decided by the invoice's actor under the client's credit lock.
    pub async fn refund(&self, draft: RefundDraft, caller: &Caller) -> Result<Invoice> {
        let (inv, _) = self.payment(draft.payment_id)?;
        let id = RefundId::from_ulid(self.ctx().new_ulid());
        let credit_lock = (draft.of == RefundOf::Credit).then(|| self.credit_locks().stripe(inv.client_id));
        self.records().command(inv.id, InvoiceCommand::Refund { id, draft, credit_lock }, caller).await
    }

    /// Applies the client's credit on account to an invoice: `amount`, or by default as much
    /// as both the credit and the balance allow (worked out by the actor under the lock).
    pub async fn apply_credit(&self, id: InvoiceId, amount: Option<Cents>, caller: &Caller) -> Result<Invoice> {
        let client = {
            let reader = self.ctx().store.read()?;
            reader.get::<Invoice>(RecordTable::Invoices, id.as_u128())?.ok_or(Error::InvoiceNotFound(id))?.client_id
        };
        let lock = self.credit_locks().stripe(client);
        let payment = PaymentId::from_ulid(self.ctx().new_ulid());
        let with = self.plan_settle(id, &payment.to_string(), caller)?;
        let command = InvoiceCommand::ApplyCredit { id: payment, amount, lock };
        self.paid_in(self.records().command_with(id, command, with, caller).await)
    }

    /// A client's credit on account and its entries (audited as `client.credit`).
    pub async fn credit_ledger(&self, client: ClientId, caller: &Caller) -> Result<CreditLedger> {
        let reader = self.ctx().store.read()?;
        if reader.get::<Client>(RecordTable::Clients, client.as_u128())?.is_none() {
            return Err(Error::ClientNotFound(client));
        }
        let out = ledger(&reader, client)?;
        drop(reader);
        crate::audit::record_read(self.ctx(), AuditDraft::new(caller, "client.credit").record("client", client))
            .await?;
        Ok(out)
    }
}
