//! Barcodes and Kodak patch codes read from a page's gray raster (SPEC §6).
//!
//! Two readers, for two kinds of sheet:
//! - [`read_barcodes`]: Code 39, Code 128, QR and DataMatrix, decoded by `rxing` (a pure-Rust
//!   port of ZXing, built with only its decoder/encoder features and `encoding_rs`, so no
//!   `-sys` crate and no C library; `cargo tree -p rxing` shows it). Used for `barcode:TEXT`
//!   separator sheets, cover sheets and barcode index fields.
//! - [`patch::patch_code`]: Kodak patch codes (Patch 1, 2, 3, 4/Toggle, 6, T) measured from the
//!   bars themselves, as a scanner's patch reader does; rxing has no patch-code reader.
//!
//! Both take the page as the pipeline decoded it (8-bit gray, 0 = black) and its resolution,
//! and work in any of the four rotations. Neither runs unless the profile asks for it (a
//! `separation` block or a field with a `barcode` pattern): pages of other profiles pay nothing.

pub mod finder;
pub mod found;
pub mod patch;

use std::collections::HashSet;

use rxing::common::HybridBinarizer;
use rxing::datamatrix::DataMatrixReader;
use rxing::multi::{GenericMultipleBarcodeReader, MultipleBarcodeReader};
use rxing::qrcode::QRCodeReader;
use rxing::{
    BarcodeFormat, BinaryBitmap, DecodeHints, Luma8LuminanceSource, MultiUseMultiFormatReader,
    RXingResult, Reader,
};

use crate::image::GrayImage;

/// The symbologies resiscan reads; others that rxing knows are not asked for (every format
/// asked for costs time on every page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Symbology {
    Code39,
    Code128,
    Qr,
    DataMatrix,
}

impl Symbology {
    pub fn name(self) -> &'static str {
        match self {
            Symbology::Code39 => "Code 39",
            Symbology::Code128 => "Code 128",
            Symbology::Qr => "QR",
            Symbology::DataMatrix => "DataMatrix",
        }
    }

    fn of(format: &BarcodeFormat) -> Option<Self> {
        Some(match format {
            BarcodeFormat::CODE_39 => Symbology::Code39,
            BarcodeFormat::CODE_128 => Symbology::Code128,
            BarcodeFormat::QR_CODE => Symbology::Qr,
            BarcodeFormat::DATA_MATRIX => Symbology::DataMatrix,
            _ => return None,
        })
    }

    fn format(self) -> BarcodeFormat {
        match self {
            Symbology::Code39 => BarcodeFormat::CODE_39,
            Symbology::Code128 => BarcodeFormat::CODE_128,
            Symbology::Qr => BarcodeFormat::QR_CODE,
            Symbology::DataMatrix => BarcodeFormat::DATA_MATRIX,
        }
    }

    pub const ALL: [Symbology; 4] = [
        Symbology::Code39,
        Symbology::Code128,
        Symbology::Qr,
        Symbology::DataMatrix,
    ];
}

/// One barcode found on a page.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Barcode {
    pub symbology: Symbology,
    pub text: String,
    /// How the symbol is turned on the page, clockwise: 0, 90, 180 or 270 degrees (0 = read
    /// left to right, upright). For 1D symbols the axis is sure, the direction not always:
    /// when a row does not read forwards rxing tries it backwards, and then reports an
    /// upright symbol as 180° (seen with Code 39 at 200 dpi).
    pub rotation: u16,
}

impl std::fmt::Display for Barcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:?}", self.symbology.name(), self.text)
    }
}

/// The resolution barcodes are read at. ZXing's readers need about two pixels per narrow module;
/// office barcodes have modules of 0.25 mm and more, i.e. 2 px at 200 dpi. Reading a 600 dpi
/// page at full size costs nine times the pixels for nothing, so finer pages are binned down
/// by an integer factor to 200–399 dpi first.
const READ_DPI: u32 = 200;

