//! The QA addendum (`_batches/<id>/qa-addendum.yaml` + `.p7s`): the signed record of the
//! visual checks, completing the batch transfer note's concordance statement (TR-03138 A.NB.4 e,
//! A.SC.8).
//!
//! The batch note is already signed when QA starts, so it is not touched; the addendum names it
//! by SHA-256 instead, and carries its own detached CMS (with signing-time, RFC 5652 11.3) made
//! the same way as the note's, so `openssl cms -verify -binary -content qa-addendum.yaml`
//! checks it. It is rewritten whole with every decision and signed anew: one file, one
//! signature, always stating the QA state its entries add up to.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{ADDENDUM_FILE, LoadedBatch, NOTE_FILE, QaError, Selection};
use crate::crypto::identity::SigningIdentity;
use crate::note::Signer;
use crate::verify::{ItemReport, TrustStore, verify_detached_file};

/// Format tag of the addendum.
pub const ADDENDUM_FORMAT: &str = "resiscan-qa-addendum/1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QaResult {
    /// Image and content match the original.
    Ok,
    /// They do not; the document is marked for rescan.
    Rejected,
}

/// One inspection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QaEntry {
    pub doc: String,
    pub result: QaResult,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// Pseudonym of the inspecting person.
    pub inspector: String,
    /// RFC 3339.
    pub time: String,
    /// SHA-256 of the PDF as inspected (checked against the note before recording).
    pub pdf_sha256: String,
    /// Whether the document was in the recorded selection; `false` is an "outside sample"
    /// check, recorded but not counted towards the sample.
    pub in_sample: bool,
}

/// The batch note the addendum completes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteReference {
    pub file: String,
    pub sha256: String,
}

/// The addendum as written and signed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QaAddendum {
    pub format: String,
    pub batch: String,
    pub batch_note: NoteReference,
    /// The seed of the recorded selection (`qa-selection.json`), so the draw can be redone.
    pub selection_seed: u64,
    /// The documents selected for inspection; with `entries` they determine `qa_state`.
    pub selected: Vec<String>,
    /// Every decision in the order recorded; for a document checked twice the later counts.
    pub entries: Vec<QaEntry>,
    /// "visual sample: X of Y inspected, Z rejected[: ids]" — what the entries add up to.
    pub qa_state: String,
    pub signer: Signer,
    pub signed_at: String,
}

/// The latest decision per document.
pub(crate) fn latest_by_doc(entries: &[QaEntry]) -> BTreeMap<String, QaEntry> {
    let mut latest = BTreeMap::new();
    for e in entries {
        latest.insert(e.doc.clone(), e.clone());
    }
    latest
}

/// The QA state sentence for a selection and the decisions recorded so far.
pub(crate) fn qa_state(selected: &[String], entries: &[QaEntry]) -> String {
    let latest = latest_by_doc(entries);
    let inspected = selected
        .iter()
        .filter(|d| latest.contains_key(d.as_str()))
        .count();
    let rejected: Vec<&str> = latest
        .values()
        .filter(|e| e.result == QaResult::Rejected)
        .map(|e| e.doc.as_str())
        .collect();
    let outside = latest.values().filter(|e| !e.in_sample).count();
    let mut s = format!(
        "visual sample: {inspected} of {} inspected, {} rejected",
        selected.len(),
        rejected.len()
    );
    if !rejected.is_empty() {
        s.push_str(&format!(": {}", rejected.join(", ")));
    }
    if outside > 0 {
        s.push_str(&format!("; {outside} outside sample"));
    }
    s
}

pub(crate) fn build(
    batch: &LoadedBatch,
    selection: &Selection,
    entries: Vec<QaEntry>,
    identity: &SigningIdentity,
) -> QaAddendum {
    let selected = selection.ids();
    QaAddendum {
        format: ADDENDUM_FORMAT.into(),
        batch: batch.id.clone(),
        batch_note: NoteReference {
            file: NOTE_FILE.into(),
            sha256: batch.note_sha256.clone(),
        },
        selection_seed: selection.seed,
        qa_state: qa_state(&selected, &entries),
        selected,
        entries,
        signer: Signer::of(identity),
        signed_at: crate::pipeline::now_rfc3339(),
    }
}

impl QaAddendum {
    /// The exact bytes written and signed.
    pub fn to_yaml(&self) -> Result<Vec<u8>, String> {
        let body = serde_saphyr::to_string(self).map_err(|e| e.to_string())?;
        Ok(
            format!("# QA-Nachtrag zum Transfervermerk (BSI TR-03138 A.SC.8, A.NB.4 e)\n{body}")
                .into_bytes(),
        )
    }

    pub fn from_yaml(bytes: &[u8]) -> Result<QaAddendum, String> {
        let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
        serde_saphyr::from_str(text).map_err(|e| e.to_string())
    }
}

