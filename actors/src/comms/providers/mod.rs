//! The one interface every provider implements, the error contract the job scheduler decides
//! on, the providers' settings, and what they share (the `Message-ID` of a key, masking
//! recipients for logs, reading `Retry-After`, the checks every message passes first).
//!
//! Providers: [`log`] (development: a log line), [`smtp`] (lettre), [`sendgrid`] (v3 Mail
//! Send over HTTPS), [`twilio`] (Messages over HTTPS). [`Providers::build`] picks one per
//! channel from [`CommsConfig`]. A provider sends once per call and never retries: the
//! caller (a durable job) owns retries, backoff and giving up.

pub mod log;
pub mod sendgrid;
pub mod smtp;
pub mod twilio;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use clowder_schemas::comms::{EmailMessage, Mailbox, MessageKey, Sent, SmsMessage};
use clowder_schemas::values::Email;
use jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::comms::sms;

/// What a provider's `send` returns: a boxed future, so providers can be chosen at run time
/// (`Arc<dyn EmailProvider>`) and a test can put its own behind the same interface.
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<Sent, SendError>> + Send + 'a>>;

/// Sends one email. Implementations send at most once per call and do not retry.
pub trait EmailProvider: Send + Sync + 'static {
    /// Hands `msg` to the provider. `Ok` means the provider accepted it for delivery.
    fn send<'a>(&'a self, msg: &'a EmailMessage) -> SendFuture<'a>;
}

/// Sends one text message. Implementations send at most once per call and do not retry.
pub trait SmsProvider: Send + Sync + 'static {
    /// Hands `msg` to the provider. `Ok` means the provider accepted it for delivery.
    fn send<'a>(&'a self, msg: &'a SmsMessage) -> SendFuture<'a>;
}

/// Why a message was not accepted, in the two kinds the job scheduler needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later: a timeout, a refused or dropped connection, a rate limit
    /// (429, with the provider's `Retry-After` in `after` when it gave one), a 5xx answer, a
    /// 4xx SMTP reply. The message may or may not have reached the provider when the error
    /// came from a timeout; the idempotency key makes a resend recognisable.
    #[error("temporary failure, retry later: {reason}")]
    Retry { reason: String, after: Option<Duration> },
    /// Trying again will fail the same way: an invalid address or number, a recipient who
    /// unsubscribed at the provider, a refused credential, a message the provider rejects, a
    /// text over the segment limit.
    #[error("permanent failure: {reason}")]
    Permanent { reason: String },
}

impl SendError {
    /// A `Retry` without a wait of the provider's.
    pub fn retry(reason: impl Into<String>) -> Self {
        SendError::Retry { reason: reason.into(), after: None }
    }

    /// A `Permanent` failure.
    pub fn permanent(reason: impl Into<String>) -> Self {
        SendError::Permanent { reason: reason.into() }
    }

    /// Whether trying again may succeed.
    pub fn is_retry(&self) -> bool {
        matches!(self, SendError::Retry { .. })
    }

    /// The wait the provider asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SendError::Retry { after, .. } => *after,
            SendError::Permanent { .. } => None,
        }
    }
}

/// A secret setting (password, API key, auth token): its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret's text, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(********)")
    }
}

/// Settings of the communications providers, built by the binary from its configuration.
#[derive(Debug, Clone)]
pub struct CommsConfig {
    /// The email channel's provider.
    pub email: EmailSettings,
    /// The SMS channel's provider.
    pub sms: SmsSettings,
    /// The sender of emails that name none; its domain is the `Message-ID`s' domain.
    pub from: Mailbox,
    /// How long one send may take (connect, TLS, the whole exchange) before it counts as a
    /// `Retry`.
    pub timeout: Duration,
    /// Longest text accepted, in segments; a longer one fails `Permanent`.
    pub max_sms_segments: usize,
    /// Who the messages come from: the clinic's name and phone, and the address links point to.
    pub clinic: ClinicProfile,
    /// The delivery webhooks' and inbound texts' keys and URLs.
    pub hooks: super::webhooks::HooksConfig,
    /// The hours messages may arrive for clients who chose none (`CLOWDER_QUIET_HOURS`,
    /// 09:00–19:00 in the clinic's zone).
    pub quiet_hours: clowder_schemas::consent::TimeWindow,
}

