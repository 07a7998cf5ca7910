//! PNG reading (ISO/IEC 15948): the chunk list is walked here for the header, the resolution
//! (pHYs) and the IDAT bytes; the `png` crate decodes the pixels.
//!
//! A plain PNG (not interlaced, no transparency) is embedded with its IDAT data unchanged:
//! PNG's per-row filters are exactly PDF's PNG predictors (ISO 32000-1 7.4.4.4, Predictor
//! 10 and up), so the zlib stream can go into the PDF as it is. Interlaced or transparent PNGs are
//! decoded and Flate-encoded (transparency composited over white paper).

use std::sync::Arc;

use super::{
    ColorKind, DecodedPage, Embed, FileFormat, GrayImage, ImageError, PageInfo, check_pixel_budget,
    zlib,
};

const F: FileFormat = FileFormat::Png;

/// Memory the decoder may use beyond the frame (chunks, row buffers); the frame itself is
/// bounded by the pixel budget checked before decoding.
const DECODER_LIMIT_BYTES: usize = 64 * 1024 * 1024;

fn corrupt(detail: impl Into<String>) -> ImageError {
    ImageError::Corrupt {
        format: F,
        detail: detail.into(),
    }
}

/// What the chunk walk found, before any pixel is decoded.
struct Chunks<'a> {
    width: u32,
    height: u32,
    bit_depth: u8,
    color_type: u8,
    interlaced: bool,
    transparency: bool,
    dpi: Option<(f64, f64)>,
    idat: Vec<&'a [u8]>,
    /// The iCCP chunk's data (profile name, method, zlib stream), inflated only on decode.
    iccp: Option<&'a [u8]>,
    /// The PLTE chunk's RGB triples, which an indexed page embeds as its palette.
    plte: Option<&'a [u8]>,
}

/// Walks the chunks (ISO 15948 5.3). Only lengths and the header are checked here; the
/// decoder checks CRCs and the zlib stream.
fn chunks(bytes: &[u8]) -> Result<Chunks<'_>, ImageError> {
    let mut pos = 8usize;
    let mut header: Option<Chunks<'_>> = None;
    let mut seen_iend = false;
    while pos < bytes.len() {
        let Some(head) = bytes.get(pos..pos + 8) else {
            return Err(corrupt(format!(
                "chunk header cut off at byte {pos} (truncated?)"
            )));
        };
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let kind = [head[4], head[5], head[6], head[7]];
        let data = pos
            .checked_add(8 + len)
            .filter(|&end| end + 4 <= bytes.len())
            .map(|end| &bytes[pos + 8..end])
            .ok_or_else(|| {
                corrupt(format!(
                    "{} chunk of {len} bytes runs past the end of the file (truncated?)",
                    String::from_utf8_lossy(&kind)
                ))
            })?;
        pos += 12 + len;
        match (&kind, header.as_mut()) {
            (b"IHDR", None) => {
                if data.len() != 13 {
                    return Err(corrupt("IHDR chunk is not 13 bytes"));
                }
                let be =
                    |i: usize| u32::from_be_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
                header = Some(Chunks {
                    width: be(0),
                    height: be(4),
                    bit_depth: data[8],
                    color_type: data[9],
                    interlaced: data[12] == 1,
                    transparency: matches!(data[9], 4 | 6),
                    dpi: None,
                    idat: Vec::new(),
                    iccp: None,
                    plte: None,
                });
            }
            (_, None) => return Err(corrupt("first chunk is not IHDR")),
            (b"IDAT", Some(h)) => {
                // The IDAT bytes go into the PDF unchanged, and the `png` decoder (0.18) reads
                // them without checking their CRC: a damaged chunk would reach the archive.
                if !crc_matches(bytes, pos - 12 - len, len) {
                    return Err(corrupt(
                        "IDAT (image data) chunk fails its CRC check (damaged file?)",
                    ));
                }
                h.idat.push(data)
            }
            (b"tRNS", Some(h)) => h.transparency = true,
            (b"PLTE", Some(h)) => h.plte = Some(data),
            (b"pHYs", Some(h)) if data.len() == 9 => {
                // The decoder checks the CRCs of the chunks it reads; this one only we read,
                // and a damaged resolution must not size the page (libpng drops such a chunk;
                // here the page is refused so the damage is seen).
                if !crc_matches(bytes, pos - 12 - len, len) {
                    return Err(corrupt(
                        "pHYs (resolution) chunk fails its CRC check (damaged file?)",
                    ));
                }
                // ISO 15948 11.3.5.3: unit 1 = pixels per metre; unit 0 is an aspect ratio.
                let x = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
                let y = u32::from_be_bytes([data[4], data[5], data[6], data[7]]);
                if data[8] == 1 && x > 0 && y > 0 {
                    h.dpi = Some((f64::from(x) * 0.0254, f64::from(y) * 0.0254));
                }
            }
            // A damaged profile must not colour the archive copy: without a good CRC the
            // chunk is ignored, as libpng does, and the page falls back to the device space.
            (b"iCCP", Some(h)) if crc_matches(bytes, pos - 12 - len, len) => h.iccp = Some(data),
            (b"IEND", Some(_)) => {
                seen_iend = true;
                break;
            }
            _ => {}
        }
    }
    let h = header.ok_or_else(|| corrupt("no IHDR chunk"))?;
    if h.idat.is_empty() {
        return Err(corrupt("no IDAT chunk (truncated?)"));
    }
    if !seen_iend {
        return Err(corrupt("no IEND chunk (truncated?)"));
    }
    let valid_depth = match h.color_type {
        0 => matches!(h.bit_depth, 1 | 2 | 4 | 8 | 16),
        3 => matches!(h.bit_depth, 1 | 2 | 4 | 8),
        2 | 4 | 6 => matches!(h.bit_depth, 8 | 16),
        _ => false,
    };
    if !valid_depth {
        return Err(corrupt(format!(
            "colour type {} with bit depth {} is not valid PNG",
            h.color_type, h.bit_depth
        )));
    }
    Ok(h)
}

