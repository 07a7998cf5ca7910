//! Where on a page a barcode may be: one cheap pass over the raster, so that rxing's readers
//! (tens of milliseconds each on a whole A4 page) only run on the few regions that look like
//! a symbol.
//!
//! The page is cut into cells of 2 mm. In each cell the pass counts, on a binarised copy, the
//! ink, the ink/paper changes along the rows ("across") and down the columns ("down"), and the
//! rows and columns of the cell that hold no ink at all. Two kinds of cell are kept:
//! - **bars** (a 1D symbol): many changes in one direction and few in the other: the bars run
//!   on for millimetres, where print changes in both directions within a letter; in either
//!   axis, so every rotation is seen;
//! - **squares** (a 2D symbol): changes in both directions, a good share of ink, and hardly
//!   a row or column without ink: print has the white gaps between its lines, a QR code or
//!   DataMatrix has none wider than a few modules.
//!
//! Kept cells that touch form candidates; a candidate with a square cell or with at least
//! three bar cells, grown by a quiet-zone margin, is a region to read. Where the regions add up to much of the page
//! (a photo, a page of bold type) the whole page is read, as before the finder: it only ever
//! saves time, and a page it cannot judge costs what every page cost without it.

use crate::image::GrayImage;

/// A rectangle of the raster, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

impl Rect {
    fn area(&self) -> u64 {
        u64::from(self.w) * u64::from(self.h)
    }

    fn overlaps(&self, o: &Rect) -> bool {
        self.x < o.x + o.w && o.x < self.x + self.w && self.y < o.y + o.h && o.y < self.y + self.h
    }

    fn union(&self, o: &Rect) -> Rect {
        let (x, y) = (self.x.min(o.x), self.y.min(o.y));
        Rect {
            x,
            y,
            w: (self.x + self.w).max(o.x + o.w) - x,
            h: (self.y + self.h).max(o.y + o.h) - y,
        }
    }

    /// The pixels of `page` inside this rectangle.
    pub fn crop(&self, page: &GrayImage) -> GrayImage {
        let mut pixels = Vec::with_capacity(self.area() as usize);
        for y in self.y..self.y + self.h {
            let row = (y * page.width + self.x) as usize;
            pixels.extend_from_slice(&page.pixels[row..row + self.w as usize]);
        }
        GrayImage {
            width: self.w,
            height: self.h,
            pixels,
        }
    }
}

/// A region to read, and which readers: the 1D ones where bars were seen, the 2D ones where
/// squares were.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub rect: Rect,
    pub bars: bool,
    pub squares: bool,
}

/// What the finder tells the readers to look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Look {
    /// No contrast, or nothing shaped like a symbol: there is nothing to read.
    Nothing,
    /// Only these regions (they may overlap: a symbol in two is read twice, found once).
    Regions(Vec<Region>),
    /// The whole page: the candidates cover too much of it to be worth cutting out.
    WholePage,
}

/// Side of a cell, in millimetres.
const CELL_MM: f32 = 2.0;
/// The changes per millimetre of a cell's row (or column) that count as "many": from `busy`
/// to `busiest`.
#[derive(Debug, Clone, Copy)]
struct Scale {
    busy: f32,
    busiest: f32,
}

