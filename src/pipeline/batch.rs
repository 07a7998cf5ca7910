//! The write-up of a batch once its documents are done: completeness (TR-03138 A.NB.3), the
//! signed batch transfer note that lists every document (A.NB.4), `report.json`,
//! `quarantine.json`, the `--out` copies, and the end of the batch's unfinished-run marker.
//!
//! Documents come from the [`Spool`], one at a time, so writing up a batch of any size costs
//! the memory of one document's report.

use std::path::Path;

use serde::Serialize;

use super::spool::Spool;
use super::{BatchSummary, Context, IngestError, lock, new_note, write_signed_note};
use crate::intake::Batch;
use crate::note::{self, Completeness, NoteKind};
use crate::outcome::{Exit, Fate};
use crate::store;

/// What the write-up needs to know of a finished document; its whole report waits in the
/// spool.
#[derive(Debug, Clone)]
pub(super) struct Outcome {
    /// The document's index in its batch.
    pub doc: usize,
    pub id: String,
    pub fate: Fate,
    pub pages: usize,
    pub dropped_pages: usize,
    /// Set when the store failed under this document (the run stops; not the document's fault).
    pub store_failure: Option<String>,
    /// Its entry in quarantine.json, when quarantined.
    pub quarantine: Option<QuarantineEntry>,
}

/// One entry of quarantine.json.
#[derive(Debug, Clone, Serialize)]
pub struct QuarantineEntry {
    pub id: String,
    pub entry: String,
    pub files: Vec<String>,
    pub reason: String,
}

/// report.json of a dry run (written only with --out).
#[derive(Serialize)]
struct DryRunReport<'a, D> {
    batch: &'a str,
    dry_run: bool,
    folder: String,
    summary: &'a BatchSummary,
    documents: D,
}

/// report.json: the summary and every document's full report (checks, classification, times).
#[derive(Serialize)]
struct Report<'a, D> {
    batch: &'a str,
    folder: String,
    manifest_sha256: Option<&'a str>,
    profile: &'a note::ProfileRef,
    signer: &'a note::Signer,
    summary: &'a BatchSummary,
    documents: D,
}

