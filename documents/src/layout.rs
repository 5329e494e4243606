//! Layout: the document's blocks placed on pages as positioned items (text lines, rules,
//! shaded boxes, the logo), in PDF points from the page's top-left corner. Knowing every
//! page before anything is drawn is what lets the footer say "Page n of m".

use crate::fonts::text_width;
use crate::{Align, Block, Document, Row, Table};

/// Something drawn on a page.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Item {
    /// One line of text; `baseline` is the y of its baseline.
    Text { x: f32, baseline: f32, size: f32, bold: bool, grey: bool, text: String },
    /// A horizontal line.
    Rule { x1: f32, x2: f32, y: f32, width: f32 },
    /// A light grey box behind a table row.
    Shade { x: f32, y: f32, w: f32, h: f32, dark: bool },
    /// The letterhead's logo.
    Logo { x: f32, y: f32, w: f32, h: f32 },
    /// An image of the body ([`crate::Block::Image`]).
    Image { x: f32, y: f32, w: f32, h: f32, image: crate::Image },
}

pub(crate) type Page = Vec<Item>;

const MARGIN: f32 = 36.0;
/// The body stops this far above the page's bottom edge, leaving room for the footer.
const FOOTER_ROOM: f32 = 50.0;
const BODY: f32 = 9.0;
const SMALL: f32 = 7.5;
const TABLE: f32 = 8.0;
const HEADING: f32 = 11.0;
const TITLE: f32 = 15.0;
const NAME: f32 = 13.0;
/// Line height as a multiple of the font size.
const LEAD: f32 = 1.25;
/// DejaVu Sans's ascent (0.93 em, rounded up a little): baseline below a line's top.
const ASCENT: f32 = 0.95;
/// Cell padding, horizontal and vertical.
const PAD: f32 = 3.0;
const PADV: f32 = 2.0;
const LOGO_MAX_H: f32 = 48.0;
const LOGO_MAX_W: f32 = 160.0;

/// Lays the document out on pages, footers included.
pub(crate) fn lay_out(doc: &Document) -> Vec<Page> {
    let (w, h) = doc.page_size();
    let mut l = Layout {
        doc,
        left: MARGIN,
        right: w - MARGIN,
        top: MARGIN,
        bottom: h - FOOTER_ROOM,
        y: 0.0,
        body_top: 0.0,
        pages: vec![],
    };
    l.first_page();
    for block in &doc.blocks {
        match block {
            Block::Heading(t) => l.heading(t),
            Block::Paragraph(t) => l.paragraph(t),
            Block::Fields(f) => l.fields(f),
            Block::Table(t) => l.table(t),
            Block::Gap => l.gap(),
            Block::Image(i) => l.image(i),
        }
    }
    let n = l.pages.len();
    for (i, page) in l.pages.iter_mut().enumerate() {
        let y = h - MARGIN + 2.0;
        page.push(Item::Rule { x1: MARGIN, x2: w - MARGIN, y: y - SMALL - 4.0, width: 0.5 });
        page.push(text(MARGIN, y - SMALL, SMALL, false, true, &doc.generated));
        let label = format!("Page {} of {n}", i + 1);
        let x = w - MARGIN - text_width(&label, SMALL, false);
        page.push(text(x, y - SMALL, SMALL, false, true, &label));
    }
    l.pages
}

fn text(x: f32, top: f32, size: f32, bold: bool, grey: bool, t: &str) -> Item {
    Item::Text { x, baseline: top + size * ASCENT, size, bold, grey, text: t.to_owned() }
}

struct Layout<'a> {
    doc: &'a Document,
    left: f32,
    right: f32,
    top: f32,
    bottom: f32,
    /// Where the next thing goes.
    y: f32,
    /// Where the body starts on this page (below the letterhead or the running header).
    body_top: f32,
    pages: Vec<Page>,
}

