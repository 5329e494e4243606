//! The client and cat record pages (`/clients/{id}`, `/patients/{id}`): the alert banner
//! first (alerts, allergies, behaviour and handling), then the facts, a client's cats and a
//! cat's owner. Built from the domain records; every label is decided here.

use askama::Template;
use clowder_schemas::clients::{Client, PreferredContact};
use clowder_schemas::patients::{Level, Patient, PatientStatus, ReproductiveStatus, Sex};
use clowder_schemas::problems::{Problem, ProblemStatus, ProblemType, Severity};
use clowder_schemas::vitals::{Measurements, Vitals, WeightUnit};
use jiff::civil::Date;

use super::Nav;

/// One line of a record's facts: a term and its value (several lines for an address),
/// possibly a link (`tel:`, `mailto:`, another record).
#[derive(Debug, Clone)]
pub struct Fact {
    pub term: &'static str,
    pub lines: Vec<String>,
    pub href: Option<String>,
}

impl Fact {
    /// A plain line (for the other record pages).
    pub fn text_of(term: &'static str, value: impl Into<String>) -> Fact {
        Fact::text(term, value)
    }

    /// A linked line (for the other record pages).
    pub fn link_to(term: &'static str, value: impl Into<String>, href: String) -> Fact {
        Fact::link(term, value, href)
    }

    fn text(term: &'static str, value: impl Into<String>) -> Fact {
        Fact { term, lines: vec![value.into()], href: None }
    }

    fn link(term: &'static str, value: impl Into<String>, href: String) -> Fact {
        Fact { term, lines: vec![value.into()], href: Some(href) }
    }
}

/// A record's status badge: its class value and its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub value: &'static str,
    pub label: &'static str,
}

impl Status {
    pub const ACTIVE: Status = Status { value: "active", label: "Active" };
    pub const INACTIVE: Status = Status { value: "inactive", label: "Inactive" };
    pub const DECEASED: Status = Status { value: "deceased", label: "Deceased" };

    pub fn of_client(c: &Client) -> Status {
        if c.active { Status::ACTIVE } else { Status::INACTIVE }
    }

    pub fn of_patient(status: PatientStatus) -> Status {
        match status {
            PatientStatus::Active => Status::ACTIVE,
            PatientStatus::Inactive => Status::INACTIVE,
            PatientStatus::Deceased => Status::DECEASED,
        }
    }
}

/// A link to a record, as shown in lists (a client's cats, a cat's owner).
#[derive(Debug, Clone)]
pub struct RecordLink {
    pub href: String,
    pub label: String,
    /// Further detail after the link ("Maine Coon · Deceased").
    pub detail: String,
}

/// The address of a client's page.
pub fn client_href(id: &impl std::fmt::Display) -> String {
    format!("/clients/{id}")
}

/// The address of a cat's page.
pub fn patient_href(id: &impl std::fmt::Display) -> String {
    format!("/patients/{id}")
}

/// `/clients/{id}`.
#[derive(Template)]
#[template(path = "client.html")]
pub struct ClientPage {
    pub nav: Nav,
    /// "First Last".
    pub name: String,
    pub status: Status,
    pub alerts: Vec<String>,
    pub facts: Vec<Fact>,
    /// The client's cats; `None` when the caller may not list cats (the section is left out).
    pub cats: Option<Vec<RecordLink>>,
    /// The communication history: the newest messages to the client, and the log filtered
    /// by them; `None` when the caller may not read the log (the section is left out).
    pub messages: Option<(Vec<super::comms::MessageRow>, String)>,
    /// Whether the history has a form to send the client a message (the caller may
    /// `POST /api/communications/send`).
    pub can_send: bool,
    /// The client's id, for the send form.
    pub client_id: String,
    /// The referral panel: `None` when the caller may not read the client's referrals.
    pub referrals: Option<super::marketing::ReferralPanel>,
    /// The loyalty panel: `None` when the caller may not read the client's points.
    pub loyalty: Option<super::loyalty::LoyaltyPanel>,
    /// The client's documents (their own and their cats'), for who may read the record.
    pub documents: Option<super::documents::DocumentsBlock>,
}

