//! The invisible OCR text layer of one page (content-stream operators).
//!
//! Placement follows the idea of Tesseract's PDF renderer and OCRmyPDF's hOCR transform (read,
//! not copied): text render mode 3 (neither fill nor stroke, ISO 32000-1 9.3.6), one text line
//! per OCR line, every word positioned at its box's bottom-left and stretched with `Tz` to
//! reach the next word's start, so that the word plus one real space character cover the word
//! and the gap after it. A search highlight covers the printed word.
//!
//! The text size is where the layer speaks to extractors. pdftotext (poppler) does not read
//! the content stream in order: it rebuilds blocks from geometry and orders the blocks itself.
//! Tesseract's blocks on a multi-column page are paragraphs, and paragraphs of neighbouring
//! columns that line up look to poppler like the cells of a table, read row by row across the
//! columns (issue #13: 28 % CER on three columns, 50 % on four; Tesseract's own PDF renderer
//! fares no better). So the sizes are chosen from the engine's reading order:
//! - consecutive engine blocks stacked in one column form a *run*; a run is cut where a gap is
//!   far wider than its usual line pitch (a headline above the columns);
//! - every line of a run gets one size, large enough that poppler's line-to-line step (1.5
//!   sizes) spans the run's widest paragraph gap, and small enough that two lines never fall
//!   within half a size of each other: the run becomes one poppler block, read top to bottom;
//! - runs side by side alternate between two sizes more than 20 % apart, so that poppler never
//!   pulls a neighbouring column's words into a block across a narrow gutter.
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
    let sizes = line_sizes(words);
    for (line, size_px) in lines(words).zip(sizes) {
        let bottom = line.iter().map(|w| w.top + w.height).max().unwrap_or(0);
        let size = (size_px * sy).max(1.0);
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

/// poppler adds the next line to a block while its baseline is at most this many text sizes
/// below the block's last one; the sizes aim a little under it.
const LINE_STEP: f64 = 1.45;
/// A run is cut where a baseline gap exceeds this many of its median gaps: a headline or a
/// table far above the text, not a paragraph break.
const CUT_GAP: f64 = 2.7;
/// Lines must stay more than half a size apart to stay separate lines: size < 2 pitches.
const MAX_SIZE_PER_PITCH: f64 = 1.9;
/// Neighbouring runs differ in size by this factor; poppler pulls outlying words into a block
/// only within 20 % of its size.
const NEIGHBOUR_STEP: f64 = 1.25;

/// One line's box in the upright frame, in pixels.
#[derive(Clone, Copy)]
struct LineBox {
    block: u32,
    left: u32,
    top: u32,
    right: u32,
    bottom: u32,
}

/// A run of lines that gets one size, with its box and the sizes it allows.
struct Group {
    lines: std::ops::Range<usize>,
    left: u32,
    top: u32,
    right: u32,
    bottom: u32,
    /// The smallest size that holds the group together as one block.
    need: f64,
    /// The largest size that keeps its lines apart.
    limit: f64,
    /// The median line height: the floor for any size.
    line_height: f64,
    /// 0 or 1: side-by-side groups take turns (see [`NEIGHBOUR_STEP`]).
    class: u8,
}

/// The text size in pixels for every line of `words`, in the order of [`lines`] (see the
/// module documentation for why).
fn line_sizes(words: &[Word]) -> Vec<f64> {
    let boxes: Vec<LineBox> = lines(words)
        .map(|line| LineBox {
            block: line[0].block,
            left: line.iter().map(|w| w.left).min().unwrap_or(0),
            top: line.iter().map(|w| w.top).min().unwrap_or(0),
            right: line.iter().map(|w| w.left + w.width).max().unwrap_or(0),
            bottom: line.iter().map(|w| w.top + w.height).max().unwrap_or(0),
        })
        .collect();
    let mut groups: Vec<Group> = runs(&boxes)
        .into_iter()
        .flat_map(|run| cut_run(&boxes, run))
        .map(|range| group(&boxes, range))
        .collect();
    colour_neighbours(&mut groups);
    let mut sizes = vec![0.0; boxes.len()];
    for g in &groups {
        let wanted = g.need * if g.class == 1 { NEIGHBOUR_STEP } else { 1.0 };
        let size = wanted.min(g.limit).max(g.line_height).max(1.0);
        for s in &mut sizes[g.lines.clone()] {
            *s = size;
        }
    }
    sizes
}

/// Consecutive engine blocks that stack in one column (each below the last, overlapping it
/// by more than half the narrower width), as ranges of line indices.
fn runs(boxes: &[LineBox]) -> Vec<std::ops::Range<usize>> {
    let mut runs: Vec<(std::ops::Range<usize>, LineBox)> = Vec::new();
    let mut i = 0;
    while i < boxes.len() {
        let mut j = i + 1;
        while j < boxes.len() && boxes[j].block == boxes[i].block {
            j += 1;
        }
        let b = union(&boxes[i..j]);
        match runs.last_mut() {
            Some((range, r)) if stacks_below(r, &b) => {
                range.end = j;
                *r = union(&[*r, b]);
            }
            _ => runs.push((i..j, b)),
        }
        i = j;
    }
    runs.into_iter().map(|(range, _)| range).collect()
}

fn union(boxes: &[LineBox]) -> LineBox {
    LineBox {
        block: boxes[0].block,
        left: boxes.iter().map(|b| b.left).min().unwrap_or(0),
        top: boxes.iter().map(|b| b.top).min().unwrap_or(0),
        right: boxes.iter().map(|b| b.right).max().unwrap_or(0),
        bottom: boxes.iter().map(|b| b.bottom).max().unwrap_or(0),
    }
}

/// `b` starts below `run` (a few pixels of overlap allowed) and shares most of its width.
fn stacks_below(run: &LineBox, b: &LineBox) -> bool {
    let overlap = i64::from(run.right.min(b.right)) - i64::from(run.left.max(b.left));
    let narrower = (run.right - run.left).min(b.right - b.left);
    b.top + 5 >= run.bottom && overlap > 0 && overlap as f64 > 0.5 * f64::from(narrower)
}

/// Cuts a run where a baseline does not step down, or steps down far more than usual.
fn cut_run(boxes: &[LineBox], run: std::ops::Range<usize>) -> Vec<std::ops::Range<usize>> {
    let gaps: Vec<i64> = boxes[run.clone()]
        .windows(2)
        .map(|w| i64::from(w[1].bottom) - i64::from(w[0].bottom))
        .collect();
    let mut positive: Vec<i64> = gaps.iter().copied().filter(|g| *g > 0).collect();
    positive.sort_unstable();
    let median = positive.get(positive.len() / 2).copied().unwrap_or(0);
    let mut out = Vec::new();
    let mut start = run.start;
    for (k, gap) in gaps.iter().enumerate() {
        if *gap <= 0 || (median > 0 && *gap as f64 > CUT_GAP * median as f64) {
            let cut = run.start + k + 1;
            out.push(start..cut);
            start = cut;
        }
    }
    out.push(start..run.end);
    out
}

fn group(boxes: &[LineBox], lines: std::ops::Range<usize>) -> Group {
    let members = &boxes[lines.clone()];
    let mut heights: Vec<u32> = members.iter().map(|b| b.bottom - b.top).collect();
    heights.sort_unstable();
    let line_height = f64::from(heights[heights.len() / 2]);
    let gaps: Vec<f64> = members
        .windows(2)
        .map(|w| (f64::from(w[1].bottom) - f64::from(w[0].bottom)).max(1.0))
        .collect();
    let widest = gaps.iter().copied().fold(0.0, f64::max);
    let need = line_height.max(widest / LINE_STEP);
    let limit = gaps
        .iter()
        .copied()
        .reduce(f64::min)
        .map_or(2.0 * need, |pitch| MAX_SIZE_PER_PITCH * pitch);
    let b = union(members);
    Group {
        lines,
        left: b.left,
        top: b.top,
        right: b.right,
        bottom: b.bottom,
        need,
        limit,
        line_height,
        class: 0,
    }
}

/// Gives each group the other class than its nearest neighbour to the left (overlapping it
/// vertically), going from left to right.
fn colour_neighbours(groups: &mut [Group]) {
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by_key(|&i| groups[i].left);
    for &i in &order {
        let g = &groups[i];
        let left = order
            .iter()
            .copied()
            .filter(|&j| {
                let o = &groups[j];
                j != i && o.right <= g.left && o.top < g.bottom && o.bottom > g.top
            })
            .max_by_key(|&j| groups[j].right);
        if let Some(j) = left {
            groups[i].class = 1 - groups[j].class;
        }
    }
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
            word("Leipzig", 300, 360, 350, 2),
        ];
        let mut g = GlyphMap::default();
        let s = String::from_utf8(text_layer(&words, &frame(0), "/F0", &mut g).unwrap()).unwrap();
        // Lines 60 px apart, 50 px high: size = 50 px = 12 pt (60 / 1.45 is less), baseline =
        // 842 - 350*0.24 = 758.
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
        assert!(s.contains("743.6 Tm"), "{s}");
        assert!(s.starts_with("q 1 0 0 1 0 0 cm\nBT\n3 Tr\n"));
        assert!(s.ends_with("ET\nQ\n"));
        // .notdef + G r ü ß e space a u s L i p z g.
        assert_eq!(g.glyph_count(), 15);
    }

    /// A word of `width` px at (`left`, `top`), 40 px high, in engine block `block`.
    fn at(left: u32, top: u32, block: u32, line: u32) -> Word {
        Word {
            block,
            height: 40,
            ..word("Wort", left, top, 300, line)
        }
    }

    /// A column at `left` of `paragraphs` paragraphs of three lines each (pitch 50 px, one
    /// empty line between paragraphs), one engine block per paragraph as Tesseract gives
    /// them, starting at block number `first_block`.
    fn column(left: u32, first_block: u32, paragraphs: u32) -> Vec<Word> {
        let mut out = Vec::new();
        for p in 0..paragraphs {
            for l in 0..3 {
                out.push(at(left, 400 + p * 200 + l * 50, first_block + p, l + 1));
            }
        }
        out
    }

    #[test]
    fn a_column_of_paragraphs_gets_one_size_that_bridges_them_and_neighbours_differ() {
        // Headline far above, then two columns of three paragraphs, 60 px apart.
        let mut words = vec![Word {
            height: 60,
            ..word("Amtsblatt", 100, 100, 700, 1)
        }];
        words.extend(column(100, 2, 3));
        words.extend(column(460, 5, 3));
        let sizes = line_sizes(&words);
        assert_eq!(sizes.len(), 1 + 9 + 9);
        // The headline is cut off: 300 px above the text is no paragraph break.
        assert_eq!(sizes[0], 60.0);
        let (left, right) = (&sizes[1..10], &sizes[10..]);
        assert!(left.iter().all(|s| *s == left[0]), "{sizes:?}");
        assert!(right.iter().all(|s| *s == right[0]), "{sizes:?}");
        for s in [left[0], right[0]] {
            // poppler's line step of 1.5 sizes spans the 100 px paragraph gap ...
            assert!(1.5 * s > 100.0, "{sizes:?}");
            // ... and the 50 px lines stay more than half a size apart.
            assert!(0.5 * s < 50.0, "{sizes:?}");
        }
        // Side by side, the sizes differ by more than poppler's 20 %.
        let (a, b) = (left[0].min(right[0]), left[0].max(right[0]));
        assert!(b > 1.2 * a, "{sizes:?}");
    }

    #[test]
    fn a_single_column_letter_keeps_the_line_height() {
        // Lines 50 px apart, 40 px high, no paragraph gap: nothing to bridge.
        let words: Vec<Word> = (0..5).map(|l| at(100, 400 + l * 50, 1, l + 1)).collect();
        assert!(line_sizes(&words).iter().all(|s| *s == 40.0));
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
