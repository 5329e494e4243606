//! The message log: every email and text the server sends to a client is a [`Message`] row,
//! created `queued` in the change set that schedules its `send_message` job and moved by that
//! job (`sent`, `failed`, `dead`) in the change set the scheduler commits with the job's
//! outcome. Sending is `clowder_actors::comms::messages`.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{ClientId, MessageId, TemplateId, UserId};
use crate::records::Record;
use crate::templates::TemplateCategory;

/// The channel a message travels by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    /// The wire name, e.g. `email`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Channel> {
        [Channel::Email, Channel::Sms].into_iter().find(|c| c.as_str() == s)
    }
}

/// Why a message is sent, which decides the consent it needs (DOMAIN.md "Communication
/// preferences and consent").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Purpose {
    /// About the client's own care or account (reminders, confirmations, receipts): sent
    /// unless the client refused the channel.
    #[default]
    Transactional,
    /// Campaigns, newsletters, birthdays with offers: only with the client's opt-in.
    Marketing,
}

impl Purpose {
    /// The wire name, e.g. `marketing`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Purpose> {
        [Purpose::Transactional, Purpose::Marketing].into_iter().find(|p| p.as_str() == s)
    }
}

/// Where a message is. `delivered` and `bounced` come from the providers' delivery webhooks;
/// `suppressed` is a message the consent rules stopped before any provider saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum MessageStatus {
    /// Its job has not sent it yet.
    Queued,
    /// A provider accepted it (not yet known to be delivered).
    Sent,
    /// The last attempt failed; the job tries again.
    Failed,
    /// The job gave up (a permanent error, or its last attempt failed).
    Dead,
    /// The provider reports it reached the recipient.
    Delivered,
    /// The provider reports it could not be delivered (a bounce, an unreachable number).
    Bounced,
    /// Not sent: the client's consent or preferences forbid it (`last_error` says which).
    Suppressed,
}

impl MessageStatus {
    /// The wire name, e.g. `queued`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Every status, in the order of a message's life.
    pub const ALL: [MessageStatus; 7] = [
        MessageStatus::Queued,
        MessageStatus::Sent,
        MessageStatus::Failed,
        MessageStatus::Dead,
        MessageStatus::Delivered,
        MessageStatus::Bounced,
        MessageStatus::Suppressed,
    ];

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<MessageStatus> {
        MessageStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// One email or text, as sent (or to be sent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Message {
    pub id: MessageId,
    pub channel: Channel,
    /// An email address or an E.164 phone number.
    pub recipient: String,
    /// The client it was sent to (`None`: a test message, or an address typed by staff).
    pub client_id: Option<ClientId>,
    /// Email only.
    pub subject: Option<String>,
    /// The rendered text as sent (the SMS body, or the email's plain-text part).
    pub text: String,
    /// The email's rendered HTML part, if any.
    pub html: Option<String>,
    /// The sending job's idempotency key (also the provider-side key: SMTP `Message-ID`, …).
    pub idempotency_key: String,
    /// Transactional or marketing: the consent it needs.
    #[serde(default)]
    pub purpose: Purpose,
    /// The template it was rendered from, if any (with the category, for the statistics).
    #[serde(default)]
    pub template_id: Option<TemplateId>,
    #[serde(default)]
    pub category: Option<TemplateCategory>,
    /// The automation that sent it (`appointment_reminder`, `birthday`, …), if any.
    #[serde(default)]
    pub automation: Option<String>,
    pub status: MessageStatus,
    /// The provider that accepted it (`log`, `smtp`, `sendgrid`, `twilio`).
    pub provider: Option<String>,
    /// The provider's id of it (`Message-ID`, `X-Message-Id`, Twilio `sid`).
    pub provider_id: Option<String>,
    /// Send attempts made (the job's attempts when it last moved the message).
    pub attempts: u32,
    pub last_error: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sent_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// Who queued it (`None`: the system).
    pub created_by: Option<UserId>,
    /// Email with HTML to a client: the original URLs of its tracked links, in order
    /// (`/l/click/<token>/<n>` redirects to the `n`-th; nothing else can be a target).
    #[serde(default)]
    pub tracked_links: Vec<String>,
    /// Clicks per tracked link (same order as `tracked_links`).
    #[serde(default)]
    pub link_clicks: Vec<u32>,
    /// The first time its open pixel was loaded (a lower bound: images may be blocked).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub opened_at: Option<Timestamp>,
    /// How many times the open pixel was loaded.
    #[serde(default)]
    pub opens: u32,
    /// The first click on one of its tracked links.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub clicked_at: Option<Timestamp>,
    /// Clicks on its tracked links, all links together.
    #[serde(default)]
    pub clicks: u32,
    /// Email only: the references of its attachments (`receipt:<payment>`,
    /// `statement:<client>:<from>:<to>`), each rendered into a file when the message is sent,
    /// so the outbox row stays small (docs/statements.md).
    #[serde(default)]
    pub attachments: Vec<String>,
}

/// Version history: v1; v2 added `purpose` (v1 rows read as transactional), `template_id`,
/// `category` and `automation` (absent in v1 rows); v3 added the tracking fields
/// `tracked_links`, `link_clicks`, `opened_at`, `opens`, `clicked_at`, `clicks` (empty, `None`
/// and 0 in older rows: nothing was tracked); v4 added `attachments` (empty in older rows).
impl Record for Message {
    const KIND: &'static str = "message";
    const VERSION: u16 = 4;
}
