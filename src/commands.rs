//! One function per subcommand: each takes its parsed arguments, does the work through the
//! library, prints for people (stderr) or scripts (`--json` on stdout), and returns the exit
//! code of SPEC §1. Errors get their context here, at the edge, and are printed with `{:#}`.

use std::io::Write;

use anyhow::Context as _;

use crate::cli::{Cli, Command, IngestArgs, KeygenArgs, ProfileCommand, QaCommand, StoreCommand};
use crate::outcome::Exit;

/// Runs the command line and returns the exit code.
pub fn run(cli: Cli) -> Exit {
    init_logging(cli.verbose, cli.quiet);
    let quiet = cli.quiet;
    let json = wants_json(&cli.command);
    let result = match cli.command {
        Command::Ingest(args) => ingest(&args, quiet),
        Command::Verify(args) => verify(&args),
        Command::Profile(ProfileCommand::Check { file }) => profile_check(&file),
        Command::Keygen(args) => keygen(&args),
        Command::Qa(cmd) => qa(cmd),
        Command::Explain(args) => explain(&args),
        Command::Store(cmd) => store(cmd),
        Command::Coversheet(args) => coversheet(&args),
        Command::Renew(args) => renew(&args),
    };
    match result {
        Ok(exit) => exit,
        Err(e) => {
            let message = error_text(&e);
            eprintln!("resiscan: error: {message}");
            if json {
                // Scripts that asked for JSON get JSON on every outcome, failures included.
                let _ = print_json(&JsonFailure {
                    exit: Exit::Failure,
                    error: &message,
                });
            }
            Exit::Failure
        }
    }
}

/// What `--json` prints when a command fails before it has a result of its own.
#[derive(serde::Serialize)]
struct JsonFailure<'a> {
    exit: Exit,
    error: &'a str,
}

fn wants_json(command: &Command) -> bool {
    match command {
        Command::Ingest(a) => a.json,
        Command::Verify(a) => a.json,
        Command::Explain(a) => a.json,
        Command::Qa(QaCommand::Status { json, .. }) => *json,
        Command::Store(StoreCommand::Search { json, .. } | StoreCommand::List { json, .. }) => {
            *json
        }
        _ => false,
    }
}

/// An error with its causes, each said once, joined by ": " (anyhow's `{:#}`). Each cause is
/// said once by construction: an error of ours either quotes its cause in its own message or
/// returns it from `source()`, never both (STYLE §3), so nothing here compares message text.
fn error_text(e: &anyhow::Error) -> String {
    format!("{e:#}")
}

fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("RESISCAN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("resiscan={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .try_init();
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

fn ingest(args: &IngestArgs, quiet: bool) -> anyhow::Result<Exit> {
    let config = match crate::config::ingest_config(args, quiet) {
        Ok(c) => c,
        Err(e) if e.is_usage() => {
            eprintln!("resiscan: usage error: {e}");
            if args.json {
                print_json(&JsonFailure {
                    exit: Exit::Usage,
                    error: &e.to_string(),
                })?;
            }
            return Ok(Exit::Usage);
        }
        Err(e) => return Err(e.into()),
    };
    let summary = crate::pipeline::ingest(&config).context("ingest stopped")?;
    if !quiet {
        for b in &summary.batches {
            eprintln!(
                "{}: {} documents, {} pages: {} filed, {} already filed, {} duplicates, {} unclassified, {} quarantined, {} blank pages dropped{}{}",
                b.batch,
                b.documents,
                b.pages,
                b.filed,
                b.already_filed,
                b.duplicates,
                b.unclassified,
                b.quarantined,
                b.dropped_pages,
                if config.dry_run {
                    " (dry run: nothing written to the store)"
                } else {
                    ""
                },
                b.report
                    .as_ref()
                    .map(|p| format!("; report in {}", p.display()))
                    .unwrap_or_default()
            );
            for n in &b.notices {
                eprintln!("{}: {n}", b.batch);
            }
        }
    }
    if let Some(h) = summary.store_head.as_deref().filter(|_| !quiet) {
        eprintln!(
            "store head: {h} (record it; `resiscan verify STORE --head {h}` detects a rollback past it)"
        );
    }
    for f in &summary.failed_batches {
        eprintln!(
            "resiscan: error: batch {} not processed: {}",
            f.folder.display(),
            f.reason
        );
    }
    if args.json {
        print_json(&summary)?;
    }
    Ok(summary.exit)
}

fn profile_check(file: &std::path::Path) -> anyhow::Result<Exit> {
    match crate::config::configure(file, crate::config::Needs::All) {
        Err(e) => {
            eprintln!("{e}");
            Ok(Exit::Failure)
        }
        Ok(c) => {
            let signer = c.signer_info();
            print!("{}", describe_profile(&c.profile, signer.as_ref()));
            for w in signer.iter().flat_map(|s| &s.warnings) {
                eprintln!("warning: signing identity: {w}");
            }
            Ok(Exit::Ok)
        }
    }
}

/// What a valid profile will do, for the person who wrote it.
fn describe_profile(
    p: &crate::profile::LoadedProfile,
    signer: Option<&crate::config::SignerInfo>,
) -> String {
    use std::fmt::Write as _;
    let pr = &p.profile;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "profile {} (version {}), sha256 {}",
        pr.name.value, pr.version, p.sha256
    );
    let _ = writeln!(
        s,
        "organisation: {}{}",
        pr.organisation,
        pr.unit
            .as_deref()
            .map(|u| format!(", {u}"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        s,
        "protection: {} (visual QA sample {}% plus every flagged document)",
        pr.protection.integrity,
        pr.sample_percent(),
    );
    let _ = writeln!(
        s,
        "scan: min {} dpi, {}; blank pages: {}",
        pr.scan.min_dpi,
        pr.scan
            .assume_dpi
            .map(|d| format!("files without resolution taken as {d} dpi"))
            .unwrap_or_else(|| "files without resolution are quarantined".into()),
        match pr.scan.blank_pages {
            crate::profile::BlankPolicy::Keep => "kept",
            crate::profile::BlankPolicy::Drop => "dropped (named in the transfer note)",
            crate::profile::BlankPolicy::Flag => "kept and flagged for a person",
        }
    );
    let _ = writeln!(
        s,
        "ocr: {} (flag pages below confidence {})",
        pr.ocr.languages.value.join("+"),
        pr.ocr.min_confidence
    );
    let signing = pr.signing.as_ref().map(|s| &s.value);
    let embed = signing.is_some_and(|s| {
        s.revocation
            .as_ref()
            .is_some_and(|r| r.value == crate::profile::Revocation::Embed)
    });
    let level = match signing {
        Some(s) if embed => format!(
            "B-LT (signature timestamp, a DSS with the chains and {} CRL(s) appended)",
            s.crls.len()
        ),
        Some(s) if s.timestamp.is_some() => "B-T (with a signature timestamp)".to_string(),
        _ => "B-B".to_string(),
    };
    let _ = writeln!(s, "pdf: PDF/A-2b, PAdES {level} signed");
    match (pr.signing.as_ref().map(|s| &s.value), signer) {
        (Some(sig), _) if sig.demo => {
            let _ = writeln!(s, "signer: demo identity, generated per store (untrusted)");
        }
        (Some(sig), Some(info)) => {
            let shown = |f: &Option<serde_saphyr::Spanned<std::path::PathBuf>>| {
                f.as_ref()
                    .map(|c| {
                        let full = p.resolve(&c.value);
                        std::path::absolute(&full)
                            .unwrap_or(full)
                            .display()
                            .to_string()
                    })
                    .unwrap_or_default()
            };
            let _ = writeln!(
                s,
                "signer: {} ({}, valid until {}, certificate SHA-256 {})",
                info.subject, info.algorithm, info.not_after, info.fingerprint_sha256,
            );
            let _ = writeln!(
                s,
                "  certificate {}\n  key         {}",
                shown(&sig.certificate),
                shown(&sig.key)
            );
            for subject in &info.chain {
                let _ = writeln!(s, "  chain: {subject}");
            }
        }
        _ => {}
    }
    let _ = writeln!(
        s,
        "file plan ({}, tried in order; the best-scoring match wins, a tie goes to the first):",
        match pr.efiles.len() {
            1 => "1 entry".to_string(),
            n => format!("{n} entries"),
        }
    );
    for r in &pr.efiles {
        let _ = writeln!(
            s,
            "  {:<20} {} -> {}{}",
            r.id.value,
            r.title,
            r.path.value,
            r.retention
                .as_ref()
                .map(|x| format!(" (keep {} years)", x.years))
                .unwrap_or_default()
        );
        let m = &r.matching;
        if !m.all.is_empty() {
            let _ = writeln!(s, "      all of: {}", m.all.join(", "));
        }
        if !m.any.is_empty() {
            let _ = writeln!(s, "      any of: {}", m.any.join(", "));
        }
        if !m.none.is_empty() {
            let _ = writeln!(s, "      none of: {}", m.none.join(", "));
        }
        for re in &m.regex {
            let _ = writeln!(s, "      regex: {}", re.value);
        }
        for (name, re) in &r.fields {
            let req = if r.require.iter().any(|q| &q.value == name) {
                " (required)"
            } else {
                ""
            };
            let _ = writeln!(s, "      field {name}{req}: {}", re.value);
        }
    }
    let _ = writeln!(
        s,
        "  (no match)           -> {}/<batch-id>",
        pr.unclassified.value
    );
    s
}

fn keygen(args: &KeygenArgs) -> anyhow::Result<Exit> {
    let kind = if args.rsa_3072 {
        crate::crypto::keygen::KeyKind::Rsa3072
    } else {
        crate::crypto::keygen::KeyKind::EcP256
    };
    let g = crate::crypto::keygen::generate(&args.subject, kind, args.days, &args.out)
        .context("keygen failed")?;
    eprintln!(
        "wrote {} and {} (SHA-256 fingerprint {})",
        g.key_path.display(),
        g.cert_path.display(),
        g.fingerprint
    );
    Ok(Exit::Ok)
}

fn verify(args: &crate::cli::VerifyArgs) -> anyhow::Result<Exit> {
    let options = crate::verify::VerifyOptions {
        trust: &args.trust,
        crls: &args.crl,
        head: args.head.as_deref(),
    };
    let outcome = crate::verify::run_with(&args.paths, &options).context("verify")?;
    if args.json {
        print_json(&outcome)?;
    } else {
        for line in outcome.lines() {
            println!("{line}");
        }
    }
    Ok(outcome.exit())
}

fn qa(cmd: QaCommand) -> anyhow::Result<Exit> {
    match cmd {
        QaCommand::Sample { store, batch } => {
            let outcomes = crate::qa::sample(&store, batch.as_deref()).context("qa sample")?;
            for o in &outcomes {
                let s = &o.selection;
                let flagged = s
                    .documents
                    .iter()
                    .filter(|d| d.reasons.iter().any(|r| !r.is_random_sample()))
                    .count();
                eprintln!(
                    "{}: {} documents to inspect ({} at random from {} filed, {}% at protection {}, seed {}; {} flagged){}; {} quarantined{}",
                    o.batch,
                    s.documents.len(),
                    s.random_sample_size,
                    s.population,
                    s.sample_percent,
                    s.protection,
                    s.seed,
                    flagged,
                    if o.reused {
                        " — the recorded selection"
                    } else {
                        ""
                    },
                    s.quarantined.len(),
                    if s.quarantined.is_empty() {
                        ""
                    } else {
                        " (see the sheet; the paper goes back to the station)"
                    }
                );
                for n in &o.notices {
                    eprintln!("{}: {n}", o.batch);
                }
                println!("{}", o.sheet.display());
            }
            Ok(Exit::Ok)
        }
        QaCommand::Record(args) => {
            let decision = match &args.reject {
                Some(reason) => crate::qa::Decision::Reject(reason.clone()),
                None => crate::qa::Decision::Ok,
            };
            let out = crate::qa::record(&crate::qa::RecordRequest {
                store: &args.store,
                batch: &args.batch,
                doc: &args.doc,
                decision,
                inspector: &args.inspector,
                profile: args.profile.as_deref(),
                seen_decisions: None,
            })
            .context("qa record")?;
            for n in &out.notices {
                eprintln!("{n}");
            }
            eprintln!(
                "recorded {} {} by {}; {}; signed addendum {}",
                out.entry.doc,
                match out.entry.result {
                    crate::qa::QaResult::Ok => "ok".to_string(),
                    crate::qa::QaResult::Rejected => format!(
                        "REJECTED ({}) — marked for rescan",
                        out.entry.reason.as_deref().unwrap_or_default()
                    ),
                },
                out.entry.inspector,
                out.qa_state,
                out.addendum.display()
            );
            Ok(Exit::Ok)
        }
        QaCommand::Serve(args) => {
            let running = crate::qa::serve::start(&crate::qa::serve::ServeOptions {
                store: args.store,
                listen: args.listen,
                inspector: args.inspector,
                profile: args.profile,
                token_file: args.token_file,
            })
            .context("qa serve")?;
            if running.token_required {
                eprintln!(
                    "access token required on every request (kept in a cookie after the first visit)"
                );
            }
            eprintln!("QA station running; stop it with Ctrl+C. Open:");
            // The URL on stdout alone, so a script (or a test) can read where to connect.
            println!("{}", running.url);
            let _ = std::io::stdout().flush();
            running.wait();
            Ok(Exit::Ok)
        }
        QaCommand::Status { store, batch, json } => {
            let all = crate::qa::status(&store, batch.as_deref()).context("qa status")?;
            let exit = all.iter().fold(Exit::Ok, |acc, b| acc.merge(b.exit()));
            if json {
                print_json(&all)?;
            } else {
                for b in &all {
                    let mut line = format!("{}: {}", b.batch, b.qa_state);
                    if b.sampled {
                        line.push_str(&format!(
                            " — selected {}, inspected {}, open {}, rejected {}",
                            b.selected,
                            b.inspected,
                            b.open.len(),
                            b.rejected.len()
                        ));
                    }
                    if !b.open.is_empty() {
                        line.push_str(&format!("; open: {}", b.open.join(", ")));
                    }
                    if !b.rejected.is_empty() {
                        line.push_str(&format!("; rescan: {}", b.rejected.join(", ")));
                    }
                    if b.quarantined > 0 {
                        line.push_str(&format!("; {} quarantined", b.quarantined));
                    }
                    if !b.addendum_problems.is_empty() {
                        line.push_str(&format!(
                            "; ADDENDUM INVALID: {}",
                            b.addendum_problems.join("; ")
                        ));
                    }
                    println!("{line}");
                }
            }
            Ok(exit)
        }
    }
}

fn explain(args: &crate::cli::ExplainArgs) -> anyhow::Result<Exit> {
    use crate::barcode::found;
    let configured = crate::config::configure(&args.profile, crate::config::Needs::FilePlan)?;
    let profile = &configured.profile.profile;
    // An image file has barcodes but no text (explain runs no OCR); a PDF both; a text file
    // only text. Every error of document_text and document_pages names the file already.
    let image = found::is_image_file(&args.doc);
    let text = if image {
        String::new()
    } else {
        crate::classify::document_text(&args.doc)?
    };
    let max_pixels = u64::from(profile.scan.max_megapixels) * 1_000_000;
    let pages = found::document_pages(&args.doc, max_pixels)?;
    let codes = found::found_codes(profile, &pages);
    let texts: Vec<String> = codes
        .iter()
        .filter(|c| c.symbology != "patch code")
        .map(|c| c.value.clone())
        .collect();
    let mut result = configured
        .plan
        .classifier
        .classify_with_barcodes(&text, &texts);
    // A cover sheet on the first page routes the document, as at ingest (with split_on: cover).
    if profile.split_on().contains(&crate::profile::SplitOn::Cover)
        && let Some(cover) = codes
            .iter()
            .filter(|c| c.page == 1)
            .find_map(|c| crate::separation::CoverPayload::decode(&c.value))
    {
        result = crate::classify::routed_by_cover(profile, result, &cover);
    }
    if args.json {
        #[derive(serde::Serialize)]
        struct Explained<'a> {
            #[serde(flatten)]
            result: &'a crate::classify::Classification,
            barcodes: &'a [found::FoundCode],
        }
        print_json(&Explained {
            result: &result,
            barcodes: &codes,
        })?;
    } else {
        if image {
            println!(
                "text: none read (an image file: explain runs no OCR; the decision rests on its \
                 barcodes only)"
            );
        }
        print!("{}", crate::classify::explain(&result));
        print!("{}", found::explained(&codes, pages.len()));
    }
    Ok(Exit::Ok)
}

/// `renew` (SPEC §7): a document timestamp on every filed PDF (with the DSS brought up to
/// date), a fresh archive timestamp beside every note, one signed `renew` chain link.
fn renew(args: &crate::cli::RenewArgs) -> anyhow::Result<Exit> {
    use crate::config::{Needs, SignerSource, configure};
    let Some(profile) = &args.profile else {
        eprintln!(
            "resiscan: error: renew needs the profile whose signing.timestamp it stamps with: \
             resiscan renew --store {} --profile FILE (nothing was changed)",
            args.store.display()
        );
        return Ok(Exit::Usage);
    };
    let configured = configure(profile, Needs::All)
        .with_context(|| format!("renew: profile {}", profile.display()))?;
    let has_tsa = configured.timestamp.is_some()
        || configured
            .identity
            .as_ref()
            .is_some_and(|i| i.timestamper().is_some());
    if !has_tsa {
        anyhow::bail!(
            "renew: profile {} has no signing.timestamp: renewing means new RFC 3161 \
             timestamps, so a TSA must be configured (nothing in {} was changed)",
            profile.display(),
            args.store.display()
        );
    }
    if !args.store.join(crate::store::BATCHES_DIR).is_dir() {
        return Err(crate::store::RenewError::NoStore {
            store: args.store.clone(),
        })
        .context("renew");
    }
    let identity = match configured.identity {
        Some(identity) => identity,
        None => SignerSource::Demo
            .load(&args.store)
            .context("renew: the store's demo identity")?
            .with_timestamp(configured.timestamp.clone()),
    };
    let tsa = identity
        .timestamper()
        .context("renew: the signing identity carries no TSA")?;
    let with = crate::store::renew::RenewWith {
        tsa,
        embed: identity.embed(),
        identity: &identity,
    };
    let report = |r: &crate::store::Renewed| {
        for b in &r.skipped_batches {
            eprintln!(
                "resiscan: batch {b} left out: its ingest has not finished (run it again, then \
                 renew)"
            );
        }
        if r.changed_nothing() {
            println!(
                "{}: already renewed today ({}): {} PDF(s) and {} note(s) carry a timestamp of \
                 today; nothing changed",
                args.store.display(),
                r.date,
                r.pdfs_current,
                r.notes_current
            );
        } else {
            println!(
                "{}: renewed {}: {} PDF(s) got a document timestamp{} ({} bytes added), {} \
                 note(s) an archive timestamp; {} already current; chain link records {} \
                 file(s); store head: {}",
                args.store.display(),
                r.date,
                r.pdfs_renewed,
                if with.embed.is_some() {
                    " and an updated DSS"
                } else {
                    ""
                },
                r.bytes_added,
                r.notes_stamped,
                r.pdfs_current + r.notes_current,
                r.linked,
                r.store_head.as_deref().unwrap_or("-")
            );
        }
    };
    match crate::store::Store::renew(&args.store, &with) {
        Ok(r) => {
            report(&r);
            Ok(Exit::Ok)
        }
        Err(crate::store::RenewError::NotRenewed(problems, r)) => {
            report(&r);
            Err(anyhow::Error::from(crate::store::RenewError::NotRenewed(
                problems, r,
            )))
            .context("renew")
        }
        Err(e) => Err(anyhow::Error::from(e)).context("renew"),
    }
}

fn coversheet(args: &crate::cli::CoversheetArgs) -> anyhow::Result<Exit> {
    let configured = crate::config::configure(&args.profile, crate::config::Needs::FilePlan)?;
    let payload = crate::separation::cover_payload_for(
        &configured.profile.profile,
        &args.efile,
        &args.fields,
    )?;
    let title = configured
        .profile
        .profile
        .efiles
        .iter()
        .find(|r| r.id.value == payload.efile)
        .map(|r| r.title.clone())
        .unwrap_or_default();
    let pdf = crate::pdf::cover::cover_sheet_pdf(&payload, &title, args.count as usize)
        .context("cover sheet")?;
    // A bare file name has an empty parent, which the atomic write's temp file cannot use.
    let out = std::path::absolute(&args.out).unwrap_or_else(|_| args.out.clone());
    crate::atomic_file::atomic_write(&out, &pdf)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    eprintln!(
        "wrote {} ({} cover sheet{} for e-file {})",
        args.out.display(),
        args.count,
        if args.count == 1 { "" } else { "s" },
        payload.efile
    );
    Ok(Exit::Ok)
}

fn store(cmd: StoreCommand) -> anyhow::Result<Exit> {
    match cmd {
        StoreCommand::Search {
            store,
            query,
            limit,
            json,
        } => print!(
            "{}",
            crate::store::store_search(&store, &query, limit, json)?
        ),
        StoreCommand::List { store, efile, json } => {
            print!(
                "{}",
                crate::store::store_list(&store, efile.as_deref(), json)?
            )
        }
        StoreCommand::Reindex { store, dir } => {
            let Some(store) = store.or(dir) else {
                anyhow::bail!("store reindex: give the store (--store DIR)");
            };
            let r = crate::store::Store::reindex(&store)?;
            for n in &r.notices {
                eprintln!("resiscan: {n}");
            }
            println!(
                "{}: index rebuilt from the signed notes of {} batches: {} documents",
                store.join(crate::store::INDEX_FILE).display(),
                r.batches,
                r.documents
            );
            if !r.notices.is_empty() {
                return Ok(Exit::Failure);
            }
        }
        StoreCommand::Adopt {
            store,
            profile,
            json,
        } => {
            use crate::config::{Needs, SignerSource, configure};
            let configured = configure(&profile, Needs::All)
                .with_context(|| format!("store adopt: profile {}", profile.display()))?;
            let identity = match configured.identity {
                Some(identity) => identity,
                None => SignerSource::Demo
                    .load(&store)
                    .context("store adopt: the store's demo identity")?
                    .with_timestamp(configured.timestamp.clone()),
            };
            let adopted = crate::store::Store::adopt(&store, &identity)?;
            if json {
                print_json(&adopted)?;
            } else {
                println!(
                    "{}: adopted {} batches into a signed chain ({} files vouched for); store \
                     head: {}",
                    store.display(),
                    adopted.batches,
                    adopted.files,
                    adopted.store_head
                );
            }
        }
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use std::error::Error as StdError;
    use std::path::PathBuf;

    use anyhow::Context as _;

    use super::error_text;

    fn io(msg: &str) -> std::io::Error {
        std::io::Error::other(msg.to_string())
    }

    /// Fails if any error in `e`'s chain both prints its cause and returns it from `source()`.
    fn assert_cause_said_once(e: &(dyn StdError + 'static)) {
        let mut link: Option<&(dyn StdError + 'static)> = Some(e);
        while let Some(err) = link {
            if let Some(cause) = err.source() {
                let (outer, inner) = (err.to_string(), cause.to_string());
                assert!(
                    !outer.contains(&inner),
                    "{err:?} prints its cause \"{inner}\" and also returns it from source()"
                );
            }
            link = err.source();
        }
    }

    fn count(haystack: &str, needle: &str) -> usize {
        haystack.matches(needle).count()
    }

    #[test]
    fn a_store_error_under_context_says_each_cause_once() {
        let store = crate::pipeline::IngestError::Store(crate::store::StoreError::Io {
            path: PathBuf::from("/srv/store/_lock"),
            cause: io("disk full"),
        });
        let e = Err::<(), _>(store).context("ingest stopped").unwrap_err();
        let text = error_text(&e);
        assert_eq!(text, "ingest stopped: /srv/store/_lock: disk full");
        assert_eq!(count(&text, "disk full"), 1, "{text}");
        assert_eq!(count(&text, "/srv/store/_lock"), 1, "{text}");
    }

    #[test]
    fn a_real_io_error_under_context_says_each_cause_once() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-profile.yaml");
        let Err(err) = crate::config::configure(&missing, crate::config::Needs::All) else {
            panic!("a missing profile must be an error");
        };
        let os_text = std::fs::read(&missing).unwrap_err().to_string();
        let e = anyhow::Error::from(err).context("qa sample");
        let text = error_text(&e);
        assert!(
            text.starts_with("qa sample: cannot read profile "),
            "{text}"
        );
        assert_eq!(count(&text, &os_text), 1, "{text}");
        assert_eq!(count(&text, &missing.display().to_string()), 1, "{text}");
    }

    #[test]
    fn no_error_of_ours_both_prints_and_sources_its_cause() {
        use crate::crypto::{CryptoError, IdentityError};
        let p = || PathBuf::from("/x/file");
        let json_err = || serde_json::from_str::<u8>("nope").unwrap_err();
        let unclosed = String::from("(");
        let regex_err = || Box::new(regex::Regex::new(&unclosed).unwrap_err());
        let store_io = || crate::store::StoreError::Io {
            path: p(),
            cause: io("store io cause"),
        };
        let identity_read = || IdentityError::Read {
            path: p(),
            cause: io("identity read cause"),
        };
        let qa_read = || crate::qa::QaError::Read {
            path: p(),
            cause: io("qa read cause"),
        };
        let profile_read = || crate::profile::ProfileError::Read {
            path: p(),
            cause: io("profile read cause"),
        };
        let errors: Vec<Box<dyn StdError + 'static>> = vec![
            Box::new(profile_read()),
            Box::new(crate::config::ConfigError::Profile(profile_read())),
            Box::new(store_io()),
            Box::new(crate::store::StoreError::Index {
                path: p(),
                cause: Box::new(rusqlite::Error::QueryReturnedNoRows),
            }),
            Box::new(crate::intake::IntakeError::Io {
                path: p(),
                cause: io("intake cause"),
            }),
            Box::new(crate::classify::ClassifyError::Read {
                path: p(),
                cause: io("classify read cause"),
            }),
            Box::new(crate::classify::ClassifyError::BadRegex {
                efile: "E".into(),
                what: "field 'az'".into(),
                cause: regex_err(),
            }),
            Box::new(identity_read()),
            Box::new(CryptoError::from(identity_read())),
            Box::new(CryptoError::from(der::Error::from(
                der::ErrorKind::Overflow,
            ))),
            Box::new(crate::pdf::PdfError::from(io("pdf io cause"))),
            Box::new(crate::pdf::sign::SignError::from(io("sign io cause"))),
            Box::new(crate::pdf::sign::SignError::from(CryptoError::from(
                identity_read(),
            ))),
            Box::new(crate::crypto::keygen::KeygenError::Io {
                path: p(),
                cause: io("keygen cause"),
            }),
            Box::new(qa_read()),
            Box::new(crate::qa::QaError::Write {
                path: p(),
                cause: io("qa write cause"),
            }),
            Box::new(crate::qa::serve::ServeError::Qa(qa_read())),
            Box::new(crate::qa::serve::ServeError::TokenFile {
                path: p(),
                cause: io("token cause"),
            }),
            Box::new(crate::pipeline::IngestError::Store(store_io())),
            Box::new(crate::pipeline::IngestError::from(
                crate::ocr::OcrError::Recognize("ocr cause".into()),
            )),
            Box::new(crate::pipeline::IngestError::Write {
                path: p(),
                cause: io("ingest write cause"),
            }),
            Box::new(crate::pipeline::IngestError::Json {
                path: p(),
                cause: json_err(),
            }),
            Box::new(crate::pipeline::IngestError::Note(
                crate::pipeline::NoteError::Write {
                    path: p(),
                    cause: io("note write cause"),
                },
            )),
            Box::new(crate::pipeline::NoteError::Serialise {
                path: p(),
                cause: io("note serialise cause"),
            }),
            Box::new(crate::pipeline::NoteError::Sign {
                path: p(),
                cause: CryptoError::from(identity_read()),
            }),
        ];
        for e in &errors {
            assert_cause_said_once(e.as_ref());
            // Every one of these quotes its cause, so none may also expose it.
            assert!(e.source().is_none(), "{e:?} still has a source()");
        }
    }
}
