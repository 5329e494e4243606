//! The controlled-drug register as a printable document: for a range of dates, per drug and
//! per container, every entry (local date and time, kind, cat and owner, quantity, running
//! balance, who, witness, reason) between the balance brought forward and the container's
//! totals. Landscape: eight columns do not fit a portrait page legibly. The reading and the
//! audit are `controlled::Controlled::register_pdf`'s.

use std::collections::BTreeMap;

use clowder_documents::{Block, Column, Document, Row, Table};
use clowder_schemas::audit::Caller;
use clowder_schemas::clients::Client;
use clowder_schemas::controlled::{Container, Entry, EntryKind, show_milli};
use clowder_schemas::formulary::{Formulary, Schedule, num};
use clowder_schemas::patients::Patient;
use jiff::Timestamp;

use super::controlled::Register;
use super::facts;
use crate::ctx::Ctx;
use crate::error::Result;
use crate::printing;
use crate::records::DecideCtx;
use crate::store::RecordTable;

/// The document of a range of the register. `drug` is the name asked for, if any.
pub(crate) fn document(
    ctx: &Ctx,
    r: &Register,
    drug: Option<&str>,
    now: Timestamp,
    caller: &Caller,
) -> Result<Document> {
    let tz = ctx.config.time_zone.clone();
    let zone = tz.iana_name().unwrap_or("local time").to_owned();
    let by = caller.username.clone().unwrap_or_else(|| "Clowder".into());
    let mut doc =
        Document::new(printing::letterhead(ctx)?, "Controlled-drug register", printing::generated(ctx, now, &by))
            .paper(printing::paper(ctx))
            .landscape();
    let containers = r.containers.len();
    doc.push(Block::Fields(vec![
        ("Period".into(), format!("{} to {} (times in {zone})", r.from, r.to)),
        ("Drug".into(), drug.map_or_else(|| "every controlled drug".to_owned(), str::to_owned)),
        (
            "Entries".into(),
            format!("{} in {containers} container{}", r.entries.len(), if containers == 1 { "" } else { "s" }),
        ),
    ]));
    if r.entries.is_empty() {
        doc.push(Block::Paragraph("No entries in this period.".into()));
        return Ok(doc);
    }
    let dose_units: BTreeMap<String, &'static str> = {
        let dctx = DecideCtx::new(now, &ctx.config, caller, Some(&ctx.store));
        let (_, formulary) = facts::current::<Formulary>(&dctx)?;
        formulary.drugs.iter().map(|d| (d.id.clone(), d.dose_unit.as_str())).collect()
    };
    // Per drug (by name), then per container (as received), each with its entries in order.
    let mut groups: BTreeMap<(String, Timestamp, String), Vec<&Entry>> = BTreeMap::new();
    for e in &r.entries {
        let c = &r.containers[&e.container_id];
        groups.entry((c.drug_name.to_lowercase(), c.received_at, c.id.to_string())).or_default().push(e);
    }
    let mut names = Names { r, cats: BTreeMap::new() };
    let mut drug_shown = None;
    for ((drug_key, _, _), entries) in &groups {
        let c = &r.containers[&entries[0].container_id];
        if drug_shown.as_ref() != Some(drug_key) {
            doc.push(Block::Heading(format!("{} — schedule {}", c.drug_name, schedule(c.schedule))));
            drug_shown = Some(drug_key.clone());
        }
        let unit = dose_units.get(&c.drug_id).copied().unwrap_or("");
        doc.push(Block::Paragraph(container_line(c, unit)));
        doc.push(Block::Table(table(c, entries, &tz, &mut names)?));
    }
    Ok(doc)
}

fn schedule(s: Schedule) -> &'static str {
    match s {
        Schedule::None => "none",
        Schedule::Ii => "II",
        Schedule::Iii => "III",
        Schedule::Iv => "IV",
        Schedule::V => "V",
    }
}

/// "Injectable 0.3 mg/mL, lot B12345, expires 2030-01-31; received 10 mL …".
fn container_line(c: &Container, dose_unit: &str) -> String {
    let per = if c.form.is_solid() { c.unit.as_str() } else { "mL" };
    let mut s = format!("Container {}: {} {} {dose_unit}/{per}, lot {}", c.id, c.form.as_str(), num(c.strength), c.lot);
    if let Some(x) = c.expires_on {
        s.push_str(&format!(", expires {x}"));
    }
    s.push_str(&format!("; received {} {}", show_milli(c.received_quantity), c.unit));
    if let Some(sup) = &c.supplier {
        s.push_str(&format!(" from {sup}"));
    }
    if let Some(o) = c.opened_on {
        s.push_str(&format!(", opened {o}"));
    }
    s
}

