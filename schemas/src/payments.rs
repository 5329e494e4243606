//! Payments against an invoice: the amount in cents (more than 0, never above the balance),
//! the method, the clinic's reference, and a card processor's ids (`processor`,
//! `processor_payment_id`) so a processor's webhook can record or find a payment later without
//! a change of shape. A processor's payment id is recorded once (a unique claim), so a
//! webhook delivered twice pays once. Payments are kept in their invoice and never deleted.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::errors::ValidationError;
use crate::ids::{ClientId, InvoiceId, PaymentId, RefundId, UserId};
use crate::money::Cents;
use crate::values::{MAX_NAME_CHARS, optional_text};

/// How a payment was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Cash,
    CardPresent,
    CardOnline,
    Check,
    BankTransfer,
    Other,
    /// The client's credit on account applied to an invoice (`POST …/apply-credit`); never
    /// typed as the method of a new payment.
    AccountCredit,
}

/// A payment, as stored in its invoice and returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Payment {
    pub id: PaymentId,
    /// Cents, more than 0.
    pub amount: Cents,
    pub method: PaymentMethod,
    /// The clinic's reference (a check number, the terminal's slip number).
    pub reference: Option<String>,
    /// The card processor (`stripe`), with its id of the payment; both or neither.
    pub processor: Option<String>,
    pub processor_payment_id: Option<String>,
    pub received_at: Timestamp,
    pub created_by: Option<UserId>,
    /// The part of `amount` above the invoice's balance, kept as the client's credit on
    /// account (only when the clinic allows it; 0 otherwise). The invoice counts
    /// `amount − to_credit` as paid.
    #[serde(default)]
    pub to_credit: Cents,
}

impl Payment {
    /// The unique value a processor's payment id is claimed under: `processor/id`.
    pub fn processor_key(&self) -> Option<String> {
        match (&self.processor, &self.processor_payment_id) {
            (Some(p), Some(id)) => Some(format!("{p}/{id}")),
            _ => None,
        }
    }

    /// What this payment paid on its invoice (its amount less what went to credit).
    pub fn applied(&self) -> Cents {
        Cents::new(self.amount.get().saturating_sub(self.to_credit.get()))
    }
}

/// Body of `POST /api/invoices/{id}/payments`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePayment {
    /// Cents, more than 0 and at most the invoice's balance.
    pub amount: Cents,
    pub method: PaymentMethod,
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub processor: Option<String>,
    #[serde(default)]
    pub processor_payment_id: Option<String>,
}

/// A payment's validated content (the service gives it its id and time).
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentDraft {
    pub amount: Cents,
    pub method: PaymentMethod,
    pub reference: Option<String>,
    pub processor: Option<String>,
    pub processor_payment_id: Option<String>,
}

impl CreatePayment {
    pub fn validate(&self) -> Result<PaymentDraft, ValidationError> {
        let d = PaymentDraft {
            amount: self.amount.typed("amount", true)?,
            method: self.method,
            reference: optional_text("reference", self.reference.as_deref(), MAX_NAME_CHARS)?,
            processor: optional_text("processor", self.processor.as_deref(), 40)?.map(|p| p.to_lowercase()),
            processor_payment_id: optional_text("processor_payment_id", self.processor_payment_id.as_deref(), 200)?,
        };
        // The claim key is `processor/id`: a processor name is one word, so two different
        // payments can never make the same key.
        if let Some(p) = &d.processor
            && !p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(ValidationError::new("processor", "is a name of letters, digits, '-' and '_' (e.g. stripe)"));
        }
        if d.processor.is_some() != d.processor_payment_id.is_some() {
            return Err(ValidationError::new("processor_payment_id", "is given together with processor, or neither"));
        }
        if d.method == PaymentMethod::AccountCredit {
            return Err(ValidationError::new(
                "method",
                "account_credit is applied with POST /api/invoices/{id}/apply-credit, not taken as a payment",
            ));
        }
        Ok(d)
    }
}

impl PaymentDraft {
    pub fn into_payment(self, id: PaymentId, now: Timestamp, by: Option<UserId>) -> Payment {
        Payment {
            id,
            amount: self.amount,
            method: self.method,
            reference: self.reference,
            processor: self.processor,
            processor_payment_id: self.processor_payment_id,
            received_at: now,
            created_by: by,
            to_credit: Cents::ZERO,
        }
    }
}

/// Which part of a payment a refund gives back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundOf {
    /// What the payment paid on its invoice: the invoice's `paid` falls and its balance rises.
    #[default]
    Invoice,
    /// The part of the payment kept as the client's credit on account: the client's credit
    /// falls; the invoice's amounts do not move.
    Credit,
}

/// A refund of (part of) a payment: its own record, kept in the payment's invoice beside the
/// payment, never deleted. Not numbered: the tax document of a return is a credit note; a
/// refund gives money back and is named by its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Refund {
    pub id: RefundId,
    /// The payment refunded.
    pub payment_id: PaymentId,
    /// Cents, more than 0; with the payment's earlier refunds never more than it paid.
    pub amount: Cents,
    /// How the money went back (by default the payment's method; an `account_credit` payment
    /// is refunded to the client's credit).
    pub method: PaymentMethod,
    #[serde(default)]
    pub of: RefundOf,
    pub reason: String,
    pub reference: Option<String>,
    /// The card processor and its id of the refund (Stripe's `re_…`); both or neither,
    /// recorded once across all refunds.
    pub processor: Option<String>,
    pub processor_refund_id: Option<String>,
    pub refunded_at: Timestamp,
    pub created_by: Option<UserId>,
}

