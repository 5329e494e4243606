//! Pictures in a document's body: a PNG checked once when made (a real PNG, within its byte
//! and pixel limits, decodable, and not blank), so rendering never meets a bad one. The drawn
//! signature of a consent form is the one use today; the checks are the ones a picture sent
//! by a browser needs.

use std::sync::Arc;

/// What a picture may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLimits {
    /// Largest file, bytes.
    pub max_bytes: usize,
    /// Largest width and height, pixels.
    pub max_width: u32,
    pub max_height: u32,
    /// Fewest pixels that differ from the background (the larger of the pixels like and
    /// unlike the top-left one): fewer is blank.
    pub min_ink_pixels: usize,
}

impl ImageLimits {
    /// A signature drawn on a tablet: at most 256 KiB and 2000 × 1000 pixels, and at least
    /// 30 pixels of ink (a tap is not a signature).
    pub const SIGNATURE: ImageLimits =
        ImageLimits { max_bytes: 256 * 1024, max_width: 2000, max_height: 1000, min_ink_pixels: 30 };
}

/// Why a picture was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageRefused {
    #[error("is not a PNG image (by its content)")]
    NotPng,
    #[error("is larger than {max} bytes")]
    TooLarge { max: usize },
    #[error("is {width} × {height} pixels; at most {max_width} × {max_height} are accepted")]
    Dimensions { width: u32, height: u32, max_width: u32, max_height: u32 },
    #[error("is a damaged PNG image: {0}")]
    Unreadable(String),
    #[error("is blank: nothing was drawn")]
    Blank,
}

/// A checked PNG picture and the width it prints at.
#[derive(Clone)]
pub struct Image {
    pub(crate) bytes: Arc<Vec<u8>>,
    /// Pixels, for the aspect ratio.
    pub(crate) size: (u32, u32),
    /// Printed width in points (1/72 in); never wider than the page's body.
    pub(crate) width: f32,
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Image").field("bytes", &self.bytes.len()).field("size", &self.size).finish()
    }
}

impl PartialEq for Image {
    fn eq(&self, other: &Image) -> bool {
        Arc::ptr_eq(&self.bytes, &other.bytes) && self.width == other.width
    }
}

impl Image {
    /// A PNG file's bytes, checked against `limits` by decoding every pixel, printed
    /// `width` points wide.
    pub fn png(bytes: Vec<u8>, width: f32, limits: ImageLimits) -> Result<Image, ImageRefused> {
        if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Err(ImageRefused::NotPng);
        }
        if bytes.len() > limits.max_bytes {
            return Err(ImageRefused::TooLarge { max: limits.max_bytes });
        }
        let size = ink_check(&bytes, limits)?;
        // krilla reads the same bytes when the PDF is written: check it accepts them now.
        let data: krilla::Data = Arc::new(bytes.clone()).into();
        krilla::image::Image::from_png(data, true).map_err(ImageRefused::Unreadable)?;
        Ok(Image { bytes: Arc::new(bytes), size, width })
    }

    /// Width and height in pixels.
    pub fn size(&self) -> (u32, u32) {
        self.size
    }
}

/// Decodes the PNG within the limits and counts the pixels unlike the top-left one.
fn ink_check(bytes: &[u8], limits: ImageLimits) -> Result<(u32, u32), ImageRefused> {
    let bad = |e: png::DecodingError| ImageRefused::Unreadable(e.to_string());
    // The header says the size before any pixel is decoded: too large is refused unread.
    let max_pixels = limits.max_width as usize * limits.max_height as usize;
    let mut decoder =
        png::Decoder::new_with_limits(std::io::Cursor::new(bytes), png::Limits { bytes: max_pixels * 8 + (1 << 20) });
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(bad)?;
    let (width, height) = (reader.info().width, reader.info().height);
    if width > limits.max_width || height > limits.max_height || width == 0 || height == 0 {
        return Err(ImageRefused::Dimensions {
            width,
            height,
            max_width: limits.max_width,
            max_height: limits.max_height,
        });
    }
    let len = reader.output_buffer_size().ok_or_else(|| ImageRefused::Unreadable("too large to decode".into()))?;
    let mut buf = vec![0; len];
    let frame = reader.next_frame(&mut buf).map_err(bad)?;
    let channels = frame.color_type.samples();
    let pixels = buf[..frame.buffer_size()].chunks_exact(channels);
    let rgba = |p: &[u8]| -> [u8; 4] {
        match p {
            [g] => [*g, *g, *g, 255],
            [g, a] => [*g, *g, *g, *a],
            [r, g, b] => [*r, *g, *b, 255],
            [r, g, b, a, ..] => [*r, *g, *b, *a],
            _ => [0, 0, 0, 0],
        }
    };
    let mut pixels = pixels.map(rgba);
    let first = pixels.next().unwrap_or_default();
    let differs = |a: u8, b: u8| a.abs_diff(b) > 64;
    let unlike =
        pixels.filter(|p| differs(p[3], first[3]) || (p[3] > 32 && (0..3).any(|c| differs(p[c], first[c])))).count();
    // The top-left pixel may itself be ink: the background is whichever side is larger.
    let total = width as usize * height as usize;
    let ink = unlike.min(total - unlike);
    if ink < limits.min_ink_pixels {
        return Err(ImageRefused::Blank);
    }
    Ok((width, height))
}
