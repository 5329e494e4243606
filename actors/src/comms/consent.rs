//! A client's communication preferences and consent ledger, and the send-time [`gate`].
//!
//! The current state lives in one [`Preferences`] record per client (table
//! `client_preferences`, key: the client's id; absent means [`Preferences::defaults`]); each
//! change of consent appends a [`ConsentEntry`] (table `consent_ledger`, index
//! `consent_by_client`) **in the same change set** as the preferences it changed, so the
//! ledger and the state never disagree and the gate reads one record. Not a kind of the
//! generic record mechanism: a change writes two records of two tables, and the webhooks add
//! a message's status to the same change set. Writes are rare (a person's request, a STOP, a
//! bounce) and go through one lock, so a read-modify-write never loses another's change.
//! Reads are audited: consent is personal data.
//!
//! Must not send anything or decide on templates; it only says whether a message may go.

use std::ops::ControlFlow;
use std::sync::Arc;

use clowder_schemas::ClientId;
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::clients::Client;
use clowder_schemas::consent::{ConsentActor, ConsentChange, ConsentEntry, Preferences, TimeWindow, UpdatePreferences};
use clowder_schemas::events::{Author, DomainEvent};
use clowder_schemas::ids::ConsentEntryId;
use clowder_schemas::messages::{Channel, Message, MessageStatus, Purpose};
use clowder_schemas::values::Phone;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::store::Reader;
use crate::store::{ChangeSet, IndexTable, RecordTable};

/// The window the marketing frequency cap counts over.
pub const CAP_PERIOD: SignedDuration = SignedDuration::from_hours(24 * 7);

/// What the gate decides for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// Send it now.
    Send,
    /// Never send it; the reason goes in the message's `last_error`.
    Suppress(String),
    /// Not before this instant (outside the client's hours).
    Defer(Timestamp),
}

/// Decides whether a message on `channel` for `purpose` may go to a client with `prefs` at
/// `now` (hours in `tz`, the clinic's zone). `marketing_sent` counts the client's marketing
/// messages sent over the last [`CAP_PERIOD`]; it is only called for marketing that passed
/// consent, so a transactional message costs one read.
pub fn gate(
    prefs: &Preferences,
    channel: Channel,
    purpose: Purpose,
    now: Timestamp,
    tz: &TimeZone,
    marketing_sent: impl FnOnce() -> usize,
) -> Gate {
    let c = prefs.channel(channel);
    if !c.allowed {
        return Gate::Suppress(format!("the client does not accept {}", channel_words(channel)));
    }
    if !c.consents(purpose) {
        return Gate::Suppress(match purpose {
            Purpose::Marketing => format!("no consent to marketing by {}", channel_words(channel)),
            Purpose::Transactional => format!("the client revoked consent to {}", channel_words(channel)),
        });
    }
    if purpose == Purpose::Marketing {
        let sent = marketing_sent();
        if sent >= prefs.marketing_cap as usize {
            return Gate::Suppress(format!(
                "frequency cap: {sent} marketing messages in 7 days (cap {})",
                prefs.marketing_cap
            ));
        }
    }
    match prefs.send_window() {
        Some(w) => match next_open(w, now, tz) {
            None => Gate::Send,
            Some(at) => Gate::Defer(at),
        },
        None => Gate::Send,
    }
}

fn author(caller: &Caller) -> Author {
    caller.actor.unwrap_or(Author::System)
}

fn channel_words(c: Channel) -> &'static str {
    match c {
        Channel::Email => "email",
        Channel::Sms => "text messages",
    }
}

/// `None` if `now` is inside the window `(start, end)` (minutes since local midnight in
/// `tz`), else the next instant the window opens. A start inside a DST gap is taken as the
/// first instant after it (jiff's compatible disambiguation).
pub fn next_open((start, end): (u16, u16), now: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
    let local = now.to_zoned(tz.clone());
    let minute = local.hour() as u16 * 60 + local.minute() as u16;
    if (start..end).contains(&minute) {
        return None;
    }
    let date = if minute < start { local.date() } else { local.date().tomorrow().ok()? };
    let at = date.at((start / 60) as i8, (start % 60) as i8, 0, 0).to_zoned(tz.clone()).ok()?;
    Some(at.timestamp())
}

