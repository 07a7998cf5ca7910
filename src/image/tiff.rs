//! TIFF 6.0 reading. The container (header, IFD chain, tag values, byte order, BigTIFF)
//! comes from the `tiff` crate's directory API: `Decoder` walks the pages and hands out
//! each page's tags. What the pages hold is read here: strip and tile decompression (none,
//! PackBits, LZW, Deflate, JPEG, CCITT Group 4), samples interleaved or in separate planes,
//! YCbCr, FillOrder 2, palettes, and the hand-off to the PDF embedding.
//!
//! The pixels are not taken from `Decoder::read_image`: that decoder (0.11) refuses palette
//! images and ignores FillOrder, both of which archive scanners write, and it gives decoded
//! samples only, where a single-strip G4 page and a JPEG page in one strip are embedded with
//! the original strip bytes (TR-03138 A.SC.12: no re-encoding). The `tiff` crate's encoder
//! is also used by the tests as an independent writer.

use std::io::{Cursor, Read};
use std::sync::Arc;

use tiff::decoder::ifd::Value;
use tiff::decoder::{Decoder, Limits};
use tiff::tags::{Tag, Type};
use tiff::{TiffError, TiffFormatError};

use super::jpeg;
use super::{
    ColorKind, DecodedPage, Embed, FileFormat, GrayImage, ImageError, PageInfo, check_pixel_budget,
    expand_low_bit_gray, luma, over_white, row_bytes, zlib,
};

const F: FileFormat = FileFormat::Tiff;

/// More pages than any paper document has; stops a crafted IFD chain from running long.
const MAX_PAGES: usize = 10_000;

/// Stored bits per pixel, all samples together, that a page may have (see `layout`).
const MAX_BITS_PER_PIXEL: u32 = 64;

fn corrupt(detail: impl Into<String>) -> ImageError {
    ImageError::Corrupt {
        format: F,
        detail: detail.into(),
    }
}

fn unsupported(detail: impl Into<String>) -> ImageError {
    ImageError::Unsupported {
        format: F,
        detail: detail.into(),
    }
}

/// The `tiff` crate's decoder over the whole file in memory.
type Tiff<'a> = Decoder<Cursor<&'a [u8]>>;

/// A container error of the `tiff` crate in our terms, with what the operator needs to know.
fn crate_error(e: TiffError) -> ImageError {
    match e {
        TiffError::UnsupportedError(u) => unsupported(u.to_string()),
        TiffError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            corrupt("an IFD or a tag value lies past the end of the file (truncated?)")
        }
        TiffError::FormatError(TiffFormatError::CycleInOffsets) => {
            corrupt("IFD chain loops back on itself")
        }
        TiffError::FormatError(TiffFormatError::InconsistentSizesEncountered) => corrupt(
            "strip or tile offsets and byte counts, BitsPerSample or ExtraSamples do not fit the page",
        ),
        TiffError::FormatError(TiffFormatError::StripTileTagConflict) => corrupt(
            "no strip or tile byte counts tag (cannot tell where the image data ends), or strip and tile tags mixed",
        ),
        TiffError::LimitsExceeded => corrupt("a tag claims more values than the file holds"),
        e => corrupt(e.to_string()),
    }
}

fn tag_error(tag: Tag, e: TiffError) -> ImageError {
    match crate_error(e) {
        ImageError::Corrupt { detail, .. } => corrupt(format!("tag {tag:?}: {detail}")),
        other => other,
    }
}

/// Opens the file with the `tiff` crate and finds its pages: the indices, in the IFD chain,
/// of the IFDs that are paper pages. A reduced-resolution copy of a page (a preview some
/// capture programs add, NewSubfileType bit 0 or SubfileType 2) and a transparency mask
/// (bit 2) are not (TIFF 6.0 section 8) and are left out, unless nothing else is left, when
/// every IFD counts as a page.
fn open(bytes: &[u8]) -> Result<(Tiff<'_>, Vec<usize>), ImageError> {
    // `Decoder::new` reads the first IFD with the crate's default limits; every later read
    // is held to the file's size: no tag can hold more values than the file has bytes, so
    // a crafted count cannot make the crate reserve more than that.
    let mut limits = Limits::default();
    limits.decoding_buffer_size = bytes.len().max(1 << 16) * std::mem::size_of::<Value>();
    let mut dec = Decoder::new(Cursor::new(bytes))
        .map_err(crate_error)?
        .with_limits(limits);
    let (mut ifds, mut pages) = (0, Vec::new());
    loop {
        if !is_preview_or_mask(&mut dec) {
            pages.push(ifds);
        }
        ifds += 1;
        if !dec.more_images() {
            break;
        }
        if ifds >= MAX_PAGES {
            return Err(unsupported(format!("more than {MAX_PAGES} pages")));
        }
        dec.next_image().map_err(crate_error)?;
    }
    if pages.is_empty() {
        pages = (0..ifds).collect();
    }
    Ok((dec, pages))
}

fn is_preview_or_mask(dec: &mut Tiff<'_>) -> bool {
    let new_subfile = dec.find_tag_unsigned::<u64>(Tag::NewSubfileType);
    let subfile = dec.find_tag_unsigned::<u64>(Tag::SubfileType);
    matches!(new_subfile, Ok(Some(v)) if v & 0b101 != 0) || matches!(subfile, Ok(Some(2)))
}

/// Every unsigned value of `tag` on the current page; `None` when the page lacks the tag.
fn uints(dec: &mut Tiff<'_>, tag: Tag) -> Result<Option<Vec<u64>>, ImageError> {
    dec.find_tag_unsigned_vec::<u64>(tag)
        .map_err(|e| tag_error(tag, e))
}

/// The first unsigned value of `tag`, or `default` when the page lacks the tag.
fn uint_or(dec: &mut Tiff<'_>, tag: Tag, default: u64) -> Result<u64, ImageError> {
    Ok(uints(dec, tag)?
        .and_then(|v| v.first().copied())
        .unwrap_or(default))
}

/// Every value of a RATIONAL tag; `None` when the page lacks it, it has another type or a
/// value has a zero denominator.
fn rationals(dec: &mut Tiff<'_>, tag: Tag) -> Result<Option<Vec<f64>>, ImageError> {
    let values = match dec.find_tag(tag).map_err(|e| tag_error(tag, e))? {
        None => return Ok(None),
        Some(Value::List(l)) => l,
        Some(one) => vec![one],
    };
    Ok(values
        .into_iter()
        .map(|v| match v {
            Value::Rational(n, d) if d != 0 => Some(f64::from(n) / f64::from(d)),
            _ => None,
        })
        .collect())
}

/// The bytes of a BYTE or UNDEFINED tag as stored (an ICC profile, JPEGTables), read
/// without the crate's one value per byte; `None` for a missing, empty or other-typed tag.
fn raw_bytes(
    dec: &mut Tiff<'_>,
    tag: Tag,
    file_len: usize,
) -> Result<Option<Arc<[u8]>>, ImageError> {
    let mut ifd = dec.image_ifd();
    let Some(entry) = ifd.find_entry(tag) else {
        return Ok(None);
    };
    if !matches!(entry.field_type(), Type::BYTE | Type::UNDEFINED) || entry.count() == 0 {
        return Ok(None);
    }
    let n = usize::try_from(entry.count())
        .ok()
        .filter(|&n| n <= file_len)
        .ok_or_else(|| {
            corrupt(format!(
                "tag {tag:?} points past the end of the file (truncated?)"
            ))
        })?;
    let mut buf = vec![0; n];
    ifd.find_tag_bytes(tag, &mut buf, 0)
        .map_err(|e| tag_error(tag, e))?;
    Ok(Some(buf.into()))
}

/// The tags of one page that decoding needs, with TIFF 6.0 defaults applied.
#[derive(Debug, Clone)]
struct Ifd {
    width: u32,
    height: u32,
    bits: u16,
    samples: u16,
    photometric: u16,
    compression: u16,
    predictor: u16,
    fill_order: u16,
    planar: u16,
    rows_per_strip: u32,
    /// StripOffsets, or TileOffsets for a tiled page.
    strip_offsets: Vec<u64>,
    /// StripByteCounts, or TileByteCounts for a tiled page.
    strip_counts: Option<Vec<u64>>,
    extra_samples: Vec<u64>,
    colormap: Option<Vec<u64>>,
    sample_format: u16,
    /// (TileWidth, TileLength) of a tiled page (TIFF 6.0 section 15).
    tile: Option<(u32, u32)>,
    dpi: Option<(f64, f64)>,
    /// Orientation (TIFF 6.0 section 8), 1 = as stored.
    orientation: u64,
    /// The embedded ICC profile (tag 34675, InterColorProfile), if any.
    icc: Option<Arc<[u8]>>,
    /// JPEGTables (tag 347, TIFF Technical Note 2): the quantisation and Huffman tables the
    /// JPEG strips of a compression 7 page share, as a tables-only JPEG stream.
    jpeg_tables: Option<Arc<[u8]>>,
    /// YCbCrSubsampling (tag 530): luma samples per chroma sample across and down.
    ycbcr_subsampling: (usize, usize),
    /// YCbCrCoefficients (tag 529): the red, green and blue shares of luma.
    ycbcr_coefficients: [f64; 3],
    /// ReferenceBlackWhite (tag 532): black and white codes of Y, Cb and Cr.
    reference_black_white: [f64; 6],
}

/// Reads the tags of the decoder's current page.
fn read_ifd(dec: &mut Tiff<'_>, file_len: usize) -> Result<Ifd, ImageError> {
    let dimension = |v: Option<Vec<u64>>, name: &str| -> Result<u32, ImageError> {
        let v = v
            .and_then(|v| v.first().copied())
            .ok_or_else(|| corrupt(format!("no {name} tag")))?;
        u32::try_from(v).map_err(|_| corrupt(format!("{name} too big")))
    };
    let width = dimension(uints(dec, Tag::ImageWidth)?, "ImageWidth")?;
    let height = dimension(uints(dec, Tag::ImageLength)?, "ImageLength")?;
    // The crate has refused mixed BitsPerSample, a PlanarConfiguration other than 1 or 2 and
    // a page without PhotometricInterpretation before we get here.
    let bits = uint_or(dec, Tag::BitsPerSample, 1)?;
    let compression = uint_or(dec, Tag::Compression, 1)? as u16;
    let samples = uint_or(dec, Tag::SamplesPerPixel, 1)? as u16;
    let photometric = uint_or(dec, Tag::PhotometricInterpretation, 0)? as u16;
    let tile = match (uints(dec, Tag::TileWidth)?, uints(dec, Tag::TileLength)?) {
        (Some(w), Some(l)) => Some((
            dimension(Some(w), "TileWidth")?,
            dimension(Some(l), "TileLength")?,
        )),
        (None, None) => None,
        _ => {
            return Err(corrupt(
                "TileWidth without TileLength or the other way round",
            ));
        }
    };
    let (offsets_tag, counts_tag) = if tile.is_some() {
        (Tag::TileOffsets, Tag::TileByteCounts)
    } else {
        (Tag::StripOffsets, Tag::StripByteCounts)
    };
    let strip_offsets = match uints(dec, offsets_tag)? {
        Some(v) => v,
        None if tile.is_some() => return Err(corrupt("tiled page without TileOffsets")),
        None => return Err(corrupt("no StripOffsets tag")),
    };
    let strip_counts = uints(dec, counts_tag)?;
    let colormap = uints(dec, Tag::ColorMap)?;
    let extra_samples = uints(dec, Tag::ExtraSamples)?.unwrap_or_default();
    // ICC profile (tag 34675, TIFF/EP and Adobe's TIFF Technote): UNDEFINED or BYTE data.
    let icc = raw_bytes(dec, Tag::IccProfile, file_len)?;
    let jpeg_tables = raw_bytes(dec, Tag::JPEGTables, file_len)?;
    // TIFF 6.0 section 21 defaults: chroma halved both ways, CCIR 601-1 coefficients, and
    // full-range codes with chroma centred on 128. Read only where they are used, on YCbCr
    // pages that are not JPEG (whose data carries its own sampling): other pages may carry
    // these tags with any values.
    let ycbcr_raw = photometric == 6 && compression != 7;
    let (mut ycbcr_subsampling, mut ycbcr_coefficients, mut reference_black_white) = (
        (2, 2),
        [0.299, 0.587, 0.114],
        [0.0, 255.0, 128.0, 255.0, 128.0, 255.0],
    );
    if ycbcr_raw {
        match uints(dec, Tag::ChromaSubsampling)?.as_deref() {
            None => {}
            Some(&[h, v, ..]) if matches!(h, 1 | 2 | 4) && matches!(v, 1 | 2 | 4) && v <= h => {
                ycbcr_subsampling = (h as usize, v as usize);
            }
            Some(other) => return Err(corrupt(format!("YCbCrSubsampling {other:?}"))),
        }
        let coefficients = Tag::from_u16_exhaustive(529);
        if dec.image_ifd().find_entry(coefficients).is_some() {
            match rationals(dec, coefficients)?.as_deref() {
                Some(&[red, green, blue, ..]) if red > 0.0 && green > 0.0 && blue > 0.0 => {
                    ycbcr_coefficients = [red, green, blue];
                }
                _ => {
                    return Err(corrupt(
                        "YCbCrCoefficients are not three positive fractions",
                    ));
                }
            }
        }
        let black_white = Tag::from_u16_exhaustive(532);
        if dec.image_ifd().find_entry(black_white).is_some() {
            match rationals(dec, black_white)?.as_deref() {
                Some(v) if v.len() >= 6 && v[..6].chunks_exact(2).all(|p| p[1] > p[0]) => {
                    reference_black_white = [v[0], v[1], v[2], v[3], v[4], v[5]];
                }
                _ => {
                    return Err(corrupt(
                        "ReferenceBlackWhite is not three black/white pairs",
                    ));
                }
            }
        }
    }

    // Resolution (TIFF 6.0 section 8): ResolutionUnit 2 = inch (the default), 3 = centimetre,
    // 1 = no absolute unit, which is an aspect ratio and not a resolution.
    let first = |v: Option<Vec<f64>>| v.and_then(|v| v.first().copied());
    let xres = first(rationals(dec, Tag::XResolution)?);
    let yres = first(rationals(dec, Tag::YResolution)?);
    let factor = match uint_or(dec, Tag::ResolutionUnit, 2)? {
        2 => Some(1.0),
        3 => Some(2.54),
        _ => None,
    };
    let dpi = match (xres, yres.or(xres), factor) {
        (Some(x), Some(y), Some(f)) if x.is_finite() && y.is_finite() && x > 0.0 && y > 0.0 => {
            Some((x * f, y * f))
        }
        _ => None,
    };

    Ok(Ifd {
        width,
        height,
        bits: u16::try_from(bits).map_err(|_| corrupt("BitsPerSample too big"))?,
        samples,
        photometric,
        compression,
        predictor: uint_or(dec, Tag::Predictor, 1)? as u16,
        fill_order: uint_or(dec, Tag::FillOrder, 1)? as u16,
        planar: uint_or(dec, Tag::PlanarConfiguration, 1)? as u16,
        rows_per_strip: u32::try_from(uint_or(dec, Tag::RowsPerStrip, u64::from(u32::MAX))?)
            .unwrap_or(u32::MAX),
        strip_offsets,
        strip_counts,
        extra_samples,
        colormap,
        sample_format: uint_or(dec, Tag::SampleFormat, 1)? as u16,
        tile,
        dpi,
        orientation: uint_or(dec, Tag::Orientation, 1)?,
        icc,
        jpeg_tables,
        ycbcr_subsampling,
        ycbcr_coefficients,
        reference_black_white,
    })
}

