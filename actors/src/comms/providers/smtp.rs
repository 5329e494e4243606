//! The SMTP provider: lettre's tokio transport with rustls (ring), STARTTLS, implicit TLS or
//! (on the same machine only) none, AUTH when credentials are set. One connection per message
//! (no pool yet: the scheduler's concurrency bounds the connections).
//!
//! Each message gets the `Message-ID` of its key (`<hash@sender-domain>`), a plain-text part
//! and, with HTML, a `multipart/alternative`; with attachments, a `multipart/mixed` of the body and
//! the files. Errors: a 5xx reply (bad address, refused
//! AUTH, rejected content) and what lettre refuses itself (a relay without STARTTLS, no AUTH
//! mechanism in common) are `Permanent`; a 4xx reply, a timeout, a refused or broken
//! connection or a failed TLS handshake (an untrusted certificate) is `Retry`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use clowder_schemas::comms::{EmailMessage, Mailbox, ProviderName, Sent};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox as LettreMailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{
    CommsConfig, ConfigError, EmailProvider, SendError, SendFuture, SmtpConfig, SmtpTls, check_email, domain_of,
    message_id,
};
use crate::clock::Clock;

/// Sends email through an SMTP relay.
pub struct SmtpProvider {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    timeout: Duration,
    clock: Arc<dyn Clock>,
}

impl SmtpProvider {
    /// A provider for the relay in `smtp`; nothing connects until the first message.
    pub fn new(smtp: &SmtpConfig, config: &CommsConfig, clock: Arc<dyn Clock>) -> Result<Self, ConfigError> {
        let tls_parameters = || {
            let mut builder = TlsParameters::builder(smtp.host.clone());
            if let Some(pem) = &smtp.extra_roots_pem {
                let cert = Certificate::from_pem(pem)
                    .map_err(|e| ConfigError(format!("CLOWDER_SMTP_CA_FILE is not a PEM certificate: {e}")))?;
                builder = builder.add_root_certificate(cert);
            }
            builder.build_rustls().map_err(|e| ConfigError(format!("SMTP TLS settings: {e}")))
        };
        let tls = match smtp.tls {
            SmtpTls::Starttls => Tls::Required(tls_parameters()?),
            SmtpTls::Tls => Tls::Wrapper(tls_parameters()?),
            SmtpTls::None => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.clone())
            .port(smtp.port)
            .tls(tls)
            .timeout(Some(config.timeout))
            // EHLO names the sender's domain rather than looking up the host name.
            .hello_name(ClientId::Domain(domain_of(&config.from.email).to_owned()));
        if let Some((user, password)) = &smtp.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
        }
        Ok(Self { transport: builder.build(), from: config.from.clone(), timeout: config.timeout, clock })
    }

    /// The MIME message of `msg`, with its deterministic `Message-ID` and our clock's `Date`.
    fn build(&self, msg: &EmailMessage, id: &str) -> Result<Message, SendError> {
        let from = msg.from.as_ref().unwrap_or(&self.from);
        let mut builder = Message::builder()
            .from(mailbox(from)?)
            .to(mailbox(&msg.to)?)
            .subject(msg.subject.trim())
            .message_id(Some(id.to_owned()))
            .date(SystemTime::from(self.clock.now()));
        if let Some(reply_to) = &msg.reply_to {
            builder = builder.reply_to(mailbox(reply_to)?);
        }
        let built = match (&msg.html, msg.attachments.is_empty()) {
            (Some(html), true) => builder.multipart(MultiPart::alternative_plain_html(msg.text.clone(), html.clone())),
            (None, true) => builder.singlepart(SinglePart::plain(msg.text.clone())),
            // With files: `multipart/mixed`, the body first, then each file as an attachment.
            (html, false) => {
                let mut mixed = match html {
                    Some(html) => {
                        MultiPart::mixed().multipart(MultiPart::alternative_plain_html(msg.text.clone(), html.clone()))
                    }
                    None => MultiPart::mixed().singlepart(SinglePart::plain(msg.text.clone())),
                };
                for a in &msg.attachments {
                    let kind = ContentType::parse(&a.content_type)
                        .map_err(|e| SendError::permanent(format!("attachment {}: {e}", a.filename)))?;
                    mixed = mixed.singlepart(Attachment::new(a.filename.clone()).body(a.content.clone(), kind));
                }
                builder.multipart(mixed)
            }
        };
        let mut message = built.map_err(|e| SendError::permanent(format!("the message cannot be built: {e}")))?;
        for h in &msg.headers {
            let name = HeaderName::new_from_ascii(h.name().to_owned())
                .map_err(|e| SendError::permanent(format!("header {}: {e}", h.name())))?;
            message.headers_mut().insert_raw(HeaderValue::new(name, h.value().to_owned()));
        }
        Ok(message)
    }
}

fn mailbox(m: &Mailbox) -> Result<LettreMailbox, SendError> {
    let address = m
        .email
        .as_str()
        .parse()
        .map_err(|e| SendError::permanent(format!("{} is not an address SMTP accepts: {e}", m.email)))?;
    Ok(LettreMailbox::new(m.name.clone(), address))
}

/// Retry or give up, by what went wrong (see the module doc).
fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    let reason = format!("SMTP: {e}");
    if e.is_permanent() {
        SendError::permanent(reason)
    } else if e.is_client() {
        // Our side refused to send (e.g. an address the relay's dialect cannot carry).
        SendError::permanent(reason)
    } else {
        // 4xx replies, timeouts, connection and TLS failures, a relay that hung up.
        SendError::retry(reason)
    }
}

impl EmailProvider for SmtpProvider {
    fn send<'a>(&'a self, msg: &'a EmailMessage) -> SendFuture<'a> {
        Box::pin(async move {
            check_email(msg)?;
            let domain = domain_of(&msg.from.as_ref().unwrap_or(&self.from).email).to_owned();
            let id = message_id(&msg.key, &domain);
            let message = self.build(msg, &id)?;
            // lettre's timeout bounds connecting and each command; this bounds the whole
            // exchange (a relay that trickles its answers, a greeting that never comes).
            match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
                Err(_) => Err(SendError::retry(format!("SMTP: timed out after {:?}", self.timeout))),
                Ok(Err(e)) => Err(classify(&e)),
                Ok(Ok(_response)) => {
                    Ok(Sent { provider: ProviderName::Smtp, provider_id: id, accepted_at: self.clock.now() })
                }
            }
        })
    }
}
