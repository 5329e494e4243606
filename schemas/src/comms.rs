//! Outgoing messages as every provider takes them: an [`EmailMessage`] or an [`SmsMessage`],
//! each carrying the [`MessageKey`] of the job that sends it, and the [`Sent`] receipt a
//! provider gives back.
//!
//! Only the vocabulary and its rules live here. Sending, the choice of provider and the error
//! contract (retry or give up) are `actors::comms`; templates, consent and the message log
//! come later and build these values, they do not change them.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::errors::ValidationError;
use crate::values::{Email, Phone};

/// Longest message key, in bytes.
pub const MAX_KEY_BYTES: usize = 200;
/// Longest subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 998;
/// Most extra headers on one email.
pub const MAX_HEADERS: usize = 20;

/// The `List-Unsubscribe` header (RFC 2369): where a recipient unsubscribes.
pub const LIST_UNSUBSCRIBE: &str = "List-Unsubscribe";
/// The `List-Unsubscribe-Post` header (RFC 8058): one-click unsubscription.
pub const LIST_UNSUBSCRIBE_POST: &str = "List-Unsubscribe-Post";

/// Headers the providers write themselves from the message's fields; an extra header may not
/// name one (compared without case).
const RESERVED_HEADERS: &[&str] = &[
    "from",
    "to",
    "cc",
    "bcc",
    "reply-to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "sender",
    "return-path",
    "received",
    "dkim-signature",
];

/// What makes one message one message: the sending job's idempotency key. The same key always
/// gives the same `Message-ID` (SMTP) and the same `custom_args` (SendGrid), so a message
/// resent after a crash is recognisable as the same one.
///
/// 1 to 200 bytes of visible ASCII (no spaces or control characters).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct MessageKey(String);

impl MessageKey {
    /// Parses a key; `field` names it in the error.
    pub fn parse(field: &str, input: &str) -> Result<Self, ValidationError> {
        if input.is_empty() || input.len() > MAX_KEY_BYTES {
            return Err(ValidationError::new(field, format!("must be 1 to {MAX_KEY_BYTES} bytes")));
        }
        if !input.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ValidationError::new(field, "must be visible ASCII without spaces"));
        }
        Ok(Self(input.to_owned()))
    }

    /// The key's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for MessageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageKey({:?})", self.0)
    }
}

impl fmt::Display for MessageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for MessageKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse("key", &s).map_err(|e| serde::de::Error::custom(e.message))
    }
}

/// An address with an optional display name: `Whisker Clinic <front@whisker.example>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailbox {
    /// The display name, single line, without `<`, `>` or `"`.
    pub name: Option<String>,
    pub email: Email,
}

impl Mailbox {
    /// A mailbox without a display name.
    pub fn new(email: Email) -> Self {
        Self { name: None, email }
    }

    /// Parses `name@example.com` or `Display Name <name@example.com>`.
    pub fn parse(field: &str, input: &str) -> Result<Self, ValidationError> {
        let input = input.trim();
        let Some(open) = input.find('<') else {
            return Ok(Self::new(Email::parse(field, input)?));
        };
        let rest = &input[open + 1..];
        let address = rest
            .strip_suffix('>')
            .ok_or_else(|| ValidationError::new(field, "must be name@example.com or Name <name@example.com>"))?;
        let name = input[..open].trim().trim_matches('"').trim();
        let name = if name.is_empty() { None } else { Some(display_name(field, name)?) };
        Ok(Self { name, email: Email::parse(field, address)? })
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name} <{}>", self.email),
            None => write!(f, "{}", self.email),
        }
    }
}

fn display_name(field: &str, name: &str) -> Result<String, ValidationError> {
    if name.chars().count() > 100 || name.chars().any(|c| c.is_control() || matches!(c, '<' | '>' | '"')) {
        return Err(ValidationError::new(field, "the display name must be one line of at most 100 characters"));
    }
    Ok(name.to_owned())
}

/// An extra header of an email, e.g. `List-Unsubscribe`. Its name is an RFC 5322 field name
/// that none of the message's own fields writes; its value is one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawHeader")]
pub struct EmailHeader {
    name: String,
    value: String,
}

#[derive(Deserialize)]
struct RawHeader {
    name: String,
    value: String,
}

impl TryFrom<RawHeader> for EmailHeader {
    type Error = String;
    fn try_from(raw: RawHeader) -> Result<Self, String> {
        EmailHeader::new(&raw.name, &raw.value).map_err(|e| e.message)
    }
}