impl Refund {
    /// The unique value a processor's refund id is claimed under: `processor/id`.
    pub fn processor_key(&self) -> Option<String> {
        match (&self.processor, &self.processor_refund_id) {
            (Some(p), Some(id)) => Some(format!("{p}/{id}")),
            _ => None,
        }
    }
}

/// Body of `POST /api/payments/{id}/refunds`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRefund {
    /// Cents, more than 0 and at most what is left of the payment after earlier refunds.
    pub amount: Cents,
    /// Default: the payment's method.
    #[serde(default)]
    pub method: Option<PaymentMethod>,
    /// `invoice` (default) or `credit` (the part of an overpayment kept as credit).
    #[serde(default)]
    pub of: RefundOf,
    pub reason: String,
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub processor: Option<String>,
    #[serde(default)]
    pub processor_refund_id: Option<String>,
}

/// A refund's validated content (the service gives it its id, payment and time).
#[derive(Debug, Clone, PartialEq)]
pub struct RefundDraft {
    /// The payment refunded (from the path).
    pub payment_id: PaymentId,
    pub amount: Cents,
    pub method: Option<PaymentMethod>,
    pub of: RefundOf,
    pub reason: String,
    pub reference: Option<String>,
    pub processor: Option<String>,
    pub processor_refund_id: Option<String>,
}

impl CreateRefund {
    pub fn validate(&self, payment_id: PaymentId) -> Result<RefundDraft, ValidationError> {
        let d = RefundDraft {
            payment_id,
            amount: self.amount.typed("amount", true)?,
            method: self.method,
            of: self.of,
            reason: crate::values::required_text("reason", &self.reason, 300)?,
            reference: optional_text("reference", self.reference.as_deref(), MAX_NAME_CHARS)?,
            processor: optional_text("processor", self.processor.as_deref(), 40)?.map(|p| p.to_lowercase()),
            processor_refund_id: optional_text("processor_refund_id", self.processor_refund_id.as_deref(), 200)?,
        };
        if let Some(p) = &d.processor
            && !p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(ValidationError::new("processor", "is a name of letters, digits, '-' and '_' (e.g. stripe)"));
        }
        if d.processor.is_some() != d.processor_refund_id.is_some() {
            return Err(ValidationError::new("processor_refund_id", "is given together with processor, or neither"));
        }
        Ok(d)
    }
}

impl RefundDraft {
    /// The refund of `payment` (its method by default).
    pub fn into_refund(self, id: RefundId, payment: &Payment, now: Timestamp, by: Option<UserId>) -> Refund {
        Refund {
            id,
            payment_id: payment.id,
            amount: self.amount,
            method: self.method.unwrap_or(payment.method),
            of: self.of,
            reason: self.reason,
            reference: self.reference,
            processor: self.processor,
            processor_refund_id: self.processor_refund_id,
            refunded_at: now,
            created_by: by,
        }
    }
}

/// Body of `POST /api/invoices/{id}/apply-credit`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyCredit {
    /// Cents, more than 0; default the lesser of the client's credit and the balance.
    #[serde(default)]
    pub amount: Option<Cents>,
}

/// One movement of a client's credit on account, derived from the invoices (never typed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreditEntry {
    /// `overpayment` (+), `applied` (−, to an invoice), `refunded` (−, money given back),
    /// `restored` (+, a refund of applied credit).
    pub kind: CreditEntryKind,
    /// Signed cents: what this entry adds to the credit.
    pub amount: Cents,
    pub invoice_id: InvoiceId,
    pub invoice_number: Option<String>,
    pub payment_id: PaymentId,
    pub refund_id: Option<RefundId>,
    pub at: Timestamp,
}

/// What moved a client's credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CreditEntryKind {
    Overpayment,
    Applied,
    Refunded,
    Restored,
}

/// A client's credit on account: its entries, oldest first, and their sum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreditLedger {
    pub client_id: ClientId,
    /// The sum of the entries: what the client may have applied or refunded.
    pub credit: Cents,
    pub entries: Vec<CreditEntry>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: serde_json::Value) -> Result<PaymentDraft, ValidationError> {
        serde_json::from_value::<CreatePayment>(json).unwrap().validate()
    }

    #[test]
    fn a_payment_is_more_than_zero_and_names_its_processor_with_its_id() {
        assert_eq!(body(serde_json::json!({"amount": 0, "method": "cash"})).unwrap_err().field, "amount");
        assert_eq!(body(serde_json::json!({"amount": -5, "method": "cash"})).unwrap_err().field, "amount");
        assert_eq!(
            body(serde_json::json!({"amount": 5, "method": "card_online", "processor": "stripe"})).unwrap_err().field,
            "processor_payment_id"
        );
        let ok = body(serde_json::json!({"amount": 5, "method": "card_online", "processor": "Stripe", "processor_payment_id": "pi_1"}))
            .unwrap();
        assert_eq!(ok.processor.as_deref(), Some("stripe"));
        assert!(serde_json::from_value::<CreatePayment>(serde_json::json!({"amount": 5, "method": "barter"})).is_err());
    }
}
