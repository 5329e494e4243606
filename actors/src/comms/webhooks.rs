//! What the providers tell us after sending: Twilio status callbacks and inbound texts
//! (STOP, START, HELP), and SendGrid's Event Webhook. This module checks their signatures
//! (pure functions, tested against the providers' documented schemes) and applies what they
//! report: a message's status moves forward only (`delivered`, `bounced`), bounces and
//! complaints revoke consent through [`Consent`], keywords update the ledger and get the
//! answer carriers require. A replayed event changes nothing: the status is already there and
//! a consent that already is so writes no ledger line.
//!
//! Must not trust anything of a request before its signature checked out, nor the `Host`
//! header (the signed URL is the configured one).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::consent::{ConsentActor, ConsentChange, ConsentSource};
use clowder_schemas::events::Author;
use clowder_schemas::jobs::Job;
use clowder_schemas::messages::{Channel, Message, MessageStatus, Purpose};
use clowder_schemas::values::Phone;
use clowder_schemas::{ClientId, MessageId};
use jiff::Timestamp;
use ring::{hmac, signature};

use super::ClinicProfile;
use super::consent::{self, Consent};
use super::messages::{failed_event, provider_key, same_status};
use super::providers::{Secret, mask_recipient};
use crate::ctx::Ctx;
use crate::error::Result;
use crate::store::tables::unique;
use crate::store::{ChangeSet, CommitError, IndexTable, RecordTable};

/// The webhooks' settings.
#[derive(Debug, Clone, Default)]
pub struct HooksConfig {
    /// Twilio's auth token: the key of `X-Twilio-Signature` (`None`: Twilio's hooks answer 401).
    pub twilio_auth_token: Option<Secret>,
    /// The status-callback URL exactly as Twilio is given it (`CLOWDER_TWILIO_STATUS_CALLBACK`);
    /// the `?clowder_key=` query of each call is appended to it to check the signature.
    pub twilio_status_url: Option<String>,
    /// The inbound-message URL set on the Twilio number (`CLOWDER_TWILIO_INBOUND_URL`).
    pub twilio_inbound_url: Option<String>,
    /// SendGrid's verification key: the uncompressed P-256 point of the configured SPKI
    /// (`None`: SendGrid's hook answers 401).
    pub sendgrid_key: Option<Vec<u8>>,
    /// Events signed longer ago than this are refused (replay).
    pub sendgrid_max_age: Duration,
}

/// The DER prefix of a P-256 `SubjectPublicKeyInfo` with an uncompressed point: SEQUENCE,
/// AlgorithmIdentifier (id-ecPublicKey, prime256v1), BIT STRING of 66 bytes (no unused bits).
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
    0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// The raw point of SendGrid's verification key, given as SendGrid shows it (base64 of a DER
/// `SubjectPublicKeyInfo`). Only the one form SendGrid issues is accepted: P-256 with an
/// uncompressed point, whose DER is a fixed 26-byte prefix and 65 bytes of point.
pub fn sendgrid_key(spki_base64: &str) -> std::result::Result<Vec<u8>, String> {
    let compact: String = spki_base64.chars().filter(|c| !c.is_whitespace()).collect();
    let der = STANDARD.decode(compact).map_err(|_| "is not base64".to_owned())?;
    match der.strip_prefix(&P256_SPKI_PREFIX[..]) {
        Some(point) if point.len() == 65 && point[0] == 0x04 => Ok(point.to_vec()),
        _ => Err("is not a P-256 public key (SubjectPublicKeyInfo, uncompressed point)".to_owned()),
    }
}

/// Checks `X-Twilio-Signature`: base64 of HMAC-SHA1, keyed with the auth token, over the URL
/// Twilio called followed by every POST parameter sorted by name, each name then its value.
pub fn twilio_signature_ok(auth_token: &str, url: &str, params: &[(String, String)], signature: &str) -> bool {
    let Ok(given) = STANDARD.decode(signature.trim()) else { return false };
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut data = url.to_owned();
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, auth_token.as_bytes());
    // ring compares in constant time.
    hmac::verify(&key, data.as_bytes(), &given).is_ok()
}

