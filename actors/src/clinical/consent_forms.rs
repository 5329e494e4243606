//! Consent templates and consent forms as record kinds (`clowder_schemas::consent_forms`):
//! a template is versioned (a new title or body is a new version); a form is made for a visit
//! from a template's current version, its text filled from the record (cat, owner, clinic,
//! vet, the estimate's low and high) and frozen, then signed once or voided before.
//!
//! Signing ([`ConsentForms::sign`]) checks the drawn signature by its pixels, prints the signed
//! PDF, stores it as a document of category `consent` and only then marks the form signed,
//! naming that document: a form is never signed without its PDF on disk and on the record. A
//! crash between the two leaves a consent document and a draft form (signing again makes a
//! new PDF); one sign at a time per service, so a double tap makes one document.

use std::sync::Arc;

use clowder_documents::{Block, Image, ImageLimits};
use clowder_schemas::ValidationError;
use clowder_schemas::audit::Caller;
use clowder_schemas::clients::Client;
use clowder_schemas::consent_forms::{
    ConsentForm, ConsentFormDraft, ConsentKind, ConsentSignature, ConsentStatus, ConsentTemplate, ConsentTemplateDraft,
    ConsentValues, DEFAULT_TEMPLATES, SignerRelationship, UpdateConsentTemplate,
};
use clowder_schemas::documents::{DocumentCategory, DocumentDraft};
use clowder_schemas::estimates::Estimate;
use clowder_schemas::events::DomainEvent;
use clowder_schemas::ids::{ClientId, ConsentFormId, ConsentTemplateId, PatientId, VisitId};
use clowder_schemas::patients::Patient;
use clowder_schemas::staff::StaffProfile;
use clowder_schemas::visits::{Visit, VisitStatus};

use super::documents::Documents;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::printing;
use crate::records::page::Page;
use crate::records::{Claim, DecideCtx, Decision, Link, RecordKind, Records};
use crate::store::{IndexTable, RecordTable};

/// The consent templates service.
pub type ConsentTemplates = Records<ConsentTemplateKind>;

/// The consent template record kind.
pub struct ConsentTemplateKind;

/// Which templates a list shows.
#[derive(Debug, Clone, Default)]
pub struct TemplateFilter {
    pub kind: Option<ConsentKind>,
    pub include_inactive: bool,
}

impl RecordKind for ConsentTemplateKind {
    type Record = ConsentTemplate;
    type Id = ConsentTemplateId;
    type Draft = ConsentTemplateDraft;
    type Command = UpdateConsentTemplate;
    type Filter = TemplateFilter;

    const KIND: &'static str = "consent_template";
    const TABLE: RecordTable = RecordTable::ConsentTemplates;
    const READ_ACTION: &'static str = "consent_template.read";
    const LIST_ACTION: &'static str = "consent_template.list";

    fn id(t: &ConsentTemplate) -> ConsentTemplateId {
        t.id
    }

    fn not_found(id: ConsentTemplateId) -> Error {
        Error::ConsentTemplateNotFound(id)
    }

    fn claims(_: &ConsentTemplate) -> impl Iterator<Item = Claim<'_>> {
        std::iter::empty()
    }

    fn matches(f: &TemplateFilter, t: &ConsentTemplate) -> bool {
        f.kind.is_none_or(|k| k == t.kind) && (f.include_inactive || t.active)
    }

    fn decide_create(
        ctx: &DecideCtx<'_>,
        id: ConsentTemplateId,
        draft: ConsentTemplateDraft,
    ) -> Result<Decision<ConsentTemplate>> {
        Ok(Decision {
            event: DomainEvent::ConsentTemplateSaved { consent_template_id: id, changed: Vec::new() },
            record: draft.into_template(id, ctx.now, ctx.caller.user_id()),
            changed: Vec::new(),
            action: "consent_template.create",
        })
    }

    fn decide(
        ctx: &DecideCtx<'_>,
        current: &ConsentTemplate,
        patch: UpdateConsentTemplate,
    ) -> Result<Option<Decision<ConsentTemplate>>> {
        let (mut new, changed) = patch.apply(current)?;
        if changed.is_empty() {
            return Ok(None);
        }
        new.updated_at = ctx.now;
        new.updated_by = ctx.caller.user_id();
        Ok(Some(Decision {
            event: DomainEvent::ConsentTemplateSaved {
                consent_template_id: new.id,
                changed: changed.iter().map(|s| s.to_string()).collect(),
            },
            record: new,
            changed,
            action: "consent_template.update",
        }))
    }
}