/// 2 mm cells: a Code 128 with 0.9 mm modules still has 0.6 changes a millimetre; print has
/// 2–3 within a line.
const FINE: Scale = Scale {
    busy: 0.5,
    busiest: f32::INFINITY,
};
/// Cells of 3 × 3 fine ones (6 mm), for modules of 0.6 mm and more (a separator sheet's
/// 1 mm DataMatrix leaves many fine cells inside one module): fewer changes, and not more
/// than such modules make (finer symbols are the fine cells' job; print is busier).
const COARSE_FACTOR: usize = 3;
const COARSE: Scale = Scale {
    busy: 0.2,
    busiest: 1.6,
};
/// Bars: the busy direction has at least this many times the changes of the other (print
/// measures 1–2.5, bars tens).
const BARS_DOMINANCE: f32 = 3.0;
/// Share of ink in a symbol's cell: bars and spaces, dark and light modules, about half each.
const MIN_INK: f32 = 0.2;
const MAX_INK: f32 = 0.85;
/// A square cell has at most this share of rows (and of columns) without ink.
const MAX_WHITE_LINES: f32 = 0.3;
/// Bar-like cells a candidate without square cells needs.
const MIN_BARS: usize = 3;
/// Square cells a candidate without a solid one needs, and it must be at least two cells
/// high and wide (a QR code has at least 21 × 21 modules: 6 mm at 0.3 mm, three cells
/// across; a line of print makes chains one cell high).
const MIN_SQUARES: usize = 3;
/// A chain of square cells one cell high needs this much ink on average (print measures
/// about 0.3, a DataMatrix half).
const DARK_CHAIN_INK: f32 = 0.42;
/// A solid cell: at least this share of ink, at most this share of white rows and columns.
const SOLID_INK: f32 = 0.4;
const SOLID_WHITE_LINES: f32 = 0.05;
/// A square candidate's longer side is at most this many times its shorter one.
const MAX_SQUARE_ASPECT: usize = 5;
/// Share of a square candidate's bounding box its kept cells fill at least.
const MIN_SQUARE_FILL: f32 = 0.4;
/// Regions covering more than this share of the page: read the whole page.
const MAX_REGION_SHARE: f64 = 0.4;
/// Grown around a candidate: a cell (the kept cells may miss the symbol's edge), this many
/// millimetres of quiet zone, and a tenth of its size.
const MARGIN_MM: f32 = 2.0;

/// The least difference between ink and paper, in grey levels, that counts: rxing's own
/// binariser reads a block with this much (its `MIN_DYNAMIC_RANGE`), so a finder that asked
/// for more would hide faint symbols rxing reads on the whole page.
const MIN_CONTRAST: usize = 24;
/// Ink that is clearly ink: this much darker than the paper.
const CLEAR_CONTRAST: usize = 40;

/// Where `page` (at `dpi`) may hold a barcode.
pub fn look(page: &GrayImage, dpi: u32) -> Look {
    let Some(threshold) = ink_threshold(page) else {
        return Look::Nothing;
    };
    let per_mm = dpi.max(50) as f32 / 25.4;
    let size = ((CELL_MM * per_mm).round() as usize).max(6);
    let fine = measure(page, threshold, size);
    let coarse = fine[0].coarser(COARSE_FACTOR, page);
    let mut regions = Vec::new();
    for (cells, scale) in fine.iter().map(|g| (g, FINE)).chain([(&coarse, COARSE)]) {
        let kinds = cells.classify(page, per_mm, scale);
        regions.extend(cells.candidates(&kinds, page, per_mm));
    }
    let regions = joined(regions);
    if regions.is_empty() {
        return Look::Nothing;
    }
    let covered: u64 = regions.iter().map(|r| r.rect.area()).sum();
    let page_area = u64::from(page.width) * u64::from(page.height);
    if covered as f64 > MAX_REGION_SHARE * page_area as f64 {
        return Look::WholePage;
    }
    Look::Regions(regions)
}

/// Regions that overlap joined into one, until none do: a wide bar or space can leave a
/// column of cells unkept and cut a 1D symbol in two candidates, neither of which decodes;
/// a 2D symbol's finder patterns or a rectangular DataMatrix can do the same. Their margins
/// overlap.
fn joined(mut regions: Vec<Region>) -> Vec<Region> {
    loop {
        let mut joined = false;
        let mut next: Vec<Region> = Vec::with_capacity(regions.len());
        for r in regions {
            match next.iter_mut().find(|o| o.rect.overlaps(&r.rect)) {
                Some(o) => {
                    o.rect = o.rect.union(&r.rect);
                    o.bars |= r.bars;
                    o.squares |= r.squares;
                    joined = true;
                }
                None => next.push(r),
            }
        }
        regions = next;
        if !joined {
            return regions;
        }
    }
}

