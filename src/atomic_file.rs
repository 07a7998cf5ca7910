//! Atomic file writes (SPEC §4: "a crash leaves no half file in the store"), for the store and
//! for the key files `keygen` and the demo identity write: one implementation, in a leaf module
//! that `store` and `crypto` both use.
//!
//! A file is written under a temporary name in the destination's own folder (a rename is only
//! atomic within one file system), flushed to disk, renamed over the destination, and then the
//! folder itself is flushed so the rename survives a power cut (POSIX leaves a rename in the
//! page cache until the directory is synced). Temporary files are named
//! `.<name>.tmp-<pid>-<n>` so that [`remove_stale_temps`] can recognise what a crashed run left.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Distinguishes temp files of one process (several documents are filed at once).
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Marker between the file name and the pid/counter suffix of a temp file.
const TEMP_MARK: &str = ".tmp-";

/// Writes `bytes` to `path` atomically: the file is either the old one or the whole new one.
/// The parent folder must exist.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes)?;
    f.commit()
}

/// Flushes a folder's entries (new names, renames) to disk.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    // Opening a directory read-only and fsyncing it is how POSIX persists its entries.
    File::open(dir)?.sync_all()
}

/// A file being written atomically: write into it, then [`AtomicFile::commit`]. Dropped without
/// commit (an error on the way), the temporary file is removed and the destination untouched.
#[derive(Debug)]
pub struct AtomicFile {
    file: Option<File>,
    temp: PathBuf,
    dest: PathBuf,
}

impl AtomicFile {
    /// Starts writing `path` (created or replaced on commit). The parent folder must exist.
    pub fn create(path: &Path) -> io::Result<AtomicFile> {
        Self::create_with(path, false)
    }

    /// Like [`AtomicFile::create`], but the file is readable by its owner only (mode 0600 on
    /// Unix) from its first byte on: private keys are never visible to others, not even as a
    /// temporary file.
    pub fn create_private(path: &Path) -> io::Result<AtomicFile> {
        Self::create_with(path, true)
    }

    fn create_with(path: &Path, private: bool) -> io::Result<AtomicFile> {
        let name = path.file_name().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} has no file name", path.display()),
            )
        })?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let temp = dir.join(temp_name(name));
        // create_new: never write into a file someone else is writing.
        let mut opts = OpenOptions::new();
        // Readable too: an incremental update (renew) reads the copy it extends.
        opts.read(true).write(true).create_new(true);
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        let file = opts.open(&temp)?;
        Ok(AtomicFile {
            file: Some(file),
            temp,
            dest: path.to_path_buf(),
        })
    }

    /// fsync the data, rename it over the destination, fsync the folder.
    pub fn commit(self) -> io::Result<()> {
        self.finish(true)
    }

    /// Like [`AtomicFile::commit`], but an existing destination is an `AlreadyExists` error
    /// decided atomically by the file system (a hard link instead of a rename), so two
    /// processes can never both "create" the same key file.
    pub fn commit_new(self) -> io::Result<()> {
        self.finish(false)
    }

    fn finish(mut self, replace: bool) -> io::Result<()> {
        let file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("atomic file already committed"))?;
        let result = (|| {
            file.sync_all()?;
            drop(file);
            if replace {
                std::fs::rename(&self.temp, &self.dest)?;
            } else {
                std::fs::hard_link(&self.temp, &self.dest)?;
                std::fs::remove_file(&self.temp)?;
            }
            sync_dir(self.dest.parent().unwrap_or(Path::new(".")))
        })();
        if result.is_err() {
            // The rename may not have happened: do not leave the temp behind.
            let _ = std::fs::remove_file(&self.temp);
        }
        result
    }

    /// The temporary file itself (read and write), e.g. to extend a copy in place before
    /// the commit.
    pub fn file_mut(&mut self) -> io::Result<&mut File> {
        self.file()
    }

    fn file(&mut self) -> io::Result<&mut File> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("atomic file already committed"))
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file()?.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file()?.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// `.<name>.tmp-<pid>-<n>`, with `name` cut so the whole stays within 255 bytes (the usual
/// file-name limit).
fn temp_name(name: &std::ffi::OsStr) -> OsString {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let suffix = format!("{TEMP_MARK}{}-{n}", std::process::id());
    let name = name.to_string_lossy();
    let mut keep = 255usize.saturating_sub(1 + suffix.len()).min(name.len());
    while !name.is_char_boundary(keep) {
        keep -= 1;
    }
    OsString::from(format!(".{}{suffix}", &name[..keep]))
}