/// The wording a new store starts with: written at first start when there is no template.
pub async fn ensure_default_templates(templates: &ConsentTemplates) -> Result<()> {
    if templates.ctx_ref().store.read()?.count(RecordTable::ConsentTemplates)? > 0 {
        return Ok(());
    }
    for (kind, title, body) in DEFAULT_TEMPLATES {
        let draft = ConsentTemplateDraft { kind, title: title.to_owned(), body: body.to_owned() };
        templates.create(draft, &Caller::system()).await?;
    }
    Ok(())
}

/// A change to a consent form.
#[derive(Debug)]
pub enum ConsentFormCommand {
    /// A draft's procedure corrected: the text is filled again from the same version.
    SetProcedure(String),
    Sign(ConsentSignature),
    Void {
        reason: String,
    },
}

/// The consent form record kind.
pub struct ConsentFormKind;

/// Which forms a list shows.
#[derive(Debug, Clone, Default)]
pub struct FormFilter {
    pub client_id: Option<ClientId>,
    pub patient_id: Option<PatientId>,
    pub visit_id: Option<VisitId>,
}

impl RecordKind for ConsentFormKind {
    type Record = ConsentForm;
    type Id = ConsentFormId;
    type Draft = ConsentFormDraft;
    type Command = ConsentFormCommand;
    type Filter = FormFilter;

    const KIND: &'static str = "consent_form";
    const TABLE: RecordTable = RecordTable::ConsentForms;
    const READ_ACTION: &'static str = "consent_form.read";
    const LIST_ACTION: &'static str = "consent_form.list";

    fn id(f: &ConsentForm) -> ConsentFormId {
        f.id
    }

    fn not_found(id: ConsentFormId) -> Error {
        Error::ConsentFormNotFound(id)
    }

    fn claims(_: &ConsentForm) -> impl Iterator<Item = Claim<'_>> {
        std::iter::empty()
    }

    fn links(f: &ConsentForm) -> impl Iterator<Item = Link> {
        [
            Link { index: IndexTable::ConsentFormsByClient, parent: f.client_id.as_u128() },
            Link { index: IndexTable::ConsentFormsByPatient, parent: f.patient_id.as_u128() },
        ]
        .into_iter()
    }

    fn matches(f: &FormFilter, c: &ConsentForm) -> bool {
        f.client_id.is_none_or(|id| id == c.client_id)
            && f.patient_id.is_none_or(|id| id == c.patient_id)
            && f.visit_id.is_none_or(|id| id == c.visit_id)
    }

    fn list_via(f: &FormFilter) -> Option<Link> {
        match (f.patient_id, f.client_id) {
            (Some(p), _) => Some(Link { index: IndexTable::ConsentFormsByPatient, parent: p.as_u128() }),
            (None, Some(c)) => Some(Link { index: IndexTable::ConsentFormsByClient, parent: c.as_u128() }),
            (None, None) => None,
        }
    }

    fn decide_create(ctx: &DecideCtx<'_>, id: ConsentFormId, draft: ConsentFormDraft) -> Result<Decision<ConsentForm>> {
        decide_create(ctx, id, draft)
    }

    fn decide(
        ctx: &DecideCtx<'_>,
        current: &ConsentForm,
        command: ConsentFormCommand,
    ) -> Result<Option<Decision<ConsentForm>>> {
        match current.status {
            ConsentStatus::Signed => return Err(Error::ConsentFormSigned(current.id)),
            ConsentStatus::Voided => return Err(Error::ConsentFormVoided(current.id)),
            ConsentStatus::Draft => {}
        }
        let mut new = current.clone();
        let (changed, action) = match command {
            ConsentFormCommand::SetProcedure(p) if p == current.values.procedure => return Ok(None),
            ConsentFormCommand::SetProcedure(p) => {
                new.values.procedure = p;
                new.title = new.values.fill(&new.template_title);
                new.text = new.values.fill(&new.template_body);
                (vec!["values", "title", "text"], "consent_form.update")
            }
            ConsentFormCommand::Sign(signature) => {
                new.status = ConsentStatus::Signed;
                new.signature = Some(signature);
                (vec!["status", "signature"], "consent_form.sign")
            }
            ConsentFormCommand::Void { reason } => {
                new.status = ConsentStatus::Voided;
                new.void_reason = Some(reason);
                (vec!["status", "void_reason"], "consent_form.void")
            }
        };
        new.updated_at = ctx.now;
        Ok(Some(Decision {
            event: DomainEvent::ConsentFormUpdated {
                consent_form_id: new.id,
                patient_id: new.patient_id,
                changed: changed.iter().map(|s| s.to_string()).collect(),
            },
            record: new,
            changed,
            action,
        }))
    }
}