impl EmailHeader {
    /// A header, checked.
    pub fn new(name: &str, value: &str) -> Result<Self, ValidationError> {
        let field = "headers";
        if name.is_empty() || name.len() > 76 || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
            return Err(ValidationError::new(field, format!("{name:?} is not a header name")));
        }
        if RESERVED_HEADERS.iter().any(|r| r.eq_ignore_ascii_case(name)) {
            return Err(ValidationError::new(field, format!("{name} is written from the message's own fields")));
        }
        if value.len() > 2000 || value.chars().any(char::is_control) {
            return Err(ValidationError::new(field, format!("the value of {name} must be one line")));
        }
        Ok(Self { name: name.to_owned(), value: value.to_owned() })
    }

    /// `List-Unsubscribe: <url>` (RFC 2369); `url` should be HTTPS for one-click.
    pub fn list_unsubscribe(url: &str) -> Result<Self, ValidationError> {
        Self::new(LIST_UNSUBSCRIBE, &format!("<{url}>"))
    }

    /// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
    pub fn list_unsubscribe_post() -> Self {
        Self { name: LIST_UNSUBSCRIBE_POST.into(), value: "List-Unsubscribe=One-Click".into() }
    }

    /// The header's name, as given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The header's value.
    pub fn value(&self) -> &str {
        &self.value
    }
}

/// One email to one recipient, ready to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailMessage {
    /// The sending job's idempotency key.
    pub key: MessageKey,
    /// The sender; `None` sends from the configured address (`CLOWDER_EMAIL_FROM`).
    pub from: Option<Mailbox>,
    pub to: Mailbox,
    pub reply_to: Option<Mailbox>,
    /// One line; any Unicode (encoded by the provider).
    pub subject: String,
    /// The plain-text body (always sent).
    pub text: String,
    /// The HTML alternative, if any.
    pub html: Option<String>,
    /// Extra headers, e.g. `List-Unsubscribe` and `List-Unsubscribe-Post`.
    pub headers: Vec<EmailHeader>,
    /// Files attached (a receipt's or a statement's PDF), rendered when the message is sent.
    #[serde(default)]
    pub attachments: Vec<EmailAttachment>,
}

/// A file attached to an email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailAttachment {
    /// The file name offered (`statement-2026-09-06-2026-12-06.pdf`).
    pub filename: String,
    /// Its MIME type (`application/pdf`).
    pub content_type: String,
    /// Its bytes.
    pub content: Vec<u8>,
}

/// Most attachments one message may carry.
pub const MAX_ATTACHMENTS: usize = 5;

/// Checks an attachment reference: `kind:rest`, a lowercase kind, at most 200 characters,
/// no spaces or control characters.
pub fn check_attachment_ref(field: &str, reference: &str) -> Result<(), ValidationError> {
    let ok = reference.len() <= 200
        && reference.split_once(':').is_some_and(|(kind, rest)| {
            !kind.is_empty() && kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') && !rest.is_empty()
        })
        && !reference.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok { Ok(()) } else { Err(ValidationError::new(field, "is not an attachment reference (kind:what)")) }
}

impl EmailMessage {
    /// A message with a subject and a text body and nothing else.
    pub fn new(key: MessageKey, to: Mailbox, subject: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            key,
            from: None,
            to,
            reply_to: None,
            subject: subject.into(),
            text: text.into(),
            html: None,
            headers: Vec::new(),
            attachments: Vec::new(),
        }
    }

    /// Checks what the fields' types cannot: a one-line subject of sensible length, a body,
    /// distinct header names.
    pub fn check(&self) -> Result<(), ValidationError> {
        let subject = self.subject.trim();
        if subject.is_empty() {
            return Err(ValidationError::new("subject", "is required"));
        }
        if subject.chars().count() > MAX_SUBJECT_CHARS || subject.chars().any(char::is_control) {
            return Err(ValidationError::new(
                "subject",
                format!("must be one line of at most {MAX_SUBJECT_CHARS} characters"),
            ));
        }
        if self.text.trim().is_empty() {
            return Err(ValidationError::new("text", "is required"));
        }
        if self.headers.len() > MAX_HEADERS {
            return Err(ValidationError::new("headers", format!("at most {MAX_HEADERS} headers")));
        }
        for (i, h) in self.headers.iter().enumerate() {
            if self.headers[..i].iter().any(|o| o.name.eq_ignore_ascii_case(&h.name)) {
                return Err(ValidationError::new("headers", format!("{} is given twice", h.name)));
            }
        }
        Ok(())
    }
}