/// Marketing messages a client was sent (or that were accepted) since `since`, newest first
/// through the client's message index, stopping at the first one created before `since` minus
/// a day (a message sent later than it was created is still counted).
pub fn marketing_sent_since(r: &Reader, client: ClientId, since: Timestamp) -> Result<usize> {
    let stop = since.checked_sub(SignedDuration::from_hours(24)).unwrap_or(since);
    let ids = r.children(IndexTable::MessagesByClient, client.as_u128(), None)?;
    let mut n = 0;
    for id in ids.into_iter().rev() {
        let Some(m) = r.get::<Message>(RecordTable::Messages, id)? else { continue };
        if m.created_at < stop {
            break;
        }
        let went = matches!(m.status, MessageStatus::Sent | MessageStatus::Delivered | MessageStatus::Bounced);
        if went && m.purpose == Purpose::Marketing && m.sent_at.is_some_and(|t| t >= since) {
            n += 1;
        }
    }
    Ok(n)
}

/// The preferences of `client` in a snapshot (when none were ever written: the defaults, with
/// the clinic's sending hours `CLOWDER_QUIET_HOURS`).
pub fn preferences_in(r: &Reader, client: ClientId, hours: &TimeWindow) -> Result<Preferences> {
    Ok(r.get::<Preferences>(RecordTable::Preferences, client.as_u128())?
        .unwrap_or_else(|| Preferences { quiet_hours: hours.clone(), ..Preferences::defaults(client) }))
}

/// Why a transactional email to `client` would not be sent now (they refuse email), if it
/// would not: the outbox's gate, asked before a document (a statement, an estimate) is
/// queued, so the sender can say so instead of queuing a message that is suppressed.
pub fn transactional_email_refused(r: &Reader, ctx: &Ctx, client: ClientId) -> Result<Option<String>> {
    let prefs = preferences_in(r, client, &ctx.config.comms.quiet_hours)?;
    let now = ctx.clock.now();
    Ok(match gate(&prefs, Channel::Email, Purpose::Transactional, now, &ctx.config.time_zone, || 0) {
        Gate::Suppress(reason) => Some(reason),
        Gate::Send | Gate::Defer(_) => None,
    })
}

/// The preferences and ledger service.
#[derive(Clone)]
pub struct Consent {
    ctx: Arc<Ctx>,
    /// Serialises read-modify-writes of preferences (all writers are in this process).
    write: Arc<tokio::sync::Mutex<()>>,
}

/// A consent change applied: the ledger line written (`None`: the consent already was so and
/// nothing was written).
pub type Recorded = Option<ConsentEntry>;

impl Consent {
    pub fn new(ctx: Arc<Ctx>) -> Consent {
        Consent { ctx, write: Arc::new(tokio::sync::Mutex::new(())) }
    }

    fn client(&self, r: &Reader, id: ClientId) -> Result<Client> {
        r.get::<Client>(RecordTable::Clients, id.as_u128())?.ok_or(Error::ClientNotFound(id))
    }

    /// A client's preferences and current consent (the read is audited).
    pub async fn preferences(&self, client: ClientId, caller: &Caller) -> Result<Preferences> {
        let r = self.ctx.store.read()?;
        self.client(&r, client)?;
        let p = preferences_in(&r, client, &self.ctx.config.comms.quiet_hours)?;
        self.ctx.store.enqueue_audit(AuditDraft::new(caller, "preferences.read").record("client", client)).await?;
        Ok(p)
    }

    /// The creator of a client (for `own`-scoped access checks), without auditing.
    pub fn client_created_by(&self, client: ClientId) -> Result<Option<clowder_schemas::UserId>> {
        Ok(self.client(&self.ctx.store.read()?, client)?.created_by)
    }

    /// Replaces a client's editable preferences (channels, hours, cap). Nothing is written
    /// when nothing changes.
    pub async fn update_preferences(
        &self,
        client: ClientId,
        body: &UpdatePreferences,
        caller: &Caller,
    ) -> Result<Preferences> {
        let _one = self.write.lock().await;
        let r = self.ctx.store.read()?;
        self.client(&r, client)?;
        let current = preferences_in(&r, client, &self.ctx.config.comms.quiet_hours)?;
        drop(r);
        let (mut new, changed) = body.apply(&current)?;
        if changed.is_empty() {
            return Ok(current);
        }
        new.updated_at = Some(self.ctx.clock.now());
        new.updated_by = caller.user_id();
        let mut set = ChangeSet::new();
        set.put(RecordTable::Preferences, client.as_u128(), &new)?;
        set.audit(
            AuditDraft::new(caller, "preferences.update")
                .record("client", client)
                .detail(serde_json::json!({ "changed": changed })),
        );
        set.event(
            author(caller),
            DomainEvent::PreferencesUpdated {
                client_id: client,
                changed: changed.iter().map(|s| s.to_string()).collect(),
            },
        );
        self.ctx.store.commit(set).await?;
        Ok(new)
    }

