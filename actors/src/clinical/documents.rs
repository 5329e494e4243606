//! Documents on the medical record as a record kind: the metadata of a file filed under a
//! client, one of their cats or one of that cat's visits (the content is in
//! [`super::document_files`], named by its hash). What it is linked to must exist and agree: a
//! visit's cat, a cat's owner. Documents are deactivated, never deleted. Each is linked under
//! its client and, when it has one, its cat.

use clowder_schemas::ValidationError;
use clowder_schemas::audit::Caller;
use clowder_schemas::clients::Client;
use clowder_schemas::documents::{Document, DocumentCategory, DocumentDraft};
use clowder_schemas::events::DomainEvent;
use clowder_schemas::ids::{ClientId, DocumentId, PatientId, VisitId};
use clowder_schemas::patients::Patient;
use clowder_schemas::visits::Visit;

use crate::error::{Error, Result};
use crate::records::page::Page;
use crate::records::{Claim, DecideCtx, Decision, Link, RecordKind, Records};
use crate::store::{IndexTable, RecordTable};

/// The documents service: [`Records`] plus `deactivate` and `list_for`.
pub type Documents = Records<DocumentKind>;

/// The document record kind.
pub struct DocumentKind;

/// A change to a document (its content never changes).
#[derive(Debug)]
pub enum DocumentCommand {
    Deactivate { reason: Option<String> },
}

impl RecordKind for DocumentKind {
    type Record = Document;
    type Id = DocumentId;
    type Draft = DocumentDraft;
    type Command = DocumentCommand;
    type Filter = DocumentFilter;

    const KIND: &'static str = "document";
    const TABLE: RecordTable = RecordTable::Documents;
    const READ_ACTION: &'static str = "document.read";
    const LIST_ACTION: &'static str = "document.list";

    fn id(d: &Document) -> DocumentId {
        d.id
    }

    fn not_found(id: DocumentId) -> Error {
        Error::DocumentNotFound(id)
    }

    fn claims(_: &Document) -> impl Iterator<Item = Claim<'_>> {
        std::iter::empty()
    }

    fn links(d: &Document) -> impl Iterator<Item = Link> {
        std::iter::once(Link { index: IndexTable::DocumentsByClient, parent: d.client_id.as_u128() })
            .chain(d.patient_id.map(|p| Link { index: IndexTable::DocumentsByPatient, parent: p.as_u128() }))
    }

    fn matches(f: &DocumentFilter, d: &Document) -> bool {
        f.client_id.is_none_or(|id| id == d.client_id)
            && f.patient_id.is_none_or(|id| Some(id) == d.patient_id)
            && f.visit_id.is_none_or(|id| Some(id) == d.visit_id)
            && f.category.is_none_or(|c| c == d.category)
            && f.tag.as_ref().is_none_or(|t| d.tags.iter().any(|x| x.eq_ignore_ascii_case(t)))
            && (f.include_inactive || d.active)
    }

    fn list_via(f: &DocumentFilter) -> Option<Link> {
        match (f.patient_id, f.client_id) {
            (Some(p), _) => Some(Link { index: IndexTable::DocumentsByPatient, parent: p.as_u128() }),
            (None, Some(c)) => Some(Link { index: IndexTable::DocumentsByClient, parent: c.as_u128() }),
            (None, None) => None,
        }
    }

    fn decide_create(ctx: &DecideCtx<'_>, id: DocumentId, draft: DocumentDraft) -> Result<Decision<Document>> {
        decide_create(ctx, id, draft)
    }

    fn decide(ctx: &DecideCtx<'_>, current: &Document, command: DocumentCommand) -> Result<Option<Decision<Document>>> {
        match command {
            DocumentCommand::Deactivate { .. } if !current.active => Ok(None),
            DocumentCommand::Deactivate { reason } => {
                let mut new = current.clone();
                new.active = false;
                new.deactivated_at = Some(ctx.now);
                new.deactivated_reason = reason;
                new.updated_at = ctx.now;
                Ok(Some(Decision {
                    event: DomainEvent::DocumentDeactivated { document_id: new.id, client_id: new.client_id },
                    record: new,
                    changed: vec!["active", "deactivated_at", "deactivated_reason"],
                    action: "document.deactivate",
                }))
            }
        }
    }
}

/// Which client the links name, checked against the record: the visit's cat, the cat's
/// owner, the client given. Any disagreement is a 422 on the field that disagrees.
pub fn linked_client(
    ctx: &DecideCtx<'_>,
    client_id: Option<ClientId>,
    patient_id: Option<PatientId>,
    visit_id: Option<VisitId>,
) -> Result<(ClientId, Option<PatientId>)> {
    let mut patient_id = patient_id;
    if let Some(v) = visit_id {
        let visit = ctx.get::<Visit>(RecordTable::Visits, v.as_u128())?.ok_or(Error::VisitNotFound(v))?;
        match patient_id {
            Some(p) if p != visit.patient_id => {
                return Err(ValidationError::new("visit_id", "is a visit of another cat").into());
            }
            _ => patient_id = Some(visit.patient_id),
        }
    }
    let owner = match patient_id {
        Some(p) => {
            Some(ctx.get::<Patient>(RecordTable::Patients, p.as_u128())?.ok_or(Error::PatientNotFound(p))?.client_id)
        }
        None => None,
    };
    let client = match (client_id, owner) {
        (Some(c), Some(o)) if c != o => {
            return Err(ValidationError::new("patient_id", "is a cat of another client").into());
        }
        (Some(c), _) | (None, Some(c)) => c,
        (None, None) => return Err(ValidationError::new("client_id", "name a client, a cat or a visit").into()),
    };
    if ctx.get::<Client>(RecordTable::Clients, client.as_u128())?.is_none() {
        return Err(Error::ClientNotFound(client));
    }
    Ok((client, patient_id))
}

