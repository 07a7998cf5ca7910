//! The PDF stage: one PDF/A-2b file per document, written page by page to any `Write` so a
//! 300-page document never sits in memory whole. Images go in as the scanner encoded them
//! (see [`crate::image::Embed`]); an invisible text layer carries the OCR words.
//!
//! The writer reserves the signature field and a fixed-size `/Contents` placeholder; the
//! `sign` module fills it afterwards (PAdES B-B).

pub mod cover;
mod font;
mod icc;
mod objects;
pub mod sign;
mod syntax;
mod text;
pub mod update;
mod writer;
mod xmp;

#[cfg(test)]
mod end_to_end;

pub use writer::{PdfWriter, SignatureSpec, WrittenPdf};

use crate::image::{Embed, PageInfo};
use crate::ocr::PageText;

/// Document-level metadata, mirrored between the Info dictionary and XMP (ISO 19005-2 6.6.3).
#[derive(Debug, Clone)]
pub struct DocumentMeta {
    pub title: String,
    /// The organisation (XMP dc:creator / Info /Author).
    pub author: String,
    /// No `Keywords`: the Info dictionary and XMP are written before the first page, and the
    /// only meaningful keywords (the index fields) are known after the last page's OCR.
    pub subject: Option<String>,
    /// BCP 47 language for the catalog's `/Lang`, e.g. "de".
    pub lang: String,
    /// e.g. "resiscan 0.1.0".
    pub creator_tool: String,
    pub producer: String,
    pub created: time::OffsetDateTime,
    /// The trailer `/ID` (both halves equal on first write); derive it from the doc id.
    pub document_id: [u8; 16],
}

/// One page to write: how it was scanned, its bytes, its resolution and its OCR words.
#[derive(Debug, Clone, Copy)]
pub struct PdfPage<'a> {
    pub info: &'a PageInfo,
    pub embed: &'a Embed,
    /// Resolution (x, y) in dpi used for the page size (file metadata or assumed).
    pub dpi: (f64, f64),
    pub text: &'a PageText,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PdfError {
    #[error("writing the PDF failed: {0}")]
    Io(std::io::Error),
    #[error("a PDF needs at least one page")]
    NoPages,
    #[error("page {page}: {reason}")]
    BadPage { page: usize, reason: String },
    #[error("signature placeholder: {0}")]
    BadSignatureSpec(String),
    #[error("the text layer needs more than 65534 distinct characters, more than one font holds")]
    TooManyGlyphs,
}

// By hand, not `#[from]`: that would also make the I/O error the `source()` of an error that
// already prints it (STYLE §3: a cause is printed or sourced, never both).
impl From<std::io::Error> for PdfError {
    fn from(e: std::io::Error) -> PdfError {
        PdfError::Io(e)
    }
}

impl From<font::TooManyGlyphs> for PdfError {
    fn from(_: font::TooManyGlyphs) -> Self {
        PdfError::TooManyGlyphs
    }
}