/// The decoded meaning of a page's tags, checked for what we can read.
#[derive(Debug, Clone, Copy)]
struct Layout {
    color: ColorKind,
    /// Colour channels embedded (1, 3 or 4); extra samples are stored but not embedded.
    colors: u8,
    bits: u8,
    /// Samples per pixel as stored, including extra samples.
    samples: u8,
    /// The first extra sample is alpha (TIFF 6.0 ExtraSamples 1 or 2).
    alpha: bool,
}

fn layout(ifd: &Ifd) -> Result<Layout, ImageError> {
    if ifd.sample_format != 1 {
        return Err(unsupported(format!(
            "SampleFormat {} (only unsigned integer samples)",
            ifd.sample_format
        )));
    }
    match ifd.compression {
        1 | 4 | 5 | 7 | 8 | 32773 | 32946 => {}
        c => return Err(unsupported(compression_not_read(c))),
    }
    if !matches!(ifd.fill_order, 1 | 2) {
        return Err(corrupt(format!("FillOrder {}", ifd.fill_order)));
    }
    if ifd.samples > 1 && ifd.planar == 2 && !matches!(ifd.bits, 8 | 16) {
        return Err(unsupported(format!(
            "{}-bit samples stored in separate planes",
            ifd.bits
        )));
    }
    if let Some((tw, tl)) = ifd.tile {
        // A tile is decoded into its own buffer: bound it like a page, and refuse tiles far
        // larger than the image they are cut from (a crafted header's way to allocate).
        let most = (u64::from(ifd.width) * u64::from(ifd.height)).max(1 << 20);
        if tw == 0 || tl == 0 || u64::from(tw) * u64::from(tl) > most {
            return Err(corrupt(format!(
                "tiles of {tw}x{tl} pixels for a {}x{} page",
                ifd.width, ifd.height
            )));
        }
    }
    if !matches!(ifd.predictor, 1 | 2) {
        return Err(unsupported(format!("predictor {}", ifd.predictor)));
    }
    let samples = u8::try_from(ifd.samples).map_err(|_| corrupt("SamplesPerPixel too big"))?;
    let bits = u8::try_from(ifd.bits).map_err(|_| corrupt("BitsPerSample too big"))?;
    // The bomb check counts pixels; the decode buffer holds every stored sample of them. At
    // most 64 bits per pixel (16-bit RGBA, 8-bit CMYK plus alpha) keeps that buffer within
    // 8 bytes a pixel, as for PNG: 255 extra 16-bit samples would make a page inside the
    // pixel limit ask for 510 bytes a pixel, tens of GB, and abort the whole run.
    if u32::from(samples) * u32::from(bits) > MAX_BITS_PER_PIXEL {
        return Err(unsupported(format!(
            "{samples} samples of {bits} bits per pixel (at most {MAX_BITS_PER_PIXEL} bits per pixel are read)"
        )));
    }
    let (color, colors) = match ifd.photometric {
        0 | 1 => (
            if bits == 1 {
                ColorKind::Bilevel
            } else {
                ColorKind::Gray
            },
            1,
        ),
        2 => (ColorKind::Rgb, 3),
        3 => (ColorKind::Indexed, 1),
        5 => (ColorKind::Cmyk, 4),
        6 => (ColorKind::Rgb, 3),
        p => return Err(unsupported(format!("PhotometricInterpretation {p}"))),
    };
    if samples < colors {
        return Err(corrupt(format!(
            "{samples} samples per pixel for a {color:?} image"
        )));
    }
    let extra = samples - colors;
    let alpha = matches!(ifd.extra_samples.first(), Some(1 | 2));
    let bits_ok = match color {
        ColorKind::Bilevel => true,
        ColorKind::Gray => matches!(bits, 2 | 4 | 8 | 16),
        ColorKind::Rgb => matches!(bits, 8 | 16),
        ColorKind::Indexed => matches!(bits, 1 | 2 | 4 | 8),
        ColorKind::Cmyk => bits == 8,
    };
    if !bits_ok {
        return Err(unsupported(format!("{bits}-bit {color:?}")));
    }
    if extra > 0 && !matches!(bits, 8 | 16) {
        return Err(unsupported(format!(
            "{bits}-bit samples with {extra} extra sample(s)"
        )));
    }
    if ifd.photometric == 6 && (bits != 8 || samples != 3) {
        return Err(unsupported(format!(
            "YCbCr with {samples} samples of {bits} bits (only three 8-bit samples)"
        )));
    }
    if ifd.photometric == 6 && ifd.compression != 7 && ifd.planar != 1 {
        return Err(unsupported("YCbCr stored in separate planes"));
    }
    if ifd.compression == 7 {
        // The JPEG data itself says how it is coded; the page's tags must agree with what a
        // PDF DCTDecode filter makes of it: gray, or YCbCr turned into RGB.
        match (ifd.photometric, samples, bits) {
            (1, 1, 8) | (2 | 6, 3, 8) => {}
            (p, _, _) => {
                return Err(unsupported(format!(
                    "JPEG-compressed {} (PhotometricInterpretation {p}, {samples} samples of {bits} bits); only 8-bit gray, RGB and YCbCr",
                    match p {
                        0 => "WhiteIsZero gray",
                        5 => "CMYK",
                        _ => "colour",
                    }
                )));
            }
        }
        if ifd.planar != 1 {
            return Err(unsupported("JPEG-compressed samples in separate planes"));
        }
    }
    if ifd.compression == 4 && (bits != 1 || samples != 1) {
        return Err(corrupt("CCITT Group 4 on a page that is not 1-bit bilevel"));
    }
    if ifd.predictor == 2 && bits < 8 {
        return Err(unsupported("horizontal predictor on samples under 8 bits"));
    }
    if color == ColorKind::Indexed {
        let want = 3usize << bits;
        match &ifd.colormap {
            Some(m) if m.len() == want => {}
            Some(m) => {
                return Err(corrupt(format!(
                    "ColorMap has {} entries, {want} expected",
                    m.len()
                )));
            }
            None => return Err(corrupt("palette image without ColorMap")),
        }
    }
    Ok(Layout {
        color,
        colors,
        bits,
        samples,
        alpha,
    })
}

/// Why a compression scheme is refused, naming it as TIFF tools do (TIFF 6.0 section 8 and
/// the registered extensions), so the operator knows what to change at the scanner.
fn compression_not_read(c: u16) -> String {
    let name = match c {
        2 => "CCITT modified Huffman (RLE)",
        3 => "CCITT Group 3 fax",
        6 => "old-style JPEG",
        32771 => "CCITT RLE, word-aligned",
        32809 => "ThunderScan",
        34661 => "JBIG",
        34712 => "JPEG 2000",
        34887..=34889 => "LERC",
        34925 => "LZMA",
        50000 => "Zstandard",
        50001 => "WebP",
        _ => "unknown",
    };
    format!(
        "{name}-compressed (compression {c}) strips are not read; only uncompressed, PackBits, LZW, Deflate, JPEG and CCITT Group 4"
    )
}

fn page_info(ifd: &Ifd, l: &Layout) -> PageInfo {
    PageInfo {
        width: ifd.width,
        height: ifd.height,
        dpi: ifd.dpi,
        color: l.color,
        // Extra samples are composited or dropped at 8 bits (`embed_and_gray`).
        bits_per_component: if l.samples > l.colors { 8 } else { l.bits },
        format: F,
        orientation: super::orientation_turn(ifd.orientation),
    }
}

/// A bilevel page without PhotometricInterpretation — a tag the TIFF spec requires, but old
/// fax software leaves out — is read as WhiteIsZero, as libtiff reads it. The `tiff` crate
/// refuses such a page, so when it refuses a file, the file is handed to it again with each
/// such IFD copied to the end, the tag added (WhiteIsZero), and linked in place of the
/// original. Every original byte, and so every strip offset, stays where it was. `None` when
/// no bilevel page lacks the tag (nothing to mend: the crate's refusal stands), or the file is
/// not a classic TIFF whose IFD chain can be followed.
fn with_default_photometric(bytes: &[u8]) -> Option<Vec<u8>> {
    let le = match bytes.get(..2)? {
        b"II" => true,
        b"MM" => false,
        _ => return None,
    };
    let u16_at = |b: &[u8], at: usize| -> Option<u16> {
        let s: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if le {
            u16::from_le_bytes(s)
        } else {
            u16::from_be_bytes(s)
        })
    };
    let u32_at = |b: &[u8], at: usize| -> Option<u32> {
        let s: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if le {
            u32::from_le_bytes(s)
        } else {
            u32::from_be_bytes(s)
        })
    };
    let put16 = |v: u16| if le { v.to_le_bytes() } else { v.to_be_bytes() };
    let put32 = |v: u32| if le { v.to_le_bytes() } else { v.to_be_bytes() };
    if u16_at(bytes, 2)? != 42 {
        return None;
    }
    let mut out = bytes.to_vec();
    // Where the offset of the next IFD is stored, in `out`.
    let mut pointer_at = 4usize;
    let mut seen = std::collections::HashSet::new();
    let mut mended = false;
    loop {
        let ifd = u32_at(&out, pointer_at)? as usize;
        if ifd == 0 || !seen.insert(ifd) || seen.len() > MAX_PAGES {
            break;
        }
        let n = usize::from(u16_at(bytes, ifd)?);
        let next_at = ifd + 2 + 12 * n;
        let entries: Vec<&[u8]> = bytes.get(ifd + 2..next_at)?.chunks(12).collect();
        u32_at(bytes, next_at)?;
        let tag = |e: &[u8]| u16_at(e, 0).unwrap_or(0);
        // BitsPerSample absent means 1; one SHORT value sits in the entry itself.
        let bilevel = entries.iter().find(|e| tag(e) == 258).is_none_or(|e| {
            u16_at(e, 2) == Some(3) && u32_at(e, 4) == Some(1) && u16_at(e, 8) == Some(1)
        });
        if entries.iter().any(|e| tag(e) == 262) || !bilevel {
            pointer_at = next_at;
            continue;
        }
        // Copies of IFDs that overlap in the file could add more than the file holds: a real
        // fax file's directories are a sliver of it.
        if out.len() > bytes.len().saturating_mul(2).max(1 << 20) {
            return None;
        }
        if out.len() % 2 == 1 {
            out.push(0);
        }
        let copy_at = out.len();
        let mut photometric = [0u8; 12];
        photometric[..2].copy_from_slice(&put16(262));
        photometric[2..4].copy_from_slice(&put16(3));
        photometric[4..8].copy_from_slice(&put32(1));
        let mut list: Vec<&[u8]> = entries;
        list.push(&photometric);
        list.sort_by_key(|e| tag(e));
        out.extend_from_slice(&put16(u16::try_from(list.len()).ok()?));
        for e in list {
            out.extend_from_slice(e);
        }
        out.extend_from_slice(&bytes[next_at..next_at + 4]);
        let copy_offset = u32::try_from(copy_at).ok()?;
        out[pointer_at..pointer_at + 4].copy_from_slice(&put32(copy_offset));
        pointer_at = copy_at + 2 + 12 * (n + 1);
        mended = true;
    }
    mended.then_some(out)
}

pub(super) fn probe(bytes: &[u8], max_pixels: u64) -> Result<Vec<PageInfo>, ImageError> {
    let (mut dec, ifds) = match open(bytes) {
        Ok(opened) => opened,
        Err(e) => match with_default_photometric(bytes) {
            Some(mended) => return probe(&mended, max_pixels),
            None => return Err(e),
        },
    };
    let mut pages = Vec::with_capacity(ifds.len());
    for i in ifds {
        dec.seek_to_image(i).map_err(crate_error)?;
        let ifd = read_ifd(&mut dec, bytes.len())?;
        check_pixel_budget(F, ifd.width, ifd.height, max_pixels)?;
        let l = layout(&ifd)?;
        pages.push(page_info(&ifd, &l));
    }
    Ok(pages)
}

