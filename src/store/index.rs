//! The store's index, `index.sqlite`: every filed document, for idempotent re-runs, duplicate
//! detection, listing and full-text search over the OCR text.
//!
//! Durability: WAL journal with `synchronous=FULL`. NORMAL would be crash-safe for the process
//! but may lose the last commits on a power cut; FULL costs one fsync of the WAL per document,
//! a few milliseconds against seconds of OCR, and keeps the promise that a document the index
//! calls filed stays filed (re-runs depend on it).
//!
//! Full text: an FTS5 table with two columns, the text as read and the same text with umlauts
//! written ae/oe/ue/ss, tokenised by `unicode61` with diacritics removed. A query term is looked
//! up in both spellings, so "Pfändung", "Pfaendung" and "Pfandung" all find a letter however it
//! was written. User queries are never passed to FTS5 as syntax: every word becomes a quoted
//! phrase (only a trailing `*`, a prefix search, is kept), so quotes, AND/OR/NOT, parentheses
//! and column filters in a query are just words.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::text::{plain_text, transliterate};

/// The schema version in `PRAGMA user_version`; a newer index is refused, not guessed at.
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS documents (
    doc_id          TEXT PRIMARY KEY NOT NULL,
    batch_id        TEXT NOT NULL,
    efile_id        TEXT,
    status          TEXT NOT NULL CHECK (status IN ('filed', 'unclassified', 'rejected')),
    reason          TEXT,
    pdf_path        TEXT NOT NULL,
    note_path       TEXT NOT NULL,
    meta_path       TEXT NOT NULL,
    pdf_sha256      TEXT NOT NULL,
    source_digest   TEXT NOT NULL,
    filed_at        TEXT NOT NULL,
    retention_until TEXT
);
CREATE INDEX IF NOT EXISTS documents_by_sources ON documents (source_digest);
CREATE INDEX IF NOT EXISTS documents_by_efile ON documents (efile_id, doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS fulltext USING fts5 (
    doc_id UNINDEXED, text, folded, tokenize = 'unicode61 remove_diacritics 2'
);
";

/// Where a filed document stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocStatus {
    /// In its e-file.
    Filed,
    /// In the unclassified (Klärung) folder.
    Unclassified,
    /// Rejected after filing (e.g. failed the visual QA); `reason` says why.
    Rejected,
}

impl DocStatus {
    fn as_str(self) -> &'static str {
        match self {
            DocStatus::Filed => "filed",
            DocStatus::Unclassified => "unclassified",
            DocStatus::Rejected => "rejected",
        }
    }

    fn parse(s: &str) -> DocStatus {
        match s {
            "filed" => DocStatus::Filed,
            "unclassified" => DocStatus::Unclassified,
            // The CHECK constraint admits nothing else.
            _ => DocStatus::Rejected,
        }
    }
}

/// A document as the index knows it. Paths are relative to the store folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedDoc {
    pub doc_id: String,
    pub batch_id: String,
    pub efile_id: Option<String>,
    pub status: DocStatus,
    pub reason: Option<String>,
    pub pdf_path: String,
    pub note_path: String,
    pub meta_path: String,
    pub pdf_sha256: String,
    pub source_digest: String,
    /// RFC 3339.
    pub filed_at: String,
    /// ISO date.
    pub retention_until: Option<String>,
}

/// What the pipeline records for a document it filed. `efile_id` `None` = unclassified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    pub doc_id: String,
    pub batch_id: String,
    pub efile_id: Option<String>,
    pub pdf_path: String,
    pub note_path: String,
    pub meta_path: String,
    pub pdf_sha256: String,
    /// Digest over the source files' hashes (identifies the same scan in another batch).
    pub source_digest: String,
    pub filed_at: String,
    pub retention_until: Option<String>,
    /// The OCR text, for full-text search.
    pub text: String,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    pub doc: IndexedDoc,
    /// A piece of the text around the match, matches in `[` `]`.
    pub snippet: String,
    /// FTS5 bm25 rank: lower is better.
    pub rank: f64,
}

const COLUMNS: &str = "d.doc_id, d.batch_id, d.efile_id, d.status, d.reason, d.pdf_path, \
                       d.note_path, d.meta_path, d.pdf_sha256, d.source_digest, d.filed_at, \
                       d.retention_until";

fn row_doc(r: &Row<'_>) -> rusqlite::Result<IndexedDoc> {
    Ok(IndexedDoc {
        doc_id: r.get(0)?,
        batch_id: r.get(1)?,
        efile_id: r.get(2)?,
        status: DocStatus::parse(&r.get::<_, String>(3)?),
        reason: r.get(4)?,
        pdf_path: r.get(5)?,
        note_path: r.get(6)?,
        meta_path: r.get(7)?,
        pdf_sha256: r.get(8)?,
        source_digest: r.get(9)?,
        filed_at: r.get(10)?,
        retention_until: r.get(11)?,
    })
}

