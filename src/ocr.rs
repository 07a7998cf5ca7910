//! OCR through libtesseract (the `tesseract` crate, Tesseract's C API): one engine per worker
//! thread, created once (~150 ms) and reused for every page that worker sees.
//!
//! What comes back is what the PDF text layer and the classifier need: the engine's own text,
//! words with pixel boxes and confidences in reading order, and the page orientation.
//!
//! Orientation costs: Tesseract's orientation and script detection (OSD) is a second pass over
//! the page, so it runs only when the first recognition looks wrong (few words or a low mean
//! confidence, as an upside-down or sideways page gives). Then the gray raster is rotated in
//! memory (the embedded image never changes; the PDF shows the turn with `/Rotate`) and
//! recognised again; the better of the two results wins.
//!
//! Debian's libtesseract runs OpenMP threads inside one engine; with one engine per worker that
//! oversubscribes the cores unless `OMP_THREAD_LIMIT=1` is set before the process starts. That
//! is the binary's job (and the test runner's), not this module's.

use std::ffi::{CStr, CString};
use std::ptr::NonNull;

use tesseract::{PageSegMode, Tesseract};

use crate::image::GrayImage;

/// One recognised word, boxes in pixels of the upright page (origin top-left).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Word {
    pub text: String,
    pub left: u32,
    pub top: u32,
    pub width: u32,
    pub height: u32,
    /// Tesseract's word confidence, 0..=100.
    pub confidence: f32,
    /// Block, paragraph and line numbers from Tesseract's layout analysis; words of one line
    /// share all three.
    pub block: u32,
    pub paragraph: u32,
    pub line: u32,
}

/// The OCR result of one page.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PageText {
    /// Words in the engine's reading order.
    pub words: Vec<Word>,
    /// The engine's own UTF-8 text (`GetUTF8Text`), the reference for text-layer fidelity.
    pub text: String,
    /// Mean word confidence 0..=100 (0 for a page without words).
    pub mean_confidence: f32,
    /// Clockwise rotation in degrees (0, 90, 180, 270) that makes the scanned page upright;
    /// the PDF shows it through the page's `/Rotate`, the word boxes are in the upright frame.
    pub rotation: u16,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OcrError {
    #[error(
        "Tesseract could not start with languages {languages:?}: {detail} (is tesseract-ocr-<lang> installed?)"
    )]
    Init { languages: String, detail: String },
    #[error("Tesseract failed on the page: {0}")]
    Recognize(String),
    #[error("page raster is inconsistent: {0}")]
    BadImage(String),
}

/// Settings every engine of a run shares.
#[derive(Debug, Clone)]
pub struct OcrOptions {
    /// Tesseract language codes joined by '+', e.g. "deu+eng".
    pub languages: String,
    /// tessdata folder; `None` uses the library default (Debian: /usr/share/tesseract-ocr/5/tessdata).
    pub datapath: Option<std::path::PathBuf>,
    /// Detect and correct upside-down and sideways pages.
    pub detect_orientation: bool,
}

/// Below this mean word confidence the first pass is suspected of reading a turned page.
/// Upright office print scores 85-95; turned pages give garbage words scoring well under 50.
const SUSPECT_MEAN_CONFIDENCE: f32 = 55.0;
/// A page with fewer words than this is also checked (a turned page often yields almost none).
const SUSPECT_MIN_WORDS: usize = 5;
/// OSD orientation confidence needed before a page is turned; Tesseract's own `--psm 0`
/// output treats values under ~1.5 as guesses.
const MIN_OSD_CONFIDENCE: f32 = 1.5;

/// A Tesseract engine owned by one worker thread.
pub struct OcrEngine {
    /// The `tesseract` crate's methods consume the engine; it is taken out for a page and put
    /// back. `None` after a failed call consumed it; the next page re-creates it.
    tess: Option<Tesseract>,
    /// Created on the first suspicious page only, so upright batches never pay for it.
    osd: Option<OsdEngine>,
    options: OcrOptions,
}

