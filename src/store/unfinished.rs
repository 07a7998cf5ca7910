//! The "run in progress" marker of a batch: `_batches/<id>/in-progress.json`.
//!
//! A batch's transfer note can only be written once every document of the batch has been
//! processed, so a run that stops on the way (a full disk, `kill -9`, a power cut) leaves
//! documents that are filed, each with its own signed note, but listed in no batch note yet.
//! Without a record of that, `verify` could not tell them from PDFs someone put into the store
//! by hand. `ingest` therefore writes this marker (atomically) before it files the first
//! document of a batch and removes it only after the batch note, report and quarantine list
//! are on disk. Whoever finds the marker knows: a run of this batch did not finish; what it
//! filed is checked by its own notes, and running the same command again finishes the batch.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{BATCHES_DIR, Store, StoreError, sync_dir};

/// The marker's file name inside `_batches/<batch-id>/`.
pub const RUN_MARKER: &str = "in-progress.json";

/// What the marker records: enough for a person to see which run stopped, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunMarker {
    pub batch: String,
    /// The batch folder the run read.
    pub folder: String,
    /// RFC 3339, when the run started.
    pub started: String,
    pub host: String,
    pub pid: u32,
    /// Documents the batch folder held when the run started.
    pub documents: usize,
}

impl RunMarker {
    /// The sentence `verify` and `qa` show for a batch with this marker.
    pub fn explanation(&self) -> String {
        format!(
            "unfinished: the run of {} (pid {} on {}) stopped before this batch's transfer \
             note was written; what it filed is checked by each document's own note; run the \
             same `resiscan ingest` again to finish the batch",
            self.started, self.pid, self.host
        )
    }
}

/// The marker's file content (the chain's run-start link records its hash before it is
/// written).
pub fn marker_bytes(marker: &RunMarker) -> Vec<u8> {
    // Plain strings and numbers: serialising cannot fail.
    serde_json::to_vec_pretty(marker).unwrap_or_default()
}

/// `_batches/<id>/in-progress.json` of `store`.
pub fn run_marker_path(store: &Path, batch_id: &str) -> PathBuf {
    store.join(marker_in_store(batch_id))
}

/// `_batches/<id>/in-progress.json`, relative to the store, as the chain names it.
pub fn run_marker_rel(batch_id: &str) -> String {
    format!("{BATCHES_DIR}/{batch_id}/{RUN_MARKER}")
}

/// `_batches/<id>/in-progress.json`, relative to the store.
fn marker_in_store(batch_id: &str) -> PathBuf {
    Path::new(BATCHES_DIR).join(batch_id).join(RUN_MARKER)
}

/// The marker in a batch folder (`_batches/<id>`): `None` when the last run of the batch
/// finished; `Some(Err)` when a marker is there but cannot be read (it still means unfinished).
pub fn read_run_marker(batch_dir: &Path) -> Option<Result<RunMarker, String>> {
    let path = batch_dir.join(RUN_MARKER);
    match std::fs::read(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => Some(Err(format!("{}: {e}", path.display()))),
        Ok(bytes) => {
            Some(serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display())))
        }
    }
}

impl Store {
    /// Marks `marker.batch` as being filed: call before the first document of the batch.
    pub fn begin_batch(&self, marker: &RunMarker) -> Result<PathBuf, StoreError> {
        let rel = marker_in_store(&marker.batch);
        self.write_file(&rel, &marker_bytes(marker))
    }

    /// Marks `batch_id` finished: call after its batch note, report and quarantine list are
    /// written. A marker that is already gone is fine (the same batch given twice).
    pub fn end_batch(&self, batch_id: &str) -> Result<(), StoreError> {
        self.writable()?;
        let path = run_marker_path(self.root(), batch_id);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(StoreError::io(&path)(e)),
        }
        let dir = path.parent().unwrap_or(self.root());
        sync_dir(dir).map_err(StoreError::io(dir))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(batch: &str) -> RunMarker {
        RunMarker {
            batch: batch.into(),
            folder: "/scans/b1".into(),
            started: "2026-11-24T22:00:00Z".into(),
            host: "scan01".into(),
            pid: 4711,
            documents: 3,
        }
    }

    #[test]
    fn a_begun_batch_is_unfinished_until_it_ends() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let batch_dir = dir.path().join(BATCHES_DIR).join("b1");
        assert!(read_run_marker(&batch_dir).is_none());

        store.begin_batch(&marker("b1")).unwrap();
        let found = read_run_marker(&batch_dir).unwrap().unwrap();
        assert_eq!(found, marker("b1"));
        assert!(
            found
                .explanation()
                .contains("run the same `resiscan ingest` again")
        );

        store.end_batch("b1").unwrap();
        assert!(read_run_marker(&batch_dir).is_none());
        // Ending twice (the same batch given twice on one command line) is not an error.
        store.end_batch("b1").unwrap();
    }

    #[test]
    fn an_unreadable_marker_still_means_unfinished() {
        let dir = tempfile::tempdir().unwrap();
        let batch_dir = dir.path().join("b1");
        std::fs::create_dir_all(&batch_dir).unwrap();
        std::fs::write(batch_dir.join(RUN_MARKER), b"{ half").unwrap();
        assert!(read_run_marker(&batch_dir).unwrap().is_err());
    }

    #[test]
    fn a_read_only_store_refuses_to_mark() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path()).unwrap());
        let ro = Store::open_read_only(dir.path()).unwrap();
        assert!(matches!(
            ro.begin_batch(&marker("b1")),
            Err(StoreError::ReadOnly)
        ));
        assert!(matches!(ro.end_batch("b1"), Err(StoreError::ReadOnly)));
    }
}