impl ClientPage {
    pub fn new(nav: Nav, c: &Client, cats: Option<Vec<RecordLink>>) -> ClientPage {
        let mut facts = vec![Fact::link("Phone", c.phone.as_str(), format!("tel:{}", c.phone.as_str()))];
        if let Some(p) = &c.phone_secondary {
            facts.push(Fact::link("Other phone", p.as_str(), format!("tel:{}", p.as_str())));
        }
        if let Some(e) = &c.email {
            facts.push(Fact::link("Email", e.as_str(), format!("mailto:{}", e.as_str())));
        }
        if let Some(a) = &c.address {
            let town =
                [&a.city, &a.region, &a.postal_code].into_iter().flatten().cloned().collect::<Vec<_>>().join(" ");
            let lines: Vec<String> = [a.line1.clone(), a.line2.clone(), Some(town), a.country.clone()]
                .into_iter()
                .flatten()
                .filter(|l| !l.is_empty())
                .collect();
            if !lines.is_empty() {
                facts.push(Fact { term: "Address", lines, href: None });
            }
        }
        facts.push(Fact::text("Prefers", contact_label(c.preferred_contact)));
        if let Some(n) = &c.notes {
            facts.push(Fact::text("Notes", n));
        }
        if !c.tags.is_empty() {
            facts.push(Fact::text("Tags", c.tags.join(", ")));
        }
        ClientPage {
            nav,
            name: format!("{} {}", c.first_name, c.last_name),
            status: Status::of_client(c),
            alerts: c.alerts.clone(),
            facts,
            cats,
            messages: None,
            can_send: false,
            client_id: c.id.to_string(),
            referrals: None,
            loyalty: None,
            documents: None,
        }
    }
}

/// A cat as one line of its owner's page.
pub fn cat_link(p: &Patient) -> RecordLink {
    let status = Status::of_patient(p.status);
    let detail = [p.breed.clone(), (status != Status::ACTIVE).then(|| status.label.to_owned())]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
    RecordLink { href: patient_href(&p.id), label: p.name.clone(), detail }
}

/// `/patients/{id}`.
#[derive(Template)]
#[template(path = "patient.html")]
pub struct PatientPage {
    pub nav: Nav,
    pub name: String,
    pub status: Status,
    /// Allergies and the owner's alerts: the red part of the banner.
    pub alerts: Vec<String>,
    /// Behaviour and handling: the amber part.
    pub handling: Vec<String>,
    pub facts: Vec<Fact>,
    /// The active problem list (active and chronic) for the banner; empty when the caller
    /// may not read the medical record.
    pub problems: Vec<String>,
    /// The vitals section (weight chart, BCS trend, latest vitals); `None` when the caller may
    /// not read the medical record.
    pub clinical: Option<ClinicalSection>,
    /// The address of a new estimate for this cat, when the caller may start one.
    pub new_estimate: Option<String>,
    /// Its lab orders and trends, for a reader of labs.
    pub labs: Option<super::labs::PatientLabs>,
    /// The treatment plans block, when the caller may read plans.
    pub plans: Option<super::treatment_plans::PatientPlans>,
    /// The cat's documents, for who may read the record.
    pub documents: Option<super::documents::DocumentsBlock>,
    /// The cat's consent forms, for who may read them.
    pub consent_forms: Option<Vec<super::documents::ConsentFormRow>>,
}

/// The medical record's part of a cat's page.
#[derive(Debug, Clone, Default)]
pub struct ClinicalSection {
    pub weight: Option<super::charts::Chart>,
    pub bcs: Option<super::charts::Chart>,
    /// When the latest vitals were taken, in the clinic's zone.
    pub latest_at: Option<String>,
    /// The latest vitals, one measurement a line.
    pub latest: Vec<String>,
    /// The latest vitals' values outside the normal feline range, with the range.
    pub flags: Vec<String>,
}

impl ClinicalSection {
    /// From a cat's vitals (any order; the charts use every one with a value, the latest
    /// lines the newest taken).
    pub fn new(vitals: &[Vitals], tz: &jiff::tz::TimeZone) -> ClinicalSection {
        ClinicalSection::drawn(
            vitals.iter().filter_map(|v| Some((v.taken_at, v.measurements.weight_kg?))).collect(),
            vitals.iter().filter_map(|v| Some((v.taken_at, f64::from(v.measurements.bcs?.score)))).collect(),
            vitals.iter().max_by_key(|v| v.taken_at),
            tz,
        )
    }

