//! `resiscan renew` (SPEC §7, issue #16): every filed PDF gets an updated DSS and a document
//! timestamp (PAdES B-LTA), every note an archive timestamp beside it, the chain a signed
//! `renew` link. verify accepts the renewed store and every state a stopped run leaves,
//! pyHanko finds the PDFs B-LTA-valid, `openssl ts -verify` accepts a note's token. A second
//! run the same day changes nothing; a content edit after renewal still fails verify; a TSA
//! failing mid-run stops the run naming it, and the next run finishes.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::ltv::{count, gen_crl, ltv_section, pyhanko};
use crate::testenv::TestEnv;
use crate::tsa::{batch, files, ingest, profile_text, signer_section, verify};
use crate::tsa_server::{Mode, TestTsa, TsaCert};

/// A store of `letters` documents filed B-LT with a timestamp; the profile and the TSA root.
fn filed_store(env: &TestEnv, tsa: &TestTsa, letters: usize) -> (PathBuf, PathBuf, PathBuf) {
    let dir = env.path("tsa");
    let crl = gen_crl(&dir, "good.crl");
    let signing = signer_section(&dir, "") + &ltv_section(tsa, &[&crl]);
    let profile = env.write("p.yaml", profile_text(&signing, "hoch"));
    let b = batch(env, "b", letters);
    let store = env.path("store");
    let (code, out) = ingest(env, &b, &profile, &store);
    assert_eq!(code, 0, "{out}");
    (store, profile, dir.join("root.pem"))
}