/// Checks SendGrid's Event Webhook signature: ECDSA P-256 with SHA-256 (DER, base64) over the
/// timestamp header's bytes followed by the raw body, and the timestamp no older than
/// `max_age` (nor more than a minute ahead).
pub fn sendgrid_signature_ok(
    point: &[u8],
    timestamp: &str,
    body: &[u8],
    signature: &str,
    now: Timestamp,
    max_age: Duration,
) -> bool {
    let Ok(secs) = timestamp.trim().parse::<i64>() else { return false };
    let age = now.as_second() - secs;
    if age > max_age.as_secs() as i64 || age < -60 {
        return false;
    }
    let Ok(sig) = STANDARD.decode(signature.trim()) else { return false };
    let mut data = timestamp.as_bytes().to_vec();
    data.extend_from_slice(body);
    signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, point).verify(&data, &sig).is_ok()
}

/// What an inbound text asks for. Carriers' (CTIA) keywords; the whole body, any case, spaces
/// around ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    Stop,
    Start,
    Help,
}

impl Keyword {
    pub fn of(body: &str) -> Option<Keyword> {
        let word = body.trim().to_ascii_uppercase();
        match word.as_str() {
            "STOP" | "STOPALL" | "UNSUBSCRIBE" | "CANCEL" | "END" | "QUIT" | "OPTOUT" | "REVOKE" => Some(Keyword::Stop),
            "START" | "YES" | "UNSTOP" | "OPTIN" => Some(Keyword::Start),
            "HELP" | "INFO" => Some(Keyword::Help),
            _ => None,
        }
    }
}

/// The answer to an inbound keyword (`None`: no answer).
pub fn keyword_reply(k: Option<Keyword>, clinic: &ClinicProfile) -> Option<String> {
    let name = &clinic.name;
    match k? {
        Keyword::Stop => Some(format!("You are unsubscribed from {name} messages. Reply START to resubscribe.")),
        Keyword::Start => Some(format!("You are resubscribed to {name} messages. Reply STOP to opt out.")),
        Keyword::Help => Some(match &clinic.phone {
            Some(p) => format!("{name}: appointment reminders and care messages. Call {p}. Reply STOP to opt out."),
            None => format!("{name}: appointment reminders and care messages. Reply STOP to opt out."),
        }),
    }
}

/// A delivery report, as the providers' events map to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    Delivered,
    /// Not delivered (the consent a hard bounce revokes is the caller's to name).
    Bounced {
        reason: String,
    },
}

/// Where a message may go on a report: forward only (`delivered` before `bounced`, since a
/// bounce may follow an acceptance by the receiving server; nothing after `bounced`; a
/// suppressed message was never sent).
pub fn advance(current: MessageStatus, report: &Report) -> Option<MessageStatus> {
    use MessageStatus::*;
    match (current, report) {
        (Queued | Sent | Failed | Dead, Report::Delivered) => Some(Delivered),
        (Queued | Sent | Failed | Dead | Delivered, Report::Bounced { .. }) => Some(Bounced),
        _ => None,
    }
}

/// The webhooks' service.
#[derive(Clone)]
pub struct Webhooks {
    ctx: Arc<Ctx>,
    consent: Consent,
}

impl Webhooks {
    pub fn new(ctx: Arc<Ctx>, consent: Consent) -> Webhooks {
        Webhooks { ctx, consent }
    }

    /// The settings.
    pub fn config(&self) -> &HooksConfig {
        &self.ctx.config.comms.hooks
    }

    /// The message a report names: by our job key, else by the provider's id.
    pub fn find(&self, key: Option<&str>, provider_id: Option<&str>) -> Result<Option<Message>> {
        let r = self.ctx.store.read()?;
        if let Some(key) = key.filter(|k| !k.is_empty())
            && let Some(job) = r.unique_owner(unique::JOB_KEY, key)?
            && let Some(job) = r.get::<Job>(RecordTable::Jobs, job)?
            && let Some(id) =
                job.payload.get("message_id").and_then(|v| v.as_str()).and_then(|s| s.parse::<MessageId>().ok())
            && let Some(m) = r.get::<Message>(RecordTable::Messages, id.as_u128())?
        {
            return Ok(Some(m));
        }
        if let Some(pid) = provider_id.map(str::trim).filter(|p| !p.is_empty()) {
            for id in r.children(IndexTable::MessagesByProviderId, provider_key(pid), None)? {
                if let Some(m) = r.get::<Message>(RecordTable::Messages, id)?
                    && m.provider_id.as_deref() == Some(pid)
                {
                    return Ok(Some(m));
                }
            }
        }
        Ok(None)
    }

