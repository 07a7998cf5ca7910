//! Real-page layouts (SPEC §2, issue #13) with their truth text, for the sample generator
//! (`make_samples --layouts DIR`) and the integration tests (`tests/scans.rs`): two- and
//! three-column print, a DIN 5008 letter with the information block beside the address field,
//! a form with a ruled table, dense 7-pt small print, an 80 mm receipt strip, a photo page and
//! white text on a dark band. Each page is an 8-bit gray raster at 300 dpi rendered with DejaVu
//! Sans (`fonts-dejavu-core`); the truth is the printed text in the order a person reads it.
//!
//! Include beside `letters.rs` (it uses `super::letters`). Deterministic: same call, same bytes.
#![allow(dead_code)]

use ab_glyph::{Font, FontVec, PxScale, ScaleFont};
use resiscan::image::GrayImage;

use super::letters;

pub const DPI: u32 = 300;

/// One generated page: a file-name stem that says what it is, the raster, and the truth text.
pub struct LayoutPage {
    pub name: &'static str,
    pub image: GrayImage,
    pub truth: String,
}

/// The Aktenzeichen printed in the DIN 5008 letter's information block.
pub const LETTER_AZ: &str = "VB-2026-00815";

/// Every layout page, in a fixed order.
pub fn all(font: &FontVec) -> Vec<LayoutPage> {
    vec![
        columns(font, 2),
        columns(font, 3),
        columns(font, 4),
        din5008_letter(font),
        form_with_table(font),
        small_print(font),
        receipt(font),
        photo_page(font),
        dark_band(font),
    ]
}

/// A white canvas of `w_mm` x `h_mm` at [`DPI`], with text and box drawing in millimetres.
pub struct Canvas {
    pub image: GrayImage,
}

fn px(mm: f64) -> f64 {
    mm * f64::from(DPI) / 25.4
}

impl Canvas {
    pub fn new(w_mm: f64, h_mm: f64, paper: u8) -> Canvas {
        let (w, h) = (px(w_mm).round() as u32, px(h_mm).round() as u32);
        Canvas {
            image: GrayImage {
                width: w,
                height: h,
                pixels: vec![paper; (w * h) as usize],
            },
        }
    }

    /// Fills a rectangle (millimetres) with `value`.
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, value: u8) {
        let (iw, ih) = (self.image.width as usize, self.image.height as usize);
        let (x0, y0) = (px(x) as usize, px(y) as usize);
        let (x1, y1) = ((px(x + w) as usize).min(iw), (px(y + h) as usize).min(ih));
        for row in y0.min(ih)..y1 {
            self.image.pixels[row * iw + x0.min(x1)..row * iw + x1].fill(value);
        }
    }

    /// One line of text, its top at `y` mm, in `pt` points, blended in gray level `ink`.
    pub fn text(&mut self, font: &FontVec, x: f64, y: f64, pt: f64, ink: u8, s: &str) {
        let scale = PxScale::from((pt * f64::from(DPI) / 72.0) as f32);
        let ascent = f64::from(font.as_scaled(scale).ascent());
        draw(font, scale, &mut self.image, px(x), px(y) + ascent, s, ink);
    }

    /// Line height in millimetres for `pt` points (1.2 x the size).
    pub fn leading(pt: f64) -> f64 {
        pt * 1.2 * 25.4 / 72.0
    }

    /// A paragraph wrapped into `w` mm, its top at `y`; returns the y below it.
    pub fn paragraph(&mut self, font: &FontVec, x: f64, y: f64, w: f64, pt: f64, s: &str) -> f64 {
        let scale = PxScale::from((pt * f64::from(DPI) / 72.0) as f32);
        let lines = letters::wrap(&font.as_scaled(scale), s, px(w));
        let mut y = y;
        for line in lines {
            self.text(font, x, y, pt, 0, &line);
            y += Self::leading(pt);
        }
        y
    }
}

