//! The invisible text layer's font: a glyphless TrueType program built in code, used as a
//! Type0 / CIDFontType2 font with Identity-H encoding.
//!
//! Every distinct character a document's OCR produced gets its own CID (1, 2, ... in order of
//! first use; CID 0 is `.notdef`), CID = GID (`/CIDToGIDMap /Identity`), and the `/ToUnicode`
//! CMap maps each CID back to its character in UTF-16BE, surrogate pairs included, so text
//! extraction returns exactly the OCR text (umlauts, ß, and characters outside the BMP).
//! All glyphs are empty and 500 units wide; the font program's `hmtx` and the PDF's `/DW 500`
//! agree, as ISO 19005-2 6.2.11.5 requires. Embedding (ISO 19005-2 6.2.11.4) is cheap: a few
//! hundred bytes plus 2 bytes per glyph.

use std::collections::HashMap;

/// Advance width of every glyph, in font units of a 1000-unit em.
pub(crate) const GLYPH_WIDTH: u16 = 500;
const UNITS_PER_EM: u16 = 1000;
/// Internal PostScript name of the font (also the PDF `/BaseFont`).
pub(crate) const FONT_NAME: &str = "GlyphLessFont";

/// Characters of one document and their CIDs, grown while pages are written.
#[derive(Debug, Default)]
pub(crate) struct GlyphMap {
    cids: HashMap<char, u16>,
    /// chars[i] has CID i+1.
    chars: Vec<char>,
}

#[derive(Debug, thiserror::Error)]
#[error("the document uses more than 65534 distinct characters, more than one font can hold")]
pub(crate) struct TooManyGlyphs;

impl GlyphMap {
    /// The CID for `c`, allocating the next one on first use.
    pub(crate) fn cid(&mut self, c: char) -> Result<u16, TooManyGlyphs> {
        if let Some(&cid) = self.cids.get(&c) {
            return Ok(cid);
        }
        // TrueType's numGlyphs is a u16 and includes .notdef.
        let cid = u16::try_from(self.chars.len() + 1)
            .ok()
            .filter(|&n| n < u16::MAX)
            .ok_or(TooManyGlyphs)?;
        self.cids.insert(c, cid);
        self.chars.push(c);
        Ok(cid)
    }

    /// Number of glyphs in the font program, `.notdef` included.
    pub(crate) fn glyph_count(&self) -> u16 {
        // cid() keeps chars.len() + 1 below u16::MAX.
        u16::try_from(self.chars.len() + 1).unwrap_or(u16::MAX)
    }

    /// The `/ToUnicode` CMap (Adobe Technical Note #5411, #5014 for the header).
    pub(crate) fn to_unicode_cmap(&self) -> String {
        let mut s = String::from(
            "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
             /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
             /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
             1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
        );
        // bfchar blocks hold at most 100 entries each.
        for (block_no, block) in self.chars.chunks(100).enumerate() {
            s.push_str(&format!("{} beginbfchar\n", block.len()));
            for (i, c) in block.iter().enumerate() {
                let cid = block_no * 100 + i + 1;
                let mut units = [0u16; 2];
                let utf16: String = c
                    .encode_utf16(&mut units)
                    .iter()
                    .map(|u| format!("{u:04X}"))
                    .collect();
                s.push_str(&format!("<{cid:04X}> <{utf16}>\n"));
            }
            s.push_str("endbfchar\n");
        }
        s.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
        s
    }
}

