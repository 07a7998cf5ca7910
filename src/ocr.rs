//! OCR through libtesseract (the `tesseract` crate, Tesseract's C API): one engine per worker
//! thread, created once (~150 ms) and reused for every page that worker sees.
//!
//! What comes back is what the PDF text layer and the classifier need: the engine's own text,
//! words with pixel boxes and confidences in reading order, and the page orientation.

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

/// A Tesseract engine owned by one worker thread.
pub struct OcrEngine {
    _private: (),
}

impl OcrEngine {
    pub fn new(options: &OcrOptions) -> Result<Self, OcrError> {
        Err(OcrError::Init {
            languages: options.languages.clone(),
            detail: "OCR is not built yet".into(),
        })
    }

    /// Recognises one page. `dpi` is the page's resolution (Tesseract sizes its models by it).
    pub fn recognize(&mut self, page: &GrayImage, dpi: u32) -> Result<PageText, OcrError> {
        let _ = (page, dpi);
        Err(OcrError::Recognize("OCR is not built yet".into()))
    }
}
