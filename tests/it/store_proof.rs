//! Issue #15: the store proves its own completeness (SPEC §8). Each test tampers with a store
//! built by the real `ingest` the way the issue's table did (D1–D9), then runs the real
//! `verify` (or `ingest` again) and asserts the exit code and the finding's text. On the code
//! before #15 every `verify` here exited 0 and every `ingest` here stopped or misfiled.

use crate::testenv;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use testenv::{TestEnv, enforcement_letter, render_letter, repo_path};

/// A store with two batches (`n1`, `n2`) of two enforcement letters each, built once by the
/// demo profile; each test works on its own copy.
fn base_store() -> &'static Path {
    static BASE: OnceLock<PathBuf> = OnceLock::new();
    BASE.get_or_init(|| {
        let env = Box::leak(Box::new(TestEnv::new()));
        for (batch, first) in [("n1", 101), ("n2", 201)] {
            for i in 0..2 {
                render_letter(
                    &env.path(&format!("{batch}/{:04}.png", i + 1)),
                    &enforcement_letter(&format!("VB-2026-00{}", first + i)),
                    &[],
                );
            }
        }
        let store = env.path("store");
        for batch in ["n1", "n2"] {
            let (code, r) = env.ingest_demo(&env.path(batch));
            assert_eq!(code, 0, "{}", r.stderr);
        }
        store
    })
}

/// A copy of the base store's batch folder `name` in `env`: the same files, so a re-run is
/// the same paper.
fn copied_batch(env: &TestEnv, name: &str) -> PathBuf {
    let to = env.path(name);
    let ok = std::process::Command::new("cp")
        .arg("-a")
        .arg(base_store().with_file_name(name))
        .arg(&to)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    to
}

/// A copy of the base store in `env` (`<env>/store`).
fn copied_store(env: &TestEnv) -> PathBuf {
    let to = env.path("store");
    let ok = std::process::Command::new("cp")
        .arg("-a")
        .arg(base_store())
        .arg(&to)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    to
}

fn verify(env: &TestEnv, store: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let out = env
        .cmd()
        .arg("verify")
        .arg(store)
        .arg("--trust")
        .arg(store.join(".resiscan/demo-identity/cert.pem"))
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The files of every PDF of the store, by file name.
fn pdfs(store: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walk(store)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "pdf"))
        .collect();
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn remove_document(pdf: &Path) {
    let stem = pdf.file_stem().unwrap().to_string_lossy().into_owned();
    for ext in ["pdf", "transfer.yaml", "transfer.yaml.p7s", "meta.json"] {
        std::fs::remove_file(pdf.with_file_name(format!("{stem}.{ext}"))).unwrap();
    }
}

fn line_of<'a>(out: &'a str, needle: &str) -> &'a str {
    out.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{out}"))
}

