//! PAdES B-LT (SPEC §7, issue #16): with `signing.revocation: embed` every PDF gets a DSS
//! (signer and TSA chains, the profile's CRLs) appended after its signature; `verify` accepts
//! that update and uses the embedded CRLs, still refuses any other update, and pyHanko —
//! given only the trust roots and what the PDF carries, with required revocation info checking —
//! finds the PDF intact, trusted and timestamped. Bad CRL files stop at profile load.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::testenv::{TestEnv, pdfa_check, repo_path};
use crate::tsa::{batch, files, ingest, profile_text, revoke_signer, signer_section, verify};
use crate::tsa_server::{TestTsa, TsaCert};

/// A current CRL of the test root in `dir` (whatever index.txt says is revoked) at `name`.
pub(crate) fn gen_crl(dir: &Path, name: &str) -> PathBuf {
    crate::tsa_server::openssl(
        dir,
        &[
            "ca", "-config", "ca.cnf", "-cert", "root.pem", "-keyfile", "root.key", "-gencrl",
            "-crldays", "30", "-out", name,
        ],
    );
    dir.join(name)
}

/// pyHanko's verdict (tests/tools/pyhanko_validate.py), its first two lines and details.
pub(crate) fn pyhanko(pdf: &Path, ltv: bool, roots: &[&Path]) -> String {
    let python = repo_path(".venv-tools/bin/python");
    assert!(
        python.is_file(),
        "pyHanko's venv is missing: run scripts/install-deps.sh"
    );
    let mut c = Command::new(&python);
    c.arg(repo_path("tests/tools/pyhanko_validate.py"));
    if ltv {
        c.arg("--ltv");
    }
    let out = c.arg(pdf).args(roots).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

pub(crate) fn ltv_section(tsa: &TestTsa, crls: &[&Path]) -> String {
    let list: Vec<String> = crls.iter().map(|c| c.display().to_string()).collect();
    format!(
        "{}  revocation: embed\n  crls: [{}]\n",
        tsa.profile_section(10.0, 0),
        list.join(", ")
    )
}

pub(crate) fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

/// The end of the first revision (what the signature covers): just past its `%%EOF` line.
fn first_revision(pdf: &[u8]) -> usize {
    let at = pdf.windows(5).position(|w| w == b"%%EOF").unwrap() + 5;
    at + pdf[at..]
        .iter()
        .take_while(|b| **b == b'\n' || **b == b'\r')
        .count()
}

#[test]
fn b_lt_embeds_chains_and_crls_and_verify_and_pyhanko_need_nothing_else() {
    let env = TestEnv::new();
    let tsa = TestTsa::start(&env.path("tsa"), TsaCert::Good);
    let dir = env.path("tsa");
    let signing = signer_section(&dir, "");
    let crl = gen_crl(&dir, "good.crl");
    let signing = signing + &ltv_section(&tsa, &[&crl]);
    let profile = env.write("p.yaml", profile_text(&signing, "hoch"));
    let b = batch(&env, "b", 1);
    let store = env.path("store");
    let (code, out) = ingest(&env, &b, &profile, &store);
    assert_eq!(code, 0, "{out}");
    let pdf = files(&store, ".pdf").remove(0);
    let bytes = std::fs::read(&pdf).unwrap();
    // Two revisions: the signed one and the DSS update after it.
    assert_eq!(count(&bytes, b"%%EOF"), 2);
    assert_eq!(count(&bytes, b"/Type /DSS"), 1);
    let signed_len = first_revision(&bytes);
    assert!(signed_len < bytes.len());

    // profile check says what the PDFs will be.
    let out = env
        .cmd()
        .args(["profile", "check"])
        .arg(&profile)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("PAdES B-LT (signature timestamp, a DSS"),
        "{text}"
    );

    // Our verify: valid and trusted, the update named, the whole store consistent.
    let root = dir.join("root.pem");
    let (code, v) = verify(&env, &store, &[&root], None);
    assert_eq!(code, 0, "{v}");
    assert!(v.contains("DSS with"), "{v}");
    assert!(v.contains("1 CRL(s)"), "{v}");

    // The outside checks: qpdf reads both revisions; still PDF/A-2b.
    let q = Command::new("qpdf")
        .arg("--check")
        .arg(&pdf)
        .output()
        .unwrap();
    assert!(q.status.success(), "{}", String::from_utf8_lossy(&q.stdout));
    match pdfa_check(&pdf) {
        Some(out) => assert!(
            out.contains(" OK\n"),
            "B-LT PDF fails PDF/A-2b checks: {out}"
        ),
        None => eprintln!("pdfa_check.py or pikepdf missing: outside PDF/A check skipped"),
    }

    // pyHanko with required revocation info and only the DSS: intact, trusted, timestamped, the
    // update judged a permitted long-term-validation update.
    let text = pyhanko(&pdf, true, &[&root]);
    assert!(
        text.starts_with(
            "intact=True valid=True trusted=True timestamp=True timestamp_trusted=True"
        ),
        "{text}"
    );
    assert!(text.contains("revoked=False"), "{text}");
    assert!(text.contains("dss_crls=1"), "{text}");
    assert!(text.contains("modification=LTA_UPDATES"), "{text}");
    // The same signature without the DSS (the signed revision alone, i.e. B-T): with
    // required revocation info and nothing to fetch, pyHanko cannot trust it — the DSS is what
    // made it trusted.
    let bt = env.write("bt.pdf", &bytes[..signed_len]);
    let text = pyhanko(&bt, true, &[&root]);
    assert!(text.contains("trusted=False"), "{text}");

    // The signer revoked (dated before the timestamp), and a DSS update bringing that CRL:
    // verify finds it in the PDF alone and says INVALID; pyHanko reports it revoked.
    let earlier = time::OffsetDateTime::now_utc() - time::Duration::days(2);
    let revoked_crl = revoke_signer(&dir, earlier);
    let revoked_pdf = env.path("revoked.pdf");
    std::fs::copy(&pdf, &revoked_pdf).unwrap();
    let der = resiscan::crypto::crl::read_crl(&revoked_crl).unwrap().der;
    let mut f = std::fs::File::options()
        .read(true)
        .write(true)
        .open(&revoked_pdf)
        .unwrap();
    resiscan::pdf::update::append_dss(
        &mut f,
        &resiscan::pdf::update::Dss {
            certs: Vec::new(),
            crls: vec![der],
        },
    )
    .unwrap();
    drop(f);
    let out = env
        .cmd()
        .arg("verify")
        .arg(&revoked_pdf)
        .arg("--trust")
        .arg(&root)
        .output()
        .unwrap();
    let v = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{v}");
    assert!(v.contains("INVALID"), "{v}");
    assert!(v.contains("embedded in the PDF's DSS"), "{v}");
    let text = pyhanko(&revoked_pdf, true, &[&root]);
    assert!(text.contains("revoked=True"), "{text}");
    assert!(text.contains("trusted=False"), "{text}");
}

