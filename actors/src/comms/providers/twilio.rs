//! The Twilio provider: `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json` with
//! HTTP Basic auth (AccountSid:AuthToken) and a form body (`To`, `From` or
//! `MessagingServiceSid`, `Body`, `StatusCallback`).
//!
//! Twilio's Messages API takes no idempotency key. The key rides in the status callback's
//! URL (`clowder_key=`), so the delivery webhook (next session) can tie a message Twilio
//! accepted to its job even if we crashed before recording the `sid`.
//! 201 → `Sent` with the message `sid`; 429, 5xx and error 21611 (the sender's queue is full)
//! → `Retry`; other 4xx (21211 invalid number, 21610 unsubscribed recipient, 20003 bad
//! credentials, …) → `Permanent` with Twilio's code and message.

use std::sync::Arc;

use clowder_schemas::comms::{ProviderName, Sent, SmsMessage};
use serde::Deserialize;

use super::{
    CommsConfig, ConfigError, Secret, SendError, SendFuture, SmsProvider, TwilioConfig, TwilioSender, base_url,
    check_sms, http_client, http_failure, parse_retry_after, transport_failure,
};
use crate::clock::Clock;

/// Twilio's "queue overflow": too many messages waiting on the sender; later is fine.
const QUEUE_FULL: u32 = 21611;

/// Sends texts through Twilio's Messages resource.
pub struct TwilioProvider {
    client: reqwest::Client,
    endpoint: String,
    account_sid: String,
    auth_token: Secret,
    sender: TwilioSender,
    status_callback: Option<reqwest::Url>,
    max_segments: usize,
    clock: Arc<dyn Clock>,
}

/// The created Message resource (only what we read).
#[derive(Deserialize)]
struct Created {
    sid: String,
}

/// Twilio's error body: `{"code", "message", "more_info", "status"}`.
#[derive(Deserialize)]
struct TwilioError {
    code: Option<u32>,
    #[serde(default)]
    message: String,
}

impl TwilioProvider {
    pub fn new(tw: &TwilioConfig, config: &CommsConfig, clock: Arc<dyn Clock>) -> Result<Self, ConfigError> {
        let sid_ok = tw.account_sid.starts_with("AC")
            && tw.account_sid.len() == 34
            && tw.account_sid.bytes().all(|b| b.is_ascii_alphanumeric());
        if !sid_ok {
            return Err(ConfigError("CLOWDER_TWILIO_ACCOUNT_SID must be an Account SID (AC and 32 characters)".into()));
        }
        if tw.auth_token.expose().trim().is_empty() {
            return Err(ConfigError("CLOWDER_TWILIO_AUTH_TOKEN is required with the twilio provider".into()));
        }
        let status_callback = match &tw.status_callback {
            None => None,
            Some(url) => Some(
                reqwest::Url::parse(url)
                    .map_err(|e| ConfigError(format!("CLOWDER_TWILIO_STATUS_CALLBACK: {url:?} is not a URL: {e}")))?,
            ),
        };
        let base = base_url("CLOWDER_TWILIO_BASE_URL", &tw.base_url)?;
        Ok(Self {
            client: http_client(config.timeout)?,
            endpoint: format!("{base}/2010-04-01/Accounts/{}/Messages.json", tw.account_sid),
            account_sid: tw.account_sid.clone(),
            auth_token: tw.auth_token.clone(),
            sender: tw.sender.clone(),
            status_callback,
            max_segments: config.max_sms_segments,
            clock,
        })
    }

    fn form(&self, msg: &SmsMessage) -> Vec<(&'static str, String)> {
        let mut form = vec![("To", msg.to.as_str().to_owned())];
        match &self.sender {
            TwilioSender::From(from) => form.push(("From", from.clone())),
            TwilioSender::MessagingService(sid) => form.push(("MessagingServiceSid", sid.clone())),
        }
        form.push(("Body", msg.body.clone()));
        if let Some(url) = &self.status_callback {
            let mut url = url.clone();
            url.query_pairs_mut().append_pair("clowder_key", msg.key.as_str());
            form.push(("StatusCallback", url.into()));
        }
        form
    }
}

/// Retry or give up, from the status and Twilio's error body.
fn failure(status: u16, body: &str, retry_after: Option<std::time::Duration>) -> SendError {
    let parsed = serde_json::from_str::<TwilioError>(body).ok();
    let reason = match &parsed {
        Some(TwilioError { code: Some(code), message }) => format!("Twilio answered {status}: error {code}: {message}"),
        Some(TwilioError { code: None, message }) if !message.is_empty() => {
            format!("Twilio answered {status}: {message}")
        }
        _ => format!("Twilio answered {status}"),
    };
    match parsed.and_then(|p| p.code) {
        Some(QUEUE_FULL) => SendError::Retry { reason, after: retry_after },
        _ => http_failure(status, reason, retry_after),
    }
}

impl SmsProvider for TwilioProvider {
    fn send<'a>(&'a self, msg: &'a SmsMessage) -> SendFuture<'a> {
        Box::pin(async move {
            check_sms(msg, self.max_segments)?;
            let answer = self
                .client
                .post(&self.endpoint)
                .basic_auth(&self.account_sid, Some(self.auth_token.expose()))
                .form(&self.form(msg))
                .send()
                .await
                .map_err(|e| transport_failure("Twilio", e))?;
            let status = answer.status().as_u16();
            if answer.status().is_success() {
                let body = answer.text().await.unwrap_or_default();
                // Accepted: even if the body is unreadable, sending again would send twice.
                let provider_id = serde_json::from_str::<Created>(&body).map(|c| c.sid).unwrap_or_else(|_| {
                    tracing::warn!(target: "clowder::comms", status, "Twilio accepted a message but its answer had no sid");
                    String::new()
                });
                return Ok(Sent { provider: ProviderName::Twilio, provider_id, accepted_at: self.clock.now() });
            }
            let retry_after = answer
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, self.clock.now()));
            let body = answer.text().await.unwrap_or_default();
            Err(failure(status, &body, retry_after))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilio_errors_split_by_status_and_code() {
        let body = |code: u32, m: &str| {
            format!(
                r#"{{"code":{code},"message":"{m}","more_info":"https://www.twilio.com/docs/errors/{code}","status":400}}"#
            )
        };
        let invalid = failure(400, &body(21211, "The 'To' number is not a valid phone number."), None);
        assert_eq!(
            invalid,
            SendError::permanent("Twilio answered 400: error 21211: The 'To' number is not a valid phone number.")
        );
        assert!(!failure(400, &body(21610, "Attempt to send to unsubscribed recipient"), None).is_retry());
        assert!(!failure(401, &body(20003, "Authenticate"), None).is_retry());
        assert!(failure(400, &body(21611, "queue overflow"), None).is_retry());
        assert!(failure(429, &body(20429, "Too Many Requests"), None).is_retry());
        assert!(failure(503, "", None).is_retry());
        assert_eq!(failure(502, "<html/>", None), SendError::retry("Twilio answered 502"));
    }
}
