//! The tantivy schema: every field, how it is analysed, and the version that says when an
//! index on disk no longer matches this code. It must not know about records or queries.

use tantivy::schema::{Field, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer, TokenizerManager,
};

/// The version of the schema and of its analysis. Bump it on any change to a field, a
/// tokenizer, or what a document holds: an index with another version is rebuilt.
///
/// v2: phonetic codes, stored values for highlights, the owner and creator of a record, and
/// the `number` field for documents found by their number.
/// v3: `phone_prefix`, so a number is found from its first digits.
/// v4: no term frequencies and no field norms (scores never used them), a 4 KiB
/// document-store block (see `search_index::index_settings`), and `words`.
pub const SCHEMA_VERSION: u32 = 4;

/// Name of the analyser for free-text fields (names, breed, colour).
pub(crate) const TEXT_TOKENIZER: &str = "clowder_text";

/// Tokens longer than this (in bytes, after folding) are dropped: no name is that long, and
/// fuzzy automata over such tokens are costly.
const MAX_TOKEN_BYTES: usize = 40;

/// Handles on every field of the schema.
///
/// Free-text fields are stored as well as indexed, so a hit can show which words matched
/// (highlights) without a trip to the store.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    /// The record kind, e.g. `client` or `patient` (raw, stored).
    pub kind: Field,
    /// The record's ULID (raw, stored): what updates and deletes go by.
    pub id: Field,
    /// Display text for a hit, e.g. "Smith, Jane" (stored only).
    pub label: Field,
    /// For a patient, the owner's client id (raw, stored), so a change of the owner's name
    /// can find the patients to update, and a hit can name its owner.
    pub owner_id: Field,
    /// For a patient, the owner's display name, "Smith, Jane" (stored only).
    pub owner_label: Field,
    /// Client first and last name, or patient name (text, stored).
    pub name: Field,
    /// For a patient, the owner's name (text, stored).
    pub owner: Field,
    /// Patient breed (text, stored).
    pub breed: Field,
    /// Patient coat colour (text, stored).
    pub color: Field,
    /// Every word of `name`, `owner`, `breed` and `color` (text): its term dictionary is the
    /// one a typo or prefix automaton walks, once instead of once per field; the words it
    /// accepts are then looked up in each field.
    pub words: Field,
    /// Double Metaphone codes (primary and alternate) of every word of `name` and `owner`
    /// (raw): "Jon Smyth" and "John Smith" share `JN` and `SM0`.
    pub phonetic: Field,
    /// Phone digits in several lengths (raw); see `documents::phone_tokens`.
    pub phone_digits: Field,
    /// Leading digits of phone numbers (raw); see `documents::phone_prefix_tokens`.
    pub phone_prefix: Field,
    /// Phone numbers as shown (E.164), for highlights (stored only).
    pub phone_display: Field,
    /// Microchip number, digits only (raw, stored).
    pub microchip: Field,
    /// Lower-cased email address (raw, stored).
    pub email: Field,
    /// A document's number, lower-cased (raw, stored): invoice, prescription and lab-order
    /// numbers, found exactly. No kind indexed today has one.
    pub number: Field,
    /// `active`, `inactive` or (patients) `deceased` (raw, stored).
    pub status: Field,
    /// The ULID of the staff user who created the record, if any (raw): staff whose
    /// permission has scope `own` see only their own records.
    pub created_by: Field,
}

impl Fields {
    /// Builds the schema and returns it with the handles of its fields.
    pub(crate) fn schema() -> (Schema, Fields) {
        let mut b = Schema::builder();
        // Scores rest on how a word matched, never on term statistics, so no field keeps term
        // frequencies, positions or field norms (a byte per field and document, read by
        // nothing).
        let text_indexing = TextFieldIndexing::default()
            .set_tokenizer(TEXT_TOKENIZER)
            .set_index_option(IndexRecordOption::Basic)
            .set_fieldnorms(false);
        let text = TextOptions::default().set_indexing_options(text_indexing.clone()).set_stored();
        let raw = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("raw")
                .set_index_option(IndexRecordOption::Basic)
                .set_fieldnorms(false),
        );
        let raw_stored = raw.clone().set_stored();
        let fields = Fields {
            kind: b.add_text_field("kind", raw_stored.clone()),
            id: b.add_text_field("id", raw_stored.clone()),
            label: b.add_text_field("label", STORED),
            owner_id: b.add_text_field("owner_id", raw_stored.clone()),
            owner_label: b.add_text_field("owner_label", STORED),
            name: b.add_text_field("name", text.clone()),
            owner: b.add_text_field("owner", text.clone()),
            breed: b.add_text_field("breed", text.clone()),
            color: b.add_text_field("color", text.clone()),
            words: b.add_text_field("words", TextOptions::default().set_indexing_options(text_indexing)),
            phonetic: b.add_text_field("phonetic", raw.clone()),
            phone_digits: b.add_text_field("phone_digits", raw.clone()),
            phone_prefix: b.add_text_field("phone_prefix", raw.clone()),
            phone_display: b.add_text_field("phone_display", STORED),
            microchip: b.add_text_field("microchip", raw_stored.clone()),
            email: b.add_text_field("email", raw_stored.clone()),
            number: b.add_text_field("number", raw_stored.clone()),
            status: b.add_text_field("status", raw_stored),
            created_by: b.add_text_field("created_by", raw),
        };
        (b.build(), fields)
    }

    /// The free-text fields every query term is matched against, with the weight of a match
    /// in each: a word of the record's own name counts most, its owner's name a little less,
    /// breed and colour least, so "smith" lists the Smiths before their cats.
    pub(crate) fn weighted_text(&self) -> [(Field, f32); 4] {
        [(self.name, 1.0), (self.owner, 0.8), (self.breed, 0.6), (self.color, 0.6)]
    }
}

/// The analyser for free text: split on anything not alphanumeric, lower-case, fold accents
/// to ASCII ("Zoë" → "zoe"), drop over-long tokens. Queries go through the same analyser.
pub(crate) fn text_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .build()
}

/// tantivy's default tokenizers plus ours. tantivy does not persist tokenizers, so every
/// index, created or opened, must be given these.
pub(crate) fn tokenizers() -> TokenizerManager {
    let manager = TokenizerManager::default();
    manager.register(TEXT_TOKENIZER, text_analyzer());
    manager
}
