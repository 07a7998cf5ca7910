//! The store as a whole against its signed chain (SPEC §8, see `store::chain`): every file
//! on disk must be one a signed link vouches for, with the hash the link records; every file
//! a link vouches for must be there; a batch the chain holds must still be there; an
//! `in-progress` marker is excused only by the signed `run_start` link that wrote it; every
//! index row must say what the signed batch notes say (e-file, path, hash, retention).
//!
//! Not covered by a link, and so not reported when present: the index (`index.sqlite*`,
//! reconciled row by row instead), resiscan's own folder `.resiscan/` (lock, scratch, demo
//! identity) and the QA working files `qa sample` writes beside a batch note
//! (`qa-selection.json`, `qa-sheet.html`, `.qa.lock`), whose outcome the signed QA addendum
//! records.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::{ItemKind, ItemReport, TrustStore, verify_detached_file};
use crate::store::chain::{self, CHAIN_DIR, Expected, ReadLink};

/// QA working files in `_batches/<id>/`, vouched for by no link (see the module doc).
const QA_WORKING_FILES: &[&str] = &["qa-selection.json", "qa-sheet.html", ".qa.lock"];

/// What a batch note says about one of its documents, for the index reconciliation.
#[derive(Debug, Clone, Default)]
pub(super) struct NotedDoc {
    pub batch: String,
    pub pdf: Option<String>,
    pub pdf_sha256: Option<String>,
    pub efile: Option<String>,
    pub retention_until: Option<String>,
}

/// What the walk over the batches found, shared with the completeness check.
#[derive(Debug, Default)]
pub(super) struct Seen {
    /// PDFs a batch note lists.
    pub listed: BTreeSet<PathBuf>,
    /// SHA-256 of files already hashed (the PDFs), so none is read twice.
    pub hashes: BTreeMap<PathBuf, String>,
    /// Documents the batch notes list as filed, by id.
    pub docs: BTreeMap<String, NotedDoc>,
}

/// The store's chain, read and folded.
#[derive(Debug, Default)]
pub(super) struct ChainView {
    pub links: Vec<ReadLink>,
    pub expected: Expected,
    /// Why the chain could not be read at all.
    pub unreadable: Option<String>,
}

impl ChainView {
    pub fn load(store: &Path) -> ChainView {
        match chain::read_chain(store) {
            Ok(links) => ChainView {
                expected: chain::expected(&links),
                links,
                unreadable: None,
            },
            Err(e) => ChainView {
                unreadable: Some(e),
                ..ChainView::default()
            },
        }
    }

    /// Why the marker of `batch` in `store` is not excused, or `None` when a signed
    /// `run_start` link wrote exactly this marker and no `batch` link has finished it since.
    pub fn marker_not_excused(&self, store: &Path, batch: &str) -> Option<String> {
        let rel = crate::store::run_marker_rel(batch);
        let actual = crate::crypto::hash::sha256_file_hex(&store.join(&rel)).ok();
        if actual.as_ref().is_some_and(|a| self.is_retired(&rel, a)) {
            // The run signed its batch link and stopped before it removed the marker.
            return None;
        }
        let vouched = self.expected.files.get(&rel).map(|(sha, _)| sha);
        if !self.expected.under_way.contains_key(batch) || vouched.is_none() {
            return Some(format!(
                "an in-progress marker no signed record accounts for: the store's chain has no \
                 run of batch {batch} under way, so nothing excuses what is missing or extra \
                 here"
            ));
        }
        if actual.as_ref() != vouched {
            return Some(
                "the in-progress marker differs from the one the run's signed chain link \
                 recorded (it was replaced or edited)"
                    .into(),
            );
        }
        None
    }

    /// Whether `sha` is what a link once vouched for at `rel` before a later one retired it.
    fn is_retired(&self, rel: &str, sha: &str) -> bool {
        self.expected
            .retired
            .get(rel)
            .is_some_and(|hashes| hashes.contains(sha))
    }

