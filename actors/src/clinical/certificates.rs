//! Printed certificates of a cat: the **vaccination certificate** (owner, the cat's identity,
//! every dose given with its product, manufacturer, lot, expiry, route, site and next due date,
//! and the signing veterinarian's name and licence). Declined vaccines, due-date overrides and
//! risk assessments are not printed: a certificate attests what was given; the record's
//! vaccination page keeps the rest. The pieces shared by other clinical documents (the owner
//! and cat blocks, the signature) live here too. docs/documents.md.

use clowder_documents::{Block, Column, Document, Row, Table};
use clowder_schemas::audit::{AuditDraft, Caller};
use clowder_schemas::clients::Client;
use clowder_schemas::ids::{PatientId, UserId};
use clowder_schemas::patients::{Patient, ReproductiveStatus, Sex};
use clowder_schemas::staff::{Position, StaffProfile};
use clowder_schemas::vaccinations::{DueItem, Entry, Route, Vaccination};
use clowder_schemas::vaccine_protocol::VaccineProtocol;
use jiff::Timestamp;
use jiff::civil::Date;

use super::vaccinations::{Vaccinations, due_for, entries_of};
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::printing;
use crate::store::tables::unique;
use crate::store::{Reader, RecordTable};

/// The staff profile of a user account, if it has one.
pub(crate) fn staff_of(reader: &Reader, user: UserId) -> Result<Option<StaffProfile>> {
    let Some(key) = reader.unique_owner(unique::STAFF_USER, &user.to_string())? else { return Ok(None) };
    Ok(reader.get::<StaffProfile>(RecordTable::Staff, key)?)
}

/// A veterinarian's profile for `user`, or `None` when they have none or are not a vet.
pub(crate) fn vet_of(reader: &Reader, user: Option<UserId>) -> Result<Option<StaffProfile>> {
    let Some(user) = user else { return Ok(None) };
    Ok(staff_of(reader, user)?.filter(|s| s.position == Position::Veterinarian))
}

/// A cat and its owner, read from one snapshot.
pub(crate) fn cat_and_owner(reader: &Reader, id: PatientId) -> Result<(Patient, Option<Client>)> {
    let p = reader.get::<Patient>(RecordTable::Patients, id.as_u128())?.ok_or(Error::PatientNotFound(id))?;
    let owner = reader.get::<Client>(RecordTable::Clients, p.client_id.as_u128())?;
    Ok((p, owner))
}

/// "Female, spayed", "Male", "unknown".
fn sex(p: &Patient) -> String {
    let s = match p.sex {
        Some(Sex::Male) => "Male",
        Some(Sex::Female) => "Female",
        None => "Sex unknown",
    };
    match p.reproductive_status {
        Some(ReproductiveStatus::Intact) => format!("{s}, intact"),
        Some(ReproductiveStatus::Spayed) => format!("{s}, spayed"),
        Some(ReproductiveStatus::Neutered) => format!("{s}, neutered"),
        None => s.to_owned(),
    }
}

