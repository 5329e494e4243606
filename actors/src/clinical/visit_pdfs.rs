//! Printed documents of one visit: the **health certificate** (the cat's identity, the exam's
//! date, its findings from the visit's vitals and the signed note's objective, the cat's
//! vaccination status and the visit vet's statement with their licence) and the **visit
//! summary for the owner** (complaint, vitals, the signed note's assessment and plan,
//! prescriptions with their directions, vaccinations given and what is due next).
//!
//! What the owner's summary leaves out as internal: the note's subjective (the history staff
//! took) and objective (raw exam notes), its addenda (corrections written for the record), an
//! unsigned draft (never printed: until the note is signed the summary says the assessment
//! will follow), behaviour and handling notes, client alerts and notes, prescription warnings
//! and override reasons, vitals' staff notes. docs/documents.md.

use clowder_documents::{Block, Column, Document, Row, Table};
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::ids::VisitId;
use clowder_schemas::notes::Note;
use clowder_schemas::prescriptions::{Prescription, PrescriptionStatus};
use clowder_schemas::staff::StaffProfile;
use clowder_schemas::vaccinations::{DueStatus, Entry};
use clowder_schemas::visits::{Visit, VisitStatus};
use clowder_schemas::vitals::{Measurements, Vitals};
use jiff::Timestamp;
use jiff::civil::Date;

use super::certificates::{cat_and_owner, cat_fields, owner_fields, signature, wire};
use super::vaccinations::{due_for, entries_of, protocol};
use super::visits::Visits;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::printing;
use crate::store::tables::unique;
use crate::store::{IndexTable, Reader, RecordTable};

/// What the documents of a visit read, from one snapshot.
struct VisitRecord {
    visit: Visit,
    note: Option<Note>,
    vitals: Vec<Vitals>,
    vet: Option<StaffProfile>,
}

fn read_visit(reader: &Reader, id: VisitId) -> Result<VisitRecord> {
    let visit = reader.get::<Visit>(RecordTable::Visits, id.as_u128())?.ok_or(Error::VisitNotFound(id))?;
    if visit.status == VisitStatus::Voided {
        return Err(clowder_schemas::ValidationError::new("id", "the visit was voided: it prints nothing").into());
    }
    let note = match reader.unique_owner(unique::NOTE_VISIT, &id.to_string())? {
        Some(key) => reader.get::<Note>(RecordTable::Notes, key)?,
        None => None,
    };
    let mut vitals = Vec::new();
    for key in reader.children(IndexTable::VitalsByPatient, visit.patient_id.as_u128(), None)? {
        if let Some(v) = reader.get::<Vitals>(RecordTable::Vitals, key)?
            && v.visit_id == Some(id)
        {
            vitals.push(v);
        }
    }
    vitals.sort_by_key(|v| v.taken_at);
    let vet = match visit.vet_id {
        Some(s) => reader.get::<StaffProfile>(RecordTable::Staff, s.as_u128())?,
        None => None,
    };
    Ok(VisitRecord { visit, note, vitals, vet })
}

fn num(v: f64) -> String {
    clowder_schemas::formulary::num(v)
}

/// Label and value of each measurement taken; staff notes are left out.
pub(crate) fn measurement_fields(m: &Measurements) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(w) = m.weight_kg {
        out.push(("Weight".into(), format!("{} kg", num(w))));
    }
    if let Some(t) = m.temperature_c {
        out.push(("Temperature".into(), format!("{} °C", num(t))));
    }
    if let Some(h) = m.heart_rate {
        out.push(("Heart rate".into(), format!("{h} /min")));
    }
    if let Some(r) = m.respiratory_rate {
        out.push(("Respiratory rate".into(), format!("{r} /min")));
    }
    if let Some(bp) = m.blood_pressure {
        let v = match bp.diastolic {
            Some(d) => format!("{}/{d} mmHg", bp.systolic),
            None => format!("{} mmHg (systolic)", bp.systolic),
        };
        out.push(("Blood pressure".into(), v));
    }
    if let Some(b) = m.bcs {
        out.push(("Body condition".into(), format!("{}/{}", b.score, b.scale)));
    }
    if let Some(c) = m.muscle_condition {
        out.push(("Muscle condition".into(), wire(&c)));
    }
    if let Some(mm) = m.mucous_membranes {
        out.push(("Mucous membranes".into(), wire(&mm)));
    }
    if let Some(crt) = m.crt_s {
        out.push(("Capillary refill".into(), format!("{} s", num(crt))));
    }
    if let Some(p) = m.pain {
        out.push(("Pain score".into(), format!("{p}/10")));
    }
    out
}