    /// From a chart read in one go (`GET /api/patients/{id}/chart`): its trends, already
    /// thinned to what the charts draw, and its latest vitals.
    pub fn of_chart(chart: &clowder_schemas::chart::PatientChart, tz: &jiff::tz::TimeZone) -> ClinicalSection {
        ClinicalSection::drawn(
            chart.weights.iter().map(|w| (w.taken_at, w.weight_kg)).collect(),
            chart.bcs.iter().map(|b| (b.taken_at, f64::from(b.score))).collect(),
            chart.latest_vitals.iter().max_by_key(|v| v.taken_at),
            tz,
        )
    }

    fn drawn(
        weights: Vec<(jiff::Timestamp, f64)>,
        bcs: Vec<(jiff::Timestamp, f64)>,
        newest: Option<&Vitals>,
        tz: &jiff::tz::TimeZone,
    ) -> ClinicalSection {
        use super::charts::{Series, line_chart};
        let weight = line_chart(
            Series {
                id: "weight-chart",
                title: "Weight",
                unit: "kg",
                points: weights,
                y_axis: None,
                band: None,
                decimals: 2,
                marks: Vec::new(),
            },
            tz,
        );
        let bcs = line_chart(
            Series {
                id: "bcs-chart",
                title: "Body condition score (1–9, 5 ideal)",
                unit: "/9",
                points: bcs,
                y_axis: Some((1.0, 9.0)),
                band: Some((4.0, 5.0)),
                decimals: 0,
                marks: Vec::new(),
            },
            tz,
        );
        let Some(newest) = newest else {
            return ClinicalSection { weight, bcs, ..ClinicalSection::default() };
        };
        ClinicalSection {
            weight,
            bcs,
            latest_at: Some(newest.taken_at.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M").to_string()),
            latest: measurement_lines(&newest.measurements),
            flags: newest.flags.iter().map(|f| f.message.clone()).collect(),
        }
    }
}

/// A vitals record's measurements, one labelled line each.
pub fn measurement_lines(m: &Measurements) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(t) = m.temperature_c {
        out.push(format!("Temperature {t} °C"));
    }
    if let Some(w) = m.weight_kg {
        let entered = match m.weight_entered {
            Some(e) if e.unit != WeightUnit::Kg => format!(" ({} {} entered)", e.value, weight_unit(e.unit)),
            _ => String::new(),
        };
        out.push(format!("Weight {w} kg{entered}"));
    }
    if let Some(h) = m.heart_rate {
        out.push(format!("Heart rate {h}/min"));
    }
    if let Some(r) = m.respiratory_rate {
        out.push(format!("Respiratory rate {r}/min"));
    }
    if let Some(bp) = m.blood_pressure {
        let d = bp.diastolic.map(|d| format!("/{d}")).unwrap_or_default();
        out.push(format!("Blood pressure {}{d} mmHg", bp.systolic));
    }
    if let Some(c) = m.crt_s {
        out.push(format!("CRT {c} s"));
    }
    if let Some(b) = m.bcs {
        let entered = if b.entered_scale != 9 {
            format!(" ({}/{} entered)", b.entered_score, b.entered_scale)
        } else {
            String::new()
        };
        out.push(format!("BCS {}/9{entered}", b.score));
    }
    if let Some(p) = m.pain {
        out.push(format!("Pain {p}/10"));
    }
    if let Some(g) = m.fgs {
        out.push(format!("Feline Grimace Scale {}/10", g.total));
    }
    if let Some(f) = m.fas {
        out.push(format!("Fear Free FAS {}", f.score));
    }
    out
}

fn weight_unit(u: WeightUnit) -> &'static str {
    match u {
        WeightUnit::Kg => "kg",
        WeightUnit::Lb => "lb",
        WeightUnit::G => "g",
    }
}

/// A problem as one line of the banner's active problem list.
pub fn problem_line(p: &Problem) -> String {
    let mut detail = Vec::new();
    if p.status == ProblemStatus::Chronic {
        detail.push("chronic");
    }
    match p.kind {
        ProblemType::Primary => {}
        ProblemType::Differential => detail.push("differential"),
        ProblemType::RuleOut => detail.push("rule-out"),
    }
    match p.severity {
        None => {}
        Some(Severity::Mild) => detail.push("mild"),
        Some(Severity::Moderate) => detail.push("moderate"),
        Some(Severity::Severe) => detail.push("severe"),
    }
    if detail.is_empty() { p.name.clone() } else { format!("{} ({})", p.name, detail.join(", ")) }
}

