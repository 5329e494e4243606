//! Email open and click tracking: the 1×1 pixel and the rewritten links put into an email's
//! HTML when it is queued ([`instrument`], so the stored `html` is what was sent), and the
//! counters the public `/l/open/<token>` and `/l/click/<token>/<n>` routes move on the
//! message ([`Tracking`]).
//!
//! Only `<a href="http…">` links of the HTML are rewritten, never the clinic's own signed
//! `/l/` links (confirm, cancel, reschedule, offer, unsubscribe): those must reach their
//! GET-safe pages and RFC 8058 one-click directly. The plain-text part is left alone: its
//! reader sees the URL, and a long opaque redirect in its place reads as phishing.
//!
//! A click's token signs only the message id; `n` indexes the URLs kept on the message, so the
//! redirect can only go to a URL that was in the message (no open redirect).

use std::sync::Arc;

use clowder_schemas::MessageId;
use clowder_schemas::messages::Message;
use jiff::{SignedDuration, Timestamp};

use super::links::{LinkError, LinkPurpose, Links};
use crate::ctx::Ctx;
use crate::store::{ChangeSet, CommitError, RecordTable};

/// How long an email's open pixel and tracked links work.
pub const TRACKING_LINK_LIFE: SignedDuration = SignedDuration::from_hours(24 * 180);

/// The 1×1 transparent GIF the open pixel answers (GIF89a, one transparent pixel).
pub const PIXEL_GIF: [u8; 43] = [
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
    0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02,
    0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// An email's HTML with its links rewritten and the pixel added, and the original URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instrumented {
    pub html: String,
    /// The original URL of each rewritten link, in order of appearance.
    pub links: Vec<String>,
}

