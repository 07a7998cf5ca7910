//! The e-file store the DMS imports from (SPEC §4): sanitised paths, atomic writes, the index.
//!
//! What it promises:
//! - one writer at a time: [`Store::open`] takes an exclusive lock on
//!   `<store>/.resiscan/lock`, and a second ingest on the same store fails at once with
//!   [`StoreError::Locked`] (queries use [`Store::open_read_only`] and take no lock);
//! - no half files: every file goes in through [`atomic_write`] / [`AtomicFile`]; what a crash
//!   left as temporary files is removed the next time the store is opened for writing;
//! - nothing OCR reads can place a file outside the store ([`render_path`]);
//! - re-runs are idempotent: the index knows every filed document by its stable doc id and by
//!   the digest of its source files ([`Store::lookup`], [`Store::find_by_sources`]).

mod adopt;
pub mod chain;
mod index;
mod meta;
mod paths;
mod reindex;
pub mod renew;
mod unfinished;

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

pub use crate::atomic_file::{AtomicFile, atomic_write, sync_dir};
pub use adopt::{AdoptError, Adopted};
pub use index::{DocStatus, Hit, IndexedDoc, NewEntry};
pub use meta::{
    META_FORMAT, Meta, MetaClassification, MetaEfile, MetaField, MetaHashes, MetaSource,
    retention_until,
};
pub use paths::{
    MAX_NAME_BYTES, MAX_PATH_BYTES, MAX_SEGMENT_BYTES, PathTemplate, STORE_OWN_NAMES,
    doc_name_problem, filing_problem, render_path, sanitised_path_segment,
};
pub use reindex::Reindexed;
pub use renew::{RenewError, Renewed};
pub use unfinished::{
    RUN_MARKER, RunMarker, marker_bytes, read_run_marker, run_marker_path, run_marker_rel,
};

use index::Index;

/// The index file inside the store.
pub const INDEX_FILE: &str = "index.sqlite";
/// resiscan's own folder inside the store (lock file, scratch folder).
pub const STATE_DIR: &str = ".resiscan";
/// Scratch folder inside [`STATE_DIR`] for files being built (the pipeline's PDFs before they
/// are renamed into their e-file); emptied when the store is opened for writing.
pub const WORK_DIR: &str = "work";
/// Per-batch outputs: `_batches/<batch-id>/` (transfer note, report, quarantine list).
pub const BATCHES_DIR: &str = "_batches";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error(
        "the store is in use by another resiscan run{}: lock {path} is held",
        holder.as_deref().map(|h| format!(" ({h})")).unwrap_or_default()
    )]
    Locked {
        path: PathBuf,
        holder: Option<String>,
    },
    #[error("{path}: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("index {path}: {cause}{}", index_hint(cause))]
    Index {
        path: PathBuf,
        cause: Box<rusqlite::Error>,
    },
    #[error("{path} is not a resiscan store (no index file)")]
    NoIndex { path: PathBuf },
    #[error(
        "index {path} has schema version {found}; this resiscan reads up to {supported} — \
         use a newer resiscan"
    )]
    IndexVersion {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("the store was opened read-only")]
    ReadOnly,
    #[error("path template '{template}': {reason}")]
    BadTemplate { template: String, reason: String },
    #[error("path template '{template}' uses {{{field}}}, but no such index field was found")]
    UnknownField { template: String, field: String },
    #[error("'{path}' is not a relative path inside the store")]
    OutsideStore { path: PathBuf },
}

impl StoreError {
    fn index(path: &Path, e: rusqlite::Error) -> StoreError {
        StoreError::Index {
            path: path.to_path_buf(),
            cause: Box::new(e),
        }
    }

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
        move |cause| StoreError::Io {
            path: path.to_path_buf(),
            cause,
        }
    }
}

