//! Signed, expiring links sent to clients (confirm or cancel an appointment, accept a waitlist
//! offer, unsubscribe, a tracked click): whoever holds the link may do that one thing, without
//! signing in, until it expires.
//!
//! A token is `base64url(payload ‖ mac)`: the payload is a version byte, the purpose, the
//! subject (a record's 128-bit id) and the expiry (minutes since the Unix epoch, 32 bits); the
//! MAC is HMAC-SHA-256 over the payload, cut to 96 bits, under the store's link key
//! (`Store::link_key`, made at the first open and carried by backups, so a restored server
//! honours its links). 46 characters: short enough for a text message. A token names no
//! client and holds no personal data; the handler loads the subject and checks its state.
//!
//! Each purpose has its own path prefix (`/l/<prefix>/<token>`), so each area owns its route.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use ring::hmac;

const VERSION: u8 = 1;
const PAYLOAD: usize = 1 + 1 + 16 + 4;
const MAC: usize = 12;

/// What a link lets its holder do. The code is part of the signed payload: never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkPurpose {
    /// Confirm an appointment (subject: the appointment).
    ConfirmAppointment,
    /// Cancel an appointment within the clinic's policy (subject: the appointment).
    CancelAppointment,
    /// Ask to move an appointment (subject: the appointment).
    RescheduleAppointment,
    /// Accept a waitlist offer (subject: the offer).
    AcceptOffer,
    /// Stop marketing messages (subject: the client), RFC 8058 one-click.
    Unsubscribe,
    /// A tracked click in an email (subject: the message).
    Click,
    /// The open pixel of an email (subject: the message).
    Open,
    /// Confirm a newsletter subscription, the second step of double opt-in (subject: the client).
    ConfirmSubscription,
}

impl LinkPurpose {
    const ALL: [LinkPurpose; 8] = [
        LinkPurpose::ConfirmAppointment,
        LinkPurpose::CancelAppointment,
        LinkPurpose::RescheduleAppointment,
        LinkPurpose::AcceptOffer,
        LinkPurpose::Unsubscribe,
        LinkPurpose::Click,
        LinkPurpose::Open,
        LinkPurpose::ConfirmSubscription,
    ];

    fn code(self) -> u8 {
        match self {
            LinkPurpose::ConfirmAppointment => 1,
            LinkPurpose::CancelAppointment => 2,
            LinkPurpose::RescheduleAppointment => 3,
            LinkPurpose::AcceptOffer => 4,
            LinkPurpose::Unsubscribe => 5,
            LinkPurpose::Click => 6,
            LinkPurpose::Open => 7,
            LinkPurpose::ConfirmSubscription => 8,
        }
    }

    /// The path segment after `/l/` that this purpose's route serves.
    pub fn prefix(self) -> &'static str {
        match self {
            LinkPurpose::ConfirmAppointment => "confirm",
            LinkPurpose::CancelAppointment => "cancel",
            LinkPurpose::RescheduleAppointment => "reschedule",
            LinkPurpose::AcceptOffer => "offer",
            LinkPurpose::Unsubscribe => "unsubscribe",
            LinkPurpose::Click => "click",
            LinkPurpose::Open => "open",
            LinkPurpose::ConfirmSubscription => "subscribe",
        }
    }
}

/// A link whose signature checked out and that has not expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedLink {
    pub purpose: LinkPurpose,
    /// The record the link acts on (an appointment, client, message, waitlist entry).
    pub subject: u128,
    pub expires_at: Timestamp,
}

/// Why a link was refused. Handlers answer `Malformed` and `Forged` alike (404: nothing to
/// learn from the difference) and `Expired` with a page saying so.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the link is not one of ours")]
    Malformed,
    #[error("the link's signature does not match")]
    Forged,
    #[error("the link is for another purpose")]
    WrongPurpose,
    #[error("the link expired at {0}")]
    Expired(Timestamp),
}

/// Signs and checks links under the store's key, and writes their URLs.
#[derive(Clone)]
pub struct Links {
    key: hmac::Key,
    base_url: String,
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Links").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

impl Links {
    /// Links signed with `key` (the store's link key) pointing at `base_url` (an origin).
    pub fn new(key: &[u8; 32], base_url: &str) -> Links {
        Links { key: hmac::Key::new(hmac::HMAC_SHA256, key), base_url: base_url.trim_end_matches('/').to_owned() }
    }

