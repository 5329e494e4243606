//! The SendGrid provider: `POST {base}/v3/mail/send` with `Authorization: Bearer <key>` and
//! the v3 JSON (one personalization, `from`, `reply_to`, `subject`, `content` text/plain then
//! text/html, `headers`, `custom_args`).
//!
//! SendGrid has no idempotency key of its own and writes its own `Message-ID`, so the key
//! travels in `custom_args` (`clowder_key`, and `clowder_message_id` for the id the SMTP
//! provider would give): its Event Webhook echoes them, which is how a resend is recognised.
//! 202 → `Sent` with `X-Message-Id`; 429 and 5xx → `Retry` (with `Retry-After`); other 4xx
//! (400 invalid request, 401/403 key) → `Permanent` with SendGrid's own error messages.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use clowder_schemas::comms::{EmailMessage, Mailbox, ProviderName, Sent};
use serde::{Deserialize, Serialize};

use super::{
    CommsConfig, ConfigError, EmailProvider, Secret, SendFuture, SendGridConfig, base_url, check_email, domain_of,
    http_client, http_failure, message_id, parse_retry_after, transport_failure,
};
use crate::clock::Clock;

/// Sends email through SendGrid's v3 Mail Send.
pub struct SendGridProvider {
    client: reqwest::Client,
    endpoint: String,
    api_key: Secret,
    from: Mailbox,
    clock: Arc<dyn Clock>,
}

#[derive(Serialize)]
struct Address<'a> {
    email: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
}

impl<'a> From<&'a Mailbox> for Address<'a> {
    fn from(m: &'a Mailbox) -> Self {
        Address { email: m.email.as_str(), name: m.name.as_deref() }
    }
}

#[derive(Serialize)]
struct Personalization<'a> {
    to: [Address<'a>; 1],
}

#[derive(Serialize)]
struct Content<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    value: &'a str,
}

/// The v3 Mail Send body, as documented.
#[derive(Serialize)]
struct MailSend<'a> {
    personalizations: [Personalization<'a>; 1],
    from: Address<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_to: Option<Address<'a>>,
    subject: &'a str,
    content: Vec<Content<'a>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    headers: BTreeMap<&'a str, &'a str>,
    custom_args: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<SgAttachment<'a>>,
}

/// A file in the Mail Send body: its bytes in base64.
#[derive(Serialize)]
struct SgAttachment<'a> {
    content: String,
    #[serde(rename = "type")]
    kind: &'a str,
    filename: &'a str,
    disposition: &'static str,
}

/// SendGrid's error body: `{"errors": [{"message", "field", "help"}]}`.
#[derive(Deserialize)]
struct Errors {
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    #[serde(default)]
    message: String,
    #[serde(default)]
    field: Option<String>,
}

impl SendGridProvider {
    pub fn new(sg: &SendGridConfig, config: &CommsConfig, clock: Arc<dyn Clock>) -> Result<Self, ConfigError> {
        if sg.api_key.expose().trim().is_empty() {
            return Err(ConfigError("CLOWDER_SENDGRID_API_KEY is required with the sendgrid provider".into()));
        }
        let base = base_url("CLOWDER_SENDGRID_BASE_URL", &sg.base_url)?;
        Ok(Self {
            client: http_client(config.timeout)?,
            endpoint: format!("{base}/v3/mail/send"),
            api_key: sg.api_key.clone(),
            from: config.from.clone(),
            clock,
        })
    }

    fn body<'a>(&'a self, msg: &'a EmailMessage) -> MailSend<'a> {
        let from = msg.from.as_ref().unwrap_or(&self.from);
        let mut content = vec![Content { kind: "text/plain", value: &msg.text }];
        if let Some(html) = &msg.html {
            content.push(Content { kind: "text/html", value: html });
        }
        let custom_args = BTreeMap::from([
            ("clowder_key", msg.key.as_str().to_owned()),
            ("clowder_message_id", message_id(&msg.key, domain_of(&from.email))),
        ]);
        MailSend {
            personalizations: [Personalization { to: [Address::from(&msg.to)] }],
            from: from.into(),
            reply_to: msg.reply_to.as_ref().map(Address::from),
            subject: msg.subject.trim(),
            content,
            headers: msg.headers.iter().map(|h| (h.name(), h.value())).collect(),
            custom_args,
            attachments: msg
                .attachments
                .iter()
                .map(|a| SgAttachment {
                    content: base64::engine::general_purpose::STANDARD.encode(&a.content),
                    kind: &a.content_type,
                    filename: &a.filename,
                    disposition: "attachment",
                })
                .collect(),
        }
    }
}

/// SendGrid's messages joined, or the status when the body says nothing.
fn error_reason(status: u16, body: &str) -> String {
    let messages: Vec<String> = serde_json::from_str::<Errors>(body)
        .map(|e| {
            e.errors
                .into_iter()
                .map(|i| match i.field {
                    Some(f) if !f.is_empty() => format!("{} ({f})", i.message),
                    _ => i.message,
                })
                .filter(|m| !m.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if messages.is_empty() {
        format!("SendGrid answered {status}")
    } else {
        format!("SendGrid answered {status}: {}", messages.join("; "))
    }
}

impl EmailProvider for SendGridProvider {
    fn send<'a>(&'a self, msg: &'a EmailMessage) -> SendFuture<'a> {
        Box::pin(async move {
            check_email(msg)?;
            let answer = self
                .client
                .post(&self.endpoint)
                .bearer_auth(self.api_key.expose())
                .json(&self.body(msg))
                .send()
                .await
                .map_err(|e| transport_failure("SendGrid", e))?;
            let status = answer.status().as_u16();
            let header = |name: &str| answer.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
            if answer.status().is_success() {
                // 202 Accepted; the id SendGrid's events will name.
                let provider_id = header("x-message-id").unwrap_or_default();
                return Ok(Sent { provider: ProviderName::Sendgrid, provider_id, accepted_at: self.clock.now() });
            }
            let retry_after: Option<Duration> =
                header("retry-after").and_then(|v| parse_retry_after(&v, self.clock.now()));
            let body = answer.text().await.unwrap_or_default();
            Err(http_failure(status, error_reason(status, &body), retry_after))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_become_sendgrids_own_words() {
        let body = r#"{"errors":[{"message":"The from address does not match a verified Sender Identity.","field":"from","help":null}]}"#;
        assert_eq!(
            error_reason(403, body),
            "SendGrid answered 403: The from address does not match a verified Sender Identity. (from)"
        );
        assert_eq!(error_reason(500, "<html>oops</html>"), "SendGrid answered 500");
    }
}
