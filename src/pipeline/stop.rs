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
    #[error("{file}: cannot read: {cause}")]
    Unreadable { file: String, cause: std::io::Error },
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
    #[error("{file}: {cause}")]
    Image {
        file: String,
        cause: image::ImageError,
    },
    #[error("{file}, page {page}: {cause}")]
    Page {
        file: String,
        page: usize,
        cause: image::ImageError,
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
    #[error("{file}, page {page}: OCR: {cause}")]
    Ocr {
        file: String,
        page: usize,
        cause: crate::ocr::OcrError,
    },
    #[error("every page is blank: nothing to file; check the scan")]
    AllBlank,
    #[error("PDF: {0}")]
    Pdf(crate::pdf::PdfError),
    #[error("PDF writer left no signature placeholder")]
    NoPlaceholder,
    #[error("signing the PDF: {0}")]
    SignPdf(crate::pdf::sign::SignError),
    #[error("appending the DSS (signing.revocation: embed): {0}")]
    Dss(String),
    #[error("e-file path for '{efile}': {cause}")]
    FilingPath {
        efile: String,
        cause: store::StoreError,
    },
    #[error("{file}: vanished while processing: {cause}")]
    VanishedWhileProcessing { file: String, cause: std::io::Error },
    #[error("{file}: changed while processing; not filed")]
    ChangedWhileProcessing { file: String },
    /// The note could not be serialised or signed (a write failure is the store's).
    #[error(transparent)]
    Note(NoteError),
    #[error("{0}")]
    Meta(serde_json::Error),
    #[error("internal error while processing (please report): {0}")]
    Panic(String),
    /// The document's own data cannot be written (a name too long for the file system, a
    /// field-made folder that collides with the store's own names): quarantined, the run goes
    /// on (SPEC §8).
    #[error("not filed: {0}")]
    Unfileable(String),
    #[error(
        "filed before (batch {batch}), but the store no longer holds its files: {missing} is \
         missing. Not filed again and not counted as filed: restore the files from backup \
         (`resiscan verify STORE` lists what is missing)"
    )]
    FiledFilesMissing { batch: String, missing: String },
}

/// The store could not be read or written (disk full, read-only, I/O error): not the
/// document's fault, and every following document would fail the same way, so the run stops.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum StoreFault {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// `what` says what was being done to `path` ("cannot create", "writing", …).
    #[error("{what} {}: {cause}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{}: {cause}", path.display())]
    Sync {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot move the PDF into {}: {cause}", dir.display())]
    Move { dir: PathBuf, cause: std::io::Error },
    #[error("{file}: {cause}")]
    Meta { file: String, cause: std::io::Error },
    #[error(transparent)]
    Note(NoteError),
    /// The TSA did not give a valid timestamp: every following signature would lack it too.
    #[error(transparent)]
    Timestamp(crate::crypto::tsp::TsaError),
}

/// How a TSA failure's reason starts ([`crate::crypto::tsp::TsaError`]'s text), so that the
/// run's summary can tell it from the store's failures.
pub(crate) const TSA_FAILURE_PREFIX: &str = "timestamp authority ";

impl StoreFault {
    /// A write that failed because of the name it was given (too long, a folder where a file
    /// is, or the other way round), not because of the store: this document's problem. Disk
    /// full, read-only and I/O errors stay the store's.
    pub(super) fn document_name_fault(&self) -> Option<String> {
        let cause = match self {
            StoreFault::Io { cause, .. }
            | StoreFault::Sync { cause, .. }
            | StoreFault::Move { cause, .. }
            | StoreFault::Meta { cause, .. } => cause,
            StoreFault::Store(store::StoreError::Io { cause, .. }) => cause,
            StoreFault::Note(NoteError::Write { cause, .. }) => cause,
            _ => return None,
        };
        let code = cause.raw_os_error()?;
        [
            libc::ENAMETOOLONG,
            libc::EEXIST,
            libc::ENOTDIR,
            libc::EISDIR,
        ]
        .contains(&code)
        .then(|| format!("its files cannot be written under that name: {self}"))
    }

    pub(super) fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StoreFault {
        let path = path.to_path_buf();
        move |cause| StoreFault::Io { what, path, cause }
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
                cause: source,
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
            NoteError::Sign {
                cause: crate::crypto::CryptoError::Timestamp(tsa),
                ..
            } => StageError::Store(StoreFault::Timestamp(tsa)),
            other => StageError::Quarantine(DocError::Note(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    /// These quote their cause in their message (and so in `failed_batches[].reason` and the
    /// report), so they must not return it from `source()` too, or `{:#}` says it twice.
    #[test]
    fn document_and_store_faults_print_their_cause_once() {
        let io = |m: &str| std::io::Error::other(m.to_string());
        let file = || "a.tif".to_string();
        let path = || PathBuf::from("/s/work/a.pdf");
        let doc_errors = [
            DocError::Unreadable {
                file: file(),
                cause: io("read cause"),
            },
            DocError::Image {
                file: file(),
                cause: image::ImageError::Empty,
            },
            DocError::Page {
                file: file(),
                page: 2,
                cause: image::ImageError::Empty,
            },
            DocError::Ocr {
                file: file(),
                page: 2,
                cause: crate::ocr::OcrError::Recognize("ocr cause".into()),
            },
            DocError::FilingPath {
                efile: "E".into(),
                cause: store::StoreError::ReadOnly,
            },
            DocError::VanishedWhileProcessing {
                file: file(),
                cause: io("vanished cause"),
            },
        ];
        for e in &doc_errors {
            assert!(e.source().is_none(), "{e:?} still has a source()");
        }
        let doc = DocError::Unreadable {
            file: file(),
            cause: io("read cause"),
        };
        assert_eq!(doc.to_string(), "a.tif: cannot read: read cause");
        let store_faults = [
            StoreFault::io("writing", &path())(io("io cause")),
            StoreFault::Sync {
                path: path(),
                cause: io("sync cause"),
            },
            StoreFault::Move {
                dir: path(),
                cause: io("move cause"),
            },
            StoreFault::Meta {
                file: file(),
                cause: io("meta cause"),
            },
            StoreFault::Store(store::StoreError::Io {
                path: path(),
                cause: io("store cause"),
            }),
        ];
        for e in &store_faults {
            assert!(e.source().is_none(), "{e:?} still has a source()");
        }
        let full = anyhow::Error::from(StoreFault::io("writing", &path())(io("disk full")));
        assert_eq!(format!("{full:#}"), "writing /s/work/a.pdf: disk full");
    }
}
