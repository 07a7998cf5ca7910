//! `resiscan verify PATH...`: what a path is (a PDF, a note, a batch folder, a whole store)
//! decides what is checked. Beyond each signature, the notes' contents are held against the
//! files: every PDF a note names exists and has the hash the note records, every document a
//! batch note lists has its own note with the recorded hash, and no PDF in the store is
//! unaccounted for by a batch note (TR-03138 A.NB.3 completeness, A.NB.4 integrity).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{
    ItemKind, ItemReport, Status, TrustStore, VerifyError, verify_detached_file, verify_pdf,
};
use crate::note::{NoteKind, TransferNote};
use crate::outcome::{Exit, Fate};

/// Everything `verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyOutcome {
    pub items: Vec<ItemReport>,
    pub valid: usize,
    pub untrusted: usize,
    pub invalid: usize,
    /// Whether trust anchors were given; without them every signer is "untrusted".
    pub trust_given: bool,
}

impl VerifyOutcome {
    /// One line per item, then a summary line: what a QA clerk reads.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::with_capacity(self.items.len() + 1);
        for i in &self.items {
            let status = match i.status {
                Status::Valid => "VALID",
                Status::Untrusted => "UNTRUSTED",
                Status::Invalid => "INVALID",
            };
            let mut line = format!("{status:<9} {}", i.path.display());
            if let Some(s) = &i.signer {
                line.push_str(&format!("  signer: {s}"));
            }
            if !i.problems.is_empty() {
                line.push_str(&format!("  — {}", i.problems.join("; ")));
            }
            out.push(line);
        }
        out.push(format!(
            "{} items: {} valid, {} untrusted, {} invalid{}",
            self.items.len(),
            self.valid,
            self.untrusted,
            self.invalid,
            if self.trust_given {
                ""
            } else {
                " (no --trust given: signers cannot be trusted)"
            }
        ));
        out
    }

    /// 0 only when every item is valid and trusted (SPEC §1).
    pub fn exit(&self) -> Exit {
        if self.items.is_empty() || self.untrusted + self.invalid > 0 {
            Exit::Failure
        } else {
            Exit::Ok
        }
    }
}

/// Verifies every path: a PDF, a note (`*.yaml` with a `.p7s` beside it), a batch folder
/// (`_batches/<id>` of a store) or a store.
pub fn run(paths: &[PathBuf], trust_files: &[PathBuf]) -> Result<VerifyOutcome, VerifyError> {
    let trust = if trust_files.is_empty() {
        TrustStore::empty()
    } else {
        TrustStore::from_pem_files(trust_files)?
    };
    let mut items = Vec::new();
    for path in paths {
        verify_path(path, &trust, &mut items);
    }
    let count = |s: Status| items.iter().filter(|i: &&ItemReport| i.status == s).count();
    Ok(VerifyOutcome {
        valid: count(Status::Valid),
        untrusted: count(Status::Untrusted),
        invalid: count(Status::Invalid),
        trust_given: !trust.is_empty(),
        items,
    })
}

