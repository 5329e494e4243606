//! Drawing laid-out pages with krilla: the only file that names the PDF library. Fonts are
//! embedded as subsets with a ToUnicode map, so text copies and extracts as written.

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::image::Image;
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, TextDirection};

use crate::fonts::{Weight, bytes};
use crate::layout::{Item, Page};
use crate::{Document, DocumentError};

/// A logo's bytes as a krilla image (its size is read now; pixels are decoded when written).
pub(crate) fn image(data: &std::sync::Arc<Vec<u8>>, jpeg: bool) -> Result<Image, String> {
    let data: krilla::Data = data.clone().into();
    if jpeg { Image::from_jpeg(data, true) } else { Image::from_png(data, true) }
}

fn font(weight: Weight) -> Result<Font, DocumentError> {
    Font::new(bytes(weight).into(), 0).ok_or_else(|| DocumentError::Pdf("the bundled font did not load".into()))
}

fn fill(grey: u8) -> Fill {
    Fill { paint: rgb::Color::new(grey, grey, grey).into(), ..Fill::default() }
}

/// Writes the pages as a PDF.
pub(crate) fn write(doc: &Document, pages: &[Page]) -> Result<Vec<u8>, DocumentError> {
    let (regular, bold) = (font(Weight::Regular)?, font(Weight::Bold)?);
    let (w, h) = doc.page_size();
    let logo = match &doc.letterhead.logo {
        Some(l) => Some(image(&l.bytes, l.jpeg).map_err(DocumentError::Logo)?),
        None => None,
    };
    let mut pdf = krilla::Document::new();
    pdf.set_metadata(Metadata::new().title(doc.title.clone()).creator("Clowder".into()));
    for items in pages {
        let settings = PageSettings::from_wh(w, h).ok_or_else(|| DocumentError::Pdf("page size".into()))?;
        let mut page = pdf.start_page_with(settings);
        let mut s = page.surface();
        for item in items {
            match item {
                Item::Text { x, baseline, size, bold: b, grey, text } => {
                    s.set_stroke(None);
                    s.set_fill(Some(fill(if *grey { 90 } else { 0 })));
                    let f = if *b { bold.clone() } else { regular.clone() };
                    s.draw_text(Point::from_xy(*x, *baseline), f, *size, text, false, TextDirection::Auto);
                }
                Item::Rule { x1, x2, y, width } => {
                    let mut pb = PathBuilder::new();
                    pb.move_to(*x1, *y);
                    pb.line_to(*x2, *y);
                    if let Some(path) = pb.finish() {
                        s.set_fill(None);
                        s.set_stroke(Some(Stroke {
                            paint: rgb::Color::new(120, 120, 120).into(),
                            width: *width,
                            ..Stroke::default()
                        }));
                        s.draw_path(&path);
                    }
                }
                Item::Shade { x, y, w, h, dark } => {
                    let mut pb = PathBuilder::new();
                    if let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) {
                        pb.push_rect(rect);
                    }
                    if let Some(path) = pb.finish() {
                        s.set_stroke(None);
                        s.set_fill(Some(fill(if *dark { 222 } else { 243 })));
                        s.draw_path(&path);
                    }
                }
                Item::Image { x, y, w, h, image } => {
                    let img = self::image(&image.bytes, false).map_err(DocumentError::Image)?;
                    if let Some(size) = Size::from_wh(*w, *h) {
                        s.push_transform(&Transform::from_translate(*x, *y));
                        s.draw_image(img, size);
                        s.pop();
                    }
                }
                Item::Logo { x, y, w, h } => {
                    if let (Some(img), Some(size)) = (&logo, Size::from_wh(*w, *h)) {
                        s.push_transform(&Transform::from_translate(*x, *y));
                        s.draw_image(img.clone(), size);
                        s.pop();
                    }
                }
            }
        }
        s.finish();
        page.finish();
    }
    pdf.finish().map_err(|e| DocumentError::Pdf(format!("{e:?}")))
}