/// Rewrites the `<a href="http…">` links of `html` (but not the clinic's own `/l/` links) to
/// tracked click links of message `id`, and appends the open pixel (before `</body>` when
/// there is one).
pub fn instrument(links: &Links, public_url: &str, html: &str, id: MessageId, now: Timestamp) -> Instrumented {
    let expires = now.checked_add(TRACKING_LINK_LIFE).unwrap_or(Timestamp::MAX);
    let own = format!("{}/l/", public_url.trim_end_matches('/'));
    let click_base = links.url(LinkPurpose::Click, id.as_u128(), expires);
    let mut out = String::with_capacity(html.len() + 256);
    let mut originals = Vec::new();
    let mut rest = html;
    while let Some((start, end)) = next_href(rest) {
        // `start..end` is the attribute's value, between its quotes.
        let url = unescape(&rest[start..end]);
        out.push_str(&rest[..start]);
        if (url.starts_with("http://") || url.starts_with("https://")) && !url.starts_with(&own) {
            out.push_str(&escape_attr(&format!("{click_base}/{}", originals.len())));
            originals.push(url);
        } else {
            out.push_str(&rest[start..end]);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    let pixel = format!(
        "<img src=\"{}\" width=\"1\" height=\"1\" alt=\"\" style=\"display:block;border:0;width:1px;height:1px;\">",
        escape_attr(&links.url(LinkPurpose::Open, id.as_u128(), expires))
    );
    match find_ci_last(&out, "</body") {
        Some(at) => out.insert_str(at, &pixel),
        None => out.push_str(&pixel),
    }
    Instrumented { html: out, links: originals }
}

/// The byte range of the next `<a …>` tag's `href` value in `s` (between its quotes).
fn next_href(s: &str) -> Option<(usize, usize)> {
    let lower = s.to_ascii_lowercase();
    let mut from = 0;
    loop {
        let tag = from + lower[from..].find("<a")?;
        let after = tag + 2;
        // `<a` must be the whole tag name (not `<abbr>`, `<area>`).
        if !lower[after..].starts_with(|c: char| c.is_ascii_whitespace()) {
            from = after;
            continue;
        }
        let close = after + lower[after..].find('>')?;
        let inside = &lower[after..close];
        let mut at = 0;
        while let Some(i) = inside[at..].find("href") {
            let name = after + at + i;
            let before_ok = lower[..name].ends_with(|c: char| c.is_ascii_whitespace());
            let mut j = name + 4;
            while lower[j..].starts_with(|c: char| c.is_ascii_whitespace()) {
                j += 1;
            }
            if before_ok && lower[j..].starts_with('=') {
                j += 1;
                while lower[j..].starts_with(|c: char| c.is_ascii_whitespace()) {
                    j += 1;
                }
                let quote = lower[j..].chars().next()?;
                if quote == '"' || quote == '\'' {
                    let start = j + 1;
                    let end = start + lower[start..].find(quote)?;
                    return Some((start, end));
                }
                // An unquoted value: up to whitespace or the tag's end.
                let end = j + lower[j..close].find(|c: char| c.is_ascii_whitespace()).unwrap_or(close - j);
                return Some((j, end));
            }
            at += i + 4;
        }
        from = close;
    }
}

fn find_ci_last(s: &str, needle: &str) -> Option<usize> {
    s.to_ascii_lowercase().rfind(needle)
}

/// Decodes the character references a template engine writes in an attribute (minijinja
/// escapes `/` as `&#x2f;`), so the kept URL is the one the reader would have followed.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(semi) = rest[..rest.len().min(12)].find(';') else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let ch = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => {
                let code = if let Some(hex) = entity.strip_prefix("#x").or_else(|| entity.strip_prefix("#X")) {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(dec) = entity.strip_prefix('#') {
                    dec.parse::<u32>().ok()
                } else {
                    None
                };
                code.and_then(char::from_u32)
            }
        };
        match ch {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn escape_attr(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

/// What a click link resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClickTarget {
    /// Redirect here.
    Url(String),
    /// Not a link of ours (malformed, forged, another purpose, unknown message or `n`).
    NotFound,
    /// Signed by us, but past its expiry.
    Expired,
}

/// Records opens and clicks on messages.
#[derive(Clone)]
pub struct Tracking {
    ctx: Arc<Ctx>,
    links: Links,
    /// One lock per shard of message ids: counter writes to one message queue here instead
    /// of refusing each other (a burst of image loads of one email would otherwise exhaust
    /// the retries); different messages mostly write in parallel.
    locks: Arc<[tokio::sync::Mutex<()>; LOCK_SHARDS]>,
}

const LOCK_SHARDS: usize = 16;

/// Tries of one counter write refused because the message changed meanwhile (the send job,
/// a delivery webhook).
const TRIES: usize = 4;

impl Tracking {
    pub fn new(ctx: Arc<Ctx>, links: Links) -> Tracking {
        Tracking { ctx, links, locks: Arc::new(std::array::from_fn(|_| tokio::sync::Mutex::new(()))) }
    }

    /// The message an open pixel's token names, if it is ours and current.
    fn message_of(&self, purpose: LinkPurpose, token: &str) -> Result<MessageId, LinkError> {
        let link = self.links.verify(purpose, token, self.ctx.clock.now())?;
        Ok(MessageId::from_u128(link.subject))
    }

    /// Records an open of the message `token` names (`record`: false when the caller is over
    /// its rate limit: nothing is written). Never fails: the pixel is answered whatever
    /// happens, so errors are only logged.
    pub async fn open(&self, token: &str, record: bool) {
        let Ok(id) = self.message_of(LinkPurpose::Open, token) else { return };
        if !record {
            return;
        }
        if let Err(e) = self
            .bump(id, |m, now| {
                m.opens = m.opens.saturating_add(1);
                m.opened_at.get_or_insert(now);
            })
            .await
        {
            tracing::warn!(message = %id, error = %e, "could not record an open");
        }
    }

    /// Resolves click `n` of the message `token` names and records it (unless `record` is
    /// false: over the rate limit, the reader still gets where they were going).
    pub async fn click(&self, token: &str, n: &str, record: bool) -> ClickTarget {
        let id = match self.message_of(LinkPurpose::Click, token) {
            Ok(id) => id,
            Err(LinkError::Expired(_)) => return ClickTarget::Expired,
            Err(_) => return ClickTarget::NotFound,
        };
        // Digits only: `+1` or ` 1` would parse but are not links we wrote.
        let Some(n) = n.bytes().all(|b| b.is_ascii_digit()).then(|| n.parse::<usize>().ok()).flatten() else {
            return ClickTarget::NotFound;
        };
        let message = match self.ctx.store.read().and_then(|r| r.get::<Message>(RecordTable::Messages, id.as_u128())) {
            Ok(Some(m)) => m,
            _ => return ClickTarget::NotFound,
        };
        let Some(url) = message.tracked_links.get(n).cloned() else { return ClickTarget::NotFound };
        if record
            && let Err(e) = self
                .bump(id, |m, now| {
                    m.clicks = m.clicks.saturating_add(1);
                    m.clicked_at.get_or_insert(now);
                    if m.link_clicks.len() < m.tracked_links.len() {
                        m.link_clicks.resize(m.tracked_links.len(), 0);
                    }
                    if let Some(c) = m.link_clicks.get_mut(n) {
                        *c = c.saturating_add(1);
                    }
                })
                .await
        {
            tracing::warn!(message = %id, error = %e, "could not record a click");
        }
        ClickTarget::Url(url)
    }

    /// Applies `change` to the stored message in a durable change set that requires the
    /// message unchanged since it was read, so a counter never overwrites a status moved
    /// meanwhile (the send job, a webhook); retried a few times when it was. Counter writes
    /// of one message take turns under its shard's lock.
    async fn bump(&self, id: MessageId, change: impl Fn(&mut Message, Timestamp)) -> Result<(), CommitError> {
        let _turn = self.locks[(id.as_u128() % LOCK_SHARDS as u128) as usize].lock().await;
        for _ in 0..TRIES {
            let old = match self.ctx.store.read().map(|r| r.get::<Message>(RecordTable::Messages, id.as_u128())) {
                Ok(Ok(Some(m))) => m,
                // A message deleted or unreadable: nothing to count.
                _ => return Ok(()),
            };
            let mut new = old.clone();
            change(&mut new, self.ctx.clock.now());
            let mut set = ChangeSet::new();
            let seen = old.clone();
            set.require(RecordTable::Messages, id.as_u128(), "message", move |bytes| {
                bytes.is_some_and(|b| crate::store::codec::decode::<Message>(b).is_ok_and(|m| m == seen))
            });
            set.put(RecordTable::Messages, id.as_u128(), &new).map_err(|e| CommitError::Store(e.to_string()))?;
            match self.ctx.store.commit(set).await {
                Ok(_) => return Ok(()),
                Err(CommitError::Changed { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(CommitError::Changed { what: "message" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> Links {
        Links::new(&[7; 32], "https://clinic.example")
    }

    #[test]
    fn links_are_rewritten_but_not_the_clinics_own_nor_other_schemes() {
        let html = "<html><body><p><a href=\"https://example.org/a?x=1&amp;y=2\">A</a> \
            <A class=\"b\" HREF='https:&#x2f;&#x2f;example.org&#x2f;b'>B</A> \
            <a href=\"https://clinic.example/l/confirm/tok\">confirm</a> \
            <a href=\"https:&#x2f;&#x2f;clinic.example&#x2f;l&#x2f;cancel&#x2f;tok\">cancel</a> \
            <a href=\"mailto:desk@clinic.example\">mail</a> <abbr href=\"https://x.example\">x</abbr> \
            <a title=\"nohref\" data-href=\"https://y.example\" href=\"https://example.org/c\">C</a></p></body></html>";
        let id = MessageId::from_u128(99);
        let now = Timestamp::from_second(1_800_000_000).unwrap_or(Timestamp::UNIX_EPOCH);
        let out = instrument(&links(), "https://clinic.example/", html, id, now);
        assert_eq!(out.links, vec!["https://example.org/a?x=1&y=2", "https://example.org/b", "https://example.org/c"]);
        assert!(out.html.contains("href=\"https://clinic.example/l/confirm/tok\""));
        // As minijinja writes a signed link's URL: still the clinic's own, left as written.
        assert!(out.html.contains("href=\"https:&#x2f;&#x2f;clinic.example&#x2f;l&#x2f;cancel&#x2f;tok\""));
        assert!(out.html.contains("href=\"mailto:desk@clinic.example\""));
        assert!(out.html.contains("<abbr href=\"https://x.example\">"));
        assert!(out.html.contains("data-href=\"https://y.example\""));
        assert_eq!(out.html.matches("https://clinic.example/l/click/").count(), 3);
        assert!(out.html.contains("/2\">C</a>"));
        let pixel = out.html.find("/l/open/").unwrap_or(0);
        assert!(pixel > 0 && pixel < out.html.find("</body>").unwrap_or(0), "the pixel goes before </body>");
    }

    #[test]
    fn the_pixel_is_appended_without_a_body_tag() {
        let out =
            instrument(&links(), "https://clinic.example", "<p>Hi</p>", MessageId::from_u128(1), Timestamp::UNIX_EPOCH);
        assert!(out.links.is_empty());
        assert!(out.html.starts_with("<p>Hi</p><img src=\"https://clinic.example/l/open/"));
    }

    /// A tracked message stored in a store of its own, with a clock the test moves.
    async fn stored(dir: &std::path::Path) -> (Tracking, Arc<crate::clock::ManualClock>, Instrumented) {
        use crate::ctx::SystemConfig;
        use crate::store::{Store, StoreConfig};
        use clowder_schemas::messages::{Channel, MessageStatus, Purpose};
        let config = SystemConfig::new(dir);
        let now = Timestamp::from_second(1_790_000_000).unwrap();
        let clock = Arc::new(crate::clock::ManualClock::new(now));
        let store_config =
            StoreConfig { path: config.store_path(), clinic_id: "test".into(), cache_bytes: 8 << 20, journal: None };
        let store = Store::open(&store_config, clock.clone(), crate::metrics::StoreMetrics::default()).unwrap();
        let ctx = Arc::new(Ctx::new(store, clock.clone(), config));
        let links = Links::new(ctx.store.link_key(), "https://clinic.example");
        let id = MessageId::from_u128(5);
        let t = instrument(&links, "https://clinic.example", "<a href=\"https://example.org/\">x</a>", id, now);
        let m = Message {
            id,
            channel: Channel::Email,
            recipient: "a@example.com".into(),
            client_id: Some(clowder_schemas::ClientId::from_u128(9)),
            subject: Some("Hi".into()),
            text: "Hello".into(),
            html: Some(t.html.clone()),
            idempotency_key: "k".into(),
            purpose: Purpose::Transactional,
            template_id: None,
            category: None,
            automation: None,
            status: MessageStatus::Sent,
            provider: None,
            provider_id: None,
            attempts: 1,
            last_error: None,
            created_at: now,
            sent_at: Some(now),
            updated_at: now,
            created_by: None,
            link_clicks: vec![0],
            tracked_links: t.links.clone(),
            opened_at: None,
            opens: 0,
            clicked_at: None,
            clicks: 0,
            attachments: Vec::new(),
        };
        let mut set = ChangeSet::new();
        set.put(RecordTable::Messages, id.as_u128(), &m).unwrap();
        ctx.store.commit(set).await.unwrap();
        (Tracking::new(ctx, links), clock, t)
    }

    fn token_of(html: &str, prefix: &str) -> String {
        let at = html.find(&format!("/l/{prefix}/")).unwrap() + prefix.len() + 4;
        html[at..].split(['/', '"']).next().unwrap().to_owned()
    }

    #[tokio::test]
    async fn an_expired_link_is_gone_and_counts_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (tracking, clock, t) = stored(dir.path()).await;
        let (click, open) = (token_of(&t.html, "click"), token_of(&t.html, "open"));
        assert_eq!(tracking.click(&click, "0", true).await, ClickTarget::Url("https://example.org/".into()));
        // Over the rate limit: where the reader was going, nothing counted.
        assert_eq!(tracking.click(&click, "0", false).await, ClickTarget::Url("https://example.org/".into()));
        tracking.open(&open, true).await;
        clock.advance(TRACKING_LINK_LIFE + SignedDuration::from_mins(2));
        assert_eq!(tracking.click(&click, "0", true).await, ClickTarget::Expired);
        tracking.open(&open, true).await;
        let m: Message = tracking.ctx.store.read().unwrap().get(RecordTable::Messages, 5).unwrap().unwrap();
        assert_eq!((m.clicks, m.link_clicks, m.opens), (1, vec![1], 1));
        let store = tracking.ctx.store.clone();
        tokio::task::spawn_blocking(move || store.close()).await.unwrap();
    }

    #[test]
    fn the_gif_is_a_gif() {
        assert_eq!(&PIXEL_GIF[..6], b"GIF89a");
        assert_eq!(PIXEL_GIF[PIXEL_GIF.len() - 1], 0x3b);
    }
}
