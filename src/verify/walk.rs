//! `resiscan verify PATH...`: what a path is (a PDF, a note, a batch folder, a whole store)
//! decides what is checked. Beyond each signature, the notes' contents are held against the
//! files: every PDF a note names exists and has the hash the note records, every document a
//! batch note lists has its own note with the recorded hash, and no PDF in the store is
//! unaccounted for by a batch note (TR-03138 A.NB.3 completeness, A.NB.4 integrity).

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::completeness::{self, ChainView, NotedDoc, Seen};
use super::{
    ItemKind, ItemReport, Status, TrustStore, VerifyError, verify_detached_file, verify_pdf,
};
use crate::note::{NoteKind, TransferNote};
use crate::outcome::Exit;

/// Everything `verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyOutcome {
    pub items: Vec<ItemReport>,
    pub valid: usize,
    /// Items of a run that has not finished (an unfinished batch, a document it had not yet
    /// committed): not failures, but the same `ingest` must run again.
    pub pending: usize,
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
                Status::Pending => "PENDING",
                Status::Untrusted => "UNTRUSTED",
                Status::Invalid => "INVALID",
            };
            let mut line = format!("{status:<9} {}", i.path.display());
            if let Some(s) = &i.signer {
                line.push_str(&format!("  signer: {s}"));
            }
            if let Some(t) = i.timestamp {
                line.push_str(&format!(
                    "  timestamp: {} by {}",
                    crate::machine::rfc3339(t),
                    i.timestamp_by.as_deref().unwrap_or("?")
                ));
            }
            if !i.problems.is_empty() {
                line.push_str(&format!("  — {}", i.problems.join("; ")));
            }
            if !i.notes.is_empty() {
                line.push_str(&format!("  (note: {})", i.notes.join("; ")));
            }
            out.push(line);
        }
        out.push(format!(
            "{} items: {} valid, {}{} untrusted, {} invalid{}",
            self.items.len(),
            self.valid,
            if self.pending > 0 {
                format!(
                    "{} pending (a run that did not finish: run the same ingest again), ",
                    self.pending
                )
            } else {
                String::new()
            },
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

    /// 0 only when every item is valid and trusted (SPEC §1); pending items of an unfinished
    /// run are not failures: what is there is sound, the batch is just not complete yet.
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
    run_with(
        paths,
        &VerifyOptions {
            trust: trust_files,
            ..VerifyOptions::default()
        },
    )
}

/// What a verify run checks against, beyond the paths themselves.
#[derive(Debug, Default, Clone, Copy)]
pub struct VerifyOptions<'a> {
    /// PEM files of trusted certificates (`verify --trust`).
    pub trust: &'a [PathBuf],
    /// CRLs that judge revocation at the proven signing time (`verify --crl`).
    pub crls: &'a [PathBuf],
    /// A `store_head` recorded earlier: a store must still hold it in its signed chain, else
    /// it was rolled back past it (SPEC §8, `verify --head`).
    pub head: Option<&'a str>,
}

/// [`run`], with everything [`VerifyOptions`] can ask for.
pub fn run_with(
    paths: &[PathBuf],
    options: &VerifyOptions<'_>,
) -> Result<VerifyOutcome, VerifyError> {
    let trust = if options.trust.is_empty() {
        TrustStore::empty()
    } else {
        TrustStore::from_pem_files(options.trust)?
    }
    .with_crls(options.crls)?;
    let mut items = Vec::new();
    for path in paths {
        verify_path(path, &trust, options.head, &mut items);
    }
    let count = |s: Status| items.iter().filter(|i: &&ItemReport| i.status == s).count();
    Ok(VerifyOutcome {
        valid: count(Status::Valid),
        pending: count(Status::Pending),
        untrusted: count(Status::Untrusted),
        invalid: count(Status::Invalid),
        trust_given: !trust.is_empty(),
        items,
    })
}

fn verify_path(path: &Path, trust: &TrustStore, head: Option<&str>, items: &mut Vec<ItemReport>) {
    if std::fs::symlink_metadata(path).is_err() {
        let mut r = ItemReport::new(path, ItemKind::Unknown);
        r.fail("does not exist");
        items.push(r);
        return;
    }
    if path.is_dir() {
        if path.join("index.sqlite").exists() || path.join(crate::store::BATCHES_DIR).is_dir() {
            verify_store(path, trust, head, items);
        } else if path.join("transfer-note.yaml").exists()
            || path.join(crate::store::RUN_MARKER).exists()
        {
            let store = path.parent().and_then(Path::parent).unwrap_or(path);
            let view = ChainView::load(store);
            verify_batch(store, path, trust, items, &mut Seen::default(), &view);
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
        let mut r = verify_pdf(path, trust);
        check_pdf_identity(path, &mut r);
        items.push(r);
    } else if name.ends_with(".p7s") {
        let content = path.with_extension("");
        items.push(verify_note(&content, trust));
    } else {
        items.push(verify_note(path, trust));
    }
}

/// A note's signature, and — for a document note — the PDF beside it against its recorded hash.
fn verify_note(note_path: &Path, trust: &TrustStore) -> ItemReport {
    verify_note_hashed(note_path, trust, &std::collections::BTreeMap::new())
}

/// As [`verify_note`], with the PDFs already hashed in this walk (`hashed`), so a store's
/// PDFs are read for their SHA-256 once, not once per note that names them.
fn verify_note_hashed(
    note_path: &Path,
    trust: &TrustStore,
    hashed: &std::collections::BTreeMap<PathBuf, String>,
) -> ItemReport {
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
                let pdf = folder.join(format!("{}.pdf", d.id));
                match (hashed.get(&pdf), d.pdf_sha256.as_deref()) {
                    (Some(actual), Some(recorded)) if actual == recorded => {}
                    (Some(_), None) => {}
                    // Not the recorded file: perhaps a renewal of it (read again to tell).
                    (_, recorded) => {
                        check_pdf_hash(&mut report, &pdf, recorded);
                    }
                }
            }
        }
        Ok(_) => {}
    }
    report
}

