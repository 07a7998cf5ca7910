//! The e-file store the DMS imports from (SPEC §4): sanitised paths, atomic writes, the index.

// TEMPORARY integration shim (replaced by the store branch at merge).
use std::path::{Path, PathBuf};
#[derive(Debug, thiserror::Error)]
#[error("x")]
pub struct StoreError;
pub struct Store;
pub struct IndexedDoc {
    pub doc_id: String,
    pub batch_id: String,
    pub pdf_path: String,
    pub pdf_sha256: String,
    pub note_path: String,
}
pub struct NewEntry {
    pub doc_id: String,
    pub batch_id: String,
    pub efile_id: Option<String>,
    pub pdf_path: String,
    pub note_path: String,
    pub meta_path: String,
    pub pdf_sha256: String,
    pub source_digest: String,
    pub filed_at: String,
    pub retention_until: Option<String>,
    pub text: String,
}
impl Store {
    pub fn open(d: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(d).map_err(|_| StoreError)?;
        Ok(Store)
    }
    pub fn lookup(&self, _: &str) -> Result<Option<IndexedDoc>, StoreError> {
        Ok(None)
    }
    pub fn find_by_sources(&self, _: &str) -> Result<Option<IndexedDoc>, StoreError> {
        Ok(None)
    }
    pub fn record(&mut self, _: &NewEntry) -> Result<(), StoreError> {
        Ok(())
    }
}
#[derive(serde::Serialize)]
pub struct Meta;
impl Meta {
    pub fn new(
        _r: &crate::note::DocumentRecord,
        _b: &str,
        _c: Option<&crate::classify::Classification>,
        _f: &crate::note::Filing,
        _n: &str,
        _t: time::OffsetDateTime,
    ) -> Meta {
        Meta
    }
}
pub fn atomic_write(p: &Path, b: &[u8]) -> std::io::Result<()> {
    std::fs::write(p, b)
}
pub fn sync_dir(_: &Path) -> std::io::Result<()> {
    Ok(())
}
pub fn render_path(
    t: &str,
    _f: &std::collections::BTreeMap<String, String>,
) -> Result<PathBuf, StoreError> {
    Ok(PathBuf::from(t))
}
pub fn store_search(_: &Path, _: &str, _: usize, _: bool) -> Result<String, StoreError> {
    Ok(String::new())
}
pub fn store_list(_: &Path, _: Option<&str>, _: bool) -> Result<String, StoreError> {
    Ok(String::new())
}
