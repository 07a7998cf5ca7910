//! `resiscan store adopt`: brings a store written before resiscan kept a signed chain
//! (SPEC §8) under one. Such a store has only its signed notes; `verify` rightly says that
//! nothing proves it complete. Adoption first checks every batch the way `verify` does (batch
//! note, document notes, PDFs, QA addenda), refuses if any is damaged or unfinished, and then
//! writes one signed `adopt` link per batch that vouches for the files its batch note accounts
//! for. From then on the store is held to its chain like any other.
//!
//! What adoption cannot prove: that nothing was removed *before* it. A batch deleted whole
//! before adoption leaves no trace; the link's event (`adopt`, with its time) tells an auditor
//! where the proof begins.

use std::path::{Path, PathBuf};

use super::chain::{self, Event};
use super::{BATCHES_DIR, Store, StoreError};
use crate::crypto::identity::SigningIdentity;
use crate::note::TransferNote;

/// Why a store cannot be adopted.
#[derive(Debug, thiserror::Error)]
pub enum AdoptError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error(
        "{store}: the store already has a signed chain ({links} links); nothing to adopt \
         (`resiscan verify` checks it)"
    )]
    Chained { store: PathBuf, links: usize },
    #[error("{store}: its chain cannot be read: {reason}")]
    Unreadable { store: PathBuf, reason: String },
    #[error(
        "{store}: not adopted, because these batches do not verify (fix or finish them first; \
         a batch whose run did not finish is finished by running the same ingest again):\n{}",
        findings.join("\n")
    )]
    NotClean {
        store: PathBuf,
        findings: Vec<String>,
    },
    #[error("{store}: no batches (_batches/) to adopt")]
    Empty { store: PathBuf },
    #[error("{note}: {reason}")]
    Note { note: PathBuf, reason: String },
}

/// What adoption did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Adopted {
    pub batches: usize,
    /// Files the new links vouch for.
    pub files: usize,
    /// The store's head after adoption.
    pub store_head: String,
}

impl Store {
    /// Adopts the store at `dir` into a signed chain (see the module doc), signing with
    /// `identity`.
    pub fn adopt(dir: &Path, identity: &SigningIdentity) -> Result<Adopted, AdoptError> {
        let _lock = super::take_lock(dir)?;
        let links = chain::read_chain(dir).map_err(|reason| AdoptError::Unreadable {
            store: dir.to_path_buf(),
            reason,
        })?;
        if !links.is_empty() {
            return Err(AdoptError::Chained {
                store: dir.to_path_buf(),
                links: links.len(),
            });
        }
        let batches = batch_dirs(dir)?;
        if batches.is_empty() {
            return Err(AdoptError::Empty {
                store: dir.to_path_buf(),
            });
        }
        check_batches(dir, &batches)?;
        let mut files = 0;
        let mut head = String::new();
        for bdir in &batches {
            let rels = vouched_files(dir, bdir)?;
            let hashed = chain::hashed_files(dir, rels.iter().map(String::as_str))?;
            files += hashed.len();
            let id = bdir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            head = chain::append(
                dir,
                identity,
                Event::Adopt,
                &id,
                Vec::new(),
                hashed,
                Vec::new(),
            )?;
        }
        Ok(Adopted {
            batches: batches.len(),
            files,
            store_head: head,
        })
    }
}

/// The batch folders of the store, sorted.
pub(super) fn batch_dirs(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let root = dir.join(BATCHES_DIR);
    let mut out: Vec<PathBuf> = match std::fs::read_dir(&root) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(cause) => return Err(StoreError::Io { path: root, cause }),
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect(),
    };
    out.sort();
    Ok(out)
}

/// Every batch verified as `verify _batches/<id>` does; anything but VALID (or valid but
/// untrusted: adoption vouches for integrity, trust is `verify --trust`'s question) refuses.
fn check_batches(dir: &Path, batches: &[PathBuf]) -> Result<(), AdoptError> {
    let outcome = crate::verify::run(batches, &[]).map_err(|e| AdoptError::NotClean {
        store: dir.to_path_buf(),
        findings: vec![e.to_string()],
    })?;
    let findings: Vec<String> = outcome
        .items
        .iter()
        .filter(|i| {
            !matches!(
                i.status,
                crate::verify::Status::Valid | crate::verify::Status::Untrusted
            )
        })
        .map(|i| {
            format!(
                "  {:?} {}: {}",
                i.status,
                i.path.display(),
                i.problems.join("; ")
            )
        })
        .collect();
    if findings.is_empty() {
        Ok(())
    } else {
        Err(AdoptError::NotClean {
            store: dir.to_path_buf(),
            findings,
        })
    }
}

/// The files of one batch the link vouches for: the batch's own files, its QA addendum, and
/// every file of every document its note lists as filed.
fn vouched_files(dir: &Path, bdir: &Path) -> Result<Vec<String>, AdoptError> {
    let batch_rel = bdir
        .strip_prefix(dir)
        .unwrap_or(bdir)
        .to_string_lossy()
        .replace('\\', "/");
    let mut rels: Vec<String> = [
        "transfer-note.yaml",
        "transfer-note.yaml.p7s",
        "report.json",
        "quarantine.json",
        "qa-addendum.yaml",
        "qa-addendum.yaml.p7s",
    ]
    .iter()
    .map(|n| format!("{batch_rel}/{n}"))
    .collect();
    let note_path = bdir.join("transfer-note.yaml");
    let bytes = std::fs::read(&note_path).map_err(|e| AdoptError::Note {
        note: note_path.clone(),
        reason: e.to_string(),
    })?;
    let note = TransferNote::from_yaml(&bytes).map_err(|e| AdoptError::Note {
        note: note_path.clone(),
        reason: e.to_string(),
    })?;
    for d in &note.documents {
        if !d.fate.in_store() {
            continue;
        }
        let Some(pdf) = &d.pdf else { continue };
        let paths = Store::doc_paths_beside(pdf, &d.id);
        rels.extend([pdf.clone(), paths.note, paths.p7s, paths.meta]);
    }
    Ok(rels)
}