/// Writes up batch `index` of the run from its documents' `outcomes` (in document order) and
/// their spooled reports.
pub(super) fn finish_batch(
    ctx: &Context<'_>,
    batch: &Batch,
    index: usize,
    outcomes: &[Outcome],
    spool: &Spool,
) -> Result<BatchSummary, IngestError> {
    let started = std::time::Instant::now();
    let mut notices = batch.notices.clone();
    notices.extend(batch.attention.iter().cloned());
    let expected = batch.manifest.expected.as_ref().and_then(|e| e.documents);
    let complete = expected.map(|n| n == batch.documents.len());
    if complete == Some(false) {
        notices.push(format!(
            "completeness: the station counted {} documents, the batch folder holds {}",
            expected.unwrap_or(0),
            batch.documents.len()
        ));
    }
    let count = |f: Fate| outcomes.iter().filter(|o| o.fate == f).count();
    // Pages as the station counted them, blank ones included (A.NB.3).
    let expected_pages = batch.manifest.expected.as_ref().and_then(|e| e.pages);
    let pages_read: usize = outcomes.iter().map(|o| o.pages).sum();
    let pages_differ = expected_pages.is_some_and(|n| n != pages_read);
    if let Some(n) = expected_pages.filter(|_| pages_differ) {
        let quarantined = count(Fate::Quarantined);
        notices.push(format!(
            "completeness: the station counted {n} pages, resiscan read {pages_read}{}",
            if quarantined > 0 {
                format!(" ({quarantined} quarantined documents' pages are not all counted)")
            } else {
                String::new()
            }
        ));
    }
    let mut exit = Exit::from_fates(outcomes.iter().map(|o| o.fate));
    if complete == Some(false) || pages_differ || !batch.attention.is_empty() {
        exit = exit.merge(Exit::NeedsPerson);
    }
    let mut summary = BatchSummary {
        batch: batch.id.clone(),
        folder: batch.root.clone(),
        documents: outcomes.len(),
        pages: pages_read,
        filed: count(Fate::Filed),
        already_filed: count(Fate::AlreadyFiled),
        duplicates: count(Fate::Duplicate),
        unclassified: count(Fate::Unclassified),
        quarantined: count(Fate::Quarantined),
        dropped_pages: outcomes.iter().map(|o| o.dropped_pages).sum(),
        quarantined_documents: outcomes
            .iter()
            .filter_map(|o| o.quarantine.clone())
            .collect(),
        seconds: 0.0,
        report: None,
        notices,
        exit,
    };
    for q in &summary.quarantined_documents {
        tracing::warn!("{}: quarantined: {}", q.id, q.reason);
    }
    let docs: Vec<usize> = outcomes.iter().map(|o| o.doc).collect();
    let reports = spool.documents(index, &docs, |r| r);

    let Some(store) = ctx.store else {
        summary.seconds = started.elapsed().as_secs_f64();
        // A dry run with --out leaves its report there: what would happen, for a person to
        // read before the real run. No transfer note: nothing was filed or signed.
        if let Some(out) = &ctx.config.out_dir {
            let target = out.join(&batch.id);
            create_dir(&target)?;
            summary.report = Some(target.clone());
            let report = DryRunReport {
                batch: &batch.id,
                dry_run: true,
                folder: batch.root.display().to_string(),
                summary: &summary,
                documents: reports,
            };
            write_json(&target.join("report.json"), &report)?;
            write_json(
                &target.join("quarantine.json"),
                &summary.quarantined_documents,
            )?;
        }
        return Ok(summary);
    };

    let dir = ctx
        .config
        .store_dir
        .join(store::BATCHES_DIR)
        .join(&batch.id);
    create_dir(&dir)?;
    // Each document's own note, by the hash that ties it to this batch note.
    let mut document_notes = std::collections::BTreeMap::new();
    for o in outcomes {
        if let Ok(Some(e)) = lock(store).lookup(&o.id)
            && let Ok(sha) =
                crate::crypto::hash::sha256_file_hex(&ctx.config.store_dir.join(&e.note_path))
        {
            document_notes.insert(o.id.clone(), sha);
        }
    }
    let mut note = new_note(ctx, batch, NoteKind::Batch);
    note.completeness = Some(Completeness {
        expected_documents: expected,
        found_documents: batch.documents.len(),
        complete,
    });
    note.document_notes = document_notes;
    let note = note.with_documents(spool.documents(index, &docs, |r| r.record));
    write_signed_note(ctx, &dir.join("transfer-note.yaml"), &note)?;

    summary.seconds = started.elapsed().as_secs_f64();
    summary.report = Some(dir.clone());
    let report = Report {
        batch: &batch.id,
        folder: batch.root.display().to_string(),
        manifest_sha256: batch.manifest_sha256.as_deref(),
        profile: &ctx.environment.profile,
        signer: &ctx.signer,
        summary: &summary,
        documents: reports,
    };
    write_json(&dir.join("report.json"), &report)?;
    write_json(&dir.join("quarantine.json"), &summary.quarantined_documents)?;
    if let Some(out) = &ctx.config.out_dir
        && let Err(e) = copy_reports(&dir, &out.join(&batch.id))
    {
        // The batch is filed and its notes are in the store; only the copy is missing. Say
        // so rather than report the batch as not processed.
        summary.notices.push(format!(
            "the copy of the notes and reports for --out failed: {e}"
        ));
        summary.exit = summary.exit.merge(Exit::Failure);
    }
    // The batch's link in the store's signed chain: it vouches for the batch's own files and
    // for every file of the documents this run filed, and retires the marker (SPEC §8).
    // Documents filed by an earlier run are vouched for by that run's link already, unless
    // that run stopped before its batch link (then this one vouches for them).
    let root = &ctx.config.store_dir;
    let chained = store::chain::read_chain(root)
        .map(|c| store::chain::expected(&c).files)
        .unwrap_or_default();
    let batch_rel = format!("{}/{}", store::BATCHES_DIR, batch.id);
    let mut rels: Vec<String> = [
        "transfer-note.yaml",
        "transfer-note.yaml.p7s",
        "report.json",
        "quarantine.json",
    ]
    .iter()
    .map(|n| format!("{batch_rel}/{n}"))
    .collect();
    for o in outcomes.iter().filter(|o| o.fate.in_store()) {
        if let Some(e) = lock(store).lookup(&o.id)?
            && e.batch_id == batch.id
            && (o.fate != Fate::AlreadyFiled || !chained.contains_key(&e.pdf_path))
        {
            let p7s = crate::crypto::cms::detached_signature_path(Path::new(&e.note_path));
            rels.extend([
                e.pdf_path,
                e.note_path,
                p7s.to_string_lossy().into_owned(),
                e.meta_path,
            ]);
        }
    }
    let files = store::chain::hashed_files(root, rels.iter().map(String::as_str))?;
    store::chain::append(
        root,
        ctx.identity,
        store::chain::Event::Batch,
        &batch.id,
        Vec::new(),
        files,
        vec![store::run_marker_rel(&batch.id)],
    )?;
    lock(store).end_batch(&batch.id)?;
    Ok(summary)
}

fn create_dir(dir: &Path) -> Result<(), IngestError> {
    std::fs::create_dir_all(dir).map_err(|cause| IngestError::Write {
        path: dir.to_path_buf(),
        cause,
    })
}

/// Writes `value` as pretty JSON to `path` atomically, streamed (report.json can be large).
fn write_json(path: &Path, value: &impl Serialize) -> Result<(), IngestError> {
    let write_err = |cause| IngestError::Write {
        path: path.to_path_buf(),
        cause,
    };
    let mut out = std::io::BufWriter::new(store::AtomicFile::create(path).map_err(write_err)?);
    serde_json::to_writer_pretty(&mut out, value).map_err(|e| {
        if e.is_io() {
            write_err(std::io::Error::other(e))
        } else {
            IngestError::Json {
                path: path.to_path_buf(),
                cause: e,
            }
        }
    })?;
    let file = out.into_inner().map_err(|e| write_err(e.into_error()))?;
    file.commit().map_err(write_err)
}

/// Copies a batch's notes and reports from the store to `target` (`--out`).
fn copy_reports(dir: &Path, target: &Path) -> Result<(), IngestError> {
    create_dir(target)?;
    for name in [
        "transfer-note.yaml",
        "transfer-note.yaml.p7s",
        "report.json",
        "quarantine.json",
    ] {
        let from = dir.join(name);
        let to = target.join(name);
        let mut file = store::AtomicFile::create(&to).map_err(|cause| IngestError::Write {
            path: to.clone(),
            cause,
        })?;
        let mut src = std::fs::File::open(&from).map_err(|cause| IngestError::Write {
            path: from.clone(),
            cause,
        })?;
        std::io::copy(&mut src, &mut file)
            .and_then(|_| file.commit())
            .map_err(|cause| IngestError::Write { path: to, cause })?;
    }
    Ok(())
}
