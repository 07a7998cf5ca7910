//! Page images for the station, rendered from the archived PDF itself (what the DMS will
//! show, not the source image) with poppler's `pdftoppm`, as the static sheet does, and kept in
//! the store's work area so the second look at a page costs a file read.
//!
//! The cache is content-addressed: a file's name is the PDF's SHA-256 (as it is now, not as
//! the note says), the page number and the resolution, so a PDF changed after signing can
//! never be shown with the images of the signed one. Files appear by rename, so a reader never
//! sees half a PNG, and two renders of the same page at once just both rename.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// 150 dpi: an A4 page is 1240 x 1754 pixels, sharp at full width on a desktop screen and at
/// 2x zoom still readable for a fold or a cut-off line.
pub(crate) const PAGE_DPI: u32 = 150;

/// The cache folder inside the store's state folder.
pub(crate) fn cache_dir(store: &Path) -> PathBuf {
    store.join(crate::store::STATE_DIR).join("qa-cache")
}

/// The cache file's name for page `page` of the PDF whose SHA-256 is `sha256`: built from a
/// hex digest and numbers only, nothing a request sent.
pub(crate) fn page_file_name(sha256: &str, page: usize) -> String {
    debug_assert!(sha256.bytes().all(|b| b.is_ascii_hexdigit()));
    format!("{sha256}-p{page}-{PAGE_DPI}dpi.png")
}

/// The PNG of page `page` (1-based) of `pdf`, whose current SHA-256 is `sha256`; rendered on
/// the first request, read from the cache afterwards. Returns the bytes and whether they
/// came from the cache.
pub(crate) fn page_png(
    cache: &Path,
    pdf: &Path,
    sha256: &str,
    page: usize,
) -> Result<(Vec<u8>, bool), String> {
    let (file, cached) = rendered_page(cache, pdf, sha256, page)?;
    let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    Ok((bytes, cached))
}

/// Makes sure page `page` of `pdf` is in the cache; returns its file and whether it was
/// there already.
pub(crate) fn rendered_page(
    cache: &Path,
    pdf: &Path,
    sha256: &str,
    page: usize,
) -> Result<(PathBuf, bool), String> {
    let file = cache.join(page_file_name(sha256, page));
    if file.is_file() {
        return Ok((file, true));
    }
    std::fs::create_dir_all(cache).map_err(|e| format!("{}: {e}", cache.display()))?;
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let prefix = cache.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    ));
    let n = page.to_string();
    let out = Command::new("pdftoppm")
        .args(["-r", &PAGE_DPI.to_string(), "-png", "-singlefile"])
        .args(["-f", &n, "-l", &n])
        .arg(pdf)
        .arg(&prefix)
        .output()
        .map_err(|e| format!("pdftoppm (poppler-utils) could not run: {e}"))?;
    let tmp = prefix.with_extension("png");
    if !out.status.success() || !tmp.is_file() {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!(
            "pdftoppm failed on page {page} of {}: {}",
            pdf.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    // pdftoppm wrote and closed the file; sync it before the rename makes it visible, as the
    // store's atomic writes do, so a crash leaves either no entry or a whole one.
    if let Ok(f) = std::fs::File::open(&tmp) {
        let _ = f.sync_all();
    }
    std::fs::rename(&tmp, &file).map_err(|e| format!("{}: {e}", file.display()))?;
    Ok((file, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_rendered_once_then_read_from_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let pdf = dir.path().join("x.pdf");
        std::fs::write(&pdf, crate::qa::testutil::tiny_pdf(&["eins", "zwei"])).unwrap();
        let sha = crate::crypto::sha256_file_hex(&pdf).unwrap();
        let cache = cache_dir(dir.path());
        let (first, cached) = page_png(&cache, &pdf, &sha, 2).unwrap();
        assert!(!cached);
        assert!(first.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
        let (again, cached) = page_png(&cache, &pdf, &sha, 2).unwrap();
        assert!(cached);
        assert_eq!(first, again);
        // Exactly one file, no temporaries left behind.
        let names: Vec<String> = std::fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec![format!("{sha}-p2-150dpi.png")]);
        // A page the PDF does not have is an error, not an empty image.
        let e = page_png(&cache, &pdf, &sha, 3).unwrap_err();
        assert!(e.contains("pdftoppm failed on page 3"), "{e}");
    }
}
