//! RFC 3161 timestamps end to end (SPEC §7): ingest against the local test TSA
//! ([`crate::tsa_server`]) makes every signature B-T; a TSA that is down, slow, refuses or
//! answers a foreign token stops the run with exit 1 and files nothing unstamped, and the same
//! command finishes once the TSA answers; `openssl ts -verify` accepts the notes' tokens.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::testenv::{TestEnv, enforcement_letter, render_letter, repo_path};
use crate::tsa_server::{Mode, TestTsa, TsaCert, dead_url};

/// The demo profile with `section` added under `signing:` and the protection `level`.
fn profile_with(env: &TestEnv, name: &str, section: &str) -> PathBuf {
    let text = std::fs::read_to_string(repo_path("profiles/demo.yaml"))
        .unwrap()
        .replace(
            "signing:\n  demo: true\n",
            &format!("signing:\n  demo: true\n{section}"),
        );
    assert!(text.contains("timestamp:"), "demo.yaml changed shape");
    env.write(&format!("{name}.yaml"), text)
}

pub(crate) fn batch(env: &TestEnv, name: &str, letters: usize) -> PathBuf {
    let b = env.mkdir(name);
    for i in 0..letters {
        render_letter(
            &b.join(format!("000{}.png", i + 1)),
            &enforcement_letter(&format!("VB-2026-0041{i}")),
            &[],
        );
    }
    b
}

pub(crate) fn ingest(env: &TestEnv, batch: &Path, profile: &Path, store: &Path) -> (i32, String) {
    let out = env
        .cmd()
        .arg("ingest")
        .arg(batch)
        .arg("--profile")
        .arg(profile)
        .arg("--store")
        .arg(store)
        .args(["--jobs", "1"])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// Every file under `dir` (not .resiscan) ending in `ext`.
pub(crate) fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                if !p.ends_with(".resiscan") {
                    stack.push(p);
                }
            } else if p.to_string_lossy().ends_with(ext) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// `openssl ts -verify` of the signature timestamp in a detached CMS: the token's imprint must
