//! Importing the medical record of the past: visits opened and completed at their own times
//! and notes signed by a named vet at theirs, for the demo's year of history and, later, a
//! migration from another practice system.
//!
//! Everything goes through the kinds' own decisions, made as of the record's time
//! (`Records::import_at`), so the rules that do not depend on the clock hold as for live
//! writes; what differs is said where it does (a vet who has left may have signed, a cat that
//! has died had visits). Times in the future are refused. Each write is audited as an import
//! (`visit.import`, `note.import`, with `imported_as_of`) by the caller who runs it: the
//! system for the demo. There is no HTTP route: an importer is Clowder's own code.

use clowder_schemas::ValidationError;
use clowder_schemas::audit::Caller;
use clowder_schemas::visits::{ImportVisit, Visit, VisitDraft};
use jiff::Timestamp;

use super::unsigned;
use super::visits::Visits;
use crate::error::{Error, Result};
use crate::jobs::Jobs;
use crate::store::ChangeSet;

impl Visits {
    /// Imports a visit opened at `opened_at` (not in the future; `completed_at`, if any, not
    /// before it nor in the future). `alert`: the jobs service when the note will stay
    /// unsigned, to schedule the board's alert 24 h after the opening (at once when that has
    /// passed); `None` when a signed note follows ([`super::notes::Notes::import`]).
    pub async fn import(
        &self,
        opened_at: Timestamp,
        visit: ImportVisit,
        alert: Option<&Jobs>,
        caller: &Caller,
    ) -> Result<Visit> {
        let now = self.ctx_ref().clock.now();
        if opened_at > now {
            return Err(ValidationError::new("opened_at", "an imported visit cannot open in the future").into());
        }
        if visit.completed_at.is_some_and(|c| c > now) {
            return Err(ValidationError::new("completed_at", "an imported visit cannot end in the future").into());
        }
        let Some(jobs) = alert else {
            return self.import_at(opened_at, VisitDraft::Import(visit), ChangeSet::new(), caller).await;
        };
        // The id is the one `import_at` would choose: its time is the opening's.
        let ms = opened_at.as_millisecond().max(0) as u64;
        let id =
            clowder_schemas::ids::VisitId::from_ulid(ulid::Ulid::from_parts(ms, self.ctx_ref().new_ulid().random()));
        let due = opened_at.checked_add(unsigned::AFTER).map_err(|e| Error::Internal(e.to_string()))?.max(now);
        let mut set = ChangeSet::new();
        jobs.schedule(&mut set, unsigned::of_visit(id, due), caller)?;
        let v = self.import_at_with_id(id, opened_at, VisitDraft::Import(visit), set, caller).await?;
        jobs.wake();
        Ok(v)
    }
}
