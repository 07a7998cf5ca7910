//! Synthetic German business letters as scanner output, shared by the sample generator
//! (`examples/make_samples.rs`) and the integration tests: a letter is rendered with a
//! TrueType font (DejaVu Sans, Debian package `fonts-dejavu-core`) to an 8-bit gray A4
//! raster, and written the way scan stations write files: gray PNG with pHYs, gray JPEG with
//! JFIF density, CCITT G4 TIFF (one strip per page, WhiteIsZero, resolution tags).
//!
//! Include it with `#[path = "../tests/common/letters.rs"] mod letters;` (examples) or
//! `pub mod letters;` in `tests/common/mod.rs`. Everything is deterministic: the same call
//! gives the same bytes, so generated samples can be committed and regenerated.
#![allow(dead_code)]

use ab_glyph::{Font, FontVec, PxScale, ScaleFont};
use resiscan::image::GrayImage;

/// Where Debian's `fonts-dejavu-core` installs the font.
pub const FONT_PATH: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// A4 in millimetres.
pub const A4_MM: (f64, f64) = (210.0, 297.0);

/// Loads DejaVu Sans; the error names the package to install.
pub fn load_font() -> Result<FontVec, String> {
    let bytes = std::fs::read(FONT_PATH).map_err(|e| {
        format!("cannot read {FONT_PATH}: {e} (install the Debian package fonts-dejavu-core)")
    })?;
    FontVec::try_from_vec(bytes).map_err(|e| format!("{FONT_PATH} is not a usable font: {e}"))
}

/// A white A4 page at `dpi`.
pub fn blank_a4(dpi: u32) -> GrayImage {
    let w = (A4_MM.0 / 25.4 * f64::from(dpi)).round() as u32;
    let h = (A4_MM.1 / 25.4 * f64::from(dpi)).round() as u32;
    GrayImage {
        width: w,
        height: h,
        pixels: vec![255; (w * h) as usize],
    }
}

/// Renders `lines` black on white onto an A4 page at `dpi`, 11 pt, left margin 25 mm, top
/// margin 20 mm, wrapping long lines at the right margin (20 mm). An empty line is a blank
/// line. Text that does not fit on the page is cut off (callers split letters into pages).
pub fn render_page(font: &FontVec, lines: &[&str], dpi: u32) -> GrayImage {
    render_page_sized(font, lines, dpi, 11.0)
}

/// Like [`render_page`] with a chosen font size in points.
pub fn render_page_sized(font: &FontVec, lines: &[&str], dpi: u32, points: f64) -> GrayImage {
    let mut page = blank_a4(dpi);
    let px_per_mm = f64::from(dpi) / 25.4;
    let size = (points * f64::from(dpi) / 72.0) as f32;
    let scale = PxScale::from(size);
    let scaled = font.as_scaled(scale);
    let left = 25.0 * px_per_mm;
    let right = f64::from(page.width) - 20.0 * px_per_mm;
    let line_height = f64::from(scaled.height() + scaled.line_gap()) * 1.15;
    let mut baseline = 20.0 * px_per_mm + f64::from(scaled.ascent());
    for line in lines {
        for wrapped in wrap(&scaled, line, right - left) {
            draw_text(font, scale, &mut page, left, baseline, &wrapped);
            baseline += line_height;
        }
        if line.is_empty() {
            baseline += line_height;
        }
    }
    page
}

