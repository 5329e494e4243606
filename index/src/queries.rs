//! Turning what staff type into a tantivy query. Input is only ever text: it is analysed with
//! the same analyser as the documents and the query is assembled term by term, so quotes,
//! colons, `AND` or brackets are just characters. It must not run searches.
//!
//! Shape of a query, for input "jane smi":
//! - every term must match (AND). A term's score is its best way of matching, times the
//!   weight of the field it matched in (a record's own name 1.0, its owner's name 0.8, breed
//!   and colour 0.6; see `Fields::weighted_text`):
//!   exactly (3), as a prefix if it is the last term, still being typed and at least two
//!   characters long (2), by sound
//!   (Double Metaphone code, 1.5, not weighted), or within an edit distance that grows with
//!   its length (1, see [`fuzzy_distance`]);
//! - an all-digit term of four or more digits also matches phone digits or a microchip
//!   exactly (3), so "smith 4567" works;
//! - independently, if the whole input looks like a phone number, a microchip, an email or a
//!   document number, an exact match on those fields scores 100, which ranks it above any
//!   name match;
//! - filters (kinds the caller may see, optionally only their own records; statuses) are
//!   required clauses that add nothing to the score.
//!
//! Each Levenshtein automaton is built at most once per term and run over the term dictionary
//! of each segment (what it found there, the dictionary entries of the words it accepted in
//! each field, is kept across searches: `expansions`), and the postings of the words it accepts (at most
//! [`MAX_EXPANSIONS`](crate::ways::MAX_EXPANSIONS) per field and segment) are merged by one
//! scorer per term ([`Ways`]), which skips through them when a rarer term drives the
//! intersection. (tantivy's own fuzzy query reads every posting of every accepted word into a
//! bitset as large as the whole index, for each field; at a million records that costs more
//! than the rest of the search. Its union and disjunction queries allocate a large buffer
//! each per segment; see `ways`.)

use std::sync::Arc;

use tantivy::query::{BooleanQuery, ConstScorer, EnableScoring, Explanation, Occur, Query, Scorer, TermQuery, Weight};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DocId, DocSet, Score, SegmentReader, Term};

use crate::documents::MIN_PHONE_PREFIX;
use crate::expansions::{Automaton, Expansions};
use crate::phonetic;
use crate::schema::Fields;
use crate::ways::{Way, Ways, Words};
use clowder_schemas::UserId;
use clowder_schemas::search::{SearchKind, SearchStatus};

/// Longer input is cut to this many characters before it is analysed.
pub const MAX_QUERY_CHARS: usize = 256;

/// Terms after this many are ignored, which bounds the work one search can cause.
pub const MAX_QUERY_TERMS: usize = 16;

const IDENTIFIER_SCORE: f32 = 100.0;
const EXACT_SCORE: f32 = 3.0;
const PREFIX_SCORE: f32 = 2.0;
const PHONETIC_SCORE: f32 = 1.5;
const FUZZY_SCORE: f32 = 1.0;
/// A number found from its first digits ranks below an exact number (`IDENTIFIER_SCORE`) and
/// above any name match of the same input.
const PHONE_PREFIX_SCORE: f32 = 50.0;
const TIE_BREAKER: f32 = 0.1;

/// Fewest characters a word being typed needs before it matches as a prefix: one letter
/// would match a large share of a clinic's records, and shows a receptionist nothing useful.
pub(crate) const MIN_PREFIX_CHARS: usize = 2;

/// Fewest digits that make input a phone or microchip lookup: the last four of a phone.
const MIN_IDENTIFIER_DIGITS: usize = 4;

/// Which records a search may return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The kinds of record to search, each perhaps narrowed to one creator's records. Empty
    /// finds nothing.
    pub kinds: Vec<KindFilter>,
    /// The statuses to return; empty returns every status.
    pub statuses: Vec<SearchStatus>,
}

impl Filter {
    /// Every kind and every status: for tools and tests.
    pub fn everything() -> Self {
        Filter {
            kinds: SearchKind::ALL.iter().map(|&kind| KindFilter { kind, created_by: None }).collect(),
            statuses: Vec::new(),
        }
    }
}

/// One kind of record a search may return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindFilter {
    pub kind: SearchKind,
    /// Only records this user created (a permission held with scope `own`).
    pub created_by: Option<UserId>,
}

/// A query term as the planner and the highlighter see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueryTerm {
    /// Analysed: lower case, accents folded.
    pub text: String,
    /// The last term while it is still being typed: it also matches as a prefix.
    pub partial: bool,
    /// Edits forgiven (see [`fuzzy_distance`]).
    pub distance: u8,
    /// Its phonetic codes.
    pub codes: Vec<String>,
}

impl QueryTerm {
    fn is_digits(&self) -> bool {
        self.text.bytes().all(|b| b.is_ascii_digit())
    }