/// Whether the chunk at `start` (its length field) with `len` data bytes carries the right
/// CRC-32 over type and data (ISO 15948 5.3). The caller has checked the chunk is in bounds.
fn crc_matches(bytes: &[u8], start: usize, len: usize) -> bool {
    let mut crc = flate2::Crc::new();
    crc.update(&bytes[start + 4..start + 8 + len]);
    bytes[start + 8 + len..start + 12 + len] == crc.sum().to_be_bytes()
}

/// Header facts; transparency turns into 8-bit composited samples, so it shows here too.
fn info(c: &Chunks<'_>) -> PageInfo {
    let color = match c.color_type {
        0 if c.bit_depth == 1 && !c.transparency => ColorKind::Bilevel,
        0 | 4 => ColorKind::Gray,
        3 if c.transparency => ColorKind::Rgb,
        3 => ColorKind::Indexed,
        _ => ColorKind::Rgb,
    };
    PageInfo {
        width: c.width,
        height: c.height,
        dpi: c.dpi,
        color,
        bits_per_component: if c.transparency { 8 } else { c.bit_depth },
        format: F,
        orientation: 0,
    }
}

pub(super) fn probe(bytes: &[u8], max_pixels: u64) -> Result<PageInfo, ImageError> {
    let c = header_checked(bytes, max_pixels)?;
    Ok(info(&c))
}

/// The bomb check needs only IHDR (the first 33 bytes): refuse before walking anything else.
fn header_checked(bytes: &[u8], max_pixels: u64) -> Result<Chunks<'_>, ImageError> {
    if let Some(ihdr) = bytes.get(8..29)
        && &ihdr[4..8] == b"IHDR"
    {
        let w = u32::from_be_bytes([ihdr[8], ihdr[9], ihdr[10], ihdr[11]]);
        let h = u32::from_be_bytes([ihdr[12], ihdr[13], ihdr[14], ihdr[15]]);
        check_pixel_budget(F, w, h, max_pixels)?;
    }
    let c = chunks(bytes)?;
    check_pixel_budget(F, c.width, c.height, max_pixels)?;
    Ok(c)
}