    /// Records a consent change for one client in a change set of its own (see
    /// [`Self::record_into`]). `always`: write a ledger line even if the consent already was
    /// so (staff recording what a client said is evidence in itself).
    pub async fn record(
        &self,
        client: ClientId,
        change: ConsentChange,
        who: ConsentActor,
        always: bool,
        caller: &Caller,
    ) -> Result<Recorded> {
        let _one = self.write.lock().await;
        let r = self.ctx.store.read()?;
        self.client(&r, client)?;
        let mut prefs = preferences_in(&r, client, &self.ctx.config.comms.quiet_hours)?;
        drop(r);
        let mut set = ChangeSet::new();
        let entry = self.record_into(&mut set, &mut prefs, change, who, always, caller)?;
        if entry.is_some() {
            self.ctx.store.commit(set).await?;
        }
        Ok(entry)
    }

    /// Adds a consent change to `set`: the new preferences, the ledger line, its index entry,
    /// the audit entry and the `consent_recorded` event. Nothing is added when the consent
    /// already was so, unless `always`. Callers hold [`Self::lock`] from reading `prefs` to
    /// committing `set`.
    pub fn record_into(
        &self,
        set: &mut ChangeSet,
        prefs: &mut Preferences,
        change: ConsentChange,
        who: ConsentActor,
        always: bool,
        caller: &Caller,
    ) -> Result<Recorded> {
        let changed = prefs.set_consent(change.channel, change.purpose, change.granted);
        if !changed && !always {
            return Ok(None);
        }
        let now = self.ctx.clock.now();
        let client = prefs.client_id;
        if changed {
            prefs.updated_at = Some(now);
            prefs.updated_by = caller.user_id();
            set.put(RecordTable::Preferences, client.as_u128(), &*prefs)?;
        }
        let entry = ConsentEntry {
            id: ConsentEntryId::from_ulid(self.ctx.new_ulid()),
            client_id: client,
            channel: change.channel,
            purpose: change.purpose,
            granted: change.granted,
            source: change.source,
            who,
            at: now,
            evidence: change.evidence,
            note: change.note,
        };
        set.put(RecordTable::ConsentLedger, entry.id.as_u128(), &entry)?;
        set.link(IndexTable::ConsentByClient, client.as_u128(), entry.id.as_u128());
        set.audit(AuditDraft::new(caller, "consent.record").record("client", client).detail(serde_json::json!({
            "entry": entry.id, "channel": entry.channel, "purpose": entry.purpose, "granted": entry.granted,
            "source": entry.source,
        })));
        set.event(author(caller), DomainEvent::ConsentRecorded { entry: entry.clone() });
        Ok(Some(entry))
    }

