//! The **medical record summary** of a cat for a referral or a transfer, optionally for a range
//! of dates: the owner and the cat's identity, allergies and handling alerts, the problem
//! list, medications, vaccinations, vital signs and weight history, and every visit with its
//! signed SOAP note and addenda (an unsigned note is said to be unsigned, never printed). Read
//! from one snapshot and audited as a record export (`patient.record_export`). Measured by
//! `cargo bench -p clowder-actors --bench record_summary` (docs/documents.md).

use clowder_documents::{Block, Column, Document, Row, Table};
use clowder_schemas::PatientId;
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::notes::Note;
use clowder_schemas::patients::{Level, Patient};
use clowder_schemas::prescriptions::{Prescription, PrescriptionStatus};
use clowder_schemas::problems::Problem;
use clowder_schemas::users::User;
use clowder_schemas::visits::{Visit, VisitStatus};
use clowder_schemas::vitals::Vitals;
use clowder_schemas::{UserId, ValidationError};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::certificates::{ROUTES, cat_and_owner, cat_fields, doses_table, owner_fields, staff_of, wire};
use super::chart::{Charts, children};
use super::vaccinations::{due_for, entries_of, protocol};
use super::visit_pdfs::{directions, measurement_fields, medication};
use crate::ctx::Ctx;
use crate::error::Result;
use crate::printing;
use crate::store::tables::unique;
use crate::store::{IndexTable, Reader, RecordTable};

/// Which local dates of the record a summary covers (both ends inclusive; `None`: unbounded).
#[derive(Debug, Clone, Copy, Default)]
pub struct Period {
    pub from: Option<Date>,
    pub to: Option<Date>,
}

impl Period {
    /// Refuses `to` before `from`.
    pub fn new(from: Option<Date>, to: Option<Date>) -> Result<Period> {
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            return Err(ValidationError::new("to", "is before `from`").into());
        }
        Ok(Period { from, to })
    }

    fn holds(&self, at: Timestamp, tz: &TimeZone) -> bool {
        let d = at.to_zoned(tz.clone()).date();
        self.from.is_none_or(|f| d >= f) && self.to.is_none_or(|t| d <= t)
    }

    fn describe(&self) -> String {
        match (self.from, self.to) {
            (None, None) => "the whole record".into(),
            (Some(f), None) => format!("from {f}"),
            (None, Some(t)) => format!("up to {t}"),
            (Some(f), Some(t)) => format!("{f} to {t}"),
        }
    }
}

/// Who a user is on paper: their staff profile's name, else their account's.
fn person(reader: &Reader, user: UserId) -> Result<String> {
    if let Some(s) = staff_of(reader, user)? {
        return Ok(s.display_name());
    }
    Ok(reader.get::<User>(RecordTable::Users, user.as_u128())?.map_or_else(|| user.to_string(), |u| u.display_name))
}

fn at(t: Timestamp, tz: &TimeZone) -> String {
    t.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M").to_string()
}

fn level(l: Level) -> Option<String> {
    (l != Level::None).then(|| wire(&l))
}

/// The summary's document and how many visits it lists.
pub(crate) fn document(
    ctx: &Ctx,
    reader: &Reader,
    id: PatientId,
    period: Period,
    now: Timestamp,
    today: Date,
    caller: &Caller,
) -> Result<(Document, usize)> {
    let tz = ctx.config.time_zone.clone();
    let (p, owner) = cat_and_owner(reader, id)?;
    let by = caller.username.clone().unwrap_or_else(|| "Clowder".into());
    let mut doc = Document::new(
        printing::letterhead(ctx)?,
        format!("Medical record summary — {}", p.name),
        printing::generated(ctx, now, &by),
    )
    .paper(printing::paper(ctx));
    doc.push(Block::Fields(vec![
        ("Covers".into(), period.describe()),
        ("Purpose".into(), "Referral or transfer of care".into()),
    ]));
    doc.push(Block::Heading("Cat".into()));
    doc.push(cat_fields(&p));
    if let Some(d) = p.deceased_on {
        doc.push(Block::Fields(vec![("Deceased".into(), d.to_string())]));
    }
    doc.push(Block::Heading("Owner".into()));
    doc.push(owner_fields(owner.as_ref()));
    alerts(&mut doc, &p);
    problems(&mut doc, reader, id)?;
    medications(&mut doc, reader, id, &tz)?;

    doc.push(Block::Heading("Vaccinations".into()));
    let entries = entries_of(reader, id)?;
    let (_, due) = due_for(reader, &p, &entries, today)?;
    let (_, proto) = protocol(reader)?;
    match doses_table(&proto, &entries, &due).0 {
        Some(t) => {
            doc.push(Block::Table(t));
            doc.push(Block::Paragraph(ROUTES.into()));
        }
        None => {
            doc.push(Block::Paragraph("No vaccination is recorded.".into()));
        }
    }

    let vitals: Vec<Vitals> = children::<Vitals>(reader, IndexTable::VitalsByPatient, RecordTable::Vitals, id)?
        .into_iter()
        .filter(|v| period.holds(v.taken_at, &tz))
        .collect();
    vitals_history(&mut doc, &vitals, &tz);

    let mut visits: Vec<Visit> = children::<Visit>(reader, IndexTable::VisitsByPatient, RecordTable::Visits, id)?
        .into_iter()
        .filter(|v| v.status != VisitStatus::Voided && period.holds(v.opened_at, &tz))
        .collect();
    visits.sort_by_key(|v| (v.opened_at, v.id));
    doc.push(Block::Heading(format!("Visits ({})", visits.len())));
    if visits.is_empty() {
        doc.push(Block::Paragraph("No visit in this period.".into()));
    }
    for v in &visits {
        visit(&mut doc, reader, v, &vitals, &tz)?;
    }
    Ok((doc, visits.len()))
}