    fn is_identifier_digits(&self) -> bool {
        self.text.len() >= MIN_IDENTIFIER_DIGITS && self.is_digits()
    }
}

/// What the whole input may be as an identifier.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Identifier {
    /// Phone or microchip digits to look up (with and without a trunk or international
    /// prefix).
    pub digits: Vec<String>,
    /// Leading digits of a phone number being typed (with and without a trunk or
    /// international prefix), three or more.
    pub phone_prefixes: Vec<String>,
    /// A lower-cased email address.
    pub email: Option<String>,
    /// A lower-cased document number.
    pub number: Option<String>,
}

/// A built query, and what the highlighter needs to show why a record matched.
pub(crate) struct Plan {
    pub query: Box<dyn Query>,
    pub terms: Vec<QueryTerm>,
    pub identifier: Identifier,
}

/// Builds the query for `input`, or `None` when there is nothing to search for (blank input,
/// or a filter that allows nothing).
pub(crate) fn build(
    fields: &Fields,
    analyzer: &mut TextAnalyzer,
    expansions: &Arc<Expansions>,
    input: &str,
    filter: &Filter,
) -> tantivy::Result<Option<Plan>> {
    let input = truncate(input, MAX_QUERY_CHARS);
    let identifier = identifier(input.trim());
    let terms = terms(analyzer, input);
    let Some(filters) = filter_clauses(fields, filter) else { return Ok(None) };
    let by_identifier = identifier_query(fields, &identifier);
    let mut by_terms: Vec<Box<dyn Query>> = terms.iter().map(|term| term_query(fields, expansions, term)).collect();
    let by_text = match by_terms.len() {
        0 => None,
        1 => by_terms.pop(),
        _ => {
            Some(Box::new(BooleanQuery::new(by_terms.into_iter().map(|q| (Occur::Must, q)).collect())) as Box<dyn Query>)
        }
    };
    let matching: Box<dyn Query> = match (by_identifier, by_text) {
        (None, None) => return Ok(None),
        (Some(q), None) | (None, Some(q)) => q,
        (Some(id), Some(text)) => Box::new(BooleanQuery::new(vec![(Occur::Should, id), (Occur::Should, text)])),
    };
    let query = if filters.is_empty() {
        matching
    } else {
        let mut clauses = vec![(Occur::Must, matching)];
        clauses.extend(filters.into_iter().map(|q| (Occur::Must, q)));
        Box::new(BooleanQuery::new(clauses))
    };
    Ok(Some(Plan { query, terms, identifier }))
}

/// The largest number of edits (insertions, deletions, substitutions, or transpositions of
/// two neighbours) a query term may be from an indexed term: none up to three characters,
/// one up to seven, two from eight.
pub(crate) fn fuzzy_distance(term: &str) -> u8 {
    match term.chars().count() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

pub(crate) fn truncate(input: &str, max_chars: usize) -> &str {
    match input.char_indices().nth(max_chars) {
        Some((end, _)) => &input[..end],
        None => input,
    }
}

fn terms(analyzer: &mut TextAnalyzer, input: &str) -> Vec<QueryTerm> {
    let mut texts = Vec::new();
    let mut stream = analyzer.token_stream(input);
    while texts.len() < MAX_QUERY_TERMS && stream.advance() {
        texts.push(stream.token().text.clone());
    }
    // While typing, the last word is incomplete; after a space it is a whole word.
    let last_is_partial = !input.ends_with(char::is_whitespace);
    let last = texts.len().saturating_sub(1);
    texts
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            let partial = i == last && last_is_partial && text.chars().count() >= MIN_PREFIX_CHARS;
            // A word still being typed is coded only once it is long enough to say how it
            // sounds; "smi" would otherwise match every S-M name.
            let codes = if partial && text.chars().count() < 4 { Vec::new() } else { phonetic::codes(&text) };
            QueryTerm { distance: fuzzy_distance(&text), partial, codes, text }
        })
        .collect()
}

/// The filter clauses, or `None` if the filter allows no record at all.
fn filter_clauses(fields: &Fields, filter: &Filter) -> Option<Vec<Box<dyn Query>>> {
    if filter.kinds.is_empty() {
        return None;
    }
    let mut clauses = Vec::new();
    let all_kinds = SearchKind::ALL.iter().all(|k| filter.kinds.iter().any(|f| f.kind == *k && f.created_by.is_none()));
    if !all_kinds {
        let kinds = filter
            .kinds
            .iter()
            .map(|f| {
                let kind = exact_term(fields.kind, f.kind.as_str());
                match f.created_by {
                    None => kind,
                    Some(user) => Box::new(BooleanQuery::new(vec![
                        (Occur::Must, kind),
                        (Occur::Must, exact_term(fields.created_by, &user.to_string())),
                    ])),
                }
            })
            .collect();
        clauses.push(no_score(Box::new(BooleanQuery::union(kinds))));
    }
    if !filter.statuses.is_empty() {
        let statuses = filter.statuses.iter().map(|s| text_term(fields.status, s.as_str())).collect();
        clauses.push(Box::new(Ways::new(vec![Way { words: Words::Exact(statuses), score: 0.0 }], 0.0, fields.words)));
    }
    Some(clauses)
}