/// Splits a line into pieces no wider than `max` pixels, at spaces.
pub fn wrap<F: Font>(font: &ab_glyph::PxScaleFont<&F>, line: &str, max: f64) -> Vec<String> {
    let width = |s: &str| -> f64 {
        s.chars()
            .map(|c| f64::from(font.h_advance(font.glyph_id(c))))
            .sum()
    };
    let mut out = Vec::new();
    let mut current = String::new();
    for word in line.split(' ') {
        let candidate = if current.is_empty() {
            word.to_string()
        } else {
            format!("{current} {word}")
        };
        if width(&candidate) > max && !current.is_empty() {
            out.push(std::mem::replace(&mut current, word.to_string()));
        } else {
            current = candidate;
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Draws one line of text with its baseline at `y`, darkening by glyph coverage.
fn draw_text(font: &FontVec, scale: PxScale, page: &mut GrayImage, x: f64, y: f64, text: &str) {
    for_each_glyph_pixel(font, scale, page, x, y, text, |pixel, coverage| {
        let ink = (255.0 * (1.0 - coverage.clamp(0.0, 1.0))) as u8;
        *pixel = (*pixel).min(ink);
    });
}

/// Lays out one line of text with its baseline at `y` (kerning included) and hands every
/// page pixel a glyph covers, with its coverage, to `plot`: the one glyph walker of the
/// generators, whatever they paint with.
pub fn for_each_glyph_pixel(
    font: &FontVec,
    scale: PxScale,
    page: &mut GrayImage,
    x: f64,
    y: f64,
    text: &str,
    mut plot: impl FnMut(&mut u8, f32),
) {
    let scaled = font.as_scaled(scale);
    let mut caret = x as f32;
    let mut prev = None;
    let (w, h) = (page.width as i64, page.height as i64);
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = prev {
            caret += scaled.kern(p, id);
        }
        let glyph = id.with_scale_and_position(scale, ab_glyph::point(caret, y as f32));
        caret += scaled.h_advance(id);
        prev = Some(id);
        let Some(outline) = font.outline_glyph(glyph) else {
            continue;
        };
        let bounds = outline.px_bounds();
        outline.draw(|gx, gy, coverage| {
            let px = bounds.min.x as i64 + i64::from(gx);
            let py = bounds.min.y as i64 + i64::from(gy);
            if px >= 0 && py >= 0 && px < w && py < h {
                plot(&mut page.pixels[(py * w + px) as usize], coverage);
            }
        });
    }
}

/// Deterministic xorshift generator, so samples are reproducible without a rand seed API.
pub struct Xorshift(pub u64);

impl Xorshift {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A blank back side as a scanner sees it: a gray paper cast, a faint shading towards one
/// edge, and `specks` dust specks of 0.1-0.4 mm. (No per-pixel grain: it would make the
/// committed PNG several MB; the quality unit tests cover grain.)
pub fn blank_back_side(dpi: u32, seed: u64, specks: usize) -> GrayImage {
    let mut page = blank_a4(dpi);
    let (w, h) = (page.width as usize, page.height as usize);
    for y in 0..h {
        for x in 0..w {
            // 238 at the left edge to 242 at the right: a slight cast and uneven lighting.
            page.pixels[y * w + x] = 238 + (4 * x / w) as u8;
        }
    }
    add_dust(&mut page, dpi, seed, specks);
    page
}

/// Adds round dust specks (0.1-0.4 mm) at random places away from the edges.
pub fn add_dust(page: &mut GrayImage, dpi: u32, seed: u64, specks: usize) {
    let mut rng = Xorshift(seed | 1);
    let (w, h) = (page.width as usize, page.height as usize);
    let px_per_mm = f64::from(dpi) / 25.4;
    let edge = (8.0 * px_per_mm) as usize;
    if w <= 2 * edge || h <= 2 * edge {
        return;
    }
    for _ in 0..specks {
        let cx = edge + rng.next() as usize % (w - 2 * edge);
        let cy = edge + rng.next() as usize % (h - 2 * edge);
        let r = px_per_mm * (0.05 + (rng.next() % 16) as f64 / 100.0);
        let value = (rng.next() % 100) as u8;
        let ri = r.ceil() as usize;
        for y in cy.saturating_sub(ri)..=(cy + ri).min(h - 1) {
            for x in cx.saturating_sub(ri)..=(cx + ri).min(w - 1) {
                let d2 = (x as f64 - cx as f64).powi(2) + (y as f64 - cy as f64).powi(2);
                if d2 <= r * r {
                    page.pixels[y * w + x] = value;
                }
            }
        }
    }
}

/// The page turned by 180° (an upside-down sheet on the feeder).
pub fn rotated_180(page: &GrayImage) -> GrayImage {
    let mut pixels = page.pixels.clone();
    pixels.reverse();
    GrayImage {
        width: page.width,
        height: page.height,
        pixels,
    }
}

/// Gray 8-bit PNG with a pHYs chunk (ISO 15948 11.3.5.3, pixels per metre).
pub fn png_bytes(page: &GrayImage, dpi: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, page.width, page.height);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::High);
        let ppm = (f64::from(dpi) / 0.0254).round() as u32;
        enc.set_pixel_dims(Some(png::PixelDimensions {
            xppu: ppm,
            yppu: ppm,
            unit: png::Unit::Meter,
        }));
        let mut writer = enc.write_header().expect("PNG header into a Vec");
        writer
            .write_image_data(&page.pixels)
            .expect("PNG data into a Vec");
    }
    out
}

