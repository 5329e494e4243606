//! Turning what staff type into a tantivy query. Input is only ever text: it is analysed with
//! the same analyser as the documents and the query is assembled term by term, so quotes,
//! colons, `AND` or brackets are just characters. It must not run searches.
//!
//! Shape of a query, for input "jane smi":
//! - every term must match (AND); a term matches any free-text field, exactly (score 3), as
//!   a prefix if it is the last term (score 2), or within an edit distance that grows with
//!   its length (score 1, see [`fuzzy_distance`]); a term's score is its best match;
//! - an all-digit term of four or more digits also matches phone digits or a microchip
//!   exactly (score 3), so "smith 4567" works;
//! - independently, if the whole input looks like a phone number, a microchip or an email,
//!   an exact match on those fields scores 100, which ranks it above any name match.

use tantivy::Term;
use tantivy::query::{BooleanQuery, ConstScoreQuery, DisjunctionMaxQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;

use crate::schema::Fields;

/// Longer input is cut to this many characters before it is analysed.
pub const MAX_QUERY_CHARS: usize = 256;

/// Terms after this many are ignored, which bounds the work one search can cause.
pub const MAX_QUERY_TERMS: usize = 16;

const IDENTIFIER_SCORE: f32 = 100.0;
const EXACT_SCORE: f32 = 3.0;
const PREFIX_SCORE: f32 = 2.0;
const FUZZY_SCORE: f32 = 1.0;

/// Fewest digits that make input a phone or microchip lookup: the last four of a phone.
const MIN_IDENTIFIER_DIGITS: usize = 4;

/// Builds the query for `input`, or `None` when there is nothing to search for.
pub(crate) fn build(fields: &Fields, analyzer: &mut TextAnalyzer, input: &str) -> Option<Box<dyn Query>> {
    let input = truncate(input, MAX_QUERY_CHARS);
    let identifier = identifier_query(fields, input.trim());
    let terms = terms(analyzer, input);
    // While typing, the last word is incomplete; after a space it is a whole word.
    let last_is_partial = !input.ends_with(char::is_whitespace);
    let text = (!terms.is_empty()).then(|| {
        let last = terms.len() - 1;
        let clauses = terms
            .iter()
            .enumerate()
            .map(|(i, term)| (Occur::Must, term_query(fields, term, i == last && last_is_partial)))
            .collect();
        Box::new(BooleanQuery::new(clauses)) as Box<dyn Query>
    });
    match (identifier, text) {
        (None, None) => None,
        (Some(q), None) | (None, Some(q)) => Some(q),
        (Some(id), Some(text)) => Some(Box::new(BooleanQuery::new(vec![(Occur::Should, id), (Occur::Should, text)]))),
    }
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

fn truncate(input: &str, max_chars: usize) -> &str {
    match input.char_indices().nth(max_chars) {
        Some((end, _)) => &input[..end],
        None => input,
    }
}

fn terms(analyzer: &mut TextAnalyzer, input: &str) -> Vec<String> {
    let mut terms = Vec::new();
    let mut stream = analyzer.token_stream(input);
    while terms.len() < MAX_QUERY_TERMS && stream.advance() {
        terms.push(stream.token().text.clone());
    }
    terms
}

/// How one analysed term may match a document.
fn term_query(fields: &Fields, term: &str, is_last: bool) -> Box<dyn Query> {
    let text_fields = fields.text();
    let mut exact: Vec<Box<dyn Query>> = text_fields.iter().map(|&f| exact_term(f, term)).collect();
    if term.len() >= MIN_IDENTIFIER_DIGITS && term.bytes().all(|b| b.is_ascii_digit()) {
        exact.push(exact_term(fields.phone_digits, term));
        exact.push(exact_term(fields.microchip, term));
    }
    let mut ways = vec![scored(exact, EXACT_SCORE)];
    if is_last {
        let prefix = text_fields.iter().map(|&f| fuzzy(f, term, 0, true)).collect();
        ways.push(scored(prefix, PREFIX_SCORE));
    }
    let distance = fuzzy_distance(term);
    if distance > 0 {
        let near = text_fields.iter().map(|&f| fuzzy(f, term, distance, false)).collect();
        ways.push(scored(near, FUZZY_SCORE));
    }
    Box::new(DisjunctionMaxQuery::new(ways))
}

/// An exact match on a phone number, microchip or email when the whole input looks like one.
fn identifier_query(fields: &Fields, input: &str) -> Option<Box<dyn Query>> {
    let mut clauses = Vec::new();
    if let Some(digits) = phone_like_digits(input) {
        let mut candidates = vec![digits.clone()];
        // "00" is the international call prefix and a single "0" the trunk prefix of many
        // national numbers; neither is part of the stored digits.
        let stripped = digits.strip_prefix("00").unwrap_or(&digits).trim_start_matches('0');
        if stripped != digits && stripped.len() >= MIN_IDENTIFIER_DIGITS {
            candidates.push(stripped.to_owned());
        }
        for digits in &candidates {
            clauses.push(exact_term(fields.phone_digits, digits));
            clauses.push(exact_term(fields.microchip, digits));
        }
    }
    if input.contains('@') && !input.contains(char::is_whitespace) {
        clauses.push(exact_term(fields.email, &input.to_lowercase()));
    }
    (!clauses.is_empty()).then(|| scored(clauses, IDENTIFIER_SCORE))
}

/// The digits of input written like a phone or microchip number ("+1 (555) 123-4567",
/// "985 141 000 123 456"), if it has enough of them.
fn phone_like_digits(input: &str) -> Option<String> {
    let is_phone_char = |c: char| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '.' | '(' | ')' | '/');
    if !input.chars().all(is_phone_char) {
        return None;
    }
    let digits: String = input.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= MIN_IDENTIFIER_DIGITS).then_some(digits)
}

fn exact_term(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::Basic))
}

fn fuzzy(field: Field, text: &str, distance: u8, prefix: bool) -> Box<dyn Query> {
    let term = Term::from_field_text(field, text);
    // A transposition ("smiht" for "smith") is one typo, so it costs one edit.
    Box::new(if prefix {
        FuzzyTermQuery::new_prefix(term, distance, true)
    } else {
        FuzzyTermQuery::new(term, distance, true)
    })
}

/// Any of `queries`, every match scoring `score`: the ranking rests on how a term matched,
/// not on term statistics, which are noise for short names.
fn scored(queries: Vec<Box<dyn Query>>, score: f32) -> Box<dyn Query> {
    Box::new(ConstScoreQuery::new(Box::new(BooleanQuery::union(queries)), score))
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
        assert_eq!(terms(&mut analyzer, r#"  "Zoë" O'Brien name:SMITH* "#), ["zoe", "o", "brien", "name", "smith"]);
        let many = "cat ".repeat(MAX_QUERY_TERMS + 5);
        assert_eq!(terms(&mut analyzer, &many).len(), MAX_QUERY_TERMS);
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
            assert_eq!(phone_like_digits(input).as_deref(), expected, "{input}");
        }
    }
}
