//! Documents on the medical record: files uploaded for a client, a cat or a visit (lab reports,
//! imaging, referrals, consent forms, insurance papers). The stored record (metadata only: the
//! bytes live under the data directory by their SHA-256), the upload's validated form, and the
//! pure rules of an upload: which file types are accepted (told by their content, never by
//! their name) and how a file name given by a browser is made safe to show and to offer again
//! in `Content-Disposition`.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::errors::ValidationError;
use crate::ids::{ClientId, DocumentId, PatientId, UserId, VisitId};
use crate::records::Record;
use crate::values::{MAX_NAME_CHARS, optional_text};

/// Longest file name kept (characters); longer names are cut, keeping the extension.
pub const MAX_FILE_NAME_CHARS: usize = 120;
/// Most tags on one document.
pub const MAX_TAGS: usize = 20;
/// Longest tag (characters).
pub const MAX_TAG_CHARS: usize = 40;
/// Bytes of a file's beginning that [`MediaType::detect`] needs to decide.
pub const SNIFF_BYTES: usize = 512;

/// What a document is, for filtering the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentCategory {
    LabReport,
    Imaging,
    Referral,
    Consent,
    Insurance,
    Other,
}

impl DocumentCategory {
    /// Every category, in display order.
    pub const ALL: [DocumentCategory; 6] = [
        DocumentCategory::LabReport,
        DocumentCategory::Imaging,
        DocumentCategory::Referral,
        DocumentCategory::Consent,
        DocumentCategory::Insurance,
        DocumentCategory::Other,
    ];

    /// The wire name (`lab_report`).
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentCategory::LabReport => "lab_report",
            DocumentCategory::Imaging => "imaging",
            DocumentCategory::Referral => "referral",
            DocumentCategory::Consent => "consent",
            DocumentCategory::Insurance => "insurance",
            DocumentCategory::Other => "other",
        }
    }

    /// The category with this wire name.
    pub fn parse(s: &str) -> Option<DocumentCategory> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// The accepted file types: what a clinic receives from labs, imaging and insurers, and that
/// a browser shows without running anything. Told from the first bytes (magic numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum MediaType {
    #[serde(rename = "application/pdf")]
    Pdf,
    #[serde(rename = "image/png")]
    Png,
    #[serde(rename = "image/jpeg")]
    Jpeg,
    #[serde(rename = "image/gif")]
    Gif,
    #[serde(rename = "image/webp")]
    Webp,
    #[serde(rename = "image/tiff")]
    Tiff,
    /// UTF-8 text without control characters (lab exports, CSV); never HTML or a script.
    #[serde(rename = "text/plain")]
    Text,
}

/// Why a file's content was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the file is an executable program ({0}), not a document")]
    Executable(&'static str),
    #[error("the file is {0}, which could run in a browser; upload a PDF or an image instead")]
    Active(&'static str),
    #[error("the file is empty")]
    Empty,
    #[error(
        "the file's content is not an accepted type (PDF, PNG, JPEG, GIF, WebP, TIFF or plain UTF-8 text), whatever its name says"
    )]
    Unknown,
}

impl MediaType {
    /// The `Content-Type` it is served with.
    pub fn content_type(self) -> &'static str {
        match self {
            MediaType::Pdf => "application/pdf",
            MediaType::Png => "image/png",
            MediaType::Jpeg => "image/jpeg",
            MediaType::Gif => "image/gif",
            MediaType::Webp => "image/webp",
            MediaType::Tiff => "image/tiff",
            MediaType::Text => "text/plain; charset=utf-8",
        }
    }

    /// The file extension matching the content (a name's own extension is not trusted).
    pub fn extension(self) -> &'static str {
        match self {
            MediaType::Pdf => "pdf",
            MediaType::Png => "png",
            MediaType::Jpeg => "jpg",
            MediaType::Gif => "gif",
            MediaType::Webp => "webp",
            MediaType::Tiff => "tif",
            MediaType::Text => "txt",
        }
    }

    /// The type of a file from its first bytes (at least [`SNIFF_BYTES`] of them, or the whole
    /// file if shorter). Executables, scripts and HTML/SVG are refused by name; anything
    /// else outside the list is refused as unknown.
    pub fn detect(head: &[u8]) -> Result<MediaType, Refused> {
        const EXECUTABLES: [(&[u8], &str); 7] = [
            (b"\x7fELF", "ELF"),
            (b"MZ", "Windows PE"),
            (b"\xcf\xfa\xed\xfe", "Mach-O"),
            (b"\xce\xfa\xed\xfe", "Mach-O"),
            (b"\xca\xfe\xba\xbe", "Mach-O or Java class"),
            (b"#!", "script"),
            (b"\0asm", "WebAssembly"),
        ];
        if head.is_empty() {
            return Err(Refused::Empty);
        }
        if let Some((_, what)) = EXECUTABLES.iter().find(|(magic, _)| head.starts_with(magic)) {
            return Err(Refused::Executable(what));
        }
        let found = if head.starts_with(b"%PDF-") {
            MediaType::Pdf
        } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
            MediaType::Png
        } else if head.starts_with(b"\xff\xd8\xff") {
            MediaType::Jpeg
        } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
            MediaType::Gif
        } else if head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP" {
            MediaType::Webp
        } else if head.starts_with(b"II*\0") || head.starts_with(b"MM\0*") {
            MediaType::Tiff
        } else {
            return text(head);
        };
        Ok(found)
    }
}

