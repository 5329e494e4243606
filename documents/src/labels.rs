//! Label sheets: small self-adhesive labels (prescription labels, patient labels) printed
//! many to a page at the sheet's fixed positions, rather than flowing like a document. Each
//! label is a few lines of text; what does not fit a label's height is cut with "…" (a label
//! cannot grow), and lines wrap at the label's width. Drawn by the same `pdf::write` as
//! documents, so the fonts and text extraction are the same.

use crate::layout::{Item, Page, wrap};
use crate::{Document, DocumentError, Letterhead, PaperSize};

/// Points per millimetre.
const MM: f32 = 72.0 / 25.4;
/// Padding inside a label.
const PAD: f32 = 8.0;
const LEAD: f32 = 1.2;
const ASCENT: f32 = 0.95;

/// A sheet of labels: its paper, grid and positions, in points from the top-left corner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelSheet {
    /// The product the positions are taken from, e.g. "Avery 5163".
    pub name: &'static str,
    pub paper: PaperSize,
    pub columns: u32,
    pub rows: u32,
    pub width: f32,
    pub height: f32,
    /// The first label's top-left corner.
    pub left: f32,
    pub top: f32,
    /// Space between columns and between rows.
    pub gap_x: f32,
    pub gap_y: f32,
}

impl LabelSheet {
    /// Avery 5163 (and its equivalents): US Letter, 2 × 5 labels of 4 × 2 in.
    pub const AVERY_5163: LabelSheet = LabelSheet {
        name: "Avery 5163",
        paper: PaperSize::Letter,
        columns: 2,
        rows: 5,
        width: 288.0,
        height: 144.0,
        left: 11.25,
        top: 36.0,
        gap_x: 13.5,
        gap_y: 0.0,
    };

    /// Avery L7165 (and its equivalents): A4, 2 × 4 labels of 99.1 × 67.7 mm.
    pub const AVERY_L7165: LabelSheet = LabelSheet {
        name: "Avery L7165",
        paper: PaperSize::A4,
        columns: 2,
        rows: 4,
        width: 99.1 * MM,
        height: 67.7 * MM,
        left: 4.65 * MM,
        top: 13.1 * MM,
        gap_x: 2.5 * MM,
        gap_y: 0.0,
    };

    /// The sheet sold for the clinic's paper: Avery 5163 on Letter, L7165 on A4.
    pub fn for_paper(paper: PaperSize) -> LabelSheet {
        match paper {
            PaperSize::Letter => LabelSheet::AVERY_5163,
            PaperSize::A4 => LabelSheet::AVERY_L7165,
        }
    }

    /// Labels on one sheet.
    pub fn per_page(&self) -> usize {
        (self.columns * self.rows) as usize
    }
}

/// One line of a label.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelLine {
    pub text: String,
    pub size: f32,
    pub bold: bool,
}

impl LabelLine {
    /// Body text (8 pt).
    pub fn new(text: impl Into<String>) -> LabelLine {
        LabelLine { text: text.into(), size: 8.0, bold: false }
    }

    /// Bold, at `size` points.
    pub fn bold(text: impl Into<String>, size: f32) -> LabelLine {
        LabelLine { text: text.into(), size, bold: true }
    }
}

/// One label: its lines, top to bottom.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Label {
    pub lines: Vec<LabelLine>,
}

/// Places `labels` on sheets, in reading order, starting `skip` positions into the first
/// sheet (a partly used sheet goes back into the printer).
pub(crate) fn lay_out(sheet: &LabelSheet, labels: &[Label], skip: usize) -> Vec<Page> {
    let per = sheet.per_page().max(1);
    let mut pages: Vec<Page> = Vec::new();
    for (n, label) in labels.iter().enumerate() {
        let slot = n + skip;
        if slot / per >= pages.len() {
            pages.push(Vec::new());
        }
        let i = (slot % per) as u32;
        let (col, row) = (i % sheet.columns, i / sheet.columns);
        let x = sheet.left + col as f32 * (sheet.width + sheet.gap_x) + PAD;
        let top = sheet.top + row as f32 * (sheet.height + sheet.gap_y) + PAD;
        let bottom = top - PAD + sheet.height - PAD;
        let page = pages.last_mut().expect("a page was pushed");
        place(page, label, x, top, bottom, sheet.width - 2.0 * PAD);
    }
    if pages.is_empty() {
        pages.push(Vec::new());
    }
    pages
}

