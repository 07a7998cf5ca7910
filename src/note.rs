//! The transfer note (Transfervermerk, TR-03138 A.NB.4): the signed record of who scanned what,
//! when, with which environment, after which checks, and where it was filed.
//!
//! One note per document beside its PDF and one per batch listing every document; each is YAML
//! signed as detached CMS (DER) in a `.p7s` beside it. The note is serialised once and exactly
//! those bytes are written and signed, so `openssl cms -verify -binary -content NOTE` holds.
//!
//! Mapping to A.NB.4: a) responsible person, organisation, unit -> [`Responsible`];
//! b) technical environment, procedure documentation -> [`Environment`]; c) times -> [`Times`];
//! d) per-document inputs, checks, anomalies and outputs -> [`DocumentRecord`];
//! e) the statement of image and content concordance and the QA state it rests on ->
//! [`Concordance`]; f) the signer -> [`Signer`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::outcome::Fate;

/// Format tag written into every note, so later readers know which fields to expect.
pub const NOTE_FORMAT: &str = "resiscan-transfer-note/1";

/// The concordance statement (TR-03138 A.NB.4 e) in German, as the DMS users read it.
pub const CONCORDANCE_STATEMENT: &str = "Die bildliche und inhaltliche Übereinstimmung des \
Scanprodukts mit dem Original wurde nach der Verfahrensdokumentation geprüft.";

/// QA state while only the automatic checks have run (the visual sample is pending).
pub const QA_AUTOMATIC_ONLY: &str = "automatic checks passed; visual sample pending";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    Document,
    Batch,
}

/// A.NB.4 a: who is responsible.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Responsible {
    /// Pseudonym of the operator from `batch.yaml`; "not recorded" when the station gave none.
    pub operator: String,
    pub organisation: String,
    pub unit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileRef {
    pub name: String,
    pub version: u32,
    pub sha256: String,
}

/// A.NB.4 b: the technical environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// "resiscan <version>".
    pub software: String,
    /// The OCR engine and its version, e.g. "Tesseract 5.3.0 (deu+eng)".
    pub ocr_engine: String,
    pub host: String,
    pub station: Option<String>,
    pub scanner: Option<crate::intake::Scanner>,
    pub profile: ProfileRef,
    pub procedure_doc: Option<String>,
    pub protection: crate::profile::Level,
    /// The visual-QA sample share in percent the profile set (or its level's default).
    pub qa_sample_percent: f64,
}

/// A.NB.4 c: times, RFC 3339.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Times {
    /// As recorded by the scan station (`batch.yaml`), when it did.
    pub scanned_at: Option<String>,
    pub processing_started: String,
    pub processing_finished: String,
    pub signed_at: String,
}

/// A.NB.4 f: who signed the note and the PDFs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signer {
    pub subject: String,
    pub certificate_sha256: String,
    /// "demo (untrusted)" for a generated trial identity, else "certificate".
    pub kind: SignerKind,
}

/// What kind of identity signed: the YAML spells it out for a person reading the note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignerKind {
    /// A generated trial identity (`signing.demo: true`), untrusted by construction.
    #[serde(rename = "demo (untrusted)")]
    Demo,
    /// The profile's own certificate and key.
    #[serde(rename = "certificate")]
    Certificate,
}

impl std::fmt::Display for SignerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SignerKind::Demo => "demo (untrusted)",
            SignerKind::Certificate => "certificate",
        })
    }
}

impl Signer {
    /// How the notes name `identity`.
    pub fn of(identity: &crate::crypto::identity::SigningIdentity) -> Signer {
        Signer {
            subject: identity.subject().to_string(),
            certificate_sha256: identity.fingerprint_hex(),
            kind: if identity.is_demo() {
                SignerKind::Demo
            } else {
                SignerKind::Certificate
            },
        }
    }
}

/// One input file of a document, hashed as read from the batch before any processing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceFile {
    /// Path relative to the batch folder.
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
    pub pages: usize,
}