    /// The batch under way whose own folder holds `rel` (`_batches/<id>/…`).
    fn under_way_batch_folder<'r>(&self, rel: &'r str) -> Option<&'r str> {
        let rest = rel
            .strip_prefix(crate::store::BATCHES_DIR)?
            .strip_prefix('/')?;
        let (batch, _) = rest.split_once('/')?;
        self.expected.under_way.contains_key(batch).then_some(batch)
    }

    /// The batch under way whose `run_start` link names document `doc_id`.
    fn under_way_batch_of(&self, doc_id: &str) -> Option<&str> {
        self.expected
            .under_way
            .iter()
            .find(|(_, docs)| docs.iter().any(|d| d == doc_id))
            .map(|(b, _)| b.as_str())
    }
}

/// The chain itself: every link signed and trusted, each naming the one before, and, with
/// `head`, the recorded head still in it.
pub(super) fn verify_chain(
    store: &Path,
    view: &ChainView,
    head: Option<&str>,
    trust: &TrustStore,
    items: &mut Vec<ItemReport>,
) {
    let mut r = ItemReport::new(&store.join(CHAIN_DIR), ItemKind::Detached);
    if let Some(e) = &view.unreadable {
        r.fail(format!("the store's signed chain cannot be read: {e}"));
        items.push(r);
        return;
    }
    if view.links.is_empty() {
        r.fail(
            "no signed chain (_chain/): nothing proves that this store is complete (a store \
             written before resiscan kept a chain, or one whose chain was removed)",
        );
        items.push(r);
        return;
    }
    for p in &view.expected.breaks {
        r.fail(p.clone());
    }
    for l in &view.links {
        let link = verify_detached_file(
            &l.path,
            &crate::crypto::cms::detached_signature_path(&l.path),
            trust,
        );
        if r.signer.is_none() {
            r.signer = link.signer.clone();
        }
        if link.status != super::Status::Valid {
            items.push(link);
        }
    }
    let newest = view.links.last().map(|l| l.sha256.as_str()).unwrap_or("");
    r.notes
        .push(format!("{} signed links, head {newest}", view.links.len()));
    if let Some(h) = head {
        let h = h.trim().to_ascii_lowercase();
        match view.links.iter().position(|l| l.sha256 == h) {
            None => r.fail(format!(
                "the recorded head {h} is not in this store's chain: the store was rolled back \
                 past it (links and what they vouch for were removed), or it is another store"
            )),
            Some(i) => r.notes.push(format!(
                "the recorded head is link {} ({} link(s) since)",
                view.links[i].link.seq,
                view.links.len() - 1 - i
            )),
        }
    }
    items.push(r);
}