/// be the SHA-256 of the SignerInfo's signature value, and the TSA must chain to `root`.
fn openssl_ts_verifies(p7s: &Path, content: &Path, root: &Path, dir: &Path) -> (bool, String) {
    let report = resiscan::crypto::verify_detached_content(
        &std::fs::read(p7s).unwrap(),
        &std::fs::read(content).unwrap(),
    )
    .unwrap();
    assert!(report.is_valid(), "{:?}", report.problems);
    assert_eq!(report.timestamp_tokens.len(), 1, "{}", p7s.display());
    let token = dir.join("token.der");
    std::fs::write(&token, &report.timestamp_tokens[0]).unwrap();
    let digest = hex::encode(Sha256::digest(&report.signature_value));
    let out = Command::new("openssl")
        .args(["ts", "-verify", "-token_in", "-in"])
        .arg(&token)
        .args(["-digest", &digest, "-CAfile"])
        .arg(root)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn every_signature_is_timestamped_and_openssl_verifies_the_notes_tokens() {
    let env = TestEnv::new();
    let tsa = TestTsa::start(&env.path("tsa"), TsaCert::Good);
    let profile = profile_with(&env, "p", &tsa.profile_section(10.0, 0));
    let b = batch(&env, "b", 1);
    let store = env.path("store");
    let (code, out) = ingest(&env, &b, &profile, &store);
    assert_eq!(code, 0, "{out}");
    // The probe, the PDF, the document's note, the batch note, and the store chain's
    // run-start and batch links.
    assert!(tsa.served() >= 6, "{} requests", tsa.served());

    let mut notes: Vec<PathBuf> = files(&store, ".yaml.p7s");
    assert!(notes.len() >= 2, "{notes:?}");
    // The chain links (SPEC §8) are signed by the same signer, so they carry a token too.
    let links = files(&store, ".json.p7s");
    let in_chain = links
        .iter()
        .filter(|p| p.parent().is_some_and(|d| d.ends_with("_chain")))
        .count();
    assert!(in_chain >= 2, "{links:?}");
    notes.extend(links);
    for p7s in &notes {
        let content = PathBuf::from(p7s.to_string_lossy().trim_end_matches(".p7s"));
        let (ok, text) = openssl_ts_verifies(p7s, &content, &tsa.root, env.dir.path());
        assert!(ok, "{}: {text}", p7s.display());
        // Another root: openssl refuses the chain.
        let other = env.path("other");
        crate::tsa_server::make_pki(&other, TsaCert::Good);
        let (ok, _) = openssl_ts_verifies(p7s, &content, &other.join("root.pem"), env.dir.path());
        assert!(!ok, "a foreign root must not verify the token");
    }
    // The PDF's CMS carries the token as well.
    let pdfs = files(&store, ".pdf");
    assert_eq!(pdfs.len(), 1);
    let pdf = std::fs::read(&pdfs[0]).unwrap();
    let cms = pdf_contents(&pdf);
    let digest = resiscan::crypto::cms::digest_algorithm_of(&cms).unwrap();
    let _ = digest;
    let token_oid = [
        0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x0e,
    ];
    assert!(
        cms.windows(token_oid.len()).any(|w| w == token_oid),
        "no id-aa-timeStampToken in the PDF's CMS"
    );
}

/// The DER in the PDF's /Contents hex string.
pub fn pdf_contents(pdf: &[u8]) -> Vec<u8> {
    let at = pdf
        .windows(11)
        .position(|w| w == b"/Contents <")
        .expect("/Contents");
    let start = at + 11;
    let end = start + pdf[start..].iter().position(|b| *b == b'>').unwrap();
    let hex = std::str::from_utf8(&pdf[start..end]).unwrap();
    let mut der = hex::decode(hex).unwrap();
    while der.last() == Some(&0) {
        der.pop();
    }
    der
}

/// Each way a TSA fails: the run stops with exit 1, names the TSA and the reason, files no
/// PDF; the same command then finishes once the TSA answers.
#[test]
fn a_tsa_that_is_down_slow_refuses_or_mismatches_stops_the_run_and_a_rerun_finishes() {
    let env = TestEnv::new();
    let tsa = TestTsa::start(&env.path("tsa"), TsaCert::Good);
    let b = batch(&env, "b", 1);
    let cases: [(&str, Option<Mode>, &str); 6] = [
        ("down", None, "not reachable"),
        ("slow", Some(Mode::Slow(Duration::from_secs(4))), "timeout"),
        ("http", Some(Mode::HttpError), "HTTP status 500"),
        ("refuses", Some(Mode::Rejection), "test TSA refuses"),
        ("imprint", Some(Mode::WrongImprint), "another imprint"),
        ("nonce", Some(Mode::WrongNonce), "nonce"),
    ];
    for (name, mode, reason) in cases {
        let store = env.path(&format!("store-{name}"));
        let section = match mode {
            None => format!(
                "  timestamp:\n    url: \"{}\"\n    trust: {}\n    timeout_seconds: 1\n    retries: 1\n",
                dead_url(),
                tsa.root.display()
            ),
            Some(m) => {
                tsa.set_mode(m);
                tsa.profile_section(1.0, 1)
            }
        };
        let profile = profile_with(&env, name, &section);
        let (code, out) = ingest(&env, &b, &profile, &store);
        assert_eq!(code, 1, "{name}: {out}");
        assert!(
            out.contains("timestamp authority http://127.0.0.1:"),
            "{name}: {out}"
        );
        assert!(out.contains(reason), "{name}: want {reason:?}: {out}");
        assert!(out.contains("after 2 attempts"), "{name}: {out}");
        assert!(files(&store, ".pdf").is_empty(), "{name}: a PDF was filed");

        // The TSA answers again (the down one: the profile now names the live TSA).
        tsa.set_mode(Mode::Ok);
        let profile = profile_with(&env, name, &tsa.profile_section(5.0, 0));
        let (code, out) = ingest(&env, &b, &profile, &store);
        assert_eq!(code, 0, "{name} rerun: {out}");
        assert_eq!(files(&store, ".pdf").len(), 1, "{name}");
    }
}

/// The TSA fails in the middle of a run: what was filed carries its timestamp, the rest is
/// not filed, and the rerun files it.
#[test]
fn a_tsa_failing_mid_run_leaves_only_stamped_documents_and_the_rerun_finishes() {
    let env = TestEnv::new();
    let tsa = TestTsa::start(&env.path("tsa"), TsaCert::Good);
    let b = batch(&env, "b", 3);
    let store = env.path("store");
    let profile = profile_with(&env, "p", &tsa.profile_section(5.0, 0));
    // The probe, then the first document's PDF and note; the second document's PDF fails.
    tsa.fail_after(3, Mode::Rejection);
    let (code, out) = ingest(&env, &b, &profile, &store);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("test TSA refuses"), "{out}");
    assert!(out.contains("nothing unstamped is filed"), "{out}");
    let filed = files(&store, ".pdf");
    assert!(filed.len() <= 1, "{filed:?}");
    for pdf in &filed {
        let cms = pdf_contents(&std::fs::read(pdf).unwrap());
        assert!(
            cms.windows(4).any(|w| w == [0x09, 0x10, 0x02, 0x0e]),
            "{} filed without a timestamp",
            pdf.display()
        );
    }
    tsa.set_mode(Mode::Ok);
    let (code, out) = ingest(&env, &b, &profile, &store);
    assert_eq!(code, 0, "{out}");
    assert_eq!(files(&store, ".pdf").len(), 3);
}

