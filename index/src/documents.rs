//! What a store record looks like in the index: the ids of indexed records and the documents
//! built from clients and patients (kinds and statuses are `schemas::search`'s). It must not read the store:
//! callers pass the records (and, for a patient, the owner's name) in.
//!
//! Adding a kind (invoices, prescriptions, lab orders): a `SearchKind` and `RecordId` variant,
//! a document builder that fills `kind`, `id`, `label`, `status`, `created_by`, its words in
//! the text fields, and its number in the `number` field, which queries already match exactly
//! ("INV-2026-0042"); then bump `SCHEMA_VERSION` so indexes are rebuilt with it.

use clowder_schemas::clients::Client;
use clowder_schemas::patients::Patient;
use clowder_schemas::search::{SearchKind, SearchStatus, patient_label};
use clowder_schemas::{ClientId, PatientId, UserId};
use tantivy::TantivyDocument;
use tantivy::schema::Field;
use tantivy::tokenizer::TextAnalyzer;

use crate::phonetic;
use crate::schema::Fields;

/// The id of an indexed record: what a hit points to and what [`delete`] takes.
///
/// [`delete`]: crate::SearchIndex::delete
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordId {
    Client(ClientId),
    Patient(PatientId),
}

impl RecordId {
    /// The kind of record this id belongs to.
    pub fn kind(self) -> SearchKind {
        match self {
            RecordId::Client(_) => SearchKind::Client,
            RecordId::Patient(_) => SearchKind::Patient,
        }
    }

    /// The value of the `id` field: the ULID text. ULIDs are unique across kinds, so the id
    /// alone identifies a document.
    pub(crate) fn key(self) -> String {
        match self {
            RecordId::Client(id) => id.to_string(),
            RecordId::Patient(id) => id.to_string(),
        }
    }

    /// Rebuilds an id from the stored `kind` and `id` fields.
    pub(crate) fn parse(kind: &str, key: &str) -> Option<Self> {
        match SearchKind::from_name(kind)? {
            SearchKind::Client => key.parse().ok().map(RecordId::Client),
            SearchKind::Patient => key.parse().ok().map(RecordId::Patient),
        }
    }
}

impl From<ClientId> for RecordId {
    fn from(id: ClientId) -> Self {
        RecordId::Client(id)
    }
}

impl From<PatientId> for RecordId {
    fn from(id: PatientId) -> Self {
        RecordId::Patient(id)
    }
}

/// The document of a client: found by name, phone or email.
pub(crate) fn client_document(f: &Fields, analyzer: &mut TextAnalyzer, client: &Client) -> TantivyDocument {
    let mut doc = TantivyDocument::new();
    doc.add_text(f.kind, SearchKind::Client.as_str());
    doc.add_text(f.id, RecordId::Client(client.id).key());
    doc.add_text(f.label, client.display_name());
    // One value, so a highlight shows the whole name.
    let name = format!("{} {}", client.first_name, client.last_name);
    add_phonetic(f, analyzer, &mut doc, &name);
    doc.add_text(f.words, &name);
    doc.add_text(f.name, name);
    for phone in std::iter::once(&client.phone).chain(client.phone_secondary.as_ref()) {
        for token in phone_tokens(phone.digits()) {
            doc.add_text(f.phone_digits, token);
        }
        for token in phone_prefix_tokens(phone.digits()) {
            doc.add_text(f.phone_prefix, token);
        }
        doc.add_text(f.phone_display, phone.as_str());
    }
    if let Some(email) = &client.email {
        doc.add_text(f.email, email.as_str().to_lowercase());
    }
    doc.add_text(f.status, SearchStatus::of_client(client).as_str());
    add_creator(f, &mut doc, client.created_by);
    doc
}

/// The document of a patient: found by its name, its owner's name, breed, colour or
/// microchip. `owner_name` is the owner's display name ("Smith, Jane"); when it changes, the
/// owner's patients must be upserted again.
pub(crate) fn patient_document(
    f: &Fields,
    analyzer: &mut TextAnalyzer,
    patient: &Patient,
    owner_name: &str,
) -> TantivyDocument {
    let mut doc = TantivyDocument::new();
    doc.add_text(f.kind, SearchKind::Patient.as_str());
    doc.add_text(f.id, RecordId::Patient(patient.id).key());
    doc.add_text(f.label, patient_label(&patient.name, owner_name));
    doc.add_text(f.owner_id, RecordId::Client(patient.client_id).key());
    doc.add_text(f.owner_label, owner_name);
    add_phonetic(f, analyzer, &mut doc, &patient.name);
    add_phonetic(f, analyzer, &mut doc, owner_name);
    doc.add_text(f.name, &patient.name);
    doc.add_text(f.owner, owner_name);
    doc.add_text(f.words, &patient.name);
    doc.add_text(f.words, owner_name);
    if let Some(breed) = &patient.breed {
        doc.add_text(f.breed, breed);
        doc.add_text(f.words, breed);
    }
    if let Some(color) = &patient.color {
        doc.add_text(f.color, color);
        doc.add_text(f.words, color);
    }
    if let Some(chip) = &patient.microchip {
        doc.add_text(f.microchip, chip.as_str());
    }
    doc.add_text(f.status, SearchStatus::of_patient(patient).as_str());
    add_creator(f, &mut doc, patient.created_by);
    doc
}

