//! `resiscan renew --store DIR --profile FILE` (SPEC §7): renews the store's evidence before an
//! algorithm or a TSA certificate weakens (PAdES B-LTA; the idea of TR-ESOR's evidence
//! records).
//!
//! For every PDF a finished batch's note lists as filed: the DSS brought up to date (with
//! `signing.revocation: embed`: the chains of the signature and of every timestamp in the
//! file, and the profile's CRLs) and a document timestamp appended, both as incremental
//! updates, into a copy in the PDF's own folder that is fsynced and renamed over the PDF: a
//! PDF is always either the old one or the whole renewed one. For every note (the batch note,
//! the QA addendum, each document's note): a fresh RFC 3161 token over the note followed by
//! its detached signature, kept beside it as `<note>.<YYYY-MM-DD>.tst` (the token itself,
//! DER; the date is the token's genTime, UTC). Then one signed `renew` link in `_chain/`
//! names the new hash of every PDF and every archive timestamp the chain does not hold yet.
//!
//! Idempotent per day: a PDF whose newest document timestamp is from today and a note with
//! today's `.tst` are left alone; a second run the same day changes nothing. Resumable: a run
//! stopped anywhere (`kill -9`, the TSA gone) leaves whole files only, which `verify` accepts
//! (a renewed PDF is its recorded self plus renewal revisions, see `verify::renewed`; a
//! `.tst` no link holds yet is PENDING), and the next run finishes the rest and writes the
//! link for everything the chain does not hold yet, the earlier run's work included.
//!
//! Before it extends anything, renew holds each file against its signed record (the chain):
//! a PDF or note that was changed is not renewed (a timestamp must not vouch for an edit);
//! it is named and the run exits 1 after renewing the rest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::chain::{self, Event};
use super::{BATCHES_DIR, Store, StoreError};
use crate::crypto::identity::SigningIdentity;
use crate::crypto::tsp::{Tsa, TsaError};
use crate::note::TransferNote;

/// The ending of an archive timestamp's file name.
pub const ARCHIVE_TIMESTAMP_EXT: &str = ".tst";

/// `<note>.<YYYY-MM-DD>.tst` for note file `note_name` and day `date`.
pub fn archive_timestamp_name(note_name: &str, date: &str) -> String {
    format!("{note_name}.{date}{ARCHIVE_TIMESTAMP_EXT}")
}

/// The note's file name and the day of an archive timestamp's file name; `None` when the
/// name is not `<note>.<YYYY-MM-DD>.tst`.
pub fn parse_archive_timestamp_name(name: &str) -> Option<(&str, &str)> {
    let stem = name.strip_suffix(ARCHIVE_TIMESTAMP_EXT)?;
    let (note, date) = stem.rsplit_once('.')?;
    let b = date.as_bytes();
    let is_date = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    (is_date && !note.is_empty()).then_some((note, date))
}

/// What an archive timestamp covers: SHA-256 of the note's bytes followed by its detached
/// signature's (`<note>.p7s`). `openssl ts -verify -data <(cat NOTE NOTE.p7s)` checks it.
pub fn archive_imprint(note: &Path) -> std::io::Result<[u8; 32]> {
    let mut h = Sha256::new();
    h.update(std::fs::read(note)?);
    h.update(std::fs::read(crate::crypto::cms::detached_signature_path(
        note,
    ))?);
    Ok(h.finalize().into())
}

/// Why a renewal stopped or could not renew everything.
#[derive(Debug, thiserror::Error)]
pub enum RenewError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{store} is not a resiscan store (no _batches/ folder); nothing was changed")]
    NoStore { store: PathBuf },
    #[error(
        "{store}: no signed chain (_chain/): renew records what it renewed in the chain; run \
         `resiscan store adopt --store {store}` first"
    )]
    NoChain { store: PathBuf },
    #[error("{store}: its chain cannot be read: {reason}")]
    Unreadable { store: PathBuf, reason: String },
    /// The TSA failed: the run stops; what was renewed so far is whole and kept.
    #[error(
        "{path}: {cause}; renewal stopped here: {done} file(s) renewed before are whole and \
         kept, nothing is half-written; run the same renew again once the TSA answers"
    )]
    Tsa {
        path: PathBuf,
        cause: TsaError,
        done: usize,
    },
    /// Files that were not renewed (changed against their signed record, unreadable); the
    /// rest was.
    #[error(
        "not renewed, because they do not match their signed record or cannot be read \
         (everything else was renewed):\n{}",
        .0.join("\n")
    )]
    NotRenewed(Vec<String>, Box<Renewed>),
}