#[test]
fn updates_beyond_the_dss_are_still_reported_as_modifications() {
    let env = TestEnv::new();
    let tsa = TestTsa::start(&env.path("tsa"), TsaCert::Good);
    let dir = env.path("tsa");
    let crl = gen_crl(&dir, "good.crl");
    let signing = signer_section(&dir, "") + &ltv_section(&tsa, &[&crl]);
    let profile = env.write("p.yaml", profile_text(&signing, "hoch"));
    let b = batch(&env, "b", 1);
    let store = env.path("store");
    let (code, out) = ingest(&env, &b, &profile, &store);
    assert_eq!(code, 0, "{out}");
    let pdf = files(&store, ".pdf").remove(0);
    let bytes = std::fs::read(&pdf).unwrap();
    // An update after the DSS, chained correctly, that adds a JavaScript action and a
    // catalog opening with it: what a forger would append.
    let changed = env.path("changed.pdf");
    let text = String::from_utf8_lossy(&bytes);
    let startxref: u64 = text
        .rsplit("startxref")
        .next()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let size: u64 = text
        .rsplit("/Size ")
        .next()
        .unwrap()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let js_at = bytes.len();
    let mut extra =
        format!("{size} 0 obj\n<< /S /JavaScript /JS (app.alert(1)) >>\nendobj\n").into_bytes();
    let cat_at = js_at + extra.len();
    extra.extend(
        format!("1 0 obj\n<< /Type /Catalog /Pages 2 0 R /OpenAction {size} 0 R >>\nendobj\n")
            .into_bytes(),
    );
    let xref = js_at + extra.len();
    extra.extend(
        format!(
            "xref\n1 1\n{cat_at:010} 00000 n\r\n{size} 1\n{js_at:010} 00000 n\r\ntrailer\n\
             << /Size {} /Root 1 0 R /Prev {startxref} >>\nstartxref\n{xref}\n%%EOF\n",
            size + 1
        )
        .into_bytes(),
    );
    let mut all = bytes.clone();
    all.extend(extra);
    std::fs::write(&changed, all).unwrap();
    let out = env
        .cmd()
        .arg("verify")
        .arg(&changed)
        .arg("--trust")
        .arg(dir.join("root.pem"))
        .output()
        .unwrap();
    let v = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{v}");
    assert!(v.contains("modified after signing"), "{v}");
}

