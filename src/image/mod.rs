//! Page images as the scanner wrote them: what a file holds (pages, pixel size, resolution,
//! colour), the original encoded bytes kept for lossless embedding (TR-03138 A.SC.12: no
//! lossy re-encoding, never JBIG2), and a decoded 8-bit gray raster for the quality gate and OCR.
//!
//! Reading is two-step so that a decompression bomb is refused from its header before any
//! large allocation: [`probe`] looks only at headers; [`decode_page`] decodes one page, and
//! checks the header again before it allocates anything.
//!
//! Promises: the format comes from magic bytes, never from a file name; every page is decoded
//! once, producing both the PDF embedding and the gray raster; bad input of any kind (empty,
//! truncated, mislabelled, corrupt, giant) comes back as an [`ImageError`] naming the reason,
//! never as a panic.

mod jpeg;
pub(crate) use jpeg::rgb_by_component_ids;
mod png;
mod tiff;

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

impl std::fmt::Display for FileFormat {
    /// The format's usual upper-case name, as operators know it from file dialogs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileFormat::Tiff => "TIFF",
            FileFormat::Png => "PNG",
            FileFormat::Jpeg => "JPEG",
        })
    }
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
    Dct {
        data: Arc<[u8]>,
        components: u8,
        /// The ICC profile embedded in the file (APP2 `ICC_PROFILE`), if any.
        icc: Option<Arc<[u8]>>,
    },
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
        /// The ICC profile embedded in the file (PNG iCCP, TIFF tag 34675), if any; for an
        /// indexed image it describes the palette's colours.
        icc: Option<Arc<[u8]>>,
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
    /// Clockwise degrees (0, 90, 180, 270) the file asks a viewer to turn the stored image
    /// by: the TIFF Orientation tag, or EXIF's in a JPEG (TIFF 6.0 section 8, values 3, 6
    /// and 8). The mirrored values (2, 4, 5, 7), which no scanner writes, are not applied.
    pub orientation: u16,
}