#[test]
fn a_tsa_certificate_without_eku_or_expired_is_refused_on_arrival() {
    let env = TestEnv::new();
    let b = batch(&env, "b", 1);
    for (cert, reason) in [
        (TsaCert::NoEku, "lacks the extended key usage timeStamping"),
        (TsaCert::Expired, "expired"),
    ] {
        let name = format!("{cert:?}");
        let tsa = TestTsa::start(&env.path(&format!("tsa-{name}")), cert);
        let profile = profile_with(&env, &name, &tsa.profile_section(5.0, 0));
        let store = env.path(&format!("store-{name}"));
        let (code, out) = ingest(&env, &b, &profile, &store);
        assert_eq!(code, 1, "{name}: {out}");
        assert!(out.contains(reason), "{name}: {out}");
        assert!(files(&store, ".pdf").is_empty());
    }
    // A TSA that chains to another root than the configured one.
    let tsa = TestTsa::start(&env.path("tsa-good"), TsaCert::Good);
    let other = env.path("other");
    crate::tsa_server::make_pki(&other, TsaCert::Good);
    let section = tsa.profile_section(5.0, 0).replace(
        &tsa.root.display().to_string(),
        &other.join("root.pem").display().to_string(),
    );
    let profile = profile_with(&env, "foreign", &section);
    let (code, out) = ingest(&env, &b, &profile, &env.path("store-foreign"));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("does not chain to a trusted TSA root"),
        "{out}"
    );
}

#[test]
fn profile_check_names_the_line_of_a_bad_timestamp_section() {
    let env = TestEnv::new();
    let profile = profile_with(
        &env,
        "p",
        "  timestamp:\n    url: \"ftp://tsa\"\n    trust: missing-root.pem\n",
    );
    let out = env
        .cmd()
        .args(["profile", "check"])
        .arg(&profile)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("not an http:// or https:// URL"), "{text}");
    assert!(text.contains("signing.timestamp.trust"), "{text}");
    assert!(text.contains("line 21"), "{text}");
}

