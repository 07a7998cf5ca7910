//! The stack stage (SPEC §6): with `separation` in the profile, every batch entry is read for
//! separator sheets and replaced by the documents it holds, before the documents are queued.
//!
//! Why here, before the queue, and not inside a document's stages: everything downstream is
//! keyed by the batch's document list — the work queue and its spool of reports, the
//! `expected: {documents: N}` count, the run marker, the dedupe of a re-run by document id. Cut
//! the stacks first and each of those stays as it is, with split documents like any other.
//! The pass runs on `--jobs` worker threads, one entry at a time each, one page raster at a
//! time (decoded, looked at, dropped), so memory stays as in the page stage. The price is one
//! extra decode of each page of a stack (measured in `benches/stages.rs`).
//!
//! An entry that cannot be read here (an unreadable file, a page that does not decode) is left
//! whole: the document stages meet the same fault and quarantine it with its reason.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::intake::{Batch, DocumentSource};
use crate::profile::Profile;
use crate::separation::{self, PageMark, PageSources};

/// `batch` with its stacks cut into documents (unchanged without `separation`).
pub(super) fn split_batch(profile: &Profile, batch: Batch, jobs: usize) -> Batch {
    let Some(settings) = &profile.separation else {
        return batch;
    };
    let split_on = profile.split_on();
    // Barcode fields read every page for all four symbologies anyway: read them here once and
    // hand them on, so neither stage reads a page twice.
    let all_codes = profile.efiles.iter().any(|r| !r.barcode_fields.is_empty());
    let max_pixels = u64::from(profile.scan.max_megapixels) * 1_000_000;
    let assume = profile.scan.assume_dpi;
    let next = AtomicUsize::new(0);
    let results: std::sync::Mutex<Vec<(usize, Option<Vec<DocumentSource>>)>> =
        std::sync::Mutex::new(Vec::new());
    let docs = &batch.documents;
    let worker = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(doc) = docs.get(i) else { break };
            let parts = if doc.refusal.is_some() {
                None
            } else {
                page_marks(&batch, doc, &split_on, max_pixels, assume, all_codes).map(
                    |(marks, at, codes)| {
                        let split = separation::split_stack(&marks, settings.keep_sheets);
                        let codes = all_codes.then(|| Arc::new(codes));
                        match expanded(doc, &split, &at) {
                            Some(mut parts) => {
                                for p in &mut parts {
                                    p.read_codes = codes.clone();
                                }
                                parts
                            }
                            // Unchanged but for the barcodes already read.
                            None => vec![DocumentSource {
                                read_codes: codes,
                                ..doc.clone()
                            }],
                        }
                    },
                )
            };
            results
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((i, parts));
        }
    };
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, docs.len().max(1)) {
            s.spawn(worker);
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(i, _)| *i);
    let mut batch = batch;
    let originals = std::mem::take(&mut batch.documents);
    for ((_, parts), doc) in results.into_iter().zip(originals) {
        match parts {
            Some(parts) => batch.documents.extend(parts),
            None => batch.documents.push(doc),
        }
    }
    // An entry named `E_2` beside a stack `E` would share an id with the stack's second
    // document: the later one is refused (quarantined with the reason), never filed over.
    let mut seen: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    for d in &mut batch.documents {
        if let Some(first) = seen.get(&d.id) {
            if d.refusal.is_none() {
                d.refusal = Some(format!(
                    "document id '{}' is also the id of a document from entry '{first}' (a \
                     stack's documents are numbered <entry>_<n>); rename the entry",
                    d.id
                ));
            }
        } else {
            seen.insert(d.id.clone(), d.name.clone());
        }
    }
    batch
}

/// The documents `doc` becomes; `None` when it stays as it is.
fn expanded(
    doc: &DocumentSource,
    split: &separation::Split,
    at: &PageSources,
) -> Option<Vec<DocumentSource>> {
    let parts = separation::stack_parts(&doc.id, split, at)?;
    let whole = split.sheets.is_empty();
    Some(
        parts
            .into_iter()
            .map(|part| DocumentSource {
                // A stack without separator sheets keeps its entry's id (only flags to carry).
                id: if whole {
                    doc.id.clone()
                } else {
                    separation::split_id(&doc.id, part.number)
                },
                name: doc.name.clone(),
                kind: doc.kind,
                files: doc.files.clone(),
                refusal: None,
                stack: Some(Box::new(part)),
                read_codes: None,
            })
            .collect(),
    )
}

/// Every page of the entry looked at for separator sheets, and where each page is.
fn page_marks(
    batch: &Batch,
    doc: &DocumentSource,
    split_on: &[crate::profile::SplitOn],
    max_pixels: u64,
    assume_dpi: Option<u32>,
    all_codes: bool,
) -> Option<(Vec<PageMark>, PageSources, separation::PageCodes)> {
    let mut marks = Vec::new();
    let mut at = Vec::new();
    let mut codes = separation::PageCodes::new();
    for file in &doc.files {
        let name = file
            .strip_prefix(&batch.root)
            .unwrap_or(file)
            .to_string_lossy()
            .into_owned();
        let bytes: Arc<[u8]> = std::fs::read(file).ok()?.into();
        let infos = crate::image::probe(&bytes, max_pixels).ok()?;
        for index in 0..infos.len() {
            let page = crate::image::decode_page(&bytes, index, max_pixels).ok()?;
            let dpi = page
                .info
                .dpi
                .map(|d| d.0.round() as u32)
                .filter(|&d| d > 0)
                .or(assume_dpi)
                .unwrap_or(300);
            let (mark, read) =
                separation::page_mark_and_codes(&page.gray, dpi, split_on, all_codes);
            marks.push(mark);
            at.push((name.clone(), index + 1));
            if let Some(read) = read {
                codes.insert(at.len(), read);
            }
        }
    }
    Some((marks, at, codes))
}