impl OcrEngine {
    pub fn new(options: &OcrOptions) -> Result<Self, OcrError> {
        let tess = new_tesseract(options)?;
        Ok(Self {
            tess: Some(tess),
            osd: None,
            options: options.clone(),
        })
    }

    /// Recognises one page. `dpi` is the page's resolution (Tesseract sizes its models by it).
    pub fn recognize(&mut self, page: &GrayImage, dpi: u32) -> Result<PageText, OcrError> {
        check_raster(page)?;
        let first = self.recognize_upright(page, dpi)?;
        if !self.options.detect_orientation || !looks_turned(&first) {
            return Ok(first);
        }
        let rotation = self.detected_rotation(page, dpi)?;
        if rotation == 0 {
            return Ok(first);
        }
        let turned = rotated_clockwise(page, rotation);
        let mut second = self.recognize_upright(&turned, dpi)?;
        second.rotation = rotation;
        // OSD can be wrong on sparse pages; trust the reading that the recogniser itself
        // is more sure of. A first reading of vertical lines lost to one in upright lines
        // whatever the confidences: its boxes are in the turned frame.
        let vertical_to_upright = read_vertically(&first) && !read_vertically(&second);
        if vertical_to_upright || second.mean_confidence > first.mean_confidence {
            Ok(second)
        } else {
            Ok(first)
        }
    }

    /// Runs recognition on a raster taken as upright; `rotation` of the result is 0.
    fn recognize_upright(&mut self, page: &GrayImage, dpi: u32) -> Result<PageText, OcrError> {
        let tess = match self.tess.take() {
            Some(t) => t,
            None => new_tesseract(&self.options)?,
        };
        let (w, h) = raster_dims(page)?;
        let tess = tess
            .set_frame(&page.pixels, w, h, 1, w)
            .map_err(|e| OcrError::Recognize(format!("setting the image: {e}")))?;
        // Tesseract clamps nonsense resolutions itself, but 0 would make it guess; 70 is its
        // own floor.
        let ppi = i32::try_from(dpi).unwrap_or(i32::MAX).max(70);
        let mut tess = tess
            .set_source_resolution(ppi)
            .recognize()
            .map_err(|e| OcrError::Recognize(format!("recognition: {e}")))?;
        let tsv = tess.get_tsv_text(1);
        let text = tess.get_text();
        // Put the engine back before looking at the results: a failed getter must not cost the
        // worker its engine.
        self.tess = Some(tess);
        let tsv = tsv.map_err(|e| OcrError::Recognize(format!("reading TSV: {e}")))?;
        let text = text.map_err(|e| OcrError::Recognize(format!("reading text: {e}")))?;
        let words = words_from_tsv(&tsv)?;
        Ok(PageText {
            mean_confidence: mean_confidence(&words),
            words,
            text,
            rotation: 0,
        })
    }

    /// Clockwise degrees that make `page` upright according to OSD; 0 when OSD is unsure.
    fn detected_rotation(&mut self, page: &GrayImage, dpi: u32) -> Result<u16, OcrError> {
        if self.osd.is_none() {
            self.osd = Some(OsdEngine::new(self.options.datapath.as_deref())?);
        }
        let Some(osd) = self.osd.as_mut() else {
            return Ok(0);
        };
        Ok(match osd.orientation(page, dpi)? {
            Some((rotation, confidence)) if confidence >= MIN_OSD_CONFIDENCE => rotation,
            _ => 0,
        })
    }
}

