//! Faults of the night (issue #6): a store that runs full mid-batch ends the run with exit 1
//! and a clear message, leaves no half file and a store `verify` accepts, and the same command
//! finishes the job once there is room again; a source file that changes or vanishes while it
//! is processed is quarantined, never half-filed. A store that turns read-only mid-batch ends
//! the same way as a full one.

use crate::testenv;

use std::path::Path;
use std::process::Command;

use testenv::{TestEnv, enforcement_letter, render_letter, repo_path};

/// Mounts a tmpfs of `size` at `dir`; `false` where this machine does not allow it (not root,
/// no mount capability) — the test then says so and checks nothing.
fn mount_tmpfs(dir: &Path, size: &str) -> bool {
    Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success())
}

struct Unmount<'a>(&'a Path);
impl Drop for Unmount<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0).status();
    }
}

#[test]
fn a_full_store_stops_the_run_with_exit_1_and_a_rerun_finishes_it() {
    let env = TestEnv::new();
    let batch = letter_batch(&env, "voll", 5, "VB-2026-0070");
    let store = env.mkdir("store");
    if !mount_tmpfs(&store, "400k") {
        eprintln!("cannot mount a tmpfs here (needs root); full-disk test skipped");
        return;
    }
    let _unmount = Unmount(&store);
    let out = demo_ingest(&env, &batch, &store).output().unwrap();
    let err = store_failure_message(&out);
    assert!(
        err.contains("No space left") || err.contains("full"),
        "{err}"
    );

    // No half file anywhere a person or the DMS looks.
    let leftovers: Vec<_> = walkdir(&store)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().contains(".tmp"))
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Before the re-run, the store is one `verify` accepts: the documents filed before the
    // disk ran full verify by their own notes, and the batch is reported as unfinished.
    let filed_before = pdfs(&store).len();
    verify_accepts_unfinished(&env, &store);
    // Every PDF that made it into the store is complete: its note and meta are beside it.
    for pdf in pdfs(&store) {
        for ext in ["transfer.yaml", "transfer.yaml.p7s", "meta.json"] {
            let name = format!("{}.{ext}", pdf.file_stem().unwrap().to_string_lossy());
            assert!(
                pdf.with_file_name(&name).exists(),
                "{name} missing beside {pdf:?}"
            );
        }
    }
    eprintln!("{filed_before} documents were filed before the store ran full");

    // Room again: the same command finishes the job and everything verifies.
    let grown = Command::new("mount")
        .args(["-o", "remount,size=20m"])
        .arg(&store)
        .status()
        .unwrap();
    assert!(grown.success());
    rerun_finishes(&env, &batch, &store, 5);
}

/// A batch folder `name` of `count` enforcement letters, `0001.png`…, with case numbers
/// `{az_prefix}1`….
fn letter_batch(env: &TestEnv, name: &str, count: usize, az_prefix: &str) -> std::path::PathBuf {
    let batch = env.mkdir(name);
    for i in 1..=count {
        render_letter(
            &batch.join(format!("{i:04}.png")),
            &enforcement_letter(&format!("{az_prefix}{i}")),
            &[],
        );
    }
    batch
}

/// The PDFs a person or the DMS sees in the store.
fn pdfs(store: &Path) -> Vec<std::path::PathBuf> {
    walkdir(store)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "pdf"))
        .collect()
}

fn walkdir(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                if !p.ends_with(".resiscan") {
                    stack.push(p);
                }
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Waits until `done()` holds; `false` if the run ended first.
fn wait_until(child: &mut std::process::Child, done: impl Fn() -> bool) -> bool {
    loop {
        if done() {
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// The store a stopped run left is one `verify` accepts: what was filed verifies by its own
/// notes, and the batch is reported as unfinished, with what to do.
fn verify_accepts_unfinished(env: &TestEnv, store: &Path) {
    let (code, text) = env.verify_trusting_demo(store);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("PENDING"), "{text}");
    assert!(
        text.contains("run the same `resiscan ingest` again"),
        "{text}"
    );
}

/// The same command again files every document (`pdfs_expected` PDFs) and leaves a store that
/// verifies with nothing pending.
fn rerun_finishes(env: &TestEnv, batch: &Path, store: &Path, pdfs_expected: usize) {
    let (code, report) = env.ingest(batch, &repo_path("profiles/demo.yaml"), store);
    assert_eq!(code, 0, "{}", report.stderr);
    let filed = pdfs(store);
    assert_eq!(filed.len(), pdfs_expected, "{filed:?}");
    let (code, text) = env.verify_trusting_demo(store);
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains("PENDING"), "{text}");
}

/// `resiscan ingest BATCH --profile profiles/demo.yaml --store STORE`, as a plain command that
/// can be spawned and killed or waited for.
fn demo_ingest(env: &TestEnv, batch: &Path, store: &Path) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("resiscan"));
    c.current_dir(env.path(""))
        .env_remove("RESISCAN_LOG")
        .arg("ingest")
        .arg(batch)
        .arg("--profile")
        .arg(repo_path("profiles/demo.yaml"))
        .arg("--store")
        .arg(store);
    c
}

