//! The index itself: opening it in a directory or in memory, the schema version file beside
//! it, writing documents, committing, and searching. It must not decide when to commit or
//! what to reindex; the indexer actor does.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clowder_schemas::ClientId;
use clowder_schemas::clients::Client;
use clowder_schemas::patients::Patient;
use clowder_schemas::search::{SearchKind, SearchStatus};
use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::indexer::IndexWriterOptions;
use tantivy::merge_policy::LogMergePolicy;
use tantivy::schema::Value;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, IndexSettings, IndexWriter, ReloadPolicy, TantivyDocument, TantivyError, Term};

use crate::documents::{RecordId, client_document, patient_document};
use crate::errors::IndexError;
use crate::expansions::{BUDGET_BYTES, Expansions};
use crate::highlight::{Highlight, highlights};
use crate::queries::{self, Filter};
use crate::schema::{Fields, SCHEMA_VERSION, TEXT_TOKENIZER, tokenizers};

/// Name of the file, in the index directory, that holds the [`SCHEMA_VERSION`] the index was
/// built with. tantivy ignores files it did not create, so it lives among the index files.
pub const SCHEMA_VERSION_FILE: &str = "schema_version";

/// Most hits one search returns, whatever limit is asked for.
pub const MAX_HITS: usize = 200;

/// Memory the writer may buffer before it flushes a segment: tantivy's minimum for one
/// thread. The indexer commits what arrives within 200 ms, at most 512 events (some
/// 1,500 documents, a megabyte or two), so a larger budget is never used, but tantivy sizes
/// each new segment's term hash table from it (a third of the budget). Measured with
/// heaptrack under 64-connection writes and searches: the writer's largest live buffers were
/// 16.5 MB at 32 MB (hash tables 11.5 MB, the commit 5 MB).
const WRITER_MEMORY_BYTES: usize = 15_000_000;

/// The same for a rebuild, which writes every record at once: a larger buffer writes fewer,
/// larger segments, and every search pays per segment (a million and a half records make 11
/// segments with the small buffer). The buffer grows only as documents arrive.
const REBUILD_WRITER_MEMORY_BYTES: usize = 256_000_000;

/// One search result, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// What kind of record was found (the same as `id.kind()`).
    pub kind: SearchKind,
    /// The record that was found.
    pub id: RecordId,
    /// Display text: "Smith, Jane" for a client, "Mittens (Smith, Jane)" for a patient.
    pub label: String,
    /// Whether the record is in use.
    pub status: SearchStatus,
    /// For a patient, its owner and the owner's display name.
    pub owner: Option<(ClientId, String)>,
    /// The fields that matched, with the matching words marked.
    pub highlights: Vec<Highlight>,
    /// Higher is better. Only the order of scores within one search means anything.
    pub score: f32,
}

/// True when the index in `dir` must be rebuilt from the store before use: there is no
/// index there, or its [`SCHEMA_VERSION_FILE`] is missing, unreadable or holds another
/// version than [`SCHEMA_VERSION`]. Call it before opening the index.
pub fn needs_rebuild(dir: impl AsRef<Path>) -> bool {
    let dir = dir.as_ref();
    read_version(dir) != Some(SCHEMA_VERSION) || !index_exists(dir)
}

/// The search index, with its single writer. Writes need `&mut self`; use [`reader`] for
/// searches from other threads.
///
/// Start-up, when the index may be missing or outdated:
///
/// ```no_run
/// # fn records() -> Vec<clowder_schemas::clients::Client> { Vec::new() }
/// # fn main() -> Result<(), clowder_index::IndexError> {
/// use clowder_index::{SearchIndex, needs_rebuild};
/// let dir = std::path::Path::new("data/index");
/// let index = if needs_rebuild(dir) {
///     let mut index = SearchIndex::recreate(dir)?;
///     for client in records() {
///         index.upsert_client(&client)?;
///     }
///     index.finish_rebuild()?;
///     index
/// } else {
///     SearchIndex::open_or_create(dir)?
/// };
/// # Ok(()) }
/// ```
///
/// [`reader`]: SearchIndex::reader
pub struct SearchIndex {
    index: Index,
    writer: IndexWriter,
    reader: SearchReader,
    /// The analyser documents are built with (a copy of the reader's, for `&mut` use).
    analyzer: TextAnalyzer,
    /// Rebuilding into an empty index (from `recreate` to `finish_rebuild`): every record
    /// arrives once, so upserts skip the delete of an older document. tantivy keeps each
    /// delete until the commit, which for a million records costs about a gigabyte.
    fresh: bool,
    /// `None` for an in-memory index.
    dir: Option<PathBuf>,
}

