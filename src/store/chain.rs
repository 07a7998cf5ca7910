//! The store's history as one signed hash chain (SPEC §8), on the model of a git history or
//! Certificate Transparency's log: every event that changes the store is a link
//! `_chain/<seq>.json`, which names the SHA-256 of the link before it and the SHA-256 of every
//! file it vouches for, and carries a detached CMS signature `<seq>.json.p7s` like the notes.
//! The head (the hash of the newest link) is printed by `ingest` (`store_head`).
//!
//! What the links are:
//! - `run_start`, written before the first document of a batch is filed, together with the
//!   batch's `in-progress.json` marker: it vouches for the marker and names the documents the
//!   run is about to file. Only such a signed link lets `verify` excuse an unfinished batch.
//! - `batch`, written once the batch note, report and quarantine list are on disk: it vouches
//!   for those and for every file of every document the batch note lists, and retires the
//!   marker.
//! - `qa`, written by `qa record` (and `qa serve`, which goes through it): the signed QA
//!   addendum and the `meta.json` it updated.
//! - `adopt`, written by `store adopt` for each batch of a store written before the chain
//!   existed: what that batch's signed notes account for (see `store::adopt`).
//! - `renew`, written by `renew` once its PDFs and archive timestamps are on disk: their new
//!   hashes (see `store::renew`); `batch` is empty.
//!
//! `verify` folds the links in order into the set of files the store must hold, with their
//! hashes, and holds the disk against it: a file missing, changed or present without a link
//! is a finding. Deleting the newest links together with everything they vouch for leaves an
//! earlier complete store; only a head recorded elsewhere (`verify --head`) detects that.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{STATE_DIR, StoreError, atomic_write};
use crate::crypto::identity::SigningIdentity;

/// The chain's folder at the top of the store.
pub const CHAIN_DIR: &str = "_chain";
/// The `format` of every link.
pub const CHAIN_FORMAT: &str = "resiscan-chain/1";

/// What a link records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    RunStart,
    Batch,
    Qa,
    /// Written by `store adopt` for a batch of a store that had no chain yet: it vouches for
    /// what the batch's signed notes account for, as a `batch` link would.
    Adopt,
    /// Written by `renew`: the new SHA-256 of every PDF it extended (DSS and document
    /// timestamp appended) and every archive timestamp (`.tst`) it wrote beside a note.
    Renew,
}

/// One link of the chain, as written to `_chain/<seq>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub format: String,
    /// 1 for the first link, then one more each.
    pub seq: u64,
    /// SHA-256 (hex) of the previous link's file; `None` only for the first.
    pub previous: Option<String>,
    /// RFC 3339, when the link was written.
    pub time: String,
    pub event: Event,
    pub batch: String,
    /// `run_start`: the documents the run is about to file (their ids).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<String>,
    /// Store-relative path -> SHA-256 (hex) of every file this link vouches for; a later
    /// link's entry for the same path replaces an earlier one.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// Paths an earlier link vouched for that are gone on purpose (a finished batch's marker).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retired: Vec<String>,
}

/// A link as read back, with where it is and its own hash.
#[derive(Debug, Clone)]
pub struct ReadLink {
    pub link: Link,
    /// SHA-256 (hex) of the link's file: what the next link names, and the head.
    pub sha256: String,
    pub path: PathBuf,
}

/// The link file of `seq`, store-relative.
pub fn link_path(seq: u64) -> PathBuf {
    Path::new(CHAIN_DIR).join(format!("{seq:08}.json"))
}

/// Reads every link of the store at `root` in order (by file name). A link that cannot be
/// read comes back as the error with its path; the caller reports it. No `_chain` folder:
/// an empty chain.
pub fn read_chain(root: &Path) -> Result<Vec<ReadLink>, String> {
    let dir = root.join(CHAIN_DIR);
    let mut names: Vec<String> = match std::fs::read_dir(&dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", dir.display())),
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| n.ends_with(".json"))
            .collect(),
    };
    names.sort();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let path = dir.join(&name);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let link: Link = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{}: not a chain link: {e}", path.display()))?;
        out.push(ReadLink {
            link,
            sha256: crate::crypto::sha256_hex(&bytes),
            path,
        });
    }
    Ok(out)
}

