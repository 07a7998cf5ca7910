//! JPEG reading (ITU T.81): the marker segments are walked here for the frame header and the
//! resolution (JFIF APP0 density, EXIF APP1 IFD0); `zune-jpeg` decodes the pixels for the
//! gray raster. The file itself is what the PDF embeds (`/DCTDecode`, ISO 32000-1 7.4.8), so
//! the scanner's JPEG data reaches the archive byte for byte.

use std::sync::Arc;

use zune_jpeg::JpegDecoder;
use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;

use super::{
    ColorKind, DecodedPage, Embed, FileFormat, GrayImage, ImageError, PageInfo, check_pixel_budget,
    luma,
};

const F: FileFormat = FileFormat::Jpeg;

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

/// What the marker walk found up to the first scan.
#[derive(Debug, Clone, Copy)]
struct Header {
    width: u32,
    height: u32,
    components: u8,
    dpi: Option<(f64, f64)>,
    /// Clockwise degrees from EXIF Orientation.
    orientation: u16,
    /// Offset of the first SOS marker: entropy-coded data starts after it.
    sos: usize,
}

fn header(bytes: &[u8]) -> Result<Header, ImageError> {
    let mut pos = 2usize;
    let mut jfif: Option<Option<(f64, f64)>> = None;
    let mut exif: Option<super::tiff::ExifFacts> = None;
    let mut frame: Option<(u32, u32, u8)> = None;
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes (T.81 B.1.1.2).
        while bytes.get(pos) == Some(&0xFF) && bytes.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (bytes.get(pos), bytes.get(pos + 1)) else {
            return Err(corrupt(format!(
                "no marker at byte {pos} before the image data (truncated?)"
            )));
        };
        if marker == 0x01 || (0xD0..=0xD8).contains(&marker) {
            pos += 2; // standalone markers carry no length
            continue;
        }
        if marker == 0xD9 {
            return Err(corrupt("end of image before any scan"));
        }
        let len = bytes
            .get(pos + 2..pos + 4)
            .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
            .ok_or_else(|| corrupt("segment length cut off (truncated?)"))?;
        let seg = bytes
            .get(pos + 4..pos + 2 + len)
            .filter(|_| len >= 2)
            .ok_or_else(|| {
                corrupt(format!(
                    "segment 0xFF{marker:02X} runs past the end (truncated?)"
                ))
            })?;
        match marker {
            0xDA => {
                let (width, height, components) =
                    frame.ok_or_else(|| corrupt("scan data before the frame header (no SOF)"))?;
                // JFIF 1.02: units 1 = dots per inch, 2 = dots per cm, 0 = aspect ratio only.
                let exif = exif.unwrap_or_default();
                let dpi = match jfif {
                    Some(Some(d)) => Some(d),
                    _ => exif.dpi,
                };
                return Ok(Header {
                    width,
                    height,
                    components,
                    dpi,
                    orientation: exif.orientation,
                    sos: pos,
                });
            }
            0xE0 if seg.starts_with(b"JFIF\0") && seg.len() >= 12 => {
                let x = f64::from(u16::from_be_bytes([seg[8], seg[9]]));
                let y = f64::from(u16::from_be_bytes([seg[10], seg[11]]));
                let f = match seg[7] {
                    1 => Some(1.0),
                    2 => Some(2.54),
                    _ => None,
                };
                jfif = Some(f.filter(|_| x > 0.0 && y > 0.0).map(|f| (x * f, y * f)));
            }
            0xE1 if seg.starts_with(b"Exif\0\0") => {
                exif = exif.or_else(|| Some(super::tiff::exif_facts(&seg[6..])));
            }
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                if !matches!(marker, 0xC0..=0xC2) {
                    return Err(unsupported(format!(
                        "SOF{} (lossless, hierarchical or arithmetic coding); only baseline, extended and progressive Huffman JPEG",
                        marker - 0xC0
                    )));
                }
                if seg.len() < 6 {
                    return Err(corrupt("frame header too short"));
                }
                if seg[0] != 8 {
                    return Err(unsupported(format!(
                        "{}-bit samples (PDF's DCTDecode takes 8-bit JPEG)",
                        seg[0]
                    )));
                }
                let height = u32::from(u16::from_be_bytes([seg[1], seg[2]]));
                let width = u32::from(u16::from_be_bytes([seg[3], seg[4]]));
                if height == 0 {
                    return Err(unsupported("height given by a DNL marker"));
                }
                if !matches!(seg[5], 1 | 3 | 4) {
                    return Err(unsupported(format!("{} colour components", seg[5])));
                }
                frame = Some((width, height, seg[5]));
            }
            _ => {}
        }
        pos += 2 + len;
    }
}

