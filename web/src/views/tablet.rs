//! The exam-room tablet's chart (`/tablet/chart?room=<id>`): the cat the room's whiteboard
//! says is in the room, for whoever unlocked the tablet: its banner (alerts, allergies,
//! handling, active problems), the timeline, the latest vitals with the weight and BCS trends,
//! the lab trends per analyte (only for holders of `labs:view`), the vaccines due (each with the rule that produced it), the active medications (only for
//! holders of `prescriptions:view`), and the forms the vet writes with: the SOAP note (autosaved
//! by `tablet-chart.js` with a local queue), vitals, a vaccine, a prescription. Which of them
//! show is decided here, from what the caller's writes would be allowed to do.

use askama::Template;
use clowder_schemas::formulary::{FormKind, Formulary};
use clowder_schemas::notes::NoteView;
use clowder_schemas::prescriptions::Prescription;
use clowder_schemas::vaccinations::{DueItem, DueStatus};
use clowder_schemas::vaccine_protocol::VaccineProtocol;
use clowder_schemas::visits::{TimelineEntry, Visit, VisitStatus};
use jiff::tz::TimeZone;

use super::labs::TrendChart;
use super::records::ClinicalSection;
use super::visits::{AddendumRow, signed_lines, type_label, when};

/// `/tablet/chart?room=<id>`.
#[derive(Template)]
#[template(path = "tablet_chart.html")]
pub struct TabletChart {
    pub room_id: String,
    pub room_name: String,
    /// The cat in the room; `None` when the room is empty.
    pub cat: Option<ChartCat>,
    /// Why the chart could not be shown (an unknown room, a bad address), instead of it.
    pub problem: Option<String>,
}

/// The chart of the cat in the room.
pub struct ChartCat {
    pub patient_id: String,
    pub name: String,
    /// "4 years · Maine Coon · Female, spayed".
    pub facts: String,
    pub alerts: Vec<String>,
    pub handling: Vec<String>,
    pub problems: Vec<String>,
    pub clinical: ClinicalSection,
    /// `None` when the caller reads visits at scope `own` (a cat's whole record is nobody's
    /// own, as over REST).
    pub timeline: Option<Vec<TimelineRow>>,
    /// The next (older) page of the timeline.
    pub older_href: Option<String>,
    pub vaccines_due: Vec<DueRow>,
    /// `None` without `prescriptions:view`: the section is not shown at all.
    pub medications: Option<Vec<MedicationRow>>,
    /// A trend per analyte with a numeric result (as the cat page draws them); `None`
    /// without `labs:view`: the section is not shown and the chart read left them out.
    pub lab_trends: Option<Vec<TrendChart>>,
    /// The visit being seen: its note, and the forms that post with its id.
    pub visit: Option<NoteEditor>,
    pub can_record_vitals: bool,
    /// The lowest Fear Free FAS score of the clinic's scale (`vital_ranges.fas_scale`: 0 or 1).
    pub fas_min: u8,
    /// The protocol's vaccines (code, name) when the caller may record a dose.
    pub vaccines: Option<Vec<(String, String)>>,
    /// The formulary's choices when the caller may prescribe (permission and profile).
    pub drugs: Option<Vec<DrugChoice>>,
}

/// One line of the timeline.
#[derive(Debug, Clone)]
pub struct TimelineRow {
    /// "5 Mar 2026 14:02".
    pub when: String,
    /// "visit", "note", "vitals", "problem", "prescription", "vaccination".
    pub kind: &'static str,
    pub text: String,
}

/// One vaccine due, with the rule that computed it.
#[derive(Debug, Clone)]
pub struct DueRow {
    pub vaccine: String,
    /// "due", "overdue", "declined".
    pub status: &'static str,
    /// "Overdue since 2026-01-04", "Due 2026-05-01".
    pub label: String,
    pub rule: String,
}

/// One active prescription.
#[derive(Debug, Clone)]
pub struct MedicationRow {
    pub drug: String,
    /// "q12h · oral · 2 refills left".
    pub how: String,
    /// The arithmetic as stored ("1 mg/kg × 4.2 kg = 4.2 mg; …").
    pub dose: String,
    /// Its label as a PDF on the clinic's label sheet.
    pub label: String,
}

