//! SOAP notes while they are written, and the templates they start from.
//!
//! A draft is not a record kind and not an event: the exam-room page autosaves every few
//! seconds, and an event per keystroke pause would flood the log and every screen. Each save
//! is still one durable change set (the draft row and its audit entry, so `Idempotency-Key`
//! claims work as for any write) committed before the answer. Saves carry the page's
//! revision number: a save whose revision is not above the stored one writes nothing and
//! answers the stored draft, so an old autosave arriving late (a flaky connection's queue)
//! never overwrites newer text. Concurrent saves are serialised by a guard on the stored
//! revision (`ChangeSet::require`), and the loser retries on the new state. The draft row is
//! created with its visit (from the template) and deleted by the signing, whose change set
//! guards the revision it signed.

use std::sync::Arc;

use clowder_schemas::appointment_types::AppointmentType;
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::ids::{NoteId, VisitId};
use clowder_schemas::notes::{
    DraftSaved, NoteDraft, NoteTemplate, NoteView, SaveDraft, Soap, TemplateFor, default_template,
};
use clowder_schemas::visits::{Visit, VisitStatus, VisitType};
use clowder_schemas::{AppointmentTypeId, ValidationError};

use super::notes::Notes;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::records::DecideCtx;
use crate::store::tables::unique;
use crate::store::{ChangeSet, RecordTable, codec};

/// How often a save is tried again after losing a race with another save of the same draft.
const SAVE_ATTEMPTS: usize = 5;

/// The template a new visit's draft starts from: its appointment type's if the clinic wrote
/// one, else its visit type's (edited or built in). Returns the template's key and text.
pub fn template_for(
    ctx: &DecideCtx<'_>,
    appointment_type: Option<AppointmentTypeId>,
    visit_type: VisitType,
) -> Result<(String, Soap)> {
    if let Some(t) = appointment_type {
        let key = TemplateFor::AppointmentType(t);
        if let Some(stored) = ctx.get::<NoteTemplate>(RecordTable::NoteTemplates, key.store_key())? {
            return Ok((key.key(), stored.soap));
        }
    }
    let key = TemplateFor::VisitType(visit_type);
    let soap = ctx
        .get::<NoteTemplate>(RecordTable::NoteTemplates, key.store_key())?
        .map_or_else(|| default_template(visit_type), |t| t.soap);
    Ok((key.key(), soap))
}

/// Drafts, the note as the page shows it, and templates.
#[derive(Clone)]
pub struct Drafts {
    ctx: Arc<Ctx>,
    notes: Notes,
}

impl Drafts {
    pub(crate) fn new(ctx: Arc<Ctx>, notes: Notes) -> Self {
        Self { ctx, notes }
    }

