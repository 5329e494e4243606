//! Clowder's search index: the tantivy schema, the documents built from store records, the
//! queries built from what staff type, and rebuilding the index from scratch.
//!
//! The index is derived data: the store is the truth, and the whole index can be thrown away
//! and rebuilt from it (`clowder reindex`, or at start-up when [`needs_rebuild`] says so).
//! This crate is a plain synchronous library. It must not own actors, threads of its own
//! beyond tantivy's, a tokio runtime, or any access to the store; the only I/O it does is in
//! the index directory. The indexer actor in `actors` decides when to write and commit.
//!
//! Invariants:
//! - User input is only ever text: queries are built term by term, never through tantivy's
//!   query parser, so no character sequence can cause a syntax error.
//! - Every document has a `kind` and an `id` (the record's ULID); updating or deleting a
//!   record deletes by `id` first, so a record has at most one document.
//! - Any change to the schema or to how a field is analysed bumps [`SCHEMA_VERSION`].
//!
//! The public API hides tantivy except as the source of errors.

mod documents;
mod errors;
mod expansions;
mod highlight;
mod phonetic;
mod queries;
mod schema;
mod search_index;
mod ways;

#[cfg(test)]
mod relevance;
#[cfg(test)]
mod tests;

pub use documents::RecordId;
pub use errors::IndexError;
pub use highlight::{Fragment, Highlight};
pub use queries::{Filter, KindFilter, MAX_QUERY_CHARS, MAX_QUERY_TERMS};
pub use schema::SCHEMA_VERSION;
pub use search_index::{Hit, MAX_HITS, SCHEMA_VERSION_FILE, SearchIndex, SearchReader, needs_rebuild};
