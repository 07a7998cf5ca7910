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

use std::collections::BTreeMap;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use crate::classify::{Classification, Classifier};
pub use crate::config::IngestConfig;
use crate::config::{DemoRefused, LevelUnsupported, demo_allowed, level_supported};
use crate::crypto::identity::SigningIdentity;
use crate::intake::{self, Batch, DocumentSource, FailedBatch};
use crate::note::{self, Concordance, DocumentRecord, NoteKind, SourceFile, TransferNote};
use crate::ocr::{OcrEngine, OcrOptions};
use crate::outcome::{Exit, Fate};
use crate::store::{self, Store};

mod batch;
mod document;
mod spool;
mod stack;
mod stop;

use batch::Outcome;
pub use batch::QuarantineEntry;
use spool::Spool;

/// Room for the CMS in each PDF beyond the certificates it carries: SignerInfo, signed
/// attributes, the signature (512 bytes for RSA-4096) and DER headers fit in well under 2 KiB.
const CMS_OVERHEAD: usize = 2048;

/// Hex digits to reserve for `/Contents`: sized from the identity's certificates, so a small
/// G4 page does not carry 30 KB of zeros, and never too small for the real signature.
/// With a TSA, the room for its token is added: the largest token seen this run (the run
/// asks once before the first document) plus a margin.
fn contents_hex_len(identity: &SigningIdentity) -> usize {
    let certs: usize =
        identity.certificate_der().len() + identity.chain_der().iter().map(Vec::len).sum::<usize>();
    let token = identity.timestamper().map_or(0, |t| t.token_room());
    2 * (certs + CMS_OVERHEAD + token)
}

/// The DSS of a PDF whose signature is `cms` (PAdES B-LT): the certificates the signature
/// and its timestamps carry, the TSA's anchors and the CRL issuers, and the CRLs.
fn dss_for(
    cms: &[u8],
    embed: &crate::crypto::crl::Embed,
) -> Result<crate::pdf::update::Dss, String> {
    let mut dss = crate::pdf::update::Dss::default();
    let certs = crate::crypto::cms::certificates_of(cms)
        .map_err(|e| format!("the signature just made does not read back: {e}"))?;
    for der in certs.iter().chain(&embed.certs) {
        dss.add_cert(der);
    }
    for crl in &embed.crls {
        dss.add_crl(&crl.der);
    }
    Ok(dss)
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    #[error(transparent)]
    Identity(IdentityLoad),
    #[error(transparent)]
    Level(#[from] LevelUnsupported),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("OCR engine: {0}")]
    Ocr(crate::ocr::OcrError),
    #[error("writing {}: {cause}", path.display())]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{}: {cause}", path.display())]
    Json {
        path: PathBuf,
        cause: serde_json::Error,
    },
    #[error(transparent)]
    Intake(#[from] intake::IntakeError),
    /// The store failed under a document: the run stopped (see [`StoppedRun`]).
    #[error(transparent)]
    StoreFailed(StoppedRun),
    /// The TSA failed under a document: the run stopped, nothing unstamped was filed.
    #[error(
        "{}. The run stopped at {}: {} of {} documents are filed (each with its timestamp), the \
         rest were not started or not filed; nothing unstamped is filed. Once the timestamp \
         authority answers again, run the same command to finish",
        .0.reason, .0.document, .0.filed, .0.total
    )]
    TimestampFailed(StoppedRun),
    /// The TSA did not give the run's first timestamp: nothing was started.
    #[error(
        "{0}. Nothing was filed; once the timestamp authority answers, run the same command again"
    )]
    Timestamp(crate::crypto::tsp::TsaError),
    #[error(transparent)]
    Note(#[from] NoteError),
}

impl From<DemoRefused> for IngestError {
    fn from(e: DemoRefused) -> IngestError {
        IngestError::Identity(IdentityLoad::DemoRefused(e))
    }
}

// By hand, not `#[from]`: that would also make the OCR error the `source()` of an error that
// already prints it (STYLE §3: a cause is printed or sourced, never both).
impl From<crate::ocr::OcrError> for IngestError {
    fn from(e: crate::ocr::OcrError) -> IngestError {
        IngestError::Ocr(e)
    }
}

/// Why the signing identity of a run could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityLoad {
    #[error("demo identity: {0}")]
    Demo(crate::crypto::IdentityError),
    #[error(transparent)]
    DemoRefused(DemoRefused),
}