    /// Holds the write lock (for callers of [`Self::record_into`] that build a larger change set).
    pub async fn lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.write.lock().await
    }

    /// Records the same change for several clients (an SMS keyword from a number several
    /// clients share) in one change set; returns the lines written.
    pub async fn record_many(
        &self,
        clients: &[ClientId],
        changes: &[ConsentChange],
        who: ConsentActor,
        caller: &Caller,
    ) -> Result<Vec<ConsentEntry>> {
        let _one = self.write.lock().await;
        let r = self.ctx.store.read()?;
        let mut set = ChangeSet::new();
        let mut out = Vec::new();
        for &client in clients {
            let mut prefs = preferences_in(&r, client, &self.ctx.config.comms.quiet_hours)?;
            for change in changes {
                out.extend(self.record_into(&mut set, &mut prefs, change.clone(), who, false, caller)?);
            }
        }
        drop(r);
        if !out.is_empty() {
            self.ctx.store.commit(set).await?;
        }
        Ok(out)
    }

    /// A page of a client's ledger, newest first, below the cursor `before` (audited).
    pub async fn ledger(
        &self,
        client: ClientId,
        limit: usize,
        before: Option<u128>,
        caller: &Caller,
    ) -> Result<(Vec<ConsentEntry>, Option<u128>)> {
        let r = self.ctx.store.read()?;
        self.client(&r, client)?;
        let mut ids = r.children(IndexTable::ConsentByClient, client.as_u128(), None)?;
        ids.retain(|id| before.is_none_or(|b| *id < b));
        let mut out = Vec::new();
        for id in ids.into_iter().rev() {
            if let Some(e) = r.get::<ConsentEntry>(RecordTable::ConsentLedger, id)? {
                out.push(e);
            }
            if out.len() > limit {
                break;
            }
        }
        let next = if out.len() > limit {
            out.truncate(limit);
            out.last().map(|e| e.id.as_u128())
        } else {
            None
        };
        self.ctx
            .store
            .enqueue_audit(
                AuditDraft::new(caller, "consent.list")
                    .record("client", client)
                    .detail(serde_json::json!({ "count": out.len() })),
            )
            .await?;
        Ok((out, next))
    }

    /// The clients (active or not) whose main or second phone is `phone`. A scan of the clients table:
    /// it runs only for an inbound STOP or START, rare enough not to need an index.
    pub fn clients_with_phone(&self, phone: &Phone) -> Result<Vec<ClientId>> {
        let r = self.ctx.store.read()?;
        let mut out = Vec::new();
        r.scan::<Client>(RecordTable::Clients, None, |c| {
            if c.phone == *phone || c.phone_secondary.as_ref() == Some(phone) {
                out.push(c.id);
            }
            ControlFlow::Continue(())
        })?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn ny() -> TimeZone {
        TimeZone::get("America/New_York").unwrap()
    }

    fn prefs() -> Preferences {
        Preferences::defaults(ClientId::from_u128(7))
    }

    fn check(p: &Preferences, channel: Channel, purpose: Purpose, now: &str, sent: usize) -> Gate {
        gate(p, channel, purpose, at(now), &ny(), || sent)
    }

    // 15:00 UTC is 10:00 in New York in March (EST→EDT on the 8th; here the 2nd: EST).
    const INSIDE: &str = "2026-03-02T15:00:00Z";

    #[test]
    fn transactional_goes_and_marketing_needs_an_opt_in() {
        let mut p = prefs();
        assert_eq!(check(&p, Channel::Email, Purpose::Transactional, INSIDE, 0), Gate::Send);
        assert!(
            matches!(check(&p, Channel::Email, Purpose::Marketing, INSIDE, 0), Gate::Suppress(r) if r.contains("marketing"))
        );
        p.set_consent(Channel::Email, Purpose::Marketing, true);
        assert_eq!(check(&p, Channel::Email, Purpose::Marketing, INSIDE, 1), Gate::Send);
        assert!(
            matches!(check(&p, Channel::Email, Purpose::Marketing, INSIDE, 2), Gate::Suppress(r) if r.starts_with("frequency cap"))
        );
        p.sms.allowed = false;
        assert!(matches!(check(&p, Channel::Sms, Purpose::Transactional, INSIDE, 0), Gate::Suppress(_)));
        p.set_consent(Channel::Email, Purpose::Transactional, false);
        assert!(
            matches!(check(&p, Channel::Email, Purpose::Transactional, INSIDE, 0), Gate::Suppress(r) if r.contains("revoked"))
        );
    }

    #[test]
    fn outside_the_hours_a_message_waits_for_the_window() {
        let p = prefs();
        // 06:00 local → 09:00 the same day; 20:00 local → 09:00 the next day.
        assert_eq!(
            check(&p, Channel::Sms, Purpose::Transactional, "2026-03-02T11:00:00Z", 0),
            Gate::Defer(at("2026-03-02T14:00:00Z"))
        );
        assert_eq!(
            check(&p, Channel::Sms, Purpose::Transactional, "2026-03-03T01:00:00Z", 0),
            Gate::Defer(at("2026-03-03T14:00:00Z"))
        );
        // Across the DST change (8 March): 09:00 EDT is 13:00 UTC.
        assert_eq!(
            check(&p, Channel::Sms, Purpose::Transactional, "2026-03-08T03:00:00Z", 0),
            Gate::Defer(at("2026-03-08T13:00:00Z"))
        );
        let mut p = prefs();
        p.preferred_time = Some(TimeWindow { start: "17:00".into(), end: "20:00".into() });
        assert_eq!(check(&p, Channel::Sms, Purpose::Transactional, INSIDE, 0), Gate::Defer(at("2026-03-02T22:00:00Z")));
    }
}
