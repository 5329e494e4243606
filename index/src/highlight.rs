//! Why a record matched: the stored values of a hit's fields cut into fragments, with the
//! words that matched a query term marked. It repeats the matching rules of `queries` on the
//! few words of one hit (exact, prefix of the word being typed, sound, edit distance; phone,
//! microchip, email and number equality) and must not run searches.
//!
//! Fragments are plain text: the caller decides how to show a marked one (the UI wraps it in
//! `<mark>` as a text node). Byte offsets never leave this module, so no client has to map
//! UTF-8 offsets to its own string indexing.

use tantivy::TantivyDocument;
use tantivy::schema::{Field, Value};
use tantivy::tokenizer::TextAnalyzer;

use crate::documents::{phone_prefix_tokens, stored_text_fields};
use crate::phonetic;
use crate::queries::{Identifier, QueryTerm};
use crate::schema::Fields;

/// One field of a hit, cut into fragments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Highlight {
    /// `name`, `owner`, `breed`, `color`, `phone`, `microchip`, `email` or `number`.
    pub field: &'static str,
    /// The field's value, in order; concatenated they give the whole value.
    pub fragments: Vec<Fragment>,
}

/// A piece of a field's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    pub text: String,
    /// This piece matched the query.
    pub matched: bool,
}

/// The highlights of one hit: every field in which some query term matched.
pub(crate) fn highlights(
    f: &Fields,
    analyzer: &mut TextAnalyzer,
    doc: &TantivyDocument,
    terms: &[QueryTerm],
    id: &Identifier,
) -> Vec<Highlight> {
    let mut out = Vec::new();
    for (name, field) in stored_text_fields(f) {
        for value in values(doc, field) {
            let mut ranges = Vec::new();
            let mut stream = analyzer.token_stream(value);
            while stream.advance() {
                let token = stream.token();
                // A word's sound is coded once, whatever the number of terms, and only when
                // no cheaper rule matched: coding is the costly part of a highlight.
                let mut codes = None;
                if terms.iter().any(|t| word_matches(&token.text, &mut codes, t)) {
                    ranges.push((token.offset_from, token.offset_to));
                }
            }
            if !ranges.is_empty() {
                out.push(Highlight { field: name, fragments: fragments(value, &ranges) });
            }
        }
    }
    let digit_terms: Vec<&str> = terms
        .iter()
        .map(|t| t.text.as_str())
        .filter(|t| t.len() >= 4 && t.bytes().all(|b| b.is_ascii_digit()))
        .chain(id.digits.iter().map(String::as_str))
        .collect();
    for phone in values(doc, f.phone_display) {
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        let typed_from_start = !id.phone_prefixes.is_empty()
            && phone_prefix_tokens(&digits).iter().any(|t| id.phone_prefixes.iter().any(|p| p == t));
        if typed_from_start || digit_terms.iter().any(|d| phone_matches(&digits, d)) {
            out.push(whole("phone", phone));
        }
    }
    for chip in values(doc, f.microchip) {
        if digit_terms.contains(&chip) {
            out.push(whole("microchip", chip));
        }
    }
    for email in values(doc, f.email) {
        if id.email.as_deref() == Some(email) {
            out.push(whole("email", email));
        }
    }
    for number in values(doc, f.number) {
        if id.number.as_deref() == Some(number) {
            out.push(whole("number", number));
        }
    }
    out
}

fn values(doc: &TantivyDocument, field: Field) -> impl Iterator<Item = &str> {
    doc.get_all(field).filter_map(|v| v.as_str())
}

fn whole(field: &'static str, text: &str) -> Highlight {
    Highlight { field, fragments: vec![Fragment { text: text.to_owned(), matched: true }] }
}

/// The same rules as the indexed phone tokens: the whole number, a trailing run of seven or
/// more digits, or the last four.
fn phone_matches(digits: &str, query: &str) -> bool {
    digits == query || (digits.ends_with(query) && (query.len() == 4 || query.len() >= 7))
}