/// A signer issued by the TSA's root CA in `dir` (valid from 10 days ago), as a
/// `signing:` section with `extra` appended.
pub(crate) fn signer_section(dir: &Path, extra: &str) -> String {
    crate::tsa_server::openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            "/CN=Scanstelle Test",
            "-keyout",
            "signer.key",
            "-out",
            "signer.csr",
        ],
    );
    let start = time::OffsetDateTime::now_utc() - time::Duration::days(10);
    let start = format!(
        "{:04}{:02}{:02}000000Z",
        start.year(),
        u8::from(start.month()),
        start.day()
    );
    crate::tsa_server::openssl(
        dir,
        &[
            "ca",
            "-batch",
            "-notext",
            "-config",
            "ca.cnf",
            "-cert",
            "root.pem",
            "-keyfile",
            "root.key",
            "-in",
            "signer.csr",
            "-out",
            "signer.pem",
            "-extensions",
            "signer",
            "-startdate",
            &start,
            "-days",
            "365",
        ],
    );
    format!(
        "signing:\n  certificate: {}\n  key: {}\n  chain: [{}]\n{extra}",
        dir.join("signer.pem").display(),
        dir.join("signer.key").display(),
        dir.join("root.pem").display()
    )
}

/// Revokes signer.pem with the revocation time `at` and writes crl.pem.
pub(crate) fn revoke_signer(dir: &Path, at: time::OffsetDateTime) -> PathBuf {
    let revoked = std::fs::read_to_string(dir.join("index.txt"))
        .unwrap()
        .lines()
        .any(|l| l.starts_with("R\t") && l.contains("Scanstelle"));
    if !revoked {
        crate::tsa_server::openssl(
            dir,
            &[
                "ca",
                "-config",
                "ca.cnf",
                "-cert",
                "root.pem",
                "-keyfile",
                "root.key",
                "-revoke",
                "signer.pem",
            ],
        );
    }
    // openssl records "now" as the revocation time; the test sets its own.
    let stamp = format!(
        "{:02}{:02}{:02}{:02}{:02}{:02}Z",
        at.year() % 100,
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    let index = std::fs::read_to_string(dir.join("index.txt")).unwrap();
    let index: String = index
        .lines()
        .map(|l| {
            let mut f: Vec<&str> = l.split('\t').collect();
            if f[0] == "R" && l.contains("Scanstelle") {
                f[2] = &stamp;
            }
            f.join("\t") + "\n"
        })
        .collect();
    std::fs::write(dir.join("index.txt"), index).unwrap();
    crate::tsa_server::openssl(
        dir,
        &[
            "ca", "-config", "ca.cnf", "-cert", "root.pem", "-keyfile", "root.key", "-gencrl",
            "-crldays", "30", "-out", "crl.pem",
        ],
    );
    dir.join("crl.pem")
}

pub(crate) fn verify(
    env: &TestEnv,
    store: &Path,
    args: &[&Path],
    crl: Option<&Path>,
) -> (i32, String) {
    let mut c = env.cmd();
    c.arg("verify").arg(store);
    for a in args {
        c.arg("--trust").arg(a);
    }
    if let Some(crl) = crl {
        c.arg("--crl").arg(crl);
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

pub(crate) fn profile_text(signing: &str, level: &str) -> String {
    std::fs::read_to_string(repo_path("profiles/demo.yaml"))
        .unwrap()
        .replace("signing:\n  demo: true\n", signing)
        .replace("integrity: normal", &format!("integrity: {level}"))
        // sehr_hoch inspects every document (the profile check refuses less).
        .replace("sample_percent: 5", "sample_percent: 100")
}

/// verify reports the time each timestamp proves, judges revocation at that time, and says
/// when a time is only claimed; sehr_hoch is accepted with a timestamp.
#[test]
fn verify_proves_the_time_and_judges_revocation_before_and_after_it() {
    let env = TestEnv::new();
    let tsa = TestTsa::start(&env.path("tsa"), TsaCert::Good);
    let dir = env.path("tsa");
    let signing = signer_section(&dir, &tsa.profile_section(10.0, 0));
    let b = batch(&env, "b", 1);

    // sehr_hoch without a timestamp: refused with that reason; with one: filed.
    let bare = env.write(
        "bare.yaml",
        profile_text(&signer_section_without_tsa(&signing), "sehr_hoch"),
    );
    let (code, out) = ingest(&env, &b, &bare, &env.path("store-bare"));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("no signing.timestamp"), "{out}");
    let p = env.write("p.yaml", profile_text(&signing, "sehr_hoch"));
    let store = env.path("store");
    let (code, out) = ingest(&env, &b, &p, &store);
    assert_eq!(code, 0, "{out}");

    // Trusting signer and TSA root (the same root here): valid, with the proven time.
    let root = dir.join("root.pem");
    let (code, out) = verify(&env, &store, &[&root], None);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("timestamp: 20"), "{out}");
    assert!(out.contains("by CN=Test TSA"), "{out}");

    // Revoked an hour after the timestamp: still valid, with a note.
    let later = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    let crl = revoke_signer(&dir, later);
    let (code, out) = verify(&env, &store, &[&root], Some(&crl));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("after the time proven by the timestamp"),
        "{out}"
    );

    // The same revocation dated two days before the timestamp: invalid.
    let earlier = time::OffsetDateTime::now_utc() - time::Duration::days(2);
    let crl = revoke_signer(&dir, earlier);
    let (code, out) = verify(&env, &store, &[&root], Some(&crl));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("INVALID"), "{out}");
    assert!(
        out.contains("before the time proven by the timestamp"),
        "{out}"
    );

    // Without a timestamp (hoch, no TSA), the same revocation is judged at /M and the report
    // says the time is only claimed.
    let hoch = env.write(
        "hoch.yaml",
        profile_text(&signer_section_without_tsa(&signing), "hoch"),
    );
    let store2 = env.path("store2");
    let (code, out) = ingest(&env, &b, &hoch, &store2);
    assert_eq!(code, 0, "{out}");
    let (code, out) = verify(&env, &store2, &[&root], Some(&crl));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("before the claimed signing time"), "{out}");
    assert!(out.contains("only claimed"), "{out}");

    // An unreadable CRL file: a clear error naming it.
    let (code, out) = verify(&env, &store, &[&root], Some(&env.path("nope.crl")));
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("nope.crl") && out.contains("cannot read"),
        "{out}"
    );

    // Without the TSA root trusted (another root only): untrusted, never valid.
    let other = env.path("other");
    crate::tsa_server::make_pki(&other, TsaCert::Good);
    let (code, out) = verify(&env, &store, &[&other.join("root.pem")], None);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("UNTRUSTED"), "{out}");
}

