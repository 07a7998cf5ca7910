//! Visual quality assurance (TR-03138 A.SC.8): a person compares a justified sample of every
//! batch's scans with the paper, and the result becomes part of the batch's evidence.
//!
//! `ingest`'s automatic checks cannot see everything (a page folded while scanning, a page
//! missing from the feeder, a wrong document in the stack), so the transfer note's concordance
//! statement rests on "automatic checks passed; visual sample pending" until this module has
//! run. It promises:
//! - [`sample`]: a reproducible selection per batch — a random share sized by the protection
//!   level plus every document the automatic checks flagged — recorded with its reasons in
//!   `_batches/<id>/qa-selection.json`, and an HTML sheet (`qa-sheet.html`) the inspector
//!   works from, one self-contained file;
//! - [`record`]: each decision appended to `_batches/<id>/qa-addendum.yaml`, which is rewritten
//!   whole and signed anew (detached CMS, like the note) every time, references the batch note
//!   by its SHA-256 and states the resulting QA state; a rejected document is marked for
//!   rescan in its `meta.json` and the index;
//! - [`status`]: what is still open, for people and cron;
//! - [`verify_addendum`]: the check `verify` runs on an addendum.

pub mod addendum;
pub mod sample;
pub mod serve;
pub mod sheet;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use crate::addendum::{QaAddendum, QaEntry, QaResult};
pub use crate::verify::verify_addendum;
pub use sample::Selection;

use crate::crypto::identity::SigningIdentity;
use crate::note::TransferNote;
use crate::outcome::{Exit, Fate};
use crate::profile::Level;

/// Files of a batch folder this module reads and writes.
pub(crate) use crate::addendum::{ADDENDUM_FILE, NOTE_FILE};
pub(crate) const SELECTION_FILE: &str = "qa-selection.json";
pub(crate) const SHEET_FILE: &str = "qa-sheet.html";
/// Held (advisory `flock`) while an addendum is rewritten, so two inspectors recording at the
/// same moment do not lose one another's entries; the OS releases it if the process dies.
const LOCK_FILE: &str = ".qa.lock";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QaError {
    #[error("{}: no batches (no _batches/<id>/transfer-note.yaml) — is this a resiscan store?", store.display())]
    NoBatches { store: PathBuf },
    #[error("batch '{batch}' not found: {} does not exist", path.display())]
    NoBatch { batch: String, path: PathBuf },
    #[error("'{0}' is not a batch id (it must be a plain folder name)")]
    BadBatchId(String),
    #[error("reading {}: {cause}", path.display())]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("writing {}: {cause}", path.display())]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{}: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    #[error(
        "the batch note's visual-QA sample share {0}% is unusable (it must be above 0 and at most 100)"
    )]
    BadSamplePercent(f64),
    #[error(
        "batch '{batch}' has no QA selection yet: run `resiscan qa sample --store … --batch {batch}` first"
    )]
    NotSampled { batch: String },
    #[error(
        "batch '{batch}''s transfer note changed since its QA selection was drawn: run `resiscan qa sample --store … --batch {batch}` again (it keeps the recorded seed)"
    )]
    StaleSelection { batch: String },
    #[error("document '{doc}' is not in batch '{batch}'")]
    UnknownDocument { doc: String, batch: String },
    #[error("document '{doc}' cannot be inspected: {reason}")]
    NotInspectable { doc: String, reason: String },
    #[error("--reject needs a reason saying what does not match the original")]
    NoReason,
    #[error("--inspector must name the inspecting person's pseudonym (it is empty)")]
    NoInspector,
    #[error(
        "inspector '{inspector}' is the batch's operator; at protection 'sehr_hoch' the visual check must be done by someone else (TR-03138 A.AM.IN.H.7)"
    )]
    InspectorIsOperator { inspector: String },
    #[error(
        "{}: its SHA-256 {actual} differs from the {recorded} the transfer note records — the PDF changed after signing; run `resiscan verify` and do not inspect it", path.display()
    )]
    PdfChanged {
        path: PathBuf,
        actual: String,
        recorded: String,
    },
    #[error("signing identity: {0}")]
    Identity(String),
    #[error("signing {}: {reason}", path.display())]
    Sign { path: PathBuf, reason: String },
    #[error("{}: {reason}", path.display())]
    Locked { path: PathBuf, reason: String },
    #[error("marking {doc} for rescan in the index: {reason}")]
    Index { doc: String, reason: String },
    #[error(
        "document '{doc}' was decided meanwhile ({} by {} at {}); this decision was not recorded — look again and decide anew if it still holds",
        match latest.result { QaResult::Ok => "ok", QaResult::Rejected => "rejected" },
        latest.inspector,
        latest.time
    )]
    DecidedMeanwhile { doc: String, latest: Box<QaEntry> },
}

/// A batch as QA sees it: its folder and its signed batch note.
#[derive(Debug, Clone)]
pub(crate) struct LoadedBatch {
    pub(crate) id: String,
    pub(crate) dir: PathBuf,
    pub(crate) note: TransferNote,
    pub(crate) note_sha256: String,
}