fn person(first: &str, last: &str) -> String {
    format!("{first} {last}").trim().to_owned()
}

/// A new form: the template's current version filled from the visit's cat, its owner, the
/// visit's vet and (treatment estimate) the estimate's option, all read from one snapshot.
fn decide_create(ctx: &DecideCtx<'_>, id: ConsentFormId, draft: ConsentFormDraft) -> Result<Decision<ConsentForm>> {
    let template = ctx
        .get::<ConsentTemplate>(RecordTable::ConsentTemplates, draft.template_id.as_u128())?
        .ok_or(Error::ConsentTemplateNotFound(draft.template_id))?;
    if !template.active {
        return Err(ValidationError::new("template_id", "is retired; choose a current template").into());
    }
    let visit =
        ctx.get::<Visit>(RecordTable::Visits, draft.visit_id.as_u128())?.ok_or(Error::VisitNotFound(draft.visit_id))?;
    if visit.status == VisitStatus::Voided {
        return Err(ValidationError::new("visit_id", "is a voided visit").into());
    }
    let cat = ctx
        .get::<Patient>(RecordTable::Patients, visit.patient_id.as_u128())?
        .ok_or(Error::PatientNotFound(visit.patient_id))?;
    let owner = ctx
        .get::<Client>(RecordTable::Clients, cat.client_id.as_u128())?
        .ok_or(Error::ClientNotFound(cat.client_id))?;
    let vet = match visit.vet_id {
        Some(v) => {
            ctx.get::<StaffProfile>(RecordTable::Staff, v.as_u128())?.map(|s| person(&s.first_name, &s.last_name))
        }
        None => None,
    };
    let (mut estimate_low, mut estimate_high, mut option_no) = (String::new(), String::new(), None);
    match (template.kind, draft.estimate_id) {
        (ConsentKind::TreatmentEstimate, None) => {
            return Err(ValidationError::new("estimate_id", "is required for a treatment-estimate consent").into());
        }
        (_, Some(e)) => {
            let estimate =
                ctx.get::<Estimate>(RecordTable::Estimates, e.as_u128())?.ok_or(Error::EstimateNotFound(e))?;
            if estimate.patient_id != cat.id {
                return Err(ValidationError::new("estimate_id", "is an estimate for another cat").into());
            }
            let wanted = draft.estimate_option.or(estimate.accepted_option);
            let option = match wanted {
                Some(n) => estimate.options.iter().find(|o| o.option_no == n),
                None => estimate.options.first(),
            }
            .ok_or_else(|| ValidationError::new("estimate_option", "is not an option of that estimate"))?;
            estimate_low = option.low.total.to_string();
            estimate_high = option.high.total.to_string();
            option_no = Some(option.option_no);
        }
        (_, None) => {}
    }
    let values = ConsentValues {
        cat: cat.name.clone(),
        owner: person(&owner.first_name, &owner.last_name),
        clinic: ctx.settings.comms.clinic.name.clone(),
        date: ctx.today().to_string(),
        procedure: draft.procedure.or(visit.chief_complaint.clone()).unwrap_or_default(),
        estimate_low,
        estimate_high,
        vet: vet.unwrap_or_default(),
    };
    let form = ConsentForm {
        id,
        template_id: template.id,
        template_version: template.version,
        kind: template.kind,
        title: values.fill(&template.title),
        text: values.fill(&template.body),
        template_title: template.title,
        template_body: template.body,
        values,
        estimate_id: draft.estimate_id,
        estimate_option: option_no,
        client_id: cat.client_id,
        patient_id: cat.id,
        visit_id: visit.id,
        status: ConsentStatus::Draft,
        void_reason: None,
        signature: None,
        created_at: ctx.now,
        created_by: ctx.caller.user_id(),
        updated_at: ctx.now,
    };
    Ok(Decision {
        event: DomainEvent::ConsentFormCreated { consent_form_id: id, patient_id: form.patient_id },
        record: form,
        changed: Vec::new(),
        action: "consent_form.create",
    })
}

/// What a signer gives at the tablet.
#[derive(Debug, Clone)]
pub struct Signing {
    pub signer_name: String,
    pub relationship: SignerRelationship,
    /// The drawn signature's PNG bytes (checked here by their pixels).
    pub png: Vec<u8>,
}

