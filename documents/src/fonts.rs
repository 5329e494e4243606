//! The two fonts every document uses (DejaVu Sans, regular and bold, from the `dejavu`
//! crate) and text measurement from their advance widths, so wrapping and columns agree with
//! what is drawn.

use std::sync::OnceLock;

use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};

/// Regular or bold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Weight {
    Regular,
    Bold,
}

pub(crate) fn bytes(weight: Weight) -> &'static [u8] {
    match weight {
        Weight::Regular => dejavu::sans::regular(),
        Weight::Bold => dejavu::sans::bold(),
    }
}

/// Advance widths in em of the characters below U+0250 (Latin, with every accented Latin
/// letter), looked up once; other characters are measured through the font each time.
struct Metrics {
    table: Vec<f32>,
}

const TABLE: usize = 0x250;

fn metrics(weight: Weight) -> &'static Metrics {
    static REGULAR: OnceLock<Metrics> = OnceLock::new();
    static BOLD: OnceLock<Metrics> = OnceLock::new();
    let cell = match weight {
        Weight::Regular => &REGULAR,
        Weight::Bold => &BOLD,
    };
    cell.get_or_init(|| Metrics { table: (0..TABLE as u32).map(|c| advance(weight, c)).collect() })
}

/// The advance of one character in em; a character the font lacks measures as its missing
/// glyph (drawn as a box) does.
fn advance(weight: Weight, c: u32) -> f32 {
    let Ok(font) = FontRef::new(bytes(weight)) else {
        return 0.6;
    };
    let upem = f32::from(font.metrics(Size::unscaled(), LocationRef::default()).units_per_em.max(1));
    let glyph = font.charmap().map(c).unwrap_or_default();
    font.glyph_metrics(Size::unscaled(), LocationRef::default()).advance_width(glyph).unwrap_or(0.0) / upem
}

/// The width of `text` in points at `size` points, in the regular (or bold) face.
pub fn text_width(text: &str, size: f32, bold: bool) -> f32 {
    let weight = if bold { Weight::Bold } else { Weight::Regular };
    let m = metrics(weight);
    let em: f32 = text
        .chars()
        .map(|c| {
            let i = c as usize;
            // Combining marks sit on the letter before them.
            if ('\u{300}'..='\u{36F}').contains(&c) {
                0.0
            } else if i < TABLE {
                m.table[i]
            } else {
                advance(weight, c as u32)
            }
        })
        .sum();
    em * size
}