/// The clockwise quarter turn an Orientation value (TIFF tag 274, EXIF 0x0112) asks for.
pub(crate) fn orientation_turn(tag: u64) -> u16 {
    match tag {
        3 => 180,
        6 => 90,
        8 => 270,
        _ => 0,
    }
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

impl GrayImage {
    /// The raster as an `image` crate buffer borrowing these pixels, for the crate's pixel
    /// operations; `None` when `pixels` is shorter than `width` x `height`.
    pub(crate) fn as_buffer(&self) -> Option<::image::ImageBuffer<::image::Luma<u8>, &[u8]>> {
        ::image::ImageBuffer::from_raw(self.width, self.height, &self.pixels[..])
    }

    /// Takes over an `image` crate gray buffer without copying.
    pub(crate) fn from_buffer(buffer: ::image::GrayImage) -> Self {
        let (width, height) = buffer.dimensions();
        GrayImage {
            width,
            height,
            pixels: buffer.into_raw(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    #[error("empty file (0 bytes)")]
    Empty,
    #[error("not an image resiscan reads (TIFF, PNG, JPEG): {0}")]
    UnknownFormat(String),
    #[error(
        "{format} header claims {width}x{height} pixels, over the limit of {limit} pixels (decompression bomb?)"
    )]
    TooLarge {
        format: FileFormat,
        width: u64,
        height: u64,
        limit: u64,
    },
    #[error("truncated or corrupt {format} data: {detail}")]
    Corrupt { format: FileFormat, detail: String },
    #[error("unsupported {format} variant: {detail}")]
    Unsupported { format: FileFormat, detail: String },
    #[error("{format} file has {pages} page(s); page index {index} does not exist")]
    NoSuchPage {
        format: FileFormat,
        index: usize,
        pages: usize,
    },
}

/// Reads only the headers of every page in `bytes` (all pages of a multi-page TIFF).
/// Refuses pages over `max_pixels` without allocating pixel buffers.
pub fn probe(bytes: &[u8], max_pixels: u64) -> Result<Vec<PageInfo>, ImageError> {
    match detect_format(bytes)? {
        FileFormat::Tiff => tiff::probe(bytes, max_pixels),
        FileFormat::Png => png::probe(bytes, max_pixels).map(|info| vec![info]),
        FileFormat::Jpeg => jpeg::probe(bytes, max_pixels).map(|info| vec![info]),
    }
}

/// Decodes page `index` of the file: embeddable bytes plus an 8-bit gray raster.
/// `bytes` is the whole file; JPEG embeds share it without a copy.
pub fn decode_page(
    bytes: &Arc<[u8]>,
    index: usize,
    max_pixels: u64,
) -> Result<DecodedPage, ImageError> {
    let format = detect_format(bytes)?;
    if index > 0 && format != FileFormat::Tiff {
        return Err(ImageError::NoSuchPage {
            format,
            index,
            pages: 1,
        });
    }
    match format {
        FileFormat::Tiff => tiff::decode_page(bytes, index, max_pixels),
        FileFormat::Png => png::decode_page(bytes, max_pixels),
        FileFormat::Jpeg => jpeg::decode_page(bytes, max_pixels),
    }
}

/// The format from the file's first bytes (TIFF 6.0 section 2 byte-order header, PNG
/// signature of ISO 15948 5.2, JPEG SOI marker of ITU T.81 B.1.1.2).
pub(crate) fn detect_format(bytes: &[u8]) -> Result<FileFormat, ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::Empty);
    }
    // Classic TIFF (42) or BigTIFF (43, read by the `tiff` crate's directory API).
    if [b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"]
        .iter()
        .any(|sig| bytes.starts_with(*sig))
    {
        Ok(FileFormat::Tiff)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Ok(FileFormat::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Ok(FileFormat::Jpeg)
    } else {
        let shown: String = bytes
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ");
        Err(ImageError::UnknownFormat(format!(
            "no TIFF, PNG or JPEG signature (first bytes: {shown})"
        )))
    }
}

/// Refuses a page whose header claims more than `limit` pixels, before anything is allocated
/// for it (the decompression-bomb guard).
pub(crate) fn check_pixel_budget(
    format: FileFormat,
    width: u32,
    height: u32,
    limit: u64,
) -> Result<(), ImageError> {
    if width == 0 || height == 0 {
        return Err(ImageError::Corrupt {
            format,
            detail: format!("header claims an empty image ({width}x{height})"),
        });
    }
    if u64::from(width) * u64::from(height) > limit {
        return Err(ImageError::TooLarge {
            format,
            width: u64::from(width),
            height: u64::from(height),
            limit,
        });
    }
    Ok(())
}

/// zlib-compresses pixel rows for `/FlateDecode`. Level 6 is zlib's default; on scanned
/// pages it compresses within a few per cent of level 9 at a third of the time.
pub(crate) fn zlib(data: &[u8]) -> Arc<[u8]> {
    use std::io::Write;
    let mut enc = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(data.len() / 4 + 64),
        flate2::Compression::new(6),
    );
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default().into()
}

/// Limits for an `image` crate decoder of a page whose header passed [`check_pixel_budget`]:
/// exactly that size, and memory for the frame at up to 8 bytes per pixel (RGBA, 16 bits) plus
/// `working_bytes` of the decoder's own buffers.
pub(crate) fn decoder_limits(width: u32, height: u32, working_bytes: usize) -> ::image::Limits {
    let mut limits = ::image::Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    limits.max_alloc = Some(u64::from(width) * u64::from(height) * 8 + working_bytes as u64);
    limits
}

/// The decoded pixels as interleaved 8-bit samples and their channel count (1 gray, 2 gray +
/// alpha, 3 RGB, 4 RGBA); 16-bit samples keep their high byte.
pub(crate) fn samples8(img: &::image::DynamicImage) -> (usize, std::borrow::Cow<'_, [u8]>) {
    use ::image::DynamicImage as D;
    use std::borrow::Cow;
    let high = |v: &[u16]| Cow::Owned(v.iter().map(|s| (s >> 8) as u8).collect());
    let channels = usize::from(img.color().channel_count());
    match img {
        D::ImageLuma8(_) | D::ImageLumaA8(_) | D::ImageRgb8(_) | D::ImageRgba8(_) => {
            (channels, Cow::Borrowed(img.as_bytes()))
        }
        D::ImageLuma16(b) => (channels, high(b.as_raw())),
        D::ImageLumaA16(b) => (channels, high(b.as_raw())),
        D::ImageRgb16(b) => (channels, high(b.as_raw())),
        D::ImageRgba16(b) => (channels, high(b.as_raw())),
        _ => (4, Cow::Owned(img.to_rgba8().into_raw())),
    }
}