#[test]
fn a_clean_store_verifies_and_ingest_prints_its_signed_head() {
    let env = TestEnv::new();
    let store = copied_store(&env);
    let (code, out) = verify(&env, &store, &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        line_of(&out, "_chain").contains("signed links, head"),
        "{out}"
    );

    // A re-run prints the new head in its JSON summary and on stderr: the newest link's hash.
    let batch = copied_batch(&env, "n1");
    let run = env
        .cmd()
        .arg("ingest")
        .arg(&batch)
        .arg("--profile")
        .arg(repo_path("profiles/demo.yaml"))
        .arg("--store")
        .arg(&store)
        .arg("--json")
        .output()
        .unwrap();
    let summary: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let head = summary["store_head"].as_str().unwrap().to_string();
    let mut links: Vec<PathBuf> = std::fs::read_dir(store.join("_chain"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    links.sort();
    assert_eq!(head, sha256(links.last().unwrap()));
    assert!(String::from_utf8_lossy(&run.stderr).contains(&format!("store head: {head}")));
    let (code, out) = verify(&env, &store, &["--head", &head]);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn d1_a_forged_marker_excuses_nothing_and_every_change_is_found() {
    let env = TestEnv::new();
    let store = copied_store(&env);
    let b1 = store.join("_batches/n1");
    std::fs::write(b1.join("in-progress.json"), "{}").unwrap();
    std::fs::remove_file(b1.join("transfer-note.yaml")).unwrap();
    std::fs::remove_file(b1.join("transfer-note.yaml.p7s")).unwrap();
    let docs = pdfs(&store);
    remove_document(&docs[0]);
    let forged = docs[1].with_file_name("n1_0099.pdf");
    std::fs::write(&forged, "%PDF forged").unwrap();

    let (code, out) = verify(&env, &store, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        line_of(&out, "_batches/n1 ").contains("in-progress marker no signed record accounts for"),
        "{out}"
    );
    assert!(!out.contains("PENDING"), "nothing is excused:\n{out}");
    assert!(
        line_of(&out, "_batches/n1/transfer-note.yaml ").contains("missing: signed chain link"),
        "{out}"
    );
    assert!(
        line_of(&out, &docs[0].display().to_string()).contains("missing"),
        "{out}"
    );
    assert!(
        line_of(&out, "n1_0099.pdf").contains("not accounted for"),
        "{out}"
    );
}

#[test]
fn d1b_an_unknown_batch_with_a_garbage_marker_is_a_finding() {
    let env = TestEnv::new();
    let store = copied_store(&env);
    std::fs::create_dir_all(store.join("_batches/zz")).unwrap();
    std::fs::write(store.join("_batches/zz/in-progress.json"), "garbage").unwrap();
    let folder = pdfs(&store)[0].parent().unwrap().to_path_buf();
    std::fs::write(folder.join("zz_1.pdf"), "%PDF forged").unwrap();
    let (code, out) = verify(&env, &store, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(!out.contains("PENDING"), "{out}");
    assert!(
        line_of(&out, "_batches/zz ").contains("no signed record accounts for"),
        "{out}"
    );
    assert!(
        line_of(&out, "zz_1.pdf").contains("not accounted for"),
        "{out}"
    );
}

#[test]
fn d2_a_removed_batch_is_reported_and_so_are_its_index_rows() {
    let env = TestEnv::new();
    let store = copied_store(&env);
    std::fs::remove_dir_all(store.join("_batches/n2")).unwrap();
    for pdf in pdfs(&store) {
        if pdf
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("n2_")
        {
            remove_document(&pdf);
        }
    }
    let (code, out) = verify(&env, &store, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        line_of(&out, "_batches/n2 ").contains("batch n2 is gone"),
        "{out}"
    );
    assert!(
        line_of(&out, "index.sqlite").contains("no signed batch note lists this document"),
        "{out}"
    );
}

fn sql(store: &Path, statement: &str) {
    let conn = rusqlite::Connection::open(store.join("index.sqlite")).unwrap();
    let n = conn.execute(statement, []).unwrap();
    assert!(n > 0, "{statement} changed nothing");
}

#[test]
fn d3_index_and_meta_edits_are_found_and_reindex_restores_the_index() {
    let env = TestEnv::new();
    let store = copied_store(&env);
    let meta = pdfs(&store)[0].with_extension("meta.json");
    let text = std::fs::read_to_string(&meta).unwrap();
    let kept = text
        .split("\"retention_until\": \"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    std::fs::write(&meta, text.replace(&kept, "2027-01-01")).unwrap();
    sql(
        &store,
        "UPDATE documents SET retention_until = '2027-01-01' WHERE doc_id = 'n1_0002'",
    );
    sql(
        &store,
        "UPDATE documents SET pdf_path = 'x/y.pdf' WHERE doc_id = 'n2_0001'",
    );
    sql(&store, "DELETE FROM documents WHERE doc_id = 'n2_0002'");
    // A filed document made "unclassified", and its full text gone from the search.
    sql(
        &store,
        "UPDATE documents SET status = 'unclassified' WHERE doc_id = 'n1_0001'",
    );
    sql(&store, "DELETE FROM fulltext WHERE doc_id = 'n1_0001'");

    let (code, out) = verify(&env, &store, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        line_of(&out, &meta.display().to_string()).contains("changed: SHA-256"),
        "{out}"
    );
    let index = line_of(&out, "index.sqlite");
    assert!(
        index.contains(&format!(
            "row n1_0002: retention_until is 2027-01-01 in the index, {kept} in the signed batch note"
        )),
        "{out}"
    );
    assert!(index.contains("row n2_0001: pdf_path is x/y.pdf"), "{out}");
    assert!(
        index.contains("n2_0002: the signed batch note lists it as filed, the index has no row"),
        "{out}"
    );
    assert!(
        index.contains("row n1_0001: status Unclassified does not fit its e-file"),
        "{out}"
    );
    assert!(
        index.contains("row n1_0001: the index holds no full text for it"),
        "{out}"
    );

    // The index comes back from the signed notes alone, full text included.
    std::fs::write(&meta, text).unwrap();
    let out = env
        .cmd()
        .args(["store", "reindex"])
        .arg(&store)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("4 documents"));
    let (code, out) = verify(&env, &store, &[]);
    assert_eq!(code, Some(0), "{out}");
    let list = env
        .cmd()
        .args(["store", "list", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(line_of(&list, "n1_0002").contains(&kept), "{list}");
    let hits = env
        .cmd()
        .args(["store", "search", "--store"])
        .arg(&store)
        .arg("Ratenzahlung")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&hits.stdout).contains("n2_0002"),
        "the rebuilt index has the text"
    );
}

#[test]
fn d5_stray_upper_case_backup_and_extra_note_files_are_found() {
    let env = TestEnv::new();
    let store = copied_store(&env);
    let pdf = &pdfs(&store)[0];
    let folder = pdf.parent().unwrap();
    std::fs::copy(pdf, folder.join("Bescheid.PDF")).unwrap();
    std::fs::copy(pdf, folder.join("Zahlung.pdf.bak")).unwrap();
    std::fs::write(folder.join("extra.transfer.yaml"), "format: x\n").unwrap();
    let (code, out) = verify(&env, &store, &[]);
    assert_eq!(code, Some(1), "{out}");
    for name in ["Bescheid.PDF", "Zahlung.pdf.bak", "extra.transfer.yaml"] {
        assert!(line_of(&out, name).contains("not accounted for"), "{out}");
    }
}

#[test]
fn d7_a_pdf_copied_over_another_is_not_that_document() {
    let env = TestEnv::new();
    let store = copied_store(&env);
    let docs = pdfs(&store);
    let (first, second) = (&docs[0], &docs[1]);
    std::fs::copy(second, first).unwrap();
    let out = env
        .cmd()
        .arg("verify")
        .arg(first)
        .arg("--trust")
        .arg(store.join(".resiscan/demo-identity/cert.pem"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let second_id = second.file_stem().unwrap().to_string_lossy();
    assert!(
        stdout.contains(&format!("the PDF is document {second_id}, not")),
        "{stdout}"
    );
    assert!(stdout.contains("differs from the note's"), "{stdout}");
    // The untouched one still verifies on its own.
    let out = env
        .cmd()
        .arg("verify")
        .arg(second)
        .arg("--trust")
        .arg(store.join(".resiscan/demo-identity/cert.pem"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn d9_a_lost_index_is_rebuilt_and_nothing_filed_is_written_again() {
    let env = TestEnv::new();
    let store = copied_store(&env);
    let before: Vec<(PathBuf, Vec<u8>)> = pdfs(&store)
        .into_iter()
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    std::fs::remove_file(store.join("index.sqlite")).unwrap();
    let batch = copied_batch(&env, "n1");
    let (code, r) = env.ingest(&batch, &repo_path("profiles/demo.yaml"), &store);
    assert!(
        r.stderr
            .contains("was missing: rebuilt from the signed notes (4 documents of 2 batches)"),
        "{}",
        r.stderr
    );
    assert_eq!(code, 0, "{}", r.stderr);
    for d in r.documents() {
        assert_eq!(d["fate"], "already_filed", "{d}");
    }
    for (p, b) in before {
        assert_eq!(
            std::fs::read(&p).unwrap(),
            b,
            "{} was rewritten",
            p.display()
        );
    }
    let (code, out) = verify(&env, &store, &[]);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn d9_a_filed_document_whose_files_are_gone_is_not_already_filed() {
    let env = TestEnv::new();
    let store = copied_store(&env);
    let gone = pdfs(&store)
        .into_iter()
        .find(|p| p.file_name().unwrap() == "n1_0001.pdf")
        .unwrap();
    remove_document(&gone);
    let batch = copied_batch(&env, "n1");
    let (code, r) = env.ingest(&batch, &repo_path("profiles/demo.yaml"), &store);
    assert_ne!(code, 0, "{}", r.stderr);
    let reason = r.quarantine_reason("0001");
    assert!(
        reason.contains("the store no longer holds its files") && reason.contains("n1_0001.pdf"),
        "{reason}"
    );
    assert_eq!(r.document("0002")["fate"], "already_filed");
    let note = std::fs::read_to_string(r.dir.join("transfer-note.yaml")).unwrap();
    assert!(!note.contains("fate: already_filed\n  pdf: 20"), "{note}");
    let (code, out) = verify(&env, &store, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(line_of(&out, "n1_0001.pdf").contains("missing"), "{out}");
}

#[test]
fn a_rollback_is_found_only_against_a_recorded_head() {
    let env = TestEnv::new();
    let store = copied_store(&env);
    let head = |store: &Path| {
        let chain = store.join("_chain");
        let mut links: Vec<PathBuf> = std::fs::read_dir(&chain)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        links.sort();
        links
    };
    let links = head(&store);
    // n2 was the second run: its run_start and batch links are the last two.
    assert!(links.len() >= 4, "{links:?}");
    let newest = sha256(links.last().unwrap());
    let (code, out) = verify(&env, &store, &["--head", &newest]);
    assert_eq!(code, Some(0), "{out}");

    // Roll back to the store as it was after n1: remove n2, its documents and its links.
    std::fs::remove_dir_all(store.join("_batches/n2")).unwrap();
    for pdf in pdfs(&store) {
        if pdf
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("n2_")
        {
            remove_document(&pdf);
        }
    }
    for link in &links[links.len() - 2..] {
        std::fs::remove_file(link).unwrap();
        let mut p7s = link.clone().into_os_string();
        p7s.push(".p7s");
        std::fs::remove_file(p7s).unwrap();
    }
    sql(&store, "DELETE FROM documents WHERE batch_id = 'n2'");
    // The limit: an earlier complete state verifies on its own …
    let (code, out) = verify(&env, &store, &[]);
    assert_eq!(code, Some(0), "{out}");
    // … and not against the head recorded after n2.
    let (code, out) = verify(&env, &store, &["--head", &newest]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        line_of(&out, "_chain").contains(&format!(
            "the recorded head {newest} is not in this store's chain"
        )),
        "{out}"
    );
}

fn sha256(path: &Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// A profile whose e-file folder is the raw Aktenzeichen, whatever OCR read: field values
/// then name folders directly (D4, D6).
fn raw_path_profile(env: &TestEnv) -> PathBuf {
    let demo = std::fs::read_to_string(repo_path("profiles/demo.yaml")).unwrap();
    let p = demo
        .replace(
            r"az: 'Aktenzeichen:?\s*(VB-\d{4}-\d{5})'",
            r"az: 'Aktenzeichen:?\s*(\S+)'",
        )
        .replace(
            "path: \"20 Stadtkasse/20.3 Vollstreckung/{az}\"",
            "path: \"{az}\"",
        );
    assert_ne!(p, demo);
    env.write("raw-path.yaml", p)
}

#[test]
fn d4_d6_a_field_value_naming_a_store_file_quarantines_only_that_document() {
    let env = TestEnv::new();
    let profile = raw_path_profile(&env);
    let batch = env.mkdir("night");
    render_letter(
        &batch.join("0001.png"),
        &enforcement_letter("index.sqlite"),
        &[],
    );
    render_letter(
        &batch.join("0002.png"),
        &enforcement_letter("Akte.pdf"),
        &[],
    );
    let second = env.mkdir("second");
    render_letter(
        &second.join("0001.png"),
        &enforcement_letter("VB-2026-00301"),
        &[],
    );
    let store = env.path("store");
    let out = env
        .cmd()
        .arg("ingest")
        .arg(&batch)
        .arg(&second)
        .arg("--profile")
        .arg(&profile)
        .arg("--store")
        .arg(&store)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(
        out.status.code(),
        Some(1),
        "the run must not stop:\n{stderr}"
    );
    assert!(!stderr.contains("ree space"), "{stderr}");
    let q = std::fs::read_to_string(store.join("_batches/night/quarantine.json")).unwrap();
    assert!(
        q.contains("has a folder 'index.sqlite', a name the store keeps for its own files"),
        "{q}"
    );
    assert!(!q.contains("ree space"), "{q}");
    // The other document and the second batch are filed and finished.
    assert!(store.join("Akte.pdf/night_0002.pdf").is_file());
    assert!(!store.join("_batches/second/in-progress.json").exists());
    assert!(store.join("_batches/second/transfer-note.yaml").is_file());
    // D6: a folder named like a PDF is no false alarm.
    let (code, out) = verify(&env, &store, &[]);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn d4_a_document_id_too_long_for_a_file_name_is_quarantined_not_the_run() {
    let env = TestEnv::new();
    let long_id = "b".repeat(120);
    let batch = env.mkdir("long");
    env.write("long/batch.yaml", format!("id: {long_id}\n"));
    render_letter(
        &batch.join(format!("{}.png", "e".repeat(240))),
        &enforcement_letter("VB-2026-00401"),
        &[],
    );
    render_letter(
        &batch.join("0002.png"),
        &enforcement_letter("VB-2026-00402"),
        &[],
    );
    let (code, r) = env.ingest_demo(&batch);
    assert_ne!(code, 1, "{}", r.stderr);
    let reason = r.quarantine_reason("eeee");
    assert!(reason.contains("too long for a file name"), "{reason}");
    assert!(!reason.contains("ree space"), "{reason}");
    assert_eq!(r.document("0002")["fate"], "filed");
    let (code, out) = verify(&env, &env.path("store"), &[]);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn d8_document_ids_stay_unique_across_batches() {
    let env = TestEnv::new();
    let c = env.mkdir("c");
    render_letter(
        &c.join("1_x.png"),
        &enforcement_letter("VB-2026-00501"),
        &[],
    );
    let c1 = env.mkdir("c_1");
    render_letter(&c1.join("x.png"), &enforcement_letter("VB-2026-00502"), &[]);
    let (code, r) = env.ingest_demo(&c);
    assert_eq!(code, 0, "{}", r.stderr);
    let (code, r) = env.ingest_demo(&c1);
    assert_eq!(code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("already in the store"), "{}", r.stderr);
    assert_eq!(r.document("x")["id"], "c_1~x");
    let (code, out) = verify(&env, &env.path("store"), &[]);
    assert_eq!(code, Some(0), "{out}");
}

/// `resiscan store adopt` on `store` with the demo profile: (exit code, stdout + stderr).
fn adopt(env: &TestEnv, store: &Path) -> (Option<i32>, String) {
    let out = env
        .cmd()
        .args(["store", "adopt", "--store"])
        .arg(store)
        .arg("--profile")
        .arg(repo_path("profiles/demo.yaml"))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn a_store_from_before_the_chain_is_adopted_only_when_every_batch_verifies() {
    let env = TestEnv::new();
    // A store as resiscan wrote it before the chain: the same files, no `_chain/`.
    let store = copied_store(&env);
    std::fs::remove_dir_all(store.join("_chain")).unwrap();
    let (code, out) = verify(&env, &store, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("no signed chain"), "{out}");

    // A damaged PDF: adoption refuses, names it, and writes no chain.
    let damaged = env.path("damaged");
    std::fs::create_dir_all(&damaged).unwrap();
    let ok = std::process::Command::new("cp")
        .arg("-a")
        .arg(&store)
        .arg(damaged.join("store"))
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let bad_store = damaged.join("store");
    let victim = pdfs(&bad_store)[0].clone();
    let mut bytes = std::fs::read(&victim).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x20;
    std::fs::write(&victim, bytes).unwrap();
    let (code, out) = adopt(&env, &bad_store);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("not adopted") && out.contains(victim.file_name().unwrap().to_str().unwrap()),
        "{out}"
    );
    assert!(!bad_store.join("_chain").exists(), "{out}");

    // The intact store: one link per batch, and verify holds it to them from now on.
    let (code, out) = adopt(&env, &store);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("adopted 2 batches"), "{out}");
    let head = out.split("store head: ").nth(1).unwrap().trim().to_string();
    let (code, out) = verify(&env, &store, &["--head", &head]);
    assert_eq!(code, Some(0), "{out}");
    let link: serde_json::Value =
        serde_json::from_slice(&std::fs::read(store.join("_chain/00000001.json")).unwrap())
            .unwrap();
    assert_eq!(link["event"], "adopt", "{link}");

    // Once is enough; and what was adopted is held like any other batch.
    let (code, out) = adopt(&env, &store);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("already has a signed chain"), "{out}");
    let doc = pdfs(&store)[0].clone();
    remove_document(&doc);
    let (code, out) = verify(&env, &store, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        line_of(&out, &doc.display().to_string()).contains("missing"),
        "{out}"
    );
}