/// The Code 39, Code 128, QR and DataMatrix symbols on the page that are among `wanted`, in
/// any of the four rotations, sorted and without repeats. A symbol that does not decode (torn,
/// smudged) is simply not in the list: the caller treats "no barcode" as "not a barcode sheet".
///
/// The readers do not search the whole page: [`finder::look`] first picks the regions that
/// look like a symbol (on a page of print, none or a few small ones), and only those are
/// read, each by the readers of the kind of symbol seen there. Several symbols per page are
/// found, one per region (of each 2D symbology one per region). Where the finder's regions
/// would cover much of the page (a photo), the whole page is read as before.
pub fn read_barcodes(page: &GrayImage, dpi: u32, wanted: &[Symbology]) -> Vec<Barcode> {
    if page.width == 0 || page.height == 0 || wanted.is_empty() {
        return Vec::new();
    }
    let factor = (dpi / READ_DPI).max(1);
    let small;
    let raster = if factor > 1 {
        small = binned(page, factor);
        &small
    } else {
        page
    };
    let mut found = match finder::look(raster, dpi / factor) {
        finder::Look::Nothing => Vec::new(),
        finder::Look::WholePage => read_raster(raster, wanted),
        finder::Look::Regions(regions) => regions
            .iter()
            .flat_map(|r| {
                let readers: Vec<Symbology> = wanted
                    .iter()
                    .copied()
                    .filter(|s| if is_1d(*s) { r.bars } else { r.squares })
                    .collect();
                read_raster(&r.rect.crop(raster), &readers)
            })
            .collect(),
    };
    found.sort();
    found.dedup();
    found
}

/// What rxing's readers find on `raster` (the whole page or a region the finder chose).
fn read_raster(raster: &GrayImage, wanted: &[Symbology]) -> Vec<Barcode> {
    if wanted.is_empty() {
        return Vec::new();
    }
    let Ok(source) = Luma8LuminanceSource::new(raster.pixels.clone(), raster.width, raster.height)
    else {
        return Vec::new();
    };
    // One binarisation shared by every reader (it is a good part of the cost).
    let mut bitmap = BinaryBitmap::new(HybridBinarizer::new(source));
    let mut found: Vec<Barcode> = Vec::new();
    let mut keep = |r: &RXingResult| {
        if let Some(symbology) = Symbology::of(r.getBarcodeFormat())
            && wanted.contains(&symbology)
        {
            found.push(Barcode {
                symbology,
                text: r.getText().to_string(),
                rotation: turned(symbology, r.getPoints()),
            });
        }
    };
    let one_d: HashSet<BarcodeFormat> = wanted
        .iter()
        .filter(|s| is_1d(**s))
        .map(|s| s.format())
        .collect();
    if !one_d.is_empty() {
        // TryHarder: every 1D row of the page is tried (not only the middle band), and when
        // nothing reads, the page turned by 90°; 1D symbols read in both directions, so that
        // covers the four rotations.
        let hints = DecodeHints {
            PossibleFormats: Some(one_d),
            TryHarder: Some(true),
            ..Default::default()
        };
        let mut reader = GenericMultipleBarcodeReader::new(MultiUseMultiFormatReader::default());
        if let Ok(results) = reader.decode_multiple_with_hints(&mut bitmap, &hints) {
            results.iter().for_each(&mut keep);
        }
    }
    // The 2D finders are rotation-invariant; without TryHarder they missed small symbols away
    // from the middle of an A4 page (the tests below), so they try harder too.
    let harder = DecodeHints {
        TryHarder: Some(true),
        ..Default::default()
    };
    if wanted.contains(&Symbology::Qr)
        && let Ok(r) = QRCodeReader.decode_with_hints(&mut bitmap, &harder)
    {
        keep(&r);
    }
    if wanted.contains(&Symbology::DataMatrix)
        && let Ok(r) = DataMatrixReader.decode_with_hints(&mut bitmap, &harder)
    {
        keep(&r);
    }
    found.sort();
    found.dedup();
    found
}