/// The batch's addendum, or `None` when no check was recorded yet.
pub(crate) fn read(batch_dir: &Path) -> Result<Option<QaAddendum>, QaError> {
    let path = batch_dir.join(ADDENDUM_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(QaError::Read { path, source }),
    };
    QaAddendum::from_yaml(&bytes)
        .map(Some)
        .map_err(|reason| QaError::Unreadable {
            path,
            reason: format!("not a QA addendum: {reason}"),
        })
}

/// Writes the addendum and its detached CMS signature atomically; returns the addendum's path.
/// The signature goes last: a crash between the two leaves a signature that no longer fits,
/// which `verify` reports, never an unsigned addendum that looks complete.
pub(crate) fn write_signed(
    batch_dir: &Path,
    addendum: &QaAddendum,
    identity: &SigningIdentity,
) -> Result<PathBuf, QaError> {
    let path = batch_dir.join(ADDENDUM_FILE);
    let sign_err = |reason: String| QaError::Sign {
        path: path.clone(),
        reason,
    };
    let yaml = addendum.to_yaml().map_err(sign_err)?;
    let (_, p7s) = crate::crypto::cms::sign_content_now(identity, &yaml)
        .map_err(|e| sign_err(e.to_string()))?;
    super::write_file(&path, &yaml)?;
    super::write_file(&crate::crypto::cms::detached_signature_path(&path), &p7s)?;
    Ok(path)
}