fn info(h: &Header) -> PageInfo {
    PageInfo {
        width: h.width,
        height: h.height,
        dpi: h.dpi,
        color: match h.components {
            1 => ColorKind::Gray,
            3 => ColorKind::Rgb,
            _ => ColorKind::Cmyk,
        },
        bits_per_component: 8,
        format: F,
        orientation: h.orientation,
    }
}

fn checked_header(bytes: &[u8], max_pixels: u64) -> Result<Header, ImageError> {
    let h = header(bytes)?;
    check_pixel_budget(F, h.width, h.height, max_pixels)?;
    Ok(h)
}

pub(super) fn probe(bytes: &[u8], max_pixels: u64) -> Result<PageInfo, ImageError> {
    checked_header(bytes, max_pixels).map(|h| info(&h))
}

pub(super) fn decode_page(bytes: &Arc<[u8]>, max_pixels: u64) -> Result<DecodedPage, ImageError> {
    let h = checked_header(bytes, max_pixels)?;
    // zune-jpeg fills a cut-off scan with gray and carries on; a truncated scan is a damaged
    // original, so demand the EOI marker. 0xFF 0xD9 cannot occur inside entropy-coded data
    // (T.81 B.1.1.5 byte stuffing), so any after the first SOS is the real end.
    if !bytes[h.sos..].windows(2).rev().any(|w| w == [0xFF, 0xD9]) {
        return Err(corrupt(
            "no end-of-image marker after the scan data (truncated?)",
        ));
    }
    // Gray comes straight from the luma channel where there is one (YCbCr, gray). A JPEG
    // stored as plain RGB (Adobe APP14 transform 0, or components named 'R','G','B'), or
    // CMYK, has none: those are decoded to RGB and reduced here.
    let probe_options = DecoderOptions::default()
        .set_max_width(h.width as usize)
        .set_max_height(h.height as usize);
    let mut headers = JpegDecoder::new_with_options(ZCursor::new(&bytes[..]), probe_options);
    headers
        .decode_headers()
        .map_err(|e| corrupt(format!("{e:?}")))?;
    // The APP2 `ICC_PROFILE` chunks joined in sequence order (ICC.1 Annex B.4); zune-jpeg,
    // the `image` crate's JPEG decoder, gives `None` when they are incomplete or inconsistent,
    // which a reader must treat as no profile.
    let icc = headers.icc_profile();
    let via_rgb = !matches!(
        headers.input_colorspace(),
        Some(ColorSpace::YCbCr | ColorSpace::Luma)
    );
    let out_space = if via_rgb {
        ColorSpace::RGB
    } else {
        ColorSpace::Luma
    };
    let mut dec = JpegDecoder::new_with_options(
        ZCursor::new(&bytes[..]),
        probe_options.jpeg_set_out_colorspace(out_space),
    );
    let pixels = dec.decode().map_err(|e| corrupt(format!("{e:?}")))?;
    let n = h.width as usize * h.height as usize;
    let gray = if via_rgb {
        pixels
            .chunks_exact(3)
            .map(|p| luma(p[0], p[1], p[2]))
            .collect::<Vec<u8>>()
    } else {
        pixels
    };
    if gray.len() != n {
        return Err(corrupt(format!(
            "decoder returned {} pixels for a {}x{} frame",
            gray.len(),
            h.width,
            h.height
        )));
    }
    Ok(DecodedPage {
        info: info(&h),
        embed: Embed::Dct {
            data: Arc::clone(bytes),
            components: h.components,
            icc: icc.map(Arc::from),
        },
        gray: GrayImage {
            width: h.width,
            height: h.height,
            pixels: gray,
        },
    })
}