/// A TrueType font program with `glyph_count` empty glyphs, each [`GLYPH_WIDTH`] wide.
pub(crate) fn glyphless_truetype(glyph_count: u16) -> Vec<u8> {
    let n = glyph_count.max(1);
    let tables: [(&[u8; 4], Vec<u8>); 10] = [
        (b"OS/2", os2()),
        (b"cmap", cmap()),
        // Every glyph is empty: loca gives each a zero length, so glyf holds no data.
        (b"glyf", Vec::new()),
        (b"head", head()),
        (b"hhea", hhea()),
        (b"hmtx", hmtx(n)),
        (b"loca", vec![0u8; 2 * (usize::from(n) + 1)]),
        (b"maxp", maxp(n)),
        (b"name", name_table()),
        (b"post", post()),
    ];
    // Table directory (OpenType spec, "Organization of an OpenType Font"); tags sorted.
    let num_tables = tables.len() as u16;
    let entry_selector = 15 - num_tables.leading_zeros() as u16; // floor(log2 n)
    let search_range = 16u16 << entry_selector;
    let mut font = Vec::new();
    put32(&mut font, 0x0001_0000);
    put16(&mut font, num_tables);
    put16(&mut font, search_range);
    put16(&mut font, entry_selector);
    put16(&mut font, num_tables * 16 - search_range);
    let mut offset = 12 + 16 * tables.len();
    let mut body = Vec::new();
    let mut head_offset = 0;
    for (tag, data) in &tables {
        let mut padded = data.clone();
        padded.resize(data.len().div_ceil(4) * 4, 0);
        font.extend_from_slice(*tag);
        put32(&mut font, checksum(&padded));
        put32(&mut font, offset as u32);
        put32(&mut font, data.len() as u32);
        if *tag == b"head" {
            head_offset = offset;
        }
        offset += padded.len();
        body.extend_from_slice(&padded);
    }
    font.extend_from_slice(&body);
    // head.checkSumAdjustment makes the whole file sum to 0xB1B0AFBA.
    let adjustment = 0xB1B0_AFBAu32.wrapping_sub(checksum(&font));
    font[head_offset + 8..head_offset + 12].copy_from_slice(&adjustment.to_be_bytes());
    font
}

fn put16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_be_bytes());
}
fn put32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_be_bytes());
}

fn checksum(data: &[u8]) -> u32 {
    data.chunks(4).fold(0u32, |sum, c| {
        let mut word = [0u8; 4];
        word[..c.len()].copy_from_slice(c);
        sum.wrapping_add(u32::from_be_bytes(word))
    })
}

fn head() -> Vec<u8> {
    let mut t = Vec::with_capacity(54);
    put32(&mut t, 0x0001_0000); // version
    put32(&mut t, 0x0001_0000); // fontRevision
    put32(&mut t, 0); // checkSumAdjustment, patched last
    put32(&mut t, 0x5F0F_3CF5); // magicNumber
    put16(&mut t, 0b1011); // flags: baseline y=0, lsb x=0, integer ppem
    put16(&mut t, UNITS_PER_EM);
    t.extend_from_slice(&[0; 16]); // created, modified
    put16(&mut t, 0); // xMin
    put16(&mut t, 0); // yMin
    put16(&mut t, GLYPH_WIDTH); // xMax
    put16(&mut t, UNITS_PER_EM); // yMax
    put16(&mut t, 0); // macStyle
    put16(&mut t, 3); // lowestRecPPEM
    put16(&mut t, 2); // fontDirectionHint
    put16(&mut t, 0); // indexToLocFormat: short offsets
    put16(&mut t, 0); // glyphDataFormat
    t
}

fn hhea() -> Vec<u8> {
    let mut t = Vec::with_capacity(36);
    put32(&mut t, 0x0001_0000);
    put16(&mut t, UNITS_PER_EM); // ascender
    put16(&mut t, 0); // descender
    put16(&mut t, 0); // lineGap
    put16(&mut t, GLYPH_WIDTH); // advanceWidthMax
    t.extend_from_slice(&[0; 6]); // minLeftSideBearing, minRightSideBearing, xMaxExtent
    put16(&mut t, 1); // caretSlopeRise
    t.extend_from_slice(&[0; 4]); // caretSlopeRun, caretOffset
    t.extend_from_slice(&[0; 8]); // reserved
    put16(&mut t, 0); // metricDataFormat
    put16(&mut t, 1); // numberOfHMetrics: one, repeated for all glyphs
    t
}