/// The symbol's turn from the points rxing reports, to the nearest quarter: a 1D symbol's
/// reading direction runs from its first point to its last; a QR code's top edge from its
/// top-left finder (the second point) to its top-right one (the third); a DataMatrix's from
/// its first corner to its second (checked in all four turns by the tests below).
fn turned(symbology: Symbology, points: &[rxing::Point]) -> u16 {
    let edge = match symbology {
        Symbology::Code39 | Symbology::Code128 => points.first().zip(points.last()),
        Symbology::Qr => points.get(1).zip(points.get(2)),
        Symbology::DataMatrix => points.first().zip(points.get(1)),
    };
    let Some((a, b)) = edge else { return 0 };
    let degrees = (b.y - a.y).atan2(b.x - a.x).to_degrees();
    let quarter = (degrees / 90.0).round() as i32;
    (quarter.rem_euclid(4) * 90) as u16
}

fn is_1d(s: Symbology) -> bool {
    matches!(s, Symbology::Code39 | Symbology::Code128)
}

/// The page binned down by `factor` in both directions (mean of each factor×factor block).
/// Row by row: each source row is added into one row of block sums (a pass the compiler
/// vectorises), then the sums are divided once per binned row.
pub fn binned(page: &GrayImage, factor: u32) -> GrayImage {
    let f = factor.max(1) as usize;
    let (w, h) = (page.width as usize / f, page.height as usize / f);
    let src_w = page.width as usize;
    let mut pixels = Vec::with_capacity(w * h);
    let mut sums = vec![0u32; w];
    let area = (f * f) as u32;
    for y in 0..h {
        sums.fill(0);
        for dy in 0..f {
            let row = &page.pixels[(y * f + dy) * src_w..][..w * f];
            for (s, block) in sums.iter_mut().zip(row.chunks_exact(f)) {
                *s += block.iter().map(|&p| u32::from(p)).sum::<u32>();
            }
        }
        pixels.extend(sums.iter().map(|&s| (s / area) as u8));
    }
    GrayImage {
        width: w as u32,
        height: h as u32,
        pixels,
    }
}

/// A symbol drawn as black modules, `module_px` pixels each, with its quiet zone, for cover
/// sheets and tests. `None` when rxing cannot encode the text in that symbology.
pub fn encoded_modules(symbology: Symbology, text: &str) -> Option<Modules> {
    use rxing::Writer;
    let writer = rxing::MultiFormatWriter;
    // Size 0 asks for the smallest matrix: one module per cell.
    let matrix = writer.encode(text, &symbology.format(), 0, 0).ok()?;
    let (w, h) = (matrix.getWidth(), matrix.getHeight());
    let mut dark = Vec::with_capacity((w * h) as usize);
    for y in 0..h {
        for x in 0..w {
            dark.push(matrix.get(x, y));
        }
    }
    Some(Modules {
        width: w,
        height: h,
        dark,
    })
}

/// A barcode as a grid of modules (1D symbols are one row high).
#[derive(Debug, Clone)]
pub struct Modules {
    pub width: u32,
    pub height: u32,
    dark: Vec<bool>,
}

impl Modules {
    pub fn is_dark(&self, x: u32, y: u32) -> bool {
        self.dark[(y * self.width + x) as usize]
    }
}

#[cfg(test)]
pub mod testutil {
    use super::*;

    /// A white page of `w`×`h` inches at `dpi`.
    pub fn page(w_in: f32, h_in: f32, dpi: u32) -> GrayImage {
        let (w, h) = ((w_in * dpi as f32) as u32, (h_in * dpi as f32) as u32);
        GrayImage {
            width: w,
            height: h,
            pixels: vec![255; (w * h) as usize],
        }
    }

    /// Draws `modules` at (x, y) pixels, each module `mw` wide and `mh` high (1D symbols are
    /// stretched to `mh` by their one row).
    pub fn draw(page: &mut GrayImage, m: &Modules, x0: u32, y0: u32, mw: u32, mh: u32) {
        let rows = if m.height == 1 { 1 } else { m.height };
        for my in 0..rows {
            for mx in 0..m.width {
                if !m.is_dark(mx, my) {
                    continue;
                }
                let h = if m.height == 1 { mh } else { mw };
                for y in y0 + my * h..y0 + my * h + h {
                    for x in x0 + mx * mw..x0 + mx * mw + mw {
                        if x < page.width && y < page.height {
                            page.pixels[(y * page.width + x) as usize] = 0;
                        }
                    }
                }
            }
        }
    }

