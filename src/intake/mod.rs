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
    /// With `separation`: which part of its entry's stack this document is (SPEC §6); `None`
    /// for a whole entry.
    pub stack: Option<Box<crate::separation::StackPart>>,
    /// With `separation` and barcode fields: the barcodes the stack stage already read on each
    /// page of the entry (1-based page within the entry), so the page stage does not read them
    /// a second time. `None`: the page stage reads them itself.
    pub read_codes: Option<std::sync::Arc<crate::separation::PageCodes>>,
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
    /// Things intake noticed that are not documents' faults (ignored side files, …).
    pub notices: Vec<String>,
    /// Things about the batch a person must look at (ingest exits 3): an anomaly noted for an
    /// entry that is not in the folder, a batch without documents.
    pub attention: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntakeError {
    #[error("cannot read {}: {cause}", path.display())]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{} is not a folder (a batch is a folder of documents)", path.display())]
    NotAFolder { path: PathBuf },
    #[error("{}: {message}", path.display())]
    Manifest { path: PathBuf, message: String },
}

/// A batch folder the run could not process.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FailedBatch {
    /// The folder as given on the command line.
    pub folder: PathBuf,
    pub reason: String,
}

/// Lists every batch of a run. A folder given twice (`b`, `./b/`) is listed once, with a
/// notice; a second folder claiming a batch id already taken in this run is refused, because
/// its documents would get the same ids and overwrite each other's files and notes.
pub fn read_batches(paths: &[PathBuf]) -> (Vec<Batch>, Vec<FailedBatch>) {
    let mut batches: Vec<Batch> = Vec::new();
    let mut failed = Vec::new();
    for path in paths {
        // Not logged here: the command prints every failed batch once, also under -q.
        let batch = match read_batch(path) {
            Ok(b) => b,
            Err(e) => {
                failed.push(FailedBatch {
                    folder: path.clone(),
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let same_folder = |b: &Batch| {
            b.root.canonicalize().ok().is_some()
                && b.root.canonicalize().ok() == batch.root.canonicalize().ok()
        };
        if let Some(first) = batches.iter_mut().find(|b| same_folder(b)) {
            first.notices.push(format!(
                "the folder was also given as {} on the command line; processed once",
                path.display()
            ));
            continue;
        }
        if let Some(first) = batches.iter().find(|b| b.id == batch.id) {
            failed.push(FailedBatch {
                folder: path.clone(),
                reason: format!(
                    "its batch id '{}' is already the id of {} in this run; give each batch its \
                     own id in batch.yaml (documents are named by batch id and entry)",
                    batch.id,
                    first.root.display()
                ),
            });
            continue;
        }
        batches.push(batch);
    }
    (batches, failed)
}

/// The manifest's file name in a batch root.
pub const MANIFEST: &str = "batch.yaml";

/// Files a desktop leaves behind that are never pages.
const JUNK: &[&str] = &["thumbs.db", "desktop.ini"];

/// What scan stations and people leave beside the pages (job tickets, logs, checksums, a
/// scanner-made PDF of the same pages): never a page, so never a reason to quarantine the
/// document. They are named in the batch's notices. At the batch root a `.pdf` is not in this
/// list: there it may be a paper document scanned to PDF, which must not go unnoticed.
const SIDE_FILE_EXTENSIONS: &[&str] = &[
    "txt", "xml", "log", "ini", "json", "csv", "md5", "sha1", "sha256", "htm", "html",
];

/// Hidden files and what a desktop leaves behind: skipped without a notice.
fn is_hidden_or_junk(name: &str) -> bool {
    name.starts_with('.') || JUNK.contains(&name.to_ascii_lowercase().as_str())
}

fn extension_of(name: &str) -> Option<String> {
    name.rsplit_once('.')
        .filter(|(stem, _)| !stem.is_empty())
        .map(|(_, ext)| ext.to_ascii_lowercase())
}

fn is_side_file(name: &str, in_document_folder: bool) -> bool {
    match extension_of(name) {
        Some(ext) => {
            SIDE_FILE_EXTENSIONS.contains(&ext.as_str()) || (in_document_folder && ext == "pdf")
        }
        None => false,
    }
}

/// One visible folder entry.
struct Entry {
    /// The name for people and reports (lossy when the name is not UTF-8).
    name: String,
    path: PathBuf,
    /// The name is not valid UTF-8: its id needs the raw bytes to stay unique.
    lossy: bool,
}

/// Lists the batch at `root`.
pub fn read_batch(root: &Path) -> Result<Batch, IntakeError> {
    let io = |cause| IntakeError::Io {
        path: root.to_path_buf(),
        cause,
    };
    let meta = std::fs::metadata(root).map_err(io)?;
    if !meta.is_dir() {
        return Err(IntakeError::NotAFolder {
            path: root.to_path_buf(),
        });
    }
    let canonical_root = root.canonicalize().map_err(io)?;
    // A folder we may not list would otherwise first fail on batch.yaml, naming the wrong file.
    std::fs::read_dir(root).map_err(io)?;
    let manifest_path = root.join(MANIFEST);
    if std::fs::metadata(&manifest_path).is_ok_and(|m| !m.is_file()) {
        return Err(IntakeError::Manifest {
            message: not_a_regular_file(&manifest_path),
            path: manifest_path,
        });
    }
    let (manifest, manifest_sha256, mut notices) = match std::fs::read(&manifest_path) {
        Ok(bytes) => {
            let parsed = BatchManifest::parse(&bytes).map_err(|message| IntakeError::Manifest {
                path: manifest_path.clone(),
                message,
            })?;
            let notices = parsed
                .notices
                .iter()
                .map(|n| format!("{MANIFEST}: {n}"))
                .collect();
            (
                parsed.manifest,
                Some(crate::crypto::sha256_hex(&bytes)),
                notices,
            )
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            (BatchManifest::default(), None, Vec::new())
        }
        Err(cause) => {
            return Err(IntakeError::Io {
                path: manifest_path,
                cause,
            });
        }
    };
    let folder_name = canonical_root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "batch".into());
    let id = sanitised_id(manifest.id.as_deref().unwrap_or(&folder_name));

    let mut entries = sorted_entries(root).map_err(io)?;
    entries.retain(|e| e.name != MANIFEST);
    let (side, entries): (Vec<Entry>, Vec<Entry>) = entries
        .into_iter()
        .partition(|e| is_side_file(&e.name, false) && !e.path.is_dir());
    if !side.is_empty() {
        notices.push(format!(
            "not documents, ignored: {}",
            side.iter()
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    // Where each document that is not itself a link lives, to catch links that would make
    // one paper two documents.
    let real_paths: Vec<Option<PathBuf>> = entries
        .iter()
        .map(|e| {
            let is_link = std::fs::symlink_metadata(&e.path)
                .map(|m| m.file_type().is_symlink())
                .unwrap_or(false);
            if is_link {
                None
            } else {
                e.path.canonicalize().ok()
            }
        })
        .collect();
    let mut documents = Vec::with_capacity(entries.len());
    let stems = unique_stems(&entries);
    for (i, (entry, stem)) in entries.iter().zip(stems).enumerate() {
        let name = &entry.name;
        let doc_id = document_id(&id, &entry_id(&stem, entry));
        let mut doc = DocumentSource {
            id: doc_id,
            name: name.clone(),
            kind: SourceKind::File,
            files: vec![entry.path.clone()],
            refusal: None,
            stack: None,
            read_codes: None,
        };
        let other_document = |target: &Path| {
            real_paths
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .find(|(_, p)| p.as_deref().is_some_and(|p| target.starts_with(p)))
                .map(|(j, _)| entries[j].name.clone())
        };
        match inside_batch(&canonical_root, &entry.path) {
            Err(reason) => doc.refusal = Some(reason),
            Ok(target) if target != entry.path && other_document(&target).is_some() => {
                doc.refusal = Some(format!(
                    "symbolic link to '{}', which is already a document of this batch; not \
                     followed (the same paper would be filed twice)",
                    other_document(&target).unwrap_or_default()
                ));
            }
            Ok(target) if !target.is_dir() && !target.is_file() => {
                doc.refusal = Some(not_a_regular_file(&target));
            }
            Ok(target) if target.is_dir() => {
                doc.kind = SourceKind::Folder;
                doc.files.clear();
                let own = real_paths[i].clone().unwrap_or(target.clone());
                read_document_folder(
                    &canonical_root,
                    &own,
                    entry,
                    &mut doc,
                    &other_document,
                    &mut notices,
                );
            }
            Ok(_) if extension_of(name).as_deref() == Some("pdf") => {
                doc.refusal = Some(
                    "a PDF: resiscan takes the scanner's page images (TIFF, PNG, JPEG), not PDFs; \
                     scan the paper to images, or export the PDF's pages as TIFF"
                        .into(),
                );
            }
            Ok(_) => {}
        }
        documents.push(doc);
    }
    let mut attention = Vec::new();
    for key in manifest.anomalies.keys() {
        let matched = documents
            .iter()
            .any(|d| d.name == *key || d.name.rsplit_once('.').is_some_and(|(s, _)| s == key));
        if !matched {
            attention.push(format!(
                "{MANIFEST} notes an anomaly for '{key}', but the batch has no such entry; the \
                 note is in no document's transfer note (a typo in the name, or a missing document?)"
            ));
        }
    }
    let expected_none = manifest.expected.as_ref().and_then(|e| e.documents) == Some(0);
    if documents.is_empty() && !expected_none {
        attention.push(
            "the batch folder holds no documents (still being scanned, or the wrong folder?)"
                .into(),
        );
    }
    Ok(Batch {
        root: root.to_path_buf(),
        id,
        manifest,
        manifest_sha256,
        documents,
        notices,
        attention,
    })
}

/// The pages of a document folder: its files in natural order. Side files are ignored with a
/// notice; a sub-folder with files in it refuses the document (its pages would otherwise be
/// left out without anyone deciding so); a link to another document's files or to a page
/// already in this one refuses it too.
fn read_document_folder(
    canonical_root: &Path,
    own: &Path,
    entry: &Entry,
    doc: &mut DocumentSource,
    other_document: &dyn Fn(&Path) -> Option<String>,
    notices: &mut Vec<String>,
) {
    let name = &entry.name;
    let pages = match sorted_entries(&entry.path) {
        Err(e) => {
            doc.refusal = Some(format!("cannot list the folder: {e}"));
            return;
        }
        Ok(pages) => pages,
    };
    let mut ignored = Vec::new();
    let mut seen_targets: Vec<PathBuf> = Vec::new();
    for page in pages {
        let target = match inside_batch(canonical_root, &page.path) {
            Err(reason) => {
                doc.refusal
                    .get_or_insert(format!("{}: {reason}", page.name));
                continue;
            }
            Ok(t) => t,
        };
        if target.is_dir() {
            let holds_files = sorted_entries(&target).map_or(true, |inner| {
                inner.iter().any(|f| !is_side_file(&f.name, true))
            });
            if holds_files {
                doc.refusal.get_or_insert(format!(
                    "holds a sub-folder '{}' with files in it; pages are the files directly in \
                     the document folder: move them up, or make the sub-folder a document of its own",
                    page.name
                ));
            } else {
                ignored.push(format!("{}/", page.name));
            }
            continue;
        }
        if is_side_file(&page.name, true) {
            ignored.push(page.name);
            continue;
        }
        if !target.is_file() {
            doc.refusal
                .get_or_insert(format!("{}: {}", page.name, not_a_regular_file(&target)));
            continue;
        }
        if target != page.path {
            let real = target.canonicalize().unwrap_or(target.clone());
            if !real.starts_with(own)
                && let Some(other) = other_document(&real)
            {
                doc.refusal.get_or_insert(format!(
                    "{}: symbolic link into document '{other}'; not followed (one page in two \
                     documents)",
                    page.name
                ));
                continue;
            }
            seen_targets.push(real);
        }
        doc.files.push(page.path);
    }
    // A link to a page of the same folder would put the same page in twice.
    for t in &seen_targets {
        let copies = doc
            .files
            .iter()
            .filter(|f| f.canonicalize().ok().as_ref() == Some(t))
            .count();
        if copies > 1 {
            doc.refusal.get_or_insert(format!(
                "the page {} is in the folder twice (a symbolic link to it); not followed",
                t.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            ));
        }
    }
    if !ignored.is_empty() {
        notices.push(format!(
            "{name}: not pages, ignored: {}",
            ignored.join(", ")
        ));
    }
    if doc.files.is_empty() && doc.refusal.is_none() {
        doc.refusal = Some("the document folder holds no page files".into());
    }
}

/// Why a named pipe, socket or device is not read: reading a pipe would wait for a writer
/// forever and hang the whole night's run.
fn not_a_regular_file(path: &Path) -> String {
    use std::os::unix::fs::FileTypeExt as _;
    let kind = match std::fs::metadata(path).map(|m| m.file_type()) {
        Ok(t) if t.is_fifo() => "a named pipe",
        Ok(t) if t.is_socket() => "a socket",
        Ok(t) if t.is_block_device() || t.is_char_device() => "a device",
        _ => "not a regular file",
    };
    format!("{kind}, not a file of pages; not read")
}

/// The visible entries of a folder, in natural name order. Hidden files (a leading '.') and
/// desktop junk are skipped.
fn sorted_entries(dir: &Path) -> std::io::Result<Vec<Entry>> {
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
        let raw = entry.file_name();
        let lossy = raw.to_str().is_none();
        let name = raw.to_string_lossy().into_owned();
        if is_hidden_or_junk(&name) {
            continue;
        }
        out.push(Entry {
            name,
            path: entry.into_path(),
            lossy,
        });
    }
    out.sort_by(|a, b| natural_cmp(&a.name, &b.name).then_with(|| a.path.cmp(&b.path)));
    Ok(out)
}

/// Resolves `path` (following links) and refuses anything that ends up outside the batch, or
/// at the batch folder itself (which would make the whole batch one document).
fn inside_batch(canonical_root: &Path, path: &Path) -> Result<PathBuf, String> {
    let is_link = std::fs::symlink_metadata(path)
        .map(|m| m.file_type().is_symlink())
        .unwrap_or(false);
    if !is_link {
        return Ok(path.to_path_buf());
    }
    match path.canonicalize() {
        Ok(target) if canonical_root.starts_with(&target) => Err(format!(
            "symbolic link to {}, the batch folder itself or a folder above it; not followed",
            target.display()
        )),
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
fn unique_stems(entries: &[Entry]) -> Vec<String> {
    let stem = |name: &str| -> String {
        match name.rsplit_once('.') {
            Some((s, _)) if !s.is_empty() => s.to_string(),
            _ => name.to_string(),
        }
    };
    let mut counts = std::collections::HashMap::new();
    for e in entries {
        *counts.entry(stem(&e.name)).or_insert(0usize) += 1;
    }
    entries
        .iter()
        .map(|e| {
            let s = stem(&e.name);
            if counts[&s] > 1 { e.name.clone() } else { s }
        })
        .collect()
}

/// The id part for one entry: the sanitised name, plus a short hash of the real name when
/// sanitising lost information, so `a b` and `a_b` (or two names of only umlauts) never share
/// an id and overwrite each other's files. A name that is not UTF-8 is hashed as its raw
/// bytes: two such names can read the same once made printable.
fn entry_id(stem: &str, entry: &Entry) -> String {
    let clean = sanitised_id(stem);
    if entry.lossy {
        use std::os::unix::ffi::OsStrExt as _;
        let raw = entry
            .path
            .file_name()
            .map(|n| n.as_bytes())
            .unwrap_or_default();
        let h = crate::crypto::sha256_hex(raw);
        format!("{clean}-{}", &h[..8])
    } else if clean == stem {
        clean
    } else {
        let h = crate::crypto::sha256_hex(stem.as_bytes());
        format!("{clean}-{}", &h[..8])
    }
}

/// The document id of entry id `entry` in batch `batch` (both sanitised, so made of ASCII
/// letters, digits, `.`, `-`, `_`): `<batch>_<entry>`, as ids have always been, when the batch
/// id holds no `_`; `<batch>~<entry>` when it does. Ids stay unique across batches (issue #15
/// D8: batch `c` + entry `1_x` and batch `c_1` + entry `x` were both `c_1_x`): an id without
/// `~` splits at its first `_`, one with `~` at the `~`, and neither part can hold a `~`.
pub fn document_id(batch: &str, entry: &str) -> String {
    if batch.contains('_') {
        format!("{batch}~{entry}")
    } else {
        format!("{batch}_{entry}")
    }
}

/// The batch id a document id (see [`document_id`]) was made from.
pub fn batch_of_document_id(doc_id: &str) -> Option<&str> {
    match doc_id.split_once('~') {
        Some((batch, _)) => Some(batch),
        None => doc_id.split_once('_').map(|(batch, _)| batch),
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
            ids[0] == document_id(&batch.id, "a.jpg") && ids[1] == document_id(&batch.id, "a.tif"),
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
        // A link into a hidden folder of the batch is followed: that folder is no document.
        touch(&b.join(".originals/inner/1.png"));
        std::os::unix::fs::symlink(b.join(".originals/inner"), b.join("2")).unwrap();
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

    fn refusal<'a>(batch: &'a Batch, name: &str) -> Option<&'a str> {
        batch
            .documents
            .iter()
            .find(|d| d.name == name)
            .unwrap_or_else(|| panic!("no document {name}"))
            .refusal
            .as_deref()
    }

    #[test]
    fn links_that_would_file_one_paper_twice_or_the_whole_batch_are_refused() {
        let t = tempfile::tempdir().unwrap();
        let b = t.path().join("b");
        touch(&b.join("0001/1.png"));
        touch(&b.join("0002.png"));
        std::os::unix::fs::symlink("0001", b.join("copy-of-0001")).unwrap();
        std::os::unix::fs::symlink("0002.png", b.join("copy-of-0002.png")).unwrap();
        std::os::unix::fs::symlink(".", b.join("loop")).unwrap();
        std::os::unix::fs::symlink("..", b.join("up")).unwrap();
        touch(&b.join("0003/1.png"));
        std::os::unix::fs::symlink("../0001/1.png", b.join("0003/2.png")).unwrap();
        std::os::unix::fs::symlink("1.png", b.join("0003/3.png")).unwrap();
        let batch = read_batch(&b).unwrap();
        assert_eq!(refusal(&batch, "0001"), None);
        assert_eq!(refusal(&batch, "0002.png"), None);
        for (name, expect) in [
            ("copy-of-0001", "'0001', which is already a document"),
            (
                "copy-of-0002.png",
                "'0002.png', which is already a document",
            ),
            ("loop", "the batch folder itself"),
            ("up", "the batch folder itself or a folder above it"),
            ("0003", "2.png: symbolic link into document '0001'"),
        ] {
            let r = refusal(&batch, name).unwrap_or_default();
            assert!(r.contains(expect), "{name}: {r}");
        }
        std::fs::remove_file(b.join("0003/2.png")).unwrap();
        let batch = read_batch(&b).unwrap();
        assert!(
            refusal(&batch, "0003")
                .unwrap_or_default()
                .contains("in the folder twice"),
            "{:?}",
            refusal(&batch, "0003")
        );
    }

    #[test]
    fn side_files_are_ignored_with_a_notice_and_a_sub_folder_of_pages_refuses_the_document() {
        let t = tempfile::tempdir().unwrap();
        let b = t.path().join("b");
        for f in [
            "doc/1.TIF",
            "doc/2.tif",
            "doc/ticket.xml",
            "doc/scan.pdf",
            "doc/Thumbs.db",
            "doc/.DS_Store",
            "doc/empty-notes/readme.txt",
            "job.xml",
            "notes.TXT",
            "whole.pdf",
            "nested/1.png",
            "nested/more/2.png",
        ] {
            touch(&b.join(f));
        }
        let batch = read_batch(&b).unwrap();
        let names: Vec<_> = batch.documents.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["doc", "nested", "whole.pdf"]);
        let doc = &batch.documents[0];
        assert_eq!(doc.refusal, None);
        assert_eq!(doc.files.len(), 2);
        assert!(
            refusal(&batch, "nested")
                .unwrap()
                .contains("sub-folder 'more'")
        );
        assert!(refusal(&batch, "whole.pdf").unwrap().contains("not PDFs"));
        let notices = batch.notices.join("\n");
        assert!(
            notices.contains("not documents, ignored: job.xml, notes.TXT"),
            "{notices}"
        );
        assert!(
            notices.contains("doc: not pages, ignored: empty-notes/, scan.pdf, ticket.xml"),
            "{notices}"
        );
    }

    #[test]
    fn a_named_pipe_is_refused_without_being_opened() {
        let t = tempfile::tempdir().unwrap();
        touch(&t.path().join("doc/1.tif"));
        for fifo in ["pipe.tif", "doc/2.tif"] {
            let ok = std::process::Command::new("mkfifo")
                .arg(t.path().join(fifo))
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                eprintln!("mkfifo not available: skipped");
                return;
            }
        }
        let batch = read_batch(t.path()).unwrap();
        assert!(refusal(&batch, "pipe.tif").unwrap().contains("named pipe"));
        assert!(
            refusal(&batch, "doc")
                .unwrap()
                .contains("2.tif: a named pipe")
        );
    }

    #[test]
    fn names_that_are_not_utf8_get_distinct_ids() {
        use std::os::unix::ffi::OsStrExt as _;
        let t = tempfile::tempdir().unwrap();
        for raw in [&b"\xff.tif"[..], b"\xfe.tif", b"\xe4rger.tif"] {
            fs::write(t.path().join(std::ffi::OsStr::from_bytes(raw)), b"x").unwrap();
        }
        let batch = read_batch(t.path()).unwrap();
        let ids: std::collections::BTreeSet<_> = batch.documents.iter().map(|d| &d.id).collect();
        assert_eq!(ids.len(), 3, "{ids:?}");
        for d in &batch.documents {
            assert!(
                d.files[0].exists(),
                "the real file name is kept for reading"
            );
        }
    }

    #[test]
    fn anomalies_for_missing_entries_and_an_empty_batch_need_a_person() {
        let t = tempfile::tempdir().unwrap();
        fs::write(
            t.path().join(MANIFEST),
            "anomalies: {\"0007\": \"Kopie\", \"0001\": \"eingerissen\"}\n",
        )
        .unwrap();
        touch(&t.path().join("0001.tif"));
        let batch = read_batch(t.path()).unwrap();
        assert_eq!(batch.attention.len(), 1, "{:?}", batch.attention);
        assert!(batch.attention[0].contains("'0007'"));
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(read_batch(empty.path()).unwrap().attention.len(), 1);
        fs::write(empty.path().join(MANIFEST), "expected: {documents: 0}\n").unwrap();
        assert!(read_batch(empty.path()).unwrap().attention.is_empty());
    }

    #[test]
    fn the_same_folder_twice_is_read_once_and_a_second_folder_with_its_id_is_refused() {
        let t = tempfile::tempdir().unwrap();
        touch(&t.path().join("a/1.tif"));
        fs::write(t.path().join("b/batch.yaml"), "id: a\n").ok();
        touch(&t.path().join("b/1.tif"));
        fs::write(t.path().join("b/batch.yaml"), "id: a\n").unwrap();
        let a = t.path().join("a");
        let (batches, failed) = read_batches(&[
            a.clone(),
            t.path().join("a/"),
            t.path().join("./a/../a"),
            t.path().join("b"),
        ]);
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].notices.len(), 2, "{:?}", batches[0].notices);
        assert_eq!(failed.len(), 1);
        assert!(
            failed[0].reason.contains("already the id of"),
            "{}",
            failed[0].reason
        );
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
        let id = |name: &str| {
            entry_id(
                name,
                &Entry {
                    name: name.into(),
                    path: PathBuf::from(name),
                    lossy: false,
                },
            )
        };
        assert_ne!(id("a b"), id("a_b"));
        assert!(id("a b").starts_with("a_b-"));
        assert_eq!(id("0007"), "0007");
    }

    /// Issue #15 D8: ids of different batches never meet, and an id names its batch.
    #[test]
    fn document_ids_are_unique_across_batches_and_name_their_batch() {
        assert_eq!(document_id("c", "1_x"), "c_1_x");
        assert_eq!(document_id("c_1", "x"), "c_1~x");
        assert_ne!(document_id("c", "1_x"), document_id("c_1", "x"));
        assert_eq!(batch_of_document_id("c_1_x"), Some("c"));
        assert_eq!(batch_of_document_id("c_1~x_y"), Some("c_1"));
        assert_eq!(document_id("2026-11-24", "0001"), "2026-11-24_0001");
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
                if written.is_ok() && !is_hidden_or_junk(name) && name != MANIFEST
                    && (*as_folder || !is_side_file(name, false))
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