fn verify_path(path: &Path, trust: &TrustStore, items: &mut Vec<ItemReport>) {
    if std::fs::symlink_metadata(path).is_err() {
        let mut r = ItemReport::new(path, ItemKind::Unknown);
        r.fail("does not exist");
        items.push(r);
        return;
    }
    if path.is_dir() {
        if path.join("index.sqlite").exists() || path.join("_batches").is_dir() {
            verify_store(path, trust, items);
        } else if path.join("transfer-note.yaml").exists() {
            let store = path.parent().and_then(Path::parent).unwrap_or(path);
            verify_batch(store, path, trust, items, &mut BTreeSet::new());
        } else {
            let mut r = ItemReport::new(path, ItemKind::Unknown);
            let empty = std::fs::read_dir(path).is_ok_and(|mut d| d.next().is_none());
            r.fail(if empty {
                "an empty folder: nothing to verify (give a store, a batch folder under _batches/, a PDF or a transfer note)"
            } else {
                "neither a store (no index.sqlite, no _batches/) nor a batch folder (no transfer-note.yaml)"
            });
            items.push(r);
        }
        return;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    if name.ends_with(".pdf") {
        items.push(verify_pdf(path, trust));
    } else if name.ends_with(".p7s") {
        let content = path.with_extension("");
        items.push(verify_note(&content, trust));
    } else {
        items.push(verify_note(path, trust));
    }
}

/// A note's signature, and — for a document note — the PDF beside it against its recorded hash.
fn verify_note(note_path: &Path, trust: &TrustStore) -> ItemReport {
    let mut report = verify_detached_file(
        note_path,
        &crate::crypto::cms::detached_signature_path(note_path),
        trust,
    );
    let Ok(bytes) = std::fs::read(note_path) else {
        return report;
    };
    match TransferNote::from_yaml(&bytes) {
        Err(e) => report.fail(format!("not a readable transfer note: {e}")),
        Ok(note) if note.kind == NoteKind::Document => {
            let folder = note_path.parent().unwrap_or(Path::new("."));
            for d in &note.documents {
                check_pdf_hash(
                    &mut report,
                    &folder.join(format!("{}.pdf", d.id)),
                    d.pdf_sha256.as_deref(),
                );
            }
        }
        Ok(_) => {}
    }
    report
}

fn check_pdf_hash(report: &mut ItemReport, pdf: &Path, recorded: Option<&str>) {
    let Some(recorded) = recorded else {
        return;
    };
    match crate::crypto::hash::sha256_file_hex(pdf) {
        Err(e) => report.fail(format!("{} is missing or unreadable: {e}", pdf.display())),
        Ok(actual) if actual != recorded => report.fail(format!(
            "{}: SHA-256 {actual} differs from the note's {recorded}",
            pdf.display()
        )),
        Ok(_) => {}
    }
}

/// A batch folder `_batches/<id>`: its note, and every document it lists.
fn verify_batch(
    store: &Path,
    batch_dir: &Path,
    trust: &TrustStore,
    items: &mut Vec<ItemReport>,
    listed: &mut BTreeSet<PathBuf>,
) {
    let note_path = batch_dir.join("transfer-note.yaml");
    let mut report = verify_detached_file(
        &note_path,
        &crate::crypto::cms::detached_signature_path(&note_path),
        trust,
    );
    let note = std::fs::read(&note_path)
        .map_err(|e| e.to_string())
        .and_then(|b| TransferNote::from_yaml(&b).map_err(|e| e.to_string()));
    let note = match note {
        Ok(n) => n,
        Err(e) => {
            report.fail(format!("not a readable transfer note: {e}"));
            items.push(report);
            return;
        }
    };
    if let Some(c) = &note.completeness
        && c.complete == Some(false)
    {
        report.fail(format!(
            "incomplete batch: the station counted {:?} documents, {} were found",
            c.expected_documents, c.found_documents
        ));
    }
    let mut docs = Vec::new();
    for d in &note.documents {
        if !matches!(
            d.fate,
            Fate::Filed | Fate::Unclassified | Fate::AlreadyFiled
        ) {
            continue;
        }
        let Some(pdf_rel) = &d.pdf else {
            report.fail(format!("{}: filed but the note names no PDF", d.id));
            continue;
        };
        let pdf = store.join(pdf_rel);
        listed.insert(pdf.clone());
        check_pdf_hash(&mut report, &pdf, d.pdf_sha256.as_deref());
        let doc_note = pdf.with_file_name(format!("{}.transfer.yaml", d.id));
        match (
            note.document_notes.get(&d.id),
            crate::crypto::hash::sha256_file_hex(&doc_note),
        ) {
            (_, Err(e)) => report.fail(format!("{}: its transfer note is missing: {e}", d.id)),
            (Some(recorded), Ok(actual)) if recorded != &actual => report.fail(format!(
                "{}: its transfer note changed since the batch note was signed",
                d.id
            )),
            (None, Ok(_)) => report.fail(format!(
                "{}: the batch note records no hash of its note",
                d.id
            )),
            _ => {}
        }
        docs.push((pdf, doc_note));
    }
    items.push(report);
    // The visual-QA addendum, when QA has recorded anything (TR-03138 A.SC.8).
    if let Some(addendum) = crate::qa::verify_addendum(batch_dir, trust) {
        items.push(addendum);
    }
    for (pdf, doc_note) in docs {
        items.push(verify_pdf(&pdf, trust));
        items.push(verify_note(&doc_note, trust));
    }
}

/// A whole store: every batch, then every PDF that no batch note lists.
fn verify_store(store: &Path, trust: &TrustStore, items: &mut Vec<ItemReport>) {
    let mut listed = BTreeSet::new();
    let batches = store.join("_batches");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&batches)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    for dir in &dirs {
        verify_batch(store, dir, trust, items, &mut listed);
    }
    for entry in walkdir::WalkDir::new(store)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| {
            let n = e.file_name().to_string_lossy();
            !(e.depth() == 1 && (n == "_batches" || n == ".resiscan"))
        })
        .filter_map(|e| e.ok())
    {
        let p = entry.path();
        if p.extension().is_some_and(|x| x == "pdf") && !listed.contains(p) {
            let mut r = verify_pdf(p, trust);
            r.fail("not listed in any batch transfer note");
            items.push(r);
        }
    }
}