/// 16-bit gray or RGB samples big-endian, as a PDF image stream holds them; `None` for any
/// other kind of pixels.
pub(crate) fn samples16_be(img: &::image::DynamicImage) -> Option<Vec<u8>> {
    let raw = match img {
        ::image::DynamicImage::ImageLuma16(b) => b.as_raw(),
        ::image::DynamicImage::ImageRgb16(b) => b.as_raw(),
        _ => return None,
    };
    Some(raw.iter().flat_map(|s| s.to_be_bytes()).collect())
}

/// The gray raster of 8-bit samples from [`samples8`]: colour through BT.601 [`luma`], alpha
/// composited over white paper.
pub(crate) fn gray_over_white(channels: usize, samples: &[u8]) -> Vec<u8> {
    match channels {
        1 => samples.to_vec(),
        2 => samples
            .chunks_exact(2)
            .map(|p| over_white(p[0], p[1]))
            .collect(),
        3 => samples
            .chunks_exact(3)
            .map(|p| luma(p[0], p[1], p[2]))
            .collect(),
        _ => samples
            .chunks_exact(4)
            .map(|p| over_white(luma(p[0], p[1], p[2]), p[3]))
            .collect(),
    }
}

/// Samples from [`samples8`] with alpha composited over white paper and dropped: the colour
/// count (1 or 3) and the 8-bit samples.
pub(crate) fn composited_over_white(
    channels: usize,
    samples: std::borrow::Cow<'_, [u8]>,
) -> (u8, Vec<u8>) {
    match channels {
        1 => (1, samples.into_owned()),
        2 => (1, gray_over_white(2, &samples)),
        3 => (3, samples.into_owned()),
        _ => (
            3,
            samples
                .chunks_exact(4)
                .flat_map(|p| [0, 1, 2].map(|c| over_white(p[c], p[3])))
                .collect(),
        ),
    }
}

/// ITU-R BT.601 luma in integer arithmetic (weights 77/150/29 of 256), the usual RGB -> gray
/// mapping for OCR input.
#[inline]
pub(crate) fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((77 * u32::from(r) + 150 * u32::from(g) + 29 * u32::from(b) + 128) >> 8) as u8
}

/// Composites a colour value with alpha over white paper.
#[inline]
pub(crate) fn over_white(v: u8, alpha: u8) -> u8 {
    let a = u32::from(alpha);
    ((u32::from(v) * a + 255 * (255 - a) + 127) / 255) as u8
}

/// Bytes per row of packed samples (TIFF 6.0 and PNG both pad rows to whole bytes).
pub(crate) fn row_bytes(width: u32, samples: u32, bits: u32) -> usize {
    ((u64::from(width) * u64::from(samples) * u64::from(bits)).div_ceil(8)) as usize
}

/// Expands one row of packed 1/2/4-bit gray samples (0 = black) to 8-bit gray.
pub(crate) fn expand_low_bit_gray(row: &[u8], bits: u8, width: usize, out: &mut [u8]) {
    let per_byte = 8 / usize::from(bits);
    let mask = (1u16 << bits) - 1;
    let scale = 255 / mask;
    for (x, px) in out.iter_mut().enumerate().take(width) {
        let byte = row.get(x / per_byte).copied().unwrap_or(0);
        let shift = 8 - usize::from(bits) * (x % per_byte + 1);
        *px = ((u16::from(byte >> shift) & mask) * scale) as u8;
    }
}