/// Whether a file name is one of our temporary names.
pub(crate) fn is_temp_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.') else {
        return false;
    };
    let Some((_, suffix)) = rest.rsplit_once(TEMP_MARK) else {
        return false;
    };
    let mut parts = suffix.split('-');
    let digits =
        |s: Option<&str>| s.is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
    digits(parts.next()) && digits(parts.next()) && parts.next().is_none()
}

/// Removes the temporary files a crashed run left anywhere under `root`; returns them.
/// Only call while holding the store lock: then no live writer owns such a file.
pub(crate) fn remove_stale_temps(root: &Path) -> io::Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    for entry in walkdir::WalkDir::new(root).follow_links(false) {
        let entry = entry.map_err(io::Error::other)?;
        if entry.file_type().is_file() && entry.file_name().to_str().is_some_and(is_temp_name) {
            std::fs::remove_file(entry.path())?;
            removed.push(entry.into_path());
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn atomic_write_creates_and_replaces_without_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        atomic_write(&p, b"one").unwrap();
        atomic_write(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(names(dir.path()), vec!["a.json"]);
    }

    #[test]
    fn dropped_without_commit_leaves_nothing_and_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.pdf");
        std::fs::write(&p, b"old").unwrap();
        {
            let mut f = AtomicFile::create(&p).unwrap();
            f.write_all(b"half a new fi").unwrap();
            // an error on the way: f is dropped here
        }
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert_eq!(names(dir.path()), vec!["a.pdf"]);
    }

    #[test]
    fn a_failing_commit_removes_the_temp() {
        let dir = tempfile::tempdir().unwrap();
        // The destination is a non-empty folder: the rename fails.
        let p = dir.path().join("x");
        std::fs::create_dir(&p).unwrap();
        std::fs::write(p.join("inside"), b"").unwrap();
        let mut f = AtomicFile::create(&p).unwrap();
        f.write_all(b"data").unwrap();
        assert!(f.commit().is_err());
        assert_eq!(names(dir.path()), vec!["x"]);
    }

    #[test]
    fn commit_new_keeps_an_existing_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("key.pem");
        let mut f = AtomicFile::create_private(&p).unwrap();
        f.write_all(b"first").unwrap();
        f.commit_new().unwrap();
        let mut f = AtomicFile::create_private(&p).unwrap();
        f.write_all(b"second").unwrap();
        let err = f.commit_new().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&p).unwrap(), b"first");
        assert_eq!(names(dir.path()), vec!["key.pem"]);
        atomic_write(&p, b"third").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"third");
    }

    #[cfg(unix)]
    #[test]
    fn private_files_are_owner_only_and_others_keep_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mode = |name: &str, private: bool| {
            let p = dir.path().join(name);
            let mut f = if private {
                AtomicFile::create_private(&p).unwrap()
            } else {
                AtomicFile::create(&p).unwrap()
            };
            f.write_all(b"x").unwrap();
            f.commit().unwrap();
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777
        };
        assert_eq!(mode("key.pem", true), 0o600);
        // What the umask allows, at least readable by the owner; never 0600 by accident
        // unless the umask itself is that strict.
        let public = mode("cert.pem", false);
        assert_ne!(public & 0o400, 0);
        assert!(public == 0o600 || public & 0o044 != 0, "{public:o}");
    }

    #[test]
    fn writing_into_a_missing_folder_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        assert!(atomic_write(&dir.path().join("no/such/a"), b"x").is_err());
    }

    #[test]
    fn temp_names_are_recognised_and_others_are_not() {
        let t = temp_name(std::ffi::OsStr::new("doc.meta.json"));
        let t = t.to_str().unwrap();
        assert!(t.starts_with(".doc.meta.json.tmp-"), "{t}");
        assert!(is_temp_name(t));
        for other in [
            "doc.meta.json",
            ".hidden",
            ".a.tmp-",
            ".a.tmp-12",
            ".a.tmp-12-x",
            "a.tmp-1-2",
            ".a.tmp-1-2-3",
        ] {
            assert!(!is_temp_name(other), "{other}");
        }
        let long = "ä".repeat(200);
        let t = temp_name(std::ffi::OsStr::new(&long));
        assert!(t.len() <= 255 && is_temp_name(t.to_str().unwrap()));
    }

    #[test]
    fn stale_temps_are_removed_recursively() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("20/VB-1");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join(".x.pdf.tmp-999-3"), b"half").unwrap();
        std::fs::write(sub.join("x.pdf"), b"whole").unwrap();
        let removed = remove_stale_temps(dir.path()).unwrap();
        assert_eq!(removed.len(), 1);
        assert_eq!(names(&sub), vec!["x.pdf"]);
    }
}
