//! The check `verify` runs on a batch's QA addendum (TR-03138 A.SC.8): the addendum `qa`
//! writes is read by the format in [`crate::addendum`].

use std::path::Path;

use super::{ItemReport, TrustStore, verify_detached_file};
use crate::addendum::{ADDENDUM_FILE, NOTE_FILE, QaAddendum, qa_state};

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
