//! Layout checked item by item; rendering checked as PDF bytes and, where poppler's
//! `pdftotext` is installed (scripts/test installs it; `CLOWDER_PDF_TESTS=1` makes it
//! required), by extracting the text back.

use super::*;
use crate::layout::{Item, lay_out, wrap};

/// A `w` × `h` grey PNG, encoded here: zlib "stored" blocks need no compressor.
fn png(w: u32, h: u32) -> Vec<u8> {
    fn crc(bytes: &[u8]) -> u32 {
        let mut c = !0u32;
        for b in bytes {
            c ^= u32::from(*b);
            for _ in 0..8 {
                c = if c & 1 == 1 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            }
        }
        !c
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        let body = [kind, data].concat();
        out.extend(&body);
        out.extend(crc(&body).to_be_bytes());
    }
    // Grey, 8 bits: each row a filter byte (0) and w samples.
    let raw: Vec<u8> = (0..h).flat_map(|_| std::iter::once(0).chain((0..w).map(|_| 128u8))).collect();
    let (mut a, mut b) = (1u32, 0u32);
    for x in &raw {
        a = (a + u32::from(*x)) % 65521;
        b = (b + a) % 65521;
    }
    let len = raw.len() as u16;
    let mut z = vec![0x78, 0x01, 0x01];
    z.extend(len.to_le_bytes());
    z.extend((!len).to_le_bytes());
    z.extend(&raw);
    z.extend(((b << 16) | a).to_be_bytes());
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 0, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &z);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn letterhead() -> Letterhead {
    Letterhead {
        name: "Clinique Féline Ångström".into(),
        lines: vec!["12 Rue des Chats, 75001 Paris".into(), "Tel. +33 1 23 45 67 89".into()],
        logo: None,
    }
}