/// Draws a text line with its baseline at `y` px, blending glyph coverage towards `ink` over
/// whatever is below (so white text on a dark band works as well as black on paper).
fn draw(font: &FontVec, scale: PxScale, page: &mut GrayImage, x: f64, y: f64, text: &str, ink: u8) {
    super::letters::for_each_glyph_pixel(font, scale, page, x, y, text, |pixel, coverage| {
        let c = f64::from(coverage.clamp(0.0, 1.0));
        let old = f64::from(*pixel);
        *pixel = (old * (1.0 - c) + f64::from(ink) * c).round() as u8;
    });
}

/// German running text for column and small-print pages: paragraphs of plain prose.
pub const PROSE: [&str; 8] = [
    "Die Stadtverwaltung informiert über die neuen Öffnungszeiten des Bürgerbüros. Ab dem ersten Januar sind die Schalter montags bis freitags von acht bis achtzehn Uhr geöffnet.",
    "Anträge auf einen Personalausweis oder Reisepass können weiterhin nur nach vorheriger Terminvereinbarung gestellt werden. Bitte bringen Sie ein aktuelles Lichtbild mit.",
    "Der Stadtrat hat in seiner letzten Sitzung beschlossen, die Gebühren für die Müllabfuhr im kommenden Jahr nicht zu erhöhen. Die Bescheide werden im Februar versandt.",
    "Wegen Bauarbeiten an der Brücke über die Weiße Elster ist die Straße zwischen dem Rathaus und dem Hauptbahnhof bis Ende März nur einspurig befahrbar.",
    "Die Stadtbibliothek lädt alle Kinder zwischen sechs und zehn Jahren zu einer Lesestunde ein. Die Teilnahme ist kostenlos, eine Anmeldung ist nicht erforderlich.",
    "Für die Grundsteuer gelten ab diesem Jahr neue Hebesätze. Eigentümer erhalten einen geänderten Bescheid und können innerhalb eines Monats Widerspruch einlegen.",
    "Das Ordnungsamt weist darauf hin, dass Gehwege im Winter bis sieben Uhr morgens von Schnee und Eis zu befreien sind. Verstöße können mit einem Bußgeld geahndet werden.",
    "Die Volkshochschule bietet im Frühjahr wieder Sprachkurse, Computerkurse und Kurse zur Gesundheit an. Das neue Programmheft liegt in allen Bürgerbüros aus.",
];

fn truth_of(parts: &[&str]) -> String {
    parts.join("\n")
}

/// An A4 page of `n` columns, 10 pt (two), 9 pt (three) or 8 pt with a narrow 4.5 mm gutter
/// and a whole blank line between paragraphs (four, as a magazine or an official gazette
/// sets it), headline across the top; the truth reads the headline, then each column top to
/// bottom.
pub fn columns(font: &FontVec, n: usize) -> LayoutPage {
    let (pt, gutter, paragraph_gap) = match n {
        2 => (10.0, 8.0, 0.8),
        3 => (9.0, 8.0, 0.8),
        _ => (8.0, 4.5, 1.0),
    };
    let mut page = column_page(font, n, pt, gutter, paragraph_gap);
    page.name = match n {
        2 => "two_columns",
        3 => "three_columns",
        _ => "four_columns",
    };
    page
}

/// An A4 page of `n` columns of `pt` type, `gutter_mm` apart, with `paragraph_gap` leadings
/// of space between paragraphs; the headline across the top.
pub fn column_page(
    font: &FontVec,
    n: usize,
    pt: f64,
    gutter_mm: f64,
    paragraph_gap: f64,
) -> LayoutPage {
    let mut c = Canvas::new(210.0, 297.0, 255);
    let head = match n {
        2 => "Amtsblatt der Stadt Leipzig",
        3 => "Mitteilungen aus dem Rathaus",
        _ => "Leipziger Stadtanzeiger",
    };
    c.text(font, 20.0, 18.0, 18.0, 0, head);
    let width = (170.0 - gutter_mm * (n - 1) as f64) / n as f64;
    let mut truth = vec![head];
    for col in 0..n {
        let x = 20.0 + col as f64 * (width + gutter_mm);
        let mut y = 35.0;
        for k in 0..4 {
            let p = PROSE[(col * 3 + k) % PROSE.len()];
            y = c.paragraph(font, x, y, width, pt, p) + Canvas::leading(pt) * paragraph_gap;
            truth.push(p);
        }
    }
    LayoutPage {
        name: "columns",
        image: c.image,
        truth: truth_of(&truth),
    }
}