fn alerts(doc: &mut Document, p: &Patient) {
    doc.push(Block::Heading("Allergies and alerts".into()));
    let mut fields = vec![(
        "Allergies".into(),
        if p.allergies.is_empty() { "none recorded".to_owned() } else { p.allergies.join(", ") },
    )];
    let h = &p.handling;
    let mut handling: Vec<String> = [
        level(h.aggression).map(|l| format!("aggression {l}")),
        level(h.fear_anxiety).map(|l| format!("fear/anxiety {l}")),
        level(h.handling_difficulty).map(|l| format!("handling difficulty {l}")),
        h.muzzle.then(|| "muzzle".to_owned()),
        h.towel_wrap.then(|| "towel wrap".to_owned()),
    ]
    .into_iter()
    .flatten()
    .collect();
    handling
        .extend([&h.preferred_restraint, &h.sedation_history, &h.staff_safety_notes].into_iter().flatten().cloned());
    if !handling.is_empty() {
        fields.push(("Handling".into(), handling.join("; ")));
    }
    if let Some(b) = &p.behavior_notes {
        fields.push(("Behaviour".into(), b.clone()));
    }
    doc.push(Block::Fields(fields));
}

fn problems(doc: &mut Document, reader: &Reader, id: PatientId) -> Result<()> {
    doc.push(Block::Heading("Problem list".into()));
    let list: Vec<Problem> = children(reader, IndexTable::ProblemsByPatient, RecordTable::Problems, id)?;
    if list.is_empty() {
        doc.push(Block::Paragraph("No problem recorded.".into()));
        return Ok(());
    }
    let rows = list
        .iter()
        .map(|x| {
            Row::new([
                x.name.clone(),
                wire(&x.status),
                x.onset.map(|d| d.to_string()).unwrap_or_default(),
                x.resolved_on.map(|d| d.to_string()).unwrap_or_default(),
                x.notes.clone().unwrap_or_default(),
            ])
        })
        .collect();
    doc.push(Block::Table(Table {
        columns: vec![
            Column::new("Problem", 2.0),
            Column::new("Status", 1.0),
            Column::new("Onset", 1.0),
            Column::new("Resolved", 1.0),
            Column::new("Notes", 2.5),
        ],
        rows,
    }));
    Ok(())
}

fn medications(doc: &mut Document, reader: &Reader, id: PatientId, tz: &TimeZone) -> Result<()> {
    doc.push(Block::Heading("Medications".into()));
    let mut list: Vec<Prescription> =
        children(reader, IndexTable::PrescriptionsByPatient, RecordTable::Prescriptions, id)?;
    if list.is_empty() {
        doc.push(Block::Paragraph("No prescription recorded.".into()));
        return Ok(());
    }
    // Active ones first, then newest first.
    list.sort_by_key(|x| (x.status != PrescriptionStatus::Active, std::cmp::Reverse(x.created_at)));
    let rows = list
        .iter()
        .map(|x| {
            Row::new([
                medication(x),
                directions(x),
                wire(&x.status),
                x.created_at.to_zoned(tz.clone()).date().to_string(),
            ])
        })
        .collect();
    doc.push(Block::Table(Table {
        columns: vec![
            Column::new("Medication", 2.0),
            Column::new("Directions", 3.0),
            Column::new("Status", 1.0),
            Column::new("Prescribed", 1.1),
        ],
        rows,
    }));
    Ok(())
}