/// Indexes the phonetic codes of every word of `text`.
fn add_phonetic(f: &Fields, analyzer: &mut TextAnalyzer, doc: &mut TantivyDocument, text: &str) {
    for word in words(analyzer, text) {
        for code in phonetic::codes(&word) {
            doc.add_text(f.phonetic, code);
        }
    }
}

fn add_creator(f: &Fields, doc: &mut TantivyDocument, created_by: Option<UserId>) {
    if let Some(user) = created_by {
        doc.add_text(f.created_by, user.to_string());
    }
}

/// The analysed words of `text`, as the text fields index them.
pub(crate) fn words(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// Which stored field of a document a highlight shows, by name; see `highlight`.
pub(crate) fn stored_text_fields(f: &Fields) -> [(&'static str, Field); 4] {
    [("name", f.name), ("owner", f.owner), ("breed", f.breed), ("color", f.color)]
}

/// Shortest trailing run of digits indexed as a phone number besides the last four: seven
/// digits is a local number without its area code.
const MIN_PHONE_SUFFIX: usize = 7;

/// The tokens indexed for one phone number, given its E.164 digits: the full digits, every
/// trailing run of at least seven digits (this includes the national number whatever the
/// length of the country code: "5551234567" for "15551234567"), and the last four digits.
pub(crate) fn phone_tokens(digits: &str) -> Vec<&str> {
    // E.164 digits are ASCII, so byte offsets are char boundaries.
    let n = digits.len();
    let mut tokens: Vec<&str> =
        (0..n).filter(|&start| start == 0 || n - start >= MIN_PHONE_SUFFIX).map(|start| &digits[start..]).collect();
    if n > 4 {
        tokens.push(&digits[n - 4..]);
    }
    tokens
}

/// Fewest leading digits that find a phone number as it is being typed: an area code.
pub(crate) const MIN_PHONE_PREFIX: usize = 3;

/// The tokens indexed so that a number is found as it is read out, given its E.164 digits:
/// every run of at least three leading digits of the whole number ("150855"), of the national
/// number ("508555", "(508) 555") and of its last seven digits, the local number without its
/// area code ("555014"). Full numbers are among them; exact matches are scored apart.
pub(crate) fn phone_prefix_tokens(digits: &str) -> Vec<&str> {
    // E.164 digits are ASCII, so byte offsets are char boundaries.
    let n = digits.len();
    let national = country_code_len(digits).min(n);
    let local = n.saturating_sub(MIN_PHONE_SUFFIX).max(national);
    let mut tokens = Vec::new();
    for start in [0, national, local] {
        for end in start + MIN_PHONE_PREFIX..=n {
            let token = &digits[start..end];
            if !tokens.contains(&token) {
                tokens.push(token);
            }
        }
    }
    tokens
}

/// The length of the country calling code that starts E.164 `digits`. Calling codes are a
/// prefix code (ITU-T E.164): `1` and `7` have one digit, the two-digit codes are listed
/// below, and every other code has three digits.
pub(crate) fn country_code_len(digits: &str) -> usize {
    const TWO_DIGIT: &[&str] = &[
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47", "48", "49",
        "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66", "81", "82", "84",
        "86", "90", "91", "92", "93", "94", "95", "98",
    ];
    if digits.starts_with('1') || digits.starts_with('7') {
        1
    } else if TWO_DIGIT.iter().any(|code| digits.starts_with(code)) {
        2
    } else {
        3
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_tokens_cover_full_national_local_and_last_four() {
        assert_eq!(
            phone_tokens("15551234567"),
            ["15551234567", "5551234567", "551234567", "51234567", "1234567", "4567"]
        );
        assert_eq!(phone_tokens("4412345678"), ["4412345678", "412345678", "12345678", "2345678", "5678"]);
    }

    #[test]
    fn phone_prefix_tokens_cover_leading_digits_of_whole_national_and_local_numbers() {
        let tokens = phone_prefix_tokens("15085550142");
        for typed in ["150", "1508555", "508", "508555", "50855501", "5085550142", "555", "555014", "5550142"] {
            assert!(tokens.contains(&typed), "{typed} missing from {tokens:?}");
        }
        // Runs that start inside the area code or the local number are not how a number is read.
        for not_typed in ["085", "0855", "855", "550142", "0142", "15"] {
            assert!(!tokens.contains(&not_typed), "{not_typed} in {tokens:?}");
        }
        let uk = phone_prefix_tokens("442079460018");
        assert!(uk.contains(&"207") && uk.contains(&"20794") && uk.contains(&"442"), "{uk:?}");
        assert!(!uk.contains(&"420"), "{uk:?}");
    }

    #[test]
    fn country_codes_are_read_as_the_prefix_code_they_are() {
        for (digits, len) in [
            ("15085550142", 1),
            ("74951234567", 1),
            ("442079460018", 2),
            ("4930123456", 2),
            ("35312345678", 3),
            ("420123456789", 3),
            ("8613912345678", 2),
            ("85212345678", 3),
        ] {
            assert_eq!(country_code_len(digits), len, "{digits}");
        }
    }

    #[test]
    fn record_ids_round_trip_through_kind_and_key() {
        let ids = [
            RecordId::Client(ClientId::from_u128(7)),
            RecordId::Patient(PatientId::from_u128(u128::from(u64::MAX) + 9)),
        ];
        for id in ids {
            assert_eq!(RecordId::parse(id.kind().as_str(), &id.key()), Some(id));
        }
        assert_eq!(RecordId::parse("invoice", &ids[0].key()), None);
        assert_eq!(RecordId::parse("client", "not a ulid"), None);
    }
}