/// A DIN 5008 form B letter: return line and address field at 25 mm / 45 mm, the information
/// block beside it at 125 mm (with the Aktenzeichen), subject and body below.
pub fn din5008_letter(font: &FontVec) -> LayoutPage {
    let mut c = Canvas::new(210.0, 297.0, 255);
    let mut truth: Vec<String> = Vec::new();
    let mut put = |c: &mut Canvas, x: f64, y: f64, pt: f64, s: &str| {
        c.text(font, x, y, pt, 0, s);
        truth.push(s.to_string());
    };
    put(&mut c, 25.0, 20.0, 16.0, "Stadt Leipzig · Stadtkasse");
    put(
        &mut c,
        25.0,
        50.0,
        7.0,
        "Stadt Leipzig, Stadtkasse, 04092 Leipzig",
    );
    for (i, l) in [
        "Frau",
        "Erika Mustermann",
        "Heidestraße 17",
        "04155 Leipzig",
    ]
    .iter()
    .enumerate()
    {
        put(&mut c, 25.0, 60.0 + i as f64 * 5.0, 11.0, l);
    }
    let info = [
        "Ihr Zeichen: EM/2026",
        "Ihre Nachricht vom: 12.11.2026",
        &format!("Aktenzeichen: {LETTER_AZ}"),
        "Kassenzeichen: 5.0123.456789.2",
        "Telefon: 0341 123-4567",
        "Datum: 24.11.2026",
    ];
    for (i, l) in info.iter().enumerate() {
        put(&mut c, 125.0, 50.0 + i as f64 * 5.0, 10.0, l);
    }
    put(
        &mut c,
        25.0,
        100.0,
        11.0,
        "Vollstreckungsverfahren: Ihr Antrag auf Ratenzahlung",
    );
    let mut y = 112.0;
    for p in [
        "Sehr geehrte Frau Mustermann,",
        "wir haben Ihren Antrag auf Ratenzahlung erhalten und geprüft. Die Forderung aus dem Vollstreckungsverfahren kann in monatlichen Raten von 50 Euro beglichen werden.",
        "Die erste Rate ist am 15. Dezember fällig. Bitte geben Sie bei jeder Zahlung das Kassenzeichen an, damit wir die Zahlung zuordnen können.",
        "Mit freundlichen Grüßen",
        "Ihre Stadtkasse",
    ] {
        y = c.paragraph(font, 25.0, y, 165.0, 11.0, p) + 3.0;
        truth.push(p.to_string());
    }
    LayoutPage {
        name: "din5008_letter",
        image: c.image,
        truth: truth.join("\n"),
    }
}

/// A form: title, two filled-in fields and a ruled table (0.3 mm lines); truth row by row.
pub fn form_with_table(font: &FontVec) -> LayoutPage {
    let mut c = Canvas::new(210.0, 297.0, 255);
    let mut truth: Vec<String> = Vec::new();
    c.text(
        font,
        20.0,
        20.0,
        16.0,
        0,
        "Antrag auf Erstattung von Auslagen",
    );
    truth.push("Antrag auf Erstattung von Auslagen".into());
    for (i, l) in [
        "Name: Max Mustermann",
        "Dienststelle: Amt für Statistik und Wahlen",
    ]
    .iter()
    .enumerate()
    {
        c.text(font, 20.0, 35.0 + i as f64 * 7.0, 11.0, 0, l);
        truth.push(l.to_string());
    }
    let cols = [20.0, 38.0, 120.0, 150.0, 190.0];
    let rows = [
        ["Pos.", "Bezeichnung", "Menge", "Betrag"],
        ["1", "Fahrkarte Leipzig Dresden", "2", "41,80 €"],
        ["2", "Übernachtung im Hotel", "1", "89,00 €"],
        ["3", "Tagegeld", "2", "28,00 €"],
        ["4", "Parkgebühren", "3", "12,50 €"],
        ["5", "Teilnahmegebühr Seminar", "1", "150,00 €"],
        ["", "Summe", "", "321,30 €"],
    ];
    let (top, row_h) = (60.0, 10.0);
    for (r, row) in rows.iter().enumerate() {
        let y = top + r as f64 * row_h;
        for (k, cell) in row.iter().enumerate() {
            c.text(font, cols[k] + 2.0, y + 2.5, 10.0, 0, cell);
        }
        truth.push(
            row.iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" "),
        );
    }
    let bottom = top + rows.len() as f64 * row_h;
    for r in 0..=rows.len() {
        c.rect(cols[0], top + r as f64 * row_h, cols[4] - cols[0], 0.3, 0);
    }
    for x in cols {
        c.rect(x, top, 0.3, bottom - top, 0);
    }
    let y = c.paragraph(
        font,
        20.0,
        bottom + 10.0,
        170.0,
        11.0,
        "Ich versichere, dass die Angaben vollständig und richtig sind.",
    );
    truth.push("Ich versichere, dass die Angaben vollständig und richtig sind.".into());
    c.text(font, 20.0, y + 15.0, 11.0, 0, "Leipzig, 24.11.2026");
    truth.push("Leipzig, 24.11.2026".into());
    LayoutPage {
        name: "form_table",
        image: c.image,
        truth: truth.join("\n"),
    }
}