pub(super) fn decode_page(bytes: &Arc<[u8]>, max_pixels: u64) -> Result<DecodedPage, ImageError> {
    let c = header_checked(bytes, max_pixels)?;
    let info = info(&c);
    if c.color_type == 3 && c.plte.is_none() {
        return Err(corrupt("palette image without PLTE chunk"));
    }
    // The `image` crate decodes (palette, tRNS, low bit depths and interlacing expanded);
    // its limits hold it to the size the header check above allowed.
    let decoder = image::codecs::png::PngDecoder::with_limits(
        std::io::Cursor::new(&bytes[..]),
        super::decoder_limits(c.width, c.height, DECODER_LIMIT_BYTES),
    )
    .map_err(decode_error)?;
    let pixels = image::DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    let icc = c.iccp.and_then(iccp_profile);
    let (channels, samples) = super::samples8(&pixels);
    let gray = super::gray_over_white(channels, &samples);
    let embed = if !(c.interlaced || c.transparency) {
        let idat: Vec<u8> = c.idat.concat();
        // The decoder stops once it has every row; a PDF reader inflates the whole stream,
        // and one that ends early or breaks after the last row is a damaged page in the
        // archive (ISO 32000-1 7.4.4).
        if !zlib_stream_complete(&idat) {
            return Err(corrupt(
                "the image data's zlib stream is cut off or damaged after the last row",
            ));
        }
        Embed::Flate {
            data: Arc::from(idat),
            colors: if c.color_type == 2 { 3 } else { 1 },
            bits_per_component: c.bit_depth,
            png_predictor: true,
            palette: c.plte.map(Arc::from),
            icc,
        }
    } else if c.transparency {
        // The decoded samples composited over white paper, at 8 bits (16-bit samples keep
        // their high byte, as the gray raster does).
        let (colors, data) = super::composited_over_white(channels, samples);
        Embed::Flate {
            data: zlib(&data),
            colors,
            bits_per_component: 8,
            png_predictor: false,
            palette: None,
            icc,
        }
    } else {
        // Interlaced: the deinterlaced samples, the same pixels; 16 bits stay 16, palette
        // and 1/2/4-bit gray come expanded to 8 bits.
        let (bits, data) = match super::samples16_be(&pixels) {
            Some(d) => (16, d),
            None => (8, samples.into_owned()),
        };
        Embed::Flate {
            data: zlib(&data),
            colors: channels as u8,
            bits_per_component: bits,
            png_predictor: false,
            palette: None,
            icc,
        }
    };
    Ok(DecodedPage {
        info,
        embed,
        gray: GrayImage {
            width: c.width,
            height: c.height,
            pixels: gray,
        },
    })
}

/// Largest ICC profile inflated from an iCCP chunk; real profiles are a few hundred bytes to a
/// few hundred KB, and a zlib bomb must not cost memory.
const MAX_ICC_BYTES: u64 = 4 << 20;

/// The ICC profile of an iCCP chunk (ISO 15948 11.3.3.3): a name of 1-79 Latin-1 bytes, a
/// NUL, compression method 0 (zlib), the compressed profile. `None` when it does not inflate.
fn iccp_profile(data: &[u8]) -> Option<Arc<[u8]>> {
    use std::io::Read;
    let nul = data.iter().take(80).position(|&b| b == 0)?;
    if nul == 0 || data.get(nul + 1) != Some(&0) {
        return None;
    }
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(&data[nul + 2..])
        .take(MAX_ICC_BYTES + 1)
        .read_to_end(&mut out)
        .ok()?;
    (out.len() as u64 <= MAX_ICC_BYTES && !out.is_empty()).then(|| Arc::from(out))
}

/// Whether `data` is one zlib stream that inflates without error up to its end marker and
/// checksum. The output is thrown away in small pieces, so a bomb costs time, not memory.
fn zlib_stream_complete(data: &[u8]) -> bool {
    let mut z = flate2::Decompress::new(true);
    let mut scratch = vec![0u8; 64 * 1024];
    loop {
        let before = (z.total_in(), z.total_out());
        let at = usize::try_from(z.total_in())
            .unwrap_or(usize::MAX)
            .min(data.len());
        match z.decompress(&data[at..], &mut scratch, flate2::FlushDecompress::None) {
            Ok(flate2::Status::StreamEnd) => return true,
            Ok(_) if (z.total_in(), z.total_out()) != before => {}
            _ => return false,
        }
    }
}

