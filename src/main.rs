//! The `resiscan` binary: parse arguments, run the command, map the outcome to an exit code.

use clap::Parser;

fn main() -> std::process::ExitCode {
    // Must come first: libgomp reads its limits when the process starts (see `openmp`).
    resiscan::openmp::reexec_with_single_threaded_openmp();
    resiscan::heap::return_large_buffers_to_the_system();
    // A panic is a bug; `ingest` catches it per document (the document is quarantined, the
    // batch goes on). Report it as one error line through the log, like every other error,
    // instead of the default hook's text on stderr, which `-q` would not hold back.
    std::panic::set_hook(Box::new(|info| {
        let message = resiscan::pipeline::panic_message(info.payload());
        let at = info
            .location()
            .map(|l| format!(" (at {}:{})", l.file(), l.line()))
            .unwrap_or_default();
        if tracing::dispatcher::has_been_set() {
            tracing::error!("internal error (please report): {message}{at}");
        } else {
            eprintln!("resiscan: internal error (please report): {message}{at}");
        }
    }));
    let cli = resiscan::cli::Cli::parse();
    std::process::ExitCode::from(resiscan::commands::run(cli).code())
}
