//! The second phase of argument handling: the parsed flags plus the profile become a checked
//! configuration for a command (like ripgrep's HiArgs). Everything that can be wrong with the
//! invocation is found here, before any document is touched, by building the objects the
//! stages use — the classifier, the path templates, the signing identity, the OCR options and
//! the protection level's decisions — once; later code receives them and never re-derives
//! them from the profile (STYLE §11). Each problem names its line in the profile.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use crate::cli::IngestArgs;
use crate::crypto::identity::SigningIdentity;
use crate::ocr::OcrOptions;
use crate::profile::{Draft, LoadedProfile, Problem, Profile, ProfileError};

pub mod plan;
pub mod signing;

pub use plan::{BUILTIN_PATH_FIELDS, FilePlan};
pub use signing::{
    DemoRefused, LevelUnsupported, SignerInfo, SignerSource, SignerSourceError, demo_allowed,
    level_supported,
};

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

/// What a command needs of the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Everything: ingest, `profile check`, `qa record`.
    All,
    /// The file plan only (`explain`): a file plan can be tried where the signing keys are not.
    FilePlan,
}

/// A profile with the stage objects it builds, each built once.
#[derive(Debug)]
pub struct Configured {
    pub profile: LoadedProfile,
    pub plan: FilePlan,
    /// Who signs; `None` with [`Needs::FilePlan`].
    pub signer: Option<SignerSource>,
    /// The real identity, loaded and checked; `None` for the demo identity (it lives in the
    /// store, loaded once the store is open) and with [`Needs::FilePlan`].
    pub identity: Option<SigningIdentity>,
    pub ocr: OcrOptions,
    /// The TSA of `signing.timestamp` (the real identity carries its own), for the demo
    /// identity loaded later.
    pub timestamp: Option<std::sync::Arc<crate::crypto::tsp::Tsa>>,
}

impl Configured {
    /// What `profile check` shows of the signer; `None` for a demo identity.
    pub fn signer_info(&self) -> Option<SignerInfo> {
        self.identity.as_ref().map(SignerInfo::of)
    }
}

/// Reads the profile at `path`, checks it and builds what `needs` asks for; every problem,
/// of the profile's shape and of what it builds, is in the error with its line.
pub fn configure(path: &Path, needs: Needs) -> Result<Configured, ProfileError> {
    let mut draft = Draft::read(path)?;
    let built = draft
        .profile
        .as_ref()
        .map(|p| build(p, &draft.base_dir, needs, &mut draft.problems));
    let profile = draft.finish()?;
    let Some((Some(plan), identity)) = built else {
        unreachable!("a profile without problems builds its file plan");
    };
    let signer = match needs {
        // A profile without problems names its signer (else "no signing section" is one).
        Needs::All => SignerSource::of_loaded(&profile).ok(),
        Needs::FilePlan => None,
    };
    let ocr = ocr_options(&profile);
    let timestamp = match needs {
        // Checked above with the other problems; a profile without problems has a usable one.
        Needs::All => signing::timestamp(&profile.profile, &profile.base_dir, &mut Vec::new()),
        Needs::FilePlan => None,
    };
    Ok(Configured {
        profile,
        plan,
        signer,
        identity,
        ocr,
        timestamp,
    })
}

/// Every problem of `profile` (read from `base_dir`), in file order: its own and what the
/// config phase finds building from it. For tests and fuzzing; commands use [`configure`].
pub fn problems(profile: &Profile, base_dir: &Path) -> Vec<Problem> {
    let mut out = profile.problems(base_dir);
    build(profile, base_dir, Needs::All, &mut out);
    out.sort_by_key(|p| (p.line == 0, p.line, p.column));
    out
}

fn build(
    profile: &Profile,
    base_dir: &Path,
    needs: Needs,
    out: &mut Vec<Problem>,
) -> (Option<FilePlan>, Option<SigningIdentity>) {
    let identity = match needs {
        Needs::All => signing::signing_identity(profile, base_dir, out),
        Needs::FilePlan => None,
    };
    (plan::file_plan(profile, out), identity)
}

/// Tesseract's options from the profile's `ocr` section.
fn ocr_options(loaded: &LoadedProfile) -> OcrOptions {
    let ocr = &loaded.profile.ocr;
    OcrOptions {
        languages: ocr.languages.value.join("+"),
        datapath: ocr.tessdata.as_ref().map(|t| loaded.resolve(&t.value)),
        detect_orientation: ocr.detect_orientation,
    }
}

