//! Clowder's printable documents: a small document model (a letterhead, a title, headings,
//! paragraphs, key/value fields and tables) laid out on pages and rendered to PDF bytes.
//!
//! This crate owns the choice of PDF library: nothing else in the workspace names it, so the
//! choice can change behind [`render`] (docs/documents.md says why krilla, with the figures).
//! It takes plain values and returns bytes: no serde, no clock, no I/O. The caller formats
//! dates in the clinic's zone and says when the document was generated.
//!
//! Layout rules: text wraps at word boundaries (a word wider than its column breaks between
//! characters); a table's header row is repeated at the top of every page the table runs
//! onto; a heading is never left alone at the bottom of a page; every page has a running
//! header (the clinic and the title, after the first page) and a footer with the generation
//! time and "Page n of m".

mod fonts;
mod image;
mod labels;
mod layout;
mod pdf;

pub use fonts::text_width;
pub use image::{Image, ImageLimits, ImageRefused};
pub use labels::{Label, LabelLine, LabelSheet, render_labels};

/// What can stop a document from rendering.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// The logo is not a PNG or JPEG image this crate can read.
    #[error("the logo is not a readable PNG or JPEG image: {0}")]
    Logo(String),
    /// An image of the body could not be drawn (it was checked when made, so this is a bug).
    #[error("an image could not be drawn: {0}")]
    Image(String),
    /// The PDF library refused the document (a limit of the format, a font it cannot embed).
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
}

/// The paper the document is printed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PaperSize {
    /// ISO A4, 210 × 297 mm: everywhere but North America.
    #[default]
    A4,
    /// US Letter, 8.5 × 11 in.
    Letter,
}

impl PaperSize {
    /// The clinic's paper from its telephone calling code (`CLOWDER_COUNTRY_CODE`): Letter for
    /// the North American Numbering Plan (`1`: the United States and Canada), A4 otherwise.
    pub fn for_calling_code(code: &str) -> PaperSize {
        if code.trim() == "1" { PaperSize::Letter } else { PaperSize::A4 }
    }

    /// Width and height in PDF points (1/72 in), portrait.
    pub fn points(self) -> (f32, f32) {
        match self {
            PaperSize::A4 => (595.28, 841.89),
            PaperSize::Letter => (612.0, 792.0),
        }
    }
}

/// Which way up the page is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Orientation {
    #[default]
    Portrait,
    /// Wide tables (registers, ledgers).
    Landscape,
}

/// The clinic's logo: PNG or JPEG bytes, checked when made.
#[derive(Clone)]
pub struct Logo {
    bytes: std::sync::Arc<Vec<u8>>,
    jpeg: bool,
    /// Pixels, for the aspect ratio.
    size: (u32, u32),
}

impl std::fmt::Debug for Logo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logo").field("bytes", &self.bytes.len()).field("jpeg", &self.jpeg).finish()
    }
}

impl Logo {
    /// A logo from a PNG or JPEG file's bytes (told apart by their signature, not a name).
    pub fn new(bytes: Vec<u8>) -> Result<Logo, DocumentError> {
        let jpeg = bytes.starts_with(&[0xFF, 0xD8, 0xFF]);
        let png = bytes.starts_with(b"\x89PNG\r\n\x1a\n");
        if !jpeg && !png {
            return Err(DocumentError::Logo("neither a PNG nor a JPEG signature".into()));
        }
        let bytes = std::sync::Arc::new(bytes);
        let image = pdf::image(&bytes, jpeg).map_err(DocumentError::Logo)?;
        let logo = Logo { bytes, jpeg, size: image.size() };
        // The pixels are decoded only when a PDF is written: write one now, so a damaged
        // image is refused here, once, rather than by every document later.
        let probe = Document::new(Letterhead { logo: Some(logo.clone()), ..Letterhead::default() }, "", "");
        render(&probe).map_err(|e| DocumentError::Logo(e.to_string()))?;
        Ok(logo)
    }
}

/// Who the document comes from, printed at the top of its first page.
#[derive(Debug, Clone, Default)]
pub struct Letterhead {
    /// The clinic's name.
    pub name: String,
    /// Address lines, phone, licence: each printed on its own line under the name.
    pub lines: Vec<String>,
    pub logo: Option<Logo>,
}

/// Horizontal alignment of a table column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Align {
    #[default]
    Left,
    /// Numbers, so their digits line up.
    Right,
}

