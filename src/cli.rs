//! Command-line arguments. The `--help` text lives in these doc comments; `config` turns them
//! into a checked configuration.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// resiscan — replacing scanning for a municipal scan center (BSI TR-03138 TR-RESISCAN).
///
/// Exit codes: 0 all good; 3 finished but some documents need a person (quarantined or
/// unclassified); 1 failure (bad profile, unusable key, store locked, verify found an invalid
/// or untrusted item); 2 usage error.
#[derive(Debug, Parser)]
#[command(name = "resiscan", version, about, long_about = None)]
pub struct Cli {
    /// More log output on stderr (-v info per document, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Nothing on stderr except errors (for cron).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Process batches: check, OCR, PDF/A, sign, transfer notes, file into e-files.
    Ingest(IngestArgs),
    /// QA: check signatures, certificates, hashes and completeness.
    Verify(VerifyArgs),
    /// Profiles: validate one and show what it would do.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Make a PKCS#8 key and a self-signed certificate for trials and tests.
    Keygen(KeygenArgs),
    /// Visual quality assurance (TR-03138 A.SC.8): sample, record, status.
    #[command(subcommand)]
    Qa(QaCommand),
    /// Show how every file-plan entry scores a PDF or text file.
    Explain(ExplainArgs),
    /// Query the e-file store's index.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Print cover sheets (Deckblatt): a QR code with the e-file and fields, Patch T bars and
    /// the same data in plain text. Put one in front of a document: at ingest it routes it.
    Coversheet(CoversheetArgs),
    /// Renew the store's evidence (PAdES B-LTA document timestamps, archive timestamps over
    /// the notes; SPEC §7): needs a profile with signing.timestamp; idempotent per day.
    Renew(RenewArgs),
}

