//! Settings of printed documents: the clinic's logo, uploaded once and printed in the
//! letterhead of every PDF (`actors::printing::letterhead`). Kept in the store (table
//! `clinic_logo`, key 0) so it travels with backups; checked as a PNG or JPEG when uploaded.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::errors::ValidationError;
use crate::ids::{JobId, UserId};
use crate::records::Record;

/// Largest logo accepted (bytes): a letterhead logo prints about 4 cm wide, so a few
/// hundred kilobytes is already generous, and every PDF embeds it.
pub const MAX_LOGO_BYTES: usize = 512 * 1024;

/// The clinic's logo as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClinicLogo {
    /// `image/png` or `image/jpeg`, from the bytes' signature (never from a name).
    pub content_type: String,
    #[serde(with = "bytes")]
    pub bytes: Vec<u8>,
    pub updated_at: Timestamp,
    pub updated_by: Option<UserId>,
}

impl Record for ClinicLogo {
    const KIND: &'static str = "clinic_logo";
    const VERSION: u16 = 1;
}

/// What `GET /api/settings/logo` and `PUT` answer about it (the image itself is
/// `GET /api/settings/logo.img`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LogoInfo {
    pub content_type: String,
    pub size: usize,
    pub updated_at: Timestamp,
    pub updated_by: Option<UserId>,
}

impl From<&ClinicLogo> for LogoInfo {
    fn from(l: &ClinicLogo) -> Self {
        LogoInfo {
            content_type: l.content_type.clone(),
            size: l.bytes.len(),
            updated_at: l.updated_at,
            updated_by: l.updated_by,
        }
    }
}

/// Query of `GET /api/patients/{id}/record-summary.pdf`: the local dates it covers.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RecordSummaryQuery {
    /// First local date, inclusive (default: the record's start).
    #[param(value_type = Option<String>)]
    pub from: Option<Date>,
    /// Last local date, inclusive (default: today).
    #[param(value_type = Option<String>)]
    pub to: Option<Date>,
}

/// The most items one print batch takes.
pub const MAX_BATCH_ITEMS: usize = 500;

/// What a print batch prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrintKind {
    /// Cats' labels (ids are patients'), on the label sheet.
    PatientLabels,
    /// Prescriptions' labels (ids are prescriptions'), on the label sheet.
    PrescriptionLabels,
    /// Cats' vaccination certificates (ids are patients'), one after the other.
    VaccinationCertificates,
}

impl PrintKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrintKind::PatientLabels => "patient_labels",
            PrintKind::PrescriptionLabels => "prescription_labels",
            PrintKind::VaccinationCertificates => "vaccination_certificates",
        }
    }
}

/// Body of `POST /api/print-batches`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePrintBatch {
    pub kind: PrintKind,
    /// 1 to 500 ids, printed in this order; an id that names nothing is reported, not fatal.
    pub ids: Vec<String>,
}

impl CreatePrintBatch {
    /// Checks the number of ids (each id is checked when printed, and reported there).
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.ids.is_empty() {
            return Err(ValidationError::new("ids", "must name at least one record"));
        }
        if self.ids.len() > MAX_BATCH_ITEMS {
            return Err(ValidationError::new("ids", format!("must name at most {MAX_BATCH_ITEMS} records")));
        }
        if let Some(i) = self.ids.iter().position(|id| id.len() > 64) {
            return Err(ValidationError::new(format!("ids[{i}]"), "is not an id"));
        }
        Ok(())
    }
}

/// Where a print batch is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrintStatus {
    /// Queued or printing.
    Running,
    /// Every item was tried; the PDF is ready (unless nothing printed).
    Done,
}

/// One item a batch could not print, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PrintFailure {
    /// The id as given.
    pub id: String,
    /// A stable word: `not_found` (no such record, or not an id), `error`.
    pub code: String,
    pub reason: String,
}

/// A print batch with its progress (`GET /api/print-batches/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PrintBatch {
    /// The id of the durable job that prints it.
    pub id: JobId,
    pub kind: PrintKind,
    pub status: PrintStatus,
    /// Items asked for.
    pub total: u32,
    /// Items tried so far.
    pub done: u32,
    /// Items in the PDF.
    pub printed: u32,
    pub failed: Vec<PrintFailure>,
    /// Once done with something printed: where the PDF is (`/api/print-batches/{id}/file`).
    pub file: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: Option<UserId>,
}

impl PrintBatch {
    /// A batch of `total` items, running, as of `now`.
    pub fn running(id: JobId, kind: PrintKind, total: u32, now: Timestamp, by: Option<UserId>) -> PrintBatch {
        PrintBatch {
            id,
            kind,
            status: PrintStatus::Running,
            total,
            done: 0,
            printed: 0,
            failed: Vec::new(),
            file: None,
            created_at: now,
            updated_at: now,
            created_by: by,
        }
    }
}

impl Record for PrintBatch {
    const KIND: &'static str = "print_batch";
    const VERSION: u16 = 1;
}

/// A print batch's PDF as stored (table `print_files`, keyed by the batch's id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrintFile {
    pub filename: String,
    #[serde(with = "bytes")]
    pub bytes: Vec<u8>,
}

impl Record for PrintFile {
    const KIND: &'static str = "print_file";
    const VERSION: u16 = 1;
}

/// The content type of an image's bytes from its signature: PNG or JPEG, else `None`.
pub fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else {
        None
    }
}

/// The image as MessagePack binary (one byte per byte, not a list of numbers).
mod bytes {
    use serde::de::{Error, SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct Bytes;
        impl<'de> Visitor<'de> for Bytes {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(b) = seq.next_element()? {
                    out.push(b);
                }
                Ok(out)
            }
        }
        d.deserialize_byte_buf(Bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logo_round_trips_through_messagepack_as_binary() {
        let logo = ClinicLogo {
            content_type: "image/png".into(),
            bytes: vec![0x89, 0xFF, 0, 1, 2, 200],
            updated_at: Timestamp::UNIX_EPOCH,
            updated_by: None,
        };
        let packed = rmp_serde::to_vec_named(&logo).unwrap();
        // bin 8 marker, then the six bytes as they are.
        assert!(packed.windows(8).any(|w| w == [0xC4, 6, 0x89, 0xFF, 0, 1, 2, 200]));
        assert_eq!(rmp_serde::from_slice::<ClinicLogo>(&packed).unwrap(), logo);
    }

    #[test]
    fn a_batch_names_one_to_500_records() {
        let batch = |n: usize| CreatePrintBatch { kind: PrintKind::PatientLabels, ids: vec!["x".into(); n] };
        assert_eq!(batch(0).validate().unwrap_err().field, "ids");
        assert!(batch(1).validate().is_ok() && batch(500).validate().is_ok());
        assert_eq!(batch(501).validate().unwrap_err().field, "ids");
        let long = CreatePrintBatch { kind: PrintKind::PatientLabels, ids: vec!["a".repeat(65)] };
        assert_eq!(long.validate().unwrap_err().field, "ids[0]");
    }

    #[test]
    fn images_are_told_apart_by_their_signature() {
        assert_eq!(image_type(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(image_type(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(image_type(b"GIF89a"), None);
        assert_eq!(image_type(b"MZ\x90\x00"), None);
    }
}