/// A batch id from the command line must stay inside `_batches/`.
fn checked_batch_id(id: &str) -> Result<&str, QaError> {
    let bad = id.is_empty()
        || id == "."
        || id == ".."
        || id.contains(['/', '\\'])
        || id.chars().any(char::is_control);
    if bad {
        Err(QaError::BadBatchId(id.to_string()))
    } else {
        Ok(id)
    }
}

pub(crate) fn load_batch(store: &Path, id: &str) -> Result<LoadedBatch, QaError> {
    let id = checked_batch_id(id)?;
    let dir = store.join(crate::store::BATCHES_DIR).join(id);
    let path = dir.join(NOTE_FILE);
    if !path.is_file() {
        return Err(QaError::NoBatch {
            batch: id.to_string(),
            path,
        });
    }
    let bytes = std::fs::read(&path).map_err(|cause| QaError::Read {
        path: path.clone(),
        cause,
    })?;
    let note = TransferNote::from_yaml(&bytes).map_err(|e| QaError::Unreadable {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    Ok(LoadedBatch {
        id: id.to_string(),
        dir,
        note_sha256: crate::crypto::sha256_hex(&bytes),
        note,
    })
}

/// The batch ids to work on: the one asked for, or every batch of the store.
fn batch_ids(store: &Path, only: Option<&str>) -> Result<Vec<String>, QaError> {
    if let Some(id) = only {
        return Ok(vec![checked_batch_id(id)?.to_string()]);
    }
    let root = store.join(crate::store::BATCHES_DIR);
    let entries = std::fs::read_dir(&root).map_err(|_| QaError::NoBatches {
        store: store.to_path_buf(),
    })?;
    let mut ids: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join(NOTE_FILE).is_file())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    ids.sort();
    if ids.is_empty() {
        return Err(QaError::NoBatches {
            store: store.to_path_buf(),
        });
    }
    Ok(ids)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), QaError> {
    crate::store::atomic_write(path, bytes).map_err(|cause| QaError::Write {
        path: path.to_path_buf(),
        cause,
    })
}

fn read_selection(dir: &Path) -> Result<Option<Selection>, QaError> {
    let path = dir.join(SELECTION_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(cause) => {
            return Err(QaError::Read { path, cause });
        }
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| QaError::Unreadable {
            path,
            reason: format!("not a QA selection: {e}"),
        })
}

/// What `qa sample` did for one batch.
#[derive(Debug, Clone, Serialize)]
pub struct SampleOutcome {
    pub batch: String,
    pub selection: Selection,
    /// The recorded selection was used as it was (no new draw).
    pub reused: bool,
    pub selection_file: PathBuf,
    pub sheet: PathBuf,
    pub notices: Vec<String>,
}

/// `qa sample`: selects (or reuses the recorded selection) and writes the QA sheet for one
/// batch or every batch of the store.
pub fn sample(store: &Path, batch: Option<&str>) -> Result<Vec<SampleOutcome>, QaError> {
    batch_ids(store, batch)?
        .iter()
        .map(|id| sample_batch(store, id))
        .collect()
}

fn sample_batch(store: &Path, id: &str) -> Result<SampleOutcome, QaError> {
    let batch = load_batch(store, id)?;
    let mut notices = Vec::new();
    let previous = read_selection(&batch.dir)?;
    let (selection, reused) = match previous {
        Some(s) if s.batch_note_sha256 == batch.note_sha256 => (s, true),
        Some(s) => {
            // The batch was ingested again (e.g. re-run after a crash) and its note rewritten:
            // draw again over the new note, but with the recorded seed, so the sample stays
            // the one that was announced rather than a fresh roll of the dice.
            notices.push(format!(
                "the batch note changed since the selection was drawn (SHA-256 {} -> {}); drawn again with the recorded seed {}",
                short(&s.batch_note_sha256),
                short(&batch.note_sha256),
                s.seed
            ));
            let sel = sample::select(
                &batch.note,
                &batch.note_sha256,
                s.seed,
                crate::machine::now_rfc3339(),
            )?;
            (sel, false)
        }
        None => {
            let sel = sample::select(
                &batch.note,
                &batch.note_sha256,
                sample::fresh_seed(),
                crate::machine::now_rfc3339(),
            )?;
            (sel, false)
        }
    };
    let selection_file = batch.dir.join(SELECTION_FILE);
    if !reused {
        let json = serde_json::to_vec_pretty(&selection).map_err(|e| QaError::Unreadable {
            path: selection_file.clone(),
            reason: e.to_string(),
        })?;
        write_file(&selection_file, &json)?;
    }
    let recorded = match addendum::read(&batch.dir) {
        Ok(Some(a)) => addendum::latest_by_doc(&a.entries),
        Ok(None) => BTreeMap::new(),
        Err(e) => {
            notices.push(format!("the QA addendum could not be read: {e}"));
            BTreeMap::new()
        }
    };
    let html = sheet::render(store, &batch, &selection, &recorded);
    let sheet = batch.dir.join(SHEET_FILE);
    write_file(&sheet, html.as_bytes())?;
    Ok(SampleOutcome {
        batch: batch.id,
        selection,
        reused,
        selection_file,
        sheet,
        notices,
    })
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// The inspector's decision on one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Image and content match the paper.
    Ok,
    /// They do not; the reason says what is wrong. The document is marked for rescan.
    Reject(String),
}

/// What `qa record` is asked to do.
#[derive(Debug, Clone)]
pub struct RecordRequest<'a> {
    pub store: &'a Path,
    pub batch: &'a str,
    pub doc: &'a str,
    pub decision: Decision,
    pub inspector: &'a str,
    /// The profile whose signing identity signs the addendum; without it, the store's demo
    /// identity when the batch note was signed with one.
    pub profile: Option<&'a Path>,
    /// How many decisions on this document the inspector saw when deciding (the QA station
    /// sends it); re-checked under the addendum's lock, so a decision made meanwhile by someone
    /// else is not silently overridden. `None` (the CLI): no such check.
    pub seen_decisions: Option<usize>,
}