fn new_tesseract(options: &OcrOptions) -> Result<Tesseract, OcrError> {
    let datapath = options
        .datapath
        .as_ref()
        .map(|p| {
            p.to_str().ok_or_else(|| OcrError::Init {
                languages: options.languages.clone(),
                detail: format!("tessdata path {} is not UTF-8", p.display()),
            })
        })
        .transpose()?;
    if options.languages.trim().is_empty() {
        return Err(OcrError::Init {
            languages: options.languages.clone(),
            detail: "no OCR language given".into(),
        });
    }
    let engine =
        Tesseract::new(datapath, Some(&options.languages)).map_err(|e| OcrError::Init {
            languages: options.languages.clone(),
            detail: e.to_string(),
        })?;
    // Diagnostics such as "Empty page!!" go to Tesseract's debug_file, not to our stderr:
    // under cron stderr is for errors only, and every page's findings are in the report.
    let mut engine = engine
        .set_variable("debug_file", "/dev/null")
        .map_err(|e| OcrError::Init {
            languages: options.languages.clone(),
            detail: e.to_string(),
        })?;
    // TessBaseAPI starts in PSM 6, "a single uniform block of text", which reads straight
    // across columns, the address field and information block of a DIN 5008 letter, and
    // table cells. The `tesseract` command line uses PSM 3, fully automatic segmentation
    // without OSD: blocks and columns are found first and read one after the other (SPEC §2,
    // issue #13). OSD stays our own second pass (see the module doc), so upright pages do
    // not pay for it as PSM 1 would make them.
    engine.set_page_seg_mode(PAGE_SEGMENTATION);
    Ok(engine)
}

/// The segmentation mode of every engine: the same as `tesseract PAGE OUT` uses by default,
/// so `benches/batch.sh` compares like with like.
pub const PAGE_SEGMENTATION: PageSegMode = PageSegMode::PsmAuto;

fn check_raster(page: &GrayImage) -> Result<(), OcrError> {
    let expected = u64::from(page.width) * u64::from(page.height);
    if page.width == 0 || page.height == 0 {
        return Err(OcrError::BadImage(format!(
            "empty raster {}x{}",
            page.width, page.height
        )));
    }
    if page.pixels.len() as u64 != expected {
        return Err(OcrError::BadImage(format!(
            "{}x{} raster holds {} bytes, expected {expected}",
            page.width,
            page.height,
            page.pixels.len()
        )));
    }
    raster_dims(page).map(|_| ())
}

fn raster_dims(page: &GrayImage) -> Result<(i32, i32), OcrError> {
    match (i32::try_from(page.width), i32::try_from(page.height)) {
        (Ok(w), Ok(h)) => Ok((w, h)),
        _ => Err(OcrError::BadImage(format!(
            "{}x{} is too large for Tesseract",
            page.width, page.height
        ))),
    }
}

fn looks_turned(text: &PageText) -> bool {
    text.words.len() < SUSPECT_MIN_WORDS
        || text.mean_confidence < SUSPECT_MEAN_CONFIDENCE
        || read_vertically(text)
}

/// Whether most words of three or more letters stand taller than wide. Automatic
/// segmentation (PSM 3) reads a sideways page as vertical text lines with good confidence,
/// so confidence alone no longer tells a turned page; the shape of the word boxes does (a
/// horizontal word of three letters is always wider than high).
fn read_vertically(text: &PageText) -> bool {
    let long: Vec<&Word> = text
        .words
        .iter()
        .filter(|w| w.text.chars().count() >= 3)
        .collect();
    let tall = long.iter().filter(|w| w.height > w.width).count();
    !long.is_empty() && tall * 2 > long.len()
}

fn mean_confidence(words: &[Word]) -> f32 {
    if words.is_empty() {
        return 0.0;
    }
    words.iter().map(|w| w.confidence).sum::<f32>() / words.len() as f32
}

/// Parses Tesseract's TSV (`GetTSVText`): 12 tab-separated columns, level 5 rows are words:
/// level, page, block, par, line, word, left, top, width, height, conf, text.
pub(crate) fn words_from_tsv(tsv: &str) -> Result<Vec<Word>, OcrError> {
    let mut words = Vec::new();
    for (n, row) in tsv.lines().enumerate() {
        let cols: Vec<&str> = row.splitn(12, '\t').collect();
        if cols.len() < 12 || cols[0] != "5" {
            continue;
        }
        let text = cols[11].trim();
        if text.is_empty() {
            continue;
        }
        let num = |i: usize| -> Result<u32, OcrError> {
            cols[i].parse::<u32>().map_err(|_| {
                OcrError::Recognize(format!("TSV row {}: column {i} is {:?}", n + 1, cols[i]))
            })
        };
        let confidence = cols[10].parse::<f32>().map_err(|_| {
            OcrError::Recognize(format!("TSV row {}: confidence {:?}", n + 1, cols[10]))
        })?;
        words.push(Word {
            text: text.to_string(),
            left: num(6)?,
            top: num(7)?,
            width: num(8)?,
            height: num(9)?,
            confidence: confidence.clamp(0.0, 100.0),
            block: num(2)?,
            paragraph: num(3)?,
            line: num(4)?,
        });
    }
    Ok(words)
}

