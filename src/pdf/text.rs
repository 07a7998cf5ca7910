//! The invisible OCR text layer of one page (content-stream operators).
//!
//! Placement follows the idea of Tesseract's PDF renderer and OCRmyPDF's hOCR transform (read,
//! not copied): text render mode 3 (neither fill nor stroke, ISO 32000-1 9.3.6), one text line
//! per OCR line, every word positioned at its box's bottom-left with the line's height as font
//! size and stretched with `Tz` to reach the next word's start, so that the word plus one real
//! space character cover the word and the gap after it. Extraction then yields the words in
//! the engine's order with single spaces and line breaks, and a search highlight covers the
//! printed word.
//!
//! Word boxes are in the upright frame (after `rotation`); the layer is wrapped in a `cm` that
//! maps that frame onto the unrotated page, whose `/Rotate` turns it upright for display.

use super::font::{GLYPH_WIDTH, GlyphMap, TooManyGlyphs};
use super::syntax::num;
use crate::ocr::Word;

/// Geometry of the page the words sit on.
pub(crate) struct PageFrame {
    /// Unrotated page size in points (the MediaBox).
    pub(crate) width_pt: f64,
    pub(crate) height_pt: f64,
    /// Resolution of the unrotated raster, (x, y) dpi.
    pub(crate) dpi: (f64, f64),
    /// Clockwise degrees that make the page upright: 0, 90, 180 or 270.
    pub(crate) rotation: u16,
}

impl PageFrame {
    /// The `cm` operands taking upright-frame points to unrotated page space. With `/Rotate r`
    /// a viewer turns the page r degrees clockwise; these are the inverse mappings.
    fn upright_to_page(&self) -> [f64; 6] {
        let (w, h) = (self.width_pt, self.height_pt);
        match self.rotation {
            90 => [0.0, 1.0, -1.0, 0.0, w, 0.0],
            180 => [-1.0, 0.0, 0.0, -1.0, w, h],
            270 => [0.0, -1.0, 1.0, 0.0, 0.0, h],
            _ => [1.0, 0.0, 0.0, 1.0, 0.0, 0.0],
        }
    }

    /// (points per pixel horizontally, vertically, upright height in points) in the upright
    /// frame; a quarter turn swaps the axes.
    fn upright_scale(&self) -> (f64, f64, f64) {
        let (sx, sy) = (72.0 / self.dpi.0, 72.0 / self.dpi.1);
        if self.rotation == 90 || self.rotation == 270 {
            (sy, sx, self.width_pt)
        } else {
            (sx, sy, self.height_pt)
        }
    }
}

/// The text layer's content-stream bytes for `words` (empty when there are none), registering
/// every character in `glyphs`. `font` is the resource name of the glyphless font.
pub(crate) fn text_layer(
    words: &[Word],
    frame: &PageFrame,
    font: &str,
    glyphs: &mut GlyphMap,
) -> Result<Vec<u8>, TooManyGlyphs> {
    let mut out = String::new();
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let (sx, sy, upright_h) = frame.upright_scale();
    let m = frame.upright_to_page();
    out.push_str(&format!(
        "q {} {} {} {} {} {} cm\nBT\n3 Tr\n",
        num(m[0]),
        num(m[1]),
        num(m[2]),
        num(m[3]),
        num(m[4]),
        num(m[5])
    ));
    let block_sizes = block_line_heights(words);
    for line in lines(words) {
        // One size and one baseline per line keeps extraction from splitting the line; one
        // size per layout block keeps the block's lines together: pdftotext starts a new
        // block where the font size jumps, and blocks of one or two lines from neighbouring
        // columns then get read across the columns (issue #13).
        let bottom = line.iter().map(|w| w.top + w.height).max().unwrap_or(0);
        let size_px = block_sizes
            .iter()
            .find(|b| b.0 == line[0].block)
            .map_or(0, |b| b.1);
        let size = (f64::from(size_px) * sy).max(1.0);
        let baseline = upright_h - f64::from(bottom) * sy;
        out.push_str(&format!("{font} {} Tf\n", num(size)));
        for (i, word) in line.iter().enumerate() {
            let next = line.get(i + 1);
            let mut codes = String::new();
            let mut n = 0usize;
            for c in word.text.chars().filter(|c| !c.is_control()) {
                codes.push_str(&format!("{:04X}", glyphs.cid(c)?));
                n += 1;
            }
            if n == 0 {
                continue;
            }
            // Stretch word + space up to where the next word starts, so the space lands in
            // the gap; the last word of a line has no trailing space and fills its own box.
            let target_px = match next {
                Some(nw) if nw.left > word.left + word.width / 2 => {
                    codes.push_str(&format!("{:04X}", glyphs.cid(' ')?));
                    n += 1;
                    nw.left - word.left
                }
                Some(_) => {
                    codes.push_str(&format!("{:04X}", glyphs.cid(' ')?));
                    n += 1;
                    word.width
                }
                None => word.width,
            };
            let natural = n as f64 * f64::from(GLYPH_WIDTH) / 1000.0 * size;
            let scale = 100.0 * (f64::from(target_px.max(1)) * sx) / natural;
            out.push_str(&format!(
                "{} Tz 1 0 0 1 {} {} Tm <{codes}> Tj\n",
                num(scale),
                num(f64::from(word.left) * sx),
                num(baseline)
            ));
        }
    }
    out.push_str("ET\nQ\n");
    Ok(out.into_bytes())
}

