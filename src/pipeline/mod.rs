//! `resiscan ingest`: the stages in order, run in parallel over documents.
//!
//! A document flows down once: sources hashed -> pages decoded and checked -> OCR -> PDF page
//! written -> PDF signed -> classified -> filed with its signed note and meta -> indexed. Each
//! step's failure becomes that document's quarantine reason; nothing one document does can stop
//! another (a panic included: it is caught and the document quarantined).
//!
//! Parallelism: one worker per `--jobs`, each with its own Tesseract engine (created once, ~150
//! ms), pulling the next document from a shared queue, largest first so the batch does not end
//! with one core idle on a long document. Within a document pages stream one at a time, so
//! memory is bounded by the number of workers, not by batch or document size.
//!
//! Crash safety: every store write is atomic (temp file, fsync, rename, fsync folder) and the
//! index row is written last, as the commit point. A document killed half-way has at most a
//! temp file (removed at the next open) or files without an index row, which the next run
//! rewrites identically in place. Re-running a batch skips what the index holds.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::classify::{Classification, Classifier};
use crate::crypto::identity::SigningIdentity;
use crate::image::{self, DecodedPage, Embed};
use crate::intake::{self, Batch, DocumentSource, FailedBatch};
use crate::note::{
    self, Concordance, DocumentRecord, Filing, NoteKind, PageRecord, SourceFile, TransferNote,
};
use crate::ocr::{OcrEngine, OcrOptions, PageText};
use crate::outcome::{Exit, Fate};
use crate::pdf::{DocumentMeta, PdfPage, PdfWriter, SignatureSpec};
use crate::profile::{BlankPolicy, Level, LoadedProfile};
use crate::store::{self, Store};

mod batch;
mod spool;

use batch::Outcome;
pub use batch::QuarantineEntry;
use spool::Spool;

/// Room for the CMS in each PDF beyond the certificates it carries: SignerInfo, signed
/// attributes, the signature (512 bytes for RSA-4096) and DER headers fit in well under 2 KiB.
const CMS_OVERHEAD: usize = 2048;

/// Hex digits to reserve for `/Contents`: sized from the identity's certificates, so a small
/// G4 page does not carry 30 KB of zeros, and never too small for the real signature.
fn contents_hex_len(identity: &SigningIdentity) -> usize {
    let certs: usize =
        identity.certificate_der().len() + identity.chain_der().iter().map(Vec::len).sum::<usize>();
    2 * (certs + CMS_OVERHEAD)
}

/// Everything `ingest` needs, checked.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    pub batches: Vec<PathBuf>,
    pub profile: LoadedProfile,
    pub store_dir: PathBuf,
    pub out_dir: Option<PathBuf>,
    pub jobs: usize,
    pub dry_run: bool,
    /// Draw a progress bar (stderr is a terminal and not --quiet).
    pub progress: bool,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    #[error("{0}")]
    Identity(String),
    #[error("{0}")]
    Store(#[from] store::StoreError),
    #[error("OCR engine: {0}")]
    Ocr(#[from] crate::ocr::OcrError),
    #[error("profile: {0}")]
    Classifier(String),
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Intake(#[from] intake::IntakeError),
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    StoreFailed(String),
}

/// What one batch came to.
#[derive(Debug, Clone, Serialize)]
pub struct BatchSummary {
    pub batch: String,
    pub folder: PathBuf,
    pub documents: usize,
    pub pages: usize,
    pub filed: usize,
    pub already_filed: usize,
    pub duplicates: usize,
    pub unclassified: usize,
    pub quarantined: usize,
    pub dropped_pages: usize,
    /// Each quarantined document with its reason, as in quarantine.json: what a script that
    /// reads `--json` needs to tell a person without opening the store.
    pub quarantined_documents: Vec<QuarantineEntry>,
    pub seconds: f64,
    /// `_batches/<id>/` in the store; on a dry run `<--out>/<id>/` or `None`.
    pub report: Option<PathBuf>,
    /// Problems with the batch as a whole (completeness, intake notices).
    pub notices: Vec<String>,
    pub exit: Exit,
}

/// What the whole run came to.
#[derive(Debug, Clone, Serialize)]
pub struct IngestSummary {
    pub batches: Vec<BatchSummary>,
    /// Batches that could not be read at all, with the reason.
    pub failed_batches: Vec<FailedBatch>,
    pub signer: String,
    pub exit: Exit,
}

/// Time spent per stage, summed over a document's pages (for profiling; in report.json).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StageTimes {
    pub hash_ms: f64,
    pub decode_ms: f64,
    pub quality_ms: f64,
    pub ocr_ms: f64,
    pub pdf_ms: f64,
    pub sign_ms: f64,
    pub classify_ms: f64,
    pub file_ms: f64,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One document's result, as it goes into report.json and the batch note.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DocumentReport {
    #[serde(flatten)]
    pub record: DocumentRecord,
    pub classification: Option<Classification>,
    pub times: StageTimes,
    /// Set when the store failed under this document (the run stops; not the document's fault).
    #[serde(skip)]
    pub store_failure: Option<String>,
}

/// Shared, read-only state of a run.
struct Context<'a> {
    config: &'a IngestConfig,
    identity: &'a SigningIdentity,
    classifier: &'a Classifier,
    store: Option<&'a Mutex<Store>>,
    /// Where unsigned PDFs are written before they move into their e-file.
    work_dir: PathBuf,
    ocr_options: OcrOptions,
    environment: note::Environment,
    signer: note::Signer,
    started: String,
    /// Source digests claimed in this run, with the document that claimed each: two entries
    /// with identical files processed at the same time by two workers would otherwise both be
    /// filed, since neither is in the index yet when the other looks.
    claimed: Mutex<BTreeMap<String, String>>,
}

