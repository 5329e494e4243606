//! The `log` provider, for development and the demo: each message becomes one structured log
//! line (recipient masked, no subject or body) and a receipt, and nothing leaves the machine.
//!
//! It is also what a server runs with before a provider is configured, so the line carries
//! no personal data beyond the masked recipient (subjects name clients and cats) and no body
//! (reminders will carry signed links, and logs must hold no secret).

use std::sync::Arc;

use clowder_schemas::comms::{EmailMessage, ProviderName, Sent, SmsMessage};

use super::{
    CommsConfig, EmailProvider, SendFuture, SmsProvider, check_email, check_sms, domain_of, key_hash, mask_email,
    mask_phone, message_id,
};
use crate::clock::Clock;

/// Writes messages to the log.
pub struct LogProvider {
    clock: Arc<dyn Clock>,
    from_domain: String,
    max_segments: usize,
}

impl LogProvider {
    pub fn new(config: &CommsConfig, clock: Arc<dyn Clock>) -> Self {
        Self { clock, from_domain: domain_of(&config.from.email).to_owned(), max_segments: config.max_sms_segments }
    }

    fn sent(&self, msg_key: &clowder_schemas::comms::MessageKey) -> Sent {
        // Derived from the key, so the same message logged twice shows the same id.
        Sent {
            provider: ProviderName::Log,
            provider_id: format!("log-{}", key_hash(msg_key)),
            accepted_at: self.clock.now(),
        }
    }
}

impl EmailProvider for LogProvider {
    fn send<'a>(&'a self, msg: &'a EmailMessage) -> SendFuture<'a> {
        Box::pin(async move {
            check_email(msg)?;
            let domain = msg.from.as_ref().map_or(self.from_domain.as_str(), |f| domain_of(&f.email));
            let sent = self.sent(&msg.key);
            tracing::info!(
                target: "clowder::comms",
                provider = "log",
                channel = "email",
                to = %mask_email(&msg.to.email),
                subject_chars = msg.subject.chars().count(),
                text_chars = msg.text.chars().count(),
                key = %msg.key,
                message_id = %message_id(&msg.key, domain),
                provider_id = %sent.provider_id,
                html = msg.html.is_some(),
                headers = msg.headers.len(),
                "email written to the log (log provider: not sent)"
            );
            Ok(sent)
        })
    }
}

impl SmsProvider for LogProvider {
    fn send<'a>(&'a self, msg: &'a SmsMessage) -> SendFuture<'a> {
        Box::pin(async move {
            let segments = check_sms(msg, self.max_segments)?;
            let sent = self.sent(&msg.key);
            tracing::info!(
                target: "clowder::comms",
                provider = "log",
                channel = "sms",
                to = %mask_phone(&msg.to),
                key = %msg.key,
                provider_id = %sent.provider_id,
                segments = segments.count,
                encoding = ?segments.encoding,
                "text written to the log (log provider: not sent)"
            );
            Ok(sent)
        })
    }
}
