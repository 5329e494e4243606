//! The errors of the index, in domain words. Mapping them to HTTP or error codes is left to
//! the crates above.

use std::path::{Path, PathBuf};

/// Why an index operation failed.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The index directory, or the schema version file in it, cannot be read or written.
    #[error("cannot use the search index directory {}", .path.display())]
    Directory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The directory holds an index written for another [`SCHEMA_VERSION`](crate::SCHEMA_VERSION)
    /// (or with no version file at all): it must be rebuilt with
    /// [`SearchIndex::recreate`](crate::SearchIndex::recreate).
    #[error(
        "the search index in {} has schema version {}, this build needs {expected}: rebuild it",
        .path.display(),
        found.map_or_else(|| "unknown".to_owned(), |v| v.to_string())
    )]
    Outdated { path: PathBuf, found: Option<u32>, expected: u32 },
    /// Another index writer (in this process or another) holds the directory's lock.
    #[error("the search index in {} is already open for writing elsewhere", .path.display())]
    Locked {
        path: PathBuf,
        #[source]
        source: tantivy::TantivyError,
    },
    /// The index cannot be created or opened.
    #[error("cannot open the search index {}", location(.path.as_deref()))]
    Open {
        /// `None` for an in-memory index.
        path: Option<PathBuf>,
        #[source]
        source: tantivy::TantivyError,
    },
    /// A document cannot be added.
    #[error("cannot add a document to the search index")]
    Write(#[source] tantivy::TantivyError),
    /// Pending changes cannot be committed.
    #[error("cannot commit changes to the search index")]
    Commit(#[source] tantivy::TantivyError),
    /// A search cannot be run or its results cannot be read.
    #[error("cannot search the search index")]
    Search(#[source] tantivy::TantivyError),
    /// A stored document lacks its kind, id or label, or they cannot be parsed. Only a
    /// damaged index or a schema change without a version bump can cause this.
    #[error("the search index holds a malformed document: {0}")]
    Malformed(String),
}

fn location(path: Option<&Path>) -> String {
    match path {
        Some(p) => format!("in {}", p.display()),
        None => "in memory".to_owned(),
    }
}
