//! The tantivy schema: every field, how it is analysed, and the version that says when an
//! index on disk no longer matches this code. It must not know about records or queries.

use tantivy::schema::{Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer, TokenizerManager,
};

/// The version of the schema and of its analysis. Bump it on any change to a field, a
/// tokenizer, or what a document holds: an index with another version is rebuilt.
pub const SCHEMA_VERSION: u32 = 1;

/// Name of the analyser for free-text fields (names, breed, colour).
pub(crate) const TEXT_TOKENIZER: &str = "clowder_text";

/// Tokens longer than this (in bytes, after folding) are dropped: no name is that long, and
/// fuzzy automata over such tokens are costly.
const MAX_TOKEN_BYTES: usize = 40;

/// Handles on every field of the schema.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    /// `client` or `patient` (raw, stored).
    pub kind: Field,
    /// The record's ULID (raw, stored): what updates and deletes go by.
    pub id: Field,
    /// Display text for a hit, e.g. "Smith, Jane" (stored only).
    pub label: Field,
    /// For a patient, the owner's client id (raw), so a later change of the owner can find
    /// the patients to update.
    pub owner_id: Field,
    /// Client first and last name, or patient name (text).
    pub name: Field,
    /// For a patient, the owner's display name (text).
    pub owner: Field,
    /// Patient breed (text).
    pub breed: Field,
    /// Patient coat colour (text).
    pub color: Field,
    /// Phone digits in several lengths (raw); see `documents::phone_tokens`.
    pub phone_digits: Field,
    /// Microchip number, digits only (raw).
    pub microchip: Field,
    /// Lower-cased email address (raw).
    pub email: Field,
    /// `active`, `inactive` or (patients) `deceased` (raw).
    pub status: Field,
}

impl Fields {
    /// Builds the schema and returns it with the handles of its fields.
    pub(crate) fn schema() -> (Schema, Fields) {
        let mut b = Schema::builder();
        // Free text needs term frequencies for scoring but no positions: there are no phrase
        // queries.
        let text = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default().set_tokenizer(TEXT_TOKENIZER).set_index_option(IndexRecordOption::WithFreqs),
        );
        let fields = Fields {
            kind: b.add_text_field("kind", STRING | STORED),
            id: b.add_text_field("id", STRING | STORED),
            label: b.add_text_field("label", STORED),
            owner_id: b.add_text_field("owner_id", STRING),
            name: b.add_text_field("name", text.clone()),
            owner: b.add_text_field("owner", text.clone()),
            breed: b.add_text_field("breed", text.clone()),
            color: b.add_text_field("color", text),
            phone_digits: b.add_text_field("phone_digits", STRING),
            microchip: b.add_text_field("microchip", STRING),
            email: b.add_text_field("email", STRING),
            status: b.add_text_field("status", STRING),
        };
        (b.build(), fields)
    }

    /// The free-text fields every query term is matched against.
    pub(crate) fn text(&self) -> [Field; 4] {
        [self.name, self.owner, self.breed, self.color]
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
