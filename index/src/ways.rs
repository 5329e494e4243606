//! One query word's ways of matching (exactly, as a prefix, by sound, with typos, as digits;
//! each in some field with a fixed score) run as one tantivy query with one flat scorer per
//! segment. It owns how those ways are read and scored; what the ways are is `queries`'.
//!
//! Why not tantivy's own queries: a word of a name search is the best of about 14 ways, each
//! the union of up to [`MAX_EXPANSIONS`] words an automaton accepted, and built from term,
//! union and disjunction queries each union allocates a buffer of 4,096 scores per segment
//! and every accepted word becomes a term query looked up again in every segment. Profiled
//! over HTTP, allocation (glibc's `malloc` and `free` of those buffers) was over a third of
//! the server's CPU. Here each segment walks its own term dictionary with the automata once,
//! reads the postings of what they accept directly, and merges them with a small heap.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::sync::Arc;

use tantivy::postings::{SegmentPostings, TermInfo};
use tantivy::query::{EmptyScorer, EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, DocSet, InvertedIndexReader, Score, SegmentReader, TERMINATED, Term};

use crate::expansions::Automaton;

/// Most distinct words one automaton may stand for in one field of one segment. A
/// two-letter prefix can accept hundreds of names; past this many, the first in alphabetical
/// order are kept (a receptionist types another letter long before reading that far).
pub const MAX_EXPANSIONS: usize = 128;

/// Most ways one query may have: which ways matched a document is a 64-bit mask.
const MAX_WAYS: usize = 64;

/// The words one way matches.
#[derive(Clone)]
pub(crate) enum Words {
    /// These exact terms (each naming its field).
    Exact(Vec<Term>),
    /// Every word of the field the automaton accepts: the automaton walks the dictionary
    /// of [`Ways`]'s `all_words` field once per segment (at most [`MAX_EXPANSIONS`] words)
    /// and looks each word up in its fields, which must include this one; what it found is
    /// kept across searches by `expansions`.
    Automaton(Field, Arc<Automaton>),
}

impl fmt::Debug for Words {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Words::Exact(terms) => f.debug_tuple("Exact").field(terms).finish(),
            Words::Automaton(field, _) => f.debug_tuple("Automaton").field(field).finish(),
        }
    }
}

/// One way of matching: any of `words`, scoring `score` however many of them a document
/// holds.
#[derive(Debug, Clone)]
pub(crate) struct Way {
    pub words: Words,
    pub score: Score,
}

/// A document matches if any way does. Its score is the best matching way's plus
/// `tie_breaker` times the others' (each way counted once): 0.1 lets a word that sounds
/// alike and is one typo away beat one that only sounds alike; 1.0 adds them up.
#[derive(Debug, Clone)]
pub(crate) struct Ways {
    ways: Arc<[Way]>,
    tie_breaker: Score,
    /// The field holding every word of the fields automata run on.
    all_words: Field,
}

impl Ways {
    /// The query for `ways` (at most 64; more are dropped, which `queries` never asks for).
    /// Automata walk the dictionary of `all_words`, which must hold every word of the
    /// fields they name.
    pub(crate) fn new(mut ways: Vec<Way>, tie_breaker: Score, all_words: Field) -> Self {
        ways.truncate(MAX_WAYS);
        Ways { ways: ways.into(), tie_breaker, all_words }
    }
}

impl Query for Ways {
    fn weight(&self, _scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(WaysWeight(self.clone())))
    }
}

struct WaysWeight(Ways);