/// A new document, filed under the client its links agree on.
pub fn decide_create(ctx: &DecideCtx<'_>, id: DocumentId, mut draft: DocumentDraft) -> Result<Decision<Document>> {
    let (client_id, patient_id) = linked_client(ctx, draft.client_id, draft.patient_id, draft.visit_id)?;
    draft.patient_id = patient_id;
    let document = draft.into_document(id, client_id, ctx.now, ctx.caller.user_id());
    Ok(Decision {
        event: DomainEvent::DocumentAdded { document_id: id, client_id },
        record: document,
        changed: Vec::new(),
        action: "document.create",
    })
}

/// Which documents a list shows.
#[derive(Debug, Clone, Default)]
pub struct DocumentFilter {
    pub client_id: Option<ClientId>,
    pub patient_id: Option<PatientId>,
    pub visit_id: Option<VisitId>,
    pub category: Option<DocumentCategory>,
    pub tag: Option<String>,
    pub include_inactive: bool,
}

impl Documents {
    /// Checks a new document's links against the record as it is now, without writing: the
    /// upload asks before it keeps the content, so a refused link leaves no orphan file. The
    /// decision checks them again when the record is written.
    pub fn check_links(&self, draft: &DocumentDraft, caller: &Caller) -> Result<()> {
        let ctx = self.ctx_ref();
        let dctx = DecideCtx::new(ctx.clock.now(), &ctx.config, caller, Some(ctx.store.as_ref()));
        linked_client(&dctx, draft.client_id, draft.patient_id, draft.visit_id).map(|_| ())
    }

    /// Hides a document from the record's lists (it stays readable); already inactive: no change.
    pub async fn deactivate(&self, id: DocumentId, reason: Option<String>, caller: &Caller) -> Result<Document> {
        self.command(id, DocumentCommand::Deactivate { reason }, caller).await
    }

    /// Documents matching `filter`, newest first, below the key `before`; audited.
    pub async fn list_for(
        &self,
        filter: &DocumentFilter,
        before: Option<u128>,
        limit: usize,
        caller: &Caller,
    ) -> Result<Page<Document>> {
        self.list_newest_first(filter, before, limit, caller).await
    }
}

#[cfg(test)]
mod tests {
    use clowder_schemas::documents::{MediaType, StoredContent};
    use jiff::Timestamp;

    use super::*;
    use crate::ctx::SystemConfig;
    use crate::records::linked;

    fn document(patient: Option<u128>) -> Document {
        DocumentDraft {
            client_id: Some(ClientId::from_u128(3)),
            patient_id: patient.map(PatientId::from_u128),
            visit_id: None,
            category: DocumentCategory::LabReport,
            tags: vec!["Renal".into()],
            file_name: "cbc.pdf".into(),
            content: StoredContent { sha256: "ab".repeat(32), size: 10, media_type: MediaType::Pdf },
        }
        .into_document(DocumentId::from_u128(1), ClientId::from_u128(3), Timestamp::UNIX_EPOCH, None)
    }

    #[test]
    fn a_document_is_linked_under_its_client_and_cat_and_filtered() {
        let d = document(Some(10));
        let links: Vec<_> = linked::<DocumentKind>(None, &d).collect();
        assert_eq!(
            links,
            [
                Link { index: IndexTable::DocumentsByClient, parent: 3 },
                Link { index: IndexTable::DocumentsByPatient, parent: 10 }
            ]
        );
        let renal = DocumentFilter { tag: Some("renal".into()), ..DocumentFilter::default() };
        assert!(DocumentKind::matches(&renal, &d));
        let imaging = DocumentFilter { category: Some(DocumentCategory::Imaging), ..DocumentFilter::default() };
        assert!(!DocumentKind::matches(&imaging, &d));
        assert_eq!(linked::<DocumentKind>(None, &document(None)).count(), 1);
    }

    #[test]
    fn deactivating_hides_it_once_and_again_changes_nothing() {
        let (settings, caller) = (SystemConfig::new("unused"), Caller::default());
        let now: Timestamp = "2026-06-01T12:00:00Z".parse().unwrap();
        let ctx = DecideCtx::new(now, &settings, &caller, None);
        let d = document(None);
        let off = DocumentKind::decide(&ctx, &d, DocumentCommand::Deactivate { reason: Some("duplicate".into()) })
            .unwrap()
            .unwrap();
        assert!(!off.record.active && off.record.deactivated_at == Some(now));
        assert!(!DocumentKind::matches(&DocumentFilter::default(), &off.record));
        assert!(
            DocumentKind::decide(&ctx, &off.record, DocumentCommand::Deactivate { reason: None }).unwrap().is_none()
        );
    }
}