/// Plain text: valid UTF-8 (the head may cut the last character), no control characters
/// but tab, line breaks and form feed, and not markup a browser would run.
fn text(head: &[u8]) -> Result<MediaType, Refused> {
    let valid = match std::str::from_utf8(head) {
        Ok(s) => s,
        // A multi-byte character cut by the end of the head is fine; anything else is binary.
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default(),
        Err(_) => return Err(Refused::Unknown),
    };
    if valid.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c')) {
        return Err(Refused::Unknown);
    }
    let start = valid.trim_start_matches('\u{feff}').trim_start().to_ascii_lowercase();
    for (markup, what) in
        [("<!doctype", "HTML"), ("<html", "HTML"), ("<script", "HTML"), ("<svg", "SVG"), ("<?xml", "XML")]
    {
        if start.starts_with(markup) {
            return Err(Refused::Active(what));
        }
    }
    Ok(MediaType::Text)
}

/// A browser's file name made safe to show: only its last path component (`../../etc/passwd`
/// keeps `passwd`), without control or bidirectional-override characters, not starting with
/// a dot, at most [`MAX_FILE_NAME_CHARS`] (the extension kept). It is display metadata only:
/// the file is stored by its hash, never by this name. Empty → `document.<ext>`.
pub fn display_name(raw: Option<&str>, media: MediaType) -> String {
    let last = raw.unwrap_or_default().rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| {
            !c.is_control() && !matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
        })
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    if trimmed.is_empty() {
        return format!("document.{}", media.extension());
    }
    if trimmed.chars().count() <= MAX_FILE_NAME_CHARS {
        return trimmed.to_owned();
    }
    let (stem, ext) = match trimmed.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() && e.chars().count() <= 8 => (s, Some(e)),
        _ => (trimmed, None),
    };
    let keep = MAX_FILE_NAME_CHARS - ext.map_or(0, |e| e.chars().count() + 1);
    let stem: String = stem.chars().take(keep).collect();
    match ext {
        Some(e) => format!("{stem}.{e}"),
        None => stem,
    }
}

/// A `Content-Disposition` header value offering the file under its display name: an ASCII
/// fallback (`filename=`, quotes and backslashes replaced) and the UTF-8 name (`filename*=`,
/// RFC 8187 percent-encoding). `inline` lets a browser show a PDF or an image in place.
pub fn content_disposition(name: &str, inline: bool) -> String {
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    let how = if inline { "inline" } else { "attachment" };
    format!("{how}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// A stored document's metadata, as returned by the API. The content is at
/// `/api/documents/{id}/content`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Document {
    pub id: DocumentId,
    /// The client it is filed under (a cat's or visit's owner when uploaded for one).
    pub client_id: ClientId,
    pub patient_id: Option<PatientId>,
    pub visit_id: Option<VisitId>,
    pub category: DocumentCategory,
    pub tags: Vec<String>,
    /// The uploader's file name, cleaned ([`display_name`]); shown, never used as a path.
    pub file_name: String,
    /// Told from the content.
    pub media_type: MediaType,
    /// Bytes.
    pub size: u64,
    /// SHA-256 of the content, lowercase hex: where it is stored and how it is checked.
    pub sha256: String,
    /// False once deactivated: hidden from lists unless asked for, still readable.
    pub active: bool,
    pub deactivated_at: Option<Timestamp>,
    pub deactivated_reason: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: Option<UserId>,
}

impl Record for Document {
    const KIND: &'static str = "document";
    const VERSION: u16 = 1;
}

/// The text fields of an upload (`POST /api/documents`, `multipart/form-data`), as read from
/// the form before checking.
#[derive(Debug, Clone, Default)]
pub struct UploadForm {
    pub client_id: Option<String>,
    pub patient_id: Option<String>,
    pub visit_id: Option<String>,
    pub category: Option<String>,
    /// Comma-separated, or one field per tag.
    pub tags: Vec<String>,
}

/// The content as stored: its hash, length and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredContent {
    pub sha256: String,
    pub size: u64,
    pub media_type: MediaType,
}

