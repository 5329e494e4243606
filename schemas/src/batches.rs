//! What staff send by hand (`/api/communications/...`): one message to one client, a
//! template to many clients as a [`Batch`] with its progress and partial-failure report, and
//! the delivery statistics of the message log. The sending itself is
//! `clowder_actors::comms::batches`; the statistics `clowder_actors::comms::stats`.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{BatchId, ClientId, MessageId, SegmentId, TemplateId, UserId};
use crate::messages::{Channel, MessageStatus};
use crate::records::Record;
use crate::templates::TemplateCategory;

/// Most clients one batch may name.
pub const MAX_BATCH_CLIENTS: usize = 5_000;

/// Body of `POST /api/communications/send`: a template (rendered with the client's values)
/// or content typed by staff, to one client.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendToClient {
    pub client_id: String,
    /// `email` or `sms`; default: the template's channel, else the client's preferred contact
    /// when they have that address (else email when they have one, else SMS).
    #[serde(default)]
    pub channel: Option<String>,
    /// Render this template (its channel must be the message's).
    #[serde(default)]
    pub template_id: Option<String>,
    /// Without a template: the subject (email, required).
    #[serde(default)]
    pub subject: Option<String>,
    /// Without a template: the text (required).
    #[serde(default)]
    pub text: Option<String>,
    /// Without a template: the HTML part (email, optional).
    #[serde(default)]
    pub html: Option<String>,
    /// With a template: values of its category's variables that the client's record does
    /// not give (`appointment_time`, …), or that replace them.
    #[serde(default)]
    pub values: BTreeMap<String, String>,
}

/// Who a batch goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// The clients named in `client_ids`.
    Clients,
    /// Every active client with an address on the template's channel.
    ActiveClients,
    /// The clients a saved segment (`segment_id`) holds when the batch starts.
    Segment,
}

/// Body of `POST /api/communications/send-batch`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendBatch {
    pub template_id: String,
    /// `clients` (default when `client_ids` is given), `active_clients`, or `segment`
    /// (default when `segment_id` is given).
    #[serde(default)]
    pub audience: Option<Audience>,
    /// With audience `segment`: the saved segment whose clients (now) get the message.
    #[serde(default)]
    pub segment_id: Option<String>,
    /// With audience `clients`: 1 to 5,000 client ids (repeats are sent once).
    #[serde(default)]
    pub client_ids: Vec<String>,
    /// Values of the template's variables for every message (the client's own are added).
    #[serde(default)]
    pub values: BTreeMap<String, String>,
}

/// Why a client of a batch got no message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// No client has this id.
    NotFound,
    /// The client is deactivated.
    Inactive,
    /// The client has no address on the batch's channel.
    NoAddress,
    /// The template could not be rendered for this client (`detail` says why).
    RenderFailed,
    /// The message was refused when queued (`detail` says why).
    Refused,
}

/// A client of a batch that got no message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BatchSkip {
    pub client_id: ClientId,
    pub reason: SkipReason,
    pub detail: Option<String>,
}

/// A message a batch queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BatchEntry {
    pub client_id: ClientId,
    pub message_id: MessageId,
}

/// Where a batch is in queueing its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BatchState {
    /// Chunks of clients are still being queued.
    Queueing,
    /// Every client has a message queued or a skip reason.
    Queued,
}

/// A batch: a template sent to many clients. Its messages are queued in chunks, each in a
/// change set of its own (`pending` shrinks as `queued` and `skipped` grow).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    pub id: BatchId,
    pub template_id: TemplateId,
    pub template_name: String,
    pub category: TemplateCategory,
    pub channel: Channel,
    pub audience: Audience,
    /// With audience `segment`: the segment resolved when the batch started.
    #[serde(default)]
    pub segment_id: Option<SegmentId>,
    pub values: BTreeMap<String, String>,
    pub state: BatchState,
    /// Clients in the batch.
    pub total: u32,
    /// Clients still to be queued, in order.
    pub pending: Vec<ClientId>,
    pub queued: Vec<BatchEntry>,
    pub skipped: Vec<BatchSkip>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: Option<UserId>,
}