impl Layout<'_> {
    fn width(&self) -> f32 {
        self.right - self.left
    }

    /// Draws on the current page (there is always one: `first_page` runs before any block).
    fn draw(&mut self, item: Item) {
        if let Some(page) = self.pages.last_mut() {
            page.push(item);
        }
    }

    /// The first page: logo, clinic name and lines, the title, a rule.
    fn first_page(&mut self) {
        self.pages.push(Vec::new());
        let head = &self.doc.letterhead;
        let mut x = self.left;
        let mut logo_bottom = self.top;
        if let Some(logo) = &head.logo {
            let (pw, ph) = (logo.size.0.max(1) as f32, logo.size.1.max(1) as f32);
            let scale = (LOGO_MAX_H / ph).min(LOGO_MAX_W / pw);
            let (lw, lh) = (pw * scale, ph * scale);
            self.draw(Item::Logo { x, y: self.top, w: lw, h: lh });
            x += lw + 12.0;
            logo_bottom = self.top + lh;
        }
        let width = self.right - x;
        let mut y = self.top;
        for line in wrap(&head.name, NAME, true, width) {
            self.draw(text(x, y, NAME, true, false, &line));
            y += NAME * LEAD;
        }
        for l in &head.lines {
            for line in wrap(l, BODY, false, width) {
                self.draw(text(x, y, BODY, false, false, &line));
                y += BODY * LEAD;
            }
        }
        self.y = y.max(logo_bottom) + 10.0;
        for line in wrap(&self.doc.title, TITLE, true, self.width()) {
            let y = self.y;
            self.draw(text(self.left, y, TITLE, true, false, &line));
            self.y += TITLE * LEAD;
        }
        self.y += 2.0;
        self.rule(0.75);
        self.y += 8.0;
        self.body_top = self.y;
    }

    /// A later page: the clinic and the title in small grey type, a rule.
    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        let running = format!("{} · {}", self.doc.letterhead.name, self.doc.title);
        let line = wrap(&running, SMALL, false, self.width()).into_iter().next().unwrap_or_default();
        let top = self.top;
        self.draw(text(self.left, top, SMALL, false, true, &line));
        self.y = self.top + SMALL * LEAD + 2.0;
        self.rule(0.5);
        self.y += 8.0;
        self.body_top = self.y;
    }

    fn rule(&mut self, width: f32) {
        let (x1, x2, y) = (self.left, self.right, self.y);
        self.draw(Item::Rule { x1, x2, y, width });
    }

    /// Starts a new page unless `h` more points fit on this one.
    fn ensure(&mut self, h: f32) {
        if self.y + h > self.bottom && !self.at_top() {
            self.new_page();
        }
    }

    /// Nothing of the body is on this page yet.
    fn at_top(&self) -> bool {
        self.y <= self.body_top
    }

    fn gap(&mut self) {
        if !self.at_top() {
            self.y += 8.0;
        }
    }

    fn heading(&mut self, t: &str) {
        let lines = wrap(t, HEADING, true, self.width());
        // A heading keeps at least three lines of what follows it on its page.
        self.ensure(6.0 + lines.len() as f32 * HEADING * LEAD + 3.0 * BODY * LEAD + 2.0 * PADV);
        if !self.at_top() {
            self.y += 6.0;
        }
        for line in lines {
            let (x, y) = (self.left, self.y);
            self.draw(text(x, y, HEADING, true, false, &line));
            self.y += HEADING * LEAD;
        }
        self.y += 2.0;
    }

    /// An image at its printed width (at most the page's), kept whole on one page.
    fn image(&mut self, image: &crate::Image) {
        let (pw, ph) = (image.size.0.max(1) as f32, image.size.1.max(1) as f32);
        let max_h = (self.bottom - self.body_top).max(1.0);
        let w = image.width.min(self.width()).min(max_h * pw / ph);
        let h = w * ph / pw;
        self.ensure(h);
        let (x, y) = (self.left, self.y);
        self.draw(Item::Image { x, y, w, h, image: image.clone() });
        self.y += h + 4.0;
    }

    fn paragraph(&mut self, t: &str) {
        for line in wrap(t, BODY, false, self.width()) {
            self.ensure(BODY * LEAD);
            let (x, y) = (self.left, self.y);
            self.draw(text(x, y, BODY, false, false, &line));
            self.y += BODY * LEAD;
        }
        self.y += 4.0;
    }

    fn fields(&mut self, fields: &[(String, String)]) {
        let widest = fields.iter().map(|(k, _)| text_width(k, BODY, true)).fold(0.0, f32::max);
        let label_w = (widest + 10.0).min(self.width() * 0.35);
        for (k, v) in fields {
            let keys = wrap(k, BODY, true, label_w - 6.0);
            let values = wrap(v, BODY, false, self.width() - label_w);
            let h = keys.len().max(values.len()) as f32 * BODY * LEAD;
            self.ensure(h);
            let y = self.y;
            for (i, line) in keys.iter().enumerate() {
                self.draw(text(self.left, y + i as f32 * BODY * LEAD, BODY, true, false, line));
            }
            for (i, line) in values.iter().enumerate() {
                self.draw(text(self.left + label_w, y + i as f32 * BODY * LEAD, BODY, false, false, line));
            }
            self.y += h + 1.0;
        }
        self.y += 4.0;
    }

    fn table(&mut self, t: &Table) {
        if t.columns.is_empty() {
            return;
        }
        let shares: Vec<f32> = t.columns.iter().map(|c| c.width.max(0.1)).collect();
        let total: f32 = shares.iter().sum();
        let widths: Vec<f32> = shares.iter().map(|s| s / total * self.width()).collect();
        let xs: Vec<f32> = widths.iter().scan(self.left, |x, w| Some(std::mem::replace(x, *x + w))).collect();
        let cols = Cols { xs, widths, align: t.columns.iter().map(|c| c.align).collect() };
        let header = cols.wrap(&Row::new(t.columns.iter().map(|c| c.title.clone())), true);
        let lh = TABLE * LEAD;
        let header_h = height(&header);
        let first_h = t.rows.first().map_or(0.0, |r| height(&cols.wrap(r, r.emphasis)));
        self.ensure(header_h + first_h.min(3.0 * lh + 2.0 * PADV));
        self.table_header(&cols, &header);
        for (i, row) in t.rows.iter().enumerate() {
            let mut cells = cols.wrap(row, row.emphasis);
            loop {
                let h = height(&cells);
                // The room a fresh page (running header, then the table's header) leaves.
                let full = self.bottom - (self.top + SMALL * LEAD + 10.0) - header_h;
                if self.y + h <= self.bottom {
                    self.table_row(&cols, &cells, row.emphasis, i % 2 == 1, h);
                    break;
                }
                // A row taller than a whole page is split; any other row moves whole.
                let fit = ((self.bottom - self.y - 2.0 * PADV) / lh).floor();
                if h > full && fit >= 1.0 {
                    let n = fit as usize;
                    let part: Vec<Vec<String>> = cells.iter().map(|c| c.iter().take(n).cloned().collect()).collect();
                    let ph = height(&part);
                    self.table_row(&cols, &part, row.emphasis, i % 2 == 1, ph);
                    cells = cells.into_iter().map(|c| c.into_iter().skip(n).collect()).collect();
                }
                self.new_page();
                self.table_header(&cols, &header);
            }
        }
        self.rule(0.5);
        self.y += 8.0;
    }

    fn table_header(&mut self, cols: &Cols, header: &[Vec<String>]) {
        let h = height(header);
        let (x, y, w) = (self.left, self.y, self.width());
        self.draw(Item::Shade { x, y, w, h, dark: true });
        self.cells(cols, header, true);
        self.y += h;
        self.rule(0.5);
    }

    fn table_row(&mut self, cols: &Cols, cells: &[Vec<String>], emphasis: bool, zebra: bool, h: f32) {
        let (x, y, w) = (self.left, self.y, self.width());
        if emphasis {
            self.rule(0.5);
        } else if zebra {
            self.draw(Item::Shade { x, y, w, h, dark: false });
        }
        self.cells(cols, cells, emphasis);
        self.y += h;
    }

    fn cells(&mut self, cols: &Cols, cells: &[Vec<String>], bold: bool) {
        let top = self.y + PADV;
        for (c, lines) in cells.iter().enumerate() {
            for (i, line) in lines.iter().enumerate() {
                let x = match cols.align[c] {
                    Align::Left => cols.xs[c] + PAD,
                    Align::Right => cols.xs[c] + cols.widths[c] - PAD - text_width(line, TABLE, bold),
                };
                self.draw(text(x, top + i as f32 * TABLE * LEAD, TABLE, bold, false, line));
            }
        }
    }
}

