//! Kodak patch codes, read from the bars the way a scanner's patch reader does.
//!
//! A patch code is four parallel black bars, two wide and two narrow, separated by three
//! narrow spaces, the bars running parallel to the sheet's leading edge and at least 0.75 in
//! long. Narrow bars and spaces are 0.08 in, wide bars 0.20 in (±0.01 in each), the whole
//! code 0.80 in across.
//!
//! The six patterns, as bar edges measured from the edge nearest the leading edge of the
//! sheet, from Kodak's zone tables (zones A–G: bar 1 ends at A, bar 2 runs B–C, bar 3 D–E,
//! bar 4 F–G, in inches): "Patch Code Information for Kodak Scanners", Kodak A-61599 (Oct
//! 2006), and the "Bar pattern details" page of the Kodak i5000 Series User Manual (A-61670,
//! Aug 2014, p. 6-10):
//!
//! | patch      | A    | B    | C    | D    | E    | F    | G    | bars (W wide, N narrow) |
//! |------------|------|------|------|------|------|------|------|-------------------------|
//! | Patch 1    | 0.20 | 0.28 | 0.48 | 0.56 | 0.64 | 0.72 | 0.80 | W W N N                 |
//! | Patch 2    | 0.20 | 0.28 | 0.36 | 0.44 | 0.52 | 0.60 | 0.80 | W N N W                 |
//! | Patch 3    | 0.20 | 0.28 | 0.36 | 0.44 | 0.64 | 0.72 | 0.80 | W N W N                 |
//! | Patch 4/Tg | 0.08 | 0.16 | 0.36 | 0.44 | 0.64 | 0.72 | 0.80 | N W W N                 |
//! | Patch 6    | 0.08 | 0.16 | 0.24 | 0.32 | 0.52 | 0.60 | 0.80 | N N W W                 |
//! | Patch T    | 0.08 | 0.16 | 0.36 | 0.44 | 0.52 | 0.60 | 0.80 | N W N W                 |
//!
//! Read backwards, Patch 3 is Patch T and Patch 1 is Patch 6, so the reading direction
//! matters. A scanner reads from the leading edge; in an image the leading edge may be any
//! of the four sides (the stack was fed turned, or the scanner rotated the image). Kodak
//! requires the patch within 3.75 in of the leading edge, so the bars are read starting from
//! the page edge nearest to them.
//!
//! Robustness: the page is binned to about 100 dpi (noise averages out, and the bars are still
//! 8 px narrow), every 0.04 in a scan line is run across the bars, runs shorter than 0.02 in
//! are merged into their neighbours (specks inside a bar, dust between bars), and widths are
//! classified with generous margins around 0.08/0.20 in. A skew of ±2° changes a bar's width
//! across a scan line by 0.06 %, and moves its position slowly from line to line, which the
//! grouping follows. A code counts when the same pattern is seen along at least 0.70 in of
//! bar length (0.75 in less the binning and skew margin); shorter, it is reported as an
//! unrecognised patch (a torn sheet) so that the caller can flag the page.

use crate::image::GrayImage;

/// A Kodak patch code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PatchCode {
    Patch1,
    Patch2,
    Patch3,
    Patch4,
    Patch6,
    PatchT,
}

impl PatchCode {
    /// The bars read from the leading edge, `true` for wide.
    pub const fn bars(self) -> [bool; 4] {
        match self {
            PatchCode::Patch1 => [true, true, false, false],
            PatchCode::Patch2 => [true, false, false, true],
            PatchCode::Patch3 => [true, false, true, false],
            PatchCode::Patch4 => [false, true, true, false],
            PatchCode::Patch6 => [false, false, true, true],
            PatchCode::PatchT => [false, true, false, true],
        }
    }

    fn of(bars: [bool; 4]) -> Option<Self> {
        [
            PatchCode::Patch1,
            PatchCode::Patch2,
            PatchCode::Patch3,
            PatchCode::Patch4,
            PatchCode::Patch6,
            PatchCode::PatchT,
        ]
        .into_iter()
        .find(|c| c.bars() == bars)
    }

    /// The profile's and the note's name: `patch_1` … `patch_t`.
    pub fn name(self) -> &'static str {
        match self {
            PatchCode::Patch1 => "patch_1",
            PatchCode::Patch2 => "patch_2",
            PatchCode::Patch3 => "patch_3",
            PatchCode::Patch4 => "patch_4",
            PatchCode::Patch6 => "patch_6",
            PatchCode::PatchT => "patch_t",
        }
    }
}

