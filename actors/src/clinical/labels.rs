//! Labels printed on a label sheet (`clowder_documents::LabelSheet`: Avery 5163 on Letter,
//! L7165 on A4, by the clinic's paper): the **prescription label** (clinic, cat and owner,
//! drug and strength, directions, quantity, refills, prescriber, date, "For veterinary use
//! only") and the **patient label** (cat, owner, phone, date of birth, microchip) of batch
//! printing. docs/documents.md.

use clowder_documents::{Label, LabelLine, LabelSheet};
use clowder_schemas::PatientId;
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::formulary::num;
use clowder_schemas::ids::PrescriptionId;
use clowder_schemas::prescriptions::Prescription;
use clowder_schemas::staff::StaffProfile;

use super::certificates::cat_and_owner;
use super::prescriptions::Prescriptions;
use super::visit_pdfs::{directions, medication};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::printing;
use crate::store::{Reader, RecordTable};

/// The sheet the clinic's labels print on.
pub fn sheet(ctx: &Ctx) -> LabelSheet {
    LabelSheet::for_paper(printing::paper(ctx))
}

/// The clinic's line at the top of every label: name and phone.
fn clinic_line(ctx: &Ctx) -> Result<LabelLine> {
    let head = printing::letterhead(ctx)?;
    let phone = head.lines.iter().find(|l| l.starts_with("Tel.")).cloned();
    let text = match phone {
        Some(p) => format!("{} · {p}", head.name),
        None => head.name,
    };
    Ok(LabelLine::new(text))
}

/// The label of prescription `id` (404 `prescription_not_found`).
pub(crate) fn prescription_label(ctx: &Ctx, reader: &Reader, id: PrescriptionId) -> Result<Label> {
    let x =
        reader.get::<Prescription>(RecordTable::Prescriptions, id.as_u128())?.ok_or(Error::PrescriptionNotFound(id))?;
    let (cat, owner) = cat_and_owner(reader, x.patient_id)?;
    let prescriber = reader
        .get::<StaffProfile>(RecordTable::Staff, x.prescriber_staff_id.as_u128())?
        .map_or_else(String::new, |s| s.display_name());
    let tz = ctx.config.time_zone.clone();
    let mut lines = vec![
        clinic_line(ctx)?,
        LabelLine::bold(
            match &owner {
                Some(o) => format!("{} ({} {})", cat.name, o.first_name, o.last_name),
                None => cat.name.clone(),
            },
            9.0,
        ),
        LabelLine::bold(format!("{} {}", medication(&x), x.form.as_str()), 10.0),
        LabelLine::new(directions(&x)),
    ];
    if let Some(i) = x.instructions.as_deref().filter(|i| !i.trim().is_empty()) {
        lines.push(LabelLine::new(i.trim()));
    }
    lines.push(LabelLine::new(format!(
        "Qty {} {} · Refills {} · {}",
        num(x.quantity),
        x.quantity_unit,
        x.refills_remaining,
        x.created_at.to_zoned(tz).date()
    )));
    lines.push(LabelLine::new(format!("Prescribed by {prescriber}")));
    lines.push(LabelLine::bold("For veterinary use only", 8.0));
    Ok(Label { lines })
}

/// The label of cat `id` (404 `patient_not_found`): for its file, carrier or samples.
pub(crate) fn patient_label(ctx: &Ctx, reader: &Reader, id: PatientId) -> Result<Label> {
    let (cat, owner) = cat_and_owner(reader, id)?;
    let mut lines = vec![clinic_line(ctx)?, LabelLine::bold(cat.name.clone(), 12.0)];
    if let Some(o) = &owner {
        lines.push(LabelLine::new(format!("{} {} · {}", o.first_name, o.last_name, o.phone.as_str())));
    }
    let mut id_line = Vec::new();
    if let Some(d) = cat.date_of_birth {
        id_line.push(format!("born {d}"));
    }
    if let Some(m) = &cat.microchip {
        id_line.push(format!("chip {}", m.as_str()));
    }
    if !id_line.is_empty() {
        lines.push(LabelLine::new(id_line.join(" · ")));
    }
    if !cat.allergies.is_empty() {
        lines.push(LabelLine::bold(format!("Allergies: {}", cat.allergies.join(", ")), 8.0));
    }
    Ok(Label { lines })
}

impl Prescriptions {
    /// A prescription's label on the clinic's label sheet, as a PDF (404
    /// `prescription_not_found`); audited as `prescription.label_pdf`.
    pub async fn label_pdf(&self, id: PrescriptionId, caller: &Caller) -> Result<Vec<u8>> {
        let ctx = self.ctx_ref();
        let label = prescription_label(ctx, &ctx.store.read()?, id)?;
        let pdf = printing::render_labels(sheet(ctx), "Prescription label".into(), vec![label]).await?;
        crate::audit::record_now(
            ctx,
            AuditDraft::new(caller, "prescription.label_pdf").record("prescription", id).detail(serde_json::json!({
                "bytes": pdf.len(),
            })),
        )
        .await?;
        Ok(pdf)
    }
}