/// The clinic as its messages name it (`{{clinic_name}}`, `{{clinic_phone}}`, the HELP answer)
/// and the public address signed links point to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClinicProfile {
    /// `CLOWDER_CLINIC_NAME`: required with a real provider, so no client ever gets a message
    /// from a placeholder.
    pub name: String,
    /// `CLOWDER_CLINIC_PHONE`, as clients should dial it (free text, e.g. `(508) 555-0100`).
    pub phone: Option<String>,
    /// The origin links in messages start with (`CLOWDER_PUBLIC_ORIGIN`'s first entry), no
    /// trailing slash, e.g. `https://clinic.example`.
    pub public_url: String,
}

impl Default for ClinicProfile {
    /// The development profile: the log provider's messages never leave the machine.
    fn default() -> Self {
        ClinicProfile { name: "Clowder Cat Clinic".into(), phone: None, public_url: "http://localhost:8080".into() }
    }
}

impl Default for CommsConfig {
    /// The log provider on both channels (development).
    fn default() -> Self {
        Self {
            email: EmailSettings::Log,
            sms: SmsSettings::Log,
            from: default_from(),
            timeout: Duration::from_secs(30),
            max_sms_segments: 4,
            clinic: ClinicProfile::default(),
            hooks: super::webhooks::HooksConfig::default(),
            quiet_hours: clowder_schemas::consent::TimeWindow::default_quiet_hours(),
        }
    }
}

/// The sender used when none is configured (log provider only): a reserved `.invalid` domain,
/// so it can never be a real address.
pub fn default_from() -> Mailbox {
    let email = Email::parse("from", "clowder@clowder.invalid").expect("a valid literal address");
    Mailbox { name: Some("Clowder".into()), email }
}

/// Which provider sends email.
#[derive(Debug, Clone)]
pub enum EmailSettings {
    Log,
    Smtp(SmtpConfig),
    SendGrid(SendGridConfig),
}

/// Which provider sends SMS.
#[derive(Debug, Clone)]
pub enum SmsSettings {
    Log,
    Twilio(TwilioConfig),
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    Starttls,
    /// TLS from the first byte ("implicit TLS", port 465).
    Tls,
    /// No encryption: only for a relay on the same machine (the binary refuses other hosts).
    None,
}

/// An SMTP relay.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// Username and password for AUTH, if the relay wants them.
    pub credentials: Option<(String, Secret)>,
    /// PEM certificates trusted besides the system's (a relay with a private CA).
    pub extra_roots_pem: Option<Vec<u8>>,
}

/// SendGrid's v3 API.
#[derive(Debug, Clone)]
pub struct SendGridConfig {
    pub api_key: Secret,
    /// `https://api.sendgrid.com`, or a test server.
    pub base_url: String,
}

/// Twilio's Messages API.
#[derive(Debug, Clone)]
pub struct TwilioConfig {
    pub account_sid: String,
    pub auth_token: Secret,
    pub sender: TwilioSender,
    /// Where Twilio posts delivery status (the webhook comes next session).
    pub status_callback: Option<String>,
    /// `https://api.twilio.com`, or a test server.
    pub base_url: String,
}

/// What a text is sent from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TwilioSender {
    /// A Twilio number (E.164) or alphanumeric sender id: `From`.
    From(String),
    /// A Messaging Service, which picks the number: `MessagingServiceSid`.
    MessagingService(String),
}

/// A provider's settings that cannot work.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// The provider of each channel, chosen by the settings; cheap to clone.
#[derive(Clone)]
pub struct Providers {
    pub email: Arc<dyn EmailProvider>,
    pub sms: Arc<dyn SmsProvider>,
}