/// The gray level below which a pixel is ink: half-way between the paper (the page's 90th
/// percentile) and the typical ink (the median of the pixels at least [`CLEAR_CONTRAST`]
/// darker than the paper, or on a page without such pixels, [`MIN_CONTRAST`]). So faint grey
/// print on grey paper is judged by its own contrast, and a few black specks do not move the
/// level. `None` when fewer than 64 pixels (16 sampled) are even that much darker than the
/// paper: no symbol could be there.
fn ink_threshold(page: &GrayImage) -> Option<u8> {
    // Every fourth row: the percentiles do not need more. Four histograms, so that a run of
    // equal pixels (a white page is mostly 255) does not wait on one counter.
    let mut hists = [[0usize; 256]; 4];
    let w = page.width as usize;
    for row in page.pixels.chunks_exact(w.max(1)).step_by(4) {
        let quads = row.chunks_exact(4);
        quads
            .remainder()
            .iter()
            .for_each(|&p| hists[0][p as usize] += 1);
        for q in quads {
            hists[0][q[0] as usize] += 1;
            hists[1][q[1] as usize] += 1;
            hists[2][q[2] as usize] += 1;
            hists[3][q[3] as usize] += 1;
        }
    }
    let mut hist = [0usize; 256];
    for (i, n) in hist.iter_mut().enumerate() {
        *n = hists.iter().map(|h| h[i]).sum();
    }
    let total: usize = hist.iter().sum();
    let mut seen = 0;
    let paper = hist
        .iter()
        .position(|&n| {
            seen += n;
            seen > total * 9 / 10
        })
        .unwrap_or(255);
    // Ink clearly darker than the paper first; only a page without any is searched for
    // fainter ink (were the faint level always used, the grey of binned dust would count as
    // ink and hide black symbols among it).
    for contrast in [CLEAR_CONTRAST, MIN_CONTRAST] {
        let Some(dark_below) = paper.checked_sub(contrast) else {
            continue;
        };
        let dark: usize = hist[..dark_below].iter().sum();
        if dark < 16 {
            continue;
        }
        let mut seen = 0;
        let ink = hist[..dark_below]
            .iter()
            .position(|&n| {
                seen += n;
                seen > dark / 2
            })
            .unwrap_or(0);
        let half = ((paper - ink) / 2).max(contrast);
        return Some((paper - half) as u8);
    }
    None
}

/// Per-cell counts of one pass over the binarised page.
struct Cells {
    cols: usize,
    rows: usize,
    /// Width and height of each cell in pixels (the last column and row may be smaller).
    dims: Vec<(u32, u32)>,
    ink: Vec<u32>,
    across: Vec<u32>,
    down: Vec<u32>,
    /// The cells' pixels and the ink level, for the second look at a square candidate: cell
    /// `c` spans `size` pixels from `c * size - origin` (the first ones are cut short).
    size: usize,
    origin: (usize, usize),
    threshold: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    Bars,
    Square,
    /// A square cell with more ink and hardly a white line: the inside of a small
    /// DataMatrix (print has a white row above its x-height or a column between letters).
    Solid,
}

/// Kept cells that touch (8-neighbours): their bounding box in cells and how many there are.
struct Component {
    col: usize,
    row: usize,
    cols: usize,
    rows: usize,
    bars: usize,
    squares: usize,
    solid: usize,
    /// The mean ink share of its square cells.
    square_ink: f32,
}

impl Component {
    fn to_pixels(&self, cells: &Cells, width: u32, height: u32) -> Rect {
        let (size, (ox, oy)) = (cells.size, cells.origin);
        let (w, h) = (width as usize, height as usize);
        let x0 = span(self.col, size, ox, w).0;
        let x1 = span(self.col + self.cols - 1, size, ox, w).1;
        let y0 = span(self.row, size, oy, h).0;
        let y1 = span(self.row + self.rows - 1, size, oy, h).1;
        Rect {
            x: x0 as u32,
            y: y0 as u32,
            w: (x1 - x0) as u32,
            h: (y1 - y0) as u32,
        }
    }
}