/// How one analysed term may match a document: the best of its ways, plus a tenth of the
/// others.
fn term_query(fields: &Fields, expansions: &Arc<Expansions>, term: &QueryTerm) -> Box<dyn Query> {
    let text_fields = fields.weighted_text();
    let mut ways: Vec<Way> = Vec::new();
    for (field, weight) in text_fields {
        ways.push(Way { words: Words::Exact(vec![text_term(field, &term.text)]), score: EXACT_SCORE * weight });
    }
    if term.is_identifier_digits() {
        // One way over two fields: a phone or a chip scores once.
        let terms = vec![text_term(fields.phone_digits, &term.text), text_term(fields.microchip, &term.text)];
        ways.push(Way { words: Words::Exact(terms), score: EXACT_SCORE });
    }
    // Digits are looked up exactly (phones, chips); names hold no digits worth a typo.
    if !term.is_digits() {
        let automaton_fields: Arc<[Field]> = text_fields.iter().map(|&(field, _)| field).collect();
        if term.partial {
            let prefix = Arc::new(Automaton::new(&term.text, 0, true, automaton_fields.clone(), expansions.clone()));
            for (field, weight) in text_fields {
                ways.push(Way { words: Words::Automaton(field, prefix.clone()), score: PREFIX_SCORE * weight });
            }
        }
        if !term.codes.is_empty() {
            let codes = term.codes.iter().map(|c| text_term(fields.phonetic, c)).collect();
            ways.push(Way { words: Words::Exact(codes), score: PHONETIC_SCORE });
        }
        if term.distance > 0 {
            let near = Arc::new(Automaton::new(&term.text, term.distance, false, automaton_fields, expansions.clone()));
            for (field, weight) in text_fields {
                ways.push(Way { words: Words::Automaton(field, near.clone()), score: FUZZY_SCORE * weight });
            }
        }
    }
    // A small share of the other ways that also matched breaks ties: a word that sounds
    // like the term and is one typo away ranks above one that only sounds like it.
    Box::new(Ways::new(ways, TIE_BREAKER, fields.words))
}

/// What the whole input is, if it looks like a phone number, microchip, email or document
/// number.
fn identifier(input: &str) -> Identifier {
    let mut id = Identifier::default();
    if let Some(digits) = phone_like_digits(input, MIN_PHONE_PREFIX) {
        // "00" is the international call prefix and a single "0" the trunk prefix of many
        // national numbers; neither is part of the stored digits.
        let stripped = digits.strip_prefix("00").unwrap_or(&digits).trim_start_matches('0').to_owned();
        let stripped = (stripped != digits).then_some(stripped);
        for d in std::iter::once(&digits).chain(&stripped) {
            if d.len() >= MIN_IDENTIFIER_DIGITS {
                id.digits.push(d.clone());
            }
            if d.len() >= MIN_PHONE_PREFIX {
                id.phone_prefixes.push(d.clone());
            }
        }
    }
    if input.contains('@') && !input.contains(char::is_whitespace) {
        id.email = Some(input.to_lowercase());
    }
    if is_document_number(input) {
        id.number = Some(input.to_lowercase());
    }
    id
}

/// "INV-2026-0042", "RX1234": one word of letters, digits and dashes with at least one digit.
fn is_document_number(input: &str) -> bool {
    (3..=40).contains(&input.len())
        && input.bytes().any(|b| b.is_ascii_digit())
        && input.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'/')
}

fn identifier_query(fields: &Fields, id: &Identifier) -> Option<Box<dyn Query>> {
    let mut exact = Vec::new();
    for digits in &id.digits {
        exact.push(text_term(fields.phone_digits, digits));
        exact.push(text_term(fields.microchip, digits));
    }
    if let Some(email) = &id.email {
        exact.push(text_term(fields.email, email));
    }
    if let Some(number) = &id.number {
        exact.push(text_term(fields.number, number));
    }
    let prefixes: Vec<Term> = id.phone_prefixes.iter().map(|d| text_term(fields.phone_prefix, d)).collect();
    let mut ways = Vec::new();
    if !exact.is_empty() {
        ways.push(Way { words: Words::Exact(exact), score: IDENTIFIER_SCORE });
    }
    if !prefixes.is_empty() {
        ways.push(Way { words: Words::Exact(prefixes), score: PHONE_PREFIX_SCORE });
    }
    // An exact number scores both ways (summed) and so stays above one that only starts
    // alike.
    (!ways.is_empty()).then(|| Box::new(Ways::new(ways, 1.0, fields.words)) as Box<dyn Query>)
}

