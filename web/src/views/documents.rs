//! The record's documents and consent forms on the client and cat pages: the documents block
//! (category, tags, size, who and when, a download link through the audited content route,
//! "Show more" beyond the newest few, and the upload form for who may file one) and the cat
//! page's consent forms (template, visit, status, the signed PDF or the way to sign). Labels
//! and links are decided here; `documents.js` posts the upload and asks for more rows.

use askama::Template;
use clowder_schemas::consent_forms::{ConsentForm, ConsentStatus};
use clowder_schemas::documents::{Document, DocumentCategory};
use jiff::tz::TimeZone;

use super::consents::status_label;
use super::visits::when;

/// Documents shown before "Show more".
pub const NEWEST: usize = 10;

/// "Lab report", "Imaging".
pub fn category_label(c: DocumentCategory) -> &'static str {
    match c {
        DocumentCategory::LabReport => "Lab report",
        DocumentCategory::Imaging => "Imaging",
        DocumentCategory::Referral => "Referral",
        DocumentCategory::Consent => "Consent",
        DocumentCategory::Insurance => "Insurance",
        DocumentCategory::Other => "Other",
    }
}

/// "812 bytes", "14.2 KB", "3.1 MB" (decimal units, as file managers show them).
pub fn size_label(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} bytes"),
        1_000..1_000_000 => format!("{:.1} KB", bytes as f64 / 1e3),
        _ => format!("{:.1} MB", bytes as f64 / 1e6),
    }
}

/// One document of the list.
#[derive(Debug, Clone)]
pub struct DocumentRow {
    pub id: String,
    pub file_name: String,
    /// The audited download route, for who may read the content.
    pub href: Option<String>,
    pub category: &'static str,
    pub tags: String,
    pub size: String,
    /// "Ben Vet, 5 Mar 2026 14:02".
    pub added: String,
    /// The cat it is filed for (on the client page), with its page.
    pub cat: Option<(String, String)>,
}

impl DocumentRow {
    pub fn of(
        d: &Document,
        who: &str,
        cat: Option<(String, String)>,
        may_download: bool,
        tz: &TimeZone,
    ) -> DocumentRow {
        DocumentRow {
            id: d.id.to_string(),
            file_name: d.file_name.clone(),
            href: may_download.then(|| format!("/api/documents/{}/content", d.id)),
            category: category_label(d.category),
            tags: d.tags.join(", "),
            size: size_label(d.size),
            added: format!("{who}, {}", when(d.created_at, tz)),
            cat,
        }
    }
}

/// The rows of one page and the link to the next.
#[derive(Debug, Clone)]
pub struct DocumentRows {
    pub rows: Vec<DocumentRow>,
    /// The client page shows which cat each document is for.
    pub show_cat: bool,
    /// `/documents/rows?…&cursor=…` when there are older ones.
    pub more_href: Option<String>,
}

/// The documents block of a client's or a cat's page.
#[derive(Debug, Clone)]
pub struct DocumentsBlock {
    /// `client_id` or `patient_id`: what the upload form and "Show more" name.
    pub owner_field: &'static str,
    pub owner_id: String,
    pub list: DocumentRows,
    /// The upload form shows for who may file a document.
    pub can_upload: bool,
    /// The categories offered by the form: wire name and label.
    pub categories: Vec<(&'static str, &'static str)>,
}

impl DocumentsBlock {
    pub fn new(owner_field: &'static str, owner_id: String, list: DocumentRows, can_upload: bool) -> DocumentsBlock {
        let categories = DocumentCategory::ALL.into_iter().map(|c| (c.as_str(), category_label(c))).collect();
        DocumentsBlock { owner_field, owner_id, list, can_upload, categories }
    }
}

/// One more page of the block's rows, answered alone for "Show more" and after an upload
/// (`/documents/rows`).
#[derive(Template, Debug, Clone)]
#[template(path = "record_documents_more.html")]
pub struct DocumentRowsPage {
    pub documents: DocumentsBlock,
}

/// One consent form on the cat page.
#[derive(Debug, Clone)]
pub struct ConsentFormRow {
    /// The form's title (the template's at the time it was made).
    pub title: String,
    pub status: &'static str,
    pub status_key: &'static str,
    /// The visit it was made for, and when.
    pub visit_href: String,
    pub made: String,
    /// The signed PDF, for who may download documents.
    pub pdf_href: Option<String>,
    /// A draft's signing page ("Sign" for who may sign, "Open" otherwise).
    pub sign_href: Option<String>,
    pub sign_label: &'static str,
}

impl ConsentFormRow {
    pub fn of(f: &ConsentForm, may_download: bool, may_sign: bool, tz: &TimeZone) -> ConsentFormRow {
        let status_key = match f.status {
            ConsentStatus::Draft => "draft",
            ConsentStatus::Signed => "signed",
            ConsentStatus::Voided => "voided",
        };
        ConsentFormRow {
            title: f.title.clone(),
            status: status_label(f.status),
            status_key,
            visit_href: format!("/visits/{}", f.visit_id),
            made: when(f.created_at, tz),
            pdf_href: f
                .signature
                .as_ref()
                .filter(|_| may_download)
                .map(|s| format!("/api/documents/{}/content", s.document_id)),
            sign_href: (f.status == ConsentStatus::Draft).then(|| format!("/consents/{}/sign", f.id)),
            sign_label: if may_sign { "Sign" } else { "Open" },
        }
    }
}