/// What `qa record` did.
#[derive(Debug, Clone, Serialize)]
pub struct RecordOutcome {
    pub addendum: PathBuf,
    pub entry: QaEntry,
    pub qa_state: String,
    /// Things the inspector should know (e.g. the index could not be updated).
    pub notices: Vec<String>,
}

/// `qa record`: appends one decision to the batch's signed QA addendum.
pub fn record(req: &RecordRequest<'_>) -> Result<RecordOutcome, QaError> {
    let inspector = req.inspector.trim();
    if inspector.is_empty() {
        return Err(QaError::NoInspector);
    }
    if matches!(&req.decision, Decision::Reject(r) if r.trim().is_empty()) {
        return Err(QaError::NoReason);
    }
    let batch = load_batch(req.store, req.batch)?;
    // A.AM.IN.H.7: at "sehr hoch" the visual check is a second person's.
    if batch.note.environment.protection == Level::SehrHoch
        && inspector.eq_ignore_ascii_case(batch.note.responsible.operator.trim())
    {
        return Err(QaError::InspectorIsOperator {
            inspector: inspector.to_string(),
        });
    }
    let doc = batch
        .note
        .documents
        .iter()
        .find(|d| d.id == req.doc)
        .ok_or_else(|| QaError::UnknownDocument {
            doc: req.doc.to_string(),
            batch: batch.id.clone(),
        })?;
    let not_inspectable = |reason: String| QaError::NotInspectable {
        doc: doc.id.clone(),
        reason,
    };
    if doc.fate == Fate::Quarantined {
        return Err(not_inspectable(format!(
            "it was quarantined ({}) and has no PDF; the paper goes back to the scan station",
            doc.reason.as_deref().unwrap_or("no reason recorded")
        )));
    }
    let (Some(pdf_rel), Some(recorded_sha)) = (&doc.pdf, &doc.pdf_sha256) else {
        return Err(not_inspectable(format!(
            "the note records no PDF for it (fate {:?})",
            doc.fate
        )));
    };
    let selection = read_selection(&batch.dir)?.ok_or_else(|| QaError::NotSampled {
        batch: batch.id.clone(),
    })?;
    // The inspector works from a sheet of the current note; an older selection may miss
    // documents the new note flags.
    if selection.batch_note_sha256 != batch.note_sha256 {
        return Err(QaError::StaleSelection {
            batch: batch.id.clone(),
        });
    }
    let pdf = req.store.join(pdf_rel);
    // A PDF `renew` extended (DSS and document timestamps appended) is still the recorded
    // document: the entry names the recorded hash, which is what the inspector saw.
    let against =
        crate::verify::renewed::pdf_against_record(&pdf, recorded_sha).map_err(|cause| {
            QaError::Read {
                path: pdf.clone(),
                cause,
            }
        })?;
    if let crate::verify::renewed::PdfAgainstRecord::Differs { actual, .. } = against {
        return Err(QaError::PdfChanged {
            path: pdf,
            actual,
            recorded: recorded_sha.clone(),
        });
    }
    let actual = recorded_sha.clone();
    let identity = signing_identity(req.store, &batch, req.profile)?;
    // Read meta.json before anything is signed: a decision that cannot reach the DMS's view of
    // the document must not be half-recorded.
    let folder = Path::new(pdf_rel.as_str())
        .parent()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let meta_path = req
        .store
        .join(crate::store::Store::doc_paths(&folder, &doc.id).meta);
    let meta = read_meta(&meta_path)?;

    let _lock = lock_batch(&batch.dir)?;
    let mut entries = match addendum::read(&batch.dir)? {
        // Entries recorded against an earlier version of the note stay: they are the history.
        Some(a) => a.entries,
        None => Vec::new(),
    };
    if let Some(seen) = req.seen_decisions {
        let on_doc: Vec<&QaEntry> = entries.iter().filter(|e| e.doc == doc.id).collect();
        if on_doc.len() != seen
            && let Some(latest) = on_doc.last()
        {
            return Err(QaError::DecidedMeanwhile {
                doc: doc.id.clone(),
                latest: Box::new((*latest).clone()),
            });
        }
    }
    let (result, reason) = match &req.decision {
        Decision::Ok => (QaResult::Ok, None),
        Decision::Reject(r) => (QaResult::Rejected, Some(r.trim().to_string())),
    };
    let entry = QaEntry {
        doc: doc.id.clone(),
        result,
        reason,
        inspector: inspector.to_string(),
        time: crate::machine::now_rfc3339(),
        pdf_sha256: actual,
        in_sample: selection.contains(&doc.id),
    };
    entries.push(entry.clone());
    let add = addendum::build(&batch, &selection, entries, &identity);
    let path = addendum::write_signed(&batch.dir, &add, &identity)?;

    let mut notices = Vec::new();
    if !entry.in_sample {
        notices.push(format!(
            "{} is outside the sample; recorded and marked \"outside sample\"",
            doc.id
        ));
    }
    write_meta(&meta_path, meta, &entry)?;
    if entry.result == QaResult::Rejected {
        let reason = entry.reason.clone().unwrap_or_default();
        if let Some(n) = mark_rejected_in_index(req.store, &doc.id, &reason)? {
            notices.push(n);
        }
    }
    chain_qa_link(req.store, req.batch, &[&path, &meta_path], &identity)?;
    Ok(RecordOutcome {
        addendum: path,
        qa_state: add.qa_state.clone(),
        entry,
        notices,
    })
}