/// Runs `ingest` over every batch of the configuration.
pub fn ingest(config: &IngestConfig) -> Result<IngestSummary, IngestError> {
    let profile = &config.profile.profile;
    if profile.protection.integrity == Level::SehrHoch {
        return Err(IngestError::Refused(
            "protection 'sehr_hoch' needs a qualified timestamp on every signature \
             (TR-03138 A.AM.IN.H.1); resiscan cannot obtain one yet, so it refuses to \
             ingest at this level rather than pretend"
                .into(),
        ));
    }
    let classifier =
        Classifier::new(&profile.efiles).map_err(|e| IngestError::Classifier(e.to_string()))?;

    // Listing the batches reads no image data and is quick; done first so that a run whose
    // batches are all unreadable creates no store.
    let (batches, mut failed_batches) = intake::read_batches(&config.batches);
    if batches.is_empty() {
        return Ok(IngestSummary {
            batches: Vec::new(),
            failed_batches,
            signer: match &config.profile.signer {
                Some(s) => format!("{} (certificate)", s.subject),
                None => "demo identity (untrusted)".into(),
            },
            exit: Exit::Failure,
        });
    }

    // --out must be writable before any work: a night's batches filed without their copies
    // is a failure found too late.
    if let Some(out) = &config.out_dir {
        std::fs::create_dir_all(out).map_err(|source| IngestError::Write {
            path: out.clone(),
            source,
        })?;
    }

    // A real identity is checked before the store, so a bad key or certificate leaves no
    // new, empty store behind; then the store (a locked store must fail at once, before any
    // slow work); the demo identity lives in the store, so it comes after.
    let demo = profile.signing.as_ref().is_some_and(|s| s.value.demo);
    let early_identity = if demo {
        None
    } else {
        Some(load_identity(config)?)
    };
    let store = if config.dry_run {
        None
    } else {
        Some(Mutex::new(Store::open(&config.store_dir)?))
    };
    // A batch id used again for other paper (a station that names batches without the date)
    // would have its documents skipped as "already filed" and its signed batch note replaced:
    // such a batch is refused as a whole, before anything is written for it.
    let batches: Vec<Batch> = match &store {
        None => batches,
        Some(store) => {
            let mut kept = Vec::with_capacity(batches.len());
            for b in batches {
                match reused_batch_id(&lock(store), &b)? {
                    Some(reason) => failed_batches.push(FailedBatch {
                        folder: b.root.clone(),
                        reason,
                    }),
                    None => kept.push(b),
                }
            }
            kept
        }
    };
    let identity = match early_identity {
        Some(identity) => identity,
        None => load_identity(config)?,
    };
    for warning in identity.warnings() {
        tracing::warn!("signing identity: {warning}");
    }
    if identity.is_demo() && profile.protection.integrity >= Level::Hoch {
        return Err(IngestError::Identity(format!(
            "a demo identity is refused at protection '{}' (TR-03138 A.AM.IN.H.1)",
            profile.protection.integrity
        )));
    }

    let ocr_options = OcrOptions {
        languages: profile.ocr.languages.value.join("+"),
        datapath: profile
            .ocr
            .tessdata
            .as_ref()
            .map(|t| config.profile.resolve(&t.value)),
        detect_orientation: profile.ocr.detect_orientation,
    };
    // One engine up front proves the languages load; a failure here is the run's, not a
    // document's.
    drop(OcrEngine::new(&ocr_options)?);

    let work_dir = match &store {
        Some(_) => config.store_dir.join(".resiscan").join("work"),
        None => std::env::temp_dir().join(format!("resiscan-dry-run-{}", std::process::id())),
    };
    std::fs::create_dir_all(&work_dir).map_err(|source| IngestError::Write {
        path: work_dir.clone(),
        source,
    })?;

    let signer = note::Signer::of(&identity);
    let ctx = Context {
        config,
        identity: &identity,
        classifier: &classifier,
        store: store.as_ref(),
        work_dir: work_dir.clone(),
        environment: environment(config, &ocr_options),
        ocr_options,
        signer: signer.clone(),
        started: now_rfc3339(),
        claimed: Mutex::new(BTreeMap::new()),
    };

    // Each batch is marked unfinished until its batch note is written (see
    // `store::unfinished`): a run that stops on the way leaves a store `verify` can explain.
    if let Some(store) = &store {
        let store = lock(store);
        for b in &batches {
            store.begin_batch(&store::RunMarker {
                batch: b.id.clone(),
                folder: b.root.display().to_string(),
                started: ctx.started.clone(),
                host: ctx.environment.host.clone(),
                pid: std::process::id(),
                documents: b.documents.len(),
            })?;
        }
    }
    let queue: Vec<(usize, usize, u64)> = batches
        .iter()
        .enumerate()
        .flat_map(|(bi, b)| {
            b.documents
                .iter()
                .enumerate()
                .map(move |(di, d)| (bi, di, source_bytes(d)))
        })
        .collect();
    let total = queue.len();
    let spool = Spool::create(&work_dir).map_err(|source| IngestError::Write {
        path: work_dir.clone(),
        source,
    })?;
    let results = run_queue(&ctx, &batches, queue, &spool);
    if let Some((_, failed)) = results.iter().find(|(_, o)| o.store_failure.is_some()) {
        let filed = results
            .iter()
            .filter(|(_, o)| o.store_failure.is_none() && o.fate != Fate::Quarantined)
            .count();
        return Err(IngestError::StoreFailed(format!(
            "the store failed while filing {}: {}. The run stopped: {filed} of {total} documents \
             are filed, the rest were not started or not filed; nothing half-written is left. \
             Free space or fix the store, then run the same command again to finish",
            failed.id,
            failed.store_failure.as_deref().unwrap_or("?")
        )));
    }

    let mut summaries = Vec::new();
    let mut exit = if failed_batches.is_empty() {
        Exit::Ok
    } else {
        Exit::Failure
    };
    let mut results = results.into_iter().peekable();
    for (bi, batch) in batches.iter().enumerate() {
        let mut outcomes = Vec::new();
        while let Some((b, _)) = results.peek() {
            if *b != bi {
                break;
            }
            outcomes.extend(results.next().map(|(_, o)| o));
        }
        match batch::finish_batch(&ctx, batch, bi, &outcomes, &spool) {
            Ok(s) => {
                exit = exit.merge(s.exit);
                summaries.push(s);
            }
            Err(e) => {
                failed_batches.push(FailedBatch {
                    folder: batch.root.clone(),
                    reason: e.to_string(),
                });
                exit = Exit::Failure;
            }
        }
    }
    if config.dry_run {
        let _ = std::fs::remove_dir_all(&work_dir);
        let _ = std::fs::remove_dir_all(dry_run_identity_home());
    }
    Ok(IngestSummary {
        batches: summaries,
        failed_batches,
        signer: format!("{} ({})", signer.subject, signer.kind),
        exit,
    })
}