/// A JPEG-in-TIFF strip or tile (compression 7, TIFF Technical Note 2) made a whole JPEG
/// stream: the tables-only stream of the JPEGTables tag without its EOI, then the strip
/// without its SOI. A strip without tables must be a whole stream by itself.
pub(super) fn with_tables(tables: Option<&[u8]>, strip: &[u8]) -> Vec<u8> {
    const SOI: [u8; 2] = [0xFF, 0xD8];
    const EOI: [u8; 2] = [0xFF, 0xD9];
    match tables {
        Some(t)
            if t.len() >= 4
                && t.starts_with(&SOI)
                && t.ends_with(&EOI)
                && strip.starts_with(&SOI) =>
        {
            let mut out = Vec::with_capacity(t.len() + strip.len() - 4);
            out.extend_from_slice(&t[..t.len() - 2]);
            out.extend_from_slice(&strip[2..]);
            out
        }
        _ => strip.to_vec(),
    }
}

/// The frame size (width, height) and component count of a whole JPEG stream.
pub(super) fn frame(jpeg: &[u8]) -> Result<(u32, u32, u8), ImageError> {
    header(jpeg).map(|h| (h.width, h.height, h.components))
}

/// The pixels of a whole JPEG stream of at most `width` x `height`: interleaved RGB when `rgb`,
/// else gray (the luma channel). The stream must end with EOI (see `decode_page`).
pub(super) fn pixels(jpeg: &[u8], width: u32, height: u32, rgb: bool) -> Result<Vec<u8>, String> {
    let h = header(jpeg).map_err(|e| e.to_string())?;
    if h.width > width || h.height > height {
        return Err(format!(
            "JPEG frame of {}x{} in a part of {width}x{height}",
            h.width, h.height
        ));
    }
    if !jpeg[h.sos..].windows(2).rev().any(|w| w == [0xFF, 0xD9]) {
        return Err("no JPEG end-of-image marker (truncated?)".into());
    }
    let options = DecoderOptions::default()
        .set_max_width(width as usize)
        .set_max_height(height as usize)
        .jpeg_set_out_colorspace(if rgb {
            ColorSpace::RGB
        } else {
            ColorSpace::Luma
        });
    JpegDecoder::new_with_options(ZCursor::new(jpeg), options)
        .decode()
        .map_err(|e| format!("JPEG: {e:?}"))
}