/// Every file of the store against the chain: missing, changed and unaccounted files, and
/// batches the chain holds that are gone. Documents of a batch a signed `run_start` link says
/// is under way are handed to `pending` (verified by their own notes).
pub(super) fn verify_files(
    store: &Path,
    view: &ChainView,
    seen: &Seen,
    trust: &TrustStore,
    items: &mut Vec<ItemReport>,
    mut pending: impl FnMut(&Path, &str, &mut Vec<ItemReport>),
) {
    if view.unreadable.is_some() || view.links.is_empty() {
        return;
    }
    let exp = &view.expected;
    let mut on_disk = BTreeSet::new();
    let walk = walkdir::WalkDir::new(store)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| !(e.depth() == 1 && e.file_name() == crate::store::STATE_DIR));
    for entry in walk {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let mut r = ItemReport::new(store, ItemKind::Unknown);
                r.fail(format!("cannot read the store: {e}"));
                items.push(r);
                continue;
            }
        };
        if entry.file_type().is_dir() {
            continue;
        }
        let path = entry.path();
        let Some(rel) = rel_of(store, path) else {
            continue;
        };
        if is_unvouched_by_design(&rel) {
            continue;
        }
        on_disk.insert(rel.clone());
        if !entry.file_type().is_file() {
            let mut r = ItemReport::new(path, ItemKind::Unknown);
            r.fail("not a regular file (a link or device) in the store; no signed record accounts for it");
            items.push(r);
            continue;
        }
        let name = entry.file_name().to_string_lossy();
        if crate::atomic_file::is_temp_name(&name) {
            let mut r = ItemReport::new(path, ItemKind::Unknown);
            r.pending(
                "a temporary file a stopped write left (no document: nothing refers to it); \
                 removed when the store is next opened for writing",
            );
            items.push(r);
            continue;
        }
        if rel.starts_with(&format!("{CHAIN_DIR}/")) {
            let is_link = view.links.iter().any(|l| {
                l.path == path || crate::crypto::cms::detached_signature_path(&l.path) == path
            });
            // An append writes the signature first: one stopped between the two leaves the
            // next link's signature without its link, and the next append overwrites it.
            let next_signature = view.links.last().is_some_and(|l| {
                let next = store.join(chain::link_path(l.link.seq + 1));
                crate::crypto::cms::detached_signature_path(&next) == path
            });
            if !is_link && !next_signature {
                let mut r = ItemReport::new(path, ItemKind::Unknown);
                r.fail("a file in the chain's folder that is no link of the chain");
                items.push(r);
            }
            continue;
        }
        // An archive timestamp `renew` wrote: checked whether or not a link holds it yet.
        if rel.ends_with(crate::store::renew::ARCHIVE_TIMESTAMP_EXT) {
            let linked = exp.files.get(&rel);
            let mut r = super::renewed::check_archive_timestamp(
                path,
                trust,
                rewritten_since(exp, &rel, linked.map(|(_, seq)| *seq)),
            );
            let actual = crate::crypto::hash::sha256_file_hex(path).ok();
            match linked {
                Some((sha, _)) if actual.as_ref() == Some(sha) => {
                    items.push(r);
                }
                // Unlinked, or replaced (today's token over a rewritten note) by a run that
                // stopped before its link: a valid token is PENDING, a bad one INVALID.
                _ => {
                    r.pending(
                        "no signed chain link records it yet: a renew run stopped before its \
                         link; `resiscan renew` again records it",
                    );
                    items.push(r);
                }
            }
            continue;
        }
        match exp.files.get(&rel) {
            Some((sha, seq)) => {
                let actual = match seen.hashes.get(path) {
                    Some(h) => Ok(h.clone()),
                    None => crate::crypto::hash::sha256_file_hex(path).map_err(|e| e.to_string()),
                };
                match actual {
                    Err(e) => {
                        let mut r = ItemReport::new(path, ItemKind::Unknown);
                        r.fail(format!("cannot read: {e}"));
                        items.push(r);
                    }
                    // A batch under way rewrites its note and reports; `verify_batch` checks
                    // the note's signature, and the batch link will vouch for them.
                    // A PDF `renew` extended before its run wrote the link: PENDING.
                    Ok(a) if &a != sha && rel.ends_with(".pdf") && renewed(path, sha) => {
                        let mut r = ItemReport::new(path, ItemKind::Pdf);
                        r.pending(format!(
                            "renewed (document timestamp appended after the file signed \
                             chain link {seq} recorded), but no link records the renewal yet: \
                             a renew run stopped before its link; `resiscan renew` again \
                             records it"
                        ));
                        items.push(r);
                    }
                    Ok(a) if &a != sha && view.under_way_batch_folder(&rel).is_none() => {
                        let mut r = ItemReport::new(path, ItemKind::Unknown);
                        r.fail(format!(
                            "changed: SHA-256 {a} differs from the {sha} that signed chain \
                             link {seq} recorded"
                        ));
                        items.push(r);
                    }
                    Ok(_) => {}
                }
            }
            None => {
                if view.under_way_batch_folder(&rel).is_some()
                    || crate::crypto::hash::sha256_file_hex(path)
                        .is_ok_and(|a| view.is_retired(&rel, &a))
                {
                    continue;
                }
                let batch = doc_id_of(&rel).and_then(|id| view.under_way_batch_of(id));
                match batch {
                    Some(b) if rel.ends_with(".pdf") => pending(path, b, items),
                    Some(_) => {}
                    None => {
                        let mut r = ItemReport::new(path, ItemKind::Unknown);
                        r.fail(
                            "not accounted for: no signed record (chain link, batch note) \
                             vouches for this file; it was added to the store",
                        );
                        items.push(r);
                    }
                }
            }
        }
    }
    let mut gone_batches = BTreeSet::new();
    for (batch, finished) in &exp.batches {
        let dir = store.join(crate::store::BATCHES_DIR).join(batch);
        if finished.is_some() && !dir.is_dir() {
            let mut r = ItemReport::new(&dir, ItemKind::Batch);
            r.fail(format!(
                "batch {batch} is gone: the store's signed chain holds it (link {}), the disk \
                 does not",
                finished.unwrap_or(0)
            ));
            items.push(r);
            gone_batches.insert(batch.clone());
        }
    }
    for (rel, (_, seq)) in &exp.files {
        // A run start links its marker before it writes it: stopped between, no marker.
        let unwritten_marker = view.under_way_batch_folder(rel).is_some()
            && rel.ends_with(&format!("/{}", crate::store::RUN_MARKER));
        if on_disk.contains(rel) || unwritten_marker {
            continue;
        }
        let mut r = ItemReport::new(&store.join(rel), ItemKind::Unknown);
        r.fail(format!(
            "missing: signed chain link {seq} vouches for this file, the store does not hold it"
        ));
        items.push(r);
    }
}

