//! Automations: the rules that message clients on their own (appointment reminders, follow-ups,
//! birthdays, …). This module owns the stored settings of a rule ([`AutomationRule`]), what
//! `GET /api/automations` answers ([`AutomationView`]), the patch body and the dry-run
//! preview's rows. The rules themselves live in `clowder_actors::comms::automations`.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{ClientId, PatientId, UserId};
use crate::messages::{Channel, Purpose};
use crate::records::Record;

/// The stored settings of one rule (table `automations`, key [`rule_key`] of its kind). A rule
/// without a row runs with its defaults; a row holds only what staff changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AutomationRule {
    /// The rule's kind name (`appointment_reminder`, `birthday`, …).
    pub kind: String,
    pub enabled: bool,
    /// Parameters staff set, by name (the rule declares each with its default).
    #[schema(value_type = Object)]
    pub params: BTreeMap<String, serde_json::Value>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub updated_at: Option<Timestamp>,
    pub updated_by: Option<UserId>,
    /// The last sweep (or job) of the rule that ran, and how many messages it queued.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_run_at: Option<Timestamp>,
    #[serde(default)]
    pub last_run_queued: u32,
}

impl Record for AutomationRule {
    const KIND: &'static str = "automation_rule";
    const VERSION: u16 = 1;
}

/// The store key of a rule's row: FNV-1a (128 bits) of its kind name. Deterministic, so the
/// row is found by name without an index.
pub fn rule_key(kind: &str) -> u128 {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    kind.bytes().fold(OFFSET, |h, b| (h ^ u128::from(b)).wrapping_mul(PRIME))
}

/// How a rule finds what is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// Jobs written in the change set of their cause (a booking, a completed visit, an offer).
    Event,
    /// The daily sweep in the clinic's zone.
    Sweep,
}

/// One parameter of a rule, with its default and current value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ParamView {
    pub name: String,
    pub description: String,
    #[schema(value_type = Object)]
    pub default: serde_json::Value,
    #[schema(value_type = Object)]
    pub value: serde_json::Value,
}

/// A rule as `GET /api/automations` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AutomationView {
    pub kind: String,
    pub description: String,
    /// Transactional or marketing: the consent its messages need.
    pub purpose: Purpose,
    pub trigger: Trigger,
    pub enabled: bool,
    pub params: Vec<ParamView>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_run_at: Option<Timestamp>,
    pub last_run_queued: u32,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub updated_at: Option<Timestamp>,
    pub updated_by: Option<UserId>,
}

/// Body of `PATCH /api/automations/{kind}`: either or both.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAutomation {
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Parameters to set (`null`: back to the default).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub params: Option<BTreeMap<String, serde_json::Value>>,
}

/// One message a rule would send (the dry run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PreviewItem {
    pub client_id: ClientId,
    pub client_name: String,
    pub patient_ids: Vec<PatientId>,
    /// "Mochi and Biscuit".
    pub pet_names: String,
    pub channel: Channel,
    #[schema(value_type = String, format = DateTime)]
    pub due_at: Timestamp,
    /// The message key it would be queued under.
    pub key: String,
    /// Email only.
    pub subject: Option<String>,
    /// The text's first line.
    pub first_line: String,
}

/// Answer of `GET /api/automations/{kind}/preview`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Preview {
    pub kind: String,
    pub enabled: bool,
    #[schema(value_type = String, format = DateTime)]
    pub from: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub to: Timestamp,
    pub items: Vec<PreviewItem>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_keys_are_stable_and_distinct() {
        assert_eq!(rule_key("birthday"), rule_key("birthday"));
        assert_ne!(rule_key("birthday"), rule_key("welcome"));
        assert_ne!(rule_key(""), 0);
    }
}
