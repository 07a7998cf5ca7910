//! The QA addendum (`_batches/<id>/qa-addendum.yaml` + `.p7s`): the signed record of the
//! visual checks, completing the batch transfer note's concordance statement (TR-03138 A.NB.4 e,
//! A.SC.8).
//!
//! The batch note is already signed when QA starts, so it is not touched; the addendum names it
//! by SHA-256 instead, and carries its own detached CMS (with signing-time, RFC 5652 11.3) made
//! the same way as the note's, so `openssl cms -verify -binary -content qa-addendum.yaml`
//! checks it. It is rewritten whole with every decision and signed anew: one file, one
//! signature, always stating the QA state its entries add up to.

use std::path::{Path, PathBuf};

pub(crate) use crate::addendum::{
    ADDENDUM_FORMAT, NoteReference, QaAddendum, QaEntry, latest_by_doc, qa_state,
};

use super::{ADDENDUM_FILE, LoadedBatch, NOTE_FILE, QaError, Selection};
use crate::crypto::identity::SigningIdentity;
use crate::note::Signer;

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
        signed_at: crate::machine::now_rfc3339(),
    }
}

/// The batch's addendum, or `None` when no check was recorded yet.
pub(crate) fn read(batch_dir: &Path) -> Result<Option<QaAddendum>, QaError> {
    let path = batch_dir.join(ADDENDUM_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(cause) => {
            return Err(QaError::Read { path, cause });
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addendum::QaResult;
    use crate::profile::Level;
    use crate::qa::testutil::FakeStore;
    use crate::qa::{Decision, RecordRequest, record, sample};
    use crate::verify::{Status, TrustStore, verify_addendum};

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