/// Every index row against what the signed batch notes say (SPEC §8: retention dates above
/// all, they decide deletion), and every filed document the notes list against the index.
pub(super) fn reconcile_index(
    store: &Path,
    view: &ChainView,
    seen: &Seen,
    items: &mut Vec<ItemReport>,
) {
    let path = store.join(crate::store::INDEX_FILE);
    let mut r = ItemReport::new(&path, ItemKind::Unknown);
    let read = crate::store::Store::open_read_only(store)
        .and_then(|s| Ok((s.list(None)?, s.ids_with_text()?)));
    let (rows, with_text) = match read {
        Ok(read) => read,
        Err(e) => {
            r.fail(format!(
                "the index cannot be read ({e}); `resiscan store reindex --store {}` rebuilds \
                 it from the signed notes",
                store.display()
            ));
            items.push(r);
            return;
        }
    };
    let mut in_index = BTreeSet::new();
    for row in &rows {
        in_index.insert(row.doc_id.as_str());
        let Some(noted) = seen.docs.get(&row.doc_id) else {
            // Filed by a run the chain says is under way: no batch note lists it yet, its
            // own signed note vouches for it (reported PENDING with its batch).
            if view.under_way_batch_of(&row.doc_id) == Some(row.batch_id.as_str()) {
                continue;
            }
            r.fail(format!(
                "row {}: no signed batch note lists this document as filed",
                row.doc_id
            ));
            continue;
        };
        let mut differs = |what: &str, index: Option<&str>, note: Option<&str>| {
            if index != note {
                r.fail(format!(
                    "row {}: {what} is {} in the index, {} in the signed batch note",
                    row.doc_id,
                    index.unwrap_or("empty"),
                    note.unwrap_or("empty")
                ));
            }
        };
        differs("batch", Some(&row.batch_id), Some(&noted.batch));
        differs("pdf_path", Some(&row.pdf_path), noted.pdf.as_deref());
        differs(
            "pdf_sha256",
            Some(&row.pdf_sha256),
            noted.pdf_sha256.as_deref(),
        );
        differs("e-file", row.efile_id.as_deref(), noted.efile.as_deref());
        differs(
            "retention_until",
            row.retention_until.as_deref(),
            noted.retention_until.as_deref(),
        );
        // The note and meta paths are the PDF's stem with their suffixes (SPEC §4).
        let stem = row.pdf_path.strip_suffix(".pdf").unwrap_or(&row.pdf_path);
        let note_path = format!("{stem}.transfer.yaml");
        let meta_path = format!("{stem}.meta.json");
        differs("note_path", Some(&row.note_path), Some(&note_path));
        differs("meta_path", Some(&row.meta_path), Some(&meta_path));
        // Filed means in an e-file, unclassified means in none; a QA rejection may be either.
        let status_fits = match row.status {
            crate::store::DocStatus::Filed => row.efile_id.is_some(),
            crate::store::DocStatus::Unclassified => row.efile_id.is_none(),
            crate::store::DocStatus::Rejected => true,
        };
        if !status_fits {
            r.fail(format!(
                "row {}: status {:?} does not fit its e-file {}",
                row.doc_id,
                row.status,
                row.efile_id.as_deref().unwrap_or("(none)")
            ));
        }
        // A document without full text cannot be found by `store search`.
        if !with_text.contains(&row.doc_id) {
            r.fail(format!(
                "row {}: the index holds no full text for it, `store search` cannot find it",
                row.doc_id
            ));
        }
    }
    for id in seen.docs.keys() {
        if !in_index.contains(id.as_str()) {
            r.fail(format!(
                "{id}: the signed batch note lists it as filed, the index has no row for it"
            ));
        }
    }
    if r.status != super::Status::Valid {
        r.notes.push(format!(
            "`resiscan store reindex --store {}` rebuilds the index from the signed notes",
            store.display()
        ));
        items.push(r);
    }
}