fn renew(env: &TestEnv, store: &Path, profile: Option<&Path>) -> (i32, String) {
    let mut c = env.cmd();
    c.args(["renew", "--store"]).arg(store);
    if let Some(p) = profile {
        c.arg("--profile").arg(p);
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn chain_links(store: &Path) -> usize {
    std::fs::read_dir(store.join("_chain"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".json")
        })
        .count()
}

/// Every file of the store (not .resiscan) with its bytes, to tell whether a run changed any.
fn snapshot(store: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<(PathBuf, Vec<u8>)> = files(store, "")
        .into_iter()
        .filter(|p| !p.to_string_lossy().contains("index.sqlite"))
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    out.sort();
    out
}

fn copy_dir(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn renew_makes_every_pdf_b_lta_and_stamps_every_note_and_verify_accepts_it() {
    let env = TestEnv::new();
    let tsa = TestTsa::start(&env.path("tsa"), TsaCert::Good);
    let (store, profile, root) = filed_store(&env, &tsa, 2);
    let pdfs = files(&store, ".pdf");
    assert_eq!(pdfs.len(), 2);
    let before: Vec<Vec<u8>> = pdfs.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let links = chain_links(&store);

    let (code, out) = renew(&env, &store, Some(&profile));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("2 PDF(s) got a document timestamp and an updated DSS"),
        "{out}"
    );
    assert!(out.contains("3 note(s) an archive timestamp"), "{out}");
    assert_eq!(chain_links(&store), links + 1, "one renew link");
    for (p, old) in pdfs.iter().zip(&before) {
        let new = std::fs::read(p).unwrap();
        // Only appended: the filed PDF is the renewed one's start.
        assert!(new.starts_with(old), "{}", p.display());
        assert_eq!(count(&new, b"/Type /DocTimeStamp"), 1);
    }
    let tsts = files(&store, ".tst");
    assert_eq!(tsts.len(), 3, "{tsts:?}");

    let (code, v) = verify(&env, &store, &[&root], None);
    assert_eq!(code, 0, "{v}");
    assert!(v.contains("document timestamp 1: 20"), "{v}");
    assert_eq!(v.matches("archive timestamp over").count(), 3, "{v}");
    assert!(!v.contains("PENDING"), "{v}");

    // pyHanko: the signature intact, trusted, timestamped, the updates LTA updates, the
    // document timestamp intact and trusted — from what the PDF carries alone.
    let text = pyhanko(&pdfs[0], true, &[&root]);
    assert!(
        text.starts_with(
            "intact=True valid=True trusted=True timestamp=True timestamp_trusted=True"
        ),
        "{text}"
    );
    assert!(text.contains("modification=LTA_UPDATES"), "{text}");
    assert!(
        text.contains("doc_timestamps=1 doc_ts_intact=True doc_ts_valid=True doc_ts_trusted=True"),
        "{text}"
    );

    // openssl accepts a note's archive timestamp over the note followed by its signature.
    let tst = tsts
        .iter()
        .find(|t| t.to_string_lossy().contains("transfer-note.yaml."))
        .unwrap();
    let note = store.join("_batches/b/transfer-note.yaml");
    let mut data = std::fs::read(&note).unwrap();
    data.extend(std::fs::read(store.join("_batches/b/transfer-note.yaml.p7s")).unwrap());
    let data_file = env.write("note-and-signature", &data);
    let out = Command::new("openssl")
        .args(["ts", "-verify", "-token_in", "-in"])
        .arg(tst)
        .arg("-data")
        .arg(&data_file)
        .arg("-CAfile")
        .arg(&root)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && text.contains("Verification: OK"),
        "{text}"
    );

    // The same day again: nothing changes, and it says so.
    let snap = snapshot(&store);
    let (code, out) = renew(&env, &store, Some(&profile));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("already renewed today"), "{out}");
    assert!(out.contains("nothing changed"), "{out}");
    assert_eq!(snapshot(&store), snap);

    // A stray token (a note's token copied beside another note) and a bad one are reported.
    let doc_note = files(&store, ".transfer.yaml").remove(0);
    let stray = doc_note.with_file_name(format!(
        "{}.2020-01-01.tst",
        doc_note.file_name().unwrap().to_string_lossy()
    ));
    std::fs::copy(tst, &stray).unwrap();
    let (code, v) = verify(&env, &store, &[&root], None);
    assert_eq!(code, 1, "{v}");
    assert!(v.contains("archive timestamp invalid"), "{v}");
    std::fs::remove_file(&stray).unwrap();

    // A content edit after renewal fails: one byte of the signed first revision changed
    // (inside the XMP title's document id, so the file still parses).
    let pdf = &pdfs[0];
    let mut bytes = std::fs::read(pdf).unwrap();
    let at = bytes
        .windows(b"<rdf:li xml:lang=\"x-default\">".len())
        .position(|w| w == b"<rdf:li xml:lang=\"x-default\">")
        .unwrap()
        + b"<rdf:li xml:lang=\"x-default\">".len();
    bytes[at + 2] ^= 0x01;
    std::fs::write(pdf, &bytes).unwrap();
    let (code, v) = verify(&env, &store, &[&root], None);
    assert_eq!(code, 1, "{v}");
    assert!(v.contains("differs from"), "{v}");
    // And renew refuses to timestamp it, naming it.
    let (code, out) = renew(&env, &store, Some(&profile));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not renewed"), "{out}");
    assert!(
        out.contains(&pdf.file_name().unwrap().to_string_lossy().to_string()),
        "{out}"
    );
}

/// A run stopped after it renewed one PDF (what `kill -9` leaves: each PDF is old or whole,
/// no link yet): verify accepts it (the renewed PDF PENDING until the link), and the next run
/// renews the rest without renewing the first again and links everything.
#[test]
fn a_renewal_stopped_halfway_still_verifies_and_the_next_run_finishes() {
    let env = TestEnv::new();
    let tsa = TestTsa::start(&env.path("tsa"), TsaCert::Good);
    let (store, profile, root) = filed_store(&env, &tsa, 2);
    let old = env.path("old-store");
    copy_dir(&store, &old);
    let (code, out) = renew(&env, &store, Some(&profile));
    assert_eq!(code, 0, "{out}");
    // The stopped state: the old store with one renewed PDF (each PDF is renamed into place
    // whole, so that is what a kill after the first PDF leaves).
    let renewed_pdf = files(&store, ".pdf").remove(0);
    let rel = renewed_pdf.strip_prefix(&store).unwrap().to_path_buf();
    let aside = env.path("aside.pdf");
    std::fs::copy(&renewed_pdf, &aside).unwrap();
    std::fs::remove_dir_all(&store).unwrap();
    copy_dir(&old, &store);
    std::fs::copy(&aside, store.join(&rel)).unwrap();

    let (code, v) = verify(&env, &store, &[&root], None);
    assert_eq!(code, 0, "{v}");
    assert!(v.contains("PENDING"), "{v}");
    assert!(v.contains("no link records the renewal yet"), "{v}");
    let first = std::fs::read(store.join(&rel)).unwrap();

    let (code, out) = renew(&env, &store, Some(&profile));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 PDF(s) got a document timestamp"), "{out}");
    assert!(out.contains("chain link records 5 file(s)"), "{out}");
    // The PDF the stopped run renewed was not renewed again.
    assert_eq!(std::fs::read(store.join(&rel)).unwrap(), first);
    let (code, v) = verify(&env, &store, &[&root], None);
    assert_eq!(code, 0, "{v}");
    assert!(!v.contains("PENDING"), "{v}");
}