/// One drug, form and strength of the formulary, as a choice of the prescribing form.
#[derive(Debug, Clone)]
pub struct DrugChoice {
    /// `meloxicam|suspension|0.5`: what the script splits into the request's fields.
    pub value: String,
    /// "Meloxicam — suspension 0.5 mg/mL".
    pub label: String,
    /// The form's usual routes, space-separated (the script preselects the first).
    pub routes: String,
    /// The drug's usual frequencies, space-separated.
    pub frequencies: String,
}

/// One section of the note in the editor.
#[derive(Debug, Clone)]
pub struct EditorSection {
    /// `subjective`: the field of `PUT …/note/draft`.
    pub key: &'static str,
    pub heading: &'static str,
    pub text: String,
}

/// The visit's note as the tablet shows it: editable while a draft the caller may save,
/// read-only once signed (with addenda).
pub struct NoteEditor {
    pub visit_id: String,
    /// "Sick visit · Not eating since yesterday".
    pub title: String,
    /// "Draft (not signed)" or "Signed 5 Mar 2026 14:02 by …".
    pub state: String,
    pub signed: bool,
    /// The draft is shown in text areas the script autosaves.
    pub editable: bool,
    pub sections: Vec<EditorSection>,
    pub revision: u64,
    /// The caller may sign it (`visits:sign`, an active veterinarian, the draft unsigned).
    pub can_sign: bool,
    /// The note is signed and the caller may add a signed addendum.
    pub can_add: bool,
    pub addenda: Vec<AddendumRow>,
}

/// What the caller's writes would be allowed to do on the tablet, decided by the handler
/// from the access table and the staff profile.
#[derive(Debug, Clone, Copy, Default)]
pub struct Abilities {
    pub edit_note: bool,
    /// `visits:sign` held (at scope `all`, or `own` on the visit's own vet) and an active vet.
    pub sign: bool,
}

impl NoteEditor {
    /// The editor for `visit`'s note as `note` shows it; `name` turns a signer's user id into
    /// the name shown.
    pub fn new(
        visit: &Visit,
        note: &NoteView,
        may: Abilities,
        name: impl Fn(clowder_schemas::UserId) -> String,
        tz: &TimeZone,
    ) -> NoteEditor {
        let mut title = type_label(visit.visit_type).to_owned();
        if let Some(c) = &visit.chief_complaint {
            title = format!("{title} · {c}");
        }
        let live = visit.status != VisitStatus::Voided;
        let (state, soap, revision, addenda) = match (&note.note, &note.draft) {
            (Some(n), _) => {
                let (state, addenda) = signed_lines(n, &name, tz);
                (state, n.soap.clone(), n.revision, addenda)
            }
            (None, Some(d)) => ("Draft (not signed)".to_owned(), d.soap.clone(), d.revision, Vec::new()),
            (None, None) => ("No note".to_owned(), Default::default(), 0, Vec::new()),
        };
        let signed = note.note.is_some();
        let draft = note.draft.is_some() && !signed && live;
        let sections = [
            ("subjective", "Subjective", soap.subjective),
            ("objective", "Objective", soap.objective),
            ("assessment", "Assessment", soap.assessment),
            ("plan", "Plan", soap.plan),
        ]
        .into_iter()
        .map(|(key, heading, text)| EditorSection { key, heading, text })
        .collect();
        NoteEditor {
            visit_id: visit.id.to_string(),
            title,
            state,
            signed,
            editable: draft && may.edit_note,
            sections,
            revision,
            can_sign: draft && may.sign,
            can_add: signed && live && may.sign,
            addenda,
        }
    }
}