/// The seq of the link that rewrote the note an archive timestamp at `rel` covers after link
/// `tst_seq` recorded the token; `None` when the note is as old as the token or older.
fn rewritten_since(exp: &Expected, rel: &str, tst_seq: Option<u64>) -> Option<u64> {
    let tst_seq = tst_seq?;
    let (folder, name) = rel.rsplit_once('/').unwrap_or(("", rel));
    let (note, _) = crate::store::renew::parse_archive_timestamp_name(name)?;
    let note_rel = if folder.is_empty() {
        note.to_string()
    } else {
        format!("{folder}/{note}")
    };
    [note_rel.clone(), format!("{note_rel}.p7s")]
        .iter()
        .filter_map(|r| exp.files.get(r).map(|(_, seq)| *seq))
        .max()
        .filter(|seq| *seq > tst_seq)
}

/// Whether the PDF at `path` is the file `sha` names extended only by renewal revisions.
fn renewed(path: &Path, sha: &str) -> bool {
    matches!(
        super::renewed::pdf_against_record(path, sha),
        Ok(super::renewed::PdfAgainstRecord::Renewed { .. })
    )
}

/// `path` relative to `store`, with `/` separators; `None` for a name that is not UTF-8
/// (no resiscan file has one; reported by the caller as unaccounted through its absence).
fn rel_of(store: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(store).ok()?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    Some(parts?.join("/"))
}

/// Files no link vouches for by design (see the module doc).
fn is_unvouched_by_design(rel: &str) -> bool {
    if rel.starts_with("index.sqlite") && !rel.contains('/') {
        return true;
    }
    let mut parts = rel.split('/');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next()),
        (Some(crate::store::BATCHES_DIR), Some(_), Some(name), None)
            if QA_WORKING_FILES.contains(&name)
    )
}

/// The document id of one of a document's files (`<id>.pdf`, `<id>.transfer.yaml`, …).
fn doc_id_of(rel: &str) -> Option<&str> {
    let name = rel.rsplit('/').next()?;
    [".transfer.yaml.p7s", ".transfer.yaml", ".meta.json", ".pdf"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
}