/// The raster turned clockwise by `degrees` (0, 90, 180, 270; others are taken as 0), by the
/// `image` crate's exact quarter turns.
pub(crate) fn rotated_clockwise(page: &GrayImage, degrees: u16) -> GrayImage {
    use ::image::imageops;
    let Some(view) = page.as_buffer() else {
        return page.clone();
    };
    GrayImage::from_buffer(match degrees {
        90 => imageops::rotate90(&view),
        180 => imageops::rotate180(&view),
        270 => imageops::rotate270(&view),
        _ => return page.clone(),
    })
}

/// A second, bare Tesseract handle loaded with `osd.traineddata`, for
/// `TessBaseAPIDetectOrientationScript`, which the `tesseract` crate does not wrap. The raw
/// handle is owned here alone and freed in `Drop`; nothing else ever sees the pointer.
struct OsdEngine(NonNull<tesseract_sys::TessBaseAPI>);

// The handle is only used through `&mut self` from the thread that owns the engine; Tesseract
// handles may move between threads (the `tesseract` crate's handle is `Send` for this reason).
unsafe impl Send for OsdEngine {}

impl OsdEngine {
    fn new(datapath: Option<&std::path::Path>) -> Result<Self, OcrError> {
        let init_err = |detail: String| OcrError::Init {
            languages: "osd".into(),
            detail,
        };
        let datapath = datapath
            .map(|p| {
                p.to_str()
                    .and_then(|s| CString::new(s).ok())
                    .ok_or_else(|| init_err(format!("bad tessdata path {}", p.display())))
            })
            .transpose()?;
        // SAFETY: TessBaseAPICreate returns a fresh handle or null.
        let raw = unsafe { tesseract_sys::TessBaseAPICreate() };
        let engine = Self(NonNull::new(raw).ok_or_else(|| init_err("out of memory".into()))?);
        let lang = c"osd";
        // SAFETY: the handle is valid; both strings outlive the call (Tesseract copies them).
        let rc = unsafe {
            tesseract_sys::TessBaseAPIInit3(
                engine.0.as_ptr(),
                datapath.as_ref().map_or(std::ptr::null(), |d| d.as_ptr()),
                lang.as_ptr(),
            )
        };
        if rc != 0 {
            return Err(init_err(
                "osd.traineddata not found (install tesseract-ocr-osd)".into(),
            ));
        }
        // Tesseract prints diagnostics ("Invalid resolution 0 dpi") through tprintf, which
        // writes to `debug_file`; under cron stderr is for errors only.
        // SAFETY: valid handle, static NUL-terminated strings; Tesseract copies them.
        unsafe {
            tesseract_sys::TessBaseAPISetVariable(
                engine.0.as_ptr(),
                c"debug_file".as_ptr(),
                c"/dev/null".as_ptr(),
            );
        }
        Ok(engine)
    }