fn signer_section_without_tsa(signing: &str) -> String {
    signing.split("  timestamp:").next().unwrap().to_string()
}

/// pyHanko (from PyPI, in the venv scripts/install-deps.sh makes), an independent validator,
/// finds the B-T PDF intact, trusted and timestamped by a trusted TSA.
#[test]
fn pyhanko_finds_the_pdf_intact_trusted_and_timestamped() {
    let python = repo_path(".venv-tools/bin/python");
    assert!(
        python.is_file(),
        "pyHanko's venv is missing: run scripts/install-deps.sh"
    );
    let env = TestEnv::new();
    let tsa = TestTsa::start(&env.path("tsa"), TsaCert::Good);
    let profile = profile_with(&env, "p", &tsa.profile_section(10.0, 0));
    let b = batch(&env, "b", 1);
    let store = env.path("store");
    let (code, out) = ingest(&env, &b, &profile, &store);
    assert_eq!(code, 0, "{out}");
    let pdf = files(&store, ".pdf").remove(0);
    let demo = store.join(".resiscan/demo-identity/cert.pem");
    let run = |roots: &[&Path]| {
        let out = Command::new(&python)
            .arg(repo_path("tests/tools/pyhanko_validate.py"))
            .arg(&pdf)
            .args(roots)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    };
    let text = run(&[&demo, &tsa.root]);
    assert!(
        text.starts_with(
            "intact=True valid=True trusted=True timestamp=True timestamp_trusted=True"
        ),
        "{text}"
    );
    let (code, v) = verify(&env, &store, &[&demo, &tsa.root], None);
    assert_eq!(code, 0, "{v}");
    // Without the TSA's root, pyHanko does not trust the timestamp.
    let text = run(&[&demo]);
    assert!(text.contains("timestamp_trusted=False"), "{text}");
}