fn kind(k: EntryKind) -> &'static str {
    match k {
        EntryKind::Receipt => "Receipt",
        EntryKind::Administration => "Administration",
        EntryKind::Dispensing => "Dispensing",
        EntryKind::Reversal => "Reversal",
        EntryKind::Discrepancy => "Discrepancy",
        EntryKind::Count => "Count",
    }
}

/// A change with its sign: `+10`, `−0.27` (a true minus sign, as printed registers show it).
fn signed(v: i64) -> String {
    match v {
        0 => "0".into(),
        v if v > 0 => format!("+{}", show_milli(v)),
        v => format!("−{}", show_milli(-v)),
    }
}

/// Cats' names with their owners', read once each from the register's snapshot.
struct Names<'a> {
    r: &'a Register,
    cats: BTreeMap<clowder_schemas::ids::PatientId, String>,
}

impl Names<'_> {
    fn cat(&mut self, id: clowder_schemas::ids::PatientId) -> Result<String> {
        if let Some(n) = self.cats.get(&id) {
            return Ok(n.clone());
        }
        let reader = &self.r.reader;
        let name = match reader.get::<Patient>(RecordTable::Patients, id.as_u128())? {
            Some(p) => match reader.get::<Client>(RecordTable::Clients, p.client_id.as_u128())? {
                Some(c) => format!("{} ({} {})", p.name, c.first_name, c.last_name),
                None => p.name,
            },
            None => id.to_string(),
        };
        self.cats.insert(id, name.clone());
        Ok(name)
    }
}

fn table(c: &Container, entries: &[&Entry], tz: &jiff::tz::TimeZone, names: &mut Names<'_>) -> Result<Table> {
    let columns = vec![
        Column::new("Date and time", 1.6),
        Column::new("Entry", 1.3),
        Column::new("Cat (owner)", 2.2),
        Column::right(format!("Quantity ({})", c.unit), 1.0),
        Column::right(format!("Balance ({})", c.unit), 1.0),
        Column::new("By", 1.4),
        Column::new("Witness", 1.4),
        Column::new("Reason or note", 3.2),
    ];
    let first = entries[0];
    let opening = first.balance_after - first.change;
    let opening_s = show_milli(opening);
    let mut rows = vec![Row::new(["", "Brought forward", "", "", opening_s.as_str(), "", "", ""])];
    let (mut received, mut used, mut reversed, mut discrepancies) = (0i64, 0i64, 0i64, 0i64);
    for e in entries {
        match e.kind {
            EntryKind::Receipt => received += e.change,
            EntryKind::Administration | EntryKind::Dispensing => used -= e.change,
            EntryKind::Reversal => reversed += e.change,
            EntryKind::Discrepancy => discrepancies += e.change,
            EntryKind::Count => {}
        }
        let cat = match e.patient_id {
            Some(p) => names.cat(p)?,
            None => String::new(),
        };
        let quantity = match (e.kind, e.counted) {
            (EntryKind::Count, Some(n)) => format!("counted {}", show_milli(n)),
            _ => signed(e.change),
        };
        let mut reason = e.reason.clone().unwrap_or_default();
        if let Some(orig) = e.reverses.and_then(|id| entries.iter().find(|x| x.id == id)) {
            let at = orig.at.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M").to_string();
            reason = format!("Reverses the {} of {at}: {reason}", kind(orig.kind).to_lowercase());
        } else if let Some(id) = e.reverses {
            reason = format!("Reverses entry {id}: {reason}");
        }
        rows.push(Row::new([
            e.at.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M").to_string(),
            kind(e.kind).to_owned(),
            cat,
            quantity,
            show_milli(e.balance_after),
            e.by_name.clone(),
            e.witness_name.clone(),
            reason,
        ]));
    }
    let last = entries[entries.len() - 1].balance_after;
    rows.push(Row::total([
        "Totals".to_owned(),
        format!("{} entries", entries.len()),
        String::new(),
        signed(last - opening),
        show_milli(last),
        String::new(),
        String::new(),
        format!(
            "received {}, administered or dispensed {}, reversals {}, discrepancies {}",
            show_milli(received),
            show_milli(used),
            signed(reversed),
            signed(discrepancies)
        ),
    ]));
    Ok(Table { columns, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_print_with_their_sign() {
        assert_eq!(signed(10_000), "+10");
        assert_eq!(signed(-270), "−0.27");
        assert_eq!(signed(0), "0");
    }
}
