//! One document down the stages, each a function from the previous stage's value to its own:
//!
//! ```text
//! hash_sources -> dedupe -> render_pages -> classify -> seal -> recheck_sources -> file
//!  Sources        Fresh     Rendered        Classified  SealedPdf                 (filed)
//! ```
//!
//! A stage that cannot go on returns a [`StageError`]: a [`DocError`] (something about the
//! document: it is quarantined with that reason) or a [`StoreFault`] (the store failed under
//! it: the run stops). The document's record for the notes and `report.json` is built once,
//! at the end, from the typed values the stages returned ([`record_of`]).
//!
//! Pages stream: `render_pages` decodes, checks, recognises and writes one page at a time,
//! so a worker holds one page raster at most, whatever the document's length.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Seek;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::stop::{DocError, StageError, StoreFault};
use super::{Context, DocumentReport, StageTimes, lock, new_note, write_signed_note};
use crate::classify::Classification;
use crate::image::{self, DecodedPage, Embed};
use crate::intake::{Batch, DocumentSource};
use crate::note::{DocumentRecord, Filing, NoteKind, PageRecord, SourceFile, TransferNote};
use crate::ocr::{OcrEngine, PageText};
use crate::outcome::Fate;
use crate::pdf::{DocumentMeta, PdfPage, PdfWriter, SignatureSpec};
use crate::profile::{BlankPolicy, Profile, ScanSettings};
use crate::store::{self, Store};

/// The source files as read from the batch, hashed before any processing (A.NB.4 d).
#[derive(Debug, Clone)]
pub(crate) struct Sources {
    pub files: Vec<SourceFile>,
    /// Identifies the same paper scanned again: the files' hashes in order, names aside.
    pub digest: String,
}

/// What the store and this run already hold of the same paper.
#[derive(Debug)]
pub(crate) enum Fresh {
    /// Not seen before: process it.
    New,
    /// Filed by an earlier run of this batch (the index row and, when readable, its note).
    Earlier {
        entry: Box<store::IndexedDoc>,
        note_record: Option<Box<DocumentRecord>>,
    },
    /// The same source files are filed (or claimed in this run) as another document.
    Duplicate(DuplicateOf),
}

#[derive(Debug)]
pub(crate) enum DuplicateOf {
    Filed(Box<store::IndexedDoc>),
    ThisRun(String),
}

/// The pages as checked, recognised and written, in order; a dropped blank page is listed too.
#[derive(Debug, Default, Clone)]
pub(crate) struct PageLog {
    pub pages: Vec<PageRecord>,
    /// Pages found per source file, in source order (known once the file is probed).
    pub source_pages: Vec<usize>,
    pub dropped: Vec<usize>,
    pub flags: Vec<String>,
}

/// Why rendering stopped, with the pages done before.
pub(crate) struct Halted {
    stop: StageError,
    log: PageLog,
}

/// A document whose pages are all written into an unsigned PDF in the work area.
pub(crate) struct Rendered {
    pub log: PageLog,
    /// The pages' OCR text, for classification and the index.
    pub text: String,
    pub mean_ocr_confidence: Option<f32>,
    pub pdf: UnsignedPdf,
    /// The texts of the barcodes on the written pages, when the profile has barcode fields.
    pub barcodes: Vec<String>,
}

/// The PDF with its signature placeholder, not yet signed.
pub(crate) struct UnsignedPdf {
    file: File,
    placeholder: crate::pdf::sign::SignaturePlaceholder,
    tmp: TempGuard,
}

/// The signed PDF in the work area, and its SHA-256.
pub(crate) struct SealedPdf {
    file: File,
    tmp: TempGuard,
    pub sha256: String,
}

/// Where the profile's file plan puts the document.
#[derive(Debug, Clone)]
pub(crate) struct Classified {
    pub result: Classification,
    /// Store-relative folder.
    pub folder: String,
    pub filing: Filing,
    pub filed_at: time::OffsetDateTime,
    /// Why it is unclassified when the usual reason does not say it (a cover sheet for an
    /// e-file the profile no longer has).
    pub unclassified_because: Option<String>,
}

impl Classified {
    fn fate(&self) -> Fate {
        if self.filing.efile.is_some() {
            Fate::Filed
        } else {
            Fate::Unclassified
        }
    }

    fn reason(&self) -> Option<String> {
        (self.fate() == Fate::Unclassified).then(|| {
            self.unclassified_because
                .clone()
                .unwrap_or_else(|| "no file-plan entry matched; filed for clarification".into())
        })
    }

    fn flag(&self) -> Option<String> {
        self.filing.ambiguous.then(|| {
            format!(
                "classification ambiguous: runner-up {}",
                self.filing.runner_up.as_deref().unwrap_or("?")
            )
        })
    }

    fn index_fields(&self) -> BTreeMap<String, String> {
        self.result
            .decision()
            .map(|d| d.fields_normalised())
            .unwrap_or_default()
    }
}

/// A document that went through every stage to its place in the store (or, on a dry run,
/// as far as that).
pub(crate) struct Filed {
    pub sources: Sources,
    pub log: PageLog,
    pub mean_ocr_confidence: Option<f32>,
    pub classified: Classified,
    /// Store-relative path and SHA-256 of the signed PDF.
    pub pdf: (String, String),
}

/// How a document ended, with the typed values its record is built from.
pub(crate) enum Settled {
    /// Filed (or unclassified and filed for clarification), with its record as in the note.
    Filed {
        record: Box<DocumentRecord>,
        classification: Box<Classification>,
    },
    Earlier {
        sources: Sources,
        entry: Box<store::IndexedDoc>,
        note_record: Option<Box<DocumentRecord>>,
    },
    Duplicate {
        sources: Sources,
        of: DuplicateOf,
    },
    Quarantined {
        stop: StageError,
        sources: Vec<SourceFile>,
        log: Option<PageLog>,
        mean_ocr_confidence: Option<f32>,
        classified: Option<Box<Classified>>,
    },
}

/// One document on its way down the stages, with the time each stage took.
struct Run<'c, 'a> {
    ctx: &'c Context<'a>,
    batch: &'c Batch,
    doc: &'c DocumentSource,
    times: StageTimes,
}

/// Processes one document; a panic anywhere inside becomes a quarantine reason.
pub(super) fn document_guarded(
    ctx: &Context<'_>,
    engine: &mut Option<OcrEngine>,
    batch: &Batch,
    doc: &DocumentSource,
) -> DocumentReport {
    let run = std::panic::AssertUnwindSafe(|| process_document(ctx, engine, batch, doc));
    match std::panic::catch_unwind(run) {
        Ok(report) => report,
        Err(panic) => {
            // The engine may be in any state after a panic inside it: start a fresh one.
            *engine = None;
            let stop = DocError::Panic(super::panic_message(panic.as_ref()).to_string());
            report_of(
                batch,
                doc,
                Settled::Quarantined {
                    stop: stop.into(),
                    sources: Vec::new(),
                    log: None,
                    mean_ocr_confidence: None,
                    classified: None,
                },
                StageTimes::default(),
            )
        }
    }
}