/// Quality and OCR results of one scanned page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageRecord {
    /// 1-based page number in scan order.
    pub number: usize,
    /// The source file (relative to the batch) and the page within it (1-based).
    pub source: String,
    pub source_page: usize,
    pub width: u32,
    pub height: u32,
    pub dpi: Option<f64>,
    pub dpi_source: String,
    pub color: String,
    pub blank: bool,
    /// Left out of the PDF (blank and the profile drops blank pages).
    pub dropped: bool,
    pub ocr_confidence: Option<f32>,
    pub words: Option<usize>,
    /// Clockwise degrees applied through `/Rotate` to show the page upright.
    pub rotation: u16,
    /// How the image went into the PDF: "DCT passthrough", "CCITT G4 passthrough", "Flate".
    pub embedding: Option<String>,
}

/// Where a document was filed and why (classification result in short).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Filing {
    /// The e-file id, or `None` when unclassified.
    pub efile: Option<String>,
    pub title: Option<String>,
    /// Store-relative folder.
    pub folder: String,
    pub score: Option<f64>,
    /// What decided it: the terms and fields found.
    pub decided_by: Vec<String>,
    pub runner_up: Option<String>,
    pub ambiguous: bool,
    pub retention_until: Option<String>,
}

/// A.NB.4 d: one document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentRecord {
    pub id: String,
    /// The entry name in the batch folder.
    pub entry: String,
    pub fate: Fate,
    /// Why the document was quarantined, unclassified or not filed again.
    pub reason: Option<String>,
    pub sources: Vec<SourceFile>,
    pub pages: Vec<PageRecord>,
    /// 1-based numbers of pages left out as blank.
    pub dropped_pages: Vec<usize>,
    /// Findings that need a person's eye (low OCR confidence, blank page kept, …).
    pub flags: Vec<String>,
    /// What the operator noted on the paper (`batch.yaml` anomalies).
    pub anomaly: Option<String>,
    pub mean_ocr_confidence: Option<f32>,
    /// Store-relative path and SHA-256 of the signed PDF.
    pub pdf: Option<String>,
    pub pdf_sha256: Option<String>,
    pub filing: Option<Filing>,
    /// Index fields (Verschlagwortung): name -> value (normalised) as filed.
    pub index_fields: BTreeMap<String, String>,
    /// The separator sheets of a stack (SPEC §6) that belong to this document: the one that
    /// starts it, and any with no document after them. Empty (and not written) for documents
    /// that are not cut from a stack, so notes of other profiles stay as they were.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub separator_sheets: Vec<SeparatorSheet>,
}

/// One separator sheet found in a stack (SPEC §6): never silently lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeparatorSheet {
    /// `patch_t`, `patch_2`, `patch_3`, `barcode` or `cover`.
    pub kind: String,
    /// The source file (relative to the batch) and the page within it (1-based).
    pub source: String,
    pub source_page: usize,
    /// 1-based page within the entry (the stack).
    pub stack_page: usize,
    /// What a `barcode` sheet's barcode reads, or a cover sheet's whole payload.
    pub payload: Option<String>,
    /// `keep_sheets: true`: the sheet is a page of the PDF; else it was left out.
    pub kept: bool,
}

/// A.NB.4 e: the concordance statement and what it rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Concordance {
    pub statement: String,
    pub rests_on: Vec<String>,
    pub qa_state: String,
}

impl Concordance {
    /// The statement as it stands after the automatic checks.
    pub fn automatic(checks: Vec<String>) -> Concordance {
        Concordance {
            statement: CONCORDANCE_STATEMENT.to_string(),
            rests_on: checks,
            qa_state: QA_AUTOMATIC_ONLY.to_string(),
        }
    }
}

/// The batch's completeness check (A.NB.3): what the station counted against what was found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completeness {
    pub expected_documents: Option<usize>,
    pub found_documents: usize,
    pub complete: Option<bool>,
}

/// A per-document or per-batch transfer note. `D` is how the documents are held: a `Vec` when
/// a note is read or built whole, or a type that streams them from disk when a large batch
/// note is written (see `pipeline`), so the note never has to be in memory at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferNote<D = Vec<DocumentRecord>> {
    pub format: String,
    pub kind: NoteKind,
    pub batch: String,
    pub responsible: Responsible,
    pub environment: Environment,
    pub times: Times,
    pub signer: Signer,
    /// Batch notes only.
    pub completeness: Option<Completeness>,
    /// Batch notes only: the SHA-256 of each document's own note, by document id.
    pub document_notes: BTreeMap<String, String>,
    pub documents: D,
    pub concordance: Concordance,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    #[error("cannot serialise the transfer note: {0}")]
    Serialise(String),
    #[error("cannot read transfer note: {0}")]
    Parse(String),
}