/// The pixels `[start, end)` of cell `c` along an axis of `len` pixels, on a grid of cells
/// `size` wide moved back by `off` (the first cell is then `size - off` wide).
fn span(c: usize, size: usize, off: usize, len: usize) -> (usize, usize) {
    (
        (c * size).saturating_sub(off).min(len),
        ((c + 1) * size - off).min(len),
    )
}

/// Empty cells of a grid of `size` moved back by `(ox, oy)` over `page`.
fn grid(page: &GrayImage, threshold: u8, size: usize, (ox, oy): (usize, usize)) -> Cells {
    let (w, h) = (page.width as usize, page.height as usize);
    let (cols, rows) = ((w + ox).div_ceil(size), (h + oy).div_ceil(size));
    let n = cols * rows;
    let mut dims = Vec::with_capacity(n);
    for r in 0..rows {
        let (y0, y1) = span(r, size, oy, h);
        for c in 0..cols {
            let (x0, x1) = span(c, size, ox, w);
            dims.push(((x1 - x0) as u32, (y1 - y0) as u32));
        }
    }
    Cells {
        cols,
        rows,
        dims,
        ink: vec![0; n],
        across: vec![0; n],
        down: vec![0; n],
        size,
        origin: (ox, oy),
        threshold,
    }
}

/// One pass over the binarised page filling four grids of `size` cells: as cut from the
/// corner, and moved by half a cell across, down and both, so that a symbol hardly larger
/// than a cell lies whole in some cell of one of them (cut in four, no cell would look
/// like it). Returned in that order.
fn measure(page: &GrayImage, threshold: u8, size: usize) -> [Cells; 4] {
    let (w, h) = (page.width as usize, page.height as usize);
    let half = size / 2;
    let mut grids = [(0, 0), (half, 0), (0, half), (half, half)]
        .map(|origin| grid(page, threshold, size, origin));
    // Row-wide passes (the compiler vectorises them), summed per column over a band of
    // `size` rows (one set of sums per vertical offset), then per cell once a band is done.
    let mut cur = vec![0u8; w];
    let mut prev = vec![0u8; w];
    let mut changes = vec![0u8; w];
    let mut sums = [0, half].map(|oy| (oy, vec![0u16; w], vec![0u16; w], vec![0u16; w]));
    for y in 0..h {
        let row = &page.pixels[y * w..(y + 1) * w];
        cur.iter_mut()
            .zip(row)
            .for_each(|(b, &p)| *b = u8::from(p < threshold));
        // A change between x and x + 1 counts for x (the last column of a cell sees across
        // into the next: one change at most per row, lost in the measurements' margins).
        changes[..w - 1]
            .iter_mut()
            .zip(cur.iter().zip(&cur[1..]))
            .for_each(|(c, (p, q))| *c = p ^ q);
        for (oy, ink_col, across_col, down_col) in sums.iter_mut() {
            let oy = *oy;
            ink_col
                .iter_mut()
                .zip(&cur)
                .for_each(|(a, &v)| *a += u16::from(v));
            across_col
                .iter_mut()
                .zip(&changes)
                .for_each(|(a, &v)| *a += u16::from(v));
            if (y + oy) % size != 0 {
                down_col
                    .iter_mut()
                    .zip(cur.iter().zip(&prev))
                    .for_each(|(a, (p, q))| *a += u16::from(p ^ q));
            }
            if (y + 1 + oy) % size == 0 || y + 1 == h {
                let band = (y + oy) / size;
                for g in grids.iter_mut().filter(|g| g.origin.1 == oy) {
                    let ox = g.origin.0;
                    for c in 0..g.cols {
                        let (a, b) = span(c, size, ox, w);
                        let i = band * g.cols + c;
                        let sum = |v: &[u16]| v.iter().map(|&n| u32::from(n)).sum::<u32>();
                        g.ink[i] = sum(&ink_col[a..b]);
                        g.across[i] = sum(&across_col[a..b]);
                        g.down[i] = sum(&down_col[a..b]);
                    }
                }
                ink_col.fill(0);
                across_col.fill(0);
                down_col.fill(0);
            }
        }
        std::mem::swap(&mut cur, &mut prev);
    }
    grids
}

