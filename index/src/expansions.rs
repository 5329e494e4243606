//! The words each Levenshtein automaton accepted in each segment, kept between searches.
//!
//! Why: a name search spends most of its index time building a typo automaton per word and
//! walking every segment's term dictionary with it (docs/search.md, issue 12's profile), yet
//! the same words come back all day: a receptionist types "smith" for every Smith, and each
//! keystroke repeats the words before it. A segment's term dictionary never changes (tantivy
//! segments are immutable; deletes leave the dictionary alone and merges make a new segment
//! id), so what an automaton accepted in a segment is a pure function of (segment id, word,
//! distance, prefix) and can be kept with no invalidation at all. An entry for a segment that
//! merged away is simply never asked for again and falls out of the LRU.
//!
//! The cache is bounded by bytes (words held plus a fixed cost per entry), not entries: a
//! two-letter prefix may accept [`MAX_EXPANSIONS`] words, a long name one or two. The automaton
//! itself is built only on a miss, once per search, and is not kept (a distance-2 DFA is
//! tens of kilobytes; the words it accepted are a few dozen bytes).

use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock};

use lru::LruCache;
use tantivy::index::SegmentId;
use tantivy::query::{DfaWrapper, FuzzyTermQuery};
use tantivy::schema::Field;
use tantivy::{InvertedIndexReader, Term};

use crate::ways::MAX_EXPANSIONS;

/// Bytes the kept expansions may hold in all (words and bookkeeping). About 30,000 entries of
/// a typical name's one or two accepted words; sized so the cache stays a small part of the
/// process's memory (issue 12's 75 MiB).
pub(crate) const BUDGET_BYTES: usize = 2 * 1024 * 1024;

/// What one entry costs beyond its words: the key, the LRU's node and the `Arc`.
const ENTRY_OVERHEAD: usize = 128;

/// What an automaton stands for: the query word, the edits it forgives and whether any longer
/// word starting with a match is accepted too.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Shape {
    text: Arc<str>,
    distance: u8,
    prefix: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Key {
    segment: SegmentId,
    shape: Shape,
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.segment.hash(state);
        self.shape.hash(state);
    }
}

/// The words one automaton accepted in one segment, in dictionary order.
pub(crate) type Accepted = Arc<[Box<[u8]>]>;

struct Kept {
    entries: LruCache<Key, Accepted>,
    bytes: usize,
}

/// The shared, bounded cache of accepted words; one per open index, shared by its readers.
pub(crate) struct Expansions {
    kept: Mutex<Kept>,
    budget: usize,
}

impl std::fmt::Debug for Expansions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (entries, bytes) = self.size();
        f.debug_struct("Expansions").field("entries", &entries).field("bytes", &bytes).finish()
    }
}

impl Expansions {
    /// An empty cache holding at most `budget` bytes.
    pub(crate) fn new(budget: usize) -> Self {
        Expansions { kept: Mutex::new(Kept { entries: LruCache::unbounded(), bytes: 0 }), budget }
    }

    /// Entries and bytes held now.
    pub(crate) fn size(&self) -> (usize, usize) {
        let kept = self.lock();
        (kept.entries.len(), kept.bytes)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        // A panic while holding the lock leaves a consistent map (each operation is one call
        // into the LRU), so the cache keeps working after one.
        self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn get(&self, key: &Key) -> Option<Accepted> {
        self.lock().entries.get(key).cloned()
    }

    fn put(&self, key: Key, words: Accepted) {
        let added = cost(&key, &words);
        if added > self.budget {
            return;
        }
        let mut kept = self.lock();
        if let Some(old) = kept.entries.put(key.clone(), words) {
            kept.bytes -= cost(&key, &old);
        }
        kept.bytes += added;
        while kept.bytes > self.budget {
            match kept.entries.pop_lru() {
                Some((k, w)) => kept.bytes -= cost(&k, &w),
                None => break,
            }
        }
    }
}

fn cost(key: &Key, words: &[Box<[u8]>]) -> usize {
    ENTRY_OVERHEAD + key.shape.text.len() + words.iter().map(|w| w.len() + 16).sum::<usize>()
}

/// One query word's automaton: built on the first segment that has not seen it, at most once
/// per search, and asked for what it accepts segment by segment through the cache.
pub(crate) struct Automaton {
    shape: Shape,
    dfa: OnceLock<Option<DfaWrapper>>,
    cache: Arc<Expansions>,
}

impl std::fmt::Debug for Automaton {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Automaton")
            .field("text", &self.shape.text)
            .field("distance", &self.shape.distance)
            .field("prefix", &self.shape.prefix)
            .finish()
    }
}