/// Takes the store's exclusive lock `.resiscan/lock` (creating the folder), writing who holds
/// it; refused at once with [`StoreError::Locked`] when another run holds it.
fn take_lock(dir: &Path) -> Result<File, StoreError> {
    let state = dir.join(STATE_DIR);
    std::fs::create_dir_all(&state).map_err(StoreError::io(&state))?;
    let lock_path = state.join("lock");
    let mut lock = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(StoreError::io(&lock_path))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = lock.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(StoreError::Locked {
                path: lock_path,
                holder: (!holder.is_empty()).then(|| holder.to_string()),
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(StoreError::io(&lock_path)(e)),
    }
    // Who holds it, for the message a second run prints (the lock itself is the flock).
    let who = format!(
        "pid {} on {}",
        std::process::id(),
        crate::machine::hostname().unwrap_or_else(|| "this host".into())
    );
    lock.set_len(0)
        .and_then(|()| lock.rewind())
        .and_then(|()| lock.write_all(who.as_bytes()))
        .map_err(StoreError::io(&lock_path))?;
    Ok(lock)
}

/// SQLite names a failed write only by its class ("disk I/O error"): say what it means for
/// the store, so the operator knows where to look.
fn index_hint(e: &rusqlite::Error) -> &'static str {
    use rusqlite::ErrorCode as C;
    match e.sqlite_error_code() {
        Some(C::SystemIoFailure) => {
            " (the file system refused to write or read the index: the store may be read-only, \
             full or failing)"
        }
        Some(C::DiskFull) => " (the store's file system is full)",
        Some(C::ReadOnly) => " (the index or its folder is read-only)",
        Some(C::CannotOpen) => {
            " (the index or its journal cannot be opened: the store may be read-only or its \
             permissions wrong)"
        }
        _ => "",
    }
}

/// An open e-file store.
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    index: Index,
    /// Holds the exclusive lock for as long as the store is open; `None` when read-only.
    _lock: Option<File>,
    removed_temps: Vec<PathBuf>,
    rebuilt: Option<Reindexed>,
}

/// The store files of one document, store-relative (SPEC §4): the one place that names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocPaths {
    pub pdf: String,
    pub note: String,
    /// The note's detached CMS signature.
    pub p7s: String,
    pub meta: String,
}

impl Store {
    /// The files of document `doc_id` in store folder `folder` (as the index records them).
    pub fn doc_paths(folder: &str, doc_id: &str) -> DocPaths {
        let stem = match folder.trim_end_matches('/') {
            "" => doc_id.to_string(),
            folder => format!("{folder}/{doc_id}"),
        };
        DocPaths {
            pdf: format!("{stem}.pdf"),
            note: format!("{stem}.transfer.yaml"),
            p7s: format!("{stem}.transfer.yaml.p7s"),
            meta: format!("{stem}.meta.json"),
        }
    }

    /// The files of document `doc_id` whose PDF is at the store path `pdf` (as a note
    /// records it): its note, signature and meta beside it.
    pub fn doc_paths_beside(pdf: &str, doc_id: &str) -> DocPaths {
        Store::doc_paths(pdf.rsplit_once('/').map_or("", |(f, _)| f), doc_id)
    }