/// The validated metadata of a new document (what it is linked to is checked against the
/// record when it is created).
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentDraft {
    pub client_id: Option<ClientId>,
    pub patient_id: Option<PatientId>,
    pub visit_id: Option<VisitId>,
    pub category: DocumentCategory,
    pub tags: Vec<String>,
    pub file_name: String,
    pub content: StoredContent,
}

fn id_field<T: std::str::FromStr>(field: &str, value: Option<&str>) -> Result<Option<T>, ValidationError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| ValidationError::new(field, "is not a valid id")),
    }
}

impl UploadForm {
    /// Checks the text fields: at least one of client, cat and visit; a known category; tags
    /// trimmed, de-duplicated, each one line of at most [`MAX_TAG_CHARS`].
    pub fn validate(&self, file_name: String, content: StoredContent) -> Result<DocumentDraft, ValidationError> {
        let client_id = id_field("client_id", self.client_id.as_deref())?;
        let patient_id = id_field("patient_id", self.patient_id.as_deref())?;
        let visit_id = id_field("visit_id", self.visit_id.as_deref())?;
        if client_id.is_none() && patient_id.is_none() && visit_id.is_none() {
            return Err(ValidationError::new("client_id", "name a client, a cat (patient_id) or a visit"));
        }
        let category = match self.category.as_deref().map(str::trim) {
            None | Some("") => return Err(ValidationError::new("category", "is required")),
            Some(c) => DocumentCategory::parse(c).ok_or_else(|| {
                ValidationError::new("category", "must be lab_report, imaging, referral, consent, insurance or other")
            })?,
        };
        let mut tags: Vec<String> = Vec::new();
        for tag in self.tags.iter().flat_map(|t| t.split(',')) {
            if let Some(t) = optional_text("tags", Some(tag), MAX_TAG_CHARS)?
                && !tags.contains(&t)
            {
                tags.push(t);
            }
        }
        if tags.len() > MAX_TAGS {
            return Err(ValidationError::new("tags", format!("at most {MAX_TAGS} tags")));
        }
        Ok(DocumentDraft { client_id, patient_id, visit_id, category, tags, file_name, content })
    }
}

impl DocumentDraft {
    /// The record, once the client it is filed under is known.
    pub fn into_document(self, id: DocumentId, client_id: ClientId, now: Timestamp, by: Option<UserId>) -> Document {
        Document {
            id,
            client_id,
            patient_id: self.patient_id,
            visit_id: self.visit_id,
            category: self.category,
            tags: self.tags,
            file_name: self.file_name,
            media_type: self.content.media_type,
            size: self.content.size,
            sha256: self.content.sha256,
            active: true,
            deactivated_at: None,
            deactivated_reason: None,
            created_at: now,
            updated_at: now,
            created_by: by,
        }
    }
}

/// Body of `POST /api/documents/{id}/deactivate`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeactivateDocument {
    #[serde(default)]
    pub reason: Option<String>,
}

impl DeactivateDocument {
    /// The reason, one line of at most [`MAX_NAME_CHARS`] characters.
    pub fn reason(&self) -> Result<Option<String>, ValidationError> {
        optional_text("reason", self.reason.as_deref(), MAX_NAME_CHARS)
    }
}