impl SearchIndex {
    /// A new, empty index held in memory, for tests and tools.
    pub fn in_memory() -> Result<Self, IndexError> {
        let (schema, fields) = Fields::schema();
        let index = Index::builder()
            .schema(schema)
            .settings(index_settings())
            .tokenizers(tokenizers())
            .create_in_ram()
            .map_err(|source| IndexError::Open { path: None, source })?;
        Self::with_index(index, fields, None, WRITER_MEMORY_BYTES)
    }

    /// Opens the index in `dir`, or creates an empty one (and its version file) when there
    /// is none; the directory is created if needed. An existing index with another schema
    /// version fails with [`IndexError::Outdated`]: check [`needs_rebuild`] first.
    pub fn open_or_create(dir: impl AsRef<Path>) -> Result<Self, IndexError> {
        let dir = dir.as_ref();
        let directory = open_directory(dir)?;
        let open_err = |source| IndexError::Open { path: Some(dir.to_owned()), source };
        let existed = Index::exists(&directory).map_err(|e| open_err(e.into()))?;
        if existed {
            let found = read_version(dir);
            if found != Some(SCHEMA_VERSION) {
                return Err(IndexError::Outdated { path: dir.to_owned(), found, expected: SCHEMA_VERSION });
            }
        }
        let (schema, fields) = Fields::schema();
        // When the index exists, tantivy also checks that its schema equals ours.
        let index = Index::builder()
            .schema(schema)
            .settings(index_settings())
            .tokenizers(tokenizers())
            .open_or_create(directory)
            .map_err(open_err)?;
        let this = Self::with_index(index, fields, Some(dir.to_owned()), WRITER_MEMORY_BYTES)?;
        if !existed {
            write_version(dir)?;
        }
        Ok(this)
    }