fn vitals_blocks(doc: &mut Document, vitals: &[Vitals], tz: &jiff::tz::TimeZone) {
    if vitals.is_empty() {
        doc.push(Block::Paragraph("No vital signs were recorded at this visit.".into()));
    }
    for v in vitals {
        let mut fields = vec![("Taken".into(), v.taken_at.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M").to_string())];
        fields.extend(measurement_fields(&v.measurements));
        doc.push(Block::Fields(fields));
    }
}

fn local_date(t: Timestamp, tz: &jiff::tz::TimeZone) -> Date {
    t.to_zoned(tz.clone()).date()
}

fn new_doc(ctx: &Ctx, title: String, now: Timestamp, caller: &Caller) -> Result<Document> {
    let by = caller.username.clone().unwrap_or_else(|| "Clowder".into());
    Ok(Document::new(printing::letterhead(ctx)?, title, printing::generated(ctx, now, &by)).paper(printing::paper(ctx)))
}

/// The health certificate of a visit. Its findings come from the signed note, so an unsigned
/// visit gets 409 `note_unsigned`.
fn health_certificate(
    ctx: &Ctx,
    reader: &Reader,
    id: VisitId,
    now: Timestamp,
    today: Date,
    caller: &Caller,
) -> Result<Document> {
    let tz = ctx.config.time_zone.clone();
    let r = read_visit(reader, id)?;
    let note = r.note.as_ref().ok_or(Error::NoteUnsigned { visit_id: id })?;
    let (p, owner) = cat_and_owner(reader, r.visit.patient_id)?;
    let mut doc = new_doc(ctx, format!("Health certificate — {}", p.name), now, caller)?;
    doc.push(Block::Heading("Cat".into()));
    doc.push(cat_fields(&p));
    doc.push(Block::Heading("Owner".into()));
    doc.push(owner_fields(owner.as_ref()));
    doc.push(Block::Heading("Examination".into()));
    doc.push(Block::Fields(vec![("Date of examination".into(), local_date(r.visit.opened_at, &tz).to_string())]));
    vitals_blocks(&mut doc, &r.vitals, &tz);
    if !note.soap.objective.trim().is_empty() {
        doc.push(Block::Fields(vec![("Findings".into(), note.soap.objective.trim().to_owned())]));
    }
    doc.push(Block::Heading("Vaccination status".into()));
    let entries = entries_of(reader, p.id)?;
    let (_, due) = due_for(reader, &p, &entries, today)?;
    let (_, proto) = protocol(reader)?;
    let given: Vec<_> = due.iter().filter(|d| d.last_given_on.is_some()).collect();
    if given.is_empty() {
        doc.push(Block::Paragraph("No vaccination is recorded for this cat.".into()));
    } else {
        let rows = given
            .iter()
            .map(|d| {
                let name = proto
                    .vaccines
                    .iter()
                    .find(|v| v.code == d.vaccine)
                    .map_or(d.vaccine_name.clone(), |v| v.name.clone());
                let status = match d.status {
                    DueStatus::Overdue => "overdue",
                    DueStatus::Declined => "declined",
                    DueStatus::Due | DueStatus::NotDue => "current",
                };
                Row::new([
                    name,
                    d.last_given_on.map(|x| x.to_string()).unwrap_or_default(),
                    d.due_on.map_or_else(|| "not due".to_owned(), |x| x.to_string()),
                    status.to_owned(),
                ])
            })
            .collect();
        doc.push(Block::Table(Table {
            columns: vec![
                Column::new("Vaccine", 2.5),
                Column::new("Last given", 1.2),
                Column::new("Next due", 1.2),
                Column::new("Status", 1.0),
            ],
            rows,
        }));
    }
    let statement = format!(
        "I examined the cat described above on {} and, on that examination, found it free of clinical signs of infectious or contagious disease and fit for travel or boarding, unless stated otherwise in the findings above.",
        local_date(r.visit.opened_at, &tz)
    );
    doc.blocks.extend(signature(&statement, r.vet.as_ref(), today));
    Ok(doc)
}

/// The owner's summary of a visit (see the module's note on what it leaves out).
fn visit_summary(
    ctx: &Ctx,
    reader: &Reader,
    id: VisitId,
    now: Timestamp,
    today: Date,
    caller: &Caller,
) -> Result<Document> {
    let tz = ctx.config.time_zone.clone();
    let r = read_visit(reader, id)?;
    let (p, owner) = cat_and_owner(reader, r.visit.patient_id)?;
    let mut doc = new_doc(ctx, format!("Visit summary — {}", p.name), now, caller)?;
    let mut head = vec![
        ("Cat".into(), p.name.clone()),
        ("Owner".into(), owner.as_ref().map(|c| format!("{} {}", c.first_name, c.last_name)).unwrap_or_default()),
        ("Date".into(), local_date(r.visit.opened_at, &tz).to_string()),
    ];
    if let Some(v) = &r.vet {
        head.push(("Veterinarian".into(), v.display_name()));
    }
    if let Some(c) = r.visit.chief_complaint.as_deref().filter(|c| !c.trim().is_empty()) {
        head.push(("Reason for visit".into(), c.trim().to_owned()));
    }
    doc.push(Block::Fields(head));
    doc.push(Block::Heading("Vital signs".into()));
    vitals_blocks(&mut doc, &r.vitals, &tz);
    match &r.note {
        Some(n) => {
            for (title, text) in [("Assessment", &n.soap.assessment), ("Plan and instructions", &n.soap.plan)] {
                if !text.trim().is_empty() {
                    doc.push(Block::Heading(title.into()));
                    doc.push(Block::Paragraph(text.trim().to_owned()));
                }
            }
        }
        None => {
            doc.push(Block::Paragraph(
                "The veterinarian's assessment and plan will follow once the visit's record is signed.".into(),
            ));
        }
    }
    let mut rx = Vec::new();
    for key in reader.children(IndexTable::PrescriptionsByPatient, p.id.as_u128(), None)? {
        if let Some(x) = reader.get::<Prescription>(RecordTable::Prescriptions, key)?
            && x.visit_id == Some(id)
            && x.status != PrescriptionStatus::Cancelled
        {
            rx.push(x);
        }
    }
    if !rx.is_empty() {
        doc.push(Block::Heading("Medications".into()));
        let rows = rx
            .iter()
            .map(|x| {
                let mut directions = directions(x);
                if let Some(i) = x.instructions.as_deref().filter(|i| !i.trim().is_empty()) {
                    directions = format!("{directions}\n{}", i.trim());
                }
                Row::new([
                    medication(x),
                    directions,
                    format!("{} {}", num(x.quantity), x.quantity_unit),
                    x.refills_remaining.to_string(),
                ])
            })
            .collect();
        doc.push(Block::Table(Table {
            columns: vec![
                Column::new("Medication", 2.0),
                Column::new("How to give it", 3.2),
                Column::right("Quantity", 1.0),
                Column::right("Refills", 0.8),
            ],
            rows,
        }));
    }
    let entries = entries_of(reader, p.id)?;
    let (_, proto) = protocol(reader)?;
    let name_of =
        |code: &str| proto.vaccines.iter().find(|v| v.code == code).map_or(code.to_owned(), |v| v.name.clone());
    let given: Vec<_> = entries
        .iter()
        .filter(|v| v.visit_id == Some(id))
        .filter_map(|v| match &v.entry {
            Entry::Dose(d) => Some((v, d)),
            _ => None,
        })
        .collect();
    if !given.is_empty() {
        doc.push(Block::Heading("Vaccinations given".into()));
        let rows = given
            .iter()
            .map(|(v, d)| Row::new([name_of(&v.vaccine), d.product.clone(), d.given_on.to_string()]))
            .collect();
        doc.push(Block::Table(Table {
            columns: vec![Column::new("Vaccine", 2.0), Column::new("Product", 2.0), Column::new("Date", 1.0)],
            rows,
        }));
    }
    let (_, due) = due_for(reader, &p, &entries, today)?;
    let next: Vec<_> = due.iter().filter(|d| matches!(d.status, DueStatus::Due | DueStatus::Overdue)).collect();
    if !next.is_empty() {
        doc.push(Block::Heading("Next due".into()));
        let rows = next
            .iter()
            .map(|d| Row::new([name_of(&d.vaccine), d.due_on.map(|x| x.to_string()).unwrap_or_default()]))
            .collect();
        doc.push(Block::Table(Table { columns: vec![Column::new("Vaccine", 3.0), Column::new("Due", 1.0)], rows }));
    }
    doc.push(Block::Paragraph(
        "Questions about this visit or your cat's medications? Call the clinic at the number above.".into(),
    ));
    Ok(doc)
}

/// "Meloxicam 0.5 mg/mL": the drug and its strength per tablet, capsule or mL.
pub(crate) fn medication(x: &Prescription) -> String {
    format!("{} {} {}/{}", x.drug_name, num(x.strength), x.dose.unit.as_str(), x.form.unit())
}

/// "Give 0.5 mL by mouth every 24 hours for 5 days".
pub(crate) fn directions(x: &Prescription) -> String {
    let amount = num(x.dose.amount);
    let measure = &x.dose.measure;
    let plural = if measure != "mL" && x.dose.amount != 1.0 { "s" } else { "" };
    let mut s = format!("Give {amount} {measure}{plural} {} {}", route_words(x), x.frequency.trim());
    if let Some(d) = x.duration_days {
        s.push_str(&format!(" for {d} day{}", if d == 1 { "" } else { "s" }));
    }
    s
}

fn route_words(x: &Prescription) -> &'static str {
    use clowder_schemas::prescriptions::Route;
    match x.route {
        Route::Oral => "by mouth",
        Route::Sc => "under the skin",
        Route::Im => "into the muscle",
        Route::Iv => "into a vein",
        Route::Otm => "into the cheek pouch",
        Route::Topical => "on the skin",
    }
}

impl Visits {
    /// A visit's health certificate as a PDF (404 `visit_not_found`, 409 `note_unsigned`, 422
    /// on a voided visit); audited as `visit.health_certificate_pdf`.
    pub async fn health_certificate_pdf(&self, id: VisitId, caller: &Caller) -> Result<Vec<u8>> {
        let ctx = self.ctx_ref();
        let doc = health_certificate(ctx, &ctx.store.read()?, id, ctx.clock.now(), ctx.today(), caller)?;
        self.audited(doc, id, "visit.health_certificate_pdf", caller).await
    }

    /// A visit's summary for the owner as a PDF (404 `visit_not_found`, 422 on a voided
    /// visit); audited as `visit.summary_pdf`.
    pub async fn summary_pdf(&self, id: VisitId, caller: &Caller) -> Result<Vec<u8>> {
        let ctx = self.ctx_ref();
        let doc = visit_summary(ctx, &ctx.store.read()?, id, ctx.clock.now(), ctx.today(), caller)?;
        self.audited(doc, id, "visit.summary_pdf", caller).await
    }

    async fn audited(&self, doc: Document, id: VisitId, action: &str, caller: &Caller) -> Result<Vec<u8>> {
        let pdf = printing::render(doc).await?;
        crate::audit::record_now(
            self.ctx_ref(),
            AuditDraft::new(caller, action)
                .record("visit", id.to_string())
                .detail(serde_json::json!({ "bytes": pdf.len() })),
        )
        .await?;
        Ok(pdf)
    }
}