pub(super) fn decode_page(
    bytes: &Arc<[u8]>,
    index: usize,
    max_pixels: u64,
) -> Result<DecodedPage, ImageError> {
    let (mut dec, ifds) = match open(bytes) {
        Ok(opened) => opened,
        Err(e) => match with_default_photometric(bytes) {
            Some(mended) => return decode_page(&Arc::from(mended), index, max_pixels),
            None => return Err(e),
        },
    };
    let at = *ifds.get(index).ok_or(ImageError::NoSuchPage {
        format: F,
        index,
        pages: ifds.len(),
    })?;
    dec.seek_to_image(at).map_err(crate_error)?;
    let ifd = read_ifd(&mut dec, bytes.len())?;
    check_pixel_budget(F, ifd.width, ifd.height, max_pixels)?;
    let l = layout(&ifd)?;
    let info = page_info(&ifd, &l);
    let chunks = chunks(&ifd, bytes)?;
    if ifd.compression == 4 {
        let (embed, gray) = g4_page(&ifd, &chunks)?;
        return Ok(DecodedPage { info, embed, gray });
    }
    if ifd.compression == 7
        && let Some((embed, gray)) = jpeg_passthrough(&ifd, &chunks, max_pixels)?
    {
        return Ok(DecodedPage { info, embed, gray });
    }
    let raw = if ifd.photometric == 6 && ifd.compression != 7 {
        ycbcr_to_rgb(&ifd, &chunks)?
    } else {
        let le = dec.byte_order() == tiff::tags::ByteOrder::LittleEndian;
        decompressed(&ifd, &l, le, &chunks)?
    };
    let (embed, gray) = embed_and_gray(&ifd, &l, raw)?;
    Ok(DecodedPage { info, embed, gray })
}

/// A JPEG-compressed page (compression 7) whose one strip, joined with the JPEGTables, is a
/// whole JPEG of the page: embedded as that JPEG (`/DCTDecode`), the scanner's coded data
/// unchanged. `None` for pages in several strips or tiles, which are decoded and re-encoded
/// losslessly (Flate) like any other page.
fn jpeg_passthrough(
    ifd: &Ifd,
    chunks: &[Chunk<'_>],
    max_pixels: u64,
) -> Result<Option<(Embed, GrayImage)>, ImageError> {
    let [c] = chunks else {
        return Ok(None);
    };
    let whole = jpeg::with_tables(ifd.jpeg_tables.as_deref(), c.data);
    let colors = if ifd.photometric == 1 { 1 } else { 3 };
    check_jpeg_colour(ifd, &whole).map_err(corrupt)?;
    let frame = jpeg::frame(&whole).map_err(|e| corrupt(format!("JPEG strip: {e}")))?;
    if frame != (ifd.width, ifd.height, colors) {
        return Ok(None);
    }
    let page = jpeg::decode_page(&Arc::from(whole), max_pixels)
        .map_err(|e| corrupt(format!("JPEG strip: {e}")))?;
    let Embed::Dct { data, .. } = page.embed else {
        return Err(corrupt("JPEG strip did not decode as JPEG"));
    };
    Ok(Some((
        Embed::Dct {
            data,
            components: colors,
            icc: ifd.icc.clone(),
        },
        page.gray,
    )))
}

/// A page tagged RGB must hold JPEG data that every reader takes for RGB (component ids
/// 'R', 'G', 'B', as libtiff writes it), and a YCbCr page data that they take for YCbCr:
/// otherwise the colours would come out transformed twice or not at all.
fn check_jpeg_colour(ifd: &Ifd, whole: &[u8]) -> Result<(), String> {
    let rgb_coded = jpeg::rgb_by_component_ids(whole);
    match (ifd.photometric, rgb_coded) {
        (2, false) => {
            Err("JPEG strip of an RGB page is not marked as RGB (component ids R, G, B)".into())
        }
        (6, true) => Err("JPEG strip of a YCbCr page is marked as RGB".into()),
        _ => Ok(()),
    }
}

/// One JPEG strip or tile decoded into `dst`: RGB for YCbCr pages, gray for gray ones. The
/// frame must be the chunk's width and at least its rows (a strip's frame has its rows, a
/// tile's is the whole tile).
fn jpeg_chunk(ifd: &Ifd, c: &Chunk<'_>, dst: &mut [u8]) -> Result<(), String> {
    let whole = jpeg::with_tables(ifd.jpeg_tables.as_deref(), c.data);
    let (w, h, _) = jpeg::frame(&whole).map_err(|e| e.to_string())?;
    if w != c.width || h < c.rows {
        return Err(format!(
            "JPEG frame of {w}x{h} for a part of {}x{}",
            c.width, c.rows
        ));
    }
    check_jpeg_colour(ifd, &whole)?;
    let px = jpeg::pixels(&whole, w, h, ifd.photometric != 1)?;
    if px.len() < dst.len() {
        return Err(format!(
            "holds {} of {} bytes (truncated?)",
            px.len(),
            dst.len()
        ));
    }
    dst.copy_from_slice(&px[..dst.len()]);
    Ok(())
}

/// An uncompressed, PackBits, LZW or Deflate YCbCr page (TIFF 6.0 section 21) as interleaved
/// 8-bit RGB. Each strip or tile holds data units of h x v luma samples followed by one Cb
/// and one Cr for all of them; every pixel takes its unit's chroma.
fn ycbcr_to_rgb(ifd: &Ifd, chunks: &[Chunk<'_>]) -> Result<Vec<u8>, ImageError> {
    let (sh, sv) = ifd.ycbcr_subsampling;
    let (w, h) = (ifd.width as usize, ifd.height as usize);
    let total = w
        .checked_mul(h)
        .and_then(|n| n.checked_mul(3))
        .ok_or_else(|| corrupt("image size overflows"))?;
    let mut rgb = vec![0u8; total];
    let unit = sh * sv + 2;
    let mut buf = Vec::new();
    for (i, c) in chunks.iter().enumerate() {
        let (cw, rows) = (c.width as usize, c.rows as usize);
        let (across, down) = (cw.div_ceil(sh), rows.div_ceil(sv));
        buf.clear();
        buf.resize(across * down * unit, 0);
        decompress_chunk(ifd, c.data, &mut buf)
            .map_err(|e| corrupt(format!("{} {i}: {e}", chunk_name(ifd))))?;
        for (n, u) in buf.chunks_exact(unit).enumerate() {
            let (ux, uy) = (n % across * sh, n / across * sv);
            let (cb, cr) = (u[sh * sv], u[sh * sv + 1]);
            for dy in 0..sv {
                for dx in 0..sh {
                    let (x, y) = (c.x as usize + ux + dx, c.y as usize + uy + dy);
                    if ux + dx >= cw || uy + dy >= rows || x >= w || y >= h {
                        continue;
                    }
                    let px = ycbcr_pixel(ifd, u[dy * sh + dx], cb, cr);
                    rgb[(y * w + x) * 3..][..3].copy_from_slice(&px);
                }
            }
        }
    }
    Ok(rgb)
}

/// One YCbCr sample triple as RGB (TIFF 6.0 section 21, "Conversion to RGB").
fn ycbcr_pixel(ifd: &Ifd, y: u8, cb: u8, cr: u8) -> [u8; 3] {
    let rbw = &ifd.reference_black_white;
    let [lr, lg, lb] = ifd.ycbcr_coefficients;
    let scale = |v: u8, k: usize, range: f64| {
        (f64::from(v) - rbw[2 * k]) * range / (rbw[2 * k + 1] - rbw[2 * k])
    };
    let (y, cb, cr) = (scale(y, 0, 255.0), scale(cb, 1, 127.0), scale(cr, 2, 127.0));
    let r = cr * (2.0 - 2.0 * lr) + y;
    let b = cb * (2.0 - 2.0 * lb) + y;
    let g = (y - lb * b - lr * r) / lg;
    let clamp = |v: f64| v.round().clamp(0.0, 255.0) as u8;
    [clamp(r), clamp(g), clamp(b)]
}

/// One strip or tile as stored: its compressed bytes and the part of the page it covers.
/// A tile may reach past the page's right and bottom edge (TIFF 6.0 section 15); its
/// decoded size is always `width` x `rows`.
#[derive(Debug, Clone, Copy)]
struct Chunk<'a> {
    data: &'a [u8],
    x: u32,
    y: u32,
    width: u32,
    rows: u32,
    /// Which sample the chunk holds when samples are stored in separate planes
    /// (PlanarConfiguration 2); 0 for interleaved samples.
    plane: u16,
}

/// Every strip or tile of the page, in file order: for separate planes, all chunks of the
/// first sample, then of the second, and so on (TIFF 6.0 sections 8 and 15).
fn chunks<'a>(ifd: &Ifd, bytes: &'a [u8]) -> Result<Vec<Chunk<'a>>, ImageError> {
    let (cw, ch) = match ifd.tile {
        Some(t) => t,
        None => (ifd.width, ifd.rows_per_strip.clamp(1, ifd.height)),
    };
    let across = ifd.width.div_ceil(cw) as usize;
    let down = ifd.height.div_ceil(ch) as usize;
    let planes = if ifd.planar == 2 {
        usize::from(ifd.samples)
    } else {
        1
    };
    let expected = across * down * planes;
    let what = if ifd.tile.is_some() { "tile" } else { "strip" };
    let counts = ifd.strip_counts.as_ref().ok_or_else(|| {
        corrupt(format!(
            "no {what} byte counts tag (cannot tell where the image data ends)"
        ))
    })?;
    if ifd.strip_offsets.len() != expected || counts.len() != expected {
        return Err(corrupt(format!(
            "{} {what} offsets and {} byte counts for {expected} {what}s",
            ifd.strip_offsets.len(),
            counts.len()
        )));
    }
    let mut out = Vec::with_capacity(expected);
    for (i, (&off, &len)) in ifd.strip_offsets.iter().zip(counts).enumerate() {
        let data = usize::try_from(off)
            .ok()
            .zip(usize::try_from(len).ok())
            .and_then(|(o, n)| bytes.get(o..o.checked_add(n)?))
            .ok_or_else(|| {
                corrupt(format!(
                    "{what} {i} ({len} bytes at offset {off}) lies past the end of the file (truncated?)"
                ))
            })?;
        let in_plane = i % (across * down);
        let (x, y) = (
            (in_plane % across) as u32 * cw,
            (in_plane / across) as u32 * ch,
        );
        // A strip ends at the page's last row; a tile is always whole.
        let rows = if ifd.tile.is_some() {
            ch
        } else {
            ch.min(ifd.height - y)
        };
        out.push(Chunk {
            data,
            x,
            y,
            width: cw,
            rows,
            plane: (i / (across * down)) as u16,
        });
    }
    Ok(out)
}

/// TIFF 6.0 FillOrder 2: the first pixel of a byte sits in its lowest bit. Reversing each
/// byte's bits gives the usual FillOrder 1 stream (what libtiff does before decoding).
fn fill_order_1(data: &[u8], fill_order: u16) -> std::borrow::Cow<'_, [u8]> {
    if fill_order == 2 {
        data.iter()
            .map(|b| b.reverse_bits())
            .collect::<Vec<_>>()
            .into()
    } else {
        data.into()
    }
}

/// Decompresses every strip or tile into one buffer of packed, interleaved rows, with 16-bit
/// samples made big-endian and the horizontal predictor undone.
fn decompressed(
    ifd: &Ifd,
    l: &Layout,
    le: bool,
    chunks: &[Chunk<'_>],
) -> Result<Vec<u8>, ImageError> {
    let spp = usize::from(l.samples);
    let rb = row_bytes(ifd.width, u32::from(l.samples), u32::from(l.bits));
    let total = rb
        .checked_mul(ifd.height as usize)
        .ok_or_else(|| corrupt("image size overflows"))?;
    let mut raw = vec![0u8; total];
    let planar = ifd.planar == 2 && spp > 1;
    let chunk_spp = if planar { 1 } else { spp };
    let mut buf = Vec::new();
    for (i, c) in chunks.iter().enumerate() {
        let crb = row_bytes(c.width, chunk_spp as u32, u32::from(l.bits));
        // Interleaved full-width strips, the usual case, decode straight into the page.
        let direct = !planar && c.x == 0 && c.width == ifd.width && c.y + c.rows <= ifd.height;
        let dst: &mut [u8] = if direct {
            let start = c.y as usize * rb;
            &mut raw[start..start + c.rows as usize * rb]
        } else {
            buf.clear();
            buf.resize(crb * c.rows as usize, 0);
            &mut buf
        };
        if ifd.compression == 7 {
            jpeg_chunk(ifd, c, dst)
        } else {
            decompress_chunk(ifd, c.data, dst)
        }
        .map_err(|e| corrupt(format!("{} {i}: {e}", chunk_name(ifd))))?;
        if l.bits == 16 && le {
            for pair in dst.chunks_exact_mut(2) {
                pair.swap(0, 1);
            }
        }
        if ifd.predictor == 2 {
            undo_horizontal_predictor(dst, crb, chunk_spp, l.bits);
        }
        if !direct {
            place_chunk(&mut raw, rb, ifd, l, c, &buf, crb, planar);
        }
    }
    Ok(raw)
}

fn chunk_name(ifd: &Ifd) -> &'static str {
    if ifd.tile.is_some() { "tile" } else { "strip" }
}

/// Decompresses one strip or tile into `dst`, which it must fill exactly.
fn decompress_chunk(ifd: &Ifd, data: &[u8], dst: &mut [u8]) -> Result<(), String> {
    let src = fill_order_1(data, ifd.fill_order);
    let got = match ifd.compression {
        1 => {
            let n = src.len().min(dst.len());
            dst[..n].copy_from_slice(&src[..n]);
            n
        }
        32773 => unpack_bits(&src, dst),
        5 => lzw(&src, dst).map_err(|e| format!("LZW: {e}"))?,
        8 | 32946 => inflate(&src, dst).map_err(|e| format!("Deflate: {e}"))?,
        c => return Err(compression_not_read(c)),
    };
    if got < dst.len() {
        return Err(format!("holds {got} of {} bytes (truncated?)", dst.len()));
    }
    Ok(())
}