/// The open index.
#[derive(Debug)]
pub(crate) struct Index {
    conn: Connection,
}

impl Index {
    /// Opens or creates the index for writing.
    pub(crate) fn open(path: &Path) -> Result<Index, StoreError> {
        let conn = Connection::open(path).map_err(|e| StoreError::index(path, e))?;
        let setup = || -> rusqlite::Result<i64> {
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            // A rollback journal, not WAL: WAL keeps its index in a shared-memory mapping of
            // `index.sqlite-shm`, and a store that stops taking writes under a running ingest
            // (a disk that fails and goes read-only, a revoked share) then kills the process
            // with SIGBUS on the next write to that mapping, before any message is written.
            // With a journal the failed write is an I/O error the run reports. It also lets a
            // QA clerk open a store on a read-only mount. One transaction per document makes
            // the journal's extra fsyncs nothing against OCR. Switching an older WAL store
            // back happens here, on its next ingest.
            conn.pragma_update(None, "journal_mode", "DELETE")?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.pragma_query_value(None, "user_version", |r| r.get(0))
        };
        let version = setup().map_err(|e| StoreError::index(path, e))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::IndexVersion {
                path: path.to_path_buf(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        conn.execute_batch(SCHEMA)
            .and_then(|()| conn.pragma_update(None, "user_version", SCHEMA_VERSION))
            .map_err(|e| StoreError::index(path, e))?;
        Ok(Index { conn })
    }

    /// Opens an existing index for queries only.
    pub(crate) fn open_read_only(path: &Path) -> Result<Index, StoreError> {
        if !path.is_file() {
            return Err(StoreError::NoIndex {
                path: path.to_path_buf(),
            });
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StoreError::index(path, e))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| StoreError::index(path, e))?;
        Ok(Index { conn })
    }

    pub(crate) fn lookup(&self, doc_id: &str) -> rusqlite::Result<Option<IndexedDoc>> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM documents d WHERE d.doc_id = ?1"),
                [doc_id],
                row_doc,
            )
            .optional()
    }

    /// The earliest filed document with these sources, if any.
    pub(crate) fn find_by_sources(&self, digest: &str) -> rusqlite::Result<Option<IndexedDoc>> {
        self.conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM documents d WHERE d.source_digest = ?1 \
                     ORDER BY d.filed_at, d.doc_id LIMIT 1"
                ),
                [digest],
                row_doc,
            )
            .optional()
    }

    /// Records a filed document in one transaction. The same doc_id again replaces its row and
    /// its text (a re-run re-filed it), never adds a second one.
    pub(crate) fn record(&mut self, e: &NewEntry) -> rusqlite::Result<()> {
        self.record_all(std::slice::from_ref(e))
    }

    /// Records many documents in one transaction (rebuilding an index, benchmarks).
    pub(crate) fn record_all(&mut self, entries: &[NewEntry]) -> rusqlite::Result<()> {
        let tx = self.conn.transaction()?;
        for e in entries {
            Self::insert(&tx, e)?;
        }
        tx.commit()
    }

    /// One document's row and text; the caller's transaction makes it atomic.
    fn insert(tx: &rusqlite::Transaction<'_>, e: &NewEntry) -> rusqlite::Result<()> {
        let status = if e.efile_id.is_some() {
            DocStatus::Filed
        } else {
            DocStatus::Unclassified
        };
        let plain = plain_text(&e.text);
        let folded = transliterate(&plain);
        tx.execute(
            "INSERT INTO documents (doc_id, batch_id, efile_id, status, reason, pdf_path, \
             note_path, meta_path, pdf_sha256, source_digest, filed_at, retention_until) \
             VALUES (?1, ?2, ?3, ?4, NULL, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
             ON CONFLICT (doc_id) DO UPDATE SET batch_id = excluded.batch_id, \
             efile_id = excluded.efile_id, status = excluded.status, reason = NULL, \
             pdf_path = excluded.pdf_path, note_path = excluded.note_path, \
             meta_path = excluded.meta_path, pdf_sha256 = excluded.pdf_sha256, \
             source_digest = excluded.source_digest, filed_at = excluded.filed_at, \
             retention_until = excluded.retention_until",
            params![
                e.doc_id,
                e.batch_id,
                e.efile_id,
                status.as_str(),
                e.pdf_path,
                e.note_path,
                e.meta_path,
                e.pdf_sha256,
                e.source_digest,
                e.filed_at,
                e.retention_until
            ],
        )?;
        tx.execute("DELETE FROM fulltext WHERE doc_id = ?1", [&e.doc_id])?;
        tx.execute(
            "INSERT INTO fulltext (doc_id, text, folded) VALUES (?1, ?2, ?3)",
            params![e.doc_id, plain, folded],
        )?;
        Ok(())
    }

    /// Marks a document rejected; false when the index does not know it.
    pub(crate) fn mark_rejected(&mut self, doc_id: &str, reason: &str) -> rusqlite::Result<bool> {
        let n = self.conn.execute(
            "UPDATE documents SET status = 'rejected', reason = ?2 WHERE doc_id = ?1",
            params![doc_id, reason],
        )?;
        Ok(n > 0)
    }

    pub(crate) fn search(&self, query: &str, limit: usize) -> rusqlite::Result<Vec<Hit>> {
        let Some(fts) = fts_query(query) else {
            return Ok(Vec::new());
        };
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS}, snippet(fulltext, -1, '[', ']', '…', 12), fulltext.rank \
             FROM fulltext JOIN documents d ON d.doc_id = fulltext.doc_id \
             WHERE fulltext MATCH ?1 ORDER BY fulltext.rank LIMIT ?2"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        stmt.query_map(params![fts, limit], |r| {
            Ok(Hit {
                doc: row_doc(r)?,
                snippet: r.get(12)?,
                rank: r.get(13)?,
            })
        })?
        .collect()
    }

    /// The ids of the documents that have a row in `fulltext` (every recorded document gets
    /// one, empty when its pages hold no text).
    pub(crate) fn ids_with_text(&self) -> rusqlite::Result<std::collections::BTreeSet<String>> {
        let mut stmt = self.conn.prepare_cached("SELECT doc_id FROM fulltext")?;
        stmt.query_map([], |r| r.get(0))?.collect()
    }

    pub(crate) fn list(&self, efile: Option<&str>) -> rusqlite::Result<Vec<IndexedDoc>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM documents d \
             WHERE ?1 IS NULL OR d.efile_id = ?1 ORDER BY d.efile_id, d.doc_id"
        ))?;
        stmt.query_map([efile], row_doc)?.collect()
    }
}