fn process_document(
    ctx: &Context<'_>,
    engine: &mut Option<OcrEngine>,
    batch: &Batch,
    doc: &DocumentSource,
) -> DocumentReport {
    let mut run = Run {
        ctx,
        batch,
        doc,
        times: StageTimes::default(),
    };
    let settled = run.stages(engine);
    report_of(batch, doc, settled, run.times)
}

impl Run<'_, '_> {
    /// The stages in order; the first that stops settles the document as quarantined with
    /// what the earlier stages found.
    fn stages(&mut self, engine: &mut Option<OcrEngine>) -> Settled {
        let quarantined = |stop: StageError, sources: &[SourceFile]| Settled::Quarantined {
            stop,
            sources: sources.to_vec(),
            log: None,
            mean_ocr_confidence: None,
            classified: None,
        };
        let sources = match self.hash_sources() {
            Ok(s) => s,
            Err((e, hashed)) => return quarantined(e.into(), &hashed),
        };
        // A document whose files could never be named is quarantined before any page work
        // (its PDF is built as `<id>.pdf.tmp`, which would fail as if the store had).
        if let Some(reason) = store::doc_name_problem(&self.doc.id) {
            return quarantined(DocError::Unfileable(reason).into(), &sources.files);
        }
        match self.dedupe(&sources) {
            Ok(Fresh::New) => {}
            Ok(Fresh::Earlier { entry, note_record }) => {
                return Settled::Earlier {
                    sources,
                    entry,
                    note_record,
                };
            }
            Ok(Fresh::Duplicate(of)) => return Settled::Duplicate { sources, of },
            Err(stop) => return quarantined(stop, &sources.files),
        }
        let rendered = match self.render_pages(engine, &sources) {
            Ok(r) => r,
            Err(halted) => {
                let Halted { stop, log } = *halted;
                return Settled::Quarantined {
                    stop,
                    sources: sources.files,
                    log: Some(log),
                    mean_ocr_confidence: None,
                    classified: None,
                };
            }
        };
        let Rendered {
            log,
            text,
            mean_ocr_confidence,
            pdf,
            barcodes,
        } = rendered;
        let stopped = |stop: StageError, classified: Option<Classified>, sources: Sources, log| {
            Settled::Quarantined {
                stop,
                sources: sources.files,
                log: Some(log),
                mean_ocr_confidence,
                classified: classified.map(Box::new),
            }
        };
        let classified = match self.classify(&text, &barcodes) {
            Ok(c) => c,
            Err(e) => return stopped(e.into(), None, sources, log),
        };
        let sealed = match self
            .seal(pdf)
            .and_then(|s| self.recheck_sources(&sources).map(|()| s))
        {
            Ok(s) => s,
            Err(stop) => return stopped(stop, Some(classified), sources, log),
        };
        if let Some(reason) = store::filing_problem(
            &self.ctx.config.store_dir,
            &classified.folder,
            &self.doc.id,
            &self.ctx.config.profile.profile.unclassified.value,
        ) {
            return stopped(
                DocError::Unfileable(reason).into(),
                Some(classified),
                sources,
                log,
            );
        }
        let paths = Store::doc_paths(&classified.folder, &self.doc.id);
        let filed = Filed {
            pdf: (paths.pdf.clone(), sealed.sha256.clone()),
            sources,
            log,
            mean_ocr_confidence,
            classified,
        };
        let record = filed_record(self.batch, self.doc, &filed);
        if let Some(store) = self.ctx.store {
            let t = Instant::now();
            let result = self.file(store, sealed, &paths, &record, &filed, text);
            self.times.file_ms += ms(t.elapsed());
            if let Err(stop) = result {
                // A name the file system refused is this document's, not the store's.
                let stop = match stop {
                    StageError::Store(fault) => match fault.document_name_fault() {
                        Some(reason) => DocError::Unfileable(reason).into(),
                        None => StageError::Store(fault),
                    },
                    doc => doc,
                };
                return stopped(stop, Some(filed.classified), filed.sources, filed.log);
            }
        }
        // On a dry run nothing is written; the temp PDF went with `sealed`.
        Settled::Filed {
            record: Box::new(record),
            classification: Box::new(filed.classified.result),
        }
    }

    fn relative(&self, path: &Path) -> String {
        relative(self.batch, path)
    }

    /// Stage 1: Every source hashed as read from the batch, before any processing (A.NB.4 d). When
    /// a file cannot be read, the files hashed before it come back with the reason.
    fn hash_sources(&mut self) -> Result<Sources, (DocError, Vec<SourceFile>)> {
        if let Some(reason) = &self.doc.refusal {
            return Err((DocError::Refused(reason.clone()), Vec::new()));
        }
        let t = Instant::now();
        let mut files = Vec::with_capacity(self.doc.files.len());
        for file in &self.doc.files {
            let (sha256, bytes) = match crate::crypto::hash::sha256_file_hex_len(file) {
                Ok(hashed) => hashed,
                Err(cause) => {
                    let file = self.relative(file);
                    return Err((DocError::Unreadable { file, cause }, files));
                }
            };
            files.push(SourceFile {
                file: self.relative(file),
                sha256,
                bytes,
                pages: 0,
            });
        }
        self.times.hash_ms += ms(t.elapsed());
        let digest = document_digest(self.doc, &files);
        Ok(Sources { files, digest })
    }

    /// Stage 2: Already filed, or the same paper as another document? Only the same scan counts as
    /// already filed: a batch id used again for another day's batch, or a page replaced by a
    /// rescan, gives the same document id to different paper, which must not be skipped as
    /// "already filed" (it would never reach its e-file) nor overwrite the filed one.
    fn dedupe(&self, sources: &Sources) -> Result<Fresh, StageError> {
        if let Some(store) = self.ctx.store {
            let found = lock(store).lookup(&self.doc.id)?;
            if let Some(entry) = found {
                if entry.source_digest != sources.digest {
                    return Err(DocError::IdTaken {
                        pdf: entry.pdf_path,
                        batch: entry.batch_id,
                        filed_at: entry.filed_at,
                    }
                    .into());
                }
                // "Already filed" only when it still is: a re-run must not sign a batch note
                // that names files the store lost (issue #15 D9).
                let root = &self.ctx.config.store_dir;
                let paths = [&entry.pdf_path, &entry.note_path, &entry.meta_path];
                let missing: Vec<&str> = paths
                    .iter()
                    .filter(|p| !root.join(p.as_str()).is_file())
                    .map(|p| p.as_str())
                    .collect();
                if !missing.is_empty() {
                    return Err(DocError::FiledFilesMissing {
                        batch: entry.batch_id.clone(),
                        missing: missing.join(", "),
                    }
                    .into());
                }
                let note_record = previous_record(&self.ctx.config.store_dir, &entry).map(Box::new);
                return Ok(Fresh::Earlier {
                    entry: Box::new(entry),
                    note_record,
                });
            }
            let found = lock(store).find_by_sources(&sources.digest)?;
            if let Some(other) = found
                && other.doc_id != self.doc.id
            {
                return Ok(Fresh::Duplicate(DuplicateOf::Filed(Box::new(other))));
            }
        }
        Ok(
            match claim(&self.ctx.claimed, &sources.digest, &self.doc.id) {
                Some(first) => Fresh::Duplicate(DuplicateOf::ThisRun(first)),
                None => Fresh::New,
            },
        )
    }