/// The digits of input written like a phone or microchip number ("+1 (555) 123-4567",
/// "985 141 000 123 456"), if it has at least `min` of them.
pub(crate) fn phone_like_digits(input: &str, min: usize) -> Option<String> {
    let is_phone_char = |c: char| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '.' | '(' | ')' | '/');
    if !input.chars().all(is_phone_char) {
        return None;
    }
    let digits: String = input.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= min).then_some(digits)
}

fn exact_term(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(text_term(field, text), IndexRecordOption::Basic))
}

fn text_term(field: Field, text: &str) -> Term {
    Term::from_field_text(field, text)
}

fn no_score(query: Box<dyn Query>) -> Box<dyn Query> {
    Box::new(Flat { inner: query, score: 0.0 })
}

/// Every match of `inner` scores `score`. Unlike tantivy's `ConstScoreQuery`, the inner
/// query's weight is built with scoring off, so its term queries skip the BM25 statistics
/// (document frequencies looked up in every segment) that would be thrown away: a typo-
/// tolerant query holds hundreds of term queries.
#[derive(Debug)]
struct Flat {
    inner: Box<dyn Query>,
    score: Score,
}

impl Clone for Flat {
    fn clone(&self) -> Self {
        Flat { inner: self.inner.box_clone(), score: self.score }
    }
}

impl Query for Flat {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let unscored = match scoring.searcher() {
            Some(searcher) => EnableScoring::disabled_from_searcher(searcher),
            None => scoring,
        };
        Ok(Box::new(FlatWeight { inner: self.inner.weight(unscored)?, score: self.score }))
    }
}

struct FlatWeight {
    inner: Box<dyn Weight>,
    score: Score,
}

impl Weight for FlatWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let docs = self.inner.scorer(reader, 1.0)?;
        Ok(Box::new(ConstScorer::new(docs, self.score * boost)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) == doc {
            Ok(Explanation::new("Flat", scorer.score()))
        } else {
            Err(tantivy::TantivyError::InvalidArgument(format!("document {doc} does not match")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::text_analyzer;

    #[test]
    fn distance_grows_with_term_length() {
        for (term, expected) in [("", 0), ("cat", 0), ("zoë", 0), ("mitt", 1), ("mittens", 1), ("smithson", 2)] {
            assert_eq!(fuzzy_distance(term), expected, "{term}");
        }
    }

    #[test]
    fn truncation_counts_characters_not_bytes() {
        let input = "é".repeat(300);
        assert_eq!(truncate(&input, MAX_QUERY_CHARS).chars().count(), MAX_QUERY_CHARS);
        assert_eq!(truncate("short", MAX_QUERY_CHARS), "short");
    }

    #[test]
    fn terms_are_analysed_like_documents_and_capped() {
        let mut analyzer = text_analyzer();
        let texts = |input: &str, analyzer: &mut TextAnalyzer| -> Vec<String> {
            terms(analyzer, input).into_iter().map(|t| t.text).collect()
        };
        assert_eq!(texts(r#"  "Zoë" O'Brien name:SMITH* "#, &mut analyzer), ["zoe", "o", "brien", "name", "smith"]);
        let many = "cat ".repeat(MAX_QUERY_TERMS + 5);
        assert_eq!(terms(&mut analyzer, &many).len(), MAX_QUERY_TERMS);
    }

    #[test]
    fn only_the_last_word_being_typed_is_partial_and_short_partials_have_no_sound() {
        let mut analyzer = text_analyzer();
        let t = terms(&mut analyzer, "jon smi");
        assert_eq!((t[0].partial, t[1].partial), (false, true));
        assert_eq!(t[0].codes, ["JN", "AN"]);
        assert!(t[1].codes.is_empty(), "{:?}", t[1].codes);
        let t = terms(&mut analyzer, "jon smi ");
        assert!(!t[1].partial);
        assert!(!terms(&mut analyzer, "s")[0].partial, "one letter is no prefix");
    }

    #[test]
    fn phone_like_input_yields_its_digits() {
        let cases = [
            ("+1 (555) 123-4567", Some("15551234567")),
            ("4567", Some("4567")),
            ("456", None),
            ("555-CATS", None),
            ("", None),
        ];
        for (input, expected) in cases {
            assert_eq!(phone_like_digits(input, MIN_IDENTIFIER_DIGITS).as_deref(), expected, "{input}");
        }
    }

    #[test]
    fn document_numbers_are_single_words_with_digits() {
        assert!(is_document_number("INV-2026-0042"));
        assert!(is_document_number("rx1234"));
        assert!(!is_document_number("smith"));
        assert!(!is_document_number("inv 42"));
        assert!(!is_document_number("12"));
    }
}
