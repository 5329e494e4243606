//! The protocol screens: `/protocols` (the clinic's protocols with their version, steps and
//! whether they can be applied, and the built-in starters to copy) and the editor,
//! `/protocols/{id}` and `/protocols/new` (name, notes and the steps: kind, day offset, cost or
//! catalogue item, appointment type, duration, reminder lead; added, removed, reordered;
//! archive and restore). `protocols.js` sends the editor to the JSON API and shows its
//! refusals next to the field they name (`steps[2].day_offset`). Who may only read
//! (`protocols:view`) sees the same editor disabled, without its buttons.

use askama::Template;
use clowder_schemas::appointment_types::AppointmentType;
use clowder_schemas::catalogue::CatalogueItem;
use clowder_schemas::protocols::{CreateProtocol, Protocol, ProtocolStep, StepKind};

use super::Nav;
use super::treatment_plans::step_kind;

/// Every kind a step may have, in the order the editor offers them.
pub const KINDS: [StepKind; 7] = [
    StepKind::Exam,
    StepKind::Procedure,
    StepKind::Lab,
    StepKind::Vaccination,
    StepKind::Medication,
    StepKind::Recheck,
    StepKind::Other,
];

/// One protocol in the list.
#[derive(Debug, Clone)]
pub struct ProtocolRow {
    pub href: String,
    pub name: String,
    pub version: u32,
    pub steps: usize,
    pub status_key: &'static str,
    pub status: &'static str,
    pub estimated: String,
}

impl ProtocolRow {
    pub fn of(p: &Protocol) -> ProtocolRow {
        let (status_key, status) = if p.active { ("active", "Active") } else { ("archived", "Archived") };
        ProtocolRow {
            href: format!("/protocols/{}", p.id),
            name: p.name.clone(),
            version: p.version,
            steps: p.steps.len(),
            status_key,
            status,
            estimated: p.estimated_total().to_string(),
        }
    }
}

/// A built-in starter offered to copy.
#[derive(Debug, Clone)]
pub struct StarterRow {
    pub key: &'static str,
    pub name: String,
    pub steps: usize,
}

/// `/protocols`.
#[derive(Template)]
#[template(path = "protocols.html")]
pub struct ProtocolsPage {
    pub nav: Nav,
    pub rows: Vec<ProtocolRow>,
    /// Offered only to who may copy them (`protocols:manage`).
    pub starters: Vec<StarterRow>,
    pub can_manage: bool,
}

impl ProtocolsPage {
    pub fn new(
        nav: Nav,
        protocols: &[Protocol],
        starters: &[(&'static str, CreateProtocol)],
        can_manage: bool,
    ) -> Self {
        ProtocolsPage {
            nav,
            rows: protocols.iter().map(ProtocolRow::of).collect(),
            starters: if can_manage {
                starters.iter().map(|(key, p)| StarterRow { key, name: p.name.clone(), steps: p.steps.len() }).collect()
            } else {
                Vec::new()
            },
            can_manage,
        }
    }
}

/// One step row of the editor, as its inputs show it.
#[derive(Debug, Clone, Default)]
pub struct StepEdit {
    pub title: String,
    pub kind: &'static str,
    pub day_offset: String,
    /// The cost in the clinic's currency ("210.00").
    pub cost: String,
    pub catalogue_item_id: String,
    pub appointment_type_id: String,
    pub duration_minutes: String,
    pub reminder_lead_days: String,
}

impl StepEdit {
    pub fn of(s: &ProtocolStep) -> StepEdit {
        StepEdit {
            title: s.title.clone(),
            kind: s.kind.as_str(),
            day_offset: s.day_offset.to_string(),
            cost: s.cost.to_string(),
            catalogue_item_id: s.catalogue_item_id.map(|i| i.to_string()).unwrap_or_default(),
            appointment_type_id: s.appointment_type_id.map(|i| i.to_string()).unwrap_or_default(),
            duration_minutes: s.duration_minutes.map(|d| d.to_string()).unwrap_or_default(),
            reminder_lead_days: s.reminder_lead_days.map(|d| d.to_string()).unwrap_or_default(),
        }
    }

    /// The empty row a new protocol starts with (and `protocols.js` clones to add one).
    pub fn blank() -> StepEdit {
        StepEdit { kind: StepKind::Exam.as_str(), day_offset: "0".into(), ..StepEdit::default() }
    }
}

/// `/protocols/{id}` and `/protocols/new`.
#[derive(Template)]
#[template(path = "protocol.html")]
pub struct ProtocolEditor {
    pub nav: Nav,
    /// Empty for a new protocol.
    pub id: String,
    pub name: String,
    pub species_note: String,
    pub description: String,
    pub version: u32,
    pub active: bool,
    /// The starter it was copied from, in words ("" when none).
    pub starter: String,
    pub estimated: String,
    pub steps: Vec<StepEdit>,
    /// The row "Add a step" copies.
    pub blank: StepEdit,
    /// Every kind (value, label).
    pub kinds: Vec<(&'static str, &'static str)>,
    /// The active catalogue items (id, "name · price"), plus a retired one a step still names.
    pub items: Vec<(String, String)>,
    /// The active appointment types (id, "name · minutes").
    pub types: Vec<(String, String)>,
    /// Whether the inputs are enabled and save, add, remove, reorder and archive show.
    pub can_manage: bool,
}

impl ProtocolEditor {
    /// The editor of `protocol`, or of a new one when `None`.
    pub fn new(
        nav: Nav,
        protocol: Option<&Protocol>,
        items: &[CatalogueItem],
        types: &[AppointmentType],
        can_manage: bool,
    ) -> Self {
        let mut items: Vec<(String, String)> = items
            .iter()
            .filter(|i| i.active || protocol.is_some_and(|p| p.steps.iter().any(|s| s.catalogue_item_id == Some(i.id))))
            .map(|i| (i.id.to_string(), format!("{} · {}", i.name, i.price)))
            .collect();
        items.sort_by(|a, b| a.1.cmp(&b.1));
        ProtocolEditor {
            nav,
            id: protocol.map(|p| p.id.to_string()).unwrap_or_default(),
            name: protocol.map(|p| p.name.clone()).unwrap_or_default(),
            species_note: protocol.and_then(|p| p.species_note.clone()).unwrap_or_default(),
            description: protocol.and_then(|p| p.description.clone()).unwrap_or_default(),
            version: protocol.map_or(0, |p| p.version),
            active: protocol.is_none_or(|p| p.active),
            starter: protocol.and_then(|p| p.starter.clone()).unwrap_or_default(),
            estimated: protocol.map(|p| p.estimated_total().to_string()).unwrap_or_default(),
            steps: match protocol {
                Some(p) => p.steps.iter().map(StepEdit::of).collect(),
                None => vec![StepEdit::blank()],
            },
            blank: StepEdit::blank(),
            kinds: KINDS.iter().map(|k| (k.as_str(), step_kind(*k))).collect(),
            items,
            types: types
                .iter()
                .filter(|t| t.active)
                .map(|t| (t.id.to_string(), format!("{} · {} min", t.name, t.duration_minutes)))
                .collect(),
            can_manage,
        }
    }

    /// The page's title.
    pub fn title(&self) -> String {
        if self.id.is_empty() { "New protocol".to_owned() } else { self.name.clone() }
    }
}