/// The owner's block: name, address, phone.
pub(crate) fn owner_fields(owner: Option<&Client>) -> Block {
    let Some(c) = owner else { return Block::Fields(vec![("Owner".into(), "not on file".into())]) };
    let mut fields = vec![("Owner".into(), format!("{} {}", c.first_name, c.last_name))];
    if let Some(a) = &c.address {
        let city = [a.postal_code.as_deref(), a.city.as_deref(), a.region.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let lines: Vec<&str> = [a.line1.as_deref(), a.line2.as_deref(), Some(city.as_str()), a.country.as_deref()]
            .into_iter()
            .flatten()
            .filter(|l| !l.trim().is_empty())
            .collect();
        if !lines.is_empty() {
            fields.push(("Address".into(), lines.join("\n")));
        }
    }
    fields.push(("Phone".into(), c.phone.as_str().to_owned()));
    Block::Fields(fields)
}

/// The cat's identity: name, species, breed, sex and neuter status, colour, date of birth,
/// microchip.
pub(crate) fn cat_fields(p: &Patient) -> Block {
    let unknown = || "not recorded".to_owned();
    let dob = match p.date_of_birth {
        Some(d) if p.date_of_birth_estimated => format!("{d} (estimated)"),
        Some(d) => d.to_string(),
        None => unknown(),
    };
    Block::Fields(vec![
        ("Name".into(), p.name.clone()),
        ("Species".into(), "Cat (Felis catus)".into()),
        ("Breed".into(), p.breed.clone().unwrap_or_else(unknown)),
        ("Sex".into(), sex(p)),
        ("Colour".into(), p.color.clone().unwrap_or_else(unknown)),
        ("Date of birth".into(), dob),
        ("Microchip".into(), p.microchip.as_ref().map_or_else(unknown, |m| m.as_str().to_owned())),
    ])
}

/// The signing veterinarian's statement and signature lines. With no vet known, the lines are
/// left blank to be filled in by hand.
pub(crate) fn signature(statement: &str, vet: Option<&StaffProfile>, today: Date) -> Vec<Block> {
    let (name, licence) = match vet {
        Some(v) => (
            v.display_name(),
            match &v.licence {
                Some(l) => match l.expires_on {
                    Some(x) => format!("{} ({}), valid until {x}", l.number, l.state),
                    None => format!("{} ({})", l.number, l.state),
                },
                None => "not on file".into(),
            },
        ),
        None => ("______________________________".into(), "______________________________".into()),
    };
    vec![
        Block::Heading("Veterinarian".into()),
        Block::Paragraph(statement.into()),
        Block::Fields(vec![
            ("Veterinarian".into(), name),
            ("Licence".into(), licence),
            ("Date".into(), today.to_string()),
            ("Signature".into(), "\n______________________________".into()),
        ]),
    ]
}

fn route(r: Route) -> &'static str {
    match r {
        Route::Subcutaneous => "SC",
        Route::Intramuscular => "IM",
        Route::Intranasal => "IN",
        Route::Transdermal => "TD",
        Route::Oral => "PO",
    }
}

/// The legend of the route abbreviations of [`doses_table`].
pub(crate) const ROUTES: &str = "Routes: SC subcutaneous, IM intramuscular, IN intranasal, TD transdermal, PO oral.";

/// The doses of `entries` oldest first (date, vaccine and product, manufacturer, lot, expiry,
/// route and site, and the next due date on the latest dose of each vaccine), or `None` when
/// there is none; with who gave the latest dose that names its giver.
pub(crate) fn doses_table(
    protocol: &VaccineProtocol,
    entries: &[Vaccination],
    due: &[DueItem],
) -> (Option<Table>, Option<UserId>) {
    let mut doses: Vec<_> = entries
        .iter()
        .filter_map(|v| match &v.entry {
            Entry::Dose(d) => Some((v, d)),
            _ => None,
        })
        .collect();
    if doses.is_empty() {
        return (None, None);
    }
    doses.sort_by_key(|(v, d)| (d.given_on, v.id));
    let columns = vec![
        Column::new("Date", 1.1),
        Column::new("Vaccine", 2.2),
        Column::new("Manufacturer", 1.4),
        Column::new("Lot", 1.1),
        Column::new("Expiry", 1.1),
        Column::new("Route, site", 1.4),
        Column::new("Next due", 1.1),
    ];
    let mut rows = Vec::with_capacity(doses.len());
    let mut last_giver = None;
    for (i, (v, d)) in doses.iter().enumerate() {
        let name = protocol.vaccines.iter().find(|s| s.code == v.vaccine).map_or(v.vaccine.as_str(), |s| &s.name);
        // The next due date belongs to the latest dose of each vaccine only.
        let latest = !doses[i + 1..].iter().any(|(o, _)| o.vaccine == v.vaccine);
        let next = match due.iter().find(|x| x.vaccine == v.vaccine) {
            Some(x) if latest => x.due_on.map_or_else(|| "not due".to_owned(), |d| d.to_string()),
            _ => String::new(),
        };
        let how = [d.route.map(route), d.site.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(", ");
        rows.push(Row::new([
            d.given_on.to_string(),
            format!("{name}\n{}", d.product),
            d.manufacturer.clone().unwrap_or_default(),
            d.lot.clone(),
            d.expiry.map(|x| x.to_string()).unwrap_or_default(),
            how,
            next,
        ]));
        if d.given_by.is_some() {
            last_giver = d.given_by;
        }
    }
    (Some(Table { columns, rows }), last_giver)
}

/// The wire name of an enum value, printed with spaces ("brick red", "mild loss").
pub(crate) fn wire<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(|s| s.replace('_', " "))).unwrap_or_default()
}