fn load_identity(config: &IngestConfig) -> Result<SigningIdentity, IngestError> {
    let profile = &config.profile;
    let signing = profile
        .profile
        .signing
        .as_ref()
        .map(|s| &s.value)
        .ok_or_else(|| IngestError::Identity("the profile has no signing section".into()))?;
    if signing.demo {
        // A dry run writes nothing to the store, so its demo identity lives in a temp folder.
        let home = if config.dry_run {
            dry_run_identity_home()
        } else {
            config.store_dir.clone()
        };
        return SigningIdentity::demo(&home)
            .map_err(|e| IngestError::Identity(format!("demo identity: {e}")));
    }
    real_identity(profile)
        .map_err(|e| IngestError::Identity(format!("signing identity unusable: {e}")))?
        .ok_or_else(|| {
            IngestError::Identity("signing needs certificate and key (or demo: true)".into())
        })
}

/// The profile's own signing identity (certificate, key, chain), loaded and checked; `None`
/// for a demo identity or a signing section without certificate and key.
fn real_identity(
    profile: &LoadedProfile,
) -> Result<Option<SigningIdentity>, crate::crypto::IdentityError> {
    let Some(signing) = profile.profile.signing.as_ref().map(|s| &s.value) else {
        return Ok(None);
    };
    let (Some(cert), Some(key), false) = (&signing.certificate, &signing.key, signing.demo) else {
        return Ok(None);
    };
    let chain: Vec<PathBuf> = signing
        .chain
        .iter()
        .map(|c| profile.resolve(&c.value))
        .collect();
    SigningIdentity::load(
        &profile.resolve(&cert.value),
        &profile.resolve(&key.value),
        &chain,
    )
    .map(Some)
}

fn dry_run_identity_home() -> PathBuf {
    std::env::temp_dir().join(format!("resiscan-dry-run-identity-{}", std::process::id()))
}

fn environment(config: &IngestConfig, ocr: &OcrOptions) -> note::Environment {
    let p = &config.profile.profile;
    note::Environment {
        software: format!("resiscan {}", env!("CARGO_PKG_VERSION")),
        ocr_engine: format!(
            "Tesseract {} ({})",
            crate::ocr::engine_version(),
            ocr.languages
        ),
        host: hostname(),
        station: None,
        scanner: None,
        profile: note::ProfileRef {
            name: p.name.value.clone(),
            version: p.version,
            sha256: config.profile.sha256.clone(),
        },
        procedure_doc: p.procedure_doc.clone(),
        protection: p.protection.integrity,
        qa_sample_percent: p.sample_percent(),
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

pub(crate) fn now_rfc3339() -> String {
    rfc3339(time::OffsetDateTime::now_utc())
}

pub(crate) fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

fn source_bytes(d: &DocumentSource) -> u64 {
    d.files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum()
}

/// Runs every document through the workers; each finished document's report goes into the
/// spool, and its [`Outcome`] comes back with its batch index, in batch and document order.
fn run_queue(
    ctx: &Context<'_>,
    batches: &[Batch],
    mut queue: Vec<(usize, usize, u64)>,
    spool: &Spool,
) -> Vec<(usize, Outcome)> {
    // Largest first: the long documents start early and the short ones fill the gaps.
    queue.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    let next = AtomicUsize::new(0);
    // Set when the store fails: no worker starts another document.
    let abort = std::sync::atomic::AtomicBool::new(false);
    let results: Mutex<Vec<(usize, Outcome)>> = Mutex::new(Vec::with_capacity(queue.len()));
    let progress = progress_bar(ctx.config.progress, queue.len());
    let jobs = ctx.config.jobs.clamp(1, queue.len().max(1));
    let worker = || {
        let mut engine: Option<OcrEngine> = None;
        loop {
            if abort.load(Ordering::Relaxed) {
                break;
            }
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(&(bi, di, _)) = queue.get(i) else {
                break;
            };
            let batch = &batches[bi];
            let doc = &batch.documents[di];
            let report = document_guarded(ctx, &mut engine, batch, doc);
            tracing::info!(
                "{}: {:?}{}",
                report.record.id,
                report.record.fate,
                report
                    .record
                    .reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            );
            let mut outcome = outcome_of(di, &report);
            if let Err(e) = spool.put(bi, di, &report) {
                outcome.store_failure.get_or_insert(format!(
                    "cannot keep the report of {} in the work area: {e}",
                    report.record.id
                ));
            }
            if outcome.store_failure.is_some() {
                abort.store(true, Ordering::Relaxed);
            }
            if let Some(p) = &progress {
                p.inc(1);
            }
            results
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((bi, outcome));
        }
    };
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(worker);
        }
    });
    if let Some(p) = progress {
        p.finish_and_clear();
    }
    let mut out = results.into_inner().unwrap_or_else(|e| e.into_inner());
    out.sort_by_key(|(bi, o)| (*bi, o.doc));
    out
}

/// The little of a finished document's report that the run keeps in memory.
fn outcome_of(doc: usize, report: &DocumentReport) -> Outcome {
    let r = &report.record;
    Outcome {
        doc,
        id: r.id.clone(),
        fate: r.fate,
        pages: r.pages.len(),
        dropped_pages: r.dropped_pages.len(),
        store_failure: report.store_failure.clone(),
        quarantine: (r.fate == Fate::Quarantined).then(|| QuarantineEntry {
            id: r.id.clone(),
            entry: r.entry.clone(),
            files: r.sources.iter().map(|s| s.file.clone()).collect(),
            reason: r.reason.clone().unwrap_or_else(|| "unknown".into()),
        }),
    }
}

