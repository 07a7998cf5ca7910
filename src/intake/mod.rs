//! Batch intake (SPEC §2): a batch folder becomes a list of documents, each a list of page
//! files in natural order, plus what the scan station wrote in `batch.yaml`.
//!
//! Intake only looks at names and file types; it reads no image data, so a batch of any size
//! is listed quickly and a broken file surfaces later as that document's quarantine reason.
//! Symbolic links are followed only while they stay inside the batch: a link out of it could
//! smuggle any file on the machine into an e-file.

mod manifest;
mod natural;

use std::path::{Path, PathBuf};

pub use manifest::{BatchManifest, Expected, Scanner};
pub use natural::natural_cmp;

/// One paper document as found in the batch folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentSource {
    /// Unique and stable: the batch id and the entry's name (SPEC §4).
    pub id: String,
    /// The entry's name inside the batch folder, as on disk.
    pub name: String,
    pub kind: SourceKind,
    /// Page files in page order (one file for a single image or a multi-page TIFF).
    pub files: Vec<PathBuf>,
    /// Why the document cannot be processed, found already at intake (a link out of the batch,
    /// an empty folder); `None` when intake saw nothing wrong.
    pub refusal: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A folder whose image files are the pages.
    Folder,
    /// A single file: one image, or a multi-page TIFF.
    File,
}