/// What a renewal did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Renewed {
    /// The day renewed (UTC, YYYY-MM-DD).
    pub date: String,
    /// PDFs this run extended by a document timestamp.
    pub pdfs_renewed: usize,
    /// PDFs whose newest document timestamp is from today already.
    pub pdfs_current: usize,
    /// Archive timestamps this run wrote.
    pub notes_stamped: usize,
    /// Notes with an archive timestamp of today already.
    pub notes_current: usize,
    /// Bytes this run added to the PDFs.
    pub bytes_added: u64,
    /// Files the new `renew` link records (0: no link written).
    pub linked: usize,
    /// The store's head after the run.
    pub store_head: Option<String>,
    /// Batches left out: a run still under way (finish its ingest first).
    pub skipped_batches: Vec<String>,
}

impl Renewed {
    pub fn changed_nothing(&self) -> bool {
        self.pdfs_renewed == 0 && self.notes_stamped == 0 && self.linked == 0
    }
}

/// The TSA, what a DSS must hold, and who signs the chain link.
pub struct RenewWith<'a> {
    pub tsa: &'a Tsa,
    /// `signing.revocation: embed`: CRLs and certificates for the DSS.
    pub embed: Option<&'a crate::crypto::crl::Embed>,
    pub identity: &'a SigningIdentity,
}

/// One batch's files to renew, store-relative.
#[derive(Debug, Default)]
struct Scope {
    pdfs: Vec<String>,
    notes: Vec<String>,
}