    /// The token of a link for `purpose` on `subject`, valid until `expires_at` (rounded up
    /// to the minute).
    pub fn token(&self, purpose: LinkPurpose, subject: u128, expires_at: Timestamp) -> String {
        let secs = expires_at.as_second().max(0);
        let minutes = u32::try_from((secs + 59) / 60).unwrap_or(u32::MAX);
        let mut bytes = Vec::with_capacity(PAYLOAD + MAC);
        bytes.push(VERSION);
        bytes.push(purpose.code());
        bytes.extend_from_slice(&subject.to_be_bytes());
        bytes.extend_from_slice(&minutes.to_be_bytes());
        let tag = hmac::sign(&self.key, &bytes);
        bytes.extend_from_slice(&tag.as_ref()[..MAC]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The full URL: `<public origin>/l/<prefix>/<token>`.
    pub fn url(&self, purpose: LinkPurpose, subject: u128, expires_at: Timestamp) -> String {
        format!("{}/l/{}/{}", self.base_url, purpose.prefix(), self.token(purpose, subject, expires_at))
    }

    /// Checks a token taken from the route of `purpose`: its signature, purpose and expiry.
    pub fn verify(&self, purpose: LinkPurpose, token: &str, now: Timestamp) -> Result<SignedLink, LinkError> {
        if token.len() > 64 {
            return Err(LinkError::Malformed);
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| LinkError::Malformed)?;
        if bytes.len() != PAYLOAD + MAC || bytes[0] != VERSION {
            return Err(LinkError::Malformed);
        }
        let (payload, mac) = bytes.split_at(PAYLOAD);
        let tag = hmac::sign(&self.key, payload);
        // Compared without an early exit, so timing tells nothing about how much matched.
        let diff = tag.as_ref()[..MAC].iter().zip(mac).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if diff != 0 {
            return Err(LinkError::Forged);
        }
        let found = LinkPurpose::ALL.into_iter().find(|p| p.code() == payload[1]).ok_or(LinkError::Malformed)?;
        if found != purpose {
            return Err(LinkError::WrongPurpose);
        }
        let subject = u128::from_be_bytes(payload[2..18].try_into().map_err(|_| LinkError::Malformed)?);
        let minutes = u32::from_be_bytes(payload[18..22].try_into().map_err(|_| LinkError::Malformed)?);
        let expires_at = Timestamp::from_second(i64::from(minutes) * 60).map_err(|_| LinkError::Malformed)?;
        if now >= expires_at {
            return Err(LinkError::Expired(expires_at));
        }
        Ok(SignedLink { purpose, subject, expires_at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> Links {
        Links::new(&[7u8; 32], "https://clinic.example/")
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_link_verifies_until_it_expires() {
        let l = links();
        let exp = at("2026-03-02T15:00:00Z");
        let url = l.url(LinkPurpose::ConfirmAppointment, 42, exp);
        let token = url.strip_prefix("https://clinic.example/l/confirm/").unwrap();
        assert_eq!(token.len(), 46);
        let ok = l.verify(LinkPurpose::ConfirmAppointment, token, at("2026-03-02T14:59:00Z")).unwrap();
        assert_eq!((ok.subject, ok.expires_at), (42, exp));
        assert_eq!(l.verify(LinkPurpose::ConfirmAppointment, token, exp), Err(LinkError::Expired(exp)));
    }

    #[test]
    fn tampering_another_key_or_purpose_is_refused() {
        let l = links();
        let now = at("2026-03-01T00:00:00Z");
        let token = l.token(LinkPurpose::Unsubscribe, u128::MAX, at("2026-04-01T00:00:00Z"));
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        bytes[5] ^= 1;
        let tampered = URL_SAFE_NO_PAD.encode(&bytes);
        assert_eq!(l.verify(LinkPurpose::Unsubscribe, &tampered, now), Err(LinkError::Forged));
        let other = Links::new(&[8u8; 32], "https://clinic.example");
        assert_eq!(other.verify(LinkPurpose::Unsubscribe, &token, now), Err(LinkError::Forged));
        assert_eq!(l.verify(LinkPurpose::Click, &token, now), Err(LinkError::WrongPurpose));
        for junk in ["", "abc", "!!!!", &"A".repeat(200), &token[..token.len() - 1]] {
            assert_eq!(l.verify(LinkPurpose::Unsubscribe, junk, now), Err(LinkError::Malformed), "{junk}");
        }
    }
}