/// The hash of the newest link, `None` for a store without a chain.
pub fn head(root: &Path) -> Option<String> {
    read_chain(root).ok()?.pop().map(|l| l.sha256)
}

/// The SHA-256 (hex) of every existing file among `rels` (store-relative); a missing file is
/// left out (the link vouches only for what is there).
pub fn hashed_files<'a>(
    root: &Path,
    rels: impl IntoIterator<Item = &'a str>,
) -> Result<BTreeMap<String, String>, StoreError> {
    let mut out = BTreeMap::new();
    for rel in rels {
        let full = root.join(rel);
        match crate::crypto::hash::sha256_file_hex(&full) {
            Ok(sha) => {
                out.insert(rel.to_string(), sha);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(cause) => return Err(StoreError::Io { path: full, cause }),
        }
    }
    Ok(out)
}

/// Appends a link for `event` on `batch` to the chain of the store at `root`, signed with
/// `identity`; returns the new head. Appends are serialised by `.resiscan/chain.lock` (an
/// ingest and a `qa record` may append at the same time). The signature is written before
/// the link: a crash between the two leaves a signature with no link, which the next append
/// overwrites, never an unsigned link.
pub fn append(
    root: &Path,
    identity: &SigningIdentity,
    event: Event,
    batch: &str,
    documents: Vec<String>,
    files: BTreeMap<String, String>,
    retired: Vec<String>,
) -> Result<String, StoreError> {
    let state = root.join(STATE_DIR);
    std::fs::create_dir_all(&state).map_err(StoreError::io(&state))?;
    let lock_path = state.join("chain.lock");
    let lock = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(StoreError::io(&lock_path))?;
    lock.lock().map_err(StoreError::io(&lock_path))?;
    let chain = read_chain(root).map_err(|reason| StoreError::Io {
        path: root.join(CHAIN_DIR),
        cause: std::io::Error::other(reason),
    })?;
    let (seq, previous) = match chain.last() {
        Some(l) => (l.link.seq + 1, Some(l.sha256.clone())),
        None => (1, None),
    };
    let link = Link {
        format: CHAIN_FORMAT.into(),
        seq,
        previous,
        time: crate::machine::now_rfc3339(),
        event,
        batch: batch.to_string(),
        documents,
        files,
        retired,
    };
    let mut bytes = serde_json::to_vec_pretty(&link).map_err(|e| StoreError::Io {
        path: link_path(seq),
        cause: std::io::Error::other(e),
    })?;
    bytes.push(b'\n');
    let rel = link_path(seq);
    let full = root.join(&rel);
    let (sha, p7s) =
        crate::crypto::cms::sign_content_now(identity, &bytes).map_err(|e| StoreError::Io {
            path: full.clone(),
            cause: std::io::Error::other(format!("cannot sign the chain link: {e}")),
        })?;
    let dir = root.join(CHAIN_DIR);
    std::fs::create_dir_all(&dir).map_err(StoreError::io(&dir))?;
    let p7s_path = crate::crypto::cms::detached_signature_path(&full);
    atomic_write(&p7s_path, &p7s).map_err(StoreError::io(&p7s_path))?;
    atomic_write(&full, &bytes).map_err(StoreError::io(&full))?;
    drop(lock);
    Ok(hex::encode(sha))
}

/// What the chain says the store holds, folded from its links in order.
#[derive(Debug, Default)]
pub struct Expected {
    /// Store-relative path -> (SHA-256, seq of the link that vouches for it).
    pub files: BTreeMap<String, (String, u64)>,
    /// Batches whose newest link is a `run_start`: the marker's path and the documents the
    /// run was about to file.
    pub under_way: BTreeMap<String, Vec<String>>,
    /// Every batch a link names, with the seq of its newest `batch` link.
    pub batches: BTreeMap<String, Option<u64>>,
    /// Breaks in the chain: a link whose `previous` or `seq` does not follow.
    pub breaks: Vec<String>,
    /// Paths a link retired, with every hash a link had vouched for under them: a finished
    /// batch's marker that a run stopped between its `batch` link and removing the marker
    /// left behind is one of these, not a stranger.
    pub retired: BTreeMap<String, std::collections::BTreeSet<String>>,
}

/// Folds `chain` (as [`read_chain`] returns it) into what the store must hold.
pub fn expected(chain: &[ReadLink]) -> Expected {
    let mut out = Expected::default();
    let mut previous: Option<&ReadLink> = None;
    for l in chain {
        let want_seq = previous.map_or(1, |p| p.link.seq + 1);
        let want_prev = previous.map(|p| p.sha256.as_str());
        if l.link.format != CHAIN_FORMAT {
            out.breaks.push(format!(
                "{}: format '{}' is not {CHAIN_FORMAT}",
                l.path.display(),
                l.link.format
            ));
        }
        if l.link.seq != want_seq || l.link.previous.as_deref() != want_prev {
            out.breaks.push(format!(
                "{}: the chain is broken here: it should be link {want_seq} after {}, it is \
                 link {} after {} (a link was removed, replaced or inserted)",
                l.path.display(),
                want_prev.unwrap_or("nothing"),
                l.link.seq,
                l.link.previous.as_deref().unwrap_or("nothing")
            ));
        }
        for (path, sha) in &l.link.files {
            out.files.insert(path.clone(), (sha.clone(), l.link.seq));
        }
        for path in &l.link.retired {
            if let Some((sha, _)) = out.files.remove(path) {
                out.retired.entry(path.clone()).or_default().insert(sha);
            }
        }
        match l.link.event {
            Event::RunStart => {
                out.under_way
                    .insert(l.link.batch.clone(), l.link.documents.clone());
                out.batches.entry(l.link.batch.clone()).or_insert(None);
            }
            Event::Batch | Event::Adopt => {
                out.under_way.remove(&l.link.batch);
                out.batches.insert(l.link.batch.clone(), Some(l.link.seq));
            }
            Event::Qa | Event::Renew => {}
        }
        previous = Some(l);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_name_their_predecessor_and_fold_into_the_expected_store() {
        let dir = tempfile::tempdir().unwrap();
        let (id, _) = crate::crypto::cms::tests::test_identity();
        std::fs::create_dir_all(dir.path().join("_batches/b1")).unwrap();
        std::fs::write(dir.path().join("_batches/b1/in-progress.json"), b"{}").unwrap();
        let files = hashed_files(dir.path(), ["_batches/b1/in-progress.json", "gone"]).unwrap();
        assert_eq!(files.len(), 1);
        let h1 = append(
            dir.path(),
            &id,
            Event::RunStart,
            "b1",
            vec!["b1_0001".into()],
            files,
            vec![],
        )
        .unwrap();
        let exp = expected(&read_chain(dir.path()).unwrap());
        assert_eq!(exp.under_way["b1"], ["b1_0001"]);
        assert!(exp.breaks.is_empty());
        std::fs::write(dir.path().join("_batches/b1/transfer-note.yaml"), b"n").unwrap();
        let files = hashed_files(dir.path(), ["_batches/b1/transfer-note.yaml"]).unwrap();
        let h2 = append(
            dir.path(),
            &id,
            Event::Batch,
            "b1",
            vec![],
            files,
            vec!["_batches/b1/in-progress.json".into()],
        )
        .unwrap();
        assert_eq!(head(dir.path()).as_deref(), Some(h2.as_str()));
        let chain = read_chain(dir.path()).unwrap();
        assert_eq!(chain[1].link.previous.as_deref(), Some(h1.as_str()));
        let exp = expected(&chain);
        assert!(exp.under_way.is_empty() && exp.breaks.is_empty());
        assert_eq!(
            exp.files.keys().collect::<Vec<_>>(),
            ["_batches/b1/transfer-note.yaml"]
        );
        // Removing the first link breaks the chain where the second names it.
        std::fs::remove_file(dir.path().join(link_path(1))).unwrap();
        let exp = expected(&read_chain(dir.path()).unwrap());
        assert_eq!(exp.breaks.len(), 1, "{:?}", exp.breaks);
    }
}