/// The stderr of a run the store stopped: exit 1, the store named as the cause, and the
/// operator told that the same command finishes the job.
fn store_failure_message(out: &std::process::Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("the store failed"), "{err}");
    assert!(err.contains("run the same command again"), "{err}");
    err
}

#[test]
fn a_source_that_changes_or_vanishes_while_read_is_quarantined_not_filed() {
    let env = TestEnv::new();
    let batch = env.mkdir("wechsel");
    // A five- and a four-page document (with one worker the larger goes first), so each is
    // still being read and recognised when the test touches its last page; a third one that
    // nobody touches.
    for (doc, az, pages) in [("0001", "VB-2026-00201", 5), ("0002", "VB-2026-00202", 4)] {
        for page in 1..=pages {
            render_letter(
                &batch.join(format!("{doc}/{page}.png")),
                &format!("{}\n\nSeite {page} von {pages}", enforcement_letter(az)),
                &[],
            );
        }
    }
    render_letter(
        &batch.join("0003.png"),
        &enforcement_letter("VB-2026-00203"),
        &[],
    );
    let store = env.path("store");
    let mut child = demo_ingest(&env, &batch, &store)
        .args(["--jobs", "1", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let work = store.join(".resiscan/work");
    assert!(
        wait_until(&mut child, || work.join("wechsel_0001.pdf.tmp").exists()),
        "the run ended before 0001 was being built"
    );
    // A scanner re-writing the file: same name, other bytes.
    let page = batch.join("0001/4.png");
    let mut bytes = std::fs::read(&page).unwrap();
    bytes.extend_from_slice(b"appended by the scanner");
    std::fs::write(&page, bytes).unwrap();
    assert!(
        wait_until(&mut child, || work.join("wechsel_0002.pdf.tmp").exists()),
        "the run ended before 0002 was being built"
    );
    std::fs::remove_file(batch.join("0002/4.png")).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");

    let quarantine: serde_json::Value = serde_json::from_slice(
        &std::fs::read(store.join("_batches/wechsel/quarantine.json")).unwrap(),
    )
    .unwrap();
    let reason = |id: &str| {
        quarantine
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["id"] == id)
            .and_then(|q| q["reason"].as_str())
            .unwrap_or_else(|| panic!("{id} not quarantined: {quarantine}"))
            .to_string()
    };
    let changed = reason("wechsel_0001");
    assert!(
        changed.contains("0001/4.png") && changed.contains("changed"),
        "{changed}"
    );
    let vanished = reason("wechsel_0002");
    assert!(
        vanished.contains("0002/4.png") && vanished.contains("vanished"),
        "{vanished}"
    );
    assert_eq!(quarantine.as_array().unwrap().len(), 2, "{quarantine}");

    // Neither is half-filed; the untouched one is filed; everything verifies.
    let pdfs = pdfs(&store);
    assert_eq!(pdfs.len(), 1, "{pdfs:?}");
    assert!(pdfs[0].ends_with("wechsel_0003.pdf"), "{pdfs:?}");
    assert!(std::fs::read_dir(&work).unwrap().next().is_none());
    let (code, text) = env.verify_trusting_demo(&store);
    assert_eq!(code, Some(0), "{text}");
}

/// Sets or clears the immutable attribute on everything under `dir`; `false` where the
/// filesystem or the user cannot (`chattr` needs CAP_LINUX_IMMUTABLE, which root has).
fn chattr_immutable(dir: &Path, on: bool) -> bool {
    Command::new("chattr")
        .args(["-R", if on { "+i" } else { "-i" }])
        .arg(dir)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Clears the attribute again whatever the test's outcome, so the temporary folder can go.
struct Mutable<'a>(&'a Path);
impl Drop for Mutable<'_> {
    fn drop(&mut self) {
        chattr_immutable(self.0, false);
    }
}