/// A full A4 page of 7-pt print (terms and conditions), 12 mm margins.
pub fn small_print(font: &FontVec) -> LayoutPage {
    let mut c = Canvas::new(210.0, 297.0, 255);
    let mut truth = Vec::new();
    let mut y = 12.0;
    let mut k = 0;
    while y < 280.0 {
        let p = PROSE[k % PROSE.len()];
        y = c.paragraph(font, 12.0, y, 186.0, 7.0, p);
        truth.push(p);
        k += 1;
    }
    LayoutPage {
        name: "small_print",
        image: c.image,
        truth: truth_of(&truth),
    }
}

/// Dense 7-pt small print on a small raster (the 847 x 1629 px page), no margins to
/// speak of; written without resolution metadata (the profile's `assume_dpi` gives 300).
pub fn small_print_crop(font: &FontVec) -> GrayImage {
    let mut c = Canvas::new(847.0 * 25.4 / 300.0, 1629.0 * 25.4 / 300.0, 255);
    let mut y = 1.5;
    let mut k = 0;
    while y < 130.0 {
        y = c.paragraph(font, 1.5, y, 68.0, 7.0, PROSE[k % PROSE.len()]);
        k += 1;
    }
    c.image
}

/// The line on [`one_line_strip`].
pub const STRIP_TEXT: &str = "Covfefe is a perfectly cromulent word.";

/// A one-line strip, 400 x 50 px, as a clipped snippet: the line in the largest size up to
/// 7 pt that fits the width.
pub fn one_line_strip(font: &FontVec) -> GrayImage {
    let mut c = Canvas::new(400.0 * 25.4 / 300.0, 50.0 * 25.4 / 300.0, 255);
    let fits = |pt: f64| {
        let scaled = font.as_scaled(PxScale::from((pt * f64::from(DPI) / 72.0) as f32));
        let width: f32 = STRIP_TEXT
            .chars()
            .map(|ch| scaled.h_advance(scaled.glyph_id(ch)))
            .sum();
        f64::from(width) < 390.0
    };
    let pt = (0..12)
        .map(|i| 7.0 - 0.25 * f64::from(i))
        .find(|&pt| fits(pt))
        .unwrap_or(4.0);
    c.text(font, 0.4, 1.0, pt, 0, STRIP_TEXT);
    c.image
}

/// An 80 mm thermal-printer receipt, 150 mm long.
pub fn receipt(font: &FontVec) -> LayoutPage {
    let mut c = Canvas::new(80.0, 150.0, 250);
    let lines = [
        "Stadt Leipzig Bürgeramt",
        "Quittung Nr. 2026-4711",
        "24.11.2026 10:42",
        "Personalausweis 37,00 EUR",
        "Beglaubigung 5,00 EUR",
        "Summe 42,00 EUR",
        "Bezahlt mit Karte",
        "Vielen Dank für Ihren Besuch",
    ];
    for (i, l) in lines.iter().enumerate() {
        c.text(font, 5.0, 8.0 + i as f64 * 9.0, 10.0, 0, l);
    }
    LayoutPage {
        name: "receipt_80mm",
        image: c.image,
        truth: lines.join("\n"),
    }
}