/// What the patch reader saw on a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchRead {
    /// No patch-like bars.
    None,
    /// A patch code, bars long enough, pattern clean.
    Code(PatchCode),
    /// Bars at the patch geometry, but too short or broken to be sure (a torn or badly printed
    /// sheet): the page stays a page and is flagged.
    Unrecognised(String),
}

/// Narrow bar or space, in inches (nominal 0.08).
const NARROW: (f32, f32) = (0.045, 0.135);
/// Wide bar (nominal 0.20).
const WIDE: (f32, f32) = (0.145, 0.27);
/// The whole code (nominal 0.80).
const TOTAL: (f32, f32) = (0.68, 0.92);
/// Paper before and after the code.
const QUIET: f32 = 0.05;
/// Bar length that counts as a code (spec: at least 0.75 in).
const MIN_LENGTH: f32 = 0.70;
/// Shorter than this, a few matching lines are taken for chance, not for a torn sheet.
const MIN_SUSPECT: f32 = 0.25;
/// Distance between scan lines.
const LINE_STEP: f32 = 0.04;
const WORK_DPI: u32 = 100;

/// Reads a patch code from the page, in any of the four rotations. `dpi` is the page's
/// resolution (200–600 dpi is what scanners deliver; below 200 the bars are too few pixels
/// and nothing is read).
pub fn patch_code(page: &GrayImage, dpi: u32) -> PatchRead {
    if dpi < 150 || page.width == 0 || page.height == 0 {
        return PatchRead::None;
    }
    let factor = (dpi / WORK_DPI).max(1);
    let small = super::binned(page, factor);
    let px_per_in = dpi as f32 / factor as f32;
    let mut best: Option<Group> = None;
    for axis in [Axis::Columns, Axis::Rows] {
        for g in groups(&small, axis, px_per_in) {
            if best.as_ref().is_none_or(|b| g.length_in > b.length_in) {
                best = Some(g);
            }
        }
    }
    match best {
        Some(g) if g.length_in >= MIN_LENGTH => match PatchCode::of(g.bars) {
            Some(code) => PatchRead::Code(code),
            None => PatchRead::None,
        },
        Some(g) if g.length_in >= MIN_SUSPECT => PatchRead::Unrecognised(format!(
            "patch-code bars only {:.2} in long (at least 0.75 in needed): torn or badly printed separator sheet?",
            g.length_in
        )),
        _ => PatchRead::None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Axis {
    /// Scan lines run down the columns: bars lie parallel to the top and bottom edges.
    Columns,
    /// Scan lines run along the rows: bars lie parallel to the left and right edges.
    Rows,
}

/// One code's bars seen on a stretch of neighbouring scan lines.
#[derive(Debug, Clone)]
struct Group {
    /// Bars in reading order from the nearer page edge.
    bars: [bool; 4],
    length_in: f32,
}

/// A pattern seen on one scan line: where it starts and ends along the line, and its bars in
/// line order.
#[derive(Debug, Clone, Copy)]
struct Hit {
    line: usize,
    start: usize,
    end: usize,
    bars: [bool; 4],
}

fn groups(page: &GrayImage, axis: Axis, px_per_in: f32) -> Vec<Group> {
    let (w, h) = (page.width as usize, page.height as usize);
    let (lines, len) = match axis {
        Axis::Columns => (w, h),
        Axis::Rows => (h, w),
    };
    let step = ((LINE_STEP * px_per_in).round() as usize).max(1);
    let mut line_buf = vec![0u8; len];
    let mut hits: Vec<Hit> = Vec::new();
    for (n, i) in (0..lines).step_by(step).enumerate() {
        match axis {
            Axis::Columns => {
                for (y, p) in line_buf.iter_mut().enumerate() {
                    *p = page.pixels[y * w + i];
                }
            }
            Axis::Rows => line_buf.copy_from_slice(&page.pixels[i * w..(i + 1) * w]),
        }
        for (start, end, bars) in line_patterns(&line_buf, px_per_in) {
            hits.push(Hit {
                line: n,
                start,
                end,
                bars,
            });
        }
    }
    // Chain hits on neighbouring lines (one missing line allowed: a speck, a fold) whose
    // pattern and position agree.
    let tolerance = (0.06 * px_per_in) as usize;
    let mut chains: Vec<Vec<Hit>> = Vec::new();
    for hit in hits {
        let open = chains.iter_mut().find(|c| {
            let last = c.last().expect("chains are never empty");
            last.bars == hit.bars
                && hit.line > last.line
                && hit.line - last.line <= 2
                && last.start.abs_diff(hit.start) <= tolerance
        });
        match open {
            Some(chain) => chain.push(hit),
            None => chains.push(vec![hit]),
        }
    }
    chains
        .into_iter()
        .map(|c| {
            let first = c.first().expect("non-empty");
            let last = c.last().expect("non-empty");
            let length_in = ((last.line - first.line + 1) * step) as f32 / px_per_in;
            let mid = c.iter().map(|h| (h.start + h.end) / 2).sum::<usize>() / c.len();
            // Read from the nearer edge: the leading edge (see the module comment).
            let mut bars = first.bars;
            if mid > len / 2 {
                bars.reverse();
            }
            Group { bars, length_in }
        })
        .collect()
}

/// Every place on one scan line where four bars at the patch geometry stand, as (start, end,
/// bars in line order).
fn line_patterns(line: &[u8], px_per_in: f32) -> Vec<(usize, usize, [bool; 4])> {
    let runs = cleaned_runs(line, (0.02 * px_per_in).round() as usize);
    let inches = |r: &Run| r.len as f32 / px_per_in;
    let within = |v: f32, (lo, hi): (f32, f32)| v >= lo && v <= hi;
    let mut out = Vec::new();
    // Runs alternate colours; a code is light(quiet) D L D L D L D light(quiet).
    for i in 1..runs.len().saturating_sub(7) {
        let window = &runs[i..i + 7];
        if !window[0].dark {
            continue;
        }
        let before = &runs[i - 1];
        let after = &runs[i + 7];
        if inches(before) < QUIET || inches(after) < QUIET {
            continue;
        }
        let mut bars = [false; 4];
        let mut ok = true;
        for (k, r) in window.iter().enumerate() {
            let v = inches(r);
            if k % 2 == 1 {
                ok &= within(v, NARROW);
            } else if within(v, WIDE) {
                bars[k / 2] = true;
            } else {
                ok &= within(v, NARROW);
            }
        }
        let total: f32 = window.iter().map(inches).sum();
        if ok && within(total, TOTAL) && bars.iter().filter(|&&b| b).count() == 2 {
            let start = window[0].start;
            let end = window[6].start + window[6].len;
            out.push((start, end, bars));
        }
    }
    out
}

#[derive(Debug, Clone, Copy)]
struct Run {
    dark: bool,
    start: usize,
    len: usize,
}

/// The line thresholded at mid-gray and cut into runs, runs shorter than `min` merged into
/// their neighbours (so a speck inside a bar does not split it).
fn cleaned_runs(line: &[u8], min: usize) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for (i, &p) in line.iter().enumerate() {
        let dark = p < 128;
        match runs.last_mut() {
            Some(r) if r.dark == dark => r.len += 1,
            _ => runs.push(Run {
                dark,
                start: i,
                len: 1,
            }),
        }
    }
    let mut merged: Vec<Run> = Vec::with_capacity(runs.len());
    for r in runs {
        match merged.last_mut() {
            // A short run flips to its left neighbour's colour...
            Some(prev) if r.len < min => prev.len += r.len,
            // ...and a run of the same colour as the last one joins it.
            Some(prev) if prev.dark == r.dark => prev.len += r.len,
            _ => merged.push(r),
        }
    }
    merged
}

#[cfg(test)]
pub(crate) mod testutil {
    use super::*;

    /// Draws `code` as a Kodak patch: bars `length_in` long, parallel to the top edge, the
    /// first bar `top_in` below it, starting `left_in` from the left.
    pub fn draw_patch(
        page: &mut GrayImage,
        dpi: u32,
        code: PatchCode,
        top_in: f32,
        left_in: f32,
        length_in: f32,
    ) {
        let px = |v: f32| (v * dpi as f32).round() as u32;
        let mut y = top_in;
        for (k, wide) in code.bars().into_iter().enumerate() {
            let t = if wide { 0.20 } else { 0.08 };
            for yy in px(y)..px(y + t) {
                for xx in px(left_in)..px(left_in + length_in) {
                    if xx < page.width && yy < page.height {
                        page.pixels[(yy * page.width + xx) as usize] = 0;
                    }
                }
            }
            y += t;
            if k < 3 {
                y += 0.08;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{noise, page, skewed};
    use super::testutil::draw_patch;
    use super::*;

    const CODES: [PatchCode; 6] = [
        PatchCode::Patch1,
        PatchCode::Patch2,
        PatchCode::Patch3,
        PatchCode::Patch4,
        PatchCode::Patch6,
        PatchCode::PatchT,
    ];

    fn sheet(code: PatchCode, dpi: u32) -> GrayImage {
        let mut p = page(8.5, 11.0, dpi);
        draw_patch(&mut p, dpi, code, 1.0, 1.0, 6.5);
        p
    }

    #[test]
    fn the_zone_tables_hold_two_wide_and_two_narrow_bars_each_pattern_distinct() {
        for c in CODES {
            assert_eq!(c.bars().iter().filter(|&&w| w).count(), 2, "{c:?}");
            assert_eq!(PatchCode::of(c.bars()), Some(c));
        }
    }

    #[test]
    fn every_code_reads_at_200_300_400_600_dpi() {
        for dpi in [200, 300, 400, 600] {
            for c in CODES {
                assert_eq!(
                    patch_code(&sheet(c, dpi), dpi),
                    PatchRead::Code(c),
                    "{dpi} dpi"
                );
            }
        }
    }

    #[test]
    fn every_rotation_reads_from_the_leading_edge() {
        // Patch 3 and Patch T are each other backwards: a wrong reading direction would show.
        for c in [PatchCode::Patch3, PatchCode::PatchT, PatchCode::Patch1] {
            let p = sheet(c, 300);
            for turn in [90u16, 180, 270] {
                let turned = crate::ocr::rotated_clockwise(&p, turn);
                assert_eq!(patch_code(&turned, 300), PatchRead::Code(c), "{c:?} {turn}");
            }
        }
    }

    #[test]
    fn skewed_and_noisy_sheets_read() {
        for (dpi, angle) in [(200, 2.0f32), (300, -2.0), (300, 1.3), (400, -1.0)] {
            for c in [PatchCode::PatchT, PatchCode::Patch2, PatchCode::Patch3] {
                let mut p = skewed(&sheet(c, dpi), angle);
                noise(&mut p, 20, u64::from(dpi) + angle.to_bits() as u64);
                assert_eq!(
                    patch_code(&p, dpi),
                    PatchRead::Code(c),
                    "{c:?} at {dpi} dpi, {angle}°"
                );
            }
        }
    }

    #[test]
    fn short_bars_are_flagged_not_read() {
        // Bars 0.5 in long: a torn sheet, or not a patch sheet at all. Not a code; flagged.
        let mut p = page(8.5, 11.0, 300);
        draw_patch(&mut p, 300, PatchCode::PatchT, 1.0, 1.0, 0.5);
        assert!(matches!(patch_code(&p, 300), PatchRead::Unrecognised(_)));
        // A full sheet torn across the bars: the top bars gone.
        let mut p = sheet(PatchCode::PatchT, 300);
        for px in &mut p.pixels[..390 * 2550] {
            *px = 255;
        }
        assert_eq!(patch_code(&p, 300), PatchRead::None);
    }

    #[test]
    fn bars_at_the_wrong_widths_are_not_a_patch() {
        // Four bars of 0.14 in: between narrow and wide; a scaled-down copy of a patch sheet.
        let mut p = page(8.5, 11.0, 300);
        for k in 0..4 {
            let y0 = 300 + k * 66;
            for y in y0..y0 + 42 {
                for x in 300..2000 {
                    p.pixels[(y * p.width + x) as usize] = 0;
                }
            }
        }
        assert_eq!(patch_code(&p, 300), PatchRead::None);
    }

    #[test]
    fn a_letter_and_a_table_with_rules_are_not_patch_sheets() {
        let dpi = 300;
        let mut p = page(8.27, 11.69, dpi);
        // Text: rows of glyph-like blocks 0.10 in high, 0.06 in wide, 0.03 in apart, lines
        // 0.17 in apart (12 pt type), with a bold 0.2 in headline on top.
        let fill = |p: &mut GrayImage, x0: u32, y0: u32, w: u32, h: u32| {
            for y in y0..y0 + h {
                for x in x0..x0 + w {
                    p.pixels[(y * p.width + x) as usize] = 0;
                }
            }
        };
        for x in (300..2200).step_by(80) {
            fill(&mut p, x, 300, 60, 60);
        }
        for line in 0..30 {
            let y = 500 + line * 51;
            for x in (300..2200).step_by(27) {
                fill(&mut p, x, y, 18, 30);
            }
        }
        assert_eq!(patch_code(&p, dpi), PatchRead::None, "letter");
        // A table: 1.5 pt rules every 0.08 in and every 0.3 in, a 0.2 in dark header band.
        let mut t = page(8.27, 11.69, dpi);
        fill(&mut t, 300, 300, 1900, 60);
        for r in 0..40 {
            let y = 360 + r * 24 + if r % 4 == 0 { 66 } else { 0 };
            fill(&mut t, 300, y, 1900, 6);
        }
        for c in 0..8 {
            fill(&mut t, 300 + c * 270, 300, 6, 1400);
        }
        assert_eq!(patch_code(&t, dpi), PatchRead::None, "table");
    }
}