impl Automaton {
    /// The automaton of `text` (a transposition, "smiht" for "smith", counts as one edit),
    /// optionally accepting any word that starts with a match.
    pub(crate) fn new(text: &str, distance: u8, prefix: bool, cache: Arc<Expansions>) -> Self {
        Automaton { shape: Shape { text: text.into(), distance, prefix }, dfa: OnceLock::new(), cache }
    }

    /// The words of `all_words` (the dictionary of every word of a segment) this automaton
    /// accepts, at most [`MAX_EXPANSIONS`], in dictionary order.
    pub(crate) fn accepted(&self, segment: SegmentId, all_words: &InvertedIndexReader) -> tantivy::Result<Accepted> {
        let key = Key { segment, shape: self.shape.clone() };
        if let Some(words) = self.cache.get(&key) {
            return Ok(words);
        }
        let Some(dfa) = self.dfa.get_or_init(|| build(&self.shape)) else {
            return Ok(Arc::from(Vec::new()));
        };
        let mut stream = all_words.terms().search(dfa).into_stream()?;
        let mut words: Vec<Box<[u8]>> = Vec::new();
        while words.len() < MAX_EXPANSIONS && stream.advance() {
            words.push(stream.key().into());
        }
        let words: Accepted = words.into();
        self.cache.put(key, words.clone());
        Ok(words)
    }
}

fn build(shape: &Shape) -> Option<DfaWrapper> {
    // The field is irrelevant to the automaton, which is built from the text alone.
    let term = Term::from_field_text(Field::from_field_id(0), &shape.text);
    let query = if shape.prefix {
        FuzzyTermQuery::new_prefix(term, shape.distance, true)
    } else {
        FuzzyTermQuery::new(term, shape.distance, true)
    };
    // Only a distance over 2 fails, and `queries::fuzzy_distance` never asks for one.
    query.automaton().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(segment: SegmentId, text: &str) -> Key {
        Key { segment, shape: Shape { text: text.into(), distance: 1, prefix: false } }
    }

    fn words(list: &[&str]) -> Accepted {
        list.iter().map(|w| w.as_bytes().to_vec().into_boxed_slice()).collect::<Vec<_>>().into()
    }

    #[test]
    fn the_cache_stays_within_its_budget_and_drops_the_least_recently_used() {
        let segment = SegmentId::generate_random();
        let one = cost(&key(segment, "smith"), &words(&["smith", "smyth"]));
        let cache = Expansions::new(one * 2);
        cache.put(key(segment, "smith"), words(&["smith", "smyth"]));
        cache.put(key(segment, "smyth"), words(&["smith", "smyth"]));
        // Touch "smith" so "smyth" is the least recently used.
        assert!(cache.get(&key(segment, "smith")).is_some());
        cache.put(key(segment, "jones"), words(&["jones", "jonas"]));
        assert!(cache.get(&key(segment, "smith")).is_some());
        assert!(cache.get(&key(segment, "smyth")).is_none());
        assert!(cache.get(&key(segment, "jones")).is_some());
        let (entries, bytes) = cache.size();
        assert_eq!(entries, 2);
        assert!(bytes <= one * 2, "{bytes} bytes held against a budget of {}", one * 2);
    }

    #[test]
    fn an_entry_is_per_segment_and_per_shape() {
        let (a, b) = (SegmentId::generate_random(), SegmentId::generate_random());
        let cache = Expansions::new(BUDGET_BYTES);
        cache.put(key(a, "smith"), words(&["smith"]));
        assert!(cache.get(&key(b, "smith")).is_none());
        let prefix = Key { segment: a, shape: Shape { text: "smith".into(), distance: 1, prefix: true } };
        assert!(cache.get(&prefix).is_none());
        // Replacing an entry does not count its bytes twice.
        cache.put(key(a, "smith"), words(&["smith"]));
        assert_eq!(cache.size().1, cost(&key(a, "smith"), &words(&["smith"])));
    }

    #[test]
    fn an_entry_larger_than_the_budget_is_not_kept() {
        let segment = SegmentId::generate_random();
        let cache = Expansions::new(10);
        cache.put(key(segment, "smith"), words(&["smith"]));
        assert_eq!(cache.size(), (0, 0));
    }
}