/// The TSA fails after four answers (mid-run, at the second PDF): renew stops with exit 1 naming the TSA, leaves no temp
/// file and nothing half-written; verify still accepts the store; once the TSA answers, the
/// same command finishes.
#[test]
fn a_tsa_failing_mid_run_stops_renew_naming_it_and_the_rerun_finishes() {
    let env = TestEnv::new();
    let tsa = TestTsa::start(&env.path("tsa"), TsaCert::Good);
    let (store, profile, root) = filed_store(&env, &tsa, 2);
    // Three notes and the first PDF get their timestamps, the second PDF's request fails.
    tsa.fail_after(4, Mode::HttpError);
    let (code, out) = renew(&env, &store, Some(&profile));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&tsa.url), "{out}");
    assert!(out.contains("HTTP status 500"), "{out}");
    assert!(out.contains("renewal stopped"), "{out}");
    assert!(
        files(&store, "")
            .iter()
            .all(|p| !p.to_string_lossy().contains(".tmp-")),
        "a temporary file was left"
    );
    let stamped = files(&store, ".pdf")
        .iter()
        .filter(|p| count(&std::fs::read(p).unwrap(), b"/Type /DocTimeStamp") == 1)
        .count();
    assert_eq!(stamped, 1);
    assert_eq!(files(&store, ".tst").len(), 3);
    let (code, v) = verify(&env, &store, &[&root], None);
    assert_eq!(code, 0, "{v}");
    assert!(v.contains("a renew run stopped before its link"), "{v}");

    tsa.set_mode(Mode::Ok);
    let (code, out) = renew(&env, &store, Some(&profile));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 PDF(s) got a document timestamp"), "{out}");
    let (code, v) = verify(&env, &store, &[&root], None);
    assert_eq!(code, 0, "{v}");
    assert!(!v.contains("PENDING"), "{v}");
}

/// renew needs a profile with a TSA; without one it says so and changes nothing.
#[test]
fn renew_without_a_tsa_is_refused_and_changes_nothing() {
    let env = TestEnv::new();
    let tsa = TestTsa::start(&env.path("tsa"), TsaCert::Good);
    let (store, _profile, _root) = filed_store(&env, &tsa, 1);
    let snap = snapshot(&store);
    let (code, out) = renew(&env, &store, None);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("--profile FILE"), "{out}");
    let bare = env.write(
        "bare.yaml",
        profile_text(&signer_section(&env.path("tsa"), ""), "hoch"),
    );
    let (code, out) = renew(&env, &store, Some(&bare));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("no signing.timestamp"), "{out}");
    assert_eq!(snapshot(&store), snap);
    let (code, out) = renew(&env, &env.path("nowhere"), Some(&bare));
    assert_eq!(code, 1, "{out}");
    assert!(!env.path("nowhere").exists());
}

