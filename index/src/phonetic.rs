//! Phonetic codes of words (Double Metaphone, from the rphonetic crate), so "Jon Smyth" finds
//! "John Smith" and "Smith" finds "Schmidt". Documents index the codes of every name word;
//! queries look the codes of each typed word up exactly. It must not decide scoring.

use rphonetic::DoubleMetaphone;

/// Words shorter than this get no phonetic codes: the code of a two-letter word matches far
/// too many names to mean anything.
pub(crate) const MIN_PHONETIC_CHARS: usize = 3;

/// The distinct Double Metaphone codes (primary, then alternate) of one analysed word (lower
/// case, accents folded). Words of digits, or too short, have none.
pub(crate) fn codes(word: &str) -> Vec<String> {
    if word.chars().count() < MIN_PHONETIC_CHARS || !word.chars().any(|c| c.is_ascii_alphabetic()) {
        return Vec::new();
    }
    // The default code length (4) is the algorithm's: longer codes split spellings that
    // sound alike.
    let result = DoubleMetaphone::default().double_metaphone(word);
    let (primary, alternate) = (result.primary(), result.alternate());
    let mut out = Vec::with_capacity(2);
    if !primary.is_empty() {
        out.push(primary);
    }
    if !alternate.is_empty() && !out.contains(&alternate) {
        out.push(alternate);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::codes;

    #[test]
    fn names_that_sound_alike_share_a_code() {
        let shares = |a: &str, b: &str| codes(a).iter().any(|c| codes(b).contains(c));
        for (a, b) in [
            ("jon", "john"),
            ("smyth", "smith"),
            ("smith", "schmidt"),
            ("catherine", "kathryn"),
            ("philip", "filip"),
            ("stephen", "steven"),
            ("thomson", "tomson"),
        ] {
            assert!(shares(a, b), "{a} {:?} and {b} {:?}", codes(a), codes(b));
        }
        assert!(!shares("smith", "jones"));
        assert!(!shares("mittens", "tom"));
    }

    #[test]
    fn short_words_and_numbers_have_no_code() {
        assert!(codes("jo").is_empty());
        assert!(codes("4567").is_empty());
        assert!(codes("").is_empty());
    }
}