fn progress_bar(show: bool, len: usize) -> Option<indicatif::ProgressBar> {
    if !show {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} documents ({eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(bar)
}

/// The text a panic was raised with (`panic!("…")` carries a `&str` or a `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("unknown panic")
}

/// Processes one document; a panic anywhere inside becomes a quarantine reason.
fn document_guarded(
    ctx: &Context<'_>,
    engine: &mut Option<OcrEngine>,
    batch: &Batch,
    doc: &DocumentSource,
) -> DocumentReport {
    let run = std::panic::AssertUnwindSafe(|| process_document(ctx, engine, batch, doc));
    match std::panic::catch_unwind(run) {
        Ok(report) => report,
        Err(panic) => {
            let msg = panic_message(panic.as_ref());
            // The engine may be in any state after a panic inside it: start a fresh one.
            *engine = None;
            let mut r = empty_record(batch, doc);
            r.fate = Fate::Quarantined;
            r.reason = Some(format!(
                "internal error while processing (please report): {msg}"
            ));
            DocumentReport {
                record: r,
                classification: None,
                times: StageTimes::default(),
                store_failure: None,
            }
        }
    }
}

/// Fault injection for the integration tests, in debug builds only (release builds have no
/// such hook): a panic in the middle of the document whose entry is named by
/// `RESISCAN_TEST_PANIC_ENTRY`, as a decoder bug would raise one.
fn injected_panic(entry: &str) {
    #[cfg(debug_assertions)]
    if std::env::var_os("RESISCAN_TEST_PANIC_ENTRY").is_some_and(|e| e == entry) {
        panic!("injected by RESISCAN_TEST_PANIC_ENTRY");
    }
    #[cfg(not(debug_assertions))]
    let _ = entry;
}

fn empty_record(batch: &Batch, doc: &DocumentSource) -> DocumentRecord {
    DocumentRecord {
        id: doc.id.clone(),
        entry: doc.name.clone(),
        fate: Fate::Quarantined,
        reason: None,
        sources: Vec::new(),
        pages: Vec::new(),
        dropped_pages: Vec::new(),
        flags: Vec::new(),
        anomaly: batch.manifest.anomaly_for(&doc.name).map(str::to_string),
        mean_ocr_confidence: None,
        pdf: None,
        pdf_sha256: None,
        filing: None,
        index_fields: BTreeMap::new(),
    }
}

/// Why a document stops before filing: something about the document.
struct Quarantine(String);

/// The store could not be read or written (disk full, read-only, I/O error): not the
/// document's fault, and every following document would fail the same way, so the run stops.
struct StoreFailure(String);

enum Stop {
    Quarantine(String),
    StoreFailure(String),
}

impl From<Quarantine> for Stop {
    fn from(q: Quarantine) -> Stop {
        Stop::Quarantine(q.0)
    }
}

impl From<StoreFailure> for Stop {
    fn from(f: StoreFailure) -> Stop {
        Stop::StoreFailure(f.0)
    }
}

fn process_document(
    ctx: &Context<'_>,
    engine: &mut Option<OcrEngine>,
    batch: &Batch,
    doc: &DocumentSource,
) -> DocumentReport {
    let mut record = empty_record(batch, doc);
    let mut times = StageTimes::default();
    let mut classification = None;
    let mut store_failure = None;
    match process_inner(
        ctx,
        engine,
        batch,
        doc,
        &mut record,
        &mut times,
        &mut classification,
    ) {
        Ok(()) => {}
        Err(stop) => {
            let reason = match stop {
                Stop::Quarantine(r) => r,
                Stop::StoreFailure(r) => {
                    store_failure = Some(r.clone());
                    format!("not filed: the store failed: {r}")
                }
            };
            record.fate = Fate::Quarantined;
            record.reason = Some(reason);
            record.pdf = None;
            record.pdf_sha256 = None;
            record.filing = None;
        }
    }
    DocumentReport {
        record,
        classification,
        times,
        store_failure,
    }
}

fn relative(batch: &Batch, path: &Path) -> String {
    path.strip_prefix(&batch.root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

#[allow(clippy::too_many_arguments)]
fn process_inner(
    ctx: &Context<'_>,
    engine: &mut Option<OcrEngine>,
    batch: &Batch,
    doc: &DocumentSource,
    record: &mut DocumentRecord,
    times: &mut StageTimes,
    classification: &mut Option<Classification>,
) -> Result<(), Stop> {
    let profile = &ctx.config.profile.profile;
    if let Some(reason) = &doc.refusal {
        return Err(Stop::Quarantine(reason.clone()));
    }
    // 1. Hash every source as read from the batch, before any processing (A.NB.4 d).
    let t = Instant::now();
    for file in &doc.files {
        let (sha, bytes) = hash_file(file)
            .map_err(|e| Quarantine(format!("{}: cannot read: {e}", relative(batch, file))))?;
        record.sources.push(SourceFile {
            file: relative(batch, file),
            sha256: sha,
            bytes,
            pages: 0,
        });
    }
    times.hash_ms += ms(t.elapsed());
    let digest = sources_digest(&record.sources);
    // Already filed by an earlier run of this batch: report it, write nothing. Only when it
    // is the same scan: a batch id used again for another day's batch, or a page replaced by
    // a rescan, gives the same document id to different paper, which must not be skipped as
    // "already filed" (it would never reach its e-file) nor overwrite the filed one.
    if let Some(store) = ctx.store {
        let found = lock(store)
            .lookup(&doc.id)
            .map_err(|e| StoreFailure(e.to_string()))?;
        if let Some(entry) = &found
            && entry.source_digest != digest
        {
            return Err(Stop::Quarantine(format!(
                "another scan is already filed under this document id ({}, batch {}, filed {}): \
                 this entry's files differ from it. Not filed: if the batch id was used before, \
                 give this batch a new id in batch.yaml; if the paper was rescanned, a person \
                 decides which version counts",
                entry.pdf_path, entry.batch_id, entry.filed_at
            )));
        }
        if let Some(entry) = found {
            // A document an earlier run put into Klärung still needs a person: a re-run must
            // exit as the uninterrupted run did (3), not 0.
            if entry.efile_id.is_none() {
                record.fate = Fate::Unclassified;
                record.reason =
                    Some("filed for clarification by an earlier run; still unclassified".into());
            } else {
                record.fate = Fate::AlreadyFiled;
                record.reason = Some("filed by an earlier run".into());
            }
            record.pdf = Some(entry.pdf_path.clone());
            record.pdf_sha256 = Some(entry.pdf_sha256.clone());
            if let Ok(prev) = previous_record(&ctx.config.store_dir, &entry) {
                let fate = record.fate;
                let reason = record.reason.clone();
                *record = prev;
                record.fate = fate;
                record.reason = reason;
            }
            return Ok(());
        }
    }

    if let Some(store) = ctx.store {
        let found = lock(store)
            .find_by_sources(&digest)
            .map_err(|e| StoreFailure(e.to_string()))?;
        if let Some(other) = found
            && other.doc_id != doc.id
        {
            record.fate = Fate::Duplicate;
            record.reason = Some(format!(
                "the same scan (identical source files) is already filed as {} from batch {}",
                other.doc_id, other.batch_id
            ));
            record.pdf = Some(other.pdf_path.clone());
            return Ok(());
        }
    }
    {
        let mut claimed = ctx.claimed.lock().unwrap_or_else(|e| e.into_inner());
        match claimed.get(&digest) {
            Some(first) if *first != doc.id => {
                record.fate = Fate::Duplicate;
                record.reason = Some(format!(
                    "the same scan (identical source files) as {first} in this run"
                ));
                return Ok(());
            }
            Some(_) => {}
            None => {
                claimed.insert(digest.clone(), doc.id.clone());
            }
        }
    }

    // 2. Pages: decode, check, OCR, write — one at a time.
    let tmp_pdf = ctx.work_dir.join(format!("{}.pdf.tmp", doc.id));
    // Read and write: signing reads the finished file back to hash the byte ranges.
    let mut pdf_file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp_pdf)
        .map_err(|e| StoreFailure(format!("cannot create {}: {e}", tmp_pdf.display())))?;
    let cleanup = TempGuard(tmp_pdf.clone());
    let meta = DocumentMeta {
        title: format!("{} — {}", doc.id, profile.name.value),
        author: profile.organisation.clone(),
        subject: Some(format!("Scan of batch {} entry {}", batch.id, doc.name)),
        keywords: Vec::new(),
        lang: bcp47(
            profile
                .ocr
                .languages
                .value
                .first()
                .map(String::as_str)
                .unwrap_or("deu"),
        ),
        creator_tool: format!("resiscan {}", env!("CARGO_PKG_VERSION")),
        producer: format!("resiscan {}", env!("CARGO_PKG_VERSION")),
        created: time::OffsetDateTime::now_utc(),
        document_id: document_id(&doc.id, &digest),
    };
    let spec = SignatureSpec {
        contents_hex_len: contents_hex_len(ctx.identity),
        signing_time: time::OffsetDateTime::now_utc(),
        field_name: "Signature1".into(),
    };
    // A second handle on the same open file: the writer streams through it, then signing and
    // hashing use the first (the offset is shared, so the writer is finished before either).
    let write_handle = pdf_file
        .try_clone()
        .map_err(|e| StoreFailure(format!("cannot write {}: {e}", tmp_pdf.display())))?;
    let mut writer = PdfWriter::new(std::io::BufWriter::new(write_handle), &meta, Some(spec))
        .map_err(|e| pdf_stop(&tmp_pdf, e))?;
    let mut page_number = 0usize;
    let mut text = String::new();
    let mut confidences = Vec::new();
    let mut written_pages = 0usize;
    let max_pixels = u64::from(profile.scan.max_megapixels) * 1_000_000;
    for (fi, file) in doc.files.iter().enumerate() {
        let name = relative(batch, file);
        let t = Instant::now();
        let bytes: Arc<[u8]> = std::fs::read(file)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Quarantine(format!(
                    "{name}: vanished while processing (it was there when the document was \
                     hashed); not filed"
                )),
                _ => Quarantine(format!("{name}: cannot read: {e}")),
            })?
            .into();
        // The file must be what was hashed a moment ago: a scanner still writing it, or a
        // file swapped under us, must not be filed half (issue: hash before and after).
        if crate::crypto::sha256_hex(&bytes) != record.sources[fi].sha256 {
            return Err(Stop::Quarantine(format!(
                "{name}: the file changed while it was being read; scan it again or re-run"
            )));
        }
        times.hash_ms += ms(t.elapsed());
        let t = Instant::now();
        let infos =
            image::probe(&bytes, max_pixels).map_err(|e| Quarantine(format!("{name}: {e}")))?;
        times.decode_ms += ms(t.elapsed());
        record.sources[fi].pages = infos.len();
        for index in 0..infos.len() {
            page_number += 1;
            let t = Instant::now();
            let page = image::decode_page(&bytes, index, max_pixels)
                .map_err(|e| Quarantine(format!("{name}, page {}: {e}", index + 1)))?;
            times.decode_ms += ms(t.elapsed());
            injected_panic(&doc.name);
            let t = Instant::now();
            let q = crate::quality::page_quality(&page.info, &page.gray, profile.scan.assume_dpi);
            times.quality_ms += ms(t.elapsed());
            let mut pr = PageRecord {
                number: page_number,
                source: name.clone(),
                source_page: index + 1,
                width: page.info.width,
                height: page.info.height,
                dpi: q.dpi,
                dpi_source: q.dpi_source.to_string(),
                color: format!("{:?}", page.info.color).to_lowercase(),
                blank: q.blank,
                dropped: false,
                ocr_confidence: None,
                words: None,
                rotation: 0,
                embedding: None,
            };
            let Some(dpi) = q.dpi else {
                return Err(Stop::Quarantine(format!(
                    "{name}, page {}: the file carries no resolution and the profile gives no scan.assume_dpi",
                    index + 1
                )));
            };
            if dpi + 0.5 < f64::from(profile.scan.min_dpi) {
                return Err(Stop::Quarantine(format!(
                    "{name}, page {}: {dpi:.0} dpi is below the profile's minimum of {} dpi",
                    index + 1,
                    profile.scan.min_dpi
                )));
            }
            // The OCR's cross-check (issue #13): a page the pixel test calls blank is read
            // anyway (cheap: blank pages are rare and Tesseract is quick on empty paper); if
            // it yields confidently read words, it has content and is kept.
            let mut early_text = None;
            if q.blank {
                let t = Instant::now();
                let read = recognize(ctx, engine, &page, dpi)
                    .map_err(|e| Quarantine(format!("{name}, page {}: OCR: {e}", index + 1)))?;
                times.ocr_ms += ms(t.elapsed());
                if crate::quality::confident_words(&read) {
                    pr.blank = false;
                }
                early_text = Some(read);
            }
            if pr.blank {
                match profile.scan.blank_pages {
                    BlankPolicy::Drop => {
                        pr.dropped = true;
                        record.dropped_pages.push(page_number);
                        record.pages.push(pr);
                        continue;
                    }
                    BlankPolicy::Flag => record
                        .flags
                        .push(format!("page {page_number} is blank and was kept")),
                    BlankPolicy::Keep => {}
                }
            }
            let t = Instant::now();
            let page_text = match early_text {
                Some(read) => read,
                None => recognize(ctx, engine, &page, dpi)
                    .map_err(|e| Quarantine(format!("{name}, page {}: OCR: {e}", index + 1)))?,
            };
            times.ocr_ms += ms(t.elapsed());
            pr.ocr_confidence = Some(page_text.mean_confidence);
            pr.words = Some(page_text.words.len());
            pr.rotation = page_text.rotation;
            pr.embedding = Some(embedding_name(&page.embed).into());
            if !page_text.words.is_empty() {
                confidences.push(page_text.mean_confidence);
                if page_text.mean_confidence < profile.ocr.min_confidence {
                    record.flags.push(format!(
                        "page {page_number}: OCR confidence {:.0} below {:.0}",
                        page_text.mean_confidence, profile.ocr.min_confidence
                    ));
                }
            }
            if page_text.rotation != 0 {
                record.flags.push(format!(
                    "page {page_number} was scanned rotated; shown turned by {}°",
                    page_text.rotation
                ));
            }
            let t = Instant::now();
            let xdpi = page.info.dpi.map(|d| d.0).unwrap_or(dpi);
            let ydpi = page.info.dpi.map(|d| d.1).unwrap_or(dpi);
            writer
                .add_page(&PdfPage {
                    info: &page.info,
                    embed: &page.embed,
                    dpi: (xdpi, ydpi),
                    text: &page_text,
                })
                .map_err(|e| pdf_stop(&tmp_pdf, e))?;
            times.pdf_ms += ms(t.elapsed());
            written_pages += 1;
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(&page_text.text);
            record.pages.push(pr);
        }
    }
    if written_pages == 0 {
        return Err(Stop::Quarantine(
            "every page is blank: nothing to file; check the scan".into(),
        ));
    }
    record.mean_ocr_confidence = (!confidences.is_empty())
        .then(|| confidences.iter().sum::<f32>() / confidences.len() as f32);

    // 3. Finish and sign the PDF (PAdES B-B).
    let t = Instant::now();
    let written = writer.finish().map_err(|e| pdf_stop(&tmp_pdf, e))?;
    let placeholder = written
        .signature
        .ok_or_else(|| Quarantine("PDF writer left no signature placeholder".into()))?;
    written
        .out
        .into_inner()
        .map_err(|e| StoreFailure(format!("writing {}: {}", tmp_pdf.display(), e.error())))?;
    times.pdf_ms += ms(t.elapsed());
    let t = Instant::now();
    crate::pdf::sign::sign_pdf_in_place(&mut pdf_file, &placeholder, ctx.identity)
        .map_err(|e| sign_stop(&tmp_pdf, e))?;
    pdf_file
        .seek(std::io::SeekFrom::Start(0))
        .map_err(|e| StoreFailure(format!("reading {}: {e}", tmp_pdf.display())))?;
    let pdf_sha = hash_reader(&mut pdf_file)
        .map_err(|e| StoreFailure(format!("reading {}: {e}", tmp_pdf.display())))?;
    times.sign_ms += ms(t.elapsed());

    // 4. Classify.
    let t = Instant::now();
    let result = ctx.classifier.classify(&text);
    times.classify_ms += ms(t.elapsed());
    let filed_at = time::OffsetDateTime::now_utc();
    let (folder, filing) = filing_for(ctx, batch, &result, filed_at)?;
    record.index_fields = result
        .decision()
        .map(|d| d.fields_normalised())
        .unwrap_or_default();
    record.fate = if filing.efile.is_some() {
        Fate::Filed
    } else {
        Fate::Unclassified
    };
    if record.fate == Fate::Unclassified {
        record.reason = Some("no file-plan entry matched; filed for clarification".into());
    }
    if filing.ambiguous {
        record.flags.push(format!(
            "classification ambiguous: runner-up {}",
            filing.runner_up.as_deref().unwrap_or("?")
        ));
    }
    *classification = Some(result);

    // 5. The sources must still be what was hashed before the PDF may be filed.
    for (fi, file) in doc.files.iter().enumerate() {
        let (sha, _) = hash_file(file).map_err(|e| {
            Quarantine(format!(
                "{}: vanished while processing: {e}",
                relative(batch, file)
            ))
        })?;
        if sha != record.sources[fi].sha256 {
            return Err(Stop::Quarantine(format!(
                "{}: changed while processing; not filed",
                relative(batch, file)
            )));
        }
    }

    let pdf_rel = format!("{folder}/{}.pdf", doc.id);
    record.pdf = Some(pdf_rel.clone());
    record.pdf_sha256 = Some(pdf_sha.clone());
    record.filing = Some(filing.clone());
    let Some(store) = ctx.store else {
        // Dry run: nothing is written.
        return Ok(());
    };

    // 6. File: PDF, note, signature, meta; the index row last.
    let t = Instant::now();
    let dir = ctx.config.store_dir.join(&folder);
    std::fs::create_dir_all(&dir)
        .map_err(|e| StoreFailure(format!("cannot create {}: {e}", dir.display())))?;
    pdf_file
        .sync_all()
        .map_err(|e| StoreFailure(format!("{}: {e}", tmp_pdf.display())))?;
    drop(pdf_file);
    let pdf_path = ctx.config.store_dir.join(&pdf_rel);
    // Until the index row is written, every file placed below is taken out again if this
    // document stops (a full disk, a note that cannot be signed): the store then holds only
    // committed documents, and `verify` accepts it even before the re-run.
    let mut placed = Uncommitted::default();
    placed.push(pdf_path.clone());
    std::fs::rename(&tmp_pdf, &pdf_path)
        .map_err(|e| StoreFailure(format!("cannot move the PDF into {}: {e}", dir.display())))?;
    cleanup.disarm();
    store::sync_dir(&dir).map_err(|e| StoreFailure(format!("{}: {e}", dir.display())))?;

    let note = document_note(ctx, batch, record.clone());
    let note_rel = format!("{folder}/{}.transfer.yaml", doc.id);
    let note_path = ctx.config.store_dir.join(&note_rel);
    placed.push(crate::crypto::cms::detached_signature_path(&note_path));
    placed.push(note_path);
    // Only a failed write is the store's fault (the run stops); a note that cannot be
    // serialised or signed is this document's problem.
    let note_sha = write_signed_note(ctx, &ctx.config.store_dir.join(&note_rel), &note).map_err(
        |e| match e {
            IngestError::Write { .. } => Stop::StoreFailure(e.to_string()),
            other => Stop::Quarantine(other.to_string()),
        },
    )?;
    let meta = store::Meta::new(
        record,
        &batch.id,
        classification.as_ref(),
        &filing,
        &note_sha,
        filed_at,
    );
    let meta_rel = format!("{folder}/{}.meta.json", doc.id);
    placed.push(ctx.config.store_dir.join(&meta_rel));
    let meta_json = serde_json::to_vec_pretty(&meta).map_err(|e| Quarantine(e.to_string()))?;
    store::atomic_write(&ctx.config.store_dir.join(&meta_rel), &meta_json)
        .map_err(|e| StoreFailure(format!("{meta_rel}: {e}")))?;
    lock(store)
        .record(&store::NewEntry {
            doc_id: doc.id.clone(),
            batch_id: batch.id.clone(),
            efile_id: filing.efile.clone(),
            pdf_path: pdf_rel,
            note_path: note_rel,
            meta_path: meta_rel,
            pdf_sha256: pdf_sha,
            source_digest: digest,
            filed_at: rfc3339(filed_at),
            retention_until: filing.retention_until.clone(),
            text: text.clone(),
        })
        .map_err(|e| StoreFailure(e.to_string()))?;
    placed.commit();
    times.file_ms += ms(t.elapsed());
    Ok(())
}

