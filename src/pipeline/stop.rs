//! Why a document's way down the stages stops: a [`DocError`] quarantines the document with
//! a reason an operator reads (in quarantine.json and the notes), a [`StoreFault`] is the
//! store's failure and stops the run. The reasons keep their wording; the causes stay typed.

use std::path::{Path, PathBuf};

use super::NoteError;
use crate::image;
use crate::store;

/// Why a document is quarantined: something about the document itself. The texts are the
/// reasons operators read in quarantine.json and the notes; the sources stay typed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum DocError {
    /// Refused by intake (a link out of the batch, a sub-folder, a PDF at the batch root, …).
    #[error("{0}")]
    Refused(String),
    #[error("{file}: cannot read: {source}")]
    Unreadable {
        file: String,
        source: std::io::Error,
    },
    #[error(
        "another scan is already filed under this document id ({pdf}, batch {batch}, filed \
         {filed_at}): this entry's files differ from it. Not filed: if the batch id was used \
         before, give this batch a new id in batch.yaml; if the paper was rescanned, a person \
         decides which version counts"
    )]
    IdTaken {
        pdf: String,
        batch: String,
        filed_at: String,
    },
    #[error(
        "{file}: vanished while processing (it was there when the document was hashed); not filed"
    )]
    VanishedWhileRead { file: String },
    #[error("{file}: the file changed while it was being read; scan it again or re-run")]
    ChangedWhileRead { file: String },
    #[error("{file}: {source}")]
    Image {
        file: String,
        source: image::ImageError,
    },
    #[error("{file}, page {page}: {source}")]
    Page {
        file: String,
        page: usize,
        source: image::ImageError,
    },
    #[error(
        "{file}, page {page}: the file carries no resolution and the profile gives no scan.assume_dpi"
    )]
    NoResolution { file: String, page: usize },
    #[error("{file}, page {page}: {dpi:.0} dpi is below the profile's minimum of {min} dpi")]
    LowResolution {
        file: String,
        page: usize,
        dpi: f64,
        min: u32,
    },
    #[error("{file}, page {page}: OCR: {source}")]
    Ocr {
        file: String,
        page: usize,
        source: crate::ocr::OcrError,
    },
    #[error("every page is blank: nothing to file; check the scan")]
    AllBlank,
    #[error("PDF: {0}")]
    Pdf(crate::pdf::PdfError),
    #[error("PDF writer left no signature placeholder")]
    NoPlaceholder,
    #[error("signing the PDF: {0}")]
    SignPdf(crate::pdf::sign::SignError),
    #[error("e-file path for '{efile}': {source}")]
    FilingPath {
        efile: String,
        source: store::StoreError,
    },
    #[error("{file}: vanished while processing: {source}")]
    VanishedWhileProcessing {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: changed while processing; not filed")]
    ChangedWhileProcessing { file: String },
    /// The note could not be serialised or signed (a write failure is the store's).
    #[error(transparent)]
    Note(NoteError),
    #[error("{0}")]
    Meta(serde_json::Error),
    #[error("internal error while processing (please report): {0}")]
    Panic(String),
}

/// The store could not be read or written (disk full, read-only, I/O error): not the
/// document's fault, and every following document would fail the same way, so the run stops.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum StoreFault {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// `what` says what was being done to `path` ("cannot create", "writing", …).
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Sync {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot move the PDF into {}: {source}", dir.display())]
    Move {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: {source}")]
    Meta {
        file: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Note(NoteError),
}

impl StoreFault {
    pub(super) fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StoreFault {
        let path = path.to_path_buf();
        move |source| StoreFault::Io { what, path, source }
    }
}

/// Why a stage stopped.
#[derive(Debug)]
pub(crate) enum StageError {
    Quarantine(DocError),
    Store(StoreFault),
}

impl From<DocError> for StageError {
    fn from(e: DocError) -> StageError {
        StageError::Quarantine(e)
    }
}

impl From<StoreFault> for StageError {
    fn from(e: StoreFault) -> StageError {
        StageError::Store(e)
    }
}

impl From<store::StoreError> for StageError {
    fn from(e: store::StoreError) -> StageError {
        StageError::Store(StoreFault::Store(e))
    }
}

/// A PDF that cannot be written because the disk refused (full, read-only, I/O error) is the
/// store's failure — the work area is inside the store, and every following document would
/// fail the same way; anything else about the PDF is this document's problem.
impl From<(&Path, crate::pdf::PdfError)> for StageError {
    fn from((file, e): (&Path, crate::pdf::PdfError)) -> StageError {
        match e {
            crate::pdf::PdfError::Io(source) => StoreFault::Io {
                what: "writing",
                path: file.to_path_buf(),
                source,
            }
            .into(),
            other => DocError::Pdf(other).into(),
        }
    }
}

/// Only a failed write is the store's fault (the run stops); a note that cannot be serialised
/// or signed is this document's problem.
impl From<NoteError> for StageError {
    fn from(e: NoteError) -> StageError {
        match e {
            NoteError::Write { .. } => StageError::Store(StoreFault::Note(e)),
            other => StageError::Quarantine(DocError::Note(other)),
        }
    }
}