    /// Replaces whatever index is in `dir` by an empty one with the current schema, for a
    /// rebuild. Until [`finish_rebuild`](Self::finish_rebuild) succeeds, the directory has
    /// no version file, so a rebuild cut short is started again at the next start-up. The
    /// old index files are removed by tantivy at the first commit.
    pub fn recreate(dir: impl AsRef<Path>) -> Result<Self, IndexError> {
        let dir = dir.as_ref();
        let directory = open_directory(dir)?;
        match fs::remove_file(dir.join(SCHEMA_VERSION_FILE)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(IndexError::Directory { path: dir.to_owned(), source });
            }
        }
        let (schema, fields) = Fields::schema();
        let mut index = Index::create(directory, schema, index_settings())
            .map_err(|source| IndexError::Open { path: Some(dir.to_owned()), source })?;
        index.set_tokenizers(tokenizers());
        let mut this = Self::with_index(index, fields, Some(dir.to_owned()), REBUILD_WRITER_MEMORY_BYTES)?;
        this.fresh = true;
        Ok(this)
    }

    fn with_index(index: Index, fields: Fields, dir: Option<PathBuf>, memory: usize) -> Result<Self, IndexError> {
        // One indexing thread keeps memory small and is plenty for a clinic's write rate. One
        // merge thread (tantivy's default is four): merges run in the background and never
        // hold up a commit, one thread keeps up (60,000 documents seeded at full speed settle
        // into 4 segments 2-3 s after the last), and every idle merge thread kept allocator
        // pages of its own (2.6-8.2 MiB between the four after a load, docs/performance.md).
        let options = IndexWriterOptions::builder()
            .num_worker_threads(1)
            .num_merge_threads(1)
            .memory_budget_per_thread(memory)
            .build();
        let writer: IndexWriter = index.writer_with_options(options).map_err(|source| match (source, &dir) {
            (source @ TantivyError::LockFailure(..), Some(path)) => IndexError::Locked { path: path.clone(), source },
            (source, _) => IndexError::Open { path: dir.clone(), source },
        })?;
        writer.set_merge_policy(Box::new(merge_policy()));
        // Reloaded by `commit`, so a change is searchable as soon as `commit` returns.
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|source| IndexError::Open { path: dir.clone(), source })?;
        let analyzer = index
            .tokenizers()
            .get(TEXT_TOKENIZER)
            .expect("`tokenizers()` registers the text tokenizer for every index we build");
        Ok(SearchIndex {
            index,
            writer,
            reader: SearchReader {
                reader,
                fields,
                analyzer: analyzer.clone(),
                expansions: Arc::new(Expansions::new(BUDGET_BYTES)),
            },
            analyzer,
            dir,
            fresh: false,
        })
    }

    /// Adds or replaces the client's document. Visible to searches after [`commit`](Self::commit).
    pub fn upsert_client(&mut self, client: &Client) -> Result<(), IndexError> {
        let doc = client_document(&self.reader.fields, &mut self.analyzer, client);
        self.replace(RecordId::Client(client.id), doc)
    }

    /// Adds or replaces the patient's document; `owner_name` is the owner's display name
    /// ("Smith, Jane"). When an owner's name changes, upsert their patients again.
    pub fn upsert_patient(&mut self, patient: &Patient, owner_name: &str) -> Result<(), IndexError> {
        let doc = patient_document(&self.reader.fields, &mut self.analyzer, patient, owner_name);
        self.replace(RecordId::Patient(patient.id), doc)
    }

    fn replace(&mut self, id: RecordId, doc: TantivyDocument) -> Result<(), IndexError> {
        // tantivy applies a delete only to documents added before it, so the new document
        // survives.
        if !self.fresh {
            self.delete(id);
        }
        self.writer.add_document(doc).map_err(IndexError::Write)?;
        Ok(())
    }

    /// Removes the record's document, if any. Visible to searches after [`commit`](Self::commit).
    pub fn delete(&mut self, id: impl Into<RecordId>) {
        let term = Term::from_field_text(self.reader.fields.id, &id.into().key());
        self.writer.delete_term(term);
    }

    /// Makes every change since the last commit durable and visible to searches (through
    /// this index and every [`SearchReader`] taken from it). Commits cost an fsync: batch
    /// changes rather than committing each one.
    pub fn commit(&mut self) -> Result<(), IndexError> {
        self.writer.commit().map_err(IndexError::Commit)?;
        self.reader.reader.reload().map_err(IndexError::Commit)
    }

    /// Like [`commit`](Self::commit), and records `seq`, the last event-log sequence number
    /// whose changes are in this commit, so that after a restart the indexer replays only
    /// what came after it ([`committed_seq`](Self::committed_seq)).
    pub fn commit_through(&mut self, seq: u64) -> Result<(), IndexError> {
        let mut prepared = self.writer.prepare_commit().map_err(IndexError::Commit)?;
        prepared.set_payload(&seq.to_string());
        prepared.commit().map_err(IndexError::Commit)?;
        self.reader.reader.reload().map_err(IndexError::Commit)
    }

    /// The sequence number given to the last [`commit_through`](Self::commit_through), if
    /// any commit recorded one.
    pub fn committed_seq(&self) -> Result<Option<u64>, IndexError> {
        let metas = self.index.load_metas().map_err(|source| IndexError::Open { path: self.dir.clone(), source })?;
        Ok(metas.payload.and_then(|p| p.trim().parse().ok()))
    }

    /// Ends a rebuild started by [`recreate`](Self::recreate): commits (recording `seq`, the
    /// last event sequence number the rebuild's records reflect), then writes the version
    /// file, so [`needs_rebuild`] turns false only once the index is complete.
    pub fn finish_rebuild_through(&mut self, seq: u64) -> Result<(), IndexError> {
        self.commit_through(seq)?;
        self.fresh = false;
        self.write_version_file()
    }

    /// [`finish_rebuild_through`](Self::finish_rebuild_through) without a sequence number.
    pub fn finish_rebuild(&mut self) -> Result<(), IndexError> {
        self.commit()?;
        self.fresh = false;
        self.write_version_file()
    }

    fn write_version_file(&self) -> Result<(), IndexError> {
        match &self.dir {
            Some(dir) => write_version(dir),
            None => Ok(()),
        }
    }

    /// Closes the index: waits for tantivy's background merges to end and releases the
    /// directory's writer lock, so the index can be opened again at once. Uncommitted
    /// changes are dropped.
    pub fn close(self) -> Result<(), IndexError> {
        self.writer.wait_merging_threads().map_err(IndexError::Commit)
    }

    /// See [`SearchReader::search`].
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<Hit>, IndexError> {
        self.reader.search(query, limit)
    }

    /// See [`SearchReader::search_with`].
    pub fn search_with(&self, query: &str, filter: &Filter, limit: usize) -> Result<Vec<Hit>, IndexError> {
        self.reader.search_with(query, filter, limit)
    }

    /// Documents in the index (as of the last commit).
    pub fn num_docs(&self) -> u64 {
        self.reader.num_docs()
    }

    /// A cheap, cloneable handle for searching from any thread. It sees each commit made
    /// through this index as soon as [`commit`](Self::commit) returns.
    pub fn reader(&self) -> SearchReader {
        self.reader.clone()
    }
}

