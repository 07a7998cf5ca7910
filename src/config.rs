//! The second phase of argument handling: the parsed flags plus the loaded profile become a
//! checked configuration for a command (like ripgrep's HiArgs). Everything that can be wrong
//! with the invocation is found here, before any document is touched.

use std::io::IsTerminal;

use crate::cli::IngestArgs;
use crate::pipeline::IngestConfig;
use crate::profile::{LoadedProfile, ProfileError};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error("--jobs must be at least 1")]
    ZeroJobs,
}

impl ConfigError {
    /// Usage errors exit 2, everything else 1 (SPEC §1).
    pub fn is_usage(&self) -> bool {
        matches!(self, ConfigError::ZeroJobs)
    }
}

/// Builds the ingest configuration; `quiet` suppresses the progress bar.
pub fn ingest_config(args: &IngestArgs, quiet: bool) -> Result<IngestConfig, ConfigError> {
    let jobs = match args.jobs {
        Some(0) => return Err(ConfigError::ZeroJobs),
        Some(n) => n,
        // One worker per core: each runs one single-threaded Tesseract engine.
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let profile = LoadedProfile::load(&args.profile)?;
    Ok(IngestConfig {
        batches: args.batches.clone(),
        profile,
        store_dir: args.store.clone(),
        out_dir: args.out.clone(),
        jobs,
        dry_run: args.dry_run,
        progress: !quiet && std::io::stderr().is_terminal(),
    })
}