impl Cells {
    fn ink_share(&self, i: usize) -> f32 {
        let (cw, ch) = self.dims[i];
        self.ink[i] as f32 / (cw * ch).max(1) as f32
    }

    /// Rows and columns of cell `i` with no ink, as shares of its height and width.
    fn white_lines(&self, page: &GrayImage, i: usize) -> (f32, f32) {
        let (cw, ch) = self.dims[i];
        let w = page.width as usize;
        let x0 = span(i % self.cols, self.size, self.origin.0, w).0;
        let y0 = span(
            i / self.cols,
            self.size,
            self.origin.1,
            page.height as usize,
        )
        .0;
        let mut inked_cols = vec![false; cw as usize];
        let mut white_rows = 0;
        for y in y0..y0 + ch as usize {
            let seg = &page.pixels[y * w + x0..y * w + x0 + cw as usize];
            let mut any = false;
            for (c, &p) in inked_cols.iter_mut().zip(seg) {
                let ink = p < self.threshold;
                *c |= ink;
                any |= ink;
            }
            white_rows += usize::from(!any);
        }
        let white_cols = inked_cols.iter().filter(|&&c| !c).count();
        (white_rows as f32 / ch as f32, white_cols as f32 / cw as f32)
    }

    fn classify(&self, page: &GrayImage, per_mm: f32, scale: Scale) -> Vec<Kind> {
        (0..self.ink.len())
            .map(|i| {
                let (cw, ch) = self.dims[i];
                if cw < 4 || ch < 4 {
                    return Kind::Plain;
                }
                let (cw, ch) = (cw as f32, ch as f32);
                let ink = self.ink[i] as f32 / (cw * ch);
                if !(MIN_INK..=MAX_INK).contains(&ink) {
                    return Kind::Plain;
                }
                // Changes per millimetre of one row, of one column.
                let across = self.across[i] as f32 / ch / (cw / per_mm);
                let down = self.down[i] as f32 / cw / (ch / per_mm);
                let (many, few) = (across.max(down), across.min(down));
                if many < scale.busy || many > scale.busiest {
                    return Kind::Plain;
                }
                if many >= BARS_DOMINANCE * few + 0.2 {
                    return Kind::Bars;
                }
                if few >= scale.busy {
                    let (white_rows, white_cols) = self.white_lines(page, i);
                    if white_rows <= MAX_WHITE_LINES && white_cols <= MAX_WHITE_LINES {
                        let solid = ink >= SOLID_INK
                            && white_rows <= SOLID_WHITE_LINES
                            && white_cols <= SOLID_WHITE_LINES;
                        return if solid { Kind::Solid } else { Kind::Square };
                    }
                }
                Kind::Plain
            })
            .collect()
    }