fn decode_error(e: image::ImageError) -> ImageError {
    match e {
        image::ImageError::Limits(l) => corrupt(format!("decoder limit: {l}")),
        image::ImageError::IoError(e) => corrupt(format!("{e} (truncated?)")),
        other => corrupt(other.to_string()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::luma;
    use super::*;
    use std::io::Read;

    /// Encodes a PNG with the `png` crate (an independent writer).
    pub(crate) fn encode(
        w: u32,
        h: u32,
        color: png::ColorType,
        depth: png::BitDepth,
        data: &[u8],
        setup: impl FnOnce(&mut png::Encoder<'_, &mut Vec<u8>>),
    ) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, w, h);
            enc.set_color(color);
            enc.set_depth(depth);
            setup(&mut enc);
            let mut wr = enc.write_header().unwrap();
            wr.write_image_data(data).unwrap();
        }
        out
    }

    /// The `png` encoder writes no Adam7, so this builds an interlaced 8-bit gray PNG by hand
    /// (ISO 15948 8.2: seven passes, each a filtered sub-image).
    fn interlaced_gray8(w: u32, h: u32, px: &[u8]) -> Vec<u8> {
        interlaced_8bit(w, h, px, None)
    }

    /// An Adam7-interlaced 8-bit PNG: gray, or indices into `plte` (RGB triples).
    fn interlaced_8bit(w: u32, h: u32, px: &[u8], plte: Option<&[u8]>) -> Vec<u8> {
        let passes = [
            (0, 0, 8, 8),
            (4, 0, 8, 8),
            (0, 4, 4, 8),
            (2, 0, 4, 4),
            (0, 2, 2, 4),
            (1, 0, 2, 2),
            (0, 1, 1, 2),
        ];
        let mut raw = Vec::new();
        for (x0, y0, dx, dy) in passes {
            if x0 >= w || y0 >= h {
                continue;
            }
            for y in (y0..h).step_by(dy as usize) {
                raw.push(0);
                for x in (x0..w).step_by(dx as usize) {
                    raw.push(px[(y * w + x) as usize]);
                }
            }
        }
        let chunk = |out: &mut Vec<u8>, kind: &[u8], data: &[u8]| {
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            out.extend_from_slice(kind);
            out.extend_from_slice(data);
            let mut crc = flate2::Crc::new();
            crc.update(kind);
            crc.update(data);
            out.extend_from_slice(&crc.sum().to_be_bytes());
        };
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = w.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&h.to_be_bytes());
        ihdr.extend_from_slice(&[8, if plte.is_some() { 3 } else { 0 }, 0, 0, 1]);
        chunk(&mut out, b"IHDR", &ihdr);
        if let Some(p) = plte {
            chunk(&mut out, b"PLTE", p);
        }
        chunk(&mut out, b"IDAT", &zlib(&raw));
        chunk(&mut out, b"IEND", &[]);
        out
    }

    fn decode(bytes: Vec<u8>) -> Result<DecodedPage, ImageError> {
        super::super::decode_page(&Arc::from(bytes), 0, 10_000_000)
    }

    fn idat(file: &[u8]) -> Vec<u8> {
        chunks(file).unwrap().idat.concat()
    }

    fn inflate_all(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(data)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn gray8_png_passes_idat_through_with_predictor() {
        let px: Vec<u8> = (0..20 * 7).map(|i| (i * 3) as u8).collect();
        let file = encode(
            20,
            7,
            png::ColorType::Grayscale,
            png::BitDepth::Eight,
            &px,
            |e| {
                e.set_pixel_dims(Some(png::PixelDimensions {
                    xppu: 11811,
                    yppu: 11811,
                    unit: png::Unit::Meter,
                }))
            },
        );
        let d = decode(file.clone()).unwrap();
        assert_eq!(d.gray.pixels, px);
        let Embed::Flate {
            data,
            colors: 1,
            bits_per_component: 8,
            png_predictor: true,
            palette: None,
            icc: None,
        } = &d.embed
        else {
            panic!("{:?}", d.embed)
        };
        assert_eq!(
            &data[..],
            &idat(&file)[..],
            "IDAT goes into the PDF unchanged"
        );
        let (x, y) = d.info.dpi.unwrap();
        assert!((x - 299.9994).abs() < 0.001 && (y - x).abs() < 1e-9, "{x}");
        assert_eq!(d.info.color, ColorKind::Gray);
    }

    #[test]
    fn bilevel_png_is_bilevel_and_expands_to_0_255() {
        let file = encode(
            10,
            2,
            png::ColorType::Grayscale,
            png::BitDepth::One,
            &[0b1010_0000, 0, 0xFF, 0xC0],
            |_| {},
        );
        let d = decode(file).unwrap();
        assert_eq!(d.info.color, ColorKind::Bilevel);
        assert_eq!(&d.gray.pixels[..4], &[255, 0, 255, 0]);
        assert!(d.gray.pixels[10..].iter().all(|&p| p == 255));
        assert!(matches!(
            d.embed,
            Embed::Flate {
                bits_per_component: 1,
                png_predictor: true,
                ..
            }
        ));
        assert_eq!(d.info.dpi, None, "no pHYs, no resolution");
    }

    #[test]
    fn rgb_16bit_and_palette_pngs() {
        let rgb16: Vec<u8> = (0..4 * 2 * 6).map(|i| (i * 11) as u8).collect();
        let d = decode(encode(
            4,
            2,
            png::ColorType::Rgb,
            png::BitDepth::Sixteen,
            &rgb16,
            |_| {},
        ))
        .unwrap();
        assert_eq!(d.info.color, ColorKind::Rgb);
        assert_eq!(d.gray.pixels[0], luma(rgb16[0], rgb16[2], rgb16[4]));
        assert!(matches!(
            d.embed,
            Embed::Flate {
                colors: 3,
                bits_per_component: 16,
                png_predictor: true,
                ..
            }
        ));

        let pal = vec![255, 0, 0, 0, 0, 255, 255, 255, 255];
        let file = encode(
            3,
            1,
            png::ColorType::Indexed,
            png::BitDepth::Eight,
            &[0, 1, 2],
            |e| e.set_palette(pal.clone()),
        );
        let d = decode(file).unwrap();
        assert_eq!(d.info.color, ColorKind::Indexed);
        assert_eq!(d.gray.pixels, vec![luma(255, 0, 0), luma(0, 0, 255), 255]);
        let Embed::Flate {
            palette: Some(p),
            png_predictor: true,
            ..
        } = &d.embed
        else {
            panic!()
        };
        assert_eq!(&p[..], &pal[..]);
    }

    #[test]
    fn alpha_is_composited_over_white_and_reencoded() {
        // gray+alpha: black fully transparent -> white; black opaque -> black
        let file = encode(
            2,
            1,
            png::ColorType::GrayscaleAlpha,
            png::BitDepth::Eight,
            &[0, 0, 0, 255],
            |_| {},
        );
        let d = decode(file).unwrap();
        assert_eq!(d.gray.pixels, vec![255, 0]);
        let Embed::Flate {
            data,
            colors: 1,
            bits_per_component: 8,
            png_predictor: false,
            ..
        } = &d.embed
        else {
            panic!()
        };
        assert_eq!(inflate_all(data), vec![255, 0]);

        let rgba = [255, 0, 0, 255, 0, 0, 255, 0];
        let d = decode(encode(
            2,
            1,
            png::ColorType::Rgba,
            png::BitDepth::Eight,
            &rgba,
            |_| {},
        ))
        .unwrap();
        let Embed::Flate {
            data, colors: 3, ..
        } = &d.embed
        else {
            panic!()
        };
        assert_eq!(inflate_all(data), vec![255, 0, 0, 255, 255, 255]);
        assert_eq!(d.gray.pixels, vec![luma(255, 0, 0), 255]);
    }

    #[test]
    fn trns_on_palette_and_16_bit_gray_is_reencoded() {
        let file = encode(
            2,
            1,
            png::ColorType::Indexed,
            png::BitDepth::Eight,
            &[0, 1],
            |e| {
                e.set_palette(vec![0, 0, 0, 0, 0, 0]);
                e.set_trns(vec![0, 255]);
            },
        );
        let d = decode(file).unwrap();
        assert_eq!(d.gray.pixels, vec![255, 0]);
        assert!(matches!(
            d.embed,
            Embed::Flate {
                colors: 3,
                palette: None,
                png_predictor: false,
                ..
            }
        ));

        let file = encode(
            2,
            1,
            png::ColorType::Grayscale,
            png::BitDepth::Sixteen,
            &[0x12, 0x34, 0x00, 0x00],
            |e| {
                e.set_trns(vec![0x12, 0x34]);
            },
        );
        let d = decode(file).unwrap();
        assert_eq!(d.gray.pixels, vec![255, 0]);
    }

    #[test]
    fn interlaced_png_decodes_and_keeps_depth() {
        let (w, h) = (13u32, 11u32);
        let px: Vec<u8> = (0..w * h).map(|i| (i * 17) as u8).collect();
        let file = interlaced_gray8(w, h, &px);
        assert!(chunks(&file).unwrap().interlaced);
        let d = decode(file).unwrap();
        assert_eq!(d.gray.pixels, px);
        let Embed::Flate {
            data,
            png_predictor: false,
            bits_per_component: 8,
            ..
        } = &d.embed
        else {
            panic!()
        };
        assert_eq!(inflate_all(data), px);
    }

    /// The `image` crate expands palettes, so an interlaced palette page is embedded as the
    /// RGB it shows (the same pixels, no longer indexed).
    #[test]
    fn interlaced_palette_png_is_embedded_as_its_rgb() {
        let (w, h) = (11u32, 9u32);
        let plte = [255u8, 0, 0, 0, 128, 0, 0, 0, 255, 250, 250, 240];
        let px: Vec<u8> = (0..w * h).map(|i| (i * 7 % 4) as u8).collect();
        let d = decode(interlaced_8bit(w, h, &px, Some(&plte))).unwrap();
        let rgb: Vec<u8> = px
            .iter()
            .flat_map(|&i| plte[3 * usize::from(i)..3 * usize::from(i) + 3].to_vec())
            .collect();
        let gray: Vec<u8> = rgb
            .chunks_exact(3)
            .map(|p| luma(p[0], p[1], p[2]))
            .collect();
        assert_eq!(d.gray.pixels, gray);
        let Embed::Flate {
            data,
            colors: 3,
            bits_per_component: 8,
            palette: None,
            ..
        } = &d.embed
        else {
            panic!("{:?}", d.embed)
        };
        assert_eq!(inflate_all(data), rgb);
    }

    #[test]
    fn giant_png_header_is_refused_fast() {
        // IHDR claims 200000 x 200000; the rest is a single tiny IDAT.
        let small = encode(
            1,
            1,
            png::ColorType::Grayscale,
            png::BitDepth::Eight,
            &[0],
            |_| {},
        );
        let mut bomb = small.clone();
        bomb[16..20].copy_from_slice(&200_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&200_000u32.to_be_bytes());
        let t = std::time::Instant::now();
        let err = super::super::decode_page(&Arc::from(bomb.clone()), 0, 150_000_000).unwrap_err();
        assert!(
            matches!(
                err,
                ImageError::TooLarge {
                    width: 200_000,
                    height: 200_000,
                    ..
                }
            ),
            "{err}"
        );
        assert!(super::super::probe(&bomb, 150_000_000).is_err());
        assert!(t.elapsed().as_millis() < 200, "{:?}", t.elapsed());
    }

    /// The `image` decoder gets limits of exactly the size the header check passed, so it
    /// can never be made to allocate for a larger frame than the one refused or allowed.
    #[test]
    fn image_decoder_is_held_to_the_checked_size() {
        let file = encode(
            8,
            8,
            png::ColorType::Grayscale,
            png::BitDepth::Eight,
            &[9; 64],
            |_| {},
        );
        let held = |w, h| {
            image::codecs::png::PngDecoder::with_limits(
                std::io::Cursor::new(&file[..]),
                super::super::decoder_limits(w, h, 0),
            )
            .and_then(image::DynamicImage::from_decoder)
        };
        assert!(held(8, 8).is_ok());
        assert!(matches!(held(8, 7), Err(image::ImageError::Limits(_))));
        assert!(matches!(held(7, 8), Err(image::ImageError::Limits(_))));
    }

    #[test]
    fn phys_with_a_bad_crc_is_refused_not_believed() {
        let file = encode(
            4,
            4,
            png::ColorType::Grayscale,
            png::BitDepth::Eight,
            &[200; 16],
            |e| {
                e.set_pixel_dims(Some(png::PixelDimensions {
                    xppu: 11811,
                    yppu: 11811,
                    unit: png::Unit::Meter,
                }))
            },
        );
        assert!(decode(file.clone()).is_ok());
        let at = file.windows(4).position(|w| w == b"pHYs").unwrap();
        let mut bad = file.clone();
        bad[at + 4 + 9] ^= 0x01; // the CRC's first byte
        let err = super::super::probe(&bad, 100).unwrap_err();
        assert!(err.to_string().contains("pHYs"), "{err}");
        let mut bad = file;
        bad[at + 4] ^= 0x40; // the density itself; the CRC no longer fits
        assert!(decode(bad).is_err());
    }

    #[test]
    fn truncated_png_is_corrupt() {
        let px: Vec<u8> = (0..64 * 64).map(|i| (i * 7 % 251) as u8).collect();
        let file = encode(
            64,
            64,
            png::ColorType::Grayscale,
            png::BitDepth::Eight,
            &px,
            |_| {},
        );
        for cut in [
            9,
            20,
            33,
            40,
            file.len() / 2,
            file.len() - 13,
            file.len() - 1,
        ] {
            let err = decode(file[..cut].to_vec()).unwrap_err();
            assert!(
                matches!(err, ImageError::Corrupt { .. }),
                "cut {cut}: {err}"
            );
        }
    }

    /// Found by fuzzing (issue #6, `image_png`): a PNG whose IDAT was damaged after the last
    /// row still decoded (the decoder ignores IDAT CRCs and stops after the last row), and
    /// its IDAT went into the PDF unchanged: a stream no reader can inflate to its end.
    #[test]
    fn damaged_idat_is_corrupt_not_embedded() {
        let fuzzed = std::fs::read("tests/data/fuzz/png_idat_with_bad_crc_is_corrupt.png").unwrap();
        let err = decode(fuzzed).unwrap_err();
        assert!(
            err.to_string()
                .contains("IDAT (image data) chunk fails its CRC"),
            "{err}"
        );

        // Every row present, CRC right, but the zlib stream stops before its end marker
        // and checksum (a chunk lost in transfer, a writer killed while finishing).
        let px: Vec<u8> = (0..8 * 4).map(|i| (i * 9) as u8).collect();
        let mut rows = Vec::new();
        for r in px.chunks(8) {
            rows.push(0);
            rows.extend_from_slice(r);
        }
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
        std::io::Write::write_all(&mut enc, &rows).unwrap();
        std::io::Write::flush(&mut enc).unwrap();
        let unfinished = enc.get_ref().clone();
        let mut file = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = 8u32.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&4u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
        for (kind, data) in [
            (&b"IHDR"[..], &ihdr[..]),
            (b"IDAT", &unfinished),
            (b"IEND", &[]),
        ] {
            file.extend_from_slice(&(data.len() as u32).to_be_bytes());
            file.extend_from_slice(kind);
            file.extend_from_slice(data);
            let mut crc = flate2::Crc::new();
            crc.update(kind);
            crc.update(data);
            file.extend_from_slice(&crc.sum().to_be_bytes());
        }
        let err = decode(file).unwrap_err();
        assert!(err.to_string().contains("zlib stream is cut off"), "{err}");
        assert!(zlib_stream_complete(&zlib(&rows)));
    }

    #[test]
    fn iccp_profile_is_inflated_and_travels_with_the_embed() {
        let profile: Vec<u8> = (0..3000u32).map(|i| (i % 200) as u8).collect();
        let px = vec![128u8; 8 * 4 * 3];
        let plain = encode(8, 4, png::ColorType::Rgb, png::BitDepth::Eight, &px, |_| {});
        // iCCP right after IHDR (8 + 25 bytes): name, NUL, method 0, zlib stream.
        let mut data = b"test\0\0".to_vec();
        data.extend_from_slice(&zlib(&profile));
        let mut file = plain[..33].to_vec();
        file.extend_from_slice(&(data.len() as u32).to_be_bytes());
        file.extend_from_slice(b"iCCP");
        file.extend_from_slice(&data);
        let mut crc = flate2::Crc::new();
        crc.update(b"iCCP");
        crc.update(&data);
        file.extend_from_slice(&crc.sum().to_be_bytes());
        file.extend_from_slice(&plain[33..]);
        let d = decode(file).unwrap();
        let Embed::Flate { icc, .. } = &d.embed else {
            panic!()
        };
        assert_eq!(icc.as_deref(), Some(&profile[..]));
        // A name without its method byte or a stream that does not inflate is no profile.
        assert!(iccp_profile(b"name").is_none());
        assert!(iccp_profile(b"name\0\0not zlib").is_none());
    }
}