    /// (clockwise degrees to make the page upright, OSD confidence), or `None` when OSD finds
    /// too little text to judge.
    fn orientation(&mut self, page: &GrayImage, dpi: u32) -> Result<Option<(u16, f32)>, OcrError> {
        let (w, h) = raster_dims(page)?;
        let mut orient_deg: std::os::raw::c_int = 0;
        let mut orient_conf: f32 = 0.0;
        let mut script: *const std::os::raw::c_char = std::ptr::null();
        let mut script_conf: f32 = 0.0;
        // SAFETY: the raster was checked to hold w*h bytes with w bytes per line; Tesseract
        // copies it in SetImage. The out-pointers are valid locals; `script` points into
        // Tesseract's own tables and is not freed by us.
        let ok = unsafe {
            let api = self.0.as_ptr();
            tesseract_sys::TessBaseAPISetImage(api, page.pixels.as_ptr(), w, h, 1, w);
            tesseract_sys::TessBaseAPISetSourceResolution(
                api,
                i32::try_from(dpi).unwrap_or(i32::MAX).max(70),
            );
            let ok = tesseract_sys::TessBaseAPIDetectOrientationScript(
                api,
                &mut orient_deg,
                &mut orient_conf,
                &mut script,
                &mut script_conf,
            );
            tesseract_sys::TessBaseAPIClear(api);
            ok
        };
        if ok == 0 {
            return Ok(None);
        }
        if !script.is_null() {
            // SAFETY: non-null, NUL-terminated name from Tesseract's script table.
            let name = unsafe { CStr::from_ptr(script) }.to_string_lossy();
            tracing::debug!(script = %name, script_conf, orient_deg, orient_conf, "OSD");
        }
        // Tesseract reports the page's orientation as counter-clockwise degrees the text is
        // turned by; the clockwise turn that undoes it is the complement (baseapi.cpp,
        // GetOsdText: "Rotate" = OrientationIdToValue(orient_deg / 90)).
        let rotation = match orient_deg.rem_euclid(360) {
            90 => 270,
            180 => 180,
            270 => 90,
            _ => 0,
        };
        Ok(Some((rotation, orient_conf)))
    }
}

impl Drop for OsdEngine {
    fn drop(&mut self) {
        // SAFETY: the handle came from TessBaseAPICreate and is deleted exactly once.
        unsafe {
            tesseract_sys::TessBaseAPIEnd(self.0.as_ptr());
            tesseract_sys::TessBaseAPIDelete(self.0.as_ptr());
        }
    }
}