    /// Applies a delivery report to a message, with the consent changes it implies, in one
    /// change set. Returns whether anything changed. A racing write of the message (its job
    /// recording `sent`) is retried a few times.
    pub async fn report(
        &self,
        message: MessageId,
        report: Option<Report>,
        revoke: &[(Channel, Purpose, ConsentSource)],
        evidence: &str,
    ) -> Result<bool> {
        let caller = Caller::system();
        let mut tries = 0;
        loop {
            tries += 1;
            let _one = self.consent.lock().await;
            let r = self.ctx.store.read()?;
            let Some(old) = r.get::<Message>(RecordTable::Messages, message.as_u128())? else { return Ok(false) };
            let mut set = ChangeSet::new();
            let mut changed = false;
            if let Some(report) = &report
                && let Some(status) = advance(old.status, report)
            {
                let now = self.ctx.clock.now();
                let mut new = Message { status, updated_at: now, ..old.clone() };
                if let Report::Bounced { reason, .. } = report {
                    new.last_error = Some(reason.clone());
                }
                set.require(RecordTable::Messages, message.as_u128(), "message", same_status(old.status));
                set.put(RecordTable::Messages, message.as_u128(), &new)?;
                set.audit(
                    AuditDraft::new(&caller, "message.report")
                        .record("message", message)
                        .detail(serde_json::json!({ "from": old.status, "to": status, "provider": old.provider })),
                );
                if status == MessageStatus::Bounced {
                    let reason = match report {
                        Report::Bounced { reason, .. } => reason.as_str(),
                        Report::Delivered => "",
                    };
                    set.event(Author::System, failed_event(&new, reason));
                }
                changed = true;
            }
            if let Some(client) = old.client_id {
                let mut prefs = consent::preferences_in(&r, client, &self.ctx.config.comms.quiet_hours)?;
                for &(channel, purpose, source) in revoke {
                    let change = ConsentChange {
                        channel,
                        purpose,
                        granted: false,
                        source,
                        evidence: Some(evidence.to_owned()),
                        note: None,
                    };
                    let who = match source {
                        ConsentSource::SmsKeyword => ConsentActor::Client,
                        _ => ConsentActor::Provider,
                    };
                    changed |= self.consent.record_into(&mut set, &mut prefs, change, who, false, &caller)?.is_some();
                }
            }
            drop(r);
            if !changed {
                return Ok(false);
            }
            match self.ctx.store.commit(set).await {
                Ok(_) => return Ok(true),
                Err(CommitError::Changed { .. }) if tries < 3 => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// An inbound text from `from`: a keyword updates the SMS consent of every client with
    /// that number; the answer to send back (TwiML's `<Message>`), if any.
    pub async fn inbound(&self, from: &str, body: &str, sid: &str) -> Result<Option<String>> {
        let keyword = Keyword::of(body);
        let masked = mask_recipient(from);
        let Some(k) = keyword else {
            // Not a keyword: the front desk reads replies on the clinic's phone; we keep none.
            tracing::info!(target: "clowder::comms", from = %masked, chars = body.chars().count(), "an inbound text that is not a keyword");
            return Ok(None);
        };
        let phone = Phone::parse("From", from, &self.ctx.config.country_code).ok();
        let clients: Vec<ClientId> = match &phone {
            Some(p) if k != Keyword::Help => self.consent.clients_with_phone(p)?,
            _ => Vec::new(),
        };
        let evidence: String =
            format!("inbound text {:?} (MessageSid {})", body.trim(), sid).chars().take(300).collect();
        let change = |purpose, granted| ConsentChange {
            channel: Channel::Sms,
            purpose,
            granted,
            source: ConsentSource::SmsKeyword,
            evidence: Some(evidence.clone()),
            note: None,
        };
        let changes = match k {
            Keyword::Stop => vec![change(Purpose::Transactional, false), change(Purpose::Marketing, false)],
            // START restores what STOP took for care messages; marketing needs its own opt-in.
            Keyword::Start => vec![change(Purpose::Transactional, true)],
            Keyword::Help => Vec::new(),
        };
        if !changes.is_empty() {
            let written = self.consent.record_many(&clients, &changes, ConsentActor::Client, &Caller::system()).await?;
            tracing::info!(target: "clowder::comms", from = %masked, keyword = ?k, clients = clients.len(), ledger = written.len(), "an SMS keyword");
        }
        Ok(keyword_reply(Some(k), &self.ctx.config.comms.clinic))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_the_whole_body_in_any_case() {
        for s in ["STOP", " stop ", "StopAll", "unsubscribe", "cancel", "END", "quit", "optout", "revoke"] {
            assert_eq!(Keyword::of(s), Some(Keyword::Stop), "{s}");
        }
        for s in ["start", "YES", "unstop", "OptIn"] {
            assert_eq!(Keyword::of(s), Some(Keyword::Start), "{s}");
        }
        assert_eq!(Keyword::of("help"), Some(Keyword::Help));
        assert_eq!(Keyword::of("info"), Some(Keyword::Help));
        for s in ["please stop", "stop!", "", "STOP STOP"] {
            assert_eq!(Keyword::of(s), None, "{s}");
        }
    }

    #[test]
    fn twilio_signatures_follow_the_documented_example() {
        // The example of Twilio's documentation (TwilioDevEd/api-snippets, signature_validation).
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675310"),
            ("Digits", "1234"),
            ("From", "+14158675310"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let token = "12345";
        let good = "GvWf1cFY/Q7PnoempGyD5oXAezc=";
        assert!(twilio_signature_ok(token, url, &params, good));
        assert!(!twilio_signature_ok("54321", url, &params, good));
        assert!(!twilio_signature_ok(token, "https://evil.example/myapp.php?foo=1&bar=2", &params, good));
        assert!(!twilio_signature_ok(token, url, &params[1..], good));
        assert!(!twilio_signature_ok(token, url, &params, "not base64!"));
    }

    #[test]
    fn sendgrid_signatures_and_keys() {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = signature::EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let pair =
            signature::EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
                .unwrap();
        use ring::signature::KeyPair;
        let mut spki = P256_SPKI_PREFIX.to_vec();
        spki.extend_from_slice(pair.public_key().as_ref());
        let point = sendgrid_key(&STANDARD.encode(&spki)).unwrap();
        let now: Timestamp = "2026-03-02T15:00:00Z".parse().unwrap();
        let ts = now.as_second().to_string();
        let body = br#"[{"event":"delivered"}]"#;
        let mut data = ts.as_bytes().to_vec();
        data.extend_from_slice(body);
        let sig = STANDARD.encode(pair.sign(&rng, &data).unwrap());
        let age = Duration::from_secs(600);
        assert!(sendgrid_signature_ok(&point, &ts, body, &sig, now, age));
        assert!(!sendgrid_signature_ok(&point, &ts, br#"[{"event":"bounce"}]"#, &sig, now, age));
        let later = now.checked_add(jiff::SignedDuration::from_mins(11)).unwrap();
        assert!(!sendgrid_signature_ok(&point, &ts, body, &sig, later, age), "a replay after 10 minutes");
        assert!(sendgrid_key("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE").is_err());
        assert!(sendgrid_key("!!").is_err());
    }

    #[test]
    fn statuses_only_move_forward() {
        let bounce = Report::Bounced { reason: "550".into() };
        assert_eq!(advance(MessageStatus::Sent, &Report::Delivered), Some(MessageStatus::Delivered));
        assert_eq!(advance(MessageStatus::Delivered, &Report::Delivered), None);
        assert_eq!(advance(MessageStatus::Delivered, &bounce), Some(MessageStatus::Bounced));
        assert_eq!(advance(MessageStatus::Bounced, &Report::Delivered), None);
        assert_eq!(advance(MessageStatus::Suppressed, &bounce), None);
    }
}