#[test]
fn bad_crl_files_are_refused_at_profile_load_naming_the_file() {
    let env = TestEnv::new();
    let tsa = TestTsa::start(&env.path("tsa"), TsaCert::Good);
    let dir = env.path("tsa");
    let signing = signer_section(&dir, "");
    let check = |name: &str, section: &str| {
        let profile = env.write(
            &format!("{name}.yaml"),
            profile_text(&(signing.clone() + section), "hoch"),
        );
        let out = env
            .cmd()
            .args(["profile", "check"])
            .arg(&profile)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code(), text, profile)
    };
    // Missing file.
    let missing = env.path("missing.crl");
    let (code, text, profile) = check("missing", &ltv_section(&tsa, &[&missing]));
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("missing.crl") && text.contains("cannot read"),
        "{text}"
    );
    // Ingest refuses the same profile before filing anything.
    let b = batch(&env, "b", 1);
    let store = env.path("store");
    let (code, out) = ingest(&env, &b, &profile, &store);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("missing.crl"), "{out}");
    assert!(files(&store, ".pdf").is_empty());

    // Not a CRL.
    let junk = env.write("junk.crl", "not a CRL");
    let (code, text, _) = check("junk", &ltv_section(&tsa, &[&junk]));
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("junk.crl") && text.contains("not a certificate revocation list"),
        "{text}"
    );
    // A CRL of another CA.
    let other = env.path("other");
    crate::tsa_server::make_pki(&other, TsaCert::Good);
    let foreign = gen_crl(&other, "foreign.crl");
    let (code, text, _) = check("foreign", &ltv_section(&tsa, &[&foreign]));
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("foreign.crl") && text.contains("does not match the chain"),
        "{text}"
    );
    // A CRL that revokes the signer itself.
    let revoked = revoke_signer(
        &dir,
        time::OffsetDateTime::now_utc() - time::Duration::days(1),
    );
    let (code, text, _) = check("revoked", &ltv_section(&tsa, &[&revoked]));
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("revokes the signing certificate itself"),
        "{text}"
    );
    // CRLs without `revocation: embed`, and embed without CRLs.
    let (code, text, _) = check(
        "noembed",
        &format!(
            "{}  crls: [{}]\n",
            tsa.profile_section(10.0, 0),
            revoked.display()
        ),
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("signing.revocation is not embed"), "{text}");
    let (code, text, _) = check(
        "nocrls",
        &format!("{}  revocation: embed\n", tsa.profile_section(10.0, 0)),
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("needs the CRLs to embed"), "{text}");
    // embed without a TSA: B-LT rests on B-T.
    let crl = gen_crl(&dir, "plain.crl");
    let (code, text, _) = check(
        "notsa",
        &format!("  revocation: embed\n  crls: [{}]\n", crl.display()),
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("rests on a signature timestamp"), "{text}");
}