fn vitals_history(doc: &mut Document, vitals: &[Vitals], tz: &TimeZone) {
    doc.push(Block::Heading("Vital signs and weight".into()));
    if vitals.is_empty() {
        doc.push(Block::Paragraph("No vital signs in this period.".into()));
        return;
    }
    let num = clowder_schemas::formulary::num;
    let rows = vitals
        .iter()
        .map(|v| {
            let m = &v.measurements;
            Row::new([
                at(v.taken_at, tz),
                m.weight_kg.map(|w| format!("{} kg", num(w))).unwrap_or_default(),
                m.temperature_c.map(|t| format!("{} °C", num(t))).unwrap_or_default(),
                m.heart_rate.map(|h| h.to_string()).unwrap_or_default(),
                m.respiratory_rate.map(|r| r.to_string()).unwrap_or_default(),
                m.bcs.map(|b| format!("{}/{}", b.score, b.scale)).unwrap_or_default(),
            ])
        })
        .collect();
    doc.push(Block::Table(Table {
        columns: vec![
            Column::new("Taken", 1.6),
            Column::right("Weight", 1.0),
            Column::right("Temp.", 1.0),
            Column::right("Heart /min", 1.0),
            Column::right("Resp. /min", 1.0),
            Column::right("BCS", 0.8),
        ],
        rows,
    }));
}

fn visit(doc: &mut Document, reader: &Reader, v: &Visit, vitals: &[Vitals], tz: &TimeZone) -> Result<()> {
    let vet = match v.vet_id {
        Some(s) => reader
            .get::<clowder_schemas::staff::StaffProfile>(RecordTable::Staff, s.as_u128())?
            .map(|s| s.display_name()),
        None => None,
    };
    let mut title = format!("{} — {}", at(v.opened_at, tz), wire(&v.visit_type));
    if let Some(n) = vet {
        title.push_str(&format!(" — {n}"));
    }
    doc.push(Block::Heading(title));
    let mut fields = Vec::new();
    if let Some(c) = v.chief_complaint.as_deref().filter(|c| !c.trim().is_empty()) {
        fields.push(("Complaint".into(), c.trim().to_owned()));
    }
    for x in vitals.iter().filter(|x| x.visit_id == Some(v.id)) {
        let shown: Vec<String> =
            measurement_fields(&x.measurements).into_iter().map(|(k, v)| format!("{k} {v}")).collect();
        if !shown.is_empty() {
            fields.push(("Vital signs".into(), shown.join("; ")));
        }
    }
    let note = match reader.unique_owner(unique::NOTE_VISIT, &v.id.to_string())? {
        Some(key) => reader.get::<Note>(RecordTable::Notes, key)?,
        None => None,
    };
    match note {
        Some(n) => {
            for (label, text) in [
                ("Subjective", &n.soap.subjective),
                ("Objective", &n.soap.objective),
                ("Assessment", &n.soap.assessment),
                ("Plan", &n.soap.plan),
            ] {
                if !text.trim().is_empty() {
                    fields.push((label.into(), text.trim().to_owned()));
                }
            }
            fields.push(("Signed".into(), format!("{} by {}", at(n.signed_at, tz), person(reader, n.signed_by)?)));
            for a in &n.addenda {
                fields.push((
                    format!("Addendum {}", a.number),
                    format!("{}\n({} by {})", a.text.trim(), at(a.signed_at, tz), person(reader, a.author)?),
                ));
            }
        }
        None => fields.push(("Note".into(), "not signed: the draft is not part of the record".into())),
    }
    doc.push(Block::Fields(fields));
    Ok(())
}

impl Charts {
    /// A cat's medical record summary for `period` as a PDF (404 `patient_not_found`, 422 on
    /// `to` before `from`); audited as `patient.record_export` with the period, the visits and
    /// the size.
    pub async fn record_summary_pdf(&self, patient: PatientId, period: Period, caller: &Caller) -> Result<Vec<u8>> {
        let ctx = self.ctx();
        let (doc, visits) = {
            let reader = ctx.store.read()?;
            document(ctx, &reader, patient, period, ctx.clock.now(), ctx.today(), caller)?
        };
        let pdf = printing::render(doc).await?;
        crate::audit::record_now(
            ctx,
            AuditDraft::new(caller, "patient.record_export").record("patient", patient).detail(serde_json::json!({
                "from": period.from, "to": period.to, "visits": visits, "bytes": pdf.len(), "format": "pdf",
            })),
        )
        .await?;
        Ok(pdf)
    }
}