impl Store {
    /// Renews the store at `dir` (see the module doc).
    pub fn renew(dir: &Path, with: &RenewWith<'_>) -> Result<Renewed, RenewError> {
        if !dir.join(BATCHES_DIR).is_dir() {
            return Err(RenewError::NoStore {
                store: dir.to_path_buf(),
            });
        }
        let _lock = super::take_lock(dir)?;
        crate::atomic_file::remove_stale_temps(dir).map_err(StoreError::io(dir))?;
        let links = chain::read_chain(dir).map_err(|reason| RenewError::Unreadable {
            store: dir.to_path_buf(),
            reason,
        })?;
        if links.is_empty() {
            return Err(RenewError::NoChain {
                store: dir.to_path_buf(),
            });
        }
        let exp = chain::expected(&links);
        let today = crate::machine::now_rfc3339()[..10].to_string();
        let mut out = Renewed {
            date: today.clone(),
            ..Renewed::default()
        };
        let mut scope = Scope::default();
        let mut problems = Vec::new();
        for bdir in super::adopt::batch_dirs(dir)? {
            let id = bdir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if exp.under_way.contains_key(&id) {
                out.skipped_batches.push(id);
                continue;
            }
            if let Err(e) = batch_scope(&bdir, &id, &mut scope) {
                problems.push(e);
            }
        }
        scope.pdfs.sort();
        scope.pdfs.dedup();
        // The notes first: a fresh archive timestamp over each note and its signature.
        let mut done = 0;
        for rel in &scope.notes {
            let full = dir.join(rel);
            let p7s_rel = format!("{rel}.p7s");
            let changed = [rel, &p7s_rel].into_iter().find_map(|r| {
                let (recorded, _) = exp.files.get(r.as_str())?;
                let actual = crate::crypto::hash::sha256_file_hex(&dir.join(r)).ok();
                (actual.as_ref() != Some(recorded)).then(|| r.clone())
            });
            if let Some(r) = changed {
                problems.push(format!(
                    "{r}: differs from the SHA-256 the signed chain records (or cannot be read)"
                ));
                continue;
            }
            let name = full
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let imprint = match archive_imprint(&full) {
                Ok(i) => i,
                Err(e) => {
                    problems.push(format!("{rel}: cannot read it or its signature: {e}"));
                    continue;
                }
            };
            // Today's token over the note as it is now: nothing to do. One over an earlier
            // version (`qa record` rewrote the addendum since) is replaced.
            let todays = full.with_file_name(archive_timestamp_name(&name, &today));
            let current = std::fs::read(&todays).ok().is_some_and(|t| {
                crate::crypto::tsp::token_claims(&t).is_ok_and(|(_, i)| i == imprint)
            });
            if current {
                out.notes_current += 1;
                continue;
            }
            let token = with.tsa.stamp(&imprint).map_err(|cause| RenewError::Tsa {
                path: full.clone(),
                cause,
                done,
            })?;
            // Named by the day the token proves (UTC), which `verify` holds it to.
            let day = crate::crypto::tsp::token_claims(&token)
                .map(|(t, _)| crate::machine::rfc3339(t)[..10].to_string())
                .unwrap_or_else(|_| today.clone());
            let tst = full.with_file_name(archive_timestamp_name(&name, &day));
            super::atomic_write(&tst, &token).map_err(StoreError::io(&tst))?;
            out.notes_stamped += 1;
            done += 1;
        }
        // Then the PDFs: each against the chain, then extended unless renewed today. After
        // the notes, the TSA's token size is known, so the room kept for it in the PDF is
        // that size plus a margin, not the 16 KiB a first token gets.
        for rel in &scope.pdfs {
            let full = dir.join(rel);
            let Some((recorded, _)) = exp.files.get(rel) else {
                problems.push(format!("{rel}: no signed chain link vouches for it"));
                continue;
            };
            match crate::verify::renewed::pdf_against_record(&full, recorded) {
                Err(e) => {
                    problems.push(format!("{rel}: cannot read: {e}"));
                    continue;
                }
                Ok(m) => {
                    if let Some(p) = m.problem(Path::new(rel), "the chain's", recorded) {
                        problems.push(p);
                        continue;
                    }
                }
            }
            match renew_pdf(&full, &today, with) {
                Ok(None) => out.pdfs_current += 1,
                Ok(Some(added)) => {
                    out.pdfs_renewed += 1;
                    out.bytes_added += added;
                    done += 1;
                }
                Err(PdfStep::Tsa(cause)) => {
                    return Err(RenewError::Tsa {
                        path: full,
                        cause,
                        done,
                    });
                }
                Err(PdfStep::Other(reason)) => problems.push(format!("{rel}: {reason}")),
            }
        }
        // One link for everything the chain does not hold yet, an earlier stopped run's
        // work included.
        let mut files = BTreeMap::new();
        for rel in &scope.pdfs {
            let full = dir.join(rel);
            if let (Some((recorded, _)), Ok(actual)) = (
                exp.files.get(rel),
                crate::crypto::hash::sha256_file_hex(&full),
            ) && &actual != recorded
                && !problems.iter().any(|p| p.starts_with(rel.as_str()))
            {
                files.insert(rel.clone(), actual);
            }
        }
        for rel in &scope.notes {
            for tst in archive_timestamps_of(dir, rel)? {
                let actual = crate::crypto::hash::sha256_file_hex(&dir.join(&tst))
                    .map_err(StoreError::io(&dir.join(&tst)))?;
                if exp.files.get(&tst).map(|(s, _)| s) != Some(&actual) {
                    files.insert(tst, actual);
                }
            }
        }
        out.linked = files.len();
        out.store_head = if files.is_empty() {
            links.last().map(|l| l.sha256.clone())
        } else {
            Some(chain::append(
                dir,
                with.identity,
                Event::Renew,
                "",
                Vec::new(),
                files,
                Vec::new(),
            )?)
        };
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(RenewError::NotRenewed(problems, Box::new(out)))
        }
    }
}

/// The files of one finished batch: its notes (batch note, QA addendum, each document's
/// note) and the PDFs its note lists as filed.
fn batch_scope(bdir: &Path, id: &str, scope: &mut Scope) -> Result<(), String> {
    let batch_rel = format!("{BATCHES_DIR}/{id}");
    let note_path = bdir.join(crate::addendum::NOTE_FILE);
    let bytes = match std::fs::read(&note_path) {
        Ok(b) => b,
        Err(e) => {
            return Err(format!(
                "{batch_rel}: its transfer note cannot be read: {e}"
            ));
        }
    };
    let note = TransferNote::from_yaml(&bytes)
        .map_err(|e| format!("{batch_rel}: its transfer note is unreadable: {e}"))?;
    scope
        .notes
        .push(format!("{batch_rel}/{}", crate::addendum::NOTE_FILE));
    if bdir.join(crate::addendum::ADDENDUM_FILE).exists() {
        scope
            .notes
            .push(format!("{batch_rel}/{}", crate::addendum::ADDENDUM_FILE));
    }
    for d in &note.documents {
        if !d.fate.in_store() {
            continue;
        }
        let Some(pdf) = &d.pdf else { continue };
        let paths = Store::doc_paths_beside(pdf, &d.id);
        scope.pdfs.push(pdf.clone());
        scope.notes.push(paths.note);
    }
    Ok(())
}