/// The files of a document being filed, removed again unless the index row (the commit
/// point) was written. Removal is best effort: a store that fails may refuse it too, and then
/// the next run rewrites the same files in place.
#[derive(Default)]
struct Uncommitted(Vec<PathBuf>);

impl Uncommitted {
    fn push(&mut self, path: PathBuf) {
        self.0.push(path);
    }

    fn commit(mut self) {
        self.0.clear();
    }
}

impl Drop for Uncommitted {
    fn drop(&mut self) {
        let mut dirs = BTreeSet::new();
        for path in self.0.drain(..) {
            if std::fs::remove_file(&path).is_ok()
                && let Some(dir) = path.parent()
            {
                dirs.insert(dir.to_path_buf());
            }
        }
        for dir in dirs {
            let _ = store::sync_dir(&dir);
        }
    }
}

/// A PDF that cannot be written because the disk refused (full, read-only, I/O error) is the
/// store's failure — the work area is inside the store, and every following document would
/// fail the same way; anything else about the PDF is this document's problem.
fn pdf_stop(file: &Path, e: crate::pdf::PdfError) -> Stop {
    match e {
        crate::pdf::PdfError::Io(io) => {
            Stop::StoreFailure(format!("writing {}: {io}", file.display()))
        }
        other => Stop::Quarantine(format!("PDF: {other}")),
    }
}

