//! The nightly job end to end: real Tesseract, real signatures, real outside checkers.

use crate::testenv;

use testenv::{PRIVATE_LETTER, TestEnv, enforcement_letter, render_letter, repo_path};

fn tool_ok(tool: &str, args: &[&str], file: &std::path::Path) -> (bool, String) {
    let out = std::process::Command::new(tool)
        .args(args)
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("{tool} must be installed: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn letters_are_filed_signed_and_searchable_and_a_rerun_files_nothing_twice() {
    let env = TestEnv::new();
    let batch = env.mkdir("2026-11-24-post");
    render_letter(
        &batch.join("0001.png"),
        &enforcement_letter("VB-2026-00417"),
        &[],
    );
    render_letter(&batch.join("0002/1.png"), PRIVATE_LETTER, &[]);
    testenv::blank_page(&batch.join("0002/2.png"));
    render_letter(
        &batch.join("0003.tif"),
        &enforcement_letter("VB-2026-00999"),
        &["-monochrome", "-compress", "Group4"],
    );
    env.write(
        "2026-11-24-post/batch.yaml",
        "operator: ps-0417\nstation: Scanplatz 3\nexpected: {documents: 3}\nanomalies: {\"0002\": \"Seite 2 leer\"}\n",
    );
    let store = env.path("store");
    let (code, report) = env.ingest(&batch, &repo_path("profiles/demo.yaml"), &store);
    // 0002 matches no e-file: unclassified -> exit 3.
    assert_eq!(code, 3, "{}", report.stderr);
    assert_eq!(report.quarantined(), 0, "{}", report.quarantine);

    let d1 = report.document("0001");
    assert_eq!(d1["fate"], "filed", "{d1}");
    assert_eq!(d1["index_fields"]["az"], "VB-2026-00417", "{d1}");
    let pdf_rel = d1["pdf"].as_str().unwrap();
    assert!(
        pdf_rel.starts_with("20 Stadtkasse/20.3 Vollstreckung/VB-2026-00417/"),
        "{pdf_rel}"
    );
    let pdf = store.join(pdf_rel);

    // The outside world's tools agree: qpdf, pdfsig, pdftotext, openssl.
    let (ok, out) = tool_ok("qpdf", &["--check"], &pdf);
    assert!(ok, "{out}");
    match testenv::pdfa_check(&pdf) {
        Some(out) => assert!(
            out.contains(" OK\n"),
            "signed PDF fails PDF/A-2b checks: {out}"
        ),
        None => eprintln!("pdfa_check.py or pikepdf missing: outside PDF/A check skipped"),
    }
    let (_, out) = tool_ok("pdfsig", &[], &pdf);
    assert!(out.contains("Signature is Valid"), "{out}");
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&pdf)
        .arg("-")
        .output()
        .expect("pdftotext");
    let (ok, text) = (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    );
    assert!(
        ok && text.contains("VB-2026-00417") && text.contains("Pfändung"),
        "{text}"
    );
    let note = store.join(pdf_rel.replace(".pdf", ".transfer.yaml"));
    let out = testenv::openssl_cms_verify(&note, &note.with_extension("yaml.p7s"), None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let d2 = report.document("0002");
    assert_eq!(d2["fate"], "unclassified", "{d2}");
    assert_eq!(
        d2["dropped_pages"],
        serde_json::json!([2]),
        "blank back side dropped: {d2}"
    );
    assert_eq!(d2["anomaly"], "Seite 2 leer");
    assert!(
        d2["pdf"]
            .as_str()
            .unwrap()
            .starts_with("_Klaerung/2026-11-24-post/")
    );

    let d3 = report.document("0003");
    assert_eq!(d3["fate"], "filed", "{d3}");
    assert!(
        d3["pages"][0]["embedding"]
            .as_str()
            .unwrap()
            .contains("CCITT"),
        "{d3}"
    );

    // verify: valid mathematics everywhere; trusted once the demo certificate is given.
    env.cmd().arg("verify").arg(&store).assert().code(1);
    let (code, text) = env.verify_trusting_demo(&store);
    assert_eq!(code, Some(0), "{text}");

    // The same batch again: nothing filed twice.
    let (code2, report2) = env.ingest(&batch, &repo_path("profiles/demo.yaml"), &store);
    assert_eq!(code2, 3);
    assert_eq!(report2.document("0001")["fate"], "already_filed");
    assert_eq!(report2.document("0003")["fate"], "already_filed");
    let pdfs = walk_pdfs(&store);
    assert_eq!(pdfs.len(), 3, "{pdfs:?}");

    // The same paper in another batch: a duplicate, not filed again.
    let other = env.mkdir("2026-11-25-post");
    std::fs::copy(batch.join("0001.png"), other.join("a.png")).unwrap();
    let (code3, report3) = env.ingest(&other, &repo_path("profiles/demo.yaml"), &store);
    assert_eq!(code3, 0, "{}", report3.stderr);
    assert_eq!(report3.document("a")["fate"], "duplicate");
    assert_eq!(walk_pdfs(&store).len(), 3);
}

fn walk_pdfs(store: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![store.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                if !p.ends_with(".resiscan") {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|x| x == "pdf") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_tampered_pdf_makes_verify_fail_with_the_reason() {
    let env = TestEnv::new();
    let batch = env.mkdir("b");
    render_letter(
        &batch.join("0001.png"),
        &enforcement_letter("VB-2026-00001"),
        &[],
    );
    let store = env.path("store");
    let (code, report) = env.ingest(&batch, &repo_path("profiles/demo.yaml"), &store);
    assert_eq!(code, 0, "{}", report.stderr);
    let pdf = store.join(report.document("0001")["pdf"].as_str().unwrap());
    let mut bytes = std::fs::read(&pdf).unwrap();
    let i = bytes.len() / 3;
    bytes[i] ^= 0x01;
    std::fs::write(&pdf, bytes).unwrap();
    let (code, text) = env.verify_trusting_demo(&store);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("INVALID"), "{text}");
    assert!(
        text.contains("differs from the note") || text.contains("digest"),
        "{text}"
    );
}

#[test]
fn sehr_hoch_is_refused_for_want_of_a_qualified_timestamp() {
    let env = TestEnv::new();
    let batch = env.mkdir("b");
    let profile = std::fs::read_to_string(repo_path("profiles/demo.yaml"))
        .unwrap()
        .replace("integrity: normal", "integrity: sehr_hoch")
        .replace("  demo: true", "  certificate: c.pem\n  key: k.pem");
    env.write("c.pem", "x");
    env.write("k.pem", "x");
    let p = env.write("p.yaml", profile);
    let out = env
        .cmd()
        .arg("ingest")
        .arg(&batch)
        .arg("--profile")
        .arg(&p)
        .arg("--store")
        .arg(env.path("store"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("qualified timestamp"), "{err}");
}

fn run_json(
    env: &TestEnv,
    batches: &[&std::path::Path],
    extra: &[&str],
) -> (i32, serde_json::Value) {
    let out = env
        .cmd()
        .arg("ingest")
        .args(batches)
        .arg("--profile")
        .arg(repo_path("profiles/demo.yaml"))
        .arg("--store")
        .arg(env.path("store"))
        .arg("--json")
        .args(extra)
        .output()
        .expect("run resiscan");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}); stderr:\n{stderr}"));
    (out.status.code().unwrap_or(-1), json)
}

#[test]
fn the_same_batch_given_twice_is_processed_once_instead_of_failing_the_store() {
    let env = TestEnv::new();
    let batch = env.mkdir("b");
    render_letter(
        &batch.join("0001.png"),
        &enforcement_letter("VB-2026-00002"),
        &[],
    );
    let dotted = env.path("b/.");
    let (code, json) = run_json(&env, &[&batch, &batch, &dotted], &["--jobs", "2"]);
    assert_eq!(code, 0, "{json}");
    let batches = json["batches"].as_array().unwrap();
    assert_eq!(batches.len(), 1, "{json}");
    assert_eq!(batches[0]["filed"], 1);
    assert!(batches[0]["notices"].to_string().contains("processed once"));
}

#[test]
fn identical_scans_in_one_batch_are_filed_once_even_by_parallel_workers() {
    let env = TestEnv::new();
    let batch = env.mkdir("b");
    render_letter(
        &batch.join("1.png"),
        &enforcement_letter("VB-2026-00003"),
        &[],
    );
    for copy in ["2.png", "3.png"] {
        std::fs::copy(batch.join("1.png"), batch.join(copy)).unwrap();
    }
    let (code, json) = run_json(&env, &[&batch], &["--jobs", "3"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["batches"][0]["filed"], 1, "{json}");
    assert_eq!(json["batches"][0]["duplicates"], 2, "{json}");
}

#[test]
fn a_batch_id_used_again_for_other_paper_is_refused_and_the_filed_note_kept() {
    let env = TestEnv::new();
    let first = env.mkdir("montag");
    env.write("montag/batch.yaml", "id: poststelle-03\n");
    render_letter(
        &first.join("0001.png"),
        &enforcement_letter("VB-2026-00004"),
        &[],
    );
    let (code, _) = run_json(&env, &[&first], &[]);
    assert_eq!(code, 0);
    let note = env.path("store/_batches/poststelle-03/transfer-note.yaml");
    let before = std::fs::read(&note).unwrap();

    // Tuesday's batch, same id from a station that does not date its batches.
    let second = env.mkdir("dienstag");
    env.write("dienstag/batch.yaml", "id: poststelle-03\n");
    render_letter(
        &second.join("0001.png"),
        &enforcement_letter("VB-2026-00005"),
        &[],
    );
    let (code, json) = run_json(&env, &[&second], &[]);
    assert_eq!(code, 1, "{json}");
    let reason = json["failed_batches"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("already in the store for other paper"),
        "{reason}"
    );
    assert_eq!(
        std::fs::read(&note).unwrap(),
        before,
        "the filed batch note is untouched"
    );

    // The first batch again is still a clean re-run.
    let (code, json) = run_json(&env, &[&first], &[]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["batches"][0]["already_filed"], 1);
}

#[test]
fn scanner_leftovers_are_ignored_and_uppercase_extensions_and_odd_names_are_pages() {
    let env = TestEnv::new();
    let batch = env.mkdir("b");
    render_letter(
        &batch.join("Akte Müller/2.PNG"),
        &enforcement_letter("VB-2026-00006"),
        &[],
    );
    render_letter(
        &batch.join("Akte Müller/10.JPG"),
        "Seite zehn",
        &["-quality", "90"],
    );
    for side in [
        "Akte Müller/Thumbs.db",
        "Akte Müller/.DS_Store",
        "Akte Müller/job.xml",
        "Akte Müller/scan.pdf",
        "ticket.txt",
        "Thumbs.db",
    ] {
        env.write(&format!("b/{side}"), "x");
    }
    let (code, json) = run_json(&env, &[&batch], &[]);
    assert_eq!(code, 0, "{json}");
    let b = &json["batches"][0];
    assert_eq!(b["documents"], 1, "{json}");
    assert_eq!(b["filed"], 1, "{json}");
    assert_eq!(b["pages"], 2, "{json}");
    let notices = b["notices"].to_string();
    assert!(
        notices.contains("ticket.txt") && notices.contains("job.xml, scan.pdf"),
        "{notices}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.path("store/_batches/b/report.json")).unwrap())
            .unwrap();
    let sources: Vec<&str> = report["documents"][0]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        sources,
        ["Akte Müller/2.PNG", "Akte Müller/10.JPG"],
        "natural order"
    );
}