impl PatientPage {
    /// `owner` is the owner's record when the caller may read it (its alerts join the
    /// banner and its name the owner link).
    pub fn new(nav: Nav, p: &Patient, owner: Option<&Client>, today: Date) -> PatientPage {
        let mut alerts: Vec<String> = p.allergies.iter().map(|a| format!("Allergy: {a}")).collect();
        if let Some(o) = owner {
            alerts.extend(o.alerts.iter().map(|a| format!("Owner: {a}")));
        }
        let h = &p.handling;
        let level = |name: &str, l: Level| level_label(l).map(|l| format!("{name}: {l}"));
        let handling: Vec<String> = [
            level("Aggression", h.aggression),
            level("Fear/anxiety", h.fear_anxiety),
            level("Handling", h.handling_difficulty),
            h.muzzle.then(|| "Muzzle".to_owned()),
            h.towel_wrap.then(|| "Towel wrap".to_owned()),
            h.preferred_restraint.as_ref().map(|r| format!("Restraint: {r}")),
            h.sedation_history.as_ref().map(|s| format!("Sedation: {s}")),
            h.staff_safety_notes.as_ref().map(|s| format!("Safety: {s}")),
            p.behavior_notes.as_ref().map(|b| format!("Behaviour: {b}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        let owner_link = match owner {
            Some(o) => Fact::link("Owner", o.display_name(), client_href(&o.id)),
            None => Fact::link("Owner", "Owner", client_href(&p.client_id)),
        };
        let mut facts = vec![owner_link];
        let opt = |term, v: &Option<String>| v.as_ref().map(|v| Fact::text(term, v));
        facts.extend(opt("Breed", &p.breed));
        facts.extend(opt("Colour", &p.color));
        let sex = [p.sex.map(sex_label), p.reproductive_status.map(repro_label)]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ");
        if !sex.is_empty() {
            facts.push(Fact::text("Sex", sex));
        }
        if let Some(dob) = p.date_of_birth {
            let estimated = if p.date_of_birth_estimated { " (estimated)" } else { "" };
            facts.push(Fact::text("Born", format!("{dob}{estimated} · {}", age(dob, today))));
        }
        if let Some(d) = p.deceased_on {
            facts.push(Fact::text("Died", d.to_string()));
        }
        if let Some(m) = &p.microchip {
            facts.push(Fact::text("Microchip", m.as_str()));
        }
        facts.extend(opt("Insurance", &p.insurance));
        PatientPage {
            nav,
            name: p.name.clone(),
            status: Status::of_patient(p.status),
            alerts,
            handling,
            facts,
            problems: Vec::new(),
            clinical: None,
            new_estimate: None,
            labs: None,
            plans: None,
            documents: None,
            consent_forms: None,
        }
    }
}

pub fn contact_label(c: PreferredContact) -> &'static str {
    match c {
        PreferredContact::Email => "Email",
        PreferredContact::Sms => "Text message",
        PreferredContact::Phone => "Phone",
    }
}

pub fn sex_label(s: Sex) -> &'static str {
    match s {
        Sex::Male => "Male",
        Sex::Female => "Female",
    }
}

pub fn repro_label(r: ReproductiveStatus) -> &'static str {
    match r {
        ReproductiveStatus::Intact => "intact",
        ReproductiveStatus::Spayed => "spayed",
        ReproductiveStatus::Neutered => "neutered",
    }
}

/// A handling level worth a warning, or `None` for none.
pub fn level_label(l: Level) -> Option<&'static str> {
    match l {
        Level::None => None,
        Level::Mild => Some("mild"),
        Level::Moderate => Some("moderate"),
        Level::Severe => Some("severe"),
    }
}

/// "7 months", "3 years": whole months under a year, whole years after.
pub fn age(born: Date, today: Date) -> String {
    let mut months =
        (i32::from(today.year()) - i32::from(born.year())) * 12 + (i32::from(today.month()) - i32::from(born.month()));
    if today.day() < born.day() {
        months -= 1;
    }
    let months = months.max(0);
    match months {
        1 => "1 month".to_owned(),
        m if m < 12 => format!("{m} months"),
        m if m < 24 => "1 year".to_owned(),
        m => format!("{} years", m / 12),
    }
}