fn place(page: &mut Page, label: &Label, x: f32, top: f32, bottom: f32, width: f32) {
    let mut lines: Vec<Item> = Vec::new();
    let mut y = top;
    let mut cut = false;
    'all: for l in &label.lines {
        for text in wrap(&l.text, l.size, l.bold, width) {
            if y + l.size * LEAD > bottom {
                cut = true;
                break 'all;
            }
            lines.push(Item::Text { x, baseline: y + l.size * ASCENT, size: l.size, bold: l.bold, grey: false, text });
            y += l.size * LEAD;
        }
    }
    // The last line drawn says that more was cut.
    if cut && let Some(Item::Text { text, .. }) = lines.last_mut() {
        *text = format!("{}…", text.trim_end());
    }
    page.extend(lines);
}

/// Renders `labels` on `sheet`, starting `skip` positions into the first sheet.
pub fn render_labels(sheet: &LabelSheet, title: &str, labels: &[Label], skip: usize) -> Result<Vec<u8>, DocumentError> {
    let pages = lay_out(sheet, labels, skip);
    let doc = Document::new(Letterhead::default(), title, "").paper(sheet.paper);
    crate::pdf::write(&doc, &pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(page: &Page) -> Vec<(f32, f32, &str)> {
        page.iter()
            .filter_map(|i| match i {
                Item::Text { x, baseline, text, .. } => Some((*x, *baseline, text.as_str())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn labels_fill_the_sheet_in_reading_order_and_run_onto_a_second_one() {
        let sheet = LabelSheet::AVERY_5163;
        let labels: Vec<Label> = (0..12).map(|i| Label { lines: vec![LabelLine::new(format!("label {i}"))] }).collect();
        let pages = lay_out(&sheet, &labels, 0);
        assert_eq!(pages.len(), 2);
        let first = texts(&pages[0]);
        assert_eq!(first.len(), 10);
        // Label 1 is right of label 0 on the same row; label 2 starts the second row.
        assert!(first[1].0 > first[0].0 && (first[1].1 - first[0].1).abs() < 0.01);
        assert!((first[2].0 - first[0].0).abs() < 0.01 && first[2].1 - first[0].1 > 140.0);
        assert_eq!(texts(&pages[1]).len(), 2);
        // Skipping the first three positions of a used sheet.
        let pages = lay_out(&sheet, &labels[..1], 3);
        let only = texts(&pages[0]);
        assert!(only[0].0 > 200.0, "the second column: {only:?}");
    }

    #[test]
    fn a_label_too_long_for_its_height_is_cut_with_an_ellipsis_never_drawn_past_it() {
        let sheet = LabelSheet::AVERY_5163;
        let long = Label { lines: (0..40).map(|i| LabelLine::new(format!("line {i}"))).collect() };
        let pages = lay_out(&sheet, &[long], 0);
        let lines = texts(&pages[0]);
        assert!(lines.len() < 40);
        assert!(lines.last().unwrap().2.ends_with('…'));
        let bottom = sheet.top + sheet.height;
        assert!(lines.iter().all(|(_, baseline, _)| *baseline < bottom));
    }

    #[test]
    fn documents_rendered_together_keep_their_own_pages() {
        let doc = |n: usize| {
            let mut d = Document::new(Letterhead::default(), format!("doc {n}"), "");
            for i in 0..(n * 80) {
                d.push(crate::Block::Paragraph(format!("line {i}")));
            }
            d
        };
        let (one, two) = (doc(1), doc(2));
        let pages = crate::page_count(&one) + crate::page_count(&two);
        assert!(pages >= 3);
        let pdf = crate::render_many("both", &[one, two]).unwrap();
        assert!(pdf.starts_with(b"%PDF"));
    }

    #[test]
    fn the_sheet_follows_the_paper() {
        assert_eq!(LabelSheet::for_paper(PaperSize::Letter).per_page(), 10);
        assert_eq!(LabelSheet::for_paper(PaperSize::A4).per_page(), 8);
        let pdf = render_labels(&LabelSheet::AVERY_L7165, "Labels", &[Label::default()], 0).unwrap();
        assert!(pdf.starts_with(b"%PDF"));
    }
}