/// A timeline entry as one line.
pub fn timeline_row(e: &TimelineEntry, tz: &TimeZone) -> TimelineRow {
    let (kind, text) = match e {
        TimelineEntry::Visit { visit_type, chief_complaint, status, .. } => {
            let mut t = type_label(*visit_type).to_owned();
            if let Some(c) = chief_complaint {
                t = format!("{t}: {c}");
            }
            if *status == VisitStatus::Voided {
                t.push_str(" (voided)");
            }
            ("visit", t)
        }
        TimelineEntry::Note { addenda, .. } => (
            "note",
            match addenda {
                0 => "SOAP note signed".to_owned(),
                1 => "SOAP note signed, 1 addendum".to_owned(),
                n => format!("SOAP note signed, {n} addenda"),
            },
        ),
        TimelineEntry::Vitals { weight_kg, flagged, .. } => {
            let mut t = "Vitals".to_owned();
            if let Some(w) = weight_kg {
                t = format!("{t}: weight {w} kg");
            }
            if *flagged > 0 {
                t = format!("{t} ({flagged} outside the normal range)");
            }
            ("vitals", t)
        }
        TimelineEntry::Problem { name, status, .. } => {
            ("problem", format!("Problem: {name} ({})", serde_plain(status).unwrap_or_default().replace('_', " ")))
        }
        TimelineEntry::Prescription { drug_name, status, .. } => {
            ("prescription", format!("Prescribed {drug_name} ({})", serde_plain(status).unwrap_or_default()))
        }
        TimelineEntry::Vaccination { vaccine, entry, given_on, product, .. } => {
            let t = match entry.as_str() {
                "dose" => {
                    let p = product.as_deref().map(|p| format!(" ({p})")).unwrap_or_default();
                    let d = given_on.map(|d| format!(", given {d}")).unwrap_or_default();
                    format!("Vaccine {vaccine}{p}{d}")
                }
                "declined" => format!("Vaccine {vaccine} declined"),
                "due_override" => format!("Vaccine {vaccine}: due date set by hand"),
                _ => format!("Vaccine {vaccine}: risk assessed"),
            };
            ("vaccination", t)
        }
    };
    TimelineRow { when: when(e.at(), tz), kind, text }
}

/// A serde enum's wire name (`chronic`, `ruled_out`).
fn serde_plain<T: serde::Serialize>(v: &T) -> Option<String> {
    serde_json::to_value(v).ok()?.as_str().map(str::to_owned)
}

/// The due list as shown: what is due, overdue or declined (not what is not due), most
/// pressing first.
pub fn due_rows(due: &[DueItem]) -> Vec<DueRow> {
    let mut rows: Vec<(u8, DueRow)> = due
        .iter()
        .filter_map(|d| {
            let date = d.due_on.map(|x| x.to_string()).unwrap_or_else(|| "now".to_owned());
            let (rank, status, label) = match d.status {
                DueStatus::Overdue => (0, "overdue", format!("Overdue since {date}")),
                DueStatus::Due => (1, "due", format!("Due {date}")),
                DueStatus::Declined => (2, "declined", format!("Declined (was due {date})")),
                DueStatus::NotDue => return None,
            };
            let mut rule = d.rule.clone();
            if let Some(o) = &d.override_ {
                rule = format!("{rule} — set by hand: {}", o.reason);
            }
            Some((rank, DueRow { vaccine: d.vaccine_name.clone(), status, label, rule }))
        })
        .collect();
    rows.sort_by_key(|(rank, _)| *rank);
    rows.into_iter().map(|(_, r)| r).collect()
}

/// An active prescription as one row.
pub fn medication_row(p: &Prescription) -> MedicationRow {
    let unit = strength_unit(p.form);
    let mut how = vec![p.frequency.clone(), p.route.as_str().to_owned()];
    if let Some(d) = p.duration_days {
        how.push(format!("{d} days"));
    }
    how.push(match p.refills_remaining {
        0 => "no refills left".to_owned(),
        1 => "1 refill left".to_owned(),
        n => format!("{n} refills left"),
    });
    MedicationRow {
        drug: format!("{} — {} {} {unit}", p.drug_name, form_label(p.form), p.strength),
        how: how.join(" · "),
        dose: p.dose.shown.clone(),
        label: format!("/api/prescriptions/{}/label.pdf", p.id),
    }
}

fn form_label(f: FormKind) -> &'static str {
    match f {
        FormKind::Tablet => "tablet",
        FormKind::Capsule => "capsule",
        FormKind::Suspension => "suspension",
        FormKind::Solution => "solution",
        FormKind::Injectable => "injectable",
        FormKind::Transdermal => "transdermal",
    }
}

fn strength_unit(f: FormKind) -> &'static str {
    if f.is_solid() { "mg" } else { "mg/mL" }
}

/// The formulary's choices for the prescribing form: every strength of every form of every
/// drug that may be given to a cat (a feline-toxic drug is not offered; the server refuses it
/// anyway).
pub fn drug_choices(f: &Formulary) -> Vec<DrugChoice> {
    let mut out = Vec::new();
    for d in f.drugs.iter().filter(|d| d.feline_toxic.is_none()) {
        for form in &d.forms {
            for s in &form.strengths {
                out.push(DrugChoice {
                    value: format!("{}|{}|{s}", d.id, serde_plain(&form.form).unwrap_or_default()),
                    label: format!("{} — {} {s} {}", d.name, form_label(form.form), strength_unit(form.form)),
                    routes: form.routes.join(" "),
                    frequencies: d.frequencies.join(" "),
                });
            }
        }
    }
    out
}