/// The consent forms service: the record kind, and signing.
#[derive(Clone)]
pub struct ConsentForms {
    records: Records<ConsentFormKind>,
    documents: Documents,
    files: super::document_files::DocumentFiles,
    /// One signature at a time: the PDF and its document are made before the form changes,
    /// so a second sign of the same form must wait and then find it signed.
    signing: Arc<tokio::sync::Mutex<()>>,
    ctx: Arc<Ctx>,
}

impl ConsentForms {
    pub(crate) fn new(ctx: Arc<Ctx>, documents: Documents, files: super::document_files::DocumentFiles) -> Self {
        ConsentForms { records: Records::new(ctx.clone()), documents, files, signing: Arc::default(), ctx }
    }

    /// The record kind's service (create, get, list).
    pub fn records(&self) -> &Records<ConsentFormKind> {
        &self.records
    }

    /// Makes a form for a visit from a template.
    pub async fn create(&self, draft: ConsentFormDraft, caller: &Caller) -> Result<ConsentForm> {
        self.records.create(draft, caller).await
    }

    /// A form (audited).
    pub async fn get(&self, id: ConsentFormId, caller: &Caller) -> Result<ConsentForm> {
        self.records.get(id, caller).await
    }

    /// A form without an audit entry (access checks before the audited read).
    pub fn peek(&self, id: ConsentFormId) -> Result<ConsentForm> {
        self.records.peek(id)
    }

    /// Forms newest first (audited).
    pub async fn list(
        &self,
        filter: &FormFilter,
        before: Option<u128>,
        limit: usize,
        caller: &Caller,
    ) -> Result<Page<ConsentForm>> {
        self.records.list_newest_first(filter, before, limit, caller).await
    }

    /// Corrects a draft's procedure; a signed or voided form is 409.
    pub async fn set_procedure(&self, id: ConsentFormId, procedure: String, caller: &Caller) -> Result<ConsentForm> {
        self.records.command(id, ConsentFormCommand::SetProcedure(procedure), caller).await
    }

    /// Voids a draft; a signed form is 409 (it stays on the record as signed).
    pub async fn void(&self, id: ConsentFormId, reason: String, caller: &Caller) -> Result<ConsentForm> {
        self.records.command(id, ConsentFormCommand::Void { reason }, caller).await
    }

    /// Signs a draft: checks the signature, prints the signed PDF (letterhead, the frozen
    /// text, the signature, the signer, the time in the clinic's zone, the witness), stores it
    /// as a `consent` document of the visit, then marks the form signed naming it.
    pub async fn sign(&self, id: ConsentFormId, signing: Signing, caller: &Caller) -> Result<ConsentForm> {
        let _one = self.signing.lock().await;
        let form = self.records.peek(id)?;
        match form.status {
            ConsentStatus::Signed => return Err(Error::ConsentFormSigned(id)),
            ConsentStatus::Voided => return Err(Error::ConsentFormVoided(id)),
            ConsentStatus::Draft => {}
        }
        let png = signing.png;
        let image = tokio::task::spawn_blocking(move || Image::png(png, 220.0, ImageLimits::SIGNATURE))
            .await
            .map_err(|e| Error::Internal(format!("checking a signature stopped: {e}")))?
            .map_err(|e| ValidationError::new("signature", e.to_string()))?;
        let now = self.ctx.clock.now();
        let witness_name = self.witness_name(caller)?;
        let relationship = match signing.relationship {
            SignerRelationship::Owner => "Owner",
            SignerRelationship::Agent => "Owner's authorised agent",
        };
        let tz = self.ctx.config.time_zone.clone();
        let zone = tz.iana_name().unwrap_or("local time").to_owned();
        let signed_at = format!("{} ({zone})", now.to_zoned(tz).strftime("%Y-%m-%d %H:%M"));
        let mut doc = clowder_documents::Document::new(
            printing::letterhead(&self.ctx)?,
            form.title.clone(),
            printing::generated(&self.ctx, now, &witness_name),
        )
        .paper(printing::paper(&self.ctx));
        for paragraph in form.text.split("\n\n") {
            doc.push(Block::Paragraph(paragraph.trim().to_owned()));
            doc.push(Block::Gap);
        }
        doc.push(Block::Heading("Signature".into()));
        doc.push(Block::Image(image));
        doc.push(Block::Fields(vec![
            ("Signed by".into(), signing.signer_name.clone()),
            ("Relationship".into(), relationship.into()),
            ("Signed at".into(), signed_at),
            ("Witness".into(), witness_name.clone()),
            ("Form".into(), format!("{} (template version {})", form.id, form.template_version)),
        ]));
        let pdf = printing::render(doc).await?;
        let content = self.files.put(&pdf).await?;
        let document = self
            .documents
            .create(
                DocumentDraft {
                    client_id: Some(form.client_id),
                    patient_id: Some(form.patient_id),
                    visit_id: Some(form.visit_id),
                    category: DocumentCategory::Consent,
                    tags: vec![form.kind.as_str().to_owned()],
                    file_name: format!("consent-{}-{}.pdf", form.kind.as_str().replace('_', "-"), form.id),
                    content,
                },
                caller,
            )
            .await?;
        let signature = ConsentSignature {
            signer_name: signing.signer_name,
            relationship: signing.relationship,
            signed_at: now,
            witness_id: caller.user_id(),
            witness_name,
            document_id: document.id,
        };
        self.records.command(id, ConsentFormCommand::Sign(signature), caller).await
    }