#[derive(Debug, Args)]
pub struct RenewArgs {
    /// The e-file store whose evidence to renew.
    #[arg(long, value_name = "DIR")]
    pub store: PathBuf,
    /// The profile whose signing.timestamp (and, with revocation: embed, signing.crls) renewal
    /// uses; required (without one renew says so and exits 2).
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CoversheetArgs {
    /// The profile whose file plan defines the e-file and fields.
    #[arg(long, value_name = "FILE")]
    pub profile: PathBuf,
    /// The e-file id (as in the profile's efiles).
    #[arg(long, value_name = "ID")]
    pub efile: String,
    /// An index field of that e-file, NAME=VALUE; may be given several times.
    #[arg(long = "field", value_name = "NAME=VALUE")]
    pub fields: Vec<String>,
    /// The PDF to write.
    #[arg(long, value_name = "FILE.pdf")]
    pub out: PathBuf,
    /// Copies (pages) of the same sheet.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub count: u32,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Batch folders (each entry inside one is one paper document).
    #[arg(required = true, value_name = "BATCH")]
    pub batches: Vec<PathBuf>,
    /// The profile (YAML) for this kind of work.
    #[arg(long, value_name = "FILE")]
    pub profile: PathBuf,
    /// The e-file store to file into.
    #[arg(long, value_name = "DIR")]
    pub store: PathBuf,
    /// Documents processed at once. Default: the number of cores.
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Also write batch reports and notes here (a copy of `_batches/<id>/`).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Check and report what would happen; write nothing to the store.
    #[arg(long)]
    pub dry_run: bool,
    /// Print a machine-readable summary on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// PDFs, transfer notes, batch folders or whole stores.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Trusted CA certificates (PEM, may hold several). Without it signers are "untrusted".
    #[arg(long, value_name = "CA.pem")]
    pub trust: Vec<PathBuf>,
    /// Certificate revocation lists (PEM or DER; repeatable): a signature made after its
    /// certificate's revocation (by the timestamp's time, else the claimed time) is invalid.
    #[arg(long, value_name = "FILE")]
    pub crl: Vec<PathBuf>,
    /// Print a machine-readable result on stdout.
    #[arg(long)]
    pub json: bool,
    /// A store head recorded earlier (`store_head` of `ingest --json`, or its log): the store's
    /// signed chain must still hold it, else the store was rolled back past it.
    #[arg(long, value_name = "HASH")]
    pub head: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Validate a profile; list every mistake with its line and a hint.
    Check {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Subject of the certificate, e.g. "CN=Scanstelle,O=Stadt Leipzig".
    #[arg(long)]
    pub subject: String,
    /// Folder to write key.pk8.pem and cert.pem into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// EC P-256 key (the default; the flag states it, and is refused beside --rsa-3072).
    #[arg(long, conflicts_with = "rsa_3072")]
    pub ec_p256: bool,
    /// RSA 3072-bit key.
    #[arg(long)]
    pub rsa_3072: bool,
    /// Validity in days.
    #[arg(long, default_value_t = 730)]
    pub days: u32,
}

#[derive(Debug, Subcommand)]
pub enum QaCommand {
    /// Choose the documents to inspect and write the HTML QA sheet.
    ///
    /// A random share of each batch's filed documents (by protection: normal 5 %, hoch 25 %,
    /// sehr_hoch 100 %, or the profile's qa.sample_percent) plus every flagged document,
    /// recorded with a seed in _batches/<id>/qa-selection.json; running it again reuses that
    /// selection. Prints the path of each qa-sheet.html.
    Sample {
        #[arg(long, value_name = "DIR")]
        store: PathBuf,
        #[arg(long, value_name = "ID")]
        batch: Option<String>,
    },
    /// Record a visual check in the batch's signed QA addendum.
    Record(QaRecordArgs),
    /// The QA station: a local web page to compare, decide and sign (see README).
    ///
    /// Every page large with zoom and keys, the text beside it, findings and e-file; OK or
    /// Reject with a reason go through the same function as `qa record` into the signed
    /// addendum. Binds to loopback; another address needs a token on every request.
    Serve(QaServeArgs),
    /// Per batch: sample size, inspected, open, rejected.
    ///
    /// Exit codes: 0 every selected document inspected and none rejected; 3 a person must act
    /// (batch not sampled yet, documents open or rejected for rescan); 1 error (e.g. an
    /// addendum whose signature or content does not check out).
    Status {
        #[arg(long, value_name = "DIR")]
        store: PathBuf,
        #[arg(long, value_name = "ID")]
        batch: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct QaRecordArgs {
    #[arg(long, value_name = "DIR")]
    pub store: PathBuf,
    #[arg(long, value_name = "ID")]
    pub batch: String,
    #[arg(long, value_name = "ID")]
    pub doc: String,
    /// The document matches the paper.
    #[arg(long, conflicts_with = "reject", required_unless_present = "reject")]
    pub ok: bool,
    /// The document does not match; it is marked for rescan.
    #[arg(long, value_name = "REASON")]
    pub reject: Option<String>,
    /// Pseudonym of the inspecting person.
    #[arg(long, value_name = "PSEUDONYM")]
    pub inspector: String,
    /// The profile whose signing identity signs the QA addendum (relative paths resolve
    /// against its folder). Without it: the store's demo identity if the batch was signed with
    /// it; otherwise it is required.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct QaServeArgs {
    #[arg(long, value_name = "DIR")]
    pub store: PathBuf,
    /// Address and port to listen on. Anything but loopback requires the access token
    /// (printed once at start, or --token-file) on every request.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8470")]
    pub listen: std::net::SocketAddr,
    /// The inspector's pseudonym for every decision made here; without it the page asks.
    #[arg(long, value_name = "PSEUDONYM")]
    pub inspector: Option<String>,
    /// The profile whose signing identity signs the QA addendum, as for `qa record`.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Take the access token from this file (at least 16 characters) instead of generating
    /// one; with it the token is required on loopback too.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[arg(long, value_name = "FILE")]
    pub profile: PathBuf,
    /// A PDF (its text layer is read, its pages rendered to read their barcodes), an image
    /// file (PNG, JPEG, TIFF: its barcodes, patch codes and cover sheets; no OCR) or a text file.
    #[arg(value_name = "DOC")]
    pub doc: PathBuf,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Full-text search over the OCR text of filed documents.
    Search {
        #[arg(long, value_name = "DIR")]
        store: PathBuf,
        query: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// List filed documents.
    List {
        #[arg(long, value_name = "DIR")]
        store: PathBuf,
        #[arg(long, value_name = "ID")]
        efile: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Rebuild the index from the signed notes alone (a lost or damaged index.sqlite).
    Reindex {
        #[arg(long = "store", value_name = "DIR", conflicts_with = "dir")]
        store: Option<PathBuf>,
        /// The store, as `store reindex DIR` (SPEC §8); the same as --store.
        #[arg(value_name = "DIR", required_unless_present = "store")]
        dir: Option<PathBuf>,
    },
    /// Bring a store written before resiscan kept a signed chain under one: every batch is
    /// checked first, then one signed link per batch vouches for what its notes account for.
    Adopt {
        #[arg(long, value_name = "DIR")]
        store: PathBuf,
        /// The profile whose signing identity signs the links.
        #[arg(long, value_name = "FILE")]
        profile: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn ingest_takes_several_batches() {
        let cli = Cli::try_parse_from([
            "resiscan",
            "ingest",
            "a",
            "b",
            "--profile",
            "p.yaml",
            "--store",
            "s",
        ])
        .unwrap();
        match cli.command {
            Command::Ingest(a) => assert_eq!(a.batches.len(), 2),
            other => panic!("{other:?}"),
        }
    }
}