/// A batch folder, listed.
#[derive(Debug, Clone)]
pub struct Batch {
    pub root: PathBuf,
    /// From `batch.yaml`, else the folder name; sanitised for use in paths.
    pub id: String,
    pub manifest: BatchManifest,
    /// SHA-256 of `batch.yaml` when there is one.
    pub manifest_sha256: Option<String>,
    pub documents: Vec<DocumentSource>,
    /// Things intake noticed that are not documents' faults (ignored sub-folders, …).
    pub notices: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntakeError {
    #[error("batch {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("batch {path} is not a folder")]
    NotAFolder { path: PathBuf },
    #[error("{path}: {message}")]
    Manifest { path: PathBuf, message: String },
}

/// The manifest's file name in a batch root.
pub const MANIFEST: &str = "batch.yaml";

/// Files a desktop leaves behind that are never pages.
const JUNK: &[&str] = &["thumbs.db", "desktop.ini"];

/// Lists the batch at `root`.
pub fn read_batch(root: &Path) -> Result<Batch, IntakeError> {
    let io = |source| IntakeError::Io {
        path: root.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(root).map_err(io)?;
    if !meta.is_dir() {
        return Err(IntakeError::NotAFolder {
            path: root.to_path_buf(),
        });
    }
    let canonical_root = root.canonicalize().map_err(io)?;
    let manifest_path = root.join(MANIFEST);
    let (manifest, manifest_sha256) = match std::fs::read(&manifest_path) {
        Ok(bytes) => (
            BatchManifest::parse(&bytes).map_err(|message| IntakeError::Manifest {
                path: manifest_path.clone(),
                message,
            })?,
            Some(crate::crypto::sha256_hex(&bytes)),
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (BatchManifest::default(), None),
        Err(source) => {
            return Err(IntakeError::Io {
                path: manifest_path,
                source,
            });
        }
    };
    let folder_name = canonical_root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "batch".into());
    let id = sanitised_id(manifest.id.as_deref().unwrap_or(&folder_name));

    let mut entries = sorted_entries(root).map_err(io)?;
    entries.retain(|(name, _)| name != MANIFEST);
    let mut notices = Vec::new();
    let mut documents = Vec::with_capacity(entries.len());
    let stems = unique_stems(&entries);
    for ((name, path), stem) in entries.into_iter().zip(stems) {
        let doc_id = format!("{id}_{}", entry_id(&stem));
        let mut doc = DocumentSource {
            id: doc_id,
            name: name.clone(),
            kind: SourceKind::File,
            files: vec![path.clone()],
            refusal: None,
        };
        match inside_batch(&canonical_root, &path) {
            Err(reason) => doc.refusal = Some(reason),
            Ok(target) if target.is_dir() => {
                doc.kind = SourceKind::Folder;
                doc.files.clear();
                match sorted_entries(&path) {
                    Err(e) => doc.refusal = Some(format!("cannot list the folder: {e}")),
                    Ok(pages) => {
                        for (page_name, page_path) in pages {
                            match inside_batch(&canonical_root, &page_path) {
                                Err(reason) => {
                                    doc.refusal = Some(format!("{page_name}: {reason}"));
                                }
                                Ok(t) if t.is_dir() => notices.push(format!(
                                    "{name}/{page_name}: sub-folder ignored (pages are the files directly in a document folder)"
                                )),
                                Ok(_) => doc.files.push(page_path),
                            }
                        }
                        if doc.files.is_empty() && doc.refusal.is_none() {
                            doc.refusal = Some("the document folder holds no page files".into());
                        }
                    }
                }
            }
            Ok(_) => {}
        }
        documents.push(doc);
    }
    Ok(Batch {
        root: root.to_path_buf(),
        id,
        manifest,
        manifest_sha256,
        documents,
        notices,
    })
}

/// The visible entries of a folder, in natural name order. Hidden files (a leading '.') and
/// desktop junk are skipped.
fn sorted_entries(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir)
        .min_depth(1)
        .max_depth(1)
        .follow_links(false)
    {
        let entry = entry.map_err(|e| {
            e.into_io_error()
                .unwrap_or_else(|| std::io::Error::other("walk failed"))
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || JUNK.contains(&name.to_ascii_lowercase().as_str()) {
            continue;
        }
        out.push((name, entry.into_path()));
    }
    out.sort_by(|a, b| natural_cmp(&a.0, &b.0));
    Ok(out)
}

/// Resolves `path` (following links) and refuses anything that ends up outside the batch.
fn inside_batch(canonical_root: &Path, path: &Path) -> Result<PathBuf, String> {
    let is_link = std::fs::symlink_metadata(path)
        .map(|m| m.file_type().is_symlink())
        .unwrap_or(false);
    if !is_link {
        return Ok(path.to_path_buf());
    }
    match path.canonicalize() {
        Ok(target) if target.starts_with(canonical_root) => Ok(target),
        Ok(target) => Err(format!(
            "symbolic link to {} points outside the batch; not followed",
            target.display()
        )),
        Err(e) => Err(format!("broken symbolic link: {e}")),
    }
}

/// Entry names without their extension where that stays unique in the batch, else the
/// whole name, so `0007.tif` becomes `0007` but `a.tif` and `a.jpg` stay apart.
fn unique_stems(entries: &[(String, PathBuf)]) -> Vec<String> {
    let stem = |name: &str| -> String {
        match name.rsplit_once('.') {
            Some((s, _)) if !s.is_empty() => s.to_string(),
            _ => name.to_string(),
        }
    };
    let mut counts = std::collections::HashMap::new();
    for (name, _) in entries {
        *counts.entry(stem(name)).or_insert(0usize) += 1;
    }
    entries
        .iter()
        .map(|(name, _)| {
            let s = stem(name);
            if counts[&s] > 1 { name.clone() } else { s }
        })
        .collect()
}

/// The id part for one entry: the sanitised name, plus a short hash of the real name when
/// sanitising lost information, so `a b` and `a_b` (or two names of only umlauts) never share
/// an id and overwrite each other's files.
fn entry_id(stem: &str) -> String {
    let clean = sanitised_id(stem);
    if clean == stem {
        clean
    } else {
        let h = crate::crypto::sha256_hex(stem.as_bytes());
        format!("{clean}-{}", &h[..8])
    }
}

/// An id safe in file names and paths: ASCII letters, digits, '.', '-', '_'; anything else
/// becomes '_'; never empty, never starting with '.'.
pub fn sanitised_id(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                match c {
                    'ä' => 'a',
                    'ö' => 'o',
                    'ü' => 'u',
                    'Ä' => 'A',
                    'Ö' => 'O',
                    'Ü' => 'U',
                    _ => '_',
                }
            }
        })
        .take(120)
        .collect();
    while out.starts_with('.') {
        out.replace_range(0..1, "_");
    }
    if out.is_empty() {
        out.push('_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn touch(p: &Path) {
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, b"x").unwrap();
    }