/// Gray JPEG with JFIF density in dots per inch.
pub fn jpeg_bytes(page: &GrayImage, dpi: u32, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, quality);
    let d = dpi.min(u32::from(u16::MAX)) as u16;
    enc.set_density(jpeg_encoder::Density::Inch { x: d, y: d });
    enc.encode(
        &page.pixels,
        page.width as u16,
        page.height as u16,
        jpeg_encoder::ColorType::Luma,
    )
    .expect("JPEG into a Vec");
    out
}

/// CCITT Group 4 data of one page, thresholded at 50 % (dark = black).
pub fn g4_strip(page: &GrayImage) -> Vec<u8> {
    let w = page.width as usize;
    let mut enc = fax::encoder::Encoder::new(fax::VecWriter::new());
    for row in page.pixels.chunks_exact(w) {
        let pels = row.iter().map(|&p| {
            if p < 128 {
                fax::Color::Black
            } else {
                fax::Color::White
            }
        });
        enc.encode_line(pels, w as u16).expect("G4 into a Vec");
    }
    enc.finish().expect("G4 into a Vec").finish()
}

/// A little-endian multi-page TIFF, one CCITT G4 strip per page, WhiteIsZero, FillOrder 1,
/// X/YResolution in inches — what archive scanners write.
pub fn g4_tiff_bytes(pages: &[&GrayImage], dpi: u32) -> Vec<u8> {
    let mut out = b"II*\0\0\0\0\0".to_vec();
    let mut next_ptr = 4usize;
    for page in pages {
        let strip = g4_strip(page);
        let strip_at = out.len() as u32;
        out.extend_from_slice(&strip);
        if out.len() % 2 == 1 {
            out.push(0);
        }
        let res_at = out.len() as u32;
        for _ in 0..2 {
            out.extend_from_slice(&dpi.to_le_bytes());
            out.extend_from_slice(&1u32.to_le_bytes());
        }
        // (tag, type, value) — type 3 SHORT, 4 LONG, 5 RATIONAL (offset)
        let entries: [(u16, u16, u32); 13] = [
            (256, 4, page.width),
            (257, 4, page.height),
            (258, 3, 1),
            (259, 3, 4), // CCITT Group 4
            (262, 3, 0), // WhiteIsZero
            (266, 3, 1), // FillOrder 1
            (273, 4, strip_at),
            (277, 3, 1),
            (278, 4, page.height),
            (279, 4, strip.len() as u32),
            (282, 5, res_at),
            (283, 5, res_at + 8),
            (296, 3, 2), // inch
        ];
        let ifd_at = out.len() as u32;
        out[next_ptr..next_ptr + 4].copy_from_slice(&ifd_at.to_le_bytes());
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        for (tag, typ, value) in entries {
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&typ.to_le_bytes());
            out.extend_from_slice(&1u32.to_le_bytes());
            if typ == 3 {
                out.extend_from_slice(&(value as u16).to_le_bytes());
                out.extend_from_slice(&[0, 0]);
            } else {
                out.extend_from_slice(&value.to_le_bytes());
            }
        }
        next_ptr = out.len();
        out.extend_from_slice(&[0; 4]);
    }
    out
}

