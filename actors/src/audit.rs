//! Reading the audit trail. Entries are written by the services themselves, inside the
//! change sets they describe (see `store::ChangeSet::audit`); this module only reads.

use std::sync::Arc;

use clowder_schemas::audit::{AuditDraft, AuditEntry, Caller};

use crate::ctx::Ctx;
use crate::error::Error;
use crate::store::ChangeSet;

/// Entries scanned per page at most, so a filter that matches nothing answers promptly; the
/// page then ends early with a cursor to continue from.
pub const MAX_SCAN: usize = 20_000;

/// Records a read in the audit trail before the data is handed out: the entry is queued,
/// in order, for the next group commit, and durable milliseconds later. A read never waits
/// for a disk flush; a power cut can lose the read entries of the last commit batch, never
/// a change's entry (those share the change's transaction). See docs/security.md.
pub(crate) async fn record_read(ctx: &Ctx, draft: AuditDraft) -> Result<(), Error> {
    ctx.store.enqueue_audit(draft).await?;
    Ok(())
}

/// Records an entry durably (waits for its commit).
pub(crate) async fn record_now(ctx: &Ctx, draft: AuditDraft) -> Result<(), Error> {
    let mut set = ChangeSet::new();
    set.audit(draft);
    ctx.store.commit(set).await?;
    Ok(())
}

/// Which entries a page shows.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub user_id: Option<String>,
    pub record_kind: Option<String>,
    pub record_id: Option<String>,
    /// An action, or a prefix ending in `.`.
    pub action: Option<String>,
    pub from: Option<jiff::Timestamp>,
    pub to: Option<jiff::Timestamp>,
}

impl AuditFilter {
    fn matches(&self, e: &AuditEntry) -> bool {
        let user_ok = self
            .user_id
            .as_deref()
            .is_none_or(|u| matches!(e.actor, Some(clowder_schemas::events::Author::User(id)) if id.to_string() == u));
        let action_ok = self
            .action
            .as_deref()
            .is_none_or(|a| if a.ends_with('.') { e.action.starts_with(a) } else { e.action == a });
        user_ok
            && action_ok
            && self.record_kind.as_deref().is_none_or(|k| e.record_kind.as_deref() == Some(k))
            && self.record_id.as_deref().is_none_or(|r| e.record_id.as_deref() == Some(r))
            && self.from.is_none_or(|f| e.at >= f)
            && self.to.is_none_or(|t| e.at < t)
    }
}

/// The audit trail, for reading.
#[derive(Clone)]
pub struct AuditLog {
    ctx: Arc<Ctx>,
}

impl AuditLog {
    pub(crate) fn new(ctx: Arc<Ctx>) -> Self {
        Self { ctx }
    }

    /// Records an entry that belongs to no other change (e.g. a refused request), durably.
    pub async fn record(&self, draft: AuditDraft) -> Result<(), Error> {
        record_now(&self.ctx, draft).await
    }

    /// One page, newest first, of entries below sequence `before`; the second value is the
    /// sequence to continue below when more may remain. Reading the trail is itself audited.
    pub async fn page(
        &self,
        filter: &AuditFilter,
        before: Option<u64>,
        limit: usize,
        caller: &Caller,
    ) -> Result<(Vec<AuditEntry>, Option<u64>), Error> {
        // Committed first, and waited for: reads audited before this call are queued ahead of
        // it, so the page shows them too.
        let read = AuditDraft::new(caller, "audit.read")
            .detail(serde_json::json!({ "before": before, "limit": limit, "action": filter.action }));
        let mut set = ChangeSet::new();
        set.audit(read);
        self.ctx.store.commit_after_reads(set).await?;
        let (mut items, scan) = self.ctx.store.read()?.audit_before(before, limit, MAX_SCAN, |e| filter.matches(e))?;
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|e| e.seq)
        } else if scan.count == MAX_SCAN && scan.last.is_some_and(|s| s > 1) {
            // The scan stopped at its bound before the start of the trail: go on from there.
            scan.last
        } else {
            None
        };
        Ok((items, next))
    }
}