/// Whether an analysed word of a document (with its phonetic `codes`) matches a query term the
/// way the query allows.
/// `codes` holds the word's phonetic codes once computed.
fn word_matches(word: &str, codes: &mut Option<Vec<String>>, term: &QueryTerm) -> bool {
    word == term.text
        || (term.partial && word.starts_with(&term.text))
        || (!term.codes.is_empty()
            && codes.get_or_insert_with(|| phonetic::codes(word)).iter().any(|c| term.codes.contains(c)))
        || (term.distance > 0 && within_edits(word, &term.text, usize::from(term.distance)))
}

/// Whether `a` and `b` are at most `max` edits apart ([`edit_distance`]). Words whose lengths
/// differ by more than `max` never are, and most words of a hit are far from a query word,
/// so those skip the table (and its allocations) altogether.
fn within_edits(a: &str, b: &str, max: usize) -> bool {
    let (la, lb) = (a.chars().count(), b.chars().count());
    la.abs_diff(lb) <= max && edit_distance(a, b) <= max
}

/// Edits between two words (insert, delete, substitute, swap two neighbours), counted as the
/// query's Levenshtein automata count them (optimal string alignment).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows suffice: the current one, the previous one, and the one before for swaps.
    let mut before = vec![0usize; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0usize; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(before[j - 2] + 1);
            }
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Cuts `text` at the (sorted, possibly overlapping) byte ranges of matched words.
fn fragments(text: &str, ranges: &[(usize, usize)]) -> Vec<Fragment> {
    let mut out = Vec::new();
    let mut at = 0;
    for &(from, to) in ranges {
        // Tokenizer offsets are char boundaries of `text`; clamp defensively all the same.
        let (from, to) = (from.max(at).min(text.len()), to.min(text.len()));
        if from >= to || !text.is_char_boundary(from) || !text.is_char_boundary(to) {
            continue;
        }
        if from > at {
            out.push(Fragment { text: text[at..from].to_owned(), matched: false });
        }
        match out.last_mut() {
            Some(last) if last.matched && from == at => last.text.push_str(&text[from..to]),
            _ => out.push(Fragment { text: text[from..to].to_owned(), matched: true }),
        }
        at = to;
    }
    if at < text.len() {
        out.push(Fragment { text: text[at..].to_owned(), matched: false });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_a_swap_as_one() {
        for (a, b, d) in [
            ("smith", "smith", 0),
            ("smith", "smyth", 1),
            ("smith", "smiht", 1),
            ("smith", "smit", 1),
            ("mittens", "mitetns", 1),
            ("mittens", "mtitesn", 2),
            ("", "abc", 3),
            ("zoe", "zoë", 1),
        ] {
            assert_eq!(edit_distance(a, b), d, "{a} {b}");
        }
    }

    #[test]
    fn within_edits_agrees_with_the_distance() {
        let words = ["smith", "smyth", "smiht", "smit", "sm", "smithson", "zoe", "zoë", "", "mittens", "mitetns"];
        for a in words {
            for b in words {
                for max in 0..=3 {
                    assert_eq!(within_edits(a, b, max), edit_distance(a, b) <= max, "{a} {b} {max}");
                }
            }
        }
    }

    #[test]
    fn fragments_cover_the_whole_text_and_mark_the_ranges() {
        let f = fragments("Zoë Lefèvre", &[(0, 4)]);
        assert_eq!(
            f,
            [Fragment { text: "Zoë".into(), matched: true }, Fragment { text: " Lefèvre".into(), matched: false }]
        );
        let f = fragments("John Smith", &[(0, 4), (5, 10)]);
        assert_eq!(f.iter().map(|f| f.text.as_str()).collect::<String>(), "John Smith");
        assert_eq!(f.iter().filter(|f| f.matched).count(), 2);
        assert!(fragments("abc", &[(1, 99)]).iter().map(|f| f.text.len()).sum::<usize>() == 3);
    }
}