/// Version history: v1; v2 added `segment_id` (absent in v1 rows: no segment).
impl Record for Batch {
    const KIND: &'static str = "message_batch";
    const VERSION: u16 = 2;
}

/// A message of a batch that did not (or not yet) arrive: part of the partial-failure report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct BatchFailure {
    pub client_id: ClientId,
    pub message_id: MessageId,
    pub status: MessageStatus,
    pub reason: Option<String>,
}

/// Counts of a batch's messages by status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct StatusCounts {
    pub queued: u32,
    pub sent: u32,
    pub delivered: u32,
    pub failed: u32,
    pub dead: u32,
    pub bounced: u32,
    /// Stopped by the client's consent or preferences (opted out).
    pub suppressed: u32,
}

impl StatusCounts {
    /// Counts one message of `status`.
    pub fn add(&mut self, status: MessageStatus) {
        let slot = match status {
            MessageStatus::Queued => &mut self.queued,
            MessageStatus::Sent => &mut self.sent,
            MessageStatus::Delivered => &mut self.delivered,
            MessageStatus::Failed => &mut self.failed,
            MessageStatus::Dead => &mut self.dead,
            MessageStatus::Bounced => &mut self.bounced,
            MessageStatus::Suppressed => &mut self.suppressed,
        };
        *slot += 1;
    }

    /// Every message counted.
    pub fn total(&self) -> u32 {
        self.queued + self.sent + self.delivered + self.failed + self.dead + self.bounced + self.suppressed
    }

    /// Messages whose fate is settled: not queued and not failed-with-a-retry-to-come.
    pub fn settled(&self) -> u32 {
        self.total() - self.queued - self.failed
    }
}

/// `GET /api/communications/batches/{id}`: a batch's progress and partial-failure report.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BatchReport {
    pub id: BatchId,
    pub template_id: TemplateId,
    pub template_name: String,
    pub channel: Channel,
    pub audience: Audience,
    pub state: BatchState,
    pub total: u32,
    /// Clients with a message queued so far.
    pub queued: u32,
    /// Clients skipped (no message): see `skipped`.
    pub skipped_count: u32,
    /// Clients not yet looked at.
    pub pending: u32,
    /// The batch's messages by their current status.
    pub messages: StatusCounts,
    /// True when every client was looked at and every message is settled (sent, delivered,
    /// bounced, dead or suppressed).
    pub done: bool,
    pub skipped: Vec<BatchSkip>,
    /// Messages that failed, died, bounced or were suppressed, with why.
    pub failures: Vec<BatchFailure>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    pub created_by: Option<UserId>,
}

/// The answer of `POST /api/communications/send-batch` (202).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct BatchStarted {
    pub batch_id: BatchId,
    pub total: u32,
}

/// Counts of one template's (or category's) messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TemplateStats {
    pub template_id: TemplateId,
    /// The template's name now (`null` if it is gone).
    pub name: Option<String>,
    pub channel: Channel,
    pub counts: StatusCounts,
}

/// `GET /api/communications/stats`: the message log's counts over a date range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CommsStats {
    /// First day counted (clinic's zone), inclusive.
    #[schema(value_type = String, format = Date)]
    pub from: jiff::civil::Date,
    /// Last day counted, inclusive.
    #[schema(value_type = String, format = Date)]
    pub to: jiff::civil::Date,
    /// Every message of the range.
    pub total: StatusCounts,
    /// By channel (`email`, `sms`).
    pub by_channel: BTreeMap<String, StatusCounts>,
    /// By template category (`appointment_reminder`, …; messages without a template under
    /// `none`).
    pub by_category: BTreeMap<String, StatusCounts>,
    /// By template, most messages first.
    pub by_template: Vec<TemplateStats>,
}
