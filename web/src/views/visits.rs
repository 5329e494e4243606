//! The visit page (`/visits/{id}`): the visit's facts, its SOAP note read-only (the draft
//! while it is written, the signed note with its signature after) and its addenda, each with
//! its author and time; a Sign button for those who may sign (the script only sends the
//! click, the page decides whether it shows).

use askama::Template;
use clowder_schemas::notes::{Note, NoteView, Soap};
use clowder_schemas::visits::{Visit, VisitStatus, VisitType};
use jiff::tz::TimeZone;

use super::Nav;
use super::records::{Fact, patient_href};

/// One section of the note: its heading and text (kept as typed, shown with its line
/// breaks).
#[derive(Debug, Clone)]
pub struct Section {
    pub heading: &'static str,
    pub text: String,
}

/// One addendum as shown.
#[derive(Debug, Clone)]
pub struct AddendumRow {
    pub number: u32,
    pub text: String,
    /// "Signed 5 Mar 2026 14:02 by Dr. Ana Lee" (the signer's staff name).
    pub signed: String,
}

/// A signed note's state line ("Signed … by …") and its addenda as shown: the visit page and
/// the tablet's note editor say them alike.
pub fn signed_lines(
    n: &Note,
    name: &impl Fn(clowder_schemas::UserId) -> String,
    tz: &TimeZone,
) -> (String, Vec<AddendumRow>) {
    let addenda = n
        .addenda
        .iter()
        .map(|a| AddendumRow {
            number: a.number,
            text: a.text.clone(),
            signed: format!("Signed {} by {}", when(a.signed_at, tz), name(a.author)),
        })
        .collect();
    (format!("Signed {} by {}", when(n.signed_at, tz), name(n.signed_by)), addenda)
}

/// `/visits/{id}`.
#[derive(Template)]
#[template(path = "visit.html")]
pub struct VisitPage {
    pub nav: Nav,
    pub id: String,
    /// "Sick visit".
    pub title: String,
    pub status: &'static str,
    pub facts: Vec<Fact>,
    /// "Draft (not signed)" or "Signed 5 Mar 2026 14:02".
    pub note_state: String,
    pub signed: bool,
    pub sections: Vec<Section>,
    pub signature: Option<String>,
    pub addenda: Vec<AddendumRow>,
    /// Shown only to a caller whose `POST …/note/sign` would be allowed, on an unsigned note
    /// of a visit that is not voided.
    pub can_sign: bool,
    /// The draft revision shown (sent with the signing, so nobody signs text they did not see).
    pub revision: u64,
    /// The address of a new estimate from this visit, when the caller may start one.
    pub new_estimate: Option<String>,
    /// Its lab orders and the order form, for a reader of labs.
    pub labs: Option<super::labs::VisitLabs>,
    /// The visit's consent forms, each linked to its signing page.
    pub consents: Vec<super::consents::ConsentRow>,
    /// The form starting a consent, for who may make one.
    pub consent_starter: Option<super::consents::ConsentStarter>,
}

pub fn type_label(t: VisitType) -> &'static str {
    match t {
        VisitType::Wellness => "Wellness visit",
        VisitType::Sick => "Sick visit",
        VisitType::Emergency => "Emergency visit",
        VisitType::FollowUp => "Follow-up visit",
        VisitType::Surgery => "Surgery",
        VisitType::Dental => "Dental visit",
        VisitType::Other => "Visit",
    }
}

fn status_label(s: VisitStatus) -> &'static str {
    match s {
        VisitStatus::Open => "Open",
        VisitStatus::Completed => "Completed",
        VisitStatus::Voided => "Voided",
    }
}

pub fn when(t: jiff::Timestamp, tz: &TimeZone) -> String {
    t.to_zoned(tz.clone()).strftime("%-d %b %Y %H:%M").to_string()
}

fn sections(soap: &Soap) -> Vec<Section> {
    [
        ("Subjective", &soap.subjective),
        ("Objective", &soap.objective),
        ("Assessment", &soap.assessment),
        ("Plan", &soap.plan),
    ]
    .into_iter()
    .map(|(heading, text)| Section { heading, text: text.clone() })
    .collect()
}

impl VisitPage {
    /// `may_sign`: the caller's signing route would be allowed (the page does not show a
    /// button that would be refused by the access check). `name` gives a signer's name.
    pub fn new(
        nav: Nav,
        visit: &Visit,
        note: &NoteView,
        may_sign: bool,
        name: impl Fn(clowder_schemas::UserId) -> String,
        tz: &TimeZone,
    ) -> VisitPage {
        let mut facts = vec![
            Fact::link_to("Cat", "Open the cat's record", patient_href(&visit.patient_id)),
            Fact::text_of("Opened", when(visit.opened_at, tz)),
        ];
        if let Some(c) = &visit.chief_complaint {
            facts.push(Fact::text_of("Chief complaint", c.clone()));
        }
        if let Some(t) = visit.completed_at {
            facts.push(Fact::text_of("Completed", when(t, tz)));
        }
        if let Some(r) = &visit.void_reason {
            facts.push(Fact::text_of("Voided because", r.clone()));
        }
        let (note_state, soap, signature, addenda, revision) = match (&note.note, &note.draft) {
            (Some(n), _) => {
                let (state, addenda) = signed_lines(n, &name, tz);
                (state, n.soap.clone(), Some(n.signature.clone()), addenda, n.revision)
            }
            (None, Some(d)) => ("Draft (not signed)".to_owned(), d.soap.clone(), None, Vec::new(), d.revision),
            (None, None) => ("No note".to_owned(), Soap::default(), None, Vec::new(), 0),
        };
        let signed = note.note.is_some();
        VisitPage {
            nav,
            id: visit.id.to_string(),
            title: type_label(visit.visit_type).to_owned(),
            status: status_label(visit.status),
            facts,
            note_state,
            signed,
            sections: sections(&soap),
            signature,
            addenda,
            can_sign: may_sign && !signed && note.draft.is_some() && visit.status != VisitStatus::Voided,
            revision,
            new_estimate: None,
            labs: None,
            consents: Vec::new(),
            consent_starter: None,
        }
    }
}