/// The protocol's vaccines as (code, name) choices.
pub fn vaccine_choices(p: &VaccineProtocol) -> Vec<(String, String)> {
    p.vaccines.iter().map(|v| (v.code.clone(), v.name.clone())).collect()
}

/// The mucous membrane colours of the vitals form: (value, label).
pub const MUCOUS_MEMBRANES: [(&str, &str); 7] = [
    ("pink", "Pink"),
    ("pale", "Pale"),
    ("white", "White"),
    ("cyanotic", "Cyanotic"),
    ("icteric", "Icteric"),
    ("hyperemic", "Hyperaemic"),
    ("brick_red", "Brick red"),
];

/// Blood pressure methods of the vitals form: (value, label).
pub const BP_METHODS: [(&str, &str); 4] = [
    ("doppler", "Doppler"),
    ("oscillometric", "Oscillometric"),
    ("hdo", "High-definition oscillometry"),
    ("direct", "Direct (arterial line)"),
];

/// WSAVA muscle condition scores of the vitals form: (value, label).
pub const MUSCLE_CONDITIONS: [(&str, &str); 4] = [
    ("normal", "Normal"),
    ("mild_loss", "Mild loss"),
    ("moderate_loss", "Moderate loss"),
    ("severe_loss", "Severe loss"),
];

/// The Feline Grimace Scale's action units: (field, label).
pub const FGS_UNITS: [(&str, &str); 5] = [
    ("ear_position", "Ear position"),
    ("orbital_tightening", "Orbital tightening"),
    ("muzzle_tension", "Muzzle tension"),
    ("whiskers_change", "Whiskers change"),
    ("head_position", "Head position"),
];

/// The vaccine routes of the vaccine form: (value, label).
pub const VACCINE_ROUTES: [(&str, &str); 5] = [
    ("subcutaneous", "Subcutaneous"),
    ("intramuscular", "Intramuscular"),
    ("intranasal", "Intranasal"),
    ("transdermal", "Transdermal"),
    ("oral", "Oral"),
];

/// The prescription routes: (value, label).
pub const RX_ROUTES: [(&str, &str); 6] = [
    ("oral", "Oral"),
    ("sc", "Subcutaneous"),
    ("im", "Intramuscular"),
    ("iv", "Intravenous"),
    ("otm", "Oral transmucosal"),
    ("topical", "Topical"),
];

impl TabletChart {
    /// BCS buttons, 1 to 9.
    pub fn bcs_scores(&self) -> std::ops::RangeInclusive<u8> {
        1..=9
    }

    /// Pain buttons, 0 to 10.
    pub fn pain_scores(&self) -> std::ops::RangeInclusive<u8> {
        0..=10
    }

    pub fn mucous_membranes(&self) -> &'static [(&'static str, &'static str)] {
        &MUCOUS_MEMBRANES
    }

    /// Blood pressure methods, Doppler first (the usual one in cats, and the preselected one).
    pub fn bp_methods(&self) -> &'static [(&'static str, &'static str)] {
        &BP_METHODS
    }

    pub fn muscle_conditions(&self) -> &'static [(&'static str, &'static str)] {
        &MUSCLE_CONDITIONS
    }

    /// The Feline Grimace Scale's five action units: (field, label).
    pub fn fgs_units(&self) -> &'static [(&'static str, &'static str)] {
        &FGS_UNITS
    }

    /// Fear Free FAS buttons, on the clinic's scale (0–5 or 1–5).
    pub fn fas_scores(&self) -> std::ops::RangeInclusive<u8> {
        self.cat.as_ref().map_or(0, |c| c.fas_min)..=5
    }

    /// Each action unit's buttons, 0 to 2.
    pub fn fgs_scores(&self) -> std::ops::RangeInclusive<u8> {
        0..=2
    }

    pub fn vaccine_routes(&self) -> &'static [(&'static str, &'static str)] {
        &VACCINE_ROUTES
    }

    pub fn rx_routes(&self) -> &'static [(&'static str, &'static str)] {
        &RX_ROUTES
    }
}