/// The PDF half of PAdES B-LTA, through the library (`renew` does this for a whole store): a DSS
/// refresh and a document timestamp appended to a B-LT PDF. Our verify accepts both updates
/// and checks the document timestamp; pyHanko finds the signature still intact and trusted
/// (the updates judged LTA_UPDATES) and the document timestamp intact and trusted. A byte
/// changed in what only the document timestamp covers breaks it.
#[test]
fn a_document_timestamp_after_the_dss_is_accepted_and_checked_by_verify_and_pyhanko() {
    let env = TestEnv::new();
    let tsa = TestTsa::start(&env.path("tsa"), TsaCert::Good);
    let dir = env.path("tsa");
    let crl = gen_crl(&dir, "good.crl");
    let signing = signer_section(&dir, "") + &ltv_section(&tsa, &[&crl]);
    let profile = env.write("p.yaml", profile_text(&signing, "hoch"));
    let b = batch(&env, "b", 1);
    let store = env.path("store");
    let (code, out) = ingest(&env, &b, &profile, &store);
    assert_eq!(code, 0, "{out}");
    let filed = files(&store, ".pdf").remove(0);
    // A copy under the same name (verify holds a PDF's name against the document it is).
    let pdf = env.mkdir("lta").join(filed.file_name().unwrap());
    std::fs::copy(&filed, &pdf).unwrap();
    let root = dir.join("root.pem");
    let client = resiscan::crypto::tsp::Tsa::new(resiscan::crypto::tsp::TsaConfig {
        url: tsa.url.clone(),
        trust_path: root.clone(),
        trust: vec![
            x509_parser::pem::parse_x509_pem(&std::fs::read(&root).unwrap())
                .unwrap()
                .1
                .contents,
        ],
        timeout: std::time::Duration::from_secs(10),
        retries: 0,
    });
    let mut f = std::fs::File::options()
        .read(true)
        .write(true)
        .open(&pdf)
        .unwrap();
    let fresh = resiscan::crypto::crl::read_crl(&gen_crl(&dir, "fresh.crl"))
        .unwrap()
        .der;
    resiscan::pdf::update::append_dss(
        &mut f,
        &resiscan::pdf::update::Dss {
            certs: Vec::new(),
            crls: vec![fresh],
        },
    )
    .unwrap();
    let added = resiscan::pdf::update::append_doc_timestamp(&mut f, &client).unwrap();
    assert!(added > 0);
    drop(f);
    let bytes = std::fs::read(&pdf).unwrap();
    assert_eq!(count(&bytes, b"%%EOF"), 4);
    assert_eq!(count(&bytes, b"/Type /DocTimeStamp"), 1);

    let verify_file = |p: &Path| {
        let out = env
            .cmd()
            .arg("verify")
            .arg(p)
            .arg("--trust")
            .arg(&root)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (code, v) = verify_file(&pdf);
    assert_eq!(code, Some(0), "{v}");
    assert!(v.contains("document timestamp 1: 20"), "{v}");
    assert!(v.contains("1 document timestamp(s)"), "{v}");
    assert!(v.contains("timestamp: 20"), "{v}");
    let q = Command::new("qpdf")
        .arg("--check")
        .arg(&pdf)
        .output()
        .unwrap();
    assert!(q.status.success(), "{}", String::from_utf8_lossy(&q.stdout));
    match pdfa_check(&pdf) {
        Some(out) => assert!(
            out.contains(" OK\n"),
            "B-LTA PDF fails PDF/A-2b checks: {out}"
        ),
        None => eprintln!("pdfa_check.py or pikepdf missing: outside PDF/A check skipped"),
    }

    let text = pyhanko(&pdf, true, &[&root]);
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

    // One byte changed inside the DSS refresh, which only the document timestamp covers: in
    // the signature bits at the end of the fresh CRL's stream, so the file still parses and
    // the CRL still reads — only the document timestamp's imprint can tell.
    let mut bad = bytes.clone();
    let needle = b"/Type /DSS";
    let dss: Vec<usize> = (0..bytes.len() - needle.len())
        .filter(|&i| &bytes[i..i + needle.len()] == needle)
        .collect();
    assert_eq!(dss.len(), 2);
    let end = bytes[..dss[1]]
        .windows(10)
        .rposition(|w| w == b"\nendstream")
        .unwrap();
    bad[end - 3] ^= 0x01;
    let tampered = env.mkdir("tampered").join(filed.file_name().unwrap());
    std::fs::write(&tampered, &bad).unwrap();
    let (code, v) = verify_file(&tampered);
    assert_eq!(code, Some(1), "{v}");
    assert!(v.contains("INVALID"), "{v}");
    assert!(v.contains("document timestamp 1 invalid"), "{v}");
}