/// Copies a decoded tile, or one plane of a strip or tile, into the interleaved page,
/// dropping what lies past the page's edges.
#[allow(clippy::too_many_arguments)]
fn place_chunk(
    raw: &mut [u8],
    rb: usize,
    ifd: &Ifd,
    l: &Layout,
    c: &Chunk<'_>,
    buf: &[u8],
    crb: usize,
    planar: bool,
) {
    let visible_w = c.width.min(ifd.width.saturating_sub(c.x)) as usize;
    let visible_rows = c.rows.min(ifd.height.saturating_sub(c.y)) as usize;
    let spp = usize::from(l.samples);
    for row in 0..visible_rows {
        let src = &buf[row * crb..(row + 1) * crb];
        let dst = &mut raw[(c.y as usize + row) * rb..(c.y as usize + row + 1) * rb];
        if planar {
            // 8 or 16 bits (checked in `layout`): whole bytes per sample.
            let bps = usize::from(l.bits) / 8;
            let plane = usize::from(c.plane);
            for x in 0..visible_w {
                let at = ((c.x as usize + x) * spp + plane) * bps;
                dst[at..at + bps].copy_from_slice(&src[x * bps..(x + 1) * bps]);
            }
        } else {
            // Tile widths are multiples of 16 (TIFF 6.0 section 15), so a tile starts on a
            // byte boundary at any bit depth.
            let start = row_bytes(c.x, u32::from(l.samples), u32::from(l.bits));
            let len = row_bytes(visible_w as u32, u32::from(l.samples), u32::from(l.bits))
                .min(rb.saturating_sub(start));
            dst[start..start + len].copy_from_slice(&src[..len]);
        }
    }
}

/// TIFF 6.0 section 14: each sample is stored as the difference to the same sample of the
/// pixel to its left. 16-bit samples are big-endian here.
fn undo_horizontal_predictor(raw: &mut [u8], rb: usize, spp: usize, bits: u8) {
    for row in raw.chunks_exact_mut(rb) {
        if bits == 8 {
            for i in spp..row.len() {
                row[i] = row[i].wrapping_add(row[i - spp]);
            }
        } else {
            let stride = 2 * spp;
            let mut i = stride;
            while i + 1 < row.len() {
                let prev = u16::from_be_bytes([row[i - stride], row[i - stride + 1]]);
                let cur = u16::from_be_bytes([row[i], row[i + 1]]).wrapping_add(prev);
                row[i..i + 2].copy_from_slice(&cur.to_be_bytes());
                i += 2;
            }
        }
    }
}

/// PackBits (TIFF 6.0 section 9): returns how many bytes of `dst` were filled.
fn unpack_bits(src: &[u8], dst: &mut [u8]) -> usize {
    let (mut i, mut o) = (0usize, 0usize);
    while i < src.len() && o < dst.len() {
        let n = src[i] as i8;
        i += 1;
        if n >= 0 {
            let len = (n as usize + 1).min(dst.len() - o).min(src.len() - i);
            dst[o..o + len].copy_from_slice(&src[i..i + len]);
            i += n as usize + 1;
            o += len;
        } else if n != -128 {
            let Some(&b) = src.get(i) else { break };
            i += 1;
            let len = (1 - n as isize) as usize;
            let len = len.min(dst.len() - o);
            dst[o..o + len].fill(b);
            o += len;
        }
    }
    o
}