/// Every archive timestamp beside the note `rel` (store-relative paths).
fn archive_timestamps_of(root: &Path, rel: &str) -> Result<Vec<String>, StoreError> {
    let full = root.join(rel);
    let dir = full.parent().unwrap_or(root);
    let name = full
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let folder = rel.rsplit_once('/').map(|(f, _)| f);
    let rd = std::fs::read_dir(dir).map_err(StoreError::io(dir))?;
    let mut out: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| parse_archive_timestamp_name(n).is_some_and(|(note, _)| note == name))
        .map(|n| match folder {
            Some(f) => format!("{f}/{n}"),
            None => n,
        })
        .collect();
    out.sort();
    Ok(out)
}

enum PdfStep {
    Tsa(TsaError),
    Other(String),
}

/// Extends the PDF at `full` by a DSS (with `embed`) and a document timestamp, unless its
/// newest document timestamp is from `today`: `Ok(None)`. Returns the bytes added.
fn renew_pdf(full: &Path, today: &str, with: &RenewWith<'_>) -> Result<Option<u64>, PdfStep> {
    let (cms, appended) = crate::verify::pdf_evidence(full).map_err(PdfStep::Other)?;
    let newest = appended
        .doc_timestamps
        .iter()
        .filter_map(|t| crate::crypto::tsp::token_claims(&t.token).ok())
        .map(|(time, _)| time)
        .max();
    if newest.is_some_and(|t| crate::machine::rfc3339(t).starts_with(today)) {
        return Ok(None);
    }
    let io = |e: std::io::Error| PdfStep::Other(e.to_string());
    let mut copy = crate::atomic_file::AtomicFile::create(full).map_err(io)?;
    let file = copy.file_mut().map_err(io)?;
    let mut old = std::fs::File::open(full).map_err(io)?;
    std::io::copy(&mut old, file).map_err(io)?;
    let mut added = 0;
    if let Some(embed) = with.embed {
        let mut dss = crate::pdf::update::Dss::default();
        let mut certs = crate::crypto::cms::certificates_of(&cms)
            .map_err(|e| PdfStep::Other(format!("its signature does not read: {e}")))?;
        for t in &appended.doc_timestamps {
            certs.extend(crate::crypto::cms::certificates_of(&t.token).unwrap_or_default());
        }
        for der in certs.iter().chain(&embed.certs) {
            dss.add_cert(der);
        }
        for crl in &embed.crls {
            dss.add_crl(&crl.der);
        }
        added += crate::pdf::update::append_dss(file, &dss)
            .map_err(|e| PdfStep::Other(e.to_string()))?;
    }
    match crate::pdf::update::append_doc_timestamp(file, with.tsa) {
        Ok(n) => added += n,
        Err(crate::pdf::update::DocTimestampError::Tsa(e)) => return Err(PdfStep::Tsa(e)),
        Err(e) => return Err(PdfStep::Other(e.to_string())),
    }
    copy.commit().map_err(io)?;
    Ok(Some(added))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_timestamp_names_round_trip_and_others_are_refused() {
        let n = archive_timestamp_name("x.transfer.yaml", "2026-12-03");
        assert_eq!(n, "x.transfer.yaml.2026-12-03.tst");
        assert_eq!(
            parse_archive_timestamp_name(&n),
            Some(("x.transfer.yaml", "2026-12-03"))
        );
        for bad in [
            "x.transfer.yaml.tst",
            "x.2026-1-03.tst",
            ".2026-12-03.tst",
            "x.transfer.yaml.2026-12-03.tsr",
            "x.20261203xx.tst",
        ] {
            assert_eq!(parse_archive_timestamp_name(bad), None, "{bad}");
        }
    }
}
