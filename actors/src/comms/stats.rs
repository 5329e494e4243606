//! Reading the message log for staff: pages filtered by client, status, channel, template
//! and a time range ([`Log::page`]), and the delivery statistics of a date range
//! ([`Log::stats`]: counts by channel, category and template).
//!
//! Both read the `messages` table from a snapshot. Message ids are ULIDs, so key order is
//! creation order and a time range is a key range: a page or a count walks only the range
//! asked for, newest first. Statistics are counted on each request (one decode per message
//! of the range, about a second per million messages); a clinic sends a few thousand a
//! month, so a year is cheap, and the range is capped at [`MAX_STATS_DAYS`]. Counters kept
//! at each status change would be the next step if that ever shows.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::batches::{CommsStats, StatusCounts, TemplateStats};
use clowder_schemas::messages::{Channel, Message, MessageStatus};
use clowder_schemas::templates::Template;
use clowder_schemas::{ClientId, TemplateId, ValidationError};
use jiff::Timestamp;
use jiff::civil::Date;

use crate::ctx::Ctx;
use crate::error::Result;
use crate::store::{IndexTable, RecordTable};

/// Longest date range of the statistics, days.
pub const MAX_STATS_DAYS: i64 = 366;

/// Most messages one page request looks at, so a filter that matches little never walks
/// the whole table (the page then ends early with a cursor to go on from).
const MAX_SCAN: usize = 20_000;

/// Filters of the log.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    pub client_id: Option<ClientId>,
    pub status: Option<MessageStatus>,
    pub channel: Option<Channel>,
    pub template_id: Option<TemplateId>,
    /// Messages created at or after.
    pub from: Option<Timestamp>,
    /// Messages created before.
    pub until: Option<Timestamp>,
}

impl LogFilter {
    fn keeps(&self, m: &Message) -> bool {
        self.status.is_none_or(|s| s == m.status)
            && self.channel.is_none_or(|c| c == m.channel)
            && self.client_id.is_none_or(|c| m.client_id == Some(c))
            && self.template_id.is_none_or(|t| m.template_id == Some(t))
    }
}

/// The smallest key of a ULID made at `t` (the millisecond is the key's top 48 bits).
pub fn key_at(t: Timestamp) -> u128 {
    (t.as_millisecond().max(0) as u128) << 80
}

/// Reads the message log for staff.
#[derive(Clone)]
pub struct Log {
    ctx: Arc<Ctx>,
}

impl Log {
    pub fn new(ctx: Arc<Ctx>) -> Log {
        Log { ctx }
    }

    /// A page of messages, newest first, below the cursor `before`; audited as
    /// `message.list` like `/api/messages`.
    pub async fn page(
        &self,
        filter: &LogFilter,
        limit: usize,
        before: Option<u128>,
        caller: &Caller,
    ) -> Result<(Vec<Message>, Option<u128>)> {
        let upper = match (before, filter.until.map(key_at)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let lower = filter.from.map(key_at).unwrap_or(0);
        let r = self.ctx.store.read()?;
        let mut out = Vec::new();
        let mut scanned = 0;
        let mut last = None;
        if let Some(client) = filter.client_id {
            let mut ids = r.children(IndexTable::MessagesByClient, client.as_u128(), None)?;
            ids.retain(|id| upper.is_none_or(|u| *id < u) && *id >= lower);
            for id in ids.into_iter().rev() {
                if let Some(m) = r.get::<Message>(RecordTable::Messages, id)?
                    && filter.keeps(&m)
                {
                    out.push(m);
                }
                if out.len() > limit {
                    break;
                }
            }
        } else {
            r.scan_rev::<Message>(RecordTable::Messages, upper, |m| {
                if m.id.as_u128() < lower {
                    return ControlFlow::Break(());
                }
                scanned += 1;
                last = Some(m.id.as_u128());
                if filter.keeps(&m) {
                    out.push(m);
                }
                if out.len() > limit || scanned >= MAX_SCAN {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })?;
        }
        let next = if out.len() > limit {
            out.truncate(limit);
            out.last().map(|m| m.id.as_u128())
        } else if scanned >= MAX_SCAN {
            last
        } else {
            None
        };
        drop(r);
        self.ctx
            .store
            .enqueue_audit(AuditDraft::new(caller, "message.list").detail(serde_json::json!({ "count": out.len() })))
            .await?;
        Ok((out, next))
    }

    /// Counts of the messages created on the local days `from..=to` (clinic's zone). Holds
    /// no personal data, so it is not audited.
    pub fn stats(&self, from: Date, to: Date) -> Result<CommsStats> {
        if to < from {
            return Err(ValidationError::new("to", "must not be before from").into());
        }
        if from.until(to).map(|s| s.get_days()).unwrap_or(i32::MAX) as i64 >= MAX_STATS_DAYS {
            return Err(ValidationError::new("to", format!("the range may span at most {MAX_STATS_DAYS} days")).into());
        }
        let tz = &self.ctx.config.time_zone;
        let start = from.to_zoned(tz.clone()).map_err(|e| ValidationError::new("from", e.to_string()))?.timestamp();
        let end = to
            .tomorrow()
            .and_then(|d| d.to_zoned(tz.clone()))
            .map_err(|e| ValidationError::new("to", e.to_string()))?
            .timestamp();
        let (lower, upper) = (key_at(start), key_at(end));
        let r = self.ctx.store.read()?;
        let mut total = StatusCounts::default();
        let mut by_channel: BTreeMap<String, StatusCounts> = BTreeMap::new();
        let mut by_category: BTreeMap<String, StatusCounts> = BTreeMap::new();
        let mut by_template: BTreeMap<TemplateId, (Channel, StatusCounts)> = BTreeMap::new();
        r.scan_rev::<Message>(RecordTable::Messages, Some(upper), |m| {
            if m.id.as_u128() < lower {
                return ControlFlow::Break(());
            }
            total.add(m.status);
            by_channel.entry(m.channel.as_str().to_owned()).or_default().add(m.status);
            let category = m.category.map_or("none", c_name);
            by_category.entry(category.to_owned()).or_default().add(m.status);
            if let Some(t) = m.template_id {
                by_template.entry(t).or_insert_with(|| (m.channel, StatusCounts::default())).1.add(m.status);
            }
            ControlFlow::Continue(())
        })?;
        let mut templates = Vec::with_capacity(by_template.len());
        for (id, (channel, counts)) in by_template {
            let name = r.get::<Template>(RecordTable::Templates, id.as_u128())?.map(|t| t.content.name);
            templates.push(TemplateStats { template_id: id, name, channel, counts });
        }
        templates.sort_by(|a, b| b.counts.total().cmp(&a.counts.total()).then(a.template_id.cmp(&b.template_id)));
        Ok(CommsStats { from, to, total, by_channel, by_category, by_template: templates })
    }
}

/// A category's wire name.
fn c_name(c: clowder_schemas::templates::TemplateCategory) -> &'static str {
    c.into()
}