/// Everything `ingest` needs, checked and built.
#[derive(Debug)]
pub struct IngestConfig {
    pub batches: Vec<PathBuf>,
    pub profile: LoadedProfile,
    pub plan: FilePlan,
    pub signer: SignerSource,
    /// The profile's real identity, loaded; `None` for the store's demo identity.
    pub identity: Option<SigningIdentity>,
    pub ocr: OcrOptions,
    pub store_dir: PathBuf,
    pub out_dir: Option<PathBuf>,
    pub jobs: usize,
    pub dry_run: bool,
    /// Draw a progress bar (stderr is a terminal and not --quiet).
    pub progress: bool,
    /// The TSA of `signing.timestamp`, for the demo identity (a real one carries its own).
    pub timestamp: Option<std::sync::Arc<crate::crypto::tsp::Tsa>>,
}

/// Builds the ingest configuration; `quiet` suppresses the progress bar.
pub fn ingest_config(args: &IngestArgs, quiet: bool) -> Result<IngestConfig, ConfigError> {
    let jobs = match args.jobs {
        Some(0) => return Err(ConfigError::ZeroJobs),
        Some(n) => n,
        // One worker per core: each runs one single-threaded Tesseract engine.
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let Configured {
        profile,
        plan,
        signer,
        identity,
        ocr,
        timestamp,
    } = configure(&args.profile, Needs::All)?;
    let signer = signer.expect("a profile checked for ingest names its signer");
    Ok(IngestConfig {
        batches: args.batches.clone(),
        profile,
        plan,
        signer,
        identity,
        ocr,
        store_dir: args.store.clone(),
        out_dir: args.out.clone(),
        jobs,
        dry_run: args.dry_run,
        progress: !quiet && std::io::stderr().is_terminal(),
        timestamp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = "name: t\nversion: 1\norganisation: o\nprotection: {integrity: normal}\n\
        signing: {certificate: missing.pem, key: missing.key}\n\
        efiles:\n  - id: a\n    title: A\n    match: {all: [Rechnung]}\n    \
        fields: {nr: 'Nr\\.?\\s*(\\d+)'}\n    path: \"10 A/{nr}\"\n";

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("profile.yaml");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn the_demo_profile_builds_every_entrys_template_and_the_classifier_once() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/demo.yaml");
        let c = configure(&path, Needs::All).unwrap();
        let ids: Vec<&str> = c
            .profile
            .profile
            .efiles
            .iter()
            .map(|r| r.id.value.as_str())
            .collect();
        assert_eq!(
            c.plan
                .templates
                .keys()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            {
                let mut sorted = ids.clone();
                sorted.sort();
                sorted
            }
        );
        assert_eq!(
            c.plan.templates["vollstreckung"].as_str(),
            "20 Stadtkasse/20.3 Vollstreckung/{az}"
        );
        assert_eq!(c.signer, Some(SignerSource::Demo));
        assert!(c.identity.is_none(), "the demo identity lives in the store");
        assert_eq!(c.ocr.languages, "deu+eng");
        let r = c
            .plan
            .classifier
            .classify("Volkshochschule Anmeldung Kursnummer: 26F-0001");
        assert_eq!(r.decision().map(|d| d.id()), Some("vhs-anmeldung"));
    }

    #[test]
    fn a_file_plan_can_be_tried_where_the_keys_are_not() {
        let t = tempfile::tempdir().unwrap();
        let path = write(t.path(), PLAN);
        assert!(configure(&path, Needs::FilePlan).unwrap().signer.is_none());
        let e = configure(&path, Needs::All).unwrap_err().to_string();
        assert!(e.contains("line 5") && e.contains("does not exist"), "{e}");
    }

    #[test]
    fn what_the_config_phase_builds_is_refused_with_its_line() {
        let t = tempfile::tempdir().unwrap();
        let bad = PLAN
            .replace("certificate: missing.pem, key: missing.key", "demo: true")
            .replace("(\\d+)", "(\\d+")
            .replace("{nr}", "{kz}")
            .replace("integrity: normal", "integrity: hoch");
        let e = configure(&write(t.path(), &bad), Needs::All)
            .unwrap_err()
            .to_string();
        assert!(e.contains("has 3 problems"), "{e}");
        assert!(
            e.contains("line 5") && e.contains("demo identity is refused at protection 'hoch'"),
            "{e}"
        );
        assert!(e.contains("line 10") && e.contains("bad regex"), "{e}");
        assert!(e.contains("line 11") && e.contains("{kz}"), "{e}");
    }

    #[test]
    fn ingest_refuses_zero_jobs_as_a_usage_error() {
        let args = IngestArgs {
            batches: Vec::new(),
            profile: PathBuf::from("/nonexistent/profile.yaml"),
            store: PathBuf::from("/nonexistent/store"),
            jobs: Some(0),
            out: None,
            dry_run: false,
            json: false,
        };
        let e = ingest_config(&args, true).unwrap_err();
        assert!(e.is_usage(), "{e}");
        let e = ingest_config(
            &IngestArgs {
                jobs: Some(1),
                ..args
            },
            true,
        )
        .unwrap_err();
        assert!(
            !e.is_usage() && e.to_string().contains("cannot read profile"),
            "{e}"
        );
    }
}