fn qa(env: &TestEnv, store: &Path, args: &[&str]) -> (i32, String) {
    let out = env
        .cmd()
        .arg("qa")
        .args(args)
        .arg("--store")
        .arg(store)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// Visual QA after a renewal: the renewed PDF is still the inspected document (the addendum
/// records the note's hash), the new addendum gets its archive timestamp at the next renew,
/// and a token over an addendum `qa record` rewrote since is an earlier version, not a
/// forgery; renew replaces it.
#[test]
fn qa_after_renew_records_the_renewed_pdf_and_the_next_renew_stamps_the_addendum() {
    let env = TestEnv::new();
    let tsa = TestTsa::start(&env.path("tsa"), TsaCert::Good);
    let (store, profile, root) = filed_store(&env, &tsa, 2);
    let (code, out) = renew(&env, &store, Some(&profile));
    assert_eq!(code, 0, "{out}");
    let (code, out) = qa(&env, &store, &["sample"]);
    assert_eq!(code, 0, "{out}");
    let sel: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.join("_batches/b/qa-selection.json")).unwrap())
            .unwrap();
    let doc = sel["documents"][0]["id"].as_str().unwrap().to_string();
    let profile_arg = profile.to_string_lossy().into_owned();
    let record = |inspector: &str| {
        qa(
            &env,
            &store,
            &[
                "record",
                "--batch",
                "b",
                "--doc",
                &doc,
                "--ok",
                "--inspector",
                inspector,
                "--profile",
                &profile_arg,
            ],
        )
    };
    let (code, out) = record("A. Prüfer");
    assert_eq!(code, 0, "{out}");
    let (code, v) = verify(&env, &store, &[&root], None);
    assert_eq!(code, 0, "{v}");

    let (code, out) = renew(&env, &store, Some(&profile));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 PDF(s) got a document timestamp"), "{out}");
    assert!(out.contains("1 note(s) an archive timestamp"), "{out}");
    // The addendum rewritten after its token: an earlier version, reported as a note.
    let (code, out) = record("B. Prüferin");
    assert_eq!(code, 0, "{out}");
    let (code, v) = verify(&env, &store, &[&root], None);
    assert_eq!(code, 0, "{v}");
    assert!(
        v.contains("covers an earlier version of qa-addendum.yaml"),
        "{v}"
    );
    let (code, out) = renew(&env, &store, Some(&profile));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 note(s) an archive timestamp"), "{out}");
    let (code, v) = verify(&env, &store, &[&root], None);
    assert_eq!(code, 0, "{v}");
    assert!(!v.contains("earlier version"), "{v}");
    assert!(!v.contains("PENDING"), "{v}");
}

/// A real `kill -9` in the middle of a renewal (the TSA answers slowly, so the run is caught
/// while it waits for the second PDF's token): whatever it left verifies (exit 0), and the
/// same command afterwards finishes and links everything.
#[test]
fn a_renewal_killed_mid_run_verifies_and_the_same_command_finishes() {
    let env = TestEnv::new();
    let tsa = TestTsa::start(&env.path("tsa"), TsaCert::Good);
    let (store, profile, root) = filed_store(&env, &tsa, 2);
    tsa.set_mode(Mode::Slow(std::time::Duration::from_millis(1500)));
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("resiscan"))
        .env("OMP_THREAD_LIMIT", "1")
        .args(["renew", "--store"])
        .arg(&store)
        .arg("--profile")
        .arg(&profile)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stamped = || {
        files(&store, ".pdf")
            .iter()
            .filter(|p| count(&std::fs::read(p).unwrap(), b"/Type /DocTimeStamp") == 1)
            .count()
    };
    // Wait (bounded) for the first PDF to be renewed, then kill while the second waits.
    let mut waited = 0;
    while stamped() == 0 {
        assert!(child.try_wait().unwrap().is_none(), "renew ended too early");
        assert!(waited < 600, "renew renewed no PDF within a minute");
        std::thread::sleep(std::time::Duration::from_millis(100));
        waited += 1;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(stamped(), 1, "the kill came after the second PDF");
    let links = chain_links(&store);

    let (code, v) = verify(&env, &store, &[&root], None);
    assert_eq!(code, 0, "{v}");
    assert!(v.contains("PENDING"), "{v}");

    tsa.set_mode(Mode::Ok);
    let (code, out) = renew(&env, &store, Some(&profile));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 PDF(s) got a document timestamp"), "{out}");
    assert_eq!(chain_links(&store), links + 1);
    assert_eq!(stamped(), 2);
    let (code, v) = verify(&env, &store, &[&root], None);
    assert_eq!(code, 0, "{v}");
    assert!(!v.contains("PENDING"), "{v}");
    assert!(
        files(&store, "")
            .iter()
            .all(|p| !p.to_string_lossy().contains(".tmp-")),
        "a temporary file was left"
    );
}

