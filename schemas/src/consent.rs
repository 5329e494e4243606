//! A client's communication preferences and consent ledger (DOMAIN.md "Communication
//! preferences and consent"): which channels they accept, the consent they gave or withdrew
//! per channel and purpose, the hours messages may arrive and the marketing frequency cap.
//!
//! The ledger ([`ConsentEntry`]) is append-only: who granted or revoked what, when, how and on
//! what evidence. The current state is kept in the client's [`Preferences`] record, written in
//! the same change set as the entry that changed it, so the send-time gate reads one record.
//! Checking and deciding only: storing is `clowder_actors::comms::consent`.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::errors::ValidationError;
use crate::ids::{ClientId, ConsentEntryId, UserId};
use crate::messages::{Channel, Purpose};
use crate::records::Record;

/// The default hours messages may arrive, in the clinic's zone: 09:00 to 19:00.
pub const DEFAULT_QUIET_START: &str = "09:00";
/// See [`DEFAULT_QUIET_START`].
pub const DEFAULT_QUIET_END: &str = "19:00";
/// Marketing messages per 7 days unless the client's preferences say otherwise.
pub const DEFAULT_MARKETING_CAP: u32 = 2;
/// The largest cap staff may set.
pub const MAX_MARKETING_CAP: u32 = 50;

/// A part of the day, `HH:MM` to `HH:MM` (start included, end excluded), in the clinic's zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeWindow {
    /// `HH:MM`, e.g. `09:00`.
    pub start: String,
    /// `HH:MM`, after `start`, e.g. `19:00` (`24:00`: until midnight).
    pub end: String,
}

/// Minutes since midnight of `HH:MM` (`24:00` allowed as an end).
fn minutes(field: &str, s: &str, end: bool) -> Result<u16, ValidationError> {
    let bad = || ValidationError::new(field, "must be a time of day as HH:MM");
    let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u16 = h.parse().map_err(|_| bad())?;
    let m: u16 = m.parse().map_err(|_| bad())?;
    if m > 59 || h > 24 || (h == 24 && (m != 0 || !end)) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

impl TimeWindow {
    /// The default sending hours, 09:00–19:00.
    pub fn default_quiet_hours() -> TimeWindow {
        TimeWindow { start: DEFAULT_QUIET_START.into(), end: DEFAULT_QUIET_END.into() }
    }

    /// Checks the window (`field` names it in errors) and writes it in its canonical form.
    pub fn validate(&self, field: &str) -> Result<TimeWindow, ValidationError> {
        let (s, e) = (
            minutes(&format!("{field}.start"), &self.start, false)?,
            minutes(&format!("{field}.end"), &self.end, true)?,
        );
        if s >= e {
            // Windows across midnight are not supported: a clinic's messages never need one.
            return Err(ValidationError::new(format!("{field}.end"), "must be after start (same day)"));
        }
        Ok(TimeWindow { start: self.start.trim().to_owned(), end: self.end.trim().to_owned() })
    }

    /// `(start, end)` in minutes since midnight; `None` if the stored text is malformed.
    pub fn span(&self) -> Option<(u16, u16)> {
        Some((minutes("start", &self.start, false).ok()?, minutes("end", &self.end, true).ok()?))
    }
}

/// What one channel may carry for a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChannelPreferences {
    /// The client accepts this channel at all (a preference staff set; `false` suppresses
    /// everything on it).
    pub allowed: bool,
    /// Current consent to transactional messages (reminders, confirmations): granted unless
    /// revoked (STOP, a hard bounce, staff).
    pub transactional: bool,
    /// Current consent to marketing (campaigns, newsletters, birthday offers): off until the
    /// client opts in.
    pub marketing: bool,
}

impl Default for ChannelPreferences {
    fn default() -> Self {
        ChannelPreferences { allowed: true, transactional: true, marketing: false }
    }
}

impl ChannelPreferences {
    /// The current consent for `purpose`.
    pub fn consents(&self, purpose: Purpose) -> bool {
        match purpose {
            Purpose::Transactional => self.transactional,
            Purpose::Marketing => self.marketing,
        }
    }

    fn set(&mut self, purpose: Purpose, granted: bool) {
        match purpose {
            Purpose::Transactional => self.transactional = granted,
            Purpose::Marketing => self.marketing = granted,
        }
    }
}

/// A client's communication preferences and current consent (one record per client, keyed by
/// the client's id). A client without one has [`Preferences::defaults`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Preferences {
    pub client_id: ClientId,
    pub email: ChannelPreferences,
    pub sms: ChannelPreferences,
    /// Messages are sent only inside these hours (clinic's zone); outside them they wait.
    pub quiet_hours: TimeWindow,
    /// A narrower part of the day the client prefers, if any (inside `quiet_hours`).
    pub preferred_time: Option<TimeWindow>,
    /// At most this many marketing messages per 7 days (0: none).
    pub marketing_cap: u32,
    /// `None` until someone changes them.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub updated_at: Option<Timestamp>,
    pub updated_by: Option<UserId>,
}