    /// The regions to read: candidates shaped like a symbol, grown by a quiet-zone margin.
    fn candidates(&self, kinds: &[Kind], page: &GrayImage, per_mm: f32) -> Vec<Region> {
        let mut regions = Vec::new();
        for c in self.components(kinds) {
            // A 1D symbol is at least a centimetre of bars, and single bar-like cells are
            // common in print ("Illi"). One square cell may be a whole small DataMatrix
            // (10 × 10 modules of 0.25 mm); a 2D symbol is compact (a rectangular DataMatrix
            // is at most 4 : 1) and full of such cells, where print makes long thin chains
            // (its lines) and loose blobs (paragraphs).
            let bbox = c.cols * c.rows;
            let bars = c.bars >= MIN_BARS;
            // A chain one cell high is a line of print, or a small rectangular DataMatrix
            // (8 × 32 modules of 0.25 mm: 2 × 8 mm) that no cell holds whole: that one is
            // darker than print.
            let thick = c.cols >= 2 && c.rows >= 2;
            let dark_chain = c.cols.min(c.rows) == 1 && c.square_ink >= DARK_CHAIN_INK;
            let squares = (c.solid > 0 || (c.squares >= MIN_SQUARES && (thick || dark_chain)))
                && c.cols.max(c.rows) <= MAX_SQUARE_ASPECT * c.cols.min(c.rows)
                && (c.squares + c.bars) as f32 >= MIN_SQUARE_FILL * bbox as f32;
            if !bars && !squares {
                continue;
            }
            let px = c.to_pixels(self, page.width, page.height);
            // A cell's width more than the quiet zone: the kept cells may miss a symbol's edge.
            let grow = |side: u32| {
                (self.size as f32 + MARGIN_MM * per_mm + side as f32 / 10.0).round() as u32
            };
            let (gx, gy) = (grow(px.w), grow(px.h));
            let x = px.x.saturating_sub(gx);
            let y = px.y.saturating_sub(gy);
            regions.push(Region {
                rect: Rect {
                    x,
                    y,
                    w: (px.x + px.w + gx).min(page.width) - x,
                    h: (px.y + px.h + gy).min(page.height) - y,
                },
                bars,
                squares,
            });
        }
        regions
    }

    /// These cells joined `k` × `k` into larger ones (counts added), for symbols whose
    /// modules are too large for the fine cells (1 mm modules fill a 2 mm cell with two).
    fn coarser(&self, k: usize, page: &GrayImage) -> Cells {
        let (w, h) = (page.width as usize, page.height as usize);
        let size = self.size * k;
        let (cols, rows) = (w.div_ceil(size), h.div_ceil(size));
        let n = cols * rows;
        let mut out = Cells {
            cols,
            rows,
            dims: Vec::with_capacity(n),
            ink: vec![0; n],
            across: vec![0; n],
            down: vec![0; n],
            size,
            origin: (0, 0),
            threshold: self.threshold,
        };
        for r in 0..rows {
            for c in 0..cols {
                out.dims.push((
                    (w - c * size).min(size) as u32,
                    (h - r * size).min(size) as u32,
                ));
            }
        }
        for i in 0..self.ink.len() {
            let (r, c) = (i / self.cols / k, i % self.cols / k);
            let j = r * cols + c;
            out.ink[j] += self.ink[i];
            out.across[j] += self.across[i];
            out.down[j] += self.down[i];
        }
        out
    }