    /// Autosaves a draft (see the module doc). Refused once the note is signed (409 naming
    /// the addendum route) or the visit is voided.
    pub async fn save(&self, visit_id: VisitId, body: SaveDraft, caller: &Caller) -> Result<DraftSaved> {
        body.validate()?;
        let key = visit_id.as_u128();
        for _ in 0..SAVE_ATTEMPTS {
            let r = self.ctx.store.read()?;
            let visit = r.get::<Visit>(RecordTable::Visits, key)?.ok_or(Error::VisitNotFound(visit_id))?;
            if r.unique_owner(unique::NOTE_VISIT, &visit_id.to_string())?.is_some() {
                return Err(Error::NoteSigned { visit_id });
            }
            if visit.status == VisitStatus::Voided {
                return Err(Error::VisitTransition {
                    from: visit.status,
                    to: "changed",
                    allowed: vec!["open", "completed"],
                });
            }
            // Created with the visit and deleted only by the signing.
            let stored = r.get::<NoteDraft>(RecordTable::NoteDrafts, key)?.ok_or(Error::NoteSigned { visit_id })?;
            drop(r);
            if body.revision <= stored.revision {
                crate::audit::record_read(
                    &self.ctx,
                    AuditDraft::new(caller, "note.autosave_ignored")
                        .record("visit", visit_id)
                        .detail(serde_json::json!({ "revision": body.revision, "stored_revision": stored.revision })),
                )
                .await?;
                return Ok(DraftSaved { revision: stored.revision, applied: false, draft: stored });
            }
            let (soap, changed) = body.apply(&stored.soap);
            let expected = stored.revision;
            let draft = NoteDraft {
                soap,
                revision: body.revision,
                updated_at: self.ctx.clock.now(),
                updated_by: caller.user_id(),
                ..stored
            };
            let mut set = ChangeSet::new();
            // Another save, or the signing (which deletes the row), moved it first: try again.
            set.require(RecordTable::NoteDrafts, key, "note draft", move |bytes| {
                bytes.is_some_and(|b| codec::decode::<NoteDraft>(b).is_ok_and(|d| d.revision == expected))
            });
            set.put(RecordTable::NoteDrafts, key, &draft)?;
            set.audit(
                AuditDraft::new(caller, "note.autosave")
                    .record("visit", visit_id)
                    .detail(serde_json::json!({ "revision": draft.revision, "changed": changed })),
            );
            match self.ctx.store.commit(set).await.map_err(Error::from) {
                Ok(_) => return Ok(DraftSaved { revision: draft.revision, applied: true, draft }),
                Err(Error::Changed { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Error::Changed { what: "note draft" })
    }

    /// The note of a visit as the page shows it: the signed note with its addenda, or the
    /// draft. Audited like every read of the record (`note.read`).
    pub async fn view(&self, visit_id: VisitId, caller: &Caller) -> Result<NoteView> {
        let key = visit_id.as_u128();
        let r = self.ctx.store.read()?;
        if r.get::<Visit>(RecordTable::Visits, key)?.is_none() {
            return Err(Error::VisitNotFound(visit_id));
        }
        let signed = r.unique_owner(unique::NOTE_VISIT, &visit_id.to_string())?;
        let draft = r.get::<NoteDraft>(RecordTable::NoteDrafts, key)?;
        drop(r);
        if let Some(n) = signed {
            let note = self.notes.get(NoteId::from_u128(n), caller).await?;
            return Ok(NoteView { visit_id, status: "signed".into(), draft: None, note: Some(note) });
        }
        crate::audit::record_read(&self.ctx, AuditDraft::new(caller, "note.read").record("visit", visit_id)).await?;
        Ok(NoteView { visit_id, status: "draft".into(), draft, note: None })
    }

    /// Every template: one per visit type (edited or built in), then those the clinic wrote
    /// for appointment types.
    pub fn templates(&self) -> Result<Vec<NoteTemplate>> {
        let r = self.ctx.store.read()?;
        let mut out = Vec::new();
        for t in VisitType::ALL {
            let key = TemplateFor::VisitType(*t);
            out.push(r.get::<NoteTemplate>(RecordTable::NoteTemplates, key.store_key())?.unwrap_or_else(|| {
                NoteTemplate {
                    key: key.key(),
                    soap: default_template(*t),
                    edited: false,
                    updated_at: None,
                    updated_by: None,
                }
            }));
        }
        let visit_types = VisitType::ALL.len() as u128;
        r.scan::<NoteTemplate>(RecordTable::NoteTemplates, Some(visit_types), |t| {
            out.push(t);
            std::ops::ControlFlow::Continue(())
        })?;
        Ok(out)
    }

    /// Writes a template (audited; templates are not events: no screen follows them).
    pub async fn put_template(&self, key: TemplateFor, soap: Soap, caller: &Caller) -> Result<NoteTemplate> {
        if let TemplateFor::AppointmentType(id) = key
            && self.ctx.store.read()?.get::<AppointmentType>(RecordTable::AppointmentTypes, id.as_u128())?.is_none()
        {
            return Err(Error::AppointmentTypeNotFound(id));
        }
        if soap.is_blank() {
            return Err(ValidationError::new("subjective", "a template needs some text in at least one section").into());
        }
        let template = NoteTemplate {
            key: key.key(),
            soap,
            edited: true,
            updated_at: Some(self.ctx.clock.now()),
            updated_by: caller.user_id(),
        };
        let mut set = ChangeSet::new();
        set.put(RecordTable::NoteTemplates, key.store_key(), &template)?;
        set.audit(AuditDraft::new(caller, "note_template.update").record("note_template", key.key()));
        self.ctx.store.commit(set).await?;
        Ok(template)
    }
}