/// The FTS5 query for a user's words: each word a quoted phrase (quotes doubled), in both
/// umlaut spellings when they differ; a trailing `*` makes a prefix search. Words without a
/// letter or digit are dropped; `None` when nothing is left.
pub(crate) fn fts_query(user: &str) -> Option<String> {
    let mut parts = Vec::new();
    for word in user.split_whitespace() {
        let prefix = word.ends_with('*');
        let word: String = word.chars().filter(|&c| c != '*').collect();
        if !word.chars().any(char::is_alphanumeric) {
            continue;
        }
        let star = if prefix { "*" } else { "" };
        let phrase = |w: &str| format!("\"{}\"{star}", w.replace('"', "\"\""));
        let other = transliterate(&word);
        if other != word {
            parts.push(format!("({} OR {})", phrase(&word), phrase(&other)));
        } else {
            parts.push(phrase(&word));
        }
    }
    (!parts.is_empty()).then(|| parts.join(" AND "))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn entry(doc_id: &str, digest: &str, efile: Option<&str>, text: &str) -> NewEntry {
        NewEntry {
            doc_id: doc_id.into(),
            batch_id: "b1".into(),
            efile_id: efile.map(str::to_string),
            pdf_path: format!("20/{doc_id}.pdf"),
            note_path: format!("20/{doc_id}.transfer.yaml"),
            meta_path: format!("20/{doc_id}.meta.json"),
            pdf_sha256: "ab".repeat(32),
            source_digest: digest.into(),
            filed_at: "2026-11-25T01:00:00Z".into(),
            retention_until: Some("2036-11-25".into()),
            text: text.into(),
        }
    }

    fn index() -> (tempfile::TempDir, Index) {
        let dir = tempfile::tempdir().unwrap();
        let ix = Index::open(&dir.path().join("index.sqlite")).unwrap();
        (dir, ix)
    }

    #[test]
    fn record_is_idempotent_and_lookup_finds_it() {
        let (_d, mut ix) = index();
        let e = entry("b1-0001", "d1", Some("vollstreckung"), "Pfändung");
        ix.record(&e).unwrap();
        ix.record(&e).unwrap();
        assert_eq!(ix.list(None).unwrap().len(), 1);
        assert_eq!(ix.search("Pfändung", 10).unwrap().len(), 1);
        let got = ix.lookup("b1-0001").unwrap().unwrap();
        assert_eq!(got.status, DocStatus::Filed);
        assert_eq!(got.efile_id.as_deref(), Some("vollstreckung"));
        assert!(ix.lookup("nope").unwrap().is_none());
    }

    /// No shared-memory mapping (see `open`): a store written by an older version in WAL mode
    /// is switched back on open, keeps its rows, and no `-wal`/`-shm` file stays beside it.
    #[test]
    fn the_index_uses_a_rollback_journal_also_for_an_older_wal_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.sqlite");
        {
            let mut ix = Index::open(&path).unwrap();
            ix.record(&entry("b1-0001", "d1", None, "x")).unwrap();
            ix.conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        }
        let ix = Index::open(&path).unwrap();
        let mode: String = ix
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "delete");
        assert!(ix.lookup("b1-0001").unwrap().is_some());
        drop(ix);
        for side in [
            "index.sqlite-wal",
            "index.sqlite-shm",
            "index.sqlite-journal",
        ] {
            assert!(!dir.path().join(side).exists(), "{side} left");
        }
    }

    #[test]
    fn duplicates_are_found_by_source_digest() {
        let (_d, mut ix) = index();
        ix.record(&entry("b1-0001", "same", None, "x")).unwrap();
        let dup = ix.find_by_sources("same").unwrap().unwrap();
        assert_eq!(dup.doc_id, "b1-0001");
        assert_eq!(dup.status, DocStatus::Unclassified);
        assert!(ix.find_by_sources("other").unwrap().is_none());
    }

    #[test]
    fn search_is_umlaut_aware_in_both_directions() {
        let (_d, mut ix) = index();
        ix.record(&entry("a", "1", Some("v"), "Ankündigung der Pfändung"))
            .unwrap();
        ix.record(&entry("b", "2", Some("v"), "PFAENDUNGS-\nVERFUEGUNG"))
            .unwrap();
        ix.record(&entry("c", "3", Some("v"), "Hundesteuer"))
            .unwrap();
        let ids = |q: &str| -> Vec<String> {
            let mut v: Vec<String> = ix
                .search(q, 10)
                .unwrap()
                .into_iter()
                .map(|h| h.doc.doc_id)
                .collect();
            v.sort();
            v
        };
        assert_eq!(ids("Pfändung"), vec!["a"]);
        assert_eq!(ids("pfaendung"), vec!["a"]);
        assert_eq!(ids("Pfänd*"), vec!["a", "b"]);
        assert_eq!(ids("pfandung"), vec!["a"]);
        assert_eq!(ids("Verfügung"), vec!["b"]);
        let hit = &ix.search("Pfändung", 1).unwrap()[0];
        assert!(hit.snippet.contains("[Pfändung]"), "{}", hit.snippet);
    }

    #[test]
    fn hostile_queries_are_words_not_syntax() {
        let (_d, mut ix) = index();
        ix.record(&entry("a", "1", Some("v"), "AND OR NOT text"))
            .unwrap();
        for q in [
            "\"",
            "AND OR",
            "*",
            "\"\"\"",
            "(",
            "NEAR(a b)",
            "text:",
            "a\"b",
            "-",
            "^x",
            "{x}",
            "OR",
            "' ; DROP TABLE documents; --",
        ] {
            let r = ix.search(q, 10);
            assert!(r.is_ok(), "{q:?}: {r:?}");
        }
        assert_eq!(ix.search("AND OR", 10).unwrap().len(), 1);
        assert!(ix.search("*", 10).unwrap().is_empty());
        assert_eq!(ix.list(None).unwrap().len(), 1);
    }

    #[test]
    fn mark_rejected_keeps_the_row_with_its_reason() {
        let (_d, mut ix) = index();
        ix.record(&entry("a", "1", Some("v"), "t")).unwrap();
        assert!(ix.mark_rejected("a", "page 2 missing").unwrap());
        assert!(!ix.mark_rejected("zz", "x").unwrap());
        let got = ix.lookup("a").unwrap().unwrap();
        assert_eq!(got.status, DocStatus::Rejected);
        assert_eq!(got.reason.as_deref(), Some("page 2 missing"));
    }

    #[test]
    fn list_filters_by_efile() {
        let (_d, mut ix) = index();
        ix.record(&entry("a", "1", Some("v"), "t")).unwrap();
        ix.record(&entry("b", "2", Some("w"), "t")).unwrap();
        ix.record(&entry("c", "3", None, "t")).unwrap();
        assert_eq!(ix.list(None).unwrap().len(), 3);
        let v = ix.list(Some("w")).unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].doc_id, "b");
    }

    #[test]
    fn fts_query_quotes_everything() {
        assert_eq!(fts_query("a\"b").as_deref(), Some("\"a\"\"b\""));
        assert_eq!(
            fts_query("Pfänd*").as_deref(),
            Some("(\"Pfänd\"* OR \"Pfaend\"*)")
        );
        assert_eq!(fts_query("  * - ( "), None);
    }

    #[test]
    fn a_newer_index_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("index.sqlite");
        Connection::open(&p)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        assert!(matches!(
            Index::open(&p),
            Err(StoreError::IndexVersion { found: 99, .. })
        ));
    }
}