    /// Stage 3: Pages: decode, check, OCR, write into the PDF — one at a time. When it stops, the
    /// pages done so far come back with the reason.
    fn render_pages(
        &mut self,
        engine: &mut Option<OcrEngine>,
        sources: &Sources,
    ) -> Result<Rendered, Box<Halted>> {
        let mut log = PageLog::default();
        match self.render_into(engine, sources, &mut log) {
            Ok(r) => Ok(r),
            Err(stop) => Err(Box::new(Halted { stop, log })),
        }
    }

    fn render_into(
        &mut self,
        engine: &mut Option<OcrEngine>,
        sources: &Sources,
        log: &mut PageLog,
    ) -> Result<Rendered, StageError> {
        let ctx = self.ctx;
        let profile = &ctx.config.profile.profile;
        let tmp_pdf = ctx.work_dir.join(format!("{}.pdf.tmp", self.doc.id));
        // Read and write: signing reads the finished file back to hash the byte ranges.
        let pdf_file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp_pdf)
            .map_err(StoreFault::io("cannot create", &tmp_pdf))?;
        let tmp = TempGuard(tmp_pdf.clone());
        let meta = document_meta(profile, self.batch, self.doc, &sources.digest);
        let spec = SignatureSpec {
            contents_hex_len: super::contents_hex_len(ctx.identity),
            signing_time: time::OffsetDateTime::now_utc(),
            field_name: "Signature1".into(),
        };
        // A second handle on the same open file: the writer streams through it, then signing
        // and hashing use the first (the offset is shared, so the writer is finished first).
        let write_handle = pdf_file
            .try_clone()
            .map_err(StoreFault::io("cannot write", &tmp_pdf))?;
        let mut writer = PdfWriter::new(std::io::BufWriter::new(write_handle), &meta, Some(spec))
            .map_err(|e| StageError::from((tmp_pdf.as_path(), e)))?;
        // Page numbers count the document's own pages; a stack's part skips the pages of the
        // entry that are not its own (`stack_page` counts the entry's pages).
        let mut page_number = 0usize;
        let mut stack_page = 0usize;
        let wanted = self.doc.stack.as_ref().map(|p| &p.pages);
        if let Some(part) = &self.doc.stack {
            log.flags.extend(part.flags.iter().cloned());
        }
        let mut text = String::new();
        // Barcode fields (SPEC §6): pages are read for barcodes only when a field asks.
        let wants_barcodes = profile.efiles.iter().any(|r| !r.barcode_fields.is_empty());
        let mut barcodes: Vec<String> = Vec::new();
        let mut confidences = Vec::new();
        let mut written_pages = 0usize;
        let max_pixels = u64::from(profile.scan.max_megapixels) * 1_000_000;
        for (fi, file) in self.doc.files.iter().enumerate() {
            let name = self.relative(file);
            let t = Instant::now();
            let bytes: Arc<[u8]> = std::fs::read(file)
                .map_err(|cause| match cause.kind() {
                    std::io::ErrorKind::NotFound => {
                        DocError::VanishedWhileRead { file: name.clone() }
                    }
                    _ => DocError::Unreadable {
                        file: name.clone(),
                        cause,
                    },
                })?
                .into();
            // The file must be what was hashed a moment ago: a scanner still writing it, or
            // a file swapped under us, must not be filed half (hash before and after).
            if crate::crypto::sha256_hex(&bytes) != sources.files[fi].sha256 {
                return Err(DocError::ChangedWhileRead { file: name }.into());
            }
            self.times.hash_ms += ms(t.elapsed());
            let t = Instant::now();
            let infos = image::probe(&bytes, max_pixels).map_err(|cause| DocError::Image {
                file: name.clone(),
                cause,
            })?;
            self.times.decode_ms += ms(t.elapsed());
            log.source_pages.push(infos.len());
            for index in 0..infos.len() {
                stack_page += 1;
                if wanted.is_some_and(|w| !w.contains(&stack_page)) {
                    continue;
                }
                page_number += 1;
                let page_in_file = index + 1;
                let t = Instant::now();
                let page = image::decode_page(&bytes, index, max_pixels).map_err(|cause| {
                    DocError::Page {
                        file: name.clone(),
                        page: page_in_file,
                        cause,
                    }
                })?;
                self.times.decode_ms += ms(t.elapsed());
                super::injected_panic(&self.doc.name);
                let t = Instant::now();
                let q =
                    crate::quality::page_quality(&page.info, &page.gray, profile.scan.assume_dpi);
                self.times.quality_ms += ms(t.elapsed());
                let mut pr = page_record(page_number, &name, page_in_file, &page, &q);
                let mut verdict = page_verdict(&profile.scan, q.dpi, q.blank, &name, page_in_file)?;
                // The OCR's cross-check (issue #13): a page the pixel test calls blank is read
                // anyway (cheap: blank pages are rare and Tesseract is quick on empty paper);
                // if it yields confidently read words, it has content and is kept.
                let mut early_text = None;
                if let (true, Some(dpi)) = (q.blank, q.dpi) {
                    let t = Instant::now();
                    let read =
                        recognize(ctx, engine, &page, dpi).map_err(|cause| DocError::Ocr {
                            file: name.clone(),
                            page: page_in_file,
                            cause,
                        })?;
                    self.times.ocr_ms += ms(t.elapsed());
                    if crate::quality::confident_words(&read) {
                        pr.blank = false;
                        verdict = PageVerdict::Keep { dpi };
                    }
                    early_text = Some(read);
                }
                let dpi = match verdict {
                    PageVerdict::Drop => {
                        pr.dropped = true;
                        log.dropped.push(page_number);
                        log.pages.push(pr);
                        continue;
                    }
                    PageVerdict::KeepBlank { dpi } => {
                        log.flags
                            .push(format!("page {page_number} is blank and was kept"));
                        dpi
                    }
                    PageVerdict::Keep { dpi } => dpi,
                };
                let t = Instant::now();
                let page_text = match early_text {
                    Some(read) => read,
                    None => recognize(ctx, engine, &page, dpi).map_err(|cause| DocError::Ocr {
                        file: name.clone(),
                        page: page_in_file,
                        cause,
                    })?,
                };
                self.times.ocr_ms += ms(t.elapsed());
                if wants_barcodes {
                    let t = Instant::now();
                    // Read once: the stack stage may have read this page's barcodes already.
                    let already = self
                        .doc
                        .read_codes
                        .as_ref()
                        .and_then(|c| c.get(&stack_page).cloned());
                    let codes = already.unwrap_or_else(|| {
                        crate::barcode::read_barcodes(
                            &page.gray,
                            dpi.round() as u32,
                            &crate::barcode::Symbology::ALL,
                        )
                    });
                    for b in codes {
                        log.flags.push(format!("page {page_number}: barcode {b}"));
                        barcodes.push(b.text);
                    }
                    self.times.quality_ms += ms(t.elapsed());
                }
                pr.ocr_confidence = Some(page_text.mean_confidence);
                pr.words = Some(page_text.words.len());
                pr.rotation = page_text.rotation;
                pr.embedding = Some(embedding_name(&page.embed).into());
                if !page_text.words.is_empty() {
                    confidences.push(page_text.mean_confidence);
                }
                log.flags.extend(ocr_flags(
                    page_number,
                    &page_text,
                    profile.ocr.min_confidence,
                ));
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
                    .map_err(|e| StageError::from((tmp_pdf.as_path(), e)))?;
                self.times.pdf_ms += ms(t.elapsed());
                written_pages += 1;
                if !text.is_empty() {
                    text.push_str("\n\n");
                }
                text.push_str(&page_text.text);
                log.pages.push(pr);
            }
        }
        if written_pages == 0 {
            return Err(DocError::AllBlank.into());
        }
        let t = Instant::now();
        let written = writer
            .finish()
            .map_err(|e| StageError::from((tmp_pdf.as_path(), e)))?;
        let placeholder = written.signature.ok_or(DocError::NoPlaceholder)?;
        written.out.into_inner().map_err(|e| StoreFault::Io {
            what: "writing",
            path: tmp_pdf.clone(),
            cause: e.into_error(),
        })?;
        self.times.pdf_ms += ms(t.elapsed());
        Ok(Rendered {
            log: std::mem::take(log),
            text,
            mean_ocr_confidence: mean(&confidences),
            barcodes,
            pdf: UnsignedPdf {
                file: pdf_file,
                placeholder,
                tmp,
            },
        })
    }

    /// Stage 4: Where the file plan puts the document, and the index fields it read.
    fn classify(&mut self, text: &str, barcodes: &[String]) -> Result<Classified, DocError> {
        let t = Instant::now();
        let mut result = self.ctx.classifier.classify_with_barcodes(text, barcodes);
        if let Some(cover) = self.doc.stack.as_ref().and_then(|p| p.cover.as_ref()) {
            result =
                crate::classify::routed_by_cover(&self.ctx.config.profile.profile, result, cover);
        }
        self.times.classify_ms += ms(t.elapsed());
        let mut c = classified(
            &self.ctx.config.profile.profile,
            &self.ctx.config.plan.templates,
            &self.batch.id,
            result,
            time::OffsetDateTime::now_utc(),
        )?;
        if let Some(cover) = self.doc.stack.as_ref().and_then(|p| p.cover.as_ref())
            && c.filing.efile.is_none()
        {
            // Never a guessed e-file: Klärung, with the reason (SPEC §6).
            c.unclassified_because = Some(format!(
                "routing from cover sheet names e-file '{}', which the profile no longer has; \
                 filed for clarification",
                cover.efile
            ));
        }
        Ok(c)
    }

    /// Stage 5: The PDF signed in place (PAdES B-B) and hashed.
    fn seal(&mut self, pdf: UnsignedPdf) -> Result<SealedPdf, StageError> {
        let UnsignedPdf {
            mut file,
            placeholder,
            tmp,
        } = pdf;
        let t = Instant::now();
        let cms = crate::pdf::sign::sign_pdf_in_place(&mut file, &placeholder, self.ctx.identity)
            .map_err(|e| -> StageError {
            match e {
                crate::pdf::sign::SignError::Io(source) => StoreFault::Io {
                    what: "signing",
                    path: tmp.0.clone(),
                    cause: source,
                }
                .into(),
                crate::pdf::sign::SignError::Cms(crate::crypto::CryptoError::Timestamp(tsa)) => {
                    StoreFault::Timestamp(tsa).into()
                }
                other => DocError::SignPdf(other).into(),
            }
        })?;
        // PAdES B-LT (`signing.revocation: embed`): the DSS goes on in the same temporary
        // file, before it is hashed and filed, so the store only ever sees the finished PDF.
        if let Some(embed) = self.ctx.identity.embed() {
            let dss = super::dss_for(&cms, embed).map_err(DocError::Dss)?;
            crate::pdf::update::append_dss(&mut file, &dss).map_err(|e| -> StageError {
                match e {
                    crate::pdf::update::UpdateError::Io(cause) => StoreFault::Io {
                        what: "appending the DSS to",
                        path: tmp.0.clone(),
                        cause,
                    }
                    .into(),
                    other => DocError::Dss(other.to_string()).into(),
                }
            })?;
        }
        file.seek(std::io::SeekFrom::Start(0))
            .map_err(StoreFault::io("reading", &tmp.0))?;
        let mut reader = crate::crypto::HashingReader::new(&mut file);
        std::io::copy(&mut reader, &mut std::io::sink())
            .map_err(StoreFault::io("reading", &tmp.0))?;
        let sha256 = hex::encode(reader.finish().0);
        self.times.sign_ms += ms(t.elapsed());
        Ok(SealedPdf { file, tmp, sha256 })
    }

    /// Stage 6: The sources must still be what was hashed before the PDF may be filed.
    fn recheck_sources(&self, sources: &Sources) -> Result<(), StageError> {
        for (file, hashed) in self.doc.files.iter().zip(&sources.files) {
            let sha = crate::crypto::hash::sha256_file_hex(file).map_err(|cause| {
                DocError::VanishedWhileProcessing {
                    file: self.relative(file),
                    cause,
                }
            })?;
            if sha != hashed.sha256 {
                return Err(DocError::ChangedWhileProcessing {
                    file: self.relative(file),
                }
                .into());
            }
        }
        Ok(())
    }

    /// Stage 7: File: PDF, note, signature, meta; the index row last, as the commit point.
    fn file(
        &self,
        store: &Mutex<Store>,
        sealed: SealedPdf,
        paths: &store::DocPaths,
        record: &DocumentRecord,
        filed: &Filed,
        text: String,
    ) -> Result<(), StageError> {
        let Filed {
            classified,
            sources,
            ..
        } = filed;
        let ctx = self.ctx;
        let root = &ctx.config.store_dir;
        let dir = root.join(&classified.folder);
        std::fs::create_dir_all(&dir).map_err(StoreFault::io("cannot create", &dir))?;
        let SealedPdf { file, tmp, sha256 } = sealed;
        file.sync_all().map_err(|cause| StoreFault::Sync {
            path: tmp.0.clone(),
            cause,
        })?;
        drop(file);
        let pdf_path = root.join(&paths.pdf);
        // Until the index row is written, every file placed below is taken out again if this
        // document stops (a full disk, a note that cannot be signed): the store then holds
        // only committed documents, and `verify` accepts it even before the re-run.
        let mut placed = Uncommitted::default();
        placed.push(pdf_path.clone());
        std::fs::rename(&tmp.0, &pdf_path).map_err(|cause| StoreFault::Move {
            dir: dir.clone(),
            cause,
        })?;
        tmp.disarm();
        store::sync_dir(&dir).map_err(|cause| StoreFault::Sync {
            path: dir.clone(),
            cause,
        })?;

        let note = document_note(ctx, self.batch, record.clone());
        placed.push(root.join(&paths.p7s));
        placed.push(root.join(&paths.note));
        let note_sha = write_signed_note(ctx, &root.join(&paths.note), &note)?;
        let meta = store::Meta::new(
            record,
            &self.batch.id,
            Some(&classified.result),
            &classified.filing,
            &note_sha,
            classified.filed_at,
        );
        placed.push(root.join(&paths.meta));
        let meta_json = serde_json::to_vec_pretty(&meta).map_err(DocError::Meta)?;
        store::atomic_write(&root.join(&paths.meta), &meta_json).map_err(|cause| {
            StoreFault::Meta {
                file: paths.meta.clone(),
                cause,
            }
        })?;
        lock(store).record(&store::NewEntry {
            doc_id: self.doc.id.clone(),
            batch_id: self.batch.id.clone(),
            efile_id: classified.filing.efile.clone(),
            pdf_path: paths.pdf.clone(),
            note_path: paths.note.clone(),
            meta_path: paths.meta.clone(),
            pdf_sha256: sha256,
            source_digest: sources.digest.clone(),
            filed_at: crate::machine::rfc3339(classified.filed_at),
            retention_until: classified.filing.retention_until.clone(),
            text,
        })?;
        placed.commit();
        Ok(())
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mean(values: &[f32]) -> Option<f32> {
    (!values.is_empty()).then(|| values.iter().sum::<f32>() / values.len() as f32)
}

fn relative(batch: &Batch, path: &Path) -> String {
    path.strip_prefix(&batch.root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// Claims `digest` for document `id` in this run; returns the document that claimed it first
/// when that is another one. Two entries with identical files processed at the same time by
/// two workers would otherwise both be filed, since neither is in the index yet.
fn claim(claimed: &Mutex<BTreeMap<String, String>>, digest: &str, id: &str) -> Option<String> {
    let mut claimed = lock(claimed);
    match claimed.get(digest) {
        Some(first) if first != id => Some(first.clone()),
        Some(_) => None,
        None => {
            claimed.insert(digest.to_string(), id.to_string());
            None
        }
    }
}

/// What the checks say about one decoded page.
#[derive(Debug, Clone, Copy, PartialEq)]
enum PageVerdict {
    /// Blank and the profile drops blank pages.
    Drop,
    /// Blank, kept with a flag (`blank_pages: flag`).
    KeepBlank {
        dpi: f64,
    },
    Keep {
        dpi: f64,
    },
}

/// The resolution and blank-page rules of the profile's `scan` section for one page
/// (`dpi` as found or assumed; `page` is 1-based within `file`).
fn page_verdict(
    scan: &ScanSettings,
    dpi: Option<f64>,
    blank: bool,
    file: &str,
    page: usize,
) -> Result<PageVerdict, DocError> {
    let Some(dpi) = dpi else {
        return Err(DocError::NoResolution {
            file: file.to_string(),
            page,
        });
    };
    if dpi + 0.5 < f64::from(scan.min_dpi) {
        return Err(DocError::LowResolution {
            file: file.to_string(),
            page,
            dpi,
            min: scan.min_dpi,
        });
    }
    Ok(match (blank, scan.blank_pages) {
        (true, BlankPolicy::Drop) => PageVerdict::Drop,
        (true, BlankPolicy::Flag) => PageVerdict::KeepBlank { dpi },
        _ => PageVerdict::Keep { dpi },
    })
}

/// Flags a person should see for a recognised page: low confidence, a rotated scan.
fn ocr_flags(page_number: usize, text: &PageText, min_confidence: f32) -> Vec<String> {
    let mut flags = Vec::new();
    if !text.words.is_empty() && text.mean_confidence < min_confidence {
        flags.push(format!(
            "page {page_number}: OCR confidence {:.0} below {:.0}",
            text.mean_confidence, min_confidence
        ));
    }
    if text.rotation != 0 {
        flags.push(format!(
            "page {page_number} was scanned rotated; shown turned by {}°",
            text.rotation
        ));
    }
    flags
}

fn page_record(
    number: usize,
    source: &str,
    source_page: usize,
    page: &DecodedPage,
    q: &crate::quality::PageQuality,
) -> PageRecord {
    PageRecord {
        number,
        source: source.to_string(),
        source_page,
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
    }
}

/// The PDF's document information (Info dictionary and XMP).
fn document_meta(
    profile: &Profile,
    batch: &Batch,
    doc: &DocumentSource,
    digest: &str,
) -> DocumentMeta {
    DocumentMeta {
        title: format!("{} — {}", doc.id, profile.name.value),
        author: profile.organisation.clone(),
        subject: Some(format!("Scan of batch {} entry {}", batch.id, doc.name)),
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
        document_id: document_id(&doc.id, digest),
    }
}

/// The classification stage's pure part: the file-plan entry's folder, filing and retention
/// for `result`, as filed at `filed_at` in batch `batch_id`.
fn classified(
    profile: &Profile,
    templates: &BTreeMap<String, store::PathTemplate>,
    batch_id: &str,
    result: Classification,
    filed_at: time::OffsetDateTime,
) -> Result<Classified, DocError> {
    let unclassified = |result: Classification| {
        let folder = format!("{}/{}", profile.unclassified.value, batch_id);
        Classified {
            filing: Filing {
                efile: None,
                title: None,
                folder: folder.clone(),
                score: None,
                decided_by: Vec::new(),
                runner_up: result.runner_up_id().map(str::to_string),
                ambiguous: false,
                retention_until: None,
            },
            folder,
            result,
            filed_at,
            unclassified_because: None,
        }
    };
    let Some(decision) = result.decision() else {
        return Ok(unclassified(result));
    };
    let Some(rule) = profile.efiles.iter().find(|r| r.id.value == decision.id()) else {
        return Ok(unclassified(result));
    };
    let mut fields = decision.fields_normalised();
    fields.insert("year".into(), filed_at.year().to_string());
    fields.insert("month".into(), format!("{:02}", u8::from(filed_at.month())));
    fields.insert("batch".into(), batch_id.to_string());
    fields.insert("efile".into(), rule.id.value.clone());
    let filing_path = |cause| DocError::FilingPath {
        efile: rule.id.value.clone(),
        cause,
    };
    // The config phase parsed every entry's template; a missing one is refused like a bad one.
    let folder = match templates.get(&rule.id.value) {
        Some(t) => t.render(&fields),
        None => store::PathTemplate::parse(&rule.path.value).and_then(|t| t.render(&fields)),
    }
    .map_err(filing_path)?
    .to_string_lossy()
    .into_owned();
    let retention_until = rule
        .retention
        .as_ref()
        .and_then(|r| store::retention_until(filed_at.date(), r.years))
        .map(|d| d.to_string());
    let filing = Filing {
        efile: Some(rule.id.value.clone()),
        title: Some(rule.title.clone()),
        folder: folder.clone(),
        score: Some(decision.score()),
        decided_by: decision.evidence(),
        runner_up: result.runner_up_id().map(str::to_string),
        ambiguous: result.is_ambiguous(),
        retention_until,
    };
    Ok(Classified {
        result,
        folder,
        filing,
        filed_at,
        unclassified_because: None,
    })
}

/// The report of a settled document, with its record.
fn report_of(
    batch: &Batch,
    doc: &DocumentSource,
    settled: Settled,
    times: StageTimes,
) -> DocumentReport {
    let (record, classification, store_failure) = match settled {
        Settled::Filed {
            record,
            classification,
        } => (*record, Some(*classification), None),
        Settled::Quarantined {
            stop,
            sources,
            log,
            mean_ocr_confidence,
            classified,
        } => {
            let record = quarantined_record(
                batch,
                doc,
                &stop,
                &sources,
                log.as_ref(),
                mean_ocr_confidence,
                classified.as_deref(),
            );
            let store_failure = match stop {
                StageError::Store(fault) => Some(fault.to_string()),
                StageError::Quarantine(_) => None,
            };
            (record, classified.map(|c| c.result), store_failure)
        }
        Settled::Earlier {
            sources,
            entry,
            note_record,
        } => (
            earlier_record(batch, doc, &sources, &entry, note_record.map(|r| *r)),
            None,
            None,
        ),
        Settled::Duplicate { sources, of } => {
            (duplicate_record(batch, doc, &sources, &of), None, None)
        }
    };
    DocumentReport {
        record,
        classification,
        times,
        store_failure,
    }
}

/// The fields every record starts from: the document's names and the operator's anomaly.
fn base_record(batch: &Batch, doc: &DocumentSource, fate: Fate) -> DocumentRecord {
    DocumentRecord {
        id: doc.id.clone(),
        entry: doc.name.clone(),
        fate,
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
        separator_sheets: doc
            .stack
            .as_ref()
            .map(|p| p.sheets.clone())
            .unwrap_or_default(),
    }
}

/// Sources with their page counts, pages, dropped pages and page flags from the page log.
fn with_log(r: &mut DocumentRecord, sources: &[SourceFile], log: &PageLog) {
    r.sources = sources.to_vec();
    for (s, pages) in r.sources.iter_mut().zip(&log.source_pages) {
        s.pages = *pages;
    }
    r.pages = log.pages.clone();
    r.dropped_pages = log.dropped.clone();
    r.flags = log.flags.clone();
}

/// The record of a filed document, as its note carries it.
fn filed_record(batch: &Batch, doc: &DocumentSource, filed: &Filed) -> DocumentRecord {
    let c = &filed.classified;
    let mut r = base_record(batch, doc, c.fate());
    with_log(&mut r, &filed.sources.files, &filed.log);
    r.mean_ocr_confidence = filed.mean_ocr_confidence;
    r.flags.extend(c.flag());
    r.index_fields = c.index_fields();
    r.reason = c.reason();
    r.pdf = Some(filed.pdf.0.clone());
    r.pdf_sha256 = Some(filed.pdf.1.clone());
    r.filing = Some(c.filing.clone());
    r
}

/// A document filed by an earlier run: its note's record (or what the index knows) with
/// this run's fate. One an earlier run put into Klärung still needs a person: a re-run must
/// exit as the uninterrupted run did (3), not 0.
fn earlier_record(
    batch: &Batch,
    doc: &DocumentSource,
    sources: &Sources,
    entry: &store::IndexedDoc,
    note_record: Option<DocumentRecord>,
) -> DocumentRecord {
    let (fate, reason) = if entry.efile_id.is_none() {
        (
            Fate::Unclassified,
            "filed for clarification by an earlier run; still unclassified",
        )
    } else {
        (Fate::AlreadyFiled, "filed by an earlier run")
    };
    let mut r = note_record.unwrap_or_else(|| {
        let mut r = base_record(batch, doc, fate);
        r.sources = sources.files.clone();
        r.pdf = Some(entry.pdf_path.clone());
        r.pdf_sha256 = Some(entry.pdf_sha256.clone());
        r
    });
    r.fate = fate;
    r.reason = Some(reason.to_string());
    r
}

fn duplicate_record(
    batch: &Batch,
    doc: &DocumentSource,
    sources: &Sources,
    of: &DuplicateOf,
) -> DocumentRecord {
    let mut r = base_record(batch, doc, Fate::Duplicate);
    r.sources = sources.files.clone();
    r.reason = Some(match of {
        DuplicateOf::Filed(other) => {
            r.pdf = Some(other.pdf_path.clone());
            format!(
                "the same scan (identical source files) is already filed as {} from batch {}",
                other.doc_id, other.batch_id
            )
        }
        DuplicateOf::ThisRun(first) => {
            format!("the same scan (identical source files) as {first} in this run")
        }
    });
    r
}

/// A quarantined document: what the stages found before `stop`, no PDF, no filing.
fn quarantined_record(
    batch: &Batch,
    doc: &DocumentSource,
    stop: &StageError,
    sources: &[SourceFile],
    log: Option<&PageLog>,
    mean_ocr_confidence: Option<f32>,
    classified: Option<&Classified>,
) -> DocumentRecord {
    let mut r = base_record(batch, doc, Fate::Quarantined);
    match log {
        Some(log) => with_log(&mut r, sources, log),
        None => r.sources = sources.to_vec(),
    }
    r.mean_ocr_confidence = mean_ocr_confidence;
    if let Some(c) = classified {
        r.flags.extend(c.flag());
        r.index_fields = c.index_fields();
    }
    r.reason = Some(match stop {
        StageError::Quarantine(e) => e.to_string(),
        StageError::Store(fault) => format!("not filed: the store failed: {fault}"),
    });
    r
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

/// Identifies the same paper scanned again: the page files' hashes in order, names aside.
/// [`sources_digest`], and for a document cut from a stack (SPEC §6) its pages too: the
/// documents of one stack share their files, and each is other paper.
pub(super) fn document_digest(doc: &DocumentSource, sources: &[SourceFile]) -> String {
    match &doc.stack {
        Some(part) if doc.id != part.entry_id => {
            let pages: Vec<String> = part.pages.iter().map(usize::to_string).collect();
            crate::crypto::sha256_hex(
                format!("{}\npages {}", sources_digest(sources), pages.join(",")).as_bytes(),
            )
        }
        _ => sources_digest(sources),
    }
}

pub(super) fn sources_digest(sources: &[SourceFile]) -> String {
    let joined: Vec<&str> = sources.iter().map(|s| s.sha256.as_str()).collect();
    crate::crypto::sha256_hex(joined.join("\n").as_bytes())
}

fn document_note(ctx: &Context<'_>, batch: &Batch, record: DocumentRecord) -> TransferNote {
    let mut note = new_note(ctx, batch, NoteKind::Document);
    note.documents.push(record);
    note
}

/// The record an earlier run wrote into the document's note; `None` when it cannot be read
/// (the index row still tells where the PDF is).
fn previous_record(store_dir: &Path, entry: &store::IndexedDoc) -> Option<DocumentRecord> {
    let bytes = std::fs::read(store_dir.join(&entry.note_path)).ok()?;
    let note = TransferNote::from_yaml(&bytes).ok()?;
    note.documents.into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::{BatchManifest, SourceKind};

    fn batch() -> Batch {
        Batch {
            root: PathBuf::from("/scan/b1"),
            id: "b1".into(),
            manifest: BatchManifest::default(),
            manifest_sha256: None,
            documents: Vec::new(),
            notices: Vec::new(),
            attention: Vec::new(),
        }
    }

    fn doc() -> DocumentSource {
        DocumentSource {
            id: "b1-brief".into(),
            name: "brief".into(),
            kind: SourceKind::Folder,
            files: vec![
                PathBuf::from("/scan/b1/brief/1.png"),
                PathBuf::from("/scan/b1/brief/2.png"),
            ],
            refusal: None,
            stack: None,
            read_codes: None,
        }
    }

    fn source(file: &str, sha: &str) -> SourceFile {
        SourceFile {
            file: file.into(),
            sha256: sha.into(),
            bytes: 10,
            pages: 0,
        }
    }

    fn page(number: usize, dropped: bool) -> PageRecord {
        PageRecord {
            number,
            source: format!("brief/{number}.png"),
            source_page: 1,
            width: 2480,
            height: 3508,
            dpi: Some(300.0),
            dpi_source: "file".into(),
            color: "gray".into(),
            blank: dropped,
            dropped,
            ocr_confidence: None,
            words: None,
            rotation: 0,
            embedding: None,
        }
    }

    fn scan(min_dpi: u32, blank_pages: BlankPolicy) -> ScanSettings {
        ScanSettings {
            min_dpi,
            blank_pages,
            ..ScanSettings::default()
        }
    }

    fn demo_plan() -> crate::config::Configured {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/demo.yaml");
        crate::config::configure(&path, crate::config::Needs::FilePlan).unwrap()
    }

    fn text(words: usize, confidence: f32, rotation: u16) -> PageText {
        let word = crate::ocr::Word {
            text: "Wort".into(),
            left: 0,
            top: 0,
            width: 10,
            height: 10,
            confidence,
            block: 1,
            paragraph: 1,
            line: 1,
        };
        PageText {
            words: vec![word; words],
            text: "Wort".into(),
            mean_confidence: confidence,
            rotation,
        }
    }

    #[test]
    fn reasons_read_as_operators_have_always_read_them() {
        let cases: Vec<(DocError, &str)> = vec![
            (
                DocError::VanishedWhileRead {
                    file: "a/1.png".into(),
                },
                "a/1.png: vanished while processing (it was there when the document was hashed); not filed",
            ),
            (
                DocError::ChangedWhileRead {
                    file: "a/1.png".into(),
                },
                "a/1.png: the file changed while it was being read; scan it again or re-run",
            ),
            (
                DocError::LowResolution {
                    file: "a.png".into(),
                    page: 1,
                    dpi: 149.6,
                    min: 300,
                },
                "a.png, page 1: 150 dpi is below the profile's minimum of 300 dpi",
            ),
            (
                DocError::NoResolution {
                    file: "a.png".into(),
                    page: 1,
                },
                "a.png, page 1: the file carries no resolution and the profile gives no scan.assume_dpi",
            ),
            (
                DocError::AllBlank,
                "every page is blank: nothing to file; check the scan",
            ),
            (
                DocError::ChangedWhileProcessing {
                    file: "a.png".into(),
                },
                "a.png: changed while processing; not filed",
            ),
            (
                DocError::Panic("boom".into()),
                "internal error while processing (please report): boom",
            ),
            (
                DocError::IdTaken {
                    pdf: "20/b1-a.pdf".into(),
                    batch: "b1".into(),
                    filed_at: "2026-11-24T22:00:00Z".into(),
                },
                "another scan is already filed under this document id (20/b1-a.pdf, batch b1, \
                 filed 2026-11-24T22:00:00Z): this entry's files differ from it. Not filed: if \
                 the batch id was used before, give this batch a new id in batch.yaml; if the \
                 paper was rescanned, a person decides which version counts",
            ),
        ];
        for (e, want) in cases {
            assert_eq!(e.to_string(), want);
        }
        let fault = StoreFault::Io {
            what: "cannot create",
            path: PathBuf::from("/s/.resiscan/work/x.pdf.tmp"),
            cause: std::io::Error::other("disk full"),
        };
        assert_eq!(
            fault.to_string(),
            "cannot create /s/.resiscan/work/x.pdf.tmp: disk full"
        );
    }

    #[test]
    fn a_page_is_checked_against_the_profiles_resolution_and_blank_rules() {
        let drop = scan(300, BlankPolicy::Drop);
        assert_eq!(
            page_verdict(&drop, Some(300.0), false, "a", 1).unwrap(),
            PageVerdict::Keep { dpi: 300.0 }
        );
        // Half a dpi of rounding is tolerated (299.6 dpi from a 2480-pixel A4 width).
        assert!(page_verdict(&drop, Some(299.6), false, "a", 1).is_ok());
        assert!(matches!(
            page_verdict(&drop, Some(299.4), false, "a", 1),
            Err(DocError::LowResolution { min: 300, .. })
        ));
        assert!(matches!(
            page_verdict(&drop, None, false, "a", 3),
            Err(DocError::NoResolution { page: 3, .. })
        ));
        assert_eq!(
            page_verdict(&drop, Some(300.0), true, "a", 1).unwrap(),
            PageVerdict::Drop
        );
        assert_eq!(
            page_verdict(&scan(300, BlankPolicy::Flag), Some(300.0), true, "a", 1).unwrap(),
            PageVerdict::KeepBlank { dpi: 300.0 }
        );
        assert_eq!(
            page_verdict(&scan(300, BlankPolicy::Keep), Some(300.0), true, "a", 1).unwrap(),
            PageVerdict::Keep { dpi: 300.0 }
        );
        // A blank page below the minimum resolution is still a resolution problem.
        assert!(page_verdict(&drop, Some(200.0), true, "a", 1).is_err());
    }

    #[test]
    fn low_confidence_and_a_turned_page_are_flagged() {
        assert!(ocr_flags(1, &text(5, 90.0, 0), 60.0).is_empty());
        assert_eq!(
            ocr_flags(2, &text(5, 41.4, 0), 60.0),
            ["page 2: OCR confidence 41 below 60"]
        );
        // A page without words has no confidence to judge.
        assert!(ocr_flags(1, &text(0, 0.0, 0), 60.0).is_empty());
        assert_eq!(
            ocr_flags(3, &text(5, 90.0, 180), 60.0),
            ["page 3 was scanned rotated; shown turned by 180°"]
        );
    }

    #[test]
    fn the_first_claim_on_the_same_sources_wins() {
        let claimed = Mutex::new(BTreeMap::new());
        assert_eq!(claim(&claimed, "d1", "b1-a"), None);
        assert_eq!(
            claim(&claimed, "d1", "b1-a"),
            None,
            "the same document again"
        );
        assert_eq!(claim(&claimed, "d1", "b1-b"), Some("b1-a".to_string()));
        assert_eq!(claim(&claimed, "d2", "b1-b"), None);
    }

    #[test]
    fn classification_decides_folder_filing_and_retention_from_the_built_templates() {
        let c = demo_plan();
        let profile = &c.profile.profile;
        let filed_at = time::macros::datetime!(2026-11-24 22:00 UTC);
        let letter = "Stadtkasse Leipzig\nVollstreckung\nAktenzeichen: VB-2026-00417\n\
                      Ratenzahlung vereinbart";
        let result = c.plan.classifier.classify(letter);
        let got = classified(profile, &c.plan.templates, "b1", result, filed_at).unwrap();
        assert_eq!(got.folder, "20 Stadtkasse/20.3 Vollstreckung/VB-2026-00417");
        assert_eq!(got.fate(), Fate::Filed);
        assert_eq!(got.reason(), None);
        assert_eq!(got.filing.efile.as_deref(), Some("vollstreckung"));
        assert_eq!(got.filing.retention_until.as_deref(), Some("2036-11-24"));
        assert_eq!(got.index_fields()["az"], "VB-2026-00417");

        let nothing = c.plan.classifier.classify("Sehr geehrte Damen und Herren");
        let got = classified(profile, &c.plan.templates, "b1", nothing, filed_at).unwrap();
        assert_eq!(got.folder, "_Klaerung/b1");
        assert_eq!(got.fate(), Fate::Unclassified);
        assert_eq!(
            got.reason().as_deref(),
            Some("no file-plan entry matched; filed for clarification")
        );
        assert!(got.index_fields().is_empty());
    }

    #[test]
    fn a_quarantined_record_keeps_what_the_stages_found_before_the_stop() {
        let log = PageLog {
            pages: vec![page(1, false)],
            source_pages: vec![1],
            dropped: Vec::new(),
            flags: vec!["page 1: OCR confidence 41 below 60".into()],
        };
        let stop = StageError::Quarantine(DocError::NoResolution {
            file: "brief/2.png".into(),
            page: 1,
        });
        let sources = [source("brief/1.png", "aa"), source("brief/2.png", "bb")];
        let r = quarantined_record(&batch(), &doc(), &stop, &sources, Some(&log), None, None);
        assert_eq!(r.fate, Fate::Quarantined);
        assert_eq!(r.id, "b1-brief");
        assert_eq!(r.sources.len(), 2);
        // Only the first file was probed when the second stopped the document.
        assert_eq!((r.sources[0].pages, r.sources[1].pages), (1, 0));
        assert_eq!(r.pages, log.pages);
        assert_eq!(r.flags, log.flags);
        assert_eq!(r.reason.as_deref(), Some(stop_reason(&stop).as_str()));
        assert!(r.pdf.is_none() && r.pdf_sha256.is_none() && r.filing.is_none());

        let store = StageError::Store(StoreFault::Io {
            what: "writing",
            path: PathBuf::from("/s/x"),
            cause: std::io::Error::other("disk full"),
        });
        let r = quarantined_record(&batch(), &doc(), &store, &sources, None, None, None);
        assert_eq!(
            r.reason.as_deref(),
            Some("not filed: the store failed: writing /s/x: disk full")
        );
        assert!(r.pages.is_empty());
    }

    fn stop_reason(stop: &StageError) -> String {
        match stop {
            StageError::Quarantine(e) => e.to_string(),
            StageError::Store(f) => format!("not filed: the store failed: {f}"),
        }
    }

    #[test]
    fn a_filed_record_is_built_once_from_the_typed_values() {
        let c = demo_plan();
        let filed_at = time::macros::datetime!(2026-11-24 22:00 UTC);
        let result = c
            .plan
            .classifier
            .classify("Volkshochschule Anmeldung Kursnummer: 26F-1234");
        let classified = classified(
            &c.profile.profile,
            &c.plan.templates,
            "b1",
            result,
            filed_at,
        )
        .unwrap();
        let files = vec![source("brief/1.png", "aa"), source("brief/2.png", "bb")];
        let filed = Filed {
            sources: Sources {
                digest: sources_digest(&files),
                files,
            },
            log: PageLog {
                pages: vec![page(1, false), page(2, true)],
                source_pages: vec![1, 1],
                dropped: vec![2],
                flags: Vec::new(),
            },
            mean_ocr_confidence: Some(91.5),
            classified,
            pdf: ("40/b1-brief.pdf".into(), "cafe".into()),
        };
        let r = filed_record(&batch(), &doc(), &filed);
        assert_eq!(r.fate, Fate::Filed);
        assert_eq!(r.reason, None);
        assert_eq!(r.dropped_pages, [2]);
        assert_eq!((r.sources[0].pages, r.sources[1].pages), (1, 1));
        assert_eq!(r.mean_ocr_confidence, Some(91.5));
        assert_eq!(r.pdf.as_deref(), Some("40/b1-brief.pdf"));
        assert_eq!(r.pdf_sha256.as_deref(), Some("cafe"));
        assert_eq!(r.index_fields["kurs"], "26F-1234");
        assert_eq!(
            r.filing.as_ref().and_then(|f| f.efile.as_deref()),
            Some("vhs-anmeldung")
        );
    }

    #[test]
    fn a_duplicate_names_the_first_and_an_earlier_run_keeps_its_note() {
        let files = vec![source("brief/1.png", "aa")];
        let sources = Sources {
            digest: sources_digest(&files),
            files,
        };
        let r = duplicate_record(
            &batch(),
            &doc(),
            &sources,
            &DuplicateOf::ThisRun("b1-other".into()),
        );
        assert_eq!(r.fate, Fate::Duplicate);
        assert_eq!(
            r.reason.as_deref(),
            Some("the same scan (identical source files) as b1-other in this run")
        );
        assert_eq!(r.sources, sources.files);

        let entry = store::IndexedDoc {
            doc_id: "b1-brief".into(),
            batch_id: "b1".into(),
            efile_id: None,
            status: crate::store::DocStatus::Filed,
            reason: None,
            pdf_path: "_Klaerung/b1/b1-brief.pdf".into(),
            note_path: "_Klaerung/b1/b1-brief.transfer.yaml".into(),
            meta_path: "_Klaerung/b1/b1-brief.meta.json".into(),
            pdf_sha256: "cafe".into(),
            source_digest: sources.digest.clone(),
            filed_at: "2026-11-24T22:00:00Z".into(),
            retention_until: None,
        };
        // Unreadable note: what the index knows.
        let r = earlier_record(&batch(), &doc(), &sources, &entry, None);
        assert_eq!(r.fate, Fate::Unclassified, "Klärung still needs a person");
        assert_eq!(r.pdf.as_deref(), Some("_Klaerung/b1/b1-brief.pdf"));
        assert_eq!(r.pdf_sha256.as_deref(), Some("cafe"));
        // Readable note: its record, with this run's fate.
        let mut noted = base_record(&batch(), &doc(), Fate::Filed);
        noted.flags.push("from the note".into());
        let filed_entry = store::IndexedDoc {
            efile_id: Some("vollstreckung".into()),
            ..entry
        };
        let r = earlier_record(&batch(), &doc(), &sources, &filed_entry, Some(noted));
        assert_eq!(r.fate, Fate::AlreadyFiled);
        assert_eq!(r.reason.as_deref(), Some("filed by an earlier run"));
        assert_eq!(r.flags, ["from the note"]);
    }
}
