//! Signed SOAP notes as a record kind: signing a visit's draft (which creates the note and
//! locks it) and adding addenda. One note per visit (the `note_visit` claim).
//!
//! Only a veterinarian signs: the route needs `visits:sign`, and the decision checks that the
//! caller's account has an active staff profile whose position is veterinarian. The signature
//! is a SHA-256 over the note's id, visit, sections, signer and time; each addendum's covers
//! its own text, author and time and the signature before it, so the original and every
//! addendum stay verifiable and unchanged. Signing deletes the draft, guarded on the revision
//! it signed, and takes the visit off the unsigned list, all in the note's change set.

use clowder_schemas::audit::Caller;
use clowder_schemas::events::DomainEvent;
use clowder_schemas::ids::{NoteId, VisitId};
use clowder_schemas::notes::{Addendum, Note, NoteDraft, Soap};
use clowder_schemas::staff::{Position, StaffProfile};
use clowder_schemas::visits::{Visit, VisitStatus};
use clowder_schemas::{UserId, ValidationError};
use jiff::Timestamp;
use sha2::{Digest, Sha256};

use super::visits::UNSIGNED;
use crate::error::{Error, Result};
use crate::records::{Claim, DecideCtx, Decision, Link, RecordKind, Records};
use crate::store::tables::unique;
use crate::store::{ChangeSet, IndexTable, RecordTable, codec};

/// The notes service: [`Records`] plus the verbs below.
pub type Notes = Records<NoteKind>;

/// The note record kind.
pub struct NoteKind;

/// What signing needs: the visit, and the revision the signer saw (if they said).
#[derive(Debug, Clone)]
pub struct SignDraft {
    pub visit_id: VisitId,
    pub revision: Option<u64>,
    /// An imported note (see [`Notes::import`]): signed by a named vet, not the caller.
    pub import: Option<ImportNote>,
}

/// A note of the past, signed elsewhere: its text and who signed it. When it was signed is
/// the instant the import is made as of.
#[derive(Debug, Clone)]
pub struct ImportNote {
    pub soap: Soap,
    /// The account of the veterinarian who signed it (then or now on the staff).
    pub signed_by: UserId,
}

/// A change to a signed note: only ever an addendum.
#[derive(Debug)]
pub enum NoteCommand {
    Addendum { text: String },
}

impl RecordKind for NoteKind {
    type Record = Note;
    type Id = NoteId;
    type Draft = SignDraft;
    type Command = NoteCommand;
    type Filter = ();

    const KIND: &'static str = "note";
    const TABLE: RecordTable = RecordTable::Notes;
    const READ_ACTION: &'static str = "note.read";
    const LIST_ACTION: &'static str = "note.list";

    fn id(n: &Note) -> NoteId {
        n.id
    }

    fn not_found(id: NoteId) -> Error {
        Error::NoteNotFound(id)
    }

    /// The visit's claim is taken in [`RecordKind::also`] (a note never changes visit).
    fn claims(_: &Note) -> impl Iterator<Item = Claim<'_>> {
        std::iter::empty()
    }

    fn links(n: &Note) -> impl Iterator<Item = Link> {
        std::iter::once(Link { index: IndexTable::NotesByPatient, parent: n.patient_id.as_u128() })
    }

    fn matches(_: &(), _: &Note) -> bool {
        true
    }

    fn also(ctx: &DecideCtx<'_>, old: Option<&Note>, new: &Note) -> Result<ChangeSet> {
        let mut set = ChangeSet::new();
        if old.is_none() {
            // The board's alert, if it shows by now, goes with the signing.
            if let Some(v) = ctx.get::<Visit>(RecordTable::Visits, new.visit_id.as_u128())? {
                super::unsigned::cleared(ctx, &v, &mut set);
            }
            let visit = new.visit_id.as_u128();
            set.claim(unique::NOTE_VISIT, &new.visit_id.to_string(), new.id.as_u128(), "visit_id");
            // The text signed must be the draft as stored: an autosave committed after the
            // decision read it refuses the signing (`record_changed`), never loses words.
            let signed = new.revision;
            set.require(RecordTable::NoteDrafts, visit, "note draft", move |bytes| {
                bytes.is_some_and(|b| codec::decode::<NoteDraft>(b).is_ok_and(|d| d.revision == signed))
            });
            set.delete(RecordTable::NoteDrafts, visit);
            set.unlink(IndexTable::VisitsUnsigned, UNSIGNED, visit);
        }
        Ok(set)
    }

    fn decide_create(ctx: &DecideCtx<'_>, id: NoteId, draft: SignDraft) -> Result<Decision<Note>> {
        decide_sign(ctx, id, draft)
    }

    fn decide(ctx: &DecideCtx<'_>, current: &Note, command: NoteCommand) -> Result<Option<Decision<Note>>> {
        match command {
            NoteCommand::Addendum { text } => decide_addendum(ctx, current, text).map(Some),
        }
    }
}

