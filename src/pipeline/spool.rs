//! Finished documents' reports wait on disk, not in memory, until their batch is written up.
//!
//! The batch note and `report.json` list every document with its pages, checks and
//! classification — a few KB per document. Kept in memory until the end of the run, a night of
//! 10,000 documents would hold tens of MB and then serialise them at once, so the peak would
//! grow with the batch (issue #6: memory bounded by `--jobs`, not by batch size). Instead each
//! worker writes its document's report here the moment the document is done, and the batch's
//! files are streamed from these, one document at a time ([`Spooled`]).
//!
//! The spool lives in the run's work area (`.resiscan/work/` of the store, a temp folder on a
//! dry run), which the store empties when it is next opened; a spool is also removed when it
//! is dropped.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Serialize, Serializer};

use super::DocumentReport;

/// One run's spooled document reports, by (batch, document) index.
#[derive(Debug)]
pub(super) struct Spool {
    dir: PathBuf,
}

impl Spool {
    /// A fresh spool folder inside `work_dir`.
    pub(super) fn create(work_dir: &Path) -> io::Result<Spool> {
        let dir = work_dir.join(format!("reports-{}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        Ok(Spool { dir })
    }

    fn path(&self, batch: usize, doc: usize) -> PathBuf {
        self.dir.join(format!("{batch}-{doc}.json"))
    }

    /// Keeps `report` for the write-up of its batch.
    pub(super) fn put(&self, batch: usize, doc: usize, report: &DocumentReport) -> io::Result<()> {
        let mut out = BufWriter::new(File::create(self.path(batch, doc))?);
        serde_json::to_writer(&mut out, report).map_err(io::Error::other)?;
        out.flush()
    }

    /// The report [`Spool::put`] kept.
    pub(super) fn get(&self, batch: usize, doc: usize) -> io::Result<DocumentReport> {
        let path = self.path(batch, doc);
        let file = File::open(&path)?;
        serde_json::from_reader(BufReader::new(file)).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })
    }

    /// The reports of `docs` of `batch`, in that order, as `view` shows them, for streaming
    /// into a serialiser.
    pub(super) fn documents<'a, T, F>(
        &'a self,
        batch: usize,
        docs: &'a [usize],
        view: F,
    ) -> Spooled<'a, F>
    where
        T: Serialize,
        F: Fn(DocumentReport) -> T,
    {
        Spooled {
            spool: self,
            batch,
            docs,
            view,
        }
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A batch's spooled reports that serialise as a sequence, read back one at a time.
pub(super) struct Spooled<'a, F> {
    spool: &'a Spool,
    batch: usize,
    docs: &'a [usize],
    view: F,
}

impl<T, F> Serialize for Spooled<'_, F>
where
    T: Serialize,
    F: Fn(DocumentReport) -> T,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeSeq};
        let mut seq = serializer.serialize_seq(Some(self.docs.len()))?;
        for &doc in self.docs {
            let report = self.spool.get(self.batch, doc).map_err(S::Error::custom)?;
            seq.serialize_element(&(self.view)(report))?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::DocumentRecord;
    use crate::outcome::Fate;

    fn report(id: &str) -> DocumentReport {
        DocumentReport {
            record: DocumentRecord {
                id: id.into(),
                entry: format!("{id}.tif"),
                fate: Fate::Filed,
                reason: None,
                sources: Vec::new(),
                pages: Vec::new(),
                dropped_pages: vec![2],
                flags: vec!["page 2 is blank".into()],
                anomaly: None,
                mean_ocr_confidence: Some(91.5),
                pdf: Some(format!("a/{id}.pdf")),
                pdf_sha256: Some("ab".repeat(32)),
                filing: None,
                index_fields: Default::default(),
                separator_sheets: Vec::new(),
            },
            classification: None,
            times: Default::default(),
            store_failure: None,
        }
    }

    #[test]
    fn spooled_reports_serialise_as_the_reports_would() {
        let work = tempfile::tempdir().unwrap();
        let spool = Spool::create(work.path()).unwrap();
        let reports = [report("b_0001"), report("b_0002"), report("b_0003")];
        // Workers finish in any order.
        for i in [2, 0, 1] {
            spool.put(0, i, &reports[i]).unwrap();
        }
        let order = [0, 2];
        let streamed = serde_json::to_string(&spool.documents(0, &order, |r| r.record)).unwrap();
        let whole = serde_json::to_string(&[&reports[0].record, &reports[2].record]).unwrap();
        assert_eq!(streamed, whole);
        let full = serde_json::to_string(&spool.documents(0, &order, |r| r)).unwrap();
        assert_eq!(
            full,
            serde_json::to_string(&[&reports[0], &reports[2]]).unwrap()
        );
    }

    #[test]
    fn a_batch_note_streamed_from_the_spool_is_the_note_built_whole() {
        use crate::qa::testutil::{batch_note, filed_doc};
        let work = tempfile::tempdir().unwrap();
        let spool = Spool::create(work.path()).unwrap();
        let records: Vec<DocumentRecord> =
            (1..=3).map(|i| filed_doc(&format!("b1_{i:04}"))).collect();
        for (i, record) in records.iter().enumerate() {
            let mut r = report("x");
            r.record = record.clone();
            spool.put(0, i, &r).unwrap();
        }
        let whole = batch_note(crate::profile::Level::Normal, records)
            .to_yaml()
            .unwrap();
        let streamed = batch_note(crate::profile::Level::Normal, Vec::new())
            .with_documents(spool.documents(0, &[0, 1, 2], |r| r.record))
            .to_yaml()
            .unwrap();
        assert_eq!(
            String::from_utf8(streamed).unwrap(),
            String::from_utf8(whole).unwrap()
        );
    }

    #[test]
    fn a_missing_report_is_an_error_not_a_gap() {
        let work = tempfile::tempdir().unwrap();
        let spool = Spool::create(work.path()).unwrap();
        spool.put(0, 0, &report("b_0001")).unwrap();
        let err = serde_json::to_string(&spool.documents(0, &[0, 1], |r| r.record)).unwrap_err();
        assert!(err.to_string().contains("No such file"), "{err}");
    }

    #[test]
    fn the_spool_is_removed_when_dropped() {
        let work = tempfile::tempdir().unwrap();
        let spool = Spool::create(work.path()).unwrap();
        spool.put(0, 0, &report("b_0001")).unwrap();
        let dir = spool.dir.clone();
        drop(spool);
        assert!(!dir.exists());
    }
}