fn hmtx(glyphs: u16) -> Vec<u8> {
    let mut t = Vec::with_capacity(2 * usize::from(glyphs) + 2);
    put16(&mut t, GLYPH_WIDTH);
    put16(&mut t, 0);
    // leftSideBearing of every further glyph.
    t.resize(4 + 2 * (usize::from(glyphs) - 1), 0);
    t
}

fn maxp(glyphs: u16) -> Vec<u8> {
    let mut t = Vec::with_capacity(32);
    put32(&mut t, 0x0001_0000); // version 1.0, required for TrueType outlines
    put16(&mut t, glyphs);
    t.extend_from_slice(&[0; 8]); // maxPoints, maxContours, maxComposite*
    put16(&mut t, 2); // maxZones
    t.extend_from_slice(&[0; 16]); // the rest: no hinting
    t
}

fn cmap() -> Vec<u8> {
    // One (3,1) format-4 subtable with only the mandatory final segment: the PDF reaches
    // glyphs through CIDToGIDMap, never through cmap (ISO 32000-1 9.7.4.2).
    let mut t = Vec::new();
    put16(&mut t, 0); // version
    put16(&mut t, 1); // numTables
    put16(&mut t, 3); // platform Windows
    put16(&mut t, 1); // Unicode BMP
    put32(&mut t, 12); // offset
    put16(&mut t, 4); // format
    put16(&mut t, 24); // length
    put16(&mut t, 0); // language
    put16(&mut t, 2); // segCountX2
    put16(&mut t, 2); // searchRange
    put16(&mut t, 0); // entrySelector
    put16(&mut t, 0); // rangeShift
    put16(&mut t, 0xFFFF); // endCode
    put16(&mut t, 0); // reservedPad
    put16(&mut t, 0xFFFF); // startCode
    put16(&mut t, 1); // idDelta
    put16(&mut t, 0); // idRangeOffset
    t
}

fn name_table() -> Vec<u8> {
    let records: [(u16, &str); 4] = [
        (1, FONT_NAME),
        (2, "Regular"),
        (4, FONT_NAME),
        (6, FONT_NAME),
    ];
    let mut strings = Vec::new();
    let mut t = Vec::new();
    put16(&mut t, 0); // format
    put16(&mut t, records.len() as u16);
    put16(&mut t, 6 + 12 * records.len() as u16); // stringOffset
    for (id, text) in records {
        let utf16: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        put16(&mut t, 3); // Windows
        put16(&mut t, 1); // Unicode BMP
        put16(&mut t, 0x409); // en-US
        put16(&mut t, id);
        put16(&mut t, utf16.len() as u16);
        put16(&mut t, strings.len() as u16);
        strings.extend_from_slice(&utf16);
    }
    t.extend_from_slice(&strings);
    t
}

fn os2() -> Vec<u8> {
    let mut t = Vec::with_capacity(86);
    put16(&mut t, 1); // version
    put16(&mut t, GLYPH_WIDTH); // xAvgCharWidth
    put16(&mut t, 400); // usWeightClass
    put16(&mut t, 5); // usWidthClass
    put16(&mut t, 0); // fsType 0: installable, embedding allowed (ISO 19005-2 6.2.11.4.1)
    for v in [650u16, 600, 0, 75, 650, 600, 0, 350, 50, 300] {
        put16(&mut t, v); // sub/superscript sizes and offsets, strikeout
    }
    put16(&mut t, 0); // sFamilyClass
    t.extend_from_slice(&[0; 10]); // panose
    t.extend_from_slice(&[0; 16]); // ulUnicodeRange1-4
    t.extend_from_slice(b"NONE"); // achVendID
    put16(&mut t, 0x40); // fsSelection: REGULAR
    put16(&mut t, 0x20); // usFirstCharIndex
    put16(&mut t, 0xFFFF); // usLastCharIndex
    put16(&mut t, UNITS_PER_EM); // sTypoAscender
    put16(&mut t, 0); // sTypoDescender
    put16(&mut t, 0); // sTypoLineGap
    put16(&mut t, UNITS_PER_EM); // usWinAscent
    put16(&mut t, 0); // usWinDescent
    put32(&mut t, 1); // ulCodePageRange1: Latin 1
    put32(&mut t, 0);
    t
}