/// Measurement, not a check (`cargo test --test it renew_figures -- --ignored --nocapture`):
/// wall time of `renew` over a store of 8 B-LT PDFs and 9 notes at the local test TSA, and
/// the bytes it adds per PDF; then the same-day re-run.
#[test]
#[ignore = "measurement, not a check"]
fn renew_figures() {
    let env = TestEnv::new();
    let tsa = TestTsa::start(&env.path("tsa"), TsaCert::Good);
    let (store, profile, _root) = filed_store(&env, &tsa, 8);
    let size = |s: &Path| -> u64 {
        files(s, ".pdf")
            .iter()
            .map(|p| std::fs::metadata(p).unwrap().len())
            .sum()
    };
    let before = size(&store);
    let t = std::time::Instant::now();
    let (code, out) = renew(&env, &store, Some(&profile));
    let first = t.elapsed();
    assert_eq!(code, 0, "{out}");
    let t = std::time::Instant::now();
    let (code, again) = renew(&env, &store, Some(&profile));
    let second = t.elapsed();
    assert_eq!(code, 0, "{again}");
    let pdfs = files(&store, ".pdf").len() as u64;
    // The size of each revision of one renewed PDF, and of one token.
    let bytes = std::fs::read(&files(&store, ".pdf")[0]).unwrap();
    let mut ends = vec![0];
    let mut from = 0;
    while let Some(p) = bytes[from..].windows(5).position(|w| w == b"%%EOF") {
        from += p + 5;
        ends.push(from);
    }
    let revs: Vec<usize> = ends.windows(2).map(|w| w[1] - w[0]).collect();
    eprintln!(
        "revisions of one renewed PDF (bytes): {revs:?}; one token: {} bytes",
        std::fs::metadata(&files(&store, ".tst")[0]).unwrap().len()
    );
    eprintln!(
        "renew: {pdfs} PDFs + {} notes in {:.0} ms ({:.1} ms per PDF+note pair), {} bytes added \
         ({} per PDF); same-day re-run {:.0} ms\n{out}",
        files(&store, ".tst").len(),
        first.as_secs_f64() * 1e3,
        first.as_secs_f64() * 1e3 / pdfs as f64,
        size(&store) - before,
        (size(&store) - before) / pdfs,
        second.as_secs_f64() * 1e3
    );
}

/// A batch run twice (a cron re-run): its note then lists the documents as already filed, and
/// they are still the batch's documents — renew must stamp them like the others.
#[test]
fn documents_a_rerun_lists_as_already_filed_are_renewed_too() {
    let env = TestEnv::new();
    let tsa = TestTsa::start(&env.path("tsa"), TsaCert::Good);
    let (store, profile, root) = filed_store(&env, &tsa, 2);
    let (code, out) = ingest(&env, &env.path("b"), &profile, &store);
    assert_eq!(code, 0, "{out}");
    let note = std::fs::read_to_string(store.join("_batches/b/transfer-note.yaml")).unwrap();
    assert_eq!(note.matches("fate: already_filed").count(), 2, "{note}");

    let (code, out) = renew(&env, &store, Some(&profile));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("2 PDF(s) got a document timestamp and an updated DSS"),
        "{out}"
    );
    for p in files(&store, ".pdf") {
        assert_eq!(
            count(&std::fs::read(&p).unwrap(), b"/Type /DocTimeStamp"),
            1
        );
    }
    let (code, v) = verify(&env, &store, &[&root], None);
    assert_eq!(code, 0, "{v}");
}
