//! What each Levenshtein automaton found in each segment, kept between searches: the
//! dictionary entries (tantivy `TermInfo`s) of the words it accepted, in each field it runs on.
//!
//! Why: a name search spends most of its index time building a typo automaton per word,
//! walking every segment's term dictionary with it and looking each accepted word up again in
//! every field (docs/search.md, issue 12's profiles), yet the same words come back all day: a
//! receptionist types "smith" for every Smith, and each keystroke repeats the words before it.
//! A segment never changes (tantivy segments are immutable; deletes leave the dictionaries
//! alone and merges make a new segment id), so what an automaton found in a segment is a pure
//! function of (segment id, word, distance, prefix, fields) and can be kept with no
//! invalidation at all. An entry for a segment that merged away is simply never asked for
//! again and falls out of the LRU.
//!
//! The cache is bounded by bytes (entries plus a fixed cost per entry), not entries: a
//! two-letter prefix may accept [`MAX_EXPANSIONS`] words, a long name one or two. The automaton
//! itself is built only on a miss, once per search, and is not kept (a distance-2 DFA is
//! tens of kilobytes; what it found is a few dozen bytes per field).

use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock};

use lru::LruCache;
use tantivy::index::SegmentId;
use tantivy::postings::TermInfo;
use tantivy::query::{DfaWrapper, FuzzyTermQuery};
use tantivy::schema::Field;
use tantivy::{InvertedIndexReader, Term};

use crate::ways::MAX_EXPANSIONS;

/// Bytes the kept entries may hold in all. Measured on the relevance fixture's queries (two
/// segments): 235 bytes an entry of term infos against 146 for the accepted words this cache
/// held before in 2 MiB, so some 17,000 entries against some 14,000 then (that cache was
/// measured over HTTP at 8,960 searches a second); still a small part of the process's
/// memory (issue 12's 75 MiB).
pub(crate) const BUDGET_BYTES: usize = 4 * 1024 * 1024;

/// What one entry costs beyond its term infos: the key, the LRU's node, the `Arc`s.
const ENTRY_OVERHEAD: usize = 128;

/// What an automaton stands for: the query word, the edits it forgives, whether any longer
/// word starting with a match is accepted too, and the fields it runs on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Shape {
    text: Arc<str>,
    distance: u8,
    prefix: bool,
    fields: Arc<[Field]>,
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

/// What one automaton found in one segment: for each of its fields (in its order), the
/// dictionary entries of the accepted words that field holds, in dictionary order.
pub(crate) type Found = Arc<[Box<[TermInfo]>]>;

struct Kept {
    entries: LruCache<Key, Found>,
    bytes: usize,
}

/// The shared, bounded cache; one per open index, shared by its readers.
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
    /// An empty cache holding at most `budget` bytes (0 keeps nothing).
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

    fn get(&self, key: &Key) -> Option<Found> {
        self.lock().entries.get(key).cloned()
    }

    fn put(&self, key: Key, found: Found) {
        let added = cost(&key, &found);
        if added > self.budget {
            return;
        }
        let mut kept = self.lock();
        if let Some(old) = kept.entries.put(key.clone(), found) {
            kept.bytes -= cost(&key, &old);
        }
        kept.bytes += added;
        while kept.bytes > self.budget {
            match kept.entries.pop_lru() {
                Some((k, f)) => kept.bytes -= cost(&k, &f),
                None => break,
            }
        }
    }
}

fn cost(key: &Key, found: &[Box<[TermInfo]>]) -> usize {
    ENTRY_OVERHEAD
        + key.shape.text.len()
        + found.iter().map(|infos| 16 + infos.len() * std::mem::size_of::<TermInfo>()).sum::<usize>()
}

/// One query word's automaton: built on the first segment that has not seen it, at most once
/// per search, and asked for what it finds segment by segment through the cache.
pub(crate) struct Automaton {
    shape: Shape,
    dfa: OnceLock<Option<DfaWrapper>>,
    cache: Arc<Expansions>,
    /// What it found in the segments this search has asked about so far, so its several
    /// ways (one per field) take the cache's lock once per segment.
    seen: Mutex<Vec<(SegmentId, Found)>>,
}

impl std::fmt::Debug for Automaton {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Automaton")
            .field("text", &self.shape.text)
            .field("distance", &self.shape.distance)
            .field("prefix", &self.shape.prefix)
            .field("fields", &self.shape.fields)
            .finish()
    }
}

