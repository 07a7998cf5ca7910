//! Page images as the scanner wrote them: what a file holds (pages, pixel size, resolution,
//! colour), the original encoded bytes kept for lossless embedding (TR-03138 A.SC.12: no
//! lossy re-encoding, never JBIG2), and a decoded 8-bit gray raster for the quality gate and OCR.
//!
//! Reading is two-step so that a decompression bomb is refused from its header before any
//! large allocation: [`probe_pages`] looks only at headers; [`decode_gray`] decodes one page.

use std::sync::Arc;

/// Upper bound on decoded pixels per page unless the caller passes another.
/// An A3 page at 600 dpi is ~70 Mpx; 150 Mpx leaves room for oversize drawings.
pub const DEFAULT_MAX_PIXELS: u64 = 150_000_000;

/// Kinds of image file resiscan reads, detected from the file's magic bytes (never its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    Tiff,
    Png,
    Jpeg,
}

/// Colour model of a page as scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ColorKind {
    /// 1 bit per pixel.
    Bilevel,
    /// One channel, 8 or 16 bits.
    Gray,
    /// Three channels, 8 or 16 bits.
    Rgb,
    /// Palette image (PNG indexed or TIFF palette).
    Indexed,
    /// Four channels (JPEG/TIFF CMYK).
    Cmyk,
}

/// How a page's pixels go into the PDF. Each variant holds exactly the bytes the PDF image
/// stream will contain, so the writer never decodes or re-encodes.
#[derive(Debug, Clone)]
pub enum Embed {
    /// The JPEG file itself: `/Filter /DCTDecode`, byte for byte.
    Dct { data: Arc<[u8]>, components: u8 },
    /// One CCITT Group 4 strip, FillOrder 1, byte for byte: `/Filter /CCITTFaxDecode`
    /// with `/K -1`. `black_is_1` follows the TIFF's Photometric tag (0 = WhiteIsZero).
    CcittG4 { data: Arc<[u8]>, black_is_1: bool },
    /// A zlib stream ready for `/Filter /FlateDecode`, optionally with PNG predictors
    /// (`/DecodeParms << /Predictor 15 /Colors c /BitsPerComponent b /Columns w >>`).
    /// PNG IDAT data passes through here unchanged.
    Flate {
        data: Arc<[u8]>,
        colors: u8,
        bits_per_component: u8,
        png_predictor: bool,
        /// Palette for indexed images: RGB triples.
        palette: Option<Arc<[u8]>>,
    },
}

/// Header facts of one page: enough for the bomb check, the dpi check and the report.
#[derive(Debug, Clone, PartialEq)]
pub struct PageInfo {
    pub width: u32,
    pub height: u32,
    /// Resolution from the file's own metadata (TIFF tags, PNG pHYs, JPEG JFIF/EXIF), in dots
    /// per inch, (x, y). `None` when the file does not say.
    pub dpi: Option<(f64, f64)>,
    pub color: ColorKind,
    pub bits_per_component: u8,
    pub format: FileFormat,
}

/// One page fully read: header facts, the bytes the PDF embeds, and the gray raster for
/// quality and OCR, produced in one pass so no page is decoded twice.
#[derive(Debug, Clone)]
pub struct DecodedPage {
    pub info: PageInfo,
    pub embed: Embed,
    pub gray: GrayImage,
}

/// An 8-bit gray raster, row-major, `width` bytes per row; 0 = black, 255 = white.
#[derive(Debug, Clone)]
pub struct GrayImage {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    #[error("empty file (0 bytes)")]
    Empty,
    #[error("not an image resiscan reads (TIFF, PNG, JPEG): {0}")]
    UnknownFormat(String),
    #[error(
        "{format:?} header claims {width}x{height} pixels, over the limit of {limit} pixels (decompression bomb?)"
    )]
    TooLarge {
        format: FileFormat,
        width: u64,
        height: u64,
        limit: u64,
    },
    #[error("truncated or corrupt {format:?} data: {detail}")]
    Corrupt { format: FileFormat, detail: String },
    #[error("unsupported {format:?} variant: {detail}")]
    Unsupported { format: FileFormat, detail: String },
}

/// Reads only the headers of every page in `bytes` (all pages of a multi-page TIFF).
/// Refuses pages over `max_pixels` without allocating pixel buffers.
pub fn probe(bytes: &[u8], max_pixels: u64) -> Result<Vec<PageInfo>, ImageError> {
    let _ = (bytes, max_pixels);
    Err(ImageError::Unsupported {
        format: FileFormat::Png,
        detail: "image decoding is not built yet".into(),
    })
}

/// Decodes page `index` of the file: embeddable bytes plus an 8-bit gray raster.
/// `bytes` is the whole file; JPEG embeds share it without a copy.
pub fn decode_page(
    bytes: &Arc<[u8]>,
    index: usize,
    max_pixels: u64,
) -> Result<DecodedPage, ImageError> {
    let _ = (bytes, index, max_pixels);
    Err(ImageError::Unsupported {
        format: FileFormat::Png,
        detail: "image decoding is not built yet".into(),
    })
}