/// A table column: its title, its share of the table's width, its alignment.
#[derive(Debug, Clone)]
pub struct Column {
    pub title: String,
    /// Relative width: the columns share the page's width in proportion to these.
    pub width: f32,
    pub align: Align,
}

impl Column {
    /// A left-aligned column of relative width `width`.
    pub fn new(title: impl Into<String>, width: f32) -> Column {
        Column { title: title.into(), width, align: Align::Left }
    }

    /// A right-aligned (numeric) column.
    pub fn right(title: impl Into<String>, width: f32) -> Column {
        Column { title: title.into(), width, align: Align::Right }
    }
}

/// A table row: one text per column (missing ones are blank), wrapped within the column.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub cells: Vec<String>,
    /// A total or summary line: bold, with a rule above it.
    pub emphasis: bool,
}

impl Row {
    /// A row of plain cells.
    pub fn new<S: Into<String>>(cells: impl IntoIterator<Item = S>) -> Row {
        Row { cells: cells.into_iter().map(Into::into).collect(), emphasis: false }
    }

    /// A total line.
    pub fn total<S: Into<String>>(cells: impl IntoIterator<Item = S>) -> Row {
        Row { emphasis: true, ..Row::new(cells) }
    }
}

/// A table whose header row repeats on every page it spans.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
}

/// One piece of the document's body, laid out top to bottom.
#[derive(Debug, Clone)]
pub enum Block {
    /// A section heading (kept with what follows it).
    Heading(String),
    /// Text wrapped to the page's width; `\n` starts a new line.
    Paragraph(String),
    /// Label and value pairs, labels in bold in a column of their own.
    Fields(Vec<(String, String)>),
    Table(Table),
    /// Vertical space between blocks.
    Gap,
    /// A PNG picture (a drawn signature), left-aligned, kept whole on one page.
    Image(Image),
}

/// A whole document.
#[derive(Debug, Clone)]
pub struct Document {
    pub paper: PaperSize,
    pub orientation: Orientation,
    pub letterhead: Letterhead,
    pub title: String,
    /// When the document was generated, as the footer prints it (the caller formats it in
    /// the clinic's zone: this crate reads no clock).
    pub generated: String,
    pub blocks: Vec<Block>,
}

impl Document {
    /// An empty A4 portrait document.
    pub fn new(letterhead: Letterhead, title: impl Into<String>, generated: impl Into<String>) -> Document {
        Document {
            paper: PaperSize::default(),
            orientation: Orientation::default(),
            letterhead,
            title: title.into(),
            generated: generated.into(),
            blocks: Vec::new(),
        }
    }

    /// Printed on `paper`.
    pub fn paper(mut self, paper: PaperSize) -> Document {
        self.paper = paper;
        self
    }

    /// Turned for wide tables.
    pub fn landscape(mut self) -> Document {
        self.orientation = Orientation::Landscape;
        self
    }

    /// Adds a block after the others.
    pub fn push(&mut self, block: Block) -> &mut Document {
        self.blocks.push(block);
        self
    }

    /// Width and height of a page in points, as oriented.
    pub fn page_size(&self) -> (f32, f32) {
        let (w, h) = self.paper.points();
        match self.orientation {
            Orientation::Portrait => (w, h),
            Orientation::Landscape => (h, w),
        }
    }
}

/// Renders the document to the bytes of a PDF file.
pub fn render(doc: &Document) -> Result<Vec<u8>, DocumentError> {
    let pages = layout::lay_out(doc);
    pdf::write(doc, &pages)
}

/// Renders several documents one after the other as one PDF (a print batch): each keeps its
/// own first page, running header and "Page n of m". They print on the first one's paper and
/// letterhead logo (one clinic's documents share them); `title` names the whole file.
pub fn render_many(title: &str, docs: &[Document]) -> Result<Vec<u8>, DocumentError> {
    let Some(first) = docs.first() else {
        return render(&Document::new(Letterhead::default(), title, ""));
    };
    let pages: Vec<layout::Page> = docs.iter().flat_map(layout::lay_out).collect();
    let whole = Document { title: title.to_owned(), blocks: Vec::new(), ..first.clone() };
    pdf::write(&whole, &pages)
}

/// How many pages the document takes (layout only, no PDF written).
pub fn page_count(doc: &Document) -> usize {
    layout::lay_out(doc).len()
}

#[cfg(test)]
mod tests;
