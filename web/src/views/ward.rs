//! The ward screens: the list of wards (`/wards`), a ward's live board for staff
//! (`/wards/{id}`, tablet-sized, with Done and Skip on each slot for who may treat) and its
//! read-only wall-TV display (`/wards/{id}/display`: large type, no controls, the cats'
//! names only, never an owner's contact details). `ward.js` keeps both live over `/ws`.

use askama::Template;
use clowder_schemas::wards::{BoardSlot, Ward, WardBoard};
use jiff::tz::TimeZone;

use super::Nav;

/// One slot as shown: its time, what it is, and the data a Done or Skip button posts.
#[derive(Debug, Clone)]
pub struct SlotCell {
    pub admission: String,
    pub treatment: String,
    /// The due instant as sent back (RFC 3339).
    pub due: String,
    /// "14:00".
    pub time: String,
    pub label: String,
    pub overdue: bool,
}

/// A cat in its cage.
#[derive(Debug, Clone)]
pub struct CatCard {
    pub name: String,
    pub reason: String,
    /// Due and not marked, oldest first (overdue ones flagged).
    pub pending: Vec<SlotCell>,
    pub next: Vec<SlotCell>,
}

/// A cage: empty or with its cat.
#[derive(Debug, Clone)]
pub struct CageCard {
    pub cage: String,
    pub cat: Option<CatCard>,
}

/// The board's grid, the part `ward.js` swaps when the ward changes.
#[derive(Debug, Clone)]
pub struct Grid {
    pub id: String,
    pub name: String,
    /// The wall display: no buttons.
    pub tv: bool,
    /// Done and Skip shown (the caller may `POST /api/admissions/{id}/slots`), never on the TV.
    pub can_treat: bool,
    /// "3 overdue" or "Nothing overdue".
    pub overdue: String,
    pub overdue_count: usize,
    /// "Updated 14:02".
    pub updated: String,
    pub cages: Vec<CageCard>,
}

impl Grid {
    pub fn new(board: &WardBoard, tv: bool, can_treat: bool, tz: &TimeZone) -> Grid {
        let cell = |admission: &str, s: &BoardSlot| SlotCell {
            admission: admission.to_owned(),
            treatment: s.treatment_id.to_string(),
            due: s.due.to_string(),
            time: s.due_local.clone(),
            label: s.label.clone(),
            overdue: s.overdue,
        };
        let cages = board
            .cages
            .iter()
            .map(|c| CageCard {
                cage: c.cage.clone(),
                cat: c.admission.as_ref().map(|a| {
                    let id = a.admission_id.to_string();
                    CatCard {
                        name: a.patient_name.clone(),
                        reason: a.reason.clone(),
                        pending: a.pending.iter().map(|s| cell(&id, s)).collect(),
                        next: a.next.iter().map(|s| cell(&id, s)).collect(),
                    }
                }),
            })
            .collect();
        Grid {
            id: board.ward_id.to_string(),
            name: board.name.clone(),
            tv,
            can_treat: can_treat && !tv,
            overdue: match board.overdue_count {
                0 => "Nothing overdue".to_owned(),
                n => format!("{n} overdue"),
            },
            overdue_count: board.overdue_count,
            updated: format!("Updated {}", board.at.to_zoned(tz.clone()).strftime("%H:%M")),
            cages,
        }
    }
}

/// `/wards/{id}` and `/wards/{id}/display`.
#[derive(Template)]
#[template(path = "ward.html")]
pub struct WardPage {
    pub nav: Nav,
    pub grid: Grid,
    /// The ward's shared tablet: Done and Skip ask the nurse's username and PIN.
    pub tablet: bool,
}

/// The grid alone (the page's script asks for it with `HX-Request`).
#[derive(Template)]
#[template(path = "ward_grid.html")]
pub struct WardGridPart {
    pub grid: Grid,
}

/// A ward in the list.
#[derive(Debug, Clone)]
pub struct WardRow {
    pub href: String,
    pub display_href: String,
    pub name: String,
    pub cages: usize,
}

/// `/wards`.
#[derive(Template)]
#[template(path = "wards.html")]
pub struct WardsPage {
    pub nav: Nav,
    pub wards: Vec<WardRow>,
}

impl WardRow {
    pub fn of(w: &Ward) -> WardRow {
        WardRow {
            href: format!("/wards/{}", w.id),
            display_href: format!("/wards/{}/display", w.id),
            name: w.name.clone(),
            cages: w.cages.len(),
        }
    }
}