/// The linked Tesseract library's version, for the transfer note's environment (A.NB.4 b).
pub fn engine_version() -> String {
    // SAFETY: TessVersion returns a pointer to a static NUL-terminated string owned by the
    // library; it is never freed and we only copy it.
    let ptr = unsafe { tesseract_sys::TessVersion() };
    if ptr.is_null() {
        return "unknown".into();
    }
    unsafe { std::ffi::CStr::from_ptr(ptr) }
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::process::Command;

    /// Renders `text` (lines separated by '\n') with ImageMagick and DejaVu Sans at 300 dpi
    /// into an 8-bit gray raster; `rotate` turns the rendered page clockwise (to simulate a
    /// page fed into the scanner turned).
    pub(crate) fn rendered_page(text: &str, rotate: u16) -> GrayImage {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("page.pgm");
        let status = Command::new("convert")
            .args(["-density", "300", "-size", "2000x", "-background", "white"])
            .args(["-fill", "black", "-font", "DejaVu-Sans", "-pointsize", "11"])
            .args(["-bordercolor", "white", "-border", "150"])
            // The text goes inline: ImageMagick's policy forbids `@file` reads on Debian.
            .arg(format!("caption:{text}"))
            .args(["-rotate", &rotate.to_string(), "-depth", "8"])
            .arg(&out)
            .status()
            .expect("ImageMagick convert must be installed for the OCR tests");
        assert!(status.success(), "convert failed");
        read_pgm(&std::fs::read(&out).expect("read pgm"))
    }

    fn read_pgm(bytes: &[u8]) -> GrayImage {
        // P5 header: magic, width, height, maxval, each separated by whitespace.
        let mut fields = Vec::new();
        let mut i = 0;
        while fields.len() < 4 {
            while bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            let start = i;
            while !bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            fields.push(String::from_utf8_lossy(&bytes[start..i]).into_owned());
        }
        assert_eq!(fields[0], "P5");
        assert_eq!(fields[3], "255");
        let (width, height): (u32, u32) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
        let pixels = bytes[i + 1..].to_vec();
        assert_eq!(pixels.len(), (width * height) as usize);
        GrayImage {
            width,
            height,
            pixels,
        }
    }

    pub(crate) fn engine() -> OcrEngine {
        OcrEngine::new(&OcrOptions {
            languages: "deu+eng".into(),
            datapath: None,
            detect_orientation: true,
        })
        .expect("tesseract with deu+eng")
    }

    pub(crate) const GERMAN_LETTER: &str = "Stadtverwaltung Leipzig, Stadtkasse\n\
        Sehr geehrte Frau Müller-Größe,\n\
        wir bestätigen den Eingang Ihres Schreibens vom 12. März 2026.\n\
        Die Forderung aus dem Vollstreckungsverfahren wird gemäß Ihrer\n\
        Ratenzahlungsvereinbarung in monatlichen Beträgen beglichen.\n\
        Bitte überweisen Sie den Betrag bis zum 30. April auf das Konto.\n\
        Mit freundlichen Grüßen, Ihre Straßenverkehrsbehörde";

    fn squash(s: &str) -> String {
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn tsv_rows_become_words_and_other_levels_are_skipped() {
        let tsv = "1\t1\t0\t0\t0\t0\t0\t0\t100\t50\t-1\t\n\
                   5\t1\t1\t1\t1\t1\t10\t20\t30\t12\t91.5\tGrüße\n\
                   5\t1\t1\t1\t1\t2\t45\t20\t10\t12\t95\t \n\
                   5\t1\t1\t1\t2\t1\t10\t40\t30\t12\t-1\tß\n";
        let words = words_from_tsv(tsv).unwrap();
        assert_eq!(words.len(), 2);
        assert_eq!(words[0].text, "Grüße");
        assert_eq!((words[0].left, words[0].top, words[0].width), (10, 20, 30));
        assert_eq!(words[1].line, 2);
        assert_eq!(words[1].confidence, 0.0);
        assert!(words_from_tsv("5\t1\t1\t1\t1\t1\tx\t20\t30\t12\t91\tA\n").is_err());
    }

    #[test]
    fn rotation_turns_pixels_clockwise() {
        // 3x2 raster: row0 = 1 2 3, row1 = 4 5 6.
        let img = GrayImage {
            width: 3,
            height: 2,
            pixels: vec![1, 2, 3, 4, 5, 6],
        };
        let r90 = rotated_clockwise(&img, 90);
        assert_eq!((r90.width, r90.height), (2, 3));
        assert_eq!(r90.pixels, vec![4, 1, 5, 2, 6, 3]);
        let r270 = rotated_clockwise(&img, 270);
        assert_eq!(r270.pixels, vec![3, 6, 2, 5, 1, 4]);
        assert_eq!(rotated_clockwise(&img, 180).pixels, vec![6, 5, 4, 3, 2, 1]);
        assert_eq!(
            rotated_clockwise(&rotated_clockwise(&img, 90), 270).pixels,
            img.pixels
        );
    }

    /// The hand-written quarter turn the `image` crate's replaced, kept as an independent
    /// oracle: clockwise 90: new(x, y) = old(y, h-1-x); clockwise 270: new(x, y) = old(w-1-y, x).
    fn turned_by_index(page: &GrayImage, degrees: u16) -> GrayImage {
        let (w, h) = (page.width as usize, page.height as usize);
        let src = &page.pixels;
        if degrees == 180 {
            let pixels = src.iter().rev().copied().collect();
            return GrayImage {
                pixels,
                ..page.clone()
            };
        }
        let mut out = vec![0u8; w * h];
        for y in 0..w {
            for x in 0..h {
                let (sx, sy) = if degrees == 90 {
                    (y, h - 1 - x)
                } else {
                    (w - 1 - y, x)
                };
                out[y * h + x] = src[sy * w + sx];
            }
        }
        GrayImage {
            width: page.height,
            height: page.width,
            pixels: out,
        }
    }

    #[test]
    fn crate_rotation_equals_the_index_formula_on_odd_sizes() {
        for (w, h) in [(1u32, 1u32), (1, 7), (7, 1), (13, 5), (64, 33), (101, 257)] {
            let img = GrayImage {
                width: w,
                height: h,
                pixels: (0..w * h)
                    .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
                    .collect(),
            };
            for turn in [90, 180, 270] {
                let ours = rotated_clockwise(&img, turn);
                let oracle = turned_by_index(&img, turn);
                assert_eq!((ours.width, ours.height), (oracle.width, oracle.height));
                assert!(ours.pixels == oracle.pixels, "{w}x{h} turned {turn}");
            }
            assert_eq!(rotated_clockwise(&img, 0).pixels, img.pixels);
            assert_eq!(rotated_clockwise(&img, 45).pixels, img.pixels);
        }
    }

    #[test]
    fn rotation_of_an_inconsistent_raster_returns_it_unturned() {
        let bad = GrayImage {
            width: 10,
            height: 10,
            pixels: vec![7; 3],
        };
        assert_eq!(rotated_clockwise(&bad, 90).pixels, vec![7; 3]);
    }

    #[test]
    fn inconsistent_raster_is_refused_not_crashed() {
        let mut e = engine();
        let bad = GrayImage {
            width: 100,
            height: 100,
            pixels: vec![255; 10],
        };
        assert!(matches!(e.recognize(&bad, 300), Err(OcrError::BadImage(_))));
        // The engine survives and still works.
        let ok = e.recognize(&rendered_page("Grüße aus Leipzig", 0), 300);
        assert!(ok.is_ok());
    }

    #[test]
    fn unknown_language_is_an_init_error() {
        let r = OcrEngine::new(&OcrOptions {
            languages: "xxq".into(),
            datapath: None,
            detect_orientation: false,
        });
        assert!(matches!(r, Err(OcrError::Init { .. })));
    }

    #[test]
    fn german_letter_is_read_with_umlauts_and_sharp_s() {
        let mut e = engine();
        let page = rendered_page(GERMAN_LETTER, 0);
        let t = e.recognize(&page, 300).unwrap();
        let got = squash(&t.text);
        for needle in [
            "Müller-Größe",
            "bestätigen",
            "gemäß",
            "Grüßen",
            "Straßenverkehrsbehörde",
            "Beträgen",
        ] {
            assert!(got.contains(needle), "{needle:?} missing in {got:?}");
        }
        assert_eq!(t.rotation, 0);
        assert!(t.mean_confidence > 80.0, "{}", t.mean_confidence);
        // Words and text agree.
        let words: Vec<&str> = t.words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(words.join(" "), got);
        // A second page on the same engine works (engine is reused, not consumed).
        let again = e.recognize(&page, 300).unwrap();
        assert_eq!(squash(&again.text), got);
    }

    #[test]
    fn upside_down_page_gives_rotation_180_and_upright_boxes() {
        let mut e = engine();
        let upright = e.recognize(&rendered_page(GERMAN_LETTER, 0), 300).unwrap();
        let turned = e
            .recognize(&rendered_page(GERMAN_LETTER, 180), 300)
            .unwrap();
        assert_eq!(turned.rotation, 180);
        assert_eq!(squash(&turned.text), squash(&upright.text));
        // Same page, same frame: the boxes of the first word agree within a few pixels.
        let (a, b) = (&upright.words[0], &turned.words[0]);
        assert!(
            a.left.abs_diff(b.left) <= 3 && a.top.abs_diff(b.top) <= 3,
            "{a:?} {b:?}"
        );
    }

    #[test]
    fn sideways_pages_give_90_and_270() {
        let mut e = engine();
        // Page turned 90 clockwise needs 270 clockwise to be upright, and vice versa.
        let t = e.recognize(&rendered_page(GERMAN_LETTER, 90), 300).unwrap();
        assert_eq!(t.rotation, 270);
        assert!(squash(&t.text).contains("Vollstreckungsverfahren"));
        let t = e
            .recognize(&rendered_page(GERMAN_LETTER, 270), 300)
            .unwrap();
        assert_eq!(t.rotation, 90);
    }
}