/// A table's column geometry.
struct Cols {
    xs: Vec<f32>,
    widths: Vec<f32>,
    align: Vec<Align>,
}

impl Cols {
    /// Each cell of the row wrapped within its column (missing cells blank, extra ones dropped).
    fn wrap(&self, row: &Row, bold: bool) -> Vec<Vec<String>> {
        (0..self.widths.len())
            .map(|c| {
                let cell = row.cells.get(c).map_or("", String::as_str);
                wrap(cell, TABLE, bold, self.widths[c] - 2.0 * PAD)
            })
            .collect()
    }
}

/// A row's height: its tallest cell plus padding.
fn height(cells: &[Vec<String>]) -> f32 {
    let lines = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
    lines as f32 * TABLE * LEAD + 2.0 * PADV
}

/// Splits `text` into lines no wider than `width` at `size`: at spaces, and inside a word
/// only when the word alone is too wide. `\n` always breaks; other control characters are
/// shown as spaces. An empty text is one empty line.
pub(crate) fn wrap(text: &str, size: f32, bold: bool, width: f32) -> Vec<String> {
    let width = width.max(size);
    let mut out = Vec::new();
    for para in text.split('\n') {
        let clean: String = para.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        let mut line = String::new();
        for word in clean.split(' ').filter(|w| !w.is_empty()) {
            let candidate = if line.is_empty() { word.to_owned() } else { format!("{line} {word}") };
            if text_width(&candidate, size, bold) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                out.push(std::mem::take(&mut line));
            }
            // The word starts a line; break it between characters if it is still too wide.
            for c in word.chars() {
                let mut next = line.clone();
                next.push(c);
                if !line.is_empty() && text_width(&next, size, bold) > width {
                    out.push(std::mem::take(&mut line));
                    line.push(c);
                } else {
                    line = next;
                }
            }
        }
        out.push(line);
    }
    out
}