    /// Deterministic salt-and-pepper noise: `per_mille` of the pixels flipped.
    pub fn noise(page: &mut GrayImage, per_mille: u32, seed: u64) {
        let mut s = seed | 1;
        for p in page.pixels.iter_mut() {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            if (s % 1000) < u64::from(per_mille) {
                *p = 255 - *p;
            }
        }
    }

    /// The page turned by a small angle (degrees, clockwise), nearest neighbour, white fill.
    pub fn skewed(page: &GrayImage, degrees: f32) -> GrayImage {
        let (w, h) = (page.width as i64, page.height as i64);
        let (s, c) = degrees.to_radians().sin_cos();
        let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
        let mut out = vec![255u8; (w * h) as usize];
        for y in 0..h {
            for x in 0..w {
                let (dx, dy) = (x as f32 - cx, y as f32 - cy);
                let sx = (c * dx + s * dy + cx).round() as i64;
                let sy = (-s * dx + c * dy + cy).round() as i64;
                if sx >= 0 && sy >= 0 && sx < w && sy < h {
                    out[(y * w + x) as usize] = page.pixels[(sy * w + sx) as usize];
                }
            }
        }
        GrayImage {
            width: page.width,
            height: page.height,
            pixels: out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;

    /// A page with one symbol, modules 0.3 mm (a common office size), 1D bars 12 mm high.
    fn sheet(symbology: Symbology, text: &str, dpi: u32) -> GrayImage {
        let m = encoded_modules(symbology, text).expect("encodes");
        let mut p = page(8.27, 11.69, dpi);
        let mw = ((0.3 / 25.4) * dpi as f32).round().max(2.0) as u32;
        let mh = ((12.0 / 25.4) * dpi as f32) as u32;
        draw(&mut p, &m, dpi, dpi * 2, mw, mh);
        p
    }

    #[test]
    fn each_symbology_reads_back_at_200_to_600_dpi() {
        let cases = [
            (Symbology::Code39, "PATCHT"),
            (Symbology::Code128, "VB-2024-00042"),
            (Symbology::Qr, "RESISCAN-COVER/1 efile=bauamt"),
            (Symbology::DataMatrix, "VB-2024-00042"),
        ];
        for dpi in [200, 300, 600] {
            for (s, text) in cases {
                let p = sheet(s, text, dpi);
                let found = read_barcodes(&p, dpi, &Symbology::ALL);
                let read: Vec<_> = found
                    .iter()
                    .map(|b| (b.symbology, b.text.as_str()))
                    .collect();
                assert_eq!(read, [(s, text)], "{} at {dpi} dpi", s.name());
                // Upright; a 1D symbol's direction may come out reversed (see `rotation`).
                assert_eq!(found[0].rotation % 180, 0, "{found:?}");
                if !is_1d(s) {
                    assert_eq!(found[0].rotation, 0, "{found:?}");
                }
            }
        }
    }

    #[test]
    fn every_rotation_reads() {
        for (s, text) in [
            (Symbology::Code39, "PATCHT"),
            (Symbology::Code128, "VB-2024-00042"),
            (Symbology::Qr, "hello"),
            (Symbology::DataMatrix, "hello"),
        ] {
            let p = sheet(s, text, 300);
            for turn in [90u16, 180, 270] {
                let turned = crate::ocr::rotated_clockwise(&p, turn);
                let found = read_barcodes(&turned, 300, &Symbology::ALL);
                assert!(
                    found.iter().any(|b| b.symbology == s && b.text == text),
                    "{} turned {turn}: {found:?}",
                    s.name()
                );
            }
        }
    }

    #[test]
    fn each_symbol_says_how_it_is_turned() {
        for (s, text) in [
            (Symbology::Code39, "PATCHT"),
            (Symbology::Code128, "VB-2024-00042"),
            (Symbology::Qr, "hello"),
            (Symbology::DataMatrix, "hello"),
        ] {
            let p = sheet(s, text, 300);
            for turn in [0u16, 90, 180, 270] {
                let turned = crate::ocr::rotated_clockwise(&p, turn);
                let found = read_barcodes(&turned, 300, &[s]);
                assert_eq!(
                    found.iter().map(|b| b.rotation).collect::<Vec<_>>(),
                    [turn],
                    "{} turned {turn}",
                    s.name()
                );
            }
        }
    }

    /// Every symbology skewed by 2° and noised, at 200–600 dpi, faint (grey ink on grey paper)
    /// and very faint (30 grey levels): whatever rxing reads on the whole page, it reads in the
    /// finder's regions too.
    /// (Salt-and-pepper noise breaks a 0.3 mm QR code's finder patterns for the whole-page
    /// reader as well; the cover sheet reader bins such pages by two, `separation`.)
    #[test]
    fn the_finder_loses_nothing_the_whole_page_reader_finds() {
        let mut read_whole = 0;
        let mut cases = 0;
        for (s, text) in [
            (Symbology::Code39, "PATCHT"),
            (Symbology::Code128, "VB-2024-00042"),
            (Symbology::Qr, "hello"),
            (Symbology::DataMatrix, "VB-2024-00042"),
        ] {
            let mut pages = Vec::new();
            for dpi in [200, 300, 600] {
                let mut p = skewed(&sheet(s, text, dpi), 2.0);
                noise(&mut p, 5, 3);
                pages.push((format!("{} at {dpi} dpi, skewed, noisy", s.name()), p, dpi));
            }
            let mut p = sheet(s, text, 300);
            p.pixels
                .iter_mut()
                .for_each(|v| *v = if *v < 128 { 150 } else { 225 });
            pages.push((format!("{} faint", s.name()), p, 300));
            // Fainter still: 30 grey levels, above rxing's own least contrast (24).
            let mut p = sheet(s, text, 300);
            p.pixels
                .iter_mut()
                .for_each(|v| *v = if *v < 128 { 200 } else { 230 });
            pages.push((format!("{} very faint", s.name()), p, 300));
            for (name, p, dpi) in pages {
                cases += 1;
                let factor = (dpi / READ_DPI).max(1);
                let whole = read_raster(&binned(&p, factor), &Symbology::ALL);
                let found = read_barcodes(&p, dpi, &Symbology::ALL);
                if whole.iter().any(|b| b.symbology == s && b.text == text) {
                    read_whole += 1;
                    assert!(
                        found.iter().any(|b| b.symbology == s && b.text == text),
                        "{name}: the whole page reads {whole:?}, the regions {found:?}"
                    );
                }
            }
        }
        // Not an empty promise: the whole-page reader reads 14 of the 20 (the noisy 0.3 mm
        // QR codes at 300 and 600 dpi and some of the very faint symbols are its misses).
        assert!(read_whole >= 14, "{read_whole} of {cases}");
    }

    /// Module sizes from 0.25 mm (fine office print) to 1 mm (a separator sheet meant to be
    /// read across the room): the finder's two cell sizes between them cover the range.
    #[test]
    fn small_and_large_modules_read() {
        for (s, text) in [
            (Symbology::Code39, "PATCHT"),
            (Symbology::Code128, "VB-2024-00042"),
            (Symbology::Qr, "RESISCAN-COVER/1 efile=bauamt"),
            (Symbology::DataMatrix, "TRENNBLATT"),
        ] {
            for module_mm in [0.25f32, 0.5, 1.0] {
                let dpi = 300;
                let m = encoded_modules(s, text).expect("encodes");
                let mut p = page(8.27, 11.69, dpi);
                let mw = (module_mm / 25.4 * dpi as f32).round() as u32;
                draw(&mut p, &m, dpi / 2, dpi * 3, mw, dpi / 2);
                let found = read_barcodes(&p, dpi, &Symbology::ALL);
                assert!(
                    found.iter().any(|b| b.symbology == s && b.text == text),
                    "{} with {module_mm} mm modules: {found:?}",
                    s.name()
                );
            }
        }
    }

    /// Symbols printed among lines of text (a label on a letter, a code beside the address):
    /// the print around them must not hide them, and two on one page are both read.
    #[test]
    fn symbols_among_print_read() {
        let dpi = 300;
        let mut p = page(8.27, 11.69, dpi);
        // "Print": rows of letter-sized blocks with gaps, 10 pt lines 4.2 mm apart.
        let px = |mm: f32| (mm / 25.4 * dpi as f32).round() as u32;
        for line in 0..40 {
            let y0 = px(20.0 + 4.2 * line as f32);
            for ch in 0..70 {
                let x0 = px(20.0 + 2.4 * ch as f32);
                if ch % 9 == 8 {
                    continue; // a space between words
                }
                for y in y0..y0 + px(1.9) {
                    for x in x0..x0 + px(1.9) {
                        // Strokes: two stems and a bar, like an "n" or "h".
                        let dx = x - x0;
                        if dx < 4 || dx >= px(1.9) - 4 || y < y0 + 4 {
                            p.pixels[(y * p.width + x) as usize] = 0;
                        }
                    }
                }
            }
        }
        let mut put = |s: Symbology, text: &str, x: u32, y: u32| {
            let m = encoded_modules(s, text).expect("encodes");
            let mw = px(0.33);
            let (w, h) = (
                m.width * mw,
                if m.height == 1 {
                    px(10.0)
                } else {
                    m.height * mw
                },
            );
            // The symbol's own quiet zone (two modules round a DataMatrix).
            for yy in y - 2 * mw..y + h + 2 * mw {
                for xx in x - 2 * mw..x + w + 2 * mw {
                    p.pixels[(yy * p.width + xx) as usize] = 255;
                }
            }
            draw(&mut p, &m, x, y, mw, px(10.0));
        };
        put(Symbology::Code128, "VB-2026-04711", px(110.0), px(45.0));
        put(Symbology::DataMatrix, "VB-2026-04712", px(30.0), px(120.0));
        let found = read_barcodes(&p, dpi, &Symbology::ALL);
        let texts: Vec<_> = found.iter().map(|b| b.text.as_str()).collect();
        assert!(texts.contains(&"VB-2026-04711"), "{found:?}");
        assert!(texts.contains(&"VB-2026-04712"), "{found:?}");
    }

    #[test]
    fn skewed_and_noisy_code39_reads() {
        let mut p = skewed(&sheet(Symbology::Code39, "PATCHT", 300), 2.0);
        noise(&mut p, 5, 7);
        let found = read_barcodes(&p, 300, &Symbology::ALL);
        assert!(found.iter().any(|b| b.text == "PATCHT"), "{found:?}");
    }

    #[test]
    fn a_blank_page_and_a_torn_symbol_read_nothing() {
        assert!(read_barcodes(&page(8.27, 11.69, 300), 300, &Symbology::ALL).is_empty());
        // A Code 39 symbol with its right half torn off does not decode to anything.
        let mut p = sheet(Symbology::Code39, "PATCHT", 300);
        let w = p.width;
        for y in 0..p.height {
            for x in (300 + 250)..w {
                p.pixels[(y * w + x) as usize] = 255;
            }
        }
        assert!(read_barcodes(&p, 300, &Symbology::ALL).is_empty());
    }
}

#[cfg(test)]
mod probe_file {
    /// `RESISCAN_PROBE=page.png cargo test --lib barcode::probe_file -- --ignored --nocapture`:
    /// what the readers find on a scanned page (for looking into a sheet that was not read).
    #[test]
    #[ignore = "a tool, run by hand"]
    fn probe() {
        let Ok(path) = std::env::var("RESISCAN_PROBE") else {
            return;
        };
        let bytes: std::sync::Arc<[u8]> = std::fs::read(path).unwrap().into();
        let page = crate::image::decode_page(&bytes, 0, 1 << 30).unwrap();
        let dpi = page.info.dpi.map(|d| d.0.round() as u32).unwrap_or(300);
        println!("dpi {dpi}");
        println!("finder: {:?}", super::finder::look(&page.gray, dpi));
        println!(
            "{:?}",
            super::read_barcodes(&page.gray, dpi, &super::Symbology::ALL)
        );
        println!("{:?}", super::patch::patch_code(&page.gray, dpi));
        let small = super::binned(&page.gray, 2);
        println!(
            "binned: {:?}",
            super::read_barcodes(&small, dpi / 2, &super::Symbology::ALL)
        );
    }
}