/// Holds `pdf` against the hash a note records (a renewal of it counts, see
/// [`super::renewed`]); returns the hash read.
fn check_pdf_hash(report: &mut ItemReport, pdf: &Path, recorded: Option<&str>) -> Option<String> {
    let recorded = recorded?;
    // A PDF `renew` extended is its recorded self plus DSS and document-timestamp revisions.
    match super::renewed::pdf_against_record(pdf, recorded) {
        Err(e) => {
            report.fail(format!("{} is missing or unreadable: {e}", pdf.display()));
            None
        }
        Ok(m) => {
            if let Some(p) = m.problem(pdf, "the note's", recorded) {
                report.fail(p);
            }
            Some(m.actual().to_string())
        }
    }
}

/// `verify FILE.pdf`: the PDF must be the document its file name says (its XMP title carries
/// its document id) and, when its note sits beside it, the one the note names with the hash
/// the note records (issue #15 D7: a copy of another document under this name).
fn check_pdf_identity(pdf: &Path, report: &mut ItemReport) {
    let Some(stem) = pdf.file_stem().and_then(|s| s.to_str()) else {
        return;
    };
    match pdf_document_id(pdf) {
        Some(id) if id != stem => report.fail(format!(
            "the PDF is document {id}, not {stem} as its file name says (a copy of another \
             document under this name)"
        )),
        Some(_) => {}
        None => report.fail(
            "the PDF carries no resiscan document id (XMP dc:title), so nothing shows it is the \
             document its file name says",
        ),
    }
    let note = document_note_path(pdf);
    if let Ok(bytes) = std::fs::read(&note) {
        match TransferNote::from_yaml(&bytes) {
            Err(e) => report.fail(format!("its note {} is unreadable: {e}", note.display())),
            Ok(n) => match n.documents.iter().find(|d| d.id == stem) {
                None => report.fail(format!(
                    "its note {} names no document {stem}",
                    note.display()
                )),
                Some(d) => {
                    check_pdf_hash(report, pdf, d.pdf_sha256.as_deref());
                }
            },
        }
    }
}

/// The document id a resiscan PDF carries: its XMP `dc:title` is `<doc id> — <profile>`.
fn pdf_document_id(pdf: &Path) -> Option<String> {
    const TITLE: &[u8] = b"<dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">";
    let bytes = std::fs::read(pdf).ok()?;
    let at = bytes.windows(TITLE.len()).position(|w| w == TITLE)? + TITLE.len();
    let rest = &bytes[at..];
    let end = rest
        .windows(b"</rdf:li>".len())
        .position(|w| w == b"</rdf:li>")?;
    let title = std::str::from_utf8(&rest[..end]).ok()?;
    Some(title.split(" \u{2014} ").next()?.trim().to_string())
}

/// A batch folder `_batches/<id>`: its note, and every document it lists.
fn verify_batch(
    store: &Path,
    batch_dir: &Path,
    trust: &TrustStore,
    items: &mut Vec<ItemReport>,
    seen: &mut Seen,
    view: &ChainView,
) {
    let note_path = batch_dir.join("transfer-note.yaml");
    if let Some(marker) = crate::store::read_run_marker(batch_dir) {
        let mut r = ItemReport::new(batch_dir, ItemKind::Batch);
        let batch_id = batch_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Only the signed link that wrote the marker excuses it (SPEC §8).
        match (view.marker_not_excused(store, &batch_id), marker) {
            (Some(reason), _) => r.fail(reason),
            (None, Ok(m)) => r.pending(m.explanation()),
            (None, Err(e)) => r.fail(format!("the in-progress marker is unreadable: {e}")),
        }
        if note_path.exists() {
            r.notes
                .push("the transfer note here is from an earlier, finished run".into());
        }
        items.push(r);
        if !note_path.exists() {
            return;
        }
    }
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
        if !d.fate.in_store() {
            continue;
        }
        let Some(pdf_rel) = &d.pdf else {
            report.fail(format!("{}: filed but the note names no PDF", d.id));
            continue;
        };
        let pdf = store.join(pdf_rel);
        seen.listed.insert(pdf.clone());
        if let Some(sha) = check_pdf_hash(&mut report, &pdf, d.pdf_sha256.as_deref()) {
            seen.hashes.insert(pdf.clone(), sha);
        }
        seen.docs.insert(
            d.id.clone(),
            NotedDoc {
                batch: note.batch.clone(),
                pdf: d.pdf.clone(),
                pdf_sha256: d.pdf_sha256.clone(),
                efile: d.filing.as_ref().and_then(|f| f.efile.clone()),
                retention_until: d.filing.as_ref().and_then(|f| f.retention_until.clone()),
            },
        );
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
    if let Some(addendum) = super::verify_addendum(batch_dir, trust) {
        items.push(addendum);
    }
    // Each document's PDF signature and note are checked on their own (hashing, CMS and chain
    // checks): spread over the cores, reported in the note's order.
    use rayon::prelude::*;
    let hashed = &seen.hashes;
    let checked: Vec<(ItemReport, ItemReport)> = docs
        .par_iter()
        .map(|(pdf, doc_note)| {
            (
                verify_pdf(pdf, trust),
                verify_note_hashed(doc_note, trust, hashed),
            )
        })
        .collect();
    for (pdf, note) in checked {
        items.push(pdf);
        items.push(note);
    }
}