/// Whether a three-component JPEG holds RGB samples that nothing but its component ids
/// ('R', 'G', 'B') marks as such: no JFIF marker (which means YCbCr) and no Adobe APP14
/// marker (which says either way). libtiff writes JPEG-in-TIFF with PhotometricInterpretation
/// RGB so, and libjpeg reads it as RGB; PDF's DCTDecode assumes YCbCr for three components
/// unless told `/ColorTransform 0` (ISO 32000-1 7.4.8).
pub(crate) fn rgb_by_component_ids(jpeg: &[u8]) -> bool {
    let mut i = 2;
    while i + 4 <= jpeg.len() && jpeg[i] == 0xFF {
        let marker = jpeg[i + 1];
        if matches!(marker, 0x01 | 0xD0..=0xD7 | 0xFF) {
            i += if marker == 0xFF { 1 } else { 2 };
            continue;
        }
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        let seg = jpeg.get(i + 4..i + 2 + len).unwrap_or_default();
        match marker {
            0xDA | 0xD9 => return false,
            0xE0 if seg.starts_with(b"JFIF\0") => return false,
            0xEE if seg.starts_with(b"Adobe") => return false,
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                // precision, height, width, count, then (id, sampling, table) per component.
                return seg.len() >= 15
                    && seg[5] == 3
                    && [seg[6], seg[9], seg[12]] == [b'R', b'G', b'B'];
            }
            _ => {}
        }
        i += 2 + len;
    }
    false
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Encodes with `jpeg-encoder` (an independent writer); density in dpi via JFIF.
    pub(crate) fn encode_gray(w: u16, h: u16, px: &[u8], dpi: Option<u16>) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = jpeg_encoder::Encoder::new(&mut out, 95);
        if let Some(d) = dpi {
            enc.set_density(jpeg_encoder::Density::Inch { x: d, y: d });
        }
        enc.encode(px, w, h, jpeg_encoder::ColorType::Luma).unwrap();
        out
    }

    fn page(w: usize, h: usize) -> Vec<u8> {
        (0..w * h)
            .map(|i| {
                if ((i % w) / 8).is_multiple_of(2) {
                    20
                } else {
                    235
                }
            })
            .collect()
    }

    /// Replaces the JFIF density fields (units, x, y) of an encoded file.
    fn set_jfif(file: &mut [u8], units: u8, x: u16, y: u16) {
        assert_eq!(&file[6..11], b"JFIF\0");
        file[13] = units;
        file[14..16].copy_from_slice(&x.to_be_bytes());
        file[16..18].copy_from_slice(&y.to_be_bytes());
    }

    /// Inserts an APP1 EXIF block with IFD0 resolution tags right after SOI.
    fn with_exif(file: &[u8], res: u32, unit: u16) -> Vec<u8> {
        with_exif_tags(file, res, unit, None)
    }

    /// The same, with an Orientation tag when `orientation` is given.
    fn with_exif_tags(file: &[u8], res: u32, unit: u16, orientation: Option<u16>) -> Vec<u8> {
        let mut entries = Vec::new();
        if let Some(o) = orientation {
            entries.push((274u16, 3u16, u32::from(o) << 16));
        }
        let n = entries.len() + 3;
        let data_at = (8 + 2 + n * 12 + 4) as u32;
        entries.extend([
            (282u16, 5u16, data_at),
            (283, 5, data_at + 8),
            (296, 3, u32::from(unit) << 16),
        ]);
        let mut t = b"MM\0*\0\0\0\x08".to_vec();
        t.extend_from_slice(&(n as u16).to_be_bytes());
        for (tag, typ, val) in entries {
            t.extend_from_slice(&tag.to_be_bytes());
            t.extend_from_slice(&typ.to_be_bytes());
            t.extend_from_slice(&1u32.to_be_bytes());
            t.extend_from_slice(&val.to_be_bytes());
        }
        t.extend_from_slice(&[0; 4]);
        for _ in 0..2 {
            t.extend_from_slice(&res.to_be_bytes());
            t.extend_from_slice(&1u32.to_be_bytes());
        }
        let mut seg = b"Exif\0\0".to_vec();
        seg.extend_from_slice(&t);
        let mut out = file[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&((seg.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(&seg);
        out.extend_from_slice(&file[2..]);
        out
    }

    fn decode(bytes: Vec<u8>) -> Result<DecodedPage, ImageError> {
        super::super::decode_page(&Arc::from(bytes), 0, 10_000_000)
    }

    #[test]
    fn gray_jpeg_embeds_the_file_itself_without_copy() {
        let file: Arc<[u8]> = Arc::from(encode_gray(64, 48, &page(64, 48), Some(300)));
        let d = super::super::decode_page(&file, 0, 1_000_000).unwrap();
        let Embed::Dct {
            data,
            components: 1,
            icc: None,
        } = &d.embed
        else {
            panic!()
        };
        assert!(
            Arc::ptr_eq(data, &file),
            "the embed shares the file's buffer"
        );
        assert_eq!(d.info.dpi, Some((300.0, 300.0)));
        assert_eq!(d.info.color, ColorKind::Gray);
        assert!(d.gray.pixels[0] < 60 && d.gray.pixels[8] > 200);
    }

    #[test]
    fn rgb_jpeg_gives_luma() {
        let rgb: Vec<u8> = (0..32 * 16).flat_map(|_| [200u8, 30, 30]).collect();
        let mut out = Vec::new();
        jpeg_encoder::Encoder::new(&mut out, 95)
            .encode(&rgb, 32, 16, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        let d = decode(out).unwrap();
        assert_eq!(d.info.color, ColorKind::Rgb);
        assert!(matches!(d.embed, Embed::Dct { components: 3, .. }));
        let want = i32::from(luma(200, 30, 30));
        assert!(
            (i32::from(d.gray.pixels[100]) - want).abs() < 6,
            "{}",
            d.gray.pixels[100]
        );
    }

    /// An RGB test card: red rises left to right, green top to bottom, blue is constant.
    fn rgb_card(w: usize, h: usize) -> Vec<u8> {
        (0..w * h)
            .flat_map(|i| [(i % w * 255 / w) as u8, (i / w * 255 / h) as u8, 90])
            .collect()
    }

    fn assert_gray_close(d: &DecodedPage, rgb: &[u8], tolerance: i32) {
        let worst = d
            .gray
            .pixels
            .iter()
            .zip(rgb.chunks_exact(3))
            .map(|(&g, p)| (i32::from(g) - i32::from(luma(p[0], p[1], p[2]))).abs())
            .max()
            .unwrap();
        assert!(worst <= tolerance, "gray off by up to {worst}");
    }

    /// zune-jpeg 0.4 lost its place at the restart markers of progressive scans ("Marker SOS
    /// found in bitstream") and such valid scans were quarantined as corrupt.
    #[test]
    fn progressive_jpeg_with_restart_markers_decodes() {
        let (w, h) = (96u16, 64u16);
        let rgb = rgb_card(96, 64);
        for (interval, sampling) in [
            (1, jpeg_encoder::SamplingFactor::F_2_2),
            (2, jpeg_encoder::SamplingFactor::F_1_1),
        ] {
            let mut out = Vec::new();
            let mut enc = jpeg_encoder::Encoder::new(&mut out, 90);
            enc.set_progressive(true);
            enc.set_restart_interval(interval);
            enc.set_sampling_factor(sampling);
            enc.encode(&rgb, w, h, jpeg_encoder::ColorType::Rgb)
                .unwrap();
            assert!(out.windows(2).any(|m| m == [0xFF, 0xD0]), "has RST0");
            let d = decode(out).unwrap();
            assert!(matches!(d.embed, Embed::Dct { components: 3, .. }));
            assert_gray_close(&d, &rgb, 12);
        }
    }

    /// Samples stored as RGB, not YCbCr: Adobe APP14 with transform 0 and no JFIF marker, as
    /// `cjpeg -rgb` and some scanner drivers write. There is no luma channel to take.
    #[test]
    fn rgb_jpeg_without_colour_transform_gives_luma() {
        let (w, h) = (48u16, 32u16);
        let rgb = rgb_card(48, 32);
        let mut out = Vec::new();
        // ColorType::Ycbcr stores the three channels as given, untransformed.
        jpeg_encoder::Encoder::new(&mut out, 95)
            .encode(&rgb, w, h, jpeg_encoder::ColorType::Ycbcr)
            .unwrap();
        assert_eq!(&out[2..4], &[0xFF, 0xE0], "encoder writes JFIF first");
        let app0_len = usize::from(u16::from_be_bytes([out[4], out[5]]));
        let mut file = vec![0xFF, 0xD8, 0xFF, 0xEE, 0x00, 0x0E];
        file.extend_from_slice(b"Adobe\0\x64\0\0\0\0\0");
        file.extend_from_slice(&out[4 + app0_len..]);
        let d = decode(file).unwrap();
        assert_eq!(d.info.color, ColorKind::Rgb);
        assert_gray_close(&d, &rgb, 12);
    }

    #[test]
    fn cmyk_jpeg_decodes() {
        let cmyk: Vec<u8> = (0..16 * 16).flat_map(|_| [0u8, 0, 0, 0]).collect();
        let mut out = Vec::new();
        jpeg_encoder::Encoder::new(&mut out, 95)
            .encode(&cmyk, 16, 16, jpeg_encoder::ColorType::Cmyk)
            .unwrap();
        let d = decode(out).unwrap();
        assert_eq!(d.info.color, ColorKind::Cmyk);
        assert!(matches!(d.embed, Embed::Dct { components: 4, .. }));
        assert_eq!(d.gray.pixels.len(), 256);
    }

    #[test]
    fn dpi_from_jfif_units_and_exif() {
        let base = encode_gray(16, 16, &page(16, 16), Some(300));
        let dpi = |f: &[u8]| super::super::probe(f, 1000).unwrap()[0].dpi;
        let mut cm = base.clone();
        set_jfif(&mut cm, 2, 118, 118);
        let d = dpi(&cm).unwrap();
        assert!((d.0 - 299.72).abs() < 0.01);
        let mut aspect = base.clone();
        set_jfif(&mut aspect, 0, 1, 1);
        assert_eq!(
            dpi(&aspect),
            None,
            "JFIF units 0 is an aspect ratio, not a resolution"
        );
        // EXIF fills in when JFIF has no absolute unit.
        assert_eq!(dpi(&with_exif(&aspect, 400, 2)), Some((400.0, 400.0)));
        let e = dpi(&with_exif(&aspect, 100, 3)).unwrap();
        assert!((e.0 - 254.0).abs() < 1e-9);
        // A JFIF block without density, plus EXIF.
        let plain = encode_gray(16, 16, &page(16, 16), None);
        assert_eq!(dpi(&plain), None);
        assert_eq!(dpi(&with_exif(&plain, 600, 2)), Some((600.0, 600.0)));
    }

    #[test]
    fn exif_orientation_is_reported_as_a_clockwise_turn() {
        let base = encode_gray(16, 16, &page(16, 16), Some(300));
        let turn = |o| {
            super::super::probe(&with_exif_tags(&base, 300, 2, o), 1000).unwrap()[0].orientation
        };
        assert_eq!(turn(None), 0);
        assert_eq!(turn(Some(1)), 0);
        assert_eq!(turn(Some(6)), 90);
        assert_eq!(turn(Some(3)), 180);
        assert_eq!(turn(Some(8)), 270);
        assert_eq!(turn(Some(2)), 0, "mirrored: not applied");
        let d = decode(with_exif_tags(&base, 300, 2, Some(6))).unwrap();
        assert_eq!(d.info.dpi, Some((300.0, 300.0)), "JFIF still gives the dpi");
    }

    #[test]
    fn truncated_jpeg_is_corrupt() {
        let file = encode_gray(64, 64, &page(64, 64), Some(300));
        for cut in [3, 10, 30, file.len() / 2, file.len() - 2] {
            let err = decode(file[..cut].to_vec()).unwrap_err();
            assert!(
                matches!(err, ImageError::Corrupt { .. }),
                "cut {cut}: {err}"
            );
        }
    }

    #[test]
    fn giant_jpeg_header_is_refused() {
        let mut file = encode_gray(16, 16, &page(16, 16), Some(300));
        let sof = file.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        file[sof + 5..sof + 7].copy_from_slice(&60000u16.to_be_bytes());
        file[sof + 7..sof + 9].copy_from_slice(&60000u16.to_be_bytes());
        assert!(matches!(decode(file), Err(ImageError::TooLarge { .. })));
    }

    /// Inserts APP2 ICC_PROFILE segments (ICC.1 B.4) carrying `profile` in `chunks` parts.
    pub(crate) fn with_icc(file: &[u8], profile: &[u8], chunks: usize) -> Vec<u8> {
        let mut out = file[..2].to_vec();
        let size = profile.len().div_ceil(chunks);
        let parts: Vec<&[u8]> = profile.chunks(size).collect();
        for (i, part) in parts.iter().enumerate() {
            let mut seg = b"ICC_PROFILE\0".to_vec();
            seg.extend_from_slice(&[(i + 1) as u8, parts.len() as u8]);
            seg.extend_from_slice(part);
            out.extend_from_slice(&[0xFF, 0xE2]);
            out.extend_from_slice(&((seg.len() + 2) as u16).to_be_bytes());
            out.extend_from_slice(&seg);
        }
        out.extend_from_slice(&file[2..]);
        out
    }

    #[test]
    fn icc_profile_in_app2_chunks_is_joined_and_kept_beside_the_unchanged_file() {
        let profile: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
        let file = with_icc(&encode_gray(16, 16, &page(16, 16), Some(300)), &profile, 3);
        let d = decode(file.clone()).unwrap();
        let Embed::Dct { data, icc, .. } = &d.embed else {
            panic!()
        };
        assert_eq!(&data[..], &file[..], "the file itself is embedded");
        assert_eq!(icc.as_deref(), Some(&profile[..]));
        // A missing chunk means no profile, not a wrong one.
        let mut broken = with_icc(&encode_gray(16, 16, &page(16, 16), Some(300)), &profile, 3);
        let at = broken
            .windows(12)
            .position(|w| w == b"ICC_PROFILE\0")
            .unwrap();
        broken[at + 12] = 9; // sequence number out of range
        let Embed::Dct { icc, .. } = decode(broken).unwrap().embed else {
            panic!()
        };
        assert!(icc.is_none());
    }
}