/// One text message to one number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsMessage {
    /// The sending job's idempotency key.
    pub key: MessageKey,
    /// The recipient, E.164.
    pub to: Phone,
    pub body: String,
}

/// Which provider accepted a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, strum::Display, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ProviderName {
    /// Development: written to the log only.
    Log,
    Smtp,
    Sendgrid,
    Twilio,
}

/// A provider's receipt: it accepted the message for delivery (not that it was delivered).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    pub provider: ProviderName,
    /// The provider's id of the message: the `Message-ID` (SMTP), `X-Message-Id` (SendGrid),
    /// the message `sid` (Twilio), a generated id (log).
    pub provider_id: String,
    /// When the provider accepted it (our clock).
    pub accepted_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(s: &str) -> Email {
        Email::parse("e", s).unwrap()
    }

    #[test]
    fn mailboxes_parse_with_and_without_a_display_name() {
        // Input, then the display name and address it parses to (`None`: refused).
        type Case<'a> = (&'a str, Option<(Option<&'a str>, &'a str)>);
        let cases: &[Case] = &[
            ("front@whisker.example", Some((None, "front@whisker.example"))),
            ("Whisker Clinic <Front@Whisker.example>", Some((Some("Whisker Clinic"), "front@whisker.example"))),
            ("\"Dr. Purr\" <vet@whisker.example>", Some((Some("Dr. Purr"), "vet@whisker.example"))),
            ("<vet@whisker.example>", Some((None, "vet@whisker.example"))),
            ("Whisker <vet@whisker.example", None),
            ("Whisker <not-an-address>", None),
            ("Bad\u{7}Name <vet@whisker.example>", None),
        ];
        for (input, want) in cases {
            let got = Mailbox::parse("from", input).ok().map(|m| (m.name, m.email.as_str().to_owned()));
            let want = want.map(|(n, e)| (n.map(str::to_owned), e.to_owned()));
            assert_eq!(got, want, "{input}");
        }
    }

    #[test]
    fn keys_are_visible_ascii_of_bounded_length() {
        assert!(MessageKey::parse("key", "job:01J9ZK3:reminder-48h").is_ok());
        assert!(MessageKey::parse("key", "").is_err());
        assert!(MessageKey::parse("key", "has space").is_err());
        assert!(MessageKey::parse("key", "caf\u{e9}").is_err());
        assert!(MessageKey::parse("key", &"k".repeat(MAX_KEY_BYTES + 1)).is_err());
        let back: Result<MessageKey, _> = serde_json::from_str("\"a b\"");
        assert!(back.is_err(), "deserialising checks the key too");
    }

    #[test]
    fn headers_refuse_reserved_names_and_line_breaks() {
        assert!(EmailHeader::new("List-Unsubscribe", "<https://c.example/u/1>").is_ok());
        assert!(EmailHeader::new("X-Clinic", "Whiskers").is_ok());
        for name in ["Subject", "message-id", "BCC", "Bad Name", "Bad:Name", ""] {
            assert!(EmailHeader::new(name, "x").is_err(), "{name}");
        }
        assert!(EmailHeader::new("X-Inject", "a\r\nBcc: evil@example.com").is_err());
        let json = r#"{"name":"Subject","value":"x"}"#;
        assert!(serde_json::from_str::<EmailHeader>(json).is_err(), "deserialising checks the header too");
        assert_eq!(EmailHeader::list_unsubscribe_post().value(), "List-Unsubscribe=One-Click");
    }

    #[test]
    fn a_message_needs_a_one_line_subject_a_body_and_distinct_headers() {
        let key = MessageKey::parse("key", "k1").unwrap();
        let ok = EmailMessage::new(key, Mailbox::new(email("jane@example.com")), "Reminder", "See you soon");
        assert!(ok.check().is_ok());
        let mut m = ok.clone();
        m.subject = "two\nlines".into();
        assert_eq!(m.check().unwrap_err().field, "subject");
        let mut m = ok.clone();
        m.text = "  ".into();
        assert_eq!(m.check().unwrap_err().field, "text");
        let mut m = ok;
        m.headers = vec![EmailHeader::new("X-A", "1").unwrap(), EmailHeader::new("x-a", "2").unwrap()];
        assert_eq!(m.check().unwrap_err().field, "headers");
    }

    #[test]
    fn provider_names_are_snake_case_on_the_wire_and_in_text() {
        assert_eq!(serde_json::to_string(&ProviderName::Sendgrid).unwrap(), "\"sendgrid\"");
        assert_eq!(ProviderName::Twilio.to_string(), "twilio");
    }
}