fn texts(page: &[Item]) -> Vec<&str> {
    page.iter()
        .filter_map(|i| match i {
            Item::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

/// A register-like table of `n` rows.
fn long_table(n: usize) -> Table {
    Table {
        columns: vec![Column::new("Patient", 3.0), Column::right("Quantity", 1.0), Column::right("Balance", 1.0)],
        rows: (0..n)
            .map(|i| Row::new([format!("Zoë Müller {i:03}"), "0.25".into(), format!("{}", 1000 - i as i64)]))
            .collect(),
    }
}

#[test]
fn text_is_measured_from_the_font_and_wrapped_within_the_width() {
    let plain = text_width("Zoe Muller", 10.0, false);
    assert!(plain > 40.0 && plain < 70.0, "{plain}");
    // Accented letters are as wide as their base letters in DejaVu Sans; bold is wider.
    assert!((text_width("Zoë Müller", 10.0, false) - plain).abs() < 0.01);
    assert!(text_width("Zoe Muller", 10.0, true) > plain);
    // A combining accent adds no width.
    assert!((text_width("Zoe\u{308}", 10.0, false) - text_width("Zoe", 10.0, false)).abs() < 0.01);

    let lines = wrap("the quick brown fox jumps over the lazy cat", 10.0, false, 80.0);
    assert!(lines.len() > 2, "{lines:?}");
    assert!(lines.iter().all(|l| text_width(l, 10.0, false) <= 80.0), "{lines:?}");
    assert_eq!(lines.join(" "), "the quick brown fox jumps over the lazy cat");
    // A word wider than the column breaks between characters; nothing is lost.
    let long = "Ångström".repeat(6);
    let lines = wrap(&long, 10.0, false, 60.0);
    assert!(lines.len() > 1 && lines.iter().all(|l| text_width(l, 10.0, false) <= 60.0), "{lines:?}");
    assert_eq!(lines.concat(), long);
    assert_eq!(wrap("one\ntwo", 10.0, false, 500.0), ["one", "two"]);
    assert_eq!(wrap("", 10.0, false, 500.0), [""]);
}

#[test]
fn a_long_table_repeats_its_header_on_every_page_and_every_page_is_numbered() {
    let mut doc = Document::new(letterhead(), "Controlled-drug register", "Generated 2026-12-05 09:30 (Europe/Paris)");
    doc.push(Block::Heading("Buprenorphine 0.3 mg/mL".into())).push(Block::Table(long_table(150)));
    let pages = lay_out(&doc);
    let n = pages.len();
    assert!(n >= 3, "150 rows take several pages, got {n}");
    let mut rows = Vec::new();
    for (i, page) in pages.iter().enumerate() {
        let t = texts(page);
        assert!(t.contains(&"Patient") && t.contains(&"Balance"), "page {} has the header row: {t:?}", i + 1);
        assert!(t.contains(&format!("Page {} of {n}", i + 1).as_str()), "page {}: {t:?}", i + 1);
        assert!(t.contains(&"Generated 2026-12-05 09:30 (Europe/Paris)"));
        if i > 0 {
            assert!(t[0].starts_with("Clinique Féline Ångström · Controlled-drug register"), "{t:?}");
        }
        rows.extend(t.iter().filter(|s| s.starts_with("Zoë Müller")).map(|s| s.to_string()));
        // Nothing is drawn into the footer's room.
        let (_, h) = doc.page_size();
        for item in page {
            if let Item::Text { baseline, text, .. } = item
                && !text.starts_with("Page ")
                && !text.starts_with("Generated")
            {
                assert!(*baseline < h - 50.0 + 10.0, "{text} at {baseline}");
            }
        }
    }
    let expected: Vec<String> = (0..150).map(|i| format!("Zoë Müller {i:03}")).collect();
    assert_eq!(rows, expected, "every row once, in order");
    assert_eq!(page_count(&doc), n);
}

#[test]
fn numbers_are_right_aligned_in_their_columns() {
    let mut doc = Document::new(letterhead(), "T", "G");
    doc.push(Block::Table(long_table(3)));
    let page = &lay_out(&doc)[0];
    let right_edges: Vec<f32> = page
        .iter()
        .filter_map(|i| match i {
            Item::Text { x, text, size, bold, .. } if text.parse::<f32>().is_ok() => {
                Some(x + text_width(text, *size, *bold))
            }
            _ => None,
        })
        .collect();
    // Quantity and balance columns: each column's numbers end at the same x.
    assert_eq!(right_edges.len(), 6);
    assert!((right_edges[0] - right_edges[2]).abs() < 0.01 && (right_edges[1] - right_edges[3]).abs() < 0.01);
}

#[test]
fn a_heading_is_not_left_alone_at_the_bottom_of_a_page() {
    let mut doc = Document::new(letterhead(), "T", "G");
    // Fill the first page almost to the bottom with paragraph lines, then a heading.
    for i in 0..200 {
        doc.push(Block::Paragraph(format!("line {i}")));
        let pages = lay_out(&doc);
        if pages.len() > 1 {
            doc.blocks.pop();
            break;
        }
    }
    doc.push(Block::Heading("Morphine".into())).push(Block::Table(long_table(2)));
    let pages = lay_out(&doc);
    assert_eq!(pages.len(), 2);
    assert!(!texts(&pages[0]).contains(&"Morphine") && texts(&pages[1]).contains(&"Morphine"));
}

#[test]
fn paper_follows_the_calling_code_and_landscape_turns_it() {
    assert_eq!(PaperSize::for_calling_code("1"), PaperSize::Letter);
    assert_eq!(PaperSize::for_calling_code("44"), PaperSize::A4);
    let doc = Document::new(letterhead(), "T", "G").paper(PaperSize::Letter).landscape();
    assert_eq!(doc.page_size(), (792.0, 612.0));
}

#[test]
fn a_logo_is_a_png_or_jpeg_checked_by_its_content() {
    let logo = Logo::new(png(20, 10)).unwrap();
    assert_eq!(logo.size, (20, 10));
    assert!(matches!(Logo::new(b"GIF89a....".to_vec()), Err(DocumentError::Logo(_))));
    assert!(matches!(Logo::new(b"\x89PNG\r\n\x1a\nnot really".to_vec()), Err(DocumentError::Logo(_))));
    // A PNG whose pixels are damaged is refused when the logo is made, not when a PDF is.
    let mut bad = png(20, 10);
    let n = bad.len();
    bad[n - 20] ^= 0xFF;
    assert!(matches!(Logo::new(bad), Err(DocumentError::Logo(_))));
    let mut head = letterhead();
    head.logo = Some(logo);
    let doc = Document::new(head, "With a logo", "G");
    let pages = lay_out(&doc);
    let logo_box = pages[0].iter().find_map(|i| match i {
        Item::Logo { w, h, .. } => Some((*w, *h)),
        _ => None,
    });
    assert_eq!(logo_box, Some((96.0, 48.0)), "a logo is scaled to the letterhead's height");
    let pdf = render(&doc).unwrap();
    assert!(String::from_utf8_lossy(&pdf).contains("/Image"), "the logo is embedded as an image");
}

#[test]
fn rendering_gives_the_same_pdf_for_the_same_document() {
    let mut doc = Document::new(letterhead(), "Register", "Generated today");
    doc.push(Block::Fields(vec![("Period".into(), "2026-11-01 to 2026-11-30".into())]))
        .push(Block::Table(long_table(5)));
    let a = render(&doc).unwrap();
    assert!(a.starts_with(b"%PDF-") && a.trim_ascii_end().ends_with(b"%%EOF"));
    assert_eq!(a, render(&doc).unwrap(), "no clock or randomness in the output");
}

/// The text `pdftotext -layout` extracts, or `None` (after saying so) when poppler is not
/// installed and not required.
fn pdftotext(pdf: &[u8]) -> Option<String> {
    let dir = std::env::temp_dir().join(format!("clowder-documents-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("doc.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext").args(["-layout", "-enc", "UTF-8"]).arg(&path).arg("-").output();
    let _ = std::fs::remove_dir_all(&dir);
    match out {
        Ok(o) => {
            assert!(o.status.success(), "pdftotext failed: {}", String::from_utf8_lossy(&o.stderr));
            Some(String::from_utf8(o.stdout).unwrap())
        }
        Err(_) => {
            assert!(
                std::env::var("CLOWDER_PDF_TESTS").is_err(),
                "pdftotext (Debian poppler-utils) is not installed; scripts/test installs it"
            );
            eprintln!("skipping the text extraction: install poppler-utils (scripts/test does)");
            None
        }
    }
}

#[test]
fn accented_names_extract_back_as_written() {
    let mut doc = Document::new(letterhead(), "Récapitulatif", "Generated 2026-12-05");
    doc.push(Block::Paragraph("Zoë Müller brought Ångström, 4.2 kg — Čapek, Øresund, Ελένη, Жанна.".into()))
        .push(Block::Table(long_table(120)));
    let pdf = render(&doc).unwrap();
    let Some(text) = pdftotext(&pdf) else { return };
    for s in
        ["Clinique Féline Ångström", "Récapitulatif", "Zoë Müller brought Ångström", "Čapek, Øresund, Ελένη, Жанна"]
    {
        assert!(text.contains(s), "{s:?} not in:\n{text}");
    }
    let n = page_count(&doc);
    assert!(n >= 2);
    assert!(text.contains(&format!("Page 2 of {n}")), "{text}");
    assert_eq!(text.matches("Patient").count(), n, "the header row once per page");
    assert!(text.contains("Zoë Müller 119"));
}

/// A `w` × `h` RGBA PNG, transparent, with a black diagonal stroke `ink` pixels long.
fn drawn(w: u32, h: u32, ink: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = ::png::Encoder::new(&mut out, w, h);
    enc.set_color(::png::ColorType::Rgba);
    enc.set_depth(::png::BitDepth::Eight);
    let mut pixels = vec![0u8; (w * h * 4) as usize];
    for i in 0..ink.min(w).min(h) {
        let at = ((i * w + i) * 4) as usize;
        pixels[at..at + 4].copy_from_slice(&[0, 0, 0, 255]);
    }
    let mut writer = enc.write_header().unwrap();
    writer.write_image_data(&pixels).unwrap();
    writer.finish().unwrap();
    out
}

#[test]
fn a_picture_is_checked_by_its_pixels_and_printed_whole() {
    let limits = ImageLimits::SIGNATURE;
    assert_eq!(Image::png(b"GIF89a....".to_vec(), 200.0, limits).unwrap_err(), ImageRefused::NotPng);
    assert_eq!(Image::png(drawn(300, 100, 0), 200.0, limits).unwrap_err(), ImageRefused::Blank);
    assert_eq!(Image::png(drawn(300, 100, 5), 200.0, limits).unwrap_err(), ImageRefused::Blank);
    assert!(matches!(Image::png(drawn(2100, 10, 40), 200.0, limits), Err(ImageRefused::Dimensions { .. })));
    let small = ImageLimits { max_bytes: 100, ..limits };
    assert_eq!(Image::png(drawn(300, 100, 80), 200.0, small).unwrap_err(), ImageRefused::TooLarge { max: 100 });
    let mut cut = drawn(300, 100, 80);
    cut.truncate(60);
    assert!(matches!(Image::png(cut, 200.0, limits), Err(ImageRefused::Unreadable(_))));

    let signature = Image::png(drawn(300, 100, 80), 180.0, limits).unwrap();
    assert_eq!(signature.size(), (300, 100));
    let mut doc = Document::new(Letterhead::default(), "Consent", "now");
    doc.push(Block::Paragraph("I consent.".into()));
    doc.push(Block::Image(signature));
    let pages = lay_out(&doc);
    let image = pages[0].iter().find_map(|i| match i {
        Item::Image { w, h, .. } => Some((*w, *h)),
        _ => None,
    });
    assert_eq!(image, Some((180.0, 60.0)), "printed at its width, in proportion");
    let pdf = render(&doc).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(pdf.windows(b"/Image".len()).any(|w| w == b"/Image"), "the picture is embedded");
}