/// Version history: v1.
impl Record for Preferences {
    const KIND: &'static str = "preferences";
    const VERSION: u16 = 1;
}

impl Preferences {
    /// What a client who never said anything has: both channels, transactional yes,
    /// marketing no, 09:00–19:00, cap 2.
    pub fn defaults(client_id: ClientId) -> Preferences {
        Preferences {
            client_id,
            email: ChannelPreferences::default(),
            sms: ChannelPreferences::default(),
            quiet_hours: TimeWindow::default_quiet_hours(),
            preferred_time: None,
            marketing_cap: DEFAULT_MARKETING_CAP,
            updated_at: None,
            updated_by: None,
        }
    }

    /// The channel's preferences.
    pub fn channel(&self, channel: Channel) -> &ChannelPreferences {
        match channel {
            Channel::Email => &self.email,
            Channel::Sms => &self.sms,
        }
    }

    /// Sets the current consent of one channel and purpose; true if it changed.
    pub fn set_consent(&mut self, channel: Channel, purpose: Purpose, granted: bool) -> bool {
        let c = match channel {
            Channel::Email => &mut self.email,
            Channel::Sms => &mut self.sms,
        };
        let changed = c.consents(purpose) != granted;
        c.set(purpose, granted);
        changed
    }

    /// The hours a message may be sent: `quiet_hours`, narrowed by `preferred_time`, in
    /// minutes since midnight (`None`: malformed stored text, treated as no restriction).
    pub fn send_window(&self) -> Option<(u16, u16)> {
        let (s, e) = self.quiet_hours.span()?;
        match self.preferred_time.as_ref().and_then(TimeWindow::span) {
            Some((ps, pe)) if ps.max(s) < pe.min(e) => Some((ps.max(s), pe.min(e))),
            _ => Some((s, e)),
        }
    }
}

/// Whether a channel is accepted at all (`PUT …/preferences`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelsAllowed {
    pub email: bool,
    pub sms: bool,
}

/// The body of `PUT /api/clients/{id}/preferences`: every editable preference (consent is
/// changed through the ledger, `POST …/consent`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePreferences {
    pub channels: ChannelsAllowed,
    pub quiet_hours: TimeWindow,
    #[serde(default)]
    pub preferred_time: Option<TimeWindow>,
    pub marketing_cap: u32,
}

impl UpdatePreferences {
    /// `current` with these preferences applied, and the names of the fields that changed.
    pub fn apply(&self, current: &Preferences) -> Result<(Preferences, Vec<&'static str>), ValidationError> {
        let quiet = self.quiet_hours.validate("quiet_hours")?;
        let preferred = self.preferred_time.as_ref().map(|p| p.validate("preferred_time")).transpose()?;
        if let (Some(p), Some((qs, qe))) = (&preferred, quiet.span()) {
            let (ps, pe) = p.span().unwrap_or((0, 0));
            if ps.max(qs) >= pe.min(qe) {
                return Err(ValidationError::new(
                    "preferred_time",
                    "must overlap quiet_hours (the hours messages may arrive)",
                ));
            }
        }
        if self.marketing_cap > MAX_MARKETING_CAP {
            return Err(ValidationError::new("marketing_cap", format!("must be 0 to {MAX_MARKETING_CAP}")));
        }
        let mut new = current.clone();
        let mut changed = Vec::new();
        if new.email.allowed != self.channels.email {
            new.email.allowed = self.channels.email;
            changed.push("channels.email");
        }
        if new.sms.allowed != self.channels.sms {
            new.sms.allowed = self.channels.sms;
            changed.push("channels.sms");
        }
        if new.quiet_hours != quiet {
            new.quiet_hours = quiet;
            changed.push("quiet_hours");
        }
        if new.preferred_time != preferred {
            new.preferred_time = preferred;
            changed.push("preferred_time");
        }
        if new.marketing_cap != self.marketing_cap {
            new.marketing_cap = self.marketing_cap;
            changed.push("marketing_cap");
        }
        Ok((new, changed))
    }
}

/// How a consent change reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ConsentSource {
    /// Staff recorded it (the client said so at the desk or on the phone).
    Staff,
    /// The client, in the client portal.
    Portal,
    /// An SMS keyword (STOP, START…), or the carrier's report that the number opted out.
    SmsKeyword,
    /// The unsubscribe link of an email (RFC 8058 one-click or the page's button).
    UnsubscribeLink,
    /// The address or number hard-bounced.
    Bounce,
    /// The recipient reported a message as spam.
    Complaint,
    /// The client confirmed a subscription from the link sent to them.
    DoubleOptIn,
}