    #[test]
    fn documents_come_in_natural_order_with_pages_in_natural_order() {
        let t = tempfile::tempdir().unwrap();
        let b = t.path().join("batch-1");
        touch(&b.join("10.png"));
        touch(&b.join("2.png"));
        touch(&b.join("doc/10.jpg"));
        touch(&b.join("doc/2.jpg"));
        touch(&b.join("doc/.hidden.jpg"));
        touch(&b.join(".DS_Store"));
        let batch = read_batch(&b).unwrap();
        let names: Vec<_> = batch.documents.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["2.png", "10.png", "doc"]);
        let doc = &batch.documents[2];
        assert_eq!(doc.kind, SourceKind::Folder);
        let pages: Vec<_> = doc
            .files
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(pages, ["2.jpg", "10.jpg"]);
        assert_eq!(batch.id, "batch-1");
        assert_eq!(batch.documents[0].id, "batch-1_2");
    }

    #[test]
    fn same_stem_keeps_the_extension_in_the_id() {
        let t = tempfile::tempdir().unwrap();
        touch(&t.path().join("a.tif"));
        touch(&t.path().join("a.jpg"));
        let batch = read_batch(t.path()).unwrap();
        let ids: Vec<_> = batch.documents.iter().map(|d| d.id.clone()).collect();
        assert!(
            ids[0].ends_with("_a.jpg") && ids[1].ends_with("_a.tif"),
            "{ids:?}"
        );
    }

    #[test]
    fn a_link_out_of_the_batch_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let outside = t.path().join("secret.png");
        touch(&outside);
        let b = t.path().join("b");
        fs::create_dir(&b).unwrap();
        std::os::unix::fs::symlink(&outside, b.join("1.png")).unwrap();
        touch(&b.join("inner/1.png"));
        std::os::unix::fs::symlink(b.join("inner"), b.join("2")).unwrap();
        let batch = read_batch(&b).unwrap();
        let one = batch.documents.iter().find(|d| d.name == "1.png").unwrap();
        assert!(
            one.refusal
                .as_deref()
                .unwrap()
                .contains("outside the batch")
        );
        let two = batch.documents.iter().find(|d| d.name == "2").unwrap();
        assert_eq!(two.refusal, None);
        assert_eq!(two.kind, SourceKind::Folder);
    }

    #[test]
    fn empty_document_folder_is_refused() {
        let t = tempfile::tempdir().unwrap();
        fs::create_dir(t.path().join("empty")).unwrap();
        let batch = read_batch(t.path()).unwrap();
        assert!(
            batch.documents[0]
                .refusal
                .as_deref()
                .unwrap()
                .contains("no page files")
        );
    }

    #[test]
    fn manifest_sets_the_id() {
        let t = tempfile::tempdir().unwrap();
        fs::write(
            t.path().join(MANIFEST),
            "id: 2026-11-24-post/03\noperator: ps-1\n",
        )
        .unwrap();
        touch(&t.path().join("1.png"));
        let batch = read_batch(t.path()).unwrap();
        assert_eq!(batch.id, "2026-11-24-post_03");
        assert_eq!(batch.manifest.operator.as_deref(), Some("ps-1"));
        assert_eq!(batch.documents.len(), 1);
        assert!(batch.manifest_sha256.is_some());
    }

    #[test]
    fn sanitised_ids_stay_in_their_folder() {
        assert_eq!(sanitised_id("../etc"), "_._etc");
        assert_eq!(sanitised_id(""), "_");
        assert_eq!(sanitised_id("Müller Brief"), "Muller_Brief");
        assert_ne!(entry_id("a b"), entry_id("a_b"));
        assert!(entry_id("a b").starts_with("a_b-"));
        assert_eq!(entry_id("0007"), "0007");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Issue #2: intake never panics on arbitrary file names and bytes; every visible entry
        /// becomes exactly one document with a unique id.
        #[test]
        fn intake_never_panics_on_arbitrary_names_and_bytes(
            entries in proptest::collection::vec(
                ("[^/\\x00]{1,40}", proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64), proptest::prelude::any::<bool>()),
                0..8,
            )
        ) {
            let t = tempfile::tempdir().unwrap();
            let mut visible = std::collections::BTreeSet::new();
            for (name, bytes, as_folder) in &entries {
                if name == "." || name == ".." {
                    continue;
                }
                let p = t.path().join(name);
                if p.exists() {
                    continue;
                }
                let written = if *as_folder {
                    fs::create_dir(&p).and_then(|_| fs::write(p.join("1.png"), bytes))
                } else {
                    fs::write(&p, bytes)
                };
                if written.is_ok() && !name.starts_with('.') && name != MANIFEST
                    && !JUNK.contains(&name.to_ascii_lowercase().as_str())
                {
                    visible.insert(name.clone());
                }
            }
            if let Ok(batch) = read_batch(t.path()) {
                proptest::prop_assert_eq!(batch.documents.len(), visible.len());
                let ids: std::collections::BTreeSet<_> = batch.documents.iter().map(|d| d.id.clone()).collect();
                proptest::prop_assert_eq!(ids.len(), batch.documents.len(), "ids must be unique");
            }
        }
    }
}