/// The QA addendum's link in the store's signed chain (SPEC §8): it vouches for the addendum,
/// its signature and the `meta.json` the decision updated.
fn chain_qa_link(
    store: &Path,
    batch: &str,
    files: &[&Path],
    identity: &crate::crypto::identity::SigningIdentity,
) -> Result<(), QaError> {
    let mut rels = Vec::new();
    for f in files {
        let rel = f
            .strip_prefix(store)
            .unwrap_or(f)
            .to_string_lossy()
            .into_owned();
        rels.push(crate::crypto::cms::detached_signature_path(Path::new(&rel)));
        rels.push(PathBuf::from(rel));
    }
    let chain_err = |e: crate::store::StoreError| QaError::Write {
        path: store.join(crate::store::chain::CHAIN_DIR),
        cause: std::io::Error::other(e.to_string()),
    };
    let hashed = crate::store::chain::hashed_files(store, rels.iter().filter_map(|p| p.to_str()))
        .map_err(chain_err)?;
    crate::store::chain::append(
        store,
        identity,
        crate::store::chain::Event::Qa,
        batch,
        Vec::new(),
        hashed,
        Vec::new(),
    )
    .map_err(chain_err)?;
    Ok(())
}

fn read_meta(path: &Path) -> Result<serde_json::Map<String, serde_json::Value>, QaError> {
    let bytes = std::fs::read(path).map_err(|cause| QaError::Read {
        path: path.to_path_buf(),
        cause,
    })?;
    let meta: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| QaError::Unreadable {
            path: path.to_path_buf(),
            reason: format!("not JSON: {e}"),
        })?;
    match meta {
        serde_json::Value::Object(m) => Ok(m),
        _ => Err(QaError::Unreadable {
            path: path.to_path_buf(),
            reason: "not a JSON object".into(),
        }),
    }
}

/// Records the decision in the document's `meta.json` (the DMS reads it on import):
/// `"qa": {"status": "rejected", "reason": …}` tells it the document awaits a rescan.
fn write_meta(
    path: &Path,
    mut meta: serde_json::Map<String, serde_json::Value>,
    entry: &QaEntry,
) -> Result<(), QaError> {
    let mut qa = serde_json::json!({
        "status": match entry.result { QaResult::Ok => "ok", QaResult::Rejected => "rejected" },
        "inspector": entry.inspector,
        "time": entry.time,
    });
    if let Some(r) = &entry.reason {
        qa["reason"] = serde_json::Value::String(r.clone());
    }
    meta.insert("qa".into(), qa);
    let out = serde_json::to_vec_pretty(&meta).map_err(|e| QaError::Unreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    write_file(path, &out)
}

/// Marks the document for rescan in the store index (`qa status` and `store list` show it).
/// Opening the store takes its lock, so this waits for no running ingest: it fails clearly.
/// A notice when the index does not know the document (an index lost and not rebuilt): the
/// rejection then stands in the addendum and `meta.json` only.
fn mark_rejected_in_index(
    store: &Path,
    doc: &str,
    reason: &str,
) -> Result<Option<String>, QaError> {
    let index_err = |e: &dyn std::fmt::Display| QaError::Index {
        doc: doc.to_string(),
        reason: e.to_string(),
    };
    let mut index = crate::store::Store::open(store).map_err(|e| index_err(&e))?;
    let known = index
        .mark_rejected(doc, reason)
        .map_err(|e| index_err(&e))?;
    Ok((!known).then(|| {
        format!(
            "{doc} is not in the store index, so `store list` does not show it as rejected; \
             the rejection is recorded in the QA addendum and its meta.json"
        )
    }))
}

/// Holds an exclusive advisory lock on the batch's QA lock file while it lives.
fn lock_batch(dir: &Path) -> Result<std::fs::File, QaError> {
    let path = dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|cause| QaError::Write {
            path: path.clone(),
            cause,
        })?;
    file.lock().map_err(|e| QaError::Locked {
        path,
        reason: format!("cannot lock: {e}"),
    })?;
    Ok(file)
}