/// The caller, if their account has an active veterinarian's staff profile.
pub fn veterinarian(ctx: &DecideCtx<'_>) -> Result<UserId> {
    let user = ctx.caller.user_id().ok_or(Error::NotAVeterinarian)?;
    let staff = ctx.unique_owner(unique::STAFF_USER, &user.to_string())?.ok_or(Error::NotAVeterinarian)?;
    match ctx.get::<StaffProfile>(RecordTable::Staff, staff)? {
        Some(s) if s.active && s.position == Position::Veterinarian => Ok(user),
        _ => Err(Error::NotAVeterinarian),
    }
}

fn field(h: &mut Sha256, bytes: &[u8]) {
    // Length-prefixed, so no two different notes hash the same input.
    h.update((bytes.len() as u64).to_be_bytes());
    h.update(bytes);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The signature of a note's original text.
pub fn note_signature(id: NoteId, visit: VisitId, soap: &Soap, by: UserId, at: Timestamp) -> String {
    let mut h = Sha256::new();
    for part in [
        "clowder-note-v1",
        &id.to_string(),
        &visit.to_string(),
        &soap.subjective,
        &soap.objective,
        &soap.assessment,
        &soap.plan,
        &by.to_string(),
        &at.to_string(),
    ] {
        field(&mut h, part.as_bytes());
    }
    hex(&h.finalize())
}

/// The signature of an addendum, chained to the signature before it.
pub fn addendum_signature(id: NoteId, number: u32, text: &str, by: UserId, at: Timestamp, previous: &str) -> String {
    let mut h = Sha256::new();
    for part in
        ["clowder-addendum-v1", &id.to_string(), &number.to_string(), text, &by.to_string(), &at.to_string(), previous]
    {
        field(&mut h, part.as_bytes());
    }
    hex(&h.finalize())
}

/// The named signer of an imported note: an account whose staff profile is a veterinarian,
/// active or not (history names vets who have since left).
fn veterinarian_then(ctx: &DecideCtx<'_>, user: UserId) -> Result<UserId> {
    let staff = ctx.unique_owner(unique::STAFF_USER, &user.to_string())?.ok_or(Error::NotAVeterinarian)?;
    match ctx.get::<StaffProfile>(RecordTable::Staff, staff)? {
        Some(s) if s.position == Position::Veterinarian => Ok(user),
        _ => Err(Error::NotAVeterinarian),
    }
}

/// Signs a visit's draft: the note is created, signed and locked. An import signs its own
/// text in the name of its vet, as of its signing time (`ctx.now`), and is audited as
/// `note.import` by the caller who ran it.
pub fn decide_sign(ctx: &DecideCtx<'_>, id: NoteId, sign: SignDraft) -> Result<Decision<Note>> {
    let visit_id = sign.visit_id;
    let visit = ctx.get::<Visit>(RecordTable::Visits, visit_id.as_u128())?.ok_or(Error::VisitNotFound(visit_id))?;
    if visit.status == VisitStatus::Voided {
        return Err(Error::VisitTransition { from: visit.status, to: "signed", allowed: vec!["open", "completed"] });
    }
    if ctx.unique_owner(unique::NOTE_VISIT, &visit_id.to_string())?.is_some() {
        return Err(Error::NoteSigned { visit_id });
    }
    let signer = match &sign.import {
        Some(i) => veterinarian_then(ctx, i.signed_by)?,
        None => veterinarian(ctx)?,
    };
    let mut draft =
        ctx.get::<NoteDraft>(RecordTable::NoteDrafts, visit_id.as_u128())?.ok_or(Error::NoteSigned { visit_id })?;
    if sign.revision.is_some_and(|r| r != draft.revision) {
        return Err(Error::Changed { what: "note draft" });
    }
    let action = match sign.import {
        Some(i) => {
            if ctx.now < visit.opened_at {
                return Err(ValidationError::new("signed_at", "is before the visit opened").into());
            }
            // The text signed is the import's; the draft row (the template) is deleted as
            // for any signing, guarded on the revision read.
            draft.soap = i.soap;
            "note.import"
        }
        None => "note.sign",
    };
    if draft.soap.is_blank() {
        return Err(ValidationError::new("subjective", "the note is empty: write it before signing").into());
    }
    let note = Note {
        id,
        visit_id,
        patient_id: visit.patient_id,
        signature: note_signature(id, visit_id, &draft.soap, signer, ctx.now),
        soap: draft.soap,
        revision: draft.revision,
        signed_by: signer,
        signed_at: ctx.now,
        addenda: Vec::new(),
        created_at: ctx.now,
        updated_at: ctx.now,
        created_by: Some(signer),
    };
    Ok(Decision {
        event: DomainEvent::NoteSigned { note_id: id, visit_id, patient_id: note.patient_id },
        record: note,
        changed: Vec::new(),
        action,
    })
}

/// Adds a signed addendum; the original text and earlier addenda are kept as they are.
pub fn decide_addendum(ctx: &DecideCtx<'_>, current: &Note, text: String) -> Result<Decision<Note>> {
    let author = veterinarian(ctx)?;
    let number = current.addenda.len() as u32 + 1;
    let previous = current.addenda.last().map_or(current.signature.as_str(), |a| a.signature.as_str());
    let signature = addendum_signature(current.id, number, &text, author, ctx.now, previous);
    let mut new = current.clone();
    new.addenda.push(Addendum { number, text, author, signed_at: ctx.now, signature });
    new.updated_at = ctx.now;
    Ok(Decision {
        event: DomainEvent::NoteAmended {
            note_id: new.id,
            visit_id: new.visit_id,
            patient_id: new.patient_id,
            addendum: number,
        },
        record: new,
        changed: vec!["addenda"],
        action: "note.addendum",
    })
}

impl Notes {
    /// Signs the draft of a visit (see [`decide_sign`]).
    pub async fn sign(&self, visit_id: VisitId, revision: Option<u64>, caller: &Caller) -> Result<Note> {
        match self.create(SignDraft { visit_id, revision, import: None }, caller).await {
            // Two signings at once: the second meets the first's claim.
            Err(Error::Duplicate { field: "visit_id" }) => Err(Error::NoteSigned { visit_id }),
            other => other,
        }
    }

    /// Imports a note signed at `signed_at` (in the past, not before its visit opened) by the
    /// veterinarian `import.signed_by`, with its text: created signed and locked, as of then,
    /// audited as `note.import` by `caller` (whoever runs the import). Not an HTTP route.
    pub async fn import(
        &self,
        visit_id: VisitId,
        signed_at: Timestamp,
        import: ImportNote,
        caller: &Caller,
    ) -> Result<Note> {
        if signed_at > self.ctx_ref().clock.now() {
            return Err(ValidationError::new("signed_at", "an imported note cannot be signed in the future").into());
        }
        let draft = SignDraft { visit_id, revision: None, import: Some(import) };
        match self.import_at(signed_at, draft, ChangeSet::new(), caller).await {
            Err(Error::Duplicate { field: "visit_id" }) => Err(Error::NoteSigned { visit_id }),
            other => other,
        }
    }

    /// The signed note of a visit, if there is one (unaudited; the read that returns it is).
    pub fn of_visit(&self, visit_id: VisitId) -> Result<Option<NoteId>> {
        let owner = self.store().read()?.unique_owner(unique::NOTE_VISIT, &visit_id.to_string())?;
        Ok(owner.map(NoteId::from_u128))
    }

    /// Adds an addendum to the signed note of a visit (409 `note_unsigned` before signing).
    pub async fn add_addendum(&self, visit_id: VisitId, text: String, caller: &Caller) -> Result<Note> {
        if self.store().read()?.get::<Visit>(RecordTable::Visits, visit_id.as_u128())?.is_none() {
            return Err(Error::VisitNotFound(visit_id));
        }
        let id = self.of_visit(visit_id)?.ok_or(Error::NoteUnsigned { visit_id })?;
        self.command(id, NoteCommand::Addendum { text }, caller).await
    }
}