/// As [`pdf_stop`], for signing the PDF in place.
fn sign_stop(file: &Path, e: crate::pdf::sign::SignError) -> Stop {
    match e {
        crate::pdf::sign::SignError::Io(io) => {
            Stop::StoreFailure(format!("signing {}: {io}", file.display()))
        }
        other => Stop::Quarantine(format!("signing the PDF: {other}")),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes a temp file unless the document got filed.
struct TempGuard(PathBuf);

impl TempGuard {
    fn disarm(self) {
        std::mem::forget(self);
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn recognize(
    ctx: &Context<'_>,
    engine: &mut Option<OcrEngine>,
    page: &DecodedPage,
    dpi: f64,
) -> Result<PageText, crate::ocr::OcrError> {
    if engine.is_none() {
        *engine = Some(OcrEngine::new(&ctx.ocr_options)?);
    }
    let e = engine.as_mut().expect("engine was just created");
    let dpi = dpi.round() as u32;
    // The file's own Orientation tag comes first: OCR reads the page the way the file says
    // it is shown, and orientation detection may still turn it further. The scanner's image
    // stays as stored; the page's /Rotate shows the sum.
    let turn = page.info.orientation;
    if turn == 0 {
        return e.recognize(&page.gray, dpi);
    }
    let turned = crate::ocr::rotated_clockwise(&page.gray, turn);
    let mut text = e.recognize(&turned, dpi)?;
    text.rotation = (text.rotation + turn) % 360;
    Ok(text)
}

fn embedding_name(e: &Embed) -> &'static str {
    match e {
        Embed::Dct { .. } => "DCT passthrough (scanner's JPEG bytes)",
        Embed::CcittG4 { .. } => "CCITT G4 passthrough (scanner's strip bytes)",
        Embed::Flate {
            png_predictor: true,
            ..
        } => "Flate (PNG data passed through)",
        Embed::Flate { .. } => "Flate (lossless re-encoding)",
    }
}

/// Tesseract language code to the BCP 47 tag of the PDF's `/Lang`.
fn bcp47(tesseract: &str) -> String {
    match tesseract {
        "deu" | "frk" => "de",
        "eng" => "en",
        "fra" => "fr",
        "ita" => "it",
        "spa" => "es",
        "pol" => "pl",
        "tur" => "tr",
        "rus" => "ru",
        "nld" => "nl",
        "ces" => "cs",
        other => other,
    }
    .to_string()
}

/// The PDF's trailer /ID: stable for a document and its content, so a re-run writes the same.
fn document_id(doc_id: &str, sources_digest: &str) -> [u8; 16] {
    let h = crate::crypto::sha256_hex(format!("{doc_id}\n{sources_digest}").as_bytes());
    let mut id = [0u8; 16];
    for (i, b) in id.iter_mut().enumerate() {
        *b = u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap_or(0);
    }
    id
}

/// Why `batch` is not the batch the store already holds under its id: a document id the
/// index knows whose files here differ from the filed ones. `None` for a new batch or a re-run.
fn reused_batch_id(store: &Store, batch: &Batch) -> Result<Option<String>, IngestError> {
    for doc in batch.documents.iter().filter(|d| d.refusal.is_none()) {
        let Some(entry) = store.lookup(&doc.id)? else {
            continue;
        };
        let mut sources = Vec::with_capacity(doc.files.len());
        for file in &doc.files {
            // An unreadable file is that document's quarantine later, not the batch's.
            let Ok((sha256, bytes)) = hash_file(file) else {
                return Ok(None);
            };
            sources.push(SourceFile {
                file: String::new(),
                sha256,
                bytes,
                pages: 0,
            });
        }
        if sources_digest(&sources) != entry.source_digest {
            return Ok(Some(format!(
                "batch id '{}' is already in the store for other paper: entry '{}' differs from \
                 {} (filed {}). Nothing of this batch was filed; give it its own id in \
                 batch.yaml (id: …), or, if the paper was rescanned, let a person decide",
                batch.id, doc.name, entry.pdf_path, entry.filed_at
            )));
        }
    }
    Ok(None)
}

fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    Ok((hash_reader(&mut f)?, len))
}

fn hash_reader(r: &mut impl Read) -> std::io::Result<String> {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Identifies the same paper scanned again: the page files' hashes in order, names aside.
fn sources_digest(sources: &[SourceFile]) -> String {
    let joined: Vec<&str> = sources.iter().map(|s| s.sha256.as_str()).collect();
    crate::crypto::sha256_hex(joined.join("\n").as_bytes())
}

fn filing_for(
    ctx: &Context<'_>,
    batch: &Batch,
    result: &Classification,
    filed_at: time::OffsetDateTime,
) -> Result<(String, Filing), Quarantine> {
    let profile = &ctx.config.profile.profile;
    let unclassified = || {
        (
            format!("{}/{}", profile.unclassified.value, batch.id),
            Filing {
                efile: None,
                title: None,
                folder: format!("{}/{}", profile.unclassified.value, batch.id),
                score: None,
                decided_by: Vec::new(),
                runner_up: result.runner_up_id().map(str::to_string),
                ambiguous: false,
                retention_until: None,
            },
        )
    };
    let Some(decision) = result.decision() else {
        return Ok(unclassified());
    };
    let Some(rule) = profile.efiles.iter().find(|r| r.id.value == decision.id()) else {
        return Ok(unclassified());
    };
    let mut fields = decision.fields_normalised();
    fields.insert("year".into(), filed_at.year().to_string());
    fields.insert("month".into(), format!("{:02}", u8::from(filed_at.month())));
    fields.insert("batch".into(), batch.id.clone());
    fields.insert("efile".into(), rule.id.value.clone());
    let folder = store::render_path(&rule.path.value, &fields)
        .map_err(|e| Quarantine(format!("e-file path for '{}': {e}", rule.id.value)))?;
    let folder = folder.to_string_lossy().into_owned();
    let retention_until = rule
        .retention
        .as_ref()
        .and_then(|r| store::retention_until(filed_at.date(), r.years))
        .map(|d| d.to_string());
    Ok((
        folder.clone(),
        Filing {
            efile: Some(rule.id.value.clone()),
            title: Some(rule.title.clone()),
            folder,
            score: Some(decision.score()),
            decided_by: decision.evidence(),
            runner_up: result.runner_up_id().map(str::to_string),
            ambiguous: result.is_ambiguous(),
            retention_until,
        },
    ))
}

fn responsible(ctx: &Context<'_>, batch: &Batch) -> note::Responsible {
    let p = &ctx.config.profile.profile;
    note::Responsible {
        operator: batch
            .manifest
            .operator
            .clone()
            .unwrap_or_else(|| "not recorded (no operator in batch.yaml)".into()),
        organisation: p.organisation.clone(),
        unit: batch.manifest.unit.clone().or_else(|| p.unit.clone()),
    }
}

fn automatic_checks(ctx: &Context<'_>) -> Vec<String> {
    let p = &ctx.config.profile.profile;
    vec![
        format!("resolution of every page >= {} dpi", p.scan.min_dpi),
        "every page decoded completely from the scanner's file".into(),
        format!("blank pages detected ({:?})", p.scan.blank_pages).to_lowercase(),
        format!(
            "OCR mean word confidence checked against {:.0}",
            p.ocr.min_confidence
        ),
        "images embedded without re-encoding or losslessly (no JBIG2, TR-03138 A.SC.12)".into(),
        "source files hashed before and after processing (SHA-256)".into(),
    ]
}

/// A note of `kind` for `batch`, with the fields every note shares (A.NB.4 a-c, e, f);
/// the caller adds the documents and, for a batch note, completeness and note hashes.
fn new_note(ctx: &Context<'_>, batch: &Batch, kind: NoteKind) -> TransferNote {
    let mut env = ctx.environment.clone();
    env.station = batch.manifest.station.clone();
    env.scanner = batch.manifest.scanner.clone();
    let now = now_rfc3339();
    TransferNote {
        format: note::NOTE_FORMAT.into(),
        kind,
        batch: batch.id.clone(),
        responsible: responsible(ctx, batch),
        environment: env,
        times: note::Times {
            scanned_at: batch.manifest.scanned_at.clone(),
            processing_started: ctx.started.clone(),
            processing_finished: now.clone(),
            signed_at: now,
        },
        signer: ctx.signer.clone(),
        completeness: None,
        document_notes: BTreeMap::new(),
        documents: Vec::new(),
        concordance: Concordance::automatic(automatic_checks(ctx)),
    }
}

fn document_note(ctx: &Context<'_>, batch: &Batch, record: DocumentRecord) -> TransferNote {
    let mut note = new_note(ctx, batch, NoteKind::Document);
    note.documents.push(record);
    note
}

/// Writes the note's YAML and its detached CMS signature (with signing-time) atomically;
/// returns the SHA-256 of the note bytes. The YAML is streamed to disk and hashed on the way,
/// so a batch note of any length is never in memory at once; it is signed before it is
/// committed, so a note that cannot be signed leaves nothing behind.
fn write_signed_note<D: Serialize>(
    ctx: &Context<'_>,
    path: &Path,
    note: &TransferNote<D>,
) -> Result<String, IngestError> {
    let write_err = |source| IngestError::Write {
        path: path.to_path_buf(),
        source,
    };
    let file = store::AtomicFile::create(path).map_err(write_err)?;
    let mut out = crate::crypto::HashingWriter::for_signing(
        std::io::BufWriter::new(file),
        ctx.identity.digest(),
    );
    if let Err(e) = note.write_yaml(&mut out) {
        return Err(match out.io_error() {
            Some(io) => write_err(io),
            None => IngestError::Refused(format!("{}: {e}", path.display())),
        });
    }
    let hashed = out.finish().map_err(write_err)?;
    let file = hashed
        .inner
        .into_inner()
        .map_err(|e| write_err(e.into_error()))?;
    let digest = hashed.signing_digest.unwrap_or_default();
    let p7s = crate::crypto::cms::sign_digest_now(ctx.identity, &digest)
        .map_err(|e| IngestError::Refused(format!("signing {}: {e}", path.display())))?;
    file.commit().map_err(write_err)?;
    let p7s_path = crate::crypto::cms::detached_signature_path(path);
    store::atomic_write(&p7s_path, &p7s).map_err(|source| IngestError::Write {
        path: p7s_path,
        source,
    })?;
    Ok(hex::encode(hashed.sha256))
}

fn previous_record(store_dir: &Path, entry: &store::IndexedDoc) -> Result<DocumentRecord, String> {
    let bytes = std::fs::read(store_dir.join(&entry.note_path)).map_err(|e| e.to_string())?;
    let note = TransferNote::from_yaml(&bytes).map_err(|e| e.to_string())?;
    note.documents
        .into_iter()
        .next()
        .ok_or_else(|| "empty note".to_string())
}