/// A run the store stopped: which document it failed under and how far the run got.
#[derive(Debug, thiserror::Error)]
#[error(
    "the store failed while filing {document}: {reason}. The run stopped: {filed} of {total} \
     documents are filed, the rest were not started or not filed; nothing half-written is \
     left. Free space or fix the store, then run the same command again to finish"
)]
pub struct StoppedRun {
    pub document: String,
    /// The store's failure as the document's report records it.
    pub reason: String,
    pub filed: usize,
    pub total: usize,
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
    /// The hash of the store's newest signed chain link after this run (SPEC §8): record it
    /// elsewhere and `verify --head` detects a rollback past it. `None` on a dry run.
    pub store_head: Option<String>,
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
    // The config phase refuses these levels already; said again where the signing happens.
    level_supported(
        profile.protection.integrity,
        crate::config::signing::has_timestamp(profile),
    )?;

    // Listing the batches reads no image data and is quick; done first so that a run whose
    // batches are all unreadable creates no store.
    let (batches, mut failed_batches) = intake::read_batches(&config.batches);
    if batches.is_empty() {
        return Ok(IngestSummary {
            batches: Vec::new(),
            failed_batches,
            signer: match &config.identity {
                Some(id) => format!("{} (certificate)", id.subject()),
                None => "demo identity (untrusted)".into(),
            },
            store_head: None,
            exit: Exit::Failure,
        });
    }

    // --out must be writable before any work: a night's batches filed without their copies
    // is a failure found too late.
    if let Some(out) = &config.out_dir {
        std::fs::create_dir_all(out).map_err(|cause| IngestError::Write {
            path: out.clone(),
            cause,
        })?;
    }

    // A real identity was loaded by the config phase, so a bad key or certificate leaves no
    // new, empty store behind; then the store (a locked store must fail at once, before any
    // slow work); the demo identity lives in the store, so it comes after.
    let store = if config.dry_run {
        None
    } else {
        let store = Store::open(&config.store_dir)?;
        if let Some(r) = store.rebuilt_index() {
            tracing::warn!(
                "{} was missing: rebuilt from the signed notes ({} documents of {} batches) \
                 before filing; documents already filed are recognised and never filed or \
                 written again{}",
                config.store_dir.join(store::INDEX_FILE).display(),
                r.documents,
                r.batches,
                if r.notices.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", r.notices.join("; "))
                }
            );
        }
        Some(Mutex::new(store))
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
    // Stacks cut into their documents (SPEC §6), before anything counts the documents.
    let batches: Vec<Batch> = batches
        .into_iter()
        .map(|b| stack::split_batch(profile, b, config.jobs))
        .collect();
    let demo_identity = match &config.identity {
        Some(_) => None,
        None => Some(demo_identity(config)?),
    };
    let identity = match (&config.identity, &demo_identity) {
        (Some(id), _) | (None, Some(id)) => id,
        (None, None) => unreachable!("the demo identity was loaded above"),
    };
    for warning in identity.warnings() {
        tracing::warn!("signing identity: {warning}");
    }
    // One timestamp before any document: a TSA that is down, misconfigured or answers with a
    // foreign token stops the run here, and the first reply sizes the PDFs' signature room.
    if let Some(tsa) = identity.timestamper() {
        let mut probe = [0u8; 32];
        rand::Rng::fill(&mut rand::rng(), &mut probe[..]);
        tsa.stamp(&probe).map_err(IngestError::Timestamp)?;
    }

    let ocr_options = config.ocr.clone();
    // One engine up front proves the languages load; a failure here is the run's, not a
    // document's.
    drop(OcrEngine::new(&ocr_options)?);

    let work_dir = match &store {
        Some(_) => config.store_dir.join(".resiscan").join("work"),
        None => std::env::temp_dir().join(format!("resiscan-dry-run-{}", std::process::id())),
    };
    std::fs::create_dir_all(&work_dir).map_err(|cause| IngestError::Write {
        path: work_dir.clone(),
        cause,
    })?;

    let signer = note::Signer::of(identity);
    let ctx = Context {
        config,
        identity,
        classifier: &config.plan.classifier,
        store: store.as_ref(),
        work_dir: work_dir.clone(),
        environment: environment(config, &ocr_options),
        ocr_options,
        signer: signer.clone(),
        started: crate::machine::now_rfc3339(),
        claimed: Mutex::new(BTreeMap::new()),
    };

