//! SMS segments, pure: whether a body fits the GSM 03.38 7-bit alphabet or needs UCS-2, and
//! how many segments (billed messages) it takes. The template editor shows the count and the
//! providers refuse a body over the configured maximum; nothing here sends.
//!
//! GSM-7: the basic set counts one septet a character and the extension table (`€`, `[`,
//! `{`, `|`, …) two (escape + character); 160 septets fit one message, and once split each
//! segment carries 153 (the rest is the concatenation header). UCS-2: UTF-16 code units, 70
//! in one message, 67 a segment. A character is never split across two segments (an escape
//! and its character, or a surrogate pair, travel together), which is why counting is done
//! character by character rather than by dividing.

/// The alphabet a body is sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// The GSM 03.38 default alphabet with its extension table, 7 bits a character.
    Gsm7,
    /// UTF-16 code units (what carriers call UCS-2), 16 bits each.
    Ucs2,
}

/// How a body would travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segments {
    pub encoding: Encoding,
    /// Septets (GSM-7) or UTF-16 code units (UCS-2) in the whole body.
    pub units: usize,
    /// Messages it is split into (1 for an empty body: it still goes as one).
    pub count: usize,
}

/// The GSM 03.38 basic character set (one septet each), in table order.
const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
                     ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The extension table (escape + character, two septets each).
const EXTENSION: &str = "\u{c}^{}\\[~]|€";

/// Septets one character takes in GSM-7, or `None` when it is outside the alphabet.
fn septets(c: char) -> Option<usize> {
    if BASIC.contains(c) {
        Some(1)
    } else if EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Packs characters of the given widths into segments of `single` units when they all fit
/// in one, else of `multi` units each, never splitting a character.
fn pack(widths: impl Iterator<Item = usize> + Clone, single: usize, multi: usize) -> (usize, usize) {
    let units: usize = widths.clone().sum();
    if units <= single {
        return (units, 1);
    }
    let (mut count, mut used) = (1, 0);
    for w in widths {
        if used + w > multi {
            count += 1;
            used = 0;
        }
        used += w;
    }
    (units, count)
}

/// The encoding and segment count of `body`.
pub fn segments(body: &str) -> Segments {
    if body.chars().all(|c| septets(c).is_some()) {
        let (units, count) = pack(body.chars().map(|c| septets(c).unwrap_or(1)), 160, 153);
        Segments { encoding: Encoding::Gsm7, units, count }
    } else {
        let (units, count) = pack(body.chars().map(char::len_utf16), 70, 67);
        Segments { encoding: Encoding::Ucs2, units, count }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Encoding::*;

    fn check(body: &str, encoding: Encoding, units: usize, count: usize) {
        assert_eq!(segments(body), Segments { encoding, units, count }, "{body:?}");
    }

    #[test]
    fn segment_table() {
        let cases: Vec<(String, Encoding, usize, usize)> = vec![
            (String::new(), Gsm7, 0, 1),
            ("Hi Jane, Mochi's check-up is tomorrow at 10:30.".into(), Gsm7, 47, 1),
            ("a".repeat(160), Gsm7, 160, 1),
            ("a".repeat(161), Gsm7, 161, 2),
            ("a".repeat(306), Gsm7, 306, 2),
            ("a".repeat(307), Gsm7, 307, 3),
            // Extension characters count double.
            ("€".repeat(80), Gsm7, 160, 1),
            (format!("{}€", "a".repeat(159)), Gsm7, 161, 2),
            ("{}[]~|^\\".into(), Gsm7, 16, 1),
            // An escape and its character are not split: 152 + € (2) would straddle.
            (format!("{}€{}", "a".repeat(152), "a".repeat(10)), Gsm7, 164, 2),
            (format!("{}€{}", "a".repeat(152), "a".repeat(152)), Gsm7, 306, 3),
            // Accented letters of the basic set stay GSM-7; others switch to UCS-2.
            ("Café à Zürich, señor Ñoño".into(), Gsm7, 25, 1),
            ("Cafè Ç".into(), Gsm7, 6, 1),
            ("ç".into(), Ucs2, 1, 1), // lower-case ç is not in the table (only Ç)
            ("á".into(), Ucs2, 1, 1),
            ("`".into(), Ucs2, 1, 1),
            ("x".repeat(69) + "ü", Gsm7, 70, 1),
            ("Привет".into(), Ucs2, 6, 1),
            ("ы".repeat(70), Ucs2, 70, 1),
            ("ы".repeat(71), Ucs2, 71, 2),
            ("ы".repeat(134), Ucs2, 134, 2),
            ("ы".repeat(135), Ucs2, 135, 3),
            // An emoji is a surrogate pair: two units, never split.
            ("🐱".into(), Ucs2, 2, 1),
            ("🐱".repeat(35), Ucs2, 70, 1),
            (format!("{}🐱{}", "ы".repeat(66), "ы".repeat(5)), Ucs2, 73, 2),
            (format!("{}🐱{}", "ы".repeat(66), "ы".repeat(66)), Ucs2, 134, 3),
        ];
        for (body, encoding, units, count) in cases {
            check(&body, encoding, units, count);
        }
    }

    #[test]
    fn the_tables_have_the_standard_sizes() {
        // 128 positions, one of them the escape to the extension table (not a character).
        assert_eq!(BASIC.chars().count(), 127);
        assert_eq!(EXTENSION.chars().count(), 10);
        assert!(BASIC.chars().all(|c| !EXTENSION.contains(c)));
    }
}