impl ConsentSource {
    /// The wire name, e.g. `sms_keyword`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<ConsentSource> {
        use ConsentSource::*;
        [Staff, Portal, SmsKeyword, UnsubscribeLink, Bounce, Complaint, DoubleOptIn]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// Who made a consent change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "type", content = "id")]
pub enum ConsentActor {
    /// A staff user, recording what the client told them.
    User(UserId),
    /// The client themselves (a keyword, a link, the portal).
    Client,
    /// A provider's report (a bounce, a spam complaint).
    Provider,
}

/// One line of the consent ledger (append-only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsentEntry {
    pub id: ConsentEntryId,
    pub client_id: ClientId,
    pub channel: Channel,
    pub purpose: Purpose,
    pub granted: bool,
    pub source: ConsentSource,
    pub who: ConsentActor,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// What shows it: the inbound text, the link's path, the provider's event.
    pub evidence: Option<String>,
    /// Staff's note.
    pub note: Option<String>,
}

/// Version history: v1.
impl Record for ConsentEntry {
    const KIND: &'static str = "consent_entry";
    const VERSION: u16 = 1;
}

/// The body of `POST /api/clients/{id}/consent`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordConsent {
    /// `email` or `sms`.
    pub channel: String,
    /// `transactional` or `marketing`.
    pub purpose: String,
    pub granted: bool,
    /// How the client told us: `staff` (default), `portal`, `double_opt_in`; the other
    /// sources are the server's own.
    #[serde(default)]
    pub source: Option<String>,
    /// Up to 500 characters.
    #[serde(default)]
    pub note: Option<String>,
}

/// A checked [`RecordConsent`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentChange {
    pub channel: Channel,
    pub purpose: Purpose,
    pub granted: bool,
    pub source: ConsentSource,
    pub evidence: Option<String>,
    pub note: Option<String>,
}

impl RecordConsent {
    /// Checks the body; staff may name only the sources people report.
    pub fn validate(&self) -> Result<ConsentChange, ValidationError> {
        let channel = Channel::parse(self.channel.trim())
            .ok_or_else(|| ValidationError::new("channel", "must be email or sms"))?;
        let purpose = Purpose::parse(self.purpose.trim())
            .ok_or_else(|| ValidationError::new("purpose", "must be transactional or marketing"))?;
        let source = match self.source.as_deref().map(str::trim) {
            None | Some("") => ConsentSource::Staff,
            Some(s) => match ConsentSource::parse(s) {
                Some(c @ (ConsentSource::Staff | ConsentSource::Portal | ConsentSource::DoubleOptIn)) => c,
                _ => return Err(ValidationError::new("source", "must be staff, portal or double_opt_in")),
            },
        };
        let note = self.note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
        if note.as_ref().is_some_and(|n| n.chars().count() > 500) {
            return Err(ValidationError::new("note", "must be at most 500 characters"));
        }
        Ok(ConsentChange { channel, purpose, granted: self.granted, source, evidence: None, note })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(s: &str, e: &str) -> TimeWindow {
        TimeWindow { start: s.into(), end: e.into() }
    }

    #[test]
    fn windows_are_checked() {
        assert_eq!(window("09:00", "19:00").validate("w").unwrap().span(), Some((540, 1140)));
        assert_eq!(window("00:00", "24:00").validate("w").unwrap().span(), Some((0, 1440)));
        for (s, e, field) in [
            ("9:00", "19:00", "w.start"),
            ("09:60", "19:00", "w.start"),
            ("24:00", "24:00", "w.start"),
            ("09:00", "25:00", "w.end"),
            ("19:00", "09:00", "w.end"),
            ("09:00", "09:00", "w.end"),
        ] {
            assert_eq!(window(s, e).validate("w").unwrap_err().field, field, "{s}-{e}");
        }
    }

    #[test]
    fn the_send_window_is_narrowed_by_the_preferred_time() {
        let mut p = Preferences::defaults(ClientId::from_u128(1));
        assert_eq!(p.send_window(), Some((540, 1140)));
        p.preferred_time = Some(window("17:00", "21:00"));
        assert_eq!(p.send_window(), Some((1020, 1140)));
    }

    #[test]
    fn an_update_must_be_coherent() {
        let p = Preferences::defaults(ClientId::from_u128(1));
        let body = |pref: Option<TimeWindow>, cap| UpdatePreferences {
            channels: ChannelsAllowed { email: true, sms: false },
            quiet_hours: window("09:00", "19:00"),
            preferred_time: pref,
            marketing_cap: cap,
        };
        let (new, changed) = body(None, 2).apply(&p).unwrap();
        assert_eq!((new.sms.allowed, changed), (false, vec!["channels.sms"]));
        assert_eq!(body(Some(window("20:00", "22:00")), 2).apply(&p).unwrap_err().field, "preferred_time");
        assert_eq!(body(None, 51).apply(&p).unwrap_err().field, "marketing_cap");
    }
}