/// The vaccination certificate of cat `id` as the `caller` prints it on `today`: signed by the
/// caller when they are a veterinarian, else by the vet who gave the latest dose, else with
/// blank lines. How many doses it lists is returned beside it (for the audit).
pub(crate) fn vaccination_certificate(
    ctx: &Ctx,
    reader: &Reader,
    id: PatientId,
    now: Timestamp,
    today: Date,
    caller: &Caller,
) -> Result<(Document, usize)> {
    let by = caller.username.clone().unwrap_or_else(|| "Clowder".into());
    certificate_for(ctx, reader, id, (now, today), caller.user_id(), &by)
}

/// [`vaccination_certificate`] printed by user `signer` (signing it when a vet), named `by`
/// in the footer: a print batch prints as the person who asked for it.
pub(crate) fn certificate_for(
    ctx: &Ctx,
    reader: &Reader,
    id: PatientId,
    (now, today): (Timestamp, Date),
    signer: Option<UserId>,
    by: &str,
) -> Result<(Document, usize)> {
    let (p, owner) = cat_and_owner(reader, id)?;
    let entries = entries_of(reader, id)?;
    let (_, due) = due_for(reader, &p, &entries, today)?;
    let (_, protocol) = super::vaccinations::protocol(reader)?;
    let mut doc = Document::new(
        printing::letterhead(ctx)?,
        format!("Vaccination certificate — {}", p.name),
        printing::generated(ctx, now, by),
    )
    .paper(printing::paper(ctx));
    doc.push(Block::Heading("Owner".into()));
    doc.push(owner_fields(owner.as_ref()));
    doc.push(Block::Heading("Cat".into()));
    doc.push(cat_fields(&p));
    doc.push(Block::Heading("Vaccinations given".into()));
    let (table, last_giver) = doses_table(&protocol, &entries, &due);
    let count = table.as_ref().map_or(0, |t| t.rows.len());
    match table {
        Some(t) => {
            doc.push(Block::Table(t));
            doc.push(Block::Paragraph(ROUTES.into()));
        }
        None => {
            doc.push(Block::Paragraph("No vaccination is recorded for this cat.".into()));
        }
    }
    let vet = match vet_of(reader, signer)? {
        Some(v) => Some(v),
        None => vet_of(reader, last_giver)?,
    };
    doc.blocks.extend(signature(
        &format!("I certify that the cat described above received the vaccinations listed, as recorded in this clinic's medical record for {}.", p.name),
        vet.as_ref(),
        today,
    ));
    Ok((doc, count))
}

impl Vaccinations {
    /// A cat's vaccination certificate as a PDF (404 `patient_not_found`); audited as
    /// `vaccination.certificate_pdf` with the doses it lists.
    pub async fn certificate_pdf(&self, patient: PatientId, caller: &Caller) -> Result<Vec<u8>> {
        let ctx = self.ctx_ref();
        let reader = ctx.store.read()?;
        let (doc, doses) = vaccination_certificate(ctx, &reader, patient, ctx.clock.now(), ctx.today(), caller)?;
        drop(reader);
        let pdf = printing::render(doc).await?;
        crate::audit::record_now(
            ctx,
            AuditDraft::new(caller, "vaccination.certificate_pdf")
                .record("patient", patient.to_string())
                .detail(serde_json::json!({ "doses": doses, "bytes": pdf.len() })),
        )
        .await?;
        Ok(pdf)
    }
}