impl fmt::Debug for Providers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Providers").finish_non_exhaustive()
    }
}

impl Providers {
    /// Builds each channel's provider from `config`. Fails on settings that cannot work (a
    /// certificate file that is not PEM, an HTTP client that cannot be built).
    pub fn build(config: &CommsConfig, clock: Arc<dyn Clock>) -> Result<Providers, ConfigError> {
        let email: Arc<dyn EmailProvider> = match &config.email {
            EmailSettings::Log => Arc::new(log::LogProvider::new(config, clock.clone())),
            EmailSettings::Smtp(smtp) => Arc::new(smtp::SmtpProvider::new(smtp, config, clock.clone())?),
            EmailSettings::SendGrid(sg) => Arc::new(sendgrid::SendGridProvider::new(sg, config, clock.clone())?),
        };
        let sms: Arc<dyn SmsProvider> = match &config.sms {
            SmsSettings::Log => Arc::new(log::LogProvider::new(config, clock)),
            SmsSettings::Twilio(tw) => Arc::new(twilio::TwilioProvider::new(tw, config, clock)?),
        };
        Ok(Providers { email, sms })
    }
}

/// Hex SHA-256 of the key, shortened: the stable part of a message's ids.
fn key_hash(key: &MessageKey) -> String {
    let digest = Sha256::digest(key.as_str().as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// The `Message-ID` of the message with this key sent from `domain`: `<hash@domain>`, the
/// same for every attempt, so a resend after a crash is the same message to the receiver.
pub fn message_id(key: &MessageKey, domain: &str) -> String {
    format!("<{}@{domain}>", key_hash(key))
}

/// The domain of an address (the part after `@`).
pub(crate) fn domain_of(email: &Email) -> &str {
    email.as_str().rsplit_once('@').map_or("localhost", |(_, d)| d)
}

/// An email address for logs: `j***@example.com`.
pub fn mask_email(email: &Email) -> String {
    match email.as_str().split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

/// A phone number for logs: the country code's first digits and the last four,
/// `+1555***1234`.
pub fn mask_phone(phone: &clowder_schemas::values::Phone) -> String {
    mask_recipient(phone.as_str())
}

/// A stored recipient (an address, or an E.164 number) masked like [`mask_email`] and
/// [`mask_phone`].
pub fn mask_recipient(recipient: &str) -> String {
    if recipient.contains('@') {
        match Email::parse("recipient", recipient) {
            Ok(e) => mask_email(&e),
            Err(_) => "***".into(),
        }
    } else {
        let n = recipient.chars().count();
        if n <= 8 {
            return format!("{}***", recipient.chars().take(2).collect::<String>());
        }
        let head: String = recipient.chars().take(5).collect();
        let tail: String = recipient.chars().skip(n - 4).collect();
        format!("{head}***{tail}")
    }
}

/// The checks every email passes before any provider sees it.
pub(crate) fn check_email(msg: &EmailMessage) -> Result<(), SendError> {
    msg.check().map_err(|e| SendError::permanent(format!("{}: {}", e.field, e.message)))
}

/// The checks every text passes before any provider sees it: a body, within the segments
/// allowed.
pub(crate) fn check_sms(msg: &SmsMessage, max_segments: usize) -> Result<sms::Segments, SendError> {
    if msg.body.trim().is_empty() {
        return Err(SendError::permanent("the text message has no body"));
    }
    let segments = sms::segments(&msg.body);
    if segments.count > max_segments {
        return Err(SendError::permanent(format!(
            "the text takes {} segments ({:?}), more than the {max_segments} allowed",
            segments.count, segments.encoding
        )));
    }
    Ok(segments)
}

/// A `Retry-After` value: delay seconds, or an HTTP date (taken against `now`).
pub(crate) fn parse_retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let wait = at.duration_since(now);
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// The error of an HTTP provider's non-success answer, by status: 429 and 5xx (and 408) are
/// worth retrying, other 4xx are not.
pub(crate) fn http_failure(status: u16, reason: String, retry_after: Option<Duration>) -> SendError {
    match status {
        408 | 429 => SendError::Retry { reason, after: retry_after },
        500..=599 => SendError::Retry { reason, after: retry_after },
        _ => SendError::permanent(reason),
    }
}

/// The error of a request that got no answer (connect, timeout, broken body): always worth
/// retrying. The text names no URL, which could carry an account id.
pub(crate) fn transport_failure(provider: &str, e: reqwest::Error) -> SendError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "the request failed"
    };
    SendError::retry(format!("{provider}: {what}: {}", e.without_url()))
}

/// An HTTP client for the providers: rustls with the process's ring provider, the
/// configured timeout, no redirects (an API that redirects a POST is misconfigured).
pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client, ConfigError> {
    // reqwest is built with rustls but no provider: the process's must be ring. An error only
    // means one is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("clowder/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ConfigError(format!("the HTTP client for message providers: {e}")))
}

/// A base URL without its trailing slash, checked to be http(s).
pub(crate) fn base_url(setting: &str, url: &str) -> Result<String, ConfigError> {
    let url = url.trim().trim_end_matches('/');
    let parsed = reqwest::Url::parse(url).map_err(|e| ConfigError(format!("{setting}: {url:?} is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err(ConfigError(format!("{setting}: {url:?} must be an https:// URL")));
    }
    Ok(url.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clowder_schemas::values::Phone;

    #[test]
    fn the_message_id_depends_only_on_the_key_and_domain() {
        let k = MessageKey::parse("key", "job:1:reminder-48h").unwrap();
        let a = message_id(&k, "whisker.example");
        assert_eq!(a, message_id(&k, "whisker.example"));
        assert!(a.starts_with('<') && a.ends_with("@whisker.example>") && a.len() == 32 + 2 + 1 + 15, "{a}");
        let other = MessageKey::parse("key", "job:1:reminder-24h").unwrap();
        assert_ne!(a, message_id(&other, "whisker.example"));
    }

    #[test]
    fn recipients_are_masked_for_logs() {
        let e = |s| Email::parse("e", s).unwrap();
        assert_eq!(mask_email(&e("jane.doe@example.com")), "j***@example.com");
        assert_eq!(mask_email(&e("j@example.com")), "j***@example.com");
        let p = |s| Phone::parse("p", s, "1").unwrap();
        assert_eq!(mask_phone(&p("+15551231234")), "+1555***1234");
        assert_eq!(mask_phone(&p("+447700900123")), "+4477***0123");
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now: Timestamp = "2026-12-05T10:00:00Z".parse().unwrap();
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Sat, 05 Dec 2026 10:00:30 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Sat, 05 Dec 2026 09:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn http_statuses_split_into_retry_and_permanent() {
        for (status, retry) in [
            (400, false),
            (401, false),
            (403, false),
            (404, false),
            (408, true),
            (413, false),
            (429, true),
            (500, true),
            (502, true),
            (503, true),
        ] {
            assert_eq!(http_failure(status, "x".into(), None).is_retry(), retry, "{status}");
        }
        let e = http_failure(429, "slow down".into(), Some(Duration::from_secs(7)));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
    }

    #[test]
    fn texts_over_the_segment_limit_or_empty_are_refused_for_good() {
        let key = MessageKey::parse("key", "k").unwrap();
        let to = Phone::parse("to", "+15551231234", "1").unwrap();
        let sms = |body: String| SmsMessage { key: key.clone(), to: to.clone(), body };
        assert_eq!(check_sms(&sms("a".repeat(612)), 4).unwrap().count, 4);
        let e = check_sms(&sms("a".repeat(613)), 4).unwrap_err();
        assert!(!e.is_retry() && e.to_string().contains("5 segments"), "{e}");
        assert!(!check_sms(&sms("ы".repeat(300)), 4).unwrap_err().is_retry());
        assert!(!check_sms(&sms(" ".into()), 4).unwrap_err().is_retry());
    }
}