/// The QA addendum's signature is timestamped too; with the TSA down, `qa record` fails with
/// the URL and reason and writes no addendum.
#[test]
fn the_qa_addendum_is_timestamped_and_not_written_when_the_tsa_is_down() {
    let env = TestEnv::new();
    let tsa = TestTsa::start(&env.path("tsa"), TsaCert::Good);
    let profile = profile_with(&env, "p", &tsa.profile_section(1.0, 0));
    let b = batch(&env, "b", 1);
    let store = env.path("store");
    let (code, out) = ingest(&env, &b, &profile, &store);
    assert_eq!(code, 0, "{out}");
    let batch_id = std::fs::read_dir(store.join("_batches"))
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .file_name()
        .to_string_lossy()
        .into_owned();
    let out = env
        .cmd()
        .args(["qa", "sample", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sel: serde_json::Value = serde_json::from_slice(
        &std::fs::read(store.join(format!("_batches/{batch_id}/qa-selection.json"))).unwrap(),
    )
    .unwrap();
    let doc = sel["documents"][0]["id"].as_str().unwrap().to_string();
    let record = || {
        let out = env
            .cmd()
            .args(["qa", "record", "--store"])
            .arg(&store)
            .args([
                "--batch",
                &batch_id,
                "--doc",
                &doc,
                "--ok",
                "--inspector",
                "anna",
            ])
            .arg("--profile")
            .arg(&profile)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let addendum = store.join(format!("_batches/{batch_id}/qa-addendum.yaml"));
    tsa.set_mode(Mode::HttpError);
    let (code, err) = record();
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&tsa.url) && err.contains("HTTP status 500"),
        "{err}"
    );
    assert!(
        !addendum.exists(),
        "an addendum was written without its timestamp"
    );

    tsa.set_mode(Mode::Ok);
    let (code, err) = record();
    assert_eq!(code, 0, "{err}");
    let p7s = PathBuf::from(format!("{}.p7s", addendum.display()));
    let (ok, text) = openssl_ts_verifies(&p7s, &addendum, &tsa.root, env.dir.path());
    assert!(ok, "{text}");
}

/// The TSA fails at the batch note, after the documents: exit 1 naming the TSA, the batch
/// unfinished; the same command writes the note.
#[test]
fn a_tsa_failing_at_the_batch_note_leaves_the_batch_unfinished_and_the_rerun_finishes() {
    let env = TestEnv::new();
    let tsa = TestTsa::start(&env.path("tsa"), TsaCert::Good);
    let b = batch(&env, "b", 1);
    let store = env.path("store");
    let profile = profile_with(&env, "p", &tsa.profile_section(5.0, 0));
    // The probe, the run-start link of the store's chain, the PDF, the document's note; then
    // the batch note fails.
    tsa.fail_after(4, Mode::HttpError);
    let (code, out) = ingest(&env, &b, &profile, &store);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&tsa.url) && out.contains("HTTP status 500"),
        "{out}"
    );
    let demo = store.join(".resiscan/demo-identity/cert.pem");
    // PENDING is not a failure (verify's design): what was filed is valid and stamped.
    let (_, v) = verify(&env, &store, &[&demo, &tsa.root], None);
    assert!(v.contains("PENDING") && v.contains("1 pending"), "{v}");
    assert!(v.contains("timestamp: 20"), "{v}");
    tsa.set_mode(Mode::Ok);
    let (code, out) = ingest(&env, &b, &profile, &store);
    assert_eq!(code, 0, "{out}");
    let (code, v) = verify(&env, &store, &[&demo, &tsa.root], None);
    assert_eq!(code, 0, "{v}");
}
