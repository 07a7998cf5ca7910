use clap::Parser;

fn main() -> std::process::ExitCode {
    let _cli = resiscan::cli::Cli::parse();
    eprintln!("resiscan: this command is not built yet");
    std::process::ExitCode::from(1)
}
