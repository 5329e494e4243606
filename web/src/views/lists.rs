//! The Clients and Cats list screens (`/clients`, `/patients`): a name filter that updates
//! as it is typed, a status filter, and pages by cursor. The results are a fragment of their
//! own (`ListResults`), answered alone when the page's script asks for it (`HX-Request`),
//! so the same handler and the same template serve the first load and every filter change.

use askama::Template;
use clowder_schemas::clients::Client;
use clowder_schemas::patients::Patient;

use super::Nav;
use super::records::{Status, client_href, patient_href, repro_label, sex_label};

/// Which list: its address, title and status choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Clients,
    Cats,
}

impl ListKind {
    pub fn path(self) -> &'static str {
        match self {
            ListKind::Clients => "/clients",
            ListKind::Cats => "/patients",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ListKind::Clients => "Clients",
            ListKind::Cats => "Cats",
        }
    }

    /// The status filter's choices (value, label); the first is the default.
    pub fn statuses(self) -> &'static [(&'static str, &'static str)] {
        match self {
            ListKind::Clients => &[("active", "Active"), ("inactive", "Inactive"), ("all", "All")],
            ListKind::Cats => {
                &[("active", "Active"), ("inactive", "Inactive"), ("deceased", "Deceased"), ("all", "All")]
            }
        }
    }

    /// What the rows' second and third columns say.
    pub fn columns(self) -> (&'static str, &'static str) {
        match self {
            ListKind::Clients => ("Phone", "Email"),
            ListKind::Cats => ("Breed", "Sex"),
        }
    }
}

/// The filter as the page shows it (and as the address carries it).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// The name fragment as typed.
    pub name: String,
    /// One of the kind's status values.
    pub status: String,
}

impl Filter {
    /// The address of this filter's list, from `cursor` on (none: the first page). Only
    /// what differs from the defaults is in it, so a bookmark stays short.
    pub fn href(&self, kind: ListKind, cursor: Option<&str>) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if !self.name.trim().is_empty() {
            q.append_pair("name", self.name.trim());
        }
        if self.status != kind.statuses()[0].0 {
            q.append_pair("status", &self.status);
        }
        if let Some(c) = cursor {
            q.append_pair("cursor", c);
        }
        let q = q.finish();
        if q.is_empty() { kind.path().to_owned() } else { format!("{}?{q}", kind.path()) }
    }
}

/// One row of a list.
#[derive(Debug, Clone)]
pub struct Row {
    pub href: String,
    pub name: String,
    pub second: String,
    pub third: String,
    pub status: Status,
    /// Shown in red beside the name (a client's alerts, a cat's allergies).
    pub alerts: Vec<String>,
}

impl Row {
    pub fn client(c: &Client) -> Row {
        Row {
            href: client_href(&c.id),
            name: c.display_name(),
            second: c.phone.as_str().to_owned(),
            third: c.email.as_ref().map(|e| e.as_str().to_owned()).unwrap_or_default(),
            status: Status::of_client(c),
            alerts: c.alerts.clone(),
        }
    }

    pub fn cat(p: &Patient) -> Row {
        let sex = [p.sex.map(sex_label), p.reproductive_status.map(repro_label)]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ");
        Row {
            href: patient_href(&p.id),
            name: p.name.clone(),
            second: p.breed.clone().unwrap_or_default(),
            third: sex,
            status: Status::of_patient(p.status),
            alerts: p.allergies.iter().map(|a| format!("Allergy: {a}")).collect(),
        }
    }
}

/// The results of a list: rows and the links to the first and next pages.
#[derive(Debug, Clone)]
pub struct Results {
    pub kind: ListKind,
    pub rows: Vec<Row>,
    /// "Next page", when more remain.
    pub next_href: Option<String>,
    /// "First page", when this is not the first.
    pub first_href: Option<String>,
}

impl Results {
    pub fn new(kind: ListKind, filter: &Filter, rows: Vec<Row>, cursor: Option<&str>, next: Option<&str>) -> Results {
        Results {
            kind,
            rows,
            next_href: next.map(|n| filter.href(kind, Some(n))),
            first_href: cursor.map(|_| filter.href(kind, None)),
        }
    }
}

/// The whole list page.
#[derive(Template)]
#[template(path = "list.html")]
pub struct ListPage {
    pub nav: Nav,
    pub filter: Filter,
    pub results: Results,
}

/// The results alone, for the page's filter script.
#[derive(Template)]
#[template(path = "list_results.html")]
pub struct ListResults {
    pub results: Results,
}