/// A handle for searching an index, shareable across threads.
#[derive(Clone)]
pub struct SearchReader {
    reader: IndexReader,
    fields: Fields,
    analyzer: TextAnalyzer,
    /// What the typo and prefix automata accepted per segment, shared by every clone.
    expansions: Arc<Expansions>,
}

impl SearchReader {
    /// Finds up to `limit` (at most [`MAX_HITS`]) records matching `query`, best first.
    ///
    /// `query` is plain text, never syntax: every word must match some name, breed or colour,
    /// with typos forgiven according to the word's length and the last word taken as a
    /// prefix; input that is a phone number (whole, national, or its last four digits), a
    /// microchip or an email matches exactly and ranks first. Blank input finds nothing;
    /// input over [`MAX_QUERY_CHARS`](crate::MAX_QUERY_CHARS) characters is cut. Every kind and
    /// status is searched; see [`search_with`](Self::search_with) to filter.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<Hit>, IndexError> {
        self.search_with(query, &Filter::everything(), limit)
    }

    /// [`search`](Self::search) within the kinds, creators and statuses `filter` allows.
    pub fn search_with(&self, query: &str, filter: &Filter, limit: usize) -> Result<Vec<Hit>, IndexError> {
        let limit = limit.min(MAX_HITS);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut analyzer = self.analyzer.clone();
        let searcher = self.reader.searcher();
        let Some(plan) =
            queries::build(&self.fields, &mut analyzer, &self.expansions, query, filter).map_err(IndexError::Search)?
        else {
            return Ok(Vec::new());
        };
        let top =
            searcher.search(&*plan.query, &TopDocs::with_limit(limit).order_by_score()).map_err(IndexError::Search)?;
        top.into_iter()
            .map(|(score, address)| {
                let doc: TantivyDocument = searcher.doc(address).map_err(IndexError::Search)?;
                let mut hit = self.hit(&doc, score)?;
                hit.highlights = highlights(&self.fields, &mut analyzer, &doc, &plan.terms, &plan.identifier);
                Ok(hit)
            })
            .collect()
    }

    /// The same reader with a cache that keeps nothing, for tests that compare answers.
    #[cfg(test)]
    pub(crate) fn keeping_no_expansions(&self) -> SearchReader {
        SearchReader { expansions: Arc::new(Expansions::new(0)), ..self.clone() }
    }

    /// Entries and bytes of the automata expansions kept (see `expansions`), for tests.
    #[cfg(test)]
    pub(crate) fn expansions_kept(&self) -> (usize, usize) {
        self.expansions.size()
    }

    /// Documents in the index (as of the last commit this reader has seen).
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    fn hit(&self, doc: &TantivyDocument, score: f32) -> Result<Hit, IndexError> {
        let text = |field| doc.get_first(field).and_then(|v| v.as_str());
        let (kind, key) = (text(self.fields.kind), text(self.fields.id));
        let id = kind
            .zip(key)
            .and_then(|(kind, key)| RecordId::parse(kind, key))
            .ok_or_else(|| IndexError::Malformed(format!("kind {kind:?}, id {key:?}")))?;
        let label =
            text(self.fields.label).ok_or_else(|| IndexError::Malformed(format!("no label for {id:?}")))?.to_owned();
        let status = text(self.fields.status)
            .and_then(SearchStatus::from_name)
            .ok_or_else(|| IndexError::Malformed(format!("no status for {id:?}")))?;
        let owner = match (text(self.fields.owner_id).map(str::parse::<ClientId>), text(self.fields.owner_label)) {
            (Some(Ok(owner)), Some(name)) => Some((owner, name.to_owned())),
            (None, _) => None,
            _ => return Err(IndexError::Malformed(format!("bad owner for {id:?}"))),
        };
        Ok(Hit { kind: id.kind(), id, label, status, owner, highlights: Vec::new(), score })
    }
}

/// Document-store blocks of 4 KiB instead of tantivy's 16 KiB: every hit shown decompresses
/// the block holding its stored fields (a search shows ten, each in its own block), and the
/// reader's cache of 100 decompressed blocks per segment holds a quarter of the memory.
/// Profiled over HTTP, decompressing 16 KiB blocks was 5 % of a search's CPU.
const DOCSTORE_BLOCK_BYTES: usize = 4_096;