/// Query of `GET /api/documents`: one client's, cat's or visit's documents.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DocumentListQuery {
    pub client_id: Option<ClientId>,
    pub patient_id: Option<PatientId>,
    pub visit_id: Option<VisitId>,
    /// Only this category.
    pub category: Option<DocumentCategory>,
    /// Only documents with this tag.
    pub tag: Option<String>,
    /// Deactivated documents too (default false).
    #[serde(default)]
    pub include_inactive: bool,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_told_by_content_and_executables_are_refused_whatever_their_name() {
        assert_eq!(MediaType::detect(b"%PDF-1.7\n..."), Ok(MediaType::Pdf));
        assert_eq!(MediaType::detect(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Ok(MediaType::Png));
        assert_eq!(MediaType::detect(b"\xff\xd8\xff\xe0\0\x10JFIF"), Ok(MediaType::Jpeg));
        assert_eq!(MediaType::detect(b"RIFF\0\0\0\0WEBPVP8 "), Ok(MediaType::Webp));
        assert_eq!(MediaType::detect(b"II*\0\x08\0\0\0"), Ok(MediaType::Tiff));
        assert_eq!(MediaType::detect("analyte,value\nALT,42 U/L\nCréatinine,1.2\n".as_bytes()), Ok(MediaType::Text));
        assert_eq!(MediaType::detect(b"\x7fELF\x02\x01\x01\0"), Err(Refused::Executable("ELF")));
        assert_eq!(MediaType::detect(b"MZ\x90\0\x03\0"), Err(Refused::Executable("Windows PE")));
        assert_eq!(MediaType::detect(b"#!/bin/sh\nrm -rf /"), Err(Refused::Executable("script")));
        assert_eq!(MediaType::detect(b"  <!DOCTYPE html><script>"), Err(Refused::Active("HTML")));
        assert_eq!(MediaType::detect(b"<svg onload=alert(1)>"), Err(Refused::Active("SVG")));
        assert_eq!(MediaType::detect(b"\0\x01\x02binary"), Err(Refused::Unknown));
        assert_eq!(MediaType::detect(b""), Err(Refused::Empty));
        // A multi-byte character cut at the end of the sniffed head is still text.
        assert_eq!(MediaType::detect(&"é".as_bytes()[..1]), Ok(MediaType::Text));
    }

    #[test]
    fn a_file_name_keeps_only_its_last_component_without_controls() {
        assert_eq!(display_name(Some("../../etc/passwd"), MediaType::Text), "passwd");
        assert_eq!(display_name(Some("..\\..\\boot.ini"), MediaType::Text), "boot.ini");
        assert_eq!(display_name(Some("a\0b\r\n.pdf"), MediaType::Pdf), "ab.pdf");
        assert_eq!(display_name(Some("invoice\u{202e}fdp.exe"), MediaType::Pdf), "invoicefdp.exe");
        assert_eq!(display_name(Some("../.."), MediaType::Pdf), "document.pdf");
        assert_eq!(display_name(Some(".hidden"), MediaType::Png), "hidden");
        assert_eq!(display_name(None, MediaType::Jpeg), "document.jpg");
        let long = format!("{}.pdf", "x".repeat(300));
        let cut = display_name(Some(&long), MediaType::Pdf);
        assert_eq!(cut.chars().count(), MAX_FILE_NAME_CHARS);
        assert!(cut.ends_with(".pdf"));
    }

    #[test]
    fn content_disposition_quotes_nothing_unsafe() {
        assert_eq!(
            content_disposition("Zoë \"x\".pdf", false),
            "attachment; filename=\"Zo_ _x_.pdf\"; filename*=UTF-8''Zo%C3%AB%20%22x%22.pdf"
        );
    }

    #[test]
    fn an_upload_names_something_and_a_known_category() {
        let content = StoredContent { sha256: "ab".repeat(32), size: 3, media_type: MediaType::Pdf };
        let form = UploadForm { category: Some("lab_report".into()), ..UploadForm::default() };
        let e = form.validate("a.pdf".into(), content.clone()).unwrap_err();
        assert_eq!(e.field, "client_id");
        let form = UploadForm {
            patient_id: Some(PatientId::from_u128(5).to_string()),
            category: Some("lab_report".into()),
            tags: vec!["renal, cbc".into(), "renal".into()],
            ..UploadForm::default()
        };
        let d = form.validate("a.pdf".into(), content.clone()).unwrap();
        assert_eq!(d.tags, ["renal", "cbc"]);
        let bad = UploadForm { category: Some("selfie".into()), ..form };
        assert_eq!(bad.validate("a.pdf".into(), content).unwrap_err().field, "category");
    }
}