/// The identity that signs the addendum: the profile's; without `--profile`, the store's demo
/// identity, but only when the batch note itself was signed with it (a real signer's batch
/// must not get a demo-signed addendum by accident).
fn signing_identity(
    store: &Path,
    batch: &LoadedBatch,
    profile: Option<&Path>,
) -> Result<SigningIdentity, QaError> {
    use crate::config::{Needs, SignerSource, configure, demo_allowed};
    let id_err = |s: String| QaError::Identity(s);
    let level = batch.note.environment.protection;
    // The same rule as ingest: a demo identity carries no weight at higher protection.
    let demo = |store: &Path| {
        demo_allowed(level)
            .map_err(|e| id_err(format!("{e}; give --profile with a real signer")))?;
        let dir = store.join(".resiscan").join("demo-identity");
        if !dir.join("key.pk8.pem").is_file() || !dir.join("cert.pem").is_file() {
            return Err(id_err(format!(
                "the store's demo identity is missing ({}); give --profile",
                dir.display()
            )));
        }
        SignerSource::Demo
            .load(store)
            .map_err(|e| id_err(format!("demo identity: {e}")))
    };
    let Some(profile) = profile else {
        if batch.note.signer.kind == crate::note::SignerKind::Demo {
            return demo(store);
        }
        return Err(id_err(format!(
            "batch '{}' was signed by \"{}\"; give --profile FILE so the addendum is signed with that profile's identity",
            batch.id, batch.note.signer.subject
        )));
    };
    let configured = configure(profile, Needs::All).map_err(|e| id_err(e.to_string()))?;
    match configured.identity {
        Some(identity) => Ok(identity),
        None => demo(store).map(|id| id.with_timestamp(configured.timestamp.clone())),
    }
}

/// The QA state of one batch (`qa status`).
#[derive(Debug, Clone, Serialize)]
pub struct BatchStatus {
    pub batch: String,
    /// Whether `qa sample` has run for it.
    pub sampled: bool,
    /// Documents selected for inspection.
    pub selected: usize,
    pub inspected: usize,
    /// The batch note changed since the selection was drawn (`qa sample` must run again).
    pub stale_selection: bool,
    /// Selected documents with no decision yet.
    pub open: Vec<String>,
    /// Documents whose latest decision is "rejected" (inside or outside the sample).
    pub rejected: Vec<String>,
    /// Decisions on documents outside the selection.
    pub outside_sample: usize,
    pub quarantined: usize,
    /// The addendum's state sentence, or what is missing.
    pub qa_state: String,
    /// Problems with the addendum's signature or content (empty: fine or none written yet).
    pub addendum_problems: Vec<String>,
}

impl BatchStatus {
    /// 0 when every selected document was inspected and none rejected; 3 when a person must
    /// act (not sampled, open or rejected documents); 1 when the addendum is broken.
    pub fn exit(&self) -> Exit {
        if !self.addendum_problems.is_empty() {
            Exit::Failure
        } else if !self.sampled
            || self.stale_selection
            || !self.open.is_empty()
            || !self.rejected.is_empty()
        {
            Exit::NeedsPerson
        } else {
            Exit::Ok
        }
    }
}

/// `qa status`: the QA state of one batch or every batch of the store.
pub fn status(store: &Path, batch: Option<&str>) -> Result<Vec<BatchStatus>, QaError> {
    batch_ids(store, batch)?
        .iter()
        .map(|id| batch_status(store, id))
        .collect()
}

fn batch_status(store: &Path, id: &str) -> Result<BatchStatus, QaError> {
    let batch = load_batch(store, id)?;
    let quarantined = batch
        .note
        .documents
        .iter()
        .filter(|d| d.fate == Fate::Quarantined)
        .count();
    let Some(selection) = read_selection(&batch.dir)? else {
        return Ok(BatchStatus {
            batch: batch.id,
            sampled: false,
            stale_selection: false,
            selected: 0,
            inspected: 0,
            open: Vec::new(),
            rejected: Vec::new(),
            outside_sample: 0,
            quarantined,
            qa_state: "not sampled yet (run `resiscan qa sample`)".into(),
            addendum_problems: Vec::new(),
        });
    };
    // Only the signature's mathematics and the content here; trust is `verify --trust`'s job.
    let addendum_problems = verify_addendum(&batch.dir, &crate::verify::TrustStore::empty())
        .filter(|r| r.status == crate::verify::Status::Invalid)
        .map(|r| r.failures().map(str::to_string).collect())
        .unwrap_or_default();
    let entries = addendum::read(&batch.dir)?
        .map(|a| a.entries)
        .unwrap_or_default();
    let latest = addendum::latest_by_doc(&entries);
    let selected = selection.ids();
    let open: Vec<String> = selected
        .iter()
        .filter(|d| !latest.contains_key(d.as_str()))
        .cloned()
        .collect();
    let rejected: Vec<String> = latest
        .values()
        .filter(|e| e.result == QaResult::Rejected)
        .map(|e| e.doc.clone())
        .collect();
    let stale_selection = selection.batch_note_sha256 != batch.note_sha256;
    let mut qa_state = addendum::qa_state(&selected, &entries);
    if stale_selection {
        qa_state.push_str(
            " (the batch note changed since the selection: run `resiscan qa sample` again)",
        );
    }
    Ok(BatchStatus {
        batch: batch.id,
        sampled: true,
        stale_selection,
        selected: selected.len(),
        inspected: selected.len() - open.len(),
        outside_sample: latest.values().filter(|e| !e.in_sample).count(),
        qa_state,
        open,
        rejected,
        quarantined,
        addendum_problems,
    })
}

