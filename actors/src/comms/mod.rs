//! Communications: sending an email or a text message through the provider the settings
//! choose for its channel, and telling the caller whether a failure is worth retrying.
//!
//! Domain dependencies: jobs, scheduling, clinical.
//! (Clinical: the vaccine-due rule reads the due dates the medical record computes.)
//!
//! `providers/` holds the one interface ([`EmailProvider`], [`SmsProvider`]), the error
//! contract ([`SendError`]: `Retry` or `Permanent`) and one module per provider; `sms.rs`
//! counts SMS segments; `messages.rs` is the message log and the `send_message` job kind. The durable jobs that decide *when* to send, retry and give up call
//! these; nothing here retries, stores or schedules. `templates.rs` is the template record kind and its rendering. `consent.rs` holds clients'
//! preferences, the consent ledger and the send-time gate; `webhooks.rs` the providers'
//! delivery reports and inbound texts (signatures, STOP/START/HELP). What staff send by hand:
//! `compose.rs` (a template for one client), `batches.rs` (one message, and batches to many
//! clients queued in chunks), `stats.rs` (the log's filtered pages and delivery counts).
//! `tracking.rs` puts the open pixel and tracked links in emails and counts opens and clicks;
//! `analytics.rs` picks A/B template variants and reports sent, opened, clicked, booked and no-shows.
//! Marketing: `segments.rs` (saved audiences evaluated over the store), `campaigns.rs`
//! (campaigns to a segment, sent by a durable job in chunks, their results; the newsletter's
//! double opt-in) and `referrals.rs` (referral codes and the credits owed for them).

pub mod analytics;
pub mod attachments;
pub mod automations;
pub mod batches;
pub mod campaigns;
pub mod compose;
pub mod consent;
pub mod defaults;
pub mod links;
pub mod messages;
pub mod providers;
pub mod referrals;
pub mod segments;
pub mod sms;
pub mod stats;
pub mod templates;
pub mod tracking;
pub mod webhooks;

pub use providers::{
    ClinicProfile, CommsConfig, ConfigError, EmailProvider, EmailSettings, Providers, SendError, SendGridConfig,
    SmsProvider, SmsSettings, SmtpConfig, SmtpTls, TwilioConfig, TwilioSender,
};