/// (block, text size in pixels) for every layout block: the median height of its lines,
/// where a line runs from its highest top to its lowest bottom. pdftotext starts a new
/// block where the font size changes from one line to the next; with one size per line, a
/// column fell apart into blocks of one or two lines that it then read across the columns
/// (issue #13). One size per block keeps Tesseract's blocks together.
fn block_line_heights(words: &[Word]) -> Vec<(u32, u32)> {
    let mut per_line: Vec<(u32, u32)> = lines(words)
        .map(|line| {
            let bottom = line.iter().map(|w| w.top + w.height).max().unwrap_or(0);
            let top = line.iter().map(|w| w.top).min().unwrap_or(0);
            (line[0].block, bottom.saturating_sub(top))
        })
        .collect();
    per_line.sort_unstable();
    per_line
        .chunk_by(|a, b| a.0 == b.0)
        .map(|group| (group[0].0, group[group.len() / 2].1))
        .collect()
}

/// Consecutive words sharing block, paragraph and line number.
fn lines(words: &[Word]) -> impl Iterator<Item = &[Word]> {
    words.chunk_by(|a, b| (a.block, a.paragraph, a.line) == (b.block, b.paragraph, b.line))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str, left: u32, top: u32, width: u32, line: u32) -> Word {
        Word {
            text: text.into(),
            left,
            top,
            width,
            height: 50,
            confidence: 90.0,
            block: 1,
            paragraph: 1,
            line,
        }
    }

    fn frame(rotation: u16) -> PageFrame {
        PageFrame {
            width_pt: 595.0,
            height_pt: 842.0,
            dpi: (300.0, 300.0),
            rotation,
        }
    }

    #[test]
    fn words_are_placed_stretched_and_spaced() {
        let words = [
            word("Grüße", 300, 300, 250, 1),
            word("aus", 600, 300, 150, 1),
            word("Leipzig", 300, 400, 350, 2),
        ];
        let mut g = GlyphMap::default();
        let s = String::from_utf8(text_layer(&words, &frame(0), "/F0", &mut g).unwrap()).unwrap();
        // Line 1: size = 50 px = 12 pt, baseline = 842 - 350*0.24 = 758.
        assert!(s.contains("/F0 12 Tf"), "{s}");
        // "Grüße " = 6 glyphs * 0.5 * 12 = 36 pt natural; target 300 px = 72 pt -> 200 %.
        assert!(
            s.contains("200 Tz 1 0 0 1 72 758 Tm <000100020003000400050006> Tj"),
            "{s}"
        );
        // Last word on the line: no space, fills its 150 px = 36 pt: 3*6 = 18 pt -> 200 %.
        assert!(
            s.contains("200 Tz 1 0 0 1 144 758 Tm <000700080009> Tj"),
            "{s}"
        );
        assert!(s.contains("734 Tm"), "{s}");
        assert!(s.starts_with("q 1 0 0 1 0 0 cm\nBT\n3 Tr\n"));
        assert!(s.ends_with("ET\nQ\n"));
        // .notdef + G r ü ß e space a u s L i p z g.
        assert_eq!(g.glyph_count(), 15);
    }

    #[test]
    fn rotation_maps_upright_frame_back_onto_page() {
        let mut g = GlyphMap::default();
        let w = [word("x", 0, 0, 10, 1)];
        let s180 = String::from_utf8(text_layer(&w, &frame(180), "/F0", &mut g).unwrap()).unwrap();
        assert!(s180.starts_with("q -1 0 0 -1 595 842 cm"));
        let s90 = String::from_utf8(text_layer(&w, &frame(90), "/F0", &mut g).unwrap()).unwrap();
        assert!(s90.starts_with("q 0 1 -1 0 595 0 cm"));
        // Upright height of a quarter-turned page is the page's width: baseline 595 - 12.
        assert!(s90.contains(" 583 Tm"), "{s90}");
        let s270 = String::from_utf8(text_layer(&w, &frame(270), "/F0", &mut g).unwrap()).unwrap();
        assert!(s270.starts_with("q 0 -1 1 0 0 842 cm"));
        // Check the 90 mapping on a point: upright top-left (0, 842-ish) must land on the
        // page's right... apply [0 1 -1 0 W 0]: (x', y') -> (W - y', x').
        let m = frame(90).upright_to_page();
        let (x, y) = (
            m[0] * 10.0 + m[2] * 20.0 + m[4],
            m[1] * 10.0 + m[3] * 20.0 + m[5],
        );
        assert_eq!((x, y), (575.0, 10.0));
    }

    #[test]
    fn no_words_no_content() {
        let mut g = GlyphMap::default();
        assert!(
            text_layer(&[], &frame(0), "/F0", &mut g)
                .unwrap()
                .is_empty()
        );
    }
}
