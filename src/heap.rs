//! Keeps the peak memory of a run independent of how many pages it processes (issue #6).
//!
//! glibc's malloc serves a large block from its own `mmap` only while the block is above a
//! *dynamic* threshold: the first time such a block is freed, the threshold rises to its size
//! (up to 32 MiB), and from then on page-sized buffers — an A4 page at 300 dpi is 8.7 MB of
//! gray pixels, and Tesseract makes several copies — come from the per-thread heaps instead.
//! There they fragment, and the peak creeps up with the length of the night: measured at
//! `--jobs 2`, 147 MiB for a 50-page batch but 164 MiB for 400 pages. With the threshold
//! fixed, every large buffer goes back to the system when it is freed; the 400-page batch then
//! peaked at 144 MiB. The cost is a fresh mapping per large buffer, microseconds against the
//! half second of OCR per page.

/// Blocks at least this large are mapped and unmapped on their own.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 1 << 20;

/// Fixes glibc's mmap threshold (see the module docs); does nothing on other C libraries.
pub fn return_large_buffers_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes a malloc tuning parameter; it is safe to call at any time,
    // and a failure (return value 0) just leaves glibc's default in place.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}