impl<D: Serialize> TransferNote<D> {
    /// The note as the YAML bytes that are written and signed.
    pub fn to_yaml(&self) -> Result<Vec<u8>, NoteError> {
        let mut out = Vec::new();
        self.write_yaml(&mut out)
            .map_err(|e| NoteError::Serialise(e.to_string()))?;
        Ok(out)
    }

    /// Writes the note's YAML to `out` as it is serialised; the same bytes as [`Self::to_yaml`].
    pub fn write_yaml(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        let header = match self.kind {
            NoteKind::Document => "# Transfervermerk (BSI TR-03138 A.NB.4) — Dokument\n",
            NoteKind::Batch => "# Transfervermerk (BSI TR-03138 A.NB.4) — Stapel\n",
        };
        out.write_all(header.as_bytes())?;
        serde_saphyr::to_io_writer(out, self).map_err(std::io::Error::other)
    }

    /// The same note with its documents held as `documents`.
    pub fn with_documents<E>(self, documents: E) -> TransferNote<E> {
        TransferNote {
            format: self.format,
            kind: self.kind,
            batch: self.batch,
            responsible: self.responsible,
            environment: self.environment,
            times: self.times,
            signer: self.signer,
            completeness: self.completeness,
            document_notes: self.document_notes,
            documents,
            concordance: self.concordance,
        }
    }
}

impl TransferNote {
    pub fn from_yaml(bytes: &[u8]) -> Result<TransferNote, NoteError> {
        let text = std::str::from_utf8(bytes).map_err(|e| NoteError::Parse(e.to_string()))?;
        serde_saphyr::from_str(text).map_err(|e| NoteError::Parse(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample_note() -> TransferNote {
        TransferNote {
            format: NOTE_FORMAT.into(),
            kind: NoteKind::Document,
            batch: "b1".into(),
            responsible: Responsible {
                operator: "ps-0417".into(),
                organisation: "Stadt Leipzig".into(),
                unit: None,
            },
            environment: Environment {
                software: "resiscan 0.1.0".into(),
                ocr_engine: "Tesseract 5.3.0".into(),
                host: "scan01".into(),
                station: Some("Scanplatz 3".into()),
                scanner: None,
                profile: ProfileRef {
                    name: "demo".into(),
                    version: 1,
                    sha256: "ab".into(),
                },
                procedure_doc: None,
                protection: crate::profile::Level::Normal,
                qa_sample_percent: 5.0,
            },
            times: Times {
                scanned_at: None,
                processing_started: "2026-11-25T01:00:00Z".into(),
                processing_finished: "2026-11-25T01:00:05Z".into(),
                signed_at: "2026-11-25T01:00:05Z".into(),
            },
            signer: Signer {
                subject: "CN=x".into(),
                certificate_sha256: "cd".into(),
                kind: SignerKind::Demo,
            },
            completeness: None,
            document_notes: BTreeMap::new(),
            documents: vec![DocumentRecord {
                id: "b1_0001".into(),
                entry: "0001".into(),
                fate: Fate::Filed,
                reason: None,
                sources: vec![SourceFile {
                    file: "0001/1.png".into(),
                    sha256: "ef".into(),
                    bytes: 10,
                    pages: 1,
                }],
                pages: vec![],
                dropped_pages: vec![2],
                flags: vec![],
                anomaly: Some("Seite 2 eingerissen: \"rechts\"".into()),
                mean_ocr_confidence: Some(91.5),
                pdf: Some("20/b1_0001.pdf".into()),
                pdf_sha256: Some("01".into()),
                filing: None,
                index_fields: BTreeMap::from([("az".to_string(), "VB-2026-00417".to_string())]),
                separator_sheets: vec![],
            }],
            concordance: Concordance::automatic(vec!["dpi >= 300".into()]),
        }
    }

    #[test]
    fn a_note_survives_yaml_round_trip() {
        let note = sample_note();
        let yaml = note.to_yaml().unwrap();
        let text = String::from_utf8(yaml.clone()).unwrap();
        assert!(text.starts_with("# Transfervermerk"));
        assert!(text.contains("Übereinstimmung"));
        assert_eq!(TransferNote::from_yaml(&yaml).unwrap(), note);
    }
}