/// A page with a 150 x 100 mm photo (smooth shading, shapes and grain), a caption and text.
pub fn photo_page(font: &FontVec) -> LayoutPage {
    let mut c = Canvas::new(210.0, 297.0, 255);
    let mut truth = Vec::new();
    let head = "Neues Bürgerbüro eröffnet";
    c.text(font, 25.0, 20.0, 16.0, 0, head);
    truth.push(head);
    photo(
        &mut c.image,
        px(30.0) as usize,
        px(35.0) as usize,
        px(150.0) as usize,
        px(100.0) as usize,
    );
    let cap = "Das neue Bürgerbüro am Markt nach der Eröffnung.";
    c.text(font, 30.0, 138.0, 9.0, 0, cap);
    truth.push(cap);
    let mut y = 150.0;
    for p in &PROSE[..3] {
        y = c.paragraph(font, 25.0, y, 160.0, 11.0, p) + 3.0;
        truth.push(p);
    }
    LayoutPage {
        name: "photo_page",
        image: c.image,
        truth: truth_of(&truth),
    }
}

/// Paints a photo-like area: a sky gradient, a dark building block with windows, grain.
pub fn photo(img: &mut GrayImage, x0: usize, y0: usize, w: usize, h: usize) {
    let iw = img.width as usize;
    let mut rng = letters::Xorshift(0x5eed_f070);
    for y in 0..h {
        for x in 0..w {
            let sky = 200.0 - 80.0 * y as f64 / h as f64 + 20.0 * (x as f64 / 97.0).sin();
            let building = x > w / 5 && x < w * 3 / 4 && y > h / 3;
            let window = building && (x / 40) % 3 == 1 && (y / 55) % 2 == 1;
            let base = if window {
                210.0
            } else if building {
                70.0 + 30.0 * (x as f64 / w as f64)
            } else {
                sky
            };
            let grain = (rng.next() % 21) as f64 - 10.0;
            let idx = (y0 + y) * iw + x0 + x;
            if idx < img.pixels.len() {
                img.pixels[idx] = (base + grain).clamp(0.0, 255.0) as u8;
            }
        }
    }
}

/// A page with a dark band (gray 45) carrying white 14-pt text, then black body text.
pub fn dark_band(font: &FontVec) -> LayoutPage {
    let mut c = Canvas::new(210.0, 297.0, 255);
    let mut truth = Vec::new();
    c.rect(0.0, 15.0, 210.0, 22.0, 45);
    let head = "Amtsblatt der Stadt Leipzig Ausgabe 48";
    c.text(font, 20.0, 21.0, 14.0, 255, head);
    truth.push(head);
    let mut y = 50.0;
    for p in &PROSE[3..7] {
        y = c.paragraph(font, 20.0, y, 170.0, 11.0, p) + 3.0;
        truth.push(p);
    }
    LayoutPage {
        name: "dark_band",
        image: c.image,
        truth: truth_of(&truth),
    }
}

/// Character error rate in percent of `got` against `truth`: Levenshtein distance over
/// characters after collapsing every run of whitespace to one space (line breaks and
/// indentation are layout, not content), divided by the truth's length.
pub fn cer_percent(truth: &str, got: &str) -> f64 {
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let (t, g): (Vec<char>, Vec<char>) =
        (norm(truth).chars().collect(), norm(got).chars().collect());
    let mut prev: Vec<usize> = (0..=g.len()).collect();
    let mut cur = vec![0; g.len() + 1];
    for i in 1..=t.len() {
        cur[0] = i;
        for j in 1..=g.len() {
            let sub = prev[j - 1] + usize::from(t[i - 1] != g[j - 1]);
            cur[j] = sub.min(prev[j] + 1).min(cur[j - 1] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    100.0 * prev[g.len()] as f64 / t.len().max(1) as f64
}