/// Letter texts that a city treasury and its neighbours receive, one `Vec` per page.
pub mod texts {
    /// A debtor asks for instalments in an enforcement case (file plan: Vollstreckung).
    pub fn ratenzahlung() -> Vec<Vec<&'static str>> {
        vec![
            vec![
                "Jürgen Weißmüller",
                "Kötzschauer Straße 12",
                "04229 Leipzig",
                "",
                "Stadt Leipzig, Stadtkasse",
                "Abteilung Vollstreckung",
                "04092 Leipzig",
                "",
                "Leipzig, 18. November 2026",
                "",
                "Aktenzeichen: VB-2026-00417",
                "Kassenzeichen: 5.0123.456789.1",
                "",
                "Vollstreckung wegen rückständiger Grundsteuer – Antrag auf Ratenzahlung",
                "",
                "Sehr geehrte Damen und Herren,",
                "",
                "mit Schreiben vom 3. November 2026 haben Sie mir die Vollstreckung der offenen",
                "Forderung über 1.248,50 Euro angekündigt. Ich bestreite die Forderung nicht.",
                "Wegen einer längeren Erkrankung ist es mir jedoch derzeit nicht möglich, den",
                "gesamten Betrag auf einmal zu zahlen.",
                "",
                "Ich beantrage daher eine Ratenzahlung in monatlichen Raten von 150,00 Euro,",
                "beginnend am 1. Dezember 2026. Eine Aufstellung meiner Einnahmen und Ausgaben",
                "füge ich auf der zweiten Seite bei.",
            ],
            vec![
                "Aktenzeichen: VB-2026-00417 – Seite 2",
                "",
                "Aufstellung der monatlichen Einnahmen und Ausgaben",
                "",
                "Krankengeld                          1.512,00 Euro",
                "Miete einschließlich Nebenkosten       685,00 Euro",
                "Strom und Gas                          118,00 Euro",
                "Versicherungen                          64,30 Euro",
                "Lebenshaltung (geschätzt)              420,00 Euro",
                "",
                "Verbleibender Betrag                   224,70 Euro",
                "",
                "Ich bitte Sie, von weiteren Maßnahmen der Vollstreckung, insbesondere einer",
                "Pfändung meines Kontos, abzusehen, solange die Raten pünktlich eingehen.",
                "",
                "Mit freundlichen Grüßen",
                "",
                "Jürgen Weißmüller",
            ],
        ]
    }

    /// A course registration for the adult education centre (file plan: Volkshochschule).
    pub fn vhs_anmeldung() -> Vec<Vec<&'static str>> {
        vec![vec![
            "Dr. Anneliese Groß",
            "Gießerstraße 7",
            "04229 Leipzig",
            "",
            "Volkshochschule Leipzig",
            "Löhrstraße 3-7",
            "04105 Leipzig",
            "",
            "Leipzig, 20. November 2026",
            "",
            "Anmeldung zum Kurs „Spanisch für Anfänger“",
            "Kursnummer: 26F-1234",
            "",
            "Sehr geehrte Damen und Herren,",
            "",
            "hiermit melde ich mich verbindlich zum oben genannten Kurs im Frühjahrssemester",
            "2026 an. Die Kursgebühr von 96,00 Euro buchen Sie bitte von meinem Konto ab;",
            "das SEPA-Lastschriftmandat liegt Ihnen aus dem vergangenen Semester vor.",
            "",
            "Ich beantrage die Ermäßigung für Inhaber des Leipzig-Passes. Eine Kopie des",
            "Passes reiche ich bei Kursbeginn nach.",
            "",
            "Mit freundlichen Grüßen",
            "",
            "Anneliese Groß",
        ]]
    }

    /// A supplier's invoice to the treasury (file plan: Rechnungseingang).
    pub fn rechnung() -> Vec<Vec<&'static str>> {
        vec![
            vec![
                "Büroausstattung Schäfer GmbH · Dresdner Straße 45 · 04317 Leipzig",
                "",
                "Stadt Leipzig",
                "Stadtkasse, Rechnungseingang",
                "04092 Leipzig",
                "",
                "Rechnung Nr. 2026-11873",
                "Rechnungsdatum: 17.11.2026",
                "Bestellzeichen: 20.1-BA-2026-311",
                "",
                "Pos.  Menge  Artikel                                  Einzelpreis    Gesamt",
                "1      12    Aktenordner DIN A4, 8 cm, grau                 2,95      35,40",
                "2       4    Trennblätter, 100 Stück                        6,40      25,60",
                "3       2    Locher, Stanzleistung 40 Blatt                24,90      49,80",
                "4       1    Aktenvernichter, Sicherheitsstufe P-4        289,00     289,00",
                "",
                "Zwischensumme                                                       399,80",
                "Umsatzsteuer 19 %                                                    75,96",
                "Rechnungsbetrag                                                     475,76",
            ],
            vec![
                "Rechnung Nr. 2026-11873 – Seite 2",
                "",
                "Zahlungsbedingungen: zahlbar innerhalb von 30 Tagen ohne Abzug.",
                "Bitte geben Sie bei der Überweisung die Rechnungsnummer an.",
                "",
                "Bankverbindung: Sparkasse Leipzig",
                "IBAN DE12 8605 5592 1234 5678 90",
                "",
                "Lieferung erfolgte am 14.11.2026 an das Neue Rathaus, Martin-Luther-Ring 4-6.",
                "Für Rückfragen erreichen Sie uns werktags von 8 bis 16 Uhr.",
                "",
                "Büroausstattung Schäfer GmbH – Geschäftsführer: Matthias Schäfer",
                "Amtsgericht Leipzig HRB 12345 – USt-IdNr. DE123456789",
            ],
        ]
    }

    /// A dog tax deregistration: no file-plan entry of the sample profile covers it, so it
    /// shows the "unclassified" path.
    pub fn hundesteuer_abmeldung() -> Vec<Vec<&'static str>> {
        vec![vec![
            "Familie Özdemir",
            "Zschochersche Straße 88",
            "04229 Leipzig",
            "",
            "Stadt Leipzig, Steueramt",
            "Sachgebiet Hundesteuer",
            "04092 Leipzig",
            "",
            "Leipzig, 21. November 2026",
            "",
            "Abmeldung eines Hundes – Steuermarke Nr. 18342",
            "",
            "Sehr geehrte Damen und Herren,",
            "",
            "unser Hund „Bruno“ ist am 2. November 2026 gestorben. Wir melden ihn hiermit",
            "zum Monatsende ab und bitten um anteilige Erstattung der bereits gezahlten",
            "Steuer. Die Steuermarke liegt diesem Schreiben bei.",
            "",
            "Mit freundlichen Grüßen",
            "",
            "Aylin und Murat Özdemir",
        ]]
    }

    /// An objection in another enforcement case; scanned upside down in the samples.
    pub fn widerspruch_pfaendung() -> Vec<Vec<&'static str>> {
        vec![vec![
            "Sabine Köhler",
            "Straße des 18. Oktober 31",
            "04103 Leipzig",
            "",
            "Stadt Leipzig, Stadtkasse",
            "Abteilung Vollstreckung",
            "04092 Leipzig",
            "",
            "Leipzig, 19. November 2026",
            "",
            "Aktenzeichen: VB-2026-00533",
            "Kassenzeichen: 5.0123.998877.4",
            "",
            "Vollstreckung – Einwendungen gegen die Pfändung meines Kontos",
            "",
            "Sehr geehrte Damen und Herren,",
            "",
            "gegen die Pfändung meines Girokontos erhebe ich Einwendungen. Die Forderung",
            "aus dem Gewerbesteuerbescheid habe ich bereits am 30. Oktober 2026 vollständig",
            "beglichen; der Überweisungsbeleg liegt bei. Ich bitte, die Pfändung umgehend",
            "aufzuheben.",
            "",
            "Mit freundlichen Grüßen",
            "",
            "Sabine Köhler",
        ]]
    }
}