/// TIFF LZW (TIFF 6.0 section 13): MSB-first codes with the "early change" code-size switch.
/// Files from before TIFF 5.0 wrote LSB-first codes without early change; their first code,
/// Clear (256), then reads 0x00 and a set low bit, which new-style data cannot start with
/// (its Clear code starts 0x80). libtiff tells the two apart the same way.
fn lzw(src: &[u8], dst: &mut [u8]) -> Result<usize, String> {
    let old_style = src.len() >= 2 && src[0] == 0 && src[1] & 1 == 1;
    let mut dec = if old_style {
        weezl::decode::Decoder::new(weezl::BitOrder::Lsb, 8)
    } else {
        weezl::decode::Decoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
    };
    let (mut i, mut o) = (0usize, 0usize);
    while o < dst.len() {
        let res = dec.decode_bytes(&src[i..], &mut dst[o..]);
        i += res.consumed_in;
        o += res.consumed_out;
        match res.status {
            Ok(weezl::LzwStatus::Ok) if res.consumed_in + res.consumed_out > 0 => {}
            Ok(_) => break,
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(o)
}

fn inflate(src: &[u8], dst: &mut [u8]) -> Result<usize, String> {
    let mut z = flate2::read::ZlibDecoder::new(src);
    let mut o = 0;
    while o < dst.len() {
        match z.read(&mut dst[o..]) {
            Ok(0) => break,
            Ok(n) => o += n,
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(o)
}

/// Turns decoded samples into the PDF embedding and the gray raster.
fn embed_and_gray(
    ifd: &Ifd,
    l: &Layout,
    mut raw: Vec<u8>,
) -> Result<(Embed, GrayImage), ImageError> {
    // The extra-sample helpers below work on 8-bit samples: 16-bit ones are cut to their high
    // byte first. Such a page (usually RGBA from an image editor) is composited over white
    // and re-encoded anyway, so 8 bits lose nothing that shows.
    let mut l = *l;
    if l.bits == 16 && l.samples > l.colors {
        raw = raw.chunks_exact(2).map(|be| be[0]).collect();
        l.bits = 8;
    }
    let l = &l;
    let (w, h) = (ifd.width as usize, ifd.height as usize);
    let rb = row_bytes(ifd.width, u32::from(l.samples), u32::from(l.bits));
    let mut gray = vec![0u8; w * h];
    let spp = usize::from(l.samples);
    let mut palette = None;
    match l.color {
        ColorKind::Bilevel | ColorKind::Gray => {
            // PDF DeviceGray has 0 = black (ISO 32000-1 8.6.4.2); WhiteIsZero samples are
            // inverted, which keeps every pixel distinct (lossless).
            if ifd.photometric == 0 {
                raw.iter_mut().for_each(|b| *b = !*b);
            }
            if spp > 1 {
                raw = strip_extra_gray(&raw, w, h, spp, l.alpha);
            }
            let rb1 = row_bytes(ifd.width, 1, u32::from(l.bits));
            for (src, dst) in raw.chunks_exact(rb1).zip(gray.chunks_exact_mut(w)) {
                match l.bits {
                    8 => dst.copy_from_slice(&src[..w]),
                    16 => dst
                        .iter_mut()
                        .enumerate()
                        .for_each(|(x, d)| *d = src[2 * x]),
                    b => expand_low_bit_gray(src, b, w, dst),
                }
            }
        }
        ColorKind::Rgb => {
            if spp > 3 {
                raw = strip_extra_rgb(&raw, w * h, spp, l.alpha);
            }
            let step = if l.bits == 16 { 2 } else { 1 };
            for (d, px) in gray.iter_mut().zip(raw.chunks_exact(3 * step)) {
                *d = luma(px[0], px[step], px[2 * step]);
            }
        }
        ColorKind::Indexed => {
            // TIFF ColorMap: all reds, then all greens, then all blues, 16 bits each.
            let map = ifd.colormap.as_deref().unwrap_or_default();
            let n = 1usize << l.bits;
            let mut pal = Vec::with_capacity(3 * n);
            for i in 0..n {
                for c in 0..3 {
                    pal.push((map[c * n + i] >> 8) as u8);
                }
            }
            let lut: Vec<u8> = pal
                .chunks_exact(3)
                .map(|p| luma(p[0], p[1], p[2]))
                .collect();
            for (src, dst) in raw.chunks_exact(rb).zip(gray.chunks_exact_mut(w)) {
                for (x, d) in dst.iter_mut().enumerate() {
                    *d = lut[usize::from(super::packed_sample(src, l.bits, x))];
                }
            }
            palette = Some(Arc::from(pal));
        }
        ColorKind::Cmyk => {
            if spp > 4 {
                raw = strip_extra_cmyk(&raw, w * h, spp);
            }
            for (d, px) in gray.iter_mut().zip(raw.chunks_exact(4)) {
                let k = u16::from(px[3]);
                let ch = |c: u8| (255 - (u16::from(c) + k).min(255)) as u8;
                *d = luma(ch(px[0]), ch(px[1]), ch(px[2]));
            }
        }
    }
    let embed = Embed::Flate {
        data: zlib(&raw),
        colors: l.colors,
        bits_per_component: l.bits,
        png_predictor: false,
        palette,
        icc: ifd.icc.clone(),
    };
    Ok((
        embed,
        GrayImage {
            width: ifd.width,
            height: ifd.height,
            pixels: gray,
        },
    ))
}

/// Gray plus extra samples (8-bit only, checked in `layout`): drop them, compositing over
/// white when the first one is alpha.
fn strip_extra_gray(raw: &[u8], w: usize, h: usize, spp: usize, alpha: bool) -> Vec<u8> {
    raw.chunks_exact(spp)
        .take(w * h)
        .map(|px| {
            if alpha {
                over_white(px[0], px[1])
            } else {
                px[0]
            }
        })
        .collect()
}

fn strip_extra_rgb(raw: &[u8], pixels: usize, spp: usize, alpha: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(pixels * 3);
    for px in raw.chunks_exact(spp).take(pixels) {
        for &c in &px[..3] {
            out.push(if alpha { over_white(c, px[3]) } else { c });
        }
    }
    out
}

fn strip_extra_cmyk(raw: &[u8], pixels: usize, spp: usize) -> Vec<u8> {
    raw.chunks_exact(spp)
        .take(pixels)
        .flat_map(|px| px[..4].iter().copied())
        .collect()
}

/// A CCITT Group 4 page. One strip in FillOrder 1 is embedded byte for byte (SPEC section 4
/// "Lossless"); anything else (several strips, tiles, FillOrder 2) is decoded and re-encoded
/// as 1-bit Flate, the same pixels.
fn g4_page(ifd: &Ifd, chunks: &[Chunk<'_>]) -> Result<(Embed, GrayImage), ImageError> {
    let w = ifd.width as usize;
    let passthrough = chunks.len() == 1 && ifd.tile.is_none() && ifd.fill_order == 1;
    // G4 codes white and black runs; in TIFF a white run is stored as 0 bits, and the
    // Photometric tag says what a 0 bit shows: WhiteIsZero (0) white, BlackIsZero (1) black.
    let white_run_is_white = ifd.photometric == 0;
    let (run_white, run_black) = if white_run_is_white {
        (255u8, 0u8)
    } else {
        (0, 255)
    };
    let mut gray = vec![run_white; w * ifd.height as usize];
    let mut row_buf = Vec::new();
    let what = chunk_name(ifd);
    for (i, c) in chunks.iter().enumerate() {
        let width = u16::try_from(c.width)
            .map_err(|_| unsupported(format!("G4 {what} {} pixels wide (max 65535)", c.width)))?;
        let src = fill_order_1(c.data, ifd.fill_order);
        let mut dec = fax::decoder::Group4Decoder::new(
            src.iter().map(|&b| Ok::<u8, std::convert::Infallible>(b)),
            width,
        )
        .map_err(|_| corrupt(format!("G4 {what} {i} is empty")))?;
        let visible_w = (c.width as usize).min(w.saturating_sub(c.x as usize));
        let visible_rows = c.rows.min(ifd.height.saturating_sub(c.y)) as usize;
        for row in 0..visible_rows {
            let y = c.y as usize + row;
            let status = dec
                .advance()
                .map_err(|_| corrupt(format!("G4 {what} {i}: invalid code at row {y}")))?;
            if status == fax::decoder::DecodeStatus::End {
                // Encoders may leave out trailing white rows before EOFB (libtiff accepts
                // this); those rows keep the white-run colour.
                break;
            }
            row_buf.clear();
            row_buf.resize(c.width as usize, run_white);
            paint_runs(dec.transition(), &mut row_buf, run_black);
            let at = y * w + c.x as usize;
            gray[at..at + visible_w].copy_from_slice(&row_buf[..visible_w]);
        }
    }
    let embed = if passthrough {
        Embed::CcittG4 {
            data: Arc::from(chunks[0].data),
            black_is_1: ifd.photometric == 1,
        }
    } else {
        let rb = w.div_ceil(8);
        let mut packed = vec![0u8; rb * ifd.height as usize];
        for (row, out) in gray.chunks_exact(w).zip(packed.chunks_exact_mut(rb)) {
            pack_row(row, out);
        }
        Embed::Flate {
            data: zlib(&packed),
            colors: 1,
            bits_per_component: 1,
            png_predictor: false,
            palette: None,
            icc: None,
        }
    };
    Ok((
        embed,
        GrayImage {
            width: ifd.width,
            height: ifd.height,
            pixels: gray,
        },
    ))
}

/// Paints the second colour's runs of one G4 row: `changes` are the positions where the
/// colour flips, starting with a white run at 0 (ITU T.6 2.2.2).
fn paint_runs(changes: &[u16], row: &mut [u8], value: u8) {
    for pair in changes.chunks(2) {
        let start = usize::from(pair[0]).min(row.len());
        let end = pair
            .get(1)
            .map_or(row.len(), |&e| usize::from(e).min(row.len()));
        if start < end {
            row[start..end].fill(value);
        }
    }
}

/// Packs an 8-bit 0/255 row into 1-bit PDF DeviceGray samples (0 = black), MSB first.
fn pack_row(row: &[u8], out: &mut [u8]) {
    out.fill(0);
    for (x, &v) in row.iter().enumerate() {
        if v >= 128 {
            out[x / 8] |= 0x80 >> (x % 8);
        }
    }
}

/// What an EXIF APP1 block says about the page (CIPA DC-008 4.6.5: IFD0 XResolution,
/// YResolution, ResolutionUnit and Orientation, same meaning as in TIFF).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct ExifFacts {
    pub(super) dpi: Option<(f64, f64)>,
    /// Clockwise degrees, see [`PageInfo::orientation`].
    pub(super) orientation: u16,
}

/// Reads [`ExifFacts`] from `tiff`, the block after "Exif\0\0"; a damaged block gives what
/// could be read before the damage.
///
/// Read by hand: the `tiff` crate's `Decoder` insists on a page (ImageWidth, strips) in the
/// first IFD, which an EXIF block does not have.
pub(super) fn exif_facts(tiff: &[u8]) -> ExifFacts {
    let mut facts = ExifFacts::default();
    let le = match tiff.get(..2) {
        Some(b"II") => true,
        Some(b"MM") => false,
        _ => return facts,
    };
    let u16_at = |off: usize| {
        let s = tiff.get(off..off.checked_add(2)?)?;
        let a = [s[0], s[1]];
        Some(if le {
            u16::from_le_bytes(a)
        } else {
            u16::from_be_bytes(a)
        })
    };
    let u32_at = |off: usize| {
        let s = tiff.get(off..off.checked_add(4)?)?;
        let a = [s[0], s[1], s[2], s[3]];
        Some(if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        })
    };
    let Some(at) = u32_at(4).map(|v| v as usize) else {
        return facts;
    };
    let n = usize::from(u16_at(at).unwrap_or(0));
    let (mut x, mut y, mut unit) = (None, None, Some(2u64));
    for i in 0..n {
        let field = at + 2 + 12 * i;
        let (Some(tag), Some(typ), Some(count)) =
            (u16_at(field), u16_at(field + 2), u32_at(field + 4))
        else {
            break;
        };
        let value = field + 8;
        // The first value of a BYTE, SHORT or LONG tag, which sits in the entry itself.
        let uint = || match (typ, count) {
            (_, 0) => None,
            (1, _) => tiff.get(value).map(|&b| u64::from(b)),
            (3, _) => u16_at(value).map(u64::from),
            (4, _) => u32_at(value).map(u64::from),
            _ => None,
        };
        // The first value of a RATIONAL tag, stored at the offset the entry holds.
        let rational = || {
            let off = u32_at(value).filter(|_| typ == 5 && count > 0)? as usize;
            let (num, den) = (u32_at(off)?, u32_at(off.checked_add(4)?)?);
            (den != 0).then(|| f64::from(num) / f64::from(den))
        };
        match tag {
            274 => facts.orientation = super::orientation_turn(uint().unwrap_or(1)),
            282 => x = rational(),
            283 => y = rational(),
            296 => unit = uint(),
            _ => {}
        }
    }
    let f = match unit {
        Some(2) => 1.0,
        Some(3) => 2.54,
        _ => return facts,
    };
    if let (Some(x), Some(y)) = (x, y.or(x))
        && x.is_finite()
        && y.is_finite()
        && x > 0.0
        && y > 0.0
    {
        facts.dpi = Some((x * f, y * f));
    }
    facts
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A hand-written little TIFF writer for the variants the `tiff` encoder cannot produce
    /// (G4, FillOrder 2, palette, several strips with odd compressions).
    pub(crate) struct TiffPage {
        pub width: u32,
        pub height: u32,
        pub bits: u16,
        pub samples: u16,
        pub photometric: u16,
        pub compression: u16,
        pub predictor: u16,
        pub fill_order: u16,
        pub rows_per_strip: u32,
        pub strips: Vec<Vec<u8>>,
        pub colormap: Option<Vec<u16>>,
        /// (x, y, unit)
        pub resolution: Option<(u32, u32, u16)>,
        /// (TileWidth, TileLength): `strips` then holds the tiles.
        pub tile: Option<(u32, u32)>,
        pub planar: u16,
        /// ExtraSamples (one value): 1 associated, 2 unassociated alpha.
        pub extra_samples: Option<u16>,
        /// NewSubfileType.
        pub subfile_type: Option<u32>,
        pub orientation: Option<u16>,
        /// YCbCrSubsampling.
        pub ycbcr_subsampling: Option<(u16, u16)>,
        /// JPEGTables.
        pub jpeg_tables: Option<Vec<u8>>,
    }

    impl TiffPage {
        pub(crate) fn new(width: u32, height: u32, strips: Vec<Vec<u8>>) -> Self {
            TiffPage {
                width,
                height,
                bits: 8,
                samples: 1,
                photometric: 1,
                compression: 1,
                predictor: 1,
                fill_order: 1,
                rows_per_strip: height,
                strips,
                colormap: None,
                resolution: Some((300, 300, 2)),
                tile: None,
                planar: 1,
                extra_samples: None,
                subfile_type: None,
                orientation: None,
                ycbcr_subsampling: None,
                jpeg_tables: None,
            }
        }
    }

    /// Writes pages into one big-endian or little-endian TIFF file.
    pub(crate) fn write_tiff(pages: &[TiffPage], le: bool) -> Vec<u8> {
        let p16 = |v: u16| if le { v.to_le_bytes() } else { v.to_be_bytes() };
        let p32 = |v: u32| if le { v.to_le_bytes() } else { v.to_be_bytes() };
        let mut out: Vec<u8> = if le {
            b"II*\0".to_vec()
        } else {
            b"MM\0*".to_vec()
        };
        out.extend_from_slice(&[0; 4]);
        let mut prev_next_ptr = 4usize;
        for page in pages {
            // Data first: strips, colormap, rationals, bits.
            let mut offsets = Vec::new();
            for s in &page.strips {
                offsets.push(out.len() as u32);
                out.extend_from_slice(s);
            }
            let counts: Vec<u32> = page.strips.iter().map(|s| s.len() as u32).collect();
            let mut entries: Vec<(u16, u16, u32, Vec<u8>)> = Vec::new();
            let shorts = |v: &[u16]| v.iter().flat_map(|&x| p16(x)).collect::<Vec<u8>>();
            let longs = |v: &[u32]| v.iter().flat_map(|&x| p32(x)).collect::<Vec<u8>>();
            if let Some(t) = page.subfile_type {
                entries.push((254, 4, 1, longs(&[t])));
            }
            if let Some(t) = &page.jpeg_tables {
                entries.push((347, 7, t.len() as u32, t.clone()));
            }
            if let Some((h, v)) = page.ycbcr_subsampling {
                entries.push((530, 3, 2, shorts(&[h, v])));
            }
            if let Some(o) = page.orientation {
                entries.push((274, 3, 1, shorts(&[o])));
            }
            if let Some(x) = page.extra_samples {
                entries.push((338, 3, 1, shorts(&[x])));
            }
            entries.push((256, 4, 1, longs(&[page.width])));
            entries.push((257, 4, 1, longs(&[page.height])));
            entries.push((
                258,
                3,
                u32::from(page.samples),
                shorts(&vec![page.bits; page.samples as usize]),
            ));
            entries.push((259, 3, 1, shorts(&[page.compression])));
            entries.push((262, 3, 1, shorts(&[page.photometric])));
            entries.push((266, 3, 1, shorts(&[page.fill_order])));
            if let Some((tw, tl)) = page.tile {
                entries.push((322, 4, 1, longs(&[tw])));
                entries.push((323, 4, 1, longs(&[tl])));
                entries.push((324, 4, offsets.len() as u32, longs(&offsets)));
                entries.push((325, 4, counts.len() as u32, longs(&counts)));
            } else {
                entries.push((273, 4, offsets.len() as u32, longs(&offsets)));
                entries.push((278, 4, 1, longs(&[page.rows_per_strip])));
                entries.push((279, 4, counts.len() as u32, longs(&counts)));
            }
            entries.push((277, 3, 1, shorts(&[page.samples])));
            if page.planar != 1 {
                entries.push((284, 3, 1, shorts(&[page.planar])));
            }
            if let Some((x, y, unit)) = page.resolution {
                entries.push((282, 5, 1, longs(&[x, 1])));
                entries.push((283, 5, 1, longs(&[y, 1])));
                entries.push((296, 3, 1, shorts(&[unit])));
            }
            if page.predictor != 1 {
                entries.push((317, 3, 1, shorts(&[page.predictor])));
            }
            if let Some(map) = &page.colormap {
                entries.push((320, 3, map.len() as u32, shorts(map)));
            }
            // TIFF 6.0 section 2: entries sorted by tag.
            entries.sort_by_key(|e| e.0);
            // Out-of-line values.
            let mut fields = Vec::new();
            for (_, _, _, v) in &entries {
                if v.len() > 4 {
                    if out.len() % 2 == 1 {
                        out.push(0);
                    }
                    fields.push(p32(out.len() as u32).to_vec());
                    out.extend_from_slice(v);
                } else {
                    let mut f = v.clone();
                    f.resize(4, 0);
                    fields.push(f);
                }
            }
            if out.len() % 2 == 1 {
                out.push(0);
            }
            let ifd_at = out.len() as u32;
            out[prev_next_ptr..prev_next_ptr + 4].copy_from_slice(&p32(ifd_at));
            out.extend_from_slice(&p16(entries.len() as u16));
            for ((tag, typ, count, _), field) in entries.iter().zip(&fields) {
                out.extend_from_slice(&p16(*tag));
                out.extend_from_slice(&p16(*typ));
                out.extend_from_slice(&p32(*count));
                out.extend_from_slice(field);
            }
            prev_next_ptr = out.len();
            out.extend_from_slice(&[0; 4]);
        }
        out
    }

    /// G4-encodes a bilevel raster given as booleans (true = black), FillOrder 1.
    pub(crate) fn g4_encode(black: &[bool], width: usize) -> Vec<u8> {
        let mut enc = fax::encoder::Encoder::new(fax::VecWriter::new());
        for row in black.chunks(width) {
            let pels = row.iter().map(|&b| {
                if b {
                    fax::Color::Black
                } else {
                    fax::Color::White
                }
            });
            enc.encode_line(pels, width as u16).unwrap();
        }
        enc.finish().unwrap().finish()
    }

    /// A test bilevel pattern with structure in both directions.
    pub(crate) fn pattern(width: usize, height: usize) -> Vec<bool> {
        (0..width * height)
            .map(|i| {
                let (x, y) = (i % width, i / width);
                (x / 3 + y / 5) % 4 == 0 || (x > 10 && x < 14)
            })
            .collect()
    }

    fn decode(bytes: Vec<u8>, index: usize) -> Result<DecodedPage, ImageError> {
        super::super::decode_page(&Arc::from(bytes), index, 1_000_000)
    }

    fn inflate_all(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(data)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    /// Gray image from the `tiff` crate's encoder, an independent writer.
    fn crate_encoded_gray8(
        w: u32,
        h: u32,
        pixels: &[u8],
        compression: tiff::encoder::Compression,
    ) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        let mut enc = tiff::encoder::TiffEncoder::new(&mut out)
            .unwrap()
            .with_compression(compression);
        enc.write_image::<tiff::encoder::colortype::Gray8>(w, h, pixels)
            .unwrap();
        out.into_inner()
    }

    fn gray_ramp(w: usize, h: usize) -> Vec<u8> {
        (0..w * h)
            .map(|i| ((i % w) * 7 + (i / w) * 13) as u8)
            .collect()
    }

    #[test]
    fn gray8_from_tiff_crate_in_every_compression_decodes_exactly() {
        use tiff::encoder::{Compression, DeflateLevel};
        let (w, h) = (37u32, 23u32);
        let px = gray_ramp(w as usize, h as usize);
        for (name, c) in [
            ("none", Compression::Uncompressed),
            ("lzw", Compression::Lzw),
            ("deflate", Compression::Deflate(DeflateLevel::Balanced)),
            ("packbits", Compression::Packbits),
        ] {
            let page = decode(crate_encoded_gray8(w, h, &px, c), 0).unwrap();
            assert_eq!(page.gray.pixels, px, "{name}");
            assert_eq!(page.info.color, ColorKind::Gray);
            let Embed::Flate {
                data,
                colors: 1,
                bits_per_component: 8,
                png_predictor: false,
                palette: None,
                icc: None,
            } = &page.embed
            else {
                panic!("{:?}", page.embed)
            };
            assert_eq!(inflate_all(data), px);
        }
    }

    #[test]
    fn rgb8_and_rgb16_and_gray16_from_tiff_crate() {
        use tiff::encoder::colortype::{Gray16, RGB8, RGB16};
        let (w, h) = (9u32, 4u32);
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 5) as u8).collect();
        let mut out = std::io::Cursor::new(Vec::new());
        tiff::encoder::TiffEncoder::new(&mut out)
            .unwrap()
            .write_image::<RGB8>(w, h, &rgb)
            .unwrap();
        let page = decode(out.into_inner(), 0).unwrap();
        assert_eq!(page.info.color, ColorKind::Rgb);
        assert_eq!(page.gray.pixels[1], luma(rgb[3], rgb[4], rgb[5]));
        let Embed::Flate {
            data, colors: 3, ..
        } = &page.embed
        else {
            panic!()
        };
        assert_eq!(inflate_all(data), rgb);

        let rgb16: Vec<u16> = (0..w * h * 3).map(|i| (i * 1000) as u16).collect();
        let mut out = std::io::Cursor::new(Vec::new());
        tiff::encoder::TiffEncoder::new(&mut out)
            .unwrap()
            .write_image::<RGB16>(w, h, &rgb16)
            .unwrap();
        let page = decode(out.into_inner(), 0).unwrap();
        let Embed::Flate {
            data,
            colors: 3,
            bits_per_component: 16,
            ..
        } = &page.embed
        else {
            panic!()
        };
        let be: Vec<u8> = rgb16.iter().flat_map(|v| v.to_be_bytes()).collect();
        assert_eq!(inflate_all(data), be, "PDF wants 16-bit samples big-endian");
        assert_eq!(
            page.gray.pixels[0],
            luma(0, (1000u16 >> 8) as u8, (2000u16 >> 8) as u8)
        );

        let g16: Vec<u16> = (0..w * h).map(|i| (i * 1800) as u16).collect();
        let mut out = std::io::Cursor::new(Vec::new());
        tiff::encoder::TiffEncoder::new(&mut out)
            .unwrap()
            .write_image::<Gray16>(w, h, &g16)
            .unwrap();
        let page = decode(out.into_inner(), 0).unwrap();
        assert_eq!(page.info.bits_per_component, 16);
        assert_eq!(page.gray.pixels[5], ((5 * 1800u16) >> 8) as u8);
    }

    #[test]
    fn horizontal_predictor_with_lzw_and_deflate() {
        let (w, h) = (16u32, 3u32);
        let px = gray_ramp(w as usize, h as usize);
        let mut diff = px.clone();
        for row in diff.chunks_mut(w as usize) {
            for x in (1..row.len()).rev() {
                row[x] = row[x].wrapping_sub(row[x - 1]);
            }
        }
        let lzw = weezl::encode::Encoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
            .encode(&diff)
            .unwrap();
        let mut page = TiffPage::new(w, h, vec![lzw]);
        page.compression = 5;
        page.predictor = 2;
        assert_eq!(
            decode(write_tiff(&[page], true), 0).unwrap().gray.pixels,
            px
        );

        let mut page = TiffPage::new(w, h, vec![zlib(&diff).to_vec()]);
        page.compression = 8;
        page.predictor = 2;
        assert_eq!(
            decode(write_tiff(&[page], false), 0).unwrap().gray.pixels,
            px
        );
    }

    /// TIFF 6.0 section 14 horizontal differencing of 8-bit samples, `spp` per pixel.
    fn differenced(rows: &[u8], row_len: usize, spp: usize) -> Vec<u8> {
        let mut out = rows.to_vec();
        for row in out.chunks_mut(row_len) {
            for x in (spp..row.len()).rev() {
                row[x] = row[x].wrapping_sub(row[x - spp]);
            }
        }
        out
    }

    /// Cuts a `w` x `h` raster of `spp` 8-bit samples into whole `tw` x `tl` tiles,
    /// padded past the edges (TIFF 6.0 section 15), row of tiles by row of tiles.
    fn tiles_of(px: &[u8], w: usize, h: usize, spp: usize, tw: usize, tl: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for ty in (0..h).step_by(tl) {
            for tx in (0..w).step_by(tw) {
                let mut t = vec![0xEEu8; tw * tl * spp];
                for y in 0..tl.min(h - ty) {
                    for x in 0..tw.min(w - tx) {
                        for c in 0..spp {
                            t[(y * tw + x) * spp + c] = px[((ty + y) * w + tx + x) * spp + c];
                        }
                    }
                }
                out.push(t);
            }
        }
        out
    }

    #[test]
    fn tiled_gray_tiff_with_edge_tiles_and_predictor_decodes() {
        let (w, h) = (40usize, 20usize);
        let px = gray_ramp(w, h);
        let tiles: Vec<Vec<u8>> = tiles_of(&px, w, h, 1, 16, 16)
            .iter()
            .map(|t| zlib(&differenced(t, 16, 1)).to_vec())
            .collect();
        assert_eq!(tiles.len(), 6, "3 across, 2 down");
        let mut page = TiffPage::new(w as u32, h as u32, tiles);
        page.tile = Some((16, 16));
        page.compression = 8;
        page.predictor = 2;
        let d = decode(write_tiff(&[page], false), 0).unwrap();
        assert_eq!(d.gray.pixels, px);
        let Embed::Flate { data, .. } = &d.embed else {
            panic!()
        };
        assert_eq!(inflate_all(data), px);
    }

    #[test]
    fn tiled_rgb_tiff_decodes() {
        let (w, h) = (20usize, 17usize);
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 7 % 251) as u8).collect();
        let mut page = TiffPage::new(w as u32, h as u32, tiles_of(&rgb, w, h, 3, 16, 16));
        page.tile = Some((16, 16));
        page.samples = 3;
        page.photometric = 2;
        let d = decode(write_tiff(&[page], true), 0).unwrap();
        let Embed::Flate {
            data, colors: 3, ..
        } = &d.embed
        else {
            panic!()
        };
        assert_eq!(inflate_all(data), rgb);
    }

    #[test]
    fn planar_rgb_tiff_is_interleaved_for_the_pdf() {
        // 9x4 RGB in separate planes, two strips of two rows per plane, LZW with predictor.
        let (w, h) = (9usize, 4usize);
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 5 + i / 3) as u8).collect();
        let mut strips = Vec::new();
        for c in 0..3 {
            let plane: Vec<u8> = rgb.chunks_exact(3).map(|p| p[c]).collect();
            for rows in plane.chunks(2 * w) {
                let diff = differenced(rows, w, 1);
                strips.push(
                    weezl::encode::Encoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
                        .encode(&diff)
                        .unwrap(),
                );
            }
        }
        let mut page = TiffPage::new(w as u32, h as u32, strips);
        page.samples = 3;
        page.photometric = 2;
        page.planar = 2;
        page.rows_per_strip = 2;
        page.compression = 5;
        page.predictor = 2;
        let d = decode(write_tiff(&[page], true), 0).unwrap();
        let Embed::Flate {
            data, colors: 3, ..
        } = &d.embed
        else {
            panic!()
        };
        assert_eq!(inflate_all(data), rgb);
        assert_eq!(d.gray.pixels[1], luma(rgb[3], rgb[4], rgb[5]));
    }

    #[test]
    fn planar_16_bit_little_endian_rgb() {
        let (w, h) = (3usize, 2usize);
        let v: Vec<u16> = (0..w * h * 3).map(|i| (i as u16) * 3000 + 7).collect();
        let strips: Vec<Vec<u8>> = (0..3)
            .map(|c| v.chunks_exact(3).flat_map(|p| p[c].to_le_bytes()).collect())
            .collect();
        let mut page = TiffPage::new(w as u32, h as u32, strips);
        page.samples = 3;
        page.bits = 16;
        page.photometric = 2;
        page.planar = 2;
        let d = decode(write_tiff(&[page], true), 0).unwrap();
        let Embed::Flate {
            data,
            bits_per_component: 16,
            ..
        } = &d.embed
        else {
            panic!()
        };
        let be: Vec<u8> = v.iter().flat_map(|x| x.to_be_bytes()).collect();
        assert_eq!(inflate_all(data), be);
    }

    #[test]
    fn tiled_g4_decodes_to_the_same_pixels() {
        let (w, h) = (40usize, 20usize);
        let black = pattern(w, h);
        let (tw, tl) = (32usize, 16usize);
        let mut tiles = Vec::new();
        for ty in (0..h).step_by(tl) {
            for tx in (0..w).step_by(tw) {
                let t: Vec<bool> = (0..tw * tl)
                    .map(|i| {
                        let (x, y) = (tx + i % tw, ty + i / tw);
                        x < w && y < h && black[y * w + x]
                    })
                    .collect();
                tiles.push(g4_encode(&t, tw));
            }
        }
        let mut page = TiffPage::new(w as u32, h as u32, tiles);
        page.tile = Some((tw as u32, tl as u32));
        page.bits = 1;
        page.compression = 4;
        page.photometric = 0;
        let d = decode(write_tiff(&[page], true), 0).unwrap();
        let want: Vec<u8> = black.iter().map(|&b| if b { 0 } else { 255 }).collect();
        assert_eq!(d.gray.pixels, want);
        assert!(matches!(
            d.embed,
            Embed::Flate {
                bits_per_component: 1,
                ..
            }
        ));
    }

    #[test]
    fn oversized_tiles_are_refused_before_allocation() {
        let mut page = TiffPage::new(16, 16, vec![vec![0; 4]]);
        page.tile = Some((1 << 16, 1 << 16));
        let err = decode(write_tiff(&[page], true), 0).unwrap_err();
        assert!(err.to_string().contains("tiles of"), "{err}");
    }

    #[test]
    fn old_style_lsb_first_lzw_decodes() {
        let (w, h) = (23u32, 5u32);
        let px = gray_ramp(w as usize, h as usize);
        let data = weezl::encode::Encoder::new(weezl::BitOrder::Lsb, 8)
            .encode(&px)
            .unwrap();
        assert_eq!(
            (data[0], data[1] & 1),
            (0, 1),
            "starts with an LSB-first Clear code"
        );
        let mut page = TiffPage::new(w, h, vec![data]);
        page.compression = 5;
        assert_eq!(
            decode(write_tiff(&[page], true), 0).unwrap().gray.pixels,
            px
        );
    }

    #[test]
    fn bilevel_white_is_zero_uncompressed_many_strips() {
        // 10x4, 1 bit, WhiteIsZero: 1 bits are black. Two strips of two rows.
        let rows = [
            [0b1100_0000u8, 0b0100_0000],
            [0, 0],
            [0xFF, 0xC0],
            [0x80, 0x00],
        ];
        let strips = vec![rows[..2].concat(), rows[2..].concat()];
        let mut page = TiffPage::new(10, 4, strips);
        page.bits = 1;
        page.photometric = 0;
        page.rows_per_strip = 2;
        let d = decode(write_tiff(&[page], true), 0).unwrap();
        assert_eq!(d.info.color, ColorKind::Bilevel);
        assert_eq!(
            &d.gray.pixels[..10],
            &[0, 0, 255, 255, 255, 255, 255, 255, 255, 0]
        );
        assert!(d.gray.pixels[10..20].iter().all(|&p| p == 255));
        assert!(d.gray.pixels[20..30].iter().all(|&p| p == 0));
        let Embed::Flate {
            data,
            bits_per_component: 1,
            colors: 1,
            ..
        } = &d.embed
        else {
            panic!()
        };
        // PDF DeviceGray 1-bit: 0 = black, so the WhiteIsZero bits are inverted.
        assert_eq!(inflate_all(data)[..2], [0b0011_1111, 0b1011_1111]);
    }

    #[test]
    fn packbits_with_fill_order_2() {
        // Row bytes for 16x2 BlackIsZero 1-bit, then written bit-reversed (FillOrder 2).
        let rows = [0b1111_0000u8, 0b0000_0001, 0xAA, 0x55];
        // A literal run of 4 bytes; FillOrder applies to the whole raw strip, PackBits
        // control bytes included (as libtiff reverses the raw data before decoding).
        let packed: Vec<u8> = [3u8, rows[0], rows[1], rows[2], rows[3]]
            .iter()
            .map(|b| b.reverse_bits())
            .collect();
        let mut page = TiffPage::new(16, 2, vec![packed]);
        page.bits = 1;
        page.compression = 32773;
        page.fill_order = 2;
        let d = decode(write_tiff(&[page], true), 0).unwrap();
        assert_eq!(&d.gray.pixels[..8], &[255, 255, 255, 255, 0, 0, 0, 0]);
        assert_eq!(d.gray.pixels[15], 255);
        assert_eq!(&d.gray.pixels[16..20], &[255, 0, 255, 0]);
    }

    #[test]
    fn packbits_runs_decode() {
        let mut dst = [0u8; 7];
        // -2 => repeat next byte 3 times; 1 => two literals; -128 is a no-op; 1 => 2 literals
        let n = unpack_bits(&[0xFE, 9, 1, 1, 2, 0x80, 1, 3, 4], &mut dst);
        assert_eq!(n, 7);
        assert_eq!(dst, [9, 9, 9, 1, 2, 3, 4]);
    }

    #[test]
    fn palette_tiff_keeps_its_palette() {
        // 4-bit palette, 4x1: indices 0,1,2,15.
        let mut map = vec![0u16; 48];
        map[1] = 0xFF00; // red of entry 1
        map[16 + 2] = 0xFF00; // green of entry 2
        map[15] = 0xFFFF;
        map[16 + 15] = 0xFFFF;
        map[32 + 15] = 0xFFFF;
        let mut page = TiffPage::new(4, 1, vec![vec![0x01, 0x2F]]);
        page.bits = 4;
        page.photometric = 3;
        page.colormap = Some(map);
        let d = decode(write_tiff(&[page], false), 0).unwrap();
        assert_eq!(d.info.color, ColorKind::Indexed);
        let Embed::Flate {
            palette: Some(p),
            bits_per_component: 4,
            colors: 1,
            data,
            ..
        } = &d.embed
        else {
            panic!()
        };
        assert_eq!(p.len(), 48);
        assert_eq!(&p[3..6], &[255, 0, 0]);
        assert_eq!(&p[45..48], &[255, 255, 255]);
        assert_eq!(inflate_all(data), vec![0x01, 0x2F]);
        assert_eq!(
            d.gray.pixels,
            vec![0, luma(255, 0, 0), luma(0, 255, 0), 255]
        );
    }

    /// A whole JPEG split as libtiff stores it: (JPEGTables = SOI, the DQT and DHT segments,
    /// EOI; the strip = SOI and everything else).
    fn split_tables(jpeg: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let (mut tables, mut strip) = (vec![0xFF, 0xD8], vec![0xFF, 0xD8]);
        let mut i = 2;
        while jpeg[i + 1] != 0xDA {
            let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
            let seg = &jpeg[i..i + 2 + len];
            match jpeg[i + 1] {
                0xDB | 0xC4 => tables.extend_from_slice(seg),
                0xE0 => {}
                _ => strip.extend_from_slice(seg),
            }
            i += 2 + len;
        }
        strip.extend_from_slice(&jpeg[i..]);
        tables.extend_from_slice(&[0xFF, 0xD9]);
        (tables, strip)
    }

    #[test]
    fn jpeg_in_tiff_one_strip_passes_through_and_strips_are_decoded() {
        use crate::image::jpeg::tests::encode_gray;
        let (w, h) = (64usize, 32usize);
        let px: Vec<u8> = (0..w * h)
            .map(|i| ((i % w) * 4 + (i / w) * 2) as u8)
            .collect();
        let whole = encode_gray(w as u16, h as u16, &px, None);
        let (tables, strip) = split_tables(&whole);
        let mut page = TiffPage::new(w as u32, h as u32, vec![strip.clone()]);
        page.compression = 7;
        page.jpeg_tables = Some(tables.clone());
        let d = decode(write_tiff(&[page], true), 0).unwrap();
        let Embed::Dct {
            data, components, ..
        } = &d.embed
        else {
            panic!("{:?}", d.embed)
        };
        let mut joined = tables[..tables.len() - 2].to_vec();
        joined.extend_from_slice(&strip[2..]);
        assert_eq!(&data[..], &joined[..]);
        assert_eq!(*components, 1);
        assert_eq!(d.info.dpi, Some((300.0, 300.0)));
        let reference = crate::image::jpeg::pixels(&whole, w as u32, h as u32, false).unwrap();
        assert_eq!(d.gray.pixels, reference);

        // Two strips of 16 rows, each its own JPEG sharing the tables: decoded, then Flate.
        let top = encode_gray(w as u16, 16, &px[..w * 16], None);
        let bottom = encode_gray(w as u16, 16, &px[w * 16..], None);
        let (tables, top) = split_tables(&top);
        let (_, bottom) = split_tables(&bottom);
        let mut page = TiffPage::new(w as u32, h as u32, vec![top.clone(), bottom]);
        page.compression = 7;
        page.rows_per_strip = 16;
        page.jpeg_tables = Some(tables);
        let d = decode(write_tiff(&[page], false), 0).unwrap();
        let Embed::Flate {
            data, colors: 1, ..
        } = &d.embed
        else {
            panic!("{:?}", d.embed)
        };
        assert_eq!(inflate_all(data), d.gray.pixels);
        let max = d
            .gray
            .pixels
            .iter()
            .zip(&px)
            .map(|(a, b)| a.abs_diff(*b))
            .max();
        assert!(max <= Some(8), "{max:?}");

        // A strip without its tables cannot be decoded: corrupt, naming the strip.
        let mut page = TiffPage::new(w as u32, 16, vec![top]);
        page.compression = 7;
        let err = decode(write_tiff(&[page], true), 0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("JPEG"), "{err}");
    }

    #[test]
    fn ycbcr_data_units_become_rgb_pixels() {
        // 4x2 pixels in two 2x2 data units: four lumas, then Cb and Cr for all four.
        let units = vec![0, 50, 100, 150, 128, 128, 128, 128, 128, 128, 128, 255];
        let mut page = TiffPage::new(4, 2, vec![units.clone()]);
        page.photometric = 6;
        page.samples = 3;
        let d = decode(write_tiff(&[page], true), 0).unwrap();
        let Embed::Flate { data, colors, .. } = &d.embed else {
            panic!("{:?}", d.embed)
        };
        assert_eq!(*colors, 3);
        let rgb = inflate_all(data);
        // Neutral chroma: gray at the luma. Full red chroma: R = Y + 1.402 * 127 clipped,
        // G = (Y - 0.114 B - 0.299 R) / 0.587 from the unclipped R.
        let gray = |v: u8| [v, v, v];
        let px = |x: usize, y: usize| {
            [
                rgb[(y * 4 + x) * 3],
                rgb[(y * 4 + x) * 3 + 1],
                rgb[(y * 4 + x) * 3 + 2],
            ]
        };
        assert_eq!(px(0, 0), gray(0));
        assert_eq!(px(1, 0), gray(50));
        assert_eq!(px(0, 1), gray(100));
        assert_eq!(px(1, 1), gray(150));
        assert_eq!(px(2, 0), [255, 37, 128]);
        assert_eq!(px(3, 1), [255, 37, 128]);
        assert_eq!(d.gray.pixels[..2], [0, 50]);
        // Without subsampling each pixel is its own Y, Cb, Cr.
        let mut page = TiffPage::new(2, 1, vec![vec![10, 128, 128, 200, 128, 128]]);
        page.photometric = 6;
        page.samples = 3;
        page.ycbcr_subsampling = Some((1, 1));
        let d = decode(write_tiff(&[page], false), 0).unwrap();
        let Embed::Flate { data, .. } = &d.embed else {
            panic!()
        };
        assert_eq!(inflate_all(data), vec![10, 10, 10, 200, 200, 200]);
        // A strip short of its data units is corrupt, not padded.
        let mut page = TiffPage::new(4, 2, vec![units[..8].to_vec()]);
        page.photometric = 6;
        page.samples = 3;
        assert!(decode(write_tiff(&[page], true), 0).is_err());
    }

    #[test]
    fn compressions_we_do_not_read_are_named_in_the_refusal() {
        for (c, name) in [
            (6u16, "old-style JPEG-compressed (compression 6)"),
            (3, "CCITT Group 3"),
        ] {
            let mut page = TiffPage::new(4, 1, vec![vec![0; 4]]);
            page.compression = c;
            let err = decode(write_tiff(&[page], true), 0).unwrap_err();
            assert!(
                err.to_string().starts_with("unsupported TIFF variant: ")
                    && err.to_string().contains(name),
                "{err}"
            );
        }
    }

    #[test]
    fn rgba_16_bit_is_composited_over_white_at_8_bits() {
        // Two pixels: opaque red, fully transparent black; big-endian 16-bit samples.
        let px: Vec<u16> = vec![0xFFFF, 0, 0, 0xFFFF, 0, 0, 0, 0];
        let mut page = TiffPage::new(
            2,
            1,
            vec![px.iter().flat_map(|v| v.to_be_bytes()).collect()],
        );
        page.samples = 4;
        page.bits = 16;
        page.photometric = 2;
        page.extra_samples = Some(2);
        let d = decode(write_tiff(&[page], false), 0).unwrap();
        assert_eq!(d.info.bits_per_component, 8);
        let Embed::Flate {
            data,
            colors: 3,
            bits_per_component: 8,
            ..
        } = &d.embed
        else {
            panic!("{:?}", d.embed)
        };
        assert_eq!(inflate_all(data), vec![255, 0, 0, 255, 255, 255]);
        assert_eq!(d.gray.pixels, vec![luma(255, 0, 0), 255]);
    }

    #[test]
    fn a_reduced_resolution_preview_ifd_is_not_a_page() {
        let mut page = TiffPage::new(8, 2, vec![vec![10; 16]]);
        page.resolution = Some((300, 300, 2));
        let mut preview = TiffPage::new(2, 1, vec![vec![10; 2]]);
        preview.resolution = Some((75, 75, 2));
        preview.subfile_type = Some(1);
        let file = write_tiff(&[page, preview], true);
        let pages = super::super::probe(&file, 1000).unwrap();
        assert_eq!(pages.len(), 1, "{pages:?}");
        assert_eq!(pages[0].width, 8);
        assert!(matches!(
            decode(file, 1),
            Err(ImageError::NoSuchPage { pages: 1, .. })
        ));
        // A file whose every IFD claims to be a preview still has its pages.
        let mut only = TiffPage::new(2, 1, vec![vec![10; 2]]);
        only.subfile_type = Some(1);
        assert_eq!(decode(write_tiff(&[only], true), 0).unwrap().info.width, 2);
    }

    #[test]
    fn palette_without_colormap_is_corrupt() {
        let mut page = TiffPage::new(4, 1, vec![vec![0, 0, 0, 0]]);
        page.photometric = 3;
        let err = decode(write_tiff(&[page], true), 0).unwrap_err();
        assert!(err.to_string().contains("ColorMap"), "{err}");
    }

    fn g4_tiff(width: usize, height: usize, photometric: u16) -> (Vec<u8>, Vec<u8>, Vec<bool>) {
        let black = pattern(width, height);
        let strip = g4_encode(&black, width);
        let mut page = TiffPage::new(width as u32, height as u32, vec![strip.clone()]);
        page.bits = 1;
        page.compression = 4;
        page.photometric = photometric;
        (write_tiff(&[page], true), strip, black)
    }

    #[test]
    fn g4_single_strip_is_embedded_byte_for_byte() {
        let (file, strip, black) = g4_tiff(50, 30, 0);
        let d = decode(file, 0).unwrap();
        let Embed::CcittG4 { data, black_is_1 } = &d.embed else {
            panic!("{:?}", d.embed)
        };
        assert_eq!(&data[..], &strip[..]);
        assert!(
            !black_is_1,
            "WhiteIsZero G4 fits PDF's default BlackIs1 false"
        );
        let want: Vec<u8> = black.iter().map(|&b| if b { 0 } else { 255 }).collect();
        assert_eq!(d.gray.pixels, want);
        assert_eq!(d.info.color, ColorKind::Bilevel);
        assert_eq!(d.info.dpi, Some((300.0, 300.0)));
    }

    #[test]
    fn g4_black_is_zero_shows_runs_inverted_and_sets_black_is_1() {
        let (file, _, black) = g4_tiff(40, 12, 1);
        let d = decode(file, 0).unwrap();
        let Embed::CcittG4 { black_is_1, .. } = &d.embed else {
            panic!()
        };
        assert!(black_is_1);
        // With BlackIsZero a G4 "white" run (0 bits) shows black.
        let want: Vec<u8> = black.iter().map(|&b| if b { 255 } else { 0 }).collect();
        assert_eq!(d.gray.pixels, want);
    }

    #[test]
    fn g4_several_strips_and_fill_order_2_reencode_same_pixels() {
        let (w, h) = (45usize, 20usize);
        let black = pattern(w, h);
        let strips: Vec<Vec<u8>> = black.chunks(w * 8).map(|c| g4_encode(c, w)).collect();
        let mut page = TiffPage::new(w as u32, h as u32, strips);
        page.bits = 1;
        page.compression = 4;
        page.photometric = 0;
        page.rows_per_strip = 8;
        let d = decode(write_tiff(&[page], false), 0).unwrap();
        let want: Vec<u8> = black.iter().map(|&b| if b { 0 } else { 255 }).collect();
        assert_eq!(d.gray.pixels, want);
        let Embed::Flate {
            data,
            bits_per_component: 1,
            colors: 1,
            ..
        } = &d.embed
        else {
            panic!()
        };
        let bits = inflate_all(data);
        let rb = w.div_ceil(8);
        for (i, &b) in black.iter().enumerate() {
            let (x, y) = (i % w, i / w);
            let bit = bits[y * rb + x / 8] & (0x80 >> (x % 8)) != 0;
            assert_eq!(bit, !b, "PDF 1-bit gray: 0 is black, at {x},{y}");
        }

        let strip: Vec<u8> = g4_encode(&black, w)
            .iter()
            .map(|b| b.reverse_bits())
            .collect();
        let mut page = TiffPage::new(w as u32, h as u32, vec![strip]);
        page.bits = 1;
        page.compression = 4;
        page.photometric = 0;
        page.fill_order = 2;
        let d = decode(write_tiff(&[page], true), 0).unwrap();
        assert_eq!(d.gray.pixels, want);
        assert!(matches!(d.embed, Embed::Flate { .. }));
    }

    /// Changes the tag number of an entry in the first IFD of a little-endian file.
    fn retag_first_ifd(file: &mut [u8], from: u16, to: u16) {
        let ifd = u32::from_le_bytes(file[4..8].try_into().unwrap()) as usize;
        let n = usize::from(u16::from_le_bytes([file[ifd], file[ifd + 1]]));
        let e = (0..n)
            .map(|i| ifd + 2 + 12 * i)
            .find(|&e| u16::from_le_bytes([file[e], file[e + 1]]) == from)
            .expect("tag present");
        file[e..e + 2].copy_from_slice(&to.to_le_bytes());
    }

    /// Where the `tiff` crate's directory reading refuses what our own IFD walk (before
    /// issue #13) read: a bilevel page without PhotometricInterpretation is mended and read;
    /// every other refusal names its reason, nothing panics.
    #[test]
    fn files_the_hand_walk_read_and_the_tiff_crate_refuses() {
        let bilevel = || {
            let mut p = TiffPage::new(8, 1, vec![vec![0x0F]]);
            p.bits = 1;
            p.photometric = 0;
            p
        };
        assert_eq!(
            decode(write_tiff(&[bilevel()], true), 0)
                .unwrap()
                .gray
                .pixels,
            [255, 255, 255, 255, 0, 0, 0, 0]
        );
        // Without PhotometricInterpretation (tag 262 renamed to 263, Threshholding) the crate
        // refuses the file; it is handed over again with the tag added: a bilevel page reads
        // as WhiteIsZero, as libtiff reads it, with the same pixels as above.
        let mut file = write_tiff(&[bilevel()], true);
        retag_first_ifd(&mut file, 262, 263);
        assert!(open(&file).is_err());
        assert_eq!(
            decode(file.clone(), 0).unwrap().gray.pixels,
            [255, 255, 255, 255, 0, 0, 0, 0]
        );
        assert_eq!(super::super::probe(&file, 100).unwrap().len(), 1);
        // The same on the second page of two: its IFD is copied and linked from the first.
        let mut two = write_tiff(&[bilevel(), bilevel()], true);
        let first = u32::from_le_bytes(two[4..8].try_into().unwrap()) as usize;
        let n = usize::from(u16::from_le_bytes([two[first], two[first + 1]]));
        let at = first + 2 + 12 * n;
        let second = u32::from_le_bytes(two[at..at + 4].try_into().unwrap());
        let mut moved = two.clone();
        moved[4..8].copy_from_slice(&second.to_le_bytes());
        retag_first_ifd(&mut moved, 262, 263);
        let ifd2 = second as usize;
        two[ifd2..ifd2 + 2 + 12 * n].copy_from_slice(&moved[ifd2..ifd2 + 2 + 12 * n]);
        assert!(open(&two).is_err());
        assert_eq!(super::super::probe(&two, 100).unwrap().len(), 2);
        assert_eq!(
            decode(two, 1).unwrap().gray.pixels,
            [255, 255, 255, 255, 0, 0, 0, 0]
        );
        // A gray page without the tag is not guessed at: still refused.
        let mut gray = write_tiff(&[TiffPage::new(1, 1, vec![vec![7]])], true);
        retag_first_ifd(&mut gray, 262, 263);
        let err = decode(gray, 0).unwrap_err();
        assert!(
            matches!(err, ImageError::Unsupported { .. })
                && err.to_string().contains("photometric interpretation"),
            "{err}"
        );
        // The last IFD cut off just before its next-IFD pointer: the walk took it as the
        // last page, the crate needs the pointer.
        let mut file = write_tiff(&[bilevel()], true);
        file.truncate(file.len() - 4);
        let err = decode(file, 0).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
    }

    /// Strips that do not cover the page are refused by the crate's directory check, with
    /// the reason in our words.
    #[test]
    fn strips_that_do_not_fit_the_page_are_corrupt() {
        let mut page = TiffPage::new(2, 4, vec![vec![0; 4]]);
        page.rows_per_strip = 2;
        let err = decode(write_tiff(&[page], true), 0).unwrap_err();
        assert!(
            matches!(err, ImageError::Corrupt { .. }) && err.to_string().contains("byte counts"),
            "{err}"
        );
    }

    /// Checks we leave to the crate's directory reading: mixed BitsPerSample and an unknown
    /// PlanarConfiguration are refused, naming the reason.
    #[test]
    fn mixed_bits_and_unknown_planar_configuration_are_refused() {
        let rgb = || {
            let mut p = TiffPage::new(1, 1, vec![vec![1, 2, 3]]);
            p.samples = 3;
            p.photometric = 2;
            p
        };
        let mut file = write_tiff(&[rgb()], true);
        let ifd = u32::from_le_bytes(file[4..8].try_into().unwrap()) as usize;
        let n = usize::from(u16::from_le_bytes([file[ifd], file[ifd + 1]]));
        let e = (0..n)
            .map(|i| ifd + 2 + 12 * i)
            .find(|&e| u16::from_le_bytes([file[e], file[e + 1]]) == 258)
            .unwrap();
        let values = u32::from_le_bytes(file[e + 8..e + 12].try_into().unwrap()) as usize;
        file[values + 2..values + 4].copy_from_slice(&16u16.to_le_bytes());
        let err = decode(file, 0).unwrap_err();
        assert!(
            matches!(err, ImageError::Unsupported { .. }) && err.to_string().contains("16"),
            "{err}"
        );
        let mut page = rgb();
        page.planar = 3;
        let err = decode(write_tiff(&[page], true), 0).unwrap_err();
        assert!(err.to_string().contains("planar configuration"), "{err}");
    }

    /// On the plain cases the crate's own `read_image` decodes, it gives exactly our samples
    /// (here: gray tiles with edge tiles and the Deflate predictor, PackBits strips). We keep
    /// one decoder for every page anyway: `read_image` refuses palettes, ignores FillOrder and
    /// old-style LZW, and gives no original strip bytes for the G4 and JPEG passthrough.
    #[test]
    fn the_crates_read_image_agrees_with_ours_where_it_decodes() {
        let (w, h) = (40usize, 20usize);
        let px = gray_ramp(w, h);
        let mut tiled = TiffPage::new(
            w as u32,
            h as u32,
            tiles_of(&px, w, h, 1, 16, 16)
                .iter()
                .map(|t| zlib(&differenced(t, 16, 1)).to_vec())
                .collect(),
        );
        tiled.tile = Some((16, 16));
        tiled.compression = 8;
        tiled.predictor = 2;
        let mut packbits = TiffPage::new(
            w as u32,
            h as u32,
            px.chunks(3 * w)
                .map(|rows| {
                    rows.chunks(w)
                        .flat_map(|r| [[(w - 1) as u8].as_slice(), r].concat())
                        .collect()
                })
                .collect(),
        );
        packbits.rows_per_strip = 3;
        packbits.compression = 32773;
        for page in [tiled, packbits] {
            let file = write_tiff(&[page], false);
            let mut dec = tiff::decoder::Decoder::new(std::io::Cursor::new(&file[..])).unwrap();
            let tiff::decoder::DecodingResult::U8(theirs) = dec.read_image().unwrap() else {
                panic!("not 8-bit")
            };
            let Embed::Flate { data, .. } = decode(file, 0).unwrap().embed else {
                panic!()
            };
            assert_eq!(inflate_all(&data), theirs);
            assert_eq!(theirs, px);
        }
    }

    /// A crafted value count is refused from the file's size, before the crate reserves
    /// room for that many values (first IFD: the crate's default limits; later IFDs: ours).
    #[test]
    fn a_tag_count_beyond_the_file_is_refused() {
        for pages in [1, 2] {
            let file_pages: Vec<TiffPage> = (0..pages)
                .map(|_| TiffPage::new(2, 2, vec![vec![0; 4]]))
                .collect();
            let mut file = write_tiff(&file_pages, true);
            // The last IFD's StripOffsets claims 2^28 values in a file of a few hundred bytes.
            let mut ifd = u32::from_le_bytes(file[4..8].try_into().unwrap()) as usize;
            for _ in 1..pages {
                let n = usize::from(u16::from_le_bytes([file[ifd], file[ifd + 1]]));
                let next = ifd + 2 + 12 * n;
                ifd = u32::from_le_bytes(file[next..next + 4].try_into().unwrap()) as usize;
            }
            let n = usize::from(u16::from_le_bytes([file[ifd], file[ifd + 1]]));
            let e = (0..n)
                .map(|i| ifd + 2 + 12 * i)
                .find(|&e| u16::from_le_bytes([file[e], file[e + 1]]) == 273)
                .unwrap();
            file[e + 4..e + 8].copy_from_slice(&(1u32 << 28).to_le_bytes());
            let err = super::super::probe(&file, 100).unwrap_err();
            assert!(matches!(err, ImageError::Corrupt { .. }), "{err}");
        }
    }

    /// BigTIFF (64-bit offsets), which our own IFD walk refused, comes through the `tiff`
    /// crate's directory API: two pages written by its BigTIFF encoder decode exactly.
    #[test]
    fn bigtiff_pages_are_read() {
        let (w, h) = (37, 11);
        let ramp = gray_ramp(w, h);
        let inverse: Vec<u8> = ramp.iter().map(|v| !v).collect();
        let mut out = std::io::Cursor::new(Vec::new());
        let mut enc = tiff::encoder::TiffEncoder::new_big(&mut out)
            .unwrap()
            .with_compression(tiff::encoder::Compression::Lzw);
        for px in [&ramp, &inverse] {
            enc.write_image::<tiff::encoder::colortype::Gray8>(w as u32, h as u32, px)
                .unwrap();
        }
        let file = out.into_inner();
        assert!(file.starts_with(b"II+\0") || file.starts_with(b"MM\0+"));
        let pages = super::super::probe(&file, 1000).unwrap();
        assert_eq!(pages.len(), 2);
        assert_eq!((pages[1].width, pages[1].height), (w as u32, h as u32));
        assert_eq!(decode(file.clone(), 0).unwrap().gray.pixels, ramp);
        assert_eq!(decode(file, 1).unwrap().gray.pixels, inverse);
    }

    #[test]
    fn multi_page_tiff_probes_all_pages_and_decodes_each() {
        let mk = |w: u32, v: u8| {
            let mut p = TiffPage::new(w, 2, vec![vec![v; w as usize * 2]]);
            p.resolution = Some((200, 200, 2));
            p
        };
        let file = write_tiff(&[mk(3, 10), mk(4, 20), mk(5, 30)], true);
        let pages = super::super::probe(&file, 1000).unwrap();
        assert_eq!(pages.iter().map(|p| p.width).collect::<Vec<_>>(), [3, 4, 5]);
        assert_eq!(decode(file.clone(), 2).unwrap().gray.pixels, vec![30; 10]);
        assert!(matches!(
            decode(file, 3),
            Err(ImageError::NoSuchPage { pages: 3, .. })
        ));
    }

    #[test]
    fn resolution_in_inch_cm_and_none() {
        let mk = |res| {
            let mut p = TiffPage::new(2, 2, vec![vec![0; 4]]);
            p.resolution = res;
            write_tiff(&[p], true)
        };
        let dpi = |res| super::super::probe(&mk(res), 100).unwrap()[0].dpi;
        assert_eq!(dpi(Some((300, 600, 2))), Some((300.0, 600.0)));
        let cm = dpi(Some((118, 118, 3))).unwrap();
        assert!((cm.0 - 299.72).abs() < 0.01, "{cm:?}");
        assert_eq!(dpi(Some((1, 1, 1))), None, "unit 1 is an aspect ratio only");
        assert_eq!(dpi(None), None);
    }

    #[test]
    fn orientation_tag_is_reported_as_a_clockwise_turn() {
        for (tag, turn) in [
            (None, 0u16),
            (Some(1u16), 0),
            (Some(3), 180),
            (Some(6), 90),
            (Some(8), 270),
            (Some(5), 0),
        ] {
            let mut p = TiffPage::new(2, 2, vec![vec![0; 4]]);
            p.orientation = tag;
            let pages = super::super::probe(&write_tiff(&[p], false), 100).unwrap();
            assert_eq!(pages[0].orientation, turn, "Orientation {tag:?}");
        }
    }

    #[test]
    fn giant_header_is_refused_before_allocation() {
        let mut p = TiffPage::new(200_000, 200_000, vec![vec![0; 10]]);
        p.rows_per_strip = 200_000;
        let file = write_tiff(&[p], true);
        let t = std::time::Instant::now();
        assert!(matches!(
            super::super::probe(&file, 150_000_000),
            Err(ImageError::TooLarge { width: 200_000, .. })
        ));
        assert!(matches!(decode(file, 0), Err(ImageError::TooLarge { .. })));
        assert!(t.elapsed().as_millis() < 500);
    }

    #[test]
    fn truncated_tiff_is_corrupt_not_panic() {
        let (file, _, _) = g4_tiff(50, 30, 0);
        for cut in [4, 8, 12, 30, file.len() / 2, file.len() - 20] {
            let r = decode(file[..cut].to_vec(), 0);
            assert!(r.is_err(), "cut at {cut} decoded");
        }
        let mut page = TiffPage::new(10, 10, vec![vec![0; 50]]);
        page.resolution = None;
        let err = decode(write_tiff(&[page], true), 0).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
    }

    #[test]
    fn ifd_loop_is_refused() {
        let mut file = write_tiff(&[TiffPage::new(2, 2, vec![vec![0; 4]])], true);
        // Point the last IFD's next pointer back to the first IFD.
        let first = u32::from_le_bytes(file[4..8].try_into().unwrap());
        let n = file.len();
        file[n - 4..].copy_from_slice(&first.to_le_bytes());
        let err = super::super::probe(&file, 100).unwrap_err();
        assert!(err.to_string().contains("loops"), "{err}");
    }

    /// A one-page PDF with the embed as its only image, drawn 1 pt per pixel.
    fn one_image_pdf(w: u32, h: u32, strip: &[u8], black_is_1: bool) -> Vec<u8> {
        let mut pdf = b"%PDF-1.7\n".to_vec();
        let mut offsets = Vec::new();
        let content = format!("q {w} 0 0 {h} 0 0 cm /Im0 Do Q");
        let objects: Vec<Vec<u8>> = vec![
            b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w} {h}] /Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>"
            )
            .into_bytes(),
            {
                let mut o = format!(
                    "<< /Type /XObject /Subtype /Image /Width {w} /Height {h} /BitsPerComponent 1 /ColorSpace /DeviceGray /Filter /CCITTFaxDecode /DecodeParms << /K -1 /Columns {w} /Rows {h} /BlackIs1 {black_is_1} >> /Length {} >>\nstream\n",
                    strip.len()
                )
                .into_bytes();
                o.extend_from_slice(strip);
                o.extend_from_slice(b"\nendstream");
                o
            },
            format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()).into_bytes(),
        ];
        for (i, o) in objects.iter().enumerate() {
            offsets.push(pdf.len());
            pdf.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
            pdf.extend_from_slice(o);
            pdf.extend_from_slice(b"\nendobj\n");
        }
        let xref = pdf.len();
        pdf.extend_from_slice(
            format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
        );
        for o in offsets {
            pdf.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
        }
        pdf.extend_from_slice(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
                objects.len() + 1
            )
            .as_bytes(),
        );
        pdf
    }

    /// The G4 embed, put into a PDF exactly as the writer will, must render to the TIFF's
    /// own pixels for both Photometric values (checks the BlackIs1 mapping end to end).
    #[test]
    fn g4_embed_renders_in_pdf_as_the_tiff_pixels() {
        if std::process::Command::new("pdftoppm")
            .arg("-v")
            .output()
            .is_err()
        {
            eprintln!("SKIPPED: pdftoppm (poppler-utils) is not installed");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        for photometric in [0u16, 1] {
            let (w, h) = (64usize, 24usize);
            let (file, _, _) = {
                let black = pattern(w, h);
                let strip = g4_encode(&black, w);
                let mut page = TiffPage::new(w as u32, h as u32, vec![strip.clone()]);
                page.bits = 1;
                page.compression = 4;
                page.photometric = photometric;
                (write_tiff(&[page], true), strip, black)
            };
            let d = decode(file, 0).unwrap();
            let Embed::CcittG4 { data, black_is_1 } = &d.embed else {
                panic!()
            };
            let pdf = dir.path().join(format!("g4-{photometric}.pdf"));
            std::fs::write(&pdf, one_image_pdf(w as u32, h as u32, data, *black_is_1)).unwrap();
            let out = std::process::Command::new("pdftoppm")
                // 4 device pixels per image pixel; sampling their centres avoids the
                // rasteriser's half-pixel rounding at 1:1.
                .args(["-r", "288", "-gray"])
                .arg(&pdf)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            // PGM: "P5\n256 96\n255\n" then the samples.
            let pgm = out.stdout;
            let header_end = pgm
                .iter()
                .enumerate()
                .filter(|&(_, &b)| b == b'\n')
                .nth(2)
                .unwrap()
                .0;
            let px = &pgm[header_end + 1..];
            assert_eq!(px.len(), 16 * w * h);
            let rendered: Vec<u8> = (0..w * h)
                .map(|i| px[(4 * (i / w) + 2) * 4 * w + 4 * (i % w) + 2])
                .map(|v| if v < 128 { 0 } else { 255 })
                .collect();
            assert_eq!(rendered, d.gray.pixels, "Photometric {photometric}");
        }
    }

    /// Found while fuzzing (issue #6): a gray page with 254 extra 16-bit samples passed the
    /// pixel check and then asked for 510 bytes a pixel before reading a strip; at the
    /// production limit that is ~70 GB, an allocation failure that aborts the batch.
    #[test]
    fn many_extra_samples_are_refused_before_allocation() {
        let mut page = TiffPage::new(12_000, 12_000, vec![vec![0; 64]]);
        page.bits = 16;
        page.samples = 255;
        page.extra_samples = Some(0);
        let file = write_tiff(&[page], true);
        let limit = super::super::DEFAULT_MAX_PIXELS;
        for err in [
            super::super::probe(&file, limit).unwrap_err(),
            super::super::decode_page(&Arc::from(file), 0, limit).unwrap_err(),
        ] {
            assert!(
                matches!(err, ImageError::Unsupported { .. })
                    && err.to_string().contains("255 samples of 16 bits"),
                "{err}"
            );
        }
        // RGBA at 16 bits, 64 bits a pixel, is still read.
        let mut page = TiffPage::new(1, 1, vec![vec![0; 8]]);
        page.bits = 16;
        page.samples = 4;
        page.photometric = 2;
        page.extra_samples = Some(2);
        assert!(decode(write_tiff(&[page], true), 0).is_ok());
    }
}