/// A field's inverted index in the segment being searched (fetched once per field).
pub(crate) type Inverted<'a> = dyn FnMut(Field) -> tantivy::Result<Arc<InvertedIndexReader>> + 'a;

impl Automaton {
    /// The automaton of `text` (a transposition, "smiht" for "smith", counts as one edit),
    /// optionally accepting any word that starts with a match, run on `fields`.
    pub(crate) fn new(text: &str, distance: u8, prefix: bool, fields: Arc<[Field]>, cache: Arc<Expansions>) -> Self {
        Automaton {
            shape: Shape { text: text.into(), distance, prefix, fields },
            dfa: OnceLock::new(),
            cache,
            seen: Mutex::new(Vec::new()),
        }
    }

    /// Where `field` is among the fields this automaton runs on.
    pub(crate) fn field_at(&self, field: Field) -> Option<usize> {
        self.shape.fields.iter().position(|f| *f == field)
    }

    /// What this automaton finds in `segment`: the words of `all_words` (the dictionary of
    /// every word of the segment) it accepts, at most [`MAX_EXPANSIONS`] in dictionary order,
    /// looked up in each of its fields.
    pub(crate) fn found(
        &self,
        segment: SegmentId,
        all_words: Field,
        inverted: &mut Inverted<'_>,
    ) -> tantivy::Result<Found> {
        let mut seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, found)) = seen.iter().find(|(s, _)| *s == segment) {
            return Ok(found.clone());
        }
        let key = Key { segment, shape: self.shape.clone() };
        let found = match self.cache.get(&key) {
            Some(found) => found,
            None => {
                let all_words = inverted(all_words)?;
                let found = self.walk(&all_words, inverted)?;
                self.cache.put(key, found.clone());
                found
            }
        };
        seen.push((segment, found.clone()));
        Ok(found)
    }

    fn walk(&self, all_words: &InvertedIndexReader, inverted: &mut Inverted<'_>) -> tantivy::Result<Found> {
        let mut words: Vec<Vec<u8>> = Vec::new();
        if let Some(dfa) = self.dfa.get_or_init(|| build(&self.shape)) {
            let mut stream = all_words.terms().search(dfa).into_stream()?;
            while words.len() < MAX_EXPANSIONS && stream.advance() {
                words.push(stream.key().to_vec());
            }
        }
        let mut found = Vec::with_capacity(self.shape.fields.len());
        for &field in self.shape.fields.iter() {
            let index = inverted(field)?;
            let mut infos = Vec::new();
            for word in &words {
                if let Some(info) = index.terms().get(word)? {
                    infos.push(info);
                }
            }
            found.push(infos.into_boxed_slice());
        }
        Ok(found.into())
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

    fn shape(text: &str, prefix: bool) -> Shape {
        Shape { text: text.into(), distance: 1, prefix, fields: vec![Field::from_field_id(1)].into() }
    }

    fn key(segment: SegmentId, text: &str) -> Key {
        Key { segment, shape: shape(text, false) }
    }

    fn found(words: usize) -> Found {
        vec![vec![TermInfo::default(); words].into_boxed_slice()].into()
    }

    #[test]
    fn the_cache_stays_within_its_budget_and_drops_the_least_recently_used() {
        let segment = SegmentId::generate_random();
        let one = cost(&key(segment, "smith"), &found(2));
        let cache = Expansions::new(one * 2);
        cache.put(key(segment, "smith"), found(2));
        cache.put(key(segment, "smyth"), found(2));
        // Touch "smith" so "smyth" is the least recently used.
        assert!(cache.get(&key(segment, "smith")).is_some());
        cache.put(key(segment, "jones"), found(2));
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
        cache.put(key(a, "smith"), found(1));
        assert!(cache.get(&key(b, "smith")).is_none());
        assert!(cache.get(&Key { segment: a, shape: shape("smith", true) }).is_none());
        let other_fields = Shape { fields: vec![Field::from_field_id(2)].into(), ..shape("smith", false) };
        assert!(cache.get(&Key { segment: a, shape: other_fields }).is_none());
        // Replacing an entry does not count its bytes twice.
        cache.put(key(a, "smith"), found(1));
        assert_eq!(cache.size().1, cost(&key(a, "smith"), &found(1)));
    }

    #[test]
    fn an_entry_larger_than_the_budget_is_not_kept() {
        let segment = SegmentId::generate_random();
        let cache = Expansions::new(10);
        cache.put(key(segment, "smith"), found(1));
        assert_eq!(cache.size(), (0, 0));
    }
}
