//! The consent screens: the tablet signing page (`/consents/{id}/sign`: the frozen text, the
//! signer's name and relationship, a canvas to draw on, Clear and Sign; a signed form read-only
//! with its PDF) and the visit page's consent block (its forms, and a form to start one from a
//! template, with the estimate a treatment-estimate template needs).

use askama::Template;
use clowder_schemas::consent_forms::{ConsentForm, ConsentKind, ConsentStatus, ConsentTemplate, SignerRelationship};
use clowder_schemas::estimates::Estimate;
use jiff::tz::TimeZone;

use super::Nav;
use super::visits::when;

/// "Draft", "Signed", "Voided".
pub fn status_label(s: ConsentStatus) -> &'static str {
    match s {
        ConsentStatus::Draft => "Draft",
        ConsentStatus::Signed => "Signed",
        ConsentStatus::Voided => "Voided",
    }
}

fn relationship_label(r: SignerRelationship) -> &'static str {
    match r {
        SignerRelationship::Owner => "owner",
        SignerRelationship::Agent => "agent of the owner",
    }
}

/// `/consents/{id}/sign`.
#[derive(Template)]
#[template(path = "consent_sign.html")]
pub struct ConsentSignPage {
    pub nav: Nav,
    pub id: String,
    pub title: String,
    /// The frozen text the signer agrees to (shown with its line breaks, escaped).
    pub text: String,
    pub status: &'static str,
    pub visit_href: String,
    /// "Signed 5 Mar 2026 14:02 by Jon Smith (owner), witnessed by Ben Vet".
    pub signed: Option<String>,
    /// The signed PDF's address, for who may download documents.
    pub pdf_href: Option<String>,
    pub void_reason: Option<String>,
    /// The drawing form shows only on a draft, to a caller whose signing would be allowed.
    pub can_sign: bool,
    /// The owner's name, offered as the signer's.
    pub owner_name: String,
}

impl ConsentSignPage {
    pub fn new(
        nav: Nav,
        form: &ConsentForm,
        may_sign: bool,
        pdf_href: Option<String>,
        owner_name: String,
        tz: &TimeZone,
    ) -> ConsentSignPage {
        let signed = form.signature.as_ref().map(|s| {
            format!(
                "Signed {} by {} ({}), witnessed by {}",
                when(s.signed_at, tz),
                s.signer_name,
                relationship_label(s.relationship),
                s.witness_name
            )
        });
        ConsentSignPage {
            nav,
            id: form.id.to_string(),
            title: form.title.clone(),
            text: form.text.clone(),
            status: status_label(form.status),
            visit_href: format!("/visits/{}", form.visit_id),
            signed,
            pdf_href: pdf_href.filter(|_| form.signature.is_some()),
            void_reason: form.void_reason.clone(),
            can_sign: may_sign && form.status == ConsentStatus::Draft,
            owner_name,
        }
    }
}

/// One consent form on the visit page.
#[derive(Debug, Clone)]
pub struct ConsentRow {
    pub title: String,
    pub status: &'static str,
    pub href: String,
}

impl ConsentRow {
    pub fn of(form: &ConsentForm) -> ConsentRow {
        ConsentRow {
            title: form.title.clone(),
            status: status_label(form.status),
            href: format!("/consents/{}/sign", form.id),
        }
    }
}

/// A template offered for a new form.
#[derive(Debug, Clone)]
pub struct TemplateChoice {
    pub id: String,
    pub title: String,
    /// A treatment-estimate template: the form asks for an estimate.
    pub needs_estimate: bool,
}

/// An estimate of the visit's cat offered for a treatment-estimate form.
#[derive(Debug, Clone)]
pub struct EstimateChoice {
    pub id: String,
    /// "EST-2026-000012 (sent)" or "Draft estimate".
    pub label: String,
}

/// The form starting a consent from the visit page (for who may make one).
#[derive(Debug, Clone, Default)]
pub struct ConsentStarter {
    pub templates: Vec<TemplateChoice>,
    pub estimates: Vec<EstimateChoice>,
}

impl ConsentStarter {
    /// The active templates, and the estimates of the cat that are not declined, expired or void.
    pub fn new(templates: &[ConsentTemplate], estimates: &[Estimate]) -> ConsentStarter {
        use clowder_schemas::estimates::EstimateStatus;
        ConsentStarter {
            templates: templates
                .iter()
                .filter(|t| t.active)
                .map(|t| TemplateChoice {
                    id: t.id.to_string(),
                    title: t.title.clone(),
                    needs_estimate: t.kind == ConsentKind::TreatmentEstimate,
                })
                .collect(),
            estimates: estimates
                .iter()
                .filter(|e| {
                    matches!(
                        e.status,
                        EstimateStatus::Draft
                            | EstimateStatus::Sent
                            | EstimateStatus::Viewed
                            | EstimateStatus::Accepted
                    )
                })
                .map(|e| {
                    let status = super::estimates::estimate_status(e.status).to_lowercase();
                    let label = match &e.number {
                        Some(n) => format!("{n} ({status})"),
                        None => "Draft estimate".to_owned(),
                    };
                    EstimateChoice { id: e.id.to_string(), label }
                })
                .collect(),
        }
    }
}