impl WaysWeight {
    fn ways_scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<WaysScorer> {
        // Every word's postings are found first, so the (large) postings readers are made
        // once each into a vector of the right size.
        let mut found: Vec<(Arc<InvertedIndexReader>, TermInfo, u8)> = Vec::new();
        // Each field's reader is fetched once (a look-up behind a lock in tantivy).
        let mut readers: Vec<(Field, Arc<InvertedIndexReader>)> = Vec::new();
        let mut inverted = |field: Field| -> tantivy::Result<Arc<InvertedIndexReader>> {
            if let Some((_, index)) = readers.iter().find(|(f, _)| *f == field) {
                return Ok(index.clone());
            }
            let index = reader.inverted_index(field)?;
            readers.push((field, index.clone()));
            Ok(index)
        };
        for (i, way) in self.0.ways.iter().enumerate() {
            let way_id = i as u8;
            match &way.words {
                Words::Exact(terms) => {
                    for term in terms {
                        let index = inverted(term.field())?;
                        if let Some(info) = index.get_term_info(term)? {
                            found.push((index, info, way_id));
                        }
                    }
                }
                Words::Automaton(field, automaton) => {
                    // What the automaton found is kept per segment (`expansions`): the same
                    // automaton serves several fields, and most searches repeat earlier words.
                    let Some(at) = automaton.field_at(*field) else { continue };
                    let found_here = automaton.found(reader.segment_id(), self.0.all_words, &mut inverted)?;
                    let index = inverted(*field)?;
                    for info in found_here[at].iter() {
                        found.push((index.clone(), info.clone(), way_id));
                    }
                }
            }
        }
        let mut children = Vec::with_capacity(found.len());
        for (index, info, way) in found {
            let postings = index.read_postings_from_terminfo(&info, IndexRecordOption::Basic)?;
            children.push(Child { postings, way });
        }
        Ok(WaysScorer::new(children, self.0.ways.iter().map(|w| w.score * boost).collect(), self.0.tie_breaker))
    }
}

impl Weight for WaysWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let scorer = self.ways_scorer(reader, boost)?;
        if scorer.doc == TERMINATED { Ok(Box::new(EmptyScorer)) } else { Ok(Box::new(scorer)) }
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.ways_scorer(reader, 1.0)?;
        if scorer.seek(doc) == doc {
            Ok(Explanation::new("Ways", scorer.score()))
        } else {
            Err(tantivy::TantivyError::InvalidArgument(format!("document {doc} does not match")))
        }
    }
}

/// The postings of one accepted word, and the way it belongs to.
struct Child {
    postings: SegmentPostings,
    way: u8,
}

/// The union of every child's postings, in document order: a min-heap of the children not
/// on the current document, and the list of those that are.
struct WaysScorer {
    children: Vec<Child>,
    heap: BinaryHeap<Reverse<(DocId, u32)>>,
    /// Children positioned on `doc`.
    current: Vec<u32>,
    doc: DocId,
    /// Each way's score (boost included).
    scores: Vec<Score>,
    tie_breaker: Score,
}

impl WaysScorer {
    fn new(children: Vec<Child>, scores: Vec<Score>, tie_breaker: Score) -> Self {
        let heap = children
            .iter()
            .enumerate()
            .map(|(i, c)| (c.postings.doc(), i as u32))
            .filter(|&(doc, _)| doc != TERMINATED)
            .map(Reverse)
            .collect();
        let mut scorer = WaysScorer { children, heap, current: Vec::new(), doc: TERMINATED, scores, tie_breaker };
        scorer.take_current();
        scorer
    }

    /// Moves the children on the smallest document from the heap to `current`.
    fn take_current(&mut self) {
        self.current.clear();
        let Some(&Reverse((doc, _))) = self.heap.peek() else {
            self.doc = TERMINATED;
            return;
        };
        self.doc = doc;
        while let Some(&Reverse((d, i))) = self.heap.peek() {
            if d != doc {
                break;
            }
            self.heap.pop();
            self.current.push(i);
        }
    }
}

impl DocSet for WaysScorer {
    fn advance(&mut self) -> DocId {
        for &i in &self.current {
            let doc = self.children[i as usize].postings.advance();
            if doc != TERMINATED {
                self.heap.push(Reverse((doc, i)));
            }
        }
        self.take_current();
        self.doc
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc >= target {
            return self.doc;
        }
        for &i in &self.current {
            let doc = self.children[i as usize].postings.seek(target);
            if doc != TERMINATED {
                self.heap.push(Reverse((doc, i)));
            }
        }
        while let Some(&Reverse((doc, i))) = self.heap.peek() {
            if doc >= target {
                break;
            }
            self.heap.pop();
            let doc = self.children[i as usize].postings.seek(target);
            if doc != TERMINATED {
                self.heap.push(Reverse((doc, i)));
            }
        }
        self.take_current();
        self.doc
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.children.iter().fold(0u32, |n, c| n.saturating_add(c.postings.size_hint()))
    }
}

impl Scorer for WaysScorer {
    fn score(&mut self) -> Score {
        let mut seen = 0u64;
        let (mut best, mut sum) = (0.0f32, 0.0f32);
        for &i in &self.current {
            let way = self.children[i as usize].way;
            if seen & (1 << way) == 0 {
                seen |= 1 << way;
                let score = self.scores[usize::from(way)];
                best = best.max(score);
                sum += score;
            }
        }
        best + (sum - best) * self.tie_breaker
    }
}
