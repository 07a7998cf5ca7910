//! The `resiscan` binary: parse arguments, run the command, map the outcome to an exit code.

use clap::Parser;

fn main() -> std::process::ExitCode {
    // Must come first: libgomp reads its limits when the process starts (see `openmp`).
    resiscan::openmp::reexec_with_single_threaded_openmp();
    resiscan::heap::return_large_buffers_to_the_system();
    let cli = resiscan::cli::Cli::parse();
    std::process::ExitCode::from(resiscan::commands::run(cli).code())
}