/// A whole store: its signed chain, every batch, every file against the chain, and the index
/// against the signed notes (SPEC §8).
fn verify_store(store: &Path, trust: &TrustStore, head: Option<&str>, items: &mut Vec<ItemReport>) {
    let view = ChainView::load(store);
    completeness::verify_chain(store, &view, head, trust, items);
    let mut seen = Seen::default();
    let batches = store.join(crate::store::BATCHES_DIR);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&batches)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    // Batches are checked on their own (their notes, PDFs and document notes), spread over
    // the cores; their findings are reported, and what they saw merged, in folder order.
    use rayon::prelude::*;
    let checked: Vec<(Vec<ItemReport>, Seen)> = dirs
        .par_iter()
        .map(|dir| {
            let mut found = Vec::new();
            let mut saw = Seen::default();
            verify_batch(store, dir, trust, &mut found, &mut saw, &view);
            (found, saw)
        })
        .collect();
    for (found, saw) in checked {
        items.extend(found);
        seen.listed.extend(saw.listed);
        seen.hashes.extend(saw.hashes);
        seen.docs.extend(saw.docs);
    }
    // The index is the commit point of every document; without one (a copied store) the
    // files themselves are the evidence.
    let index = crate::store::Store::open_read_only(store).ok();
    let unfinished: Vec<String> = view.expected.under_way.keys().cloned().collect();
    completeness::verify_files(store, &view, &seen, trust, items, |pdf, _batch, items| {
        if seen.listed.contains(pdf) {
            return;
        }
        if let Some((batch, committed)) = unfinished_batch_of(pdf, index.as_ref(), &unfinished) {
            verify_unfinished_document(pdf, &batch, committed, trust, items);
        }
    });
    completeness::reconcile_index(store, &view, &seen, items);
}

/// The unfinished batch an unlisted PDF belongs to, and whether the index committed it.
/// The batch is read from the index, else from the document's own note, else from the doc id
/// (`<batch-id>_<entry>`, the longest matching batch id).
fn unfinished_batch_of(
    pdf: &Path,
    index: Option<&crate::store::Store>,
    unfinished: &[String],
) -> Option<(String, bool)> {
    let doc_id = pdf.file_stem()?.to_str()?;
    if let Some(entry) = index.and_then(|s| s.lookup(doc_id).ok().flatten()) {
        return unfinished
            .contains(&entry.batch_id)
            .then_some((entry.batch_id, true));
    }
    let committed = index.is_none()
        && crate::crypto::cms::detached_signature_path(&document_note_path(pdf)).exists();
    let from_note = std::fs::read(document_note_path(pdf))
        .ok()
        .and_then(|b| TransferNote::from_yaml(&b).ok())
        .map(|n| n.batch);
    let batch = match from_note {
        Some(b) => unfinished.contains(&b).then_some(b),
        None => crate::intake::batch_of_document_id(doc_id)
            .filter(|b| unfinished.iter().any(|u| u == b))
            .map(str::to_string),
    }?;
    Some((batch, committed))
}

fn document_note_path(pdf: &Path) -> PathBuf {
    pdf.with_extension("transfer.yaml")
}

/// A document of an unfinished batch: committed, it must verify by its own note like any
/// other; not committed, it is what the interrupted run left, and the next run rewrites it.
fn verify_unfinished_document(
    pdf: &Path,
    batch: &str,
    committed: bool,
    trust: &TrustStore,
    items: &mut Vec<ItemReport>,
) {
    if !committed {
        let mut r = ItemReport::new(pdf, ItemKind::Pdf);
        r.pending(format!(
            "not committed: the interrupted run of batch {batch} had not finished filing it; \
             the next run of the batch writes it again"
        ));
        items.push(r);
        return;
    }
    // Committed: listed in no batch note yet, but its own signed note vouches for it (the
    // batch's PENDING item says why the batch note is missing).
    items.push(verify_pdf(pdf, trust));
    items.push(verify_note(&document_note_path(pdf), trust));
}