#[cfg(test)]
pub(crate) mod testutil;

#[cfg(test)]
mod tests {
    use super::testutil::FakeStore;
    use super::*;

    fn req<'a>(fs: &'a FakeStore, doc: &'a str, d: Decision, who: &'a str) -> RecordRequest<'a> {
        RecordRequest {
            store: fs.store(),
            batch: "b1",
            doc,
            decision: d,
            inspector: who,
            profile: None,
            seen_decisions: None,
        }
    }

    #[test]
    fn sampling_again_reuses_the_recorded_selection() {
        let fs = FakeStore::new(Level::Normal, 40);
        let first = sample(fs.store(), Some("b1")).unwrap().remove(0);
        assert!(!first.reused);
        assert_eq!(first.selection.random_sample_size, 2);
        let again = sample(fs.store(), None).unwrap().remove(0);
        assert!(again.reused);
        assert_eq!(again.selection, first.selection);
        assert!(fs.batch_dir().join(SHEET_FILE).is_file());
    }

    #[test]
    fn a_changed_note_is_drawn_again_with_the_recorded_seed() {
        let fs = FakeStore::new(Level::Hoch, 12);
        let first = sample(fs.store(), Some("b1")).unwrap().remove(0);
        fs.rewrite_note(|n| n.documents[0].flags.push("low OCR confidence".into()));
        let st = status(fs.store(), None).unwrap().remove(0);
        assert!(st.stale_selection);
        assert_eq!(st.exit(), Exit::NeedsPerson);
        let e = record(&req(&fs, "b1_0001", Decision::Ok, "qa-1")).unwrap_err();
        assert!(matches!(e, QaError::StaleSelection { .. }), "{e}");
        let again = sample(fs.store(), Some("b1")).unwrap().remove(0);
        assert!(!again.reused);
        assert_eq!(again.selection.seed, first.selection.seed);
        assert!(again.selection.contains("b1_0001"));
        assert!(again.notices[0].contains("drawn again with the recorded seed"));
    }

    #[test]
    fn bad_batch_ids_and_missing_batches_are_clear_errors() {
        let fs = FakeStore::new(Level::Normal, 2);
        assert!(matches!(
            sample(fs.store(), Some("../x")),
            Err(QaError::BadBatchId(_))
        ));
        let e = sample(fs.store(), Some("nope")).unwrap_err().to_string();
        assert!(e.contains("batch 'nope' not found"), "{e}");
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            sample(empty.path(), None),
            Err(QaError::NoBatches { .. })
        ));
    }

    #[test]
    fn record_refuses_what_it_must() {
        let fs = FakeStore::new(Level::SehrHoch, 3);
        let e = record(&req(&fs, "b1_0001", Decision::Ok, "qa-1")).unwrap_err();
        assert!(matches!(e, QaError::NotSampled { .. }), "{e}");
        sample(fs.store(), Some("b1")).unwrap();
        let e = record(&req(&fs, "b1_0001", Decision::Ok, "PS-0417")).unwrap_err();
        assert!(matches!(e, QaError::InspectorIsOperator { .. }), "{e}");
        assert!(e.to_string().contains("A.AM.IN.H.7"));
        let e = record(&req(&fs, "b9_0001", Decision::Ok, "qa-1")).unwrap_err();
        assert!(matches!(e, QaError::UnknownDocument { .. }), "{e}");
        let e = record(&req(&fs, "b1_0001", Decision::Ok, "  ")).unwrap_err();
        assert!(matches!(e, QaError::NoInspector), "{e}");
        let e = record(&req(&fs, "b1_0001", Decision::Reject(" ".into()), "qa-1")).unwrap_err();
        assert!(matches!(e, QaError::NoReason), "{e}");
        // Nothing was written by the refusals.
        assert!(!fs.batch_dir().join(ADDENDUM_FILE).exists());
    }

    #[test]
    fn the_operator_may_inspect_below_sehr_hoch() {
        let fs = FakeStore::new(Level::Normal, 3);
        let s = sample(fs.store(), Some("b1")).unwrap().remove(0);
        let doc = s.selection.documents[0].id.clone();
        record(&req(&fs, &doc, Decision::Ok, "ps-0417")).unwrap();
    }

    #[test]
    fn a_changed_pdf_is_refused() {
        let fs = FakeStore::new(Level::Normal, 3);
        sample(fs.store(), Some("b1")).unwrap();
        let pdf = fs.pdf_path("b1_0002");
        let mut bytes = std::fs::read(&pdf).unwrap();
        bytes.push(b'\n');
        std::fs::write(&pdf, bytes).unwrap();
        let e = record(&req(&fs, "b1_0002", Decision::Ok, "qa-1")).unwrap_err();
        assert!(matches!(e, QaError::PdfChanged { .. }), "{e}");
    }

    #[test]
    fn quarantined_documents_cannot_be_recorded() {
        let fs = FakeStore::new(Level::Normal, 3);
        fs.rewrite_note(|n| {
            n.documents[2].fate = Fate::Quarantined;
            n.documents[2].pdf = None;
            n.documents[2].reason = Some("zero-byte file".into());
        });
        sample(fs.store(), Some("b1")).unwrap();
        let e = record(&req(&fs, "b1_0003", Decision::Ok, "qa-1")).unwrap_err();
        assert!(e.to_string().contains("zero-byte file"), "{e}");
    }

    #[test]
    fn record_and_status_follow_the_inspection() {
        let fs = FakeStore::new(Level::Normal, 3);
        fs.rewrite_note(|n| n.environment.qa_sample_percent = 100.0);
        sample(fs.store(), Some("b1")).unwrap();
        let st = status(fs.store(), Some("b1")).unwrap().remove(0);
        assert_eq!((st.selected, st.inspected, st.open.len()), (3, 0, 3));
        assert_eq!(st.exit(), Exit::NeedsPerson);

        record(&req(&fs, "b1_0001", Decision::Ok, "qa-1")).unwrap();
        record(&req(&fs, "b1_0002", Decision::Ok, "qa-1")).unwrap();
        let out = record(&req(
            &fs,
            "b1_0003",
            Decision::Reject("Seite 2 unscharf".into()),
            "qa-1",
        ))
        .unwrap();
        assert_eq!(
            out.qa_state,
            "visual sample: 3 of 3 inspected, 1 rejected: b1_0003"
        );
        let meta: serde_json::Value =
            serde_json::from_slice(&std::fs::read(fs.meta_path("b1_0003")).unwrap()).unwrap();
        assert_eq!(meta["qa"]["status"], "rejected");
        assert_eq!(meta["qa"]["reason"], "Seite 2 unscharf");
        assert_eq!(
            meta["index_fields"]["az"], "VB-2026-00003",
            "other keys kept"
        );
        // The fake store has no index: opening it to mark the rejection rebuilt it from the
        // signed batch note (issue #15), so the row is there and marked.
        let row = crate::store::Store::open_read_only(fs.store())
            .unwrap()
            .lookup("b1_0003")
            .unwrap();
        match row {
            Some(row) => assert_eq!(row.status, crate::store::DocStatus::Rejected),
            None => assert!(
                out.notices
                    .iter()
                    .any(|n| n.contains("b1_0003 is not in the store index")),
                "{:?}",
                out.notices
            ),
        }

        let st = status(fs.store(), None).unwrap().remove(0);
        assert_eq!(st.inspected, 3);
        assert_eq!(st.rejected, vec!["b1_0003".to_string()]);
        assert!(
            st.addendum_problems.is_empty(),
            "{:?}",
            st.addendum_problems
        );
        assert_eq!(st.exit(), Exit::NeedsPerson);

        // A second look after a fix: the latest decision counts, the history stays.
        let out = record(&req(&fs, "b1_0003", Decision::Ok, "qa-2")).unwrap();
        assert_eq!(out.qa_state, "visual sample: 3 of 3 inspected, 0 rejected");
        let a = addendum::read(&fs.batch_dir()).unwrap().unwrap();
        assert_eq!(a.entries.len(), 4);
        let st = status(fs.store(), None).unwrap().remove(0);
        assert_eq!(st.exit(), Exit::Ok);

        // A broken addendum turns status into an error.
        let p = fs.batch_dir().join(ADDENDUM_FILE);
        let text = std::fs::read_to_string(&p).unwrap().replace("qa-2", "qa-3");
        std::fs::write(&p, text).unwrap();
        let st = status(fs.store(), None).unwrap().remove(0);
        assert_eq!(st.exit(), Exit::Failure);
    }

    #[test]
    fn a_decision_made_meanwhile_is_not_overridden() {
        let fs = FakeStore::new(Level::Normal, 3);
        fs.rewrite_note(|n| n.environment.qa_sample_percent = 100.0);
        sample(fs.store(), Some("b1")).unwrap();
        // Two inspectors opened the document when it had no decision (seen 0).
        let mut first = req(&fs, "b1_0001", Decision::Ok, "qa-1");
        first.seen_decisions = Some(0);
        record(&first).unwrap();
        let mut second = req(&fs, "b1_0001", Decision::Reject("unscharf".into()), "qa-2");
        second.seen_decisions = Some(0);
        let e = record(&second).unwrap_err();
        assert!(matches!(e, QaError::DecidedMeanwhile { .. }), "{e}");
        assert!(e.to_string().contains("ok by qa-1"), "{e}");
        let a = addendum::read(&fs.batch_dir()).unwrap().unwrap();
        assert_eq!(a.entries.len(), 1, "the first decision stays, alone");
        // Having seen it, the second may decide anew.
        second.seen_decisions = Some(1);
        record(&second).unwrap();
        assert_eq!(
            addendum::read(&fs.batch_dir())
                .unwrap()
                .unwrap()
                .entries
                .len(),
            2
        );
    }

    #[test]
    fn a_document_outside_the_sample_is_recorded_as_such() {
        let fs = FakeStore::new(Level::Normal, 40);
        let s = sample(fs.store(), Some("b1")).unwrap().remove(0);
        let outside = (1..=40)
            .map(|i| format!("b1_{i:04}"))
            .find(|id| !s.selection.contains(id))
            .unwrap();
        let out = record(&req(&fs, &outside, Decision::Ok, "qa-1")).unwrap();
        assert!(!out.entry.in_sample);
        assert!(out.notices[0].contains("outside the sample"));
        assert!(
            out.qa_state.contains("1 outside sample"),
            "{}",
            out.qa_state
        );
        let st = status(fs.store(), None).unwrap().remove(0);
        assert_eq!((st.inspected, st.outside_sample), (0, 1));
    }

    /// A profile beside `keys/` made by keygen, its paths relative to the profile's folder.
    fn profile_with_keys(dir: &Path, demo: bool) -> (PathBuf, PathBuf) {
        let g = crate::crypto::keygen::generate(
            "CN=Scanstelle QA,O=Stadt Leipzig",
            crate::crypto::keygen::KeyKind::EcP256,
            30,
            &dir.join("keys"),
        )
        .unwrap();
        let signing = if demo {
            "signing:\n  demo: true\n".to_string()
        } else {
            "signing:\n  certificate: keys/cert.pem\n  key: keys/key.pk8.pem\n".to_string()
        };
        let demo_profile =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/profiles/demo.yaml"))
                .unwrap();
        let text = demo_profile.replace("signing:\n  demo: true\n", &signing);
        assert_ne!(
            text.contains("keys/cert.pem"),
            demo,
            "demo profile layout changed"
        );
        let path = dir.join("profile.yaml");
        std::fs::write(&path, text).unwrap();
        (path, g.cert_path)
    }

    #[test]
    fn with_a_profile_the_addendum_is_signed_by_its_identity() {
        let fs = FakeStore::new(Level::Normal, 3);
        fs.rewrite_note(|n| n.signer.kind = crate::note::SignerKind::Certificate);
        sample(fs.store(), Some("b1")).unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let (profile, cert) = profile_with_keys(elsewhere.path(), false);
        let mut r = req(&fs, "b1_0001", Decision::Ok, "qa-1");
        r.profile = Some(&profile);
        record(&r).unwrap();
        let a = addendum::read(&fs.batch_dir()).unwrap().unwrap();
        assert!(
            a.signer.subject.contains("Scanstelle QA"),
            "{}",
            a.signer.subject
        );
        assert_eq!(a.signer.kind, crate::note::SignerKind::Certificate);
        let trust = crate::verify::TrustStore::from_pem_files(&[cert]).unwrap();
        let report = verify_addendum(&fs.batch_dir(), &trust).unwrap();
        assert_eq!(
            report.status,
            crate::verify::Status::Valid,
            "{:?}",
            report.problems
        );
        assert!(report.signed_at.is_some(), "signing-time attribute missing");
    }

    #[test]
    fn a_demo_profile_is_refused_at_hoch() {
        let fs = FakeStore::new(Level::Hoch, 3);
        sample(fs.store(), Some("b1")).unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let (profile, _) = profile_with_keys(elsewhere.path(), true);
        let mut r = req(&fs, "b1_0001", Decision::Ok, "qa-1");
        r.profile = Some(&profile);
        let e = record(&r).unwrap_err();
        assert!(e.to_string().contains("A.AM.IN.H.1"), "{e}");
        // Nor the store's demo identity without a profile.
        let e = record(&req(&fs, "b1_0001", Decision::Ok, "qa-1")).unwrap_err();
        assert!(e.to_string().contains("A.AM.IN.H.1"), "{e}");
    }

    #[test]
    fn without_profile_a_real_signer_needs_one() {
        let fs = FakeStore::new(Level::Normal, 3);
        fs.rewrite_note(|n| n.signer.kind = crate::note::SignerKind::Certificate);
        sample(fs.store(), Some("b1")).unwrap();
        let e = record(&req(&fs, "b1_0001", Decision::Ok, "qa-1")).unwrap_err();
        assert!(e.to_string().contains("give --profile"), "{e}");
    }
}