    // Each batch is marked unfinished until its batch note is written (see
    // `store::unfinished`): a run that stops on the way leaves a store `verify` can explain.
    if let Some(store) = &store {
        let store = lock(store);
        for b in &batches {
            let marker = store::RunMarker {
                batch: b.id.clone(),
                folder: b.root.display().to_string(),
                started: ctx.started.clone(),
                host: ctx.environment.host.clone(),
                pid: std::process::id(),
                documents: b.documents.len(),
            };
            // The signed record of what is under way, before the marker: only it excuses the
            // marker (SPEC §8), and a run stopped between the two has filed nothing yet.
            let rel = store::run_marker_rel(&b.id);
            let sha = crate::crypto::sha256_hex(&store::marker_bytes(&marker));
            store::chain::append(
                &config.store_dir,
                identity,
                store::chain::Event::RunStart,
                &b.id,
                b.documents.iter().map(|d| d.id.clone()).collect(),
                BTreeMap::from([(rel, sha)]),
                Vec::new(),
            )?;
            store.begin_batch(&marker)?;
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
    let spool = Spool::create(&work_dir).map_err(|cause| IngestError::Write {
        path: work_dir.clone(),
        cause,
    })?;
    let results = run_queue(&ctx, &batches, queue, &spool);
    if let Some((_, failed)) = results.iter().find(|(_, o)| o.store_failure.is_some()) {
        let filed = results
            .iter()
            .filter(|(_, o)| o.store_failure.is_none() && o.fate != Fate::Quarantined)
            .count();
        let stopped = StoppedRun {
            document: failed.id.clone(),
            reason: failed.store_failure.clone().unwrap_or_else(|| "?".into()),
            filed,
            total,
        };
        return Err(
            if stopped
                .reason
                .starts_with(crate::pipeline::stop::TSA_FAILURE_PREFIX)
            {
                IngestError::TimestampFailed(stopped)
            } else {
                IngestError::StoreFailed(stopped)
            },
        );
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
    let store_head = store
        .is_some()
        .then(|| store::chain::head(&config.store_dir))
        .flatten();
    if let Some(h) = &store_head {
        tracing::info!("store head (signed chain, `verify --head`): {h}");
    }
    Ok(IngestSummary {
        batches: summaries,
        failed_batches,
        signer: format!("{} ({})", signer.subject, signer.kind),
        store_head,
        exit,
    })
}

/// The store's demo identity (a dry run's lives in a temp folder: it writes nothing to the
/// store), refused at the protection levels that need a real signer.
fn demo_identity(config: &IngestConfig) -> Result<SigningIdentity, IngestError> {
    demo_allowed(config.profile.profile.protection.integrity)?;
    let home = if config.dry_run {
        dry_run_identity_home()
    } else {
        config.store_dir.clone()
    };
    config
        .signer
        .load(&home)
        .map(|id| id.with_timestamp(config.timestamp.clone()))
        .map_err(|e| IngestError::Identity(IdentityLoad::Demo(e)))
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
        host: crate::machine::hostname().unwrap_or_else(|| "unknown".into()),
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
            let report = document::document_guarded(ctx, &mut engine, batch, doc);
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

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
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
            let Ok((sha256, bytes)) = crate::crypto::hash::sha256_file_hex_len(file) else {
                return Ok(None);
            };
            sources.push(SourceFile {
                file: String::new(),
                sha256,
                bytes,
                pages: 0,
            });
        }
        if document::sources_digest(&sources) != entry.source_digest {
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
    let now = crate::machine::now_rfc3339();
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

/// Why a transfer note could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// The disk refused: the store's failure.
    #[error("writing {}: {cause}", path.display())]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{}: {cause}", path.display())]
    Serialise {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("signing {}: {cause}", path.display())]
    Sign {
        path: PathBuf,
        cause: crate::crypto::CryptoError,
    },
}

/// Writes the note's YAML and its detached CMS signature (with signing-time) atomically;
/// returns the SHA-256 of the note bytes. The YAML is streamed to disk and hashed on the way,
/// so a batch note of any length is never in memory at once; it is signed before it is
/// committed, so a note that cannot be signed leaves nothing behind.
fn write_signed_note<D: Serialize>(
    ctx: &Context<'_>,
    path: &Path,
    note: &TransferNote<D>,
) -> Result<String, NoteError> {
    let write_err = |cause| NoteError::Write {
        path: path.to_path_buf(),
        cause,
    };
    let file = store::AtomicFile::create(path).map_err(write_err)?;
    let mut out = crate::crypto::HashingWriter::for_signing(
        std::io::BufWriter::new(file),
        ctx.identity.digest(),
    );
    if let Err(cause) = note.write_yaml(&mut out) {
        return Err(match out.io_error() {
            Some(io) => write_err(io),
            None => NoteError::Serialise {
                path: path.to_path_buf(),
                cause,
            },
        });
    }
    let hashed = out.finish().map_err(write_err)?;
    let file = hashed
        .inner
        .into_inner()
        .map_err(|e| write_err(e.into_error()))?;
    let digest = hashed.signing_digest.unwrap_or_default();
    let p7s = crate::crypto::cms::sign_digest_now(ctx.identity, &digest).map_err(|cause| {
        NoteError::Sign {
            path: path.to_path_buf(),
            cause,
        }
    })?;
    file.commit().map_err(write_err)?;
    let p7s_path = crate::crypto::cms::detached_signature_path(path);
    store::atomic_write(&p7s_path, &p7s).map_err(|cause| NoteError::Write {
        path: p7s_path,
        cause,
    })?;
    Ok(hex::encode(hashed.sha256))
}