    fn components(&self, kinds: &[Kind]) -> Vec<Component> {
        let mut seen = vec![false; kinds.len()];
        let mut out = Vec::new();
        let mut stack = Vec::new();
        for start in 0..kinds.len() {
            if seen[start] || kinds[start] == Kind::Plain {
                continue;
            }
            seen[start] = true;
            stack.push(start);
            let (mut c0, mut r0) = (usize::MAX, usize::MAX);
            let (mut c1, mut r1, mut bars, mut squares, mut solid) = (0, 0, 0, 0, 0);
            let mut square_ink = 0.0;
            while let Some(i) = stack.pop() {
                let (r, c) = (i / self.cols, i % self.cols);
                (c0, r0, c1, r1) = (c0.min(c), r0.min(r), c1.max(c), r1.max(r));
                match kinds[i] {
                    Kind::Bars => bars += 1,
                    Kind::Square => {
                        squares += 1;
                        square_ink += self.ink_share(i);
                    }
                    Kind::Solid => {
                        squares += 1;
                        square_ink += self.ink_share(i);
                        solid += 1;
                    }
                    Kind::Plain => {}
                }
                for dr in -1i64..=1 {
                    for dc in -1i64..=1 {
                        let (rr, cc) = (r as i64 + dr, c as i64 + dc);
                        if rr < 0 || cc < 0 || rr >= self.rows as i64 || cc >= self.cols as i64 {
                            continue;
                        }
                        let j = rr as usize * self.cols + cc as usize;
                        if !seen[j] && kinds[j] != Kind::Plain {
                            seen[j] = true;
                            stack.push(j);
                        }
                    }
                }
            }
            out.push(Component {
                col: c0,
                row: r0,
                cols: c1 - c0 + 1,
                rows: r1 - r0 + 1,
                bars,
                squares,
                solid,
                square_ink: if squares > 0 {
                    square_ink / squares as f32
                } else {
                    0.0
                },
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::{Symbology, encoded_modules};
    use super::*;

    fn contains(outer: &Rect, inner: &Rect) -> bool {
        outer.x <= inner.x
            && outer.y <= inner.y
            && outer.x + outer.w >= inner.x + inner.w
            && outer.y + outer.h >= inner.y + inner.h
    }

    #[test]
    fn a_blank_or_flat_page_has_nothing_to_read() {
        assert_eq!(look(&page(8.27, 11.69, 300), 300), Look::Nothing);
        let mut grey = page(8.27, 11.69, 300);
        grey.pixels.iter_mut().for_each(|p| *p = 180);
        assert_eq!(look(&grey, 300), Look::Nothing);
        // Dust: a few hundred specks.
        let mut dusty = page(8.27, 11.69, 300);
        noise(&mut dusty, 1, 5);
        assert_eq!(look(&dusty, 300), Look::Nothing);
    }

    /// Each symbology, upright and turned, small and large modules: one region holds the
    /// whole symbol, and asks for the readers of its kind.
    #[test]
    fn a_region_holds_each_symbol_and_names_its_kind() {
        let dpi = 300;
        for (s, text) in [
            (Symbology::Code39, "PATCHT"),
            (Symbology::Code128, "VB-2024-00042"),
            (Symbology::Qr, "hello"),
            (Symbology::DataMatrix, "VB-2024-00042"),
        ] {
            for module_mm in [0.3f32, 0.8] {
                let m = encoded_modules(s, text).expect("encodes");
                let mw = (module_mm / 25.4 * dpi as f32).round() as u32;
                let h = if m.height == 1 {
                    dpi / 2
                } else {
                    m.height * mw
                };
                let mut p = page(8.27, 11.69, dpi);
                draw(&mut p, &m, dpi, dpi * 2, mw, dpi / 2);
                let symbol = Rect {
                    x: dpi,
                    y: dpi * 2,
                    w: m.width * mw,
                    h,
                };
                for turn in [0u16, 90] {
                    let (p, symbol) = if turn == 0 {
                        (p.clone(), symbol)
                    } else {
                        // Clockwise by 90°: (x, y) goes to (H - 1 - y, x).
                        let turned = crate::ocr::rotated_clockwise(&p, 90);
                        let r = Rect {
                            x: p.height - symbol.y - symbol.h,
                            y: symbol.x,
                            w: symbol.h,
                            h: symbol.w,
                        };
                        (turned, r)
                    };
                    let Look::Regions(regions) = look(&p, dpi) else {
                        panic!("{} {module_mm} mm turned {turn}: no regions", s.name());
                    };
                    let one_d = matches!(s, Symbology::Code39 | Symbology::Code128);
                    assert!(
                        regions.iter().any(|r| contains(&r.rect, &symbol)
                            && if one_d { r.bars } else { r.squares }),
                        "{} {module_mm} mm turned {turn}: {symbol:?} not in {regions:?}",
                        s.name()
                    );
                }
            }
        }
    }

    /// Ruled lines (a form's table) are neither bars nor squares: one line per cell is too
    /// little change, however regular.
    #[test]
    fn a_ruled_table_is_not_a_barcode() {
        let dpi = 300;
        let mut p = page(8.27, 11.69, dpi);
        for x in (300..2200).step_by(90) {
            for y in 600..2400 {
                for dx in 0..3 {
                    p.pixels[(y * p.width + x + dx) as usize] = 0;
                }
            }
        }
        for y in (600..2400).step_by(60) {
            for x in 300..2200 {
                for dy in 0..3 {
                    p.pixels[((y + dy) * p.width + x) as usize] = 0;
                }
            }
        }
        assert_eq!(look(&p, dpi), Look::Nothing);
    }
}
