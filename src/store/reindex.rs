//! `resiscan store reindex`: the index rebuilt from the signed notes alone (SPEC §8). The
//! index is a cache of what the batch notes say; when it is lost or damaged, every row comes
//! back from the notes: e-file, paths, PDF hash, source digest and retention date from the
//! batch notes (their CMS signatures checked), the filing time from each document's own note,
//! the full text from the PDF's text layer (poppler's `pdftotext`, the OCR text resiscan put
//! there), QA rejections from the signed QA addenda.
//!
//! The new index is built beside the old one and renamed over it, under the store's lock: a
//! rebuild that fails leaves the old index as it was.

use std::collections::BTreeMap;
use std::path::Path;

use super::index::Index;
use super::{BATCHES_DIR, INDEX_FILE, NewEntry, Store, StoreError};
use crate::note::{NoteKind, TransferNote};
use crate::outcome::Fate;

/// What a rebuild did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Reindexed {
    pub documents: usize,
    pub batches: usize,
    /// Notes that could not be used, documents whose text could not be read, …
    pub notices: Vec<String>,
}

impl Store {
    /// Rebuilds the index of the store at `dir` from its signed notes (see the module doc).
    pub fn reindex(dir: &Path) -> Result<Reindexed, StoreError> {
        let _lock = super::take_lock(dir)?;
        rebuild(dir)
    }
}

/// The rebuild itself; the caller holds the store's lock.
pub(super) fn rebuild(dir: &Path) -> Result<Reindexed, StoreError> {
    let mut out = Reindexed::default();
    let batches_dir = dir.join(BATCHES_DIR);
    let mut batch_dirs: Vec<_> = match std::fs::read_dir(&batches_dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(cause) => {
            return Err(StoreError::Io {
                path: batches_dir,
                cause,
            });
        }
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect(),
    };
    batch_dirs.sort();
    let mut entries: BTreeMap<String, NewEntry> = BTreeMap::new();
    let mut rejected = Vec::new();
    for bdir in &batch_dirs {
        let note_path = bdir.join("transfer-note.yaml");
        if !note_path.exists() {
            continue;
        }
        let Some(note) = signed_note(&note_path, &mut out.notices) else {
            continue;
        };
        out.batches += 1;
        for d in &note.documents {
            if !d.fate.in_store() {
                continue;
            }
            let Some(pdf) = &d.pdf else { continue };
            // The first note that filed it wins; a re-run's "already filed" repeats it.
            if entries.contains_key(&d.id) && d.fate == Fate::AlreadyFiled {
                continue;
            }
            let paths = Store::doc_paths_beside(pdf, &d.id);
            let own_note = std::fs::read(dir.join(&paths.note))
                .ok()
                .and_then(|b| TransferNote::from_yaml(&b).ok())
                .filter(|n| n.kind == NoteKind::Document);
            let filed_at = own_note
                .map(|n| n.times.signed_at)
                .unwrap_or_else(|| note.times.signed_at.clone());
            let joined: Vec<&str> = d.sources.iter().map(|s| s.sha256.as_str()).collect();
            let text = match pdf_text(&dir.join(pdf)) {
                Ok(t) => t,
                Err(e) => {
                    out.notices.push(format!(
                        "{}: its text could not be read back ({e}); `store search` will not \
                         find it",
                        d.id
                    ));
                    String::new()
                }
            };
            entries.insert(
                d.id.clone(),
                NewEntry {
                    doc_id: d.id.clone(),
                    batch_id: note.batch.clone(),
                    efile_id: d.filing.as_ref().and_then(|f| f.efile.clone()),
                    pdf_path: pdf.clone(),
                    note_path: paths.note,
                    meta_path: paths.meta,
                    pdf_sha256: d.pdf_sha256.clone().unwrap_or_default(),
                    source_digest: crate::crypto::sha256_hex(joined.join("\n").as_bytes()),
                    filed_at,
                    retention_until: d.filing.as_ref().and_then(|f| f.retention_until.clone()),
                    text,
                },
            );
        }
        rejected.extend(qa_rejections(bdir, &mut out.notices));
    }
    out.documents = entries.len();
    let tmp = dir.join(format!("{INDEX_FILE}.rebuild"));
    for stale in [
        tmp.clone(),
        dir.join(format!("{INDEX_FILE}.rebuild-journal")),
    ] {
        match std::fs::remove_file(&stale) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(StoreError::io(&stale)(e));
            }
            _ => {}
        }
    }
    {
        let mut index = Index::open(&tmp)?;
        let all: Vec<NewEntry> = entries.into_values().collect();
        index
            .record_all(&all)
            .map_err(|e| StoreError::index(&tmp, e))?;
        for (doc, reason) in &rejected {
            index
                .mark_rejected(doc, reason)
                .map_err(|e| StoreError::index(&tmp, e))?;
        }
    }
    // The old index's journal must not be replayed into the new one.
    for side in ["-journal", "-wal", "-shm"] {
        let p = dir.join(format!("{INDEX_FILE}{side}"));
        match std::fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(StoreError::io(&p)(e));
            }
            _ => {}
        }
    }
    let index = dir.join(INDEX_FILE);
    std::fs::rename(&tmp, &index).map_err(StoreError::io(&index))?;
    super::sync_dir(dir).map_err(StoreError::io(dir))?;
    Ok(out)
}

/// The batch note at `path` when its CMS signature holds (trust is the auditor's question,
/// the mathematics is ours); otherwise a notice and `None`.
fn signed_note(path: &Path, notices: &mut Vec<String>) -> Option<TransferNote> {
    let report = crate::verify::verify_detached_file(
        path,
        &crate::crypto::cms::detached_signature_path(path),
        &crate::verify::TrustStore::empty(),
    );
    if report.status == crate::verify::Status::Invalid {
        notices.push(format!(
            "{}: not used, its signature does not hold: {}",
            path.display(),
            report.problems.join("; ")
        ));
        return None;
    }
    match std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|b| TransferNote::from_yaml(&b).map_err(|e| e.to_string()))
    {
        Ok(n) => Some(n),
        Err(e) => {
            notices.push(format!("{}: not used: {e}", path.display()));
            None
        }
    }
}

/// The documents the batch's signed QA addendum last rejected, with the reason.
fn qa_rejections(batch_dir: &Path, notices: &mut Vec<String>) -> Vec<(String, String)> {
    let path = batch_dir.join(crate::addendum::ADDENDUM_FILE);
    let Ok(bytes) = std::fs::read(&path) else {
        return Vec::new();
    };
    match crate::addendum::QaAddendum::from_yaml(&bytes) {
        Err(e) => {
            notices.push(format!("{}: not used: {e}", path.display()));
            Vec::new()
        }
        Ok(a) => crate::addendum::latest_by_doc(&a.entries)
            .into_values()
            .filter(|e| e.result == crate::addendum::QaResult::Rejected)
            .map(|e| (e.doc, e.reason.unwrap_or_default()))
            .collect(),
    }
}

/// The text layer of `pdf`, as poppler's `pdftotext` reads it.
fn pdf_text(pdf: &Path) -> Result<String, String> {
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(pdf)
        .arg("-")
        .output()
        .map_err(|e| format!("pdftotext (poppler-utils) could not run: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "pdftotext failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
