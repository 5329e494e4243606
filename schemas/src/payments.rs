//! Payments against an invoice: the amount in cents (more than 0, never above the balance),
//! the method, the clinic's reference, and a card processor's ids (`processor`,
//! `processor_payment_id`) so a processor's webhook can record or find a payment later without
//! a change of shape. A processor's payment id is recorded once (a unique claim), so a
//! webhook delivered twice pays once. Payments are kept in their invoice and never deleted.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::errors::ValidationError;
use crate::ids::{PaymentId, UserId};
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
}

impl Payment {
    /// The unique value a processor's payment id is claimed under: `processor/id`.
    pub fn processor_key(&self) -> Option<String> {
        match (&self.processor, &self.processor_payment_id) {
            (Some(p), Some(id)) => Some(format!("{p}/{id}")),
            _ => None,
        }
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
        }
    }
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