fn index_settings() -> IndexSettings {
    IndexSettings { docstore_blocksize: DOCSTORE_BLOCK_BYTES, ..IndexSettings::default() }
}

/// Segments under this many documents count as one size when merging (tantivy's default
/// is 10,000). See [`merge_policy`].
const MERGE_FLOOR_DOCS: u32 = 1_000;

/// How segments are merged. The indexer commits small batches, each a new segment, and
/// every search pays per segment; tantivy's default waits for 8 segments of a similar size
/// before merging them, which left 10 segments for 66,000 records and doubled the cost of a
/// typo-tolerant search over HTTP. Merging from 3 keeps the index compact; merges run on
/// tantivy's own thread.
///
/// The floor: tantivy counts every segment under 10,000 documents as that size, so with
/// merges from 3 the segment that gathered the small commits was rewritten every second
/// commit until it passed 10,000 (and up to about 17,000) documents, with whatever else sat
/// in that size band. Under single writes (a commit every 200 ms) those merges were 45 % of
/// the server's CPU, more than the writes themselves (docs/performance.md, "Single writes:
/// where the CPU goes"). With a floor of 1,000 the small commits gather into segments of at
/// most a few thousand, and larger segments are merged only with others of a similar size,
/// three at a time, so each document is rewritten a few times in all.
fn merge_policy() -> LogMergePolicy {
    let mut policy = LogMergePolicy::default();
    policy.set_min_num_segments(3);
    policy.set_min_layer_size(MERGE_FLOOR_DOCS);
    policy
}

fn open_directory(dir: &Path) -> Result<MmapDirectory, IndexError> {
    fs::create_dir_all(dir).map_err(|source| IndexError::Directory { path: dir.to_owned(), source })?;
    MmapDirectory::open(dir).map_err(|e| IndexError::Open { path: Some(dir.to_owned()), source: e.into() })
}

fn index_exists(dir: &Path) -> bool {
    MmapDirectory::open(dir).is_ok_and(|d| Index::exists(&d).unwrap_or(false))
}

fn read_version(dir: &Path) -> Option<u32> {
    fs::read_to_string(dir.join(SCHEMA_VERSION_FILE)).ok()?.trim().parse().ok()
}

/// Writes the version file atomically (temporary file, fsync, rename), so a crash leaves
/// either no file or a complete one.
fn write_version(dir: &Path) -> Result<(), IndexError> {
    let io_err = |source| IndexError::Directory { path: dir.to_owned(), source };
    let tmp = dir.join(format!("{SCHEMA_VERSION_FILE}.tmp"));
    let mut file = fs::File::create(&tmp).map_err(io_err)?;
    writeln!(file, "{SCHEMA_VERSION}").map_err(io_err)?;
    file.sync_all().map_err(io_err)?;
    fs::rename(&tmp, dir.join(SCHEMA_VERSION_FILE)).map_err(io_err)
}

#[cfg(test)]
mod tests {
    use tantivy::index::SegmentId;
    use tantivy::merge_policy::MergePolicy;

    use super::*;

    /// The merges the policy asks for among segments of these sizes, as sorted lists of sizes.
    fn merges(sizes: &[u32]) -> Vec<Vec<u32>> {
        let index = Index::create_in_ram(Fields::schema().0);
        let segments: Vec<_> = sizes.iter().map(|&n| index.new_segment_meta(SegmentId::generate_random(), n)).collect();
        let size_of = |id| segments.iter().find(|s| s.id() == id).map_or(0, |s| s.max_doc());
        let mut out: Vec<Vec<u32>> = merge_policy()
            .compute_merge_candidates(&segments)
            .into_iter()
            .map(|c| {
                let mut v: Vec<u32> = c.0.into_iter().map(size_of).collect();
                v.sort_unstable();
                v
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn small_commits_are_merged_among_themselves_not_into_a_large_segment() {
        // Tantivy's floor of 10,000 put these three in one level: every second commit of a
        // run of single writes rewrote the 8,000-document segment.
        assert_eq!(merges(&[8_000, 120, 150]), Vec::<Vec<u32>>::new());
        assert_eq!(merges(&[8_000, 120, 150, 90]), vec![vec![90, 120, 150]]);
        // Segments of a similar size are still merged three at a time, so the index stays compact.
        assert_eq!(merges(&[9_000, 8_000, 7_000, 300]), vec![vec![7_000, 8_000, 9_000]]);
        assert_eq!(merges(&[60_000, 3_000, 2_500, 2_000]), vec![vec![2_000, 2_500, 3_000]]);
    }
}