/// Checks a batch's QA addendum: its signature, that it names the batch's current note by
/// hash, that its QA state is what its entries add up to, and that every entry's PDF hash is
/// the one the note records. `None` when the batch has no addendum (QA not started).
pub fn verify_addendum(batch_dir: &Path, trust: &TrustStore) -> Option<ItemReport> {
    let path = batch_dir.join(ADDENDUM_FILE);
    if !path.exists() {
        return None;
    }
    let mut report = verify_detached_file(
        &path,
        &crate::crypto::cms::detached_signature_path(&path),
        trust,
    );
    let addendum = match std::fs::read(&path)
        .map_err(|e| e.to_string())
        .and_then(|b| QaAddendum::from_yaml(&b))
    {
        Ok(a) => a,
        Err(e) => {
            report.fail(format!("not a readable QA addendum: {e}"));
            return Some(report);
        }
    };
    // Always the batch's own note: a path taken from the file could point anywhere.
    let note_path = batch_dir.join(NOTE_FILE);
    if addendum.batch_note.file != NOTE_FILE {
        report.fail(format!(
            "it names \"{}\" as its batch note instead of {NOTE_FILE}",
            addendum.batch_note.file
        ));
    }
    let note = std::fs::read(&note_path);
    match &note {
        Err(e) => report.fail(format!(
            "the batch note it completes ({}) is unreadable: {e}",
            note_path.display()
        )),
        Ok(bytes) => {
            let actual = crate::crypto::sha256_hex(bytes);
            if actual != addendum.batch_note.sha256 {
                report.fail(format!(
                    "it completes batch note SHA-256 {}, but {} now has {actual}",
                    addendum.batch_note.sha256,
                    note_path.display()
                ));
            }
        }
    }
    let expected = qa_state(&addendum.selected, &addendum.entries);
    if expected != addendum.qa_state {
        report.fail(format!(
            "its QA state \"{}\" does not match its entries (\"{expected}\")",
            addendum.qa_state
        ));
    }
    if let Ok(parsed) = note
        .as_deref()
        .map_err(|e| e.to_string())
        .and_then(|b| crate::note::TransferNote::from_yaml(b).map_err(|e| e.to_string()))
    {
        for e in &addendum.entries {
            match parsed.documents.iter().find(|d| d.id == e.doc) {
                None => report.fail(format!("entry for {}: not a document of the batch", e.doc)),
                Some(d) if d.pdf_sha256.as_deref() != Some(e.pdf_sha256.as_str()) => {
                    report.fail(format!(
                        "entry for {}: the inspected PDF's SHA-256 is not the one the note records",
                        e.doc
                    ))
                }
                Some(_) => {}
            }
        }
    }
    Some(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Level;
    use crate::qa::testutil::FakeStore;
    use crate::qa::{Decision, RecordRequest, record, sample};
    use crate::verify::Status;

    fn entry(doc: &str, result: QaResult, in_sample: bool) -> QaEntry {
        QaEntry {
            doc: doc.into(),
            result,
            reason: None,
            inspector: "qa-1".into(),
            time: "t".into(),
            pdf_sha256: "x".into(),
            in_sample,
        }
    }

    fn recorded_store() -> FakeStore {
        let fs = FakeStore::new(Level::Normal, 4);
        sample(fs.store(), Some("b1")).unwrap();
        for doc in ["b1_0001", "b1_0002"] {
            record(&RecordRequest {
                store: fs.store(),
                batch: "b1",
                doc,
                decision: Decision::Reject("Seite fehlt".into()),
                inspector: "qa-1",
                profile: None,
                seen_decisions: None,
            })
            .unwrap();
        }
        fs
    }

    #[test]
    fn qa_state_counts_the_latest_decision_per_document() {
        let sel = vec!["a".to_string(), "b".into(), "c".into()];
        assert_eq!(
            qa_state(&sel, &[]),
            "visual sample: 0 of 3 inspected, 0 rejected"
        );
        let entries = vec![
            entry("a", QaResult::Rejected, true),
            entry("b", QaResult::Ok, true),
            entry("a", QaResult::Ok, true),
            entry("z", QaResult::Rejected, false),
        ];
        assert_eq!(
            qa_state(&sel, &entries),
            "visual sample: 2 of 3 inspected, 1 rejected: z; 1 outside sample"
        );
    }

    #[test]
    fn the_addendum_verifies_and_references_the_note() {
        let fs = recorded_store();
        let r = verify_addendum(&fs.batch_dir(), &TrustStore::empty()).unwrap();
        // Demo-signed: mathematically fine, not trusted.
        assert_eq!(r.status, Status::Untrusted, "{:?}", r.problems);
        let a = read(&fs.batch_dir()).unwrap().unwrap();
        let note = std::fs::read(fs.batch_dir().join(NOTE_FILE)).unwrap();
        assert_eq!(a.batch_note.sha256, crate::crypto::sha256_hex(&note));
        assert_eq!(a.entries.len(), 2);
        assert!(a.qa_state.contains("2 rejected: b1_0001, b1_0002"));
        let text = std::fs::read_to_string(fs.batch_dir().join(ADDENDUM_FILE)).unwrap();
        assert!(text.starts_with("# QA-Nachtrag"));
    }

    #[test]
    fn no_addendum_no_report() {
        let fs = FakeStore::new(Level::Normal, 1);
        assert!(verify_addendum(&fs.batch_dir(), &TrustStore::empty()).is_none());
    }

    #[test]
    fn a_flipped_byte_breaks_the_signature() {
        let fs = recorded_store();
        let p = fs.batch_dir().join(ADDENDUM_FILE);
        let mut bytes = std::fs::read(&p).unwrap();
        let i = bytes.len() / 2;
        bytes[i] ^= 0x01;
        std::fs::write(&p, bytes).unwrap();
        let r = verify_addendum(&fs.batch_dir(), &TrustStore::empty()).unwrap();
        assert_eq!(r.status, Status::Invalid);
        assert!(
            r.problems.iter().any(|p| p.contains("digest mismatch")),
            "{:?}",
            r.problems
        );
    }

    #[test]
    fn a_changed_batch_note_is_reported() {
        let fs = recorded_store();
        fs.rewrite_note(|n| n.responsible.unit = Some("Stadtkasse".into()));
        let r = verify_addendum(&fs.batch_dir(), &TrustStore::empty()).unwrap();
        assert_eq!(r.status, Status::Invalid);
        assert!(
            r.problems
                .iter()
                .any(|p| p.contains("completes batch note"))
        );
    }

    #[test]
    fn a_state_that_does_not_match_the_entries_is_reported_even_if_resigned() {
        let fs = recorded_store();
        let mut a = read(&fs.batch_dir()).unwrap().unwrap();
        a.qa_state = "visual sample: 4 of 4 inspected, 0 rejected".into();
        let id = SigningIdentity::demo(fs.store()).unwrap();
        write_signed(&fs.batch_dir(), &a, &id).unwrap();
        let r = verify_addendum(&fs.batch_dir(), &TrustStore::empty()).unwrap();
        assert_eq!(r.status, Status::Invalid);
        assert!(
            r.problems
                .iter()
                .any(|p| p.contains("does not match its entries"))
        );
    }

    #[test]
    fn openssl_verifies_the_detached_signature_and_rejects_a_flipped_byte() {
        let fs = recorded_store();
        let p = fs.batch_dir().join(ADDENDUM_FILE);
        let sig = crate::crypto::cms::detached_signature_path(&p);
        let run = |content: &Path| {
            std::process::Command::new("openssl")
                .args(["cms", "-verify", "-binary", "-inform", "DER", "-noverify"])
                .arg("-in")
                .arg(&sig)
                .arg("-content")
                .arg(content)
                .arg("-out")
                .arg("/dev/null")
                .output()
                .expect("openssl runs")
        };
        let ok = run(&p);
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
        let flipped = fs.store().join("flipped.yaml");
        let mut bytes = std::fs::read(&p).unwrap();
        bytes[10] ^= 0x20;
        std::fs::write(&flipped, bytes).unwrap();
        assert!(!run(&flipped).status.success());
    }
}