/// A store that stops taking writes in the middle of a batch (here: every file and folder of
/// it made immutable, so that even root gets "Operation not permitted", as a store remounted
/// read-only gives "Read-only file system"; a remount itself is refused while the index is
/// open for writing) ends the run with exit 1 and the reason, leaves a store `verify`
/// accepts, and the same command finishes the job once the store takes writes again.
#[test]
fn a_store_that_turns_read_only_mid_batch_stops_the_run_and_a_rerun_finishes_it() {
    let env = TestEnv::new();
    let batch = letter_batch(&env, "gesperrt", 6, "VB-2026-0080");
    let store = env.mkdir("store");
    let probe = store.join("probe");
    std::fs::create_dir(&probe).unwrap();
    let can = chattr_immutable(&probe, true);
    chattr_immutable(&probe, false);
    std::fs::remove_dir(&probe).unwrap();
    if !can {
        eprintln!("cannot set the immutable attribute here (needs root); read-only test skipped");
        return;
    }
    let _mutable = Mutable(&store);
    let mut child = demo_ingest(&env, &batch, &store)
        .args(["--jobs", "1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // As soon as the first document is filed, the store stops taking writes.
    let filed = |store: &Path| {
        walkdir(store)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|x| x == "p7s"))
            .filter(|p| {
                !p.starts_with(store.join("_batches")) && !p.starts_with(store.join("_chain"))
            })
            .count()
    };
    assert!(
        wait_until(&mut child, || filed(&store) > 0),
        "the run ended before a document was filed"
    );
    assert!(chattr_immutable(&store, true));
    let out = child.wait_with_output().unwrap();
    let err = store_failure_message(&out);
    // The write that fails is a file's (the OS's reason) or the index's (SQLite's class of
    // error, with what it means for the store).
    assert!(
        err.contains("Operation not permitted") || err.contains("may be read-only"),
        "{err}"
    );
    let filed_before = filed(&store);
    assert!(
        filed_before < 6,
        "{filed_before} documents filed: the fault came too late"
    );
    eprintln!("{filed_before} documents filed before the store turned read-only:\n{err}");

    // Writable again: before the re-run, verify accepts what is there.
    assert!(chattr_immutable(&store, false));
    verify_accepts_unfinished(&env, &store);
    rerun_finishes(&env, &batch, &store, 6);
}

/// No panic reaches the user (issue #6): a panic inside one document (injected in the debug
/// binary the tests run, as a decoder bug would raise one) quarantines that document with
/// the reason, leaves no temporary file, and every other document of the batch is filed;
/// under `-q` the only output is the one error line.
#[test]
fn a_panic_in_one_document_quarantines_it_and_the_batch_goes_on() {
    let env = TestEnv::new();
    let batch = letter_batch(&env, "panik", 3, "VB-2026-0090");
    let store = env.path("store");
    let out = env
        .cmd()
        .arg("ingest")
        .arg(&batch)
        .arg("--profile")
        .arg(repo_path("profiles/demo.yaml"))
        .arg("--store")
        .arg(&store)
        .args(["--jobs", "2", "-q", "--json"])
        .env("RESISCAN_TEST_PANIC_ENTRY", "0002.png")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains("internal error (please report)")
            && lines[0].contains("injected by RESISCAN_TEST_PANIC_ENTRY"),
        "{err}"
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["batches"][0]["quarantined"], 1, "{summary}");
    let q = &summary["batches"][0]["quarantined_documents"][0];
    assert_eq!(q["id"], "panik_0002", "{summary}");
    assert!(
        q["reason"]
            .as_str()
            .is_some_and(|r| r.contains("internal error while processing")),
        "{summary}"
    );
    assert_eq!(summary["batches"][0]["filed"], 2, "{summary}");

    let quarantine = std::fs::read_to_string(store.join("_batches/panik/quarantine.json")).unwrap();
    assert!(quarantine.contains("panik_0002"), "{quarantine}");
    assert!(
        quarantine.contains("internal error while processing (please report)"),
        "{quarantine}"
    );
    let pdfs = pdfs(&store);
    assert_eq!(pdfs.len(), 2, "{pdfs:?}");
    assert!(pdfs.iter().all(|p| !p.to_string_lossy().contains("0002")));
    let work: Vec<_> = std::fs::read_dir(store.join(".resiscan/work"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(work.is_empty(), "{work:?}");
    let (code, text) = env.verify_trusting_demo(&store);
    assert_eq!(code, Some(0), "{text}");
}
