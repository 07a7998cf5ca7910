//! Keeps Tesseract's OpenMP from oversubscribing the cores.
//!
//! Debian's libtesseract is built with OpenMP. resiscan already runs one engine per core; if
//! each engine also spawns an OpenMP team, the threads fight over the cores and a batch takes
//! about twice as long. libgomp reads `OMP_THREAD_LIMIT` once, when the library is loaded —
//! before `main` runs — so setting it from inside the process is too late. The only reliable
//! fix is to start the process again with the variable set, which costs one `exec` (~1 ms).
//! A value the user set is respected.

/// The variable that tells the re-executed process not to loop.
const MARKER: &str = "RESISCAN_OMP_REEXEC";

/// Re-executes the current program with `OMP_THREAD_LIMIT=1` unless the variable is already set.
/// Returns only if no re-exec happened (already set, or exec failed — then we go on, slower).
pub fn reexec_with_single_threaded_openmp() {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        if std::env::var_os("OMP_THREAD_LIMIT").is_some() || std::env::var_os(MARKER).is_some() {
            return;
        }
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let err = std::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .env("OMP_THREAD_LIMIT", "1")
            .env(MARKER, "1")
            .exec();
        // exec only returns on failure; run on with OpenMP's defaults.
        eprintln!(
            "resiscan: warning: could not restart with OMP_THREAD_LIMIT=1 ({err}); OCR may be slower"
        );
    }
}