    /// The witness as printed: their staff profile's name, else their user name.
    fn witness_name(&self, caller: &Caller) -> Result<String> {
        let reader = self.ctx.store.read()?;
        let staff = match caller.user_id() {
            Some(u) => super::certificates::staff_of(&reader, u)?,
            None => None,
        };
        Ok(staff
            .map(|s| person(&s.first_name, &s.last_name))
            .or_else(|| caller.username.clone())
            .unwrap_or_else(|| "Clowder".into()))
    }
}

#[cfg(test)]
mod tests {
    use clowder_schemas::consent_forms::ConsentValues;
    use clowder_schemas::ids::{DocumentId, UserId};
    use jiff::Timestamp;

    use super::*;
    use crate::ctx::SystemConfig;

    fn draft_form(status: ConsentStatus) -> ConsentForm {
        let values = ConsentValues { cat: "Miso".into(), procedure: "dental".into(), ..ConsentValues::default() };
        ConsentForm {
            id: ConsentFormId::from_u128(1),
            template_id: ConsentTemplateId::from_u128(2),
            template_version: 3,
            kind: ConsentKind::Anaesthesia,
            title: "Consent".into(),
            template_title: "Consent".into(),
            template_body: "{cat}: {procedure}".into(),
            text: values.fill("{cat}: {procedure}"),
            values,
            estimate_id: None,
            estimate_option: None,
            client_id: ClientId::from_u128(4),
            patient_id: PatientId::from_u128(5),
            visit_id: VisitId::from_u128(6),
            status,
            void_reason: None,
            signature: None,
            created_at: Timestamp::UNIX_EPOCH,
            created_by: None,
            updated_at: Timestamp::UNIX_EPOCH,
        }
    }

    fn signature() -> ConsentSignature {
        ConsentSignature {
            signer_name: "Ana Ruiz".into(),
            relationship: SignerRelationship::Owner,
            signed_at: Timestamp::UNIX_EPOCH,
            witness_id: Some(UserId::from_u128(7)),
            witness_name: "Tess".into(),
            document_id: DocumentId::from_u128(8),
        }
    }

    #[test]
    fn a_draft_is_refilled_signed_once_and_then_never_changes() {
        let (settings, caller) = (SystemConfig::new("unused"), Caller::default());
        let ctx = DecideCtx::new("2026-06-01T12:00:00Z".parse().unwrap(), &settings, &caller, None);
        let form = draft_form(ConsentStatus::Draft);
        let fixed =
            ConsentFormKind::decide(&ctx, &form, ConsentFormCommand::SetProcedure("spay".into())).unwrap().unwrap();
        assert_eq!(fixed.record.text, "Miso: spay");
        assert_eq!(fixed.record.template_version, 3, "the form keeps its version");
        let signed =
            ConsentFormKind::decide(&ctx, &fixed.record, ConsentFormCommand::Sign(signature())).unwrap().unwrap();
        assert_eq!(signed.record.status, ConsentStatus::Signed);
        for command in [
            ConsentFormCommand::Sign(signature()),
            ConsentFormCommand::SetProcedure("other".into()),
            ConsentFormCommand::Void { reason: "x".into() },
        ] {
            assert!(matches!(ConsentFormKind::decide(&ctx, &signed.record, command), Err(Error::ConsentFormSigned(_))));
        }
        let voided = draft_form(ConsentStatus::Voided);
        assert!(matches!(
            ConsentFormKind::decide(&ctx, &voided, ConsentFormCommand::Sign(signature())),
            Err(Error::ConsentFormVoided(_))
        ));
    }
}