fn post() -> Vec<u8> {
    let mut t = Vec::with_capacity(32);
    put32(&mut t, 0x0003_0000); // version 3: no glyph names
    put32(&mut t, 0); // italicAngle
    put16(&mut t, (-100i16) as u16); // underlinePosition
    put16(&mut t, 50); // underlineThickness
    put32(&mut t, 1); // isFixedPitch
    t.extend_from_slice(&[0; 16]); // memory hints
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u16_at(b: &[u8], o: usize) -> u16 {
        u16::from_be_bytes([b[o], b[o + 1]])
    }
    fn u32_at(b: &[u8], o: usize) -> u32 {
        u32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
    }

    fn table(font: &[u8], tag: &[u8; 4]) -> (usize, usize, u32) {
        let n = usize::from(u16_at(font, 4));
        (0..n)
            .map(|i| 12 + 16 * i)
            .find(|&r| &font[r..r + 4] == tag)
            .map(|r| {
                (
                    u32_at(font, r + 8) as usize,
                    u32_at(font, r + 12) as usize,
                    u32_at(font, r + 4),
                )
            })
            .expect("table present")
    }

    #[test]
    fn cids_are_stable_and_start_at_one() {
        let mut g = GlyphMap::default();
        assert_eq!(g.cid('a').unwrap(), 1);
        assert_eq!(g.cid('ß').unwrap(), 2);
        assert_eq!(g.cid('a').unwrap(), 1);
        assert_eq!(g.glyph_count(), 3);
    }

    #[test]
    fn to_unicode_maps_bmp_and_surrogates() {
        let mut g = GlyphMap::default();
        for c in ['A', 'ä', 'ß', '\u{1D400}'] {
            g.cid(c).unwrap();
        }
        let cmap = g.to_unicode_cmap();
        assert!(cmap.contains("4 beginbfchar"));
        assert!(cmap.contains("<0001> <0041>"));
        assert!(cmap.contains("<0002> <00E4>"));
        assert!(cmap.contains("<0003> <00DF>"));
        assert!(cmap.contains("<0004> <D835DC00>"));
    }

    #[test]
    fn to_unicode_splits_blocks_of_100() {
        let mut g = GlyphMap::default();
        for c in ('\u{100}'..).take(250) {
            g.cid(c).unwrap();
        }
        let cmap = g.to_unicode_cmap();
        assert_eq!(cmap.matches("100 beginbfchar").count(), 2);
        assert_eq!(cmap.matches("50 beginbfchar").count(), 1);
        assert!(cmap.contains("<00FA> <01F9>"));
    }

    #[test]
    fn font_program_is_consistent() {
        let font = glyphless_truetype(300);
        // Whole-file checksum is the magic constant.
        assert_eq!(checksum(&font), 0xB1B0_AFBA);
        let (maxp, _, _) = table(&font, b"maxp");
        assert_eq!(u16_at(&font, maxp + 4), 300);
        let (hmtx, hmtx_len, _) = table(&font, b"hmtx");
        assert_eq!(hmtx_len, 4 + 2 * 299);
        assert_eq!(u16_at(&font, hmtx), GLYPH_WIDTH);
        let (_, loca_len, _) = table(&font, b"loca");
        assert_eq!(loca_len, 2 * 301);
        let (head, head_len, _) = table(&font, b"head");
        assert_eq!(head_len, 54);
        assert_eq!(u32_at(&font, head + 12), 0x5F0F_3CF5);
        for tag in [b"OS/2", b"hhea", b"name", b"post", b"cmap"] {
            let (off, len, sum) = table(&font, tag);
            assert!(off % 4 == 0 && off + len <= font.len());
            assert_eq!(checksum(&font[off..off + len]), sum, "{tag:?}");
        }
        let (_, os2_len, _) = table(&font, b"OS/2");
        assert_eq!(os2_len, 86);
        let (_, hhea_len, _) = table(&font, b"hhea");
        assert_eq!(hhea_len, 36);
    }
}