/// Reads the `i`th packed sample of `bits` bits from a row.
#[inline]
pub(crate) fn packed_sample(row: &[u8], bits: u8, i: usize) -> u8 {
    match bits {
        8 => row.get(i).copied().unwrap_or(0),
        16 => row.get(2 * i).copied().unwrap_or(0),
        _ => {
            let per_byte = 8 / usize::from(bits);
            let byte = row.get(i / per_byte).copied().unwrap_or(0);
            let shift = 8 - usize::from(bits) * (i % per_byte + 1);
            (byte >> shift) & (((1u16 << bits) - 1) as u8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_input_is_empty_error() {
        let bytes: Arc<[u8]> = Arc::from(Vec::new());
        assert!(matches!(probe(&bytes, 1000), Err(ImageError::Empty)));
        assert!(matches!(
            decode_page(&bytes, 0, 1000),
            Err(ImageError::Empty)
        ));
    }

    #[test]
    fn text_file_named_png_is_unknown_format() {
        let bytes: Arc<[u8]> = Arc::from(b"Sehr geehrte Damen und Herren,\n".to_vec());
        let err = decode_page(&bytes, 0, DEFAULT_MAX_PIXELS).unwrap_err();
        assert!(matches!(err, ImageError::UnknownFormat(_)), "{err}");
        assert!(err.to_string().contains("53 65 68 72"), "{err}");
    }

    #[test]
    fn a_bigtiff_header_alone_is_a_corrupt_tiff() {
        // BigTIFF is read since the container goes through the `tiff` crate (see
        // `tiff::tests::bigtiff_pages_are_read`); a header with nothing after it is corrupt.
        let err = probe(b"II+\0\x08\0\0\0", 10).unwrap_err();
        assert!(
            matches!(
                err,
                ImageError::Corrupt {
                    format: FileFormat::Tiff,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn pixel_budget_refuses_over_limit_and_empty() {
        assert!(check_pixel_budget(FileFormat::Png, 10, 10, 100).is_ok());
        assert!(matches!(
            check_pixel_budget(FileFormat::Png, 11, 10, 100),
            Err(ImageError::TooLarge { width: 11, .. })
        ));
        assert!(matches!(
            check_pixel_budget(FileFormat::Png, 0, 10, 100),
            Err(ImageError::Corrupt { .. })
        ));
    }

    #[test]
    fn orientation_values_map_to_clockwise_turns() {
        let turns: Vec<u16> = (0..=9).map(orientation_turn).collect();
        assert_eq!(turns, [0, 0, 0, 180, 0, 0, 90, 0, 270, 0]);
    }

    #[test]
    fn luma_and_compositing_hit_the_ends() {
        assert_eq!(luma(0, 0, 0), 0);
        assert_eq!(luma(255, 255, 255), 255);
        assert!(luma(255, 0, 0) < luma(0, 255, 0));
        assert_eq!(over_white(0, 0), 255);
        assert_eq!(over_white(0, 255), 0);
        assert_eq!(over_white(100, 255), 100);
    }

    #[test]
    fn low_bit_gray_expands_to_full_range() {
        let mut out = [0u8; 8];
        expand_low_bit_gray(&[0b1010_0000], 1, 8, &mut out);
        assert_eq!(out, [255, 0, 255, 0, 0, 0, 0, 0]);
        let mut out = [0u8; 4];
        expand_low_bit_gray(&[0b0001_1011], 2, 4, &mut out);
        assert_eq!(out, [0, 85, 170, 255]);
        assert_eq!(packed_sample(&[0b0001_1011], 2, 3), 3);
        assert_eq!(packed_sample(&[0xAB, 0xCD], 16, 0), 0xAB);
    }

    /// What the `image` crate's `to_luma8` gives next to today's gray conversion, on
    /// generated rasters. Gray (8 and 16 bits) agrees within one level. Colour does not: the
    /// crate weighs Rec. 709 (0.2126/0.7152/0.0722) where `luma` weighs BT.601, which is what
    /// JPEG's own Y channel is and what the blank test's thresholds were set on; saturated red
    /// comes out 23 levels darker. So colour keeps `luma`, and this test says why.
    #[test]
    fn crate_gray_conversion_against_ours() {
        use ::image::{DynamicImage, ImageBuffer};
        let g16: Vec<u16> = (0..=u16::MAX).step_by(13).collect();
        let n = g16.len() as u32;
        let crate_g16 =
            DynamicImage::ImageLuma16(ImageBuffer::from_raw(n, 1, g16.clone()).unwrap()).to_luma8();
        let ours_g16 = g16.iter().map(|v| (v >> 8) as u8);
        let worst = ours_g16
            .zip(crate_g16.as_raw())
            .map(|(a, &b)| (i32::from(a) - i32::from(b)).abs())
            .max();
        assert_eq!(
            worst,
            Some(1),
            "16-bit gray: high byte against the crate's rounding"
        );

        let levels = [0u8, 1, 37, 90, 128, 200, 254, 255];
        let mut rgb = Vec::new();
        for r in levels {
            for g in levels {
                for b in levels {
                    rgb.extend([r, g, b]);
                }
            }
        }
        let n = (rgb.len() / 3) as u32;
        let crate_rgb =
            DynamicImage::ImageRgb8(ImageBuffer::from_raw(n, 1, rgb.clone()).unwrap()).to_luma8();
        let diffs: Vec<i32> = rgb
            .chunks_exact(3)
            .zip(crate_rgb.as_raw())
            .map(|(p, &c)| i32::from(luma(p[0], p[1], p[2])) - i32::from(c))
            .collect();
        for (p, d) in rgb.chunks_exact(3).zip(&diffs) {
            if p[0] == p[1] && p[1] == p[2] {
                assert_eq!(*d, 0, "neutral gray {p:?} must agree");
            }
        }
        let red = diffs[levels.len() * levels.len() * (levels.len() - 1)];
        assert_eq!(red, 23, "pure red: BT.601 77 against Rec. 709 54");
        assert!(diffs.iter().map(|d| d.abs()).max() > Some(1));
    }

    /// Small valid files of every format, the seeds that the fuzz-style tests damage.
    fn seed_files() -> Vec<Vec<u8>> {
        use super::tiff::tests::{TiffPage, g4_encode, pattern, write_tiff};
        let black = pattern(40, 16);
        let mut g4 = TiffPage::new(40, 16, vec![g4_encode(&black, 40)]);
        g4.bits = 1;
        g4.compression = 4;
        g4.photometric = 0;
        let px: Vec<u8> = (0..40 * 16).map(|i| (i * 7) as u8).collect();
        let lzw_data = weezl::encode::Encoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
            .encode(&px)
            .unwrap_or_default();
        let mut lzw = TiffPage::new(40, 16, vec![lzw_data]);
        lzw.compression = 5;
        let mut packbits = TiffPage::new(4, 2, vec![vec![0xF9, 0x80]]);
        packbits.compression = 32773;
        vec![
            write_tiff(&[g4], true),
            write_tiff(&[lzw, packbits], false),
            super::png::tests::encode(
                40,
                16,
                ::png::ColorType::Grayscale,
                ::png::BitDepth::Eight,
                &px,
                |_| {},
            ),
            super::jpeg::tests::encode_gray(40, 16, &px, Some(300)),
        ]
    }

    fn exercise(bytes: Vec<u8>) {
        let _ = probe(&bytes, 1_000_000);
        let arc: Arc<[u8]> = Arc::from(bytes);
        for index in 0..2 {
            let _ = decode_page(&arc, index, 1_000_000);
        }
    }

    #[test]
    fn seed_files_decode() {
        for f in seed_files() {
            let arc: Arc<[u8]> = Arc::from(f);
            decode_page(&arc, 0, 1_000_000).unwrap();
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            exercise(bytes);
        }

        #[test]
        fn arbitrary_bytes_behind_a_real_signature_never_panic(
            kind in 0usize..4,
            tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
        ) {
            let magic: &[u8] = [&b"II*\0"[..], b"MM\0*", b"\x89PNG\r\n\x1a\n", &[0xFF, 0xD8, 0xFF]][kind];
            let mut bytes = magic.to_vec();
            bytes.extend_from_slice(&tail);
            exercise(bytes);
        }

        #[test]
        fn damaged_valid_files_never_panic(
            seed in 0usize..4,
            flips in proptest::collection::vec((proptest::prelude::any::<usize>(), 0u8..8), 1..8),
            cut in proptest::option::of(proptest::prelude::any::<usize>()),
        ) {
            let mut bytes = seed_files().swap_remove(seed);
            for (pos, bit) in flips {
                let n = bytes.len();
                bytes[pos % n] ^= 1 << bit;
            }
            if let Some(c) = cut {
                let n = bytes.len();
                bytes.truncate(c % n);
            }
            exercise(bytes);
        }
    }
}