    /// Opens (creating if needed) the store at `dir` for filing: takes the lock, removes the
    /// temporary files a crashed run left, opens or creates the index.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let lock = take_lock(dir)?;
        // Holding the lock, no live writer owns a temp file: every one is a crash leftover,
        // and so is everything in the scratch folder the pipeline builds PDFs in.
        let mut removed_temps =
            crate::atomic_file::remove_stale_temps(dir).map_err(StoreError::io(dir))?;
        let state = dir.join(STATE_DIR);
        let work = state.join(WORK_DIR);
        if work.is_dir() {
            for entry in walkdir::WalkDir::new(&work)
                .min_depth(1)
                .follow_links(false)
            {
                let entry = entry.map_err(|e| StoreError::io(&work)(e.into()))?;
                if !entry.file_type().is_dir() {
                    std::fs::remove_file(entry.path()).map_err(StoreError::io(entry.path()))?;
                    removed_temps.push(entry.into_path());
                }
            }
        }
        // The index is a cache of the signed notes: lost (deleted, a store copied without
        // it) while the store holds notes, it is rebuilt from them first, so a re-run finds
        // what is filed and never files it again over the signed files (issue #15 D9).
        let mut rebuilt = None;
        if !dir.join(INDEX_FILE).exists() && dir.join(BATCHES_DIR).is_dir() {
            rebuilt = Some(reindex::rebuild(dir)?);
        }
        let index = Index::open(&dir.join(INDEX_FILE))?;
        Ok(Store {
            root: dir.to_path_buf(),
            index,
            _lock: Some(lock),
            removed_temps,
            rebuilt,
        })
    }

    /// The index rebuild opening the store did, because the index was missing.
    pub fn rebuilt_index(&self) -> Option<&Reindexed> {
        self.rebuilt.as_ref()
    }

    /// Opens an existing store for queries (search, list, verify) without taking the lock.
    pub fn open_read_only(dir: &Path) -> Result<Store, StoreError> {
        let index = Index::open_read_only(&dir.join(INDEX_FILE))?;
        Ok(Store {
            root: dir.to_path_buf(),
            index,
            _lock: None,
            removed_temps: Vec::new(),
            rebuilt: None,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Temporary files of a crashed run that opening the store removed.
    pub fn removed_temps(&self) -> &[PathBuf] {
        &self.removed_temps
    }

    fn index_path(&self) -> PathBuf {
        self.root.join(INDEX_FILE)
    }

    fn writable(&self) -> Result<(), StoreError> {
        if self._lock.is_none() {
            return Err(StoreError::ReadOnly);
        }
        Ok(())
    }

    /// Writes `bytes` atomically to the store-relative path `rel`, creating its folders.
    pub fn write_file(&self, rel: &Path, bytes: &[u8]) -> Result<PathBuf, StoreError> {
        self.writable()?;
        if rel.as_os_str().is_empty()
            || !rel
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)))
        {
            return Err(StoreError::OutsideStore {
                path: rel.to_path_buf(),
            });
        }
        let full = self.root.join(rel);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).map_err(StoreError::io(parent))?;
        }
        atomic_write(&full, bytes).map_err(StoreError::io(&full))?;
        Ok(full)
    }

    /// The document filed under `doc_id`, if any.
    pub fn lookup(&self, doc_id: &str) -> Result<Option<IndexedDoc>, StoreError> {
        self.index
            .lookup(doc_id)
            .map_err(|e| StoreError::index(&self.index_path(), e))
    }

    /// The earliest document filed from the same source files (same digest), if any.
    pub fn find_by_sources(&self, source_digest: &str) -> Result<Option<IndexedDoc>, StoreError> {
        self.index
            .find_by_sources(source_digest)
            .map_err(|e| StoreError::index(&self.index_path(), e))
    }

    /// Records a filed document (one transaction; the same doc id again replaces, never
    /// duplicates). Call it after the document's files are in place.
    pub fn record(&mut self, entry: &NewEntry) -> Result<(), StoreError> {
        self.writable()?;
        let path = self.index_path();
        self.index
            .record(entry)
            .map_err(|e| StoreError::index(&path, e))
    }

    /// Records many documents in one transaction (rebuilding an index from meta files,
    /// benchmarks); same idempotence as [`Store::record`].
    pub fn record_all(&mut self, entries: &[NewEntry]) -> Result<(), StoreError> {
        self.writable()?;
        let path = self.index_path();
        self.index
            .record_all(entries)
            .map_err(|e| StoreError::index(&path, e))
    }

    /// Marks a filed document rejected with a reason; `false` when the index does not know it.
    pub fn mark_rejected(&mut self, doc_id: &str, reason: &str) -> Result<bool, StoreError> {
        self.writable()?;
        let path = self.index_path();
        self.index
            .mark_rejected(doc_id, reason)
            .map_err(|e| StoreError::index(&path, e))
    }

    /// Full-text search over the OCR text; best first, at most `limit` hits. Any user text is a
    /// valid query (see the index module).
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<Hit>, StoreError> {
        self.index
            .search(query, limit)
            .map_err(|e| StoreError::index(&self.index_path(), e))
    }

    /// The ids of the indexed documents that have a full-text row.
    pub fn ids_with_text(&self) -> Result<std::collections::BTreeSet<String>, StoreError> {
        self.index
            .ids_with_text()
            .map_err(|e| StoreError::index(&self.index_path(), e))
    }

    /// Every indexed document, or those of one e-file, ordered by e-file and doc id.
    pub fn list(&self, efile: Option<&str>) -> Result<Vec<IndexedDoc>, StoreError> {
        self.index
            .list(efile)
            .map_err(|e| StoreError::index(&self.index_path(), e))
    }
}

/// `resiscan store search`: the hits as a table (or JSON with `json`).
pub fn store_search(
    dir: &Path,
    query: &str,
    limit: usize,
    json: bool,
) -> Result<String, StoreError> {
    let hits = Store::open_read_only(dir)?.search(query, limit)?;
    if json {
        return Ok(to_json(&hits));
    }
    let mut out = String::new();
    if hits.is_empty() {
        let _ = writeln!(out, "no document matches '{query}'");
    }
    for h in &hits {
        let _ = writeln!(
            out,
            "{}  {}  {}\n    {}",
            h.doc.doc_id,
            h.doc.efile_id.as_deref().unwrap_or("(unclassified)"),
            h.doc.pdf_path,
            h.snippet.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }
    Ok(out)
}

/// `resiscan store list`: the filed documents as a table (or JSON with `json`).
pub fn store_list(dir: &Path, efile: Option<&str>, json: bool) -> Result<String, StoreError> {
    let docs = Store::open_read_only(dir)?.list(efile)?;
    if json {
        return Ok(to_json(&docs));
    }
    let mut out = String::new();
    let w = docs
        .iter()
        .map(|d| d.doc_id.chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    let _ = writeln!(
        out,
        "{:<w$}  {:<12}  {:<20}  {:<10}  pdf",
        "doc id", "status", "e-file", "keep until"
    );
    for d in &docs {
        let status = match d.status {
            DocStatus::Filed => "filed",
            DocStatus::Unclassified => "unclassified",
            DocStatus::Rejected => "rejected",
        };
        let _ = writeln!(
            out,
            "{:<w$}  {:<12}  {:<20}  {:<10}  {}{}",
            d.doc_id,
            status,
            d.efile_id.as_deref().unwrap_or("-"),
            d.retention_until.as_deref().unwrap_or("-"),
            d.pdf_path,
            d.reason
                .as_deref()
                .map(|r| format!("  ({r})"))
                .unwrap_or_default()
        );
    }
    let _ = writeln!(out, "{} document(s)", docs.len());
    Ok(out)
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    // Serialising plain structs of strings cannot fail; keep the output valid JSON anyway.
    let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|_| "[]".into());
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_documents_store_files_are_named_in_one_place() {
        let p = Store::doc_paths("20 Stadtkasse/VB-1", "b1_0001");
        assert_eq!(p.pdf, "20 Stadtkasse/VB-1/b1_0001.pdf");
        assert_eq!(p.note, "20 Stadtkasse/VB-1/b1_0001.transfer.yaml");
        assert_eq!(p.p7s, "20 Stadtkasse/VB-1/b1_0001.transfer.yaml.p7s");
        assert_eq!(p.meta, "20 Stadtkasse/VB-1/b1_0001.meta.json");
        // The note's signature is where the CMS module looks for it.
        assert_eq!(
            std::path::PathBuf::from(&p.p7s),
            crate::crypto::cms::detached_signature_path(std::path::Path::new(&p.note))
        );
        // No folder (or a trailing slash) gives no leading or doubled slash.
        assert_eq!(Store::doc_paths("", "x").pdf, "x.pdf");
        assert_eq!(Store::doc_paths("a/", "x").meta, "a/x.meta.json");
    }

    #[test]
    fn a_failed_index_write_says_what_it_means_for_the_store() {
        let failure = |code| {
            StoreError::index(
                Path::new("s/index.sqlite"),
                rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None),
            )
            .to_string()
        };
        let io = failure(rusqlite::ffi::SQLITE_IOERR);
        assert!(io.starts_with("index s/index.sqlite: "), "{io}");
        assert!(io.contains("may be read-only, full or failing"), "{io}");
        assert!(failure(rusqlite::ffi::SQLITE_FULL).contains("is full"));
        assert!(!failure(rusqlite::ffi::SQLITE_CONSTRAINT).contains("("));
    }

    fn entry(doc_id: &str, digest: &str, text: &str) -> NewEntry {
        NewEntry {
            doc_id: doc_id.into(),
            batch_id: "b1".into(),
            efile_id: Some("vollstreckung".into()),
            pdf_path: Store::doc_paths("20", doc_id).pdf,
            note_path: Store::doc_paths("20", doc_id).note,
            meta_path: Store::doc_paths("20", doc_id).meta,
            pdf_sha256: "ab".repeat(32),
            source_digest: digest.into(),
            filed_at: "2026-11-25T01:00:00Z".into(),
            retention_until: None,
            text: text.into(),
        }
    }

    #[test]
    fn a_second_opener_is_refused_naming_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let first = Store::open(dir.path()).unwrap();
        let err = Store::open(dir.path()).unwrap_err();
        match &err {
            StoreError::Locked { path, holder } => {
                assert!(path.ends_with(".resiscan/lock"));
                assert!(
                    holder
                        .as_deref()
                        .unwrap()
                        .contains(&std::process::id().to_string())
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains(".resiscan/lock"), "{err}");
        // Readers are not blocked.
        assert!(Store::open_read_only(dir.path()).is_ok());
        drop(first);
        assert!(
            Store::open(dir.path()).is_ok(),
            "the lock is released on drop"
        );
    }

    #[test]
    fn temps_left_by_a_crash_are_removed_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("20 Stadtkasse/VB-1");
        std::fs::create_dir_all(&sub).unwrap();
        // What a run killed between write and rename leaves.
        let mut f = AtomicFile::create(&sub.join("b1-0001.pdf")).unwrap();
        f.write_all(b"%PDF-half").unwrap();
        std::mem::forget(f);
        std::fs::write(sub.join("b1-0002.pdf"), b"whole").unwrap();
        let work = dir.path().join(STATE_DIR).join(WORK_DIR);
        std::fs::create_dir_all(&work).unwrap();
        std::fs::write(work.join("b1-0003.pdf.tmp"), b"half").unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.removed_temps().len(), 2);
        assert_eq!(std::fs::read_dir(&work).unwrap().count(), 0);
        let left: Vec<_> = std::fs::read_dir(&sub).unwrap().collect();
        assert_eq!(left.len(), 1);
    }

    #[test]
    fn write_file_creates_folders_and_refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let p = store.write_file(Path::new("a/b/c.json"), b"{}").unwrap();
        assert_eq!(std::fs::read(p).unwrap(), b"{}");
        for bad in ["../x", "/etc/x", "a/../../x", ""] {
            assert!(
                matches!(
                    store.write_file(Path::new(bad), b""),
                    Err(StoreError::OutsideStore { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn read_only_store_refuses_writes_and_needs_an_index() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            Store::open_read_only(dir.path()),
            Err(StoreError::NoIndex { .. })
        ));
        drop(Store::open(dir.path()).unwrap());
        let mut ro = Store::open_read_only(dir.path()).unwrap();
        assert!(matches!(
            ro.record(&entry("a", "1", "t")),
            Err(StoreError::ReadOnly)
        ));
    }

    #[test]
    fn records_survive_reopening_and_stay_single() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut s = Store::open(dir.path()).unwrap();
            s.record(&entry(
                "b1-0001",
                "d1",
                "Pfändungs- und Überweisungsbeschluss",
            ))
            .unwrap();
        }
        let mut s = Store::open(dir.path()).unwrap();
        s.record(&entry(
            "b1-0001",
            "d1",
            "Pfändungs- und Überweisungsbeschluss",
        ))
        .unwrap();
        assert_eq!(s.list(None).unwrap().len(), 1);
        assert_eq!(s.find_by_sources("d1").unwrap().unwrap().doc_id, "b1-0001");
        drop(s);
        let out = store_search(dir.path(), "Überweisung*", 10, false).unwrap();
        assert!(out.contains("b1-0001"), "{out}");
        let out = store_search(dir.path(), "\" AND OR *", 10, true).unwrap();
        assert!(
            serde_json::from_str::<serde_json::Value>(&out).is_ok(),
            "{out}"
        );
        let out = store_list(dir.path(), Some("vollstreckung"), false).unwrap();
        assert!(
            out.contains("b1-0001") && out.contains("1 document(s)"),
            "{out}"
        );
        let out = store_list(dir.path(), None, true).unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v[0]["status"], "filed");
    }

    #[test]
    fn store_is_send_for_the_pipeline_mutex() {
        fn check<T: Send>() {}
        check::<Store>();
    }
}
